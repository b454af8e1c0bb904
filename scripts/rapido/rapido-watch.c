// SPDX-License-Identifier: GPL-2.0
/*
 * rapido-watch - has anything kbuild reads changed since its last run?
 *
 *   rapido-watch --start --dir DIR --stamp FILE [--idle SEC] [--foreground]
 *                [--prune PATH]... [--file PATH]... ROOT...
 *   rapido-watch --query --dir DIR
 *
 * The question is the one of
 *   find -H ROOT... FILE... \( -path PRUNE -o ... \) -prune -o \
 *        -cnewer STAMP -print -quit
 * (any inode under a ROOT, pruned paths aside, or any --file, whose ctime
 * is newer than the stamp's mtime), answered from inotify in a millisecond
 * instead of a walk of every inode.
 *
 * --start takes DIR/watch.lock (held: another watcher is in charge, exit 0)
 * and returns; a detached child (double fork, setsid, every inherited fd
 * closed, nice 19 and SCHED_IDLE for its walk) then puts an inotify watch
 * on every directory under each ROOT (a --prune PATH is skipped, one ending
 * in '*' skips every last component with that prefix) and on each --file
 * (following symlinks), and on the directory entries naming the file and
 * every symlink on its way. A symlink under a ROOT is followed when its
 * target is outside every ROOT (kbuild reads the target through it, as
 * find -L would): a file as a --file is, a directory as a ROOT is (each
 * directory once), reported by the path through the symlink.
 * Only then does it look at the ctimes (in the same walk: a directory's
 * watch is set before its entries are looked at): a change during or after
 * that is queued by inotify, one before it shows in the ctime. DIR must be
 * outside the ROOTs or pruned, or its socket is a change. A changed inode
 * found by the walk means no watcher (the driver scans); so does a ROOT on
 * a filesystem where inotify misses changes made elsewhere (remote_fs_table)
 * or the inotify watch limit.
 *
 * Then the child serves DIR/watch.sock: it answers each connection
 * "clean\n", or "changed <path>\n", after reading every queued event (a
 * writer's syscall queues its event before it returns, so the answer is
 * exact). The first change that counts ends it at once (socket removed,
 * lock released), as do --idle SEC without a query (default 3600) and the
 * removal or replacement of DIR/watch.sock. DIR/watch.log gets one line per
 * event of note. --foreground runs the same without detaching (tests).
 *
 * Exit: --start 0 (also when a watcher already runs, or when this one
 * refuses or finds a change: see the log); 2 usage or setup error.
 * --query 0 clean; 1 changed (the path on stdout); 3 no watcher to ask
 * (no socket, refused, no reply in 2 s); 2 usage or other error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <sys/wait.h>

#define PROG		"rapido-watch"
#define EXIT_CLEAN	0
#define EXIT_CHANGED	1
#define EXIT_USAGE	2
#define EXIT_NONE	3
#define IDLE_DEFAULT	3600
#define LOG_MAX		(64 * 1024)	/* watch.log is emptied above this */
#define QUERY_SECS	2		/* a query waits this long for a reply */
#define SYMLINK_HOPS	40
#define PRUNES_MAX	64		/* one bit each in a directory's mask */
#define LOCK_NAME	"watch.lock"
#define SOCK_NAME	"watch.sock"
#define CHANGED_NAME	"watch.changed"	/* the first change seen */
#define LOG_NAME	"watch.log"
#define MAX_WATCHES	"/proc/sys/fs/inotify/max_user_watches"
#define SYNOPSIS \
	"usage: " PROG " --start --dir DIR --stamp FILE [--idle SEC] " \
	"[--foreground] [--prune PATH]... [--file PATH]... ROOT... | " \
	PROG " --query --dir DIR"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* a directory under a ROOT, or one holding a --file's name */
#define DIR_MASK	(IN_ATTRIB | IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | \
			 IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | \
			 IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
#define FILE_MASK	(IN_ATTRIB | IN_MODIFY | IN_CLOSE_WRITE | \
			 IN_DELETE_SELF | IN_MOVE_SELF)
/* a watched inode itself went away: always a change */
#define GONE_MASK	(IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | \
			 IN_UNMOUNT)
/* DIR, for the name of our socket */
#define SOCK_MASK	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | \
			 IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | \
			 IN_ONLYDIR)

/* outcome of the walk and of reading events: a change, already logged */
#define CHANGED		1

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

/* what an inotify watch stands for; one inode may be several */
enum watch_kind {
	W_TREE		= 1 << 0,	/* directory under a ROOT: all names */
	W_ENTRY		= 1 << 1,	/* holds the names of --files */
	W_FILE		= 1 << 2,	/* a --file itself */
};

struct watch {
	char *path;
	unsigned int kind;
	char **names;		/* W_ENTRY: the names that count */
	char **owners;		/* ... and the --file each is on the way to */
	size_t nnames;
};

struct prune {
	char *dir;		/* the path up to its last component */
	const char *base;	/* its last component, without the '*' */
	size_t baselen;
	bool prefix;		/* ended in '*' */
};

struct opts;

struct mode {
	const char *name;
	bool tree;		/* takes --stamp, ROOT... and their options */
	int (*run)(struct opts *o);
};

struct opts {
	const struct mode *mode;
	char *dir;
	char *stamp;
	unsigned long idle;
	bool foreground;
	struct timespec since;	/* the stamp's mtime, as find -cnewer */
	char **roots;
	size_t nroots;
	struct prune prunes[PRUNES_MAX];
	size_t nprunes;
	char **files;
	size_t nfiles;
};

struct watcher {
	const struct opts *o;
	int ifd;		/* inotify: the tree and the files */
	int sock_ifd;		/* inotify: DIR, for our socket's name */
	int sock_fd;		/* listening */
	int lock_fd;
	int log_fd;
	int sig_fd;		/* SIGTERM, SIGINT, SIGHUP */
	dev_t sock_dev;		/* DIR/watch.sock as we made it */
	ino_t sock_ino;
	struct watch *w;	/* indexed by watch descriptor */
	size_t nw;
	size_t ndirs;
	char **real_roots;	/* the ROOTs, symlinks resolved */
	struct stat *followed;	/* directories walked through a symlink */
	size_t nfollowed;
};

static int nerrors;

static void error(const char *subject, const char *what, int err)
{
	nerrors++;
	if (err)
		fprintf(stderr, "%s: '%s': %s: %s\n", PROG, subject, what,
			strerror(-err));
	else
		fprintf(stderr, "%s: '%s': %s\n", PROG, subject, what);
}

static _Noreturn void usage_error(const char *subject, const char *what)
{
	fprintf(stderr, "%s: '%s': %s; %s\n", PROG, subject, what, SYNOPSIS);
	exit(EXIT_USAGE);
}

static _Noreturn void fatal_oom(void)
{
	fprintf(stderr, "%s: out of memory\n", PROG);
	exit(EXIT_USAGE);
}

static void *xrealloc(void *p, size_t size)
{
	p = realloc(p, size);
	if (!p)
		fatal_oom();
	return p;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		fatal_oom();
	return d;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static bool newer(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

/*
 * @p made absolute against the current directory (the watcher changes
 * directory), trailing slashes dropped; symlinks are kept, as find keeps
 * them in the paths it prints.
 */
static char *abs_path(const char *p)
{
	char cwd[PATH_MAX];
	char *s;
	size_t n;

	if (p[0] == '/') {
		s = xstrdup(p);
	} else {
		if (!getcwd(cwd, sizeof(cwd))) {
			error(p, "cannot make it absolute", -errno);
			return NULL;
		}
		if (asprintf(&s, "%s%s%s", cwd, strcmp(cwd, "/") ? "/" : "",
			     p) < 0)
			fatal_oom();
	}
	n = strlen(s);
	while (n > 1 && s[n - 1] == '/')
		s[--n] = '\0';
	return s;
}

/* @path + "/" + @name in @path (room: PATH_MAX); the new length or 0 */
static size_t join(char *path, size_t len, const char *name)
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

static int add_prune(struct opts *o, const char *arg)
{
	struct prune *p;
	char *path, *slash;
	size_t n;

	if (o->nprunes == PRUNES_MAX) {
		error(arg, "too many --prune (the most is 64)", 0);
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
	p->dir = slash == path ? xstrdup("/") : strndup(path, slash - path);
	if (!p->dir)
		fatal_oom();
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
static uint64_t prunes_of(const struct opts *o, const char *dir)
{
	uint64_t mask = 0;

	for (size_t i = 0; i < o->nprunes; i++)
		if (!strcmp(o->prunes[i].dir, dir))
			mask |= UINT64_C(1) << i;
	return mask;
}

static bool pruned_entry(const struct opts *o, uint64_t mask,
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

static void wlog(const struct watcher *w, const char *fmt, ...)
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
		fprintf(stderr, "%s: '%s': write: %s\n", PROG, LOG_NAME,
			strerror(errno));
	if (w->o->foreground && write(2, line, n) < 0)
		return;
}

/* An error that stops the watcher: logged, modpost style; returns @err. */
static int fail(const struct watcher *w, const char *subject,
		const char *what, int err)
{
	wlog(w, "refused: '%s': %s: %s", subject, what, strerror(-err));
	return err;
}

/*
 * Leave the change's path in DIR/watch.changed (written whole, renamed
 * into place): a query that finds no watcher then answers "changed"
 * without a scan. It can only ever ask for a kbuild run: the driver
 * removes it after one, and the next watcher when it is ready.
 */
static void note_change(const struct watcher *w, const char *path)
{
	FILE *f = fopen(CHANGED_NAME ".tmp", "we");

	if (!f || fprintf(f, "%s\n", path) < 0 || fclose(f) ||
	    rename(CHANGED_NAME ".tmp", CHANGED_NAME)) {
		wlog(w, "warning: '%s': %s", CHANGED_NAME, strerror(errno));
		if (f)
			unlink(CHANGED_NAME ".tmp");
	}
}

static int found_change(const struct watcher *w, const char *path)
{
	note_change(w, path);
	wlog(w, "changed: %s", path);
	return CHANGED;
}

static int limit_reached(const struct watcher *w)
{
	char buf[32] = "?";
	int fd = open(MAX_WATCHES, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);

		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		close(fd);
	}
	wlog(w, "inotify watch limit reached (fs.inotify.max_user_watches=%s, this tree needs more): the up-to-date check scans instead",
	     buf);
	return -ENOSPC;
}

static int check_fs(const struct watcher *w, const char *path,
		    const struct statfs *sf)
{
	unsigned long magic = (unsigned long)sf->f_type & 0xffffffffUL;

	for (size_t i = 0; i < ARRAY_SIZE(remote_fs_table); i++) {
		if (remote_fs_table[i].magic != magic)
			continue;
		wlog(w, "refused: '%s': on %s, where inotify misses changes made elsewhere: the up-to-date check scans instead",
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
			return limit_reached(w);
		/* it was there a moment ago */
		if (errno == ENOENT || errno == ENOTDIR)
			return found_change(w, path);
		return fail(w, path, "inotify_add_watch", -errno);
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
static int watch_root(struct watcher *w, const char *root);
static int watch_file(struct watcher *w, const char *file);

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
		return fail(w, path, "open", -errno);
	}
	/* a mount point: check the filesystem mounted there */
	if (st->st_dev != dev) {
		ret = fstatfs(fd, &sf) ? fail(w, path, "statfs", -errno) :
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
		ret = fail(w, path, "fdopendir", -errno);
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
			ret = fail(w, path, name, -ENAMETOOLONG);
			break;
		}
		if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW))
			ret = errno == ENOENT ? found_change(w, path) :
			      fail(w, path, "stat", -errno);
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
		ret = fail(w, path, "readdir", -errno);
	closedir(d);
	return ret;
}

/* A ROOT: followed if a symlink (find -H), then walked. */
static int watch_root(struct watcher *w, const char *root)
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
					 fail(w, root, "open", -errno);
	if (fstat(fd, &st) || fstatfs(fd, &sf)) {
		ret = fail(w, root, "stat", -errno);
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
static int watch_file(struct watcher *w, const char *file)
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
						 fail(w, cur, "stat", -errno);
		if (!S_ISLNK(st.st_mode))
			break;
		if (hop == SYMLINK_HOPS)
			return fail(w, file, "resolve", -ELOOP);
		ln = readlink(cur, link, sizeof(link) - 1);
		if (ln < 0)
			return fail(w, cur, "readlink", -errno);
		link[ln] = '\0';
		if (link[0] != '/' && n + 1 + ln >= sizeof(cur))
			return fail(w, cur, "readlink", -ENAMETOOLONG);
		strcpy(link[0] == '/' ? cur : slash + 1, link);
	}
	ret = add_watch(w, file, FILE_MASK, W_FILE, NULL, NULL);
	if (ret)
		return ret;
	if (stat(file, &st) || statfs(file, &sf))
		return errno == ENOENT ? found_change(w, file) :
					 fail(w, file, "stat", -errno);
	if (newer(&st.st_ctim, &w->o->since))
		return found_change(w, file);
	return check_fs(w, file, &sf);
}

/* ---- events ---- */

/* Does @ev count as a change? Its path into @path. */
static bool counts(const struct watcher *w, const struct inotify_event *ev,
		   char *path, const char **note)
{
	const struct watch *wt;
	const char *name = ev->len ? ev->name : "";

	*note = "";
	if (ev->mask & IN_Q_OVERFLOW) {
		snprintf(path, PATH_MAX, "%s", w->o->roots[0]);
		*note = " (inotify queue overflow)";
		return true;
	}
	if (ev->wd < 0 || (size_t)ev->wd >= w->nw || !w->w[ev->wd].path) {
		snprintf(path, PATH_MAX, "%s", w->o->roots[0]);
		*note = " (event of an unknown watch)";
		return true;
	}
	wt = &w->w[ev->wd];
	snprintf(path, PATH_MAX, "%s", wt->path);
	if (ev->mask & GONE_MASK || wt->kind & W_FILE)
		return true;
	if (!*name)
		/* the directory's own inode: find looks at it, if a tree's */
		return wt->kind & W_TREE;
	if (!join(path, strlen(path), name))
		return true;
	if (wt->kind & W_TREE)
		return !pruned_entry(w->o, prunes_of(w->o, wt->path), name);
	for (size_t i = 0; i < wt->nnames; i++) {
		if (strcmp(wt->names[i], name))
			continue;
		/* by the --file's name: a symlink's target as the symlink */
		snprintf(path, PATH_MAX, "%s", wt->owners[i]);
		return true;
	}
	return false;
}

/*
 * Read every queued event (the fd is non-blocking). CHANGED with the path
 * in @path and a note for the log, 0 if none counts, or -errno.
 */
static int drain(const struct watcher *w, char *path, const char **note)
{
	static union {
		struct inotify_event ev;
		char buf[64 * 1024];
	} u;

	for (;;) {
		ssize_t n = read(w->ifd, u.buf, sizeof(u.buf));
		const struct inotify_event *ev;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return fail(w, "inotify", "read", -errno);
		}
		for (char *p = u.buf; p < u.buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			if (counts(w, ev, path, note))
				return CHANGED;
		}
	}
}

/* Is DIR/watch.sock still the socket we made? */
static bool sock_ours(const struct watcher *w)
{
	struct stat st;

	return !lstat(SOCK_NAME, &st) && st.st_dev == w->sock_dev &&
	       st.st_ino == w->sock_ino;
}

/* Did the events on DIR remove or replace our socket, or DIR itself? */
static bool sock_gone(const struct watcher *w)
{
	static union {
		struct inotify_event ev;
		char buf[16 * 1024];
	} u;
	bool check = false;
	ssize_t n;

	while ((n = read(w->sock_ifd, u.buf, sizeof(u.buf))) > 0) {
		const struct inotify_event *ev;

		for (char *p = u.buf; p < u.buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			if (ev->mask & (GONE_MASK | IN_Q_OVERFLOW))
				return true;
			if (ev->len && !strcmp(ev->name, SOCK_NAME))
				check = true;
		}
	}
	return check && !sock_ours(w);
}

/* Stop serving: socket removed (if still ours), lock released. */
static void withdraw(struct watcher *w)
{
	if (w->sock_fd >= 0) {
		if (sock_ours(w))
			unlink(SOCK_NAME);
		close(w->sock_fd);
		w->sock_fd = -1;
	}
	if (w->lock_fd >= 0) {
		close(w->lock_fd);
		w->lock_fd = -1;
	}
}

static void reply(int fd, const char *text)
{
	/* the client may be gone: nothing to do about it */
	if (send(fd, text, strlen(text), MSG_NOSIGNAL) < 0)
		return;
}

/* Bind DIR/watch.sock: a temporary name first, so no client finds it
 * half ready. The cwd is DIR, so the path is short.
 */
static int bind_socket(struct watcher *w)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;

	snprintf(sa.sun_path, sizeof(sa.sun_path), SOCK_NAME ".%d",
		 (int)getpid());
	w->sock_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
			    SOCK_NONBLOCK, 0);
	if (w->sock_fd < 0)
		return fail(w, SOCK_NAME, "socket", -errno);
	unlink(sa.sun_path);
	if (bind(w->sock_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(w->sock_fd, 64) || lstat(sa.sun_path, &st) ||
	    rename(sa.sun_path, SOCK_NAME)) {
		int err = -errno;

		unlink(sa.sun_path);
		close(w->sock_fd);
		w->sock_fd = -1;
		return fail(w, sa.sun_path, "bind", err);
	}
	w->sock_dev = st.st_dev;
	w->sock_ino = st.st_ino;
	w->sock_ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->sock_ifd < 0 ||
	    inotify_add_watch(w->sock_ifd, ".", SOCK_MASK) < 0)
		return fail(w, ".", "inotify_add_watch", -errno);
	/* replaced before the watch was set? */
	if (!sock_ours(w)) {
		wlog(w, "stopped: %s was replaced", SOCK_NAME);
		return -EEXIST;
	}
	return 0;
}

static struct timespec left(double deadline)
{
	double ms = deadline - now_ms();
	struct timespec ts = { 0, 0 };

	if (ms > 0) {
		ts.tv_sec = (time_t)(ms / 1e3);
		ts.tv_nsec = (long)((ms - ts.tv_sec * 1e3) * 1e6);
	}
	return ts;
}

static void reply_changed(int fd, const char *path)
{
	char text[PATH_MAX + 16];

	snprintf(text, sizeof(text), "changed %s\n", path);
	reply(fd, text);
}

/*
 * Stop at a change (@ret CHANGED) or an error: the socket goes first, so
 * no later query finds this watcher, the queries already queued get the
 * change, then the lock goes and the log gets the line.
 */
static int dirty(struct watcher *w, int ret, const char *path,
		 const char *note)
{
	int c;

	if (ret == CHANGED)
		note_change(w, path);
	if (w->sock_fd >= 0 && sock_ours(w))
		unlink(SOCK_NAME);
	while (ret == CHANGED && w->sock_fd >= 0 &&
	       (c = accept4(w->sock_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		reply_changed(c, path);
		close(c);
	}
	withdraw(w);
	if (ret == CHANGED)
		wlog(w, "changed: %s%s", path, note);
	return ret < 0 ? ret : 0;
}

/* Answer queries until a change, --idle, a signal or our socket's end. */
static int serve(struct watcher *w)
{
	char path[PATH_MAX];
	const char *note;
	double idle_ms = w->o->idle * 1e3;
	double deadline = now_ms() + idle_ms;
	int ret;

	for (;;) {
		struct pollfd pfd[] = {
			{ .fd = w->sock_fd, .events = POLLIN },
			{ .fd = w->ifd, .events = POLLIN },
			{ .fd = w->sock_ifd, .events = POLLIN },
			{ .fd = w->sig_fd, .events = POLLIN },
		};
		struct timespec ts = left(deadline);
		int c;

		if (!ts.tv_sec && !ts.tv_nsec) {
			withdraw(w);
			wlog(w, "idle");
			return 0;
		}
		if (ppoll(pfd, ARRAY_SIZE(pfd), &ts, NULL) < 0 &&
		    errno != EINTR)
			return dirty(w, fail(w, "poll", "ppoll", -errno), "",
				     "");
		/*
		 * Queries first, each answered after reading every event
		 * queued before it: a change and a query that came together
		 * get "changed", not a closed socket.
		 */
		while (pfd[0].revents &&
		       (c = accept4(w->sock_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
			deadline = now_ms() + idle_ms;
			ret = drain(w, path, &note);
			if (!ret)
				reply(c, "clean\n");
			else if (ret == CHANGED)
				reply_changed(c, path);
			close(c);
			if (ret)
				return dirty(w, ret, path, note);
		}
		if (pfd[1].revents) {
			ret = drain(w, path, &note);
			if (ret)
				return dirty(w, ret, path, note);
		}
		if (pfd[2].revents && sock_gone(w)) {
			withdraw(w);
			wlog(w, "stopped: %s was removed or replaced",
			     SOCK_NAME);
			return 0;
		}
		if (pfd[3].revents) {
			struct signalfd_siginfo si = { .ssi_signo = 0 };

			withdraw(w);
			if (read(w->sig_fd, &si, sizeof(si)) < 0)
				si.ssi_signo = 0;
			wlog(w, "stopped: signal %u", si.ssi_signo);
			return 0;
		}
	}
}

/* The watcher proper, in DIR, holding the lock. */
static int watch(struct watcher *w)
{
	const struct opts *o = w->o;
	struct sched_param sp = { .sched_priority = 0 };
	sigset_t sigs;
	double t0 = now_ms();
	int ret = 0;

	/* the walk must not slow a VM booting beside it */
	if (setpriority(PRIO_PROCESS, 0, 19) ||
	    sched_setscheduler(0, SCHED_IDLE, &sp))
		wlog(w, "warning: cannot lower the priority of the walk: %s",
		     strerror(errno));
	w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->ifd < 0)
		return fail(w, "inotify", "inotify_init1", -errno);
	w->real_roots = xrealloc(NULL, o->nroots * sizeof(*w->real_roots));
	for (size_t i = 0; i < o->nroots; i++) {
		w->real_roots[i] = realpath(o->roots[i], NULL);
		if (!w->real_roots[i])
			return fail(w, o->roots[i], "realpath", -errno);
	}
	for (size_t i = 0; !ret && i < o->nroots; i++)
		ret = watch_root(w, o->roots[i]);
	for (size_t i = 0; !ret && i < o->nfiles; i++)
		ret = watch_file(w, o->files[i]);
	if (ret)
		return ret;
	/*
	 * Answers at nice 19 but not SCHED_IDLE: allowed without privilege
	 * (19 is within any RLIMIT_NICE); should it fail, answers come late,
	 * not wrong.
	 */
	if (sched_setscheduler(0, SCHED_OTHER, &sp))
		wlog(w, "warning: cannot leave SCHED_IDLE: %s",
		     strerror(errno));

	/* a signal that ends the watcher removes its socket first */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &sigs, NULL))
		return fail(w, "signals", "sigprocmask", -errno);
	w->sig_fd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	if (w->sig_fd < 0)
		return fail(w, "signals", "signalfd", -errno);
	signal(SIGPIPE, SIG_IGN);
	ret = bind_socket(w);
	if (ret) {
		withdraw(w);
		return ret;
	}
	/* nothing is newer than the stamp: an older note is void */
	if (unlink(CHANGED_NAME) && errno != ENOENT)
		wlog(w, "warning: '%s': %s", CHANGED_NAME, strerror(errno));
	wlog(w, "ready: %zu directories watched in %.0f ms", w->ndirs,
	     now_ms() - t0);
	return serve(w);
}

/* ---- --start ---- */

/* Close every fd but @keep; 0, 1 and 2 on /dev/null. */
static int detach_fds(int keep)
{
	int fd;

	if (close_range(0, keep - 1, 0) || close_range(keep + 1, ~0U, 0)) {
		long max = sysconf(_SC_OPEN_MAX);

		for (fd = 0; fd < max; fd++)
			if (fd != keep)
				close(fd);
	}
	fd = open("/dev/null", O_RDWR);
	if (fd != 0 || dup2(0, 1) != 1 || dup2(0, 2) != 2)
		return -EBADF;
	return 0;
}

/*
 * Double fork: the caller gets 0 as soon as the watcher is forked (its
 * exit status if the fork failed); the watcher runs in its own session,
 * holding no fd of the caller's (a $(...) pipe would wait for it).
 */
static int daemonize(int keep)
{
	pid_t pid;
	int st;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		error("fork", "cannot start the watcher", -errno);
		return -errno;
	}
	if (pid > 0) {
		while (waitpid(pid, &st, 0) < 0)
			if (errno != EINTR)
				exit(EXIT_USAGE);
		exit(WIFEXITED(st) ? WEXITSTATUS(st) : EXIT_USAGE);
	}
	if (setsid() < 0) {
		error("setsid", "cannot start the watcher", -errno);
		_exit(EXIT_USAGE);
	}
	pid = fork();
	if (pid < 0) {
		error("fork", "cannot start the watcher", -errno);
		_exit(EXIT_USAGE);
	}
	if (pid > 0)
		_exit(EXIT_CLEAN);
	if (detach_fds(keep))
		_exit(EXIT_USAGE);
	return 0;
}

static int start(struct opts *o)
{
	struct watcher w = {
		.o = o, .ifd = -1, .sock_ifd = -1, .sock_fd = -1,
		.log_fd = -1, .sig_fd = -1,
	};
	struct stat st;
	int fd;

	if (chdir(o->dir)) {
		error(o->dir, "cannot enter the state directory", -errno);
		return EXIT_USAGE;
	}
	fd = open(LOCK_NAME, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	/* >= 3: 0, 1 and 2 are reopened on /dev/null */
	w.lock_fd = fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (w.lock_fd < 0) {
		error(o->dir, "cannot open " LOCK_NAME, -errno);
		return EXIT_USAGE;
	}
	close(fd);
	if (flock(w.lock_fd, LOCK_EX | LOCK_NB)) {
		if (errno == EWOULDBLOCK)
			return EXIT_CLEAN;	/* the running one is in charge */
		error(o->dir, "cannot lock " LOCK_NAME, -errno);
		return EXIT_USAGE;
	}
	if (!o->foreground && daemonize(w.lock_fd))
		return EXIT_USAGE;

	w.log_fd = open(LOG_NAME, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
			0644);
	if (w.log_fd < 0) {
		/* seen with --foreground only: stderr is /dev/null otherwise */
		error(o->dir, "cannot open " LOG_NAME, -errno);
		return EXIT_USAGE;
	}
	if (!fstat(w.log_fd, &st) && st.st_size > LOG_MAX &&
	    ftruncate(w.log_fd, 0))
		wlog(&w, "warning: cannot empty %s: %s", LOG_NAME,
		     strerror(errno));
	watch(&w);
	return EXIT_CLEAN;
}

/* ---- --query ---- */

/* No watcher to ask: the change the last one saw, if it left one. */
static int last_change(void)
{
	char buf[PATH_MAX + 2];
	FILE *f = fopen(CHANGED_NAME, "re");
	size_t len;

	if (!f)
		return EXIT_NONE;
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	if (!len || buf[len - 1] != '\n')
		return EXIT_NONE;
	fputs(buf, stdout);
	return fflush(stdout) ? EXIT_USAGE : EXIT_CHANGED;
}

static int query(struct opts *o)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = QUERY_SECS };
	char buf[PATH_MAX + 16];
	size_t len = 0;
	int fd;

	strcpy(sa.sun_path, SOCK_NAME);
	/* relative to DIR: sun_path holds 108 bytes only */
	if (chdir(o->dir)) {
		if (errno == ENOENT || errno == ENOTDIR)
			return EXIT_NONE;
		error(o->dir, "cannot enter the state directory", -errno);
		return EXIT_USAGE;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv))) {
		error("socket", "cannot make a unix socket", -errno);
		return EXIT_USAGE;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		switch (errno) {
		case ENOENT:
		case ECONNREFUSED:
		case EAGAIN:
		case ENOTSOCK:
			close(fd);
			return last_change();
		}
		error(o->dir, "cannot connect to " SOCK_NAME, -errno);
		return EXIT_USAGE;
	}
	while (len < sizeof(buf) - 1 && !memchr(buf, '\n', len)) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	if (!len || !memchr(buf, '\n', len))
		return last_change();	/* no (whole) reply: timeout, or it quit */
	*strchr(buf, '\n') = '\0';
	if (!strcmp(buf, "clean"))
		return EXIT_CLEAN;
	if (!strncmp(buf, "changed ", 8)) {
		printf("%s\n", buf + 8);
		return fflush(stdout) ? EXIT_USAGE : EXIT_CHANGED;
	}
	error(o->dir, "unexpected reply on " SOCK_NAME, 0);
	return EXIT_USAGE;
}

/* ---- command line ---- */

static const struct mode mode_table[] = {
	{ .name = "start", .tree = true, .run = start },
	{ .name = "query", .run = query },
};

enum {
	OPT_START = 256, OPT_QUERY, OPT_DIR, OPT_STAMP, OPT_IDLE,
	OPT_FOREGROUND, OPT_PRUNE, OPT_FILE,
};

static const struct option long_opts[] = {
	{ "start", no_argument, NULL, OPT_START },
	{ "query", no_argument, NULL, OPT_QUERY },
	{ "dir", required_argument, NULL, OPT_DIR },
	{ "stamp", required_argument, NULL, OPT_STAMP },
	{ "idle", required_argument, NULL, OPT_IDLE },
	{ "foreground", no_argument, NULL, OPT_FOREGROUND },
	{ "prune", required_argument, NULL, OPT_PRUNE },
	{ "file", required_argument, NULL, OPT_FILE },
	{ NULL, 0, NULL, 0 },
};

static void set_mode(struct opts *o, const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(mode_table); i++) {
		if (strcmp(mode_table[i].name, name))
			continue;
		if (o->mode && o->mode != &mode_table[i])
			usage_error("--start', '--query",
				    "give one of them only");
		o->mode = &mode_table[i];
	}
}

static char **push(char **v, size_t *n, char *s)
{
	if (!s)
		return v;
	v = xrealloc(v, (*n + 1) * sizeof(*v));
	v[(*n)++] = s;
	return v;
}

/* The --start arguments that must exist: checked before the fork. */
static void check_tree(struct opts *o)
{
	struct stat st;

	if (stat(o->stamp, &st))
		error(o->stamp, "cannot read the stamp", -errno);
	else
		o->since = st.st_mtim;	/* find -cnewer compares to mtime */
	for (size_t i = 0; i < o->nroots; i++) {
		if (stat(o->roots[i], &st))
			error(o->roots[i], "cannot watch this root", -errno);
		else if (!S_ISDIR(st.st_mode))
			error(o->roots[i], "root is not a directory", -ENOTDIR);
	}
	for (size_t i = 0; i < o->nfiles; i++) {
		if (stat(o->files[i], &st))
			error(o->files[i], "cannot watch this --file", -errno);
		else if (S_ISDIR(st.st_mode))
			error(o->files[i], "--file is a directory: give it as a ROOT",
			      0);
	}
}

/* util.c's messages (this program still has its own, for now) */
extern const char *const prog;
const char *const prog = PROG;

int main(int argc, char **argv)
{
	struct opts o = { .idle = IDLE_DEFAULT };
	char *end;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_START:
			set_mode(&o, "start");
			break;
		case OPT_QUERY:
			set_mode(&o, "query");
			break;
		case OPT_DIR:
			free(o.dir);
			o.dir = abs_path(optarg);
			break;
		case OPT_STAMP:
			free(o.stamp);
			o.stamp = abs_path(optarg);
			break;
		case OPT_IDLE:
			errno = 0;
			o.idle = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || !o.idle ||
			    o.idle > 1000000000UL)
				usage_error(optarg,
					    "--idle wants whole seconds, 1 or more");
			break;
		case OPT_FOREGROUND:
			o.foreground = true;
			break;
		case OPT_PRUNE:
			add_prune(&o, optarg);
			break;
		case OPT_FILE:
			o.files = push(o.files, &o.nfiles, abs_path(optarg));
			break;
		case ':':
			usage_error(argv[optind - 1], "needs an argument");
		default:
			usage_error(argv[optind - 1], "unknown option");
		}
	}
	for (; optind < argc; optind++)
		o.roots = push(o.roots, &o.nroots, abs_path(argv[optind]));
	if (nerrors)
		return EXIT_USAGE;
	if (!o.mode)
		usage_error(argc > 1 ? argv[1] : PROG,
			    "give --start or --query");
	if (!o.dir)
		usage_error("--dir", "is missing");
	if (o.mode->tree) {
		if (!o.stamp)
			usage_error("--stamp", "is missing");
		if (!o.nroots)
			usage_error("ROOT", "is missing: name the tree to watch");
		check_tree(&o);
	} else if (o.stamp || o.nroots || o.nprunes || o.nfiles ||
		   o.foreground || o.idle != IDLE_DEFAULT) {
		usage_error("--query", "takes --dir only");
	}
	if (nerrors)
		return EXIT_USAGE;
	return o.mode->run(&o);
}
