/* search.c — `lineage-query search`: processes and file accesses of a session (default the
 * latest; --all-sessions), host and every container at once, each hit with its process, its
 * container (or the host) and its ancestry up to the container's init (or the process that
 * entered it with docker exec) or the host's pid 1, printed like ps's forest; --format json
 * prints one document per hit with the chain as an array. --follow hands over to follow.c.
 *
 * With --path/--path-prefix/--path-glob/--written a hit is a file access (the filter's
 * `files`); otherwise a process (`processes`). Only equalities go to the server (FerretDB
 * over PostgreSQL pushes nothing else down): path, write, tgid, container id; the rest is
 * checked while streaming. The filter's search index (SCHEMA_SEARCH, common/search_format.h)
 * holds every process and every distinct path of the session: processes, parents and
 * --exe/--argv are answered from it in memory, --path-prefix/--path-glob by reading only the
 * matching paths (or, for many, the session's files pages: pages.c); without one (sessions filtered before it) parents are looked up one by one
 * by key (indexed equality) and the rest streams. --uid reads the raw events of the process
 * (session + pid: indexed) because the filter's documents carry no uid.
 *
 * Owns the process cache (copies of processes documents, or documents made from the index)
 * and the loaded index, for one session at a time. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "query.h"
#include "raw.h"
#include "hash.h"
#include "schema.h"
#include "search_format.h"
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

#define HOST_SIDES_MAX 32

struct search {
	struct qctx *ctx;
	bson_oid_t session;
	char hex[25];
	char procs[SCHEMA_OUT_NAME_MAX], files[SCHEMA_OUT_NAME_MAX];
	struct pent *cache[CACHE_BUCKETS];
	struct pindex *pidx; /* the search index's processes (NULL: none, read documents) */
	struct pent **phits; /* process hits of the session, printed sorted (cache entries) */
	size_t nphits, capphits;
	size_t hits;
	bool header_done;
	/* issue 28: --path also finds the other side of a mount: the host paths its accesses
	 * went to (and the path itself), matched in path and host_path */
	char *sides[HOST_SIDES_MAX];
	size_t nsides;
};

static size_t strhash(const char *s)
{
	return hash_str(HASH_STR_INIT, s);
}

static size_t hash(const char *s)
{
	return strhash(s) % CACHE_BUCKETS;
}

/* the search index (below) */
struct pidx_ent;
static struct pidx_ent *pidx_slot(struct pindex *x, const char *key);
static bson_t *pidx_doc(const struct pindex *x, const struct pidx_ent *e);
static const char *pidx_key(const struct pidx_ent *e);

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
	} else if (s->pidx) {
		const struct pidx_ent *x = pidx_slot(s->pidx, key);

		e->doc = pidx_key(x) ? pidx_doc(s->pidx, x) : NULL;
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

/* One exec (exe, argv) against --exe (exact path, or the last component of the exe or of
 * argv[0] when E has no '/': busybox applets) and --argv (substring of the command line,
 * quoted as printed or as plain words): sets what it matches. */
static void exec_match(const struct qargs *a, const char *exe, const char *const *argv, size_t n,
		       bool *exe_ok, bool *argv_ok)
{
	char line[4096];

	if (a->exe && !*exe_ok && exe) {
		const char *base = strrchr(exe, '/');

		if (!strcmp(exe, a->exe) ||
		    (!strchr(a->exe, '/') && base && !strcmp(base + 1, a->exe)))
			*exe_ok = true;
	}
	if (a->exe && !*exe_ok && n > 0 && argv[0] && !strchr(a->exe, '/')) {
		const char *b0 = strrchr(argv[0], '/');

		if (!strcmp(b0 ? b0 + 1 : argv[0], a->exe))
			*exe_ok = true;
	}
	if (a->argv_sub && !*argv_ok && n > 0) {
		fmt_argv(argv, n, line, sizeof(line));
		if (strstr(line, a->argv_sub)) {
			*argv_ok = true;
		} else {
			/* also the unquoted words, so that 'a b' finds sh -c 'a b c' */
			size_t pos = 0;

			line[0] = '\0';
			for (size_t i = 0; i < n && pos < sizeof(line); i++)
				pos += (size_t)snprintf(line + pos, sizeof(line) - pos, "%s%s",
							i ? " " : "", argv[i] ? argv[i] : "");
			if (strstr(line, a->argv_sub))
				*argv_ok = true;
		}
	}
}

/* Does some exec of the processes document d match --exe and --argv? */
static bool execs_match(const bson_t *d, const struct qargs *a)
{
	bson_iter_t it, arr;
	bool exe_ok = !a->exe, argv_ok = !a->argv_sub;

	if (exe_ok && argv_ok)
		return true;
	if (!bson_iter_init_find(&it, d, "execs") || !BSON_ITER_HOLDS_ARRAY(&it) ||
	    !bson_iter_recurse(&it, &arr))
		return false;
	while (bson_iter_next(&arr) && !(exe_ok && argv_ok)) {
		const uint8_t *b;
		uint32_t l;
		bson_t ex;
		const char **argv = NULL;
		int n;

		if (!BSON_ITER_HOLDS_DOCUMENT(&arr))
			continue;
		bson_iter_document(&arr, &l, &b);
		if (!bson_init_static(&ex, b, l))
			continue;
		n = doc_strv(&ex, "argv", &argv);
		exec_match(a, doc_str(&ex, "exe"), argv, n > 0 ? (size_t)n : 0, &exe_ok, &argv_ok);
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
	bson_iter_t it, arr;
	int r;

	if (e->uid_state)
		return e->uid_state > 0;
	/* the filter lists every uid/euid of the process's events (issue 20): no lookup */
	if (bson_iter_init_find(&it, e->doc, SCHEMA_F_UIDS) && BSON_ITER_HOLDS_ARRAY(&it) &&
	    bson_iter_recurse(&it, &arr)) {
		e->uid_state = -1;
		while (bson_iter_next(&arr))
			if (bson_iter_as_int64(&arr) == s->ctx->args->uid)
				e->uid_state = 1;
		return e->uid_state > 0;
	}
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
			static const char *const keep[] = { "path", "host_path", "host_path_kind",
							    "stored_path", "layer", "write", "read",
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
		{ /* issue 28: where it really went, when that is not the path */
			const char *h = doc_str(file, SCHEMA_F_HOST_PATH), *p = doc_str(file, "path");
			size_t l = strlen(what);

			if (h && p && strcmp(h, p))
				snprintf(what + l, sizeof(what) - l, " [host %s]", h);
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

static bool is_side(const struct search *s, const char *p)
{
	for (size_t i = 0; p && i < s->nsides; i++)
		if (!strcmp(s->sides[i], p))
			return true;
	return false;
}

static int file_hit(struct qctx *ctx, const bson_t *d, void *data)
{
	struct search *s = data;
	const struct qargs *a = ctx->args;
	const char *key = doc_str(d, "process");
	int64_t open = doc_date(d, "open");
	struct pent *e;

	if (!raw_path_wanted(doc_str(d, SCHEMA_F_PATH), a) && !(!a->path && !a->path_prefix &&
								 !a->path_glob) &&
	    !is_side(s, doc_str(d, SCHEMA_F_PATH)) && !is_side(s, doc_str(d, SCHEMA_F_HOST_PATH)))
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
	if (GROW(s->phits, s->nphits, s->capphits) < 0)
		return -ENOMEM;
	s->phits[s->nphits++] = e;
	return 0;
}

static int phit_cmp(const void *a, const void *b)
{
	const struct pent *x = *(struct pent *const *)a, *y = *(struct pent *const *)b;
	int64_t sx = doc_date(x->doc, "start"), sy = doc_date(y->doc, "start");

	if (sx != sy)
		return sx < sy ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* Process hits by start (then key): the same order whichever way they were read (the
 * index, the documents, or pages that come per container). */
static void phits_print(struct search *s)
{
	if (s->nphits > 1)
		qsort(s->phits, s->nphits, sizeof(*s->phits), phit_cmp);
	for (size_t i = 0; i < s->nphits; i++)
		print_hit(s, s->phits[i], NULL, s->phits[i]->key);
	s->nphits = 0;
}

/* --- the filter's search index (issue 20, common/search_format.h) ---------------------------
 * With an index, the session's processes are read once, as a few binary parts, into memory:
 * --exe/--argv match them there, and every chain is built from them, so no hit costs a
 * round trip per process (FerretDB answers an indexed equality in ~2-6 ms: a thousand hits
 * made seconds). --path-prefix/--path-glob match the index's distinct paths, then read
 * only those paths' accesses by indexed equality. Sessions filtered before the index, or a
 * damaged index: the documents themselves, as before (one stream, one lookup per process). */
#define INDEX_PATHS_MAX 4000 /* more candidate paths: one stream of files is cheaper */
/* With pages, more candidate paths than this read the session's files pages instead of a
 * query per path: a query costs ~5 ms and its documents ~0.2 ms each through FerretDB, the
 * pages of a 1M-event session's 235k files ~2 s in all (store_scale). */
#define INDEX_PATH_QUERIES_MAX 16
#define INDEX_ARGV_MAX 1024

struct pidx_ent {
	const char *key; /* into parts[part] */
	size_t part, pos;
};

struct pindex {
	uint8_t **parts;
	size_t *lens, nparts;
	struct pidx_ent *tab; /* open addressing on key */
	size_t cap;
	bool bad;
};

static void pidx_free(struct pindex *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->nparts; i++)
		free(x->parts[i]);
	free(x->parts);
	free(x->lens);
	free(x->tab);
	free(x);
}

static int pidx_part(struct qctx *ctx, const bson_t *d, void *data)
{
	struct pindex *x = data;
	const uint8_t *buf;
	uint32_t len;
	uint8_t **np, *copy;
	size_t *nl;

	(void)ctx;
	if (!doc_bin(d, SCHEMA_F_SEARCH_DATA, &buf, &len)) {
		x->bad = true;
		return -ECANCELED;
	}
	np = realloc(x->parts, (x->nparts + 1) * sizeof(*np));
	if (!np)
		return -ENOMEM;
	x->parts = np;
	nl = realloc(x->lens, (x->nparts + 1) * sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	x->lens = nl;
	copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, buf, len);
	x->parts[x->nparts] = copy;
	x->lens[x->nparts++] = len;
	return 0;
}

static struct pidx_ent *pidx_slot(struct pindex *x, const char *key)
{
	size_t k = strhash(key) & (x->cap - 1);

	while (x->tab[k].key && strcmp(x->tab[k].key, key))
		k = (k + 1) & (x->cap - 1);
	return &x->tab[k];
}

static const char *pidx_key(const struct pidx_ent *e)
{
	return e->key;
}

/* Hash every record's key; a record that does not decode makes the index unusable. */
static int pidx_build(struct pindex *x)
{
	size_t n = 0;
	struct search_proc p;
	int k;

	for (size_t i = 0; i < x->nparts; i++)
		for (size_t pos = 0; (k = search_next_proc(x->parts[i], x->lens[i], &pos, &p)) == 1;)
			n++;
	for (x->cap = 64; x->cap < 2 * n + 2; x->cap *= 2)
		;
	x->tab = calloc(x->cap, sizeof(*x->tab));
	if (!x->tab)
		return -ENOMEM;
	for (size_t i = 0; i < x->nparts; i++) {
		size_t pos = 0, at = 0;

		while ((k = search_next_proc(x->parts[i], x->lens[i], &pos, &p)) == 1) {
			struct pidx_ent *e = pidx_slot(x, p.key);

			*e = (struct pidx_ent){ .key = p.key, .part = i, .pos = at };
			at = pos;
		}
		if (k < 0)
			x->bad = true;
	}
	return 0;
}

/* The session's process index into s->pidx (NULL when it has none or it is damaged). */
static int pidx_load(struct search *s)
{
	struct qctx *ctx = s->ctx;
	char coll[SCHEMA_OUT_NAME_MAX];
	bson_t q = BSON_INITIALIZER, sort = BSON_INITIALIZER;
	struct pindex *x;
	bool found = false;
	int r;

	s->pidx = NULL;
	r = q_out_coll_opt(ctx, &s->session, SCHEMA_SEARCH, coll, &found);
	if (r < 0 || !found)
		return r;
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	BSON_APPEND_UTF8(&q, SCHEMA_F_SEARCH_WHAT, SCHEMA_SEARCH_PROCS);
	BSON_APPEND_INT32(&sort, SCHEMA_F_SEARCH_PART, 1);
	r = q_each(ctx, coll, &q, &sort, pidx_part, x);
	if (r == -ECANCELED) {
		ctx->err[0] = '\0';
		r = 0;
	}
	if (r == 0 && !x->bad)
		r = pidx_build(x);
	if (r == 0 && x->bad)
		fprintf(stderr, "lineage-query: the search index %s does not decode: reading the "
			"processes documents instead\n", coll);
	bson_destroy(&q);
	bson_destroy(&sort);
	if (r < 0 || x->bad) {
		pidx_free(x);
		return r;
	}
	s->pidx = x;
	return 0;
}

static void put_str_or_null(bson_t *d, const char *k, const char *v)
{
	if (v && *v)
		bson_append_utf8(d, k, -1, v, -1);
	else
		bson_append_null(d, k, -1);
}

static void put_ms_or_null(bson_t *d, const char *k, int64_t ms)
{
	if (ms == SEARCH_NO_TIME)
		bson_append_null(d, k, -1);
	else
		bson_append_date_time(d, k, -1, ms);
}

/* The record at e as the processes document's fields that search reads (same names and
 * types as filter/emit.c writes). NULL on a failure. */
static bson_t *pidx_doc(const struct pindex *x, const struct pidx_ent *e)
{
	const uint8_t *buf = x->parts[e->part];
	size_t len = x->lens[e->part], pos = e->pos, epos;
	const char *argv[INDEX_ARGV_MAX];
	struct search_proc p;
	uint32_t nuids = 0;
	bson_t *d, arr, sub, av;
	char ib[16], jb[16];
	const char *ik, *jk;

	if (search_next_proc(buf, len, &pos, &p) != 1)
		return NULL;
	d = bson_new();
	BSON_APPEND_UTF8(d, SCHEMA_F_PROC_KEY, p.key);
	BSON_APPEND_INT32(d, SCHEMA_F_TGID, (int32_t)p.tgid);
	put_str_or_null(d, "parent", p.parent);
	put_ms_or_null(d, "start", p.start_ms);
	put_ms_or_null(d, "exit", p.exit_ms);
	put_str_or_null(d, "comm", p.comm);
	put_str_or_null(d, SCHEMA_F_CONTAINER, p.container);
	BSON_APPEND_BOOL(d, "runtime_helper", p.runtime_helper);
	put_str_or_null(d, "entry", p.entry);
	bson_append_array_begin(d, SCHEMA_F_UIDS, -1, &arr);
	for (const char *u = p.uids, *c; *u; u = *c ? c + 1 : c) {
		c = strchr(u, ',');
		if (!c)
			c = u + strlen(u);
		bson_uint32_to_string(nuids++, &ik, ib, sizeof(ib));
		bson_append_int64(&arr, ik, -1, strtoll(u, NULL, 10));
	}
	bson_append_array_end(d, &arr);
	bson_append_array_begin(d, "execs", -1, &arr);
	epos = p.execs_pos;
	for (size_t k = 0; k < p.nexecs; k++) {
		int64_t ts;
		const char *exe;
		size_t argc;

		if (search_next_exec(buf, len, &epos, &ts, &exe, argv, INDEX_ARGV_MAX, &argc) != 1)
			break;
		bson_uint32_to_string((uint32_t)k, &ik, ib, sizeof(ib));
		bson_append_document_begin(&arr, ik, -1, &sub);
		put_ms_or_null(&sub, SCHEMA_F_TS, ts);
		put_str_or_null(&sub, "exe", exe);
		bson_append_array_begin(&sub, SCHEMA_F_ARGV, -1, &av);
		for (size_t i = 0; i < argc && i < INDEX_ARGV_MAX; i++) {
			bson_uint32_to_string((uint32_t)i, &jk, jb, sizeof(jb));
			bson_append_utf8(&av, jk, -1, argv[i], -1);
		}
		bson_append_array_end(&sub, &av);
		bson_append_document_end(&arr, &sub);
	}
	bson_append_array_end(d, &arr);
	return d;
}

/* Processes by the index: every record whose execs may match --exe/--argv, in the output's
 * order, through proc_hit (which checks the document in full). */
static int procs_by_index(struct search *s)
{
	const struct qargs *a = s->ctx->args;
	const struct pindex *x = s->pidx;
	const char *argv[INDEX_ARGV_MAX];
	int r = 0;

	for (size_t i = 0; r == 0 && i < x->nparts; i++) {
		struct search_proc p;
		size_t pos = 0;

		while (r == 0 && search_next_proc(x->parts[i], x->lens[i], &pos, &p) == 1) {
			bool exe_ok = !a->exe, argv_ok = !a->argv_sub;
			size_t epos = p.execs_pos;
			struct pent *e;

			for (size_t k = 0; k < p.nexecs && !(exe_ok && argv_ok); k++) {
				int64_t ts;
				const char *exe;
				size_t argc;

				if (search_next_exec(x->parts[i], x->lens[i], &epos, &ts, &exe, argv,
						     INDEX_ARGV_MAX, &argc) != 1)
					break;
				if (argc > INDEX_ARGV_MAX) /* not all here: the document decides */
					exe_ok = argv_ok = true;
				else
					exec_match(a, *exe ? exe : NULL, argv, argc, &exe_ok,
						   &argv_ok);
			}
			if (!exe_ok || !argv_ok)
				continue;
			e = proc_get(s, p.key, NULL);
			if (!e)
				r = -ENOMEM;
			else if (e->doc)
				r = proc_hit(s->ctx, e->doc, s);
		}
	}
	return r;
}

struct paths_read {
	const struct qargs *a;
	char **v; /* candidate paths, in index order */
	size_t n, cap;
	bool over, bad;
};

static int paths_add(struct paths_read *x, const char *path)
{
	if (x->n >= INDEX_PATHS_MAX) {
		x->over = true;
		return -ECANCELED;
	}
	if (GROW(x->v, x->n, x->cap) < 0)
		return -ENOMEM;
	x->v[x->n] = strdup(path);
	return x->v[x->n++] ? 0 : -ENOMEM;
}

static int paths_part(struct qctx *ctx, const bson_t *d, void *data)
{
	struct paths_read *x = data;
	const char *path;
	const uint8_t *buf;
	uint32_t len;
	size_t pos = 0;
	int r = 0, k;

	(void)ctx;
	if (!doc_bin(d, SCHEMA_F_SEARCH_DATA, &buf, &len)) {
		x->bad = true;
		return -ECANCELED;
	}
	while (r == 0 && (k = search_next_path(buf, len, &pos, &path)) == 1)
		if (raw_path_wanted(path, x->a))
			r = paths_add(x, path);
	if (r == 0 && k < 0) {
		x->bad = true;
		r = -ECANCELED;
	}
	return r;
}

struct fdocs {
	bson_t **v;
	size_t n, cap;
};

static int fdoc_take(struct qctx *ctx, const bson_t *d, void *data)
{
	struct fdocs *f = data;

	(void)ctx;
	if (GROW(f->v, f->n, f->cap) < 0)
		return -ENOMEM;
	f->v[f->n] = bson_copy(d);
	return f->v[f->n++] ? 0 : -ENOMEM;
}

/* The seq of the event that made a files entry: its _id is "<session hex>:f:<seq>". */
static long long fdoc_seq(const bson_t *d)
{
	const char *id = doc_str(d, SCHEMA_F_ID), *f = id ? strstr(id, ":f:") : NULL;

	return f ? strtoll(f + 3, NULL, 10) : 0;
}

static int fdoc_cmp(const void *a, const void *b)
{
	long long x = fdoc_seq(*(bson_t *const *)a), y = fdoc_seq(*(bson_t *const *)b);

	return x < y ? -1 : x > y;
}

/* The hits in the order of the events that made them (the collection's own order groups
 * them by process), whichever way they were read. */
static int fdocs_print(struct search *s, struct fdocs *f)
{
	int r = 0;

	if (f->n > 1)
		qsort(f->v, f->n, sizeof(*f->v), fdoc_cmp);
	for (size_t i = 0; i < f->n && r == 0; i++)
		r = file_hit(s->ctx, f->v[i], s);
	return r;
}

static void fdocs_free(struct fdocs *f)
{
	for (size_t i = 0; i < f->n; i++)
		bson_destroy(f->v[i]);
	free(f->v);
	f->v = NULL;
	f->n = f->cap = 0;
}

/* Files matching q, in event order (a stream: an exact path, or no usable index). */
static int files_by_query(struct search *s, const bson_t *q)
{
	struct fdocs docs = { 0 };
	int r = q_each(s->ctx, s->files, q, NULL, fdoc_take, &docs);

	if (r == 0)
		r = fdocs_print(s, &docs);
	fdocs_free(&docs);
	return r;
}

/* Files by the index's paths: 1 when the index cannot be used (the caller streams
 * instead). */
static int files_by_index(struct search *s, const bson_t *base)
{
	struct qctx *ctx = s->ctx;
	struct paths_read x = { .a = ctx->args };
	struct fdocs docs = { 0 };
	char coll[SCHEMA_OUT_NAME_MAX];
	bson_t q = BSON_INITIALIZER, sort = BSON_INITIALIZER;
	bool found = false;
	int r;

	r = q_out_coll_opt(ctx, &s->session, SCHEMA_SEARCH, coll, &found);
	if (r == 0 && found) {
		BSON_APPEND_UTF8(&q, SCHEMA_F_SEARCH_WHAT, SCHEMA_SEARCH_PATHS);
		BSON_APPEND_INT32(&sort, SCHEMA_F_SEARCH_PART, 1);
		r = q_each(ctx, coll, &q, &sort, paths_part, &x);
		if (r == -ECANCELED) {
			ctx->err[0] = '\0';
			r = 0;
		}
		if (r == 0 && x.bad)
			fprintf(stderr, "lineage-query: the search index %s does not decode: "
				"reading every files document instead\n", coll);
	}
	bson_destroy(&q);
	bson_destroy(&sort);
	if (r == 0 && (!found || x.over || x.bad ||
		       (x.n > INDEX_PATH_QUERIES_MAX && q_pages_exist(ctx, s->files))))
		r = 1;
	for (size_t i = 0; r == 0 && i < x.n; i++) {
		bson_t fq;

		bson_copy_to(base, &fq);
		BSON_APPEND_UTF8(&fq, SCHEMA_F_PATH, x.v[i]);
		r = q_each(ctx, s->files, &fq, NULL, fdoc_take, &docs);
		bson_destroy(&fq);
	}
	if (r == 0)
		r = fdocs_print(s, &docs);
	fdocs_free(&docs);
	for (size_t i = 0; i < x.n; i++)
		free(x.v[i]);
	free(x.v);
	return r;
}

static int side_take(struct qctx *ctx, const bson_t *d, void *data)
{
	struct search *s = data;
	const char *h = doc_str(d, SCHEMA_F_HOST_PATH);

	(void)ctx;
	if (h && !is_side(s, h) && s->nsides < HOST_SIDES_MAX) {
		char *c = strdup(h);

		if (!c)
			return -ENOMEM;
		s->sides[s->nsides++] = c;
	}
	return 0;
}

/* issue 28: the exact path's host paths (a bind source, the merged path), then the query
 * {$or: [{path: P}, {path: {$in: sides}}, {host_path: {$in: sides}}]}: a container's access
 * and a host process's access of the same file, whichever name was given. */
static int path_sides(struct search *s, bson_t *q)
{
	const char *p = s->ctx->args->path;
	bson_t pq = BSON_INITIALIZER, arr, el, in;
	char ik[16];
	const char *ikp;
	int r;

	s->sides[0] = strdup(p);
	if (!s->sides[0])
		return -ENOMEM;
	s->nsides = 1;
	BSON_APPEND_UTF8(&pq, SCHEMA_F_PATH, p);
	r = q_each(s->ctx, s->files, &pq, NULL, side_take, s);
	bson_destroy(&pq);
	if (r < 0)
		return r;
	BSON_APPEND_ARRAY_BEGIN(q, "$or", &arr);
	for (int k = 0; k < 2; k++) {
		bson_uint32_to_string((uint32_t)k, &ikp, ik, sizeof(ik));
		BSON_APPEND_DOCUMENT_BEGIN(&arr, ikp, &el);
		BSON_APPEND_DOCUMENT_BEGIN(&el, k ? SCHEMA_F_HOST_PATH : SCHEMA_F_PATH, &in);
		{
			bson_t v;

			BSON_APPEND_ARRAY_BEGIN(&in, "$in", &v);
			for (size_t i = 0; i < s->nsides; i++) {
				bson_uint32_to_string((uint32_t)i, &ikp, ik, sizeof(ik));
				BSON_APPEND_UTF8(&v, ikp, s->sides[i]);
			}
			bson_append_array_end(&in, &v);
		}
		bson_append_document_end(&el, &in);
		bson_append_document_end(&arr, &el);
	}
	bson_append_array_end(q, &arr);
	return 0;
}

static void sides_free(struct search *s)
{
	for (size_t i = 0; i < s->nsides; i++)
		free(s->sides[i]);
	s->nsides = 0;
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
	if (r == 0)
		r = pidx_load(s);
	if (r < 0)
		return r;
	if (a->format == QFMT_TEXT)
		fprintf(ctx->out, "%ssession %s (times %s)%s\n", term_sgr(ctx->color, TS_BOLD),
			s->hex, a->utc ? "UTC" : "local", term_sgr(ctx->color, TS_RESET));
	if (a->container && strlen(a->container) == 64)
		BSON_APPEND_UTF8(&q, SCHEMA_F_CONTAINER, a->container);
	if (files) {
		if (a->path)
			r = path_sides(s, &q);
		if (r < 0) {
			bson_destroy(&q);
			sides_free(s);
			return r;
		}
		if (a->written)
			BSON_APPEND_BOOL(&q, "write", true);
		r = a->path || !(a->path_prefix || a->path_glob) ? 1 : files_by_index(s, &q);
		if (r == 1)
			r = files_by_query(s, &q);
	} else {
		if (a->pid >= 0)
			BSON_APPEND_INT64(&q, SCHEMA_F_TGID, a->pid);
		r = a->pid >= 0 || !(a->exe || a->argv_sub) || !s->pidx ? 1 : procs_by_index(s);
		if (r == 1)
			r = q_each(ctx, s->procs, &q, NULL, proc_hit, s);
		if (r == 0)
			phits_print(s);
		s->nphits = 0;
	}
	bson_destroy(&q);
	sides_free(s);
	cache_free(s);
	pidx_free(s->pidx);
	s->pidx = NULL;
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
	free(s->phits);
	free(s);
	return r;
}
