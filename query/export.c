/* export.c — the raw layer for other tools (issue 33): `export` writes one stream of a
 * session's raw documents, decoded from its segments, as plain documents into a collection
 * mongosh can filter; `convert` turns a session stored before segments (one document per
 * event in events, proc_events, snapshot, container_facts, links in chain) into segments
 * with a new chain, so that every reader knows one layout only. Owns the batches it
 * inserts. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chain.h"
#include "query.h"
#include "schema.h"
#include "segment.h"
#include "store.h"

#define EXPORT_BATCH 1000
#define CONVERT_SEG_BATCH 8


struct batch {
	const char *coll;
	bson_t *docs[EXPORT_BATCH];
	size_t n;
	uint64_t inserted, duplicates;
};

static int batch_flush(struct qctx *ctx, struct batch *b)
{
	struct store_insert_result res = { 0 };
	char err[400];
	int r = 0;

	if (b->n)
		r = store_insert_many(ctx->st, b->coll, (const bson_t *const *)b->docs, b->n, &res,
				      err, sizeof(err));
	b->inserted += res.inserted;
	b->duplicates += res.duplicates;
	for (size_t i = 0; i < b->n; i++)
		bson_destroy(b->docs[i]);
	b->n = 0;
	return r < 0 ? q_store_error(ctx, r, b->coll, err) : 0;
}

static int batch_add(struct qctx *ctx, struct batch *b, bson_t *doc, size_t max)
{
	b->docs[b->n++] = doc;
	return b->n >= max ? batch_flush(ctx, b) : 0;
}

/* ---- export ---- */

static int export_one(struct qctx *ctx, const bson_t *doc, void *data)
{
	bson_t *copy = bson_copy(doc);

	if (!copy)
		return -ENOMEM;
	return batch_add(ctx, data, copy, EXPORT_BATCH);
}

static bool reserved(const char *name)
{
	static const char *const own[] = { SCHEMA_SESSIONS, SCHEMA_SEGMENTS, SCHEMA_CHAIN };

	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (!strcmp(name, own[i]))
			return true;
	/* the filter's output collections: <kind>.<hex>.<gen> */
	return !strncmp(name, SCHEMA_PROCESSES ".", strlen(SCHEMA_PROCESSES) + 1) ||
	       !strncmp(name, SCHEMA_FILES ".", strlen(SCHEMA_FILES) + 1) ||
	       !strncmp(name, SCHEMA_CONTAINERS ".", strlen(SCHEMA_CONTAINERS) + 1) ||
	       !strncmp(name, SCHEMA_PAGES ".", strlen(SCHEMA_PAGES) + 1) ||
	       !strncmp(name, SCHEMA_SEARCH ".", strlen(SCHEMA_SEARCH) + 1);
}

int cmd_export(struct qctx *ctx)
{
	const struct qargs *a = ctx->args;
	const char *stream = a->stream ? a->stream : SCHEMA_EVENTS;
	struct batch *b = calloc(1, sizeof(*b));
	bson_t filter = BSON_INITIALIZER;
	char hex[25];
	int r;

	if (!b)
		return -ENOMEM;
	if (!q_is_raw(stream)) {
		snprintf(ctx->err, sizeof(ctx->err), "export: --stream wants events, proc_events, "
			 "snapshot or container_facts, not '%s'", stream);
		ctx->status = QEXIT_USAGE;
		r = -EINVAL;
		goto out;
	}
	if (reserved(a->to_collection) || !a->to_collection[0]) {
		snprintf(ctx->err, sizeof(ctx->err), "export: '%s' is lineage's own collection; "
			 "give another --to-collection", a->to_collection);
		ctx->status = QEXIT_USAGE;
		r = -EINVAL;
		goto out;
	}
	r = q_resolve_session(ctx, a->operand[0], &ctx->session);
	if (r < 0)
		goto out;
	bson_oid_to_string(&ctx->session, hex);
	b->coll = a->to_collection;
	BSON_APPEND_OID(&filter, SCHEMA_F_SESSION, &ctx->session);
	r = q_raw_each(ctx, stream, &filter, export_one, b);
	if (r == 0)
		r = batch_flush(ctx, b);
	if (r == 0) {
		bson_t keys = BSON_INITIALIZER;
		char err[400];

		/* what the recipes in the README ask for */
		BSON_APPEND_INT32(&keys, SCHEMA_F_SESSION, 1);
		BSON_APPEND_INT32(&keys, SCHEMA_F_SEQ, 1);
		if (store_create_index(ctx->st, b->coll, &keys, NULL, false, err, sizeof(err)) < 0)
			fprintf(stderr, "lineage-query: export: no index on %s: %s\n", b->coll, err);
		bson_destroy(&keys);
		fprintf(stderr, "lineage-query: exported %" PRIu64 " %s documents of session %s to "
			"collection %s (%" PRIu64 " were there already)\n", b->inserted + b->duplicates,
			stream, hex, b->coll, b->duplicates);
	}
out:
	bson_destroy(&filter);
	free(b);
	return r;
}

/* ---- convert ---- */

struct conv {
	struct qctx *ctx;
	struct chain *chain;
	struct seg_builder *b;
	struct batch segs;
	uint64_t docs;
	void *zctx;
};

static int conv_seal(struct conv *c)
{
	bson_t *seg;
	int r;

	if (seg_builder_count(c->b) == 0)
		return 0;
	r = chain_seal(c->chain, c->b, c->zctx, &seg);
	if (r < 0) {
		snprintf(c->ctx->err, sizeof(c->ctx->err), "convert: sealing a segment failed: %s",
			 strerror(-r));
		return r;
	}
	return batch_add(c->ctx, &c->segs, seg, CONVERT_SEG_BATCH);
}

static int conv_doc(struct qctx *ctx, const bson_t *doc, void *data)
{
	struct conv *c = data;
	int r;

	(void)ctx;
	if (seg_builder_count(c->b) && seg_builder_bytes(c->b) + doc->len > SEG_RAW_MAX &&
	    (r = conv_seal(c)) < 0)
		return r;
	r = seg_builder_add(c->b, doc);
	if (r == -EINVAL)
		return 0; /* a document without seq: not a listener document, left out */
	if (r < 0)
		return r;
	c->docs++;
	return seg_builder_count(c->b) >= SEG_DEFAULT_EVENTS ? conv_seal(c) : 0;
}

static int has_any(struct qctx *ctx, const char *coll, const bson_oid_t *sid, bool *ret)
{
	bson_t q = BSON_INITIALIZER, opts = BSON_INITIALIZER;
	struct store_cursor *cur = NULL;
	const bson_t *d;
	char err[400];
	int r;

	BSON_APPEND_OID(&q, SCHEMA_F_SESSION, sid);
	BSON_APPEND_INT64(&opts, "limit", 1);
	r = store_find(ctx->st, coll, &q, &opts, &cur, err, sizeof(err));
	if (r == 0) {
		r = store_cursor_next(cur, &d, err, sizeof(err));
		*ret = r == 1;
	}
	store_cursor_free(cur);
	bson_destroy(&q);
	bson_destroy(&opts);
	return r < 0 ? q_store_error(ctx, r, coll, err) : 0;
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define DELETE_CHUNK 10000

/* Delete sid's documents of coll, DELETE_CHUNK _ids at a time: FerretDB v1 refuses a
 * delete of more than 65,535 documents in one statement (notes.md). */
static int delete_session(struct qctx *ctx, const char *coll, const bson_oid_t *sid)
{
	bson_t q = BSON_INITIALIZER, opts = BSON_INITIALIZER, proj;
	char err[400];
	int r;

	BSON_APPEND_OID(&q, SCHEMA_F_SESSION, sid);
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "projection", &proj);
	BSON_APPEND_INT32(&proj, SCHEMA_F_ID, 1);
	bson_append_document_end(&opts, &proj);
	BSON_APPEND_INT64(&opts, "limit", DELETE_CHUNK);
	for (;;) {
		struct store_cursor *cur = NULL;
		bson_t del = BSON_INITIALIZER, in, arr;
		const bson_t *d;
		bson_iter_t it;
		size_t n = 0;
		char k[16];

		BSON_APPEND_DOCUMENT_BEGIN(&del, SCHEMA_F_ID, &in);
		BSON_APPEND_ARRAY_BEGIN(&in, "$in", &arr);
		r = store_find(ctx->st, coll, &q, &opts, &cur, err, sizeof(err));
		while (r == 0 && (r = store_cursor_next(cur, &d, err, sizeof(err))) == 1) {
			r = 0;
			if (!bson_iter_init_find(&it, d, SCHEMA_F_ID))
				continue;
			snprintf(k, sizeof(k), "%zu", n++);
			bson_append_iter(&arr, k, -1, &it);
		}
		store_cursor_free(cur);
		bson_append_array_end(&in, &arr);
		bson_append_document_end(&del, &in);
		if (r == 0 && n)
			r = store_delete_many(ctx->st, coll, &del, NULL, err, sizeof(err));
		bson_destroy(&del);
		if (r < 0 || n == 0)
			break;
	}
	bson_destroy(&q);
	bson_destroy(&opts);
	return r < 0 ? q_store_error(ctx, r, coll, err) : 0;
}

/* Convert one session; *ret_done says whether it had anything to convert. */
static int convert_one(struct qctx *ctx, const bson_oid_t *sid, bool *ret_done)
{
	struct conv c = { .ctx = ctx };
	bson_t fields = BSON_INITIALIZER, conv, filter = BSON_INITIALIZER;
	bool old = false, segs = false;
	char hex[25], err[400];
	int r;

	*ret_done = false;
	bson_oid_to_string(sid, hex);
	r = has_any(ctx, SCHEMA_SEGMENTS, sid, &segs);
	for (size_t i = 0; r == 0 && i < SEG_NSTREAMS && !old; i++)
		r = has_any(ctx, seg_streams[i], sid, &old);
	if (r < 0 || !old)
		goto out;
	if (segs) {
		fprintf(stderr, "lineage-query: convert: session %s has segments and documents: "
			"left as it is (convert it by hand after looking)\n", hex);
		goto out;
	}
	c.segs.coll = SCHEMA_SEGMENTS;
	c.zctx = seg_cctx_new();
	if ((r = chain_new(sid, hex, &c.chain)) < 0 || !c.zctx)
		goto out;
	BSON_APPEND_OID(&filter, SCHEMA_F_SESSION, sid);
	for (size_t i = 0; i < SEG_NSTREAMS && r == 0; i++) {
		if ((r = seg_builder_new(seg_streams[i], &c.b)) < 0)
			break;
		r = q_each_server(ctx, seg_streams[i], &filter, NULL, NULL, conv_doc, &c);
		if (r == 0)
			r = conv_seal(&c);
		seg_builder_free(c.b);
		c.b = NULL;
	}
	if (r == 0)
		r = batch_flush(ctx, &c.segs);
	if (r < 0)
		goto out;
	chain_finish(c.chain);
	chain_append_info(c.chain, &fields, true);
	BSON_APPEND_DOCUMENT_BEGIN(&fields, SCHEMA_F_CONVERTED, &conv);
	BSON_APPEND_DATE_TIME(&conv, "at", wall_ms());
	BSON_APPEND_UTF8(&conv, "from", "documents");
	BSON_APPEND_INT64(&conv, "documents", (int64_t)c.docs);
	/* the documents' own chain (links of digests, version 1) is replaced, not checked */
	BSON_APPEND_UTF8(&conv, "previous_chain", "replaced by the converter's, not verified");
	bson_append_document_end(&fields, &conv);
	r = store_session_set(ctx->st, sid, &fields, NULL, err, sizeof(err));
	if (r < 0) {
		q_store_error(ctx, r, SCHEMA_SESSIONS, err);
		goto out;
	}
	/* --all drops the old collections at the end instead: one DROP each */
	if (!ctx->args->keep_old && !ctx->args->all) {
		for (size_t i = 0; i < SEG_NSTREAMS && r == 0; i++)
			r = delete_session(ctx, seg_streams[i], sid);
		if (r == 0)
			r = delete_session(ctx, SCHEMA_CHAIN, sid);
		if (r < 0)
			goto out;
	}
	fprintf(stderr, "lineage-query: session %s: %" PRIu64 " documents into %" PRIu64
		" segments%s\n", hex, c.docs, c.segs.inserted + c.segs.duplicates,
		ctx->args->keep_old ? " (the documents kept: --keep-old)" : "");
	*ret_done = true;
out:
	for (size_t i = 0; i < c.segs.n; i++)
		bson_destroy(c.segs.docs[i]);
	seg_builder_free(c.b);
	seg_cctx_free(c.zctx);
	chain_free(c.chain);
	bson_destroy(&filter);
	bson_destroy(&fields);
	return r;
}

struct conv_all {
	int converted, r;
};

static int convert_each(struct qctx *ctx, const bson_t *sdoc, void *data)
{
	struct conv_all *all = data;
	bson_iter_t it;
	bool done;

	if (!bson_iter_init_find(&it, sdoc, SCHEMA_F_ID) || !BSON_ITER_HOLDS_OID(&it))
		return 0;
	all->r = convert_one(ctx, bson_iter_oid(&it), &done);
	all->converted += done;
	return all->r;
}

int cmd_convert(struct qctx *ctx)
{
	struct conv_all all = { 0 };
	bson_t filter = BSON_INITIALIZER;
	int r;

	if (!ctx->args->all) {
		r = q_resolve_session(ctx, ctx->args->operand[0], &ctx->session);
		if (r < 0)
			goto out;
		BSON_APPEND_OID(&filter, SCHEMA_F_ID, &ctx->session);
	}
	r = q_each_server(ctx, SCHEMA_SESSIONS, &filter, NULL, NULL, convert_each, &all);
	if (r == 0 && ctx->args->all && !ctx->args->keep_old) {
		/* every session is in segments now: the old collections hold nothing of use */
		static const char *const old[] = { SCHEMA_EVENTS, SCHEMA_PROC_EVENTS, SCHEMA_SNAPSHOT,
						   SCHEMA_CONTAINER_FACTS, SCHEMA_CHAIN };
		char err[400];

		for (size_t i = 0; i < sizeof(old) / sizeof(old[0]) && r == 0; i++)
			if ((r = store_drop(ctx->st, old[i], err, sizeof(err))) < 0)
				q_store_error(ctx, r, old[i], err);
	}
	if (r == 0)
		fprintf(stderr, "lineage-query: convert: %d session(s) converted%s\n", all.converted,
			ctx->args->all && !ctx->args->keep_old ?
				"; the old collections (events, proc_events, snapshot, "
				"container_facts, chain) dropped" : "");
out:
	bson_destroy(&filter);
	return r;
}
