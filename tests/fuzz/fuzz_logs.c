/*
 * fuzz_logs.c - libFuzzer harness for the log stream model's decoding of
 * records from the store: logs_apply(), which a read-only mount calls for
 * every record the writer stored (directory entries, inodes, stream
 * records, the time index, the counter, the streams' labels), followed
 * by a walk of what it built.
 *
 * The input is a list of records: a two-byte length (big-endian, at most
 * 510) and that many key bytes (after the two bytes 01 01 every key of
 * the model starts with), a byte
 * whose low bit says put or delete, and for a put a two-byte length and
 * the value. Whatever they say, the model must keep a tree (every
 * directory reachable from /logs once, no cycle), answer getattr and
 * lookup consistently with readdir, and read every stream without fault.
 * One reader engine over an empty local store serves every input; each
 * input gets a fresh struct logs.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/lsm/engine.h"
#include "model/labels.h"
#include "model/logs.h"
#include "util/log.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct engine *engine;

static struct engine *
shared_engine(void)
{
	char dir[] = "/tmp/shale-fuzz-logs.XXXXXX", uri[64];
	struct engine *w;

	if (engine != NULL)
		return engine;
	log_set_level(LOG_ERROR);
	if (mkdtemp(dir) == NULL)
		abort();
	setenv("XDG_CACHE_HOME", dir, 1);
	snprintf(uri, sizeof(uri), "file://%s/store", dir);
	/* a writer makes the first manifest; the reader opens on it */
	if (engine_open(uri, NULL, NULL, ENGINE_WRITER, &w) != 0 ||
	    engine_close(w) != 0 ||
	    engine_open(uri, NULL, NULL, ENGINE_READER, &engine) != 0)
		abort();
	return engine;
}

struct walk {
	struct logs	*l;
	int		 depth;
	size_t		 seen;
	char		 buf[4096];
};

static int	walk_dir(struct walk *w, uint64_t dir);

static int
scan_one(void *arg, uint64_t off, const void *data, size_t len, int64_t ts)
{
	(void)arg;
	(void)off;
	(void)data;
	(void)len;
	(void)ts;
	return 0;
}

/* Every stream has a whole set, with stream= unless given one. */
static int
check_set(void *arg, uint64_t id, const struct labels *ls,
    const struct logs_attr *a)
{
	(void)arg;
	if (ls == NULL || a->id != id || a->type != LOGS_STREAM)
		abort();
	return 0;
}

static int
walk_entry(void *arg, const char *name, size_t len, const struct logs_attr *a)
{
	struct walk *w = arg;
	struct logs_attr b, c;
	char copy[LOGS_NAME_MAX + 1];
	struct labels *ls;
	uint64_t off;

	if (++w->seen > 100000)
		abort();	/* more entries than records: a cycle */
	if (logs_name_check(name, len) != 0)
		abort();	/* a name no file system may show */
	memcpy(copy, name, len);
	copy[len] = '\0';
	/* readdir, lookup and getattr agree */
	if (logs_getattr(w->l, a->id, &b) != 0 || b.type != a->type)
		abort();
	if (logs_lookup(w->l, a->parent, copy, &c) != 0 || c.id != a->id)
		abort();
	if (a->type == LOGS_DIR)
		return walk_dir(w, a->id);
	for (off = 0; off < b.size && off < 1 << 20; off += sizeof(w->buf))
		if (logs_read(w->l, a->id, off, w->buf, sizeof(w->buf)) <= 0)
			break;
	if (b.size > 0)
		logs_read(w->l, a->id, b.size - 1, w->buf, 1);
	logs_offset_at(w->l, a->id, 0, &off);
	if (logs_labels_get(w->l, a->id, &ls) != 0)
		abort();
	labels_free(ls);
	logs_scan_time(w->l, a->id, 0, INT64_MAX, scan_one, NULL);
	return 0;
}

static int
walk_dir(struct walk *w, uint64_t dir)
{
	int rc;

	if (++w->depth > 10000)
		abort();	/* deeper than the records could make: a cycle */
	rc = logs_readdir(w->l, dir, walk_entry, w);
	w->depth--;
	return rc < 0 ? 0 : rc;
}

/* Apply the records the input describes. */
static void
apply_all(struct logs *l, const uint8_t *data, size_t size, uint8_t *key)
{
	size_t pos = 0, klen, vlen;
	int put;

	while (size - pos >= 2) {
		klen = (size_t)data[pos] << 8 | data[pos + 1];
		pos += 2;
		if (klen > 510 || size - pos < klen + 1)
			break;
		key[0] = 0x01;
		key[1] = 0x01;
		memcpy(key + 2, data + pos, klen);
		pos += klen;
		put = data[pos++] & 1;
		if (!put) {
			logs_apply(l, key, klen + 2, NULL, 0);
			continue;
		}
		if (size - pos < 2)
			break;
		vlen = (size_t)data[pos] << 8 | data[pos + 1];
		pos += 2;
		if (size - pos < vlen)
			vlen = size - pos;
		logs_apply(l, key, klen + 2, data + pos, vlen);
		pos += vlen;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct engine *e = shared_engine();
	struct logs_usage u;
	struct walk w;
	uint8_t key[2 + 510];

	memset(&w, 0, sizeof(w));
	if (logs_open(e, &w.l) != 0)
		abort();
	/*
	 * Twice: the second time the streams the first walk loaded take
	 * their records' ends (the engine holds no records: reads must
	 * cope with a stream longer than what it can find)
	 */
	for (int round = 0; round < 2; round++) {
		apply_all(w.l, data, size, key);
		w.seen = 0;
		walk_dir(&w, LOGS_ROOT_ID);
	}
	logs_usage(w.l, &u);
	if (logs_streams(w.l, check_set, NULL) != 0)
		abort();
	logs_close(w.l);
	return 0;
}
