/* segwalk.c — following a session's segments by link number as they arrive (see
 * segwalk.h). Owns the ids it has seen (unchained sessions) and each segment's decoded
 * bytes while its documents are handed on. */
#include "segwalk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "grow.h"
#include "schema.h"
#include "segment.h"
#include "store.h"

struct segwalk {
	struct qctx *ctx;
	volatile sig_atomic_t *stop;
	bool chained;
	int64_t next_link;
	int64_t missing_since; /* ms: when next_link was first found missing, or 0 */
	int64_t next_seq, skipped;
	char **seen; /* unchained: the _ids handed on */
	size_t nseen, capseen;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The segment of link n: 1 and a copy in *ret, 0 when absent, negative with ctx->err set.
 * *ret is an initialised bson_t the caller owns and destroys; a hit replaces what it held
 * (bson_copy_to writes over its destination, so the old buffer is freed first). */
static int find_link(struct segwalk *w, int64_t n, bson_t *ret)
{
	struct store_cursor *cur = NULL;
	bson_t q = BSON_INITIALIZER, opts = BSON_INITIALIZER;
	const bson_t *doc;
	char err[400];
	int r;

	BSON_APPEND_OID(&q, SCHEMA_F_SESSION, &w->ctx->session);
	BSON_APPEND_INT64(&q, SCHEMA_F_SEG_LINK, n);
	BSON_APPEND_INT64(&opts, "limit", 1);
	r = store_find(w->ctx->st, SCHEMA_SEGMENTS, &q, &opts, &cur, err, sizeof(err));
	if (r == 0) {
		r = store_cursor_next(cur, &doc, err, sizeof(err));
		if (r == 1) {
			bson_destroy(ret);
			bson_copy_to(doc, ret);
		}
	}
	if (r < 0)
		q_store_error(w->ctx, r, SCHEMA_SEGMENTS, err);
	store_cursor_free(cur);
	bson_destroy(&q);
	bson_destroy(&opts);
	return r;
}

static int64_t seq_last_of(const bson_t *seg)
{
	struct seg_header h;

	return seg_header_read(seg, &h, NULL, 0) == 0 ? h.seq_last : 0;
}

/* Decode seg and hand its documents on in seq order; returns how many. */
static int hand_on(struct segwalk *w, const bson_t *seg,
		   void (*fn)(void *data, int stream, const bson_t *doc), void *data)
{
	struct seg_header h;
	struct seg_doc *v = NULL;
	uint8_t *raw = NULL;
	size_t n = 0;
	char why[160];
	int code;

	if (seg_header_read(seg, &h, why, sizeof(why)) < 0 ||
	    seg_unpack(&h, &raw, why, sizeof(why)) < 0) {
		fprintf(stderr, "lineage-query: a segment does not decode (%s): skipped\n", why);
		return 0;
	}
	code = seg_stream_index(h.stream);
	if (code < 0)
		code = SEGWALK_OTHER;
	if (seg_docs_by_seq(raw, (size_t)h.raw_bytes, &v, &n) < 0) {
		free(raw);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		bson_t d;

		if (!bson_init_static(&d, v[i].data, v[i].len))
			continue;
		fn(data, code, &d);
		if (v[i].seq >= w->next_seq)
			w->next_seq = v[i].seq + 1;
	}
	free(v);
	free(raw);
	return (int)n;
}

int segwalk_new(struct qctx *ctx, volatile sig_atomic_t *stop, struct segwalk **ret,
		int64_t *ret_last)
{
	struct segwalk *w = calloc(1, sizeof(*w));
	bson_t seg = BSON_INITIALIZER;
	int64_t lo, hi;
	int r;

	if (!w)
		return -ENOMEM;
	w->ctx = ctx;
	w->stop = stop;
	*ret_last = 0;
	/* the end of the chain so far: gallop, then halve (a few indexed lookups) */
	r = find_link(w, 0, &seg);
	if (r < 0)
		goto fail;
	w->chained = true;
	if (r == 1) {
		lo = 0;
		hi = 1;
		while ((r = find_link(w, hi, &seg)) == 1) {
			lo = hi;
			hi *= 2;
		}
		while (r >= 0 && hi - lo > 1) {
			int64_t mid = lo + (hi - lo) / 2;

			r = find_link(w, mid, &seg);
			if (r == 1)
				lo = mid;
			else if (r == 0)
				hi = mid;
		}
		if (r < 0)
			goto fail;
		if (find_link(w, lo, &seg) == 1)
			*ret_last = seq_last_of(&seg);
		w->next_link = lo + 1;
	} else {
		/* nothing yet, or no chain: then every segment is listed each poll */
		bson_t q = BSON_INITIALIZER, opts = BSON_INITIALIZER, proj;
		struct store_cursor *cur = NULL;
		const bson_t *d;
		char err[400];

		BSON_APPEND_OID(&q, SCHEMA_F_SESSION, &ctx->session);
		BSON_APPEND_DOCUMENT_BEGIN(&opts, "projection", &proj);
		BSON_APPEND_INT32(&proj, SCHEMA_F_SEG_LINK, 1);
		BSON_APPEND_INT32(&proj, SCHEMA_F_SEG_SEQ_LAST, 1);
		bson_append_document_end(&opts, &proj);
		r = store_find(ctx->st, SCHEMA_SEGMENTS, &q, &opts, &cur, err, sizeof(err));
		while (r == 0 && (r = store_cursor_next(cur, &d, err, sizeof(err))) == 1) {
			bson_iter_t it;

			w->chained = false;
			if (bson_iter_init_find(&it, d, SCHEMA_F_SEG_SEQ_LAST) &&
			    bson_iter_as_int64(&it) > *ret_last)
				*ret_last = bson_iter_as_int64(&it);
			if (bson_iter_init_find(&it, d, SCHEMA_F_ID) && BSON_ITER_HOLDS_UTF8(&it) &&
			    grow_room((void **)&w->seen, sizeof(*w->seen), w->nseen, &w->capseen) == 0)
				w->seen[w->nseen++] = strdup(bson_iter_utf8(&it, NULL));
			r = 0;
		}
		if (r < 0)
			q_store_error(ctx, r, SCHEMA_SEGMENTS, err);
		store_cursor_free(cur);
		bson_destroy(&q);
		bson_destroy(&opts);
		if (r < 0)
			goto fail;
	}
	w->next_seq = *ret_last + 1;
	bson_destroy(&seg);
	*ret = w;
	return 0;
fail:
	bson_destroy(&seg);
	segwalk_free(w);
	return r;
}

void segwalk_free(struct segwalk *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->nseen; i++)
		free(w->seen[i]);
	free(w->seen);
	free(w);
}

static bool seen(const struct segwalk *w, const char *id)
{
	for (size_t i = 0; i < w->nseen; i++)
		if (w->seen[i] && !strcmp(w->seen[i], id))
			return true;
	return false;
}

/* Unchained: every segment not handed on yet, listed anew. */
static int drain_unchained(struct segwalk *w, void (*fn)(void *, int, const bson_t *),
			   void *data)
{
	struct store_cursor *cur = NULL;
	bson_t q = BSON_INITIALIZER;
	const bson_t *d;
	char err[400];
	int r, total = 0;

	BSON_APPEND_OID(&q, SCHEMA_F_SESSION, &w->ctx->session);
	r = store_find(w->ctx->st, SCHEMA_SEGMENTS, &q, NULL, &cur, err, sizeof(err));
	while (r == 0 && !*w->stop && (r = store_cursor_next(cur, &d, err, sizeof(err))) == 1) {
		bson_iter_t it;
		const char *id;

		r = 0;
		if (!bson_iter_init_find(&it, d, SCHEMA_F_ID) || !BSON_ITER_HOLDS_UTF8(&it))
			continue;
		id = bson_iter_utf8(&it, NULL);
		if (seen(w, id))
			continue;
		if (grow_room((void **)&w->seen, sizeof(*w->seen), w->nseen, &w->capseen) < 0) {
			r = -ENOMEM;
			break;
		}
		w->seen[w->nseen++] = strdup(id);
		r = hand_on(w, d, fn, data);
		if (r > 0)
			total += r;
		r = r < 0 ? r : 0;
	}
	if (r < 0 && r != -ENOMEM)
		q_store_error(w->ctx, r, SCHEMA_SEGMENTS, err);
	store_cursor_free(cur);
	bson_destroy(&q);
	return r < 0 ? r : total;
}

int segwalk_drain(struct segwalk *w, void (*fn)(void *data, int stream, const bson_t *doc),
		  void *data)
{
	bson_t seg = BSON_INITIALIZER;
	int total = 0, r = 0;

	if (!w->chained)
		return drain_unchained(w, fn, data);
	while (!*w->stop && (r = find_link(w, w->next_link, &seg)) == 1) {
		w->missing_since = 0;
		w->next_link++;
		r = hand_on(w, &seg, fn, data);
		if (r < 0)
			break;
		total += r;
	}
	bson_destroy(&seg);
	return r < 0 ? r : total;
}

int segwalk_idle(struct segwalk *w)
{
	bson_t seg = BSON_INITIALIZER;
	int r = 0;

	if (!w->chained)
		return 0;
	if (!w->missing_since) {
		w->missing_since = now_ms();
		return 0;
	}
	if (now_ms() - w->missing_since < SEGWALK_GAP_MS)
		return 0;
	for (int64_t k = 1; k <= SEGWALK_AHEAD; k++) {
		r = find_link(w, w->next_link + k, &seg);
		if (r < 0)
			break;
		if (r == 1) {
			w->skipped += k;
			w->next_link += k;
			w->missing_since = 0;
			r = 0;
			break;
		}
	}
	bson_destroy(&seg);
	return r;
}

int64_t segwalk_next(const struct segwalk *w)
{
	return w->next_seq;
}

int64_t segwalk_skipped(const struct segwalk *w)
{
	return w->skipped;
}
