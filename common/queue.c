/* queue.c — the bounded MPSC document queue (see queue.h): a ring of items under one mutex,
 * one condition variable for the single consumer. Owns the ring and the queued documents. */
#include "queue.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct queue {
	pthread_mutex_t lock;
	pthread_cond_t nonempty; /* signalled on push and on close */
	struct queue_item *ring;
	size_t cap, head, depth; /* head: oldest item */
	size_t max_bytes, bytes;
	bool closed;
	struct queue_stats st;
};

int queue_new(size_t max_items, size_t max_bytes, struct queue **ret)
{
	pthread_condattr_t ca;
	struct queue *q;

	if (max_items == 0 || max_bytes == 0)
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->ring = calloc(max_items, sizeof(*q->ring));
	if (!q->ring) {
		free(q);
		return -ENOMEM;
	}
	q->cap = max_items;
	q->max_bytes = max_bytes;
	pthread_mutex_init(&q->lock, NULL);
	/* timeouts on the monotonic clock: a wall-clock step must not stall the writer */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->nonempty, &ca);
	pthread_condattr_destroy(&ca);
	*ret = q;
	return 0;
}

void queue_free(struct queue *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < q->depth; i++)
		bson_destroy(q->ring[(q->head + i) % q->cap].doc);
	pthread_cond_destroy(&q->nonempty);
	pthread_mutex_destroy(&q->lock);
	free(q->ring);
	free(q);
}

int queue_push(struct queue *q, const char *collection, bson_t *doc)
{
	size_t len = doc->len;
	int r = 0;

	pthread_mutex_lock(&q->lock);
	if (q->closed) {
		r = -EPIPE;
	} else if (q->depth == q->cap || len > q->max_bytes - q->bytes) {
		r = -ENOSPC;
	} else {
		struct queue_item *it = &q->ring[(q->head + q->depth) % q->cap];

		it->collection = collection;
		it->doc = doc;
		q->depth++;
		q->bytes += len;
		q->st.pushed++;
		if (q->depth > q->st.depth_hwm)
			q->st.depth_hwm = q->depth;
		if (q->bytes > q->st.bytes_hwm)
			q->st.bytes_hwm = q->bytes;
		if (q->depth == 1)
			pthread_cond_signal(&q->nonempty);
	}
	if (r < 0)
		q->st.rejected++;
	pthread_mutex_unlock(&q->lock);
	return r;
}

int queue_pop_batch(struct queue *q, struct queue_item *items, size_t max, unsigned timeout_ms)
{
	struct timespec deadline;
	size_t n = 0;

	if (max > INT_MAX)
		max = INT_MAX; /* the count is returned as an int */

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}

	pthread_mutex_lock(&q->lock);
	while (q->depth == 0 && !q->closed && timeout_ms > 0) {
		if (pthread_cond_timedwait(&q->nonempty, &q->lock, &deadline) == ETIMEDOUT)
			break;
	}
	while (n < max && q->depth > 0) {
		items[n++] = q->ring[q->head];
		q->bytes -= q->ring[q->head].doc->len;
		q->ring[q->head].doc = NULL;
		q->head = (q->head + 1) % q->cap;
		q->depth--;
	}
	q->st.popped += n;
	if (n == 0 && q->closed) {
		pthread_mutex_unlock(&q->lock);
		return -EPIPE;
	}
	pthread_mutex_unlock(&q->lock);
	return (int)n;
}

void queue_close(struct queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	pthread_cond_broadcast(&q->nonempty);
	pthread_mutex_unlock(&q->lock);
}

void queue_get_stats(struct queue *q, struct queue_stats *ret)
{
	pthread_mutex_lock(&q->lock);
	*ret = q->st;
	ret->depth = q->depth;
	ret->bytes = q->bytes;
	pthread_mutex_unlock(&q->lock);
}
