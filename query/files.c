/* files.c — `lineage-query files CONTAINER`: the container's file accesses in time order
 * (--written, --prefix), or with --unique the sorted distinct paths it opened successfully
 * (the files the image really needed), with host paths. Owns the --unique table. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"

struct upath {
	char *path, *host;
	int64_t opens;
	bool read, write;
};

struct fstate {
	struct upath *u;
	size_t n;
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

static int add_unique(struct fstate *s, const bson_t *d, const char *path)
{
	const char *host = doc_str(d, "host_path");
	struct upath *nu;

	for (size_t i = 0; i < s->n; i++) /* linear: containers open hundreds of paths, not millions */
		if (!strcmp(s->u[i].path, path)) {
			s->u[i].opens++;
			s->u[i].read |= doc_bool(d, "read");
			s->u[i].write |= doc_bool(d, "write");
			return 0;
		}
	nu = realloc(s->u, (s->n + 1) * sizeof(*nu));
	if (!nu)
		return -ENOMEM;
	s->u = nu;
	nu = &s->u[s->n++];
	nu->path = strdup(path);
	nu->host = host ? strdup(host) : NULL;
	nu->opens = 1;
	nu->read = doc_bool(d, "read");
	nu->write = doc_bool(d, "write");
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

	if (!path || (a->prefix && !under(path, a->prefix)))
		return 0;
	if (a->unique)
		return failed ? 0 : add_unique(data, d, path);
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

	qsort(s->u, s->n, sizeof(*s->u), cmp_upath);
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
			doc_print_json(ctx, &d);
			bson_destroy(&d);
			continue;
		}
		snprintf(line, sizeof(line), "%c%c %5lld %s", u->read ? 'r' : '-',
			 u->write ? 'w' : '-', (long long)u->opens, u->path);
		fmt_fit(line, (size_t)ctx->args->width);
		fprintf(ctx->out, "%s\n", line);
		if (u->host && strcmp(u->host, u->path)) {
			snprintf(line, sizeof(line), "         host %s", u->host);
			fmt_fit(line, (size_t)ctx->args->width);
			fprintf(ctx->out, "%s\n", line);
		}
	}
}

int cmd_files(struct qctx *ctx)
{
	const struct qargs *a = ctx->args;
	bson_t filter = BSON_INITIALIZER, sort = BSON_INITIALIZER;
	struct fstate s = { 0 };
	char *cid = NULL, coll[SCHEMA_OUT_NAME_MAX];
	int r;

	r = q_resolve_container(ctx, &ctx->session, a->operand[0], &cid);
	if (r == 0)
		r = q_out_coll(ctx, &ctx->session, SCHEMA_FILES, coll);
	if (r < 0)
		goto out;
	BSON_APPEND_UTF8(&filter, SCHEMA_F_CONTAINER, cid);
	if (a->written)
		BSON_APPEND_BOOL(&filter, "write", true);
	BSON_APPEND_INT32(&sort, "open", 1);
	BSON_APPEND_INT32(&sort, SCHEMA_F_ID, 1); /* ties: the same order from any store */
	if (a->format == QFMT_TEXT && !a->unique)
		fprintf(ctx->out, "container %.12s (times %s)\n%-12s %8s %7s %-4s %6s %s\n", cid,
			a->utc ? "UTC" : "local", "OPEN", "HELD", "PID", "MODE", "BYTES", "PATH");
	else if (a->format == QFMT_TEXT)
		fprintf(ctx->out, "container %.12s: distinct paths opened successfully\n"
			"RW OPENS PATH\n", cid);
	r = q_each(ctx, coll, &filter, &sort, one_file, &s);
	if (r == 0 && a->unique)
		print_unique(ctx, &s);
	if (r == -ENOMEM) {
		snprintf(ctx->err, sizeof(ctx->err), "out of memory");
		ctx->status = QEXIT_DB_ERROR;
	}
out:
	for (size_t i = 0; i < s.n; i++) {
		free(s.u[i].path);
		free(s.u[i].host);
	}
	free(s.u);
	free(cid);
	bson_destroy(&filter);
	bson_destroy(&sort);
	return r;
}
