// SPDX-License-Identifier: GPL-2.0
/*
 * The driver skips kbuild when nothing kbuild reads changed since its last
 * successful run. It must never skip a needed build: a touched .c and an
 * edited .c (even one given back its old mtime) must run kbuild.
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

static int write_bytes(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len)
		ret = -EIO;
	if (close(fd) && !ret)
		ret = -errno;
	return ret;
}

#define WATCH_WAIT_MS	20000	/* for the watcher's walk, on a busy host */

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
	char why[256];

	RT_ONLY();
	self->ktree = built_ktree(why, sizeof(why));
	if (!self->ktree)
		SETUP_SKIP("%s", why);
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
	char *sock = strf("%s/.rapido/watch.sock", ktree);
	int ret = cut(r, ktree, watch, "V=0");

	for (int i = 0; !ret && !strcmp(watch, "WATCH=y"); i++) {
		if (!access(sock, F_OK))
			break;
		if (i * 10 > WATCH_WAIT_MS) {
			ret = -ETIMEDOUT;
			break;
		}
		usleep(10000);
	}
	free(sock);
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
	ASSERT_EQ(0, write_bytes(self->plant, edited, strlen(edited)));
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

TEST_HARNESS_MAIN
