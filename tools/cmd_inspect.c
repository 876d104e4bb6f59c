/*
 * cmd_inspect.c - 'shale inspect': what a store holds, read from the
 * object store (never written), with the SQLite mirror for SQL.
 *
 *   shale inspect STORE [manifest]     the newest manifest, summarised
 *   shale inspect STORE tables         one line per table
 *   shale inspect STORE wal            the WAL objects past the replay point
 *   shale inspect STORE check          read every table and WAL object in
 *                                      full; exit 1 naming any damage
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

#include "engine/kv.h"
#include "engine/manifest_store.h"
#include "engine/sst.h"
#include "engine/wal.h"
#include "tools/cmd.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/xmalloc.h"

/* A key for people: printable bytes as they are, others as \xNN. */
static void
put_key(FILE *f, const uint8_t *k, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (k[i] >= 0x20 && k[i] < 0x7f && k[i] != '\\')
			fputc(k[i], f);
		else
			fprintf(f, "\\x%02x", k[i]);
	}
}

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
show_table(const char *level, const struct manifest_table *t)
{
	printf("%-6s %s  %" PRIu64 " B  %" PRIu64 " records  seq %" PRIu64 "-%"
	    PRIu64 "  keys '", level, t->key, t->size, t->entries, t->min_seq,
	    t->max_seq);
	put_key(stdout, t->first_key, t->first_klen);
	printf("' .. '");
	put_key(stdout, t->last_key, t->last_klen);
	printf("'\n");
}

static void
show_tables(const struct manifest *m)
{
	char level[32];

	for (size_t i = 0; i < m->nl0; i++)
		show_table("l0", &m->l0[i]);
	for (size_t r = 0; r < m->nruns; r++) {
		snprintf(level, sizeof(level), "run%" PRIu64, m->runs[r].id);
		for (size_t i = 0; i < m->runs[r].ntables; i++)
			show_table(level, &m->runs[r].tables[i]);
	}
}

struct wal_count {
	uint64_t batches, records;
};

static int
count_batch(void *arg, uint64_t first_seq, const struct kv_entry *e, size_t n)
{
	struct wal_count *c = arg;

	(void)first_seq;
	(void)e;
	c->batches++;
	c->records += n;
	return 0;
}

/* Show (and check) the WAL objects from the replay point. */
static int
walk_wal(struct objstore *os, const struct manifest *m, int quiet)
{
	struct objstore_list l = { 0 };
	struct wal_header h;
	struct buf b;
	char *after = NULL, key[32];
	uint64_t id;
	int rc, bad = 0;

	if (m->wal_replay_from > 1) {
		wal_key(m->wal_replay_from - 1, key);
		after = xstrdup(key);
	}
	buf_init(&b, 0);
	do {
		rc = objstore_list(os, "wal/", after, 0, &l);
		free(after);
		after = NULL;
		if (rc != 0) {
			cmd_fail("%s", err_message(rc));
			bad++;
			break;
		}
		for (size_t i = 0; i < l.n; i++) {
			struct wal_count c = { 0, 0 };

			if ((id = wal_key_id(l.entries[i].key)) == 0)
				continue;
			buf_reset(&b);
			rc = objstore_get(os, l.entries[i].key, 0, OBJSTORE_TO_END, &b);
			if (rc == 0)
				rc = wal_decode(b.data, b.len, l.entries[i].key, &h,
				    count_batch, &c);
			if (rc != 0) {
				cmd_fail("%s", err_message(rc));
				bad++;
				continue;
			}
			if (!quiet)
				printf("%s  %zu B  epoch %" PRIu64 "  %s%" PRIu64 " batches, %"
				    PRIu64 " records\n", l.entries[i].key, b.len, h.epoch,
				    h.fence ? "fence, " : "", c.batches, c.records);
		}
		if (l.next != NULL)
			after = xstrdup(l.next);
	} while (after != NULL);
	buf_release(&b);
	objstore_list_release(&l);
	return bad;
}

/* Read one table in full, both ways: 0 or an error naming the object. */
static int
check_table(struct objstore *os, const struct manifest_table *t)
{
	struct sst *s;
	struct iter *it;
	uint64_t n = 0;
	int rc;

	if ((rc = sst_open(os, t->key, t->size, &s)) != 0)
		return rc;
	it = sst_iter_new(s);
	for (iter_seek_first(it); iter_valid(it); iter_next(it))
		n++;
	if ((rc = iter_status(it)) == 0 && n != t->entries)
		rc = err_set(SHALE_ECORRUPT, "'%s': %" PRIu64 " records, the manifest "
		    "says %" PRIu64, t->key, n, t->entries);
	iter_free(it);
	sst_close(s);
	return rc;
}

static int
check_store(struct objstore *os, const struct manifest *m)
{
	int bad = 0, rc;

	for (size_t i = 0; i < m->nl0; i++)
		if ((rc = check_table(os, &m->l0[i])) != 0) {
			cmd_fail("%s", err_message(rc));
			bad++;
		}
	for (size_t r = 0; r < m->nruns; r++)
		for (size_t i = 0; i < m->runs[r].ntables; i++)
			if ((rc = check_table(os, &m->runs[r].tables[i])) != 0) {
				cmd_fail("%s", err_message(rc));
				bad++;
			}
	bad += walk_wal(os, m, 1);
	if (bad == 0)
		printf("manifest %" PRIu64 ": every table and WAL object reads back "
		    "whole\n", m->id);
	return bad;
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
	mi = manifest_mirror_open(cache, argv[optind]);
	manifest_init(&m);
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
		ret = walk_wal(os, &m, 0) ? 1 : 0;
	} else if (strcmp(what, "check") == 0) {
		ret = check_store(os, &m) ? 1 : 0;
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
