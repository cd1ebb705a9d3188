/* seqwalk.h — a session's raw documents (events, proc_events) in the listener's seq order,
 * as they arrive, for --follow over the whole host.
 *
 * Every listener document has _id "<session hex>:<seq>", seq one counter shared by all raw
 * collections. FerretDB on PostgreSQL answers an _id equality from its primary key whatever
 * the session's size, while `seq > N` is not pushed down (it reads the whole session each
 * time), so the walk looks seq numbers up one by one, SEQWALK_WORKERS in flight on their own
 * connections. A seq missing for SEQWALK_GAP_MS while later ones exist (a refused document,
 * a batch still in a spool) is skipped; when the walk is more than SEQWALK_BEHIND_MS behind
 * the documents' times it jumps to the end. Both are counted (and the jump said on stderr).
 *
 * A struct seqwalk borrows the query context (its store, for the single-connection parts,
 * and its error fields) and owns its worker threads and their connections. */
#ifndef LINEAGE_QUERY_SEQWALK_H
#define LINEAGE_QUERY_SEQWALK_H

#include <bson/bson.h>
#include <signal.h>
#include <stdint.h>

#include "query.h"

#define SEQWALK_WORKERS 8      /* lookups in flight: one store connection each */
#define SEQWALK_GAP_MS 2000    /* how long a missing seq may hold up the ones after it */
#define SEQWALK_AHEAD 32       /* how far ahead to look when a seq is missing */
#define SEQWALK_BEHIND_MS 5000 /* further behind than this: jump to the end, counted */

/* The raw collections a seq can be in (index given to the callback). */
enum { SEQWALK_EVENTS, SEQWALK_PROC_EVENTS, SEQWALK_SNAPSHOT };

struct seqwalk;

/* A walk of ctx->session, positioned after the last document recorded so far (*ret_last).
 * parallel: start the workers (else one lookup at a time on ctx's connection). stop is
 * checked between lookups (a signal handler's flag). 0 or negative with ctx->err set. */
int seqwalk_new(struct qctx *ctx, bool parallel, volatile sig_atomic_t *stop,
		struct seqwalk **ret, int64_t *ret_last);
void seqwalk_free(struct seqwalk *w);

/* The highest seq recorded so far (approximately: a gap of more than 4 can hide the end). */
int seqwalk_last(struct seqwalk *w, int64_t *ret);

/* Hand every document from the current position on that is there to fn, in seq order;
 * returns how many, or a negative store error (ctx->err set). doc is valid during the
 * call only. */
int seqwalk_drain(struct seqwalk *w, void (*fn)(void *data, int coll, const bson_t *doc),
		  void *data);

/* Nothing new: skip a seq that has been missing too long while later ones exist. */
int seqwalk_idle(struct seqwalk *w);

/* The next seq to read; seq numbers skipped as gaps, passed over by catch-up jumps. */
int64_t seqwalk_next(const struct seqwalk *w);
int64_t seqwalk_skipped(const struct seqwalk *w);
int64_t seqwalk_jumped(const struct seqwalk *w);

#endif
