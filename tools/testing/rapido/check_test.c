// SPDX-License-Identifier: GPL-2.0
/*
 * The maintainer's loop on a real kernel tree (the 6.1 O= tree, the
 * smallest build): series of commits planted on a branch of its own,
 *   - rapido-check flags a planted checkpatch error and a planted sparse
 *     warning, names the commit that added each, ignores what a commit
 *     does not add, passes a clean series, works as b4's per-patch
 *     command, and leaves HEAD, index and files as they were, also when
 *     interrupted;
 *   - TRAILER=1 adds one Tested-by on a pass, none on a fail, none on a
 *     dirty tree, never two; NOTES=1 notes that rapido-results shows;
 *     JUNIT=1 writes XML of the shape CI systems read (checked here);
 *   - git rebase -x stops at the commit that fails the profile; git bisect
 *     run names it and skips the commit that does not build; a commit
 *     whose profile config no longer applies aborts the bisect (128), also
 *     one whose Kconfig no longer has an option of the profile (checked
 *     before kbuild's kconfig drops it from .config);
 *   - rapido-check PROFILE= boots each commit and names the one that
 *     fails its boot.
 * Teardown puts the tree back on its branch (the series' branch, notes,
 * bisect and rebase states removed).
 *
 * RAPIDO_KTREE_O, RAPIDO_OBJTREE_O: the 6.1 source tree (a git repository,
 * rapido installed) and its O= build of profile simple (run_tests).
 */
#include "kselftest_harness.h"
#include "rapido_test.h"

#define BRANCH	"rapido-check-test"
#define WHO	"Tess Er <tess@localhost>"
#define CORE	"drivers/misc/lkdtm/core.c"

/*
 * The shell's helpers for planting: C <subject> commits everything with
 * a sign-off; each edit is one sed on lkdtm's core.c.
 */
#define PRELUDE								\
	"set -e; C() { git commit -q -a --allow-empty -m \"$1\" "	\
	"-m 'Planted by check_test.' -m 'Signed-off-by: " WHO "'; }; "

FIXTURE(tree) {
	const char *src, *obj;
	char *orig;		/* the branch (or commit) to go back to */
	bool had_notes;
	char *config;		/* the build's .config, as it was */
	size_t config_len;
};

/* bash -c <printf-formatted command> in @dir; its run in @r. */
static int sh(struct run *r, const char *dir, const char *fmt, ...)
{
	char *cmd;
	va_list ap;
	int ret;

	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		abort();
	va_end(ap);
	{
		char *const argv[] = { "bash", "-c", cmd, NULL };

		ret = run_in(r, dir, argv);
	}
	free(cmd);
	return ret;
}

/* The command's stdout, without its last newline (NULL on failure). */
static char *sh_out(const char *dir, const char *fmt, ...)
{
	struct run r;
	char *cmd, *out = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		abort();
	va_end(ap);
	if (!sh(&r, dir, "%s", cmd) && !r.status) {
		size_t n = strlen(r.out);

		if (n && r.out[n - 1] == '\n')
			r.out[n - 1] = '\0';
		out = strdup(r.out);
	} else {
		run_dump(&r);
	}
	run_free(&r);
	free(cmd);
	return out;
}

/* HEAD, its branch, the index and git status: what must not change. */
#define STATE_CMD							\
	"git rev-parse HEAD; git symbolic-ref -q HEAD; "		\
	"git ls-files -s | sha1sum; git status --porcelain"

static int count_of(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

FIXTURE_SETUP(tree)
{
	char *st;
	struct run r;

	self->src = getenv("RAPIDO_KTREE_O");
	self->obj = getenv("RAPIDO_OBJTREE_O");
	if (!self->src || !*self->src || !self->obj || !*self->obj)
		SETUP_SKIP("RAPIDO_KTREE_O/RAPIDO_OBJTREE_O are not set (run_tests sets them)");
	st = strf("%s/arch/x86/boot/bzImage", self->obj);
	if (access(st, R_OK)) {
		free(st);
		SETUP_SKIP("%s is not built", self->obj);
	}
	free(st);
	RT_ONLY();
	ASSERT_TRUE(git_clean(self->src, &st)) TH_LOG("not clean: %s", st);
	free(st);
	/* git's identity for the commits, the trailer and the notes */
	setenv("GIT_CONFIG_COUNT", "2", 1);
	setenv("GIT_CONFIG_KEY_0", "user.name", 1);
	setenv("GIT_CONFIG_VALUE_0", "Tess Er", 1);
	setenv("GIT_CONFIG_KEY_1", "user.email", 1);
	setenv("GIT_CONFIG_VALUE_1", "tess@localhost", 1);
	/*
	 * kbuild syncs .config with the Kconfig of the commit it builds (a
	 * bisect's run on a commit that drops an option drops it there
	 * too): put back at the end
	 */
	st = strf("%s/.config", self->obj);
	self->config = read_text_len(st, &self->config_len);
	free(st);
	ASSERT_NE(NULL, self->config);
	self->orig = sh_out(self->src,
			    "git symbolic-ref -q --short HEAD || git rev-parse HEAD");
	ASSERT_NE(NULL, self->orig);
	ASSERT_EQ(0, sh(&r, self->src,
			"git rev-parse -q --verify refs/notes/rapido"));
	self->had_notes = r.status == 0;
	run_free(&r);
	ASSERT_EQ(0, sh(&r, self->src, "git checkout -q -B " BRANCH));
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
}

FIXTURE_TEARDOWN(tree)
{
	struct run r;
	char *st;

	if (!self->orig)
		return;
	EXPECT_EQ(0, sh(&r, self->src,
			"git rebase --abort 2>/dev/null; git bisect reset >/dev/null 2>&1; "
			"git checkout -q -f '%s' && git branch -q -D " BRANCH
			" && { %s || git update-ref -d refs/notes/rapido; }",
			self->orig, self->had_notes ? "true" : "false"));
	EXPECT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	EXPECT_TRUE(git_clean(self->src, &st)) TH_LOG("not clean: %s", st);
	free(st);
	free(self->orig);
	st = strf("%s/.config", self->obj);
	{
		size_t len;
		char *now = read_text_len(st, &len);

		if (!now || len != self->config_len ||
		    memcmp(now, self->config, len))
			EXPECT_EQ(0, write_whole(st, self->config,
						 self->config_len));
		free(now);
	}
	free(st);
	free(self->config);
}

/* scripts/rapido/rapido-check @args in the source tree, with O=. */
static int run_check(struct run *r, struct _test_data_tree *self, const char *args)
{
	return sh(r, self->src, "scripts/rapido/rapido-check O='%s' %s",
		  self->obj, args);
}

/* The row of @sha in rapido-check's table: checkpatch, sparse, W=1. */
static int row(const char *out, const char *sha, int n[3])
{
	char *key = strf("\n%.12s ", sha);
	const char *p = strstr(out, key);
	int got;

	free(key);
	if (!p)
		return -1;
	got = sscanf(p + 14, "%d %d %d", &n[0], &n[1], &n[2]);
	return got == 3 ? 0 : -1;
}

/*
 * Commit @script's changes (the shell's PRELUDE first) and put the SHAs
 * of the @n newest commits, oldest first, into @c.
 */
static void plant(struct __test_metadata *_metadata,
		  struct _test_data_tree *self, const char *script, int n,
		  char **c)
{
	struct run r;

	ASSERT_EQ(0, sh(&r, self->src, PRELUDE "%s", script));
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	for (int i = 0; i < n; i++) {
		c[i] = sh_out(self->src, "git rev-parse HEAD~%d", n - 1 - i);
		ASSERT_NE(NULL, c[i]);
	}
}

/* rapido-check @args; HEAD, index and files (*@state) the same after it */
static void check_untouched(struct __test_metadata *_metadata,
			    struct _test_data_tree *self, struct run *r,
			    const char *args, char **state)
{
	char *after;

	*state = sh_out(self->src, STATE_CMD);
	ASSERT_EQ(0, run_check(r, self, args));
	after = sh_out(self->src, STATE_CMD);
	EXPECT_STREQ(*state, after);
	free(after);
}

/*
 * @feed (a shell command printing a patch) piped to rapido-check --patch:
 * exit 1 and, in checkpatch's shape as b4 reads it, lkdtm's new sparse
 * warning alone on stdout, nothing on stderr.
 */
static void patch_adds_the_sparse_warning(struct __test_metadata *_metadata,
					  struct _test_data_tree *self,
					  const char *feed)
{
	struct run r;

	ASSERT_EQ(0, sh(&r, self->src,
			"%s | scripts/rapido/rapido-check --patch O='%s'", feed,
			self->obj));
	EXPECT_EQ(1, r.status) run_dump(&r);
	EXPECT_EQ(0, strncmp(r.out, "WARNING: sparse: drivers/misc/lkdtm/core.c:", 43))
		run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "Using plain integer as NULL pointer"))
		run_dump(&r);
	EXPECT_EQ(1, count_of(r.out, "\n")) run_dump(&r);
	EXPECT_STREQ("", r.err);
	run_free(&r);
}

TEST_F_TIMEOUT(tree, check_flags_what_each_commit_adds, 900)
{
	char *before, *after, *c[3];
	int n[3];
	struct run r;

	/*
	 * 1: checkpatch's trailing whitespace; 2: sparse's plain integer
	 * as NULL pointer; 3: a clean change above both (it moves the
	 * old warning's line: still not new)
	 */
	plant(_metadata, self,
	      "sed -i 's|^\\tint i;$|\\tint i; |' " CORE "; C 'lkdtm: a blank'; "
	      "sed -i 's|^\\tint i; $|\\tint i;\\n\\tchar *rapido_p = 0;\\n\\n\\t(void)rapido_p;|' "
	      CORE "; C 'lkdtm: a plain integer'; "
	      "sed -i 's|^static int __init lkdtm_module_init(void)$|/* Planted. */\\n&|' "
	      CORE "; C 'lkdtm: a comment'", 3, c);
	check_untouched(_metadata, self, &r, "BASE=HEAD~3", &before);
	EXPECT_EQ(1, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "your HEAD, index and files are not touched"))
		run_dump(&r);
	ASSERT_EQ(0, row(r.out, c[0], n)) run_dump(&r);
	EXPECT_EQ(1, n[0]);
	EXPECT_EQ(0, n[1]);
	ASSERT_EQ(0, row(r.out, c[1], n)) run_dump(&r);
	EXPECT_EQ(0, n[0]);
	EXPECT_EQ(1, n[1]) run_dump(&r);
	EXPECT_EQ(0, n[2]);
	ASSERT_EQ(0, row(r.out, c[2], n)) run_dump(&r);
	EXPECT_EQ(0, n[0]);
	EXPECT_EQ(0, n[1]) run_dump(&r);
	EXPECT_EQ(0, n[2]) run_dump(&r);
	/* stderr names the commits that add something, and only those */
	{
		char *l0 = strf("%.12s (\"lkdtm: a blank\") adds 1 checkpatch", c[0]);
		char *l1 = strf("%.12s (\"lkdtm: a plain integer\") adds 1 sparse", c[1]);
		char *l2 = strf("%.12s", c[2]);

		EXPECT_NE(NULL, strstr(r.err, l0)) run_dump(&r);
		EXPECT_NE(NULL, strstr(r.err, l1)) run_dump(&r);
		EXPECT_EQ(NULL, strstr(r.err, l2)) run_dump(&r);
		free(l0);
		free(l1);
		free(l2);
	}
	EXPECT_NE(NULL, strstr(r.out, "Using plain integer as NULL pointer"));
	run_free(&r);

	/*
	 * b4 prep-perpatch-check-cmd: the sparse commit's patch on stdin;
	 * b4 (0.14 on: prep --check) pipes the mail without format-patch's
	 * "From <sha>" line: the commit is found by its patch-id
	 */
	patch_adds_the_sparse_warning(_metadata, self,
				      "git format-patch -1 --stdout HEAD~1");
	patch_adds_the_sparse_warning(_metadata, self,
				      "git format-patch -1 --stdout HEAD~1 | sed 1d");
	/* and a clean commit's mail: nothing on stdout or stderr, exit 0 */
	ASSERT_EQ(0, sh(&r, self->src,
			"git format-patch -1 --stdout HEAD | sed 1d | scripts/rapido/rapido-check --patch O='%s'",
			self->obj));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_STREQ("", r.out);
	EXPECT_STREQ("", r.err);
	run_free(&r);

	/*
	 * a patch of no commit (a mail from a list): applied on HEAD in the
	 * worktree, its new sparse warning found
	 */
	ASSERT_EQ(0, sh(&r, self->src,
			"set -e; sed -i 's|^\\tint i;$|\\tint i;\\n\\tchar *rapido_q = 0;\\n\\n\\t(void)rapido_q;|' " CORE "; "
			"{ printf 'From: " WHO "\\nSubject: [PATCH] lkdtm: not committed\\n\\nPlanted by check_test.\\n\\nSigned-off-by: " WHO "\\n---\\n'; "
			"git diff; } > \"$(git rev-parse --absolute-git-dir)/rapido-check-mail.patch\"; git checkout -q -- " CORE));
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	patch_adds_the_sparse_warning(_metadata, self,
				      "cat \"$(git rev-parse --absolute-git-dir)/rapido-check-mail.patch\"");
	ASSERT_EQ(0, sh(&r, self->src,
			"rm \"$(git rev-parse --absolute-git-dir)/rapido-check-mail.patch\""));
	run_free(&r);
	after = sh_out(self->src, STATE_CMD);
	EXPECT_STREQ(before, after);
	free(before);
	free(after);
	for (int i = 0; i < 3; i++)
		free(c[i]);
}

/* The line of rapido-check's output that starts with @sha's 12 digits. */
static char *row_line(const char *out, const char *sha)
{
	char *key = strf("\n%.12s ", sha);
	const char *p = strstr(out, key);

	free(key);
	return p ? strndup(p + 1, strchrnul(p + 1, '\n') - p - 1) : NULL;
}

/*
 * PROFILE=: each commit booted in the worktree as rebase -x would (its
 * first run builds the worktree's kernel whole): a clean commit, then one
 * whose WARN at lkdtm's init fails simple. The table's boot column and
 * stderr name the failing commit only; HEAD, index and files untouched;
 * an older copy of rapido in the worktree is replaced by the tree's, and
 * kbuild's outputs there are no changes for the next run.
 */
TEST_F_TIMEOUT(tree, check_profile_boots_each_commit, 3000)
{
	char *before, *c[2], *line, *want;
	struct run r;

	plant(_metadata, self,
	      "sed -i 's|^static int __init lkdtm_module_init(void)$|/* Planted: good. */\\n&|' "
	      CORE "; C 'lkdtm: good'; "
	      "sed -i 's|^\\tint i;$|&\\n\\n\\tWARN(1, \"planted by check_test\");|' "
	      CORE "; C 'lkdtm: a WARN'", 2, c);
	/* a worktree's older copy of rapido is installed anew */
	ASSERT_EQ(0, sh(&r, self->obj,
			"f=.rapido/check/wt/scripts/rapido/rapido; if [ -f $f ]; then echo '# stale' >> $f; fi"));
	run_free(&r);
	check_untouched(_metadata, self, &r, "BASE=HEAD~2 PROFILE=simple",
			&before);
	EXPECT_EQ(1, r.status) run_dump(&r);
	line = strf("%s/.rapido/check/wt/scripts/rapido/rapido", self->obj);
	want = read_text(line);
	EXPECT_NE(NULL, want);
	EXPECT_EQ(NULL, want ? strstr(want, "\n# stale\n") : NULL);
	free(want);
	free(line);
	/*
	 * the worktree ignores kbuild's outputs as the tree does: nothing
	 * "changed while kbuild ran" (the next run would rebuild it all)
	 */
	line = strf("%s/.rapido/check/wt/.rapido/stamps/kbuild.pending",
		    self->obj);
	want = read_text(line);
	EXPECT_TRUE(!want || !*want) TH_LOG("%s: %s", line, want);
	free(want);
	free(line);
	EXPECT_NE(NULL, strstr(r.out, "  BOOT    ")) run_dump(&r);
	line = row_line(r.out, c[0]);
	ASSERT_NE(NULL, line) run_dump(&r);
	EXPECT_NE(NULL, strstr(line, " pass ")) TH_LOG("row: '%s'", line);
	free(line);
	line = row_line(r.out, c[1]);
	ASSERT_NE(NULL, line) run_dump(&r);
	EXPECT_NE(NULL, strstr(line, " FAIL ")) TH_LOG("row: '%s'", line);
	free(line);
	want = strf("rapido-check: %.12s (\"lkdtm: a WARN\")", c[1]);
	line = strstr(r.err, want);
	EXPECT_NE(NULL, line) run_dump(&r);
	if (line)
		EXPECT_EQ(0, strncmp(strchrnul(line, '\n') - 24,
				     "; boot test simple: FAIL", 24))
			run_dump(&r);
	free(want);
	want = strf("%.12s (", c[0]);
	EXPECT_EQ(NULL, strstr(r.err, want)) run_dump(&r);
	free(want);
	run_free(&r);
	free(before);
	for (int i = 0; i < 2; i++)
		free(c[i]);
}

/*
 * Start rapido-check in a process group of its own and press Ctrl-C
 * (SIGINT to the group, as a terminal does) while kbuild runs sparse: a
 * sparse first in PATH marks that it started, then waits, then runs the
 * real one. Returns its exit code, its output in *@out.
 */
static int interrupt_check(struct _test_data_tree *self, char **out)
{
	char dir[] = "/tmp/rapido-check-int.XXXXXX";
	char *log, *mark, *wrap, *text;
	double t0 = rt_now();
	int st = 0, sent = 0;
	pid_t pid;

	if (!mkdtemp(dir))
		return -1;
	log = strf("%s/log", dir);
	mark = strf("%s/started", dir);
	wrap = strf("%s/sparse", dir);
	text = strf("#!/bin/sh\n: > '%s'\nsleep 120\nexec /usr/bin/sparse \"$@\"\n",
		    mark);
	if (write_file(wrap, 0755, text))
		return -1;
	free(text);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		char *o = strf("O=%s", self->obj);
		char *path = strf("%s:%s", dir, getenv("PATH"));

		/* as a terminal's job: SIGINT not ignored (a background
		 * job of a shell inherits it ignored, and bash keeps it so)
		 */
		signal(SIGINT, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		setpgid(0, 0);
		setenv("PATH", path, 1);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 ||
		    chdir(self->src))
			_exit(127);
		execl("scripts/rapido/rapido-check", "rapido-check",
		      "BASE=HEAD~1", o, (char *)NULL);
		_exit(127);
	}
	while (rt_now() - t0 < 600) {
		if (!sent && !access(mark, F_OK)) {
			kill(-pid, SIGINT);
			sent = 1;
		}
		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
		usleep(50 * 1000);
	}
	if (rt_now() - t0 >= 600) {
		kill(-pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	*out = read_text(log);
	rm_rf(dir);
	free(log);
	free(mark);
	free(wrap);
	if (!sent)
		return -2;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

TEST_F_TIMEOUT(tree, check_clean_series_and_ctrl_c, 900)
{
	char *before, *after, *out;
	struct run r;

	ASSERT_EQ(0, sh(&r, self->src, PRELUDE
			"sed -i 's|^static int __init lkdtm_module_init(void)$|/* Planted: a clean change. */\\n&|' "
			CORE "; C 'lkdtm: a clean comment'"));
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	before = sh_out(self->src, STATE_CMD);
	EXPECT_EQ(130, interrupt_check(self, &out)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "interrupted; your HEAD, index and files are as they were"))
		TH_LOG("%s", out);
	free(out);
	after = sh_out(self->src, STATE_CMD);
	EXPECT_STREQ(before, after);
	free(after);
	/* and the worktree the interrupt left behind serves the next run */
	ASSERT_EQ(0, run_check(&r, self, "BASE=HEAD~1"));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "no commit adds an error or a warning"))
		run_dump(&r);
	run_free(&r);
	after = sh_out(self->src, STATE_CMD);
	EXPECT_STREQ(before, after);
	free(before);
	free(after);
}

/* scripts/rapido/rapido-test PROFILE=simple O= @args in the source tree. */
static int rtest(struct run *r, struct _test_data_tree *self, const char *args)
{
	return sh(r, self->src,
		  "scripts/rapido/rapido-test PROFILE=simple O='%s' %s",
		  self->obj, args);
}

TEST_F_TIMEOUT(tree, trailer_once_on_pass_never_on_fail, 900)
{
	char *h0, *h1, *msg;
	struct run r;

	ASSERT_EQ(0, sh(&r, self->src, PRELUDE "C 'rapido: a commit to test'"));
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	h0 = sh_out(self->src, "git rev-parse HEAD");

	/* a failing run: no trailer, HEAD as it was */
	ASSERT_EQ(0, rtest(&r, self, "TRAILER=1 X='exit 3'"));
	EXPECT_EQ(1, r.status) run_dump(&r);
	run_free(&r);
	h1 = sh_out(self->src, "git rev-parse HEAD");
	EXPECT_STREQ(h0, h1);
	free(h1);

	/* a pass: one trailer, HEAD rewritten, the tree clean */
	ASSERT_EQ(0, rtest(&r, self, "TRAILER=1"));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "(rewritten)")) run_dump(&r);
	run_free(&r);
	msg = sh_out(self->src, "git log -1 --format=%%B");
	EXPECT_EQ(1, count_of(msg, "\nTested-by: " WHO "\n")) TH_LOG("%s", msg);
	free(msg);
	h1 = sh_out(self->src, "git rev-parse HEAD");
	EXPECT_STRNE(h0, h1);
	free(h0);
	h0 = h1;

	/* again: still one, HEAD not rewritten */
	ASSERT_EQ(0, rtest(&r, self, "TRAILER=1"));
	EXPECT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	msg = sh_out(self->src, "git log -1 --format=%%B");
	EXPECT_EQ(1, count_of(msg, "Tested-by: ")) TH_LOG("%s", msg);
	free(msg);
	h1 = sh_out(self->src, "git rev-parse HEAD");
	EXPECT_STREQ(h0, h1);
	free(h1);

	/* the key is settable */
	ASSERT_EQ(0, rtest(&r, self, "TRAILER=1 TRAILER_KEY=Regression-tested-by"));
	EXPECT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	msg = sh_out(self->src, "git log -1 --format=%%B");
	EXPECT_EQ(1, count_of(msg, "\nRegression-tested-by: " WHO "\n"))
		TH_LOG("%s", msg);
	free(msg);
	free(h0);

	/* a dirty index (a mode change, no file touched): no trailer */
	h0 = sh_out(self->src, "git update-index --chmod=+x README && git rev-parse HEAD");
	ASSERT_NE(NULL, h0);
	ASSERT_EQ(0, rtest(&r, self, "TRAILER=1 TRAILER_KEY=Dirty-tested-by"));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "not clean")) run_dump(&r);
	run_free(&r);
	msg = sh_out(self->src, "git update-index --chmod=-x README && git log -1 --format=%%B");
	EXPECT_EQ(0, count_of(msg, "Dirty-tested-by")) TH_LOG("%s", msg);
	free(msg);
	h1 = sh_out(self->src, "git rev-parse HEAD");
	EXPECT_STREQ(h0, h1);
	free(h0);
	free(h1);
}

/*
 * The JUnit XML's structure, as JUnit's XSD (the Jenkins/Ant schema that
 * GitLab and GitHub Actions' reporters read) has it: <testsuites> of
 * <testsuite name tests failures errors time>, each <testcase name
 * classname time>, a failure as <failure message type>text</failure>,
 * the counts matching the elements.
 */
static const char junit_check[] =
	"import sys, re, xml.etree.ElementTree as ET\n"
	"root = ET.parse(sys.argv[1]).getroot()\n"
	"want_fail = sys.argv[2] == '1'\n"
	"def num(e, a, kind=int):\n"
	"    v = e.get(a)\n"
	"    assert v is not None, '%s lacks %s' % (e.tag, a)\n"
	"    return kind(v)\n"
	"assert root.tag == 'testsuites', root.tag\n"
	"suites = root.findall('testsuite')\n"
	"assert len(suites) >= 1\n"
	"tot = fails = 0\n"
	"for s in suites:\n"
	"    assert s.get('name'), 'testsuite without a name'\n"
	"    cases = s.findall('testcase')\n"
	"    assert num(s, 'tests') == len(cases), 'tests= is not the count'\n"
	"    f = [c for c in cases if c.find('failure') is not None]\n"
	"    assert num(s, 'failures') == len(f), 'failures= is not the count'\n"
	"    num(s, 'errors'); num(s, 'time', float)\n"
	"    ts = s.get('timestamp')\n"
	"    assert ts is None or re.match(r'^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d$', ts), ts\n"
	"    for p in s.findall('properties/property'):\n"
	"        assert p.get('name') and p.get('value') is not None\n"
	"    for c in cases:\n"
	"        assert c.get('name') and c.get('classname'), 'testcase lacks name/classname'\n"
	"        num(c, 'time', float)\n"
	"        for child in c:\n"
	"            assert child.tag in ('failure', 'error', 'skipped', 'system-out', 'system-err'), child.tag\n"
	"        fl = c.find('failure')\n"
	"        if fl is not None:\n"
	"            assert fl.get('message') and fl.get('type'), 'failure lacks message/type'\n"
	"            assert fl.text and 'rapido-init' in fl.text, 'no console tail in <failure>'\n"
	"    tot += len(cases); fails += len(f)\n"
	"assert num(root, 'tests') == tot and num(root, 'failures') == fails\n"
	"assert (fails > 0) == want_fail, 'failures: %d' % fails\n"
	"print('junit ok')\n";

static void check_junit(struct __test_metadata *_metadata,
			struct _test_data_tree *self, const char *want_fail)
{
	char *xml = strf("%s/.rapido/results/simple.xml", self->obj);
	char *const argv[] = { "python3", "-c", (char *)junit_check, xml,
			       (char *)want_fail, NULL };
	struct run r;

	ASSERT_EQ(0, run(&r, argv));
	EXPECT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	free(xml);
}

TEST_F_TIMEOUT(tree, notes_results_junit, 900)
{
	char *c1, *c2, *note, *want;
	struct run r;

	ASSERT_EQ(0, sh(&r, self->src, PRELUDE "C 'rapido: first'; C 'rapido: second'"));
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	c1 = sh_out(self->src, "git rev-parse HEAD~1");
	c2 = sh_out(self->src, "git rev-parse HEAD");

	/* a pass noted on the first commit */
	ASSERT_EQ(0, sh(&r, self->src, "git checkout -q HEAD~1"));
	run_free(&r);
	ASSERT_EQ(0, rtest(&r, self, "NOTES=1 JUNIT=1"));
	EXPECT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	check_junit(_metadata, self, "0");
	ASSERT_EQ(0, sh(&r, self->src, "git checkout -q " BRANCH));
	run_free(&r);

	/* a fail on the second, twice: one line for the profile */
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, rtest(&r, self, "NOTES=1 JUNIT=1 X='exit 3'"));
		EXPECT_EQ(1, r.status) run_dump(&r);
		run_free(&r);
	}
	check_junit(_metadata, self, "1");
	note = sh_out(self->src, "git notes --ref=refs/notes/rapido show %s", c2);
	ASSERT_NE(NULL, note);
	EXPECT_EQ(1, count_of(note, "simple ")) TH_LOG("%s", note);
	EXPECT_NE(NULL, strstr(note, "simple fail exit=1 release=6.1")) TH_LOG("%s", note);
	EXPECT_NE(NULL, strstr(note, " stage=")) TH_LOG("%s", note);
	EXPECT_NE(NULL, strstr(note, " accel=")) TH_LOG("%s", note);
	free(note);

	/* make rapido-results: the series, one line per commit and profile */
	ASSERT_EQ(0, sh(&r, self->src, "make -s O='%s' rapido-results BASE=HEAD~2",
			self->obj));
	EXPECT_EQ(0, r.status) run_dump(&r);
	want = strf("%.12s rapido: first", c1);
	EXPECT_NE(NULL, strstr(r.out, want)) run_dump(&r);
	free(want);
	want = strf("simple pass exit=0");
	EXPECT_NE(NULL, strstr(r.out, want)) run_dump(&r);
	free(want);
	want = strf("%.12s rapido: second", c2);
	EXPECT_NE(NULL, strstr(r.out, want)) run_dump(&r);
	free(want);
	EXPECT_NE(NULL, strstr(r.out, "simple fail exit=1")) run_dump(&r);
	EXPECT_EQ(2, count_of(r.out, "\n")) run_dump(&r);
	run_free(&r);
	free(c1);
	free(c2);
}

TEST_F_TIMEOUT(tree, rebase_stops_bisect_names_and_skips, 1200)
{
	char *c[4], *head, *want;
	struct run r;
	double t0 = rt_now();

	/* good, a WARN at lkdtm's init (simple fails), no build, the fix */
	ASSERT_EQ(0, sh(&r, self->src, PRELUDE
			"sed -i 's|^static int __init lkdtm_module_init(void)$|/* Planted: good. */\\n&|' "
			CORE "; C 'lkdtm: good'; "
			"sed -i 's|^\\tint i;$|&\\n\\n\\tWARN(1, \"planted by check_test\");|' "
			CORE "; C 'lkdtm: a WARN'; "
			"echo '#error planted by check_test' >> " CORE "; C 'lkdtm: no build'; "
			"sed -i '/^#error planted by check_test$/d' " CORE "; C 'lkdtm: the fix'"));
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	for (int i = 0; i < 4; i++) {
		c[i] = sh_out(self->src, "git rev-parse HEAD~%d", 3 - i);
		ASSERT_NE(NULL, c[i]);
	}

	/* rebase -x stops at the WARN, the tree clean */
	ASSERT_EQ(0, sh(&r, self->src,
			"git rebase -x \"make O='%s' rapido-test PROFILE=simple\" HEAD~4",
			self->obj));
	EXPECT_NE(0, r.status) run_dump(&r);
	run_free(&r);
	head = sh_out(self->src, "git rev-parse HEAD");
	EXPECT_STREQ(c[1], head);
	free(head);
	head = sh_out(self->src, "git status --porcelain; test -d .git/rebase-merge && echo stopped");
	EXPECT_STREQ("stopped", head);
	free(head);
	ASSERT_EQ(0, sh(&r, self->src, "git rebase --abort"));
	run_free(&r);

	/*
	 * bisect from the good commit to the fix: git tests the commit
	 * that does not build first (skipped: 125), then the WARN
	 */
	ASSERT_EQ(0, sh(&r, self->src,
			"git bisect start %s %s && git bisect run scripts/rapido/rapido-test PROFILE=simple O='%s'; "
			"echo \"run exit $?\"; git bisect log",
			c[3], c[0], self->obj));
	want = strf("%s is the first bad commit", c[1]);
	EXPECT_NE(NULL, strstr(r.out, want)) run_dump(&r);
	free(want);
	want = strf("git bisect skip %s", c[2]);
	EXPECT_NE(NULL, strstr(r.out, want)) run_dump(&r);
	free(want);
	EXPECT_NE(NULL, strstr(r.out, "run exit 0")) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, sh(&r, self->src, "git bisect reset >/dev/null"));
	run_free(&r);
	for (int i = 0; i < 4; i++)
		free(c[i]);
	TH_LOG("rebase and bisect: %.0f s", rt_now() - t0);
}

/*
 * Plant @script's commit and one after it, then git bisect run
 * rapido-test from HEAD~2 (good) to HEAD (bad): the run on the first must
 * stop the bisect (128), naming no commit (the run's output in @r).
 */
static void bisect_stops(struct __test_metadata *_metadata,
			 struct _test_data_tree *self, const char *script,
			 struct run *r)
{
	char *c[2];

	plant(_metadata, self, script, 2, c);
	free(c[0]);
	free(c[1]);
	ASSERT_EQ(0, sh(r, self->src,
			"git bisect start HEAD HEAD~2 && git bisect run scripts/rapido/rapido-test PROFILE=simple O='%s'; "
			"echo \"run exit $?\"",
			self->obj));
	EXPECT_EQ(NULL, strstr(r->out, "is the first bad commit")) run_dump(r);
	EXPECT_TRUE(both_have(r, "exit code 128")) run_dump(r);
	EXPECT_EQ(NULL, strstr(r->out, "run exit 0")) run_dump(r);
}

TEST_F_TIMEOUT(tree, bisect_aborts_when_the_config_no_longer_applies, 600)
{
	struct run r;

	/* LKDTM behind an option no .config has: simple cannot be met */
	bisect_stops(_metadata, self,
		     "sed -i 's|^config LKDTM$|&\\n\\tdepends on BROKEN|' lib/Kconfig.debug; "
		     "C 'lkdtm: depends on BROKEN'; C 'rapido: after it'", &r);
	run_free(&r);
}

/*
 * A commit on which an option of the profile no longer exists (simple's
 * CONFIG_RUNTIME_TESTING_MENU renamed; LKDTM, under the renamed menu,
 * still builds and boots): the check runs before kbuild's kconfig would
 * drop the option from .config, so the run is 128 naming it, the bisect
 * stops, and .config keeps the option.
 */
TEST_F_TIMEOUT(tree, bisect_aborts_when_an_option_is_gone, 900)
{
	char *config = strf("%s/.config", self->obj), *text;
	struct run r;

	bisect_stops(_metadata, self,
		     "sed -i 's/RUNTIME_TESTING_MENU/RUNTIME_TESTING_MENU_RENAMED/g' lib/Kconfig.debug; "
		     "C 'lib: RUNTIME_TESTING_MENU renamed'; C 'rapido: after it'", &r);
	EXPECT_TRUE(both_have(&r, "CONFIG_RUNTIME_TESTING_MENU=y")) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "no such option in this tree")) run_dump(&r);
	run_free(&r);
	text = read_text(config);
	ASSERT_NE(NULL, text);
	EXPECT_NE(NULL, strstr(text, "\nCONFIG_RUNTIME_TESTING_MENU=y\n"));
	EXPECT_EQ(NULL, strstr(text, "RUNTIME_TESTING_MENU_RENAMED"));
	free(text);
	free(config);
}

/* git send-email --dry-run of @rev's patch: nothing leaves the machine. */
static int send_dry(struct run *r, struct _test_data_tree *self,
		    const char *rev)
{
	return sh(r, self->src,
		  "d=$(mktemp -d); o='--dry-run --confirm=never --suppress-cc=all --to=nobody@example.org'; "
		  "git format-patch -q -1 -o \"$d\" %s || exit; "
		  "git send-email $o --from='Tess Er <tess@example.org>' --smtp-server=/bin/false \"$d\"/*.patch; "
		  "rc=$?; rm -rf \"$d\"; exit $rc", rev);
}

TEST_F_TIMEOUT(tree, sendemail_hook_refuses_keeps_chains, 900)
{
	char *hook, *mine, *text, *ran, *before, *after;
	struct run r;

	if (sh(&r, NULL, "test -x \"$(git --exec-path)/git-send-email\"") ||
	    r.status) {
		run_free(&r);
		SKIP(return, "git send-email is not installed (apt-get install git-email)");
	}
	run_free(&r);
	hook = sh_out(self->src, "echo \"$(git rev-parse --absolute-git-dir)/hooks/sendemail-validate\"");
	ASSERT_NE(NULL, hook);
	/* the user's own hook, planted: it must stay, and still run */
	mine = strf("#!/bin/sh\n# planted by check_test\necho \"user hook ran on $1\" >> '%s.ran'\n",
		    hook);
	ASSERT_EQ(0, write_file(hook, 0755, mine));
	ASSERT_EQ(0, sh(&r, self->src, PRELUDE
			"sed -i 's|^\\tint i;$|\\tint i;\\n\\tchar *rapido_p = 0;\\n\\n\\t(void)rapido_p;|' "
			CORE "; C 'lkdtm: a plain integer'; git revert --no-edit HEAD >/dev/null; "
			"git commit -q --amend -m 'lkdtm: no plain integer' -m 'Planted by check_test.' -m 'Signed-off-by: " WHO "'"));
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, sh(&r, self->src, "make -s O='%s' rapido-hooks", self->obj));
	EXPECT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	before = sh_out(self->src, STATE_CMD);

	/* the commit adding a sparse warning is refused */
	ASSERT_EQ(0, send_dry(&r, self, "HEAD~1"));
	EXPECT_NE(0, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "rapido: not sending")) run_dump(&r);
	EXPECT_EQ(NULL, strstr(r.out, "Dry-OK")) run_dump(&r);
	run_free(&r);
	/* the revert adds nothing: it goes through, the user's hook ran */
	ASSERT_EQ(0, send_dry(&r, self, "HEAD"));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "Dry-OK")) run_dump(&r);
	run_free(&r);
	text = strf("%s.ran", hook);
	ran = read_text(text);
	free(text);
	text = ran;
	ASSERT_NE(NULL, text);
	EXPECT_EQ(2, count_of(text, "user hook ran on ")) TH_LOG("%s", text);
	free(text);
	/* the hook (run with git's GIT_DIR) left HEAD, index, files alone */
	after = sh_out(self->src, STATE_CMD);
	EXPECT_STREQ(before, after);
	free(before);
	free(after);

	/* remove: the user's hook is back as it was */
	ASSERT_EQ(0, sh(&r, self->src, "make -s O='%s' rapido-hooks-remove", self->obj));
	EXPECT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	text = read_text(hook);
	EXPECT_STREQ(mine, text);
	free(text);
	ASSERT_EQ(0, sh(&r, self->src, "rm -f '%s' '%s.ran'", hook, hook));
	run_free(&r);
	free(mine);
	free(hook);
}

TEST_HARNESS_MAIN
