/*
 * test_mirror.c - the SQLite mirror of the manifest.
 *
 * Exercises: mirror_open creating its directory and naming the file after
 * XXH3 hash of the URI, and reopening an existing database; mirror_record of
 * several manifests (built with manifest_init, manifest_table_copy and
 * manifest_encode): the latest id, one history row per id, the current
 * tables and JSON being those of the newest manifest only, an older id not
 * replacing them and the same id twice being harmless; mirror_query's exact
 * output (header, tabs, NULL, x'..' BLOBs, escaped text, appending),
 * refusing writes (-EPERM), ATTACH and two statements, a syntax error
 * being -EINVAL with SQLite's message, a BEGIN not pinning an old
 * snapshot; mirror_clear; a deleted database rebuilt to identical contents;
 * a garbage file, a file of another schema version and a foreign database
 * at the path being replaced (with a warning for the garbage); and threads
 * recording at once.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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
#include <sqlite3.h>

#include "engine/lsm/manifest.h"
#include "engine/lsm/mirror.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/xmalloc.h"

#define URI		"file:///tmp/store"
/* XXH3_64bits("file:///tmp/store") */
#define URI_NAME	"521a18c1a6b5e3ca.db"

static char tmpdir[64];

static void
rm_tree(const char *path)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	char *p;

	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode) && (d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			p = xasprintf("%s/%s", path, de->d_name);
			rm_tree(p);
			free(p);
		}
		closedir(d);
		rmdir(path);
	} else
		unlink(path);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_mirror.XXXXXX");
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	rm_tree(tmpdir);
	return 0;
}

static uint8_t *
dup_bytes(const void *p, size_t n)
{
	uint8_t *d = xmalloc(n + 1);

	if (n)
		memcpy(d, p, n);
	return d;
}

/* Fill *t (a deep copy of a template, as manifest_table_copy makes). */
static void
table_set(struct manifest_table *t, const char *key, uint64_t size,
    const void *first, size_t flen, const void *last, size_t llen)
{
	struct manifest_table tmpl;

	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.key = xstrdup(key);
	tmpl.size = size;
	tmpl.entries = size / 10;
	tmpl.min_seq = size + 1;
	tmpl.max_seq = size + 100;
	tmpl.min_expire = 0;
	tmpl.max_expire = (int64_t)size * 1000;
	tmpl.first_key = dup_bytes(first, flen);
	tmpl.first_klen = flen;
	tmpl.last_key = dup_bytes(last, llen);
	tmpl.last_klen = llen;
	manifest_table_copy(t, &tmpl);
	manifest_table_release(&tmpl);
}

/*
 * Manifest `id`: id % 3 L0 tables, a run `id` of two tables and, for odd
 * ids, a run 100 + id of one table with an empty first key.
 */
static void
make_manifest(struct manifest *mf, uint64_t id)
{
	char key[64];
	uint8_t first[2], last[2];

	manifest_init(mf);
	mf->id = id;
	mf->writer_epoch = 1 + id / 10;
	mf->wal_replay_from = id * 10;
	mf->last_seq = id * 100;
	mf->created_ms = 1700000000000 + (int64_t)id;
	mf->nl0 = id % 3;
	mf->l0 = mf->nl0 ? xcalloc(mf->nl0, sizeof(*mf->l0)) : NULL;
	for (size_t i = 0; i < mf->nl0; i++) {
		snprintf(key, sizeof(key), "l0/%llu-%zu.sst",
		    (unsigned long long)id, i);
		first[0] = 'a';
		first[1] = (uint8_t)i;
		last[0] = 'z';
		last[1] = 0xff;
		table_set(&mf->l0[i], key, 1000 * id + i, first, 2, last, 2);
	}
	mf->nruns = id % 2 ? 2 : 1;
	mf->runs = xcalloc(mf->nruns, sizeof(*mf->runs));
	mf->runs[0].id = id;
	mf->runs[0].ntables = 2;
	mf->runs[0].tables = xcalloc(2, sizeof(struct manifest_table));
	for (size_t j = 0; j < 2; j++) {
		snprintf(key, sizeof(key), "compacted/%llu-%zu.sst",
		    (unsigned long long)id, j);
		first[0] = (uint8_t)(j * 0x10);
		last[0] = (uint8_t)(j * 0x10 + 0x0f);
		table_set(&mf->runs[0].tables[j], key, 5000 * id + j, first, 1,
		    last, 1);
	}
	if (mf->nruns == 2) {
		mf->runs[1].id = 100 + id;
		mf->runs[1].ntables = 1;
		mf->runs[1].tables = xcalloc(1, sizeof(struct manifest_table));
		snprintf(key, sizeof(key), "compacted/old-%llu.sst",
		    (unsigned long long)id);
		table_set(&mf->runs[1].tables[0], key, 7, "", 0, "\xff", 1);
	}
}

/* Record manifest `id` with its real JSON. */
static void
record(struct mirror *m, uint64_t id)
{
	struct manifest mf;
	struct buf json;

	make_manifest(&mf, id);
	buf_init(&json, 0);
	assert_int_equal(manifest_encode(&mf, &json), 0);
	assert_int_equal(mirror_record(m, &mf, json.data, json.len), 0);
	buf_release(&json);
	manifest_release(&mf);
}

/* The output of a query that must succeed; the caller frees it. */
static char *
query(struct mirror *m, const char *sql)
{
	struct buf out;
	int rc;

	buf_init(&out, 0);
	rc = mirror_query(m, sql, &out);
	if (rc != 0)
		fail_msg("query '%s': %d %s", sql, rc, err_detail());
	return buf_detach(&out, NULL);
}

static void
assert_query(struct mirror *m, const char *sql, const char *want)
{
	char *got = query(m, sql);

	assert_string_equal(got, want);
	free(got);
}

static uint64_t
latest(struct mirror *m)
{
	uint64_t id = 12345;

	assert_int_equal(mirror_latest_id(m, &id), 0);
	return id;
}

/* Everything in the mirror, in a fixed order. */
static char *
dump(struct mirror *m)
{
	static const char *const sqls[] = {
		"SELECT * FROM manifest_history ORDER BY id",
		"SELECT * FROM manifest",
		"SELECT * FROM tables ORDER BY level, run, position",
	};
	struct buf all;
	char *s;

	buf_init(&all, 0);
	for (size_t i = 0; i < sizeof(sqls) / sizeof(sqls[0]); i++) {
		s = query(m, sqls[i]);
		buf_puts(&all, s);
		free(s);
	}
	return buf_detach(&all, NULL);
}

/* Where the mirror of URI is in tmpdir/sub ("" for tmpdir itself). */
static char *
db_path(const char *sub)
{
	if (*sub == '\0')
		return xasprintf("%s/%s", tmpdir, URI_NAME);
	return xasprintf("%s/%s/%s", tmpdir, sub, URI_NAME);
}

static void
remove_db(const char *path)
{
	char *p;

	unlink(path);
	p = xasprintf("%s-wal", path);
	unlink(p);
	free(p);
	p = xasprintf("%s-shm", path);
	unlink(p);
	free(p);
}

static void
test_open(void **state)
{
	struct mirror *m;
	struct stat st;
	char *dir, *want;

	(void)state;
	dir = xasprintf("%s/a/b/c", tmpdir);
	want = db_path("a/b/c");
	assert_int_equal(mirror_open(dir, URI, &m), 0);
	assert_string_equal(mirror_path(m), want);
	assert_int_equal(stat(want, &st), 0);
	assert_int_equal(latest(m), 0);
	assert_query(m, "SELECT count(*) AS n FROM tables", "n\n0\n");
	assert_query(m, "SELECT * FROM pragma_journal_mode",
	    "journal_mode\nwal\n");
	assert_query(m, "PRAGMA user_version", "user_version\n1\n");
	record(m, 1);
	mirror_close(m);

	/* Reopening keeps what is there. */
	assert_int_equal(mirror_open(dir, URI, &m), 0);
	assert_int_equal(latest(m), 1);
	mirror_close(m);

	/* Another store, another file; a file where the directory should be. */
	assert_int_equal(mirror_open(dir, "s3://bucket/x", &m), 0);
	assert_string_not_equal(mirror_path(m), want);
	assert_int_equal(latest(m), 0);
	mirror_close(m);
	assert_int_equal(mirror_open(want, URI, &m), -ENOTDIR);
	assert_null(m);
	free(want);
	free(dir);
}

static void
test_record(void **state)
{
	struct mirror *m;
	struct manifest mf;
	struct buf json;
	const char *cur;
	char *got, *want;

	(void)state;
	assert_int_equal(mirror_open(tmpdir, URI, &m), 0);
	record(m, 1);
	record(m, 2);
	record(m, 3);
	assert_int_equal(latest(m), 3);
	assert_query(m, "SELECT count(*) FROM manifest_history",
	    "count(*)\n3\n");
	assert_query(m, "SELECT id, epoch, created_ms, wal_replay_from, "
	    "last_seq, l0_count, run_count FROM manifest_history ORDER BY id",
	    "id\tepoch\tcreated_ms\twal_replay_from\tlast_seq\tl0_count\t"
	    "run_count\n"
	    "1\t1\t1700000000001\t10\t100\t1\t2\n"
	    "2\t1\t1700000000002\t20\t200\t2\t1\n"
	    "3\t1\t1700000000003\t30\t300\t0\t2\n");
	/* Manifest 3 has no L0 tables: none of 1's or 2's are left. */
	cur = "level\trun\tposition\tkey\n"
	    "run\t3\t0\tcompacted/3-0.sst\n"
	    "run\t3\t1\tcompacted/3-1.sst\n"
	    "run\t103\t0\tcompacted/old-3.sst\n";
	assert_query(m, "SELECT level, run, position, key FROM tables "
	    "ORDER BY level, run, position", cur);
	assert_query(m, "SELECT id, epoch, wal_replay_from, last_seq, "
	    "created_ms FROM manifest",
	    "id\tepoch\twal_replay_from\tlast_seq\tcreated_ms\n"
	    "3\t1\t30\t300\t1700000000003\n");

	/* The JSON is stored as given (its newline shows as \n). */
	make_manifest(&mf, 3);
	buf_init(&json, 0);
	assert_int_equal(manifest_encode(&mf, &json), 0);
	assert_true(json.len > 0 && json.data[json.len - 1] == '\n');
	got = query(m, "SELECT json FROM manifest");
	json.data[json.len - 1] = '\0';
	assert_true(strncmp(got, "json\n", 5) == 0);
	assert_true(strncmp(got + 5, json.data, json.len - 1) == 0);
	assert_string_equal(got + 5 + json.len - 1, "\\n\n");
	free(got);
	buf_release(&json);
	manifest_release(&mf);

	/* An older id: a history row, the current state untouched. */
	got = dump(m);
	record(m, 2);
	want = dump(m);
	assert_string_equal(got, want);
	free(want);
	assert_int_equal(latest(m), 3);

	/* The same id again is harmless. */
	record(m, 3);
	want = dump(m);
	assert_string_equal(got, want);
	free(want);
	free(got);

	/* 5 then 4: 5 stays current, 4 is in the history. */
	record(m, 5);
	record(m, 4);
	assert_int_equal(latest(m), 5);
	assert_query(m, "SELECT group_concat(id) AS ids FROM "
	    "(SELECT id FROM manifest_history ORDER BY id)",
	    "ids\n1,2,3,4,5\n");
	assert_query(m, "SELECT id FROM manifest", "id\n5\n");
	assert_query(m, "SELECT DISTINCT run FROM tables WHERE level = 'run' "
	    "ORDER BY run", "run\n5\n105\n");
	assert_query(m, "SELECT key FROM tables WHERE level = 'l0' ORDER BY "
	    "position", "key\nl0/5-0.sst\nl0/5-1.sst\n");

	/* What mirror_record refuses. */
	make_manifest(&mf, 6);
	assert_int_equal(mirror_record(m, &mf, NULL, 0), -EINVAL);
	mf.last_seq = (uint64_t)INT64_MAX + 1;
	assert_int_equal(mirror_record(m, &mf, "{}", 2), -EINVAL);
	assert_non_null(strstr(err_detail(), "INT64_MAX"));
	manifest_release(&mf);
	assert_int_equal(latest(m), 5);

	/* mirror_clear forgets everything. */
	assert_int_equal(mirror_clear(m), 0);
	assert_int_equal(latest(m), 0);
	assert_query(m, "SELECT (SELECT count(*) FROM manifest_history) + "
	    "(SELECT count(*) FROM manifest) + (SELECT count(*) FROM tables) "
	    "AS n", "n\n0\n");
	mirror_close(m);
}

static void
test_query_format(void **state)
{
	struct mirror *m;
	struct manifest mf;
	struct buf out;

	(void)state;
	assert_int_equal(mirror_open(tmpdir, URI, &m), 0);
	manifest_init(&mf);
	mf.id = 7;
	mf.nl0 = 1;
	mf.l0 = xcalloc(1, sizeof(*mf.l0));
	table_set(&mf.l0[0], "l0/a.sst", 10, "\x00\xff", 2, "k", 1);
	mf.nruns = 1;
	mf.runs = xcalloc(1, sizeof(*mf.runs));
	mf.runs[0].id = 3;
	mf.runs[0].ntables = 1;
	mf.runs[0].tables = xcalloc(1, sizeof(struct manifest_table));
	table_set(&mf.runs[0].tables[0], "compacted/b.sst", 20, "", 0,
	    "\xab\xcd", 2);
	assert_int_equal(mirror_record(m, &mf, "{}", 2), 0);
	manifest_release(&mf);

	assert_query(m, "SELECT key, level, run, position, size, entries, "
	    "min_seq, max_seq, min_expire, max_expire, first_key, last_key "
	    "FROM tables ORDER BY level, run, position",
	    "key\tlevel\trun\tposition\tsize\tentries\tmin_seq\tmax_seq\t"
	    "min_expire\tmax_expire\tfirst_key\tlast_key\n"
	    "l0/a.sst\tl0\tNULL\t0\t10\t1\t11\t110\t0\t10000\tx'00ff'\tx'6b'\n"
	    "compacted/b.sst\trun\t3\t0\t20\t2\t21\t120\t0\t20000\tx''\t"
	    "x'abcd'\n");
	assert_query(m, "SELECT typeof(first_key) AS t FROM tables WHERE "
	    "level = 'run'", "t\nblob\n");

	/* Numbers, NULL, empty BLOB, escaped text and column names. */
	assert_query(m, "SELECT 1.5 AS f, -3 AS i, NULL AS n, x'' AS e, "
	    "'a' || char(9) || 'b\\' || char(10) || char(13) AS \"t\tx\"",
	    "f\ti\tn\te\tt\\tx\n1.5\t-3\tNULL\tx''\ta\\tb\\\\\\n\\r\n");
	assert_query(m, "SELECT 1 AS x WHERE 0", "x\n");
	/* A trailing semicolon and comment are one statement. */
	assert_query(m, "SELECT 2 AS y; -- done\n", "y\n2\n");

	/* It appends. */
	buf_init(&out, 0);
	buf_puts(&out, "before\n");
	assert_int_equal(mirror_query(m, "SELECT 'z' AS c", &out), 0);
	assert_string_equal(buf_str(&out), "before\nc\nz\n");
	buf_release(&out);

	/* A ceiling that is too low: -EFBIG, out as it was. */
	buf_init(&out, 16);
	buf_puts(&out, "abc");
	assert_int_equal(mirror_query(m, "SELECT * FROM tables", &out),
	    -EFBIG);
	assert_string_equal(buf_str(&out), "abc");
	assert_int_equal(out.len, 3);
	buf_release(&out);
	mirror_close(m);
}

static void
test_query_refused(void **state)
{
	static const char *const writes[] = {
		"DELETE FROM tables",
		"INSERT INTO manifest_history VALUES (9, 1, 1, 1, 1, 0, 0)",
		"UPDATE manifest SET id = 99",
		"DROP TABLE tables",
		"CREATE TABLE x (y)",
		"PRAGMA user_version = 9",
		"VACUUM",
	};
	struct mirror *m;
	struct buf out;
	char *before, *after, *p;
	int rc;

	(void)state;
	assert_int_equal(mirror_open(tmpdir, URI, &m), 0);
	record(m, 1);
	record(m, 2);
	before = dump(m);
	buf_init(&out, 0);
	buf_puts(&out, "keep");
	for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
		err_clear();
		rc = mirror_query(m, writes[i], &out);
		if (rc != -EPERM)
			fail_msg("'%s': %d %s", writes[i], rc, err_detail());
		assert_non_null(strstr(err_detail(), "read-only"));
		assert_string_equal(buf_str(&out), "keep");
	}
	after = dump(m);
	assert_string_equal(before, after);
	free(after);
	assert_query(m, "PRAGMA user_version", "user_version\n1\n");

	/* No second statement, no ATTACH, no empty statement. */
	assert_int_equal(mirror_query(m, "SELECT 1; DELETE FROM tables", &out),
	    -EINVAL);
	assert_non_null(strstr(err_detail(), "more than one statement"));
	assert_int_equal(mirror_query(m, "SELECT 1; SELEC", &out), -EINVAL);
	p = xasprintf("ATTACH '%s/other.db' AS o", tmpdir);
	assert_int_not_equal(mirror_query(m, p, &out), 0);
	free(p);
	p = xasprintf("%s/other.db", tmpdir);
	assert_int_equal(access(p, F_OK), -1);
	free(p);
	assert_int_equal(mirror_query(m, "", &out), -EINVAL);
	assert_int_equal(mirror_query(m, " -- nothing", &out), -EINVAL);
	assert_string_equal(buf_str(&out), "keep");
	after = dump(m);
	assert_string_equal(before, after);
	free(after);
	free(before);

	/* A BEGIN does not leave the query connection on an old snapshot. */
	assert_int_equal(mirror_query(m, "BEGIN", &out), 0);
	assert_string_equal(buf_str(&out), "keep");
	assert_query(m, "SELECT max(id) AS id FROM manifest_history",
	    "id\n2\n");
	record(m, 3);
	assert_query(m, "SELECT max(id) AS id FROM manifest_history",
	    "id\n3\n");
	buf_release(&out);
	mirror_close(m);
}

static void
test_query_syntax(void **state)
{
	struct mirror *m;
	struct buf out;

	(void)state;
	assert_int_equal(mirror_open(tmpdir, URI, &m), 0);
	buf_init(&out, 0);
	buf_puts(&out, "keep");
	err_clear();
	assert_int_equal(mirror_query(m, "SELEC 1", &out), -EINVAL);
	assert_non_null(strstr(err_detail(), "near \"SELEC\": syntax error"));
	assert_non_null(strstr(err_detail(), mirror_path(m)));
	assert_int_equal(mirror_query(m, "SELECT nope FROM tables", &out),
	    -EINVAL);
	assert_non_null(strstr(err_detail(), "no such column: nope"));
	assert_int_equal(mirror_query(m, "SELECT * FROM nowhere", &out),
	    -EINVAL);
	assert_non_null(strstr(err_detail(), "no such table: nowhere"));
	/* An error while running: rows already appended are taken back. */
	assert_int_equal(mirror_query(m, "SELECT abs(-9223372036854775807 - 1) "
	    "AS x", &out), -EINVAL);
	assert_non_null(strstr(err_detail(), "integer overflow"));
	assert_string_equal(buf_str(&out), "keep");
	buf_release(&out);
	mirror_close(m);
}

static void
test_rebuild(void **state)
{
	static const uint64_t ids[] = { 1, 2, 4, 3, 6, 5 };
	struct mirror *m;
	char *first, *again, *path = db_path("");

	(void)state;
	assert_int_equal(mirror_open(tmpdir, URI, &m), 0);
	assert_string_equal(mirror_path(m), path);
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		record(m, ids[i]);
	first = dump(m);
	assert_non_null(strstr(first, "compacted/6-0.sst"));

	/* Cleared and recorded again. */
	assert_int_equal(mirror_clear(m), 0);
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		record(m, ids[i]);
	again = dump(m);
	assert_string_equal(first, again);
	free(again);
	mirror_close(m);

	/* The file deleted and recorded again, in another order. */
	remove_db(path);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(mirror_open(tmpdir, URI, &m), 0);
	assert_int_equal(latest(m), 0);
	for (size_t i = sizeof(ids) / sizeof(ids[0]); i > 0; i--)
		record(m, ids[i - 1]);
	again = dump(m);
	assert_string_equal(first, again);
	free(again);
	free(first);
	free(path);
	mirror_close(m);
}

/* Run mirror_open with stderr captured; the text written to it. */
static char *
open_capturing(struct mirror **m, int *rc)
{
	char *log = xasprintf("%s/stderr.txt", tmpdir), *text;
	int fd, saved;
	FILE *f;
	long n;

	fflush(stderr);
	saved = dup(2);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, 2);
	close(fd);
	*rc = mirror_open(tmpdir, URI, m);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);

	f = fopen(log, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	text = xcalloc(1, (size_t)n + 1);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	unlink(log);
	free(log);
	return text;
}

/* Replace the database at `path` with `len` bytes of `garbage`. */
static void
write_garbage(const char *path, const char *garbage, size_t len)
{
	FILE *f;

	remove_db(path);
	f = fopen(path, "w");
	assert_non_null(f);
	for (size_t i = 0; i < len; i += strlen(garbage))
		fputs(garbage, f);
	fclose(f);
}

/* Set PRAGMA user_version and a table of our own, bypassing the mirror. */
static void
tamper(const char *path, const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void
test_garbage(void **state)
{
	static const char *const lengths[] = { "big", "small" };
	struct mirror *m;
	char *path = db_path(""), *log;
	int rc;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		write_garbage(path, "this is not an SQLite database\n",
		    strcmp(lengths[i], "big") == 0 ? 8192 : 10);
		log = open_capturing(&m, &rc);
		assert_int_equal(rc, 0);
		assert_non_null(strstr(log, "warn"));
		assert_non_null(strstr(log, path));
		assert_non_null(strstr(log, "deleting it"));
		free(log);
		assert_int_equal(latest(m), 0);
		record(m, 1);
		record(m, 2);
		assert_int_equal(latest(m), 2);
		assert_query(m, "SELECT count(*) AS n FROM tables",
		    "n\n4\n");
		mirror_close(m);
	}

	/* Another schema version is thrown away (no warning: expected). */
	tamper(path, "PRAGMA user_version = 7");
	log = open_capturing(&m, &rc);
	assert_int_equal(rc, 0);
	assert_null(strstr(log, "warn"));
	free(log);
	assert_int_equal(latest(m), 0);
	assert_query(m, "PRAGMA user_version", "user_version\n1\n");
	record(m, 4);
	mirror_close(m);

	/* So is a database that is not ours. */
	remove_db(path);
	tamper(path, "CREATE TABLE other (x); INSERT INTO other VALUES (1)");
	assert_int_equal(mirror_open(tmpdir, URI, &m), 0);
	assert_int_equal(latest(m), 0);
	assert_query(m, "SELECT count(*) AS n FROM sqlite_master WHERE "
	    "name = 'other'", "n\n0\n");
	record(m, 4);
	assert_int_equal(latest(m), 4);
	mirror_close(m);
	free(path);
}

struct worker {
	struct mirror	*m;
	uint64_t	 first;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	for (uint64_t id = w->first; id < w->first + 20; id++)
		record(w->m, id);
	return NULL;
}

static void
test_threads(void **state)
{
	struct worker w[4];
	pthread_t th[4];
	struct mirror *m;
	char *got;

	(void)state;
	assert_int_equal(mirror_open(tmpdir, URI, &m), 0);
	for (size_t i = 0; i < 4; i++) {
		w[i].m = m;
		w[i].first = 1 + 20 * i;
		assert_int_equal(pthread_create(&th[i], NULL, worker_main,
		    &w[i]), 0);
	}
	for (size_t i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(latest(m), 80);
	assert_query(m, "SELECT count(*) AS n, min(id) AS lo FROM "
	    "manifest_history", "n\tlo\n80\t1\n");
	assert_query(m, "SELECT id FROM manifest", "id\n80\n");
	got = query(m, "SELECT DISTINCT run FROM tables WHERE level = 'run' "
	    "ORDER BY run");
	assert_string_equal(got, "run\n80\n");
	free(got);
	mirror_close(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_format, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_query_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_query_syntax, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rebuild, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
