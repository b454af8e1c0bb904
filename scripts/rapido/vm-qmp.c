// SPDX-License-Identifier: GPL-2.0
/*
 * vm-qmp.c - the guest's control channel (rapido.control, host side the
 * unix socket DIR/vm<N>/control.sock that QEMU connects to) and a QMP
 * client that never blocks: each request line is one exchange with QEMU's
 * QMP socket (connect, greeting, qmp_capabilities, the command), a state
 * machine that the event loop drives as the socket becomes ready, with a
 * deadline of QMP_MS. Requests are answered one at a time, in order; the
 * lines that come meanwhile wait in the buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vm.h"


/*
 * Named actions: "<name> <arg>" becomes the QMP command @fmt, its %s the
 * JSON-escaped arg. With @hmp_quiet, the action is an HMP command that
 * prints nothing when it works: any output is turned into an error reply.
 */
struct action {
	const char *name;
	const char *fmt;	/* one %s */
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

static char *__printf(1, 2) rapido_error(const char *fmt, ...)
{
	va_list ap;
	char *msg, *esc, *reply;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	esc = json_escape(msg);
	reply = xasprintf("{\"error\": {\"class\": \"RapidoError\", \"desc\": \"%s\"}}",
			  esc);
	free(esc);
	free(msg);
	return reply;
}

/* The QMP command for a request line, or NULL with *@reply set. */
static char *control_command(const char *req, const struct action **act,
			     char **reply)
{
	size_t n = strcspn(req, " ");
	const char *arg = req + n + (req[n] == ' '), *at;
	char *esc, *cmd;

	*act = NULL;
	if (req[0] == '{')
		return xstrdup(req);
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
	/* the argument goes where the action's fmt has its one %s */
	at = strstr((*act)->fmt, "%s");
	cmd = xasprintf("%.*s%s%s", (int)(at - (*act)->fmt), (*act)->fmt, esc,
			at + 2);
	free(esc);
	return cmd;
}

/*
 * An HMP action that prints nothing when it works: its output, QEMU's
 * text (already JSON-escaped), becomes an error reply.
 */
static char *hmp_quiet_reply(char *reply)
{
	static const char hmp_ok[] = "{\"return\": \"\"}";
	size_t n = strlen(reply), tl;
	char *text, *err;

	if (strncmp(reply, "{\"return\": \"", 12) || !strcmp(reply, hmp_ok))
		return reply;
	text = xstrndup(reply + 12, n > 14 ? n - 14 : 0);
	tl = strlen(text);
	/* HMP ends its lines with \r\n, escaped */
	while (tl >= 2 && text[tl - 2] == '\\' &&
	       (text[tl - 1] == 'n' || text[tl - 1] == 'r'))
		text[tl -= 2] = '\0';
	err = xasprintf("{\"error\": {\"class\": \"GenericError\", \"desc\": \"%s\"}}",
			text);
	free(text);
	free(reply);
	return err;
}

/* The request in flight is answered with @reply: log it, send it back. */
static void control_reply(struct control *ctl, char *reply)
{
	char *out;
	FILE *log;
	int fd, ret;

	if (ctl->act && ctl->act->hmp_quiet)
		reply = hmp_quiet_reply(reply);
	fd = openat(ctl->vm->dfd, "control.log", O_WRONLY | O_APPEND |
		    O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	log = fd < 0 ? NULL : fdopen(fd, "a");
	if (fd >= 0 && !log)
		close(fd);
	if (log) {
		fprintf(log, "> %s\n< %s\n", ctl->req, reply);
		fclose(log);
	}
	out = xasprintf("%s\n", reply);
	ret = ctl->conn_fd < 0 ? 0 : send_all(ctl->conn_fd, out, strlen(out));
	if (ret)
		error_errno(ret, "cannot write the reply to '%s'",
			    ctl->vm->control);
	free(out);
	free(reply);
	if (ctl->qmp_fd >= 0)
		close(ctl->qmp_fd);
	ctl->qmp_fd = -1;
	free(ctl->req);
	free(ctl->cmd);
	ctl->req = ctl->cmd = NULL;
	ctl->act = NULL;
	ctl->in_len = 0;
	ctl->state = QMP_IDLE;
}

static const char *const qmp_steps[] = {
	[QMP_IDLE] = "idle",
	[QMP_CONNECT] = "connect",
	[QMP_GREETING] = "greeting",
	[QMP_CAPS] = "qmp_capabilities",
	[QMP_COMMAND] = "command",
};

/* The exchange failed at its step with -errno @err. */
static void qmp_fail(struct control *ctl, int err)
{
	control_reply(ctl, rapido_error("qmp: '%s': %s: %s", ctl->vm->qmp,
					qmp_steps[ctl->state],
					strerror(-err)));
}

/* Start the exchange for the request @req (taken over). */
static void qmp_begin(struct control *ctl, char *req)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char *reply = NULL;

	ctl->req = req;
	ctl->cmd = control_command(req, &ctl->act, &reply);
	if (!ctl->cmd) {
		control_reply(ctl, reply);
		return;
	}
	ctl->deadline = now_ms() + QMP_MS;
	ctl->in_len = 0;
	ctl->state = QMP_CONNECT;
	ctl->qmp_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
			     SOCK_NONBLOCK, 0);
	if (ctl->qmp_fd < 0) {
		control_reply(ctl, rapido_error("qmp: socket: %s",
						strerror(errno)));
		return;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", ctl->vm->qmp);
	if (!connect(ctl->qmp_fd, (struct sockaddr *)&sun, sizeof(sun)))
		ctl->state = QMP_GREETING;
	else if (errno != EINPROGRESS && errno != EAGAIN)
		qmp_fail(ctl, -errno);
}

/* The first whole line of @buf (*@len bytes), taken out, no CR/LF. */
static char *take_line(char *buf, size_t *len)
{
	char *nl = memchr(buf, '\n', *len), *line;
	size_t n;

	if (!nl)
		return NULL;
	n = nl - buf;
	line = xstrndup(buf, n);
	line[strcspn(line, "\r")] = '\0';
	memmove(buf, nl + 1, *len - n - 1);
	*len -= n + 1;
	return line;
}

/* Take the next whole request line, if no exchange is under way. */
static void control_next(struct control *ctl)
{
	char *req;

	while (ctl->state == QMP_IDLE &&
	       (req = take_line(ctl->buf, &ctl->len))) {
		if (*req)
			qmp_begin(ctl, req);
		else
			free(req);
	}
	if (ctl->state == QMP_IDLE && ctl->len == sizeof(ctl->buf)) {
		char *reply = rapido_error("request longer than %d bytes",
					   CONTROL_MAX - 1);
		char *out = xasprintf("%s\n", reply);

		send_all(ctl->conn_fd, out, strlen(out));
		free(out);
		free(reply);
		ctl->len = 0;
	}
}

/* One line QMP sent, in the step it belongs to. */
static void qmp_line(struct control *ctl, char *line)
{
	static const char caps[] = "{\"execute\": \"qmp_capabilities\"}\n";
	bool reply = !strncmp(line, "{\"return\"", 9) ||
		     !strncmp(line, "{\"error\"", 8);
	char *c;
	int ret;

	if (ctl->state == QMP_GREETING) {
		if (!strstr(line, "\"QMP\"")) {
			control_reply(ctl, rapido_error("qmp: '%s': not a QMP greeting",
							ctl->vm->qmp));
			return;
		}
		ctl->state = QMP_CAPS;
		ret = send_all(ctl->qmp_fd, caps, strlen(caps));
		if (ret)
			qmp_fail(ctl, ret);
		return;
	}
	if (!reply)
		return;		/* an event */
	if (ctl->state == QMP_CAPS && !strncmp(line, "{\"return\"", 9)) {
		ctl->state = QMP_COMMAND;
		c = xasprintf("%s\n", ctl->cmd);
		ret = send_all(ctl->qmp_fd, c, strlen(c));
		free(c);
		if (ret)
			qmp_fail(ctl, ret);
		return;
	}
	/* the command's reply, or qmp_capabilities' error */
	control_reply(ctl, xstrdup(line));
}

/* QMP's socket is ready: the next step of the exchange. */
static void qmp_events(struct control *ctl, short revents)
{
	int err = 0;
	socklen_t elen = sizeof(err);
	ssize_t r;
	char *line;

	if (ctl->state == QMP_CONNECT) {
		if (getsockopt(ctl->qmp_fd, SOL_SOCKET, SO_ERROR, &err, &elen))
			err = errno;
		if (err) {
			qmp_fail(ctl, -err);
			return;
		}
		ctl->state = QMP_GREETING;
		return;
	}
	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	if (ctl->in_len == sizeof(ctl->in)) {
		qmp_fail(ctl, -EMSGSIZE);
		return;
	}
	r = read(ctl->qmp_fd, ctl->in + ctl->in_len,
		 sizeof(ctl->in) - ctl->in_len);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		qmp_fail(ctl, r ? -errno : -ECONNRESET);
		return;
	}
	ctl->in_len += r;
	while (ctl->state > QMP_CONNECT &&
	       (line = take_line(ctl->in, &ctl->in_len))) {
		qmp_line(ctl, line);
		free(line);
	}
}

/* A unix socket listening at @path: its fd, or -errno (reported). */
int listen_unix(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		error_errno(errno, "cannot create a socket for '%s'", path);
		return -errno;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) || listen(fd, 1)) {
		int err = errno;

		error_errno(err, "cannot listen on '%s'", path);
		close(fd);
		return -err;
	}
	return fd;
}

/* Listen on control.sock before QEMU starts: QEMU connects as a client. */
int control_open(struct control *ctl, const struct opts *o,
		 const struct vm *vm)
{
	*ctl = (struct control) { .listen_fd = -1, .conn_fd = -1,
				  .qmp_fd = -1, .vm = vm };
	if (!o->control)
		return 0;
	ctl->listen_fd = listen_unix(vm->control);
	return ctl->listen_fd < 0 ? ctl->listen_fd : 0;
}

void control_close(struct control *ctl)
{
	if (ctl->conn_fd >= 0)
		close(ctl->conn_fd);
	if (ctl->listen_fd >= 0)
		close(ctl->listen_fd);
	if (ctl->qmp_fd >= 0)
		close(ctl->qmp_fd);
	free(ctl->req);
	free(ctl->cmd);
	ctl->req = ctl->cmd = NULL;
	ctl->conn_fd = ctl->listen_fd = ctl->qmp_fd = -1;
	ctl->state = QMP_IDLE;
}

void control_pollfds(const struct control *ctl, struct pollfd *p)
{
	p[0] = (struct pollfd) { .fd = ctl->listen_fd, .events = POLLIN };
	p[1] = (struct pollfd) { .fd = ctl->conn_fd, .events = POLLIN };
	p[2] = (struct pollfd) {
		.fd = ctl->state == QMP_IDLE ? -1 : ctl->qmp_fd,
		.events = ctl->state == QMP_CONNECT ? POLLOUT : POLLIN,
	};
}

/* When the exchange under way times out (ms, now_ms()); 0: none. */
double control_deadline(const struct control *ctl)
{
	return ctl->state == QMP_IDLE ? 0 : ctl->deadline;
}

/*
 * Accept QEMU's connection, read request lines from it, drive QMP: @p as
 * control_pollfds() set it, after poll().
 */
void control_events(struct control *ctl, const struct pollfd *p)
{
	bool accepted = false;
	ssize_t r;

	if (p[0].fd >= 0 && p[0].revents) {
		int fd = accept4(ctl->listen_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd >= 0) {
			if (ctl->conn_fd >= 0)
				close(ctl->conn_fd);
			ctl->conn_fd = fd;
			ctl->len = 0;
			accepted = true;
		}
	}
	if (p[2].fd >= 0 && p[2].revents)
		qmp_events(ctl, p[2].revents);
	if (ctl->state != QMP_IDLE && now_ms() >= ctl->deadline)
		qmp_fail(ctl, -ETIMEDOUT);
	if (!accepted && p[1].fd >= 0 && p[1].revents) {
		r = read(ctl->conn_fd, ctl->buf + ctl->len,
			 sizeof(ctl->buf) - ctl->len);
		if (r <= 0 && !(r < 0 && errno == EINTR)) {
			close(ctl->conn_fd);	/* QEMU went away */
			ctl->conn_fd = -1;
		} else if (r > 0) {
			ctl->len += r;
		}
	}
	control_next(ctl);
}
