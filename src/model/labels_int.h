/*
 * labels_int.h - what labels.c shares with matcher.c, remote_write.c and
 * logs_labels.c alone: the short form of a name or value in an error,
 * and the quoted form of a value. Pure functions: any thread.
 */
#ifndef SHALE_LABELS_INT_H
#define SHALE_LABELS_INT_H

#include <stddef.h>

#include "util/buf.h"

/*
 * Put a short, printable form of n bytes at p into dst (dstlen bytes,
 * NUL-terminated): bytes outside printable ASCII as \xNN, cut with "..."
 * when longer than dstlen allows. Returns dst.
 */
const char *labels_show(char *dst, size_t dstlen, const char *p, size_t n);

/*
 * Append v[0, n) to b as a PromQL string literal: in double quotes, with
 * '\\', '"' and newline escaped; for a file name also '/' as %2F and '%'
 * as %25. 0, or nonzero when b is full (b then holds part of it).
 */
int	labels_quote(struct buf *b, const char *v, size_t n, int file_name);

#endif
