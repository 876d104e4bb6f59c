/*
 * fsck.h - checking a store from the outside, as 'shale fsck' and
 * 'shale inspect STORE check' do.
 *
 * fsck_store() finds the newest manifest (by listing: no mirror) and the
 * versions its unexpired checkpoints pin, and checks what they depend on:
 *
 *   tables     every table they reference exists with its recorded size;
 *              unless FSCK_QUICK, it opens, every data block is read (the
 *              table layer checks each block's CRC-32C and decompresses
 *              it), its records are in strictly increasing order, and
 *              their count, sequence range and first and last user key
 *              are what the manifest records; the tables of each sorted
 *              run are in key order with disjoint ranges
 *   WAL        every WAL object from the lowest replay point of those
 *              manifests decodes (its CRCs, its id), and sequence numbers
 *              do not go backwards from one object to the next (objects
 *              of an older writer that replay skips are left out of that)
 *   garbage    tables under compacted/ that none of them references, WAL
 *              objects below that replay point and older manifests that
 *              no checkpoint pins are counted, not reported as damage
 *
 * It only reads: it never opens the engine, writes nothing and fences
 * nobody, so it may run beside a writer. What a writer changes meanwhile
 * is allowed for: a table found missing is reported only if the newest
 * manifest, read again at the end, still references it; a WAL object gone
 * since it was listed is passed over; compacted/ is listed before the
 * manifest is read, so only a table whose manifest is not yet committed
 * can be counted as garbage while it is in use.
 *
 * Each problem is one line on `out` as it is found ("damaged: ...",
 * "missing: ...", "mismatch: ..."), then a summary. One thread; it uses
 * the calling thread's error detail.
 */
#ifndef SHALE_FSCK_H
#define SHALE_FSCK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/objstore/objstore.h"
#include "engine/lsm/wal.h"

enum {
	FSCK_QUICK	= 1 << 0,	/* tables: existence and size only */
	FSCK_VERBOSE	= 1 << 1,	/* list every unreferenced object */
};

/*
 * Check the store. 0 when the check ran to its end, with the number of
 * problems in *problems (an unreadable newest manifest is one); a negative
 * code, with a detail, when the object store failed (nothing is said of
 * the objects it could not read) or the store holds no manifest (-ENOENT).
 */
int	fsck_store(struct objstore *os, int flags, FILE *out,
	    uint64_t *problems);

/* One WAL object as fsck_wal_walk() read it. */
struct fsck_wal {
	const char	*key;
	uint64_t	 id;
	size_t		 size;		/* bytes stored */
	struct wal_header h;		/* the rest is zero when it did not decode */
	uint64_t	 batches;
	uint64_t	 records;
	uint64_t	 first_seq;	/* of its first record, 0 if it has none */
	uint64_t	 last_seq;	/* of its last record */
};

/*
 * Called for each object with rc 0, or the error that decoding it gave
 * (SHALE_ECORRUPT, its detail naming the object); `w` is valid during the
 * call only. A non-zero return stops the walk and is returned.
 */
typedef int (*fsck_wal_fn)(void *arg, const struct fsck_wal *w, int rc);

/*
 * Read every WAL object whose id is at least `from`, in id order, and
 * decode it in full. An object that is gone by the time it is read is
 * passed over. 0, fn's non-zero return, or an object store error.
 */
int	fsck_wal_walk(struct objstore *os, uint64_t from, fsck_wal_fn fn,
	    void *arg);

#endif
