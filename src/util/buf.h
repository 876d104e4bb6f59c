/*
 * buf.h - a growable byte buffer with a ceiling.
 *
 * A buf owns its bytes and keeps them NUL-terminated (the NUL is not counted
 * in len), so text can be used as a C string. Every buf has a maximum size
 * (BUF_MAX_DEFAULT unless set): an append that would pass it fails with
 * -EFBIG and leaves the buffer as it was, so a peer that sends too much
 * cannot make us grow without bound. Not thread-safe: one owner at a time.
 */
#ifndef SHALE_BUF_H
#define SHALE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#define BUF_MAX_DEFAULT ((size_t)1 << 34)	/* 16 GiB */

struct buf {
	char	*data;		/* NULL until the first append */
	size_t	 len;
	size_t	 cap;
	size_t	 max;		/* 0 means BUF_MAX_DEFAULT */
};

void	buf_init(struct buf *b, size_t max);
void	buf_release(struct buf *b);
void	buf_reset(struct buf *b);	/* len = 0, keeps memory */
int	buf_reserve(struct buf *b, size_t extra);
int	buf_append(struct buf *b, const void *p, size_t n);
int	buf_puts(struct buf *b, const char *s);
int	buf_putc(struct buf *b, char c);
int	buf_printf(struct buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
int	buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	    __attribute__((format(printf, 2, 0)));
/* Take the bytes: the caller frees the result; the buf is left empty. */
char	*buf_detach(struct buf *b, size_t *lenp);
/* Always a valid C string, "" when empty. */
const char *buf_str(const struct buf *b);

/*
 * Bytes for people, in b (reset first): printable ASCII as it is, other
 * bytes and the backslash as \xNN. Returns buf_str(b), valid until b
 * changes.
 */
const char *buf_escape(struct buf *b, const void *p, size_t n);

#endif
