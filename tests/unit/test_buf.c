/*
 * test_buf.c - growable byte buffers.
 *
 * Exercises: buf_append, buf_puts, buf_putc and buf_printf, NUL termination
 * after every append, buf_str on an empty buffer, the ceiling (an append
 * past it fails with -EFBIG and leaves the buffer unchanged), buf_detach and
 * buf_reset keeping its memory.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/buf.h"

static void
test_empty(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.max, BUF_MAX_DEFAULT);
	assert_string_equal(buf_str(&b), "");
	buf_release(&b);
	assert_null(b.data);
}

static void
test_append(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(buf_append(&b, "abc", 3), 0);
	assert_int_equal(b.len, 3);
	assert_int_equal(b.data[3], '\0');
	assert_int_equal(buf_puts(&b, "def"), 0);
	assert_int_equal(buf_putc(&b, '-'), 0);
	assert_int_equal(buf_printf(&b, "%d:%s:%03x", 42, "x", 0xa), 0);
	assert_string_equal(buf_str(&b), "abcdef-42:x:00a");
	assert_int_equal(b.len, strlen("abcdef-42:x:00a"));
	assert_int_equal(b.data[b.len], '\0');

	/* Zero-length appends succeed and change nothing. */
	assert_int_equal(buf_append(&b, NULL, 0), 0);
	assert_int_equal(buf_puts(&b, ""), 0);
	assert_int_equal(buf_printf(&b, "%s", ""), 0);
	assert_string_equal(buf_str(&b), "abcdef-42:x:00a");

	/* Binary bytes with embedded NULs count in len. */
	buf_reset(&b);
	assert_int_equal(buf_append(&b, "a\0b", 3), 0);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "a\0b\0", 4);
	buf_release(&b);
}

static void
test_grow(void **state)
{
	struct buf b;
	char line[32];
	size_t i;

	(void)state;
	buf_init(&b, 0);
	for (i = 0; i < 1000; i++)
		assert_int_equal(buf_printf(&b, "%05zu\n", i), 0);
	assert_int_equal(b.len, 6000);
	assert_true(b.cap > b.len);
	assert_int_equal(b.data[b.len], '\0');
	for (i = 0; i < 1000; i++) {
		snprintf(line, sizeof(line), "%05zu\n", i);
		assert_memory_equal(b.data + i * 6, line, 6);
	}
	buf_release(&b);
}

static void
test_ceiling(void **state)
{
	struct buf b;
	char *before;

	(void)state;
	buf_init(&b, 10);
	assert_int_equal(buf_puts(&b, "0123456"), 0);
	before = strdup(buf_str(&b));

	assert_int_equal(buf_puts(&b, "7890"), -EFBIG);
	assert_int_equal(b.len, 7);
	assert_string_equal(buf_str(&b), before);

	assert_int_equal(buf_printf(&b, "%s", "abcd"), -EFBIG);
	assert_int_equal(b.len, 7);
	assert_string_equal(buf_str(&b), before);

	assert_int_equal(buf_append(&b, "xxxxxxxxxxxxxxxxxxxxx", 21), -EFBIG);
	assert_int_equal(buf_reserve(&b, (size_t)-1), -EFBIG);
	assert_int_equal(b.len, 7);
	assert_string_equal(buf_str(&b), before);

	/* Up to the ceiling exactly is fine; one byte more is not. */
	assert_int_equal(buf_puts(&b, "789"), 0);
	assert_int_equal(b.len, 10);
	assert_string_equal(buf_str(&b), "0123456789");
	assert_int_equal(buf_putc(&b, 'x'), -EFBIG);
	assert_int_equal(b.len, 10);
	assert_string_equal(buf_str(&b), "0123456789");

	/* An empty buffer cannot take more than the ceiling at once either. */
	buf_reset(&b);
	assert_int_equal(buf_append(&b, "01234567890", 11), -EFBIG);
	assert_int_equal(b.len, 0);
	assert_string_equal(buf_str(&b), "");

	free(before);
	buf_release(&b);
}

static void
test_detach(void **state)
{
	struct buf b;
	size_t len;
	char *p;

	(void)state;
	buf_init(&b, 0);
	buf_puts(&b, "hello");
	p = buf_detach(&b, &len);
	assert_string_equal(p, "hello");
	assert_int_equal(len, 5);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_string_equal(buf_str(&b), "");
	free(p);

	/* The buf is usable again, and detaching an empty one gives "". */
	buf_puts(&b, "again");
	assert_string_equal(buf_str(&b), "again");
	buf_release(&b);
	p = buf_detach(&b, &len);
	assert_non_null(p);
	assert_string_equal(p, "");
	assert_int_equal(len, 0);
	free(p);
	p = buf_detach(&b, NULL);
	assert_string_equal(p, "");
	free(p);
}

static void
test_reset(void **state)
{
	struct buf b;
	char *data;
	size_t cap;

	(void)state;
	buf_init(&b, 0);
	buf_printf(&b, "%0500d", 7);
	data = b.data;
	cap = b.cap;
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_ptr_equal(b.data, data);
	assert_int_equal(b.cap, cap);
	assert_string_equal(buf_str(&b), "");
	buf_puts(&b, "short");
	assert_ptr_equal(b.data, data);
	assert_string_equal(buf_str(&b), "short");
	buf_release(&b);

	/* Resetting a buffer that never held anything is harmless. */
	buf_init(&b, 0);
	buf_reset(&b);
	assert_null(b.data);
	assert_string_equal(buf_str(&b), "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_append),
		cmocka_unit_test(test_grow),
		cmocka_unit_test(test_ceiling),
		cmocka_unit_test(test_detach),
		cmocka_unit_test(test_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
