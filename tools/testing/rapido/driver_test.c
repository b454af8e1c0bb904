// SPDX-License-Identifier: GPL-2.0
/*
 * The driver (scripts/rapido/rapido) as users meet it:
 *  - its fast path: make rapido-cut on an unchanged tree cuts without the
 *    full path's work, and never when a source changed (the watcher's
 *    answer) or .rapido.config did (even with its old mtime);
 *  - kbuild-style progress lines ("  CUT     simple", "  QEMU    simple
 *    (tcg)", "  PASS    simple  1.4s"), none with make -s, the commands
 *    with V=1;
 *  - make rapido-help lists every goal the driver has and every variable
 *    of rapido-settings' table;
 *  - the bash completion of the goals, PROFILE= and PROFILES=;
 *  - make rapido-test PROFILES='...' -j2: side by side, a summary table,
 *    non-zero naming the failing profile;
 *  - make rapido-list FORMAT=json: valid JSON with each profile's needs;
 *  - ALLOW_WARN=1: a WARN named (and where), the run passing;
 *  - a profile's allow-warn file: a WARN its pattern matches named (and
 *    where, and by which pattern), the run passing; one it does not match
 *    fails the run.
 *
 * RAPIDO_KTREE: a built tree with rapido installed (set by run_tests).
 */
#include "kselftest_harness.h"
#include "rapido_test.h"

#define RUN_TIMEOUT	900
#define PLANT_FILE	"drivers/misc/lkdtm/core.c"
#define FAIL_PROFILE	"drvtest-fail"

/* what only the full path prints of a cut (the fast path starts no stat) */
#define FULL_CUT	"KiB, cut in "

FIXTURE(drv) {
	const char *ktree;
	char *plant, *backup, *rc, *rc_backup, *fail_dir;
};

static void drop_fail_profile(const char *dir)
{
	static const char *const files[] = {
		"manifest", "config", "settings", "autorun", "allow-warn",
	};

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		char *p = strf("%s/%s", dir, files[i]);

		unlink(p);
		free(p);
	}
	rmdir(dir);
}

FIXTURE_SETUP(drv)
{
	char reason[256];

	RT_ONLY();
	self->ktree = built_ktree(reason, sizeof(reason));
	if (!self->ktree)
		SETUP_SKIP("%s", reason);
	self->fail_dir = strf("%s/tools/testing/rapido/profiles/%s",
			      self->ktree, FAIL_PROFILE);
	self->rc = strf("%s/.rapido.config", self->ktree);
	self->rc_backup = strf("%s/.rapido/test-driver-rc", self->ktree);
	self->plant = strf("%s/%s", self->ktree, PLANT_FILE);
	self->backup = strf("%s/.rapido/test-driver-backup", self->ktree);
	drop_fail_profile(self->fail_dir);
	ASSERT_EQ(0, restore_file(self->plant, self->backup));
	ASSERT_EQ(0, restore_file(self->rc, self->rc_backup));
}

FIXTURE_TEARDOWN(drv)
{
	char *status;

	if (!self->plant)
		return;
	drop_fail_profile(self->fail_dir);
	EXPECT_EQ(0, restore_file(self->plant, self->backup));
	EXPECT_EQ(0, restore_file(self->rc, self->rc_backup));
	EXPECT_TRUE(git_clean(self->ktree, &status))
		TH_LOG("git status of %s is not clean:\n%s", self->ktree,
		       status);
	free(status);
	free(self->plant);
	free(self->backup);
	free(self->rc);
	free(self->rc_backup);
	free(self->fail_dir);
}

/* make rapido-cut PROFILE=simple in the tree (not silent: progress lines) */
/* make rapido-cut PROFILE=simple, or (@dflt) .rapido.config's profile */
static int make_cut_as(struct run *r, const char *ktree, bool dflt)
{
	char *const argv[] = { "make", "rapido-cut",
			       dflt ? NULL : "PROFILE=simple", NULL };

	return run_in(r, ktree, argv);
}

static int make_cut(struct run *r, const char *ktree)
{
	return make_cut_as(r, ktree, false);
}

/* A run, then until the watcher it left answers. */
static int settle_as(struct run *r, const char *ktree, bool dflt)
{
	int ret = make_cut_as(r, ktree, dflt);

	return ret ? ret : watcher_ready(ktree);
}

static int settle(struct run *r, const char *ktree)
{
	return settle_as(r, ktree, false);
}

/* The first of the NULL-terminated @want that @text lacks, or NULL. */
static const char *lacks(const char *text, const char *const want[])
{
	for (; *want; want++)
		if (!strstr(text, *want))
			return *want;
	return NULL;
}

/*
 * Unchanged: the fast path cuts (the progress line, not the full path's
 * report). A touched source: kbuild runs. .rapido.config edited with its
 * old mtime: the full path reads it.
 */
TEST_F_TIMEOUT(drv, fast_path_only_when_unchanged, RUN_TIMEOUT)
{
	char *why = strf("kbuild: '%s' changed", self->plant);
	char *text;
	struct timespec t[2];
	struct stat st;
	struct run r;

	/* twice: the second finds the first's watcher and records */
	ASSERT_EQ(0, settle(&r, self->ktree)) run_dump(&r);
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, settle(&r, self->ktree)) run_dump(&r);
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);

	ASSERT_EQ(0, make_cut(&r, self->ktree));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "  CUT     simple\n")) run_dump(&r);
	EXPECT_FALSE(both_have(&r, FULL_CUT)) run_dump(&r);
	EXPECT_FALSE(both_have(&r, "kbuild:")) run_dump(&r);
	run_free(&r);

	/* a touched source is built, not cut past */
	ASSERT_EQ(0, copy_with_times(self->plant, self->backup));
	ASSERT_EQ(0, utimensat(AT_FDCWD, self->plant, NULL, 0));
	ASSERT_EQ(0, make_cut(&r, self->ktree));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, why)) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "CC [M]  drivers/misc/lkdtm/core.o"))
		run_dump(&r);
	EXPECT_TRUE(both_have(&r, FULL_CUT)) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, restore_file(self->plant, self->backup));

	/* .rapido.config changed, its mtime kept: the full path */
	ASSERT_EQ(0, settle(&r, self->ktree)) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, settle(&r, self->ktree)) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, copy_with_times(self->rc, self->rc_backup));
	ASSERT_EQ(0, stat(self->rc, &st));
	text = read_text(self->rc);
	ASSERT_NE(NULL, text);
	ASSERT_NE(NULL, strstr(text, "CONFIG_RAPIDO_TIMEOUT=300\n"));
	memcpy(strstr(text, "CONFIG_RAPIDO_TIMEOUT=300\n"),
	       "CONFIG_RAPIDO_TIMEOUT=301", 25);
	ASSERT_EQ(0, write_whole(self->rc, text, strlen(text)));
	t[0] = st.st_atim;
	t[1] = st.st_mtim;
	ASSERT_EQ(0, utimensat(AT_FDCWD, self->rc, t, 0));
	ASSERT_EQ(0, make_cut(&r, self->ktree));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, FULL_CUT)) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, restore_file(self->rc, self->rc_backup));
	free(text);
	free(why);
}

/*
 * Without PROFILE= (.rapido.config's profile, simple here) the fast path
 * is taken too: the record keeps PROFILE's absence, not the value the
 * full run settled on.
 */
TEST_F_TIMEOUT(drv, fast_path_without_profile, RUN_TIMEOUT)
{
	struct run r;

	ASSERT_EQ(0, settle_as(&r, self->ktree, true)) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, settle_as(&r, self->ktree, true)) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, make_cut_as(&r, self->ktree, true));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "  CUT     simple\n")) run_dump(&r);
	EXPECT_FALSE(both_have(&r, FULL_CUT)) run_dump(&r);
	run_free(&r);
}

/* it waited for the lock, then took the full path (and its lock) */
static int cut_after_waiting(const struct run *r)
{
	return r->status == 0 && both_have(r, FULL_CUT) &&
	       both_have(r, "another rapido run is building");
}

/*
 * The fast path takes the tree lock too: with another run holding it, a
 * make rapido-cut on an unchanged tree waits (in the full path), and does
 * not cut past it.
 */
TEST_F_TIMEOUT(drv, fast_path_waits_on_tree_lock, RUN_TIMEOUT)
{
	char *const argv[] = { "make", "rapido-cut", "PROFILE=simple", NULL };
	struct run r;

	ASSERT_EQ(0, settle(&r, self->ktree)) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, settle(&r, self->ktree)) run_dump(&r);
	run_free(&r);
	EXPECT_WAITS_ON_TREE_LOCK(self->ktree, argv, 3, cut_after_waiting);
}

/*
 * The batch runner (no make, so not silent) prints the progress lines;
 * make -s none; V=1 the command lines.
 */
TEST_F_TIMEOUT(drv, progress_lines, RUN_TIMEOUT)
{
	char *const test[] = { "scripts/rapido/rapido-test", "PROFILE=simple",
			       NULL };
	char *const silent[] = { "make", "-s", "rapido-test",
				 "PROFILE=simple", NULL };
	char *const verbose[] = { "make", "rapido-cut", "PROFILE=simple",
				  "V=1", NULL };
	static const char *const lines[] = {
		"  CUT     simple\n", "  QEMU    simple (", "  PASS    simple  ",
		NULL
	};
	struct run r;

	ASSERT_EQ(0, run_in(&r, self->ktree, test));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_EQ(NULL, lacks(r.out, lines)) run_dump(&r);
	run_free(&r);

	ASSERT_EQ(0, run_in(&r, self->ktree, silent));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_EQ(NULL, strstr(r.out, "  CUT     ")) run_dump(&r);
	EXPECT_EQ(NULL, strstr(r.out, "  PASS    ")) run_dump(&r);
	run_free(&r);

	ASSERT_EQ(0, run_in(&r, self->ktree, verbose));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "/.rapido/bin/rapido-cut -o "))
		run_dump(&r);
	run_free(&r);
}

/*
 * A long step says it is alive: a kernel build (a touched source) under
 * RAPIDO_ALIVE=1 ticks every second.
 */
TEST_F_TIMEOUT(drv, long_kbuild_is_alive, RUN_TIMEOUT)
{
	char *const argv[] = { "env", "RAPIDO_ALIVE=1", "make", "rapido-cut",
			       "PROFILE=simple", NULL };
	struct run r;

	ASSERT_EQ(0, copy_with_times(self->plant, self->backup));
	ASSERT_EQ(0, utimensat(AT_FDCWD, self->plant, NULL, 0));
	ASSERT_EQ(0, run_in(&r, self->ktree, argv));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "  KBUILD  ")) run_dump(&r);
	if (r.secs > 3)
		EXPECT_NE(NULL, strstr(r.out, "the kernel build: still running, "))
			run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, restore_file(self->plant, self->backup));
}

/* Each of the driver's goals, and each variable of the table. */
TEST_F_TIMEOUT(drv, help_lists_goals_and_variables, RUN_TIMEOUT)
{
	static const char *const goals[] = {
		"list", "config", "menuconfig", "cut", "test", "boot",
		"lab-up", "lab-status", "lab-down", "ceph-up", "ceph-down",
		"bench", "help",
	};
	char *const help[] = { "make", "-s", "rapido-help", NULL };
	char *settings = strf("%s/.rapido/bin/rapido-settings", self->ktree);
	char *const names[] = { settings, "--names", NULL };
	char *save, *n;
	struct run r, h;

	ASSERT_EQ(0, run_in(&h, self->ktree, help));
	ASSERT_EQ(0, h.status) run_dump(&h);
	for (size_t i = 0; i < ARRAY_SIZE(goals); i++) {
		char *line = strf("\n  rapido-%s ", goals[i]);

		EXPECT_NE(NULL, strstr(h.out, line)) TH_LOG("no %s", line);
		free(line);
	}
	ASSERT_EQ(0, run(&r, names));
	ASSERT_EQ(0, r.status) run_dump(&r);
	for (n = strtok_r(r.out, "\n ", &save); n;
	     n = strtok_r(NULL, "\n ", &save)) {
		char *word = strf(" %s=", n);

		EXPECT_NE(NULL, strstr(h.out, word)) TH_LOG("no %s", word);
		free(word);
	}
	run_free(&r);
	run_free(&h);
	free(settings);
}

/* The completion, in a bash that sources it, as bash would call it. */
TEST_F_TIMEOUT(drv, bash_completion, RUN_TIMEOUT)
{
	static const char script[] =
		". scripts/rapido/rapido-completion.bash\n"
		"t() { COMP_LINE=$1; COMP_POINT=${#1}; shift; "
		"COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); "
		"_rapido_make make \"${COMP_WORDS[-1]}\"; "
		"echo \"[${COMPREPLY[*]}]\"; }\n"
		"t 'make rapido-t' make rapido-t\n"
		"t 'make rapido-test PROFILE=si' make rapido-test PROFILE = si\n"
		"t \"make rapido-test PROFILES='simple ksel\" make rapido-test PROFILES = \"'simple ksel\"\n"
		"t 'make rapido-cut TIMEO' make rapido-cut TIMEO\n";
	char *const argv[] = { "bash", "-c", (char *)script, NULL };
	static const char *const replies[] = {
		"[rapido-test]\n", "[simple]\n", "['simple kselftest]\n",
		"[TIMEOUT=]\n", NULL
	};
	struct run r;

	ASSERT_EQ(0, run_in(&r, self->ktree, argv));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_EQ(NULL, lacks(r.out, replies)) run_dump(&r);
	run_free(&r);
}

/* A copy of simple whose autorun fails. */
static int plant_fail_profile(const char *ktree, const char *dir)
{
	static const char *const files[] = { "manifest", "config", "settings" };
	int ret = mkdir(dir, 0755) ? -errno : 0;

	for (size_t i = 0; !ret && i < ARRAY_SIZE(files); i++) {
		char *from = strf("%s/tools/testing/rapido/profiles/simple/%s",
				  ktree, files[i]);
		char *to = strf("%s/%s", dir, files[i]);
		char *text = read_text(from);

		ret = text ? write_file(to, 0644, text) : -ENOENT;
		free(text);
		free(from);
		free(to);
	}
	if (!ret) {
		char *autorun = strf("%s/autorun", dir);

		ret = write_file(autorun, 0755,
				 "#!/bin/sh\necho drvtest: failing on purpose\nexit 3\n");
		free(autorun);
	}
	return ret;
}

TEST_F_TIMEOUT(drv, profiles_side_by_side, RUN_TIMEOUT)
{
	char *const argv[] = { "make", "-j2", "rapido-test",
			       "PROFILES=simple " FAIL_PROFILE, NULL };
	char *log = strf("%s/.rapido/results/simple.console.log", self->ktree);
	char *text;
	struct run r;

	ASSERT_EQ(0, plant_fail_profile(self->ktree, self->fail_dir));
	ASSERT_EQ(0, run_in(&r, self->ktree, argv));
	EXPECT_NE(0, r.status) run_dump(&r);
	/* each job's progress, then the table */
	EXPECT_NE(NULL, strstr(r.out, "  TEST    simple\n")) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "  PASS    simple  ")) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "  FAIL    " FAIL_PROFILE "  "))
		run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "\nsimple           PASS  ")) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "\n" FAIL_PROFILE "     FAIL  "))
		run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "not passed: " FAIL_PROFILE))
		run_dump(&r);
	EXPECT_EQ(NULL, strstr(r.err, "not passed: simple")) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, log)) run_dump(&r);
	text = read_text(log);
	EXPECT_NE(NULL, text);
	EXPECT_NE(NULL, text ? strstr(text, "simple: mounts and modules ok") :
		  NULL);
	free(text);
	run_free(&r);
	free(log);
}

/* FORMAT=json: JSON (python3's parser says), every profile, its needs. */
TEST_F_TIMEOUT(drv, list_json, RUN_TIMEOUT)
{
	char *const argv[] = { "make", "-s", "rapido-list", "FORMAT=json",
			       NULL };
	char *out = strf("%s/.rapido/test-driver-list.json", self->ktree);
	char *check = strf("import json; d = json.load(open('%s')); "
			   "p = {x['name']: x for x in d['profiles']}; "
			   "assert p['network']['nic'] is True, 'nic'; "
			   "assert 'tcpecho' in p['network']['services'], 'svc'; "
			   "assert p['simple']['vms'] == 1, 'vms'; "
			   "assert 'ZRAM_SIZE' in p['blktests-zram']['variables'], 'vars'; "
			   "assert 'xfsprogs' in p['fstests-xfs']['packages'], 'pkgs'; "
			   "assert 'CONFIG_ZRAM=m' in p['blktests-zram']['kconfig'], 'kconfig'; "
			   "print('ok', len(p))", out);
	char *const py[] = { "python3", "-c", check, NULL };
	struct run r;

	ASSERT_EQ(0, run_in(&r, self->ktree, argv));
	ASSERT_EQ(0, r.status) run_dump(&r);
	ASSERT_EQ(0, write_file(out, 0644, r.out));
	run_free(&r);
	ASSERT_EQ(0, run(&r, py));
	if (r.status == 127)
		SKIP(goto out, "no python3 to parse the JSON");
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "ok ")) run_dump(&r);
out:
	run_free(&r);
	unlink(out);
	free(out);
	free(check);
}

/*
 * ALLOW_WARN=1: a WARN does not fail the run, and the report still names
 * it and where in the console log it is (and the TAP's kernel line).
 */
TEST_F_TIMEOUT(drv, allow_warn_names_the_splat, RUN_TIMEOUT)
{
	char *const argv[] = { "scripts/rapido/rapido-test", "PROFILE=simple",
			       "ALLOW_WARN=1",
			       "X=echo WARNING > /sys/kernel/debug/provoke-crash/DIRECT; echo X-SURVIVED-WARN",
			       NULL };
	char *tap = strf("%s/.rapido/results/simple.tap", self->ktree);
	struct run r;

	ASSERT_EQ(0, run_in(&r, self->ktree, argv));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "X-SURVIVED-WARN")) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "rapido-vm: kernel failure report 1, "))
		run_dump(&r);
	EXPECT_TRUE(both_have(&r, "/console.log line ")) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "allowed (--allow-warn), the first: WARNING:"))
		run_dump(&r);
	run_free(&r);
	EXPECT_FILE_HAS(tap, " - kernel # WARNING:", " - run\n");
	free(tap);
}

/*
 * A profile's allow-warn file (one ERE a line, against the report's first
 * line): the copy of simple whose autorun provokes lkdtm's WARN passes
 * when a pattern matches it, the report naming it, where it is and the
 * pattern; with a pattern that does not match, the WARN fails the run.
 */
TEST_F_TIMEOUT(drv, allow_warn_file_of_the_profile, RUN_TIMEOUT)
{
	char *const argv[] = { "scripts/rapido/rapido-test",
			       "PROFILE=" FAIL_PROFILE, NULL };
	char *autorun = strf("%s/autorun", self->fail_dir);
	char *allow = strf("%s/allow-warn", self->fail_dir);
	char *by = strf("(allowed by '^WARNING: .* lkdtm_WARNING\\+', %s:2)",
			allow);
	struct run r;

	ASSERT_EQ(0, plant_fail_profile(self->ktree, self->fail_dir));
	ASSERT_EQ(0, write_file(autorun, 0755,
				"#!/bin/sh\n"
				"echo WARNING > /sys/kernel/debug/provoke-crash/DIRECT\n"
				"echo drvtest: survived the WARN\n"));
	ASSERT_EQ(0, write_file(allow, 0644,
				"# lkdtm's WARN, provoked by the autorun\n"
				"^WARNING: .* lkdtm_WARNING\\+\n"));
	ASSERT_EQ(0, run_in(&r, self->ktree, argv));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "drvtest: survived the WARN")) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "rapido-vm: kernel failure report 1, "))
		run_dump(&r);
	EXPECT_TRUE(both_have(&r, "/console.log line ")) run_dump(&r);
	EXPECT_TRUE(both_have(&r, by)) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "1 kernel failure report(s) allowed ("))
		run_dump(&r);
	run_free(&r);

	/* a pattern that matches another WARN only: this one fails */
	ASSERT_EQ(0, write_file(allow, 0644, "^WARNING: .* ext4_\n"));
	ASSERT_EQ(0, run_in(&r, self->ktree, argv));
	EXPECT_EQ(1, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "rapido-vm: kernel failure report 1, "))
		run_dump(&r);
	EXPECT_TRUE(both_have(&r, "FAIL: kernel: WARNING: CPU: ")) run_dump(&r);
	EXPECT_FALSE(both_have(&r, "report(s) allowed")) run_dump(&r);
	run_free(&r);
	free(by);
	free(allow);
	free(autorun);
}

TEST_HARNESS_MAIN
