// SPDX-License-Identifier: GPL-2.0
/*
 * rapido-settings: the one reader of rapido's settings.
 *
 * One table (keys[] below) names every setting: its type and range, and
 * where it may be given: .rapido.config (as CONFIG_RAPIDO_<KEY>, written
 * by the kernel's kconfig from Kconfig.rapido), a profile's settings file,
 * the command line or the environment. The defaults are Kconfig.rapido's
 * and nowhere else: the driver materialises .rapido.config with
 * `make olddefconfig` on Kconfig.rapido (whenever it is missing or older
 * than Kconfig.rapido), so every key this program reads from it is there,
 * and a missing one is an error, never a second default.
 *
 *   rapido-settings -s SRCTREE -c .rapido.config [NAME=value ...]
 *	read .rapido.config, the profile's settings (PROFILE= from the
 *	arguments, the environment, else .rapido.config's) and the
 *	variables; print the result as NUL-terminated KEY=value records
 *	(bash: mapfile -d ''), the last one END=. The names of the
 *	variables given on make's command line (MAKEFLAGS, after " -- ")
 *	must be rapido's, the profile's, make's or kbuild's (derived from
 *	the tree: the top Makefile and Documentation/kbuild/); the
 *	arguments' names rapido's or the profile's.
 *   rapido-settings -s SRCTREE --list-profiles     make rapido-list
 *   rapido-settings --help-vars                    make rapido-help's lines
 *   rapido-settings --names                        rapido's variables
 *   rapido-settings --check-kconfig Kconfig.rapido table == Kconfig?
 *
 * Precedence: the command line (or the environment) over a profile's
 * settings over .rapido.config; a profile's MEM and CPUS are minimums
 * (the larger of the profile's and .rapido.config's is used). An empty
 * value counts as not given.
 *
 * Every problem is reported as "FILE:LINE: KEY: what is wrong, what is
 * allowed", all of them, then exit 128.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EX_RAPIDO	128
#define MAX_ERRORS	20

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
/* split in two: checkpatch's "prefer __printf" cannot apply to __printf */
#define __printf(a, b)	__attribute__((				\
	__format__(printf, a, b)))

enum type {
	T_INT,		/* whole number in min..max */
	T_SIZE,		/* MiB in min..max; also with a M or G suffix */
	T_BOOL,		/* y or n */
	T_ENUM,		/* one of choices[] */
	T_STRING,	/* any text */
	T_NAME,		/* a profile's name: no '/', not starting with '.' */
	T_VARS,		/* NAME[=default] words (a profile's own variables) */
	T_FILES,	/* NAME:SIZE words (rapido-vm --file) */
};

/* Where a key may be given. */
#define IN_KCONFIG	1	/* .rapido.config: CONFIG_<kconfig> */
#define IN_PROFILE	2	/* a profile's settings file */
#define IN_CMDLINE	4	/* command line, environment */

struct key {
	const char *name;	/* NULL: a kconfig choice member, not a key */
	const char *kconfig;	/* symbol in Kconfig.rapido, or NULL */
	enum type type;
	unsigned int where;
	long min, max;
	const char *const *choices;
	bool minimum;		/* the profile's value is a minimum */
	bool out;		/* printed by -c (the driver uses it) */
	const char *meta;	/* help: NAME=<meta> */
	const char *doc;	/* help: one line */
};

static const char *const accel_choices[] = { "auto", "kvm", "tcg", NULL };
static const char *const cut_choices[] = { "native", "dracut", NULL };
static const char *const machine_choices[] = { "microvm", "pc", "q35", NULL };
static const char *const arch_choices[] = { "x86_64", "x86", NULL };
static const char *const v_choices[] = { "0", "1", "2", "12", NULL };

#define ALL	(IN_KCONFIG | IN_PROFILE | IN_CMDLINE)
#define KEY(n, sym, t, w)	.name = n, .kconfig = sym, .type = t, .where = w
#define MEMBER(sym)	.kconfig = sym, .type = T_BOOL, .where = IN_KCONFIG

static const struct key keys[] = {
	{ KEY("PROFILE", "RAPIDO_PROFILE", T_NAME, IN_KCONFIG | IN_CMDLINE),
	  .out = true, .meta = "name",
	  .doc = "the profile (make rapido-list)" },
	{ KEY("X", NULL, T_STRING, IN_CMDLINE), .meta = "'cmd'",
	  .doc = "shell command run in the guest after the autorun" },
	{ KEY("F", NULL, T_STRING, IN_CMDLINE), .meta = "file",
	  .doc = "script run in the guest after the autorun (and X=)" },
	{ KEY("TIMEOUT", "RAPIDO_TIMEOUT", T_INT, ALL), .min = 5, .max = 86400,
	  .out = true, .meta = "seconds",
	  .doc = "the whole QEMU run, boot included" },
	{ KEY("MEM", "RAPIDO_MEM", T_SIZE, ALL), .min = 64, .max = 65536,
	  .minimum = true, .out = true, .meta = "MiB",
	  .doc = "guest memory (or 2G; a profile's is a minimum)" },
	{ KEY("CPUS", "RAPIDO_CPUS", T_INT, ALL), .min = 1, .max = 64,
	  .minimum = true, .out = true, .meta = "n",
	  .doc = "guest CPUs (a profile's is a minimum)" },
	{ KEY("ACCEL", "RAPIDO_ACCEL", T_ENUM, IN_KCONFIG | IN_CMDLINE),
	  .choices = accel_choices, .out = true, .meta = "auto|kvm|tcg",
	  .doc = "how QEMU runs the guest" },
	{ KEY("CUT", "RAPIDO_CUT", T_ENUM, IN_KCONFIG | IN_CMDLINE),
	  .choices = cut_choices, .out = true, .meta = "native|dracut",
	  .doc = "what writes the image" },
	{ KEY("WATCH", "RAPIDO_WATCH", T_BOOL, IN_KCONFIG | IN_CMDLINE),
	  .out = true, .meta = "y|n",
	  .doc = "rapido-watch answers \"did the tree change?\"" },
	{ KEY("V", NULL, T_ENUM, IN_CMDLINE), .choices = v_choices,
	  .meta = "1", .doc = "verbose (kbuild's V= too)" },
	{ KEY("O", NULL, T_STRING, IN_CMDLINE), .meta = "dir",
	  .doc = "kbuild's output directory" },
	{ KEY("ARCH", NULL, T_ENUM, IN_CMDLINE), .choices = arch_choices,
	  .meta = "x86_64", .doc = "rapido boots x86_64 guests only for now" },
	{ KEY("N", NULL, T_INT, IN_CMDLINE), .min = 1, .max = 1000,
	  .meta = "5", .doc = "runs per item of make rapido-bench" },
	{ KEY("MACHINE", "RAPIDO_MACHINE", T_ENUM, IN_KCONFIG | IN_PROFILE),
	  .choices = machine_choices, .out = true },
	{ KEY("QEMU", "RAPIDO_QEMU", T_STRING, IN_KCONFIG), .out = true },
	{ KEY("APPEND", "RAPIDO_APPEND", T_STRING, IN_KCONFIG), .out = true },
	{ KEY("QEMU_EXTRA", "RAPIDO_QEMU_EXTRA", T_STRING, IN_KCONFIG),
	  .out = true },
	{ KEY("DESCRIPTION", NULL, T_STRING, IN_PROFILE) },
	{ KEY("NEEDS", NULL, T_STRING, IN_PROFILE) },
	{ KEY("VARS", NULL, T_VARS, IN_PROFILE) },
	{ KEY("PREPARE", NULL, T_STRING, IN_PROFILE), .out = true },
	{ KEY("VM_FILES", NULL, T_FILES, IN_PROFILE), .out = true },
	/* kconfig's choice members: in .rapido.config, read by nobody */
	{ MEMBER("RAPIDO_ACCEL_AUTO") },
	{ MEMBER("RAPIDO_ACCEL_KVM") },
	{ MEMBER("RAPIDO_ACCEL_TCG") },
	{ MEMBER("RAPIDO_CUT_NATIVE") },
	{ MEMBER("RAPIDO_CUT_DRACUT") },
	{ MEMBER("RAPIDO_MACHINE_MICROVM") },
	{ MEMBER("RAPIDO_MACHINE_PC") },
	{ MEMBER("RAPIDO_MACHINE_Q35") },
};

#define NKEYS	ARRAY_SIZE(keys)

/* make's own variables, which may be given on its command line */
static const char *const make_names[] = {
	"MAKEFLAGS", "MAKEFILES", "MAKELEVEL", "MAKEOVERRIDES", "MFLAGS",
	"SHELL", "VPATH", "GPATH", "GNUMAKEFLAGS", "MAKE", "MAKESHELL",
};

/* One value of a key, and where it came from (for messages). */
struct val {
	char *text;		/* NULL: not given */
	const char *file;	/* "command line", "environment", a path */
	int line;		/* 0: none */
	bool bad;		/* given, but wrong (reported) */
};

struct state {
	struct val kconfig[NKEYS], profile[NKEYS], cmdline[NKEYS];
	const char *srctree, *config;
	char *profile_name, *profile_dir, *settings;
	char **cmd_names;	/* names given on the command line */
	int n_cmd;
	char **make_names;	/* names from MAKEFLAGS */
	int n_make;
};

static int nerrors;

static void __printf(1, 2) error(const char *fmt, ...)
{
	va_list ap;

	if (++nerrors > MAX_ERRORS)
		return;
	fputs("rapido: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (nerrors == MAX_ERRORS)
		fputs("rapido: too many errors, the rest not shown\n", stderr);
}

static _Noreturn void __printf(1, 2) fatal(const char *fmt, ...)
{
	va_list ap;

	fputs("rapido: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EX_RAPIDO);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		fatal("cannot allocate %zu bytes: %s", n, strerror(ENOMEM));
	return p;
}

static char *xstrndup(const char *s, size_t n)
{
	char *d = xrealloc(NULL, n + 1);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

static __printf(1, 2) char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatal("cannot allocate a message: %s", strerror(ENOMEM));
	return s;
}

/*
 * @s (of @len bytes) for a message: at most 40 characters, control
 * characters and other bytes outside printable ASCII as \xNN.
 */
static const char *shown(const char *s, size_t len)
{
	static char buf[4][200];
	static int which;
	char *b = buf[which++ % 4], *p = b;
	size_t i;

	for (i = 0; i < len && p - b < 60; i++) {
		unsigned char c = s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			*p++ = c;
		else
			p += sprintf(p, "\\x%02x", c);
	}
	if (i < len)
		p += sprintf(p, "... (%zu bytes)", len);
	*p = '\0';
	return b;
}

/* The whole file, NUL-terminated, its length in *@len; NULL: errno set. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	size_t cap = 4096, n = 0, r;
	char *buf;

	if (!f)
		return NULL;
	buf = xrealloc(NULL, cap);
	while ((r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += r;
		if (cap - n < 2)
			buf = xrealloc(buf, cap *= 2);
	}
	if (ferror(f)) {
		int e = errno ? errno : EIO;

		fclose(f);
		free(buf);
		errno = e;
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static const struct key *find_key(const char *name, size_t len)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].name && strlen(keys[i].name) == len &&
		    !memcmp(keys[i].name, name, len))
			return &keys[i];
	return NULL;
}

static const struct key *find_kconfig(const char *sym, size_t len)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].kconfig && strlen(keys[i].kconfig) == len &&
		    !memcmp(keys[i].kconfig, sym, len))
			return &keys[i];
	return NULL;
}

/* Edit distance (Levenshtein, case-insensitive) of @a and @b. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[65], i, j;

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t up = row[j], best;

			best = diag + (toupper((unsigned char)a[i - 1]) !=
				       toupper((unsigned char)b[j - 1]));
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

/* Candidates for "did you mean": the closest one, if it is close. */
struct suggest {
	const char *name;
	const char *best;
	size_t dist;
};

static void suggest_add(struct suggest *s, const char *cand)
{
	size_t d = distance(s->name, cand);
	size_t len = strlen(s->name);

	if (!strcmp(s->name, cand) || d > 2 || d * 3 > len + 1)
		return;
	if (!s->best || d < s->dist) {
		s->best = cand;
		s->dist = d;
	}
}

/* ", did you mean NAME?" or "" */
static char *did_you_mean(const struct suggest *s)
{
	if (!s->best)
		return xstrdup("");
	return xasprintf(", did you mean %s?", s->best);
}

/* The names given @where, space-separated. */
static char *names_in(unsigned int where)
{
	char *list = xstrdup("");

	for (size_t i = 0; i < NKEYS; i++) {
		char *n;

		if (!keys[i].name || !(keys[i].where & where))
			continue;
		n = xasprintf("%s%s%s", list, *list ? " " : "", keys[i].name);
		free(list);
		list = n;
	}
	return list;
}

static bool is_name(const char *s, size_t len)
{
	if (!len || !isupper((unsigned char)*s))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!isupper((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

/* A whole number in min..max, or a size (MiB, M or G suffix) for T_SIZE. */
static bool parse_number(const struct key *k, const char *s, long *out)
{
	unsigned long long v = 0;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return false;
	for (; isdigit((unsigned char)*p); p++) {
		v = v * 10 + (*p - '0');
		if (v > (unsigned long long)LONG_MAX / 1024)
			return false;
	}
	if (k->type == T_SIZE && (*p == 'M' || *p == 'G') && !p[1]) {
		if (*p == 'G')
			v *= 1024;
		p++;
	}
	if (*p || (long)v < k->min || (long)v > k->max)
		return false;
	*out = v;
	return true;
}

static char *choices_of(const struct key *k)
{
	char *list = xstrdup("");

	for (const char *const *c = k->choices; *c; c++) {
		char *n = xasprintf("%s%s%s", list, *list ? ", " : "", *c);

		free(list);
		list = n;
	}
	return list;
}

/* "one of: y, n" and the like: what @k allows. */
static char *allowed(const struct key *k)
{
	switch (k->type) {
	case T_INT:
		return xasprintf("a whole number in %ld..%ld", k->min, k->max);
	case T_SIZE:
		return xasprintf("a size in MiB, %ld..%ld (or with M or G)",
				 k->min, k->max);
	case T_BOOL:
		return xstrdup("y or n");
	case T_ENUM: {
		char *c = choices_of(k), *r = xasprintf("one of: %s", c);

		free(c);
		return r;
	}
	case T_NAME:
		return xstrdup("a profile's name (make rapido-list)");
	case T_VARS:
		return xstrdup("a NAME or NAME=default word (NAME: A-Z, 0-9, _)");
	case T_FILES:
		return xstrdup("a NAME:SIZE word (NAME a plain file name, SIZE bytes, or with K, M, G or T)");
	case T_STRING:
		break;
	}
	return xstrdup("text");
}

/* NAME:SIZE, as rapido-vm --file takes it: SIZE > 0, K, M, G or T. */
static bool valid_file_word(const char *w, size_t len)
{
	const char *colon = memrchr(w, ':', len), *p;
	bool nonzero = false;

	if (!colon || colon == w || *w == '.' || memchr(w, '/', colon - w))
		return false;
	for (p = colon + 1; p < w + len && isdigit((unsigned char)*p); p++)
		nonzero = nonzero || *p != '0';
	if (!nonzero)
		return false;
	if (p < w + len && strchr("KMGT", *p))
		p++;
	return p == w + len;
}

/*
 * Check @v against @k; report "where: KEY: ..." on failure. A T_SIZE
 * value is rewritten to plain MiB.
 */
static bool check_value(const struct key *k, struct val *v)
{
	const char *s = v->text, *what = NULL;
	char *where, *ok;
	long n;

	switch (k->type) {
	case T_INT:
	case T_SIZE:
		if (parse_number(k, s, &n)) {
			if (k->type == T_SIZE) {
				free(v->text);
				v->text = xasprintf("%ld", n);
			}
			return true;
		}
		what = "is not";
		break;
	case T_BOOL:
		if (!strcmp(s, "y") || !strcmp(s, "n"))
			return true;
		what = "is not";
		break;
	case T_ENUM:
		for (const char *const *c = k->choices; *c; c++)
			if (!strcmp(s, *c))
				return true;
		what = "is not";
		break;
	case T_NAME:
		if (*s && *s != '.' && !strchr(s, '/'))
			return true;
		what = "is not";
		break;
	case T_VARS:
	case T_FILES:
		for (const char *w = s; *w;) {
			size_t len = strcspn(w, " \t"), nl;

			if (!len) {
				w++;
				continue;
			}
			nl = k->type == T_VARS ? strcspn(w, " \t=") : 0;
			if (k->type == T_VARS ? !is_name(w, nl) :
			    !valid_file_word(w, len)) {
				s = xstrndup(w, len);
				what = "is not";
				break;
			}
			w += len;
		}
		if (!what)
			return true;
		break;
	case T_STRING:
		return true;
	}
	where = v->line ? xasprintf("%s:%d", v->file, v->line) :
			  xstrdup(v->file);
	ok = allowed(k);
	error("%s: %s: '%s' %s %s", where, k->name, shown(s, strlen(s)),
	      what, ok);
	if (s != v->text)
		free((char *)s);
	free(where);
	free(ok);
	return false;
}

/* Unescape a kconfig string value "..." in place; false if malformed. */
static bool kconfig_string(char *s)
{
	char *r = s + 1, *w = s;

	if (*s != '"')
		return false;
	for (; *r && *r != '"'; r++) {
		if (*r == '\\' && r[1])
			r++;
		*w++ = *r;
	}
	if (*r != '"' || r[1])
		return false;
	*w = '\0';
	return true;
}

/*
 * .rapido.config, as kconfig writes it: comments, blank lines,
 * CONFIG_RAPIDO_X=value and "# CONFIG_RAPIDO_X is not set".
 */
static void read_kconfig(struct state *st)
{
	size_t len, i;
	char *buf = slurp(st->config, &len), *line, *next;
	int lineno = 0, bad = 0;

	if (!buf) {
		error("cannot read '%s': %s (make rapido-menuconfig writes it)",
		      st->config, strerror(errno));
		return;
	}
	for (line = buf; line < buf + len && bad < 3; line = next) {
		char *eol = memchr(line, '\n', buf + len - line), *eq, *v;
		const struct key *k;
		size_t ll;
		struct val *slot;

		next = eol ? eol + 1 : buf + len;
		ll = (eol ? eol : buf + len) - line;
		lineno++;
		if (memchr(line, '\0', ll) ||
		    (ll && line[ll - 1] == '\r')) {
			error("%s:%d: not a line of text: '%s' (kconfig's format: CONFIG_RAPIDO_<KEY>=value; make rapido-menuconfig)",
			      st->config, lineno, shown(line, ll));
			bad++;
			continue;
		}
		line[ll] = '\0';
		if (!strncmp(line, "# CONFIG_", 9)) {
			char *end = strstr(line, " is not set");

			k = end && !end[11] ?
				find_kconfig(line + 9, end - line - 9) : NULL;
			if (k && k->type == T_BOOL) {
				v = "n";
				eq = NULL;
				goto found;
			}
		}
		if (!ll || *line == '#')
			continue;
		eq = strchr(line, '=');
		if (strncmp(line, "CONFIG_", 7) || !eq) {
			error("%s:%d: not a setting: '%s' (kconfig's format: CONFIG_RAPIDO_<KEY>=value; make rapido-menuconfig)",
			      st->config, lineno, shown(line, ll));
			bad++;
			continue;
		}
		k = find_kconfig(line + 7, eq - line - 7);
		if (!k) {
			char *known = xstrdup(""), *n;

			for (i = 0; i < NKEYS; i++) {
				if (!keys[i].name || !keys[i].kconfig)
					continue;
				n = xasprintf("%s%sCONFIG_%s", known,
					      *known ? " " : "",
					      keys[i].kconfig);
				free(known);
				known = n;
			}
			error("%s:%d: %s: unknown setting (known: %s)",
			      st->config, lineno,
			      shown(line, eq - line), known);
			free(known);
			continue;
		}
		v = eq + 1;
		if (k->type != T_INT && k->type != T_SIZE &&
		    k->type != T_BOOL && !kconfig_string(v)) {
			error("%s:%d: CONFIG_%s: %s is not a kconfig string (\"text\", with \\\" and \\\\)",
			      st->config, lineno, k->kconfig,
			      shown(v, strlen(v)));
			st->kconfig[k - keys].bad = true;
			continue;
		}
found:
		if (!k->name)
			continue;
		slot = &st->kconfig[k - keys];
		if (slot->line) {
			error("%s:%d: CONFIG_%s: set again (first on line %d), allowed once",
			      st->config, lineno, k->kconfig, slot->line);
			continue;
		}
		slot->text = xstrdup(v);
		slot->file = st->config;
		slot->line = lineno;
		if (!check_value(k, slot)) {
			free(slot->text);
			slot->text = NULL;
			slot->bad = true;
		}
	}
	if (bad >= 3)
		error("%s: does not look like a .rapido.config (make rapido-menuconfig writes one; or remove it to get Kconfig.rapido's defaults)",
		      st->config);
	for (i = 0; i < NKEYS && !bad; i++)
		if (keys[i].name && (keys[i].where & IN_KCONFIG) &&
		    !st->kconfig[i].text && !st->kconfig[i].bad)
			error("%s: CONFIG_%s is missing (remove the file to get Kconfig.rapido's defaults, or make rapido-menuconfig)",
			      st->config, keys[i].kconfig);
	free(buf);
}

/* A profile's settings: KEY=value lines, # comments; no shell. */
static int read_settings(const char *path, struct val *vals, bool quiet_missing)
{
	size_t len;
	char *buf = slurp(path, &len), *line, *next;
	int lineno = 0, bad = 0;

	if (!buf) {
		if (errno == ENOENT && quiet_missing)
			return 0;
		error("cannot read '%s': %s", path, strerror(errno));
		return -1;
	}
	for (line = buf; line < buf + len && bad < 3; line = next) {
		char *eol = memchr(line, '\n', buf + len - line), *eq;
		const struct key *k;
		size_t ll;
		struct val *slot;

		next = eol ? eol + 1 : buf + len;
		ll = (eol ? eol : buf + len) - line;
		lineno++;
		if (memchr(line, '\0', ll)) {
			error("%s:%d: not a line of text: '%s' (KEY=value lines)",
			      path, lineno, shown(line, ll));
			bad++;
			continue;
		}
		line[ll] = '\0';
		if (!ll || *line == '#')
			continue;
		eq = strchr(line, '=');
		if (!eq || !is_name(line, eq - line)) {
			error("%s:%d: not a KEY=value line: '%s'",
			      path, lineno, shown(line, ll));
			bad++;
			continue;
		}
		k = find_key(line, eq - line);
		if (!k || !(k->where & IN_PROFILE)) {
			struct suggest s = { .name = xstrndup(line, eq - line) };
			char *known = names_in(IN_PROFILE), *dym;

			for (size_t i = 0; i < NKEYS; i++)
				if (keys[i].name &&
				    (keys[i].where & IN_PROFILE))
					suggest_add(&s, keys[i].name);
			dym = did_you_mean(&s);
			error("%s:%d: %s: %s%s (a profile's settings are: %s)",
			      path, lineno, s.name,
			      k ? "not a profile's setting" : "unknown setting",
			      dym, known);
			free(dym);
			free(known);
			free((char *)s.name);
			continue;
		}
		slot = &vals[k - keys];
		if (slot->line) {
			error("%s:%d: %s: set again (first on line %d), allowed once",
			      path, lineno, k->name, slot->line);
			continue;
		}
		slot->text = xstrdup(eq + 1);
		slot->file = path;
		slot->line = lineno;
		if (!check_value(k, slot)) {
			free(slot->text);
			slot->text = NULL;
			slot->bad = true;
		}
	}
	if (bad >= 3)
		error("%s: does not look like a profile's settings file (KEY=value lines); the rest is not read",
		      path);
	free(buf);
	return 0;
}

/*
 * The names of the variables on make's command line: MAKEFLAGS after
 * " -- ", words split at unescaped blanks ("\ " is a blank in a value).
 */
static void make_cmdline_names(struct state *st)
{
	const char *mf = getenv("MAKEFLAGS"), *p;

	if (!mf)
		return;
	p = strncmp(mf, "-- ", 3) ? strstr(mf, " -- ") : mf - 1;
	if (!p)
		return;
	p += 4;
	while (*p) {
		const char *w = p;
		size_t n;

		while (*p && *p != ' ') {
			if (*p == '\\' && p[1])
				p++;
			p++;
		}
		n = strcspn(w, ":+?!=");
		if (w + n < p && is_name(w, n)) {
			st->make_names = xrealloc(st->make_names,
				(st->n_make + 1) * sizeof(char *));
			st->make_names[st->n_make++] = xstrndup(w, n);
		}
		while (*p == ' ')
			p++;
	}
}

/*
 * kbuild's variables, from the tree (read only when a name on make's
 * command line is not rapido's, the profile's or make's): what the top
 * Makefile, arch/x86/Makefile, scripts/Makefile.*, scripts/Kbuild.include
 * and scripts/setlocalversion read or assign, the headings of
 * Documentation/kbuild/kbuild.rst and kconfig.rst (KCFLAGS, KBUILD_OUTPUT,
 * KCONFIG_CONFIG, ...) and the NAME= of the make command lines in
 * Documentation/kbuild/ (make LLVM=1 LLVM_IAS=0). A hand list would age:
 * each kernel release adds some (KRUSTFLAGS, KBUILD_EXTRA_WARN, ...).
 */
struct names {
	char **v;
	int n;
};

static void names_push(struct names *ns, const char *s)
{
	ns->v = xrealloc(ns->v, (ns->n + 1) * sizeof(char *));
	ns->v[ns->n++] = xstrdup(s);
}

/* Add the NAME of @len bytes at @s, unless it is there or not a NAME. */
static void names_add(struct names *ns, const char *s, size_t len)
{
	char *n;

	if (!is_name(s, len))
		return;
	for (int i = 0; i < ns->n; i++)
		if (strlen(ns->v[i]) == len && !memcmp(ns->v[i], s, len))
			return;
	n = xstrndup(s, len);
	names_push(ns, n);
	free(n);
}

static size_t name_len(const char *s)
{
	size_t n = 0;

	while (isupper((unsigned char)s[n]) || isdigit((unsigned char)s[n]) ||
	       s[n] == '_')
		n++;
	return n;
}

/* The NAME at @s if it is a whole word (followed by none of A-Z0-9_). */
static void add_word(struct names *ns, const char *s)
{
	names_add(ns, s, name_len(s));
}

/*
 * A makefile (or a shell script): $(NAME), ${NAME}, `origin NAME`,
 * `ifdef NAME`, NAME = ... at the start of a line.
 */
static void scan_makefile(const char *path, struct names *ns)
{
	static const char *const before[] = {
		"$(", "${", "origin ", "ifdef ", "ifndef ",
	};
	size_t len;
	char *buf = slurp(path, &len), *p;

	for (p = buf; p && *p; p++) {
		bool bol = p == buf || p[-1] == '\n';
		size_t n;

		for (size_t i = 0; i < ARRAY_SIZE(before); i++)
			if (!strncmp(p, before[i], strlen(before[i])))
				add_word(ns, p + strlen(before[i]));
		if (!bol || !isupper((unsigned char)*p))
			continue;
		n = name_len(p);
		for (const char *q = p + n; *q; q++) {
			if (*q == ' ' || *q == '\t')
				continue;
			if (*q == '=' || (strchr(":?+!", *q) && q[1] == '=') ||
			    !strncmp(q, "::=", 3))
				names_add(ns, p, n);
			break;
		}
	}
	free(buf);
}

/*
 * Documentation: the NAME= words of lines that run make ("make LLVM=1
 * LLVM_IAS=0"), and, with @headings, headings that are NAMEs ("KCFLAGS",
 * "KBUILD_BUILD_USER, KBUILD_BUILD_HOST", underlined by - or =).
 */
static void scan_doc(const char *path, struct names *ns, bool headings)
{
	size_t len;
	char *buf = slurp(path, &len), *line, *prev = NULL, *next;

	for (line = buf; line && *line; prev = line, line = next) {
		char *eol = strchr(line, '\n'), *w;

		next = eol ? eol + 1 : line + strlen(line);
		if (eol)
			*eol = '\0';
		if (headings && prev && (*line == '-' || *line == '=') &&
		    line[1] == *line) {
			for (w = strtok(prev, ", "); w; w = strtok(NULL, ", "))
				if (is_name(w, strlen(w)))
					names_add(ns, w, strlen(w));
		}
		w = strstr(line, "make ");
		while (w && (w = strpbrk(w, " \t"))) {
			size_t n;

			w += strspn(w, " \t");
			n = name_len(w);
			if (n && w[n] == '=')
				names_add(ns, w, n);
		}
	}
	free(buf);
}

/* The files of @dir whose names start with @prefix and end with @suffix. */
static void scan_dir(const char *srctree, const char *dir, const char *prefix,
		     const char *suffix, struct names *ns)
{
	char *path = xasprintf("%s/%s", srctree, dir);
	DIR *d = opendir(path);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		size_t l = strlen(de->d_name), sl = strlen(suffix);
		char *f;

		if (strncmp(de->d_name, prefix, strlen(prefix)) || l < sl ||
		    strcmp(de->d_name + l - sl, suffix))
			continue;
		f = xasprintf("%s/%s", path, de->d_name);
		if (*suffix)
			scan_doc(f, ns, false);
		else
			scan_makefile(f, ns);
		free(f);
	}
	if (d)
		closedir(d);
	free(path);
}

static void kbuild_names(const char *srctree, struct names *ns)
{
	static const char *const makefiles[] = {
		"Makefile", "arch/x86/Makefile", "scripts/Kbuild.include",
		"scripts/setlocalversion",
	};
	static const char *const docs[] = {
		"Documentation/kbuild/kbuild.rst",
		"Documentation/kbuild/kconfig.rst",
	};
	char *path = xasprintf("%s/Makefile", srctree);

	if (access(path, R_OK))
		error("cannot read '%s' for kbuild's variables: %s", path,
		      strerror(errno));
	free(path);
	for (size_t i = 0; i < ARRAY_SIZE(makefiles); i++) {
		path = xasprintf("%s/%s", srctree, makefiles[i]);
		scan_makefile(path, ns);
		/* the help's "make W=n   [targets] ..." */
		scan_doc(path, ns, false);
		free(path);
	}
	scan_dir(srctree, "scripts", "Makefile.", "", ns);
	for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
		path = xasprintf("%s/%s", srctree, docs[i]);
		scan_doc(path, ns, true);
		free(path);
	}
	scan_dir(srctree, "Documentation/kbuild", "", ".rst", ns);
}

static bool in_list(char *const *v, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(v[i], name))
			return true;
	return false;
}

/* The profile's VARS names (NAME of each NAME[=default] word). */
static struct names profile_var_names(const char *vars)
{
	struct names ns = { 0 };

	for (const char *w = vars ? vars : ""; *w;) {
		size_t len = strcspn(w, " \t");

		if (len)
			names_add(&ns, w, strcspn(w, " \t="));
		w += len ? len : 1;
	}
	return ns;
}

/*
 * Are the variables' names known? @cmd: the arguments' (rapido's or the
 * profile's); MAKEFLAGS': also make's and kbuild's, upper-case only.
 */
static void check_names(struct state *st, const char *vars)
{
	struct names pv = profile_var_names(vars), kb = { 0 };
	bool have_kbuild = false;

	for (int pass = 0; pass < 2; pass++) {
		char **v = pass ? st->make_names : st->cmd_names;
		int n = pass ? st->n_make : st->n_cmd;

		for (int i = 0; i < n; i++) {
			const struct key *k = find_key(v[i], strlen(v[i]));
			struct suggest s = { .name = v[i] };
			char *known, *dym;

			if (k && (k->where & IN_CMDLINE))
				continue;
			if (in_list(pv.v, pv.n, v[i]))
				continue;
			if (pass && in_list((char **)make_names,
					    ARRAY_SIZE(make_names), v[i]))
				continue;
			if (pass && !have_kbuild) {
				kbuild_names(st->srctree, &kb);
				have_kbuild = true;
			}
			if (pass && !k && in_list(kb.v, kb.n, v[i]))
				continue;
			known = names_in(IN_CMDLINE);
			for (size_t j = 0; j < NKEYS; j++)
				if (keys[j].name &&
				    (keys[j].where & IN_CMDLINE))
					suggest_add(&s, keys[j].name);
			for (int j = 0; j < pv.n; j++)
				suggest_add(&s, pv.v[j]);
			for (int j = 0; j < kb.n; j++)
				suggest_add(&s, kb.v[j]);
			dym = did_you_mean(&s);
			if (k)
				error("%s: %s: not a variable of the command line (it is set in %s)",
				      pass ? "make's command line" : "command line",
				      v[i], k->where & IN_PROFILE ?
				      "a profile's settings" :
				      ".rapido.config: make rapido-menuconfig");
			else
				error("%s: unknown variable '%s'%s (known: %s%s%s%s%s%s)",
				      pass ? "make's command line" : "command line",
				      v[i], dym, known,
				      pv.n ? "; and for profile " : "",
				      pv.n ? st->profile_name : "",
				      pv.n ? ": " : "", pv.n ? vars : "",
				      pass ? "; and make's and kbuild's" : "");
			free(known);
			free(dym);
		}
	}
	for (int i = 0; i < pv.n; i++) {
		const struct key *k = find_key(pv.v[i], strlen(pv.v[i]));

		if (k && (k->where & IN_CMDLINE))
			error("%s: VARS: '%s' is rapido's own variable: choose another name",
			      st->settings, pv.v[i]);
		free(pv.v[i]);
	}
	free(pv.v);
	for (int i = 0; i < kb.n; i++)
		free(kb.v[i]);
	free(kb.v);
}

/* NAME=value arguments and the environment: IN_CMDLINE keys. */
static void read_cmdline(struct state *st, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '=');

		if (!eq || eq == argv[i]) {
			error("command line: '%s': not a variable (VAR=value)",
			      shown(argv[i], strlen(argv[i])));
			continue;
		}
		st->cmd_names = xrealloc(st->cmd_names,
					 (st->n_cmd + 1) * sizeof(char *));
		st->cmd_names[st->n_cmd++] = xstrndup(argv[i], eq - argv[i]);
	}
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		struct val *v = &st->cmdline[i];
		const char *text = NULL;

		if (!k->name || !(k->where & IN_CMDLINE))
			continue;
		v->file = "environment";
		for (int j = 0; j < st->n_cmd; j++)
			if (!strcmp(st->cmd_names[j], k->name)) {
				text = argv[j] + strlen(k->name) + 1;
				v->file = "command line";
			}
		if (!text) {
			text = getenv(k->name);
			if (in_list(st->make_names, st->n_make, k->name))
				v->file = "make's command line";
		}
		if (!text || !*text)
			continue;
		v->text = xstrdup(text);
		if (!check_value(k, v)) {
			free(v->text);
			v->text = NULL;
		}
	}
}

/* The profile's name and directory; false (reported) if there is none. */
static bool find_profile(struct state *st)
{
	size_t i = find_key("PROFILE", 7) - keys;
	const struct val *v = st->cmdline[i].text ? &st->cmdline[i] :
			      &st->kconfig[i];
	char *manifest;
	bool ok;

	if (!v->text)
		return false;
	st->profile_name = v->text;
	st->profile_dir = xasprintf("%s/tools/testing/rapido/profiles/%s",
				    st->srctree, v->text);
	manifest = xasprintf("%s/manifest", st->profile_dir);
	ok = !access(manifest, F_OK);
	if (!ok) {
		struct suggest s = { .name = v->text };
		char *dir = xasprintf("%s/tools/testing/rapido/profiles",
				      st->srctree);
		DIR *d = opendir(dir);
		struct dirent *de;
		char *dym;

		while (d && (de = readdir(d)))
			if (de->d_name[0] != '.')
				suggest_add(&s, de->d_name);
		dym = did_you_mean(&s);
		error("%s%s%.0d: PROFILE: unknown profile '%s'%s: no %s (see make rapido-list)",
		      v->file, v->line ? ":" : "", v->line, v->text, dym,
		      manifest);
		if (d)
			closedir(d);
		free(dym);
		free(dir);
	}
	free(manifest);
	st->settings = xasprintf("%s/settings", st->profile_dir);
	return ok;
}

static void put(const char *key, const char *val)
{
	printf("%s=%s%c", key, val ? val : "", '\0');
}

static int resolve(struct state *st, int argc, char **argv)
{
	const char *vars;
	struct names pv;
	char *names;

	make_cmdline_names(st);
	read_kconfig(st);
	read_cmdline(st, argc, argv);
	if (find_profile(st))
		read_settings(st->settings, st->profile, true);
	vars = st->profile[find_key("VARS", 4) - keys].text;
	check_names(st, vars);
	if (nerrors)
		return EX_RAPIDO;

	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		const char *v = st->kconfig[i].text;

		if (!k->out)
			continue;
		if (st->profile[i].text) {
			if (!k->minimum || !v ||
			    atol(st->profile[i].text) > atol(v))
				v = st->profile[i].text;
		}
		if (st->cmdline[i].text)
			v = st->cmdline[i].text;
		put(k->name, v);
	}
	put("PROFILE_DIR", st->profile_dir);
	/* the profile's variables: the environment's, else the default */
	pv = profile_var_names(vars);
	for (const char *w = vars ? vars : ""; *w;) {
		size_t len = strcspn(w, " \t"), n = strcspn(w, " \t=");
		char *name = xstrndup(w, n), *kv;
		const char *env = getenv(name);

		if (len) {
			if (env && *env)
				kv = xasprintf("%s=%s", name, env);
			else
				kv = xasprintf("%s=%.*s", name,
					       (int)(n < len ? len - n - 1 : 0),
					       w + n + 1);
			put("VAR", kv);
			free(kv);
		}
		free(name);
		w += len ? len : 1;
	}
	names = names_in(IN_CMDLINE);
	for (int i = 0; i < pv.n; i++) {
		char *n = xasprintf("%s %s", names, pv.v[i]);

		free(names);
		names = n;
		free(pv.v[i]);
	}
	free(pv.v);
	put("NAMES", names);
	free(names);
	put("END", "");
	if (fflush(stdout) || ferror(stdout))
		fatal("cannot write the settings: %s", strerror(errno));
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* make rapido-list: every profile, its description and needs. */
static int list_profiles(const char *srctree)
{
	char *dir = xasprintf("%s/tools/testing/rapido/profiles", srctree);
	DIR *d = opendir(dir);
	struct dirent *de;
	struct names ps = { 0 };

	if (!d)
		fatal("cannot open '%s': %s", dir, strerror(errno));
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			names_push(&ps, de->d_name);
	closedir(d);
	qsort(ps.v, ps.n, sizeof(char *), cmp_str);
	for (int i = 0; i < ps.n; i++) {
		struct val vals[NKEYS] = { { 0 } };
		char *p = xasprintf("%s/%s/manifest", dir, ps.v[i]), *cfg;
		size_t len;
		const struct val *desc = &vals[find_key("DESCRIPTION", 11) - keys];
		const struct val *needs = &vals[find_key("NEEDS", 5) - keys];
		const struct val *vars = &vals[find_key("VARS", 4) - keys];

		if (access(p, F_OK)) {
			free(p);
			continue;
		}
		free(p);
		p = xasprintf("%s/%s/settings", dir, ps.v[i]);
		read_settings(p, vals, true);
		free(p);
		printf("%-16s %s\n", ps.v[i],
		       desc->text ? desc->text : "(no description)");
		p = xasprintf("%s/%s/config", dir, ps.v[i]);
		cfg = slurp(p, &len);
		if (cfg) {
			const char *sep = "";

			printf("%-16s needs ", "");
			for (char *l = cfg; *l; ) {
				size_t ll = strcspn(l, "\n");

				if (!strncmp(l, "CONFIG_", 7)) {
					printf("%s%.*s", sep, (int)ll, l);
					sep = " ";
				}
				l += ll + (l[ll] == '\n');
			}
			putchar('\n');
			free(cfg);
		}
		free(p);
		if (needs->text)
			printf("%-16s host %s\n", "", needs->text);
		if (vars->text)
			printf("%-16s vars %s\n", "", vars->text);
		for (size_t j = 0; j < NKEYS; j++)
			free(vals[j].text);
		free(ps.v[i]);
	}
	free(ps.v);
	free(dir);
	if (fflush(stdout) || ferror(stdout))
		fatal("cannot write the list: %s", strerror(errno));
	return nerrors ? EX_RAPIDO : 0;
}

/* make rapido-help's "Variables:" lines. */
static int help_vars(void)
{
	const char *lead = "Variables:";

	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		char *nv;

		if (!k->name || !(k->where & IN_CMDLINE))
			continue;
		nv = xasprintf("%s=%s", k->name, k->meta);
		printf("%-10s %-22s %s\n", lead, nv, k->doc);
		free(nv);
		lead = "";
	}
	printf("%-10s %-22s %s\n", "", "and the profile's own",
	       "(\"vars\" of make rapido-list)");
	return 0;
}

/*
 * Kconfig.rapido against the table: every config symbol is in it with the
 * same type (and range), and every symbol of the table is in Kconfig.
 */
static int check_kconfig(const char *path)
{
	size_t len;
	char *buf = slurp(path, &len), *l;
	const struct key *k = NULL;
	bool seen[NKEYS] = { false };
	int lineno = 0;

	if (!buf)
		fatal("cannot read '%s': %s", path, strerror(errno));
	for (l = buf; *l; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] != 0)) {
		char word[64], arg[64];
		long lo, hi;

		lineno++;
		if (sscanf(l, "config %63s", word) == 1) {
			k = find_kconfig(word, strlen(word));
			if (!k)
				error("%s:%d: %s: not in rapido-settings' table",
				      path, lineno, word);
			else
				seen[k - keys] = true;
			continue;
		}
		if (!k || sscanf(l, " %63s", word) != 1)
			continue;
		if (!strcmp(word, "bool") || !strcmp(word, "int") ||
		    !strcmp(word, "string")) {
			bool ok = !strcmp(word, "bool") ? k->type == T_BOOL :
				  !strcmp(word, "int") ?
				  k->type == T_INT || k->type == T_SIZE :
				  k->type != T_INT && k->type != T_BOOL;

			if (!ok)
				error("%s:%d: %s: %s in Kconfig, another type in the table",
				      path, lineno, k->kconfig, word);
		} else if (sscanf(l, " range %ld %ld", &lo, &hi) == 2) {
			if (lo != k->min || hi != k->max)
				error("%s:%d: %s: range %ld %ld in Kconfig, %ld..%ld in the table",
				      path, lineno, k->kconfig, lo, hi,
				      k->min, k->max);
		} else if (sscanf(l, " default \"%63[^\"]\"", arg) == 1 &&
			   k->type == T_ENUM && !strstr(l, " if ")) {
			struct val v = { .text = xstrdup(arg), .file = path,
					 .line = lineno };

			check_value(k, &v);
			free(v.text);
		}
	}
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].kconfig && !seen[i])
			error("%s: CONFIG_%s of the table is not in it", path,
			      keys[i].kconfig);
	free(buf);
	return nerrors ? EX_RAPIDO : 0;
}

static _Noreturn void bad_usage(void)
{
	fputs("usage: rapido-settings -s SRCTREE -c .rapido.config [NAME=value ...]\n"
	      "       rapido-settings -s SRCTREE --list-profiles\n"
	      "       rapido-settings --help-vars | --names\n"
	      "       rapido-settings --check-kconfig Kconfig.rapido\n",
	      stderr);
	exit(EX_RAPIDO);
}

int main(int argc, char **argv)
{
	struct state st = { 0 };
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--help-vars"))
			return help_vars();
		if (!strcmp(a, "--names")) {
			char *n = names_in(IN_CMDLINE);

			printf("%s\n", n);
			free(n);
			return 0;
		}
		if (!strcmp(a, "--check-kconfig") && i + 1 < argc)
			return check_kconfig(argv[i + 1]);
		if (!strcmp(a, "--list-profiles")) {
			if (!st.srctree)
				bad_usage();
			return list_profiles(st.srctree);
		}
		if (!strcmp(a, "-s") && i + 1 < argc)
			st.srctree = argv[++i];
		else if (!strcmp(a, "-c") && i + 1 < argc)
			st.config = argv[++i];
		else if (!strcmp(a, "--"))
			break;
		else if (*a == '-')
			bad_usage();
		else
			break;
	}
	if (!st.srctree || !st.config)
		bad_usage();
	if (i < argc && !strcmp(argv[i], "--"))
		i++;
	return resolve(&st, argc - i, argv + i);
}
