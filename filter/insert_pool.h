/* insert_pool.h — the filter's output inserts on several connections at once (issue 33
 * item 7): a MongoDB-wire server like FerretDB spends its time per document, on the server
 * side, so batches sent in parallel from a few connections overlap its work with the
 * filter's building of the next batch. The caller builds batches of documents and hands
 * them over; IPOOL_THREADS threads, each with its own store client (store_clone), insert
 * them. Order between batches is not kept (the output's readers do not depend on it).
 *
 * One producer thread. Errors: the first failure is kept and returned by ipool_finish();
 * later batches are dropped (the run fails anyway). */
#ifndef LINEAGE_FILTER_INSERT_POOL_H
#define LINEAGE_FILTER_INSERT_POOL_H

#include <bson/bson.h>
#include <stddef.h>

#define IPOOL_THREADS 3
#define IPOOL_QUEUE 4 /* batches waiting at most: bounds the memory */

struct store;
struct ipool;

/* nthreads 0: IPOOL_THREADS. *ret the caller's: ipool_finish() then ipool_free(). */
int ipool_new(struct store *st, size_t nthreads, struct ipool **ret, char *err, size_t errlen);

/* Hand n documents (an array of n heap bson_t, bson_new'd; the pool owns both from now on)
 * for collection coll (copied). Blocks while IPOOL_QUEUE batches wait. 0, or the first
 * failure so far (then docs are freed, not inserted). */
int ipool_submit(struct ipool *p, const char *coll, bson_t **docs, size_t n);

/* Wait until every batch is inserted. 0 or the first failure (err says why). */
int ipool_finish(struct ipool *p, char *err, size_t errlen);
void ipool_free(struct ipool *p);

#endif
