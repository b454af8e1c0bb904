// SPDX-License-Identifier: GPL-2.0
/*
 * rapido-cut-manifest.c - manifest lines: fields split as a shell splits
 * words (quotes, backslashes, ${NAME} from -D), a table of directives,
 * include with loop and depth checks. Each directive adds what it names
 * to the image (with its closure) and records it as a root, as written.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rapido-cut.h"

struct frame {			/* one open manifest (the include stack) */
	struct cut_loc at;
	char *dir;
	dev_t dev;
	ino_t ino;
	struct frame *up;
};

static int parse_mode(const char *what, const char *dest,
		      const char *s, mode_t *mode)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 8);
	if (!*s || *end || errno || v > 07777 || *s == '-' || *s == '+')
		return cut_error("%s '%s': bad mode '%s' (octal, at most 07777)",
				 what, dest, s);
	*mode = v;
	return 0;
}

/* @p relative to the current manifest's directory. */
static char *manifest_path(struct manifests *mf, const char *p)
{
	return path_resolve(mf->cur ? mf->cur->dir : NULL, p);
}

/* A host file named in a manifest, as an absolute path. */
static char *host_path(struct manifests *mf, const char *p)
{
	char *rel = manifest_path(mf, p), *abs;

	if (rel[0] == '/')
		return rel;
	abs = path_resolve(mf->cwd, rel);
	free(rel);
	return abs;
}

const char *const default_path = "/usr/sbin:/usr/bin:/sbin:/bin";

char *find_exec(const char *list, const char *name)
{
	for (const char *s = list; s && *s;) {
		size_t n = strcspn(s, ":");
		struct stat st;
		char *cand;

		cand = xasprintf("%.*s/%s", (int)n, s, name);
		if (s[0] == '/' && !stat(cand, &st) && S_ISREG(st.st_mode) &&
		    !access(cand, X_OK))
			return cand;
		free(cand);
		s += n + (s[n] == ':');
	}
	return NULL;
}

/* Look @name up in $PATH, then the default dirs. */
static char *find_bin(const char *name)
{
	return find_exec(getenv("PATH"), name) ?:
	       find_exec(default_path, name);
}

static int do_bin(struct manifests *mf, char **argv)
{
	int err = 0;

	for (int i = 1; argv[i]; i++) {
		char *p;
		int e;

		if (strchr(argv[i], '/'))
			p = host_path(mf, argv[i]);
		else
			p = find_bin(argv[i]);
		if (!p) {
			err = cut_error("bin '%s': not found in PATH (install it or remove the line)",
					argv[i]);
			continue;
		}
		e = host_add(mf->img, p);
		if (e == -ENOENT)
			e = cut_error_errno(ENOENT, "bin '%s'", p);
		if (!e)
			img_add_root(mf->img, &(struct root){
				.kind = R_BIN, .src = p });
		err = err ?: e;
		free(p);
	}
	return err;
}

static int do_file(struct manifests *mf, char **argv)
{
	char *src = host_path(mf, argv[2]);
	struct entry *e;
	struct stat st;
	mode_t mode;
	int err;

	if (stat(src, &st)) {
		err = cut_error_errno(errno, "file '%s': cannot stat '%s'",
				      argv[1], src);
		goto out;
	}
	mode = st.st_mode & 07777;
	err = argv[3] ? parse_mode("file", argv[1], argv[3], &mode) : 0;
	if (err)
		goto out;
	img_add_root(mf->img, &(struct root){
		.kind = R_FILE, .dest = argv[1], .src = src, .mode = mode,
		.src_mode = st.st_mode & 07777 });
	err = img_add_file(mf->img, argv[1], src, &st, mode, &e);
	if (!err && !e->closed) {
		e->closed = true;
		err = host_deps(mf->img, src, true);
	}
out:
	free(src);
	return err;
}

static int do_dir(struct manifests *mf, char **argv)
{
	mode_t mode = 0755;

	if (argv[2] && parse_mode("dir", argv[1], argv[2], &mode))
		return -ECANCELED;
	img_add_root(mf->img, &(struct root){
		.kind = R_DIR, .dest = argv[1], .mode = mode });
	return img_add_dir(mf->img, argv[1], mode);
}

static int do_slink(struct manifests *mf, char **argv)
{
	img_add_root(mf->img, &(struct root){
		.kind = R_SLINK, .dest = argv[1], .src = argv[2], .mode = 0777 });
	return img_add_slink(mf->img, argv[1], argv[2]);
}

static int parse_num(const char *what, const char *s,
		     unsigned int *v)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (!isdigit((unsigned char)*s) || *end || errno || n > UINT_MAX)
		return cut_error("nod '%s': bad %s '%s'", what, what, s);
	*v = n;
	return 0;
}

static int do_nod(struct manifests *mf, char **argv)
{
	struct entry w = { .kind = K_NOD };

	if (parse_mode("nod", argv[1], argv[2], &w.mode))
		return -ECANCELED;
	if (strcmp(argv[3], "c") && strcmp(argv[3], "b"))
		return cut_error("nod '%s': bad type '%s' (c or b)", argv[1],
				 argv[3]);
	w.nodtype = argv[3][0];
	if (parse_num("major", argv[4], &w.major) ||
	    parse_num("minor", argv[5], &w.minor))
		return -ECANCELED;
	img_add_root(mf->img, &(struct root){
		.kind = R_NOD, .dest = argv[1], .mode = w.mode,
		.nodtype = w.nodtype, .major = w.major, .minor = w.minor });
	return img_add(mf->img, argv[1], &w, NULL);
}

/* Copy host directory @src to image @dest, recursively. */
static int tree_copy(struct image *img, const char *dest, const char *src,
		     const struct stat *st)
{
	struct dirent **names;
	int n, err;

	err = img_add_dir(img, dest, st->st_mode & 07777);
	n = scandir(src, &names, NULL, alphasort);
	if (n < 0)
		return cut_error_errno(errno, "tree: cannot read directory '%s'",
				       src);
	for (int i = 0; i < n; i++) {
		const char *nm = names[i]->d_name;
		char *s, *d, tgt[PATH_MAX];
		struct entry *e;
		struct stat cst;
		ssize_t len;
		int r = 0;

		if (!strcmp(nm, ".") || !strcmp(nm, "..")) {
			free(names[i]);
			continue;
		}
		s = xasprintf("%s/%s", src, nm);
		d = xasprintf("%s/%s", strcmp(dest, "/") ? dest : "", nm);
		if (lstat(s, &cst)) {
			r = cut_error_errno(errno, "tree: cannot stat '%s'", s);
		} else if (S_ISDIR(cst.st_mode)) {
			r = tree_copy(img, d, s, &cst);
		} else if (S_ISLNK(cst.st_mode)) {
			len = readlink(s, tgt, sizeof(tgt) - 1);
			if (len < 0) {
				r = cut_error_errno(errno, "tree: cannot read link '%s'",
						    s);
			} else {
				tgt[len] = '\0';
				r = img_add_slink(img, d, tgt);
			}
		} else if (S_ISREG(cst.st_mode)) {
			r = img_add_file(img, d, s, &cst, cst.st_mode & 07777,
					 &e);
			if (!r && !e->closed) {
				e->closed = true;
				r = host_deps(img, s, false);
			}
		} else {
			r = cut_error("tree '%s': not a file, dir or symlink (use nod)",
				      s);
		}
		err = err ?: r;
		free(s);
		free(d);
		free(names[i]);
	}
	free(names);
	return err;
}

static int do_tree(struct manifests *mf, char **argv)
{
	char *src = host_path(mf, argv[2]);
	struct stat st;
	int err;

	if (stat(src, &st))
		err = cut_error_errno(errno, "tree '%s': cannot stat '%s'",
				      argv[1], src);
	else if (!S_ISDIR(st.st_mode))
		err = cut_error("tree '%s': not a directory", src);
	else
		err = tree_copy(mf->img, argv[1], src, &st);
	if (!err)
		img_add_root(mf->img, &(struct root){
			.kind = R_TREE, .dest = argv[1], .src = src });
	free(src);
	return err;
}

static int do_kmod(struct manifests *mf, char **argv)
{
	int err = 0;

	for (int i = 1; argv[i]; i++) {
		int r = kmod_add(mf->km, mf->img, argv[i]);

		if (mf->km->state < 0)
			return r;	/* no modules here: said once */
		if (!r)
			img_add_root(mf->img, &(struct root){
				.kind = R_KMOD, .src = argv[i] });
		err = err ?: r;
	}
	return err;
}

static int do_include(struct manifests *mf, char **argv)
{
	char *p = manifest_path(mf, argv[1]);
	int err = manifest_parse(mf, p);

	free(p);
	return err;
}

static const struct directive {
	const char *name;
	int min, max;		/* fields after the directive; -1: any */
	const char *usage;
	/* argv: the directive and its fields, NULL-terminated */
	int (*fn)(struct manifests *mf, char **argv);
} directives[] = {
	{ .name = "bin", .min = 1, .max = -1, .usage = "NAME|PATH...",
	  .fn = do_bin },
	{ .name = "file", .min = 2, .max = 3, .usage = "DEST SRC [MODE]",
	  .fn = do_file },
	{ .name = "dir", .min = 1, .max = 2, .usage = "DEST [MODE]",
	  .fn = do_dir },
	{ .name = "slink", .min = 2, .max = 2, .usage = "DEST TARGET",
	  .fn = do_slink },
	{ .name = "nod", .min = 5, .max = 5,
	  .usage = "DEST MODE c|b MAJOR MINOR", .fn = do_nod },
	{ .name = "tree", .min = 2, .max = 2, .usage = "DEST SRC",
	  .fn = do_tree },
	{ .name = "kmod", .min = 1, .max = -1, .usage = "NAME...",
	  .fn = do_kmod },
	{ .name = "include", .min = 1, .max = 1, .usage = "FILE",
	  .fn = do_include },
};

static int unknown_directive(const char *name)
{
	struct sbuf known = { 0 };
	int err;

	for (size_t i = 0; i < ARRAY_SIZE(directives); i++) {
		if (i)
			sbuf_str(&known, ", ");
		sbuf_str(&known, directives[i].name);
	}
	err = cut_error("'%s': unknown directive (%s)", name, known.s);
	free(known.s);
	return err;
}

/* Append the value of ${NAME} (@n bytes at @name); error if undefined. */
static int expand_var(struct manifests *mf, struct sbuf *b, const char *name,
		      size_t n)
{
	for (size_t i = 0; i < mf->ndefs; i++)
		if (strlen(mf->defs[i].name) == n &&
		    !strncmp(mf->defs[i].name, name, n)) {
			sbuf_str(b, mf->defs[i].val);
			return 0;
		}
	return cut_error("'${%.*s}': undefined variable (pass -D %.*s=VALUE)",
			 (int)n, name, (int)n, name);
}

#define MAX_FIELDS	256

/*
 * Split manifest line @s into fields, each NUL-terminated in @b at
 * @off[i], as a shell splits words (Documentation/rapido/index.rst,
 * "Manifests"): blanks separate fields; '...' keeps everything up to the
 * next '; "..." keeps everything but \", \\, \$ (the character escaped)
 * and ${NAME}; elsewhere a backslash keeps the next character. ${NAME}
 * (not in '...') is replaced by its -D value, whose blanks and quotes are
 * not special. A field that is only an empty ${NAME} is none; '' is an
 * empty field. Returns the number of fields, or a reported error.
 */
static int split_fields(struct manifests *mf, const char *s, struct sbuf *b,
			size_t *off)
{
	size_t start = 0, nf = 0;
	bool field = false, keep = false;
	int err = 0;
	char q = 0;

	for (;; s++) {
		if (!q && (!*s || strchr(" \t\r\n", *s))) {
			if (field && (keep || b->len > start)) {
				if (nf == MAX_FIELDS)
					return cut_error("more than %d fields",
							 MAX_FIELDS - 1);
				sbuf_add(b, "", 1);
				off[nf++] = start;
			}
			field = keep = false;
			if (!*s)
				break;
			continue;
		}
		if (!field) {
			field = true;
			start = b->len;
		}
		if (!*s)
			return cut_error("unterminated %c quote (a ' or \" in a name is written \\' or \\\")",
					 q);
		if (q == '\'') {
			if (*s == '\'')
				q = 0;
			else
				sbuf_add(b, s, 1);
		} else if ((*s == '\'' || *s == '"') && !q) {
			q = *s;
			keep = true;
		} else if (*s == '"') {
			q = 0;
		} else if (*s == '\\' && s[1] &&
			   (!q || strchr("\"\\$", s[1]))) {
			sbuf_add(b, ++s, 1);
		} else if (*s == '$' && s[1] == '{' && strchr(s, '}')) {
			const char *end = strchr(s, '}');

			err = expand_var(mf, b, s + 2, end - s - 2) ?: err;
			s = end;
		} else {
			sbuf_add(b, s, 1);
		}
	}
	return err ?: (int)nf;
}

static int parse_line(struct manifests *mf, char *raw)
{
	const struct directive *d = NULL;
	char *line, *argv[MAX_FIELDS + 1];
	size_t off[MAX_FIELDS];
	struct sbuf b = { 0 };
	int argc, nargs, err;

	line = raw + strspn(raw, " \t\r\n");
	if (!*line || *line == '#')
		return 0;
	argc = split_fields(mf, line, &b, off);
	if (argc <= 0) {	/* an error, or only empty ${VARS} */
		free(b.s);
		return argc;
	}
	for (int i = 0; i < argc; i++)
		argv[i] = b.s + off[i];
	argv[argc] = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(directives); i++)
		if (!strcmp(directives[i].name, argv[0]))
			d = &directives[i];
	nargs = argc - 1;
	if (!d)
		err = unknown_directive(argv[0]);
	else if (nargs < d->min || (d->max >= 0 && nargs > d->max))
		err = cut_error("'%s': wrong number of fields (%d; usage: %s %s)",
				d->name, nargs, d->name, d->usage);
	else
		err = d->fn(mf, argv);
	free(b.s);
	return err;
}

/* @path, kept for the rest of the run: messages and roots name it */
static const char *keep_file(struct manifests *mf, const char *path)
{
	mf->files = xgrow(mf->files, &mf->files_cap, mf->nfiles,
			  sizeof(*mf->files));
	mf->files[mf->nfiles] = xstrdup(path);
	return mf->files[mf->nfiles++];
}

int manifest_parse(struct manifests *mf, const char *path)
{
	struct frame m = { .up = mf->cur };
	struct cut_loc outer = cut_where();
	char *line = NULL;
	size_t cap = 0;
	struct stat st;
	int depth = 0, err = 0;
	FILE *f;

	f = fopen(path, "re");
	if (!f || fstat(fileno(f), &st)) {
		err = cut_error_errno(errno, "cannot open '%s'", path);
		if (f)
			fclose(f);
		return err;
	}
	for (struct frame *u = mf->cur; u; u = u->up, depth++) {
		struct sbuf chain = { 0 };

		if (u->dev != st.st_dev || u->ino != st.st_ino)
			continue;
		for (struct frame *w = mf->cur; w != u->up; w = w->up) {
			struct sbuf t = { 0 };

			sbuf_str(&t, w->at.file);
			sbuf_str(&t, " -> ");
			sbuf_str(&t, chain.s ?: "");
			free(chain.s);
			chain = t;
		}
		err = cut_error("include '%s': include loop (%s%s)", path,
				chain.s, path);
		free(chain.s);
		fclose(f);
		return err;
	}
	if (depth >= MAX_INCLUDE) {
		fclose(f);
		return cut_error("include '%s': nested more than %d deep", path,
				 MAX_INCLUDE);
	}
	m.at.file = keep_file(mf, path);
	m.dev = st.st_dev;
	m.ino = st.st_ino;
	m.dir = dir_of(path);
	mf->cur = &m;
	while (getline(&line, &cap, f) > 0) {
		m.at.line++;
		cut_at(&m.at);
		err = parse_line(mf, line) ?: err;
	}
	if (ferror(f))
		err = cut_error_errno(errno, "cannot read '%s'", path);
	mf->cur = m.up;
	cut_at(outer.file ? &outer : NULL);
	free(line);
	free(m.dir);
	fclose(f);
	return err;
}

void manifests_free(struct manifests *mf)
{
	for (size_t i = 0; i < mf->nfiles; i++)
		free(mf->files[i]);
	free(mf->files);
	mf->files = NULL;
	mf->nfiles = mf->files_cap = 0;
}
