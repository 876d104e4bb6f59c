/*
 * utf8.h - checking and counting UTF-8.
 *
 * Strict: overlong forms, surrogates (U+D800..U+DFFF) and code points past
 * U+10FFFF are not valid. Pure functions: any thread.
 */
#ifndef SHALE_UTF8_H
#define SHALE_UTF8_H

#include <stddef.h>

/* The length of the longest valid UTF-8 prefix of s[0, n): n if all is. */
size_t	utf8_valid(const char *s, size_t n);

/*
 * The characters in s[0, n): the bytes that are not continuation bytes
 * (a stray byte counts as one), as a column of an error message counts.
 */
size_t	utf8_chars(const char *s, size_t n);

#endif
