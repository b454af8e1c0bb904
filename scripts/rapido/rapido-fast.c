// SPDX-License-Identifier: GPL-2.0
/*
 * rapido-fast - the driver's fast path: does the last full run's decision
 * still hold, so that the image can be cut without the settings, the
 * stamps and the module checks?
 *
 *   rapido-fast print|exec|exec-say FD RDIR OBJTREE FILE [VAR=value]...
 *
 * FILE (RDIR/stamps/fast-PROFILE) is what the last full run that cut the
 * profile's image recorded (scripts/rapido/rapido, fast_write): NUL-ended
 * records, the last "END=":
 *   FAST_KEY=text	the VAR=value arguments and the environment it ran with
 *   FAST_NAMES=words	the variables that key holds (with any KBUILD_* and
 *			KCONFIG_* of the environment)
 *   FAST_RC=text	.rapido.config, byte for byte
 *   FAST_KREL=release	include/config/kernel.release's line
 *   FAST_NEWER=path	must not be newer (mtime) than FILE
 *   FAST_EXIST=path	must exist
 *   FAST_CUT=arg	rapido-cut's arguments, one record per word
 *   KEY=value		rapido-settings' answer (the rest, END= last)
 *
 * It all holds when: none of RDIR and its bin, stamps, images, mods, tmp
 * and results is a symlink or missing; the tree lock, the caller's open
 * file FD (a number), is taken with flock(2) without waiting (it stays with FD:
 * the caller's run holds it); the key computed now is the recorded one
 * (VAR=value arguments but X=, F= and V=, in order, as "arg VAR=value";
 * then each FAST_NAMES name and each KBUILD_* and KCONFIG_* of the
 * environment, each prefix's names in byte order, as "NAME=value" or
 * "NAME unset"); no FAST_NEWER is newer and every FAST_EXIST exists;
 * RDIR/stamps/kbuild.pending is empty or missing; .rapido.config and
 * kernel.release are as recorded; and the tree's rapido-watch answers
 * that nothing changed since the last kbuild.
 *
 * print: the FAST_CUT and the settings records, on stdout, NUL-ended, as
 * recorded. exec: it becomes RDIR/bin/rapido-cut with the recorded arguments
 * (execv, the lock still held by FD).
 *
 * Exit: 0 (print) or rapido-cut's; 3 a check does not hold (nothing
 * done or printed: take the full path); 2 a usage or system error; 128
 * out of memory.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "rapido-watch.h"

const char *const prog = "rapido-fast";

enum { EXIT_SLOW = 3 };

#define SYNOPSIS \
	"usage: rapido-fast print|exec|exec-say FD RDIR OBJTREE FILE " \
	"[VAR=value]..."

struct fast {
	int lock_fd;
	const char *dir, *objtree, *record;
	bool print, exec, say;
	char **args;		/* the VAR=value arguments */
	int nargs;
	/* from the record */
	const char *key, *names, *rc, *krel, *profile;
	const char **cut, **out;	/* rapido-cut's argv; records to print */
	char *cutter;		/* RDIR/bin/rapido-cut */
	size_t ncut, nout, cut_cap, out_cap;
	struct timespec since;	/* the record's mtime */
};

static _Noreturn void usage_error(const char *subject, const char *what)
{
	fatal(EXIT_USAGE, "'%s': %s; %s", subject, what, SYNOPSIS);
}

static bool newer_than(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

/* RDIR and its directories: real directories, no symlink (lstat) */
static bool dirs_ok(const char *dir)
{
	static const char *const sub[] = {
		"", "/bin", "/stamps", "/images", "/mods", "/tmp", "/results",
	};
	struct stat st;

	for (size_t i = 0; i < ARRAY_SIZE(sub); i++) {
		char *p = xasprintf("%s%s", dir, sub[i]);
		int r = lstat(p, &st);

		free(p);
		if (r || !S_ISDIR(st.st_mode))
			return false;
	}
	return true;
}

static const char **push(const char **v, size_t *n, size_t *cap,
			 const char *s)
{
	v = xgrow(v, cap, *n, sizeof(*v));
	v[(*n)++] = s;
	return v;
}

/* One record; false: a check that fails on the record alone. */
static bool take(struct fast *f, char *rec)
{
	char *val = strchr(rec, '=');
	struct stat st;

	if (!val)
		return false;
	*val++ = '\0';
	if (!strcmp(rec, "FAST_KEY")) {
		f->key = val;
	} else if (!strcmp(rec, "FAST_NAMES")) {
		f->names = val;
	} else if (!strcmp(rec, "FAST_RC")) {
		f->rc = val;
	} else if (!strcmp(rec, "FAST_KREL")) {
		f->krel = val;
	} else if (!strcmp(rec, "FAST_NEWER")) {
		if (!stat(val, &st) && newer_than(&st.st_mtim, &f->since))
			return false;
	} else if (!strcmp(rec, "FAST_EXIST")) {
		if (stat(val, &st))
			return false;
	} else if (!strcmp(rec, "FAST_CUT")) {
		if (!f->ncut)
			f->cut = push(f->cut, &f->ncut, &f->cut_cap, f->cutter);
		f->cut = push(f->cut, &f->ncut, &f->cut_cap, val);
	} else {
		if (!strcmp(rec, "PROFILE"))
			f->profile = val;
		val[-1] = '=';
		f->out = push(f->out, &f->nout, &f->out_cap, rec);
	}
	return true;
}

/* Read and check the record; false: take the full path. */
static bool read_record(struct fast *f, char **text)
{
	struct stat st;
	size_t len;
	char *p, *next, *end;

	if (stat(f->record, &st) || read_file(f->record, 0, text, &len))
		return false;
	f->since = st.st_mtim;
	/* the last record is END= */
	if (len < 5 || (*text)[len - 1] || strcmp(*text + len - 5, "END=") ||
	    (len > 5 && (*text)[len - 6]))
		return false;
	for (p = *text, end = *text + len; p < end; p = next) {
		next = p + strlen(p) + 1;	/* before take() splits it */
		if (!take(f, p))
			return false;
	}
	if (!f->key || !f->names || !f->rc || !f->krel || f->ncut < 2)
		return false;
	f->cut = push(f->cut, &f->ncut, &f->cut_cap, NULL);
	f->ncut--;
	return true;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* a shell variable's name (bash imports no other from the environment) */
static bool is_name(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!(isalpha((unsigned char)s[i]) || s[i] == '_' ||
		      (i && isdigit((unsigned char)s[i]))))
			return false;
	return len > 0;
}

/* the environment's names that start with @prefix, in byte order */
static char **env_names(const char *prefix, size_t *n)
{
	size_t cap = 0, plen = strlen(prefix);
	char **v = NULL;

	*n = 0;
	for (char **e = environ; *e; e++) {
		size_t len = strcspn(*e, "=");

		if ((*e)[len] != '=' || strncmp(*e, prefix, plen) ||
		    !is_name(*e, len))
			continue;
		v = xgrow(v, &cap, *n, sizeof(*v));
		v[(*n)++] = xstrndup(*e, len);
	}
	if (*n)
		qsort(v, *n, sizeof(*v), cmp_str);
	return v;
}

struct text {
	char *s;
	size_t len, cap;
};

static void add(struct text *t, const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);

	t->s = xgrow(t->s, &t->cap, t->len + la + lb + lc + 1, 1);
	memcpy(t->s + t->len, a, la);
	memcpy(t->s + t->len + la, b, lb);
	memcpy(t->s + t->len + la + lb, c, lc);
	t->len += la + lb + lc;
	t->s[t->len] = '\0';
}

static void add_name(struct text *t, const char *name)
{
	const char *v = getenv(name);

	if (v) {
		add(t, name, "=", v);
		add(t, "\n", "", "");
	} else {
		add(t, name, " unset\n", "");
	}
}

/* the key, as the driver's fast_key writes it */
static bool key_holds(const struct fast *f)
{
	static const char *const prefixes[] = { "KBUILD_", "KCONFIG_" };
	struct text t = { NULL, 0, 0 };
	char *names = xstrdup(f->names), *save, *n;
	bool ok;

	add(&t, "", "", "");
	for (int i = 0; i < f->nargs; i++) {
		const char *a = f->args[i];

		if (!strncmp(a, "X=", 2) || !strncmp(a, "F=", 2) ||
		    !strncmp(a, "V=", 2))
			continue;
		add(&t, "arg ", a, "\n");
	}
	for (n = strtok_r(names, " \t\n", &save); n;
	     n = strtok_r(NULL, " \t\n", &save))
		add_name(&t, n);
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++) {
		size_t nn;
		char **v = env_names(prefixes[i], &nn);

		for (size_t j = 0; j < nn; j++) {
			add_name(&t, v[j]);
			free(v[j]);
		}
		free(v);
	}
	ok = !strcmp(t.s, f->key);
	free(t.s);
	free(names);
	return ok;
}

/* @path's bytes are @want's (@line: up to its first newline, which must be) */
static bool file_is(const char *path, const char *want, bool line)
{
	struct stat st;
	char *buf;
	size_t len;
	bool ok;

	if (stat(path, &st) || !S_ISREG(st.st_mode) ||
	    read_file(path, 0, &buf, &len))
		return false;
	if (line) {
		char *nl = memchr(buf, '\n', len);

		ok = nl && (size_t)(nl - buf) == strlen(want) &&
		     !memcmp(buf, want, nl - buf);
	} else {
		ok = len == strlen(want) && !memcmp(buf, want, len);
	}
	free(buf);
	return ok;
}

static bool tree_holds(const struct fast *f)
{
	char *p = path_join(f->dir, "stamps/kbuild.pending");
	char *rc = path_join(f->objtree, ".rapido.config");
	char *rel = path_join(f->objtree, "include/config/kernel.release");
	char changed[PATH_MAX + 1];
	struct stat st;
	bool ok;

	ok = (stat(p, &st) || !st.st_size) &&
	     file_is(rc, f->rc, false) && file_is(rel, f->krel, true) &&
	     !access(f->cut[0], X_OK) &&
	     watch_query(f->dir, changed, sizeof(changed)) == EXIT_CLEAN;
	free(p);
	free(rc);
	free(rel);
	return ok;
}

static int run(struct fast *f)
{
	char *text = NULL;

	if (!dirs_ok(f->dir))
		return EXIT_SLOW;
	if (flock(f->lock_fd, LOCK_EX | LOCK_NB)) {
		if (errno == EWOULDBLOCK)
			return EXIT_SLOW;
		fatal_errno(EXIT_USAGE, errno, "cannot lock fd %d", f->lock_fd);
	}
	if (!read_record(f, &text) || !key_holds(f) || !tree_holds(f))
		return EXIT_SLOW;
	if (f->print) {
		for (size_t i = 1; i < f->ncut; i++)
			printf("FAST_CUT=%s%c", f->cut[i], '\0');
		for (size_t i = 0; i < f->nout; i++)
			printf("%s%c", f->out[i], '\0');
		if (fflush(stdout) || ferror(stdout))
			fatal_errno(EXIT_USAGE, errno, "cannot write stdout");
		return EXIT_PASS;
	}
	if (f->say)
		printf("  %-7s %s\n", "CUT", f->profile ? f->profile : "");
	if (fflush(stdout))
		fatal_errno(EXIT_USAGE, errno, "cannot write stdout");
	execv(f->cut[0], (char *const *)f->cut);
	fatal_errno(EXIT_RAPIDO, errno, "cannot execute '%s'", f->cut[0]);
}

int main(int argc, char **argv)
{
	struct fast f = { .lock_fd = -1 };
	char *end;
	long fd;

	if (argc < 6)
		usage_error(argc > 1 ? argv[1] : prog, "too few arguments");
	if (!strcmp(argv[1], "print"))
		f.print = true;
	else if (!strcmp(argv[1], "exec-say"))
		f.exec = f.say = true;
	else if (!strcmp(argv[1], "exec"))
		f.exec = true;
	else
		usage_error(argv[1], "not a mode (print, exec, exec-say)");
	errno = 0;
	fd = strtol(argv[2], &end, 10);
	if (errno || end == argv[2] || *end || fd < 0 || fd > INT_MAX ||
	    fcntl(fd, F_GETFD) < 0)
		usage_error(argv[2], "FD is not the number of an open fd");
	f.lock_fd = fd;
	f.dir = argv[3];
	f.objtree = argv[4];
	f.record = argv[5];
	for (int i = 6; i < argc; i++)
		if (!strchr(argv[i], '='))
			usage_error(argv[i], "not a VAR=value argument");
	f.cutter = path_join(f.dir, "bin/rapido-cut");
	f.args = argv + 6;
	f.nargs = argc - 6;
	return run(&f);
}
