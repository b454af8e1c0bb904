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
 * (no socket, refused, no reply in 2 s); 2 usage or other error. Out of
 * memory is 128, as in every rapido program (rapido-watch.h, util.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "rapido-watch.h"

#define SYNOPSIS \
	"usage: " PROG " --start --dir DIR --stamp FILE [--idle SEC] " \
	"[--foreground] [--prune PATH]... [--file PATH]... ROOT... | " \
	PROG " --query --dir DIR"

const char *const prog = PROG;

/* A wrong command line: the message, then the synopsis, on one line. */
static _Noreturn void __printf(1, 2) usage_error(const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	fatal(EXIT_USAGE, "%s; %s", msg, SYNOPSIS);
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
		int err = -errno;

		error_errno(err, "cannot fork the watcher");
		return err;
	}
	if (pid > 0) {
		while (waitpid(pid, &st, 0) < 0)
			if (errno != EINTR)
				exit(EXIT_USAGE);
		exit(WIFEXITED(st) ? WEXITSTATUS(st) : EXIT_USAGE);
	}
	if (setsid() < 0) {
		error_errno(errno, "cannot start the watcher's session");
		_exit(EXIT_USAGE);
	}
	pid = fork();
	if (pid < 0) {
		error_errno(errno, "cannot fork the watcher");
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
		error_errno(errno, "cannot enter the state directory '%s'",
			    o->dir);
		return EXIT_USAGE;
	}
	fd = open(LOCK_NAME, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	/* >= 3: 0, 1 and 2 are reopened on /dev/null */
	w.lock_fd = fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (w.lock_fd < 0) {
		error_errno(errno, "cannot open '%s/" LOCK_NAME "'", o->dir);
		return EXIT_USAGE;
	}
	close(fd);
	if (flock(w.lock_fd, LOCK_EX | LOCK_NB)) {
		if (errno == EWOULDBLOCK)
			return EXIT_CLEAN;	/* the running one is in charge */
		error_errno(errno, "cannot lock '%s/" LOCK_NAME "'", o->dir);
		return EXIT_USAGE;
	}
	if (!o->foreground && daemonize(w.lock_fd))
		return EXIT_USAGE;

	w.log_fd = open(LOG_NAME, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
			0644);
	if (w.log_fd < 0) {
		/* seen with --foreground only: stderr is /dev/null otherwise */
		error_errno(errno, "cannot open '%s/" LOG_NAME "'", o->dir);
		return EXIT_USAGE;
	}
	if (!fstat(w.log_fd, &st) && st.st_size > LOG_MAX &&
	    ftruncate(w.log_fd, 0))
		wlog(&w, "warning: cannot empty '%s/%s': %s", o->dir, LOG_NAME,
		     strerror(errno));
	watch(&w);
	return EXIT_CLEAN;
}

/* ---- --query ---- */

static int query(struct opts *o)
{
	char path[PATH_MAX + 1];
	int ret = watch_query(o->dir, path, sizeof(path));

	if (ret == EXIT_CHANGED) {
		printf("%s\n", path);
		if (fflush(stdout))
			return EXIT_USAGE;
	}
	return ret;
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
			usage_error("options '--start' and '--query' cannot be used together");
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
		error_errno(errno, "cannot read the stamp '%s'", o->stamp);
	else
		o->since = st.st_mtim;	/* find -cnewer compares to mtime */
	for (size_t i = 0; i < o->nroots; i++) {
		if (stat(o->roots[i], &st))
			error_errno(errno, "cannot watch root '%s'",
				    o->roots[i]);
		else if (!S_ISDIR(st.st_mode))
			error_errno(ENOTDIR, "cannot watch root '%s'",
				    o->roots[i]);
	}
	for (size_t i = 0; i < o->nfiles; i++) {
		if (stat(o->files[i], &st))
			error_errno(errno, "cannot watch --file '%s'",
				    o->files[i]);
		else if (S_ISDIR(st.st_mode))
			error("cannot watch directory '%s' as a --file: give it as a ROOT",
			      o->files[i]);
	}
}


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
				usage_error("option '--idle' wants whole seconds, 1 or more, not '%s'",
					    optarg);
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
			usage_error("option '%s' needs a value",
				    argv[optind - 1]);
		default:
			usage_error("option '%s' is unknown",
				    argv[optind - 1]);
		}
	}
	for (; optind < argc; optind++)
		o.roots = push(o.roots, &o.nroots, abs_path(argv[optind]));
	if (nerrors)
		return EXIT_USAGE;
	if (!o.mode)
		usage_error("cannot tell what to do: give '--start' or '--query'");
	if (!o.dir)
		usage_error("option '--dir' is required: name the state directory");
	if (o.mode->tree) {
		if (!o.stamp)
			usage_error("option '--stamp' is required: name the file that marks kbuild's last run");
		if (!o.nroots)
			usage_error("argument ROOT is required: name the tree to watch");
		check_tree(&o);
	} else if (o.stamp || o.nroots || o.nprunes || o.nfiles ||
		   o.foreground || o.idle != IDLE_DEFAULT) {
		usage_error("option '--query' takes '--dir' only");
	}
	if (nerrors)
		return EXIT_USAGE;
	return o.mode->run(&o);
}

