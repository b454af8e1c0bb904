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
#define PROOFS_MAX	6
#define LAB		"tools/testing/rapido/services/lab"

FIXTURE(rbd) {
	const char *ktree;
	char *net;	/* host_net() before */
};

FIXTURE_VARIANT(rbd) {
	const char *name;
	const char *need;		/* a host file the profile needs */
	const char *proofs[PROOFS_MAX];	/* what the run must print */
	const char *sum;		/* "<sum key>": the guest's SHA-256 */
	int mib;			/* ... of the image's first MiB */
	int cipher;			/* the marker must not be in Ceph */
	const char *gone;		/* the run's words, image removed */
	int gone_status;
	const char *bad_var;		/* a variable naming no image: 128 */
	const char *bad_words;		/* ... and the run's words */
};

FIXTURE_VARIANT_ADD(rbd, lio_rbd) {
	.name = "lio-rbd",
	.need = "/usr/bin/rbd",
	.proofs = {
		"lio-rbd: marker ",
		"(IBLOCK) is iblock /dev/rbd0 on tcm_loop",
		"read back intact and found on /dev/rbd0",
		"PASS: torn down and unmapped",
	},
	.sum = "found on /dev/rbd0: sha256 ",
	.mib = 8,
	.gone = "lio-rbd: cannot map rbd/rapido from ",
	.gone_status = 1,
};

FIXTURE_VARIANT_ADD(rbd, tcmu_rbd) {
	.name = "tcmu-rbd",
	.need = "/usr/lib/x86_64-linux-gnu/tcmu-runner/handler_rbd.so",
	.proofs = {
		"tcmu-rbd: marker ",
		"through tcmu-runner's rbd handler",
		"(TCMU device) is the TCMU backstore on tcm_loop",
		"PASS: torn down, tcmu-runner stopped",
	},
	.sum = "tcmu-rbd: 8 MiB through /dev/sda read back intact: sha256 ",
	.mib = 8,
	.gone = "rbd/rbd: Could not open image rapido.",
	.gone_status = 1,
};

FIXTURE_VARIANT_ADD(rbd, qemu_rbd) {
	.name = "qemu-rbd",
	.need = "/usr/lib/x86_64-linux-gnu/qemu/block-rbd.so",
	.proofs = {
		"qemu-rbd: marker ",
		"rapido: qemu-rbd: QEMU attaches rbd/rapido as a virtio disk",
		"/dev/vda: 1024 MiB, QEMU's rbd driver",
		"] PASS",
	},
	.sum = "qemu-rbd: 8 MiB through /dev/vda read back intact: sha256 ",
	.mib = 8,
	.gone = "no RBD image 'rbd/rapido' for QEMU",
	.gone_status = 128,
	.bad_var = "QEMU_RBD_IMAGE=nosuch",
	.bad_words = "no RBD image 'rbd/nosuch' for QEMU",
};

FIXTURE_VARIANT_ADD(rbd, usb_rbd) {
	.name = "usb-rbd",
	.need = "/usr/sbin/dmsetup",
	.proofs = {
		"usb-rbd: marker ",
		"dm-crypt aes-xts-plain64 (a key of this run) on /dev/rbd0",
		"File-Stor Gadget, 1024 MiB, is /dev/dm-",
		"written, remounted and verified",
		"(on /dev/dm-0, not on /dev/rbd0)",
		"PASS: gadget removed, dm-crypt removed, unmapped",
	},
	.sum = "usb-rbd: rbd head sha256 ",
	.mib = 1,
	.cipher = 1,
	.gone = "usb-rbd: cannot map rbd/rapido from ",
	.gone_status = 1,
};

FIXTURE_SETUP(rbd)
{
	char why[256];

	RT_ONLY();
	memset(self, 0, sizeof(*self));
	if (geteuid())
		SETUP_SKIP("the lab needs root (a network namespace, a bridge, taps)");
	if (access("/usr/bin/ceph-osd", X_OK) || access("/usr/bin/rbd", X_OK))
		SETUP_SKIP("Ceph is not installed (apt-get install ceph-mon ceph-mgr ceph-osd ceph-mds ceph-common)");
	if (access(variant->need, R_OK))
		SETUP_SKIP("%s needs %s (scripts/rapido/quickstart installs it)",
			   variant->name, variant->need);
	self->ktree = built_ktree(why, sizeof(why));
	if (!self->ktree)
		SETUP_SKIP("%s", why);
	self->net = host_net();
}

FIXTURE_TEARDOWN(rbd)
{
	char *const down[] = { "make", "-s", "rapido-lab-down", NULL };
	struct run r;
	char *net;

	if (!self->net)
		return;
	/* no ASSERT here: the harness would run the teardown again */
	EXPECT_EQ(0, run_in(&r, self->ktree, down));
	EXPECT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	net = host_net();
	EXPECT_STREQ(self->net, net);
	free(net);
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
 * The profile passes, proves each step, and what it wrote is in the image
 * as the host reads it from Ceph.
 */
TEST_F_TIMEOUT(rbd, lands_in_ceph, BOOT_TIMEOUT)
{
	char *prof = strf("PROFILE=%s", variant->name);
	char *const argv[] = { "scripts/rapido/rapido-test", prof, NULL };
	char *marker, *sum, *key, *cmd, *mine;
	struct run r, h;

	ASSERT_EQ(0, run_in(&r, self->ktree, argv));
	EXPECT_EQ(0, r.status) run_dump(&r);
	for (int i = 0; i < PROOFS_MAX && variant->proofs[i]; i++) {
		EXPECT_TRUE(both_have(&r, variant->proofs[i]))
			TH_LOG("%s: no '%s' in the output", variant->name,
			       variant->proofs[i]);
	}
	fprintf(stderr, "# %s: whole rapido-test %.1f s\n", variant->name,
		r.secs);
	mine = strf("%s: marker ", variant->name);
	marker = rest_of(r.out, mine);
	sum = rest_of(r.out, variant->sum);
	ASSERT_NE(NULL, marker) run_dump(&r);
	ASSERT_NE(NULL, sum) run_dump(&r);
	key = lab_key(self->ktree);
	ASSERT_NE(NULL, key);
	EXPECT_FALSE(both_have(&r, key)) TH_LOG("Ceph's key on the console");
	run_free(&r);

	cmd = strf("rbd export rbd/rapido - 2>/dev/null | head -c %d | sha256sum",
		   variant->mib << 20);
	ASSERT_EQ(0, in_lab(&h, self->ktree, cmd));
	EXPECT_EQ(0, h.status) run_dump(&h);
	EXPECT_EQ(0, strncmp(sum, h.out, strlen(sum)))
		TH_LOG("guest %s, image in Ceph %s", sum, h.out);
	run_free(&h);
	free(cmd);
	if (variant->cipher) {
		cmd = strf("rbd export rbd/rapido - 2>/dev/null | grep -a -c 'rapido-data %s'",
			   marker);
		ASSERT_EQ(0, in_lab(&h, self->ktree, cmd));
		EXPECT_STREQ("0\n", h.out)
			TH_LOG("the plaintext marker is in Ceph's image");
		run_free(&h);
		free(cmd);
	}
	free(key);
	free(sum);
	free(marker);
	free(mine);
	free(prof);
}

/*
 * A variable naming an image the cluster lacks (qemu-rbd), then the image
 * removed from the running cluster (ceph up reuses it and does not make it
 * again): the profile fails, and says why.
 */
TEST_F_TIMEOUT(rbd, image_gone, BOOT_TIMEOUT)
{
	char *prof = strf("PROFILE=%s", variant->name);
	char *const up[] = { "make", "-s", "rapido-ceph-up", NULL };
	char *const bad[] = { "scripts/rapido/rapido-test", prof,
			      (char *)variant->bad_var, NULL };
	char *const argv[] = { "scripts/rapido/rapido-test", prof, NULL };
	struct run r;

	ASSERT_EQ(0, run_in(&r, self->ktree, up));
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	if (variant->bad_var) {
		ASSERT_EQ(0, run_in(&r, self->ktree, bad));
		EXPECT_EQ(128, r.status) run_dump(&r);
		EXPECT_TRUE(both_have(&r, variant->bad_words)) run_dump(&r);
		EXPECT_FALSE(both_have(&r, "rapido-init: started"))
			run_dump(&r);
		run_free(&r);
	}
	ASSERT_EQ(0, in_lab(&r, self->ktree, "rbd rm --no-progress rbd/rapido"));
	ASSERT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	ASSERT_EQ(0, run_in(&r, self->ktree, argv));
	EXPECT_EQ(variant->gone_status, r.status) run_dump(&r);
	EXPECT_TRUE(both_have(&r, variant->gone))
		TH_LOG("%s: no '%s' in the output", variant->name,
		       variant->gone);
	run_free(&r);
	free(prof);
}

TEST_HARNESS_MAIN
