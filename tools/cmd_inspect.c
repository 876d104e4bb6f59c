/*
 * cmd_inspect.c - 'shale inspect': what a store holds, read from the
 * object store (never written), with the SQLite mirror for SQL.
 *
 *   shale inspect STORE [manifest]     the newest manifest, summarised
 *   shale inspect STORE tables         one line per table
 *   shale inspect STORE wal            the WAL objects past the replay point
 *   shale inspect STORE check          the same as 'shale fsck STORE'
 *                                      (engine/lsm/fsck.c)
 *   shale inspect STORE sql 'SELECT …' bring the mirror up to date with
 *                                      every manifest version, then query it
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/lsm/manifest_store.h"
#include "tools/cmd.h"
#include "engine/lsm/fsck.h"
#include "util/buf.h"
#include "util/error.h"

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
show_manifest(const struct manifest *m)
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
	printf("manifest:         %" PRIu64 "\n", m->id);
	printf("written:          ");
	put_time(stdout, m->created_ms);
	printf("\nwriter epoch:     %" PRIu64 "\n", m->writer_epoch);
	printf("wal replay from:  %" PRIu64 "\n", m->wal_replay_from);
	printf("last seq:         %" PRIu64 "\n", m->last_seq);
	printf("l0 tables:        %zu\n", m->nl0);
	printf("sorted runs:      %zu\n", m->nruns);
	printf("tables:           %zu, %" PRIu64 " bytes, %" PRIu64 " records\n",
	    ntables, bytes, entries);
	printf("checkpoints:      %zu\n", m->ncheckpoints);
}

static void
show_table(const char *level, const struct manifest_table *t, struct buf *k1,
    struct buf *k2)
{
	printf("%-6s %s  %" PRIu64 " B  %" PRIu64 " records  seq %" PRIu64 "-%"
	    PRIu64 "  keys '%s' .. '%s'\n", level, t->key, t->size, t->entries,
	    t->min_seq, t->max_seq, buf_escape(k1, t->first_key, t->first_klen),
	    buf_escape(k2, t->last_key, t->last_klen));
}

static void
show_tables(const struct manifest *m)
{
	struct buf k1, k2;
	char level[32];

	buf_init(&k1, 0);
	buf_init(&k2, 0);
	for (size_t i = 0; i < m->nl0; i++)
		show_table("l0", &m->l0[i], &k1, &k2);
	for (size_t r = 0; r < m->nruns; r++) {
		snprintf(level, sizeof(level), "run%" PRIu64, m->runs[r].id);
		for (size_t i = 0; i < m->runs[r].ntables; i++)
			show_table(level, &m->runs[r].tables[i], &k1, &k2);
	}
	buf_release(&k1);
	buf_release(&k2);
}

/* One WAL object of the 'wal' view; a damaged one is said and counted. */
static int
show_wal(void *arg, const struct fsck_wal *w, int rc)
{
	int *bad = arg;

	if (rc == SHALE_ECORRUPT) {
		cmd_fail("%s", err_message(rc));
		(*bad)++;
		return 0;
	}
	if (rc != 0)
		return rc;
	printf("%s  %zu B  epoch %" PRIu64 "  %s%s%" PRIu64 " batches, %"
	    PRIu64 " records\n", w->key, w->size, w->h.epoch,
	    w->h.fence ? "fence, " : "", w->h.stubs ? "stubs, " : "",
	    w->batches, w->records);
	return 0;
}

static int
show_wals(struct objstore *os, const struct manifest *m)
{
	int bad = 0, rc;

	if ((rc = fsck_wal_walk(os, m->wal_replay_from, show_wal, &bad)) != 0)
		return cmd_fail("%s", err_message(rc));
	return bad != 0;
}

/* Record every version in the store in the mirror, then run the query. */
static int
run_sql(struct objstore *os, struct mirror *mi, const char *sql)
{
	struct manifest m;
	struct buf out;
	uint64_t *ids;
	size_t n;
	int rc;

	if (mi == NULL)
		return cmd_fail("no mirror database to query");
	if ((rc = manifest_list_ids(os, &ids, &n)) != 0)
		return cmd_fail("%s", err_message(rc));
	manifest_init(&m);
	for (size_t i = 0; i < n; i++) {
		if ((rc = manifest_read(os, ids[i], &m)) == -ENOENT)
			continue;	/* collected since listed */
		if (rc != 0) {
			free(ids);
			manifest_release(&m);
			return cmd_fail("%s", err_message(rc));
		}
		manifest_mirror(mi, &m);
	}
	free(ids);
	manifest_release(&m);
	buf_init(&out, 0);
	if ((rc = mirror_query(mi, sql, &out)) != 0) {
		buf_release(&out);
		return cmd_fail("%s", err_message(rc));
	}
	fwrite(buf_str(&out), 1, out.len, stdout);
	buf_release(&out);
	return 0;
}

int
cmd_inspect(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cache-dir", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *cache = NULL, *what;
	struct objstore *os = NULL;
	struct mirror *mi = NULL;
	struct manifest m;
	int c, rc, ret = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'C':
			cache = optarg;
			break;
		case 'h':
			cmd_usage("inspect", NULL);
			return 0;
		default:
			return cmd_usage("inspect", NULL);
		}
	}
	if (optind >= argc)
		return cmd_usage("inspect", "no store given");
	what = optind + 1 < argc ? argv[optind + 1] : "manifest";
	if (strcmp(what, "sql") == 0 ? optind + 3 != argc : optind + 2 < argc)
		return cmd_usage("inspect", "unexpected arguments");
	if (strcmp(what, "manifest") && strcmp(what, "tables") && strcmp(what, "wal") &&
	    strcmp(what, "check") && strcmp(what, "sql"))
		return cmd_usage("inspect", "unknown view '%s'", what);
	if ((rc = objstore_open(argv[optind], NULL, &os)) != 0)
		return cmd_fail("%s", err_message(rc));
	manifest_init(&m);
	if (strcmp(what, "check") == 0) {
		ret = cmd_fsck_check(os, 0);
		goto out;
	}
	mi = manifest_mirror_open(cache, argv[optind]);
	if ((rc = manifest_find_latest(os, mi, &m)) != 0) {
		cmd_fail("%s", err_message(rc));
		goto out;
	}
	if (m.id == 0 && strcmp(what, "sql") != 0) {
		cmd_fail("'%s' holds no manifest: not a shale store, or empty",
		    argv[optind]);
		goto out;
	}
	if (strcmp(what, "manifest") == 0) {
		show_manifest(&m);
		ret = 0;
	} else if (strcmp(what, "tables") == 0) {
		show_tables(&m);
		ret = 0;
	} else if (strcmp(what, "wal") == 0) {
		ret = show_wals(os, &m);
	} else {
		ret = run_sql(os, mi, argv[optind + 2]);
	}
out:
	manifest_release(&m);
	if (mi != NULL)
		mirror_close(mi);
	objstore_close(os);
	if (fflush(stdout) != 0)
		ret = 1;
	return ret;
}
