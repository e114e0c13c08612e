// Docker's -p grammar (netns/ports.hpp): what each form publishes, and the one-line refusals.
#include <gtest/gtest.h>

#include "netns/ports.hpp"
#include "runtime/error.hpp"

namespace hutch {
namespace {

using net::parse_exposed;
using net::parse_publish;

TEST(PublishFlag, EachFormAsDocker) {
    EXPECT_EQ(parse_publish("80"), (std::vector<PublishedPort>{{"", 0, 0, 80, "tcp"}}));
    EXPECT_EQ(parse_publish("8080:80"), (std::vector<PublishedPort>{{"", 8080, 0, 80, "tcp"}}));
    EXPECT_EQ(parse_publish("127.0.0.1:8080:80/udp"), (std::vector<PublishedPort>{{"127.0.0.1", 8080, 0, 80, "udp"}}));
    EXPECT_EQ(parse_publish("127.0.0.1::80"), (std::vector<PublishedPort>{{"127.0.0.1", 0, 0, 80, "tcp"}}));
    EXPECT_EQ(parse_publish("0.0.0.0:8080:80"), (std::vector<PublishedPort>{{"", 8080, 0, 80, "tcp"}}));
    EXPECT_EQ(parse_publish("8000-8001:80-81/sctp"),
              (std::vector<PublishedPort>{{"", 8000, 0, 80, "sctp"}, {"", 8001, 0, 81, "sctp"}}));
    EXPECT_EQ(parse_publish("8000-8010:80"), (std::vector<PublishedPort>{{"", 8000, 8010, 80, "tcp"}}));
    EXPECT_EQ(parse_publish("80-81"), (std::vector<PublishedPort>{{"", 0, 0, 80, "tcp"}, {"", 0, 0, 81, "tcp"}}));
    EXPECT_EQ(parse_exposed("53/udp"), (std::vector<PublishedPort>{{"", 0, 0, 53, "udp"}}));
}

TEST(PublishFlag, BadValuesAreRefusedByName) {
    for (const char* bad : {"", "0", "65536", "80/icmp", "a:80", "1:2:3:4", "8000-8001:80-82", "81-80", "[::1]:80:80",
                            "300.1.1.1:80:80", "8080:", "80:80-81"}) {
        try {
            parse_publish(bad);
            ADD_FAILURE() << "accepted " << bad;
        } catch (const UsageError& e) {
            EXPECT_NE(std::string(e.what()).find(std::string("\"") + bad + "\""), std::string::npos) << e.what();
        }
    }
}

}  // namespace
}  // namespace hutch
