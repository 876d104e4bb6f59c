/*
 * zctx.h - one zstd context of each kind per thread.
 *
 * Making a context costs its memory anew each time; a thread that
 * compresses or decompresses often (an uploader, a reader of tables)
 * keeps one of each, made on first use and freed when the thread exits.
 * The caller resets the parameters it needs before each use: whatever the
 * last user set stays set.
 *
 * Each thread gets its own contexts: never hand one to another thread.
 */
#ifndef SHALE_ZCTX_H
#define SHALE_ZCTX_H

#include <zstd.h>

/* The calling thread's contexts; NULL when zstd could not make one. */
ZSTD_CCtx	*zctx_compress(void);
ZSTD_DCtx	*zctx_decompress(void);

#endif
