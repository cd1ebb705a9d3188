/* search.c — `lineage-query search`: processes and file accesses of a session (default the
 * latest; --all-sessions), host and every container at once, each hit with its process, its
 * container (or the host) and its ancestry up to the container's init (or the process that
 * entered it with docker exec) or the host's pid 1, printed like ps's forest; --format json
 * prints one document per hit with the chain as an array. --follow hands over to follow.c.
 *
 * With --path/--path-prefix/--path-glob/--written a hit is a file access (the filter's
 * `files`); otherwise a process (`processes`). Only equalities go to the server (FerretDB
 * over PostgreSQL pushes nothing else down): path, write, tgid, container id; the rest is
 * checked while streaming. Parents are looked up one by one by key (indexed equality) and
 * cached. --uid reads the raw events of the process (session + pid: indexed) because the
 * filter's documents carry no uid.
 *
 * Owns the process cache (copies of processes documents) for one session at a time. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"
#include "raw.h"
#include "schema.h"
#include "store.h"
#include "term.h"

#define CHAIN_MAX 64
#define CACHE_BUCKETS 4096
#define UID_EVENTS_MAX 64 /* events of a process read to learn its uid */

struct pent {
	struct pent *next;
	char *key;
	bson_t *doc; /* NULL: looked up, not found */
	int uid_state; /* 0 unknown, 1 matches --uid, -1 does not */
};

struct search {
	struct qctx *ctx;
	bson_oid_t session;
	char hex[25];
	char procs[SCHEMA_OUT_NAME_MAX], files[SCHEMA_OUT_NAME_MAX];
	struct pent *cache[CACHE_BUCKETS];
	size_t hits;
	bool header_done;
};

static size_t hash(const char *s)
{
	size_t h = 5381;

	for (; *s; s++)
		h = h * 33 + (unsigned char)*s;
	return h % CACHE_BUCKETS;
}

static void cache_free(struct search *s)
{
	for (size_t i = 0; i < CACHE_BUCKETS; i++) {
		struct pent *e = s->cache[i], *n;

		for (; e; e = n) {
			n = e->next;
			free(e->key);
			if (e->doc)
				bson_destroy(e->doc);
			free(e);
		}
		s->cache[i] = NULL;
	}
}

static int take_doc(struct qctx *ctx, const bson_t *d, void *data)
{
	bson_t **ret = data;

	(void)ctx;
	if (!*ret)
		*ret = bson_copy(d);
	return 0;
}

/* The processes document of key (cached); NULL when the filter has none. */
static struct pent *proc_get(struct search *s, const char *key, const bson_t *have)
{
	struct pent **b = &s->cache[hash(key)], *e;
	bson_t q = BSON_INITIALIZER;

	for (e = *b; e; e = e->next)
		if (!strcmp(e->key, key))
			return e;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->key = strdup(key);
	if (!e->key) {
		free(e);
		return NULL;
	}
	if (have) {
		e->doc = bson_copy(have);
	} else {
		BSON_APPEND_UTF8(&q, SCHEMA_F_PROC_KEY, key);
		q_each(s->ctx, s->procs, &q, NULL, take_doc, &e->doc);
		bson_destroy(&q);
	}
	e->next = *b;
	*b = e;
	return e;
}

/* "sh -c '…' ⇒ sleep 3": each distinct exec's argv (consecutive duplicates are the same
 * exec seen by audit and the proc connector), or "{comm}" for a process that never exec'd. */
static void proc_label(const bson_t *d, char *buf, size_t len)
{
	bson_iter_t it, arr;
	char prev[2048] = "", cur[2048];
	size_t pos = 0;

	buf[0] = '\0';
	if (bson_iter_init_find(&it, d, "execs") && BSON_ITER_HOLDS_ARRAY(&it) &&
	    bson_iter_recurse(&it, &arr)) {
		while (bson_iter_next(&arr) && pos < len) {
			const uint8_t *b;
			uint32_t l;
			const char **argv = NULL;
			bson_t ex;
			int n;

			if (!BSON_ITER_HOLDS_DOCUMENT(&arr))
				continue;
			bson_iter_document(&arr, &l, &b);
			if (!bson_init_static(&ex, b, l))
				continue;
			n = doc_strv(&ex, "argv", &argv);
			if (n > 0)
				fmt_argv(argv, (size_t)n, cur, sizeof(cur));
			else
				snprintf(cur, sizeof(cur), "%s",
					 doc_str(&ex, "exe") ? doc_str(&ex, "exe") : "?");
			free(argv);
			if (!strcmp(cur, prev))
				continue;
			pos += (size_t)snprintf(buf + pos, len - pos, "%s%s",
						pos ? " \xe2\x87\x92 " : "", cur);
			snprintf(prev, sizeof(prev), "%s", cur);
		}
	}
	if (!buf[0])
		snprintf(buf, len, "{%s}", doc_str(d, "comm") ? doc_str(d, "comm") : "?");
}

/* Does some exec of d match --exe (exact path, or the last component when E has no '/')
 * and --argv (substring of the argv as one line)? */
static bool execs_match(const bson_t *d, const struct qargs *a)
{
	bson_iter_t it, arr;
	bool exe_ok = !a->exe, argv_ok = !a->argv_sub;

	if (exe_ok && argv_ok)
		return true;
	if (!bson_iter_init_find(&it, d, "execs") || !BSON_ITER_HOLDS_ARRAY(&it) ||
	    !bson_iter_recurse(&it, &arr))
		return false;
	while (bson_iter_next(&arr)) {
		const uint8_t *b;
		uint32_t l;
		bson_t ex;
		const char *exe, **argv = NULL;
		char line[4096];
		int n;

		if (!BSON_ITER_HOLDS_DOCUMENT(&arr))
			continue;
		bson_iter_document(&arr, &l, &b);
		if (!bson_init_static(&ex, b, l))
			continue;
		exe = doc_str(&ex, "exe");
		if (a->exe && exe) {
			const char *base = strrchr(exe, '/');

			if (!strcmp(exe, a->exe) ||
			    (!strchr(a->exe, '/') && base && !strcmp(base + 1, a->exe)))
				exe_ok = true;
			/* busybox applets: argv[0] names what ran */
		}
		n = doc_strv(&ex, "argv", &argv);
		if (a->exe && !exe_ok && n > 0 && argv[0] && !strchr(a->exe, '/')) {
			const char *b0 = strrchr(argv[0], '/');

			if (!strcmp(b0 ? b0 + 1 : argv[0], a->exe))
				exe_ok = true;
		}
		if (a->argv_sub && n > 0) {
			fmt_argv(argv, (size_t)n, line, sizeof(line));
			if (strstr(line, a->argv_sub))
				argv_ok = true;
			else {
				/* also the unquoted words, so that 'a b' finds sh -c 'a b c' */
				size_t pos = 0;

				line[0] = '\0';
				for (int i = 0; i < n && pos < sizeof(line); i++)
					pos += (size_t)snprintf(line + pos, sizeof(line) - pos, "%s%s",
								i ? " " : "", argv[i] ? argv[i] : "");
				if (strstr(line, a->argv_sub))
					argv_ok = true;
			}
		}
		free(argv);
	}
	return exe_ok && argv_ok;
}

struct uidq {
	int64_t start, exit, want;
	int n;
	bool match;
};

static int uid_event(struct qctx *ctx, const bson_t *d, void *data)
{
	struct uidq *u = data;
	int64_t ts = doc_date(d, SCHEMA_F_TS);

	(void)ctx;
	/* audit times are ms; a process's start is ns: 5 ms of slack, as the filter allows */
	if (ts == FMT_NO_TIME || (u->start != FMT_NO_TIME && ts < u->start - 5) ||
	    (u->exit != FMT_NO_TIME && ts > u->exit + 5))
		return 0;
	if (doc_int(d, "uid", -1) == u->want || doc_int(d, "euid", -1) == u->want)
		u->match = true;
	return ++u->n >= UID_EVENTS_MAX || u->match ? -ECANCELED : 0;
}

static bool uid_match(struct search *s, struct pent *e)
{
	bson_t q = BSON_INITIALIZER;
	struct uidq u = { .want = s->ctx->args->uid };
	int r;

	if (e->uid_state)
		return e->uid_state > 0;
	u.start = doc_date(e->doc, "start");
	u.exit = doc_date(e->doc, "exit");
	BSON_APPEND_OID(&q, SCHEMA_F_SESSION, &s->session);
	BSON_APPEND_INT64(&q, SCHEMA_F_PID, doc_int(e->doc, SCHEMA_F_TGID, -1));
	r = q_each(s->ctx, SCHEMA_EVENTS, &q, NULL, uid_event, &u);
	if (r == -ECANCELED)
		s->ctx->err[0] = '\0';
	bson_destroy(&q);
	e->uid_state = u.match ? 1 : -1;
	return u.match;
}

/* The process predicates (--exe, --argv, --pid, --uid, --container). */
static bool proc_match(struct search *s, struct pent *e)
{
	const struct qargs *a = s->ctx->args;

	if (!e || !e->doc)
		return !a->exe && !a->argv_sub && a->pid < 0 && a->uid < 0;
	if (a->pid >= 0 && doc_int(e->doc, SCHEMA_F_TGID, -1) != a->pid)
		return false;
	if (!raw_container_match(doc_str(e->doc, SCHEMA_F_CONTAINER), a->container))
		return false;
	if (!execs_match(e->doc, a))
		return false;
	if (a->uid >= 0 && !uid_match(s, e))
		return false;
	return true;
}

/* Ancestors of e, nearest first, into v (at most CHAIN_MAX); the chain stops at the
 * container's init or docker-exec entry, at a process whose parent is unknown, or at the
 * host's pid 1. */
static size_t chain_of(struct search *s, struct pent *e, struct pent **v)
{
	size_t n = 0;

	while (e && e->doc && n < CHAIN_MAX) {
		const char *entry = doc_str(e->doc, "entry"), *parent = doc_str(e->doc, "parent");

		v[n++] = e;
		if (entry && (!strcmp(entry, "init") || !strcmp(entry, "exec")))
			break;
		if (doc_int(e->doc, SCHEMA_F_TGID, -1) == 1 || !parent)
			break;
		e = proc_get(s, parent, NULL);
	}
	return n;
}

static void append_proc_json(bson_t *to, const char *k, const bson_t *d)
{
	bson_t p, ex;
	bson_iter_t it;
	char lab[2048];

	bson_append_document_begin(to, k, -1, &p);
	BSON_APPEND_UTF8(&p, "key", doc_str(d, "key") ? doc_str(d, "key") : "");
	BSON_APPEND_INT64(&p, "pid", doc_int(d, SCHEMA_F_TGID, -1));
	proc_label(d, lab, sizeof(lab));
	BSON_APPEND_UTF8(&p, "label", lab);
	if (bson_iter_init_find(&it, d, "execs") && BSON_ITER_HOLDS_ARRAY(&it))
		bson_append_iter(&p, "execs", -1, &it);
	else {
		bson_append_array_begin(&p, "execs", -1, &ex);
		bson_append_array_end(&p, &ex);
	}
	if (doc_str(d, "entry"))
		BSON_APPEND_UTF8(&p, "entry", doc_str(d, "entry"));
	if (doc_date(d, "start") != FMT_NO_TIME)
		BSON_APPEND_DATE_TIME(&p, "start", doc_date(d, "start"));
	if (doc_date(d, "exit") != FMT_NO_TIME)
		BSON_APPEND_DATE_TIME(&p, "exit", doc_date(d, "exit"));
	if (doc_str(d, "parent"))
		BSON_APPEND_UTF8(&p, "parent", doc_str(d, "parent"));
	bson_append_document_end(to, &p);
}

/* One hit: the what-line, then the chain root first, indented like `ps -ef --forest`. */
static void print_hit(struct search *s, struct pent *e, const bson_t *file, const char *key)
{
	struct qctx *ctx = s->ctx;
	const struct qargs *a = ctx->args;
	struct pent *chain[CHAIN_MAX];
	size_t n = e && e->doc ? chain_of(s, e, chain) : 0;
	const char *cont = e && e->doc ? doc_str(e->doc, SCHEMA_F_CONTAINER) :
			   file ? doc_str(file, SCHEMA_F_CONTAINER) : NULL;
	char cl[16], tbuf[40], what[4600], line[8600], lab[4096];
	int64_t ts;

	s->hits++;
	if (a->format == QFMT_JSON) {
		bson_t j = BSON_INITIALIZER, arr;
		char ik[16];
		const char *ikp;

		BSON_APPEND_OID(&j, "session", &s->session);
		if (cont)
			BSON_APPEND_UTF8(&j, "container", cont);
		else
			BSON_APPEND_NULL(&j, "container");
		BSON_APPEND_UTF8(&j, "hit", file ? "file" : "process");
		if (file) {
			bson_t fd;
			static const char *const keep[] = { "path", "host_path", "write", "read",
							    "failed", "error", "fd", "open", "close",
							    "bytes_written", "close_inferred" };
			bson_iter_t it;

			bson_append_document_begin(&j, "file", -1, &fd);
			for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
				if (bson_iter_init_find(&it, file, keep[i]))
					bson_append_iter(&fd, keep[i], -1, &it);
			bson_append_document_end(&j, &fd);
		}
		if (e && e->doc)
			append_proc_json(&j, "process", e->doc);
		else if (key)
			BSON_APPEND_UTF8(&j, "process_key", key);
		bson_append_array_begin(&j, "chain", -1, &arr);
		for (size_t i = 0; i < n; i++) {
			bson_uint32_to_string((uint32_t)i, &ikp, ik, sizeof(ik));
			append_proc_json(&arr, ikp, chain[n - 1 - i]->doc);
		}
		bson_append_array_end(&j, &arr);
		doc_print_json(ctx, &j);
		bson_destroy(&j);
		return;
	}
	raw_container_label(cont, cl, sizeof(cl));
	if (file) {
		bool failed = doc_bool(file, "failed");

		ts = doc_date(file, "open");
		if (failed)
			snprintf(what, sizeof(what), "open-fail %s (error %lld)",
				 doc_str(file, "path") ? doc_str(file, "path") : "?",
				 (long long)doc_int(file, "error", 0));
		else
			snprintf(what, sizeof(what), "%s %s",
				 doc_bool(file, "write") ? "write" : "read",
				 doc_str(file, "path") ? doc_str(file, "path") : "?");
		if (!failed && doc_bool(file, "write")) {
			size_t l = strlen(what);

			snprintf(what + l, sizeof(what) - l, " (%lld bytes written)",
				 (long long)doc_int(file, "bytes_written", 0));
		}
	} else {
		ts = doc_date(e->doc, "start");
		proc_label(e->doc, lab, sizeof(lab));
		snprintf(what, sizeof(what), "process %lld %s",
			 (long long)doc_int(e->doc, SCHEMA_F_TGID, -1), lab);
	}
	snprintf(line, sizeof(line), "%s %-12s %s", fmt_time(ts, a->utc, true, tbuf, sizeof(tbuf)),
		 cl, what);
	fmt_fit(line, (size_t)a->width);
	fprintf(ctx->out, "%s%s%s\n", term_sgr(ctx->color, TS_BOLD), line,
		term_sgr(ctx->color, TS_RESET));
	if (!n && key) {
		fprintf(ctx->out, "  process %s (not in the filter's output)\n", key);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const bson_t *d = chain[n - 1 - i]->doc;
		const char *entry = doc_str(d, "entry");
		char st[40], tag[24] = "";
		int indent = (int)(2 + 4 * i);

		if (i == 0 && entry && !strcmp(entry, "init"))
			snprintf(tag, sizeof(tag), "[init] ");
		else if (i == 0 && entry && !strcmp(entry, "exec"))
			snprintf(tag, sizeof(tag), "[docker exec] ");
		proc_label(d, lab, sizeof(lab));
		fmt_time(doc_date(d, "start"), a->utc, false, st, sizeof(st));
		snprintf(line, sizeof(line), "%*s%s%7lld %s%s  %s", indent, "", i ? "\\_ " : "",
			 (long long)doc_int(d, SCHEMA_F_TGID, -1), tag, lab, st);
		fmt_fit(line, (size_t)a->width);
		fprintf(ctx->out, "%s%s%s\n", i == n - 1 ? term_sgr(ctx->color, TS_YELLOW) : "",
			line, i == n - 1 ? term_sgr(ctx->color, TS_RESET) : "");
	}
}

static bool in_time(const struct qargs *a, int64_t from, int64_t to)
{
	if (a->since_ms != QTIME_NONE && to != FMT_NO_TIME && to < a->since_ms)
		return false;
	if (a->until_ms != QTIME_NONE && from != FMT_NO_TIME && from > a->until_ms)
		return false;
	return true;
}

static int file_hit(struct qctx *ctx, const bson_t *d, void *data)
{
	struct search *s = data;
	const struct qargs *a = ctx->args;
	const char *key = doc_str(d, "process");
	int64_t open = doc_date(d, "open");
	struct pent *e;

	if (!raw_path_wanted(doc_str(d, SCHEMA_F_PATH), a) && !(!a->path && !a->path_prefix &&
								 !a->path_glob))
		return 0;
	if (!raw_container_match(doc_str(d, SCHEMA_F_CONTAINER), a->container))
		return 0;
	if (!in_time(a, open, open))
		return 0;
	e = key ? proc_get(s, key, NULL) : NULL;
	if (!proc_match(s, e))
		return 0;
	print_hit(s, e, d, key);
	return 0;
}

static int proc_hit(struct qctx *ctx, const bson_t *d, void *data)
{
	struct search *s = data;
	const struct qargs *a = ctx->args;
	const char *key = doc_str(d, SCHEMA_F_PROC_KEY);
	struct pent *e;

	if (!key || (doc_bool(d, "runtime_helper") && a->pid < 0))
		return 0; /* runc's own stages: not what anyone ran */
	if (!in_time(a, doc_date(d, "start"), doc_date(d, "exit")))
		return 0;
	if (!raw_container_match(doc_str(d, SCHEMA_F_CONTAINER), a->container))
		return 0;
	if (!execs_match(d, a))
		return 0; /* cheap test before the cache copy */
	e = proc_get(s, key, d);
	if (!proc_match(s, e))
		return 0;
	print_hit(s, e, NULL, key);
	return 0;
}

static int search_session(struct search *s)
{
	struct qctx *ctx = s->ctx;
	const struct qargs *a = ctx->args;
	bool files = a->path || a->path_prefix || a->path_glob || a->written;
	bson_t q = BSON_INITIALIZER;
	int r;

	bson_oid_to_string(&s->session, s->hex);
	r = q_out_coll(ctx, &s->session, SCHEMA_PROCESSES, s->procs);
	if (r == 0 && files)
		r = q_out_coll(ctx, &s->session, SCHEMA_FILES, s->files);
	if (r < 0)
		return r;
	if (a->format == QFMT_TEXT)
		fprintf(ctx->out, "%ssession %s (times %s)%s\n", term_sgr(ctx->color, TS_BOLD),
			s->hex, a->utc ? "UTC" : "local", term_sgr(ctx->color, TS_RESET));
	if (a->container && strlen(a->container) == 64)
		BSON_APPEND_UTF8(&q, SCHEMA_F_CONTAINER, a->container);
	if (files) {
		if (a->path)
			BSON_APPEND_UTF8(&q, SCHEMA_F_PATH, a->path);
		if (a->written)
			BSON_APPEND_BOOL(&q, "write", true);
		r = q_each(ctx, s->files, &q, NULL, file_hit, s);
	} else {
		if (a->pid >= 0)
			BSON_APPEND_INT64(&q, SCHEMA_F_TGID, a->pid);
		r = q_each(ctx, s->procs, &q, NULL, proc_hit, s);
	}
	bson_destroy(&q);
	cache_free(s);
	return r;
}

struct slist {
	bson_oid_t *v;
	size_t n;
};

static int add_sid(struct qctx *ctx, const bson_t *d, void *data)
{
	struct slist *l = data;
	bson_iter_t it;
	bson_oid_t *nv;

	(void)ctx;
	if (!bson_iter_init_find(&it, d, SCHEMA_F_ID) || !BSON_ITER_HOLDS_OID(&it))
		return 0;
	nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	l->v = nv;
	bson_oid_copy(bson_iter_oid(&it), &l->v[l->n++]);
	return 0;
}

int cmd_search(struct qctx *ctx)
{
	const struct qargs *a = ctx->args;
	struct search *s;
	struct slist l = { 0 };
	bson_t sort = BSON_INITIALIZER, proj = BSON_INITIALIZER;
	size_t unfiltered = 0;
	int r = 0;

	if (a->follow)
		return cmd_follow(ctx);
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->ctx = ctx;
	if (!a->all_sessions) {
		s->session = ctx->session;
		r = search_session(s);
		goto out;
	}
	BSON_APPEND_INT32(&sort, SCHEMA_F_STARTED_AT, -1);
	r = q_each(ctx, SCHEMA_SESSIONS, NULL, &sort, add_sid, &l);
	for (size_t i = 0; r == 0 && i < l.n; i++) {
		s->session = l.v[i];
		r = search_session(s);
		if (r == -ENOENT && ctx->status == QEXIT_NOT_FOUND) {
			/* an unfiltered session: say so, search the others */
			fprintf(stderr, "lineage-query: %s\n", ctx->err);
			ctx->err[0] = '\0';
			ctx->status = QEXIT_OK;
			unfiltered++;
			r = 0;
		}
	}
	if (r == 0 && unfiltered == l.n && l.n) {
		snprintf(ctx->err, sizeof(ctx->err), "no session has been filtered");
		ctx->status = QEXIT_NOT_FOUND;
		r = -ENOENT;
	}
out:
	if (r == 0 && !s->hits && a->format == QFMT_TEXT)
		fprintf(stderr, "lineage-query: no hit\n");
	if (r == -ENOMEM) {
		snprintf(ctx->err, sizeof(ctx->err), "out of memory");
		ctx->status = QEXIT_DB_ERROR;
	}
	free(l.v);
	bson_destroy(&sort);
	bson_destroy(&proj);
	free(s);
	return r;
}
