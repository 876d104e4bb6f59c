/*
 * jsonw.c - JSON strings and numbers as Go's encoders write them (jsonw.h).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/jsonw.h"
#include "util/utf8.h"

static const char hex[] = "0123456789abcdef";

/* \u00XX for a control byte, or its short escape */
static void
escape_byte(struct buf *b, unsigned char c)
{
	switch (c) {
	case '"': buf_puts(b, "\\\""); return;
	case '\\': buf_puts(b, "\\\\"); return;
	case '\n': buf_puts(b, "\\n"); return;
	case '\r': buf_puts(b, "\\r"); return;
	case '\t': buf_puts(b, "\\t"); return;
	}
	buf_puts(b, "\\u00");
	buf_putc(b, hex[c >> 4]);
	buf_putc(b, hex[c & 15]);
}

void
jw_string(struct buf *b, const char *s, size_t len)
{
	size_t i = 0, run = 0, ok;
	unsigned char c;

	buf_putc(b, '"');
	while (i < len) {
		c = (unsigned char)s[i];
		if (c < 0x80) {
			if (c >= 0x20 && c != '"' && c != '\\' && c != '<' &&
			    c != '>' && c != '&') {
				i++;
				continue;
			}
			buf_append(b, s + run, i - run);
			escape_byte(b, c);
			run = ++i;
			continue;
		}
		/* one character: its lead byte says how long it should be */
		ok = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
		if (ok > len - i || utf8_valid(s + i, ok) != ok) {
			buf_append(b, s + run, i - run);
			buf_puts(b, "\\ufffd");
			run = ++i;
		} else if (ok == 3 && c == 0xe2 &&
		    (unsigned char)s[i + 1] == 0x80 &&
		    ((unsigned char)s[i + 2] & 0xfe) == 0xa8) {
			/* U+2028, U+2029: line ends to JavaScript */
			buf_append(b, s + run, i - run);
			buf_printf(b, "\\u%04x", 0x2028 +
			    ((unsigned char)s[i + 2] - 0xa8));
			run = i += ok;
		} else
			i += ok;
	}
	buf_append(b, s + run, len - run);
	buf_putc(b, '"');
}

void
jw_string_raw(struct buf *b, const char *s, size_t len)
{
	size_t i, run = 0;
	unsigned char c;

	buf_putc(b, '"');
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_append(b, s + run, i - run);
		escape_byte(b, c);
		run = i + 1;
	}
	buf_append(b, s + run, len - run);
	buf_putc(b, '"');
}

void
jw_format_float(struct buf *b, double v, char fmt)
{
	char e[40], digits[24];
	int prec, exp, nd = 0, dp;
	const char *p;

	if (isnan(v)) {
		buf_puts(b, "NaN");
		return;
	}
	if (isinf(v)) {
		buf_puts(b, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	/* the fewest digits that read back to v, correctly rounded */
	for (prec = 1; prec <= 17; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec - 1, v);
		if (strtod(e, NULL) == v)
			break;
	}
	if (fmt == 'e') {
		/* C's %e is Go's 'e': d.ddde±XX, two exponent digits at least */
		buf_puts(b, e);
		return;
	}
	p = e;
	if (*p == '-') {
		buf_putc(b, '-');
		p++;
	}
	for (; *p != 'e'; p++)
		if (*p != '.')
			digits[nd++] = *p;
	exp = atoi(p + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	if (nd == 1 && digits[0] == '0') {
		buf_putc(b, '0');
		return;
	}
	dp = exp + 1;		/* digits before the point */
	if (dp <= 0) {
		buf_puts(b, "0.");
		for (int i = 0; i < -dp; i++)
			buf_putc(b, '0');
		buf_append(b, digits, (size_t)nd);
	} else if (dp >= nd) {
		buf_append(b, digits, (size_t)nd);
		for (int i = nd; i < dp; i++)
			buf_putc(b, '0');
	} else {
		buf_append(b, digits, (size_t)dp);
		buf_putc(b, '.');
		buf_append(b, digits + dp, (size_t)(nd - dp));
	}
}

void
jw_float(struct buf *b, double v)
{
	double a = fabs(v);
	size_t at;

	if (!isfinite(v)) {
		buf_putc(b, '0');
		return;
	}
	if (a != 0 && (a < 1e-6 || a >= 1e21)) {
		at = b->len;
		jw_format_float(b, v, 'e');
		/* Go's encoder writes e-7, not e-07 */
		if (b->len - at >= 4 && b->data[b->len - 4] == 'e' &&
		    b->data[b->len - 3] == '-' && b->data[b->len - 2] == '0') {
			b->data[b->len - 2] = b->data[b->len - 1];
			b->len--;
		}
		return;
	}
	jw_format_float(b, v, 'f');
}
