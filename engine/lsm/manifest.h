/*
 * manifest.h - the manifest: which tables make up the store, and where the
 * write-ahead log starts.
 *
 * Each version is a whole snapshot in its own object, manifest/<20-digit
 * id>, created with put_if_absent of the next id, so that two writers can
 * never both commit the same version. It is JSON (written and read with
 * jansson) so that a person can read it with 'shale store get'; the fields
 * are in shale-format(5). Byte strings (keys) are base64.
 *
 * Decoding trusts nothing: wrong types, missing fields, a bad base64 key or
 * an unknown format version are SHALE_ECORRUPT with a detail naming the
 * object. Pure functions: thread-safe.
 */
#ifndef SHALE_MANIFEST_H
#define SHALE_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "engine/lsm/layout.h"
#include "util/buf.h"

#define MANIFEST_FORMAT 1

/* A table the store holds. */
struct manifest_table {
	char		*key;		/* object key, e.g. compacted/<id>.sst */
	uint64_t	 size;
	uint64_t	 entries;
	uint64_t	 min_seq;
	uint64_t	 max_seq;
	int64_t		 min_expire;	/* as in sst_info */
	int64_t		 max_expire;
	uint8_t		*first_key;	/* smallest user key */
	size_t		 first_klen;
	uint8_t		*last_key;	/* largest user key */
	size_t		 last_klen;
};

/* A sorted run: tables with disjoint key ranges, in key order. */
struct manifest_run {
	uint64_t		 id;
	struct manifest_table	*tables;
	size_t			 ntables;
};

/* A reader's pin: GC keeps what manifest `manifest_id` references until `expire_ms`. */
struct manifest_checkpoint {
	char		*id;
	uint64_t	 manifest_id;
	int64_t		 expire_ms;
};

struct manifest {
	uint64_t	 id;		/* this version */
	uint64_t	 writer_epoch;
	uint64_t	 wal_replay_from; /* first WAL id whose records may be in no table */
	uint64_t	 last_seq;	/* largest seq in the tables */
	int64_t		 created_ms;	/* wall clock when written */
	struct manifest_table *l0;	/* newest first */
	size_t		 nl0;
	struct manifest_run *runs;	/* newest first */
	size_t		 nruns;
	struct manifest_checkpoint *checkpoints;
	size_t		 ncheckpoints;
};

void	manifest_init(struct manifest *m);	/* empty: id 0, epoch 0, replay from 1 */
void	manifest_release(struct manifest *m);
/* A deep copy into dst (initialised or released by the caller). */
void	manifest_copy(struct manifest *dst, const struct manifest *src);

int	manifest_encode(const struct manifest *m, struct buf *out);
int	manifest_decode(const void *data, size_t n, const char *name,
	    struct manifest *m);

/*
 * Drop the checkpoints that have expired by now_ms (expire_ms <= now_ms),
 * keeping the others in order. Returns how many went.
 */
size_t	manifest_expire_checkpoints(struct manifest *m, int64_t now_ms);
/*
 * Make m (released first) the version after `base`: a copy of it with the
 * next id, created at now_ms but never before base (the collector reads
 * ages from the ids' order), expired checkpoints dropped.
 */
void	manifest_successor(struct manifest *m, const struct manifest *base,
	    int64_t now_ms);

/*
 * L0 as chains of tables with disjoint ranges, each in key order, as few
 * as can be: the count returned, which is L0's depth, the most L0 tables
 * whose ranges ([first_key, last_key]) hold one key, what a read may have
 * to look in. A flush cuts its memtable into tables of disjoint ranges,
 * so the depth counts flushes, not tables, where every flush writes a key
 * that the others also write. order[k] (nl0 long) is the index in m->l0
 * of the k-th table in key order and chain[k] its chain; either may be
 * NULL. A table without a range is a chain by itself: it may hold any
 * key.
 */
size_t	manifest_l0_chains(const struct manifest *m, size_t *order,
	    size_t *chain);

/* Deep copy of one table description. */
void	manifest_table_copy(struct manifest_table *dst, const struct manifest_table *src);
void	manifest_table_release(struct manifest_table *t);


#endif
