/*
 * chunk.h - the sample chunk of a metric series: up to CHUNK_MAX_SAMPLES
 * samples (a millisecond timestamp and a float64 value) of one series,
 * compressed as in Facebook's Gorilla and Prometheus's XOR chunks:
 * timestamps as deltas of deltas, values as the XOR of the previous
 * value's bits. The bytes are in shale-format(5), SERIES CHUNKS.
 *
 * An encoder takes samples in strictly increasing time and gives the
 * chunk's bytes at any point: a chunk that is still growing (a series'
 * head chunk) is stored as it is and read back whole. A chunk ends at
 * CHUNK_MAX_SAMPLES samples or when a sample is CHUNK_MAX_SPAN_MS or more
 * after the first; the caller then starts the next one.
 *
 * What it does not do: decide about samples out of order or at a time
 * already taken (the series above refuses or drops them before they get
 * here); know which series a chunk belongs to; merge chunks. Values are
 * kept bit for bit, whatever they are: the stale marker
 * (CHUNK_STALE_NAN), other NaNs, -0.0 and the infinities come back with
 * the bits they went in with.
 *
 * An iterator reads a chunk's bytes in order, checking them as it goes:
 * whatever the bytes, it reads none past the length it was given, ends
 * after at most CHUNK_MAX_SAMPLES samples, and every sample it returns
 * has a timestamp greater than the one before. Damage is SHALE_ECORRUPT
 * with an err_set() detail, and the iterator stays failed. A chunk cut
 * short gives the samples its bytes hold, then SHALE_ECORRUPT.
 *
 * Threading: none inside. An encoder or an iterator belongs to one thread
 * at a time; any number of iterators may read the same bytes at once.
 *
 * Memory: an encoder owns its bytes; chunk_enc_bytes() lends them until
 * the next chunk_enc_append(), chunk_enc_reset() or chunk_enc_release().
 * An iterator reads the caller's bytes, which must stay unchanged while
 * it is used; it allocates nothing and needs no release.
 */
#ifndef SHALE_CHUNK_H
#define SHALE_CHUNK_H

#include <stddef.h>
#include <stdint.h>

#include "util/bits.h"
#include "util/buf.h"

#define CHUNK_VERSION		2	/* what the encoder writes; 1 is read too */
#define CHUNK_SCALE_MAX		15	/* decimal values: 10^0 .. 10^15 */
#define CHUNK_MAX_SAMPLES	120
#define CHUNK_MAX_SPAN_MS	((int64_t)2 * 3600 * 1000)	/* last_t - first_t < this */
/*
 * A ceiling no chunk reaches: 23 bytes of header, then at most 159 bits
 * for the second sample and 148 for each later one.
 */
#define CHUNK_MAX_BYTES		2304
#define CHUNK_WINDOW_HISTORY	4	/* XORs a new value window is made for */
/* Prometheus's staleness marker: a NaN no computation produces. */
#define CHUNK_STALE_NAN		UINT64_C(0x7ff0000000000002)

struct chunk_enc {
	struct buf		 buf;		/* the chunk's bytes */
	struct bits_writer	 bits;		/* over buf, after the header */
	unsigned		 count;
	int64_t			 first_t;
	int64_t			 last_t;
	uint64_t		 last_delta;	/* last_t - previous t */
	uint64_t		 last_v;	/* the bits of the last value */
	unsigned		 lead;		/* the XOR window: leading zeros */
	unsigned		 sig;		/* and meaningful bits; 0 for none */
	unsigned		 hist_n;	/* XORs not 0 so far */
	unsigned		 scale;		/* decimal values: the power of ten */
	uint8_t			 hist_lead[CHUNK_WINDOW_HISTORY];	/* the last ones' */
	uint8_t			 hist_trail[CHUNK_WINDOW_HISTORY];
};

void	chunk_enc_init(struct chunk_enc *e);
void	chunk_enc_release(struct chunk_enc *e);
/* Make dst (initialised) a copy of src with bytes of its own. */
void	chunk_enc_copy(struct chunk_enc *dst, const struct chunk_enc *src);
/* Empty again, for the next chunk; keeps the memory. */
void	chunk_enc_reset(struct chunk_enc *e);
/*
 * Add a sample: 0; -EINVAL if t_ms is not after the last sample's (the
 * chunk is unchanged); -ENOSPC if the chunk is full: it has
 * CHUNK_MAX_SAMPLES samples, or t_ms is CHUNK_MAX_SPAN_MS or more after
 * its first sample. -EINVAL is checked first.
 */
int	chunk_enc_append(struct chunk_enc *e, int64_t t_ms, double v);
/* The chunk's bytes so far (an empty chunk has 2); see Memory above. */
const uint8_t *chunk_enc_bytes(const struct chunk_enc *e, size_t *lenp);
unsigned chunk_enc_count(const struct chunk_enc *e);
/* The first and the last sample's timestamps; 0 while the chunk is empty. */
int64_t	chunk_enc_first_t(const struct chunk_enc *e);
int64_t	chunk_enc_last_t(const struct chunk_enc *e);

struct chunk_iter {
	struct bits_reader	 bits;		/* the bit stream, after the header */
	unsigned		 count;		/* samples in the chunk */
	unsigned		 done;		/* samples returned */
	int			 err;		/* sticky: 0 or SHALE_ECORRUPT */
	int			 at_end;	/* 0 was returned */
	int64_t			 t;		/* the current sample */
	uint64_t		 v;
	uint64_t		 delta;
	unsigned		 lead;
	unsigned		 sig;
	unsigned		 version;	/* of the chunk's format */
	unsigned		 scale;		/* decimal values: the power of ten */
	/*
	 * v's integer at m_scale when a decimal step made v: what
	 * decimal() would find again (the encoder found the step's value
	 * so), kept to spare the next step that work
	 */
	int64_t			 m;
	unsigned		 m_scale;
	int			 m_ok;
};

/*
 * Start reading the chunk in data[0..len): 0, or SHALE_ECORRUPT if its
 * header is damaged (then every chunk_iter_next() returns that too).
 */
int	chunk_iter_init(struct chunk_iter *it, const void *data, size_t len);
/* Samples in the chunk, as its header says (0 after a damaged header). */
unsigned chunk_iter_count(const struct chunk_iter *it);
/*
 * The next sample into *t and *v: 1; 0 at the end; SHALE_ECORRUPT if the
 * bytes are damaged. After 0 or an error it returns the same again.
 */
int	chunk_iter_next(struct chunk_iter *it, int64_t *t, double *v);
/*
 * Move to the first sample at or after t and return it as
 * chunk_iter_next() does. Only forwards: if the sample the last call
 * returned is at or after t already, it is returned again; before any
 * sample, it is looked for from the first.
 */
int	chunk_iter_seek(struct chunk_iter *it, int64_t t, int64_t *tp,
	    double *vp);

#endif
