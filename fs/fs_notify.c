/*
 * fs_notify.c - what the mount tells the kernel unasked: the appended
 * bytes put into its page cache (on_data, send_stores), and the
 * invalidations of attributes and names after a change (on_change).
 * Both are sent by the notifier thread (notifier_main): a request
 * handler must not send an invalidation, and a store must come after
 * the write's answer (see on_data). Only the drop of a changed range's
 * pages is sent at once, by on_data.
 *
 * Not here: the choice of the page cache for a reader (fs_file.c,
 * logs_reader_cache) and what the kernel is asked for at FUSE_INIT
 * (fs.c, op_init).
 *
 * Series (fs_series.c) use only the invalidations: struct series calls
 * on_series_change after a series got samples or was made, and the
 * series' inode (FS_INO_SERIES | id) has its attributes dropped as a
 * stream's are, so stat(2) and tail -f see its new size. Their files use
 * direct I/O: no page cache to fill.
 *
 * Threading: struct logs calls on_data in the thread that changed the
 * stream, with the stream locked, and on_change in that thread or the
 * one that noticed a follower's change; struct series calls
 * on_series_change the same way. nlock guards what waits for the
 * notifier: pending, npending, pcap, stores, nstores, scap, sbytes and
 * nstop; ncond wakes it. store_lock is held over the sending of the
 * stores and by a truncation's drop of the pages, so none of the old
 * bytes reach the cache after it; it is taken before nlock.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/fs_int.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/xmalloc.h"

#define FS_INVAL_GATHER_MS 5			/* see notifier_main */
#define FS_STORE_MAX	(32 * 1024 * 1024)	/* see on_data */
#define FS_STORE_DELAY_MS 2			/* see notifier_main */

/* ---- the page cache ---- */

/* fuse_page_cache_*_bytes_total: fs_notify_metrics_init */
static struct metric_series *cache_stored, *cache_skipped;

/*
 * logs' data callback: a stream's bytes from `off` on changed. Called in
 * the changing thread with the stream locked (logs.h), so what is done
 * here is done before stat(2) can show the new size and before a write(2)
 * of this mount returns (and the kernel grows its own idea of the size).
 *
 * What the kernel kept of [off, off + n) can only be zeros: the part of
 * the old last page past the old end, or pages a short read filled. They
 * are dropped now, or a reader would take them for the new bytes. Then a
 * copy of the bytes waits for the notifier, which puts them into the page
 * cache, so the next reader finds them there: not now, because the kernel
 * drops the pages of a direct write's range once the write returns (and
 * only whole pages, see send_stores). The copies are bounded by
 * FS_STORE_MAX bytes; past it they are skipped (a reader then asks us, as
 * for any page not cached).
 *
 * A truncation drops all the inode's pages and the copies still waiting,
 * under store_lock, so none of its old bytes reach the cache afterwards.
 * -ENOENT from the kernel: it has no such inode, so no pages either.
 */
static void
on_data(void *arg, uint64_t id, uint64_t off, const void *p1, size_t n1,
    const void *p2, size_t n2)
{
	struct fs *fs = arg;
	struct fs_store *st;
	size_t n = n1 + n2, i, j;

	if (!__atomic_load_n(&fs->page_cache, __ATOMIC_RELAXED))
		return;
	if (n == 0) {
		pthread_mutex_lock(&fs->store_lock);
		pthread_mutex_lock(&fs->nlock);
		for (i = j = 0; i < fs->nstores; i++) {
			if (fs->stores[i].ino == id) {
				fs->sbytes -= fs->stores[i].len;
				free(fs->stores[i].data);
			} else
				fs->stores[j++] = fs->stores[i];
		}
		fs->nstores = j;
		pthread_mutex_unlock(&fs->nlock);
		fuse_lowlevel_notify_inval_inode(fs->se, (fuse_ino_t)id,
		    (off_t)off, 0);
		pthread_mutex_unlock(&fs->store_lock);
		return;
	}
	fuse_lowlevel_notify_inval_inode(fs->se, (fuse_ino_t)id, (off_t)off,
	    (off_t)n);
	pthread_mutex_lock(&fs->nlock);
	if (fs->sbytes + n > FS_STORE_MAX) {
		pthread_mutex_unlock(&fs->nlock);
		metric_add(cache_skipped, (double)n);
		return;
	}
	st = fs->nstores > 0 ? &fs->stores[fs->nstores - 1] : NULL;
	/* appends to one stream come in runs: one copy for a run */
	if (st == NULL || st->ino != id || st->off + st->len != off) {
		fs->stores = xgrow(fs->stores, &fs->scap, fs->nstores + 1,
		    sizeof(*fs->stores));
		st = &fs->stores[fs->nstores++];
		memset(st, 0, sizeof(*st));
		st->ino = id;
		st->off = off;
	}
	st->data = xgrow(st->data, &st->cap, st->len + n, 1);
	if (n1 > 0)
		memcpy(st->data + st->len, p1, n1);
	if (n2 > 0)
		memcpy(st->data + st->len + n1, p2, n2);
	st->len += n;
	fs->sbytes += n;
	if (fs->nstores == 1 && fs->npending == 0)
		pthread_cond_signal(&fs->ncond);
	pthread_mutex_unlock(&fs->nlock);
}

/*
 * Put the waiting copies into the page cache, whole pages only: a page
 * the kernel is given in part, it fills with zeros past the stream's end
 * as it is then, which bytes committed since (their pages already
 * dropped by on_data) would find. A whole page holds bytes that never
 * change but by a truncation, which waits for store_lock. (store_lock)
 */
static void
send_stores(struct fs *fs, struct fs_store *v, size_t n)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), from, to;
	struct fuse_bufvec bv;

	for (size_t i = 0; i < n; i++) {
		from = (v[i].off + page - 1) / page * page;
		to = (v[i].off + v[i].len) / page * page;
		if (to > from) {
			bv = FUSE_BUFVEC_INIT(to - from);
			bv.buf[0].mem = v[i].data + (from - v[i].off);
			if (fuse_lowlevel_notify_store(fs->se,
			    (fuse_ino_t)v[i].ino, (off_t)from, &bv, 0) == 0)
				metric_add(cache_stored, (double)(to - from));
		}
		free(v[i].data);
	}
}

/* ---- the notifier: attribute invalidations, page cache stores ---- */

static void
on_change(void *arg, uint64_t id, const char *name, size_t namelen)
{
	struct fs *fs = arg;
	struct fs_inval *last;

	pthread_mutex_lock(&fs->nlock);
	last = fs->npending > 0 ? &fs->pending[fs->npending - 1] : NULL;
	/* appends to one stream come in runs: keep one entry for a run */
	if (name != NULL || last == NULL || last->name != NULL ||
	    last->ino != id) {
		fs->pending = xgrow(fs->pending, &fs->pcap, fs->npending + 1,
		    sizeof(*fs->pending));
		last = &fs->pending[fs->npending++];
		last->ino = id;
		last->name = name != NULL ? xstrndup(name, namelen) : NULL;
		last->namelen = namelen;
		if (fs->npending == 1)
			pthread_cond_signal(&fs->ncond);
	}
	pthread_mutex_unlock(&fs->nlock);
}

static void
on_series_change(void *arg, uint64_t id)
{
	on_change(arg, FS_INO_SERIES | id, NULL, 0);
}

static void *
notifier_main(void *arg)
{
	struct fs *fs = arg;
	struct fs_inval *batch = NULL, *x;
	struct fs_store *stores = NULL;
	size_t n, cap = 0, j, nst, scap = 0;
	int stopping;

	pthread_mutex_lock(&fs->nlock);
	for (;;) {
		while (fs->npending == 0 && fs->nstores == 0 && !fs->nstop)
			pthread_cond_wait(&fs->ncond, &fs->nlock);
		if (fs->npending == 0 && fs->nstop)
			break;
		if (!fs->nstop) {
			/*
			 * Let a burst of appends gather: one message for many,
			 * and no thread switch per append
			 */
			pthread_mutex_unlock(&fs->nlock);
			clock_sleep_ms(FS_INVAL_GATHER_MS);
			pthread_mutex_lock(&fs->nlock);
		}
		n = fs->npending;
		if (n > 0) {
			batch = xgrow(batch, &cap, n, sizeof(*batch));
			memcpy(batch, fs->pending, n * sizeof(*batch));
		}
		fs->npending = 0;
		nst = fs->nstores;
		stopping = fs->nstop;
		pthread_mutex_unlock(&fs->nlock);
		/*
		 * A copy may be of a write whose answer the kernel has not
		 * taken yet; once it has, it drops that range's pages, a
		 * store made before included
		 */
		if (nst > 0 && !stopping)
			clock_sleep_ms(FS_STORE_DELAY_MS);
		/* under store_lock: a truncation waits, then drops them */
		pthread_mutex_lock(&fs->store_lock);
		pthread_mutex_lock(&fs->nlock);
		nst = fs->nstores;
		if (nst > 0) {
			stores = xgrow(stores, &scap, nst, sizeof(*stores));
			memcpy(stores, fs->stores, nst * sizeof(*stores));
		}
		fs->nstores = 0;
		fs->sbytes = 0;
		pthread_mutex_unlock(&fs->nlock);
		send_stores(fs, stores, nst);
		pthread_mutex_unlock(&fs->store_lock);
		for (size_t i = 0; i < n; i++) {
			x = &batch[i];
			/*
			 * -ENOENT only means the kernel does not know the
			 * inode or name: nothing to drop
			 */
			if (x->name != NULL) {
				fuse_lowlevel_notify_inval_entry(fs->se,
				    (fuse_ino_t)x->ino, x->name, x->namelen);
				free(x->name);
				continue;
			}
			for (j = 0; j < i && (batch[j].ino != x->ino ||
			    batch[j].name != NULL); j++)
				;
			if (j < i)
				continue;	/* a repeat within the batch */
			fuse_lowlevel_notify_inval_inode(fs->se,
			    (fuse_ino_t)x->ino, -1, 0);
		}
		pthread_mutex_lock(&fs->nlock);
	}
	pthread_mutex_unlock(&fs->nlock);
	free(batch);
	free(stores);
	return NULL;
}

/* ---- start and stop ---- */

void
fs_notify_metrics_init(void)
{
	struct metrics *m = metrics_global();

	cache_stored = metric_series(metrics_counter(m,
	    "fuse_page_cache_stored_bytes_total",
	    "Appended bytes put into the kernel's page cache for readers.",
	    NULL));
	cache_skipped = metric_series(metrics_counter(m,
	    "fuse_page_cache_skipped_bytes_total",
	    "Appended bytes not put into the page cache: more were waiting "
	    "than the mount keeps copies of.", NULL));
}

void
fs_notify_start(struct fs *fs)
{
	logs_on_change(fs->l, on_change, fs);
	if (fs->s != NULL)
		series_on_change(fs->s, on_series_change, fs);
	if (!logs_read_only(fs->l) && fs->o.page_cache)
		logs_on_data(fs->l, on_data, fs);
	if (pthread_create(&fs->notifier, NULL, notifier_main, fs) != 0)
		BUG("cannot start a thread");
	fs->nstarted = 1;
}

void
fs_notify_stop(struct fs *fs)
{
	if (!fs->nstarted)
		return;
	pthread_mutex_lock(&fs->nlock);
	fs->nstop = 1;
	pthread_cond_signal(&fs->ncond);
	pthread_mutex_unlock(&fs->nlock);
	pthread_join(fs->notifier, NULL);
}
