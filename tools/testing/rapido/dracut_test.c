// SPDX-License-Identifier: GPL-2.0
/*
 * CUT=dracut: rapido-cut parses the manifests as always, then has the
 * system's dracut write the image. Unit tests of the argv and of what
 * dracut cannot express (no dracut needed), then real boots of the simple
 * profile through a dracut image (skipped without dracut or a built tree).
 *
 * RAPIDO_BIN: rapido's programs; RAPIDO_KTREE: a built tree with rapido
 * installed (set by tools/testing/rapido/run_tests).
 */
#include "kselftest_harness.h"
#include "rapido_test.h"

#define BOOT_TIMEOUT	600

/* Is dracut in PATH? */
static int have_dracut(void)
{
	char *path = in_path("dracut");
	int found = path != NULL;

	free(path);
	return found;
}

FIXTURE(dr) {
	char dir[64];
	const char *cut;
};

FIXTURE_SETUP(dr)
{
	const char *cut = rapido_bin("rapido-cut");

	if (!cut || access(cut, X_OK))
		SETUP_SKIP("RAPIDO_BIN is not set or has no rapido-cut");
	self->cut = strdup(cut);
	strcpy(self->dir, "/tmp/rapido-dracut.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
}

FIXTURE_TEARDOWN(dr)
{
	if (!self->cut)
		return;
	EXPECT_EQ(0, rm_rf(self->dir));
	free((void *)self->cut);
}

TEST_F(dr, argv_maps_each_directive)
{
	char *m = strf("%s/manifest", self->dir);
	char *f = strf("%s/autorun", self->dir);
	char *tree = strf("%s/tree", self->dir);
	char *out = strf("%s/img.cpio", self->dir);
	char *inc;
	struct run r;

	ASSERT_EQ(0, write_file(f, 0755, "#!/bin/sh\nexit 0\n"));
	ASSERT_EQ(0, mkdir(tree, 0755));
	ASSERT_EQ(0, write_file(m, 0644,
				"bin sh\n"
				"file /rapido/autorun autorun 0755\n"
				"tree /opt tree\n"
				"dir /tmp 1777\n"
				"slink /rapido/mtab /proc/mounts\n"
				"nod /dev/console 0600 c 5 1\n"));
	{
		char *const argv[] = { (char *)self->cut, "--dracut", "--list",
				 "-o", out, m, NULL };

		ASSERT_EQ(0, run(&r, argv));
	}
	EXPECT_EQ(0, r.status) TH_LOG("%s", r.err);
	EXPECT_TRUE(has_line(r.out, "dracut"));
	EXPECT_TRUE(has_line(r.out, "--no-compress"));
	EXPECT_TRUE(has_line(r.out, "--no-hostonly"));
	EXPECT_TRUE(has_line(r.out, "--no-hostonly-cmdline"));
	EXPECT_TRUE(has_line(r.out, "--nostrip"));
	/* no kmod line: no kernel modules at all */
	EXPECT_TRUE(has_line(r.out, "--no-kernel"));
	EXPECT_TRUE(has_line(r.out, "--install"));
	/* dirs and symlinks through the staging tree, at / */
	EXPECT_TRUE(has_line(r.out, "WORK/stage\n/"));
	inc = strf("--include\n%s\n/rapido/autorun\n", f);
	EXPECT_NE(NULL, strstr(r.out, inc)) TH_LOG("%s", r.out);
	free(inc);
	inc = strf("--include\n%s\n/opt\n", tree);
	EXPECT_NE(NULL, strstr(r.out, inc)) TH_LOG("%s", r.out);
	free(inc);
	/* the output last */
	inc = strf("\n%s\n", out);
	EXPECT_NE(NULL, strstr(r.out, inc));
	EXPECT_EQ(strlen(r.out), strstr(r.out, inc) - r.out + strlen(inc));
	free(inc);
	run_free(&r);
	free(m);
	free(f);
	free(tree);
	free(out);
}

/*
 * The two directives argv_maps_each_directive leaves out: an included
 * manifest's lines map like the includer's, and kmod lines become
 * --kver/--kmoddir/--add-drivers (the tree's installed modules: LKDTM).
 * Its make may run kbuild and build rapido's programs: more than the
 * harness's 30 s on a loaded machine.
 */
TEST_F_TIMEOUT(dr, argv_maps_kmod_and_include, BOOT_TIMEOUT)
{
	char *const cut_simple[] = { "make", "-s", "rapido-cut",
				     "PROFILE=simple", NULL };
	char *m = strf("%s/manifest", self->dir);
	char *sub = strf("%s/sub.manifest", self->dir);
	char *f = strf("%s/inc", self->dir);
	char *out = strf("%s/img.cpio", self->dir);
	char why[256], *mods, *krel, *path, *inc;
	const char *ktree = built_ktree(why, sizeof(why));
	struct run r;

	if (!ktree)
		SKIP(return, "%s", why);
	/* the tree's modules installed where rapido puts them */
	ASSERT_EQ(0, run_in(&r, ktree, cut_simple));
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	path = strf("%s/include/config/kernel.release", ktree);
	krel = read_text(path);
	ASSERT_NE(NULL, krel);
	krel[strcspn(krel, "\n")] = '\0';
	mods = strf("%s/.rapido/mods", ktree);
	ASSERT_EQ(0, write_file(f, 0644, "x\n"));
	ASSERT_EQ(0, write_file(sub, 0644, "file /rapido/inc inc 0644\n"));
	ASSERT_EQ(0, write_file(m, 0644, "include sub.manifest\nkmod lkdtm\n"));
	ASSERT_EQ(0, run(&r, (char *[]){ (char *)self->cut, "--dracut",
					 "--list", "-m", mods, "-k", krel,
					 "-o", out, m, NULL }));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_FALSE(has_line(r.out, "--no-kernel")) run_dump(&r);
	inc = strf("--kver\n%s\n", krel);
	EXPECT_NE(NULL, strstr(r.out, inc)) run_dump(&r);
	free(inc);
	EXPECT_TRUE(has_line(r.out, "--kmoddir")) run_dump(&r);
	EXPECT_TRUE(has_line(r.out, "--add-drivers")) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "lkdtm")) run_dump(&r);
	inc = strf("--include\n%s\n/rapido/inc\n", f);
	EXPECT_NE(NULL, strstr(r.out, inc)) run_dump(&r);
	free(inc);
	run_free(&r);
	free(path);
	free(krel);
	free(mods);
	free(m);
	free(sub);
	free(f);
	free(out);
}

TEST_F(dr, refuses_what_dracut_cannot_express)
{
	char *m = strf("%s/manifest", self->dir);
	char *f = strf("%s/data", self->dir);
	char *out = strf("%s/img.cpio", self->dir);
	struct run r;
	char *at;

	ASSERT_EQ(0, write_file(f, 0644, "x\n"));
	ASSERT_EQ(0, write_file(m, 0644,
				"nod /dev/sda 0600 b 8 0\n"
				"file /data data 0755\n"));
	{
		char *const argv[] = { (char *)self->cut, "--dracut", "--list",
				 "-o", out, m, NULL };

		ASSERT_EQ(0, run(&r, argv));
	}
	EXPECT_EQ(1, r.status);
	EXPECT_NE(NULL, strstr(r.err, "nod '/dev/sda': dracut cannot make device nodes"))
		TH_LOG("%s", r.err);
	EXPECT_NE(NULL, strstr(r.err, "dracut cannot give it mode 0755"))
		TH_LOG("%s", r.err);
	EXPECT_NE(NULL, strstr(r.err, "CUT=native"));
	/* each named by its manifest line, though checked after the parse */
	for (int line = 1; line <= 2; line++) {
		at = strf("rapido-cut: %s:%d: %s", m, line,
			  line == 1 ? "nod '/dev/sda'" : "file '/data'");
		EXPECT_NE(NULL, strstr(r.err, at)) TH_LOG("%s", r.err);
		free(at);
	}
	EXPECT_NE(NULL, strstr(r.err, "rapido-cut: 2 errors, nothing written"))
		TH_LOG("%s", r.err);
	EXPECT_NE(0, access(out, F_OK));
	run_free(&r);
	free(m);
	free(f);
	free(out);
}

TEST_F(dr, missing_dracut_names_the_package)
{
	char *m = strf("%s/manifest", self->dir);
	char *out = strf("%s/img.cpio", self->dir);
	char *const argv[] = { (char *)self->cut, "--dracut", "-o", out, m,
			 NULL };
	struct run r;

	ASSERT_EQ(0, write_file(m, 0644, "dir /x\n"));
	/* the test runs in its own process: PATH only changes here */
	ASSERT_EQ(0, setenv("PATH", self->dir, 1));
	ASSERT_EQ(0, run(&r, argv));
	EXPECT_EQ(1, r.status);
	EXPECT_NE(NULL, strstr(r.err, "apt-get install dracut-core"))
		TH_LOG("%s", r.err);
	run_free(&r);
	free(m);
	free(out);
}

TEST_F_TIMEOUT(dr, dracut_writes_the_image, BOOT_TIMEOUT)
{
	char *m = strf("%s/manifest", self->dir);
	char *out = strf("%s/img.cpio", self->dir);
	char *cmd = strf("cpio -it < %s", out);
	char *const argv[] = { (char *)self->cut, "--dracut", "-o", out, m,
			 NULL };
	char *const list[] = { "sh", "-c", cmd, NULL };
	struct run r;

	if (!have_dracut())
		SKIP(return, "dracut is not installed (apt-get install dracut-core)");
	ASSERT_EQ(0, write_file(m, 0644,
				"bin cat\ndir /rapido 0700\n"
				"slink /rapido/mtab /proc/mounts\n"));
	ASSERT_EQ(0, run(&r, argv));
	EXPECT_EQ(0, r.status) TH_LOG("%s", r.err);
	run_free(&r);
	ASSERT_EQ(0, run(&r, list));
	EXPECT_EQ(0, r.status) TH_LOG("%s", r.err);
	EXPECT_TRUE(has_line(r.out, "rapido/mtab")) TH_LOG("%s", r.out);
	EXPECT_TRUE(has_line(r.out, "usr/bin/cat")) TH_LOG("%s", r.out);
	run_free(&r);
	/* nothing left behind but the image */
	{
		char *tmp = strf("%s.tmp", out);

		EXPECT_NE(0, access(tmp, F_OK));
		free(tmp);
	}
	free(m);
	free(out);
	free(cmd);
}

/* Real boots of the simple profile through a dracut image. */
FIXTURE(dr_boot) {
	const char *ktree;
};

FIXTURE_SETUP(dr_boot)
{
	RT_ONLY();
	self->ktree = SETUP_KTREE();
	if (!have_dracut())
		SETUP_SKIP("dracut is not installed (apt-get install dracut-core)");
}

FIXTURE_TEARDOWN(dr_boot)
{
}

TEST_F_TIMEOUT(dr_boot, simple_passes, BOOT_TIMEOUT)
{
	char *const argv[] = { "scripts/rapido/rapido-test", "PROFILE=simple",
			 "CUT=dracut", NULL };
	char *image = strf("%s/.rapido/images/simple.dracut.cpio",
			   self->ktree);
	struct run r;

	/* a stale image from an earlier run must not count */
	ASSERT_TRUE(unlink(image) == 0 || errno == ENOENT);
	ASSERT_EQ(0, run_in(&r, self->ktree, argv));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_TRUE(strstr(r.out, "simple: mounts and modules ok") ||
		    strstr(r.err, "simple: mounts and modules ok")) run_dump(&r);
	EXPECT_EQ(0, access(image, R_OK)) TH_LOG("%s is missing", image);
	/* the image this run cut and booted is dracut's */
	EXPECT_TRUE(both_have(&r, ".rapido/images/simple.dracut.cpio:"))
		run_dump(&r);
	run_free(&r);
	free(image);
}

TEST_F_TIMEOUT(dr_boot, x_exit_3_fails, BOOT_TIMEOUT)
{
	char *const argv[] = { "scripts/rapido/rapido-test", "PROFILE=simple",
			 "CUT=dracut", "X=exit 3", NULL };
	struct run r;

	ASSERT_EQ(0, run_in(&r, self->ktree, argv));
	EXPECT_EQ(1, r.status) run_dump(&r);
	EXPECT_TRUE(strstr(r.out, "status 3") || strstr(r.err, "status 3"))
		run_dump(&r);
	run_free(&r);
}

TEST_F_TIMEOUT(dr_boot, bad_cut_is_refused, BOOT_TIMEOUT)
{
	char *const argv[] = { "scripts/rapido/rapido-test", "PROFILE=simple",
			 "CUT=mkinitcpio", NULL };
	struct run r;

	ASSERT_EQ(0, run_in(&r, self->ktree, argv));
	EXPECT_EQ(128, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "CUT: 'mkinitcpio' is not one of: native, dracut"))
		run_dump(&r);
	run_free(&r);
}

TEST_HARNESS_MAIN
