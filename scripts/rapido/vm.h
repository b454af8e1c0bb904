/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vm.h - the units of rapido-vm (the contract is in rapido-vm.c):
 *
 *   rapido-vm.c     main, the event loop and the lifecycle of N VMs
 *   vm-opts.c       the command line
 *   vm-dir.c        vm numbers (locks), DIR/vm<N>, --file, the lab NIC
 *   vm-args.c       the QEMU argv, the qemu file's ${...}, the KVM cache
 *   vm-qmp.c        the control channel and a non-blocking QMP client
 *   vm-console.c    the console stream: terminal, capped log, QEMU's start
 *   vm-judge.c      the verdict: kernel reports on the console, the status
 *   vm-hook.c       the host-side start/stop hooks
 */
#ifndef RAPIDO_VM_H
#define RAPIDO_VM_H

#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "rapido-proto.h"
#include "util.h"

#define VM_MAX		PROTO_VM_MAX
#define PROBE_MS	3000	/* KVM must show a console byte by then */
#define KVM_SILENT_MS	30000	/* ... when asked for: then it hangs */
#define KILL_GRACE_MS	3000	/* SIGTERM, then SIGKILL */
#define EVENTS_SHOWN	3	/* kernel failure reports printed */
#define EVENT_LINES	40	/* lines printed per report, at most */
#define TAIL_LINES	20	/* console tail when no result came */
#define REASON_MAX	120
#define SPLATS_MAX	1000	/* kernel reports listed by line, at most */
#define CONTROL_MAX	PROTO_CONTROL_MAX
#define QMP_MS		30000	/* one QMP exchange, at most */
#define FILES_MAX	16	/* --file */
#define LINE_KEEP	1024	/* bytes of a console line judged */
#define LOG_LIMIT	(16ULL << 20)	/* console.log, default */

/* test: batch run with a deadline; boot: interactive, monitor on Ctrl-a c */
struct mode {
	const char *name;
	const char *chardev;	/* -chardev backend options before id= */
	bool monitor;		/* -mon on the console chardev */
	bool batch;		/* stdin from /dev/null, timeout, own pgrp */
};

struct machine {
	const char *name;
	const char *opts;	/* appended to -M <name>,accel=<a> */
	const char *vserial;	/* virtio-serial controller device */
	const char *virtio;	/* ${VIRTIO}: virtio-<x>-${VIRTIO} devices */
};

struct accel {
	const char *name;
	bool probe;		/* decide between kvm and tcg at run time */
	const char *cmdline;
};

extern const struct mode mode_table[2];
extern const struct machine machine_table[3];
extern const struct accel accel_table[3];

#define LOOKUP(table, key) lookup(table, ARRAY_SIZE(table), sizeof(table[0]), \
				  key)
const void *lookup(const void *table, size_t n, size_t size, const char *key);

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
	unsigned long vms;	/* VMs of the run */
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
	const char *hook_start;	/* --hook-start CMD */
	const char *hook_stop;	/* --hook-stop CMD */
	const char *attach;	/* --attach DIR/vm<N> */
};

enum run_end {
	RUN_EXITED,		/* QEMU exited; wstatus valid */
	RUN_TIMEOUT,		/* we killed it at the deadline */
	RUN_SILENT,		/* KVM: no console byte in time */
	RUN_SIGNAL,		/* we were told to stop; signo valid */
	RUN_POWEROFF,		/* the guest powered off: we ended QEMU */
	RUN_LOGFAIL,		/* the console log cannot be written */
	RUN_PEER,		/* boot mode: vm1 ended, so did the others */
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
	int allow;		/* what allowed it (struct splat's) */
};

/*
 * One kernel report as the list names it: its marker line, where it is
 * and what allowed it (ALLOW_NONE: it fails the run).
 */
#define ALLOW_NONE	(-1)
#define ALLOW_ALL	(-2)	/* --allow-warn */
struct splat {
	size_t line;		/* console line of the marker */
	int allow;		/* index of the allow pattern, or ALLOW_* */
	char text[REASON_MAX + 1];
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
	size_t failing;		/* events no allow pattern matched */
	char first[REASON_MAX + 1];	/* the first report's marker line */
	char first_fail[REASON_MAX + 1];	/* ... of a failing one */
	char first_allowed[REASON_MAX + 1];	/* ... of an allowed one */
	struct splat *splats;	/* the first SPLATS_MAX events */
	size_t nsplats, splats_cap;
	bool init_seen;		/* rapido-init said it started */
	const char *poweroff;	/* the kernel's power-off line, if seen */
};

/* The verdict of one VM, for the merged one. */
struct verdict {
	char reason[REASON_MAX + 64];
	bool fail;
	int code;		/* EXIT_PASS, EXIT_FAIL or EXIT_RAPIDO */
};

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

/* QEMU's serial console: the read end of its stdout. */
struct console_io {
	int fd;			/* -1 at EOF */
	bool echo;		/* copy to our stdout */
	const char *prefix;	/* before each echoed line (several VMs) */
	char *line;		/* with a prefix: the line so far, unechoed */
	size_t line_len;
	struct judge *judge;
	struct clog *log;
	int peer;		/* an attached client (console.sock), or -1 */
};

/* One QMP exchange, driven by the event loop (vm-qmp.c). */
enum qmp_state {
	QMP_IDLE,
	QMP_CONNECT,		/* non-blocking connect() under way */
	QMP_GREETING,		/* waiting for {"QMP": ...} */
	QMP_CAPS,		/* qmp_capabilities sent */
	QMP_COMMAND,		/* the command sent */
};

/* The guest's control channel and its QMP requests, one at a time. */
struct control {
	int listen_fd;		/* control.sock, -1: no control channel */
	int conn_fd;		/* QEMU's connection, -1: none yet */
	char buf[CONTROL_MAX];	/* request lines not yet answered */
	size_t len;
	/* the request in flight */
	enum qmp_state state;
	int qmp_fd;
	double deadline;	/* ms, now_ms() */
	char *req;		/* the request line */
	char *cmd;		/* its QMP command */
	const struct action *act;
	char in[CONTROL_MAX];	/* QMP's bytes not yet a line */
	size_t in_len;
	const struct vm *vm;
};

struct vm {
	unsigned int num;
	int lock_fd;
	int dfd;		/* DIR/vm<N>, -1 until made afresh */
	char *label;		/* vm<N> */
	char *prefix;		/* "vm<N>| ": its echoed lines */
	char *dir;		/* DIR/vm<N> */
	char *console;
	char *status;
	char *qmp;
	char *qemu_err;		/* QEMU's stderr */
	char *control;		/* control.sock */
	char *tap_file;		/* result.tap, with several VMs */
	/* the lab NIC (from --nic, --netns, --guest-net or --lab), or NULL */
	char *netns, *tap, *mac, *guest_net;
	int netns_fd;		/* /run/netns/<netns>, or -1 */
	bool boot;		/* its console is the terminal (boot mode) */
	/* boot mode, not vm1: its console reached through console.sock */
	char *con_sock;
	int con_listen;		/* console.sock, or -1 */
	int con_in;		/* QEMU's stdin, or -1 */

	/* the run, while QEMU lives */
	pid_t pid;		/* -1: not started or reaped */
	int pidfd;
	double kill_at;		/* SIGKILL then (ms); 0: not being killed */
	double t_end;		/* when QEMU ended (ms) */
	struct console_io io;
	struct judge judge;
	struct clog log;
	struct control ctl;
	struct run run;
	int logerr;		/* the console log's failure, -errno */
	struct verdict verdict;
};

/* what the whole run shares */
struct fleet {
	const struct opts *o;
	int top_fd;		/* DIR */
	struct vm *vms;
	unsigned int n;
};

/* vm-opts.c */
int parse_opts(struct opts *o, int argc, char **argv);
int parse_file_opt(const char *s, unsigned long long *size);
bool valid_word(const char *s);
bool valid_mac(const char *s);
int check_input(const char *path);

/* vm-dir.c */
int vms_lock(struct fleet *f);
int vm_nic(const struct opts *o, struct vm *vm);
int vm_dir_fresh(const struct fleet *f, struct vm *vm);
int vm_files(const struct opts *o, const struct vm *vm);
void describe_wstatus(int st, char *buf, size_t len);

/* vm-args.c */
struct args {
	char **v;
	size_t n;
	size_t cap;
};

void args_free(struct args *a);
int expand_arg(const char *arg, const struct vm *vm,
	       const struct machine *m, char **out);
void build_args(struct args *a, const struct opts *o, const struct vm *vm,
		const char *accel);
int read_boot_id(char *id, size_t len);
int cache_store(const char *cache, const char *id, const char *qemu,
		const char *verdict);
const char *accel_choose(const struct opts *o, const char *cache,
			 const char *id, bool *probe);

/* vm-qmp.c */
int listen_unix(const char *path);
int control_open(struct control *ctl, const struct opts *o,
		 const struct vm *vm);
void control_close(struct control *ctl);
/* its descriptors into @p (3 slots; -1 for none), its next deadline */
void control_pollfds(const struct control *ctl, struct pollfd *p);
double control_deadline(const struct control *ctl);
void control_events(struct control *ctl, const struct pollfd *p);

/* vm-console.c */
int clog_open(struct clog *l, const struct vm *vm, unsigned long long limit);
int clog_close(struct clog *l);
void console_close(struct console_io *io);
ssize_t console_read(struct console_io *io);
int qemu_start(const struct opts *o, struct vm *vm, char **argv,
	       const sigset_t *oldmask);
int console_listen(struct vm *vm);
void console_pollfds(const struct vm *vm, struct pollfd *p);
void console_serve(struct vm *vm, const struct pollfd *p);
void console_unlisten(struct vm *vm);
int console_attach(const char *vmdir);
void show_qemu_err(const struct vm *vm);

/* vm-judge.c */
/* --allow-warn: kernel reports are named, but do not fail the run */
extern bool judge_allow_warn;
/* --allow-warn-from FILE: those whose marker line matches an ERE of FILE */
int judge_allow_file(const char *path);
void judge_init(struct judge *j);
void judge_free(struct judge *j);
void judge_feed(struct judge *j, const char *buf, size_t len);
void judge_finish(struct judge *j);
int judge_file(struct judge *j, const char *path);
int judge(const char *vmdir, struct judge *j, const struct outcome *out,
	  const char *results, const char *label, struct verdict *v);

/* vm-hook.c */
int hook_start(const struct fleet *f, int sigfd, const sigset_t *oldmask);
int hook_stop(void);

#endif /* RAPIDO_VM_H */
