/* test_spool.c — spool.c on a temporary directory: N documents across several segments read
 * back in order with identical bytes; a torn last record; an absurd length field; an invalid
 * document with a sane length; an empty directory; deletion after replay; a ".open" segment
 * left by a crash; the directory lock; concurrent appenders. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "spool.h"

static char dir[256];

static int make_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/lineage-test-spool.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static bson_t *make_doc(const char *coll, int64_t i)
{
	bson_t *d = bson_new();
	char id[64];

	snprintf(id, sizeof(id), "%s:%" PRId64, coll, i);
	BSON_APPEND_UTF8(d, "_id", id);
	BSON_APPEND_INT64(d, "seq", i);
	BSON_APPEND_UTF8(d, "path", i % 3 ? "/tmp/sp ace.txt" : "/etc/motd");
	return d;
}

/* Read every listed segment in order; check the docs are collection's 0..n-1 (per
 * collection, in order, identical bytes). Returns the docs read; *torn gets the total. */
static size_t read_all(struct spool *sp, const char *coll, size_t *ret_torn, bool remove)
{
	struct spool_segment *segs;
	size_t nsegs, got = 0, torn = 0;
	uint64_t last = 0;

	assert_int_equal(spool_list(sp, &segs, &nsegs), 0);
	for (size_t s = 0; s < nsegs; s++) {
		struct spool_reader *rd;
		const bson_t *doc;
		int r;

		if (s > 0)
			assert_true(segs[s].number > last);
		last = segs[s].number;
		if (strcmp(segs[s].collection, coll) != 0)
			continue;
		assert_int_equal(spool_reader_open(segs[s].path, &rd), 0);
		while ((r = spool_reader_next(rd, &doc)) == 1) {
			bson_t *want = make_doc(coll, (int64_t)got);

			assert_int_equal(doc->len, want->len);
			assert_memory_equal(bson_get_data(doc), bson_get_data(want), want->len);
			bson_destroy(want);
			got++;
		}
		assert_int_equal(r, 0);
		torn += spool_reader_torn(rd);
		spool_reader_free(rd);
		if (remove)
			assert_int_equal(spool_remove(sp, &segs[s]), 0);
	}
	spool_segments_free(segs, nsegs);
	*ret_torn = torn;
	return got;
}

static size_t count_files(void)
{
	char cmd[300];
	FILE *p;
	size_t n = 0;

	snprintf(cmd, sizeof(cmd), "ls '%s' | grep -c bson", dir);
	p = popen(cmd, "r");
	assert_non_null(p);
	if (fscanf(p, "%zu", &n) != 1)
		n = 0;
	pclose(p);
	return n;
}

static void test_segments_in_order(void **state)
{
	struct spool *sp;
	struct spool_segment *segs;
	struct spool_stats st;
	size_t nsegs, torn;

	(void)state;
	assert_int_equal(spool_open(dir, 100, 1 << 20, &sp), 0);
	/* 1050 singles plus one batch of 60 (a batch lands whole in one segment) */
	for (int64_t i = 0; i < 1050; i++) {
		bson_t *d = make_doc("events", i);

		assert_int_equal(spool_append(sp, "events", d), 0);
		bson_destroy(d);
	}
	{
		bson_t *docs[60];

		for (int i = 0; i < 60; i++)
			docs[i] = make_doc("events", 1050 + i);
		assert_int_equal(spool_append_many(sp, "events", (const bson_t *const *)docs, 60), 0);
		for (int i = 0; i < 60; i++)
			bson_destroy(docs[i]);
	}
	/* interleave another collection */
	for (int64_t i = 0; i < 10; i++) {
		bson_t *d = make_doc("proc_events", i);

		assert_int_equal(spool_append(sp, "proc_events", d), 0);
		bson_destroy(d);
	}
	/* 10 full segments, the 11th closed at 50 because the batch did not fit; the batch's
	 * segment and the proc_events one are still open */
	assert_int_equal(spool_list(sp, &segs, &nsegs), 0);
	assert_int_equal(nsegs, 11);
	spool_segments_free(segs, nsegs);
	spool_get_stats(sp, &st);
	assert_int_equal(st.appended, 1120);
	assert_int_equal(st.open_docs, 60 + 10);

	assert_int_equal(spool_flush(sp), 0);
	assert_int_equal(spool_list(sp, &segs, &nsegs), 0);
	assert_int_equal(nsegs, 13);
	for (size_t i = 0; i < nsegs; i++) {
		char want[400];

		snprintf(want, sizeof(want), "%s/%s.%016" PRIu64 ".bson", dir, segs[i].collection,
			 segs[i].number);
		assert_string_equal(segs[i].path, want);
	}
	spool_segments_free(segs, nsegs);

	assert_int_equal(read_all(sp, "events", &torn, false), 1110);
	assert_int_equal(torn, 0);
	assert_int_equal(read_all(sp, "proc_events", &torn, true), 10);
	assert_int_equal(read_all(sp, "events", &torn, true), 1110);
	assert_int_equal(count_files(), 0); /* deleted after replay */
	spool_free(sp);

	/* numbering continues after a reopen: nothing reuses an old number */
	assert_int_equal(spool_open(dir, 100, 1 << 20, &sp), 0);
	{
		bson_t *d = make_doc("events", 0);

		assert_int_equal(spool_append(sp, "events", d), 0);
		bson_destroy(d);
	}
	spool_free(sp); /* closes the segment */
	assert_int_equal(spool_open(dir, 100, 1 << 20, &sp), 0);
	assert_int_equal(spool_list(sp, &segs, &nsegs), 0);
	assert_int_equal(nsegs, 1);
	spool_segments_free(segs, nsegs);
	assert_int_equal(read_all(sp, "events", &torn, true), 1);
	spool_free(sp);
}

/* Write n events docs, close, return the single segment's path (caller frees). */
static char *write_segment(size_t n)
{
	struct spool *sp;
	struct spool_segment *segs;
	size_t nsegs;
	char *path;

	assert_int_equal(spool_open(dir, 100000, 1 << 30, &sp), 0);
	for (size_t i = 0; i < n; i++) {
		bson_t *d = make_doc("events", (int64_t)i);

		assert_int_equal(spool_append(sp, "events", d), 0);
		bson_destroy(d);
	}
	assert_int_equal(spool_flush(sp), 0);
	assert_int_equal(spool_list(sp, &segs, &nsegs), 0);
	assert_int_equal(nsegs, 1);
	path = strdup(segs[0].path);
	spool_segments_free(segs, nsegs);
	spool_free(sp);
	return path;
}

static void read_segment(const char *path, size_t want_docs, uint64_t want_torn)
{
	struct spool_reader *rd;
	const bson_t *doc;
	size_t got = 0;
	int r;

	assert_int_equal(spool_reader_open(path, &rd), 0);
	while ((r = spool_reader_next(rd, &doc)) == 1) {
		bson_t *want = make_doc("events", (int64_t)got);

		assert_memory_equal(bson_get_data(doc), bson_get_data(want), want->len);
		bson_destroy(want);
		got++;
	}
	assert_int_equal(r, 0);
	assert_int_equal(got, want_docs);
	assert_int_equal(spool_reader_torn(rd), want_torn);
	/* at the end it stays at the end */
	assert_int_equal(spool_reader_next(rd, &doc), 0);
	spool_reader_free(rd);
}

/* Byte offset of record k in a segment written by write_segment(), and record k's size. */
static off_t offset_of(int k)
{
	off_t off = 0;

	for (int i = 0; i < k; i++) {
		bson_t *d = make_doc("events", i);

		off += d->len;
		bson_destroy(d);
	}
	return off;
}

static uint32_t len_of(int k)
{
	bson_t *d = make_doc("events", k);
	uint32_t len = d->len;

	bson_destroy(d);
	return len;
}

static void test_torn_last_record(void **state)
{
	char *path = write_segment(20);
	struct stat s;

	(void)state;
	assert_int_equal(stat(path, &s), 0);
	assert_int_equal(truncate(path, s.st_size - 3), 0);
	read_segment(path, 19, 1);
	/* torn inside the length field itself: 2 bytes of record 19 left */
	assert_int_equal(truncate(path, offset_of(19) + 2), 0);
	read_segment(path, 19, 1);
	unlink(path);
	free(path);
}

static void patch(const char *path, off_t off, const void *bytes, size_t n)
{
	int fd = open(path, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, bytes, n, off), (ssize_t)n);
	close(fd);
}

static void test_garbage_length(void **state)
{
	char *path = write_segment(10);
	const uint8_t huge[4] = { 0xff, 0xff, 0xff, 0x7f }, tiny[4] = { 2, 0, 0, 0 };
	struct spool_reader *rd;
	const bson_t *doc;

	(void)state;
	/* doc 5's length says 2 GiB: 5 good docs, then the rest cannot be framed */
	patch(path, offset_of(5), huge, 4);
	read_segment(path, 5, 1);
	assert_int_equal(spool_reader_open(path, &rd), 0);
	while (spool_reader_next(rd, &doc) == 1)
		;
	assert_int_equal(spool_reader_skipped_bytes(rd), (uint64_t)(offset_of(10) - offset_of(5)));
	spool_reader_free(rd);
	unlink(path);
	free(path);

	path = write_segment(10);
	patch(path, 0, tiny, 4); /* length below the BSON minimum */
	read_segment(path, 0, 1);
	unlink(path);
	free(path);
}

static void test_invalid_document_skipped(void **state)
{
	char *path = write_segment(10);
	const uint8_t bad_type = 0x7e; /* no such BSON element type */
	struct spool_reader *rd;
	const bson_t *doc;
	int64_t seqs[16];
	size_t n = 0;

	(void)state;
	/* doc 3 keeps its sane length but its first element's type byte is garbage */
	patch(path, offset_of(3) + 4, &bad_type, 1);
	assert_int_equal(spool_reader_open(path, &rd), 0);
	while (spool_reader_next(rd, &doc) == 1) {
		bson_iter_t it;

		assert_true(bson_iter_init_find(&it, doc, "seq"));
		seqs[n++] = bson_iter_as_int64(&it);
	}
	assert_int_equal(n, 9);
	assert_int_equal(seqs[2], 2);
	assert_int_equal(seqs[3], 4); /* 3 skipped alone, framing kept */
	assert_int_equal(spool_reader_torn(rd), 1);
	assert_int_equal(spool_reader_skipped_bytes(rd), len_of(3));
	spool_reader_free(rd);
	unlink(path);
	free(path);
}

static void test_empty_dir(void **state)
{
	struct spool *sp;
	struct spool_segment *segs = NULL;
	size_t nsegs = 99;
	char sub[300], junk[320];
	int fd;

	(void)state;
	/* a missing directory is created; unrelated files are ignored */
	snprintf(sub, sizeof(sub), "%s/new", dir);
	assert_int_equal(spool_open(sub, 0, 0, &sp), 0);
	snprintf(junk, sizeof(junk), "%s/notes.txt", sub);
	fd = open(junk, O_CREAT | O_WRONLY, 0600);
	close(fd);
	snprintf(junk, sizeof(junk), "%s/events.12.bson", sub); /* not 16 digits */
	fd = open(junk, O_CREAT | O_WRONLY, 0600);
	close(fd);
	assert_int_equal(spool_list(sp, &segs, &nsegs), 0);
	assert_int_equal(nsegs, 0);
	spool_segments_free(segs, nsegs);
	assert_int_equal(spool_flush(sp), 0);
	spool_free(sp);
	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sub);
		assert_int_equal(system(cmd), 0);
	}
	/* an empty zero-byte segment reads as nothing, not as torn */
	snprintf(junk, sizeof(junk), "%s/events.0000000000000001.bson", dir);
	fd = open(junk, O_CREAT | O_WRONLY, 0600);
	close(fd);
	read_segment(junk, 0, 0);
	unlink(junk);
}

static void test_bad_collection_and_lock(void **state)
{
	struct spool *sp, *sp2 = NULL;
	bson_t *d = make_doc("events", 0);

	(void)state;
	assert_int_equal(spool_open(dir, 0, 0, &sp), 0);
	assert_int_equal(spool_append(sp, "../etc", d), -EINVAL);
	assert_int_equal(spool_append(sp, "", d), -EINVAL);
	/* a second spool on the same directory is refused (flock is per open file) */
	assert_int_equal(spool_open(dir, 0, 0, &sp2), -EBUSY);
	assert_null(sp2);
	spool_free(sp);
	assert_int_equal(spool_open(dir, 0, 0, &sp2), 0);
	spool_free(sp2);
	bson_destroy(d);
}

static void test_crash_left_open_segment(void **state)
{
	struct spool *sp;
	struct spool_segment *segs;
	size_t nsegs, torn;
	char src[400];
	pid_t pid;

	(void)state;
	/* a child appends 30 docs and dies without closing (as a crash would) */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (spool_open(dir, 1000, 1 << 20, &sp) < 0)
			_exit(1);
		for (int64_t i = 0; i < 30; i++) {
			bson_t *d = make_doc("events", i);

			if (spool_append(sp, "events", d) < 0)
				_exit(2);
			bson_destroy(d);
		}
		_exit(0);
	}
	{
		int status;

		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	/* and its last write was torn */
	snprintf(src, sizeof(src), "%s/events.0000000000000001.bson.open", dir);
	{
		struct stat s;

		assert_int_equal(stat(src, &s), 0);
		assert_int_equal(truncate(src, s.st_size - 7), 0);
	}
	assert_int_equal(spool_open(dir, 1000, 1 << 20, &sp), 0);
	assert_int_equal(spool_list(sp, &segs, &nsegs), 0);
	assert_int_equal(nsegs, 1);
	assert_int_equal(segs[0].number, 1);
	spool_segments_free(segs, nsegs);
	assert_int_equal(read_all(sp, "events", &torn, true), 29);
	assert_int_equal(torn, 1);
	assert_int_equal(count_files(), 0);
	spool_free(sp);
}

/* A write that fails (here EFBIG from RLIMIT_FSIZE, the same path as ENOSPC) is returned,
 * counted, and leaves no partial record: what was appended before reads back intact. */
static void test_write_error(void **state)
{
	struct spool *sp;
	struct spool_stats st;
	struct rlimit old, lim;
	size_t ok = 0, torn;
	int r = 0;

	(void)state;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(spool_open(dir, 100000, 1 << 30, &sp), 0);
	lim = old;
	lim.rlim_cur = 5000;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	for (int64_t i = 0; i < 1000; i++) {
		bson_t *docs[3];

		for (int k = 0; k < 3; k++)
			docs[k] = make_doc("events", i * 3 + k);
		r = spool_append_many(sp, "events", (const bson_t *const *)docs, 3);
		for (int k = 0; k < 3; k++)
			bson_destroy(docs[k]);
		if (r < 0)
			break;
		ok += 3;
	}
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(r, -EFBIG);
	assert_true(ok > 0 && ok < 3000);
	spool_get_stats(sp, &st);
	assert_int_equal(st.append_errors, 1);
	assert_int_equal(st.appended, ok);
	assert_int_equal(spool_flush(sp), 0);
	assert_int_equal(read_all(sp, "events", &torn, true), ok);
	assert_int_equal(torn, 0);
	spool_free(sp);
}

struct appender {
	struct spool *sp;
	const char *coll;
};

static void *append_thread(void *arg)
{
	struct appender *a = arg;

	for (int64_t i = 0; i < 2000; i++) {
		bson_t *d = make_doc(a->coll, i);

		if (spool_append(a->sp, a->coll, d) < 0)
			abort();
		bson_destroy(d);
	}
	return NULL;
}

static void test_concurrent_appenders(void **state)
{
	struct appender a[2] = { { .coll = "events" }, { .coll = "proc_events" } };
	struct spool *sp;
	pthread_t t[2];
	size_t torn;

	(void)state;
	assert_int_equal(spool_open(dir, 300, 1 << 20, &sp), 0);
	a[0].sp = a[1].sp = sp;
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, append_thread, &a[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(spool_flush(sp), 0);
	assert_int_equal(read_all(sp, "events", &torn, true), 2000);
	assert_int_equal(torn, 0);
	assert_int_equal(read_all(sp, "proc_events", &torn, true), 2000);
	assert_int_equal(count_files(), 0);
	spool_free(sp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_segments_in_order, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_torn_last_record, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_garbage_length, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_invalid_document_skipped, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_empty_dir, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_bad_collection_and_lock, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_crash_left_open_segment, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_concurrent_appenders, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_write_error, make_dir, remove_dir),
	};

	return cmocka_run_group_tests_name("spool", tests, NULL, NULL);
}
