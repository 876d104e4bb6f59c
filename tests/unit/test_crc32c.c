/* test_crc32c.c - CRC-32C against published check values. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "util/crc32c.h"

/* RFC 3720 (iSCSI), appendix B.4, and the usual "123456789" check value. */
static void
test_vectors(void **state)
{
	unsigned char b[48];

	(void)state;
	assert_int_equal(crc32c(0, "123456789", 9), 0xe3069283);
	assert_int_equal(crc32c(0, "", 0), 0);
	memset(b, 0, 32);
	assert_int_equal(crc32c(0, b, 32), 0x8a9136aa);
	memset(b, 0xff, 32);
	assert_int_equal(crc32c(0, b, 32), 0x62a8ab43);
	for (int i = 0; i < 32; i++)
		b[i] = (unsigned char)i;
	assert_int_equal(crc32c(0, b, 32), 0x46dd794e);
	for (int i = 0; i < 32; i++)
		b[i] = (unsigned char)(31 - i);
	assert_int_equal(crc32c(0, b, 32), 0x113fdb5c);
}

/* Extending in pieces gives the same as at once, at every split and alignment. */
static void
test_incremental(void **state)
{
	unsigned char b[300];
	uint32_t whole;

	(void)state;
	for (int i = 0; i < 300; i++)
		b[i] = (unsigned char)(i * 31 + 7);
	for (size_t off = 0; off < 9; off++) {
		whole = crc32c(0, b + off, sizeof(b) - off);
		for (size_t split = 0; split <= sizeof(b) - off; split += 13)
			assert_int_equal(crc32c(crc32c(0, b + off, split), b + off + split,
			    sizeof(b) - off - split), whole);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_incremental),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
