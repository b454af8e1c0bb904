// SPDX-License-Identifier: GPL-2.0
/*
 * rapido-cut - cut a newc (cpio) initramfs from rapido manifests
 *
 * Reads one or more manifests (bin, file, dir, slink, nod, tree, kmod,
 * include lines), builds an in-memory image (path -> entry), closes the
 * dependencies of what it adds (ELF DT_NEEDED/PT_INTERP and #! interpreters
 * read from the program headers as ld.so reads them, kernel modules
 * through libkmod) and writes a newc archive:
 * sorted, reproducible with SOURCE_DATE_EPOCH, hardlinks stored once, data
 * of large files 4096-aligned so copy_file_range(2) can share extents where
 * the filesystem reflinks (elsewhere data goes through a 256 KiB buffer).
 *
 * Image paths are resolved as they are added: a prefix that is a symlink
 * on the host becomes the same symlink in the image, so a usr-merged host
 * gives a usr-merged image.
 *
 * Errors are collected (each names the manifest and line) and reported
 * before exiting 1; with any error no output is written. An output that
 * already holds the same bytes is found by comparing while generating
 * and is left alone (mtime too), so make stays quiet.
 *
 * With --dracut the manifests are parsed and checked just the same, but
 * the system's dracut writes the archive: bin -> --install, file and tree
 * -> --include, kmod -> --add-drivers (with --kmoddir), dir, slink and
 * /rapido/modules through a staging tree that is --include'd at /. What
 * dracut cannot express (a file mode other than its source's, a nod line
 * other than the nodes dracut makes itself) is an error.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <dlfcn.h>
#include <ftw.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include <elf.h>
#include <libkmod.h>

#define PROG		"rapido-cut"
#define MAX_HOPS	40	/* symlinks followed in one walk, as ELOOP */
#define MAX_INCLUDE	32	/* include nesting */
#define ALIGN_MIN	16384	/* files this big get 4096-aligned data */
#define BLOCK		4096
#define HDR_LEN		110	/* newc header */
#define NAME_MAX_LEN	PATH_MAX /* the kernel's limit on namesize */
#define MAX_SIZE	(1LL << 30) /* default --max-size */

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

/* ---- small helpers ---------------------------------------------------- */

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fprintf(stderr, PROG ": out of memory\n");
		exit(1);
	}
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fprintf(stderr, PROG ": out of memory\n");
		exit(1);
	}
	return p;
}

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);

	if (!p) {
		fprintf(stderr, PROG ": out of memory\n");
		exit(1);
	}
	return p;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xmalloc(n), s, n);
}

static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		fprintf(stderr, PROG ": out of memory\n");
		exit(1);
	}
	return s;
}

/* Join @dir and @name unless @name is absolute or @dir is ".". */
static char *path_join(const char *dir, const char *name)
{
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	if (name[0] == '/' || !dir || !*dir || !strcmp(dir, "."))
		return xstrdup(name);
	return xasprintf("%s/%s", dir, name);
}

static char *dir_of(const char *path)
{
	const char *s = strrchr(path, '/');

	if (!s)
		return xstrdup(".");
	if (s == path)
		return xstrdup("/");
	return strndup(path, s - path) ?: xstrdup(".");
}

/* Growable byte buffer. */
struct sbuf {
	char *s;
	size_t len, cap;
};

static void sbuf_add(struct sbuf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void sbuf_str(struct sbuf *b, const char *s)
{
	sbuf_add(b, s, strlen(s));
}

/* ---- hash table of string keys (chained, intrusive) --------------------- */

struct hnode {
	struct hnode *next;
	const char *key;
	uint32_t hash;
};

struct htab {
	struct hnode **b;
	size_t nb, n;
};

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static struct hnode *htab_get(const struct htab *t, const char *key)
{
	uint32_t h = hash_str(key);
	struct hnode *n;

	if (!t->nb)
		return NULL;
	for (n = t->b[h & (t->nb - 1)]; n; n = n->next)
		if (n->hash == h && !strcmp(n->key, key))
			return n;
	return NULL;
}

/* Insert @n (its key must stay valid); the key must not be present yet. */
static void htab_put(struct htab *t, struct hnode *n, const char *key)
{
	n->key = key;
	n->hash = hash_str(key);
	if (t->n + 1 > t->nb * 3 / 4) {
		size_t nb = t->nb ? t->nb * 2 : 256;
		struct hnode **b = xcalloc(nb, sizeof(*b));

		for (size_t i = 0; i < t->nb; i++) {
			struct hnode *m = t->b[i], *next;

			for (; m; m = next) {
				next = m->next;
				m->next = b[m->hash & (nb - 1)];
				b[m->hash & (nb - 1)] = m;
			}
		}
		free(t->b);
		t->b = b;
		t->nb = nb;
	}
	n->next = t->b[n->hash & (t->nb - 1)];
	t->b[n->hash & (t->nb - 1)] = n;
	t->n++;
}

static void htab_free(struct htab *t, void (*fn)(struct hnode *))
{
	for (size_t i = 0; i < t->nb; i++) {
		struct hnode *n = t->b[i], *next;

		for (; n; n = next) {
			next = n->next;
			fn(n);
		}
	}
	free(t->b);
	memset(t, 0, sizeof(*t));
}

/* ---- the image --------------------------------------------------------- */

enum kind { K_DIR, K_FILE, K_SLINK, K_NOD, K_DATA, NR_KINDS };

struct entry {
	struct hnode node;
	char *path;		/* absolute image path, no trailing '/' */
	enum kind kind;
	mode_t mode;		/* permission bits */
	bool implicit;		/* dir made as a parent: mode not chosen */
	bool closed;		/* deps of the host file were added */
	char *src;		/* K_FILE: host file */
	dev_t dev;		/* K_FILE: host identity, for hardlinks */
	ino_t ino;
	off_t size;
	off_t alloc;		/* K_FILE: bytes allocated (st_blocks) */
	time_t mtime;
	char *target;		/* K_SLINK */
	char *data;		/* K_DATA */
	size_t len;
	char nodtype;		/* K_NOD: 'c' or 'b' */
	unsigned int major, minor;
	/* set when the archive is laid out */
	unsigned int cino, nlink;
	bool carrier;		/* K_FILE: this link holds the data */
};

struct define {
	char *name, *val;
};

struct manifest {		/* one open manifest (include stack) */
	const char *path;
	char *dir;
	dev_t dev;
	ino_t ino;
	unsigned int line;
	struct manifest *up;
};

struct hobj {			/* memoised ELF identity of a host path */
	struct hnode node;
	char *path;
	int err;		/* 0, or -errno, or -ENOEXEC: not ELF */
	unsigned char cls, data;
	uint16_t mach;
};

struct seen {			/* a name in a set */
	struct hnode node;
	char *name;
};

/* --dracut: what the directives ask of dracut */
enum dr_kind { DR_DIR, DR_SLINK, DR_DATA };

struct dr_stage {		/* made in the staging tree */
	enum dr_kind kind;
	char *dest;
	mode_t mode;
	char *data;		/* DR_SLINK: target; DR_DATA: contents */
	size_t len;
};

struct dracut {
	struct sbuf install;	/* --install: host paths */
	struct sbuf drivers;	/* --add-drivers: module names */
	char **inc;		/* --include: SRC DEST pairs */
	size_t ninc;
	struct dr_stage *stage;
	size_t nstage;
};

struct cut {
	struct htab img;
	struct htab hobjs;
	struct htab mods;
	struct htab hosts;	/* host paths add_host() has closed */
	struct define *defs;
	size_t ndefs;
	char **ldpath;		/* ld.so.conf dirs, then the defaults */
	size_t nldpath;
	bool ldpath_done;
	const char *moddir, *kver;
	char *kdir;		/* <moddir>/lib/modules/<kver> */
	struct kmod_ctx *kctx;
	int kmod_state;		/* 0: not set up, 1: ready, -1: failed */
	bool kmod_used;
	struct sbuf modlist;	/* /rapido/modules */
	struct manifest *cur;	/* for error locations */
	char *cwd;
	bool verbose;
	bool have_epoch;
	time_t epoch;
	unsigned int errors;
	bool cfr_broken;	/* copy_file_range unsupported here */
	struct dracut *dr;	/* --dracut, else NULL */
	const char *tmpdir;	/* --tmpdir: dracut's scratch space */
	off_t max_size;		/* --max-size: of the image's data; 0: none */
};

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

static void put_cut(const char *s)
{
	while (*s) {
		size_t n = strcspn(s, "'\n");

		if (n > MSG_NAME_MAX) {
			size_t head = utf8_start(s, MSG_KEEP);
			size_t tail = utf8_start(s, n - MSG_KEEP);

			fprintf(stderr, "%.*s[...%zu bytes...]%.*s", (int)head,
				s, tail - head, (int)(n - tail), s + tail);
		} else {
			fwrite(s, 1, n, stderr);
		}
		s += n;
		if (*s)
			fputc(*s++, stderr);
	}
}

static void vmessage(struct cut *c, const char *what, bool where,
		     const char *fmt, va_list ap)
{
	char *msg;

	fputs(PROG ": ", stderr);
	if (where && c->cur) {
		put_cut(c->cur->path);
		fprintf(stderr, ":%u: ", c->cur->line);
	}
	fputs(what, stderr);
	if (vasprintf(&msg, fmt, ap) < 0) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	put_cut(msg);
	fputc('\n', stderr);
	free(msg);
}

/* Report one error, prefixed with the manifest location if any. */
static int error(struct cut *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(c, "", true, fmt, ap);
	va_end(ap);
	c->errors++;
	return -ECANCELED;	/* "already reported" */
}

/* Report a warning: like error(), but the cut goes on and succeeds. */
static void warn(struct cut *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(c, "warning: ", true, fmt, ap);
	va_end(ap);
}

static void note(struct cut *c, const char *fmt, ...)
{
	va_list ap;

	if (!c->verbose)
		return;
	va_start(ap, fmt);
	vmessage(c, "", false, fmt, ap);
	va_end(ap);
}

static struct entry *img_get(struct cut *c, const char *path)
{
	struct hnode *n = htab_get(&c->img, path);

	return n ? container_of(n, struct entry, node) : NULL;
}

static struct entry *img_new(struct cut *c, const char *path, enum kind k)
{
	struct entry *e = xcalloc(1, sizeof(*e));

	e->path = xstrdup(path);
	e->kind = k;
	htab_put(&c->img, &e->node, e->path);
	return e;
}

static void entry_free(struct hnode *n)
{
	struct entry *e = container_of(n, struct entry, node);

	free(e->path);
	free(e->src);
	free(e->target);
	free(e->data);
	free(e);
}

/*
 * Resolve image path @path: every component but the last (all of them
 * with @follow_last) is found in the image (symlinks followed inside the
 * image), else replicated from a host symlink at the same path and
 * followed, else made a directory. *@res is the resolved path of the last
 * component (with @follow_last: of the directory). Returns 0 or -errno.
 */
static int img_walk(struct cut *c, const char *path, bool follow_last,
		    char **res)
{
	char *pend = xstrdup(path), *p = pend;
	char cur[PATH_MAX] = "", cand[PATH_MAX], tgt[PATH_MAX];
	size_t clen = 0;
	int hops = 0, err = 0;

	*res = NULL;
	for (;;) {
		const char *comp, *q;
		struct entry *e;
		struct stat st;
		bool last;
		char *np;
		ssize_t n;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		comp = p;
		p += strcspn(p, "/");
		if (*p)
			*p++ = '\0';
		for (q = p; *q == '/'; q++)
			;
		last = !*q;
		if (!strcmp(comp, "."))
			continue;
		if (!strcmp(comp, "..")) {
			while (clen && cur[--clen] != '/')
				;
			cur[clen] = '\0';
			continue;
		}
		if (clen + 1 + strlen(comp) >= sizeof(cand)) {
			err = -ENAMETOOLONG;
			break;
		}
		snprintf(cand, sizeof(cand), "%s/%s", cur, comp);
		if (last && !follow_last) {
			*res = xstrdup(cand);
			break;
		}
		e = img_get(c, cand);
		if (!e && !lstat(cand, &st) && S_ISLNK(st.st_mode)) {
			n = readlink(cand, tgt, sizeof(tgt) - 1);
			if (n < 0) {
				err = -errno;
				break;
			}
			tgt[n] = '\0';
			e = img_new(c, cand, K_SLINK);
			e->target = xstrdup(tgt);
			e->mode = 0777;
		} else if (!e) {
			e = img_new(c, cand, K_DIR);
			e->mode = 0755;
			e->implicit = true;
		}
		if (e->kind == K_DIR) {
			clen = strlen(cand);
			memcpy(cur, cand, clen + 1);
			continue;
		}
		if (e->kind != K_SLINK) {
			err = -ENOTDIR;
			break;
		}
		if (++hops > MAX_HOPS) {
			err = -ELOOP;
			break;
		}
		np = xasprintf("%s/%s", e->target, p);
		free(pend);
		pend = p = np;
		if (e->target[0] == '/') {
			clen = 0;
			cur[0] = '\0';
		}
	}
	free(pend);
	if (!err && !*res) {
		if (!follow_last)
			return -EINVAL;	/* no last component ("/", "x/..") */
		*res = xstrdup(clen ? cur : "/");
	}
	return err;
}

/*
 * Is @e (already in the image) the same as the wanted @w? Each kind has
 * its own rule; the caller reports a conflict otherwise.
 */
static bool same_file(const struct entry *e, const struct entry *w)
{
	return e->dev == w->dev && e->ino == w->ino && e->mode == w->mode;
}

static bool same_slink(const struct entry *e, const struct entry *w)
{
	return !strcmp(e->target, w->target);
}

static bool same_nod(const struct entry *e, const struct entry *w)
{
	return e->nodtype == w->nodtype && e->major == w->major &&
	       e->minor == w->minor && e->mode == w->mode;
}

/* --list: the fields after "<kind> <path>" */
static void list_mode(const struct entry *e)
{
	printf(" %04o\n", (unsigned int)e->mode);
}

static void list_file(const struct entry *e)
{
	printf(" %04o %s\n", (unsigned int)e->mode, e->src);
}

static void list_slink(const struct entry *e)
{
	printf(" %s\n", e->target);
}

static void list_nod(const struct entry *e)
{
	printf(" %04o %c %u %u\n", (unsigned int)e->mode, e->nodtype,
	       e->major, e->minor);
}

static const struct kind_ops {
	const char *name;
	mode_t type;		/* S_IFMT bits (a 'b' nod: S_IFBLK) */
	/* NULL: never the same (K_DIR has its own rule in img_add_dir) */
	bool (*same)(const struct entry *e, const struct entry *w);
	void (*list)(const struct entry *e);
} kinds[NR_KINDS] = {
	[K_DIR] = { .name = "dir", .type = S_IFDIR, .list = list_mode },
	[K_FILE] = { .name = "file", .type = S_IFREG, .same = same_file,
		     .list = list_file },
	[K_SLINK] = { .name = "slink", .type = S_IFLNK, .same = same_slink,
		      .list = list_slink },
	[K_NOD] = { .name = "nod", .type = S_IFCHR, .same = same_nod,
		    .list = list_nod },
	[K_DATA] = { .name = "data", .type = S_IFREG, .list = list_mode },
};

static int conflict(struct cut *c, const struct entry *e,
		    const struct entry *w)
{
	if (e->kind != w->kind)
		return error(c, "'%s': already in the image as a %s, not a %s",
			     e->path, kinds[e->kind].name, kinds[w->kind].name);
	switch (e->kind) {
	case K_FILE:
		return error(c, "'%s': already in the image from '%s' (%04o), not '%s' (%04o)",
			     e->path, e->src, (unsigned int)e->mode, w->src,
			     (unsigned int)w->mode);
	case K_SLINK:
		return error(c, "'%s': already a symlink to '%s', not '%s'",
			     e->path, e->target, w->target);
	case K_DIR:
		return error(c, "'%s': already a dir with mode %04o, not %04o",
			     e->path, (unsigned int)e->mode,
			     (unsigned int)w->mode);
	default:
		return error(c, "'%s': already in the image as a different %s",
			     e->path, kinds[e->kind].name);
	}
}

static int walk_error(struct cut *c, const char *path, int err)
{
	return error(c, "'%s': cannot place in the image: %s", path,
		     strerror(-err));
}

/* Add a directory (all its parents too); @implicit: keep an earlier mode. */
static int img_add_dir(struct cut *c, const char *dest, mode_t mode,
		       bool implicit)
{
	struct entry *e, w = { .kind = K_DIR, .mode = mode };
	char *res;
	int err = img_walk(c, dest, true, &res);

	if (err)
		return walk_error(c, dest, err);
	e = img_get(c, res);
	free(res);
	if (!e || implicit)	/* the root is not in the archive */
		return 0;
	if (e->implicit) {
		e->mode = mode;
		e->implicit = false;
		return 0;
	}
	return e->mode == mode ? 0 : conflict(c, e, &w);
}

/*
 * Add a non-directory entry like @w at image path @dest. *@out is the
 * entry (new, or the identical one already there). Returns 0 or an error
 * already reported.
 */
static int img_add(struct cut *c, const char *dest, const struct entry *w,
		   struct entry **out)
{
	struct entry *e;
	char *res;
	int err = img_walk(c, dest, false, &res);

	if (err)
		return walk_error(c, dest, err);
	e = img_get(c, res);
	if (e) {
		free(res);
		if (e->kind != w->kind || !kinds[e->kind].same ||
		    !kinds[e->kind].same(e, w))
			return conflict(c, e, w);
		if (out)
			*out = e;
		return 0;
	}
	e = img_new(c, res, w->kind);
	free(res);
	e->mode = w->mode;
	e->src = w->src ? xstrdup(w->src) : NULL;
	e->dev = w->dev;
	e->ino = w->ino;
	e->size = w->size;
	e->alloc = w->alloc;
	e->mtime = w->mtime;
	e->target = w->target ? xstrdup(w->target) : NULL;
	if (w->data) {
		e->data = xmalloc(w->len);
		memcpy(e->data, w->data, w->len);
	}
	e->len = w->len;
	e->nodtype = w->nodtype;
	e->major = w->major;
	e->minor = w->minor;
	if (out)
		*out = e;
	return 0;
}

/* Add host file @src (stat @st, following links) at image path @dest. */
static int img_add_file(struct cut *c, const char *dest, const char *src,
			const struct stat *st, mode_t mode, struct entry **out)
{
	struct entry w = {
		.kind = K_FILE,
		.mode = mode,
		.src = (char *)src,
		.dev = st->st_dev,
		.ino = st->st_ino,
		.size = st->st_size,
		.alloc = (off_t)st->st_blocks * 512,
		.mtime = st->st_mtime,
	};

	if (!S_ISREG(st->st_mode))
		return error(c, "'%s': not a regular file", src);
	if (st->st_size > UINT32_MAX)
		return error(c, "'%s': too big for a newc archive (4 GiB max)",
			     src);
	return img_add(c, dest, &w, out);
}

static int img_add_slink(struct cut *c, const char *dest, const char *target)
{
	struct entry w = { .kind = K_SLINK, .mode = 0777,
			   .target = (char *)target };

	return img_add(c, dest, &w, NULL);
}

/* ---- ELF and #! closure ------------------------------------------------- */

struct elfinfo {
	unsigned char cls, data;
	uint16_t mach;
	char *interp;
	char **needed;
	size_t nneeded;
	char *rpath, *runpath;
	char *origin;		/* directory of the object */
};

static void elfinfo_free(struct elfinfo *ei)
{
	for (size_t i = 0; i < ei->nneeded; i++)
		free(ei->needed[i]);
	free(ei->needed);
	free(ei->interp);
	free(ei->rpath);
	free(ei->runpath);
	free(ei->origin);
	memset(ei, 0, sizeof(*ei));
}

/* Class, data encoding and machine of @path, memoised (hits and misses). */
static const struct hobj *elf_ident(struct cut *c, const char *path)
{
	struct hnode *n = htab_get(&c->hobjs, path);
	unsigned char h[20];
	struct hobj *o;
	int fd;

	if (n)
		return container_of(n, struct hobj, node);
	o = xcalloc(1, sizeof(*o));
	o->path = xstrdup(path);
	htab_put(&c->hobjs, &o->node, o->path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		o->err = -errno;
		return o;
	}
	if (pread(fd, h, sizeof(h), 0) != sizeof(h) ||
	    memcmp(h, ELFMAG, SELFMAG)) {
		o->err = -ENOEXEC;
	} else {
		o->cls = h[EI_CLASS];
		o->data = h[EI_DATA];
		o->mach = o->data == ELFDATA2MSB ? h[18] << 8 | h[19] :
						   h[19] << 8 | h[18];
	}
	close(fd);
	return o;
}

static void hobj_free(struct hnode *n)
{
	struct hobj *o = container_of(n, struct hobj, node);

	free(o->path);
	free(o);
}

/*
 * The dynamic-linking view of an ELF object, read as ld.so reads it: the
 * program headers (PT_INTERP, PT_DYNAMIC, and PT_LOAD to place the string
 * table), the dynamic array and its strings; a few pread()s of what is
 * needed, never a mapping of the whole file. Either class, either byte
 * order.
 */
#define ELF_MAX_PHDRS	256
#define ELF_MAX_DYN	(1 << 20)	/* bytes read at once: headers, dynamic array */

struct elfraw {
	int fd;
	bool is64, msb;
	unsigned char *ph;	/* the program headers */
	size_t phnum, phent;
};

static uint64_t elf_get(const struct elfraw *r, const unsigned char *p,
			size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[r->msb ? n - 1 - i : i] << (8 * i);
	return v;
}

/* Field of a header, by its offsets in the 32- and 64-bit layouts. */
static uint64_t elf_field(const struct elfraw *r, const unsigned char *p,
			  size_t off32, size_t off64, size_t len32,
			  size_t len64)
{
	return r->is64 ? elf_get(r, p + off64, len64) :
			 elf_get(r, p + off32, len32);
}

/* Read @len bytes at @off into a new buffer (NUL-terminated); NULL: EIO. */
static unsigned char *elf_pread(const struct elfraw *r, uint64_t off,
				uint64_t len)
{
	unsigned char *b;

	if (len > ELF_MAX_DYN)
		return NULL;
	b = xcalloc(1, len + 1);
	if (pread(r->fd, b, len, off) != (ssize_t)len) {
		free(b);
		return NULL;
	}
	return b;
}

/* File offset of virtual address @va, through the PT_LOAD segments. */
static bool elf_va_off(const struct elfraw *r, uint64_t va, uint64_t *off)
{
	for (size_t i = 0; i < r->phnum; i++) {
		const unsigned char *ph = r->ph + i * r->phent;
		uint64_t vaddr = elf_field(r, ph, 8, 16, 4, 8);
		uint64_t filesz = elf_field(r, ph, 16, 32, 4, 8);

		if (elf_get(r, ph, 4) == PT_LOAD && va >= vaddr &&
		    va - vaddr < filesz) {
			*off = elf_field(r, ph, 4, 8, 4, 8) + (va - vaddr);
			return true;
		}
	}
	return false;
}

/* DT_NEEDED, DT_RPATH and DT_RUNPATH of the dynamic array @dyn. */
static const char *elf_dynamic(const struct elfraw *r, unsigned char *dyn,
			       uint64_t len, struct elfinfo *ei)
{
	size_t ent = r->is64 ? 16 : 8, half = ent / 2;
	uint64_t strtab = 0, strsz = 0, off;
	bool have_strtab = false;
	unsigned char *str;

	for (uint64_t i = 0; i + ent <= len; i += ent) {
		uint64_t tag = elf_get(r, dyn + i, half);
		uint64_t val = elf_get(r, dyn + i + half, half);

		if (tag == DT_NULL)
			break;
		if (tag == DT_STRTAB) {
			strtab = val;
			have_strtab = true;
		} else if (tag == DT_STRSZ) {
			strsz = val;
		}
	}
	if (!have_strtab)
		return NULL;	/* names nothing */
	if (!elf_va_off(r, strtab, &off) || !strsz)
		return "DT_STRTAB outside the file";
	for (uint64_t i = 0; i + ent <= len; i += ent) {
		uint64_t tag = elf_get(r, dyn + i, half);
		uint64_t val = elf_get(r, dyn + i + half, half), n;
		char *v;

		if (tag == DT_NULL)
			break;
		if (tag != DT_NEEDED && tag != DT_RPATH && tag != DT_RUNPATH)
			continue;
		/* each string on its own: a C++ library's table is MBs */
		if (val >= strsz)
			return "dynamic string out of the table";
		n = strsz - val < PATH_MAX ? strsz - val : PATH_MAX;
		str = elf_pread(r, off + val, n);
		if (!str || !memchr(str, '\0', n)) {
			free(str);
			return "bad dynamic string";
		}
		v = (char *)str;
		if (tag == DT_NEEDED) {
			ei->needed = xrealloc(ei->needed, (ei->nneeded + 1) *
					      sizeof(*ei->needed));
			ei->needed[ei->nneeded++] = v;
		} else if (tag == DT_RPATH) {
			free(ei->rpath);
			ei->rpath = v;
		} else {
			free(ei->runpath);
			ei->runpath = v;
		}
	}
	return NULL;
}

/*
 * Is [@off, @off + @len) past the end of the file (of @size bytes)? A
 * truncated object: not one ld.so can load.
 */
static bool elf_past_end(uint64_t off, uint64_t len, uint64_t size)
{
	return off > size || len > size - off;
}

/*
 * What the closure needs of ELF object @path; 0 or a reported error.
 * Only an executable or a shared object (ET_EXEC, ET_DYN) is loaded by
 * ld.so: anything else that starts with the ELF magic (a relocatable
 * object, a core dump, a file too short or too odd to be an object, or
 * one cut off before its program headers or their segments end) is just
 * a file, copied with no dependencies: @ei stays empty.
 */
static int elf_read(struct cut *c, const char *path, struct elfinfo *ei)
{
	struct elfraw r = { .fd = -1 };
	unsigned char eh[64] = { 0 };
	const char *bad = NULL, *plain = NULL;
	uint64_t phoff, etype;
	bool cut_off = false;
	struct stat st;
	ssize_t n;

	memset(ei, 0, sizeof(*ei));
	r.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r.fd < 0 || fstat(r.fd, &st)) {
		n = errno;
		if (r.fd >= 0)
			close(r.fd);
		return error(c, "'%s': %s", path, strerror(n));
	}
	n = pread(r.fd, eh, sizeof(eh), 0);
	if (n < (eh[EI_CLASS] == ELFCLASS64 ? 64 : 52) ||
	    memcmp(eh, ELFMAG, SELFMAG) ||
	    (eh[EI_CLASS] != ELFCLASS32 && eh[EI_CLASS] != ELFCLASS64) ||
	    (eh[EI_DATA] != ELFDATA2LSB && eh[EI_DATA] != ELFDATA2MSB)) {
		plain = "not a 32- or 64-bit ELF object";
		goto out;
	}
	r.is64 = eh[EI_CLASS] == ELFCLASS64;
	r.msb = eh[EI_DATA] == ELFDATA2MSB;
	etype = elf_get(&r, eh + 16, 2);
	if (etype != ET_EXEC && etype != ET_DYN) {
		plain = "not an executable or shared object";
		goto out;
	}
	phoff = elf_field(&r, eh, 28, 32, 4, 8);
	r.phent = elf_field(&r, eh, 42, 54, 2, 2);
	r.phnum = elf_field(&r, eh, 44, 56, 2, 2);
	if (!r.phnum) {
		plain = "no program headers";
		goto out;
	}
	if (r.phnum > ELF_MAX_PHDRS || r.phent < (r.is64 ? 56u : 32u)) {
		bad = "unexpected program header table";
		goto out;
	}
	if (elf_past_end(phoff, (uint64_t)r.phnum * r.phent, st.st_size)) {
		plain = "truncated in its program headers";
		cut_off = true;
		goto out;
	}
	ei->cls = eh[EI_CLASS];
	ei->data = eh[EI_DATA];
	ei->mach = elf_get(&r, eh + 18, 2);
	ei->origin = dir_of(path);
	r.ph = elf_pread(&r, phoff, (uint64_t)r.phnum * r.phent);
	if (!r.ph) {
		bad = "cannot read the program headers";
		goto out;
	}
	for (size_t i = 0; i < r.phnum; i++) {
		const unsigned char *ph = r.ph + i * r.phent;
		uint64_t type = elf_get(&r, ph, 4);

		if ((type == PT_INTERP || type == PT_DYNAMIC) &&
		    elf_past_end(elf_field(&r, ph, 4, 8, 4, 8),
				 elf_field(&r, ph, 16, 32, 4, 8),
				 st.st_size)) {
			plain = "truncated in its segments";
			cut_off = true;
			goto out;
		}
	}
	for (size_t i = 0; i < r.phnum && !bad; i++) {
		const unsigned char *ph = r.ph + i * r.phent;
		uint64_t type = elf_get(&r, ph, 4);
		uint64_t off = elf_field(&r, ph, 4, 8, 4, 8);
		uint64_t filesz = elf_field(&r, ph, 16, 32, 4, 8);
		unsigned char *b;

		if (type != PT_INTERP && type != PT_DYNAMIC)
			continue;
		b = elf_pread(&r, off, filesz);
		if (!b) {
			bad = type == PT_INTERP ? "bad PT_INTERP" :
						  "bad PT_DYNAMIC";
		} else if (type == PT_INTERP) {
			if (!filesz || !*b)
				bad = "empty PT_INTERP";
			free(ei->interp);
			ei->interp = (char *)b;
			continue;
		} else {
			bad = elf_dynamic(&r, b, filesz, ei);
		}
		free(b);
	}
out:
	free(r.ph);
	close(r.fd);
	if (plain) {
		elfinfo_free(ei);
		if (cut_off)
			warn(c, "'%s': ELF %s: copied as a plain file", path,
			     plain);
		else
			note(c, "'%s': %s: copied as a plain file", path,
			     plain);
		return 0;
	}
	if (!bad)
		return 0;
	elfinfo_free(ei);
	return error(c, "'%s': cannot read ELF: %s", path, bad);
}

static void ldconf_add(struct cut *c, const char *dir)
{
	c->ldpath = xrealloc(c->ldpath,
			     (c->nldpath + 1) * sizeof(*c->ldpath));
	c->ldpath[c->nldpath++] = xstrdup(dir);
}

/* Parse an ld.so.conf file: directories, `include GLOB` (relative: /etc). */
static void ldconf_parse(struct cut *c, const char *path, int depth)
{
	char *line = NULL;
	size_t cap = 0;
	FILE *f;

	if (depth > MAX_INCLUDE)
		return;
	f = fopen(path, "re");
	if (!f)
		return;		/* no ld.so.conf: the defaults only */
	while (getline(&line, &cap, f) > 0) {
		char *s = line, *e;

		s[strcspn(s, "#\n")] = '\0';
		while (isspace((unsigned char)*s))
			s++;
		for (e = s + strlen(s); e > s && isspace((unsigned char)e[-1]);)
			*--e = '\0';
		if (!*s || !strncmp(s, "hwcap", 5))
			continue;
		if (!strncmp(s, "include", 7) && isspace((unsigned char)s[7])) {
			char *pat;
			glob_t g;

			for (s += 8; isspace((unsigned char)*s); s++)
				;
			pat = path_join("/etc", s);
			if (!glob(pat, 0, NULL, &g))
				for (size_t i = 0; i < g.gl_pathc; i++)
					ldconf_parse(c, g.gl_pathv[i],
						     depth + 1);
			globfree(&g);
			free(pat);
			continue;
		}
		ldconf_add(c, s);
	}
	free(line);
	fclose(f);
}

static void ldpath_load(struct cut *c)
{
	static const char *const defaults[] = {
		"/lib64", "/usr/lib64", "/lib", "/usr/lib",
	};

	if (c->ldpath_done)
		return;
	c->ldpath_done = true;
	ldconf_parse(c, "/etc/ld.so.conf", 0);
	for (size_t i = 0; i < ARRAY_SIZE(defaults); i++)
		ldconf_add(c, defaults[i]);
}

static bool ident_match(const struct hobj *o, const struct elfinfo *ei)
{
	return !o->err && o->cls == ei->cls && o->data == ei->data &&
	       o->mach == ei->mach;
}

/*
 * Expand $ORIGIN, $LIB, $PLATFORM (also as ${...}) in one path entry of
 * an object of class @cls.
 */
static char *dst_expand(const char *s, size_t n, const char *origin,
			unsigned char cls)
{
	static struct utsname uts;
	const struct {
		const char *token;
		const char *val;
	} dst[] = {
		{ "$ORIGIN", origin }, { "${ORIGIN}", origin },
		{ "$LIB", cls == ELFCLASS64 ? "lib64" : "lib" },
		{ "${LIB}", cls == ELFCLASS64 ? "lib64" : "lib" },
		{ "$PLATFORM", uts.machine }, { "${PLATFORM}", uts.machine },
	};
	struct sbuf b = { 0 };

	if (!uts.machine[0])
		uname(&uts);

	sbuf_add(&b, "", 0);
	for (size_t i = 0; i < n;) {
		size_t k, tl = 0;

		for (k = 0; s[i] == '$' && k < ARRAY_SIZE(dst);
		     k++) {
			tl = strlen(dst[k].token);
			if (tl <= n - i && !strncmp(s + i, dst[k].token, tl) &&
			    (dst[k].token[1] == '{' || i + tl == n ||
			     !isalnum((unsigned char)s[i + tl])))
				break;
		}
		if (s[i] == '$' && k < ARRAY_SIZE(dst)) {
			sbuf_str(&b, dst[k].val);
			i += tl;
		} else {
			sbuf_add(&b, s + i++, 1);
		}
	}
	return b.s;
}

/* Search a ':' separated @list for @name matching @ei. */
static char *search_list(struct cut *c, const char *list, const char *name,
			 const struct elfinfo *ei, const char *origin)
{
	for (const char *s = list; s && *s;) {
		size_t n = strcspn(s, ":");
		char *dir, *cand;

		if (n) {
			dir = dst_expand(s, n, origin, ei->cls);
			cand = path_join(dir, name);
			free(dir);
			if (ident_match(elf_ident(c, cand), ei))
				return cand;
			free(cand);
		}
		s += n + (s[n] == ':');
	}
	return NULL;
}

/* Find DT_NEEDED @name of object @ei as ld.so would; NULL if not found. */
static char *find_lib(struct cut *c, const char *name,
		      const struct elfinfo *ei, const struct elfinfo *exe)
{
	char *p = NULL;

	if (strchr(name, '/'))
		return xstrdup(name);
	if (!ei->runpath) {
		p = search_list(c, ei->rpath, name, ei, ei->origin);
		if (!p && exe && exe != ei && !exe->runpath)
			p = search_list(c, exe->rpath, name, ei, exe->origin);
	}
	if (!p)
		p = search_list(c, ei->runpath, name, ei, ei->origin);
	ldpath_load(c);
	for (size_t i = 0; !p && i < c->nldpath; i++) {
		char *cand = path_join(c->ldpath[i], name);

		if (ident_match(elf_ident(c, cand), ei))
			p = cand;
		else
			free(cand);
	}
	return p;
}

static int add_host(struct cut *c, const char *path, const struct elfinfo *exe,
		    int hops);

/*
 * Add what host file @path needs: for ELF its interpreter and libraries,
 * for a #! script (if @scripts) its interpreter.
 */
static int close_deps(struct cut *c, const char *path,
		      const struct elfinfo *exe, bool scripts)
{
	char head[256], *nl;
	struct elfinfo ei;
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error(c, "'%s': %s", path, strerror(errno));
	n = pread(fd, head, sizeof(head) - 1, 0);
	close(fd);
	if (n < 0)
		return error(c, "'%s': %s", path, strerror(errno));
	head[n] = '\0';
	if (n >= 2 && head[0] == '#' && head[1] == '!') {
		char *s = head + 2;

		if (!scripts)
			return 0;
		nl = memchr(head, '\n', n);
		if (!nl)
			return error(c, "'%s': #! line longer than %zu bytes",
				     path, sizeof(head) - 2);
		*nl = '\0';
		s += strspn(s, " \t");
		s[strcspn(s, " \t")] = '\0';
		if (*s != '/')
			return error(c, "'%s': #! interpreter '%s' is not an absolute path",
				     path, s);
		err = add_host(c, s, NULL, 0);
		return err == -ENOENT ?
		       error(c, "'%s': interpreter '%s': %s", path, s,
			     strerror(ENOENT)) : err;
	}
	if (n < SELFMAG || memcmp(head, ELFMAG, SELFMAG))
		return 0;
	err = elf_read(c, path, &ei);
	if (err)
		return err;
	if (!exe)
		exe = &ei;
	if (ei.interp) {
		int e = add_host(c, ei.interp, NULL, 0);

		if (e == -ENOENT)
			e = error(c, "'%s': interpreter '%s': %s", path,
				  ei.interp, strerror(ENOENT));
		err = err ?: e;
	}
	for (size_t i = 0; i < ei.nneeded; i++) {
		char *lib = find_lib(c, ei.needed[i], &ei, exe);
		int e;

		if (!lib) {
			err = error(c, "'%s': needs '%s': not found in its RPATH/RUNPATH, ld.so.conf or /lib64:/usr/lib64:/lib:/usr/lib",
				    path, ei.needed[i]);
			continue;
		}
		e = add_host(c, lib, exe, 0);
		if (e == -ENOENT)
			e = error(c, "'%s': needs '%s': %s", path, lib,
				  strerror(ENOENT));
		err = err ?: e;
		free(lib);
	}
	elfinfo_free(&ei);
	return err;
}

/*
 * Add host file @path at the same image path, with its deps. A symlink
 * is added as a symlink and its target added too. Returns 0, -ENOENT (not
 * reported: the caller knows why it wanted the file) or a reported error.
 */
static int add_host_walk(struct cut *c, const char *path,
			 const struct elfinfo *exe, int hops)
{
	char tgt[PATH_MAX];
	struct entry *e;
	struct stat st;
	ssize_t n;
	char *next, *dir;
	int err;

	if (lstat(path, &st))
		return errno == ENOENT ? -ENOENT :
		       error(c, "'%s': %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return error(c, "'%s': is a directory (use tree or dir)",
			     path);
	if (!S_ISLNK(st.st_mode)) {
		err = img_add_file(c, path, path, &st, st.st_mode & 07777, &e);
		if (err || e->closed)
			return err;
		e->closed = true;
		return close_deps(c, path, exe, true);
	}
	if (++hops > MAX_HOPS)
		return error(c, "'%s': %s", path, strerror(ELOOP));
	n = readlink(path, tgt, sizeof(tgt) - 1);
	if (n < 0)
		return error(c, "'%s': %s", path, strerror(errno));
	tgt[n] = '\0';
	err = img_add_slink(c, path, tgt);
	if (err)
		return err;
	dir = dir_of(path);
	next = path_join(dir, tgt);
	free(dir);
	err = add_host(c, next, exe, hops);
	if (err == -ENOENT)
		err = error(c, "'%s': dangling symlink to '%s'", path, tgt);
	free(next);
	return err;
}

/*
 * Add host file @path and what it needs (symlinks followed, each link
 * kept). A path is walked once: every binary names the same interpreter
 * and libc, and a repeat would only stat and readlink them again.
 */
static int add_host(struct cut *c, const char *path, const struct elfinfo *exe,
		    int hops)
{
	struct seen *s;
	int err;

	if (htab_get(&c->hosts, path))
		return 0;
	err = add_host_walk(c, path, exe, hops);
	if (!err) {
		s = xcalloc(1, sizeof(*s));
		s->name = xstrdup(path);
		htab_put(&c->hosts, &s->node, s->name);
	}
	return err;
}

/* ---- kernel modules ----------------------------------------------------- */

static const char *const mod_index[] = {
	"modules.dep", "modules.dep.bin", "modules.alias",
	"modules.alias.bin", "modules.softdep", "modules.symbols",
	"modules.symbols.bin", "modules.builtin", "modules.builtin.bin",
	"modules.builtin.alias.bin", "modules.builtin.modinfo",
	"modules.order", "modules.devname",
};

/* Add host file @src at /lib/modules/<kver>/<rel>; *@ipath: image path. */
static int mod_add_file(struct cut *c, const char *src, const char *rel,
			char **ipath)
{
	struct stat st;
	char *dest;
	int err;

	if (stat(src, &st))
		return error(c, "'%s': %s", src, strerror(errno));
	dest = xasprintf("/lib/modules/%s/%s", c->kver, rel);
	err = img_add_file(c, dest, src, &st, st.st_mode & 07777, NULL);
	if (ipath && !err)
		*ipath = dest;
	else
		free(dest);
	return err;
}

/*
 * libkmod is loaded at the first kmod line: with the libcrypto, libzstd
 * and liblzma it pulls in, it doubles the start-up of a run that never
 * needs it (an X= re-cut: ~0.8 of ~3 ms). The calls keep their types.
 */
#define KMOD_SONAME "libkmod.so.2"

static struct kmod_api {
	__typeof__(&kmod_new) kmod_new;
	__typeof__(&kmod_unref) kmod_unref;
	__typeof__(&kmod_load_resources) kmod_load_resources;
	__typeof__(&kmod_list_next) kmod_list_next;
	__typeof__(&kmod_module_new_from_lookup) kmod_module_new_from_lookup;
	__typeof__(&kmod_module_get_module) kmod_module_get_module;
	__typeof__(&kmod_module_unref) kmod_module_unref;
	__typeof__(&kmod_module_unref_list) kmod_module_unref_list;
	__typeof__(&kmod_module_get_name) kmod_module_get_name;
	__typeof__(&kmod_module_get_path) kmod_module_get_path;
	__typeof__(&kmod_module_get_softdeps) kmod_module_get_softdeps;
	__typeof__(&kmod_module_get_dependencies) kmod_module_get_dependencies;
} km;

#define KMOD_SYM(f) { .name = #f, .off = offsetof(struct kmod_api, f) }

static const struct kmod_sym {
	const char *name;
	size_t off;
} kmod_sym_table[] = {
	KMOD_SYM(kmod_new),
	KMOD_SYM(kmod_unref),
	KMOD_SYM(kmod_load_resources),
	KMOD_SYM(kmod_list_next),
	KMOD_SYM(kmod_module_new_from_lookup),
	KMOD_SYM(kmod_module_get_module),
	KMOD_SYM(kmod_module_unref),
	KMOD_SYM(kmod_module_unref_list),
	KMOD_SYM(kmod_module_get_name),
	KMOD_SYM(kmod_module_get_path),
	KMOD_SYM(kmod_module_get_softdeps),
	KMOD_SYM(kmod_module_get_dependencies),
};

static int kmod_load_lib(struct cut *c)
{
	void *lib = dlopen(KMOD_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (!lib)
		return error(c, "'%s': %s (apt-get install libkmod2)",
			     KMOD_SONAME, dlerror());
	for (size_t i = 0; i < ARRAY_SIZE(kmod_sym_table); i++) {
		const struct kmod_sym *k = &kmod_sym_table[i];
		void *f = dlsym(lib, k->name);

		if (!f)
			return error(c, "'%s': no %s: %s", KMOD_SONAME,
				     k->name, dlerror());
		memcpy((char *)&km + k->off, &f, sizeof(f));
	}
	return 0;
}

static int kmod_setup(struct cut *c, const char *name)
{
	static const char *const null_config[] = { NULL };
	struct stat st;
	int err;

	if (c->kmod_state)
		return c->kmod_state > 0 ? 0 : -ECANCELED;	/* reported */
	c->kmod_state = -1;
	if (!c->moddir || !c->kver)
		return error(c, "kmod '%s': needs --moddir and --kver", name);
	err = kmod_load_lib(c);
	if (err)
		return err;
	if (c->moddir[0] == '/') {
		c->kdir = xasprintf("%s/lib/modules/%s", c->moddir, c->kver);
	} else {
		/* absolute, as libkmod makes the paths it returns */
		char *cwd = getcwd(NULL, 0);

		if (!cwd)
			return error(c, "kmod '%s': current directory: %s",
				     name, strerror(errno));
		c->kdir = xasprintf("%s/%s/lib/modules/%s", cwd, c->moddir,
				    c->kver);
		free(cwd);
	}
	if (stat(c->kdir, &st))
		return error(c, "kmod '%s': '%s': %s (run make modules_install INSTALL_MOD_PATH=%s)",
			     name, c->kdir, strerror(errno), c->moddir);
	c->kctx = km.kmod_new(c->kdir, null_config);
	if (!c->kctx)
		return error(c, "'%s': cannot create a libkmod context",
			     c->kdir);
	err = km.kmod_load_resources(c->kctx);
	if (err < 0)
		return error(c, "'%s': cannot load the module indexes: %s (run depmod -b %s %s)",
			     c->kdir, strerror(-err), c->moddir, c->kver);
	for (size_t i = 0; i < ARRAY_SIZE(mod_index); i++) {
		char *src = path_join(c->kdir, mod_index[i]);

		if (!access(src, F_OK))
			err = mod_add_file(c, src, mod_index[i], NULL) ?: err;
		free(src);
	}
	if (err < 0)
		return err;
	c->kmod_state = 1;
	return 0;
}

static int mod_visit(struct cut *c, struct kmod_module *mod);

static int mod_visit_list(struct cut *c, struct kmod_list *list)
{
	struct kmod_list *l;
	int err = 0;

	for (l = list; l; l = km.kmod_list_next(list, l)) {
		struct kmod_module *m = km.kmod_module_get_module(l);

		err = mod_visit(c, m) ?: err;
		km.kmod_module_unref(m);
	}
	return err;
}

/*
 * Post-order DFS: pre-softdeps, deps, the module, post-softdeps; each
 * module once. Appends the module's image path to /rapido/modules.
 */
static int mod_visit(struct cut *c, struct kmod_module *mod)
{
	const char *name = km.kmod_module_get_name(mod);
	const char *path = km.kmod_module_get_path(mod);
	struct kmod_list *pre = NULL, *post = NULL, *deps;
	struct seen *s;
	size_t klen = strlen(c->kdir);
	char *ipath;
	int err;

	if (htab_get(&c->mods, name))
		return 0;
	s = xcalloc(1, sizeof(*s));
	s->name = xstrdup(name);
	htab_put(&c->mods, &s->node, s->name);
	if (!path) {
		note(c, "kmod '%s': builtin, skipped", name);
		return 0;
	}
	if (strncmp(path, c->kdir, klen) || path[klen] != '/')
		return error(c, "kmod '%s': '%s' is outside '%s'", name, path,
			     c->kdir);
	err = km.kmod_module_get_softdeps(mod, &pre, &post);
	if (err < 0)
		return error(c, "kmod '%s': softdeps: %s", name,
			     strerror(-err));
	err = mod_visit_list(c, pre);
	deps = km.kmod_module_get_dependencies(mod);
	err = mod_visit_list(c, deps) ?: err;
	km.kmod_module_unref_list(deps);
	if (!mod_add_file(c, path, path + klen + 1, &ipath)) {
		sbuf_str(&c->modlist, ipath);
		sbuf_str(&c->modlist, "\n");
		free(ipath);
	} else {
		err = -ECANCELED;
	}
	err = mod_visit_list(c, post) ?: err;
	km.kmod_module_unref_list(pre);
	km.kmod_module_unref_list(post);
	return err;
}

/* ---- dracut: collecting ------------------------------------------------ */

/* A word of a space-separated dracut list: it cannot hold white space. */
static int dr_word(struct cut *c, struct sbuf *b, const char *opt,
		   const char *w)
{
	if (strpbrk(w, " \t\n"))
		return error(c, "'%s': dracut's %s list cannot hold white space (rename it, or CUT=native)",
			     w, opt);
	if (b->len)
		sbuf_str(b, " ");
	sbuf_str(b, w);
	return 0;
}

static void dr_include(struct cut *c, const char *src, const char *dest)
{
	struct dracut *d = c->dr;

	d->inc = xrealloc(d->inc, (d->ninc + 2) * sizeof(*d->inc));
	d->inc[d->ninc++] = xstrdup(src);
	d->inc[d->ninc++] = xstrdup(dest);
}

static void dr_stage(struct cut *c, enum dr_kind kind, const char *dest,
		     mode_t mode, const char *data, size_t len)
{
	struct dracut *d = c->dr;
	struct dr_stage *st;

	d->stage = xrealloc(d->stage, (d->nstage + 1) * sizeof(*d->stage));
	st = &d->stage[d->nstage++];
	st->kind = kind;
	st->dest = xstrdup(dest);
	st->mode = mode;
	st->data = NULL;
	st->len = len;
	if (data) {
		st->data = xmalloc(len + 1);
		memcpy(st->data, data, len);
		st->data[len] = '\0';
	}
}

/* dracut installs a file with its source's mode: it cannot change it. */
static int dr_file(struct cut *c, const char *dest, const char *src,
		   const struct stat *st, mode_t mode)
{
	if ((st->st_mode & 07777) != mode)
		return error(c, "file '%s': dracut cannot give it mode %04o ('%s' is %04o): chmod the source, or CUT=native",
			     dest, (unsigned int)mode, src,
			     (unsigned int)(st->st_mode & 07777));
	dr_include(c, src, dest);
	return 0;
}

/* The nodes dracut makes itself (as root, outside a container). */
static const struct dr_nod {
	const char *path;
	unsigned int major, minor;
} dr_nods[] = {
	{ .path = "/dev/console", .major = 5, .minor = 1 },
	{ .path = "/dev/null", .major = 1, .minor = 3 },
	{ .path = "/dev/kmsg", .major = 1, .minor = 11 },
	{ .path = "/dev/random", .major = 1, .minor = 8 },
	{ .path = "/dev/urandom", .major = 1, .minor = 9 },
};

static int dr_nod(struct cut *c, const struct entry *w, const char *dest)
{
	for (size_t i = 0; i < ARRAY_SIZE(dr_nods); i++)
		if (!strcmp(dest, dr_nods[i].path) && w->nodtype == 'c' &&
		    w->major == dr_nods[i].major &&
		    w->minor == dr_nods[i].minor)
			return 0;
	return error(c, "nod '%s': dracut cannot make device nodes other than its own (/dev/console, null, kmsg, random, urandom): use CUT=native",
		     dest);
}

/* ---- manifest directives ----------------------------------------------- */

static int parse_mode(struct cut *c, const char *what, const char *dest,
		      const char *s, mode_t *mode)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 8);
	if (!*s || *end || errno || v > 07777 || *s == '-' || *s == '+')
		return error(c, "%s '%s': bad mode '%s' (octal, at most 07777)",
			     what, dest, s);
	*mode = v;
	return 0;
}

/* @p relative to the current manifest's directory. */
static char *manifest_path(struct cut *c, const char *p)
{
	return path_join(c->cur ? c->cur->dir : NULL, p);
}

/* A host file named in a manifest, as an absolute path. */
static char *host_path(struct cut *c, const char *p)
{
	char *rel = manifest_path(c, p), *abs;

	if (rel[0] == '/')
		return rel;
	abs = path_join(c->cwd, rel);
	free(rel);
	return abs;
}

static const char *const default_path = "/usr/sbin:/usr/bin:/sbin:/bin";

/* Executable @name in the ':' separated @list of absolute dirs, or NULL. */
static char *find_in(const char *list, const char *name)
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
	return find_in(getenv("PATH"), name) ?: find_in(default_path, name);
}

static int do_bin(struct cut *c, char **argv)
{
	int err = 0;

	for (int i = 1; argv[i]; i++) {
		char *p;
		int e;

		if (strchr(argv[i], '/'))
			p = host_path(c, argv[i]);
		else
			p = find_bin(argv[i]);
		if (!p) {
			err = error(c, "bin '%s': not found in PATH (install it or remove the line)",
				    argv[i]);
			continue;
		}
		e = add_host(c, p, NULL, 0);
		if (e == -ENOENT)
			e = error(c, "bin '%s': %s", p, strerror(ENOENT));
		if (!e && c->dr)
			e = dr_word(c, &c->dr->install, "--install", p);
		err = err ?: e;
		free(p);
	}
	return err;
}

static int do_file(struct cut *c, char **argv)
{
	char *src = host_path(c, argv[2]);
	struct entry *e;
	struct stat st;
	mode_t mode;
	int err;

	if (stat(src, &st)) {
		err = error(c, "file '%s': %s", src, strerror(errno));
		goto out;
	}
	mode = st.st_mode & 07777;
	err = argv[3] ? parse_mode(c, "file", argv[1], argv[3], &mode) : 0;
	if (!err && c->dr)
		err = dr_file(c, argv[1], src, &st, mode);
	if (!err)
		err = img_add_file(c, argv[1], src, &st, mode, &e);
	if (!err && !e->closed) {
		e->closed = true;
		err = close_deps(c, src, NULL, true);
	}
out:
	free(src);
	return err;
}

static int do_dir(struct cut *c, char **argv)
{
	mode_t mode = 0755;

	if (argv[2] && parse_mode(c, "dir", argv[1], argv[2], &mode))
		return -ECANCELED;
	if (c->dr)
		dr_stage(c, DR_DIR, argv[1], mode, NULL, 0);
	return img_add_dir(c, argv[1], mode, false);
}

static int do_slink(struct cut *c, char **argv)
{
	if (c->dr)
		dr_stage(c, DR_SLINK, argv[1], 0777, argv[2],
			 strlen(argv[2]));
	return img_add_slink(c, argv[1], argv[2]);
}

static int parse_num(struct cut *c, const char *what, const char *s,
		     unsigned int *v)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (!isdigit((unsigned char)*s) || *end || errno || n > UINT_MAX)
		return error(c, "nod '%s': bad %s '%s'", what, what, s);
	*v = n;
	return 0;
}

static int do_nod(struct cut *c, char **argv)
{
	struct entry w = { .kind = K_NOD };

	if (parse_mode(c, "nod", argv[1], argv[2], &w.mode))
		return -ECANCELED;
	if (strcmp(argv[3], "c") && strcmp(argv[3], "b"))
		return error(c, "nod '%s': bad type '%s' (c or b)", argv[1],
			     argv[3]);
	w.nodtype = argv[3][0];
	if (parse_num(c, "major", argv[4], &w.major) ||
	    parse_num(c, "minor", argv[5], &w.minor))
		return -ECANCELED;
	if (c->dr && dr_nod(c, &w, argv[1]))
		return -ECANCELED;
	return img_add(c, argv[1], &w, NULL);
}

/* Copy host directory @src to image @dest, recursively. */
static int tree_copy(struct cut *c, const char *dest, const char *src,
		     const struct stat *st)
{
	struct dirent **names;
	int n, err;

	err = img_add_dir(c, dest, st->st_mode & 07777, false);
	n = scandir(src, &names, NULL, alphasort);
	if (n < 0)
		return error(c, "tree '%s': %s", src, strerror(errno));
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
			r = error(c, "tree '%s': %s", s, strerror(errno));
		} else if (S_ISDIR(cst.st_mode)) {
			r = tree_copy(c, d, s, &cst);
		} else if (S_ISLNK(cst.st_mode)) {
			len = readlink(s, tgt, sizeof(tgt) - 1);
			if (len < 0) {
				r = error(c, "tree '%s': %s", s,
					  strerror(errno));
			} else {
				tgt[len] = '\0';
				r = img_add_slink(c, d, tgt);
			}
		} else if (S_ISREG(cst.st_mode)) {
			r = img_add_file(c, d, s, &cst, cst.st_mode & 07777,
					 &e);
			if (!r && !e->closed) {
				e->closed = true;
				r = close_deps(c, s, NULL, false);
			}
		} else {
			r = error(c, "tree '%s': not a file, dir or symlink (use nod)",
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

static int do_tree(struct cut *c, char **argv)
{
	char *src = host_path(c, argv[2]);
	struct stat st;
	int err;

	if (stat(src, &st))
		err = error(c, "tree '%s': %s", src, strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		err = error(c, "tree '%s': not a directory", src);
	else
		err = tree_copy(c, argv[1], src, &st);
	if (!err && c->dr)
		dr_include(c, src, argv[1]);
	free(src);
	return err;
}

static int do_kmod(struct cut *c, char **argv)
{
	int err = 0;

	c->kmod_used = true;
	for (int i = 1; argv[i]; i++) {
		struct kmod_list *list = NULL;
		int r;

		r = kmod_setup(c, argv[i]);
		if (r)
			return r;
		r = km.kmod_module_new_from_lookup(c->kctx, argv[i], &list);
		if (r < 0) {
			err = error(c, "kmod '%s': lookup: %s", argv[i],
				    strerror(-r));
			continue;
		}
		if (!list) {
			char *cfg = xstrdup(argv[i]);

			for (char *p = cfg; *p; p++)
				*p = *p == '-' ? '_' : toupper((unsigned char)*p);
			err = error(c, "kmod '%s': not in '%s' (is CONFIG_%s=m? run make rapido-config)",
				    argv[i], c->kdir, cfg);
			free(cfg);
			continue;
		}
		err = mod_visit_list(c, list) ?: err;
		km.kmod_module_unref_list(list);
		if (c->dr)
			err = dr_word(c, &c->dr->drivers, "--add-drivers",
				      argv[i]) ?: err;
	}
	return err;
}

static int parse_manifest(struct cut *c, const char *path);

static int do_include(struct cut *c, char **argv)
{
	char *p = manifest_path(c, argv[1]);
	int err = parse_manifest(c, p);

	free(p);
	return err;
}

static const struct directive {
	const char *name;
	int min, max;		/* fields after the directive; -1: any */
	const char *usage;
	/* argv: the directive and its fields, NULL-terminated */
	int (*fn)(struct cut *c, char **argv);
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

/* Append the value of ${NAME} (@n bytes at @name); error if undefined. */
static int expand_var(struct cut *c, struct sbuf *b, const char *name,
		      size_t n)
{
	for (size_t i = 0; i < c->ndefs; i++)
		if (strlen(c->defs[i].name) == n &&
		    !strncmp(c->defs[i].name, name, n)) {
			sbuf_str(b, c->defs[i].val);
			return 0;
		}
	return error(c, "'${%.*s}': undefined variable (pass -D %.*s=VALUE)",
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
static int split_fields(struct cut *c, const char *s, struct sbuf *b,
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
					return error(c, "more than %d fields",
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
			return error(c, "unterminated %c quote (a ' or \" in a name is written \\' or \\\")",
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

			err = expand_var(c, b, s + 2, end - s - 2) ?: err;
			s = end;
		} else {
			sbuf_add(b, s, 1);
		}
	}
	return err ?: (int)nf;
}

static int parse_line(struct cut *c, char *raw)
{
	const struct directive *d = NULL;
	char *line, *argv[MAX_FIELDS + 1];
	size_t off[MAX_FIELDS];
	struct sbuf b = { 0 };
	int argc, nargs, err;

	line = raw + strspn(raw, " \t\r\n");
	if (!*line || *line == '#')
		return 0;
	argc = split_fields(c, line, &b, off);
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
		err = error(c, "'%s': unknown directive (bin, file, dir, slink, nod, tree, kmod, include)",
			    argv[0]);
	else if (nargs < d->min || (d->max >= 0 && nargs > d->max))
		err = error(c, "'%s': wrong number of fields (%d; usage: %s %s)",
			    d->name, nargs, d->name, d->usage);
	else
		err = d->fn(c, argv);
	free(b.s);
	return err;
}

static int parse_manifest(struct cut *c, const char *path)
{
	struct manifest m = { .path = path, .up = c->cur };
	char *line = NULL;
	size_t cap = 0;
	struct stat st;
	int depth = 0, err = 0;
	FILE *f;

	f = fopen(path, "re");
	if (!f || fstat(fileno(f), &st)) {
		err = error(c, "'%s': %s", path, strerror(errno));
		if (f)
			fclose(f);
		return err;
	}
	for (struct manifest *u = c->cur; u; u = u->up, depth++) {
		struct sbuf chain = { 0 };

		if (u->dev != st.st_dev || u->ino != st.st_ino)
			continue;
		for (struct manifest *w = c->cur; w != u->up; w = w->up) {
			struct sbuf t = { 0 };

			sbuf_str(&t, w->path);
			sbuf_str(&t, " -> ");
			sbuf_str(&t, chain.s ?: "");
			free(chain.s);
			chain = t;
		}
		err = error(c, "include '%s': include loop (%s%s)", path,
			    chain.s, path);
		free(chain.s);
		fclose(f);
		return err;
	}
	if (depth >= MAX_INCLUDE) {
		fclose(f);
		return error(c, "include '%s': nested more than %d deep", path,
			     MAX_INCLUDE);
	}
	m.dev = st.st_dev;
	m.ino = st.st_ino;
	m.dir = dir_of(path);
	c->cur = &m;
	while (getline(&line, &cap, f) > 0) {
		m.line++;
		err = parse_line(c, line) ?: err;
	}
	if (ferror(f))
		err = error(c, "'%s': %s", path, strerror(errno));
	c->cur = m.up;
	free(line);
	free(m.dir);
	fclose(f);
	return err;
}

/* ---- archive layout ----------------------------------------------------- */

/* Path order with '/' lowest, so a dir's subtree follows it directly. */
static int path_cmp(const void *a, const void *b)
{
	const unsigned char *p = (const unsigned char *)
				 (*(struct entry *const *)a)->path;
	const unsigned char *q = (const unsigned char *)
				 (*(struct entry *const *)b)->path;

	for (; *p && *p == *q; p++, q++)
		;
	if (*p == *q)
		return 0;
	if (*p == '/' || !*q)
		return *q ? -1 : 1;
	if (*q == '/' || !*p)
		return *p ? 1 : -1;
	return *p < *q ? -1 : 1;
}

/* Hardlink groups: same host inode and mode; ties broken by archive order. */
static int link_cmp(const void *a, const void *b)
{
	const struct entry *x = *(struct entry *const *)a;
	const struct entry *y = *(struct entry *const *)b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	if (x->mode != y->mode)
		return x->mode < y->mode ? -1 : 1;
	return x->cino < y->cino ? -1 : x->cino > y->cino;
}

/* Sorted entries; inode numbers, nlink and data carriers assigned. */
static struct entry **layout(struct cut *c, size_t *np)
{
	struct entry **v = xcalloc(c->img.n, sizeof(*v)), **files;
	size_t n = 0, nf = 0;

	for (size_t i = 0; i < c->img.nb; i++)
		for (struct hnode *h = c->img.b[i]; h; h = h->next)
			v[n++] = container_of(h, struct entry, node);
	qsort(v, n, sizeof(*v), path_cmp);
	files = xcalloc(n, sizeof(*files));
	for (size_t i = 0; i < n; i++) {
		v[i]->cino = i;		/* archive position, for now */
		v[i]->nlink = v[i]->kind == K_DIR ? 2 : 1;
		v[i]->carrier = true;
		if (v[i]->kind == K_FILE)
			files[nf++] = v[i];
	}
	qsort(files, nf, sizeof(*files), link_cmp);
	for (size_t i = 0, j; i < nf; i = j) {
		for (j = i + 1; j < nf && files[j]->dev == files[i]->dev &&
		     files[j]->ino == files[i]->ino &&
		     files[j]->mode == files[i]->mode; j++)
			;
		for (size_t k = i; k < j; k++) {
			files[k]->nlink = j - i;
			files[k]->carrier = k == j - 1;
			/* the first link's position names the group */
			files[k]->cino = files[i]->cino;
		}
	}
	free(files);
	/* sequential inode numbers in archive order, shared by links */
	for (size_t i = 0, ino = 1; i < n; i++)
		v[i]->cino = v[i]->cino == i ? ino++ : v[v[i]->cino]->cino;
	*np = n;
	return v;
}

/* ---- output ------------------------------------------------------------- */

/*
 * The archive goes to @fd, or, to find out whether an existing output
 * already has these bytes, is compared with @cmp_fd: then -ESTALE means
 * "differs" and nothing is written.
 */
/*
 * Headers and file data go through one buffer, so a whole image is a few
 * 256 KiB writes; only where copy_file_range(2) can share extents or copy
 * server-side (@share_dev, see out_setup) does file data bypass it.
 */
struct out {
	int fd;
	int cmp_fd;
	off_t off;		/* file offset after what is buffered */
	bool share;		/* copy_file_range from files on share_dev */
	dev_t share_dev;
	size_t blen;
	char buf[1 << 18];
	char cbuf[1 << 18];	/* compare mode: the existing bytes */
};

/* Compare @n bytes at @p with the existing output at offset @off. */
static int out_cmp(struct out *o, const char *p, size_t n, off_t off)
{
	while (n) {
		ssize_t k = pread(o->cmp_fd, o->cbuf,
				  n < sizeof(o->cbuf) ? n : sizeof(o->cbuf),
				  off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (!k || memcmp(p, o->cbuf, k))
			return -ESTALE;
		p += k;
		n -= k;
		off += k;
	}
	return 0;
}

static int out_flush(struct out *o)
{
	if (o->cmp_fd >= 0) {
		int err = out_cmp(o, o->buf, o->blen, o->off - o->blen);

		o->blen = 0;
		return err;
	}
	for (size_t done = 0; done < o->blen;) {
		ssize_t n = write(o->fd, o->buf + done, o->blen - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += n;
	}
	o->blen = 0;
	return 0;
}

static int out_write(struct out *o, const void *p, size_t n)
{
	while (n) {
		size_t k = sizeof(o->buf) - o->blen;

		if (!k) {
			int err = out_flush(o);

			if (err)
				return err;
			continue;
		}
		k = k < n ? k : n;
		memcpy(o->buf + o->blen, p, k);
		o->blen += k;
		o->off += k;
		p = (const char *)p + k;
		n -= k;
	}
	return 0;
}

static int out_zero(struct out *o, size_t n)
{
	static const char zero[BLOCK];
	int err = 0;

	while (n && !err) {
		size_t k = n < sizeof(zero) ? n : sizeof(zero);

		err = out_write(o, zero, k);
		n -= k;
	}
	return err;
}

static int out_align(struct out *o, size_t a)
{
	return out_zero(o, (a - o->off % a) % a);
}

/*
 * copy_file_range(2) can't do this (across filesystems before 5.19; a fs
 * without support): a capability, so read/write instead. Any other errno,
 * a missing syscall included (hosts older than 4.5), is an error.
 */
static bool cfr_unsupported(int e)
{
	return e == EXDEV || e == EINVAL || e == EOPNOTSUPP;
}

/*
 * Filesystems on which copy_file_range(2) within the filesystem shares
 * extents (reflink) or copies on the server. Elsewhere it is a splice
 * loop, slower than read/write through the output buffer: 2.8 vs 1.9 ms
 * for simple's 55 files on ext4.
 */
static const unsigned long share_fs_table[] = {
	0x9123683e,	/* btrfs */
	0x58465342,	/* xfs */
	0xca451a4e,	/* bcachefs */
	0x7461636f,	/* ocfs2 */
	0x6969,		/* nfs */
	0xfe534d42,	/* smb2 */
	0xff534d42,	/* cifs */
};

/* Where does file data of this output go through copy_file_range? */
static void out_setup(struct out *o)
{
	struct statfs sf;
	struct stat st;

	o->share = false;
	if (fstatfs(o->fd, &sf) || fstat(o->fd, &st))
		return;		/* then through the buffer: slower, not wrong */
	for (size_t i = 0; i < ARRAY_SIZE(share_fs_table); i++)
		if ((unsigned long)sf.f_type == share_fs_table[i])
			o->share = true;
	o->share_dev = st.st_dev;
}

/* Read @len bytes of @fd into the output buffer, flushing as it fills. */
static int out_read(struct out *o, int fd, off_t len)
{
	int err = 0;

	while (!err && len > 0) {
		size_t room = sizeof(o->buf) - o->blen;
		ssize_t n;

		if (!room) {
			err = out_flush(o);
			continue;
		}
		n = read(fd, o->buf + o->blen, len < (off_t)room ?
			 (size_t)len : room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n ? -errno : -ENODATA;
		o->blen += n;
		o->off += n;
		len -= n;
	}
	return err;
}

/*
 * Copy @len bytes of @fd (on device @dev) to the output: copy_file_range
 * where it shares extents (see out_setup), else through the buffer.
 */
static int out_copy(struct cut *c, struct out *o, int fd, dev_t dev,
		    off_t len)
{
	int err;

	if (!o->share || dev != o->share_dev || o->cmp_fd >= 0)
		return out_read(o, fd, len);
	err = out_flush(o);
	while (!err && len > 0 && !c->cfr_broken) {
		ssize_t n = copy_file_range(fd, NULL, o->fd, NULL, len, 0);

		if (n > 0) {
			len -= n;
			o->off += n;
		} else if (!n) {
			return -ENODATA;	/* the file shrank */
		} else if (cfr_unsupported(errno)) {
			c->cfr_broken = true;
		} else if (errno != EINTR) {
			return -errno;
		}
	}
	return err ?: out_read(o, fd, len);
}

/*
 * @n zero bytes of a sparse file: a hole in the output too (the output's
 * position moves on, nothing is written), compared as zeros.
 */
static int out_hole(struct out *o, off_t n)
{
	int err;

	if (o->cmp_fd >= 0)
		return out_zero(o, n);
	err = out_flush(o);
	if (!err && lseek(o->fd, n, SEEK_CUR) < 0)
		err = -errno;
	if (!err)
		o->off += n;
	return err;
}

/*
 * Copy the first @len bytes of sparse file @fd: its data ranges
 * (SEEK_DATA/SEEK_HOLE) as out_copy() does, its holes as holes.
 */
static int out_sparse(struct cut *c, struct out *o, int fd, dev_t dev,
		      off_t len)
{
	off_t pos = 0, data, hole;
	int err = 0;

	while (!err && pos < len) {
		data = lseek(fd, pos, SEEK_DATA);
		if (data < 0 && errno != ENXIO)
			return -errno;
		if (data < 0 || data > len)
			data = len;	/* a hole to the end */
		if (data > pos)
			err = out_hole(o, data - pos);
		pos = data;
		if (err || pos == len)
			break;
		hole = lseek(fd, pos, SEEK_HOLE);
		if (hole < 0 || lseek(fd, pos, SEEK_SET) < 0)
			return -errno;
		if (hole > len)
			hole = len;
		err = out_copy(c, o, fd, dev, hole - pos);
		pos = hole;
	}
	return err;
}

/* namesize making data start at a multiple of @BLOCK; 0 if impossible. */
static size_t aligned_namesize(off_t off, size_t len)
{
	size_t ns = (BLOCK - (off + HDR_LEN) % BLOCK) % BLOCK;

	if (ns < len + 1)
		ns += BLOCK;
	return ns <= NAME_MAX_LEN ? ns : 0;
}

static int out_header(struct out *o, unsigned int ino, mode_t mode,
		      unsigned int nlink, time_t mtime, size_t size,
		      unsigned int rmaj, unsigned int rmin, const char *name,
		      size_t namesize)
{
	char h[HDR_LEN + 1];
	size_t len = strlen(name);
	int err;

	if (namesize <= len || namesize > NAME_MAX_LEN)
		return -ENAMETOOLONG;
	snprintf(h, sizeof(h),
		 "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 ino, (unsigned int)mode, 0, 0, nlink, (unsigned int)mtime,
		 (unsigned int)size, 0, 0, rmaj, rmin,
		 (unsigned int)namesize, 0);
	err = out_write(o, h, HDR_LEN);
	err = err ?: out_write(o, name, len);
	err = err ?: out_zero(o, namesize - len);
	return err ?: out_align(o, 4);
}

static time_t entry_mtime(const struct cut *c, const struct entry *e)
{
	if (c->have_epoch)
		return c->epoch;
	return e->kind == K_FILE ? e->mtime : 0;
}

static struct entry *parent_of(struct cut *c, const struct entry *e)
{
	char *p = dir_of(e->path);
	struct entry *d = img_get(c, p);

	free(p);
	return d;
}

/*
 * The name of @e (@len bytes) can't be padded far enough to align its
 * data: namesize is capped at PATH_MAX by the kernel. So a copy of its
 * parent dir's entry goes first, its name padded to shift @e's header to
 * where it can be aligned. The kernel and GNU cpio take a repeated dir
 * entry as a no-op; the root's stands as ".".
 */
static int out_filler(struct cut *c, struct out *o, const struct entry *e,
		      size_t len)
{
	const struct entry *d = parent_of(c, e);
	const char *name = d ? d->path + 1 : ".";
	size_t ns = strlen(name) + 1;

	while (!aligned_namesize((o->off + HDR_LEN + ns + 3) & ~(off_t)3,
				 len))
		if (++ns > NAME_MAX_LEN)
			return error(c, "'%s': name too long to align",
				     e->path);
	return out_header(o, d ? d->cino : 0, S_IFDIR | (d ? d->mode : 0755),
			  2, c->have_epoch ? c->epoch : 0, 0, 0, 0, name, ns);
}

/* A regular file; data of a big one starts 4096-aligned. */
static int out_file(struct cut *c, struct out *o, const struct entry *e)
{
	size_t size = e->carrier ? (size_t)e->size : 0;
	const char *name = e->path + 1;
	size_t len = strlen(name), ns = len + 1;
	int fd = -1, err = 0;

	if (size) {
		fd = open(e->src, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return error(c, "'%s': %s", e->src, strerror(errno));
	}
	if (size >= ALIGN_MIN) {
		if (!aligned_namesize(o->off, len))
			err = out_filler(c, o, e, len);
		ns = aligned_namesize(o->off, len);
	}
	err = err ?: out_header(o, e->cino, S_IFREG | e->mode, e->nlink,
				entry_mtime(c, e), size, 0, 0, name, ns);
	if (!err && size && e->alloc < e->size)
		err = out_sparse(c, o, fd, e->dev, size);
	else if (!err && size)
		err = out_copy(c, o, fd, e->dev, size);
	if (err == -ENODATA)
		err = error(c, "'%s': changed size while being copied",
			    e->src);
	err = err ?: out_align(o, 4);
	if (fd >= 0)
		close(fd);
	return err;
}

static int out_entry(struct cut *c, struct out *o, const struct entry *e)
{
	const char *name = e->path + 1;
	const char *body = NULL;
	size_t len = 0;
	mode_t type = kinds[e->kind].type;
	int err;

	if (e->kind == K_FILE)
		return out_file(c, o, e);
	if (e->kind == K_SLINK) {
		body = e->target;
		len = strlen(body);
	} else if (e->kind == K_DATA) {
		body = e->data;
		len = e->len;
	} else if (e->kind == K_NOD && e->nodtype == 'b') {
		type = S_IFBLK;
	}
	err = out_header(o, e->cino, type | e->mode, e->nlink,
			 entry_mtime(c, e), len, e->major, e->minor, name,
			 strlen(name) + 1);
	err = err ?: out_write(o, body, len);
	return err ?: out_align(o, 4);
}

static int write_archive(struct cut *c, struct out *o, struct entry **v,
			 size_t n)
{
	int err = 0;

	for (size_t i = 0; i < n && !err; i++)
		err = out_entry(c, o, v[i]);
	err = err ?: out_header(o, 0, 0, 1, 0, 0, 0, 0, "TRAILER!!!", 11);
	return err ?: out_align(o, 512);
}

static int copy_base(struct cut *c, struct out *o, const char *base)
{
	struct stat st;
	int fd, err;

	fd = open(base, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		err = error(c, "'%s': %s", base, strerror(errno));
		if (fd >= 0)
			close(fd);
		return err;
	}
	err = out_copy(c, o, fd, st.st_dev, st.st_size);
	close(fd);
	if (err == -ENODATA)
		return error(c, "'%s': changed size while being copied", base);
	return err ?: out_align(o, BLOCK);
}

/* The base (if any), then the archive; 0, -ESTALE (compare) or -errno. */
static int emit(struct cut *c, struct out *o, const char *base,
		struct entry **v, size_t n)
{
	int err = base ? copy_base(c, o, base) : 0;

	err = err ?: write_archive(c, o, v, n);
	return err ?: out_flush(o);
}

/*
 * Does @path already hold exactly these bytes? Compared while generating,
 * so an unchanged output costs reads only. 0: same, -ESTALE: differs or
 * missing, else an error (reported).
 */
static int same_output(struct cut *c, struct out *o, const char *path,
		       const char *base, struct entry **v, size_t n)
{
	struct stat st;
	int err;

	o->fd = -1;
	o->cmp_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (o->cmp_fd < 0)
		return -ESTALE;
	err = emit(c, o, base, v, n);
	if (!err && (fstat(o->cmp_fd, &st) || st.st_size != o->off))
		err = -ESTALE;
	if (err && err != -ESTALE && err != -ECANCELED)
		err = error(c, "'%s': %s", path, strerror(-err));
	close(o->cmp_fd);
	return err;
}

/*
 * An upper bound of the output's size: the base, and per entry a header,
 * its name padded for alignment (a filler entry included) and its data.
 */
static off_t size_bound(const char *base, struct entry **v, size_t n)
{
	struct stat st;
	off_t sum = 512 + HDR_LEN + 16;

	if (base && !stat(base, &st))
		sum += st.st_size + BLOCK;
	for (size_t i = 0; i < n; i++) {
		const struct entry *e = v[i];

		sum += 2 * HDR_LEN + BLOCK + 2 * strlen(e->path) + 16;
		if (e->kind == K_FILE && e->carrier)
			sum += e->size;
		else if (e->kind == K_SLINK)
			sum += strlen(e->target);
		else if (e->kind == K_DATA)
			sum += e->len;
	}
	return sum;
}

/* @n bytes as "3.0 GiB" (or "512 bytes"), in one of 4 static buffers. */
static const char *human(off_t n)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB" };
	static char ring[4][32];
	static unsigned int next;
	char *s = ring[next++ % ARRAY_SIZE(ring)];
	double v = n;
	int u = -1;

	while (v >= 1024 && u < (int)ARRAY_SIZE(unit) - 1) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(s, sizeof(ring[0]), "%lld bytes", (long long)n);
	else
		snprintf(s, sizeof(ring[0]), "%.1f %s", v, unit[u]);
	return s;
}

/*
 * The data the image will carry (file contents, the base) against
 * --max-size, before anything is read or written: QEMU loads the whole
 * image into the guest's memory, a sparse file's holes included.
 * Returns 0 or a reported error; *@sparse: some file has holes.
 */
static int check_size(struct cut *c, const char *base, struct entry **v,
		      size_t n, bool *sparse)
{
	const struct entry *big = NULL;
	struct stat st;
	off_t sum = 0;

	*sparse = false;
	if (base && !stat(base, &st))
		sum += st.st_size;
	for (size_t i = 0; i < n; i++) {
		const struct entry *e = v[i];

		if (e->kind != K_FILE || !e->carrier)
			continue;
		sum += e->size;
		*sparse |= e->alloc < e->size;
		if (!big || e->size > big->size)
			big = e;
	}
	if (!c->max_size || sum <= c->max_size)
		return 0;
	if (!big)
		return error(c, "the image would carry %s of data (%lld bytes), above the limit of %s (--max-size)",
			     human(sum), (long long)sum, human(c->max_size));
	return error(c, "the image would carry %s of data (%lld bytes; largest '%s' from '%s', %s, %s allocated), above the limit of %s (--max-size)",
		     human(sum), (long long)sum, big->path, big->src,
		     human(big->size), human(big->alloc),
		     human(c->max_size));
}

/*
 * Write OUT.tmp, check it, rename it to OUT; but leave OUT (and its
 * mtime) alone if it already has these bytes.
 */
static int write_output(struct cut *c, const char *path, const char *base,
			struct entry **v, size_t n)
{
	struct out *o = xcalloc(1, sizeof(*o));
	char *tmp = xasprintf("%s.tmp", path);
	bool prealloc, sparse;
	struct stat st;
	int err;

	err = check_size(c, base, v, n, &sparse);
	if (err)
		goto out_free;
	err = same_output(c, o, path, base, v, n);
	if (!err)
		note(c, "'%s': unchanged", path);
	if (err != -ESTALE)
		goto out_free;
	memset(o, 0, sizeof(*o));
	o->cmp_fd = -1;
	o->fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (o->fd < 0) {
		err = error(c, "'%s': %s", tmp, strerror(errno));
		goto out_free;
	}
	/*
	 * Allocating the blocks up front makes ext4's buffered writes ~30%
	 * cheaper (no delayed-allocation reservation per page). Only a hint:
	 * where the fs can't, the writes allocate as usual. The unused tail
	 * is cut off below. Not with a sparse file: its holes stay holes.
	 */
	prealloc = !sparse && !fallocate(o->fd, 0, 0, size_bound(base, v, n));
	out_setup(o);
	err = emit(c, o, base, v, n);
	if (!err && prealloc && ftruncate(o->fd, o->off))
		err = -errno;
	if (err && err != -ECANCELED)
		err = error(c, "'%s': %s", tmp, strerror(-err));
	if (!err && (fstat(o->fd, &st) || st.st_size != o->off))
		err = error(c, "'%s': size %lld, expected %lld", tmp,
			    (long long)st.st_size, (long long)o->off);
	if (close(o->fd) && !err)
		err = error(c, "'%s': %s", tmp, strerror(errno));
	if (!err && rename(tmp, path))
		err = error(c, "'%s': %s", path, strerror(errno));
	if (err)
		unlink(tmp);
out_free:
	free(tmp);
	free(o);
	return err;
}

static void list_entry(const struct entry *e)
{
	printf("%s %s", kinds[e->kind].name, e->path);
	kinds[e->kind].list(e);
}

/* ---- dracut: running ---------------------------------------------------- */

struct args {
	char **v;
	size_t n;
};

static void args_add(struct args *a, const char *s)
{
	a->v = xrealloc(a->v, (a->n + 2) * sizeof(*a->v));
	a->v[a->n++] = xstrdup(s);
	a->v[a->n] = NULL;
}

static void args_free(struct args *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	memset(a, 0, sizeof(*a));
}

/* dracut's argv: no dracut modules (rapido-init is /init), no host config. */
static void dr_argv(struct cut *c, struct args *a, const char *work,
		    const char *out)
{
	static const char *const fixed[] = {
		"dracut", "--force", "--no-compress", "--no-hostonly",
		"--no-hostonly-cmdline", "--no-early-microcode", "--nostrip",
		"--reproducible", "--modules", " ",
	};
	const struct dracut *d = c->dr;
	char *p;

	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		args_add(a, fixed[i]);
	args_add(a, "--conf");
	p = xasprintf("%s/dracut.conf", work);
	args_add(a, p);
	free(p);
	args_add(a, "--confdir");
	p = xasprintf("%s/conf.d", work);
	args_add(a, p);
	free(p);
	args_add(a, "--tmpdir");
	args_add(a, work);
	if (c->kmod_used) {
		args_add(a, "--kver");
		args_add(a, c->kver);
		args_add(a, "--kmoddir");
		args_add(a, c->kdir);
		args_add(a, "--add-drivers");
		args_add(a, d->drivers.s ?: "");
	} else {
		args_add(a, "--no-kernel");
	}
	if (d->install.len) {
		args_add(a, "--install");
		args_add(a, d->install.s);
	}
	if (d->nstage) {
		args_add(a, "--include");
		p = xasprintf("%s/stage", work);
		args_add(a, p);
		free(p);
		args_add(a, "/");
	}
	for (size_t i = 0; i + 1 < d->ninc; i += 2) {
		args_add(a, "--include");
		args_add(a, d->inc[i]);
		args_add(a, d->inc[i + 1]);
	}
	args_add(a, out);
}

/* mkdir -p of the directories above @path (0755). */
static int mkdir_parents(char *path)
{
	for (char *s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(path, 0755) && errno != EEXIST) {
			*s = '/';
			return -errno;
		}
		*s = '/';
	}
	return 0;
}

static int stage_dir(const char *p, const struct dr_stage *st)
{
	if (mkdir(p, st->mode) && errno != EEXIST)
		return -errno;
	return chmod(p, st->mode) ? -errno : 0;
}

static int stage_slink(const char *p, const struct dr_stage *st)
{
	return symlink(st->data, p) ? -errno : 0;
}

static int stage_data(const char *p, const struct dr_stage *st)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, st->data, st->len) != (ssize_t)st->len)
		err = errno ? -errno : -EIO;
	if (!err && fchmod(fd, st->mode))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	return err;
}

static int (*const stage_ops[])(const char *p, const struct dr_stage *st) = {
	[DR_DIR] = stage_dir,
	[DR_SLINK] = stage_slink,
	[DR_DATA] = stage_data,
};

/* The staging tree @work/stage: dirs with their modes, symlinks, data. */
static int dr_make_stage(struct cut *c, const char *work)
{
	const struct dracut *d = c->dr;
	int err = 0;

	for (size_t i = 0; i < d->nstage; i++) {
		const struct dr_stage *st = &d->stage[i];
		char *p = xasprintf("%s/stage%s%s", work,
				    st->dest[0] == '/' ? "" : "/", st->dest);
		int e = mkdir_parents(p);

		e = e ?: stage_ops[st->kind](p, st);
		if (e)
			err = error(c, "'%s': %s", p, strerror(-e));
		free(p);
	}
	return err;
}

static int rm_one(const char *path, const struct stat *st, int type,
		  struct FTW *ftw)
{
	return remove(path) ? -errno : 0;
}

/* Copy @log to stderr (dracut's own words on its failure). */
static void show_log(const char *log)
{
	char buf[4096];
	ssize_t n;
	int fd = open(log, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, n, stderr) != (size_t)n)
			break;
	close(fd);
}

/* Run @argv, its output into @log; 0, or an error (reported). */
static int dr_exec(struct cut *c, char **argv, const char *log)
{
	int fd, st;
	pid_t pid;

	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return error(c, "'%s': %s", log, strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(fd);
		return error(c, "'%s': fork: %s", argv[0], strerror(errno));
	}
	if (!pid) {
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (nul < 0 || dup2(nul, 0) < 0 || dup2(fd, 1) < 0 ||
		    dup2(fd, 2) < 0)
			_exit(127);
		execvp(argv[0], argv);
		dprintf(2, PROG ": '%s': %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fd);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return error(c, "'%s': wait: %s", argv[0],
				     strerror(errno));
	if (WIFEXITED(st) && !WEXITSTATUS(st))
		return 0;
	show_log(log);
	if (WIFSIGNALED(st))
		return error(c, "'%s': killed by signal %d (its output above)",
			     argv[0], WTERMSIG(st));
	return error(c, "'%s': failed with exit code %d (its output above)",
		     argv[0], WEXITSTATUS(st));
}

/*
 * Have dracut write @output: a scratch dir under the --tmpdir (default:
 * beside @output) holds an empty config, the staging tree and dracut's own
 * tmpdir; dracut writes OUTPUT.tmp, renamed on success. @list: print the
 * argv (scratch dir "WORK"), run nothing.
 */
static int dr_write(struct cut *c, const char *output, bool list)
{
	static const struct dr_stage empty = { .kind = DR_DATA, .mode = 0644 };
	char *dir, *work, *tmp, *conf = NULL, *confd = NULL, *log = NULL;
	struct args a = { 0 };
	int err = 0;

	if (list) {
		dr_argv(c, &a, "WORK", output ?: "OUTPUT");
		for (size_t i = 0; i < a.n; i++)
			printf("%s\n", a.v[i]);
		args_free(&a);
		return 0;
	}
	dir = c->tmpdir ? xstrdup(c->tmpdir) : dir_of(output);
	work = xasprintf("%s/rapido-dracut.XXXXXX", dir);
	tmp = xasprintf("%s.tmp", output);
	if (!mkdtemp(work)) {
		err = error(c, "'%s': mkdtemp: %s", work, strerror(errno));
		goto out;
	}
	conf = xasprintf("%s/dracut.conf", work);
	confd = xasprintf("%s/conf.d", work);
	log = xasprintf("%s/dracut.log", work);
	err = stage_data(conf, &empty);
	if (!err && mkdir(confd, 0755))
		err = -errno;
	if (err)
		err = error(c, "'%s': %s", work, strerror(-err));
	err = err ?: dr_make_stage(c, work);
	dr_argv(c, &a, work, tmp);
	if (c->verbose) {
		fputs(PROG ":", stderr);
		for (size_t i = 0; i < a.n; i++)
			fprintf(stderr, " '%s'", a.v[i]);
		fputc('\n', stderr);
	}
	err = err ?: dr_exec(c, a.v, log);
	if (!err && rename(tmp, output))
		err = error(c, "'%s': %s", output, strerror(errno));
	if (err)
		unlink(tmp);
	nftw(work, rm_one, 16, FTW_DEPTH | FTW_PHYS);
out:
	args_free(&a);
	free(conf);
	free(confd);
	free(log);
	free(tmp);
	free(work);
	free(dir);
	return err;
}

static void dracut_free(struct dracut *d)
{
	if (!d)
		return;
	free(d->install.s);
	free(d->drivers.s);
	for (size_t i = 0; i < d->ninc; i++)
		free(d->inc[i]);
	free(d->inc);
	for (size_t i = 0; i < d->nstage; i++) {
		free(d->stage[i].dest);
		free(d->stage[i].data);
	}
	free(d->stage);
	free(d);
}

/* ---- main --------------------------------------------------------------- */

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
		"usage: " PROG " [options] MANIFEST...\n"
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
		"SOURCE_DATE_EPOCH (env): mtime of every entry (reproducible)\n");
}

static void seen_free(struct hnode *h)
{
	struct seen *s = container_of(h, struct seen, node);

	free(s->name);
	free(s);
}

static void cut_free(struct cut *c)
{
	htab_free(&c->img, entry_free);
	htab_free(&c->hobjs, hobj_free);
	htab_free(&c->mods, seen_free);
	htab_free(&c->hosts, seen_free);
	for (size_t i = 0; i < c->nldpath; i++)
		free(c->ldpath[i]);
	free(c->ldpath);
	free(c->defs);
	free(c->kdir);
	free(c->cwd);
	free(c->modlist.s);
	if (c->kctx)
		km.kmod_unref(c->kctx);
	dracut_free(c->dr);
}

/* util.c's messages (this program still has its own, for now) */
extern const char *const prog;
const char *const prog = PROG;

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
	const char *output = NULL, *base = NULL, *sde;
	struct cut c = { 0 };
	struct entry **v;
	bool list = false;
	size_t n;
	int opt;

	c.max_size = MAX_SIZE;
	while ((opt = getopt_long(argc, argv, "o:b:m:k:D:M:lvh", opts,
				  NULL)) != -1) {
		char *eq;

		switch (opt) {
		case 'o':
			output = optarg;
			break;
		case 'b':
			base = optarg;
			break;
		case 'm':
			c.moddir = optarg;
			break;
		case 'k':
			c.kver = optarg;
			break;
		case 'D':
			eq = strchr(optarg, '=');
			if (!eq || eq == optarg) {
				fprintf(stderr, PROG ": '%s': -D wants NAME=VALUE\n",
					optarg);
				return 2;
			}
			*eq = '\0';
			c.defs = xrealloc(c.defs, (c.ndefs + 1) *
					  sizeof(*c.defs));
			c.defs[c.ndefs++] = (struct define){ optarg, eq + 1 };
			break;
		case 'l':
			list = true;
			break;
		case 'v':
			c.verbose = true;
			break;
		case 'R':
			c.dr = xcalloc(1, sizeof(*c.dr));
			break;
		case 'T':
			c.tmpdir = optarg;
			break;
		case 'M':
			if (parse_size(optarg, &c.max_size)) {
				fprintf(stderr, PROG ": '%s': --max-size wants a size in bytes, or with a K, M, G or T suffix\n",
					optarg);
				return 2;
			}
			break;
		case 'h':
			show_usage(stdout);
			return 0;
		default:
			show_usage(stderr);
			return 2;
		}
	}
	if (optind >= argc || (!output && !list)) {
		fprintf(stderr, PROG ": %s\n", optind >= argc ?
			"no MANIFEST given" : "no --output FILE given");
		show_usage(stderr);
		return 2;
	}
	if (c.dr && base) {
		fprintf(stderr, PROG ": --dracut writes a whole image: no --base (append with a second, native run)\n");
		return 2;
	}
	if (c.dr && !list) {
		char *dracut = find_in(getenv("PATH") ?: default_path,
				       "dracut");

		if (!dracut) {
			fprintf(stderr, PROG ": 'dracut': not found in PATH: install it (apt-get install dracut-core), or use CUT=native\n");
			return 1;
		}
		free(dracut);
	}
	sde = getenv("SOURCE_DATE_EPOCH");
	if (sde && *sde) {
		char *end;
		long long t;

		errno = 0;
		t = strtoll(sde, &end, 10);
		if (*end || errno || t < 0 || t > UINT32_MAX) {
			fprintf(stderr, PROG ": SOURCE_DATE_EPOCH '%s': not a time in seconds (0..%u)\n",
				sde, UINT32_MAX);
			return 2;
		}
		c.have_epoch = true;
		c.epoch = t;
	}
	c.cwd = getcwd(NULL, 0);
	if (!c.cwd) {
		fprintf(stderr, PROG ": cannot get the current directory: %s\n",
			strerror(errno));
		return 1;
	}
	for (int i = optind; i < argc; i++)
		parse_manifest(&c, argv[i]);
	if (c.kmod_used && !c.errors) {
		struct entry w = { .kind = K_DATA, .mode = 0644,
				   .data = c.modlist.s ?: "",
				   .len = c.modlist.len };

		img_add(&c, "/rapido/modules", &w, NULL);
		if (c.dr)
			dr_stage(&c, DR_DATA, "/rapido/modules", 0644, w.data,
				 w.len);
	}
	if (!c.errors && c.dr) {
		dr_write(&c, output, list);
	} else if (!c.errors) {
		v = layout(&c, &n);
		if (list)
			for (size_t i = 0; i < n; i++)
				list_entry(v[i]);
		else
			write_output(&c, output, base, v, n);
		free(v);
		if (list && (fflush(stdout) || ferror(stdout)))
			error(&c, "'stdout': %s", strerror(errno));
	}
	if (c.errors)
		fprintf(stderr, PROG ": %u error%s, nothing written\n",
			c.errors, c.errors == 1 ? "" : "s");
	cut_free(&c);
	return c.errors ? 1 : 0;
}
