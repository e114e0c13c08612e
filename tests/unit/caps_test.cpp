#include <gtest/gtest.h>

#include "caps/capabilities.hpp"
#include "runtime/error.hpp"

using namespace hutch::caps;

TEST(Capabilities, DockerDefaultMask) { EXPECT_EQ(docker_default(), 0xa80425fbULL); }
