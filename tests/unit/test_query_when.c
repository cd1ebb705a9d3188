/* test_query_when.c — query/when.c: every time form of --since/--until against a fixed clock
 * (now = 1700000000123 ms = 2023-11-14 22:13:20.123 UTC, worked out by hand), in UTC and in
 * a fixed-offset local zone (TZ=UTC-2: local = UTC + 2 h, no tzdata needed), and the forms
 * it must refuse. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "when.h"

#define NOW 1700000000123LL
#define MIDNIGHT_UTC 1699920000000LL /* 2023-11-14 00:00:00 UTC */

static int64_t ok(const char *s, bool utc, bool want_rel)
{
	int64_t ms = 0;
	bool rel = !want_rel;

	assert_int_equal(when_parse(s, utc, NOW, &ms, &rel), 0);
	assert_int_equal(rel, want_rel);
	return ms;
}

static void bad(const char *s)
{
	int64_t ms;
	bool rel;

	assert_int_equal(when_parse(s, true, NOW, &ms, &rel), -EINVAL);
}

static void test_relative_now(void **state)
{
	(void)state;
	assert_int_equal(ok("-10m", true, false), NOW - 600000);
	assert_int_equal(ok("-10min", true, false), NOW - 600000);
	assert_int_equal(ok("-90", true, false), NOW - 90000);
	assert_int_equal(ok("-250ms", true, false), NOW - 250);
	assert_int_equal(ok("-2h", true, false), NOW - 7200000);
	assert_int_equal(ok("-1d", true, false), NOW - 86400000);
	assert_int_equal(ok("now", true, false), NOW);
	/* after the container's start: the caller adds it */
	assert_int_equal(ok("+150ms", true, true), 150);
	assert_int_equal(ok("+2m", true, true), 120000);
	assert_int_equal(ok("+3", true, true), 3000);
}

static void test_days_and_clock_utc(void **state)
{
	(void)state;
	assert_int_equal(ok("today", true, false), MIDNIGHT_UTC);
	assert_int_equal(ok("yesterday", true, false), MIDNIGHT_UTC - 86400000);
	assert_int_equal(ok("13:12", true, false), MIDNIGHT_UTC + (13 * 3600 + 12 * 60) * 1000LL);
	assert_int_equal(ok("13:12:36.797", true, false),
			 MIDNIGHT_UTC + (13 * 3600 + 12 * 60 + 36) * 1000LL + 797);
	assert_int_equal(ok("00:00:00", true, false), MIDNIGHT_UTC);
}

static void test_local_zone(void **state)
{
	(void)state;
	setenv("TZ", "UTC-2", 1); /* POSIX: two hours east of UTC */
	tzset();
	/* local now is 2023-11-15 00:13:20: today began at 2023-11-14 22:00 UTC */
	assert_int_equal(ok("today", false, false), MIDNIGHT_UTC + 22 * 3600000LL);
	assert_int_equal(ok("yesterday", false, false), MIDNIGHT_UTC - 2 * 3600000LL);
	assert_int_equal(ok("00:13:20.123", false, false), NOW);
	assert_int_equal(ok("2023-11-15 00:13:20.123", false, false), NOW);
	assert_int_equal(ok("2023-11-15", false, false), MIDNIGHT_UTC + 22 * 3600000LL);
	/* Z or an explicit offset wins over the local zone */
	assert_int_equal(ok("2023-11-14T22:13:20.123Z", false, false), NOW);
	assert_int_equal(ok("2023-11-14T23:13:20.123+01:00", false, false), NOW);
	assert_int_equal(ok("2023-11-14T17:13:20.123-0500", false, false), NOW);
	assert_int_equal(ok("2023-11-15T03:43:20.123+05:30", false, false), NOW);
	assert_int_equal(ok("2023-11-14T22:13:20,123Z", false, false), NOW);
	/* --utc: the same text read as UTC */
	assert_int_equal(ok("2023-11-14 22:13:20.123", true, false), NOW);
	setenv("TZ", "UTC0", 1);
	tzset();
}

static void test_iso_and_epoch(void **state)
{
	(void)state;
	assert_int_equal(ok("2023-11-14T22:13:20.123456Z", true, false), NOW);
	assert_int_equal(ok("2023-11-14T22:13:20Z", true, false), NOW - 123);
	assert_int_equal(ok("2023-11-14 22:13", true, false), NOW - 20123);
	assert_int_equal(ok("2023-11-14", true, false), MIDNIGHT_UTC);
	assert_int_equal(ok("@1700000000.123", true, false), NOW);
	assert_int_equal(ok("@1700000000", true, false), NOW - 123);
	assert_int_equal(ok("@1700000000.5", true, false), 1700000000500LL);
}

static void test_refused(void **state)
{
	(void)state;
	bad("");
	bad("-");
	bad("-10y");
	bad("+1d"); /* days after a container start: not a form */
	bad("+-1");
	bad("tomorrow");
	bad("25:00");
	bad("13:60");
	bad("1:30");
	bad("13:12:");
	bad("2023-13-14 22:13");
	bad("2023-11-14 22:13:20.");
	bad("2023-11-14T22:13:20+5");
	bad("2023-11-14T22:13:20+25:00");
	bad("2023-11-14 22:13 extra");
	bad("@");
	bad("@12x");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_relative_now), cmocka_unit_test(test_days_and_clock_utc),
		cmocka_unit_test(test_local_zone), cmocka_unit_test(test_iso_and_epoch),
		cmocka_unit_test(test_refused),
	};

	setenv("TZ", "UTC0", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
