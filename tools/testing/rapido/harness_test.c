// SPDX-License-Identifier: GPL-2.0
/*
 * The suite's own plumbing: SETUP_SKIP (rapido_test.h) stops the test's
 * body on the harness of the tree the tests are built against, and the
 * Makefile builds every *_test.c of the directory.
 *
 * RT_KSFT and RT_TEST_DIR come from tools/testing/rapido/Makefile.
 */
#include <dirent.h>

#include "kselftest_harness.h"
#include "rapido_test.h"

/* A test program: a fixture whose setup skips, then a failing body. */
static const char skipper[] =
	"#include \"kselftest_harness.h\"\n"
	"#include \"rapido_test.h\"\n"
	"FIXTURE(f) { int x; };\n"
	"FIXTURE_SETUP(f)\n"
	"{\n"
	"	if (getenv(\"PLAIN_SKIP\"))\n"
	"		SKIP(return, \"plain skip\");\n"
	"	SETUP_SKIP(\"prerequisite %s missing\", \"X\");\n"
	"}\n"
	"FIXTURE_TEARDOWN(f)\n"
	"{\n"
	"	printf(\"TEARDOWN-RAN\\n\");\n"
	"}\n"
	"TEST_F(f, body)\n"
	"{\n"
	"	printf(\"BODY-RAN\\n\");\n"
	"	fflush(stdout);\n"
	"	EXPECT_EQ(0, 1);\n"
	"}\n"
	"TEST_HARNESS_MAIN\n";

FIXTURE(h) {
	char dir[64];
	char *prog;
};

FIXTURE_SETUP(h)
{
	char *c;
	/* the Makefile's -I and -idirafter (tools/include: __printf) */
	char *const cc[] = { "cc", "-std=gnu11", "-D_GNU_SOURCE", "-I" RT_KSFT,
			     "-I" RT_TEST_DIR, "-idirafter",
			     RT_KSFT "/../../include", "-o", NULL, NULL,
			     NULL };
	char **argv = (char **)cc;
	struct run r;

	strcpy(self->dir, "/tmp/rapido-harness.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	c = strf("%s/skipper.c", self->dir);
	self->prog = strf("%s/skipper", self->dir);
	ASSERT_EQ(0, write_file(c, 0644, skipper));
	argv[8] = self->prog;
	argv[9] = c;
	ASSERT_EQ(0, run(&r, argv));
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	free(c);
}

FIXTURE_TEARDOWN(h)
{
	EXPECT_EQ(0, rm_rf(self->dir));
	free(self->prog);
}

TEST_F(h, setup_skip_stops_the_body)
{
	char *const argv[] = { self->prog, NULL };
	struct run r;

	ASSERT_EQ(0, run(&r, argv));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_FALSE(both_have(&r, "BODY-RAN")) run_dump(&r);
	EXPECT_FALSE(both_have(&r, "TEARDOWN-RAN")) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "# SKIP prerequisite X missing"))
		run_dump(&r);
	EXPECT_TRUE(both_have(&r, " skip:1 ")) run_dump(&r);
	run_free(&r);
}

/* Every *_test.c beside this file was built beside this program. */
TEST(makefile_builds_every_test)
{
	char self_path[4096], *slash;
	ssize_t n = readlink("/proc/self/exe", self_path,
			     sizeof(self_path) - 1);
	DIR *d = opendir(RT_TEST_DIR);
	struct dirent *e;
	int tests = 0;

	ASSERT_LT(0, n);
	self_path[n] = '\0';
	slash = strrchr(self_path, '/');
	ASSERT_NE(NULL, slash);
	*slash = '\0';
	ASSERT_NE(NULL, d);
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		char *bin;

		if (len < 8 || strcmp(e->d_name + len - 7, "_test.c"))
			continue;
		bin = strf("%s/%.*s", self_path, (int)len - 2, e->d_name);
		EXPECT_EQ(0, access(bin, X_OK))
			TH_LOG("%s/%s was not built (%s)", RT_TEST_DIR,
			       e->d_name, bin);
		free(bin);
		tests++;
	}
	closedir(d);
	EXPECT_LT(1, tests);
}

TEST_HARNESS_MAIN
