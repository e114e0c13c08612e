// Small helpers shared by the unit tests.
#pragma once

#include <gtest/gtest.h>

#include <stdlib.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "runtime/error.hpp"
#include "runtime/remove_tree.hpp"

namespace hutch::test {

// A fresh directory /tmp/<prefix>.XXXXXX, removed with everything in it when the object goes.
// A fixture holding one fails before its test runs if the directory cannot be made.
class TempDir {
public:
    explicit TempDir(const std::string& prefix) {
        std::string tmpl = "/tmp/" + prefix + ".XXXXXX";
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp " + tmpl + " failed");
        path_ = tmpl;
    }
    ~TempDir() { hutch::remove_tree(path_); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

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
