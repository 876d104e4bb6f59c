/*
 * labels_int.h - what labels.c shares with matcher.c and remote_write.c
 * alone: UTF-8 and the columns of parse errors. Pure functions: any
 * thread.
 */
#ifndef SHALE_LABELS_INT_H
#define SHALE_LABELS_INT_H

#include <stddef.h>

/*
 * The offset of the first byte of s that does not begin a valid UTF-8
 * sequence (overlong forms, surrogates and code points past U+10FFFF
 * are not valid), or n if all n bytes are valid.
 */
size_t	labels_utf8_bad(const char *s, size_t n);

/* The column of byte off of s, in characters from 1, for error messages. */
size_t	labels_column(const char *s, size_t off);

/*
 * Put a short, printable form of n bytes at p into dst (dstlen bytes,
 * NUL-terminated): bytes outside printable ASCII as \xNN, cut with "..."
 * when longer than dstlen allows. Returns dst.
 */
const char *labels_show(char *dst, size_t dstlen, const char *p, size_t n);

#endif
