/*
 * layout.h - where a store keeps what: the one place object keys are
 * made and read (shale-format(5)).
 *
 *   manifest/<id>            a manifest version; id in 20 decimal digits
 *   wal/<id>.wal             a WAL object; id in 20 decimal digits
 *   compacted/<name>.sst     a table, L0 or of a sorted run; name is
 *                            made unique by its writer, without a '/'
 *
 * The 20 digits make keys list in id order. Pure functions: any thread.
 */
#ifndef SHALE_LAYOUT_H
#define SHALE_LAYOUT_H

#include <stdint.h>

#define LAYOUT_MANIFESTS	"manifest/"
#define LAYOUT_WAL		"wal/"
#define LAYOUT_TABLES		"compacted/"

/* "manifest/00000000000000000042" */
void	manifest_key(uint64_t id, char out[40]);
/* The id in a manifest's key, or 0 if the key is not one. */
uint64_t manifest_key_id(const char *key);

/* "wal/00000000000000000042.wal" */
void	wal_key(uint64_t id, char out[32]);
/* The id in a WAL object's key, or 0 if the key is not one. */
uint64_t wal_key_id(const char *key);

/*
 * A new table's key: compacted/, the wall clock in ms and 64 random bits
 * in hex, .sst; never the same twice.
 */
void	sst_object_key(char out[64]);
/* 1 if key is a table's (compacted/<name>.sst, no '/' in name). */
int	sst_object_key_ok(const char *key);

#endif
