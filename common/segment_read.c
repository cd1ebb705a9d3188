/* segment_read.c — a session's segments from the store, pruned and decoded (segment_read.h).
 * Owns the copies of the segment documents it holds for ordering, and each segment's
 * decompressed bytes while its documents are handed on. */
#include "segment_read.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "schema.h"
#include "segment.h"
#include "store.h"

struct prune {
	const char *key, *capped;
	int64_t num;     /* the value when str is NULL */
	const char *str;
};

struct held {
	bson_t *doc;
	int64_t seq_first;
};

struct reader {
	const struct segread_query *q;
	const struct segread_ops *ops;
	struct segread_stats st;
	struct held *held;
	size_t nheld, cap;
};

static bool overlaps(const struct segread_query *q, const struct seg_header *h)
{
	if (q->seq_min > 0 && h->seq_last < q->seq_min)
		return false;
	if (q->since_ms && h->ts_last != INT64_MIN && h->ts_last < q->since_ms)
		return false;
	if (q->until_ms && h->ts_first != INT64_MIN && h->ts_first > q->until_ms)
		return false;
	return true;
}

/* One segment document: the hooks, then its documents. */
static int one_segment(struct reader *rd, const bson_t *segdoc)
{
	struct seg_header h;
	uint8_t *raw = NULL;
	char why[160];
	size_t pos = 0;
	bson_t doc;
	int r;

	r = seg_header_read(segdoc, &h, why, sizeof(why));
	if (r == 0 && !overlaps(rd->q, &h))
		return 0;
	rd->st.segments++;
	/* the chain check sees every segment, also one whose header is damaged */
	if (rd->ops->segment) {
		int s = rd->ops->segment(rd->ops->opaque, segdoc);

		if (s < 0)
			return s;
	}
	if (r < 0) {
		bson_iter_t it;
		const char *id = bson_iter_init_find(&it, segdoc, SCHEMA_F_ID) &&
						 BSON_ITER_HOLDS_UTF8(&it) ?
					 bson_iter_utf8(&it, NULL) :
					 "(no _id)";

		rd->st.bad++;
		if (rd->ops->bad)
			rd->ops->bad(rd->ops->opaque, id, why);
		return 0;
	}
	rd->st.bytes += h.data_len;
	if (!rd->ops->doc)
		return 0;
	r = seg_unpack(&h, &raw, why, sizeof(why));
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		rd->st.bad++;
		if (rd->ops->bad)
			rd->ops->bad(rd->ops->opaque, h.id, why);
		return 0;
	}
	if (rd->q->ordered) {
		struct seg_doc *v = NULL;
		size_t n = 0;

		r = seg_docs_by_seq(raw, (size_t)h.raw_bytes, &v, &n);
		for (size_t i = 0; r == 0 && i < n; i++) {
			if (!bson_init_static(&doc, v[i].data, v[i].len))
				continue;
			rd->st.docs++;
			r = rd->ops->doc(rd->ops->opaque, h.stream, &doc);
		}
		free(v);
		free(raw);
		return r < 0 ? r : 0;
	}
	while (seg_next(raw, (size_t)h.raw_bytes, &pos, &doc) == 1) {
		rd->st.docs++;
		r = rd->ops->doc(rd->ops->opaque, h.stream, &doc);
		if (r < 0)
			break;
	}
	free(raw);
	return r < 0 ? r : 0;
}

static int hold(struct reader *rd, const bson_t *segdoc)
{
	bson_iter_t it;
	int64_t seq = 0;

	if (bson_iter_init_find(&it, segdoc, SCHEMA_F_SEG_SEQ_FIRST) && BSON_ITER_HOLDS_INT(&it))
		seq = bson_iter_as_int64(&it);
	if (grow_room((void **)&rd->held, sizeof(*rd->held), rd->nheld, &rd->cap) < 0)
		return -ENOMEM;
	rd->held[rd->nheld].doc = bson_copy(segdoc);
	if (!rd->held[rd->nheld].doc)
		return -ENOMEM;
	rd->held[rd->nheld++].seq_first = seq;
	return 0;
}

static int cmp_held(const void *a, const void *b)
{
	const struct held *x = a, *y = b;
	int r = (x->seq_first > y->seq_first) - (x->seq_first < y->seq_first);
	const char *ix = "", *iy = "";
	bson_iter_t it;

	if (r)
		return r;
	if (bson_iter_init_find(&it, x->doc, SCHEMA_F_ID) && BSON_ITER_HOLDS_UTF8(&it))
		ix = bson_iter_utf8(&it, NULL);
	if (bson_iter_init_find(&it, y->doc, SCHEMA_F_ID) && BSON_ITER_HOLDS_UTF8(&it))
		iy = bson_iter_utf8(&it, NULL);
	return strcmp(ix, iy);
}

/* One find; each segment read at once (unordered, one query) or held. */
static int run_find(struct store *st, struct reader *rd, const bson_t *filter, bool holding,
		    char *err, size_t errlen)
{
	struct store_cursor *cur = NULL;
	const bson_t *doc;
	int r;

	r = store_find(st, SCHEMA_SEGMENTS, filter, NULL, &cur, err, errlen);
	if (r < 0)
		return r;
	while ((r = store_cursor_next(cur, &doc, err, errlen)) == 1) {
		r = holding ? hold(rd, doc) : one_segment(rd, doc);
		if (r < 0)
			break;
	}
	store_cursor_free(cur);
	return r < 0 ? r : 0;
}

static void base_filter(bson_t *f, const bson_oid_t *session, const struct segread_query *q)
{
	BSON_APPEND_OID(f, SCHEMA_F_SESSION, session);
	if (q->stream)
		BSON_APPEND_UTF8(f, SCHEMA_F_SEG_STREAM, q->stream);
}

int segread_each(struct store *st, const bson_oid_t *session, const struct segread_query *q,
		 const struct segread_ops *ops, struct segread_stats *stats, char *err,
		 size_t errlen)
{
	struct reader rd = { .q = q, .ops = ops };
	/* A pruned read asks, for each header field it prunes by, for the segments naming the
	 * value or the segments whose list of that field was capped: one find per combination
	 * (at most 2^3), their union held and sorted, duplicates dropped. */
	struct prune pk[3];
	size_t npk = 0;
	bool holding;
	int r = 0;

	if (q->tgid > 0)
		pk[npk++] = (struct prune){ SCHEMA_F_SEG_TGIDS, SCHEMA_F_SEG_TGIDS_CAPPED, q->tgid,
					     NULL };
	if (q->container)
		pk[npk++] = (struct prune){ SCHEMA_F_SEG_CONTAINERS,
					     SCHEMA_F_SEG_CONTAINERS_CAPPED, 0, q->container };
	if (q->syscall)
		pk[npk++] = (struct prune){ SCHEMA_F_SEG_SYSCALLS, SCHEMA_F_SEG_SYSCALLS_CAPPED, 0,
					     q->syscall };
	holding = q->ordered || npk > 0;
	for (unsigned mask = 0; mask < (1u << npk) && r == 0; mask++) {
		bson_t f = BSON_INITIALIZER;

		base_filter(&f, session, q);
		for (size_t j = 0; j < npk; j++) {
			if (mask & (1u << j))
				BSON_APPEND_BOOL(&f, pk[j].capped, true);
			else if (pk[j].str)
				BSON_APPEND_UTF8(&f, pk[j].key, pk[j].str);
			else
				BSON_APPEND_INT64(&f, pk[j].key, pk[j].num);
		}
		r = run_find(st, &rd, &f, holding, err, errlen);
		bson_destroy(&f);
	}
	if (r == 0 && holding) {
		if (rd.nheld > 1)
			qsort(rd.held, rd.nheld, sizeof(*rd.held), cmp_held);
		for (size_t i = 0; i < rd.nheld && r == 0; i++) {
			if (i > 0 && cmp_held(&rd.held[i - 1], &rd.held[i]) == 0)
				continue; /* found by two finds */
			r = one_segment(&rd, rd.held[i].doc);
		}
	}
	if (r < 0 && err && errlen && !err[0])
		snprintf(err, errlen, "reading the segments stopped: %s", strerror(-r));
	for (size_t i = 0; i < rd.nheld; i++)
		bson_destroy(rd.held[i].doc);
	free(rd.held);
	if (stats)
		*stats = rd.st;
	return r;
}

int segread_any(struct store *st, const bson_oid_t *session, bool *ret, char *err,
		size_t errlen)
{
	bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, proj;
	struct store_cursor *cur = NULL;
	const bson_t *doc;
	int r;

	*ret = false;
	BSON_APPEND_OID(&filter, SCHEMA_F_SESSION, session);
	BSON_APPEND_INT64(&opts, "limit", 1);
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "projection", &proj);
	BSON_APPEND_INT32(&proj, SCHEMA_F_ID, 1);
	bson_append_document_end(&opts, &proj);
	r = store_find(st, SCHEMA_SEGMENTS, &filter, &opts, &cur, err, errlen);
	if (r == 0) {
		r = store_cursor_next(cur, &doc, err, errlen);
		*ret = r == 1;
		r = r < 0 ? r : 0;
	}
	store_cursor_free(cur);
	bson_destroy(&filter);
	bson_destroy(&opts);
	return r;
}
