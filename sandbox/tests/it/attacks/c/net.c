/* Ways out to a network: a host abstract unix socket (argv[1] = its name without the leading
 * NUL), TCP and UDP to loopback, raw and packet sockets, bringing `lo` up, netlink. Prints
 * `<what> <ret> <errno>` per attempt. */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

static void out(const char *what, long ret) { printf("%s %ld %d\n", what, ret, ret < 0 ? errno : 0); }

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);

    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    size_t len = strlen(argv[1]);
    if (len + 1 > sizeof un.sun_path) return 2;
    memcpy(un.sun_path + 1, argv[1], len); /* abstract: leading NUL */
    errno = 0;
    out("abstract_connect", connect(s, (struct sockaddr *)&un, offsetof(struct sockaddr_un, sun_path) + 1 + len));
    close(s);

    struct sockaddr_in lo = {.sin_family = AF_INET, .sin_port = htons(80)};
    lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s = socket(AF_INET, SOCK_STREAM, 0);
    out("tcp_connect", connect(s, (struct sockaddr *)&lo, sizeof lo));
    close(s);
    s = socket(AF_INET, SOCK_DGRAM, 0);
    out("udp_sendto", sendto(s, "x", 1, 0, (struct sockaddr *)&lo, sizeof lo));
    close(s);

    s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    out("raw_socket", s);
    if (s >= 0) close(s);
    s = socket(AF_PACKET, SOCK_RAW, 0);
    out("packet_socket", s);
    if (s >= 0) close(s);

    s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    ioctl(s, SIOCGIFFLAGS, &ifr);
    ifr.ifr_flags |= IFF_UP;
    out("lo_up", ioctl(s, SIOCSIFFLAGS, &ifr));
    close(s);

    /* rtnetlink: the same through RTM_NEWLINK; the kernel answers with an error message. */
    s = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    struct { struct nlmsghdr h; struct ifinfomsg i; } req;
    memset(&req, 0, sizeof req);
    req.h.nlmsg_len = sizeof req;
    req.h.nlmsg_type = RTM_NEWLINK;
    req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    req.i.ifi_family = AF_UNSPEC;
    req.i.ifi_index = (int)if_nametoindex("lo");
    req.i.ifi_flags = IFF_UP;
    req.i.ifi_change = IFF_UP;
    send(s, &req, sizeof req, 0);
    char buf[512];
    long n = recv(s, buf, sizeof buf, 0);
    long nl_err = 0;
    if (n >= (long)(sizeof(struct nlmsghdr) + sizeof(struct nlmsgerr))) {
        struct nlmsgerr *e = NLMSG_DATA((struct nlmsghdr *)buf);
        nl_err = e->error;
    }
    printf("netlink_newlink %ld\n", nl_err);
    close(s);

    /* The interface list after all that. */
    struct if_nameindex *ifs = if_nameindex();
    for (struct if_nameindex *p = ifs; p && p->if_index; p++) printf("interface %s\n", p->if_name);
    s = socket(AF_INET, SOCK_DGRAM, 0);
    ioctl(s, SIOCGIFFLAGS, &ifr);
    printf("lo_flags_up %d\n", (ifr.ifr_flags & IFF_UP) != 0);
    return 0;
}
