// Capabilities as the container's own process sees them in /proc/self/status.
#include <cinttypes>
#include <cstdio>

#include "harness.hpp"

namespace hutch_it {
namespace {

constexpr const char* kDockerDefault = "00000000a80425fb";
constexpr const char* kZero = "0000000000000000";

struct Caps {
    std::string inh, prm, eff, bnd, amb;
};

Caps parse_caps(const std::string& text) {
    return {status_field(text, "CapInh"), status_field(text, "CapPrm"), status_field(text, "CapEff"),
            status_field(text, "CapBnd"), status_field(text, "CapAmb")};
}

std::string hex16(std::uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
    return buf;
}

std::uint64_t own_bounding() { return std::stoull(own_status_field("CapBnd"), nullptr, 16); }

class CapsIntegration : public HutchTest {
protected:
    Caps caps_of(const Strings& opts) {
        Result r = run(opts, {"grep", "Cap", "/proc/self/status"});
        EXPECT_EXIT_CODE(r, 0);
        Caps c = parse_caps(r.out);
        EXPECT_FALSE(c.bnd.empty()) << describe(r);
        return c;
    }
};

TEST_F(CapsIntegration, DefaultSetIsDockers) {
    Caps c = caps_of({});
    EXPECT_EQ(c.prm, kDockerDefault);
    EXPECT_EQ(c.eff, kDockerDefault);
    EXPECT_EQ(c.bnd, kDockerDefault);
    EXPECT_EQ(c.inh, kZero);
    EXPECT_EQ(c.amb, kZero);
}

TEST_F(CapsIntegration, DropAllAddSysTime) {
    // docker reference 07-caps-drop-all-add-sys-time.txt
    Caps c = caps_of({"--cap-drop", "ALL", "--cap-add", "SYS_TIME"});
    EXPECT_EQ(c.bnd, "0000000002000000");
    EXPECT_EQ(c.prm, "0000000002000000");
    EXPECT_EQ(c.eff, "0000000002000000");
    EXPECT_EQ(c.inh, kZero);
    EXPECT_EQ(c.amb, kZero);
}

TEST_F(CapsIntegration, NamesAreCaseInsensitiveWithOrWithoutCapPrefix) {
    for (const char* name : {"cap_sys_time", "sys_time", "CAP_SYS_TIME", "Sys_Time"}) {
        SCOPED_TRACE(name);
        Caps c = caps_of({"--cap-drop", "all", "--cap-add", name});
        EXPECT_EQ(c.eff, "0000000002000000");
        EXPECT_EQ(c.bnd, "0000000002000000");
    }
}

TEST_F(CapsIntegration, AddToDefault) {
    // Not dropping ALL: the default set plus SYS_TIME (bit 25).
    Caps c = caps_of({"--cap-add", "SYS_TIME"});
    EXPECT_EQ(c.eff, hex16(0xa80425fbULL | (1ULL << 25)));
    EXPECT_EQ(c.bnd, hex16(0xa80425fbULL | (1ULL << 25)));
}

TEST_F(CapsIntegration, DropFromDefault) {
    Caps c = caps_of({"--cap-drop", "CHOWN", "--cap-drop", "net_raw"});
    std::uint64_t want = 0xa80425fbULL & ~(1ULL << 0) & ~(1ULL << 13);
    EXPECT_EQ(c.eff, hex16(want));
    EXPECT_EQ(c.prm, hex16(want));
    EXPECT_EQ(c.bnd, hex16(want));
}

TEST_F(CapsIntegration, AddAllDropChown) {
    // "ALL" means every capability hutch itself holds (its own bounding set), minus CHOWN.
    std::string want = hex16(own_bounding() & ~1ULL);
    Caps c = caps_of({"--cap-add", "ALL", "--cap-drop", "CHOWN"});
    EXPECT_EQ(c.bnd, want);
    EXPECT_EQ(c.prm, want);
    EXPECT_EQ(c.eff, want);
    EXPECT_EQ(c.inh, kZero);
    EXPECT_EQ(c.amb, kZero);
}

TEST_F(CapsIntegration, PrivilegedGetsTheCallersBoundingSet) {
    std::string own = own_status_field("CapBnd");
    ASSERT_FALSE(own.empty());
    Caps c = caps_of({"--privileged"});
    EXPECT_EQ(c.bnd, own);
    EXPECT_EQ(c.prm, own);
    EXPECT_EQ(c.eff, own);
    EXPECT_EQ(c.inh, kZero);
    EXPECT_EQ(c.amb, kZero);
    EXPECT_NE(c.bnd, kDockerDefault);
}

TEST_F(CapsIntegration, NonRootUserHasNoEffectiveCapabilities) {
    Caps c = caps_of({"-u", "nobody"});
    EXPECT_EQ(c.prm, kZero);
    EXPECT_EQ(c.eff, kZero);
    EXPECT_EQ(c.inh, kZero);
    EXPECT_EQ(c.amb, kZero);
    EXPECT_EQ(c.bnd, kDockerDefault);
}

TEST_F(CapsIntegration, CapabilityTheCallerLacksIsRefused) {
    // Root on some hosts lacks a capability (CAP_SYS_RESOURCE on the reference VM).
    std::uint64_t own = own_bounding();
    int missing = -1;
    for (int cap = 0; cap <= 40; ++cap)
        if (!(own & (1ULL << cap))) {
            missing = cap;
            break;
        }
    if (missing != 24) GTEST_SKIP() << "the test process holds CAP_SYS_RESOURCE (CapBnd " << hex16(own) << ")";
    Result r = run({"--cap-add", "SYS_RESOURCE"}, {"true"});
    EXPECT_EXIT_CODE(r, 125);
    ASSERT_EQ(r.err_lines().size(), 1u) << describe(r);
    EXPECT_NE(r.err.find("SYS_RESOURCE"), std::string::npos) << describe(r);
}

TEST_F(CapsIntegration, DefaultCapabilitiesActuallyWork) {
    // The mask is not just printed: CHOWN is effective by default, and gone after --cap-drop.
    Result ok = sh({}, "touch /tmp/f && chown 65534 /tmp/f && echo chowned");
    EXPECT_EXIT_CODE(ok, 0);
    EXPECT_NE(ok.out.find("chowned"), std::string::npos) << describe(ok);
    Result denied = sh({"--cap-drop", "CHOWN"}, "touch /tmp/f && chown 65534 /tmp/f && echo chowned");
    EXPECT_NE(denied.code, 0) << describe(denied);
    EXPECT_EQ(denied.out.find("chowned"), std::string::npos) << describe(denied);
    EXPECT_NE(denied.err.find("Operation not permitted"), std::string::npos) << describe(denied);
}

}  // namespace
}  // namespace hutch_it
