// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of rapido-kconfig: the text check of fragments against a crafted
 * .config, and (with RAPIDO_KTREE, a configured kernel tree the tool was
 * built against) the explanations kconfig itself gives for a real tree.
 *
 *   RAPIDO_BIN=<dir of rapido-kconfig> [RAPIDO_KTREE=<tree>] ./kconfig_test
 */
#include "kselftest_harness.h"
#include "rapido_test.h"

#define PROG "rapido-kconfig"

static const char config_text[] =
	"#\n"
	"# Automatically generated file; DO NOT EDIT.\n"
	"# Linux/x86 6.1.0 Kernel Configuration\n"
	"#\n"
	"CONFIG_A=y\n"
	"CONFIG_B=m\n"
	"# CONFIG_C is not set\n"
	"CONFIG_D=y\n"
	"CONFIG_STR=\"hello world\"\n"
	"CONFIG_INT=42\n"
	"CONFIG_HEX=0x1f\n";

/* Run rapido-kconfig in @dir with the NULL-terminated arguments. */
static int kc(struct run *r, const char *bin, const char *dir, ...)
{
	char *argv[16] = { (char *)bin };
	int argc = 1;
	va_list ap;

	va_start(ap, dir);
	while (argc < 15 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	return run_in(r, dir, argv);
}

/*
 * fail_alloc.c (beside this file) built as @dir/fail_alloc.so: its path,
 * or NULL (the compiler's words logged).
 */
static char *fail_alloc_so(struct __test_metadata *_metadata,
			   const char *dir)
{
	char *so = strf("%s/fail_alloc.so", dir);
	char *const argv[] = { "cc", "-shared", "-fPIC", "-O2", "-o", so,
			       RT_TEST_DIR "/fail_alloc.c", NULL };
	struct run r;

	if (run(&r, argv) || r.status) {
		TH_LOG("cannot build %s: %s", so, r.err);
		free(so);
		so = NULL;
	}
	run_free(&r);
	return so;
}

/*
 * Run rapido-kconfig as kc() does, every allocation of its own code past
 * the first @after failing (fail_alloc.c, preloaded).
 */
static int kc_oom(struct run *r, const char *so, long after,
		  char *const argv[], const char *dir)
{
	char *n = strf("%ld", after);
	int ret;

	setenv("FAIL_ALLOC_AFTER", n, 1);
	setenv("LD_PRELOAD", so, 1);
	ret = run_in(r, dir, argv);
	unsetenv("LD_PRELOAD");
	unsetenv("FAIL_ALLOC_AFTER");
	free(n);
	return ret;
}

/* The indented explanation lines under the report of @what in @out. */
static char *block(const char *out, const char *what)
{
	char *head = strf("%s: %s (", PROG, what);
	const char *p = strstr(out, head), *end;

	free(head);
	if (!p)
		return strdup("(no report)");
	p = strchr(p, '\n');
	if (!p)
		return strdup("");
	p++;
	for (end = p; *end == ' '; end = strchr(end, '\n') + 1)
		;
	return strndup(p, end - p);
}

static bool every_line_ours(const char *out)
{
	const char *p;

	for (p = out; *p; p = strchr(p, '\n') + 1) {
		if (strncmp(p, PROG ": ", strlen(PROG) + 2) &&
		    strncmp(p, "  ", 2))
			return false;
		if (!strchr(p, '\n'))
			return false;
	}
	return true;
}

FIXTURE(text) {
	char dir[64];
	char *bin;
};

FIXTURE_SETUP(text)
{
	const char *bin = rapido_bin(PROG);

	unsetenv("KCONFIG_CONFIG");
	self->bin = bin ? strdup(bin) : NULL;
	strcpy(self->dir, "/tmp/kconfig_test.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	put_file(self->dir, ".config", 0644, config_text);
}

FIXTURE_TEARDOWN(text)
{
	EXPECT_EQ(0, rm_rf(self->dir));
	free(self->bin);
}

TEST_F(text, all_landed)
{
	struct run r;

	if (!self->bin)
		SKIP(return, "RAPIDO_BIN is unset");
	put_file(self->dir, "frag", 0644,
	    "# a comment\n"
	    "\n"
	    "CONFIG_A=y\n"
	    "CONFIG_B=m\n"
	    "# CONFIG_C is not set\n"
	    "CONFIG_C=n\n"
	    "# CONFIG_ABSENT is not set\n"
	    "CONFIG_ABSENT2=n\n"
	    "CONFIG_STR=\"hello world\"\n"
	    "CONFIG_INT=42\n"
	    "CONFIG_HEX=0x1F\n"
	    "CONFIG_HEX=1f\n");
	ASSERT_EQ(0, kc(&r, self->bin, self->dir, "frag", NULL));
	EXPECT_STREQ("", r.out);
	EXPECT_STREQ("", r.err);
	EXPECT_EQ(0, r.status);
	run_free(&r);
}

TEST_F(text, each_miss_one_line)
{
	struct run r;

	if (!self->bin)
		SKIP(return, "RAPIDO_BIN is unset");
	put_file(self->dir, "frag", 0644,
	    "CONFIG_INT=43\n"
	    "CONFIG_MISSING=y\n"
	    "# CONFIG_A is not set\n"
	    "CONFIG_B=y\n"
	    "CONFIG_D=m\n"
	    "# landed, not reported:\n"
	    "CONFIG_HEX=0x1f\n"
	    "CONFIG_STR=\"hello\"\n"
	    "CONFIG_NEWSTR=\"x\"\n"
	    "CONFIG_C=y\n");
	ASSERT_EQ(0, kc(&r, self->bin, self->dir, "frag", NULL));
	EXPECT_STREQ(
		PROG ": CONFIG_INT=43 (frag:1) did not land: '.config' has CONFIG_INT=42\n"
		PROG ": CONFIG_MISSING=y (frag:2) did not land: '.config' has it not set\n"
		PROG ": # CONFIG_A is not set (frag:3) did not land: '.config' has CONFIG_A=y\n"
		PROG ": CONFIG_B=y (frag:4) did not land: '.config' has CONFIG_B=m\n"
		PROG ": CONFIG_D=m (frag:5) did not land: '.config' has CONFIG_D=y\n"
		PROG ": CONFIG_STR=\"hello\" (frag:8) did not land: '.config' has CONFIG_STR=\"hello world\"\n"
		PROG ": CONFIG_NEWSTR=\"x\" (frag:9) did not land: '.config' does not have it\n"
		PROG ": CONFIG_C=y (frag:10) did not land: '.config' has it not set\n",
		r.out);
	EXPECT_STREQ("", r.err);
	EXPECT_EQ(1, r.status);
	run_free(&r);
}

TEST_F(text, later_fragment_overrides)
{
	struct run r;

	if (!self->bin)
		SKIP(return, "RAPIDO_BIN is unset");
	put_file(self->dir, "f1", 0644,
		 "CONFIG_A=n\nCONFIG_B=m\nCONFIG_INT=1\nCONFIG_INT=42\n");
	put_file(self->dir, "f2", 0644, "CONFIG_B=y\nCONFIG_A=y\n");
	ASSERT_EQ(0, kc(&r, self->bin, self->dir, "-c", ".config", "f1",
			"f2", NULL));
	EXPECT_STREQ(PROG ": CONFIG_B=y (f2:1) did not land: '.config' has CONFIG_B=m\n",
		     r.out);
	EXPECT_EQ(1, r.status);
	run_free(&r);

	/* The other order: f1 wins now. */
	ASSERT_EQ(0, kc(&r, self->bin, self->dir, "f2", "f1", NULL));
	EXPECT_STREQ(PROG ": CONFIG_A=n (f1:1) did not land: '.config' has CONFIG_A=y\n",
		     r.out);
	EXPECT_EQ(1, r.status);
	run_free(&r);
}

TEST_F(text, kconfig_config_env)
{
	char *other = strf("%s/other.config", self->dir);
	struct run r;

	if (!self->bin)
		SKIP(return, "RAPIDO_BIN is unset");
	ASSERT_EQ(0, write_file(other, 0644, "CONFIG_A=m\n"));
	put_file(self->dir, "frag", 0644, "CONFIG_A=m\n");
	setenv("KCONFIG_CONFIG", other, 1);
	ASSERT_EQ(0, kc(&r, self->bin, self->dir, "frag", NULL));
	unsetenv("KCONFIG_CONFIG");
	EXPECT_STREQ("", r.out);
	EXPECT_EQ(0, r.status);
	run_free(&r);
	free(other);
}

TEST_F(text, bad_fragment_lines)
{
	struct run r;

	if (!self->bin)
		SKIP(return, "RAPIDO_BIN is unset");
	put_file(self->dir, "bad", 0644,
	    "CONFIG_A=y\n"
	    "CONFIG_A y\n"
	    "CONFIG_STR=\"open\n"
	    "  CONFIG_B=m\n"
	    "CONFIG_INT=\n"
	    "A=y\n");
	ASSERT_EQ(0, kc(&r, self->bin, self->dir, "bad", NULL));
	EXPECT_EQ(2, r.status);
	EXPECT_STREQ("", r.out);
	EXPECT_STREQ(
		PROG ": cannot parse 'bad:2': 'CONFIG_A y': no '=' after the option name; write 'CONFIG_FOO=value' or '# CONFIG_FOO is not set'\n"
		PROG ": cannot parse 'bad:3': 'CONFIG_STR=\"open': unterminated string; write 'CONFIG_FOO=value' or '# CONFIG_FOO is not set'\n"
		PROG ": cannot parse 'bad:4': '  CONFIG_B=m': not an option line; write 'CONFIG_FOO=value' or '# CONFIG_FOO is not set'\n"
		PROG ": cannot parse 'bad:5': 'CONFIG_INT=': empty value; write 'CONFIG_FOO=value' or '# CONFIG_FOO is not set'\n"
		PROG ": cannot parse 'bad:6': 'A=y': not an option line; write 'CONFIG_FOO=value' or '# CONFIG_FOO is not set'\n",
		r.err);
	run_free(&r);
}

TEST_F(text, unreadable_files)
{
	struct run r;

	if (!self->bin)
		SKIP(return, "RAPIDO_BIN is unset");
	put_file(self->dir, "frag", 0644, "CONFIG_A=y\n");
	ASSERT_EQ(0, kc(&r, self->bin, self->dir, "-c", "nonexistent", "frag",
			"nofrag", NULL));
	EXPECT_EQ(2, r.status);
	EXPECT_STREQ("", r.out);
	EXPECT_STREQ(PROG ": cannot read 'nonexistent': No such file or directory\n"
		     PROG ": cannot read 'nofrag': No such file or directory\n",
		     r.err);
	run_free(&r);

	/* A directory opens but does not read (even for root). */
	ASSERT_EQ(0, kc(&r, self->bin, self->dir, "-c", ".", "frag", NULL));
	EXPECT_EQ(2, r.status);
	EXPECT_STREQ(PROG ": cannot read '.': Is a directory\n", r.err);
	run_free(&r);
}

/* -e parses Kconfig only when something did not land. */
TEST_F(text, explain_needs_a_tree)
{
	char *want;
	struct run r;

	if (!self->bin)
		SKIP(return, "RAPIDO_BIN is unset");
	put_file(self->dir, "frag", 0644, "CONFIG_A=y\n");
	put_file(self->dir, "miss", 0644, "CONFIG_A=m\n");
	ASSERT_EQ(0, kc(&r, self->bin, self->dir, "-e", "-s", self->dir,
			"frag", NULL));
	EXPECT_EQ(0, r.status);
	EXPECT_STREQ("", r.out);
	EXPECT_STREQ("", r.err);
	run_free(&r);

	ASSERT_EQ(0, kc(&r, self->bin, self->dir, "-e", "-s", self->dir,
			"miss", NULL));
	EXPECT_EQ(2, r.status);
	EXPECT_STREQ("", r.out);
	want = strf("%s: cannot read '%s/Kconfig': No such file or directory (give the source tree with -s)\n",
		    PROG, self->dir);
	EXPECT_STREQ(want, r.err);
	free(want);
	run_free(&r);
}

TEST_F(text, usage)
{
	struct run r;

	if (!self->bin)
		SKIP(return, "RAPIDO_BIN is unset");
	ASSERT_EQ(0, kc(&r, self->bin, self->dir, NULL));
	EXPECT_EQ(2, r.status);
	EXPECT_NE(NULL, strstr(r.err, PROG ": no FRAGMENT is given: name at least one\n"));
	run_free(&r);
	ASSERT_EQ(0, kc(&r, self->bin, self->dir, "-x", "frag", NULL));
	EXPECT_EQ(2, r.status);
	EXPECT_NE(NULL, strstr(r.err, "usage: " PROG));
	run_free(&r);
}

/* The text path must not parse Kconfig: a 10k-line .config in a few ms. */
TEST_F(text, fast_on_big_config)
{
	size_t cap = 10000 * 32, len = 0;
	char *big = malloc(cap), *frag = malloc(cap);
	struct run r;
	int i;

	if (!self->bin)
		SKIP(return, "RAPIDO_BIN is unset");
	ASSERT_NE(NULL, big);
	ASSERT_NE(NULL, frag);
	for (i = 0; i < 10000; i++)
		len += snprintf(big + len, cap - len, "CONFIG_SYM_%05d=y\n", i);
	len = 0;
	for (i = 0; i < 10000; i += 10)
		len += snprintf(frag + len, cap - len, "CONFIG_SYM_%05d=%s\n",
				i, i == 5000 ? "m" : "y");
	put_file(self->dir, "big.config", 0644, big);
	put_file(self->dir, "frag", 0644, frag);
	ASSERT_EQ(0, kc(&r, self->bin, self->dir, "-c", "big.config", "frag",
			NULL));
	EXPECT_STREQ(PROG ": CONFIG_SYM_05000=m (frag:501) did not land: 'big.config' has CONFIG_SYM_05000=y\n",
		     r.out);
	EXPECT_EQ(1, r.status);
	EXPECT_GT(0.1, r.secs);
	run_free(&r);
	free(big);
	free(frag);
}

/* Out of memory is 128, as in every rapido program (util.h). */
TEST_F(text, out_of_memory_is_128)
{
	char *const argv[] = { self->bin, "frag", NULL };
	char *so;
	struct run r;

	if (!self->bin)
		SKIP(return, "RAPIDO_BIN is unset");
	put_file(self->dir, "frag", 0644, "CONFIG_A=m\n");
	so = fail_alloc_so(_metadata, self->dir);
	ASSERT_NE(NULL, so);
	/* the first allocation: reading .config */
	ASSERT_EQ(0, kc_oom(&r, so, 0, argv, self->dir));
	EXPECT_EQ(128, r.status) run_dump(&r);
	EXPECT_STREQ(PROG ": out of memory\n", r.err);
	EXPECT_STREQ("", r.out);
	run_free(&r);
	free(so);
}

/* ---- explanations against a real tree ---- */

/* @config with each CONFIG_<name> of @names turned into "is not set". */
static char *drop_options(const char *config, const char *const names[])
{
	char *out = NULL;
	size_t len = 0;

	for (const char *line = config; *line;) {
		const char *end = strchrnul(line, '\n');
		const char *text = line;
		size_t n = end - line + (*end == '\n');
		char *unset = NULL;

		for (int i = 0; names[i]; i++) {
			size_t k = strlen(names[i]);

			if (!strncmp(line, "CONFIG_", 7) &&
			    !strncmp(line + 7, names[i], k) && line[7 + k] == '=') {
				unset = strf("# CONFIG_%s is not set\n", names[i]);
				text = unset;
				n = strlen(unset);
			}
		}
		rt_append(&out, &len, text, n);
		free(unset);
		line = end + (*end == '\n');
	}
	return out ? out : strdup("");
}

FIXTURE(tree) {
	char dir[64];
	char *bin;
	const char *ktree;
	char *config;	/* the tree's .config, as text */
};

FIXTURE_SETUP(tree)
{
	const char *bin = rapido_bin(PROG);
	char *path;
	struct run r;

	unsetenv("KCONFIG_CONFIG");
	self->bin = bin ? strdup(bin) : NULL;
	self->ktree = getenv("RAPIDO_KTREE");
	strcpy(self->dir, "/tmp/kconfig_test.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	if (!self->bin || !self->ktree)
		return;
	path = strf("%s/.config", self->ktree);
	ASSERT_EQ(0, run(&r, (char *[]){ "cat", path, NULL }));
	ASSERT_EQ(0, r.status);
	/*
	 * The explanations are asserted against a config that lacks these,
	 * whatever the tree's own .config has (CI's has LKDTM for simple).
	 */
	self->config = drop_options(r.out, (const char *[]){ "LKDTM",
			"RUNTIME_TESTING_MENU", "REED_SOLOMON", NULL });
	run_free(&r);
	free(path);
	put_file(self->dir, ".config", 0644, self->config);
}

FIXTURE_TEARDOWN(tree)
{
	EXPECT_EQ(0, rm_rf(self->dir));
	free(self->bin);
	free(self->config);
}

static bool config_has(const char *config, const char *line)
{
	char *needle = strf("\n%s\n", line);
	bool found = strstr(config, needle) != NULL;

	free(needle);
	return found;
}

static bool contains(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

TEST_F_TIMEOUT(tree, explain, 120)
{
	struct stat before, after, dir_before, dir_after;
	/* the config the tool checks: the copy in its working directory */
	char *cfg = strf("%s/.config", self->dir), *b, *want, *text;
	struct run r;

	if (!self->bin || !self->ktree)
		SKIP(return, "RAPIDO_BIN or RAPIDO_KTREE is unset");
	put_file(self->dir, "frag", 0644,
	    "CONFIG_LKDTM=m\n"
	    "CONFIG_RAPIDO_NO_SUCH_OPTION=y\n"
	    "CONFIG_REED_SOLOMON=y\n"
	    "CONFIG_LOG_BUF_SHIFT=99\n"
	    "CONFIG_DEFAULT_HOSTNAME=rapido\n"
	    "CONFIG_HZ_100=y\n");
	ASSERT_EQ(0, stat(cfg, &before));
	ASSERT_EQ(0, stat(self->ktree, &dir_before));
	ASSERT_EQ(0, kc(&r, self->bin, self->dir, "-e", "-s", self->ktree,
			"frag", NULL));
	EXPECT_EQ(1, r.status);
	EXPECT_STREQ("", r.err);
	/* kconfig's own chatter never reaches stdout */
	EXPECT_TRUE(every_line_ours(r.out));

	/* LKDTM: the menu's "if RUNTIME_TESTING_MENU" and DEBUG_FS */
	EXPECT_TRUE(contains(r.out, PROG ": CONFIG_LKDTM=m (frag:1) did not land: '.config' has it not set\n"));
	b = block(r.out, "CONFIG_LKDTM=m");
	EXPECT_TRUE(contains(b, "  depends on: "));
	EXPECT_TRUE(contains(b, "DEBUG_FS [="));
	if (!config_has(self->config, "CONFIG_RUNTIME_TESTING_MENU=y")) {
		EXPECT_TRUE(contains(b, "RUNTIME_TESTING_MENU [=n]"));
		EXPECT_TRUE(contains(b, "  missing: CONFIG_RUNTIME_TESTING_MENU=y\n"));
	}
	EXPECT_EQ(!config_has(self->config, "CONFIG_DEBUG_FS=y"),
		  contains(b, "  missing: CONFIG_DEBUG_FS=y\n"));
	EXPECT_EQ(!config_has(self->config, "CONFIG_MODULES=y"),
		  contains(b, "  =m needs CONFIG_MODULES=y\n"));
	EXPECT_EQ(!config_has(self->config, "CONFIG_MODULES=y"),
		  contains(b, "  missing: CONFIG_MODULES=y\n"));
	free(b);

	b = block(r.out, "CONFIG_RAPIDO_NO_SUCH_OPTION=y");
	EXPECT_STREQ("  no such option in this tree: drop it from the fragment\n",
		     b);
	free(b);

	/* selected only, by PSTORE_RAM among others */
	b = block(r.out, "CONFIG_REED_SOLOMON=y");
	EXPECT_EQ(0, strncmp(b, "  has no prompt: enable one of: CONFIG_", 39));
	EXPECT_TRUE(contains(b, "CONFIG_PSTORE_RAM"));
	EXPECT_FALSE(contains(b, "missing:"));
	free(b);

	b = block(r.out, "CONFIG_LOG_BUF_SHIFT=99");
	EXPECT_TRUE(contains(b, "  value 99 is out of range 12..25\n"));
	free(b);

	want = strf("  is a string: kconfig ignores an unquoted value: use CONFIG_DEFAULT_HOSTNAME=\"rapido\"\n");
	b = block(r.out, "CONFIG_DEFAULT_HOSTNAME=rapido");
	EXPECT_STREQ(want, b);
	free(b);
	free(want);

	if (!config_has(self->config, "CONFIG_HZ_100=y")) {
		b = block(r.out, "CONFIG_HZ_100=y");
		EXPECT_TRUE(contains(b, "  is a member of choice \"Timer frequency\", which has CONFIG_HZ_"));
		free(b);
	}

	/* nothing written: not the copy it checked, not the tree */
	ASSERT_EQ(0, stat(cfg, &after));
	EXPECT_EQ(before.st_mtim.tv_sec, after.st_mtim.tv_sec);
	EXPECT_EQ(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
	EXPECT_EQ(before.st_ino, after.st_ino);
	text = read_text(cfg);
	ASSERT_NE(NULL, text);
	EXPECT_STREQ(self->config, text);
	free(text);
	ASSERT_EQ(0, stat(self->ktree, &dir_after));
	EXPECT_EQ(dir_before.st_mtime, dir_after.st_mtime);
	EXPECT_EQ(dir_before.st_nlink, dir_after.st_nlink);
	if (rt_failed(_metadata))
		TH_LOG("stdout was:\n%s", r.out);
	run_free(&r);
	free(cfg);
}

/*
 * Out of memory in kconfig's own code (its parser, its xmalloc(): exit 1
 * in the kernel's tree) is 128 too, and the scratch directory goes.
 */
TEST_F_TIMEOUT(tree, out_of_memory_in_kconfig_is_128, 120)
{
	char *tmp = strf("%s/tmp", self->dir), *so;
	char *const argv[] = { self->bin, "-e", "-s", (char *)self->ktree,
			       "frag", NULL };
	struct run r;

	if (!self->bin || !self->ktree)
		SKIP(return, "RAPIDO_BIN or RAPIDO_KTREE is unset");
	put_file(self->dir, "frag", 0644, "CONFIG_RAPIDO_NO_SUCH_OPTION=y\n");
	ASSERT_EQ(0, mkdir(tmp, 0755));
	so = fail_alloc_so(_metadata, self->dir);
	ASSERT_NE(NULL, so);
	/*
	 * Well into the parse of the tree's Kconfig: this program allocates
	 * a few dozen times before it, kconfig tens of thousands of times
	 * in it. The scratch directory goes into tmp (this test's process
	 * is its own: the environment is not restored).
	 */
	setenv("TMPDIR", tmp, 1);
	ASSERT_EQ(0, kc_oom(&r, so, 2000, argv, self->dir));
	EXPECT_EQ(128, r.status) run_dump(&r);
	EXPECT_STREQ(PROG ": out of memory\n", r.err);
	EXPECT_STREQ("", r.out);
	/* the scratch directory is gone: tmp is empty again */
	EXPECT_EQ(0, rmdir(tmp)) TH_LOG("%s is not empty", tmp);
	run_free(&r);
	free(so);
	free(tmp);
}

TEST_HARNESS_MAIN
