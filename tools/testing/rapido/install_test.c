// SPDX-License-Identifier: GPL-2.0
/*
 * scripts/rapido/install on a small stand-in kernel tree (a git
 * repository with the files the installer looks for): a copy, --link,
 * --uninstall, and its refusal to overwrite what it did not install. The
 * tree's `git status` stays clean throughout.
 *
 * RAPIDO_SRC: the rapido checkout (set by run_tests).
 */
#include "kselftest_harness.h"
#include "rapido_test.h"

FIXTURE(inst) {
	char dir[64];
	char *install;
};

static int git(const char *dir, const char *a1, const char *a2,
	       const char *a3)
{
	char *const argv[] = { "git", "-C", (char *)dir, "-c",
			       "user.name=t", "-c", "user.email=t@localhost",
			       (char *)a1, (char *)a2, (char *)a3, NULL };
	struct run r;
	int ret;

	ret = run(&r, argv);
	if (!ret && r.status)
		run_dump(&r);
	ret = ret ? ret : r.status;
	run_free(&r);
	return ret;
}

FIXTURE_SETUP(inst)
{
	static const char *const files[] = {
		"Makefile", "Kconfig", "scripts/kconfig/merge_config.sh",
	};
	const char *src = getenv("RAPIDO_SRC");
	char *path;

	if (!src || !*src)
		SETUP_SKIP("RAPIDO_SRC is not set (run_tests sets it)");
	self->install = strf("%s/scripts/rapido/install", src);
	strcpy(self->dir, "/tmp/rapido-install.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	path = strf("%s/scripts", self->dir);
	ASSERT_EQ(0, mkdir(path, 0755));
	free(path);
	path = strf("%s/scripts/kconfig", self->dir);
	ASSERT_EQ(0, mkdir(path, 0755));
	free(path);
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		path = strf("%s/%s", self->dir, files[i]);
		ASSERT_EQ(0, write_file(path, 0644, "# stand-in\n"));
		free(path);
	}
	ASSERT_EQ(0, git(self->dir, "init", "-q", NULL));
	ASSERT_EQ(0, git(self->dir, "add", "-A", NULL));
	ASSERT_EQ(0, git(self->dir, "commit", "-qm", "tree"));
}

FIXTURE_TEARDOWN(inst)
{
	EXPECT_EQ(0, rm_rf(self->dir));
	free(self->install);
}

static int install(struct run *r, const char *install, const char *opt,
		   const char *tree)
{
	char *const argv[] = { (char *)install, (char *)(opt ? opt : tree),
			       (char *)(opt ? tree : NULL), NULL };

	return run(r, argv);
}

static int exists(const char *dir, const char *rel)
{
	char *path = strf("%s/%s", dir, rel);
	struct stat st;
	int ret = !lstat(path, &st);

	free(path);
	return ret;
}

TEST_F(inst, copy_then_uninstall_leaves_the_tree_as_it_was)
{
	static const char *const items[] = {
		"Kconfig.rapido", "Makefile.rapido", "scripts/rapido/rapido",
		"tools/testing/rapido/rapido.manifest", "GNUmakefile",
	};
	char *status, *path;
	struct stat st;
	struct run r;

	ASSERT_EQ(0, install(&r, self->install, NULL, self->dir));
	EXPECT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	for (size_t i = 0; i < ARRAY_SIZE(items); i++) {
		EXPECT_TRUE(exists(self->dir, items[i]))
			TH_LOG("%s was not installed", items[i]);
	}
	/* a copy, not a link */
	path = strf("%s/scripts/rapido", self->dir);
	ASSERT_EQ(0, lstat(path, &st));
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	free(path);
	EXPECT_TRUE(git_clean(self->dir, &status)) TH_LOG("%s", status);
	free(status);

	ASSERT_EQ(0, install(&r, self->install, "--uninstall", self->dir));
	EXPECT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	for (size_t i = 0; i < ARRAY_SIZE(items); i++) {
		EXPECT_FALSE(exists(self->dir, items[i]))
			TH_LOG("%s is still there", items[i]);
	}
	/* the directories it created, emptied, are gone too */
	EXPECT_FALSE(exists(self->dir, "tools"));
	EXPECT_TRUE(exists(self->dir, "scripts/kconfig/merge_config.sh"));
	EXPECT_FALSE(exists(self->dir, ".rapido-install"));
	path = strf("%s/.git/info/exclude", self->dir);
	status = read_text(path);
	EXPECT_EQ(NULL, status ? strstr(status, "rapido") : NULL)
		TH_LOG("info/exclude still names rapido:\n%s", status);
	free(status);
	free(path);
	EXPECT_TRUE(git_clean(self->dir, &status)) TH_LOG("%s", status);
	free(status);

	/* nothing left to uninstall */
	ASSERT_EQ(0, install(&r, self->install, "--uninstall", self->dir));
	EXPECT_EQ(1, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "rapido is not installed there"));
	run_free(&r);
}

TEST_F(inst, link_points_into_the_checkout)
{
	char *path, *want, target[4096], *status;
	ssize_t n;
	struct run r;

	ASSERT_EQ(0, install(&r, self->install, "--link", self->dir));
	EXPECT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	path = strf("%s/scripts/rapido", self->dir);
	n = readlink(path, target, sizeof(target) - 1);
	ASSERT_LT(0, n) TH_LOG("%s is not a symlink", path);
	target[n] = '\0';
	want = strf("%s/scripts/rapido", getenv("RAPIDO_SRC"));
	{
		char *real_want = realpath(want, NULL);

		ASSERT_NE(NULL, real_want);
		EXPECT_STREQ(real_want, target);
		free(real_want);
	}
	EXPECT_TRUE(git_clean(self->dir, &status)) TH_LOG("%s", status);
	free(status);
	free(want);
	free(path);
}

TEST_F(inst, refuses_to_overwrite_what_it_did_not_install)
{
	char *path = strf("%s/GNUmakefile", self->dir), *text;
	struct run r;

	ASSERT_EQ(0, write_file(path, 0644, "# the user's own\n"));
	ASSERT_EQ(0, install(&r, self->install, NULL, self->dir));
	EXPECT_EQ(1, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "was not installed by rapido")) run_dump(&r);
	text = read_text(path);
	EXPECT_STREQ("# the user's own\n", text);
	free(text);
	/* refused before changing anything */
	EXPECT_FALSE(exists(self->dir, "Makefile.rapido"));
	EXPECT_FALSE(exists(self->dir, ".rapido-install"));
	run_free(&r);
	free(path);
}

TEST_HARNESS_MAIN
