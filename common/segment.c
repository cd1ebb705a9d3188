/* segment.c — building, sealing (zstd) and checking segments of raw documents (segment.h).
 * A builder owns its byte buffer and its sets of header values; a sealed segment document
 * is the caller's. */
#include "segment.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "grow.h"
#include "schema.h"

const char *const seg_streams[SEG_NSTREAMS] = { SCHEMA_EVENTS, SCHEMA_PROC_EVENTS,
						 SCHEMA_SNAPSHOT, SCHEMA_CONTAINER_FACTS };

int seg_stream_index(const char *s)
{
	for (int i = 0; i < SEG_NSTREAMS; i++)
		if (s == seg_streams[i] || strcmp(s, seg_streams[i]) == 0)
			return i;
	return -1;
}

struct strset {
	char *v[SEG_MAX_CONTAINERS > SEG_MAX_SYSCALLS ? SEG_MAX_CONTAINERS : SEG_MAX_SYSCALLS];
	size_t n, max;
	bool has_null, capped;
};

struct seg_builder {
	const char *stream;
	uint8_t *data;
	size_t len, cap, n;
	int64_t seq_first, seq_last, ts_first, ts_last;
	int64_t tgids[SEG_MAX_TGIDS];
	size_t ntgids;
	bool tgids_capped;
	struct strset containers, syscalls;
};

static void strset_clear(struct strset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	s->n = 0;
	s->has_null = s->capped = false;
}

static void strset_add(struct strset *s, const char *v, uint32_t len)
{
	if (!v) {
		s->has_null = true;
		return;
	}
	for (size_t i = 0; i < s->n; i++)
		if (strlen(s->v[i]) == len && !memcmp(s->v[i], v, len))
			return;
	if (s->n >= s->max) {
		s->capped = true;
		return;
	}
	s->v[s->n] = strndup(v, len);
	if (s->v[s->n])
		s->n++;
	else
		s->capped = true; /* out of memory: the header must not claim completeness */
}

int seg_builder_new(const char *stream, struct seg_builder **ret)
{
	struct seg_builder *b = calloc(1, sizeof(*b));

	if (!b)
		return -ENOMEM;
	b->stream = stream;
	b->containers.max = SEG_MAX_CONTAINERS;
	b->syscalls.max = SEG_MAX_SYSCALLS;
	*ret = b;
	return 0;
}

static void builder_reset(struct seg_builder *b)
{
	b->len = b->n = 0;
	b->ntgids = 0;
	b->tgids_capped = false;
	strset_clear(&b->containers);
	strset_clear(&b->syscalls);
}

void seg_builder_free(struct seg_builder *b)
{
	if (!b)
		return;
	builder_reset(b);
	free(b->data);
	free(b);
}

size_t seg_builder_count(const struct seg_builder *b)
{
	return b->n;
}

size_t seg_builder_bytes(const struct seg_builder *b)
{
	return b->len;
}

const char *seg_builder_stream(const struct seg_builder *b)
{
	return b->stream;
}

static void add_tgid(struct seg_builder *b, int64_t v)
{
	if (v <= 0)
		return;
	for (size_t i = 0; i < b->ntgids; i++)
		if (b->tgids[i] == v)
			return;
	if (b->ntgids >= SEG_MAX_TGIDS) {
		b->tgids_capped = true;
		return;
	}
	b->tgids[b->ntgids++] = v;
}

/* The header values of one document, read in one pass over its top-level fields. */
static int note_doc(struct seg_builder *b, const bson_t *doc, bool first)
{
	bson_iter_t it;
	bool have_seq = false, have_container = false;
	int64_t seq = 0;

	if (!bson_iter_init(&it, doc))
		return -EINVAL;
	while (bson_iter_next(&it)) {
		const char *k = bson_iter_key(&it);

		if (!strcmp(k, SCHEMA_F_SEQ) && BSON_ITER_HOLDS_INT(&it)) {
			seq = bson_iter_as_int64(&it);
			have_seq = true;
		} else if (!strcmp(k, SCHEMA_F_TS) && BSON_ITER_HOLDS_DATE_TIME(&it)) {
			int64_t ts = bson_iter_date_time(&it);

			if (b->ts_first == INT64_MIN || ts < b->ts_first)
				b->ts_first = ts;
			if (b->ts_last == INT64_MIN || ts > b->ts_last)
				b->ts_last = ts;
		} else if ((!strcmp(k, SCHEMA_F_PID) || !strcmp(k, SCHEMA_F_TGID) ||
			    !strcmp(k, "parent_tgid") || !strcmp(k, "child_tgid")) &&
			   BSON_ITER_HOLDS_INT(&it)) {
			add_tgid(b, bson_iter_as_int64(&it));
		} else if (!strcmp(k, SCHEMA_F_CONTAINER)) {
			have_container = true;
			if (BSON_ITER_HOLDS_UTF8(&it)) {
				uint32_t len;
				const char *v = bson_iter_utf8(&it, &len);

				strset_add(&b->containers, v, len);
			} else {
				strset_add(&b->containers, NULL, 0);
			}
		} else if ((!strcmp(k, SCHEMA_F_SYSCALL) || !strcmp(k, SCHEMA_F_WHAT)) &&
			   BSON_ITER_HOLDS_UTF8(&it)) {
			uint32_t len;
			const char *v = bson_iter_utf8(&it, &len);

			strset_add(&b->syscalls, v, len);
		}
	}
	if (!have_seq)
		return -EINVAL;
	if (!have_container)
		strset_add(&b->containers, NULL, 0); /* no container field: a host document */
	if (first || seq < b->seq_first)
		b->seq_first = seq;
	if (first || seq > b->seq_last)
		b->seq_last = seq;
	return 0;
}

int seg_builder_add(struct seg_builder *b, const bson_t *doc)
{
	int r;

	if (b->n == 0) {
		b->ts_first = b->ts_last = INT64_MIN;
	}
	r = grow_bytes((void **)&b->data, &b->cap, b->len, doc->len);
	if (r < 0)
		return r;
	r = note_doc(b, doc, b->n == 0);
	if (r < 0)
		return r;
	memcpy(b->data + b->len, bson_get_data(doc), doc->len);
	b->len += doc->len;
	b->n++;
	return 0;
}

void *seg_cctx_new(void)
{
	return ZSTD_createCCtx();
}

void seg_cctx_free(void *zctx)
{
	ZSTD_freeCCtx(zctx);
}

void seg_make_id(char *buf, const char *session_hex, const char *stream, int64_t seq)
{
	snprintf(buf, SEG_ID_MAX, "%s:%s:%" PRId64, session_hex, stream, seq);
}

static void append_strset(bson_t *d, const char *key, const char *capped_key,
			  const struct strset *s)
{
	bson_t arr;
	char ik[16];
	const char *kp;
	size_t i;

	bson_append_array_begin(d, key, -1, &arr);
	for (i = 0; i < s->n; i++) {
		bson_uint32_to_string((uint32_t)i, &kp, ik, sizeof(ik));
		bson_append_utf8(&arr, kp, -1, s->v[i], -1);
	}
	if (s->has_null) {
		bson_uint32_to_string((uint32_t)i, &kp, ik, sizeof(ik));
		bson_append_null(&arr, kp, -1);
	}
	bson_append_array_end(d, &arr);
	BSON_APPEND_BOOL(d, capped_key, s->capped);
}

int seg_builder_seal(struct seg_builder *b, const bson_oid_t *session, const char *session_hex,
		     const struct seg_link *link, void *zctx, bson_t **ret_doc)
{
	size_t bound, clen;
	uint8_t *cbuf;
	char id[SEG_ID_MAX], ik[16];
	const char *kp;
	bson_t *d, arr;
	int r = 0;

	if (b->n == 0)
		return -ENODATA;
	bound = ZSTD_compressBound(b->len);
	cbuf = malloc(bound);
	if (!cbuf)
		return -ENOMEM;
	if (zctx)
		clen = ZSTD_compressCCtx(zctx, cbuf, bound, b->data, b->len, SEG_ZSTD_LEVEL);
	else
		clen = ZSTD_compress(cbuf, bound, b->data, b->len, SEG_ZSTD_LEVEL);
	if (ZSTD_isError(clen)) {
		r = -EIO;
		goto out;
	}
	d = bson_sized_new(clen + 512 + 8 * b->ntgids);
	if (!d) {
		r = -ENOMEM;
		goto out;
	}
	seg_make_id(id, session_hex, b->stream, b->seq_first);
	BSON_APPEND_UTF8(d, SCHEMA_F_ID, id);
	BSON_APPEND_OID(d, SCHEMA_F_SESSION, session);
	BSON_APPEND_UTF8(d, SCHEMA_F_SEG_STREAM, b->stream);
	BSON_APPEND_INT64(d, SCHEMA_F_SEG_SEQ_FIRST, b->seq_first);
	BSON_APPEND_INT64(d, SCHEMA_F_SEG_SEQ_LAST, b->seq_last);
	BSON_APPEND_INT64(d, SCHEMA_F_SEG_N, (int64_t)b->n);
	if (b->ts_first != INT64_MIN) {
		BSON_APPEND_DATE_TIME(d, SCHEMA_F_SEG_TS_FIRST, b->ts_first);
		BSON_APPEND_DATE_TIME(d, SCHEMA_F_SEG_TS_LAST, b->ts_last);
	}
	bson_append_array_begin(d, SCHEMA_F_SEG_TGIDS, -1, &arr);
	for (size_t i = 0; i < b->ntgids; i++) {
		bson_uint32_to_string((uint32_t)i, &kp, ik, sizeof(ik));
		bson_append_int64(&arr, kp, -1, b->tgids[i]);
	}
	bson_append_array_end(d, &arr);
	BSON_APPEND_BOOL(d, SCHEMA_F_SEG_TGIDS_CAPPED, b->tgids_capped);
	append_strset(d, SCHEMA_F_SEG_CONTAINERS, SCHEMA_F_SEG_CONTAINERS_CAPPED, &b->containers);
	append_strset(d, SCHEMA_F_SEG_SYSCALLS, SCHEMA_F_SEG_SYSCALLS_CAPPED, &b->syscalls);
	BSON_APPEND_INT64(d, SCHEMA_F_SEG_RAW_BYTES, (int64_t)b->len);
	BSON_APPEND_UTF8(d, SCHEMA_F_SEG_CODEC, SEG_CODEC_ZSTD);
	bson_append_binary(d, SCHEMA_F_SEG_DATA, -1, BSON_SUBTYPE_BINARY, cbuf, (uint32_t)clen);
	if (link) {
		BSON_APPEND_INT64(d, SCHEMA_F_SEG_LINK, link->link);
		bson_append_binary(d, SCHEMA_F_SEG_PREV, -1, BSON_SUBTYPE_BINARY, link->prev,
				   sizeof(link->prev));
	}
	*ret_doc = d;
	builder_reset(b);
out:
	free(cbuf);
	return r;
}

static void why_set(char *why, size_t whylen, const char *fmt, const char *what)
{
	if (why && whylen)
		snprintf(why, whylen, fmt, what);
}

static bool get_int(const bson_t *doc, const char *key, int64_t *ret)
{
	bson_iter_t it;

	if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_INT(&it))
		return false;
	*ret = bson_iter_as_int64(&it);
	return true;
}

static const char *get_str(const bson_t *doc, const char *key)
{
	bson_iter_t it;

	if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_UTF8(&it))
		return NULL;
	return bson_iter_utf8(&it, NULL);
}

int seg_header_read(const bson_t *doc, struct seg_header *h, char *why, size_t whylen)
{
	bson_iter_t it;
	bson_subtype_t st;

	memset(h, 0, sizeof(*h));
	h->ts_first = h->ts_last = INT64_MIN;
	if (!(h->id = get_str(doc, SCHEMA_F_ID)))
		return why_set(why, whylen, "no %s", SCHEMA_F_ID), -EBADMSG;
	if (!(h->stream = get_str(doc, SCHEMA_F_SEG_STREAM)))
		return why_set(why, whylen, "no %s", SCHEMA_F_SEG_STREAM), -EBADMSG;
	if (!get_int(doc, SCHEMA_F_SEG_SEQ_FIRST, &h->seq_first))
		return why_set(why, whylen, "no %s", SCHEMA_F_SEG_SEQ_FIRST), -EBADMSG;
	if (!get_int(doc, SCHEMA_F_SEG_SEQ_LAST, &h->seq_last))
		return why_set(why, whylen, "no %s", SCHEMA_F_SEG_SEQ_LAST), -EBADMSG;
	if (!get_int(doc, SCHEMA_F_SEG_N, &h->n) || h->n < 0)
		return why_set(why, whylen, "no %s", SCHEMA_F_SEG_N), -EBADMSG;
	if (!get_int(doc, SCHEMA_F_SEG_RAW_BYTES, &h->raw_bytes) || h->raw_bytes < 0)
		return why_set(why, whylen, "no %s", SCHEMA_F_SEG_RAW_BYTES), -EBADMSG;
	if (!(h->codec = get_str(doc, SCHEMA_F_SEG_CODEC)))
		return why_set(why, whylen, "no %s", SCHEMA_F_SEG_CODEC), -EBADMSG;
	if (!bson_iter_init_find(&it, doc, SCHEMA_F_SEG_DATA) || !BSON_ITER_HOLDS_BINARY(&it))
		return why_set(why, whylen, "no %s", SCHEMA_F_SEG_DATA), -EBADMSG;
	bson_iter_binary(&it, &st, &h->data_len, &h->data);
	if (bson_iter_init_find(&it, doc, SCHEMA_F_SEG_TS_FIRST) && BSON_ITER_HOLDS_DATE_TIME(&it))
		h->ts_first = bson_iter_date_time(&it);
	if (bson_iter_init_find(&it, doc, SCHEMA_F_SEG_TS_LAST) && BSON_ITER_HOLDS_DATE_TIME(&it))
		h->ts_last = bson_iter_date_time(&it);
	if (get_int(doc, SCHEMA_F_SEG_LINK, &h->link)) {
		uint32_t plen = 0;

		if (!bson_iter_init_find(&it, doc, SCHEMA_F_SEG_PREV) || !BSON_ITER_HOLDS_BINARY(&it))
			return why_set(why, whylen, "%s without prev", SCHEMA_F_SEG_LINK), -EBADMSG;
		bson_iter_binary(&it, &st, &plen, &h->prev);
		if (plen != 32)
			return why_set(why, whylen, "%s is not 32 bytes", SCHEMA_F_SEG_PREV), -EBADMSG;
		h->has_link = true;
	}
	return 0;
}

int seg_unpack_raw(const char *codec, const uint8_t *data, size_t len, int64_t raw_bytes,
		   int64_t n, uint8_t **ret_raw, char *why, size_t whylen)
{
	unsigned long long fsize;
	uint8_t *raw;
	size_t got, pos = 0;
	int64_t count = 0;
	char msg[96];

	if (strcmp(codec, SEG_CODEC_ZSTD) != 0) {
		why_set(why, whylen, "unknown codec '%.40s'", codec);
		return -ENOTSUP;
	}
	if (raw_bytes < 0 || raw_bytes > (int64_t)SEG_RAW_LIMIT) {
		snprintf(msg, sizeof(msg), "%" PRId64, raw_bytes);
		why_set(why, whylen, "raw_bytes %s out of range", msg);
		return -EBADMSG;
	}
	fsize = ZSTD_getFrameContentSize(data, len);
	if (fsize == ZSTD_CONTENTSIZE_ERROR || (fsize != ZSTD_CONTENTSIZE_UNKNOWN &&
						fsize != (unsigned long long)raw_bytes)) {
		why_set(why, whylen, "%s", fsize == ZSTD_CONTENTSIZE_ERROR ?
			"data is not a zstd frame" : "data's size differs from raw_bytes");
		return -EBADMSG;
	}
	raw = malloc(raw_bytes ? (size_t)raw_bytes : 1);
	if (!raw)
		return -ENOMEM;
	got = ZSTD_decompress(raw, (size_t)raw_bytes, data, len);
	if (ZSTD_isError(got) || got != (size_t)raw_bytes) {
		why_set(why, whylen, "data does not decode: %s",
			ZSTD_isError(got) ? ZSTD_getErrorName(got) : "short");
		free(raw);
		return -EBADMSG;
	}
	/* n BSON documents filling raw exactly, each valid */
	while (pos < got) {
		int32_t dlen;
		bson_t doc;

		if (got - pos < 5) {
			why_set(why, whylen, "%s", "a document is cut at the end");
			goto bad;
		}
		memcpy(&dlen, raw + pos, 4);
		dlen = (int32_t)BSON_UINT32_FROM_LE((uint32_t)dlen);
		if (dlen < 5 || (size_t)dlen > got - pos) {
			why_set(why, whylen, "%s", "a document's length lies");
			goto bad;
		}
		if (!bson_init_static(&doc, raw + pos, (size_t)dlen) ||
		    !bson_validate(&doc, BSON_VALIDATE_NONE, NULL)) {
			why_set(why, whylen, "%s", "a document is not valid BSON");
			goto bad;
		}
		pos += (size_t)dlen;
		count++;
	}
	if (count != n) {
		snprintf(msg, sizeof(msg), "%" PRId64 " documents, the header says %" PRId64, count, n);
		why_set(why, whylen, "%s", msg);
		goto bad;
	}
	*ret_raw = raw;
	return 0;
bad:
	free(raw);
	return -EBADMSG;
}

int seg_unpack(const struct seg_header *h, uint8_t **ret_raw, char *why, size_t whylen)
{
	return seg_unpack_raw(h->codec, h->data, h->data_len, h->raw_bytes, h->n, ret_raw, why,
			      whylen);
}

static int cmp_seq(const void *a, const void *b)
{
	const struct seg_doc *x = a, *y = b;

	return (x->seq > y->seq) - (x->seq < y->seq);
}

int seg_docs_by_seq(const uint8_t *raw, size_t len, struct seg_doc **ret, size_t *ret_n)
{
	size_t n = 0, cap = 0, pos = 0;
	struct seg_doc *v = NULL;
	bson_t d;

	while (seg_next(raw, len, &pos, &d) == 1) {
		bson_iter_t it;

		if (grow_room((void **)&v, sizeof(*v), n, &cap) < 0) {
			free(v);
			return -ENOMEM;
		}
		v[n].data = bson_get_data(&d);
		v[n].len = d.len;
		v[n].seq = bson_iter_init_find(&it, &d, SCHEMA_F_SEQ) && BSON_ITER_HOLDS_INT(&it) ?
				   bson_iter_as_int64(&it) : 0;
		n++;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_seq);
	*ret = v;
	*ret_n = n;
	return 0;
}

int seg_next(const uint8_t *raw, size_t len, size_t *pos, bson_t *ret_doc)
{
	int32_t dlen;

	if (*pos + 5 > len)
		return 0;
	memcpy(&dlen, raw + *pos, 4);
	dlen = (int32_t)BSON_UINT32_FROM_LE((uint32_t)dlen);
	if (dlen < 5 || (size_t)dlen > len - *pos || !bson_init_static(ret_doc, raw + *pos, (size_t)dlen))
		return 0;
	*pos += (size_t)dlen;
	return 1;
}
