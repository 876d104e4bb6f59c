/*
 * inspect.h - what a store holds, for people: the views of 'shale
 * inspect', read from the object store and never written.
 *
 *   manifest   the newest manifest, summarised
 *   tables     one line per table: level, key, size, records, sequence
 *              range, first and last key
 *   wal        one line per WAL object from the replay point on
 *   sql        every manifest version recorded in the SQLite mirror,
 *              then a query of it, its rows as text
 *
 * It never opens the engine, so it may run beside a writer; what it shows
 * is the store at the moment each object was read. One thread; errors
 * carry a detail in the calling thread's error state.
 */
#ifndef SHALE_INSPECT_H
#define SHALE_INSPECT_H

#include <stdint.h>
#include <stdio.h>

#include "engine/objstore/objstore.h"

/*
 * Write `view` of the store at `uri` (opened as os) to out. cache_dir
 * holds the mirror (NULL: the default, as engine_open() names it); sql is
 * the query of the 'sql' view. A WAL object that does not decode is one
 * line on err ("damaged: ...") and counted in *damaged. 0; -EINVAL for an
 * unknown view; -ENOENT, with a detail, when the store holds no manifest
 * (the 'sql' view runs on an empty mirror instead); or the error of the
 * object store or the mirror.
 */
int	inspect_store(struct objstore *os, const char *uri,
	    const char *cache_dir, const char *view, const char *sql,
	    FILE *out, FILE *err, uint64_t *damaged);

/* 1 if `view` is one of the views above. */
int	inspect_view_known(const char *view);

#endif
