/*
 * manifest_store.h - finding and reading manifest versions in the object
 * store, with the local mirror (mirror.h) as a hint.
 *
 * The newest version is found without listing when the mirror knows a
 * recent one: probe that id and the next ones until one is missing. With
 * no mirror, an empty one, or a hint the store no longer has, list
 * manifest/. Every version read is recorded in the mirror (when there is
 * one); a mirror that fails is logged and ignored, never fatal.
 *
 * Thread-safe as far as the object store and the mirror are.
 */
#ifndef SHALE_MANIFEST_STORE_H
#define SHALE_MANIFEST_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/lsm/manifest.h"
#include "engine/lsm/mirror.h"
#include "engine/objstore/objstore.h"

/* Read version `id`: 0, -ENOENT, SHALE_ECORRUPT or a store error. */
int	manifest_read(struct objstore *os, uint64_t id, struct manifest *m);
/* The newest version, or an empty manifest (id 0) in an empty store. */
int	manifest_find_latest(struct objstore *os, struct mirror *mi,
	    struct manifest *m);
/* Every version id in the store, ascending; the caller frees *ids. */
int	manifest_list_ids(struct objstore *os, uint64_t **ids, size_t *n);
/* Record `m` in the mirror if there is one; failures are only logged. */
void	manifest_mirror(struct mirror *mi, const struct manifest *m);
/*
 * Open the mirror for store `uri`: under `dir` if given, else under
 * $XDG_CACHE_HOME/shale/mirror or ~/.cache/shale/mirror. NULL (logged) if
 * it cannot be had.
 */
struct mirror *manifest_mirror_open(const char *dir, const char *uri);

#endif
