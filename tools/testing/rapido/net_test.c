// SPDX-License-Identifier: GPL-2.0
/*
 * Boot tests of the lab's profiles on a built tree (RAPIDO_KTREE, the tree
 * configured for every profile), each through make rapido-test (or
 * rapido-boot under a pty) as a user runs it:
 *
 *   network   VMS=1: a NIC configured by rapido-init, ping, a 4 MiB TCP
 *             echo with the host checked on both ends; VMS=2: two VMs
 *             ping each other and echo 4 MiB between them; a run whose
 *             vm2 fails is a failure that names vm2
 *   rbd       the lab's Ceph started on demand, the image mapped through
 *             sysfs, XFS written and read back, the data found in the
 *             image from the host side (rbd export); the times of lab up,
 *             ceph up, the boot and the autorun; rapido-boot leaves the
 *             image mapped under the shell
 *   cephfs    two VMs mount the lab's CephFS: vm1's file read in vm2, vm2's
 *             rename seen in vm1; a user without MDS caps (the lab's
 *             cluster used as an external one) fails to mount, exit 1
 *   dropbear  the host side logs in over ssh and gets the command's
 *             output; keys 0600, never on the console; vm1 held by another
 *             run is exit 128
 *   lio-iscsi vm1 an LIO iSCSI target with three LUs, vm2 open-iscsi's
 *             initiator: three disks, one written and verified (and found
 *             in vm1's backing file), logout; VMS=1 fails saying why
 *
 * Each starts from a lab that is down and ends with make rapido-lab-down:
 * the host namespace's `ip -o link`, `ip -o addr` and `ip route` are the
 * same before, during and after. A run killed with SIGKILL leaves nothing
 * that blocks the next.
 *
 * Every host-side client runs inside the lab's namespace (services/lab
 * exec); nothing here sends traffic off the machine.
 *
 * Needs root, iproute2, busybox, and for rbd and cephfs Debian's ceph
 * packages and xfsprogs, for dropbear dropbear-bin and openssh-client,
 * for lio-iscsi open-iscsi (scripts/rapido/quickstart installs them).
 * SKIPs otherwise.
 */
#include <regex.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include "kselftest_harness.h"
#include "rapido_test.h"

FIXTURE(net) {
	const char *ktree;
	char *before;		/* host_net() at setup */
	char *lab;		/* the tree's services/lab */
};

/*
 * make -s -C <ktree> @goal with the VAR=value arguments that follow, up to
 * a NULL.
 */
static int make_vars(struct run *r, const char *ktree, const char *goal, ...)
{
	char *argv[16] = { "make", "-s", "-C", (char *)ktree, (char *)goal };
	int n = 5;
	va_list ap;

	va_start(ap, goal);
	while (n < (int)ARRAY_SIZE(argv) - 1 &&
	       (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	return run(r, argv);
}

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
	RT_ONLY();
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
	ASSERT_EQ(0, make_vars(&r, self->ktree, "rapido-lab-down", NULL));
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

/* Every string of the NULL-terminated @want is in @r's stdout. */
static void expect_out(struct __test_metadata *_metadata,
		       const struct run *r, const char *const *want)
{
	for (; *want; want++)
		EXPECT_NE(NULL, strstr(r->out, *want)) {
			TH_LOG("no '%s' in the output", *want);
			run_dump(r);
		}
}

/* Does @text match the extended regular expression @re? */
static int matches(const char *text, const char *re)
{
	regex_t rx;
	int hit;

	if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB | REG_NEWLINE))
		return 0;
	hit = !regexec(&rx, text, 0, NULL, 0);
	regfree(&rx);
	return hit;
}


#define NO_CEPH	"Ceph is not installed (apt-get install ceph-mon ceph-mgr ceph-osd ceph-mds ceph-common)"

/* Is Ceph installed? If not, the test skips. */
static int need_ceph(struct __test_metadata *_metadata)
{
	if (access("/usr/bin/ceph-osd", X_OK) || access("/usr/bin/rbd", X_OK))
		SKIP(return 0, NO_CEPH);
	return 1;
}

/* make rapido-test with the VAR=value arguments into *@r: it passes. */
#define TEST_PASSES(r, ...) do {					\
	ASSERT_EQ(0, make_vars(r, self->ktree, "rapido-test",		\
			       __VA_ARGS__, NULL));			\
	EXPECT_EQ(0, (r)->status) run_dump(r);				\
} while (0)

/*
 * network with VMS=1 (the benchmark's networked boot): ping and the TCP
 * echo with the host pass in the guest, the host's echo logged the same
 * SHA-256, the host namespace is untouched while the lab is up; the run
 * says how long the lab, the boot and the autorun took.
 */
TEST_F_TIMEOUT(net, network_one_vm, 900)
{
	char *sum, *log, *want;
	struct run r;

	if (!self->before)
		return;
	TEST_PASSES(&r, "PROFILE=network", "VMS=1");
	expect_out(_metadata, &r, (const char *const []){
		"network: rapido1 at 192.168.155.101/24, lab host 192.168.155.1, vm1 of 1",
		"3 packets transmitted, 3 packets received",
		NULL });
	EXPECT_TRUE(matches(r.out, "^rapido: lab up [0-9]+ ms, tcpecho up [0-9]+ ms, vm1 boot [0-9.]+ s, autorun [0-9.]+ s$")) run_dump(&r);
	sum = word_after(r.out, "and back intact, sha256 ");
	ASSERT_NE(NULL, sum) run_dump(&r);
	run_free(&r);
	log = strf("%s/.rapido/lab/tcpecho/log", self->ktree);
	want = strf("ok 4194304 %s\n", sum);
	free(sum);
	EXPECT_FILE_HAS(log, want);
	EXPECT_HOST_NET(self->before);
	free(want);
	free(log);
}

/*
 * network as the profile has it, VMS=2: both VMs boot side by side, each
 * knows the other's address from the image's 0600 lab.env (not the
 * kernel command line), pings it, and 4 MiB go from vm2 to vm1's echo and
 * back intact, checked in both.
 */
TEST_F_TIMEOUT(net, network_two_vms, 900)
{
	char *sum, *env, *text;
	struct run r;
	struct stat st;

	if (!self->before)
		return;
	TEST_PASSES(&r, "PROFILE=network");
	expect_out(_metadata, &r, (const char *const []){
		"network: rapido1 at 192.168.155.101/24, lab host 192.168.155.1, vm1 of 2",
		"network: rapido2 at 192.168.155.102/24, lab host 192.168.155.1, vm2 of 2",
		"network: vm1 reaches 192.168.155.102",
		"network: vm2 reaches 192.168.155.101",
		NULL });
	sum = word_after(r.out, "to vm1 192.168.155.101:7358 and back intact, sha256 ");
	ASSERT_NE(NULL, sum) run_dump(&r);
	text = strf("network: vm1 echo: ok 4194304 %s", sum);
	EXPECT_NE(NULL, strstr(r.out, text)) run_dump(&r);
	free(text);
	/* the peers' addresses came in the image, not on the command line */
	EXPECT_EQ(NULL, strstr(r.out, "RAPIDO_VM2_ADDR")) run_dump(&r);
	run_free(&r);
	env = strf("%s/.rapido/images/network.lab.env", self->ktree);
	ASSERT_EQ(0, stat(env, &st));
	EXPECT_EQ(0600U, st.st_mode & 07777);
	EXPECT_FILE_HAS(env, "RAPIDO_VMS='2'\n",
			"RAPIDO_VM2_ADDR='192.168.155.102'\n");
	free(env);
	free(sum);
}

/* A run of two VMs whose vm2 fails is a failure, and names vm2. */
TEST_F_TIMEOUT(net, network_vm2_fails, 900)
{
	char *const argv[] = { "scripts/rapido/rapido-test", "PROFILE=network",
			       "X=[ \"$RAPIDO_VM\" = 1 ]", NULL };
	struct run r;

	if (!self->before)
		return;
	/* the runner itself: make would expand $R in X= */
	ASSERT_EQ(0, run_in(&r, self->ktree, argv));
	EXPECT_EQ(1, r.status) run_dump(&r);
	EXPECT_TRUE(matches(r.out, "FAIL.*vm2") ||
		    matches(r.err, "FAIL.*vm2")) run_dump(&r);
	EXPECT_FALSE(matches(r.out, "FAIL.*vm1") ||
		     matches(r.err, "FAIL.*vm1")) run_dump(&r);
	run_free(&r);
}

/*
 * rbd: the guest maps, writes and reads back through XFS; the host finds
 * the guest's marker in the image, and rbd_data objects where there were
 * none (a fresh cluster: the lab was down); the run says how long lab up,
 * ceph up, the boot and the autorun took.
 */
TEST_F_TIMEOUT(net, rbd_profile, 900)
{
	char *marker, *cmd, *env;
	struct run r;

	if (!self->before || !need_ceph(_metadata))
		return;
	TEST_PASSES(&r, "PROFILE=rbd");
	expect_out(_metadata, &r, (const char *const []){
		"read back intact",
		"rbd: unmounted and unmapped",
		NULL });
	EXPECT_TRUE(matches(r.out, "^rapido: lab up [0-9]+ ms, ceph up [0-9]+ ms, vm1 boot [0-9.]+ s, autorun [0-9.]+ s$")) run_dump(&r);
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
 * make rapido-boot PROFILE=<profile> under a pty, as a user types it:
 * wait for the autorun's @ready line and its end, then the shell's prompt;
 * type @cmd, whose output must hold @want (the typed line echoes
 * "$((6 * 7))"; only the shell prints 42); the run must end with exit 0
 * once the shell exits; @also (a regular expression, or NULL) must be in
 * the whole output.
 */
struct boot_case {
	const char *profile, *ready, *cmd, *want, *also;
};

static const struct boot_case boot_cases[] = {
	/* the shell is vm1's, /dev/rbd0 there, XFS mounted on /mnt */
	{ "rbd", "stays mapped and mounted on /mnt",
	  "test -b /dev/rbd0 && busybox grep -q ' /mnt xfs ' /proc/mounts && echo MAPPED-$((6 * 7)); exit 0\n",
	  "MAPPED-42", NULL },
	/*
	 * two VMs: the terminal is vm1's console and its shell, CephFS
	 * mounted there; rapido-vm says where vm2's console is
	 */
	{ "cephfs", "cephfs: cephfs stays mounted on /mnt",
	  "busybox grep -q ' /mnt ceph ' /proc/mounts && echo CEPHFS-$((6 * 7)) on $(busybox hostname); exit 0\n",
	  "CEPHFS-42 on rapido1",
	  "vm1's console is this terminal(.|\n)*vm2: .*/\\.rapido/vm2/console\\.log" },
};

static void boot_pty(struct __test_metadata *_metadata, const char *ktree,
		     const struct boot_case *c)
{
	char *var = strf("PROFILE=%s", c->profile), *out = NULL;
	char *const argv[] = { "make", "-s", "rapido-boot", var, NULL };
	size_t len = 0;
	int fd, st;
	pid_t pid;

	if (!need_ceph(_metadata))
		return;
	pid = pty_spawn(ktree, argv, &fd);
	ASSERT_LE(0, pid);
	EXPECT_EQ(0, pty_expect(fd, &out, &len, c->ready, 600))
		TH_LOG("no autorun output:\n%s", out);
	EXPECT_EQ(0, pty_expect(fd, &out, &len, "rapido-init: autorun exited with status 0", 60))
		TH_LOG("the autorun failed:\n%s", out);
	EXPECT_EQ(0, pty_expect(fd, &out, &len, "# ", 60))
		TH_LOG("no shell prompt:\n%s", out);
	ASSERT_EQ((ssize_t)strlen(c->cmd), write(fd, c->cmd, strlen(c->cmd)));
	EXPECT_EQ(0, pty_expect(fd, &out, &len, c->want, 60))
		TH_LOG("'%s' is not under the shell:\n%s", c->want, out);
	pty_expect(fd, &out, &len, "\n-- no such output --", 120);
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st));
	EXPECT_EQ(0, WEXITSTATUS(st)) TH_LOG("output:\n%s", out);
	if (c->also)
		EXPECT_TRUE(matches(out, c->also)) TH_LOG("%s", out);
	close(fd);
	free(out);
	free(var);
}

TEST_F_TIMEOUT(net, rbd_boot_leaves_the_image_mapped, 900)
{
	if (self->before)
		boot_pty(_metadata, self->ktree, &boot_cases[0]);
}

TEST_F_TIMEOUT(net, cephfs_boot_gives_vm1s_shell, 900)
{
	if (self->before)
		boot_pty(_metadata, self->ktree, &boot_cases[1]);
}

/*
 * cephfs, VMS=2: both VMs mount the lab's CephFS with the kernel client;
 * what vm1 wrote, vm2 reads with the same SHA-256; vm2's rename is what
 * vm1 then sees.
 */
TEST_F_TIMEOUT(net, cephfs_two_vms, 900)
{
	char *sum, *want;
	struct run r;

	if (!self->before || !need_ceph(_metadata))
		return;
	TEST_PASSES(&r, "PROFILE=cephfs");
	expect_out(_metadata, &r, (const char *const []){
		"cephfs: vm1 of 2 mounted cephfs from 192.168.155.1:6789 on /mnt",
		"cephfs: vm2 of 2 mounted cephfs from 192.168.155.1:6789 on /mnt",
		NULL });
	sum = word_after(r.out, "/data: sha256 ");
	ASSERT_NE(NULL, sum) run_dump(&r);
	want = strf("/data written by vm1: sha256 %s", sum);
	EXPECT_NE(NULL, strstr(r.out, want)) run_dump(&r);
	free(want);
	want = strf("cephfs: vm1 sees the rename: data gone, data.vm2 there with sha256 %s",
		    sum);
	EXPECT_NE(NULL, strstr(r.out, want)) run_dump(&r);
	free(want);
	free(sum);
	run_free(&r);
}

/*
 * cephfs against a cluster given as an external one (CEPH_CONF=,
 * CEPH_KEYRING=: the lab's own), as a user whose caps allow the RBD image
 * but not the MDS: the guest's mount fails, exit 1, and says so.
 */
TEST_F_TIMEOUT(net, cephfs_without_mds_caps_fails, 900)
{
	char *keyring, *conf, *cmd, *vars[3];
	struct run r;

	if (!self->before || !need_ceph(_metadata))
		return;
	ASSERT_EQ(0, make_vars(&r, self->ktree, "rapido-ceph-up", NULL));
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	keyring = strf("%s/.rapido/test-nomds.keyring", self->ktree);
	conf = strf("%s/.rapido/lab/ceph/ceph.conf", self->ktree);
	cmd = strf("ceph auth get-or-create client.nomds mon 'allow r' osd 'allow rwx pool=rbd' > %s",
		   keyring);
	ASSERT_EQ(0, lab(&r, self->ktree, self->lab, "exec", "sh", "-c", cmd));
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	vars[0] = strf("CEPH_CONF=%s", conf);
	vars[1] = strf("CEPH_KEYRING=%s", keyring);
	vars[2] = "CEPH_USER=nomds";
	ASSERT_EQ(0, make_vars(&r, self->ktree, "rapido-test", "PROFILE=cephfs",
			       "VMS=1", vars[0], vars[1], vars[2], NULL));
	EXPECT_NE(0, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "using the external cluster")) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "cephfs: cannot mount CephFS 'cephfs' of 192.168.155.1:6789 on /mnt")) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "autorun exited with status 1")) run_dump(&r);
	run_free(&r);
	unlink(keyring);
	free(vars[0]);
	free(vars[1]);
	free(cmd);
	free(conf);
	free(keyring);
}

/*
 * dropbear: the host side, in the lab, logs in over ssh with the run's
 * key, checks the VM's host key, runs `busybox uname -n -r` and gets the
 * VM's host name and this tree's release back; the keys are 0600 in the
 * private directory and the private key is not on the console.
 */
TEST_F_TIMEOUT(net, dropbear_profile, 900)
{
	static const char *const keys[] = { "host_key", "client_key",
					    "client_key.pub", "known_hosts" };
	char *rel, *path, *want, *key;
	struct run r;
	struct stat st;

	if (!self->before)
		return;
	if (access("/usr/sbin/dropbear", X_OK) || access("/usr/bin/ssh", X_OK))
		SKIP(return, "dropbear or ssh is not installed (apt-get install dropbear-bin openssh-client)");
	TEST_PASSES(&r, "PROFILE=dropbear");
	path = strf("%s/include/config/kernel.release", self->ktree);
	rel = read_text(path);
	ASSERT_NE(NULL, rel);
	rel[strcspn(rel, "\n")] = '\0';
	want = strf("host: dropbear: ssh root@192.168.155.101 'busybox uname -n -r' printed 'rapido1 %s'",
		    rel);
	EXPECT_NE(NULL, strstr(r.out, want)) run_dump(&r);
	expect_out(_metadata, &r, (const char *const []){
		"rapido: host side: PASS",
		"dropbear: the host logged in over ssh",
		NULL });
	free(want);
	free(path);
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		path = strf("%s/.rapido/dropbear/%s", self->ktree, keys[i]);
		ASSERT_EQ(0, stat(path, &st)) TH_LOG("%s", path);
		EXPECT_EQ(0600U, st.st_mode & 07777) TH_LOG("%s", path);
		free(path);
	}
	path = strf("%s/.rapido/dropbear/client_key", self->ktree);
	key = read_text(path);
	ASSERT_NE(NULL, key);
	/* a line of the private key's base64 */
	want = strndup(strchr(key, '\n') + 1, 40);
	EXPECT_EQ(NULL, strstr(r.out, want));
	EXPECT_EQ(NULL, strstr(r.err, want));
	free(want);
	free(key);
	free(path);
	free(rel);
	run_free(&r);
}

/*
 * A profile with a host side runs as vm1 (the host side knows that
 * address): another run holding vm1 is exit 128 that says so, before
 * anything boots.
 */
TEST_F_TIMEOUT(net, dropbear_vm1_in_use_is_128, 300)
{
	char *const argv[] = { "env", "-C", (char *)self->ktree,
			       "scripts/rapido/rapido-test",
			       "PROFILE=dropbear", NULL };
	char *lock;
	struct run r;
	int fd;

	if (!self->before)
		return;
	if (access("/usr/sbin/dropbear", X_OK) || access("/usr/bin/ssh", X_OK))
		SKIP(return, "dropbear or ssh is not installed (apt-get install dropbear-bin openssh-client)");
	lock = strf("%s/.rapido/vm1.lock", self->ktree);
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, flock(fd, LOCK_EX | LOCK_NB));
	ASSERT_EQ(0, run(&r, argv));
	close(fd);
	EXPECT_EQ(128, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "vm1.lock")) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "in use")) run_dump(&r);
	EXPECT_FALSE(both_have(&r, "rapido-init: started")) run_dump(&r);
	run_free(&r);
	free(lock);
}

/*
 * lio-iscsi: vm1's LIO target exports three LUs over the lab; vm2 logs in
 * with open-iscsi, sees three disks, writes and verifies one, logs out;
 * vm1 finds vm2's data in the LU's backing file. Both VMs pass.
 */
TEST_F_TIMEOUT(net, lio_iscsi_two_vms, 900)
{
	char *sum, *want;
	struct run r;

	if (!self->before)
		return;
	if (access("/sbin/iscsid", X_OK))
		SKIP(return, "open-iscsi is not installed (apt-get install open-iscsi)");
	TEST_PASSES(&r, "PROFILE=lio-iscsi");
	EXPECT_TRUE(matches(r.out, "vm2\\| lio-iscsi: .* discovered: 192\\.168\\.155\\.101:3260,1 iqn\\.2003-01\\.org\\.linux-iscsi\\.rapido:lio-iscsi\r?$")) run_dump(&r);
	for (int i = 0; i < 3; i++) {
		want = strf("vm2\\| lio-iscsi: .* LUN %d is /dev/sd[a-z] \\(FILEIO, 32 MiB\\)\r?$",
			    i);
		EXPECT_TRUE(matches(r.out, want)) run_dump(&r);
		free(want);
	}
	sum = word_after(r.out, "read back intact: sha256 ");
	ASSERT_NE(NULL, sum) run_dump(&r);
	want = strf("LU 0's backing file holds vm2's 8 MiB: sha256 %s", sum);
	EXPECT_NE(NULL, strstr(r.out, want)) run_dump(&r);
	expect_out(_metadata, &r, (const char *const []){
		"logged out: the disks are gone",
		"PASS: all 2 VMs passed",
		NULL });
	free(want);
	free(sum);
	run_free(&r);
}

/* lio-iscsi with one VM has no initiator: exit 1, and it says so. */
TEST_F_TIMEOUT(net, lio_iscsi_one_vm_fails, 900)
{
	struct run r;

	if (!self->before)
		return;
	if (access("/sbin/iscsid", X_OK))
		SKIP(return, "open-iscsi is not installed (apt-get install open-iscsi)");
	ASSERT_EQ(0, make_vars(&r, self->ktree, "rapido-test",
			       "PROFILE=lio-iscsi", "VMS=1", NULL));
	EXPECT_NE(0, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "lio-iscsi: wants VMS=2 (a target and an initiator), not 1")) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "autorun exited with status 1")) run_dump(&r);
	run_free(&r);
}

/*
 * A profile's host side (an executable `host` beside its manifest) runs
 * in the lab with the image's lab facts; its output is printed with
 * "host: " in front, and its failure fails a run whose VM passed (exit 1,
 * naming the host side and its status).
 */
TEST_F_TIMEOUT(net, host_side_failure_fails_the_run, 900)
{
	static const char *const files[][3] = {
		{ "settings", "NET=y\n", "0644" },
		{ "manifest", "include ../lib/lab.manifest\n", "0644" },
		{ "autorun", "#!/bin/sh\n. /rapido/lib/lab.sh\necho GUEST-RAN\n",
		  "0755" },
		{ "host", "#!/bin/sh\necho \"HOST-SAW $RAPIDO_VM1_ADDR $RAPIDO_LAB_HOST $(ip -o link show rbr0 | grep -c rbr0)\"\nexit 3\n",
		  "0755" },
	};
	char *const argv[] = { "scripts/rapido/rapido-test",
			       "PROFILE=rapido-test-host", NULL };
	char *pdir = strf("%s/tools/testing/rapido/profiles/rapido-test-host",
			  self->ktree);
	struct run r;

	if (!self->before)
		return;
	rm_rf(pdir);
	ASSERT_EQ(0, mkdir(pdir, 0755));
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		char *path = strf("%s/%s", pdir, files[i][0]);

		ASSERT_EQ(0, write_file(path, strtol(files[i][2], NULL, 8),
					files[i][1]));
		free(path);
	}
	ASSERT_EQ(0, run_in(&r, self->ktree, argv));
	EXPECT_EQ(1, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "GUEST-RAN")) run_dump(&r);
	/* the lab's facts, and run in the lab's namespace (its bridge) */
	EXPECT_NE(NULL, strstr(r.out, "host: HOST-SAW 192.168.155.101 192.168.155.1 1\n")) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "rapido: FAIL: the host side of profile 'rapido-test-host' (profiles/rapido-test-host/host) exited with status 3")) run_dump(&r);
	run_free(&r);
	EXPECT_EQ(0, rm_rf(pdir));
	free(pdir);
}

/*
 * A run killed with SIGKILL (make, the driver, rapido-vm and QEMU, the
 * whole group) half way through the boot: the tap it had stays in the lab
 * (persistent, nobody's), and the next run takes it and passes.
 */
TEST_F_TIMEOUT(net, killed_run_does_not_block, 900)
{
	char *const argv[] = { "make", "-s", "-C", (char *)self->ktree,
			       "rapido-test", "PROFILE=network", "VMS=1", NULL };
	struct run r;
	pid_t pid;
	int st;

	if (!self->before)
		return;
	/* the lab and the image first, so that the kill lands in the boot */
	ASSERT_EQ(0, make_vars(&r, self->ktree, "rapido-cut", "PROFILE=network",
			       "VMS=1", NULL));
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	pid = spawn_bg(argv, NULL, 1);
	ASSERT_LE(0, pid);
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
	TEST_PASSES(&r, "PROFILE=network", "VMS=1");
	EXPECT_NE(NULL, strstr(r.out, "and back intact")) run_dump(&r);
	run_free(&r);
}

/* Is @pid still running after @ms milliseconds (polled)? Reaps it if not. */
static int still_running(pid_t pid, int ms, int *status)
{
	for (int i = 0; i < ms / 50; i++) {
		if (waitpid(pid, status, WNOHANG) == pid)
			return 0;
		usleep(50000);
	}
	return waitpid(pid, status, WNOHANG) != pid;
}

/*
 * network's echo in vm1 (profiles/lib/lab-echo, here on the host with
 * busybox) keeps the connection until the peer has read the echo and
 * closed it: the VM ends with its autorun, and what the echo's socket
 * still had queued was lost (the bench's network run: vm1 passed, vm2 got
 * a short echo). No lab, no VM: a socketpair is the connection.
 */
TEST(lab_echo_waits_for_the_peer)
{
	char dir[] = "/tmp/rapido-echo.XXXXXX", *data_path, *res_path, *head;
	static char data[65536], back[sizeof(data)];
	size_t got = 0;
	struct run r;
	int sv[2], st;
	pid_t pid;

	if (access("/bin/busybox", X_OK))
		SKIP(return, "busybox is not installed (apt-get install busybox-static)");
	ASSERT_NE(NULL, mkdtemp(dir));
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = 'a' + i % 26;
	data_path = strf("%s/data", dir);
	res_path = strf("%s/result", dir);
	ASSERT_EQ(0, write_whole(data_path, data, sizeof(data)));
	ASSERT_EQ(0, run(&r, (char *const []){ "busybox", "sha256sum",
					     data_path, NULL }));
	ASSERT_EQ(0, r.status) run_dump(&r);
	r.out[64] = '\0';
	head = strf("%zu %s\n", sizeof(data), r.out);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(sv[0]);
		dup2(sv[1], 0);
		dup2(sv[1], 1);
		setenv("TMPDIR", dir, 1);
		setenv("LAB_WAIT", "30", 1);
		execl("/bin/sh", "sh", RT_TEST_DIR "/profiles/lib/lab-echo",
		      res_path, NULL);
		_exit(127);
	}
	close(sv[1]);
	ASSERT_EQ((ssize_t)strlen(head), write(sv[0], head, strlen(head)));
	ASSERT_EQ((ssize_t)sizeof(data), write(sv[0], data, sizeof(data)));
	while (got < sizeof(back)) {
		ssize_t n = read(sv[0], back + got, sizeof(back) - got);

		ASSERT_LT(0, n);
		got += n;
	}
	EXPECT_EQ(0, memcmp(data, back, sizeof(data)));
	/* all of it read, the connection still open: the echo waits */
	EXPECT_TRUE(still_running(pid, 2000, &st)) {
		TH_LOG("lab-echo ended (status %d) before its peer closed the connection",
		       WEXITSTATUS(st));
		pid = 0;
	}
	close(sv[0]);
	if (pid) {
		EXPECT_FALSE(still_running(pid, 10000, &st));
		EXPECT_TRUE(WIFEXITED(st) && !WEXITSTATUS(st)) TH_LOG("status %d", st);
	}
	free(head);
	head = read_text(res_path);
	ASSERT_NE(NULL, head);
	EXPECT_EQ(0, strncmp(head, "ok 65536 ", 9)) TH_LOG("%s", head);
	run_free(&r);
	free(head);
	free(data_path);
	free(res_path);
	EXPECT_EQ(0, rm_rf(dir));
}

TEST_HARNESS_MAIN
