// `hutch events`: the event log, filtered, as Docker's text or JSON lines; without --until it
// follows new events until interrupted.
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "runtime/cli/cli.hpp"
#include "runtime/error.hpp"
#include "runtime/events.hpp"

namespace hutch::cli {

using events::now_nano;

void add_events_command(CLI::App& app, const Paths& paths, int& exit_code) {
    auto* cmd = app.add_subcommand("events", "Show container and network events (follows without --until)");
    auto since = std::make_shared<std::string>();
    auto until = std::make_shared<std::string>();
    auto filters = std::make_shared<std::vector<std::string>>();
    auto format = std::make_shared<std::string>();
    cmd->add_option("--since", *since, "Show events since a time (RFC 3339, Unix seconds, or a duration like 10m)");
    cmd->add_option("--until", *until, "Stop at a time (same forms)");
    cmd->add_option("-f,--filter", *filters, "KEY=VALUE: type, event, container, network")
        ->allow_extra_args(false)
        ->take_all();
    cmd->add_option("--format", *format, "json: one JSON object per line");
    cmd->callback([&paths, &exit_code, since, until, filters, format]() {
        const std::int64_t now = now_nano();
        std::optional<std::int64_t> from, to;
        if (!since->empty() && !(from = events::parse_time(*since, now)))
            throw UsageError("invalid --since \"" + *since + "\": use RFC 3339, Unix seconds or a duration (10m)");
        if (!until->empty() && !(to = events::parse_time(*until, now)))
            throw UsageError("invalid --until \"" + *until + "\": use RFC 3339, Unix seconds or a duration (10m)");
        if (!format->empty() && *format != "json" && *format != "{{json .}}")
            throw UsageError("invalid --format \"" + *format + "\": hutch prints text or json");
        events::Filter filter;
        for (const auto& f : *filters) filter.add(f);
        // Docker: with neither bound, only what happens from now on.
        if (!from && !to) from = now;

        std::string file = paths.data_root + "/events.jsonl";
        Fd fd;
        std::string pending;
        auto print_new = [&]() -> bool {  // false once past --until
            if (!fd) fd = Fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
            if (!fd) return true;
            char buf[65536];
            ssize_t n;
            while ((n = ::read(fd.get(), buf, sizeof buf)) > 0) pending.append(buf, static_cast<std::size_t>(n));
            std::size_t start = 0, nl;
            while ((nl = pending.find('\n', start)) != std::string::npos) {
                std::string line = pending.substr(start, nl - start);
                start = nl + 1;
                std::optional<events::Event> parsed = events::parse_line(line);
                if (!parsed) continue;  // a damaged line: skipped, never half-read
                const events::Event& e = *parsed;
                if (to && e.time_nano > *to) return false;
                if ((from && e.time_nano < *from) || !filter.matches(e)) continue;
                if (format->empty()) std::cout << events::to_text(e) << "\n";
                else std::cout << events::to_json(e).dump() << "\n";
            }
            pending.erase(0, start);
            std::cout.flush();
            return true;
        };
        for (;;) {
            if (!print_new()) break;
            if (to && now_nano() > *to) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        exit_code = 0;
    });
}

}  // namespace hutch::cli
