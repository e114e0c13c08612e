// runtime/go_template: Go's text/template as Docker's --format uses it. Each expectation is what
// docker (Go's text/template over the same JSON) prints for the same template.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "runtime/error.hpp"
#include "runtime/go_template.hpp"
#include "test_helpers.hpp"

using namespace hutch;
using hutch::test::contains;
using nlohmann::json;

namespace {

const json kContainer = json::parse(R"({
  "Id": "4f1c2b3a5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708",
  "Name": "/web",
  "RestartCount": 1,
  "State": {"Status": "running", "Running": true, "Paused": false, "Pid": 4242, "ExitCode": 0},
  "Config": {"Env": ["PATH=/usr/bin", "A=1"], "Cmd": ["sh", "-c", "sleep 1"],
             "Labels": {"app": "queue", "tier": "back"}, "Hostname": "4f1c2b3a5d6e"},
  "HostConfig": {"Memory": 67108864, "NanoCpus": 1500000000, "CapDrop": ["ALL"], "CapAdd": null},
  "Mounts": [{"Source": "/srv", "Destination": "/data", "RW": false}],
  "NetworkSettings": {"Networks": {"lab": {"IPAddress": "10.1.0.2"}}},
  "Ratio": 0.25, "Big": 1500000.0
})");

std::string render(const std::string& text, const json& dot = kContainer) {
    return go_template::Template(text).render(dot);
}

std::string error_of(const std::string& text, bool strict = false) {
    try {
        go_template::Template(text, strict).render(kContainer);
    } catch (const UsageError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(GoTemplate, FieldsPrintAsGoPrintsDecodedJson) {
    EXPECT_EQ(render("{{.State.Pid}}"), "4242");
    EXPECT_EQ(render("{{.Name}} {{.State.Running}}"), "/web true");
    EXPECT_EQ(render("{{.Config.Env}}"), "[PATH=/usr/bin A=1]");
    EXPECT_EQ(render("{{.Config.Labels}}"), "map[app:queue tier:back]");
    EXPECT_EQ(render("{{.HostConfig.CapAdd}}"), "<nil>");
    EXPECT_EQ(render("{{.Nope}}"), "<no value>");
    EXPECT_EQ(render("{{.Nope.Deeper}}"), "<no value>");
    EXPECT_EQ(render("{{.Ratio}} {{.Big}} {{.HostConfig.NanoCpus}}"), "0.25 1.5e+06 1500000000");
    EXPECT_EQ(render("{{.}}", json("text")), "text");
    EXPECT_EQ(render("pid={{ .State.Pid }}\n"), "pid=4242\n");
}

TEST(GoTemplate, DockersFunctions) {
    EXPECT_EQ(render("{{json .Config.Env}}"), R"(["PATH=/usr/bin","A=1"])");
    EXPECT_EQ(render("{{json .State.Status}}"), R"("running")");
    EXPECT_EQ(render("{{json .Mounts}}"), R"([{"Destination":"/data","RW":false,"Source":"/srv"}])");
    EXPECT_EQ(render("{{join .Config.Cmd \" \"}}"), "sh -c sleep 1");
    EXPECT_EQ(render("{{index .Config.Labels \"app\"}}"), "queue");
    EXPECT_EQ(render("{{index .Config.Labels \"none\"}}"), "<no value>");
    EXPECT_EQ(render("{{index .Config.Cmd 2}}"), "sleep 1");
    EXPECT_EQ(render("{{(index .Mounts 0).Source}}"), "/srv");
    EXPECT_EQ(render("{{len .Config.Env}} {{len .Name}}"), "2 4");
    EXPECT_EQ(render("{{upper .State.Status}} {{lower \"ABC\"}} {{title \"hello world\"}}"), "RUNNING abc Hello World");
    EXPECT_EQ(render("{{truncate .Id 12}}"), "4f1c2b3a5d6e");
    EXPECT_EQ(render("[{{pad \"x\" 1 2}}]"), "[ x  ]");
    EXPECT_EQ(render("{{split \"a:b:c\" \":\"}}"), "[a b c]");
    EXPECT_EQ(render("{{slice .Name 1}} {{slice .Config.Cmd 0 2}}"), "web [sh -c]");
    EXPECT_EQ(render("{{printf \"%s has %d\" .Name .RestartCount}} {{printf \"%q\" .Name}}"), "/web has 1 \"/web\"");
    EXPECT_EQ(render("{{print 1 2}}|{{print \"a\" \"b\"}}|{{print \"a\" 1}}"), "1 2|ab|a1");
    EXPECT_EQ(render("{{println \"a\" 1}}"), "a 1\n");
    EXPECT_EQ(render("{{.Name | printf \"%s!\"}}"), "/web!");
    EXPECT_EQ(render("{{.Config.Cmd | len}}"), "3");
}

TEST(GoTemplate, ComparisonsAndLogic) {
    EXPECT_EQ(render("{{eq .State.Status \"running\"}} {{eq .State.Status \"a\" \"running\"}}"), "true true");
    EXPECT_EQ(render("{{ne .RestartCount 1}} {{lt .RestartCount 2}} {{ge .State.Pid 4242}} {{gt 1.5 1}}"),
              "false true true true");
    EXPECT_EQ(render("{{and .State.Running .Name}} {{or .State.Paused \"no\"}} {{not .State.Paused}}"), "/web no true");
    EXPECT_TRUE(contains(error_of("{{lt .Name 1}}"), "incompatible types for comparison"));
}

TEST(GoTemplate, ControlStructures) {
    EXPECT_EQ(render("{{if .State.Running}}up{{else}}down{{end}}"), "up");
    EXPECT_EQ(render("{{if .State.Paused}}paused{{else if .State.Running}}up{{else}}down{{end}}"), "up");
    EXPECT_EQ(render("{{if .HostConfig.CapAdd}}caps{{else}}none{{end}}"), "none");
    EXPECT_EQ(render("{{range .Mounts}}{{.Source}}:{{.Destination}} {{end}}"), "/srv:/data ");
    EXPECT_EQ(render("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}"), "app=queue;tier=back;");
    EXPECT_EQ(render("{{range $i, $e := .Config.Cmd}}{{$i}}:{{$e}} {{end}}"), "0:sh 1:-c 2:sleep 1 ");
    EXPECT_EQ(render("{{range .HostConfig.CapAdd}}x{{else}}empty{{end}}"), "empty");
    EXPECT_EQ(render("{{range $net, $conf := .NetworkSettings.Networks}}{{$net}} {{$conf.IPAddress}}{{end}}"), "lab 10.1.0.2");
    EXPECT_EQ(render("{{with .State}}{{.Status}} {{$.Name}}{{end}}"), "running /web");
    EXPECT_EQ(render("{{with .Nope}}x{{else}}none{{end}}"), "none");
    EXPECT_EQ(render("{{$n := .Name}}{{range .Config.Cmd}}{{$n}}{{end}}"), "/web/web/web");
    EXPECT_EQ(render("{{/* a comment */}}a"), "a");
    EXPECT_EQ(render("a  {{- .State.Pid -}}  \n b"), "a4242b");
    EXPECT_EQ(render("{{range .Config.Env}}\n  {{- .}}{{end}}"), "PATH=/usr/binA=1");
}

// Found by review: Go's and/or stop at the deciding argument, printf takes flags, width and
// precision, json never fails on bytes that are not UTF-8, and nesting has a limit.
TEST(GoTemplate, AsGoDoesAtTheEdges) {
    EXPECT_EQ(render("{{if and .HostConfig.CapAdd (index .HostConfig.CapAdd 0)}}x{{else}}none{{end}}"), "none");
    EXPECT_EQ(render("{{or .Nope .Name}} {{.Nope | or .Name}}"), "/web /web");
    EXPECT_EQ(render("[{{printf \"%-6s|%5d|%.2f|%x\" .Name .State.Pid .Ratio 255}}]"), "[/web  | 4242|0.25|ff]");
    EXPECT_TRUE(contains(error_of("{{printf \"%9999s\" .Name}}"), "width or precision"));
    EXPECT_EQ(render("{{json .}}", json(std::string("a\xe9") + "b")), std::string("\"a\xef\xbf\xbd") + "b\"");
    std::string deep = std::string(2000, '(') + "1" + std::string(2000, ')');
    EXPECT_TRUE(contains(error_of("{{" + deep + "}}"), "max expression depth exceeded"));
    std::string nested;
    for (int i = 0; i < 2000; ++i) nested += "{{if 1}}";
    EXPECT_TRUE(contains(error_of(nested), "max expression depth exceeded"));
}

TEST(GoTemplate, ErrorsNameTheTemplateProblem) {
    EXPECT_TRUE(contains(error_of("{{.Name"), "unclosed action")) << error_of("{{.Name");
    EXPECT_TRUE(contains(error_of("{{nosuch .Name}}"), "function \"nosuch\" not defined"));
    EXPECT_TRUE(contains(error_of("{{if .Name}}x"), "unexpected EOF"));
    EXPECT_TRUE(contains(error_of("{{end}}"), "unexpected {{end}}"));
    EXPECT_TRUE(contains(error_of("{{.Name.First}}"), "can't evaluate field First in type string"));
    EXPECT_TRUE(contains(error_of("{{index .Config.Cmd 9}}"), "index out of range"));
    EXPECT_TRUE(contains(error_of("{{$x}}"), "undefined variable: $x"));
    EXPECT_TRUE(contains(error_of("{{\"unterminated}}"), "unterminated quoted string"));
    // A listing's typed context (ps): a field it lacks is an error, as Docker's.
    EXPECT_TRUE(contains(error_of("{{.Nope}}", true), "can't evaluate field Nope")) << error_of("{{.Nope}}", true);
    EXPECT_EQ(error_of("{{.Nope}}"), "");
    EXPECT_TRUE(contains(error_of("{{.Name"), "template parsing error"));
}

TEST(GoTemplate, TablesAlignAsDockersTabwriter) {
    EXPECT_TRUE(go_template::is_table("table {{.ID}}"));
    EXPECT_FALSE(go_template::is_table("{{.ID}}"));
    EXPECT_EQ(go_template::listing_format("table {{.ID}}\t{{.Names}}"), "{{.ID}}\t{{.Names}}");
    EXPECT_EQ(go_template::listing_format("table"), "");
    // What a shell's single quotes keep: a backslash and a t, made a tab as Docker makes it.
    EXPECT_EQ(go_template::listing_format("table {{.ID}}\\t{{.Names}}\\n "), "{{.ID}}\t{{.Names}}\n");
    EXPECT_EQ(go_template::listing_format(" {{.ID}} "), "{{.ID}}");
    // Minimum width 10, padding 3, the last cell unpadded; widths in characters ("…" is one).
    EXPECT_EQ(go_template::align_columns("CONTAINER ID\tNAMES\n4f1c2b3a5d6e\tweb\n"),
              "CONTAINER ID   NAMES\n4f1c2b3a5d6e   web\n");
    EXPECT_EQ(go_template::align_columns("A\tB\tC\nlonger cell…\tb\tc\n"),
              "A              B         C\nlonger cell…   b         c\n");
}
