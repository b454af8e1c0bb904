// SPDX-License-Identifier: GPL-2.0
/*
 * rapido-vm - boot one VM under QEMU, judge the run, exit with the verdict
 *
 *   rapido-vm --kernel FILE --initrd FILE --dir DIR [options]
 *             [-- EXTRA-QEMU-ARGS...]
 *   rapido-vm --check DIR/vm<N>
 *
 * The guest reports "<stage> <code>" lines and a final "result <code>" on
 * the virtio-serial port rapido.status (host side: DIR/vm<N>/status); the
 * kernel's own failure reports (panic, oops, BUG, WARN, KASAN, ...) are
 * found on the serial console, which QEMU writes to its stdout, a pipe:
 * rapido-vm judges it line by line as it streams, passes it on to the
 * terminal and keeps it in DIR/vm<N>/console.log (capped by --log-limit;
 * a log that cannot be written stops the run, exit 128). Both must be
 * clean for a pass. The kernel's power-off line ends QEMU at once (microvm
 * has no power-off device); a guest that never started rapido-init is
 * exit 128, not a test result.
 *
 * rapido-vm dies with its parent (PR_SET_PDEATHSIG), QEMU with rapido-vm;
 * nothing under DIR is opened through a symlink.
 *
 * With --control the guest may also ask for QMP commands on a second port,
 * rapido.control (host side: a unix socket DIR/vm<N>/control.sock that
 * rapido-vm listens on and QEMU connects to): one request per line, either
 * a QMP command as a JSON object, passed on verbatim, or a named action
 * from action_table ("drive_del hda"). rapido-vm runs it on the QMP socket
 * and writes QEMU's reply line back ({"return": ...} or {"error": ...});
 * DIR/vm<N>/control.log keeps both. Extra QEMU arguments may name
 * ${VMDIR} (DIR/vm<N>) and ${VIRTIO} (the virtio transport suffix of the
 * machine: device or pci); --file NAME:SIZE makes a sparse DIR/vm<N>/NAME
 * before QEMU starts.
 *
 * A VM with a lab NIC: --netns NAME runs QEMU (only QEMU: setns(2) in its
 * child before the exec) in the network namespace /run/netns/NAME, and
 * --nic tap=TAP,mac=MAC adds a virtio-net NIC on the existing tap TAP
 * there (-netdev tap,script=no; -nodefaults stays: no other NIC), with
 * --guest-net ADDR/PREFIX,GATEWAY,HOSTNAME for rapido-init (rapido.net=
 * on the kernel command line; addresses only). --lab PROG gives all four
 * for the vm number taken: rapido-vm runs `PROG nic N` once it holds
 * vm<N> (so two runs never share a tap) and reads netns=, tap=, mac=,
 * net= lines from its stdout (services/lab).
 *
 * Exit: 0 pass; 1 fail; 128 rapido-vm itself cannot run; 128 + signal when
 * interrupted.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sched.h>
#include <net/if.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#define PROG		"rapido-vm"
#define EXIT_PASS	0
#define EXIT_FAIL	1
#define EXIT_RAPIDO	128
#define VM_MAX		64
#define PROBE_MS	3000	/* KVM must show a console byte by then */
#define KVM_SILENT_MS	30000	/* ... when asked for: then it hangs */
#define KILL_GRACE_MS	3000	/* SIGTERM, then SIGKILL */
#define EVENTS_SHOWN	3	/* kernel failure reports printed */
#define EVENT_LINES	40	/* lines printed per report, at most */
#define TAIL_LINES	20	/* console tail when no result came */
#define REASON_MAX	120
#define CONTROL_MAX	4096	/* one control request or reply line */
#define QMP_MS		30000	/* one QMP exchange, at most */
#define FILES_MAX	16	/* --file */
#define LINE_KEEP	1024	/* bytes of a console line judged */
#define LOG_LIMIT	(16ULL << 20)	/* console.log, default */

/*
 * rapido-init's first console line: a guest that never printed it never
 * got to user space (the same string is in rapido-init.c).
 */
#define INIT_STARTED	"rapido-init: started"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* test: batch run with a deadline; boot: interactive, monitor on Ctrl-a c */
struct mode {
	const char *name;
	const char *chardev;	/* -chardev backend options before id= */
	bool monitor;		/* -mon on the console chardev */
	bool batch;		/* stdin from /dev/null, timeout, own pgrp */
};

static const struct mode mode_table[] = {
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
struct machine {
	const char *name;
	const char *opts;	/* appended to -M <name>,accel=<a> */
	const char *vserial;	/* virtio-serial controller device */
	const char *virtio;	/* ${VIRTIO}: virtio-<x>-${VIRTIO} devices */
};

static const struct machine machine_table[] = {
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
/*
 * The kernel command line of every VM, before the accelerator's words,
 * rapido's and the user's (APPEND, which can undo any of these):
 * no_timer_check skips the IO-APIC timer test (~30 ms of busy-waited
 * ticks under TCG) and pty.legacy_count=0 the 256 BSD pty pairs of
 * CONFIG_LEGACY_PTYS (~65 ms of device creation), which nothing uses.
 */
#define CMDLINE "console=ttyS0 panic=-1 reboot=t no_timer_check " \
		"pty.legacy_count=0"

struct accel {
	const char *name;
	bool probe;		/* decide between kvm and tcg at run time */
	const char *cmdline;
};

static const struct accel accel_table[] = {
	{ .name = "auto", .probe = true },
	{ .name = "kvm", .cmdline = "" },
	{ .name = "tcg", .cmdline = " nolapic_timer" },
};

struct opts {
	const char *kernel;
	const char *initrd;
	const char *dir;
	const char *qemu;
	const char *append;
	const char *check;
	const char *results;
	const struct mode *mode;
	const struct machine *machine;
	const struct accel *accel;
	unsigned long mem;
	unsigned long cpus;
	unsigned long timeout;	/* seconds; 0: none */
	unsigned long vm;	/* 0: first free */
	unsigned long long log_limit;	/* console.log bytes, 0: none */
	bool print_argv;
	bool quiet;
	bool control;		/* the rapido.control port */
	char **extra;
	int nextra;
	const char *files[FILES_MAX];	/* --file NAME:SIZE */
	int nfiles;
	const char *netns;	/* --netns */
	const char *tap;	/* --nic tap= */
	const char *mac;	/* --nic mac= */
	const char *guest_net;	/* --guest-net */
	const char *lab;	/* --lab PROG */
};

struct vm {
	unsigned int num;
	int lock_fd;
	int top_fd;		/* DIR */
	int dfd;		/* DIR/vm<N>, -1 until made afresh */
	char *dir;		/* DIR/vm<N> */
	char *console;
	char *status;
	char *qmp;
	char *qemu_err;		/* QEMU's stderr */
	char *control;		/* control.sock */
	char *control_log;
	/* the lab NIC (from --nic, --netns, --guest-net or --lab), or NULL */
	char *netns, *tap, *mac, *guest_net;
	int netns_fd;		/* /run/netns/<netns>, or -1 */
};

struct args {
	char **v;
	size_t n;
	size_t cap;
};

enum run_end {
	RUN_EXITED,		/* QEMU exited; wstatus valid */
	RUN_TIMEOUT,		/* we killed it at the deadline */
	RUN_SILENT,		/* KVM: no console byte in time */
	RUN_SIGNAL,		/* we were told to stop; signo valid */
	RUN_POWEROFF,		/* the guest powered off: we ended QEMU */
	RUN_LOGFAIL,		/* the console log cannot be written */
};

struct run {
	enum run_end end;
	int wstatus;
	int signo;
	bool console_seen;
};

/* What the judge is told about the run (NULL for --check). */
struct outcome {
	const struct run *run;
	unsigned long timeout;
	const char *accel;
	unsigned long mem;
	double secs;
};

/* A kernel failure report: its lines, from a "cut here" line if any. */
struct report {
	char **lines;
	size_t n;
	size_t marker;		/* index of the marker line */
	size_t start;		/* console line number of lines[0] */
	bool confirmed;		/* a loose marker needs a stack dump */
};

/* What the judge keeps of the console stream. */
struct judge {
	char line[LINE_KEEP + 1];	/* the line being read */
	size_t len;
	unsigned long long bytes;
	size_t lines;
	char **tail;		/* the last TAIL_LINES lines, a ring */
	struct report cur;	/* being collected */
	struct report shown[EVENTS_SHOWN];
	size_t events;
	char first[REASON_MAX + 1];	/* the first report's marker line */
	bool init_seen;		/* rapido-init said it started */
	const char *poweroff;	/* the kernel's power-off line, if seen */
};

struct stage {
	char name[32];
	long code;
};

struct verdict {
	char reason[REASON_MAX + 64];
	bool fail;
};

static int nerrors;
static bool allow_warn;	/* --allow-warn: kernel reports do not fail */

static void error(const char *subject, const char *what, int err)
{
	if (err)
		fprintf(stderr, "%s: '%s': %s: %s\n", PROG, subject, what,
			strerror(err));
	else
		fprintf(stderr, "%s: '%s': %s\n", PROG, subject, what);
	nerrors++;
}

static void fatal_oom(void)
{
	fprintf(stderr, "%s: out of memory\n", PROG);
	exit(EXIT_RAPIDO);
}

static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		fatal_oom();
	return s;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* "vm1" for "DIR/vm1" or "DIR/vm1/" */
static char *vm_label(const char *vmdir)
{
	size_t len = strlen(vmdir);
	const char *s;

	while (len > 1 && vmdir[len - 1] == '/')
		len--;
	for (s = vmdir + len; s > vmdir && s[-1] != '/'; s--)
		;
	return xasprintf("%.*s", (int)(vmdir + len - s), s);
}

/* ---- options ---- */

#define LOOKUP(table, key) lookup(table, ARRAY_SIZE(table), sizeof(table[0]), \
				  key)

/* Every table above starts with a name; find the entry called @key. */
static const void *lookup(const void *table, size_t n, size_t size,
			  const char *key)
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
		char *what = xasprintf("'%s' is not a whole number in %lu..%lu",
				       s, min, max);

		error(opt, what, 0);
		free(what);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static void bad_choice(const char *opt, const char *val, const char *choices)
{
	char *what = xasprintf("'%s' is not one of: %s", val, choices);

	error(opt, what, 0);
	free(what);
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
static int parse_file_opt(const char *s, unsigned long long *size)
{
	const char *colon = strrchr(s, ':');
	unsigned long long v;

	if (!colon || colon == s || memchr(s, '/', colon - s) || *s == '.') {
		error(s, "--file wants NAME:SIZE with NAME a plain file name (e.g. disk.img:1G)",
		      0);
		return -EINVAL;
	}
	if (parse_size(colon + 1, &v) || !v) {
		error(s, "--file SIZE is not a positive number with an optional K, M, G or T",
		      0);
		return -EINVAL;
	}
	if (size)
		*size = v;
	return 0;
}

/* A QEMU option value or a kernel word: no blank, comma or quote. */
static bool valid_word(const char *s)
{
	return *s && !s[strcspn(s, " \t\n\"'=")];
}

static bool valid_mac(const char *s)
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
	char *copy = strdup(arg), *save, *kv;
	bool ok = true;

	if (!copy)
		fatal_oom();
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
	OPT_GUEST_NET, OPT_LAB, OPT_ALLOW_WARN,
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
	{ .name = "allow-warn", .val = OPT_ALLOW_WARN },
	{ 0 }
};

static void show_help(FILE *f)
{
	fprintf(f,
		"usage: %s --kernel FILE --initrd FILE --dir DIR [options] [-- QEMU-ARGS...]\n"
		"       %s --check DIR/vm<N>\n"
		"  --mode test|boot           batch run (default) or interactive\n"
		"  --mem MIB                  guest memory (default 512)\n"
		"  --cpus N                   guest CPUs (default 1)\n"
		"  --timeout SEC              test mode deadline, 0: none (default 300)\n"
		"  --accel auto|kvm|tcg       (default auto: KVM if it boots, else TCG)\n"
		"  --machine microvm|pc|q35   (default microvm)\n"
		"  --qemu PATH                (default qemu-system-x86_64)\n"
		"  --append STR               extra kernel command-line words\n"
		"  --vm N                     vm number (default: first free of 1..64)\n"
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
		"  --allow-warn               kernel reports (WARN, oops, ...) do not fail the run\n"
		"                             (still named, with their console lines)\n"
		"exit: 0 pass, 1 fail, 128 cannot run\n", PROG, PROG);
}

/* Returns 0, 1 for --help, or -EINVAL after reporting every bad option. */
static int parse_opts(struct opts *o, int argc, char **argv)
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
				error("--file", "too many files (at most 16)",
				      0);
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
		case OPT_ALLOW_WARN:
			allow_warn = true;
			break;
		case OPT_HELP:
			show_help(stdout);
			return 1;
		case ':':
			error(opt, "option needs a value", 0);
			break;
		default:
			error(opt, "unknown option: see rapido-vm --help", 0);
			break;
		}
	}
	o->extra = argv + optind;
	o->nextra = argc - optind;
	if (o->nextra && strcmp(argv[optind - 1], "--")) {
		error(argv[optind], "unexpected argument: QEMU arguments go after --",
		      0);
	}
	if (o->lab && (o->netns || o->tap || o->guest_net))
		error("--lab", "gives the NIC itself: drop --netns, --nic and --guest-net",
		      0);
	if (o->guest_net && !o->tap)
		error("--guest-net", "needs a NIC: add --nic (or --lab)", 0);
	if (nerrors || o->check)
		return nerrors ? -EINVAL : 0;
	if (!o->kernel)
		error("--kernel", "missing: give the bzImage to boot", 0);
	if (!o->initrd)
		error("--initrd", "missing: give the initramfs to boot", 0);
	if (!o->dir)
		error("--dir", "missing: give rapido's private directory", 0);
	return nerrors ? -EINVAL : 0;
}

static int check_input(const char *path)
{
	struct stat st;

	if (stat(path, &st) || access(path, R_OK)) {
		error(path, "cannot read", errno);
		return -errno;
	}
	if (!S_ISREG(st.st_mode)) {
		error(path, "not a regular file", 0);
		return -EINVAL;
	}
	return 0;
}

/* ---- files ---- */

static int mkdir_p(const char *dir)
{
	char *p = xasprintf("%s", dir);
	int ret = 0;

	for (char *s = p + 1; ; s++) {
		char c = *s;

		if (c != '/' && c)
			continue;
		*s = '\0';
		if (mkdir(p, 0755) && errno != EEXIST) {
			ret = -errno;
			error(p, "cannot create directory", errno);
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
	return ret;
}

/* Read a whole file (not through a symlink); *len excludes the NUL. */
static int read_file(const char *path, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	size_t cap = 65536, n = 0;
	char *b;

	if (fd < 0)
		return -errno;
	b = malloc(cap + 1);
	if (!b)
		fatal_oom();
	for (;;) {
		ssize_t r;

		if (n == cap) {
			cap *= 2;
			b = realloc(b, cap + 1);
			if (!b)
				fatal_oom();
		}
		r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int err = -errno;

			free(b);
			close(fd);
			return err;
		}
		if (!r)
			break;
		n += r;
	}
	close(fd);
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

/*
 * Write @text to @path through @path.tmp and rename(), which replaces a
 * symlink at @path rather than following it; a symlink at @path.tmp is
 * refused.
 */
static int write_atomic(const char *path, const char *text)
{
	char *tmp = xasprintf("%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
		      O_CLOEXEC, 0644);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
	int ret = 0;

	if (!f) {
		if (fd >= 0)
			close(fd);
		ret = -errno;
		error(tmp, "cannot create", errno);
		goto out;
	}
	fputs(text, f);
	if (ferror(f) | fclose(f)) {
		ret = errno ? -errno : -EIO;
		error(tmp, "cannot write", -ret);
	} else if (rename(tmp, path)) {
		ret = -errno;
		error(path, "cannot rename the .tmp file to", errno);
	}
	if (ret)
		unlink(tmp);
out:
	free(tmp);
	return ret;
}

/* ---- vm number and directory ---- */

static int vm_lock(const struct opts *o, struct vm *vm)
{
	unsigned int first = o->vm ? o->vm : 1;
	unsigned int last = o->vm ? o->vm : VM_MAX;

	vm->top_fd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (vm->top_fd < 0) {
		error(o->dir, "cannot open directory", errno);
		return -errno;
	}
	for (unsigned int n = first; n <= last; n++) {
		char *path = xasprintf("%s/vm%u.lock", o->dir, n);
		char *name = strrchr(path, '/') + 1;
		int fd = openat(vm->top_fd, name, O_RDWR | O_CREAT | O_NOFOLLOW |
				O_CLOEXEC, 0644);
		int err;

		if (fd < 0) {
			err = errno;
			error(path, err == ELOOP ?
			      "cannot open lock file: a symbolic link, not rapido's file (remove it)" :
			      "cannot open lock file", err == ELOOP ? 0 : err);
			free(path);
			return -err;
		}
		if (!flock(fd, LOCK_EX | LOCK_NB)) {
			free(path);
			vm->num = n;
			vm->lock_fd = fd;
			vm->dir = xasprintf("%s/vm%u", o->dir, n);
			vm->console = xasprintf("%s/console.log", vm->dir);
			vm->status = xasprintf("%s/status", vm->dir);
			vm->qmp = xasprintf("%s/qmp.sock", vm->dir);
			vm->qemu_err = xasprintf("%s/qemu.err", vm->dir);
			vm->control = xasprintf("%s/control.sock", vm->dir);
			vm->control_log = xasprintf("%s/control.log", vm->dir);
			return 0;
		}
		err = errno;
		close(fd);
		if (err != EWOULDBLOCK) {
			error(path, "cannot lock", err);
			free(path);
			return -err;
		}
		if (o->vm)
			error(path,
			      "this vm number is in use by another rapido-vm: drop --vm or pick another",
			      0);
		free(path);
	}
	if (!o->vm)
		error(o->dir,
		      "all vm numbers 1..64 are in use: wait for a VM to end",
		      0);
	return -EBUSY;
}

/* ---- the lab NIC ---- */

static void describe_wstatus(int st, char *buf, size_t len)
{
	if (WIFEXITED(st))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "was killed by signal %d (%s)",
			 WTERMSIG(st), strsignal(WTERMSIG(st)));
	else
		snprintf(buf, len, "ended with wait status 0x%x", st);
}


/*
 * --lab PROG: run `PROG nic N` (stdin /dev/null, stderr ours) and take
 * its netns=, tap=, mac=, net= lines. Returns 0 or -errno (reported).
 */
static int lab_nic(const struct opts *o, struct vm *vm)
{
	char num[16], buf[2048], *line, *save;
	char *const argv[] = { (char *)o->lab, "nic", num, NULL };
	size_t have = 0;
	int pfd[2], st;
	ssize_t n;
	pid_t pid;

	snprintf(num, sizeof(num), "%u", vm->num);
	if (pipe2(pfd, O_CLOEXEC)) {
		error("pipe", "cannot create", errno);
		return -errno;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		error(o->lab, "cannot fork", errno);
		return -errno;
	}
	if (!pid) {
		int in = open("/dev/null", O_RDONLY);

		if (in < 0 || dup2(in, 0) < 0 || dup2(pfd[1], 1) < 0)
			_exit(127);
		execv(o->lab, argv);
		fprintf(stderr, "%s: '%s': cannot execute: %s\n", PROG, o->lab,
			strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	while (have < sizeof(buf) - 1 &&
	       ((n = read(pfd[0], buf + have, sizeof(buf) - 1 - have)) > 0 ||
		(n < 0 && errno == EINTR)))
		have += n > 0 ? n : 0;
	buf[have] = '\0';
	close(pfd[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		char how[96];

		describe_wstatus(st, how, sizeof(how));
		snprintf(buf, sizeof(buf), "'nic %u' failed: it %s (above)",
			 vm->num, how);
		error(o->lab, buf, 0);
		return -EIO;
	}
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		static const char *const keys[] = { "netns=", "tap=", "mac=",
						     "net=" };
		char **slot[] = { &vm->netns, &vm->tap, &vm->mac,
				  &vm->guest_net };

		for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
			if (!strncmp(line, keys[i], strlen(keys[i])) &&
			    valid_word(line + strlen(keys[i])))
				*slot[i] = strdup(line + strlen(keys[i]));
	}
	if (!vm->netns || !vm->tap || !vm->mac || !vm->guest_net ||
	    !valid_mac(vm->mac) || strlen(vm->tap) >= IF_NAMESIZE) {
		error(o->lab, "'nic' did not print valid netns=, tap=, mac= and net= lines",
		      0);
		return -EINVAL;
	}
	return 0;
}

/* The VM's NIC, from --lab or the options; its namespace opened. */
static int vm_nic(const struct opts *o, struct vm *vm)
{
	char *path;

	vm->netns_fd = -1;
	if (o->lab) {
		int err = lab_nic(o, vm);

		if (err)
			return err;
	} else {
		vm->netns = o->netns ? strdup(o->netns) : NULL;
		vm->tap = o->tap ? strdup(o->tap) : NULL;
		vm->mac = o->mac ? strdup(o->mac) : NULL;
		vm->guest_net = o->guest_net ? strdup(o->guest_net) : NULL;
	}
	if (!vm->netns)
		return 0;
	path = xasprintf("/run/netns/%s", vm->netns);
	vm->netns_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (vm->netns_fd < 0) {
		int err = errno;

		error(path, err == ENOENT ?
		      "no such network namespace (is the lab up? make rapido-lab-up)" :
		      "cannot open the network namespace", err == ENOENT ? 0 : err);
		free(path);
		return -err;
	}
	free(path);
	return 0;
}

static const char *file_kind(mode_t mode)
{
	return S_ISDIR(mode) ? "a directory" :
	       S_ISLNK(mode) ? "a symbolic link" :
	       S_ISFIFO(mode) ? "a FIFO" : "a device file";
}

/*
 * Check (@clean false) or remove (@clean true) an old run's files in the
 * directory @dfd: only regular files and sockets, which is what rapido and
 * QEMU make there; anything else is refused, and nothing is removed.
 */
static int vm_dir_scan(const struct vm *vm, int dfd, bool clean)
{
	struct dirent *de;
	int ret = 0, fd = dup(dfd);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);

	if (!d) {
		if (fd >= 0)
			close(fd);
		error(vm->dir, "cannot read directory", errno);
		return -errno;
	}
	/* the dup shares the offset of the scan before */
	rewinddir(d);
	while ((de = readdir(d))) {
		char *p = xasprintf("%s/%s", vm->dir, de->d_name);
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) {
			free(p);
			continue;
		}
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW)) {
			ret = -errno;
			error(p, "cannot stat the old run's file", errno);
		} else if (!S_ISREG(st.st_mode) && !S_ISSOCK(st.st_mode)) {
			char *what = xasprintf("%s, not a file of rapido's: refusing to clean %s (move it away)",
					       file_kind(st.st_mode), vm->dir);

			ret = -EEXIST;
			error(p, what, 0);
			free(what);
		} else if (clean && unlinkat(dfd, de->d_name, 0)) {
			ret = -errno;
			error(p, "cannot remove the old run's file", errno);
		}
		free(p);
	}
	closedir(d);
	return ret;
}

/*
 * DIR/vm<N>/ empty: nothing of an earlier run may be judged again. It is
 * opened without following a symlink, and emptied through its descriptor.
 */
static int vm_dir_fresh(struct vm *vm)
{
	const char *name = strrchr(vm->dir, '/') + 1;
	int fd, err;

	if (vm->dfd >= 0)
		close(vm->dfd);
	vm->dfd = -1;
	if (mkdirat(vm->top_fd, name, 0755) && errno != EEXIST) {
		error(vm->dir, "cannot create directory", errno);
		return -errno;
	}
	fd = openat(vm->top_fd, name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		struct stat st;

		err = errno;
		if ((err == ELOOP || err == ENOTDIR) &&
		    !fstatat(vm->top_fd, name, &st, AT_SYMLINK_NOFOLLOW)) {
			char *what = xasprintf("%s, not the directory rapido made: refusing to use it (remove it)",
					       file_kind(st.st_mode));

			error(vm->dir, what, 0);
			free(what);
		} else {
			error(vm->dir, "cannot open directory", err);
		}
		return -err;
	}
	err = vm_dir_scan(vm, fd, false);
	if (!err)
		err = vm_dir_scan(vm, fd, true);
	if (err) {
		close(fd);
		return err;
	}
	vm->dfd = fd;
	return 0;
}

/* --file: fresh sparse files in DIR/vm<N>, for the profile's drives. */
static int vm_files(const struct opts *o, const struct vm *vm)
{
	for (int i = 0; i < o->nfiles; i++) {
		const char *spec = o->files[i];
		unsigned long long size;
		char *path;
		int fd, ret = 0;

		parse_file_opt(spec, &size);
		path = xasprintf("%s/%.*s", vm->dir,
				 (int)(strrchr(spec, ':') - spec), spec);
		fd = openat(vm->dfd, strrchr(path, '/') + 1, O_WRONLY | O_CREAT |
			    O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 || ftruncate(fd, size)) {
			ret = -errno;
			error(path, "cannot create the --file", errno);
		}
		if (fd >= 0)
			close(fd);
		free(path);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- KVM probe cache: lines "<boot_id> <accel> <qemu path>" ---- */

static int read_boot_id(char *id, size_t len)
{
	const char *path = "/proc/sys/kernel/random/boot_id";
	FILE *f = fopen(path, "re");
	int ret = 0;

	if (!f) {
		error(path, "cannot open", errno);
		return -errno;
	}
	if (!fgets(id, len, f)) {
		ret = -EIO;
		error(path, "cannot read", EIO);
	}
	fclose(f);
	id[strcspn(id, "\n")] = '\0';
	return ret;
}

static const char *cache_lookup(const char *cache, const char *id,
				const char *qemu)
{
	size_t idlen = strlen(id);
	const char *verdict = NULL;
	char *buf, *line, *save;
	size_t len;

	if (read_file(cache, &buf, &len))
		return NULL;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *acc = line + idlen + 1, *path = strchr(acc, ' ');

		if (strncmp(line, id, idlen) || line[idlen] != ' ' || !path ||
		    strcmp(path + 1, qemu))
			continue;
		*path = '\0';
		if (!strcmp(acc, "kvm"))
			verdict = "kvm";
		else if (!strcmp(acc, "tcg"))
			verdict = "tcg";
	}
	free(buf);
	return verdict;
}

/* Keep this boot's lines for other QEMUs, replace (NULL: drop) ours. */
static int cache_store(const char *cache, const char *id, const char *qemu,
		       const char *verdict)
{
	size_t idlen = strlen(id), len;
	char *buf = NULL, *line, *save, *text = NULL;
	FILE *f = open_memstream(&text, &len);
	int ret;

	if (!f)
		fatal_oom();
	if (verdict)
		fprintf(f, "%s %s %s\n", id, verdict, qemu);
	if (!read_file(cache, &buf, &len)) {
		for (line = strtok_r(buf, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			const char *path = strchr(line + idlen + 1, ' ');

			if (!strncmp(line, id, idlen) && line[idlen] == ' ' &&
			    path && strcmp(path + 1, qemu))
				fprintf(f, "%s\n", line);
		}
	}
	if (fclose(f))
		fatal_oom();
	ret = write_atomic(cache, text);
	free(buf);
	free(text);
	return ret;
}

/* ---- QEMU argv ---- */

static void args_add(struct args *a, char *s)
{
	if (a->n + 2 > a->cap) {
		a->cap = a->cap ? 2 * a->cap : 64;
		a->v = realloc(a->v, a->cap * sizeof(*a->v));
		if (!a->v)
			fatal_oom();
	}
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

static void args_addf(struct args *a, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		fatal_oom();
	args_add(a, s);
}

static void args_free(struct args *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	*a = (struct args) { 0 };
}

/* A value inside a QEMU option list: ',' is written ',,'. */
static char *qemu_escape(const char *s)
{
	size_t n = strlen(s);
	char *e = malloc(2 * n + 1), *p = e;

	if (!e)
		fatal_oom();
	for (; *s; s++) {
		*p++ = *s;
		if (*s == ',')
			*p++ = ',';
	}
	*p = '\0';
	return e;
}

/* The ${NAME}s an extra QEMU argument may use. */
enum qvar { QVAR_VMDIR, QVAR_VIRTIO };

static const char *const qvar_names[] = {
	[QVAR_VMDIR] = "VMDIR",
	[QVAR_VIRTIO] = "VIRTIO",
};

/*
 * Expand ${VMDIR} (','-escaped for QEMU option lists) and ${VIRTIO} in
 * @arg. With @vm NULL only check the names. Returns 0 with *@out (unless
 * checking) or -EINVAL after reporting an unknown name.
 */
static int expand_arg(const char *arg, const struct vm *vm,
		      const struct machine *m, char **out)
{
	char *text = NULL;
	size_t len;
	FILE *f = vm ? open_memstream(&text, &len) : NULL;
	int ret = 0;

	if (vm && !f)
		fatal_oom();
	for (const char *s = arg; *s; s++) {
		const char *end = NULL;
		size_t i, n;

		if (s[0] == '$' && s[1] == '{')
			end = strchr(s + 2, '}');
		if (!end) {
			if (f)
				fputc(*s, f);
			continue;
		}
		n = end - s - 2;
		for (i = 0; i < ARRAY_SIZE(qvar_names); i++)
			if (strlen(qvar_names[i]) == n &&
			    !strncmp(s + 2, qvar_names[i], n))
				break;
		if (i == ARRAY_SIZE(qvar_names)) {
			char *what = xasprintf("unknown ${%.*s} in a QEMU argument (known: ${VMDIR}, ${VIRTIO})",
					       (int)n, s + 2);

			error(arg, what, 0);
			free(what);
			ret = -EINVAL;
		} else if (f && i == QVAR_VMDIR) {
			char *e = qemu_escape(vm->dir);

			fputs(e, f);
			free(e);
		} else if (f) {
			fputs(m->virtio, f);
		}
		s = end;
	}
	if (f && fclose(f))
		fatal_oom();
	if (vm && !ret)
		*out = text;
	else
		free(text);
	return ret;
}

static void build_args(struct args *a, const struct opts *o,
		       const struct vm *vm, const char *accel)
{
	char *status = qemu_escape(vm->status);
	char *qmp = qemu_escape(vm->qmp);
	const struct accel *ac = LOOKUP(accel_table, accel);

	args_addf(a, "%s", o->qemu);
	args_addf(a, "-M");
	args_addf(a, "%s,accel=%s%s", o->machine->name, accel,
		  o->machine->opts);
	args_addf(a, "-m");
	args_addf(a, "%lu", o->mem);
	args_addf(a, "-smp");
	args_addf(a, "%lu", o->cpus);
	args_addf(a, "-nodefaults");
	args_addf(a, "-no-user-config");
	args_addf(a, "-display");
	args_addf(a, "none");
	args_addf(a, "-no-reboot");
	args_addf(a, "-kernel");
	args_addf(a, "%s", o->kernel);
	args_addf(a, "-initrd");
	args_addf(a, "%s", o->initrd);
	args_addf(a, "-append");
	args_addf(a, "%s%s rapido.mode=%s rapido.vm=%u%s%s%s%s", CMDLINE,
		  ac && ac->cmdline ? ac->cmdline : "", o->mode->name, vm->num,
		  vm->guest_net ? " rapido.net=" : "",
		  vm->guest_net ? vm->guest_net : "",
		  *o->append ? " " : "", o->append);
	args_addf(a, "-chardev");
	args_addf(a, "%s,id=con", o->mode->chardev);
	args_addf(a, "-serial");
	args_addf(a, "chardev:con");
	if (o->mode->monitor) {
		args_addf(a, "-mon");
		args_addf(a, "chardev=con");
	}
	args_addf(a, "-device");
	args_addf(a, "%s", o->machine->vserial);
	args_addf(a, "-chardev");
	args_addf(a, "file,id=rstatus,path=%s", status);
	args_addf(a, "-device");
	args_addf(a, "virtserialport,chardev=rstatus,name=rapido.status");
	args_addf(a, "-qmp");
	args_addf(a, "unix:%s,server=on,wait=off", qmp);
	if (o->control) {
		char *ctl = qemu_escape(vm->control);

		args_addf(a, "-chardev");
		args_addf(a, "socket,id=rcontrol,path=%s", ctl);
		args_addf(a, "-device");
		args_addf(a, "virtserialport,chardev=rcontrol,name=rapido.control");
		free(ctl);
	}
	if (vm->tap) {
		args_addf(a, "-netdev");
		args_addf(a, "tap,id=lab,ifname=%s,script=no,downscript=no",
			  vm->tap);
		args_addf(a, "-device");
		args_addf(a, "virtio-net-%s,netdev=lab,mac=%s",
			  o->machine->virtio, vm->mac);
	}
	for (int i = 0; i < o->nextra; i++) {
		char *e;

		/* checked in main() */
		if (expand_arg(o->extra[i], vm, o->machine, &e))
			exit(EXIT_RAPIDO);
		args_add(a, e);
	}
	free(status);
	free(qmp);
}

/* ---- running QEMU ---- */

/*
 * Fork and exec QEMU, its stdout (the serial console) a pipe whose read end
 * comes back in *@confd. An exec failure comes back through a close-on-exec
 * pipe, so a missing QEMU is an error here, not a guest failure later.
 */
static int qemu_start(const struct opts *o, const struct vm *vm,
		      char **argv, const sigset_t *oldmask, pid_t *pid,
		      int *pidfd, int *confd)
{
	int pfd[2], cfd[2], err = 0;
	pid_t parent = getpid();
	ssize_t r;

	if (pipe2(pfd, O_CLOEXEC)) {
		error("pipe", "cannot create", errno);
		return -errno;
	}
	if (pipe2(cfd, O_CLOEXEC)) {
		error("pipe", "cannot create", errno);
		close(pfd[0]);
		close(pfd[1]);
		return -errno;
	}
	fflush(NULL);
	*pid = fork();
	if (*pid < 0) {
		error(argv[0], "cannot fork", errno);
		return -errno;
	}
	if (!*pid) {
		int in = open("/dev/null", O_RDONLY);
		int errf = openat(vm->dfd, "qemu.err", O_WRONLY | O_CREAT |
				  O_EXCL | O_NOFOLLOW, 0644);

		close(pfd[0]);
		close(cfd[0]);
		/*
		 * QEMU must not outlive us, even if we are SIGKILLed; if we
		 * died before the prctl, the parent is already another.
		 */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		if (o->mode->batch) {
			setpgid(0, 0);
			if (in < 0 || dup2(in, 0) < 0)
				goto fail;
		}
		if (errf < 0 || dup2(cfd[1], 1) < 0 || dup2(errf, 2) < 0)
			goto fail;
		/* QEMU alone goes into the lab: its tap is there */
		if (vm->netns_fd >= 0 && setns(vm->netns_fd, CLONE_NEWNET)) {
			err = -errno;
			goto fail_err;
		}
		sigprocmask(SIG_SETMASK, oldmask, NULL);
		execvp(argv[0], argv);
fail:
		err = errno;
fail_err:
		if (write(pfd[1], &err, sizeof(err)) < 0)
			_exit(127);
		_exit(127);
	}
	close(pfd[1]);
	close(cfd[1]);
	do {
		r = read(pfd[0], &err, sizeof(err));
	} while (r < 0 && errno == EINTR);
	close(pfd[0]);
	if (r == sizeof(err)) {
		close(cfd[0]);
		waitpid(*pid, NULL, 0);
		if (err < 0) {
			char *ns = xasprintf("/run/netns/%s", vm->netns);

			error(ns, "cannot enter the network namespace for QEMU",
			      -err);
			free(ns);
			return err;
		}
		error(argv[0], "cannot execute QEMU (set --qemu)", err);
		return -err;
	}
	fcntl(cfd[0], F_SETFL, O_NONBLOCK);
	*confd = cfd[0];
	*pidfd = syscall(SYS_pidfd_open, *pid, 0);
	if (*pidfd < 0) {
		err = errno;
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
		close(cfd[0]);
		error("pidfd_open", "cannot watch QEMU", err);
		return -err;
	}
	return 0;
}

static bool poll_one(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (poll(&p, 1, ms) < 0)
		if (errno != EINTR)
			return false;
	return p.revents;
}

/* SIGTERM, SIGKILL after a grace period; reap. */
static void qemu_kill(pid_t pid, int pidfd, int *wstatus)
{
	kill(pid, SIGTERM);
	if (!poll_one(pidfd, KILL_GRACE_MS))
		kill(pid, SIGKILL);
	while (waitpid(pid, wstatus, 0) < 0 && errno == EINTR)
		;
}

/* ---- control channel: the guest asks for QMP commands ---- */

/*
 * Named actions: "<name> <arg>" becomes the QMP command @fmt, its %s the
 * JSON-escaped arg. With @hmp_quiet, the action is an HMP command that
 * prints nothing when it works: any output is turned into an error reply.
 */
struct action {
	const char *name;
	const char *fmt;
	bool hmp_quiet;
};

#define HMP(cmd) "{\"execute\": \"human-monitor-command\", " \
	"\"arguments\": {\"command-line\": \"" cmd "%s\"}}"

static const struct action action_table[] = {
	{ .name = "hmp", .fmt = HMP("") },
	{ .name = "drive_del", .fmt = HMP("drive_del "), .hmp_quiet = true },
	{ .name = "device_del",
	  .fmt = "{\"execute\": \"device_del\", \"arguments\": {\"id\": \"%s\"}}" },
};

struct control {
	int listen_fd;		/* control.sock, -1: no control channel */
	int conn_fd;		/* QEMU's connection, -1: none yet */
	char buf[CONTROL_MAX];
	size_t len;
	const struct vm *vm;
};

/* @s as the inside of a JSON string. */
static char *json_escape(const char *s)
{
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		fatal_oom();
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	if (fclose(f))
		fatal_oom();
	return text;
}

static char *rapido_error(const char *fmt, ...)
{
	va_list ap;
	char *msg, *esc, *reply;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		fatal_oom();
	va_end(ap);
	esc = json_escape(msg);
	reply = xasprintf("{\"error\": {\"class\": \"RapidoError\", \"desc\": \"%s\"}}",
			  esc);
	free(esc);
	free(msg);
	return reply;
}

/* One line from @fd (no CR/LF) by @deadline; 0, or -errno. */
static int read_line(int fd, char *buf, size_t size, size_t *have,
		     double deadline, char **line)
{
	for (;;) {
		char *nl = memchr(buf, '\n', *have);
		double left = deadline - now();
		ssize_t r;

		if (nl) {
			size_t n = nl - buf;

			*line = xasprintf("%.*s", (int)n, buf);
			(*line)[strcspn(*line, "\r")] = '\0';
			memmove(buf, nl + 1, *have - n - 1);
			*have -= n + 1;
			return 0;
		}
		if (*have == size)
			return -EMSGSIZE;
		if (left <= 0 || !poll_one(fd, (int)(left * 1000) + 1))
			return -ETIMEDOUT;
		r = read(fd, buf + *have, size - *have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (!r)
			return -ECONNRESET;
		*have += r;
	}
}

static int send_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t w = send(fd, s, len, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		s += w;
		len -= w;
	}
	return 0;
}

/* The next line that is a reply ("return" or "error"), events skipped. */
static int qmp_reply(int fd, char *buf, size_t size, size_t *have,
		     double deadline, char **line)
{
	for (;;) {
		int ret = read_line(fd, buf, size, have, deadline, line);

		if (ret)
			return ret;
		if (!strncmp(*line, "{\"return\"", 9) ||
		    !strncmp(*line, "{\"error\"", 8))
			return 0;
		free(*line);
	}
}

/* Run the JSON @cmd on QEMU's QMP socket; the reply line, always. */
static char *qmp_run(const char *sock, const char *cmd)
{
	static const char caps[] = "{\"execute\": \"qmp_capabilities\"}\n";
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	double deadline = now() + QMP_MS / 1000.0;
	char buf[CONTROL_MAX], *line = NULL, *c;
	const char *step = "connect";
	size_t have = 0;
	int fd, ret;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return rapido_error("qmp: socket: %s", strerror(errno));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock);
	ret = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) ? -errno : 0;
	if (!ret) {
		step = "greeting";
		ret = read_line(fd, buf, sizeof(buf), &have, deadline, &line);
	}
	if (!ret && !strstr(line, "\"QMP\"")) {
		free(line);
		close(fd);
		return rapido_error("qmp: '%s': not a QMP greeting", sock);
	}
	free(line);
	line = NULL;
	if (!ret) {
		step = "qmp_capabilities";
		ret = send_all(fd, caps, strlen(caps));
	}
	if (!ret)
		ret = qmp_reply(fd, buf, sizeof(buf), &have, deadline, &line);
	if (!ret && strncmp(line, "{\"return\"", 9)) {
		close(fd);
		return line;
	}
	free(line);
	line = NULL;
	if (!ret) {
		step = "command";
		c = xasprintf("%s\n", cmd);
		ret = send_all(fd, c, strlen(c));
		free(c);
	}
	if (!ret)
		ret = qmp_reply(fd, buf, sizeof(buf), &have, deadline, &line);
	close(fd);
	if (ret)
		return rapido_error("qmp: '%s': %s: %s", sock, step,
				    strerror(-ret));
	return line;
}

/* The QMP command for a request line, or NULL with *@reply set. */
static char *control_command(const char *req, const struct action **act,
			     char **reply)
{
	size_t n = strcspn(req, " ");
	const char *arg = req + n + (req[n] == ' ');
	char *esc, *cmd;

	*act = NULL;
	if (req[0] == '{')
		return xasprintf("%s", req);
	for (size_t i = 0; i < ARRAY_SIZE(action_table); i++)
		if (strlen(action_table[i].name) == n &&
		    !strncmp(req, action_table[i].name, n))
			*act = &action_table[i];
	if (!*act) {
		*reply = rapido_error("'%.*s': unknown request: send a QMP command as JSON or one of: hmp, drive_del, device_del",
				      (int)n, req);
		return NULL;
	}
	if (!*arg) {
		*reply = rapido_error("'%s': needs an argument", (*act)->name);
		return NULL;
	}
	esc = json_escape(arg);
	cmd = xasprintf((*act)->fmt, esc);
	free(esc);
	return cmd;
}

/* Answer one request line: run it, log it, write the reply back. */
static void control_request(struct control *ctl, const char *req)
{
	static const char hmp_ok[] = "{\"return\": \"\"}";
	const struct action *act;
	char *reply = NULL, *cmd, *out;
	FILE *log;
	int fd, ret;

	cmd = control_command(req, &act, &reply);
	if (cmd)
		reply = qmp_run(ctl->vm->qmp, cmd);
	if (act && act->hmp_quiet && !strncmp(reply, "{\"return\": \"", 12) &&
	    strcmp(reply, hmp_ok)) {
		/* keep QEMU's text, already JSON-escaped, as the error */
		size_t n = strlen(reply);
		char *text = xasprintf("%.*s", (int)(n > 14 ? n - 14 : 0),
				       reply + 12);
		size_t tl = strlen(text);

		/* HMP ends its lines with \r\n, escaped */
		while (tl >= 2 && text[tl - 2] == '\\' &&
		       (text[tl - 1] == 'n' || text[tl - 1] == 'r'))
			text[tl -= 2] = '\0';

		free(reply);
		reply = xasprintf("{\"error\": {\"class\": \"GenericError\", \"desc\": \"%s\"}}",
				  text);
		free(text);
	}
	fd = openat(ctl->vm->dfd, "control.log", O_WRONLY | O_APPEND |
		    O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	log = fd < 0 ? NULL : fdopen(fd, "a");
	if (fd >= 0 && !log)
		close(fd);
	if (log) {
		fprintf(log, "> %s\n< %s\n", req, reply);
		fclose(log);
	}
	out = xasprintf("%s\n", reply);
	ret = send_all(ctl->conn_fd, out, strlen(out));
	if (ret)
		error(ctl->vm->control, "cannot write the reply", -ret);
	free(out);
	free(reply);
	free(cmd);
}

/* Listen on control.sock before QEMU starts: QEMU connects as a client. */
static int control_open(struct control *ctl, const struct opts *o,
			const struct vm *vm)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	*ctl = (struct control) { .listen_fd = -1, .conn_fd = -1, .vm = vm };
	if (!o->control)
		return 0;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		error("socket", "cannot create the control socket", errno);
		return -errno;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", vm->control);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) || listen(fd, 1)) {
		int err = errno;

		error(vm->control, "cannot listen", err);
		close(fd);
		return -err;
	}
	ctl->listen_fd = fd;
	return 0;
}

static void control_close(struct control *ctl)
{
	if (ctl->conn_fd >= 0)
		close(ctl->conn_fd);
	if (ctl->listen_fd >= 0)
		close(ctl->listen_fd);
	ctl->conn_fd = -1;
	ctl->listen_fd = -1;
}

/* Accept QEMU's connection, or read from it and answer whole lines. */
static void control_events(struct control *ctl, const struct pollfd *p)
{
	ssize_t r;
	char *nl;

	if (p[0].revents) {
		int fd = accept4(ctl->listen_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd >= 0) {
			if (ctl->conn_fd >= 0)
				close(ctl->conn_fd);
			ctl->conn_fd = fd;
			ctl->len = 0;
		}
		return;
	}
	if (!p[1].revents)
		return;
	r = read(ctl->conn_fd, ctl->buf + ctl->len, sizeof(ctl->buf) - ctl->len);
	if (r <= 0) {
		if (r < 0 && errno == EINTR)
			return;
		close(ctl->conn_fd);	/* QEMU went away */
		ctl->conn_fd = -1;
		return;
	}
	ctl->len += r;
	while ((nl = memchr(ctl->buf, '\n', ctl->len))) {
		size_t n = nl - ctl->buf;

		*nl = '\0';
		ctl->buf[strcspn(ctl->buf, "\r")] = '\0';
		if (ctl->buf[0])
			control_request(ctl, ctl->buf);
		memmove(ctl->buf, nl + 1, ctl->len - n - 1);
		ctl->len -= n + 1;
	}
	if (ctl->len == sizeof(ctl->buf)) {
		char *reply = rapido_error("request longer than %d bytes",
					   CONTROL_MAX - 1);
		char *out = xasprintf("%s\n", reply);

		send_all(ctl->conn_fd, out, strlen(out));
		free(out);
		free(reply);
		ctl->len = 0;
	}
}

/* ---- judging the console, as it streams ---- */

/* Skip "[    1.234567] " and a caller id "[    T1] " if present. */
static const char *skip_stamp(const char *s)
{
	for (int i = 0; i < 2 && *s == '['; i++) {
		const char *p = s + 1;

		while (*p == ' ')
			p++;
		if (i == 1 && (*p == 'T' || *p == 'C'))
			p++;
		if (!isdigit((unsigned char)*p))
			break;
		while (isdigit((unsigned char)*p) || (i == 0 && *p == '.'))
			p++;
		if (*p != ']')
			break;
		s = p + 1;
	}
	return *s == ' ' ? s + 1 : s;
}

/* Skip "<digits>" at @s; NULL if there is none (or @s is NULL). */
static const char *skip_num(const char *s)
{
	if (!s || !isdigit((unsigned char)*s))
		return NULL;
	while (isdigit((unsigned char)*s))
		s++;
	return s;
}

/* @s starts with @word: the text after it, else NULL. */
static const char *after(const char *s, const char *word)
{
	size_t n = strlen(word);

	return s && !strncmp(s, word, n) ? s + n : NULL;
}

/* __warn() (kernel/panic.c): "WARNING: CPU: %d PID: %d at %s" */
static bool warn_at(const char *rest)
{
	rest = after(skip_num(after(rest, "CPU: ")), " PID: ");
	return after(skip_num(rest), " at ");
}

/*
 * x86's die header (arch/x86/kernel/dumpstack.c), "%s: %04lx [#%d]": up
 * to 6.9 "Oops: 0002 [#1] PREEMPT SMP", "general protection fault, ...:
 * 0000 [#1] ...", "invalid opcode: 0000 [#1] ..."; since 6.10 all start
 * with "Oops: ".
 */
static bool die_header(const char *text)
{
	for (const char *s = strstr(text, ": "); s; s = strstr(s + 1, ": ")) {
		const char *p = s + 2;
		int i;

		for (i = 0; i < 4 && isxdigit((unsigned char)p[i]); i++)
			;
		if (i == 4 && after(skip_num(after(p + 4, " [#")), "]"))
			return true;
	}
	return false;
}

/* ubsan_prologue(): "UBSAN: %s in %s" */
static bool ubsan_in(const char *rest)
{
	size_t n = strspn(rest, "abcdefghijklmnopqrstuvwxyz-_");

	return n && after(rest + n, " in ");
}

/* SLUB's slab_bug(): "BUG %s (%s): %pV", e.g. "BUG kmalloc-64 (Not tainted): ..." */
static bool slab_bug(const char *rest)
{
	size_t n = strcspn(rest, " :");

	return n && after(rest + n, " (") && strstr(rest + n, "): ");
}

/* "kernel BUG at %s:%u!" */
static bool bug_at(const char *rest)
{
	size_t n = strlen(rest);

	return n && rest[n - 1] == '!' && strchr(rest, ':');
}

static bool has_stall(const char *rest)
{
	return strstr(rest, "stall");
}

static bool hung_task(const char *rest)
{
	return strstr(rest, " blocked for more than ");
}

/* lockdep: "WARNING: %s-safe -> %s-unsafe lock order detected" */
static bool lock_order(const char *rest)
{
	return strstr(rest, "-safe -> ") &&
	       strstr(rest, "-unsafe lock order detected");
}

/*
 * The kernel's failure reports, as the kernels of 5.10 to 6.12 print them
 * (kernel/panic.c, lib/bug.c, arch/x86/kernel/dumpstack.c, arch/x86/mm/
 * fault.c, kernel/locking/lockdep.c, kernel/watchdog.c, kernel/hung_task.c,
 * kernel/rcu/tree_stall.h, mm/kasan, lib/ubsan.c, mm/slub.c), matched at
 * the start of a console line after the printk timestamp: a line that only
 * starts with the same word ("WARNING: disk almost full" from a test) is
 * not one. @test, if set, must accept the text after @prefix. A @loose
 * entry is a format user space might print too ("BUG: <anything>"): it
 * counts only when a stack dump follows within EVENT_LINES lines.
 */
struct marker {
	const char *prefix;
	bool (*test)(const char *rest);
	bool loose;
};

static const struct marker marker_table[] = {
	{ .prefix = "Kernel panic - not syncing" },
	{ .prefix = "WARNING: ", .test = warn_at },
	{ .prefix = "WARNING: possible circular locking dependency detected" },
	{ .prefix = "WARNING: possible recursive locking detected" },
	{ .prefix = "WARNING: possible irq lock inversion dependency detected" },
	{ .prefix = "WARNING: inconsistent lock state" },
	{ .prefix = "WARNING: bad unlock balance detected!" },
	{ .prefix = "WARNING: bad contention detected!" },
	{ .prefix = "WARNING: held lock freed!" },
	{ .prefix = "WARNING: lock held when returning to user space!" },
	{ .prefix = "WARNING: Nested lock was not taken" },
	{ .prefix = "WARNING: suspicious RCU usage" },
	{ .prefix = "WARNING: chain_key collision" },
	{ .prefix = "WARNING: ", .test = lock_order },
	{ .prefix = "", .test = die_header },
	{ .prefix = "kernel BUG at ", .test = bug_at },
	{ .prefix = "BUG: kernel NULL pointer dereference" },
	{ .prefix = "BUG: unable to handle " },
	{ .prefix = "BUG: KASAN: " },
	{ .prefix = "BUG: KFENCE: " },
	{ .prefix = "BUG: KCSAN: " },
	{ .prefix = "BUG: KMSAN: " },
	{ .prefix = "BUG: soft lockup - CPU#" },
	{ .prefix = "BUG: workqueue lockup - pool" },
	{ .prefix = "BUG: scheduling while atomic: " },
	{ .prefix = "BUG: sleeping function called from invalid context" },
	{ .prefix = "BUG: Bad page " },
	{ .prefix = "BUG: Bad rss-counter state " },
	{ .prefix = "BUG: non-zero pgtables_bytes on freeing mm: " },
	{ .prefix = "BUG: spinlock " },
	{ .prefix = "BUG: rwlock " },
	{ .prefix = "BUG: using smp_processor_id() in preemptible" },
	{ .prefix = "BUG: using __this_cpu_" },
	{ .prefix = "BUG: stack guard page was hit at " },
	{ .prefix = "BUG: TASK stack guard page was hit at " },
	{ .prefix = "BUG: Dentry " },
	{ .prefix = "BUG: MAX_" },
	{ .prefix = "BUG: ", .loose = true },
	{ .prefix = "BUG ", .test = slab_bug },
	{ .prefix = "UBSAN: ", .test = ubsan_in },
	{ .prefix = "Unable to handle kernel " },
	{ .prefix = "watchdog: BUG: soft lockup - CPU#" },
	{ .prefix = "watchdog: Watchdog detected hard LOCKUP" },
	{ .prefix = "NMI watchdog: Watchdog detected hard LOCKUP" },
	{ .prefix = "INFO: task ", .test = hung_task },
	{ .prefix = "rcu: INFO: ", .test = has_stall },
	{ .prefix = "INFO: rcu_", .test = has_stall },
	{ .prefix = "WARNING: ", .loose = true },
};

static const char cut_here[] = "------------[ cut here ]------------";
static const char end_trace[] = "---[ end ";

/* The guest's own lines the judge watches for. */
static const char *const poweroff_lines[] = {
	"reboot: Power down",		/* kernel/reboot.c, kernel_power_off() */
	"reboot: System halted",	/* kernel_halt() */
};

static const struct marker *marker_match(const char *text)
{
	for (size_t i = 0; i < ARRAY_SIZE(marker_table); i++) {
		const struct marker *m = &marker_table[i];
		const char *rest = after(text, m->prefix);

		if (rest && (!m->test || m->test(rest)))
			return m;
	}
	return NULL;
}

/* A stack dump's lines: what makes a loose marker a report. */
static bool dump_line(const char *text)
{
	const char *rest = after(skip_num(after(text, "CPU: ")), " PID: ");

	return after(text, "Call Trace:") || after(text, "Hardware name: ") ||
	       after(text, "RIP: ") || after(skip_num(rest), " Comm: ");
}

static void report_free(struct report *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->lines[i]);
	free(r->lines);
	*r = (struct report) { 0 };
}

static void report_add(struct report *r, const char *line)
{
	r->lines = realloc(r->lines, (r->n + 1) * sizeof(*r->lines));
	if (!r->lines)
		fatal_oom();
	r->lines[r->n++] = xasprintf("%s", line);
}

static void judge_init(struct judge *j)
{
	*j = (struct judge) { .init_seen = false };
	j->tail = calloc(TAIL_LINES, sizeof(*j->tail));
	if (!j->tail)
		fatal_oom();
}

static void judge_free(struct judge *j)
{
	report_free(&j->cur);
	for (size_t i = 0; i < EVENTS_SHOWN; i++)
		report_free(&j->shown[i]);
	for (size_t i = 0; i < TAIL_LINES; i++)
		free(j->tail[i]);
	free(j->tail);
}

/* The report being collected is complete: count it if it is one. */
static void report_end(struct judge *j)
{
	struct report *r = &j->cur;

	if (!r->n)
		return;
	if (!r->confirmed) {
		report_free(r);
		return;
	}
	if (!j->events)
		snprintf(j->first, sizeof(j->first), "%.*s", REASON_MAX,
			 skip_stamp(r->lines[r->marker]));
	if (j->events < EVENTS_SHOWN)
		j->shown[j->events] = *r;
	else
		report_free(r);
	j->events++;
	*r = (struct report) { 0 };
}

/* One whole console line (no CR/LF, at most LINE_KEEP bytes). */
static void judge_line(struct judge *j, const char *s)
{
	const char *text = skip_stamp(s);
	struct report *r = &j->cur;
	const struct marker *m;
	size_t slot;

	j->lines++;
	if (!strncmp(text, INIT_STARTED, strlen(INIT_STARTED)))
		j->init_seen = true;
	for (size_t i = 0; i < ARRAY_SIZE(poweroff_lines); i++)
		if (!j->poweroff && text != s &&
		    !strcmp(text, poweroff_lines[i]))
			j->poweroff = poweroff_lines[i];

	m = marker_match(text);
	if (r->n && m && !m->loose && !r->confirmed)
		report_free(r);		/* a real report ends a maybe */
	if (r->n) {
		report_add(r, s);
		if (dump_line(text))
			r->confirmed = true;
		if (!strncmp(text, end_trace, strlen(end_trace)) ||
		    r->n - r->marker >= EVENT_LINES)
			report_end(j);
	} else if (m) {
		*r = (struct report) { .start = j->lines,
				       .confirmed = !m->loose };
		if (j->lines > 1 &&
		    !strcmp(skip_stamp(j->tail[(j->lines - 2) % TAIL_LINES]),
			    cut_here)) {
			report_add(r, j->tail[(j->lines - 2) % TAIL_LINES]);
			r->start--;
			r->marker = 1;
		}
		report_add(r, s);
	}
	slot = (j->lines - 1) % TAIL_LINES;
	free(j->tail[slot]);
	j->tail[slot] = xasprintf("%s", s);
}

/*
 * Feed console bytes to the judge. A line longer than LINE_KEEP is judged
 * by its beginning; CRs are dropped.
 */
static void judge_feed(struct judge *j, const char *buf, size_t len)
{
	j->bytes += len;
	for (size_t i = 0; i < len; i++) {
		char c = buf[i];

		if (c == '\n') {
			j->line[j->len] = '\0';
			judge_line(j, j->line);
			j->len = 0;
		} else if (c != '\r' && j->len < LINE_KEEP) {
			j->line[j->len++] = c;
		}
	}
}

/* The stream ended: judge a last unterminated line, close a report. */
static void judge_finish(struct judge *j)
{
	if (j->len) {
		j->line[j->len] = '\0';
		judge_line(j, j->line);
		j->len = 0;
	}
	report_end(j);
}

/*
 * Print the first EVENTS_SHOWN reports, each from its marker (with a "cut
 * here" line just before it) to its "---[ end" line or EVENT_LINES lines.
 */
static void print_reports(const struct judge *j, const char *path)
{
	for (size_t e = 0; e < j->events && e < EVENTS_SHOWN; e++) {
		const struct report *r = &j->shown[e];

		printf("%s: kernel failure report %zu, %s line %zu:\n", PROG,
		       e + 1, path, r->start);
		for (size_t i = 0; i < r->n; i++)
			printf("%s\n", r->lines[i]);
	}
	if (j->events > EVENTS_SHOWN)
		printf("%s: %zu more kernel failure reports in %s\n", PROG,
		       j->events - EVENTS_SHOWN, path);
}

static void print_tail(const struct judge *j, const char *path)
{
	size_t n = j->lines < TAIL_LINES ? j->lines : TAIL_LINES;

	printf("%s: last %zu console lines (%s):\n", PROG, n, path);
	for (size_t i = j->lines - n; i < j->lines; i++)
		printf("%s\n", j->tail[i % TAIL_LINES]);
}

/* --check: judge a console log file. */
static int judge_file(struct judge *j, const char *path)
{
	char buf[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			close(fd);
			return n;
		}
		judge_feed(j, buf, n);
	}
	close(fd);
	judge_finish(j);
	return 0;
}

/* ---- the console stream: judge, terminal and a capped log ---- */

/* Write all of @buf to @fd, waiting if it is non-blocking; 0 or -errno. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			poll(&p, 1, -1);
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w ? -errno : -EIO;
		buf += w;
		len -= w;
	}
	return 0;
}

/*
 * DIR/vm<N>/console.log, at most @limit bytes (0: no limit): the first
 * half as it comes, the last half kept in memory and written at the end,
 * with a line saying how much was dropped between them.
 */
struct clog {
	int fd;
	const char *path;
	unsigned long long limit;
	unsigned long long head;	/* bytes written so far */
	char *ring;			/* the tail, limit - limit/2 bytes */
	size_t ring_size;
	unsigned long long tail;	/* bytes that went to the ring */
	int err;			/* first failure, -errno */
};

static int clog_open(struct clog *l, const struct vm *vm,
		     unsigned long long limit)
{
	*l = (struct clog) { .path = vm->console, .limit = limit };
	l->fd = openat(vm->dfd, "console.log",
		       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		       0644);
	if (l->fd < 0) {
		error(l->path, "cannot create the console log", errno);
		return -errno;
	}
	return 0;
}

static void clog_write(struct clog *l, const char *buf, size_t len)
{
	unsigned long long half = l->limit / 2;

	if (l->err)
		return;
	if (!l->limit || l->head < half) {
		size_t n = !l->limit || len < half - l->head ?
			   len : half - l->head;

		l->err = write_all(l->fd, buf, n);
		l->head += n;
		buf += n;
		len -= n;
	}
	if (!len || l->err)
		return;
	if (!l->ring) {
		l->ring_size = l->limit - half;
		l->ring = malloc(l->ring_size);
		if (!l->ring)
			fatal_oom();
	}
	for (size_t done = 0; done < len; ) {
		size_t at = l->tail % l->ring_size;
		size_t n = len - done < l->ring_size - at ?
			   len - done : l->ring_size - at;

		memcpy(l->ring + at, buf + done, n);
		done += n;
		l->tail += n;
	}
}

/* Write the kept tail and close; 0, or -errno of the first failure. */
static int clog_close(struct clog *l)
{
	if (l->fd < 0)
		return l->err;
	if (!l->err && l->tail > l->ring_size) {
		size_t at = l->tail % l->ring_size;
		char *ordered = malloc(l->ring_size), *nl, *note;
		unsigned long long dropped = l->tail - l->ring_size;

		if (!ordered)
			fatal_oom();
		memcpy(ordered, l->ring + at, l->ring_size - at);
		memcpy(ordered + l->ring_size - at, l->ring, at);
		/* start the tail at a whole line */
		nl = memchr(ordered, '\n', l->ring_size);
		nl = nl ? nl + 1 : ordered;
		dropped += nl - ordered;
		note = xasprintf("\n%s: [%llu bytes of console output dropped here: the log keeps the first and the last %llu bytes of the %llu (--log-limit %llu); the verdict saw them all]\n",
				 PROG, dropped, l->limit / 2,
				 l->head + l->tail, l->limit);
		l->err = write_all(l->fd, note, strlen(note));
		if (!l->err)
			l->err = write_all(l->fd, nl,
					   ordered + l->ring_size - nl);
		free(note);
		free(ordered);
	} else if (!l->err && l->tail) {
		l->err = write_all(l->fd, l->ring, l->tail);
	}
	if (close(l->fd) && !l->err)
		l->err = -errno;
	l->fd = -1;
	free(l->ring);
	l->ring = NULL;
	return l->err;
}

/* QEMU's serial console: the read end of its stdout. */
struct console_io {
	int fd;			/* -1 at EOF */
	bool echo;		/* copy to our stdout */
	struct judge *judge;
	struct clog *log;
};

/* Read what is there; returns the bytes read (0: nothing, or EOF). */
static ssize_t console_read(struct console_io *io)
{
	char buf[65536];
	ssize_t n;

	if (io->fd < 0)
		return 0;
	n = read(io->fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		close(io->fd);
		io->fd = -1;
		return 0;
	}
	judge_feed(io->judge, buf, n);
	/* a closed terminal or pipe ends the echo, not the run */
	if (io->echo && write_all(1, buf, n))
		io->echo = false;
	clog_write(io->log, buf, n);
	return n;
}

/*
 * Wait for QEMU to exit, for the @timeout (seconds, 0: none), for a signal
 * on @sigfd, for the guest to power off or for the console log to fail;
 * meanwhile pass the console on. With @probe, QEMU must also put a byte on
 * the console within PROBE_MS, with @silent_ms (0: any time) within that.
 */
static void qemu_wait(struct console_io *io, pid_t pid, int pidfd, int sigfd,
		      unsigned long timeout, bool probe, int silent_ms,
		      struct run *r, struct control *ctl)
{
	double t0 = now(), deadline = timeout ? t0 + timeout : 0;

	*r = (struct run) { .end = RUN_EXITED };
	for (;;) {
		struct pollfd p[5] = {
			{ .fd = pidfd, .events = POLLIN },
			{ .fd = sigfd, .events = POLLIN },
			{ .fd = io->fd, .events = POLLIN },
			{ .fd = ctl->listen_fd, .events = POLLIN },
			{ .fd = ctl->conn_fd, .events = POLLIN },
		};
		double t = now();
		int ms = -1, n;

		if (deadline && deadline > t)
			ms = (int)((deadline - t) * 1000) + 1;
		else if (deadline)
			ms = 0;
		if ((probe || (silent_ms && !io->judge->bytes)) &&
		    (ms < 0 || ms > 20))
			ms = 20;
		n = poll(p, 5, ms);
		if (n > 0 && p[2].revents)
			console_read(io);
		if (n > 0 && !p[0].revents && !p[1].revents)
			control_events(ctl, &p[3]);
		if (probe && io->judge->bytes) {
			probe = false;
			r->console_seen = true;
		}
		if (n < 0 && errno != EINTR) {
			error("poll", "cannot wait for QEMU", errno);
			r->end = RUN_SIGNAL;
			r->signo = SIGTERM;
		} else if (p[1].revents) {
			struct signalfd_siginfo si;

			r->end = RUN_SIGNAL;
			r->signo = SIGTERM;
			if (read(sigfd, &si, sizeof(si)) == sizeof(si))
				r->signo = si.ssi_signo;
		} else if (p[0].revents) {
			while (waitpid(pid, &r->wstatus, 0) < 0 &&
			       errno == EINTR)
				;
			break;
		} else if (io->log->err) {
			r->end = RUN_LOGFAIL;
		} else if (io->judge->poweroff) {
			r->end = RUN_POWEROFF;
		} else if (probe && now() - t0 >= PROBE_MS / 1000.0) {
			r->end = RUN_SILENT;
		} else if (silent_ms && !io->judge->bytes &&
			   now() - t0 >= silent_ms / 1000.0) {
			r->end = RUN_SILENT;
		} else if (deadline && now() >= deadline) {
			r->end = RUN_TIMEOUT;
		}
		if (r->end != RUN_EXITED) {
			qemu_kill(pid, pidfd, &r->wstatus);
			break;
		}
	}
	/* what QEMU wrote before it ended */
	while (console_read(io) > 0)
		;
	if (!r->console_seen)
		r->console_seen = io->judge->bytes;
	close(pidfd);
}

/* Print QEMU's own stderr (kept in DIR/vm<N>/qemu.err). */
static void show_qemu_err(const struct vm *vm)
{
	char *buf;
	size_t len;

	if (read_file(vm->qemu_err, &buf, &len))
		return;
	fputs(buf, stderr);
	if (len && buf[len - 1] != '\n')
		fputc('\n', stderr);
	free(buf);
}


/*
 * Parse "<stage> <code>" lines. Returns the number of stages (result
 * included) or -EINVAL after reporting a malformed line.
 */
static int status_parse(const char *path, char *buf, struct stage *st,
			int max)
{
	char *line, *save;
	int n = 0, lineno = 0;

	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[32], *end;
		int off = 0;
		long code;

		lineno++;
		line[strcspn(line, "\r")] = '\0';
		if (sscanf(line, "%31[a-z0-9_-] %n", name, &off) != 1 || !off ||
		    !isdigit((unsigned char)line[off])) {
			char *what = xasprintf("line %d: '%s' is not '<stage> <code>'",
					       lineno, line);

			error(path, what, 0);
			free(what);
			return -EINVAL;
		}
		errno = 0;
		code = strtol(line + off, &end, 10);
		if (*end || errno) {
			char *what = xasprintf("line %d: bad code '%s'",
					       lineno, line + off);

			error(path, what, 0);
			free(what);
			return -EINVAL;
		}
		if (n < max) {
			snprintf(st[n].name, sizeof(st[n].name), "%s", name);
			st[n].code = code;
			n++;
		}
	}
	return n;
}

/* Optional TAP file: one point per stage, then the kernel, then the run. */
static int write_tap(const char *path, const struct stage *st, int nst,
		     const char *kernel_report, const struct verdict *v,
		     const char *console)
{
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);
	int t = 0, ret;

	if (!f)
		fatal_oom();
	fprintf(f, "TAP version 13\n");
	for (int i = 0; i < nst; i++) {
		if (!strcmp(st[i].name, "result"))
			continue;
		if (st[i].code)
			fprintf(f, "not ok %d - %s # exit status %ld\n", ++t,
				st[i].name, st[i].code);
		else
			fprintf(f, "ok %d - %s\n", ++t, st[i].name);
	}
	if (*kernel_report)
		fprintf(f, "not ok %d - kernel # %s\n", ++t, kernel_report);
	else
		fprintf(f, "ok %d - kernel\n", ++t);
	if (v->fail)
		fprintf(f, "not ok %d - run # %s\n", ++t, v->reason);
	else
		fprintf(f, "ok %d - run\n", ++t);
	fprintf(f, "1..%d\n# console: %s\n", t, console);
	if (fclose(f))
		fatal_oom();
	ret = write_atomic(path, text);
	free(text);
	return ret;
}

/* The first reason found is the verdict; later ones are printed as notes. */
static void set_reason(struct verdict *v, const char *fmt, ...)
{
	char buf[sizeof(v->reason)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (v->fail) {
		printf("%s: also: %s\n", PROG, buf);
		return;
	}
	memcpy(v->reason, buf, sizeof(buf));
	v->fail = true;
}

/*
 * Judge the run of DIR/vm<N> from the console @j saw and the status file,
 * print the verdict and return the exit code. @out is NULL for --check. A
 * missing status file counts as no result. A guest that never started
 * rapido-init and said nothing else is not a test result: the image, the
 * memory, QEMU or the host failed, exit 128.
 */
static int judge(const char *vmdir, struct judge *j, const struct outcome *out,
		 const char *results)
{
	char *cpath = xasprintf("%s/console.log", vmdir);
	char *spath = xasprintf("%s/status", vmdir);
	char *label = vm_label(vmdir);
	char *sbuf = NULL;
	const struct stage *result = NULL, *failed = NULL;
	const struct run *r = out ? out->run : NULL;
	struct verdict v = { .fail = false };
	struct stage st[64];
	size_t slen;
	int nst = 0, ret;
	bool env;

	ret = read_file(spath, &sbuf, &slen);
	if (ret && ret != -ENOENT) {
		error(spath, "cannot read the status", -ret);
		ret = EXIT_RAPIDO;
		goto out;
	}
	if (sbuf)
		nst = status_parse(spath, sbuf, st, ARRAY_SIZE(st));
	for (int i = 0; i < nst; i++) {
		if (!strcmp(st[i].name, "result")) {
			if (!result)
				result = &st[i];
		} else if (st[i].code && !failed) {
			failed = &st[i];
		}
	}
	env = !nst && !j->events && !j->init_seen && !j->poweroff;

	print_reports(j, cpath);
	if (!result && !j->events)
		print_tail(j, cpath);
	if (env && r && r->end == RUN_SILENT)
		set_reason(&v, "the guest printed nothing on the console in %d s under %s: it hangs there on this host (use --accel tcg or auto)",
			   KVM_SILENT_MS / 1000, out->accel);
	else if (env && !j->bytes && out)
		set_reason(&v, "the guest printed nothing on the console: the kernel did not start (%s, --mem %lu MiB)",
			   out->accel, out->mem);
	else if (env && !j->bytes)
		set_reason(&v, "the guest printed nothing on the console: the kernel did not start");
	else if (env && out)
		set_reason(&v, "the guest never started rapido-init: the kernel stopped before running /init (%s, --mem %lu MiB)",
			   out->accel, out->mem);
	else if (env)
		set_reason(&v, "the guest never started rapido-init: the kernel stopped before running /init");
	if (j->events && !allow_warn)
		set_reason(&v, "kernel: %s", j->first);
	else if (j->events)
		printf("%s: %zu kernel failure report(s) allowed (--allow-warn), the first: %s\n",
		       PROG, j->events, j->first);
	if (failed)
		set_reason(&v, "%s exited with status %ld", failed->name,
			   failed->code);
	if (result && result->code && !failed)
		set_reason(&v, "the guest reported result %ld", result->code);
	if (nst < 0)
		set_reason(&v, "malformed status file %s", spath);
	if (!result && j->poweroff)
		set_reason(&v, "the guest powered off before reporting a result ('%s')",
			   j->poweroff);
	if (r && r->end == RUN_TIMEOUT)
		set_reason(&v, "timeout after %lu s", out->timeout);
	if (r && r->end == RUN_EXITED && r->wstatus) {
		char how[96];

		describe_wstatus(r->wstatus, how, sizeof(how));
		set_reason(&v, "qemu %s", how);
	}
	if (!result && nst >= 0 && !j->poweroff &&
	    !(r && r->end == RUN_TIMEOUT))
		set_reason(&v, "the guest did not report a result");

	if (env)
		fprintf(stderr, "%s: %s: rapido or the host failed, not the kernel under test (console: %s)\n",
			PROG, v.reason, cpath);
	else if (v.fail)
		printf("%s: FAIL: %s (console: %s)\n", PROG, v.reason, cpath);
	else if (out)
		printf("%s: PASS (%s, %.1f s)\n", PROG, label, out->secs);
	else
		printf("%s: PASS (%s)\n", PROG, label);
	fflush(stdout);
	ret = env ? EXIT_RAPIDO : v.fail ? EXIT_FAIL : EXIT_PASS;
	if (results && write_tap(results, st, nst > 0 ? nst : 0, j->first, &v,
				 cpath))
		ret = EXIT_RAPIDO;
out:
	free(sbuf);
	free(label);
	free(cpath);
	free(spath);
	return ret;
}

/* ---- main flow ---- */

/* auto: the cached verdict for this boot and QEMU, else what /dev/kvm says. */
static const char *accel_choose(const struct opts *o, const char *cache,
				const char *id, bool *probe)
{
	const char *cached;
	int fd;

	*probe = false;
	if (!o->accel->probe)
		return o->accel->name;
	cached = id ? cache_lookup(cache, id, o->qemu) : NULL;
	if (cached)
		return cached;
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			fprintf(stderr, "%s: '/dev/kvm': cannot open: %s; using TCG\n",
				PROG, strerror(errno));
		return "tcg";
	}
	close(fd);
	*probe = true;
	return "kvm";
}

static int print_argv(const struct opts *o, const struct vm *vm,
		      const char *accel)
{
	struct args a = { 0 };

	build_args(&a, o, vm, accel);
	for (size_t i = 0; i < a.n; i++)
		printf("%s\n", a.v[i]);
	args_free(&a);
	return fflush(stdout) ? EXIT_RAPIDO : EXIT_PASS;
}

/* Judge a live run: QEMU's end, the console log's fate, then the verdict. */
static int run_verdict(const struct opts *o, const struct vm *vm,
		       struct judge *j, struct outcome *out, int logerr)
{
	if (logerr) {
		error(vm->console, "cannot write the console log", -logerr);
		fprintf(stderr, "%s: no verdict: the run's console could not be kept (QEMU stopped)\n",
			PROG);
		return EXIT_RAPIDO;
	}
	return judge(vm->dir, j, out, o->results);
}

static int run_vm(const struct opts *o, struct vm *vm, double t0)
{
	char *cache = xasprintf("%s/accel", o->dir);
	char id[64] = "", why[128];
	const char *accel;
	sigset_t mask, oldmask;
	struct outcome out = { .timeout = o->mode->batch ? o->timeout : 0 };
	struct control ctl;
	struct judge j;
	struct clog log;
	struct run r;
	int sigfd, logerr = 0, ret = EXIT_RAPIDO, fds[3] = { 0 };
	bool probe, kvm_exited = false;

	judge_init(&j);
	if (o->accel->probe && read_boot_id(id, sizeof(id)))
		goto out_free;
	accel = accel_choose(o, cache, *id ? id : NULL, &probe);

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, &oldmask);
	sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sigfd < 0) {
		error("signalfd", "cannot create", errno);
		goto out_free;
	}
	for (int i = 0; i < 3; i++)
		fds[i] = fcntl(i, F_GETFL);

	for (;;) {
		struct args a = { 0 };
		struct console_io io = { .echo = !(o->quiet && o->mode->batch),
					 .judge = &j, .log = &log };
		pid_t pid = -1;
		int pidfd = -1;

		judge_free(&j);
		judge_init(&j);
		if (vm_dir_fresh(vm) || vm_files(o, vm) ||
		    clog_open(&log, vm, o->log_limit)) {
			ret = EXIT_RAPIDO;
			goto out;
		}
		if (control_open(&ctl, o, vm)) {
			clog_close(&log);
			ret = EXIT_RAPIDO;
			goto out;
		}
		build_args(&a, o, vm, accel);
		ret = qemu_start(o, vm, a.v, &oldmask, &pid, &pidfd, &io.fd);
		args_free(&a);
		if (ret) {
			control_close(&ctl);
			clog_close(&log);
			ret = EXIT_RAPIDO;
			goto out;
		}
		qemu_wait(&io, pid, pidfd, sigfd, out.timeout, probe,
			  !probe && !strcmp(accel, "kvm") ? KVM_SILENT_MS : 0,
			  &r, &ctl);
		judge_finish(&j);
		if (io.fd >= 0)
			close(io.fd);
		control_close(&ctl);
		logerr = clog_close(&log);
		/* QEMU may leave our shared stdio non-blocking. */
		for (int i = 0; i < 3; i++)
			if (fds[i] >= 0)
				fcntl(i, F_SETFL, fds[i]);
		if (r.end == RUN_SIGNAL)
			break;
		if (probe && (r.end == RUN_SILENT ||
			      (r.end == RUN_EXITED && r.wstatus &&
			       !r.console_seen))) {
			char how[96];

			if (r.end == RUN_SILENT) {
				snprintf(why, sizeof(why),
					 "no console output in %d s",
					 PROBE_MS / 1000);
			} else {
				describe_wstatus(r.wstatus, how, sizeof(how));
				snprintf(why, sizeof(why), "qemu %s", how);
			}
			fprintf(stderr,
				"%s: KVM did not start the guest (%s); using TCG (cached in %s)\n",
				PROG, why, cache);
			cache_store(cache, id, o->qemu, "tcg");
			kvm_exited = r.end == RUN_EXITED;
			accel = "tcg";
			probe = false;
			continue;
		}
		if (probe && r.console_seen)
			cache_store(cache, id, o->qemu, "kvm");
		break;
	}

	if (r.end == RUN_SIGNAL) {
		fprintf(stderr, "%s: stopped by signal %d (%s); QEMU killed (console: %s)\n",
			PROG, r.signo, strsignal(r.signo), vm->console);
		ret = 128 + r.signo;
		goto out;
	}
	if (r.end == RUN_EXITED && r.wstatus && !r.console_seen) {
		char how[96];

		show_qemu_err(vm);
		describe_wstatus(r.wstatus, how, sizeof(how));
		fprintf(stderr, "%s: '%s': failed to start the VM: it %s\n",
			PROG, o->qemu, how);
		if (kvm_exited && !cache_store(cache, id, o->qemu, NULL))
			fprintf(stderr,
				"%s: QEMU fails with TCG too, so KVM was not the cause: verdict dropped from %s\n",
				PROG, cache);
		ret = EXIT_RAPIDO;
		goto out;
	}
	if (r.end == RUN_EXITED && r.wstatus)
		show_qemu_err(vm);
	if (r.end == RUN_POWEROFF)
		printf("%s: the guest powered off ('%s'): QEMU stopped\n", PROG,
		       j.poweroff);
	out.run = &r;
	out.secs = now() - t0;
	out.accel = accel;
	out.mem = o->mem;
	ret = run_verdict(o, vm, &j, &out, logerr);
out:
	close(sigfd);
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
out_free:
	judge_free(&j);
	free(cache);
	return ret;
}

/*
 * Die with the parent (the driver): if it is killed, even with SIGKILL, we
 * get SIGTERM and stop QEMU. The parent may have died before the prctl.
 */
static int follow_parent(void)
{
	pid_t parent = getppid();

	if (prctl(PR_SET_PDEATHSIG, SIGTERM)) {
		error("prctl", "cannot set PR_SET_PDEATHSIG", errno);
		return -errno;
	}
	if (getppid() != parent) {
		fprintf(stderr, "%s: the parent process is gone: not starting\n",
			PROG);
		return -ESRCH;
	}
	return 0;
}

/* util.c's messages (this program still has its own, for now) */
extern const char *const prog;
const char *const prog = PROG;

int main(int argc, char **argv)
{
	double t0 = now();
	struct vm vm = { .lock_fd = -1, .top_fd = -1, .dfd = -1 };
	struct sockaddr_un sun;
	const char *accel;
	struct opts o;
	bool probe;
	char id[64];
	int ret;

	ret = parse_opts(&o, argc, argv);
	if (ret)
		return ret > 0 ? EXIT_PASS : EXIT_RAPIDO;
	if (o.check) {
		char *path = xasprintf("%s/console.log", o.check);
		struct judge j;

		judge_init(&j);
		ret = judge_file(&j, path);
		if (ret) {
			error(path, "cannot read the console log", -ret);
			ret = EXIT_RAPIDO;
		} else {
			ret = judge(o.check, &j, NULL, o.results);
		}
		judge_free(&j);
		free(path);
		return ret;
	}

	check_input(o.kernel);
	check_input(o.initrd);
	for (int i = 0; i < o.nextra; i++)
		expand_arg(o.extra[i], NULL, NULL, NULL);
	if (nerrors)
		return EXIT_RAPIDO;
	if (!o.print_argv && !o.mode->batch && !isatty(0)) {
		fprintf(stderr, "%s: --mode boot: stdin is not a terminal, so there is no shell to give: running as --mode test\n",
			PROG);
		o.mode = &mode_table[0];
	}
	if (!o.print_argv && follow_parent())
		return EXIT_RAPIDO;
	if (mkdir_p(o.dir) || vm_lock(&o, &vm) || vm_nic(&o, &vm))
		return EXIT_RAPIDO;
	if (strlen(o.control ? vm.control : vm.qmp) >= sizeof(sun.sun_path)) {
		error(o.control ? vm.control : vm.qmp,
		      "path too long for a unix socket: use a shorter --dir", 0);
		return EXIT_RAPIDO;
	}
	if (o.print_argv) {
		char *cache = xasprintf("%s/accel", o.dir);

		accel = accel_choose(&o, cache,
				     read_boot_id(id, sizeof(id)) ? NULL : id,
				     &probe);
		free(cache);
		return print_argv(&o, &vm, accel);
	}
	return run_vm(&o, &vm, t0);
}
