/*
 * settings_value.c - a setting's value as text: durations, sizes,
 * integers, booleans and strings parsed and checked against the row's
 * range, formatted back for messages, and quoted in them.
 *
 * The rules (shale-settings(5) lists them):
 *   - durations are humantime strings ('100ms', '1h30m', '2d') or a bare
 *     number of milliseconds; they must be whole milliseconds (serde's
 *     {secs: N, nanos: M} is YAML's, settings_yaml.c);
 *   - sizes are a number of bytes with an optional unit: B, KB MB GB TB PB
 *     (powers of 1000), KiB MiB GiB TiB PiB or K M G T P or Ki Mi Gi Ti Pi
 *     (powers of 1024), case-insensitive;
 *   - integers are decimal, with an optional sign; booleans are true or
 *     false;
 *   - a string is not empty and at most its row's max bytes long.
 *
 * Not here: where a value lives in struct engine_settings and the rules
 * across keys (settings.c); where the text comes from, and null
 * (settings_yaml.c, the environment in settings.c).
 *
 * Threading: none; every function works on its arguments only.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "engine/lsm/settings.h"
#include "engine/lsm/settings_int.h"

/* Duration units, as humantime spells them; case matters (m and M). */
struct duration_unit {
	const char	*name;
	uint64_t	 ns;		/* nanoseconds in one, below a ms */
	uint64_t	 ms;		/* milliseconds in one */
};

static const struct duration_unit duration_units[] = {
	{ "nanos", 1, 0 }, { "nsec", 1, 0 }, { "ns", 1, 0 },
	{ "usec", 1000, 0 }, { "us", 1000, 0 },
	{ "millis", 0, 1 }, { "msec", 0, 1 }, { "ms", 0, 1 },
	{ "seconds", 0, SEC }, { "second", 0, SEC }, { "secs", 0, SEC },
	{ "sec", 0, SEC }, { "s", 0, SEC },
	{ "minutes", 0, MINUTE }, { "minute", 0, MINUTE },
	{ "mins", 0, MINUTE }, { "min", 0, MINUTE }, { "m", 0, MINUTE },
	{ "hours", 0, HOUR }, { "hour", 0, HOUR }, { "hrs", 0, HOUR },
	{ "hr", 0, HOUR }, { "h", 0, HOUR },
	{ "days", 0, DAY }, { "day", 0, DAY }, { "d", 0, DAY },
	{ "weeks", 0, 7 * DAY }, { "week", 0, 7 * DAY }, { "w", 0, 7 * DAY },
	/* humantime's month is 30.44 days, its year 365.25 days */
	{ "months", 0, 2630016 * SEC }, { "month", 0, 2630016 * SEC },
	{ "M", 0, 2630016 * SEC },
	{ "years", 0, 31557600 * SEC }, { "year", 0, 31557600 * SEC },
	{ "y", 0, 31557600 * SEC },
};

/* Size units, compared without regard to case. */
struct size_unit {
	const char	*name;
	uint64_t	 mult;
};

static const struct size_unit size_units[] = {
	{ "", 1 }, { "b", 1 },
	{ "kb", 1000ULL }, { "mb", 1000000ULL }, { "gb", 1000000000ULL },
	{ "tb", 1000000000000ULL }, { "pb", 1000000000000000ULL },
	{ "k", KIB }, { "ki", KIB }, { "kib", KIB },
	{ "m", MIB }, { "mi", MIB }, { "mib", MIB },
	{ "g", GIB }, { "gi", GIB }, { "gib", GIB },
	{ "t", TIB }, { "ti", TIB }, { "tib", TIB },
	{ "p", PIB }, { "pi", PIB }, { "pib", PIB },
};

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\f' || c == '\v';
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char
to_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* *acc = *acc * mul + add, unless that passes max: then -ERANGE. */
int
settings_mul_add(uint64_t *acc, uint64_t mul, uint64_t add, uint64_t max)
{
	if (mul != 0 && *acc > max / mul)
		return -ERANGE;
	if (*acc * mul > max - add)
		return -ERANGE;
	*acc = *acc * mul + add;
	return 0;
}

/* Digits at *p into *n; *big set on overflow. 0, or -EINVAL if none. */
static int
scan_digits(const char **p, uint64_t *n, int *big)
{
	const char *q = *p;

	*n = 0;
	if (!is_digit(*q))
		return -EINVAL;
	for (; is_digit(*q); q++)
		if (settings_mul_add(n, 10, (uint64_t)(*q - '0'), UINT64_MAX) != 0)
			*big = 1;
	*p = q;
	return 0;
}

/*
 * A duration into *ms. 0; -EINVAL for what is not a duration, or -ERANGE
 * and in *why the reason for one shale cannot hold.
 */
static int
parse_duration(const char *s, int64_t *ms, const char **why)
{
	const struct duration_unit *u;
	const char *p = s, *name;
	uint64_t n, total = 0, sub = 0;
	size_t len, i;
	int big = 0, first = 1;

	*why = NULL;
	while (is_space(*p))
		p++;
	if (*p == '\0')
		return -EINVAL;
	for (;;) {
		if (scan_digits(&p, &n, &big) != 0)
			return -EINVAL;
		while (is_space(*p))
			p++;
		name = p;
		while (is_alpha(*p))
			p++;
		len = (size_t)(p - name);
		if (len == 0) {
			/* A bare number, alone, is milliseconds. */
			if (!first || *p != '\0')
				return -EINVAL;
			if (big || settings_mul_add(&total, 1, n, INT64_MAX) != 0)
				goto toobig;
			break;
		}
		for (i = 0; i < nitems(duration_units); i++) {
			u = &duration_units[i];
			if (strlen(u->name) == len &&
			    memcmp(u->name, name, len) == 0)
				break;
		}
		if (i == nitems(duration_units))
			return -EINVAL;
		if (u->ms != 0) {
			if (settings_mul_add(&n, u->ms, 0, INT64_MAX) != 0 ||
			    settings_mul_add(&total, 1, n, INT64_MAX) != 0)
				big = 1;
		} else if (settings_mul_add(&n, u->ns, 0, UINT64_MAX) != 0 ||
		    settings_mul_add(&sub, 1, n, UINT64_MAX) != 0)
			big = 1;
		first = 0;
		while (is_space(*p))
			p++;
		if (*p == '\0')
			break;
	}
	if (big || settings_mul_add(&total, 1, sub / 1000000, INT64_MAX) != 0)
		goto toobig;
	if (sub % 1000000 != 0) {
		*why = "not a whole number of milliseconds";
		return -ERANGE;
	}
	*ms = (int64_t)total;
	return 0;

toobig:
	*why = "too large";
	return -ERANGE;
}

int
settings_parse_duration(const char *s, int64_t *ms)
{
	const char *why;
	int64_t v;

	if (s == NULL || parse_duration(s, &v, &why) != 0)
		return -EINVAL;
	*ms = v;
	return 0;
}

/* A size into *bytes: 0; -EINVAL, or -ERANGE for one over 2^64 - 1. */
static int
parse_size(const char *s, uint64_t *bytes)
{
	const char *p = s, *name;
	uint64_t n;
	size_t len, i, j;
	int big = 0;

	while (is_space(*p))
		p++;
	if (scan_digits(&p, &n, &big) != 0)
		return -EINVAL;
	while (is_space(*p))
		p++;
	name = p;
	while (is_alpha(*p))
		p++;
	len = (size_t)(p - name);
	while (is_space(*p))
		p++;
	if (*p != '\0')
		return -EINVAL;
	for (i = 0; i < nitems(size_units); i++) {
		if (strlen(size_units[i].name) != len)
			continue;
		for (j = 0; j < len; j++)
			if (to_lower(name[j]) != size_units[i].name[j])
				break;
		if (j == len)
			break;
	}
	if (i == nitems(size_units))
		return -EINVAL;
	if (big || settings_mul_add(&n, size_units[i].mult, 0, UINT64_MAX) != 0)
		return -ERANGE;
	*bytes = n;
	return 0;
}

int
settings_parse_size(const char *s, uint64_t *bytes)
{
	uint64_t v;

	if (s == NULL || parse_size(s, &v) != 0)
		return -EINVAL;
	*bytes = v;
	return 0;
}

/*
 * An integer, with an optional sign: 0 and *neg, *n; -EINVAL; -ERANGE past
 * 2^64 - 1 in magnitude.
 */
int
settings_parse_int(const char *s, int *neg, uint64_t *n)
{
	const char *p = s;
	int big = 0;

	while (is_space(*p))
		p++;
	*neg = *p == '-';
	if (*p == '-' || *p == '+')
		p++;
	if (scan_digits(&p, n, &big) != 0)
		return -EINVAL;
	while (is_space(*p))
		p++;
	if (*p != '\0')
		return -EINVAL;
	return big ? -ERANGE : 0;
}

/* "1h30m", "100ms", "0": ms as the shortest humantime string. */
static void
format_duration(uint64_t ms, char *buf, size_t sz)
{
	static const struct { const char *name; uint64_t ms; } u[] = {
		{ "d", DAY }, { "h", HOUR }, { "m", MINUTE }, { "s", SEC },
		{ "ms", 1 },
	};
	size_t i, len = 0;

	buf[0] = '\0';
	if (ms == 0) {
		snprintf(buf, sz, "0");
		return;
	}
	for (i = 0; i < nitems(u) && len < sz; i++) {
		if (ms / u[i].ms == 0)
			continue;
		len += (size_t)snprintf(buf + len, sz - len, "%llu%s",
		    (unsigned long long)(ms / u[i].ms), u[i].name);
		ms %= u[i].ms;
	}
}

/* "64MiB", "1000": bytes in the largest binary unit that divides them. */
static void
format_size(uint64_t b, char *buf, size_t sz)
{
	static const char *u[] = { "", "KiB", "MiB", "GiB", "TiB", "PiB" };
	size_t i = 0;

	while (b != 0 && b % 1024 == 0 && i < nitems(u) - 1) {
		b /= 1024;
		i++;
	}
	snprintf(buf, sz, "%llu%s", (unsigned long long)b, u[i]);
}

void
settings_format_value(const struct setting *st, uint64_t v, char *buf, size_t sz)
{
	switch (st->type) {
	case ST_DURATION:
		format_duration(v, buf, sz);
		break;
	case ST_SIZE:
		format_size(v, buf, sz);
		break;
	case ST_INT:
	case ST_STRING:
		snprintf(buf, sz, "%llu", (unsigned long long)v);
		break;
	case ST_BOOL:
		snprintf(buf, sz, "%s", v ? "true" : "false");
		break;
	}
}

/*
 * A value as it may be quoted in a message: at most SETTINGS_SHOW_MAX
 * bytes, cut between characters, control bytes as '?'.
 */
void
settings_show(const char *p, size_t n, char *out, size_t sz)
{
	size_t i, cut = n;

	if (cut > SETTINGS_SHOW_MAX) {
		cut = SETTINGS_SHOW_MAX;
		while (cut > 0 && ((unsigned char)p[cut] & 0xc0) == 0x80)
			cut--;
	}
	if (cut + 4 > sz)
		cut = 0;
	for (i = 0; i < cut; i++)
		out[i] = (unsigned char)p[i] < 0x20 || p[i] == 0x7f ?
		    '?' : p[i];
	if (cut < n) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
}

const char *
settings_type_name(enum setting_type t)
{
	switch (t) {
	case ST_DURATION:	return "a duration";
	case ST_SIZE:		return "a size";
	case ST_INT:		return "an integer";
	case ST_STRING:		return "a string";
	case ST_BOOL:		return "true or false";
	}
	return "a value";
}

/* The message for v outside st's range; `text` is how the user wrote it. */
void
settings_range_msg(const struct setting *st, const char *text, char *msg, size_t sz)
{
	char lo[32], hi[32], shown[SETTINGS_SHOW_MAX + 4];

	settings_show(text, strlen(text), shown, sizeof(shown));
	settings_format_value(st, st->min, lo, sizeof(lo));
	settings_format_value(st, st->max, hi, sizeof(hi));
	snprintf(msg, sz, "'%s' is out of range (%s to %s%s)", shown, lo, hi,
	    st->flags & SF_NULLABLE ? ", or null" : "");
}

/*
 * Parse `len` bytes of `text` as a value of st: 0 and *v (for a string,
 * its length); or -EINVAL with a message ("'5 parsecs' is not a
 * duration") in msg.
 */
int
settings_parse_value(const struct setting *st, const char *text, size_t len,
    uint64_t *v, char *msg, size_t sz)
{
	char shown[SETTINGS_SHOW_MAX + 4];
	const char *why = NULL;
	int64_t ms;
	uint64_t n = 0;
	int neg, rc;

	settings_show(text, len, shown, sizeof(shown));
	if (strlen(text) != len) {
		snprintf(msg, sz, "'%s' contains a NUL byte", shown);
		return -EINVAL;
	}
	switch (st->type) {
	case ST_DURATION:
		if ((rc = parse_duration(text, &ms, &why)) != 0)
			goto bad;
		n = (uint64_t)ms;
		break;
	case ST_SIZE:
		if ((rc = parse_size(text, &n)) == -ERANGE)
			why = "too large";
		if (rc != 0)
			goto bad;
		break;
	case ST_INT:
		if ((rc = settings_parse_int(text, &neg, &n)) == -EINVAL)
			goto bad;
		if (rc != 0 || (neg && n != 0)) {
			settings_range_msg(st, text, msg, sz);
			return -EINVAL;
		}
		break;
	case ST_STRING:
		if (len == 0) {
			snprintf(msg, sz, "expected a string, found an "
			    "empty one");
			return -EINVAL;
		}
		if (len > st->max) {
			snprintf(msg, sz, "'%s' is longer than %llu bytes",
			    shown, (unsigned long long)st->max);
			return -EINVAL;
		}
		*v = len;
		return 0;
	case ST_BOOL:
		if (strcmp(text, "true") == 0)
			n = 1;
		else if (strcmp(text, "false") != 0)
			goto bad;
		break;
	}
	if (n < st->min || n > st->max) {
		settings_range_msg(st, text, msg, sz);
		return -EINVAL;
	}
	*v = n;
	return 0;

bad:
	snprintf(msg, sz, "'%s' is not %s%s%s", shown, settings_type_name(st->type),
	    why ? ": " : "", why ? why : "");
	return -EINVAL;
}
