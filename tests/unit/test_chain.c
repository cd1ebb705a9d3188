/* test_chain.c — the evidence chain over segments (issues 21, 33): chain_seal numbering the
 * segments and naming the previous one's hash, the session's chain info, and chain_verify
 * judging a session fed segment by segment: whole, a changed byte (header or data), a
 * removed, an inserted, a reordered (link numbers swapped) segment, a session never closed.
 * The chain against a real store is tests/e2e/chain_verify.py. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "chain.h"
#include "chain_format.h"
#include "chain_verify.h"
#include "schema.h"
#include "segment.h"

#define NSEG 5

static bson_oid_t oid;
static char hex[25];

static bson_t *doc_with_seq(int64_t seq)
{
	bson_t *d = bson_new();
	char id[64];

	snprintf(id, sizeof(id), "%s:%lld", hex, (long long)seq);
	BSON_APPEND_UTF8(d, "_id", id);
	BSON_APPEND_INT64(d, SCHEMA_F_SEQ, seq);
	BSON_APPEND_INT32(d, SCHEMA_F_PID, (int32_t)(100 + seq % 7));
	BSON_APPEND_UTF8(d, SCHEMA_F_SYSCALL, "openat");
	return d;
}

/* NSEG segments of 3 events each, sealed by a chain; the session document's close too. */
static void make_session(bson_t *segs[NSEG], bson_t *sdoc)
{
	struct chain *c;
	struct seg_builder *b;
	int64_t seq = 1;

	bson_oid_init(&oid, NULL);
	bson_oid_to_string(&oid, hex);
	assert_int_equal(chain_new(&oid, hex, &c), 0);
	assert_int_equal(seg_builder_new(SCHEMA_EVENTS, &b), 0);
	for (int i = 0; i < NSEG; i++) {
		for (int k = 0; k < 3; k++) {
			bson_t *d = doc_with_seq(seq++);

			assert_int_equal(seg_builder_add(b, d), 0);
			bson_destroy(d);
		}
		assert_int_equal(chain_seal(c, b, NULL, &segs[i]), 0);
		assert_int_equal(seg_builder_count(b), 0);
	}
	chain_finish(c);
	assert_int_equal(seg_builder_add(b, segs[0]), -EINVAL); /* no seq */
	{
		bson_t *d = doc_with_seq(99), *none = NULL;

		assert_int_equal(seg_builder_add(b, d), 0);
		assert_int_equal(chain_seal(c, b, NULL, &none), -EPIPE);
		bson_destroy(d);
	}
	bson_init(sdoc);
	BSON_APPEND_OID(sdoc, SCHEMA_F_ID, &oid);
	BSON_APPEND_DATE_TIME(sdoc, SCHEMA_F_ENDED_AT, 1000);
	chain_append_info(c, sdoc, true);
	seg_builder_free(b);
	chain_free(c);
}

static enum chainv_status judge(bson_t *const *segs, size_t n, const bson_t *sdoc,
				struct chainv_report *rep)
{
	struct chainv *v;

	assert_int_equal(chainv_new(sdoc, false, &v, NULL, 0), 0);
	for (size_t i = 0; i < n; i++)
		if (segs[i])
			assert_int_equal(chainv_add(v, segs[i]), 0);
	assert_int_equal(chainv_finish(v, rep), 0);
	chainv_free(v);
	return rep->status;
}

static void test_seal_links(void **state)
{
	bson_t *segs[NSEG], sdoc;
	uint8_t prev[CHAINFMT_DIGEST_LEN] = { 0 };
	struct seg_header h;
	bson_iter_t it;

	(void)state;
	make_session(segs, &sdoc);
	for (int i = 0; i < NSEG; i++) {
		assert_int_equal(seg_header_read(segs[i], &h, NULL, 0), 0);
		assert_true(h.has_link);
		assert_int_equal(h.link, i);
		assert_memory_equal(h.prev, prev, sizeof(prev));
		assert_int_equal(h.seq_first, 1 + 3 * i);
		assert_int_equal(h.seq_last, 3 + 3 * i);
		assert_int_equal(h.n, 3);
		assert_int_equal(chainfmt_digest(bson_get_data(segs[i]), segs[i]->len, prev), 0);
	}
	/* the head is the hash of the last segment; counts by stream */
	assert_true(bson_iter_init(&it, &sdoc) &&
		    bson_iter_find_descendant(&it, "chain.head", &it));
	{
		const uint8_t *data;
		uint32_t len;
		bson_subtype_t st;

		bson_iter_binary(&it, &st, &len, &data);
		assert_int_equal(len, 32);
		assert_memory_equal(data, prev, 32);
	}
	assert_true(bson_iter_init(&it, &sdoc) &&
		    bson_iter_find_descendant(&it, "chain.counts.events", &it));
	assert_int_equal(bson_iter_as_int64(&it), 3 * NSEG);
	for (int i = 0; i < NSEG; i++)
		bson_destroy(segs[i]);
	bson_destroy(&sdoc);
}

/* A copy of seg with one byte of its BSON flipped (at offset from the end). */
static bson_t *flipped(const bson_t *seg, size_t from_end)
{
	uint8_t *buf = bson_malloc(seg->len);
	bson_t *d;

	memcpy(buf, bson_get_data(seg), seg->len);
	buf[seg->len - from_end] ^= 0x40;
	d = bson_new_from_data(buf, seg->len);
	bson_free(buf);
	assert_non_null(d);
	return d;
}

static void test_verify_cases(void **state)
{
	bson_t *segs[NSEG], sdoc, *t[NSEG + 1], *x;
	struct chainv_report rep;

	(void)state;
	make_session(segs, &sdoc);
	/* whole, in any order */
	memcpy(t, segs, sizeof(segs));
	x = t[0], t[0] = t[4], t[4] = x;
	assert_int_equal(judge(t, NSEG, &sdoc, &rep), CHAINV_OK);
	assert_int_equal(rep.verified, 3 * NSEG);
	assert_int_equal(rep.links, NSEG);
	chainv_report_release(&rep);
	/* a changed byte inside the compressed data of segment 2 (the prev field is last: the
	 * data sits before link and prev) */
	memcpy(t, segs, sizeof(segs));
	t[2] = flipped(segs[2], 60);
	assert_int_equal(judge(t, NSEG, &sdoc, &rep), CHAINV_TAMPERED);
	assert_true(rep.altered >= 1);
	assert_non_null(strstr(rep.findings[0], segs[2] ? "altered" : "?"));
	chainv_report_release(&rep);
	bson_destroy(t[2]);
	/* the last segment changed: only the session's head shows it */
	memcpy(t, segs, sizeof(segs));
	t[4] = flipped(segs[4], 60);
	assert_int_equal(judge(t, NSEG, &sdoc, &rep), CHAINV_TAMPERED);
	chainv_report_release(&rep);
	bson_destroy(t[4]);
	/* removed: the middle one, and the last one */
	memcpy(t, segs, sizeof(segs));
	t[2] = NULL;
	assert_int_equal(judge(t, NSEG, &sdoc, &rep), CHAINV_TAMPERED);
	assert_true(rep.removed >= 1);
	chainv_report_release(&rep);
	assert_int_equal(judge(segs, NSEG - 1, &sdoc, &rep), CHAINV_TAMPERED);
	chainv_report_release(&rep);
	/* inserted: a copy of segment 1 under another link, and a segment without link */
	{
		struct seg_builder *b;
		bson_t *d = doc_with_seq(50), *loose;

		assert_int_equal(seg_builder_new(SCHEMA_EVENTS, &b), 0);
		assert_int_equal(seg_builder_add(b, d), 0);
		assert_int_equal(seg_builder_seal(b, &oid, hex, NULL, NULL, &loose), 0);
		memcpy(t, segs, sizeof(segs));
		t[NSEG] = loose;
		assert_int_equal(judge(t, NSEG + 1, &sdoc, &rep), CHAINV_TAMPERED);
		assert_int_equal(rep.inserted, 1);
		chainv_report_release(&rep);
		bson_destroy(loose);
		bson_destroy(d);
		seg_builder_free(b);
	}
	/* never closed: whole up to the last segment, which nothing names yet */
	{
		bson_t open = BSON_INITIALIZER, info;

		BSON_APPEND_OID(&open, SCHEMA_F_ID, &oid);
		BSON_APPEND_DOCUMENT_BEGIN(&open, SCHEMA_F_CHAIN, &info);
		BSON_APPEND_INT32(&info, SCHEMA_F_CHAIN_VERSION, CHAIN_VERSION);
		bson_append_document_end(&open, &info);
		assert_int_equal(judge(segs, NSEG, &open, &rep), CHAINV_TRUNCATED);
		assert_int_equal(rep.truncated_at, 3 * (NSEG - 1));
		assert_int_equal(rep.unlinked, 3);
		chainv_report_release(&rep);
		/* and unchained when nothing carries a link */
		bson_reinit(&open);
		BSON_APPEND_OID(&open, SCHEMA_F_ID, &oid);
		assert_int_equal(judge(NULL, 0, &open, &rep), CHAINV_UNCHAINED);
		chainv_report_release(&rep);
		bson_destroy(&open);
	}
	for (int i = 0; i < NSEG; i++)
		bson_destroy(segs[i]);
	bson_destroy(&sdoc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seal_links),
		cmocka_unit_test(test_verify_cases),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
