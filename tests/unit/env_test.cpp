// runtime/env.hpp: the one -e / --env-file parser of run and exec.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "runtime/env.hpp"
#include "test_helpers.hpp"

using namespace hutch;
using hutch::test::contains;
using hutch::test::usage_error;
using Strings = std::vector<std::string>;

namespace {

env::Getenv fake_env(std::map<std::string, std::string> vars) {
    auto storage = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
    return [storage](const char* name) -> const char* {
        auto it = storage->find(name);
        return it == storage->end() ? nullptr : it->second.c_str();
    };
}

}  // namespace

TEST(Env, ResolveTakesTheCallersValueOrLeavesTheNameToUnset) {
    auto getenv = fake_env({{"SET", "from caller"}, {"EMPTY", ""}});
    EXPECT_EQ(env::resolve("SET", getenv), "SET=from caller");
    EXPECT_EQ(env::resolve("EMPTY", getenv), "EMPTY=");
    EXPECT_EQ(env::resolve("MISSING", getenv), "MISSING");
    EXPECT_EQ(env::resolve("SET=given", getenv), "SET=given");
    EXPECT_EQ(env::resolve("EQ=a=b", getenv), "EQ=a=b");
}

TEST(Env, BadNamesAreUsageErrorsNamingThem) {
    auto getenv = fake_env({});
    EXPECT_TRUE(contains(usage_error([&] { env::resolve("=value", getenv); }), "\"=value\""));
    EXPECT_TRUE(contains(usage_error([&] { env::resolve("", getenv); }), "invalid environment variable"));
    // A NUL would cut the string at execve: the container would see another variable.
    EXPECT_TRUE(contains(usage_error([&] { env::resolve(std::string("A=b\0c", 5), getenv); }), "A=b?c"));
    EXPECT_TRUE(contains(usage_error([&] { env::resolve(std::string("A\0B", 3), getenv); }), "A?B"));
    Strings e;
    EXPECT_TRUE(contains(usage_error([&] { env::apply(e, "=x"); }), "=x"));
}

TEST(Env, ApplySetsInPlaceAppendsOrUnsets) {
    Strings e = {"PATH=/bin", "FOO=old", "KEEP=1"};
    env::apply(e, "FOO=new");
    env::apply(e, "BAR=b");
    EXPECT_EQ(e, (Strings{"PATH=/bin", "FOO=new", "KEEP=1", "BAR=b"}));
    env::apply(e, "KEEP");  // a name alone unsets (docker's ReplaceOrAppendEnvValues)
    EXPECT_EQ(e, (Strings{"PATH=/bin", "FOO=new", "BAR=b"}));
    env::apply(e, "NEVER");
    EXPECT_EQ(e, (Strings{"PATH=/bin", "FOO=new", "BAR=b"}));
    // A prefix of a name is another name.
    env::apply(e, "FO=x");
    EXPECT_EQ(e, (Strings{"PATH=/bin", "FOO=new", "BAR=b", "FO=x"}));
}

TEST(Env, AddResolvesThenApplies) {
    auto getenv = fake_env({{"HOSTVAR", "h"}});
    Strings e = {"UNSETME=1"};
    env::add(e, "HOSTVAR", getenv);
    env::add(e, "UNSETME", getenv);
    EXPECT_EQ(e, (Strings{"HOSTVAR=h"}));
    EXPECT_TRUE(env::has(e, "HOSTVAR"));
    EXPECT_FALSE(env::has(e, "HOST"));
}

TEST(Env, FileEntriesFollowDockersKvfileRules) {
    Strings entries = env::file_entries("/f", "# comment\n\n   \n  # indented\n  LEAD=1\nNAME\nWIN=crlf\r\nEQ=a=b\nSP=a b \n");
    EXPECT_EQ(entries, (Strings{"LEAD=1", "NAME", "WIN=crlf", "EQ=a=b", "SP=a b "}));
    std::string message = usage_error([] { env::file_entries("/bad", "OK=1\nBAD NAME=x\n"); });
    EXPECT_TRUE(contains(message, "/bad"));
    EXPECT_TRUE(contains(message, "line 2"));
    EXPECT_TRUE(contains(usage_error([] { env::file_entries("/f", std::string("A=\0x\n", 5)); }), "A=?x"));
    EXPECT_TRUE(contains(usage_error([] { env::file_entries("/f", "=novalue\n"); }), "=novalue"));
}
