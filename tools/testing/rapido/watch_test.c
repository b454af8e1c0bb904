// SPDX-License-Identifier: GPL-2.0
/*
 * Tests for rapido-watch, the inotify watcher that tells the driver
 * whether anything kbuild reads changed since the last kbuild: a scratch
 * tree (with a .git, the state directory .rapido and a .rapido.config,
 * all pruned), a fake compiler outside it (bin/gcc, a symlink to
 * bin/cc), sources kept outside it behind symlinks (src/a/link.c to
 * out/t.c, src/ext to out/d), a stamp written last.
 *
 * A watcher ends the moment it reads a change, so a query after a change
 * usually finds no watcher (exit 3). To see the "changed <path>" answer
 * itself, the change tests stop the watcher (SIGSTOP), make the change,
 * connect (the connection waits in the backlog) and let it go on: it
 * answers the queued query before anything else. --query's own handling
 * of that answer is tested against a fake watcher.
 *
 * Needs RAPIDO_BIN (rapido-watch); skips otherwise.
 */
#include <sched.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "kselftest_harness.h"
#include "rapido_test.h"

#define SETTLE_US	30000	/* past the coarse ctime tick of the stamp */
#define WAIT_MS		3000
#define MAX_ARGS	32

struct tree {
	char *bin;		/* rapido-watch */
	char *top;		/* the scratch directory */
	char *root;		/* top/src: the watched tree */
	char *dir;		/* root/.rapido: --dir */
	char *stamp;		/* dir/stamp */
	char *log;		/* dir/watch.log */
	char *sock;		/* dir/watch.sock */
	pid_t pid;		/* a --foreground watcher we forked */
	pid_t daemon;		/* a detached one, from its log */
};

/* top-relative paths of the scratch tree; a trailing '/' is a directory */
static const char *const tree_files[] = {
	"src/", "src/Makefile", "src/a/", "src/a/x.c", "src/a/b/",
	"src/a/b/c/", "src/a/b/c/deep.c", "src/a/empty/", "src/b/",
	"src/.config", "src/.git/", "src/.git/HEAD", "src/.rapido/",
	"src/.rapido.config", "bin/", "bin/cc", "bin/ld", "out/", "out/t.c",
	"out/d/", "out/d/u.c",
};

/* symlinks of the scratch tree: { link, target } */
static const char *const tree_links[][2] = {
	{ "bin/gcc", "cc" },
	{ "src/a/link.c", "../../out/t.c" },
	{ "src/ext", "../out/d" },
};

/*
 * the directories a watcher on it watches: src, a, a/b, a/b/c, a/empty, b
 * and out/d through src/ext
 */
#define TREE_DIRS	7

static char *at(const struct tree *t, const char *rel)
{
	return strf("%s/%s", t->top, rel);
}

static int make_tree(struct tree *t)
{
	char tmpl[] = "/tmp/watch_test.XXXXXX";
	char *p;
	int ret = 0;

	if (!mkdtemp(tmpl))
		return -errno;
	t->top = strdup(tmpl);
	t->root = at(t, "src");
	t->dir = at(t, "src/.rapido");
	t->stamp = at(t, "src/.rapido/stamp");
	t->log = at(t, "src/.rapido/watch.log");
	t->sock = at(t, "src/.rapido/watch.sock");
	for (size_t i = 0; !ret && i < ARRAY_SIZE(tree_files); i++) {
		const char *rel = tree_files[i];

		p = at(t, rel);
		if (rel[strlen(rel) - 1] == '/')
			ret = mkdir(p, 0755) ? -errno : 0;
		else
			ret = write_file(p, 0644, "int x;\n");
		free(p);
	}
	for (size_t i = 0; !ret && i < ARRAY_SIZE(tree_links); i++) {
		p = at(t, tree_links[i][0]);
		ret = symlink(tree_links[i][1], p) ? -errno : 0;
		free(p);
	}
	if (!ret)
		ret = write_file(t->stamp, 0644, "kbuild ok\n");
	usleep(SETTLE_US);
	return ret;
}

/* argv of --start with the tree's usual options, then @extra..., ROOT */
static void start_argv(const struct tree *t, char **argv, bool fg,
		       const char *idle)
{
	int n = 0;

	argv[n++] = t->bin;
	argv[n++] = "--start";
	if (fg)
		argv[n++] = "--foreground";
	argv[n++] = "--dir";
	argv[n++] = t->dir;
	argv[n++] = "--stamp";
	argv[n++] = t->stamp;
	argv[n++] = "--prune";
	argv[n++] = strf("%s/.git", t->root);
	argv[n++] = "--prune";
	argv[n++] = strf("%s/.rapido", t->root);
	argv[n++] = "--prune";
	argv[n++] = strf("%s/.rapido.config*", t->root);
	argv[n++] = "--file";
	argv[n++] = strf("%s/.config", t->root);
	argv[n++] = "--file";
	argv[n++] = at(t, "bin/gcc");
	if (idle) {
		argv[n++] = "--idle";
		argv[n++] = (char *)idle;
	}
	argv[n++] = t->root;
	argv[n] = NULL;
}

/* The child's exit status within @ms, or -1 (still running). */
static int wait_exit(pid_t pid, int ms)
{
	int st;

	for (int i = 0;; i++) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) :
					       128 + WTERMSIG(st);
		if (r < 0 || i >= ms / 5)
			return -1;
		usleep(5000);
	}
}

/*
 * Fork a --foreground watcher on the tree (its pid in t->pid) and wait for
 * its socket. 0 when it serves; -ECHILD if it exited (t->pid is then 0).
 */
static int start_fg(struct tree *t, const char *idle)
{
	char *argv[MAX_ARGS];

	start_argv(t, argv, true, idle);
	t->pid = spawn_bg(argv, NULL, 0);
	if (t->pid < 0)
		return -errno;
	for (int i = 0; i < WAIT_MS / 5; i++) {
		if (!access(t->sock, F_OK))
			return 0;
		if (wait_exit(t->pid, 0) >= 0) {
			t->pid = 0;
			return -ECHILD;
		}
		usleep(5000);
	}
	return -ETIMEDOUT;
}

static int run_query(const struct tree *t, struct run *r)
{
	char *const argv[] = { t->bin, "--query", "--dir", t->dir, NULL };

	return run(r, argv);
}

/* connect to the watcher's socket: the fd, or -errno */
static int sock_connect(const struct tree *t)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = { .tv_sec = WAIT_MS / 1000 };

	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", t->sock);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* everything the watcher sends on @fd until it closes it (@fd closed) */
static char *sock_reply(int fd)
{
	char *buf = strdup(""), chunk[4096];
	size_t len = 0;
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		rt_append(&buf, &len, chunk, n);
	close(fd);
	return buf;
}

/* Does the watcher's log have a line containing @needle? */
static bool log_has(const struct tree *t, const char *needle)
{
	char *text = read_text(t->log);
	bool found = text && strstr(text, needle);

	free(text);
	return found;
}

/* How many lines of the log have @needle. */
static int log_count(const struct tree *t, const char *needle)
{
	char *text = read_text(t->log), *p;
	int n = 0;

	for (p = text; p && (p = strstr(p, needle)); p++)
		n++;
	free(text);
	return n;
}

/* The pid of the watcher that logged "ready" last, or 0. */
static pid_t ready_pid(const struct tree *t)
{
	char *text = read_text(t->log), *line, *save = NULL;
	int pid = 0, n;

	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (sscanf(line, "rapido-watch[%d]", &n) == 1 &&
		    strstr(line, "]: ready: "))
			pid = n;
	free(text);
	return pid;
}

/* Is @pid a running rapido-watch (not a reused pid)? */
static bool is_watcher(pid_t pid)
{
	char *path = strf("/proc/%d/comm", (int)pid);
	char *comm = read_text(path);
	bool yes = comm && !strcmp(comm, "rapido-watch\n");

	free(comm);
	free(path);
	return yes;
}

/*
 * A fixture's scratch tree, in its setup: SETUP_SKIP without RAPIDO_BIN;
 * the test fails if the tree cannot be made.
 */
static void setup_tree(struct __test_metadata *_metadata, struct tree *t)
{
	const char *bin = rapido_bin("rapido-watch");

	memset(t, 0, sizeof(*t));
	if (!bin)
		SETUP_SKIP("RAPIDO_BIN is not set");
	t->bin = strdup(bin);
	ASSERT_EQ(0, make_tree(t));
}

/* 0 when every watcher is gone and the tree removed */
static int teardown_tree(struct tree *t)
{
	int ret = 0;

	if (t->pid > 0) {
		kill(t->pid, SIGKILL);
		waitpid(t->pid, NULL, 0);
	}
	if (t->daemon > 0 && is_watcher(t->daemon))
		kill(t->daemon, SIGKILL);
	if (t->top)
		ret = rm_rf(t->top);
	free(t->top);
	free(t->root);
	free(t->dir);
	free(t->stamp);
	free(t->log);
	free(t->sock);
	free(t->bin);
	return ret;
}

FIXTURE(watch) {
	struct tree t;
};

FIXTURE_SETUP(watch)
{
	setup_tree(_metadata, &self->t);
}

FIXTURE_TEARDOWN(watch)
{
	EXPECT_EQ(0, teardown_tree(&self->t));
}

TEST_F(watch, query_without_watcher)
{
	struct run r;

	if (!self->t.bin)
		SKIP(return, "RAPIDO_BIN is not set");

	ASSERT_EQ(0, run_query(&self->t, &r));
	EXPECT_EQ(3, r.status) run_dump(&r);
	EXPECT_STREQ("", r.out);
	run_free(&r);
}

TEST_F(watch, clean_tree_twice)
{
	char *ready = strf("ready: %d directories watched in ", TREE_DIRS);
	struct run r;

	if (!self->t.bin)
		SKIP(return, "RAPIDO_BIN is not set");

	ASSERT_EQ(0, start_fg(&self->t, NULL));
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, run_query(&self->t, &r));
		EXPECT_EQ(0, r.status) run_dump(&r);
		EXPECT_STREQ("", r.out);
		run_free(&r);
	}
	/* pruned directories are not watched */
	EXPECT_TRUE(log_has(&self->t, ready));
	EXPECT_EQ(-1, wait_exit(self->t.pid, 0));
	free(ready);
}

/*
 * A query right after a change: "changed" and the path, whether the
 * watcher still answers or already quit (watch.changed). The note lasts
 * until a new watcher is ready.
 */
TEST_F(watch, query_after_change)
{
	char *path = at(&self->t, "src/a/b/c/deep.c");
	char *note = strf("%s/watch.changed", self->t.dir);
	char *out = strf("%s\n", path);
	struct run r;

	if (!self->t.bin)
		SKIP(return, "RAPIDO_BIN is not set");

	ASSERT_EQ(0, start_fg(&self->t, NULL));
	ASSERT_EQ(0, write_file(path, 0644, "int y;\n"));
	ASSERT_EQ(0, run_query(&self->t, &r));
	EXPECT_EQ(1, r.status) run_dump(&r);
	EXPECT_STREQ(out, r.out);
	run_free(&r);
	EXPECT_EQ(0, wait_exit(self->t.pid, WAIT_MS));
	self->t.pid = 0;
	ASSERT_EQ(0, run_query(&self->t, &r));
	EXPECT_EQ(1, r.status) run_dump(&r);
	EXPECT_STREQ(out, r.out);
	run_free(&r);
	EXPECT_NE(0, access(self->t.sock, F_OK));
	free(out);
	out = strf("changed: %s", path);
	EXPECT_TRUE(log_has(&self->t, out));

	/* kbuild ran (a new stamp): the next watcher voids the note */
	usleep(SETTLE_US);
	ASSERT_EQ(0, write_file(self->t.stamp, 0644, "kbuild ok again\n"));
	usleep(SETTLE_US);
	ASSERT_EQ(0, start_fg(&self->t, NULL));
	EXPECT_NE(0, access(note, F_OK));
	ASSERT_EQ(0, run_query(&self->t, &r));
	EXPECT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	free(out);
	free(note);
	free(path);
}

/* A change between the stamp and the start: no watcher at all. */
TEST_F(watch, changed_before_start)
{
	char *path = at(&self->t, "src/a/x.c");
	char *line = strf("changed: %s", path);
	struct run r;

	if (!self->t.bin)
		SKIP(return, "RAPIDO_BIN is not set");

	ASSERT_EQ(0, write_file(path, 0644, "int z;\n"));
	EXPECT_EQ(-ECHILD, start_fg(&self->t, NULL));
	EXPECT_NE(0, access(self->t.sock, F_OK));
	/* no watcher, but the change it found */
	ASSERT_EQ(0, run_query(&self->t, &r));
	EXPECT_EQ(1, r.status) run_dump(&r);
	EXPECT_EQ(0, strncmp(r.out, path, strlen(path))) run_dump(&r);
	run_free(&r);
	EXPECT_TRUE(log_has(&self->t, line));
	free(line);
	free(path);
}

/* The same for a symlink's target out of the tree, seen by the walk. */
TEST_F(watch, link_target_changed_before_start)
{
	char *target = at(&self->t, "out/t.c");
	char *link = at(&self->t, "src/a/link.c");
	char *line = strf("changed: %s\n", link);

	if (!self->t.bin)
		SKIP(return, "RAPIDO_BIN is not set");

	ASSERT_EQ(0, write_file(target, 0644, "int edited;\n"));
	EXPECT_EQ(-ECHILD, start_fg(&self->t, NULL));
	EXPECT_NE(0, access(self->t.sock, F_OK));
	EXPECT_TRUE(log_has(&self->t, line));
	free(line);
	free(link);
	free(target);
}

TEST_F(watch, second_start_defers)
{
	char *argv[MAX_ARGS];
	struct run r;

	if (!self->t.bin)
		SKIP(return, "RAPIDO_BIN is not set");

	ASSERT_EQ(0, start_fg(&self->t, NULL));
	start_argv(&self->t, argv, true, NULL);
	ASSERT_EQ(0, run(&r, argv));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_GT(1.0, r.secs);
	run_free(&r);
	ASSERT_EQ(0, run_query(&self->t, &r));
	EXPECT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	/* only the first one walked the tree */
	EXPECT_EQ(1, log_count(&self->t, "]: ready: "));
}

TEST_F(watch, idle_exit)
{
	struct run r;

	if (!self->t.bin)
		SKIP(return, "RAPIDO_BIN is not set");

	ASSERT_EQ(0, start_fg(&self->t, "1"));
	usleep(1500000);
	ASSERT_EQ(0, run_query(&self->t, &r));
	EXPECT_EQ(3, r.status) run_dump(&r);
	run_free(&r);
	EXPECT_EQ(0, wait_exit(self->t.pid, WAIT_MS));
	self->t.pid = 0;
	EXPECT_TRUE(log_has(&self->t, "]: idle\n"));
}

TEST_F(watch, queries_keep_it_alive)
{
	struct run r;

	if (!self->t.bin)
		SKIP(return, "RAPIDO_BIN is not set");

	ASSERT_EQ(0, start_fg(&self->t, "1"));
	for (int i = 0; i < 4; i++) {
		usleep(500000);
		ASSERT_EQ(0, run_query(&self->t, &r));
		EXPECT_EQ(0, r.status) run_dump(&r);
		run_free(&r);
	}
	EXPECT_EQ(-1, wait_exit(self->t.pid, 0));
}

TEST_F(watch, root_removed)
{
	struct run r;

	if (!self->t.bin)
		SKIP(return, "RAPIDO_BIN is not set");

	ASSERT_EQ(0, start_fg(&self->t, NULL));
	ASSERT_EQ(0, rm_rf(self->t.root));
	EXPECT_EQ(0, wait_exit(self->t.pid, WAIT_MS));
	self->t.pid = 0;
	ASSERT_EQ(0, run_query(&self->t, &r));
	EXPECT_EQ(3, r.status) run_dump(&r);
	run_free(&r);
}

TEST_F(watch, root_renamed)
{
	char *to = at(&self->t, "moved");

	if (!self->t.bin)
		SKIP(return, "RAPIDO_BIN is not set");

	ASSERT_EQ(0, start_fg(&self->t, NULL));
	ASSERT_EQ(0, rename(self->t.root, to));
	EXPECT_EQ(0, wait_exit(self->t.pid, WAIT_MS));
	self->t.pid = 0;
	ASSERT_EQ(0, rename(to, self->t.root));
	EXPECT_TRUE(log_has(&self->t, "changed: "));
	free(to);
}

TEST_F(watch, socket_removed)
{
	if (!self->t.bin)
		SKIP(return, "RAPIDO_BIN is not set");
	ASSERT_EQ(0, start_fg(&self->t, NULL));
	ASSERT_EQ(0, unlink(self->t.sock));
	EXPECT_EQ(0, wait_exit(self->t.pid, WAIT_MS));
	self->t.pid = 0;
	EXPECT_TRUE(log_has(&self->t, "stopped: watch.sock was removed"));
}

TEST_F(watch, sigterm_removes_socket)
{
	if (!self->t.bin)
		SKIP(return, "RAPIDO_BIN is not set");
	ASSERT_EQ(0, start_fg(&self->t, NULL));
	ASSERT_EQ(0, kill(self->t.pid, SIGTERM));
	EXPECT_EQ(0, wait_exit(self->t.pid, WAIT_MS));
	self->t.pid = 0;
	EXPECT_NE(0, access(self->t.sock, F_OK));
	EXPECT_TRUE(log_has(&self->t, "stopped: signal 15"));
}

static int write_proc(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int ret = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);

	if (fd >= 0)
		close(fd);
	return ret ? 0 : -1;
}

/*
 * The inotify watch limit, lowered to 2 in a user namespace of our own
 * (the limit counts there and in every parent): no watcher, a log line.
 */
TEST_F(watch, watch_limit)
{
	char *argv[MAX_ARGS];
	char *map;
	pid_t pid;

	if (!self->t.bin)
		SKIP(return, "RAPIDO_BIN is not set");

	start_argv(&self->t, argv, true, NULL);
	map = strf("0 %d 1", (int)getuid());
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);

		if (unshare(CLONE_NEWUSER) ||
		    write_proc("/proc/self/uid_map", map))
			_exit(99);
		if (write_proc("/proc/sys/user/max_inotify_watches", "2"))
			_exit(98);
		dup2(nul, 1);
		dup2(nul, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	free(map);
	switch (wait_exit(pid, WAIT_MS)) {
	case 99:
		SKIP(return, "no user namespace to lower the limit in");
	case 98:
		SKIP(return, "cannot lower max_inotify_watches");
	case 0:
		break;
	default:
		ASSERT_TRUE(0) TH_LOG("the watcher did not exit 0 in time");
	}
	EXPECT_NE(0, access(self->t.sock, F_OK));
	EXPECT_TRUE(log_has(&self->t, "]: refused: cannot watch '"));
	EXPECT_TRUE(log_has(&self->t, "': inotify watch limit reached (fs.inotify.max_user_watches="));
	EXPECT_TRUE(log_has(&self->t, ", this tree needs more): the up-to-date check scans instead\n"));
}

/* --start detaches: returns at once, holds none of the caller's fds. */
TEST_F(watch, start_detaches)
{
	char *argv[MAX_ARGS];
	struct run r;
	char link[64];
	ssize_t n;
	char *fd1;

	if (!self->t.bin)
		SKIP(return, "RAPIDO_BIN is not set");

	start_argv(&self->t, argv, false, "30");
	/* run() reads the pipes to EOF: a watcher holding them blocks it */
	ASSERT_EQ(0, run(&r, argv));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_GT(1.0, r.secs);
	EXPECT_STREQ("", r.err);
	run_free(&r);
	for (int i = 0; i < WAIT_MS / 5 && access(self->t.sock, F_OK); i++)
		usleep(5000);
	self->t.daemon = ready_pid(&self->t);
	ASSERT_LT(0, self->t.daemon);
	ASSERT_TRUE(is_watcher(self->t.daemon));
	EXPECT_NE(getsid(0), getsid(self->t.daemon));
	fd1 = strf("/proc/%d/fd/1", (int)self->t.daemon);
	n = readlink(fd1, link, sizeof(link) - 1);
	ASSERT_LT(0, n);
	link[n] = '\0';
	EXPECT_STREQ("/dev/null", link);
	free(fd1);
	ASSERT_EQ(0, run_query(&self->t, &r));
	EXPECT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
}

/* --query against a fake watcher that answers "changed <path>" */
TEST_F(watch, query_prints_path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct run r;
	pid_t pid;

	if (!self->t.bin)
		SKIP(return, "RAPIDO_BIN is not set");

	ASSERT_LE(0, fd);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", self->t.sock);
	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&sa, sizeof(sa)));
	ASSERT_EQ(0, listen(fd, 4));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int c = accept(fd, NULL, NULL);
		static const char ans[] = "changed /some/dir/file.c\n";

		_exit(c < 0 || write(c, ans, strlen(ans)) < 0);
	}
	close(fd);
	ASSERT_EQ(0, run_query(&self->t, &r));
	EXPECT_EQ(1, r.status) run_dump(&r);
	EXPECT_STREQ("/some/dir/file.c\n", r.out);
	run_free(&r);
	EXPECT_EQ(0, wait_exit(pid, WAIT_MS));
}

/* a watcher that never answers: the query gives up after 2 s */
TEST_F(watch, query_timeout)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct run r;

	if (!self->t.bin)
		SKIP(return, "RAPIDO_BIN is not set");

	ASSERT_LE(0, fd);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", self->t.sock);
	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&sa, sizeof(sa)));
	ASSERT_EQ(0, listen(fd, 4));
	ASSERT_EQ(0, run_query(&self->t, &r));
	EXPECT_EQ(3, r.status) run_dump(&r);
	EXPECT_LT(1.5, r.secs);
	EXPECT_GT(4.0, r.secs);
	run_free(&r);
	close(fd);
}

/* a socket nobody listens on (a watcher that was killed) */
TEST_F(watch, query_stale_socket)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct run r;

	if (!self->t.bin)
		SKIP(return, "RAPIDO_BIN is not set");

	ASSERT_LE(0, fd);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", self->t.sock);
	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&sa, sizeof(sa)));
	close(fd);
	ASSERT_EQ(0, run_query(&self->t, &r));
	EXPECT_EQ(3, r.status) run_dump(&r);
	run_free(&r);
}

FIXTURE(usage) {
	struct tree t;
};

FIXTURE_VARIANT(usage) {
	const char *argv[10];	/* after the program; "DIR", "STAMP", "ROOT" */
	const char *says;	/* on stderr; {root} is the tree's ROOT */
};

FIXTURE_VARIANT_ADD(usage, no_mode) {
	.argv = { "--dir", "DIR" },
	.says = "cannot tell what to do: give '--start' or '--query'",
};

FIXTURE_VARIANT_ADD(usage, query_no_dir) {
	.argv = { "--query" },
	.says = "option '--dir' is required: name the state directory",
};

FIXTURE_VARIANT_ADD(usage, start_no_dir) {
	.argv = { "--start", "--stamp", "STAMP", "ROOT" },
	.says = "option '--dir' is required: name the state directory",
};

FIXTURE_VARIANT_ADD(usage, start_no_stamp) {
	.argv = { "--start", "--dir", "DIR", "ROOT" },
	.says = "option '--stamp' is required: name the file that marks kbuild's last run",
};

FIXTURE_VARIANT_ADD(usage, start_no_root) {
	.argv = { "--start", "--dir", "DIR", "--stamp", "STAMP" },
	.says = "argument ROOT is required: name the tree to watch",
};

FIXTURE_VARIANT_ADD(usage, unknown_option) {
	.argv = { "--query", "--dir", "DIR", "--bogus" },
	.says = "option '--bogus' is unknown",
};

FIXTURE_VARIANT_ADD(usage, missing_argument) {
	.argv = { "--query", "--dir" },
	.says = "option '--dir' needs a value",
};

FIXTURE_VARIANT_ADD(usage, both_modes) {
	.argv = { "--query", "--start", "--dir", "DIR" },
	.says = "options '--start' and '--query' cannot be used together",
};

FIXTURE_VARIANT_ADD(usage, query_with_root) {
	.argv = { "--query", "--dir", "DIR", "ROOT" },
	.says = "option '--query' takes '--dir' only",
};

FIXTURE_VARIANT_ADD(usage, bad_idle) {
	.argv = { "--start", "--idle", "0", "--dir", "DIR", "--stamp",
		  "STAMP", "ROOT" },
	.says = "option '--idle' wants whole seconds, 1 or more, not '0'",
};

FIXTURE_VARIANT_ADD(usage, missing_stamp) {
	.argv = { "--start", "--dir", "DIR", "--stamp", "ROOT/nostamp",
		  "ROOT" },
	.says = "cannot read the stamp '{root}/nostamp': No such file or directory",
};

FIXTURE_VARIANT_ADD(usage, root_not_dir) {
	.argv = { "--start", "--dir", "DIR", "--stamp", "STAMP",
		  "STAMP" },
	.says = "cannot watch root '{root}/.rapido/stamp': Not a directory",
};

FIXTURE_SETUP(usage)
{
	setup_tree(_metadata, &self->t);
}

FIXTURE_TEARDOWN(usage)
{
	EXPECT_EQ(0, teardown_tree(&self->t));
}

TEST_F(usage, exits_2_with_one_line)
{
	char *argv[12] = { self->t.bin };
	char *owned[10] = { NULL };
	const char *root;
	char *want;
	struct run r;
	int n = 1;

	if (!self->t.bin)
		SKIP(return, "RAPIDO_BIN is not set");

	for (int i = 0; variant->argv[i]; i++, n++) {
		const char *a = variant->argv[i];

		if (!strcmp(a, "DIR"))
			argv[n] = self->t.dir;
		else if (!strcmp(a, "STAMP"))
			argv[n] = self->t.stamp;
		else if (!strncmp(a, "ROOT", 4))
			argv[n] = owned[i] = strf("%s%s", self->t.root, a + 4);
		else
			argv[n] = (char *)a;
	}
	argv[n] = NULL;
	root = strstr(variant->says, "{root}");
	if (root)
		want = strf("rapido-watch: %.*s%s%s",
			    (int)(root - variant->says), variant->says,
			    self->t.root, root + strlen("{root}"));
	else
		want = strf("rapido-watch: %s", variant->says);
	ASSERT_EQ(0, run(&r, argv));
	EXPECT_EQ(2, r.status) run_dump(&r);
	/* the message first, whole */
	EXPECT_EQ(0, strncmp(r.err, want, strlen(want))) run_dump(&r);
	free(want);
	/* one line */
	EXPECT_EQ(strchr(r.err, '\n'), strrchr(r.err, '\n'));
	EXPECT_STREQ("", r.out);
	EXPECT_NE(0, access(self->t.sock, F_OK));
	run_free(&r);
	for (size_t i = 0; i < ARRAY_SIZE(owned); i++)
		free(owned[i]);
}

/*
 * One change each: reported as "changed <path>" (top-relative; @alt is
 * another acceptable path), or, with no @path, not a change at all.
 */
FIXTURE(change) {
	struct tree t;
};

/* an operation on one top-relative path of the scratch tree */
struct step {
	const char *on;
	int (*op)(const char *path);
};

FIXTURE_VARIANT(change) {
	struct step steps[3];	/* done in order, up to an empty one */
	int (*act)(const struct tree *t);	/* or this, if set */
	const char *path;
	const char *alt;
};

static int in_tree(const struct tree *t, const char *rel,
		   int (*fn)(const char *path))
{
	char *p = at(t, rel);
	int ret = fn(p) ? -errno : 0;

	free(p);
	return ret;
}

static int do_write(const char *p)
{
	return write_file(p, 0644, "int changed;\n") ? -1 : 0;
}

static int do_append(const char *p)
{
	int fd = open(p, O_WRONLY | O_APPEND);
	int ret = fd < 0 || write(fd, "\n", 1) != 1;

	if (fd >= 0)
		close(fd);
	return ret ? -1 : 0;
}

static int do_touch(const char *p)
{
	return utimensat(AT_FDCWD, p, NULL, 0);
}

static int do_chmod(const char *p)
{
	return chmod(p, 0600);
}

static int do_mkdir(const char *p)
{
	return mkdir(p, 0755);
}









static int rename_across(const struct tree *t)
{
	char *from = at(t, "src/a/x.c"), *to = at(t, "src/b/x.c");
	int ret = rename(from, to) ? -errno : 0;

	free(from);
	free(to);
	return ret;
}







static int retarget_gcc(const struct tree *t)
{
	char *tmp = at(t, "bin/gcc.tmp"), *gcc = at(t, "bin/gcc");
	int ret = symlink("ld", tmp) || rename(tmp, gcc) ? -errno : 0;

	free(tmp);
	free(gcc);
	return ret;
}

static int replace_cc(const struct tree *t)
{
	char *tmp = at(t, "bin/cc.new"), *cc = at(t, "bin/cc");
	int ret = write_file(tmp, 0755, "new cc\n") ?:
		  (rename(tmp, cc) ? -errno : 0);

	free(tmp);
	free(cc);
	return ret;
}

FIXTURE_VARIANT_ADD(change, write_deep) {
	.steps = { { "src/a/b/c/deep.c", do_append } },
	.path = "src/a/b/c/deep.c",
};

FIXTURE_VARIANT_ADD(change, touch) {
	.steps = { { "src/a/x.c", do_touch } },
	.path = "src/a/x.c",
};

FIXTURE_VARIANT_ADD(change, chmod) {
	.steps = { { "src/a/x.c", do_chmod } },
	.path = "src/a/x.c",
};

FIXTURE_VARIANT_ADD(change, chmod_root) {
	.steps = { { "src", do_chmod } },
	.path = "src",
};

FIXTURE_VARIANT_ADD(change, create) {
	.steps = { { "src/a/b/new.c", do_write } },
	.path = "src/a/b/new.c",
};

FIXTURE_VARIANT_ADD(change, mkdir) {
	.steps = { { "src/a/b/newdir", do_mkdir } },
	.path = "src/a/b/newdir",
};

FIXTURE_VARIANT_ADD(change, rmdir) {
	.steps = { { "src/a/empty", rmdir } },
	.path = "src/a/empty",
};

FIXTURE_VARIANT_ADD(change, unlink) {
	.steps = { { "src/a/x.c", unlink } },
	.path = "src/a/x.c",
};

FIXTURE_VARIANT_ADD(change, rename_across_dirs) {
	.act = rename_across, .path = "src/a/x.c", .alt = "src/b/x.c",
};

FIXTURE_VARIANT_ADD(change, config) {
	.steps = { { "src/.config", do_append } },
	.path = "src/.config",
};

FIXTURE_VARIANT_ADD(change, pruned_git) {
	.steps = { { "src/.git/HEAD", do_append },
		    { "src/.git/objects", do_mkdir }, { "src/.git", do_touch } },
};

FIXTURE_VARIANT_ADD(change, pruned_rapido) {
	.steps = { { "src/.rapido/images", do_mkdir },
		    { "src/.rapido/images/x.cpio", do_write },
		    { "src/.rapido/stamp2", do_write } },
};

FIXTURE_VARIANT_ADD(change, pruned_rapido_config) {
	.steps = { { "src/.rapido.config", do_append },
		    { "src/.rapido.config.old", do_write } },
};

FIXTURE_VARIANT_ADD(change, compiler_touched) {
	.steps = { { "bin/cc", do_touch } },
	.path = "bin/cc", .alt = "bin/gcc",
};

FIXTURE_VARIANT_ADD(change, compiler_replaced) {
	.act = replace_cc, .path = "bin/cc", .alt = "bin/gcc",
};

FIXTURE_VARIANT_ADD(change, compiler_symlink_retargeted) {
	.act = retarget_gcc, .path = "bin/gcc",
};

FIXTURE_VARIANT_ADD(change, compiler_sibling) {
	.steps = { { "bin/ld", do_touch }, { "bin/as", do_write } },
};

/* a source that is a symlink out of the tree: its target counts */
FIXTURE_VARIANT_ADD(change, link_target_written) {
	.steps = { { "out/t.c", do_append } },
	.path = "src/a/link.c",
};

FIXTURE_VARIANT_ADD(change, link_target_touched) {
	.steps = { { "out/t.c", do_touch } },
	.path = "src/a/link.c",
};

FIXTURE_VARIANT_ADD(change, link_dir_target_written) {
	.steps = { { "out/d/u.c", do_append } },
	.path = "src/ext/u.c",
};

FIXTURE_VARIANT_ADD(change, link_dir_target_created) {
	.steps = { { "out/d/new.c", do_write } },
	.path = "src/ext/new.c",
};

/* beside the target, not under a symlinked directory: not read */
FIXTURE_VARIANT_ADD(change, link_target_sibling) {
	.steps = { { "out/other.c", do_write } },
};

FIXTURE_SETUP(change)
{
	RT_ONLY();
	setup_tree(_metadata, &self->t);
}

FIXTURE_TEARDOWN(change)
{
	EXPECT_EQ(0, teardown_tree(&self->t));
}

TEST_F(change, answered)
{
	struct tree *t = &self->t;
	char *want = NULL, *alt = NULL, *reply;
	struct run r;
	int fd, st;

	if (!self->t.bin)
		SKIP(return, "RAPIDO_BIN is not set");

	ASSERT_EQ(0, start_fg(t, NULL));
	ASSERT_EQ(0, run_query(t, &r));
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);

	/* the change and a query, both waiting when the watcher goes on */
	ASSERT_EQ(0, kill(t->pid, SIGSTOP));
	ASSERT_EQ(t->pid, waitpid(t->pid, &st, WUNTRACED));
	ASSERT_TRUE(WIFSTOPPED(st));
	if (variant->act)
		ASSERT_EQ(0, variant->act(t));
	for (size_t i = 0; i < ARRAY_SIZE(variant->steps); i++) {
		const struct step *st = &variant->steps[i];

		if (!st->on)
			break;
		ASSERT_EQ(0, in_tree(t, st->on, st->op)) TH_LOG("%s", st->on);
	}
	fd = sock_connect(t);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, kill(t->pid, SIGCONT));
	reply = sock_reply(fd);

	if (!variant->path) {
		EXPECT_STREQ("clean\n", reply);
		free(reply);
		ASSERT_EQ(0, run_query(t, &r));
		EXPECT_EQ(0, r.status) run_dump(&r);
		run_free(&r);
		EXPECT_EQ(-1, wait_exit(t->pid, 0));
		return;
	}
	want = strf("changed %s/%s\n", t->top, variant->path);
	alt = strf("changed %s/%s\n", t->top, variant->alt ?: variant->path);
	if (strcmp(alt, reply))
		EXPECT_STREQ(want, reply);
	free(reply);
	EXPECT_EQ(0, wait_exit(t->pid, WAIT_MS));
	t->pid = 0;
	/* gone, but the change is in watch.changed */
	ASSERT_EQ(0, run_query(t, &r));
	EXPECT_EQ(1, r.status) run_dump(&r);
	EXPECT_TRUE(!strcmp(want + 8, r.out) || !strcmp(alt + 8, r.out))
		run_dump(&r);
	run_free(&r);
	EXPECT_NE(0, access(t->sock, F_OK));
	free(want);
	free(alt);
	/* the log names it */
	want = strf("changed: %s/%s\n", t->top, variant->path);
	alt = strf("changed: %s/%s\n", t->top, variant->alt ?: variant->path);
	EXPECT_TRUE(log_has(t, want) || log_has(t, alt));
	free(want);
	free(alt);
}

/* ---- rapido-fast ---- */

#define FAST_KREL	"6.1.0-fast"
#define FAST_KEY	"arg FOO=bar\nRT_FAST_A=1\nRT_FAST_B unset\n"

FIXTURE(fast) {
	struct tree t;
	char *fast;		/* rapido-fast */
	char *record;		/* dir/stamps/fast-x */
	char *image;
};

/* Each variant breaks one thing the fast path rests on (or none). */
FIXTURE_VARIANT(fast) {
	const char *env_a;	/* RT_FAST_A (the record says 1) */
	const char *arg;	/* the VAR=value argument (FOO=bar) */
	const char *arg2;	/* one more */
	bool lock_held;		/* by another open file */
	const char *rc;		/* the record's FAST_RC, else the file's */
	const char *krel;	/* the record's FAST_KREL */
	bool newer;		/* a FAST_NEWER file newer than the record */
	bool pending;		/* stamps/kbuild.pending */
	bool no_end;		/* the record cut short */
	bool changed;		/* a source touched: the watcher's answer */
	bool no_watcher;
	bool exec;		/* --exec --say, not --print */
	int want;
};

FIXTURE_VARIANT_ADD(fast, holds) { .want = 0 };
FIXTURE_VARIANT_ADD(fast, holds_exec) { .exec = true, .want = 0 };
FIXTURE_VARIANT_ADD(fast, x_arg_ignored) { .arg2 = "X=echo hi", .want = 0 };
FIXTURE_VARIANT_ADD(fast, env_changed) { .env_a = "2", .want = 3 };
FIXTURE_VARIANT_ADD(fast, arg_changed) { .arg = "FOO=baz", .want = 3 };
FIXTURE_VARIANT_ADD(fast, arg_added) { .arg2 = "MEM=1024", .want = 3 };
FIXTURE_VARIANT_ADD(fast, lock_held) { .lock_held = true, .want = 3 };
FIXTURE_VARIANT_ADD(fast, rapido_config_changed) {
	.rc = "int y;\n", .want = 3 };
FIXTURE_VARIANT_ADD(fast, release_changed) { .krel = "6.1.1", .want = 3 };
FIXTURE_VARIANT_ADD(fast, newer_module) { .newer = true, .want = 3 };
FIXTURE_VARIANT_ADD(fast, kbuild_pending) { .pending = true, .want = 3 };
FIXTURE_VARIANT_ADD(fast, record_cut_short) { .no_end = true, .want = 3 };
FIXTURE_VARIANT_ADD(fast, source_changed) { .changed = true, .want = 3 };
FIXTURE_VARIANT_ADD(fast, no_watcher) { .no_watcher = true, .want = 3 };
FIXTURE_VARIANT_ADD(fast, changed_and_exec) {
	.changed = true, .exec = true, .want = 3 };

/* one NUL-ended record onto @buf */
static void add_rec(char **buf, size_t *len, const char *key, const char *val)
{
	char *rec = strf("%s=%s", key, val);

	rt_append(buf, len, rec, strlen(rec) + 1);
	free(rec);
}

FIXTURE_SETUP(fast)
{
	/* the state directory's, and kernel.release's in the tree */
	static const char *const dirs[] = {
		"src/.rapido/bin", "src/.rapido/stamps", "src/.rapido/images",
		"src/.rapido/mods", "src/.rapido/tmp", "src/.rapido/results",
		"src/include", "src/include/config",
	};
	struct tree *t = &self->t;
	const char *bin;
	char *p, *buf = strdup("");
	size_t len = 0;

	RT_ONLY();
	setup_tree(_metadata, t);
	bin = rapido_bin("rapido-fast");
	self->fast = strdup(bin);
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		p = at(t, dirs[i]);
		ASSERT_EQ(0, mkdir(p, 0755));
		free(p);
	}
	p = strf("%s/bin/rapido-cut", t->dir);
	ASSERT_EQ(0, write_file(p, 0755,
				"#!/bin/sh\necho \"CUT-RAN $*\"\n"));
	free(p);
	/* kernel.release is in the tree: the stamp again, after it */
	p = strf("%s/include/config/kernel.release", t->root);
	ASSERT_EQ(0, write_file(p, 0644, FAST_KREL "\n"));
	free(p);
	usleep(SETTLE_US);
	ASSERT_EQ(0, write_file(t->stamp, 0644, "kbuild ok\n"));
	usleep(SETTLE_US);

	/* the driver's variables: no KBUILD_* or KCONFIG_* of ours */
	for (char **e = environ; *e;) {
		if (!strncmp(*e, "KBUILD_", 7) || !strncmp(*e, "KCONFIG_", 8)) {
			p = strndup(*e, strcspn(*e, "="));
			unsetenv(p);
			free(p);
			continue;
		}
		e++;
	}
	setenv("RT_FAST_A", variant->env_a ?: "1", 1);
	unsetenv("RT_FAST_B");

	self->image = strf("%s/images/x.cpio", t->dir);
	add_rec(&buf, &len, "FAST_KEY", FAST_KEY);
	add_rec(&buf, &len, "FAST_NAMES", "RT_FAST_A RT_FAST_B");
	add_rec(&buf, &len, "FAST_RC", variant->rc ?: "int x;\n");
	add_rec(&buf, &len, "FAST_KREL", variant->krel ?: FAST_KREL);
	add_rec(&buf, &len, "FAST_NEWER", t->stamp);
	p = strf("%s/Makefile", t->root);
	add_rec(&buf, &len, "FAST_EXIST", p);
	free(p);
	add_rec(&buf, &len, "FAST_CUT", "-o");
	add_rec(&buf, &len, "FAST_CUT", self->image);
	add_rec(&buf, &len, "PROFILE", "x");
	if (!variant->no_end)
		add_rec(&buf, &len, "END", "");
	self->record = strf("%s/stamps/fast-x", t->dir);
	ASSERT_EQ(0, write_whole(self->record, buf, len));
	free(buf);
	if (variant->newer) {
		struct timespec later[2] = { { 0, UTIME_OMIT } };

		ASSERT_EQ(0, clock_gettime(CLOCK_REALTIME, &later[1]));
		later[1].tv_sec += 10;
		ASSERT_EQ(0, utimensat(AT_FDCWD, t->stamp, later, 0));
	}
	if (variant->pending) {
		p = strf("%s/stamps/kbuild.pending", t->dir);
		ASSERT_EQ(0, write_file(p, 0644, "src/a/x.c\n"));
		free(p);
	}
	if (!variant->no_watcher)
		ASSERT_EQ(0, start_fg(t, NULL));
}

FIXTURE_TEARDOWN(fast)
{
	EXPECT_EQ(0, teardown_tree(&self->t));
	free(self->fast);
	free(self->record);
	free(self->image);
}

TEST_F(fast, answer)
{
	struct tree *t = &self->t;
	char *lock = strf("%s/tree.lock", t->dir);
	int fd = open(lock, O_RDWR | O_CREAT, 0644), other = -1;
	char *fdarg = strf("%d", fd), *src, *argv[16];
	struct run r;
	int n = 0;

	ASSERT_LE(0, fd);
	argv[n++] = self->fast;
	argv[n++] = variant->exec ? "exec-say" : "print";
	argv[n++] = fdarg;
	argv[n++] = t->dir;
	argv[n++] = t->root;
	argv[n++] = self->record;
	argv[n++] = (char *)(variant->arg ?: "FOO=bar");
	argv[n++] = (char *)variant->arg2;
	argv[n] = NULL;
	if (variant->lock_held) {
		other = open(lock, O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, other);
		ASSERT_EQ(0, flock(other, LOCK_EX));
	}
	if (variant->changed) {
		src = strf("%s/a/x.c", t->root);
		ASSERT_EQ(0, utimensat(AT_FDCWD, src, NULL, 0));
		free(src);
	}
	ASSERT_EQ(0, run(&r, argv));
	EXPECT_EQ(variant->want, r.status) run_dump(&r);
	if (variant->want) {
		/* nothing done, nothing said: the driver takes its full path */
		EXPECT_STREQ("", r.out);
		EXPECT_STREQ("", r.err);
	} else if (variant->exec) {
		char *want = strf("  CUT     x\nCUT-RAN -o %s\n", self->image);

		EXPECT_STREQ(want, r.out) run_dump(&r);
		free(want);
	} else {
		char *want = strf("FAST_CUT=-o%cFAST_CUT=%s%cPROFILE=x%cEND=%c",
				  0, self->image, 0, 0, 0);
		size_t n = strlen(self->image) + 37;

		ASSERT_EQ(n, r.out_len) run_dump(&r);
		EXPECT_EQ(0, memcmp(want, r.out, n));
		free(want);
		/* the lock stays with the caller's open file */
		other = open(lock, O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, other);
		EXPECT_NE(0, flock(other, LOCK_EX | LOCK_NB));
		EXPECT_EQ(EWOULDBLOCK, errno);
	}
	run_free(&r);
	if (other >= 0)
		close(other);
	close(fd);
	free(fdarg);
	free(lock);
}

TEST_HARNESS_MAIN
