/* timeline.c — `lineage-query timeline CONTAINER`: one line per event of the container
 * (fork, exec, exit from processes; open, write-open, close from files; rename and unlink
 * from the raw audit events), ordered in time, optionally cut by --since/--until.
 * Owns the collected events (a text line and a json document each) until printed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "query.h"
#include "subtree.h"

/* At the same millisecond: the order a process lives its life in. */
enum tkind { TK_FORK, TK_EXEC, TK_OPEN, TK_FILEOP, TK_CLOSE, TK_EXIT };

struct tev {
	int64_t ts;
	enum tkind kind;
	size_t seq; /* order of collection: stable tie-break */
	int64_t pid;
	char *what, *detail;
	bson_t *json;
};

struct tcol {
	struct tev *v;
	size_t n;
	int64_t since, until;
	const struct qsub *view; /* issue 29: a subtree's files only (NULL: all read) */
};

static int add(struct tcol *c, int64_t ts, enum tkind kind, int64_t pid, const char *what,
	       const char *detail, const char *process)
{
	struct tev *nv, *e;

	if (ts == FMT_NO_TIME || (c->since != QTIME_NONE && ts < c->since) ||
	    (c->until != QTIME_NONE && ts > c->until))
		return 0;
	nv = realloc(c->v, (c->n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	c->v = nv;
	e = &c->v[c->n];
	*e = (struct tev){ .ts = ts, .kind = kind, .seq = c->n, .pid = pid };
	e->what = strdup(what);
	e->detail = strdup(detail);
	e->json = bson_new();
	c->n++;
	if (!e->what || !e->detail)
		return -ENOMEM;
	BSON_APPEND_DATE_TIME(e->json, "ts", ts);
	BSON_APPEND_UTF8(e->json, "what", what);
	BSON_APPEND_INT64(e->json, "pid", pid);
	if (process)
		BSON_APPEND_UTF8(e->json, "process", process);
	return 0;
}

static struct tev *lastev(struct tcol *c)
{
	return &c->v[c->n - 1];
}

static int from_process(struct qctx *ctx, const bson_t *d, void *data)
{
	struct tcol *c = data;
	const char *key = doc_str(d, "key"), *entry = doc_str(d, "entry");
	int64_t pid = doc_int(d, "tgid", 0), sig = doc_int(d, "signal", 0), n0 = c->n;
	bson_iter_t it, arr;
	char prev[2048] = "", cur[2048], det[2100];
	int r;

	(void)ctx;
	if (doc_bool(d, "runtime_helper"))
		return 0;
	snprintf(det, sizeof(det), "parent %s%s", doc_str(d, "parent") ? doc_str(d, "parent") : "?",
		 entry && !strcmp(entry, "exec") ? " (docker exec)" :
		 entry && !strcmp(entry, "init") ? " (container init)" : "");
	r = add(c, doc_date(d, "start"), TK_FORK, pid, "fork", det, key);
	if (r < 0)
		return r;
	if (c->n > (size_t)n0 && doc_str(d, "parent"))
		BSON_APPEND_UTF8(lastev(c)->json, "parent", doc_str(d, "parent"));
	if (bson_iter_init_find(&it, d, "execs") && BSON_ITER_HOLDS_ARRAY(&it) &&
	    bson_iter_recurse(&it, &arr)) {
		while (bson_iter_next(&arr)) {
			const uint8_t *buf;
			uint32_t len;
			const char **argv = NULL;
			bson_t ex;
			size_t before = c->n;
			int n;

			if (!BSON_ITER_HOLDS_DOCUMENT(&arr))
				continue;
			bson_iter_document(&arr, &len, &buf);
			if (!bson_init_static(&ex, buf, len))
				continue;
			n = doc_strv(&ex, "argv", &argv);
			if (n < 0)
				return n;
			fmt_argv(argv, (size_t)n, cur, sizeof(cur));
			free(argv);
			if (!strcmp(cur, prev)) /* audit and proc connector saw the same exec */
				continue;
			snprintf(prev, sizeof(prev), "%s", cur);
			r = add(c, doc_date(&ex, "ts"), TK_EXEC, pid, "exec", cur, key);
			if (r < 0)
				return r;
			if (c->n > before) {
				bson_iter_t ai;

				BSON_APPEND_UTF8(lastev(c)->json, "exe",
						 doc_str(&ex, "exe") ? doc_str(&ex, "exe") : "");
				if (bson_iter_init_find(&ai, &ex, "argv"))
					bson_append_iter(lastev(c)->json, "argv", -1, &ai);
			}
		}
	}
	if (doc_date(d, "exit") != FMT_NO_TIME) {
		size_t before = c->n;

		if (sig > 0)
			snprintf(det, sizeof(det), "killed by SIG%s",
				 sig < 65 && sigabbrev_np((int)sig) ? sigabbrev_np((int)sig) : "?");
		else
			snprintf(det, sizeof(det), "code %lld", (long long)doc_int(d, "exit_code", -1));
		r = add(c, doc_date(d, "exit"), TK_EXIT, pid, "exit", det, key);
		if (r < 0)
			return r;
		if (c->n > before) {
			BSON_APPEND_INT64(lastev(c)->json, "exit_code", doc_int(d, "exit_code", -1));
			BSON_APPEND_INT64(lastev(c)->json, "signal", sig);
		}
	}
	return 0;
}

static int from_file(struct qctx *ctx, const bson_t *d, void *data)
{
	struct tcol *c = data;
	const char *path = doc_str(d, "path"), *proc = doc_str(d, "process");
	int64_t pid = doc_int(d, "tgid", 0), fd = doc_int(d, "fd", -1);
	bool w = doc_bool(d, "write");
	char det[4200];
	size_t before = c->n;
	int r;

	(void)ctx;
	if (c->view && !qsub_in(c->view, proc))
		return 0;
	if (!path)
		path = "?";
	if (doc_bool(d, "failed")) {
		snprintf(det, sizeof(det), "%s (error %lld)", path,
			 (long long)doc_int(d, "error", 0));
		r = add(c, doc_date(d, "open"), TK_OPEN, pid, "open-fail", det, proc);
		if (r == 0 && c->n > before)
			BSON_APPEND_UTF8(lastev(c)->json, "path", path);
		return r;
	}
	if (doc_bool(d, SCHEMA_F_INHERITED)) { /* issue 17: got at fork, "open" is the fork */
		const char *from = doc_str(d, SCHEMA_F_INHERITED_FROM);

		snprintf(det, sizeof(det), "%s fd %lld from %s", path, (long long)fd,
			 from ? from : "?");
		r = add(c, doc_date(d, "open"), TK_OPEN, pid, "inherited", det, proc);
	} else {
		/* issue 28: the host path where it is not the rootfs join (bind, volume, tmpfs) */
		const char *hk = doc_str(d, SCHEMA_F_HOST_PATH_KIND);
		const char *hp = doc_str(d, SCHEMA_F_HOST_PATH);
		bool other = hk && (!strcmp(hk, "bind") || !strcmp(hk, "volume") ||
				    !strcmp(hk, "tmpfs") || !strcmp(hk, "special"));

		snprintf(det, sizeof(det), "%s fd %lld%s%s%s%s", path, (long long)fd,
			 other ? " (" : "", other ? hk : "", other ? " " : "",
			 other ? (hp ? hp : "no host path)") : "");
		if (other && hp)
			snprintf(det + strlen(det), sizeof(det) - strlen(det), ")");
		r = add(c, doc_date(d, "open"), TK_OPEN, pid, w ? "write-open" : "open", det, proc);
		if (r == 0 && c->n > before && other) {
			BSON_APPEND_UTF8(lastev(c)->json, SCHEMA_F_HOST_PATH_KIND, hk);
			if (hp)
				BSON_APPEND_UTF8(lastev(c)->json, SCHEMA_F_HOST_PATH, hp);
		}
	}
	if (r == 0 && c->n > before) {
		BSON_APPEND_UTF8(lastev(c)->json, "path", path);
		BSON_APPEND_INT64(lastev(c)->json, "fd", fd);
	}
	before = c->n;
	if (w)
		snprintf(det, sizeof(det), "%s fd %lld, %lld bytes written%s", path, (long long)fd,
			 (long long)doc_int(d, "bytes_written", 0),
			 doc_bool(d, "close_inferred") ? " (closed at exit)" : "");
	else
		snprintf(det, sizeof(det), "%s fd %lld%s", path, (long long)fd,
			 doc_bool(d, "close_inferred") ? " (closed at exit)" : "");
	if (r == 0)
		r = add(c, doc_date(d, "close"), TK_CLOSE, pid, "close", det, proc);
	if (r == 0 && c->n > before) {
		BSON_APPEND_UTF8(lastev(c)->json, "path", path);
		BSON_APPEND_INT64(lastev(c)->json, "fd", fd);
		BSON_APPEND_BOOL(lastev(c)->json, "close_inferred", doc_bool(d, "close_inferred"));
		if (w)
			BSON_APPEND_INT64(lastev(c)->json, "bytes_written",
					  doc_int(d, "bytes_written", 0));
	}
	return r;
}

/* The path of the audit PATH record with nametype want (DELETE, CREATE). */
static const char *path_of(const bson_t *d, const char *want)
{
	bson_iter_t it, arr;

	if (!bson_iter_init_find(&it, d, "paths") || !BSON_ITER_HOLDS_ARRAY(&it) ||
	    !bson_iter_recurse(&it, &arr))
		return NULL;
	while (bson_iter_next(&arr)) {
		const uint8_t *buf;
		uint32_t len;
		const char *nt, *p;
		bson_t pd;

		if (!BSON_ITER_HOLDS_DOCUMENT(&arr))
			continue;
		bson_iter_document(&arr, &len, &buf);
		if (!bson_init_static(&pd, buf, len))
			continue;
		nt = doc_str(&pd, "nametype");
		p = doc_str(&pd, "abs") ? doc_str(&pd, "abs") : doc_str(&pd, "name");
		if (nt && p && !strcmp(nt, want))
			return p;
	}
	return NULL;
}

static int from_event(struct qctx *ctx, const bson_t *d, void *data)
{
	struct tcol *c = data;
	const char *sc = doc_str(d, "syscall"), *from = path_of(d, "DELETE");
	const char *to = path_of(d, "CREATE");
	bool ren = sc && !strncmp(sc, "rename", 6);
	char det[8400];
	size_t before = c->n;
	int r;

	(void)ctx;
	if (!from)
		from = "?";
	if (ren)
		snprintf(det, sizeof(det), "%s -> %s", from, to ? to : "?");
	else
		snprintf(det, sizeof(det), "%s", from);
	r = add(c, doc_date(d, "ts"), TK_FILEOP, doc_int(d, "pid", 0), ren ? "rename" : "unlink",
		det, NULL);
	if (r == 0 && c->n > before) {
		BSON_APPEND_UTF8(lastev(c)->json, "path", from);
		if (ren)
			BSON_APPEND_UTF8(lastev(c)->json, "to", to ? to : "?");
	}
	return r;
}

static int cmp_ev(const void *a, const void *b)
{
	const struct tev *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int container_start(struct qctx *ctx, const bson_t *d, void *data)
{
	(void)ctx;
	*(int64_t *)data = doc_date(d, "start");
	return 0;
}

static const char *const fsop_syscalls[] = { "rename", "renameat", "renameat2", "unlink",
					       "unlinkat" };

/* issue 29: the processes and files of a view (the host, a subtree): its processes from
 * the set subtree.c read, its files from the pages they are in. */
static int view_events(struct qctx *ctx, const struct qsub *v, const char *fcoll,
		       const char *const *scopes, size_t nscopes, struct tcol *c)
{
	bson_t filter = BSON_INITIALIZER;
	int r = 0;

	for (size_t i = 0; i < v->n && r == 0; i++)
		if (v->p[i].depth >= 0)
			r = from_process(ctx, v->p[i].doc, c);
	c->view = v->selector || ctx->args->depth >= 0 ? v : NULL;
	for (size_t k = 0; k < nscopes && r == 0; k++) {
		bson_reinit(&filter);
		if (scopes[k])
			BSON_APPEND_UTF8(&filter, SCHEMA_F_CONTAINER, scopes[k]);
		else
			BSON_APPEND_NULL(&filter, SCHEMA_F_CONTAINER);
		r = q_each(ctx, fcoll, &filter, NULL, from_file, c);
	}
	bson_destroy(&filter);
	return r;
}

/* The start of a view: its earliest process (for +OFFSET). */
static int64_t view_start(const struct qsub *v)
{
	int64_t t = FMT_NO_TIME;

	for (size_t i = 0; i < v->n; i++)
		if (v->p[i].depth >= 0 && v->p[i].start != FMT_NO_TIME &&
		    (t == FMT_NO_TIME || v->p[i].start < t))
			t = v->p[i].start;
	return t;
}

int cmd_timeline(struct qctx *ctx)
{
	const struct qargs *a = ctx->args;
	bson_t filter = BSON_INITIALIZER, evf = BSON_INITIALIZER;
	struct tcol c = { .since = a->since_ms, .until = a->until_ms };
	int64_t cstart = FMT_NO_TIME;
	char *cid = NULL, tbuf[40], line[8600], what[64];
	char ccoll[SCHEMA_OUT_NAME_MAX], pcoll[SCHEMA_OUT_NAME_MAX], fcoll[SCHEMA_OUT_NAME_MAX];
	bool host = qsub_is_host(a->operand[0]);
	bool use_view = host || qargs_selects(a) || a->depth >= 0;
	struct qsub v = { 0 };
	const char *scopes[64];
	size_t nscopes = 1;
	int r = 0;

	if (!host)
		r = q_resolve_container(ctx, &ctx->session, a->operand[0], &cid);
	if (r == 0)
		r = q_out_coll(ctx, &ctx->session, SCHEMA_CONTAINERS, ccoll);
	if (r == 0)
		r = q_out_coll(ctx, &ctx->session, SCHEMA_PROCESSES, pcoll);
	if (r == 0)
		r = q_out_coll(ctx, &ctx->session, SCHEMA_FILES, fcoll);
	if (r == 0 && use_view)
		r = qsub_load(ctx, cid, &v);
	if (r < 0)
		goto out;
	scopes[0] = cid;
	if (use_view && (v.selector || a->depth >= 0))
		nscopes = qsub_file_scopes(&v, scopes, sizeof(scopes) / sizeof(scopes[0]));
	if (cid)
		BSON_APPEND_UTF8(&filter, SCHEMA_F_CONTAINER, cid);
	if (a->since_rel_ms != QTIME_NONE || a->until_rel_ms != QTIME_NONE) {
		if (use_view)
			cstart = view_start(&v);
		else
			r = q_each(ctx, ccoll, &filter, NULL, container_start, &cstart);
		if (r < 0)
			goto out;
		if (cstart == FMT_NO_TIME) {
			snprintf(ctx->err, sizeof(ctx->err),
				 "%s%.12s has no start time: +OFFSET cannot be used",
				 cid ? "container " : "the host", cid ? cid : "");
			ctx->status = QEXIT_NOT_FOUND;
			r = -ENOENT;
			goto out;
		}
		if (a->since_rel_ms != QTIME_NONE)
			c.since = cstart + a->since_rel_ms;
		if (a->until_rel_ms != QTIME_NONE)
			c.until = cstart + a->until_rel_ms;
	}
	if (use_view)
		r = view_events(ctx, &v, fcoll, scopes, nscopes, &c);
	else
		r = q_each(ctx, pcoll, &filter, NULL, from_process, &c);
	if (r == 0 && !use_view)
		r = q_each(ctx, fcoll, &filter, NULL, from_file, &c);
	if (r < 0)
		goto out;
	/* one equality query per syscall: a store that pushes only equality down (FerretDB) then
	 * reads the few matching events through its indexes instead of every event of the
	 * container ($in is not pushed down); issue 29: for each container of the view (or the
	 * host: container null) */
	for (size_t j = 0; j < nscopes * ARRAY_SIZE(fsop_syscalls) && r == 0; j++) {
		size_t i = j % ARRAY_SIZE(fsop_syscalls);
		const char *scope = scopes[j / ARRAY_SIZE(fsop_syscalls)];

		bson_reinit(&evf);
		BSON_APPEND_OID(&evf, SCHEMA_F_SESSION, &ctx->session);
		BSON_APPEND_UTF8(&evf, SCHEMA_F_SYSCALL, fsop_syscalls[i]);
		if (scope)
			BSON_APPEND_UTF8(&evf, SCHEMA_F_CONTAINER, scope);
		else
			BSON_APPEND_NULL(&evf, SCHEMA_F_CONTAINER);
		BSON_APPEND_BOOL(&evf, "success", true);
		r = q_each(ctx, SCHEMA_EVENTS, &evf, NULL, from_event, &c);
	}
	if (r < 0)
		goto out;
	if (c.view) { /* raw events carry a pid, not a key: keep those of the view's processes */
		size_t k = 0;

		for (size_t i = 0; i < c.n; i++) {
			if (c.v[i].kind != TK_FILEOP || qsub_pid_in(c.view, c.v[i].pid, c.v[i].ts)) {
				c.v[k++] = c.v[i];
				continue;
			}
			free(c.v[i].what);
			free(c.v[i].detail);
			bson_destroy(c.v[i].json);
		}
		c.n = k;
	}
	qsort(c.v, c.n, sizeof(*c.v), cmp_ev);
	if (cid)
		snprintf(what, sizeof(what), "container %.12s", cid);
	else
		snprintf(what, sizeof(what), "host");
	if (a->format == QFMT_TEXT && c.n)
		fprintf(ctx->out, "%s%s, %s (times %s)\n", what, c.view ? ", subtree" : "",
			fmt_time(c.v[0].ts, a->utc, true, tbuf, sizeof(tbuf)),
			a->utc ? "UTC" : "local");
	for (size_t i = 0; i < c.n; i++) {
		if (a->format == QFMT_JSON) {
			doc_print_json(ctx, c.v[i].json);
			continue;
		}
		snprintf(line, sizeof(line), "%s %7lld %-10s %s",
			 fmt_time(c.v[i].ts, a->utc, false, tbuf, sizeof(tbuf)),
			 (long long)c.v[i].pid, c.v[i].what, c.v[i].detail);
		fmt_fit(line, (size_t)a->width);
		fprintf(ctx->out, "%s\n", line);
	}
out:
	if (r == -ENOMEM) {
		snprintf(ctx->err, sizeof(ctx->err), "out of memory");
		ctx->status = QEXIT_DB_ERROR;
	}
	for (size_t i = 0; i < c.n; i++) {
		free(c.v[i].what);
		free(c.v[i].detail);
		bson_destroy(c.v[i].json);
	}
	free(c.v);
	qsub_release(&v);
	free(cid);
	bson_destroy(&filter);
	bson_destroy(&evf);
	return r;
}
