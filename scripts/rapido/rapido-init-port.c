// SPDX-License-Identifier: GPL-2.0
/*
 * rapido-init-port.c - rapido-init's virtio-serial ports (rapido-proto.h):
 * the stage lines on PROTO_STATUS_PORT, and, run as rapido-qmp (a link to
 * /init), the guest's end of PROTO_CONTROL_PORT:
 *
 *	rapido-qmp REQUEST...
 *
 * writes the words of REQUEST as one line to the port (a QMP command as
 * JSON, or an action such as "drive_del hda": see rapido-vm), prints the
 * host's reply line and exits 0 for {"return": ...}, 1 for {"error": ...},
 * 2 if there was no reply.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rapido-init.h"

#define PORTS_DIR	"/sys/class/virtio-ports"

/* rapido-qmp's exit codes: util.h's, and one of its own */
enum {
	QMP_RETURN	= EXIT_PASS,	/* {"return": ...} */
	QMP_ERROR	= EXIT_FAIL,	/* {"error": ...} */
	/* no reply, or no request: EXIT_USAGE's number, on purpose */
	QMP_NO_REPLY	= EXIT_USAGE,
};

static struct {
	int fd;			/* the rapido.status port, or -errno */
	char pending[256];	/* status lines not yet written */
	size_t pending_len;
} st = { .fd = -ENOENT };

/* The /dev path of the virtio-serial port called @port, or -ENOENT. */
static int find_port(const char *port, char *dev, size_t size)
{
	struct dirent *de;
	int ret = -ENOENT;
	DIR *dir;

	dir = opendir(PORTS_DIR);
	if (!dir)
		return -ENOENT;
	while ((de = readdir(dir))) {
		char *path, *name;
		int err;

		if (de->d_name[0] == '.')
			continue;
		path = xasprintf(PORTS_DIR "/%s/name", de->d_name);
		err = read_file(path, 0, &name, NULL);
		free(path);
		if (err)
			continue;
		name[strcspn(name, "\n")] = '\0';
		err = strcmp(name, port);
		free(name);
		if (err)
			continue;
		snprintf(dev, size, "/dev/%s", de->d_name);
		ret = 0;
		break;
	}
	closedir(dir);
	return ret;
}

/* The port's fd, -ENOENT if not (yet) there, or -EIO if unusable. */
static int open_status_port(void)
{
	char path[300];
	int fd;

	if (find_port(PROTO_STATUS_PORT, path, sizeof(path)))
		return -ENOENT;
	fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		error_errno(errno, "cannot open '%s'", path);
		fd = -EIO;	/* said so: don't look again */
	}
	return fd;
}

void status_open(void)
{
	if (st.fd == -ENOENT)
		st.fd = open_status_port();
}

/*
 * Writes the pending status lines.  The port is looked up again until found:
 * virtio-serial announces its ports from a workqueue, so a port may show up
 * after init has started.  A write error closes it for good (-EIO).
 */
static void flush_status(void)
{
	int err;

	status_open();
	if (st.fd < 0 || !st.pending_len)
		return;
	err = write_all(st.fd, st.pending, st.pending_len);
	if (!err) {
		st.pending_len = 0;
		return;
	}
	error_errno(err, "cannot write to port '%s'", PROTO_STATUS_PORT);
	close(st.fd);
	st.fd = -EIO;
}

void report(const char *what, int code)
{
	size_t room = sizeof(st.pending) - st.pending_len;
	int n;

	n = snprintf(st.pending + st.pending_len, room, "%s %d\n", what, code);
	if (n > 0 && (size_t)n < room)
		st.pending_len += n;
	flush_status();
}

void close_status(void)
{
	if (st.fd < 0) {
		if (st.fd == -ENOENT)
			say("no '%s' virtio-serial port: the host gets no result",
			    PROTO_STATUS_PORT);
		return;
	}
	/* virtio ports have no fsync: EINVAL, writes went to the host */
	if (fsync(st.fd) && errno != EINVAL)
		error_errno(errno, "cannot fsync port '%s'", PROTO_STATUS_PORT);
	if (close(st.fd))
		error_errno(errno, "cannot close port '%s'", PROTO_STATUS_PORT);
	st.fd = -EIO;
}

/* ---- rapido-qmp: the guest's end of the control channel --------------- */

#define qmp_say(fmt, ...) fprintf(stderr, QMP_PROG ": " fmt "\n", ##__VA_ARGS__)

/* Reads one reply line into @buf; 0, or -errno. */
static int qmp_read_reply(int fd, char *buf, size_t size)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t have = 0;

	while (!memchr(buf, '\n', have)) {
		ssize_t n;

		if (have == size - 1)
			return -EMSGSIZE;
		n = poll(&p, 1, PROTO_CONTROL_MS);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n ? -errno : -ETIMEDOUT;
		n = read(fd, buf + have, size - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n ? -errno : -ECONNRESET;
		have += n;
		buf[have] = '\0';
	}
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

int qmp_main(int argc, char **argv)
{
	char path[300], req[PROTO_CONTROL_MAX], reply[PROTO_CONTROL_MAX] = "";
	size_t len = 0;
	int fd, err;

	if (argc < 2) {
		qmp_say("usage: " QMP_PROG " '{\"execute\": ...}' | ACTION ARG (e.g. drive_del hda)");
		return QMP_NO_REPLY;
	}
	for (int i = 1; i < argc; i++) {
		int n = snprintf(req + len, sizeof(req) - len, "%s%s",
				 i > 1 ? " " : "", argv[i]);

		if (n < 0 || (size_t)n >= sizeof(req) - len - 1) {
			qmp_say("cannot send '%.20s...': a request is %d bytes at most",
				req, PROTO_CONTROL_MAX - 2);
			return QMP_NO_REPLY;
		}
		len += n;
	}
	if (strchr(req, '\n')) {
		qmp_say("cannot send '%s': a request is one line", req);
		return QMP_NO_REPLY;
	}
	req[len++] = '\n';
	if (find_port(PROTO_CONTROL_PORT, path, sizeof(path))) {
		qmp_say("cannot find virtio-serial port '%s': rapido-vm runs without --control",
			PROTO_CONTROL_PORT);
		return QMP_NO_REPLY;
	}
	fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		qmp_say("cannot open '%s': %s", path, strerror(errno));
		return QMP_NO_REPLY;
	}
	err = write_all(fd, req, len);
	if (err) {
		qmp_say("cannot write to '%s': %s", path, strerror(-err));
		close(fd);
		return QMP_NO_REPLY;
	}
	err = qmp_read_reply(fd, reply, sizeof(reply));
	close(fd);
	if (err) {
		qmp_say("cannot read a reply on '%s': %s", path,
			strerror(-err));
		return QMP_NO_REPLY;
	}
	printf("%s\n", reply);
	return strncmp(reply, "{\"return\"", 9) ? QMP_ERROR : QMP_RETURN;
}
