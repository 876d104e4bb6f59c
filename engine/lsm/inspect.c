/*
 * inspect.c - the views of 'shale inspect' (inspect.h): the newest
 * manifest, its tables, the WAL past its replay point, and SQL over the
 * mirror of every manifest version. Reads only; one thread.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/lsm/fsck.h"
#include "engine/lsm/inspect.h"
#include "engine/lsm/manifest_store.h"
#include "util/buf.h"
#include "util/error.h"

static const char *const views[] = { "manifest", "tables", "wal", "sql" };

static void
put_time(FILE *f, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char b[32];

	gmtime_r(&t, &tm);
	strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fputs(b, f);
}

static void
show_manifest(FILE *out, const struct manifest *m)
{
	uint64_t bytes = 0, entries = 0;
	size_t ntables = m->nl0;

	for (size_t i = 0; i < m->nl0; i++) {
		bytes += m->l0[i].size;
		entries += m->l0[i].entries;
	}
	for (size_t r = 0; r < m->nruns; r++) {
		ntables += m->runs[r].ntables;
		for (size_t i = 0; i < m->runs[r].ntables; i++) {
			bytes += m->runs[r].tables[i].size;
			entries += m->runs[r].tables[i].entries;
		}
	}
	fprintf(out, "manifest:         %" PRIu64 "\n", m->id);
	fprintf(out, "written:          ");
	put_time(out, m->created_ms);
	fprintf(out, "\nwriter epoch:     %" PRIu64 "\n", m->writer_epoch);
	fprintf(out, "wal replay from:  %" PRIu64 "\n", m->wal_replay_from);
	fprintf(out, "last seq:         %" PRIu64 "\n", m->last_seq);
	fprintf(out, "l0 tables:        %zu\n", m->nl0);
	fprintf(out, "sorted runs:      %zu\n", m->nruns);
	fprintf(out, "tables:           %zu, %" PRIu64 " bytes, %" PRIu64 " records\n",
	    ntables, bytes, entries);
	fprintf(out, "checkpoints:      %zu\n", m->ncheckpoints);
}

static void
show_table(FILE *out, const char *level, const struct manifest_table *t,
    struct buf *k1, struct buf *k2)
{
	fprintf(out, "%-6s %s  %" PRIu64 " B  %" PRIu64 " records  seq %" PRIu64 "-%"
	    PRIu64 "  keys '%s' .. '%s'\n", level, t->key, t->size, t->entries,
	    t->min_seq, t->max_seq, buf_escape(k1, t->first_key, t->first_klen),
	    buf_escape(k2, t->last_key, t->last_klen));
}

static void
show_tables(FILE *out, const struct manifest *m)
{
	struct buf k1, k2;
	char level[32];

	buf_init(&k1, 0);
	buf_init(&k2, 0);
	for (size_t i = 0; i < m->nl0; i++)
		show_table(out, "l0", &m->l0[i], &k1, &k2);
	for (size_t r = 0; r < m->nruns; r++) {
		snprintf(level, sizeof(level), "run%" PRIu64, m->runs[r].id);
		for (size_t i = 0; i < m->runs[r].ntables; i++)
			show_table(out, level, &m->runs[r].tables[i], &k1, &k2);
	}
	buf_release(&k1);
	buf_release(&k2);
}

struct wal_view {
	FILE		*out;
	FILE		*err;
	uint64_t	*damaged;
};

/* One WAL object of the 'wal' view; a damaged one is said and counted. */
static int
show_wal(void *arg, const struct fsck_wal *w, int rc)
{
	struct wal_view *v = arg;

	if (rc == SHALE_ECORRUPT) {
		fprintf(v->err, "damaged: %s\n", err_message(rc));
		(*v->damaged)++;
		return 0;
	}
	if (rc != 0)
		return rc;
	fprintf(v->out, "%s  %zu B  epoch %" PRIu64 "  %s%s%" PRIu64
	    " batches, %" PRIu64 " records\n", w->key, w->size, w->h.epoch,
	    w->h.fence ? "fence, " : "", w->h.stubs ? "stubs, " : "",
	    w->batches, w->records);
	return 0;
}

/* Record every version in the store in the mirror, then run the query. */
static int
run_sql(struct objstore *os, struct mirror *mi, const char *sql, FILE *out)
{
	struct manifest m;
	struct buf rows;
	uint64_t *ids;
	size_t n;
	int rc;

	if (mi == NULL)
		return err_set(-ENOENT, "no mirror database to query");
	if ((rc = manifest_list_ids(os, &ids, &n)) != 0)
		return rc;
	manifest_init(&m);
	for (size_t i = 0; i < n; i++) {
		if ((rc = manifest_read(os, ids[i], &m)) == -ENOENT)
			continue;	/* collected since listed */
		if (rc != 0) {
			free(ids);
			manifest_release(&m);
			return rc;
		}
		manifest_mirror(mi, &m);
	}
	free(ids);
	manifest_release(&m);
	buf_init(&rows, 0);
	if ((rc = mirror_query(mi, sql, &rows)) == 0)
		fwrite(buf_str(&rows), 1, rows.len, out);
	buf_release(&rows);
	return rc;
}

int
inspect_view_known(const char *view)
{
	for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++)
		if (strcmp(view, views[i]) == 0)
			return 1;
	return 0;
}

int
inspect_store(struct objstore *os, const char *uri, const char *cache_dir,
    const char *view, const char *sql, FILE *out, FILE *err,
    uint64_t *damaged)
{
	struct wal_view wv = { out, err, damaged };
	struct mirror *mi;
	struct manifest m;
	int rc;

	*damaged = 0;
	if (!inspect_view_known(view))
		return err_set(-EINVAL, "unknown view '%s'", view);
	mi = manifest_mirror_open(cache_dir, uri);
	manifest_init(&m);
	if ((rc = manifest_find_latest(os, mi, &m)) != 0)
		goto out;
	if (strcmp(view, "sql") == 0) {
		rc = run_sql(os, mi, sql, out);
		goto out;
	}
	if (m.id == 0) {
		rc = err_set(-ENOENT, "'%s' holds no manifest: not a shale "
		    "store, or empty", uri);
		goto out;
	}
	if (strcmp(view, "manifest") == 0)
		show_manifest(out, &m);
	else if (strcmp(view, "tables") == 0)
		show_tables(out, &m);
	else
		rc = fsck_wal_walk(os, m.wal_replay_from, show_wal, &wv);
out:
	manifest_release(&m);
	if (mi != NULL)
		mirror_close(mi);
	return rc;
}
