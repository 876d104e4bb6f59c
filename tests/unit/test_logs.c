/*
 * test_logs.c - log streams (src/model/logs*.c) over a file:// engine.
 *
 * Exercises: names ("", ".", "..", '/', 255 and 256 bytes) through
 * logs_name_check, create, mkdir, lookup and rename; the namespace
 * (mkdir, create, lookup, getattr, readdir with names, types and each
 * entry once, nested directories, -EEXIST, -ENOENT, -ENOTDIR, unlink and
 * rmdir with -EISDIR, -ENOTDIR, -ENOTEMPTY); readdir in name order and
 * stopping early; rename (in a directory, across, replacing a stream,
 * NOREPLACE, over a non-empty and an empty directory, into its own
 * subtree, stream over directory and back, onto itself) and its
 * persistence; logs_usage counts, also after reopening; persistence of the
 * whole tree (ids, types, sizes, contents, times) across a writer reopen,
 * ids never reused, and a reader reopen where every change is -EROFS;
 * writers: LOGS_W_APPEND ignoring offsets, a positioned writer refused
 * (-EPERM, nothing changed) off the end, partial lines held and flushed,
 * two writers never interleaving inside a line, LOGS_LINE_HOLD_MAX,
 * LOGS_W_SYNC, a writer of a removed stream; the compaction filter
 * (records of removed and truncated streams dropped, of a removed stream
 * still open kept until it closes); records longer than
 * LOGS_RECORD_MAX (a 200 KiB line, 1 MiB of short lines) through writers
 * and logs_append, read back exactly, their records in the engine laid
 * out as logs.h says (contiguous, none over LOGS_RECORD_MAX, whole lines
 * unless a line is longer than a record); logs_read at every kind of offset and size; readers
 * reading on sequentially, at random offsets, and seeing later appends
 * and truncations; logs_truncate (to 0, to the size, refused otherwise,
 * also across a reopen); logs_offset_at across a second boundary, at
 * record timestamps and after a reopen; mtime; change callbacks; and four
 * appending writer threads cutting lines while one thread follows the
 * stream and another reads at random offsets through the same reader:
 * every line whole, each writer's lines once and in order; labels of
 * streams (set, whole sets, reopens, a follower, compaction); the path
 * of a pushed label set; pushes with their time checks, and from four
 * threads at once; scans by time over out-of-order entries, and with
 * needles (the same lines as filtering every one, from the memtable and
 * from tables, with the blocks the needles rule out left unread).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <xxhash.h>

#include "engine/lsm/engine.h"
#include "engine/objstore/objstore.h"
#include "engine/lsm/settings.h"
#include "model/labels.h"
#include "model/logs.h"
#include "tests/unit/scratch.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/xmalloc.h"

#define ROOT		LOGS_ROOT_ID
#define NOID		((uint64_t)999999999)
#define SEC		((int64_t)1000000000)

static char	scratch[PATH_MAX];
static int	nstores;

struct store {
	char		 uri[PATH_MAX + 32];
	struct engine	*e;
	struct logs	*l;
};

/* ---- helpers ---- */

static uint64_t
rnd(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static int64_t	ttl_ms;		/* default_ttl of the stores opened */

static void
store_open(struct store *s, enum engine_mode mode)
{
	struct engine_settings es;
	struct objstore_opts so;
	struct logs_status st;

	engine_settings_default(&es);
	es.flush_interval_ms = 10;
	es.default_ttl_ms = ttl_ms;
	memset(&so, 0, sizeof(so));
	so.no_fsync = 1;
	assert_int_equal(engine_open(s->uri, &so, &es, mode, &s->e), 0);
	engine_settings_release(&es);
	assert_int_equal(logs_open(s->e, &s->l), 0);
	assert_int_equal(logs_read_only(s->l), mode == ENGINE_READER);
	logs_status(s->l, &st);
	assert_int_equal(st.reader, mode == ENGINE_READER);
}

/* A fresh store file://scratch/storeN, open as writer. */
static void
store_new(struct store *s)
{
	snprintf(s->uri, sizeof(s->uri), "file://%s/store%d", scratch,
	    nstores++);
	store_open(s, ENGINE_WRITER);
}

static void
store_close(struct store *s)
{
	logs_close(s->l);
	s->l = NULL;
	assert_int_equal(engine_close(s->e), 0);
	s->e = NULL;
}

static void
store_reopen(struct store *s, enum engine_mode mode)
{
	store_close(s);
	store_open(s, mode);
}

static uint64_t
mk(struct logs *l, uint64_t parent, const char *name, enum logs_type type)
{
	struct logs_attr a;

	if (type == LOGS_DIR)
		assert_int_equal(logs_mkdir(l, parent, name, &a), 0);
	else
		assert_int_equal(logs_create(l, parent, name, &a), 0);
	assert_int_equal(a.type, type);
	assert_int_equal(a.parent, parent);
	assert_int_equal(a.size, 0);
	assert_true(a.id > ROOT);
	return a.id;
}

static uint64_t
look(struct logs *l, uint64_t parent, const char *name)
{
	struct logs_attr a;

	assert_int_equal(logs_lookup(l, parent, name, &a), 0);
	assert_int_equal(a.parent, parent);
	return a.id;
}

static uint64_t
size_of(struct logs *l, uint64_t id)
{
	struct logs_attr a;

	assert_int_equal(logs_getattr(l, id, &a), 0);
	assert_int_equal(a.type, LOGS_STREAM);
	return a.size;
}

static void
put(struct logs *l, uint64_t id, const void *p, size_t n)
{
	uint64_t seq = 0;

	assert_int_equal(logs_append(l, id, p, n, &seq), 0);
	assert_true(seq > 0);
}

static void
puts_(struct logs *l, uint64_t id, const char *s)
{
	put(l, id, s, strlen(s));
}

static void
read_all(struct logs *l, uint64_t id, struct buf *b)
{
	static char tmp[65536];
	uint64_t off = 0;
	ssize_t got;

	buf_reset(b);
	while ((got = logs_read(l, id, off, tmp, sizeof(tmp))) > 0) {
		assert_int_equal(buf_append(b, tmp, (size_t)got), 0);
		off += (uint64_t)got;
	}
	assert_int_equal(got, 0);
}

/* The stream's size and every byte are these. */
static void
assert_content(struct logs *l, uint64_t id, const void *p, size_t n)
{
	struct buf b;

	assert_int_equal(size_of(l, id), n);
	buf_init(&b, 0);
	read_all(l, id, &b);
	assert_int_equal(b.len, n);
	if (n > 0)
		assert_memory_equal(b.data, p, n);
	buf_release(&b);
}

static void
assert_str(struct logs *l, uint64_t id, const char *s)
{
	assert_content(l, id, s, strlen(s));
}

/* Lines of 1..maxlen bytes (newline included) of printable bytes. */
static void
gen_lines(struct buf *b, size_t n, size_t maxlen, uint64_t *seed)
{
	while (b->len < n) {
		size_t len = 1 + rnd(seed) % maxlen;

		if (len > n - b->len)
			len = n - b->len;
		for (size_t i = 0; i + 1 < len; i++)
			buf_putc(b, (char)('!' + rnd(seed) % 90));
		buf_putc(b, '\n');
	}
}

/* ---- readdir ---- */

struct entries {
	char		**name;
	size_t		 *len;
	struct logs_attr *a;
	size_t		 n;
	size_t		 stop;		/* return 1 after this many; 0: never */
};

static int
collect(void *arg, const char *name, size_t len, const struct logs_attr *a)
{
	struct entries *en = arg;

	en->name = xrealloc(en->name, (en->n + 1) * sizeof(*en->name));
	en->len = xrealloc(en->len, (en->n + 1) * sizeof(*en->len));
	en->a = xrealloc(en->a, (en->n + 1) * sizeof(*en->a));
	en->name[en->n] = xstrndup(name, len);
	en->len[en->n] = len;
	en->a[en->n] = *a;
	en->n++;
	return en->stop != 0 && en->n >= en->stop;
}

static void
entries_free(struct entries *en)
{
	for (size_t i = 0; i < en->n; i++)
		free(en->name[i]);
	free(en->name);
	free(en->len);
	free(en->a);
	memset(en, 0, sizeof(*en));
}

static void
list(struct logs *l, uint64_t dir, struct entries *en)
{
	memset(en, 0, sizeof(*en));
	assert_int_equal(logs_readdir(l, dir, collect, en), 0);
}

static int
strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The directory holds exactly these names (a NULL-terminated list of
 * "name" for a stream and "name/" for a directory), each once.
 */
static void
assert_dir(struct logs *l, uint64_t dir, const char **want)
{
	struct entries en;
	struct logs_attr a;
	char **got, **exp;
	size_t n = 0;

	while (want[n] != NULL)
		n++;
	list(l, dir, &en);
	assert_int_equal(en.n, n);
	got = xcalloc(n + 1, sizeof(*got));
	exp = xcalloc(n + 1, sizeof(*exp));
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(strlen(en.name[i]), en.len[i]);
		assert_int_equal(en.a[i].parent, dir);
		assert_int_equal(logs_lookup(l, dir, en.name[i], &a), 0);
		assert_int_equal(a.id, en.a[i].id);
		assert_int_equal(a.type, en.a[i].type);
		got[i] = xasprintf("%s%s", en.name[i],
		    en.a[i].type == LOGS_DIR ? "/" : "");
		exp[i] = xstrdup(want[i]);
	}
	qsort(got, n, sizeof(*got), strp_cmp);
	qsort(exp, n, sizeof(*exp), strp_cmp);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(got[i], exp[i]);
	for (size_t i = 0; i < n; i++) {
		free(got[i]);
		free(exp[i]);
	}
	free(got);
	free(exp);
	entries_free(&en);
}

/*
 * The whole tree under dir as sorted lines "path type id parent size
 * hash times", each name checked once per directory and against lookup.
 */
struct tree {
	char	**line;
	size_t	 n;
};

static void
tree_add(struct tree *t, char *line)
{
	t->line = xrealloc(t->line, (t->n + 1) * sizeof(*t->line));
	t->line[t->n++] = line;
}

static void
walk(struct logs *l, uint64_t dir, const char *path, struct tree *t)
{
	struct entries en;
	struct logs_attr a;
	struct buf b;
	char *p;

	list(l, dir, &en);
	buf_init(&b, 0);
	for (size_t i = 0; i < en.n; i++) {
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(en.name[i], en.name[j]);
		assert_int_equal(logs_lookup(l, dir, en.name[i], &a), 0);
		assert_int_equal(a.id, en.a[i].id);
		assert_int_equal(a.type, en.a[i].type);
		assert_int_equal(a.parent, dir);
		p = xasprintf("%s/%s", path, en.name[i]);
		if (a.type == LOGS_STREAM) {
			read_all(l, a.id, &b);
			assert_int_equal(b.len, a.size);
			/* an empty stream's mtime is not an append's */
			tree_add(t, xasprintf("%s S %llu %llu %llu %016llx "
			    "%lld %lld", p, (unsigned long long)a.id,
			    (unsigned long long)a.parent,
			    (unsigned long long)a.size,
			    (unsigned long long)XXH3_64bits(b.data, b.len),
			    (long long)a.ctime_ns,
			    a.size > 0 ? (long long)a.mtime_ns : 0LL));
		} else {
			assert_int_equal(a.type, LOGS_DIR);
			tree_add(t, xasprintf("%s D %llu %llu %lld %lld", p,
			    (unsigned long long)a.id,
			    (unsigned long long)a.parent,
			    (long long)a.ctime_ns, (long long)a.mtime_ns));
			walk(l, a.id, p, t);
		}
		free(p);
	}
	buf_release(&b);
	entries_free(&en);
}

static void
tree_get(struct logs *l, struct tree *t)
{
	struct logs_attr a;

	memset(t, 0, sizeof(*t));
	assert_int_equal(logs_getattr(l, ROOT, &a), 0);
	assert_int_equal(a.type, LOGS_DIR);
	tree_add(t, xasprintf("/ D %llu %lld %lld", (unsigned long long)a.id,
	    (long long)a.ctime_ns, (long long)a.mtime_ns));
	walk(l, ROOT, "", t);
	qsort(t->line, t->n, sizeof(*t->line), strp_cmp);
}

static void
tree_free(struct tree *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->line[i]);
	free(t->line);
	memset(t, 0, sizeof(*t));
}

static void
assert_tree_equal(const struct tree *a, const struct tree *b)
{
	for (size_t i = 0; i < a->n && i < b->n; i++)
		assert_string_equal(a->line[i], b->line[i]);
	assert_int_equal(a->n, b->n);
}

/* ---- names ---- */

static void
test_names(void **state)
{
	struct store s;
	struct logs_attr a;
	char n255[LOGS_NAME_MAX + 1], n256[LOGS_NAME_MAX + 2];
	const char *bad[] = { "", ".", "..", "a/b", "/", "/a", "a/", NULL };
	uint64_t id;

	(void)state;
	memset(n255, 'n', LOGS_NAME_MAX);
	n255[LOGS_NAME_MAX] = '\0';
	memset(n256, 'n', LOGS_NAME_MAX + 1);
	n256[LOGS_NAME_MAX + 1] = '\0';

	assert_int_equal(logs_name_check("", 0), -EINVAL);
	assert_int_equal(logs_name_check(".", 1), -EINVAL);
	assert_int_equal(logs_name_check("..", 2), -EINVAL);
	assert_int_equal(logs_name_check("a/b", 3), -EINVAL);
	assert_int_equal(logs_name_check("a\0b", 3), -EINVAL);
	assert_int_equal(logs_name_check("...", 3), 0);
	assert_int_equal(logs_name_check(".a", 2), 0);
	assert_int_equal(logs_name_check("a b\t\xff", 5), 0);
	assert_int_equal(logs_name_check(n255, LOGS_NAME_MAX), 0);
	assert_int_equal(logs_name_check(n256, LOGS_NAME_MAX + 1),
	    -ENAMETOOLONG);

	store_new(&s);
	for (size_t i = 0; bad[i] != NULL; i++) {
		assert_int_equal(logs_create(s.l, ROOT, bad[i], &a), -EINVAL);
		assert_int_equal(logs_mkdir(s.l, ROOT, bad[i], &a), -EINVAL);
	}
	assert_int_equal(logs_create(s.l, ROOT, n256, &a), -ENAMETOOLONG);
	assert_int_equal(logs_mkdir(s.l, ROOT, n256, &a), -ENAMETOOLONG);
	assert_int_equal(logs_lookup(s.l, ROOT, n256, &a), -ENAMETOOLONG);
	assert_dir(s.l, ROOT, (const char *[]){ NULL });

	id = mk(s.l, ROOT, n255, LOGS_STREAM);
	assert_int_equal(look(s.l, ROOT, n255), id);
	assert_int_equal(logs_lookup(s.l, ROOT, "", &a), -ENOENT);
	mk(s.l, ROOT, "...", LOGS_DIR);
	mk(s.l, ROOT, ".hidden", LOGS_STREAM);

	/* renaming to a bad name changes nothing */
	for (size_t i = 0; bad[i] != NULL; i++)
		assert_int_equal(logs_rename(s.l, ROOT, n255, ROOT, bad[i], 0),
		    -EINVAL);
	assert_int_equal(logs_rename(s.l, ROOT, n255, ROOT, n256, 0),
	    -ENAMETOOLONG);
	assert_int_equal(logs_rename(s.l, ROOT, n256, ROOT, "x", 0),
	    -ENAMETOOLONG);
	assert_int_equal(look(s.l, ROOT, n255), id);
	assert_int_equal(logs_rename(s.l, ROOT, n255, ROOT, "short", 0), 0);
	assert_int_equal(logs_rename(s.l, ROOT, "short", ROOT, n255, 0), 0);

	/* a 255-byte name survives a reopen */
	store_reopen(&s, ENGINE_WRITER);
	assert_int_equal(look(s.l, ROOT, n255), id);
	assert_dir(s.l, ROOT, (const char *[]){ n255, ".../", ".hidden",
	    NULL });
	store_close(&s);
}

/* ---- the namespace ---- */

static void
test_namespace(void **state)
{
	struct store s;
	struct logs_attr a, b;
	uint64_t da, db, dc, s1, deep, id, big = ROOT, ids[300];
	int64_t t0 = clock_wall_ns();
	char buf[16], buf2[16];

	(void)state;
	store_new(&s);
	assert_int_equal(logs_getattr(s.l, ROOT, &a), 0);
	assert_int_equal(a.id, ROOT);
	assert_int_equal(a.type, LOGS_DIR);
	assert_int_equal(a.size, 0);
	assert_dir(s.l, ROOT, (const char *[]){ NULL });

	da = mk(s.l, ROOT, "a", LOGS_DIR);
	s1 = mk(s.l, da, "s1", LOGS_STREAM);
	db = mk(s.l, da, "b", LOGS_DIR);
	dc = mk(s.l, db, "c", LOGS_DIR);
	deep = mk(s.l, dc, "deep", LOGS_STREAM);
	/* every id new and above the root */
	{
		uint64_t v[] = { da, s1, db, dc, deep };

		for (size_t i = 0; i < 5; i++)
			for (size_t j = 0; j < i; j++)
				assert_int_not_equal(v[i], v[j]);
	}

	assert_int_equal(look(s.l, ROOT, "a"), da);
	assert_int_equal(look(s.l, da, "s1"), s1);
	assert_int_equal(look(s.l, da, "b"), db);
	assert_int_equal(look(s.l, db, "c"), dc);
	assert_int_equal(look(s.l, dc, "deep"), deep);
	assert_int_equal(logs_getattr(s.l, deep, &a), 0);
	assert_int_equal(a.id, deep);
	assert_int_equal(a.type, LOGS_STREAM);
	assert_int_equal(a.parent, dc);
	assert_int_equal(a.size, 0);
	assert_true(a.ctime_ns >= t0 - 2 * SEC &&
	    a.ctime_ns <= clock_wall_ns() + 2 * SEC);
	assert_int_equal(logs_getattr(s.l, db, &a), 0);
	assert_int_equal(a.type, LOGS_DIR);
	assert_int_equal(a.parent, da);

	assert_dir(s.l, ROOT, (const char *[]){ "a/", NULL });
	assert_dir(s.l, da, (const char *[]){ "s1", "b/", NULL });
	assert_dir(s.l, db, (const char *[]){ "c/", NULL });
	assert_dir(s.l, dc, (const char *[]){ "deep", NULL });

	/* taken names: nothing changes */
	assert_int_equal(logs_mkdir(s.l, ROOT, "a", &b), -EEXIST);
	assert_int_equal(logs_create(s.l, ROOT, "a", &b), -EEXIST);
	assert_int_equal(logs_mkdir(s.l, da, "s1", &b), -EEXIST);
	assert_int_equal(logs_create(s.l, da, "s1", &b), -EEXIST);
	assert_int_equal(look(s.l, da, "s1"), s1);
	assert_int_equal(look(s.l, ROOT, "a"), da);

	/* missing */
	assert_int_equal(logs_lookup(s.l, da, "nope", &b), -ENOENT);
	assert_int_equal(logs_lookup(s.l, NOID, "a", &b), -ENOENT);
	assert_int_equal(logs_getattr(s.l, NOID, &b), -ENOENT);
	assert_int_equal(logs_mkdir(s.l, NOID, "x", &b), -ENOENT);
	assert_int_equal(logs_create(s.l, NOID, "x", &b), -ENOENT);
	assert_int_equal(logs_readdir(s.l, NOID, collect, NULL), -ENOENT);
	assert_int_equal(logs_unlink(s.l, da, "nope"), -ENOENT);
	assert_int_equal(logs_rmdir(s.l, da, "nope"), -ENOENT);
	assert_int_equal(logs_unlink(s.l, NOID, "s1"), -ENOENT);
	assert_int_equal(logs_append(s.l, NOID, "x\n", 2, NULL), -ENOENT);
	assert_int_equal(logs_read(s.l, NOID, 0, buf, sizeof(buf)), -ENOENT);
	assert_null(logs_writer_new(s.l, NOID, 0));
	assert_null(logs_reader_new(s.l, NOID));

	/* a stream is not a directory, a directory not a stream */
	assert_int_equal(logs_lookup(s.l, s1, "x", &b), -ENOTDIR);
	assert_int_equal(logs_mkdir(s.l, s1, "x", &b), -ENOTDIR);
	assert_int_equal(logs_create(s.l, s1, "x", &b), -ENOTDIR);
	assert_int_equal(logs_readdir(s.l, s1, collect, NULL), -ENOTDIR);
	assert_int_equal(logs_read(s.l, da, 0, buf, sizeof(buf)), -EISDIR);
	assert_int_equal(logs_append(s.l, da, "x\n", 2, NULL), -EISDIR);
	assert_int_equal(logs_truncate(s.l, da, 0), -EISDIR);
	assert_null(logs_writer_new(s.l, da, LOGS_W_APPEND));
	assert_null(logs_reader_new(s.l, da));

	/* unlink and rmdir refuse the other kind and non-empty directories */
	assert_int_equal(logs_unlink(s.l, da, "b"), -EISDIR);
	assert_int_equal(logs_rmdir(s.l, da, "s1"), -ENOTDIR);
	assert_int_equal(logs_rmdir(s.l, da, "b"), -ENOTEMPTY);
	assert_int_equal(logs_rmdir(s.l, db, "c"), -ENOTEMPTY);
	assert_int_equal(logs_rmdir(s.l, ROOT, "a"), -ENOTEMPTY);
	assert_dir(s.l, da, (const char *[]){ "s1", "b/", NULL });

	puts_(s.l, deep, "deep\n");
	assert_int_equal(logs_unlink(s.l, dc, "deep"), 0);
	assert_int_equal(logs_lookup(s.l, dc, "deep", &b), -ENOENT);
	assert_int_equal(logs_getattr(s.l, deep, &b), -ENOENT);
	assert_int_equal(logs_append(s.l, deep, "x\n", 2, NULL), -ENOENT);
	assert_int_equal(logs_read(s.l, deep, 0, buf, sizeof(buf)), -ENOENT);
	assert_dir(s.l, dc, (const char *[]){ NULL });
	assert_int_equal(logs_rmdir(s.l, db, "c"), 0);
	assert_int_equal(logs_getattr(s.l, dc, &b), -ENOENT);
	assert_int_equal(logs_rmdir(s.l, da, "b"), 0);
	assert_dir(s.l, da, (const char *[]){ "s1", NULL });

	/* a name made again is a new entry, with a new id, empty */
	puts_(s.l, s1, "old\n");
	assert_int_equal(logs_unlink(s.l, da, "s1"), 0);
	id = mk(s.l, da, "s1", LOGS_STREAM);
	assert_int_not_equal(id, s1);
	assert_content(s.l, id, "", 0);
	id = mk(s.l, da, "b", LOGS_STREAM);
	assert_int_not_equal(id, db);
	assert_dir(s.l, da, (const char *[]){ "s1", "b", NULL });

	/*
	 * Many entries (the tables grow), ids only growing; then some
	 * renamed and some removed, before and after a reopen.
	 */
	for (int i = 0; i < 300; i++) {
		snprintf(buf, sizeof(buf), "n%d", i);
		ids[i] = mk(s.l, i % 2 ? da : ROOT, buf,
		    i % 3 ? LOGS_STREAM : LOGS_DIR);
		assert_true(ids[i] > big);
		big = ids[i];
	}
	for (int i = 0; i < 300; i += 4) {
		snprintf(buf, sizeof(buf), "n%d", i);
		snprintf(buf2, sizeof(buf2), "m%d", i);
		assert_int_equal(logs_rename(s.l, ROOT, buf, da, buf2, 0), 0);
	}
	for (int i = 1; i < 300; i += 6) {
		snprintf(buf, sizeof(buf), "n%d", i);
		assert_int_equal(i % 3 ? logs_unlink(s.l, da, buf) :
		    logs_rmdir(s.l, da, buf), 0);
	}
	for (int pass = 0; pass < 2; pass++) {
		size_t nroot = 0, nda = 0;
		struct entries en;

		for (int i = 0; i < 300; i++) {
			snprintf(buf, sizeof(buf), "n%d", i);
			snprintf(buf2, sizeof(buf2), "m%d", i);
			if (i % 4 == 0) {
				assert_int_equal(look(s.l, da, buf2), ids[i]);
				assert_int_equal(logs_lookup(s.l, ROOT, buf,
				    &b), -ENOENT);
				nda++;
			} else if (i % 6 == 1) {
				assert_int_equal(logs_lookup(s.l, da, buf, &b),
				    -ENOENT);
				assert_int_equal(logs_getattr(s.l, ids[i], &b),
				    -ENOENT);
			} else {
				assert_int_equal(look(s.l, i % 2 ? da : ROOT,
				    buf), ids[i]);
				if (i % 2)
					nda++;
				else
					nroot++;
			}
		}
		list(s.l, ROOT, &en);
		assert_int_equal(en.n, nroot + 1);	/* and "a" */
		entries_free(&en);
		list(s.l, da, &en);
		assert_int_equal(en.n, nda + 2);	/* and "s1", "b" */
		entries_free(&en);
		store_reopen(&s, ENGINE_WRITER);
	}
	store_close(&s);
}

/* readdir calls fn in name order; a non-zero return stops it. */
static void
test_readdir_order(void **state)
{
	struct store s;
	struct entries en;
	uint64_t seed = 7;
	char name[32];
	uint64_t d;

	(void)state;
	store_new(&s);
	d = mk(s.l, ROOT, "d", LOGS_DIR);
	/* names made in random order, some prefixes of others */
	for (int i = 0; i < 60; i++) {
		snprintf(name, sizeof(name), "%c%llu",
		    'a' + (int)(rnd(&seed) % 26),
		    (unsigned long long)(rnd(&seed) % 1000));
		if (logs_create(s.l, d, name, &(struct logs_attr){ 0 }) != 0)
			continue;
		if (i % 4 == 0) {
			name[1] = '\0';
			(void)logs_mkdir(s.l, d, name,
			    &(struct logs_attr){ 0 });
		}
	}

	for (int pass = 0; pass < 2; pass++) {
		list(s.l, d, &en);
		assert_true(en.n > 40);
		for (size_t i = 1; i < en.n; i++) {
			size_t m = en.len[i - 1] < en.len[i] ? en.len[i - 1] :
			    en.len[i];
			int c = memcmp(en.name[i - 1], en.name[i], m);

			if (c > 0 || (c == 0 && en.len[i - 1] >= en.len[i]))
				fail_msg("readdir: '%s' before '%s' (pass %d)",
				    en.name[i - 1], en.name[i], pass);
		}
		entries_free(&en);

		/* stop after 3 */
		memset(&en, 0, sizeof(en));
		en.stop = 3;
		assert_int_equal(logs_readdir(s.l, d, collect, &en), 0);
		assert_int_equal(en.n, 3);
		entries_free(&en);
		store_reopen(&s, ENGINE_WRITER);
	}
	store_close(&s);
}

/* ---- rename ---- */

static void
test_rename(void **state)
{
	struct store s;
	struct logs_attr a;
	struct logs_usage u0, u1;
	uint64_t d1, d2, sub, subsub, full, empty, st, tt, ut, vt;

	(void)state;
	store_new(&s);
	d1 = mk(s.l, ROOT, "d1", LOGS_DIR);
	d2 = mk(s.l, ROOT, "d2", LOGS_DIR);
	sub = mk(s.l, d1, "sub", LOGS_DIR);
	subsub = mk(s.l, sub, "subsub", LOGS_DIR);
	st = mk(s.l, d1, "s", LOGS_STREAM);
	tt = mk(s.l, d1, "t", LOGS_STREAM);
	ut = mk(s.l, d2, "u", LOGS_STREAM);
	puts_(s.l, st, "s\n");
	puts_(s.l, tt, "t\n");
	puts_(s.l, ut, "u\n");

	/* in one directory */
	assert_int_equal(logs_rename(s.l, d1, "s", d1, "s2", 0), 0);
	assert_int_equal(logs_lookup(s.l, d1, "s", &a), -ENOENT);
	assert_int_equal(look(s.l, d1, "s2"), st);
	assert_str(s.l, st, "s\n");
	assert_dir(s.l, d1, (const char *[]){ "sub/", "s2", "t", NULL });

	/* across directories */
	assert_int_equal(logs_rename(s.l, d1, "s2", d2, "s3", 0), 0);
	assert_int_equal(logs_lookup(s.l, d1, "s2", &a), -ENOENT);
	assert_int_equal(look(s.l, d2, "s3"), st);
	assert_int_equal(logs_getattr(s.l, st, &a), 0);
	assert_int_equal(a.parent, d2);
	assert_str(s.l, st, "s\n");
	puts_(s.l, st, "more\n");
	assert_str(s.l, st, "s\nmore\n");
	assert_dir(s.l, d1, (const char *[]){ "sub/", "t", NULL });
	assert_dir(s.l, d2, (const char *[]){ "u", "s3", NULL });

	/* replacing a stream: the old one is gone */
	assert_int_equal(logs_usage(s.l, &u0), 0);
	assert_int_equal(logs_rename(s.l, d1, "t", d2, "u", 0), 0);
	assert_int_equal(look(s.l, d2, "u"), tt);
	assert_str(s.l, tt, "t\n");
	assert_int_equal(logs_getattr(s.l, ut, &a), -ENOENT);
	assert_int_equal(logs_lookup(s.l, d1, "t", &a), -ENOENT);
	assert_int_equal(logs_usage(s.l, &u1), 0);
	assert_int_equal(u1.streams, u0.streams - 1);
	assert_int_equal(u1.dirs, u0.dirs);
	assert_dir(s.l, d2, (const char *[]){ "u", "s3", NULL });

	/* NOREPLACE */
	vt = mk(s.l, d1, "v", LOGS_STREAM);
	assert_int_equal(logs_rename(s.l, d1, "v", d2, "u",
	    LOGS_RENAME_NOREPLACE), -EEXIST);
	assert_int_equal(look(s.l, d1, "v"), vt);
	assert_int_equal(look(s.l, d2, "u"), tt);
	assert_str(s.l, tt, "t\n");
	assert_int_equal(logs_rename(s.l, d1, "v", d2, "v",
	    LOGS_RENAME_NOREPLACE), 0);
	assert_int_equal(look(s.l, d2, "v"), vt);

	/* a directory over a non-empty directory */
	full = mk(s.l, d2, "full", LOGS_DIR);
	mk(s.l, full, "x", LOGS_STREAM);
	assert_int_equal(logs_rename(s.l, d1, "sub", d2, "full", 0),
	    -ENOTEMPTY);
	assert_int_equal(look(s.l, d1, "sub"), sub);
	assert_int_equal(look(s.l, d2, "full"), full);

	/* ... and over an empty one, taking its subtree along */
	empty = mk(s.l, d2, "empty", LOGS_DIR);
	assert_int_equal(logs_rename(s.l, d1, "sub", d2, "empty", 0), 0);
	assert_int_equal(look(s.l, d2, "empty"), sub);
	assert_int_equal(logs_getattr(s.l, empty, &a), -ENOENT);
	assert_int_equal(logs_lookup(s.l, d1, "sub", &a), -ENOENT);
	assert_int_equal(look(s.l, sub, "subsub"), subsub);
	assert_int_equal(logs_getattr(s.l, sub, &a), 0);
	assert_int_equal(a.parent, d2);
	assert_dir(s.l, d1, (const char *[]){ NULL });
	assert_dir(s.l, d2, (const char *[]){ "u", "s3", "v", "full/",
	    "empty/", NULL });

	/* into its own subtree */
	assert_int_equal(logs_rename(s.l, ROOT, "d2", subsub, "x", 0),
	    -EINVAL);
	assert_int_equal(logs_rename(s.l, ROOT, "d2", d2, "x", 0), -EINVAL);
	assert_int_equal(logs_rename(s.l, d2, "empty", subsub, "y", 0),
	    -EINVAL);
	assert_int_equal(logs_rename(s.l, d2, "empty", sub, "y", 0), -EINVAL);
	assert_int_equal(look(s.l, ROOT, "d2"), d2);
	assert_int_equal(look(s.l, d2, "empty"), sub);
	assert_int_equal(look(s.l, sub, "subsub"), subsub);
	assert_dir(s.l, subsub, (const char *[]){ NULL });

	/* a stream over a directory, a directory over a stream */
	assert_int_equal(logs_rename(s.l, d2, "u", d2, "full", 0), -EISDIR);
	assert_int_equal(logs_rename(s.l, d2, "u", d2, "empty", 0), -EISDIR);
	assert_int_equal(logs_rename(s.l, d2, "empty", d2, "u", 0), -ENOTDIR);
	assert_int_equal(look(s.l, d2, "u"), tt);
	assert_int_equal(look(s.l, d2, "empty"), sub);
	assert_int_equal(look(s.l, d2, "full"), full);

	/* onto itself: nothing happens */
	assert_int_equal(logs_rename(s.l, d2, "u", d2, "u", 0), 0);
	assert_int_equal(logs_rename(s.l, d2, "empty", d2, "empty", 0), 0);
	assert_int_equal(look(s.l, d2, "u"), tt);
	assert_str(s.l, tt, "t\n");
	assert_int_equal(look(s.l, d2, "empty"), sub);
	assert_dir(s.l, d2, (const char *[]){ "u", "s3", "v", "full/",
	    "empty/", NULL });

	/* missing and wrong kinds of parent */
	assert_int_equal(logs_rename(s.l, d2, "nope", d2, "x", 0), -ENOENT);
	assert_int_equal(logs_rename(s.l, NOID, "u", d2, "x", 0), -ENOENT);
	assert_int_equal(logs_rename(s.l, d2, "u", NOID, "x", 0), -ENOENT);
	assert_int_equal(logs_rename(s.l, d2, "u", tt, "x", 0), -ENOTDIR);
	assert_int_equal(look(s.l, d2, "u"), tt);

	/* a moved directory can be emptied and removed where it is now */
	assert_int_equal(logs_rmdir(s.l, d2, "empty"), -ENOTEMPTY);
	assert_int_equal(logs_rename(s.l, sub, "subsub", ROOT, "top", 0), 0);
	assert_int_equal(look(s.l, ROOT, "top"), subsub);
	assert_int_equal(logs_rmdir(s.l, d2, "empty"), 0);

	/* and it all persists */
	store_reopen(&s, ENGINE_WRITER);
	assert_dir(s.l, ROOT, (const char *[]){ "d1/", "d2/", "top/", NULL });
	assert_dir(s.l, d1, (const char *[]){ NULL });
	assert_dir(s.l, d2, (const char *[]){ "u", "s3", "v", "full/", NULL });
	assert_int_equal(look(s.l, d2, "u"), tt);
	assert_int_equal(look(s.l, d2, "s3"), st);
	assert_int_equal(look(s.l, ROOT, "top"), subsub);
	assert_int_equal(logs_getattr(s.l, ut, &a), -ENOENT);
	assert_int_equal(logs_getattr(s.l, sub, &a), -ENOENT);
	assert_int_equal(logs_getattr(s.l, st, &a), 0);
	assert_int_equal(a.parent, d2);
	assert_str(s.l, tt, "t\n");
	assert_str(s.l, st, "s\nmore\n");
	store_close(&s);
}

/* ---- usage ---- */

static void
test_usage(void **state)
{
	struct store s;
	struct logs_usage u0, u;
	struct logs_attr a;
	uint64_t d, x, y, z;

	(void)state;
	store_new(&s);
	assert_int_equal(logs_usage(s.l, &u0), 0);
	assert_int_equal(u0.streams, 0);
	assert_int_equal(u0.bytes, 0);

	d = mk(s.l, ROOT, "d", LOGS_DIR);
	mk(s.l, d, "e", LOGS_DIR);
	x = mk(s.l, ROOT, "x", LOGS_STREAM);
	y = mk(s.l, d, "y", LOGS_STREAM);
	z = mk(s.l, d, "z", LOGS_STREAM);
	puts_(s.l, x, "0123456789");
	puts_(s.l, y, "01234567890123456789");
	assert_int_equal(logs_append(s.l, z, "", 0, NULL), 0);
	assert_int_equal(logs_usage(s.l, &u), 0);
	assert_int_equal(u.dirs, u0.dirs + 2);
	assert_int_equal(u.streams, 3);
	assert_int_equal(u.bytes, 30);

	assert_int_equal(logs_unlink(s.l, ROOT, "x"), 0);
	assert_int_equal(logs_rmdir(s.l, d, "e"), 0);
	assert_int_equal(logs_usage(s.l, &u), 0);
	assert_int_equal(u.dirs, u0.dirs + 1);
	assert_int_equal(u.streams, 2);
	assert_int_equal(u.bytes, 20);

	assert_int_equal(logs_truncate(s.l, y, 0), 0);
	puts_(s.l, z, "abc");
	assert_int_equal(logs_usage(s.l, &u), 0);
	assert_int_equal(u.streams, 2);
	assert_int_equal(u.bytes, 3);
	puts_(s.l, y, "12345");

	/*
	 * After a reopen the counts are the same at once; a stream's length
	 * counts once it has been used (logs.h: no seek per stream at open)
	 */
	store_reopen(&s, ENGINE_WRITER);
	assert_int_equal(logs_usage(s.l, &u), 0);
	assert_int_equal(u.dirs, u0.dirs + 1);
	assert_int_equal(u.streams, 2);
	assert_int_equal(u.bytes, 0);
	assert_int_equal(logs_getattr(s.l, y, &a), 0);
	assert_int_equal(logs_getattr(s.l, z, &a), 0);
	assert_int_equal(logs_usage(s.l, &u), 0);
	assert_int_equal(u.bytes, 8);
	store_close(&s);
}

/* ---- persistence ---- */

static void
test_persistence(void **state)
{
	struct store s;
	struct tree t1, t2;
	struct logs_attr a;
	struct logs_writer *w;
	struct buf big, b;
	uint64_t da, db, dc, top, as, deep, tr, tr0, mv, gone, id, maxid = 0;
	uint64_t seed = 42;
	char n255[LOGS_NAME_MAX + 1];

	(void)state;
	memset(n255, 'z', LOGS_NAME_MAX);
	n255[LOGS_NAME_MAX] = '\0';
	buf_init(&big, 0);
	buf_init(&b, 0);
#define MAXID(x)	do {						\
	uint64_t x_ = (x);						\
	if (x_ > maxid)							\
		maxid = x_;						\
} while (0)
	store_new(&s);
	da = mk(s.l, ROOT, "a", LOGS_DIR);
	db = mk(s.l, da, "b", LOGS_DIR);
	dc = mk(s.l, db, "c", LOGS_DIR);
	MAXID(mk(s.l, ROOT, "e", LOGS_DIR));
	top = mk(s.l, ROOT, "top", LOGS_STREAM);
	as = mk(s.l, da, "s", LOGS_STREAM);
	deep = mk(s.l, dc, n255, LOGS_STREAM);
	tr = mk(s.l, da, "trunc", LOGS_STREAM);
	tr0 = mk(s.l, da, "trunc0", LOGS_STREAM);
	MAXID(mk(s.l, da, "empty", LOGS_STREAM));
	mv = mk(s.l, da, "moved", LOGS_STREAM);
	MAXID(da); MAXID(db); MAXID(dc); MAXID(top); MAXID(as); MAXID(deep);
	MAXID(tr); MAXID(tr0); MAXID(mv);

	gen_lines(&big, 300000, 100, &seed);
	w = logs_writer_new(s.l, top, LOGS_W_APPEND);
	assert_non_null(w);
	for (size_t off = 0; off < big.len; off += 777)
		assert_int_equal(logs_writer_write(w, 0, big.data + off,
		    big.len - off < 777 ? big.len - off : 777),
		    big.len - off < 777 ? big.len - off : 777);
	assert_int_equal(logs_writer_flush(w), 0);
	logs_writer_free(w);
	assert_content(s.l, top, big.data, big.len);

	buf_reset(&b);
	for (int i = 0; i < 200 * 1024 - 1; i++)
		buf_putc(&b, (char)('a' + i % 26));
	buf_putc(&b, '\n');
	buf_puts(&b, "after the long line\n");
	put(s.l, as, b.data, b.len);
	puts_(s.l, deep, "deep\n");
	puts_(s.l, tr, "old content that must not come back\n");
	assert_int_equal(logs_truncate(s.l, tr, 0), 0);
	puts_(s.l, tr, "after\n");
	puts_(s.l, tr0, "old\n");
	assert_int_equal(logs_truncate(s.l, tr0, 0), 0);
	puts_(s.l, mv, "moving\n");
	assert_int_equal(logs_rename(s.l, da, "moved", ROOT, "moved", 0), 0);
	/* the newest id is removed before the reopen */
	gone = mk(s.l, db, "gone", LOGS_DIR);
	MAXID(gone);
	assert_int_equal(logs_rmdir(s.l, db, "gone"), 0);

	tree_get(s.l, &t1);
	assert_int_equal(t1.n, 12);

	/* a writer reopen sees the same */
	store_reopen(&s, ENGINE_WRITER);
	tree_get(s.l, &t2);
	assert_tree_equal(&t1, &t2);
	tree_free(&t2);
	assert_str(s.l, tr, "after\n");
	assert_str(s.l, tr0, "");
	assert_int_equal(logs_lookup(s.l, db, "gone", &a), -ENOENT);
	assert_int_equal(logs_getattr(s.l, gone, &a), -ENOENT);

	/* ids are not reused */
	id = mk(s.l, ROOT, "new", LOGS_STREAM);
	assert_true(id > maxid);
	maxid = id;
	id = mk(s.l, db, "gone", LOGS_DIR);
	assert_true(id > maxid);
	maxid = id;
	puts_(s.l, tr, "again\n");
	assert_str(s.l, tr, "after\nagain\n");
	puts_(s.l, tr0, "x\n");
	assert_str(s.l, tr0, "x\n");
	assert_int_equal(logs_truncate(s.l, tr0, 0), 0);
	tree_free(&t1);
	tree_get(s.l, &t1);

	/* a reader sees the same and can change nothing */
	store_reopen(&s, ENGINE_READER);
	tree_get(s.l, &t2);
	assert_tree_equal(&t1, &t2);
	tree_free(&t2);
	assert_int_equal(logs_mkdir(s.l, ROOT, "r", &a), -EROFS);
	assert_int_equal(logs_create(s.l, ROOT, "r", &a), -EROFS);
	assert_int_equal(logs_create(s.l, da, "s", &a), -EROFS);
	assert_int_equal(logs_unlink(s.l, da, "s"), -EROFS);
	assert_int_equal(logs_rmdir(s.l, ROOT, "e"), -EROFS);
	assert_int_equal(logs_rename(s.l, da, "s", da, "s9", 0), -EROFS);
	assert_int_equal(logs_rename(s.l, ROOT, "e", da, "e", 0), -EROFS);
	assert_int_equal(logs_truncate(s.l, as, 0), -EROFS);
	assert_int_equal(logs_append(s.l, as, "x\n", 2, NULL), -EROFS);
	w = logs_writer_new(s.l, as, LOGS_W_APPEND);
	if (w != NULL) {
		assert_int_equal(logs_writer_write(w, 0, "x\n", 2), -EROFS);
		assert_int_equal(logs_writer_write(w, 0, "x", 1), -EROFS);
		assert_int_equal(logs_writer_held(w), 0);
		assert_int_equal(logs_writer_flush(w), 0);
		logs_writer_free(w);
	}
	w = logs_writer_new(s.l, top, 0);
	if (w != NULL) {
		assert_int_equal(logs_writer_write(w, big.len, "x\n", 2),
		    -EROFS);
		logs_writer_free(w);
	}
	assert_int_equal(logs_sync(s.l), 0);
	tree_get(s.l, &t2);
	assert_tree_equal(&t1, &t2);
	tree_free(&t2);

	/* and the writer after it too */
	store_reopen(&s, ENGINE_WRITER);
	tree_get(s.l, &t2);
	assert_tree_equal(&t1, &t2);
	tree_free(&t2);
	id = mk(s.l, ROOT, "newer", LOGS_STREAM);
	assert_true(id > maxid);
	store_close(&s);
	tree_free(&t1);
	buf_release(&big);
	buf_release(&b);
#undef MAXID
}

/* ---- writers ---- */

/* A reader in a page cache and writers exclude each other. */
static void
test_reader_cache(void **state)
{
	struct store s;
	struct logs_reader *r, *r2;
	struct logs_writer *w;
	uint64_t id, seq;

	(void)state;
	store_new(&s);
	id = mk(s.l, ROOT, "s", LOGS_STREAM);
	assert_int_equal(logs_append(s.l, id, "one\n", 4, &seq), 0);

	r = logs_reader_new(s.l, id);
	assert_non_null(r);
	assert_int_equal(logs_reader_cache(r), 1);
	assert_int_equal(logs_reader_cache(r), 1);	/* counted once */
	errno = 0;
	assert_null(logs_writer_new(s.l, id, LOGS_W_APPEND));
	assert_int_equal(errno, EBUSY);
	assert_int_equal(logs_append(s.l, id, "two\n", 4, &seq), -EBUSY);
	assert_int_equal(logs_truncate(s.l, id, 0), -EBUSY);
	assert_str(s.l, id, "one\n");
	logs_reader_free(r);

	/* gone: a writer may open, and then readers do not cache */
	w = logs_writer_new(s.l, id, LOGS_W_APPEND);
	assert_non_null(w);
	r2 = logs_reader_new(s.l, id);
	assert_int_equal(logs_reader_cache(r2), 0);
	assert_int_equal(logs_writer_write(w, 0, "two\n", 4), 4);
	logs_writer_free(w);
	assert_int_equal(logs_append(s.l, id, "three\n", 6, &seq), 0);
	assert_str(s.l, id, "one\ntwo\nthree\n");
	/* r2 never cached: it does not hold the stream */
	assert_int_equal(logs_truncate(s.l, id, 0), 0);
	logs_reader_free(r2);
	store_close(&s);
}

static void
test_writer_offsets(void **state)
{
	struct store s;
	struct logs_writer *wa, *w;
	uint64_t id;

	(void)state;
	store_new(&s);
	id = mk(s.l, ROOT, "s", LOGS_STREAM);

	/* append ignores the offset */
	wa = logs_writer_new(s.l, id, LOGS_W_APPEND);
	assert_non_null(wa);
	assert_int_equal(logs_writer_write(wa, 12345, "one\n", 4), 4);
	assert_int_equal(logs_writer_write(wa, 0, "two\n", 4), 4);
	assert_int_equal(logs_writer_write(wa, UINT64_MAX, "three\n", 6), 6);
	assert_str(s.l, id, "one\ntwo\nthree\n");
	assert_int_equal(logs_writer_write(wa, 0, "", 0), 0);

	/* a positioned writer: only at the end, held bytes included */
	w = logs_writer_new(s.l, id, 0);
	assert_non_null(w);
	assert_int_equal(logs_writer_write(w, 0, "x\n", 2), -EPERM);
	assert_int_equal(logs_writer_write(w, 13, "x\n", 2), -EPERM);
	assert_int_equal(logs_writer_write(w, 15, "x\n", 2), -EPERM);
	assert_int_equal(logs_writer_held(w), 0);
	assert_str(s.l, id, "one\ntwo\nthree\n");
	assert_int_equal(logs_writer_write(w, 14, "ab", 2), 2);
	assert_int_equal(logs_writer_held(w), 2);
	assert_int_equal(size_of(s.l, id), 14);
	assert_int_equal(logs_writer_write(w, 14, "c\n", 2), -EPERM);
	assert_int_equal(logs_writer_write(w, 15, "c\n", 2), -EPERM);
	assert_int_equal(logs_writer_held(w), 2);
	assert_str(s.l, id, "one\ntwo\nthree\n");
	assert_int_equal(logs_writer_write(w, 16, "c\n", 2), 2);
	assert_int_equal(logs_writer_held(w), 0);
	assert_str(s.l, id, "one\ntwo\nthree\nabc\n");

	/* another writer moves the end: the old one must follow */
	assert_int_equal(logs_writer_write(wa, 0, "zz\n", 3), 3);
	assert_int_equal(logs_writer_write(w, 18, "q\n", 2), -EPERM);
	assert_str(s.l, id, "one\ntwo\nthree\nabc\nzz\n");
	assert_int_equal(logs_writer_write(w, 21, "q\n", 2), 2);
	puts_(s.l, id, "app\n");
	assert_int_equal(logs_writer_write(w, 23, "r\n", 2), -EPERM);
	assert_int_equal(logs_writer_write(w, 27, "r\n", 2), 2);
	assert_str(s.l, id, "one\ntwo\nthree\nabc\nzz\nq\napp\nr\n");
	assert_int_equal(logs_writer_flush(w), 0);
	assert_int_equal(logs_writer_flush(wa), 0);
	logs_writer_free(w);
	logs_writer_free(wa);

	/* a positioned writer on an empty stream starts at 0 */
	id = mk(s.l, ROOT, "t", LOGS_STREAM);
	w = logs_writer_new(s.l, id, 0);
	assert_non_null(w);
	assert_int_equal(logs_writer_write(w, 1, "x\n", 2), -EPERM);
	assert_int_equal(logs_writer_write(w, 0, "x\n", 2), 2);
	assert_str(s.l, id, "x\n");
	logs_writer_free(w);
	store_close(&s);
}

static void
test_writer_lines(void **state)
{
	struct store s;
	struct logs_writer *w, *w1, *w2;
	struct buf b, got;
	uint64_t id, off;
	char tmp[8];
	size_t chunk = 64 * 1024;

	(void)state;
	buf_init(&b, 0);
	buf_init(&got, 0);
	store_new(&s);

	/* a partial line is held until flushed */
	id = mk(s.l, ROOT, "held", LOGS_STREAM);
	w = logs_writer_new(s.l, id, LOGS_W_APPEND);
	assert_non_null(w);
	assert_int_equal(logs_writer_write(w, 0, "partial", 7), 7);
	assert_int_equal(logs_writer_held(w), 7);
	assert_int_equal(size_of(s.l, id), 0);
	assert_int_equal(logs_read(s.l, id, 0, tmp, sizeof(tmp)), 0);
	assert_int_equal(logs_writer_write(w, 0, " more", 5), 5);
	assert_int_equal(logs_writer_held(w), 12);
	assert_int_equal(size_of(s.l, id), 0);
	assert_int_equal(logs_writer_flush(w), 0);
	assert_int_equal(logs_writer_held(w), 0);
	assert_str(s.l, id, "partial more");
	assert_int_equal(logs_writer_flush(w), 0);
	assert_str(s.l, id, "partial more");
	/* whole lines go at once, the rest waits */
	assert_int_equal(logs_writer_write(w, 0, "\nl1\nl2\npar", 10), 10);
	assert_int_equal(logs_writer_held(w), 3);
	assert_str(s.l, id, "partial more\nl1\nl2\n");
	assert_int_equal(logs_writer_sync(w), 0);
	assert_int_equal(logs_writer_held(w), 0);
	assert_str(s.l, id, "partial more\nl1\nl2\npar");
	logs_writer_free(w);

	/* two writers never interleave inside a line */
	id = mk(s.l, ROOT, "two", LOGS_STREAM);
	w1 = logs_writer_new(s.l, id, LOGS_W_APPEND);
	w2 = logs_writer_new(s.l, id, LOGS_W_APPEND);
	assert_non_null(w1);
	assert_non_null(w2);
	assert_int_equal(logs_writer_write(w1, 0, "aa", 2), 2);
	assert_int_equal(logs_writer_write(w2, 0, "bb\n", 3), 3);
	assert_str(s.l, id, "bb\n");
	assert_int_equal(logs_writer_write(w1, 0, "cc\n", 3), 3);
	assert_str(s.l, id, "bb\naacc\n");
	assert_int_equal(logs_writer_write(w2, 0, "d", 1), 1);
	assert_int_equal(logs_writer_write(w1, 0, "e", 1), 1);
	assert_int_equal(logs_writer_write(w2, 0, "d\n", 2), 2);
	assert_int_equal(logs_writer_write(w1, 0, "e\nf", 3), 3);
	assert_str(s.l, id, "bb\naacc\ndd\nee\n");
	assert_int_equal(logs_writer_flush(w2), 0);
	assert_int_equal(logs_writer_flush(w1), 0);
	assert_str(s.l, id, "bb\naacc\ndd\nee\nf");
	logs_writer_free(w1);
	logs_writer_free(w2);

	/* LOGS_W_SYNC: stored at once, even a partial line */
	id = mk(s.l, ROOT, "sync", LOGS_STREAM);
	w = logs_writer_new(s.l, id, LOGS_W_APPEND | LOGS_W_SYNC);
	assert_non_null(w);
	assert_int_equal(logs_writer_write(w, 0, "nolf", 4), 4);
	assert_int_equal(logs_writer_held(w), 0);
	assert_str(s.l, id, "nolf");
	assert_int_equal(logs_writer_write(w, 0, "\nx\ny", 4), 4);
	assert_int_equal(logs_writer_held(w), 0);
	assert_str(s.l, id, "nolf\nx\ny");
	logs_writer_free(w);
	w = logs_writer_new(s.l, id, LOGS_W_SYNC);
	assert_non_null(w);
	assert_int_equal(logs_writer_write(w, 0, "z", 1), -EPERM);
	assert_int_equal(logs_writer_write(w, 8, "z", 1), 1);
	assert_int_equal(logs_writer_held(w), 0);
	assert_str(s.l, id, "nolf\nx\nyz");
	logs_writer_free(w);

	/* a partial line longer than LOGS_LINE_HOLD_MAX is committed */
	id = mk(s.l, ROOT, "long", LOGS_STREAM);
	w = logs_writer_new(s.l, id, LOGS_W_APPEND);
	assert_non_null(w);
	buf_reset(&b);
	for (size_t i = 0; i < chunk; i++)
		buf_putc(&b, (char)('A' + i % 7));
	for (off = 0; off < LOGS_LINE_HOLD_MAX; off += chunk) {
		assert_int_equal(logs_writer_write(w, 0, b.data, chunk), chunk);
		assert_int_equal(logs_writer_held(w), off + chunk);
		assert_int_equal(size_of(s.l, id), 0);
	}
	assert_int_equal(logs_writer_write(w, 0, b.data, chunk), chunk);
	assert_true(logs_writer_held(w) <= LOGS_LINE_HOLD_MAX);
	assert_int_equal(size_of(s.l, id) + logs_writer_held(w),
	    LOGS_LINE_HOLD_MAX + chunk);
	assert_int_equal(logs_writer_write(w, 0, "\n", 1), 1);
	assert_int_equal(logs_writer_held(w), 0);
	read_all(s.l, id, &got);
	assert_int_equal(got.len, LOGS_LINE_HOLD_MAX + chunk + 1);
	for (off = 0; off < got.len - 1; off += chunk)
		assert_memory_equal(got.data + off, b.data, chunk);
	assert_int_equal(got.data[got.len - 1], '\n');
	logs_writer_free(w);

	store_close(&s);
	buf_release(&b);
	buf_release(&got);
}

/*
 * The same limit when the write also ends a line: what is left after its
 * last newline is a partial line longer than LOGS_LINE_HOLD_MAX.
 */
static void
test_writer_hold_max(void **state)
{
	struct store s;
	struct logs_writer *w;
	struct buf b;
	uint64_t id;

	(void)state;
	buf_init(&b, 0);
	store_new(&s);
	id = mk(s.l, ROOT, "s", LOGS_STREAM);
	w = logs_writer_new(s.l, id, LOGS_W_APPEND);
	assert_non_null(w);
	buf_puts(&b, "a\n");
	for (size_t i = 0; i < LOGS_LINE_HOLD_MAX + 1000; i++)
		buf_putc(&b, 'x');
	assert_int_equal(logs_writer_write(w, 0, b.data, b.len), b.len);
	assert_true(logs_writer_held(w) <= LOGS_LINE_HOLD_MAX);
	assert_int_equal(size_of(s.l, id) + logs_writer_held(w), b.len);
	assert_int_equal(logs_writer_flush(w), 0);
	assert_content(s.l, id, b.data, b.len);
	logs_writer_free(w);
	store_close(&s);
	buf_release(&b);
}

/* A writer of a removed stream gets -ENOENT (logs.h). */
static void
test_writer_removed(void **state)
{
	struct store s;
	struct logs_writer *w;
	uint64_t id;

	(void)state;
	store_new(&s);
	id = mk(s.l, ROOT, "s", LOGS_STREAM);
	w = logs_writer_new(s.l, id, LOGS_W_APPEND);
	assert_non_null(w);
	assert_int_equal(logs_writer_write(w, 0, "one\n", 4), 4);
	assert_int_equal(logs_unlink(s.l, ROOT, "s"), 0);
	assert_int_equal(logs_append(s.l, id, "x\n", 2, NULL), -ENOENT);
	assert_int_equal(logs_writer_write(w, 0, "two\n", 4), -ENOENT);
	logs_writer_free(w);
	store_close(&s);
}

/* ---- compaction ---- */

/* Records ('R') and time index entries ('T') the engine holds for data id d. */
static size_t
count_keys(struct engine *e, char kind, uint64_t d)
{
	unsigned char lo[11] = { 0x01, 0x01, (unsigned char)kind };
	unsigned char hi[11] = { 0x01, 0x01, (unsigned char)kind };
	struct engine_iter *it;
	size_t n = 0;

	for (int i = 0; i < 8; i++) {
		lo[3 + i] = (unsigned char)(d >> (56 - 8 * i));
		hi[3 + i] = (unsigned char)((d + 1) >> (56 - 8 * i));
	}
	it = engine_iter_new(e, NULL, lo, sizeof(lo), hi, sizeof(hi));
	for (engine_iter_seek_first(it); engine_iter_valid(it);
	    engine_iter_next(it))
		n++;
	assert_int_equal(engine_iter_status(it), 0);
	engine_iter_free(it);
	return n;
}

static void
fill_stream(struct logs *l, uint64_t id, const char *tag)
{
	char line[64];
	int n;

	for (int i = 0; i < 50; i++) {
		n = snprintf(line, sizeof(line), "%s line %d\n", tag, i);
		assert_int_equal(logs_append(l, id, line, (size_t)n, NULL), 0);
	}
}

/*
 * The compaction filter: the records of removed streams and the old
 * records of truncated ones go; those of a removed stream still open stay
 * until it is closed; everything else stays and reads back.
 */
static void
test_compaction_filter(void **state)
{
	struct store s;
	struct logs_reader *r;
	uint64_t a, b, c, d;
	char got[64];

	(void)state;
	store_new(&s);
	a = mk(s.l, ROOT, "a", LOGS_STREAM);
	b = mk(s.l, ROOT, "b", LOGS_STREAM);
	c = mk(s.l, ROOT, "c", LOGS_STREAM);
	d = mk(s.l, ROOT, "d", LOGS_STREAM);
	fill_stream(s.l, a, "a");
	fill_stream(s.l, b, "b");
	fill_stream(s.l, c, "c");
	fill_stream(s.l, d, "d");
	assert_int_equal(engine_compact(s.e), 0);
	assert_int_equal(count_keys(s.e, 'R', a), 50);
	assert_true(count_keys(s.e, 'T', a) > 0);
	r = logs_reader_new(s.l, c);
	assert_non_null(r);
	assert_int_equal(logs_unlink(s.l, ROOT, "a"), 0);
	assert_int_equal(logs_unlink(s.l, ROOT, "c"), 0);
	assert_int_equal(logs_truncate(s.l, b, 0), 0);
	assert_int_equal(logs_append(s.l, b, "new\n", 4, NULL), 0);
	assert_int_equal(engine_compact(s.e), 0);
	assert_int_equal(count_keys(s.e, 'R', a), 0);
	assert_int_equal(count_keys(s.e, 'T', a), 0);
	assert_int_equal(count_keys(s.e, 'R', b), 0);	/* b's first data id */
	assert_int_equal(count_keys(s.e, 'R', c), 50);
	assert_int_equal(count_keys(s.e, 'R', d), 50);
	assert_int_equal(logs_reader_read(r, 0, got, 11), 11);
	assert_memory_equal(got, "c line 0\nc ", 11);
	assert_int_equal(logs_read(s.l, b, 0, got, sizeof(got)), 4);
	assert_memory_equal(got, "new\n", 4);
	assert_int_equal(logs_read(s.l, d, 0, got, 9), 9);
	assert_memory_equal(got, "d line 0\n", 9);
	logs_reader_free(r);
	assert_int_equal(engine_compact(s.e), 0);
	assert_int_equal(count_keys(s.e, 'R', c), 0);
	assert_int_equal(count_keys(s.e, 'R', d), 50);
	store_reopen(&s, ENGINE_WRITER);
	assert_int_equal(logs_read(s.l, b, 0, got, sizeof(got)), 4);
	assert_int_equal(count_keys(s.e, 'R', d), 50);
	store_close(&s);
}

/*
 * default_ttl: the records of a stream expire, its name, size and
 * offsets stay; the expired part reads as newlines, after it the bytes;
 * a stream whose every record expired is empty once opened again.
 */
static void
test_expiry(void **state)
{
	struct store s;
	struct logs_attr a;
	uint64_t id;
	char got[16];

	(void)state;
	ttl_ms = 1000;
	store_new(&s);
	id = mk(s.l, ROOT, "s", LOGS_STREAM);
	assert_int_equal(logs_append(s.l, id, "old\n", 4, NULL), 0);
	clock_sleep_ms(1100);
	assert_int_equal(logs_append(s.l, id, "new\n", 4, NULL), 0);
	assert_int_equal(logs_read(s.l, id, 0, got, sizeof(got)), 8);
	assert_memory_equal(got, "\n\n\n\nnew\n", 8);
	assert_int_equal(logs_read(s.l, id, 4, got, sizeof(got)), 4);
	assert_memory_equal(got, "new\n", 4);
	assert_int_equal(logs_getattr(s.l, id, &a), 0);
	assert_int_equal(a.size, 8);
	/* and after the records are in tables and compacted */
	assert_int_equal(engine_compact(s.e), 0);
	store_reopen(&s, ENGINE_WRITER);
	assert_int_equal(logs_lookup(s.l, ROOT, "s", &a), 0);
	assert_int_equal(a.size, 8);
	assert_int_equal(logs_read(s.l, id, 0, got, 2), 2);
	assert_memory_equal(got, "\n\n", 2);
	assert_int_equal(logs_read(s.l, id, 4, got, sizeof(got)), 4);
	assert_memory_equal(got, "new\n", 4);
	/*
	 * every record expired: the stream is still there and, once opened
	 * again, empty; it starts again at offset 0
	 */
	clock_sleep_ms(1100);
	store_reopen(&s, ENGINE_WRITER);
	assert_int_equal(logs_lookup(s.l, ROOT, "s", &a), 0);
	assert_int_equal(a.size, 0);
	assert_int_equal(logs_append(s.l, id, "again\n", 6, NULL), 0);
	assert_int_equal(logs_read(s.l, id, 0, got, sizeof(got)), 6);
	assert_memory_equal(got, "again\n", 6);
	store_close(&s);
	ttl_ms = 0;
}

/* ---- big records ---- */

static uint64_t
be64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * The stream's records as logs.h lays them out: contiguous from 0 to the
 * size, none empty or over LOGS_RECORD_MAX, timestamps not going back,
 * and each a run of whole lines or a piece of a line longer than a
 * record (for streams written in whole lines).
 */
static void
check_records(struct engine *e, uint64_t id, uint64_t size)
{
	unsigned char k[19], lo[11], hi[11];
	const unsigned char *key, *v;
	struct engine_iter *it;
	struct buf val;
	uint64_t data_id, off = 0;
	int64_t ts = 0;
	size_t klen, vlen, n, nrec = 0;

	buf_init(&val, 0);
	k[0] = 0x01;
	k[1] = 0x01;
	k[2] = 'I';
	for (int i = 0; i < 8; i++)
		k[3 + i] = (unsigned char)(id >> (56 - 8 * i));
	assert_int_equal(engine_get(e, NULL, k, 11, &val), 0);
	assert_int_equal(val.len, 33);
	assert_int_equal((unsigned char)val.data[0], LOGS_STREAM);
	data_id = be64((const unsigned char *)val.data + 1);
	buf_release(&val);

	memcpy(lo, k, 3);
	lo[2] = 'R';
	for (int i = 0; i < 8; i++)
		lo[3 + i] = (unsigned char)(data_id >> (56 - 8 * i));
	memcpy(hi, lo, 11);
	for (int i = 10; i >= 3 && ++hi[i] == 0; i--)
		;
	it = engine_iter_new(e, NULL, lo, 11, hi, 11);
	for (engine_iter_seek_first(it); engine_iter_valid(it);
	    engine_iter_next(it)) {
		key = engine_iter_key(it, &klen);
		v = engine_iter_value(it, &vlen);
		assert_int_equal(klen, 19);
		assert_int_equal(be64(key + 11), off);
		assert_true(vlen > 8);
		n = vlen - 8;
		assert_true(n <= LOGS_RECORD_MAX);
		assert_true((int64_t)be64(v) >= ts);
		ts = (int64_t)be64(v);
		if (v[vlen - 1] != '\n' && (n != LOGS_RECORD_MAX ||
		    memchr(v + 8, '\n', n) != NULL))
			fail_msg("record at %llu (%zu bytes): not whole lines",
			    (unsigned long long)off, n);
		off += n;
		nrec++;
	}
	assert_int_equal(engine_iter_status(it), 0);
	engine_iter_free(it);
	assert_int_equal(off, size);
	assert_true(nrec >= (size + LOGS_RECORD_MAX - 1) / LOGS_RECORD_MAX);
}

static void
check_big(struct store *s, uint64_t id, const struct buf *want)
{
	struct logs *l = s->l;

	check_records(s->e, id, want->len);
	struct logs_reader *r;
	char *p = xmalloc(want->len + 100);
	uint64_t off;
	ssize_t got;

	assert_int_equal(size_of(l, id), want->len);
	/* in one read, larger than the stream */
	assert_int_equal(logs_read(l, id, 0, p, want->len + 100), want->len);
	assert_memory_equal(p, want->data, want->len);
	/* in pieces that cross LOGS_RECORD_MAX boundaries */
	r = logs_reader_new(l, id);
	assert_non_null(r);
	for (off = 0; off < want->len; off += (uint64_t)got) {
		got = logs_reader_read(r, off, p, 10007);
		assert_true(got > 0);
		assert_memory_equal(p, want->data + off, (size_t)got);
	}
	assert_int_equal(logs_reader_read(r, off, p, 10), 0);
	for (off = LOGS_RECORD_MAX - 3; off < want->len;
	    off += LOGS_RECORD_MAX) {
		got = logs_read(l, id, off, p, 6);
		assert_int_equal(got,
		    want->len - off < 6 ? want->len - off : 6);
		assert_memory_equal(p, want->data + off, (size_t)got);
	}
	logs_reader_free(r);
	free(p);
}

static void
test_big_records(void **state)
{
	struct store s;
	struct logs_writer *w;
	struct buf line, lines, b;
	uint64_t seed = 1, a, bb, c, d, e;

	(void)state;
	buf_init(&line, 0);
	buf_init(&lines, 0);
	buf_init(&b, 0);
	for (size_t i = 0; i + 1 < 200 * 1024; i++)
		buf_putc(&line, (char)('!' + rnd(&seed) % 90));
	buf_putc(&line, '\n');
	gen_lines(&lines, 1024 * 1024, 120, &seed);

	store_new(&s);
	a = mk(s.l, ROOT, "line-w", LOGS_STREAM);
	bb = mk(s.l, ROOT, "lines-w", LOGS_STREAM);
	c = mk(s.l, ROOT, "line-a", LOGS_STREAM);
	d = mk(s.l, ROOT, "lines-a", LOGS_STREAM);
	e = mk(s.l, ROOT, "edges", LOGS_STREAM);

	w = logs_writer_new(s.l, a, LOGS_W_APPEND);
	assert_non_null(w);
	assert_int_equal(logs_writer_write(w, 0, line.data, line.len),
	    line.len);
	assert_int_equal(logs_writer_held(w), 0);
	logs_writer_free(w);
	check_big(&s, a, &line);

	w = logs_writer_new(s.l, bb, 0);
	assert_non_null(w);
	assert_int_equal(logs_writer_write(w, 0, lines.data, lines.len),
	    lines.len);
	assert_int_equal(logs_writer_held(w), 0);
	logs_writer_free(w);
	check_big(&s, bb, &lines);

	put(s.l, c, line.data, line.len);
	check_big(&s, c, &line);
	put(s.l, d, lines.data, lines.len);
	check_big(&s, d, &lines);

	/* lines of exactly LOGS_RECORD_MAX and one more, then short ones */
	for (size_t i = 0; i + 1 < LOGS_RECORD_MAX; i++)
		buf_putc(&b, 'r');
	buf_putc(&b, '\n');
	for (size_t i = 0; i < LOGS_RECORD_MAX; i++)
		buf_putc(&b, 's');
	buf_putc(&b, '\n');
	buf_puts(&b, "short\nlines\n");
	put(s.l, e, b.data, b.len);
	put(s.l, e, b.data, b.len);
	{
		size_t n = b.len;
		char *copy = xmalloc(n);

		memcpy(copy, b.data, n);
		buf_append(&b, copy, n);
		free(copy);
	}
	check_big(&s, e, &b);

	store_reopen(&s, ENGINE_WRITER);
	check_big(&s, a, &line);
	check_big(&s, bb, &lines);
	check_big(&s, c, &line);
	check_big(&s, d, &lines);
	check_big(&s, e, &b);
	store_close(&s);
	buf_release(&line);
	buf_release(&lines);
	buf_release(&b);
}

/* ---- reads ---- */

static void
test_read(void **state)
{
	static const size_t sizes[] = { 1, 2, 7, 100, 4096, 70000, 0 };
	struct store s;
	struct buf want;
	uint64_t id, seed = 3, *bound, nb = 0, offs[16];
	char *p;
	size_t no;

	(void)state;
	buf_init(&want, 0);
	store_new(&s);
	id = mk(s.l, ROOT, "s", LOGS_STREAM);
	bound = xcalloc(100, sizeof(*bound));
	for (int i = 0; i < 60; i++) {
		size_t before = want.len;

		bound[nb++] = want.len;
		if (i == 30)
			gen_lines(&want, want.len + 150000, 200, &seed);
		else
			gen_lines(&want, want.len + 1 + rnd(&seed) % 300, 50,
			    &seed);
		put(s.l, id, want.data + before, want.len - before);
	}
	bound[nb++] = want.len;
	assert_int_equal(size_of(s.l, id), want.len);
	p = xmalloc(want.len + 200);

	for (int pass = 0; pass < 2; pass++) {
		for (uint64_t bi = 0; bi < nb; bi++) {
			no = 0;
			offs[no++] = bound[bi];
			offs[no++] = bound[bi] + 1;
			if (bound[bi] > 0)
				offs[no++] = bound[bi] - 1;
			if (bi + 1 < nb)
				offs[no++] = (bound[bi] + bound[bi + 1]) / 2;
			for (size_t oi = 0; oi < no; oi++) {
				uint64_t off = offs[oi];

				for (size_t si = 0; si <= 6; si++) {
					size_t n = sizes[si] ? sizes[si] :
					    want.len + 100;
					size_t exp = off >= want.len ? 0 :
					    want.len - off < n ?
					    want.len - off : n;
					ssize_t got = logs_read(s.l, id, off,
					    p, n);

					assert_int_equal(got, exp);
					if (exp > 0)
						assert_memory_equal(p,
						    want.data + off, exp);
				}
			}
		}
		assert_int_equal(logs_read(s.l, id, 0, p, 0), 0);
		assert_int_equal(logs_read(s.l, id, want.len, p, 10), 0);
		assert_int_equal(logs_read(s.l, id, want.len + 1000, p, 10), 0);
		assert_int_equal(logs_read(s.l, id, UINT64_MAX, p, 10), 0);
		assert_int_equal(logs_read(s.l, id, UINT64_MAX - 5, p, 10), 0);
		store_reopen(&s, ENGINE_WRITER);
	}
	free(p);
	free(bound);
	store_close(&s);
	buf_release(&want);
}

static void
test_reader(void **state)
{
	static const size_t steps[] = { 1000, 4096, LOGS_RECORD_MAX + 7, 1,
	    333 };
	struct store s;
	struct logs_reader *r, *r2;
	struct logs_writer *w;
	struct buf want;
	uint64_t id, seed = 9, off;
	char *p;
	ssize_t got;
	size_t k = 0;

	(void)state;
	buf_init(&want, 0);
	store_new(&s);
	id = mk(s.l, ROOT, "big", LOGS_STREAM);
	gen_lines(&want, 3 * 1024 * 1024, 200, &seed);
	w = logs_writer_new(s.l, id, LOGS_W_APPEND);
	assert_non_null(w);
	for (off = 0; off < want.len; ) {
		size_t n = 1 + rnd(&seed) % 20000;

		if (n > want.len - off)
			n = want.len - off;
		assert_int_equal(logs_writer_write(w, 0, want.data + off, n),
		    n);
		off += n;
	}
	assert_int_equal(logs_writer_flush(w), 0);
	logs_writer_free(w);
	p = xmalloc(want.len + 100);

	/* sequentially, in pieces of several sizes */
	r = logs_reader_new(s.l, id);
	assert_non_null(r);
	for (off = 0; ; off += (uint64_t)got) {
		got = logs_reader_read(r, off, p, steps[k++ % 5]);
		assert_true(got >= 0);
		if (got == 0)
			break;
		assert_memory_equal(p, want.data + off, (size_t)got);
	}
	assert_int_equal(off, want.len);
	/* at random offsets, through the same reader */
	for (int i = 0; i < 400; i++) {
		uint64_t o = rnd(&seed) % (want.len + 10);
		size_t n = 1 + rnd(&seed) % (i % 10 == 0 ? 300000 : 5000);
		size_t exp = o >= want.len ? 0 : want.len - o < n ?
		    want.len - o : n;

		got = logs_reader_read(r, o, p, n);
		assert_int_equal(got, exp);
		if (exp > 0)
			assert_memory_equal(p, want.data + o, exp);
	}
	logs_reader_free(r);

	/* a reader sees what is appended after its first read */
	id = mk(s.l, ROOT, "grow", LOGS_STREAM);
	r = logs_reader_new(s.l, id);
	assert_non_null(r);
	assert_int_equal(logs_reader_read(r, 0, p, 100), 0);
	puts_(s.l, id, "first\n");
	assert_int_equal(logs_reader_read(r, 0, p, 100), 6);
	assert_memory_equal(p, "first\n", 6);
	puts_(s.l, id, "second\n");
	assert_int_equal(logs_reader_read(r, 6, p, 100), 7);
	assert_memory_equal(p, "second\n", 7);
	assert_int_equal(logs_reader_read(r, 13, p, 100), 0);
	/* stopped inside the stream, then more comes */
	assert_int_equal(logs_reader_read(r, 0, p, 3), 3);
	assert_memory_equal(p, "fir", 3);
	puts_(s.l, id, "third\n");
	assert_int_equal(logs_reader_read(r, 3, p, 100), 16);
	assert_memory_equal(p, "st\nsecond\nthird\n", 16);
	assert_int_equal(logs_reader_read(r, 8, p, 2), 2);
	puts_(s.l, id, "4\n");
	assert_int_equal(logs_reader_read(r, 10, p, 100), 11);
	assert_memory_equal(p, "nd\nthird\n4\n", 11);
	/* many small appends, each read as it comes */
	r2 = logs_reader_new(s.l, id);
	assert_non_null(r2);
	off = 21;
	assert_int_equal(logs_reader_read(r2, 0, p, 21), 21);
	for (int i = 0; i < 300; i++) {
		char line[32];
		int n = snprintf(line, sizeof(line), "line %d\n", i);

		puts_(s.l, id, line);
		assert_int_equal(logs_reader_read(r2, off, p, 100), n);
		assert_memory_equal(p, line, (size_t)n);
		off += (uint64_t)n;
		assert_int_equal(logs_reader_read(r2, off, p, 100), 0);
	}
	/* and after a truncation, only the new bytes */
	assert_int_equal(logs_truncate(s.l, id, 0), 0);
	assert_int_equal(logs_reader_read(r, 0, p, 100), 0);
	puts_(s.l, id, "new\n");
	assert_int_equal(logs_reader_read(r, 0, p, 100), 4);
	assert_memory_equal(p, "new\n", 4);
	assert_int_equal(logs_reader_read(r2, 0, p, 100), 4);
	assert_memory_equal(p, "new\n", 4);
	assert_int_equal(logs_reader_read(r2, 4, p, 100), 0);
	logs_reader_free(r2);
	logs_reader_free(r);
	free(p);
	store_close(&s);
	buf_release(&want);
}

/* ---- truncate ---- */

static void
test_truncate(void **state)
{
	struct store s;
	struct buf want;
	struct logs_attr a;
	uint64_t id, e, f, seed = 5, off;
	char *p;

	(void)state;
	buf_init(&want, 0);
	store_new(&s);
	id = mk(s.l, ROOT, "s", LOGS_STREAM);
	gen_lines(&want, 200000, 100, &seed);
	put(s.l, id, want.data, want.len);
	put(s.l, id, "tail\n", 5);
	buf_puts(&want, "tail\n");
	p = xmalloc(want.len);

	/* to the same size: nothing happens */
	assert_int_equal(logs_truncate(s.l, id, want.len), 0);
	assert_content(s.l, id, want.data, want.len);
	/* to any other size but 0: refused, unchanged */
	assert_int_equal(logs_truncate(s.l, id, want.len - 1), -EPERM);
	assert_int_equal(logs_truncate(s.l, id, want.len + 1), -EPERM);
	assert_int_equal(logs_truncate(s.l, id, 1), -EPERM);
	assert_int_equal(logs_truncate(s.l, id, UINT64_MAX), -EPERM);
	assert_content(s.l, id, want.data, want.len);
	assert_int_equal(logs_truncate(s.l, NOID, 0), -ENOENT);

	/* to 0 */
	assert_int_equal(logs_truncate(s.l, id, 0), 0);
	assert_content(s.l, id, "", 0);
	for (off = 0; off < want.len; off += 10007)
		assert_int_equal(logs_read(s.l, id, off, p, 100), 0);
	assert_int_equal(logs_offset_at(s.l, id, 0, &off), 0);
	assert_int_equal(off, 0);
	assert_int_equal(logs_offset_at(s.l, id, INT64_MAX, &off), 0);
	assert_int_equal(off, 0);
	puts_(s.l, id, "new\n");
	assert_str(s.l, id, "new\n");
	assert_int_equal(logs_read(s.l, id, 4, p, 100), 0);
	assert_int_equal(logs_read(s.l, id, 1, p, 100), 3);
	assert_memory_equal(p, "ew\n", 3);
	assert_int_equal(logs_offset_at(s.l, id, INT64_MAX, &off), 0);
	assert_int_equal(off, 4);
	assert_int_equal(logs_getattr(s.l, id, &a), 0);
	assert_int_equal(a.id, id);
	assert_int_equal(look(s.l, ROOT, "s"), id);

	/* an empty stream to 0, and truncating twice */
	e = mk(s.l, ROOT, "e", LOGS_STREAM);
	assert_int_equal(logs_truncate(s.l, e, 0), 0);
	assert_int_equal(logs_truncate(s.l, e, 1), -EPERM);
	assert_str(s.l, e, "");
	puts_(s.l, e, "x\n");
	assert_int_equal(logs_truncate(s.l, e, 0), 0);
	assert_int_equal(logs_truncate(s.l, e, 0), 0);
	assert_str(s.l, e, "");

	/* after a reopen the old content stays away */
	store_reopen(&s, ENGINE_WRITER);
	assert_str(s.l, id, "new\n");
	assert_str(s.l, e, "");
	/* and a new stream shares nothing with them */
	f = mk(s.l, ROOT, "f", LOGS_STREAM);
	assert_str(s.l, f, "");
	puts_(s.l, f, "fff\n");
	assert_str(s.l, f, "fff\n");
	assert_str(s.l, id, "new\n");
	assert_str(s.l, e, "");
	puts_(s.l, id, "more\n");
	puts_(s.l, e, "y\n");
	assert_str(s.l, id, "new\nmore\n");
	assert_str(s.l, e, "y\n");
	assert_int_equal(logs_truncate(s.l, id, 0), 0);
	store_reopen(&s, ENGINE_WRITER);
	assert_str(s.l, id, "");
	assert_str(s.l, e, "y\n");
	puts_(s.l, id, "last\n");
	assert_str(s.l, id, "last\n");
	store_reopen(&s, ENGINE_READER);
	assert_str(s.l, id, "last\n");
	assert_int_equal(logs_truncate(s.l, id, 5), 0);
	assert_int_equal(logs_truncate(s.l, id, 0), -EROFS);
	assert_str(s.l, id, "last\n");
	store_close(&s);
	free(p);
	buf_release(&want);
}

/* ---- time ---- */

static void
test_offset_at(void **state)
{
	enum { N = 24 };
	struct store s;
	struct logs_attr a;
	int64_t t[N], ts[N], now;
	uint64_t id, off[N], end, got;
	char line[64];

	(void)state;
	store_new(&s);
	id = mk(s.l, ROOT, "s", LOGS_STREAM);
	assert_int_equal(logs_offset_at(s.l, id, 0, &got), 0);
	assert_int_equal(got, 0);
	assert_int_equal(logs_offset_at(s.l, id, clock_wall_ns(), &got), 0);
	assert_int_equal(got, 0);
	assert_int_equal(logs_offset_at(s.l, id, INT64_MAX, &got), 0);
	assert_int_equal(got, 0);

	for (int i = 0; i < N; i++) {
		if (i == N / 2) {
			/* cross into the next second */
			now = clock_wall_ns();
			clock_sleep_ms((SEC - now % SEC) / 1000000 + 2);
		}
		clock_sleep_ms(1);
		t[i] = clock_wall_ns();
		clock_sleep_ms(1);
		off[i] = size_of(s.l, id);
		snprintf(line, sizeof(line), "record %d %s\n", i,
		    i % 3 ? "" : "with some more bytes in it");
		puts_(s.l, id, line);
		assert_int_equal(logs_getattr(s.l, id, &a), 0);
		ts[i] = a.mtime_ns;
		assert_true(ts[i] >= t[i]);
	}
	assert_true(ts[N - 1] / SEC > ts[0] / SEC);
	end = size_of(s.l, id);

	for (int pass = 0; pass < 2; pass++) {
		assert_int_equal(logs_offset_at(s.l, id, 0, &got), 0);
		assert_int_equal(got, 0);
		assert_int_equal(logs_offset_at(s.l, id, INT64_MAX, &got), 0);
		assert_int_equal(got, end);
		assert_int_equal(logs_offset_at(s.l, id, ts[N - 1] + 1, &got),
		    0);
		assert_int_equal(got, end);
		for (int i = 0; i < N; i++) {
			assert_int_equal(logs_offset_at(s.l, id, t[i], &got),
			    0);
			assert_int_equal(got, off[i]);
			assert_int_equal(logs_offset_at(s.l, id, ts[i], &got),
			    0);
			assert_int_equal(got, off[i]);
			assert_int_equal(logs_offset_at(s.l, id, ts[i] + 1,
			    &got), 0);
			assert_int_equal(got, i + 1 < N ? off[i + 1] : end);
		}
		store_reopen(&s, ENGINE_WRITER);
	}
	assert_int_equal(logs_offset_at(s.l, NOID, 0, &got), -ENOENT);
	assert_int_equal(logs_offset_at(s.l, ROOT, 0, &got), -EISDIR);
	store_close(&s);
}

static void
test_mtime(void **state)
{
	struct store s;
	struct logs_attr a, d0, d1;
	int64_t prev, t0, t1;
	uint64_t id;

	(void)state;
	store_new(&s);
	assert_int_equal(logs_getattr(s.l, ROOT, &d0), 0);
	clock_sleep_ms(20);
	t0 = clock_wall_ns();
	id = mk(s.l, ROOT, "s", LOGS_STREAM);
	t1 = clock_wall_ns();
	assert_int_equal(logs_getattr(s.l, id, &a), 0);
	assert_true(a.ctime_ns >= t0 - 2 * SEC && a.ctime_ns <= t1 + 2 * SEC);
	assert_true(a.mtime_ns >= a.ctime_ns);
	/* the directory's mtime moved with the new entry */
	assert_int_equal(logs_getattr(s.l, ROOT, &d1), 0);
	assert_true(d1.mtime_ns > d0.mtime_ns);
	assert_true(d1.mtime_ns >= t0 - 2 * SEC && d1.mtime_ns <= t1 + 2 * SEC);

	prev = a.mtime_ns;
	for (int i = 0; i < 40; i++) {
		if (i % 10 == 0)
			clock_sleep_ms(3);
		t0 = clock_wall_ns();
		puts_(s.l, id, "line\n");
		t1 = clock_wall_ns();
		assert_int_equal(logs_getattr(s.l, id, &a), 0);
		assert_true(a.mtime_ns >= prev);
		assert_true(a.mtime_ns >= t0 - 2 * SEC &&
		    a.mtime_ns <= t1 + 2 * SEC);
		prev = a.mtime_ns;
	}
	store_reopen(&s, ENGINE_WRITER);
	assert_int_equal(logs_getattr(s.l, id, &a), 0);
	assert_int_equal(a.mtime_ns, prev);
	store_close(&s);
}

/* ---- change callbacks ---- */

struct changes {
	uint64_t	 id[64];
	size_t		 n;
};

static void
on_change(void *arg, uint64_t id, const char *name, size_t namelen)
{
	struct changes *c = arg;

	(void)namelen;
	assert_null(name);	/* names are only for a follower */
	if (c->n < 64)
		c->id[c->n] = id;
	c->n++;
}

/* Since the last call, exactly these ids were reported (0-terminated). */
static void
assert_changes(struct changes *c, const uint64_t *want)
{
	size_t n = 0;

	while (want[n] != 0)
		n++;
	assert_int_equal(c->n, n);
	for (size_t i = 0; i < n; i++) {
		size_t j;

		for (j = 0; j < c->n && c->id[j] != want[i]; j++)
			;
		if (j == c->n)
			fail_msg("no change reported for %llu",
			    (unsigned long long)want[i]);
	}
	c->n = 0;
}

static void
test_on_change(void **state)
{
	struct store s;
	struct changes c = { .n = 0 };
	struct logs_writer *w;
	uint64_t d, e, id;

	(void)state;
	store_new(&s);
	logs_on_change(s.l, on_change, &c);
	d = mk(s.l, ROOT, "d", LOGS_DIR);
	assert_changes(&c, (uint64_t[]){ ROOT, 0 });
	e = mk(s.l, ROOT, "e", LOGS_DIR);
	id = mk(s.l, d, "s", LOGS_STREAM);
	assert_changes(&c, (uint64_t[]){ ROOT, d, 0 });
	puts_(s.l, id, "x\n");
	assert_changes(&c, (uint64_t[]){ id, 0 });
	w = logs_writer_new(s.l, id, LOGS_W_APPEND);
	assert_non_null(w);
	assert_int_equal(logs_writer_write(w, 0, "part", 4), 4);
	assert_changes(&c, (uint64_t[]){ 0 });
	assert_int_equal(logs_writer_flush(w), 0);
	assert_changes(&c, (uint64_t[]){ id, 0 });
	assert_int_equal(logs_writer_write(w, 0, "a\nb", 3), 3);
	assert_changes(&c, (uint64_t[]){ id, 0 });
	logs_writer_free(w);
	assert_int_equal(logs_truncate(s.l, id, 0), 0);
	assert_changes(&c, (uint64_t[]){ id, 0 });
	assert_int_equal(logs_rename(s.l, d, "s", e, "s", 0), 0);
	assert_changes(&c, (uint64_t[]){ d, e, 0 });
	assert_int_equal(logs_unlink(s.l, e, "s"), 0);
	assert_changes(&c, (uint64_t[]){ e, 0 });
	/* refused changes are not reported */
	assert_int_equal(logs_mkdir(s.l, ROOT, "d", &(struct logs_attr){ 0 }),
	    -EEXIST);
	assert_int_equal(logs_rmdir(s.l, ROOT, "x"), -ENOENT);
	assert_changes(&c, (uint64_t[]){ 0 });
	logs_on_change(s.l, NULL, NULL);
	mk(s.l, ROOT, "f", LOGS_DIR);
	assert_int_equal(c.n, 0);
	store_close(&s);
}

/* ---- concurrency ---- */

#define CC_WRITERS	4
#define CC_LINES	5000

#define CC_SAMPLES	2000

struct cc_sample {
	uint64_t	 off;
	size_t		 len;
	char		 data[64];
};

struct cc {
	struct logs	*l;
	uint64_t	 id;
	struct logs_reader *r;		/* shared by the two reading threads */
	int		 done;		/* atomic: the writers have finished */
	int		 err;		/* atomic: the first failure, or 0 */
	struct buf	 seen;		/* the follower's copy */
	struct cc_sample samples[CC_SAMPLES];	/* the peeker's reads */
	size_t		 nsamples;
};

struct cc_writer {
	struct cc	*cc;
	int		 tid;
};

static void
cc_fail(struct cc *cc, int code)
{
	int zero = 0;

	__atomic_compare_exchange_n(&cc->err, &zero, code, 0,
	    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static void *
cc_write(void *arg)
{
	struct cc_writer *cw = arg;
	struct cc *cc = cw->cc;
	struct logs_writer *w;
	struct buf b;
	uint64_t seed = 0x1234 + (uint64_t)cw->tid;
	size_t off, n;
	ssize_t rc;

	buf_init(&b, 0);
	for (int i = 0; i < CC_LINES; i++)
		buf_printf(&b, "t%d %d\n", cw->tid, i);
	if ((w = logs_writer_new(cc->l, cc->id, LOGS_W_APPEND)) == NULL) {
		cc_fail(cc, 1);
		goto out;
	}
	for (off = 0; off < b.len; off += n) {
		n = 1 + rnd(&seed) % 23;
		if (n > b.len - off)
			n = b.len - off;
		if ((rc = logs_writer_write(w, rnd(&seed), b.data + off, n)) !=
		    (ssize_t)n) {
			cc_fail(cc, 2);
			break;
		}
	}
	if (logs_writer_held(w) != 0 || logs_writer_flush(w) != 0)
		cc_fail(cc, 3);
	logs_writer_free(w);
out:
	buf_release(&b);
	return NULL;
}

/* Follow the stream from its start as it grows. */
static void *
cc_read(void *arg)
{
	struct cc *cc = arg;
	char tmp[4096];
	uint64_t off = 0;
	ssize_t got;
	int done;

	for (;;) {
		done = __atomic_load_n(&cc->done, __ATOMIC_ACQUIRE);
		got = logs_reader_read(cc->r, off, tmp, sizeof(tmp));
		if (got < 0) {
			cc_fail(cc, 11);
			break;
		}
		buf_append(&cc->seen, tmp, (size_t)got);
		off += (uint64_t)got;
		/* a short read ends at the stream's end: a line's end */
		if ((size_t)got < sizeof(tmp) && cc->seen.len > 0 &&
		    cc->seen.data[cc->seen.len - 1] != '\n') {
			cc_fail(cc, 12);
			break;
		}
		if (got == 0 && done)
			break;
		if (got == 0)
			sched_yield();
	}
	return NULL;
}

/* Read at random offsets below the size, through the same reader. */
static void *
cc_peek(void *arg)
{
	struct cc *cc = arg;
	struct cc_sample *sm;
	struct logs_attr a;
	uint64_t seed = 99;
	ssize_t got;
	int done;

	while (cc->nsamples < CC_SAMPLES) {
		done = __atomic_load_n(&cc->done, __ATOMIC_ACQUIRE);
		if (logs_getattr(cc->l, cc->id, &a) != 0) {
			cc_fail(cc, 20);
			break;
		}
		if (a.size > 0) {
			sm = &cc->samples[cc->nsamples];
			sm->off = rnd(&seed) % a.size;
			got = logs_reader_read(cc->r, sm->off, sm->data,
			    sizeof(sm->data));
			if (got <= 0) {
				cc_fail(cc, 21);
				break;
			}
			sm->len = (size_t)got;
			cc->nsamples++;
		}
		if (done)
			break;
		sched_yield();
	}
	return NULL;
}

static void
test_concurrent(void **state)
{
	struct store s;
	struct cc cc;
	struct cc_writer cw[CC_WRITERS];
	pthread_t tw[CC_WRITERS], tr, tp;
	struct buf all;
	int next[CC_WRITERS] = { 0 };
	size_t lines = 0, expect = 0;
	char line[32];

	(void)state;
	store_new(&s);
	memset(&cc, 0, sizeof(cc));
	cc.l = s.l;
	cc.id = mk(s.l, ROOT, "shared", LOGS_STREAM);
	cc.r = logs_reader_new(s.l, cc.id);
	assert_non_null(cc.r);
	buf_init(&cc.seen, 0);
	assert_int_equal(pthread_create(&tr, NULL, cc_read, &cc), 0);
	assert_int_equal(pthread_create(&tp, NULL, cc_peek, &cc), 0);
	for (int i = 0; i < CC_WRITERS; i++) {
		cw[i].cc = &cc;
		cw[i].tid = i;
		assert_int_equal(pthread_create(&tw[i], NULL, cc_write, &cw[i]),
		    0);
	}
	for (int i = 0; i < CC_WRITERS; i++)
		pthread_join(tw[i], NULL);
	__atomic_store_n(&cc.done, 1, __ATOMIC_RELEASE);
	pthread_join(tr, NULL);
	pthread_join(tp, NULL);
	logs_reader_free(cc.r);
	assert_int_equal(cc.err, 0);

	for (int t = 0; t < CC_WRITERS; t++)
		for (int i = 0; i < CC_LINES; i++)
			expect += (size_t)snprintf(line, sizeof(line),
			    "t%d %d\n", t, i);
	buf_init(&all, 0);
	read_all(s.l, cc.id, &all);
	assert_int_equal(all.len, expect);
	assert_int_equal(size_of(s.l, cc.id), expect);
	assert_int_equal(cc.seen.len, all.len);
	assert_memory_equal(cc.seen.data, all.data, all.len);
	assert_true(cc.nsamples > 0);
	for (size_t i = 0; i < cc.nsamples; i++) {
		struct cc_sample *sm = &cc.samples[i];

		assert_true(sm->off + sm->len <= all.len);
		assert_memory_equal(sm->data, all.data + sm->off, sm->len);
	}

	/* every line whole, each writer's in order, each once */
	for (size_t pos = 0; pos < all.len; ) {
		const char *nl = memchr(all.data + pos, '\n', all.len - pos);
		size_t len;
		int tid, n;

		assert_non_null(nl);
		len = (size_t)(nl - (all.data + pos)) + 1;
		tid = len > 1 ? all.data[pos + 1] - '0' : -1;
		if (all.data[pos] != 't' || tid < 0 || tid >= CC_WRITERS)
			fail_msg("line %zu: '%.*s'", lines, (int)len - 1,
			    all.data + pos);
		n = snprintf(line, sizeof(line), "t%d %d\n", tid, next[tid]);
		if ((size_t)n != len || memcmp(line, all.data + pos, len) != 0)
			fail_msg("line %zu: '%.*s', want '%.*s'", lines,
			    (int)len - 1, all.data + pos, n - 1, line);
		next[tid]++;
		pos += len;
		lines++;
	}
	for (int t = 0; t < CC_WRITERS; t++)
		assert_int_equal(next[t], CC_LINES);
	assert_int_equal(lines, CC_WRITERS * CC_LINES);

	/* and the same after a reopen */
	store_reopen(&s, ENGINE_WRITER);
	assert_content(s.l, cc.id, all.data, all.len);
	store_close(&s);
	buf_release(&all);
	buf_release(&cc.seen);
}

/* ---- labels, pushes and scans by time ---- */

/* A set from "name", "value", ... NULL. */
static struct labels *
mkls(const char *name, ...)
{
	struct label pairs[LABELS_COUNT_MAX];
	struct labels *ls;
	const char *n = name;
	size_t k = 0;
	va_list ap;

	va_start(ap, name);
	while (n != NULL) {
		pairs[k++] = label_str(n, va_arg(ap, const char *));
		n = va_arg(ap, const char *);
	}
	va_end(ap);
	assert_int_equal(labels_new(pairs, k, LABELS_RESERVED, &ls), 0);
	return ls;
}

/* The given labels of id in file-name form ("-" for none). */
static char *
given(struct logs *l, uint64_t id)
{
	struct labels *ls;
	struct buf b;

	assert_int_equal(logs_labels_get(l, id, &ls), 0);
	if (ls == NULL)
		return xstrdup("-");
	buf_init(&b, 0);
	assert_int_equal(labels_file_name(ls, &b), 0);
	labels_free(ls);
	return b.data;
}

static void
assert_given(struct logs *l, uint64_t id, const char *want)
{
	char *s = given(l, id);

	assert_string_equal(s, want);
	free(s);
}

struct sets {
	uint64_t	 id[16];
	char		*set[16];
	size_t		 n;
};

static int
collect_set(void *arg, uint64_t id, const struct labels *ls,
    const struct logs_attr *a)
{
	struct sets *ss = arg;
	struct buf b;

	assert_int_equal(a->id, id);
	assert_int_equal(a->type, LOGS_STREAM);
	assert_true(ss->n < 16);
	buf_init(&b, 0);
	assert_int_equal(labels_file_name(ls, &b), 0);
	ss->id[ss->n] = id;
	ss->set[ss->n++] = b.data;
	return 0;
}

/* logs_streams gives id this whole set (file-name form). */
static void
assert_set(struct logs *l, uint64_t id, const char *want)
{
	struct sets ss = { .n = 0 };
	int found = 0;

	assert_int_equal(logs_streams(l, collect_set, &ss), 0);
	for (size_t i = 0; i < ss.n; i++) {
		if (ss.id[i] == id) {
			assert_string_equal(ss.set[i], want);
			found++;
		}
		free(ss.set[i]);
	}
	assert_int_equal(found, 1);
}

static size_t
nstreams(struct logs *l)
{
	struct sets ss = { .n = 0 };

	assert_int_equal(logs_streams(l, collect_set, &ss), 0);
	for (size_t i = 0; i < ss.n; i++)
		free(ss.set[i]);
	return ss.n;
}

/*
 * Labels: set, read back, replaced and cleared; refused on a directory,
 * a missing stream and past LABELS_COUNT_MAX with stream=; logs_streams'
 * whole sets with stream= following a rename and given way to a given
 * stream label; kept across a writer and a reader reopen; a follower
 * applying 'L' records (a set, a deletion, garbage); the compaction
 * filter dropping them with their stream only.
 */
static void
test_labels(void **state)
{
	struct label many[LABELS_COUNT_MAX];
	char names[LABELS_COUNT_MAX][8];
	unsigned char k[11] = { 0x01, 0x01, 'L' };
	struct labels *ls, *big;
	struct store s;
	uint64_t a, b, d;
	const void *enc;
	size_t enclen;

	(void)state;
	store_new(&s);
	a = mk(s.l, ROOT, "a", LOGS_STREAM);
	d = mk(s.l, ROOT, "d", LOGS_DIR);
	b = mk(s.l, d, "b", LOGS_STREAM);
	assert_given(s.l, a, "-");
	assert_set(s.l, a, "{stream=\"a\"}");
	assert_set(s.l, b, "{stream=\"d%2Fb\"}");

	ls = mkls("app", "api", "env", "prod", NULL);
	assert_int_equal(logs_labels_set(s.l, a, ls), 0);
	assert_given(s.l, a, "{app=\"api\",env=\"prod\"}");
	assert_set(s.l, a, "{app=\"api\",env=\"prod\",stream=\"a\"}");
	assert_int_equal(logs_labels_set(s.l, d, ls), -EISDIR);
	assert_int_equal(logs_labels_set(s.l, NOID, ls), -ENOENT);
	labels_free(ls);

	/* stream= is the path, and follows a rename */
	assert_int_equal(logs_rename(s.l, d, "b", ROOT, "c", 0), 0);
	assert_set(s.l, b, "{stream=\"c\"}");
	ls = mkls("stream", "mine", "k", "v", NULL);
	assert_int_equal(logs_labels_set(s.l, b, ls), 0);
	labels_free(ls);
	assert_set(s.l, b, "{k=\"v\",stream=\"mine\"}");

	/* LABELS_COUNT_MAX given: no room for stream= */
	for (int i = 0; i < LABELS_COUNT_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "l%02d", i);
		many[i] = label_str(names[i], "x");
	}
	assert_int_equal(labels_new(many, LABELS_COUNT_MAX, 0, &big), 0);
	assert_int_equal(logs_labels_set(s.l, a, big), -EINVAL);
	labels_free(big);
	assert_given(s.l, a, "{app=\"api\",env=\"prod\"}");

	/* kept across reopens, a reader's too */
	store_reopen(&s, ENGINE_WRITER);
	assert_given(s.l, a, "{app=\"api\",env=\"prod\"}");
	assert_given(s.l, b, "{k=\"v\",stream=\"mine\"}");
	store_reopen(&s, ENGINE_READER);
	assert_given(s.l, a, "{app=\"api\",env=\"prod\"}");
	ls = mkls("x", "1", NULL);
	assert_int_equal(logs_labels_set(s.l, a, ls), -EROFS);

	/* what a follower applies */
	for (int i = 0; i < 8; i++)
		k[3 + i] = (unsigned char)(a >> (56 - 8 * i));
	enc = labels_encoding(ls, &enclen);
	logs_apply(s.l, k, 11, enc, enclen);
	assert_given(s.l, a, "{x=\"1\"}");
	logs_apply(s.l, k, 11, "junk", 4);
	assert_given(s.l, a, "{x=\"1\"}");
	logs_apply(s.l, k, 10, enc, enclen);
	assert_given(s.l, a, "{x=\"1\"}");
	logs_apply(s.l, k, 11, NULL, 0);
	assert_given(s.l, a, "-");
	labels_free(ls);

	/* cleared, and dropped with the stream by compaction */
	store_reopen(&s, ENGINE_WRITER);
	assert_int_equal(count_keys(s.e, 'L', a), 1);
	assert_int_equal(logs_labels_set(s.l, b, NULL), 0);
	assert_given(s.l, b, "-");
	assert_set(s.l, b, "{stream=\"c\"}");
	assert_int_equal(logs_unlink(s.l, ROOT, "a"), 0);
	assert_int_equal(engine_compact(s.e), 0);
	assert_int_equal(count_keys(s.e, 'L', a), 0);
	assert_int_equal(count_keys(s.e, 'L', b), 0);
	assert_int_equal(nstreams(s.l), 1);
	ls = mkls("y", "2", NULL);
	assert_int_equal(logs_labels_set(s.l, b, ls), 0);
	labels_free(ls);
	assert_int_equal(engine_compact(s.e), 0);
	assert_int_equal(count_keys(s.e, 'L', b), 1);
	store_reopen(&s, ENGINE_WRITER);
	assert_given(s.l, b, "{y=\"2\"}");
	store_close(&s);
}

/* The path of a pushed set. */
static char *
push_path(struct labels *ls)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(logs_push_path(NULL, ls, &b), 0);
	assert_int_equal(logs_path_check(b.data, b.len), 0);
	labels_free(ls);
	return b.data;
}

static void
assert_push_path(struct labels *ls, const char *want)
{
	char *p = push_path(ls);

	assert_string_equal(p, want);
	free(p);
}

/*
 * logs_push_path: the directory from the first of service_name, job,
 * app, service ("_" with none), escaped; the file name of the whole
 * set; hostile values ("../x", "a/b", "%", ".", ".."); names past 255
 * bytes cut with the hash, never inside an escape; one path per set.
 */
static void
test_push_path(void **state)
{
	char longv[1200];
	char *p, *q, *slash;

	(void)state;
	assert_push_path(mkls("job", "api", "env", "x", NULL),
	    "loki/api/{env=\"x\",job=\"api\"}");
	assert_push_path(mkls("service", "s", "app", "a", "job", "j",
	    "service_name", "sn", NULL),
	    "loki/sn/{app=\"a\",job=\"j\",service=\"s\",service_name=\"sn\"}");
	assert_push_path(mkls("service", "s", "app", "a", NULL),
	    "loki/a/{app=\"a\",service=\"s\"}");
	assert_push_path(mkls("service", "s", NULL),
	    "loki/s/{service=\"s\"}");
	assert_push_path(mkls("host", "h", NULL), "loki/_/{host=\"h\"}");
	assert_push_path(mkls("job", "a/b", NULL),
	    "loki/a%2Fb/{job=\"a%2Fb\"}");
	assert_push_path(mkls("job", "../x", NULL),
	    "loki/..%2Fx/{job=\"..%2Fx\"}");
	assert_push_path(mkls("job", "..", NULL),
	    "loki/%2E%2E/{job=\"..\"}");
	assert_push_path(mkls("app", ".", NULL), "loki/%2E/{app=\".\"}");
	assert_push_path(mkls("job", "%", NULL), "loki/%25/{job=\"%25\"}");
	assert_push_path(mkls("x", "../../etc/passwd", NULL),
	    "loki/_/{x=\"..%2F..%2Fetc%2Fpasswd\"}");
	assert_push_path(mkls("job", "_", NULL), "loki/_/{job=\"_\"}");

	/* too long: 200 bytes, '~', 16 hex digits */
	memset(longv, 'a', 1000);
	longv[1000] = '\0';
	p = push_path(mkls("job", longv, NULL));
	slash = strchr(p + 5, '/');
	assert_int_equal(slash - (p + 5), 217);
	assert_int_equal(p[5 + 200], '~');
	assert_true(strlen(slash + 1) <= LOGS_NAME_MAX);
	assert_int_equal(strlen(slash + 1), 217);
	q = push_path(mkls("job", longv, "k", "v", NULL));
	assert_memory_equal(p, q, 5 + 218);	/* the same directory */
	assert_string_not_equal(p, q);
	free(q);
	free(p);
	/* not cutting %25 */
	memset(longv, '%', 500);
	longv[500] = '\0';
	p = push_path(mkls("job", longv, NULL));
	slash = strchr(p + 5, '/');
	assert_int_equal(p[5 + 198], '~');
	assert_memory_equal(p + 5 + 195, "%25~", 4);
	free(p);
	/* deterministic */
	p = push_path(mkls("b", "2", "a", "1", NULL));
	q = push_path(mkls("a", "1", "b", "2", NULL));
	assert_string_equal(p, q);
	free(p);
	free(q);
}

static uint64_t
push_id(struct logs *l, struct labels *ls)
{
	struct logs_attr a;
	struct buf b;
	int rc;

	buf_init(&b, 0);
	assert_int_equal(logs_push_path(NULL, ls, &b), 0);
	rc = logs_resolve(l, b.data, b.len, 0, &a);
	buf_release(&b);
	return rc == 0 ? a.id : 0;
}

/* Push n entries of one set: logs_push's return. */
static int
push1(struct logs *l, const struct labels *ls, const struct logs_entry *e,
    size_t n)
{
	struct logs_push_stream ps = { .ls = ls, .e = e, .n = n };
	uint64_t seq = 0;
	int rc = logs_push(l, &ps, 1, &seq);

	assert_true(rc != 0 || seq > 0);
	return rc;
}

/*
 * logs_options.push_path: levels of directories, the first present of
 * each level's names, "_" for none; bad rules refused and the rule kept;
 * NULL back to the default; a push lands where the rule says.
 */
static void
test_push_path_rule(void **state)
{
	struct labels *ls;
	struct logs_attr a;
	struct store s;
	struct buf b;
	struct logs_entry e[] = { { clock_wall_ns(), "x", 1 } };

	(void)state;
	store_new(&s);
	assert_int_equal(logs_set_push_path(s.l, "namespace,app|job"), 0);
	ls = mkls("namespace", "prod", "job", "api", NULL);
	buf_init(&b, 0);
	assert_int_equal(logs_push_path(s.l, ls, &b), 0);
	assert_string_equal(buf_str(&b),
	    "loki/prod/api/{job=\"api\",namespace=\"prod\"}");
	assert_int_equal(push1(s.l, ls, e, 1), 0);
	assert_int_equal(logs_resolve(s.l, b.data, b.len, 0, &a), 0);
	labels_free(ls);
	buf_reset(&b);
	ls = mkls("app", "a/b", NULL);
	assert_int_equal(logs_push_path(s.l, ls, &b), 0);
	assert_string_equal(buf_str(&b), "loki/_/a%2Fb/{app=\"a%2Fb\"}");
	labels_free(ls);
	assert_int_equal(logs_set_push_path(s.l, "a,,b"), -EINVAL);
	assert_int_equal(logs_set_push_path(s.l, "a|b c"), -EINVAL);
	assert_int_equal(logs_set_push_path(s.l, "|"), -EINVAL);
	ls = mkls("namespace", "n", NULL);
	buf_reset(&b);
	assert_int_equal(logs_push_path(s.l, ls, &b), 0);
	assert_string_equal(buf_str(&b), "loki/n/_/{namespace=\"n\"}");
	assert_int_equal(logs_set_push_path(s.l, NULL), 0);
	buf_reset(&b);
	assert_int_equal(logs_push_path(s.l, ls, &b), 0);
	assert_string_equal(buf_str(&b), "loki/_/{namespace=\"n\"}");
	labels_free(ls);
	buf_release(&b);
	store_close(&s);
}

/*
 * logs_push drops an entry equal (time and line) to the last its stream
 * took, as Loki: one entry pushed again adds nothing, also when it ends
 * a push; two pushed again are stored again; an append in between makes
 * the same entry new again.
 */
static void
test_push_dedup(void **state)
{
	struct labels *ls;
	struct logs_attr a;
	struct store s;
	int64_t now = clock_wall_ns();
	struct logs_entry one[] = { { now - 5 * SEC, "once", 4 } };
	struct logs_entry two[] = { { now - 4 * SEC, "a", 1 },
	    { now - 3 * SEC, "b", 1 } };
	struct logs_entry same[] = { { now - 2 * SEC, "x", 1 },
	    { now - 2 * SEC, "x", 1 } };
	uint64_t id;

	(void)state;
	store_new(&s);
	ls = mkls("job", "dedup", NULL);
	assert_int_equal(push1(s.l, ls, one, 1), 0);
	id = push_id(s.l, ls);
	assert_int_not_equal(id, 0);
	assert_int_equal(push1(s.l, ls, one, 1), 0);
	assert_int_equal(logs_getattr(s.l, id, &a), 0);
	assert_int_equal(a.size, 5);
	assert_int_equal(push1(s.l, ls, two, 2), 0);
	assert_int_equal(push1(s.l, ls, two, 2), 0);
	assert_int_equal(logs_getattr(s.l, id, &a), 0);
	assert_int_equal(a.size, 5 + 8);
	assert_int_equal(push1(s.l, ls, same, 2), 0);
	assert_int_equal(logs_getattr(s.l, id, &a), 0);
	assert_int_equal(a.size, 5 + 8 + 2);
	assert_int_equal(logs_append(s.l, id, "y\n", 2, NULL), 0);
	assert_int_equal(push1(s.l, ls, same, 1), 0);
	assert_int_equal(logs_getattr(s.l, id, &a), 0);
	assert_int_equal(a.size, 5 + 8 + 2 + 2 + 2);
	labels_free(ls);
	store_close(&s);
}

/*
 * logs_push: streams found or made at their path with their labels;
 * entries of equal time sharing a record, multi-line entries, a long
 * entry cut into records; a set without entries making nothing; out of
 * order within the window accepted, too
 * old and too new refused with Loki's messages, all or nothing (a
 * fresh stream of a refused push not made); a path of other labels or
 * a directory refused; the newest time exact after a reopen.
 */
static void
test_push(void **state)
{
	struct labels *l1, *l2, *l3, *other;
	struct logs_attr a;
	struct store s;
	int64_t now = clock_wall_ns();
	uint64_t s1, s2, sz1, sz2;
	char *big;

	(void)state;
	store_new(&s);
	l1 = mkls("job", "api", "host", "h1", NULL);
	l2 = mkls("job", "api", "host", "h2", NULL);
	l3 = mkls("job", "web", NULL);
	{
		struct logs_entry e1[] = {
			{ now - 10 * SEC, "a1", 2 },
			{ now - 5 * SEC, "a2", 2 },
			{ now - 5 * SEC, "a3", 2 },
		};
		struct logs_entry e2[] = { { now, "b1\nb2", 5 } };
		struct logs_push_stream ps[] = {
			{ l1, e1, 3 }, { l2, e2, 1 }, { l1, e1, 1 },
		};
		uint64_t seq = 0;

		assert_int_equal(logs_push(s.l, ps, 3, &seq), 0);
		assert_true(seq > 0);
	}
	s1 = push_id(s.l, l1);
	s2 = push_id(s.l, l2);
	assert_true(s1 != 0 && s2 != 0 && s1 != s2);
	assert_str(s.l, s1, "a1\na2\na3\na1\n");
	assert_str(s.l, s2, "b1\nb2\n");
	assert_given(s.l, s1, "{host=\"h1\",job=\"api\"}");
	assert_int_equal(count_keys(s.e, 'R', s1), 3);	/* a2 and a3 share */
	assert_int_equal(logs_getattr(s.l, s1, &a), 0);
	assert_int_equal(a.mtime_ns, now - 5 * SEC);

	/* out of order within the window */
	{
		struct logs_entry e[] = { { now - 30 * 60 * SEC, "late", 4 } };
		assert_int_equal(push1(s.l, l1, e, 1), 0);
	}
	assert_str(s.l, s1, "a1\na2\na3\na1\nlate\n");
	sz1 = size_of(s.l, s1);
	sz2 = size_of(s.l, s2);

	/* too old: nothing of the push stored, no stream made */
	{
		struct logs_entry ok[] = { { now, "fine", 4 } };
		struct logs_entry old[] = {
			{ now, "fine", 4 }, { now - 2 * 3600 * SEC, "old", 3 },
		};
		struct logs_push_stream ps[] = {
			{ l2, ok, 1 }, { l3, ok, 1 }, { l1, old, 2 },
		};

		assert_int_equal(logs_push(s.l, ps, 3, NULL), -ERANGE);
		assert_non_null(strstr(err_detail(), "entry for stream "
		    "'{host=\"h1\", job=\"api\"}' has timestamp too old: "));
		assert_non_null(strstr(err_detail(),
		    ", oldest acceptable timestamp is: "));
	}
	assert_int_equal(size_of(s.l, s1), sz1);
	assert_int_equal(size_of(s.l, s2), sz2);
	assert_int_equal(push_id(s.l, l3), 0);

	/* too new */
	{
		struct logs_entry e[] = { { now + 20 * 60 * SEC, "soon", 4 } };
		assert_int_equal(push1(s.l, l2, e, 1), -ERANGE);
		assert_non_null(strstr(err_detail(), "has timestamp too new: "));
	}
	assert_int_equal(size_of(s.l, s2), sz2);

	/* a fresh stream takes any past time, then the window */
	{
		struct logs_entry e[] = {
			{ now - 30 * 3600 * SEC, "x", 1 },
			{ now - 31 * 3600 * SEC - 1, "y", 1 },
		};
		assert_int_equal(push1(s.l, l3, e, 1), 0);
		assert_int_equal(push1(s.l, l3, e + 1, 1), -ERANGE);
		assert_str(s.l, push_id(s.l, l3), "x\n");
	}

	/* a set without entries makes nothing */
	{
		struct logs_push_stream ps[] = { { l3, NULL, 0 }, { l1, NULL, 0 } };
		struct labels *none = mkls("job", "none", NULL);

		ps[0].ls = none;
		assert_int_equal(logs_push(s.l, ps, 2, NULL), 0);
		assert_int_equal(push_id(s.l, none), 0);
		labels_free(none);
	}

	/* a path of other labels, or of a directory */
	{
		struct logs_entry e[] = { { now, "z", 1 } };
		struct buf b;

		other = mkls("job", "o", NULL);
		buf_init(&b, 0);
		assert_int_equal(logs_push_path(NULL, other, &b), 0);
		assert_int_equal(logs_resolve(s.l, b.data, b.len, 1, &a), 0);
		assert_int_equal(push1(s.l, other, e, 1), -EINVAL);
		assert_int_equal(logs_unlink(s.l, a.parent, strrchr(b.data,
		    '/') + 1), 0);
		assert_int_equal(logs_mkdir(s.l, a.parent, strrchr(b.data,
		    '/') + 1, &a), 0);
		assert_int_equal(push1(s.l, other, e, 1), -EINVAL);
		buf_release(&b);
		labels_free(other);
		assert_int_equal(push1(s.l, NULL, e, 1), -EINVAL);
	}

	/* an entry longer than a record */
	big = xmalloc(3 * LOGS_RECORD_MAX);
	memset(big, 'q', 3 * LOGS_RECORD_MAX);
	for (size_t i = 1000; i < 3 * LOGS_RECORD_MAX; i += 1000)
		big[i] = '\n';
	{
		struct logs_entry e[] = { { now, big, 3 * LOGS_RECORD_MAX } };
		struct buf want;

		assert_int_equal(push1(s.l, l2, e, 1), 0);
		buf_init(&want, 0);
		buf_puts(&want, "b1\nb2\n");
		buf_append(&want, big, 3 * LOGS_RECORD_MAX);
		buf_putc(&want, '\n');
		assert_content(s.l, s2, want.data, want.len);
		assert_int_equal(count_keys(s.e, 'R', s2), 1 + 4);
		buf_release(&want);
	}
	free(big);

	/* the newest time after a reopen is the running maximum */
	store_reopen(&s, ENGINE_WRITER);
	assert_int_equal(logs_getattr(s.l, s1, &a), 0);
	assert_int_equal(a.mtime_ns, now - 5 * SEC);
	{
		struct logs_entry in[] = { { now - 5 * SEC - 59 * 60 * SEC,
		    "in", 2 } };
		struct logs_entry out[] = { { now - 5 * SEC - 61 * 60 * SEC,
		    "out", 3 } };
		assert_int_equal(push1(s.l, l1, out, 1), -ERANGE);
		assert_int_equal(push1(s.l, l1, in, 1), 0);
	}
	assert_str(s.l, s1, "a1\na2\na3\na1\nlate\nin\n");
	/* appends by the clock never go below the maximum */
	puts_(s.l, s2, "w\n");
	assert_int_equal(logs_getattr(s.l, s2, &a), 0);
	assert_true(a.mtime_ns >= now);
	labels_free(l1);
	labels_free(l2);
	labels_free(l3);
	store_close(&s);
}

struct got_entries {
	struct buf	 lines;
	size_t		 n;
};

static int
collect_entry(void *arg, uint64_t off, const void *data, size_t len,
    int64_t ts)
{
	struct got_entries *g = arg;

	(void)off;
	(void)ts;
	buf_append(&g->lines, data, len);
	g->n++;
	return 0;
}

static double
records_scanned(void)
{
	return metric_value(metric_series(metrics_find(metrics_global(),
	    "log_records_scanned_total")));
}

#define ST_N		3600
#define ST_STEP		(10 * SEC)

/*
 * logs_scan_time over a stream of 10 h pushed with every 7th entry
 * 40 min late: exactly the entries in range, in file order, for ranges
 * inside, across the start, over everything and outside; and no more
 * records read than the range and one window after it hold (also after
 * a reopen).
 */
static void
test_scan_time(void **state)
{
	struct logs_entry *e = xcalloc(ST_N, sizeof(*e));
	char (*text)[32] = xcalloc(ST_N, sizeof(*text));
	struct labels *ls = mkls("job", "t", NULL);
	int64_t now = clock_wall_ns(), base = now - 10 * 3600 * SEC;
	static const int64_t ranges[][2] = {
		{ 5 * 3600, 5 * 3600 + 600 },
		{ 0, 120 },
		{ -3600, 3600 },
		{ 9 * 3600, 11 * 3600 },
		{ -7200, -3600 },
		{ 3 * 3600 + 17, 3 * 3600 + 18 },
	};
	struct store s;
	uint64_t id;

	(void)state;
	store_new(&s);
	for (size_t i = 0; i < ST_N; i++) {
		e[i].ts_ns = base + (int64_t)i * ST_STEP;
		if (i % 7 == 3 && i > 300)
			e[i].ts_ns -= 40 * 60 * SEC;
		e[i].len = (size_t)snprintf(text[i], sizeof(text[i]), "e%zu", i);
		e[i].line = text[i];
	}
	for (size_t i = 0; i < ST_N; i += 100)
		assert_int_equal(push1(s.l, ls, e + i, 100), 0);
	id = push_id(s.l, ls);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t r = 0; r < sizeof(ranges) / sizeof(ranges[0]); r++) {
			int64_t lo = base + ranges[r][0] * SEC;
			int64_t hi = base + ranges[r][1] * SEC;
			struct got_entries g;
			struct buf want;
			size_t nwant = 0, inwin, from = 0, to = 0;
			int64_t max = INT64_MIN;
			double before = records_scanned(), read;

			buf_init(&want, 0);
			buf_init(&g.lines, 0);
			g.n = 0;
			for (size_t i = 0; i < ST_N; i++) {
				if (e[i].ts_ns >= lo && e[i].ts_ns < hi) {
					buf_printf(&want, "%s\n", text[i]);
					nwant++;
				}
				/*
				 * the reach: from the last index entry at or
				 * before lo (where the running maximum
				 * entered a new second) to the first record
				 * whose maximum is hi + window or more
				 */
				if (e[i].ts_ns > max) {
					if (max == INT64_MIN || e[i].ts_ns / SEC !=
					    max / SEC) {
						if (e[i].ts_ns <= lo)
							from = i;
					}
					max = e[i].ts_ns;
				}
				if (max < hi + LOGS_OOO_WINDOW_NS)
					to = i + 1;
			}
			inwin = to + 1 - from;
			assert_int_equal(logs_scan_time(s.l, id, lo, hi,
			    collect_entry, &g), 0);
			assert_int_equal(g.n, nwant);
			assert_int_equal(g.lines.len, want.len);
			if (want.len > 0)
				assert_memory_equal(g.lines.data, want.data,
				    want.len);
			read = records_scanned() - before;
			if (read > (double)inwin || read < (double)nwant)
				fail_msg("range %zu: %.0f records read, %zu in "
				    "reach", r, read, inwin);
			buf_release(&want);
			buf_release(&g.lines);
		}
		store_reopen(&s, ENGINE_WRITER);
	}
	/* stopping early */
	{
		struct got_entries g = { .n = 0 };

		buf_init(&g.lines, 0);
		assert_int_equal(logs_scan_time(s.l, id, base, now,
		    collect_entry, &g), 0);
		assert_int_equal(g.n, ST_N);
		buf_release(&g.lines);
		assert_int_equal(logs_scan_time(s.l, NOID, base, now,
		    collect_entry, &g), -ENOENT);
	}
	labels_free(ls);
	free(text);
	free(e);
	store_close(&s);
}

#define CP_THREADS	4
#define CP_PUSHES	100

struct cp {
	struct logs	*l;
	struct labels	*ls[2];
	int64_t		 now;
	int		 tid;
	int		 rc;
};

static void *
cp_push(void *arg)
{
	struct cp *c = arg;
	char text[2][32];
	struct logs_entry e[2];
	struct logs_push_stream ps[2];

	for (int i = 0; i < CP_PUSHES && c->rc == 0; i++) {
		for (int k = 0; k < 2; k++) {
			e[k].ts_ns = c->now - (int64_t)(CP_PUSHES - i) * SEC;
			e[k].len = (size_t)snprintf(text[k], sizeof(text[k]),
			    "t%d %d", c->tid, i);
			e[k].line = text[k];
			/* each thread its own order of the two streams */
			ps[k].ls = c->ls[(k + c->tid) % 2];
			ps[k].e = &e[k];
			ps[k].n = 1;
		}
		c->rc = logs_push(c->l, ps, 2, NULL);
	}
	return NULL;
}

/*
 * Pushes from four threads at once into the same two label sets, each
 * push touching both in its own order (the locks are taken in id order),
 * the first ones racing to make the streams: every push taken, each
 * stream made once with its labels, each thread's lines in each stream
 * once and in order.
 */
static void
test_push_concurrent(void **state)
{
	struct cp c[CP_THREADS];
	pthread_t th[CP_THREADS];
	struct labels *ls[2];
	struct store s;
	struct buf b;
	int64_t now = clock_wall_ns();

	(void)state;
	store_new(&s);
	ls[0] = mkls("job", "c", "n", "0", NULL);
	ls[1] = mkls("job", "c", "n", "1", NULL);
	for (int t = 0; t < CP_THREADS; t++) {
		c[t] = (struct cp){ s.l, { ls[0], ls[1] }, now, t, 0 };
		assert_int_equal(pthread_create(&th[t], NULL, cp_push, &c[t]),
		    0);
	}
	for (int t = 0; t < CP_THREADS; t++) {
		assert_int_equal(pthread_join(th[t], NULL), 0);
		assert_int_equal(c[t].rc, 0);
	}
	assert_int_equal(nstreams(s.l), 2);
	buf_init(&b, 0);
	for (int k = 0; k < 2; k++) {
		uint64_t id = push_id(s.l, ls[k]);
		int next[CP_THREADS] = { 0 };
		char *p, *nl;

		assert_true(id != 0);
		assert_given(s.l, id, k == 0 ? "{job=\"c\",n=\"0\"}" :
		    "{job=\"c\",n=\"1\"}");
		read_all(s.l, id, &b);
		buf_putc(&b, '\0');
		for (p = b.data; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
			int t, i;

			assert_int_equal(sscanf(p, "t%d %d", &t, &i), 2);
			assert_true(t >= 0 && t < CP_THREADS);
			assert_int_equal(i, next[t]);
			next[t]++;
		}
		for (int t = 0; t < CP_THREADS; t++)
			assert_int_equal(next[t], CP_PUSHES);
	}
	buf_release(&b);
	labels_free(ls[0]);
	labels_free(ls[1]);
	store_close(&s);
}

/* ---- retention ---- */

#define HOUR_MS		(3600LL * 1000)
#define HOUR_NS		(3600LL * SEC)

/*
 * Push three entries to the stream of job=name: 50 h old, 30 h old and
 * now, "<name> old", "<name> mid", "<name> new": the stream's id.
 */
static uint64_t
push_aged(struct logs *l, const char *name, int64_t now)
{
	char t[3][32];
	struct logs_entry e[3];
	struct labels *ls = mkls("job", name, NULL);
	uint64_t id;

	snprintf(t[0], sizeof(t[0]), "%s old", name);
	snprintf(t[1], sizeof(t[1]), "%s mid", name);
	snprintf(t[2], sizeof(t[2]), "%s new", name);
	e[0] = (struct logs_entry){ now - 50 * HOUR_NS, t[0], strlen(t[0]) };
	e[1] = (struct logs_entry){ now - 30 * HOUR_NS, t[1], strlen(t[1]) };
	e[2] = (struct logs_entry){ now, t[2], strlen(t[2]) };
	assert_int_equal(push1(l, ls, e, 3), 0);
	id = push_id(l, ls);
	assert_true(id != 0);
	labels_free(ls);
	return id;
}

/* The stream's bytes with the expired part's newlines left out. */
static void
live_text(struct logs *l, uint64_t id, struct buf *out)
{
	struct buf b;

	buf_init(&b, 0);
	read_all(l, id, &b);
	buf_reset(out);
	for (size_t i = 0; i < b.len; i++)
		if (b.data[i] != '\n' || (i > 0 && b.data[i - 1] != '\n'))
			buf_putc(out, b.data[i]);
	buf_putc(out, '\0');
	buf_release(&b);
}

static void
assert_live(struct logs *l, uint64_t id, const char *want)
{
	struct buf b;

	buf_init(&b, 0);
	live_text(l, id, &b);
	assert_string_equal(b.data, want);
	buf_release(&b);
}

static int
count_scan(void *arg, uint64_t off, const void *data, size_t len, int64_t ts)
{
	(void)off;
	(void)data;
	(void)len;
	(void)ts;
	(*(int *)arg)++;
	return 0;
}

/* Records a scan by offsets and one by time give of stream id. */
static void
assert_scans(struct logs *l, uint64_t id, int want)
{
	uint64_t next;
	int n = 0;

	assert_int_equal(logs_scan(l, id, 0, UINT64_MAX, 100, SIZE_MAX,
	    count_scan, &n, &next), 0);
	assert_int_equal(n, want);
	n = 0;
	assert_int_equal(logs_scan_time(l, id, 0, INT64_MAX, count_scan, &n),
	    0);
	assert_int_equal(n, want);
}

/*
 * logs_options: the first filter that matches a stream's whole label set
 * wins, else the default; a record expires at its own time plus that:
 * reads give its bytes as newlines at once, scans skip it, and the
 * compaction drops it and its index entries while the others stay.
 */
static void
test_retention_filters(void **state)
{
	struct store s;
	struct logs_attr a;
	uint64_t ja, jk, jz, ka, kz;
	int64_t now = clock_wall_ns();
	char got[8];

	(void)state;
	store_new(&s);
	assert_int_equal(logs_set_retention(s.l, 0, "{job=}:1d"), -EINVAL);
	assert_int_equal(logs_set_retention(s.l, 0, "{job=\"a\"}"), -EINVAL);
	assert_int_equal(logs_set_retention(s.l, 0, "{job=\"a\"}:soon"),
	    -EINVAL);
	ja = push_aged(s.l, "a", now);
	jk = push_aged(s.l, "k", now);
	jz = push_aged(s.l, "z", now);
	assert_int_equal(engine_compact(s.e), 0);	/* nothing set: all kept */
	assert_int_equal(count_keys(s.e, 'R', ja), 3);
	assert_live(s.l, ja, "a old\na mid\na new\n");
	ka = count_keys(s.e, 'T', ja);
	kz = count_keys(s.e, 'T', jz);
	assert_true(ka >= 3 && kz >= 3);

	assert_int_equal(logs_set_retention(s.l, 48 * HOUR_MS,
	    "# job a: a day\n"
	    "  {job=\"a\"}:1d\n"
	    "\n"
	    "{job=~\"a|k\"}:0\n"
	    "{stream=~\"loki/.*\", job=\"z\"}:100h\n"), 0);
	/* read at once: a's old and mid (1 d), none of k's (for ever) */
	assert_live(s.l, ja, "a new\n");
	assert_live(s.l, jk, "k old\nk mid\nk new\n");
	assert_live(s.l, jz, "z old\nz mid\nz new\n");	/* 100 h */
	assert_int_equal(logs_read(s.l, ja, 0, got, 6), 6);
	assert_memory_equal(got, "\n\n\n\n\n\n", 6);
	assert_int_equal(size_of(s.l, ja), 18);
	assert_scans(s.l, ja, 1);
	assert_scans(s.l, jk, 3);

	/* the third line no more: z falls to the default, 48 h */
	assert_int_equal(logs_set_retention(s.l, 48 * HOUR_MS,
	    "{job=\"a\"}:1d\n{job=~\"a|k\"}:0\n"), 0);
	assert_live(s.l, jz, "z mid\nz new\n");
	assert_scans(s.l, jz, 2);
	assert_int_equal(engine_compact(s.e), 0);
	assert_int_equal(count_keys(s.e, 'R', ja), 1);
	assert_int_equal(count_keys(s.e, 'R', jk), 3);
	assert_int_equal(count_keys(s.e, 'R', jz), 2);
	assert_true(count_keys(s.e, 'T', ja) < ka);
	assert_true(count_keys(s.e, 'T', ja) >= 1);
	assert_true(count_keys(s.e, 'T', jz) < kz);
	assert_live(s.l, ja, "a new\n");
	assert_live(s.l, jz, "z mid\nz new\n");
	assert_int_equal(size_of(s.l, ja), 18);

	/* opened again: sizes and offsets as they were; appends go on */
	store_reopen(&s, ENGINE_WRITER);
	assert_int_equal(logs_set_retention(s.l, 48 * HOUR_MS,
	    "{job=\"a\"}:1d\n{job=~\"a|k\"}:0\n"), 0);
	assert_int_equal(logs_getattr(s.l, ja, &a), 0);
	assert_int_equal(a.size, 18);
	assert_live(s.l, ja, "a new\n");
	puts_(s.l, ja, "a newer\n");
	assert_live(s.l, ja, "a new\na newer\n");
	assert_scans(s.l, ja, 2);
	store_close(&s);
}

/*
 * A stream's own retention (user.shale.retention) wins over the filters,
 * is kept with the stream, and cleared gives the filters back; a rename
 * changes stream= and so the filter that matches.
 */
static void
test_retention_own(void **state)
{
	struct store s;
	uint64_t jk, ja, id, dir;
	int64_t now = clock_wall_ns(), ms;

	(void)state;
	store_new(&s);
	jk = push_aged(s.l, "k", now);
	ja = push_aged(s.l, "a", now);
	assert_int_equal(logs_set_retention(s.l, HOUR_MS, "{job=\"k\"}:0\n"),
	    0);
	assert_int_equal(logs_retention_get(s.l, jk, &ms), 0);
	assert_int_equal(ms, -1);
	assert_int_equal(logs_retention_set(s.l, jk, 40 * HOUR_MS), 0);
	assert_int_equal(logs_retention_set(s.l, ja, 0), 0);	/* for ever */
	assert_int_equal(logs_retention_set(s.l, ROOT, HOUR_MS), -EISDIR);
	assert_int_equal(logs_retention_set(s.l, NOID, HOUR_MS), -ENOENT);
	assert_live(s.l, jk, "k mid\nk new\n");
	assert_live(s.l, ja, "a old\na mid\na new\n");

	/* kept with the stream */
	store_reopen(&s, ENGINE_WRITER);
	assert_int_equal(logs_set_retention(s.l, HOUR_MS, "{job=\"k\"}:0\n"),
	    0);
	assert_int_equal(logs_retention_get(s.l, jk, &ms), 0);
	assert_int_equal(ms, 40 * HOUR_MS);
	assert_int_equal(logs_retention_get(s.l, ja, &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(engine_compact(s.e), 0);
	assert_int_equal(count_keys(s.e, 'R', jk), 2);
	assert_int_equal(count_keys(s.e, 'R', ja), 3);

	/* a follower sees it too */
	{
		struct store f = s;
		unsigned char k[11] = { 0x01, 0x01, 'E' }, v[8] = { 0 };

		store_open(&f, ENGINE_READER);
		assert_int_equal(logs_retention_get(f.l, jk, &ms), 0);
		assert_int_equal(ms, 40 * HOUR_MS);
		assert_live(f.l, ja, "a old\na mid\na new\n");
		assert_int_equal(logs_retention_set(f.l, ja, HOUR_MS), -EROFS);
		/* what it applies: a value, junk (skipped), a deletion */
		for (int i = 0; i < 8; i++)
			k[3 + i] = (unsigned char)(ja >> (56 - 8 * i));
		v[7] = 1;				/* 1 ms */
		logs_apply(f.l, k, 11, v, 8);
		assert_int_equal(logs_retention_get(f.l, ja, &ms), 0);
		assert_int_equal(ms, 1);
		assert_live(f.l, ja, "");
		logs_apply(f.l, k, 11, "junk", 4);
		assert_int_equal(logs_retention_get(f.l, ja, &ms), 0);
		assert_int_equal(ms, 1);
		logs_apply(f.l, k, 11, NULL, 0);
		assert_int_equal(logs_retention_get(f.l, ja, &ms), 0);
		assert_int_equal(ms, -1);
		/* none set on this side: for ever */
		assert_live(f.l, ja, "a old\na mid\na new\n");
		store_close(&f);
	}

	/* cleared: the filter again (for ever) for what is left */
	assert_int_equal(logs_retention_set(s.l, jk, -1), 0);
	assert_int_equal(logs_retention_get(s.l, jk, &ms), 0);
	assert_int_equal(ms, -1);
	assert_live(s.l, jk, "k mid\nk new\n");
	/* cleared on a, the default (1 h) drops all but the newest */
	assert_int_equal(logs_retention_set(s.l, ja, -1), 0);
	assert_live(s.l, ja, "a new\n");
	assert_int_equal(engine_compact(s.e), 0);
	assert_int_equal(count_keys(s.e, 'R', ja), 1);

	/* stream= follows renames */
	dir = mk(s.l, ROOT, "keep", LOGS_DIR);
	id = mk(s.l, dir, "x", LOGS_STREAM);
	puts_(s.l, id, "x line\n");
	assert_int_equal(logs_set_retention(s.l, 1,
	    "{stream=~\"keep/.*\"}:0\n"), 0);
	clock_sleep_ms(5);
	assert_live(s.l, id, "x line\n");
	assert_int_equal(logs_rename(s.l, dir, "x", ROOT, "x", 0), 0);
	assert_live(s.l, id, "");
	assert_int_equal(size_of(s.l, id), 7);
	assert_int_equal(engine_compact(s.e), 0);
	assert_int_equal(count_keys(s.e, 'R', id), 0);
	assert_int_equal(count_keys(s.e, 'T', id), 0);
	/* every record gone: empty once opened again, offsets from 0 */
	store_reopen(&s, ENGINE_WRITER);
	assert_int_equal(size_of(s.l, id), 0);
	puts_(s.l, id, "again\n");
	assert_str(s.l, id, "again\n");
	/* removed streams take their retention record with them */
	assert_int_equal(logs_retention_set(s.l, id, HOUR_MS), 0);
	assert_int_equal(count_keys(s.e, 'E', id), 1);
	assert_int_equal(logs_unlink(s.l, ROOT, "x"), 0);
	assert_int_equal(engine_compact(s.e), 0);
	assert_int_equal(count_keys(s.e, 'E', id), 0);
	store_close(&s);
}

int	logs_keep_range(void *arg, const void *lo, size_t lolen,
	    const void *hi, size_t hilen);

/* Does the filter keep every record of data id d in [lo, hi]? */
static int
keeps_records(struct logs *l, uint64_t d, uint64_t lo, uint64_t hi)
{
	unsigned char a[19] = { 0x01, 0x01, 'R' }, b[19] = { 0x01, 0x01, 'R' };

	for (int i = 0; i < 8; i++) {
		a[3 + i] = b[3 + i] = (unsigned char)(d >> (56 - 8 * i));
		a[11 + i] = (unsigned char)(lo >> (56 - 8 * i));
		b[11 + i] = (unsigned char)(hi >> (56 - 8 * i));
	}
	return logs_keep_range(l, a, 19, b, 19);
}

/*
 * Whole runs of records may move in compaction (logs_keep_range) when
 * they cannot have expired: with no retention always; with one, from
 * the offsets the appends since opening vouch for, and not before them
 * or once the retention is too short for the out-of-order window.
 */
static void
test_retention_ranges(void **state)
{
	struct store s;
	struct labels *ls = mkls("job", "p", NULL);
	struct logs_entry e[2];
	uint64_t id, p, end;
	int64_t now = clock_wall_ns();

	(void)state;
	store_new(&s);
	id = mk(s.l, ROOT, "s", LOGS_STREAM);
	puts_(s.l, id, "one\n");
	puts_(s.l, id, "two\n");
	assert_true(keeps_records(s.l, id, 0, 8));
	assert_int_equal(logs_set_retention(s.l, 24 * HOUR_MS, NULL), 0);
	assert_true(keeps_records(s.l, id, 0, 8));
	assert_true(keeps_records(s.l, id, 4, 8));
	assert_int_equal(logs_set_retention(s.l, HOUR_MS, NULL), 0);
	assert_false(keeps_records(s.l, id, 0, 8));	/* within the window */
	assert_int_equal(logs_set_retention(s.l, 24 * HOUR_MS, NULL), 0);
	assert_false(keeps_records(s.l, id + 1000, 0, 8));	/* no such data */
	/* opened again: nothing vouches for what was stored before */
	store_reopen(&s, ENGINE_WRITER);
	assert_int_equal(logs_set_retention(s.l, 24 * HOUR_MS, NULL), 0);
	assert_false(keeps_records(s.l, id, 0, 8));
	puts_(s.l, id, "three\n");
	assert_false(keeps_records(s.l, id, 0, 14));
	assert_true(keeps_records(s.l, id, 8, 14));

	/* a push's first entries may be of any age: only what follows */
	e[0] = (struct logs_entry){ now - 20 * HOUR_NS, "old", 3 };
	assert_int_equal(push1(s.l, ls, e, 1), 0);
	p = push_id(s.l, ls);
	end = size_of(s.l, p);
	assert_false(keeps_records(s.l, p, 0, end));
	e[0] = (struct logs_entry){ now - 19 * HOUR_NS - 30 * SEC, "o2", 2 };
	e[1] = (struct logs_entry){ now, "new", 3 };
	assert_int_equal(push1(s.l, ls, e, 2), 0);
	/* from the second push on: times from 20 h - 1 h back, within 24 h */
	assert_true(keeps_records(s.l, p, end, size_of(s.l, p)));
	assert_int_equal(logs_set_retention(s.l, 20 * HOUR_MS, NULL), 0);
	assert_false(keeps_records(s.l, p, end, size_of(s.l, p)));
	/* a truncation forgets them */
	assert_int_equal(logs_set_retention(s.l, 24 * HOUR_MS, NULL), 0);
	assert_int_equal(logs_truncate(s.l, id, 0), 0);
	assert_false(keeps_records(s.l, id, 8, 14));
	labels_free(ls);
	store_close(&s);
}

/* ---- main ---- */

#define NS_N		4000
#define NS_BATCH	20

/* Lines of a scan that hold every needle, each with its newline. */
struct needle_lines {
	const char *const *nv;
	size_t		 nn;
	struct buf	 out;
	size_t		 records;
};

static int
needle_entry(void *arg, uint64_t off, const void *data, size_t len,
    int64_t ts)
{
	struct needle_lines *g = arg;
	const char *p = data, *end = p + len, *nl;
	size_t i;

	(void)off;
	(void)ts;
	g->records++;
	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		for (i = 0; i < g->nn; i++)
			if (memmem(p, (size_t)(nl - p), g->nv[i],
			    strlen(g->nv[i])) == NULL)
				break;
		if (i == g->nn) {
			buf_append(&g->out, p, (size_t)(nl - p));
			buf_append(&g->out, "\n", 1);
		}
	}
	return 0;
}

static double
blocks_skipped(void)
{
	return metric_value(metric_series(metrics_find(metrics_global(),
	    "engine_blocks_skipped_total")));
}

/*
 * Scan [lo, hi) of id for needles both ways: with them, and without
 * them filtering each line; the same lines. The records each read in
 * *with and *without.
 */
static void
check_needles(struct logs *l, uint64_t id, int64_t lo, int64_t hi,
    const char *const *nv, size_t nn, size_t *with, size_t *without)
{
	struct needle_lines a = { nv, nn, { 0 }, 0 }, b = { nv, nn, { 0 }, 0 };

	buf_init(&a.out, 0);
	buf_init(&b.out, 0);
	assert_int_equal(logs_scan_time(l, id, lo, hi, needle_entry, &a), 0);
	assert_int_equal(logs_scan_time_needles(l, id, lo, hi, nv, nn,
	    needle_entry, &b), 0);
	assert_int_equal(b.out.len, a.out.len);
	if (a.out.len > 0)
		assert_memory_equal(b.out.data, a.out.data, a.out.len);
	*without = a.records;
	*with = b.records;
	buf_release(&a.out);
	buf_release(&b.out);
}

/*
 * logs_scan_time_needles gives the same lines as logs_scan_time filtered
 * by memmem, for a needle in one line, one in every tenth line, one in
 * none, two at once and a short one: from the memtable, from tables after
 * a compaction (where a rare needle leaves most records out, unread, and
 * engine_blocks_skipped_total counts the blocks), and from both at once.
 */
static void
test_scan_needles(void **state)
{
	static const char *const cases[][2] = {
		{ "req=rare-0000beef", NULL },
		{ "status=503", NULL },
		{ "nowhere-to-be-seen", NULL },
		{ "method=POST", "status=503" },
		{ "=", NULL },
	};
	struct logs_entry *e = xcalloc(NS_N, sizeof(*e));
	char (*text)[160] = xcalloc(NS_N, sizeof(*text));
	struct labels *ls = mkls("job", "needles", NULL);
	int64_t now = clock_wall_ns(), base = now - 3000 * SEC;
	uint64_t rs = 0x1234567, id;
	size_t with, without, i, k;
	struct store s;
	double skipped;

	(void)state;
	store_new(&s);
	for (i = 0; i < NS_N; i++) {
		e[i].ts_ns = base + (int64_t)i * (SEC / 2);
		if (i == 2345)
			e[i].len = (size_t)snprintf(text[i], sizeof(text[i]),
			    "level=info method=GET path=/api/x status=200 "
			    "req=rare-0000beef");
		else
			e[i].len = (size_t)snprintf(text[i], sizeof(text[i]),
			    "level=info method=%s path=/api/v%d/items/%llu "
			    "status=%d bytes=%llu req=%016llx",
			    i % 3 ? "GET" : "POST", (int)(i % 4),
			    (unsigned long long)(rnd(&rs) % 100000),
			    i % 10 == 7 ? 503 : 200,
			    (unsigned long long)(rnd(&rs) % 65536),
			    (unsigned long long)rnd(&rs));
		e[i].line = text[i];
	}
	for (i = 0; i < NS_N / 2; i += NS_BATCH)
		assert_int_equal(push1(s.l, ls, e + i, NS_BATCH), 0);
	id = push_id(s.l, ls);

	for (int pass = 0; pass < 3; pass++) {
		if (pass == 1) {
			/* into tables */
			for (; i < NS_N; i += NS_BATCH)
				assert_int_equal(push1(s.l, ls, e + i,
				    NS_BATCH), 0);
			assert_int_equal(engine_compact(s.e), 0);
		}
		if (pass == 2) {
			/* and some more in the memtable */
			struct logs_entry more = { now - SEC,
			    "tail req=rare-0000beef", 22 };

			assert_int_equal(push1(s.l, ls, &more, 1), 0);
		}
		for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
			size_t nn = cases[k][1] != NULL ? 2 : 1;

			skipped = blocks_skipped();
			check_needles(s.l, id, base, now, cases[k], nn, &with,
			    &without);
			assert_true(with <= without);
			if (pass == 0 || k == 4)
				assert_int_equal(with, without);
			if (pass > 0 && (k == 0 || k == 2)) {
				/* a rare needle: most records unread */
				if (with * 4 > without)
					fail_msg("case %zu: %zu of %zu records "
					    "read", k, with, without);
				assert_true(blocks_skipped() > skipped);
			}
			/* a range inside */
			check_needles(s.l, id, base + 700 * SEC,
			    base + 1500 * SEC, cases[k], nn, &with, &without);
			assert_true(with <= without);
		}
	}
	labels_free(ls);
	free(text);
	free(e);
	store_close(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_namespace),
		cmocka_unit_test(test_readdir_order),
		cmocka_unit_test(test_rename),
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_persistence),
		cmocka_unit_test(test_writer_offsets),
		cmocka_unit_test(test_writer_lines),
		cmocka_unit_test(test_writer_hold_max),
		cmocka_unit_test(test_writer_removed),
		cmocka_unit_test(test_compaction_filter),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_big_records),
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_reader),
		cmocka_unit_test(test_truncate),
		cmocka_unit_test(test_reader_cache),
		cmocka_unit_test(test_offset_at),
		cmocka_unit_test(test_mtime),
		cmocka_unit_test(test_on_change),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_push_path),
		cmocka_unit_test(test_push),
		cmocka_unit_test(test_push_dedup),
		cmocka_unit_test(test_push_path_rule),
		cmocka_unit_test(test_scan_time),
		cmocka_unit_test(test_scan_needles),
		cmocka_unit_test(test_push_concurrent),
		cmocka_unit_test(test_retention_filters),
		cmocka_unit_test(test_retention_own),
		cmocka_unit_test(test_retention_ranges),
	};
	int rc;

	if (scratch_make(scratch, sizeof(scratch), "logs") != 0) {
		perror("mkdtemp");
		return 1;
	}
	setenv("XDG_CACHE_HOME", scratch, 1);
	log_set_level(LOG_WARN);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	scratch_remove(scratch);
	return rc;
}
