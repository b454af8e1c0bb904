// SPDX-License-Identifier: GPL-2.0
/*
 * vm-console.c - QEMU's start for one VM of rapido-vm, and its serial
 * console: QEMU's stdout, a pipe that rapido-vm judges as it streams,
 * passes on to the terminal (each line after "vm<N>| " when several VMs
 * share it) and keeps in a capped DIR/vm<N>/console.log.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "vm.h"

/* Write all of @buf to @fd, waiting if it is non-blocking; 0 or -errno. */
static int write_wait(int fd, const char *buf, size_t len)
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

/* DIR/vm<N>/console.log: struct clog in vm.h */
int clog_open(struct clog *l, const struct vm *vm, unsigned long long limit)
{
	*l = (struct clog) { .path = vm->console, .limit = limit };
	l->fd = openat(vm->dfd, "console.log",
		       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		       0644);
	if (l->fd < 0) {
		error_errno(errno, "cannot create the console log '%s'",
			    l->path);
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

		l->err = write_wait(l->fd, buf, n);
		l->head += n;
		buf += n;
		len -= n;
	}
	if (!len || l->err)
		return;
	if (!l->ring) {
		l->ring_size = l->limit - half;
		l->ring = xmalloc(l->ring_size);
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
int clog_close(struct clog *l)
{
	if (l->fd < 0)
		return l->err;
	if (!l->err && l->tail > l->ring_size) {
		size_t at = l->tail % l->ring_size;
		char *ordered = xmalloc(l->ring_size), *nl, *note;
		unsigned long long dropped = l->tail - l->ring_size;

		memcpy(ordered, l->ring + at, l->ring_size - at);
		memcpy(ordered + l->ring_size - at, l->ring, at);
		/* start the tail at a whole line */
		nl = memchr(ordered, '\n', l->ring_size);
		nl = nl ? nl + 1 : ordered;
		dropped += nl - ordered;
		note = xasprintf("\n%s: [%llu bytes of console output dropped here: the log keeps the first and the last %llu bytes of the %llu (--log-limit %llu); the verdict saw them all]\n",
				 prog, dropped, l->limit / 2,
				 l->head + l->tail, l->limit);
		l->err = write_wait(l->fd, note, strlen(note));
		if (!l->err)
			l->err = write_wait(l->fd, nl,
					   ordered + l->ring_size - nl);
		free(note);
		free(ordered);
	} else if (!l->err && l->tail) {
		l->err = write_wait(l->fd, l->ring, l->tail);
	}
	if (close(l->fd) && !l->err)
		l->err = -errno;
	l->fd = -1;
	free(l->ring);
	l->ring = NULL;
	return l->err;
}


/*
 * The echo of several VMs: each line after "vm<N>| ", written whole, so
 * that the lines of two VMs never mix; a line is kept until its newline
 * (or ECHO_LINE_MAX bytes of it, or the console's end, @n 0).
 */
#define ECHO_LINE_MAX	4096

static int echo_line(struct console_io *io)
{
	size_t plen = strlen(io->prefix);
	char *out = xmalloc(plen + io->line_len + 1);
	size_t len = plen + io->line_len;
	int ret;

	memcpy(out, io->prefix, plen);
	memcpy(out + plen, io->line, io->line_len);
	if (!io->line_len || io->line[io->line_len - 1] != '\n')
		out[len++] = '\n';
	ret = write_wait(1, out, len);
	free(out);
	io->line_len = 0;
	return ret;
}

static int console_echo(struct console_io *io, const char *buf, size_t n)
{
	if (!io->prefix)
		return write_wait(1, buf, n);
	if (!n)
		return io->line_len ? echo_line(io) : 0;
	while (n) {
		const char *nl = memchr(buf, '\n', n);
		size_t len = nl ? (size_t)(nl - buf) + 1 : n;
		int ret = 0;

		if (!io->line)
			io->line = xmalloc(ECHO_LINE_MAX);
		if (len > ECHO_LINE_MAX - io->line_len)
			len = ECHO_LINE_MAX - io->line_len;
		memcpy(io->line + io->line_len, buf, len);
		io->line_len += len;
		if (io->line[io->line_len - 1] == '\n' ||
		    io->line_len == ECHO_LINE_MAX)
			ret = echo_line(io);
		if (ret)
			return ret;
		buf += len;
		n -= len;
	}
	return 0;
}

/* The console's end: its last line echoed (without its newline). */
void console_close(struct console_io *io)
{
	if (io->fd >= 0)
		close(io->fd);
	io->fd = -1;
	if (io->echo && console_echo(io, NULL, 0))
		io->echo = false;
	free(io->line);
	io->line = NULL;
	io->line_len = 0;
}

/* Read what is there; returns the bytes read (0: nothing, or EOF). */
ssize_t console_read(struct console_io *io)
{
	char buf[65536];
	ssize_t n;

	if (io->fd < 0)
		return 0;
	n = read(io->fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		console_close(io);
		return 0;
	}
	judge_feed(io->judge, buf, n);
	/* a closed terminal or pipe ends the echo, not the run */
	if (io->echo && console_echo(io, buf, n))
		io->echo = false;
	clog_write(io->log, buf, n);
	/* an attached client that cannot keep up loses output, not the VM */
	if (io->peer >= 0 &&
	    send(io->peer, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
	    errno != EAGAIN) {
		close(io->peer);
		io->peer = -1;
	}
	return n;
}

/* ---- running QEMU ---- */

/*
 * Fork and exec QEMU, its stdout (the serial console) a pipe whose read end
 * comes back in *@confd. An exec failure comes back through a close-on-exec
 * pipe, so a missing QEMU is an error here, not a guest failure later.
 */
int qemu_start(const struct opts *o, struct vm *vm, char **argv,
	       const sigset_t *oldmask)
{
	pid_t *pid = &vm->pid;
	int *pidfd = &vm->pidfd, *confd = &vm->io.fd, stdin_pipe[2] = { -1, -1 };
	int pfd[2], cfd[2], err = 0;
	pid_t parent = getpid();
	ssize_t r;

	if (pipe2(pfd, O_CLOEXEC)) {
		error_errno(errno, "cannot create a pipe");
		return -errno;
	}
	if (pipe2(cfd, O_CLOEXEC)) {
		error_errno(errno, "cannot create a pipe");
		close(pfd[0]);
		close(pfd[1]);
		return -errno;
	}
	/* a console reached through console.sock: QEMU's stdin a pipe */
	if (vm->con_listen >= 0 && pipe2(stdin_pipe, O_CLOEXEC)) {
		error_errno(errno, "cannot create a pipe");
		return -errno;
	}
	fflush(NULL);
	*pid = fork();
	if (*pid < 0) {
		error_errno(errno, "cannot fork for '%s'", argv[0]);
		return -errno;
	}
	if (!*pid) {
		int in = stdin_pipe[0] >= 0 ? stdin_pipe[0] :
			 open("/dev/null", O_RDONLY);
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
		/* several VMs in boot mode: only vm1 has the terminal */
		if (!vm->boot) {
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
	if (stdin_pipe[0] >= 0) {
		close(stdin_pipe[0]);
		vm->con_in = stdin_pipe[1];
		fcntl(vm->con_in, F_SETFL, O_NONBLOCK);
	}
	do {
		r = read(pfd[0], &err, sizeof(err));
	} while (r < 0 && errno == EINTR);
	close(pfd[0]);
	if (r == sizeof(err)) {
		close(cfd[0]);
		waitpid(*pid, NULL, 0);
		*pid = -1;
		if (err < 0) {
			error_errno(err, "cannot enter the network namespace '/run/netns/%s' for QEMU",
				    vm->netns);
			return err;
		}
		error_errno(err, "cannot execute QEMU '%s' (set --qemu)",
			    argv[0]);
		return -err;
	}
	fcntl(cfd[0], F_SETFL, O_NONBLOCK);
	*confd = cfd[0];
	*pidfd = syscall(SYS_pidfd_open, *pid, 0);
	if (*pidfd < 0) {
		err = errno;
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
		*pid = -1;
		close(cfd[0]);
		error_errno(err, "cannot watch QEMU (pidfd_open)");
		return -err;
	}
	return 0;
}
/* Print QEMU's own stderr (kept in DIR/vm<N>/qemu.err). */
void show_qemu_err(const struct vm *vm)
{
	char *buf;
	size_t len;

	if (read_file(vm->qemu_err, O_NOFOLLOW, &buf, &len))
		return;
	fputs(buf, stderr);
	if (len && buf[len - 1] != '\n')
		fputc('\n', stderr);
	free(buf);
}



/* ---- boot mode: the consoles of vm2 and on, through console.sock ---- */

/*
 * Listen on DIR/vm<N>/console.sock: one client at a time (a newer one
 * replaces it) gets the console's output from then on, and what it sends
 * goes to QEMU's stdin, the guest's console input (rapido-vm --attach).
 */
int console_listen(struct vm *vm)
{
	vm->con_listen = listen_unix(vm->con_sock);
	return vm->con_listen < 0 ? vm->con_listen : 0;
}

void console_pollfds(const struct vm *vm, struct pollfd *p)
{
	p[0] = (struct pollfd) { .fd = vm->con_listen, .events = POLLIN };
	p[1] = (struct pollfd) { .fd = vm->io.peer, .events = POLLIN };
}

/* A client to accept, or its keys for the guest. */
void console_serve(struct vm *vm, const struct pollfd *p)
{
	char buf[4096];
	ssize_t n;

	if (p[1].fd >= 0 && p[1].fd == vm->io.peer && p[1].revents) {
		n = read(vm->io.peer, buf, sizeof(buf));
		if (n <= 0 && !(n < 0 && errno == EINTR)) {
			close(vm->io.peer);
			vm->io.peer = -1;
		} else if (n > 0 && vm->con_in >= 0 &&
			   write(vm->con_in, buf, n) < 0 && errno != EAGAIN) {
			close(vm->con_in);	/* QEMU went away */
			vm->con_in = -1;
		}
	}
	if (p[0].fd >= 0 && p[0].revents) {
		int fd = accept4(vm->con_listen, NULL, NULL, SOCK_CLOEXEC);

		if (fd >= 0) {
			if (vm->io.peer >= 0)
				close(vm->io.peer);
			vm->io.peer = fd;
		}
	}
}

void console_unlisten(struct vm *vm)
{
	int *fds[] = { &vm->con_listen, &vm->con_in, &vm->io.peer };

	for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

/*
 * --attach DIR/vm<N>: this terminal becomes the VM's console (raw mode)
 * until Ctrl-] or the end of its run.
 */
int console_attach(const char *vmdir)
{
	char *path = path_join(vmdir, "console.sock");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct termios old, raw;
	bool tty = isatty(0) && !tcgetattr(0, &old);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		error_errno(errno, "cannot connect to '%s' (is that VM's boot-mode run still up?)",
			    path);
		free(path);
		return EXIT_RAPIDO;
	}
	fprintf(stderr, "%s: attached to '%s'; Ctrl-] detaches\n", prog, path);
	if (tty) {
		raw = old;
		cfmakeraw(&raw);
		tcsetattr(0, TCSANOW, &raw);
	}
	for (;;) {
		struct pollfd p[2] = { { .fd = 0, .events = POLLIN },
				       { .fd = fd, .events = POLLIN } };
		char buf[4096];
		ssize_t n;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents) {
			n = read(fd, buf, sizeof(buf));
			if (n <= 0 || write_all(1, buf, n))
				break;
		}
		if (p[0].revents) {
			n = read(0, buf, sizeof(buf));
			if (n <= 0 || memchr(buf, 0x1d, n) ||
			    write_all(fd, buf, n))
				break;
		}
	}
	if (tty)
		tcsetattr(0, TCSANOW, &old);
	fprintf(stderr, "\r\n%s: detached from '%s'\n", prog, path);
	close(fd);
	free(path);
	return EXIT_PASS;
}
