/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rapido-watch.h - what the units of rapido-watch share:
 *	rapido-watch.c		command line, --start (detaching), --query
 *	rapido-watch-walk.c	pruning, the log, the walk that sets the watches
 *	rapido-watch-serve.c	inotify events, the socket, serving queries
 *	rapido-watch-query.c	asking a watcher (also linked into rapido-fast)
 */
#ifndef RAPIDO_WATCH_H
#define RAPIDO_WATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "util.h"

#define PROG		"rapido-watch"
/*
 * Exit codes: --query's answers are rapido-watch's own (CLEAN and CHANGED
 * are util.h's 0 and 1; 3 means nothing in util.h's table); a usage or
 * setup error is util.h's EXIT_USAGE (2), out of memory EXIT_RAPIDO.
 */
enum {
	EXIT_CLEAN	= EXIT_PASS,	/* --query: nothing changed */
	EXIT_CHANGED	= EXIT_FAIL,	/* --query: the path on stdout */
	EXIT_NONE	= 3,		/* --query: no watcher to ask */
};
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

/* rapido-watch-walk.c */
bool newer(const struct timespec *a, const struct timespec *b);
size_t join(char *path, size_t len, const char *name);
char *abs_path(const char *p);
int add_prune(struct opts *o, const char *arg);
uint64_t prunes_of(const struct opts *o, const char *dir);
bool pruned_entry(const struct opts *o, uint64_t mask, const char *name);
void wlog(const struct watcher *w, const char *fmt, ...) __printf(2, 3);
int fail(const struct watcher *w, int err, const char *fmt, ...)
	__printf(3, 4);
void note_change(const struct watcher *w, const char *path);
int watch_root(struct watcher *w, const char *root);
int watch_file(struct watcher *w, const char *file);

/* rapido-watch-serve.c */
int watch(struct watcher *w);

/*
 * Ask the watcher of state directory @dir: EXIT_CLEAN, EXIT_CHANGED (the
 * path in @changed, of @size bytes), EXIT_NONE (no watcher to ask) or
 * EXIT_USAGE (reported). The working directory is left as it was.
 */
int watch_query(const char *dir, char *changed, size_t size);

#endif /* RAPIDO_WATCH_H */
