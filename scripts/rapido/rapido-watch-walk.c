// SPDX-License-Identifier: GPL-2.0
/*
 * rapido-watch-walk.c - the walk of rapido-watch --start: an inotify watch
 * on every directory under each ROOT (pruned paths aside) and on each
 * --file and the entries naming it, the ctimes looked at in the same walk;
 * and the watcher's log (DIR/watch.log).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/statfs.h>

#include "rapido-watch.h"

/*
 * Filesystems whose inodes can change without the local kernel queueing
 * an event: network and cluster filesystems, and FUSE (virtiofs too).
 * Magic numbers as in include/uapi/linux/magic.h and the filesystems'
 * sources.
 */
struct remote_fs {
	unsigned long magic;
	const char *name;
};

static const struct remote_fs remote_fs_table[] = {
	{ .magic = 0x6969, .name = "nfs" },
	{ .magic = 0x517b, .name = "smb" },
	{ .magic = 0xff534d42, .name = "cifs" },
	{ .magic = 0xfe534d42, .name = "smb2" },
	{ .magic = 0x65735546, .name = "fuse" },
	{ .magic = 0x01021997, .name = "9p" },
	{ .magic = 0x00c36400, .name = "ceph" },
	{ .magic = 0x5346414f, .name = "afs" },
	{ .magic = 0x6b414653, .name = "kafs" },
	{ .magic = 0x0bd00bd0, .name = "lustre" },
	{ .magic = 0x73757245, .name = "coda" },
	{ .magic = 0x7461636f, .name = "ocfs2" },
	{ .magic = 0x01161970, .name = "gfs2" },
	{ .magic = 0x47504653, .name = "gpfs" },
	{ .magic = 0x19830326, .name = "beegfs" },
	{ .magic = 0x20030528, .name = "orangefs" },
	{ .magic = 0x564c, .name = "ncpfs" },
};

bool newer(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

/*
 * @p made absolute against the current directory (the watcher changes
 * directory), trailing slashes dropped; symlinks are kept, as find keeps
 * them in the paths it prints.
 */
char *abs_path(const char *p)
{
	char cwd[PATH_MAX];
	char *s;
	size_t n;

	if (p[0] == '/') {
		s = xstrdup(p);
	} else {
		if (!getcwd(cwd, sizeof(cwd))) {
			error_errno(errno, "cannot make '%s' absolute", p);
			return NULL;
		}
		s = xasprintf("%s%s%s", cwd, strcmp(cwd, "/") ? "/" : "", p);
	}
	n = strlen(s);
	while (n > 1 && s[n - 1] == '/')
		s[--n] = '\0';
	return s;
}

/* @path + "/" + @name in @path (room: PATH_MAX); the new length or 0 */
size_t join(char *path, size_t len, const char *name)
{
	size_t nlen = strlen(name);
	size_t sep = path[len - 1] != '/';

	if (len + sep + nlen >= PATH_MAX)
		return 0;
	if (sep)
		path[len] = '/';
	memcpy(path + len + sep, name, nlen + 1);
	return len + sep + nlen;
}

/* ---- pruning: find's -path PRUNE -prune ---- */

int add_prune(struct opts *o, const char *arg)
{
	struct prune *p;
	char *path, *slash;
	size_t n;

	if (o->nprunes == PRUNES_MAX) {
		error("cannot prune '%s': too many --prune (the most is %d)",
		      arg, PRUNES_MAX);
		return -E2BIG;
	}
	path = abs_path(arg);
	if (!path)
		return -EINVAL;
	p = &o->prunes[o->nprunes++];
	n = strlen(path);
	p->prefix = n > 1 && path[n - 1] == '*';
	if (p->prefix)
		path[--n] = '\0';
	slash = strrchr(path, '/');
	p->dir = slash == path ? xstrdup("/") : xstrndup(path, slash - path);
	p->base = slash + 1;
	p->baselen = strlen(p->base);
	return 0;
}

static bool prune_name(const struct prune *p, const char *name)
{
	if (p->prefix)
		return !strncmp(name, p->base, p->baselen);
	return !strcmp(name, p->base);
}

/* The prunes that can match an entry of directory @dir, as a bit mask. */
uint64_t prunes_of(const struct opts *o, const char *dir)
{
	uint64_t mask = 0;

	for (size_t i = 0; i < o->nprunes; i++)
		if (!strcmp(o->prunes[i].dir, dir))
			mask |= UINT64_C(1) << i;
	return mask;
}

bool pruned_entry(const struct opts *o, uint64_t mask,
			 const char *name)
{
	for (size_t i = 0; mask; i++, mask >>= 1)
		if ((mask & 1) && prune_name(&o->prunes[i], name))
			return true;
	return false;
}

/* Is the absolute @path itself pruned? */
static bool pruned_path(const struct opts *o, const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	size_t n = slash - path;

	if (!slash[1] || n >= sizeof(dir))
		return false;
	if (n) {
		memcpy(dir, path, n);
		dir[n] = '\0';
	} else {
		strcpy(dir, "/");
	}
	return pruned_entry(o, prunes_of(o, dir), slash + 1);
}

/* ---- the watcher's log: DIR/watch.log ---- */

void wlog(const struct watcher *w, const char *fmt, ...)
{
	char line[PATH_MAX + 512];
	size_t n;
	va_list ap;
	int len;

	len = snprintf(line, sizeof(line), PROG "[%d]: ", (int)getpid());
	va_start(ap, fmt);
	vsnprintf(line + len, sizeof(line) - len - 1, fmt, ap);
	va_end(ap);
	n = strlen(line);
	line[n++] = '\n';
	/* one write() per line: O_APPEND keeps the lines of two watchers whole */
	if (write(w->log_fd, line, n) < 0 && w->o->foreground)
		error_errno(errno, "cannot write '%s/%s'", w->o->dir,
			    LOG_NAME);
	if (w->o->foreground && write(2, line, n) < 0)
		return;
}

/*
 * An error that stops the watcher: "refused: <message>: <strerror(-@err)>"
 * in the log, the message git-style ("cannot watch '%s'"); returns @err.
 */
int fail(const struct watcher *w, int err, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	wlog(w, "refused: %s: %s", msg, strerror(-err));
	free(msg);
	return err;
}

/*
 * Leave the change's path in DIR/watch.changed (written whole, renamed
 * into place): a query that finds no watcher then answers "changed"
 * without a scan. It can only ever ask for a kbuild run: the driver
 * removes it after one, and the next watcher when it is ready.
 */
void note_change(const struct watcher *w, const char *path)
{
	char *line = xasprintf("%s\n", path);
	int err = write_file(CHANGED_NAME, line, strlen(line), 0644);

	if (err)
		wlog(w, "warning: cannot write '%s/%s': %s", w->o->dir,
		     CHANGED_NAME, strerror(-err));
	free(line);
}

static int found_change(const struct watcher *w, const char *path)
{
	note_change(w, path);
	wlog(w, "changed: %s", path);
	return CHANGED;
}

static int limit_reached(const struct watcher *w, const char *path)
{
	char *buf = NULL;

	if (!read_file(MAX_WATCHES, 0, &buf, NULL))
		buf[strcspn(buf, "\n")] = '\0';
	wlog(w, "refused: cannot watch '%s': inotify watch limit reached (fs.inotify.max_user_watches=%s, this tree needs more): the up-to-date check scans instead",
	     path, buf ? buf : "?");
	free(buf);
	return -ENOSPC;
}

static int check_fs(const struct watcher *w, const char *path,
		    const struct statfs *sf)
{
	unsigned long magic = (unsigned long)sf->f_type & 0xffffffffUL;

	for (size_t i = 0; i < ARRAY_SIZE(remote_fs_table); i++) {
		if (remote_fs_table[i].magic != magic)
			continue;
		wlog(w, "refused: cannot trust inotify on '%s': it is on %s, where inotify misses changes made elsewhere: the up-to-date check scans instead",
		     path, remote_fs_table[i].name);
		return -EREMOTE;
	}
	return 0;
}

/* ---- setting the watches ---- */

static int add_watch(struct watcher *w, const char *path, uint32_t mask,
		     unsigned int kind, const char *name, const char *owner)
{
	int wd = inotify_add_watch(w->ifd, path, mask);
	struct watch *wt;

	if (wd < 0) {
		if (errno == ENOSPC)
			return limit_reached(w, path);
		/* it was there a moment ago */
		if (errno == ENOENT || errno == ENOTDIR)
			return found_change(w, path);
		return fail(w, -errno, "cannot watch '%s'", path);
	}
	if ((size_t)wd >= w->nw) {
		size_t n = 2 * (size_t)wd + 16;

		w->w = xrealloc(w->w, n * sizeof(*w->w));
		memset(w->w + w->nw, 0, (n - w->nw) * sizeof(*w->w));
		w->nw = n;
	}
	wt = &w->w[wd];
	if (!wt->path)
		wt->path = xstrdup(path);
	if ((kind & W_TREE) && !(wt->kind & W_TREE))
		w->ndirs++;
	wt->kind |= kind;
	if (name) {
		wt->names = xrealloc(wt->names,
				     (wt->nnames + 1) * sizeof(*wt->names));
		wt->owners = xrealloc(wt->owners,
				      (wt->nnames + 1) * sizeof(*wt->owners));
		wt->names[wt->nnames] = xstrdup(name);
		wt->owners[wt->nnames++] = xstrdup(owner);
	}
	return 0;
}

static int walk(struct watcher *w, char *path, size_t len, int fd,
		dev_t dev);

/* Is @real (resolved) under a ROOT, or above one? */
static bool near_roots(const struct watcher *w, const char *real)
{
	size_t n = strlen(real);

	for (size_t i = 0; i < w->o->nroots; i++) {
		const char *r = w->real_roots[i];
		size_t rn = strlen(r);

		if (!strncmp(real, r, rn) && (!real[rn] || real[rn] == '/'))
			return true;
		if (!strncmp(r, real, n) && (r[n] == '/' || n == 1))
			return true;
	}
	return false;
}

/*
 * The symlink @path under a ROOT: its target, if outside every ROOT, is
 * watched as a --file, or, a directory not walked yet, as a ROOT. A
 * dangling symlink is left to its directory's watch.
 */
static int follow_link(struct watcher *w, const char *path)
{
	char *real = realpath(path, NULL);
	struct stat st;

	if (!real)
		return 0;
	if (near_roots(w, real) || stat(real, &st)) {
		free(real);
		return 0;
	}
	free(real);
	if (!S_ISDIR(st.st_mode))
		return watch_file(w, path);
	for (size_t i = 0; i < w->nfollowed; i++)
		if (w->followed[i].st_dev == st.st_dev &&
		    w->followed[i].st_ino == st.st_ino)
			return 0;
	w->followed = xrealloc(w->followed,
			       (w->nfollowed + 1) * sizeof(*w->followed));
	w->followed[w->nfollowed++] = st;
	return watch_root(w, path);
}

/* Directory @path (entry @name of @pfd, as @st): watch it, then walk it. */
static int descend(struct watcher *w, char *path, size_t len, int pfd,
		   const char *name, const struct stat *st, dev_t dev)
{
	struct statfs sf;
	int fd, ret;

	ret = add_watch(w, path, DIR_MASK | IN_DONT_FOLLOW, W_TREE, NULL, NULL);
	if (ret)
		return ret;
	fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
			return found_change(w, path);
		return fail(w, -errno, "cannot open directory '%s'", path);
	}
	/* a mount point: check the filesystem mounted there */
	if (st->st_dev != dev) {
		ret = fstatfs(fd, &sf) ?
		      fail(w, -errno, "cannot statfs '%s'", path) :
		      check_fs(w, path, &sf);
		if (ret) {
			close(fd);
			return ret;
		}
	}
	return walk(w, path, len, fd, st->st_dev);
}

/*
 * Every entry of directory @fd (@path, @len long, on @dev; the fd is
 * consumed): a ctime newer than the stamp is a change, a directory is
 * watched and walked. Its own watch is already set, so a change of an
 * entry after its fstatat() is queued.
 */
static int walk(struct watcher *w, char *path, size_t len, int fd,
		dev_t dev)
{
	const struct opts *o = w->o;
	uint64_t pmask = prunes_of(o, path);
	struct dirent *de;
	DIR *d;
	int ret = 0;

	d = fdopendir(fd);
	if (!d) {
		ret = fail(w, -errno, "cannot read directory '%s'", path);
		close(fd);
		return ret;
	}
	for (errno = 0; (de = readdir(d)); errno = 0) {
		const char *name = de->d_name;
		struct stat st;
		size_t sub;

		if (name[0] == '.' &&
		    (!name[1] || (name[1] == '.' && !name[2])))
			continue;
		if (pmask && pruned_entry(o, pmask, name))
			continue;
		sub = join(path, len, name);
		if (!sub) {
			ret = fail(w, -ENAMETOOLONG, "cannot stat '%s/%s'",
				   path, name);
			break;
		}
		if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW))
			ret = errno == ENOENT ? found_change(w, path) :
			      fail(w, -errno, "cannot stat '%s'", path);
		else if (newer(&st.st_ctim, &o->since))
			ret = found_change(w, path);
		else if (S_ISDIR(st.st_mode))
			ret = descend(w, path, sub, dirfd(d), name, &st, dev);
		else if (S_ISLNK(st.st_mode))
			ret = follow_link(w, path);
		path[len] = '\0';
		if (ret)
			break;
	}
	if (!ret && errno)
		ret = fail(w, -errno, "cannot read directory '%s'", path);
	closedir(d);
	return ret;
}

/* A ROOT: followed if a symlink (find -H), then walked. */
int watch_root(struct watcher *w, const char *root)
{
	char path[PATH_MAX];
	struct statfs sf;
	struct stat st;
	int fd, ret;

	if (pruned_path(w->o, root))
		return 0;
	ret = add_watch(w, root, DIR_MASK, W_TREE, NULL, NULL);
	if (ret)
		return ret;
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? found_change(w, root) :
					 fail(w, -errno, "cannot open root '%s'", root);
	if (fstat(fd, &st) || fstatfs(fd, &sf)) {
		ret = fail(w, -errno, "cannot stat root '%s'", root);
	} else if (newer(&st.st_ctim, &w->o->since)) {
		ret = found_change(w, root);
	} else {
		ret = check_fs(w, root, &sf);
		if (!ret) {
			strcpy(path, root);
			return walk(w, path, strlen(path), fd, st.st_dev);
		}
	}
	close(fd);
	return ret;
}

/*
 * A --file: the file (symlinks followed), and the directory entry naming
 * it and each symlink on the way there.
 */
int watch_file(struct watcher *w, const char *file)
{
	char cur[PATH_MAX], link[PATH_MAX], dir[PATH_MAX];
	struct statfs sf;
	struct stat st;
	int ret;

	if (pruned_path(w->o, file))
		return 0;
	strcpy(cur, file);
	for (int hop = 0;; hop++) {
		char *slash = strrchr(cur, '/');
		size_t n = slash - cur;
		ssize_t ln;

		memcpy(dir, cur, n);
		dir[n] = '\0';
		ret = add_watch(w, n ? dir : "/", DIR_MASK, W_ENTRY, slash + 1,
				file);
		if (ret)
			return ret;
		if (lstat(cur, &st))
			return errno == ENOENT ? found_change(w, cur) :
						 fail(w, -errno, "cannot stat '%s'",
						      cur);
		if (!S_ISLNK(st.st_mode))
			break;
		if (hop == SYMLINK_HOPS)
			return fail(w, -ELOOP, "cannot resolve '%s'", file);
		ln = readlink(cur, link, sizeof(link) - 1);
		if (ln < 0)
			return fail(w, -errno, "cannot read symlink '%s'", cur);
		link[ln] = '\0';
		if (link[0] != '/' && n + 1 + ln >= sizeof(cur))
			return fail(w, -ENAMETOOLONG,
				    "cannot read symlink '%s'", cur);
		strcpy(link[0] == '/' ? cur : slash + 1, link);
	}
	ret = add_watch(w, file, FILE_MASK, W_FILE, NULL, NULL);
	if (ret)
		return ret;
	if (stat(file, &st) || statfs(file, &sf))
		return errno == ENOENT ? found_change(w, file) :
					 fail(w, -errno, "cannot stat '%s'", file);
	if (newer(&st.st_ctim, &w->o->since))
		return found_change(w, file);
	return check_fs(w, file, &sf);
}

