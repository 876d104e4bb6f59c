/*
 * series_append.c - a series' sample state, and appending: the appender,
 * judging samples as Prometheus's head does, sealing full head chunks,
 * and making series (series.h, series_int.h).
 *
 * A commit, under the append lock:
 *	1. each entry is matched to its series, or to one this commit
 *	   makes (an id from next_id, an 'S' record in the batch);
 *	2. each series touched is loaded (series_load) and copied into a
 *	   struct swork, where its samples are judged and encoded: a
 *	   sample taken is an 'H' record; a head chunk that cannot take
 *	   the next sample is sealed first ('C' and 'X' records, and its
 *	   'H' records deleted);
 *	3. the batch goes to the engine in one engine_write;
 *	4. only then does memory follow: the works are installed under
 *	   the state lock, new series put into the dictionary.
 * A failed write leaves memory as it was, so the next commit judges
 * against what the store holds.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/lsm/engine.h"
#include "model/labels.h"
#include "model/matcher.h"
#include "model/series_int.h"
#include "util/clock.h"
#include "util/coding.h"
#include "util/error.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/xmalloc.h"

/* The expiry of a record whose newest sample is at t, kept `retention`. */
int64_t
series_expiry(int64_t retention, int64_t t)
{
	if (retention <= 0)
		return ENGINE_NO_EXPIRY;
	if (t > INT64_MAX - retention)
		return ENGINE_NO_EXPIRY;
	/* the engine takes 0 as "the default": a sample that old is gone */
	if (t + retention <= 0)
		return 1;
	return t + retention;
}

/*
 * How long the samples of the series named ls are kept: the retention
 * of the first filter that matches it, else series_options.retention.
 */
int64_t
series_retention(const struct series *s, const struct labels *ls)
{
	for (size_t i = 0; i < s->nfilters; i++)
		if (selector_matches(s->filters[i].sel, ls) == 1)
			return s->filters[i].retention_ms;
	return s->o.retention_ms;
}

/* ---- loading ---- */

/* The state of one series as the engine holds it, into w. */
static int
read_state(struct series *s, uint64_t id, int with_head, struct swork *w)
{
	unsigned char lo[SKEY_LEN], hi[SKEY_LEN];
	struct engine_snapshot *snap = engine_snapshot_new(s->e);
	struct engine_iter *it;
	const unsigned char *k, *v;
	size_t kl, vl;
	int rc;

	w->empty = 1;
	w->end = w->head_off = 0;
	w->first_t = w->last_t = 0;
	w->h_after = INT64_MIN;
	w->last_v = 0;
	chunk_enc_reset(&w->head);

	/* the last sealed chunk, and the first */
	skey_t(lo, SK_CHUNK, id, INT64_MIN);
	skey_t(hi, SK_CHUNK, id, INT64_MAX);
	it = engine_iter_new(s->e, snap, lo, SKEY_LEN, hi, SKEY_LEN);
	engine_iter_seek_last(it);
	if (engine_iter_valid(it)) {
		k = engine_iter_key(it, &kl);
		v = engine_iter_value(it, &vl);
		if (kl == SKEY_LEN && vl >= CHUNK_HDR_LEN) {
			struct chunk_iter ci;
			int64_t t;
			double x;
			int open;

			w->empty = 0;
			w->end = w->head_off = get_le64(v) + get_le32(v + 8);
			w->last_t = w->h_after = (int64_t)get_le64(v + 12);
			chunk_iter_init(&ci, v + CHUNK_HDR_LEN, vl - CHUNK_HDR_LEN);
			/*
			 * A chunk not full is a head that was flushed: it is
			 * the head again, and its seal rewrites its key
			 */
			open = with_head && chunk_iter_count(&ci) < CHUNK_MAX_SAMPLES;
			if (open)
				w->head_off = get_le64(v);
			while (chunk_iter_next(&ci, &t, &x) == 1) {
				w->last_v = double_bits(x);
				if (open)
					(void)chunk_enc_append(&w->head, t, x);
			}
		}
		engine_iter_seek_first(it);
		if (engine_iter_valid(it)) {
			k = engine_iter_key(it, &kl);
			w->first_t = skey_time(k + SKEY_ID_LEN);
		}
	}
	rc = engine_iter_status(it);
	engine_iter_free(it);
	if (rc != 0)
		goto out;

	/* the head samples, after it */
	skey_t(lo, SK_HEAD, id, INT64_MIN);
	skey_t(hi, SK_HEAD, id, INT64_MAX);
	it = engine_iter_new(s->e, snap, lo, SKEY_LEN, hi, SKEY_LEN);
	for (engine_iter_seek_first(it); engine_iter_valid(it);
	    engine_iter_next(it)) {
		int64_t t;
		uint64_t bits, off;

		k = engine_iter_key(it, &kl);
		v = engine_iter_value(it, &vl);
		if (kl != SKEY_LEN || vl != HEAD_VAL_LEN)
			continue;
		t = skey_time(k + SKEY_ID_LEN);
		bits = get_le64(v);
		off = get_le64(v + 8);
		if (!w->empty && t <= w->last_t)
			continue;	/* sealed already: cannot be, but harmless */
		if (chunk_enc_count(&w->head) == 0)
			w->head_off = off;
		if (with_head &&
		    chunk_enc_append(&w->head, t, bits_double(bits)) != 0) {
			/* a head longer than a chunk: seal it at the next append */
			log_warn("series %llu: a head chunk past its size",
			    (unsigned long long)id);
		}
		if (w->empty)
			w->first_t = t;
		w->empty = 0;
		w->last_t = t;
		w->last_v = bits;
		w->end = off + series_line_len(t, bits);
	}
	rc = engine_iter_status(it);
	engine_iter_free(it);
out:
	engine_snapshot_free(snap);
	return rc;
}

/*
 * Make sure ss's state is in memory: 0 or an engine error. Reads the
 * engine without a lock, then installs what it read unless someone
 * loaded it meanwhile or (a follower) a record of the series was
 * applied since: then it reads again.
 */
int
series_load(struct series *s, struct sseries *ss)
{
	struct swork w;
	uint64_t gen;
	int rc;

	memset(&w, 0, sizeof(w));
	chunk_enc_init(&w.head);
	for (;;) {
		pthread_mutex_lock(&s->state);
		if (ss->loaded) {
			pthread_mutex_unlock(&s->state);
			rc = 0;
			break;
		}
		gen = ss->gen;
		pthread_mutex_unlock(&s->state);
		if ((rc = read_state(s, ss->id, !s->ro, &w)) != 0)
			break;
		pthread_mutex_lock(&s->state);
		if (!ss->loaded && ss->gen == gen) {
			ss->loaded = 1;
			ss->empty = w.empty;
			ss->end = w.end;
			ss->head_off = w.head_off;
			ss->first_t = w.first_t;
			ss->last_t = w.last_t;
			ss->last_v = w.last_v;
			ss->h_after = w.h_after;
			if (!s->ro) {
				ss->head = xmalloc(sizeof(*ss->head));
				chunk_enc_init(ss->head);
				chunk_enc_copy(ss->head, &w.head);
				ss->head_n = chunk_enc_count(ss->head);
			}
			metric_add(s->m_loaded, 1);
		}
		pthread_mutex_unlock(&s->state);
	}
	chunk_enc_release(&w.head);
	return rc;
}

/* ---- the appender ---- */

struct entry {
	struct labels	*ls;			/* NULL: by id */
	uint64_t	 id;
	size_t		 first, n;		/* in a->samples */
};

struct series_appender {
	struct series	*s;
	struct entry	*v;
	size_t		 n, cap;
	struct series_sample *samples;
	size_t		 ns, scap;
	struct swork	**pool;			/* works; the commit's are the first nw */
	size_t		 nw, npool, pcap;
	struct swork	**fresh;		/* commit: series it makes, by hash */
	size_t		 nfresh, fcap;		/* fcap: 0 or a power of two */
};

struct series_appender *
series_appender_new(struct series *s)
{
	struct series_appender *a = xcalloc(1, sizeof(*a));

	a->s = s;
	return a;
}

static void
appender_clear(struct series_appender *a)
{
	for (size_t i = 0; i < a->n; i++)
		labels_free(a->v[i].ls);
	a->n = 0;
	a->ns = 0;
}

void
series_appender_free(struct series_appender *a)
{
	if (a == NULL)
		return;
	appender_clear(a);
	free(a->v);
	free(a->samples);
	for (size_t i = 0; i < a->npool; i++) {
		chunk_enc_release(&a->pool[i]->head);
		free(a->pool[i]);
	}
	free(a->pool);
	free(a->fresh);
	free(a);
}

static int
add(struct series_appender *a, struct labels *ls, uint64_t id,
    const struct series_sample *v, size_t n)
{
	struct entry *x;

	if (a->n == a->cap)
		a->v = xgrow(a->v, &a->cap, a->n + 1, sizeof(*a->v));
	if (a->ns + n > a->scap)
		a->samples = xgrow(a->samples, &a->scap, a->ns + n,
		    sizeof(*a->samples));
	x = &a->v[a->n++];
	x->ls = ls;
	x->id = id;
	x->first = a->ns;
	x->n = n;
	if (n > 0)
		memcpy(a->samples + a->ns, v, n * sizeof(*v));
	a->ns += n;
	return 0;
}

int
series_appender_add(struct series_appender *a, const struct labels *ls,
    const struct series_sample *v, size_t n)
{
	struct series *s = a->s;
	struct sseries *ss;

	/* a series known now is known at the commit: keep its id, not ls */
	pthread_rwlock_rdlock(&s->dict);
	ss = dict_find(s, ls, labels_hash(ls));
	pthread_rwlock_unlock(&s->dict);
	if (ss != NULL)
		return add(a, NULL, ss->id, v, n);
	return add(a, labels_dup(ls), 0, v, n);
}

int
series_appender_add_id(struct series_appender *a, uint64_t id,
    const struct series_sample *v, size_t n)
{
	return add(a, NULL, id, v, n);
}

/*
 * A work for this commit, from the appender's pool: works are reused
 * from commit to commit, so a commit of a scrape allocates nothing for
 * the series it already knows.
 */
static struct swork *
work_new(struct series_appender *a)
{
	struct swork *w;

	if (a->nw == a->npool) {
		a->pool = xgrow(a->pool, &a->pcap, a->npool + 1,
		    sizeof(*a->pool));
		w = xcalloc(1, sizeof(*w));
		chunk_enc_init(&w->head);
		a->pool[a->npool++] = w;
	}
	w = a->pool[a->nw++];
	w->hp = &w->head;
	return w;
}

/* Done with this commit's works: back to the pool. */
static void
works_free(struct series_appender *a)
{
	for (size_t i = 0; i < a->nw; i++) {
		struct swork *w = a->pool[i];
		struct chunk_enc keep = w->head;

		if (w->ss != NULL)
			w->ss->work = NULL;
		labels_free(w->ls);
		chunk_enc_reset(&keep);
		memset(w, 0, sizeof(*w));
		w->head = keep;
		w->head.bits.buf = &w->head.buf;
	}
	a->nw = 0;
	if (a->nfresh > 0)
		memset(a->fresh, 0, a->fcap * sizeof(*a->fresh));
	a->nfresh = 0;
}

/*
 * ss's loaded state to work on: its figures copied, its head encoder
 * itself (only commits and flushes, under the append lock, touch it).
 * (append)
 */
static void
work_from(struct series *s, struct swork *w, struct sseries *ss)
{
	pthread_mutex_lock(&s->state);
	w->ss = ss;
	w->id = ss->id;
	w->end = ss->end;
	w->head_off = ss->head_off;
	w->first_t = ss->first_t;
	w->last_t = ss->last_t;
	w->last_v = ss->last_v;
	w->empty = ss->empty;
	w->h_after = ss->h_after;
	w->s_expire = ss->s_expire;
	w->retention = ss->retention;
	w->hp = ss->head;
	pthread_mutex_unlock(&s->state);
}

/*
 * Is there a sample at t in w's head? 0 if not, 1 with these bits, -1
 * with others. The head holds this commit's samples too.
 */
static int
head_has(const struct swork *w, int64_t t, uint64_t bits)
{
	struct chunk_iter ci;
	const uint8_t *p;
	size_t len;
	int64_t ht;
	double hv;

	p = chunk_enc_bytes(w->hp, &len);
	if (chunk_iter_init(&ci, p, len) != 0)
		return 0;
	if (chunk_iter_seek(&ci, t, &ht, &hv) != 1 || ht != t)
		return 0;
	return double_bits(hv) == bits ? 1 : -1;
}

/*
 * Is there a sample at t with these bits in a sealed chunk of series
 * id? Asked only of a sample older than the newest, so a retried
 * request is told "duplicate", not "out of order": one seek.
 */
/* 1 if a chunk holds this sample, 0 if not, or the engine's error. */
static int
sealed_has(struct series *s, uint64_t id, int64_t t, uint64_t bits)
{
	uint64_t have;
	int rc;

	if ((rc = series_chunk_at(s, id, t, &have)) <= 0)
		return rc;
	return have == bits;
}

/*
 * Store w's head as a chunk record (with its offset entry) and delete
 * the head records of its samples that have them. With `full`, the
 * chunk is sealed and the head starts empty; else (a flush) it stays the
 * head, now stored as a chunk still growing.
 */
static void
store_head(struct series *s, struct swork *w, struct engine_batch *b,
    int full)
{
	unsigned char k[SKEY_LEN];
	struct chunk_iter ci;
	const uint8_t *p;
	size_t len;
	uint8_t *val;
	uint8_t idx[8];
	int64_t t, first = chunk_enc_first_t(w->hp);
	int64_t last = chunk_enc_last_t(w->hp);
	int64_t expire = series_expiry(w->retention, last);
	double x;

	p = chunk_enc_bytes(w->hp, &len);
	val = xmalloc(CHUNK_HDR_LEN + len);
	put_le64(val, w->head_off);
	put_le32(val + 8, (uint32_t)(w->end - w->head_off));
	put_le64(val + 12, (uint64_t)last);
	memcpy(val + CHUNK_HDR_LEN, p, len);
	skey_t(k, SK_CHUNK, w->id, first);
	engine_batch_put(b, k, SKEY_LEN, val, CHUNK_HDR_LEN + len, expire);
	free(val);
	put_le64(idx, (uint64_t)first);
	skey_off(k, w->id, w->head_off);
	engine_batch_put(b, k, SKEY_LEN, idx, 8, expire);
	chunk_iter_init(&ci, p, len);
	while (chunk_iter_next(&ci, &t, &x) == 1) {
		if (t <= w->h_after)
			continue;	/* stored by a flush: no record */
		skey_t(k, SK_HEAD, w->id, t);
		engine_batch_delete(b, k, SKEY_LEN);
	}
	w->h_after = last;
	if (full) {
		chunk_enc_reset(w->hp);
		w->head_off = w->end;
		metric_add(s->m_chunks, 1);
	}
}

/* The first refusal, for err_set() after the commit. */
struct refusal {
	int		 rc;
	char		 msg[512];
	int		 err;	/* the store failed a read: the commit fails */
};

/* A read that judging needs failed: nothing of the commit is written. */
static void
read_failed(struct refusal *r, const struct swork *w, int rc)
{
	if (r->err != 0)
		return;
	r->err = err_set(rc, "cannot read series %llu to judge a sample: "
	    "%s", (unsigned long long)w->id, err_message(rc));
}

static void
refuse(struct refusal *r, int rc, const struct swork *w, const char *why,
    int64_t t)
{
	struct buf b;

	if (r->rc != 0)
		return;
	r->rc = rc;
	buf_init(&b, 0);
	if (w->ss != NULL || w->ls != NULL)
		labels_file_name(w->ss != NULL ? w->ss->ls : w->ls, &b);
	snprintf(r->msg, sizeof(r->msg), "%s for series %s%s at %lld ms",
	    why, labels_metric(w->ss != NULL ? w->ss->ls : w->ls) ?
	    labels_metric(w->ss != NULL ? w->ss->ls : w->ls) : "",
	    buf_str(&b), (long long)t);
	buf_release(&b);
}

/*
 * A sample older than its series' newest, within the out-of-order
 * window: an 'O' record of its own, unless the series holds a sample
 * at t already (the same: a duplicate; another: a conflict). Late
 * samples are in scans, not in the text view, whose bytes never change
 * once written.
 */
static void
late(struct series *s, struct swork *w, int64_t t, uint64_t bits,
    struct engine_batch *b, struct series_counts *c, struct refusal *r)
{
	unsigned char k[SKEY_LEN];
	uint8_t val[8];
	struct buf have;
	int rc;

	if (w->ss != NULL && (rc = series_has_at(s, w->id, t)) != 0) {
		if (rc < 0) {
			read_failed(r, w, rc);
			return;
		}
		c->conflicts++;
		refuse(r, -EINVAL, w, "duplicate sample for timestamp", t);
		return;
	}
	buf_init(&have, 0);
	skey_t(k, SK_LATE, w->id, t);
	rc = w->ss != NULL ? engine_get(s->e, NULL, k, SKEY_LEN, &have) :
	    -ENOENT;
	if (rc != 0 && rc != -ENOENT) {
		buf_release(&have);
		read_failed(r, w, rc);
		return;
	}
	if (rc == 0 && have.len == 8) {
		if (get_le64((const uint8_t *)have.data) == bits)
			c->duplicates++;
		else {
			c->conflicts++;
			refuse(r, -EINVAL, w, "duplicate sample for timestamp",
			    t);
		}
		buf_release(&have);
		return;
	}
	buf_release(&have);
	put_le64(val, bits);
	/* before the batch is in: a scan from now on looks for it */
	atomic_store(&s->lates, 1);
	engine_batch_put(b, k, SKEY_LEN, val, 8, series_expiry(w->retention, t));
	w->changed = 1;
	c->samples++;
	c->late++;
}

/* Judge and encode one entry's samples into w and b. (append) */
static void
judge(struct series *s, struct swork *w, const struct series_sample *v,
    size_t n, struct engine_batch *b, struct series_counts *c,
    struct refusal *r)
{
	unsigned char k[SKEY_LEN];
	uint8_t val[HEAD_VAL_LEN];

	for (size_t i = 0; i < n; i++) {
		int64_t t = v[i].t;
		uint64_t bits = double_bits(v[i].v);
		int rc, hh, sh = 0;

		if (t == INT64_MIN || t == INT64_MAX) {
			/* the keys' bounds: no sample lives there */
			refuse(r, -EINVAL, w, "timestamp out of range", t);
			continue;
		}
		if (!w->empty && t <= w->last_t) {
			if (t == w->last_t && bits == w->last_v) {
				c->duplicates++;
			} else if (t == w->last_t) {
				c->conflicts++;
				refuse(r, -EINVAL, w, "duplicate sample for "
				    "timestamp", t);
			} else if ((hh = head_has(w, t, bits)) > 0 ||
			    (w->ss != NULL &&
			    (sh = sealed_has(s, w->id, t, bits)) != 0)) {
				if (hh <= 0 && sh < 0)
					read_failed(r, w, sh);
				else
					c->duplicates++;
			} else if (s->o.out_of_order_window_ms > 0 &&
			    (uint64_t)w->last_t - (uint64_t)t <=
			    (uint64_t)s->o.out_of_order_window_ms) {
				/*
				 * late; but the head (this commit's samples
				 * too) may hold t with another value
				 */
				if (hh < 0) {
					c->conflicts++;
					refuse(r, -EINVAL, w, "duplicate sample "
					    "for timestamp", t);
				} else
					late(s, w, t, bits, b, c, r);
			} else {
				c->out_of_order++;
				refuse(r, -EINVAL, w, "out of order sample", t);
			}
			continue;
		}
		rc = chunk_enc_append(w->hp, t, v[i].v);
		if (rc == -ENOSPC) {
			store_head(s, w, b, 1);
			rc = chunk_enc_append(w->hp, t, v[i].v);
		}
		if (rc != 0) {
			/* cannot be: the head is empty or t is newer */
			refuse(r, -EINVAL, w, "sample not taken", t);
			continue;
		}
		if (w->empty)
			w->first_t = t;
		if (chunk_enc_count(w->hp) == 1)
			w->head_off = w->end;
		put_le64(val, bits);
		put_le64(val + 8, w->end);
		skey_t(k, SK_HEAD, w->id, t);
		engine_batch_put(b, k, SKEY_LEN, val, HEAD_VAL_LEN,
		    series_expiry(w->retention, t));
		w->end += series_line_len(t, bits);
		w->empty = 0;
		w->last_t = t;
		w->last_v = bits;
		w->changed = 1;
		c->samples++;
	}
}

/*
 * An 'S' record for w's series into b when the series is new, or when
 * its samples will outlive the record's expiry: then it is written
 * again to last a retention past the newest sample, so that a series
 * leaves the dictionary within two retentions of its last sample.
 */
static void
keep_series(struct swork *w, int is_new, struct engine_batch *b)
{
	unsigned char k[SKEY_ID_LEN];
	const void *enc;
	size_t len;
	int64_t need, t;

	if (w->retention <= 0) {
		if (!is_new)
			return;
		w->s_expire = ENGINE_NO_EXPIRY;
	} else {
		t = w->empty ? clock_wall_ns() / 1000000 : w->last_t;
		need = series_expiry(w->retention, t);
		if (!is_new && (w->s_expire == ENGINE_NO_EXPIRY ||
		    need <= w->s_expire))
			return;
		w->s_expire = series_expiry(w->retention,
		    t > INT64_MAX - w->retention ? INT64_MAX : t + w->retention);
	}
	enc = labels_encoding(w->ss != NULL ? w->ss->ls : w->ls, &len);
	skey_id(k, SK_SERIES, w->id);
	engine_batch_put(b, k, SKEY_ID_LEN, enc, len, w->s_expire);
}

/* The series this commit makes, in an open-addressed table by hash. */
static struct swork *
fresh_find(struct series_appender *a, const struct labels *ls, uint64_t h)
{
	struct swork *w;

	if (a->fcap == 0)
		return NULL;
	for (size_t i = h & (a->fcap - 1); (w = a->fresh[i]) != NULL;
	    i = (i + 1) & (a->fcap - 1))
		if (w->hash == h && labels_equal(w->ls, ls))
			return w;
	return NULL;
}

static void
fresh_add(struct series_appender *a, struct swork *w)
{
	size_t i;

	if ((a->nfresh + 1) * 2 > a->fcap) {
		struct swork **old = a->fresh;
		size_t ocap = a->fcap;

		a->fcap = a->fcap ? a->fcap * 2 : 64;
		a->fresh = xcalloc(a->fcap, sizeof(*a->fresh));
		for (i = 0; i < ocap; i++)
			if (old[i] != NULL) {
				size_t j = old[i]->hash & (a->fcap - 1);

				while (a->fresh[j] != NULL)
					j = (j + 1) & (a->fcap - 1);
				a->fresh[j] = old[i];
			}
		free(old);
	}
	for (i = w->hash & (a->fcap - 1); a->fresh[i] != NULL;
	    i = (i + 1) & (a->fcap - 1))
		;
	a->fresh[i] = w;
	a->nfresh++;
}

/* The work of the series an entry names, made or found. (append) */
static struct swork *
entry_work(struct series_appender *a, struct entry *x,
    struct engine_batch *b, uint64_t *next_id, struct series_counts *c,
    struct refusal *r, int *err)
{
	struct series *s = a->s;
	struct sseries *ss;
	struct swork *w;
	uint64_t h;

	h = x->ls != NULL ? labels_hash(x->ls) : 0;
	pthread_rwlock_rdlock(&s->dict);
	if (x->ls != NULL)
		ss = dict_find(s, x->ls, h);
	else
		ss = dict_by_id(s, x->id);
	pthread_rwlock_unlock(&s->dict);
	if (ss == NULL && x->ls == NULL) {
		refuse(r, -ENOENT, &(struct swork){ .id = x->id },
		    "no such series", 0);
		return NULL;
	}
	if (ss != NULL) {
		if (ss->work != NULL)
			return ss->work;
		if ((*err = series_load(s, ss)) != 0)
			return NULL;
		w = work_new(a);
		work_from(s, w, ss);
		ss->work = w;
		return w;
	}
	/* a series this commit makes: once, however often it is named */
	if ((w = fresh_find(a, x->ls, h)) != NULL)
		return w;
	if (s->count + c->series_created >= s->o.max_series) {
		struct swork tmp = { .ls = x->ls };

		c->over_limit++;
		refuse(r, -ENOSPC, &tmp, "series limit reached "
		    "(series_options.max_series) refusing a new series", 0);
		return NULL;
	}
	w = work_new(a);
	w->ls = labels_dup(x->ls);
	w->hash = h;
	w->retention = series_retention(s, w->ls);
	fresh_add(a, w);
	w->id = (*next_id)++;
	w->empty = 1;
	c->series_created++;
	keep_series(w, 1, b);
	return w;
}

int
series_appender_commit(struct series_appender *a, struct series_counts *cp,
    uint64_t *seq)
{
	struct series *s = a->s;
	struct series_counts c;
	struct engine_batch *b;
	struct refusal r = { 0 };
	unsigned char k[3] = { KEY_SERIES, SKEY_VERSION, SK_NEXT };
	uint8_t nv[8];
	uint64_t next_id, wseq = 0;
	int rc = 0;

	memset(&c, 0, sizeof(c));
	if (seq != NULL)
		*seq = 0;
	if (s->ro) {
		appender_clear(a);
		return err_set(-EROFS, "a read-only follower takes no samples");
	}
	b = engine_batch_new();
	pthread_mutex_lock(&s->append);
	pthread_rwlock_rdlock(&s->dict);
	next_id = s->next_id;
	pthread_rwlock_unlock(&s->dict);
	for (size_t i = 0; i < a->n && rc == 0; i++) {
		struct entry *x = &a->v[i];
		struct swork *w = entry_work(a, x, b, &next_id, &c, &r, &rc);

		if (w == NULL)
			continue;
		judge(s, w, a->samples + x->first, x->n, b, &c, &r);
	}
	for (size_t i = 0; i < a->nw && rc == 0; i++)
		if (a->pool[i]->ss != NULL && a->pool[i]->changed)
			keep_series(a->pool[i], 0, b);
	if (rc == 0 && c.series_created > 0) {
		put_be64(nv, next_id);
		engine_batch_put(b, k, 3, nv, 8, ENGINE_NO_EXPIRY);
	}
	if (rc == 0 && r.err != 0)
		rc = r.err;	/* judged without what the store holds: nothing */
	if (rc == 0 && engine_batch_count(b) > 0)
		rc = series_errno(s, engine_write(s->e, b, &wseq));
	if (rc == 0) {
		/* memory follows what the engine took */
		pthread_rwlock_wrlock(&s->dict);
		for (size_t i = 0; i < a->nw; i++) {
			struct swork *w = a->pool[i];

			if (w->ss == NULL) {
				dict_add(s, w->id, w->ls);
				w->ls = NULL;
				w->ss = dict_by_id(s, w->id);
				w->ss->loaded = 1;
				w->ss->head = xmalloc(sizeof(*w->ss->head));
				chunk_enc_init(w->ss->head);
				chunk_enc_copy(w->ss->head, w->hp);
				metric_add(s->m_loaded, 1);
			}
		}
		if (next_id > s->next_id)
			s->next_id = next_id;
		pthread_rwlock_unlock(&s->dict);
		pthread_mutex_lock(&s->state);
		for (size_t i = 0; i < a->nw; i++) {
			struct swork *w = a->pool[i];
			struct sseries *ss = w->ss;

			ss->end = w->end;
			ss->head_off = w->head_off;
			ss->first_t = w->first_t;
			ss->last_t = w->last_t;
			ss->last_v = w->last_v;
			ss->empty = w->empty;
			ss->h_after = w->h_after;
			ss->s_expire = w->s_expire;
			ss->head_n = chunk_enc_count(ss->head);
		}
		pthread_mutex_unlock(&s->state);
	} else {
		/*
		 * The engine took nothing, but the heads were worked on in
		 * place: forget them, to be read again from the store
		 */
		pthread_mutex_lock(&s->state);
		for (size_t i = 0; i < a->nw; i++) {
			struct sseries *ss = a->pool[i]->ss;

			if (ss == NULL || !ss->loaded)
				continue;
			ss->loaded = 0;
			chunk_enc_release(ss->head);
			free(ss->head);
			ss->head = NULL;
			metric_add(s->m_loaded, -1);
		}
		pthread_mutex_unlock(&s->state);
	}
	pthread_mutex_unlock(&s->append);
	if (rc == 0) {
		for (size_t i = 0; i < a->nw; i++)
			if (a->pool[i]->changed || a->pool[i]->empty)
				series_changed(s, a->pool[i]->id);
		metric_add(s->m_samples, (double)c.samples);
		metric_add(s->m_created, (double)c.series_created);
		metric_add(s->m_ooo, (double)c.out_of_order);
		metric_add(s->m_dup, (double)c.conflicts);
		metric_add(s->m_limit, (double)c.over_limit);
	}
	works_free(a);
	engine_batch_free(b);
	appender_clear(a);
	if (rc != 0) {
		memset(&c, 0, sizeof(c));
		if (cp != NULL)
			*cp = c;
		return rc;
	}
	if (cp != NULL)
		*cp = c;
	if (seq != NULL)
		*seq = wseq;
	if (r.rc != 0)
		return err_set(r.rc == -ENOENT ? -EINVAL : r.rc, "%s", r.msg);
	return 0;
}

int
series_get(struct series *s, const struct labels *ls, uint64_t *id)
{
	struct series_appender *a;
	int rc;

	if (series_find(s, ls, id) == 0)
		return 0;
	a = series_appender_new(s);
	series_appender_add(a, ls, NULL, 0);
	rc = series_appender_commit(a, NULL, NULL);
	series_appender_free(a);
	if (rc != 0)
		return rc;
	return series_find(s, ls, id);
}

int
series_sync_seq(struct series *s, uint64_t seq, int64_t timeout_ms)
{
	int rc;

	if (s->ro || seq == 0)
		return 0;
	rc = engine_sync(s->e, seq, timeout_ms, NULL);
	if (rc == SHALE_EFENCED)
		return err_set(-EROFS, "another writer has taken the store");
	return rc;
}

/* ---- flushing heads ---- */

#define FLUSH_BATCH	1024	/* series a batch */

/* The ids of the series whose heads have samples in head records. */
static uint64_t *
unflushed(struct series *s, size_t *np)
{
	uint64_t *v = NULL;
	size_t n = 0, cap = 0;

	pthread_rwlock_rdlock(&s->dict);
	pthread_mutex_lock(&s->state);
	for (size_t i = 0; i < s->cap; i++)
		for (struct sseries *ss = s->by_id[i]; ss != NULL;
		    ss = ss->id_next) {
			if (!ss->loaded || ss->head == NULL ||
			    ss->head_n == 0 || ss->last_t <= ss->h_after)
				continue;
			v = xgrow(v, &cap, n + 1, sizeof(*v));
			v[n++] = ss->id;
		}
	pthread_mutex_unlock(&s->state);
	pthread_rwlock_unlock(&s->dict);
	*np = n;
	return v;
}

int
series_flush_heads(struct series *s)
{
	struct swork *w;
	uint64_t *ids;
	size_t n;
	int rc = 0;

	if (s->ro)
		return 0;
	ids = unflushed(s, &n);
	/* works on the heads in place (work_from): their own encoders stay unused */
	w = xcalloc(FLUSH_BATCH, sizeof(*w));
	for (size_t at = 0; rc == 0 && at < n; at += FLUSH_BATCH) {
		struct engine_batch *b = engine_batch_new();
		struct sseries *ss[FLUSH_BATCH];
		size_t m = 0;

		pthread_mutex_lock(&s->append);
		for (size_t i = at; i < n && i < at + FLUSH_BATCH; i++) {
			pthread_rwlock_rdlock(&s->dict);
			ss[m] = dict_by_id(s, ids[i]);
			pthread_rwlock_unlock(&s->dict);
			if (ss[m] == NULL || !ss[m]->loaded)
				continue;
			work_from(s, &w[m], ss[m]);
			if (chunk_enc_count(w[m].hp) == 0 ||
			    w[m].last_t <= w[m].h_after)
				continue;
			store_head(s, &w[m], b, 0);
			m++;
		}
		if (m > 0)
			rc = series_errno(s, engine_write(s->e, b, NULL));
		if (rc == 0) {
			pthread_mutex_lock(&s->state);
			for (size_t i = 0; i < m; i++)
				ss[i]->h_after = w[i].h_after;
			pthread_mutex_unlock(&s->state);
		}
		pthread_mutex_unlock(&s->append);
		engine_batch_free(b);
	}
	free(w);
	free(ids);
	return rc;
}

/* The writer's thread that flushes heads every SERIES_FLUSH_MS. */
void *
series_flusher(void *arg)
{
	struct series *s = arg;
	int rc;

	pthread_mutex_lock(&s->stop_lock);
	while (!s->stopping) {
		clock_cond_wait(&s->stop_cond, &s->stop_lock,
		    clock_mono_ns() + (int64_t)SERIES_FLUSH_MS * 1000000);
		if (s->stopping)
			break;
		pthread_mutex_unlock(&s->stop_lock);
		if ((rc = series_flush_heads(s)) != 0)
			log_warn("series: cannot store head chunks: %s",
			    err_message(rc));
		pthread_mutex_lock(&s->stop_lock);
	}
	pthread_mutex_unlock(&s->stop_lock);
	return NULL;
}
