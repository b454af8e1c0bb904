// SPDX-License-Identifier: GPL-2.0
/*
 * Real boots: the simple profile on a real kernel tree, through the batch
 * runner and through make, in-tree and with O=, and the exit code of every
 * outcome the runner promises (pass, autorun/X failure, panic, WARN,
 * timeout, a tree that does not build, a .config that lacks the profile's
 * needs). After every run the kernel tree's `git status` must be clean.
 *
 * RAPIDO_KTREE: a built tree with rapido installed (in-tree build).
 * RAPIDO_KTREE_O, RAPIDO_OBJTREE_O: the same, built with O=.
 * Set up by tools/testing/rapido/run_tests.
 */
#include <dirent.h>
#include <glob.h>
#include <pty.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/select.h>

#include "kselftest_harness.h"
#include "rapido_test.h"

#define BOOT_TIMEOUT	600
/* an O= tmpfs that rapido's own programs fit in, but not the kernel */
#define FULL_DISK_SIZE	"32m"

/*
 * A planted syntax error is restored from this backup by every setup, so a
 * test killed half-way cannot leave the tree broken.
 */
#define PLANT_FILE	"drivers/misc/lkdtm/core.c"

FIXTURE(boot) {
	const char *ktree;
	char *krelease;
	char *plant, *plant_backup;
	char *config, *config_backup;
};

/*
 * Put .config back from its backup (its old mtime too, so nothing
 * rebuilds). But if a run configured the tree from the planted .config
 * (a regression that let it build), kbuild's auto.conf is now newer than
 * the restored .config and kbuild would never resync: every later test
 * would run on a tree without the planted-out option. Then make .config
 * new again.
 */
static int restore_config(const char *ktree, const char *config,
			  const char *backup)
{
	char *auto_conf = strf("%s/include/config/auto.conf", ktree);
	struct stat c, a;
	int ret = restore_file(config, backup);

	if (!ret && !stat(config, &c) && !stat(auto_conf, &a) &&
	    (a.st_mtim.tv_sec > c.st_mtim.tv_sec ||
	     (a.st_mtim.tv_sec == c.st_mtim.tv_sec &&
	      a.st_mtim.tv_nsec > c.st_mtim.tv_nsec)) &&
	    utimensat(AT_FDCWD, config, NULL, 0))
		ret = -errno;
	free(auto_conf);
	return ret;
}

FIXTURE_SETUP(boot)
{
	char *path;

	RT_ONLY();
	self->ktree = SETUP_KTREE();
	path = strf("%s/include/config/kernel.release", self->ktree);
	self->krelease = read_text(path);
	free(path);
	if (!self->krelease)
		SETUP_SKIP("%s is not configured and built", self->ktree);
	self->krelease[strcspn(self->krelease, "\n")] = '\0';

	self->plant = strf("%s/%s", self->ktree, PLANT_FILE);
	self->plant_backup = strf("%s/.rapido/test-plant-backup", self->ktree);
	self->config = strf("%s/.config", self->ktree);
	self->config_backup = strf("%s/.rapido/test-config-backup", self->ktree);
	ASSERT_EQ(0, restore_file(self->plant, self->plant_backup));
	ASSERT_EQ(0, restore_config(self->ktree, self->config, self->config_backup));
}

FIXTURE_TEARDOWN(boot)
{
	if (!self->ktree || !self->plant)
		return;
	EXPECT_EQ(0, restore_file(self->plant, self->plant_backup));
	EXPECT_EQ(0, restore_config(self->ktree, self->config, self->config_backup));
	EXPECT_GIT_CLEAN(self->ktree);
	free(self->krelease);
	free(self->plant);
	free(self->plant_backup);
	free(self->config);
	free(self->config_backup);
}

/* scripts/rapido/rapido-test PROFILE=simple [args...] in the tree. */
static int rapido_test(struct run *r, const char *dir, const char *a1,
		       const char *a2)
{
	char *const argv[] = { "scripts/rapido/rapido-test", "PROFILE=simple",
			 (char *)a1, (char *)a2, NULL };

	return run_in(r, dir, argv);
}

TEST_F_TIMEOUT(boot, pass, BOOT_TIMEOUT)
{
	struct run r;

	ASSERT_EQ(0, rapido_test(&r, self->ktree, NULL, NULL));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "simple: mounts and modules ok")) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "PASS")) run_dump(&r);
	run_free(&r);
}

TEST_F_TIMEOUT(boot, make_x_runs_after_autorun, BOOT_TIMEOUT)
{
	char *const argv[] = { "make", "-s", "rapido-test", "PROFILE=simple",
			 "X=uname -r; test -d /sys/kernel && echo X-RAN-OK",
			 NULL };
	struct run r;
	char *line;

	ASSERT_EQ(0, run_in(&r, self->ktree, argv));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "X-RAN-OK")) run_dump(&r);
	line = strf("\n%s", self->krelease);
	EXPECT_TRUE(both_have(&r, line)) run_dump(&r);
	free(line);
	/* the console comes through stdout: the autorun's line first */
	ASSERT_NE(NULL, strstr(r.out, "simple: mounts and modules ok"))
		run_dump(&r);
	ASSERT_NE(NULL, strstr(r.out, "X-RAN-OK")) run_dump(&r);
	EXPECT_LT(strstr(r.out, "simple: mounts and modules ok"),
		  strstr(r.out, "X-RAN-OK")) run_dump(&r);
	run_free(&r);
}

TEST_F_TIMEOUT(boot, x_exit_3_fails, BOOT_TIMEOUT)
{
	struct run r;

	ASSERT_EQ(0, rapido_test(&r, self->ktree, "X=exit 3", NULL));
	EXPECT_EQ(1, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "status 3")) run_dump(&r);
	run_free(&r);
}

TEST_F_TIMEOUT(boot, f_script_runs, BOOT_TIMEOUT)
{
	char dir[] = "/tmp/rapido-boot-f.XXXXXX";
	struct run r;
	char *script, *arg;

	ASSERT_NE(NULL, mkdtemp(dir));
	script = strf("%s/check.sh", dir);
	ASSERT_EQ(0, write_file(script, 0755,
				"echo F-SCRIPT-RAN on $(hostname)\nexit 0\n"));
	arg = strf("F=%s", script);
	ASSERT_EQ(0, rapido_test(&r, self->ktree, arg, NULL));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "F-SCRIPT-RAN on rapido")) run_dump(&r);
	run_free(&r);
	free(arg);
	free(script);
	rm_rf(dir);
}

TEST_F_TIMEOUT(boot, panic_fails_with_panic_lines, BOOT_TIMEOUT)
{
	struct run r;

	ASSERT_EQ(0, rapido_test(&r, self->ktree,
				 "X=echo c > /proc/sysrq-trigger", NULL));
	EXPECT_EQ(1, r.status) run_dump(&r);
	EXPECT_TRUE(strstr(r.err, "Kernel panic - not syncing") ||
		    strstr(r.out, "Kernel panic - not syncing")) run_dump(&r);
	/* the reason rapido gives, not only the console's echo */
	EXPECT_TRUE(both_have(&r,
			      "rapido-vm: FAIL: kernel: Kernel panic - not syncing"))
		run_dump(&r);
	run_free(&r);
}

TEST_F_TIMEOUT(boot, lkdtm_warn_fails, BOOT_TIMEOUT)
{
	struct run r;

	ASSERT_EQ(0, rapido_test(&r, self->ktree,
		"X=echo WARNING > /sys/kernel/debug/provoke-crash/DIRECT; echo X-SURVIVED-WARN",
		NULL));
	/* the guest survives a WARN: only the console tells */
	EXPECT_TRUE(both_have(&r, "X-SURVIVED-WARN")) run_dump(&r);
	EXPECT_EQ(1, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "WARNING:")) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "rapido-vm: FAIL: kernel: WARNING:"))
		run_dump(&r);
	run_free(&r);
}

/* A guest power-off ends the run at once, as a failure that says so. */
TEST_F_TIMEOUT(boot, poweroff_ends_the_run_at_once, BOOT_TIMEOUT)
{
	struct run r;

	ASSERT_EQ(0, rapido_test(&r, self->ktree,
				 "X=echo o > /proc/sysrq-trigger; sleep 600",
				 "TIMEOUT=200"));
	EXPECT_EQ(1, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "reboot: Power down")) run_dump(&r);
	EXPECT_TRUE(both_have(&r,
		"FAIL: the guest powered off before reporting a result"))
		run_dump(&r);
	/* not the 200 s timeout: the up-to-date check, the cut and a boot */
	EXPECT_GT(90, r.secs) run_dump(&r);
	run_free(&r);
}

/* Only the kernel's own report formats fail a run. */
TEST_F_TIMEOUT(boot, user_space_warning_lines_pass, BOOT_TIMEOUT)
{
	struct run r;

	ASSERT_EQ(0, rapido_test(&r, self->ktree,
		"X=echo 'WARNING: this line comes from user space'; "
		"echo 'BUG: neither does this one'; "
		"echo 'WARNING: nor this, through /dev/kmsg' > /dev/kmsg",
		NULL));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "WARNING: this line comes from user space"))
		run_dump(&r);
	run_free(&r);
}

/*
 * A guest that cannot get to /init is not a test result: 128. The driver
 * refuses MEM= under 64 MiB itself (rapido-settings' range), so the real
 * kernel and image of simple are booted by rapido-vm directly, in 16 MiB.
 */
TEST_F_TIMEOUT(boot, mem_16_is_128, BOOT_TIMEOUT)
{
	char dir[] = "/tmp/rapido-mem16.XXXXXX";
	char *vm = strf("%s/.rapido/bin/rapido-vm", self->ktree);
	char *kernel = strf("%s/arch/x86/boot/bzImage", self->ktree);
	char *initrd = strf("%s/.rapido/images/simple.cpio", self->ktree);
	char *const argv[] = { vm, "--kernel", kernel, "--initrd", initrd,
		"--dir", dir, "--mode", "test", "--mem", "16",
		"--accel", "tcg", "--timeout", "120", NULL };
	struct run r;

	/* the driver first, for an up-to-date image (and its own refusal) */
	ASSERT_EQ(0, rapido_test(&r, self->ktree, "MEM=16", NULL));
	EXPECT_EQ(128, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "MEM: '16' is not a size in MiB"))
		run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, rapido_test(&r, self->ktree, "X=true", NULL));
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);

	ASSERT_NE(NULL, mkdtemp(dir));
	ASSERT_EQ(0, run(&r, argv));
	EXPECT_EQ(128, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "rapido or the host failed")) run_dump(&r);
	run_free(&r);
	rm_rf(dir);
	free(initrd);
	free(kernel);
	free(vm);
}

/* rapido-boot with no terminal: no shell to give, a batch run instead. */
TEST_F_TIMEOUT(boot, boot_without_a_terminal_runs_as_test, BOOT_TIMEOUT)
{
	char *const argv[] = { "make", "-s", "rapido-boot", "PROFILE=simple",
			       NULL };
	struct run r;

	/* run_in() gives it /dev/null as stdin */
	ASSERT_EQ(0, run_in(&r, self->ktree, argv));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "stdin is not a terminal")) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "PASS")) run_dump(&r);
	EXPECT_GT(120, r.secs) run_dump(&r);
	run_free(&r);
}

/*
 * The pid of a child of @parent named @comm (any name: NULL), or 0. By
 * parentage only: other runs may use the same paths.
 */
static pid_t child_of(pid_t parent, const char *comm)
{
	struct dirent *de;
	pid_t found = 0;
	DIR *d = opendir("/proc");

	while (d && !found && (de = readdir(d))) {
		char *path, *stat;
		const char *p;

		if (!atoi(de->d_name))
			continue;
		path = strf("/proc/%s/stat", de->d_name);
		stat = read_text(path);
		/* "pid (comm) state ppid ..." */
		p = stat ? strrchr(stat, ')') : NULL;
		if (p && atoi(p + 4) == parent &&
		    (!comm || (!strncmp(strchr(stat, '(') + 1, comm,
					 strlen(comm)) &&
			       strchr(stat, '(')[1 + strlen(comm)] == ')')))
			found = atoi(de->d_name);
		free(stat);
		free(path);
	}
	if (d)
		closedir(d);
	return found;
}

/*
 * kill -9 of the batch runner (the bash driver that started rapido-vm):
 * rapido-vm and QEMU go with it.
 */
TEST_F_TIMEOUT(boot, killed_runner_takes_the_vm_along, BOOT_TIMEOUT)
{
	char *log = strf("%s/.rapido/test-killed-runner.log", self->ktree);
	char *out = NULL;
	pid_t runner, qemu = 0, vm = 0;

	runner = fork();
	ASSERT_LE(0, runner);
	if (!runner) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int nul = open("/dev/null", O_RDONLY);

		if (fd < 0 || nul < 0 || chdir(self->ktree))
			_exit(127);
		dup2(nul, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execl("scripts/rapido/rapido-test", "rapido-test",
		      "PROFILE=simple", "X=sleep 600", "TIMEOUT=300",
		      (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 1200 && !(out && strstr(out, "modules ok")); i++) {
		usleep(100000);
		free(out);
		out = read_text(log);
	}
	ASSERT_NE(NULL, strstr(out ? out : "", "modules ok"))
		TH_LOG("the guest did not start:\n%s", out);
	/* the runner is the driver (rapido-test execs it) */
	vm = child_of(runner, "rapido-vm");
	ASSERT_LT(0, vm);
	qemu = child_of(vm, NULL);
	ASSERT_LT(0, qemu);
	ASSERT_EQ(0, kill(runner, SIGKILL));
	ASSERT_EQ(runner, waitpid(runner, NULL, 0));
	for (int i = 0; i < 40 && !(pid_gone(qemu) && pid_gone(vm)); i++)
		usleep(50000);
	EXPECT_TRUE(pid_gone(qemu)) TH_LOG("QEMU %d outlived the runner by 2 s", qemu);
	EXPECT_TRUE(pid_gone(vm)) TH_LOG("rapido-vm %d outlived the runner by 2 s", vm);
	if (!pid_gone(vm))
		kill(vm, SIGKILL);
	if (!pid_gone(qemu))
		kill(qemu, SIGKILL);
	unlink(log);
	free(out);
	free(log);
}

TEST_F_TIMEOUT(boot, timeout_fails_in_time, BOOT_TIMEOUT)
{
	struct run r;

	ASSERT_EQ(0, rapido_test(&r, self->ktree, "X=sleep 600",
				 "TIMEOUT=20"));
	EXPECT_EQ(1, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "timeout")) run_dump(&r);
	/* 20 s of VM plus the up-to-date kbuild check and the cut */
	EXPECT_GT(90, r.secs) run_dump(&r);
	run_free(&r);
}

/*
 * Two runs on one tree at once: the build phase is serialized, each gets
 * its own VM and its own verdict.
 */
/* The N of the vm<N> a run's verdict names ("(vmN, " or "/vmN/"), or -1. */
static int vm_of(const char *out)
{
	const char *p = strstr(out, "rapido-vm: ");
	int n;

	for (; p && *p && *p != '\n'; p++)
		if ((p[0] == '(' || p[0] == '/') && !strncmp(p + 1, "vm", 2) &&
		    sscanf(p + 3, "%d", &n) == 1)
			return n;
	return -1;
}

TEST_F_TIMEOUT(boot, parallel_runs_on_one_tree, BOOT_TIMEOUT)
{
	int fds[2], st, vm_child = -1;
	struct run r;
	pid_t pid;

	/* both VMs live 5 s: the runs overlap, so they need two vm<N> */
	ASSERT_EQ(0, pipe(fds));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct run rc;
		int vm;

		close(fds[0]);
		if (rapido_test(&rc, self->ktree, "X=sleep 5; exit 3", NULL))
			_exit(2);
		if (rc.status != 1 || !both_have(&rc, "status 3"))
			run_dump(&rc);
		vm = vm_of(rc.out);
		if (write(fds[1], &vm, sizeof(vm)) != sizeof(vm))
			_exit(2);
		_exit(rc.status == 1 && both_have(&rc, "status 3") ? 0 : 1);
	}
	close(fds[1]);
	ASSERT_EQ(0, rapido_test(&r, self->ktree, "X=sleep 5", NULL));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "PASS")) run_dump(&r);
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st));
	EXPECT_EQ(0, WEXITSTATUS(st)) TH_LOG("the parallel X='exit 3' run went wrong");
	EXPECT_EQ((ssize_t)sizeof(vm_child),
		  read(fds[0], &vm_child, sizeof(vm_child)));
	close(fds[0]);
	EXPECT_LT(0, vm_of(r.out)) run_dump(&r);
	EXPECT_LT(0, vm_child);
	EXPECT_NE(vm_of(r.out), vm_child) run_dump(&r);
	run_free(&r);
}

/*
 * A run waits while another holds tree.lock (here: the test itself), says
 * so, and goes on once it is released.
 */
static int passed_after_waiting(const struct run *r)
{
	return r->status == 0 && both_have(r, "another rapido run is building");
}

TEST_F_TIMEOUT(boot, run_waits_on_tree_lock, BOOT_TIMEOUT)
{
	char *const argv[] = { "scripts/rapido/rapido-test", "PROFILE=simple",
			       NULL };

	/* 20 s on: the run must still be waiting, not booted */
	EXPECT_WAITS_ON_TREE_LOCK(self->ktree, argv, 20, passed_after_waiting);
}

/* A profile whose PREPARE exits 125: the run is a bisect skip, 125. */
TEST_F_TIMEOUT(boot, prepare_exit_125_is_125, BOOT_TIMEOUT)
{
	char *const argv[] = { "scripts/rapido/rapido-test",
			       "PROFILE=rapido-test-prepare", NULL };
	char *pdir = strf("%s/tools/testing/rapido/profiles/rapido-test-prepare",
			  self->ktree);
	struct run r;

	rm_rf(pdir);
	ASSERT_EQ(0, mkdir(pdir, 0755));
	put_file(pdir, "settings", 0644, "PREPARE=prep\n");
	put_file(pdir, "manifest", 0644, "bin sh\n");
	put_file(pdir, "autorun", 0755, "#!/bin/sh\nexit 0\n");
	put_file(pdir, "prep", 0755,
		 "#!/bin/sh\necho PREPARE-RAN\nexit 125\n");

	ASSERT_EQ(0, run_in(&r, self->ktree, argv));
	EXPECT_EQ(125, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "PREPARE-RAN")) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "does not build")) run_dump(&r);
	run_free(&r);
	EXPECT_EQ(0, rm_rf(pdir));
	free(pdir);
}

/* No QEMU in PATH: rapido cannot run, 128 (a bisect stops). */
TEST_F_TIMEOUT(boot, qemu_missing_is_128, BOOT_TIMEOUT)
{
	static const char *const dirs[] = {
		"/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin",
	};
	char bin[] = "/tmp/rapido-boot-path.XXXXXX";
	char *path_var;
	struct run r;

	/* PATH: every program of the host but QEMU */
	ASSERT_NE(NULL, mkdtemp(bin));
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		DIR *d = opendir(dirs[i]);
		struct dirent *e;

		while (d && (e = readdir(d))) {
			char *from, *to;

			if (e->d_name[0] == '.' ||
			    !strncmp(e->d_name, "qemu-system-", 12))
				continue;
			from = strf("%s/%s", dirs[i], e->d_name);
			to = strf("%s/%s", bin, e->d_name);
			if (symlink(from, to) && errno != EEXIST)
				TH_LOG("symlink '%s': %s", to, strerror(errno));
			free(from);
			free(to);
		}
		if (d)
			closedir(d);
	}
	path_var = strf("PATH=%s", bin);
	{
		char *const argv[] = { "env", path_var,
				       "scripts/rapido/rapido-test",
				       "PROFILE=simple", NULL };

		ASSERT_EQ(0, run_in(&r, self->ktree, argv));
	}
	EXPECT_EQ(128, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "qemu-system-x86_64")) run_dump(&r);
	run_free(&r);
	free(path_var);
	EXPECT_EQ(0, rm_rf(bin));
}

TEST_F_TIMEOUT(boot, other_arch_is_refused, BOOT_TIMEOUT)
{
	struct run r;

	ASSERT_EQ(0, rapido_test(&r, self->ktree, "ARCH=arm64", NULL));
	EXPECT_EQ(128, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "ARCH=arm64")) run_dump(&r);
	run_free(&r);
}

TEST_F_TIMEOUT(boot, bad_watch_is_refused, BOOT_TIMEOUT)
{
	struct run r;

	ASSERT_EQ(0, rapido_test(&r, self->ktree, "WATCH=maybe", NULL));
	EXPECT_EQ(128, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "WATCH: 'maybe' is not y or n"))
		run_dump(&r);
	run_free(&r);
}

/* MEM=, CPUS= and ACCEL=tcg as the guest sees them. */
TEST_F_TIMEOUT(boot, mem_cpus_accel_reach_the_guest, BOOT_TIMEOUT)
{
	char *const argv[] = { "scripts/rapido/rapido-test", "PROFILE=simple",
		"MEM=400", "CPUS=2", "ACCEL=tcg",
		"X=echo GUEST-CPUS=$(grep -c ^processor /proc/cpuinfo); "
		"echo GUEST-$(grep MemTotal /proc/meminfo)", NULL };
	unsigned long kib = 0;
	struct run r;
	char *p;

	ASSERT_EQ(0, run_in(&r, self->ktree, argv));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "GUEST-CPUS=2")) run_dump(&r);
	p = strstr(r.out, "GUEST-MemTotal:");
	ASSERT_NE(NULL, p) run_dump(&r);
	kib = strtoul(p + strlen("GUEST-MemTotal:"), NULL, 10);
	/* 400 MiB less the kernel's own reservations; the default is 256 */
	EXPECT_LT(300UL * 1024, kib) run_dump(&r);
	EXPECT_GE(400UL * 1024, kib) run_dump(&r);
	/* TCG: no KVM under the guest */
	EXPECT_FALSE(both_have(&r, "Hypervisor detected: KVM")) run_dump(&r);
	run_free(&r);
}

TEST_F_TIMEOUT(boot, unknown_profile_is_128, BOOT_TIMEOUT)
{
	char *const argv[] = { "scripts/rapido/rapido-test", "PROFILE=no-such",
			 NULL };
	struct run r;

	ASSERT_EQ(0, run_in(&r, self->ktree, argv));
	EXPECT_EQ(128, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "unknown profile 'no-such'")) run_dump(&r);
	run_free(&r);
}

TEST_F_TIMEOUT(boot, config_without_needs_is_refused, BOOT_TIMEOUT)
{
	char *text, *p, *line_end;
	struct run r;

	ASSERT_EQ(0, copy_with_times(self->config, self->config_backup));
	text = read_text(self->config);
	ASSERT_NE(NULL, text);
	p = strstr(text, "\nCONFIG_LKDTM=m\n");
	ASSERT_NE(NULL, p) TH_LOG("%s has no CONFIG_LKDTM=m", self->config);
	line_end = strchr(p + 1, '\n');
	memmove(p, line_end, strlen(line_end) + 1);
	ASSERT_EQ(0, write_whole(self->config, text, strlen(text)));
	free(text);

	ASSERT_EQ(0, rapido_test(&r, self->ktree, NULL, NULL));
	EXPECT_EQ(128, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "CONFIG_LKDTM=m")) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "make rapido-config PROFILE=simple"))
		run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, restore_config(self->ktree, self->config, self->config_backup));
}

TEST_F_TIMEOUT(boot, syntax_error_is_125, BOOT_TIMEOUT)
{
	char *text, *broken;
	struct run r;

	ASSERT_EQ(0, copy_with_times(self->plant, self->plant_backup));
	text = read_text(self->plant);
	ASSERT_NE(NULL, text);
	broken = strf("%s\nint rapido_planted_syntax_error(\n", text);
	ASSERT_EQ(0, write_whole(self->plant, broken, strlen(broken)));
	free(broken);
	free(text);

	ASSERT_EQ(0, rapido_test(&r, self->ktree, NULL, NULL));
	EXPECT_EQ(125, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "does not build")) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, restore_file(self->plant, self->plant_backup));
}

TEST_F_TIMEOUT(boot, rapido_config_is_idempotent, BOOT_TIMEOUT)
{
	char *const argv[] = { "make", "-s", "rapido-config", "PROFILE=simple",
			 NULL };
	char *before, *after;
	struct run r;

	before = read_text(self->config);
	ASSERT_NE(NULL, before);
	ASSERT_EQ(0, run_in(&r, self->ktree, argv));
	EXPECT_EQ(0, r.status) run_dump(&r);
	after = read_text(self->config);
	ASSERT_NE(NULL, after);
	EXPECT_EQ(0, strcmp(before, after));
	free(before);
	free(after);
	run_free(&r);
}

TEST_F_TIMEOUT(boot, mixed_goals_and_jobs, BOOT_TIMEOUT)
{
	char *const argv[] = { "make", "-s", "-j2", "olddefconfig", "rapido-test",
			 "PROFILE=simple", NULL };
	struct run r;

	ASSERT_EQ(0, run_in(&r, self->ktree, argv));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "PASS")) run_dump(&r);
	run_free(&r);
}

TEST_F_TIMEOUT(boot, cut_writes_the_image, BOOT_TIMEOUT)
{
	char *const argv[] = { "make", "-s", "rapido-cut", "PROFILE=simple", NULL };
	struct run r;
	struct stat st;
	char *image;

	/* an earlier test's image would satisfy a cut that does nothing */
	image = strf("%s/.rapido/images/simple.cpio", self->ktree);
	ASSERT_TRUE(unlink(image) == 0 || errno == ENOENT);
	free(image);
	ASSERT_EQ(0, run_in(&r, self->ktree, argv));
	EXPECT_EQ(0, r.status) run_dump(&r);
	image = strf("%s/.rapido/images/simple.cpio", self->ktree);
	ASSERT_EQ(0, stat(image, &st)) TH_LOG("%s: %s", image,
					      strerror(errno));
	EXPECT_LT(100000, st.st_size);
	free(image);
	run_free(&r);
}

/*
 * Interactive boot under a pty: the autorun runs, then a shell whose
 * controlling tty is the serial console; leaving it powers off.
 */
TEST_F_TIMEOUT(boot, boot_gives_a_shell_on_the_console, BOOT_TIMEOUT)
{
	char *const argv[] = { "make", "-s", "rapido-boot", "PROFILE=simple",
			       NULL };
	char *out = NULL;
	size_t len = 0;
	int fd, st;
	pid_t pid;

	pid = pty_spawn(self->ktree, argv, &fd);
	ASSERT_LE(0, pid);
	/* dash's interactive prompt for root, after the autorun's output */
	EXPECT_EQ(0, pty_expect(fd, &out, &len, "mounts and modules ok", 300))
		TH_LOG("no autorun output:\n%s", out);
	EXPECT_EQ(0, pty_expect(fd, &out, &len, "# ", 60))
		TH_LOG("no shell prompt:\n%s", out);
	ASSERT_EQ(12, write(fd, "tty; exit 0\n", 12));
	EXPECT_EQ(0, pty_expect(fd, &out, &len, "/dev/ttyS0", 60))
		TH_LOG("the shell has no controlling tty:\n%s", out);
	pty_expect(fd, &out, &len, "\n-- no such output --", 60);
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st));
	EXPECT_EQ(0, WEXITSTATUS(st)) TH_LOG("output:\n%s", out);
	close(fd);
	free(out);
}

/* O=: the same runs with the output in another directory. */
FIXTURE(boot_o) {
	const char *src, *obj;
};

FIXTURE_SETUP(boot_o)
{
	char *path;

	RT_ONLY();
	self->src = getenv("RAPIDO_KTREE_O");
	self->obj = getenv("RAPIDO_OBJTREE_O");
	if (!self->src || !self->obj || !*self->src || !*self->obj)
		SETUP_SKIP("RAPIDO_KTREE_O/RAPIDO_OBJTREE_O are not set");
	path = strf("%s/arch/x86/boot/bzImage", self->obj);
	if (access(path, R_OK))
		SETUP_SKIP("%s is not built", self->obj);
	free(path);
}

FIXTURE_TEARDOWN(boot_o)
{
	char *path;

	if (!self->src || !self->obj)
		return;
	EXPECT_GIT_CLEAN(self->src);
	/* every output went to the output directory */
	path = strf("%s/.rapido", self->src);
	EXPECT_NE(0, access(path, F_OK)) TH_LOG("%s exists", path);
	free(path);
}

TEST_F_TIMEOUT(boot_o, make_o_pass, BOOT_TIMEOUT)
{
	char *o = strf("O=%s", self->obj);
	char *const argv[] = { "make", "-s", o, "rapido-test", "PROFILE=simple",
			 NULL };
	char *log;
	struct run r;

	ASSERT_EQ(0, run_in(&r, self->src, argv));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "PASS")) run_dump(&r);
	log = strf("%s/.rapido/images/simple.cpio", self->obj);
	EXPECT_EQ(0, access(log, R_OK)) TH_LOG("%s is missing", log);
	free(log);
	run_free(&r);
	free(o);
}

TEST_F_TIMEOUT(boot_o, make_in_output_dir, BOOT_TIMEOUT)
{
	char *const argv[] = { "make", "-s", "rapido-test", "PROFILE=simple",
			 "X=exit 3", NULL };
	struct run r;

	/* the first O= run wrote a GNUmakefile into the output directory */
	ASSERT_EQ(0, run_in(&r, self->obj, argv));
	EXPECT_EQ(2, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "status 3")) run_dump(&r);
	run_free(&r);
}

/*
 * The driver's side of issue 8: a build failure that is the environment's
 * (a missing compiler, a full disk) is exit 128, not 125; rapido writes
 * and removes nothing through a symlink under .rapido/; what a run killed
 * with -9 left in .rapido/tmp goes with the next run; O= on a source tree
 * with a build of its own says make mrproper and leaves no GNUmakefile;
 * an autorun without #! is refused when cutting.
 */
FIXTURE(driver) {
	const char *ktree;
};

FIXTURE_SETUP(driver)
{
	self->ktree = SETUP_KTREE();
}

FIXTURE_TEARDOWN(driver)
{
	if (!self->ktree)
		return;
	EXPECT_GIT_CLEAN(self->ktree);
}

TEST_F_TIMEOUT(driver, missing_compiler_is_128, BOOT_TIMEOUT)
{
	char *const argv[] = { "make", "rapido-cut", "PROFILE=simple",
			 "CC=/nonexistent/gcc", NULL };
	struct run r;

	ASSERT_EQ(0, run_in(&r, self->ktree, argv));
	EXPECT_EQ(2, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "the compiler '/nonexistent/gcc' is not found"))
		run_dump(&r);
	/* the runner's own code, as make reports it */
	EXPECT_TRUE(both_have(&r, "Error 128")) run_dump(&r);
	EXPECT_FALSE(both_have(&r, "does not build")) run_dump(&r);
	run_free(&r);
}

/*
 * kbuild into an O= directory on a small tmpfs (in a mount namespace of
 * its own): it runs out of space, which is no verdict on the code.
 */
TEST_F_TIMEOUT(driver, full_disk_build_is_128, BOOT_TIMEOUT)
{
	const char *src = getenv("RAPIDO_KTREE_O");
	const char *built = getenv("RAPIDO_OBJTREE_O");
	char dir[] = "/tmp/rapido-full.XXXXXX";
	char *log, *config, *obj, *text;
	int st;
	pid_t pid;

	if (!src || !built || !*src || !*built)
		SKIP(return, "RAPIDO_KTREE_O/RAPIDO_OBJTREE_O are not set");
	ASSERT_NE(NULL, mkdtemp(dir));
	log = strf("%s.log", dir);
	obj = strf("O=%s", dir);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char *const argv[] = { "scripts/rapido/rapido-test",
				 "PROFILE=simple", obj, NULL };
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		char *from = strf("%s/.config", built);
		char *settings = strf("%s/.rapido.config", built);

		if (unshare(CLONE_NEWNS) ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mount("tmpfs", dir, "tmpfs", 0, "size=" FULL_DISK_SIZE))
			_exit(99);
		/*
		 * .rapido.config first: made afresh by kconfig, it would
		 * also write an include/config/auto.conf of rapido's
		 * symbols, newer than this .config
		 */
		config = strf("%s/.rapido.config", dir);
		if (copy_with_times(settings, config))
			_exit(98);
		config = strf("%s/.config", dir);
		if (fd < 0 || copy_with_times(from, config) ||
		    dup2(fd, 1) < 0 || dup2(fd, 2) < 0 || chdir(src))
			_exit(98);
		/* kconfig's objects, which rapido-kconfig links */
		if (system(strf("make -s O=%s olddefconfig", dir)))
			_exit(96);
		execv(argv[0], argv);
		_exit(97);
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	text = read_text(log);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 99)
		SKIP(goto out, "cannot mount a tmpfs in a mount namespace");
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(128, WEXITSTATUS(st)) TH_LOG("%s", text);
	EXPECT_NE(NULL, strstr(text, "No space left on device")) TH_LOG("%s", text);
	EXPECT_NE(NULL, strstr(text, "rapido: kbuild failed: no space left on the device"))
		TH_LOG("%s", text);
out:
	free(text);
	unlink(log);
	rm_rf(dir);
	free(log);
	free(obj);
}

/*
 * .rapido/tmp (or mods) a symlink to another directory: refused with
 * 128, and nothing in that directory is touched.
 */
TEST_F_TIMEOUT(driver, rapido_symlinks_are_refused, BOOT_TIMEOUT)
{
	static const char *const names[] = { "tmp", "mods", "stamps" };
	char dir[] = "/tmp/rapido-link.XXXXXX";
	struct run r;

	ASSERT_NE(NULL, mkdtemp(dir));
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		char *entry = strf("%s/.rapido/%s", self->ktree, names[i]);
		char *saved = strf("%s.test-saved", entry);
		char *keep = strf("%s/keep", dir);
		char *run_dir = strf("%s/run.killed", dir);
		int moved;

		ASSERT_EQ(0, write_file(keep, 0644, "not rapido's\n"));
		ASSERT_EQ(0, mkdir(run_dir, 0755));
		moved = !rename(entry, saved);
		ASSERT_EQ(0, symlink(dir, entry));
		ASSERT_EQ(0, rapido_test(&r, self->ktree, "X=true", NULL));
		EXPECT_EQ(128, r.status) run_dump(&r);
		EXPECT_TRUE(both_have(&r, "is not the directory rapido made"))
			run_dump(&r);
		EXPECT_EQ(0, access(keep, F_OK)) TH_LOG("%s: removed", names[i]);
		EXPECT_EQ(0, access(run_dir, F_OK)) TH_LOG("%s: removed", names[i]);
		run_free(&r);
		ASSERT_EQ(0, unlink(entry));
		if (moved)
			ASSERT_EQ(0, rename(saved, entry));
		rmdir(run_dir);
		free(run_dir);
		free(keep);
		free(saved);
		free(entry);
	}
	rm_rf(dir);
}

/* The first .rapido/tmp/run.* in @ktree, or NULL. */
static char *find_run_dir(const char *ktree)
{
	char *pattern = strf("%s/.rapido/tmp/run.*", ktree);
	char *found = NULL;
	glob_t g;

	if (!glob(pattern, 0, NULL, &g) && g.gl_pathc)
		found = strdup(g.gl_pathv[0]);
	globfree(&g);
	free(pattern);
	return found;
}

/*
 * rapido-test killed with -9 (its process group: the driver, rapido-vm
 * and QEMU) leaves its .rapido/tmp/run.*; the next run removes it, and
 * leaves alone one whose run is alive (its lock is held).
 */
TEST_F_TIMEOUT(driver, killed_run_is_cleaned, BOOT_TIMEOUT)
{
	char *live = strf("%s/.rapido/tmp/run.test-live", self->ktree);
	char *live_lock = strf("%s/lock", live);
	char *dead = NULL, *dead_lock;
	struct run r;
	int st, fd;
	pid_t pid;

	/* built and cut first: the killed run goes straight to its VM */
	ASSERT_EQ(0, rapido_test(&r, self->ktree, "X=true", NULL));
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char *const argv[] = { "scripts/rapido/rapido-test",
				 "PROFILE=simple", "X=sleep 300",
				 "TIMEOUT=400", NULL };
		int nul = open("/dev/null", O_RDWR);

		if (setpgid(0, 0) || nul < 0 || dup2(nul, 1) < 0 ||
		    dup2(nul, 2) < 0 || chdir(self->ktree))
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	/* its run directory, then the VM's console: the run is under way */
	for (int i = 0; i < 6000 && !dead; i++) {
		dead = find_run_dir(self->ktree);
		if (!dead)
			usleep(50000);
	}
	if (!dead)
		kill(-pid, SIGKILL);
	ASSERT_NE(NULL, dead);
	sleep(2);
	ASSERT_EQ(0, kill(-pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_EQ(0, access(dead, F_OK)) TH_LOG("%s: gone before the next run", dead);
	/* QEMU dies with rapido-vm (PR_SET_PDEATHSIG): wait for the lock */
	dead_lock = strf("%s/lock", dead);
	fd = open(dead_lock, O_RDONLY | O_CLOEXEC);
	free(dead_lock);
	ASSERT_LE(0, fd);
	for (int i = 0; i < 200 && flock(fd, LOCK_EX | LOCK_NB); i++)
		usleep(50000);
	close(fd);

	/* a live run's directory: its lock held, here */
	ASSERT_EQ(0, mkdir(live, 0755));
	fd = open(live_lock, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, flock(fd, LOCK_EX));

	ASSERT_EQ(0, rapido_test(&r, self->ktree, "X=true", NULL));
	EXPECT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	EXPECT_NE(0, access(dead, F_OK)) TH_LOG("%s: still there", dead);
	EXPECT_EQ(0, access(live, F_OK)) TH_LOG("%s: removed", live);
	close(fd);
	rm_rf(live);
	free(live_lock);
	free(live);
	free(dead);
}

/*
 * O= with a source tree that holds a build of its own: kbuild wants make
 * mrproper, which rapido says in its own line; no GNUmakefile is left in
 * the output directory.
 */
TEST_F_TIMEOUT(driver, o_on_built_source_says_mrproper, BOOT_TIMEOUT)
{
	char dir[] = "/tmp/rapido-o.XXXXXX";
	char *o, *hook;
	struct run r;

	ASSERT_NE(NULL, mkdtemp(dir));
	o = strf("O=%s", dir);
	hook = strf("%s/GNUmakefile", dir);
	ASSERT_EQ(0, rapido_test(&r, self->ktree, o, NULL));
	EXPECT_EQ(128, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "rapido: ")) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "make mrproper")) run_dump(&r);
	EXPECT_NE(0, access(hook, F_OK)) TH_LOG("%s is left", hook);
	run_free(&r);
	rm_rf(dir);
	free(hook);
	free(o);
}

/* An autorun the guest cannot execute (no #!) is refused at the cut. */
TEST_F_TIMEOUT(driver, autorun_without_shebang_is_refused, BOOT_TIMEOUT)
{
	char *pdir = strf("%s/tools/testing/rapido/profiles/test-noshebang",
			  self->ktree);
	char *manifest = strf("%s/manifest", pdir);
	char *autorun = strf("%s/autorun", pdir);
	char *const argv[] = { "scripts/rapido/rapido", "cut",
			 "PROFILE=test-noshebang", NULL };
	struct run r;

	rm_rf(pdir);
	ASSERT_EQ(0, mkdir(pdir, 0755));
	ASSERT_EQ(0, write_file(manifest, 0644, "bin sh\n"));
	ASSERT_EQ(0, write_file(autorun, 0755, "echo no interpreter line\n"));
	ASSERT_EQ(0, run_in(&r, self->ktree, argv));
	EXPECT_EQ(128, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "does not start with #!")) run_dump(&r);
	run_free(&r);
	EXPECT_EQ(0, rm_rf(pdir));
	free(autorun);
	free(manifest);
	free(pdir);
}

TEST_HARNESS_MAIN
