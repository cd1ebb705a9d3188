/* sessions.c — `lineage-query sessions`: every recorded listener run, newest first, with
 * host, start, duration, counters, and any loss of events shown prominently. */
#include <string.h>

#include "query.h"
#include "term.h"

/* Counters that mean "events were lost" (DESIGN.md principle 2). */
static const char *const loss_counters[] = { "audit_lost", "audit_enobufs", "proc_enobufs",
					     "dropped", "torn_spool_records" };

static int64_t counter(const bson_t *d, const char *name)
{
	bson_iter_t it, sub;

	if (bson_iter_init_find(&it, d, "counters") && BSON_ITER_HOLDS_DOCUMENT(&it) &&
	    bson_iter_recurse(&it, &sub) && bson_iter_find(&sub, name) &&
	    (BSON_ITER_HOLDS_INT32(&sub) || BSON_ITER_HOLDS_INT64(&sub) ||
	     BSON_ITER_HOLDS_DOUBLE(&sub)))
		return bson_iter_as_int64(&sub);
	return 0;
}

/* issue 20: when the filter last processed the session (its `filter` sub-document), into
 * buf: the time, or "no". */
static void filtered_at(const struct qctx *ctx, const bson_t *d, char *buf, size_t len)
{
	bson_iter_t it, f;

	snprintf(buf, len, "no");
	if (bson_iter_init_find(&it, d, SCHEMA_F_FILTER) && BSON_ITER_HOLDS_DOCUMENT(&it) &&
	    bson_iter_recurse(&it, &f) && bson_iter_find(&f, SCHEMA_F_FILTER_AT) &&
	    BSON_ITER_HOLDS_DATE_TIME(&f))
		fmt_time(bson_iter_date_time(&f), ctx->args->utc, true, buf, len);
}

/* issue 19: what the session recorded (scope.summary); "all" for sessions from before. */
static const char *scope_summary(const bson_t *d)
{
	bson_iter_t it;

	if (bson_iter_init(&it, d) && bson_iter_find_descendant(&it, "scope.summary", &it) &&
	    BSON_ITER_HOLDS_UTF8(&it))
		return bson_iter_utf8(&it, NULL);
	return "all";
}

static int print_session(struct qctx *ctx, const bson_t *d, void *data)
{
	int *nlossy = data;
	bson_iter_t it;
	char hex[25] = "?", start[40], dur[24], ev[24], lost[24], filt[40];
	int64_t s = doc_date(d, "started_at"), e = doc_date(d, "ended_at"), nlost = 0;

	if (ctx->args->format == QFMT_JSON) {
		doc_print_json(ctx, d);
		return 0;
	}
	if (bson_iter_init_find(&it, d, "_id") && BSON_ITER_HOLDS_OID(&it))
		bson_oid_to_string(bson_iter_oid(&it), hex);
	for (size_t i = 0; i < sizeof(loss_counters) / sizeof(loss_counters[0]); i++)
		nlost += counter(d, loss_counters[i]);
	fmt_time(s, ctx->args->utc, true, start, sizeof(start));
	if (e == FMT_NO_TIME)
		snprintf(dur, sizeof(dur), "running");
	else
		fmt_duration(e - s, dur, sizeof(dur));
	snprintf(ev, sizeof(ev), "%lld", (long long)(counter(d, "events") +
						     counter(d, "proc_events")));
	snprintf(lost, sizeof(lost), "%lld%s", (long long)nlost, nlost ? "!" : "");
	filtered_at(ctx, d, filt, sizeof(filt));
	fprintf(ctx->out, "%-24s %-8.8s %-23s %8s %7s %s%5s%s  %-12s %s%s%s\n", hex,
		doc_str(d, "host") ? doc_str(d, "host") : "-", start, dur, ev,
		nlost ? term_sgr(ctx->color, TS_RED) : "", lost,
		nlost ? term_sgr(ctx->color, TS_RESET) : "", scope_summary(d),
		strcmp(filt, "no") ? "" : term_sgr(ctx->color, TS_YELLOW), filt,
		strcmp(filt, "no") ? "" : term_sgr(ctx->color, TS_RESET));
	if (nlost) {
		fprintf(ctx->out, "  ! LOST EVENTS:");
		for (size_t i = 0; i < sizeof(loss_counters) / sizeof(loss_counters[0]); i++)
			if (counter(d, loss_counters[i]))
				fprintf(ctx->out, " %s=%lld", loss_counters[i],
					(long long)counter(d, loss_counters[i]));
		fputc('\n', ctx->out);
		(*nlossy)++;
	}
	return 0;
}

int cmd_sessions(struct qctx *ctx)
{
	bson_t sort = BSON_INITIALIZER;
	int nlossy = 0, r;

	BSON_APPEND_INT32(&sort, "started_at", -1);
	if (ctx->args->format == QFMT_TEXT)
		fprintf(ctx->out, "%s%-24s %-8s %-23s %8s %7s %5s  %-12s %s%s\n",
			term_sgr(ctx->color, TS_BOLD), "SESSION", "HOST",
			ctx->args->utc ? "STARTED (UTC)" : "STARTED", "DURATION", "EVENTS", "LOST",
			"SCOPE", "FILTERED", term_sgr(ctx->color, TS_RESET));
	r = q_each(ctx, SCHEMA_SESSIONS, NULL, &sort, print_session, &nlossy);
	if (r == 0 && nlossy)
		fprintf(stderr, "lineage-query: %d session(s) lost events: their trees and timelines "
			"may be incomplete\n", nlossy);
	bson_destroy(&sort);
	return r;
}
