/* resolve.c — from what the user typed to a session ObjectId or a full container id:
 * exact id, unique hex prefix, or (containers) a name the filter recorded; ambiguity and
 * absence are reported with the candidates. Owns the lists it builds while resolving. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"
#include "store.h"

int q_match_container(const char *const *ids, const char *const *names, size_t n,
		      const char *arg)
{
	size_t len = strlen(arg);
	int found = -ENOENT;

	if (!len)
		return -ENOENT;
	for (size_t i = 0; i < n; i++)
		if (ids[i] && !strcmp(ids[i], arg))
			return (int)i;
	for (size_t i = 0; i < n; i++) {
		if (names && names[i] && !strcmp(names[i], arg)) {
			if (found >= 0)
				return -ENOTUNIQ;
			found = (int)i;
		}
	}
	if (found >= 0)
		return found;
	for (size_t i = 0; i < n; i++) {
		if (ids[i] && !strncmp(ids[i], arg, len)) {
			if (found >= 0)
				return -ENOTUNIQ;
			found = (int)i;
		}
	}
	return found;
}

struct idlist {
	char **ids, **names;
	size_t n;
};

static void idlist_release(struct idlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->ids[i]);
		free(l->names[i]);
	}
	free(l->ids);
	free(l->names);
}

static int idlist_add(struct idlist *l, const char *id, const char *name)
{
	char **ni = realloc(l->ids, (l->n + 1) * sizeof(char *));

	if (!ni)
		return -ENOMEM;
	l->ids = ni;
	ni = realloc(l->names, (l->n + 1) * sizeof(char *));
	if (!ni)
		return -ENOMEM;
	l->names = ni;
	l->ids[l->n] = strdup(id);
	l->names[l->n] = name ? strdup(name) : NULL;
	l->n++;
	return l->ids[l->n - 1] ? 0 : -ENOMEM;
}

static int add_session(struct qctx *ctx, const bson_t *d, void *data)
{
	bson_iter_t it;
	char hex[25];

	(void)ctx;
	if (!bson_iter_init_find(&it, d, "_id") || !BSON_ITER_HOLDS_OID(&it))
		return 0;
	bson_oid_to_string(bson_iter_oid(&it), hex);
	return idlist_add(data, hex, NULL);
}

static int add_container(struct qctx *ctx, const bson_t *d, void *data)
{
	const char *id = doc_str(d, "container");

	(void)ctx;
	return id ? idlist_add(data, id, doc_str(d, "name")) : 0;
}

/* After a failed match: the message and exit status, listing a few candidates. */
static int no_match(struct qctx *ctx, int r, const char *what, const char *arg,
		    const struct idlist *l)
{
	size_t pos;
	int shown = 0;

	pos = (size_t)snprintf(ctx->err, sizeof(ctx->err), "%s '%s' %s", what, arg,
			       r == -ENOTUNIQ ? "is ambiguous; it matches:" : "not found");
	for (size_t i = 0; r == -ENOTUNIQ && i < l->n && pos < sizeof(ctx->err); i++) {
		if (strncmp(l->ids[i], arg, strlen(arg)) &&
		    !(l->names[i] && !strcmp(l->names[i], arg)))
			continue;
		if (shown++ == 5) {
			snprintf(ctx->err + pos, sizeof(ctx->err) - pos, " …");
			break;
		}
		pos += (size_t)snprintf(ctx->err + pos, sizeof(ctx->err) - pos, " %.12s",
					l->ids[i]);
	}
	if (r == -ENOENT && pos < sizeof(ctx->err) && l->n)
		snprintf(ctx->err + pos, sizeof(ctx->err) - pos, " (%zu recorded: see '%s')", l->n,
			 !strcmp(what, "session") ? "lineage-query sessions" : "lineage-query containers");
	else if (r == -ENOENT && pos < sizeof(ctx->err))
		snprintf(ctx->err + pos, sizeof(ctx->err) - pos, " (none recorded)");
	ctx->status = QEXIT_NOT_FOUND;
	return r;
}

int q_resolve_session(struct qctx *ctx, const char *arg, bson_oid_t *ret)
{
	struct idlist l = { 0 };
	bson_t sort = BSON_INITIALIZER;
	int r;

	/* newest first, so that the default (--last) is the first */
	BSON_APPEND_INT32(&sort, "started_at", -1);
	r = q_each(ctx, SCHEMA_SESSIONS, NULL, &sort, add_session, &l);
	if (r < 0)
		goto out;
	if (!arg || !strcmp(arg, "last")) {
		if (!l.n) {
			snprintf(ctx->err, sizeof(ctx->err), "no sessions recorded in this database");
			ctx->status = QEXIT_NOT_FOUND;
			r = -ENOENT;
			goto out;
		}
		r = 0;
	} else {
		for (const char *p = arg; *p; p++)
			if (!strchr("0123456789abcdefABCDEF", *p)) {
				snprintf(ctx->err, sizeof(ctx->err),
					 "session '%s': not a hex ObjectId or prefix", arg);
				ctx->status = QEXIT_USAGE;
				r = -EINVAL;
				goto out;
			}
		r = q_match_container((const char *const *)l.ids, NULL, l.n, arg);
		if (r < 0) {
			no_match(ctx, r, "session", arg, &l);
			goto out;
		}
	}
	bson_oid_init_from_string(ret, l.ids[r]);
	r = 0;
out:
	bson_destroy(&sort);
	idlist_release(&l);
	return r;
}

/* Issue 21: the filter wrote the evidence chain's verdict beside its output; say on stderr,
 * once, when what the query reads comes from evidence that did not verify. "ok", "recording"
 * and "unchained" (recorded without a chain) are not warned about. */
static void warn_integrity(struct qctx *ctx, const bson_t *d)
{
	bson_iter_t it, st, su;
	const char *status = NULL, *summary = NULL;
	char hex[25];

	if (ctx->integrity_warned || !bson_iter_init(&it, d))
		return;
	if (bson_iter_find_descendant(&it, SCHEMA_F_FILTER "." SCHEMA_F_FILTER_INTEGRITY "."
				      SCHEMA_F_INTEGRITY_STATUS, &st) && BSON_ITER_HOLDS_UTF8(&st))
		status = bson_iter_utf8(&st, NULL);
	if (!status || !strcmp(status, "ok") || !strcmp(status, "recording") ||
	    !strcmp(status, "unchained"))
		return;
	if (bson_iter_init(&it, d) &&
	    bson_iter_find_descendant(&it, SCHEMA_F_FILTER "." SCHEMA_F_FILTER_INTEGRITY "."
				      SCHEMA_F_INTEGRITY_SUMMARY, &su) && BSON_ITER_HOLDS_UTF8(&su))
		summary = bson_iter_utf8(&su, NULL);
	bson_oid_to_string(&ctx->session, hex);
	if (bson_iter_init_find(&it, d, SCHEMA_F_ID) && BSON_ITER_HOLDS_OID(&it))
		bson_oid_to_string(bson_iter_oid(&it), hex);
	/* the summary starts with the status ("TAMPERED: 1 altered, ...") */
	fprintf(stderr, "lineage-query: warning: the evidence of session %s does not verify (%s); "
		"see `lineage-query verify %s`\n", hex, summary ? summary : status, hex);
	ctx->integrity_warned = true;
}

static int out_name(struct qctx *ctx, const bson_t *d, void *data)
{
	struct { const char *kind; char *buf; bool found; } *o = data;
	bson_iter_t it, f;

	if (bson_iter_init_find(&it, d, SCHEMA_F_FILTER) && BSON_ITER_HOLDS_DOCUMENT(&it) &&
	    bson_iter_recurse(&it, &f) && bson_iter_find(&f, o->kind) && BSON_ITER_HOLDS_UTF8(&f)) {
		snprintf(o->buf, SCHEMA_OUT_NAME_MAX, "%s", bson_iter_utf8(&f, NULL));
		o->found = true;
		warn_integrity(ctx, d);
	}
	return 0;
}

int q_out_coll_opt(struct qctx *ctx, const bson_oid_t *session, const char *kind,
		   char buf[SCHEMA_OUT_NAME_MAX], bool *found)
{
	struct { const char *kind; char *buf; bool found; } o = { kind, buf, false };
	bson_t filter = BSON_INITIALIZER;
	int r;

	BSON_APPEND_OID(&filter, SCHEMA_F_ID, session);
	r = q_each(ctx, SCHEMA_SESSIONS, &filter, NULL, out_name, &o);
	bson_destroy(&filter);
	*found = o.found;
	return r;
}

int q_out_coll(struct qctx *ctx, const bson_oid_t *session, const char *kind,
	       char buf[SCHEMA_OUT_NAME_MAX])
{
	struct { const char *kind; char *buf; bool found; } o = { kind, buf, false };
	bson_t filter = BSON_INITIALIZER;
	char hex[25];
	int r;

	BSON_APPEND_OID(&filter, SCHEMA_F_ID, session);
	r = q_each(ctx, SCHEMA_SESSIONS, &filter, NULL, out_name, &o);
	bson_oid_to_string(session, hex);
	/* issue 20: --filter runs the filter once, then reads the pointer again */
	if (r == 0 && !o.found && ctx->args->run_filter) {
		r = q_run_filter(ctx, hex);
		if (r == 0)
			r = q_each(ctx, SCHEMA_SESSIONS, &filter, NULL, out_name, &o);
	}
	bson_destroy(&filter);
	if (r < 0)
		return r;
	if (!o.found) {
		char cmd[300];

		q_filter_command(ctx, hex, cmd, sizeof(cmd));
		snprintf(ctx->err, sizeof(ctx->err),
			 "session %s has not been filtered yet, so there are no %s to read.\n"
			 "  run:  %s\n  or add --filter to this query to run it first", hex, kind,
			 cmd);
		ctx->status = QEXIT_NOT_FOUND;
		return -ENOENT;
	}
	return 0;
}

int q_resolve_container(struct qctx *ctx, const bson_oid_t *session, const char *arg,
			char **ret)
{
	char coll[SCHEMA_OUT_NAME_MAX];
	struct idlist l = { 0 };
	bson_t filter = BSON_INITIALIZER, proj = BSON_INITIALIZER;
	char *id;
	int r;

	/* only what matching needs: a container's tree can be large */
	BSON_APPEND_INT32(&proj, SCHEMA_F_CONTAINER, 1);
	BSON_APPEND_INT32(&proj, "name", 1);
	r = q_out_coll(ctx, session, SCHEMA_CONTAINERS, coll);
	if (r == 0)
		r = q_each_proj(ctx, coll, &filter, NULL, &proj, add_container, &l);
	if (r < 0)
		goto out;
	r = q_match_container((const char *const *)l.ids, (const char *const *)l.names, l.n, arg);
	if (r < 0) {
		char hex[25];

		bson_oid_to_string(session, hex);
		no_match(ctx, r, "container", arg, &l);
		if (r == -ENOENT) {
			size_t pos = strlen(ctx->err);

			snprintf(ctx->err + pos, sizeof(ctx->err) - pos, " in session %s", hex);
		}
		goto out;
	}
	id = strdup(l.ids[r]);
	if (!id) {
		r = -ENOMEM;
		goto out;
	}
	*ret = id;
	r = 0;
out:
	bson_destroy(&filter);
	bson_destroy(&proj);
	idlist_release(&l);
	return r;
}
