/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rapido-kconfig.h - what the units of rapido-kconfig share:
 *	rapido-kconfig.c		fragments and CONFIG as text: what did
 *					not land
 *	rapido-kconfig-explain.c	-e: why, from kconfig's own symbols
 *	rapido-kconfig-env.c		-e: kbuild's environment, the Kconfig
 *					tree parsed and CONFIG read
 *
 * lkc.h comes first: 6.1's declares kconfig's xmalloc() family, which
 * util.h declares alike (util.c's weak ones step aside at link time); in
 * 6.12 kconfig's are static inline in its own units (xalloc.h), and ours
 * are util.c's.
 */
#ifndef RAPIDO_KCONFIG_H
#define RAPIDO_KCONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "lkc.h"
#include "util.h"

/*
 * Exit codes: util.h's EXIT_PASS (all landed) and EXIT_FAIL (some did
 * not); "cannot run" (a bad fragment line, an unreadable file, kconfig
 * failed) is 2, EXIT_USAGE's number, as the driver and the tests have it.
 * Out of memory is EXIT_RAPIDO (128), in kconfig's objects too: see the
 * --wrap= allocators below.
 */
#define EXIT_CANNOT	EXIT_USAGE

/* One "CONFIG_FOO=value" or "# CONFIG_FOO is not set" line. */
struct entry {
	const char *name;	/* without CONFIG_ */
	const char *val;	/* "n" for "is not set" */
	const char *file;
	unsigned int line;
	unsigned int seq;	/* order of appearance over all fragments */
	bool not_set_form;
	bool dead;		/* overridden by a later fragment line */
};

/* the live fragment entries and CONFIG's, each sorted by name */
extern struct entry **frag_idx, **conf_idx;
extern size_t nfrag_idx, nconf;

/* rapido-kconfig.c */
struct entry *lookup(struct entry **idx, size_t n, const char *name);

/* rapido-kconfig-explain.c: indented lines on stdout */
void explain(const struct entry *w, const char *config);

/* rapido-kconfig-env.c: 0 or -errno (reported) */
int kconfig_load(const char *srctree_arg, const char *config);

/*
 * rapido-kconfig-env.c: the C library's allocators as this program is
 * linked (-Wl,--wrap=malloc,...: scripts/rapido/Makefile), NULL fatal
 * (EXIT_RAPIDO), also under kconfig's xmalloc() & co.; __real_* are the
 * C library's.
 */
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);

#endif /* RAPIDO_KCONFIG_H */
