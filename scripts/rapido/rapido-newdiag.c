// SPDX-License-Identifier: GPL-2.0
/*
 * rapido-newdiag - what a commit adds: the diagnostics of AFTER that
 * BEFORE does not have (rapido-check's judge).
 *
 *   rapido-newdiag [-k cc|checkpatch] [-s PREFIX]... BEFORE AFTER
 *
 * cc: the compiler's and sparse's "file:line[:col]: warning|error: text"
 *     lines. A diagnostic is the same one when its file and text are: the
 *     line and column numbers do not count (a commit moves the code below
 *     what it changes), the PREFIXes (-s, e.g. a worktree's path) are
 *     removed first. Counted as a multiset: a second copy of an old
 *     warning is a new one.
 * checkpatch: checkpatch.pl's "ERROR:", "WARNING:" and "CHECK:" lines,
 *     each shown with the "#N: FILE: path:line:" line that follows it.
 *
 * Prints each diagnostic of AFTER beyond BEFORE's, one a line, then
 * exits 0 if there is none, 1 if there is any, 128 if a file cannot be
 * read.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

const char *const prog = "rapido-newdiag";

enum kind { K_CC, K_CHECKPATCH };

struct diag {
	char *key;	/* what makes two diagnostics the same one */
	char *text;	/* what is shown */
	bool used;	/* matched by one of BEFORE's */
};

struct diags {
	struct diag *v;
	size_t n, cap;
};

static const char **prefixes;
static size_t nprefixes;

/* @line without any -s PREFIX, wherever it occurs, into a new string. */
static char *strip_prefixes(const char *line)
{
	char *s = xstrdup(line);

	for (size_t i = 0; i < nprefixes; i++) {
		size_t plen = strlen(prefixes[i]);
		char *p;

		if (!plen)
			continue;
		while ((p = strstr(s, prefixes[i])))
			memmove(p, p + plen, strlen(p + plen) + 1);
	}
	return s;
}

static bool is_digits(const char *p, const char *end)
{
	if (p == end)
		return false;
	for (; p < end; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

/*
 * "file:line[:col]: (warning|error|fatal error): text" -> "file: text
 * kind", or NULL when @line is not a diagnostic.
 */
static char *cc_key(const char *line)
{
	static const char *const kinds[] = {
		" warning: ", " error: ", " fatal error: ",
	};
	const char *c1 = strchr(line, ':'), *c2, *c3, *rest;

	if (!c1 || c1 == line)
		return NULL;
	c2 = strchr(c1 + 1, ':');
	if (!c2 || !is_digits(c1 + 1, c2))
		return NULL;
	rest = c2 + 1;
	c3 = strchr(rest, ':');
	if (c3 && is_digits(rest, c3))
		rest = c3 + 1;
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (!strncmp(rest, kinds[i], strlen(kinds[i])))
			return xasprintf("%.*s:%s", (int)(c1 - line), line,
					 rest);
	return NULL;
}

static bool checkpatch_line(const char *line)
{
	return !strncmp(line, "ERROR: ", 7) || !strncmp(line, "WARNING: ", 9) ||
	       !strncmp(line, "CHECK: ", 7);
}

static void add(struct diags *d, char *key, char *text)
{
	d->v = xgrow(d->v, &d->cap, d->n, sizeof(*d->v));
	d->v[d->n++] = (struct diag){ .key = key, .text = text };
}

/* The diagnostics of @path, in order; 0 or -errno. */
static int load(const char *path, enum kind kind, struct diags *d)
{
	char *buf, *line, *next, *pending = NULL;
	int ret = read_file(path, 0, &buf, NULL);

	if (ret)
		return ret;
	for (line = buf; line && *line; line = next) {
		char *s, *key;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		s = strip_prefixes(line);
		if (kind == K_CC) {
			key = cc_key(s);
			if (key)
				add(d, key, s);
			else
				free(s);
			continue;
		}
		/* checkpatch: the message, then where ("#12: FILE: ...") */
		if (pending && s[0] == '#' && strstr(s, ": FILE: ")) {
			char *text = xasprintf("%s (%s)", pending,
					       strstr(s, "FILE: ") + 6);

			add(d, xstrdup(pending), text);
			free(pending);
			free(s);
			pending = NULL;
			continue;
		}
		if (pending) {
			add(d, xstrdup(pending), pending);
			pending = NULL;
		}
		if (checkpatch_line(s))
			pending = s;
		else
			free(s);
	}
	if (pending)
		add(d, xstrdup(pending), pending);
	free(buf);
	return 0;
}

static void usage(int code)
{
	fprintf(code ? stderr : stdout,
		"Usage: %s [-k cc|checkpatch] [-s PREFIX]... BEFORE AFTER\n"
		"  prints the diagnostics of AFTER that BEFORE does not have;\n"
		"  exit 0 none, 1 some, 128 a file cannot be read\n", prog);
	exit(code);
}

int main(int argc, char **argv)
{
	struct diags before = { 0 }, after = { 0 };
	enum kind kind = K_CC;
	size_t added = 0;
	int c, ret;

	while ((c = getopt(argc, argv, "hk:s:")) != -1) {
		switch (c) {
		case 'k':
			if (!strcmp(optarg, "cc"))
				kind = K_CC;
			else if (!strcmp(optarg, "checkpatch"))
				kind = K_CHECKPATCH;
			else
				fatal(EXIT_USAGE, "unknown kind '%s' (known: cc, checkpatch)",
				      optarg);
			break;
		case 's':
			prefixes = xrealloc(prefixes, (nprefixes + 1) *
					    sizeof(*prefixes));
			prefixes[nprefixes++] = optarg;
			break;
		case 'h':
			usage(EXIT_PASS);
			break;
		default:
			usage(EXIT_USAGE);
		}
	}
	if (argc - optind != 2)
		usage(EXIT_USAGE);
	ret = load(argv[optind], kind, &before);
	if (ret)
		fatal_errno(EXIT_RAPIDO, ret, "cannot read '%s'", argv[optind]);
	ret = load(argv[optind + 1], kind, &after);
	if (ret)
		fatal_errno(EXIT_RAPIDO, ret, "cannot read '%s'",
			    argv[optind + 1]);
	for (size_t i = 0; i < after.n; i++) {
		bool old = false;

		for (size_t j = 0; j < before.n && !old; j++) {
			if (before.v[j].used ||
			    strcmp(before.v[j].key, after.v[i].key))
				continue;
			before.v[j].used = true;
			old = true;
		}
		if (old)
			continue;
		printf("%s\n", after.v[i].text);
		added++;
	}
	if (fflush(stdout) || ferror(stdout))
		fatal_errno(EXIT_RAPIDO, errno, "cannot write the output");
	return added ? EXIT_FAIL : EXIT_PASS;
}
