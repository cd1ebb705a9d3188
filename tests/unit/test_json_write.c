/* test_json_write.c — listener/json_write.c against libbson's own encoder: every byte below
 * 0x80 in strings and keys, multi-byte UTF-8, ill-formed UTF-8 and NUL (-ENOTSUP), integer
 * extremes, dates across leap years and at the ISO range's ends, empty and nested documents
 * and arrays, the event documents of the audit fixtures (ours and the shared docker session),
 * 20000 random documents; and jsonl_out's lines, on the fast path and on the libbson
 * fallback. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "assemble.h"
#include "event_doc.h"
#include "json_write.h"
#include "jsonl_out.h"

/* doc must be written, and exactly as libbson writes it. */
static void check_same(const bson_t *doc)
{
	struct json_write_buf b = { 0 };
	char *want = bson_as_relaxed_extended_json(doc, NULL);

	assert_non_null(want);
	assert_int_equal(json_write_relaxed(&b, doc), 0);
	assert_int_equal(b.len, strlen(want));
	if (memcmp(b.data, want, b.len) != 0) {
		fprintf(stderr, "want %s\ngot  %.*s\n", want, (int)b.len, b.data);
		fail();
	}
	bson_free(want);
	json_write_buf_release(&b);
}

/* doc must be refused, leaving what the buffer held untouched. */
static void check_refused(const bson_t *doc)
{
	struct json_write_buf b = { 0 };

	assert_int_equal(json_write_reserve(&b, 3), 0);
	memcpy(b.data, "abc", 3);
	b.len = 3;
	assert_int_equal(json_write_relaxed(&b, doc), -ENOTSUP);
	assert_int_equal(b.len, 3);
	json_write_buf_release(&b);
}

static void test_strings(void **state)
{
	char s[128];
	bson_t doc = BSON_INITIALIZER;

	(void)state;
	/* every byte 0x01..0x7f as a value and in a key */
	for (int c = 1; c < 128; c++) {
		char one[2] = { (char)c, 0 }, key[8] = { 'k', (char)c, 'x', 0 };

		s[c - 1] = (char)c;
		BSON_APPEND_UTF8(&doc, key, one);
	}
	bson_append_utf8(&doc, "all", -1, s, 127);
	BSON_APPEND_UTF8(&doc, "empty", "");
	BSON_APPEND_UTF8(&doc, "utf8", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf "
				       "\xef\xbf\xbd \xed\x9f\xbf \xc2\x80 \xdf\xbf");
	BSON_APPEND_UTF8(&doc, "k\xc3\xa9y\"\\", "v");
	BSON_APPEND_UTF8(&doc, "path", "/tmp/sp ace \"q\" \\ \n\t\x1b[31m");
	check_same(&doc);
	bson_destroy(&doc);
}

static void test_refused(void **state)
{
	static const struct {
		const char *s;
		size_t len;
	} bad[] = {
		{ "a\0b", 3 },             /* NUL: libbson escapes it, we leave it to libbson */
		{ "\xff", 1 },
		{ "\x80", 1 },
		{ "\xc0\xaf", 2 },         /* overlong */
		{ "\xe0\x80\xaf", 3 },
		{ "\xed\xa0\x80", 3 },     /* surrogate */
		{ "\xf4\x90\x80\x80", 4 }, /* above U+10FFFF */
		{ "\xc3", 1 },             /* truncated */
		{ "ok\xe2\x82", 4 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bson_t doc = BSON_INITIALIZER, sub;

		BSON_APPEND_UTF8(&doc, "first", "fine");
		BSON_APPEND_DOCUMENT_BEGIN(&doc, "sub", &sub);
		bson_append_utf8(&sub, "s", -1, bad[i].s, (int)bad[i].len);
		bson_append_document_end(&doc, &sub);
		check_refused(&doc);
		bson_destroy(&doc);
	}
	{
		bson_t doc = BSON_INITIALIZER;

		BSON_APPEND_DOUBLE(&doc, "d", 1.5);
		check_refused(&doc);
		bson_reinit(&doc);
		BSON_APPEND_DATE_TIME(&doc, "before1970", -1);
		check_refused(&doc);
		bson_reinit(&doc);
		BSON_APPEND_DATE_TIME(&doc, "after9999", 253402300800000LL);
		check_refused(&doc);
		bson_reinit(&doc);
		BSON_APPEND_BINARY(&doc, "bin", BSON_SUBTYPE_BINARY, (const uint8_t *)"x", 1);
		check_refused(&doc);
		bson_destroy(&doc);
	}
}

static void test_scalars(void **state)
{
	static const int64_t dates[] = {
		0, 1, 999, 1000, 86399999, 86400000, 951782400000LL /* 2000-02-29 */,
		951868800000LL, 1709164800123LL /* 2024-02-29 */, 4107542400000LL /* 2100-03-01 */,
		1763910821005LL, 1763910821050LL, 1763910821500LL, 253402300799999LL,
		253402300799000LL, 946684799999LL, 978307200000LL,
	};
	bson_t doc = BSON_INITIALIZER;
	bson_oid_t oid;
	char key[32];

	(void)state;
	bson_oid_init_from_string(&oid, "65a1b2c3d4e5f60718293a4b");
	BSON_APPEND_INT32(&doc, "i32min", INT32_MIN);
	BSON_APPEND_INT32(&doc, "i32max", INT32_MAX);
	BSON_APPEND_INT32(&doc, "i32zero", 0);
	BSON_APPEND_INT64(&doc, "i64min", INT64_MIN);
	BSON_APPEND_INT64(&doc, "i64max", INT64_MAX);
	BSON_APPEND_INT64(&doc, "neg", -100);
	BSON_APPEND_BOOL(&doc, "t", true);
	BSON_APPEND_BOOL(&doc, "f", false);
	BSON_APPEND_NULL(&doc, "n");
	BSON_APPEND_OID(&doc, "o", &oid);
	for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
		snprintf(key, sizeof(key), "d%zu", i);
		BSON_APPEND_DATE_TIME(&doc, key, dates[i]);
	}
	/* a day every 37 days, at odd times, from 1970 to 9999 */
	for (int64_t ms = 12345; ms < 253402300799999LL; ms += 37LL * 86400000 + 3723456) {
		bson_t one = BSON_INITIALIZER;

		BSON_APPEND_DATE_TIME(&one, "ts", ms);
		check_same(&one);
		bson_destroy(&one);
	}
	check_same(&doc);
	bson_destroy(&doc);
}

static void test_containers(void **state)
{
	bson_t doc = BSON_INITIALIZER, a, b, c;

	(void)state;
	check_same(&doc); /* top-level empty: "{ }" */
	BSON_APPEND_DOCUMENT_BEGIN(&doc, "empty", &a);
	bson_append_document_end(&doc, &a);
	BSON_APPEND_ARRAY_BEGIN(&doc, "emptyarr", &a);
	bson_append_array_end(&doc, &a);
	BSON_APPEND_ARRAY_BEGIN(&doc, "arr", &a);
	BSON_APPEND_UTF8(&a, "0", "x");
	BSON_APPEND_INT64(&a, "1", 7);
	BSON_APPEND_DOCUMENT_BEGIN(&a, "2", &b);
	BSON_APPEND_ARRAY_BEGIN(&b, "inner", &c);
	BSON_APPEND_NULL(&c, "0");
	bson_append_array_end(&b, &c);
	bson_append_document_end(&a, &b);
	BSON_APPEND_ARRAY_BEGIN(&a, "3", &b);
	bson_append_array_end(&a, &b);
	bson_append_array_end(&doc, &a);
	check_same(&doc);
	bson_destroy(&doc);
}

/* ---- random documents ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

/* Random bytes from pieces that stress the escaping; *ok false when one is not writable. */
static size_t rnd_string(char *s, size_t max, bool *ok)
{
	static const char *const pieces[] = {
		"a", "Z", " ", "/", "\"", "\\", "\n", "\t", "\r", "\b", "\f", "\x01", "\x1f",
		"\x7f",
		"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xef\xbf\xbd", "{", "}", ":", ",",
	};
	static const char *const badp[] = {
		"\xff", "\xc0\x80", "\xed\xa0\x80", "\x80", "\xe2\x82",
	};
	size_t n = 0, want = rnd(24);

	while (n < want && n + 4 < max) {
		const char *p;

		if (rnd(200) == 0) {
			p = badp[rnd(sizeof(badp) / sizeof(badp[0]))];
			*ok = false;
		} else {
			p = pieces[rnd(sizeof(pieces) / sizeof(pieces[0]))];
		}
		memcpy(s + n, p, strlen(p));
		n += strlen(p);
	}
	s[n] = '\0';
	return n;
}

static void rnd_doc(bson_t *doc, int depth, bool is_array, bool *ok)
{
	uint32_t n = rnd(depth ? 5 : 10);

	for (uint32_t i = 0; i < n; i++) {
		char key[128], s[128];
		size_t slen;
		bson_t sub;
		bool kok = true;

		if (is_array)
			snprintf(key, sizeof(key), "%u", i);
		else
			rnd_string(key, sizeof(key), &kok);
		if (!kok) /* libbson cannot even take some of these keys: keep keys valid */
			snprintf(key, sizeof(key), "k%u", i);
		switch (rnd(depth < 3 ? 11 : 9)) {
		case 0:
			slen = rnd_string(s, sizeof(s), ok);
			bson_append_utf8(doc, key, -1, s, (int)slen);
			break;
		case 1:
			bson_append_int32(doc, key, -1, (int32_t)(rnd(UINT32_MAX) - INT32_MAX));
			break;
		case 2:
			bson_append_int64(doc, key, -1,
					  (int64_t)(rng >> rnd(64)) * (rnd(2) ? -1 : 1));
			break;
		case 3:
			bson_append_bool(doc, key, -1, rnd(2));
			break;
		case 4:
			bson_append_null(doc, key, -1);
			break;
		case 5: {
			bson_oid_t oid;

			bson_oid_init(&oid, NULL);
			bson_append_oid(doc, key, -1, &oid);
			break;
		}
		case 6:
			bson_append_date_time(doc, key, -1, (int64_t)(rng % 253402300800000ULL));
			break;
		case 7:
			if (rnd(20) == 0) {
				bson_append_double(doc, key, -1, 0.25);
				*ok = false;
			} else {
				bson_append_utf8(doc, key, -1, "plain", -1);
			}
			break;
		case 8:
			bson_append_utf8(doc, key, -1, "x", -1);
			break;
		case 9:
			bson_append_document_begin(doc, key, -1, &sub);
			rnd_doc(&sub, depth + 1, false, ok);
			bson_append_document_end(doc, &sub);
			break;
		default:
			bson_append_array_begin(doc, key, -1, &sub);
			rnd_doc(&sub, depth + 1, true, ok);
			bson_append_array_end(doc, &sub);
			break;
		}
	}
}

static void test_random(void **state)
{
	size_t nok = 0;

	(void)state;
	for (int i = 0; i < 20000; i++) {
		bson_t doc = BSON_INITIALIZER;
		bool ok = true;

		rnd_doc(&doc, 0, false, &ok);
		if (ok) {
			check_same(&doc);
			nok++;
		} else {
			check_refused(&doc);
		}
		bson_destroy(&doc);
	}
	assert_true(nok > 10000); /* the fast path is the common one */
}

/* ---- the real documents: every event of the audit fixtures ---- */

static size_t n_events;

static void on_event(void *opaque, const struct audit_event *ev)
{
	static const char *const cid =
		"83081e260a3673e8cf3d113dd2a57735ef60d0ad6e7e266d9d57ca43ce370efe";
	struct doc_meta *m = opaque;
	bson_t doc = BSON_INITIALIZER;

	m->seq++;
	m->container = m->seq % 2 ? NULL : cid;
	if (event_doc_build(ev, m, &doc) == 0) {
		check_same(&doc);
		n_events++;
	}
	bson_destroy(&doc);
}

static void test_fixture_events(void **state)
{
	static const struct {
		const char *env, *name;
	} files[] = {
		{ "FIXTURES", "audit/session1-chosen.log" },
		{ "FIXTURES", "audit/synthetic.log" },
		{ "CAPTURED_FIXTURES", "docker-run-exec.audit.log" }, /* a real docker session */
	};
	struct doc_meta m = { .host = "h\"1" };

	(void)state;
	bson_oid_init_from_string(&m.session, "65a1b2c3d4e5f60718293a4b");
	bson_oid_to_string(&m.session, m.session_hex);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[4096], *line = NULL;
		size_t cap = 0;
		ssize_t n;
		struct asm_ctx *ctx;
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", getenv(files[i].env), files[i].name);
		f = fopen(path, "r");
		assert_non_null(f);
		assert_int_equal(asm_new(1000, 64, on_event, &m, &ctx), 0);
		while ((n = getline(&line, &cap, f)) > 0)
			asm_feed_line(ctx, line, (size_t)n, 0);
		asm_flush(ctx);
		asm_free(ctx);
		free(line);
		fclose(f);
	}
	assert_true(n_events > 1000);
}

/* ---- jsonl_out: the line format, fast path and fallback ---- */

static void test_jsonl_lines(void **state)
{
	char path[] = "/tmp/test_json_write.XXXXXX", *line = NULL, *json;
	struct jsonl_out *o;
	bson_t docs[3];
	size_t cap = 0;
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	for (int i = 0; i < 3; i++)
		bson_init(&docs[i]);
	BSON_APPEND_UTF8(&docs[0], "_id", "a:1");
	BSON_APPEND_INT64(&docs[0], "seq", 1);
	BSON_APPEND_DOUBLE(&docs[1], "x", 2.5); /* fallback */
	BSON_APPEND_UTF8(&docs[1], "s", "q\"");
	assert_int_equal(jsonl_out_open(path, &o), 0);
	assert_int_equal(jsonl_out_write(o, "events", &docs[0]), 0);
	assert_int_equal(jsonl_out_write(o, "proc_events", &docs[1]), 0);
	assert_int_equal(jsonl_out_write(o, "snapshot", &docs[2]), 0);
	jsonl_out_free(o);

	f = fopen(path, "r");
	assert_non_null(f);
	for (int i = 0; i < 3; i++) {
		static const char *const coll[] = { "events", "proc_events", "snapshot" };
		char want[512];

		assert_true(getline(&line, &cap, f) > 0);
		json = bson_as_relaxed_extended_json(&docs[i], NULL);
		snprintf(want, sizeof(want), "{\"collection\": \"%s\", %s\n", coll[i], json + 1);
		assert_string_equal(line, want);
		bson_free(json);
		bson_destroy(&docs[i]);
	}
	assert_true(getline(&line, &cap, f) < 0);
	free(line);
	fclose(f);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strings),        cmocka_unit_test(test_refused),
		cmocka_unit_test(test_scalars),        cmocka_unit_test(test_containers),
		cmocka_unit_test(test_random),         cmocka_unit_test(test_fixture_events),
		cmocka_unit_test(test_jsonl_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
