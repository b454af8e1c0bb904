// SPDX-License-Identifier: GPL-2.0
/*
 * Boot tests of the lab's Samba and CephFS profiles on a built tree
 * (RAPIDO_KTREE, configured for every profile), each against the real
 * service: services/samba's smbd for cifs (the guest's file found in the
 * share directory with the same SHA-256), smbd inside the guest for
 * samba-local (its host side talks to it with smbclient from the lab's
 * namespace: profiles/samba-local/host), smbd in vm1 on the lab's CephFS
 * through vfs_ceph for samba-cephfs (vm2 reads the host's file with the
 * kernel client), the lab's Ceph for fstests-cephfs
 * (the real xfstests of RAPIDO_FSTESTS_SRC). Each failure test breaks the
 * one thing it names (a wrong password or key in the service's client
 * facts, a user the guest's smbd does not know, no root) and wants exit 1 or 128 with
 * a message naming it. Each test starts from a lab that is down and ends
 * with make rapido-lab-down: the host namespace's links, addresses and
 * routes are unchanged, and nothing listens on the host's port 445.
 *
 * Needs root, iproute2, busybox, Debian's samba and smbclient, the ceph
 * packages (scripts/rapido/quickstart installs them). SKIPs otherwise.
 */
#include "kselftest_harness.h"
#include "rapido_test.h"

#define BOOT_TIMEOUT	900

FIXTURE(smb) {
	const char *ktree;
	char *before;		/* host_net() at setup */
	char dir[64];		/* a temporary directory */
};

/* scripts/rapido/rapido-test PROFILE=@profile [@a1 @a2] in the tree */
static int rapido_test(struct run *r, const char *ktree, const char *profile,
		       const char *a1, const char *a2)
{
	char *p = strf("PROFILE=%s", profile);
	char *const argv[] = { "scripts/rapido/rapido-test", p, (char *)a1,
			       (char *)a2, NULL };
	int ret = run_in(r, ktree, argv);

	fprintf(stderr, "# %s: exit %d in %.1f s\n", p, r->status, r->secs);
	free(p);
	return ret;
}

/* sh -c @cmd in the tree, with RAPIDO_OBJTREE set to it */
static int sh_in(struct run *r, const char *ktree, const char *cmd)
{
	char *env = strf("RAPIDO_OBJTREE=%s", ktree);
	char *const argv[] = { "env", env, "sh", "-c", (char *)cmd, NULL };
	int ret = run_in(r, ktree, argv);

	free(env);
	return ret;
}

/* How often @needle is in @text. */
static int count(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* Nothing listens on port 445 in the host's namespace. */
static int host_port_445_free(void)
{
	char *const argv[] = { "ss", "-Hltn", "sport = :445", NULL };
	struct run r;
	int free_ = 0;

	if (!run(&r, argv) && !r.status)
		free_ = !*r.out;
	run_free(&r);
	return free_;
}

FIXTURE_SETUP(smb)
{
	char why[256];
	struct run r;

	memset(self, 0, sizeof(*self));
	RT_ONLY();
	unsetenv("FSTESTS_SRC");
	unsetenv("FSTESTS");
	unsetenv("SAMBA_LOCAL_WAIT");
	unsetenv("SAMBA_LOCAL_USER");
	if (geteuid())
		SKIP(return, "the lab needs root (a network namespace, smbd)");
	if (access("/bin/busybox", X_OK))
		SKIP(return, "busybox is not installed (apt-get install busybox-static)");
	if (access("/usr/sbin/smbd", X_OK) || access("/usr/bin/smbclient", X_OK))
		SKIP(return, "Samba is not installed (apt-get install samba smbclient)");
	self->ktree = built_ktree(why, sizeof(why));
	if (!self->ktree)
		SKIP(return, "%s", why);
	strcpy(self->dir, "/tmp/rapido-samba.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	ASSERT_EQ(0, make_goal(&r, self->ktree, "rapido-lab-down", NULL));
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	self->before = host_net();
}

FIXTURE_TEARDOWN(smb)
{
	char *why;

	if (self->dir[0])
		EXPECT_EQ(0, rm_rf(self->dir));
	if (!self->before)
		return;
	/* no ASSERT here: the harness would run the teardown again */
	why = lab_down_check(self->ktree, self->before);
	EXPECT_EQ(NULL, why) TH_LOG("%s", why);
	EXPECT_TRUE(host_port_445_free());
	free(why);
	free(self->before);
}

/* The value of NAME='value' in the file @path (malloc'ed), or NULL. */
static char *env_value(const char *path, const char *name)
{
	char *text = read_text(path), *key = strf("\n%s='", name), *v;

	v = text ? word_after(text, key) : NULL;
	free(key);
	free(text);
	return v;
}

/*
 * cifs: the guest writes through cifs.ko, remounts and reads back; the
 * host finds the file in the share directory with the guest's SHA-256.
 * smbd runs in the lab only (lab status names it; port 445 of the host is
 * free), and the password is not on the console.
 */
TEST_F_TIMEOUT(smb, cifs_profile, BOOT_TIMEOUT)
{
	char *name, *sum, *cmd, *pw, *env;
	struct run r;

	if (!self->before)
		return;
	ASSERT_EQ(0, rapido_test(&r, self->ktree, "cifs", NULL, NULL));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, ", samba up ")) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "cifs: 4 MiB written, remounted, read back intact")) run_dump(&r);
	name = word_after(r.out, "cifs: wrote ");
	sum = word_after(r.out, " sha256 ");
	ASSERT_NE(NULL, name) run_dump(&r);
	ASSERT_NE(NULL, sum) run_dump(&r);
	env = strf("%s/.rapido/lab/samba/client.env", self->ktree);
	pw = env_value(env, "SMB_PASSWORD");
	ASSERT_NE(NULL, pw);
	EXPECT_EQ(24, (int)strlen(pw));
	EXPECT_FALSE(both_have(&r, pw)) TH_LOG("the password is on the console");
	run_free(&r);
	/* the host's side: the share directory has the same bytes */
	cmd = strf("sha256sum < .rapido/lab/samba/share/%s", name);
	ASSERT_EQ(0, sh_in(&r, self->ktree, cmd));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_EQ(0, strncmp(r.out, sum, 64)) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, sh_in(&r, self->ktree,
			   "stat -c %a .rapido/lab/samba/client.env"));
	EXPECT_STREQ("600\n", r.out);
	run_free(&r);
	ASSERT_EQ(0, make_goal(&r, self->ktree, "rapido-lab-status", NULL));
	EXPECT_EQ(0, r.status) run_dump(&r);
	/* smbd, smbd-notifyd, cleanupd, and one smbd per client left */
	EXPECT_NE(NULL, strstr(r.out, " processes (smbd pid ")) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "  cleanupd ")) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "on 192.168.155.1:445")) run_dump(&r);
	run_free(&r);
	EXPECT_TRUE(host_port_445_free());
	/* up again keeps it; a killed smbd does not block the next up */
	ASSERT_EQ(0, make_goal(&r, self->ktree, "rapido-samba-up", NULL));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "samba: already up")) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, sh_in(&r, self->ktree,
			   "kill -KILL $(cat .rapido/lab/samba/run/smbd*.pid)"));
	EXPECT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, make_goal(&r, self->ktree, "rapido-samba-up", NULL));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "rapido: samba up in ")) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, make_goal(&r, self->ktree, "rapido-samba-down", NULL));
	EXPECT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, make_goal(&r, self->ktree, "rapido-lab-status", NULL));
	EXPECT_NE(NULL, strstr(r.out, "samba: down")) run_dump(&r);
	run_free(&r);
	free(cmd);
	free(env);
	free(pw);
	free(name);
	free(sum);
}

/*
 * A share that refuses the user: the guest's password (the image's
 * lab.env, from client.env) is not the one smbd has. Exit 1, naming it.
 */
TEST_F_TIMEOUT(smb, cifs_wrong_password_fails, BOOT_TIMEOUT)
{
	struct run r;

	if (!self->before)
		return;
	ASSERT_EQ(0, sh_in(&r, self->ktree,
			   "make -s rapido-samba-up && sed -i \"s/^SMB_PASSWORD=.*/SMB_PASSWORD='notthepassword'/\" .rapido/lab/samba/client.env"));
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, rapido_test(&r, self->ktree, "cifs", NULL, NULL));
	EXPECT_EQ(1, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "cifs: the server refused user 'root' on //192.168.155.1/rapido (mount: Permission denied): wrong password")) run_dump(&r);
	run_free(&r);
}

/* smbd needs root: without it, exit 128 saying so. */
TEST_F(smb, samba_up_needs_root)
{
	char *cmd;
	struct run r;

	if (!self->before)
		return;
	cmd = strf("setpriv --reuid=65534 --regid=65534 --clear-groups %s/tools/testing/rapido/services/samba up",
		   self->ktree);
	ASSERT_EQ(0, sh_in(&r, self->ktree, cmd));
	EXPECT_EQ(128, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "rapido: samba: smbd needs root")) run_dump(&r);
	run_free(&r);
	free(cmd);
}

/*
 * A guest's smbd @profile passes: its host side (smbclient in the lab)
 * puts 4 MiB and gets them back intact, and the guest, saying @guest
 * ("... intact, sha256 "), finds the same SHA-256. The run stays in @r.
 */
static void smb_round_trip(struct __test_metadata *_metadata,
			   struct run *r, const char *ktree,
			   const char *profile, const char *guest)
{
	char *sum;

	ASSERT_EQ(0, rapido_test(r, ktree, profile, NULL, NULL));
	EXPECT_EQ(0, r->status) run_dump(r);
	EXPECT_TRUE(both_have(r, "rapido: host side: PASS")) run_dump(r);
	sum = word_after(r->out, "got back intact, sha256 ");
	ASSERT_NE(NULL, sum) run_dump(r);
	EXPECT_TRUE(both_have(r, guest)) run_dump(r);
	EXPECT_EQ(2, count(r->out, sum)) run_dump(r);
	free(sum);
}

/*
 * samba-local: the guest's smbd serves XFS on zram; the profile's host
 * side (smbclient in the lab) puts 4 MiB and gets them back intact, and
 * the guest finds them on its XFS with the same SHA-256.
 */
TEST_F_TIMEOUT(smb, samba_local_profile, BOOT_TIMEOUT)
{
	struct run r;

	if (!self->before)
		return;
	smb_round_trip(_metadata, &r, self->ktree, "samba-local",
		       "on the guest's XFS intact, sha256 ");
	run_free(&r);
}

/* Can samba-cephfs run here? Else SKIP, saying what it lacks. */
static int samba_cephfs_skips(struct __test_metadata *_metadata)
{
	if (access("/usr/bin/ceph-osd", X_OK))
		SKIP(return 1, "Ceph is not installed (apt-get install ceph-mon ceph-mgr ceph-osd ceph-mds ceph-common)");
	if (access("/usr/lib/x86_64-linux-gnu/samba/vfs/ceph.so", R_OK))
		SKIP(return 1, "Samba's vfs_ceph is not installed (apt-get install samba-vfs-modules)");
	return 0;
}

/*
 * samba-cephfs: vm1's smbd shares the lab's CephFS through vfs_ceph; the
 * host side's 4 MiB go over SMB into it and come back intact, and vm2
 * reads them through the kernel CephFS client with the same SHA-256.
 * Then no client of the run is left on the MDS: one that went away
 * mounted keeps its session and caps until the session goes stale (60 s),
 * and the next run (the benchmark's second) waits that long for them.
 */
TEST_F_TIMEOUT(smb, samba_cephfs_profile, BOOT_TIMEOUT)
{
	struct run r;

	if (!self->before || samba_cephfs_skips(_metadata))
		return;
	smb_round_trip(_metadata, &r, self->ktree, "samba-cephfs",
		       "through the kernel CephFS client intact, sha256 ");
	EXPECT_TRUE(both_have(&r, "(vfs_ceph)")) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, sh_in(&r, self->ktree,
			   "tools/testing/rapido/services/lab exec ceph tell mds.a session ls -f json 2> /dev/null"));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_NE(NULL, strchr(r.out, '[')) run_dump(&r);
	/* the mgr's own sessions (at the lab host's address) stay */
	EXPECT_EQ(NULL, strstr(r.out, "\"addr\":\"192.168.155.101:")) run_dump(&r);
	EXPECT_EQ(NULL, strstr(r.out, "\"addr\":\"192.168.155.102:")) run_dump(&r);
	run_free(&r);
}

/*
 * samba-local and samba-cephfs with a user the guest's smbd does not
 * know: the host side fails at once naming the user and Samba's status,
 * the guest waiting for its result (samba-cephfs: vm2) gives up after
 * SAMBA_LOCAL_WAIT s saying what it waited for; exit 1.
 */
TEST_F_TIMEOUT(smb, samba_refused_user_fails, BOOT_TIMEOUT)
{
	static const char *const profiles[] = { "samba-local", "samba-cephfs" };
	struct run r;

	if (!self->before)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(profiles); i++) {
		char *want;

		if (i && samba_cephfs_skips(_metadata))
			return;
		ASSERT_EQ(0, rapido_test(&r, self->ktree, profiles[i],
					 "SAMBA_LOCAL_USER=nobody",
					 "SAMBA_LOCAL_WAIT=10"));
		EXPECT_EQ(1, r.status) run_dump(&r);
		want = strf("%s host: the guest's smbd refused user 'nobody' on //192.168.155.101/rapido: NT_STATUS_LOGON_FAILURE",
			    profiles[i]);
		EXPECT_TRUE(both_have(&r, want)) run_dump(&r);
		free(want);
		want = strf("%s: no result from the host side in the share (SAMBA_LOCAL_WAIT; its log: .rapido/results/%s.host.log) after 10 s",
			    profiles[i], profiles[i]);
		EXPECT_TRUE(both_have(&r, want)) run_dump(&r);
		free(want);
		run_free(&r);
	}
}

/* Does fstests-cephfs lack something here? Then SKIP, saying what. */
static int fstests_cephfs_skips(struct __test_metadata *_metadata)
{
	const char *xfstests = getenv("RAPIDO_FSTESTS_SRC");

	if (access("/usr/bin/ceph-osd", X_OK))
		SKIP(return 1, "Ceph is not installed (apt-get install ceph-mon ceph-mgr ceph-osd ceph-mds ceph-common)");
	if (!xfstests || !*xfstests)
		SKIP(return 1, "RAPIDO_FSTESTS_SRC is not set (run_tests builds xfstests: quickstart --suites)");
	return 0;
}

/*
 * fstests-cephfs: the real xfstests on the lab's CephFS, TEST_DEV and
 * SCRATCH_DEV its subdirectories; the key is not on the console.
 */
TEST_F_TIMEOUT(smb, fstests_cephfs_profile, BOOT_TIMEOUT)
{
	char *src, *env, *key;
	struct run r;

	if (!self->before || fstests_cephfs_skips(_metadata))
		return;
	src = strf("FSTESTS_SRC=%s", getenv("RAPIDO_FSTESTS_SRC"));
	ASSERT_EQ(0, rapido_test(&r, self->ktree, "fstests-cephfs", src,
				 "FSTESTS=generic/002"));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "fstests: ceph TEST_DEV=192.168.155.1:6789:/rapido-fstests/test on /mnt/test, SCRATCH_DEV=192.168.155.1:6789:/rapido-fstests/scratch")) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "fstests: ./check ran 1 tests (0 not run), status 0")) run_dump(&r);
	env = strf("%s/.rapido/lab/ceph/client.env", self->ktree);
	key = env_value(env, "CEPH_KEY");
	ASSERT_NE(NULL, key);
	EXPECT_FALSE(both_have(&r, key)) TH_LOG("the key is on the console");
	run_free(&r);
	free(key);
	free(env);
	free(src);
}

/*
 * fstests-cephfs with a key the cluster does not know (the image's
 * lab.env, from client.env): the mount is refused, exit 1, naming it.
 */
TEST_F_TIMEOUT(smb, fstests_cephfs_wrong_key_fails, BOOT_TIMEOUT)
{
	char *src;
	struct run r;

	if (!self->before || fstests_cephfs_skips(_metadata))
		return;
	ASSERT_EQ(0, make_goal(&r, self->ktree, "rapido-ceph-up", NULL));
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	/* a well-formed cephx key (type 1, 16 bytes) that is not the user's */
	ASSERT_EQ(0, sh_in(&r, self->ktree,
			   "sed -i \"s|^CEPH_KEY=.*|CEPH_KEY='AQAAAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAAAA=='|\" .rapido/lab/ceph/client.env"));
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	src = strf("FSTESTS_SRC=%s", getenv("RAPIDO_FSTESTS_SRC"));
	ASSERT_EQ(0, rapido_test(&r, self->ktree, "fstests-cephfs", src,
				 "FSTESTS=generic/002"));
	EXPECT_EQ(1, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "fstests: cannot mount the lab's CephFS cephfs from 192.168.155.1:6789")) run_dump(&r);
	run_free(&r);
	free(src);
}

TEST_HARNESS_MAIN
