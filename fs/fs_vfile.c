/*
 * fs_vfile.c - the virtual files under /.shale, one function each,
 * registered in fs_vfiles[]. Their content is made when they are opened,
 * so one read(2) sequence sees one consistent text.
 */
#include "config.h"

#include <inttypes.h>
#include <unistd.h>

#include "fs/fs_int.h"
#include "model/logs.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/metrics.h"

/* status: where the mount stands, as "key: value" lines */
static int
vfile_status(struct fs *fs, struct buf *out)
{
	struct logs_status st;
	struct logs_usage u;

	logs_status(fs->l, &st);
	logs_usage(fs->l, &u);
	return buf_printf(out,
	    "store: %s\n"
	    "mountpoint: %s\n"
	    "mode: %s\n"
	    "pid: %ld\n"
	    "uptime_seconds: %" PRId64 "\n"
	    "epoch: %" PRIu64 "\n"
	    "manifest: %" PRIu64 "\n"
	    "last_seq: %" PRIu64 "\n"
	    "durable_seq: %" PRIu64 "\n"
	    "unflushed_bytes: %" PRIu64 "\n"
	    "l0_tables: %zu\n"
	    "sorted_runs: %zu\n"
	    "run_tables: %zu\n"
	    "table_bytes: %" PRIu64 "\n"
	    "compacting: %zu\n"
	    "fenced: %s\n"
	    "follow_lag_ms: %" PRId64 "\n"
	    "streams: %" PRIu64 "\n"
	    "directories: %" PRIu64 "\n",
	    fs->o.store, fs->o.mountpoint,
	    st.reader ? "read-only" : "writer", (long)getpid(),
	    (clock_wall_ns() - fs->started_ns) / 1000000000,
	    st.epoch, st.manifest_id, st.last_seq, st.durable_seq,
	    st.unflushed_bytes, st.l0_tables, st.runs, st.run_tables,
	    st.table_bytes, st.compacting, st.fenced ? "yes" : "no",
	    st.follow_lag_ms, u.streams, u.dirs);
}

/* metrics: the process's registry in the Prometheus text format */
static int
vfile_metrics(struct fs *fs, struct buf *out)
{
	(void)fs;
	return metrics_render(metrics_global(), out);
}

const struct fs_vfile fs_vfiles[] = {
	{ "metrics", vfile_metrics },
	{ "status", vfile_status },
};
const size_t fs_nvfiles = sizeof(fs_vfiles) / sizeof(fs_vfiles[0]);
