/*
 * cmd_store.c - 'shale store': put, get, list, delete and stat objects of
 * any store from the shell, and measure a store's throughput.
 *
 * An object is named by its store URI and key. For s3:// the key is what
 * follows the bucket (s3://bucket/wal/0001); for any store, URI#KEY names
 * the key explicitly (file:///var/lib/shale#wal/0001, s3://b/prefix/#k).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/objstore/objstore.h"
#include "tools/cmd.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xmalloc.h"

struct store_args {
	struct objstore_opts opts;
	int		 long_fmt;	/* ls -l */
	int		 recursive;	/* rm -r: everything under the prefix */
	int		 if_absent;	/* put --if-absent */
	uint64_t	 offset;	/* get */
	uint64_t	 length;
	size_t		 page;		/* ls --page */
	uint64_t	 size;		/* bench */
	long		 count;
	int		 parallel;
};

/* Split an object URI into a store URI and a key; both are new strings. */
static int
split_uri(const char *uri, char **store, char **key)
{
	const char *hash = strchr(uri, '#'), *slash;

	if (hash != NULL) {
		*store = xstrndup(uri, (size_t)(hash - uri));
		*key = xstrdup(hash + 1);
		return 0;
	}
	if (strncmp(uri, "s3://", 5) == 0) {
		slash = strchr(uri + 5, '/');
		*store = slash ? xstrndup(uri, (size_t)(slash - uri)) : xstrdup(uri);
		*key = xstrdup(slash ? slash + 1 : "");
		return 0;
	}
	*store = xstrdup(uri);
	*key = xstrdup("");
	return 0;
}

static int
open_store(const char *uri, struct store_args *a, struct objstore **os,
    char **key)
{
	char *store;
	int rc;

	split_uri(uri, &store, key);
	rc = objstore_open(store, &a->opts, os);
	if (rc != 0) {
		cmd_fail("%s", err_message(rc));
		free(*key);
		*key = NULL;
	}
	free(store);
	return rc;
}

static int
need_key(const char *uri, const char *key)
{
	if (key[0] != '\0')
		return 0;
	cmd_fail("'%s' names no object (use s3://BUCKET/KEY or STORE#KEY)", uri);
	return 1;
}

static int
read_all(int fd, struct buf *b)
{
	char chunk[65536];
	ssize_t r;

	while ((r = read(fd, chunk, sizeof(chunk))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (buf_append(b, chunk, (size_t)r) != 0)
			return -EFBIG;
	}
	return 0;
}

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
do_put(struct store_args *a, int argc, char **argv)
{
	struct objstore *os;
	const char *file = argc > 1 ? argv[1] : "-";
	struct buf b;
	char *key;
	int fd, rc, ret = 1;

	if (argc < 1 || argc > 2)
		return cmd_usage("store", "put needs URI [FILE]");
	if (open_store(argv[0], a, &os, &key) != 0)
		return 1;
	buf_init(&b, 0);
	if (need_key(argv[0], key))
		goto out;
	fd = strcmp(file, "-") == 0 ? 0 : open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		cmd_fail("cannot open '%s': %s", file, strerror(errno));
		goto out;
	}
	rc = read_all(fd, &b);
	if (fd != 0)
		close(fd);
	if (rc != 0) {
		cmd_fail("cannot read '%s': %s", file, shale_strerror(rc));
		goto out;
	}
	rc = a->if_absent ? objstore_put_if_absent(os, key, b.data, b.len) :
	    objstore_put(os, key, b.data, b.len);
	if (rc == -EEXIST)
		cmd_fail("'%s' exists", argv[0]);
	else if (rc != 0)
		cmd_fail("%s", err_message(rc));
	else
		ret = 0;
out:
	buf_release(&b);
	free(key);
	objstore_close(os);
	return ret;
}

static int
do_get(struct store_args *a, int argc, char **argv)
{
	struct objstore *os;
	const char *file = argc > 1 ? argv[1] : "-";
	struct buf b;
	char *key;
	int fd = -1, rc, ret = 1;

	if (argc < 1 || argc > 2)
		return cmd_usage("store", "get needs URI [FILE]");
	if (open_store(argv[0], a, &os, &key) != 0)
		return 1;
	buf_init(&b, 0);
	if (need_key(argv[0], key))
		goto out;
	if ((rc = objstore_get(os, key, a->offset, a->length, &b)) != 0) {
		cmd_fail("%s", err_message(rc));
		goto out;
	}
	fd = strcmp(file, "-") == 0 ? 1 :
	    open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || (rc = write_all(fd, b.data ? b.data : "", b.len)) != 0) {
		cmd_fail("cannot write '%s': %s", file, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (fd > 1)
		close(fd);
	buf_release(&b);
	free(key);
	objstore_close(os);
	return ret;
}

static int
do_ls(struct store_args *a, int argc, char **argv)
{
	struct objstore_list l = { 0 };
	struct objstore *os;
	char *key, *after = NULL, tbuf[32];
	struct tm tm;
	time_t t;
	int rc, ret = 0;

	if (argc != 1)
		return cmd_usage("store", "ls needs one URI");
	if (open_store(argv[0], a, &os, &key) != 0)
		return 1;
	do {
		rc = objstore_list(os, key, after, a->page, &l);
		free(after);
		after = NULL;
		if (rc != 0) {
			cmd_fail("%s", err_message(rc));
			ret = 1;
			break;
		}
		for (size_t i = 0; i < l.n; i++) {
			if (!a->long_fmt) {
				printf("%s\n", l.entries[i].key);
				continue;
			}
			t = (time_t)l.entries[i].mtime;
			gmtime_r(&t, &tm);
			strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%SZ", &tm);
			printf("%12" PRIu64 "  %s  %s\n", l.entries[i].size, tbuf,
			    l.entries[i].key);
		}
		if (l.next != NULL)
			after = xstrdup(l.next);
	} while (after != NULL);
	objstore_list_release(&l);
	free(key);
	objstore_close(os);
	if (fflush(stdout) != 0)
		ret = cmd_fail("cannot write the listing: %s", strerror(errno));
	return ret;
}

/* rm -r: delete every key under the prefix, a page at a time. */
static int
rm_prefix(struct objstore *os, const char *prefix)
{
	struct objstore_list l = { 0 };
	const char **keys = NULL;
	size_t cap = 0;
	int rc;

	for (;;) {
		if ((rc = objstore_list(os, prefix, NULL, 1000, &l)) != 0 || l.n == 0)
			break;
		keys = xgrow(keys, &cap, l.n, sizeof(*keys));
		for (size_t i = 0; i < l.n; i++)
			keys[i] = l.entries[i].key;
		if ((rc = objstore_delete_batch(os, keys, l.n)) != 0)
			break;
	}
	objstore_list_release(&l);
	free(keys);
	return rc;
}

static int
do_rm(struct store_args *a, int argc, char **argv)
{
	struct objstore *os;
	char *key;
	int rc, ret = 0;

	if (argc < 1)
		return cmd_usage("store", "rm needs at least one URI");
	for (int i = 0; i < argc; i++) {
		if (open_store(argv[i], a, &os, &key) != 0)
			return 1;
		if (!a->recursive && need_key(argv[i], key))
			rc = 1, ret = 1;
		else if ((rc = a->recursive ? rm_prefix(os, key) :
		    objstore_delete(os, key)) != 0)
			ret = cmd_fail("%s", err_message(rc));
		free(key);
		objstore_close(os);
	}
	return ret;
}

static int
do_stat(struct store_args *a, int argc, char **argv)
{
	struct objstore_meta m;
	struct objstore *os;
	char *key, tbuf[32];
	struct tm tm;
	time_t t;
	int rc, ret = 1;

	if (argc != 1)
		return cmd_usage("store", "stat needs one URI");
	if (open_store(argv[0], a, &os, &key) != 0)
		return 1;
	if (need_key(argv[0], key))
		goto out;
	if ((rc = objstore_head(os, key, &m)) != 0) {
		cmd_fail("%s", err_message(rc));
		goto out;
	}
	t = (time_t)m.mtime;
	gmtime_r(&t, &tm);
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("key: %s\nsize: %" PRIu64 "\nmtime: %s\netag: %s\n", key, m.size,
	    tbuf, m.etag);
	ret = 0;
out:
	free(key);
	objstore_close(os);
	return ret;
}

/* ---- bench ---- */

struct bench {
	struct objstore	*os;
	const char	*prefix;
	const char	*data;
	size_t		 size;
	long		 count;
	long		 next;		/* next object; atomic */
	int		 phase;		/* 0 put, 1 get, 2 delete */
	int		 failed;
};

static void *
bench_worker(void *arg)
{
	struct bench *b = arg;
	struct buf got;
	char key[256];
	long i;
	int rc;

	buf_init(&got, 0);
	while ((i = __atomic_fetch_add(&b->next, 1, __ATOMIC_RELAXED)) < b->count) {
		snprintf(key, sizeof(key), "%s%08ld", b->prefix, i);
		if (b->phase == 0) {
			rc = objstore_put(b->os, key, b->data, b->size);
		} else if (b->phase == 1) {
			buf_reset(&got);
			rc = objstore_get(b->os, key, 0, OBJSTORE_TO_END, &got);
			if (rc == 0 && (got.len != b->size ||
			    memcmp(got.data, b->data, b->size) != 0))
				rc = err_set(SHALE_ECORRUPT, "'%s' read back wrong", key);
		} else {
			rc = objstore_delete(b->os, key);
		}
		if (rc != 0) {
			log_error("%s", err_message(rc));
			__atomic_store_n(&b->failed, 1, __ATOMIC_RELAXED);
			break;
		}
	}
	buf_release(&got);
	return NULL;
}

static int
bench_phase(struct bench *b, int phase, int parallel, const char *name)
{
	pthread_t *t = xcalloc((size_t)parallel, sizeof(*t));
	int64_t t0 = clock_mono_ns();
	double secs;

	b->phase = phase;
	b->next = 0;
	for (int i = 0; i < parallel; i++)
		pthread_create(&t[i], NULL, bench_worker, b);
	for (int i = 0; i < parallel; i++)
		pthread_join(t[i], NULL);
	free(t);
	secs = (double)(clock_mono_ns() - t0) / 1e9;
	if (b->failed)
		return cmd_fail("bench %s failed", name);
	printf("%-6s %6ld objects x %9zu B  parallel %2d  %8.3f s  %9.1f obj/s  "
	    "%8.1f MB/s\n", name, b->count, b->size, parallel, secs,
	    (double)b->count / secs, (double)b->count * (double)b->size / secs / 1e6);
	return 0;
}

static int
do_bench(struct store_args *a, int argc, char **argv)
{
	struct bench b = { 0 };
	char *key, *prefix, *data;
	int ret = 1;

	if (argc != 1)
		return cmd_usage("store", "bench needs one store URI");
	if (a->opts.max_parallel < a->parallel)
		a->opts.max_parallel = a->parallel;
	if (open_store(argv[0], a, &b.os, &key) != 0)
		return 1;
	prefix = xasprintf("%sbench-%ld-%d/", key, (long)time(NULL), (int)getpid());
	data = xmalloc(a->size);
	for (size_t i = 0; i < a->size; i++)
		data[i] = (char)arc4random();
	b.prefix = prefix;
	b.data = data;
	b.size = a->size;
	b.count = a->count;
	if (bench_phase(&b, 0, a->parallel, "put") == 0 &&
	    bench_phase(&b, 1, a->parallel, "get") == 0 &&
	    bench_phase(&b, 2, a->parallel, "delete") == 0)
		ret = 0;
	free(data);
	free(prefix);
	free(key);
	objstore_close(b.os);
	return ret;
}

/* ---- options ---- */

static int
parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s)
		return -1;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	}
	if (*end != '\0')
		return -1;
	*out = v;
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(struct store_args *, int, char **);
} verbs[] = {
	{ "put", do_put }, { "get", do_get }, { "ls", do_ls }, { "rm", do_rm },
	{ "stat", do_stat }, { "bench", do_bench },
};

int
cmd_store(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "endpoint", required_argument, NULL, 'e' },
		{ "region", required_argument, NULL, 'R' },
		{ "profile", required_argument, NULL, 'P' },
		{ "path-style", no_argument, NULL, 'S' },
		{ "virtual-host", no_argument, NULL, 'H' },
		{ "max-parallel", required_argument, NULL, 'j' },
		{ "no-retry", no_argument, NULL, 'N' },
		{ "if-absent", no_argument, NULL, 'x' },
		{ "offset", required_argument, NULL, 'o' },
		{ "length", required_argument, NULL, 'n' },
		{ "page", required_argument, NULL, 'p' },
		{ "size", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'c' },
		{ "parallel", required_argument, NULL, 'J' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct store_args a;
	uint64_t v;
	int c;

	memset(&a, 0, sizeof(a));
	a.length = OBJSTORE_TO_END;
	a.size = 4096;
	a.count = 1000;
	a.parallel = 8;
	/* options may stand before or after the action: getopt moves them */
	optind = 1;
	while ((c = getopt_long(argc, argv, "lrvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'e': a.opts.endpoint = optarg; break;
		case 'R': a.opts.region = optarg; break;
		case 'P': a.opts.profile = optarg; break;
		case 'S': a.opts.addressing = OBJSTORE_ADDR_PATH; break;
		case 'H': a.opts.addressing = OBJSTORE_ADDR_VHOST; break;
		case 'N': a.opts.max_retries = -1; break;
		case 'x': a.if_absent = 1; break;
		case 'l': a.long_fmt = 1; break;
		case 'r': a.recursive = 1; break;
		case 'v': log_set_level(LOG_DEBUG); break;
		case 'j': case 'o': case 'n': case 'p': case 's': case 'c': case 'J':
			if (parse_size(optarg, &v) != 0)
				return cmd_usage("store", "'%s' is not a number", optarg);
			if (c == 'j') a.opts.max_parallel = (int)v;
			if (c == 'o') a.offset = v;
			if (c == 'n') a.length = v;
			if (c == 'p') a.page = (size_t)v;
			if (c == 's') a.size = v;
			if (c == 'c') a.count = (long)v;
			if (c == 'J') a.parallel = v > 0 && v <= 256 ? (int)v : 8;
			break;
		case 'h':
			cmd_usage("store", NULL);
			return 0;
		default:
			return cmd_usage("store", NULL);
		}
	}
	if (optind >= argc)
		return cmd_usage("store", "no action given");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(argv[optind], verbs[i].name) == 0)
			return verbs[i].fn(&a, argc - optind - 1, argv + optind + 1);
	return cmd_usage("store", "unknown action '%s'", argv[optind]);
}
