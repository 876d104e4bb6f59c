/*
 * views.h - saved query views: a name, a PromQL expression and, for a
 * range query, its range and step, kept in the engine beside the log
 * streams and the series, so that they outlive the process and a
 * follower (a reader of the store) sees the writer's. The mount shows
 * them as the directories of query/ (fs/fs_query.c, shale-mount(1),
 * QUERY VIEWS).
 *
 * What a view means is the query floor's business, not this one's: the
 * expression is kept as the bytes it was given, never parsed here (the
 * caller checks it before storing it), and nothing is evaluated or
 * cached. A view is read from the engine each time it is asked for, so
 * a follower sees a change as soon as its engine has applied it, with
 * nothing to hear.
 *
 * Storage (shale-format(5), QUERY VIEWS):
 *
 *	03 01 'V' name		a view -> range_ms(BE64) step_ms(BE64) expr
 *
 * A name is 1 to VIEWS_NAME_MAX bytes of ASCII letters, digits, '_',
 * '-', '.' and ':', not starting with '.': a name a file system and a
 * URL take as it is, and which the mount tells apart from a query's
 * text (fs/fs_query.c). Records never expire.
 *
 * Threading: every function may be called from any thread. The changes
 * of one views are made one at a time (a read, then a write of the
 * record), so two changes of different fields of one view both land.
 */
#ifndef SHALE_VIEWS_H
#define SHALE_VIEWS_H

#include <stddef.h>
#include <stdint.h>

struct engine;
struct views;

#define VIEWS_NAME_MAX		200		/* bytes of a name */
#define VIEWS_EXPR_MAX		(256 * 1024)	/* bytes of an expression */

/* A view as stored: the caller's, freed by view_release(). */
struct view {
	char		*name;
	char		*expr;		/* "" for a view made and not yet given one */
	size_t		 expr_len;
	int64_t		 range_ms;	/* 0: an instant query */
	int64_t		 step_ms;	/* 0: not set */
};

/* The views of an open engine (writer or reader), which stays the caller's. */
int	views_open(struct engine *e, struct views **out);
void	views_close(struct views *v);

/* 0 if name may name a view, else -EINVAL with err_set() saying why. */
int	views_check_name(const char *name, size_t len);

/* The view `name`: 0, -ENOENT, or the engine's error (-EIO ...). */
int	views_get(struct views *v, const char *name, struct view *out);
void	view_release(struct view *vw);

/* fn(arg, name, len) for each view in name order; non-zero stops and is returned. */
typedef int (*views_name_fn)(void *arg, const char *name, size_t len);
int	views_each(struct views *v, views_name_fn fn, void *arg);

/*
 * Changes, each one engine batch: 0, or -EINVAL (a bad name, a value out
 * of range), -EEXIST (views_make of a view there is), -ENOENT (a change
 * of one there is not), -EROFS (a reader), or the engine's error; with
 * err_set(). A new view has an empty expression and no range nor step.
 */
int	views_make(struct views *v, const char *name);
int	views_remove(struct views *v, const char *name);
int	views_set_expr(struct views *v, const char *name, const char *expr,
	    size_t len);
/* range_ms and step_ms: 0 unsets them; negative is -EINVAL. */
int	views_set_range(struct views *v, const char *name, int64_t range_ms);
int	views_set_step(struct views *v, const char *name, int64_t step_ms);

#endif
