/*
 * test_views.c - saved query views (src/model/views.c) over a file://
 * engine.
 *
 * Exercises: names (the characters taken, a leading '.', the length);
 * make, a second make (EEXIST), get of a view there is not (ENOENT);
 * each field set on its own, the others kept; an expression of any
 * bytes, and its most; negative durations refused; the listing in name
 * order beside other models' keys; remove, and changes of a view
 * removed; everything as it was after a reopen; a reader seeing a view
 * made, changed and removed after it opened, and refusing changes with
 * EROFS.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/lsm/engine.h"
#include "engine/lsm/settings.h"
#include "engine/objstore/objstore.h"
#include "model/views.h"
#include "tests/unit/scratch.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/xmalloc.h"

static char	scratch[PATH_MAX];
static int	nstores;

struct store {
	char		 uri[PATH_MAX + 32];
	struct engine	*e;
	struct views	*v;
};

static void
store_open(struct store *st, enum engine_mode mode)
{
	struct engine_settings es;
	struct objstore_opts so;

	engine_settings_default(&es);
	es.flush_interval_ms = 10;
	es.manifest_poll_interval_ms = 20;
	memset(&so, 0, sizeof(so));
	so.no_fsync = 1;
	assert_int_equal(engine_open(st->uri, &so, &es, mode, &st->e), 0);
	engine_settings_release(&es);
	assert_int_equal(views_open(st->e, &st->v), 0);
}

static void
store_new(struct store *st)
{
	snprintf(st->uri, sizeof(st->uri), "file://%s/store%d", scratch,
	    nstores++);
	store_open(st, ENGINE_WRITER);
}

static void
store_close(struct store *st)
{
	views_close(st->v);
	st->v = NULL;
	assert_int_equal(engine_close(st->e), 0);
	st->e = NULL;
}

static int
collect(void *arg, const char *name, size_t len)
{
	struct buf *b = arg;

	buf_append(b, name, len);
	buf_putc(b, ' ');
	return 0;
}

/* The names of every view, each followed by a space. */
static char *
names(struct views *v)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(views_each(v, collect, &b), 0);
	buf_putc(&b, '\0');
	return buf_detach(&b, NULL);
}

static void
expect(struct views *v, const char *name, const char *expr, int64_t range,
    int64_t step)
{
	struct view vw;

	assert_int_equal(views_get(v, name, &vw), 0);
	assert_string_equal(vw.name, name);
	assert_string_equal(vw.expr, expr);
	assert_int_equal(vw.expr_len, strlen(expr));
	assert_int_equal(vw.range_ms, range);
	assert_int_equal(vw.step_ms, step);
	view_release(&vw);
}

static void
test_names(void **state)
{
	char longest[VIEWS_NAME_MAX + 2];

	(void)state;
	assert_int_equal(views_check_name("errors", 6), 0);
	assert_int_equal(views_check_name("a-b_c.d:E9", 10), 0);
	assert_int_equal(views_check_name("", 0), -EINVAL);
	assert_int_equal(views_check_name(".hidden", 7), -EINVAL);
	assert_int_equal(views_check_name("a b", 3), -EINVAL);
	assert_int_equal(views_check_name("a/b", 3), -EINVAL);
	assert_int_equal(views_check_name("sum(x)", 6), -EINVAL);
	assert_int_equal(views_check_name("a\0b", 3), -EINVAL);
	memset(longest, 'x', sizeof(longest));
	assert_int_equal(views_check_name(longest, VIEWS_NAME_MAX), 0);
	assert_int_equal(views_check_name(longest, VIEWS_NAME_MAX + 1), -EINVAL);
}

static void
test_changes(void **state)
{
	struct store w = { 0 };
	struct view vw;
	char *big, *s;

	(void)state;
	store_new(&w);
	s = names(w.v);
	assert_string_equal(s, "");
	free(s);
	assert_int_equal(views_get(w.v, "errors", &vw), -ENOENT);
	assert_int_equal(views_make(w.v, "errors"), 0);
	assert_int_equal(views_make(w.v, "errors"), -EEXIST);
	assert_int_equal(views_make(w.v, "bad name"), -EINVAL);
	expect(w.v, "errors", "", 0, 0);
	assert_int_equal(views_set_expr(w.v, "errors", "sum(up)", 7), 0);
	assert_int_equal(views_set_range(w.v, "errors", 3600000), 0);
	assert_int_equal(views_set_step(w.v, "errors", 15000), 0);
	expect(w.v, "errors", "sum(up)", 3600000, 15000);
	assert_int_equal(views_set_range(w.v, "errors", 0), 0);
	expect(w.v, "errors", "sum(up)", 0, 15000);
	assert_int_equal(views_set_step(w.v, "errors", -1), -EINVAL);
	assert_int_equal(views_set_expr(w.v, "nothing", "up", 2), -ENOENT);
	/* an expression is bytes: a newline, a NUL, up to its most */
	assert_int_equal(views_set_expr(w.v, "errors", "a\nb", 3), 0);
	expect(w.v, "errors", "a\nb", 0, 15000);
	big = xmalloc(VIEWS_EXPR_MAX + 1);
	memset(big, 'x', VIEWS_EXPR_MAX + 1);
	assert_int_equal(views_set_expr(w.v, "errors", big, VIEWS_EXPR_MAX), 0);
	assert_int_equal(views_get(w.v, "errors", &vw), 0);
	assert_int_equal(vw.expr_len, VIEWS_EXPR_MAX);
	view_release(&vw);
	assert_int_equal(views_set_expr(w.v, "errors", big,
	    VIEWS_EXPR_MAX + 1), -EINVAL);
	free(big);
	assert_int_equal(views_set_expr(w.v, "errors", "rate(x[5m])", 11), 0);
	/* listed in name order */
	assert_int_equal(views_make(w.v, "b"), 0);
	assert_int_equal(views_make(w.v, "a:z"), 0);
	assert_int_equal(views_make(w.v, "zz"), 0);
	s = names(w.v);
	assert_string_equal(s, "a:z b errors zz ");
	free(s);
	assert_int_equal(views_remove(w.v, "b"), 0);
	assert_int_equal(views_remove(w.v, "b"), -ENOENT);
	assert_int_equal(views_set_step(w.v, "b", 1000), -ENOENT);
	assert_int_equal(views_get(w.v, "b", &vw), -ENOENT);
	s = names(w.v);
	assert_string_equal(s, "a:z errors zz ");
	free(s);
	/* a reopen keeps them */
	store_close(&w);
	store_open(&w, ENGINE_WRITER);
	s = names(w.v);
	assert_string_equal(s, "a:z errors zz ");
	free(s);
	expect(w.v, "errors", "rate(x[5m])", 0, 15000);
	store_close(&w);
}

/* Wait (10 s at most) until fn(v) is true. */
static int
eventually(struct views *v, int (*fn)(struct views *))
{
	int64_t due = clock_mono_ns() + 10 * (int64_t)1000000000;

	while (!fn(v) && clock_mono_ns() < due)
		clock_sleep_ms(10);
	return fn(v);
}

static int
has_later(struct views *v)
{
	struct view vw;
	int yes = views_get(v, "later", &vw) == 0 && vw.step_ms == 2000;

	view_release(&vw);
	return yes;
}

static int
first_gone(struct views *v)
{
	struct view vw;

	return views_get(v, "first", &vw) == -ENOENT;
}

static void
test_follower(void **state)
{
	struct store w = { 0 }, r = { 0 };

	(void)state;
	store_new(&w);
	assert_int_equal(views_make(w.v, "first"), 0);
	assert_int_equal(views_set_expr(w.v, "first", "up", 2), 0);
	assert_int_equal(engine_flush(w.e), 0);
	memcpy(r.uri, w.uri, sizeof(r.uri));
	store_open(&r, ENGINE_READER);
	expect(r.v, "first", "up", 0, 0);
	assert_int_equal(views_make(w.v, "later"), 0);
	assert_int_equal(views_set_step(w.v, "later", 2000), 0);
	assert_int_equal(views_remove(w.v, "first"), 0);
	assert_int_equal(engine_flush(w.e), 0);
	assert_true(eventually(r.v, has_later));
	assert_true(eventually(r.v, first_gone));
	assert_int_equal(views_make(r.v, "mine"), -EROFS);
	assert_int_equal(views_set_expr(r.v, "later", "up", 2), -EROFS);
	assert_int_equal(views_remove(r.v, "later"), -EROFS);
	store_close(&r);
	store_close(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_changes),
		cmocka_unit_test(test_follower),
	};
	int rc;

	if (scratch_make(scratch, sizeof(scratch), "views") != 0) {
		perror("mkdtemp");
		return 1;
	}
	setenv("XDG_CACHE_HOME", scratch, 1);
	log_set_level(LOG_WARN);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	scratch_remove(scratch);
	return rc;
}
