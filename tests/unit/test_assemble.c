/* test_assemble.c — assemble.c on the two captured sessions (events = distinct serials, every
 * record used once, serial gaps), on the same records interleaved, and on EOE, timeout,
 * overflow, records before their SYSCALL, stray EOE, parse errors and the argv join.
 * Expected numbers were computed from the fixture text with grep/awk, not from this code. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "assemble.h"

struct seen {
	uint64_t serial;
	size_t nrecords;
	bool complete;
	long pid;
	int first_type;
};

struct collector {
	struct seen *v;
	size_t n, cap;
	size_t records;
};

static void collect(void *opaque, const struct audit_event *ev)
{
	struct collector *c = opaque;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 256;
		c->v = realloc(c->v, c->cap * sizeof(*c->v));
		assert_non_null(c->v);
	}
	for (size_t i = 0; i < ev->nrecords; i++)
		assert_int_equal(ev->records[i]->serial, ev->serial);
	c->v[c->n++] = (struct seen){ .serial = ev->serial, .nrecords = ev->nrecords,
				      .complete = ev->complete, .pid = audit_event_pid(ev),
				      .first_type = ev->nrecords ? ev->records[0]->type : 0 };
	c->records += ev->nrecords;
}

struct lines {
	char **v;
	size_t n;
};

static void read_lines(const char *env, const char *name, struct lines *ret)
{
	char path[4096], *line = NULL;
	size_t cap = 0, lcap = 0;
	ssize_t n;
	FILE *f;
	const char *dir = getenv(env);

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	assert_non_null(f);
	ret->v = NULL;
	ret->n = 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (ret->n == lcap) {
			lcap = lcap ? lcap * 2 : 1024;
			ret->v = realloc(ret->v, lcap * sizeof(*ret->v));
			assert_non_null(ret->v);
		}
		ret->v[ret->n++] = strdup(line);
	}
	free(line);
	fclose(f);
}

static void free_lines(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The serial of a fixture line, read with sscanf (independent of audit_parse). */
static uint64_t line_serial(const char *line)
{
	const char *p = strstr(line, "audit(");
	unsigned long long sec, ms, serial;

	assert_non_null(p);
	assert_int_equal(sscanf(p, "audit(%llu.%llu:%llu)", &sec, &ms, &serial), 3);
	return serial;
}

static void check_unique(struct collector *c, size_t expect)
{
	uint64_t *s = malloc(c->n * sizeof(*s));

	assert_non_null(s);
	for (size_t i = 0; i < c->n; i++)
		s[i] = c->v[i].serial;
	qsort(s, c->n, sizeof(*s), cmp_u64);
	for (size_t i = 1; i < c->n; i++)
		assert_true(s[i] != s[i - 1]);
	assert_int_equal(c->n, expect);
	free(s);
}

static void run_session(const char *name, size_t lines, size_t serials, uint64_t gaps,
			uint64_t missing)
{
	struct collector c = { 0 };
	struct asm_ctx *ctx;
	struct asm_stats st;
	struct lines l;

	read_lines("CAPTURED_FIXTURES", name, &l);
	assert_int_equal(l.n, lines);
	assert_int_equal(asm_new(1000, 1024, collect, &c, &ctx), 0);
	for (size_t i = 0; i < l.n; i++)
		assert_int_equal(asm_feed_line(ctx, l.v[i], strlen(l.v[i]), i), 0);
	/* every event of these captures ends with EOE: nothing left open */
	assert_int_equal(asm_pending(ctx), 0);
	asm_get_stats(ctx, &st);
	assert_int_equal(st.records, lines);
	assert_int_equal(st.events, serials);
	assert_int_equal(st.parse_errors, 0);
	assert_int_equal(st.timed_out + st.overflowed + st.flushed + st.stray_eoe, 0);
	assert_int_equal(st.serial_gaps, gaps);
	assert_int_equal(st.serials_missing, missing);
	assert_int_equal(c.records, lines); /* every record used exactly once */
	check_unique(&c, serials);
	for (size_t i = 0; i < c.n; i++) {
		assert_true(c.v[i].complete);
		assert_true(c.v[i].pid > 0);
		assert_int_equal(c.v[i].first_type, 1300);
	}
	asm_free(ctx);
	free(c.v);
	free_lines(&l);
}

/* wc -l; grep -c type=1320 (= distinct serials); awk over serials in order of first sight:
 * jumps past max+1 and the numbers skipped. */
static void test_docker_session_1(void **state)
{
	(void)state;
	run_session("docker-session-1/audit.log", 4502, 1129, 173, 4179);
}

static void test_docker_run_exec(void **state)
{
	(void)state;
	run_session("docker-run-exec.audit.log", 4479, 1122, 204, 2223);
}

/* The same records with 8 events at a time interleaved round-robin, each event's non-EOE
 * records rotated (so some SYSCALLs come after their PATH/PROCTITLE), EOE last per event. */
static void test_interleaved(void **state)
{
	struct collector seq = { 0 }, mix = { 0 };
	struct asm_ctx *ctx;
	struct asm_stats st;
	struct lines l;
	size_t *start, *count, nev = 0, fed = 0;

	(void)state;
	read_lines("CAPTURED_FIXTURES", "docker-session-1/audit.log", &l);
	start = calloc(l.n, sizeof(*start));
	count = calloc(l.n, sizeof(*count));
	/* the capture has each event's records contiguous: group them */
	for (size_t i = 0; i < l.n; i++) {
		if (i == 0 || line_serial(l.v[i]) != line_serial(l.v[i - 1]))
			start[nev++] = i;
		count[nev - 1]++;
	}
	assert_int_equal(nev, 1129);

	assert_int_equal(asm_new(1000, 64, collect, &mix, &ctx), 0);
	for (size_t g = 0; g < nev; g += 8) {
		size_t ge = g + 8 < nev ? g + 8 : nev, maxc = 0;

		for (size_t e = g; e < ge; e++)
			maxc = count[e] > maxc ? count[e] : maxc;
		for (size_t k = 0; k < maxc; k++) {
			for (size_t e = g; e < ge; e++) {
				size_t body = count[e] - 1, idx;

				if (k > body)
					continue;
				/* EOE (the last record) goes last; the others rotate by e */
				idx = k == body ? count[e] - 1 : (k + e) % body;
				assert_true(strstr(l.v[start[e] + count[e] - 1], "type=1320") != NULL);
				assert_int_equal(asm_feed_line(ctx, l.v[start[e] + idx],
							       strlen(l.v[start[e] + idx]), 0), 0);
				fed++;
			}
		}
	}
	assert_int_equal(fed, 4502);
	assert_int_equal(asm_pending(ctx), 0);
	asm_get_stats(ctx, &st);
	assert_int_equal(st.events, 1129);
	assert_int_equal(st.overflowed + st.timed_out, 0);
	assert_int_equal(mix.records, 4502);
	check_unique(&mix, 1129);
	/* each event has the records its group had */
	for (size_t i = 0; i < mix.n; i++) {
		bool found = false;

		for (size_t e = 0; e < nev && !found; e++) {
			if (line_serial(l.v[start[e]]) != mix.v[i].serial)
				continue;
			assert_int_equal(mix.v[i].nrecords, count[e]);
			found = true;
		}
		assert_true(found);
		assert_true(mix.v[i].pid > 0); /* found even when SYSCALL was not first */
	}
	asm_free(ctx);
	free(seq.v);
	free(mix.v);
	free(start);
	free(count);
	free_lines(&l);
}

static int feed(struct asm_ctx *ctx, int type, const char *text, uint64_t now)
{
	return asm_feed(ctx, type, text, strlen(text), now);
}

static void test_timeout_and_flush(void **state)
{
	struct collector c = { 0 };
	struct asm_ctx *ctx;
	struct asm_stats st;

	(void)state;
	assert_int_equal(asm_new(1000, 16, collect, &c, &ctx), 0);
	assert_int_equal(feed(ctx, 1305, "audit(1.000:10): op=add_rule key=\"lineage\" res=1", 100),
			 0);
	assert_int_equal(feed(ctx, 1107, "audit(1.000:11): pid=7 uid=0 msg='op=x res=success'", 600),
			 0);
	asm_expire(ctx, 1099);
	assert_int_equal(c.n, 0);
	asm_expire(ctx, 1100);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.v[0].serial, 10);
	assert_false(c.v[0].complete);
	assert_int_equal(c.v[0].pid, -1);
	asm_expire(ctx, 50); /* a clock that went back expires nothing */
	assert_int_equal(c.n, 1);
	/* a record of an open event does not restart its clock */
	assert_int_equal(feed(ctx, 1300, "audit(1.000:11): arch=c000003e syscall=2 pid=8", 1500), 0);
	asm_expire(ctx, 1600);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.v[1].serial, 11);
	assert_int_equal(c.v[1].nrecords, 2);
	assert_int_equal(c.v[1].pid, 8); /* from SYSCALL, not the USER record's pid=7 */
	assert_int_equal(feed(ctx, 1300, "audit(1.000:12): arch=c000003e syscall=2", 1600), 0);
	asm_flush(ctx);
	assert_int_equal(c.n, 3);
	asm_get_stats(ctx, &st);
	assert_int_equal(st.timed_out, 2);
	assert_int_equal(st.flushed, 1);
	assert_int_equal(st.events, 3);
	assert_int_equal(st.records, 4);
	asm_free(ctx);
	free(c.v);
}

static void test_overflow(void **state)
{
	struct collector c = { 0 };
	struct asm_ctx *ctx;
	struct asm_stats st;
	char text[128];

	(void)state;
	assert_int_equal(asm_new(1000, 4, collect, &c, &ctx), 0);
	for (int i = 0; i < 10; i++) {
		snprintf(text, sizeof(text), "audit(1.000:%d): arch=c000003e syscall=2 pid=%d", 100 + i,
			 i + 1);
		assert_int_equal(feed(ctx, 1300, text, 0), 0);
	}
	assert_int_equal(asm_pending(ctx), 4);
	assert_int_equal(c.n, 6);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(c.v[i].serial, 100 + i); /* oldest first */
	/* the EOE of an overflowed event is stray; of an open one, it completes it */
	assert_int_equal(feed(ctx, 1320, "audit(1.000:100): ", 0), 0);
	assert_int_equal(feed(ctx, 1320, "audit(1.000:108): ", 0), 0);
	assert_int_equal(c.n, 7);
	assert_int_equal(c.v[6].serial, 108);
	assert_true(c.v[6].complete);
	asm_get_stats(ctx, &st);
	assert_int_equal(st.overflowed, 6);
	assert_int_equal(st.stray_eoe, 1);
	assert_int_equal(st.serial_gaps, 0);
	asm_free(ctx); /* frees the 3 still open without emitting (checked by ASan) */
	assert_int_equal(c.n, 7);
	free(c.v);
}

static void test_errors_and_limits(void **state)
{
	struct collector c = { 0 };
	struct asm_ctx *ctx;
	struct asm_stats st;
	char text[128];

	(void)state;
	assert_int_equal(asm_new(1000, 0, collect, &c, &ctx), -EINVAL);
	assert_int_equal(asm_new(1000, 8, NULL, &c, &ctx), -EINVAL);
	assert_int_equal(asm_new(1000, 8, collect, &c, &ctx), 0);
	assert_int_equal(feed(ctx, 1300, "garbage", 0), -EINVAL);
	assert_int_equal(feed(ctx, 1302, "audit(1.000:5): name=\"x", 0), -EBADMSG);
	assert_int_equal(asm_feed_line(ctx, "type=1300 nomsg", 15, 0), -EINVAL);
	assert_int_equal(asm_feed_line(ctx, "\n", 1, 0), 0);
	assert_int_equal(asm_feed_line(ctx, "", 0, 0), 0);
	/* more records than ASM_EVENT_MAX_RECORDS in one event */
	for (int i = 0; i < ASM_EVENT_MAX_RECORDS + 10; i++) {
		snprintf(text, sizeof(text), "audit(1.000:7): item=%d name=\"/x\"", i);
		assert_int_equal(feed(ctx, 1302, text, 0), 0);
	}
	assert_int_equal(feed(ctx, 1320, "audit(1.000:7): ", 0), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.v[0].nrecords, ASM_EVENT_MAX_RECORDS);
	/* a gap and a serial far away (a restart, not a gap) */
	assert_int_equal(feed(ctx, 1320, "audit(1.000:10): ", 0), 0);
	assert_int_equal(feed(ctx, 1320, "audit(1.000:9000000000): ", 0), 0);
	asm_get_stats(ctx, &st);
	assert_int_equal(st.parse_errors, 3);
	assert_int_equal(st.dropped_records, 11); /* 10 PATH + the EOE */
	assert_int_equal(st.serial_gaps, 1);
	assert_int_equal(st.serials_missing, 2);
	assert_int_equal(st.stray_eoe, 2);
	asm_free(ctx);
	free(c.v);
	asm_free(NULL);
}

/* The synthetic fixture: interleaved 500/501, AVC before SYSCALL, argv fragments, a USER
 * event without EOE. */
struct argv_check {
	int calls;
};

static void check_synthetic(void *opaque, const struct audit_event *ev)
{
	struct argv_check *chk = opaque;
	struct audit_argv a;

	chk->calls++;
	if (ev->serial == 501) {
		assert_int_equal(chk->calls, 1); /* its EOE came first */
		assert_int_equal(ev->nrecords, 4);
		assert_int_equal(audit_event_pid(ev), 4343);
		assert_int_equal(audit_event_argv(ev, &a), -ENOENT);
	} else if (ev->serial == 500) {
		assert_int_equal(chk->calls, 2);
		assert_int_equal(ev->nrecords, 8);
		assert_int_equal(ev->records[0]->type, 1400);
		assert_int_equal(audit_event_pid(ev), 4242);
		assert_int_equal(ev->sec, 1700000000);
		assert_int_equal(ev->msec, 1);
		assert_int_equal(audit_event_argv(ev, &a), 0);
		assert_int_equal(a.argc, 4);
		assert_int_equal(a.n, 4);
		assert_string_equal(a.v[0], "cat");
		assert_string_equal(a.v[1], "helloworld");
		assert_int_equal(a.len[1], 10);
		assert_string_equal(a.v[2], "-n");
		assert_string_equal(a.v[3], "\xc3\xa9\xc3\xa9 t");
		assert_false(a.truncated);
		audit_argv_release(&a);
	} else {
		assert_int_equal(ev->serial, 502);
		assert_int_equal(chk->calls, 3);
		assert_false(ev->complete);
		assert_int_equal(audit_event_pid(ev), 777);
	}
}

static void test_synthetic(void **state)
{
	struct argv_check chk = { 0 };
	struct asm_ctx *ctx;
	struct lines l;

	(void)state;
	read_lines("FIXTURES", "audit/synthetic.log", &l);
	assert_int_equal(asm_new(1000, 16, check_synthetic, &chk, &ctx), 0);
	for (size_t i = 0; i < l.n; i++)
		assert_int_equal(asm_feed_line(ctx, l.v[i], strlen(l.v[i]), 0), 0);
	assert_int_equal(chk.calls, 2);
	asm_flush(ctx);
	assert_int_equal(chk.calls, 3);
	asm_free(ctx);
	free_lines(&l);
}

/* argv edge cases straight from records. */
static void argv_of(const char *const *recs, size_t n, struct audit_argv *ret, int expect)
{
	struct audit_record *r[8];
	struct audit_event ev = { .serial = 1, .nrecords = n, .records = r };

	for (size_t i = 0; i < n; i++)
		assert_int_equal(audit_record_parse(1309, recs[i], strlen(recs[i]), &r[i]), 0);
	assert_int_equal(audit_event_argv(&ev, ret), expect);
	for (size_t i = 0; i < n; i++)
		audit_record_free(r[i]);
}

static void test_argv_edges(void **state)
{
	struct audit_argv a;
	const char *lost_frag[] = { "audit(1.000:1): argc=2 a0=\"x\" a1_len=4 a1[0]=6162",
				    "audit(1.000:1): a1[2]=6566" };
	const char *missing[] = { "audit(1.000:1): argc=3 a0=\"x\" a2=\"z\"" };
	const char *huge[] = { "audit(1.000:1): argc=99999999 a0=\"x\" a5000=\"y\"" };
	const char *noargc[] = { "audit(1.000:1): a0=\"x\" a1=\"y\"" };

	(void)state;
	argv_of(lost_frag, 2, &a, 0);
	assert_int_equal(a.n, 2);
	assert_string_equal(a.v[1], "abef");
	assert_true(a.truncated);
	audit_argv_release(&a);

	argv_of(missing, 1, &a, 0);
	assert_int_equal(a.n, 3);
	assert_string_equal(a.v[1], "");
	assert_string_equal(a.v[2], "z");
	assert_true(a.truncated);
	audit_argv_release(&a);

	argv_of(huge, 1, &a, 0);
	assert_int_equal(a.argc, 99999999);
	assert_int_equal(a.n, ASM_ARGV_MAX);
	assert_true(a.truncated);
	audit_argv_release(&a);

	argv_of(noargc, 1, &a, 0);
	assert_int_equal(a.n, 2);
	assert_string_equal(a.v[1], "y");
	audit_argv_release(&a);
	audit_argv_release(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_docker_session_1),
		cmocka_unit_test(test_docker_run_exec),
		cmocka_unit_test(test_interleaved),
		cmocka_unit_test(test_timeout_and_flush),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_errors_and_limits),
		cmocka_unit_test(test_synthetic),
		cmocka_unit_test(test_argv_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
