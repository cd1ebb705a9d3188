/* test_search_format.c — the search index's encoding (issue 20, common/search_format.h):
 * paths and process records (NULL strings, unknown times, empty and many argv entries)
 * decode to what was written, a part never grows past SEARCH_PART_MAX unless one record is
 * larger, and truncated or foreign bytes are refused, never read past. The index against a
 * real store and real containers is tests/e2e/query_search.py. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "search_format.h"

static void test_paths_roundtrip(void **state)
{
	static const char *const paths[] = { "/etc/passwd", "/tmp/a b\nc", "", "rel/x" };
	struct search_part p = { 0 };
	const char *got;
	size_t pos = 0, i;

	(void)state;
	for (i = 0; i < 4; i++)
		assert_int_equal(search_part_add_path(&p, paths[i]), 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(search_next_path(p.buf, p.len, &pos, &got), 1);
		assert_string_equal(got, paths[i]);
	}
	assert_int_equal(search_next_path(p.buf, p.len, &pos, &got), 0);
	/* the last NUL cut off: refused */
	pos = 0;
	for (i = 0; i < 3; i++)
		assert_int_equal(search_next_path(p.buf, p.len - 1, &pos, &got), 1);
	assert_int_equal(search_next_path(p.buf, p.len - 1, &pos, &got), -EBADMSG);
	search_part_free(&p);
}

static void test_procs_roundtrip(void **state)
{
	const char *argv1[] = { "sh", "-c", "echo 'a b' > /x", "" };
	const char *many[300];
	struct search_exec x[2] = {
		{ .ts_ms = 1700000000123, .exe = "/bin/sh", .argv = argv1, .argc = 4 },
		{ .ts_ms = SEARCH_NO_TIME, .exe = NULL, .argv = many, .argc = 300 },
	};
	struct search_proc in[2] = {
		{ .key = "12@1000", .tgid = 12, .parent = "1@5", .entry = "init", .start_ms = 5,
		  .exit_ms = SEARCH_NO_TIME, .container = "abc", .runtime_helper = 1, .comm = "sh",
		  .uids = "0,1000", .nexecs = 2 },
		{ .key = "13@2000", .tgid = 13, .start_ms = SEARCH_NO_TIME, .exit_ms = 77,
		  .nexecs = 0 },
	}, got;
	struct search_part p = { 0 };
	const char *argv[8], *exe;
	size_t pos = 0, epos, argc;
	int64_t ts;

	(void)state;
	for (int i = 0; i < 300; i++)
		many[i] = i % 2 ? "x" : "";
	assert_int_equal(search_part_add_proc(&p, &in[0], x), 0);
	assert_int_equal(search_part_add_proc(&p, &in[1], NULL), 0);
	assert_int_equal(p.len, search_proc_size(&in[0], x) + search_proc_size(&in[1], NULL));

	assert_int_equal(search_next_proc(p.buf, p.len, &pos, &got), 1);
	assert_string_equal(got.key, "12@1000");
	assert_int_equal(got.tgid, 12);
	assert_string_equal(got.parent, "1@5");
	assert_string_equal(got.entry, "init");
	assert_int_equal(got.start_ms, 5);
	assert_true(got.exit_ms == SEARCH_NO_TIME);
	assert_string_equal(got.container, "abc");
	assert_int_equal(got.runtime_helper, 1);
	assert_string_equal(got.uids, "0,1000");
	assert_int_equal(got.nexecs, 2);
	epos = got.execs_pos;
	assert_int_equal(search_next_exec(p.buf, p.len, &epos, &ts, &exe, argv, 8, &argc), 1);
	assert_true(ts == 1700000000123);
	assert_string_equal(exe, "/bin/sh");
	assert_int_equal(argc, 4);
	assert_string_equal(argv[2], "echo 'a b' > /x");
	assert_string_equal(argv[3], "");
	/* more argv than the reader takes: the count is real, the rest skipped */
	assert_int_equal(search_next_exec(p.buf, p.len, &epos, &ts, &exe, argv, 8, &argc), 1);
	assert_true(ts == SEARCH_NO_TIME);
	assert_string_equal(exe, "");
	assert_int_equal(argc, 300);
	assert_int_equal(epos, pos);

	assert_int_equal(search_next_proc(p.buf, p.len, &pos, &got), 1);
	assert_string_equal(got.key, "13@2000");
	assert_string_equal(got.parent, "");
	assert_string_equal(got.container, "");
	assert_string_equal(got.uids, "");
	assert_int_equal(got.runtime_helper, 0);
	assert_int_equal(got.exit_ms, 77);
	assert_int_equal(got.nexecs, 0);
	assert_int_equal(search_next_proc(p.buf, p.len, &pos, &got), 0);

	/* every truncation of the first record is refused */
	for (size_t cut = 1; cut < search_proc_size(&in[0], x); cut++) {
		pos = 0;
		assert_int_equal(search_next_proc(p.buf, cut, &pos, &got), -EBADMSG);
	}
	search_part_free(&p);
}

static void test_foreign_bytes(void **state)
{
	static const uint8_t junk[][16] = { "x\0y\0" "1\0", "k\0" "12a\0", "k\0-\0" };
	static const size_t lens[] = { 6, 6, 4 };
	struct search_proc got;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		size_t pos = 0;

		assert_int_equal(search_next_proc(junk[i], lens[i], &pos, &got), -EBADMSG);
	}
}

static void test_part_full(void **state)
{
	struct search_part p = { 0 };
	char big[1000];

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	/* an empty part takes any record */
	assert_false(search_part_full(&p, SEARCH_PART_MAX + 1));
	while (!search_part_full(&p, search_path_size(big)))
		assert_int_equal(search_part_add_path(&p, big), 0);
	assert_true(p.len <= SEARCH_PART_MAX);
	assert_true(p.len + search_path_size(big) > SEARCH_PART_MAX);
	search_part_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths_roundtrip),
		cmocka_unit_test(test_procs_roundtrip),
		cmocka_unit_test(test_foreign_bytes),
		cmocka_unit_test(test_part_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
