/*
 * fs_xattr.c - the extended attributes of the mount, on stream files:
 * user.shale.retention (below) and user.shale.labels, the labels given
 * to the stream (logs_labels_get and _set), as a PromQL label set:
 *
 *	{app="api", env="prod"}
 *
 * sorted by name, values in double quotes with \\, \" and \n escaped.
 * setxattr takes the same syntax, as selector_parse() reads it (any
 * quoting and spacing it knows, '=' only, no name twice); "{}" or an
 * empty value clears, as removexattr does. A bad value is EINVAL and
 * changes nothing.
 *
 * user.shale.retention is the stream's own retention (logs_retention_get
 * and _set), which wins over logs_options: a duration as the settings
 * write them ("7d", "12h", "500ms"; "0" keeps for ever), read back in
 * the largest unit that divides it; an empty value clears it, as
 * removexattr does. Every other name is ENODATA to read and ENOTSUP to
 * set, and directories and the virtual files have none: the kernel
 * asks for security.capability before writes, and that answer costs
 * no lookup.
 *
 * Not here: what labels a stream has beside these (stream=, logs.h).
 * Threading: as every operation (fs.c); nothing kept between calls.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "fs/fs_int.h"
#include "model/labels.h"
#include "model/matcher.h"
#include "util/buf.h"
#include "util/error.h"

#define XATTR_LABELS	"user.shale.labels"
#define XATTR_RETENTION	"user.shale.retention"

/* Is ino a stored stream? 0, or the errno for an xattr there. */
static int
stream_ino(struct fs *fs, fuse_ino_t ino)
{
	struct logs_attr a;
	int rc;

	if (!stored(ino))
		return ENOTSUP;
	if ((rc = logs_getattr(fs->l, ino, &a)) != 0)
		return -rc;
	return a.type == LOGS_STREAM ? 0 : ENOTSUP;
}

/* Append v as a PromQL string: "...", with \\, \" and \n escaped. */
static void
quote(struct buf *b, const char *v, size_t n)
{
	buf_putc(b, '"');
	for (size_t i = 0; i < n; i++) {
		if (v[i] == '\\' || v[i] == '"')
			buf_putc(b, '\\');
		if (v[i] == '\n')
			buf_puts(b, "\\n");
		else
			buf_putc(b, v[i]);
	}
	buf_putc(b, '"');
}

static void
format(const struct labels *ls, struct buf *b)
{
	buf_putc(b, '{');
	for (size_t i = 0; i < labels_count(ls); i++) {
		const struct label *p = labels_at(ls, i);

		if (i > 0)
			buf_puts(b, ", ");
		buf_append(b, p->name, p->name_len);
		buf_putc(b, '=');
		quote(b, p->value, p->value_len);
	}
	buf_putc(b, '}');
}

/* Whether n bytes at s are only white space and at most one pair of {}. */
static int
empty_set(const char *s, size_t n)
{
	int open = 0, close = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '{' && !open && !close)
			open = 1;
		else if (s[i] == '}' && open && !close)
			close = 1;
		else if (strchr(" \t\r\n", s[i]) == NULL || s[i] == '\0')
			return 0;
	}
	return open == close;
}

/* Parse a value of setxattr into *out (NULL: none): 0 or -EINVAL. */
static int
parse(const char *s, size_t n, struct labels **out)
{
	struct label pairs[SELECTOR_MATCHERS_MAX];
	struct selector *sel;
	size_t k;
	int rc;

	*out = NULL;
	if (empty_set(s, n))
		return 0;
	if ((rc = selector_parse(s, n, &sel)) != 0)
		return rc;
	k = selector_count(sel);
	for (size_t i = 0; i < k; i++) {
		const struct matcher *m = selector_at(sel, i);

		if (matcher_op(m) != MATCHER_EQ) {
			selector_free(sel);
			return err_set(-EINVAL, "labels take '=' only");
		}
		pairs[i].name = matcher_name(m);
		pairs[i].name_len = strlen(pairs[i].name);
		pairs[i].value = matcher_value(m, &pairs[i].value_len);
	}
	rc = labels_new(pairs, k, LABELS_RESERVED, out);
	selector_free(sel);
	return rc;
}

/*
 * Reply with a value or a list of names as getxattr(2) and listxattr(2)
 * do: its length when asked with size 0, ERANGE when it does not fit.
 */
static void
reply_value(fuse_req_t req, const struct buf *b, size_t size)
{
	if (size == 0)
		fuse_reply_xattr(req, b->len);
	else if (size < b->len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, b->len > 0 ? b->data : "", b->len);
}

static void
get_retention(fuse_req_t req, struct fs *fs, fuse_ino_t ino, size_t size)
{
	struct buf b;
	int64_t ms;
	int rc;

	if ((rc = logs_retention_get(fs->l, ino, &ms)) != 0 || ms < 0) {
		fuse_reply_err(req, rc != 0 ? -rc : ENODATA);
		return;
	}
	buf_init(&b, 0);
	logs_retention_format(ms, &b);
	reply_value(req, &b, size);
	buf_release(&b);
}

static int
set_retention(struct fs *fs, fuse_ino_t ino, const char *value, size_t size,
    int flags)
{
	int64_t ms, had;
	int rc;

	if (logs_retention_parse(value, size, &ms) != 0)
		return -EINVAL;
	if (flags & (XATTR_CREATE | XATTR_REPLACE)) {
		if ((rc = logs_retention_get(fs->l, ino, &had)) != 0)
			return rc;
		if ((flags & XATTR_CREATE) && had >= 0)
			return -EEXIST;
		if ((flags & XATTR_REPLACE) && had < 0)
			return -ENODATA;
	}
	return logs_retention_set(fs->l, ino, ms);
}

void
op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct fs *fs = fs_of(req);
	struct labels *ls = NULL;
	struct buf b;
	int rc;
	OP_TIMED("getxattr");

	if (strcmp(name, XATTR_LABELS) != 0 &&
	    strcmp(name, XATTR_RETENTION) != 0) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	if ((rc = stream_ino(fs, ino)) != 0) {
		fuse_reply_err(req, rc == ENOTSUP ? ENODATA : rc);
		return;
	}
	if (strcmp(name, XATTR_RETENTION) == 0) {
		get_retention(req, fs, ino, size);
		return;
	}
	if ((rc = logs_labels_get(fs->l, ino, &ls)) != 0 || ls == NULL) {
		fuse_reply_err(req, rc != 0 ? -rc : ENODATA);
		return;
	}
	buf_init(&b, 0);
	format(ls, &b);
	labels_free(ls);
	reply_value(req, &b, size);
	buf_release(&b);
}

void
op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
    const char *value, size_t size, int flags)
{
	struct fs *fs = fs_of(req);
	struct labels *ls = NULL, *had = NULL;
	int rc;
	OP_TIMED("setxattr");

	if (strcmp(name, XATTR_LABELS) != 0 &&
	    strcmp(name, XATTR_RETENTION) != 0) {
		fuse_reply_err(req, ENOTSUP);
		return;
	}
	if ((rc = stream_ino(fs, ino)) != 0) {
		fuse_reply_err(req, rc);
		return;
	}
	if (fs->o.read_only || logs_read_only(fs->l)) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (strcmp(name, XATTR_RETENTION) == 0) {
		fuse_reply_err(req, -set_retention(fs, ino, value, size, flags));
		return;
	}
	if (parse(value, size, &ls) != 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (flags & (XATTR_CREATE | XATTR_REPLACE)) {
		if ((rc = logs_labels_get(fs->l, ino, &had)) != 0)
			goto out;
		if ((flags & XATTR_CREATE) && had != NULL)
			rc = -EEXIST;
		else if ((flags & XATTR_REPLACE) && had == NULL)
			rc = -ENODATA;
		labels_free(had);
		if (rc != 0)
			goto out;
	}
	rc = logs_labels_set(fs->l, ino, ls);
out:
	labels_free(ls);
	fuse_reply_err(req, -rc);
}

void
op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct fs *fs = fs_of(req);
	struct labels *ls = NULL;
	struct buf b;
	int64_t ms = -1;
	int rc;
	OP_TIMED("listxattr");

	if ((rc = stream_ino(fs, ino)) != 0 && rc != ENOTSUP) {
		fuse_reply_err(req, rc);
		return;
	}
	if (rc == 0 && ((rc = -logs_labels_get(fs->l, ino, &ls)) != 0 ||
	    (rc = -logs_retention_get(fs->l, ino, &ms)) != 0)) {
		labels_free(ls);
		fuse_reply_err(req, rc);
		return;
	}
	buf_init(&b, 0);
	if (ls != NULL)		/* each name with its NUL */
		buf_append(&b, XATTR_LABELS, sizeof(XATTR_LABELS));
	if (ms >= 0)
		buf_append(&b, XATTR_RETENTION, sizeof(XATTR_RETENTION));
	labels_free(ls);
	reply_value(req, &b, size);
	buf_release(&b);
}

void
op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct fs *fs = fs_of(req);
	struct labels *had = NULL;
	int rc;
	OP_TIMED("removexattr");

	if (strcmp(name, XATTR_LABELS) != 0 &&
	    strcmp(name, XATTR_RETENTION) != 0) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	if ((rc = stream_ino(fs, ino)) != 0) {
		fuse_reply_err(req, rc == ENOTSUP ? ENODATA : rc);
		return;
	}
	if (fs->o.read_only || logs_read_only(fs->l)) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (strcmp(name, XATTR_RETENTION) == 0) {
		int64_t ms;

		if ((rc = logs_retention_get(fs->l, ino, &ms)) == 0)
			rc = ms < 0 ? -ENODATA : logs_retention_set(fs->l, ino, -1);
		fuse_reply_err(req, -rc);
		return;
	}
	if ((rc = logs_labels_get(fs->l, ino, &had)) == 0)
		rc = had == NULL ? -ENODATA : logs_labels_set(fs->l, ino, NULL);
	labels_free(had);
	fuse_reply_err(req, -rc);
}
