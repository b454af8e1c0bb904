// SPDX-License-Identifier: GPL-2.0
/*
 * Tests for rapido-vm: the QEMU argv (--print-argv), the vm number lock,
 * the verdict on crafted console.log/status pairs (--check), option
 * errors, and whole runs against a fake QEMU (a shell script that plays
 * the console and the status port): pass, timeout, QEMU that cannot
 * start, signals, the KVM probe and its cache. One real boot of the
 * tree's kernel with a busybox /init when RAPIDO_KTREE is set.
 *
 * Needs RAPIDO_BIN (rapido-vm); skips otherwise.
 */
#include <pty.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "kselftest_harness.h"
#include "rapido_test.h"

#define MAX_ARGS	48

/* What the helpers below need of the fixture. */
struct vm_paths {
	char *tmp;		/* scratch tree */
	char *dir;		/* --dir */
	char *kernel;
	char *initrd;
	char *qemu;		/* fake QEMU script */
	char *bin;		/* rapido-vm */
};

FIXTURE(vm) {
	struct vm_paths p;
};

FIXTURE_SETUP(vm)
{
	char tmpl[] = "/tmp/vm_test.XXXXXX";
	const char *bin = rapido_bin("rapido-vm");

	RT_ONLY();
	if (!bin)
		SETUP_SKIP("RAPIDO_BIN is not set");
	self->p.bin = strdup(bin);
	ASSERT_NE(NULL, mkdtemp(tmpl));
	self->p.tmp = strdup(tmpl);
	self->p.dir = strf("%s/.rapido", self->p.tmp);
	self->p.kernel = strf("%s/bzImage", self->p.tmp);
	self->p.initrd = strf("%s/initrd.cpio", self->p.tmp);
	self->p.qemu = strf("%s/fake-qemu", self->p.tmp);
	ASSERT_EQ(0, write_file(self->p.kernel, 0644, "kernel\n"));
	ASSERT_EQ(0, write_file(self->p.initrd, 0644, "initrd\n"));
}

FIXTURE_TEARDOWN(vm)
{
	struct stat st;

	if (!self->p.tmp)
		return;
	EXPECT_EQ(0, rm_rf(self->p.tmp));
	EXPECT_NE(0, stat(self->p.tmp, &st));
}

/*
 * Run rapido-vm with the fixture's --kernel/--initrd/--dir (unless
 * @bare) followed by the NULL-terminated @args.
 */
static void vm_argv(struct vm_paths *p, char **argv, int bare,
		    const char *const *args)
{
	int n = 0;

	argv[n++] = (char *)p->bin;
	if (!bare) {
		argv[n++] = "--kernel";
		argv[n++] = p->kernel;
		argv[n++] = "--initrd";
		argv[n++] = p->initrd;
		argv[n++] = "--dir";
		argv[n++] = p->dir;
	}
	while (*args && n < MAX_ARGS - 1)
		argv[n++] = (char *)*args++;
	argv[n] = NULL;
}

static int vm_run(struct vm_paths *p, struct run *r, int bare,
		  const char *const *args)
{
	char *argv[MAX_ARGS];

	vm_argv(p, argv, bare, args);
	return run(r, argv);
}

#define ARGS(...)	((const char *const[]){ __VA_ARGS__, NULL })
#define VM_RUN(r, ...)	vm_run(&self->p, r, 0, ARGS(__VA_ARGS__))
#define VM_RUN_BARE(r, ...) vm_run(&self->p, r, 1, ARGS(__VA_ARGS__))
/* r.out holds @s, or @s as a whole line */
#define OUT_HAS(s)	(strstr(r.out, s) != NULL)
#define OUT_LINE(s)	has_line(r.out, s)

/* The line following the first line equal to @key in @out, or "". */
static char *line_after(const char *out, const char *key)
{
	size_t klen = strlen(key);

	for (const char *s = out; *s; ) {
		const char *e = strchrnul(s, '\n');

		if ((size_t)(e - s) == klen && !strncmp(s, key, klen) && *e) {
			const char *v = e + 1;

			return strndup(v, strchrnul(v, '\n') - v);
		}
		s = *e ? e + 1 : e;
	}
	return strdup("");
}

/* ---- --print-argv ---- */

TEST_F(vm, argv_microvm_test_mode)
{
	char *want = strf("qemu-system-x86_64\n-M\nmicrovm,accel=tcg,acpi=off\n"
			  "-m\n512\n-smp\n1\n-nodefaults\n-no-user-config\n"
			  "-display\nnone\n-no-reboot\n-kernel\n%s\n-initrd\n%s\n"
			  "-append\nconsole=ttyS0 panic=-1 reboot=t no_timer_check pty.legacy_count=0 nolapic_timer rapido.mode=test rapido.vm=1\n"
			  "-chardev\nstdio,id=con\n"
			  "-serial\nchardev:con\n-device\nvirtio-serial-device\n"
			  "-chardev\nfile,id=rstatus,path=%s/vm1/status\n"
			  "-device\nvirtserialport,chardev=rstatus,name=rapido.status\n"
			  "-qmp\nunix:%s/vm1/qmp.sock,server=on,wait=off\n",
			  self->p.kernel, self->p.initrd, self->p.dir,
			  self->p.dir);
	struct run r;

	ASSERT_EQ(0, VM_RUN(&r, "--accel", "tcg", "--print-argv"));
	EXPECT_EQ(0, r.status);
	EXPECT_STREQ(want, r.out);
	EXPECT_STREQ("", r.err);
	run_free(&r);
	free(want);
}

TEST_F(vm, argv_pc_and_q35_use_pci)
{
	static const char *const machines[] = { "pc", "q35" };

	for (int i = 0; i < 2; i++) {
		char *m = strf("%s,accel=kvm", machines[i]);
		struct run r;
		char *v;

		ASSERT_EQ(0, VM_RUN(&r, "--machine", machines[i], "--accel",
				    "kvm", "--print-argv"));
		EXPECT_EQ(0, r.status);
		v = line_after(r.out, "-M");
		EXPECT_STREQ(m, v);
		free(v);
		EXPECT_TRUE(OUT_LINE("virtio-serial-pci"));
		EXPECT_FALSE(OUT_LINE("virtio-serial-device"));
		EXPECT_TRUE(has_line(r.out,
			"virtserialport,chardev=rstatus,name=rapido.status"));
		/* KVM with the default CPU model: -cpu host aborts here */
		EXPECT_FALSE(OUT_LINE("-cpu"));
		/* the APIC timer stays: KVM needs no calibration */
		EXPECT_EQ(NULL, strstr(r.out, "nolapic_timer"));
		run_free(&r);
		free(m);
	}
}

TEST_F(vm, argv_boot_mode_console_and_monitor)
{
	char *con = strf("stdio,mux=on,signal=off,id=con");
	struct run r;
	char *v;

	ASSERT_EQ(0, VM_RUN(&r, "--mode", "boot", "--accel", "tcg",
			    "--print-argv"));
	EXPECT_EQ(0, r.status);
	v = line_after(r.out, "-chardev");
	EXPECT_STREQ(con, v);
	free(v);
	v = line_after(r.out, "-mon");
	EXPECT_STREQ("chardev=con", v);
	free(v);
	v = line_after(r.out, "-append");
	EXPECT_STREQ("console=ttyS0 panic=-1 reboot=t no_timer_check pty.legacy_count=0 nolapic_timer rapido.mode=boot rapido.vm=1",
		     v);
	free(v);
	run_free(&r);

	/* test mode: no monitor on the console */
	ASSERT_EQ(0, VM_RUN(&r, "--accel", "tcg", "--print-argv"));
	EXPECT_FALSE(OUT_LINE("-mon"));
	run_free(&r);
	free(con);
}

TEST_F(vm, argv_settings_and_extra_args)
{
	struct run r;
	const char *tail;
	char *v;

	ASSERT_EQ(0, VM_RUN(&r, "--accel", "tcg", "--mem", "1024", "--cpus",
			    "2", "--append",
			    "quiet x=\"a b\"", "--qemu", "/opt/q e/qemu",
			    "--vm", "7", "--print-argv", "--", "-device",
			    "foo,bar=1", "two words", "'quoted'"));
	EXPECT_EQ(0, r.status);
	EXPECT_EQ(0, strncmp(r.out, "/opt/q e/qemu\n", 14));
	v = line_after(r.out, "-m");
	EXPECT_STREQ("1024", v);
	free(v);
	v = line_after(r.out, "-smp");
	EXPECT_STREQ("2", v);
	free(v);
	v = line_after(r.out, "-append");
	EXPECT_STREQ("console=ttyS0 panic=-1 reboot=t no_timer_check pty.legacy_count=0 nolapic_timer rapido.mode=test rapido.vm=7 quiet x=\"a b\"",
		     v);
	free(v);
	/* extra arguments come last, verbatim, one per line */
	tail = strstr(r.out, ",server=on,wait=off\n");
	ASSERT_NE(NULL, tail);
	EXPECT_STREQ(",server=on,wait=off\n-device\nfoo,bar=1\ntwo words\n'quoted'\n",
		     tail);
	run_free(&r);
}

TEST_F(vm, argv_auto_accel_follows_the_cache)
{
	char *cache = strf("%s/accel", self->p.dir);
	char *id = read_text("/proc/sys/kernel/random/boot_id");
	struct run r;
	char *v, *text;

	ASSERT_NE(NULL, id);
	id[strcspn(id, "\n")] = '\0';
	ASSERT_EQ(0, mkdir(self->p.dir, 0755));
	/* another QEMU's verdict and a stale boot's do not count */
	text = strf("%s kvm /other/qemu\n"
		    "00000000-0000-0000-0000-000000000000 kvm qemu-system-x86_64\n"
		    "%s tcg qemu-system-x86_64\n", id, id);
	ASSERT_EQ(0, write_file(cache, 0644, text));
	free(text);
	ASSERT_EQ(0, VM_RUN(&r, "--print-argv"));
	v = line_after(r.out, "-M");
	EXPECT_STREQ("microvm,accel=tcg,acpi=off", v);
	free(v);
	run_free(&r);

	text = strf("%s tcg /other/qemu\n%s kvm qemu-system-x86_64\n", id,
		    id);
	ASSERT_EQ(0, write_file(cache, 0644, text));
	free(text);
	ASSERT_EQ(0, VM_RUN(&r, "--print-argv"));
	v = line_after(r.out, "-M");
	EXPECT_STREQ("microvm,accel=kvm,acpi=off", v);
	free(v);
	run_free(&r);
	free(id);
	free(cache);
}

TEST_F(vm, argv_commas_in_paths_are_doubled)
{
	char *dir = strf("%s/a,b", self->p.tmp);
	char *want = strf("file,id=rstatus,path=%s/a,,b/vm1/status",
			  self->p.tmp);
	struct run r;

	ASSERT_EQ(0, VM_RUN_BARE(&r, "--kernel", self->p.kernel, "--initrd",
				 self->p.initrd, "--dir", dir, "--accel", "tcg",
				 "--print-argv"));
	EXPECT_EQ(0, r.status);
	EXPECT_TRUE(OUT_LINE(want));
	run_free(&r);
	free(want);
	free(dir);
}

/* ---- vm number ---- */

/* Hold @lock (in --dir, made) as another rapido-vm would: its fd, or -1. */
static int hold_lock(struct vm_paths *p, const char *lock)
{
	int fd;

	if (mkdir(p->dir, 0755) && errno != EEXIST)
		return -1;
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB)) {
		close(fd);
		return -1;
	}
	return fd;
}

TEST_F(vm, vm_number_skips_a_locked_one)
{
	char *lock = strf("%s/vm1.lock", self->p.dir);
	char *vm2 = strf("file,id=rstatus,path=%s/vm2/status", self->p.dir);
	char *vm1 = strf("file,id=rstatus,path=%s/vm1/status", self->p.dir);
	struct run r;
	int fd;

	fd = hold_lock(&self->p, lock);
	ASSERT_LE(0, fd);

	ASSERT_EQ(0, VM_RUN(&r, "--accel", "tcg", "--print-argv"));
	EXPECT_EQ(0, r.status);
	EXPECT_TRUE(OUT_LINE(vm2)) TH_LOG("%s", r.out);
	EXPECT_TRUE(strstr(r.out, " rapido.vm=2\n") != NULL);
	run_free(&r);

	/* asking for the held one is an error, not a wait or another vm */
	ASSERT_EQ(0, VM_RUN(&r, "--vm", "1", "--accel", "tcg",
			    "--print-argv"));
	EXPECT_EQ(128, r.status);
	EXPECT_TRUE(strstr(r.err, "vm1.lock") != NULL);
	EXPECT_TRUE(strstr(r.err, "in use") != NULL);
	run_free(&r);

	close(fd);
	ASSERT_EQ(0, VM_RUN(&r, "--accel", "tcg", "--print-argv"));
	EXPECT_TRUE(OUT_LINE(vm1)) TH_LOG("%s", r.out);
	run_free(&r);
	free(vm1);
	free(vm2);
	free(lock);
}

/* ---- --check ---- */

#define STAMP "[    0.812345] "

/* Write DIR/vm1/{console.log,status} (status NULL: none) and judge. */
static int judge_files(struct vm_paths *p, struct run *r, const char *console,
		 const char *status)
{
	char *vmdir = strf("%s/vm1", p->tmp);
	char *c = strf("%s/console.log", vmdir);
	char *s = strf("%s/status", vmdir);
	int ret;

	mkdir(vmdir, 0755);
	unlink(s);
	ret = write_file(c, 0644, console);
	if (!ret && status)
		ret = write_file(s, 0644, status);
	if (!ret)
		ret = vm_run(p, r, 1, ARGS("--check", vmdir));
	free(vmdir);
	free(c);
	free(s);
	return ret;
}

static const char boot_log[] =
	STAMP "Linux version 6.1.0\r\n"
	STAMP "Run /init as init process\r\n"
	"rapido-init: started\r\n"
	"rapido1:/# ok\r\n";

TEST_F(vm, check_pass)
{
	struct run r;

	ASSERT_EQ(0, judge_files(&self->p, &r, boot_log,
				 "modules 0\nautorun 0\nresult 0\n"));
	EXPECT_EQ(0, r.status);
	EXPECT_TRUE(OUT_LINE("rapido-vm: PASS (vm1)")) {
		TH_LOG("stdout: %s", r.out);
	}
	run_free(&r);
}

TEST_F(vm, check_result_3_names_the_stage)
{
	struct run r;

	ASSERT_EQ(0, judge_files(&self->p, &r, boot_log,
			   "modules 0\nautorun 3\nx 0\nresult 3\n"));
	EXPECT_EQ(1, r.status);
	EXPECT_TRUE(strstr(r.out,
			   "rapido-vm: FAIL: autorun exited with status 3 (console: ")
		    != NULL) {
		TH_LOG("stdout: %s", r.out);
	}
	run_free(&r);
}

TEST_F(vm, check_panic_lines_are_printed)
{
	static const char log[] =
		STAMP "Run /init as init process\n"
		STAMP "Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100\n"
		STAMP "CPU: 0 PID: 1 Comm: init Not tainted 6.1.0 #1\n"
		STAMP "Call Trace:\n"
		STAMP "---[ end Kernel panic - not syncing: Attempted to kill init! ]---\n"
		"after the end\n";
	struct run r;

	ASSERT_EQ(0, judge_files(&self->p, &r, log, ""));
	EXPECT_EQ(1, r.status);
	EXPECT_TRUE(OUT_LINE(STAMP
		"Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100"));
	EXPECT_TRUE(OUT_LINE(STAMP "Call Trace:"));
	EXPECT_TRUE(OUT_LINE(STAMP
		"---[ end Kernel panic - not syncing: Attempted to kill init! ]---"));
	EXPECT_FALSE(OUT_LINE("after the end"));
	EXPECT_TRUE(OUT_HAS(
		"rapido-vm: FAIL: kernel: Kernel panic - not syncing: Attempted to kill init!")) {
		TH_LOG("stdout: %s", r.out);
	}
	run_free(&r);
}

TEST_F(vm, check_warn_fails_even_with_result_0)
{
	static const char log[] =
		STAMP "Run /init as init process\n"
		"before the cut\n"
		STAMP "------------[ cut here ]------------\n"
		STAMP "WARNING: CPU: 0 PID: 1 at drivers/misc/lkdtm/bugs.c:97 lkdtm_WARNING+0x1b/0x30\n"
		STAMP "Modules linked in: lkdtm\n"
		STAMP "RIP: 0010:lkdtm_WARNING+0x1b/0x30\n"
		STAMP "---[ end trace 0000000000000000 ]---\n"
		"rapido1:/# after the trace\n";
	struct run r;

	ASSERT_EQ(0, judge_files(&self->p, &r, log, "autorun 0\nresult 0\n"));
	EXPECT_EQ(1, r.status);
	EXPECT_TRUE(OUT_LINE(STAMP "------------[ cut here ]------------"));
	EXPECT_TRUE(OUT_LINE(STAMP
		"WARNING: CPU: 0 PID: 1 at drivers/misc/lkdtm/bugs.c:97 lkdtm_WARNING+0x1b/0x30"));
	EXPECT_TRUE(OUT_LINE(STAMP "RIP: 0010:lkdtm_WARNING+0x1b/0x30"));
	EXPECT_TRUE(OUT_LINE(STAMP "---[ end trace 0000000000000000 ]---"));
	EXPECT_FALSE(OUT_LINE("before the cut"));
	EXPECT_FALSE(OUT_LINE("rapido1:/# after the trace"));
	EXPECT_TRUE(OUT_HAS(
		"rapido-vm: FAIL: kernel: WARNING: CPU: 0 PID: 1 at")) {
		TH_LOG("stdout: %s", r.out);
	}
	run_free(&r);
}

TEST_F(vm, check_reports_at_most_three_events_of_40_lines)
{
	char *log = strdup(""), *status = "result 0\n";
	size_t len = 0;
	struct run r;
	int nwarn = 0;

	for (int e = 0; e < 5; e++) {
		char *l = strf(STAMP "WARNING: CPU: 0 PID: 1 at event %d\n", e);

		rt_append(&log, &len, l, strlen(l));
		free(l);
		for (int i = 0; i < 50; i++) {
			l = strf(STAMP "trace line %d.%d\n", e, i);
			rt_append(&log, &len, l, strlen(l));
			free(l);
		}
	}
	ASSERT_EQ(0, judge_files(&self->p, &r, log, status));
	EXPECT_EQ(1, r.status);
	for (const char *s = r.out; (s = strstr(s, "WARNING: CPU")); s++)
		nwarn++;
	/* three reports, two named by line, and the reason on the last */
	EXPECT_EQ(6, nwarn);
	EXPECT_TRUE(OUT_LINE(STAMP "trace line 0.38"));
	EXPECT_FALSE(OUT_LINE(STAMP "trace line 0.39"));
	EXPECT_FALSE(OUT_LINE(STAMP "WARNING: CPU: 0 PID: 1 at event 3"));
	/* event 3's marker is console line 3 * 51 + 1 */
	EXPECT_TRUE(OUT_HAS("console.log line 154: WARNING: CPU: 0 PID: 1 at event 3\n"))
		TH_LOG("stdout: %s", r.out);
	EXPECT_TRUE(OUT_HAS("console.log line 205: WARNING: CPU: 0 PID: 1 at event 4\n"))
		TH_LOG("stdout: %s", r.out);
	run_free(&r);
	free(log);
}

TEST_F(vm, check_no_result_prints_the_tail)
{
	char *log = strdup(""), *l;
	size_t len = 0;
	struct run r;

	for (int i = 0; i < 30; i++) {
		l = strf(STAMP "line %d\n", i);
		rt_append(&log, &len, l, strlen(l));
		free(l);
	}
	ASSERT_EQ(0, judge_files(&self->p, &r, log, "modules 0\n"));
	EXPECT_EQ(1, r.status);
	EXPECT_TRUE(OUT_HAS(
		"rapido-vm: FAIL: the guest did not report a result (console: "));
	EXPECT_TRUE(OUT_LINE(STAMP "line 29"));
	EXPECT_TRUE(OUT_LINE(STAMP "line 10"));
	EXPECT_FALSE(OUT_LINE(STAMP "line 9"));
	run_free(&r);

	/* no status file, but rapido-init said it started: the same */
	l = strf("%srapido-init: started\n", log);
	ASSERT_EQ(0, judge_files(&self->p, &r, l, NULL));
	EXPECT_EQ(1, r.status);
	EXPECT_TRUE(strstr(r.out, "did not report a result") != NULL);
	run_free(&r);
	free(l);

	/* ... and without it the guest never got to user space: 128 */
	ASSERT_EQ(0, judge_files(&self->p, &r, log, NULL));
	EXPECT_EQ(128, r.status);
	EXPECT_TRUE(strstr(r.err, "the guest never started rapido-init") !=
		    NULL) run_dump(&r);
	run_free(&r);
	free(log);
}

TEST_F(vm, check_markers_only_at_line_start)
{
	static const char log[] =
		STAMP "Run /init as init process\n"
		"rapido-init: started\n"
		"rapido1:/# echo found BUG: in my test output\n"
		"userspace says WARNING: not a kernel warning\n"
		STAMP "random: crng init done, Oops: is only a word here\n";
	struct run r;

	ASSERT_EQ(0, judge_files(&self->p, &r, log, "autorun 0\nresult 0\n"));
	EXPECT_EQ(0, r.status) {
		TH_LOG("stdout: %s", r.out);
	}
	run_free(&r);

	/* ... but at line start after a timestamp, or without one, it is */
	ASSERT_EQ(0, judge_files(&self->p, &r, STAMP
		"BUG: kernel NULL pointer dereference, address: 0000000000000000\n",
		"result 0\n"));
	EXPECT_EQ(1, r.status);
	run_free(&r);
	ASSERT_EQ(0, judge_files(&self->p, &r,
				 "BUG: KASAN: slab-out-of-bounds in foo\n",
				 "result 0\n"));
	EXPECT_EQ(1, r.status);
	run_free(&r);
}

TEST_F(vm, check_other_markers)
{
	static const char *const lines[] = {
		"INFO: task kworker/0:1:12 blocked for more than 120 seconds.",
		"rcu: INFO: rcu_sched self-detected stall on CPU",
		"watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [init:1]",
		"UBSAN: array-index-out-of-bounds in lib/foo.c:12:3",
		"general protection fault, probably for non-canonical address 0xdead: 0000 [#1] SMP",
		"kernel BUG at mm/slub.c:100!",
		"Oops: 0002 [#1] PREEMPT SMP",
		"watchdog: Watchdog detected hard LOCKUP on cpu 1",
	};

	for (size_t i = 0; i < ARRAY_SIZE(lines); i++) {
		char *log = strf(STAMP "%s\n", lines[i]);
		struct run r;

		ASSERT_EQ(0, judge_files(&self->p, &r, log, "result 0\n"));
		EXPECT_EQ(1, r.status) {
			TH_LOG("not a failure: %s", lines[i]);
		}
		run_free(&r);
		free(log);
	}
}

TEST_F(vm, check_bad_status_and_missing_console)
{
	char *vmdir = strf("%s/none", self->p.tmp);
	struct run r;

	ASSERT_EQ(0, judge_files(&self->p, &r, boot_log,
				 "autorun zero\nresult 0\n"));
	EXPECT_EQ(1, r.status);
	EXPECT_TRUE(strstr(r.err, "line 1") != NULL);
	run_free(&r);

	ASSERT_EQ(0, VM_RUN_BARE(&r, "--check", vmdir));
	EXPECT_EQ(128, r.status);
	EXPECT_TRUE(strstr(r.err, "none/console.log") != NULL);
	run_free(&r);
	free(vmdir);
}

/* ---- options ---- */

TEST_F(vm, bad_options_exit_128)
{
	struct run r;

	ASSERT_EQ(0, VM_RUN(&r, "--frobnicate"));
	EXPECT_EQ(128, r.status);
	EXPECT_TRUE(strstr(r.err, "'--frobnicate': unknown option") != NULL);
	run_free(&r);

	ASSERT_EQ(0, VM_RUN(&r, "--mem", "lots", "--machine", "arm",
			    "--timeout", "-1"));
	EXPECT_EQ(128, r.status);
	EXPECT_TRUE(strstr(r.err, "'--mem': 'lots'") != NULL);
	EXPECT_TRUE(strstr(r.err, "'--machine': 'arm'") != NULL);
	EXPECT_TRUE(strstr(r.err, "'--timeout': '-1'") != NULL);
	EXPECT_STREQ("", r.out);
	run_free(&r);

	ASSERT_EQ(0, VM_RUN(&r, "stray"));
	EXPECT_EQ(128, r.status);
	EXPECT_TRUE(strstr(r.err, "'stray'") != NULL);
	run_free(&r);

	ASSERT_EQ(0, VM_RUN_BARE(&r, "--initrd", self->p.initrd));
	EXPECT_EQ(128, r.status);
	EXPECT_TRUE(strstr(r.err, "'--kernel': missing") != NULL);
	EXPECT_TRUE(strstr(r.err, "'--dir': missing") != NULL);
	run_free(&r);
}

TEST_F(vm, missing_kernel_file_is_named)
{
	char *k = strf("%s/no-bzImage", self->p.tmp);
	char *want = strf("rapido-vm: cannot read '%s': No such file or directory\n",
			  k);
	struct run r;

	ASSERT_EQ(0, VM_RUN_BARE(&r, "--kernel", k, "--initrd", self->p.initrd,
				 "--dir", self->p.dir, "--print-argv"));
	EXPECT_EQ(128, r.status);
	EXPECT_STREQ(want, r.err);
	EXPECT_STREQ("", r.out);
	run_free(&r);
	free(want);
	free(k);
}

/* ---- whole runs with a fake QEMU ---- */

/*
 * A QEMU stand-in: finds the console log and status paths in its argv,
 * records its pid, then runs @body with con() writing a console line
 * (to stdout and the log, as the stdio chardev does) and st() a status
 * line.
 */
static int fake_qemu(struct vm_paths *p, const char *body)
{
	char *script = strf("#!/bin/sh\n"
			    "for a do\n"
			    "\tcase $a in\n"
			    "\t*logfile=*) log=${a##*logfile=} ;;\n"
			    "\tfile,id=rstatus,path=*) st=${a#*path=} ;;\n"
			    "\t*accel=kvm*) kvm=1 ;;\n"
			    "\tesac\n"
			    "done\n"
			    "printf '%%s\\n' \"$@\" > \"$0.argv\"\n"
			    "echo $$ > \"$0.pid\"\n"
			    "con() { echo \"$1\"; [ -z \"$log\" ] || echo \"$1\" 2>/dev/null >> \"$log\" || :; }\n"
			    "st() { echo \"$1\" >> \"$st\"; }\n"
			    "%s\n", body);
	int ret = write_file(p->qemu, 0755, script);

	free(script);
	return ret;
}

static const char fake_pass[] =
	"con '[    0.100000] Linux version 6.1'; con 'rapido-init: started'\n"
	"st 'autorun 0'; st 'result 0'";

TEST_F(vm, run_pass_with_fresh_vm_dir)
{
	char *vmdir = strf("%s/vm1", self->p.dir);
	char *old = strf("%s/console.log", vmdir);
	char *tap = strf("%s/r.tap", self->p.tmp), *text;
	struct run r;

	/* an old failed run must not be judged again */
	ASSERT_EQ(0, fake_qemu(&self->p, fake_pass));
	ASSERT_EQ(0, mkdir(self->p.dir, 0755));
	ASSERT_EQ(0, mkdir(vmdir, 0755));
	ASSERT_EQ(0, write_file(old, 0644,
				"Kernel panic - not syncing: old\n"));
	ASSERT_EQ(0, VM_RUN(&r, "--qemu", self->p.qemu, "--accel", "tcg",
			    "--results", tap));
	EXPECT_EQ(0, r.status) {
		TH_LOG("stdout: %s\nstderr: %s", r.out, r.err);
	}
	/* the console is shown live on stdout */
	EXPECT_TRUE(OUT_LINE("[    0.100000] Linux version 6.1"));
	EXPECT_TRUE(strstr(r.out, "rapido-vm: PASS (vm1, ") != NULL);
	text = read_text(tap);
	ASSERT_NE(NULL, text);
	EXPECT_EQ(0, strncmp("TAP version 13\nok 1 - autorun\nok 2 - kernel\n"
			     "ok 3 - run\n1..3\n# console: ", text, 66)) {
		TH_LOG("TAP: %s", text);
	}
	free(text);
	run_free(&r);

	/* --quiet: only the verdict */
	ASSERT_EQ(0, VM_RUN(&r, "--qemu", self->p.qemu, "--accel", "tcg",
			    "--quiet"));
	EXPECT_EQ(0, r.status);
	EXPECT_FALSE(OUT_LINE("[    0.100000] Linux version 6.1"));
	EXPECT_EQ(0, strncmp(r.out, "rapido-vm: PASS (vm1, ", 22));
	run_free(&r);
	free(tap);
	free(old);
	free(vmdir);
}

TEST_F(vm, run_timeout_kills_qemu)
{
	char *pidf = strf("%s.pid", self->p.qemu), *pid;
	struct run r;

	/* a QEMU that ignores SIGTERM: only the SIGKILL after it ends it */
	ASSERT_EQ(0, fake_qemu(&self->p,
			       "trap '' TERM; con 'rapido-init: started'; exec sleep 60"));
	ASSERT_EQ(0, VM_RUN(&r, "--qemu", self->p.qemu, "--accel", "tcg",
			    "--quiet", "--timeout", "1"));
	EXPECT_EQ(1, r.status);
	EXPECT_TRUE(strstr(r.out, "rapido-vm: FAIL: timeout after 1 s (console: ")
		    != NULL) {
		TH_LOG("stdout: %s", r.out);
	}
	/* 1 s, then SIGTERM's 3 s grace, then SIGKILL */
	EXPECT_LT(3.5, r.secs);
	EXPECT_GT(7.0, r.secs);
	pid = read_text(pidf);
	ASSERT_NE(NULL, pid);
	ASSERT_LT(0, atoi(pid));
	EXPECT_NE(0, kill(atoi(pid), 0));
	free(pid);
	free(pidf);
	run_free(&r);
}

TEST_F(vm, run_qemu_that_cannot_start_is_128)
{
	struct run r;

	ASSERT_EQ(0, fake_qemu(&self->p,
		"echo \"qemu: -device nosuch: not a valid device\" >&2; exit 1"));
	ASSERT_EQ(0, VM_RUN(&r, "--qemu", self->p.qemu, "--accel", "tcg"));
	EXPECT_EQ(128, r.status);
	EXPECT_TRUE(strstr(r.err, "qemu: -device nosuch: not a valid device") !=
		    NULL);
	EXPECT_TRUE(strstr(r.err, "failed to start the VM") != NULL) {
		TH_LOG("stderr: %s", r.err);
	}
	run_free(&r);

	ASSERT_EQ(0, VM_RUN(&r, "--qemu", "/nonexistent/qemu", "--accel",
			    "tcg"));
	EXPECT_EQ(128, r.status);
	EXPECT_TRUE(strstr(r.err, "cannot execute QEMU '/nonexistent/qemu'") !=
		    NULL);
	run_free(&r);
}

TEST_F(vm, run_qemu_crash_after_boot_is_a_fail)
{
	struct run r;

	ASSERT_EQ(0, fake_qemu(&self->p,
			       "con 'rapido-init: started'; kill -ABRT $$"));
	ASSERT_EQ(0, VM_RUN(&r, "--qemu", self->p.qemu, "--accel", "tcg",
			    "--quiet"));
	EXPECT_EQ(1, r.status);
	EXPECT_TRUE(OUT_HAS("also: qemu was killed by signal 6") ||
		    OUT_HAS("FAIL: qemu was killed by signal 6")) {
		TH_LOG("stdout: %s", r.out);
	}
	run_free(&r);
}

TEST_F(vm, sigterm_kills_qemu_and_exits_143)
{
	char *pidf = strf("%s.pid", self->p.qemu), *pid = NULL;
	int st;
	pid_t p;

	ASSERT_EQ(0, fake_qemu(&self->p, "con 'booting'; exec sleep 60"));
	p = fork();
	ASSERT_LE(0, p);
	if (!p) {
		int nul = open("/dev/null", O_RDWR);

		dup2(nul, 1);
		dup2(nul, 2);
		execl(self->p.bin, self->p.bin, "--kernel", self->p.kernel,
		      "--initrd", self->p.initrd, "--dir", self->p.dir, "--qemu",
		      self->p.qemu, "--accel", "tcg", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100 && (!pid || !*pid); i++) {
		usleep(50000);
		free(pid);
		pid = read_text(pidf);
	}
	ASSERT_NE(NULL, pid);
	ASSERT_LT(0, atoi(pid));
	usleep(100000);
	kill(p, SIGTERM);
	ASSERT_EQ(p, waitpid(p, &st, 0));
	EXPECT_TRUE(WIFEXITED(st));
	EXPECT_EQ(128 + SIGTERM, WEXITSTATUS(st));
	EXPECT_NE(0, kill(atoi(pid), 0));
	free(pid);
	free(pidf);
}

TEST_F(vm, kvm_probe_falls_back_to_tcg_and_caches)
{
	char *cache = strf("%s/accel", self->p.dir), *want;
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	struct run r;

	if (fd < 0)
		SKIP(return, "/dev/kvm cannot be opened: no probe");
	close(fd);
	/* a KVM that never shows a console byte, a TCG that works */
	ASSERT_EQ(0, fake_qemu(&self->p, "[ \"$kvm\" ] && exec sleep 60\n"
			       "con 'tcg boot'; st 'result 0'"));
	ASSERT_EQ(0, VM_RUN(&r, "--qemu", self->p.qemu, "--quiet"));
	EXPECT_EQ(0, r.status);
	want = strf("rapido-vm: KVM did not start the guest (no console output in 3 s); using TCG (cached in %s)\n",
		    cache);
	EXPECT_STREQ(want, r.err);
	free(want);
	want = strf(" tcg %s\n", self->p.qemu);
	EXPECT_FILE_HAS(cache, want);
	free(want);
	run_free(&r);

	/* the cached verdict: no probe, no message, no 3 s */
	ASSERT_EQ(0, VM_RUN(&r, "--qemu", self->p.qemu, "--quiet"));
	EXPECT_EQ(0, r.status);
	EXPECT_STREQ("", r.err);
	EXPECT_GT(2.5, r.secs);
	run_free(&r);

	/* a KVM that boots is cached as such */
	ASSERT_EQ(0, unlink(cache));
	ASSERT_EQ(0, fake_qemu(&self->p, "[ \"$kvm\" ] || exit 3\n"
			       "con 'kvm boot'; st 'result 0'"));
	ASSERT_EQ(0, VM_RUN(&r, "--qemu", self->p.qemu, "--quiet"));
	EXPECT_EQ(0, r.status);
	EXPECT_STREQ("", r.err);
	want = strf(" kvm %s\n", self->p.qemu);
	EXPECT_FILE_HAS(cache, want);
	free(want);
	run_free(&r);
	free(cache);
}

/* ---- recorded consoles (tools/testing/rapido/consoles) ---- */

/*
 * Each console log judged with a clean status ("autorun 0", "result 0"):
 * only the kernel's own reports may fail it. @reason: the verdict's reason
 * (NULL: a pass).
 */
static const struct {
	const char *log;
	const char *reason;
} consoles[] = {
	{ "6.1-clean.log", NULL },
	{ "user-space.log", NULL },
	{ "6.1-sysrq-panic.log", "kernel: Kernel panic - not syncing: sysrq triggered crash" },
	{ "6.1-lkdtm-warning.log", "kernel: WARNING: CPU: 0 PID: 34 at drivers/misc/lkdtm/bugs.c:85 lkdtm_WARNING+0x8/0xb [lkdtm]" },
	{ "6.1-lkdtm-bug.log", "kernel: kernel BUG at drivers/misc/lkdtm/bugs.c:78!" },
	{ "6.1-lkdtm-exception.log", "kernel: BUG: kernel NULL pointer dereference, address: 0000000000000000" },
	{ "gpf-6.12.log", "kernel: Oops: general protection fault, probably for non-canonical address 0xdffffc0000000001: 0000 [#1] PREEMPT SMP KASAN NOPTI" },
	{ "gpf-6.1.log", "kernel: general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] PREEMPT SMP NOPTI" },
	{ "hung-task.log", "kernel: INFO: task kworker/u4:1:45 blocked for more than 122 seconds." },
	{ "soft-lockup.log", "kernel: watchdog: BUG: soft lockup - CPU#0 stuck for 26s! [sh:72]" },
	{ "rcu-stall.log", "kernel: rcu: INFO: rcu_preempt self-detected stall on CPU" },
	{ "kasan.log", "kernel: BUG: KASAN: slab-out-of-bounds in lkdtm_SLAB_LINEAR_OVERFLOW+0x5c/0x80 [lkdtm]" },
	{ "ubsan.log", "kernel: UBSAN: array-index-out-of-bounds in drivers/misc/lkdtm/bugs.c:328:16" },
	{ "lockdep.log", "kernel: WARNING: possible circular locking dependency detected" },
};

TEST_F(vm, check_recorded_consoles)
{
	const char *src = getenv("RAPIDO_SRC");

	if (!src || !*src)
		SKIP(return, "RAPIDO_SRC is not set");
	for (size_t i = 0; i < ARRAY_SIZE(consoles); i++) {
		char *path = strf("%s/tools/testing/rapido/consoles/%s", src,
				  consoles[i].log);
		char *log = read_text(path), *want;
		struct run r;

		ASSERT_NE(NULL, log) TH_LOG("%s: %s", path, strerror(errno));
		ASSERT_EQ(0, judge_files(&self->p, &r, log,
					 "autorun 0\nresult 0\n"));
		if (consoles[i].reason)
			want = strf("rapido-vm: FAIL: %s (console: ",
				    consoles[i].reason);
		else
			want = strf("rapido-vm: PASS (vm1)");
		EXPECT_EQ(consoles[i].reason ? 1 : 0, r.status)
			TH_LOG("%s", consoles[i].log);
		EXPECT_TRUE(OUT_HAS(want)) {
			TH_LOG("%s: want '%s' in:\n%s", consoles[i].log, want,
			       r.out);
		}
		run_free(&r);
		free(want);
		free(log);
		free(path);
	}
}

/* A loose marker ("BUG: <text>") is a report only with a stack dump. */
TEST_F(vm, check_loose_marker_needs_a_stack_dump)
{
	static const char log[] =
		"rapido-init: started\n"
		STAMP "BUG: Bad thing in the frobnicator\n"
		STAMP "CPU: 0 PID: 1 Comm: init Not tainted 6.1.0 #1\n"
		STAMP "Call Trace:\n";
	struct run r;

	ASSERT_EQ(0, judge_files(&self->p, &r, log, "result 0\n"));
	EXPECT_EQ(1, r.status) run_dump(&r);
	EXPECT_TRUE(OUT_HAS("FAIL: kernel: BUG: Bad thing in the frobnicator"));
	run_free(&r);
}

/* ---- the allow-list (--allow-warn-from FILE) ---- */

/*
 * Judge @console (status: a pass) with @allow as the allow-list file
 * (NULL: none written, a missing file given).
 */
static int judge_allowing(struct vm_paths *p, struct run *r,
			  const char *console, const char *allow)
{
	char *vmdir = strf("%s/vm1", p->tmp);
	char *file = strf("%s/allow-warn", p->tmp);
	struct run first;
	int ret = judge_files(p, &first, console, "autorun 0\nresult 0\n");

	run_free(&first);
	unlink(file);
	if (!ret && allow)
		ret = write_file(file, 0644, allow);
	if (!ret)
		ret = vm_run(p, r, 1, ARGS("--allow-warn-from", file,
					   "--check", vmdir));
	free(vmdir);
	free(file);
	return ret;
}

/* two WARNs: lkdtm's (console line 4) and ext4's (line 8) */
static const char two_warns[] =
	STAMP "Run /init as init process\n"
	"rapido-init: started\n"
	STAMP "------------[ cut here ]------------\n"
	STAMP "WARNING: CPU: 0 PID: 34 at drivers/misc/lkdtm/bugs.c:85 lkdtm_WARNING+0x8/0xb [lkdtm]\n"
	STAMP "RIP: 0010:lkdtm_WARNING+0x8/0xb [lkdtm]\n"
	STAMP "---[ end trace 0000000000000000 ]---\n"
	STAMP "------------[ cut here ]------------\n"
	STAMP "WARNING: CPU: 0 PID: 34 at fs/ext4/inode.c:12 ext4_frob+0x1/0x2\n"
	STAMP "RIP: 0010:ext4_frob+0x1/0x2\n"
	STAMP "---[ end trace 0000000000000000 ]---\n";

TEST_F(vm, check_allow_list_allows_what_it_matches)
{
	char *allow = strf("%s/allow-warn", self->p.tmp), *want;
	struct run r;

	/* lkdtm's allowed, ext4's not: a fail, both named, where they are */
	ASSERT_EQ(0, judge_allowing(&self->p, &r, two_warns,
				    "# comment\n\n^WARNING: .* lkdtm_WARNING\\+\n"));
	EXPECT_EQ(1, r.status) run_dump(&r);
	want = strf("kernel failure report 1, %s/vm1/console.log line 3 (allowed by '^WARNING: .* lkdtm_WARNING\\+', %s:3):\n",
		    self->p.tmp, allow);
	EXPECT_TRUE(OUT_HAS(want)) TH_LOG("want '%s' in: %s", want, r.out);
	free(want);
	want = strf("kernel failure report 2, %s/vm1/console.log line 7:\n",
		    self->p.tmp);
	EXPECT_TRUE(OUT_HAS(want)) TH_LOG("want '%s' in: %s", want, r.out);
	free(want);
	EXPECT_TRUE(OUT_HAS("rapido-vm: FAIL: kernel: WARNING: CPU: 0 PID: 34 at fs/ext4/inode.c:12"))
		TH_LOG("stdout: %s", r.out);
	want = strf("rapido-vm: 1 kernel failure report(s) allowed (%s), the first: WARNING: CPU: 0 PID: 34 at drivers/misc/lkdtm/bugs.c:85",
		    allow);
	EXPECT_TRUE(OUT_HAS(want)) TH_LOG("want '%s' in: %s", want, r.out);
	free(want);
	run_free(&r);

	/* both allowed (two patterns): a pass, both still named */
	ASSERT_EQ(0, judge_allowing(&self->p, &r, two_warns,
				    "lkdtm_WARNING\n at fs/ext4/\n"));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_TRUE(OUT_HAS("line 3 (allowed by 'lkdtm_WARNING', "))
		TH_LOG("stdout: %s", r.out);
	EXPECT_TRUE(OUT_HAS("line 7 (allowed by 'at fs/ext4/', "))
		TH_LOG("stdout: %s", r.out);
	EXPECT_TRUE(OUT_HAS("rapido-vm: 2 kernel failure report(s) allowed ("))
		TH_LOG("stdout: %s", r.out);
	EXPECT_TRUE(OUT_LINE("rapido-vm: PASS (vm1)")) TH_LOG("stdout: %s", r.out);
	run_free(&r);

	/* a pattern matching neither: the first WARN is the reason */
	ASSERT_EQ(0, judge_allowing(&self->p, &r, two_warns, "^BUG: KASAN\n"));
	EXPECT_EQ(1, r.status) run_dump(&r);
	EXPECT_TRUE(OUT_HAS("rapido-vm: FAIL: kernel: WARNING: CPU: 0 PID: 34 at drivers/misc/lkdtm/bugs.c:85"))
		TH_LOG("stdout: %s", r.out);
	EXPECT_FALSE(OUT_HAS("allowed")) TH_LOG("stdout: %s", r.out);
	run_free(&r);

	/* the recorded lkdtm WARN of a real 6.1 boot, its marker on line 138 */
	{
		const char *src = getenv("RAPIDO_SRC");
		char *path, *log;

		if (!src || !*src)
			SKIP(goto out, "RAPIDO_SRC is not set");
		path = strf("%s/tools/testing/rapido/consoles/6.1-lkdtm-warning.log",
			    src);
		log = read_text(path);
		ASSERT_NE(NULL, log) TH_LOG("%s: %s", path, strerror(errno));
		ASSERT_EQ(0, judge_allowing(&self->p, &r, log,
					    "^WARNING: CPU: [0-9]+ PID: [0-9]+ at drivers/misc/lkdtm/\n"));
		EXPECT_EQ(0, r.status) run_dump(&r);
		EXPECT_TRUE(OUT_HAS("console.log line 137 (allowed by '^WARNING: CPU: "))
			TH_LOG("stdout: %s", r.out);
		run_free(&r);
		free(log);
		free(path);
	}
out:
	free(allow);
}

TEST_F(vm, check_allow_list_bad_or_missing_is_128)
{
	char *want = strf("rapido-vm: '%s/allow-warn:2': bad pattern 'lkdtm_(WARNING': ",
			  self->p.tmp);
	struct run r;

	ASSERT_EQ(0, judge_allowing(&self->p, &r, two_warns,
				    "lkdtm\nlkdtm_(WARNING\n"));
	EXPECT_EQ(128, r.status) run_dump(&r);
	EXPECT_TRUE(strstr(r.err, want) != NULL) run_dump(&r);
	run_free(&r);
	free(want);
	want = strf("rapido-vm: cannot read the allow-list '%s/allow-warn': ",
		    self->p.tmp);
	ASSERT_EQ(0, judge_allowing(&self->p, &r, two_warns, NULL));
	EXPECT_EQ(128, r.status) run_dump(&r);
	EXPECT_TRUE(strstr(r.err, want) != NULL) run_dump(&r);
	run_free(&r);
	free(want);
}

/* ---- the console stream: log limit, full disk, power-off ---- */

/* A shell loop printing @n console lines "flood <i>". */
static char *flood_script(int n)
{
	return strf("i=0; while [ $i -lt %d ]; do con \"[    1.000000] flood $i, a line to fill the console log\"; i=$((i+1)); done",
		    n);
}

TEST_F(vm, run_log_is_capped_but_judged_whole)
{
	char *log = strf("%s/vm1/console.log", self->p.dir), *text;
	char *f1 = flood_script(1500), *f2 = flood_script(1500), *body;
	struct stat st;
	struct run r;

	body = strf("con 'rapido-init: started'; st 'autorun 0'; st 'result 0'\n"
		    "%s\n"
		    "con '[    1.500000] WARNING: CPU: 0 PID: 1 at lost/in/the/middle.c:1 f+0x1/0x2'\n"
		    "con '[    1.500001] Call Trace:'\n"
		    "%s\ncon 'the last line'\n", f1, f2);
	ASSERT_EQ(0, fake_qemu(&self->p, body));
	ASSERT_EQ(0, VM_RUN(&r, "--qemu", self->p.qemu, "--accel", "tcg",
			    "--quiet", "--log-limit", "64K"));
	EXPECT_EQ(1, r.status) run_dump(&r);
	EXPECT_TRUE(OUT_HAS("FAIL: kernel: WARNING: CPU: 0 PID: 1 at lost/in/the/middle.c:1")) run_dump(&r);
	ASSERT_EQ(0, stat(log, &st));
	EXPECT_GT(64 * 1024 + 512, st.st_size);
	text = read_text(log);
	ASSERT_NE(NULL, text);
	EXPECT_TRUE(strstr(text, "rapido-init: started\n") == text);
	EXPECT_TRUE(strstr(text, "bytes of console output dropped here") != NULL);
	EXPECT_TRUE(strstr(text, "flood 1499, a line") != NULL);
	EXPECT_TRUE(strstr(text, "\nthe last line\n") != NULL);
	EXPECT_EQ(NULL, strstr(text, "lost/in/the/middle.c"));
	free(text);
	run_free(&r);

	/* --log-limit 0: all of it */
	ASSERT_EQ(0, VM_RUN(&r, "--qemu", self->p.qemu, "--accel", "tcg",
			    "--quiet", "--log-limit", "0"));
	EXPECT_EQ(1, r.status);
	text = read_text(log);
	ASSERT_NE(NULL, text);
	EXPECT_TRUE(strstr(text, "lost/in/the/middle.c") != NULL);
	EXPECT_EQ(NULL, strstr(text, "dropped here"));
	free(text);
	run_free(&r);
	free(body);
	free(f1);
	free(f2);
	free(log);
}

/*
 * DIR on a full filesystem: the console log cannot be written; a WARN
 * printed after that point must not turn into a pass.
 */
TEST_F(vm, run_full_disk_is_128_not_a_pass)
{
	char *f = flood_script(3000), *body;
	char *const argv[] = {
		"unshare", "-m", "--propagation", "private", "sh", "-c",
		"d=$1; shift; mkdir -p \"$d\" && mount -t tmpfs -o size=64k rapido-full \"$d\" && exec \"$@\"",
		"sh", self->p.dir, self->p.bin, "--kernel", self->p.kernel,
		"--initrd", self->p.initrd, "--dir", self->p.dir, "--qemu",
		self->p.qemu, "--accel", "tcg", "--quiet", NULL };
	struct run r;

	if (geteuid())
		SKIP(return, "mounting a tmpfs needs root");
	body = strf("st 'autorun 0'; st 'result 0'; con 'rapido-init: started'\n%s\n"
		    "con '[    2.000000] WARNING: CPU: 0 PID: 1 at after/the/disk/filled.c:1 f+0x1/0x2'\n"
		    "con '[    2.000001] Call Trace:'\n", f);
	ASSERT_EQ(0, fake_qemu(&self->p, body));
	ASSERT_EQ(0, run(&r, argv));
	EXPECT_EQ(128, r.status) run_dump(&r);
	EXPECT_TRUE(strstr(r.err, "cannot write the console log '") != NULL &&
		    strstr(r.err, "console.log': No space left on device") != NULL)
		run_dump(&r);
	EXPECT_FALSE(OUT_HAS("PASS")) run_dump(&r);
	run_free(&r);
	free(body);
	free(f);
}

TEST_F(vm, run_poweroff_ends_qemu_at_once)
{
	char *pidf = strf("%s.pid", self->p.qemu), *pid;
	struct run r;

	/* user space printing the same words does not stop it */
	ASSERT_EQ(0, fake_qemu(&self->p,
		"con 'rapido-init: started'; con 'reboot: Power down'\n"
		"st 'autorun 0'; st 'result 0'"));
	ASSERT_EQ(0, VM_RUN(&r, "--qemu", self->p.qemu, "--accel", "tcg",
			    "--quiet"));
	EXPECT_EQ(0, r.status) run_dump(&r);
	run_free(&r);

	ASSERT_EQ(0, fake_qemu(&self->p,
		"con 'rapido-init: started'\n"
		"con '[    1.100000] sysrq: Power Off'\n"
		"con '[    1.200000] reboot: Power down'; exec sleep 60"));
	ASSERT_EQ(0, VM_RUN(&r, "--qemu", self->p.qemu, "--accel", "tcg",
			    "--quiet", "--timeout", "60"));
	EXPECT_EQ(1, r.status) run_dump(&r);
	EXPECT_TRUE(OUT_HAS("FAIL: the guest powered off before reporting a result ('reboot: Power down')"))
		run_dump(&r);
	EXPECT_GT(5.0, r.secs) run_dump(&r);
	pid = read_text(pidf);
	ASSERT_NE(NULL, pid);
	EXPECT_NE(0, kill(atoi(pid), 0));
	free(pid);
	run_free(&r);

	/* halt, the same */
	ASSERT_EQ(0, fake_qemu(&self->p,
		"con 'rapido-init: started'; st 'autorun 0'; st 'result 0'\n"
		"con '[    1.200000] reboot: System halted'; exec sleep 60"));
	ASSERT_EQ(0, VM_RUN(&r, "--qemu", self->p.qemu, "--accel", "tcg",
			    "--quiet", "--timeout", "60"));
	/* after the result: the run's verdict stands */
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_GT(5.0, r.secs) run_dump(&r);
	run_free(&r);
	free(pidf);
}

/* A guest that never got to user space is rapido's or the host's failure. */
TEST_F(vm, run_guest_without_init_is_128)
{
	struct run r;

	ASSERT_EQ(0, fake_qemu(&self->p, "exec sleep 60"));
	ASSERT_EQ(0, VM_RUN(&r, "--qemu", self->p.qemu, "--accel", "kvm",
			    "--quiet", "--timeout", "1"));
	EXPECT_EQ(128, r.status) run_dump(&r);
	EXPECT_TRUE(strstr(r.err, "the guest printed nothing on the console: the kernel did not start (kvm, --mem 512 MiB)")
		    != NULL) run_dump(&r);
	run_free(&r);

	ASSERT_EQ(0, fake_qemu(&self->p,
		"con '[    0.000000] Linux version 6.1.0'\n"
		"con '[    0.100000] Initramfs unpacking failed: write error'\n"
		"exec sleep 60"));
	ASSERT_EQ(0, VM_RUN(&r, "--qemu", self->p.qemu, "--accel", "tcg",
			    "--quiet", "--timeout", "1"));
	EXPECT_EQ(128, r.status) run_dump(&r);
	EXPECT_TRUE(strstr(r.err, "the guest never started rapido-init") !=
		    NULL) run_dump(&r);
	run_free(&r);

	/* a kernel that panics before init is the kernel's failure */
	ASSERT_EQ(0, fake_qemu(&self->p,
		"con '[    0.100000] Kernel panic - not syncing: VFS: Unable to mount root fs'"));
	ASSERT_EQ(0, VM_RUN(&r, "--qemu", self->p.qemu, "--accel", "tcg",
			    "--quiet", "--timeout", "5"));
	EXPECT_EQ(1, r.status) run_dump(&r);
	run_free(&r);
}

TEST_F(vm, run_boot_mode_without_a_terminal_is_test_mode)
{
	char *argvf = strf("%s.argv", self->p.qemu), *text;
	struct run r;

	ASSERT_EQ(0, fake_qemu(&self->p, fake_pass));
	/* run() gives rapido-vm /dev/null as stdin */
	ASSERT_EQ(0, VM_RUN(&r, "--qemu", self->p.qemu, "--accel", "tcg",
			    "--mode", "boot"));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_TRUE(strstr(r.err, "stdin is not a terminal") != NULL)
		run_dump(&r);
	text = read_text(argvf);
	ASSERT_NE(NULL, text);
	EXPECT_TRUE(strstr(text, " rapido.mode=test ") != NULL) TH_LOG("%s", text);
	EXPECT_EQ(NULL, strstr(text, "-mon\n"));
	free(text);
	run_free(&r);
	free(argvf);
}

/* ---- never through a symlink under DIR ---- */

TEST_F(vm, run_symlinked_vm_dir_is_refused)
{
	char *other = strf("%s/other", self->p.tmp);
	char *keep = strf("%s/keep.txt", other);
	char *vm1 = strf("%s/vm1", self->p.dir);
	char *sub = strf("%s/sub", vm1), *log = strf("%s/console.log", vm1);
	struct run r;

	ASSERT_EQ(0, fake_qemu(&self->p, fake_pass));
	ASSERT_EQ(0, mkdir(other, 0755));
	ASSERT_EQ(0, write_file(keep, 0644, "precious\n"));
	ASSERT_EQ(0, mkdir(self->p.dir, 0755));
	ASSERT_EQ(0, symlink(other, vm1));
	ASSERT_EQ(0, VM_RUN(&r, "--qemu", self->p.qemu, "--accel", "tcg",
			    "--vm", "1", "--quiet"));
	EXPECT_EQ(128, r.status) run_dump(&r);
	EXPECT_TRUE(strstr(r.err, "vm1': a symbolic link, not the directory rapido made") !=
		    NULL) run_dump(&r);
	EXPECT_EQ(0, access(keep, F_OK));
	run_free(&r);

	/* a directory rapido did not make inside: nothing is removed */
	ASSERT_EQ(0, unlink(vm1));
	ASSERT_EQ(0, mkdir(vm1, 0755));
	ASSERT_EQ(0, mkdir(sub, 0755));
	ASSERT_EQ(0, write_file(log, 0644, "old\n"));
	ASSERT_EQ(0, VM_RUN(&r, "--qemu", self->p.qemu, "--accel", "tcg",
			    "--vm", "1", "--quiet"));
	EXPECT_EQ(128, r.status) run_dump(&r);
	EXPECT_TRUE(strstr(r.err, "sub': a directory, not a file of rapido's") !=
		    NULL) run_dump(&r);
	EXPECT_EQ(0, access(log, F_OK));
	run_free(&r);

	/* once it is gone, the run cleans and passes */
	ASSERT_EQ(0, rmdir(sub));
	ASSERT_EQ(0, VM_RUN(&r, "--qemu", self->p.qemu, "--accel", "tcg",
			    "--vm", "1", "--quiet"));
	EXPECT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	free(log);
	free(sub);
	free(vm1);
	free(keep);
	free(other);
}

/* ---- dying with the parent ---- */

TEST_F(vm, run_dies_with_its_parent)
{
	char *pidf = strf("%s.pid", self->p.qemu), *qpid = NULL;
	pid_t parent, vm = 0;
	int pfd[2];

	ASSERT_EQ(0, fake_qemu(&self->p,
			       "con 'rapido-init: started'; exec sleep 60"));
	ASSERT_EQ(0, pipe(pfd));
	/* the driver: starts rapido-vm, tells us its pid, waits */
	parent = fork();
	ASSERT_LE(0, parent);
	if (!parent) {
		char *const argv[] = { self->p.bin, "--kernel",
				       self->p.kernel, "--initrd",
				       self->p.initrd, "--dir", self->p.dir,
				       "--qemu", self->p.qemu, "--accel",
				       "tcg", NULL };
		pid_t child = spawn_bg(argv, NULL, 0);

		if (write(pfd[1], &child, sizeof(child)) != sizeof(child))
			_exit(1);
		for (;;)
			pause();
	}
	close(pfd[1]);
	ASSERT_EQ((ssize_t)sizeof(vm), read(pfd[0], &vm, sizeof(vm)));
	close(pfd[0]);
	for (int i = 0; i < 100 && (!qpid || !*qpid); i++) {
		usleep(50000);
		free(qpid);
		qpid = read_text(pidf);
	}
	ASSERT_NE(NULL, qpid);
	ASSERT_LT(0, atoi(qpid));
	usleep(200000);
	ASSERT_EQ(0, kill(parent, SIGKILL));
	ASSERT_EQ(parent, waitpid(parent, NULL, 0));
	for (int i = 0; i < 40 && !(pid_gone(atoi(qpid)) && pid_gone(vm)); i++)
		usleep(50000);
	EXPECT_TRUE(pid_gone(atoi(qpid))) TH_LOG("QEMU %s outlived the driver", qpid);
	EXPECT_TRUE(pid_gone(vm)) TH_LOG("rapido-vm %d outlived the driver", vm);
	if (!pid_gone(vm))
		kill(vm, SIGKILL);
	if (!pid_gone(atoi(qpid)))
		kill(atoi(qpid), SIGKILL);
	free(qpid);
	free(pidf);
}

/* ---- several VMs in one run (--vms) ---- */

/*
 * A fake QEMU for two VMs: vm<N> (from rapido.vm=N on its -append) runs
 * @vm2 if it is vm2, else the passing boot.
 */
static int fake_qemu_vms(struct vm_paths *p, const char *vm2)
{
	char *body = strf("case \"$*\" in\n"
			  "*' rapido.vm=2 '*) %s ;;\n"
			  "*) %s ;;\n"
			  "esac", vm2, fake_pass);
	int ret = fake_qemu(p, body);

	free(body);
	return ret;
}

TEST_F(vm, vms_two_pass_side_by_side)
{
	char *tap = strf("%s/r.tap", self->p.tmp), *text, *want;
	char *lock = strf("%s/vm1.lock", self->p.dir);
	struct run r;
	int fd;

	/* vm1 is taken by another run: the two take vm2 and vm3 */
	fd = hold_lock(&self->p, lock);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fake_qemu(&self->p, fake_pass));
	ASSERT_EQ(0, VM_RUN(&r, "--qemu", self->p.qemu, "--accel", "tcg",
			    "--vms", "2", "--results", tap));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_TRUE(OUT_HAS("rapido-vm: PASS (vm2, ")) run_dump(&r);
	EXPECT_TRUE(OUT_HAS("rapido-vm: PASS (vm3, ")) run_dump(&r);
	EXPECT_TRUE(OUT_LINE("rapido-vm: PASS: all 2 VMs passed"));
	/* each VM's console on the terminal, its lines named */
	EXPECT_TRUE(OUT_LINE("vm3| rapido-init: started")) run_dump(&r);
	for (int n = 2; n <= 3; n++) {
		char *log = strf("%s/vm%d/console.log", self->p.dir, n);

		text = read_text(log);
		ASSERT_NE(NULL, text);
		EXPECT_TRUE(has_line(text, "rapido-init: started"));
		free(text);
		free(log);
	}
	text = read_text(tap);
	ASSERT_NE(NULL, text);
	want = strf("TAP version 13\nok 1 - vm2\nok 2 - vm3\n1..2\n# vm2: %s/vm2/result.tap\n",
		    self->p.dir);
	EXPECT_EQ(0, strncmp(want, text, strlen(want))) TH_LOG("%s", text);
	free(want);
	free(text);
	run_free(&r);

	/* --vm N: N and the ones after it, or nothing */
	ASSERT_EQ(0, VM_RUN(&r, "--accel", "tcg", "--vm", "1", "--vms", "2",
			    "--print-argv"));
	EXPECT_EQ(128, r.status);
	EXPECT_TRUE(strstr(r.err, "vm1.lock") != NULL) run_dump(&r);
	run_free(&r);
	close(fd);
	free(lock);
	free(tap);
}

TEST_F(vm, vms_a_failing_vm2_is_named)
{
	char *tap = strf("%s/r.tap", self->p.tmp), *text, *want;
	struct run r;

	ASSERT_EQ(0, fake_qemu_vms(&self->p,
		"con 'rapido-init: started'; con '[    1.000000] Kernel panic - not syncing: vm2 broke'; st 'result 0'"));
	ASSERT_EQ(0, VM_RUN(&r, "--qemu", self->p.qemu, "--accel", "tcg",
			    "--vms", "2", "--quiet", "--results", tap));
	EXPECT_EQ(1, r.status) run_dump(&r);
	EXPECT_TRUE(OUT_HAS("rapido-vm: PASS (vm1, ")) run_dump(&r);
	want = strf("rapido-vm: FAIL: vm2: kernel: Kernel panic - not syncing: vm2 broke (console: %s/vm2/console.log)",
		    self->p.dir);
	EXPECT_TRUE(OUT_LINE(want)) run_dump(&r);
	free(want);
	want = strf("rapido-vm: FAIL: 1 of 2 VMs failed: vm2 (%s/vm2/console.log)",
		    self->p.dir);
	EXPECT_TRUE(OUT_LINE(want)) run_dump(&r);
	free(want);
	EXPECT_FALSE(OUT_HAS("FAIL: vm1"));
	text = read_text(tap);
	ASSERT_NE(NULL, text);
	EXPECT_TRUE(has_line(text, "ok 1 - vm1")) TH_LOG("%s", text);
	EXPECT_TRUE(has_line(text, "not ok 2 - vm2 # kernel: Kernel panic - not syncing: vm2 broke"))
		TH_LOG("%s", text);
	free(text);
	run_free(&r);

	/* a vm2 that never got to user space: rapido's 128 wins */
	ASSERT_EQ(0, fake_qemu_vms(&self->p, "con '[    0.100000] Linux'"));
	ASSERT_EQ(0, VM_RUN(&r, "--qemu", self->p.qemu, "--accel", "tcg",
			    "--vms", "2", "--quiet"));
	EXPECT_EQ(128, r.status) run_dump(&r);
	EXPECT_TRUE(strstr(r.err, "rapido-vm: vm2: the guest never started rapido-init") != NULL)
		run_dump(&r);
	EXPECT_TRUE(OUT_HAS("FAIL: 1 of 2 VMs failed: vm2 (")) run_dump(&r);
	run_free(&r);
	free(tap);
}

/*
 * Two VMs' consoles on one terminal: each line whole after its "vm<N>| ",
 * even when a VM writes half a line and the other a whole one meanwhile;
 * a last line without its newline is shown at the end.
 */
TEST_F(vm, vms_lines_never_mix)
{
	const char *body =
		"con 'rapido-init: started'\n"
		"case \"$*\" in\n"
		"*' rapido.vm=2 '*) printf 'half '; sleep 0.6; echo 'of a line' ;;\n"
		"*) sleep 0.2; echo 'a whole line' ;;\n"
		"esac\n"
		"st 'autorun 0'; st 'result 0'; printf 'no newline'";
	struct run r;

	ASSERT_EQ(0, fake_qemu(&self->p, body));
	ASSERT_EQ(0, VM_RUN(&r, "--qemu", self->p.qemu, "--accel", "tcg",
			    "--vms", "2"));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_TRUE(OUT_LINE("vm2| half of a line")) run_dump(&r);
	EXPECT_TRUE(OUT_LINE("vm1| a whole line")) run_dump(&r);
	EXPECT_TRUE(OUT_LINE("vm1| no newline")) run_dump(&r);
	EXPECT_TRUE(OUT_LINE("vm2| no newline")) run_dump(&r);
	run_free(&r);
}

/* ${VM} and ${MAC} per VM; a NIC only where one is asked for */
TEST_F(vm, vms_qemu_file_variables_per_vm)
{
	struct run r;
	char *want;

	ASSERT_EQ(0, VM_RUN(&r, "--accel", "tcg", "--vms", "2", "--print-argv",
			    "--", "-device",
			    "virtio-net-${VIRTIO},mac=${MAC},id=n${VM}",
			    "-drive", "file=${VMDIR}/d${VM}.img"));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_TRUE(OUT_LINE("# vm1"));
	EXPECT_TRUE(OUT_LINE("# vm2"));
	EXPECT_TRUE(OUT_LINE("virtio-net-device,mac=52:54:00:72:61:01,id=n1"));
	EXPECT_TRUE(OUT_LINE("virtio-net-device,mac=52:54:00:72:61:02,id=n2"));
	want = strf("file=%s/vm2/d2.img", self->p.dir);
	EXPECT_TRUE(OUT_LINE(want)) TH_LOG("%s", r.out);
	free(want);
	EXPECT_FALSE(OUT_LINE("-netdev"));
	EXPECT_TRUE(OUT_LINE("-nodefaults"));
	run_free(&r);

	/* one tap cannot serve two VMs */
	ASSERT_EQ(0, VM_RUN(&r, "--accel", "tcg", "--vms", "2", "--print-argv",
			    "--nic", "tap=t0,mac=52:54:00:00:00:01"));
	EXPECT_EQ(128, r.status);
	EXPECT_TRUE(strstr(r.err, "one tap cannot serve 2 VMs: use --lab") !=
		    NULL) run_dump(&r);
	run_free(&r);
}

/* --mode boot --vms 2: vm1's console is the terminal, vm2's is not */
TEST_F(vm, vms_boot_mode_gives_vm1_the_terminal)
{
	char *argv, *vm2;
	struct run r;

	ASSERT_EQ(0, VM_RUN(&r, "--accel", "tcg", "--vms", "2", "--mode",
			    "boot", "--print-argv"));
	EXPECT_EQ(0, r.status) run_dump(&r);
	argv = r.out;
	vm2 = strstr(argv, "\n# vm2\n");
	ASSERT_NE(NULL, vm2) run_dump(&r);
	*vm2 = '\0';
	EXPECT_TRUE(has_line(argv, "stdio,mux=on,signal=off,id=con"));
	EXPECT_TRUE(has_line(argv, "-mon"));
	EXPECT_TRUE(has_line(vm2 + 1, "stdio,id=con")) TH_LOG("%s", vm2 + 1);
	EXPECT_FALSE(has_line(vm2 + 1, "-mon"));
	/* both guests give a shell after autorun */
	EXPECT_TRUE(strstr(vm2 + 1, " rapido.mode=boot ") != NULL);
	run_free(&r);
}

/* Read @fd into @buf (of @size) until it holds @text: 10 s at most. */
static int read_until(int fd, char *buf, size_t size, const char *text)
{
	size_t have = strlen(buf);

	for (int i = 0; i < 200 && !strstr(buf, text); i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 50) <= 0)
			continue;
		n = read(fd, buf + have, size - 1 - have);
		if (n <= 0)
			break;
		have += n;
		buf[have] = '\0';
	}
	return strstr(buf, text) != NULL;
}

/*
 * --mode boot --vms 2 on a terminal: vm2's console is reached through
 * DIR/vm2/console.sock (what --attach connects to), both ways; the run
 * ends with vm1, vm2 stopped with it.
 */
TEST_F(vm, vms_boot_mode_vm2_console_through_its_socket)
{
	char *done = strf("%s/done", self->p.tmp);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char *body, term[8192] = "", con[4096] = "";
	int pty, fd = -1, st;
	pid_t pid;

	body = strf("case \"$*\" in\n"
		    "*' rapido.vm=2 '*) con 'rapido-init: started'; st 'result 0'; read l; con \"vm2 got: $l\"; exec sleep 60 ;;\n"
		    "*) con 'rapido-init: started'; st 'result 0'; while [ ! -f %s ]; do sleep 0.05; done ;;\n"
		    "esac", done);
	ASSERT_EQ(0, fake_qemu(&self->p, body));
	free(body);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/vm2/console.sock",
		 self->p.dir);
	pid = forkpty(&pty, NULL, NULL, NULL);
	ASSERT_LE(0, pid);
	if (!pid) {
		execl(self->p.bin, self->p.bin, "--kernel", self->p.kernel,
		      "--initrd", self->p.initrd, "--dir", self->p.dir,
		      "--qemu", self->p.qemu, "--accel", "tcg", "--mode",
		      "boot", "--vms", "2", (char *)NULL);
		_exit(127);
	}
	EXPECT_TRUE(read_until(pty, term, sizeof(term), "--attach")) TH_LOG("%s", term);
	for (int i = 0; i < 100; i++) {
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (!connect(fd, (struct sockaddr *)&sun, sizeof(sun)))
			break;
		close(fd);
		fd = -1;
		usleep(50000);
	}
	ASSERT_LE(0, fd) TH_LOG("%s", term);
	ASSERT_EQ(6, write(fd, "hello\n", 6));
	EXPECT_TRUE(read_until(fd, con, sizeof(con), "vm2 got: hello")) TH_LOG("%s", con);
	close(fd);
	/* vm1's console is the terminal, vm2's is not */
	EXPECT_EQ(NULL, strstr(term, "vm2 got"));
	ASSERT_EQ(0, write_file(done, 0644, ""));
	read_until(pty, term, sizeof(term), "PASS (vm2");
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) TH_LOG("%s", term);
	close(pty);
	free(done);
}

/* ---- host hooks (--hook-start, --hook-stop) ---- */

/* The hooks' commands: each appends a line to DIR/../hooks. */
struct hooks {
	char *log;		/* what the hooks wrote */
	char *start;		/* --hook-start */
	char *stop;		/* --hook-stop */
};

static void hooks_init(struct hooks *h, const struct vm_paths *p,
		       const char *start_extra)
{
	h->log = strf("%s/hooks", p->tmp);
	h->start = strf("echo \"start $RAPIDO_HOOK $RAPIDO_VMS\" >> %s%s",
			h->log, start_extra);
	h->stop = strf("echo \"stop $RAPIDO_HOOK $RAPIDO_VMS\" >> %s",
		       h->log);
}

static void hooks_free(struct hooks *h)
{
	free(h->log);
	free(h->start);
	free(h->stop);
}

/* Start rapido-vm with @args in the background, its output to @out. */
static pid_t vm_spawn(struct vm_paths *p, const char *out,
		      const char *const *args)
{
	char *argv[MAX_ARGS];

	vm_argv(p, argv, 0, args);
	return spawn_bg(argv, out, 0);
}

/* Wait until @path holds @text (5 s at most). */
static int wait_for_text(const char *path, const char *text)
{
	for (int i = 0; i < 100; i++) {
		char *t = read_text(path);
		int found = t && strstr(t, text);

		free(t);
		if (found)
			return 1;
		usleep(50000);
	}
	return 0;
}

TEST_F(vm, hook_stop_runs_after_a_normal_end)
{
	char *want, *text;
	struct hooks h;
	struct run r;

	hooks_init(&h, &self->p, "");
	/* QEMU starts after the start hook */
	want = strf("grep -q '^start start 1 2$' %s || exit 3; %s", h.log,
		    fake_pass);
	ASSERT_EQ(0, fake_qemu(&self->p, want));
	free(want);
	ASSERT_EQ(0, VM_RUN(&r, "--qemu", self->p.qemu, "--accel", "tcg",
			    "--quiet", "--vms", "2", "--hook-start", h.start,
			    "--hook-stop", h.stop));
	EXPECT_EQ(0, r.status) run_dump(&r);
	text = read_text(h.log);
	ASSERT_NE(NULL, text);
	EXPECT_STREQ("start start 1 2\nstop stop 1 2\n", text);
	free(text);
	run_free(&r);

	/* a stop hook that fails leaves the host unclean: 128 */
	ASSERT_EQ(0, fake_qemu(&self->p, fake_pass));
	ASSERT_EQ(0, VM_RUN(&r, "--qemu", self->p.qemu, "--accel", "tcg",
			    "--quiet", "--hook-stop", "exit 4"));
	EXPECT_EQ(128, r.status) run_dump(&r);
	EXPECT_TRUE(strstr(r.err, "the stop hook 'exit 4' failed: it exited with status 4") !=
		    NULL) run_dump(&r);
	run_free(&r);
	hooks_free(&h);
}

TEST_F(vm, hook_stop_runs_after_a_failed_start)
{
	char *pidf = strf("%s.pid", self->p.qemu), *text, *start;
	struct hooks h;
	struct run r;

	hooks_init(&h, &self->p, "; exit 3");
	ASSERT_EQ(0, fake_qemu(&self->p, fake_pass));
	ASSERT_EQ(0, VM_RUN(&r, "--qemu", self->p.qemu, "--accel", "tcg",
			    "--quiet", "--hook-start", h.start,
			    "--hook-stop", h.stop));
	EXPECT_EQ(128, r.status) run_dump(&r);
	start = strf("the start hook '%s' failed: it exited with status 3",
		     h.start);
	EXPECT_TRUE(strstr(r.err, start) != NULL) run_dump(&r);
	free(start);
	text = read_text(h.log);
	ASSERT_NE(NULL, text);
	EXPECT_STREQ("start start 1\nstop stop 1\n", text);
	free(text);
	/* no QEMU was started */
	EXPECT_EQ(NULL, read_text(pidf));
	run_free(&r);

	/* a QEMU that cannot start: the stop hook still runs */
	ASSERT_EQ(0, unlink(h.log));
	ASSERT_EQ(0, VM_RUN(&r, "--qemu", "/nonexistent/qemu", "--accel",
			    "tcg", "--hook-stop", h.stop));
	EXPECT_EQ(128, r.status) run_dump(&r);
	text = read_text(h.log);
	ASSERT_NE(NULL, text);
	EXPECT_STREQ("stop stop 1\n", text);
	free(text);
	run_free(&r);
	hooks_free(&h);
	free(pidf);
}

TEST_F(vm, hook_stop_runs_when_qemu_dies)
{
	char *text;
	struct hooks h;
	struct run r;

	hooks_init(&h, &self->p, "");
	ASSERT_EQ(0, fake_qemu(&self->p,
			       "con 'rapido-init: started'; kill -KILL $$"));
	ASSERT_EQ(0, VM_RUN(&r, "--qemu", self->p.qemu, "--accel", "tcg",
			    "--quiet", "--hook-start", h.start,
			    "--hook-stop", h.stop));
	EXPECT_EQ(1, r.status) run_dump(&r);
	EXPECT_TRUE(OUT_HAS("qemu was killed by signal 9")) run_dump(&r);
	text = read_text(h.log);
	ASSERT_NE(NULL, text);
	EXPECT_STREQ("start start 1\nstop stop 1\n", text);
	free(text);
	run_free(&r);
	hooks_free(&h);
}

TEST_F(vm, hook_stop_runs_on_sigint_and_sigterm)
{
	char *out = strf("%s/out", self->p.tmp), *pidf, *text, *slow;
	struct hooks h;
	double t0;
	pid_t p;
	int st;

	hooks_init(&h, &self->p, "");
	pidf = strf("%s.pid", self->p.qemu);
	/* SIGTERM while QEMU runs */
	ASSERT_EQ(0, fake_qemu(&self->p,
			       "con 'rapido-init: started'; exec sleep 60"));
	p = vm_spawn(&self->p, out, ARGS("--qemu", self->p.qemu, "--accel",
					 "tcg", "--hook-start", h.start,
					 "--hook-stop", h.stop));
	ASSERT_LT(0, p);
	ASSERT_TRUE(wait_for_text(pidf, "\n"));
	usleep(100000);
	kill(p, SIGTERM);
	ASSERT_EQ(p, waitpid(p, &st, 0));
	EXPECT_TRUE(WIFEXITED(st));
	EXPECT_EQ(128 + SIGTERM, WEXITSTATUS(st));
	text = read_text(h.log);
	ASSERT_NE(NULL, text);
	EXPECT_STREQ("start start 1\nstop stop 1\n", text);
	free(text);
	ASSERT_EQ(0, unlink(h.log));
	ASSERT_EQ(0, unlink(pidf));

	/* Ctrl-C while the start hook runs: it is stopped, QEMU never runs */
	slow = strf("%s; exec sleep 30", h.start);
	p = vm_spawn(&self->p, out, ARGS("--qemu", self->p.qemu, "--accel",
					 "tcg", "--hook-start", slow,
					 "--hook-stop", h.stop));
	ASSERT_LT(0, p);
	ASSERT_TRUE(wait_for_text(h.log, "start start 1\n"));
	t0 = rt_now();
	kill(p, SIGINT);
	ASSERT_EQ(p, waitpid(p, &st, 0));
	EXPECT_GT(5.0, rt_now() - t0);
	EXPECT_TRUE(WIFEXITED(st));
	EXPECT_EQ(128 + SIGINT, WEXITSTATUS(st));
	text = read_text(h.log);
	ASSERT_NE(NULL, text);
	EXPECT_STREQ("start start 1\nstop stop 1\n", text);
	free(text);
	EXPECT_EQ(NULL, read_text(pidf));
	free(slow);
	hooks_free(&h);
	free(pidf);
	free(out);
}

/* ---- the control channel: QMP never blocks the loop ---- */

/*
 * A QEMU stand-in in Python: serves QMP on its -qmp socket (@qmp: "hang"
 * never greets, "ok" answers), connects to the control socket, sends one
 * request and prints the reply on the console, then ticks the console.
 */
static const char fake_qmp_qemu[] =
	"#!/usr/bin/python3\n"
	"import socket, sys, time\n"
	"mode = '%s'\n"
	"a = sys.argv\n"
	"qmp = [x for x in a if x.startswith('unix:')][0][5:].split(',')[0]\n"
	"ctl = [x for x in a if x.startswith('socket,id=rcontrol,path=')][0]\n"
	"ctl = ctl.split('path=')[1]\n"
	"st = [x for x in a if x.startswith('file,id=rstatus,path=')][0]\n"
	"st = st.split('path=')[1]\n"
	"def con(s):\n"
	"    print(s, flush=True)\n"
	"srv = socket.socket(socket.AF_UNIX)\n"
	"srv.bind(qmp)\n"
	"srv.listen(1)\n"
	"con('rapido-init: started')\n"
	"c = socket.socket(socket.AF_UNIX)\n"
	"c.connect(ctl)\n"
	"c.sendall(b'hmp info status\\n')\n"
	"q, _ = srv.accept()\n"
	"if mode == 'hang':\n"
	"    for i in range(100):\n"
	"        con('tick %%d' %% i)\n"
	"        time.sleep(0.1)\n"
	"    sys.exit(0)\n"
	"qf = q.makefile('rw')\n"
	"qf.write('{\"QMP\": {\"version\": {}}}\\n'); qf.flush()\n"
	"assert 'qmp_capabilities' in qf.readline()\n"
	"qf.write('{\"event\": \"X\"}\\n{\"return\": {}}\\n'); qf.flush()\n"
	"assert 'info status' in qf.readline()\n"
	"qf.write('{\"return\": \"VM status: running\\\\r\\\\n\"}\\n'); qf.flush()\n"
	"con('reply: ' + c.makefile().readline().strip())\n"
	"open(st, 'a').write('autorun 0\\nresult 0\\n')\n";

static int fake_qmp(struct vm_paths *p, const char *mode)
{
	char *script = strf(fake_qmp_qemu, mode);
	int ret = write_file(p->qemu, 0755, script);

	free(script);
	return ret;
}

TEST_F(vm, control_request_is_answered_through_qmp)
{
	char *log = strf("%s/vm1/control.log", self->p.dir), *text;
	struct run r;

	if (access("/usr/bin/python3", X_OK))
		SKIP(return, "needs /usr/bin/python3 for the fake QEMU");
	ASSERT_EQ(0, fake_qmp(&self->p, "ok"));
	ASSERT_EQ(0, VM_RUN(&r, "--qemu", self->p.qemu, "--accel", "tcg",
			    "--control", "--timeout", "20"));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_TRUE(OUT_LINE("reply: {\"return\": \"VM status: running\\r\\n\"}"))
		run_dump(&r);
	text = read_text(log);
	ASSERT_NE(NULL, text);
	EXPECT_TRUE(has_line(text, "> hmp info status")) TH_LOG("%s", text);
	free(text);
	run_free(&r);
	free(log);
}

/* A QMP socket that never answers stalls neither the console nor the end */
TEST_F(vm, control_qmp_that_hangs_does_not_block_the_loop)
{
	struct run r;

	if (access("/usr/bin/python3", X_OK))
		SKIP(return, "needs /usr/bin/python3 for the fake QEMU");
	ASSERT_EQ(0, fake_qmp(&self->p, "hang"));
	ASSERT_EQ(0, VM_RUN(&r, "--qemu", self->p.qemu, "--accel", "tcg",
			    "--control", "--timeout", "2"));
	EXPECT_EQ(1, r.status) run_dump(&r);
	EXPECT_TRUE(OUT_HAS("FAIL: timeout after 2 s")) run_dump(&r);
	/* the console kept streaming while the request waited */
	EXPECT_TRUE(OUT_LINE("tick 10")) run_dump(&r);
	/* the deadline, SIGTERM's grace at most: not QMP's 30 s */
	EXPECT_GT(8.0, r.secs);
	run_free(&r);
}

/* ---- a real boot (RAPIDO_KTREE, busybox, QEMU) ---- */

static const char busybox_init[] =
	"#!/bin/busybox sh\n"
	"/bin/busybox mount -t devtmpfs dev /dev\n"
	"/bin/busybox mount -t sysfs sys /sys\n"
	"for p in /sys/class/virtio-ports/*; do\n"
	"\t[ \"$(/bin/busybox cat $p/name)\" = rapido.status ] &&\n"
	"\t\t{ echo autorun %d; echo result %d; } > /dev/${p##*/}\n"
	"done\n"
	"/bin/busybox sync\n"
	"/bin/busybox reboot -f\n";

/* vm2 fails its autorun, vm1 passes: two real VMs side by side */
static const char busybox_init_vm2_fails[] =
	"#!/bin/busybox sh\n"
	"/bin/busybox mount -t devtmpfs dev /dev\n"
	"/bin/busybox mount -t sysfs sys /sys\n"
	"/bin/busybox mount -t proc none /proc\n"
	"c=0; /bin/busybox grep -q rapido.vm=2 /proc/cmdline && c=3\n"
	"for p in /sys/class/virtio-ports/*; do\n"
	"\t[ \"$(/bin/busybox cat $p/name)\" = rapido.status ] &&\n"
	"\t\t{ echo autorun $c; echo result $c; } > /dev/${p##*/}\n"
	"done\n"
	"/bin/busybox sync\n"
	"/bin/busybox reboot -f\n";

TEST_F(vm, real_boot_reports_through_the_status_port)
{
	const char *ktree = getenv("RAPIDO_KTREE");
	char *gen, *bz, *list, *init, *cpio, *text;
	struct run r;

	if (!ktree || !*ktree)
		SKIP(return, "RAPIDO_KTREE is not set");
	gen = strf("%s/usr/gen_init_cpio", ktree);
	bz = strf("%s/arch/x86/boot/bzImage", ktree);
	if (access(gen, X_OK) || access(bz, R_OK) ||
	    access("/bin/busybox", X_OK))
		SKIP(return, "needs %s, %s and /bin/busybox", gen, bz);
	list = strf("%s/list", self->p.tmp);
	init = strf("%s/init", self->p.tmp);
	cpio = strf("%s/real.cpio", self->p.tmp);
	text = strf("dir /dev 755 0 0\ndir /sys 755 0 0\ndir /bin 755 0 0\n"
		    "dir /proc 755 0 0\nnod /dev/console 600 0 0 c 5 1\n"
		    "file /bin/busybox /bin/busybox 755 0 0\n"
		    "file /init %s 755 0 0\n", init);
	ASSERT_EQ(0, write_file(list, 0644, text));
	free(text);
	/* code 0, 3: one VM; -1: two, vm2 fails */
	for (int i = 0; i < 3; i++) {
		static const int codes[] = { 0, 3, -1 };
		int code = codes[i];
		char *const argv[] = { "sh", "-c", "\"$0\" \"$1\" > \"$2\"",
				       gen, list, cpio, NULL };

		text = code < 0 ? strf("%s", busybox_init_vm2_fails) :
			strf(busybox_init, code, code);
		ASSERT_EQ(0, write_file(init, 0755, text));
		free(text);
		ASSERT_EQ(0, run(&r, argv));
		ASSERT_EQ(0, r.status) {
			TH_LOG("%s", r.err);
		}
		run_free(&r);
		ASSERT_EQ(0, VM_RUN_BARE(&r, "--kernel", bz, "--initrd", cpio,
					 "--dir", self->p.dir, "--accel", "tcg",
					 "--quiet", "--timeout", "60", "--vms",
					 code < 0 ? "2" : "1"));
		if (code < 0) {
			EXPECT_EQ(1, r.status) run_dump(&r);
			EXPECT_TRUE(OUT_HAS("rapido-vm: PASS (vm1, ")) run_dump(&r);
			EXPECT_TRUE(OUT_HAS("FAIL: vm2: autorun exited with status 3"))
				run_dump(&r);
			run_free(&r);
			continue;
		}
		EXPECT_EQ(code ? 1 : 0, r.status) {
			TH_LOG("stdout: %s\nstderr: %s", r.out, r.err);
		}
		if (code)
			EXPECT_TRUE(strstr(r.out,
				"FAIL: autorun exited with status 3") != NULL);
		run_free(&r);
	}
	free(cpio);
	free(init);
	free(list);
	free(bz);
	free(gen);
}

TEST_HARNESS_MAIN
