/*
 * error.h - shale's error codes and the per-thread error detail.
 *
 * Functions return int: 0 on success, or a negative code. A code is either
 * a negated errno (-ENOENT, -EEXIST, -ETIMEDOUT ...) or one of the SHALE_E*
 * values below, which name conditions errno has no word for.
 * shale_strerror() names any of them.
 *
 * Beside the code, the function that fails first may leave a sentence for
 * the user with err_set(): for an S3 error it names the operation, the key,
 * the HTTP status, S3's error code and message and the request id. The
 * detail is per thread and lives until the next err_set() or err_clear() on
 * that thread; err_detail() returns it (never NULL).
 */
#ifndef SHALE_ERROR_H
#define SHALE_ERROR_H

enum {
	SHALE_EUNKNOWN	= -1000,	/* outcome of a conditional write unknown: re-read */
	SHALE_ESTORE	= -1001,	/* the object store refused the request */
	SHALE_ECORRUPT	= -1002,	/* bytes failed a check (CRC, format) */
	SHALE_EFENCED	= -1003,	/* another writer owns the store */
	SHALE_ENOBUCKET	= -1004,	/* the bucket does not exist */
	SHALE_EAUTH	= -1005,	/* credentials missing or refused */
	SHALE_ETRANSIENT = -1006,	/* a failure worth retrying (5xx, 429) */
	SHALE_EURI	= -1007,	/* a store URI that cannot be parsed */
	SHALE_ECONN	= -1008,	/* cannot connect or connection lost */
};

const char *shale_strerror(int code);

/* Record a detail for the current thread and return `code` unchanged. */
int	err_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void	err_clear(void);
/* The current thread's detail, or "" if none was set. */
const char *err_detail(void);
/* "detail" if a detail was set, else shale_strerror(code). */
const char *err_message(int code);

/* True for the codes a retrying caller may try again. */
int	err_is_transient(int code);

#endif
