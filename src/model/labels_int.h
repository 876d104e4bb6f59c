/*
 * labels_int.h - what labels.c shares with matcher.c and remote_write.c
 * alone: the short form of a name or value in an error. Pure functions: any
 * thread.
 */
#ifndef SHALE_LABELS_INT_H
#define SHALE_LABELS_INT_H

#include <stddef.h>

/*
 * Put a short, printable form of n bytes at p into dst (dstlen bytes,
 * NUL-terminated): bytes outside printable ASCII as \xNN, cut with "..."
 * when longer than dstlen allows. Returns dst.
 */
const char *labels_show(char *dst, size_t dstlen, const char *p, size_t n);

#endif
