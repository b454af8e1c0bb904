// SPDX-License-Identifier: GPL-2.0
/*
 * vm-opts.c - rapido-vm's command line: the tables of modes, machines and
 * accelerators, the options and their checks (see rapido-vm.c).
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vm.h"
const struct mode mode_table[2] = {
	{ .name = "test", .chardev = "stdio", .batch = true },
	{ .name = "boot", .chardev = "stdio,mux=on,signal=off",
	  .monitor = true },
};

/*
 * microvm: its ACPI tables describe the virtio-mmio devices, which a kernel
 * without CONFIG_ACPI cannot read; with acpi=off QEMU puts them on the
 * kernel command line instead (virtio_mmio.device=...). Its PIT, PIC and
 * RTC stay on: without the PIT the guest hangs, without the RTC the boot
 * takes three times longer.
 */
const struct machine machine_table[3] = {
	{ .name = "microvm", .opts = ",acpi=off",
	  .vserial = "virtio-serial-device", .virtio = "device" },
	{ .name = "pc", .opts = "", .vserial = "virtio-serial-pci",
	  .virtio = "pci" },
	{ .name = "q35", .opts = "", .vserial = "virtio-serial-pci",
	  .virtio = "pci" },
};


/*
 * @cmdline: kernel words for this accelerator. Under TCG the local APIC
 * timer is calibrated against the PIT and then verified, 2 x 100 ms of
 * jiffies that take ~220 ms of a ~0.5 s boot; with nolapic_timer the PIT
 * (and broadcast, with several CPUs) drives the tick instead. KVM offers
 * the TSC deadline timer, which needs no calibration.
 */
const struct accel accel_table[3] = {
	{ .name = "auto", .probe = true },
	{ .name = "kvm", .cmdline = "" },
	{ .name = "tcg", .cmdline = " nolapic_timer" },
};

/* Every table above starts with a name; find the entry called @key. */
const void *lookup(const void *table, size_t n, size_t size, const char *key)
{
	for (size_t i = 0; i < n; i++) {
		const char *const *name = (const void *)((const char *)table +
							 i * size);

		if (!strcmp(*name, key))
			return name;
	}
	return NULL;
}

static int parse_ulong(const char *opt, const char *s, unsigned long min,
		       unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!isdigit((unsigned char)*s) || *end || errno || v < min ||
	    v > max) {
		error("'%s': '%s' is not a whole number in %lu..%lu", opt, s,
		      min, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static void bad_choice(const char *opt, const char *val, const char *choices)
{
	error("'%s': '%s' is not one of: %s", opt, val, choices);
}

/* SIZE: bytes with an optional K, M, G or T; 0 or -EINVAL. */
static int parse_size(const char *s, unsigned long long *size)
{
	static const char units[] = "KMGT";
	unsigned long long v;
	const char *u;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	u = *end ? strchr(units, *end) : NULL;
	if (!isdigit((unsigned char)*s) || errno || (*end && (!u || end[1])))
		return -EINVAL;
	if (u) {
		if (v >> (64 - 10 * (u - units + 1)))
			return -EINVAL;
		v <<= 10 * (u - units + 1);
	}
	*size = v;
	return 0;
}

/* --file NAME:SIZE; NAME is a plain file name, SIZE bytes[K|M|G|T]. */
int parse_file_opt(const char *s, unsigned long long *size)
{
	const char *colon = strrchr(s, ':');
	unsigned long long v;

	if (!colon || colon == s || memchr(s, '/', colon - s) || *s == '.') {
		error("'%s': --file wants NAME:SIZE with NAME a plain file name (e.g. disk.img:1G)",
		      s);
		return -EINVAL;
	}
	if (parse_size(colon + 1, &v) || !v) {
		error("'%s': --file SIZE is not a positive number with an optional K, M, G or T",
		      s);
		return -EINVAL;
	}
	if (size)
		*size = v;
	return 0;
}

/* A QEMU option value or a kernel word: no blank, comma or quote. */
bool valid_word(const char *s)
{
	return *s && !s[strcspn(s, " \t\n\"'=")];
}

bool valid_mac(const char *s)
{
	unsigned int b[6];
	int n = -1;

	return strlen(s) == 17 &&
	       sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &b[0], &b[1], &b[2],
		      &b[3], &b[4], &b[5], &n) == 6 && n == 17 && !(b[0] & 1);
}

/* --nic tap=TAP,mac=MAC: both, each once (copies in *@tap, *@mac). */
static void parse_nic(const char *arg, const char **tap, const char **mac)
{
	char *copy = xstrdup(arg), *save, *kv;
	bool ok = true;

	*tap = *mac = NULL;
	for (kv = strtok_r(copy, ",", &save); kv && ok;
	     kv = strtok_r(NULL, ",", &save)) {
		const char *v = kv + 4;

		if (!strncmp(kv, "tap=", 4) && !*tap && *v &&
		    strlen(v) < IF_NAMESIZE && valid_word(v) && !strchr(v, '/'))
			*tap = v;
		else if (!strncmp(kv, "mac=", 4) && !*mac && valid_mac(v))
			*mac = v;
		else
			ok = false;
	}
	if (!ok || !*tap || !*mac) {
		bad_choice("--nic", arg,
			   "tap=TAP,mac=52:54:00:xx:xx:xx (a tap name of up to 15 characters, a unicast MAC)");
		*tap = *mac = NULL;
		free(copy);
		return;
	}
	/* both point into copy, which stays allocated for the run */
}

enum {
	OPT_KERNEL = 256, OPT_INITRD, OPT_DIR, OPT_MODE, OPT_MEM, OPT_CPUS,
	OPT_TIMEOUT, OPT_ACCEL, OPT_MACHINE, OPT_QEMU, OPT_APPEND, OPT_VM,
	OPT_PRINT_ARGV, OPT_CHECK, OPT_QUIET, OPT_RESULTS, OPT_HELP,
	OPT_CONTROL, OPT_FILE, OPT_LOG_LIMIT, OPT_NETNS, OPT_NIC,
	OPT_GUEST_NET, OPT_LAB, OPT_VMS, OPT_HOOK_START, OPT_HOOK_STOP,
	OPT_ATTACH, OPT_ALLOW_WARN, OPT_ALLOW_WARN_FROM,
};

static const struct option long_opts[] = {
	{ .name = "kernel", .has_arg = 1, .val = OPT_KERNEL },
	{ .name = "initrd", .has_arg = 1, .val = OPT_INITRD },
	{ .name = "dir", .has_arg = 1, .val = OPT_DIR },
	{ .name = "mode", .has_arg = 1, .val = OPT_MODE },
	{ .name = "mem", .has_arg = 1, .val = OPT_MEM },
	{ .name = "cpus", .has_arg = 1, .val = OPT_CPUS },
	{ .name = "timeout", .has_arg = 1, .val = OPT_TIMEOUT },
	{ .name = "accel", .has_arg = 1, .val = OPT_ACCEL },
	{ .name = "machine", .has_arg = 1, .val = OPT_MACHINE },
	{ .name = "qemu", .has_arg = 1, .val = OPT_QEMU },
	{ .name = "append", .has_arg = 1, .val = OPT_APPEND },
	{ .name = "vm", .has_arg = 1, .val = OPT_VM },
	{ .name = "print-argv", .val = OPT_PRINT_ARGV },
	{ .name = "check", .has_arg = 1, .val = OPT_CHECK },
	{ .name = "quiet", .val = OPT_QUIET },
	{ .name = "results", .has_arg = 1, .val = OPT_RESULTS },
	{ .name = "help", .val = OPT_HELP },
	{ .name = "control", .val = OPT_CONTROL },
	{ .name = "file", .has_arg = 1, .val = OPT_FILE },
	{ .name = "log-limit", .has_arg = 1, .val = OPT_LOG_LIMIT },
	{ .name = "netns", .has_arg = 1, .val = OPT_NETNS },
	{ .name = "nic", .has_arg = 1, .val = OPT_NIC },
	{ .name = "guest-net", .has_arg = 1, .val = OPT_GUEST_NET },
	{ .name = "lab", .has_arg = 1, .val = OPT_LAB },
	{ .name = "vms", .has_arg = 1, .val = OPT_VMS },
	{ .name = "hook-start", .has_arg = 1, .val = OPT_HOOK_START },
	{ .name = "hook-stop", .has_arg = 1, .val = OPT_HOOK_STOP },
	{ .name = "attach", .has_arg = 1, .val = OPT_ATTACH },
	{ .name = "allow-warn", .val = OPT_ALLOW_WARN },
	{ .name = "allow-warn-from", .has_arg = 1, .val = OPT_ALLOW_WARN_FROM },
	{ 0 }
};

static void show_help(FILE *f)
{
	fprintf(f,
		"usage: %s --kernel FILE --initrd FILE --dir DIR [options] [-- QEMU-ARGS...]\n"
		"       %s --check DIR/vm<N>\n"
		"       %s --attach DIR/vm<N>   (boot mode: vm2's console and on)\n"
		"  --mode test|boot           batch run (default) or interactive\n"
		"  --mem MIB                  guest memory (default 512)\n"
		"  --cpus N                   guest CPUs (default 1)\n"
		"  --timeout SEC              test mode deadline, 0: none (default 300)\n"
		"  --accel auto|kvm|tcg       (default auto: KVM if it boots, else TCG)\n"
		"  --machine microvm|pc|q35   (default microvm)\n"
		"  --qemu PATH                (default qemu-system-x86_64)\n"
		"  --append STR               extra kernel command-line words\n"
		"  --vm N                     vm number (default: first free of 1..64)\n"
		"  --vms N                    N VMs in one run (vm numbers upward; default 1)\n"
		"  --results FILE             also write the verdict as TAP to FILE\n"
		"  --print-argv               print the QEMU argv and exit\n"
		"  --check DIR/vm<N>          judge a finished run's console.log and status\n"
		"  --quiet                    test mode: don't echo the console\n"
		"  --control                  serve the guest's QMP requests (rapido.control)\n"
		"  --file NAME:SIZE           sparse file DIR/vm<N>/NAME (SIZE[K|M|G|T]) for ${VMDIR}\n"
		"  --log-limit SIZE           console.log keeps the first and last SIZE/2\n"
		"                             (SIZE[K|M|G], 0: all; default 16M)\n"
		"  --netns NAME               run QEMU in network namespace /run/netns/NAME\n"
		"  --nic tap=TAP,mac=MAC      a virtio-net NIC on the existing tap TAP\n"
		"  --guest-net ADDR/PREFIX,GATEWAY,HOSTNAME\n"
		"                             the guest's address (rapido.net= for rapido-init)\n"
		"  --lab PROG                 the four above from `PROG nic N` (services/lab)\n"
		"  --hook-start CMD           host-side command (sh -c) before the VMs start\n"
		"  --hook-stop CMD            ... and after they end, on every exit path\n"
		"  --allow-warn               kernel reports (WARN, oops, ...) do not fail the run\n"
		"                             (still named, with their console lines)\n"
		"  --allow-warn-from FILE     ... only those whose first line matches one of\n"
		"                             FILE's patterns (POSIX EREs, one a line)\n"
		"exit: 0 pass, 1 fail, 128 cannot run\n", prog, prog, prog);
}

/* Returns 0, 1 for --help, or -EINVAL after reporting every bad option. */
int parse_opts(struct opts *o, int argc, char **argv)
{
	int c;

	*o = (struct opts) {
		.qemu = "qemu-system-x86_64",
		.append = "",
		.mode = &mode_table[0],
		.machine = &machine_table[0],
		.accel = &accel_table[0],
		.mem = 512,
		.cpus = 1,
		.timeout = 300,
		.log_limit = LOG_LIMIT,
		.vms = 1,
	};
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:", long_opts, NULL)) != -1) {
		const char *opt = argv[optind - 1];

		switch (c) {
		case OPT_KERNEL:
			o->kernel = optarg;
			break;
		case OPT_INITRD:
			o->initrd = optarg;
			break;
		case OPT_DIR:
			o->dir = optarg;
			break;
		case OPT_QEMU:
			o->qemu = optarg;
			break;
		case OPT_APPEND:
			o->append = optarg;
			break;
		case OPT_CHECK:
			o->check = optarg;
			break;
		case OPT_RESULTS:
			o->results = optarg;
			break;
		case OPT_MODE:
			o->mode = LOOKUP(mode_table, optarg);
			if (!o->mode)
				bad_choice("--mode", optarg, "test, boot");
			break;
		case OPT_MACHINE:
			o->machine = LOOKUP(machine_table, optarg);
			if (!o->machine)
				bad_choice("--machine", optarg,
					   "microvm, pc, q35");
			break;
		case OPT_ACCEL:
			o->accel = LOOKUP(accel_table, optarg);
			if (!o->accel)
				bad_choice("--accel", optarg, "auto, kvm, tcg");
			break;
		case OPT_MEM:
			parse_ulong("--mem", optarg, 16, 1UL << 20, &o->mem);
			break;
		case OPT_CPUS:
			parse_ulong("--cpus", optarg, 1, 255, &o->cpus);
			break;
		case OPT_TIMEOUT:
			parse_ulong("--timeout", optarg, 0, 1UL << 30,
				    &o->timeout);
			break;
		case OPT_VM:
			parse_ulong("--vm", optarg, 1, VM_MAX, &o->vm);
			break;
		case OPT_PRINT_ARGV:
			o->print_argv = true;
			break;
		case OPT_QUIET:
			o->quiet = true;
			break;
		case OPT_CONTROL:
			o->control = true;
			break;
		case OPT_FILE:
			if (o->nfiles == FILES_MAX)
				error("'--file': too many files (at most %d)",
				      FILES_MAX);
			else if (!parse_file_opt(optarg, NULL))
				o->files[o->nfiles++] = optarg;
			break;
		case OPT_LOG_LIMIT:
			if (parse_size(optarg, &o->log_limit) ||
			    (o->log_limit && o->log_limit < 4096))
				bad_choice("--log-limit", optarg,
					   "0 or a size of at least 4K (e.g. 16M)");
			break;
		case OPT_NETNS:
			if (!*optarg || strchr(optarg, '/') || *optarg == '.')
				bad_choice("--netns", optarg,
					   "a name in /run/netns");
			o->netns = optarg;
			break;
		case OPT_NIC:
			parse_nic(optarg, &o->tap, &o->mac);
			break;
		case OPT_GUEST_NET:
			if (!valid_word(optarg))
				bad_choice("--guest-net", optarg,
					   "ADDR/PREFIX,GATEWAY,HOSTNAME");
			o->guest_net = optarg;
			break;
		case OPT_LAB:
			o->lab = optarg;
			break;
		case OPT_VMS:
			parse_ulong("--vms", optarg, 1, VM_MAX, &o->vms);
			break;
		case OPT_HOOK_START:
			o->hook_start = optarg;
			break;
		case OPT_HOOK_STOP:
			o->hook_stop = optarg;
			break;
		case OPT_ATTACH:
			o->attach = optarg;
			break;
		case OPT_ALLOW_WARN:
			judge_allow_warn = true;
			break;
		case OPT_ALLOW_WARN_FROM:
			judge_allow_file(optarg);	/* reports its errors */
			break;
		case OPT_HELP:
			show_help(stdout);
			return 1;
		case ':':
			error("'%s': option needs a value", opt);
			break;
		default:
			error("'%s': unknown option: see rapido-vm --help",
			      opt);
			break;
		}
	}
	o->extra = argv + optind;
	o->nextra = argc - optind;
	if (o->nextra && strcmp(argv[optind - 1], "--")) {
		error("'%s': unexpected argument: QEMU arguments go after --",
		      argv[optind]);
	}
	if (o->lab && (o->netns || o->tap || o->guest_net))
		error("'--lab': gives the NIC itself: drop --netns, --nic and --guest-net");
	if (o->guest_net && !o->tap)
		error("'--guest-net': needs a NIC: add --nic (or --lab)");
	if (o->vms > 1 && o->tap)
		error("'--nic': one tap cannot serve %lu VMs: use --lab", o->vms);
	if (o->vm && o->vm + o->vms - 1 > VM_MAX)
		error("'--vms': vm%lu and %lu more go past vm%d", o->vm,
		      o->vms - 1, VM_MAX);
	if (nerrors || o->check || o->attach)
		return nerrors ? -EINVAL : 0;
	if (!o->kernel)
		error("'--kernel': missing: give the bzImage to boot");
	if (!o->initrd)
		error("'--initrd': missing: give the initramfs to boot");
	if (!o->dir)
		error("'--dir': missing: give rapido's private directory");
	return nerrors ? -EINVAL : 0;
}

int check_input(const char *path)
{
	struct stat st;

	if (stat(path, &st) || access(path, R_OK)) {
		error_errno(errno, "cannot read '%s'", path);
		return -errno;
	}
	if (!S_ISREG(st.st_mode)) {
		error("'%s': not a regular file", path);
		return -EINVAL;
	}
	return 0;
}
