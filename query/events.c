/* events.c — `lineage-query events`: the listener's raw audit events of a session, like
 * ausearch: --pid, --syscall, --key, --path, --container, --since/--until; one text line
 * or one JSON document per event, streamed in the order the store returns them (recording
 * order). Needs no filter run.
 *
 * FerretDB on PostgreSQL uses an index only for top-level equality: session, pid, syscall
 * and key go to the server as equalities; times, paths and container prefixes are checked
 * here while streaming. Owns nothing beyond the filter it builds. */
#include <errno.h>
#include <string.h>

#include "query.h"
#include "raw.h"
#include "schema.h"
#include "term.h"

struct evstate {
	int64_t since, until;
	size_t shown;
	bool key_is_default; /* --key K where K is the session's default: absent keys match */
	char default_key[128];
};

/* The text line of one audit event: time, pid, ppid, uid, syscall and result, comm,
 * container, what it touched or ran. */
void q_event_line(struct qctx *ctx, const bson_t *d)
{
	char tbuf[40], res[96], det[8192], cl[16], line[8600];
	const char *comm = doc_str(d, "comm"), *key = doc_str(d, "key");

	fmt_time(doc_date(d, SCHEMA_F_TS), ctx->args->utc, false, tbuf, sizeof(tbuf));
	raw_result(d, res, sizeof(res));
	raw_detail(d, det, sizeof(det));
	raw_container_label(doc_str(d, SCHEMA_F_CONTAINER), cl, sizeof(cl));
	/* key is there only when it is not the session's default (listener) */
	snprintf(line, sizeof(line), "%s %7lld %7lld %5lld %-12s %-22s %-15s %s%s%s", tbuf,
		 (long long)doc_int(d, SCHEMA_F_PID, -1), (long long)doc_int(d, SCHEMA_F_PPID, -1),
		 (long long)doc_int(d, "uid", -1), cl, res, comm ? comm : "?", det,
		 key ? " key=" : "", key ? key : "");
	fmt_fit(line, (size_t)ctx->args->width);
	fprintf(ctx->out, "%s\n", line);
}

static int one_event(struct qctx *ctx, const bson_t *d, void *data)
{
	struct evstate *s = data;
	const struct qargs *a = ctx->args;
	int64_t ts = doc_date(d, SCHEMA_F_TS);

	if ((s->since != QTIME_NONE && ts < s->since) || (s->until != QTIME_NONE && ts > s->until))
		return 0;
	if (a->path && !raw_has_path(d, a->path))
		return 0;
	if (s->key_is_default && doc_str(d, SCHEMA_F_KEY) && strcmp(doc_str(d, SCHEMA_F_KEY), a->key))
		return 0;
	if (!raw_container_match(doc_str(d, SCHEMA_F_CONTAINER), a->container))
		return 0;
	s->shown++;
	if (a->format == QFMT_BSON)
		fwrite(bson_get_data(d), 1, d->len, ctx->out);
	else if (a->format == QFMT_JSON)
		doc_print_json(ctx, d);
	else
		q_event_line(ctx, d);
	return 0;
}

/* The session's defaults.key: events whose key equals it leave it out (listener). */
static int read_defaults(struct qctx *ctx, const bson_t *d, void *data)
{
	struct evstate *s = data;
	bson_iter_t it, sub;

	(void)ctx;
	if (bson_iter_init_find(&it, d, SCHEMA_F_DEFAULTS) && BSON_ITER_HOLDS_DOCUMENT(&it) &&
	    bson_iter_recurse(&it, &sub) && bson_iter_find(&sub, SCHEMA_F_KEY) &&
	    BSON_ITER_HOLDS_UTF8(&sub))
		snprintf(s->default_key, sizeof(s->default_key), "%s", bson_iter_utf8(&sub, NULL));
	return 0;
}

int cmd_events(struct qctx *ctx)
{
	const struct qargs *a = ctx->args;
	bson_t filter = BSON_INITIALIZER;
	struct evstate s = { .since = a->since_ms, .until = a->until_ms };
	char hex[25];
	int r;

	BSON_APPEND_OID(&filter, SCHEMA_F_SESSION, &ctx->session);
	if (a->pid >= 0)
		BSON_APPEND_INT64(&filter, SCHEMA_F_PID, a->pid);
	if (a->syscall)
		BSON_APPEND_UTF8(&filter, SCHEMA_F_SYSCALL, a->syscall);
	if (a->key) {
		bson_t sq = BSON_INITIALIZER;

		BSON_APPEND_OID(&sq, SCHEMA_F_ID, &ctx->session);
		r = q_each(ctx, SCHEMA_SESSIONS, &sq, NULL, read_defaults, &s);
		bson_destroy(&sq);
		if (r < 0)
			goto out;
		s.key_is_default = !strcmp(s.default_key, a->key);
		if (!s.key_is_default) /* an equality the server can answer from an index */
			BSON_APPEND_UTF8(&filter, SCHEMA_F_KEY, a->key);
	}
	if (a->container && strlen(a->container) == 64)
		BSON_APPEND_UTF8(&filter, SCHEMA_F_CONTAINER, a->container);
	bson_oid_to_string(&ctx->session, hex);
	if (a->format == QFMT_TEXT) {
		fprintf(ctx->out, "%ssession %s (times %s)\n", term_sgr(ctx->color, TS_BOLD), hex,
			a->utc ? "UTC" : "local");
		fprintf(ctx->out, "%-12s %7s %7s %5s %-12s %-22s %-15s %s%s\n", "TIME", "PID", "PPID",
			"UID", "CONTAINER", "SYSCALL RESULT", "COMM", "PATHS / ARGV",
			term_sgr(ctx->color, TS_RESET));
	}
	r = q_each(ctx, SCHEMA_EVENTS, &filter, NULL, one_event, &s);
	if (r == 0 && a->format != QFMT_JSON && !s.shown)
		fprintf(stderr, "lineage-query: no event of session %s matches\n", hex);
out:
	bson_destroy(&filter);
	return r;
}
