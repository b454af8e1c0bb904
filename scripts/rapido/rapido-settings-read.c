// SPDX-License-Identifier: GPL-2.0
/*
 * rapido-settings: values checked against the table (types, ranges,
 * choices; each problem reported as FILE:LINE: KEY: what is wrong, what is
 * allowed), .rapido.config as kconfig writes it and profiles' settings
 * files (KEY=value lines, no shell). See rapido-settings.c.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rapido-settings.h"

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
char *allowed(const struct key *k)
{
	switch (k->type) {
	case T_INT:
		return xasprintf("a whole number in %ld..%ld", k->min, k->max);
	case T_SIZE:
		return xasprintf("a size in MiB, %ld..%ld (or with M or G)",
				 k->min, k->max);
	case T_BOOL:
		return xstrdup("y or n");
	case T_ENUM:
	case T_WORDS: {
		char *c = choices_of(k);
		char *r = xasprintf("%s: %s", k->type == T_ENUM ? "one of" :
				    "known words", c);

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

/* Is the word @w (@len bytes) allowed in a value of @k? */
static bool word_ok(const struct key *k, const char *w, size_t len)
{
	const char *const *c;

	switch (k->type) {
	case T_VARS:
		return is_name(w, strcspn(w, " \t="));
	case T_FILES:
		return valid_file_word(w, len);
	default:	/* T_WORDS */
		for (c = k->choices; *c; c++)
			if (strlen(*c) == len && !strncmp(w, *c, len))
				return true;
		return false;
	}
}

/* The first word of the list @s that @k does not allow (*@len its length). */
static const char *bad_word(const struct key *k, const char *s, size_t *len)
{
	for (const char *w = s; *w; w += *len) {
		*len = strcspn(w, " \t");
		if (!*len) {
			*len = 1;
			continue;
		}
		if (!word_ok(k, w, *len))
			return w;
	}
	return NULL;
}

/*
 * Check @v against @k; report "where: KEY: ..." on failure. A T_SIZE
 * value is rewritten to plain MiB.
 */
bool check_value(const struct key *k, struct val *v)
{
	const char *s = v->text, *what = NULL, *bad;
	char *where, *ok;
	size_t len;
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
	case T_WORDS:
		bad = bad_word(k, s, &len);
		if (!bad)
			return true;
		s = xstrndup(bad, len);
		what = k->type == T_WORDS ? "is not one of the" : "is not";
		break;
	case T_STRING:
		return true;
	}
	where = v->line ? xasprintf("%s:%d", v->file, v->line) :
			  xstrdup(v->file);
	ok = allowed(k);
	error("%s: %s: '%s' %s %s%s%s", where, k->name, shown(s, strlen(s)),
	      what, ok, k->limit ? ": " : "", k->limit ? k->limit : "");
	if (s != v->text)
		free((char *)s);
	free(where);
	free(ok);
	return false;
}

/*
 * The line at @line (up to @end): its length without the '\n'; *@next is
 * where the next one starts.
 */
static size_t cut_line(char *line, char *end, char **next)
{
	char *eol = memchr(line, '\n', end - line);

	*next = eol ? eol + 1 : end;
	return (eol ? eol : end) - line;
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

/* @k's value @text, from @file:@line, into @slot; a bad one is reported */
static void set_value(const struct key *k, struct val *slot, const char *text,
		      const char *file, int line)
{
	slot->text = xstrdup(text);
	slot->file = file;
	slot->line = line;
	if (!check_value(k, slot)) {
		free(slot->text);
		slot->text = NULL;
		slot->bad = true;
	}
}

/*
 * .rapido.config, as kconfig writes it: comments, blank lines,
 * CONFIG_RAPIDO_X=value and "# CONFIG_RAPIDO_X is not set".
 */
/*
 * With @partial (services/lib.sh's --lab), a key missing from the file is
 * not an error: the caller has Kconfig.rapido's default for it.
 */
void read_kconfig(struct state *st, bool partial)
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
		char *eq, *v;
		const struct key *k;
		size_t ll = cut_line(line, buf + len, &next);
		struct val *slot;

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
		set_value(k, slot, v, st->config, lineno);
	}
	if (bad >= 3)
		error("%s: does not look like a .rapido.config (make rapido-menuconfig writes one; or remove it to get Kconfig.rapido's defaults)",
		      st->config);
	for (i = 0; i < NKEYS && !bad && !partial; i++)
		if (keys[i].name && (keys[i].where & IN_KCONFIG) &&
		    !st->kconfig[i].text && !st->kconfig[i].bad)
			error("%s: CONFIG_%s is missing (remove the file to get Kconfig.rapido's defaults, or make rapido-menuconfig)",
			      st->config, keys[i].kconfig);
	free(buf);
}

/* A profile's settings: KEY=value lines, # comments; no shell. */
int read_settings(const char *path, struct val *vals, bool quiet_missing)
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
		char *eq;
		const struct key *k;
		size_t ll = cut_line(line, buf + len, &next);
		struct val *slot;

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
		set_value(k, slot, eq + 1, path, lineno);
	}
	if (bad >= 3)
		error("%s: does not look like a profile's settings file (KEY=value lines); the rest is not read",
		      path);
	free(buf);
	return 0;
}

