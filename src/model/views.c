/*
 * views.c - saved query views over the engine (views.h): one record a
 * view, read from the engine whenever asked for, so there is no state to
 * keep in step with a writer; only the changes hold a lock, so that a
 * read-modify-write of one field does not undo another's.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine/lsm/engine.h"
#include "model/views.h"
#include "util/buf.h"
#include "util/coding.h"
#include "util/error.h"
#include "util/xmalloc.h"

#define KEY_VIEWS	0x03
#define VKEY_VERSION	0x01
#define VK_VIEW		'V'
#define VKEY_HDR	3		/* 03 01 'V', then the name */
#define VVAL_HDR	16		/* range_ms(8) step_ms(8), then expr */

struct views {
	struct engine	*e;
	int		 ro;		/* a reader: no changes */
	pthread_mutex_t	 lock;		/* one change at a time */
};

int
views_open(struct engine *e, struct views **out)
{
	struct engine_status st;
	struct views *v = xcalloc(1, sizeof(*v));

	engine_status(e, &st);
	v->e = e;
	v->ro = st.reader;
	pthread_mutex_init(&v->lock, NULL);
	*out = v;
	return 0;
}

void
views_close(struct views *v)
{
	if (v == NULL)
		return;
	pthread_mutex_destroy(&v->lock);
	free(v);
}

int
views_check_name(const char *name, size_t len)
{
	if (len == 0)
		return err_set(-EINVAL, "a view needs a name");
	if (len > VIEWS_NAME_MAX)
		return err_set(-EINVAL, "a view's name has at most %d bytes",
		    VIEWS_NAME_MAX);
	if (name[0] == '.')
		return err_set(-EINVAL, "a view's name does not start with '.'");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
		    !(c >= '0' && c <= '9') && c != '_' && c != '-' &&
		    c != '.' && c != ':')
			return err_set(-EINVAL, "a view's name is made of "
			    "letters, digits, '_', '-', '.' and ':'");
	}
	return 0;
}

/* The record's key into k (VKEY_HDR + VIEWS_NAME_MAX bytes): its length. */
static size_t
view_key(const char *name, size_t len, unsigned char *k)
{
	k[0] = KEY_VIEWS;
	k[1] = VKEY_VERSION;
	k[2] = VK_VIEW;
	memcpy(k + VKEY_HDR, name, len);
	return VKEY_HDR + len;
}

static int
decode(const char *name, size_t len, const struct buf *val, struct view *out)
{
	const uint8_t *p = (const uint8_t *)val->data;

	if (val->len < VVAL_HDR)
		return err_set(SHALE_ECORRUPT, "view '%.*s': a record of %zu "
		    "bytes", (int)len, name, val->len);
	out->name = xstrndup(name, len);
	out->range_ms = (int64_t)get_be64(p);
	out->step_ms = (int64_t)get_be64(p + 8);
	out->expr_len = val->len - VVAL_HDR;
	out->expr = xstrndup((const char *)p + VVAL_HDR, out->expr_len);
	return 0;
}

int
views_get(struct views *v, const char *name, struct view *out)
{
	unsigned char k[VKEY_HDR + VIEWS_NAME_MAX];
	size_t len = strlen(name), klen;
	struct buf val;
	int rc;

	memset(out, 0, sizeof(*out));
	if (views_check_name(name, len) != 0)
		return -ENOENT;
	klen = view_key(name, len, k);
	buf_init(&val, 0);
	if ((rc = engine_get(v->e, NULL, k, klen, &val)) == 0)
		rc = decode(name, len, &val, out);
	buf_release(&val);
	return rc;
}

void
view_release(struct view *vw)
{
	if (vw == NULL)
		return;
	free(vw->name);
	free(vw->expr);
	memset(vw, 0, sizeof(*vw));
}

int
views_each(struct views *v, views_name_fn fn, void *arg)
{
	static const unsigned char lo[VKEY_HDR] = { KEY_VIEWS, VKEY_VERSION,
	    VK_VIEW };
	static const unsigned char hi[VKEY_HDR] = { KEY_VIEWS, VKEY_VERSION,
	    VK_VIEW + 1 };
	struct engine_iter *it;
	const unsigned char *k;
	size_t klen;
	int rc = 0;

	it = engine_iter_new(v->e, NULL, lo, sizeof(lo), hi, sizeof(hi));
	for (engine_iter_seek_first(it); rc == 0 && engine_iter_valid(it);
	    engine_iter_next(it)) {
		k = engine_iter_key(it, &klen);
		if (klen > VKEY_HDR)
			rc = fn(arg, (const char *)k + VKEY_HDR, klen - VKEY_HDR);
	}
	if (rc == 0)
		rc = engine_iter_status(it);
	engine_iter_free(it);
	return rc;
}

/* Store vw's record (its name checked), or delete it (vw->expr NULL). */
static int
put(struct views *v, const char *name, const struct view *vw)
{
	unsigned char k[VKEY_HDR + VIEWS_NAME_MAX];
	uint8_t hdr[VVAL_HDR];
	struct engine_batch *b = engine_batch_new();
	struct buf val;
	size_t klen = view_key(name, strlen(name), k);
	int rc;

	buf_init(&val, 0);
	if (vw != NULL) {
		put_be64(hdr, (uint64_t)vw->range_ms);
		put_be64(hdr + 8, (uint64_t)vw->step_ms);
		buf_append(&val, hdr, sizeof(hdr));
		buf_append(&val, vw->expr, vw->expr_len);
		rc = engine_batch_put(b, k, klen, val.data, val.len,
		    ENGINE_NO_EXPIRY);
	} else
		rc = engine_batch_delete(b, k, klen);
	if (rc == 0 && (rc = engine_write(v->e, b, NULL)) != 0)
		rc = err_set(rc, "cannot store view '%s': %s", name,
		    shale_strerror(rc));
	engine_batch_free(b);
	buf_release(&val);
	return rc;
}

/* The checks every change makes first: 0 or -errno with err_set(). */
static int
may_change(struct views *v, const char *name)
{
	if (v->ro)
		return err_set(-EROFS, "a read-only follower changes no view");
	return views_check_name(name, strlen(name));
}

int
views_make(struct views *v, const char *name)
{
	char empty[1] = "";
	struct view vw;
	int rc;

	if ((rc = may_change(v, name)) != 0)
		return rc;
	pthread_mutex_lock(&v->lock);
	rc = views_get(v, name, &vw);
	view_release(&vw);
	if (rc == 0)
		rc = err_set(-EEXIST, "view '%s' exists", name);
	else if (rc == -ENOENT) {
		memset(&vw, 0, sizeof(vw));
		vw.expr = empty;
		rc = put(v, name, &vw);
	}
	pthread_mutex_unlock(&v->lock);
	return rc;
}

int
views_remove(struct views *v, const char *name)
{
	struct view vw;
	int rc;

	if ((rc = may_change(v, name)) != 0)
		return rc;
	pthread_mutex_lock(&v->lock);
	rc = views_get(v, name, &vw);
	view_release(&vw);
	if (rc == 0)
		rc = put(v, name, NULL);
	else if (rc == -ENOENT)
		rc = err_set(-ENOENT, "no view '%s'", name);
	pthread_mutex_unlock(&v->lock);
	return rc;
}

enum field { F_EXPR, F_RANGE, F_STEP };

static int
set(struct views *v, const char *name, enum field f, const char *expr,
    size_t len, int64_t ms)
{
	struct view vw;
	char *old;
	int rc;

	if ((rc = may_change(v, name)) != 0)
		return rc;
	if (f == F_EXPR && len > VIEWS_EXPR_MAX)
		return err_set(-EINVAL, "an expression has at most %d bytes",
		    VIEWS_EXPR_MAX);
	if (f != F_EXPR && ms < 0)
		return err_set(-EINVAL, "a negative duration");
	pthread_mutex_lock(&v->lock);
	if ((rc = views_get(v, name, &vw)) == -ENOENT)
		rc = err_set(-ENOENT, "no view '%s'", name);
	if (rc == 0) {
		old = vw.expr;
		switch (f) {
		case F_EXPR:
			vw.expr = (char *)expr;
			vw.expr_len = len;
			break;
		case F_RANGE:
			vw.range_ms = ms;
			break;
		case F_STEP:
			vw.step_ms = ms;
			break;
		}
		rc = put(v, name, &vw);
		vw.expr = old;
	}
	view_release(&vw);
	pthread_mutex_unlock(&v->lock);
	return rc;
}

int
views_set_expr(struct views *v, const char *name, const char *expr,
    size_t len)
{
	return set(v, name, F_EXPR, expr, len, 0);
}

int
views_set_range(struct views *v, const char *name, int64_t range_ms)
{
	return set(v, name, F_RANGE, NULL, 0, range_ms);
}

int
views_set_step(struct views *v, const char *name, int64_t step_ms)
{
	return set(v, name, F_STEP, NULL, 0, step_ms);
}
