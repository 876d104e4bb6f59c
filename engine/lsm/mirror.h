/*
 * mirror.h - a local SQLite copy of the manifest, for looking at a store
 * with SQL.
 *
 * The manifest lives in the object store (manifest.h); the mirror is a
 * cache of it on local disk: one SQLite database per store, named after
 * the store's URI, which the engine updates with every manifest it reads
 * or writes. It is never the truth: nothing the engine decides is read
 * back from it, and it can be deleted at any time and rebuilt from the
 * store's manifests (mirror_clear() and mirror_record() of each). So a
 * database that is corrupt, unreadable or of another schema version is
 * not an error but is deleted and created afresh (with a log_warn).
 *
 * Schema (PRAGMA user_version 1):
 *
 *	manifest_history(id PRIMARY KEY, epoch, created_ms, wal_replay_from,
 *	    last_seq, l0_count, run_count)
 *					one row per version recorded, with
 *					its number of L0 tables and of runs
 *	manifest(id, epoch, wal_replay_from, last_seq, created_ms, json)
 *					one row: the newest version recorded,
 *					with its JSON as text
 *	tables(key, level, run, position, size, entries, min_seq, max_seq,
 *	    min_expire, max_expire, first_key, last_key)
 *					the tables of that version: level is
 *					'l0' (run NULL, position 0 the newest)
 *					or 'run' (run the run's id, position
 *					the table's place in key order);
 *					first_key and last_key are BLOBs
 *
 * What it does not do: it keeps no checkpoints and no history of tables,
 * only the tables of the newest version, and it does not read the store.
 *
 * The database is in WAL mode with synchronous=NORMAL (a crash may lose
 * the last few updates, which rebuilding restores) and waits up to 5 s
 * for another process's lock. Errors from SQLite are -EIO with the detail
 * "mirror 'PATH': <SQLite's message>" (err_set).
 *
 * Threading: a struct mirror may be shared by threads; every call takes a
 * mutex inside it, so calls are serialised (a long mirror_query() delays
 * mirror_record()). Other processes may open the same database at the same
 * time: SQLite's locks keep them apart.
 */
#ifndef SHALE_MIRROR_H
#define SHALE_MIRROR_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct manifest;

struct mirror;

/*
 * Open (create) the mirror database for the store `uri` in directory `dir`
 * (created if missing, mode 0700): the file dir/<first 16 hex digits of
 * sha256(uri)>.db. Creates the schema if new. The caller frees *out with
 * mirror_close().
 */
int	mirror_open(const char *dir, const char *uri, struct mirror **out);
/* Close the database and free m; NULL is allowed. */
void	mirror_close(struct mirror *m);
/* The database file's path: owned by m, valid until mirror_close(). */
const char *mirror_path(const struct mirror *m);

/* The id of the newest manifest recorded, or 0 if none. */
int	mirror_latest_id(struct mirror *m, uint64_t *id);

/*
 * Record manifest version `mf` (as read from or written to the store) in
 * one transaction: a row in manifest_history, and, if mf->id is >= the id
 * of the current state (or there is none), replace the current state: the
 * one row of `manifest`, with the manifest's JSON `json` (jsonlen bytes,
 * stored as given), and every row of `tables`. Recording an older version
 * only adds its history row; recording the same id twice is harmless
 * (INSERT OR REPLACE). -EINVAL for a NULL json or a number over INT64_MAX.
 */
int	mirror_record(struct mirror *m, const struct manifest *mf,
	    const char *json, size_t jsonlen);

/* Forget everything (used before a rebuild). */
int	mirror_clear(struct mirror *m);

/*
 * Run one read-only SQL statement, on a connection opened read-only, and
 * append its result to `out` as text: a line of the column names, then a
 * line per row, columns separated by tabs. NULL is NULL, a BLOB is x'..'
 * in lower-case hex, numbers are as SQLite prints them, and in text a
 * backslash, tab, newline and carriage return are written \\, \t, \n and
 * \r, so that every row is one line. A statement with no columns appends
 * nothing.
 *
 * -EINVAL (SQLite's message in the detail) for a statement that does not
 * compile or fails as it runs, or for more than one statement; -EPERM for
 * a statement that would write; -ETIMEDOUT if it runs longer than 10 s;
 * -EFBIG if `out` reaches its ceiling. On error `out` is left as it was.
 * A transaction the statement opens (BEGIN) is rolled back after it.
 */
int	mirror_query(struct mirror *m, const char *sql, struct buf *out);

#endif
