// SPDX-License-Identifier: GPL-2.0
/*
 * The documentation: Documentation/dev-tools/rapido.rst and the design
 * notes it links (Documentation/rapido/index.rst) build without a warning
 * with Debian's python3-sphinx, standalone (sphinx-build -W, no conf.py),
 * and name every variable rapido-settings accepts.
 *
 * RAPIDO_SRC: the rapido checkout; RAPIDO_BIN: its built programs
 * (run_tests sets both).
 */
#include "kselftest_harness.h"
#include "rapido_test.h"

FIXTURE(docs) {
	const char *src;
	char dir[64];
};

FIXTURE_SETUP(docs)
{
	self->src = getenv("RAPIDO_SRC");
	if (!self->src || !*self->src)
		SETUP_SKIP("RAPIDO_SRC is not set (run_tests sets it)");
	RT_ONLY();
	strcpy(self->dir, "/tmp/rapido-docs.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
}

FIXTURE_TEARDOWN(docs)
{
	EXPECT_EQ(0, rm_rf(self->dir));
}

TEST_F(docs, sphinx_build_without_warnings)
{
	char *docs = strf("%s/Documentation", self->src);
	char *out = strf("%s/html", self->dir);
	char *trees = strf("%s/doctrees", self->dir);
	char *const argv[] = { "sphinx-build", "-W", "--keep-going", "-q",
			       "-C", "-D", "master_doc=dev-tools/rapido",
			       "-d", trees, "-b", "html", docs, out, NULL };
	char *page;
	struct run r;

	ASSERT_EQ(0, run(&r, argv));
	/* 127: not installed; scripts/rapido/quickstart installs it */
	ASSERT_NE(127, r.status) TH_LOG("sphinx-build is missing: apt-get install python3-sphinx");
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_STREQ("", r.err) run_dump(&r);
	run_free(&r);
	/* both pages are built */
	page = strf("%s/dev-tools/rapido.html", out);
	EXPECT_EQ(0, access(page, R_OK));
	free(page);
	page = strf("%s/rapido/index.html", out);
	EXPECT_EQ(0, access(page, R_OK));
	free(page);
	free(docs);
	free(out);
	free(trees);
}

TEST_F(docs, every_variable_is_documented)
{
	const char *bin = rapido_bin("rapido-settings");
	char *guide = strf("%s/Documentation/dev-tools/rapido.rst", self->src);
	char *design = strf("%s/Documentation/rapido/index.rst", self->src);
	char *g = read_text(guide), *d = read_text(design), *save, *name;
	char *const argv[] = { (char *)bin, "--names", NULL };
	struct run r;

	ASSERT_NE(NULL, bin) TH_LOG("RAPIDO_BIN is not set");
	ASSERT_NE(NULL, g);
	ASSERT_NE(NULL, d);
	ASSERT_EQ(0, run(&r, argv));
	ASSERT_EQ(0, r.status) run_dump(&r);
	for (name = strtok_r(r.out, "\n ", &save); name;
	     name = strtok_r(NULL, "\n ", &save)) {
		char *lit = strf("``%s", name);

		EXPECT_TRUE(strstr(g, lit) || strstr(d, lit))
			TH_LOG("%s is in neither %s nor %s", name, guide, design);
		free(lit);
	}
	run_free(&r);
	free(g);
	free(d);
	free(guide);
	free(design);
}

TEST_HARNESS_MAIN
