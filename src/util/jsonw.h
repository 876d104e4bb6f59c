/*
 * jsonw.h - JSON strings and numbers spelled byte for byte as the Go
 * encoders behind Prometheus's HTTP API spell them, so that our answers
 * can be compared with Prometheus's as bytes.
 *
 * Two ways of escaping a string, for Prometheus uses both:
 *
 *	jw_string	encoding/json (and json-iterator's standard
 *			configuration): ", \, \n, \r, \t and the other
 *			control bytes escaped, and also <, > and & (as
 *			\u003c ...), U+2028 and U+2029; a byte that is not
 *			UTF-8 becomes \ufffd. Messages, warnings, strings.
 *	jw_string_raw	json-iterator's WriteString, which the API uses
 *			for label names and values: only ", \ and the
 *			control bytes escaped; every other byte as is.
 *
 * The prefix is jw_ (a JSON writer): json_ is jansson's. Pure functions
 * appending to the caller's buf: any thread.
 */
#ifndef SHALE_JSONW_H
#define SHALE_JSONW_H

#include <stddef.h>

#include "util/buf.h"

void	jw_string(struct buf *b, const char *s, size_t len);
void	jw_string_raw(struct buf *b, const char *s, size_t len);

/*
 * A finite float64 as a JSON number, as Go writes one: the shortest
 * digits that read back, in 'f' form, or 'e' form ("1e-7", "1e+21")
 * below 1e-6 and from 1e21 up. NaN and the infinities, which JSON
 * cannot hold, are written as 0.
 */
void	jw_float(struct buf *b, double v);

/*
 * The same shortest digits, as strconv.FormatFloat(v, fmt, -1, 64)
 * spells them ('f' or 'e'; "NaN", "+Inf", "-Inf"), without quotes.
 */
void	jw_format_float(struct buf *b, double v, char fmt);

#endif
