// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of rapido-cut on real files of this machine: manifest parsing and
 * errors, ELF closure (bash, ls, $ORIGIN, machine mismatch, #!), module
 * closure on a fake modules tree made with gcc and depmod, and the newc
 * writer checked against GNU cpio and a header parser of our own.
 */
#include <elf.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/sysmacros.h>

#include "kselftest_harness.h"
#include "rapido_test.h"

#define EPOCH	"1234567890"

/* ---- helpers ------------------------------------------------------------ */

/* Run @bin with the NULL-terminated arguments that follow. */
static int cut_run(struct run *r, const char *bin, ...)
{
	char *argv[64];
	va_list ap;
	int n = 0;

	argv[n++] = (char *)bin;
	va_start(ap, bin);
	while (n < 63 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	return run(r, argv);
}

/* Index (0-based) of the line @line in @text, or -1. */
static int line_no(const char *text, const char *line)
{
	size_t len = strlen(line);
	int i = 0;

	for (const char *s = text; *s; i++) {
		const char *e = strchrnul(s, '\n');

		if ((size_t)(e - s) == len && !strncmp(s, line, len))
			return i;
		s = *e ? e + 1 : e;
	}
	return -1;
}

/* Does a `file` or `slink` line of --list @text have a path ending in @sfx? */
static bool has_path_ending(const char *text, const char *sfx)
{
	size_t n = strlen(sfx);

	for (const char *s = text; *s;) {
		const char *e = strchrnul(s, '\n'), *p = strchr(s, ' '), *q;

		if (p && p < e && (!strncmp(s, "file ", 5) ||
				   !strncmp(s, "slink ", 6))) {
			q = strchr(p + 1, ' ');
			if (q && q < e && (size_t)(q - p - 1) >= n &&
			    !strncmp(q - n, sfx, n))
				return true;
		}
		s = *e ? e + 1 : e;
	}
	return false;
}

/* Count occurrences of @n bytes @pat in @buf. */
static int count_mem(const char *buf, size_t len, const char *pat, size_t n)
{
	int k = 0;

	for (const char *p = buf; (p = memmem(p, len - (p - buf), pat, n));
	     p++)
		k++;
	return k;
}

/* One parsed newc header. */
struct newc {
	char name[PATH_MAX];
	unsigned long ino, mode, nlink, mtime, size, rmaj, rmin, namesize;
	size_t hdr, data;	/* offsets of header and data */
};

static unsigned long hex8(const char *p)
{
	char s[9];

	memcpy(s, p, 8);
	s[8] = '\0';
	return strtoul(s, NULL, 16);
}

/* Parse the entry at *@off; moves *@off to the next. false at the end. */
static bool newc_next(const char *buf, size_t len, size_t *off,
		      struct newc *e)
{
	const char *h = buf + *off;

	if (*off + 110 > len || memcmp(h, "070701", 6))
		return false;
	e->hdr = *off;
	e->ino = hex8(h + 6);
	e->mode = hex8(h + 14);
	e->nlink = hex8(h + 38);
	e->mtime = hex8(h + 46);
	e->size = hex8(h + 54);
	e->rmaj = hex8(h + 78);
	e->rmin = hex8(h + 86);
	e->namesize = hex8(h + 94);
	if (!e->namesize || e->namesize > PATH_MAX ||
	    *off + 110 + e->namesize > len)
		return false;
	snprintf(e->name, sizeof(e->name), "%s", h + 110);
	e->data = (*off + 110 + e->namesize + 3) & ~3UL;
	*off = (e->data + e->size + 3) & ~3UL;
	return strcmp(e->name, "TRAILER!!!");
}

/* Paths under the fixture's temp dir (a ring of buffers; no freeing). */
static const char *tp(const char *dir, const char *name)
{
	static char ring[16][PATH_MAX];
	static int i;
	char *p = ring[i++ % 16];

	snprintf(p, PATH_MAX, "%s/%s", dir, name);
	return p;
}

static bool have_prog(const char *prog)
{
	struct run r;
	bool ok;

	ok = !cut_run(&r, prog, "--version", NULL) && !r.status;
	run_free(&r);
	return ok;
}

/* Run the C compiler with @first... (NULL-terminated); 0 on success. */
static int cc_run(const char *first, ...)
{
	char *argv[32] = { "gcc" };
	struct run r;
	va_list ap;
	int n = 1, st;

	argv[n++] = (char *)first;
	va_start(ap, first);
	while (n < 31 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	st = run(&r, argv) ? -1 : r.status;
	if (st)
		fprintf(stderr, "cc: %s\n", r.err);
	run_free(&r);
	return st;
}

static void fixture_init(struct __test_metadata *_metadata, char *dir,
			 char **bin)
{
	const char *b = rapido_bin("rapido-cut");

	strcpy(dir, "/tmp/cut_test.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(dir));
	*bin = b ? strdup(b) : NULL;
}

static void fixture_fini(struct __test_metadata *_metadata, char *dir,
			 char *bin)
{
	struct stat st;

	EXPECT_EQ(0, rm_rf(dir));
	EXPECT_EQ(-1, lstat(dir, &st));
	free(bin);
}

FIXTURE(cut) {
	char dir[32];
	char *bin;
};

FIXTURE_SETUP(cut)
{
	fixture_init(_metadata, self->dir, &self->bin);
}

FIXTURE_TEARDOWN(cut)
{
	fixture_fini(_metadata, self->dir, self->bin);
}

/* ---- manifest parsing --------------------------------------------------- */

TEST_F(cut, directives)
{
	const char *d = self->dir;
	char *m = strf("%s/m", d), *def = strf("SRC=%s/src/f", d), *line;
	struct run r;

	if (!self->bin)
		SKIP(return, "RAPIDO_BIN is not set");
	ASSERT_EQ(0, mkdir(tp(d, "src"), 0755));
	ASSERT_EQ(0, mkdir(tp(d, "tree"), 0750));
	ASSERT_EQ(0, mkdir(tp(d, "tree/sub"), 0700));
	ASSERT_EQ(0, mkdir(tp(d, "sub"), 0755));
	ASSERT_EQ(0, write_file(tp(d, "src/f"), 0600, "f\n"));
	ASSERT_EQ(0, write_file(tp(d, "tree/a"), 0644, "a\n"));
	ASSERT_EQ(0, write_file(tp(d, "tree/sub/b"), 0640, "b\n"));
	ASSERT_EQ(0, symlink("a", tp(d, "tree/l")));
	ASSERT_EQ(0, write_file(tp(d, "sub/x"), 0644, "x\n"));
	ASSERT_EQ(0, write_file(tp(d, "sub/inc"), 0644,
				"dir /inc 0711\nfile /inc/x x\n"));
	ASSERT_EQ(0, write_file(m, 0644,
				"# a comment\n"
				"\n"
				"dir /d 0700\n"
				"\t slink  /s\ttarget\t\n"
				"nod /dev/console 0600 c 5 1\n"
				"nod /dev/sda 0660 b 8 0\n"
				"file /etc/f src/f 0640\n"
				"file /etc/g ${SRC}\n"
				"tree /t tree\n"
				"include sub/inc\n"));
	/* run from / so relative paths must be taken from the manifest */
	ASSERT_EQ(0, run_in(&r, "/", (char *[]){ self->bin, "--list", "-D",
			    def, m, NULL }));
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	EXPECT_STREQ("", r.err);
	EXPECT_LE(0, line_no(r.out, "dir /d 0700"));
	EXPECT_LE(0, line_no(r.out, "slink /s target"));
	EXPECT_LE(0, line_no(r.out, "dir /dev 0755"));
	EXPECT_LE(0, line_no(r.out, "nod /dev/console 0600 c 5 1"));
	EXPECT_LE(0, line_no(r.out, "nod /dev/sda 0660 b 8 0"));
	line = strf("file /etc/f 0640 %s/src/f", d);
	EXPECT_LE(0, line_no(r.out, line));
	free(line);
	line = strf("file /etc/g 0600 %s/src/f", d);
	EXPECT_LE(0, line_no(r.out, line));
	free(line);
	EXPECT_LE(0, line_no(r.out, "dir /t 0750"));
	EXPECT_LE(0, line_no(r.out, "dir /t/sub 0700"));
	EXPECT_LE(0, line_no(r.out, "slink /t/l a"));
	line = strf("file /t/sub/b 0640 %s/tree/sub/b", d);
	EXPECT_LE(0, line_no(r.out, line));
	free(line);
	EXPECT_LE(0, line_no(r.out, "dir /inc 0711"));
	line = strf("file /inc/x 0644 %s/sub/x", d);
	EXPECT_LE(0, line_no(r.out, line));
	free(line);
	/* sorted, parents first */
	EXPECT_LT(line_no(r.out, "dir /t 0750"),
		  line_no(r.out, "dir /t/sub 0700"));
	EXPECT_LT(line_no(r.out, "dir /dev 0755"),
		  line_no(r.out, "nod /dev/console 0600 c 5 1"));
	EXPECT_LT(line_no(r.out, "nod /dev/console 0600 c 5 1"),
		  line_no(r.out, "nod /dev/sda 0660 b 8 0"));
	/* /d /dev(+2) /etc(+2) /inc(+1) /s /t(+4) */
	EXPECT_EQ(15, count_mem(r.out, strlen(r.out), "\n", 1)) TH_LOG("%s",
								     r.out);
	EXPECT_EQ(NULL, strstr(r.out, "  "));
	EXPECT_EQ(NULL, strstr(r.out, (char []){ ' ', '\n', '\0' }));
	run_free(&r);
	free(def);
	free(m);
}

TEST_F(cut, list_is_exact)
{
	char *m = strf("%s/m", self->dir);
	struct run r;

	if (!self->bin)
		SKIP(return, "RAPIDO_BIN is not set");
	ASSERT_EQ(0, write_file(m, 0644,
				"dir /b\nslink /a/x ../b\nnod /a/n 0600 c 1 3\n"
				"dir /a-b 1777\n"));
	ASSERT_EQ(0, cut_run(&r, self->bin, "-l", m, NULL));
	ASSERT_EQ(0, r.status);
	EXPECT_STREQ("dir /a 0755\n"
		     "nod /a/n 0600 c 1 3\n"
		     "slink /a/x ../b\n"
		     "dir /a-b 1777\n"
		     "dir /b 0755\n", r.out);
	run_free(&r);
	free(m);
}

/* One bad manifest line each: exit 1, named file:line, nothing written. */
FIXTURE(bad) {
	char dir[32];
	char *bin;
};

FIXTURE_VARIANT(bad) {
	const char *text;	/* after a good first line */
	int line;		/* line the error names */
	const char *msg;
};

FIXTURE_VARIANT_ADD(bad, unknown) {
	.text = "frob /x\n", .line = 2, .msg = "'frob': unknown directive",
};

FIXTURE_VARIANT_ADD(bad, too_few) {
	.text = "slink /x\n", .line = 2,
	.msg = "'slink': wrong number of fields (1; usage: slink DEST TARGET)",
};

FIXTURE_VARIANT_ADD(bad, too_many) {
	.text = "\ndir /x 0755 extra\n", .line = 3,
	.msg = "'dir': wrong number of fields",
};

FIXTURE_VARIANT_ADD(bad, mode) {
	.text = "dir /x 0758\n", .line = 2,
	.msg = "dir '/x': bad mode '0758'",
};

FIXTURE_VARIANT_ADD(bad, nod_type) {
	.text = "nod /dev/x 0600 x 1 2\n", .line = 2,
	.msg = "nod '/dev/x': bad type 'x'",
};

FIXTURE_VARIANT_ADD(bad, missing_src) {
	.text = "file /x nosuchsrc\n", .line = 2,
	.msg = "/nosuchsrc': No such file or directory",
};

FIXTURE_VARIANT_ADD(bad, undefined_var) {
	.text = "slink /x ${NOPE}\n", .line = 2,
	.msg = "'${NOPE}': undefined variable (pass -D NOPE=VALUE)",
};

FIXTURE_VARIANT_ADD(bad, include_loop) {
	.text = "include m\n", .line = 2, .msg = "include loop",
};

FIXTURE_VARIANT_ADD(bad, bin_missing) {
	.text = "bin rapido-no-such-prog\n", .line = 2,
	.msg = "bin 'rapido-no-such-prog': not found in PATH (install it or remove the line)",
};

FIXTURE_VARIANT_ADD(bad, conflict) {
	.text = "slink /ok/x a\nslink /ok/x b\n", .line = 3,
	.msg = "'/ok/x': already a symlink to 'a', not 'b'",
};

FIXTURE_VARIANT_ADD(bad, file_over_dir) {
	.text = "slink /ok ../b\n", .line = 2,
	.msg = "'/ok': already in the image as a dir, not a slink",
};

FIXTURE_VARIANT_ADD(bad, kmod_no_moddir) {
	.text = "kmod loop\n", .line = 2,
	.msg = "kmod 'loop': needs --moddir and --kver",
};

FIXTURE_VARIANT_ADD(bad, slink_loop) {
	.text = "slink /l1 l2\nslink /l2 l1\ndir /l1/x\n", .line = 4,
	.msg = "'/l1/x': cannot place in the image: Too many levels of symbolic links",
};

FIXTURE_SETUP(bad)
{
	fixture_init(_metadata, self->dir, &self->bin);
}

FIXTURE_TEARDOWN(bad)
{
	fixture_fini(_metadata, self->dir, self->bin);
}

TEST_F(bad, line)
{
	char *m = strf("%s/m", self->dir), *text, *want;
	char *out = strf("%s/out", self->dir);
	char *tmp = strf("%s/out.tmp", self->dir);
	struct run r;

	if (!self->bin)
		SKIP(return, "RAPIDO_BIN is not set");
	text = strf("dir /ok\n%s", variant->text);
	ASSERT_EQ(0, write_file(m, 0644, text));
	ASSERT_EQ(0, cut_run(&r, self->bin, "-o", out, m, NULL));
	EXPECT_EQ(1, r.status);
	want = strf("rapido-cut: %s:%d: ", m, variant->line);
	EXPECT_NE(NULL, strstr(r.err, want)) TH_LOG("want '%s' in: %s", want,
						     r.err);
	EXPECT_NE(NULL, strstr(r.err, variant->msg))
		TH_LOG("want '%s' in: %s", variant->msg, r.err);
	EXPECT_EQ(-1, access(out, F_OK));
	EXPECT_EQ(-1, access(tmp, F_OK));
	run_free(&r);
	free(want);
	free(text);
	free(m);
	free(out);
	free(tmp);
}

/*
 * Out of memory is rapido's environment failing, not the manifest: exit
 * 128 (util's fatal_oom), as every program. A line that expands a 100 KB
 * ${V} 1000 times outgrows a 64 MiB address space.
 */
TEST_F(cut, out_of_memory_is_128)
{
	char *m = strf("%s/m", self->dir), *def, *val, *line;
	size_t n = 100000;
	struct run r;

	if (!self->bin)
		SKIP(return, "RAPIDO_BIN is not set");
	val = malloc(n + 1);
	line = malloc(1000 * 4 + 16);
	ASSERT_NE(NULL, val);
	ASSERT_NE(NULL, line);
	memset(val, 'a', n);
	val[n] = '\0';
	strcpy(line, "dir /x");
	for (int i = 0; i < 1000; i++)
		strcat(line, "${V}");
	strcat(line, "\n");
	def = strf("V=%s", val);
	ASSERT_EQ(0, write_file(m, 0644, line));
	ASSERT_EQ(0, cut_run(&r, "sh", "-c", "ulimit -v 65536; exec \"$@\"",
			     "sh", self->bin, "-l", "-D", def, m, NULL));
	EXPECT_EQ(128, r.status) TH_LOG("%s", r.err);
	EXPECT_NE(NULL, strstr(r.err, "rapido-cut: out of memory"))
		TH_LOG("%s", r.err);
	run_free(&r);
	free(def);
	free(line);
	free(val);
	free(m);
}

TEST_F(cut, all_errors_reported)
{
	char *m = strf("%s/m", self->dir), *out = strf("%s/out", self->dir);
	char *want;
	struct run r;
	int n = 0;

	if (!self->bin)
		SKIP(return, "RAPIDO_BIN is not set");
	ASSERT_EQ(0, write_file(m, 0644,
				"frob\n"
				"dir /ok\n"
				"dir /x 9\n"
				"file /y nosuchsrc\n"
				"slink /z ${NOPE}\n"
				"bin rapido-no-such-prog\n"));
	ASSERT_EQ(0, cut_run(&r, self->bin, "-o", out, m, NULL));
	EXPECT_EQ(1, r.status);
	for (int line = 1; line <= 6; line++) {
		want = strf("rapido-cut: %s:%d: ", m, line);
		if (strstr(r.err, want))
			n++;
		free(want);
	}
	EXPECT_EQ(5, n) TH_LOG("%s", r.err);
	EXPECT_NE(NULL, strstr(r.err, "rapido-cut: 5 errors, nothing written"));
	EXPECT_EQ(-1, access(out, F_OK));
	run_free(&r);
	free(m);
	free(out);
}

/* Quotes and backslashes name paths with blanks and quotes in them. */
TEST_F(cut, quoted_fields)
{
	const char *d = self->dir;
	char *m = strf("%s/m", d), *out = strf("%s/out", d);
	char *dir = strf("%s/my tools", d), *text, *line;
	struct run r;

	if (!self->bin)
		SKIP(return, "RAPIDO_BIN is not set");
	ASSERT_EQ(0, mkdir(dir, 0755));
	ASSERT_EQ(0, write_file(tp(dir, "x y"), 0755, "#!/bin/sh\n"));
	ASSERT_EQ(0, write_file(tp(dir, "it's"), 0644, "data\n"));
	ASSERT_EQ(0, mkdir(tp(dir, "t r"), 0755));
	ASSERT_EQ(0, write_file(tp(dir, "t r/f\"g"), 0644, "data\n"));
	text = strf("bin '%s/x y'\n"
		    "file /opt/it\\'s my\\ tools/it\\'s 0600\n"
		    "file \"/opt/q \\\"a\\\" \\\\ \\$\" 'my tools'/\"it's\"\n"
		    "tree '/opt/t r' \"${SRC}/t r\"\n"
		    "slink /l${EMPTY} ${SPACED}\n"
		    "slink '/m ${SPACED}' ${EMPTY} \"${SPACED}\"\n"
		    "dir ${EMPTY} /e ${EMPTY}\n", dir);
	ASSERT_EQ(0, write_file(m, 0644, text));
	free(text);
	line = strf("SRC=%s", dir);
	ASSERT_EQ(0, cut_run(&r, self->bin, "--list", "-D", line, "-D",
			     "EMPTY=", "-D", "SPACED=a 'b' \"c\"", m, NULL));
	free(line);
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	line = strf("file %s/x y 0755 %s/x y", dir, dir);
	EXPECT_LE(0, line_no(r.out, line)) TH_LOG("%s", r.out);
	free(line);
	line = strf("file /opt/it's 0600 %s/it's", dir);
	EXPECT_LE(0, line_no(r.out, line)) TH_LOG("%s", r.out);
	free(line);
	line = strf("file /opt/q \"a\" \\ $ 0644 %s/it's", dir);
	EXPECT_LE(0, line_no(r.out, line)) TH_LOG("%s", r.out);
	free(line);
	line = strf("file /opt/t r/f\"g 0644 %s/t r/f\"g", dir);
	EXPECT_LE(0, line_no(r.out, line)) TH_LOG("%s", r.out);
	free(line);
	EXPECT_LE(0, line_no(r.out, "slink /l a 'b' \"c\"")) TH_LOG("%s", r.out);
	EXPECT_LE(0, line_no(r.out, "slink /m ${SPACED} a 'b' \"c\""))
		TH_LOG("%s", r.out);
	EXPECT_LE(0, line_no(r.out, "dir /e 0755")) TH_LOG("%s", r.out);
	run_free(&r);

	/* an unterminated quote: the line is an error, nothing written */
	ASSERT_EQ(0, write_file(m, 0644, "dir /ok\nbin '/opt/my tools\n"));
	ASSERT_EQ(0, cut_run(&r, self->bin, "-o", out, m, NULL));
	EXPECT_EQ(1, r.status);
	line = strf("%s:2: unterminated ' quote", m);
	EXPECT_NE(NULL, strstr(r.err, line)) TH_LOG("%s", r.err);
	free(line);
	EXPECT_EQ(-1, access(out, F_OK));
	run_free(&r);
	free(dir);
	free(m);
	free(out);
}

/* A 100 KB name is shown by its ends in a message, not whole. */
TEST_F(cut, long_names_cut_in_messages)
{
	char *m = strf("%s/m", self->dir), *out = strf("%s/out", self->dir);
	size_t n = 100000;
	char *name = malloc(n + 1), *line, *want;
	struct run r;

	if (!self->bin)
		SKIP(return, "RAPIDO_BIN is not set");
	ASSERT_NE(NULL, name);
	for (size_t i = 0; i < n; i++)
		name[i] = 'a' + i % 26;
	name[n] = '\0';
	name[0] = 'B';
	name[n - 1] = 'E';
	line = strf("bin %s\nslink /x ${%s}\n", name, name);
	ASSERT_EQ(0, write_file(m, 0644, line));
	ASSERT_EQ(0, cut_run(&r, self->bin, "-o", out, m, NULL));
	EXPECT_EQ(1, r.status);
	EXPECT_GT((size_t)1500, strlen(r.err)) TH_LOG("%zu bytes of messages",
					      strlen(r.err));
	/* the ends of the name and how much was left out */
	want = strdup(":1: bin 'Bbcdefghij");
	EXPECT_NE(NULL, strstr(r.err, want)) TH_LOG("%.2000s", r.err);
	free(want);
	EXPECT_NE(NULL, strstr(r.err, "xyzabcE': not found in PATH"))
		TH_LOG("%.2000s", r.err);
	EXPECT_NE(NULL, strstr(r.err, "[...99800 bytes...]"))
		TH_LOG("%.2000s", r.err);
	EXPECT_NE(NULL, strstr(r.err, ":2: '${Bbcdefghij")) TH_LOG("%.2000s",
								   r.err);
	EXPECT_EQ(-1, access(out, F_OK));
	run_free(&r);
	free(line);
	free(name);
	free(m);
	free(out);
}

TEST_F(cut, usage)
{
	struct run r;

	if (!self->bin)
		SKIP(return, "RAPIDO_BIN is not set");
	ASSERT_EQ(0, cut_run(&r, self->bin, NULL));
	EXPECT_EQ(2, r.status);
	run_free(&r);
	ASSERT_EQ(0, cut_run(&r, self->bin, "/dev/null", NULL));
	EXPECT_EQ(2, r.status);		/* no -o, no --list */
	run_free(&r);
	ASSERT_EQ(0, cut_run(&r, self->bin, "--bogus", "-l", "/dev/null",
			     NULL));
	EXPECT_EQ(2, r.status);
	run_free(&r);
	ASSERT_EQ(0, cut_run(&r, self->bin, "-D", "NOEQUALS", "-l",
			     "/dev/null", NULL));
	EXPECT_EQ(2, r.status);
	run_free(&r);
	ASSERT_EQ(0, cut_run(&r, self->bin, "--help", NULL));
	EXPECT_EQ(0, r.status);
	EXPECT_NE(NULL, strstr(r.out, "--moddir"));
	run_free(&r);
}

/* ---- ELF closure -------------------------------------------------------- */

/* Every library ldd (the oracle, not used by rapido-cut) shows is there. */
static void check_like_ldd(struct __test_metadata *_metadata,
			   const char *prog, const char *list)
{
	struct run r;
	int n = 0;

	ASSERT_EQ(0, cut_run(&r, "ldd", prog, NULL));
	ASSERT_EQ(0, r.status);
	for (char *s = strtok(r.out, "\n"); s; s = strtok(NULL, "\n")) {
		char *p = strstr(s, "=> /"), *base, *sp;

		p = p ? p + 3 : strchr(s, '/');
		if (!p)
			continue;	/* linux-vdso.so.1 */
		sp = strchr(p, ' ');
		if (sp)
			*sp = '\0';
		base = strrchr(p, '/');
		EXPECT_TRUE(has_path_ending(list, base))
			TH_LOG("%s needs %s, missing from:\n%s", prog, p,
			       list);
		n++;
	}
	EXPECT_LE(2, n);	/* at least libc and the interpreter */
	run_free(&r);
}

/* Top-level usrmerge symlinks of the host come out the same. */
static void check_usrmerge(struct __test_metadata *_metadata,
			   const char *list)
{
	static const char *const links[] = { "/lib", "/lib64" };

	for (size_t i = 0; i < 2; i++) {
		char tgt[PATH_MAX], *line;
		ssize_t n = readlink(links[i], tgt, sizeof(tgt) - 1);

		if (n < 0)
			continue;	/* not a symlink on this host */
		tgt[n] = '\0';
		line = strf("slink %s %s", links[i], tgt);
		EXPECT_LE(0, line_no(list, line)) TH_LOG("no '%s'", line);
		free(line);
	}
}

TEST_F(cut, bin_bash_ls)
{
	char *m = strf("%s/m", self->dir), *line;
	char real[PATH_MAX];
	struct run r;

	if (!self->bin)
		SKIP(return, "RAPIDO_BIN is not set");
	if (!have_prog("bash") || !have_prog("ls"))
		SKIP(return, "bash or ls missing");
	ASSERT_EQ(0, write_file(m, 0644, "bin bash\nbin ls sh\n"));
	ASSERT_EQ(0, cut_run(&r, self->bin, "--list", m, NULL));
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	check_like_ldd(_metadata, "/usr/bin/bash", r.out);
	check_like_ldd(_metadata, "/usr/bin/ls", r.out);
	check_usrmerge(_metadata, r.out);
	EXPECT_TRUE(has_path_ending(r.out, "/bash"));
	/* sh is a host symlink: the link and its target both come */
	ASSERT_NE(NULL, realpath("/usr/bin/sh", real));
	line = strf("file %s 0755 ", real);
	EXPECT_NE(NULL, strstr(r.out, line)) TH_LOG("%s", r.out);
	free(line);
	EXPECT_NE(NULL, strstr(r.out, "slink /usr/bin/sh "));
	run_free(&r);
	free(m);
}

static const char libfoo_c[] = "int foo(void) { return 42; }\n";
static const char prog_c[] =
	"int foo(void);\nint main(void) { return foo() == 42 ? 0 : 1; }\n";

/* Build <dir>/lib/libfoo.so and <dir>/bin/<name> linked with @flags. */
static int build_prog(const char *dir, const char *name, const char *flags)
{
	char *c = strf("%s/prog.c", dir), *lib = strf("%s/lib", dir);
	char *out = strf("%s/bin/%s", dir, name);
	int err;

	err = write_file(c, 0644, prog_c);
	err = err ?: cc_run("-o", out, c, "-L", lib, "-lfoo", flags, NULL);
	free(c);
	free(lib);
	free(out);
	return err;
}

/* Copy @src to @dst with e_machine set to @mach. */
static int copy_patched(const char *src, const char *dst, uint16_t mach)
{
	size_t len;
	char *buf = read_text_len(src, &len);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
	int fd, err = 0;

	if (!buf || len < sizeof(*eh))
		return -EINVAL;
	eh->e_machine = mach;
	fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
		err = -EIO;
	if (fd >= 0)
		close(fd);
	free(buf);
	return err;
}

TEST_F(cut, origin_rpath_runpath_machine)
{
	const char *d = self->dir;
	char *m = strf("%s/m", d), *lib = strf("%s/lib/libfoo.so", d);
	char *bad = strf("%s/bad/libfoo.so", d), *line, *flags;
	struct run r;

	if (!self->bin)
		SKIP(return, "RAPIDO_BIN is not set");
	if (!have_prog("gcc"))
		SKIP(return, "gcc missing");
	ASSERT_EQ(0, mkdir(tp(d, "lib"), 0755));
	ASSERT_EQ(0, mkdir(tp(d, "bin"), 0755));
	ASSERT_EQ(0, mkdir(tp(d, "bad"), 0755));
	ASSERT_EQ(0, write_file(tp(d, "foo.c"), 0644, libfoo_c));
	ASSERT_EQ(0, cc_run("-shared", "-fPIC", "-o", lib, tp(d, "foo.c"),
			 NULL));
	ASSERT_EQ(0, copy_patched(lib, bad, EM_AARCH64));
	/* RUNPATH (gcc's default here) with $ORIGIN */
	ASSERT_EQ(0, build_prog(d, "runpath",
				"-Wl,--enable-new-dtags,-rpath,$ORIGIN/../lib"));
	/* RPATH with ${ORIGIN} */
	ASSERT_EQ(0, build_prog(d, "rpath",
				"-Wl,--disable-new-dtags,-rpath,${ORIGIN}/../lib"));
	/* an aarch64 libfoo.so earlier in RUNPATH must be skipped */
	flags = strf("-Wl,--enable-new-dtags,-rpath,%s/bad:$ORIGIN/../lib", d);
	ASSERT_EQ(0, build_prog(d, "mismatch", flags));
	free(flags);
	ASSERT_EQ(0, cut_run(&r, tp(d, "bin/runpath"), NULL));
	ASSERT_EQ(0, r.status) TH_LOG("the test program itself fails");
	run_free(&r);

	ASSERT_EQ(0, write_file(m, 0644,
				"bin bin/runpath bin/rpath bin/mismatch\n"));
	ASSERT_EQ(0, cut_run(&r, self->bin, "--list", m, NULL));
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	/* the source is the path as found: <dir>/bin/../lib/libfoo.so */
	line = strf("file %s 0755 %s/bin/../lib/libfoo.so", lib, d);
	EXPECT_LE(0, line_no(r.out, line)) TH_LOG("%s", r.out);
	free(line);
	EXPECT_EQ(NULL, strstr(r.out, bad));
	check_like_ldd(_metadata, tp(d, "bin/runpath"), r.out);
	run_free(&r);

	/* only the wrong-machine copy on the path: a clear error */
	flags = strf("-Wl,-rpath,%s/bad", d);
	ASSERT_EQ(0, build_prog(d, "onlybad", flags));
	free(flags);
	ASSERT_EQ(0, write_file(m, 0644, "\nbin bin/onlybad\n"));
	ASSERT_EQ(0, cut_run(&r, self->bin, "-o", tp(d, "out"), m, NULL));
	EXPECT_EQ(1, r.status);
	line = strf("%s:2: '%s/bin/onlybad': needs 'libfoo.so': not found",
		    m, d);
	EXPECT_NE(NULL, strstr(r.err, line)) TH_LOG("%s", r.err);
	free(line);
	EXPECT_EQ(-1, access(tp(d, "out"), F_OK));
	run_free(&r);
	free(m);
	free(lib);
	free(bad);
}

TEST_F(cut, script_interpreter)
{
	const char *d = self->dir;
	char *m = strf("%s/m", d), *line;
	char real[PATH_MAX];
	struct run r;

	if (!self->bin)
		SKIP(return, "RAPIDO_BIN is not set");
	ASSERT_EQ(0, write_file(tp(d, "s"), 0755, "#!/bin/sh -e\necho hi\n"));
	ASSERT_EQ(0, write_file(tp(d, "t"), 0644, "#! /bin/bash\n"));
	ASSERT_EQ(0, write_file(m, 0644,
				"bin ./s\nfile /rapido/autorun t 0755\n"));
	ASSERT_EQ(0, cut_run(&r, self->bin, "--list", m, NULL));
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	ASSERT_NE(NULL, realpath("/bin/sh", real));
	line = strf("file %s 0755 ", real);
	EXPECT_NE(NULL, strstr(r.out, line)) TH_LOG("%s", r.out);
	free(line);
	EXPECT_TRUE(has_path_ending(r.out, "/bin/bash"));
	EXPECT_TRUE(has_path_ending(r.out, "/libc.so.6"));
	run_free(&r);

	ASSERT_EQ(0, write_file(tp(d, "u"), 0755, "#!/no/such/interp\n"));
	ASSERT_EQ(0, write_file(m, 0644, "bin ./u\n"));
	ASSERT_EQ(0, cut_run(&r, self->bin, "--list", m, NULL));
	EXPECT_EQ(1, r.status);
	line = strf("%s:1: '%s/u': interpreter '/no/such/interp': No such file or directory",
		    m, d);
	EXPECT_NE(NULL, strstr(r.err, line)) TH_LOG("%s", r.err);
	free(line);
	run_free(&r);
	free(m);
}

/*
 * ELF headers made by hand: @type, @cls (ELFCLASS32/64, little-endian x86)
 * and @phnum program headers of type @pt right after the header, each
 * pointing at the header itself (in the file).
 */
static char *elf_made(uint16_t type, int cls, size_t phnum, uint32_t pt,
		      size_t *len)
{
	bool is64 = cls == ELFCLASS64;
	size_t eh = is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
	size_t ph = is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	char *b = calloc(1, eh + phnum * ph);

	if (!b)
		return NULL;
	*len = eh + phnum * ph;
	if (is64) {
		Elf64_Ehdr *h = (Elf64_Ehdr *)b;

		memcpy(h->e_ident, ELFMAG, SELFMAG);
		h->e_ident[EI_CLASS] = ELFCLASS64;
		h->e_ident[EI_DATA] = ELFDATA2LSB;
		h->e_ident[EI_VERSION] = EV_CURRENT;
		h->e_type = type;
		h->e_machine = EM_X86_64;
		h->e_version = EV_CURRENT;
		h->e_ehsize = eh;
		h->e_phoff = phnum ? eh : 0;
		h->e_phentsize = phnum ? ph : 0;
		h->e_phnum = phnum;
		for (size_t i = 0; i < phnum; i++) {
			Elf64_Phdr *p = (Elf64_Phdr *)(b + eh) + i;

			p->p_type = pt;
			p->p_filesz = eh;
		}
	} else {
		Elf32_Ehdr *h = (Elf32_Ehdr *)b;

		memcpy(h->e_ident, ELFMAG, SELFMAG);
		h->e_ident[EI_CLASS] = ELFCLASS32;
		h->e_ident[EI_DATA] = ELFDATA2LSB;
		h->e_ident[EI_VERSION] = EV_CURRENT;
		h->e_type = type;
		h->e_machine = EM_386;
		h->e_version = EV_CURRENT;
		h->e_ehsize = eh;
		h->e_phoff = phnum ? eh : 0;
		h->e_phentsize = phnum ? ph : 0;
		h->e_phnum = phnum;
		for (size_t i = 0; i < phnum; i++) {
			Elf32_Phdr *p = (Elf32_Phdr *)(b + eh) + i;

			p->p_type = pt;
			p->p_filesz = eh;
		}
	}
	return b;
}

/*
 * What starts with the ELF magic but is no executable or shared object
 * ld.so loads is just a file: copied, with no dependencies, as the
 * object files of a built xfstests tree must be. A truncated object is
 * copied with a warning.
 */
TEST_F(cut, elf_plain_files)
{
	static const char not_elf[] = "\177ELF is how an ELF file starts\n";
	static const char not_elf_long[] =
		"\177ELF, the Executable and Linkable Format: text longer than an ELF header\n";
	static const struct {
		const char *name;
		uint16_t type;
		int cls;
		size_t phnum;
		uint32_t pt;
	} made[] = {
		/* a relocatable object (gcc -c): no program headers */
		{ "rel.o", ET_REL, ELFCLASS64, 0, 0 },
		{ "rel32.o", ET_REL, ELFCLASS32, 0, 0 },
		/* a core dump of a process with many mappings */
		{ "core", ET_CORE, ELFCLASS64, 300, PT_LOAD },
		{ "core32", ET_CORE, ELFCLASS32, 300, PT_LOAD },
	};
	const char *d = self->dir;
	char *m = strf("%s/m", d), *out = strf("%s/o.cpio", d), *line;
	char *t = strf("%s/t", d), *spie = strf("%s/t/static-pie", d);
	size_t len, n = 0;
	char *bin = read_text_len("/bin/true", &len);
	bool have_spie;
	struct run r;

	if (!self->bin)
		SKIP(return, "RAPIDO_BIN is not set");
	ASSERT_NE(NULL, bin);
	ASSERT_LT((size_t)1000, len);
	ASSERT_EQ(0, mkdir(t, 0755));
	for (size_t i = 0; i < ARRAY_SIZE(made); i++) {
		char *e = elf_made(made[i].type, made[i].cls, made[i].phnum,
				   made[i].pt, &n);

		ASSERT_NE(NULL, e);
		ASSERT_EQ(0, write_whole(tp(t, made[i].name), e, n));
		free(e);
	}
	ASSERT_EQ(0, write_whole(tp(t, "not-elf"), not_elf,
				 sizeof(not_elf) - 1));
	ASSERT_EQ(0, write_whole(tp(t, "not-elf-long"), not_elf_long,
				 sizeof(not_elf_long) - 1));
	/* /bin/true cut in its header, program headers, segments */
	ASSERT_EQ(0, write_whole(tp(t, "cut-20"), bin, 20));
	ASSERT_EQ(0, write_whole(tp(t, "cut-64"), bin, 64));
	ASSERT_EQ(0, write_whole(tp(t, "cut-1000"), bin, 1000));
	/* static-pie: ET_DYN with a dynamic section, no interpreter */
	have_spie = have_prog("gcc") &&
		    !write_file(tp(d, "t.c"), 0644,
				"int main(void) { return 0; }\n") &&
		    !cc_run("-static-pie", "-o", spie, tp(d, "t.c"), NULL);
	if (!have_spie)
		TH_LOG("no gcc -static-pie here: that case is not tried");

	/* in a tree, as files, as bins: all copied, nothing else added */
	line = strf("tree /t %s\nfile /f/rel.o %s/rel.o\nfile /f/core %s/core\n"
		    "bin %s/cut-64 %s/not-elf-long %s\n", t, t, t, t, t,
		    have_spie ? spie : "");
	ASSERT_EQ(0, write_file(m, 0644, line));
	free(line);
	ASSERT_EQ(0, cut_run(&r, self->bin, "--list", m, NULL));
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	for (size_t i = 0; i < ARRAY_SIZE(made); i++) {
		line = strf("file /t/%s 0644 %s/%s", made[i].name, t,
			    made[i].name);
		EXPECT_LE(0, line_no(r.out, line)) TH_LOG("%s", r.out);
		free(line);
	}
	line = strf("file /f/core 0644 %s/core", t);
	EXPECT_LE(0, line_no(r.out, line)) TH_LOG("%s", r.out);
	free(line);
	EXPECT_NE(NULL, strstr(r.out, "file /t/not-elf 0644 "));
	EXPECT_NE(NULL, strstr(r.out, "file /t/cut-1000 0644 "));
	if (have_spie)
		EXPECT_NE(NULL, strstr(r.out, "file /t/static-pie 0755 "));
	/* nothing pulled in: no interpreter, no library */
	EXPECT_EQ(NULL, strstr(r.out, "libc.so")) TH_LOG("%s", r.out);
	EXPECT_EQ(NULL, strstr(r.out, "ld-linux")) TH_LOG("%s", r.out);
	/* truncated: said once each, as a warning */
	line = strf("'%s/cut-1000': ELF truncated in its segments: copied as a plain file",
		    t);
	EXPECT_NE(NULL, strstr(r.err, line)) TH_LOG("%s", r.err);
	free(line);
	line = strf("'%s/cut-64': ELF truncated in its program headers",
		    t);
	EXPECT_NE(NULL, strstr(r.err, line)) TH_LOG("%s", r.err);
	free(line);
	EXPECT_EQ(NULL, strstr(r.err, "error")) TH_LOG("%s", r.err);
	run_free(&r);

	/* and the archive is written */
	ASSERT_EQ(0, cut_run(&r, self->bin, "-o", out, m, NULL));
	EXPECT_EQ(0, r.status) TH_LOG("%s", r.err);
	EXPECT_EQ(0, access(out, F_OK));
	run_free(&r);
	free(bin);
	free(spie);
	free(t);
	free(m);
	free(out);
}

/* An executable whose headers are whole but wrong is still an error. */
TEST_F(cut, bad_elf)
{
	const char *d = self->dir;
	char *m = strf("%s/m", d), *out = strf("%s/o.cpio", d);
	char *f = strf("%s/bad", d), *line;
	size_t len;
	char *text = read_text_len("/bin/true", &len);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)text;
	struct run r;

	if (!self->bin)
		SKIP(return, "RAPIDO_BIN is not set");
	ASSERT_NE(NULL, text);
	ASSERT_LT(sizeof(*eh), len);
	ASSERT_EQ(ELFCLASS64, eh->e_ident[EI_CLASS]);
	eh->e_phentsize = 8;
	ASSERT_EQ(0, write_whole(f, text, len));
	ASSERT_EQ(0, chmod(f, 0755));
	line = strf("bin %s\n", f);
	ASSERT_EQ(0, write_file(m, 0644, line));
	ASSERT_EQ(0, cut_run(&r, self->bin, "-o", out, m, NULL));
	EXPECT_EQ(1, r.status);
	EXPECT_NE(NULL, strstr(r.err, "cannot read ELF: unexpected program header table"))
		TH_LOG("%s", r.err);
	EXPECT_NE(0, access(out, F_OK));
	run_free(&r);
	free(line);
	free(f);
	free(text);
	free(m);
	free(out);
}

TEST_F(cut, tree_closes_elf)
{
	const char *d = self->dir;
	char *m = strf("%s/m", d), *line;
	size_t len;
	char *elf = read_text_len("/usr/bin/true", &len);
	struct run r;
	int fd;

	if (!self->bin)
		SKIP(return, "RAPIDO_BIN is not set");
	ASSERT_NE(NULL, elf);
	ASSERT_EQ(0, mkdir(tp(d, "t"), 0755));
	ASSERT_EQ(0, mkdir(tp(d, "t/bin"), 0755));
	fd = open(tp(d, "t/bin/t"), O_WRONLY | O_CREAT | O_TRUNC, 0755);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)len, write(fd, elf, len));
	ASSERT_EQ(0, close(fd));
	/* scripts in a tree are data: no interpreter looked up */
	ASSERT_EQ(0, write_file(tp(d, "t/s"), 0755, "#!/no/such/interp\n"));
	ASSERT_EQ(0, write_file(m, 0644, "tree /opt/x t\n"));
	ASSERT_EQ(0, cut_run(&r, self->bin, "--list", m, NULL));
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	line = strf("file /opt/x/bin/t 0755 %s/t/bin/t", d);
	EXPECT_LE(0, line_no(r.out, line)) TH_LOG("%s", r.out);
	free(line);
	check_like_ldd(_metadata, "/usr/bin/true", r.out);
	run_free(&r);
	free(elf);
	free(m);
}

/* ---- modules ------------------------------------------------------------ */

#define KVER	"1.0-rapido"

/*
 * Fake modules: relocatable objects. depmod (kmod 30) takes the symbols
 * named in a __ksymtab_strings section as exports and the undefined
 * symbols of .symtab as needs; .modinfo gives aliases and softdeps.
 */
static const struct {
	const char *name, *code, *ksym, *modinfo;
} fake_mods[] = {
	{ .name = "a", .code = "int a_sym(void) { return 1; }",
	  .ksym = "a_sym", .modinfo = "alias=rapido-alias-a" },
	{ .name = "b", .code = "int a_sym(void); int b_sym(void) { return a_sym(); }",
	  .ksym = "b_sym" },
	{ .name = "c", .code = "int b_sym(void); int c_fn(void) { return b_sym(); }",
	  .modinfo = "softdep=pre: d nosuchmod post: f" },
	{ .name = "d", .code = "int d_fn(void) { return 0; }" },
	{ .name = "f", .code = "int f_fn(void) { return 0; }" },
};

/* C source putting @val as a NUL-terminated string in section @sec. */
static char *section_str(const char *sec, const char *val)
{
	if (!val)
		return strdup("");
	return strf("asm(\".section %s,\\\"a\\\"; .asciz \\\"%s\\\"; .previous\");\n",
		    sec, val);
}

/* <dir>/mods/lib/modules/KVER/kernel/<name>/<name>.ko, then depmod. */
static void make_fake_tree(struct __test_metadata *_metadata,
			   const char *dir)
{
	char *kd = strf("%s/mods/lib/modules/" KVER, dir);
	char *mods = strf("%s/mods", dir), *dep;
	struct run r;
	size_t len;
	int err = 0;

	for (const char *p = strchr(kd + 1, '/'); p; p = strchr(p + 1, '/')) {
		char *pre = strndup(kd, p - kd);

		mkdir(pre, 0755);
		free(pre);
	}
	ASSERT_EQ(0, mkdir(kd, 0755));
	ASSERT_EQ(0, mkdir(tp(kd, "kernel"), 0755));
	for (size_t i = 0; i < ARRAY_SIZE(fake_mods); i++) {
		char *sub = strf("%s/kernel/%s", kd, fake_mods[i].name);
		char *c = strf("%s/%s.c", dir, fake_mods[i].name);
		char *ko = strf("%s/%s.ko", sub, fake_mods[i].name);
		char *ks = section_str("__ksymtab_strings", fake_mods[i].ksym);
		char *mi = section_str(".modinfo", fake_mods[i].modinfo);
		char *src = strf("%s\n%s%s", fake_mods[i].code, ks, mi);

		ASSERT_EQ(0, mkdir(sub, 0755));
		ASSERT_EQ(0, write_file(c, 0644, src));
		err = err ?: cc_run("-c", "-o", ko, c, NULL);
		free(src);
		free(ks);
		free(mi);
		free(sub);
		free(c);
		free(ko);
	}
	ASSERT_EQ(0, err);
	ASSERT_EQ(0, write_file(tp(kd, "modules.builtin"), 0644,
				"kernel/e/e.ko\n"));
	ASSERT_EQ(0, cut_run(&r, "depmod", "-b", mods, KVER, NULL));
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	run_free(&r);
	/* the fakes work: depmod found c -> b -> a */
	dep = read_text_len(tp(kd, "modules.dep"), &len);
	ASSERT_NE(NULL, dep);
	EXPECT_NE(NULL, strstr(dep, "kernel/c/c.ko: kernel/b/b.ko kernel/a/a.ko\n"))
		TH_LOG("modules.dep:\n%s", dep);
	EXPECT_NE(NULL, strstr(dep, "kernel/b/b.ko: kernel/a/a.ko\n"));
	free(dep);
	free(kd);
	free(mods);
}

TEST_F(cut, kmod_closure)
{
	const char *d = self->dir;
	char *m = strf("%s/m", d), *mods = strf("%s/mods", d);
	char *out = strf("%s/out.cpio", d), *x = strf("%s/x", d);
	static const char *const order[] = { "d", "a", "b", "c", "f" };
	int pos[5];
	char *list;
	struct run r;
	size_t len;

	if (!self->bin)
		SKIP(return, "RAPIDO_BIN is not set");
	if (!have_prog("gcc") || !have_prog("depmod") || !have_prog("cpio"))
		SKIP(return, "gcc, depmod or cpio missing");
	make_fake_tree(_metadata, d);
	ASSERT_EQ(0, write_file(m, 0644, "kmod c e\nkmod rapido-alias-a\n"));
	ASSERT_EQ(0, cut_run(&r, self->bin, "-v", "-o", out, "-m", mods,
			     "-k", KVER, m, NULL));
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	EXPECT_NE(NULL, strstr(r.err, "kmod 'e': builtin, skipped"));
	run_free(&r);
	ASSERT_EQ(0, mkdir(x, 0755));
	ASSERT_EQ(0, run_in(&r, x, (char *[]){ "cpio", "-idm",
			    "--no-absolute-filenames", "-F", out, NULL }));
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	run_free(&r);
	list = read_text_len(tp(x, "rapido/modules"), &len);
	ASSERT_NE(NULL, list);
	for (int i = 0; i < 5; i++) {
		char *line = strf("/lib/modules/" KVER "/kernel/%s/%s.ko",
				  order[i], order[i]);
		char *img = strf("%s%s", x, line);
		struct stat st;

		pos[i] = line_no(list, line);
		EXPECT_LE(0, pos[i]) TH_LOG("no %s in:\n%s", line, list);
		EXPECT_EQ(0, stat(img, &st));	/* through lib -> usr/lib */
		free(line);
		free(img);
	}
	/* every module after its deps and pre-softdeps, f after c */
	EXPECT_LT(pos[0], pos[3]);
	EXPECT_LT(pos[1], pos[2]);
	EXPECT_LT(pos[2], pos[3]);
	EXPECT_LT(pos[3], pos[4]);
	EXPECT_EQ(5, count_mem(list, len, "\n", 1)) TH_LOG("%s", list);
	EXPECT_EQ(NULL, strstr(list, "/e.ko"));
	free(list);
	EXPECT_EQ(0, access(tp(x, "lib/modules/" KVER "/modules.dep.bin"),
			    R_OK));
	EXPECT_EQ(0, access(tp(x, "lib/modules/" KVER "/modules.softdep"),
			    R_OK));

	/* a relative --moddir, from the directory that holds it */
	ASSERT_EQ(0, run_in(&r, d, (char *[]){ (char *)self->bin, "-l",
			    "-m", "mods", "-k", KVER, m, NULL }));
	EXPECT_EQ(0, r.status) TH_LOG("%s", r.err);
	EXPECT_NE(NULL, strstr(r.out, "/kernel/c/c.ko 0644 ")) TH_LOG("%s", r.out);
	run_free(&r);

	/* a module that is not there */
	ASSERT_EQ(0, write_file(m, 0644, "kmod rapido-nosuch\n"));
	ASSERT_EQ(0, cut_run(&r, self->bin, "-l", "-m", mods, "-k", KVER, m,
			     NULL));
	EXPECT_EQ(1, r.status);
	EXPECT_NE(NULL, strstr(r.err, ":1: kmod 'rapido-nosuch': not in '"))
		TH_LOG("%s", r.err);
	EXPECT_NE(NULL, strstr(r.err, "(is CONFIG_RAPIDO_NOSUCH=m? run make rapido-config)"));
	run_free(&r);
	free(m);
	free(mods);
	free(out);
	free(x);
}

/* ---- the archive -------------------------------------------------------- */

static char *fill(size_t len, char tag)
{
	char *s = malloc(len + 1);

	for (size_t i = 0; i < len; i++)
		s[i] = 'a' + (i * 7 + tag) % 26;
	snprintf(s, 32, "<%c-unique-marker-%c>", tag, tag);
	s[strlen(s)] = 'x';
	s[len] = '\0';
	return s;
}

TEST_F(cut, cpio_round_trip)
{
	const char *d = self->dir;
	char *m = strf("%s/m", d), *out = strf("%s/out.cpio", d);
	char *out2 = strf("%s/out2.cpio", d), *x = strf("%s/x", d);
	char *big = fill(40000, 'B'), *hard = fill(20000, 'H'), *arch;
	struct stat s1, s2;
	struct newc e;
	size_t len, off = 0;
	char tgt[64];
	struct run r;
	int aligned = 0, n = 0;
	ssize_t tl;

	if (!self->bin)
		SKIP(return, "RAPIDO_BIN is not set");
	if (!have_prog("cpio"))
		SKIP(return, "cpio missing");
	ASSERT_EQ(0, mkdir(tp(d, "src"), 0755));
	ASSERT_EQ(0, write_file(tp(d, "src/small"), 0644, "small\n"));
	ASSERT_EQ(0, write_file(tp(d, "src/big"), 0600, big));
	ASSERT_EQ(0, write_file(tp(d, "src/h"), 0644, hard));
	ASSERT_EQ(0, link(tp(d, "src/h"), tp(d, "src/h2")));
	ASSERT_EQ(0, write_file(m, 0644,
				"file /small src/small\n"
				"file /x/big src/big\n"
				"file /h1 src/h\n"
				"file /y/h2 src/h2\n"
				"file /exe src/small 0755\n"
				"dir /d 0700\n"
				"slink /s small\n"
				"nod /dev/null 0666 c 1 3\n"));
	setenv("SOURCE_DATE_EPOCH", EPOCH, 1);
	ASSERT_EQ(0, cut_run(&r, self->bin, "-o", out, m, NULL));
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	run_free(&r);
	ASSERT_EQ(0, cut_run(&r, self->bin, "-o", out2, m, NULL));
	ASSERT_EQ(0, r.status);
	run_free(&r);
	ASSERT_EQ(0, cut_run(&r, "cmp", out, out2, NULL));
	EXPECT_EQ(0, r.status) TH_LOG("SOURCE_DATE_EPOCH: not reproducible");
	run_free(&r);

	/* GNU cpio reads it */
	ASSERT_EQ(0, mkdir(x, 0755));
	ASSERT_EQ(0, run_in(&r, x, (char *[]){ "cpio", "-idm",
			    "--no-absolute-filenames", "-F", out, NULL }));
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	run_free(&r);
	ASSERT_EQ(0, cut_run(&r, "cpio", "-t", "-F", out, NULL));
	ASSERT_EQ(0, r.status);
	EXPECT_LE(0, line_no(r.out, "x/big"));
	EXPECT_LE(0, line_no(r.out, "dev/null"));
	run_free(&r);
	ASSERT_EQ(0, cut_run(&r, "cmp", tp(d, "src/big"), tp(x, "x/big"),
			     NULL));
	EXPECT_EQ(0, r.status);
	run_free(&r);
	ASSERT_EQ(0, cut_run(&r, "cmp", tp(d, "src/h"), tp(x, "y/h2"), NULL));
	EXPECT_EQ(0, r.status);
	run_free(&r);
	ASSERT_EQ(0, cut_run(&r, "cmp", tp(d, "src/small"), tp(x, "exe"),
			     NULL));
	EXPECT_EQ(0, r.status);
	run_free(&r);
	ASSERT_EQ(0, stat(tp(x, "x/big"), &s1));
	EXPECT_EQ(0600U, s1.st_mode & 07777);
	EXPECT_EQ(1234567890, s1.st_mtime);
	ASSERT_EQ(0, stat(tp(x, "exe"), &s1));
	EXPECT_EQ(0755U, s1.st_mode & 07777);
	ASSERT_EQ(0, stat(tp(x, "d"), &s1));
	EXPECT_TRUE(S_ISDIR(s1.st_mode));
	EXPECT_EQ(0700U, s1.st_mode & 07777);
	tl = readlink(tp(x, "s"), tgt, sizeof(tgt) - 1);
	ASSERT_EQ(5, tl);
	tgt[tl] = '\0';
	EXPECT_STREQ("small", tgt);
	if (!geteuid()) {
		ASSERT_EQ(0, stat(tp(x, "dev/null"), &s1));
		EXPECT_TRUE(S_ISCHR(s1.st_mode));
		EXPECT_EQ(makedev(1, 3), s1.st_rdev);
	}
	/* hardlinks come back as hardlinks */
	ASSERT_EQ(0, stat(tp(x, "h1"), &s1));
	ASSERT_EQ(0, stat(tp(x, "y/h2"), &s2));
	EXPECT_EQ(s1.st_ino, s2.st_ino);
	EXPECT_EQ(2UL, s1.st_nlink);

	/* our own parse: data once, aligned, mtimes, inode numbers */
	arch = read_text_len(out, &len);
	ASSERT_NE(NULL, arch);
	EXPECT_EQ(1, count_mem(arch, len, hard, 32));
	EXPECT_EQ(1, count_mem(arch, len, big, 32));
	while (newc_next(arch, len, &off, &e)) {
		n++;
		EXPECT_EQ(1234567890UL, e.mtime) TH_LOG("%s", e.name);
		EXPECT_EQ(0UL, e.hdr % 4);
		EXPECT_EQ('\0', arch[e.hdr + 110 + e.namesize - 1]);
		if (e.size >= 16384) {
			EXPECT_EQ(0UL, e.data % 4096) TH_LOG("%s", e.name);
			aligned++;
		}
		if (!strcmp(e.name, "h1") || !strcmp(e.name, "y/h2")) {
			EXPECT_EQ(2UL, e.nlink);
			/* data on the last link only */
			EXPECT_EQ(strcmp(e.name, "h1") ? 20000UL : 0UL, e.size);
		}
		if (!strcmp(e.name, "dev/null")) {
			EXPECT_EQ(020666UL, e.mode);
			EXPECT_EQ(1UL, e.rmaj);
			EXPECT_EQ(3UL, e.rmin);
		}
	}
	EXPECT_STREQ("TRAILER!!!", e.name);
	EXPECT_EQ(2, aligned);
	/* d dev dev/null exe h1 s small x x/big y y/h2 */
	EXPECT_EQ(11, n);
	free(arch);
	free(m);
	free(out);
	free(out2);
	free(x);
	free(big);
	free(hard);
}

/*
 * When a big file's name can't be padded to alignment within the
 * kernel's PATH_MAX namesize limit, a copy of its parent dir's entry
 * goes first. "a" (3872 bytes) puts /big's header at 112 + 3872 = 3984:
 * 3984 + 110 = 4094, 2 bytes short of 4096, less than "big" + NUL.
 */
TEST_F(cut, alignment_filler)
{
	const char *d = self->dir;
	char *m = strf("%s/m", d), *out = strf("%s/o.cpio", d);
	char *x = strf("%s/x", d), *a = fill(3872, 'a'), *big = fill(50000, 'b');
	char *sub = fill(3756, 's'), *arch;
	struct newc e;
	size_t len, off = 0;
	struct run r;
	int dots = 0, ds = 0;

	if (!self->bin)
		SKIP(return, "RAPIDO_BIN is not set");
	if (!have_prog("cpio"))
		SKIP(return, "cpio missing");
	ASSERT_EQ(0, write_file(tp(d, "a"), 0644, a));
	ASSERT_EQ(0, write_file(tp(d, "big"), 0644, big));
	ASSERT_EQ(0, write_file(tp(d, "sub"), 0644, sub));
	ASSERT_EQ(0, write_file(m, 0644, "file /a a\nfile /big big\n"));
	ASSERT_EQ(0, cut_run(&r, self->bin, "-o", out, m, NULL));
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	run_free(&r);
	arch = read_text_len(out, &len);
	ASSERT_NE(NULL, arch);
	while (newc_next(arch, len, &off, &e)) {
		dots += !strcmp(e.name, ".");
		if (!strcmp(e.name, "big"))
			EXPECT_EQ(0UL, e.data % 4096);
	}
	EXPECT_EQ(1, dots);
	free(arch);
	ASSERT_EQ(0, mkdir(x, 0755));
	ASSERT_EQ(0, run_in(&r, x, (char *[]){ "cpio", "-idm",
			    "--no-absolute-filenames", "-F", out, NULL }));
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	run_free(&r);
	ASSERT_EQ(0, cut_run(&r, "cmp", tp(d, "big"), tp(x, "big"), NULL));
	EXPECT_EQ(0, r.status);
	run_free(&r);

	/*
	 * In a dir: "d" at 0 (112 bytes), "d/a" at 112 (116 + 3756 bytes),
	 * "d/big" at 3984: the same 2 bytes short; "d" is repeated.
	 */
	ASSERT_EQ(0, write_file(m, 0644, "file /d/a sub\nfile /d/big big\n"));
	ASSERT_EQ(0, cut_run(&r, self->bin, "-o", out, m, NULL));
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	run_free(&r);
	arch = read_text_len(out, &len);
	ASSERT_NE(NULL, arch);
	off = 0;
	while (newc_next(arch, len, &off, &e)) {
		ds += !strcmp(e.name, "d");
		if (!strcmp(e.name, "d/big"))
			EXPECT_EQ(0UL, e.data % 4096);
	}
	EXPECT_EQ(2, ds);
	free(arch);
	ASSERT_EQ(0, rm_rf(x));
	ASSERT_EQ(0, mkdir(x, 0755));
	ASSERT_EQ(0, run_in(&r, x, (char *[]){ "cpio", "-idm",
			    "--no-absolute-filenames", "-F", out, NULL }));
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	run_free(&r);
	ASSERT_EQ(0, cut_run(&r, "cmp", tp(d, "big"), tp(x, "d/big"), NULL));
	EXPECT_EQ(0, r.status);
	run_free(&r);
	free(m);
	free(out);
	free(x);
	free(a);
	free(big);
	free(sub);
}

/*
 * A sparse file keeps its holes in the output file (newc has no holes:
 * the archive's bytes are the same), and an image carrying more data than
 * --max-size (default 1 GiB) is refused before anything is read.
 */
TEST_F(cut, sparse_files_and_size_limit)
{
	const char *d = self->dir;
	char *m = strf("%s/m", d), *out = strf("%s/out", d);
	char *sp = strf("%s/sp", d), *big = strf("%s/big", d), *line;
	off_t size = 64 << 20;
	char *img, *src;
	size_t len, slen, off = 0;
	struct newc e;
	bool found = false;
	struct stat st;
	struct run r;
	double t;
	int fd;

	if (!self->bin)
		SKIP(return, "RAPIDO_BIN is not set");
	fd = open(sp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, size));
	ASSERT_EQ(6, pwrite(fd, "data1\n", 6, 5000000));
	ASSERT_EQ(6, pwrite(fd, "data2\n", 6, 60000000));
	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(0, stat(sp, &st));
	if (st.st_blocks * 512 >= size / 2)
		SKIP(return, "%s has no holes on this filesystem", d);
	line = strf("file /sp %s\nfile /small %s\n", sp, m);
	ASSERT_EQ(0, write_file(m, 0644, line));
	free(line);

	ASSERT_EQ(0, cut_run(&r, self->bin, "-M", "32M", "-o", out, m, NULL));
	EXPECT_EQ(1, r.status);
	line = strf("largest '/sp' from '%s', 64.0 MiB, ", sp);
	EXPECT_NE(NULL, strstr(r.err, line)) TH_LOG("%s", r.err);
	free(line);
	EXPECT_NE(NULL, strstr(r.err, "), above the limit of 32.0 MiB (--max-size)"))
		TH_LOG("%s", r.err);
	EXPECT_EQ(-1, access(out, F_OK));
	run_free(&r);

	/* written: the holes stay holes, the bytes are the file's */
	for (int i = 0; i < 2; i++) {	/* written, then found unchanged */
		ASSERT_EQ(0, cut_run(&r, self->bin, "--max-size=100MiB",
				     "-o", out, m, NULL));
		ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
		run_free(&r);
	}
	ASSERT_EQ(0, stat(out, &st));
	EXPECT_LT(size, st.st_size);
	EXPECT_GT(4 << 20, st.st_blocks * 512) TH_LOG("%lld bytes allocated",
						      (long long)st.st_blocks * 512);
	img = read_text_len(out, &len);
	src = read_text_len(sp, &slen);
	ASSERT_NE(NULL, img);
	ASSERT_NE(NULL, src);
	while (newc_next(img, len, &off, &e))
		if (!strcmp(e.name, "sp")) {
			found = true;
			ASSERT_EQ((unsigned long)size, e.size);
			EXPECT_EQ(0, memcmp(img + e.data, src, size));
		}
	EXPECT_TRUE(found);
	free(img);
	free(src);

	/* a 3 GiB sparse file: refused at once under the default limit */
	fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 3LL << 30));
	ASSERT_EQ(0, close(fd));
	line = strf("file /big %s\n", big);
	ASSERT_EQ(0, write_file(m, 0644, line));
	free(line);
	ASSERT_EQ(0, unlink(out));
	t = rt_now();
	ASSERT_EQ(0, cut_run(&r, self->bin, "-o", out, m, NULL));
	t = rt_now() - t;
	EXPECT_EQ(1, r.status);
	EXPECT_NE(NULL, strstr(r.err, "the image would carry 3.0 GiB of data (3221225472 bytes; "))
		TH_LOG("%s", r.err);
	EXPECT_NE(NULL, strstr(r.err, "above the limit of 1.0 GiB (--max-size)"))
		TH_LOG("%s", r.err);
	EXPECT_GT(2.0, t);
	EXPECT_EQ(-1, access(out, F_OK));
	run_free(&r);

	/* a size that is not one */
	ASSERT_EQ(0, cut_run(&r, self->bin, "-M", "1Q", "-o", out, m, NULL));
	EXPECT_EQ(2, r.status);
	EXPECT_NE(NULL, strstr(r.err, "'1Q': --max-size wants a size"))
		TH_LOG("%s", r.err);
	run_free(&r);
	free(big);
	free(sp);
	free(m);
	free(out);
}

TEST_F(cut, base_concatenation)
{
	const char *d = self->dir;
	char *m = strf("%s/m", d), *base = strf("%s/base.cpio", d);
	char *out = strf("%s/out.cpio", d), *b, *o;
	size_t blen, olen, start;
	struct newc e;
	struct run r;

	if (!self->bin)
		SKIP(return, "RAPIDO_BIN is not set");
	ASSERT_EQ(0, write_file(tp(d, "f"), 0644, "f\n"));
	ASSERT_EQ(0, write_file(m, 0644, "file /f f\ndir /base\n"));
	ASSERT_EQ(0, cut_run(&r, self->bin, "-o", base, m, NULL));
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	run_free(&r);
	ASSERT_EQ(0, write_file(m, 0644, "dir /run\n"));
	ASSERT_EQ(0, cut_run(&r, self->bin, "-b", base, "-o", out, m, NULL));
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	run_free(&r);
	b = read_text_len(base, &blen);
	o = read_text_len(out, &olen);
	ASSERT_NE(NULL, b);
	ASSERT_NE(NULL, o);
	ASSERT_LT(blen, olen);
	EXPECT_EQ(0, memcmp(b, o, blen));
	start = (blen + 4095) & ~4095UL;
	for (size_t i = blen; i < start; i++)
		ASSERT_EQ(0, o[i]);
	ASSERT_TRUE(newc_next(o, olen, &start, &e));
	EXPECT_STREQ("run", e.name);
	EXPECT_EQ(0UL, e.hdr % 4096);
	free(b);
	free(o);
	free(m);
	free(base);
	free(out);
}

TEST_F(cut, unchanged_and_failed_runs_keep_output)
{
	const char *d = self->dir;
	char *m = strf("%s/m", d), *out = strf("%s/out.cpio", d);
	char *tmp = strf("%s/out.cpio.tmp", d), *before, *after;
	const struct timespec old[2] = { { 1000000000, 0 },
					 { 1000000000, 0 } };
	size_t l1, l2;
	struct stat st;
	struct run r;

	if (!self->bin)
		SKIP(return, "RAPIDO_BIN is not set");
	ASSERT_EQ(0, write_file(tp(d, "f"), 0644, "f\n"));
	ASSERT_EQ(0, write_file(m, 0644, "file /f f\n"));
	ASSERT_EQ(0, cut_run(&r, self->bin, "-o", out, m, NULL));
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	run_free(&r);
	ASSERT_EQ(0, utimensat(AT_FDCWD, out, old, 0));

	/* same bytes: OUT and its mtime stay */
	ASSERT_EQ(0, cut_run(&r, self->bin, "-o", out, m, NULL));
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	run_free(&r);
	ASSERT_EQ(0, stat(out, &st));
	EXPECT_EQ(1000000000, st.st_mtime);
	EXPECT_EQ(-1, access(tmp, F_OK));

	/* a failing run: OUT untouched, no .tmp */
	before = read_text_len(out, &l1);
	ASSERT_NE(NULL, before);
	ASSERT_EQ(0, write_file(m, 0644, "file /f f\nfile /g nosuch\n"));
	ASSERT_EQ(0, cut_run(&r, self->bin, "-o", out, m, NULL));
	EXPECT_EQ(1, r.status);
	run_free(&r);
	after = read_text_len(out, &l2);
	ASSERT_NE(NULL, after);
	ASSERT_EQ(l1, l2);
	EXPECT_EQ(0, memcmp(before, after, l1));
	ASSERT_EQ(0, stat(out, &st));
	EXPECT_EQ(1000000000, st.st_mtime);
	EXPECT_EQ(-1, access(tmp, F_OK));
	free(after);

	/* a changed image is written */
	ASSERT_EQ(0, write_file(m, 0644, "file /f f\ndir /new\n"));
	ASSERT_EQ(0, cut_run(&r, self->bin, "-o", out, m, NULL));
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	run_free(&r);
	ASSERT_EQ(0, stat(out, &st));
	EXPECT_NE(1000000000, st.st_mtime);
	EXPECT_EQ(-1, access(tmp, F_OK));
	after = read_text_len(out, &l2);
	ASSERT_NE(NULL, after);
	EXPECT_NE(NULL, memmem(after, l2, "new", 4));
	free(after);
	free(before);
	free(m);
	free(out);
	free(tmp);
}

/* Output on another filesystem: read/write instead of copy_file_range. */
TEST_F(cut, other_filesystem)
{
	const char *d = self->dir;
	char *m = strf("%s/m", d), *out = strf("%s/o.cpio", d), *out2;
	char shm[] = "/dev/shm/cut_test.XXXXXX";
	struct stat a, b;
	struct run r;

	if (!self->bin)
		SKIP(return, "RAPIDO_BIN is not set");
	if (stat("/dev/shm", &a) || stat(d, &b) || a.st_dev == b.st_dev ||
	    !mkdtemp(shm))
		SKIP(return, "no /dev/shm on another filesystem");
	out2 = strf("%s/o.cpio", shm);
	ASSERT_EQ(0, write_file(m, 0644, "bin bash\n"));
	ASSERT_EQ(0, cut_run(&r, self->bin, "-o", out, m, NULL));
	EXPECT_EQ(0, r.status) TH_LOG("%s", r.err);
	run_free(&r);
	ASSERT_EQ(0, cut_run(&r, self->bin, "-o", out2, m, NULL));
	EXPECT_EQ(0, r.status) TH_LOG("%s", r.err);
	run_free(&r);
	ASSERT_EQ(0, cut_run(&r, "cmp", out, out2, NULL));
	EXPECT_EQ(0, r.status);
	run_free(&r);
	EXPECT_EQ(0, rm_rf(shm));
	free(m);
	free(out);
	free(out2);
}

/* The image runs: `bin ls` extracted and run in a chroot. */
TEST_F(cut, image_runs_in_chroot)
{
	const char *d = self->dir;
	char *m = strf("%s/m", d), *out = strf("%s/o.cpio", d);
	char *x = strf("%s/x", d);
	struct run r;

	if (!self->bin)
		SKIP(return, "RAPIDO_BIN is not set");
	if (geteuid() || !have_prog("cpio"))
		SKIP(return, "needs root (chroot) and cpio");
	ASSERT_EQ(0, write_file(m, 0644, "bin ls\ndir /empty-dir\n"));
	ASSERT_EQ(0, cut_run(&r, self->bin, "-o", out, m, NULL));
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	run_free(&r);
	ASSERT_EQ(0, mkdir(x, 0755));
	ASSERT_EQ(0, run_in(&r, x, (char *[]){ "cpio", "-idm",
			    "--no-absolute-filenames", "-F", out, NULL }));
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	run_free(&r);
	ASSERT_EQ(0, cut_run(&r, "chroot", x, "ls", "/", NULL));
	EXPECT_EQ(0, r.status) TH_LOG("%s", r.err);
	EXPECT_LE(0, line_no(r.out, "empty-dir"));
	run_free(&r);
	free(m);
	free(out);
	free(x);
}

TEST_HARNESS_MAIN
