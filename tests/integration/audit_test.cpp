// `hutch audit` (issue 5): findings for risky and hardened profiles, --strict exit codes, auditing a
// created container by name and an OCI config; audit never starts anything.
#include <nlohmann/json.hpp>
#include <set>

#include "harness.hpp"

namespace hutch_it {
namespace {

using nlohmann::json;

class AuditIntegration : public HutchTest {
protected:
    // hutch audit ARGS (runs nothing); `args` include ROOTFS or NAME where needed.
    Result audit(const Strings& args) {
        Strings all = {"audit"};
        all.insert(all.end(), args.begin(), args.end());
        return roots_.hutch(all);
    }
    // id -> levels (an id such as "5.3 dangerous-cap" may appear once per capability).
    static std::map<std::string, std::multiset<std::string>> levels(const json& findings) {
        std::map<std::string, std::multiset<std::string>> out;
        for (const auto& f : findings) out[f["id"]].insert(f["level"].get<std::string>());
        return out;
    }
    static std::set<std::string> warn_ids(const json& findings) {
        std::set<std::string> out;
        for (const auto& f : findings)
            if (f["level"] == "WARN") out.insert(f["id"]);
        return out;
    }
    json audit_json(const Strings& args) {
        Strings all = {"--format", "json"};
        all.insert(all.end(), args.begin(), args.end());
        Result r = audit(all);
        EXPECT_EXIT_CODE(r, 0);
        try {
            json j = json::parse(r.out);
            EXPECT_TRUE(j.is_array()) << r.out;
            return j;
        } catch (const std::exception& e) {
            ADD_FAILURE() << e.what() << "\n" << describe(r);
            return json::array();
        }
    }
};

TEST_F(AuditIntegration, RiskyProfileWarnsWithTheExpectedIds) {
    Strings risky = {"--cap-add", "SYS_ADMIN", "--pid", "host", "--network", "host",
                     "-v", "/var/run/docker.sock:/var/run/docker.sock:ro", rootfs_};
    json findings = audit_json(risky);
    auto warns = warn_ids(findings);
    for (const char* id : {"5.3 capabilities", "5.3 dangerous-cap", "5.9 host-network", "5.15 host-pid",
                           "5.31 control-socket", "5.12 read-only-rootfs", "5.25 no-new-privileges", "4.1 root-user"})
        EXPECT_TRUE(warns.count(id)) << id << "\n" << findings.dump(2);
    // What the profile does not do stays PASS.
    for (const char* id : {"5.4 privileged", "5.16 host-ipc", "5.20 host-uts", "5.21 seccomp"})
        EXPECT_FALSE(warns.count(id)) << id << "\n" << findings.dump(2);
    bool named = false;
    for (const auto& f : findings) {
        EXPECT_TRUE(f.contains("why") && f.contains("fix") && f.contains("title")) << f.dump();
        if (f["id"] == "5.3 dangerous-cap" && f["level"] == "WARN" &&
            f["title"].get<std::string>().find("SYS_ADMIN") != std::string::npos)
            named = true;
        if (f["id"] == "5.31 control-socket" && f["level"] == "WARN") {
            EXPECT_NE(f["title"].get<std::string>().find("docker.sock"), std::string::npos) << f.dump();
        }
    }
    EXPECT_TRUE(named) << "SYS_ADMIN is named as dangerous\n" << findings.dump(2);

    Strings strict = {"--strict"};
    strict.insert(strict.end(), risky.begin(), risky.end());
    EXPECT_EXIT_CODE(audit(strict), 1);
    EXPECT_EQ(roots_.leftovers(), Strings{}) << "audit starts nothing";
}

TEST_F(AuditIntegration, PrivilegedIsTheWorstCase) {
    json findings = audit_json({"--privileged", rootfs_});
    auto warns = warn_ids(findings);
    for (const char* id : {"5.4 privileged", "5.21 seccomp", "5.3 capabilities", "5.3 dangerous-cap"})
        EXPECT_TRUE(warns.count(id)) << id << "\n" << findings.dump(2);
    EXPECT_EXIT_CODE(audit({"--strict", "--privileged", rootfs_}), 1);
}

TEST_F(AuditIntegration, HardenedProfileHasNoWarnAndPassesStrict) {
    Strings hardened = {"--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
                        "-u", "65534:65534", "--memory", "64m", "--pids-limit", "100", "--cpu-shares", "512",
                        rootfs_};
    json findings = audit_json(hardened);
    EXPECT_EQ(warn_ids(findings), std::set<std::string>{}) << findings.dump(2);
    auto lv = levels(findings);
    for (const char* id : {"5.4 privileged", "5.3 capabilities", "5.12 read-only-rootfs", "5.25 no-new-privileges",
                           "5.21 seccomp", "4.1 root-user", "5.31 control-socket", "5.10 memory-limit",
                           "5.11 cpu-shares", "5.14 restart-policy", "5.18 ulimits", "5.28 pids-limit"})
        EXPECT_EQ(lv[id], std::multiset<std::string>{"PASS"}) << id << "\n" << findings.dump(2);

    Strings strict = {"--strict"};
    strict.insert(strict.end(), hardened.begin(), hardened.end());
    Result r = audit(strict);
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_NE(r.out.find("summary: 0 WARN"), std::string::npos) << r.out;
}

// Issue 16: CIS 5.10 and 5.28 judge the limits run's flags set; --strict fails without them.
TEST_F(AuditIntegration, MemoryAndPidsLimitsFromRunFlags) {
    Strings others = {"--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
                      "-u", "65534:65534", "--cpu-shares", "512"};
    Strings bare = others;
    bare.push_back(rootfs_);
    json without = audit_json(bare);
    EXPECT_EQ(warn_ids(without), (std::set<std::string>{"5.10 memory-limit", "5.28 pids-limit"})) << without.dump(2);
    for (const auto& f : without) {
        if (f["id"] == "5.10 memory-limit") {
            EXPECT_NE(f["fix"].get<std::string>().find("--memory"), std::string::npos);
        }
        if (f["id"] == "5.28 pids-limit") {
            EXPECT_NE(f["fix"].get<std::string>().find("--pids-limit"), std::string::npos);
        }
        EXPECT_EQ(f["fix"].get<std::string>().find("once hutch"), std::string::npos) << f.dump();
    }
    Strings strict = {"--strict"};
    strict.insert(strict.end(), bare.begin(), bare.end());
    EXPECT_EXIT_CODE(audit(strict), 1);

    Strings limited = others;
    limited.insert(limited.end(), {"--memory", "64m", "--pids-limit", "100", rootfs_});
    json with = audit_json(limited);
    auto lv = levels(with);
    EXPECT_EQ(lv["5.10 memory-limit"], std::multiset<std::string>{"PASS"}) << with.dump(2);
    EXPECT_EQ(lv["5.28 pids-limit"], std::multiset<std::string>{"PASS"}) << with.dump(2);
    strict = {"--strict"};
    strict.insert(strict.end(), limited.begin(), limited.end());
    Result r = audit(strict);
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_NE(r.out.find("memory limited to 64m"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("pids limited to 100"), std::string::npos) << r.out;

    // A created container is audited as created: its stored limits and restart policy count
    // (CIS 5.14: on-failure gives up after at most 5 tries; always restarts for ever).
    ASSERT_EXIT_CODE(roots_.hutch({"create", "--name", "limited", "--network", "none", "--memory", "64m",
                                   "--pids-limit", "100", "--restart", "on-failure:5", rootfs_, "true"}), 0);
    ASSERT_EXIT_CODE(roots_.hutch({"create", "--name", "always", "--network", "none", "--restart", "always",
                                   rootfs_, "true"}), 0);
    auto stored = levels(audit_json({"limited"}));
    EXPECT_EQ(stored["5.10 memory-limit"], std::multiset<std::string>{"PASS"});
    EXPECT_EQ(stored["5.28 pids-limit"], std::multiset<std::string>{"PASS"});
    EXPECT_EQ(stored["5.14 restart-policy"], std::multiset<std::string>{"PASS"});
    EXPECT_EQ(levels(audit_json({"always"}))["5.14 restart-policy"], std::multiset<std::string>{"WARN"});
    EXPECT_EXIT_CODE(roots_.hutch({"rm", "limited", "always"}), 0);
}

TEST_F(AuditIntegration, SensitiveHostPathsAreFlagged) {
    json rw = audit_json({"-v", "/etc:/host-etc", rootfs_});
    bool found = false;
    for (const auto& f : rw)
        if (f["id"] == "5.5 sensitive-mount" && f["level"] == "WARN" &&
            f["title"].get<std::string>().find("read-write") != std::string::npos)
            found = true;
    EXPECT_TRUE(found) << rw.dump(2);
}

TEST_F(AuditIntegration, AuditsAnImageAsRunWouldRunIt) {
    ASSERT_EXIT_CODE(roots_.hutch({"import", rootfs_, "audit-me:1"}), 0);
    // The image's profile with the flags given: the image's user (root here) and the caps asked.
    json findings = audit_json({"--cap-add", "SYS_ADMIN", "audit-me:1", "sh"});
    auto lv = levels(findings);
    EXPECT_TRUE(lv["5.3 dangerous-cap"].count("WARN")) << findings.dump(2);
    EXPECT_TRUE(lv["4.1 root-user"].count("WARN")) << findings.dump(2);
    json hardened = audit_json({"--user", "65534:65534", "--read-only", "audit-me:1", "sh"});
    auto hv = levels(hardened);
    EXPECT_EQ(hv["4.1 root-user"], std::multiset<std::string>{"PASS"}) << hardened.dump(2);
    EXPECT_EQ(hv["5.12 read-only-rootfs"], std::multiset<std::string>{"PASS"}) << hardened.dump(2);
    // No command, and the image has none (an import): audit runs nothing, so it needs none.
    json bare = audit_json({"--privileged", "audit-me:1"});
    EXPECT_EQ(levels(bare)["5.4 privileged"], std::multiset<std::string>{"WARN"}) << bare.dump(2);
    EXPECT_EQ(roots_.container_ids(), Strings{}) << "audit starts nothing";
    // A name that is neither a directory nor an image, with a command: one line naming it.
    Result neither = audit({"no-such-image-xyz:1", "sh"});
    EXPECT_EXIT_CODE(neither, 125);
    EXPECT_NE(neither.err.find("no-such-image-xyz:1"), std::string::npos) << describe(neither);
    EXPECT_EQ(neither.err_lines().size(), 1u) << describe(neither);
}

TEST_F(AuditIntegration, AuditsACreatedContainerByName) {
    Result made = run_raw({"--name", "audited", "--network", "none", "--cap-add", "NET_ADMIN", "--security-opt",
                           "no-new-privileges", rootfs_, "true"});
    ASSERT_EXIT_CODE(made, 0);
    auto ids_before = roots_.container_ids();
    ASSERT_EQ(ids_before.size(), 1u);

    json findings = audit_json({"audited"});
    auto lv = levels(findings);
    EXPECT_TRUE(lv["5.3 dangerous-cap"].count("WARN")) << findings.dump(2);
    EXPECT_EQ(lv["5.25 no-new-privileges"], std::multiset<std::string>{"PASS"}) << findings.dump(2);
    EXPECT_EQ(lv["5.9 host-network"].count("WARN"), 0u) << findings.dump(2);
    bool net_admin = false;
    for (const auto& f : findings)
        if (f["id"] == "5.3 dangerous-cap" && f["title"].get<std::string>().find("NET_ADMIN") != std::string::npos)
            net_admin = true;
    EXPECT_TRUE(net_admin) << findings.dump(2);
    EXPECT_EXIT_CODE(audit({"--strict", "audited"}), 1);

    // Run options describe a new container: refused with a name.
    Result mixed = audit({"--privileged", "audited"});
    EXPECT_EXIT_CODE(mixed, 125);
    EXPECT_EQ(mixed.err_lines().size(), 1u) << describe(mixed);

    EXPECT_EQ(roots_.container_ids(), ids_before) << "audit starts nothing";
    EXPECT_EXIT_CODE(roots_.hutch({"rm", "audited"}), 0);

    Result unknown = audit({"no-such-container-xyz"});
    EXPECT_EXIT_CODE(unknown, 125);
    EXPECT_EQ(unknown.err_lines().size(), 1u) << describe(unknown);
    EXPECT_NE(unknown.err.find("no-such-container-xyz"), std::string::npos) << describe(unknown);
}

TEST_F(AuditIntegration, AuditsAnOciConfig) {
    Result dry = run_raw({"--dry-run", "--privileged", rootfs_, "true"});
    ASSERT_EXIT_CODE(dry, 0);
    std::string config = roots_.base() + "/config-oci.json";
    write_file(config, dry.out);
    json findings = audit_json({"--config", config});
    EXPECT_TRUE(warn_ids(findings).count("5.4 privileged")) << findings.dump(2);
    EXPECT_EXIT_CODE(audit({"--strict", "--config", config}), 1);
}

TEST_F(AuditIntegration, ConfigWithInvalidJsonNamesLineAndColumn) {
    std::string config = roots_.base() + "/broken.json";
    write_file(config, "{\n  \"ociVersion\": \"1.0.2\",\n  \"process\": {,}\n}\n");
    Result r = audit({"--config", config});
    EXPECT_EXIT_CODE(r, 125);
    EXPECT_EQ(r.out, "");
    auto lines = r.err_lines();
    ASSERT_EQ(lines.size(), 1u) << describe(r);
    EXPECT_NE(lines[0].find(config), std::string::npos) << lines[0];
    EXPECT_NE(lines[0].find("line 3, column"), std::string::npos) << lines[0];

    Result missing = audit({"--config", roots_.base() + "/nope.json"});
    EXPECT_EXIT_CODE(missing, 125);
    EXPECT_EQ(missing.err_lines().size(), 1u) << describe(missing);
}

}  // namespace
}  // namespace hutch_it
