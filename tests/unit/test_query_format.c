/* test_query_format.c — query/format.c: times (UTC and local, ms, before 1970), durations,
 * shell quoting of argv, cutting to a width by UTF-8 columns, dot escaping. Expected
 * values are worked out by hand (1700000000123 ms = 2023-11-14 22:13:20.123 UTC). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "format.h"

static void test_time_utc(void **state)
{
	char b[64];

	(void)state;
	assert_string_equal(fmt_time(1700000000123LL, true, true, b, sizeof(b)),
			    "2023-11-14 22:13:20.123Z");
	assert_string_equal(fmt_time(1700000000005LL, true, false, b, sizeof(b)), "22:13:20.005Z");
	assert_string_equal(fmt_time(-1, true, true, b, sizeof(b)), "1969-12-31 23:59:59.999Z");
	assert_string_equal(fmt_time(FMT_NO_TIME, true, true, b, sizeof(b)), "-");
	fmt_time(1700000000123LL, true, true, b, 8); /* truncated, terminated */
	assert_int_equal(strlen(b), 7);
}

static void test_time_local(void **state)
{
	char b[64];

	(void)state;
	setenv("TZ", "Europe/Paris", 1); /* UTC+1 in November */
	tzset();
	assert_string_equal(fmt_time(1700000000123LL, false, true, b, sizeof(b)),
			    "2023-11-14 23:13:20.123");
	setenv("TZ", "UTC", 1);
	tzset();
	assert_string_equal(fmt_time(1700000000123LL, false, false, b, sizeof(b)), "22:13:20.123");
}

static void test_duration(void **state)
{
	char b[32];

	(void)state;
	assert_string_equal(fmt_duration(0, b, sizeof(b)), "0ms");
	assert_string_equal(fmt_duration(950, b, sizeof(b)), "950ms");
	assert_string_equal(fmt_duration(3166, b, sizeof(b)), "3.166s");
	assert_string_equal(fmt_duration(125000, b, sizeof(b)), "2m05s");
	assert_string_equal(fmt_duration(3720000, b, sizeof(b)), "1h02m");
	assert_string_equal(fmt_duration(-5, b, sizeof(b)), "-");
	assert_string_equal(fmt_duration(FMT_NO_TIME, b, sizeof(b)), "-");
}

static void test_argv(void **state)
{
	const char *a1[] = { "sh", "-c", "echo hi > /tmp/x" };
	const char *a2[] = { "printf", "it's", "" };
	const char *a3[] = { "cat", "a\nb\x01" };
	const char *a4[] = { "cat", NULL };
	char b[128], small[6];

	(void)state;
	assert_string_equal(fmt_argv(a1, 3, b, sizeof(b)), "sh -c 'echo hi > /tmp/x'");
	assert_string_equal(fmt_argv(a2, 3, b, sizeof(b)), "printf 'it'\\''s' ''");
	assert_string_equal(fmt_argv(a3, 2, b, sizeof(b)), "cat 'a\\nb\\x01'");
	assert_string_equal(fmt_argv(a4, 2, b, sizeof(b)), "cat ''");
	assert_string_equal(fmt_argv(a1, 0, b, sizeof(b)), "");
	assert_string_equal(fmt_argv(a1, 3, small, sizeof(small)), "sh -c");
}

static void test_fit(void **state)
{
	char s[64];

	(void)state;
	strcpy(s, "abcdef");
	fmt_fit(s, 6);
	assert_string_equal(s, "abcdef");
	fmt_fit(s, 4);
	assert_string_equal(s, "abc\xe2\x80\xa6");
	strcpy(s, "\xe2\x94\x9c\xe2\x94\x80 x"); /* "├─ x": 4 columns, 8 bytes */
	fmt_fit(s, 4);
	assert_string_equal(s, "\xe2\x94\x9c\xe2\x94\x80 x");
	fmt_fit(s, 3); /* " x" is 2 bytes: "~" marks the cut */
	assert_string_equal(s, "\xe2\x94\x9c\xe2\x94\x80~");
	strcpy(s, "\xe2\x94\x9c\xe2\x94\x80 xyz");
	fmt_fit(s, 4);
	assert_string_equal(s, "\xe2\x94\x9c\xe2\x94\x80 \xe2\x80\xa6");
	strcpy(s, "abc");
	fmt_fit(s, 0);
	assert_string_equal(s, "abc");
	fmt_fit(s, 2); /* only 2 bytes after the cut: no room for "…" */
	assert_string_equal(s, "a~");
}

static void test_dot_and_id(void **state)
{
	char b[64];

	(void)state;
	assert_string_equal(fmt_dot_escape("say \"hi\"\\\n", b, sizeof(b)), "say \\\"hi\\\"\\\\\\n");
	assert_string_equal(fmt_short_id("873d55b8b42a024171fbd35ce4c14ec0", b, sizeof(b)),
			    "873d55b8b42a");
	assert_string_equal(fmt_short_id("abc", b, sizeof(b)), "abc");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_utc),  cmocka_unit_test(test_time_local),
		cmocka_unit_test(test_duration),  cmocka_unit_test(test_argv),
		cmocka_unit_test(test_fit),	  cmocka_unit_test(test_dot_and_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
