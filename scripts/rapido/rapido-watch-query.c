// SPDX-License-Identifier: GPL-2.0
/*
 * rapido-watch-query.c - the client side of DIR/watch.sock: "has anything
 * changed since the last kbuild?", asked of a running rapido-watch. Linked
 * into rapido-watch (--query) and rapido-fast (the driver's fast path).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include "rapido-watch.h"

/* No watcher to ask: the change the last one saw, if it left one. */
static int last_change(char *changed, size_t size)
{
	char *buf;
	size_t len;
	int ret = EXIT_NONE;

	if (read_file(CHANGED_NAME, 0, &buf, &len))
		return EXIT_NONE;
	if (len && buf[len - 1] == '\n' && len <= size) {
		memcpy(changed, buf, len - 1);
		changed[len - 1] = '\0';
		ret = EXIT_CHANGED;
	}
	free(buf);
	return ret;
}

/* The answer, from inside DIR (sun_path holds 108 bytes only). */
static int ask(const char *dir, char *changed, size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = QUERY_SECS };
	char buf[PATH_MAX + 16];
	size_t len = 0;
	int fd;

	strcpy(sa.sun_path, SOCK_NAME);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv))) {
		error_errno(errno, "cannot make a unix socket");
		if (fd >= 0)
			close(fd);
		return EXIT_USAGE;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		switch (errno) {
		case ENOENT:
		case ECONNREFUSED:
		case EAGAIN:
		case ENOTSOCK:
			close(fd);
			return last_change(changed, size);
		}
		error_errno(errno, "cannot connect to '%s/" SOCK_NAME "'", dir);
		close(fd);
		return EXIT_USAGE;
	}
	while (len < sizeof(buf) - 1 && !memchr(buf, '\n', len)) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	if (!len || !memchr(buf, '\n', len))
		return last_change(changed, size); /* timeout, or it quit */
	*strchr(buf, '\n') = '\0';
	if (!strcmp(buf, "clean"))
		return EXIT_CLEAN;
	if (!strncmp(buf, "changed ", 8) && strlen(buf + 8) < size) {
		strcpy(changed, buf + 8);
		return EXIT_CHANGED;
	}
	error("cannot understand the reply '%.64s' on '%s/" SOCK_NAME "' (is something else listening there?)",
	      buf, dir);
	return EXIT_USAGE;
}

int watch_query(const char *dir, char *changed, size_t size)
{
	int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int ret;

	if (cwd < 0) {
		error_errno(errno, "cannot open the working directory");
		return EXIT_USAGE;
	}
	if (chdir(dir)) {
		ret = EXIT_NONE;
		if (errno != ENOENT && errno != ENOTDIR) {
			error_errno(errno, "cannot enter the state directory '%s'",
				    dir);
			ret = EXIT_USAGE;
		}
		close(cwd);
		return ret;
	}
	ret = ask(dir, changed, size);
	if (fchdir(cwd)) {
		error_errno(errno, "cannot return to the working directory");
		ret = EXIT_USAGE;
	}
	close(cwd);
	return ret;
}
