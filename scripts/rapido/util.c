// SPDX-License-Identifier: GPL-2.0
/*
 * util.c - the helpers every rapido program shares (see util.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

unsigned int nerrors, max_errors;

static void __printf(3, 0) report(const char *what, int err,
				   const char *fmt, va_list ap)
{
	/* one write, so that messages of several processes do not mix */
	char *msg = NULL;
	int n = vasprintf(&msg, fmt, ap);

	if (err < 0)
		err = -err;
	if (n < 0)
		dprintf(STDERR_FILENO, "%s: %s%s\n", prog, what, fmt);
	else if (err)
		dprintf(STDERR_FILENO, "%s: %s%s: %s\n", prog, what, msg,
			strerror(err));
	else
		dprintf(STDERR_FILENO, "%s: %s%s\n", prog, what, msg);
	free(msg);
}

void verror(int err, const char *fmt, va_list ap)
{
	report("", err, fmt, ap);
}

/* an error: counted, shown unless it is past max_errors */
static void __printf(2, 0) counted(int err, const char *fmt, va_list ap)
{
	nerrors++;
	if (max_errors && nerrors > max_errors)
		return;
	verror(err, fmt, ap);
	if (max_errors && nerrors == max_errors)
		dprintf(STDERR_FILENO, "%s: too many errors, the rest not shown\n",
			prog);
}

void error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	counted(0, fmt, ap);
	va_end(ap);
}

void error_errno(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	counted(err, fmt, ap);
	va_end(ap);
}

void warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report("warning: ", 0, fmt, ap);
	va_end(ap);
}

void fatal(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(0, fmt, ap);
	va_end(ap);
	exit(code);
}

void fatal_errno(int code, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(err, fmt, ap);
	va_end(ap);
	exit(code);
}

void fatal_oom(void)
{
	dprintf(STDERR_FILENO, "%s: out of memory\n", prog);
	exit(EXIT_RAPIDO);
}

__weak void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		fatal_oom();
	return p;
}

__weak void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		fatal_oom();
	return p;
}

__weak void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		fatal_oom();
	return p;
}

void *xgrow(void *v, size_t *cap, size_t n, size_t size)
{
	size_t c = *cap;

	if (n < c)
		return v;
	while (c <= n) {
		c = c ? c * 2 : 16;
		if (c > (size_t)-1 / 2 / size)
			fatal_oom();
	}
	*cap = c;
	return xrealloc(v, c * size);
}

__weak char *xstrndup(const char *s, size_t n)
{
	char *d = xmalloc(n + 1);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

__weak char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xvasprintf(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		fatal_oom();
	return s;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

int read_file(const char *path, int flags, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | flags);
	size_t cap = 0, n = 0;
	char *b = NULL;

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t r;

		b = xgrow(b, &cap, n + 4096, 1);
		r = read(fd, b + n, cap - n - 1);
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
	if (len)
		*len = n;
	return 0;
}

/* write(2), or send(2) with MSG_NOSIGNAL for @sock: a gone peer is -EPIPE */
static int put_all(int fd, const void *buf, size_t len, bool sock)
{
	const char *p = buf;

	while (len) {
		ssize_t w = sock ? send(fd, p, len, MSG_NOSIGNAL) :
				   write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		len -= w;
	}
	return 0;
}

int write_all(int fd, const void *buf, size_t len)
{
	return put_all(fd, buf, len, false);
}

int send_all(int fd, const void *buf, size_t len)
{
	return put_all(fd, buf, len, true);
}

int write_file(const char *path, const void *buf, size_t len, mode_t mode)
{
	char *tmp = xasprintf("%s.tmp", path);
	int fd, ret;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		  mode);
	if (fd < 0) {
		ret = -errno;
		error_errno(ret, "cannot create '%s'", tmp);
		goto out;
	}
	ret = write_all(fd, buf, len);
	if (!ret && fchmod(fd, mode))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	if (ret) {
		error_errno(ret, "cannot write '%s'", tmp);
	} else if (rename(tmp, path)) {
		ret = -errno;
		error_errno(ret, "cannot rename '%s' to '%s'", tmp, path);
	}
	if (ret)
		unlink(tmp);
out:
	free(tmp);
	return ret;
}

int mkdir_p(const char *dir)
{
	char *p = xstrdup(dir);
	int ret = 0;

	for (char *s = p + 1; ; s++) {
		char c = *s;

		if (c != '/' && c)
			continue;
		*s = '\0';
		if (mkdir(p, 0755) && errno != EEXIST) {
			ret = -errno;
			error_errno(ret, "cannot create directory '%s'", p);
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
	return ret;
}

char *path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir);

	if (!n || dir[n - 1] == '/')
		return xasprintf("%s%s", dir, name);
	return xasprintf("%s/%s", dir, name);
}

double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
