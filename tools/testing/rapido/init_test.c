// SPDX-License-Identifier: GPL-2.0
/*
 * Boot tests for rapido-init: each test makes an initramfs with the tree's
 * usr/gen_init_cpio (rapido-init as /init, busybox as /bin/sh), boots the
 * tree's bzImage under QEMU (microvm, TCG) and checks what init wrote on
 * the rapido.status port and the console.
 *
 * Needs RAPIDO_BIN (rapido-init), RAPIDO_KTREE (usr/gen_init_cpio,
 * arch/x86/boot/bzImage), /bin/busybox and qemu-system-x86_64; skips
 * otherwise.
 */
#include <pty.h>
#include <sys/stat.h>
#include "kselftest_harness.h"
#include "rapido_test.h"

#define QEMU		"qemu-system-x86_64"
#define BUSYBOX		"/bin/busybox"
#define KILL_AFTER	"60"	/* seconds, then QEMU is killed */
#define DEADLINE	70	/* seconds the pty test waits for output */
/* rapido-vm's command line under TCG */
#define APPEND		"console=ttyS0 panic=-1 reboot=t no_timer_check " \
			"pty.legacy_count=0 nolapic_timer rapido.vm=3 "
#define APPEND_TEST	APPEND "rapido.mode=test"

static const char *const applets[] = {
	"sh", "grep", "hostname", "ls", "tty",
};

/* One test's scratch dir, image list and boot results. */
struct bed {
	char dir[32];
	const char *missing;	/* why the test skips, or NULL */
	char *gen, *kernel, *init, *qemu;
	char *list;		/* gen_init_cpio list, growing */
	size_t list_len;
	int nfiles;
	char *chardev;		/* QEMU -chardev for the status port */
	char *console;		/* QEMU's stdout (the serial console) */
	char *status;		/* the rapido.status port's file */
	pid_t pid;		/* QEMU's group under a pty, or 0 */
	int pty;		/* its master side */
};

FIXTURE(init) {
	struct bed b;
};

static void img_line(struct bed *b, const char *line)
{
	rt_append(&b->list, &b->list_len, line, strlen(line));
	rt_append(&b->list, &b->list_len, "\n", 1);
}

/* Adds a file holding @text to the image as @name. */
static int img_file(struct bed *b, const char *name,
		    mode_t mode, const char *text)
{
	char *host = strf("%s/f%d", b->dir, b->nfiles++);
	char *line = strf("file %s %s %o 0 0", name, host, mode);
	int err = write_file(host, 0644, text);

	img_line(b, line);
	free(line);
	free(host);
	return err;
}

FIXTURE_SETUP(init)
{
	struct bed *b = &self->b;
	const char *ktree = getenv("RAPIDO_KTREE");
	const char *init = rapido_bin("rapido-init");
	char *line;

	if (!init) {
		b->missing = "RAPIDO_BIN is not set";
		return;
	}
	if (!ktree || !*ktree) {
		b->missing = "RAPIDO_KTREE is not set";
		return;
	}
	b->init = strdup(init);
	b->gen = strf("%s/usr/gen_init_cpio", ktree);
	b->kernel = strf("%s/arch/x86/boot/bzImage", ktree);
	b->qemu = in_path(QEMU);
	if (access(b->init, X_OK))
		b->missing = "no rapido-init in RAPIDO_BIN";
	else if (access(b->gen, X_OK))
		b->missing = "no usr/gen_init_cpio in RAPIDO_KTREE";
	else if (access(b->kernel, R_OK))
		b->missing = "no arch/x86/boot/bzImage in RAPIDO_KTREE";
	else if (access(BUSYBOX, X_OK))
		b->missing = "no " BUSYBOX " (apt-get install busybox-static)";
	else if (!b->qemu)
		b->missing = "no " QEMU " (apt-get install qemu-system-x86)";
	if (b->missing)
		return;

	strcpy(b->dir, "/tmp/init_test.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(b->dir));
	b->list = strdup("");
	img_line(b, "dir /bin 0755 0 0");
	img_line(b, "dir /dev 0755 0 0");
	img_line(b, "nod /dev/console 0600 0 0 c 5 1");
	img_line(b, "dir /rapido 0755 0 0");
	line = strf("file /init %s 0755 0 0", b->init);
	img_line(b, line);
	free(line);
	img_line(b, "file /bin/busybox " BUSYBOX " 0755 0 0");
	for (size_t i = 0; i < ARRAY_SIZE(applets); i++) {
		line = strf("slink /bin/%s busybox 0777 0 0", applets[i]);
		img_line(b, line);
		free(line);
	}
	b->chardev = strf("file,id=rstatus,path=%s/status", b->dir);
}

FIXTURE_TEARDOWN(init)
{
	struct bed *b = &self->b;

	/* the console shows why a boot test failed */
	if (rt_failed(_metadata) && b->console)
		TH_LOG("console:\n%s", b->console);
	if (b->pid > 0) {
		kill(-b->pid, SIGKILL);
		waitpid(b->pid, NULL, 0);
		close(b->pty);
	}
	if (b->dir[0])
		EXPECT_EQ(0, rm_rf(b->dir));
	free(b->gen);
	free(b->kernel);
	free(b->init);
	free(b->qemu);
	free(b->list);
	free(b->chardev);
	free(b->console);
	free(b->status);
}

/* Writes the list and the image; returns the image path (malloc'ed). */
static char *make_image(struct __test_metadata *_metadata,
			struct bed *b)
{
	char *list = strf("%s/list", b->dir);
	char *img = strf("%s/initrd.cpio", b->dir);
	char *const argv[] = {
		"sh", "-c", "exec \"$0\" \"$1\" > \"$2\"", b->gen, list, img,
		NULL
	};
	struct run r;

	EXPECT_EQ(0, write_file(list, 0644, b->list));
	EXPECT_EQ(0, run(&r, argv));
	EXPECT_EQ(0, r.status) {
		TH_LOG("gen_init_cpio: %s", r.err);
	}
	run_free(&r);
	free(list);
	return img;
}

/* QEMU's argv for @img with kernel command line @append, [status port]. */
static void qemu_argv(struct bed *b, char **argv, const char *img,
		     const char *append, bool port)
{
	static char *const head[] = {
		"timeout", "-s", "KILL", KILL_AFTER, QEMU,
		"-M", "microvm,accel=tcg,acpi=off", "-m", "256", "-nodefaults",
		"-no-user-config", "-display", "none", "-no-reboot",
		"-serial", "stdio",
	};
	int n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(head); i++)
		argv[n++] = head[i];
	argv[n++] = "-kernel";
	argv[n++] = b->kernel;
	argv[n++] = "-initrd";
	argv[n++] = (char *)img;
	argv[n++] = "-append";
	argv[n++] = (char *)append;
	if (port) {
		argv[n++] = "-device";
		argv[n++] = "virtio-serial-device";
		argv[n++] = "-chardev";
		argv[n++] = b->chardev;
		argv[n++] = "-device";
		argv[n++] = "virtserialport,chardev=rstatus,name=rapido.status";
	}
	argv[n] = NULL;
}

/* Builds the image, boots it; fills b->console and b->status. */
static void boot(struct __test_metadata *_metadata, struct bed *b,
		 const char *append, bool port)
{
	char *img = make_image(_metadata, b);
	char *status = strf("%s/status", b->dir);
	char *argv[40];
	struct run r;

	qemu_argv(b, argv, img, append, port);
	ASSERT_EQ(0, run(&r, argv));
	TH_LOG("QEMU ran %.2f s", r.secs);
	b->console = r.out;
	b->status = read_text(status);
	if (!b->status)
		b->status = strdup("(no status file)");
	EXPECT_EQ(0, r.status) {
		TH_LOG("QEMU: %s", r.err);
	}
	EXPECT_EQ(NULL, strstr(b->console, "Kernel panic"));
	free(r.err);
	free(status);
	free(img);
}

TEST_F_TIMEOUT(init, autorun_pass, 90)
{
	struct bed *b = &self->b;

	if (b->missing)
		SKIP(return, "%s", b->missing);
	ASSERT_EQ(0, img_file(b, "/rapido/autorun", 0755,
			      "#!/bin/sh\necho AUTORUN-RAN\nexit 0\n"));
	boot(_metadata, b, APPEND_TEST, true);
	EXPECT_STREQ("autorun 0\nresult 0\n", b->status);
	EXPECT_NE(NULL, strstr(b->console, "AUTORUN-RAN"));
	EXPECT_NE(NULL, strstr(b->console,
			       "rapido-init: autorun exited with status 0"));
}

/*
 * "rapido-init: started" is init's first console line, before any
 * stage's output: rapido-vm tells by it that the guest got to user space.
 */
TEST_F_TIMEOUT(init, announces_itself_first, 90)
{
	struct bed *b = &self->b;
	const char *started, *first;

	if (b->missing)
		SKIP(return, "%s", b->missing);
	ASSERT_EQ(0, img_file(b, "/rapido/autorun", 0755,
			      "#!/bin/sh\necho AUTORUN-RAN\nexit 0\n"));
	boot(_metadata, b, APPEND_TEST, true);
	EXPECT_STREQ("autorun 0\nresult 0\n", b->status);
	started = strstr(b->console, "\nrapido-init: started\r\n");
	if (!started)
		started = strstr(b->console, "\nrapido-init: started\n");
	first = strstr(b->console, "rapido-init: ");
	ASSERT_NE(NULL, started) TH_LOG("console:\n%s", b->console);
	EXPECT_EQ(started + 1, first) TH_LOG("console:\n%s", b->console);
	EXPECT_LT(started, strstr(b->console, "AUTORUN-RAN"));
}

TEST_F_TIMEOUT(init, autorun_fail_stops, 90)
{
	struct bed *b = &self->b;

	if (b->missing)
		SKIP(return, "%s", b->missing);
	ASSERT_EQ(0, img_file(b, "/rapido/autorun", 0755,
			      "#!/bin/sh\nexit 3\n"));
	ASSERT_EQ(0, img_file(b, "/rapido/x", 0644, "echo X-RAN\n"));
	boot(_metadata, b, APPEND_TEST, true);
	EXPECT_STREQ("autorun 3\nresult 3\n", b->status);
	EXPECT_NE(NULL, strstr(b->console,
			       "rapido-init: autorun exited with status 3"));
	EXPECT_EQ(NULL, strstr(b->console, "X-RAN"));
}

TEST_F_TIMEOUT(init, x_after_pass, 90)
{
	struct bed *b = &self->b;

	if (b->missing)
		SKIP(return, "%s", b->missing);
	ASSERT_EQ(0, img_file(b, "/rapido/autorun", 0755,
			      "#!/bin/sh\nexit 0\n"));
	ASSERT_EQ(0, img_file(b, "/rapido/x", 0644,
			      "echo X-RAN $RAPIDO_MODE\nexit 5\n"));
	boot(_metadata, b, APPEND_TEST, true);
	EXPECT_STREQ("autorun 0\nx 5\nresult 5\n", b->status);
	EXPECT_NE(NULL, strstr(b->console, "X-RAN test"));
}

/* All three stages in order; f has no #! so it runs through /bin/sh. */
TEST_F_TIMEOUT(init, f_without_shebang, 90)
{
	struct bed *b = &self->b;

	if (b->missing)
		SKIP(return, "%s", b->missing);
	ASSERT_EQ(0, img_file(b, "/rapido/autorun", 0755,
			      "#!/bin/sh\necho AUTORUN-RAN\n"));
	ASSERT_EQ(0, img_file(b, "/rapido/x", 0644, "echo X-RAN\n"));
	ASSERT_EQ(0, img_file(b, "/rapido/f", 0755,
			      "echo F-RAN \"$0\"\n"));
	boot(_metadata, b, APPEND_TEST, true);
	EXPECT_STREQ("autorun 0\nx 0\nf 0\nresult 0\n", b->status);
	EXPECT_NE(NULL, strstr(b->console, "F-RAN /rapido/f"));
}

/*
 * The first of init's console lines that is not one of its information
 * lines (an error, a warning), malloc'ed; NULL if there is none.
 */
static char *init_problem(const char *console)
{
	static const char *const info[] = {
		"started*", "* exited with status *", "* killed by signal *",
		"result *", "rapido*: result *; exit the shell to power off",
		"no '*' virtio-serial port: the host gets no result",
	};
	static const char head[] = "rapido-init: ";

	for (const char *p = strstr(console, head); p;
	     p = strstr(p + 1, head)) {
		char *line = strndup(p + strlen(head),
				     strcspn(p + strlen(head), "\r\n"));
		size_t i = 0;

		while (i < ARRAY_SIZE(info) && fnmatch(info[i], line, 0))
			i++;
		if (i == ARRAY_SIZE(info))
			return line;
		free(line);
	}
	return NULL;
}

TEST_F_TIMEOUT(init, mounts_env_hostname, 90)
{
	struct bed *b = &self->b;
	char *problem;

	if (b->missing)
		SKIP(return, "%s", b->missing);
	ASSERT_EQ(0, img_file(b, "/rapido/autorun", 0755,
		"#!/bin/sh\n"
		"fail=0\n"
		"bad() { echo \"BAD: $*\"; fail=1; }\n"
		"m() { grep -q \"^$1 $2 $3 \" /proc/mounts || bad mount $*; }\n"
		"m proc /proc proc\n"
		"m sysfs /sys sysfs\n"
		"m devtmpfs /dev devtmpfs\n"
		"m devpts /dev/pts devpts\n"
		"m tmpfs /dev/shm tmpfs\n"
		"m tmpfs /tmp tmpfs\n"
		"m tmpfs /run tmpfs\n"
		"if grep -q debugfs /proc/filesystems; then\n"
		"\tm debugfs /sys/kernel/debug debugfs\n"
		"fi\n"
		"case $(ls -ld /tmp) in drwxrwxrwt*) ;; *) bad /tmp mode;; esac\n"
		"[ \"$(hostname)\" = rapido3 ] || bad hostname $(hostname)\n"
		"[ \"$RAPIDO_VM\" = 3 ] || bad RAPIDO_VM=$RAPIDO_VM\n"
		"[ \"$RAPIDO_MODE\" = test ] || bad RAPIDO_MODE=$RAPIDO_MODE\n"
		"[ \"$HOME\" = /root ] || bad HOME=$HOME\n"
		"[ \"$(pwd)\" = /root ] || bad cwd $(pwd)\n"
		"[ \"$SHELL\" = /bin/sh ] || bad SHELL=$SHELL\n"
		"[ \"$TERM\" = linux ] || bad TERM=$TERM\n"
		"case $PATH in /usr/local/sbin:*:/bin) ;; *) bad PATH;; esac\n"
		"[ -t 0 ] && bad stdin is a tty\n"
		"exit $fail\n"));
	boot(_metadata, b, APPEND_TEST, true);
	EXPECT_STREQ("autorun 0\nresult 0\n", b->status);
	EXPECT_EQ(NULL, strstr(b->console, "BAD:"));
	problem = init_problem(b->console);
	EXPECT_EQ(NULL, problem) TH_LOG("rapido-init said: %s", problem);
	free(problem);
}

TEST_F_TIMEOUT(init, autorun_killed, 90)
{
	struct bed *b = &self->b;

	if (b->missing)
		SKIP(return, "%s", b->missing);
	ASSERT_EQ(0, img_file(b, "/rapido/autorun", 0755,
			      "#!/bin/sh\nkill -9 $$\necho SURVIVED\n"));
	boot(_metadata, b, APPEND_TEST, true);
	EXPECT_STREQ("autorun 137\nresult 137\n", b->status);
	EXPECT_NE(NULL, strstr(b->console,
			       "rapido-init: autorun killed by signal 9"));
	EXPECT_EQ(NULL, strstr(b->console, "SURVIVED"));
}

/* Bad modules fail stage "modules"; autorun still runs, for diagnosis. */
TEST_F_TIMEOUT(init, modules_bad, 90)
{
	struct bed *b = &self->b;

	if (b->missing)
		SKIP(return, "%s", b->missing);
	img_line(b, "dir /lib 0755 0 0");
	ASSERT_EQ(0, img_file(b, "/lib/junk.ko", 0644, "not an ELF\n"));
	ASSERT_EQ(0, img_file(b, "/lib/junk.ko.zst", 0644, "nor this\n"));
	ASSERT_EQ(0, img_file(b, "/rapido/modules", 0644,
			      "/lib/modules/none/missing.ko\n"
			      "/lib/junk.ko opt=1\n"
			      "/lib/junk.ko.zst\n"));
	ASSERT_EQ(0, img_file(b, "/rapido/autorun", 0755,
			      "#!/bin/sh\nexit 0\n"));
	boot(_metadata, b, APPEND_TEST, true);
	EXPECT_STREQ("modules 1\nautorun 0\nresult 1\n", b->status);
	EXPECT_NE(NULL, strstr(b->console,
		"rapido-init: cannot open module '/lib/modules/none/missing.ko': No such file or directory"));
	EXPECT_NE(NULL, strstr(b->console,
		"rapido-init: cannot insert module '/lib/junk.ko': "));
	EXPECT_NE(NULL, strstr(b->console,
		"rapido-init: cannot insert compressed module '/lib/junk.ko.zst' (the kernel needs CONFIG_MODULE_DECOMPRESS"));
}

TEST_F_TIMEOUT(init, modules_empty, 90)
{
	struct bed *b = &self->b;

	if (b->missing)
		SKIP(return, "%s", b->missing);
	ASSERT_EQ(0, img_file(b, "/rapido/modules", 0644, ""));
	ASSERT_EQ(0, img_file(b, "/rapido/autorun", 0755,
			      "#!/bin/sh\nexit 0\n"));
	boot(_metadata, b, APPEND_TEST, true);
	EXPECT_STREQ("modules 0\nautorun 0\nresult 0\n", b->status);
}

/* Bad rapido.* parameters: reported, stage "init" fails, defaults used. */
TEST_F_TIMEOUT(init, bad_cmdline, 90)
{
	struct bed *b = &self->b;

	if (b->missing)
		SKIP(return, "%s", b->missing);
	ASSERT_EQ(0, img_file(b, "/rapido/autorun", 0755,
			      "#!/bin/sh\necho \"HOST=$(hostname)\"\n"));
	boot(_metadata, b,
	     "console=ttyS0 panic=-1 reboot=t rapido.mode=bogus rapido.vm=x",
	     true);
	EXPECT_STREQ("init 1\nautorun 0\nresult 1\n", b->status);
	EXPECT_NE(NULL, strstr(b->console,
		"rapido-init: cannot parse 'rapido.mode=bogus': unknown mode; use rapido.mode=test or rapido.mode=boot"));
	EXPECT_NE(NULL, strstr(b->console,
		"rapido-init: cannot parse 'rapido.vm=x': not a VM number; use rapido.vm=<0..99999>"));
	EXPECT_NE(NULL, strstr(b->console, "HOST=rapido1"));
}

/* Without the port the stages still run and init says so. */
TEST_F_TIMEOUT(init, no_port, 90)
{
	struct bed *b = &self->b;

	if (b->missing)
		SKIP(return, "%s", b->missing);
	ASSERT_EQ(0, img_file(b, "/rapido/autorun", 0755,
			      "#!/bin/sh\nexit 4\n"));
	boot(_metadata, b, APPEND_TEST, false);
	/*
	 * No status file can exist without the chardev: what counts is that
	 * init went on and ended the guest itself (boot() also checks that
	 * nothing panicked) instead of stopping at the missing port.
	 */
	/* the kernel's words for init's reboot(2), not a panic's restart */
	EXPECT_TRUE(strstr(b->console, "reboot: Restarting system") ||
		    strstr(b->console, "reboot: Power down"));
	EXPECT_NE(NULL, strstr(b->console,
			       "rapido-init: autorun exited with status 4"));
	EXPECT_NE(NULL, strstr(b->console,
		"rapido-init: no 'rapido.status' virtio-serial port"));
}

/* Reads @fd into @buf until @want shows up (NULL: until EOF) or timeout. */
static bool pty_read_until(int fd, char **buf, size_t *len, const char *want,
			   size_t from, double deadline)
{
	while (rt_now() < deadline) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		char chunk[4096];
		ssize_t n;

		if (want && strstr(*buf + from, want))
			return true;
		if (poll(&pfd, 1, 500) <= 0)
			continue;
		n = read(fd, chunk, sizeof(chunk));
		if (n <= 0)
			return !want;	/* EIO: QEMU closed the pty */
		rt_append(buf, len, chunk, n);
	}
	return false;
}

/*
 * Boot mode under a pty: the result goes out before the shell starts, and
 * the shell has the serial console as its controlling tty (ttyS0 is 4:64).
 */
TEST_F_TIMEOUT(init, boot_mode_shell, 90)
{
	static const char input[] =
		"tty; read -r p c s pp pg se t r < /proc/self/stat; "
		"echo \"TTYNR=$t\"; exit\n";
	static const char banner[] = "exit the shell to power off";
	struct bed *b = &self->b;
	double deadline = rt_now() + DEADLINE;
	char *status, *argv[40], *img;
	size_t len = 0;
	int st;

	if (b->missing)
		SKIP(return, "%s", b->missing);
	ASSERT_EQ(0, img_file(b, "/rapido/autorun", 0755,
			      "#!/bin/sh\necho AUTORUN-RAN\n"));
	img = make_image(_metadata, b);
	status = strf("%s/status", b->dir);
	qemu_argv(b, argv, img, APPEND "rapido.mode=boot", true);
	b->console = strdup("");
	b->pid = forkpty(&b->pty, NULL, NULL, NULL);
	ASSERT_LE(0, b->pid);
	if (!b->pid) {
		execvp(argv[0], argv);
		_exit(127);
	}
	ASSERT_TRUE(pty_read_until(b->pty, &b->console, &len, banner, 0,
				   deadline));
	ASSERT_TRUE(pty_read_until(b->pty, &b->console, &len, "/root # ",
				   strstr(b->console, banner) - b->console,
				   deadline));
	/* the shell is up: the result must already be on the port */
	b->status = read_text(status);
	ASSERT_NE(NULL, b->status);
	EXPECT_STREQ("autorun 0\nresult 0\n", b->status);

	ASSERT_EQ(sizeof(input) - 1,
		  (size_t)write(b->pty, input, sizeof(input) - 1));
	ASSERT_TRUE(pty_read_until(b->pty, &b->console, &len, NULL, 0,
				   deadline));
	ASSERT_EQ(b->pid, waitpid(b->pid, &st, 0));
	b->pid = 0;
	close(b->pty);
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	EXPECT_NE(NULL, strstr(b->console, "rapido3: result 0;"));
	EXPECT_NE(NULL, strstr(b->console, "\n/dev/ttyS0\r"));
	EXPECT_NE(NULL, strstr(b->console, "TTYNR=1088"));
	EXPECT_EQ(NULL, strstr(b->console, "job control"));
	free(status);
	free(img);
}

/*
 * rapido.net's rtnetlink setup, run as rapido-net (a link to rapido-init)
 * in a throwaway network and UTS namespace on a veth named eth0: lo and
 * eth0 up, the address with its broadcast, the default route, the host
 * name; again (idempotent); a missing interface and a bad value refused.
 */
TEST(net_setup_in_a_netns)
{
	const char *init = rapido_bin("rapido-init");
	char dir[] = "/tmp/rapido-net.XXXXXX", *net, *script;
	struct run r;

	if (!init)
		SKIP(return, "RAPIDO_BIN is not set (run_tests sets it)");
	if (geteuid())
		SKIP(return, "needs root (a network namespace)");
	ASSERT_NE(NULL, mkdtemp(dir));
	net = strf("%s/rapido-net", dir);
	ASSERT_EQ(0, symlink(init, net));
	script = strf("ip link add eth0 type veth peer name peer0 || exit 99\n"
		      "%s eth0 10.9.0.5/24,10.9.0.1,rapido7 || exit 1\n"
		      "%s eth0 10.9.0.5/24,10.9.0.1,rapido7 || exit 2\n"
		      "%s eth1 10.9.0.6/24,10.9.0.1,x && exit 3\n"
		      "%s eth0 10.9.0.5,10.9.0.1,x && exit 4\n"
		      "ip -o -4 addr show; ip route; hostname\n"
		      "ip -o link show lo; ip -o link show eth0\n",
		      net, net, net, net);
	{
		char *const argv[] = { "unshare", "-n", "-u", "sh", "-c",
				       script, NULL };

		ASSERT_EQ(0, run(&r, argv));
	}
	if (r.status == 99)
		SKIP(goto out, "cannot make a veth pair: %s", r.err);
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "eth0    inet 10.9.0.5/24 brd 10.9.0.255 scope global eth0")) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "default via 10.9.0.1 dev eth0")) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "\nrapido7\n")) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "lo: <LOOPBACK,UP,LOWER_UP>")) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "eth0@peer0: <NO-CARRIER,BROADCAST,MULTICAST,UP,")) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "rapido-init: cannot find network interface 'eth1' (is the NIC's driver built in or listed?)\n")) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "rapido-init: cannot parse 'rapido.net=10.9.0.5,10.9.0.1,x': not ADDR/PREFIX,GATEWAY,HOSTNAME")) run_dump(&r);
out:
	run_free(&r);
	unlink(net);
	rmdir(dir);
	free(net);
	free(script);
}

TEST_HARNESS_MAIN
