// SPDX-License-Identifier: GPL-2.0
/*
 * rapido-watch-serve.c - the watcher once its watches are set: inotify's
 * events read and judged, DIR/watch.sock bound and served ("clean" or
 * "changed <path>", after every queued event), and the ways it stops.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "rapido-watch.h"

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
			return fail(w, -errno, "cannot read inotify events");
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
		return fail(w, -errno, "cannot create socket '%s/%s'",
			    w->o->dir, SOCK_NAME);
	unlink(sa.sun_path);
	if (bind(w->sock_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(w->sock_fd, 64) || lstat(sa.sun_path, &st) ||
	    rename(sa.sun_path, SOCK_NAME)) {
		int err = -errno;

		unlink(sa.sun_path);
		close(w->sock_fd);
		w->sock_fd = -1;
		return fail(w, err, "cannot bind socket '%s/%s'", w->o->dir,
			    SOCK_NAME);
	}
	w->sock_dev = st.st_dev;
	w->sock_ino = st.st_ino;
	w->sock_ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->sock_ifd < 0 ||
	    inotify_add_watch(w->sock_ifd, ".", SOCK_MASK) < 0)
		return fail(w, -errno, "cannot watch the state directory '%s'",
			    w->o->dir);
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
			return dirty(w, fail(w, -errno, "cannot poll"), "", "");
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
int watch(struct watcher *w)
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
		return fail(w, -errno, "cannot create an inotify instance");
	w->real_roots = xcalloc(o->nroots, sizeof(*w->real_roots));
	for (size_t i = 0; i < o->nroots; i++) {
		w->real_roots[i] = realpath(o->roots[i], NULL);
		if (!w->real_roots[i])
			return fail(w, -errno, "cannot resolve root '%s'",
				    o->roots[i]);
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
		return fail(w, -errno, "cannot block SIGTERM, SIGINT and SIGHUP");
	w->sig_fd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	if (w->sig_fd < 0)
		return fail(w, -errno, "cannot create a signalfd");
	signal(SIGPIPE, SIG_IGN);
	ret = bind_socket(w);
	if (ret) {
		withdraw(w);
		return ret;
	}
	/* nothing is newer than the stamp: an older note is void */
	if (unlink(CHANGED_NAME) && errno != ENOENT)
		wlog(w, "warning: cannot remove '%s/%s': %s", o->dir,
		     CHANGED_NAME, strerror(errno));
	wlog(w, "ready: %zu directories watched in %.0f ms", w->ndirs,
	     now_ms() - t0);
	return serve(w);
}

