/*
 * settings.c - the engine's settings: defaults, a YAML file and SHALE_*
 * environment variables.
 *
 * Everything is driven by one table, settings[]: each row is a key path
 * ('compactor_options.poll_interval'), a type (duration, size, integer,
 * string), where the value lives in struct engine_settings and the range
 * it must fall in. The YAML walker and the environment reader both look
 * keys up there and share one parser per type, so a setting is added by
 * adding a row. A path that is a proper prefix of some row's path
 * ('compactor_options') is a group: in YAML a mapping, or null for "no
 * overrides".
 *
 * Rules, beside each row's range (shale-settings(5) lists them):
 *   - durations are humantime strings ('100ms', '1h30m', '2d'), a bare
 *     number of milliseconds, or serde's {secs: N, nanos: M}; they must be
 *     whole milliseconds;
 *   - sizes are a number of bytes with an optional unit: B, KB MB GB TB PB
 *     (powers of 1000), KiB MiB GiB TiB PiB or K M G T P or Ki Mi Gi Ti Pi
 *     (powers of 1024), case-insensitive;
 *   - null is accepted only where a row says so (default_ttl, root_folder);
 *   - l0_sst_size_bytes must not be more than max_unflushed_bytes (rules[]).
 *
 * A load works on a copy and replaces *s only when everything checked, so
 * a failed load leaves the settings as they were. The cross-key rules are
 * checked at the end of every load, on the settings as they then stand.
 *
 * Not thread-safe (getenv, the error detail of the calling thread aside):
 * load settings once, before the engine starts.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "engine/lsm/settings.h"
#include "util/error.h"
#include "util/xmalloc.h"

#define KIB		(1024ULL)
#define MIB		(1024ULL * KIB)
#define GIB		(1024ULL * MIB)
#define TIB		(1024ULL * GIB)
#define PIB		(1024ULL * TIB)

#define SEC		(1000ULL)
#define MINUTE		(60 * SEC)
#define HOUR		(60 * MINUTE)
#define DAY		(24 * HOUR)

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

#define SETTINGS_FILE_MAX	(1024 * 1024)	/* bytes in a settings file */
#define SETTINGS_PATH_MAX	128		/* bytes in a key path */
#define SETTINGS_STRING_MAX	4095		/* bytes in a string value */
#define SETTINGS_MSG_MAX	512
#define SETTINGS_SHOW_MAX	64		/* bytes of a value in errors */
#define SETTINGS_DEPTH_MAX	8		/* nested collections in YAML */

enum setting_type {
	ST_DURATION,		/* int64_t milliseconds */
	ST_SIZE,		/* uint64_t bytes */
	ST_INT,			/* int */
	ST_STRING,		/* char *, owned by the settings */
	ST_BOOL,		/* int, 0 or 1: true or false */
};

enum {
	SF_NULLABLE	= 1 << 0,	/* null or an empty variable: 0, NULL */
};

struct setting {
	const char		*path;
	enum setting_type	 type;
	size_t			 off;
	uint64_t		 min;
	uint64_t		 max;
	int			 flags;
};

#define OFF(f)		offsetof(struct engine_settings, f)
#define GC(kind)							\
	{ "garbage_collector_options." #kind "_options.interval",	\
	    ST_DURATION, OFF(gc_ ## kind.interval_ms), 1, 30 * DAY, 0 }, \
	{ "garbage_collector_options." #kind "_options.min_age",	\
	    ST_DURATION, OFF(gc_ ## kind.min_age_ms), 0, 3650 * DAY, 0 }

static const struct setting settings[] = {
	{ "flush_interval", ST_DURATION, OFF(flush_interval_ms),
	    1, HOUR, 0 },
	{ "manifest_poll_interval", ST_DURATION, OFF(manifest_poll_interval_ms),
	    1, HOUR, 0 },
	{ "checkpoint_lifetime", ST_DURATION, OFF(checkpoint_lifetime_ms),
	    SEC, 30 * DAY, 0 },
	{ "store_failure_timeout", ST_DURATION, OFF(store_failure_timeout_ms),
	    1, DAY, 0 },
	{ "max_unflushed_bytes", ST_SIZE, OFF(max_unflushed_bytes),
	    64 * KIB, TIB, 0 },
	{ "l0_sst_size_bytes", ST_SIZE, OFF(l0_sst_size_bytes),
	    64 * KIB, 4 * GIB, 0 },
	{ "l0_max_ssts", ST_INT, OFF(l0_max_ssts),
	    2, 1024, 0 },
	{ "wal_max_bytes", ST_SIZE, OFF(wal_max_bytes),
	    64 * KIB, GIB, 0 },
	{ "default_ttl", ST_DURATION, OFF(default_ttl_ms),
	    0, 36500 * DAY, SF_NULLABLE },
	{ "block_size", ST_SIZE, OFF(block_size),
	    512, MIB, 0 },
	{ "zstd_level", ST_INT, OFF(zstd_level),
	    1, 19, 0 },
	{ "wal_zstd_level", ST_INT, OFF(wal_zstd_level),
	    0, 19, 0 },
	{ "wal_stub_min_bytes", ST_SIZE, OFF(wal_stub_min_bytes),
	    0, 64 * MIB, 0 },
	{ "bloom_bits_per_key", ST_INT, OFF(bloom_bits_per_key),
	    0, 30, 0 },
	{ "block_cache_bytes", ST_SIZE, OFF(block_cache_bytes),
	    0, TIB, 0 },
	{ "block_cache_prepopulate", ST_BOOL, OFF(block_cache_prepopulate),
	    0, 1, 0 },
	{ "compactor_options.max_concurrent_compactions", ST_INT,
	    OFF(max_concurrent_compactions), 0, 256, 0 },
	{ "compactor_options.max_sst_size", ST_SIZE, OFF(max_sst_size),
	    MIB, 64 * GIB, 0 },
	{ "compactor_options.poll_interval", ST_DURATION,
	    OFF(compactor_poll_interval_ms), 1, HOUR, 0 },
	GC(manifest),
	GC(wal),
	GC(compacted),
	GC(compactions),
	{ "object_store_cache_options.root_folder", ST_STRING,
	    OFF(cache_root_folder), 1, SETTINGS_STRING_MAX, SF_NULLABLE },
	{ "object_store_cache_options.max_cache_size_bytes", ST_SIZE,
	    OFF(cache_max_size_bytes), MIB, PIB, 0 },
};
#define NSETTINGS	nitems(settings)

/* Rules across keys: the value of `lo` must not be more than that of `hi`. */
struct setting_rule {
	const char	*lo;
	const char	*hi;
};

static const struct setting_rule rules[] = {
	{ "l0_sst_size_bytes", "max_unflushed_bytes" },
};

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

/* What a YAML load carries along. */
struct yaml_walk {
	yaml_document_t		*doc;
	const char		*name;
	struct engine_settings	*s;
	size_t			 line[NSETTINGS];	/* 0: not set here */
};

static int	yaml_walk_mapping(struct yaml_walk *, yaml_node_t *,
		    const char *);

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
static int
mul_add(uint64_t *acc, uint64_t mul, uint64_t add, uint64_t max)
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
		if (mul_add(n, 10, (uint64_t)(*q - '0'), UINT64_MAX) != 0)
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
			if (big || mul_add(&total, 1, n, INT64_MAX) != 0)
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
			if (mul_add(&n, u->ms, 0, INT64_MAX) != 0 ||
			    mul_add(&total, 1, n, INT64_MAX) != 0)
				big = 1;
		} else if (mul_add(&n, u->ns, 0, UINT64_MAX) != 0 ||
		    mul_add(&sub, 1, n, UINT64_MAX) != 0)
			big = 1;
		first = 0;
		while (is_space(*p))
			p++;
		if (*p == '\0')
			break;
	}
	if (big || mul_add(&total, 1, sub / 1000000, INT64_MAX) != 0)
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
	if (big || mul_add(&n, size_units[i].mult, 0, UINT64_MAX) != 0)
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
static int
parse_int(const char *s, int *neg, uint64_t *n)
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

static void
format_value(const struct setting *st, uint64_t v, char *buf, size_t sz)
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
static void
show(const char *p, size_t n, char *out, size_t sz)
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

static const char *
type_name(enum setting_type t)
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
static void
range_msg(const struct setting *st, const char *text, char *msg, size_t sz)
{
	char lo[32], hi[32], shown[SETTINGS_SHOW_MAX + 4];

	show(text, strlen(text), shown, sizeof(shown));
	format_value(st, st->min, lo, sizeof(lo));
	format_value(st, st->max, hi, sizeof(hi));
	snprintf(msg, sz, "'%s' is out of range (%s to %s%s)", shown, lo, hi,
	    st->flags & SF_NULLABLE ? ", or null" : "");
}

/*
 * Parse `len` bytes of `text` as a value of st: 0 and *v (for a string,
 * its length); or -EINVAL with a message ("'5 parsecs' is not a
 * duration") in msg.
 */
static int
parse_value(const struct setting *st, const char *text, size_t len,
    uint64_t *v, char *msg, size_t sz)
{
	char shown[SETTINGS_SHOW_MAX + 4];
	const char *why = NULL;
	int64_t ms;
	uint64_t n = 0;
	int neg, rc;

	show(text, len, shown, sizeof(shown));
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
		if ((rc = parse_int(text, &neg, &n)) == -EINVAL)
			goto bad;
		if (rc != 0 || (neg && n != 0)) {
			range_msg(st, text, msg, sz);
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
		range_msg(st, text, msg, sz);
		return -EINVAL;
	}
	*v = n;
	return 0;

bad:
	snprintf(msg, sz, "'%s' is not %s%s%s", shown, type_name(st->type),
	    why ? ": " : "", why ? why : "");
	return -EINVAL;
}

static void *
field(struct engine_settings *s, const struct setting *st)
{
	return (char *)s + st->off;
}

static uint64_t
get_value(struct engine_settings *s, const struct setting *st)
{
	void *f = field(s, st);

	switch (st->type) {
	case ST_DURATION:
		return (uint64_t)*(int64_t *)f;
	case ST_SIZE:
		return *(uint64_t *)f;
	case ST_INT:
	case ST_BOOL:
		return (uint64_t)*(int *)f;
	case ST_STRING:
		break;
	}
	return 0;
}

/* Store v (a string: `text`, `v` bytes; NULL for null) into st's field. */
static void
set_value(struct engine_settings *s, const struct setting *st, uint64_t v,
    const char *text)
{
	void *f = field(s, st);
	char **sp;

	switch (st->type) {
	case ST_DURATION:
		*(int64_t *)f = (int64_t)v;
		break;
	case ST_SIZE:
		*(uint64_t *)f = v;
		break;
	case ST_INT:
	case ST_BOOL:
		*(int *)f = (int)v;
		break;
	case ST_STRING:
		sp = f;
		free(*sp);
		*sp = text != NULL ? xstrndup(text, (size_t)v) : NULL;
		break;
	}
}

static const struct setting *
find_setting(const char *path, size_t *idx)
{
	size_t i;

	for (i = 0; i < NSETTINGS; i++) {
		if (strcmp(settings[i].path, path) == 0) {
			if (idx != NULL)
				*idx = i;
			return &settings[i];
		}
	}
	return NULL;
}

/* Is path ("compactor_options") a group, the beginning of some path? */
static int
is_group(const char *path)
{
	size_t i, n = strlen(path);

	for (i = 0; i < NSETTINGS; i++)
		if (strncmp(settings[i].path, path, n) == 0 &&
		    settings[i].path[n] == '.')
			return 1;
	return 0;
}

/* The keys directly under group `prefix` ("" for the top), for hints. */
static void
group_keys(const char *prefix, char *buf, size_t sz)
{
	const char *p, *end;
	size_t i, j, n = strlen(prefix), len = 0, klen, plen;
	int seen;

	buf[0] = '\0';
	for (i = 0; i < NSETTINGS; i++) {
		p = settings[i].path;
		if (n > 0) {
			if (strncmp(p, prefix, n) != 0 || p[n] != '.')
				continue;
			p += n + 1;
		}
		end = strchr(p, '.');
		klen = end ? (size_t)(end - p) : strlen(p);
		/* Only the first row under each key names it. */
		seen = 0;
		plen = (size_t)(p - settings[i].path) + klen;
		for (j = 0; j < i; j++)
			if (strncmp(settings[j].path, settings[i].path,
			    plen) == 0 && (settings[j].path[plen] == '.' ||
			    settings[j].path[plen] == '\0'))
				seen = 1;
		if (seen || len + klen + 3 >= sz)
			continue;
		len += (size_t)snprintf(buf + len, sz - len, "%s%.*s",
		    len ? ", " : "", (int)klen, p);
	}
}

/*
 * Check rules[] over s. 0; or -EINVAL with a message in msg and in *blame
 * the index of the setting to name: `hi` if it is set[] (set in this
 * load), else `lo`.
 */
static int
check_rules(struct engine_settings *s, const size_t *set, size_t *blame,
    char *msg, size_t sz)
{
	const struct setting *lo, *hi;
	char a[32], b[32];
	size_t i, li = 0, hj = 0;

	for (i = 0; i < nitems(rules); i++) {
		lo = find_setting(rules[i].lo, &li);
		hi = find_setting(rules[i].hi, &hj);
		if (get_value(s, lo) <= get_value(s, hi))
			continue;
		format_value(lo, get_value(s, lo), a, sizeof(a));
		format_value(hi, get_value(s, hi), b, sizeof(b));
		snprintf(msg, sz, "%s (%s) must not be more than %s (%s)",
		    lo->path, a, hi->path, b);
		*blame = set[hj] != 0 || set[li] == 0 ? hj : li;
		return -EINVAL;
	}
	return 0;
}

/* Copy src to dst, with a copy of its string. */
static void
settings_copy(struct engine_settings *dst, const struct engine_settings *src)
{
	*dst = *src;
	if (src->cache_root_folder != NULL)
		dst->cache_root_folder = xstrdup(src->cache_root_folder);
}

/*
 * The block cache's default: an eighth of the machine's memory, from 64 MiB
 * to 4 GiB, so that the log text a mount wrote or read last is read again
 * from memory, decompressed, without a small machine giving it much.
 */
uint64_t
engine_block_cache_default(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
	uint64_t b = 64 * MIB;

	if (pages > 0 && psz > 0)
		b = (uint64_t)pages * (uint64_t)psz / 8;
	if (b < 64 * MIB)
		b = 64 * MIB;
	if (b > 4 * GIB)
		b = 4 * GIB;
	return b & ~(MIB - 1);
}

void
engine_settings_default(struct engine_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->flush_interval_ms = 100;
	s->manifest_poll_interval_ms = 1000;
	s->checkpoint_lifetime_ms = 60 * SEC;
	s->store_failure_timeout_ms = 30 * SEC;
	s->max_unflushed_bytes = 64 * MIB;
	s->l0_sst_size_bytes = 16 * MIB;
	s->l0_max_ssts = 8;
	s->wal_max_bytes = 4 * MIB;
	s->default_ttl_ms = 0;
	s->block_size = 4096;
	s->zstd_level = 3;
	s->wal_zstd_level = 1;
	s->wal_stub_min_bytes = KIB;
	s->bloom_bits_per_key = 10;
	s->max_concurrent_compactions = 2;
	s->max_sst_size = 256 * MIB;
	s->compactor_poll_interval_ms = 5 * SEC;
	s->gc_manifest.interval_ms = 60 * SEC;
	s->gc_manifest.min_age_ms = DAY;
	s->gc_wal.interval_ms = 60 * SEC;
	s->gc_wal.min_age_ms = 60 * SEC;
	s->gc_compacted.interval_ms = 60 * SEC;
	s->gc_compacted.min_age_ms = 60 * SEC;
	s->gc_compactions.interval_ms = 60 * SEC;
	s->gc_compactions.min_age_ms = 60 * SEC;
	s->cache_root_folder = NULL;
	s->cache_max_size_bytes = 16 * GIB;
	s->block_cache_bytes = engine_block_cache_default();
	s->block_cache_prepopulate = 1;
}

void
engine_settings_release(struct engine_settings *s)
{
	free(s->cache_root_folder);
	s->cache_root_folder = NULL;
}

/* YAML */

static size_t
node_line(const yaml_node_t *n)
{
	return n->start_mark.line + 1;
}

/* "name:line: path: message" as the detail; -EINVAL. */
static int __attribute__((format(printf, 4, 5)))
yaml_fail(struct yaml_walk *w, const yaml_node_t *n, const char *path,
    const char *fmt, ...)
{
	char msg[SETTINGS_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set(-EINVAL, "%s:%zu: %s%s%s", w->name, node_line(n),
	    path, *path ? ": " : "", msg);
}

static const char *
node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:		return "a scalar";
	case YAML_SEQUENCE_NODE:	return "a sequence";
	case YAML_MAPPING_NODE:		return "a mapping";
	case YAML_NO_NODE:		break;
	}
	return "nothing";
}

/* A plain scalar that the YAML core schema reads as null. */
static int
node_is_null(const yaml_node_t *n)
{
	const char *v;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	v = (const char *)n->data.scalar.value;
	if (strlen(v) != n->data.scalar.length)
		return 0;
	return *v == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	    strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/*
 * Check that the key of pair `pair` in mapping m is a string not seen
 * before in m; 0 and the key in *key, or -EINVAL.
 */
static int
yaml_key(struct yaml_walk *w, yaml_node_t *m, yaml_node_pair_t *pair,
    const char *prefix, yaml_node_t **key)
{
	yaml_node_pair_t *q;
	yaml_node_t *k, *qk;
	char shown[SETTINGS_SHOW_MAX + 4];

	k = yaml_document_get_node(w->doc, pair->key);
	if (k == NULL || k->type != YAML_SCALAR_NODE)
		return yaml_fail(w, k != NULL ? k : m, prefix,
		    "keys must be strings, found %s",
		    k != NULL ? node_kind(k) : "nothing");
	for (q = m->data.mapping.pairs.start; q < pair; q++) {
		qk = yaml_document_get_node(w->doc, q->key);
		if (qk->data.scalar.length == k->data.scalar.length &&
		    memcmp(qk->data.scalar.value, k->data.scalar.value,
		    k->data.scalar.length) == 0) {
			show((const char *)k->data.scalar.value,
			    k->data.scalar.length, shown, sizeof(shown));
			return yaml_fail(w, k, prefix, "duplicate key '%s' "
			    "(first at line %zu)", shown, node_line(qk));
		}
	}
	*key = k;
	return 0;
}

/* A {secs: N, nanos: M} duration: 0 and *v, or -EINVAL. */
static int
yaml_secs_nanos(struct yaml_walk *w, const struct setting *st,
    yaml_node_t *m, const char *path, uint64_t *v)
{
	yaml_node_pair_t *pair;
	yaml_node_t *k, *val;
	const char *ks, *vs;
	char shown[SETTINGS_SHOW_MAX + 4], msg[SETTINGS_MSG_MAX];
	char text[64];
	uint64_t secs = 0, nanos = 0, *dst, n;
	int have_secs = 0, neg, rc;

	for (pair = m->data.mapping.pairs.start;
	    pair < m->data.mapping.pairs.top; pair++) {
		if ((rc = yaml_key(w, m, pair, path, &k)) != 0)
			return rc;
		ks = (const char *)k->data.scalar.value;
		if (strlen(ks) != k->data.scalar.length)
			dst = NULL;
		else if (strcmp(ks, "secs") == 0) {
			dst = &secs;
			have_secs = 1;
		} else if (strcmp(ks, "nanos") == 0)
			dst = &nanos;
		else
			dst = NULL;
		if (dst == NULL) {
			show(ks, k->data.scalar.length, shown, sizeof(shown));
			return yaml_fail(w, k, path, "unknown key '%s' in a "
			    "duration (expected secs, nanos)", shown);
		}
		val = yaml_document_get_node(w->doc, pair->value);
		if (val == NULL || val->type != YAML_SCALAR_NODE ||
		    node_is_null(val))
			return yaml_fail(w, val != NULL ? val : k, path,
			    "%s: expected an integer, found %s", ks,
			    val == NULL ? "nothing" : node_is_null(val) ?
			    "null" : node_kind(val));
		vs = (const char *)val->data.scalar.value;
		show(vs, val->data.scalar.length, shown, sizeof(shown));
		rc = parse_int(vs, &neg, &n);
		if (strlen(vs) != val->data.scalar.length || rc == -EINVAL ||
		    neg)
			return yaml_fail(w, val, path, "%s: '%s' is not a "
			    "number of %s", ks, shown,
			    dst == &secs ? "seconds" : "nanoseconds");
		if (rc != 0 || (dst == &nanos && n >= 1000000000))
			return yaml_fail(w, val, path, "%s: '%s' is out of "
			    "range", ks, shown);
		*dst = n;
	}
	if (!have_secs)
		return yaml_fail(w, m, path, "a {secs, nanos} duration needs "
		    "secs");
	snprintf(text, sizeof(text), "{secs: %llu, nanos: %llu}",
	    (unsigned long long)secs, (unsigned long long)nanos);
	n = secs;
	if (mul_add(&n, SEC, nanos / 1000000, INT64_MAX) != 0)
		return yaml_fail(w, m, path, "'%s' is not a duration: too "
		    "large", text);
	if (nanos % 1000000 != 0)
		return yaml_fail(w, m, path, "'%s' is not a duration: not a "
		    "whole number of milliseconds", text);
	if (n < st->min || n > st->max) {
		range_msg(st, text, msg, sizeof(msg));
		return yaml_fail(w, m, path, "%s", msg);
	}
	*v = n;
	return 0;
}

/* Apply node n to setting st (index idx), at path. */
static int
yaml_apply(struct yaml_walk *w, size_t idx, yaml_node_t *n, const char *path)
{
	const struct setting *st = &settings[idx];
	const char *text = NULL;
	char msg[SETTINGS_MSG_MAX];
	uint64_t v = 0;
	int rc;

	if (n->type == YAML_MAPPING_NODE && st->type == ST_DURATION) {
		if ((rc = yaml_secs_nanos(w, st, n, path, &v)) != 0)
			return rc;
	} else if (n->type != YAML_SCALAR_NODE)
		return yaml_fail(w, n, path, "expected %s, found %s",
		    type_name(st->type), node_kind(n));
	else if (node_is_null(n)) {
		if (!(st->flags & SF_NULLABLE))
			return yaml_fail(w, n, path, "expected %s, found null",
			    type_name(st->type));
	} else {
		text = (const char *)n->data.scalar.value;
		if (parse_value(st, text, n->data.scalar.length, &v, msg,
		    sizeof(msg)) != 0)
			return yaml_fail(w, n, path, "%s", msg);
	}
	set_value(w->s, st, v, text);
	w->line[idx] = node_line(n);
	return 0;
}

/* Apply the pairs of mapping m, whose keys are under `prefix`. */
static int
yaml_walk_mapping(struct yaml_walk *w, yaml_node_t *m, const char *prefix)
{
	yaml_node_pair_t *pair;
	yaml_node_t *k, *val;
	char path[SETTINGS_PATH_MAX], shown[SETTINGS_SHOW_MAX + 4];
	char keys[384];
	const char *ks;
	size_t klen, plen = strlen(prefix), idx;
	int rc;

	for (pair = m->data.mapping.pairs.start;
	    pair < m->data.mapping.pairs.top; pair++) {
		if ((rc = yaml_key(w, m, pair, prefix, &k)) != 0)
			return rc;
		ks = (const char *)k->data.scalar.value;
		klen = k->data.scalar.length;
		val = yaml_document_get_node(w->doc, pair->value);
		/* A key is one component: 'a.b' is not a path. */
		if (strlen(ks) == klen && memchr(ks, '.', klen) == NULL &&
		    plen + 1 + klen < sizeof(path)) {
			snprintf(path, sizeof(path), "%s%s%s", prefix,
			    plen ? "." : "", ks);
			if (find_setting(path, &idx) != NULL) {
				if ((rc = yaml_apply(w, idx, val, path)) != 0)
					return rc;
				continue;
			}
			if (is_group(path)) {
				if (node_is_null(val))
					continue;
				if (val->type != YAML_MAPPING_NODE)
					return yaml_fail(w, val, path,
					    "expected a mapping, found %s",
					    node_kind(val));
				if ((rc = yaml_walk_mapping(w, val, path)) != 0)
					return rc;
				continue;
			}
		}
		show(ks, klen, shown, sizeof(shown));
		group_keys(prefix, keys, sizeof(keys));
		return yaml_fail(w, k, prefix, "unknown key '%s' (expected "
		    "one of %s)", shown, keys);
	}
	return 0;
}

/* A libyaml parser error over input `in` (n bytes) as the detail. */
static int
yaml_syntax_error(const yaml_parser_t *p, const char *name, const char *in,
    size_t n)
{
	const char *problem = p->problem ? p->problem : "syntax error";
	size_t i, line = 1, last, ctx;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return err_set(-ENOMEM, "%s: out of memory parsing YAML", name);
	case YAML_READER_ERROR:
		/* The reader knows the offset only: count the lines. */
		for (i = 0; i < p->problem_offset && i < n; i++)
			if (in[i] == '\n')
				line++;
		return err_set(-EINVAL, "%s:%zu: %s (byte %zu)", name, line,
		    problem, p->problem_offset);
	default:
		break;
	}
	/* At the end, libyaml is on the line after the last: say the last. */
	for (i = 0; i < n; i++)
		if (in[i] == '\n')
			line++;
	last = n > 0 && in[n - 1] != '\n' ? line : line - 1;
	if (last == 0)
		last = 1;
	line = p->problem_mark.line + 1;
	if (line > last)
		line = last;
	ctx = p->context_mark.line + 1;
	if (ctx > last)
		ctx = last;
	if (p->context != NULL)
		return err_set(-EINVAL, "%s:%zu: %s (%s at line %zu)", name,
		    line, problem, p->context, ctx);
	return err_set(-EINVAL, "%s:%zu: %s", name, line, problem);
}

/*
 * Parse the input once as events, to check the syntax and that nothing is
 * nested deeper than SETTINGS_DEPTH_MAX before libyaml builds a document:
 * its scanner takes time quadratic in the depth of flow collections.
 */
static int
yaml_check_depth(const char *in, size_t n, const char *name)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int depth = 0, done = 0, rc = 0;

	if (!yaml_parser_initialize(&p))
		return err_set(-ENOMEM, "%s: cannot start a YAML parser", name);
	yaml_parser_set_input_string(&p, (const unsigned char *)in, n);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			rc = yaml_syntax_error(&p, name, in, n);
			break;
		}
		switch (ev.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth > SETTINGS_DEPTH_MAX)
				rc = err_set(-EINVAL, "%s:%zu: nested more "
				    "than %d deep", name,
				    ev.start_mark.line + 1, SETTINGS_DEPTH_MAX);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
		if (rc != 0)
			break;
	}
	yaml_parser_delete(&p);
	return rc;
}

int
engine_settings_load_yaml(struct engine_settings *s, const char *yaml,
    size_t n, const char *name)
{
	struct yaml_walk w;
	struct engine_settings t;
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	yaml_node_t *root;
	char msg[SETTINGS_MSG_MAX];
	size_t blame;
	int rc, have_doc = 0;

	settings_copy(&t, s);
	if (name == NULL)
		name = "settings";
	/* libyaml insists on a pointer, even to nothing */
	if (yaml == NULL)
		yaml = "";
	if ((rc = yaml_check_depth(yaml, n, name)) != 0)
		goto fail;
	if (!yaml_parser_initialize(&parser)) {
		rc = err_set(-ENOMEM, "%s: cannot start a YAML parser", name);
		goto fail;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, n);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = yaml_syntax_error(&parser, name, yaml, n);
		goto fail_parser;
	}
	have_doc = 1;
	/* One document: a second one is an error, not ignored. */
	if (!yaml_parser_load(&parser, &extra)) {
		rc = yaml_syntax_error(&parser, name, yaml, n);
		goto fail_parser;
	}
	root = yaml_document_get_root_node(&extra);
	if (root != NULL) {
		rc = err_set(-EINVAL, "%s:%zu: more than one YAML document",
		    name, node_line(root));
		yaml_document_delete(&extra);
		goto fail_parser;
	}
	yaml_document_delete(&extra);

	memset(&w, 0, sizeof(w));
	w.doc = &doc;
	w.name = name;
	w.s = &t;
	root = yaml_document_get_root_node(&doc);
	if (root != NULL && !node_is_null(root)) {
		if (root->type != YAML_MAPPING_NODE) {
			rc = err_set(-EINVAL, "%s:%zu: the top level must be a "
			    "mapping, found %s", name, node_line(root),
			    node_kind(root));
			goto fail_parser;
		}
		if ((rc = yaml_walk_mapping(&w, root, "")) != 0)
			goto fail_parser;
	}
	if (check_rules(&t, w.line, &blame, msg, sizeof(msg)) != 0) {
		if (w.line[blame] != 0)
			rc = err_set(-EINVAL, "%s:%zu: %s: %s", name,
			    w.line[blame], settings[blame].path, msg);
		else
			rc = err_set(-EINVAL, "%s: %s", name, msg);
		goto fail_parser;
	}

	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	engine_settings_release(s);
	*s = t;
	return 0;

fail_parser:
	if (have_doc)
		yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
fail:
	engine_settings_release(&t);
	return rc;
}

int
engine_settings_load_file(struct engine_settings *s, const char *path)
{
	struct stat sb;
	char *data = NULL;
	size_t len = 0;
	ssize_t r;
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		rc = -errno;
		if (rc == -ENOENT)
			return err_set(rc, "settings file '%s' does not exist",
			    path);
		return err_set(rc, "cannot open settings file '%s': %s", path,
		    strerror(-rc));
	}
	if (fstat(fd, &sb) == -1) {
		rc = -errno;
		err_set(rc, "cannot stat '%s': %s", path, strerror(-rc));
		goto fail;
	}
	if (!S_ISREG(sb.st_mode)) {
		rc = err_set(-EINVAL, "settings file '%s' is not a regular "
		    "file", path);
		goto fail;
	}
	data = xmalloc(SETTINGS_FILE_MAX + 1);
	for (;;) {
		r = read(fd, data + len, SETTINGS_FILE_MAX + 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			rc = -errno;
			err_set(rc, "cannot read '%s': %s", path,
			    strerror(-rc));
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > SETTINGS_FILE_MAX) {
			rc = err_set(-EFBIG, "settings file '%s' is larger "
			    "than %d bytes", path, SETTINGS_FILE_MAX);
			goto fail;
		}
	}
	close(fd);
	fd = -1;
	rc = engine_settings_load_yaml(s, data, len, path);

fail:
	if (fd != -1)
		close(fd);
	free(data);
	return rc;
}

/* Environment */

/* "flush_interval" -> "SHALE_FLUSH_INTERVAL". */
static void
env_name(const char *path, char *buf, size_t sz)
{
	size_t i = 0;

	i = (size_t)snprintf(buf, sz, "SHALE_");
	for (; *path != '\0' && i + 1 < sz; path++, i++) {
		if (*path == '.')
			buf[i] = '_';
		else if (*path >= 'a' && *path <= 'z')
			buf[i] = (char)(*path - 'a' + 'A');
		else
			buf[i] = *path;
	}
	buf[i] = '\0';
}

int
engine_settings_load_env(struct engine_settings *s)
{
	struct engine_settings t;
	const struct setting *st;
	char var[SETTINGS_PATH_MAX + 8], msg[SETTINGS_MSG_MAX];
	const char *v;
	size_t set[NSETTINGS], i, blame;
	uint64_t n;
	int rc;

	settings_copy(&t, s);
	memset(set, 0, sizeof(set));
	for (i = 0; i < NSETTINGS; i++) {
		st = &settings[i];
		env_name(st->path, var, sizeof(var));
		if ((v = getenv(var)) == NULL)
			continue;
		set[i] = 1;
		if (*v == '\0' && (st->flags & SF_NULLABLE)) {
			set_value(&t, st, 0, NULL);
			continue;
		}
		if (parse_value(st, v, strlen(v), &n, msg, sizeof(msg)) != 0) {
			rc = err_set(-EINVAL, "%s: %s", var, msg);
			goto fail;
		}
		set_value(&t, st, n, v);
	}
	if (check_rules(&t, set, &blame, msg, sizeof(msg)) != 0) {
		env_name(settings[blame].path, var, sizeof(var));
		rc = err_set(-EINVAL, "%s: %s", var, msg);
		goto fail;
	}
	engine_settings_release(s);
	*s = t;
	return 0;

fail:
	engine_settings_release(&t);
	return rc;
}
