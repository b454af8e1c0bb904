// SPDX-License-Identifier: GPL-2.0
/*
 * rapido-kconfig - did the config fragments land in .config, and if not, why
 *
 *   rapido-kconfig [-c CONFIG] [-e] [-s SRCTREE] FRAGMENT...
 *
 * Every option a fragment requests ("CONFIG_FOO=value" or
 * "# CONFIG_FOO is not set"; a later fragment overrides an earlier one) is
 * compared with CONFIG ($KCONFIG_CONFIG, else .config) as text: "=n",
 * "is not set" and absent are the same. Each option that did not land is
 * printed on stdout. With -e the Kconfig tree of SRCTREE is parsed by the
 * kernel's own kconfig code (this program is linked with the objects kbuild
 * built for scripts/kconfig/conf), CONFIG is read as "make olddefconfig"
 * would read it, and every option that did not land gets indented lines
 * saying why, with the fragment lines that are missing.
 *
 * Exit: 0 all landed, 1 some did not, 2 this program cannot run (128 out
 * of memory).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rapido-kconfig.h"

#define SYMCHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
		 "0123456789_"

const char *const prog = "rapido-kconfig";

struct entries {
	struct entry *v;
	size_t n, cap;
};

static struct entries frags, conf;
struct entry **frag_idx;	/* live fragment entries, by name */
struct entry **conf_idx;	/* CONFIG, by name */
size_t nfrag_idx, nconf;

static void add_entry(struct entries *es, const struct entry *e)
{
	es->v = xgrow(es->v, &es->cap, es->n, sizeof(*es->v));
	es->v[es->n++] = *e;
}

/*
 * Parse one non-comment line in place. Returns NULL (and fills @e) or the
 * reason the line is bad.
 */
static const char *parse_assign(char *line, struct entry *e)
{
	size_t plen = strlen(CONFIG_), n;
	char *name, *val, *p;

	if (strncmp(line, CONFIG_, plen))
		return "not an option line";
	name = line + plen;
	n = strspn(name, SYMCHARS);
	if (!n || name[n] != '=')
		return "no '=' after the option name";
	val = name + n + 1;
	if (!*val)
		return "empty value";
	if (*val == '"') {
		for (p = val + 1; *p && *p != '"'; p++)
			if (*p == '\\' && p[1])
				p++;
		if (*p != '"')
			return "unterminated string";
		if (p[1])
			return "text after the closing quote";
	} else if (val[strcspn(val, " \t\"")]) {
		return "blank or quote in an unquoted value";
	}
	name[n] = '\0';
	e->name = name;
	e->val = val;
	e->not_set_form = false;
	return NULL;
}

/* "# CONFIG_FOO is not set"; any other comment is no entry. */
static bool parse_not_set(char *line, struct entry *e)
{
	size_t plen = strlen(CONFIG_), n;
	char *name;

	if (strncmp(line, "# ", 2) || strncmp(line + 2, CONFIG_, plen))
		return false;
	name = line + 2 + plen;
	n = strspn(name, SYMCHARS);
	if (!n || strcmp(name + n, " is not set"))
		return false;
	name[n] = '\0';
	e->name = name;
	e->val = "n";
	e->not_set_form = true;
	return true;
}

/* Parse the text of a fragment or config in place into @es. */
static void parse_lines(const char *path, char *buf, struct entries *es,
			unsigned int *seq)
{
	unsigned int lineno = 0;
	char *line, *next;

	for (line = buf; *line; line = next) {
		char *end = strchr(line, '\n');
		struct entry e = { .file = path };
		const char *why;

		next = end ? end + 1 : line + strlen(line);
		end = end ? end : next;
		*end = '\0';
		lineno++;
		while (end > line && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (!*line)
			continue;
		e.line = lineno;
		e.seq = (*seq)++;
		if (*line == '#') {
			if (parse_not_set(line, &e))
				add_entry(es, &e);
			continue;
		}
		why = parse_assign(line, &e);
		if (why) {
			error("cannot parse '%s:%u': '%s': %s; write '%sFOO=value' or '# %sFOO is not set'",
			      path, lineno, line, why, CONFIG_, CONFIG_);
			continue;
		}
		add_entry(es, &e);
	}
}

static int read_entries(const char *path, struct entries *es,
			unsigned int *seq)
{
	char *buf;
	int err = read_file(path, 0, &buf, NULL);

	if (err) {
		error_errno(err, "cannot read '%s'", path);
		return err;
	}
	parse_lines(path, buf, es, seq);
	return 0;
}

static int by_name_seq(const void *a, const void *b)
{
	const struct entry *x = *(struct entry * const *)a;
	const struct entry *y = *(struct entry * const *)b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * Sort @es by name, the last line of a name winning; returns the index of
 * the winners (kconfig too takes the last assignment).
 */
static struct entry **index_last(struct entries *es, size_t *n)
{
	struct entry **idx = xcalloc(es->n + 1, sizeof(*idx));
	size_t i, k = 0;

	for (i = 0; i < es->n; i++)
		idx[i] = &es->v[i];
	qsort(idx, es->n, sizeof(*idx), by_name_seq);
	for (i = 0; i < es->n; i++) {
		if (i + 1 < es->n && !strcmp(idx[i]->name, idx[i + 1]->name)) {
			idx[i]->dead = true;
			continue;
		}
		idx[k++] = idx[i];
	}
	*n = k;
	return idx;
}

struct entry *lookup(struct entry **idx, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(name, idx[mid]->name);

		if (!c)
			return idx[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* "0x1f" and "1f" (kconfig adds 0x to hex values) and "31" */
static bool parse_num(const char *s, bool hex, unsigned long long *v)
{
	char *end;

	if (!strncasecmp(s, "0x", 2)) {
		s += 2;
		hex = true;
	}
	if (!*s || *s == '+' || isspace((unsigned char)*s))
		return false;
	errno = 0;
	*v = strtoull(s, &end, hex ? 16 : 10);
	return !errno && !*end;
}

static bool same_value(const char *want, const char *have)
{
	unsigned long long a, b;
	bool hex;

	if (!strcmp(want, have))
		return true;
	if (*want == '-' || *have == '-')
		return false;
	hex = !strncasecmp(want, "0x", 2) || !strncasecmp(have, "0x", 2);
	return parse_num(want, hex, &a) && parse_num(have, hex, &b) && a == b;
}

static void print_request(const struct entry *e)
{
	if (e->not_set_form)
		printf("# %s%s is not set", CONFIG_, e->name);
	else
		printf("%s%s=%s", CONFIG_, e->name, e->val);
}

static void print_miss(const struct entry *w, const struct entry *h,
		       const char *config)
{
	printf("%s: ", prog);
	print_request(w);
	printf(" (%s:%u) did not land: '%s' ", w->file, w->line, config);
	if (h && !h->not_set_form && strcmp(h->val, "n"))
		printf("has %s%s=%s\n", CONFIG_, h->name, h->val);
	else if (h || !strcmp(w->val, "y") || !strcmp(w->val, "m"))
		printf("has it not set\n");
	else
		printf("does not have it\n");
}

static void help(FILE *f)
{
	fprintf(f,
		"usage: %s [-c CONFIG] [-e] [-s SRCTREE] FRAGMENT...\n"
		"  -c FILE  the config to check (default: $KCONFIG_CONFIG, else .config)\n"
		"  -e       explain, from the Kconfig tree, why an option did not land\n"
		"  -s DIR   source tree for -e (default: $srctree, else .)\n"
		"exit: 0 all landed, 1 some did not, 2 cannot run\n",
		prog);
}

int main(int argc, char *argv[])
{
	const char *config = getenv("KCONFIG_CONFIG"), *srctree = NULL;
	struct entry **miss;
	size_t nmiss = 0, i;
	unsigned int seq = 0;
	bool do_explain = false;
	int opt;

	while ((opt = getopt(argc, argv, "c:es:h")) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case 'e':
			do_explain = true;
			break;
		case 's':
			srctree = optarg;
			break;
		case 'h':
			help(stdout);
			return EXIT_PASS;
		default:
			help(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		error("no FRAGMENT is given: name at least one");
		help(stderr);
		return EXIT_USAGE;
	}
	if (!config || !*config)
		config = ".config";

	read_entries(config, &conf, &seq);
	for (i = optind; i < (size_t)argc; i++)
		read_entries(argv[i], &frags, &seq);
	if (nerrors)
		return EXIT_CANNOT;

	conf_idx = index_last(&conf, &nconf);
	frag_idx = index_last(&frags, &nfrag_idx);
	miss = xcalloc(frags.n + 1, sizeof(*miss));
	for (i = 0; i < frags.n; i++) {
		struct entry *w = &frags.v[i];
		struct entry *h = lookup(conf_idx, nconf, w->name);

		if (w->dead || same_value(w->val, h ? h->val : "n"))
			continue;
		miss[nmiss++] = w;
	}
	if (!nmiss)
		return EXIT_PASS;

	if (do_explain && kconfig_load(srctree, config))
		return EXIT_CANNOT;
	for (i = 0; i < nmiss; i++) {
		print_miss(miss[i], lookup(conf_idx, nconf, miss[i]->name),
			   config);
		if (do_explain)
			explain(miss[i], config);
	}
	fflush(stdout);
	return ferror(stdout) ? EXIT_CANNOT : EXIT_FAIL;
}
