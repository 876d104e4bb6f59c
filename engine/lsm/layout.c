/*
 * layout.c - object keys (layout.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/lsm/layout.h"
#include "util/clock.h"

#define PREFIX_LEN(p)	(sizeof(p) - 1)

/* The number written as exactly 20 decimal digits at s, or 0. */
static uint64_t
id20(const char *s)
{
	uint64_t id = 0;
	unsigned d;

	for (int i = 0; i < 20; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		d = (unsigned)(s[i] - '0');
		if (id > (UINT64_MAX - d) / 10)
			return 0;
		id = id * 10 + d;
	}
	return id;
}

void
manifest_key(uint64_t id, char out[40])
{
	snprintf(out, 40, LAYOUT_MANIFESTS "%020llu", (unsigned long long)id);
}

uint64_t
manifest_key_id(const char *key)
{
	uint64_t id;

	if (key == NULL || strncmp(key, LAYOUT_MANIFESTS,
	    PREFIX_LEN(LAYOUT_MANIFESTS)) != 0)
		return 0;
	key += PREFIX_LEN(LAYOUT_MANIFESTS);
	if ((id = id20(key)) == 0 || key[20] != '\0')
		return 0;
	return id;
}

void
wal_key(uint64_t id, char out[32])
{
	snprintf(out, 32, LAYOUT_WAL "%020llu.wal", (unsigned long long)id);
}

uint64_t
wal_key_id(const char *key)
{
	uint64_t id;

	if (key == NULL || strncmp(key, LAYOUT_WAL, PREFIX_LEN(LAYOUT_WAL)) != 0)
		return 0;
	key += PREFIX_LEN(LAYOUT_WAL);
	if ((id = id20(key)) == 0 || strcmp(key + 20, ".wal") != 0)
		return 0;
	return id;
}

void
sst_object_key(char out[64])
{
	snprintf(out, 64, LAYOUT_TABLES "%012llx%08x%08x.sst",
	    (unsigned long long)(clock_wall_ns() / 1000000), arc4random(),
	    arc4random());
}

int
sst_object_key_ok(const char *key)
{
	size_t n = strlen(key), p = PREFIX_LEN(LAYOUT_TABLES);

	return strncmp(key, LAYOUT_TABLES, p) == 0 && n > p + 4 &&
	    strcmp(key + n - 4, ".sst") == 0 && strchr(key + p, '/') == NULL;
}
