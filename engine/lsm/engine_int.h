/*
 * engine_int.h - the engine's insides, shared by the files of the engine:
 * engine.c (open and close) and the stages it lists, engine_read.c (gets
 * and iterators), compact.c and checkpoint.c.
 *
 * Locking: `lock` protects every field marked (L), and every part of
 * struct engine marked so whole. Lock order: commit_lock, then lock,
 * then tables_lock (the last reference to a table may go with lock
 * held); filter_lock is held around a filter call only. Object store
 * calls are never made with lock held. Versions, memtables and tables
 * are reference counted, so a reader takes references under the lock and
 * reads without it.
 */
#ifndef SHALE_ENGINE_INT_H
#define SHALE_ENGINE_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "engine/lsm/block_cache.h"
#include "engine/lsm/engine.h"
#include "engine/lsm/kv.h"
#include "engine/lsm/layout.h"
#include "engine/lsm/manifest.h"
#include "engine/lsm/memtable.h"
#include "engine/lsm/mirror.h"
#include "engine/lsm/sst.h"
#include "util/metrics.h"

/*
 * Tables are cut where the first CUT_PREFIX bytes of the key change: the
 * subsystem, its version and the subsystem's first byte of its own (for
 * logs, the kind: records, time index, inodes...). A table then holds one
 * kind of key, and the tables of a kind written in key order (a stream's
 * records) follow each other instead of overlapping, so that compaction
 * takes them over unchanged (compact.c). An L0 flush is cut so into at
 * most L0_MAX_PIECES tables, a merge's output without limit.
 */
#define CUT_PREFIX	3
#define L0_MAX_PIECES	8

#define MANIFEST_RETRIES	20	/* taken manifest ids in a row, at most */
/*
 * A writer's first WAL object comes this many ids after its opening fence,
 * so the uploads still in flight from the writer it replaced (at most
 * WAL_UPLOADERS ids past what it had stored) cannot take its ids.
 */
#define WAL_JUMP		((uint64_t)1 << 20)

/* An open table, shared by the versions that list it. */
struct table {
	_Atomic int	 refs;
	struct sst	*sst;
	struct engine	*e;
	struct table	*prev, *next;	/* e->tables_lock: e->tables.open_tables */
};

/*
 * The tables of one manifest version; immutable once installed. A
 * reader's version that stops being current while something still holds
 * it (a snapshot, an iterator) is listed in e->tables.retired until its last
 * reference goes, so the follower can pin it with a checkpoint
 * (checkpoint.c).
 */
struct version {
	_Atomic int	 refs;
	struct manifest	 m;
	struct table	**l0;		/* parallel to m.l0, newest first */
	struct table	***runs;	/* runs[i][j] parallel to m.runs[i].tables[j] */
	size_t		 l0_depth;	/* the most L0 tables one key is in */
	/* L0 as l0_depth chains (manifest_l0_chains), for iterators */
	struct manifest_run *chains;	/* their tables: copies not owned */
	struct table	***chain_t;	/* chain_t[c][k]: chains[c].tables[k] */
	struct engine	*e;
	int		 retired;	/* listed in e->tables.retired; fixed once set */
	int64_t		 superseded_ms;	/* wall clock; fixed once retired */
	int		 late;		/* tables_lock: too old to pin, said so */
	struct version	*rprev, *rnext;	/* tables_lock: e->tables.retired */
};

/* A checkpoint this reader holds in the store (checkpoint.c). */
struct ckpt {
	uint64_t	 manifest_id;
	int64_t		 expire_ms;
};

/* A memtable no longer written, waiting to become an L0 table. */
struct frozen {
	struct memtable	*mem;
	uint64_t	 last_wal;	/* its records are in WAL objects <= this */
	uint64_t	 max_seq;
	uint64_t	 bytes;		/* counted in unflushed_bytes */
	int		 taken;		/* an l0_main is writing it */
};

#define WAL_UPLOADERS	4	/* WAL objects in flight at once */
#define L0_WRITERS	2	/* memtables written as tables at once */
#define WAL_SPARES	4	/* stored WAL bodies' memory kept for reuse */

/* A sealed WAL object, from sealing until it and all before it are stored. */
enum { WAL_QUEUED, WAL_UPLOADING, WAL_STORED };
struct walobj {
	struct walobj	*next;
	uint64_t	 id;
	int		 state;		/* (L) */
	struct buf	 body;		/* batches, without the header */
	uint64_t	 last_seq;
	int		 bulk;		/* has stubs: stored after its L0 flush */
};

struct engine_metrics {
	struct metric_series *writes, *write_bytes, *wal_objects, *wal_bytes;
	struct metric_series *wal_latency, *l0_flushes, *l0_tables, *l0_depth;
	struct metric_series *unflushed, *fenced, *recovery, *durable;
	struct metric_series *follow_lag, *wal_stubbed;
	struct metric_series *compactions, *compaction_moved, *compact_in, *compact_out;
	struct metric_series *compact_time, *runs, *expired_tables, *l0_stalls;
	struct metric_series *checkpoints, *checkpoint_writes;
	struct metric_series *blocks_skipped;
};

#define COMPACTORS_MAX	8	/* compactor threads at most */

/*
 * A change to the manifest: edit() makes it on a copy of the current one
 * (under the commit lock): 0 to commit, or an error to give up.
 */
typedef int (*manifest_edit_fn)(void *arg, struct manifest *m);

/*
 * A table stored but not yet in a committed manifest, and the block cache
 * id its builder filled under (0: none) until a version opens it.
 */
struct pending_table {
	char		*key;
	uint64_t	 cache_id;
	int		 opened;
};

/*
 * The parts of struct engine, one a stage, each kept by the file its
 * comment names. Recovery (engine_recover.c) fills some at open, before
 * any thread runs; engine_free frees them all; any other file that
 * changes one is named at it.
 */

/*
 * engine_write.c: what is written but not yet sealed (seal_locked,
 * engine_wal.c, takes walbuf), the subscribers, and the store's failures
 * (note_store_locked). All (L).
 */
struct engine_write_state {
	struct buf		 walbuf;	/* batches not yet sealed */
	uint64_t		 walbuf_last_seq;
	int64_t			 walbuf_since;	/* mono ns of its first batch */
	uint64_t		 walbuf_raw;	/* bytes its batches would take whole */
	int			 walbuf_stubbed; /* it holds a stub */
	int			 bulk;		/* walbuf takes stubs (bulk writes) */
	uint64_t		 mem_bulk_first; /* first seq of a stub in mem; 0 none */
	struct kv_entry		*stubv;		/* a batch as walbuf takes it */
	size_t			 capstubv;
	struct {
		engine_durable_fn fn;
		void		*arg;
	}			*subs;		/* called by advance_locked */
	size_t			 nsubs, capsubs;
	/*
	 * Mono ns of the first failed attempt to store a WAL object,
	 * or an L0 flush, since the last that succeeded; 0 while the last
	 * attempt succeeded. Durability waits fail once the earlier of the
	 * two is store_failure_timeout old (store_failed_locked).
	 */
	int64_t			 wal_failing_since;
	int64_t			 l0_failing_since;
	uint64_t		 store_failures;	/* failed attempts, ever */
	uint64_t		 retry_gen;	/* bumped: failed tasks retry now */
};

/*
 * engine_wal.c: sealed WAL objects on their way to the store; a flush
 * (flush_within, engine_write.c) sets flush_asked. For a reader,
 * next_wal_id is the next it applies (follow_wal). All (L).
 */
struct engine_wal_state {
	uint64_t		 next_wal_id;	/* given to the next sealed object */
	struct walobj		*queue;		/* sealed, oldest first */
	struct walobj		**qtail;
	struct buf		 walspare[WAL_SPARES]; /* stored bodies' memory */
	int			 nwalspare;
	int			 flush_asked;	/* seal now */
	int64_t			 bulk_quiet_due; /* mono ns: no write till then ends it */
};

/* engine_version.c: the tables open or pending. All tables_lock. */
struct engine_tables_state {
	struct table		*open_tables;
	struct version		*retired;	/* a reader's, not current, live */
	struct pending_table	*pending;	/* stored, not committed */
	size_t			 npending, cappending;
};

/* compact.c: the compactor; engine_status reads jobs, l0_main ncompactors */
struct engine_compact_state {
	pthread_t		 t_compact[COMPACTORS_MAX];
	int			 ncompactors;
	int			 l0_busy;	/* (L) a job is compacting L0 */
	uint64_t		*busy_runs;	/* (L) run ids in jobs */
	size_t			 nbusy, capbusy;
	int			 jobs;		/* (L) running */
	int			 full_asked;	/* (L) engine_compact waits */
	int			 full_done;	/* (L) bumped when one finishes */
	int			 full_rc;	/* (L) */
	engine_filter_fn	 filter_fn;	/* filter_lock */
	engine_filter_range_fn	 filter_range_fn;	/* filter_lock */
	void			*filter_arg;
};

/* One registration of engine_on_apply; fn NULL: a free slot. */
struct engine_applier {
	engine_apply_fn		 fn;
	void			*arg;
};

/*
 * engine_follow.c: a reader following the writer. Unmarked: only
 * follow_main uses them; replay_batch (engine_recover.c) sets applying.
 */
struct engine_follow_state {
	uint64_t		 follow_last;	/* last WAL id applied */
	uint64_t		 follow_epoch;	/* objects below it are skipped */
	uint64_t		 mem_last_wal;	/* newest WAL id in mem */
	struct engine_applier	 apply[ENGINE_APPLY_MAX];	/* (L) read by replay_batch */
	int			 applying;	/* (L) replay_batch is calling it */
	int64_t			 follow_lag_ms;	/* (L) */
};

/* checkpoint.c: a reader's checkpoints; only follow_main, then close */
struct engine_ckpt_state {
	char			 ckpt_prefix[32]; /* "reader-<16 hex>-" */
	struct ckpt		*ckpts;		/* in the store, as last written */
	size_t			 nckpts, capckpts;
	uint64_t		 ckpt_version;	/* the version that wrote them */
	int64_t			 ckpt_retry_ms;	/* after a failure: not before */
	int			 ckpt_failing;	/* the failure was logged */
	pthread_t		 t_ckpt_remove;	/* ckpt_close's removal */
	int			 ckpt_removed;	/* (L) the removal ended */
	int			 ckpt_orphan;	/* (L) close gave up on it: it frees e */
};

struct engine {
	/* engine.c: fixed after open (epoch: claim, engine_recover.c) */
	struct objstore		*os;
	struct mirror		*mirror;	/* NULL if none; thread-safe */
	struct engine_settings	 set;
	enum engine_mode	 mode;
	char			*uri;
	struct engine_metrics	 m;
	struct block_cache	*bcache;	/* data blocks; NULL: none */
	uint64_t		 epoch;
	/*
	 * engine.c: prefixes whose records get content filters; an entry
	 * is written under the engine lock before cf_n (release) counts it,
	 * and never changes after
	 */
	struct sst_prefix	 cf_prefix[ENGINE_CF_PREFIX_MAX];
	_Atomic size_t		 cf_n;

	/*
	 * engine.c: the engine lock, and the state every stage shares
	 * under it: the memtables (engine_write.c freezes, engine_flush.c
	 * and engine_follow.c drop), the current version (installed by
	 * engine_flush.c and engine_follow.c), the seqs (engine_write.c
	 * assigns, engine_wal.c makes durable), fenced (engine_recover.c)
	 * and what closing sets (engine.c).
	 */
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;		/* any state change (L) */
	struct memtable		*mem;		/* (L) active */
	struct frozen		*frozen;	/* (L) oldest first */
	size_t			 nfrozen;
	struct version		*ver;		/* (L) current */
	uint64_t		 last_seq;	/* (L) last assigned */
	uint64_t		 durable_seq;	/* (L) */
	uint64_t		 unflushed;	/* (L) bytes not durable or not in tables */
	int			 fenced;	/* (L) sticky */
	int			 stopping;	/* (L) threads exit */
	int			 abandon;	/* (L) closing gave up: stop retrying */
	int64_t			 close_due;	/* (L) mono ns: engine_close_within ends; 0 none */

	/* engine.c: the threads engine_open starts and engine_close joins */
	pthread_t		 t_sealer, t_uploader[WAL_UPLOADERS], t_l0[L0_WRITERS],
				 t_poller;
	int			 threads;
	pthread_t		 t_gc;		/* the garbage collector (a writer's) */
	int			 gc_running;
	pthread_t		 t_follow;	/* follow_main (a reader's) */
	int			 following;

	struct engine_write_state write;	/* engine_write.c (L) */
	struct engine_wal_state	 wal;		/* engine_wal.c (L) */

	/* engine_flush.c: manifest commits, one at a time */
	pthread_mutex_t		 commit_lock;	/* held across the store call */

	/* engine_version.c */
	pthread_mutex_t		 tables_lock;	/* after lock, if both */
	struct engine_tables_state tables;	/* tables_lock */

	/* compact.c */
	pthread_rwlock_t	 filter_lock;	/* held around each filter call */
	struct engine_compact_state compact;

	struct engine_follow_state follow;	/* engine_follow.c */
	struct engine_ckpt_state ckpt;		/* checkpoint.c */
};

/* engine.c */
/* engine_close's last step: free every resource of e, its threads stopped. */
void	engine_free(struct engine *e);
/* The current version's shape as metrics. (L) */
void	set_shape_metrics_locked(struct engine *e);

/* engine_version.c */
void	version_ref(struct version *v);
void	version_unref(struct version *v);
int	version_new(struct engine *e, const struct manifest *m,
	    const struct version *old, struct version **out);
void	version_retire(struct engine *e, struct version *v,
	    int64_t superseded_ms);
/* Whether this process still needs the table at key (a gc_pin.held). */
int	table_held(void *arg, const char *key);
void	pending_add(struct engine *e, const char *key, uint64_t cache_id);
uint64_t pending_cache_id(struct engine *e, const char *key);
void	pending_remove(struct engine *e, const char *key);

/* engine_recover.c */
int	manifest_put(struct engine *e, const struct manifest *m);
void	fence_locked(struct engine *e, const char *why);
void	fence_writer(struct engine *e, const char *why);

struct wal_header;

/* Applying WAL objects: at open (replay), or following (follow_wal). */
struct replay {
	struct engine	*e;
	uint64_t	 max_seq;
	/* the object being applied: its header, filled before any batch */
	const struct wal_header *h;
	int		 follow;	/* following: report each record */
	struct engine_applier apply[ENGINE_APPLY_MAX];	/* to whom, as of the batch at hand */
	uint64_t	 id;		/* the id it must carry */
	uint64_t	 epoch;		/* it is skipped below this epoch */
};

/* Apply WAL object id: 0, -ENOENT, -EAGAIN (reader behind), or an error. */
int	replay_one(struct engine *e, uint64_t id, uint64_t *epoch,
	    struct replay *r, int *fence);
/* At open: the newest manifest as the first version (a writer's epoch). */
int	epoch_claim(struct engine *e);
/* At open, after claim: the WAL into the memtable; sets next_wal_id. */
int	replay_wal(struct engine *e);

/* engine_write.c */
/* Since when (mono ns) every attempt to store failed; 0: none. (L) */
int64_t	failing_since_locked(const struct engine *e);
/* An attempt to store (failed or not) of what `since` tracks. (L) */
void	note_store_locked(struct engine *e, int64_t *since, int failed);
/* After a failed attempt: wait before the next, the delay doubling. (L) */
void	pause_locked(struct engine *e, int64_t *backoff, const char *what,
	    int rc);
/* A bulk write ended: whole values in the WAL again. (L) */
void	bulk_end_locked(struct engine *e);
/* Make every memtable an L0 table: 0, or SHALE_EFENCED / -ESHUTDOWN. */
int	flush_memtables(struct engine *e);
/* Seal what is written and wait until stored (timeout_ms < 0: no limit). */
int	flush_within(struct engine *e, int64_t timeout_ms);

/* engine_wal.c */
/* Move walbuf to the upload queue as a WAL object. (L) */
void	seal_locked(struct engine *e);
void	*sealer_main(void *arg);
void	*uploader_main(void *arg);

/* engine_flush.c */
int	table_store(struct engine *e, struct sst_builder **sb, struct buf *tbl,
	    struct manifest_run *out);
void	table_describe(struct manifest_table *mt, const char *key, size_t size,
	    const struct sst_info *info);
int	commit_edit(struct engine *e, manifest_edit_fn edit, void *arg);
void	*l0_main(void *arg);

/* engine_follow.c */
void	*poller_main(void *arg);
void	*follow_main(void *arg);

/* engine_read.c: iterators the compactor merges with */
struct iter *merge_iter_new(struct iter **c, size_t n);
/* The tables of one sorted run, one open at a time (fill: sst_iter_new_fill). */
/* The options tables are built with: the settings', and the prefixes. */
void	engine_sst_options(struct engine *e, struct sst_options *so);
struct iter *run_iter_new(struct table **t, const struct manifest_run *r,
	    int fill);

/* checkpoint.c: a reader pins the versions it still reads */
void	ckpt_init(struct engine *e);
void	ckpt_update(struct engine *e);
/* 0, or 1: the removal outlived close_due and will free e (engine_free) */
int	ckpt_close(struct engine *e);

/* compact.c */
void	compactor_start(struct engine *e);
void	compactor_stop(struct engine *e);

#endif
