// SPDX-License-Identifier: GPL-2.0
/*
 * rapido-cut - cut a newc (cpio) initramfs from rapido manifests
 *
 * Reads one or more manifests (bin, file, dir, slink, nod, tree, kmod,
 * include lines) into an in-memory image (path -> entry) with the
 * closure of what they name (ELF and #! interpreters and libraries,
 * kernel modules through libkmod), then writes it: a newc archive,
 * sorted, reproducible with SOURCE_DATE_EPOCH (rapido-cut-newc.c), or,
 * with --dracut, through the system's dracut (rapido-cut-dracut.c).
 * The units and their interfaces: rapido-cut.h.
 *
 * Errors are collected (each names the manifest and line) and reported
 * before exiting 1; with any error no output is written.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rapido-cut.h"

#define MAX_SIZE	(1LL << 30) /* default --max-size */

const char *const prog = "rapido-cut";

/* ---- messages that name the manifest line ------------------------------ */

bool cut_verbose;
static struct cut_loc where;

void cut_at(const struct cut_loc *loc)
{
	where = loc ? *loc : (struct cut_loc){ 0 };
}

struct cut_loc cut_where(void)
{
	return where;
}

/*
 * Messages name what a manifest gave, which can be any length (a line of
 * 100 KB): a stretch between quotes longer than MSG_NAME_MAX bytes is
 * shown by its first and last MSG_KEEP bytes and the count of those left
 * out.
 */
#define MSG_NAME_MAX	256
#define MSG_KEEP	100

/* @n, moved back to the start of a UTF-8 sequence of @s. */
static size_t utf8_start(const char *s, size_t n)
{
	while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

/* @s with every long stretch between quotes cut short (see above) */
static void add_cut(struct sbuf *b, const char *s)
{
	while (*s) {
		size_t n = strcspn(s, "'\n");

		if (n > MSG_NAME_MAX) {
			size_t head = utf8_start(s, MSG_KEEP);
			size_t tail = utf8_start(s, n - MSG_KEEP);
			char *gap = xasprintf("[...%zu bytes...]",
					      tail - head);

			sbuf_add(b, s, head);
			sbuf_str(b, gap);
			sbuf_add(b, s + tail, n - tail);
			free(gap);
		} else {
			sbuf_add(b, s, n);
		}
		s += n;
		if (*s)
			sbuf_add(b, s++, 1);
	}
}

/* "FILE:LINE: " (if @located and there is a location), @what, the message */
static char *__printf(4, 0) compose(int err, bool located, const char *what,
				    const char *fmt, va_list ap)
{
	struct sbuf b = { 0 };
	char *msg = xvasprintf(fmt, ap);

	sbuf_add(&b, "", 0);
	if (located && where.file) {
		char *line = xasprintf(":%u: ", where.line);

		add_cut(&b, where.file);
		sbuf_str(&b, line);
		free(line);
	}
	sbuf_str(&b, what);
	add_cut(&b, msg);
	if (err) {
		sbuf_str(&b, ": ");
		sbuf_str(&b, strerror(err < 0 ? -err : err));
	}
	free(msg);
	return b.s;
}

static int __printf(2, 0) counted(int err, const char *fmt, va_list ap)
{
	char *msg = compose(err, true, "", fmt, ap);

	error("%s", msg);	/* util's: counted in nerrors */
	free(msg);
	return -ECANCELED;	/* "already reported" */
}

int cut_error(const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = counted(0, fmt, ap);
	va_end(ap);
	return ret;
}

int cut_error_errno(int err, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = counted(err, fmt, ap);
	va_end(ap);
	return ret;
}

static void __printf(1, 2) say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(0, fmt, ap);
	va_end(ap);
}

/* Report a warning: like cut_error(), but the cut goes on and succeeds. */
void cut_warn(const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = compose(0, true, "warning: ", fmt, ap);
	va_end(ap);
	say("%s", msg);
	free(msg);
}

void cut_note(const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (!cut_verbose)
		return;
	va_start(ap, fmt);
	msg = compose(0, false, "", fmt, ap);
	va_end(ap);
	say("%s", msg);
	free(msg);
}

/* ---- small helpers the units share ------------------------------------- */

void sbuf_add(struct sbuf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void sbuf_str(struct sbuf *b, const char *s)
{
	sbuf_add(b, s, strlen(s));
}

char *dir_of(const char *path)
{
	const char *s = strrchr(path, '/');

	if (!s)
		return xstrdup(".");
	if (s == path)
		return xstrdup("/");
	return xstrndup(path, s - path);
}

char *path_resolve(const char *dir, const char *name)
{
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	if (name[0] == '/' || !dir || !*dir || !strcmp(dir, "."))
		return xstrdup(name);
	return path_join(dir, name);
}

/* ---- main -------------------------------------------------------------- */

/* "1024", "512K", "1G", "3GiB": bytes in *@v; -EINVAL if not a size. */
static int parse_size(const char *s, off_t *v)
{
	static const char units[] = "KMGT";
	unsigned long long n;
	const char *u;
	char *end;
	int shift = 0;

	errno = 0;
	n = strtoull(s, &end, 10);
	if (end == s || errno || *s == '-' || *s == '+')
		return -EINVAL;
	if (*end) {
		u = strchr(units, toupper((unsigned char)*end));
		if (!u || (end[1] && strcmp(end + 1, "iB") &&
			   strcmp(end + 1, "B")))
			return -EINVAL;
		shift = 10 * (u - units + 1);
	}
	if (n > (unsigned long long)INT64_MAX >> shift)
		return -EINVAL;
	*v = (off_t)(n << shift);
	return 0;
}

static void show_usage(FILE *f)
{
	fprintf(f,
		"usage: %s [options] MANIFEST...\n"
		"  -o, --output FILE     archive to write (required unless --list)\n"
		"  -b, --base FILE       start with FILE, pad to 4096, then the new archive\n"
		"  -m, --moddir DIR      INSTALL_MOD_PATH: modules from DIR/lib/modules/KVER\n"
		"  -k, --kver VER        kernel release (for kmod lines)\n"
		"  -D, --define NAME=VAL ${NAME} in manifest lines\n"
		"  -l, --list            print the entries instead of writing\n"
		"      --dracut          have dracut (dracut-core) write the archive\n"
		"                        (with --list: print its argv)\n"
		"      --tmpdir DIR      dracut's scratch space (default: OUTPUT's dir)\n"
		"  -M, --max-size SIZE   refuse an image carrying more data (default 1G;\n"
		"                        K, M, G, T suffixes; 0: no limit)\n"
		"  -v, --verbose         notes on stderr\n"
		"  -h, --help\n"
		"SOURCE_DATE_EPOCH (env): mtime of every entry (reproducible)\n",
		prog);
}

/* The image in archive order: listed (--list), or written as newc. */
static int cut_native(struct image *img, const char *output, bool list,
		      const struct newc_opts *newc)
{
	size_t n;
	struct entry **v = img_layout(img, &n);
	int err = 0;

	if (!list) {
		err = newc_write(img, v, n, output, newc);
	} else {
		for (size_t i = 0; i < n; i++)
			img_list_entry(v[i]);
		if (fflush(stdout) || ferror(stdout))
			err = cut_error_errno(errno, "cannot write to stdout");
	}
	free(v);
	return err;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "base", required_argument, NULL, 'b' },
		{ "moddir", required_argument, NULL, 'm' },
		{ "kver", required_argument, NULL, 'k' },
		{ "define", required_argument, NULL, 'D' },
		{ "list", no_argument, NULL, 'l' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "dracut", no_argument, NULL, 'R' },
		{ "tmpdir", required_argument, NULL, 'T' },
		{ "max-size", required_argument, NULL, 'M' },
		{ NULL, 0, NULL, 0 },
	};
	struct newc_opts newc = { .max_size = MAX_SIZE };
	struct dracut_opts dr = { 0 };
	struct define *defs = NULL;
	struct image img = { 0 };
	struct kmods km = { 0 };
	struct manifests mf = { .img = &img, .km = &km };
	size_t ndefs = 0, defs_cap = 0;
	bool list = false, dracut = false;
	const char *output = NULL, *sde;
	char *cwd;
	int opt;

	while ((opt = getopt_long(argc, argv, "o:b:m:k:D:M:lvh", opts,
				  NULL)) != -1) {
		char *eq;

		switch (opt) {
		case 'o':
			output = optarg;
			break;
		case 'b':
			newc.base = optarg;
			break;
		case 'm':
			km.moddir = optarg;
			break;
		case 'k':
			km.kver = optarg;
			break;
		case 'D':
			eq = strchr(optarg, '=');
			if (!eq || eq == optarg)
				fatal(EXIT_USAGE, "'%s': -D wants NAME=VALUE",
				      optarg);
			*eq = '\0';
			defs = xgrow(defs, &defs_cap, ndefs, sizeof(*defs));
			defs[ndefs++] = (struct define){ optarg, eq + 1 };
			break;
		case 'l':
			list = true;
			break;
		case 'v':
			cut_verbose = true;
			break;
		case 'R':
			dracut = true;
			break;
		case 'T':
			dr.tmpdir = optarg;
			break;
		case 'M':
			if (parse_size(optarg, &newc.max_size))
				fatal(EXIT_USAGE, "'%s': --max-size wants a size in bytes, or with a K, M, G or T suffix",
				      optarg);
			break;
		case 'h':
			show_usage(stdout);
			return EXIT_PASS;
		default:
			show_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc || (!output && !list)) {
		error("%s", optind >= argc ? "no MANIFEST given" :
		      "no --output FILE given");
		show_usage(stderr);
		return EXIT_USAGE;
	}
	if (dracut && newc.base)
		fatal(EXIT_USAGE, "--dracut writes a whole image: no --base (append with a second, native run)");
	if (dracut && !list && !dracut_found())
		return EXIT_FAIL;
	sde = getenv("SOURCE_DATE_EPOCH");
	if (sde && *sde) {
		char *end;
		long long t;

		errno = 0;
		t = strtoll(sde, &end, 10);
		if (*end || errno || t < 0 || t > UINT32_MAX)
			fatal(EXIT_USAGE, "SOURCE_DATE_EPOCH '%s': not a time in seconds (0..%u)",
			      sde, UINT32_MAX);
		newc.have_epoch = true;
		newc.epoch = t;
	}
	cwd = getcwd(NULL, 0);
	if (!cwd)
		fatal_errno(EXIT_FAIL, errno,
			    "cannot get the current directory");
	dr.output = output;
	dr.list = list;
	mf.defs = defs;
	mf.ndefs = ndefs;
	mf.cwd = cwd;
	for (int i = optind; i < argc; i++)
		manifest_parse(&mf, argv[i]);
	if (!nerrors)
		kmod_finish(&km, &img);
	if (dracut)
		dracut_cut(&img, &km, &dr);
	else if (!nerrors)
		cut_native(&img, output, list, &newc);
	if (nerrors)
		dprintf(STDERR_FILENO, "%s: %u error%s, nothing written\n",
			prog, nerrors, nerrors == 1 ? "" : "s");
	manifests_free(&mf);
	kmods_free(&km);
	host_free();
	img_free(&img);
	free(defs);
	free(cwd);
	return nerrors ? EXIT_FAIL : EXIT_PASS;
}
