// SPDX-License-Identifier: GPL-2.0
/*
 * rapido-cut-image.c - the image model: entries by image path in a hash
 * table, placed by a walk that resolves each path inside the image (a
 * prefix that is a symlink on the host becomes the same symlink in the
 * image, so a usr-merged host gives a usr-merged image), conflicts
 * between what two lines ask for, the roots (each manifest line's
 * request, as written) and the archive order.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rapido-cut.h"

/* ---- hash table of string keys ----------------------------------------- */

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

struct hnode *htab_get(const struct htab *t, const char *key)
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

void htab_put(struct htab *t, struct hnode *n, const char *key)
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

void htab_free(struct htab *t, void (*fn)(struct hnode *))
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

struct seen {			/* a name in a set */
	struct hnode node;
	char *name;
};

bool set_has(const struct htab *t, const char *name)
{
	return htab_get(t, name);
}

bool set_add(struct htab *t, const char *name)
{
	struct seen *s;

	if (htab_get(t, name))
		return false;
	s = xcalloc(1, sizeof(*s));
	s->name = xstrdup(name);
	htab_put(t, &s->node, s->name);
	return true;
}

static void seen_free(struct hnode *h)
{
	struct seen *s = container_of(h, struct seen, node);

	free(s->name);
	free(s);
}

void set_free(struct htab *t)
{
	htab_free(t, seen_free);
}

/* ---- entries ----------------------------------------------------------- */

struct entry *img_get(const struct image *img, const char *path)
{
	struct hnode *n = htab_get(&img->tab, path);

	return n ? container_of(n, struct entry, node) : NULL;
}

static struct entry *img_new(struct image *img, const char *path, enum kind k)
{
	struct entry *e = xcalloc(1, sizeof(*e));

	e->path = xstrdup(path);
	e->kind = k;
	htab_put(&img->tab, &e->node, e->path);
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
static int img_walk(struct image *img, const char *path, bool follow_last,
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
		e = img_get(img, cand);
		if (!e && !lstat(cand, &st) && S_ISLNK(st.st_mode)) {
			n = readlink(cand, tgt, sizeof(tgt) - 1);
			if (n < 0) {
				err = -errno;
				break;
			}
			tgt[n] = '\0';
			e = img_new(img, cand, K_SLINK);
			e->target = xstrdup(tgt);
			e->mode = 0777;
		} else if (!e) {
			e = img_new(img, cand, K_DIR);
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

mode_t entry_type(const struct entry *e)
{
	if (e->kind == K_NOD && e->nodtype == 'b')
		return S_IFBLK;
	return kinds[e->kind].type;
}

static int conflict(const struct entry *e, const struct entry *w)
{
	if (e->kind != w->kind)
		return cut_error("'%s': already in the image as a %s, not a %s",
			     e->path, kinds[e->kind].name, kinds[w->kind].name);
	switch (e->kind) {
	case K_FILE:
		return cut_error("'%s': already in the image from '%s' (%04o), not '%s' (%04o)",
				 e->path, e->src, (unsigned int)e->mode, w->src,
				 (unsigned int)w->mode);
	case K_SLINK:
		return cut_error("'%s': already a symlink to '%s', not '%s'",
				 e->path, e->target, w->target);
	case K_DIR:
		return cut_error("'%s': already a dir with mode %04o, not %04o",
				 e->path, (unsigned int)e->mode,
				 (unsigned int)w->mode);
	default:
		return cut_error("'%s': already in the image as a different %s",
				 e->path, kinds[e->kind].name);
	}
}

static int walk_error(const char *path, int err)
{
	return cut_error("'%s': cannot place in the image: %s", path,
			 strerror(-err));
}

/* Add a directory (all its parents too). */
int img_add_dir(struct image *img, const char *dest, mode_t mode)
{
	struct entry *e, w = { .kind = K_DIR, .mode = mode };
	char *res;
	int err = img_walk(img, dest, true, &res);

	if (err)
		return walk_error(dest, err);
	e = img_get(img, res);
	free(res);
	if (!e)		/* the root is not in the archive */
		return 0;
	if (e->implicit) {
		e->mode = mode;
		e->implicit = false;
		return 0;
	}
	return e->mode == mode ? 0 : conflict(e, &w);
}

/*
 * Add a non-directory entry like @w at image path @dest. *@out is the
 * entry (new, or the identical one already there). Returns 0 or an error
 * already reported.
 */
int img_add(struct image *img, const char *dest, const struct entry *w,
	    struct entry **out)
{
	struct entry *e;
	char *res;
	int err = img_walk(img, dest, false, &res);

	if (err)
		return walk_error(dest, err);
	e = img_get(img, res);
	if (e) {
		free(res);
		if (e->kind != w->kind || !kinds[e->kind].same ||
		    !kinds[e->kind].same(e, w))
			return conflict(e, w);
		if (out)
			*out = e;
		return 0;
	}
	e = img_new(img, res, w->kind);
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
int img_add_file(struct image *img, const char *dest, const char *src,
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
		return cut_error("'%s': not a regular file", src);
	if (st->st_size > UINT32_MAX)
		return cut_error("'%s': too big for a newc archive (4 GiB max)",
				 src);
	return img_add(img, dest, &w, out);
}

int img_add_slink(struct image *img, const char *dest, const char *target)
{
	struct entry w = { .kind = K_SLINK, .mode = 0777,
			   .target = (char *)target };

	return img_add(img, dest, &w, NULL);
}

void img_add_root(struct image *img, const struct root *r)
{
	struct root *n;

	img->roots = xgrow(img->roots, &img->roots_cap, img->nroots,
			   sizeof(*img->roots));
	n = &img->roots[img->nroots++];
	*n = *r;
	n->at = cut_where();
	n->dest = r->dest ? xstrdup(r->dest) : NULL;
	n->src = r->src ? xstrdup(r->src) : NULL;
}

/* ---- archive order ----------------------------------------------------- */

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
struct entry **img_layout(struct image *img, size_t *np)
{
	struct entry **v = xcalloc(img->tab.n, sizeof(*v)), **files;
	size_t n = 0, nf = 0;

	for (size_t i = 0; i < img->tab.nb; i++)
		for (struct hnode *h = img->tab.b[i]; h; h = h->next)
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

void img_list_entry(const struct entry *e)
{
	printf("%s %s", kinds[e->kind].name, e->path);
	kinds[e->kind].list(e);
}

void img_free(struct image *img)
{
	htab_free(&img->tab, entry_free);
	for (size_t i = 0; i < img->nroots; i++) {
		free(img->roots[i].dest);
		free(img->roots[i].src);
	}
	free(img->roots);
	memset(img, 0, sizeof(*img));
}
