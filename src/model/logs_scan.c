/*
 * logs_scan.c - for the HTTP API: a stream by its path (logs_resolve
 * makes what is missing, as mkdir -p), the records of a byte range, the
 * offset at a time (the time index), and the wait for a stream to grow.
 *
 * Not here: reading through a reader (logs_stream.c), the names a path
 * is walked through (logs_ns.c: logs_lookup, logs_create, logs_mkdir).
 *
 * Locks (logs_int.h; their order: logs.h): ns and a stream's lock only
 * to hold the stream and read its end and data id (stream_get), then the
 * engine's iterators without them.
 * logs_wait() holds wait_lock only to read or wait for its generation,
 * and looks at the stream between with logs_getattr.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "engine/lsm/engine.h"
#include "model/logs_int.h"
#include "util/clock.h"
#include "util/coding.h"
#include "util/metrics.h"

int
logs_path_check(const char *path, size_t len)
{
	const char *p = path, *end = path + len, *slash;
	int rc;

	if (len == 0 || len > LOGS_PATH_MAX || path[0] == '/' ||
	    path[len - 1] == '/')
		return -EINVAL;
	while (p < end) {
		if ((slash = memchr(p, '/', (size_t)(end - p))) == NULL)
			slash = end;
		if ((rc = logs_name_check(p, (size_t)(slash - p))) != 0)
			return rc;
		p = slash + 1;
	}
	return 0;
}

int
logs_resolve(struct logs *l, const char *path, size_t len, int create,
    struct logs_attr *a)
{
	char name[LOGS_NAME_MAX + 1];
	const char *p = path, *end = path + len, *slash;
	uint64_t dir = LOGS_ROOT_ID;
	size_t n;
	int rc, last;

	if ((rc = logs_path_check(path, len)) != 0)
		return rc;
	for (;;) {
		if ((slash = memchr(p, '/', (size_t)(end - p))) == NULL)
			slash = end;
		n = (size_t)(slash - p);
		memcpy(name, p, n);
		name[n] = '\0';
		last = slash == end;
		rc = logs_lookup(l, dir, name, a);
		if (rc == -ENOENT && create) {
			rc = last ? logs_create(l, dir, name, a) :
			    logs_mkdir(l, dir, name, a);
			if (rc == -EEXIST)	/* made meanwhile by another */
				rc = logs_lookup(l, dir, name, a);
		}
		if (rc != 0)
			return rc;
		if (last)
			return a->type == LOGS_STREAM ? 0 : -EISDIR;
		if (a->type != LOGS_DIR)
			return -ENOTDIR;
		dir = a->id;
		p = slash + 1;
	}
}

int
logs_offset_at(struct logs *l, uint64_t id, int64_t ts_ns, uint64_t *off)
{
	unsigned char key[27], lo[19], hi[19];
	struct engine_iter *it;
	const unsigned char *k, *v;
	size_t klen, vlen;
	uint64_t data_id, start = 0;
	struct node *s;
	int rc;

	if ((rc = stream_get(l, id, &s)) != 0)
		return rc;
	pthread_mutex_lock(&s->lock);
	data_id = s->data_id;
	*off = s->end;
	pthread_mutex_unlock(&s->lock);
	stream_put(l, s);

	/* the last index entry at or before ts_ns: records from there on are not older */
	key_id(lo, K_TIME, data_id);
	key_id(hi, K_TIME, data_id + 1);
	it = engine_iter_new(l->e, NULL, lo, 11, hi, 11);
	key_id(key, K_TIME, data_id);
	put_be64(key + 11, (uint64_t)ts_ns);
	put_be64(key + 19, UINT64_MAX);
	engine_iter_seek_for_prev(it, key, 27);
	if (engine_iter_valid(it)) {
		k = engine_iter_key(it, &klen);
		if (klen == 27)
			start = get_be64(k + 19);
	}
	rc = engine_iter_status(it);
	engine_iter_free(it);
	if (rc != 0)
		return logs_errno(l, rc);

	key_record(lo, data_id, 0);
	key_record(hi, data_id + 1, 0);
	it = engine_iter_new(l->e, NULL, lo, 19, hi, 19);
	key_record(key, data_id, start);
	for (engine_iter_seek(it, key, 19); engine_iter_valid(it);
	    engine_iter_next(it)) {
		k = engine_iter_key(it, &klen);
		v = engine_iter_value(it, &vlen);
		if (klen == 19 && vlen >= TS_LEN &&
		    (int64_t)get_be64(v) >= ts_ns) {
			*off = get_be64(k + 11);
			break;
		}
	}
	rc = engine_iter_status(it);
	engine_iter_free(it);
	return rc != 0 ? logs_errno(l, rc) : 0;
}

int
logs_scan(struct logs *l, uint64_t id, uint64_t start, uint64_t end,
    size_t limit, size_t max_bytes, logs_scan_fn fn, void *arg,
    uint64_t *next)
{
	unsigned char lo[19], hi[19], key[19];
	const unsigned char *k, *v;
	struct engine_iter *it;
	struct node *s;
	uint64_t data_id, len, roff, records = 0, bytes = 0, skip;
	size_t klen, vlen;
	int64_t cutoff;
	int rc;

	*next = start;
	if ((rc = stream_get(l, id, &s)) != 0)
		return rc;
	cutoff = stream_cutoff(l, s);
	pthread_mutex_lock(&s->lock);
	data_id = s->data_id;
	if (end > s->end)
		end = s->end;
	pthread_mutex_unlock(&s->lock);
	if (start >= end || limit == 0) {
		stream_put(l, s);
		return 0;
	}
	key_record(lo, data_id, 0);
	key_record(hi, data_id + 1, 0);
	it = engine_iter_new(l->e, NULL, lo, 19, hi, 19);
	key_record(key, data_id, start);
	engine_iter_seek_for_prev(it, key, 19);
	if (!engine_iter_valid(it))
		engine_iter_seek_first(it);
	rc = 0;
	for (; engine_iter_valid(it); engine_iter_next(it)) {
		k = engine_iter_key(it, &klen);
		v = engine_iter_value(it, &vlen);
		if (klen != 19 || vlen < TS_LEN)
			continue;
		roff = get_be64(k + 11);
		len = vlen - TS_LEN;
		if (roff >= end)
			break;
		if (roff + len <= start || (int64_t)get_be64(v) <= cutoff)
			continue;
		/* the part of the record inside [start, end) */
		skip = roff < start ? start - roff : 0;
		if (roff + len > end)
			len = end - roff;
		len -= skip;
		if (records > 0 && bytes + len > max_bytes)
			break;
		if ((rc = fn(arg, roff + skip, v + TS_LEN + skip, (size_t)len,
		    (int64_t)get_be64(v))) != 0)
			break;
		records++;
		bytes += len;
		*next = roff + skip + len;
		if (records >= limit)
			break;
	}
	if (rc == 0 && (rc = engine_iter_status(it)) != 0)
		rc = logs_errno(l, rc);
	else if (rc > 0)
		rc = 0;
	engine_iter_free(it);
	stream_put(l, s);
	metric_add(l->m_scan_records, (double)records);
	metric_add(l->m_scan_bytes, (double)bytes);
	return rc;
}

int
logs_wait(struct logs *l, uint64_t id, uint64_t have, int64_t deadline_ns,
    const int *stop)
{
	struct logs_attr a;
	uint64_t gen;
	int rc;

	__atomic_add_fetch(&l->waiters, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		pthread_mutex_lock(&l->wait_lock);
		gen = l->wait_gen;
		pthread_mutex_unlock(&l->wait_lock);
		/* looked at without the wait lock: getattr takes others */
		if ((rc = logs_getattr(l, id, &a)) != 0)
			break;
		if (a.size > have) {
			rc = 0;
			break;
		}
		if (__atomic_load_n(stop, __ATOMIC_SEQ_CST)) {
			rc = -ECANCELED;
			break;
		}
		if (clock_mono_ns() >= deadline_ns) {
			rc = -ETIMEDOUT;
			break;
		}
		pthread_mutex_lock(&l->wait_lock);
		while (l->wait_gen == gen && !__atomic_load_n(stop,
		    __ATOMIC_SEQ_CST)) {
			if (clock_cond_wait(&l->wait_cond, &l->wait_lock,
			    deadline_ns) == ETIMEDOUT)
				break;
		}
		pthread_mutex_unlock(&l->wait_lock);
	}
	__atomic_sub_fetch(&l->waiters, 1, __ATOMIC_SEQ_CST);
	return rc;
}

void
logs_wake(struct logs *l)
{
	pthread_mutex_lock(&l->wait_lock);
	l->wait_gen++;
	pthread_cond_broadcast(&l->wait_cond);
	pthread_mutex_unlock(&l->wait_lock);
	engine_wake(l->e);	/* and the syncs */
}
