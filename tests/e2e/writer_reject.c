/* writer_reject.c — a document the server refuses is counted and set aside, never retried
 * forever, and never takes the rest of its batch with it (issue 9). Against the shared
 * FerretDB ($LINEAGE_MONGODB_URI), in an own database. Two refusals: a document over
 * MongoDB's 16 MiB limit (libmongoc refuses it before sending) and one the server answers
 * with a write error (an array _id). Both in the middle of a live batch, and both in a spool
 * segment left by a previous run. Since issue 33 the raw streams (events, proc_events, …) go
 * into segments and never reach the server one document at a time: the documents here are of
 * a collection of their own ("probe"), which the writer still batches document by document
 * (like the sessions documents). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "spool.h"
#include "store.h"
#include "writer.h"

#define NGOOD 10
#define BIG_BYTES ((17u << 20))

static char sdir[256], dbname[64];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int setup(void **state)
{
	(void)state;
	snprintf(sdir, sizeof(sdir), "/tmp/lineage-reject-XXXXXX");
	assert_non_null(mkdtemp(sdir));
	snprintf(dbname, sizeof(dbname), "lineage_test_hostile_reject_%d", (int)getpid());
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];
	struct store *st;
	char err[512];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sdir);
	if (system(cmd) != 0)
		return -1;
	if (store_open(NULL, dbname, &st, err, sizeof(err)) == 0) {
		store_delete_many(st, "probe", NULL, NULL, err, sizeof(err));
		store_free(st);
	}
	return 0;
}

static bson_t *good_doc(int i)
{
	bson_t *d = bson_new();
	char id[32];

	snprintf(id, sizeof(id), "good:%d", i);
	BSON_APPEND_UTF8(d, "_id", id);
	BSON_APPEND_INT32(d, "seq", i);
	return d;
}

static bson_t *big_doc(void)
{
	bson_t *d = bson_new();
	char *s = malloc(BIG_BYTES + 1);

	assert_non_null(s);
	memset(s, 'a', BIG_BYTES);
	s[BIG_BYTES] = '\0';
	BSON_APPEND_UTF8(d, "_id", "big");
	BSON_APPEND_UTF8(d, "argv0", s);
	free(s);
	assert_true(d->len > (16u << 20));
	return d;
}

static bson_t *bad_id_doc(void)
{
	bson_t *d = bson_new(), arr;

	/* MongoDB and FerretDB refuse an array _id with a write error */
	BSON_APPEND_ARRAY_BEGIN(d, "_id", &arr);
	BSON_APPEND_INT32(&arr, "0", 1);
	BSON_APPEND_INT32(&arr, "1", 2);
	bson_append_array_end(d, &arr);
	return d;
}

/* The batch in submission order: goods around the two refused documents. */
static void submit_all(struct writer *w)
{
	for (int i = 0; i < NGOOD; i++) {
		if (i == NGOOD / 2) {
			assert_int_equal(writer_submit(w, "probe", big_doc()), 0);
			assert_int_equal(writer_submit(w, "probe", bad_id_doc()), 0);
		}
		assert_int_equal(writer_submit(w, "probe", good_doc(i)), 0);
	}
}

static int64_t count_probe(void)
{
	struct store *st;
	char err[512];
	int64_t n = -1;

	assert_int_equal(store_open(NULL, dbname, &st, err, sizeof(err)), 0);
	assert_int_equal(store_count(st, "probe", NULL, &n, err, sizeof(err)), 0);
	store_free(st);
	return n;
}

/* Documents in the spool's *.rejected files, read here (the spool reader stops at records
 * over SPOOL_MAX_DOC_BYTES, and a set-aside document may be one): every byte accounted for. */
static size_t rejected_on_disk(size_t *ret_other_files)
{
	DIR *dir = opendir(sdir);
	struct dirent *de;
	size_t n = 0;

	*ret_other_files = 0;
	assert_non_null(dir);
	while ((de = readdir(dir))) {
		char path[600];
		size_t len = strlen(de->d_name), off = 0, size;
		uint8_t *data;
		FILE *f;

		if (len < 9 || strcmp(de->d_name + len - 9, ".rejected") != 0) {
			if (strstr(de->d_name, ".bson"))
				(*ret_other_files)++;
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", sdir, de->d_name);
		f = fopen(path, "rb");
		assert_non_null(f);
		data = malloc(64u << 20);
		assert_non_null(data);
		size = fread(data, 1, 64u << 20, f);
		fclose(f);
		while (off + 4 <= size) {
			uint32_t dlen = (uint32_t)data[off] | (uint32_t)data[off + 1] << 8 |
					(uint32_t)data[off + 2] << 16 | (uint32_t)data[off + 3] << 24;
			bson_t doc;

			assert_true(dlen >= 5 && off + dlen <= size);
			assert_true(bson_init_static(&doc, data + off, dlen));
			assert_true(bson_validate(&doc, BSON_VALIDATE_NONE, NULL));
			n++;
			off += dlen;
		}
		assert_int_equal(off, size);
		free(data);
	}
	closedir(dir);
	return n;
}

static void check_outcome(struct writer *w, double started, uint64_t rejected_here)
{
	struct writer_stats ws;
	size_t others = 0;

	assert_int_equal(writer_stop(w, 10000), 0); /* nothing left for a next run */
	assert_true(now_s() - started < 15.0);      /* and no retry loop */
	writer_get_stats(w, &ws);
	writer_free(w);
	printf("inserted %" PRIu64 " rejected_docs %" PRIu64 " dropped %" PRIu64 " torn %" PRIu64
	       " insert_errors %" PRIu64 "\n",
	       ws.inserted, ws.rejected_docs, ws.dropped, ws.torn_records, ws.insert_errors);
	assert_int_equal(count_probe(), NGOOD);    /* the rest of the batch is stored */
	assert_int_equal(ws.rejected_docs, rejected_here); /* the refused ones counted */
	assert_int_equal(ws.dropped, 0);
	assert_int_equal(ws.torn_records, 0);
	assert_int_equal(rejected_on_disk(&others), 2); /* and set aside, readable */
	assert_int_equal(others, 0);
}

static struct writer *make_writer(void)
{
	struct writer_config cfg = { .db = dbname, .spool_dir = sdir, .batch_max = 50,
				     .batch_age_ms = 100 };
	struct writer *w;

	assert_int_equal(writer_new(&cfg, &w), 0);
	return w;
}

static void test_live_batch(void **state)
{
	struct writer *w = make_writer();
	double t0 = now_s();

	(void)state;
	assert_int_equal(writer_start(w), 0);
	submit_all(w);
	check_outcome(w, t0, 2);
}

static void test_spooled_segment(void **state)
{
	struct writer *w = make_writer();
	double t0;

	(void)state;
	submit_all(w); /* never started: writer_free spools the queue, as a crash's run leaves it */
	writer_free(w);
	{
		size_t others = 0;

		assert_int_equal(rejected_on_disk(&others), 1); /* the big one, never in a segment */
		assert_int_equal(others, 1);                    /* the segment to replay */
	}
	w = make_writer();
	t0 = now_s();
	assert_int_equal(writer_start(w), 0);
	check_outcome(w, t0, 1); /* the big one was set aside when the first writer spooled */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_live_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spooled_segment, setup, teardown),
	};

	store_global_init();
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	store_global_cleanup();
	return r;
}
