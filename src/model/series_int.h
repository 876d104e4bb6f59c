/*
 * series_int.h - the insides of the metric series (series.h), shared by
 * the module's files:
 *
 *	series.c	opening and closing, the dictionary and its postings,
 *			selecting, statistics, following a writer
 *	series_append.c	loading a series' state, the appender, sealing chunks
 *	series_text.c	reading samples and the text view, lines in and out
 *	series_meta.c	metadata and text import
 *
 * The dictionary (every series' id and label set) and the postings live
 * in memory, read once by series_open(). A series' sample state (where
 * its text ends, its newest sample, the head chunk being filled) is read
 * the first time the series is used: one seek to its last head sample or
 * chunk (series_load).
 *
 * Locks, in this order:
 *	append	one commit at a time: judging samples, allocating ids,
 *		the engine write; held across it, so that memory follows
 *		only what the engine took
 *	dict	(rwlock) the tables, the postings, next_id, the meta cache
 *	state	every struct sseries' sample state (the fields so marked)
 */
#ifndef SHALE_SERIES_INT_H
#define SHALE_SERIES_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "model/chunk.h"
#include "model/series.h"

struct engine;
struct engine_snapshot;
struct labels;
struct metric_series;

#define KEY_SERIES	0x02
#define SKEY_VERSION	0x01
#define SK_SERIES	'S'
#define SK_NEXT		'N'
#define SK_HEAD		'H'
#define SK_CHUNK	'C'
#define SK_INDEX	'X'
#define SK_META		'M'
#define SK_LATE		'O'

#define SKEY_ID_LEN	11		/* 02 01 kind id(8) */
#define SKEY_LEN	19		/* 02 01 kind id(8) t or off(8) */
#define HEAD_VAL_LEN	16		/* value bits(8) text offset(8) */
#define CHUNK_HDR_LEN	20		/* off(8) len(4) last_t(8), then the chunk */

struct sseries {
	uint64_t	 id;
	struct labels	*ls;
	uint64_t	 hash;			/* labels_hash */
	struct sseries	*hash_next;		/* dict */
	struct sseries	*id_next;		/* dict */
	int64_t		 s_expire;		/* append: the S record's expiry */
	int64_t		 retention;		/* ms its samples are kept; 0: for ever */

	/* state */
	int		 loaded;
	uint64_t	 gen;			/* bumped by the follower's applies */
	uint64_t	 end;			/* bytes of the text view */
	uint64_t	 head_off;		/* where the head's text starts */
	int64_t		 first_t;
	int64_t		 last_t;
	uint64_t	 last_v;		/* bits */
	int		 empty;			/* no sample at all */
	struct chunk_enc *head;			/* writer: the open chunk; append */
	unsigned	 head_n;		/* its samples, as last installed */
	int64_t		 h_after;		/* head samples after it have 'H' records */

	struct swork	*work;			/* append: this commit's */
};

/* A series' state as a commit changes it, installed once the engine took it. */
struct swork {
	struct sseries	*ss;			/* NULL: a series made by this commit */
	struct labels	*ls;			/* for a new series */
	uint64_t	 hash;			/* of ls */
	uint64_t	 id;
	uint64_t	 end;
	uint64_t	 head_off;
	int64_t		 first_t;
	int64_t		 last_t;
	uint64_t	 last_v;
	int		 empty;
	struct chunk_enc *hp;			/* the head worked on: the series' own
						 * (in place), or `head` for a new one */
	struct chunk_enc head;
	int64_t		 h_after;
	int64_t		 s_expire;
	int64_t		 retention;
	int		 changed;
};

/* name=value -> ids, in id order */
struct posting {
	char		*name;			/* name 00 value, one allocation */
	size_t		 name_len;
	const char	*value;
	size_t		 value_len;
	uint64_t	 hash;
	struct posting	*next;
	uint64_t	*ids;
	size_t		 n, cap;
};

struct lname {
	char		*name;
	size_t		 len;
	struct lname	*next;
	struct posting	**pairs;		/* its values */
	size_t		 n, cap;
};

struct meta_seen {
	char		*metric;
	uint64_t	 hash;			/* of the stored value */
	struct meta_seen *next;
};

/* A line of series_options.retention_filters: SELECTOR:DURATION */
struct retention_filter {
	struct selector	*sel;
	int64_t		 retention_ms;
};

struct series {
	struct engine	*e;
	int		 ro;
	struct series_options o;
	struct retention_filter *filters;
	size_t		 nfilters;

	pthread_mutex_t	 append;
	pthread_rwlock_t dict;
	pthread_mutex_t	 state;

	struct sseries	**by_hash;		/* dict */
	struct sseries	**by_id;
	size_t		 cap;			/* of both, a power of two */
	size_t		 count;
	uint64_t	 next_id;
	struct posting	**postings;		/* dict */
	size_t		 pcap, npostings;
	struct lname	**names;		/* dict */
	size_t		 ncap, nnames;
	struct meta_seen **meta;		/* dict */
	size_t		 mcap;
	pthread_mutex_t	 meta_lock;		/* one series_meta_put at a time */

	pthread_rwlock_t change_lock;		/* over calls of change_fn */
	series_change_fn change_fn;
	void		*change_arg;

	/* the head flusher: every SERIES_FLUSH_MS, heads into chunk records */
	pthread_t	 flusher;
	int		 flusher_started;
	pthread_mutex_t	 stop_lock;
	pthread_cond_t	 stop_cond;
	int		 stopping;		/* stop_lock */

	struct metric_series *m_series, *m_samples, *m_created, *m_ooo,
			*m_dup, *m_limit, *m_chunks, *m_loaded;
	/*
	 * The store may hold late samples ('O' records): found at open, or
	 * written or applied since. Until then a scan does not look for
	 * them, which saves it a seek a series. Only ever goes to 1.
	 */
	atomic_int	 lates;
};

/* series.c */
struct sseries *dict_find(struct series *s, const struct labels *ls,
	    uint64_t hash);
struct sseries *dict_by_id(struct series *s, uint64_t id);
void	dict_add(struct series *s, uint64_t id, struct labels *ls);
void	series_changed(struct series *s, uint64_t id);
int	series_errno(struct series *s, int rc);

/* keys: each returns its length */
size_t	skey_id(unsigned char *k, char kind, uint64_t id);
size_t	skey_t(unsigned char *k, char kind, uint64_t id, int64_t t);
size_t	skey_off(unsigned char *k, uint64_t id, uint64_t off);
uint64_t skey_u64(const unsigned char *p);
int64_t	skey_time(const unsigned char *p);

/* series_append.c */
int	series_load(struct series *s, struct sseries *ss);
void	*series_flusher(void *arg);
int64_t	series_expiry(int64_t retention, int64_t t);
int64_t	series_retention(const struct series *s, const struct labels *ls);

/* series_text.c */
size_t	series_line_len(int64_t t, uint64_t bits);
int	series_has_at(struct series *s, uint64_t id, int64_t t);
int	series_chunk_at(struct series *s, uint64_t id, int64_t t,
	    uint64_t *bits);

#endif
