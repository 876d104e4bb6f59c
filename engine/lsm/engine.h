/*
 * engine.h - shale's LSM engine: an ordered key-value store whose durable
 * home is an object store. Everything above the engine (log streams,
 * series, the mount, HTTP) uses only this header.
 *
 * Writes: a batch of puts and deletes is applied atomically, in memory,
 * and given consecutive sequence numbers; engine_write returns at once.
 * Every flush_interval (or when wal_max_bytes have gathered) what was
 * written goes to the object store as one WAL object; a batch is durable
 * when its WAL object and every earlier one are stored. engine_flush()
 * waits for that; engine_wait_durable() and engine_subscribe() follow the
 * durable watermark. A full memtable becomes an L0 table in the background;
 * writers block while more than max_unflushed_bytes are not yet durable or
 * not yet in tables.
 *
 * Reads see every write made before them (durable or not), or the state of
 * a snapshot. Iterators run forwards and backwards over a key range.
 *
 * One writer per store: opening as writer fences any earlier writer, which
 * then fails every write and durability wait with SHALE_EFENCED, for good.
 * A reader (ENGINE_READER) sees the store as it was when opened, then
 * follows it: every manifest_poll_interval it installs a newer manifest's
 * tables and applies the WAL objects stored since. It stops at a missing
 * WAL id (a hole: what comes after it was not acknowledged by the writer)
 * until the hole is filled. A reader never fences the writer, and writes
 * to the store only to pin an old version that a snapshot or an iterator
 * still reads, so that the writer's garbage collector keeps its tables:
 * a checkpoint in the manifest, for checkpoint_lifetime at a time,
 * renewed while needed and removed at close (checkpoint.c).
 *
 * Memory: keys and values passed in are copied. Buffers returned point
 * into the engine and are valid as stated at each function.
 *
 * Threading: every function may be called from any thread at the same
 * time, except that one iterator or batch belongs to one thread, and
 * engine_close() must not race other calls on the same engine.
 */
#ifndef SHALE_ENGINE_H
#define SHALE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/objstore/objstore.h"
#include "engine/lsm/settings.h"
#include "util/buf.h"

struct engine;
struct engine_batch;
struct engine_snapshot;
struct engine_iter;

enum engine_mode { ENGINE_WRITER, ENGINE_READER };

/*
 * Open the store at `uri`. `so` and `es` may be NULL for defaults. As a
 * writer: bump the writer epoch in the manifest, replay the WAL, fence
 * older writers. Fails with a detail in err_detail().
 */
int	engine_open(const char *uri, const struct objstore_opts *so,
	    const struct engine_settings *es, enum engine_mode mode,
	    struct engine **out);
/* Flush (writer), stop, free. 0, or the flush's error (SHALE_EFENCED ...). */
int	engine_close(struct engine *e);
/*
 * The same, giving up on storing what is left after timeout_ms: then
 * -ETIMEDOUT, and the writes not yet durable are lost. A reader waits at
 * most as long to remove its checkpoints (checkpoint.c), then leaves
 * them to expire.
 */
int	engine_close_within(struct engine *e, int64_t timeout_ms);

/* ---- writing ---- */

struct engine_batch *engine_batch_new(void);
void	engine_batch_free(struct engine_batch *b);
void	engine_batch_clear(struct engine_batch *b);
/*
 * expire_ms: absolute expiry in ms since the epoch; 0 uses default_ttl;
 * ENGINE_NO_EXPIRY never expires whatever default_ttl says.
 */
#define ENGINE_NO_EXPIRY	((int64_t)-1)
int	engine_batch_put(struct engine_batch *b, const void *key, size_t klen,
	    const void *val, size_t vlen, int64_t expire_ms);
int	engine_batch_delete(struct engine_batch *b, const void *key, size_t klen);
size_t	engine_batch_count(const struct engine_batch *b);

/*
 * Apply the batch atomically. *seq (if not NULL) is the sequence number of
 * its last record. Blocks while the engine is over max_unflushed_bytes,
 * unless the store has refused every attempt to store for
 * store_failure_timeout: then -EIO, and nothing is written.
 * -EROFS for a reader, SHALE_EFENCED once fenced, -EINVAL for an empty batch.
 */
int	engine_write(struct engine *e, struct engine_batch *b, uint64_t *seq);

/* Wait until everything written before the call is durable. */
int	engine_flush(struct engine *e);
/* Wait until `seq` is durable: 0, -ETIMEDOUT, SHALE_EFENCED. timeout_ms < 0 waits for ever. */
int	engine_wait_durable(struct engine *e, uint64_t seq, int64_t timeout_ms);
/*
 * The wait of an fsync(2): as engine_wait_durable, and also -EIO once
 * the store has refused every attempt to store (WAL objects, L0 flushes)
 * for store_failure_timeout, at once if it already has. Nothing is
 * dropped: what was written stays in memory and is stored when the store
 * takes it, and a wait after that succeeds. With `stop` (may be NULL),
 * -EINTR once *stop is nonzero: set it, then call engine_wake(). A
 * reader returns 0 at once.
 */
int	engine_sync(struct engine *e, uint64_t seq, int64_t timeout_ms,
	    const int *stop);
/* Make every engine_sync() look at its stop flag again. */
void	engine_wake(struct engine *e);
uint64_t engine_durable_seq(struct engine *e);
uint64_t engine_last_seq(struct engine *e);

/*
 * Call fn(arg, durable_seq) each time the durable watermark moves, from the
 * engine's upload thread: it must be quick and must not call the engine.
 */
typedef void (*engine_durable_fn)(void *arg, uint64_t durable_seq);
void	engine_subscribe(struct engine *e, engine_durable_fn fn, void *arg);

/* ---- reading ---- */

struct engine_snapshot *engine_snapshot_new(struct engine *e);
void	engine_snapshot_free(struct engine_snapshot *s);
uint64_t engine_snapshot_seq(const struct engine_snapshot *s);

/* The value of key (appended to val): 0, -ENOENT, or an error. snap may be NULL. */
int	engine_get(struct engine *e, const struct engine_snapshot *snap,
	    const void *key, size_t klen, struct buf *val);

/*
 * An iterator over keys in [lo, hi) (NULL for no bound) as of snap (NULL:
 * now). It starts unpositioned: seek first. Key and value pointers are
 * valid until the iterator moves or is freed.
 */
struct engine_iter *engine_iter_new(struct engine *e,
	    const struct engine_snapshot *snap, const void *lo, size_t lolen,
	    const void *hi, size_t hilen);
void	engine_iter_seek(struct engine_iter *it, const void *key, size_t klen);
void	engine_iter_seek_for_prev(struct engine_iter *it, const void *key,
	    size_t klen);
void	engine_iter_seek_first(struct engine_iter *it);
void	engine_iter_seek_last(struct engine_iter *it);
void	engine_iter_next(struct engine_iter *it);
void	engine_iter_prev(struct engine_iter *it);
int	engine_iter_valid(const struct engine_iter *it);
const void *engine_iter_key(const struct engine_iter *it, size_t *klen);
const void *engine_iter_value(const struct engine_iter *it, size_t *vlen);
/* 0, or the error that stopped the iterator (a corrupt table ...). */
int	engine_iter_status(const struct engine_iter *it);
void	engine_iter_free(struct engine_iter *it);

/*
 * Content filters. A model names, before it writes, key prefixes whose
 * records' values tables should index by their trigrams, per group of
 * data blocks (sst.h): at most ENGINE_CF_PREFIX_MAX of at most
 * 16 bytes each (-ENOSPC, -EINVAL; naming one again is 0).
 * Tables built after the call have them; older ones are read as before.
 */
#define ENGINE_CF_PREFIX_MAX	4
int	engine_content_filter_prefix(struct engine *e, const void *prefix,
	    size_t len);
/*
 * Before the first seek: the caller wants only records whose value
 * contains every one of needles[0 ... n-1] (lens NULL: NUL-terminated),
 * and promises that every key in the iterator's range is written once,
 * never overwritten nor deleted. The iterator may then leave out the
 * records of table blocks whose content filters prove that none of their
 * values contains some needle, without reading those blocks; it gives
 * every other record as before, so the caller still tests each value.
 * Memtable records are always given. Needles shorter than 3 bytes rule
 * nothing out.
 */
void	engine_iter_set_needles(struct engine_iter *it,
	    const char *const *needles, const size_t *lens, size_t n);
/* Table blocks the iterator passed over so far. */
uint64_t engine_iter_blocks_skipped(const struct engine_iter *it);

/*
 * A reader calls fn(arg, key, klen, val, vlen) for each record it applies
 * while following (val NULL for a delete), from its follow thread, after
 * the record is readable; it must be quick and must not call the engine.
 * Records a newer manifest brings in tables are not reported one by one:
 * they were reported as WAL records before, or came before the reader.
 * Each batch is either readable before engine_on_apply returns or
 * reported to the fn it set: a caller that registers first and then
 * reads what is there misses nothing (and may be told again of what it
 * read). fn may wait for a lock its registrar holds while reading, if
 * that lock is never held while waiting for the follow thread.
 * Each model over the engine (log streams, series) registers its own,
 * one per arg, at most ENGINE_APPLY_MAX: each is told of every record,
 * in registration order. fn NULL removes arg's; engine_on_apply returns
 * once the fn it replaces or removes is no longer called. -ENOSPC when
 * every slot is taken, else 0.
 */
#define ENGINE_APPLY_MAX	4
typedef void (*engine_apply_fn)(void *arg, const void *key, size_t klen,
	    const void *val, size_t vlen);
int	engine_on_apply(struct engine *e, engine_apply_fn fn, void *arg);

/* ---- compaction ---- */

/*
 * Called by the compactor for each live record it rewrites (the newest
 * version of a key, not expired): 1 keeps it, 0 drops it, as if deleted.
 * From compactor threads, several at once: it must be quick, thread-safe,
 * and must not call the engine. Records in memtables are never offered.
 * Setting another filter (or NULL) waits for calls of the old one in
 * progress, and no more are made: then its arg may be freed.
 */
typedef int (*engine_filter_fn)(void *arg, const void *key, size_t klen,
	    const void *val, size_t vlen);

/*
 * Optional, beside a filter: 1 if the filter keeps every record with a
 * key in [lo, hi], whatever its value; 0 if it may drop some. A
 * compaction whose source tables do not overlap, expire nothing and are
 * each kept whole takes them into its run as they are, without reading
 * them (a move); with a filter and no range_fn it never moves. Called
 * like the filter, under the same lock.
 */
typedef int (*engine_filter_range_fn)(void *arg, const void *lo, size_t lolen,
	    const void *hi, size_t hilen);
void	engine_set_compaction_filter(struct engine *e, engine_filter_fn fn,
	    engine_filter_range_fn range_fn, void *arg);

/*
 * Write what is in memtables as L0 tables, then merge every table into
 * one sorted run, dropping deleted, expired and filtered records (every
 * table is read and written again: nothing is moved). Waits
 * for compactions already running. -EROFS for a reader.
 */
int	engine_compact(struct engine *e);

/* ---- state ---- */

struct engine_status {
	uint64_t	 epoch;
	uint64_t	 manifest_id;
	uint64_t	 last_seq;
	uint64_t	 durable_seq;
	uint64_t	 unflushed_bytes;
	uint64_t	 next_wal_id;
	size_t		 l0_tables;
	size_t		 compacting;	/* compactions running */
	size_t		 runs;		/* sorted runs */
	size_t		 run_tables;	/* tables in them */
	uint64_t	 table_bytes;	/* bytes of every table in the manifest */
	size_t		 frozen_memtables;
	int		 fenced;
	int		 reader;
	int64_t		 follow_lag_ms;	/* reader: age of the newest WAL object it applied */
	int64_t		 store_last_ok_ns;	/* objstore_health(): wall clock ns, */
	int64_t		 store_failing_since_ns; /* 0 while the store answers */
	/*
	 * Writer: wall clock ns since which every attempt to store (WAL
	 * objects, L0 flushes) failed; 0 while the last one succeeded
	 */
	int64_t		 store_write_failing_since_ns;
};
void	engine_status(struct engine *e, struct engine_status *st);

#endif
