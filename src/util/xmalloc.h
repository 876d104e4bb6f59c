/*
 * xmalloc.h - allocation that never returns NULL.
 *
 * Every allocation in shale goes through these wrappers. On failure they
 * print the size that could not be had and abort: an out-of-memory process
 * cannot keep its promises about durability, so it stops loudly instead of
 * limping on. Thread-safe (they only call the C library).
 */
#ifndef SHALE_XMALLOC_H
#define SHALE_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
/* Grow an array of *cap elements of `size` bytes to hold at least `need`. */
void *xgrow(void *p, size_t *cap, size_t need, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
