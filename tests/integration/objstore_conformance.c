/*
 * objstore_conformance.c - one suite that every object store backend must
 * pass: run it with a store URI (an empty bucket or directory).
 *
 *   objstore_conformance [--big] URI
 *
 * It exercises: round trips of 0 B, 1 B, 5 MiB + 1 and 64 MiB (and, for
 * s3://, a multipart upload of 64 MiB in 5 MiB parts); ranged reads at the
 * edges; head; keys with spaces, '+', '%', unicode, '/', '//' and '~';
 * listing in byte order with pagination over more keys than a page;
 * put_if_absent with 8 concurrent racers, exactly one winner; overwrite;
 * delete of missing keys; batch delete of more keys than one request holds.
 * Prints "ok"/"not ok" lines and exits 1 if any check failed.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/objstore/objstore.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/xmalloc.h"

static int nfail, ncheck;

#define CHECK(cond, ...) do {						\
	ncheck++;							\
	if (cond) {							\
		printf("ok %d - ", ncheck);				\
	} else {							\
		nfail++;						\
		printf("not ok %d - ", ncheck);				\
	}								\
	printf(__VA_ARGS__);						\
	if (!(cond))							\
		printf(" [%s:%d: %s]", __FILE__, __LINE__, #cond);	\
	printf("\n");							\
	fflush(stdout);							\
} while (0)

#define RC(call, ...) do {						\
	int rc_ = (call);						\
	CHECK(rc_ == 0, __VA_ARGS__);					\
	if (rc_ != 0)							\
		printf("    error: %s\n", err_message(rc_));		\
} while (0)

static const char *uri;

static char *
pattern(size_t n, unsigned seed)
{
	char *p = xmalloc(n ? n : 1);

	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (char)(seed >> 16);
	}
	return p;
}

static void
round_trip(struct objstore *os, const char *key, size_t n)
{
	char *data = pattern(n, (unsigned)n);
	struct buf b;
	struct objstore_meta m;

	buf_init(&b, 0);
	RC(objstore_put(os, key, data, n), "put %zu bytes at '%s'", n, key);
	RC(objstore_get(os, key, 0, OBJSTORE_TO_END, &b), "get '%s'", key);
	CHECK(b.len == n && (n == 0 || memcmp(b.data, data, n) == 0),
	    "'%s' reads back %zu bytes intact (got %zu)", key, n, b.len);
	RC(objstore_head(os, key, &m), "head '%s'", key);
	CHECK(m.size == n, "head size of '%s' is %zu", key, n);
	buf_release(&b);
	free(data);
}

static void
test_round_trips(struct objstore *os, int big)
{
	round_trip(os, "rt/empty", 0);
	round_trip(os, "rt/one", 1);
	round_trip(os, "rt/5MiB+1", (5u << 20) + 1);
	if (big)
		round_trip(os, "rt/64MiB", 64u << 20);
}

static void
test_multipart(int big)
{
	struct objstore_opts o = { 0 };
	struct objstore *os;
	int rc;

	if (strncmp(uri, "s3://", 5) != 0 || !big)
		return;
	o.multipart_threshold = 5u << 20;
	o.part_size = 5u << 20;
	rc = objstore_open(uri, &o, &os);
	RC(rc, "open with a 5 MiB multipart threshold");
	if (rc != 0)
		return;
	round_trip(os, "rt/multipart-64MiB", 64u << 20);
	round_trip(os, "rt/multipart-5MiB+1", (5u << 20) + 1);
	objstore_close(os);
}

static void
get_range(struct objstore *os, const char *data, uint64_t size, uint64_t off,
    uint64_t len)
{
	struct buf b;
	uint64_t want;
	int rc;

	buf_init(&b, 0);
	buf_puts(&b, "keep");	/* gets append: what was there stays */
	rc = objstore_get(os, "range/obj", off, len, &b);
	want = off >= size ? 0 : len == OBJSTORE_TO_END || len > size - off ?
	    size - off : len;
	CHECK(rc == 0 && b.len == 4 + want && memcmp(b.data, "keep", 4) == 0 &&
	    (want == 0 || memcmp(b.data + 4, data + off, want) == 0),
	    "range off %llu len %lld of %llu bytes gives %llu bytes (rc %d, got %zu)",
	    (unsigned long long)off, len == OBJSTORE_TO_END ? -1LL : (long long)len,
	    (unsigned long long)size, (unsigned long long)want, rc, b.len - 4);
	buf_release(&b);
}

static void
test_ranges(struct objstore *os)
{
	const uint64_t n = 1000;
	char *data = pattern(n, 7);
	struct buf b;

	RC(objstore_put(os, "range/obj", data, n), "put range object");
	get_range(os, data, n, 0, 1);
	get_range(os, data, n, 0, n);
	get_range(os, data, n, 0, OBJSTORE_TO_END);
	get_range(os, data, n, n - 1, 1);
	get_range(os, data, n, n - 1, OBJSTORE_TO_END);
	get_range(os, data, n, n - 10, 100);	/* runs past the end */
	get_range(os, data, n, 500, 250);
	get_range(os, data, n, n, 1);		/* at the end */
	get_range(os, data, n, n + 5, OBJSTORE_TO_END);	/* past the end */
	get_range(os, data, n, 3, 0);		/* nothing asked */
	RC(objstore_put(os, "range/empty", "", 0), "put empty object");
	buf_init(&b, 0);
	RC(objstore_get(os, "range/empty", 0, 10, &b), "range of an empty object");
	CHECK(b.len == 0, "empty object reads nothing");
	buf_reset(&b);
	CHECK(objstore_get(os, "range/missing", 0, 10, &b) == -ENOENT,
	    "ranged get of a missing key is -ENOENT");
	buf_release(&b);
	free(data);
}

static void
test_missing_and_overwrite(struct objstore *os)
{
	struct objstore_meta m;
	struct buf b;

	buf_init(&b, 0);
	CHECK(objstore_get(os, "nope/missing", 0, OBJSTORE_TO_END, &b) == -ENOENT,
	    "get of a missing key is -ENOENT");
	CHECK(objstore_head(os, "nope/missing", &m) == -ENOENT,
	    "head of a missing key is -ENOENT");
	RC(objstore_delete(os, "nope/missing"), "delete of a missing key succeeds");
	RC(objstore_put(os, "ow/k", "first", 5), "put first");
	RC(objstore_put(os, "ow/k", "second!", 7), "overwrite");
	RC(objstore_get(os, "ow/k", 0, OBJSTORE_TO_END, &b), "get overwritten");
	CHECK(b.len == 7 && memcmp(b.data, "second!", 7) == 0, "overwrite replaced the bytes");
	RC(objstore_delete(os, "ow/k"), "delete existing key");
	buf_reset(&b);
	CHECK(objstore_get(os, "ow/k", 0, OBJSTORE_TO_END, &b) == -ENOENT,
	    "deleted key is gone");
	buf_release(&b);
}

static const char *odd_keys[] = {
	"odd/a b", "odd/a+b", "odd/a%b", "odd/a%20b", "odd/\xc3\xa9t\xc3\xa9",
	"odd/\xe6\x97\xa5\xe6\x9c\xac", "odd/x/y/z", "odd/double//slash", "odd/~tilde",
	"odd/star*", "odd/q?x=1&y=2", "odd/eq=", "odd/semi;colon", "odd/dot/./seg",
	"odd/.hidden", "odd/end/", "odd/a", "odd/a/b", "odd/a-c", "odd/brace{}[]",
	"odd/quote\"'", "odd/lt<gt>&amp",
};
#define NODD (sizeof(odd_keys) / sizeof(odd_keys[0]))

static int
strcmp_p(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void
test_odd_keys(struct objstore *os)
{
	struct objstore_list l = { 0 };
	const char *sorted[NODD];
	struct buf b;
	size_t i, same;

	buf_init(&b, 0);
	for (i = 0; i < NODD; i++) {
		RC(objstore_put(os, odd_keys[i], odd_keys[i], strlen(odd_keys[i])),
		    "put key '%s'", odd_keys[i]);
		buf_reset(&b);
		RC(objstore_get(os, odd_keys[i], 0, OBJSTORE_TO_END, &b), "get '%s'",
		    odd_keys[i]);
		CHECK(strcmp(buf_str(&b), odd_keys[i]) == 0, "'%s' holds its own name",
		    odd_keys[i]);
	}
	memcpy(sorted, odd_keys, sizeof(sorted));
	qsort(sorted, NODD, sizeof(sorted[0]), strcmp_p);
	RC(objstore_list(os, "odd/", NULL, 0, &l), "list odd keys");
	for (i = same = 0; i < NODD && i < l.n; i++)
		same += strcmp(l.entries[i].key, sorted[i]) == 0;
	CHECK(l.n == NODD && same == NODD, "odd keys list back in byte order "
	    "(%zu listed, %zu in place)", l.n, same);
	for (i = 0; i < l.n && i < NODD; i++)
		if (strcmp(l.entries[i].key, sorted[i]) != 0)
			printf("    listed '%s', expected '%s'\n", l.entries[i].key,
			    sorted[i]);
	RC(objstore_list(os, "odd/a", NULL, 0, &l), "list with prefix 'odd/a'");
	CHECK(l.n == 7, "prefix 'odd/a' matches 7 keys (got %zu)", l.n);
	RC(objstore_list(os, "odd/a", "odd/a%b", 2, &l), "list after a key, page 2");
	CHECK(l.n == 2 && strcmp(l.entries[0].key, "odd/a+b") == 0 &&
	    strcmp(l.entries[1].key, "odd/a-c") == 0 && l.next != NULL,
	    "start-after skips what is before, a short page says there is more");
	objstore_list_release(&l);
	buf_release(&b);
}

struct putter {
	struct objstore	*os;
	const char	*prefix;
	int		 from, to;
	int		 rc;
};

static void *
put_range_thread(void *arg)
{
	struct putter *p = arg;
	char key[128];

	for (int i = p->from; i < p->to && p->rc == 0; i++) {
		snprintf(key, sizeof(key), "%s%05d", p->prefix, i);
		p->rc = objstore_put(p->os, key, key, strlen(key));
	}
	return NULL;
}

/* Put keys prefix00000 .. prefix(n-1) with 8 threads. */
static int
put_many(struct objstore *os, const char *prefix, int n)
{
	struct putter p[8];
	pthread_t t[8];
	int rc = 0;

	for (int i = 0; i < 8; i++) {
		p[i] = (struct putter){ os, prefix, n * i / 8, n * (i + 1) / 8, 0 };
		pthread_create(&t[i], NULL, put_range_thread, &p[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		if (p[i].rc != 0)
			rc = p[i].rc;
	}
	return rc;
}

static void
test_pagination(struct objstore *os)
{
	struct objstore_list l = { 0 };
	char *after = NULL, want[64];
	int n = 1234, seen = 0, pages = 0, inorder = 1, rc = 0;

	RC(put_many(os, "page/k", n), "put %d keys", n);
	/* the backend's own page size, then a small one */
	for (int pass = 0; pass < 2; pass++) {
		seen = pages = 0;
		inorder = 1;
		do {
			rc = objstore_list(os, "page/", after, pass ? 100 : 0, &l);
			free(after);
			after = NULL;
			if (rc != 0)
				break;
			pages++;
			for (size_t i = 0; i < l.n; i++) {
				snprintf(want, sizeof(want), "page/k%05d", seen++);
				inorder &= strcmp(l.entries[i].key, want) == 0;
			}
			after = l.next ? xstrdup(l.next) : NULL;
		} while (after != NULL);
		RC(rc, "list %d keys in pages of %s", n, pass ? "100" : "the default size");
		CHECK(seen == n && inorder, "every key listed once, in order "
		    "(%d seen, %d pages)", seen, pages);
		CHECK(pages >= (pass ? 13 : 2), "listing took more than one page (%d)",
		    pages);
	}
	objstore_list_release(&l);
}

struct racer {
	struct objstore	*os;
	const char	*key;
	int		 id;
	int		 rc;
	pthread_barrier_t *go;
};

static void *
racer_thread(void *arg)
{
	struct racer *r = arg;
	char body[32];

	snprintf(body, sizeof(body), "racer %d", r->id);
	pthread_barrier_wait(r->go);
	r->rc = objstore_put_if_absent(r->os, r->key, body, strlen(body));
	return NULL;
}

static void
test_put_if_absent(struct objstore *os)
{
	pthread_barrier_t go;
	struct racer r[8];
	pthread_t t[8];
	struct buf b;
	char key[64], body[32];

	buf_init(&b, 0);
	for (int round = 0; round < 5; round++) {
		int won = 0, lost = 0, unknown = 0, winner = -1;

		snprintf(key, sizeof(key), "race/%d", round);
		pthread_barrier_init(&go, NULL, 8);
		for (int i = 0; i < 8; i++) {
			r[i] = (struct racer){ os, key, i, 0, &go };
			pthread_create(&t[i], NULL, racer_thread, &r[i]);
		}
		for (int i = 0; i < 8; i++) {
			pthread_join(t[i], NULL);
			if (r[i].rc == 0) {
				won++;
				winner = i;
			} else if (r[i].rc == -EEXIST) {
				lost++;
			} else if (r[i].rc == SHALE_EUNKNOWN) {
				unknown++;
			}
		}
		pthread_barrier_destroy(&go);
		buf_reset(&b);
		RC(objstore_get(os, key, 0, OBJSTORE_TO_END, &b), "read the race's result");
		snprintf(body, sizeof(body), "racer %d", winner);
		CHECK(won == 1 && won + lost + unknown == 8 &&
		    strcmp(buf_str(&b), body) == 0,
		    "8 racers: exactly one winner, whose bytes are stored "
		    "(won %d, lost %d, unknown %d)", won, lost, unknown);
	}
	CHECK(objstore_put_if_absent(os, "race/0", "x", 1) == -EEXIST,
	    "put_if_absent on an existing key is -EEXIST");
	buf_release(&b);
}

static void
test_batch_delete(struct objstore *os)
{
	struct objstore_list l = { 0 };
	const char **keys;
	char *after = NULL;
	size_t n = 0, cap = 0;
	int total = 0, rc;

	RC(put_many(os, "del/k", 1100), "put 1100 keys to delete");
	RC(objstore_put(os, "del/ctl\x01key", "x", 1), "put a key with a control byte");
	keys = NULL;
	do {
		rc = objstore_list(os, "del/", after, 0, &l);
		free(after);
		after = l.next ? xstrdup(l.next) : NULL;
		for (size_t i = 0; rc == 0 && i < l.n; i++) {
			keys = xgrow(keys, &cap, n + 1, sizeof(*keys));
			keys[n++] = xstrdup(l.entries[i].key);
		}
	} while (rc == 0 && after != NULL);
	CHECK(n == 1101, "listed 1101 keys to delete (got %zu)", n);
	keys = xgrow(keys, &cap, n + 1, sizeof(*keys));
	keys[n++] = xstrdup("del/never-existed");
	RC(objstore_delete_batch(os, keys, n), "batch delete of %zu keys (one missing)", n);
	RC(objstore_list(os, "del/", NULL, 0, &l), "list after batch delete");
	total = (int)l.n;
	CHECK(total == 0, "nothing left after batch delete (%d left)", total);
	for (size_t i = 0; i < n; i++)
		free((char *)keys[i]);
	free(keys);
	objstore_list_release(&l);
}

int
main(int argc, char **argv)
{
	struct objstore *os;
	int big = 0, rc;

	if (argc == 3 && strcmp(argv[1], "--big") == 0) {
		big = 1;
		argv++;
		argc--;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: objstore_conformance [--big] URI\n");
		return 2;
	}
	uri = argv[1];
	if ((rc = objstore_open(uri, NULL, &os)) != 0) {
		printf("not ok 1 - open '%s': %s\n", uri, err_message(rc));
		return 1;
	}
	test_round_trips(os, big);
	test_multipart(big);
	test_ranges(os);
	test_missing_and_overwrite(os);
	test_odd_keys(os);
	test_pagination(os);
	test_put_if_absent(os);
	test_batch_delete(os);
	objstore_close(os);
	printf("%d checks, %d failed\n", ncheck, nfail);
	return nfail ? 1 : 0;
}
