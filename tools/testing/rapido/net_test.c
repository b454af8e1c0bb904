// SPDX-License-Identifier: GPL-2.0
/*
 * Boot tests of the lab's profiles on a built tree (RAPIDO_KTREE, the tree
 * configured for every profile): make rapido-test PROFILE=network (a NIC
 * configured by rapido-init, ping, a 4 MiB TCP echo with the host checked
 * on both ends) and PROFILE=rbd (the lab's Ceph started on demand, the
 * image mapped through sysfs, XFS written and read back; the data found in
 * the image from the host side with rbd export). Each starts from a lab
 * that is down and ends with make rapido-lab-down: the host namespace's
 * `ip -o link`, `ip -o addr` and `ip route` are the same before, during
 * and after. A run killed with SIGKILL leaves nothing that blocks the next.
 *
 * Every host-side client runs inside the lab's namespace (services/lab
 * exec); nothing here sends traffic off the machine.
 *
 * Needs root, iproute2, busybox, and for rbd Debian's ceph packages and
 * xfsprogs (scripts/rapido/quickstart installs them). SKIPs otherwise.
 */
#include <signal.h>
#include "kselftest_harness.h"
#include "rapido_test.h"

FIXTURE(net) {
	const char *ktree;
	char *before;		/* host_net() at setup */
	char *lab;		/* the tree's services/lab */
};

/* services/lab of the tree, for its output tree: lab @a @b @c ... */
static int lab(struct run *r, const char *ktree, const char *lab_prog,
	       const char *a, const char *b, const char *c, const char *d)
{
	char *env = strf("RAPIDO_OBJTREE=%s", ktree);
	char *const argv[] = { "env", env, (char *)lab_prog, (char *)a,
			       (char *)b, (char *)c, (char *)d, NULL };
	int ret = run(r, argv);

	free(env);
	return ret;
}

FIXTURE_SETUP(net)
{
	char why[256];
	struct run r;

	memset(self, 0, sizeof(*self));
	if (geteuid())
		SKIP(return, "the lab needs root (a network namespace, a bridge, taps)");
	if (access("/usr/bin/ip", X_OK) && access("/sbin/ip", X_OK))
		SKIP(return, "iproute2's ip is not installed");
	if (access("/bin/busybox", X_OK))
		SKIP(return, "busybox is not installed (apt-get install busybox-static)");
	self->ktree = built_ktree(why, sizeof(why));
	if (!self->ktree)
		SKIP(return, "%s", why);
	self->lab = strf("%s/tools/testing/rapido/services/lab", self->ktree);
	ASSERT_EQ(0, make_goal(&r, self->ktree, "rapido-lab-down", NULL));
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	self->before = host_net();
}

FIXTURE_TEARDOWN(net)
{
	char *why;

	if (!self->before)
		return;
	/* no ASSERT here: the harness would run the teardown again */
	why = lab_down_check(self->ktree, self->before);
	EXPECT_EQ(NULL, why) TH_LOG("%s", why);
	free(why);
	free(self->before);
	free(self->lab);
}

/*
 * network: ping and the TCP echo pass in the guest, the host's echo logged
 * the same SHA-256, the host namespace is untouched while the lab is up.
 */
TEST_F_TIMEOUT(net, network_profile, 900)
{
	char *sum, *log, *want, *now;
	struct run r;

	if (!self->before)
		return;
	ASSERT_EQ(0, make_goal(&r, self->ktree, "rapido-test",
			       "PROFILE=network"));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "network: rapido1 at 192.168.155.101/24, lab host 192.168.155.1")) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "3 packets transmitted, 3 packets received")) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "rapido: lab up ")) run_dump(&r);
	sum = word_after(r.out, "and back intact, sha256 ");
	ASSERT_NE(NULL, sum) run_dump(&r);
	run_free(&r);
	log = strf("%s/.rapido/lab/tcpecho/log", self->ktree);
	want = strf("ok 4194304 %s\n", sum);
	free(sum);
	sum = read_text(log);
	ASSERT_NE(NULL, sum);
	EXPECT_NE(NULL, strstr(sum, want)) TH_LOG("%s", sum);
	now = host_net();
	EXPECT_STREQ(self->before, now);
	free(now);
	free(sum);
	free(want);
	free(log);
}

/*
 * rbd: the guest maps, writes and reads back through XFS; the host finds
 * the guest's marker in the image, and rbd_data objects where there were
 * none (a fresh cluster: the lab was down).
 */
TEST_F_TIMEOUT(net, rbd_profile, 900)
{
	char *marker, *cmd, *env;
	struct run r;

	if (!self->before)
		return;
	if (access("/usr/bin/ceph-osd", X_OK) || access("/usr/bin/rbd", X_OK))
		SKIP(return, "Ceph is not installed (apt-get install ceph-mon ceph-mgr ceph-osd ceph-mds ceph-common)");
	ASSERT_EQ(0, make_goal(&r, self->ktree, "rapido-test", "PROFILE=rbd"));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "read back intact")) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "rbd: unmounted and unmapped")) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, ", ceph up ")) run_dump(&r);
	marker = word_after(r.out, "rbd: marker ");
	ASSERT_NE(NULL, marker) run_dump(&r);
	/* the key reaches the guest in the image only, never the console */
	env = strf("%s/.rapido/lab/ceph/client.env", self->ktree);
	{
		char *text = read_text(env), *key = text ?
			word_after(text, "CEPH_KEY='") : NULL;

		ASSERT_NE(NULL, key);
		key[strcspn(key, "'")] = '\0';
		EXPECT_EQ(NULL, strstr(r.out, key));
		free(key);
		free(text);
	}
	run_free(&r);
	ASSERT_EQ(0, lab(&r, self->ktree, self->lab, "exec", "sh", "-c",
			 "rados -p rbd ls | grep -c '^rbd_data\\.'"));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_LT(0, atoi(r.out)) run_dump(&r);
	run_free(&r);
	cmd = strf("rbd export rbd/rapido - 2>/dev/null | grep -a -c 'rapido-data %s'",
		   marker);
	ASSERT_EQ(0, lab(&r, self->ktree, self->lab, "exec", "sh", "-c",
			 cmd));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_LT(0, atoi(r.out)) run_dump(&r);
	run_free(&r);
	free(cmd);
	free(env);
	free(marker);
}

/*
 * A run killed with SIGKILL (make, the driver, rapido-vm and QEMU, the
 * whole group) half way through the boot: the tap it had stays in the lab
 * (persistent, nobody's), and the next run takes it and passes.
 */
TEST_F_TIMEOUT(net, killed_run_does_not_block, 900)
{
	char *const argv[] = { "make", "-s", "-C", (char *)self->ktree,
			       "rapido-test", "PROFILE=network", NULL };
	struct run r;
	pid_t pid;
	int st;

	if (!self->before)
		return;
	/* the lab and the image first, so that the kill lands in the boot */
	ASSERT_EQ(0, make_goal(&r, self->ktree, "rapido-cut",
			       "PROFILE=network"));
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int fd = open("/dev/null", O_RDWR);

		setpgid(0, 0);
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	setpgid(pid, pid);
	sleep(2);
	kill(-pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	/* rapido-vm and QEMU die with their parents (PR_SET_PDEATHSIG) */
	for (int i = 0; i < 50; i++) {
		ASSERT_EQ(0, lab(&r, self->ktree, self->lab, "status", NULL,
				 NULL, NULL));
		if (!strstr(r.out, "lab: 1 processes") &&
		    !strstr(r.out, "lab: 0 processes")) {
			run_free(&r);
			usleep(100000);
			continue;
		}
		run_free(&r);
		break;
	}
	ASSERT_EQ(0, make_goal(&r, self->ktree, "rapido-test",
			       "PROFILE=network"));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "and back intact")) run_dump(&r);
	run_free(&r);
}

TEST_HARNESS_MAIN
