/*
 * kv.h - the records the engine keeps, and the iterator every source of
 * them (memtable, table, merge) provides.
 *
 * A record is a user key, a sequence number, a kind (put or delete), an
 * expiry and, for a put, a value. Records are ordered by user key
 * (bytewise, shorter first on a tie), then by sequence number descending,
 * so the newest version of a key comes first. Sequence numbers start at 1
 * and fit in 56 bits.
 *
 * An iterator walks one source in that order, forwards or backwards. Its
 * entry() is valid until the iterator moves or is freed. An iterator whose
 * source failed (a corrupt block, an object store error) stops being valid
 * and keeps the error in status(). One thread at a time per iterator.
 */
#ifndef SHALE_KV_H
#define SHALE_KV_H

#include <stddef.h>
#include <stdint.h>

#define KV_SEQ_MAX	(((uint64_t)1 << 56) - 1)
#define KV_KEY_MAX	(64u * 1024)		/* bytes in a user key */
#define KV_VALUE_MAX	(64u * 1024 * 1024)	/* bytes in a value */

enum kv_kind { KV_DELETE = 0, KV_PUT = 1 };

struct kv_entry {
	const uint8_t	*key;
	size_t		 klen;
	const uint8_t	*val;		/* NULL for a delete */
	size_t		 vlen;
	uint64_t	 seq;
	uint8_t		 kind;		/* enum kv_kind */
	int64_t		 expire;	/* ms since the epoch; 0 never */
};

/* Compare user keys bytewise; a prefix sorts first. */
int	kv_key_cmp(const void *a, size_t alen, const void *b, size_t blen);
/* Compare records: key ascending, then seq descending. */
int	kv_entry_cmp(const struct kv_entry *a, const struct kv_entry *b);

struct iter;

struct iter_ops {
	/* First record with user key >= key (its newest version). */
	void	(*seek)(struct iter *, const void *key, size_t klen);
	/* Last record with user key <= key (its oldest version). */
	void	(*seek_for_prev)(struct iter *, const void *key, size_t klen);
	void	(*seek_first)(struct iter *);
	void	(*seek_last)(struct iter *);
	void	(*next)(struct iter *);
	void	(*prev)(struct iter *);
	int	(*valid)(struct iter *);
	const struct kv_entry *(*entry)(struct iter *);
	int	(*status)(struct iter *);	/* 0, or the error that stopped it */
	void	(*free)(struct iter *);
};

struct iter {
	const struct iter_ops *ops;
};

#define iter_seek(i, k, n)		((i)->ops->seek((i), (k), (n)))
#define iter_seek_for_prev(i, k, n)	((i)->ops->seek_for_prev((i), (k), (n)))
#define iter_seek_first(i)		((i)->ops->seek_first(i))
#define iter_seek_last(i)		((i)->ops->seek_last(i))
#define iter_next(i)			((i)->ops->next(i))
#define iter_prev(i)			((i)->ops->prev(i))
#define iter_valid(i)			((i)->ops->valid(i))
#define iter_entry(i)			((i)->ops->entry(i))
#define iter_status(i)			((i)->ops->status(i))
#define iter_free(i)			((i)->ops->free(i))

#endif
