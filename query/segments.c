/* segments.c — lineage-query's reads of the raw streams (issue 33): the session's segments
 * that may hold what a filter asks for (pruned by pid, container, syscall through
 * common/segment_read), decoded, each document checked against the whole filter and handed
 * on in seq order. Owns nothing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"
#include "schema.h"
#include "segment.h"
#include "segment_read.h"
#include "store.h"

bool q_is_raw(const char *coll)
{
	return seg_stream_index(coll) >= 0;
}

struct rawread {
	struct qctx *ctx;
	const bson_t *filter;
	int (*fn)(struct qctx *ctx, const bson_t *doc, void *data);
	void *data;
};

/* An ordered segment read hands each segment's documents in seq order (segment_read.h) */
static int on_doc(void *opaque, const char *stream, const bson_t *doc)
{
	struct rawread *rr = opaque;

	(void)stream;
	return q_match(doc, rr->filter) ? rr->fn(rr->ctx, doc, rr->data) : 0;
}

static void on_bad(void *opaque, const char *id, const char *why)
{
	(void)opaque;
	fprintf(stderr, "lineage-query: segment %s does not decode (%s): skipped\n", id, why);
}

int q_raw_each(struct qctx *ctx, const char *stream, const bson_t *filter,
	       int (*fn)(struct qctx *ctx, const bson_t *doc, void *data), void *data)
{
	struct rawread rr = { .ctx = ctx, .filter = filter, .fn = fn, .data = data };
	struct segread_ops ops = { .doc = on_doc, .bad = on_bad, .opaque = &rr };
	struct segread_query q = { .stream = stream, .ordered = true };
	bson_oid_t session;
	bson_iter_t it;
	char err[400] = "";
	int r;

	if (!filter || !bson_iter_init_find(&it, filter, SCHEMA_F_SESSION) ||
	    !BSON_ITER_HOLDS_OID(&it)) {
		snprintf(ctx->err, sizeof(ctx->err), "a read of raw %s needs a session", stream);
		ctx->status = QEXIT_USAGE;
		return -EINVAL;
	}
	bson_oid_copy(bson_iter_oid(&it), &session);
	if (bson_iter_init_find(&it, filter, SCHEMA_F_PID) && BSON_ITER_HOLDS_INT(&it))
		q.tgid = bson_iter_as_int64(&it);
	else if (bson_iter_init_find(&it, filter, SCHEMA_F_TGID) && BSON_ITER_HOLDS_INT(&it))
		q.tgid = bson_iter_as_int64(&it);
	if (bson_iter_init_find(&it, filter, SCHEMA_F_CONTAINER) && BSON_ITER_HOLDS_UTF8(&it) &&
	    strlen(bson_iter_utf8(&it, NULL)) == 64)
		q.container = bson_iter_utf8(&it, NULL);
	if (bson_iter_init_find(&it, filter, SCHEMA_F_SYSCALL) && BSON_ITER_HOLDS_UTF8(&it))
		q.syscall = bson_iter_utf8(&it, NULL);
	else if (bson_iter_init_find(&it, filter, SCHEMA_F_WHAT) && BSON_ITER_HOLDS_UTF8(&it))
		q.syscall = bson_iter_utf8(&it, NULL);
	r = segread_each(ctx->st, &session, &q, &ops, NULL, err, sizeof(err));
	if (r < 0 && err[0])
		return q_store_error(ctx, r, SCHEMA_SEGMENTS, err);
	return r < 0 ? r : 0;
}
