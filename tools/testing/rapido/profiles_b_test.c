// SPDX-License-Identifier: GPL-2.0
/*
 * The local storage profiles, booted for real: lio-local (LIO with fileio,
 * iblock and dm-delay LUs on tcm_loop and iSCSI), mpath-local (multipath
 * failover with the fault asked for over the control channel) and
 * usb-gadget (a mass-storage gadget on dummy_hcd). Each run must pass and
 * print the lines that prove what its autorun checked; the kernel tree's
 * git status must stay clean. Also rapido-vm's control channel on its own
 * (rapido-qmp from X= of the simple profile: a reply, an error) and the
 * QEMU argv of --control, --file and ${VMDIR}.
 *
 * RAPIDO_BIN: rapido's programs (argv tests).
 * RAPIDO_KTREE: a built tree with rapido installed, configured with every
 * profile's fragment; a profile whose options its .config lacks is skipped
 * with the missing options named, as is one whose host tools are missing.
 */
#include "kselftest_harness.h"
#include "rapido_test.h"

#define BOOT_TIMEOUT	900
#define PROOFS_MAX	8

/*
 * The CONFIG_ lines of @fragment that @config lacks, space separated ("" if
 * none), or NULL if a file cannot be read.
 */
static char *missing_options(const char *config, const char *fragment)
{
	char *cfg = read_text(config), *frag = read_text(fragment);
	char *missing = strdup(""), *line, *save;

	if (!cfg || !frag) {
		free(cfg);
		free(frag);
		free(missing);
		return NULL;
	}
	for (line = strtok_r(frag, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *m;

		if (strncmp(line, "CONFIG_", 7) || has_line(cfg, line))
			continue;
		m = strf("%s%s%s", missing, *missing ? " " : "", line);
		free(missing);
		missing = m;
	}
	free(cfg);
	free(frag);
	return missing;
}

/* "prog:package ..." -> the first prog not in PATH, as "prog (package)". */
static char *missing_tool(const char *tools)
{
	char *list = strdup(tools), *tok, *save, *ret = NULL;

	for (tok = strtok_r(list, " ", &save); tok && !ret;
	     tok = strtok_r(NULL, " ", &save)) {
		char *pkg = strchr(tok, ':');
		char *path;

		*pkg++ = '\0';
		path = in_path(tok);
		if (!path)
			ret = strf("%s (apt-get install %s)", tok, pkg);
		free(path);
	}
	free(list);
	return ret;
}

/* "vm<N>" of "rapido-vm: PASS (vm<N>, 12.3 s)", and the seconds. */
static char *pass_vm(const char *out, double *secs)
{
	const char *s = strstr(out, "rapido-vm: PASS (vm");
	unsigned int n;

	*secs = 0;
	if (!s || sscanf(s, "rapido-vm: PASS (vm%u, %lf s)", &n, secs) != 2)
		return NULL;
	return strf("vm%u", n);
}

/*
 * The 6.1 harness runs the test body after a SKIP in the setup: bodies
 * return at once unless the setup got to its end (ready).
 */
FIXTURE(profile) {
	const char *ktree;
	int ready;
};

FIXTURE_VARIANT(profile) {
	const char *name;
	const char *tools;		/* "prog:debian-package ..." */
	const char *proofs[PROOFS_MAX];	/* what the run must print */
	const char *control;		/* in vm<N>/control.log, if set */
};

FIXTURE_VARIANT_ADD(profile, lio_local) {
	.name = "lio-local",
	.tools = "dmsetup:dmsetup ip:iproute2 blockdev:util-linux",
	.proofs = {
		"), backed by /tmp/lu0.img",
		"8 MiB written, read back and found in /tmp/lu0.img",
		"8 MiB written, read back and found in /dev/zram0",
		"8 MiB written, read back and found in /dev/dm-",
		"(dm-delay: 20 ms)",
		":3260 accepts connections; LUNs: lun_0 lun_1 lun_2",
		"] PASS",
	},
};

FIXTURE_VARIANT_ADD(profile, mpath_local) {
	.name = "mpath-local",
	.tools = "multipath:multipath-tools multipathd:multipath-tools mkfs.xfs:xfsprogs dmsetup:dmsetup",
	.proofs = {
		", the active path) through the host",
		"host: {\"return\": \"\"}",
		" failed faulty ",
		" active ready ",
		"] PASS",
	},
	.control = "< {\"return\": \"\"}",
};

FIXTURE_VARIANT_ADD(profile, usb_gadget) {
	.name = "usb-gadget",
	.tools = "sfdisk:fdisk mke2fs:e2fsprogs",
	.proofs = {
		"gadget on dummy_udc.0",
		"USB disk /dev/sd",
		"4 MiB file written, remounted and verified",
		"1 is /dev/zram0 from sector ",
		"] PASS",
	},
};

FIXTURE_SETUP(profile)
{
	char *path, *missing, *tool;
	const char *src;

	RT_ONLY();
	self->ktree = SETUP_KTREE();
	src = getenv("RAPIDO_SRC");
	path = strf("%s/tools/testing/rapido/profiles/%s/config",
		    src && *src ? src : self->ktree, variant->name);
	{
		char *config = strf("%s/.config", self->ktree);

		missing = missing_options(config, path);
		free(config);
	}
	ASSERT_NE(NULL, missing) TH_LOG("cannot read %s or .config", path);
	free(path);
	if (*missing)
		SETUP_SKIP("%s: %s/.config lacks %s (make rapido-config PROFILE=%s, then build)",
		     variant->name, self->ktree, missing, variant->name);
	free(missing);
	tool = missing_tool(variant->tools);
	if (tool)
		SETUP_SKIP("%s needs %s on the host", variant->name, tool);
	self->ready = 1;
}

FIXTURE_TEARDOWN(profile)
{
	if (!self->ready)
		return;
	EXPECT_GIT_CLEAN(self->ktree);
}

TEST_F_TIMEOUT(profile, boots_and_proves, BOOT_TIMEOUT)
{
	char *prof = strf("PROFILE=%s", variant->name);
	char *const argv[] = { "scripts/rapido/rapido-test", prof, NULL };
	char *vm, *log_path, *log;
	double secs;
	struct run r;

	if (!self->ready)
		return;
	ASSERT_EQ(0, run_in(&r, self->ktree, argv));
	EXPECT_EQ(0, r.status) run_dump(&r);
	for (int i = 0; i < PROOFS_MAX && variant->proofs[i]; i++) {
		EXPECT_NE(NULL, strstr(r.out, variant->proofs[i]))
			TH_LOG("%s: no '%s' in the output", variant->name,
			       variant->proofs[i]);
	}
	vm = pass_vm(r.out, &secs);
	ASSERT_NE(NULL, vm) run_dump(&r);
	fprintf(stderr, "# %s: boot to result %.1f s (whole rapido-test %.1f s)\n",
		variant->name, secs, r.secs);
	if (variant->control) {
		log_path = strf("%s/.rapido/%s/control.log", self->ktree, vm);
		log = read_text(log_path);
		ASSERT_NE(NULL, log) TH_LOG("no %s", log_path);
		EXPECT_NE(NULL, strstr(log, "> drive_del hd"))
			TH_LOG("%s: %s", log_path, log);
		EXPECT_NE(NULL, strstr(log, variant->control))
			TH_LOG("%s: %s", log_path, log);
		free(log);
		free(log_path);
	}
	free(vm);
	run_free(&r);
	free(prof);
}

/* ---- the control channel through the simple profile ---- */

FIXTURE(control) {
	const char *ktree;
	int ready;
};

FIXTURE_SETUP(control)
{
	char *path, *config, *missing;
	const char *src;

	RT_ONLY();
	self->ktree = SETUP_KTREE();
	src = getenv("RAPIDO_SRC");
	path = strf("%s/tools/testing/rapido/profiles/simple/config",
		    src && *src ? src : self->ktree);
	config = strf("%s/.config", self->ktree);
	missing = missing_options(config, path);
	free(config);
	free(path);
	ASSERT_NE(NULL, missing);
	if (*missing)
		SETUP_SKIP("simple: %s/.config lacks %s", self->ktree,
		     missing);
	free(missing);
	self->ready = 1;
}

FIXTURE_TEARDOWN(control)
{
}

static int simple_x(struct run *r, const char *ktree, const char *x)
{
	char *xarg = strf("X=%s", x);
	char *const argv[] = { "scripts/rapido/rapido-test", "PROFILE=simple",
			       xarg, NULL };
	int ret = run_in(r, ktree, argv);

	free(xarg);
	return ret;
}

TEST_F_TIMEOUT(control, qmp_reply_reaches_the_guest, BOOT_TIMEOUT)
{
	struct run r;

	if (!self->ready)
		return;
	/* the guest prints the host's reply; "running" is QEMU's state */
	ASSERT_EQ(0, simple_x(&r, self->ktree,
			      "/rapido/bin/rapido-qmp '{\"execute\": \"query-status\"}' | grep -q '\"status\": \"running\"'"));
	EXPECT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
}

TEST_F_TIMEOUT(control, errors_reach_the_guest, BOOT_TIMEOUT)
{
	struct run r;

	if (!self->ready)
		return;
	/* HMP drive_del of no such drive: its message becomes an error */
	ASSERT_EQ(0, simple_x(&r, self->ktree,
			      "out=$(/rapido/bin/rapido-qmp drive_del nosuch); rc=$?; echo \"qmp: $rc $out\"; test $rc = 1"));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "qmp: 1 {\"error\": {\"class\": \"GenericError\""))
		run_dump(&r);
	run_free(&r);

	ASSERT_EQ(0, simple_x(&r, self->ktree,
			      "/rapido/bin/rapido-qmp frobnicate 1"));
	EXPECT_EQ(1, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.out, "'frobnicate': unknown request"))
		run_dump(&r);
	run_free(&r);
}

/* ---- rapido-vm's argv for --control, --file and ${VMDIR} ---- */

FIXTURE(argv) {
	char *tmp;
	char *bin;
	char *kernel;
};

FIXTURE_SETUP(argv)
{
	char tmpl[] = "/tmp/profiles_b_test.XXXXXX";
	const char *bin = rapido_bin("rapido-vm");

	if (!bin)
		SETUP_SKIP("RAPIDO_BIN is not set");
	self->bin = strdup(bin);
	ASSERT_NE(NULL, mkdtemp(tmpl));
	self->tmp = strdup(tmpl);
	self->kernel = strf("%s/k", self->tmp);
	ASSERT_EQ(0, write_file(self->kernel, 0644, "k\n"));
}

FIXTURE_TEARDOWN(argv)
{
	if (!self->tmp)
		return;
	EXPECT_EQ(0, rm_rf(self->tmp));
	free(self->tmp);
	free(self->kernel);
	free(self->bin);
}

static int vm_argv(struct run *r, const char *bin, const char *kernel,
		   const char *dir, const char *machine, const char *a1,
		   const char *a2, const char *a3)
{
	char *const argv[] = { (char *)bin, "--kernel", (char *)kernel,
			       "--initrd", (char *)kernel, "--dir",
			       (char *)dir, "--accel", "tcg", "--machine",
			       (char *)machine, "--print-argv", (char *)a1,
			       (char *)a2, (char *)a3, NULL };

	return run(r, argv);
}

TEST_F(argv, control_port_and_expansion)
{
	char *dir = strf("%s/d", self->tmp);
	char *want = strf("-chardev\nsocket,id=rcontrol,path=%s/vm1/control.sock\n"
			  "-device\nvirtserialport,chardev=rcontrol,name=rapido.control\n"
			  "-device\nvirtio-scsi-device,id=s\n"
			  "-drive\nfile=%s/vm1/x.img,if=none\n",
			  dir, dir);
	struct run r;

	{
		char *const argv[] = { self->bin, "--kernel", self->kernel,
				       "--initrd", self->kernel, "--dir", dir,
				       "--accel", "tcg", "--print-argv",
				       "--control", "--file", "x.img:1G", "--",
				       "-device", "virtio-scsi-${VIRTIO},id=s",
				       "-drive",
				       "file=${VMDIR}/x.img,if=none", NULL };

		ASSERT_EQ(0, run(&r, argv));
	}
	EXPECT_EQ(0, r.status) TH_LOG("%s", r.err);
	EXPECT_NE(NULL, strstr(r.out, want)) TH_LOG("argv:\n%s", r.out);
	run_free(&r);

	/* pc: ${VIRTIO} is pci */
	ASSERT_EQ(0, vm_argv(&r, self->bin, self->kernel, dir, "pc", "--",
			     "-device", "virtio-scsi-${VIRTIO}"));
	EXPECT_EQ(0, r.status);
	EXPECT_TRUE(has_line(r.out, "virtio-scsi-pci")) TH_LOG("%s", r.out);
	/* without --control, no control port */
	EXPECT_EQ(NULL, strstr(r.out, "rapido.control"));
	run_free(&r);
	free(want);
	free(dir);
}

TEST_F(argv, bad_file_and_variable_exit_128)
{
	char *dir = strf("%s/d", self->tmp);
	struct run r;

	ASSERT_EQ(0, vm_argv(&r, self->bin, self->kernel, dir, "microvm",
			     "--", "-drive", "file=${VMDIRX}/a"));
	EXPECT_EQ(128, r.status);
	EXPECT_NE(NULL, strstr(r.err, "'file=${VMDIRX}/a': unknown ${VMDIRX}"))
		TH_LOG("%s", r.err);
	run_free(&r);

	ASSERT_EQ(0, vm_argv(&r, self->bin, self->kernel, dir, "microvm",
			     "--file", "../a:1G", NULL));
	EXPECT_EQ(128, r.status);
	EXPECT_NE(NULL, strstr(r.err, "rapido-vm: '../a:1G': --file wants NAME:SIZE"))
		TH_LOG("%s", r.err);
	run_free(&r);

	ASSERT_EQ(0, vm_argv(&r, self->bin, self->kernel, dir, "microvm",
			     "--file", "a:12X", NULL));
	EXPECT_EQ(128, r.status);
	EXPECT_NE(NULL, strstr(r.err, "'a:12X': --file SIZE is not"))
		TH_LOG("%s", r.err);
	run_free(&r);
	free(dir);
}

TEST_HARNESS_MAIN
