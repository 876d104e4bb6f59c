/*
 * zctx.c - per-thread zstd contexts (zctx.h), kept in thread-specific
 * data so that a thread's exit frees them.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>

#include "util/zctx.h"

static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t cctx_key;
static pthread_key_t dctx_key;

static void
cctx_destroy(void *p)
{
	ZSTD_freeCCtx(p);
}

static void
dctx_destroy(void *p)
{
	ZSTD_freeDCtx(p);
}

static void
keys_init(void)
{
	if (pthread_key_create(&cctx_key, cctx_destroy) != 0 ||
	    pthread_key_create(&dctx_key, dctx_destroy) != 0)
		abort();
}

ZSTD_CCtx *
zctx_compress(void)
{
	ZSTD_CCtx *c;

	pthread_once(&key_once, keys_init);
	if ((c = pthread_getspecific(cctx_key)) == NULL &&
	    (c = ZSTD_createCCtx()) != NULL &&
	    pthread_setspecific(cctx_key, c) != 0) {
		ZSTD_freeCCtx(c);
		c = NULL;
	}
	return c;
}

ZSTD_DCtx *
zctx_decompress(void)
{
	ZSTD_DCtx *d;

	pthread_once(&key_once, keys_init);
	if ((d = pthread_getspecific(dctx_key)) == NULL &&
	    (d = ZSTD_createDCtx()) != NULL &&
	    pthread_setspecific(dctx_key, d) != 0) {
		ZSTD_freeDCtx(d);
		d = NULL;
	}
	return d;
}
