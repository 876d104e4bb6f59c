/*
 * settings.h - the engine's settings: defaults, a YAML file in the format
 * of SlateDB's settings (as the seeds' Helm charts mount it), and SHALE_*
 * environment variables, applied in that order.
 *
 * The YAML (libyaml) is a mapping; durations are strings like '100ms',
 * '60s', '5m', '1h' (or a number of milliseconds); sizes are numbers of
 * bytes or strings like '64MiB', '1GB', '512KiB'. Every key is known: an
 * unknown key, a value of the wrong type or out of range is an error whose
 * detail names the file, the line and the key path
 * ('garbage_collector_options.wal_options.min_age'). SlateDB's
 * compactions_options are accepted and have no effect (no compaction
 * state objects here).
 *
 * Environment: SHALE_<KEY PATH IN UPPER CASE, dots as underscores>, e.g.
 * SHALE_FLUSH_INTERVAL=50ms, SHALE_GARBAGE_COLLECTOR_OPTIONS_WAL_OPTIONS_MIN_AGE=1m.
 *
 * Not thread-safe: load settings once, before the engine starts.
 */
#ifndef SHALE_SETTINGS_H
#define SHALE_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

struct gc_kind_settings {
	int64_t		 interval_ms;	/* default 60 s */
	int64_t		 min_age_ms;	/* default 24 h for manifests, 60 s otherwise */
};

struct engine_settings {
	int64_t		 flush_interval_ms;		/* default 100 */
	int64_t		 manifest_poll_interval_ms;	/* default 1000 */
	int64_t		 checkpoint_lifetime_ms;	/* a reader's pins; default 60 s */
	int64_t		 store_failure_timeout_ms;	/* durability waits fail after; default 30 s */
	uint64_t	 max_unflushed_bytes;		/* default 64 MiB */
	uint64_t	 l0_sst_size_bytes;		/* default 16 MiB */
	int		 l0_max_ssts;			/* L0 tables before writers wait; default 8 */
	uint64_t	 wal_max_bytes;			/* a WAL object is cut here; default 4 MiB */
	int64_t		 default_ttl_ms;		/* 0: records never expire */
	/* tables */
	uint64_t	 block_size;			/* default 4096 */
	int		 zstd_level;			/* default 3 */
	int		 wal_zstd_level;		/* WAL objects; 0: stored plain; default 1 */
	uint64_t	 wal_stub_min_bytes;		/* bulk writes: values this big skip the WAL; 0: none; default 1 KiB */
	int		 bloom_bits_per_key;		/* default 10 */
	/* compactor_options */
	int		 max_concurrent_compactions;	/* default 2 */
	uint64_t	 max_sst_size;			/* default 256 MiB */
	int64_t		 compactor_poll_interval_ms;	/* default 5 s */
	/* garbage_collector_options */
	struct gc_kind_settings gc_manifest;
	struct gc_kind_settings gc_wal;
	struct gc_kind_settings gc_compacted;
	struct gc_kind_settings gc_compactions;
	/* object_store_cache_options */
	char		*cache_root_folder;		/* NULL: no disk cache */
	uint64_t	 cache_max_size_bytes;		/* default 16 GiB */
	uint64_t	 block_cache_bytes;		/* in-memory; engine_block_cache_default() */
	int		 block_cache_prepopulate;	/* tables built fill it; default 1 */
	/* series_options: metric series (src/model/series.h) */
	int64_t		 series_retention_ms;		/* 0: samples never expire */
	int		 series_max;			/* series in a store; default 1,000,000 */
	int64_t		 series_ooo_window_ms;		/* out-of-order window; default 0 */
	char		*series_retention_filters;	/* lines of SELECTOR:DURATION; NULL */
	/* logs_options: log streams (src/model/logs.h) */
	int64_t		 logs_retention_ms;		/* 0: records never expire */
	char		*logs_retention_filters;	/* lines of SELECTOR:DURATION; NULL */
	char		*logs_push_path;		/* the Loki push path rule; NULL */
	/* query_options: PromQL (src/query/promql.h) */
	int64_t		 query_timeout_ms;		/* default 2 min */
	int		 query_max_samples;		/* default 50,000,000 */
	int64_t		 query_lookback_ms;		/* default 5 min */
};

void	engine_settings_default(struct engine_settings *s);
/* block_cache_bytes by default: an eighth of memory, 64 MiB to 4 GiB. */
uint64_t engine_block_cache_default(void);
void	engine_settings_release(struct engine_settings *s);
/*
 * Apply a YAML file over s: 0, or -EINVAL (bad content), -ENOENT, -EFBIG
 * or another -errno, with a detail.
 */
int	engine_settings_load_file(struct engine_settings *s, const char *path);
/* The same from a string (tests, fuzzing); `name` stands for the file in errors. */
int	engine_settings_load_yaml(struct engine_settings *s, const char *yaml,
	    size_t n, const char *name);
/* Apply SHALE_* variables from the environment over s. */
int	engine_settings_load_env(struct engine_settings *s);

/* "100ms", "60s", "5m", "1h", "2d", or a bare number of ms. */
int	settings_parse_duration(const char *s, int64_t *ms);
/* "4096", "64KiB", "64MiB", "1GiB", "1KB", "1MB", "1GB", "1TiB" ... */
int	settings_parse_size(const char *s, uint64_t *bytes);

#endif
