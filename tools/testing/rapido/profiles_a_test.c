// SPDX-License-Identifier: GPL-2.0
/*
 * Real boots of the local test profiles: fstests-{xfs,btrfs,ext4} and
 * blktests-zram (zram devices, file systems, the suite's config and its
 * tree packed without .git), and kselftest (this tree's selftests built,
 * packed and run; their TAP is the result).
 *
 * xfstests and blktests are not packaged in Debian: run_tests builds them
 * from their source tarballs (scripts/rapido/quickstart --suites) and
 * names the build directories in RAPIDO_FSTESTS_SRC and
 * RAPIDO_BLKTESTS_SRC, object files and all, as users run them. The
 * real suites run generic/001 on each file system and block/012 on zram;
 * a run in which no test ran must fail. Small fake trees (a `check`
 * script) remain only for what the real suites cannot show: a failing
 * check, and a .git that must stay out of the image.
 *
 * RAPIDO_KTREE: a built tree with rapido installed whose .config has the
 * options of every profile (a profile whose options are missing SKIPs,
 * with the reason). RAPIDO_BIN: rapido's programs (rapido-kconfig).
 */
#include <dirent.h>

#include "kselftest_harness.h"
#include "rapido_test.h"

#define BOOT_TIMEOUT	900

FIXTURE(prof) {
	const char *ktree;
	char dir[64];
};

FIXTURE_SETUP(prof)
{
	/* the profiles' variables come from the environment, too */
	unsetenv("FSTESTS_SRC");
	unsetenv("FSTESTS");
	unsetenv("BLKTESTS_SRC");
	unsetenv("BLKTESTS");
	unsetenv("ZRAM_SIZE");
	unsetenv("KSELFTESTS");
	unsetenv("TARGETS");
	self->dir[0] = '\0';
	self->ktree = SETUP_KTREE();
	if (!rapido_bin("rapido-kconfig"))
		SETUP_SKIP("RAPIDO_BIN is not set (run_tests sets it)");
	strcpy(self->dir, "/tmp/rapido-profiles.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
}

FIXTURE_TEARDOWN(prof)
{
	char *const argv[] = { "git", "-C", (char *)self->ktree, "status",
			 "--porcelain", NULL };
	struct run r;

	if (self->dir[0])
		EXPECT_EQ(0, rm_rf(self->dir));
	if (!self->ktree || !self->dir[0])
		return;
	ASSERT_EQ(0, run(&r, argv));
	EXPECT_EQ(0, r.status);
	EXPECT_STREQ("", r.out) TH_LOG("git status of %s is not clean",
				       self->ktree);
	run_free(&r);
}

/*
 * Does the tree's .config carry @profile's options? rapido-kconfig -e, as
 * rapido-test checks it; NULL if so, else why not (for SKIP, which
 * run_tests counts as a failure). A checker that cannot run or fails
 * otherwise is the test's failure, never a skip: NULL then too.
 */
static char *lacks_options(struct __test_metadata *_metadata,
			   const char *ktree, const char *profile)
{
	char *config = strf("%s/.config", ktree);
	char *base = strf("%s/tools/testing/rapido/base.config", ktree);
	char *frag = strf("%s/tools/testing/rapido/profiles/%s/config", ktree,
			  profile);
	char *const argv[] = { (char *)rapido_bin("rapido-kconfig"), "-e",
			 "-s", (char *)ktree, "-c", config, base, frag, NULL };
	char *why = NULL;
	struct run r;

	setenv("srctree", ktree, 1);
	EXPECT_EQ(0, run(&r, argv)) TH_LOG("cannot run %s", argv[0]);
	EXPECT_TRUE(r.status == 0 || r.status == 1)
		TH_LOG("rapido-kconfig failed (exit %d): %s", r.status, r.err);
	if (r.status == 1)
		why = strf("%s/.config lacks profile %s's options (make rapido-config PROFILE=%s): %s",
			   ktree, profile, profile, r.out);
	run_free(&r);
	unsetenv("srctree");
	free(config);
	free(base);
	free(frag);
	return why;
}

/* scripts/rapido/rapido-test PROFILE=@profile [args] in the tree */
static int rapido_test(struct run *r, const char *ktree, const char *profile,
		       const char *a1, const char *a2, const char *a3)
{
	char *p = strf("PROFILE=%s", profile);
	char *const argv[] = { "scripts/rapido/rapido-test", p, (char *)a1,
			 (char *)a2, (char *)a3, NULL };
	int ret = run_in(r, ktree, argv);

	fprintf(stderr, "# %s: exit %d in %.1f s\n", p, r->status, r->secs);
	free(p);
	return ret;
}

/* mkdir @dir/@name, or @dir/@name/@sub */
static int mkdir_in(const char *dir, const char *name, const char *sub)
{
	char *path = sub ? strf("%s/%s/%s", dir, name, sub) :
			   strf("%s/%s", dir, name);
	int ret = mkdir(path, 0755) ? -errno : 0;

	free(path);
	return ret;
}

/*
 * A fake suite tree in @dir/@name: check (the given script), common/,
 * tests/, src/ with an ELF helper, and a .git that must not be packed.
 */
static int fake_suite(const char *dir, const char *name, const char *check)
{
	char *path;
	int ret;

	ret = mkdir_in(dir, name, NULL) ?:
	      mkdir_in(dir, name, "common") ?:
	      mkdir_in(dir, name, "tests") ?:
	      mkdir_in(dir, name, "src") ?:
	      mkdir_in(dir, name, ".git");
	if (ret)
		return ret;
	path = strf("%s/%s/check", dir, name);
	ret = write_file(path, 0755, check);
	free(path);
	path = strf("%s/%s/common/rc", dir, name);
	ret = ret ?: write_file(path, 0644, "echo FAKE-COMMON-RC\n");
	free(path);
	path = strf("%s/%s/.git/HEAD", dir, name);
	ret = ret ?: write_file(path, 0644, "ref: refs/heads/master\n");
	free(path);
	if (!ret) {
		char *to = strf("%s/%s/src/helper", dir, name);
		char *const argv[] = { "cp", "/usr/bin/nproc", to, NULL };
		struct run r;

		ret = run(&r, argv) ?: (r.status ? -EIO : 0);
		run_free(&r);
		free(to);
	}
	return ret;
}

/* The real suites' builds (run_tests: quickstart --suites), or NULL. */
static const char *suite_src(const char *var)
{
	const char *p = getenv(var);

	return p && *p ? p : NULL;
}

/* A run of scripts/rapido/rapido-test started in the background. */
struct bg {
	pid_t pid;
	char *log;		/* its stdout and stderr */
	double t0;
};

static int rapido_test_bg(struct bg *b, const char *ktree, const char *log,
			  char *const args[])
{
	char *argv[8] = { "scripts/rapido/rapido-test" };

	for (int i = 0; args[i] && i < 6; i++)
		argv[i + 1] = args[i];
	b->log = strdup(log);
	b->t0 = rt_now();
	b->pid = fork();
	if (b->pid < 0)
		return -errno;
	if (!b->pid) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			      0644);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 ||
		    chdir(ktree))
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	return 0;
}

/* Wait for @b; its exit status and output in @r, as run() gives them. */
static int rapido_test_wait(struct bg *b, struct run *r, const char *what)
{
	int st;

	if (waitpid(b->pid, &st, 0) != b->pid)
		return -errno;
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r->secs = rt_now() - b->t0;
	r->out = read_text(b->log);
	r->err = strdup("");
	fprintf(stderr, "# %s: exit %d in %.1f s\n", what, r->status,
		r->secs);
	free(b->log);
	return r->out && r->err ? 0 : -ENOMEM;
}

/*
 * The real xfstests (RAPIDO_FSTESTS_SRC, object files and all) runs
 * generic/001 on each file system. The three guests boot at once: each
 * has one CPU, the runs take minutes under TCG.
 */
TEST_F_TIMEOUT(prof, fstests_generic_001_on_xfs_btrfs_ext4, BOOT_TIMEOUT)
{
	static const char *const fs[] = { "xfs", "btrfs", "ext4" };
	const char *xfstests = suite_src("RAPIDO_FSTESTS_SRC");
	struct bg bg[ARRAY_SIZE(fs)];
	char *src, *why;

	if (!self->ktree)
		return;		/* skipped in the setup */
	for (size_t i = 0; i < ARRAY_SIZE(fs); i++) {
		char *profile = strf("fstests-%s", fs[i]);

		why = lacks_options(_metadata, self->ktree, profile);
		free(profile);
		if (why)
			SKIP(return, "%s", why);
	}
	if (!xfstests)
		SKIP(return, "RAPIDO_FSTESTS_SRC is not set (run_tests builds xfstests: quickstart --suites)");
	src = strf("FSTESTS_SRC=%s", xfstests);
	for (size_t i = 0; i < ARRAY_SIZE(fs); i++) {
		char *profile = strf("PROFILE=fstests-%s", fs[i]);
		char *log = strf("%s/%s.log", self->dir, fs[i]);
		char *const args[] = { profile, src, "ZRAM_SIZE=512M",
				       "FSTESTS=generic/001", NULL };

		ASSERT_EQ(0, rapido_test_bg(&bg[i], self->ktree, log, args));
		free(profile);
		free(log);
	}
	for (size_t i = 0; i < ARRAY_SIZE(fs); i++) {
		char *what = strf("PROFILE=fstests-%s", fs[i]);
		struct run r;
		char *line;

		ASSERT_EQ(0, rapido_test_wait(&bg[i], &r, what));
		free(what);
		EXPECT_EQ(0, r.status) run_dump(&r);
		line = strf("fstests: %s TEST_DEV=/dev/zram0 on /mnt/test, SCRATCH_DEV=/dev/zram1",
			    fs[i]);
		EXPECT_TRUE(both_have(&r, line)) run_dump(&r);
		free(line);
		EXPECT_TRUE(both_have(&r, "Ran: generic/001")) run_dump(&r);
		EXPECT_TRUE(both_have(&r, "Passed all 1 tests")) run_dump(&r);
		EXPECT_TRUE(both_have(&r, "fstests: ./check ran 1 tests (0 not run), status 0"))
			run_dump(&r);
		run_free(&r);
	}
	free(src);
}

/*
 * The real xfstests on ext4: FSTESTS=@tests on zram devices; the run (to
 * be freed) for more checks; r->out stays NULL when skipped.
 */
static void fstests_real(struct __test_metadata *_metadata, struct run *r,
			 const char *ktree, const char *tests)
{
	const char *xfstests = suite_src("RAPIDO_FSTESTS_SRC");
	char *src, *t, *why;

	if (!ktree)
		return;		/* skipped in the setup */
	why = lacks_options(_metadata, ktree, "fstests-ext4");
	if (why)
		SKIP(return, "%s", why);
	if (!xfstests)
		SKIP(return, "RAPIDO_FSTESTS_SRC is not set (run_tests builds xfstests: quickstart --suites)");
	src = strf("FSTESTS_SRC=%s", xfstests);
	t = strf("FSTESTS=%s", tests);
	ASSERT_EQ(0, rapido_test(r, ktree, "fstests-ext4", src,
				 "ZRAM_SIZE=512M", t));
	EXPECT_TRUE(both_have(r, "fstests: ext4 TEST_DEV=/dev/zram0 on /mnt/test"))
		run_dump(r);
	free(t);
	free(src);
}

/*
 * check passes when every test it tried was "not run" (here a reflink
 * test on ext4): a run of no test must not pass.
 */
TEST_F_TIMEOUT(prof, fstests_no_test_run_fails, BOOT_TIMEOUT)
{
	struct run r = { 0 };

	fstests_real(_metadata, &r, self->ktree, "generic/110");
	if (!r.out)
		return;
	EXPECT_EQ(1, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "Not run: generic/110")) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "fstests: ./check ran no test (1 tried, 1 not run): FSTESTS='generic/110'"))
		run_dump(&r);
	run_free(&r);
}

/* What the fake xfstests check reports: its config, mounts, devices. */
static const char fstests_check[] =
	"#!/bin/bash\n"
	". ./common/rc\n"
	". ./local.config\n"
	"echo \"FAKE-CHECK args: $*\"\n"
	"[ -e .git ] || echo FAKE-CHECK-NO-GIT\n"
	"src/helper > /dev/null && echo FAKE-CHECK-HELPER-RUNS\n"
	"[ \"$1\" = fail ] && exit 3\n"
	"exit 0\n";

TEST_F_TIMEOUT(prof, fstests_check_failure_fails_the_run, BOOT_TIMEOUT)
{
	char *why;
	struct run r;
	char *src;

	why = lacks_options(_metadata, self->ktree, "fstests-ext4");
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, fake_suite(self->dir, "xfstests", fstests_check));
	src = strf("FSTESTS_SRC=%s/xfstests", self->dir);
	ASSERT_EQ(0, rapido_test(&r, self->ktree, "fstests-ext4", src,
				 "FSTESTS=fail", NULL));
	EXPECT_EQ(1, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "FAKE-CHECK args: fail")) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "FAKE-CHECK-NO-GIT")) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "FAKE-CHECK-HELPER-RUNS")) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "status 3")) run_dump(&r);
	run_free(&r);
	free(src);
}

TEST_F_TIMEOUT(prof, fstests_without_src_is_a_clear_error, BOOT_TIMEOUT)
{
	char *why;
	struct run r;

	why = lacks_options(_metadata, self->ktree, "fstests-xfs");
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, rapido_test(&r, self->ktree, "fstests-xfs", NULL, NULL,
				 NULL));
	EXPECT_EQ(128, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "needs FSTESTS_SRC=")) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "xfstests-dev")) run_dump(&r);
	run_free(&r);
}

TEST_F_TIMEOUT(prof, fstests_src_not_a_tree_is_a_clear_error, BOOT_TIMEOUT)
{
	char *why;
	struct run r;
	char *src;

	why = lacks_options(_metadata, self->ktree, "fstests-xfs");
	if (why)
		SKIP(return, "%s", why);
	src = strf("FSTESTS_SRC=%s", self->dir);
	ASSERT_EQ(0, rapido_test(&r, self->ktree, "fstests-xfs", src, NULL,
				 NULL));
	EXPECT_EQ(128, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "is not a fstests tree")) run_dump(&r);
	run_free(&r);
	free(src);
}

/* The real blktests on zram: BLKTESTS=@tests. */
static void blktests_real(struct __test_metadata *_metadata, struct run *r,
			  const char *ktree, const char *tests)
{
	const char *blktests = suite_src("RAPIDO_BLKTESTS_SRC");
	char *src, *t, *why;

	if (!ktree)
		return;		/* skipped in the setup */
	why = lacks_options(_metadata, ktree, "blktests-zram");
	if (why)
		SKIP(return, "%s", why);
	if (!blktests)
		SKIP(return, "RAPIDO_BLKTESTS_SRC is not set (run_tests builds blktests: quickstart --suites)");
	src = strf("BLKTESTS_SRC=%s", blktests);
	t = strf("BLKTESTS=%s", tests);
	ASSERT_EQ(0, rapido_test(r, ktree, "blktests-zram", src,
				 "ZRAM_SIZE=256M", t));
	EXPECT_TRUE(both_have(r, "blktests: TEST_DEVS=(/dev/zram0)"))
		run_dump(r);
	free(t);
	free(src);
}

/* block/012: BLKROSET on the zram device; a test of the block group */
TEST_F_TIMEOUT(prof, blktests_block_012_on_zram, BOOT_TIMEOUT)
{
	struct run r = { 0 };

	blktests_real(_metadata, &r, self->ktree, "block/012");
	if (!r.out)
		return;
	EXPECT_EQ(0, r.status) run_dump(&r);
	/* what check needs of the image and of rapido-init's /dev */
	EXPECT_FALSE(both_have(&r, "is not available")) run_dump(&r);
	EXPECT_FALSE(both_have(&r, "command not found")) run_dump(&r);
	EXPECT_FALSE(both_have(&r, "/dev/fd/")) run_dump(&r);
	EXPECT_FALSE(both_have(&r, "bash version is older")) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "block/012 => zram0")) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "[passed]")) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "blktests: ./check ran 1 tests (0 not run), status 0"))
		run_dump(&r);
	run_free(&r);
}

/* every test "[not run]" (no nvme target here): no pass */
TEST_F_TIMEOUT(prof, blktests_no_test_run_fails, BOOT_TIMEOUT)
{
	struct run r = { 0 };

	blktests_real(_metadata, &r, self->ktree, "nvme/002");
	if (!r.out)
		return;
	EXPECT_EQ(1, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "[not run]")) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "blktests: ./check ran no test (")) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "not run): BLKTESTS='nvme/002'"))
		run_dump(&r);
	run_free(&r);
}

/* rapido-init links /dev/fd, /dev/stdin...: bash's <(...) works */
TEST_F_TIMEOUT(prof, dev_fd_links, BOOT_TIMEOUT)
{
	struct run r;

	if (!self->ktree)
		return;		/* skipped in the setup */
	ASSERT_EQ(0, rapido_test(&r, self->ktree, "simple",
				 "X=bash -c 'cat <(echo fd-ok-$((6 * 7)))'; ls -l /dev/stdin /dev/fd",
				 NULL, NULL));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "fd-ok-42")) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "/dev/stdin -> /proc/self/fd/0")) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "/dev/fd -> /proc/self/fd")) run_dump(&r);
	run_free(&r);
}

TEST_F_TIMEOUT(prof, blktests_without_src_is_a_clear_error, BOOT_TIMEOUT)
{
	char *why;
	struct run r;

	why = lacks_options(_metadata, self->ktree, "blktests-zram");
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, rapido_test(&r, self->ktree, "blktests-zram", NULL, NULL,
				 NULL));
	EXPECT_EQ(128, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "needs BLKTESTS_SRC=")) run_dump(&r);
	run_free(&r);
}

TEST_F_TIMEOUT(prof, kselftest_default_targets_pass, BOOT_TIMEOUT)
{
	char *why;
	char *list, *path;
	struct run r;

	why = lacks_options(_metadata, self->ktree, "kselftest");
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, rapido_test(&r, self->ktree, "kselftest", NULL, NULL,
				 NULL));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "ok 1 selftests: size: get_size")) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "selftests: sigaltstack: sas")) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "kselftest: 2 pass, 0 fail, 0 skip (of 2)"))
		run_dump(&r);
	/* built and installed under .rapido/, nowhere else (teardown) */
	path = strf("%s/.rapido/kselftest/install/kselftest-list.txt",
		    self->ktree);
	list = read_text(path);
	ASSERT_NE(NULL, list) TH_LOG("%s: %s", path, strerror(errno));
	EXPECT_NE(NULL, strstr(list, "size:get_size"));
	free(list);
	free(path);
	run_free(&r);
}

TEST_F_TIMEOUT(prof, kselftest_unknown_target_is_a_clear_error, BOOT_TIMEOUT)
{
	char *why;
	struct run r;

	why = lacks_options(_metadata, self->ktree, "kselftest");
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, rapido_test(&r, self->ktree, "kselftest",
				 "KSELFTESTS=size no-such-target", NULL,
				 NULL));
	EXPECT_EQ(128, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err,
			       "'no-such-target' is not a selftest target"))
		run_dump(&r);
	run_free(&r);
}

/* lib/report.sh's verdict on TAP: any top-level "not ok" fails */
TEST_F(prof, tap_summary_fails_on_not_ok)
{
	static const struct {
		const char *tap, *summary;
		int status;
	} cases[] = {
		{ "1..2\nok 1 a\nok 2 b # SKIP no dev\n",
		  "t: 1 pass, 0 fail, 1 skip (of 2)", 0 },
		{ "1..2\n# not ok 1 nested\nok 1 a\nnot ok 2 b # exit=1\n",
		  "t: 1 pass, 1 fail, 0 skip (of 2)", 1 },
		{ "TAP version 13\n", "t: 0 pass, 0 fail, 0 skip (of 0)", 1 },
	};
	char *tap = strf("%s/t.tap", self->dir);
	char *cmd = strf(". %s/tools/testing/rapido/profiles/lib/report.sh && tap_summary t %s",
			 self->ktree, tap);
	char *const argv[] = { "sh", "-c", cmd, NULL };

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct run r;

		ASSERT_EQ(0, write_file(tap, 0644, cases[i].tap));
		ASSERT_EQ(0, run(&r, argv));
		EXPECT_EQ(cases[i].status, r.status) run_dump(&r);
		EXPECT_NE(NULL, strstr(r.out, cases[i].summary)) run_dump(&r);
		run_free(&r);
	}
	free(cmd);
	free(tap);
}

TEST_F(prof, unknown_variable_is_still_refused)
{
	struct run r;

	ASSERT_EQ(0, rapido_test(&r, self->ktree, "kselftest",
				 "FSTESTS_SRC=/tmp", NULL, NULL));
	EXPECT_EQ(128, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "unknown variable 'FSTESTS_SRC'"))
		run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "KSELFTESTS")) run_dump(&r);
	run_free(&r);
}

TEST_F(prof, list_describes_every_profile)
{
	char *const argv[] = { "make", "-s", "rapido-list", NULL };
	/* every profile directory installed in the tree, none named here */
	char *pdir = strf("%s/tools/testing/rapido/profiles", self->ktree);
	DIR *d = opendir(pdir);
	struct dirent *e;
	int listed = 0;
	struct run r;
	char *out;

	ASSERT_NE(NULL, d) TH_LOG("%s: %s", pdir, strerror(errno));
	ASSERT_EQ(0, run_in(&r, self->ktree, argv));
	EXPECT_EQ(0, r.status) run_dump(&r);
	out = strf("\n%s", r.out);
	while ((e = readdir(d))) {
		char *manifest = strf("%s/%s/manifest", pdir, e->d_name);
		char *line = strf("\n%-16s ", e->d_name);
		char *p = strstr(out, line);

		if (access(manifest, F_OK)) {
			free(manifest);
			free(line);
			continue;
		}
		listed++;
		EXPECT_NE(NULL, p) TH_LOG("%s is not listed:\n%s",
					  e->d_name, r.out);
		if (p)
			EXPECT_NE(0, strncmp(p + strlen(line),
					     "(no description)", 16));
		free(manifest);
		free(line);
	}
	closedir(d);
	free(pdir);
	EXPECT_LE(9, listed);
	EXPECT_NE(NULL, strstr(r.out, "vars FSTESTS_SRC FSTESTS ZRAM_SIZE=1G"))
		run_dump(&r);
	free(out);
	run_free(&r);
}

TEST_HARNESS_MAIN
