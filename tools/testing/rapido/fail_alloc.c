// SPDX-License-Identifier: GPL-2.0
/*
 * fail_alloc.c - an LD_PRELOAD library for the out-of-memory tests: once
 * the program's own code (its executable: not the C library, not another
 * shared object) has made FAIL_ALLOC_AFTER calls of malloc(), calloc(),
 * realloc(), strdup() and strndup(), every further call of theirs fails
 * with ENOMEM, as under memory exhaustion. The C library's own allocations
 * (stdio, the program's error message) go on working. The program's
 * children get neither variable: they run unhooked.
 *
 *   cc -shared -fPIC -o fail_alloc.so fail_alloc.c
 *   FAIL_ALLOC_AFTER=N LD_PRELOAD=./fail_alloc.so PROGRAM...
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* dl_iterate_phdr() */
#endif
#include <errno.h>
#include <link.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fail_alloc.h"

static uintptr_t exe_lo, exe_hi;	/* the executable's PT_LOAD span */
static long allowed = -1;		/* calls left to succeed; -1: all */

/* dl_iterate_phdr()'s first object is the executable */
static int exe_span(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		uintptr_t lo = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
		uintptr_t hi = lo + info->dlpi_phdr[i].p_memsz;

		if (info->dlpi_phdr[i].p_type != PT_LOAD)
			continue;
		if (!exe_lo || lo < exe_lo)
			exe_lo = lo;
		if (hi > exe_hi)
			exe_hi = hi;
	}
	return 1;
}

static void __attribute__((constructor)) fail_alloc_init(void)
{
	const char *after = getenv("FAIL_ALLOC_AFTER");

	dl_iterate_phdr(exe_span, NULL);
	if (after && *after)
		allowed = strtol(after, NULL, 10);
	unsetenv("FAIL_ALLOC_AFTER");
	unsetenv("LD_PRELOAD");
}

/* Must the call from @caller fail? */
static bool fails(const void *caller)
{
	uintptr_t c = (uintptr_t)caller;

	if (allowed < 0 || c < exe_lo || c >= exe_hi)
		return false;
	if (allowed > 0) {
		allowed--;
		return false;
	}
	errno = ENOMEM;
	return true;
}

void *malloc(size_t n)
{
	if (fails(__builtin_return_address(0)))
		return NULL;
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	if (fails(__builtin_return_address(0)))
		return NULL;
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	if (fails(__builtin_return_address(0)))
		return NULL;
	return __libc_realloc(p, n);
}

static char *dup_n(const char *s, size_t n)
{
	char *d = __libc_malloc(n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

char *strdup(const char *s)
{
	if (fails(__builtin_return_address(0)))
		return NULL;
	return dup_n(s, strlen(s));
}

char *strndup(const char *s, size_t n)
{
	if (fails(__builtin_return_address(0)))
		return NULL;
	return dup_n(s, strnlen(s, n));
}
