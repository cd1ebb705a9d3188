/* diff.c — `lineage-query diff SESSION_A SESSION_B`: the files (paths opened successfully)
 * and executables (exe of every exec) used in one session and not in the other, over the
 * whole sessions, one container or the host in each (--container, --container-b, `host`),
 * or a subtree in each (--process, --pid, --command, --depth: subtree.h, resolved in each
 * session). Owns the two sets of strings it compares. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"
#include "subtree.h"

struct strset {
	char **v;
	size_t n;
};

static int set_add(struct strset *s, const char *x)
{
	char **nv = realloc(s->v, (s->n + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	s->v = nv;
	s->v[s->n] = strdup(x);
	return s->v[s->n++] ? 0 : -ENOMEM;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort and drop duplicates. */
static void set_finish(struct strset *s)
{
	size_t k = 0;

	if (!s->n)
		return;
	qsort(s->v, s->n, sizeof(*s->v), cmp_str);
	for (size_t i = 1; i < s->n; i++) {
		if (!strcmp(s->v[i], s->v[k]))
			free(s->v[i]);
		else
			s->v[++k] = s->v[i];
	}
	s->n = k + 1;
}

static void set_release(struct strset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

static int add_path(struct qctx *ctx, const bson_t *d, void *data)
{
	(void)ctx;
	if (doc_bool(d, "failed") || !doc_str(d, "path"))
		return 0;
	return set_add(data, doc_str(d, "path"));
}

struct vpaths {
	const struct qsub *v;
	struct strset *files;
};

static int add_view_path(struct qctx *ctx, const bson_t *d, void *data)
{
	struct vpaths *vp = data;

	return qsub_in(vp->v, doc_str(d, "process")) ? add_path(ctx, d, vp->files) : 0;
}

static int add_exes(struct qctx *ctx, const bson_t *d, void *data)
{
	bson_iter_t it, arr;
	int r = 0;

	(void)ctx;
	if (doc_bool(d, "runtime_helper") || !bson_iter_init_find(&it, d, "execs") ||
	    !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &arr))
		return 0;
	while (r == 0 && bson_iter_next(&arr)) {
		const uint8_t *buf;
		uint32_t len;
		bson_t ex;

		if (!BSON_ITER_HOLDS_DOCUMENT(&arr))
			continue;
		bson_iter_document(&arr, &len, &buf);
		if (bson_init_static(&ex, buf, len) && doc_str(&ex, "exe"))
			r = set_add(data, doc_str(&ex, "exe"));
	}
	return r;
}

/* A subtree of one side (issue 29): its processes' exes, the paths of its pages' files. */
static int collect_view(struct qctx *ctx, const char *cid, const char *fcoll,
			struct strset *files, struct strset *exes)
{
	struct qsub v = { 0 };
	struct vpaths vp = { &v, files };
	bson_t filter = BSON_INITIALIZER;
	const char *scopes[64];
	size_t n;
	int r;

	r = qsub_load(ctx, cid, &v);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < v.n && r == 0; i++)
		if (v.p[i].depth >= 0)
			r = add_exes(ctx, v.p[i].doc, exes);
	n = qsub_file_scopes(&v, scopes, sizeof(scopes) / sizeof(scopes[0]));
	for (size_t k = 0; k < n && r == 0; k++) {
		bson_reinit(&filter);
		if (scopes[k])
			BSON_APPEND_UTF8(&filter, SCHEMA_F_CONTAINER, scopes[k]);
		else
			BSON_APPEND_NULL(&filter, SCHEMA_F_CONTAINER);
		r = q_each(ctx, fcoll, &filter, NULL, add_view_path, &vp);
	}
out:
	bson_destroy(&filter);
	qsub_release(&v);
	return r;
}

/* Files and exes of one side: session sid, container arg (NULL: all; "host": the host). */
static int collect(struct qctx *ctx, const char *sarg, const char *carg, bson_oid_t *sid,
		   struct strset *files, struct strset *exes)
{
	bson_t filter = BSON_INITIALIZER;
	char *cid = NULL, fcoll[SCHEMA_OUT_NAME_MAX], pcoll[SCHEMA_OUT_NAME_MAX];
	bool host = qsub_is_host(carg);
	bool view = qargs_selects(ctx->args) || ctx->args->depth >= 0;
	int r;

	r = q_resolve_session(ctx, sarg, sid);
	if (r == 0 && carg && !host)
		r = q_resolve_container(ctx, sid, carg, &cid);
	if (r == 0)
		r = q_out_coll(ctx, sid, SCHEMA_FILES, fcoll);
	if (r == 0)
		r = q_out_coll(ctx, sid, SCHEMA_PROCESSES, pcoll);
	if (r < 0)
		goto out;
	if (view) { /* a subtree of this session: its processes' keys are this session's */
		ctx->session = *sid;
		r = collect_view(ctx, cid, fcoll, files, exes);
		set_finish(files);
		set_finish(exes);
		goto out;
	}
	if (cid)
		BSON_APPEND_UTF8(&filter, SCHEMA_F_CONTAINER, cid);
	else if (host)
		BSON_APPEND_NULL(&filter, SCHEMA_F_CONTAINER);
	r = q_each(ctx, fcoll, &filter, NULL, add_path, files);
	if (r == 0)
		r = q_each(ctx, pcoll, &filter, NULL, add_exes, exes);
	set_finish(files);
	set_finish(exes);
out:
	free(cid);
	bson_destroy(&filter);
	return r;
}

/* Print what is in one set and not the other, merge-style over two sorted sets. */
static void compare(struct qctx *ctx, const char *kind, const struct strset *a,
		    const struct strset *b, size_t *ret_diffs)
{
	size_t i = 0, j = 0;

	while (i < a->n || j < b->n) {
		int c = i == a->n ? 1 : j == b->n ? -1 : strcmp(a->v[i], b->v[j]);
		const char *x = c < 0 ? a->v[i] : b->v[j];

		if (c == 0) {
			i++;
			j++;
			continue;
		}
		(*ret_diffs)++;
		if (ctx->args->format == QFMT_JSON) {
			bson_t d = BSON_INITIALIZER;

			BSON_APPEND_UTF8(&d, "only_in", c < 0 ? "a" : "b");
			BSON_APPEND_UTF8(&d, "kind", kind);
			BSON_APPEND_UTF8(&d, kind, x);
			doc_print_json(ctx, &d);
			bson_destroy(&d);
		} else {
			fprintf(ctx->out, "%c %-4s %s\n", c < 0 ? '-' : '+', kind, x);
		}
		if (c < 0)
			i++;
		else
			j++;
	}
}

int cmd_diff(struct qctx *ctx)
{
	const struct qargs *a = ctx->args;
	struct strset fa = { 0 }, fb = { 0 }, ea = { 0 }, eb = { 0 };
	bson_oid_t sa, sb;
	char ha[25], hb[25];
	size_t diffs = 0;
	int r;

	r = collect(ctx, a->operand[0], a->container, &sa, &fa, &ea);
	if (r == 0)
		r = collect(ctx, a->operand[1], a->container_b ? a->container_b : a->container, &sb,
			    &fb, &eb);
	if (r < 0)
		goto out;
	bson_oid_to_string(&sa, ha);
	bson_oid_to_string(&sb, hb);
	if (a->format == QFMT_TEXT)
		fprintf(ctx->out, "- only in A: session %s%s%s\n+ only in B: session %s%s%s\n", ha,
			a->container ? ", container " : "", a->container ? a->container : "", hb,
			a->container ? ", container " : "",
			a->container_b ? a->container_b : a->container ? a->container : "");
	compare(ctx, "exe", &ea, &eb, &diffs);
	compare(ctx, "file", &fa, &fb, &diffs);
	if (a->format == QFMT_TEXT)
		fprintf(ctx->out, "%zu difference(s): A has %zu files and %zu exes, B %zu and %zu\n",
			diffs, fa.n, ea.n, fb.n, eb.n);
out:
	if (r == -ENOMEM) {
		snprintf(ctx->err, sizeof(ctx->err), "out of memory");
		ctx->status = QEXIT_DB_ERROR;
	}
	set_release(&fa);
	set_release(&fb);
	set_release(&ea);
	set_release(&eb);
	return r;
}
