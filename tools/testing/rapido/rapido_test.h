/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by rapido's tests (kselftest harness): run a program with
 * its output captured, find rapido's built programs, make and remove
 * scratch trees.
 *
 * Environment the tests read (set by tools/testing/rapido/run_tests):
 *   RAPIDO_BIN    directory holding rapido-cut, rapido-vm, rapido-kconfig,
 *                 rapido-init as built by scripts/rapido/Makefile
 *   RAPIDO_KTREE  kernel tree with the drop-in installed and built (boot tests)
 *   RAPIDO_SRC    the rapido checkout (profiles, fragments)
 */
#ifndef RAPIDO_TEST_H
#define RAPIDO_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ftw.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif
/* __printf, from tools/include (6.12's kselftest.h has its own) */
#ifndef __printf
#include <linux/compiler.h>
#endif

struct run {
	int status;	/* exit code, 128 + signal, or -1 if not run */
	char *out;	/* stdout, NUL-terminated */
	size_t out_len;	/* its length (stdout may hold NULs) */
	char *err;	/* stderr, NUL-terminated */
	double secs;	/* wall time */
};

static inline double rt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline int rt_append(char **buf, size_t *len, const char *p, size_t n)
{
	char *nb = realloc(*buf, *len + n + 1);

	if (!nb)
		return -ENOMEM;
	memcpy(nb + *len, p, n);
	*len += n;
	nb[*len] = '\0';
	*buf = nb;
	return 0;
}

/*
 * Run argv[0] (PATH searched) in @dir (NULL: current), stdin from
 * /dev/null, stdout and stderr captured. Returns 0 or -errno.
 */
static inline int run_in(struct run *r, const char *dir, char *const argv[])
{
	int po[2], pe[2];
	size_t lo = 0, le = 0;
	double t0 = rt_now();
	pid_t pid;
	int st;

	memset(r, 0, sizeof(*r));
	r->status = -1;
	r->out = strdup("");
	r->err = strdup("");
	if (!r->out || !r->err)
		return -ENOMEM;
	if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		if (nul < 0 || dup2(nul, 0) < 0 || dup2(po[1], 1) < 0 ||
		    dup2(pe[1], 2) < 0)
			_exit(127);
		if (dir && chdir(dir)) {
			fprintf(stderr, "chdir '%s': %s\n", dir,
				strerror(errno));
			_exit(127);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "exec '%s': %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	for (int open_fds = 2; open_fds > 0;) {
		struct pollfd pfd[2] = {
			{ .fd = po[0], .events = POLLIN },
			{ .fd = pe[0], .events = POLLIN },
		};
		char buf[65536];

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			n = read(pfd[i].fd, buf, sizeof(buf));
			if (n > 0) {
				if (i == 0)
					rt_append(&r->out, &lo, buf, n);
				else
					rt_append(&r->err, &le, buf, n);
				continue;
			}
			close(pfd[i].fd);
			if (i == 0)
				po[0] = -1;
			else
				pe[0] = -1;
			open_fds--;
		}
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r->out_len = lo;
	r->secs = rt_now() - t0;
	return 0;
}

static inline int run(struct run *r, char *const argv[])
{
	return run_in(r, NULL, argv);
}

static inline void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
	r->out = NULL;
	r->err = NULL;
}

/* Path of one of rapido's built programs, or NULL if RAPIDO_BIN is unset. */
static inline const char *rapido_bin(const char *prog)
{
	static char path[4096];
	const char *dir = getenv("RAPIDO_BIN");

	if (!dir || !*dir)
		return NULL;
	snprintf(path, sizeof(path), "%s/%s", dir, prog);
	return path;
}

/* Write @text to @path (created 0644, or @mode). Returns 0 or -errno. */
static inline int write_file(const char *path, mode_t mode, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	size_t len = strlen(text);

	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len) {
		int err = errno ? -errno : -EIO;

		close(fd);
		return err;
	}
	return close(fd) ? -errno : 0;
}

/* snprintf into a fresh malloc'ed string (aborts on ENOMEM). */
static inline char *strf(const char *fmt, ...) __printf(1, 2);
static inline char *strf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	return s;
}

static inline int rt_rm_one(const char *path, const struct stat *st,
			    int type, struct FTW *ftw)
{
	return remove(path) ? -errno : 0;
}

/* rm -rf @path; returns 0 or -errno (first failure). */
static inline int rm_rf(const char *path)
{
	return nftw(path, rt_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The whole file at @path, NUL-terminated (and its length), or NULL. */
static inline char *read_text_len(const char *path, size_t *len)
{
	char *buf = NULL, chunk[4096];
	size_t n_all = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		rt_append(&buf, &n_all, chunk, n);
	close(fd);
	if (len)
		*len = n_all;
	return buf ? buf : strdup("");
}

static inline char *read_text(const char *path)
{
	return read_text_len(path, NULL);
}

/*
 * Read the terminal @fd (a pty's master) into *@buf (*@len bytes so far)
 * until it holds @needle: 0, or -ETIMEDOUT after @secs seconds, or -EIO
 * when the other end is closed.
 */
static inline int pty_expect(int fd, char **buf, size_t *len,
			     const char *needle, int secs)
{
	double end = rt_now() + secs;

	while (!*buf || !strstr(*buf, needle)) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		char chunk[4096];
		ssize_t n;

		if (rt_now() > end)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		n = read(fd, chunk, sizeof(chunk));
		if (n <= 0)
			return -EIO;
		rt_append(buf, len, chunk, n);
	}
	return 0;
}

/*
 * Run argv[0] (PATH searched) in @dir on a new pty, as from a terminal:
 * its pid (or -1), the pty's master in *@fd.
 */
static inline pid_t pty_spawn(const char *dir, char *const argv[], int *fd)
{
	pid_t pid = forkpty(fd, NULL, NULL, NULL);

	if (pid == 0) {
		if (chdir(dir))
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/*
 * Start argv[0] (PATH searched) in the background, stdin from /dev/null,
 * stdout and stderr to the file @out (created or emptied; NULL:
 * /dev/null), in a process group of its own if @group: its pid, or -1.
 */
static inline pid_t spawn_bg(char *const argv[], const char *out, int group)
{
	pid_t pid = fork();

	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);
		int fd = out ? open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644) :
			       nul;

		if (group)
			setpgid(0, 0);
		if (nul < 0 || fd < 0 || dup2(nul, 0) < 0 || dup2(fd, 1) < 0 ||
		    dup2(fd, 2) < 0)
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pid > 0 && group)
		setpgid(pid, pid);	/* whichever of the two runs first */
	return pid;
}

/* Is @pid gone (no such process, or a zombie)? */
static inline int pid_gone(pid_t pid)
{
	char *path = strf("/proc/%d/stat", pid), *text = read_text(path);
	const char *p = text ? strrchr(text, ')') : NULL;
	int gone = !p || p[2] == 'Z';

	free(text);
	free(path);
	return gone;
}

/*
 * Does @text hold @line as whole lines (@line may span several, with
 * '\n' between them)?
 */
static inline int has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || !p[n]))
			return 1;
	return 0;
}

/* @prog's path in $PATH (malloc'ed), or NULL. */
static inline char *in_path(const char *prog)
{
	const char *env = getenv("PATH");
	char *path = strdup(env && *env ? env : "/usr/bin:/bin");
	char *dir, *save, *found = NULL;

	for (dir = strtok_r(path, ":", &save); dir && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		char *p = strf("%s/%s", dir, prog);

		if (!access(p, X_OK))
			found = p;
		else
			free(p);
	}
	free(path);
	return found;
}

/*
 * Wait until the rapido-watch a run left in @ktree answers (it binds its
 * socket last), for the watcher's walk of the tree on a busy host.
 * Returns 0 or -ETIMEDOUT.
 */
#define RT_WATCH_WAIT_MS	20000
static inline int watcher_ready(const char *ktree)
{
	char *sock = strf("%s/.rapido/watch.sock", ktree);
	int ret = 0;

	for (int i = 0; access(sock, F_OK); i++) {
		if (i * 10 > RT_WATCH_WAIT_MS) {
			ret = -ETIMEDOUT;
			break;
		}
		usleep(10000);
	}
	free(sock);
	return ret;
}

/* Did the run print @needle, on stdout or stderr? */
static inline int both_have(const struct run *r, const char *needle)
{
	return strstr(r->out, needle) || strstr(r->err, needle);
}

/* A run's exit, time and output, for a failed assertion's log. */
static inline void run_dump(const struct run *r)
{
	fprintf(stderr, "--- exit %d after %.1f s\n--- stdout:\n%s\n--- stderr:\n%s\n",
		r->status, r->secs, r->out, r->err);
}

/*
 * Is the work tree of @dir clean (nothing modified, nothing untracked)?
 * *@status gets git's output (or its error), to be freed.
 */
static inline int git_clean(const char *dir, char **status)
{
	char *const argv[] = { "git", "-C", (char *)dir, "status",
			       "--porcelain", NULL };
	struct run r;
	int clean;

	if (run(&r, argv) || r.status) {
		*status = strf("git status failed: %s", r.err ? r.err : "");
		run_free(&r);
		return 0;
	}
	clean = !*r.out;
	*status = strdup(r.out);
	run_free(&r);
	return clean;
}

/* Write @len bytes of @text to @path atomically (a .tmp, then rename). */
static inline int write_whole(const char *path, const char *text, size_t len)
{
	char *tmp = strf("%s.rapido-test-tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int ret = 0;

	if (fd < 0) {
		free(tmp);
		return -errno;
	}
	if (write(fd, text, len) != (ssize_t)len)
		ret = -EIO;
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret)
		unlink(tmp);
	free(tmp);
	return ret;
}

/* Copy @from to @to (atomically) with @from's access and modify times. */
static inline int copy_with_times(const char *from, const char *to)
{
	struct stat st;
	struct timespec times[2];
	char *text = read_text(from);
	int ret;

	if (!text || stat(from, &st)) {
		free(text);
		return -errno;
	}
	ret = write_whole(to, text, st.st_size);
	free(text);
	if (ret)
		return ret;
	times[0] = st.st_atim;
	times[1] = st.st_mtim;
	return utimensat(AT_FDCWD, to, times, 0) ? -errno : 0;
}

/* Put @path back from @backup, if there is one, then drop @backup. */
static inline int restore_file(const char *path, const char *backup)
{
	int ret;

	if (access(backup, F_OK))
		return errno == ENOENT ? 0 : -errno;
	ret = copy_with_times(backup, path);
	if (ret)
		return ret;
	return unlink(backup) ? -errno : 0;
}

/* The host namespace's links, addresses and routes, as ip prints them. */
static inline char *host_net(void)
{
	static char *const cmds[][4] = {
		{ "ip", "-o", "link", NULL },
		{ "ip", "-o", "addr", NULL },
		{ "ip", "route", NULL },
	};
	char *all = strdup("");
	size_t len = 0;

	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
		struct run r;

		if (run(&r, cmds[i]) || r.status)
			rt_append(&all, &len, "(ip failed)\n", 12);
		else
			rt_append(&all, &len, r.out, strlen(r.out));
		run_free(&r);
	}
	return all;
}

/*
 * The word after @key in @text, up to a blank, a quote or the line's end
 * (malloc'ed), or NULL.
 */
static inline char *word_after(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	if (!p)
		return NULL;
	p += strlen(key);
	return strndup(p, strcspn(p, " '\r\n"));
}

/*
 * @argv in @ktree while the test holds @ktree's tree lock (flock, as a
 * second rapido run would) for @secs seconds, then lets it go. In the
 * child, @ok judges the finished run (non-zero: good; a bad run is
 * dumped). *@waited: the run was still going when the lock was let go;
 * *@good: @ok said so. 0, or -1 when the lock or the fork failed.
 */
static inline int run_past_tree_lock(const char *ktree, char *const argv[],
				     unsigned int secs,
				     int (*ok)(const struct run *r),
				     int *waited, int *good)
{
	char *lock = strf("%s/.rapido/tree.lock", ktree);
	int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644), st = 0;
	pid_t pid, reaped;

	free(lock);
	if (fd < 0 || flock(fd, LOCK_EX)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		struct run r;
		int fine;

		if (run_in(&r, ktree, argv))
			_exit(2);
		fine = ok(&r);
		if (!fine)
			run_dump(&r);
		_exit(fine ? 0 : 1);
	}
	if (pid > 0)
		sleep(secs);
	reaped = pid > 0 ? waitpid(pid, &st, WNOHANG) : -1;
	*waited = reaped == 0;
	flock(fd, LOCK_UN);
	close(fd);
	if (pid < 0 || (!reaped && waitpid(pid, &st, 0) != pid))
		return -1;
	*good = WIFEXITED(st) && WEXITSTATUS(st) == 0;
	return 0;
}

/*
 * The test's assertion on run_past_tree_lock(): @argv waited while the
 * lock was held, and @ok liked the run that followed.
 */
#define EXPECT_WAITS_ON_TREE_LOCK(ktree, argv, secs, ok) do {		\
	int waited_, good_;						\
									\
	ASSERT_EQ(0, run_past_tree_lock(ktree, argv, secs, ok,		\
					&waited_, &good_));		\
	EXPECT_TRUE(waited_) TH_LOG("'%s' did not wait for tree.lock",	\
				    (argv)[0]);				\
	EXPECT_TRUE(good_)						\
		TH_LOG("the waiting run did not say so or did not pass"); \
} while (0)

/* make -s -C @ktree @goal [@var] */
static inline int make_goal(struct run *r, const char *ktree,
			    const char *goal, const char *var)
{
	char *const argv[] = { "make", "-s", "-C", (char *)ktree,
			       (char *)goal, (char *)var, NULL };

	return run(r, argv);
}

/*
 * make rapido-lab-down of @ktree, then host_net() is @before: NULL, else
 * what went wrong (malloc'ed).
 */
static inline char *lab_down_check(const char *ktree, const char *before)
{
	char *after, *why = NULL;
	struct run r;

	if (make_goal(&r, ktree, "rapido-lab-down", NULL) || r.status)
		why = strf("make rapido-lab-down failed (exit %d): %s",
			   r.status, r.err);
	run_free(&r);
	after = host_net();
	if (!why && strcmp(before, after))
		why = strf("the host's network changed:\n%s\nbecame\n%s",
			   before, after);
	free(after);
	return why;
}

/*
 * The kernel tree the boot tests run rapido in (RAPIDO_KTREE): configured,
 * built, rapido installed. Otherwise NULL, and in @why the reason to SKIP
 * with.
 */
static inline const char *built_ktree(char *why, size_t len)
{
	static const char *const need[][2] = {
		{ "include/config/kernel.release", "is not configured" },
		{ "arch/x86/boot/bzImage", "is not built" },
		{ "GNUmakefile", "has no rapido installed" },
	};
	const char *tree = getenv("RAPIDO_KTREE");

	if (!tree || !*tree) {
		snprintf(why, len, "RAPIDO_KTREE is not set (run_tests sets it)");
		return NULL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(need); i++) {
		char *path = strf("%s/%s", tree, need[i][0]);
		int missing = access(path, R_OK);

		free(path);
		if (missing) {
			snprintf(why, len, "%s %s", tree, need[i][1]);
			return NULL;
		}
	}
	return tree;
}

/*
 * Write @text to @dir/@name (created @mode), in a test (or a helper given
 * its _metadata): the test fails at once if it cannot.
 */
#define put_file(dir, name, mode, text) do {				\
	char *_path = strf("%s/%s", (dir), (name));			\
	int _ret = write_file(_path, (mode), (text));			\
									\
	free(_path);							\
	ASSERT_EQ(0, _ret);						\
} while (0)

/*
 * Does the file at @path hold each of the strings after it? The test
 * fails if it cannot read it, or (its text in the log) if one is missing.
 */
#define EXPECT_FILE_HAS(path, ...) do {					\
	const char *const _needles[] = { __VA_ARGS__ };			\
	char *_text = read_text(path);					\
									\
	ASSERT_NE(NULL, _text) TH_LOG("cannot read '%s'", (path));	\
	for (size_t _i = 0; _i < ARRAY_SIZE(_needles); _i++) {		\
		EXPECT_NE(NULL, strstr(_text, _needles[_i]))		\
			TH_LOG("'%s' has no '%s':\n%s", (path),	\
			       _needles[_i], _text);			\
	}								\
	free(_text);							\
} while (0)

/* Is the work tree of @tree clean? Otherwise git's status in the log. */
#define EXPECT_GIT_CLEAN(tree) do {					\
	char *_status;							\
									\
	EXPECT_TRUE(git_clean((tree), &_status))			\
		TH_LOG("git status of %s is not clean:\n%s", (tree),	\
		       _status);					\
	free(_status);							\
} while (0)

/* Is the host's network (host_net()) still what it was, @before? */
#define EXPECT_HOST_NET(before) do {					\
	char *_now = host_net();					\
									\
	EXPECT_STREQ((before), _now);					\
	free(_now);							\
} while (0)

/*
 * In a FIXTURE_SETUP: the tree built_ktree() finds, or SETUP_SKIP with
 * the reason it gives.
 */
#define SETUP_KTREE() ({						\
	char _why[256];							\
	const char *_tree = built_ktree(_why, sizeof(_why));		\
									\
	if (!_tree)							\
		SETUP_SKIP("%s", _why);					\
	_tree;								\
})

/*
 * Has the running test failed so far? kselftest_harness.h kept this in
 * _metadata->passed up to 6.8, and in _metadata->exit_code (read through
 * __test_passed()) since 6.9, the release that also added
 * FIXTURE_TEARDOWN_PARENT. Include kselftest_harness.h first.
 */
#ifdef FIXTURE_TEARDOWN_PARENT
#define rt_failed(_metadata)	(!__test_passed(_metadata))
#else
#define rt_failed(_metadata)	(!(_metadata)->passed)
#endif

/*
 * SKIP from a FIXTURE_SETUP, so that the test's body does not run. Up to
 * 6.8 the harness runs the body after a setup's SKIP (SKIP sets passed,
 * which its "did the setup fail" check reads as success), and the body's
 * failures then report as a skip: there, leave through the harness's own
 * setjmp (which SKIP's ASSERTs use too), as a failed setup would. From 6.9
 * on, a setup's SKIP ends the test: the setup runs in a process of its own,
 * which the harness then ends with _exit(0), as this does. Either way the
 * teardown does not run (setup_completed is still false): use before the
 * setup allocates.
 */
#ifdef FIXTURE_TEARDOWN_PARENT
#define SETUP_SKIP(fmt, ...)	SKIP(_exit(0), fmt, ##__VA_ARGS__)
#else
#define SETUP_SKIP(fmt, ...)	\
	SKIP(longjmp(_metadata->env, 1), fmt, ##__VA_ARGS__)
#endif

/*
 * Some tests of a program only (the 6.1 harness has no -t): RAPIDO_ONLY
 * holds fnmatch(3) patterns of "fixture.test" names, separated by spaces.
 * A fixture's setup that starts with RT_ONLY() skips the other tests with
 * the reason "not selected", which run_tests does not count.
 */
static inline int rt_selected(const char *fixture, const char *test)
{
	const char *only = getenv("RAPIDO_ONLY");
	char *name, *list, *save, *pat;
	int hit = 0;

	if (!only || !*only)
		return 1;
	name = strf("%s.%s", fixture, test);
	list = strf("%s", only);
	for (pat = strtok_r(list, " ", &save); pat && !hit;
	     pat = strtok_r(NULL, " ", &save))
		hit = !fnmatch(pat, name, 0);
	free(list);
	free(name);
	return hit;
}

#define RT_ONLY() do {							\
	if (!rt_selected(_metadata->fixture->name, _metadata->name))	\
		SETUP_SKIP("not selected (RAPIDO_ONLY)");		\
} while (0)

#endif /* RAPIDO_TEST_H */
