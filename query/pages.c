/* pages.c — lineage-query's reads of the filter's processes and files through their pages
 * (issue 15, common/page_format.h): a container's documents come as a few compressed
 * binary values instead of one document each through the server. q_each uses this for
 * every read it can answer exactly: an output collection of those kinds whose run wrote
 * pages, a filter of plain equalities (the container's, and others checked here with
 * MongoDB's meaning), any sort (done here). Anything else, or a page that does not decode,
 * goes to the server as before.
 *
 * Owns the unpacked pages of one read while it runs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "page_format.h"
#include "query.h"

struct unpacked {
	uint8_t **v;
	size_t *len, n;
	bool bad;
	char why[200];
};

static void unpacked_free(struct unpacked *u)
{
	for (size_t i = 0; i < u->n; i++)
		free(u->v[i]);
	free(u->v);
	free(u->len);
}

static int take_page(struct qctx *ctx, const bson_t *d, void *data)
{
	struct unpacked *u = data;
	const char *codec = doc_str(d, SCHEMA_F_PAGE_CODEC);
	int64_t raw_len = doc_int(d, SCHEMA_F_PAGE_RAW_LEN, -1);
	const uint8_t *bin;
	uint32_t blen;
	uint8_t **nv, *raw = NULL;
	size_t *nl;
	int r;

	(void)ctx;
	if (!codec || strcmp(codec, PAGE_CODEC_ZLIB) || raw_len < 0 ||
	    raw_len > (int64_t)PAGE_RAW_LIMIT ||
	    !doc_bin(d, SCHEMA_F_PAGE_DATA, &bin, &blen)) {
		snprintf(u->why, sizeof(u->why), "page %s: not a page of this version",
			 doc_str(d, SCHEMA_F_ID) ? doc_str(d, SCHEMA_F_ID) : "?");
		u->bad = true;
		return -ECANCELED;
	}
	r = page_unpack(bin, blen, (size_t)raw_len, &raw);
	if (r == -EBADMSG) {
		snprintf(u->why, sizeof(u->why), "page %s does not decode",
			 doc_str(d, SCHEMA_F_ID) ? doc_str(d, SCHEMA_F_ID) : "?");
		u->bad = true;
		return -ECANCELED;
	}
	if (r < 0)
		return r;
	nv = realloc(u->v, (u->n + 1) * sizeof(*nv));
	nl = nv ? realloc(u->len, (u->n + 1) * sizeof(*nl)) : NULL;
	if (nv)
		u->v = nv;
	if (!nl) {
		free(raw);
		return -ENOMEM;
	}
	u->len = nl;
	u->v[u->n] = raw;
	u->len[u->n++] = (size_t)raw_len;
	return 0;
}

/* --- equality with MongoDB's meaning, for the filters q_each is given ---------------------- */

static bool scalar_type(bson_type_t t)
{
	return t == BSON_TYPE_UTF8 || t == BSON_TYPE_INT32 || t == BSON_TYPE_INT64 ||
	       t == BSON_TYPE_DOUBLE || t == BSON_TYPE_BOOL || t == BSON_TYPE_NULL ||
	       t == BSON_TYPE_OID || t == BSON_TYPE_DATE_TIME;
}

static bool is_number(bson_type_t t)
{
	return t == BSON_TYPE_INT32 || t == BSON_TYPE_INT64 || t == BSON_TYPE_DOUBLE;
}

static double num_of(const bson_iter_t *it)
{
	return BSON_ITER_HOLDS_DOUBLE(it) ? bson_iter_double(it) : (double)bson_iter_as_int64(it);
}

/* Does the value at v equal the filter value at f (both scalars; f not null)? */
static bool value_eq(const bson_iter_t *v, const bson_iter_t *f)
{
	bson_type_t vt = bson_iter_type(v), ft = bson_iter_type(f);

	if (is_number(vt) && is_number(ft))
		return num_of(v) == num_of(f);
	if (vt != ft)
		return false;
	switch (ft) {
	case BSON_TYPE_UTF8: {
		uint32_t a, b;
		const char *x = bson_iter_utf8(v, &a), *y = bson_iter_utf8(f, &b);

		return a == b && !memcmp(x, y, a);
	}
	case BSON_TYPE_BOOL:
		return bson_iter_bool(v) == bson_iter_bool(f);
	case BSON_TYPE_OID:
		return bson_oid_equal(bson_iter_oid(v), bson_iter_oid(f));
	case BSON_TYPE_DATE_TIME:
		return bson_iter_date_time(v) == bson_iter_date_time(f);
	default:
		return false;
	}
}

/* {field: value} for each field of filter: null matches a missing or null field, an array
 * field matches when one of its elements does. */
static bool doc_matches(const bson_t *d, const bson_t *filter)
{
	bson_iter_t f, v, arr;

	if (!filter || !bson_iter_init(&f, filter))
		return true;
	while (bson_iter_next(&f)) {
		bool found = bson_iter_init_find(&v, d, bson_iter_key(&f)), ok = false;

		if (BSON_ITER_HOLDS_NULL(&f)) {
			ok = !found || BSON_ITER_HOLDS_NULL(&v);
		} else if (found && BSON_ITER_HOLDS_ARRAY(&v) && bson_iter_recurse(&v, &arr)) {
			while (!ok && bson_iter_next(&arr))
				ok = value_eq(&arr, &f);
		} else if (found) {
			ok = value_eq(&v, &f);
		}
		if (!ok)
			return false;
	}
	return true;
}

/* Fields the server finds a few documents by (indexed equality): a read by one of them
 * without a container would unpack every page of the session for a handful of documents. */
static const char *const selective[] = { SCHEMA_F_ID, SCHEMA_F_PROC_KEY, SCHEMA_F_TGID,
					 SCHEMA_F_PATH, "process", "parent" };

/* Only plain equalities on top-level fields are answered here, and only reads of a
 * container (or of everything) rather than lookups. */
static bool plain_filter(const bson_t *filter, const char **container)
{
	bson_iter_t f;
	bool lookup = false;

	*container = NULL;
	if (!filter || !bson_iter_init(&f, filter))
		return true;
	while (bson_iter_next(&f)) {
		const char *k = bson_iter_key(&f);

		if (k[0] == '$' || strchr(k, '.') || !scalar_type(bson_iter_type(&f)))
			return false;
		if (!strcmp(k, SCHEMA_F_CONTAINER))
			*container = BSON_ITER_HOLDS_UTF8(&f) ? bson_iter_utf8(&f, NULL) :
				     BSON_ITER_HOLDS_NULL(&f) ? SCHEMA_PAGE_HOST : NULL;
		for (size_t i = 0; i < sizeof(selective) / sizeof(selective[0]); i++)
			if (!strcmp(k, selective[i]))
				lookup = true;
	}
	return *container || !lookup;
}

/* --- sort with MongoDB's order of types ------------------------------------------------------ */

static int type_rank(const bson_iter_t *it, bool found)
{
	if (!found)
		return 0;
	switch (bson_iter_type(it)) {
	case BSON_TYPE_NULL:
		return 0;
	case BSON_TYPE_INT32:
	case BSON_TYPE_INT64:
	case BSON_TYPE_DOUBLE:
		return 1;
	case BSON_TYPE_UTF8:
		return 2;
	case BSON_TYPE_DOCUMENT:
		return 3;
	case BSON_TYPE_ARRAY:
		return 4;
	case BSON_TYPE_BINARY:
		return 5;
	case BSON_TYPE_OID:
		return 6;
	case BSON_TYPE_BOOL:
		return 7;
	case BSON_TYPE_DATE_TIME:
		return 8;
	default:
		return 9;
	}
}

static int value_cmp(const bson_iter_t *a, bool fa, const bson_iter_t *b, bool fb)
{
	int ra = type_rank(a, fa), rb = type_rank(b, fb);

	if (ra != rb)
		return ra < rb ? -1 : 1;
	switch (ra) {
	case 1: {
		double x = num_of(a), y = num_of(b);

		return x < y ? -1 : x > y;
	}
	case 2:
		return strcmp(bson_iter_utf8(a, NULL), bson_iter_utf8(b, NULL));
	case 6:
		return bson_oid_compare(bson_iter_oid(a), bson_iter_oid(b));
	case 7:
		return (int)bson_iter_bool(a) - (int)bson_iter_bool(b);
	case 8: {
		int64_t x = bson_iter_date_time(a), y = bson_iter_date_time(b);

		return x < y ? -1 : x > y;
	}
	default:
		return 0;
	}
}

struct sorted {
	const uint8_t *d; /* into an unpacked page (a bson_t cannot be copied: a static one
			   * points into itself) */
	uint32_t len;
	size_t seq;	  /* read order: equal keys keep it */
};

static const bson_t *sort_spec; /* qsort has no context argument; one read at a time */

static int sorted_cmp(const void *pa, const void *pb)
{
	const struct sorted *a = pa, *b = pb;
	bson_t da, db;
	bson_iter_t s;

	if (bson_init_static(&da, a->d, a->len) && bson_init_static(&db, b->d, b->len) &&
	    bson_iter_init(&s, sort_spec))
		while (bson_iter_next(&s)) {
			bson_iter_t x, y;
			bool fx = bson_iter_init_find(&x, &da, bson_iter_key(&s));
			bool fy = bson_iter_init_find(&y, &db, bson_iter_key(&s));
			int c = value_cmp(&x, fx, &y, fy);

			if (c)
				return bson_iter_as_int64(&s) < 0 ? -c : c;
		}
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static bool sort_ok(const bson_t *sort)
{
	bson_iter_t s;

	if (!sort || !bson_iter_init(&s, sort))
		return true;
	while (bson_iter_next(&s))
		if (!is_number(bson_iter_type(&s)) || strchr(bson_iter_key(&s), '.'))
			return false;
	return true;
}

/* The pages collection of coll's run when coll is a paged kind and that run wrote pages. */
static bool pages_of(struct qctx *ctx, const char *coll, const char **kind,
		     char pages[SCHEMA_OUT_NAME_MAX])
{
	static const char *const kinds[] = { SCHEMA_PROCESSES, SCHEMA_FILES };
	char hex[25], want[SCHEMA_OUT_NAME_MAX];
	const char *rest = NULL;
	bson_oid_t sid;
	bool found = false;

	for (size_t i = 0; i < 2 && !rest; i++) {
		size_t n = strlen(kinds[i]);

		if (!strncmp(coll, kinds[i], n) && coll[n] == '.') {
			rest = coll + n + 1;
			*kind = kinds[i];
		}
	}
	if (!rest || strlen(rest) < 26 || rest[24] != '.')
		return false;
	memcpy(hex, rest, 24);
	hex[24] = '\0';
	if (!bson_oid_is_valid(hex, 24))
		return false;
	/* one lookup of the session document per run read, not one per read */
	if (strcmp(ctx->pages_run, rest)) {
		bson_oid_init_from_string(&sid, hex);
		if (q_out_coll_opt(ctx, &sid, SCHEMA_PAGES, ctx->pages_name, &found) < 0) {
			ctx->err[0] = '\0';
			ctx->status = QEXIT_OK;
			return false;
		}
		if (!found)
			ctx->pages_name[0] = '\0';
		snprintf(ctx->pages_run, sizeof(ctx->pages_run), "%s", rest);
	}
	/* the pages of the same run as coll, not of a newer one */
	snprintf(want, sizeof(want), SCHEMA_PAGES ".%s", rest);
	if (strcmp(want, ctx->pages_name))
		return false;
	snprintf(pages, SCHEMA_OUT_NAME_MAX, "%s", ctx->pages_name);
	return true;
}

bool q_pages_exist(struct qctx *ctx, const char *coll)
{
	char pages[SCHEMA_OUT_NAME_MAX];
	const char *kind;

	return pages_of(ctx, coll, &kind, pages);
}

int q_pages_each(struct qctx *ctx, const char *coll, const bson_t *filter, const bson_t *sort,
		 int (*fn)(struct qctx *ctx, const bson_t *doc, void *data), void *data)
{
	struct unpacked u = { 0 };
	struct sorted *v = NULL;
	size_t n = 0, cap = 0;
	char pages[SCHEMA_OUT_NAME_MAX];
	const char *kind = NULL, *container;
	bson_t q = BSON_INITIALIZER, psort = BSON_INITIALIZER;
	int r;

	if (!plain_filter(filter, &container) || !sort_ok(sort) ||
	    !pages_of(ctx, coll, &kind, pages))
		return 1;
	BSON_APPEND_UTF8(&q, SCHEMA_F_PAGE_KIND, kind);
	if (container)
		BSON_APPEND_UTF8(&q, SCHEMA_F_PAGE_KEY, container);
	BSON_APPEND_INT32(&psort, SCHEMA_F_PAGE_PART, 1);
	r = q_each_server(ctx, pages, &q, &psort, NULL, take_page, &u);
	bson_destroy(&q);
	bson_destroy(&psort);
	if (r == -ECANCELED && u.bad) {
		fprintf(stderr, "lineage-query: %s: reading the documents of %s instead\n", u.why,
			coll);
		ctx->err[0] = '\0';
		unpacked_free(&u);
		return 1;
	}
	for (size_t i = 0; r == 0 && i < u.n; i++) {
		const uint8_t *d;
		uint32_t dl;
		size_t pos = 0;
		bson_t doc;

		while (r == 0 && page_next(u.v[i], u.len[i], &pos, &d, &dl) == 1) {
			if (!bson_init_static(&doc, d, dl) || !doc_matches(&doc, filter))
				continue;
			if (!sort) {
				r = fn(ctx, &doc, data);
				continue;
			}
			if (GROW(v, n, cap) < 0) {
				r = -ENOMEM;
				break;
			}
			v[n].d = d;
			v[n].len = dl;
			v[n].seq = n;
			n++;
		}
	}
	if (r == 0 && sort && n) {
		sort_spec = sort;
		qsort(v, n, sizeof(*v), sorted_cmp);
		for (size_t i = 0; i < n && r == 0; i++) {
			bson_t doc;

			if (bson_init_static(&doc, v[i].d, v[i].len))
				r = fn(ctx, &doc, data);
		}
	}
	if (r == -ENOMEM) {
		snprintf(ctx->err, sizeof(ctx->err), "out of memory reading the pages of %s", coll);
		ctx->status = QEXIT_DB_ERROR;
	}
	free(v);
	unpacked_free(&u);
	return r;
}

bool q_match(const bson_t *d, const bson_t *filter)
{
	return doc_matches(d, filter);
}
