// icmp-echo ADDRESS: one ICMP echo request over a datagram socket (socket(AF_INET, SOCK_DGRAM,
// IPPROTO_ICMP)), the kind net.ipv4.ping_group_range lets a user without CAP_NET_RAW open. The
// rootfs' busybox ping only tries a raw socket, so the tests bind this static program into the
// container instead. Prints "reply from ADDRESS" and exits 0; otherwise says why and exits 1.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: icmp-echo ADDRESS\n");
        return 2;
    }
    sockaddr_in to{};
    to.sin_family = AF_INET;
    if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) {
        std::fprintf(stderr, "icmp-echo: not an IPv4 address: %s\n", argv[1]);
        return 2;
    }
    int fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
    if (fd < 0) {
        std::fprintf(stderr, "icmp-echo: socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP): %s\n", std::strerror(errno));
        return 1;
    }
    icmphdr request{};
    request.type = ICMP_ECHO;  // the kernel sets the id and the checksum of a ping socket
    request.un.echo.sequence = htons(1);
    if (sendto(fd, &request, sizeof request, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) {
        std::fprintf(stderr, "icmp-echo: sendto: %s\n", std::strerror(errno));
        return 1;
    }
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 2000) != 1) {
        std::fprintf(stderr, "icmp-echo: no reply from %s\n", argv[1]);
        return 1;
    }
    icmphdr reply{};
    if (recv(fd, &reply, sizeof reply, 0) < static_cast<ssize_t>(sizeof reply) || reply.type != ICMP_ECHOREPLY) {
        std::fprintf(stderr, "icmp-echo: no echo reply from %s\n", argv[1]);
        return 1;
    }
    std::printf("reply from %s\n", argv[1]);
    return 0;
}
