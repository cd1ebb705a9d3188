/* pages.c — the filter's page writer (pages.h). Owns the open page of every (kind,
 * container) until it is written, and a hash of them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "page_format.h"
#include "pages.h"
#include "hash.h"
#include "schema.h"
#include "store.h"

struct page {
	const char *kind; /* a schema.h constant */
	char *key;	  /* container id or SCHEMA_PAGE_HOST */
	uint8_t *buf;
	size_t len, cap, n;
};

struct pages {
	struct store *st;
	const char *coll;
	bson_oid_t session;
	struct page **tab; /* open addressing on kind + key */
	size_t cap, used;
	int64_t part;
	size_t written;
	char *err;
	size_t errlen;
};

static size_t hash(const char *kind, const char *key)
{
	return hash_str(hash_str(HASH_STR_INIT, kind), key);
}

struct pages *pages_new(struct store *st, const char *coll, const bson_oid_t *session,
			char *err, size_t errlen)
{
	struct pages *pw = calloc(1, sizeof(*pw));

	if (!pw)
		return NULL;
	pw->cap = 64;
	pw->tab = calloc(pw->cap, sizeof(*pw->tab));
	if (!pw->tab) {
		free(pw);
		return NULL;
	}
	pw->st = st;
	pw->coll = coll;
	bson_oid_copy(session, &pw->session);
	pw->err = err;
	pw->errlen = errlen;
	return pw;
}

static int write_page(struct pages *pw, struct page *p)
{
	bson_t d = BSON_INITIALIZER;
	const bson_t *one = &d;
	struct store_insert_result res;
	uint8_t *z = NULL;
	size_t zlen = 0;
	char hex[25], id[96];
	int r;

	if (!p->n)
		return 0;
	r = page_pack(p->buf, p->len, &z, &zlen);
	if (r < 0) {
		snprintf(pw->err, pw->errlen, "pages: compressing a page failed");
		return r;
	}
	bson_oid_to_string(&pw->session, hex);
	snprintf(id, sizeof(id), "%s:pg:%lld", hex, (long long)pw->part);
	BSON_APPEND_UTF8(&d, SCHEMA_F_ID, id);
	BSON_APPEND_OID(&d, SCHEMA_F_SESSION, &pw->session);
	BSON_APPEND_UTF8(&d, SCHEMA_F_PAGE_KIND, p->kind);
	BSON_APPEND_UTF8(&d, SCHEMA_F_PAGE_KEY, p->key);
	BSON_APPEND_INT64(&d, SCHEMA_F_PAGE_PART, pw->part);
	BSON_APPEND_INT64(&d, SCHEMA_F_PAGE_N, (int64_t)p->n);
	BSON_APPEND_INT64(&d, SCHEMA_F_PAGE_RAW_LEN, (int64_t)p->len);
	BSON_APPEND_UTF8(&d, SCHEMA_F_PAGE_CODEC, PAGE_CODEC_ZLIB);
	BSON_APPEND_BINARY(&d, SCHEMA_F_PAGE_DATA, BSON_SUBTYPE_BINARY, z, (uint32_t)zlen);
	r = store_insert_many(pw->st, pw->coll, &one, 1, &res, pw->err, pw->errlen);
	if (r == 0 && res.inserted != 1) {
		snprintf(pw->err, pw->errlen, "pages: page %s (%zu bytes) was refused by the store",
			 id, zlen);
		r = -EIO;
	}
	bson_destroy(&d);
	free(z);
	if (r < 0)
		return r;
	pw->part++;
	pw->written++;
	p->len = p->n = 0;
	return 0;
}

static int grow_tab(struct pages *pw)
{
	size_t cap = pw->cap * 2;
	struct page **t = calloc(cap, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < pw->cap; i++) {
		struct page *p = pw->tab[i];
		size_t k;

		if (!p)
			continue;
		for (k = hash(p->kind, p->key) & (cap - 1); t[k]; k = (k + 1) & (cap - 1))
			;
		t[k] = p;
	}
	free(pw->tab);
	pw->tab = t;
	pw->cap = cap;
	return 0;
}

static struct page *page_of(struct pages *pw, const char *kind, const char *key)
{
	struct page *p;
	size_t k;

	if ((pw->used + 1) * 2 > pw->cap && grow_tab(pw) < 0)
		return NULL;
	for (k = hash(kind, key) & (pw->cap - 1); (p = pw->tab[k]); k = (k + 1) & (pw->cap - 1))
		if (p->kind == kind && !strcmp(p->key, key))
			return p;
	p = calloc(1, sizeof(*p));
	if (!p || !(p->key = strdup(key))) {
		free(p);
		return NULL;
	}
	p->kind = kind;
	pw->tab[k] = p;
	pw->used++;
	return p;
}

int pages_add(struct pages *pw, const char *kind, const bson_t *doc)
{
	bson_iter_t it;
	const char *key = SCHEMA_PAGE_HOST;
	struct page *p;

	if (bson_iter_init_find(&it, doc, SCHEMA_F_CONTAINER) && BSON_ITER_HOLDS_UTF8(&it))
		key = bson_iter_utf8(&it, NULL);
	p = page_of(pw, kind, key);
	if (!p)
		goto nomem;
	if (p->len && p->len + doc->len > PAGE_RAW_MAX) {
		int r = write_page(pw, p);

		if (r < 0)
			return r;
	}
	if (p->len + doc->len > p->cap) {
		size_t cap = p->cap ? p->cap : 65536;
		uint8_t *nb;

		while (cap < p->len + doc->len)
			cap *= 2;
		nb = realloc(p->buf, cap);
		if (!nb)
			goto nomem;
		p->buf = nb;
		p->cap = cap;
	}
	memcpy(p->buf + p->len, bson_get_data(doc), doc->len);
	p->len += doc->len;
	p->n++;
	return 0;
nomem:
	snprintf(pw->err, pw->errlen, "pages: out of memory");
	return -ENOMEM;
}

int pages_finish(struct pages *pw, size_t *ndocs)
{
	int r = 0;

	for (size_t i = 0; i < pw->cap && r == 0; i++)
		if (pw->tab[i])
			r = write_page(pw, pw->tab[i]);
	*ndocs = pw->written;
	return r;
}

void pages_free(struct pages *pw)
{
	if (!pw)
		return;
	for (size_t i = 0; i < pw->cap; i++) {
		if (!pw->tab[i])
			continue;
		free(pw->tab[i]->key);
		free(pw->tab[i]->buf);
		free(pw->tab[i]);
	}
	free(pw->tab);
	free(pw);
}
