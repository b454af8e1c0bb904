/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fail_alloc.h - glibc's allocator itself, under the names glibc exports
 * it by (none of its headers declares them), for fail_alloc.c: what its
 * malloc() & co. call when they do not fail.
 */
#ifndef FAIL_ALLOC_H
#define FAIL_ALLOC_H

#include <stddef.h>

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);

#endif /* FAIL_ALLOC_H */
