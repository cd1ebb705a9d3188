/* segwalk.h — a session's raw documents (events, proc_events, snapshot) as they arrive, for
 * --follow (issue 33): the walk follows the evidence chain's link numbers, one indexed
 * {session, link: N} equality per segment (FerretDB pushes no range down: `seq > N` would
 * read the whole session every poll), decodes each segment and hands its documents on in seq
 * order. A link missing for SEGWALK_GAP_MS while a later one exists (a segment still in a
 * spool, or removed) is skipped and counted. A session recorded without a chain is walked
 * by listing its segments' _ids each poll (cost grows with the session).
 *
 * A struct segwalk borrows the query context (its store and its error fields). */
#ifndef LINEAGE_QUERY_SEGWALK_H
#define LINEAGE_QUERY_SEGWALK_H

#include <bson/bson.h>
#include <signal.h>
#include <stdint.h>

#include "query.h"

#define SEGWALK_GAP_MS 2000 /* how long a missing link may hold up the ones after it */
#define SEGWALK_AHEAD 8     /* how far ahead to look when a link is missing */

/* The streams a document can come from (index given to the callback). */
enum { SEGWALK_EVENTS, SEGWALK_PROC_EVENTS, SEGWALK_SNAPSHOT, SEGWALK_OTHER };

struct segwalk;

/* A walk of ctx->session, positioned after the last segment stored so far (*ret_last: its
 * highest seq, 0 when none). stop is checked between segments. 0 or negative with ctx->err
 * set. */
int segwalk_new(struct qctx *ctx, volatile sig_atomic_t *stop, struct segwalk **ret,
		int64_t *ret_last);
void segwalk_free(struct segwalk *w);

/* Hand the documents of every segment from the current position on that is there to fn, in
 * seq order within each segment; returns how many documents, or a negative store error.
 * doc is valid during the call only. */
int segwalk_drain(struct segwalk *w, void (*fn)(void *data, int stream, const bson_t *doc),
		  void *data);

/* Nothing new: skip a link that has been missing too long while later ones exist. */
int segwalk_idle(struct segwalk *w);

/* The highest seq handed on + 1; segments skipped. */
int64_t segwalk_next(const struct segwalk *w);
int64_t segwalk_skipped(const struct segwalk *w);

#endif
