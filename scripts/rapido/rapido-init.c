// SPDX-License-Identifier: GPL-2.0
/*
 * rapido-init - PID 1 of a rapido guest (the initramfs's /init, static)
 *
 * Says PROTO_INIT_STARTED on the console (so the host knows the guest got
 * to user space), mounts the pseudo filesystems, names the host
 * rapido<N>, inserts the modules listed in /rapido/modules, runs the stages
 * /rapido/autorun, /rapido/x and /rapido/f (each only if present, stopping
 * at the first that fails) and reports each stage's code on the
 * virtio-serial port PROTO_STATUS_PORT (rapido-proto.h has the protocol):
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
 * NIC: after the modules, rapido-init-net.c puts lo and eth0 up, ADDR/PREFIX
 * on eth0, the default route via GATEWAY and the host name itself, and
 * exports RAPIDO_VM_ADDR and RAPIDO_LAB_HOST to the stages; addresses only:
 * secrets never come this way, they are in the image's 0600 files).  In
 * test mode init then syncs and reboots (QEMU runs with -no-reboot, so it
 * exits); in boot mode it starts an interactive /bin/sh on the console with
 * a controlling tty and reboots when it exits.
 *
 * Stages run in their own session with cwd /root, stdin /dev/null (test
 * mode) or the console (boot mode), stdout and stderr on the console, and
 * PATH, HOME=/root, TERM, SHELL=/bin/sh, RAPIDO_VM, RAPIDO_MODE set on top
 * of the environment the kernel gave init.
 *
 * PID 1 must never exit: anything fatal is printed and the guest reboots
 * (so nothing here calls util.h's fatal()).
 *
 * Run as rapido-net (a link to it), it does the network setup alone on
 * the host, for tests: rapido-net IFNAME ADDR/PREFIX,GATEWAY,HOSTNAME.
 * Run as rapido-qmp (a link to /init), it is the guest's end of the control
 * channel instead (rapido-init-port.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/module.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "rapido-init.h"

#define MODULES_LIST	"/rapido/modules"
#define STAGE_CWD	"/root"
#define SHELL		"/bin/sh"
#define STAGE_PATH	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define NET_IF		"eth0"	/* the lab NIC: the guest's only one */

const char *const prog = "rapido-init";

enum mode { MODE_TEST, MODE_BOOT };

static const char *const mode_names[] = {
	[MODE_TEST] = PROTO_MODE_TEST,
	[MODE_BOOT] = PROTO_MODE_BOOT,
};

static struct {
	enum mode mode;
	unsigned long vm;
	int result;		/* first non-zero stage code */
	const char *net;	/* rapido.net=ADDR/PREFIX,GW,HOSTNAME */
} g = {
	.mode = MODE_TEST,
	.vm = 1,
};

static _Noreturn void power_off(void)
{
	sync();
	reboot(RB_AUTOBOOT);
	error_errno(errno, "cannot reboot; halting here");
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

/* Returns the number of failures, each reported. */
static int mount_all(void)
{
	int failed = 0;

	for (size_t i = 0; i < ARRAY_SIZE(mounts); i++) {
		const struct mnt *m = &mounts[i];
		int err;

		/* sysfs creates the optional mount points with the fs */
		if (!m->optional) {
			if (mkdir_p(m->dir)) {
				failed++;
				continue;
			}
		}
		if (!mount(m->type, m->dir, m->type, m->flags, m->data))
			continue;
		err = -errno;
		if (m->optional && (err == -ENODEV || err == -ENOENT))
			continue;
		error_errno(err, "cannot mount %s on '%s'", m->type, m->dir);
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
			error_errno(errno, "cannot create symlink '%s' to '%s'",
				    l->path, l->target);
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
	error("cannot parse '" PROTO_MODE_KEY "%s': unknown mode; use "
	      PROTO_MODE_KEY PROTO_MODE_TEST " or " PROTO_MODE_KEY
	      PROTO_MODE_BOOT, val);
	return -EINVAL;
}

static int parse_vm(const char *val)
{
	char *end;

	errno = 0;
	g.vm = strtoul(val, &end, 10);
	if (errno || end == val || *end || g.vm > 99999) {
		error("cannot parse '" PROTO_VM_KEY "%s': not a VM number; use "
		      PROTO_VM_KEY "<0..99999>", val);
		g.vm = 1;
		return -EINVAL;
	}
	return 0;
}

static int parse_net(const char *val)
{
	g.net = xstrdup(val);
	return 0;
}

static const struct param {
	const char *key;
	int (*parse)(const char *val);
} params[] = {
	{ .key = PROTO_MODE_KEY, .parse = parse_mode },
	{ .key = PROTO_VM_KEY, .parse = parse_vm },
	{ .key = PROTO_NET_KEY, .parse = parse_net },
};

/* Returns the number of problems, each reported. */
static int parse_cmdline(void)
{
	char *buf, *tok, *save;
	int failed = 0, err;

	err = read_file("/proc/cmdline", 0, &buf, NULL);
	if (err) {
		error_errno(err, "cannot read '%s'", "/proc/cmdline");
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
	free(buf);
	return failed;
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
		error("cannot insert module '%s': not an absolute path; list image paths in '%s'",
		      path, MODULES_LIST);
		return -EINVAL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		error_errno(err, "cannot open module '%s'", path);
		return err;
	}
	if (syscall(SYS_finit_module, fd, args, flags) && errno != EEXIST) {
		err = -errno;
		if (flags && (err == -EOPNOTSUPP || err == -EINVAL))
			error_errno(err, "cannot insert compressed module '%s' (the kernel needs CONFIG_MODULE_DECOMPRESS and its algorithm)",
				    path);
		else
			error_errno(err, "cannot insert module '%s'", path);
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
		error_errno(-EIO, "cannot read '%s'", MODULES_LIST);
		code = 1;
	}
	free(line);
	return code;
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

	snprintf(vm, sizeof(vm), "%lu", g.vm);
	mkdir_p(STAGE_CWD);
	if (setenv("PATH", STAGE_PATH, 1) ||
	    setenv("HOME", STAGE_CWD, 1) ||
	    setenv("TERM", term && *term ? term : "linux", 1) ||
	    setenv("SHELL", SHELL, 1) ||
	    setenv("RAPIDO_VM", vm, 1) ||
	    setenv("RAPIDO_MODE", mode_names[g.mode], 1))
		error_errno(errno, "cannot set the stages' environment");
}

/* In the child: session, cwd, stdin. Returns 0 or -errno (reported). */
static int child_setup(void)
{
	int fd, err;

	setsid();
	if (chdir(STAGE_CWD)) {
		err = -errno;
		error_errno(err, "cannot enter '%s'", STAGE_CWD);
		return err;
	}
	if (g.mode == MODE_BOOT)
		return 0;
	fd = open("/dev/null", O_RDONLY);
	if (fd < 0 || dup2(fd, 0) < 0) {
		err = -errno;
		error_errno(err, "cannot open '%s' as stdin", "/dev/null");
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
			error_errno(-err, "cannot execute '%s'", s->path);
			_exit(err == ENOENT ? 127 : 126);
		}
	}
	execv(SHELL, sh_argv);
	error_errno(errno, "cannot execute '%s'", SHELL);
	_exit(127);
}

/* Seconds since the guest booted (what a stage's line says it started at). */
static double uptime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Runs a stage to its end; returns its code. */
static int run_stage(const struct stage *s)
{
	double t0 = uptime();
	pid_t pid = fork();
	int st, code;

	if (pid < 0) {
		error_errno(errno, "cannot fork for '%s'", s->path);
		return 255;
	}
	if (!pid)
		stage_exec(s);
	st = wait_for(pid);
	if (st < 0) {
		error_errno(st, "cannot wait for '%s'", s->path);
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
	char *buf, *p;
	size_t n;
	int err;

	err = read_file("/sys/class/tty/console/active", 0, &buf, &n);
	if (err)
		return err;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	p = strrchr(buf, ' ');
	p = p ? p + 1 : buf;
	err = *p ? 0 : -ENODEV;
	if (!err)
		snprintf(dev, size, "/dev/%s", p);
	free(buf);
	return err;
}

static _Noreturn void shell_exec(const char *tty)
{
	static char *const argv[] = { SHELL, "-i", NULL };
	int fd;

	setsid();
	fd = open(tty, O_RDWR);
	if (fd < 0) {
		error_errno(errno, "cannot open '%s'", tty);
		_exit(127);
	}
	if (ioctl(fd, TIOCSCTTY, 0))
		error_errno(errno, "cannot make '%s' the controlling tty (no job control)",
			    tty);
	for (int i = 0; i < 3; i++)
		if (dup2(fd, i) < 0)
			_exit(127);
	if (fd > 2)
		close(fd);
	if (chdir(STAGE_CWD))
		error_errno(errno, "cannot enter '%s'", STAGE_CWD);
	execv(SHELL, argv);
	error_errno(errno, "cannot execute '%s'", SHELL);
	_exit(127);
}

static void boot_shell(void)
{
	char tty[160];
	pid_t pid;
	int err;

	err = console_tty(tty, sizeof(tty));
	if (err) {
		error_errno(err, "cannot find the console's tty in '%s' (using /dev/console: job control may not work)",
			    "/sys/class/tty/console/active");
		snprintf(tty, sizeof(tty), "/dev/console");
	}
	say("rapido%lu: result %d; exit the shell to power off", g.vm,
	    g.result);
	pid = fork();
	if (pid < 0) {
		error_errno(errno, "cannot fork for '%s'", SHELL);
		return;
	}
	if (!pid)
		shell_exec(tty);
	err = wait_for(pid);
	if (err < 0)
		error_errno(err, "cannot wait for '%s'", SHELL);
}

/* Stage "modules": its code, or -1 if there is no list. */
static int modules_stage(void)
{
	FILE *list = fopen(MODULES_LIST, "re");
	int code;

	if (!list) {
		if (errno == ENOENT)
			return -1;
		error_errno(errno, "cannot open '%s'", MODULES_LIST);
		return 1;
	}
	code = insert_modules(list);
	fclose(list);
	return code;
}

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
		error("cannot run as PID %d: run it as the guest's /init (PID 1)",
		      (int)getpid());
		return EXIT_USAGE;
	}
	init_failed = mount_all();
	init_failed += dev_links_make();
	console_fds();
	dprintf(2, PROTO_INIT_STARTED "\n");
	init_failed += parse_cmdline();

	snprintf(host, sizeof(host), "rapido%lu", g.vm);
	if (sethostname(host, strlen(host))) {
		error_errno(errno, "cannot set the host name to '%s'", host);
		init_failed++;
	}

	/* before the port lookup: virtio_console may be a listed module */
	modules_code = modules_stage();
	/* after the modules: the NIC's driver may be one */
	if (g.net)
		init_failed += net_setup(NET_IF, g.net);

	status_open();

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
	report(PROTO_RESULT, g.result);
	say("result %d", g.result);
	close_status();

	if (g.mode == MODE_BOOT)
		boot_shell();
	power_off();
}
