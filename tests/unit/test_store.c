/* test_store.c — store.c against the real FerretDB/MongoDB at $LINEAGE_MONGODB_URI (or the
 * default URI): ping, bulk insert and read back, idempotent re-insert, indexes, sessions,
 * and the error when the server is not there. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store.h"

static char test_db[64];

static int setup(void **state)
{
	struct store *st;
	char err[512];

	if (store_open(NULL, test_db, &st, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	if (store_ping(st, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		store_free(st);
		return -1;
	}
	*state = st;
	return 0;
}

static int teardown(void **state)
{
	store_free(*state);
	return 0;
}

static void make_batch(bson_t *docs, size_t n, const char *tag)
{
	for (size_t i = 0; i < n; i++) {
		char id[64];

		bson_init(&docs[i]);
		snprintf(id, sizeof(id), "%s:%zu", tag, i);
		BSON_APPEND_UTF8(&docs[i], "_id", id);
		BSON_APPEND_INT64(&docs[i], "seq", (int64_t)i);
		BSON_APPEND_UTF8(&docs[i], "path", i % 2 ? "/tmp/sp ace.txt" : "/etc/motd");
	}
}

static void test_insert_and_read_back(void **state)
{
	struct store *st = *state;
	struct store_insert_result res;
	struct store_cursor *cur;
	const bson_t *ptrs[100], *doc;
	bson_t docs[100], sort = BSON_INITIALIZER, opts = BSON_INITIALIZER;
	char err[512];
	int64_t count = -1, expect = 0;
	int r;

	make_batch(docs, 100, "batch1");
	for (size_t i = 0; i < 100; i++)
		ptrs[i] = &docs[i];
	store_delete_many(st, "t_events", NULL, NULL, err, sizeof(err));
	assert_int_equal(store_insert_many(st, "t_events", ptrs, 100, &res, err, sizeof(err)), 0);
	assert_int_equal(res.inserted, 100);
	assert_int_equal(res.duplicates, 0);

	assert_int_equal(store_count(st, "t_events", NULL, &count, err, sizeof(err)), 0);
	assert_int_equal(count, 100);

	BSON_APPEND_INT32(&sort, "seq", 1);
	BSON_APPEND_DOCUMENT(&opts, "sort", &sort);
	assert_int_equal(store_find(st, "t_events", NULL, &opts, &cur, err, sizeof(err)), 0);
	while ((r = store_cursor_next(cur, &doc, err, sizeof(err))) == 1) {
		bson_iter_t it;

		assert_true(bson_iter_init_find(&it, doc, "seq"));
		assert_int_equal(bson_iter_as_int64(&it), expect);
		assert_true(bson_iter_init_find(&it, doc, "path"));
		assert_string_equal(bson_iter_utf8(&it, NULL), expect % 2 ? "/tmp/sp ace.txt" : "/etc/motd");
		expect++;
	}
	assert_int_equal(r, 0);
	assert_int_equal(expect, 100);
	store_cursor_free(cur);

	/* The same batch again, plus 10 new: duplicates are not errors, nothing doubles. */
	bson_t more[110];
	const bson_t *mptrs[110];
	make_batch(more, 110, "batch1");
	for (size_t i = 0; i < 110; i++)
		mptrs[i] = &more[i];
	assert_int_equal(store_insert_many(st, "t_events", mptrs, 110, &res, err, sizeof(err)), 0);
	assert_int_equal(res.duplicates, 100);
	assert_int_equal(res.inserted, 10);
	assert_int_equal(store_count(st, "t_events", NULL, &count, err, sizeof(err)), 0);
	assert_int_equal(count, 110);

	for (size_t i = 0; i < 110; i++)
		bson_destroy(&more[i]);
	for (size_t i = 0; i < 100; i++)
		bson_destroy(&docs[i]);
	bson_destroy(&sort);
	bson_destroy(&opts);
}

static void test_indexes(void **state)
{
	struct store *st = *state;
	char err[512];
	bool exists = false;

	assert_int_equal(store_create_indexes(st, err, sizeof(err)), 0);
	/* twice: creating an existing index is not an error */
	assert_int_equal(store_create_indexes(st, err, sizeof(err)), 0);
	assert_int_equal(store_index_exists(st, "segments", "session_stream_seq", &exists, err, sizeof(err)), 0);
	assert_true(exists);
	assert_int_equal(store_index_exists(st, "segments", "session_syscalls", &exists, err, sizeof(err)), 0);
	assert_true(exists);
	assert_int_equal(store_index_exists(st, "segments", "no_such_index", &exists, err, sizeof(err)), 0);
	assert_false(exists);
	/* the filter's per-session output collections */
	assert_int_equal(store_create_output_indexes(st, "processes", "processes.test.1", err, sizeof(err)), 0);
	assert_int_equal(store_index_exists(st, "processes.test.1", "key", &exists, err, sizeof(err)), 0);
	assert_true(exists);
	assert_int_equal(store_create_output_indexes(st, "files", "files.test.1", err, sizeof(err)), 0);
	assert_int_equal(store_index_exists(st, "files.test.1", "container_path", &exists, err, sizeof(err)), 0);
	assert_true(exists);
	assert_int_equal(store_create_output_indexes(st, "nope", "nope.test.1", err, sizeof(err)), -EINVAL);
}

static void test_drop_and_list(void **state)
{
	struct store *st = *state;
	bson_t doc = BSON_INITIALIZER;
	const bson_t *docs[1] = { &doc };
	struct store_insert_result res;
	char err[512], **names = NULL;
	size_t n = 0;

	BSON_APPEND_INT32(&doc, "x", 1);
	assert_int_equal(store_insert_many(st, "listme.a.1", docs, 1, &res, err, sizeof(err)), 0);
	assert_int_equal(store_insert_many(st, "listme.a.2", docs, 1, &res, err, sizeof(err)), 0);
	assert_int_equal(store_list_collections(st, "listme.a.", &names, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	assert_int_equal(store_drop(st, "listme.a.1", err, sizeof(err)), 0);
	/* dropping a missing collection is not an error */
	assert_int_equal(store_drop(st, "listme.a.1", err, sizeof(err)), 0);
	assert_int_equal(store_list_collections(st, "listme.a.", &names, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "listme.a.2");
	free(names[0]);
	free(names);
	assert_int_equal(store_drop(st, "listme.a.2", err, sizeof(err)), 0);
	bson_destroy(&doc);
}

static void test_session_open_close(void **state)
{
	struct store *st = *state;
	struct store_cursor *cur;
	const bson_t *doc;
	bson_t info = BSON_INITIALIZER, filter = BSON_INITIALIZER, counters = BSON_INITIALIZER;
	bson_oid_t id;
	bson_iter_t it;
	char err[512];

	BSON_APPEND_UTF8(&info, "host", "test-host");
	bson_oid_init(&id, NULL);
	assert_int_equal(store_session_open(st, &id, &info, err, sizeof(err)), 0);
	BSON_APPEND_INT64(&counters, "events", 42);
	assert_int_equal(store_session_close(st, &id, &counters, err, sizeof(err)), 0);

	BSON_APPEND_OID(&filter, "_id", &id);
	assert_int_equal(store_find(st, "sessions", &filter, NULL, &cur, err, sizeof(err)), 0);
	assert_int_equal(store_cursor_next(cur, &doc, err, sizeof(err)), 1);
	assert_true(bson_iter_init_find(&it, doc, "host"));
	assert_string_equal(bson_iter_utf8(&it, NULL), "test-host");
	assert_true(bson_iter_init_find(&it, doc, "ended_at"));
	assert_int_equal(bson_iter_type(&it), BSON_TYPE_DATE_TIME);
	assert_true(bson_iter_init_find(&it, doc, "started_at"));
	assert_int_equal(bson_iter_type(&it), BSON_TYPE_DATE_TIME);
	assert_true(bson_iter_init_find(&it, doc, "events"));
	assert_int_equal(bson_iter_as_int64(&it), 42);
	assert_int_equal(store_cursor_next(cur, &doc, err, sizeof(err)), 0);
	store_cursor_free(cur);
	bson_destroy(&info);
	bson_destroy(&filter);
	bson_destroy(&counters);
}

static void test_server_down(void **state)
{
	struct store *st;
	char err[512];
	bson_t doc = BSON_INITIALIZER;
	const bson_t *ptr = &doc;
	struct store_insert_result res;

	(void)state;
	/* Nothing listens on port 1: the clear error, not a hang or a crash. */
	assert_int_equal(store_open("mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=500", NULL,
				    &st, err, sizeof(err)), 0);
	assert_int_equal(store_ping(st, err, sizeof(err)), -ENOTCONN);
	assert_non_null(strstr(err, "cannot reach MongoDB at mongodb://127.0.0.1:1/"));
	BSON_APPEND_INT32(&doc, "x", 1);
	assert_int_equal(store_insert_many(st, "t_events", &ptr, 1, &res, err, sizeof(err)), -ENOTCONN);
	assert_non_null(strstr(err, "insert into t_events failed"));
	store_free(st);
	bson_destroy(&doc);
}

static void test_bad_uri(void **state)
{
	struct store *st = NULL;
	char err[512];

	(void)state;
	assert_int_equal(store_open("http://nope", NULL, &st, err, sizeof(err)), -EINVAL);
	assert_null(st);
	assert_non_null(strstr(err, "invalid MongoDB URI http://nope"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_insert_and_read_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_and_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indexes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_open_close, setup, teardown),
		cmocka_unit_test(test_server_down),
		cmocka_unit_test(test_bad_uri),
	};
	int r;

	snprintf(test_db, sizeof(test_db), "lineage_test_store");
	store_global_init();
	r = cmocka_run_group_tests_name("store", tests, NULL, NULL);
	store_global_cleanup();
	return r;
}
