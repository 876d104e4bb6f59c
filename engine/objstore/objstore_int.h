/*
 * objstore_int.h - what a backend or a layer of the object store provides.
 *
 * Each backend and layer is a struct objstore whose `ops` table holds its
 * operations; layers keep the store below in `inner`. The public functions
 * in objstore.c check arguments and call through the outermost table.
 */
#ifndef SHALE_OBJSTORE_INT_H
#define SHALE_OBJSTORE_INT_H

#include "engine/objstore/objstore.h"

struct objstore_ops {
	const char *name;
	int	(*get)(struct objstore *, const char *, uint64_t, uint64_t,
		    struct buf *);
	int	(*put)(struct objstore *, const char *, const void *, size_t);
	int	(*put_if_absent)(struct objstore *, const char *, const void *,
		    size_t);
	int	(*head)(struct objstore *, const char *, struct objstore_meta *);
	int	(*list)(struct objstore *, const char *, const char *, size_t,
		    struct objstore_list *);
	int	(*delete)(struct objstore *, const char *);
	int	(*delete_batch)(struct objstore *, const char *const *, size_t);
	void	(*close)(struct objstore *);
};

struct objstore {
	const struct objstore_ops *ops;
	struct objstore	*inner;		/* the store below a layer, or NULL */
	char		*uri;
};

/* Backends and layers; each returns a struct objstore it allocated. */
int	objstore_file_open(const char *path, const struct objstore_opts *o,
	    struct objstore **out);
int	objstore_s3_open(const char *bucket, const char *prefix,
	    const struct objstore_opts *o, struct objstore **out);
/* The fault layer's inner store may be set after it is opened. */
int	objstore_fault_open(const char *spec, struct objstore *inner,
	    struct objstore **out);
int	objstore_retry_open(struct objstore *inner, const struct objstore_opts *o,
	    struct objstore **out);
int	objstore_count_open(struct objstore *inner, const struct objstore_opts *o,
	    struct objstore **out);
/* The disk cache (objstore_cache.c); a directory it cannot use turns it off. */
int	objstore_cache_open(struct objstore *inner, const struct objstore_opts *o,
	    const char *uri, struct objstore **out);

/* Append an entry to a listing page. */
void	objstore_list_add(struct objstore_list *l, const char *key,
	    size_t keylen, uint64_t size, int64_t mtime);

/* A parsed store URI (objstore_uri_parse). */
enum objstore_scheme { OBJSTORE_FILE, OBJSTORE_S3, OBJSTORE_FAULT };
struct objstore_uri {
	enum objstore_scheme scheme;
	char	*path;		/* file: the directory */
	char	*bucket;	/* s3 */
	char	*prefix;	/* s3: "" or ending in '/' */
	char	*fault_spec;	/* fault: the options */
	char	*inner;		/* fault: the wrapped URI */
};
int	objstore_uri_parse(const char *uri, struct objstore_uri *u);
void	objstore_uri_release(struct objstore_uri *u);

#endif
