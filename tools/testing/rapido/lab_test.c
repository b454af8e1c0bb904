// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of the lab network and its Ceph (tools/testing/rapido/services):
 * lab up/down/status/tap and ceph up/down, run on scratch output trees as
 * the driver runs them (RAPIDO_OBJTREE=<tree>), and once through make.
 *
 * What they pin: the lab lives in a network namespace of its own, so the
 * host namespace's `ip -o link`, `ip -o addr` and `ip route` are byte for
 * byte the same before, during and after; up and down are idempotent; two
 * trees have labs at once; what a killed run leaves does not block the
 * next; Ceph gets to active+clean with its pool, image and file system, is
 * reused by a second up (the same pids), used as an external cluster
 * (CEPH_CONF=, CEPH_KEYRING=) without a daemon started, and leaves no
 * process after down or after a failed up.
 *
 * Every client aimed at a lab address runs inside the lab's namespace
 * (`services/lab exec`); nothing here sends traffic off the machine.
 *
 * Needs root (a network namespace, a bridge, taps) and iproute2; the Ceph
 * tests Debian's ceph-mon ceph-mgr ceph-osd ceph-mds ceph-common (installed
 * by scripts/rapido/quickstart). SKIPs otherwise. RAPIDO_SRC is the rapido
 * checkout; RAPIDO_KTREE (optional) a tree with rapido installed, for the
 * make goals.
 */
#include <dirent.h>
#include "kselftest_harness.h"
#include "rapido_test.h"

#define MAX_ARGS	24
#define LAB_ADDR	"192.168.155.1/24"

/* The lab settings a user may have in the environment: not ours. */
static const char *const lab_vars[] = {
	"LAB_NET", "CEPH_OSDS", "CEPH_IMAGE_SIZE", "CEPH_TIMEOUT", "RBD_POOL",
	"RBD_IMAGE", "CEPHFS_NAME", "CEPH_USER", "CEPH_CONF", "CEPH_KEYRING",
	"V", "RAPIDO_OBJTREE",
};

/*
 * Run services/@prog of the checkout for output tree @tree, with the
 * NULL-terminated VAR=value list @env (or NULL) added to the environment,
 * and the NULL-terminated arguments after @prog.
 */
static int svc(struct run *r, const char *tree, char *const *env,
	       const char *prog, ...)
{
	char *argv[MAX_ARGS], *objtree, *path;
	const char *src = getenv("RAPIDO_SRC");
	va_list ap;
	int n = 0, ret;

	objtree = strf("RAPIDO_OBJTREE=%s", tree);
	path = strf("%s/tools/testing/rapido/services/%s", src, prog);
	argv[n++] = "env";
	argv[n++] = objtree;
	for (; env && *env && n < MAX_ARGS - 8; env++)
		argv[n++] = *env;
	argv[n++] = path;
	va_start(ap, prog);
	while (n < MAX_ARGS - 1 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	ret = run(r, argv);
	free(objtree);
	free(path);
	return ret;
}

/* `@prog up` for @tree in the background, its output dropped: its pid. */
static pid_t spawn_up(const char *prog, const char *tree)
{
	pid_t pid = fork();

	if (pid == 0) {
		int nul = open("/dev/null", O_WRONLY);

		dup2(nul, 1);
		dup2(nul, 2);
		setenv("RAPIDO_OBJTREE", tree, 1);
		execl(prog, prog, "up", NULL);
		_exit(127);
	}
	return pid;
}

/* The pids in network namespace @netns, as a sorted, space-ended list. */
static char *netns_pids(const char *netns)
{
	char *const argv[] = { "ip", "netns", "pids", (char *)netns, NULL };
	char *list = strdup(""), *save, *tok;
	int pids[1024], n = 0;
	size_t len = 0;
	struct run r;

	if (!run(&r, argv) && !r.status) {
		for (tok = strtok_r(r.out, "\n", &save); tok && n < 1024;
		     tok = strtok_r(NULL, "\n", &save))
			if (!pid_gone(atoi(tok)))
				pids[n++] = atoi(tok);
	}
	run_free(&r);
	for (int i = 1; i < n; i++)	/* a few: insertion sort */
		for (int j = i; j > 0 && pids[j - 1] > pids[j]; j--) {
			int t = pids[j];

			pids[j] = pids[j - 1];
			pids[j - 1] = t;
		}
	for (int i = 0; i < n; i++) {
		char num[16];
		int l = snprintf(num, sizeof(num), "%d ", pids[i]);

		rt_append(&list, &len, num, l);
	}
	return list;
}

static int netns_exists(const char *netns)
{
	char *path = strf("/run/netns/%s", netns);
	int ret = !access(path, F_OK);

	free(path);
	return ret;
}

static int have_ceph(void)
{
	static const char *const bins[] = {
		"/usr/bin/ceph-mon", "/usr/bin/ceph-mgr", "/usr/bin/ceph-osd",
		"/usr/bin/ceph-mds", "/usr/bin/ceph", "/usr/bin/rbd",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bins); i++)
		if (access(bins[i], X_OK))
			return 0;
	return 1;
}

/* The value of NAME='value' in a file of such lines (malloc'ed) or NULL. */
static char *env_value(const char *text, const char *name)
{
	char *key = strf("\n%s='", name), *p, *end, *val = NULL;

	p = strstr(text, key);
	if (p) {
		p += strlen(key);
		end = strchr(p, '\'');
		if (end)
			val = strndup(p, end - p);
	}
	free(key);
	return val;
}

FIXTURE(lab) {
	char *top;		/* scratch directory */
	char *tree;		/* top/a: an output tree */
	char *tree2;		/* top/b: another */
	char *netns;		/* tree's lab namespace */
	char *netns2;
	char *ktree;		/* RAPIDO_KTREE, when a make test used it */
	char *before;		/* host_net() at setup */
};

static char *lab_netns(struct __test_metadata *_metadata, const char *tree)
{
	struct run r;
	char *name;

	if (svc(&r, tree, NULL, "lab", "netns", NULL) || r.status) {
		run_dump(&r);
		run_free(&r);
		return NULL;
	}
	name = strndup(r.out, strcspn(r.out, "\n"));
	run_free(&r);
	return name;
}

FIXTURE_SETUP(lab)
{
	char tmpl[] = "/tmp/lab_test.XXXXXX";

	memset(self, 0, sizeof(*self));
	if (geteuid())
		SKIP(return, "the lab needs root (a network namespace, a bridge, taps)");
	if (!getenv("RAPIDO_SRC"))
		SKIP(return, "RAPIDO_SRC is not set (run_tests sets it)");
	if (access("/usr/bin/ip", X_OK) && access("/sbin/ip", X_OK))
		SKIP(return, "iproute2's ip is not installed");
	for (size_t i = 0; i < ARRAY_SIZE(lab_vars); i++)
		unsetenv(lab_vars[i]);
	ASSERT_NE(NULL, mkdtemp(tmpl));
	self->top = strdup(tmpl);
	self->tree = strf("%s/a", tmpl);
	self->tree2 = strf("%s/b", tmpl);
	ASSERT_EQ(0, mkdir(self->tree, 0755));
	ASSERT_EQ(0, mkdir(self->tree2, 0755));
	self->netns = lab_netns(_metadata, self->tree);
	self->netns2 = lab_netns(_metadata, self->tree2);
	ASSERT_NE(NULL, self->netns);
	ASSERT_NE(NULL, self->netns2);
	self->before = host_net();
}

FIXTURE_TEARDOWN(lab)
{
	struct run r;

	if (!self->top)
		return;
	for (int i = 0; i < 3; i++) {
		const char *tree = i == 0 ? self->tree :
				   i == 1 ? self->tree2 : self->ktree;

		if (!tree)
			continue;
		svc(&r, tree, NULL, "lab", "down", NULL);
		EXPECT_EQ(0, r.status) run_dump(&r);
		run_free(&r);
	}
	EXPECT_FALSE(netns_exists(self->netns));
	EXPECT_FALSE(netns_exists(self->netns2));
	if (self->before) {
		char *after = host_net();

		EXPECT_STREQ(self->before, after);
		free(after);
	}
	rm_rf(self->top);
}

/* up twice, a tap twice: one namespace, one bridge, one tap; host as before */
TEST_F(lab, up_is_idempotent)
{
	char *ns_link;
	struct run r;

	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, svc(&r, self->tree, NULL, "lab", "up", NULL));
		ASSERT_EQ(0, r.status) run_dump(&r);
		EXPECT_NE(NULL, strstr(r.out, self->netns)) run_dump(&r);
		run_free(&r);
		ASSERT_EQ(0, svc(&r, self->tree, NULL, "lab", "tap", "1", NULL));
		ASSERT_EQ(0, r.status) run_dump(&r);
		EXPECT_STREQ("rtap1\n", r.out);
		run_free(&r);
	}
	EXPECT_TRUE(netns_exists(self->netns));
	ASSERT_EQ(0, svc(&r, self->tree, NULL, "lab", "exec", "ip", "-o",
			 "addr", NULL));
	ASSERT_EQ(0, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "rbr0    inet " LAB_ADDR)) run_dump(&r);
	run_free(&r);
	/* the lab's only route is its bridge's */
	ASSERT_EQ(0, svc(&r, self->tree, NULL, "lab", "exec", "ip", "route",
			 NULL));
	EXPECT_EQ(0, strncmp(r.out, "192.168.155.0/24 dev rbr0 ", 26)) run_dump(&r);
	EXPECT_EQ(strlen(r.out) - 1, strcspn(r.out, "\n")) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, svc(&r, self->tree, NULL, "lab", "exec", "ip", "-o",
			 "link", NULL));
	ns_link = strdup(r.out);
	run_free(&r);
	EXPECT_NE(NULL, strstr(ns_link, "rtap1: ")) fprintf(stderr, "%s", ns_link);
	EXPECT_NE(NULL, strstr(ns_link, "master rbr0")) fprintf(stderr, "%s", ns_link);
	free(ns_link);
	ASSERT_EQ(0, svc(&r, self->tree, NULL, "lab", "status", NULL));
	EXPECT_EQ(0, r.status);
	EXPECT_NE(NULL, strstr(r.out, self->netns)) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "tap rtap1")) run_dump(&r);
	run_free(&r);
	EXPECT_HOST_NET(self->before);
}

/* down kills what runs in the lab, removes the namespace; twice is fine */
TEST_F(lab, down_leaves_nothing)
{
	char *now, *pids, *want;
	struct run r;
	pid_t pid;
	int st;

	ASSERT_EQ(0, svc(&r, self->tree, NULL, "lab", "up", NULL));
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	for (int i = 1; i <= 2; i++) {
		char num[4];

		snprintf(num, sizeof(num), "%d", i);
		ASSERT_EQ(0, svc(&r, self->tree, NULL, "lab", "tap", num, NULL));
		ASSERT_EQ(0, r.status) run_dump(&r);
		run_free(&r);
	}
	/* a process in the lab, as a VM would be */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		execlp("ip", "ip", "netns", "exec", self->netns, "sleep", "600",
		       NULL);
		_exit(127);
	}
	want = strf("%d ", pid);
	for (int i = 0; i < 200; i++) {
		pids = netns_pids(self->netns);
		if (!strcmp(pids, want))
			break;
		free(pids);
		pids = NULL;
		usleep(10000);
	}
	EXPECT_NE(NULL, pids);
	free(pids);
	free(want);
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, svc(&r, self->tree, NULL, "lab", "down", NULL));
		ASSERT_EQ(0, r.status) run_dump(&r);
		run_free(&r);
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	EXPECT_FALSE(netns_exists(self->netns));
	now = host_net();
	EXPECT_EQ(NULL, strstr(now, "rtap"));
	EXPECT_EQ(NULL, strstr(now, "rbr0"));
	EXPECT_STREQ(self->before, now);
	free(now);
	ASSERT_EQ(0, svc(&r, self->tree, NULL, "lab", "status", NULL));
	EXPECT_NE(NULL, strstr(r.out, "lab: down")) run_dump(&r);
	run_free(&r);
}

/* two trees, two labs with the same address; one down, the other still up */
TEST_F(lab, two_labs_at_once)
{
	struct run r;

	EXPECT_STRNE(self->netns, self->netns2);
	ASSERT_EQ(0, svc(&r, self->tree, NULL, "lab", "up", NULL));
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, svc(&r, self->tree2, NULL, "lab", "up", NULL));
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	EXPECT_TRUE(netns_exists(self->netns));
	EXPECT_TRUE(netns_exists(self->netns2));
	ASSERT_EQ(0, svc(&r, self->tree, NULL, "lab", "down", NULL));
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	EXPECT_FALSE(netns_exists(self->netns));
	ASSERT_EQ(0, svc(&r, self->tree2, NULL, "lab", "exec", "ip", "-o",
			 "addr", "show", "rbr0", NULL));
	ASSERT_EQ(0, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, LAB_ADDR)) run_dump(&r);
	run_free(&r);
}

/* LAB_NET: from .rapido.config, the environment over it, bad ones refused */
TEST_F(lab, lab_net_setting)
{
	static const char *const bad[] = {
		"192.168.155.1", "192.168.155.1/25", "192.168.155.0/24",
		"192.168.155.255/24", "192.168.155.101/24", "300.1.1.1/24",
	};
	char *cfg = strf("%s/.rapido.config", self->tree);
	char *const env[] = { "LAB_NET=10.78.0.1/16", NULL };
	struct run r;

	ASSERT_EQ(0, write_file(cfg, 0644,
				"CONFIG_RAPIDO_LAB_NET=\"10.77.0.1/24\"\n"));
	ASSERT_EQ(0, svc(&r, self->tree, NULL, "lab", "up", NULL));
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, svc(&r, self->tree, NULL, "lab", "exec", "ip", "-o",
			 "-4", "addr", "show", "rbr0", NULL));
	EXPECT_NE(NULL, strstr(r.out, " 10.77.0.1/24 ")) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, svc(&r, self->tree, NULL, "lab", "vm-env", "2", NULL));
	EXPECT_NE(NULL, strstr(r.out, "RAPIDO_VM_ADDR='10.77.0.102'\n")) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "RAPIDO_VM_MAC='52:54:00:72:61:02'\n")) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, svc(&r, self->tree, env, "lab", "up", NULL));
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, svc(&r, self->tree, NULL, "lab", "exec", "ip", "-o",
			 "-4", "addr", "show", "rbr0", NULL));
	EXPECT_NE(NULL, strstr(r.out, " 10.78.0.1/16 ")) run_dump(&r);
	EXPECT_EQ(NULL, strstr(r.out, "10.77.")) run_dump(&r);
	run_free(&r);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char *bad_env[2], *quoted = strf("LAB_NET='%s'", bad[i]);

		bad_env[0] = strf("LAB_NET=%s", bad[i]);
		bad_env[1] = NULL;
		ASSERT_EQ(0, svc(&r, self->tree, bad_env, "lab", "up", NULL));
		EXPECT_EQ(128, r.status) run_dump(&r);
		EXPECT_NE(NULL, strstr(r.err, quoted)) run_dump(&r);
		run_free(&r);
		free(bad_env[0]);
		free(quoted);
	}
	free(cfg);
}

/*
 * A lab up killed (SIGKILL) at any point, and the name a namespace leaves
 * behind when the mount namespace that held it is gone (an empty
 * /run/netns/<name>): neither blocks the next up or down.
 */
TEST_F_TIMEOUT(lab, killed_up_does_not_block, 120)
{
	static const int delays_ms[] = { 0, 3, 10, 20, 40, 80 };
	char *stale;
	struct run r;
	int fd;

	for (size_t i = 0; i < ARRAY_SIZE(delays_ms); i++) {
		const char *src = getenv("RAPIDO_SRC");
		char *prog = strf("%s/tools/testing/rapido/services/lab", src);
		pid_t pid = spawn_up(prog, self->tree);

		ASSERT_LE(0, pid);
		usleep(delays_ms[i] * 1000);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		free(prog);
		ASSERT_EQ(0, svc(&r, self->tree, NULL, "lab", "up", NULL));
		EXPECT_EQ(0, r.status) run_dump(&r);
		EXPECT_LT(r.secs, 10.0);
		run_free(&r);
		ASSERT_EQ(0, svc(&r, self->tree, NULL, "lab", "tap", "1", NULL));
		EXPECT_EQ(0, r.status) run_dump(&r);
		run_free(&r);
		if (i % 2) {
			ASSERT_EQ(0, svc(&r, self->tree, NULL, "lab", "down",
					 NULL));
			EXPECT_EQ(0, r.status) run_dump(&r);
			run_free(&r);
		}
	}
	ASSERT_EQ(0, svc(&r, self->tree, NULL, "lab", "down", NULL));
	run_free(&r);
	stale = strf("/run/netns/%s", self->netns);
	mkdir("/run/netns", 0755);
	fd = open(stale, O_WRONLY | O_CREAT | O_EXCL, 0444);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, svc(&r, self->tree, NULL, "lab", "up", NULL));
	EXPECT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, svc(&r, self->tree, NULL, "lab", "exec", "true", NULL));
	EXPECT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	free(stale);
}

/* The lab's Ceph daemons: "pid " for each ceph-* process in @netns. */
static char *ceph_pids(const char *netns)
{
	char *all = netns_pids(netns), *save, *tok, *list = strdup("");
	size_t len = 0;

	for (tok = strtok_r(all, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		char *path = strf("/proc/%s/comm", tok);
		char *comm = read_text(path);

		if (comm && !strncmp(comm, "ceph-", 5)) {
			rt_append(&list, &len, tok, strlen(tok));
			rt_append(&list, &len, " ", 1);
		}
		free(comm);
		free(path);
	}
	free(all);
	return list;
}

static int count_words(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == ' ';
	return n;
}

/* `ceph pg stat`'s "N pgs: N active+clean;": every PG active+clean */
static int all_clean(const char *out)
{
	int n, clean;

	return sscanf(out, "%d pgs: %d active+clean;", &n, &clean) == 2 &&
	       n > 0 && n == clean;
}

/*
 * ceph up: active+clean, pool, image and fs present (asked from inside the
 * lab), secrets in a 0600 file and not on the console; a second up reuses
 * the daemons; the cluster used as an external one starts nothing; down
 * leaves no process; the host network as it was.
 */
TEST_F_TIMEOUT(lab, ceph_up_reuse_external_down, 600)
{
	char *env_path, *env, *key, *mon, *pids, *pids2, *conf, *keyring;
	char *ext_env[4], *bad_env[4];
	struct stat st;
	struct run r;
	int clean = 0;

	if (!have_ceph())
		SKIP(return, "Debian's ceph packages are not installed (scripts/rapido/quickstart installs them)");
	ASSERT_EQ(0, svc(&r, self->tree, NULL, "ceph", "up", NULL));
	ASSERT_EQ(0, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "active+clean in ")) run_dump(&r);
	fprintf(stderr, "# %s", r.out);
	env_path = strf("%s/.rapido/lab/ceph/client.env", self->tree);
	env = read_text(env_path);
	ASSERT_NE(NULL, env);
	key = env_value(env, "CEPH_KEY");
	mon = env_value(env, "CEPH_MON");
	ASSERT_NE(NULL, key);
	ASSERT_NE(NULL, mon);
	EXPECT_STREQ("192.168.155.1:6789", mon);
	EXPECT_LT(30, (int)strlen(key));
	/* the key is never on the console */
	EXPECT_EQ(NULL, strstr(r.out, key));
	EXPECT_EQ(NULL, strstr(r.err, key));
	run_free(&r);
	ASSERT_EQ(0, stat(env_path, &st));
	EXPECT_EQ(0600U, st.st_mode & 07777);
	conf = strf("%s/.rapido/lab", self->tree);
	ASSERT_EQ(0, stat(conf, &st));
	EXPECT_EQ(0700U, st.st_mode & 07777);
	free(conf);
	conf = strf("%s/.rapido/lab/ceph", self->tree);
	ASSERT_EQ(0, stat(conf, &st));
	EXPECT_EQ(0700U, st.st_mode & 07777);
	free(conf);

	/*
	 * From inside the lab. ceph up saw every PG active+clean; the mgr
	 * reports states once a second, so a state it saw a moment before
	 * may still show: allow a few seconds.
	 */
	for (int i = 0; i < 50 && !clean; i++) {
		ASSERT_EQ(0, svc(&r, self->tree, NULL, "lab", "exec", "ceph",
				 "pg", "stat", NULL));
		ASSERT_EQ(0, r.status) run_dump(&r);
		clean = all_clean(r.out);
		if (!clean && i == 49)
			run_dump(&r);
		run_free(&r);
		if (!clean)
			usleep(200000);
	}
	EXPECT_TRUE(clean);
	ASSERT_EQ(0, svc(&r, self->tree, NULL, "lab", "exec", "rbd", "info",
			 "rbd/rapido", NULL));
	ASSERT_EQ(0, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "size 1 GiB")) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "features: layering\n")) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, svc(&r, self->tree, NULL, "lab", "exec", "ceph", "fs",
			 "ls", NULL));
	ASSERT_EQ(0, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "name: cephfs, metadata pool: cephfs_metadata, data pools: [cephfs_data ]")) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, svc(&r, self->tree, NULL, "lab", "exec", "ceph", "mds",
			 "stat", NULL));
	EXPECT_NE(NULL, strstr(r.out, "up:active")) run_dump(&r);
	run_free(&r);
	pids = ceph_pids(self->netns);
	EXPECT_EQ(6, count_words(pids)) fprintf(stderr, "pids: %s\n", pids);

	/* again: the same daemons */
	ASSERT_EQ(0, svc(&r, self->tree, NULL, "ceph", "up", NULL));
	ASSERT_EQ(0, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "already up")) run_dump(&r);
	run_free(&r);
	pids2 = ceph_pids(self->netns);
	EXPECT_STREQ(pids, pids2);
	free(pids2);
	ASSERT_EQ(0, svc(&r, self->tree, NULL, "lab", "status", NULL));
	EXPECT_NE(NULL, strstr(r.out, "ceph: 6 daemons, ")) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "MiB RSS")) run_dump(&r);
	run_free(&r);

	/* the same cluster as an external one: nothing started or stopped */
	conf = strf("%s/ext.conf", self->top);
	keyring = strf("%s/ext.keyring", self->top);
	env_path = strf("%s/.rapido/lab/ceph/ceph.conf", self->tree);
	ASSERT_EQ(0, copy_with_times(env_path, conf));
	free(env_path);
	env_path = strf("%s/.rapido/lab/ceph/keyring", self->tree);
	ASSERT_EQ(0, copy_with_times(env_path, keyring));
	free(env_path);
	env_path = strf("%s/.rapido/lab/ceph/client.env", self->tree);
	ASSERT_EQ(0, unlink(env_path));
	ext_env[0] = strf("CEPH_CONF=%s", conf);
	ext_env[1] = strf("CEPH_KEYRING=%s", keyring);
	ext_env[2] = NULL;
	ASSERT_EQ(0, svc(&r, self->tree, ext_env, "ceph", "up", NULL));
	ASSERT_EQ(0, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "external cluster")) run_dump(&r);
	EXPECT_EQ(NULL, strstr(r.out, key));
	EXPECT_EQ(NULL, strstr(r.err, key));
	run_free(&r);
	pids2 = ceph_pids(self->netns);
	EXPECT_STREQ(pids, pids2);
	free(pids2);
	free(env);
	env = read_text(env_path);
	ASSERT_NE(NULL, env);
	free(mon);
	mon = env_value(env, "CEPH_MON");
	EXPECT_STREQ("192.168.155.1:6789", mon);
	free(key);
	key = env_value(env, "CEPH_KEY");
	ASSERT_NE(NULL, key);
	free(env);
	env = read_text(keyring);
	EXPECT_NE(NULL, strstr(env, key));
	/* an image the external cluster lacks: 128, named */
	bad_env[0] = ext_env[0];
	bad_env[1] = ext_env[1];
	bad_env[2] = "RBD_IMAGE=no-such-image";
	bad_env[3] = NULL;
	ASSERT_EQ(0, svc(&r, self->tree, bad_env, "ceph", "up", NULL));
	EXPECT_EQ(128, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "'rbd/no-such-image'")) run_dump(&r);
	run_free(&r);
	/* down of the external cluster stops nothing */
	ASSERT_EQ(0, svc(&r, self->tree, ext_env, "ceph", "down", NULL));
	EXPECT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	pids2 = ceph_pids(self->netns);
	EXPECT_STREQ(pids, pids2);
	free(pids2);
	free(ext_env[0]);
	free(ext_env[1]);

	/* down: no daemon left, the lab itself still up */
	ASSERT_EQ(0, svc(&r, self->tree, NULL, "ceph", "down", NULL));
	EXPECT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	pids2 = ceph_pids(self->netns);
	EXPECT_STREQ("", pids2);
	free(pids2);
	for (char *p = pids; *p; p = strchr(p, ' ') + 1) {
		int pid = atoi(p);

		EXPECT_TRUE(pid_gone(pid)) fprintf(stderr, "pid %d\n", pid);
	}
	EXPECT_TRUE(netns_exists(self->netns));
	EXPECT_HOST_NET(self->before);
	free(pids);
	free(env);
	free(env_path);
	free(key);
	free(mon);
	free(conf);
	free(keyring);
}

/*
 * A ceph up stopped half way: by SIGTERM (an interrupt) it kills what it
 * started; by SIGKILL its daemons stay, and the next up starts afresh.
 */
TEST_F_TIMEOUT(lab, ceph_interrupted_up, 300)
{
	const char *src = getenv("RAPIDO_SRC");
	char *prog = strf("%s/tools/testing/rapido/services/ceph", src);
	char *monpid = strf("%s/.rapido/lab/ceph/run/mon.a.pid", self->tree);
	char *pids;
	struct run r;

	if (!have_ceph())
		SKIP(return, "Debian's ceph packages are not installed (scripts/rapido/quickstart installs them)");
	for (int sig = 0; sig < 2; sig++) {
		pid_t pid;
		int st;

		unlink(monpid);	/* the last round's */
		pid = spawn_up(prog, self->tree);
		ASSERT_LE(0, pid);
		/* until the monitor daemon runs (its pid file), at most 30 s */
		for (int i = 0; i < 300 && access(monpid, F_OK); i++)
			usleep(100000);
		kill(pid, sig ? SIGKILL : SIGTERM);
		ASSERT_EQ(pid, waitpid(pid, &st, 0));
		pids = ceph_pids(self->netns);
		if (sig == 0) {
			EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 128);
			EXPECT_STREQ("", pids);
		} else {
			EXPECT_STRNE("", pids);
		}
		free(pids);
	}
	ASSERT_EQ(0, svc(&r, self->tree, NULL, "ceph", "up", NULL));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "restarting")) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "active+clean in ")) run_dump(&r);
	run_free(&r);
	pids = ceph_pids(self->netns);
	EXPECT_EQ(6, count_words(pids)) fprintf(stderr, "pids: %s\n", pids);
	free(pids);
	free(prog);
	free(monpid);
}

/*
 * A missing package: simulated by a PATH of symlinks to every program of
 * /usr/bin and /usr/sbin but ceph-osd (Debian merges /bin and /sbin into
 * them): exit 128 naming the package and the apt-get line, no lab made.
 */
TEST_F_TIMEOUT(lab, ceph_missing_package, 60)
{
	static const char *const dirs[] = { "/usr/bin", "/usr/sbin" };
	char *bin = strf("%s/bin", self->top), *path_env[2];
	struct run r;

	ASSERT_EQ(0, mkdir(bin, 0755));
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		DIR *d = opendir(dirs[i]);
		struct dirent *e;

		ASSERT_NE(NULL, d);
		while ((e = readdir(d))) {
			char *from, *to;

			if (e->d_name[0] == '.' || !strcmp(e->d_name, "ceph-osd"))
				continue;
			from = strf("%s/%s", dirs[i], e->d_name);
			to = strf("%s/%s", bin, e->d_name);
			symlink(from, to);	/* a name in both: the first */
			free(from);
			free(to);
		}
		closedir(d);
	}
	path_env[0] = strf("PATH=%s", bin);
	path_env[1] = NULL;
	ASSERT_EQ(0, svc(&r, self->tree, path_env, "ceph", "up", NULL));
	EXPECT_EQ(128, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "ceph-osd")) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "apt-get install --no-install-recommends ceph-osd")) run_dump(&r);
	run_free(&r);
	EXPECT_FALSE(netns_exists(self->netns));
	free(path_env[0]);
	free(bin);
}

/*
 * Not healthy in time: 128 with the log tails and paths, nothing running.
 * A cluster that can never be healthy, whatever the machine's speed: a
 * ceph-osd first in PATH makes the stores (--mkfs, the real one) but
 * starts no daemon, so no PG ever gets active.
 */
TEST_F_TIMEOUT(lab, ceph_timeout_leaves_nothing, 120)
{
	static const char shim[] =
		"#!/bin/sh\n"
		"case \" $* \" in *\" --mkfs \"*) exec /usr/bin/ceph-osd \"$@\" ;; esac\n"
		"exit 0\n";
	char *bin = strf("%s/bin", self->top);
	char *osd = strf("%s/ceph-osd", bin);
	char *path = strf("PATH=%s:%s", bin, getenv("PATH") ?: "/usr/bin");
	char *const env[] = { "CEPH_TIMEOUT=5", path, NULL };
	char *pids, *logdir;
	struct run r;
	FILE *f;

	if (!have_ceph())
		SKIP(return, "Debian's ceph packages are not installed (scripts/rapido/quickstart installs them)");
	ASSERT_EQ(0, mkdir(bin, 0755));
	f = fopen(osd, "w");
	ASSERT_NE(NULL, f);
	fputs(shim, f);
	ASSERT_EQ(0, fclose(f));
	ASSERT_EQ(0, chmod(osd, 0755));
	ASSERT_EQ(0, svc(&r, self->tree, env, "ceph", "up", NULL));
	EXPECT_EQ(128, r.status) run_dump(&r);
	logdir = strf("%s/.rapido/lab/ceph/log/", self->tree);
	EXPECT_NE(NULL, strstr(r.err, logdir)) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "mon.a.log <==")) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "nothing left running")) run_dump(&r);
	run_free(&r);
	pids = ceph_pids(self->netns);
	EXPECT_STREQ("", pids);
	free(pids);
	free(logdir);
	free(path);
	free(osd);
	free(bin);
}

/* The make goals reach the scripts (Makefile.rapido -> the driver). */
TEST_F_TIMEOUT(lab, make_goals, 120)
{
	static const char *const goals[] = {
		"rapido-lab-up", "rapido-lab-status", "rapido-lab-down",
		"rapido-lab-status",
	};
	char why[256], *netns;
	const char *ktree = built_ktree(why, sizeof(why));
	struct run r;

	if (!ktree)
		SKIP(return, "%s", why);
	self->ktree = strdup(ktree);
	netns = lab_netns(_metadata, ktree);
	ASSERT_NE(NULL, netns);
	for (size_t i = 0; i < ARRAY_SIZE(goals); i++) {
		char *const argv[] = { "make", "-s", "-C", (char *)ktree,
				       (char *)goals[i], NULL };

		ASSERT_EQ(0, run(&r, argv));
		EXPECT_EQ(0, r.status) run_dump(&r);
		if (i == 1)
			EXPECT_NE(NULL, strstr(r.out, netns)) run_dump(&r);
		if (i == 3)
			EXPECT_NE(NULL, strstr(r.out, "lab: down")) run_dump(&r);
		run_free(&r);
		EXPECT_EQ(i == 0 || i == 1, netns_exists(netns));
	}
	free(netns);
}

TEST_HARNESS_MAIN
