// SPDX-License-Identifier: GPL-2.0
/*
 * rapido-init - PID 1 of a rapido guest (the initramfs's /init, static)
 *
 * Says "rapido-init: started" on the console (so the host knows the guest
 * got to user space), mounts the pseudo filesystems, names the host
 * rapido<N>, inserts the modules listed in /rapido/modules, runs the stages
 * /rapido/autorun, /rapido/x and /rapido/f (each only if present, stopping
 * at the first that fails) and reports each stage's code on the
 * virtio-serial port named "rapido.status":
 *
 *	<stage> <code>\n	one per stage run: init, modules, autorun, x, f
 *	result <code>\n		first non-zero stage code, or 0
 *
 * "init" appears only when init itself had a problem (a mount failed, bad
 * rapido.* parameter, sethostname failed); such problems are also printed
 * on the console and make the result non-zero.  A code is the exit status,
 * or 128 + signal number.
 *
 * Kernel command line: rapido.mode=test|boot (default test), rapido.vm=N
 * (default 1), rapido.net=ADDR/PREFIX,GATEWAY,HOSTNAME (a VM with a lab
 * NIC: after the modules, init puts lo and eth0 up, ADDR/PREFIX on eth0,
 * the default route via GATEWAY and the host name itself, over rtnetlink,
 * and exports RAPIDO_VM_ADDR and RAPIDO_LAB_HOST to the stages; addresses
 * only: secrets never come this way, they are in the image's 0600 files).  In test mode init then syncs and reboots (QEMU runs with
 * -no-reboot, so it exits); in boot mode it starts an interactive /bin/sh
 * on the console with a controlling tty and reboots when it exits.
 *
 * Stages run in their own session with cwd /root, stdin /dev/null (test
 * mode) or the console (boot mode), stdout and stderr on the console, and
 * PATH, HOME=/root, TERM, SHELL=/bin/sh, RAPIDO_VM, RAPIDO_MODE set on top
 * of the environment the kernel gave init.
 *
 * PID 1 must never exit: anything fatal is printed and the guest reboots.
 *
 * Run as rapido-net (a link to it), it does the network setup alone on
 * the host, for tests: rapido-net IFNAME ADDR/PREFIX,GATEWAY,HOSTNAME.
 *
 * Run as rapido-qmp (a link to /init), it is the guest's end of the control
 * channel instead:
 *
 *	rapido-qmp REQUEST...
 *
 * writes the words of REQUEST as one line to the virtio-serial port
 * "rapido.control" (a QMP command as JSON, or an action such as
 * "drive_del hda": see rapido-vm), prints the host's reply line and exits
 * 0 for {"return": ...}, 1 for {"error": ...}, 2 if there was no reply.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <linux/module.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define PROG		"rapido-init"
#define MODULES_LIST	"/rapido/modules"
#define PORTS_DIR	"/sys/class/virtio-ports"
#define STATUS_PORT	"rapido.status"
#define CONTROL_PORT	"rapido.control"
#define CONTROL_MAX	4096	/* one request or reply line */
#define CONTROL_MS	120000	/* the host's reply, at most */
#define STAGE_CWD	"/root"
#define SHELL		"/bin/sh"
#define STAGE_PATH	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define NET_IF		"eth0"	/* the lab NIC: the guest's only one */
#define NET_PROG	"rapido-net"
#define NL_MS		2000	/* one rtnetlink answer, at most */
/*
 * The first line init prints on the console: rapido-vm tells by it that
 * the guest got to user space (the same string is in rapido-vm.c).
 */
#define INIT_STARTED	"rapido-init: started"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

enum mode { MODE_TEST, MODE_BOOT };

static const char *const mode_names[] = {
	[MODE_TEST] = "test",
	[MODE_BOOT] = "boot",
};

static struct {
	enum mode mode;
	unsigned long vm;
	int status_fd;		/* the rapido.status port, or -errno */
	char pending[256];	/* status lines not yet written */
	size_t pending_len;
	int result;		/* first non-zero stage code */
	const char *net;	/* rapido.net=ADDR/PREFIX,GW,HOSTNAME */
} g = {
	.mode = MODE_TEST,
	.vm = 1,
	.status_fd = -ENOENT,
};

/* One line on the console (fd 2; one write), prefixed with the program. */
#define say(fmt, ...) dprintf(2, PROG ": " fmt "\n", ##__VA_ARGS__)

/* `<prog>: '<subject>': <what>: <strerror>` for a -errno @err. */
static void err_line(const char *subject, const char *what, int err)
{
	say("'%s': %s: %s", subject, what, strerror(-err));
}

static _Noreturn void power_off(void)
{
	sync();
	reboot(RB_AUTOBOOT);
	say("reboot: %s; halting here", strerror(errno));
	for (;;)
		pause();
}

/* Records a stage's code: the first non-zero one is the result. */
static void account(int code)
{
	if (code && !g.result)
		g.result = code;
}

/* ---- mounts ------------------------------------------------------------ */

static const struct mnt {
	const char *dir;
	const char *type;
	unsigned long flags;
	const char *data;
	bool optional;		/* absent from the kernel: skip quietly */
} mounts[] = {
	{ .dir = "/proc", .type = "proc",
	  .flags = MS_NOSUID | MS_NODEV | MS_NOEXEC },
	{ .dir = "/sys", .type = "sysfs",
	  .flags = MS_NOSUID | MS_NODEV | MS_NOEXEC },
	{ .dir = "/dev", .type = "devtmpfs",
	  .flags = MS_NOSUID, .data = "mode=0755" },
	{ .dir = "/dev/pts", .type = "devpts",
	  .flags = MS_NOSUID | MS_NOEXEC, .data = "mode=0620,ptmxmode=0666" },
	{ .dir = "/dev/shm", .type = "tmpfs",
	  .flags = MS_NOSUID | MS_NODEV, .data = "mode=1777" },
	{ .dir = "/tmp", .type = "tmpfs",
	  .flags = MS_NOSUID | MS_NODEV, .data = "mode=1777" },
	{ .dir = "/run", .type = "tmpfs",
	  .flags = MS_NOSUID | MS_NODEV, .data = "mode=0755" },
	{ .dir = "/sys/kernel/debug", .type = "debugfs",
	  .flags = MS_NOSUID | MS_NODEV | MS_NOEXEC, .optional = true },
	{ .dir = "/sys/kernel/config", .type = "configfs",
	  .flags = MS_NOSUID | MS_NODEV | MS_NOEXEC, .optional = true },
};

static int mkdir_p1(const char *dir)
{
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

/* Returns the number of failures, each reported. */
static int mount_all(void)
{
	int failed = 0;

	for (size_t i = 0; i < ARRAY_SIZE(mounts); i++) {
		const struct mnt *m = &mounts[i];
		int err;

		/* sysfs creates the optional mount points with the fs */
		if (!m->optional) {
			err = mkdir_p1(m->dir);
			if (err) {
				err_line(m->dir, "mkdir", err);
				failed++;
				continue;
			}
		}
		if (!mount(m->type, m->dir, m->type, m->flags, m->data))
			continue;
		err = -errno;
		if (m->optional && (err == -ENODEV || err == -ENOENT))
			continue;
		say("'%s': mount %s: %s", m->dir, m->type, strerror(-err));
		failed++;
	}
	return failed;
}

/*
 * What udev would link in /dev and bash's <(...) and scripts' reads of
 * /dev/stdin need (blktests: "/dev/fd/63: No such file or directory").
 * Returns the number of failures, each reported.
 */
static const struct dev_link {
	const char *path, *target;
} dev_links[] = {
	{ "/dev/fd", "/proc/self/fd" },
	{ "/dev/stdin", "/proc/self/fd/0" },
	{ "/dev/stdout", "/proc/self/fd/1" },
	{ "/dev/stderr", "/proc/self/fd/2" },
};

static int dev_links_make(void)
{
	int failed = 0;

	for (size_t i = 0; i < ARRAY_SIZE(dev_links); i++) {
		const struct dev_link *l = &dev_links[i];

		if (symlink(l->target, l->path) && errno != EEXIST) {
			err_line(l->path, "symlink", -errno);
			failed++;
		}
	}
	return failed;
}

/* The kernel gives init fds 0-2 only if the image has /dev/console. */
static void console_fds(void)
{
	int fd;

	if (fcntl(0, F_GETFD) >= 0)
		return;
	fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd < 0)
		return;		/* nowhere to say so, either */
	for (int i = 0; i < 3; i++)
		if (fd != i)
			dup2(fd, i);
	if (fd > 2)
		close(fd);
}

/* ---- small file helpers ------------------------------------------------ */

/* Reads up to @size - 1 bytes of @path into @buf; returns length or -errno */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

static bool exists(const char *path)
{
	return !access(path, F_OK);
}

/* ---- kernel command line ----------------------------------------------- */

static int parse_mode(const char *val)
{
	for (size_t i = 0; i < ARRAY_SIZE(mode_names); i++)
		if (!strcmp(val, mode_names[i])) {
			g.mode = i;
			return 0;
		}
	say("'rapido.mode=%s': unknown mode: use rapido.mode=test or boot",
	    val);
	return -EINVAL;
}

static int parse_vm(const char *val)
{
	char *end;

	errno = 0;
	g.vm = strtoul(val, &end, 10);
	if (errno || end == val || *end || g.vm > 99999) {
		say("'rapido.vm=%s': not a VM number: use rapido.vm=<0..99999>",
		    val);
		g.vm = 1;
		return -EINVAL;
	}
	return 0;
}

static int parse_net(const char *val)
{
	g.net = val;
	return 0;
}

static const struct param {
	const char *key;
	int (*parse)(const char *val);
} params[] = {
	{ .key = "rapido.mode=", .parse = parse_mode },
	{ .key = "rapido.vm=", .parse = parse_vm },
	{ .key = "rapido.net=", .parse = parse_net },
};

/* Returns the number of problems, each reported. */
static int parse_cmdline(void)
{
	char buf[4096], *tok, *save;
	int failed = 0;
	ssize_t n;

	n = read_small("/proc/cmdline", buf, sizeof(buf));
	if (n < 0) {
		err_line("/proc/cmdline", "read", n);
		return 1;
	}
	for (tok = strtok_r(buf, " \t\n", &save); tok;
	     tok = strtok_r(NULL, " \t\n", &save)) {
		for (size_t i = 0; i < ARRAY_SIZE(params); i++) {
			size_t len = strlen(params[i].key);

			if (!strncmp(tok, params[i].key, len) &&
			    params[i].parse(tok + len))
				failed++;
		}
	}
	return failed;
}

/* ---- network: rtnetlink, no ip binary, no DHCP ------------------------ */

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

static int link_up(int fd, int index)
{
	struct nl_req r = { .h = {
		.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
		.nlmsg_type = RTM_NEWLINK } };
	struct ifinfomsg *ifi = NLMSG_DATA(&r.h);

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	return nl_talk(fd, &r);
}

static int addr_add(int fd, int index, const struct net_spec *n)
{
	struct nl_req r = { .h = {
		.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg)),
		.nlmsg_type = RTM_NEWADDR,
		.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE } };
	struct ifaddrmsg *ifa = NLMSG_DATA(&r.h);
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
	struct nl_req r = { .h = {
		.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)),
		.nlmsg_type = RTM_NEWROUTE,
		.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE } };
	struct rtmsg *rt = NLMSG_DATA(&r.h);
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
static int net_setup(const char *ifname, const char *val)
{
	struct net_spec n;
	int fd, index, lo, err;
	const char *step;

	if (net_parse(val, &n)) {
		say("'rapido.net=%s': not ADDR/PREFIX,GATEWAY,HOSTNAME (e.g. rapido.net=192.168.155.101/24,192.168.155.1,rapido1)",
		    val);
		return 1;
	}
	index = if_nametoindex(ifname);
	lo = if_nametoindex("lo");
	if (!index || !lo) {
		err_line(index ? "lo" : ifname,
			 "no such network interface (is the NIC's driver built in or listed?)",
			 -ENODEV);
		return 1;
	}
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0) {
		err_line("rtnetlink", "socket", -errno);
		return 1;
	}
	step = "lo: link up";
	err = link_up(fd, lo);
	if (!err) {
		step = "link up";
		err = link_up(fd, index);
	}
	if (!err) {
		step = "add address";
		err = addr_add(fd, index, &n);
	}
	if (!err) {
		step = "add default route";
		err = route_add(fd, index, &n);
	}
	close(fd);
	if (err) {
		say("'%s': %s (rapido.net=%s): %s", ifname, step, val,
		    strerror(-err));
		return 1;
	}
	if (sethostname(n.host, strlen(n.host))) {
		err_line(n.host, "sethostname", -errno);
		return 1;
	}
	if (setenv("RAPIDO_VM_ADDR", n.text, 1) ||
	    setenv("RAPIDO_LAB_HOST", n.gw_text, 1)) {
		say("setenv: %s", strerror(errno));
		return 1;
	}
	return 0;
}

/* rapido-net IFNAME ADDR/PREFIX,GW,HOSTNAME: net_setup alone (tests). */
static int net_main(int argc, char **argv)
{
	if (argc != 3) {
		dprintf(2, NET_PROG ": usage: " NET_PROG " IFNAME ADDR/PREFIX,GW,HOSTNAME\n");
		return 2;
	}
	return net_setup(argv[1], argv[2]) ? 1 : 0;
}

/* ---- modules ----------------------------------------------------------- */

static bool compressed(const char *path)
{
	static const char *const exts[] = { ".ko.xz", ".ko.gz", ".ko.zst" };
	size_t len = strlen(path);

	for (size_t i = 0; i < ARRAY_SIZE(exts); i++) {
		size_t el = strlen(exts[i]);

		if (len > el && !strcmp(path + len - el, exts[i]))
			return true;
	}
	return false;
}

static int insert_module(const char *path, const char *args)
{
	int flags = compressed(path) ? MODULE_INIT_COMPRESSED_FILE : 0;
	int fd, err = 0;

	if (path[0] != '/') {
		say("'%s': not an absolute path: list image paths in %s",
		    path, MODULES_LIST);
		return -EINVAL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		err_line(path, "open", err);
		return err;
	}
	if (syscall(SYS_finit_module, fd, args, flags) && errno != EEXIST) {
		err = -errno;
		if (flags && (err == -EOPNOTSUPP || err == -EINVAL))
			err_line(path,
				 "kernel refused compressed module (needs CONFIG_MODULE_DECOMPRESS and its algorithm)",
				 err);
		else
			err_line(path, "finit_module", err);
	}
	close(fd);
	return err;
}

/* Inserts every module listed; returns the stage code (0 or 1). */
static int insert_modules(FILE *list)
{
	char *line = NULL;
	size_t cap = 0;
	int code = 0;

	while (getline(&line, &cap, list) >= 0) {
		char *args;

		line[strcspn(line, "\n")] = '\0';
		if (!line[0])
			continue;
		args = strchr(line, ' ');
		if (args)
			*args++ = '\0';
		if (insert_module(line, args ? args : ""))
			code = 1;
	}
	if (ferror(list)) {
		err_line(MODULES_LIST, "read", -EIO);
		code = 1;
	}
	free(line);
	return code;
}

/* ---- result channel ---------------------------------------------------- */

/* The /dev path of the virtio-serial port called @port, or -ENOENT. */
static int find_port(const char *port, char *dev, size_t size)
{
	struct dirent *de;
	int ret = -ENOENT;
	DIR *dir;

	dir = opendir(PORTS_DIR);
	if (!dir)
		return -ENOENT;
	while ((de = readdir(dir))) {
		char path[300], name[64];

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), PORTS_DIR "/%s/name", de->d_name);
		if (read_small(path, name, sizeof(name)) < 0)
			continue;
		name[strcspn(name, "\n")] = '\0';
		if (strcmp(name, port))
			continue;
		snprintf(dev, size, "/dev/%s", de->d_name);
		ret = 0;
		break;
	}
	closedir(dir);
	return ret;
}

/* The port's fd, -ENOENT if not (yet) there, or -EIO if unusable. */
static int open_status_port(void)
{
	char path[300];
	int fd;

	if (find_port(STATUS_PORT, path, sizeof(path)))
		return -ENOENT;
	fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		err_line(path, "open", -errno);
		fd = -EIO;	/* said so: don't look again */
	}
	return fd;
}

/*
 * Writes the pending status lines.  The port is looked up again until found:
 * virtio-serial announces its ports from a workqueue, so a port may show up
 * after init has started.  A write error closes it for good (-EIO).
 */
static void flush_status(void)
{
	ssize_t n;

	if (g.status_fd == -ENOENT)
		g.status_fd = open_status_port();
	if (g.status_fd < 0 || !g.pending_len)
		return;
	n = write(g.status_fd, g.pending, g.pending_len);
	if (n == (ssize_t)g.pending_len) {
		g.pending_len = 0;
		return;
	}
	err_line(STATUS_PORT, "write", n < 0 ? -errno : -EIO);
	close(g.status_fd);
	g.status_fd = -EIO;
}

/* Reports "<what> <code>" on the status port. */
static void report(const char *what, int code)
{
	size_t room = sizeof(g.pending) - g.pending_len;
	int n;

	n = snprintf(g.pending + g.pending_len, room, "%s %d\n", what, code);
	if (n > 0 && (size_t)n < room)
		g.pending_len += n;
	flush_status();
}

/* Flushes the port at the end; says so if the host gets no result. */
static void close_status(void)
{
	if (g.status_fd < 0) {
		if (g.status_fd == -ENOENT)
			say("no '%s' virtio-serial port: the host gets no result",
			    STATUS_PORT);
		return;
	}
	/* virtio ports have no fsync: EINVAL, writes went to the host */
	if (fsync(g.status_fd) && errno != EINVAL)
		err_line(STATUS_PORT, "fsync", -errno);
	if (close(g.status_fd))
		err_line(STATUS_PORT, "close", -errno);
	g.status_fd = -EIO;
}

/* ---- children ---------------------------------------------------------- */

/*
 * Waits for @pid, reaping every other child (orphans included) meanwhile.
 * Returns its wait status, or -errno.
 */
static int wait_for(pid_t pid)
{
	for (;;) {
		int st;
		pid_t got = wait(&st);

		if (got < 0 && errno != EINTR)
			return -errno;
		if (got == pid)
			return st;
	}
}

static void setup_env(void)
{
	const char *term = getenv("TERM");
	char vm[24];
	int err;

	snprintf(vm, sizeof(vm), "%lu", g.vm);
	err = mkdir_p1(STAGE_CWD);
	if (err)
		err_line(STAGE_CWD, "mkdir", err);
	if (setenv("PATH", STAGE_PATH, 1) ||
	    setenv("HOME", STAGE_CWD, 1) ||
	    setenv("TERM", term && *term ? term : "linux", 1) ||
	    setenv("SHELL", SHELL, 1) ||
	    setenv("RAPIDO_VM", vm, 1) ||
	    setenv("RAPIDO_MODE", mode_names[g.mode], 1))
		say("setenv: %s", strerror(errno));
}

/* In the child: session, cwd, stdin. Returns 0 or -errno (reported). */
static int child_setup(void)
{
	int fd, err;

	setsid();
	if (chdir(STAGE_CWD)) {
		err = -errno;
		err_line(STAGE_CWD, "chdir", err);
		return err;
	}
	if (g.mode == MODE_BOOT)
		return 0;
	fd = open("/dev/null", O_RDONLY);
	if (fd < 0 || dup2(fd, 0) < 0) {
		err = -errno;
		err_line("/dev/null", "stdin", err);
		return err;
	}
	if (fd)
		close(fd);
	return 0;
}

enum run_how {
	RUN_EXEC,		/* execve the file */
	RUN_SH,			/* /bin/sh <file> */
	RUN_EXEC_OR_SH,		/* execve, /bin/sh <file> if not executable */
};

static const struct stage {
	const char *name;
	const char *path;
	enum run_how how;
} stages[] = {
	{ .name = "autorun", .path = "/rapido/autorun", .how = RUN_EXEC },
	{ .name = "x", .path = "/rapido/x", .how = RUN_SH },
	{ .name = "f", .path = "/rapido/f", .how = RUN_EXEC_OR_SH },
};

static _Noreturn void stage_exec(const struct stage *s)
{
	char *const argv[] = { (char *)s->path, NULL };
	char *const sh_argv[] = { SHELL, (char *)s->path, NULL };
	int err;

	if (child_setup())
		_exit(127);
	if (s->how != RUN_SH) {
		execv(s->path, argv);
		err = errno;
		if (s->how == RUN_EXEC || err != ENOEXEC) {
			err_line(s->path, "execute", -err);
			_exit(err == ENOENT ? 127 : 126);
		}
	}
	execv(SHELL, sh_argv);
	err_line(SHELL, "execute", -errno);
	_exit(127);
}

/* Runs a stage to its end; returns its code. */
/* Seconds since the guest booted (what a stage's line says it started at). */
static double uptime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int run_stage(const struct stage *s)
{
	double t0 = uptime();
	pid_t pid = fork();
	int st, code;

	if (pid < 0) {
		err_line(s->path, "fork", -errno);
		return 255;
	}
	if (!pid)
		stage_exec(s);
	st = wait_for(pid);
	if (st < 0) {
		err_line(s->path, "wait", st);
		return 255;
	}
	if (WIFSIGNALED(st)) {
		code = 128 + WTERMSIG(st);
		say("%s killed by signal %d (%s), status %d, after %.2f s (started at %.2f s of uptime)",
		    s->name, WTERMSIG(st), strsignal(WTERMSIG(st)), code,
		    uptime() - t0, t0);
	} else {
		code = WEXITSTATUS(st);
		say("%s exited with status %d after %.2f s (started at %.2f s of uptime)",
		    s->name, code, uptime() - t0, t0);
	}
	return code;
}

/* ---- boot mode shell --------------------------------------------------- */

/* The console's real tty (last of /sys/class/tty/console/active). */
static int console_tty(char *dev, size_t size)
{
	char buf[128], *p;
	ssize_t n;

	n = read_small("/sys/class/tty/console/active", buf, sizeof(buf));
	if (n < 0)
		return n;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	p = strrchr(buf, ' ');
	p = p ? p + 1 : buf;
	if (!*p)
		return -ENODEV;
	snprintf(dev, size, "/dev/%s", p);
	return 0;
}

static _Noreturn void shell_exec(const char *tty)
{
	static char *const argv[] = { SHELL, "-i", NULL };
	int fd;

	setsid();
	fd = open(tty, O_RDWR);
	if (fd < 0) {
		err_line(tty, "open", -errno);
		_exit(127);
	}
	if (ioctl(fd, TIOCSCTTY, 0))
		err_line(tty, "TIOCSCTTY (no job control)", -errno);
	for (int i = 0; i < 3; i++)
		if (dup2(fd, i) < 0)
			_exit(127);
	if (fd > 2)
		close(fd);
	if (chdir(STAGE_CWD))
		err_line(STAGE_CWD, "chdir", -errno);
	execv(SHELL, argv);
	err_line(SHELL, "execute", -errno);
	_exit(127);
}

static void boot_shell(void)
{
	char tty[160];
	pid_t pid;
	int err;

	err = console_tty(tty, sizeof(tty));
	if (err) {
		err_line("/sys/class/tty/console/active",
			 "using /dev/console, job control may not work", err);
		snprintf(tty, sizeof(tty), "/dev/console");
	}
	say("rapido%lu: result %d; exit the shell to power off", g.vm,
	    g.result);
	pid = fork();
	if (pid < 0) {
		err_line(SHELL, "fork", -errno);
		return;
	}
	if (!pid)
		shell_exec(tty);
	err = wait_for(pid);
	if (err < 0)
		err_line(SHELL, "wait", err);
}

/* Stage "modules": its code, or -1 if there is no list. */
static int modules_stage(void)
{
	FILE *list = fopen(MODULES_LIST, "re");
	int code;

	if (!list) {
		if (errno == ENOENT)
			return -1;
		err_line(MODULES_LIST, "open", -errno);
		return 1;
	}
	code = insert_modules(list);
	fclose(list);
	return code;
}

/* ---- rapido-qmp: the guest's end of the control channel --------------- */

#define QMP_PROG	"rapido-qmp"
#define qmp_say(fmt, ...) fprintf(stderr, QMP_PROG ": " fmt "\n", ##__VA_ARGS__)

/* Reads one reply line into @buf; 0, or -errno. */
static int qmp_read_reply(int fd, char *buf, size_t size)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t have = 0;

	while (!memchr(buf, '\n', have)) {
		ssize_t n;

		if (have == size - 1)
			return -EMSGSIZE;
		n = poll(&p, 1, CONTROL_MS);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n ? -errno : -ETIMEDOUT;
		n = read(fd, buf + have, size - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n ? -errno : -ECONNRESET;
		have += n;
		buf[have] = '\0';
	}
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

static int qmp_main(int argc, char **argv)
{
	char path[300], req[CONTROL_MAX], reply[CONTROL_MAX] = "";
	size_t len = 0;
	int fd, err;

	if (argc < 2) {
		qmp_say("usage: " QMP_PROG " '{\"execute\": ...}' | ACTION ARG (e.g. drive_del hda)");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		int n = snprintf(req + len, sizeof(req) - len, "%s%s",
				 i > 1 ? " " : "", argv[i]);

		if (n < 0 || (size_t)n >= sizeof(req) - len - 1) {
			qmp_say("'%.20s...': request longer than %d bytes",
				req, CONTROL_MAX - 2);
			return 2;
		}
		len += n;
	}
	if (strchr(req, '\n')) {
		qmp_say("'%s': a request is one line", req);
		return 2;
	}
	req[len++] = '\n';
	if (find_port(CONTROL_PORT, path, sizeof(path))) {
		qmp_say("'%s': no such virtio-serial port: rapido-vm runs without --control",
			CONTROL_PORT);
		return 2;
	}
	fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		qmp_say("'%s': open: %s", path, strerror(errno));
		return 2;
	}
	if (write(fd, req, len) != (ssize_t)len) {
		qmp_say("'%s': write: %s", path, strerror(errno ? errno : EIO));
		close(fd);
		return 2;
	}
	err = qmp_read_reply(fd, reply, sizeof(reply));
	close(fd);
	if (err) {
		qmp_say("'%s': no reply: %s", path, strerror(-err));
		return 2;
	}
	printf("%s\n", reply);
	return strncmp(reply, "{\"return\"", 9) ? 1 : 0;
}

/* util.c's messages (this program still has its own, for now) */
extern const char *const prog;
const char *const prog = PROG;

int main(int argc, char **argv)
{
	int init_failed, modules_code;
	const char *base;
	char host[32];

	base = argc ? strrchr(argv[0], '/') : NULL;
	base = base ? base + 1 : argc ? argv[0] : "";
	if (!strcmp(base, QMP_PROG))
		return qmp_main(argc, argv);
	if (!strcmp(base, NET_PROG))
		return net_main(argc, argv);

	if (getpid() != 1) {
		fprintf(stderr, PROG ": must run as PID 1 (the guest's /init)\n");
		return 2;
	}
	init_failed = mount_all();
	init_failed += dev_links_make();
	console_fds();
	dprintf(2, INIT_STARTED "\n");
	init_failed += parse_cmdline();

	snprintf(host, sizeof(host), "rapido%lu", g.vm);
	if (sethostname(host, strlen(host))) {
		err_line(host, "sethostname", -errno);
		init_failed++;
	}

	/* before the port lookup: virtio_console may be a listed module */
	modules_code = modules_stage();
	/* after the modules: the NIC's driver may be one */
	if (g.net)
		init_failed += net_setup(NET_IF, g.net);

	g.status_fd = open_status_port();

	if (init_failed) {
		report("init", 1);
		account(1);
	}
	if (modules_code >= 0) {
		report("modules", modules_code);
		account(modules_code);
	}

	setup_env();
	for (size_t i = 0; i < ARRAY_SIZE(stages); i++) {
		int code;

		if (!exists(stages[i].path))
			continue;
		code = run_stage(&stages[i]);
		report(stages[i].name, code);
		account(code);
		if (code)
			break;
	}
	report("result", g.result);
	say("result %d", g.result);
	close_status();

	if (g.mode == MODE_BOOT)
		boot_shell();
	power_off();
}
