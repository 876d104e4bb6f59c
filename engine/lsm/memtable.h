/*
 * memtable.h - the in-memory table of recent records: a skiplist in kv
 * order (key ascending, seq descending).
 *
 * Records are copied into an arena owned by the memtable and freed with
 * it; pointers handed out (memtable_get, iterator entries) stay valid as
 * long as the caller holds a reference.
 *
 * Threading: one writer at a time (the caller serialises memtable_add), and
 * any number of readers and iterators concurrently with it, without locks:
 * a reader sees each record either wholly or not at all. References are
 * atomic.
 */
#ifndef SHALE_MEMTABLE_H
#define SHALE_MEMTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/lsm/kv.h"

struct memtable;

struct memtable *memtable_new(void);		/* one reference */
void	memtable_ref(struct memtable *m);
void	memtable_unref(struct memtable *m);	/* frees at zero */

/* Add a copy of the record. (key, seq) must be new to the table. */
void	memtable_add(struct memtable *m, const struct kv_entry *e);
/* Memory the records use, arena overhead included. */
size_t	memtable_bytes(const struct memtable *m);
uint64_t memtable_entries(const struct memtable *m);
/* Smallest and largest seq added; 0 if empty. */
uint64_t memtable_min_seq(const struct memtable *m);
uint64_t memtable_max_seq(const struct memtable *m);

/* The newest record of key with seq <= max_seq: 0, or -ENOENT. */
int	memtable_get(struct memtable *m, const void *key, size_t klen,
	    uint64_t max_seq, struct kv_entry *out);
/* An iterator; it holds a reference to the memtable until freed. */
struct iter *memtable_iter_new(struct memtable *m);

#endif
