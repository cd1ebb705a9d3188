/* test_segment.c — the segment format (issue 33): documents round-trip through a sealed
 * segment byte for byte, the header says what is inside (seq and ts range, tgids,
 * containers with null for the host, syscalls, caps), and a segment that does not decode is
 * refused with a reason: corrupt bytes, a truncated frame, an unknown codec, raw_bytes or n
 * that lie, a document whose length lies. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zstd.h>

#include "schema.h"
#include "segment.h"

static bson_oid_t oid;
static char hex[25];

static bson_t *ev(int64_t seq, int pid, const char *container, const char *sys, int64_t ts)
{
	bson_t *d = bson_new();

	BSON_APPEND_INT64(d, SCHEMA_F_SEQ, seq);
	BSON_APPEND_DATE_TIME(d, SCHEMA_F_TS, ts);
	BSON_APPEND_INT32(d, SCHEMA_F_PID, pid);
	if (container)
		BSON_APPEND_UTF8(d, SCHEMA_F_CONTAINER, container);
	else
		BSON_APPEND_NULL(d, SCHEMA_F_CONTAINER);
	BSON_APPEND_UTF8(d, SCHEMA_F_SYSCALL, sys);
	BSON_APPEND_UTF8(d, "path", "/a path with spaces\nand a newline");
	return d;
}

static int count_in(const bson_t *seg, const char *key)
{
	bson_iter_t it, a;
	int n = 0;

	assert_true(bson_iter_init_find(&it, seg, key) && bson_iter_recurse(&it, &a));
	while (bson_iter_next(&a))
		n++;
	return n;
}

static bool flag(const bson_t *seg, const char *key)
{
	bson_iter_t it;

	assert_true(bson_iter_init_find(&it, seg, key));
	return bson_iter_bool(&it);
}

static void test_roundtrip(void **state)
{
	struct seg_builder *b;
	bson_t *docs[600], *seg, d;
	struct seg_header h;
	uint8_t *raw;
	size_t pos = 0, i = 0;
	void *z = seg_cctx_new();

	(void)state;
	assert_int_equal(seg_builder_new(SCHEMA_EVENTS, &b), 0);
	for (i = 0; i < 600; i++) {
		/* seqs not in order (two threads submit), 300 pids: tgids capped */
		docs[i] = ev(i % 2 ? 1000 + (int64_t)i : 2000 - (int64_t)i, (int)(i % 300) + 1,
			     i % 3 ? "c0ffee" : NULL, i % 5 ? "openat" : "close", 5000 + (int64_t)i);
		assert_int_equal(seg_builder_add(b, docs[i]), 0);
	}
	assert_int_equal(seg_builder_seal(b, &oid, hex, NULL, z, &seg), 0);
	assert_int_equal(seg_builder_count(b), 0);
	assert_int_equal(seg_header_read(seg, &h, NULL, 0), 0);
	assert_int_equal(h.n, 600);
	assert_int_equal(h.seq_first, 1001);
	assert_int_equal(h.seq_last, 2000);
	assert_int_equal(h.ts_first, 5000);
	assert_int_equal(h.ts_last, 5599);
	assert_false(h.has_link);
	assert_int_equal(count_in(seg, SCHEMA_F_SEG_TGIDS), SEG_MAX_TGIDS);
	assert_true(flag(seg, SCHEMA_F_SEG_TGIDS_CAPPED));
	assert_int_equal(count_in(seg, SCHEMA_F_SEG_CONTAINERS), 2); /* "c0ffee" and null */
	assert_false(flag(seg, SCHEMA_F_SEG_CONTAINERS_CAPPED));
	assert_int_equal(count_in(seg, SCHEMA_F_SEG_SYSCALLS), 2);
	{
		char want[SEG_ID_MAX];

		seg_make_id(want, hex, SCHEMA_EVENTS, 1001);
		assert_string_equal(h.id, want);
	}
	assert_true(h.data_len < h.raw_bytes / 4); /* it compresses */
	assert_int_equal(seg_unpack(&h, &raw, NULL, 0), 0);
	for (i = 0; seg_next(raw, (size_t)h.raw_bytes, &pos, &d) == 1; i++) {
		assert_int_equal(d.len, docs[i]->len);
		assert_memory_equal(bson_get_data(&d), bson_get_data(docs[i]), d.len);
	}
	assert_int_equal(i, 600);
	/* in seq order, each entry the bytes of the document with that seq */
	{
		struct seg_doc *v;
		size_t n;

		assert_int_equal(seg_docs_by_seq(raw, (size_t)h.raw_bytes, &v, &n), 0);
		assert_int_equal(n, 600);
		for (i = 0; i < n; i++) {
			bson_t x;
			bson_iter_t it;

			assert_true(bson_init_static(&x, v[i].data, v[i].len));
			assert_true(bson_iter_init_find(&it, &x, SCHEMA_F_SEQ));
			assert_int_equal(bson_iter_as_int64(&it), v[i].seq);
			if (i)
				assert_true(v[i - 1].seq < v[i].seq);
		}
		free(v);
	}
	free(raw);
	for (i = 0; i < 600; i++)
		bson_destroy(docs[i]);
	bson_destroy(seg);
	seg_builder_free(b);
	seg_cctx_free(z);
}

static void test_bad_inputs(void **state)
{
	struct seg_builder *b;
	bson_t *seg, *d;
	struct seg_header h;
	uint8_t *raw = NULL, *copy;
	char why[160];

	(void)state;
	assert_int_equal(seg_builder_new(SCHEMA_PROC_EVENTS, &b), 0);
	assert_int_equal(seg_builder_seal(b, &oid, hex, NULL, NULL, &seg), -ENODATA);
	for (int i = 0; i < 50; i++) {
		d = ev(i + 1, 7, NULL, "exec", 1);
		assert_int_equal(seg_builder_add(b, d), 0);
		bson_destroy(d);
	}
	assert_int_equal(seg_builder_seal(b, &oid, hex, NULL, NULL, &seg), 0);
	assert_int_equal(seg_header_read(seg, &h, why, sizeof(why)), 0);
	/* unknown codec */
	assert_int_equal(seg_unpack_raw("lz4", h.data, h.data_len, h.raw_bytes, h.n, &raw, why,
					sizeof(why)), -ENOTSUP);
	assert_non_null(strstr(why, "lz4"));
	/* truncated frame */
	assert_int_equal(seg_unpack_raw(SEG_CODEC_ZSTD, h.data, h.data_len / 2, h.raw_bytes, h.n,
					&raw, why, sizeof(why)), -EBADMSG);
	/* raw_bytes and n that lie */
	assert_int_equal(seg_unpack_raw(SEG_CODEC_ZSTD, h.data, h.data_len, h.raw_bytes + 1, h.n,
					&raw, why, sizeof(why)), -EBADMSG);
	assert_int_equal(seg_unpack_raw(SEG_CODEC_ZSTD, h.data, h.data_len, (int64_t)1 << 40, h.n,
					&raw, why, sizeof(why)), -EBADMSG);
	assert_int_equal(seg_unpack_raw(SEG_CODEC_ZSTD, h.data, h.data_len, h.raw_bytes, h.n + 1,
					&raw, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "documents"));
	/* corrupt bytes in the middle of the frame */
	copy = malloc(h.data_len);
	memcpy(copy, h.data, h.data_len);
	for (uint32_t i = h.data_len / 3; i < h.data_len / 3 + 8; i++)
		copy[i] ^= 0xa5;
	assert_int_equal(seg_unpack_raw(SEG_CODEC_ZSTD, copy, h.data_len, h.raw_bytes, h.n, &raw,
					why, sizeof(why)), -EBADMSG);
	free(copy);
	/* a frame of bytes that are not BSON documents, and a header without data */
	{
		uint8_t junk[64], packed[256];
		size_t plen;

		memset(junk, 0x7f, sizeof(junk)); /* a length field of 0x7f7f7f7f */
		plen = ZSTD_compress(packed, sizeof(packed), junk, sizeof(junk), 1);
		assert_false(ZSTD_isError(plen));
		assert_int_equal(seg_unpack_raw(SEG_CODEC_ZSTD, packed, plen, sizeof(junk), 1, &raw,
						why, sizeof(why)), -EBADMSG);
		assert_non_null(strstr(why, "length lies"));
	}
	d = bson_new();
	BSON_APPEND_UTF8(d, SCHEMA_F_ID, "x");
	assert_int_equal(seg_header_read(d, &h, why, sizeof(why)), -EBADMSG);
	bson_destroy(d);
	assert_null(raw);
	bson_destroy(seg);
	seg_builder_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_bad_inputs),
	};

	bson_oid_init(&oid, NULL);
	bson_oid_to_string(&oid, hex);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
