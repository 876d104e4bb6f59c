/*
 * logs_stream.c - streams: a stream's end read at its first use, the
 * references that keep a removed stream readable while open, readers
 * that keep their place, the page cache's rule (logs_reader_cache),
 * appends (records of whole lines, one batch each), truncation to a
 * fresh data id, writers that hold a partial line, and the waits until
 * stored.
 *
 * Not here: names and attributes (logs_ns.c), scans and lookups by time
 * for the HTTP API (logs_scan.c), what a follower applies (logs_apply.c).
 *
 * Locks (logs_int.h; their order: logs.h): a stream's lock over its
 * appends and its end; ns only to take or drop a reference, and for
 * writing, before the stream's lock, while a truncation takes a fresh id.
 * The data callback runs under the stream's lock with data_lock read. A
 * reader's lock covers its iterator alone: logs_reader_read takes no
 * stream lock, and loads the end and the data id atomically.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine/lsm/engine.h"
#include "model/logs_int.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/coding.h"
#include "util/metrics.h"
#include "util/xmalloc.h"

struct logs_writer {
	struct logs	*l;
	struct node	*n;
	unsigned	 flags;
	struct buf	 held;
	uint64_t	 last_seq;
};

/* ---- streams' state ---- */

/*
 * The newest record time of data id d: the running maximum that appends
 * keep in last_ts. Records may hold times below it (logs_push), so the
 * last record's is not enough; but a new time index entry is written
 * whenever that maximum enters another second, so it was at least the
 * last entry's time when the entry's record was written, and only the
 * records from there on can have raised it. For a stream appended in
 * order those are the records of its last second. *max stays as given
 * if no record is there.
 */
static int
newest_time(struct logs *l, uint64_t d, int64_t *max)
{
	unsigned char lo[19], hi[19];
	struct engine_iter *it;
	const unsigned char *k, *v;
	size_t klen, vlen;
	uint64_t from = 0;
	int rc;

	key_id(lo, K_TIME, d);
	key_id(hi, K_TIME, d + 1);
	it = engine_iter_new(l->e, NULL, lo, 11, hi, 11);
	engine_iter_seek_last(it);
	if (engine_iter_valid(it)) {
		k = engine_iter_key(it, &klen);
		if (klen == 27) {
			if ((int64_t)get_be64(k + 11) > *max)
				*max = (int64_t)get_be64(k + 11);
			from = get_be64(k + 19);
		}
	}
	rc = engine_iter_status(it);
	engine_iter_free(it);
	if (rc != 0)
		return rc;
	key_record(lo, d, from);
	key_record(hi, d + 1, 0);
	it = engine_iter_new(l->e, NULL, lo, 19, hi, 19);
	for (engine_iter_seek_first(it); engine_iter_valid(it);
	    engine_iter_next(it)) {
		v = engine_iter_value(it, &vlen);
		if (vlen >= TS_LEN && (int64_t)get_be64(v) > *max)
			*max = (int64_t)get_be64(v);
	}
	rc = engine_iter_status(it);
	engine_iter_free(it);
	return rc;
}

/* Read a stream's end and newest time from its last records. (n->lock) */
int
stream_load(struct logs *l, struct node *n)
{
	unsigned char lo[19], hi[19];
	struct engine_iter *it;
	const unsigned char *k;
	size_t klen;
	int64_t newest = INT64_MIN;
	int rc;

	if (n->loaded)
		return 0;
	key_record(lo, n->data_id, 0);
	key_record(hi, n->data_id + 1, 0);
	it = engine_iter_new(l->e, NULL, lo, 19, hi, 19);
	engine_iter_seek_last(it);
	__atomic_store_n(&n->end, 0, __ATOMIC_RELEASE);
	if (engine_iter_valid(it)) {
		size_t vlen;
		k = engine_iter_key(it, &klen);
		(void)engine_iter_value(it, &vlen);
		if (klen == 19 && vlen >= TS_LEN)
			__atomic_store_n(&n->end, get_be64(k + 11) +
			    (vlen - TS_LEN), __ATOMIC_RELEASE);
	}
	rc = engine_iter_status(it);
	engine_iter_free(it);
	if (rc == 0 && n->end > 0)
		rc = newest_time(l, n->data_id, &newest);
	if (rc != 0)
		return logs_errno(l, rc);
	n->last_ts = newest != INT64_MIN ? newest : n->ctime_ns;
	n->indexed_sec = n->last_ts / 1000000000;
	n->loaded = 1;
	return 0;
}

/* Tell data_fn that s holds `n1 + n2` new bytes from `off` on. (s->lock) */
void
data_changed(struct logs *l, struct node *s, uint64_t off, const void *p1,
    size_t n1, const void *p2, size_t n2)
{
	pthread_rwlock_rdlock(&l->data_lock);
	if (l->data_fn != NULL)
		l->data_fn(l->data_arg, s->id, off, p1, n1, p2, n2);
	pthread_rwlock_unlock(&l->data_lock);
}

/* ---- streams ---- */

/* The stream `id`, referenced, loaded: release with stream_put(). */
int
stream_get(struct logs *l, uint64_t id, struct node **out)
{
	struct node *n;
	int rc = 0;

	pthread_rwlock_rdlock(&l->ns);
	if ((n = node_find(l, id)) == NULL)
		rc = -ENOENT;
	else if (n->type != LOGS_STREAM)
		rc = -EISDIR;
	else
		__atomic_add_fetch(&n->refs, 1, __ATOMIC_ACQ_REL);
	pthread_rwlock_unlock(&l->ns);
	if (rc != 0)
		return rc;
	pthread_mutex_lock(&n->lock);
	rc = stream_load(l, n);
	pthread_mutex_unlock(&n->lock);
	if (rc != 0) {
		stream_put(l, n);
		return rc;
	}
	*out = n;
	return 0;
}

void
stream_put(struct logs *l, struct node *n)
{
	pthread_rwlock_rdlock(&l->ns);
	if (!n->gone) {
		node_unref(n);	/* never the last: the namespace holds one */
		pthread_rwlock_unlock(&l->ns);
		return;
	}
	pthread_rwlock_unlock(&l->ns);
	pthread_rwlock_wrlock(&l->ns);
	node_unref(n);
	if (n->refs == 1)
		node_forget(l, n);
	pthread_rwlock_unlock(&l->ns);
}

/*
 * A reader keeps one engine iterator between reads, so reading a stream
 * from start to end seeks once, not once per read(2); it makes a new one
 * when asked for another offset or for records its iterator was made
 * too early to see.
 */
struct logs_reader {
	struct logs		*l;
	struct node		*n;
	pthread_mutex_t		 lock;
	struct engine_iter	*it;		/* lock */
	uint64_t		 data_id;	/* lock: of it */
	uint64_t		 seen;		/* lock: stream end when it was made */
	uint64_t		 pos;		/* lock: where the next read starts */
	unsigned char		 lo[19], hi[19];
	int			 cached;	/* counted in n->cached */
};

struct logs_reader *
logs_reader_new(struct logs *l, uint64_t id)
{
	struct logs_reader *r;
	struct node *s;

	if (stream_get(l, id, &s) != 0)
		return NULL;
	r = xcalloc(1, sizeof(*r));
	r->l = l;
	r->n = s;
	pthread_mutex_init(&r->lock, NULL);
	return r;
}

void
logs_reader_getattr(struct logs_reader *r, struct logs_attr *a)
{
	struct node *n = r->n;

	fill_attr(n, a);
	pthread_mutex_lock(&n->lock);
	a->size = n->end;
	a->mtime_ns = n->last_ts;
	pthread_mutex_unlock(&n->lock);
}

void
logs_reader_free(struct logs_reader *r)
{
	if (r == NULL)
		return;
	engine_iter_free(r->it);
	pthread_mutex_destroy(&r->lock);
	if (r->cached) {
		pthread_mutex_lock(&r->n->lock);
		r->n->cached--;
		pthread_mutex_unlock(&r->n->lock);
	}
	stream_put(r->l, r->n);
	free(r);
}

/*
 * Wait up to LOGS_UNCACHED_WAIT_MS for the readers in the page cache to be
 * gone: the kernel sends a file's release after close(2) has returned,
 * so `cat f; echo >> f` would otherwise find the cat still there.
 * 0 once none is, -EBUSY if one stays. (s->lock)
 */
static int
wait_uncached(struct node *s)
{
	for (int i = 0; s->cached > 0; i++) {
		if (i >= LOGS_UNCACHED_WAIT_MS)
			return -EBUSY;
		pthread_mutex_unlock(&s->lock);
		clock_sleep_ms(1);
		pthread_mutex_lock(&s->lock);
	}
	return 0;
}

int
logs_reader_cache(struct logs_reader *r)
{
	struct node *s = r->n;

	pthread_mutex_lock(&s->lock);
	if (!r->cached && s->writers == 0) {
		s->cached++;
		r->cached = 1;
	}
	pthread_mutex_unlock(&s->lock);
	return r->cached;
}

/* Position a fresh iterator on the record holding `off`. (r->lock) */
static void
reader_seek(struct logs_reader *r, uint64_t data_id, uint64_t end,
    uint64_t off)
{
	unsigned char key[19];

	engine_iter_free(r->it);
	r->data_id = data_id;
	r->seen = end;
	key_record(r->lo, data_id, 0);
	key_record(r->hi, data_id + 1, 0);
	r->it = engine_iter_new(r->l->e, NULL, r->lo, 19, r->hi, 19);
	key_record(key, data_id, off);
	engine_iter_seek_for_prev(r->it, key, 19);
	if (!engine_iter_valid(r->it))
		engine_iter_seek_first(r->it);
	r->pos = off;
}

/*
 * Bytes of a stream that are gone (records expired, dropped by the
 * compaction filter or not yet) read as newlines, as many as they were:
 * blank lines, so that the size and every offset stay as they were and
 * line tools read on to the lines that are left.
 */
#define EXPIRED_BYTE	'\n'

ssize_t
logs_reader_read(struct logs_reader *r, uint64_t off, void *buf, size_t n)
{
	struct logs *l = r->l;
	struct node *s = r->n;
	const unsigned char *k, *v;
	size_t klen, vlen, got = 0, len, skip, gap;
	uint64_t data_id, end, roff, records = 0;
	int64_t cutoff;
	int rc;

	/*
	 * Not under s->lock: a commit holds it while the data callback
	 * runs, and that may wait for the page the kernel locked for the
	 * read this serves (the end first: a truncation changes data_id
	 * first, so a read racing one finds no bytes rather than old ones).
	 * Nor under ns, which a truncation holds over that callback too.
	 */
	end = __atomic_load_n(&s->end, __ATOMIC_ACQUIRE);
	data_id = __atomic_load_n(&s->data_id, __ATOMIC_ACQUIRE);
	if (off >= end || n == 0)
		return 0;
	if (n > end - off)
		n = (size_t)(end - off);
	cutoff = retention_cutoff(stream_retention_nowait(l, s),
	    clock_wall_ns());

	pthread_mutex_lock(&r->lock);
	if (r->it == NULL || r->data_id != data_id || r->pos != off ||
	    off + n > r->seen)
		reader_seek(r, data_id, end, off);
	for (; engine_iter_valid(r->it) && got < n; engine_iter_next(r->it)) {
		k = engine_iter_key(r->it, &klen);
		v = engine_iter_value(r->it, &vlen);
		if (klen != 19 || vlen < TS_LEN)
			continue;
		roff = get_be64(k + 11);
		len = vlen - TS_LEN;
		if (roff + len <= off + got)
			continue;
		if (roff > off + got) {
			/* records gone before this one */
			gap = roff - (off + got) < n - got ?
			    (size_t)(roff - (off + got)) : n - got;
			memset((char *)buf + got, EXPIRED_BYTE, gap);
			got += gap;
			if (got == n)
				break;	/* stay on the record */
		}
		skip = (size_t)(off + got - roff);
		len -= skip;
		if (len > n - got)
			len = n - got;
		if ((int64_t)get_be64(v) <= cutoff)
			memset((char *)buf + got, EXPIRED_BYTE, len);
		else
			memcpy((char *)buf + got, v + TS_LEN + skip, len);
		got += len;
		records++;
		if (skip + len < vlen - TS_LEN)
			break;		/* stay on a record not read to its end */
	}
	rc = engine_iter_status(r->it);
	/*
	 * No record left where the end says there are bytes: the last ones
	 * are gone too, unless a truncation (a fresh data id, then end 0)
	 * is what the iterator missed
	 */
	if (rc == 0 && got < n && !engine_iter_valid(r->it) &&
	    __atomic_load_n(&s->data_id, __ATOMIC_ACQUIRE) == data_id &&
	    __atomic_load_n(&s->end, __ATOMIC_ACQUIRE) >= off + n) {
		memset((char *)buf + got, EXPIRED_BYTE, n - got);
		got = n;
	}
	r->pos = off + got;
	if (rc != 0 || r->pos >= r->seen || got == 0) {
		/*
		 * At the end of what it can see the iterator is of no more use,
		 * and a reader left open (tail -f) must not pin memtables; nor
		 * is one that saw nothing where the end said there was more.
		 */
		engine_iter_free(r->it);
		r->it = NULL;
	}
	pthread_mutex_unlock(&r->lock);
	if (rc != 0)
		return logs_errno(l, rc);
	metric_add(l->m_scan_records, (double)records);
	metric_add(l->m_scan_bytes, (double)got);
	return (ssize_t)got;
}

ssize_t
logs_read(struct logs *l, uint64_t id, uint64_t off, void *buf, size_t n)
{
	struct logs_reader *r;
	ssize_t got;

	if ((r = logs_reader_new(l, id)) == NULL) {
		struct logs_attr a;
		int rc = logs_getattr(l, id, &a);
		return rc != 0 ? rc : -EISDIR;
	}
	got = logs_reader_read(r, off, buf, n);
	logs_reader_free(r);
	return got;
}

int
logs_truncate(struct logs *l, uint64_t id, uint64_t size)
{
	struct engine_batch *b;
	struct node *s;
	uint64_t data_id;
	int rc;

	if ((rc = stream_get(l, id, &s)) != 0)
		return rc;
	pthread_mutex_lock(&s->lock);
	rc = size == s->end ? 1 : size != 0 ? -EPERM : l->ro ? -EROFS :
	    s->removed ? -ENOENT : wait_uncached(s);
	pthread_mutex_unlock(&s->lock);
	if (rc != 0)
		goto out;
	/* a fresh data id (a failed write wastes it) */
	pthread_rwlock_wrlock(&l->ns);
	data_id = l->next_id++;
	pthread_mutex_lock(&s->lock);
	if (s->cached > 0) {	/* a reader came meanwhile */
		pthread_mutex_unlock(&s->lock);
		pthread_rwlock_unlock(&l->ns);
		rc = -EBUSY;
		goto out;
	}
	b = engine_batch_new();
	batch_inode(b, s, data_id);
	batch_counter(b, data_id + 1);
	rc = engine_write(l->e, b, &s->last_seq);
	engine_batch_free(b);
	if (rc == 0) {
		/* the old records are left to compaction */
		__atomic_store_n(&s->data_id, data_id, __ATOMIC_RELEASE);
		__atomic_store_n(&s->end, 0, __ATOMIC_RELEASE);
		s->last_ts = clock_wall_ns();
		s->indexed_sec = -1;
		ck_clear(s);
		node_moved(l, s);
		data_changed(l, s, 0, NULL, 0, NULL, 0);
	} else
		rc = logs_errno(l, rc);
	pthread_mutex_unlock(&s->lock);
	pthread_rwlock_unlock(&l->ns);
	if (rc == 0)
		logs_changed(l, id);
out:
	stream_put(l, s);
	return rc > 0 ? 0 : rc;
}

/*
 * Commit the bytes of up to two pieces (held, then new) as records at the
 * stream's end, in one batch. (s->lock)
 */
static int
commit(struct logs *l, struct node *s, const void *p1, size_t n1,
    const void *p2, size_t n2, uint64_t *seq)
{
	unsigned char key[27], *val;
	const unsigned char *src;
	struct engine_batch *b;
	size_t total = n1 + n2, pos = 0, take, i, nrec = 0, from;
	uint64_t off = s->end;
	int64_t ts = clock_wall_ns();
	int rc;

	if (total == 0)
		return 0;
	if (l->ro)
		return -EROFS;
	if (s->removed)
		return -ENOENT;	/* bytes nothing could read back */
	if (s->cached > 0)
		return -EBUSY;	/* logs_reader_cache */
	if (ts < s->last_ts)
		ts = s->last_ts;	/* never backwards within a stream */
	val = xmalloc(TS_LEN + (total < LOGS_RECORD_MAX ? total : LOGS_RECORD_MAX));
	put_be64(val, (uint64_t)ts);
	b = engine_batch_new();
	while (pos < total) {
		take = total - pos;
		if (take > LOGS_RECORD_MAX)
			take = LOGS_RECORD_MAX;
		/* gather [pos, pos + take) */
		for (i = 0; i < take; ) {
			from = pos + i;
			src = from < n1 ? (const unsigned char *)p1 + from :
			    (const unsigned char *)p2 + (from - n1);
			size_t run = from < n1 ? n1 - from : total - from;
			if (run > take - i)
				run = take - i;
			memcpy(val + TS_LEN + i, src, run);
			i += run;
		}
		/* cut a full record at its last newline, if it has one */
		if (pos + take < total) {
			unsigned char *nl = memrchr(val + TS_LEN, '\n', take);
			if (nl != NULL)
				take = (size_t)(nl - (val + TS_LEN)) + 1;
		}
		key_record(key, s->data_id, off);
		engine_batch_put(b, key, 19, val, TS_LEN + take, 0);
		off += take;
		pos += take;
		nrec++;
	}
	if (ts / 1000000000 != s->indexed_sec) {
		key_id(key, K_TIME, s->data_id);
		put_be64(key + 11, (uint64_t)ts);
		put_be64(key + 19, s->end);
		engine_batch_put(b, key, 27, "", 0, 0);
	}
	rc = engine_write(l->e, b, seq);
	engine_batch_free(b);
	free(val);
	if (rc != 0)
		return logs_errno(l, rc);
	if (ts / 1000000000 != s->indexed_sec)
		s->indexed_sec = ts / 1000000000;
	__atomic_store_n(&s->end, off, __ATOMIC_RELEASE);
	ck_note(s, off - total, ts);
	s->last_ts = ts;
	s->last_seq = *seq;
	s->push_have = 0;	/* the last entry is not a push's now */
	data_changed(l, s, off - total, p1, n1, p2, n2);
	metric_add(l->m_app_records, (double)nrec);
	metric_add(l->m_app_bytes, (double)total);
	return 0;
}

int
logs_append(struct logs *l, uint64_t id, const void *data, size_t n,
    uint64_t *seq)
{
	return logs_append_at(l, id, data, n, seq, NULL);
}

int
logs_append_at(struct logs *l, uint64_t id, const void *data, size_t n,
    uint64_t *seq, uint64_t *off)
{
	struct node *s;
	uint64_t dummy;
	int rc;

	if ((rc = stream_get(l, id, &s)) != 0)
		return rc;
	pthread_mutex_lock(&s->lock);
	if (off != NULL)
		*off = s->end;
	rc = commit(l, s, data, n, NULL, 0, seq != NULL ? seq : &dummy);
	pthread_mutex_unlock(&s->lock);
	if (rc == 0)
		logs_changed(l, id);
	stream_put(l, s);
	return rc;
}

/*
 * The wait of an fsync: 0, -EINTR (cancelled), or -EIO, fsync's word for
 * data not stored: the store refused it for store_failure_timeout (it is
 * kept, and stored when the store takes it), or fenced (lost).
 */
static int
wait_durable(struct logs *l, uint64_t seq, const int *stop)
{
	int rc;

	if (l->ro || seq == 0)
		return 0;
	rc = engine_sync(l->e, seq, -1, stop);
	return rc == 0 || rc == -EINTR ? rc : -EIO;
}

int
logs_sync(struct logs *l)
{
	return logs_sync_stop(l, NULL);
}

int
logs_sync_stop(struct logs *l, const int *stop)
{
	if (l->ro)
		return 0;
	return wait_durable(l, engine_last_seq(l->e), stop);
}

int
logs_sync_seq(struct logs *l, uint64_t seq, int64_t timeout_ms)
{
	int rc;

	if (l->ro || seq == 0)
		return 0;
	rc = engine_sync(l->e, seq, timeout_ms, NULL);
	if (rc == 0 || rc == -ETIMEDOUT)
		return rc;
	return logs_errno(l, rc) == -EROFS ? -EROFS : -EIO;
}

struct logs_writer *
logs_writer_new(struct logs *l, uint64_t id, unsigned flags)
{
	struct logs_writer *w;
	struct node *s;

	if (stream_get(l, id, &s) != 0) {
		errno = ENOENT;
		return NULL;
	}
	pthread_mutex_lock(&s->lock);
	if (wait_uncached(s) != 0) {
		pthread_mutex_unlock(&s->lock);
		stream_put(l, s);
		errno = EBUSY;
		return NULL;
	}
	s->writers++;
	pthread_mutex_unlock(&s->lock);
	w = xcalloc(1, sizeof(*w));
	w->l = l;
	w->n = s;
	w->flags = flags;
	buf_init(&w->held, 0);
	return w;
}

ssize_t
logs_writer_write(struct logs_writer *w, uint64_t off, const void *data,
    size_t n)
{
	struct logs *l = w->l;
	struct node *s = w->n;
	const char *nl;
	size_t whole;
	int rc = 0;

	if (l->ro)
		return -EROFS;
	if (n == 0)
		return 0;
	pthread_mutex_lock(&s->lock);
	if (!(w->flags & LOGS_W_APPEND) && off != s->end + w->held.len) {
		pthread_mutex_unlock(&s->lock);
		return -EPERM;
	}
	nl = memrchr(data, '\n', n);
	if (w->flags & LOGS_W_SYNC)
		whole = n;		/* the caller wants it stored now */
	else if (nl != NULL)
		whole = (size_t)(nl - (const char *)data) + 1;
	else
		whole = 0;
	if ((whole > 0 ? 0 : w->held.len) + (n - whole) > LOGS_LINE_HOLD_MAX)
		whole = n;		/* too long to hold: a line in pieces */
	if (s->removed) {
		pthread_mutex_unlock(&s->lock);
		return -ENOENT;
	}
	if (whole > 0) {
		rc = commit(l, s, w->held.data, w->held.len, data, whole,
		    &w->last_seq);
		if (rc == 0)
			buf_reset(&w->held);
	}
	if (rc == 0 && whole < n)
		rc = buf_append(&w->held, (const char *)data + whole, n - whole);
	pthread_mutex_unlock(&s->lock);
	if (rc != 0)
		return rc;
	if (whole > 0)
		logs_changed(l, s->id);
	if (w->flags & LOGS_W_SYNC &&
	    (rc = wait_durable(l, w->last_seq, NULL)) != 0)
		return rc;
	return (ssize_t)n;
}

int
logs_writer_flush(struct logs_writer *w)
{
	struct node *s = w->n;
	int rc;

	if (w->held.len == 0)
		return 0;
	pthread_mutex_lock(&s->lock);
	rc = commit(w->l, s, w->held.data, w->held.len, NULL, 0, &w->last_seq);
	if (rc == 0)
		buf_reset(&w->held);
	pthread_mutex_unlock(&s->lock);
	if (rc == 0)
		logs_changed(w->l, s->id);
	return rc;
}

int
logs_writer_sync(struct logs_writer *w)
{
	return logs_writer_sync_stop(w, NULL);
}

int
logs_writer_sync_stop(struct logs_writer *w, const int *stop)
{
	struct node *s = w->n;
	uint64_t seq;
	int rc;

	if ((rc = logs_writer_flush(w)) != 0)
		return rc;
	/* what others wrote to this stream before counts too */
	pthread_mutex_lock(&s->lock);
	seq = s->last_seq > w->last_seq ? s->last_seq : w->last_seq;
	pthread_mutex_unlock(&s->lock);
	return wait_durable(w->l, seq, stop);
}

size_t
logs_writer_held(const struct logs_writer *w)
{
	return w->held.len;
}

void
logs_writer_free(struct logs_writer *w)
{
	if (w == NULL)
		return;
	buf_release(&w->held);
	pthread_mutex_lock(&w->n->lock);
	w->n->writers--;
	pthread_mutex_unlock(&w->n->lock);
	stream_put(w->l, w->n);
	free(w);
}
