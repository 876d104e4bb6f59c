/* kv.c - record order. */
#include "config.h"

#include <string.h>

#include "engine/lsm/kv.h"

int
kv_key_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

int
kv_entry_cmp(const struct kv_entry *a, const struct kv_entry *b)
{
	int c = kv_key_cmp(a->key, a->klen, b->key, b->klen);

	if (c != 0)
		return c;
	return a->seq > b->seq ? -1 : a->seq < b->seq;
}
