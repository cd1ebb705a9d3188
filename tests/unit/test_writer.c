/* test_writer.c — writer.c against real FerretDB: (a) 5000 documents into the shared server,
 * exactly 5000 arrive; (b) an outage: our own FerretDB on a free port is SIGKILLed while
 * documents keep coming, then restarted on the same port and directory: every document
 * arrives exactly once; (c) a spool left by a "previous run" (with a torn segment) is
 * replayed at start and the torn record counted. Prints docs/s and replay time. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "spool.h"
#include "store.h"
#include "writer.h"

#define TEST_DB "lineage_test_writer"

static char sdir[256];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int make_dir(void **state)
{
	(void)state;
	snprintf(sdir, sizeof(sdir), "/tmp/lineage-test-writer.XXXXXX");
	return mkdtemp(sdir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sdir);
	return system(cmd) == 0 ? 0 : -1;
}

static bson_t *make_doc(const char *tag, int64_t i)
{
	bson_t *d = bson_new();
	char id[64];

	snprintf(id, sizeof(id), "%s:%" PRId64, tag, i);
	BSON_APPEND_UTF8(d, "_id", id);
	BSON_APPEND_INT64(d, "seq", i);
	BSON_APPEND_UTF8(d, "syscall", "openat");
	BSON_APPEND_UTF8(d, "path", "/tmp/sp ace.txt");
	BSON_APPEND_INT32(d, "pid", 4242);
	return d;
}

static struct store *open_store(const char *uri)
{
	struct store *st;
	char err[512];

	assert_int_equal(store_open(uri, TEST_DB, &st, err, sizeof(err)), 0);
	return st;
}

static void clear(const char *uri, const char *coll)
{
	struct store *st = open_store(uri);
	char err[512];

	assert_int_equal(store_delete_many(st, coll, NULL, NULL, err, sizeof(err)), 0);
	store_free(st);
}

/* Every seq 0..n-1 exactly once in coll (and nothing else). */
static void assert_exactly(const char *uri, const char *coll, int64_t n)
{
	struct store *st = open_store(uri);
	struct store_cursor *cur;
	const bson_t *doc;
	bson_t opts = BSON_INITIALIZER, sort, proj;
	char err[512];
	int64_t count = -1, expect = 0;
	int r;

	assert_int_equal(store_count(st, coll, NULL, &count, err, sizeof(err)), 0);
	assert_int_equal(count, n);
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort);
	BSON_APPEND_INT32(&sort, "seq", 1);
	bson_append_document_end(&opts, &sort);
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "projection", &proj);
	BSON_APPEND_INT32(&proj, "seq", 1);
	bson_append_document_end(&opts, &proj);
	assert_int_equal(store_find(st, coll, NULL, &opts, &cur, err, sizeof(err)), 0);
	while ((r = store_cursor_next(cur, &doc, err, sizeof(err))) == 1) {
		bson_iter_t it;

		assert_true(bson_iter_init_find(&it, doc, "seq"));
		assert_int_equal(bson_iter_as_int64(&it), expect); /* no gap, no double */
		expect++;
	}
	assert_int_equal(r, 0);
	assert_int_equal(expect, n);
	store_cursor_free(cur);
	bson_destroy(&opts);
	store_free(st);
}

static size_t spool_files(void)
{
	char cmd[300];
	FILE *p;
	size_t n = 0;

	snprintf(cmd, sizeof(cmd), "ls '%s' | grep -c bson", sdir);
	p = popen(cmd, "r");
	assert_non_null(p);
	if (fscanf(p, "%zu", &n) != 1)
		n = 0;
	pclose(p);
	return n;
}

static void test_5000_docs(void **state)
{
	const char *uri = store_default_uri();
	struct writer_config cfg = { .uri = uri, .db = TEST_DB, .spool_dir = sdir,
				     .batch_max = 500, .batch_age_ms = 200 };
	struct writer_stats ws;
	struct writer *w;
	double t0, t1;

	(void)state;
	clear(uri, "t_writer_a");
	assert_int_equal(writer_new(&cfg, &w), 0);
	assert_int_equal(writer_start(w), 0);
	t0 = now_s();
	for (int64_t i = 0; i < 5000; i++)
		assert_int_equal(writer_submit(w, "t_writer_a", make_doc("a", i)), 0);
	assert_int_equal(writer_stop(w, 60000), 0);
	t1 = now_s();
	writer_get_stats(w, &ws);
	assert_int_equal(ws.submitted, 5000);
	assert_int_equal(ws.inserted, 5000);
	assert_int_equal(ws.duplicates, 0);
	assert_int_equal(ws.dropped, 0);
	assert_int_equal(ws.queue_depth, 0);
	assert_true(ws.db_up);
	assert_true(ws.batches >= 10);
	writer_free(w);
	assert_exactly(uri, "t_writer_a", 5000);
	assert_int_equal(spool_files(), 0);
	printf("# writer: 5000 docs into FerretDB in %.3f s = %.0f docs/s (%" PRIu64
	       " batches, avg %.0f, last insert %.1f ms, queue hwm %zu, spooled %" PRIu64 ")\n",
	       t1 - t0, 5000 / (t1 - t0), ws.batches, ws.avg_batch, ws.last_insert_ms,
	       ws.queue_hwm, ws.spooled);
}

/* --- our own FerretDB for the outage --- */

static char fdb_dir[256];
static int fdb_port;
static pid_t fdb_pid;

static const char *ferretdb_bin(void)
{
	const char *b = getenv("FERRETDB_BIN");

	return b && *b ? b : "/var/lib/lineage-dev/bin/ferretdb";
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static bool port_open(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	close(fd);
	return ok;
}

static void ferretdb_start(void)
{
	char url[400], state[400], listen[64], log[400];

	snprintf(url, sizeof(url), "--sqlite-url=file:%s/", fdb_dir);
	snprintf(state, sizeof(state), "--state-dir=%s", fdb_dir);
	snprintf(listen, sizeof(listen), "--listen-addr=127.0.0.1:%d", fdb_port);
	snprintf(log, sizeof(log), "%s/ferretdb.log", fdb_dir);
	fdb_pid = fork();
	assert_true(fdb_pid >= 0);
	if (fdb_pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		/* if this test dies (an abort, a sanitizer halt), its server dies with it */
		prctl(PR_SET_PDEATHSIG, SIGKILL);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(ferretdb_bin(), "ferretdb", "--handler=sqlite", url, state, listen,
		      "--debug-addr=-", "--telemetry=disable", "--log-level=warn", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200 && !port_open(fdb_port); i++)
		usleep(50000);
	assert_true(port_open(fdb_port));
}

static void ferretdb_kill(void)
{
	int status;

	if (fdb_pid <= 0)
		return;
	kill(fdb_pid, SIGKILL);
	waitpid(fdb_pid, &status, 0);
	fdb_pid = 0;
}

static int outage_setup(void **state)
{
	if (access(ferretdb_bin(), X_OK) != 0) {
		fprintf(stderr, "no FerretDB binary at %s\n", ferretdb_bin());
		return -1;
	}
	snprintf(fdb_dir, sizeof(fdb_dir), "/tmp/lineage-test-ferretdb.XXXXXX");
	if (!mkdtemp(fdb_dir))
		return -1;
	fdb_port = free_port();
	return make_dir(state);
}

static int outage_teardown(void **state)
{
	char cmd[300];

	ferretdb_kill();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fdb_dir);
	if (system(cmd) != 0)
		return -1;
	return remove_dir(state);
}

static void test_outage(void **state)
{
	char uri[128];
	struct writer_config cfg = { .db = TEST_DB, .spool_dir = sdir, .batch_max = 200,
				     .batch_age_ms = 50, .queue_max_items = 1000,
				     .spool_segment_docs = 300 };
	struct writer_stats ws;
	struct writer *w;
	int64_t seq = 0;
	double t0;
	int r;

	(void)state;
	snprintf(uri, sizeof(uri), "mongodb://127.0.0.1:%d/?serverSelectionTimeoutMS=1000",
		 fdb_port);
	cfg.uri = uri;
	ferretdb_start();
	clear(uri, "t_writer_b");
	assert_int_equal(writer_new(&cfg, &w), 0);
	assert_int_equal(writer_start(w), 0);

	/* up: 2000 documents at a steady pace */
	for (; seq < 2000; seq++) {
		assert_int_equal(writer_submit(w, "t_writer_b", make_doc("b", seq)), 0);
		if (seq % 100 == 99)
			usleep(20000);
	}
	usleep(300000);
	/* the server dies mid-stream; documents keep coming and nothing blocks */
	ferretdb_kill();
	t0 = now_s();
	for (; seq < 6000; seq++) {
		assert_int_equal(writer_submit(w, "t_writer_b", make_doc("b", seq)), 0);
		if (seq % 100 == 99)
			usleep(20000);
	}
	assert_true(now_s() - t0 < 20); /* submit never waited on the database */
	usleep(500000);
	writer_get_stats(w, &ws);
	assert_false(ws.db_up);
	assert_true(ws.spooled > 0);
	assert_true(ws.insert_errors >= 1); /* the first batch after the kill failed */
	assert_int_equal(ws.dropped, 0);

	/* back on the same port and directory; more documents while it replays */
	ferretdb_start();
	t0 = now_s();
	for (; seq < 7000; seq++) {
		assert_int_equal(writer_submit(w, "t_writer_b", make_doc("b", seq)), 0);
		if (seq % 100 == 99)
			usleep(20000);
	}
	/* while still running, the writer finds the server again (backoff ≤ 8 s) and replays
	 * the whole spool without being stopped */
	for (int i = 0; i < 200; i++) {
		writer_get_stats(w, &ws);
		if (ws.db_up && ws.replayed == ws.spooled)
			break;
		usleep(100000);
	}
	assert_true(ws.db_up);
	assert_int_equal(ws.replayed, ws.spooled);
	printf("# writer outage: live recovery (reconnect + replay of %" PRIu64 " docs) %.2f s "
	       "after the restart\n", ws.replayed, now_s() - t0);
	r = writer_stop(w, 60000);
	writer_get_stats(w, &ws);
	printf("# writer outage: submitted %" PRIu64 ", inserted %" PRIu64 ", duplicates %" PRIu64
	       ", spooled %" PRIu64 ", replayed %" PRIu64 ", insert errors %" PRIu64
	       ", dropped %" PRIu64 "; back-up to stopped in %.2f s\n",
	       ws.submitted, ws.inserted, ws.duplicates, ws.spooled, ws.replayed,
	       ws.insert_errors, ws.dropped, now_s() - t0);
	assert_int_equal(r, 0);
	assert_int_equal(ws.submitted, 7000);
	assert_true(ws.replayed > 0);
	assert_true(ws.replayed <= ws.spooled);
	assert_int_equal(ws.dropped, 0);
	assert_true(ws.inserted <= 7000);
	assert_true(ws.inserted + ws.duplicates >= 7000);
	assert_true(ws.db_up);
	writer_free(w);
	assert_int_equal(spool_files(), 0);
	assert_exactly(uri, "t_writer_b", 7000);
}

static void test_previous_run_spool(void **state)
{
	const char *uri = store_default_uri();
	struct writer_config cfg = { .uri = uri, .db = TEST_DB, .spool_dir = sdir,
				     .batch_max = 500, .batch_age_ms = 100 };
	struct spool_segment *segs;
	struct writer_stats ws;
	struct writer *w;
	struct spool *sp;
	struct stat s;
	size_t nsegs;
	int64_t seq;
	double t0, t1;

	(void)state;
	clear(uri, "t_writer_c");
	/* the "previous run": 20000 docs in segments of 2000, then one with a torn tail */
	assert_int_equal(spool_open(sdir, 2000, 1 << 30, &sp), 0);
	for (seq = 0; seq < 20000; seq++) {
		bson_t *d = make_doc("c", seq);

		assert_int_equal(spool_append(sp, "t_writer_c", d), 0);
		bson_destroy(d);
	}
	assert_int_equal(spool_flush(sp), 0);
	for (; seq < 20050; seq++) {
		bson_t *d = make_doc("c", seq);

		assert_int_equal(spool_append(sp, "t_writer_c", d), 0);
		bson_destroy(d);
	}
	spool_free(sp); /* closes the last segment */
	assert_int_equal(spool_open(sdir, 0, 0, &sp), 0);
	assert_int_equal(spool_list(sp, &segs, &nsegs), 0);
	assert_int_equal(nsegs, 11);
	assert_int_equal(stat(segs[10].path, &s), 0);
	assert_int_equal(truncate(segs[10].path, s.st_size - 5), 0); /* doc 20049 torn */
	spool_segments_free(segs, nsegs);
	spool_free(sp);

	/* this run: replays at start, alongside 100 new documents */
	t0 = now_s();
	assert_int_equal(writer_new(&cfg, &w), 0);
	assert_int_equal(writer_start(w), 0);
	for (seq = 20049; seq < 20149; seq++)
		assert_int_equal(writer_submit(w, "t_writer_c", make_doc("c", seq)), 0);
	assert_int_equal(writer_stop(w, 60000), 0);
	t1 = now_s();
	writer_get_stats(w, &ws);
	assert_int_equal(ws.torn_records, 1);
	assert_int_equal(ws.replayed, 20049);
	assert_int_equal(ws.dropped, 0);
	assert_int_equal(ws.inserted, 20149);
	writer_free(w);
	assert_int_equal(spool_files(), 0);
	assert_exactly(uri, "t_writer_c", 20149);
	printf("# writer: replayed 20049 spooled docs (+100 live) in %.3f s = %.0f docs/s\n",
	       t1 - t0, 20149 / (t1 - t0));
}

static void test_down_at_stop_keeps_spool(void **state)
{
	/* nothing listens: stop gives up after its timeout, everything is in the spool, and a
	 * writer on the same directory later delivers it */
	char uri[128];
	struct writer_config cfg = { .db = TEST_DB, .spool_dir = sdir, .batch_max = 100,
				     .batch_age_ms = 50 };
	struct writer_stats ws;
	struct writer *w;

	(void)state;
	snprintf(uri, sizeof(uri), "mongodb://127.0.0.1:%d/?serverSelectionTimeoutMS=300",
		 free_port());
	cfg.uri = uri;
	assert_int_equal(writer_new(&cfg, &w), 0);
	assert_int_equal(writer_start(w), 0);
	for (int64_t i = 0; i < 1000; i++)
		assert_int_equal(writer_submit(w, "t_writer_d", make_doc("d", i)), 0);
	assert_int_equal(writer_stop(w, 1000), -ETIMEDOUT);
	/* after stop, submits still land in the spool */
	assert_int_equal(writer_submit(w, "t_writer_d", make_doc("d", 1000)), 0);
	writer_get_stats(w, &ws);
	assert_int_equal(ws.spooled, 1001);
	assert_int_equal(ws.inserted, 0);
	assert_false(ws.db_up);
	writer_free(w);
	assert_true(spool_files() > 0);

	clear(store_default_uri(), "t_writer_d");
	cfg.uri = store_default_uri();
	assert_int_equal(writer_new(&cfg, &w), 0);
	assert_int_equal(writer_start(w), 0);
	assert_int_equal(writer_stop(w, 60000), 0);
	writer_get_stats(w, &ws);
	assert_int_equal(ws.replayed, 1001);
	writer_free(w);
	assert_int_equal(spool_files(), 0);
	assert_exactly(store_default_uri(), "t_writer_d", 1001);
}

/* The queue is full and the spool cannot write (RLIMIT_FSIZE: EFBIG, the ENOSPC path):
 * writer_submit() returns the error and counts the document as dropped; nothing else. */
static void test_drop_counted(void **state)
{
	struct writer_config cfg = { .uri = "mongodb://127.0.0.1:1/", .db = TEST_DB,
				     .spool_dir = sdir, .queue_max_items = 1 };
	struct writer_stats ws;
	struct rlimit old, lim;
	struct writer *w;
	uint64_t ok = 0, failed = 0;

	(void)state;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(writer_new(&cfg, &w), 0); /* not started: the queue stays full */
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 4096;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	for (int64_t i = 0; i < 200; i++) {
		int r = writer_submit(w, "t_writer_e", make_doc("e", i));

		if (r == 0) {
			ok++;
		} else {
			assert_int_equal(r, -EFBIG);
			failed++;
		}
	}
	writer_get_stats(w, &ws);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_true(failed > 0);
	assert_int_equal(ws.submitted, 200);
	assert_int_equal(ws.dropped, failed);
	assert_int_equal(ws.spooled, ok - 1); /* one sits in the queue */
	assert_int_equal(ws.queue_depth, 1);
	writer_free(w); /* spools the queued one (the limit is lifted) */
	assert_int_equal(spool_files(), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_5000_docs, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_outage, outage_setup, outage_teardown),
		cmocka_unit_test_setup_teardown(test_previous_run_spool, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_down_at_stop_keeps_spool, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_drop_counted, make_dir, remove_dir),
	};
	int r;

	signal(SIGPIPE, SIG_IGN);
	store_global_init();
	r = cmocka_run_group_tests_name("writer", tests, NULL, NULL);
	store_global_cleanup();
	return r;
}
