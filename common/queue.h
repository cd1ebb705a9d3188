/* queue.h — a bounded multi-producer, single-consumer queue of documents between the kernel
 * readers and the writer thread. Bounded by item count and by bytes (sum of doc->len).
 *
 * queue_push() never blocks: when the queue is full it returns -ENOSPC and the caller keeps
 * the document (and spools it). queue_pop_batch() blocks the consumer up to a timeout.
 * queue_close() wakes the consumer: it drains what is left, then gets -EPIPE. All functions
 * are thread safe. */
#ifndef LINEAGE_QUEUE_H
#define LINEAGE_QUEUE_H

#include <bson/bson.h>
#include <stddef.h>
#include <stdint.h>

struct queue;

struct queue_item {
	const char *collection; /* static string (a collection name), never freed */
	bson_t *doc;            /* heap (bson_new), owned by whoever holds the item */
};

struct queue_stats {
	size_t depth;     /* items now queued */
	size_t bytes;     /* sum of their doc->len */
	size_t depth_hwm; /* high-water marks since queue_new() */
	size_t bytes_hwm;
	uint64_t pushed;   /* accepted by queue_push() */
	uint64_t rejected; /* refused with -ENOSPC or -EPIPE (caller spooled or dropped them) */
	uint64_t popped;
};

/* A queue of at most max_items items and max_bytes bytes (both > 0).
 * On success *ret is owned by the caller: release with queue_free(). */
int queue_new(size_t max_items, size_t max_bytes, struct queue **ret);

/* Destroys the documents still queued. Accepts NULL. No thread may use q any more. */
void queue_free(struct queue *q);

/* Enqueue doc for collection. 0: the queue owns doc now. -ENOSPC: full (by count or by
 * bytes; a document larger than max_bytes is always refused); -EPIPE: closed. On any error
 * the caller still owns doc. Never blocks beyond the queue's mutex. */
int queue_push(struct queue *q, const char *collection, bson_t *doc);

/* Move up to max items (oldest first) into items[]; the caller owns their docs. Waits up to
 * timeout_ms for the first item (0: do not wait). Returns the number of items (0 on
 * timeout), or -EPIPE once the queue is closed and empty. */
int queue_pop_batch(struct queue *q, struct queue_item *items, size_t max, unsigned timeout_ms);

/* Refuse further pushes and wake the consumer. Idempotent. */
void queue_close(struct queue *q);

/* A consistent snapshot of the counters. */
void queue_get_stats(struct queue *q, struct queue_stats *ret);

#endif
