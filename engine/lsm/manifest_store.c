/* manifest_store.c - manifest versions in the object store, and the mirror. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/lsm/layout.h"
#include "engine/lsm/manifest_store.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xmalloc.h"

int
manifest_read(struct objstore *os, uint64_t id, struct manifest *m)
{
	struct buf b;
	char key[40];
	int rc;

	manifest_key(id, key);
	buf_init(&b, 0);
	if ((rc = objstore_get(os, key, 0, OBJSTORE_TO_END, &b)) == 0) {
		manifest_release(m);
		manifest_init(m);
		rc = manifest_decode(b.data, b.len, key, m);
	}
	buf_release(&b);
	return rc;
}

int
manifest_list_ids(struct objstore *os, uint64_t **ids, size_t *n)
{
	struct objstore_list l = { 0 };
	char *after = NULL;
	size_t cap = 0;
	uint64_t id;
	int rc;

	*ids = NULL;
	*n = 0;
	do {
		rc = objstore_list(os, LAYOUT_MANIFESTS, after, 0, &l);
		free(after);
		after = NULL;
		if (rc != 0)
			break;
		for (size_t i = 0; i < l.n; i++) {
			if ((id = manifest_key_id(l.entries[i].key)) == 0)
				continue;
			*ids = xgrow(*ids, &cap, *n + 1, sizeof(**ids));
			(*ids)[(*n)++] = id;
		}
		if (l.next != NULL)
			after = xstrdup(l.next);
	} while (after != NULL);
	objstore_list_release(&l);
	if (rc != 0) {
		free(*ids);
		*ids = NULL;
		*n = 0;
	}
	return rc;
}

void
manifest_mirror(struct mirror *mi, const struct manifest *m)
{
	struct buf json;

	if (mi == NULL || m->id == 0)
		return;
	buf_init(&json, 0);
	if (manifest_encode(m, &json) != 0 ||
	    mirror_record(mi, m, json.data, json.len) != 0)
		log_warn("cannot record manifest %llu in the mirror: %s",
		    (unsigned long long)m->id, err_detail());
	buf_release(&json);
}

int
manifest_find_latest(struct objstore *os, struct mirror *mi, struct manifest *m)
{
	struct manifest next;
	uint64_t hint = 0, *ids = NULL;
	size_t n = 0;
	int rc;

	manifest_release(m);
	manifest_init(m);
	if (mi != NULL && mirror_latest_id(mi, &hint) != 0)
		hint = 0;
	if (hint > 0 && (rc = manifest_read(os, hint, m)) != 0) {
		if (rc != -ENOENT)
			return rc;
		hint = 0;	/* the store is not what the mirror remembers */
	}
	if (hint == 0) {
		if ((rc = manifest_list_ids(os, &ids, &n)) != 0)
			return rc;
		if (n > 0 && (rc = manifest_read(os, ids[n - 1], m)) != 0) {
			free(ids);
			return rc;
		}
		free(ids);
	}
	/* newer versions than the one found, written since it was listed or recorded */
	manifest_init(&next);
	while (m->id > 0 && (rc = manifest_read(os, m->id + 1, &next)) == 0) {
		manifest_release(m);
		*m = next;
		manifest_init(&next);
	}
	manifest_release(&next);
	if (m->id > 0 && rc != -ENOENT)
		return rc;
	manifest_mirror(mi, m);
	return 0;
}

struct mirror *
manifest_mirror_open(const char *dir, const char *uri)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	struct mirror *mi = NULL;
	char *path;

	if (dir != NULL && *dir != '\0')
		path = xasprintf("%s/mirror", dir);
	else if (xdg != NULL && *xdg == '/')
		path = xasprintf("%s/shale/mirror", xdg);
	else if (home != NULL && *home == '/')
		path = xasprintf("%s/.cache/shale/mirror", home);
	else
		return NULL;
	if (mirror_open(path, uri, &mi) != 0) {
		log_warn("no manifest mirror: %s", err_detail());
		mi = NULL;
	}
	free(path);
	return mi;
}
