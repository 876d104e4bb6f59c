/*
 * gc.h - the garbage collector: delete the manifests, WAL objects and
 * tables that no reader may still need.
 *
 * A store holds manifest/<id> (manifest.h), wal/<id>.wal (wal.h) and
 * tables under compacted/ (<name>.sst). Each manifest version lists the
 * tables of the store and the WAL replay point; when a new version drops a
 * table (compaction) or moves the replay point (an L0 flush), the old
 * table, the WAL objects below the point and in time the old manifest are
 * garbage. gc_run() finds and deletes them once:
 *
 *   1. List manifest/. The newest version L is current. Any other version
 *      N stopped being current when its successor (the next stored id) was
 *      written: superseded(N) = the successor's created_ms.
 *   2. Each kind has a cutoff, now - its min_age (gc_compacted, gc_wal,
 *      gc_manifest in engine_settings). The versions that protect tables,
 *      P_t, are L, every N with superseded(N) >= now - compacted min_age
 *      (a reader may have opened it a moment before it was superseded) and
 *      every version named by a checkpoint of L with expire_ms > now. P_w,
 *      for the WAL, is the same with the WAL's min_age.
 *   3. compacted/<name>.sst is deleted iff no version of P_t lists it (in
 *      L0 or a sorted run), the caller did not pin it, and its object was
 *      written at least min_age ago (so a table uploaded for a manifest
 *      not yet committed survives).
 *   4. wal/<id>.wal is deleted iff id is below the wal_replay_from of every
 *      version of P_w, below pin->wal_from (when set), and its object was
 *      written at least the WAL's min_age ago.
 *   5. manifest/<N> is deleted iff N is not L, not in P_t or P_w, named by
 *      no unexpired checkpoint of L, and superseded(N) is at least the
 *      manifests' min_age ago.
 *
 * Manifests are read from the newest down, and only as far as the tables'
 * and the WAL's windows reach; below them gc takes the versions to have
 * been superseded no later than the last one it read (created_ms grows
 * with the id while writers' clocks agree: skew between writers shortens
 * or lengthens every window by the skew, so min_age must exceed it). Where
 * the manifests' window reaches further, gc finds its edge by bisection,
 * reading a few versions instead of all. Checkpointed versions are read
 * directly.
 *
 * A reader outside this process is protected for min_age after the
 * version it uses was superseded; one that keeps a version longer must
 * hold a checkpoint (an engine reader does: checkpoint.c). Likewise a table must be committed within min_age of
 * its upload. Within the calling process, `pin` names what its live
 * versions still read.
 *
 * Object ages come from the listing (seconds); an object whose time the
 * store does not give is never old enough.
 *
 * Soundness before progress: when a version gc needs cannot be read (it
 * fails to decode, or was deleted since the listing), gc deletes nothing
 * of each kind that version protects (the tables, the WAL) and returns the
 * error; manifests are only deleted where their age is proven. Keys gc
 * does not recognise are left alone. gc reads only listings and manifests
 * and writes only deletions, and by the rules above it is safe beside a
 * running writer and readers, in this process or others.
 *
 * Deletions go in batches; a batch that fails is retried key by key, and
 * each key that still fails counts in `errors` and is tried again on the
 * next run. Metrics (metrics_global()): engine_gc_runs_total,
 * engine_gc_deleted_total{kind="manifest|wal|table"} and
 * engine_gc_deleted_bytes_total.
 *
 * Thread-safe as far as the object store is: gc_run() keeps no state
 * between calls and takes no lock of the engine's.
 */
#ifndef SHALE_GC_H
#define SHALE_GC_H

#include <stddef.h>
#include <stdint.h>

#include "engine/objstore/objstore.h"
#include "engine/lsm/settings.h"

/* What the calling process itself still reads; borrowed for the call. */
struct gc_pin {
	char		**tables;	/* table keys held open by live versions */
	size_t		  ntables;
	uint64_t	  wal_from;	/* keep WAL ids >= this; 0: no pin */
	/*
	 * Asked, if not NULL, about each table that would be deleted, at
	 * that moment (after the manifests were read and the table listed):
	 * non-zero keeps it. A process that uploads tables before it commits
	 * them answers for those in between, so min_age need not cover it.
	 */
	int		(*held)(void *arg, const char *key);
	void		 *held_arg;
};

/* One run, added up: deleted (or, with dry_run, to be deleted). */
struct gc_report {
	uint64_t	 manifests;
	uint64_t	 wals;
	uint64_t	 tables;
	uint64_t	 bytes;		/* of all of the above */
	uint64_t	 kept_young;	/* garbage but for its age */
	uint64_t	 errors;	/* failed deletes, unreadable manifests or listings */
};

/*
 * Called for each object deleted (with dry_run: each that would be), with
 * its size and a few words saying why; `key` and `why` are valid only for
 * the call.
 */
typedef void (*gc_each_fn)(void *arg, const char *key, uint64_t size,
    const char *why);

/*
 * Collect `os` once, as of now_ms (0: the wall clock), keeping what `pin`
 * names (NULL: nothing pinned). With dry_run nothing is deleted, and fn and
 * *r see what would be. fn may be NULL; *r is zeroed first. Returns 0, or
 * the first error (with its detail) after doing all that could soundly be
 * done.
 */
int	gc_run(struct objstore *os, const struct engine_settings *s,
	    int64_t now_ms, const struct gc_pin *pin, int dry_run,
	    gc_each_fn fn, void *arg, struct gc_report *r);

#endif
