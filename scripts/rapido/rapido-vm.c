// SPDX-License-Identifier: GPL-2.0
/*
 * rapido-vm - boot the VMs of one run under QEMU, judge them, exit with
 * the merged verdict
 *
 *   rapido-vm --kernel FILE --initrd FILE --dir DIR [--vms N] [options]
 *             [-- EXTRA-QEMU-ARGS...]
 *   rapido-vm --check DIR/vm<N>
 *
 * One process, one event loop (poll) for all N VMs of a run: their
 * consoles, QEMUs (pidfds), control sockets and QMP exchanges, the
 * signals and the deadline. The VMs take the first free vm number (a lock
 * DIR/vm<N>.lock held for the run) and the free ones above it, and start
 * side by side, each with its own DIR/vm<N>/ (console.log, status,
 * qemu.err, control.sock, qmp.sock, result.tap with several VMs).
 *
 * The guest reports "<stage> <code>" lines and a final "result <code>" on
 * the virtio-serial port rapido.status (host side: DIR/vm<N>/status); the
 * kernel's own failure reports (panic, oops, BUG, WARN, KASAN, ...) are
 * found on the serial console, which QEMU writes to its stdout, a pipe:
 * rapido-vm judges it line by line as it streams (vm-judge.c), passes it
 * on to the terminal (with several VMs, each line after "vm<N>| ") and
 * keeps it in DIR/vm<N>/console.log (capped by --log-limit; a log that
 * cannot be written stops the run, exit 128). Both must be clean for a
 * pass. The kernel's power-off line ends that VM's QEMU at once (microvm
 * has no power-off device); a guest that never started rapido-init is
 * exit 128, not a test result.
 *
 * The verdicts merge into one: 0 if every VM passed, 128 if any VM's is
 * 128 (rapido or the host failed), else 1; each failing VM is named
 * ("FAIL: vm2: kernel: Kernel panic ... (console: DIR/vm2/console.log)"),
 * and --results FILE gets one TAP point per VM.
 *
 * --mode boot: vm1's console is the terminal (QEMU's monitor on Ctrl-a
 * c); the others' go to their logs and to a unix socket
 * DIR/vm<N>/console.sock, which `rapido-vm --attach DIR/vm<N>` makes
 * another terminal's (Ctrl-] detaches). The run ends when vm1's QEMU does
 * (the others are stopped then).
 *
 * rapido-vm dies with its parent (PR_SET_PDEATHSIG), QEMU with rapido-vm;
 * nothing under DIR is opened through a symlink.
 *
 * With --control the guest may also ask for QMP commands on a second port,
 * rapido.control (host side: a unix socket DIR/vm<N>/control.sock that
 * rapido-vm listens on and QEMU connects to): one request per line, either
 * a QMP command as a JSON object, passed on verbatim, or a named action
 * from action_table ("drive_del hda"). rapido-vm runs it on the QMP socket
 * without blocking the loop (vm-qmp.c) and writes QEMU's reply line back
 * ({"return": ...} or {"error": ...}); DIR/vm<N>/control.log keeps both.
 * Extra QEMU arguments (a profile's qemu file) may name, per VM, ${VMDIR}
 * (DIR/vm<N>), ${VIRTIO} (the virtio transport suffix of the machine:
 * device or pci), ${VM} (N) and ${MAC} (its NIC's MAC, else
 * 52:54:00:72:61:<N in hex>); --file NAME:SIZE makes a sparse
 * DIR/vm<N>/NAME before QEMU starts. -nodefaults stays: a VM has a NIC
 * only if asked for one.
 *
 * A VM with a lab NIC: --netns NAME runs QEMU (only QEMU: setns(2) in its
 * child before the exec) in the network namespace /run/netns/NAME, and
 * --nic tap=TAP,mac=MAC adds a virtio-net NIC on the existing tap TAP
 * there (-netdev tap,script=no), with --guest-net ADDR/PREFIX,GATEWAY,
 * HOSTNAME for rapido-init (rapido.net= on the kernel command line;
 * addresses only); one VM only. --lab PROG gives all four for each VM:
 * rapido-vm runs `PROG nic N` once it holds vm<N> (so two runs never
 * share a tap) and reads netns=, tap=, mac=, net= lines from its stdout
 * (services/lab).
 *
 * Host hooks: --hook-start CMD and --hook-stop CMD, the contract in
 * vm-hook.c (the stop hook runs on every way out).
 *
 * Exit: 0 pass; 1 fail; 128 rapido-vm itself cannot run; 128 + signal when
 * interrupted.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "vm.h"

const char *const prog = "rapido-vm";

/* Stop @vm's QEMU for @end: SIGTERM now, SIGKILL after the grace. */
static void vm_kill(struct vm *vm, enum run_end end)
{
	vm->run.end = end;
	kill(vm->pid, SIGTERM);
	vm->kill_at = now_ms() + KILL_GRACE_MS;
}

/* Has @vm's QEMU a reason to be stopped? */
static enum run_end vm_check(const struct vm *vm, double t0, double deadline,
			     bool probe, int silent_ms)
{
	double t = now_ms();

	if (vm->log.err)
		return RUN_LOGFAIL;
	if (vm->judge.poweroff)
		return RUN_POWEROFF;
	if (probe && !vm->run.console_seen && t - t0 >= PROBE_MS)
		return RUN_SILENT;
	if (silent_ms && !vm->judge.bytes && t - t0 >= silent_ms)
		return RUN_SILENT;
	if (deadline && t >= deadline)
		return RUN_TIMEOUT;
	return RUN_EXITED;
}

/* QEMU ended: reap it, take what it wrote last. */
static void vm_reap(struct vm *vm)
{
	while (waitpid(vm->pid, &vm->run.wstatus, 0) < 0 && errno == EINTR)
		;
	vm->pid = -1;
	close(vm->pidfd);
	vm->pidfd = -1;
	vm->t_end = now_ms();
	while (console_read(&vm->io) > 0)
		;
	if (!vm->run.console_seen)
		vm->run.console_seen = vm->judge.bytes;
}

/* The poll timeout: the nearest of the deadlines, in ms (-1: none). */
static int loop_ms(const struct fleet *f, double deadline, bool quick)
{
	double t = now_ms(), next = deadline;
	int ms;

	for (unsigned int i = 0; i < f->n; i++) {
		const struct vm *vm = &f->vms[i];
		double d = control_deadline(&vm->ctl);

		if (vm->pid < 0)
			continue;
		if (vm->kill_at && (!next || vm->kill_at < next))
			next = vm->kill_at;
		if (d && (!next || d < next))
			next = d;
	}
	ms = !next ? -1 : next > t ? (int)(next - t) + 1 : 0;
	if (quick && (ms < 0 || ms > 20))
		ms = 20;
	return ms;
}

/*
 * The event loop: until every QEMU of the run ended, pass the consoles on,
 * serve the control channels, and stop a VM that powered off, timed out,
 * stayed silent (the KVM probe), whose log failed, or all of them on a
 * signal on @sigfd. With @probe each QEMU must put a byte on its console
 * within PROBE_MS, with @silent_ms (0: any time) within that.
 */
static void fleet_wait(struct fleet *f, int sigfd, unsigned long timeout,
		       bool probe, int silent_ms)
{
	const unsigned int per = 7;	/* pidfd, console, 3 control, 2 attach */
	double t0 = now_ms(), deadline = timeout ? t0 + timeout * 1000.0 : 0;
	struct pollfd *p = xcalloc(1 + per * f->n, sizeof(*p));
	bool boot = f->n > 1 && !f->o->mode->batch;
	int signo = 0;

	for (;;) {
		unsigned int live = 0;
		bool quick = false;
		int n;

		p[0] = (struct pollfd) { .fd = signo ? -1 : sigfd,
					 .events = POLLIN };
		for (unsigned int i = 0; i < f->n; i++) {
			struct vm *vm = &f->vms[i];
			struct pollfd *q = &p[1 + per * i];

			live += vm->pid > 0;
			q[0] = (struct pollfd) { .fd = vm->pid > 0 ? vm->pidfd : -1,
						 .events = POLLIN };
			q[1] = (struct pollfd) { .fd = vm->io.fd,
						 .events = POLLIN };
			control_pollfds(&vm->ctl, &q[2]);
			console_pollfds(vm, &q[5]);
			if (vm->pid > 0 && !vm->kill_at &&
			    ((probe && !vm->run.console_seen) ||
			     (silent_ms && !vm->judge.bytes)))
				quick = true;
		}
		if (!live)
			break;
		n = poll(p, 1 + per * f->n, loop_ms(f, signo ? 0 : deadline,
						     quick));
		if (n < 0 && errno != EINTR) {
			error_errno(errno, "cannot wait for QEMU (poll)");
			signo = SIGTERM;
		} else if (n > 0 && p[0].revents) {
			struct signalfd_siginfo si;

			signo = SIGTERM;
			if (read(sigfd, &si, sizeof(si)) == sizeof(si))
				signo = si.ssi_signo;
		}
		for (unsigned int i = 0; i < f->n; i++) {
			struct vm *vm = &f->vms[i];
			struct pollfd *q = &p[1 + per * i];
			enum run_end end;

			if (n > 0 && q[1].revents)
				console_read(&vm->io);
			if (n > 0)
				console_serve(vm, &q[5]);
			if (vm->pid > 0 || vm->ctl.conn_fd >= 0)
				control_events(&vm->ctl, &q[2]);
			if (vm->judge.bytes)
				vm->run.console_seen = true;
			if (vm->pid < 0)
				continue;
			if (n > 0 && q[0].revents) {
				vm_reap(vm);
				continue;
			}
			if (vm->kill_at) {
				if (now_ms() >= vm->kill_at) {
					kill(vm->pid, SIGKILL);
					vm->kill_at = now_ms() + 3600e3;
				}
				continue;
			}
			if (signo) {
				vm->run.signo = signo;
				vm_kill(vm, RUN_SIGNAL);
				continue;
			}
			if (boot && i && f->vms[0].pid < 0) {
				vm_kill(vm, RUN_PEER);
				continue;
			}
			end = vm_check(vm, t0, deadline,
				       probe && !vm->run.console_seen,
				       silent_ms);
			if (end != RUN_EXITED)
				vm_kill(vm, end);
		}
	}
	free(p);
}

/* Start every VM of the run (side by side); -errno if one cannot. */
static int fleet_start(struct fleet *f, const char *accel,
		       const sigset_t *oldmask)
{
	const struct opts *o = f->o;

	for (unsigned int i = 0; i < f->n; i++) {
		struct vm *vm = &f->vms[i];
		struct args a = { 0 };
		int ret;

		vm->io = (struct console_io) {
			.fd = -1, .peer = -1,
			.echo = f->n > 1 && !o->mode->batch ? vm->boot :
				!(o->quiet && o->mode->batch),
			.prefix = f->n > 1 && o->mode->batch ? vm->prefix : NULL,
			.judge = &vm->judge, .log = &vm->log,
		};
		vm->run = (struct run) { .end = RUN_EXITED };
		vm->kill_at = 0;
		judge_free(&vm->judge);
		judge_init(&vm->judge);
		if (vm_dir_fresh(f, vm) || vm_files(o, vm))
			return -EIO;
		if (clog_open(&vm->log, vm, o->log_limit))
			return -EIO;
		if (control_open(&vm->ctl, o, vm))
			return -EIO;
		if (!o->mode->batch && !vm->boot && console_listen(vm))
			return -EIO;
		build_args(&a, o, vm, accel);
		ret = qemu_start(o, vm, a.v, oldmask);
		args_free(&a);
		if (ret)
			return ret;
	}
	return 0;
}

/* After the loop (or a failed start): close what the VMs' runs opened. */
static void fleet_close(struct fleet *f)
{
	for (unsigned int i = 0; i < f->n; i++) {
		struct vm *vm = &f->vms[i];

		if (vm->pid > 0) {
			kill(vm->pid, SIGKILL);
			vm_reap(vm);
		}
		judge_finish(&vm->judge);
		console_close(&vm->io);
		control_close(&vm->ctl);
		console_unlisten(vm);
		vm->logerr = clog_close(&vm->log);
	}
}

/* A VM whose QEMU failed before a byte on its console: 128. */
static int vm_no_start(const struct opts *o, const struct vm *vm,
		       bool kvm_exited, const char *cache, const char *id)
{
	char how[96];

	show_qemu_err(vm);
	describe_wstatus(vm->run.wstatus, how, sizeof(how));
	fprintf(stderr, "%s: '%s': failed to start the VM%s%s: it %s\n",
		prog, o->qemu, vm->num > 1 ? " " : "",
		vm->num > 1 ? vm->label : "", how);
	if (kvm_exited && !cache_store(cache, id, o->qemu, NULL))
		fprintf(stderr,
			"%s: QEMU fails with TCG too, so KVM was not the cause: verdict dropped from %s\n",
			prog, cache);
	return EXIT_RAPIDO;
}

/* Judge one VM of a finished run; its verdict in vm->verdict. */
static int vm_verdict(const struct fleet *f, struct vm *vm, const char *accel,
		      double t0)
{
	const struct opts *o = f->o;
	struct outcome out = {
		.run = &vm->run,
		.timeout = o->mode->batch ? o->timeout : 0,
		.accel = accel,
		.mem = o->mem,
		.secs = (vm->t_end - t0) / 1000,
	};

	if (vm->logerr) {
		error_errno(vm->logerr, "cannot write the console log '%s'",
			    vm->console);
		fprintf(stderr, "%s: no verdict: the run's console could not be kept (QEMU stopped)\n",
			prog);
		vm->verdict = (struct verdict) { .fail = true,
						 .code = EXIT_RAPIDO };
		snprintf(vm->verdict.reason, sizeof(vm->verdict.reason),
			 "its console log cannot be written");
		return EXIT_RAPIDO;
	}
	if (vm->run.end == RUN_EXITED && vm->run.wstatus)
		show_qemu_err(vm);
	if (vm->run.end == RUN_POWEROFF)
		printf("%s: %s%sthe guest powered off ('%s'): QEMU stopped\n",
		       prog, f->n > 1 ? vm->label : "", f->n > 1 ? ": " : "",
		       vm->judge.poweroff);
	return judge(vm->dir, &vm->judge, &out,
		     f->n > 1 ? vm->tap_file : o->results,
		     f->n > 1 ? vm->label : NULL, &vm->verdict);
}

/* Several VMs: one line that names the failing ones, one TAP for all. */
static int fleet_merge(const struct fleet *f, int ret)
{
	char *text = NULL;
	size_t len;
	FILE *t = open_memstream(&text, &len);
	unsigned int bad = 0;

	if (!t)
		fatal_oom();
	fprintf(t, "TAP version 13\n");
	for (unsigned int i = 0; i < f->n; i++) {
		const struct vm *vm = &f->vms[i];

		if (vm->verdict.code) {
			bad++;
			fprintf(t, "not ok %u - %s # %s\n", i + 1, vm->label,
				vm->verdict.reason);
		} else {
			fprintf(t, "ok %u - %s\n", i + 1, vm->label);
		}
	}
	fprintf(t, "1..%u\n", f->n);
	for (unsigned int i = 0; i < f->n; i++)
		fprintf(t, "# %s: %s\n", f->vms[i].label, f->vms[i].tap_file);
	if (fclose(t))
		fatal_oom();
	if (f->o->results &&
	    write_file(f->o->results, text, len, 0644) && ret < EXIT_RAPIDO)
		ret = EXIT_RAPIDO;
	free(text);
	if (!bad) {
		printf("%s: PASS: all %u VMs passed\n", prog, f->n);
		return ret;
	}
	printf("%s: FAIL: %u of %u VMs failed:", prog, bad, f->n);
	for (unsigned int i = 0; i < f->n; i++)
		if (f->vms[i].verdict.code)
			printf(" %s (%s)", f->vms[i].label, f->vms[i].console);
	printf("\n");
	return ret;
}

static int fleet_run(struct fleet *f, double t0)
{
	const struct opts *o = f->o;
	char *cache = path_join(o->dir, "accel");
	char id[64] = "";
	const char *accel;
	sigset_t mask, oldmask;
	int sigfd, ret = EXIT_RAPIDO, fds[3] = { 0 }, signo = 0;
	bool probe, kvm_exited = false;

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
		error_errno(errno, "cannot create a signalfd");
		goto out_free;
	}
	for (int i = 0; i < 3; i++)
		fds[i] = fcntl(i, F_GETFL);
	ret = hook_start(f, sigfd, &oldmask);
	if (ret)
		goto out;

	for (;;) {
		bool retry = false, seen = true;

		if (fleet_start(f, accel, &oldmask)) {
			fleet_close(f);
			ret = EXIT_RAPIDO;
			goto out;
		}
		fleet_wait(f, sigfd, o->mode->batch ? o->timeout : 0, probe,
			   !probe && !strcmp(accel, "kvm") ? KVM_SILENT_MS : 0);
		fleet_close(f);
		/* QEMU may leave our shared stdio non-blocking. */
		for (int i = 0; i < 3; i++)
			if (fds[i] >= 0)
				fcntl(i, F_SETFL, fds[i]);
		for (unsigned int i = 0; i < f->n; i++) {
			const struct run *r = &f->vms[i].run;

			if (r->end == RUN_SIGNAL)
				signo = r->signo;
			if (r->end == RUN_SILENT ||
			    (r->end == RUN_EXITED && r->wstatus &&
			     !r->console_seen))
				retry = true;
			seen &= r->console_seen;
		}
		if (signo || !probe)
			break;
		if (retry) {
			const struct vm *vm = &f->vms[0];
			char why[128], how[96];

			for (unsigned int i = 0; i < f->n; i++)
				if (f->vms[i].run.end == RUN_SILENT ||
				    f->vms[i].run.wstatus)
					vm = &f->vms[i];
			if (vm->run.end == RUN_SILENT) {
				snprintf(why, sizeof(why),
					 "no console output in %d s",
					 PROBE_MS / 1000);
			} else {
				describe_wstatus(vm->run.wstatus, how,
						 sizeof(how));
				snprintf(why, sizeof(why), "qemu %s", how);
			}
			fprintf(stderr,
				"%s: KVM did not start the guest (%s); using TCG (cached in %s)\n",
				prog, why, cache);
			cache_store(cache, id, o->qemu, "tcg");
			kvm_exited = vm->run.end == RUN_EXITED;
			accel = "tcg";
			probe = false;
			continue;
		}
		if (seen)
			cache_store(cache, id, o->qemu, "kvm");
		break;
	}

	if (signo) {
		fprintf(stderr, "%s: stopped by signal %d (%s); QEMU killed (console: %s)\n",
			prog, signo, strsignal(signo), f->vms[0].console);
		ret = 128 + signo;
		goto out;
	}
	ret = EXIT_PASS;
	for (unsigned int i = 0; i < f->n; i++) {
		struct vm *vm = &f->vms[i];
		const struct run *r = &vm->run;
		int code;

		if (r->end == RUN_EXITED && r->wstatus && !r->console_seen) {
			code = vm_no_start(o, vm, kvm_exited, cache, id);
			vm->verdict = (struct verdict) { .fail = true,
							 .code = code };
			snprintf(vm->verdict.reason,
				 sizeof(vm->verdict.reason),
				 "QEMU failed to start it (%s)", vm->qemu_err);
		} else {
			code = vm_verdict(f, vm, accel, t0);
		}
		if (code > ret)
			ret = code;
	}
	if (f->n > 1)
		ret = fleet_merge(f, ret);
out:
	if (hook_stop() && ret < EXIT_RAPIDO)
		ret = EXIT_RAPIDO;
	close(sigfd);
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
out_free:
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
		error_errno(errno, "cannot set PR_SET_PDEATHSIG");
		return -errno;
	}
	if (getppid() != parent) {
		error("the parent process is gone: not starting");
		return -ESRCH;
	}
	return 0;
}

/* --print-argv: each VM's QEMU argv ("# vm<N>" before each of several) */
static int print_argv(const struct fleet *f)
{
	char *cache = path_join(f->o->dir, "accel");
	const char *accel;
	char id[64];
	bool probe;

	accel = accel_choose(f->o, cache,
			     read_boot_id(id, sizeof(id)) ? NULL : id, &probe);
	free(cache);
	for (unsigned int i = 0; i < f->n; i++) {
		struct args a = { 0 };

		if (f->n > 1)
			printf("# %s\n", f->vms[i].label);
		build_args(&a, f->o, &f->vms[i], accel);
		for (size_t k = 0; k < a.n; k++)
			printf("%s\n", a.v[k]);
		args_free(&a);
	}
	return fflush(stdout) ? EXIT_RAPIDO : EXIT_PASS;
}

/* --check DIR/vm<N>: judge a finished run's files. */
static int check(const struct opts *o)
{
	char *path = path_join(o->check, "console.log");
	struct judge j;
	int ret;

	judge_init(&j);
	ret = judge_file(&j, path);
	if (ret) {
		error_errno(ret, "cannot read the console log '%s'", path);
		ret = EXIT_RAPIDO;
	} else {
		ret = judge(o->check, &j, NULL, o->results, NULL, NULL);
	}
	judge_free(&j);
	free(path);
	return ret;
}

/* Boot mode with several VMs: where the others' consoles are. */
static void show_consoles(const struct fleet *f)
{
	if (f->o->mode->batch || f->n < 2)
		return;
	fprintf(stderr, "%s: vm%u's console is this terminal; the others' from another one:\n",
		prog, f->vms[0].num);
	for (unsigned int i = 1; i < f->n; i++)
		fprintf(stderr, "%s:   %s: %s --attach %s (Ctrl-] detaches; log: %s)\n",
			prog, f->vms[i].label, prog, f->vms[i].dir,
			f->vms[i].console);
}

int main(int argc, char **argv)
{
	double t0 = now_ms();
	struct sockaddr_un sun;
	struct fleet f = { .top_fd = -1 };
	struct opts o;
	int ret;

	ret = parse_opts(&o, argc, argv);
	if (ret)
		return ret > 0 ? EXIT_PASS : EXIT_RAPIDO;
	if (o.check)
		return check(&o);
	if (o.attach)
		return console_attach(o.attach);

	check_input(o.kernel);
	check_input(o.initrd);
	for (int i = 0; i < o.nextra; i++)
		expand_arg(o.extra[i], NULL, NULL, NULL);
	if (nerrors)
		return EXIT_RAPIDO;
	if (!o.print_argv && !o.mode->batch && !isatty(0)) {
		warn("--mode boot: stdin is not a terminal, so there is no shell to give: running as --mode test");
		o.mode = &mode_table[0];
	}
	if (!o.print_argv && follow_parent())
		return EXIT_RAPIDO;
	f.o = &o;
	f.n = o.vms;
	f.vms = xcalloc(f.n, sizeof(*f.vms));
	for (unsigned int i = 0; i < f.n; i++) {
		struct vm *vm = &f.vms[i];

		vm->lock_fd = vm->dfd = vm->netns_fd = vm->pidfd = -1;
		vm->pid = -1;
		vm->io.fd = vm->log.fd = vm->io.peer = -1;
		vm->con_listen = vm->con_in = -1;
		vm->ctl = (struct control) { .listen_fd = -1, .conn_fd = -1,
					     .qmp_fd = -1, .vm = vm };
		vm->boot = !o.mode->batch && !i;
	}
	if (mkdir_p(o.dir) || vms_lock(&f))
		return EXIT_RAPIDO;
	for (unsigned int i = 0; i < f.n; i++) {
		struct vm *vm = &f.vms[i];
		const char *sock = vm->con_sock;

		if (vm_nic(&o, vm))
			return EXIT_RAPIDO;
		if (strlen(sock) >= sizeof(sun.sun_path)) {
			error("'%s': path too long for a unix socket: use a shorter --dir",
			      sock);
			return EXIT_RAPIDO;
		}
	}
	if (o.print_argv)
		return print_argv(&f);
	show_consoles(&f);
	return fleet_run(&f, t0);
}
