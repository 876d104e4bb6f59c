/*
 * test_gc.c - the garbage collector, on stores built by hand in a file://
 * directory: manifests written with manifest_encode() and objstore_put(),
 * WAL objects and tables as a few bytes each (gc never reads them).
 *
 * Objects are written at the real time (base, in the fixture); manifests
 * say they were created hours later (H), and gc_run() is given a now_ms
 * chosen against both, so nothing sleeps.
 *
 * Exercises: the current manifest's tables are kept and a table in no
 * manifest deleted; a table a new manifest dropped is kept while the old
 * manifest was superseded within min_age (to the millisecond) and deleted
 * after; a table only a checkpointed manifest lists (just below the
 * windows, or further down) is kept until the checkpoint expires, and so
 * is that manifest; a young table in no
 * manifest (uploaded, not committed) is kept, and counted; a pinned table
 * is kept; WAL objects below the lowest replay point of the manifests in
 * the window go, those at or above it and above the pin stay; old
 * manifests go after the manifests' min_age, never the latest, with few
 * reads where the window is wide (bisection); dry_run deletes nothing and
 * reports what a real run then deletes; a corrupt or missing manifest that
 * a reader may use stops the deletion of tables and WAL objects, with the
 * error; keys gc does not know are untouched; a store without manifests
 * is left alone; a failing batch delete is redone one key at a time, and
 * keys that cannot be deleted are counted and deleted by the next run;
 * the metrics count what was deleted.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "engine/lsm/gc.h"
#include "engine/lsm/manifest.h"
#include "engine/objstore/objstore.h"
#include "engine/lsm/settings.h"
#include "engine/lsm/wal.h"
#include "tests/unit/scratch.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/metrics.h"
#include "util/xmalloc.h"

#define SEC	1000LL
#define MIN	(60 * SEC)
#define HOUR	(60 * MIN)

struct fixture {
	struct scratch	 sc;		/* the directory and the store */
	struct engine_settings s;
	int64_t		 base;		/* ms: objects are written about now */
	int64_t		 H;		/* ms: manifests are created from here */
	struct buf	 seen;		/* keys gc reported, one a line */
	struct gc_report r;
};

/* A manifest to write: NULL-ended lists of table keys. */
struct mspec {
	uint64_t	 id;
	int64_t		 created;
	uint64_t	 replay;
	const char	*l0[4];
	const char	*run[4];
	uint64_t	 ckpt;		/* a checkpoint of this version, or 0 */
	int64_t		 ckpt_expire;
};

static int
setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof(*fx));

	if (scratch_open(&fx->sc, "gc") != 0) {
		free(fx);
		return -1;
	}
	engine_settings_default(&fx->s);
	fx->base = (int64_t)time(NULL) * SEC;
	fx->H = fx->base + 10 * HOUR;
	buf_init(&fx->seen, 0);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	int rc;

	engine_settings_release(&fx->s);
	buf_release(&fx->seen);
	rc = scratch_close(&fx->sc);
	free(fx);
	return rc;
}

/* An object whose bytes are its key. */
static void
put(struct fixture *fx, const char *key)
{
	assert_int_equal(objstore_put(fx->sc.os, key, key, strlen(key)), 0);
}

/* compacted/<c>.sst for each letter c of `names` */
static void
put_tables(struct fixture *fx, const char *names)
{
	char key[32];

	for (; *names != '\0'; names++) {
		snprintf(key, sizeof(key), "compacted/%c.sst", *names);
		put(fx, key);
	}
}

static void
put_wal(struct fixture *fx, uint64_t id)
{
	char key[32];

	wal_key(id, key);
	put(fx, key);
}

static int
exists(struct fixture *fx, const char *key)
{
	struct objstore_meta meta;
	int rc = objstore_head(fx->sc.os, key, &meta);

	assert_true(rc == 0 || rc == -ENOENT);
	return rc == 0;
}

static int
wal_exists(struct fixture *fx, uint64_t id)
{
	char key[32];

	wal_key(id, key);
	return exists(fx, key);
}

static int
manifest_exists(struct fixture *fx, uint64_t id)
{
	char key[40];

	manifest_key(id, key);
	return exists(fx, key);
}

static struct manifest_table *
tables(const char *const *keys, size_t *n)
{
	struct manifest_table *t;

	for (*n = 0; keys[*n] != NULL; (*n)++)
		;
	t = xcalloc(*n + 1, sizeof(*t));
	for (size_t i = 0; i < *n; i++) {
		t[i].key = xstrdup(keys[i]);
		t[i].size = strlen(keys[i]);
	}
	return t;
}

static void
put_manifest(struct fixture *fx, const struct mspec *sp)
{
	struct manifest m;
	struct buf b;
	char key[40];

	manifest_init(&m);
	m.id = sp->id;
	m.writer_epoch = 1;
	m.created_ms = sp->created;
	m.wal_replay_from = sp->replay != 0 ? sp->replay : 1;
	m.l0 = tables(sp->l0, &m.nl0);
	if (sp->run[0] != NULL) {
		m.runs = xcalloc(1, sizeof(*m.runs));
		m.nruns = 1;
		m.runs[0].id = 1;
		m.runs[0].tables = tables(sp->run, &m.runs[0].ntables);
	}
	if (sp->ckpt != 0) {
		m.checkpoints = xcalloc(1, sizeof(*m.checkpoints));
		m.ncheckpoints = 1;
		m.checkpoints[0].id = xstrdup("reader-1");
		m.checkpoints[0].manifest_id = sp->ckpt;
		m.checkpoints[0].expire_ms = sp->ckpt_expire;
	}
	buf_init(&b, 0);
	assert_int_equal(manifest_encode(&m, &b), 0);
	manifest_key(sp->id, key);
	assert_int_equal(objstore_put(fx->sc.os, key, b.data, b.len), 0);
	buf_release(&b);
	manifest_release(&m);
}

static void
seen(void *arg, const char *key, uint64_t size, const char *why)
{
	struct fixture *fx = arg;

	if (strncmp(key, "manifest/", 9) != 0)
		assert_int_equal(size, strlen(key));
	assert_non_null(why);
	assert_true(*why != '\0');
	buf_printf(&fx->seen, "%s\n", key);
}

/* Run gc as of `now`: its return code; fx->seen and fx->r say what it did. */
static int
run(struct fixture *fx, int64_t now, const struct gc_pin *pin, int dry_run)
{
	buf_reset(&fx->seen);
	return gc_run(fx->sc.os, &fx->s, now, pin, dry_run, seen, fx, &fx->r);
}

/* The same, expecting success and exactly `want` deleted. */
static void
expect(struct fixture *fx, int64_t now, const struct gc_pin *pin,
    const char *want)
{
	assert_int_equal(run(fx, now, pin, 0), 0);
	assert_string_equal(buf_str(&fx->seen), want);
	assert_int_equal(fx->r.errors, 0);
}

static double
counter(const char *name, const char *label)
{
	struct metric *f = metrics_find(metrics_global(), name);

	if (f == NULL)
		return 0;
	return metric_value(label != NULL ? metric_series(f, label) :
	    metric_series(f));
}

/* ---- tables ---- */

static void
test_current_tables_kept(void **state)
{
	struct fixture *fx = *state;
	double del = counter("engine_gc_deleted_total", "table");
	double bytes = counter("engine_gc_deleted_bytes_total", NULL);
	double runs = counter("engine_gc_runs_total", NULL);

	put_tables(fx, "abcx");
	put_manifest(fx, &(struct mspec){ .id = 1, .created = fx->H,
	    .l0 = { "compacted/a.sst" } });
	put_manifest(fx, &(struct mspec){ .id = 2, .created = fx->H + SEC,
	    .l0 = { "compacted/a.sst" },
	    .run = { "compacted/b.sst", "compacted/c.sst" } });
	expect(fx, fx->H + HOUR, NULL, "compacted/x.sst\n");
	assert_true(exists(fx, "compacted/a.sst"));
	assert_true(exists(fx, "compacted/b.sst"));
	assert_true(exists(fx, "compacted/c.sst"));
	assert_false(exists(fx, "compacted/x.sst"));
	assert_int_equal(fx->r.tables, 1);
	assert_int_equal(fx->r.bytes, strlen("compacted/x.sst"));
	/* manifest 1 is younger than the manifests' 24 h */
	assert_int_equal(fx->r.manifests, 0);
	assert_int_equal(fx->r.kept_young, 1);
	assert_true(manifest_exists(fx, 1));
	assert_true(counter("engine_gc_deleted_total", "table") == del + 1);
	assert_true(counter("engine_gc_deleted_bytes_total", NULL) ==
	    bytes + (double)strlen("compacted/x.sst"));
	assert_true(counter("engine_gc_runs_total", NULL) == runs + 1);
	expect(fx, fx->H + HOUR, NULL, "");
}

static void
test_dropped_table_min_age(void **state)
{
	struct fixture *fx = *state;
	int64_t sup = fx->H + HOUR;	/* when manifest 1 was superseded */

	put_tables(fx, "abc");
	put_manifest(fx, &(struct mspec){ .id = 1, .created = fx->H,
	    .l0 = { "compacted/a.sst", "compacted/b.sst" } });
	put_manifest(fx, &(struct mspec){ .id = 2, .created = sup,
	    .run = { "compacted/c.sst" } });
	expect(fx, sup + 30 * SEC, NULL, "");
	expect(fx, sup + 60 * SEC, NULL, "");	/* superseded exactly min_age ago */
	assert_true(exists(fx, "compacted/a.sst"));
	/* the process still reads b */
	expect(fx, sup + 60 * SEC + 1, &(struct gc_pin){
	    .tables = (char *[]){ (char *)"compacted/b.sst" }, .ntables = 1 },
	    "compacted/a.sst\n");
	assert_true(exists(fx, "compacted/b.sst"));
	expect(fx, sup + 61 * SEC, NULL, "compacted/b.sst\n");
	assert_true(exists(fx, "compacted/c.sst"));
}

/*
 * Manifests 1 (a), 2 (b) and 3 (c), where 3 has a checkpoint of version
 * `k`: that version and its table stay until the checkpoint expires.
 * Version 2 lies just below the windows, version 1 further down.
 */
static void
checkpoint(struct fixture *fx, uint64_t k)
{
	static const char *const tab[] = { NULL, "compacted/a.sst",
	    "compacted/b.sst" };
	int64_t expire = fx->H + 2 * HOUR;
	uint64_t other = 3 - k;
	char want[128];

	fx->s.gc_manifest.min_age_ms = 0;
	put_tables(fx, "abc");
	put_manifest(fx, &(struct mspec){ .id = 1, .created = fx->H,
	    .l0 = { "compacted/a.sst" } });
	put_manifest(fx, &(struct mspec){ .id = 2, .created = fx->H + SEC,
	    .l0 = { "compacted/b.sst" } });
	put_manifest(fx, &(struct mspec){ .id = 3, .created = fx->H + 2 * SEC,
	    .l0 = { "compacted/c.sst" }, .ckpt = k, .ckpt_expire = expire });
	snprintf(want, sizeof(want), "%s\nmanifest/%020llu\n", tab[other],
	    (unsigned long long)other);
	expect(fx, fx->H + HOUR, NULL, want);
	assert_true(exists(fx, tab[k]));
	assert_true(manifest_exists(fx, k));
	expect(fx, expire - 1, NULL, "");
	snprintf(want, sizeof(want), "%s\nmanifest/%020llu\n", tab[k],
	    (unsigned long long)k);
	expect(fx, expire, NULL, want);
	assert_true(exists(fx, "compacted/c.sst"));
	assert_true(manifest_exists(fx, 3));
}

static void
test_checkpoint_below(void **state)
{
	checkpoint(*state, 2);
}

static void
test_checkpoint_deep(void **state)
{
	checkpoint(*state, 1);
}

static void
test_young_uncommitted(void **state)
{
	struct fixture *fx = *state;

	put_tables(fx, "a");
	put(fx, "compacted/new.sst");
	put_manifest(fx, &(struct mspec){ .id = 1, .created = fx->base - HOUR,
	    .l0 = { "compacted/a.sst" } });
	/* written now, listed by no manifest: a table not yet committed */
	expect(fx, fx->base + 30 * SEC, NULL, "");
	assert_int_equal(fx->r.kept_young, 1);
	assert_true(exists(fx, "compacted/new.sst"));
	expect(fx, fx->base + HOUR, NULL, "compacted/new.sst\n");
	assert_int_equal(fx->r.kept_young, 0);
}

/* ---- WAL ---- */

static void
test_wal(void **state)
{
	struct fixture *fx = *state;
	static const uint64_t ids[] = { 1, 2, 3, 5, 6, 7, 8, 9, 1048577 };

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		put_wal(fx, ids[i]);
	put_manifest(fx, &(struct mspec){ .id = 1, .created = fx->H,
	    .replay = 1 });
	put_manifest(fx, &(struct mspec){ .id = 2, .created = fx->H + SEC,
	    .replay = 5 });
	put_manifest(fx, &(struct mspec){ .id = 3, .created = fx->H + 2 * SEC,
	    .replay = 8 });
	/* manifest 1 was superseded 60 s ago: its readers replay from 1 */
	expect(fx, fx->H + SEC + 60 * SEC, NULL, "");
	/* then manifest 2's readers replay from 5 */
	expect(fx, fx->H + SEC + 60 * SEC + 1, NULL,
	    "wal/00000000000000000001.wal\nwal/00000000000000000002.wal\n"
	    "wal/00000000000000000003.wal\n");
	/* then 8, but this process still replays from 6 */
	expect(fx, fx->H + HOUR, &(struct gc_pin){ .wal_from = 6 },
	    "wal/00000000000000000005.wal\n");
	expect(fx, fx->H + HOUR, NULL,
	    "wal/00000000000000000006.wal\nwal/00000000000000000007.wal\n");
	assert_true(wal_exists(fx, 8));
	assert_true(wal_exists(fx, 9));
	assert_true(wal_exists(fx, 1048577));
	assert_int_equal(fx->r.wals, 2);
}

/* A WAL object (and a table) of a store whose manifest lists no table. */
static void
test_wal_young(void **state)
{
	struct fixture *fx = *state;

	put_wal(fx, 3);
	put_tables(fx, "x");
	put_manifest(fx, &(struct mspec){ .id = 1, .created = fx->base - HOUR,
	    .replay = 10 });
	expect(fx, fx->base + 30 * SEC, NULL, "");
	assert_int_equal(fx->r.kept_young, 2);
	expect(fx, fx->base + 2 * MIN, NULL, "compacted/x.sst\n"
	    "wal/00000000000000000003.wal\n");
}

/* ---- manifests ---- */

static void
test_manifests(void **state)
{
	struct fixture *fx = *state;

	fx->s.gc_manifest.min_age_ms = 2 * MIN;
	for (uint64_t id = 1; id <= 5; id++)
		put_manifest(fx, &(struct mspec){ .id = id,
		    .created = fx->H + (int64_t)id * MIN });
	/*
	 * superseded: 1 at H+2m, 2 at H+3m, 3 at H+4m, 4 at H+5m (in the
	 * tables' and the WAL's window); 5 is the latest
	 */
	expect(fx, fx->H + 5 * MIN + 30 * SEC, NULL,
	    "manifest/00000000000000000001\nmanifest/00000000000000000002\n");
	assert_int_equal(fx->r.manifests, 2);
	assert_int_equal(fx->r.kept_young, 1);
	expect(fx, fx->H + 10 * HOUR, NULL,
	    "manifest/00000000000000000003\nmanifest/00000000000000000004\n");
	expect(fx, fx->H + 100 * HOUR, NULL, "");
	assert_true(manifest_exists(fx, 5));
}

/* A wide manifests' window is found by bisection, not by reading it all. */
static void
test_manifests_bisect(void **state)
{
	struct fixture *fx = *state;
	struct metric *f;
	double gets;
	struct buf want;
	char key[40];

	fx->s.gc_manifest.min_age_ms = 50 * SEC;
	fx->s.gc_wal.min_age_ms = SEC;
	fx->s.gc_compacted.min_age_ms = SEC;
	for (uint64_t id = 1; id <= 200; id++)
		put_manifest(fx, &(struct mspec){ .id = id,
		    .created = fx->H + (int64_t)id * SEC });
	/* now = H + 202 s: superseded at or before H + 152 s: 1 .. 151 */
	buf_init(&want, 0);
	for (uint64_t id = 1; id <= 151; id++) {
		manifest_key(id, key);
		buf_printf(&want, "%s\n", key);
	}
	f = metrics_find(fx->sc.m, "objstore_requests_total");
	assert_non_null(f);
	gets = metric_value(metric_series(f, "get"));
	expect(fx, fx->H + 202 * SEC, NULL, buf_str(&want));
	assert_int_equal(fx->r.kept_young, 48);	/* 152 .. 199 */
	gets = metric_value(metric_series(f, "get")) - gets;
	assert_true(gets >= 3 && gets <= 20);
	buf_release(&want);
}

/* ---- dry run, damage, strangers ---- */

static void
garbage(struct fixture *fx)
{
	fx->s.gc_manifest.min_age_ms = 0;
	put_tables(fx, "abx");
	put_wal(fx, 1);
	put_wal(fx, 2);
	put_wal(fx, 3);
	put_manifest(fx, &(struct mspec){ .id = 1, .created = fx->H,
	    .l0 = { "compacted/a.sst" }, .replay = 1 });
	put_manifest(fx, &(struct mspec){ .id = 2, .created = fx->H + SEC,
	    .l0 = { "compacted/a.sst", "compacted/b.sst" }, .replay = 2 });
	put_manifest(fx, &(struct mspec){ .id = 3, .created = fx->H + 2 * SEC,
	    .l0 = { "compacted/b.sst" }, .replay = 3 });
}

static char *
listing(struct fixture *fx)
{
	struct objstore_list l = { 0 };
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(objstore_list(fx->sc.os, "", NULL, 0, &l), 0);
	assert_null(l.next);
	for (size_t i = 0; i < l.n; i++)
		buf_printf(&b, "%s\n", l.entries[i].key);
	objstore_list_release(&l);
	return buf_detach(&b, NULL);
}

static void
test_dry_run(void **state)
{
	struct fixture *fx = *state;
	static const char want[] = "compacted/a.sst\ncompacted/x.sst\n"
	    "wal/00000000000000000001.wal\nwal/00000000000000000002.wal\n"
	    "manifest/00000000000000000001\nmanifest/00000000000000000002\n";
	double del = counter("engine_gc_deleted_total", "wal");
	struct gc_report dry;
	char *before, *after;

	garbage(fx);
	before = listing(fx);
	assert_int_equal(run(fx, fx->H + HOUR, NULL, 1), 0);
	assert_string_equal(buf_str(&fx->seen), want);
	dry = fx->r;
	after = listing(fx);
	assert_string_equal(before, after);
	assert_true(counter("engine_gc_deleted_total", "wal") == del);
	expect(fx, fx->H + HOUR, NULL, want);
	assert_memory_equal(&dry, &fx->r, sizeof(dry));
	assert_int_equal(fx->r.manifests, 2);
	assert_int_equal(fx->r.wals, 2);
	assert_int_equal(fx->r.tables, 2);
	assert_true(counter("engine_gc_deleted_total", "wal") == del + 2);
	free(before);
	free(after);
	before = listing(fx);
	assert_string_equal(before, "compacted/b.sst\n"
	    "manifest/00000000000000000003\nwal/00000000000000000003.wal\n");
	free(before);
}

/* Manifest 2 superseded 30 s ago cannot be read: no table or WAL goes. */
static void
test_corrupt_manifest(void **state)
{
	struct fixture *fx = *state;
	int64_t now = fx->H + 2 * SEC + 30 * SEC;
	int rc;

	garbage(fx);
	fx->s.gc_manifest.min_age_ms = 24 * HOUR;
	assert_int_equal(objstore_put(fx->sc.os, "manifest/00000000000000000002",
	    "{\"format\":1", 11), 0);
	rc = run(fx, now, NULL, 0);
	assert_int_equal(rc, SHALE_ECORRUPT);
	assert_non_null(strstr(err_detail(), "manifest 2"));
	assert_string_equal(buf_str(&fx->seen), "");
	assert_int_equal(fx->r.errors, 1);
	assert_true(exists(fx, "compacted/a.sst"));
	assert_true(exists(fx, "compacted/x.sst"));
	assert_true(wal_exists(fx, 1));
	/* once it is older than both windows, the rest is collected */
	expect(fx, fx->H + HOUR, NULL, "compacted/a.sst\ncompacted/x.sst\n"
	    "wal/00000000000000000001.wal\nwal/00000000000000000002.wal\n");
}

/* The same store with every manifest sound deletes x at that time. */
static void
test_corrupt_control(void **state)
{
	struct fixture *fx = *state;

	garbage(fx);
	fx->s.gc_manifest.min_age_ms = 24 * HOUR;
	expect(fx, fx->H + 2 * SEC + 30 * SEC, NULL, "compacted/x.sst\n");
}

static void
test_missing_manifest(void **state)
{
	struct fixture *fx = *state;
	int rc;

	garbage(fx);
	/* a checkpoint names a version the store does not have */
	put_manifest(fx, &(struct mspec){ .id = 4, .created = fx->H + 3 * SEC,
	    .l0 = { "compacted/b.sst" }, .replay = 3, .ckpt = 9,
	    .ckpt_expire = fx->H + 10 * HOUR });
	rc = run(fx, fx->H + HOUR, NULL, 0);
	assert_int_equal(rc, -ENOENT);
	assert_non_null(strstr(err_detail(), "manifest 9"));
	assert_string_equal(buf_str(&fx->seen),
	    "manifest/00000000000000000001\nmanifest/00000000000000000002\n"
	    "manifest/00000000000000000003\n");
	assert_true(exists(fx, "compacted/x.sst"));
	assert_true(wal_exists(fx, 1));
}

static void
test_unknown_keys(void **state)
{
	struct fixture *fx = *state;
	static const char *const strangers[] = {
		"compacted/readme.txt", "compacted/sub/x.sst", "compacted/.sst",
		"compacted.sst", "wal/garbage", "wal/00000000000000000001",
		"manifest/abc", "manifest/00000000000000000001.bak", "other/x",
		"sst/compacted/y.sst",
	};
	char *before, *after;

	garbage(fx);
	for (size_t i = 0; i < sizeof(strangers) / sizeof(strangers[0]); i++)
		put(fx, strangers[i]);
	before = listing(fx);
	assert_int_equal(run(fx, fx->H + 100 * HOUR, NULL, 0), 0);
	assert_int_equal(fx->r.tables + fx->r.wals + fx->r.manifests, 6);
	after = listing(fx);
	for (size_t i = 0; i < sizeof(strangers) / sizeof(strangers[0]); i++)
		assert_true(exists(fx, strangers[i]));
	assert_string_not_equal(before, after);
	free(before);
	free(after);
}

static void
test_no_manifest(void **state)
{
	struct fixture *fx = *state;

	put_tables(fx, "a");
	put_wal(fx, 1);
	expect(fx, fx->H + 100 * HOUR, NULL, "");
	assert_true(exists(fx, "compacted/a.sst"));
	assert_true(wal_exists(fx, 1));
}

/* The fixture's directory through a fault: store where every `ops` fails. */
static struct objstore *
open_faulty(struct fixture *fx, const char *ops)
{
	struct objstore_opts o;
	struct objstore *os;
	char uri[400];

	memset(&o, 0, sizeof(o));
	o.no_fsync = 1;
	o.max_retries = -1;
	snprintf(uri, sizeof(uri), "fault:rate=1,errors=eio,when=before,"
	    "ops=%s:file://%s", ops, fx->sc.dir);
	assert_int_equal(objstore_open(uri, &o, &os), 0);
	return os;
}

/* Deletes that fail. */
static void
test_delete_failures(void **state)
{
	struct fixture *fx = *state;
	struct objstore *faulty;
	int rc;

	garbage(fx);
	/* every batch fails: one by one instead */
	faulty = open_faulty(fx, "delete_batch");
	assert_int_equal(gc_run(faulty, &fx->s, fx->H + HOUR, NULL, 0, NULL,
	    NULL, &fx->r), 0);
	assert_int_equal(fx->r.tables, 2);
	assert_false(exists(fx, "compacted/x.sst"));
	objstore_close(faulty);

	put_tables(fx, "y");
	put_wal(fx, 2);
	/* every delete fails: counted, kept, the first error returned */
	faulty = open_faulty(fx, "delete_batch+delete");
	rc = gc_run(faulty, &fx->s, fx->H + HOUR, NULL, 0, NULL, NULL, &fx->r);
	assert_int_equal(rc, -EIO);
	assert_non_null(strstr(err_detail(), "compacted/y.sst"));
	assert_int_equal(fx->r.errors, 2);
	assert_int_equal(fx->r.tables + fx->r.wals + fx->r.manifests, 0);
	assert_true(exists(fx, "compacted/y.sst"));
	objstore_close(faulty);
	/* and the next run deletes them */
	expect(fx, fx->H + HOUR, NULL, "compacted/y.sst\n"
	    "wal/00000000000000000002.wal\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_current_tables_kept),
		T(test_dropped_table_min_age),
		T(test_checkpoint_below),
		T(test_checkpoint_deep),
		T(test_young_uncommitted),
		T(test_wal),
		T(test_wal_young),
		T(test_manifests),
		T(test_manifests_bisect),
		T(test_dry_run),
		T(test_corrupt_manifest),
		T(test_corrupt_control),
		T(test_missing_manifest),
		T(test_unknown_keys),
		T(test_no_manifest),
		T(test_delete_failures),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
