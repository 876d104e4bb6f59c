/*
 * test_settings.c - engine settings (engine/lsm/settings.c).
 *
 * Exercises: the defaults; a full SlateDB-style YAML document (as Helm
 * charts mount it) parsed into every field, with flow mappings and quoted
 * durations; the {secs, nanos} duration form, good and bad; an empty
 * document, '~', comments only and null groups meaning no overrides; null
 * for default_ttl and root_folder; each kind of error (unknown key, wrong
 * type, bad duration or size, out of range, duplicate key, YAML syntax,
 * top level not a mapping, two documents, the l0/max_unflushed rule) with
 * the file name, the line and the key path in the detail, and the settings
 * left as they were; loading from a file, a missing file (-ENOENT naming
 * it); SHALE_* variables, good, bad and empty; and tables of good and bad
 * inputs for settings_parse_duration and settings_parse_size.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/lsm/settings.h"
#include "util/error.h"

#define KIB	(1024ULL)
#define MIB	(1024ULL * KIB)
#define GIB	(1024ULL * MIB)

static const char full_yaml[] =
    "# as a Helm chart mounts it\n"
    "flush_interval: 50ms\n"
    "manifest_poll_interval: 2s\n"
    "checkpoint_lifetime: 5m\n"
    "store_failure_timeout: 2m\n"
    "max_unflushed_bytes: 134217728\n"
    "l0_sst_size_bytes: 33554432\n"
    "default_ttl: 7d\n"
    "compactor_options:\n"
    "  max_concurrent_compactions: 4\n"
    "  max_sst_size: 536870912\n"
    "  poll_interval: 10s\n"
    "garbage_collector_options:\n"
    "  manifest_options: { interval: '30s', min_age: '86400s' }\n"
    "  wal_options: { interval: '61s', min_age: '62s' }\n"
    "  compacted_options: { interval: '63s', min_age: '64s' }\n"
    "  compactions_options: { interval: '65s', min_age: '1h30m' }\n"
    "object_store_cache_options:\n"
    "  root_folder: /var/cache/shale\n"
    "  max_cache_size_bytes: 17179869184\n"
    "wal_max_bytes: 8MiB\n"
    "block_size: 16KiB\n"
    "zstd_level: 9\n"
    "wal_zstd_level: 0\n"
    "bloom_bits_per_key: 0\n"
    "block_cache_bytes: 1GiB\n"
    "block_cache_prepopulate: false\n";

/* Every field of a and b is the same. */
static void
assert_settings_equal(const struct engine_settings *a,
    const struct engine_settings *b)
{
	assert_int_equal(a->flush_interval_ms, b->flush_interval_ms);
	assert_int_equal(a->manifest_poll_interval_ms,
	    b->manifest_poll_interval_ms);
	assert_int_equal(a->checkpoint_lifetime_ms, b->checkpoint_lifetime_ms);
	assert_int_equal(a->store_failure_timeout_ms,
	    b->store_failure_timeout_ms);
	assert_int_equal(a->max_unflushed_bytes, b->max_unflushed_bytes);
	assert_int_equal(a->l0_sst_size_bytes, b->l0_sst_size_bytes);
	assert_int_equal(a->wal_max_bytes, b->wal_max_bytes);
	assert_int_equal(a->default_ttl_ms, b->default_ttl_ms);
	assert_int_equal(a->block_size, b->block_size);
	assert_int_equal(a->zstd_level, b->zstd_level);
	assert_int_equal(a->wal_zstd_level, b->wal_zstd_level);
	assert_int_equal(a->bloom_bits_per_key, b->bloom_bits_per_key);
	assert_int_equal(a->max_concurrent_compactions,
	    b->max_concurrent_compactions);
	assert_int_equal(a->max_sst_size, b->max_sst_size);
	assert_int_equal(a->compactor_poll_interval_ms,
	    b->compactor_poll_interval_ms);
	assert_int_equal(a->gc_manifest.interval_ms,
	    b->gc_manifest.interval_ms);
	assert_int_equal(a->gc_manifest.min_age_ms, b->gc_manifest.min_age_ms);
	assert_int_equal(a->gc_wal.interval_ms, b->gc_wal.interval_ms);
	assert_int_equal(a->gc_wal.min_age_ms, b->gc_wal.min_age_ms);
	assert_int_equal(a->gc_compacted.interval_ms,
	    b->gc_compacted.interval_ms);
	assert_int_equal(a->gc_compacted.min_age_ms,
	    b->gc_compacted.min_age_ms);
	assert_int_equal(a->gc_compactions.interval_ms,
	    b->gc_compactions.interval_ms);
	assert_int_equal(a->gc_compactions.min_age_ms,
	    b->gc_compactions.min_age_ms);
	if (a->cache_root_folder == NULL || b->cache_root_folder == NULL)
		assert_ptr_equal(a->cache_root_folder, b->cache_root_folder);
	else
		assert_string_equal(a->cache_root_folder, b->cache_root_folder);
	assert_int_equal(a->cache_max_size_bytes, b->cache_max_size_bytes);
	assert_int_equal(a->block_cache_bytes, b->block_cache_bytes);
	assert_int_equal(a->block_cache_prepopulate, b->block_cache_prepopulate);
}

/* Load `yaml` over the defaults and expect success. */
static void
load_ok(struct engine_settings *s, const char *yaml)
{
	int rc;

	engine_settings_default(s);
	err_clear();
	rc = engine_settings_load_yaml(s, yaml, strlen(yaml), "settings.yaml");
	if (rc != 0)
		fail_msg("'%s': %d (%s)", yaml, rc, err_detail());
}

/*
 * Load `yaml` over the defaults, expect -EINVAL, the settings unchanged
 * and each of the NULL-terminated strings in the detail.
 */
static void
load_bad(const char *yaml, ...)
{
	struct engine_settings s, d;
	const char *want;
	va_list ap;
	int rc;

	engine_settings_default(&s);
	engine_settings_default(&d);
	err_clear();
	rc = engine_settings_load_yaml(&s, yaml, strlen(yaml), "settings.yaml");
	if (rc != -EINVAL)
		fail_msg("'%s': expected -EINVAL, got %d (%s)", yaml, rc,
		    err_detail());
	assert_settings_equal(&s, &d);
	va_start(ap, yaml);
	while ((want = va_arg(ap, const char *)) != NULL) {
		if (strstr(err_detail(), want) == NULL)
			fail_msg("'%s': detail '%s' lacks '%s'", yaml,
			    err_detail(), want);
	}
	va_end(ap);
	engine_settings_release(&s);
}

static void
test_defaults(void **state)
{
	struct engine_settings s;

	(void)state;
	engine_settings_default(&s);
	assert_int_equal(s.flush_interval_ms, 100);
	assert_int_equal(s.manifest_poll_interval_ms, 1000);
	assert_int_equal(s.checkpoint_lifetime_ms, 60000);
	assert_int_equal(s.store_failure_timeout_ms, 30000);
	assert_int_equal(s.max_unflushed_bytes, 64 * MIB);
	assert_int_equal(s.l0_sst_size_bytes, 16 * MIB);
	assert_int_equal(s.wal_max_bytes, 4 * MIB);
	assert_int_equal(s.default_ttl_ms, 0);
	assert_int_equal(s.block_size, 4096);
	assert_int_equal(s.zstd_level, 3);
	assert_int_equal(s.wal_zstd_level, 1);
	assert_int_equal(s.bloom_bits_per_key, 10);
	assert_int_equal(s.max_concurrent_compactions, 2);
	assert_int_equal(s.max_sst_size, 256 * MIB);
	assert_int_equal(s.compactor_poll_interval_ms, 5000);
	assert_int_equal(s.gc_manifest.interval_ms, 60000);
	assert_int_equal(s.gc_manifest.min_age_ms, 86400000);
	assert_int_equal(s.gc_wal.interval_ms, 60000);
	assert_int_equal(s.gc_wal.min_age_ms, 60000);
	assert_int_equal(s.gc_compacted.interval_ms, 60000);
	assert_int_equal(s.gc_compacted.min_age_ms, 60000);
	assert_int_equal(s.gc_compactions.interval_ms, 60000);
	assert_int_equal(s.gc_compactions.min_age_ms, 60000);
	assert_null(s.cache_root_folder);
	assert_int_equal(s.cache_max_size_bytes, 16 * GIB);
	/* an eighth of this machine's memory, from 64 MiB to 4 GiB */
	assert_int_equal(s.block_cache_bytes, engine_block_cache_default());
	assert_true(s.block_cache_bytes >= 64 * MIB);
	assert_true(s.block_cache_bytes <= 4 * GIB);
	assert_true(s.block_cache_bytes <= (uint64_t)sysconf(_SC_PHYS_PAGES) *
	    (uint64_t)sysconf(_SC_PAGESIZE) / 8 ||
	    s.block_cache_bytes == 64 * MIB);
	assert_int_equal(s.block_cache_prepopulate, 1);
	engine_settings_release(&s);
	assert_null(s.cache_root_folder);
}

static void
test_full(void **state)
{
	static const char more[] =
	    "object_store_cache_options: {root_folder: '/x'}\n";
	struct engine_settings s;

	(void)state;
	load_ok(&s, full_yaml);
	assert_int_equal(s.flush_interval_ms, 50);
	assert_int_equal(s.manifest_poll_interval_ms, 2000);
	assert_int_equal(s.checkpoint_lifetime_ms, 300000);
	assert_int_equal(s.store_failure_timeout_ms, 120000);
	assert_int_equal(s.max_unflushed_bytes, 128 * MIB);
	assert_int_equal(s.l0_sst_size_bytes, 32 * MIB);
	assert_int_equal(s.wal_max_bytes, 8 * MIB);
	assert_int_equal(s.default_ttl_ms, 7 * 86400000LL);
	assert_int_equal(s.block_size, 16 * KIB);
	assert_int_equal(s.zstd_level, 9);
	assert_int_equal(s.bloom_bits_per_key, 0);
	assert_int_equal(s.max_concurrent_compactions, 4);
	assert_int_equal(s.max_sst_size, 512 * MIB);
	assert_int_equal(s.compactor_poll_interval_ms, 10000);
	assert_int_equal(s.gc_manifest.interval_ms, 30000);
	assert_int_equal(s.gc_manifest.min_age_ms, 86400000);
	assert_int_equal(s.gc_wal.interval_ms, 61000);
	assert_int_equal(s.gc_wal.min_age_ms, 62000);
	assert_int_equal(s.gc_compacted.interval_ms, 63000);
	assert_int_equal(s.gc_compacted.min_age_ms, 64000);
	assert_int_equal(s.gc_compactions.interval_ms, 65000);
	assert_int_equal(s.gc_compactions.min_age_ms, 5400000);
	assert_string_equal(s.cache_root_folder, "/var/cache/shale");
	assert_int_equal(s.cache_max_size_bytes, 16 * GIB);
	assert_int_equal(s.block_cache_bytes, GIB);
	assert_int_equal(s.block_cache_prepopulate, 0);

	/* A second load replaces the string and keeps the rest. */
	err_clear();
	assert_int_equal(engine_settings_load_yaml(&s, more, strlen(more),
	    "b"), 0);
	assert_string_equal(s.cache_root_folder, "/x");
	assert_int_equal(s.zstd_level, 9);
	engine_settings_release(&s);
}

static void
test_empty(void **state)
{
	static const char *docs[] = {
		"", "~", "null\n", "---\n", "--- ~\n...\n", "# nothing\n\n",
		"compactor_options:\n",
		("compactor_options: ~\n"
		    "garbage_collector_options: {wal_options: null}\n"),
		"{}\n",
	};
	struct engine_settings s, d;
	size_t i;

	(void)state;
	engine_settings_default(&d);
	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		load_ok(&s, docs[i]);
		assert_settings_equal(&s, &d);
		engine_settings_release(&s);
	}
	/* n == 0 with no string at all */
	engine_settings_default(&s);
	assert_int_equal(engine_settings_load_yaml(&s, NULL, 0, "x"), 0);
	assert_settings_equal(&s, &d);
}

static void
test_null(void **state)
{
	static const char unset[] = "default_ttl: null\n"
	    "object_store_cache_options:\n  root_folder: ~\n";
	struct engine_settings s;

	(void)state;
	load_ok(&s, "default_ttl: 1h\n"
	    "object_store_cache_options:\n  root_folder: /c\n");
	assert_int_equal(s.default_ttl_ms, 3600000);
	assert_string_equal(s.cache_root_folder, "/c");
	err_clear();
	assert_int_equal(engine_settings_load_yaml(&s, unset, strlen(unset),
	    "s"), 0);
	assert_int_equal(s.default_ttl_ms, 0);
	assert_null(s.cache_root_folder);
	engine_settings_release(&s);

	/* An empty value is null too. */
	load_ok(&s, "default_ttl:\nzstd_level: 4\n");
	assert_int_equal(s.default_ttl_ms, 0);
	assert_int_equal(s.zstd_level, 4);
	engine_settings_release(&s);
}

static void
test_secs_nanos(void **state)
{
	struct engine_settings s;

	(void)state;
	load_ok(&s, "flush_interval: {secs: 0, nanos: 250000000}\n"
	    "manifest_poll_interval:\n  secs: 3\n"
	    "garbage_collector_options:\n"
	    "  wal_options:\n"
	    "    min_age: {secs: 120, nanos: 0}\n"
	    "    interval: {nanos: 0, secs: 7}\n");
	assert_int_equal(s.flush_interval_ms, 250);
	assert_int_equal(s.manifest_poll_interval_ms, 3000);
	assert_int_equal(s.gc_wal.min_age_ms, 120000);
	assert_int_equal(s.gc_wal.interval_ms, 7000);
	engine_settings_release(&s);

	load_bad("flush_interval: {secs: 1, nanos: 1}\n", "settings.yaml:1:",
	    "flush_interval", "whole number of milliseconds", NULL);
	load_bad("flush_interval: {nanos: 5000000}\n", "settings.yaml:1:",
	    "flush_interval", "needs secs", NULL);
	load_bad("flush_interval:\n  secs: 1\n  millis: 5\n",
	    "settings.yaml:3:", "flush_interval", "'millis'", NULL);
	load_bad("flush_interval:\n  secs: 1\n  secs: 2\n",
	    "settings.yaml:3:", "flush_interval", "duplicate key 'secs'",
	    "line 2", NULL);
	load_bad("flush_interval: {secs: -1}\n", "settings.yaml:1:",
	    "flush_interval: secs: '-1' is not a number of seconds", NULL);
	load_bad("flush_interval: {secs: 1, nanos: 1000000000}\n",
	    "settings.yaml:1:", "nanos: '1000000000' is out of range", NULL);
	load_bad("flush_interval: {secs: [1]}\n", "settings.yaml:1:",
	    "secs: expected an integer, found a sequence", NULL);
	load_bad("flush_interval: {secs: 3601}\n", "settings.yaml:1:",
	    "flush_interval: '{secs: 3601, nanos: 0}' is out of range "
	    "(1ms to 1h)", NULL);
	load_bad("flush_interval: {secs: 99999999999999999999}\n",
	    "flush_interval: secs: '99999999999999999999' is out of range",
	    NULL);
	load_bad("flush_interval: {secs: 9223372036854776}\n",
	    "is not a duration: too large", NULL);
	/* Sizes have no mapping form. */
	load_bad("block_size: {secs: 1}\n", "settings.yaml:1:",
	    "block_size: expected a size, found a mapping", NULL);
}

static void
test_errors(void **state)
{
	(void)state;
	load_bad("flush_interval: 100ms\n"
	    "garbage_collector_options:\n"
	    "  manifest_options: { interval: '60s', min_age: '86400s' }\n"
	    "  wal_options:\n"
	    "    interval: 60s\n"
	    "\n"
	    "    min_age: 5 parsecs\n",
	    "settings.yaml:7: garbage_collector_options.wal_options.min_age: "
	    "'5 parsecs' is not a duration", NULL);
	/* unknown keys, at each level, with the keys that would do */
	load_bad("flush_intervall: 1s\n", "settings.yaml:1:",
	    "unknown key 'flush_intervall'", "flush_interval,", NULL);
	load_bad("a: 1\ncompactor_options:\n  poll: 1s\n", "settings.yaml:1:",
	    "'a'", NULL);
	load_bad("zstd_level: 3\ncompactor_options:\n  poll: 1s\n",
	    "settings.yaml:3: compactor_options: unknown key 'poll'",
	    "max_concurrent_compactions, max_sst_size, poll_interval", NULL);
	load_bad("garbage_collector_options:\n  wal_options:\n"
	    "    max_age: 1s\n", "settings.yaml:3: "
	    "garbage_collector_options.wal_options: unknown key 'max_age'",
	    "interval, min_age", NULL);
	load_bad("garbage_collector_options:\n  wal: {}\n",
	    "settings.yaml:2:", "unknown key 'wal'", NULL);
	load_bad("compactor_options.poll_interval: 1s\n",
	    "unknown key 'compactor_options.poll_interval'", NULL);
	load_bad("\"zstd_\\0level\": 3\n", "settings.yaml:1:",
	    "unknown key 'zstd_?level'", NULL);
	load_bad("[1, 2]: 3\n", "settings.yaml:1:",
	    "keys must be strings, found a sequence", NULL);
	/* wrong types */
	load_bad("\n\nflush_interval: [1s]\n", "settings.yaml:3: "
	    "flush_interval: expected a duration, found a sequence", NULL);
	load_bad("l0_sst_size_bytes:\n  a: 1\n", "settings.yaml:2: "
	    "l0_sst_size_bytes: expected a size, found a mapping", NULL);
	load_bad("compactor_options: 5\n", "settings.yaml:1: "
	    "compactor_options: expected a mapping, found a scalar", NULL);
	load_bad("compactor_options: [1]\n", "settings.yaml:1: "
	    "compactor_options: expected a mapping, found a sequence", NULL);
	load_bad("flush_interval:\n", "settings.yaml:1: "
	    "flush_interval: expected a duration, found null", NULL);
	load_bad("zstd_level: ~\n", "zstd_level: expected an integer, "
	    "found null", NULL);
	load_bad("object_store_cache_options: {root_folder: [a]}\n",
	    "object_store_cache_options.root_folder: expected a string, "
	    "found a sequence", NULL);
	/* bad values */
	load_bad("flush_interval: 1.5s\n", "settings.yaml:1: flush_interval: "
	    "'1.5s' is not a duration", NULL);
	load_bad("flush_interval: -5ms\n", "'-5ms' is not a duration", NULL);
	load_bad("flush_interval: ''\n", "'' is not a duration", NULL);
	load_bad("flush_interval: 500us\n",
	    "'500us' is not a duration: not a whole number of milliseconds",
	    NULL);
	load_bad("default_ttl: 99999999999999999999d\n",
	    "'99999999999999999999d' is not a duration: too large", NULL);
	load_bad("block_size: 4 kilobytes\n", "settings.yaml:1: block_size: "
	    "'4 kilobytes' is not a size", NULL);
	load_bad("block_size: 0x1000\n", "'0x1000' is not a size", NULL);
	load_bad("block_cache_bytes: 99999999999PiB\n",
	    "'99999999999PiB' is not a size: too large", NULL);
	load_bad("zstd_level: three\n", "zstd_level: 'three' is not an "
	    "integer", NULL);
	load_bad("block_cache_prepopulate: yes\n", "block_cache_prepopulate: "
	    "'yes' is not true or false", NULL);
	load_bad("block_cache_prepopulate: 1\n", "'1' is not true or false",
	    NULL);
	load_bad("object_store_cache_options:\n  root_folder: ''\n",
	    "settings.yaml:2: object_store_cache_options.root_folder: "
	    "expected a string, found an empty one", NULL);
	load_bad("object_store_cache_options:\n  root_folder: \"/a\\0b\"\n",
	    "settings.yaml:2:", "'/a?b' contains a NUL byte", NULL);
	/* out of range */
	load_bad("flush_interval: 0\n", "settings.yaml:1: flush_interval: "
	    "'0' is out of range (1ms to 1h)", NULL);
	load_bad("flush_interval: 1h1ms\n", "'1h1ms' is out of range", NULL);
	load_bad("zstd_level: 20\n", "zstd_level: '20' is out of range "
	    "(1 to 19)", NULL);
	load_bad("zstd_level: 0\n", "'0' is out of range (1 to 19)", NULL);
	load_bad("zstd_level: -3\n", "'-3' is out of range (1 to 19)", NULL);
	load_bad("zstd_level: 99999999999999999999999\n", "out of range",
	    NULL);
	load_bad("bloom_bits_per_key: 31\n", "'31' is out of range "
	    "(0 to 30)", NULL);
	load_bad("l0_sst_size_bytes: 65535\n", "l0_sst_size_bytes: '65535' "
	    "is out of range (64KiB to 4GiB)", NULL);
	load_bad("compactor_options: {max_sst_size: 0}\n",
	    "compactor_options.max_sst_size: '0' is out of range", NULL);
	load_bad("compactor_options: {max_concurrent_compactions: 257}\n",
	    "out of range (0 to 256)", NULL);
	load_bad("default_ttl: 36501d\n", "'36501d' is out of range "
	    "(0 to 36500d, or null)", NULL);
	load_bad("garbage_collector_options:\n"
	    "  compactions_options: {interval: 0}\n", "settings.yaml:2: "
	    "garbage_collector_options.compactions_options.interval: '0' is "
	    "out of range (1ms to 30d)", NULL);
	/* the rule across keys names the key set in this file */
	load_bad("max_unflushed_bytes: 8MiB\n", "settings.yaml:1: "
	    "max_unflushed_bytes: l0_sst_size_bytes (16MiB) must not be more "
	    "than max_unflushed_bytes (8MiB)", NULL);
	load_bad("zstd_level: 3\nl0_sst_size_bytes: 128MiB\n",
	    "settings.yaml:2: l0_sst_size_bytes: l0_sst_size_bytes (128MiB) "
	    "must not be more than max_unflushed_bytes (64MiB)", NULL);
	/* duplicates, at the top and inside */
	load_bad("zstd_level: 3\nblock_size: 4096\nzstd_level: 4\n",
	    "settings.yaml:3:", "duplicate key 'zstd_level' (first at line 1)",
	    NULL);
	load_bad("compactor_options:\n  poll_interval: 1s\n"
	    "  poll_interval: 2s\n", "settings.yaml:3: compactor_options: "
	    "duplicate key 'poll_interval' (first at line 2)", NULL);
	load_bad("compactor_options: {}\ncompactor_options: {}\n",
	    "settings.yaml:2:", "duplicate key 'compactor_options'", NULL);
	/* YAML itself */
	load_bad("flush_interval: 1s\nzstd_level: [1\n",
	    "settings.yaml:", NULL);
	load_bad("a: b: c\n", "settings.yaml:1:", NULL);
	load_bad("flush_interval: 1s\n  block_size: 1\n", "settings.yaml:2:",
	    NULL);
	load_bad("flush_interval: *nope\n", "settings.yaml:1:", "alias",
	    NULL);
	load_bad("zstd_level: 3\n\xc3\x28: 1\n", "settings.yaml:2: ",
	    "invalid", "(byte 15)", NULL);
	load_bad("- flush_interval: 1s\n", "settings.yaml:1: the top level "
	    "must be a mapping, found a sequence", NULL);
	load_bad("hello\n", "top level must be a mapping, found a scalar",
	    NULL);
	load_bad("garbage_collector_options:\n"
	    "  wal_options: {interval: [[[[[[[1]]]]]]]}\n",
	    "settings.yaml:2: nested more than 8 deep", NULL);
	load_bad("a: [[[[[[[[[1]]]]]]]]]\n", "nested more than 8 deep", NULL);
	load_bad("zstd_level: 3\n---\nzstd_level: 4\n", "settings.yaml:3: "
	    "more than one YAML document", NULL);
}

/* A failure anywhere leaves every setting as it was, the string too. */
static void
test_atomic(void **state)
{
	struct engine_settings s, before;
	static const char bad[] = "zstd_level: 7\n"
	    "object_store_cache_options: {root_folder: /new}\n"
	    "block_size: 1\n";

	(void)state;
	load_ok(&s, "object_store_cache_options: {root_folder: /old}\n");
	load_ok(&before, "object_store_cache_options: {root_folder: /old}\n");
	assert_int_equal(engine_settings_load_yaml(&s, bad, strlen(bad), "a"),
	    -EINVAL);
	assert_settings_equal(&s, &before);
	assert_non_null(strstr(err_detail(), "a:3: block_size: '1'"));
	engine_settings_release(&s);
	engine_settings_release(&before);
}

/* Aliases, tags and quoting styles are YAML's business. */
static void
test_yaml_forms(void **state)
{
	struct engine_settings s;

	(void)state;
	load_ok(&s, "garbage_collector_options:\n"
	    "  wal_options: &gc {interval: 2m, min_age: \"3m\"}\n"
	    "  compacted_options: *gc\n"
	    "block_size: !!str 8192\n"
	    "zstd_level: '5'\n");
	assert_int_equal(s.gc_wal.interval_ms, 120000);
	assert_int_equal(s.gc_compacted.min_age_ms, 180000);
	assert_int_equal(s.block_size, 8192);
	assert_int_equal(s.zstd_level, 5);
	engine_settings_release(&s);
}

static void
test_file(void **state)
{
	struct engine_settings s;
	char path[] = "/tmp/test_settings.XXXXXX";
	FILE *f;
	int fd, rc;

	(void)state;
	assert_true((fd = mkstemp(path)) != -1);
	assert_non_null(f = fdopen(fd, "w"));
	fputs(full_yaml, f);
	fputs("zstd_levels: 25\n", f);
	fclose(f);

	engine_settings_default(&s);
	err_clear();
	rc = engine_settings_load_file(&s, path);
	assert_int_equal(rc, -EINVAL);
	assert_non_null(strstr(err_detail(), path));
	assert_non_null(strstr(err_detail(), ":28: unknown key 'zstd_levels'"));
	assert_int_equal(s.zstd_level, 3);

	assert_non_null(f = fopen(path, "w"));
	fputs(full_yaml, f);
	fclose(f);
	err_clear();
	rc = engine_settings_load_file(&s, path);
	if (rc != 0)
		fail_msg("%d (%s)", rc, err_detail());
	assert_int_equal(s.zstd_level, 9);
	assert_string_equal(s.cache_root_folder, "/var/cache/shale");
	engine_settings_release(&s);
	unlink(path);

	engine_settings_default(&s);
	err_clear();
	assert_int_equal(engine_settings_load_file(&s, path), -ENOENT);
	assert_non_null(strstr(err_detail(), path));
	assert_int_equal(engine_settings_load_file(&s, "/tmp"), -EINVAL);
	assert_non_null(strstr(err_detail(), "'/tmp'"));
}

static const char *env_vars[] = {
	"SHALE_FLUSH_INTERVAL",
	"SHALE_MAX_UNFLUSHED_BYTES",
	"SHALE_L0_SST_SIZE_BYTES",
	"SHALE_DEFAULT_TTL",
	"SHALE_ZSTD_LEVEL",
	"SHALE_COMPACTOR_OPTIONS_MAX_CONCURRENT_COMPACTIONS",
	"SHALE_GARBAGE_COLLECTOR_OPTIONS_WAL_OPTIONS_MIN_AGE",
	"SHALE_GARBAGE_COLLECTOR_OPTIONS_MANIFEST_OPTIONS_INTERVAL",
	"SHALE_OBJECT_STORE_CACHE_OPTIONS_ROOT_FOLDER",
	"SHALE_OBJECT_STORE_CACHE_OPTIONS_MAX_CACHE_SIZE_BYTES",
	"SHALE_BLOCK_CACHE_BYTES",
	"SHALE_BLOCK_CACHE_PREPOPULATE",
};

static void
env_clear(void)
{
	size_t i;

	for (i = 0; i < sizeof(env_vars) / sizeof(env_vars[0]); i++)
		unsetenv(env_vars[i]);
}

/* With only `var`=`value` set, expect -EINVAL naming var and `want`. */
static void
env_bad(const char *var, const char *value, const char *want)
{
	struct engine_settings s, d;
	int rc;

	env_clear();
	setenv(var, value, 1);
	engine_settings_default(&s);
	engine_settings_default(&d);
	err_clear();
	rc = engine_settings_load_env(&s);
	if (rc != -EINVAL)
		fail_msg("%s=%s: expected -EINVAL, got %d", var, value, rc);
	assert_settings_equal(&s, &d);
	if (strncmp(err_detail(), var, strlen(var)) != 0 ||
	    strstr(err_detail(), want) == NULL)
		fail_msg("%s=%s: detail '%s' lacks '%s'", var, value,
		    err_detail(), want);
	unsetenv(var);
}

static void
test_env(void **state)
{
	struct engine_settings s, d;
	int rc;

	(void)state;
	env_clear();
	engine_settings_default(&s);
	engine_settings_default(&d);
	assert_int_equal(engine_settings_load_env(&s), 0);
	assert_settings_equal(&s, &d);

	setenv("SHALE_FLUSH_INTERVAL", "50ms", 1);
	setenv("SHALE_MAX_UNFLUSHED_BYTES", "256MiB", 1);
	setenv("SHALE_L0_SST_SIZE_BYTES", "128MiB", 1);
	setenv("SHALE_DEFAULT_TTL", "1d", 1);
	setenv("SHALE_ZSTD_LEVEL", "19", 1);
	setenv("SHALE_BLOCK_CACHE_PREPOPULATE", "false", 1);
	setenv("SHALE_COMPACTOR_OPTIONS_MAX_CONCURRENT_COMPACTIONS", "8", 1);
	setenv("SHALE_GARBAGE_COLLECTOR_OPTIONS_WAL_OPTIONS_MIN_AGE", "1m", 1);
	setenv("SHALE_GARBAGE_COLLECTOR_OPTIONS_MANIFEST_OPTIONS_INTERVAL",
	    "2h", 1);
	setenv("SHALE_OBJECT_STORE_CACHE_OPTIONS_ROOT_FOLDER", "/cache", 1);
	setenv("SHALE_OBJECT_STORE_CACHE_OPTIONS_MAX_CACHE_SIZE_BYTES", "1 GB",
	    1);
	setenv("SHALE_BLOCK_CACHE_BYTES", "0", 1);
	err_clear();
	/* over a YAML load: the environment wins */
	load_ok(&s, "zstd_level: 5\nbloom_bits_per_key: 12\n");
	rc = engine_settings_load_env(&s);
	if (rc != 0)
		fail_msg("%d (%s)", rc, err_detail());
	assert_int_equal(s.flush_interval_ms, 50);
	assert_int_equal(s.max_unflushed_bytes, 256 * MIB);
	assert_int_equal(s.l0_sst_size_bytes, 128 * MIB);
	assert_int_equal(s.default_ttl_ms, 86400000);
	assert_int_equal(s.zstd_level, 19);
	assert_int_equal(s.bloom_bits_per_key, 12);
	assert_int_equal(s.max_concurrent_compactions, 8);
	assert_int_equal(s.gc_wal.min_age_ms, 60000);
	assert_int_equal(s.gc_manifest.interval_ms, 7200000);
	assert_string_equal(s.cache_root_folder, "/cache");
	assert_int_equal(s.cache_max_size_bytes, 1000000000);
	assert_int_equal(s.block_cache_bytes, 0);
	assert_int_equal(s.block_cache_prepopulate, 0);

	/* Empty clears what may be null. */
	env_clear();
	setenv("SHALE_OBJECT_STORE_CACHE_OPTIONS_ROOT_FOLDER", "", 1);
	setenv("SHALE_DEFAULT_TTL", "", 1);
	assert_int_equal(engine_settings_load_env(&s), 0);
	assert_null(s.cache_root_folder);
	assert_int_equal(s.default_ttl_ms, 0);
	engine_settings_release(&s);

	env_bad("SHALE_GARBAGE_COLLECTOR_OPTIONS_WAL_OPTIONS_MIN_AGE",
	    "5 parsecs", "'5 parsecs' is not a duration");
	env_bad("SHALE_FLUSH_INTERVAL", "0", "'0' is out of range (1ms to 1h)");
	env_bad("SHALE_FLUSH_INTERVAL", "", "'' is not a duration");
	env_bad("SHALE_ZSTD_LEVEL", "20", "'20' is out of range (1 to 19)");
	env_bad("SHALE_ZSTD_LEVEL", "3x", "'3x' is not an integer");
	env_bad("SHALE_BLOCK_CACHE_BYTES", "lots", "'lots' is not a size");
	env_bad("SHALE_L0_SST_SIZE_BYTES", "1GiB",
	    "l0_sst_size_bytes (1GiB) must not be more than "
	    "max_unflushed_bytes (64MiB)");
	env_bad("SHALE_MAX_UNFLUSHED_BYTES", "1MiB",
	    "l0_sst_size_bytes (16MiB) must not be more than "
	    "max_unflushed_bytes (1MiB)");
	env_clear();
}

struct duration_case {
	const char	*in;
	int64_t		 ms;
};

static void
test_parse_duration(void **state)
{
	static const struct duration_case good[] = {
		{ "0", 0 }, { "100", 100 }, { "100ms", 100 }, { "60s", 60000 },
		{ "5m", 300000 }, { "1h", 3600000 }, { "2d", 172800000 },
		{ "1h30m", 5400000 }, { "1h 30m", 5400000 },
		{ "1h30m15s250ms", 5415250 }, { " 5 s ", 5000 },
		{ "1w", 604800000 }, { "2min", 120000 }, { "3sec", 3000 },
		{ "4secs", 4000 }, { "1hour", 3600000 }, { "2hours", 7200000 },
		{ "1day", 86400000 }, { "1000000ns", 1 }, { "1000us", 1 },
		{ "1500us 500us", 2 }, { "5msec", 5 }, { "1M", 2630016000LL },
		{ "1y", 31557600000LL }, { "86400s", 86400000 },
		{ "1m1m", 120000 }, { "007s", 7000 },
		{ "9223372036854775807", INT64_MAX },
		{ "9223372036854775807ms", INT64_MAX },
	};
	static const char *bad[] = {
		"", " ", "-1", "-5s", "+5s", "1.5s", "5 parsecs", "s", "5x",
		"1h30", "30 1h", "5S", "5H", "1 h x", "0x10", "1,5s", "1e3",
		"1500us", "1ns", "9223372036854775808",
		"9223372036854775808ms", "99999999999999999999999s",
		"106751991167301d", "5s;", "5s\n6", "\xc2\xb5s",
	};
	size_t i;
	int64_t ms;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ms = -1;
		if (settings_parse_duration(good[i].in, &ms) != 0)
			fail_msg("'%s' rejected", good[i].in);
		if (ms != good[i].ms)
			fail_msg("'%s': %lld, expected %lld", good[i].in,
			    (long long)ms, (long long)good[i].ms);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ms = -1;
		if (settings_parse_duration(bad[i], &ms) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(ms, -1);
	}
}

struct size_case {
	const char	*in;
	uint64_t	 bytes;
};

static void
test_parse_size(void **state)
{
	static const struct size_case good[] = {
		{ "0", 0 }, { "4096", 4096 }, { "4096B", 4096 },
		{ "64KiB", 64 * KIB }, { "64MiB", 64 * MIB }, { "1GiB", GIB },
		{ "1TiB", 1024 * GIB }, { "1KB", 1000 }, { "1MB", 1000000 },
		{ "1GB", 1000000000 }, { "1TB", 1000000000000ULL },
		{ "1K", KIB }, { "2M", 2 * MIB }, { "3G", 3 * GIB },
		{ "1T", 1024 * GIB }, { "64Mi", 64 * MIB }, { "1kb", 1000 },
		{ "1mib", MIB }, { "512 KiB", 512 * KIB }, { " 7 ", 7 },
		{ "1PiB", 1024 * 1024 * GIB },
		{ "18446744073709551615", UINT64_MAX },
		{ "16383PiB", 16383ULL * 1024 * 1024 * GIB },
	};
	static const char *bad[] = {
		"", " ", "-1", "+1", "1.5GiB", "1 2", "GiB", "1XB", "1KIBB",
		"0x10", "1e6", "64 MiB s", "1_000",
		"18446744073709551616", "16384PiB", "18446744073709551615B2",
		"99999999999999999999999", "17179869184GiB",
	};
	size_t i;
	uint64_t b;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		b = 1;
		if (settings_parse_size(good[i].in, &b) != 0)
			fail_msg("'%s' rejected", good[i].in);
		if (b != good[i].bytes)
			fail_msg("'%s': %llu, expected %llu", good[i].in,
			    (unsigned long long)b,
			    (unsigned long long)good[i].bytes);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b = 1;
		if (settings_parse_size(bad[i], &b) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(b, 1);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_null),
		cmocka_unit_test(test_secs_nanos),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_atomic),
		cmocka_unit_test(test_yaml_forms),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_parse_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
