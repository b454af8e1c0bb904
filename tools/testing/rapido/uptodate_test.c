// SPDX-License-Identifier: GPL-2.0
/*
 * The driver skips kbuild when nothing kbuild reads changed since its last
 * successful run. It must never skip a needed build: a touched .c and an
 * edited .c (even one given back its old mtime) must run kbuild; an edit
 * made while kbuild runs, an edit whose mtime is older than its object, a
 * .config restored with an old mtime, another variable on make's command
 * line, and an edit of a source's target when the source is a symlink out
 * of the tree must all end in a kernel (checked in the booted guest where
 * it can be) that carries the change.
 *
 * Each case runs twice: answered by rapido-watch (the inotify watcher a
 * run leaves behind; the test waits until it is ready) and by the ctime
 * scan (WATCH=n).
 *
 * RAPIDO_KTREE: a built tree with rapido installed (set by run_tests).
 * The edited file is restored from a backup by every setup and teardown.
 */
#include "kselftest_harness.h"
#include "rapido_test.h"

#define RUN_TIMEOUT	900
#define PLANT_FILE	"drivers/misc/lkdtm/core.c"

FIXTURE(uptodate) {
	const char *ktree;
	char *plant, *backup;
};

FIXTURE_VARIANT(uptodate) {
	const char *watch;	/* WATCH= for every run */
	const char *skipped;	/* what V=1 says when kbuild is skipped */
};

FIXTURE_VARIANT_ADD(uptodate, watcher) {
	.watch = "WATCH=y",
	.skipped = "kbuild: nothing changed (rapido-watch), skipped",
};

FIXTURE_VARIANT_ADD(uptodate, scan) {
	.watch = "WATCH=n",
	.skipped = "kbuild: nothing changed, skipped (checked in ",
};

FIXTURE_SETUP(uptodate)
{
	RT_ONLY();
	self->ktree = SETUP_KTREE();
	self->plant = strf("%s/%s", self->ktree, PLANT_FILE);
	self->backup = strf("%s/.rapido/test-uptodate-backup", self->ktree);
	ASSERT_EQ(0, restore_file(self->plant, self->backup));
}

FIXTURE_TEARDOWN(uptodate)
{
	if (!self->plant)
		return;
	EXPECT_EQ(0, restore_file(self->plant, self->backup));
	free(self->plant);
	free(self->backup);
}

/* scripts/rapido/rapido cut PROFILE=simple @watch V=@v in the tree */
static int cut(struct run *r, const char *ktree, const char *watch,
	       const char *v)
{
	char *const argv[] = { "scripts/rapido/rapido", "cut",
			 "PROFILE=simple", (char *)watch, (char *)v, NULL };

	return run_in(r, ktree, argv);
}

/*
 * A first run, after which the tree is up to date; with the watcher, wait
 * until the one it left is ready (its socket is bound last).
 */
static int settle(struct run *r, const char *ktree, const char *watch)
{
	int ret = cut(r, ktree, watch, "V=0");

	if (!ret && !strcmp(watch, "WATCH=y"))
		ret = watcher_ready(ktree);
	return ret;
}

TEST_F_TIMEOUT(uptodate, unchanged_tree_skips_kbuild, RUN_TIMEOUT)
{
	struct run r;

	ASSERT_EQ(0, settle(&r, self->ktree, variant->watch)) run_dump(&r);
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, cut(&r, self->ktree, variant->watch, "V=1"));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, variant->skipped)) run_dump(&r);
	run_free(&r);
}

TEST_F_TIMEOUT(uptodate, touched_c_rebuilds, RUN_TIMEOUT)
{
	char *why = strf("kbuild: '%s' changed", self->plant);
	struct run r;

	ASSERT_EQ(0, settle(&r, self->ktree, variant->watch)) run_dump(&r);
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, utimensat(AT_FDCWD, self->plant, NULL, 0));
	ASSERT_EQ(0, cut(&r, self->ktree, variant->watch, "V=0"));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, why)) run_dump(&r);
	/* kbuild really compiled it */
	EXPECT_TRUE(both_have(&r, "CC [M]  drivers/misc/lkdtm/core.o")) run_dump(&r);
	run_free(&r);
	free(why);
}

TEST_F_TIMEOUT(uptodate, edit_with_old_mtime_runs_kbuild, RUN_TIMEOUT)
{
	char *why = strf("kbuild: '%s' changed", self->plant);
	char *text, *edited;
	struct timespec t[2];
	struct stat st;
	struct run r;
	size_t len;

	ASSERT_EQ(0, settle(&r, self->ktree, variant->watch)) run_dump(&r);
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	/* backup with its times, for setup/teardown to restore */
	ASSERT_EQ(0, copy_with_times(self->plant, self->backup));
	ASSERT_EQ(0, stat(self->plant, &st));
	text = read_text_len(self->plant, &len);
	ASSERT_NE(NULL, text);
	edited = strf("%s\n/* rapido uptodate_test edit */\n", text);
	ASSERT_EQ(0, write_file(self->plant, 0644, edited));
	/* the old mtime back: only the ctime tells */
	t[0] = st.st_atim;
	t[1] = st.st_mtim;
	ASSERT_EQ(0, utimensat(AT_FDCWD, self->plant, t, 0));
	ASSERT_EQ(0, cut(&r, self->ktree, variant->watch, "V=0"));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, why)) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, restore_file(self->plant, self->backup));
	free(text);
	free(edited);
	free(why);
}

/* Append @text to @path, keeping its mtime when @keep_mtime. */
static int append_text(const char *path, const char *text, int keep_mtime)
{
	struct timespec t[2];
	struct stat st;
	char *old, *now;
	size_t len;
	int ret;

	if (stat(path, &st))
		return -errno;
	old = read_text_len(path, &len);
	if (!old)
		return -errno;
	now = strf("%s%s", old, text);
	ret = write_file(path, 0644, now);
	free(old);
	free(now);
	if (ret || !keep_mtime)
		return ret;
	t[0] = st.st_atim;
	t[1] = st.st_mtim;
	return utimensat(AT_FDCWD, path, t, 0) ? -errno : 0;
}

/* rapido-test PROFILE=simple @watch X=@x in the tree */
static int boot_x(struct run *r, const char *ktree, const char *watch,
		  const char *x)
{
	char *xarg = strf("X=%s", x);
	char *const argv[] = { "scripts/rapido/rapido-test", "PROFILE=simple",
			 (char *)watch, xarg, NULL };
	int ret = run_in(r, ktree, argv);

	free(xarg);
	return ret;
}

#define MOD_VERSION	"cat /sys/module/lkdtm/version"

/*
 * An edit saved while kbuild runs (after it compiled the file) must be
 * built by the next run, never skipped as "nothing changed": the booted
 * module carries the second edit.
 */
TEST_F_TIMEOUT(uptodate, edit_during_kbuild_is_built, RUN_TIMEOUT)
{
	char *log = strf("%s/.rapido/test-uptodate-during.log", self->ktree);
	char *const argv[] = { "scripts/rapido/rapido", "cut", "PROFILE=simple",
			 (char *)variant->watch, NULL };
	char *text = NULL;
	struct run r;
	pid_t pid;
	int st;

	ASSERT_EQ(0, settle(&r, self->ktree, variant->watch)) run_dump(&r);
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, copy_with_times(self->plant, self->backup));
	ASSERT_EQ(0, append_text(self->plant, "MODULE_VERSION(\"M5\");\n", 0));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 ||
		    chdir(self->ktree))
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	/* the module's objects are made: kbuild read core.c */
	for (int i = 0; i < 30000; i++) {
		free(text);
		text = read_text(log);
		if (text && strstr(text, "LD [M]  drivers/misc/lkdtm/lkdtm.o"))
			break;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			pid = 0;
			break;
		}
		usleep(10000);
	}
	ASSERT_NE(0, pid) TH_LOG("kbuild ended before the edit:\n%s", text);
	ASSERT_EQ(0, append_text(self->plant, "MODULE_VERSION(\"M6\");\n", 0));
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	free(text);
	text = read_text(log);
	EXPECT_TRUE(WIFEXITED(st) && !WEXITSTATUS(st)) TH_LOG("%s", text);
	free(text);

	ASSERT_EQ(0, boot_x(&r, self->ktree, variant->watch, MOD_VERSION));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "changed while kbuild ran")) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "\nM6")) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, restore_file(self->plant, self->backup));
	unlink(log);
	free(log);
}

/* An edit whose mtime is older than its object: the guest runs the edit. */
TEST_F_TIMEOUT(uptodate, edit_older_than_object_is_built, RUN_TIMEOUT)
{
	struct timespec t[2] = { { .tv_sec = 978307200 }, { .tv_sec = 978307200 } };
	struct run r;

	ASSERT_EQ(0, settle(&r, self->ktree, variant->watch)) run_dump(&r);
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, copy_with_times(self->plant, self->backup));
	ASSERT_EQ(0, append_text(self->plant, "MODULE_VERSION(\"M7\");\n", 0));
	/* touch -d 2001-01-01 */
	ASSERT_EQ(0, utimensat(AT_FDCWD, self->plant, t, 0));
	ASSERT_EQ(0, boot_x(&r, self->ktree, variant->watch, MOD_VERSION));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "is not newer than what kbuild made from it"))
		run_dump(&r);
	EXPECT_TRUE(both_have(&r, "\nM7")) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, restore_file(self->plant, self->backup));
}

/*
 * A .config edited and given back its old mtime (touch -r): kconfig runs
 * again (syncconfig), so the build uses the new value.
 */
TEST_F_TIMEOUT(uptodate, config_with_old_mtime_is_read, RUN_TIMEOUT)
{
	char *config = strf("%s/.config", self->ktree);
	char *saved = strf("%s/.rapido/test-uptodate-config", self->ktree);
	char *autoconf = strf("%s/include/config/auto.conf", self->ktree);
	char *text, *p;
	struct run r;

	ASSERT_EQ(0, restore_file(config, saved));
	ASSERT_EQ(0, settle(&r, self->ktree, variant->watch)) run_dump(&r);
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, copy_with_times(config, saved));
	ASSERT_EQ(0, append_text(config,
				 "CONFIG_DEFAULT_HOSTNAME=\"rapido-m8\"\n", 1));
	ASSERT_EQ(0, cut(&r, self->ktree, variant->watch, "V=0"));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "make syncconfig")) run_dump(&r);
	run_free(&r);
	text = read_text(autoconf);
	ASSERT_NE(NULL, text);
	/* quoted or not: auto.conf has no quotes from 5.18 on */
	p = strstr(text, "CONFIG_DEFAULT_HOSTNAME=");
	p = p ? strstr(p, "rapido-m8") : NULL;
	EXPECT_NE(NULL, p) TH_LOG("%s does not have the new value", autoconf);
	free(text);
	ASSERT_EQ(0, restore_file(config, saved));
	free(config);
	free(saved);
	free(autoconf);
}

/*
 * A variable on make's command line (make hands it to kbuild in MAKEFLAGS)
 * is a change of settings; rapido's own (X=) is not. LDFLAGS_MODULE, as
 * CFLAGS_MODULE would, but it only relinks the modules (xfs and btrfs are
 * among them).
 */
TEST_F_TIMEOUT(uptodate, make_variable_rebuilds, RUN_TIMEOUT)
{
	char *const with[] = { "make", "rapido-cut", "PROFILE=simple",
			       (char *)variant->watch, "V=1",
			       "LDFLAGS_MODULE=-O1", NULL };
	char *const without[] = { "make", "rapido-cut", "PROFILE=simple",
				  (char *)variant->watch, "V=1", "X=true",
				  NULL };
	struct run r;

	ASSERT_EQ(0, settle(&r, self->ktree, variant->watch)) run_dump(&r);
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, run_in(&r, self->ktree, with));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "kbuild: the build settings changed"))
		run_dump(&r);
	EXPECT_TRUE(both_have(&r, "drivers/misc/lkdtm/lkdtm.ko")) run_dump(&r);
	run_free(&r);
	/* back without it: built again; then X= alone changes nothing */
	ASSERT_EQ(0, run_in(&r, self->ktree, without));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "kbuild: the build settings changed"))
		run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, settle(&r, self->ktree, variant->watch)) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, run_in(&r, self->ktree, without));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, variant->skipped)) run_dump(&r);
	run_free(&r);
}

/*
 * A source that is a symlink to a file out of the tree: an edit of the
 * target is a change, seen by the watcher and by the scan.
 */
TEST_F_TIMEOUT(uptodate, symlinked_source_target_edit, RUN_TIMEOUT)
{
	char dir[] = "/tmp/rapido-uptodate-link.XXXXXX";
	char *target, *why;
	struct run r;

	ASSERT_NE(NULL, mkdtemp(dir));
	target = strf("%s/core.c", dir);
	ASSERT_EQ(0, copy_with_times(self->plant, self->backup));
	ASSERT_EQ(0, copy_with_times(self->plant, target));
	ASSERT_EQ(0, unlink(self->plant));
	ASSERT_EQ(0, symlink(target, self->plant));
	ASSERT_EQ(0, settle(&r, self->ktree, variant->watch)) run_dump(&r);
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	usleep(30000);
	ASSERT_EQ(0, append_text(target, "/* edited through the link */\n", 0));
	ASSERT_EQ(0, cut(&r, self->ktree, variant->watch, "V=0"));
	EXPECT_EQ(0, r.status) run_dump(&r);
	why = strf("kbuild: '%s' changed", self->plant);
	EXPECT_TRUE(both_have(&r, why)) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "CC [M]  drivers/misc/lkdtm/core.o"))
		run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, restore_file(self->plant, self->backup));
	free(why);
	free(target);
	rm_rf(dir);
}

TEST_HARNESS_MAIN
