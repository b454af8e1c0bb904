// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of rapido-settings, the one reader of rapido's settings: in a
 * scratch tree (a .rapido.config, a profile, a top Makefile and kbuild's
 * documentation to derive kbuild's variables from), each kind of bad
 * value, an unknown key, a duplicate, a file of random bytes, the
 * precedence, the names of make's command line and the "did you mean".
 * With RAPIDO_KTREE (a built tree, rapido installed), the same refusals
 * through the driver and through make.
 *
 *   RAPIDO_BIN=<dir of rapido-settings> RAPIDO_SRC=<checkout>
 *   [RAPIDO_KTREE=<tree>] ./settings_test
 */
#include "kselftest_harness.h"
#include "rapido_test.h"

#define PROFILES	"tools/testing/rapido/profiles"

static const char good_config[] =
	"#\n"
	"# Automatically generated file; DO NOT EDIT.\n"
	"# rapido: boot-test this kernel tree\n"
	"#\n"
	"CONFIG_RAPIDO_PROFILE=\"p\"\n"
	"CONFIG_RAPIDO_MEM=512\n"
	"CONFIG_RAPIDO_CPUS=2\n"
	"CONFIG_RAPIDO_TIMEOUT=300\n"
	"CONFIG_RAPIDO_ACCEL_AUTO=y\n"
	"# CONFIG_RAPIDO_ACCEL_KVM is not set\n"
	"# CONFIG_RAPIDO_ACCEL_TCG is not set\n"
	"CONFIG_RAPIDO_ACCEL=\"auto\"\n"
	"CONFIG_RAPIDO_MACHINE_MICROVM=y\n"
	"# CONFIG_RAPIDO_MACHINE_PC is not set\n"
	"# CONFIG_RAPIDO_MACHINE_Q35 is not set\n"
	"CONFIG_RAPIDO_MACHINE=\"microvm\"\n"
	"CONFIG_RAPIDO_QEMU=\"qemu-system-x86_64\"\n"
	"CONFIG_RAPIDO_APPEND=\"quiet \\\"x\\\"\"\n"
	"CONFIG_RAPIDO_QEMU_EXTRA=\"\"\n"
	"CONFIG_RAPIDO_CUT_NATIVE=y\n"
	"# CONFIG_RAPIDO_CUT_DRACUT is not set\n"
	"CONFIG_RAPIDO_CUT=\"native\"\n"
	"# CONFIG_RAPIDO_WATCH is not set\n"
	"CONFIG_RAPIDO_LAB_NET=\"192.168.155.1/24\"\n"
	"CONFIG_RAPIDO_CEPH_OSDS=3\n"
	"CONFIG_RAPIDO_CEPH_IMAGE_SIZE=1024\n"
	"CONFIG_RAPIDO_CEPH_TIMEOUT=60\n"
	"CONFIG_RAPIDO_RBD_POOL=\"rbd\"\n"
	"CONFIG_RAPIDO_RBD_IMAGE=\"rapido\"\n"
	"CONFIG_RAPIDO_CEPHFS_NAME=\"cephfs\"\n"
	"CONFIG_RAPIDO_CEPH_USER=\"admin\"\n";

static const char good_settings[] =
	"# a test profile's settings\n"
	"DESCRIPTION=a test profile\n"
	"MEM=1024\n"
	"CPUS=1\n"
	"TIMEOUT=60\n"
	"VARS=SUITE DEPTH=3\n"
	"VM_FILES=disk.img:1G\n";

/* Enough of a top Makefile and kbuild's docs to derive names from. */
static const char kbuild_makefile[] =
	"ifeq (\"$(origin V)\", \"command line\")\n"
	"  KBUILD_VERBOSE = $(V)\n"
	"endif\n"
	"CFLAGS_MODULE   =\n"
	"ifneq ($(LLVM),)\n"
	"CC\t\t= clang\n"
	"endif\n"
	"\t@echo  '  make W=n   [targets] Enable extra build checks'\n";

static const char kbuild_rst[] =
	"======================\n"
	"Kbuild\n"
	"======================\n"
	"\n"
	"KCFLAGS\n"
	"-------\n"
	"Additional options to the C compiler.\n"
	"\n"
	"KBUILD_BUILD_USER, KBUILD_BUILD_HOST\n"
	"------------------------------------\n"
	"These two variables allow to override the user@host string.\n";

/* A scratch tree; the fixtures "settings" and "bad" both hold one. */
struct tree {
	char *dir, *config, *settings, *bin;
};

static void tree_setup(struct __test_metadata *_metadata, struct tree *self)
{
	char tmpl[] = "/tmp/rapido-settings-test.XXXXXX", *p;

	self->bin = strdup(rapido_bin("rapido-settings"));
	ASSERT_NE(NULL, mkdtemp(tmpl));
	self->dir = strdup(tmpl);
	p = strf("mkdir -p %s/%s/p %s/%s/other %s/Documentation/kbuild %s/scripts",
		 self->dir, PROFILES, self->dir, PROFILES, self->dir, self->dir);
	ASSERT_EQ(0, system(p));
	free(p);
	put_file(self->dir, PROFILES "/p/manifest", 0644, "");
	put_file(self->dir, PROFILES "/other/manifest", 0644, "");
	put_file(self->dir, PROFILES "/other/settings", 0644, "MEM=256\n");
	put_file(self->dir, "Makefile", 0644, kbuild_makefile);
	put_file(self->dir, "Documentation/kbuild/kbuild.rst", 0644,
		 kbuild_rst);
	put_file(self->dir, "Documentation/kbuild/llvm.rst", 0644,
		 "\tmake LLVM=1 LLVM_IAS=0\n");
	put_file(self->dir, "scripts/Makefile.extrawarn", 0644,
		 "ifneq ($(findstring 1, $(KBUILD_EXTRA_WARN)),)\n");
	self->config = strf("%s/.rapido.config", self->dir);
	self->settings = strf("%s/%s/p/settings", self->dir, PROFILES);
	ASSERT_EQ(0, write_file(self->config, 0644, good_config));
	ASSERT_EQ(0, write_file(self->settings, 0644, good_settings));
}

static void tree_teardown(struct __test_metadata *_metadata,
			  struct tree *self)
{
	if (!self->dir)
		return;
	EXPECT_EQ(0, rm_rf(self->dir));
	EXPECT_NE(0, access(self->dir, F_OK));
	free(self->dir);
	free(self->config);
	free(self->settings);
	free(self->bin);
}

/*
 * rapido-settings -s DIR -c CONFIG [args] with nothing in the environment
 * but @env (NULL-terminated "NAME=value" strings, then the arguments).
 */
static int settings(struct run *r, struct tree *self, ...)
{
	char *argv[32] = { "env", "-i" };
	int argc = 2, args = 0;
	va_list ap;
	char *a;

	va_start(ap, self);
	while (argc < 24 && (a = va_arg(ap, char *))) {
		if (!strcmp(a, "--")) {
			argv[argc++] = self->bin;
			argv[argc++] = "-s";
			argv[argc++] = self->dir;
			argv[argc++] = "-c";
			argv[argc++] = self->config;
			argv[argc++] = "--";
			args = 1;
			continue;
		}
		argv[argc++] = a;
	}
	va_end(ap);
	if (!args) {
		argv[argc++] = self->bin;
		argv[argc++] = "-s";
		argv[argc++] = self->dir;
		argv[argc++] = "-c";
		argv[argc++] = self->config;
	}
	argv[argc] = NULL;
	return run(r, argv);
}

FIXTURE(settings) {
	struct tree t;
};

static bool have_bin(void)
{
	const char *bin = rapido_bin("rapido-settings");

	return bin && !access(bin, X_OK);
}

FIXTURE_SETUP(settings)
{
	if (!have_bin())
		SKIP(return, "no rapido-settings in RAPIDO_BIN");
	tree_setup(_metadata, &self->t);
}

FIXTURE_TEARDOWN(settings)
{
	tree_teardown(_metadata, &self->t);
}

/* The value of record KEY in rapido-settings' NUL-separated output. */
static const char *record(const struct run *r, size_t len, const char *key)
{
	size_t klen = strlen(key);

	for (const char *p = r->out; p < r->out + len; p += strlen(p) + 1)
		if (!strncmp(p, key, klen) && p[klen] == '=')
			return p + klen + 1;
	return NULL;
}

/* The output's length: up to and with the END= record. */
static size_t out_len(const struct run *r)
{
	const char *p = r->out;

	for (int i = 0; i < 256 && *p; i++) {
		if (!strcmp(p, "END="))
			return p + 5 - r->out;
		p += strlen(p) + 1;
	}
	return 0;
}

TEST_F(settings, defaults_from_config_and_profile_minimums)
{
	struct run r;
	size_t n;

	if (!self->t.dir)
		return;
	ASSERT_EQ(0, settings(&r, &self->t, NULL));
	ASSERT_EQ(0, r.status) run_dump(&r);
	n = out_len(&r);
	ASSERT_NE(0U, n) run_dump(&r);
	EXPECT_STREQ("p", record(&r, n, "PROFILE"));
	/* MEM: the profile's 1024 beats .rapido.config's 512 */
	EXPECT_STREQ("1024", record(&r, n, "MEM"));
	/* CPUS: the profile's 1 does not lower .rapido.config's 2 */
	EXPECT_STREQ("2", record(&r, n, "CPUS"));
	/* TIMEOUT: the profile's overrides */
	EXPECT_STREQ("60", record(&r, n, "TIMEOUT"));
	EXPECT_STREQ("n", record(&r, n, "WATCH"));
	EXPECT_STREQ("quiet \"x\"", record(&r, n, "APPEND"));
	EXPECT_STREQ("microvm", record(&r, n, "MACHINE"));
	EXPECT_STREQ("disk.img:1G", record(&r, n, "VM_FILES"));
	EXPECT_STREQ("SUITE=", record(&r, n, "VAR"));
	EXPECT_NE(NULL, strstr(record(&r, n, "NAMES"), "PROFILE "));
	EXPECT_NE(NULL, strstr(record(&r, n, "NAMES"), " SUITE DEPTH"));
	run_free(&r);
}

TEST_F(settings, command_line_over_environment_over_profile)
{
	struct run r;
	size_t n;

	if (!self->t.dir)
		return;
	ASSERT_EQ(0, settings(&r, &self->t, "MEM=2G", "TIMEOUT=9", "CPUS=8",
			      "DEPTH=$(rm -rf /)\n'x'", "--", "TIMEOUT=7",
			      NULL));
	ASSERT_EQ(0, r.status) run_dump(&r);
	n = out_len(&r);
	ASSERT_NE(0U, n) run_dump(&r);
	EXPECT_STREQ("2048", record(&r, n, "MEM"));
	EXPECT_STREQ("7", record(&r, n, "TIMEOUT"));
	/* a command-line CPUS lowers too: it is not a minimum */
	EXPECT_STREQ("8", record(&r, n, "CPUS"));
	run_free(&r);

	ASSERT_EQ(0, settings(&r, &self->t, "PROFILE=other", "DEPTH=4", "--",
			      "CPUS=1", "MEM=64", NULL));
	ASSERT_EQ(0, r.status) run_dump(&r);
	n = out_len(&r);
	EXPECT_STREQ("other", record(&r, n, "PROFILE"));
	EXPECT_STREQ("1", record(&r, n, "CPUS"));
	EXPECT_STREQ("64", record(&r, n, "MEM"));
	/* not the other profile's variable: no record, but known to env */
	EXPECT_EQ(NULL, record(&r, n, "VAR"));
	run_free(&r);
}

TEST_F(settings, variable_values_are_records_not_code)
{
	struct run r;
	const char *v;
	size_t n;

	if (!self->t.dir)
		return;
	ASSERT_EQ(0, settings(&r, &self->t, "DEPTH=$(touch /tmp/x)\n'; x=1", "--",
			      NULL));
	ASSERT_EQ(0, r.status) run_dump(&r);
	n = out_len(&r);
	v = record(&r, n, "VAR");
	ASSERT_NE(NULL, v);
	EXPECT_STREQ("SUITE=", v);
	v += strlen(v) + 1;
	EXPECT_STREQ("VAR=DEPTH=$(touch /tmp/x)\n'; x=1", v);
	run_free(&r);
}

/*
 * One bad value of each kind, where it is given, and what is said. A
 * variant's settings are the profile's whole settings file (after a
 * comment line); without, the profile has good_settings.
 */
FIXTURE(bad) {
	struct tree t;
};

FIXTURE_SETUP(bad)
{
	if (!have_bin())
		SKIP(return, "no rapido-settings in RAPIDO_BIN");
	tree_setup(_metadata, &self->t);
}

FIXTURE_TEARDOWN(bad)
{
	tree_teardown(_metadata, &self->t);
}

FIXTURE_VARIANT(bad) {
	const char *settings;	/* appended to the profile's settings */
	const char *config;	/* replaces a line of .rapido.config */
	const char *config_line;
	const char *arg;	/* a command-line argument */
	const char *env;	/* the environment */
	const char *want;	/* in the message */
};

FIXTURE_VARIANT_ADD(bad, mem_abc) {
	.settings = "MEM=abc\n",
	.want = "settings:2: MEM: 'abc' is not a size in MiB, 64..65536",
};

FIXTURE_VARIANT_ADD(bad, cpus_abc) {
	.settings = "CPUS=abc\n",
	.want = "settings:2: CPUS: 'abc' is not a whole number in 1..64",
};

FIXTURE_VARIANT_ADD(bad, timeout_out_of_range) {
	.settings = "TIMEOUT=999999\n",
	.want = "settings:2: TIMEOUT: '999999' is not a whole number in 5..86400",
};

FIXTURE_VARIANT_ADD(bad, size_bad_unit) {
	.arg = "MEM=1T",
	.want = "command line: MEM: '1T' is not a size in MiB",
};

FIXTURE_VARIANT_ADD(bad, bool_in_config) {
	.config = "# CONFIG_RAPIDO_WATCH is not set\n",
	.config_line = "CONFIG_RAPIDO_WATCH=maybe\n",
	.want = ".rapido.config:23: WATCH: 'maybe' is not y or n",
};

FIXTURE_VARIANT_ADD(bad, enum_in_profile) {
	.settings = "MACHINE=vax\n",
	.want = "settings:2: MACHINE: 'vax' is not one of: microvm, pc, q35",
};

FIXTURE_VARIANT_ADD(bad, enum_on_command_line) {
	.arg = "ACCEL=fast",
	.want = "command line: ACCEL: 'fast' is not one of: auto, kvm, tcg",
};

FIXTURE_VARIANT_ADD(bad, enum_in_environment) {
	.env = "CUT=mkinitramfs",
	.want = "environment: CUT: 'mkinitramfs' is not one of: native, dracut",
};

FIXTURE_VARIANT_ADD(bad, string_in_config) {
	.config = "CONFIG_RAPIDO_QEMU=\"qemu-system-x86_64\"\n",
	.config_line = "CONFIG_RAPIDO_QEMU=qemu\n",
	.want = ".rapido.config:17: CONFIG_RAPIDO_QEMU: qemu is not a kconfig string",
};

FIXTURE_VARIANT_ADD(bad, profile_name) {
	.arg = "PROFILE=../p",
	.want = "command line: PROFILE: '../p' is not a profile's name",
};

FIXTURE_VARIANT_ADD(bad, word_list) {
	.settings = "VM_FILES=disk.img:1G ../x:1M\n",
	.want = "VM_FILES: '../x:1M' is not a NAME:SIZE word",
};

FIXTURE_VARIANT_ADD(bad, vars_word) {
	.settings = "VARS=lower\n",
	.want = "VARS: 'lower' is not a NAME or NAME=default word",
};

FIXTURE_VARIANT_ADD(bad, vars_name_is_rapidos) {
	.settings = "VARS=TIMEOUT\n",
	.want = "VARS: 'TIMEOUT' is rapido's own variable",
};

FIXTURE_VARIANT_ADD(bad, unknown_key) {
	.settings = "CPU=4\n",
	.want = "settings:2: CPU: unknown setting, did you mean CPUS? (a profile's settings are: TIMEOUT MEM CPUS ALLOW_WARN MACHINE DESCRIPTION NEEDS VARS PREPARE VM_FILES NET SERVICES VMS)",
};

FIXTURE_VARIANT_ADD(bad, key_of_another_place) {
	.settings = "ACCEL=kvm\n",
	.want = "settings:2: ACCEL: not a profile's setting",
};

FIXTURE_VARIANT_ADD(bad, unknown_in_config) {
	.config = "CONFIG_RAPIDO_QEMU_EXTRA=\"\"\n",
	.config_line = "CONFIG_RAPIDO_QEMU_EXTRAS=\"\"\n",
	.want = ".rapido.config:19: CONFIG_RAPIDO_QEMU_EXTRAS: unknown setting (known: CONFIG_RAPIDO_PROFILE",
};

FIXTURE_VARIANT_ADD(bad, missing_in_config) {
	.config = "CONFIG_RAPIDO_CPUS=2\n",
	.config_line = "",
	.want = ".rapido.config: CONFIG_RAPIDO_CPUS is missing",
};

FIXTURE_VARIANT_ADD(bad, net_not_bool) {
	.settings = "NET=yes\n",
	.want = "settings:2: NET: 'yes' is not y or n",
};

FIXTURE_VARIANT_ADD(bad, unknown_service) {
	.settings = "SERVICES=ceph nfs\n",
	.want = "settings:2: SERVICES: 'nfs' is not one of the known words: ceph, samba, tcpecho",
};

FIXTURE_VARIANT_ADD(bad, too_many_vms) {
	.settings = "VMS=65\n",
	.want = "settings:2: VMS: '65' is not a whole number in 1..64",
};

FIXTURE_VARIANT_ADD(bad, lab_setting_in_environment) {
	.env = "CEPH_OSDS=0",
	.want = "environment: CEPH_OSDS: '0' is not a whole number in 1..16",
};

FIXTURE_VARIANT_ADD(bad, missing_lab_setting_in_config) {
	.config = "CONFIG_RAPIDO_RBD_POOL=\"rbd\"\n",
	.config_line = "",
	.want = ".rapido.config: CONFIG_RAPIDO_RBD_POOL is missing",
};

FIXTURE_VARIANT_ADD(bad, duplicate) {
	.settings = "MEM=1024\nMEM=2048\n",
	.want = "settings:3: MEM: set again (first on line 2), allowed once",
};

FIXTURE_VARIANT_ADD(bad, duplicate_in_config) {
	.config = "CONFIG_RAPIDO_CPUS=2\n",
	.config_line = "CONFIG_RAPIDO_CPUS=2\nCONFIG_RAPIDO_CPUS=4\n",
	.want = ".rapido.config:8: CONFIG_RAPIDO_CPUS: set again (first on line 7)",
};

FIXTURE_VARIANT_ADD(bad, not_a_line) {
	.settings = "just words\n",
	.want = "settings:2: not a KEY=value line: 'just words'",
};

FIXTURE_VARIANT_ADD(bad, unknown_profile) {
	.arg = "PROFILE=oter",
	.want = "command line: PROFILE: unknown profile 'oter', did you mean other?",
};

FIXTURE_VARIANT_ADD(bad, unknown_argument) {
	.arg = "PROFLE=p",
	.want = "command line: unknown variable 'PROFLE', did you mean PROFILE? (known: PROFILE X F TIMEOUT MEM CPUS ACCEL CUT WATCH V O ARCH N BENCH_CHECK BENCH_SERVED BENCH_FSTESTS PROFILES FORMAT ALLOW_WARN BASE TRAILER TRAILER_KEY NOTES JUNIT VMS LAB_NET CEPH_OSDS CEPH_IMAGE_SIZE CEPH_TIMEOUT RBD_POOL RBD_IMAGE CEPHFS_NAME CEPH_USER CEPH_CONF CEPH_KEYRING; and for profile p: SUITE DEPTH=3)",
};

FIXTURE_VARIANT_ADD(bad, argument_of_another_place) {
	.arg = "QEMU=/usr/bin/qemu",
	.want = "command line: QEMU: not a variable of the command line (it is set in .rapido.config: make rapido-menuconfig)",
};

FIXTURE_VARIANT_ADD(bad, lower_case_argument) {
	.arg = "profile=p",
	.want = "command line: unknown variable 'profile', did you mean PROFILE?",
};

FIXTURE_VARIANT_ADD(bad, make_command_line) {
	.env = "MAKEFLAGS=s -j2 --jobserver-auth=3,4 -- X=a\\ b=c TIMOUT=5",
	.want = "make's command line: unknown variable 'TIMOUT', did you mean TIMEOUT?",
};

FIXTURE_VARIANT_ADD(bad, make_command_line_kbuild_like) {
	.env = "MAKEFLAGS= -- KCFLAG=-O1",
	.want = "make's command line: unknown variable 'KCFLAG', did you mean KCFLAGS?",
};

FIXTURE_VARIANT_ADD(bad, make_command_line_profile_var) {
	.env = "MAKEFLAGS= -- SUIT=x",
	.want = "make's command line: unknown variable 'SUIT', did you mean SUITE?",
};

/* Each variant: exit 128, its message, nothing on stdout. */
TEST_F(bad, exits_128_with_file_line_key)
{
	char *env = (char *)variant->env, *arg = (char *)variant->arg;
	struct run r;

	if (!self->t.dir)
		return;
	if (variant->settings) {
		char *s = strf("# a test profile's settings\n%s",
			       variant->settings);

		ASSERT_EQ(0, write_file(self->t.settings, 0644, s));
		free(s);
	}
	if (variant->config) {
		const char *at = strstr(good_config, variant->config);
		char *c;

		ASSERT_NE(NULL, at);
		c = strf("%.*s%s%s", (int)(at - good_config), good_config,
			 variant->config_line,
			 at + strlen(variant->config));
		ASSERT_EQ(0, write_file(self->t.config, 0644, c));
		free(c);
	}
	/* the environment (if any), then the argument (if any) */
	ASSERT_EQ(0, settings(&r, &self->t, env ? env : "--", env ? "--" : arg,
			      env ? arg : NULL, NULL));
	EXPECT_EQ(128, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, variant->want)) run_dump(&r);
	EXPECT_STREQ("", r.out);
	run_free(&r);
}

TEST_F(settings, garbage_config)
{
	char buf[4096];
	int fd = open("/dev/urandom", O_RDONLY);
	struct run r;
	char *want;

	if (!self->t.dir)
		return;
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)sizeof(buf), read(fd, buf, sizeof(buf)));
	close(fd);
	/* kconfig's files start with '#' or C: make sure this one does not */
	buf[0] = 0x7f;
	ASSERT_EQ(0, write_whole(self->t.config, buf, sizeof(buf)));
	ASSERT_EQ(0, settings(&r, &self->t, NULL));
	EXPECT_EQ(128, r.status) run_dump(&r);
	want = strf("%s:1: ", self->t.config);
	EXPECT_NE(NULL, strstr(r.err, want)) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "does not look like a .rapido.config"))
		run_dump(&r);
	free(want);
	run_free(&r);
}

TEST_F(settings, garbage_profile_settings)
{
	char buf[2048];
	int fd = open("/dev/urandom", O_RDONLY);
	struct run r;

	if (!self->t.dir)
		return;
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)sizeof(buf), read(fd, buf, sizeof(buf)));
	close(fd);
	buf[0] = 0;
	ASSERT_EQ(0, write_whole(self->t.settings, buf, sizeof(buf)));
	ASSERT_EQ(0, settings(&r, &self->t, NULL));
	EXPECT_EQ(128, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "settings:1: not a line of text"))
		run_dump(&r);
	run_free(&r);
}

/* Make's, kbuild's (from the tree) and rapido's names are all fine. */
TEST_F(settings, make_command_line_known_names)
{
	struct run r;

	if (!self->t.dir)
		return;
	ASSERT_EQ(0, settings(&r, &self->t,
			      "MAKEFLAGS=s -- lower=1 SHELL=/bin/sh V=1 W=1 CC=clang LLVM=1 CFLAGS_MODULE=-DX KCFLAGS=-O1 KBUILD_BUILD_HOST=h LLVM_IAS=0 KBUILD_EXTRA_WARN=1 Mixed=1 SUITE=x\\ y X=a\\ b=c\\\\d",
			      "V=1", NULL));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_STREQ("", r.err);
	run_free(&r);
}

/* The table and Kconfig.rapido agree: symbols, types, ranges. */
TEST_F(settings, table_matches_kconfig)
{
	const char *src = getenv("RAPIDO_SRC");
	char *kconfig, *const argv[] = { self->t.bin, "--check-kconfig",
					 NULL, NULL };
	struct run r;

	if (!self->t.dir)
		return;
	if (!src)
		SKIP(return, "RAPIDO_SRC is not set");
	kconfig = strf("%s/Kconfig.rapido", src);
	((char **)argv)[2] = kconfig;
	ASSERT_EQ(0, run(&r, argv));
	EXPECT_EQ(0, r.status) run_dump(&r);
	run_free(&r);
	free(kconfig);
}

/*
 * --lab (services/lib.sh): Kconfig.rapido's defaults where .rapido.config
 * is missing or lacks a lab key, its value over them, the environment's
 * over both; a bad value is refused as everywhere else.
 */
TEST_F(settings, lab_settings)
{
	const char *src = getenv("RAPIDO_SRC");
	char *kconfig, *cfg, *missing;
	struct run r;
	size_t n;

	if (!self->t.dir)
		return;
	if (!src)
		SKIP(return, "RAPIDO_SRC is not set");
	kconfig = strf("%s/Kconfig.rapido", src);
	missing = strf("%s/none", self->t.dir);
	{
		char *const argv[] = { "env", "-i", self->t.bin, "--lab",
				       kconfig, "-c", missing, NULL };

		ASSERT_EQ(0, run(&r, argv));
	}
	EXPECT_EQ(0, r.status) run_dump(&r);
	n = out_len(&r);
	ASSERT_NE(0U, n) run_dump(&r);
	EXPECT_STREQ("192.168.155.1/24", record(&r, n, "LAB_NET"));
	EXPECT_STREQ("3", record(&r, n, "CEPH_OSDS"));
	EXPECT_STREQ("1024", record(&r, n, "CEPH_IMAGE_SIZE"));
	EXPECT_STREQ("60", record(&r, n, "CEPH_TIMEOUT"));
	EXPECT_STREQ("rbd", record(&r, n, "RBD_POOL"));
	EXPECT_STREQ("rapido", record(&r, n, "RBD_IMAGE"));
	EXPECT_STREQ("cephfs", record(&r, n, "CEPHFS_NAME"));
	EXPECT_STREQ("admin", record(&r, n, "CEPH_USER"));
	EXPECT_STREQ("", record(&r, n, "CEPH_CONF"));
	run_free(&r);
	cfg = strf("%s/partial.config", self->t.dir);
	ASSERT_EQ(0, write_file(cfg, 0644,
				"CONFIG_RAPIDO_LAB_NET=\"10.77.0.1/24\"\nCONFIG_RAPIDO_CEPH_OSDS=2\n"));
	{
		char *const argv[] = { "env", "-i", "CEPH_OSDS=5",
				       "CEPH_CONF=/c", self->t.bin, "--lab",
				       kconfig, "-c", cfg, NULL };

		ASSERT_EQ(0, run(&r, argv));
	}
	EXPECT_EQ(0, r.status) run_dump(&r);
	n = out_len(&r);
	ASSERT_NE(0U, n) run_dump(&r);
	EXPECT_STREQ("10.77.0.1/24", record(&r, n, "LAB_NET"));
	EXPECT_STREQ("5", record(&r, n, "CEPH_OSDS"));
	EXPECT_STREQ("1024", record(&r, n, "CEPH_IMAGE_SIZE"));
	EXPECT_STREQ("/c", record(&r, n, "CEPH_CONF"));
	run_free(&r);
	{
		char *const argv[] = { "env", "-i", "CEPH_TIMEOUT=soon",
				       self->t.bin, "--lab", kconfig, "-c",
				       cfg, NULL };

		ASSERT_EQ(0, run(&r, argv));
	}
	EXPECT_EQ(128, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "environment: CEPH_TIMEOUT: 'soon' is not a whole number in 1..3600")) run_dump(&r);
	EXPECT_STREQ("", r.out);
	run_free(&r);
	free(cfg);
	free(missing);
	free(kconfig);
}

/* make rapido-list's lines, for each profile with a manifest. */
TEST_F(settings, list_profiles)
{
	char *const argv[] = { self->t.bin, "-s", self->t.dir, "--list-profiles",
			       NULL };
	struct run r;

	if (!self->t.dir)
		return;
	ASSERT_EQ(0, run(&r, argv));
	EXPECT_EQ(0, r.status) run_dump(&r);
	EXPECT_STREQ("other            (no description)\n"
		     "p                a test profile\n"
		     "                 vars SUITE DEPTH=3\n", r.out);
	run_free(&r);
}

/*
 * Through the driver on a built tree: make rapido-test with a misspelled
 * variable is refused (make exits 2, rapido said why and what it meant),
 * as is garbage in .rapido.config; both before anything is built.
 */
FIXTURE(driver) {
	const char *ktree;
	char *config, *backup;
};

FIXTURE_SETUP(driver)
{
	char why[256];

	self->ktree = built_ktree(why, sizeof(why));
	if (!self->ktree)
		SKIP(return, "%s", why);
	self->config = strf("%s/.rapido.config", self->ktree);
	self->backup = strf("%s/.rapido/test-rapido-config-backup",
			    self->ktree);
	ASSERT_EQ(0, restore_file(self->config, self->backup));
}

FIXTURE_TEARDOWN(driver)
{
	if (!self->ktree)
		return;
	EXPECT_EQ(0, restore_file(self->config, self->backup));
	free(self->config);
	free(self->backup);
}

TEST_F(driver, make_refuses_a_misspelled_variable)
{
	char *const argv[] = { "make", "-s", "rapido-test",
			       "PROFLE=nonexistent", "TIMOUT=5", NULL };
	struct run r;

	if (!self->ktree)
		return;
	ASSERT_EQ(0, run_in(&r, self->ktree, argv));
	EXPECT_EQ(2, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "unknown variable 'PROFLE', did you mean PROFILE?"))
		run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "unknown variable 'TIMOUT', did you mean TIMEOUT?"))
		run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "Error 128")) run_dump(&r);
	EXPECT_EQ(NULL, strstr(r.out, "PASS")) run_dump(&r);
	run_free(&r);
}

TEST_F(driver, runner_refuses_a_bad_value)
{
	char *const argv[] = { "scripts/rapido/rapido-test", "PROFILE=simple",
			       "MEM=abc", NULL };
	struct run r;

	if (!self->ktree)
		return;
	ASSERT_EQ(0, run_in(&r, self->ktree, argv));
	EXPECT_EQ(128, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "command line: MEM: 'abc' is not a size in MiB"))
		run_dump(&r);
	run_free(&r);
}

/* make rapido-help lists every variable of the table (N had drifted). */
TEST_F(driver, help_lists_the_tables_variables)
{
	char *const help[] = { "make", "-s", "rapido-help", NULL };
	char *const names[] = { (char *)rapido_bin("rapido-settings"),
				"--names", NULL };
	struct run h, n;
	char *save = NULL;

	if (!self->ktree)
		return;
	ASSERT_EQ(0, run_in(&h, self->ktree, help));
	EXPECT_EQ(0, h.status) run_dump(&h);
	ASSERT_EQ(0, run(&n, names));
	ASSERT_EQ(0, n.status) run_dump(&n);
	EXPECT_TRUE(strstr(n.out, " N ") || strstr(n.out, " N\n"))
		TH_LOG("%s", n.out);
	for (char *w = strtok_r(n.out, "\n ", &save); w;
	     w = strtok_r(NULL, "\n ", &save)) {
		char *want = strf(" %s=", w);

		EXPECT_NE(NULL, strstr(h.out, want)) TH_LOG("%s", h.out);
		free(want);
	}
	run_free(&h);
	run_free(&n);
}

/* Issue 8 item 12: a profile's MEM=abc was a bash error, then a pass. */
TEST_F(driver, profile_garbage_is_refused)
{
	char *const argv[] = { "scripts/rapido/rapido-test",
			       "PROFILE=settings-test-bad", NULL };
	char *dir;
	struct run r;

	if (!self->ktree)
		return;
	dir = strf("%s/%s/settings-test-bad", self->ktree, PROFILES);
	ASSERT_EQ(0, mkdir(dir, 0755));
	put_file(dir, "manifest", 0644, "");
	put_file(dir, "settings", 0644, "MEM=abc\nCPUS=abc\n");
	ASSERT_EQ(0, run_in(&r, self->ktree, argv));
	EXPECT_EQ(0, rm_rf(dir));
	EXPECT_EQ(128, r.status) run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "settings:1: MEM: 'abc' is not a size in MiB"))
		run_dump(&r);
	EXPECT_NE(NULL, strstr(r.err, "settings:2: CPUS: 'abc' is not a whole number"))
		run_dump(&r);
	run_free(&r);
	free(dir);
}

TEST_F(driver, garbage_rapido_config_is_refused)
{
	char *const argv[] = { "scripts/rapido/rapido-test", "PROFILE=simple",
			       NULL };
	char garbage[1024], *want;
	struct run r;

	if (!self->ktree)
		return;
	for (size_t i = 0; i < sizeof(garbage); i++)
		garbage[i] = (char)(i * 7919 + 13);
	ASSERT_EQ(0, copy_with_times(self->config, self->backup));
	ASSERT_EQ(0, write_whole(self->config, garbage, sizeof(garbage)));
	ASSERT_EQ(0, run_in(&r, self->ktree, argv));
	EXPECT_EQ(128, r.status) run_dump(&r);
	want = strf("%s:1: ", self->config);
	EXPECT_NE(NULL, strstr(r.err, want)) run_dump(&r);
	free(want);
	run_free(&r);
}

TEST_HARNESS_MAIN
