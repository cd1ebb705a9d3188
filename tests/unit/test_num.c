/* test_num.c — num_parse_u64: what command lines may and may not give. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "num.h"

static void test_accepts(void **state)
{
	uint64_t v = 7;

	(void)state;
	assert_int_equal(num_parse_u64("0", 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(num_parse_u64("4096", 4096, &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(num_parse_u64("18446744073709551615", UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
}

static void test_refuses(void **state)
{
	static const char *const bad[] = { "", "-1", "+1", " 1", "1 ", "1x", "0x10", "4097",
					   "18446744073709551616", "1e3" };
	uint64_t v = 7;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(num_parse_u64(bad[i], 4096, &v), -EINVAL);
		assert_int_equal(v, 7); /* untouched on failure */
	}
	assert_int_equal(num_parse_u64(NULL, 1, &v), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_refuses),
	};

	return cmocka_run_group_tests_name("num", tests, NULL, NULL);
}
