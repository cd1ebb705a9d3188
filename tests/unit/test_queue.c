/* test_queue.c — queue.c: bounds by item count and by bytes (-ENOSPC, caller keeps the doc),
 * FIFO order, timeout, close waking a blocked consumer, and two producers with exact counts. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "queue.h"

static bson_t *make_doc(int64_t i, size_t pad)
{
	bson_t *d = bson_new();
	char buf[4096];

	BSON_APPEND_INT64(d, "i", i);
	if (pad) {
		memset(buf, 'x', pad);
		buf[pad] = '\0';
		BSON_APPEND_UTF8(d, "pad", buf);
	}
	return d;
}

static int64_t doc_i(const bson_t *d)
{
	bson_iter_t it;

	assert_true(bson_iter_init_find(&it, d, "i"));
	return bson_iter_as_int64(&it);
}

static void test_bound_by_count(void **state)
{
	struct queue *q;
	struct queue_item items[8];
	struct queue_stats st;
	bson_t *extra;

	(void)state;
	assert_int_equal(queue_new(3, 1 << 20, &q), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(queue_push(q, "events", make_doc(i, 0)), 0);
	extra = make_doc(99, 0);
	assert_int_equal(queue_push(q, "events", extra), -ENOSPC);
	queue_get_stats(q, &st);
	assert_int_equal(st.depth, 3);
	assert_int_equal(st.pushed, 3);
	assert_int_equal(st.rejected, 1);
	assert_int_equal(st.depth_hwm, 3);

	/* FIFO, and the caller still owns the rejected doc */
	assert_int_equal(queue_pop_batch(q, items, 2, 0), 2);
	assert_int_equal(doc_i(items[0].doc), 0);
	assert_int_equal(doc_i(items[1].doc), 1);
	assert_string_equal(items[0].collection, "events");
	bson_destroy(items[0].doc);
	bson_destroy(items[1].doc);
	assert_int_equal(queue_push(q, "proc_events", extra), 0); /* room again */
	assert_int_equal(queue_pop_batch(q, items, 8, 0), 2);
	assert_int_equal(doc_i(items[0].doc), 2);
	assert_int_equal(doc_i(items[1].doc), 99);
	assert_string_equal(items[1].collection, "proc_events");
	bson_destroy(items[0].doc);
	bson_destroy(items[1].doc);
	queue_get_stats(q, &st);
	assert_int_equal(st.depth, 0);
	assert_int_equal(st.bytes, 0);
	assert_int_equal(st.popped, 4);

	/* leftovers are freed by queue_free (ASan checks) */
	assert_int_equal(queue_push(q, "events", make_doc(5, 0)), 0);
	queue_free(q);
}

static void test_bound_by_bytes(void **state)
{
	struct queue *q;
	struct queue_item items[4];
	struct queue_stats st;
	bson_t *a = make_doc(1, 1000), *b = make_doc(2, 1000), *big = make_doc(3, 3000);
	size_t len = a->len;

	(void)state;
	assert_true(len > 1000 && len < 1100);
	assert_int_equal(queue_new(100, 2 * len + 10, &q), 0);
	assert_int_equal(queue_push(q, "events", a), 0);
	assert_int_equal(queue_push(q, "events", b), 0);
	assert_int_equal(queue_push(q, "events", big), -ENOSPC); /* 100 items allowed, bytes not */
	queue_get_stats(q, &st);
	assert_int_equal(st.bytes, 2 * len);
	assert_int_equal(st.bytes_hwm, 2 * len);
	assert_int_equal(queue_pop_batch(q, items, 4, 0), 2);
	bson_destroy(items[0].doc);
	bson_destroy(items[1].doc);
	/* even in an empty queue a doc larger than the byte bound is refused */
	assert_int_equal(queue_push(q, "events", big), -ENOSPC);
	bson_destroy(big);
	queue_get_stats(q, &st);
	assert_int_equal(st.rejected, 2);
	assert_int_equal(st.bytes, 0);
	queue_free(q);
}

static void test_timeout(void **state)
{
	struct queue *q;
	struct queue_item items[1];
	struct timespec a, b;
	long ms;

	(void)state;
	assert_int_equal(queue_new(4, 4096, &q), 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(queue_pop_batch(q, items, 1, 100), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	assert_true(ms >= 99); /* it did wait */
	queue_free(q);
}

struct waiter {
	struct queue *q;
	int result;
};

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;
	struct queue_item items[1];

	w->result = queue_pop_batch(w->q, items, 1, 60000);
	return NULL;
}

static void test_close_wakes_consumer(void **state)
{
	struct waiter w = { 0 };
	struct queue_item items[4];
	pthread_t t;
	bson_t *d = make_doc(7, 0);

	(void)state;
	assert_int_equal(queue_new(4, 4096, &w.q), 0);
	w.result = 12345;
	assert_int_equal(pthread_create(&t, NULL, wait_thread, &w), 0);
	usleep(50000);
	queue_close(w.q);
	pthread_join(t, NULL); /* would hang 60 s without the wakeup */
	assert_int_equal(w.result, -EPIPE);
	assert_int_equal(queue_push(w.q, "events", d), -EPIPE);
	bson_destroy(d);
	queue_free(w.q);

	/* closed but not empty: the consumer drains first, then gets -EPIPE */
	assert_int_equal(queue_new(4, 4096, &w.q), 0);
	assert_int_equal(queue_push(w.q, "events", make_doc(1, 0)), 0);
	queue_close(w.q);
	assert_int_equal(queue_pop_batch(w.q, items, 4, 1000), 1);
	bson_destroy(items[0].doc);
	assert_int_equal(queue_pop_batch(w.q, items, 4, 1000), -EPIPE);
	queue_free(w.q);
}

#define PER_PRODUCER 20000

struct producer {
	struct queue *q;
	int64_t base;
	uint64_t accepted, rejected;
};

static void *produce(void *arg)
{
	struct producer *p = arg;

	for (int64_t i = 0; i < PER_PRODUCER; i++) {
		bson_t *d = make_doc(p->base + i, 0);

		if (queue_push(p->q, "events", d) == 0) {
			p->accepted++;
		} else {
			p->rejected++;
			bson_destroy(d);
		}
	}
	return NULL;
}

static void test_two_producers(void **state)
{
	struct producer p[2] = { { .base = 0 }, { .base = 1000000 } };
	struct queue_item items[64];
	struct queue_stats st;
	pthread_t t[2];
	uint64_t got = 0, seen[2] = { 0 };
	int64_t last[2] = { -1, 999999 };
	int n;

	(void)state;
	assert_int_equal(queue_new(256, 1 << 20, &p[0].q), 0);
	p[1].q = p[0].q;
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, produce, &p[i]), 0);
	/* consume until both producers are done and the queue is empty */
	for (int joined = 0;;) {
		n = queue_pop_batch(p[0].q, items, 64, 10);
		assert_true(n >= 0);
		for (int i = 0; i < n; i++) {
			int64_t v = doc_i(items[i].doc);
			int who = v >= 1000000;

			/* per producer, order is preserved */
			assert_true(v > last[who]);
			last[who] = v;
			seen[who]++;
			bson_destroy(items[i].doc);
		}
		got += (uint64_t)n;
		if (!joined && n == 0) {
			pthread_join(t[0], NULL);
			pthread_join(t[1], NULL);
			joined = 1;
			continue;
		}
		if (joined && n == 0)
			break;
	}
	queue_get_stats(p[0].q, &st);
	assert_int_equal(p[0].accepted + p[0].rejected, PER_PRODUCER);
	assert_int_equal(p[1].accepted + p[1].rejected, PER_PRODUCER);
	assert_int_equal(got, p[0].accepted + p[1].accepted);
	assert_int_equal(seen[0], p[0].accepted);
	assert_int_equal(seen[1], p[1].accepted);
	assert_int_equal(st.pushed, got);
	assert_int_equal(st.popped, got);
	assert_int_equal(st.rejected, p[0].rejected + p[1].rejected);
	assert_true(st.depth_hwm <= 256);
	assert_int_equal(st.depth, 0);
	queue_free(p[0].q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bound_by_count),
		cmocka_unit_test(test_bound_by_bytes),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_close_wakes_consumer),
		cmocka_unit_test(test_two_producers),
	};

	return cmocka_run_group_tests_name("queue", tests, NULL, NULL);
}
