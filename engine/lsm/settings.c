/*
 * settings.c - the engine's settings: the table of settings, the rules
 * across keys, defaults, copies, and SHALE_* environment variables.
 *
 * Everything is driven by one table, settings_table[]: each row is a key path
 * ('compactor_options.poll_interval'), a type (duration, size, integer,
 * string), where the value lives in struct engine_settings and the range
 * it must fall in. The YAML walker (settings_yaml.c) and the environment
 * reader here both look keys up there and share one parser per type
 * (settings_value.c), so a setting is added by adding a row. A path that
 * is a proper prefix of some row's path ('compactor_options') is a group:
 * in YAML a mapping, or null for "no overrides".
 *
 * Rules, beside each row's range and the syntax of its type
 * (settings_value.c; shale-settings(5) lists them):
 *   - null is accepted only where a row says so (default_ttl, root_folder,
 *     the retentions and their filters);
 *   - l0_sst_size_bytes must not be more than max_unflushed_bytes (rules[]).
 *
 * A load works on a copy and replaces *s only when everything checked, so
 * a failed load leaves the settings as they were. The cross-key rules are
 * checked at the end of every load, on the settings as they then stand.
 *
 * Not here: the syntax of values (settings_value.c), YAML (settings_yaml.c).
 *
 * Not thread-safe (getenv, the error detail of the calling thread aside):
 * load settings once, before the engine starts.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/lsm/settings.h"
#include "engine/lsm/settings_int.h"
#include "util/error.h"
#include "util/xmalloc.h"

#define SETTINGS_STRING_MAX	4095		/* bytes in a string value */

#define OFF(f)		offsetof(struct engine_settings, f)
#define GC(kind)							\
	{ "garbage_collector_options." #kind "_options.interval",	\
	    ST_DURATION, OFF(gc_ ## kind.interval_ms), 1, 30 * DAY, 0 }, \
	{ "garbage_collector_options." #kind "_options.min_age",	\
	    ST_DURATION, OFF(gc_ ## kind.min_age_ms), 0, 3650 * DAY, 0 }

const struct setting settings_table[] = {
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
	{ "series_options.retention", ST_DURATION, OFF(series_retention_ms),
	    0, 36500 * DAY, SF_NULLABLE },
	{ "series_options.max_series", ST_INT, OFF(series_max),
	    1, INT32_MAX, 0 },
	{ "series_options.out_of_order_time_window", ST_DURATION,
	    OFF(series_ooo_window_ms), 0, 36500 * DAY, 0 },
	{ "series_options.retention_filters", ST_STRING,
	    OFF(series_retention_filters), 1, SETTINGS_STRING_MAX, SF_NULLABLE },
	{ "logs_options.retention", ST_DURATION, OFF(logs_retention_ms),
	    0, 36500 * DAY, SF_NULLABLE },
	{ "logs_options.retention_filters", ST_STRING,
	    OFF(logs_retention_filters), 1, SETTINGS_STRING_MAX, SF_NULLABLE },
	{ "logs_options.push_path", ST_STRING, OFF(logs_push_path), 1, 1024,
	    SF_NULLABLE },
	{ "query_options.timeout", ST_DURATION, OFF(query_timeout_ms),
	    1, DAY, 0 },
	{ "query_options.max_samples", ST_INT, OFF(query_max_samples),
	    1, INT32_MAX, 0 },
	{ "query_options.lookback_delta", ST_DURATION, OFF(query_lookback_ms),
	    1, DAY, 0 },
};
#define NSETTINGS	nitems(settings_table)
const size_t settings_count = NSETTINGS;

/* Rules across keys: the value of `lo` must not be more than that of `hi`. */
struct setting_rule {
	const char	*lo;
	const char	*hi;
};

static const struct setting_rule rules[] = {
	{ "l0_sst_size_bytes", "max_unflushed_bytes" },
};

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
void
settings_set_value(struct engine_settings *s, const struct setting *st, uint64_t v,
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

const struct setting *
settings_find(const char *path, size_t *idx)
{
	size_t i;

	for (i = 0; i < NSETTINGS; i++) {
		if (strcmp(settings_table[i].path, path) == 0) {
			if (idx != NULL)
				*idx = i;
			return &settings_table[i];
		}
	}
	return NULL;
}

/* Is path ("compactor_options") a group, the beginning of some path? */
int
settings_is_group(const char *path)
{
	size_t i, n = strlen(path);

	for (i = 0; i < NSETTINGS; i++)
		if (strncmp(settings_table[i].path, path, n) == 0 &&
		    settings_table[i].path[n] == '.')
			return 1;
	return 0;
}

/* The keys directly under group `prefix` ("" for the top), for hints. */
void
settings_group_keys(const char *prefix, char *buf, size_t sz)
{
	const char *p, *end;
	size_t i, j, n = strlen(prefix), len = 0, klen, plen;
	int seen;

	buf[0] = '\0';
	for (i = 0; i < NSETTINGS; i++) {
		p = settings_table[i].path;
		if (n > 0) {
			if (strncmp(p, prefix, n) != 0 || p[n] != '.')
				continue;
			p += n + 1;
		}
		end = strchr(p, '.');
		klen = end ? (size_t)(end - p) : strlen(p);
		/* Only the first row under each key names it. */
		seen = 0;
		plen = (size_t)(p - settings_table[i].path) + klen;
		for (j = 0; j < i; j++)
			if (strncmp(settings_table[j].path, settings_table[i].path,
			    plen) == 0 && (settings_table[j].path[plen] == '.' ||
			    settings_table[j].path[plen] == '\0'))
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
int
settings_check_rules(struct engine_settings *s, const size_t *set, size_t *blame,
    char *msg, size_t sz)
{
	const struct setting *lo, *hi;
	char a[32], b[32];
	size_t i, li = 0, hj = 0;

	for (i = 0; i < nitems(rules); i++) {
		lo = settings_find(rules[i].lo, &li);
		hi = settings_find(rules[i].hi, &hj);
		if (get_value(s, lo) <= get_value(s, hi))
			continue;
		settings_format_value(lo, get_value(s, lo), a, sizeof(a));
		settings_format_value(hi, get_value(s, hi), b, sizeof(b));
		snprintf(msg, sz, "%s (%s) must not be more than %s (%s)",
		    lo->path, a, hi->path, b);
		*blame = set[hj] != 0 || set[li] == 0 ? hj : li;
		return -EINVAL;
	}
	return 0;
}

/* Copy src to dst, with copies of its strings. */
void
settings_copy(struct engine_settings *dst, const struct engine_settings *src)
{
	*dst = *src;
	if (src->cache_root_folder != NULL)
		dst->cache_root_folder = xstrdup(src->cache_root_folder);
	if (src->series_retention_filters != NULL)
		dst->series_retention_filters =
		    xstrdup(src->series_retention_filters);
	if (src->logs_retention_filters != NULL)
		dst->logs_retention_filters =
		    xstrdup(src->logs_retention_filters);
	if (src->logs_push_path != NULL)
		dst->logs_push_path = xstrdup(src->logs_push_path);
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
	s->series_retention_ms = 0;
	s->series_max = 1000000;
	s->query_timeout_ms = 2 * 60 * 1000;
	s->query_max_samples = 50000000;
	s->query_lookback_ms = 5 * 60 * 1000;
	s->series_ooo_window_ms = 0;
}

void
engine_settings_release(struct engine_settings *s)
{
	free(s->cache_root_folder);
	s->cache_root_folder = NULL;
	free(s->series_retention_filters);
	s->series_retention_filters = NULL;
	free(s->logs_retention_filters);
	s->logs_retention_filters = NULL;
	free(s->logs_push_path);
	s->logs_push_path = NULL;
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
		st = &settings_table[i];
		env_name(st->path, var, sizeof(var));
		if ((v = getenv(var)) == NULL)
			continue;
		set[i] = 1;
		if (*v == '\0' && (st->flags & SF_NULLABLE)) {
			settings_set_value(&t, st, 0, NULL);
			continue;
		}
		if (settings_parse_value(st, v, strlen(v), &n, msg, sizeof(msg)) != 0) {
			rc = err_set(-EINVAL, "%s: %s", var, msg);
			goto fail;
		}
		settings_set_value(&t, st, n, v);
	}
	if (settings_check_rules(&t, set, &blame, msg, sizeof(msg)) != 0) {
		env_name(settings_table[blame].path, var, sizeof(var));
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
