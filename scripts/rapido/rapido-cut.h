/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rapido-cut.h - the units of rapido-cut, as scripts/mod splits modpost:
 *
 *   rapido-cut.c           options, the manifest-located messages, main
 *   rapido-cut-image.c     the image model: entries by path, the walk
 *                          that places them, conflicts, the roots (what
 *                          the manifests asked for), the archive order
 *   rapido-cut-manifest.c  manifest lines: quoting, ${VARS}, directives
 *   rapido-cut-elf.c       the closure of host files: ELF DT_NEEDED,
 *                          PT_INTERP, RUNPATH, ld.so.conf, #! lines
 *   rapido-cut-kmod.c      the closure of kernel modules (libkmod)
 *   rapido-cut-newc.c      the newc writer: alignment, holes, --max-size
 *   rapido-cut-dracut.c    --dracut: the finished image and its roots
 *                          turned into dracut's argv, and dracut run
 *
 * Internal functions return 0 or -errno; -ECANCELED means "an error,
 * already reported" (counted in util's nerrors).
 */
#ifndef RAPIDO_CUT_H
#define RAPIDO_CUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "util.h"

#define MAX_INCLUDE	32	/* include nesting, ld.so.conf nesting too */
#define MAX_HOPS	40	/* symlinks followed in one walk, as ELOOP */

#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#endif

/* ---- rapido-cut.c: messages that name the manifest line ---------------- */

/* where a message points: a manifest and a line of it */
struct cut_loc {
	const char *file;	/* lives as long as the run */
	unsigned int line;
};

extern bool cut_verbose;	/* -v: notes */

/* the location of the messages that follow (NULL: none) */
void cut_at(const struct cut_loc *loc);
struct cut_loc cut_where(void);
/* "rapido-cut: FILE:LINE: ...": counted (nerrors); returns -ECANCELED */
int cut_error(const char *fmt, ...) __printf(1, 2);
/* the same, strerror(@err) appended (@err: errno or -errno) */
int cut_error_errno(int err, const char *fmt, ...) __printf(2, 3);
void cut_warn(const char *fmt, ...) __printf(1, 2);
/* with -v only, and without a location */
void cut_note(const char *fmt, ...) __printf(1, 2);

/* growable string */
struct sbuf {
	char *s;
	size_t len, cap;
};

void sbuf_add(struct sbuf *b, const char *p, size_t n);
void sbuf_str(struct sbuf *b, const char *s);
/* the directory part of @path ("." if none) */
char *dir_of(const char *path);
/* @name relative to @dir, unless it is absolute or @dir is NULL or "." */
char *path_resolve(const char *dir, const char *name);

/* ---- rapido-cut-image.c ------------------------------------------------ */

/* hash table of string keys (chained, intrusive) */
struct hnode {
	struct hnode *next;
	const char *key;
	uint32_t hash;
};

struct htab {
	struct hnode **b;
	size_t nb, n;
};

struct hnode *htab_get(const struct htab *t, const char *key);
/* insert @n under @key (which must stay valid and not be present yet) */
void htab_put(struct htab *t, struct hnode *n, const char *key);
void htab_free(struct htab *t, void (*fn)(struct hnode *));
/* a set of names: false if @name was in it already */
bool set_add(struct htab *t, const char *name);
bool set_has(const struct htab *t, const char *name);
void set_free(struct htab *t);

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

/*
 * A root: one thing a manifest line asked for, as written, in manifest
 * order (the image holds it and its closure). Native output needs only
 * the image; --dracut works from the roots.
 */
enum root_kind { R_BIN, R_FILE, R_DIR, R_SLINK, R_NOD, R_TREE, R_KMOD };

struct root {
	enum root_kind kind;
	struct cut_loc at;	/* the manifest line */
	char *dest;		/* image path (file, dir, slink, nod, tree) */
	/* bin, file, tree: host path; slink: target; kmod: module name */
	char *src;
	mode_t mode;		/* file, dir, nod */
	mode_t src_mode;	/* file: the host file's permission bits */
	char nodtype;		/* nod */
	unsigned int major, minor;
};

struct image {
	struct htab tab;	/* path -> struct entry */
	struct root *roots;
	size_t nroots, roots_cap;
};

struct entry *img_get(const struct image *img, const char *path);
/* a directory (its parents too) */
int img_add_dir(struct image *img, const char *dest, mode_t mode);
/* a non-directory like @w; *@out (may be NULL): the entry in the image */
int img_add(struct image *img, const char *dest, const struct entry *w,
	    struct entry **out);
/* host file @src (stat @st, links followed) */
int img_add_file(struct image *img, const char *dest, const char *src,
		 const struct stat *st, mode_t mode, struct entry **out);
int img_add_slink(struct image *img, const char *dest, const char *target);
/* record @r (copied; at the current location) */
void img_add_root(struct image *img, const struct root *r);
/* archive order; inode numbers, nlink and data carriers assigned */
struct entry **img_layout(struct image *img, size_t *n);
/* --list: one line */
void img_list_entry(const struct entry *e);
/* S_IFMT bits of an entry */
mode_t entry_type(const struct entry *e);
void img_free(struct image *img);

/* ---- rapido-cut-elf.c -------------------------------------------------- */

/*
 * Host file @path at the same image path with all it needs (symlinks
 * kept, ELF interpreter and libraries, #! interpreter). 0, -ENOENT (not
 * reported: the caller says why it wanted the file) or a reported error.
 */
int host_add(struct image *img, const char *path);
/*
 * What host file @path (already in the image) needs: for ELF its
 * interpreter and libraries, for a #! script (if @scripts) its
 * interpreter. 0 or a reported error.
 */
int host_deps(struct image *img, const char *path, bool scripts);
void host_free(void);

/* ---- rapido-cut-kmod.c ------------------------------------------------- */

struct kmod_ctx;

struct kmods {
	const char *moddir;	/* --moddir: INSTALL_MOD_PATH */
	const char *kver;	/* --kver */
	char *kdir;		/* <moddir>/lib/modules/<kver>, absolute */
	bool used;		/* a kmod line was seen */
	int state;		/* 0: not set up, 1: ready, -1: failed */
	struct kmod_ctx *ctx;
	struct htab seen;	/* module names visited */
	struct sbuf list;	/* /rapido/modules: image paths, load order */
};

#define MODLIST_PATH	"/rapido/modules"

/* module @name with its dependencies, in load order */
int kmod_add(struct kmods *km, struct image *img, const char *name);
/* if a kmod line was seen: MODLIST_PATH, the modules in load order */
int kmod_finish(struct kmods *km, struct image *img);
void kmods_free(struct kmods *km);

/* ---- rapido-cut-manifest.c --------------------------------------------- */

struct define {
	const char *name, *val;
};

struct frame;

struct manifests {
	struct image *img;
	struct kmods *km;
	const struct define *defs;	/* -D NAME=VALUE */
	size_t ndefs;
	const char *cwd;
	struct frame *cur;	/* the include stack */
	char **files;		/* every manifest read (for locations) */
	size_t nfiles, files_cap;
};

int manifest_parse(struct manifests *m, const char *path);
void manifests_free(struct manifests *m);

extern const char *const default_path;
/* executable @name in the ':' separated @list of absolute dirs, or NULL */
char *find_exec(const char *list, const char *name);

/* ---- rapido-cut-newc.c ------------------------------------------------- */

struct newc_opts {
	const char *base;	/* --base: copied first, padded to 4096 */
	bool have_epoch;	/* SOURCE_DATE_EPOCH: every mtime */
	time_t epoch;
	off_t max_size;		/* of the data carried; 0: no limit */
};

/*
 * Entries @v (img_layout's) to @path through @path.tmp, unless @path
 * already holds these bytes. 0 or a reported error.
 */
int newc_write(const struct image *img, struct entry **v, size_t n,
	       const char *path, const struct newc_opts *o);

/* ---- rapido-cut-dracut.c ----------------------------------------------- */

struct dracut_opts {
	const char *output;
	const char *tmpdir;	/* scratch space (default: output's dir) */
	bool list;		/* print dracut's argv, run nothing */
};

/* is dracut installed? (reported if not) */
bool dracut_found(void);
/*
 * The finished image @img (its roots, its data entries) and modules @km
 * as dracut's argv: reports what dracut cannot express; then, with no
 * error so far, runs dracut (or prints its argv). 0 or reported errors.
 */
int dracut_cut(const struct image *img, const struct kmods *km,
	       const struct dracut_opts *o);

#endif /* RAPIDO_CUT_H */
