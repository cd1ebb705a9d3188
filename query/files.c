/* files.c — `lineage-query files CONTAINER|host`: the file accesses of a container, of the
 * host or of a subtree (--process, --pid, --command, --depth: subtree.h) in time order
 * (--written, --read, --failed, --prefix/--path-prefix), the executables it ran
 * (--executed), or with --unique the sorted distinct paths with a count each (the files the
 * image really needed), with host paths. Failed opens are hidden on the host's views unless
 * --failed asks for them (a compile's include-path probes outnumber its real opens).
 * Owns the --unique table and the documents it sorts across pages. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"
#include "subtree.h"

struct upath {
	char *path, *host;
	int64_t opens;
	bool read, write;
};

struct fstate {
	struct upath *u;
	size_t n, cap;
	const struct qsub *view; /* NULL: every document read is in the view */
	bool hide_failed;	 /* the host's views without --failed */
	int64_t hidden;		 /* failed opens left out */
	bson_t **docs;		 /* read from several pages: sorted before printing */
	size_t ndocs, capdocs;
	bool collect;
};

/* PATH under PREFIX by whole components: /etc matches /etc and /etc/passwd, not /etcx. */
static bool under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	while (n > 1 && prefix[n - 1] == '/')
		n--;
	if (n == 1 && prefix[0] == '/')
		return path[0] == '/';
	return !strncmp(path, prefix, n) && (path[n] == '\0' || path[n] == '/');
}

/* Appended as read; print_unique sorts and merges (a host opens 100k distinct paths). */
static int add_unique(struct fstate *s, const char *path, const char *host, bool rd, bool wr)
{
	struct upath *nu;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;

		nu = realloc(s->u, cap * sizeof(*nu));
		if (!nu)
			return -ENOMEM;
		s->u = nu;
		s->cap = cap;
	}
	nu = &s->u[s->n++];
	nu->path = strdup(path);
	nu->host = host ? strdup(host) : NULL;
	nu->opens = 1;
	nu->read = rd;
	nu->write = wr;
	return nu->path ? 0 : -ENOMEM;
}

/* issue 28: the host path when it is not the rootfs join (a bind or volume source, a tmpfs
 * with none), and where an overlay file stays */
static void host_line(struct qctx *ctx, const bson_t *d)
{
	const char *kind = doc_str(d, SCHEMA_F_HOST_PATH_KIND), *h = doc_str(d, SCHEMA_F_HOST_PATH);
	const char *stored = doc_str(d, SCHEMA_F_STORED_PATH), *layer = doc_str(d, SCHEMA_F_LAYER);
	char line[8400];

	if (!kind || !strcmp(kind, "host") || !strcmp(kind, "rootfs"))
		return;
	if (!strcmp(kind, "upper") || !strcmp(kind, "lower"))
		snprintf(line, sizeof(line), "    %s %s%s%s", kind, stored ? stored : "?",
			 layer ? " layer " : "", layer ? layer : "");
	else
		snprintf(line, sizeof(line), "    %s %s", kind, h ? h : "(no host path)");
	fmt_fit(line, (size_t)ctx->args->width);
	fprintf(ctx->out, "%s\n", line);
}

static int one_file(struct qctx *ctx, const bson_t *d, void *data)
{
	const struct qargs *a = ctx->args;
	const char *path = doc_str(d, "path");
	bool failed = doc_bool(d, "failed");
	char t[40], dur[24], line[8400];
	int64_t o = doc_date(d, "open"), cl = doc_date(d, "close");

	struct fstate *s = data;

	if (!path || (a->prefix && !under(path, a->prefix)))
		return 0;
	if (s->view && !qsub_in(s->view, doc_str(d, "process")))
		return 0;
	if (a->read && !doc_bool(d, "read"))
		return 0;
	if (a->failed != failed && (a->failed || s->hide_failed || a->unique)) {
		s->hidden += failed && s->hide_failed;
		return 0;
	}
	if (s->collect) {
		bson_t **nd;

		if (s->ndocs == s->capdocs) {
			size_t cap = s->capdocs ? s->capdocs * 2 : 256;

			nd = realloc(s->docs, cap * sizeof(*nd));
			if (!nd)
				return -ENOMEM;
			s->docs = nd;
			s->capdocs = cap;
		}
		s->docs[s->ndocs] = bson_copy(d);
		return s->docs[s->ndocs++] ? 0 : -ENOMEM;
	}
	if (a->unique && doc_bool(d, SCHEMA_F_INHERITED))
		return 0; /* an fd got at fork: not an open of the path */
	if (a->unique)
		return add_unique(s, path, doc_str(d, "host_path"), doc_bool(d, "read"),
				  doc_bool(d, "write"));
	if (a->format == QFMT_JSON) {
		doc_print_json(ctx, d);
		return 0;
	}
	fmt_time(o, a->utc, false, t, sizeof(t));
	fmt_duration(cl != FMT_NO_TIME && o != FMT_NO_TIME ? cl - o : FMT_NO_TIME, dur, sizeof(dur));
	snprintf(line, sizeof(line), "%s %8s %7lld %-4s %6lld %s%s", t, failed ? "-" : dur,
		 (long long)doc_int(d, "tgid", 0),
		 failed ? "FAIL" : doc_bool(d, "write") ? (doc_bool(d, "read") ? "rw" : "w") : "r",
		 (long long)doc_int(d, "bytes_written", 0), path,
		 doc_bool(d, "close_inferred") ? " (closed at exit)" : "");
	fmt_fit(line, (size_t)a->width);
	fprintf(ctx->out, "%s\n", line);
	host_line(ctx, d);
	return 0;
}

static int cmp_upath(const void *a, const void *b)
{
	return strcmp(((const struct upath *)a)->path, ((const struct upath *)b)->path);
}

static void print_unique(struct qctx *ctx, struct fstate *s)
{
	char line[8400];
	size_t k = 0;

	if (s->n) { /* sort, then merge equal paths into their first entry */
		qsort(s->u, s->n, sizeof(*s->u), cmp_upath);
		for (size_t i = 1; i < s->n; i++) {
			struct upath *u = &s->u[i], *m = &s->u[k];

			if (strcmp(u->path, m->path)) {
				s->u[++k] = *u;
				continue;
			}
			m->opens += u->opens;
			m->read |= u->read;
			m->write |= u->write;
			if (!m->host) {
				m->host = u->host;
				u->host = NULL;
			}
			free(u->path);
			free(u->host);
		}
		s->n = k + 1;
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct upath *u = &s->u[i];

		if (ctx->args->format == QFMT_JSON) {
			bson_t d = BSON_INITIALIZER;

			BSON_APPEND_UTF8(&d, "path", u->path);
			if (u->host)
				BSON_APPEND_UTF8(&d, "host_path", u->host);
			else
				BSON_APPEND_NULL(&d, "host_path");
			BSON_APPEND_INT64(&d, "opens", u->opens);
			BSON_APPEND_BOOL(&d, "read", u->read);
			BSON_APPEND_BOOL(&d, "write", u->write);
			if (ctx->args->executed)
				BSON_APPEND_BOOL(&d, "executed", true);
			if (ctx->args->failed)
				BSON_APPEND_BOOL(&d, "failed", true);
			doc_print_json(ctx, &d);
			bson_destroy(&d);
			continue;
		}
		snprintf(line, sizeof(line), "%c%c %5lld %s",
			 ctx->args->executed ? 'x' : u->read ? 'r' : '-', u->write ? 'w' : '-', (long long)u->opens, u->path);
		fmt_fit(line, (size_t)ctx->args->width);
		fprintf(ctx->out, "%s\n", line);
		if (u->host && strcmp(u->host, u->path)) {
			snprintf(line, sizeof(line), "         host %s", u->host);
			fmt_fit(line, (size_t)ctx->args->width);
			fprintf(ctx->out, "%s\n", line);
		}
	}
}

static int cmp_doc(const void *x, const void *y)
{
	const bson_t *a = *(bson_t *const *)x, *b = *(bson_t *const *)y;
	int64_t oa = doc_date(a, "open"), ob = doc_date(b, "open");
	const char *ia = doc_str(a, SCHEMA_F_ID), *ib = doc_str(b, SCHEMA_F_ID);

	if (oa != ob)
		return oa < ob ? -1 : 1;
	return strcmp(ia ? ia : "", ib ? ib : "");
}

/* --executed: the exe of each exec of the view's processes, in time order (or --unique). */
struct xline {
	int64_t ts, pid;
	const char *exe, *key;
	const bson_t *doc;
};

static int cmp_xline(const void *x, const void *y)
{
	const struct xline *a = x, *b = y;

	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	return a->pid < b->pid ? -1 : a->pid > b->pid;
}

static int executed(struct qctx *ctx, const struct qsub *v, struct fstate *s)
{
	const struct qargs *a = ctx->args;
	struct xline *x = NULL;
	size_t n = 0, cap = 0;
	char t[40], line[8400];
	int r = 0;

	for (size_t i = 0; i < v->n && r == 0; i++) {
		const struct qsub_proc *p = &v->p[i];
		bson_iter_t it, arr;
		const char *prev = NULL;
		int64_t prev_ts = FMT_NO_TIME;

		if (p->depth < 0 || p->helper || !bson_iter_init_find(&it, p->doc, "execs") ||
		    !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &arr))
			continue;
		while (bson_iter_next(&arr) && r == 0) {
			const uint8_t *d;
			uint32_t dl;
			bson_t ex;
			const char *exe;
			int64_t ts;

			if (!BSON_ITER_HOLDS_DOCUMENT(&arr))
				continue;
			bson_iter_document(&arr, &dl, &d);
			if (!bson_init_static(&ex, d, dl) || !(exe = doc_str(&ex, "exe")))
				continue;
			ts = doc_date(&ex, "ts");
			/* audit and the proc connector record the same exec */
			if (prev && !strcmp(prev, exe) && (ts == prev_ts || ts == FMT_NO_TIME ||
							   prev_ts == FMT_NO_TIME))
				continue;
			prev = exe;
			prev_ts = ts;
			if (a->prefix && !under(exe, a->prefix))
				continue;
			if (a->unique) {
				r = add_unique(s, exe, NULL, true, false);
				continue;
			}
			if (n == cap) {
				struct xline *nx;

				cap = cap ? cap * 2 : 64;
				nx = realloc(x, cap * sizeof(*nx));
				if (!nx) {
					r = -ENOMEM;
					break;
				}
				x = nx;
			}
			x[n++] = (struct xline){ ts, p->tgid, exe, p->key, p->doc };
		}
	}
	if (r == 0 && a->unique) {
		for (size_t i = 0; i < s->n; i++)
			s->u[i].read = false;
		print_unique(ctx, s);
	}
	if (r == 0 && !a->unique) {
		qsort(x, n, sizeof(*x), cmp_xline);
		for (size_t i = 0; i < n; i++) {
			if (a->format == QFMT_JSON) {
				bson_t d = BSON_INITIALIZER;
				const char *c = doc_str(x[i].doc, SCHEMA_F_CONTAINER);

				BSON_APPEND_DATE_TIME(&d, "ts", x[i].ts);
				BSON_APPEND_INT64(&d, "tgid", x[i].pid);
				BSON_APPEND_UTF8(&d, "process", x[i].key);
				BSON_APPEND_UTF8(&d, "exe", x[i].exe);
				if (c)
					BSON_APPEND_UTF8(&d, SCHEMA_F_CONTAINER, c);
				else
					BSON_APPEND_NULL(&d, SCHEMA_F_CONTAINER);
				doc_print_json(ctx, &d);
				bson_destroy(&d);
				continue;
			}
			fmt_time(x[i].ts, a->utc, false, t, sizeof(t));
			snprintf(line, sizeof(line), "%s %8s %7lld %-4s %6s %s", t, "-",
				 (long long)x[i].pid, "x", "-", x[i].exe);
			fmt_fit(line, (size_t)a->width);
			fprintf(ctx->out, "%s\n", line);
		}
	}
	free(x);
	return r;
}

int cmd_files(struct qctx *ctx)
{
	const struct qargs *a = ctx->args;
	bson_t filter = BSON_INITIALIZER, sort = BSON_INITIALIZER;
	struct fstate s = { 0 };
	struct qsub v = { 0 };
	const char *scopes[64];
	char *cid = NULL, coll[SCHEMA_OUT_NAME_MAX], what[64];
	bool host = qsub_is_host(a->operand[0]);
	bool use_view = qargs_selects(a) || a->depth >= 0 || a->executed;
	size_t nscopes = 1;
	int r = 0;

	if (!host)
		r = q_resolve_container(ctx, &ctx->session, a->operand[0], &cid);
	if (r == 0)
		r = q_out_coll(ctx, &ctx->session, SCHEMA_FILES, coll);
	if (r == 0 && use_view)
		r = qsub_load(ctx, cid, &v);
	if (r < 0)
		goto out;
	scopes[0] = cid;
	/* the host's own view reads only the host's pages; a subtree those its processes are in */
	if (use_view && !a->executed) {
		nscopes = qsub_file_scopes(&v, scopes, sizeof(scopes) / sizeof(scopes[0]));
		s.view = &v;
	}
	s.hide_failed = host && !a->failed;
	s.collect = nscopes > 1 && !a->unique;
	if (host)
		snprintf(what, sizeof(what), "host");
	else
		snprintf(what, sizeof(what), "container %.12s", cid);
	if (a->format == QFMT_TEXT && !a->unique)
		fprintf(ctx->out, "%s%s (times %s)\n%-12s %8s %7s %-4s %6s %s\n", what,
			s.view ? ", subtree" : "", a->utc ? "UTC" : "local", a->executed ? "EXEC" : "OPEN",
			"HELD", "PID", "MODE", "BYTES", "PATH");
	else if (a->format == QFMT_TEXT)
		fprintf(ctx->out, "%s%s: distinct %s\nRW OPENS PATH\n", what, s.view ? ", subtree" : "",
			a->executed ? "executables run (OPENS: execs)" :
			a->failed ? "paths of failed opens" : "paths opened successfully");
	if (a->executed) {
		r = executed(ctx, &v, &s);
		goto out;
	}
	BSON_APPEND_INT32(&sort, "open", 1);
	BSON_APPEND_INT32(&sort, SCHEMA_F_ID, 1); /* ties: the same order from any store */
	for (size_t k = 0; k < nscopes && r == 0; k++) {
		bson_reinit(&filter);
		if (scopes[k])
			BSON_APPEND_UTF8(&filter, SCHEMA_F_CONTAINER, scopes[k]);
		else
			BSON_APPEND_NULL(&filter, SCHEMA_F_CONTAINER);
		if (a->written)
			BSON_APPEND_BOOL(&filter, "write", true);
		r = q_each(ctx, coll, &filter, s.collect || a->unique ? NULL : &sort, one_file, &s);
	}
	if (r == 0 && s.collect) {
		qsort(s.docs, s.ndocs, sizeof(*s.docs), cmp_doc);
		s.collect = false;
		for (size_t i = 0; i < s.ndocs && r == 0; i++)
			r = one_file(ctx, s.docs[i], &s);
	}
	if (r == 0 && a->unique)
		print_unique(ctx, &s);
	if (r == 0 && s.hidden && a->format == QFMT_TEXT)
		fprintf(ctx->out, "(%lld failed opens not shown: --failed lists them)\n",
			(long long)s.hidden);
out:
	if (r == -ENOMEM) {
		snprintf(ctx->err, sizeof(ctx->err), "out of memory");
		ctx->status = QEXIT_DB_ERROR;
	}
	for (size_t i = 0; i < s.n; i++) {
		free(s.u[i].path);
		free(s.u[i].host);
	}
	free(s.u);
	for (size_t i = 0; i < s.ndocs; i++)
		bson_destroy(s.docs[i]);
	free(s.docs);
	qsub_release(&v);
	free(cid);
	bson_destroy(&filter);
	bson_destroy(&sort);
	return r;
}
