// SPDX-License-Identifier: GPL-2.0
/*
 * The profiles that put a block stack on the lab Ceph's RBD image, booted
 * for real against the Ceph that rapido starts (SERVICES=ceph), on a built
 * tree configured for every profile (RAPIDO_KTREE):
 *
 *   lio-rbd   LIO iblock on the kernel-mapped /dev/rbdN, over tcm_loop
 *   tcmu-rbd  tcmu-runner's rbd handler (librbd) behind a TCMU backstore
 *   qemu-rbd  QEMU's own rbd block driver as the VM's virtio disk
 *   usb-rbd   dm-crypt on /dev/rbdN, a USB mass-storage gadget on that
 *
 * Each run must pass and print what its autorun checked, and the host must
 * find in the image (rbd export, inside the lab's namespace) what the guest
 * wrote: the first 8 MiB have the guest's SHA-256; for usb-rbd the first
 * MiB is the ciphertext the guest read from /dev/rbdN, and the plaintext
 * marker is nowhere in the image. Ceph's key never reaches the console.
 *
 * Failures: with the image removed from the cluster, each profile fails
 * and says why (the kernel cannot map it, tcmu-runner's handler cannot
 * open it, qemu-rbd's PREPARE finds no image: exit 128 before any boot);
 * QEMU_RBD_IMAGE naming no image is exit 128 naming it.
 *
 * Each test ends with make rapido-lab-down: the host namespace's links,
 * addresses and routes are as before. Needs root, Debian's ceph packages,
 * tcmu-runner, qemu-block-extra, dmsetup, e2fsprogs, busybox-static
 * (scripts/rapido/quickstart installs them); SKIPs otherwise.
 */
#include "kselftest_harness.h"
#include "rapido_test.h"

#define BOOT_TIMEOUT	900
#define LAB		"tools/testing/rapido/services/lab"
#define MULTIARCH	"/usr/lib/x86_64-linux-gnu/"

/*
 * Each profile: a host file it needs, and with the image gone its exit
 * and what it says. Each autorun prints "<profile>: marker <uuid>" and
 * "<profile>: in ceph: <N> MiB sha256 <sum>": the image's first N MiB as
 * the host must find them, "(ciphertext: no marker)" after it when the
 * marker must not be in the image at all (else it must be there).
 */
static const struct rbd_case {
	const char *name, *need;
	int gone_status;
	const char *gone;
} cases[] = {
	{ "lio-rbd", "/usr/bin/rbd", 1, "lio-rbd: cannot map rbd/rapido from " },
	{ "tcmu-rbd", MULTIARCH "tcmu-runner/handler_rbd.so", 1, "rbd/rbd: Could not open image rapido." },
	{ "qemu-rbd", MULTIARCH "qemu/block-rbd.so", 128, "no RBD image 'rbd/rapido' for QEMU" },
	{ "usb-rbd", "/usr/sbin/dmsetup", 1, "usb-rbd: cannot map rbd/rapido from " },
};

FIXTURE(rbd) {
	const char *ktree;
	const struct rbd_case *c;
	char *net;	/* host_net() before */
};

FIXTURE_VARIANT(rbd) {
	int i;		/* in cases[] */
};

FIXTURE_VARIANT_ADD(rbd, lio_rbd) { .i = 0 };
FIXTURE_VARIANT_ADD(rbd, tcmu_rbd) { .i = 1 };
FIXTURE_VARIANT_ADD(rbd, qemu_rbd) { .i = 2 };
FIXTURE_VARIANT_ADD(rbd, usb_rbd) { .i = 3 };

FIXTURE_SETUP(rbd)
{
	char why[256];

	RT_ONLY();
	memset(self, 0, sizeof(*self));
	self->c = &cases[variant->i];
	if (geteuid())
		SETUP_SKIP("the lab needs root (a network namespace, a bridge, taps)");
	if (access("/usr/bin/ceph-osd", X_OK) || access("/usr/bin/rbd", X_OK))
		SETUP_SKIP("Ceph is not installed (apt-get install ceph-mon ceph-mgr ceph-osd ceph-mds ceph-common)");
	if (access(self->c->need, R_OK))
		SETUP_SKIP("%s needs %s (scripts/rapido/quickstart installs it)",
			   self->c->name, self->c->need);
	self->ktree = built_ktree(why, sizeof(why));
	if (!self->ktree)
		SETUP_SKIP("%s", why);
	self->net = host_net();
}

/* The lab goes, and the host's links, addresses and routes are as before. */
FIXTURE_TEARDOWN(rbd)
{
	char *const down[] = { "make", "-s", "rapido-lab-down", NULL };
	struct run r;
	char *after = NULL;

	if (!self->net)
		return;
	/* no ASSERT here: the harness would run the teardown again */
	if (!run_in(&r, self->ktree, down)) {
		EXPECT_EQ(0, r.status) run_dump(&r);
		after = host_net();
		run_free(&r);
	}
	EXPECT_STREQ(self->net, after ? after : "(lab down did not run)");
	free(after);
	free(self->net);
}

/*
 * What follows @key on the first line of @text holding it, up to the next
 * blank (malloc'ed), or NULL.
 */
static char *rest_of(const char *text, const char *key)
{
	const char *at = strstr(text, key);
	size_t n;

	if (!at)
		return NULL;
	at += strlen(key);
	n = strcspn(at, " \r\n");
	return n ? strndup(at, n) : NULL;
}

/* sh -c @cmd in the lab's namespace, with the lab's ceph.conf and keyring. */
static int in_lab(struct run *r, const char *ktree, const char *cmd)
{
	char *const argv[] = { LAB, "exec", "sh", "-c", (char *)cmd, NULL };

	return run_in(r, ktree, argv);
}

/* The lab's client key (client.env), to look for on the console. */
static char *lab_key(const char *ktree)
{
	char *path = strf("%s/.rapido/lab/ceph/client.env", ktree);
	char *env = read_text(path), *key = NULL;

	if (env)
		key = rest_of(env, "CEPH_KEY='");
	if (key)
		key[strcspn(key, "'")] = '\0';
	free(env);
	free(path);
	return key;
}

/*
 * The profile passes, and what it wrote is in the image as the host reads
 * it from Ceph: the first N MiB's SHA-256, and the marker (or, for
 * ciphertext, not).
 */
TEST_F_TIMEOUT(rbd, lands_in_ceph, BOOT_TIMEOUT)
{
	char *prof = strf("PROFILE=%s", self->c->name);
	char *const argv[] = { "scripts/rapido/rapido-test", prof, NULL };
	char *tag = strf("%s: marker ", self->c->name), *marker, *key, *cmd;
	char *line = strf("%s: in ceph: ", self->c->name), sum[65];
	const char *at;
	struct run r, h;
	int mib = 0, n;

	ASSERT_EQ(0, run_in(&r, self->ktree, argv));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, "rapido-vm: PASS")) run_dump(&r);
	fprintf(stderr, "# %s: whole rapido-test %.1f s\n", self->c->name,
		r.secs);
	marker = rest_of(r.out, tag);
	ASSERT_NE(NULL, marker) run_dump(&r);
	at = strstr(r.out, line);
	ASSERT_NE(NULL, at) run_dump(&r);
	n = sscanf(at + strlen(line), "%d MiB sha256 %64s", &mib, sum);
	ASSERT_EQ(2, n) run_dump(&r);
	key = lab_key(self->ktree);
	ASSERT_NE(NULL, key);
	EXPECT_FALSE(both_have(&r, key)) TH_LOG("Ceph's key on the console");

	cmd = strf("rbd export rbd/rapido - 2>/dev/null | head -c %d | sha256sum; rbd export rbd/rapido - 2>/dev/null | grep -a -c 'rapido-data %s'",
		   mib << 20, marker);
	ASSERT_EQ(0, in_lab(&h, self->ktree, cmd));
	EXPECT_EQ(0, strncmp(sum, h.out, 64))
		TH_LOG("the guest wrote %s, the host reads %s", sum, h.out);
	at = strchr(h.out, '\n');
	ASSERT_NE(NULL, at) run_dump(&h);
	/* plaintext: the marker is in Ceph; ciphertext: it is not */
	n = !strstr(r.out, "(ciphertext: no marker)");
	EXPECT_EQ(n, atoi(at + 1) > 0)
		TH_LOG("marker %s: %s in Ceph's image", marker,
		       n ? "not" : "in plaintext");
	run_free(&h);
	run_free(&r);
	free(cmd);
	free(key);
	free(marker);
	free(line);
	free(tag);
	free(prof);
}

/*
 * qemu-rbd with QEMU_RBD_IMAGE naming no image, then every profile with
 * the image removed from the running cluster (ceph up reuses the cluster
 * and does not make it again): the run fails, and says why.
 */
TEST_F_TIMEOUT(rbd, image_gone, BOOT_TIMEOUT)
{
	char *prof = strf("PROFILE=%s", self->c->name);
	char *const up[] = { "make", "-s", "rapido-ceph-up", NULL };
	char *const bad[] = { "scripts/rapido/rapido-test", prof,
			      "QEMU_RBD_IMAGE=nosuch", NULL };
	char *const argv[] = { "scripts/rapido/rapido-test", prof, NULL };
	struct run r;

	ASSERT_EQ(0, run_in(&r, self->ktree, up));
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	if (!strcmp(self->c->name, "qemu-rbd")) {
		ASSERT_EQ(0, run_in(&r, self->ktree, bad));
		EXPECT_EQ(128, r.status) run_dump(&r);
		EXPECT_TRUE(both_have(&r, "no RBD image 'rbd/nosuch' for QEMU"))
			run_dump(&r);
		EXPECT_FALSE(both_have(&r, "rapido-init: started"))
			run_dump(&r);
		run_free(&r);
	}
	ASSERT_EQ(0, in_lab(&r, self->ktree, "rbd rm --no-progress rbd/rapido"));
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, run_in(&r, self->ktree, argv));
	EXPECT_EQ(self->c->gone_status, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, self->c->gone))
		TH_LOG("%s: no '%s' in the output", self->c->name,
		       self->c->gone);
	run_free(&r);
	free(prof);
}

TEST_HARNESS_MAIN
