// Small helpers shared by the unit tests.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "runtime/error.hpp"

namespace hutch::test {

// Runs `f`, expecting a hutch::UsageError; returns its message ("" and a test failure otherwise).
template <typename F>
std::string usage_error(F&& f) {
    try {
        f();
    } catch (const hutch::UsageError& e) {
        return e.what();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "expected UsageError, got another exception: " << e.what();
        return "";
    }
    ADD_FAILURE() << "expected UsageError, nothing was thrown";
    return "";
}

// Asserts that `message` contains `needle`.
inline ::testing::AssertionResult contains(const std::string& message, const std::string& needle) {
    if (message.find(needle) != std::string::npos) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "message \"" << message << "\" does not contain \""
                                         << needle << "\"";
}

// The contents of tests/unit/data/<name>.
inline std::string golden(const std::string& name) {
    std::ifstream in(std::string(HUTCH_TEST_DATA_DIR) + "/" + name, std::ios::binary);
    if (!in) {
        ADD_FAILURE() << "missing golden file " << name;
        return "<missing golden file>";
    }
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

}  // namespace hutch::test
