// SPDX-License-Identifier: GPL-2.0
/*
 * vm-hook.c - a profile's host-side hooks (the driver fills --hook-start
 * and --hook-stop from the profile's host-start and host-stop files):
 *
 *   --hook-start CMD   run (sh -c CMD) once the run's vm numbers are
 *                      locked, before any QEMU starts; rapido-vm waits for
 *                      it. Its failure (non-zero exit, killed) is exit 128
 *                      and no VM starts.
 *   --hook-stop CMD    run once, after every QEMU of the run ended, on
 *                      every way out once the start hook began (or, without
 *                      one, the VMs were about to start): a pass, a fail, a
 *                      failed start hook, a QEMU that died or never
 *                      started, SIGINT/SIGTERM/SIGHUP (Ctrl-C; the death of
 *                      the parent arrives as SIGTERM) and any exit() of
 *                      rapido-vm (an atexit handler). Its failure makes the
 *                      run's exit 128 (the host may be left unclean), unless
 *                      a signal already ended it. Only a SIGKILL of
 *                      rapido-vm itself skips it.
 *
 * Both get stdin /dev/null, rapido-vm's stdout and stderr, their own
 * process group, and in the environment RAPIDO_HOOK (start or stop),
 * RAPIDO_VM_DIR (--dir) and RAPIDO_VMS (the run's vm numbers, "1 2").
 * A signal to rapido-vm while the start hook runs sends SIGTERM to the
 * hook's process group (SIGKILL after KILL_GRACE_MS), then the stop hook
 * runs and rapido-vm exits 128 + the signal. The stop hook is not
 * interrupted: it gets HOOK_STOP_MS, then its group is SIGKILLed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "vm.h"

#define HOOK_STOP_MS	120000

static struct {
	bool armed;		/* the stop hook is owed */
	const char *stop;
	char *dir;
	char *nums;
	sigset_t oldmask;
} hook;

/*
 * Run @cmd as the @what hook; wait for it, and with @sigfd >= 0 for a
 * signal too (*@signo then set, the hook stopped). Returns its wait
 * status, or -errno (reported).
 */
static int hook_run(const char *what, const char *cmd, int sigfd, int *signo,
		    int limit_ms)
{
	pid_t parent = getpid(), pid;
	double t0 = now_ms(), kill_at = 0;
	int pidfd, st = 0;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		error_errno(errno, "cannot fork for the %s hook", what);
		return -errno;
	}
	if (!pid) {
		int in = open("/dev/null", O_RDONLY);

		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
		setpgid(0, 0);
		if (in < 0 || dup2(in, 0) < 0)
			_exit(127);
		setenv("RAPIDO_HOOK", what, 1);
		setenv("RAPIDO_VM_DIR", hook.dir, 1);
		setenv("RAPIDO_VMS", hook.nums, 1);
		sigprocmask(SIG_SETMASK, &hook.oldmask, NULL);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		error_errno(errno, "cannot execute '/bin/sh' for the %s hook",
			    what);
		_exit(127);
	}
	setpgid(pid, pid);
	pidfd = syscall(SYS_pidfd_open, pid, 0);
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = pidfd, .events = POLLIN },
			{ .fd = signo && !*signo ? sigfd : -1, .events = POLLIN },
		};
		double t = now_ms();
		int ms = -1;

		if (kill_at)
			ms = kill_at > t ? (int)(kill_at - t) + 1 : 0;
		else if (limit_ms)
			ms = t0 + limit_ms > t ? (int)(t0 + limit_ms - t) + 1 : 0;
		if (pidfd < 0)
			ms = 0;
		if (poll(p, 2, ms) < 0 && errno != EINTR)
			break;
		if (pidfd < 0 || p[0].revents)
			break;
		if (p[1].revents) {
			struct signalfd_siginfo si;

			*signo = SIGTERM;
			if (read(sigfd, &si, sizeof(si)) == sizeof(si))
				*signo = si.ssi_signo;
			kill(-pid, SIGTERM);
			kill_at = now_ms() + KILL_GRACE_MS;
		} else if (kill_at && now_ms() >= kill_at) {
			kill(-pid, SIGKILL);
			kill_at = 0;
			limit_ms = 0;
		} else if (!kill_at && limit_ms && now_ms() >= t0 + limit_ms) {
			warn("the %s hook still runs after %d s: killing it",
			     what, limit_ms / 1000);
			kill(-pid, SIGKILL);
			limit_ms = 0;
		}
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (pidfd >= 0)
		close(pidfd);
	return st;
}

static bool hook_failed(const char *what, const char *cmd, int st)
{
	char how[96];

	if (st >= 0 && WIFEXITED(st) && !WEXITSTATUS(st))
		return false;
	if (st < 0)
		return true;
	describe_wstatus(st, how, sizeof(how));
	error("the %s hook '%s' failed: it %s", what, cmd, how);
	return true;
}

static void hook_atexit(void)
{
	hook_stop();
}

/*
 * The start hook, and the stop hook armed: 0, EXIT_RAPIDO (the start hook
 * failed), or 128 + a signal that came meanwhile.
 */
int hook_start(const struct fleet *f, int sigfd, const sigset_t *oldmask)
{
	const struct opts *o = f->o;
	size_t len = 0;
	int signo = 0, st;

	hook.stop = o->hook_stop;
	hook.dir = xstrdup(o->dir);
	hook.nums = xcalloc(f->n, 4);
	for (unsigned int i = 0; i < f->n; i++)
		len += sprintf(hook.nums + len, "%s%u", i ? " " : "",
			       f->vms[i].num);
	hook.oldmask = *oldmask;
	if (!hook.armed && hook.stop)
		atexit(hook_atexit);
	hook.armed = hook.stop != NULL;
	if (!o->hook_start)
		return 0;
	st = hook_run("start", o->hook_start, sigfd, &signo, 0);
	if (signo) {
		fprintf(stderr, "%s: stopped by signal %d (%s) during the start hook\n",
			prog, signo, strsignal(signo));
		return 128 + signo;
	}
	return hook_failed("start", o->hook_start, st) ? EXIT_RAPIDO : 0;
}

/* The stop hook, if it is owed: 0, or -1 if it failed (reported). */
int hook_stop(void)
{
	int st;

	if (!hook.armed)
		return 0;
	hook.armed = false;
	st = hook_run("stop", hook.stop, -1, NULL, HOOK_STOP_MS);
	return hook_failed("stop", hook.stop, st) ? -1 : 0;
}
