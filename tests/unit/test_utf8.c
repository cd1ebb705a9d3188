/* test_utf8.c — listener/utf8.c: well-formedness (overlongs, surrogates, > U+10FFFF, NUL,
 * truncated sequences), the U+FFFD repair, the upper-case hex, and the document shapes: key
 * plus key_hex only when invalid, argv items plus an argv_hex {index: hex} document. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "utf8.h"

#define FFFD "\xef\xbf\xbd"

static void test_valid(void **state)
{
	static const struct {
		const char *s;
		size_t len;
		bool ok;
	} cases[] = {
		{ "", 0, true },
		{ "plain /etc/motd", 15, true },
		{ "caf\xc3\xa9", 5, true },
		{ "\xe2\x82\xac", 3, true },          /* U+20AC */
		{ "\xf0\x9f\x98\x80", 4, true },      /* U+1F600 */
		{ "\xf4\x8f\xbf\xbf", 4, true },      /* U+10FFFF */
		{ "\xed\x9f\xbf", 3, true },          /* U+D7FF */
		{ "\xef\xbf\xbd", 3, true },          /* U+FFFD itself */
		{ "a\0b", 3, false },                 /* NUL */
		{ "\xff", 1, false },
		{ "\x80", 1, false },                 /* lone continuation */
		{ "\xc0\xaf", 2, false },             /* overlong '/' */
		{ "\xc1\xbf", 2, false },
		{ "\xe0\x80\xaf", 3, false },         /* overlong */
		{ "\xf0\x80\x80\xaf", 4, false },     /* overlong */
		{ "\xed\xa0\x80", 3, false },         /* surrogate U+D800 */
		{ "\xf4\x90\x80\x80", 4, false },     /* U+110000 */
		{ "\xf5\x80\x80\x80", 4, false },
		{ "\xc3", 1, false },                 /* truncated */
		{ "\xe2\x82", 2, false },
		{ "\xe2\x82z", 3, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(utf8_valid(cases[i].s, cases[i].len), cases[i].ok);
		/* never more permissive than libbson (what the driver and server check) */
		if (cases[i].ok)
			assert_true(bson_utf8_validate(cases[i].s, cases[i].len, false));
	}
}

static void test_repair(void **state)
{
	char *out = (char *)0x1;
	size_t n = 7;

	(void)state;
	/* valid: 0 and outputs untouched */
	assert_int_equal(utf8_repair("caf\xc3\xa9", 5, &out, &n), 0);
	assert_ptr_equal(out, (char *)0x1);
	assert_int_equal(n, 7);

	assert_int_equal(utf8_repair("/a\xff/b", 5, &out, &n), 1);
	assert_string_equal(out, "/a" FFFD "/b");
	assert_int_equal(n, strlen("/a" FFFD "/b"));
	free(out);

	/* one U+FFFD per bad byte; good sequences around them are kept */
	assert_int_equal(utf8_repair("\xe2\x82\xc3\xa9\0x", 6, &out, &n), 3);
	assert_string_equal(out, FFFD FFFD "\xc3\xa9" FFFD "x");
	free(out);

	/* a surrogate's three bytes: three replacements */
	assert_int_equal(utf8_repair("\xed\xa0\x80", 3, &out, &n), 3);
	assert_string_equal(out, FFFD FFFD FFFD);
	assert_true(bson_utf8_validate(out, n, false));
	free(out);
}

static void test_hex(void **state)
{
	char buf[16];

	(void)state;
	utf8_hex("\x00\xff\x2f a", 5, buf);
	assert_string_equal(buf, "00FF2F2061");
	utf8_hex("", 0, buf);
	assert_string_equal(buf, "");
}

static const char *str_at(const bson_t *doc, const char *path)
{
	bson_iter_t it, f;

	assert_true(bson_iter_init(&it, doc));
	if (!bson_iter_find_descendant(&it, path, &f))
		return NULL;
	assert_true(BSON_ITER_HOLDS_UTF8(&f));
	return bson_iter_utf8(&f, NULL);
}

static bool has(const bson_t *doc, const char *key)
{
	return bson_has_field(doc, key);
}

static void test_append(void **state)
{
	bson_t doc = BSON_INITIALIZER;
	char longkey[UTF8_KEY_MAX + 2];

	(void)state;
	assert_int_equal(utf8_append(&doc, "exe", "/bin/busybox", 12), 0);
	assert_int_equal(utf8_append(&doc, "cwd", "/tmp/\xe9t\xe9", 8), 0);
	assert_int_equal(utf8_append(&doc, "comm", "a\0b", 3), 0);
	assert_string_equal(str_at(&doc, "exe"), "/bin/busybox");
	assert_false(has(&doc, "exe_hex"));
	assert_string_equal(str_at(&doc, "cwd"), "/tmp/" FFFD "t" FFFD);
	assert_string_equal(str_at(&doc, "cwd_hex"), "2F746D702FE974E9");
	assert_string_equal(str_at(&doc, "comm"), "a" FFFD "b");
	assert_string_equal(str_at(&doc, "comm_hex"), "610062");
	assert_true(bson_validate(&doc, BSON_VALIDATE_UTF8, NULL));
	assert_int_equal(bson_count_keys(&doc), 5);

	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	assert_int_equal(utf8_append(&doc, longkey, "x", 1), -ENAMETOOLONG);
	assert_int_equal(bson_count_keys(&doc), 5);
	bson_destroy(&doc);
}

static void test_append_array(void **state)
{
	const char *argv[] = { "cat", "\xff\xfe bad", "/etc/motd", "nul\0in" };
	const size_t lens[] = { 3, 6, 9, 6 };
	const char *good[] = { "ls", "-l" };
	bson_t doc = BSON_INITIALIZER;
	bson_iter_t it, hex;
	int n = 0;

	(void)state;
	assert_int_equal(utf8_append_array(&doc, "argv", argv, lens, 4), 0);
	assert_string_equal(str_at(&doc, "argv.0"), "cat");
	assert_string_equal(str_at(&doc, "argv.1"), FFFD FFFD " bad");
	assert_string_equal(str_at(&doc, "argv.2"), "/etc/motd");
	assert_string_equal(str_at(&doc, "argv.3"), "nul" FFFD "in");
	/* argv_hex: exactly the items that were not valid */
	assert_true(bson_iter_init_find(&it, &doc, "argv_hex"));
	assert_true(BSON_ITER_HOLDS_DOCUMENT(&it));
	assert_true(bson_iter_recurse(&it, &hex));
	while (bson_iter_next(&hex)) {
		const char *k = bson_iter_key(&hex);

		if (n == 0) {
			assert_string_equal(k, "1");
			assert_string_equal(bson_iter_utf8(&hex, NULL), "FFFE20626164");
		} else {
			assert_string_equal(k, "3");
			assert_string_equal(bson_iter_utf8(&hex, NULL), "6E756C00696E");
		}
		n++;
	}
	assert_int_equal(n, 2);
	assert_true(bson_validate(&doc, BSON_VALIDATE_UTF8, NULL));
	bson_destroy(&doc);

	/* all valid, lens NULL (strlen): no argv_hex */
	bson_init(&doc);
	assert_int_equal(utf8_append_array(&doc, "argv", good, NULL, 2), 0);
	assert_string_equal(str_at(&doc, "argv.1"), "-l");
	assert_false(has(&doc, "argv_hex"));
	bson_destroy(&doc);

	/* empty array */
	bson_init(&doc);
	assert_int_equal(utf8_append_array(&doc, "argv", NULL, NULL, 0), 0);
	assert_true(has(&doc, "argv"));
	assert_false(has(&doc, "argv_hex"));
	bson_destroy(&doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),         cmocka_unit_test(test_repair),
		cmocka_unit_test(test_hex),           cmocka_unit_test(test_append),
		cmocka_unit_test(test_append_array),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
