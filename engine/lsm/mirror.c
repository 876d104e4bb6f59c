/*
 * mirror.c - the SQLite mirror of the manifest (see mirror.h for the
 * schema and the rules).
 *
 * Two connections to one file: `db`, read-write, for the engine's updates,
 * and `ro`, opened with SQLITE_OPEN_READONLY, for mirror_query(), which
 * also refuses any statement sqlite3_stmt_readonly() says would write,
 * allows no ATTACH and runs in defensive mode. Every statement the module
 * writes itself is a constant with bound parameters; only mirror_query()
 * runs text it is given.
 *
 * Opening: open the file, set WAL and synchronous=NORMAL, run quick_check,
 * then, in a BEGIN IMMEDIATE transaction (so that two processes opening a
 * new file do not both create the schema), read user_version: 1 is ready,
 * 0 with an empty schema is new and gets the schema, anything else is
 * stale. A file that fails any of this with a sign of damage (not a
 * database, corrupt, cannot be opened or read or written) or is stale is
 * deleted with its -wal and -shm files and opened once more; a second
 * failure is the caller's error.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <sqlite3.h>

#include "engine/lsm/manifest.h"
#include "engine/lsm/mirror.h"
#include "engine/objstore/objstore.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"
#include "util/path.h"
#include "util/xmalloc.h"

#define MIRROR_VERSION		1
#define MIRROR_BUSY_MS		5000
#define MIRROR_QUERY_NS		((int64_t)10 * 1000000000)	/* 10 s */
#define MIRROR_PROGRESS_OPS	1000	/* VM steps between deadline checks */

/* Why db_open() failed, if the file should be thrown away. */
enum mirror_stale {
	STALE_NO,
	STALE_DAMAGED,		/* corrupt or unreadable: log_warn */
	STALE_VERSION,		/* another schema version: log_info */
};

struct mirror {
	/* Serialises all calls but mirror_path(); protects db, ro, deadline. */
	pthread_mutex_t	 lock;
	char		*path;		/* set once by mirror_open() */
	sqlite3		*db;		/* read-write */
	sqlite3		*ro;		/* read-only, for mirror_query() */
	int64_t		 deadline;	/* running query's, clock_mono_ns() */
};

static const char schema_sql[] =
	"CREATE TABLE manifest_history ("
	" id INTEGER PRIMARY KEY,"
	" epoch INTEGER NOT NULL,"
	" created_ms INTEGER NOT NULL,"
	" wal_replay_from INTEGER NOT NULL,"
	" last_seq INTEGER NOT NULL,"
	" l0_count INTEGER NOT NULL,"
	" run_count INTEGER NOT NULL);"
	"CREATE TABLE manifest ("
	" id INTEGER NOT NULL,"
	" epoch INTEGER NOT NULL,"
	" wal_replay_from INTEGER NOT NULL,"
	" last_seq INTEGER NOT NULL,"
	" created_ms INTEGER NOT NULL,"
	" json TEXT NOT NULL);"
	"CREATE TABLE tables ("
	" key TEXT NOT NULL,"
	" level TEXT NOT NULL CHECK (level IN ('l0', 'run')),"
	" run INTEGER,"
	" position INTEGER NOT NULL,"
	" size INTEGER NOT NULL,"
	" entries INTEGER NOT NULL,"
	" min_seq INTEGER NOT NULL,"
	" max_seq INTEGER NOT NULL,"
	" min_expire INTEGER NOT NULL,"
	" max_expire INTEGER NOT NULL,"
	" first_key BLOB NOT NULL,"
	" last_key BLOB NOT NULL);"
	"CREATE INDEX tables_key ON tables (key);"
	"PRAGMA user_version = 1;";

static const char history_sql[] =
	"INSERT OR REPLACE INTO manifest_history (id, epoch, created_ms,"
	" wal_replay_from, last_seq, l0_count, run_count)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char current_sql[] = "SELECT max(id) FROM manifest";
static const char forget_current_sql[] =
	"DELETE FROM manifest; DELETE FROM tables;";
static const char manifest_sql[] =
	"INSERT INTO manifest (id, epoch, wal_replay_from, last_seq,"
	" created_ms, json) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char table_sql[] =
	"INSERT INTO tables (key, level, run, position, size, entries,"
	" min_seq, max_seq, min_expire, max_expire, first_key, last_key)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
static const char latest_sql[] =
	"SELECT coalesce(max(id), 0) FROM manifest_history";
static const char clear_sql[] =
	"DELETE FROM tables; DELETE FROM manifest;"
	" DELETE FROM manifest_history;";

/* Record SQLite's complaint about `db` and return `code`. */
static int
db_error(const struct mirror *m, sqlite3 *db, int code)
{
	return err_set(code, "mirror '%s': %s", m->path,
	    db != NULL ? sqlite3_errmsg(db) : "out of memory");
}

/* True for the SQLite results that mean the file itself is bad. */
static int
is_damage(int sqlrc)
{
	switch (sqlrc & 0xff) {
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
	case SQLITE_READONLY:
	case SQLITE_IOERR:
	case SQLITE_FORMAT:
	case SQLITE_EMPTY:
		return 1;
	}
	return 0;
}

/* Delete the database and the files SQLite keeps beside it. */
static int
db_remove(const char *path)
{
	static const char *const suffixes[] = { "-wal", "-shm", "-journal" };
	char *side;

	if (unlink(path) != 0 && errno != ENOENT)
		return err_set(-errno, "cannot remove '%s': %s", path,
		    strerror(errno));
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		side = xasprintf("%s%s", path, suffixes[i]);
		if (unlink(side) != 0 && errno != ENOENT)
			log_warn("cannot remove '%s': %s", side,
			    strerror(errno));
		free(side);
	}
	return 0;
}

/* Run constant SQL without parameters; an SQLite result code. */
static int
exec_sql(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* Undo an open transaction after a failure, keeping the error detail. */
static void
rollback(sqlite3 *db)
{
	if (db != NULL && !sqlite3_get_autocommit(db))
		exec_sql(db, "ROLLBACK");
}

/*
 * The first column of the first row of constant `sql` as text (copied to
 * out, "" if there is no row) or as an integer; an SQLite result code.
 */
static int
query_one(sqlite3 *db, const char *sql, char *text, size_t textlen,
    int64_t *value)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *t;
	int sqlrc;

	if (text != NULL)
		text[0] = '\0';
	if (value != NULL)
		*value = 0;
	if ((sqlrc = sqlite3_prepare_v2(db, sql, -1, &st, NULL)) != SQLITE_OK)
		goto out;
	sqlrc = sqlite3_step(st);
	if (sqlrc == SQLITE_ROW) {
		if (text != NULL && (t = sqlite3_column_text(st, 0)) != NULL)
			snprintf(text, textlen, "%s", (const char *)t);
		if (value != NULL)
			*value = sqlite3_column_int64(st, 0);
		sqlrc = SQLITE_OK;
	} else if (sqlrc == SQLITE_DONE)
		sqlrc = SQLITE_OK;
out:
	sqlite3_finalize(st);
	return sqlrc;
}

/* Close both connections. */
static void
db_close(struct mirror *m)
{
	sqlite3_close(m->ro);
	m->ro = NULL;
	sqlite3_close(m->db);
	m->db = NULL;
}

/*
 * Open m->path read-write, check it and create the schema if it is new.
 * On failure *stale says whether the file should be thrown away.
 */
static int
db_open(struct mirror *m, enum mirror_stale *stale)
{
	char text[64];
	int64_t version, nschema;
	int sqlrc;

	*stale = STALE_NO;
	sqlrc = sqlite3_open_v2(m->path, &m->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (sqlrc != SQLITE_OK)
		goto sqlfail;
	sqlite3_busy_timeout(m->db, MIRROR_BUSY_MS);
	if ((sqlrc = query_one(m->db, "PRAGMA journal_mode = WAL", text,
	    sizeof(text), NULL)) != SQLITE_OK)
		goto sqlfail;
	if (strcmp(text, "wal") != 0) {
		*stale = STALE_DAMAGED;
		return err_set(-EIO, "mirror '%s': journal mode is '%s', not "
		    "'wal'", m->path, text);
	}
	if ((sqlrc = exec_sql(m->db, "PRAGMA synchronous = NORMAL")) !=
	    SQLITE_OK)
		goto sqlfail;
	if ((sqlrc = query_one(m->db, "PRAGMA quick_check", text,
	    sizeof(text), NULL)) != SQLITE_OK)
		goto sqlfail;
	if (strcmp(text, "ok") != 0) {
		*stale = STALE_DAMAGED;
		return err_set(-EIO, "mirror '%s': quick_check: %s", m->path,
		    text);
	}

	if ((sqlrc = exec_sql(m->db, "BEGIN IMMEDIATE")) != SQLITE_OK)
		goto sqlfail;
	if ((sqlrc = query_one(m->db, "PRAGMA user_version", NULL, 0,
	    &version)) != SQLITE_OK)
		goto sqlfail;
	if (version == 0) {
		if ((sqlrc = query_one(m->db, "SELECT count(*) FROM "
		    "sqlite_master", NULL, 0, &nschema)) != SQLITE_OK)
			goto sqlfail;
		if (nschema != 0)
			version = -1;
		else if ((sqlrc = exec_sql(m->db, schema_sql)) != SQLITE_OK)
			goto sqlfail;
		else
			version = MIRROR_VERSION;
	}
	if (version != MIRROR_VERSION) {
		rollback(m->db);
		*stale = STALE_VERSION;
		if (version == -1)
			return err_set(-EIO, "mirror '%s': tables but no "
			    "schema version", m->path);
		return err_set(-EIO, "mirror '%s': schema version %lld, not %d",
		    m->path, (long long)version, MIRROR_VERSION);
	}
	if ((sqlrc = exec_sql(m->db, "COMMIT")) != SQLITE_OK)
		goto sqlfail;
	return 0;

sqlfail:
	if (is_damage(sqlrc))
		*stale = STALE_DAMAGED;
	db_error(m, m->db, -EIO);
	rollback(m->db);
	return -EIO;
}

/* Open the read-only connection mirror_query() uses. */
static int
ro_open(struct mirror *m)
{
	int sqlrc;

	sqlrc = sqlite3_open_v2(m->path, &m->ro, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOMUTEX, NULL);
	if (sqlrc != SQLITE_OK)
		return db_error(m, m->ro, -EIO);
	sqlite3_busy_timeout(m->ro, MIRROR_BUSY_MS);
	sqlite3_limit(m->ro, SQLITE_LIMIT_ATTACHED, 0);
	sqlite3_db_config(m->ro, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(m->ro, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0,
	    NULL);
	return 0;
}

int
mirror_open(const char *dir, const char *uri, struct mirror **out)
{
	struct mirror *m = NULL;
	char name[OBJSTORE_URI_NAME_LEN + 1];
	enum mirror_stale stale;
	int rc;

	*out = NULL;
	if (*dir == '\0')
		return err_set(-EINVAL, "mirror: empty directory name");
	objstore_uri_name(uri, name);
	if ((rc = path_mkdirs(dir, 0700)) != 0)
		return rc;
	m = xcalloc(1, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	m->path = xasprintf("%s/%s.db", dir, name);

	for (int attempt = 0; ; attempt++) {
		if ((rc = db_open(m, &stale)) == 0)
			break;
		db_close(m);
		if (stale == STALE_NO || attempt > 0)
			goto fail;
		if (stale == STALE_DAMAGED)
			log_warn("%s; deleting it (it is only a cache)",
			    err_detail());
		else
			log_info("%s; deleting it (it is only a cache)",
			    err_detail());
		if ((rc = db_remove(m->path)) != 0)
			goto fail;
	}
	if ((rc = ro_open(m)) != 0)
		goto fail;
	*out = m;
	return 0;

fail:
	mirror_close(m);
	return rc;
}

void
mirror_close(struct mirror *m)
{
	if (m == NULL)
		return;
	db_close(m);
	pthread_mutex_destroy(&m->lock);
	free(m->path);
	free(m);
}

const char *
mirror_path(const struct mirror *m)
{
	return m->path;
}

int
mirror_latest_id(struct mirror *m, uint64_t *id)
{
	int64_t v;
	int rc = 0;

	*id = 0;
	pthread_mutex_lock(&m->lock);
	if (query_one(m->db, latest_sql, NULL, 0, &v) != SQLITE_OK)
		rc = db_error(m, m->db, -EIO);
	else
		*id = (uint64_t)v;
	pthread_mutex_unlock(&m->lock);
	return rc;
}

/* -EINVAL unless every unsigned number in mf fits SQLite's INTEGER. */
static int
check_ranges(const struct manifest *mf)
{
	const struct manifest_table *t;
	size_t i, j;

	if (mf->id > INT64_MAX || mf->writer_epoch > INT64_MAX ||
	    mf->wal_replay_from > INT64_MAX || mf->last_seq > INT64_MAX)
		goto bad;
	for (i = 0; i < mf->nruns; i++)
		if (mf->runs[i].id > INT64_MAX)
			goto bad;
	for (i = 0; i <= mf->nruns; i++) {
		size_t n = i == 0 ? mf->nl0 : mf->runs[i - 1].ntables;

		for (j = 0; j < n; j++) {
			t = i == 0 ? &mf->l0[j] : &mf->runs[i - 1].tables[j];
			if (t->key == NULL)
				return err_set(-EINVAL, "manifest %llu: a "
				    "table without a key",
				    (unsigned long long)mf->id);
			if (t->size > INT64_MAX || t->entries > INT64_MAX ||
			    t->min_seq > INT64_MAX || t->max_seq > INT64_MAX)
				goto bad;
		}
	}
	return 0;
bad:
	return err_set(-EINVAL, "manifest %llu: a number over INT64_MAX",
	    (unsigned long long)mf->id);
}

/* Bind n bytes as a BLOB, empty rather than NULL when n is 0. */
static int
bind_bytes(sqlite3_stmt *st, int i, const uint8_t *p, size_t n)
{
	if (n == 0 || p == NULL)
		return sqlite3_bind_zeroblob(st, i, 0);
	return sqlite3_bind_blob64(st, i, p, n, SQLITE_STATIC);
}

/* Bind v[0..n-1] to parameters first, first + 1, ... */
static int
bind_ints(sqlite3_stmt *st, int first, const int64_t *v, size_t n)
{
	int sqlrc;

	for (size_t i = 0; i < n; i++)
		if ((sqlrc = sqlite3_bind_int64(st, first + (int)i, v[i])) !=
		    SQLITE_OK)
			return sqlrc;
	return SQLITE_OK;
}

/* Run a prepared insert once and make it ready for the next; SQLite's code. */
static int
step_reset(sqlite3_stmt *st)
{
	int sqlrc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return sqlrc == SQLITE_DONE ? SQLITE_OK : sqlrc;
}

/* Insert one row of `tables`; run < 0 for an L0 table. */
static int
insert_table(sqlite3_stmt *st, const struct manifest_table *t, int64_t run,
    size_t position)
{
	int64_t v[7];
	int sqlrc;

	v[0] = (int64_t)position;
	v[1] = (int64_t)t->size;
	v[2] = (int64_t)t->entries;
	v[3] = (int64_t)t->min_seq;
	v[4] = (int64_t)t->max_seq;
	v[5] = t->min_expire;
	v[6] = t->max_expire;
	if ((sqlrc = sqlite3_bind_text(st, 1, t->key, -1, SQLITE_STATIC)) !=
	    SQLITE_OK ||
	    (sqlrc = sqlite3_bind_text(st, 2, run < 0 ? "l0" : "run", -1,
	    SQLITE_STATIC)) != SQLITE_OK ||
	    (sqlrc = run < 0 ? sqlite3_bind_null(st, 3) :
	    sqlite3_bind_int64(st, 3, run)) != SQLITE_OK ||
	    (sqlrc = bind_ints(st, 4, v, 7)) != SQLITE_OK ||
	    (sqlrc = bind_bytes(st, 11, t->first_key, t->first_klen)) !=
	    SQLITE_OK ||
	    (sqlrc = bind_bytes(st, 12, t->last_key, t->last_klen)) !=
	    SQLITE_OK) {
		sqlite3_clear_bindings(st);
		return sqlrc;
	}
	return step_reset(st);
}

/* Replace `manifest` and `tables` with mf; in the caller's transaction. */
static int
replace_current(sqlite3 *db, const struct manifest *mf, const char *json,
    size_t jsonlen)
{
	sqlite3_stmt *st = NULL;
	const struct manifest_run *r;
	int64_t v[5];
	int sqlrc;

	if ((sqlrc = exec_sql(db, forget_current_sql)) != SQLITE_OK)
		return sqlrc;

	if ((sqlrc = sqlite3_prepare_v2(db, manifest_sql, -1, &st, NULL)) !=
	    SQLITE_OK)
		goto out;
	v[0] = (int64_t)mf->id;
	v[1] = (int64_t)mf->writer_epoch;
	v[2] = (int64_t)mf->wal_replay_from;
	v[3] = (int64_t)mf->last_seq;
	v[4] = mf->created_ms;
	if ((sqlrc = bind_ints(st, 1, v, 5)) != SQLITE_OK ||
	    (sqlrc = sqlite3_bind_text64(st, 6, json, jsonlen, SQLITE_STATIC,
	    SQLITE_UTF8)) != SQLITE_OK ||
	    (sqlrc = step_reset(st)) != SQLITE_OK)
		goto out;
	sqlite3_finalize(st);

	if ((sqlrc = sqlite3_prepare_v2(db, table_sql, -1, &st, NULL)) !=
	    SQLITE_OK)
		goto out;
	for (size_t i = 0; i < mf->nl0; i++)
		if ((sqlrc = insert_table(st, &mf->l0[i], -1, i)) != SQLITE_OK)
			goto out;
	for (size_t i = 0; i < mf->nruns; i++) {
		r = &mf->runs[i];
		for (size_t j = 0; j < r->ntables; j++)
			if ((sqlrc = insert_table(st, &r->tables[j],
			    (int64_t)r->id, j)) != SQLITE_OK)
				goto out;
	}
out:
	sqlite3_finalize(st);
	return sqlrc;
}

int
mirror_record(struct mirror *m, const struct manifest *mf, const char *json,
    size_t jsonlen)
{
	sqlite3_stmt *st = NULL;
	int64_t v[7], current;
	int rc = 0, sqlrc;

	if (json == NULL)
		return err_set(-EINVAL, "mirror '%s': manifest %llu without "
		    "its json", m->path, (unsigned long long)mf->id);
	if ((rc = check_ranges(mf)) != 0)
		return rc;

	pthread_mutex_lock(&m->lock);
	if ((sqlrc = exec_sql(m->db, "BEGIN IMMEDIATE")) != SQLITE_OK)
		goto sqlfail;

	if ((sqlrc = sqlite3_prepare_v2(m->db, history_sql, -1, &st, NULL)) !=
	    SQLITE_OK)
		goto sqlfail;
	v[0] = (int64_t)mf->id;
	v[1] = (int64_t)mf->writer_epoch;
	v[2] = mf->created_ms;
	v[3] = (int64_t)mf->wal_replay_from;
	v[4] = (int64_t)mf->last_seq;
	v[5] = (int64_t)mf->nl0;
	v[6] = (int64_t)mf->nruns;
	if ((sqlrc = bind_ints(st, 1, v, 7)) != SQLITE_OK ||
	    (sqlrc = step_reset(st)) != SQLITE_OK)
		goto sqlfail;

	/* max(id) of no rows is NULL, read as 0: any id replaces it. */
	if ((sqlrc = query_one(m->db, current_sql, NULL, 0, &current)) !=
	    SQLITE_OK)
		goto sqlfail;
	if ((int64_t)mf->id >= current &&
	    (sqlrc = replace_current(m->db, mf, json, jsonlen)) != SQLITE_OK)
		goto sqlfail;

	if ((sqlrc = exec_sql(m->db, "COMMIT")) != SQLITE_OK)
		goto sqlfail;
	goto out;

sqlfail:
	rc = db_error(m, m->db, -EIO);
	rollback(m->db);
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

int
mirror_clear(struct mirror *m)
{
	int rc = 0;

	pthread_mutex_lock(&m->lock);
	if (exec_sql(m->db, "BEGIN IMMEDIATE") != SQLITE_OK ||
	    exec_sql(m->db, clear_sql) != SQLITE_OK ||
	    exec_sql(m->db, "COMMIT") != SQLITE_OK) {
		rc = db_error(m, m->db, -EIO);
		rollback(m->db);
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

/* SQLite's progress handler: interrupt a query past its deadline. */
static int
query_progress(void *arg)
{
	const struct mirror *m = arg;

	return clock_mono_ns() > m->deadline;
}

/* Text with \, tab, newline, CR and NUL escaped. */
static int
put_text(struct buf *out, const unsigned char *s, size_t n)
{
	size_t i, run = 0;
	const char *esc;
	int rc;

	for (i = 0; i < n; i++) {
		switch (s[i]) {
		case '\\':	esc = "\\\\"; break;
		case '\t':	esc = "\\t"; break;
		case '\n':	esc = "\\n"; break;
		case '\r':	esc = "\\r"; break;
		case '\0':	esc = "\\0"; break;
		default:	continue;
		}
		if ((rc = buf_append(out, s + run, i - run)) != 0 ||
		    (rc = buf_puts(out, esc)) != 0)
			return rc;
		run = i + 1;
	}
	return buf_append(out, s + run, n - run);
}

/* x'...' in lower-case hex. */
static int
put_blob(struct buf *out, const unsigned char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char *o;
	int rc;

	if (n > (SIZE_MAX - 3) / 2)
		return -EFBIG;
	if ((rc = buf_reserve(out, 2 * n + 3)) != 0)
		return rc;
	o = out->data + out->len;
	*o++ = 'x';
	*o++ = '\'';
	for (size_t i = 0; i < n; i++) {
		*o++ = hex[p[i] >> 4];
		*o++ = hex[p[i] & 15];
	}
	*o++ = '\'';
	*o = '\0';
	out->len += 2 * n + 3;
	return 0;
}

/* Append the current row of st (or its column names if names). */
static int
put_row(struct buf *out, sqlite3_stmt *st, int names)
{
	const unsigned char *p;
	const char *name;
	int ncol = sqlite3_column_count(st), rc = 0;

	for (int i = 0; i < ncol && rc == 0; i++) {
		if (i > 0 && (rc = buf_putc(out, '\t')) != 0)
			break;
		if (names) {
			name = sqlite3_column_name(st, i);
			rc = put_text(out, (const unsigned char *)(name ? name :
			    ""), name ? strlen(name) : 0);
			continue;
		}
		switch (sqlite3_column_type(st, i)) {
		case SQLITE_NULL:
			rc = buf_puts(out, "NULL");
			break;
		case SQLITE_BLOB:
			p = sqlite3_column_blob(st, i);
			rc = put_blob(out, p, p != NULL ?
			    (size_t)sqlite3_column_bytes(st, i) : 0);
			break;
		default:	/* INTEGER, FLOAT, TEXT: as SQLite prints */
			p = sqlite3_column_text(st, i);
			rc = put_text(out, p != NULL ? p :
			    (const unsigned char *)"", p != NULL ?
			    (size_t)sqlite3_column_bytes(st, i) : 0);
			break;
		}
	}
	if (rc == 0)
		rc = buf_putc(out, '\n');
	return rc;
}

/* The code for a statement that failed as it ran. */
static int
step_code(int sqlrc)
{
	switch (sqlrc & 0xff) {
	case SQLITE_INTERRUPT:
		return -ETIMEDOUT;
	case SQLITE_READONLY:
		return -EPERM;
	case SQLITE_ERROR:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
	case SQLITE_CONSTRAINT:
	case SQLITE_TOOBIG:
	case SQLITE_AUTH:
		return -EINVAL;
	}
	return -EIO;
}

int
mirror_query(struct mirror *m, const char *sql, struct buf *out)
{
	sqlite3_stmt *st = NULL, *more = NULL;
	const char *tail = NULL;
	size_t start = out->len;
	int rc = 0, sqlrc;

	pthread_mutex_lock(&m->lock);
	if (sqlite3_prepare_v2(m->ro, sql, -1, &st, &tail) != SQLITE_OK) {
		rc = db_error(m, m->ro, -EINVAL);
		goto out;
	}
	if (st == NULL) {
		rc = err_set(-EINVAL, "mirror '%s': no statement", m->path);
		goto out;
	}
	/* Whatever follows must be nothing, comments or semicolons. */
	if (tail != NULL && *tail != '\0') {
		if (sqlite3_prepare_v2(m->ro, tail, -1, &more, NULL) !=
		    SQLITE_OK) {
			rc = db_error(m, m->ro, -EINVAL);
			goto out;
		}
		if (more != NULL) {
			rc = err_set(-EINVAL, "mirror '%s': more than one "
			    "statement", m->path);
			goto out;
		}
	}
	if (!sqlite3_stmt_readonly(st)) {
		rc = err_set(-EPERM, "mirror '%s': not a read-only statement: "
		    "%s", m->path, sqlite3_sql(st));
		goto out;
	}

	if (sqlite3_column_count(st) > 0 && (rc = put_row(out, st, 1)) != 0)
		goto bigfail;
	m->deadline = clock_mono_ns() + MIRROR_QUERY_NS;
	sqlite3_progress_handler(m->ro, MIRROR_PROGRESS_OPS, query_progress, m);
	while ((sqlrc = sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = put_row(out, st, 0)) != 0)
			break;
	sqlite3_progress_handler(m->ro, 0, NULL, NULL);
	if (rc != 0)
		goto bigfail;
	if (sqlrc != SQLITE_DONE) {
		if ((rc = step_code(sqlrc)) == -ETIMEDOUT)
			err_set(rc, "mirror '%s': query ran longer than %lld s",
			    m->path, (long long)(MIRROR_QUERY_NS / 1000000000));
		else
			db_error(m, m->ro, rc);
	}
	goto out;

bigfail:
	err_set(rc, "mirror '%s': query result over %zu bytes", m->path,
	    out->max != 0 ? out->max : BUF_MAX_DEFAULT);
out:
	sqlite3_finalize(more);
	sqlite3_finalize(st);
	rollback(m->ro);	/* a BEGIN must not pin an old snapshot */
	pthread_mutex_unlock(&m->lock);
	if (rc != 0) {
		out->len = start;
		if (out->data != NULL)
			out->data[start] = '\0';
	}
	return rc;
}
