/* doc.c — field readers for the filter's documents and the cursor loop shared by the
 * subcommands (see query.h). Owns nothing beyond the vectors doc_strv hands out. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"
#include "store.h"

static bool find(const bson_t *d, const char *key, bson_iter_t *it)
{
	return d && bson_iter_init_find(it, d, key);
}

const char *doc_str(const bson_t *d, const char *key)
{
	bson_iter_t it;

	return find(d, key, &it) && BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, NULL) : NULL;
}

int64_t doc_int(const bson_t *d, const char *key, int64_t dflt)
{
	bson_iter_t it;

	if (!find(d, key, &it))
		return dflt;
	if (BSON_ITER_HOLDS_INT32(&it) || BSON_ITER_HOLDS_INT64(&it) ||
	    BSON_ITER_HOLDS_DOUBLE(&it))
		return bson_iter_as_int64(&it);
	return dflt;
}

bool doc_bin(const bson_t *d, const char *key, const uint8_t **buf, uint32_t *len)
{
	bson_iter_t it;
	bson_subtype_t sub;

	if (!find(d, key, &it) || !BSON_ITER_HOLDS_BINARY(&it))
		return false;
	bson_iter_binary(&it, &sub, len, buf);
	return true;
}

bool doc_bool(const bson_t *d, const char *key)
{
	bson_iter_t it;

	return find(d, key, &it) && BSON_ITER_HOLDS_BOOL(&it) && bson_iter_bool(&it);
}

int64_t doc_date(const bson_t *d, const char *key)
{
	bson_iter_t it;

	return find(d, key, &it) && BSON_ITER_HOLDS_DATE_TIME(&it) ? bson_iter_date_time(&it)
								    : FMT_NO_TIME;
}

bool doc_is_null(const bson_t *d, const char *key)
{
	bson_iter_t it;

	return !find(d, key, &it) || BSON_ITER_HOLDS_NULL(&it);
}

int doc_strv(const bson_t *d, const char *key, const char ***ret)
{
	bson_iter_t it, sub;
	const char **v = NULL, **nv;
	size_t n = 0;

	if (find(d, key, &it) && BSON_ITER_HOLDS_ARRAY(&it) && bson_iter_recurse(&it, &sub)) {
		while (bson_iter_next(&sub)) {
			nv = realloc(v, (n + 1) * sizeof(*v));
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
			v[n++] = BSON_ITER_HOLDS_UTF8(&sub) ? bson_iter_utf8(&sub, NULL) : NULL;
		}
	}
	*ret = v;
	return (int)n;
}

void doc_print_json(struct qctx *ctx, const bson_t *d)
{
	char *s = bson_as_relaxed_extended_json(d, NULL);

	if (s)
		fprintf(ctx->out, "%s\n", s);
	bson_free(s);
}

int q_store_error(struct qctx *ctx, int r, const char *what, const char *msg)
{
	snprintf(ctx->err, sizeof(ctx->err), "%s: %s", what, msg);
	ctx->status = r == -ENOTCONN ? QEXIT_UNREACHABLE : QEXIT_DB_ERROR;
	return r;
}

int q_each(struct qctx *ctx, const char *coll, const bson_t *filter, const bson_t *sort,
	   int (*fn)(struct qctx *ctx, const bson_t *doc, void *data), void *data)
{
	return q_each_proj(ctx, coll, filter, sort, NULL, fn, data);
}

int q_each_proj(struct qctx *ctx, const char *coll, const bson_t *filter, const bson_t *sort,
		const bson_t *projection,
		int (*fn)(struct qctx *ctx, const bson_t *doc, void *data), void *data)
{
	/* the filter's pages when they can answer (pages.c); fn may see more fields than a
	 * projection would have left, which readers by name do not mind */
	int r;

	if (q_is_raw(coll)) /* raw documents live in segments (issue 33), sorted by seq */
		return q_raw_each(ctx, coll, filter, fn, data);
	r = q_pages_each(ctx, coll, filter, sort, fn, data);

	if (r != 1)
		return r;
	return q_each_server(ctx, coll, filter, sort, projection, fn, data);
}

int q_each_server(struct qctx *ctx, const char *coll, const bson_t *filter, const bson_t *sort,
		  const bson_t *projection,
		  int (*fn)(struct qctx *ctx, const bson_t *doc, void *data), void *data)
{
	struct store_cursor *cur = NULL;
	bson_t opts = BSON_INITIALIZER;
	const bson_t *doc;
	char err[400];
	int r;

	if (sort)
		BSON_APPEND_DOCUMENT(&opts, "sort", sort);
	if (projection)
		BSON_APPEND_DOCUMENT(&opts, "projection", projection);
	r = store_find(ctx->st, coll, filter, &opts, &cur, err, sizeof(err));
	if (r < 0)
		goto out_err;
	while ((r = store_cursor_next(cur, &doc, err, sizeof(err))) == 1) {
		r = fn(ctx, doc, data);
		if (r < 0)
			goto out;
	}
	if (r < 0)
		goto out_err;
	goto out;
out_err:
	q_store_error(ctx, r, coll, err);
out:
	store_cursor_free(cur);
	bson_destroy(&opts);
	return r < 0 ? r : 0;
}
