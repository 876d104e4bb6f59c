/*
 * objstore.h - the object store: one table of functions, several backends.
 *
 * Everything shale keeps durably goes through this interface: a flat
 * namespace of keys (byte strings without NUL, at most 1024 bytes) mapping
 * to immutable byte strings. Backends:
 *
 *   file://PATH              a local directory (the embedded default)
 *   s3://BUCKET[/PREFIX]     S3 or an S3-compatible server (Ceph RGW ...)
 *   fault:OPTIONS:URI        wraps another store and injects failures
 *
 * objstore_open() stacks layers over the backend:
 *
 *   caller -> [disk cache] -> counting (metrics) -> retrying -> [fault]
 *          -> backend
 *
 * so that every request is counted once per call, and transient failures
 * (5xx, 429, timeouts, resets) are retried with capped exponential backoff
 * and full jitter. With opts->cache_dir, the disk cache
 * (objstore_cache.c) keeps 64 KiB pages of the tables (keys under
 * `compacted/`) on local disk, so a table read again, also after a
 * restart, costs no request. What this layer does not do: ordering across
 * keys, or anything that knows what an object means.
 *
 * Errors: 0 or a negative code (util/error.h). -ENOENT for a missing key,
 * -EEXIST when put_if_absent finds the key, SHALE_EUNKNOWN when a
 * conditional put may or may not have happened (a 500 or a timeout after
 * the request was sent): the caller must re-read to decide. A failing call
 * leaves a sentence for the user in err_detail().
 *
 * Threading: a struct objstore is safe to use from many threads at once;
 * the S3 backend bounds the requests in flight (max_parallel) and makes
 * callers beyond that wait.
 */
#ifndef SHALE_OBJSTORE_H
#define SHALE_OBJSTORE_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct metrics;
struct objstore;

#define OBJSTORE_KEY_MAX	1024
#define OBJSTORE_TO_END		UINT64_MAX	/* get: read to the end */

/* Settings for objstore_open(). Zero or NULL fields take the defaults. */
struct objstore_opts {
	/* S3 */
	const char	*endpoint;	/* http(s)://host[:port]; default AWS or $AWS_ENDPOINT_URL_S3 / $AWS_ENDPOINT_URL */
	const char	*region;	/* default $AWS_REGION, $AWS_DEFAULT_REGION, us-east-1 */
	int		 addressing;	/* OBJSTORE_ADDR_* */
	const char	*access_key;	/* default $AWS_ACCESS_KEY_ID or the profile */
	const char	*secret_key;
	const char	*session_token;
	const char	*profile;	/* default $AWS_PROFILE or "default" */
	int		 unsigned_payload; /* sign PUT bodies as UNSIGNED-PAYLOAD (https only) */
	int		 max_parallel;	/* requests in flight; default 16 */
	int		 connect_timeout_ms; /* default 5000 */
	int		 timeout_ms;	/* no progress for this long fails a request; default 30000 */
	uint64_t	 multipart_threshold; /* default 64 MiB */
	uint64_t	 part_size;	/* default 16 MiB */
	/* retrying layer */
	int		 max_retries;	/* default 8; -1 disables retries */
	int		 retry_base_ms;	/* default 50 */
	int		 retry_max_ms;	/* default 5000 */
	/* file backend */
	int		 no_fsync;	/* skip fsync (tests and benchmarks only) */
	/*
	 * disk cache: pages of the objects whose keys start with
	 * cache_prefix (NULL: every key) under cache_dir/objects; NULL: none
	 */
	const char	*cache_dir;
	const char	*cache_prefix;
	uint64_t	 cache_max_bytes; /* the page files' total; default 16 GiB */
	/* where calls are counted; default metrics_global() */
	struct metrics	*metrics;
};

/* How to address the bucket: auto is path-style with a custom endpoint. */
enum { OBJSTORE_ADDR_AUTO, OBJSTORE_ADDR_PATH, OBJSTORE_ADDR_VHOST };

struct objstore_meta {
	uint64_t	 size;
	int64_t		 mtime;		/* seconds since the epoch */
	char		 etag[72];	/* opaque, may be "" */
};

struct objstore_entry {
	char		*key;		/* full key, without the store's prefix */
	uint64_t	 size;
	int64_t		 mtime;
};

/* One page of a listing; owned by the caller, freed with objstore_list_release(). */
struct objstore_list {
	struct objstore_entry *entries;
	size_t		 n;
	size_t		 cap;
	char		*next;		/* resume point for the next page, or NULL when done */
};

/*
 * Open a store. On failure *out is NULL and the return code is set, with a
 * sentence in err_detail(). Opening checks the URI and the settings but does
 * not touch the network or the disk beyond what a file:// store needs to
 * exist (it is created).
 */
int	objstore_open(const char *uri, const struct objstore_opts *opts,
	    struct objstore **out);
void	objstore_close(struct objstore *os);
/* The URI this store was opened with (owned by the store). */
const char *objstore_uri(const struct objstore *os);

/*
 * The name of the store at `uri` in local folders (its disk cache, its
 * manifest mirror): 16 lower-case hexadecimal digits, the XXH3 64-bit
 * hash of the URI as written (shale-format(5)), NUL-terminated.
 */
#define OBJSTORE_URI_NAME_LEN	16
void	objstore_uri_name(const char *uri, char out[OBJSTORE_URI_NAME_LEN + 1]);

/*
 * Read `len` bytes at `off` (OBJSTORE_TO_END for the rest) of `key`,
 * appending them to `out`. A range that starts at or past the end reads
 * nothing and succeeds; one that runs past the end is cut at the end.
 */
int	objstore_get(struct objstore *os, const char *key, uint64_t off,
	    uint64_t len, struct buf *out);
int	objstore_put(struct objstore *os, const char *key, const void *data,
	    size_t len);
/* Create `key` only if absent: 0 created, -EEXIST, or SHALE_EUNKNOWN. */
int	objstore_put_if_absent(struct objstore *os, const char *key,
	    const void *data, size_t len);
int	objstore_head(struct objstore *os, const char *key,
	    struct objstore_meta *meta);
/*
 * One page (at most `max` entries, 0 for the backend's page size) of the
 * keys that start with `prefix`, in byte order, after `start_after` (NULL
 * for the beginning; pass the previous page's `next` to go on). `out` is
 * reset first.
 */
int	objstore_list(struct objstore *os, const char *prefix,
	    const char *start_after, size_t max, struct objstore_list *out);
void	objstore_list_release(struct objstore_list *l);
/* Deleting a missing key succeeds. */
int	objstore_delete(struct objstore *os, const char *key);
/* Delete up to any number of keys (sent in batches of 1000); all or an error. */
int	objstore_delete_batch(struct objstore *os, const char *const *keys,
	    size_t n);

/* Check a key: 0, -EINVAL (empty) or -ENAMETOOLONG, with a detail. */
int	objstore_key_check(const char *key);

/*
 * How the store has answered lately, from the counting layer: the wall
 * clock times (ns) of the last call that got an answer (a missing or
 * existing key counts as one) and of the first call that failed since
 * then (0 while the last call got one). Both 0 for a store not opened
 * with objstore_open().
 */
struct objstore_health {
	int64_t		 last_ok_ns;
	int64_t		 failing_since_ns;
};
void	objstore_health(struct objstore *os, struct objstore_health *h);

#endif
