/* verify.c — `lineage-query verify [SESSION|last|--all]`: recompute each session's evidence
 * chain from the stored raw documents (common/chain_verify.c) and print, per session, ok or
 * exactly what is wrong. Sets QEXIT_TAMPERED when a session does not verify. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chain_verify.h"
#include "query.h"
#include "schema.h"
#include "store.h"

struct vrun {
	int bad;   /* sessions that do not verify */
	int total;
	int r;     /* first store failure */
};

static void print_json(struct qctx *ctx, const char *hex, const struct chainv_report *rep)
{
	bson_t d = BSON_INITIALIZER, arr;
	char *json;

	BSON_APPEND_UTF8(&d, "session", hex);
	BSON_APPEND_UTF8(&d, "status", chainv_status_name(rep->status));
	BSON_APPEND_UTF8(&d, "summary", rep->summary);
	BSON_APPEND_BOOL(&d, "closed", rep->closed);
	BSON_APPEND_INT64(&d, "links", (int64_t)rep->links);
	BSON_APPEND_INT64(&d, "linked", (int64_t)rep->linked);
	BSON_APPEND_INT64(&d, "stored", (int64_t)rep->stored);
	BSON_APPEND_INT64(&d, "verified", (int64_t)rep->verified);
	BSON_APPEND_INT64(&d, "altered", (int64_t)rep->altered);
	BSON_APPEND_INT64(&d, "removed", (int64_t)rep->removed);
	BSON_APPEND_INT64(&d, "inserted", (int64_t)rep->inserted);
	BSON_APPEND_INT64(&d, "link_problems", (int64_t)rep->link_problems);
	BSON_APPEND_INT64(&d, "unlinked", (int64_t)rep->unlinked);
	BSON_APPEND_INT64(&d, "lost", (int64_t)rep->lost);
	BSON_APPEND_INT64(&d, "truncated_at", rep->truncated_at);
	BSON_APPEND_ARRAY_BEGIN(&d, "findings", &arr);
	for (size_t i = 0; i < rep->nfindings; i++) {
		char k[24];

		snprintf(k, sizeof(k), "%zu", i);
		BSON_APPEND_UTF8(&arr, k, rep->findings[i]);
	}
	bson_append_array_end(&d, &arr);
	json = bson_as_relaxed_extended_json(&d, NULL);
	if (json)
		fprintf(ctx->out, "%s\n", json);
	bson_free(json);
	bson_destroy(&d);
}

static int verify_one(struct qctx *ctx, const bson_t *sdoc, void *data)
{
	struct vrun *run = data;
	struct chainv_report rep;
	bson_iter_t it;
	char hex[25] = "?", err[400];
	int r;

	if (bson_iter_init_find(&it, sdoc, SCHEMA_F_ID) && BSON_ITER_HOLDS_OID(&it))
		bson_oid_to_string(bson_iter_oid(&it), hex);
	r = chainv_session(ctx->st, sdoc, chainv_listener_running(sdoc), &rep, err, sizeof(err));
	if (r < 0) {
		chainv_report_release(&rep);
		q_store_error(ctx, r, "verify", err);
		run->r = r;
		return r;
	}
	run->total++;
	if (rep.status == CHAINV_TAMPERED || rep.status == CHAINV_TRUNCATED ||
	    rep.status == CHAINV_PENDING)
		run->bad++;
	if (ctx->args->format == QFMT_JSON) {
		print_json(ctx, hex, &rep);
	} else {
		fprintf(ctx->out, "%s %s\n", hex, rep.summary);
		for (size_t i = 0; i < rep.nfindings; i++)
			fprintf(ctx->out, "  %s\n", rep.findings[i]);
	}
	chainv_report_release(&rep);
	return 0;
}

int cmd_verify(struct qctx *ctx)
{
	struct vrun run = { 0 };
	bson_t filter = BSON_INITIALIZER, sort = BSON_INITIALIZER;
	int r;

	if (!ctx->args->all) {
		bson_oid_t id;

		r = q_resolve_session(ctx, ctx->args->noperands ? ctx->args->operand[0] : NULL,
				      &id);
		if (r < 0)
			goto out;
		BSON_APPEND_OID(&filter, SCHEMA_F_ID, &id);
	}
	BSON_APPEND_INT32(&sort, SCHEMA_F_STARTED_AT, 1); /* oldest first, like a log */
	r = q_each(ctx, SCHEMA_SESSIONS, &filter, &sort, verify_one, &run);
	if (r < 0)
		goto out;
	if (run.bad) {
		fprintf(stderr, "lineage-query: %d of %d session(s) do not verify: their evidence "
			"is not whole\n", run.bad, run.total);
		ctx->status = QEXIT_TAMPERED;
	}
out:
	bson_destroy(&filter);
	bson_destroy(&sort);
	return r;
}
