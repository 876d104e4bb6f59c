/* error.c - error names and the per-thread error detail. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

static _Thread_local char detail[1024];

const char *
shale_strerror(int code)
{
	switch (code) {
	case 0:			return "success";
	case SHALE_EUNKNOWN:	return "outcome of conditional write unknown";
	case SHALE_ESTORE:	return "object store error";
	case SHALE_ECORRUPT:	return "data corrupted";
	case SHALE_EFENCED:	return "fenced by a newer writer";
	case SHALE_ENOBUCKET:	return "no such bucket";
	case SHALE_EAUTH:	return "access denied";
	case SHALE_ETRANSIENT:	return "temporary object store failure";
	case SHALE_EURI:	return "invalid store URI";
	case SHALE_ECONN:	return "cannot reach the object store";
	}
	if (code < 0 && code > -4096)
		return strerror(-code);
	return "unknown error";
}

int
err_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	return code;
}

void
err_clear(void)
{
	detail[0] = '\0';
}

const char *
err_detail(void)
{
	return detail;
}

const char *
err_message(int code)
{
	return detail[0] ? detail : shale_strerror(code);
}

int
err_is_transient(int code)
{
	switch (code) {
	case SHALE_ETRANSIENT:
	case SHALE_ECONN:
	case -ETIMEDOUT:
	case -ECONNRESET:
	case -EAGAIN:
		return 1;
	}
	return 0;
}
