// SPDX-License-Identifier: GPL-2.0
/*
 * rapido-init-net.c - rapido.net=ADDR/PREFIX,GATEWAY,HOSTNAME: the lab NIC
 * of a guest, over rtnetlink (no ip binary, no DHCP): lo and the NIC up,
 * the address, the default route, the host name. Run as rapido-net (a link
 * to rapido-init), the same setup alone, on the host, for tests.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "rapido-init.h"

#define NL_MS		2000	/* one rtnetlink answer, at most */

/* rapido.net=ADDR/PREFIX,GW,HOSTNAME, parsed. */
struct net_spec {
	struct in_addr addr, gw;
	unsigned int prefix;
	char host[65];
	char text[32];		/* ADDR, for the environment */
	char gw_text[32];
};

static int net_parse(const char *val, struct net_spec *n)
{
	char buf[160], *slash, *c1, *c2, *end;
	unsigned long prefix;

	if (strlen(val) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, val);
	slash = strchr(buf, '/');
	c1 = strchr(buf, ',');
	c2 = c1 ? strchr(c1 + 1, ',') : NULL;
	if (!slash || !c1 || !c2 || slash > c1)
		return -EINVAL;
	*slash = *c1 = *c2 = '\0';
	errno = 0;
	prefix = strtoul(slash + 1, &end, 10);
	if (errno || end == slash + 1 || *end || prefix < 1 || prefix > 32 ||
	    inet_pton(AF_INET, buf, &n->addr) != 1 ||
	    inet_pton(AF_INET, c1 + 1, &n->gw) != 1 ||
	    !c2[1] || strlen(c2 + 1) >= sizeof(n->host) ||
	    strlen(buf) >= sizeof(n->text) ||
	    strlen(c1 + 1) >= sizeof(n->gw_text))
		return -EINVAL;
	n->prefix = prefix;
	strcpy(n->host, c2 + 1);
	strcpy(n->text, buf);
	strcpy(n->gw_text, c1 + 1);
	return 0;
}

struct nl_req {
	struct nlmsghdr h;
	char body[256];
};

static void nl_attr(struct nl_req *r, unsigned short type, const void *data,
		    size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)r +
					     NLMSG_ALIGN(r->h.nlmsg_len));

	a->rta_type = type;
	a->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	r->h.nlmsg_len = NLMSG_ALIGN(r->h.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/* Send @r and wait for its acknowledgement: 0 or the kernel's -errno. */
static int nl_talk(int fd, struct nl_req *r)
{
	static unsigned int seq;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[1024];

	r->h.nlmsg_seq = ++seq;
	r->h.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	if (sendto(fd, r, r->h.nlmsg_len, 0, (struct sockaddr *)&kernel,
		   sizeof(kernel)) < 0)
		return -errno;
	for (;;) {
		struct nlmsghdr *h = (struct nlmsghdr *)buf;
		ssize_t n;
		int ready = poll(&p, 1, NL_MS);

		if (ready < 0 && errno == EINTR)
			continue;
		if (ready <= 0)
			return ready ? -errno : -ETIMEDOUT;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			return -errno;
		for (; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != seq || h->nlmsg_type != NLMSG_ERROR)
				continue;
			return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
		}
	}
}

/* @r as a request of @type, its header (@len bytes) zeroed: returns it */
static void *nl_start(struct nl_req *r, unsigned short type,
		      unsigned short flags, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->h.nlmsg_len = NLMSG_LENGTH(len);
	r->h.nlmsg_type = type;
	r->h.nlmsg_flags = flags;
	return NLMSG_DATA(&r->h);
}

static int link_up(int fd, int index)
{
	struct nl_req r;
	struct ifinfomsg *ifi = nl_start(&r, RTM_NEWLINK, 0, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	return nl_talk(fd, &r);
}

static int addr_add(int fd, int index, const struct net_spec *n)
{
	struct nl_req r;
	struct ifaddrmsg *ifa = nl_start(&r, RTM_NEWADDR,
					 NLM_F_CREATE | NLM_F_REPLACE,
					 sizeof(*ifa));
	uint32_t mask = n->prefix == 32 ? ~0U : ~(~0U >> n->prefix);
	struct in_addr brd = {
		.s_addr = n->addr.s_addr | htonl(~mask) };

	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = n->prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = index;
	nl_attr(&r, IFA_LOCAL, &n->addr, sizeof(n->addr));
	nl_attr(&r, IFA_ADDRESS, &n->addr, sizeof(n->addr));
	nl_attr(&r, IFA_BROADCAST, &brd, sizeof(brd));
	return nl_talk(fd, &r);
}

static int route_add(int fd, int index, const struct net_spec *n)
{
	struct nl_req r;
	struct rtmsg *rt = nl_start(&r, RTM_NEWROUTE,
				    NLM_F_CREATE | NLM_F_REPLACE, sizeof(*rt));
	uint32_t oif = index;

	rt->rtm_family = AF_INET;
	rt->rtm_table = RT_TABLE_MAIN;
	rt->rtm_protocol = RTPROT_BOOT;
	rt->rtm_scope = RT_SCOPE_UNIVERSE;
	rt->rtm_type = RTN_UNICAST;
	nl_attr(&r, RTA_GATEWAY, &n->gw, sizeof(n->gw));
	nl_attr(&r, RTA_OIF, &oif, sizeof(oif));
	return nl_talk(fd, &r);
}

/*
 * Loopback and @ifname up, ADDR/PREFIX on @ifname, the default route via
 * GW, the host name, from rapido.net's @val; the address and the lab host
 * in the stages' environment (RAPIDO_VM_ADDR, RAPIDO_LAB_HOST). Returns
 * the number of problems, each reported.
 */
int net_setup(const char *ifname, const char *val)
{
	struct net_spec n;
	int fd, index, lo, err;
	const char *step, *dev;

	if (net_parse(val, &n)) {
		error("cannot parse '" PROTO_NET_KEY "%s': not ADDR/PREFIX,GATEWAY,HOSTNAME (e.g. rapido.net=192.168.155.101/24,192.168.155.1,rapido1)",
		      val);
		return 1;
	}
	index = if_nametoindex(ifname);
	lo = if_nametoindex("lo");
	if (!index || !lo) {
		error("cannot find network interface '%s' (is the NIC's driver built in or listed?)",
		      index ? "lo" : ifname);
		return 1;
	}
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0) {
		error_errno(errno, "cannot open an rtnetlink socket");
		return 1;
	}
	step = "bring up";
	dev = "lo";
	err = link_up(fd, lo);
	if (!err) {
		dev = ifname;
		err = link_up(fd, index);
	}
	if (!err) {
		step = "add the address to";
		err = addr_add(fd, index, &n);
	}
	if (!err) {
		step = "add the default route via";
		err = route_add(fd, index, &n);
	}
	close(fd);
	if (err) {
		error_errno(err, "cannot %s '%s' (rapido.net=%s)", step, dev,
			    val);
		return 1;
	}
	if (sethostname(n.host, strlen(n.host))) {
		error_errno(errno, "cannot set the host name to '%s'", n.host);
		return 1;
	}
	if (setenv("RAPIDO_VM_ADDR", n.text, 1) ||
	    setenv("RAPIDO_LAB_HOST", n.gw_text, 1)) {
		error_errno(errno, "cannot set the stages' environment");
		return 1;
	}
	return 0;
}


/* rapido-net IFNAME ADDR/PREFIX,GW,HOSTNAME: net_setup alone (tests). */
int net_main(int argc, char **argv)
{
	if (argc != 3) {
		dprintf(2, NET_PROG ": usage: " NET_PROG " IFNAME ADDR/PREFIX,GW,HOSTNAME\n");
		return EXIT_USAGE;
	}
	return net_setup(argv[1], argv[2]) ? EXIT_FAIL : EXIT_PASS;
}
