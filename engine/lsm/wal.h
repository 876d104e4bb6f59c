/*
 * wal.h - write-ahead log objects: how batches of records are written to
 * the object store before they are in a table.
 *
 * One WAL object (wal/<20-digit id>.wal) is a header (magic, format
 * version, flags, writer epoch, WAL id, CRC-32C) followed by batches; each
 * batch has a length, a CRC-32C, its first sequence number, a count and its
 * records (kind, expiry, key, value), whose sequence numbers follow one
 * another; a trailer (the number of batches and a CRC-32C of everything
 * before it) ends the object, so that an object cut short anywhere, even
 * between batches, is detected. A fence object is a header with the FENCE
 * flag and a trailer, and no batches. With the ZSTD flag, what follows the
 * header is one zstd frame holding the batches and the trailer (whose CRC
 * covers the header as stored). The byte format is in shale-format(5).
 *
 * Decoding checks everything: a bad header, a batch whose CRC does not
 * match, a length past the end or a record that does not parse is
 * SHALE_ECORRUPT with a detail naming the object and the offset, and no
 * batch after the damage (nor the damaged one) is delivered: in fact the
 * whole object is checked before the first batch is. Pure functions:
 * thread-safe.
 */
#ifndef SHALE_WAL_H
#define SHALE_WAL_H

#include <stddef.h>
#include <stdint.h>

#include "engine/lsm/kv.h"
#include "engine/lsm/layout.h"
#include "util/buf.h"

struct wal_header {
	uint64_t	wal_id;
	uint64_t	epoch;
	int		fence;
	int		zstd;		/* batches and trailer stored as one zstd frame */
	int		stubs;		/* may hold stubs (WAL_STUB) */
};

/*
 * A record's kind in a WAL object may also be WAL_STUB: a put whose value
 * is not in the object, only its length (vlen; val is NULL). A writer
 * stores stubs for the big values of a bulk write, whose values reach the
 * store in an L0 table instead (engine.c, "Bulk writes"); a stub's value
 * is found by its key in the tables of a manifest whose last_seq is at
 * least the stub's seq.
 */
#define WAL_STUB	2

/*
 * An object is built in one buf, from its first byte: wal_encode_header(),
 * wal_encode_batch() for each batch (none for a fence), wal_encode_end().
 * Each returns -EFBIG, leaving `out` as it was, if the buf's ceiling
 * refuses the bytes.
 */
/* Start an object: append its header to `out`. */
int	wal_encode_header(struct buf *out, const struct wal_header *h);
/*
 * Append one batch of n records; their sequence numbers are first_seq,
 * first_seq + 1, ... (the entries' own seq fields are ignored). In one
 * object each batch's first_seq must be above the last seq of the batch
 * before (gaps are allowed): wal_decode() refuses the object otherwise.
 * -EINVAL for n == 0, a key or value over the limits in kv.h, a kind that
 * is not KV_PUT, KV_DELETE or WAL_STUB, a negative expiry, a put with a NULL value
 * and a non-zero vlen, or seqs outside 1..KV_SEQ_MAX; -EFBIG for a batch
 * body over 4 GiB.
 */
int	wal_encode_batch(struct buf *out, uint64_t first_seq,
	    const struct kv_entry *e, size_t n);
/* Bytes wal_encode_batch would append for these (valid) records. */
size_t	wal_batch_size(const struct kv_entry *e, size_t n);
/*
 * Finish the object, which must be the whole of `out`: append the trailer.
 * -EINVAL if `out` is not a header followed by whole batches (or is a
 * fence with batches).
 */
int	wal_encode_end(struct buf *out);
/*
 * Compress a finished object whose header has the zstd flag: everything
 * after the header becomes one zstd frame (with its content size and
 * checksum) at `level`. wal_decode() reads either form.
 */
int	wal_compress(struct buf *obj, int level);
/*
 * The same into `out` (reset first), leaving obj as it is; a buffer kept
 * for the next object saves growing a new one each time.
 */
int	wal_compress_to(const struct buf *obj, struct buf *out, int level);
/* The most an object may hold once decompressed. */
#define WAL_PLAIN_MAX	((size_t)1 << 30)
/* Bytes of a header plus a trailer: the size of a fence object. */
#define WAL_OVERHEAD	48

/* Called for each batch in order; entries are valid during the call only. */
typedef int (*wal_batch_fn)(void *arg, uint64_t first_seq,
	    const struct kv_entry *e, size_t n);

/*
 * Decode a whole object: check all of it, fill *h, then call fn for every
 * batch in order (the entries point into `data`). A non-zero return from
 * fn stops decoding and is returned. h and fn may be NULL: with neither,
 * the object is only checked. `name` is for errors.
 */
int	wal_decode(const void *data, size_t n, const char *name,
	    struct wal_header *h, wal_batch_fn fn, void *arg);

/* Check and decode the header only: what wal_decode would fill *h with. */
int	wal_decode_header(const void *data, size_t n, const char *name,
	    struct wal_header *h);


#endif
