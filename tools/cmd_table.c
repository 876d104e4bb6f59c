/* cmd_table.c - the table of subcommands. */
#include "config.h"

#include <stddef.h>

#include "tools/cmd.h"

const struct cmd cmd_table[] = {
	{ "bench", "engine [--seconds N] [--idle N] [--config FILE] URI... | "
	    "fs [--size MIB] [--lines N] [--s3 URI] [--no-s3fs] [--dir DIR] | "
	    "lsm [--mib N] [--config FILE] URI... | "
	    "series [--series N] [--hours H] [--interval S] [--jitter MS] "
	    "[--template FILE] [--openmetrics FILE] DIR | "
	    "query [--series N] [--hours H] [--interval S] "
	    "[--openmetrics FILE] [--load] [--runs N] [--query K] [--url URL] "
	    "[--drop-caches] DIR | "
	    "logql [--load] [--query] [--bytes N] [--streams N] [--hours H] "
	    "[--runs N] [--only K] [--drop-caches] DIR",
	    "measure the engine, or the mount against other file systems",
	    cmd_bench },
	{ "compact", "[--config FILE] STORE",
	    "merge every table of a store nothing is mounted on", cmd_compact },
	{ "fsck", "[-v] [--quick] STORE",
	    "check a store's tables and WAL, reading only", cmd_fsck },
	{ "gc", "[--dry-run] [--config FILE] STORE",
	    "delete what no reader of a store may still need", cmd_gc },
	{ "inspect", "[--cache-dir DIR] STORE [manifest|tables|wal|check|sql SQL]",
	    "show what a store holds", cmd_inspect },
	{ "mount", "[-f] [-o OPTS] [--read-only] [--sync] [--config FILE] "
	    "[--listen ADDR[:PORT]] [--port PORT] [--token-file FILE] "
	    "[--scrape-config FILE] [--no-self-scrape] [STORE] MOUNTPOINT",
	    "mount a store's log streams as files", cmd_mount },
	{ "query", "[--time T | --start S --end E --step D] "
	    "[--format text|json|csv] [--timeout D] [--config FILE] STORE EXPR",
	    "evaluate a PromQL query over a store's metric series", cmd_query },
	{ "series", "[--config FILE] [--start S] [--end S] [--openmetrics] "
	    "STORE list|dump [SELECTOR...] | stats | import FILE",
	    "list, dump, count or import a store's metric series", cmd_series },
	{ "serve", "[--read-only] [--config FILE] [--listen ADDR[:PORT]] "
	    "[--port PORT] [--token-file FILE] [--shutdown-timeout S] "
	    "[--scrape-config FILE] [--no-self-scrape] [STORE]",
	    "serve a store's log streams over HTTP, without a mount", cmd_serve },
	{ "store", "put|get|ls|rm|stat|bench [options] URI ...",
	    "read and write objects of a store", cmd_store },
	{ "version", "", "print the version", cmd_version },
	{ NULL, NULL, NULL, NULL }
};
