// SPDX-License-Identifier: GPL-2.0
/*
 * rapido-settings' helpers: errors (all reported, then exit 128) and
 * allocation; lists of names, the "did you mean" of an unknown one; the
 * names of make's command line and kbuild's variables. See
 * rapido-settings.c.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rapido-settings.h"

/*
 * @s (of @len bytes) for a message: at most 40 characters, control
 * characters and other bytes outside printable ASCII as \xNN.
 */
const char *shown(const char *s, size_t len)
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
char *slurp(const char *path, size_t *len)
{
	char *buf;
	int err = read_file(path, 0, &buf, len);

	if (err) {
		errno = -err;
		return NULL;
	}
	return buf;
}

bool is_name(const char *s, size_t len)
{
	if (!len || !isupper((unsigned char)*s))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!isupper((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

/* Edit distance (Levenshtein, case-insensitive) of @a and @b. */
size_t distance(const char *a, const char *b)
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

void suggest_add(struct suggest *s, const char *cand)
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
char *did_you_mean(const struct suggest *s)
{
	if (!s->best)
		return xstrdup("");
	return xasprintf(", did you mean %s?", s->best);
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
void names_push(struct names *ns, const char *s)
{
	ns->v = xrealloc(ns->v, (ns->n + 1) * sizeof(char *));
	ns->v[ns->n++] = xstrdup(s);
}

/* Add the NAME of @len bytes at @s, unless it is there or not a NAME. */
void names_add(struct names *ns, const char *s, size_t len)
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

size_t name_len(const char *s)
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

void kbuild_names(const char *srctree, struct names *ns)
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

bool in_list(char *const *v, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(v[i], name))
			return true;
	return false;
}

/*
 * The names of the variables on make's command line: MAKEFLAGS after
 * " -- ", words split at unescaped blanks ("\ " is a blank in a value).
 */
void make_cmdline_names(struct state *st)
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

