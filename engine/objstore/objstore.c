/*
 * objstore.c - the public object store calls: argument checks, opening a
 * store by URI and stacking its layers (the disk cache outermost).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/objstore/objstore_int.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/xmalloc.h"

int
objstore_key_check(const char *key)
{
	size_t n;

	if (key == NULL || *key == '\0')
		return err_set(-EINVAL, "empty object key");
	if ((n = strlen(key)) > OBJSTORE_KEY_MAX)
		return err_set(-ENAMETOOLONG, "object key of %zu bytes (at most %d)",
		    n, OBJSTORE_KEY_MAX);
	return 0;
}

/* Open the backend named by `uri`, with a fault layer if asked. */
static int
open_backend(const char *uri, const struct objstore_opts *o,
    struct objstore **out)
{
	struct objstore_uri u;
	struct objstore *inner = NULL;
	int rc;

	if ((rc = objstore_uri_parse(uri, &u)) != 0)
		return rc;
	switch (u.scheme) {
	case OBJSTORE_FILE:
		rc = objstore_file_open(u.path, o, out);
		break;
	case OBJSTORE_S3:
		rc = objstore_s3_open(u.bucket, u.prefix, o, out);
		break;
	case OBJSTORE_FAULT:
		/* check the options before the inner store is touched */
		if ((rc = objstore_fault_open(u.fault_spec, NULL, out)) != 0)
			break;
		if ((rc = open_backend(u.inner, o, &inner)) != 0) {
			(*out)->ops->close(*out);
			*out = NULL;
			break;
		}
		(*out)->inner = inner;
		break;
	}
	if (rc == 0)
		(*out)->uri = xstrdup(uri);
	objstore_uri_release(&u);
	return rc;
}

int
objstore_open(const char *uri, const struct objstore_opts *opts,
    struct objstore **out)
{
	struct objstore_opts dflt;
	struct objstore *be = NULL, *retry = NULL;
	int rc;

	*out = NULL;
	err_clear();
	if (opts == NULL) {
		memset(&dflt, 0, sizeof(dflt));
		opts = &dflt;
	}
	if ((rc = open_backend(uri, opts, &be)) != 0)
		return rc;
	if ((rc = objstore_retry_open(be, opts, &retry)) != 0)
		goto fail;
	be = NULL;
	if ((rc = objstore_count_open(retry, opts, out)) != 0)
		goto fail;
	if (opts->cache_dir != NULL && *opts->cache_dir != '\0' &&
	    (rc = objstore_cache_open(*out, opts, uri, out)) != 0) {
		(*out)->ops->close(*out);
		*out = NULL;
		return rc;
	}
	(*out)->uri = xstrdup(uri);
	return 0;
fail:
	if (retry != NULL)
		retry->ops->close(retry);
	if (be != NULL)
		be->ops->close(be);
	return rc;
}

void
objstore_close(struct objstore *os)
{
	if (os != NULL)
		os->ops->close(os);
}

const char *
objstore_uri(const struct objstore *os)
{
	return os->uri ? os->uri : "";
}

int
objstore_get(struct objstore *os, const char *key, uint64_t off, uint64_t len,
    struct buf *out)
{
	int rc;

	if ((rc = objstore_key_check(key)) != 0)
		return rc;
	return os->ops->get(os, key, off, len, out);
}

int
objstore_put(struct objstore *os, const char *key, const void *data, size_t len)
{
	int rc;

	if ((rc = objstore_key_check(key)) != 0)
		return rc;
	return os->ops->put(os, key, data, len);
}

int
objstore_put_if_absent(struct objstore *os, const char *key, const void *data,
    size_t len)
{
	int rc;

	if ((rc = objstore_key_check(key)) != 0)
		return rc;
	return os->ops->put_if_absent(os, key, data, len);
}

int
objstore_head(struct objstore *os, const char *key, struct objstore_meta *meta)
{
	int rc;

	if ((rc = objstore_key_check(key)) != 0)
		return rc;
	memset(meta, 0, sizeof(*meta));
	return os->ops->head(os, key, meta);
}

int
objstore_list(struct objstore *os, const char *prefix, const char *start_after,
    size_t max, struct objstore_list *out)
{
	objstore_list_release(out);
	if (prefix == NULL)
		prefix = "";
	if (strlen(prefix) > OBJSTORE_KEY_MAX)
		return err_set(-ENAMETOOLONG, "list prefix too long");
	return os->ops->list(os, prefix, start_after, max, out);
}

void
objstore_list_release(struct objstore_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->entries[i].key);
	free(l->entries);
	free(l->next);
	memset(l, 0, sizeof(*l));
}

void
objstore_list_add(struct objstore_list *l, const char *key, size_t keylen,
    uint64_t size, int64_t mtime)
{
	struct objstore_entry *e;

	l->entries = xgrow(l->entries, &l->cap, l->n + 1, sizeof(*l->entries));
	e = &l->entries[l->n++];
	e->key = xstrndup(key, keylen);
	e->size = size;
	e->mtime = mtime;
}

int
objstore_delete(struct objstore *os, const char *key)
{
	int rc;

	if ((rc = objstore_key_check(key)) != 0)
		return rc;
	return os->ops->delete(os, key);
}

int
objstore_delete_batch(struct objstore *os, const char *const *keys, size_t n)
{
	int rc;

	for (size_t i = 0; i < n; i++)
		if ((rc = objstore_key_check(keys[i])) != 0)
			return rc;
	if (n == 0)
		return 0;
	return os->ops->delete_batch(os, keys, n);
}
