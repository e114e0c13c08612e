// Go's text/template, the part Docker's --format uses, over the JSON hutch already builds for
// inspect, ps, network ls and the other listings: `hutch inspect -f '{{.State.Pid}}'` and
// `hutch ps --format 'table {{.Names}}\t{{.Status}}'` print what docker's do.
//
// Supported: text and {{actions}}, with {{- and -}} trimming and {{/* comments */}};
// pipelines (`.A.B`, `$`, `$x`, "strings", `raw`, numbers, true, false, nil, (sub pipelines)
// followed by .Fields, `a | f b`); `$x := pipeline` and `range $i, $e := pipeline`;
// if / else if / else, range (over arrays and objects, with else), with; Go's functions and,
// or, not, len, index, eq, ne, lt, le, gt, ge, print, printf (%s %d %v %q %%), println, slice;
// and Docker's json, join, split, lower, upper, title, truncate, pad.
//
// Values print as Go prints Docker's decoded JSON: strings bare, whole numbers in decimal,
// `true`, `<nil>` for null, arrays as [a b], objects as map[k:v] in key order, and a missing
// key as `<no value>`. With `strict_fields` (a listing's typed context in Docker, e.g. ps) a
// field the context lacks is an error, as Docker's "can't evaluate field X".
//
// A template that does not parse or fails to execute throws UsageError naming it (exit 125).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace hutch::go_template {

struct Node;

class Template {
public:
    // Parses `text` once; throws UsageError with Go's kind of message when it is malformed.
    explicit Template(const std::string& text, bool strict_fields = false);
    ~Template();
    Template(Template&&) noexcept;
    Template& operator=(Template&&) noexcept;

    // The template applied to `dot`.
    std::string render(const nlohmann::json& dot) const;

private:
    std::string text_;
    bool strict_;
    std::vector<std::unique_ptr<Node>> nodes_;
};

// A listing's --format as Docker's formatter prepares it: "table" taken off the front, spaces
// trimmed, and the two characters `\t` and `\n` (what a shell's single quotes keep) made a
// tab and a newline.
bool is_table(const std::string& format);
std::string listing_format(const std::string& format);

// A listing's --format (ps, network ls), as Docker's formatter prints one: "" and "table" are
// `default_table`, "json" is one object a line, "table TEMPLATE" a header line then aligned rows,
// anything else the template once a row. Fields are strict (a listing's typed context). The
// template is parsed when the Listing is made: a bad one is refused before anything is read.
class Listing {
public:
    Listing(const std::string& format, const std::string& default_table);
    // `headers`: each field's column title, for a table's first line; `rows`: one context each.
    std::string render(const nlohmann::json& headers, const std::vector<nlohmann::json>& rows) const;

private:
    bool table_;
    Template row_;
};

// Lines whose cells are separated by tabs, aligned as Docker's tabwriter does (minimum width
// 10, 3 spaces of padding; the last cell of a line is not padded). Widths count characters.
std::string align_columns(const std::string& text);

// Go's %v of a decoded JSON value (above).
std::string print_value(const nlohmann::json& value);

}  // namespace hutch::go_template
