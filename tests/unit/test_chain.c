/* test_chain.c — the evidence chain's pure parts (issue 21): the member codec (negative
 * deltas: two threads submit), a link hash that changes with every input, and chain.c making
 * links of N documents, on age, and a final one whose members decode back to what was added.
 * The chain against a real store is tests/e2e/chain_verify.py. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "chain.h"
#include "chain_format.h"
#include "schema.h"

static void test_members_roundtrip(void **state)
{
	static const int64_t seqs[] = { 1, 2, 3, 1000, 999, 5, INT64_MAX / 2, 7, 0 };
	struct chainfmt_buf b = { 0 };
	struct chainfmt_member m;
	uint8_t dig[CHAINFMT_DIGEST_LEN];
	int64_t prev = 0;
	size_t pos = 0, i;

	(void)state;
	for (i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		memset(dig, (int)i, sizeof(dig));
		assert_int_equal(chainfmt_member_append(&b, &prev, seqs[i], (int)(i % 3), dig), 0);
	}
	prev = 0;
	for (i = 0; chainfmt_member_next(b.data, b.len, &pos, &prev, &m) == 1; i++) {
		assert_int_equal(m.seq, seqs[i]);
		assert_int_equal(m.coll, (int)(i % 3));
		assert_int_equal(m.digest[0], (uint8_t)i);
	}
	assert_int_equal(i, sizeof(seqs) / sizeof(seqs[0]));
	/* a cut encoding is refused, not read past its end */
	pos = 0;
	prev = 0;
	assert_int_equal(chainfmt_member_next(b.data, 20, &pos, &prev, &m), -EBADMSG);
	chainfmt_buf_release(&b);
}

static void test_link_hash_inputs(void **state)
{
	uint8_t sess[12] = { 1 }, prev[CHAINFMT_DIGEST_LEN] = { 0 }, mem[4] = { 1, 2, 3, 4 };
	uint8_t h0[CHAINFMT_DIGEST_LEN], h[CHAINFMT_DIGEST_LEN];

	(void)state;
	assert_int_equal(chainfmt_link_hash(sess, 0, prev, false, mem, 4, h0), 0);
	assert_int_equal(chainfmt_link_hash(sess, 0, prev, false, mem, 4, h), 0);
	assert_memory_equal(h0, h, sizeof(h));
	assert_int_equal(chainfmt_link_hash(sess, 1, prev, false, mem, 4, h), 0);
	assert_memory_not_equal(h0, h, sizeof(h));
	assert_int_equal(chainfmt_link_hash(sess, 0, prev, true, mem, 4, h), 0);
	assert_memory_not_equal(h0, h, sizeof(h));
	assert_int_equal(chainfmt_link_hash(sess, 0, prev, false, mem, 3, h), 0);
	assert_memory_not_equal(h0, h, sizeof(h));
	prev[31] = 1;
	assert_int_equal(chainfmt_link_hash(sess, 0, prev, false, mem, 4, h), 0);
	assert_memory_not_equal(h0, h, sizeof(h));
	sess[11] = 9;
	prev[31] = 0;
	assert_int_equal(chainfmt_link_hash(sess, 0, prev, false, mem, 4, h), 0);
	assert_memory_not_equal(h0, h, sizeof(h));
}

static bson_t *doc_with_seq(int64_t seq)
{
	bson_t *d = bson_new();

	BSON_APPEND_UTF8(d, "_id", "x");
	BSON_APPEND_INT64(d, SCHEMA_F_SEQ, seq);
	return d;
}

static const uint8_t *bin(const bson_t *d, const char *key, uint32_t *len)
{
	bson_iter_t it;
	bson_subtype_t st;
	const uint8_t *data = NULL;

	assert_true(bson_iter_init_find(&it, d, key));
	bson_iter_binary(&it, &st, len, &data);
	return data;
}

static void test_chain_links(void **state)
{
	struct chain *c;
	bson_oid_t oid;
	char hex[25];
	bson_t *link = NULL, *d, *links[3];
	uint8_t prev[CHAINFMT_DIGEST_LEN] = { 0 }, h[CHAINFMT_DIGEST_LEN];
	size_t nl = 0;

	(void)state;
	bson_oid_init(&oid, NULL);
	bson_oid_to_string(&oid, hex);
	assert_int_equal(chain_new(&oid, hex, 3, &c), 0);
	for (int64_t s = 1; s <= 4; s++) {
		d = doc_with_seq(s);
		assert_int_equal(chain_add(c, SCHEMA_EVENTS, d, &link), 0);
		if (link)
			links[nl++] = link;
		bson_destroy(d);
	}
	assert_int_equal(nl, 1); /* after 3 documents */
	d = doc_with_seq(5);
	assert_int_equal(chain_add(c, "not-chained", d, &link), -EINVAL);
	bson_destroy(d);
	assert_int_equal(chain_tick(c, UINT64_MAX / 2, &link), 0); /* old enough */
	assert_non_null(link);
	links[nl++] = link;
	assert_int_equal(chain_finish(c, &link), 0);
	assert_non_null(link);
	links[nl++] = link;
	d = doc_with_seq(6);
	assert_int_equal(chain_add(c, SCHEMA_EVENTS, d, &link), -EPIPE);
	bson_destroy(d);
	/* every link chains to the one before and hashes what it holds */
	for (size_t i = 0; i < nl; i++) {
		uint32_t plen, mlen, hlen;
		const uint8_t *p = bin(links[i], SCHEMA_F_LINK_PREV, &plen);
		const uint8_t *mem = bin(links[i], SCHEMA_F_LINK_MEMBERS, &mlen);
		const uint8_t *hh = bin(links[i], SCHEMA_F_LINK_HASH, &hlen);

		assert_memory_equal(p, prev, sizeof(prev));
		assert_int_equal(chainfmt_link_hash(oid.bytes, i, p, i == nl - 1, mem, mlen, h), 0);
		assert_memory_equal(h, hh, sizeof(h));
		memcpy(prev, hh, sizeof(prev));
		bson_destroy(links[i]);
	}
	{
		bson_t info = BSON_INITIALIZER;
		bson_iter_t it;

		chain_append_info(c, &info, true);
		assert_true(bson_iter_init(&it, &info) &&
			    bson_iter_find_descendant(&it, "chain.counts.events", &it));
		assert_int_equal(bson_iter_as_int64(&it), 4);
		bson_destroy(&info);
	}
	chain_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_members_roundtrip),
		cmocka_unit_test(test_link_hash_inputs),
		cmocka_unit_test(test_chain_links),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
