/* segments.c — lineage-query's reads of the raw streams (issue 33): the session's segments
 * that may hold what a filter asks for (pruned by pid, container, syscall through
 * common/segment_read), decoded, each document checked against the whole filter and handed
 * on in seq order. Owns the documents it holds to sort them within one segment. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "query.h"
#include "schema.h"
#include "segment_read.h"
#include "store.h"

static const char *const raw_streams[] = { SCHEMA_EVENTS, SCHEMA_PROC_EVENTS, SCHEMA_SNAPSHOT,
					   SCHEMA_CONTAINER_FACTS };

bool q_is_raw(const char *coll)
{
	for (size_t i = 0; i < sizeof(raw_streams) / sizeof(raw_streams[0]); i++)
		if (!strcmp(coll, raw_streams[i]))
			return true;
	return false;
}

struct held_doc {
	int64_t seq;
	bson_t *doc;
};

struct rawread {
	struct qctx *ctx;
	const bson_t *filter;
	int (*fn)(struct qctx *ctx, const bson_t *doc, void *data);
	void *data;
	/* the documents of the current segment: a segment holds them in submit order, nearly
	 * seq order (two threads submit); sorted before they are handed on */
	struct held_doc *v;
	size_t n, cap;
	int64_t last_seq_first;
	int stopped;
};

static int cmp_held(const void *a, const void *b)
{
	const struct held_doc *x = a, *y = b;

	return (x->seq > y->seq) - (x->seq < y->seq);
}

static int flush(struct rawread *rr)
{
	int r = 0;

	if (rr->n > 1)
		qsort(rr->v, rr->n, sizeof(*rr->v), cmp_held);
	for (size_t i = 0; i < rr->n; i++) {
		if (r == 0)
			r = rr->fn(rr->ctx, rr->v[i].doc, rr->data);
		bson_destroy(rr->v[i].doc);
	}
	rr->n = 0;
	return r;
}

static int on_segment(void *opaque, const bson_t *segdoc)
{
	struct rawread *rr = opaque;

	(void)segdoc;
	return flush(rr); /* the previous segment's documents, before this one's */
}

static int on_doc(void *opaque, const char *stream, const bson_t *doc)
{
	struct rawread *rr = opaque;
	bson_iter_t it;

	(void)stream;
	if (!q_match(doc, rr->filter))
		return 0;
	if (grow_room((void **)&rr->v, sizeof(*rr->v), rr->n, &rr->cap) < 0)
		return -ENOMEM;
	rr->v[rr->n].seq = bson_iter_init_find(&it, doc, SCHEMA_F_SEQ) && BSON_ITER_HOLDS_INT(&it)
				   ? bson_iter_as_int64(&it) : 0;
	if (!(rr->v[rr->n].doc = bson_copy(doc)))
		return -ENOMEM;
	rr->n++;
	return 0;
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
	struct segread_ops ops = { .segment = on_segment, .doc = on_doc, .bad = on_bad,
				   .opaque = &rr };
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
	if (r == 0)
		r = flush(&rr);
	for (size_t i = 0; i < rr.n; i++)
		bson_destroy(rr.v[i].doc);
	free(rr.v);
	if (r < 0 && err[0])
		return q_store_error(ctx, r, SCHEMA_SEGMENTS, err);
	return r < 0 ? r : 0;
}
