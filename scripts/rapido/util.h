/* SPDX-License-Identifier: GPL-2.0 */
/*
 * util.h - what every rapido program shares, written once: the exit-code
 * table, the message family, allocation that cannot fail, whole-file reads
 * and writes that never leave a half-written file, directories and time.
 *
 * Messages are git-style: "<prog>: <lowercase text with a verb>", the
 * subject quoted, the system's reason last:
 *	error_errno(errno, "cannot rename '%s' to '%s'", from, to);
 *	-> rapido-vm: cannot rename 'a.tmp' to 'a': No such file or directory
 *
 * Each program defines its name once: const char prog[] = "rapido-vm";
 *
 * __printf and __noreturn come from the kernel tree's tools/include
 * (linux/compiler.h), found with -idirafter so that the system's uapi
 * headers still win for every other <linux/...> name. A bare rapido
 * checkout, outside a kernel tree, has none: the Makefile then defines
 * the three attributes (__printf, __noreturn, __weak) itself.
 */
#ifndef RAPIDO_UTIL_H
#define RAPIDO_UTIL_H

#ifndef __printf		/* scripts/rapido/Makefile's, without tools/include */
#include <linux/compiler.h>
#endif
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/*
 * The exit codes, for every program and for the driver (the runner's are
 * what git bisect run and rebase -x read).
 */
enum rapido_exit {
	EXIT_PASS	= 0,	/* the test passed; a tool did its job */
	EXIT_FAIL	= 1,	/* the test failed; a tool's input is wrong */
	EXIT_USAGE	= 2,	/* a wrong command line */
	EXIT_NOBUILD	= 125,	/* the kernel does not build: bisect skip */
	EXIT_NOEXEC	= 127,	/* a child could not be executed */
	EXIT_RAPIDO	= 128,	/* rapido or its environment cannot run */
};

/* the program's name, the prefix of every message */
extern const char *const prog;

/* errors reported so far by error()/error_errno() */
extern unsigned int nerrors;
/* if set, errors after the first max_errors are counted, not shown */
extern unsigned int max_errors;

void verror(int err, const char *fmt, va_list ap) __printf(2, 0);
void error(const char *fmt, ...) __printf(1, 2);
/* @err: an errno value; a negative one (-errno) is the same */
void error_errno(int err, const char *fmt, ...) __printf(2, 3);
/* "<prog>: warning: ...": not an error */
void warn(const char *fmt, ...) __printf(1, 2);
void __noreturn fatal(int code, const char *fmt, ...) __printf(2, 3);
void __noreturn fatal_errno(int code, int err, const char *fmt, ...)
	__printf(3, 4);

/* out of memory is EXIT_RAPIDO, in every program */
void __noreturn fatal_oom(void);
/*
 * The kernel's kconfig has its own xmalloc() family: extern in 6.1's
 * lkc.h (util.c's are weak, so rapido-kconfig links with kconfig's),
 * static inline in 6.12's scripts/include/xalloc.h (include that before
 * util.h: these declarations then step aside).
 */
#ifndef XALLOC_H
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
#endif
/* grow @v (of *@cap elements of @size) to hold at least @n + 1 of them */
void *xgrow(void *v, size_t *cap, size_t n, size_t size);
char *xasprintf(const char *fmt, ...) __printf(1, 2);
char *xvasprintf(const char *fmt, va_list ap) __printf(1, 0);

/*
 * All of @path, NUL-terminated, into *@buf (*@len without the NUL; @len
 * may be NULL). @flags are added to open()'s (O_NOFOLLOW, say). Returns
 * 0 or -errno; nothing is reported.
 */
int read_file(const char *path, int flags, char **buf, size_t *len);
/* all of @len bytes, through EINTR and short writes: 0 or -errno */
int write_all(int fd, const void *buf, size_t len);
/* the same on a socket, without SIGPIPE (a gone peer is -EPIPE) */
int send_all(int fd, const void *buf, size_t len);
/*
 * @len bytes to @path with @mode, through @path.tmp and rename(): a
 * reader sees the old file or the whole new one. A symlink at @path is
 * replaced, one at @path.tmp refused. Reports its error; 0 or -errno.
 */
int write_file(const char *path, const void *buf, size_t len, mode_t mode);
/* mkdir -p @dir (mode 0755): reports its error; 0 or -errno */
int mkdir_p(const char *dir);
/* @dir/@name; @dir may be "" or end with '/' */
char *path_join(const char *dir, const char *name);

/* CLOCK_MONOTONIC, in milliseconds */
double now_ms(void);

#endif /* RAPIDO_UTIL_H */
