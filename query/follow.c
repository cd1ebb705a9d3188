/* follow.c — `timeline --follow` and `search --follow`: new lines as the listener records
 * them, for the current session, with process and container context, until Ctrl-C. Reads
 * only the raw streams (events, proc_events): no filter run needed.
 *
 * New documents come from segwalk.c (issue 33): the session's segments by link number as
 * the listener stores them, one indexed lookup per segment of up to a thousand documents;
 * a named container (timeline --follow CONTAINER, search --follow --container C) is a
 * filter on that walk. Process context (container, argv, parent) is kept per pid from
 * fork/exec and, for pids first seen mid-way, looked up once in the segments that hold
 * that pid.
 *
 * Owns its pid table and the lookups' documents. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <dirent.h>
#include <string.h>
#include <time.h>

#include "query.h"
#include "raw.h"
#include "schema.h"
#include "segwalk.h"
#include "store.h"
#include "term.h"
#include "when.h"

#define FOLLOW_IDLE_MS 200  /* poll period when nothing new */
#define PID_BUCKETS 4096
#define CHAIN_MAX 32

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

struct fproc {
	struct fproc *next;
	int64_t pid, ppid;
	char *container; /* NULL: host */
	char *label;     /* argv of the last exec, or comm */
	char *exe;
	bool looked_up;
};

struct follow {
	struct qctx *ctx;
	struct segwalk *walk;
	char hex[25];
	int64_t shown;
	const char *container; /* timeline --follow CONTAINER (prefix or "host") */
	char cid[65];          /* the full id: container mode (polls by container) */
	bool search;
	struct fproc *pids[PID_BUCKETS];
};

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL); /* a signal ends it early: stop_flag is checked after */
}

/* ---- pid table ---- */

static struct fproc *pid_get(struct follow *f, int64_t pid, bool create)
{
	struct fproc **b = &f->pids[(uint64_t)pid % PID_BUCKETS], *p;

	for (p = *b; p; p = p->next)
		if (p->pid == pid)
			return p;
	if (!create)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	p->ppid = -1;
	p->next = *b;
	*b = p;
	return p;
}

static void set_str(char **dst, const char *s)
{
	char *n;

	if (!s)
		return;
	n = strdup(s);
	if (!n)
		return;
	free(*dst);
	*dst = n;
}

static void set_container(struct fproc *p, const bson_t *d)
{
	bson_iter_t it;

	if (!bson_iter_init_find(&it, d, SCHEMA_F_CONTAINER))
		return;
	if (BSON_ITER_HOLDS_UTF8(&it))
		set_str(&p->container, bson_iter_utf8(&it, NULL));
	else if (BSON_ITER_HOLDS_NULL(&it)) {
		free(p->container);
		p->container = NULL;
	}
}

static void set_argv_label(struct fproc *p, const bson_t *d)
{
	const char **argv = NULL;
	char buf[2048];
	int n = doc_strv(d, SCHEMA_F_ARGV, &argv);

	if (n > 0) {
		fmt_argv(argv, (size_t)n, buf, sizeof(buf));
		set_str(&p->label, buf);
	}
	free(argv);
}

/* What the store knows of a pid first seen mid-way: its latest exec (proc_events) or the
 * snapshot, one indexed {session, pid} equality each. */
static int ctx_lookup(struct qctx *ctx, const bson_t *d, void *data)
{
	struct fproc *p = data;
	const char *what = doc_str(d, SCHEMA_F_WHAT);

	(void)ctx;
	if (what && strcmp(what, "exec"))
		return 0;
	set_container(p, d);
	set_argv_label(p, d);
	set_str(&p->exe, doc_str(d, "exe"));
	if (doc_int(d, SCHEMA_F_PPID, -1) >= 0)
		p->ppid = doc_int(d, SCHEMA_F_PPID, -1);
	return 0;
}

static struct fproc *pid_known(struct follow *f, int64_t pid)
{
	struct fproc *p = pid_get(f, pid, true);
	bson_t q = BSON_INITIALIZER;

	if (!p || p->looked_up)
		return p;
	p->looked_up = true;
	BSON_APPEND_OID(&q, SCHEMA_F_SESSION, &f->ctx->session);
	BSON_APPEND_INT64(&q, SCHEMA_F_PID, pid);
	if (q_each(f->ctx, SCHEMA_SNAPSHOT, &q, NULL, ctx_lookup, p) == 0)
		q_each(f->ctx, SCHEMA_PROC_EVENTS, &q, NULL, ctx_lookup, p);
	f->ctx->err[0] = '\0'; /* context is best effort */
	bson_destroy(&q);
	return p;
}

static void pid_free_all(struct follow *f)
{
	for (size_t i = 0; i < PID_BUCKETS; i++) {
		struct fproc *p = f->pids[i], *n;

		for (; p; p = n) {
			n = p->next;
			free(p->container);
			free(p->label);
			free(p->exe);
			free(p);
		}
	}
}

/* ---- what to print ---- */

static bool flag_has(const bson_t *d, const char *flag)
{
	const char **v = NULL;
	int n = doc_strv(d, "flags", &v);
	bool found = false;

	for (int i = 0; i < n && !found; i++)
		found = v[i] && !strcmp(v[i], flag);
	free(v);
	return found;
}

static bool opened_for_write(const bson_t *d)
{
	const char *sc = doc_str(d, SCHEMA_F_SYSCALL);

	return (sc && !strcmp(sc, "creat")) || flag_has(d, "O_WRONLY") || flag_has(d, "O_RDWR") ||
	       flag_has(d, "O_CREAT") || flag_has(d, "O_TRUNC");
}

static bool is_open(const char *sc)
{
	return sc && (!strcmp(sc, "open") || !strcmp(sc, "openat") || !strcmp(sc, "openat2") ||
		      !strcmp(sc, "creat"));
}

/* Does the audit event match search's options (the ones a raw event can answer)? */
static bool search_match(struct follow *f, const bson_t *d, const struct fproc *p)
{
	const struct qargs *a = f->ctx->args;
	const char *sc = doc_str(d, SCHEMA_F_SYSCALL);
	char det[8192];
	bool execve = sc && !strncmp(sc, "execve", 6);

	if (a->pid >= 0 && doc_int(d, SCHEMA_F_PID, -1) != a->pid)
		return false;
	if (a->uid >= 0 && doc_int(d, "uid", -1) != a->uid)
		return false;
	if (a->path || a->path_prefix || a->path_glob || a->written) {
		if (!is_open(sc) && !(sc && (!strncmp(sc, "rename", 6) || !strncmp(sc, "unlink", 6))))
			return false;
		if (a->written && !(is_open(sc) && opened_for_write(d)))
			return false;
		if (!raw_paths_match(d, a))
			return false;
	}
	if (a->exe && !(execve && doc_str(d, "exe") && !strcmp(doc_str(d, "exe"), a->exe)))
		return false;
	if (a->argv_sub) {
		if (!execve)
			return false;
		raw_detail(d, det, sizeof(det));
		if (!strstr(det, a->argv_sub))
			return false;
	}
	(void)p;
	return true;
}

/* "2794 sh -c '…' ← 1203 containerd-shim ← 1": the parents known, nearest first. */
static void chain_text(struct follow *f, const struct fproc *p, char *buf, size_t len)
{
	size_t pos = 0;
	int n = 0;

	buf[0] = '\0';
	for (int64_t pp = p->ppid; pp > 0 && n < CHAIN_MAX && pos < len; n++) {
		struct fproc *q = pid_known(f, pp);

		/* a container's chain ends at its init or docker-exec entry: their parents are
		 * the runtime's, on the host */
		if (!q || (p->container && (!q->container || strcmp(q->container, p->container))))
			break;
		pos += (size_t)snprintf(buf + pos, len - pos, " <- %lld %s", (long long)pp,
					q->label ? q->label : "?");
		if (pp == 1 || q->ppid == pp)
			break;
		pp = q->ppid;
	}
}

static void print_line(struct follow *f, int64_t ts, const struct fproc *p, const char *what,
		       const char *detail, const bson_t *d)
{
	struct qctx *ctx = f->ctx;
	char tbuf[40], cl[16], line[10000], chain[2048];

	f->shown++;
	if (ctx->args->format == QFMT_JSON) {
		bson_t j = BSON_INITIALIZER;

		BSON_APPEND_DATE_TIME(&j, "ts", ts);
		BSON_APPEND_UTF8(&j, "what", what);
		BSON_APPEND_INT64(&j, "pid", p->pid);
		if (p->container)
			BSON_APPEND_UTF8(&j, "container", p->container);
		else
			BSON_APPEND_NULL(&j, "container");
		BSON_APPEND_UTF8(&j, "detail", detail);
		if (p->label)
			BSON_APPEND_UTF8(&j, "process", p->label);
		if (p->ppid >= 0)
			BSON_APPEND_INT64(&j, "ppid", p->ppid);
		if (d)
			BSON_APPEND_DOCUMENT(&j, "raw", d);
		doc_print_json(ctx, &j);
		bson_destroy(&j);
		fflush(ctx->out);
		return;
	}
	fmt_time(ts, ctx->args->utc, false, tbuf, sizeof(tbuf));
	raw_container_label(p->container, cl, sizeof(cl));
	snprintf(line, sizeof(line), "%s %s%-12s%s %7lld %-10s %s  %s(%s)%s", tbuf,
		 term_sgr(ctx->color, p->container ? TS_CYAN : TS_DIM), cl,
		 term_sgr(ctx->color, TS_RESET), (long long)p->pid, what, detail,
		 term_sgr(ctx->color, TS_DIM), p->label ? p->label : "?",
		 term_sgr(ctx->color, TS_RESET));
	if (!ctx->color) /* escape sequences would be counted as columns: coloured lines wrap */
		fmt_fit(line, (size_t)ctx->args->width);
	fprintf(ctx->out, "%s\n", line);
	if (f->search) {
		chain_text(f, p, chain, sizeof(chain));
		if (chain[0]) {
			snprintf(line, sizeof(line), "             %*s%s", 12, "", chain);
			if (!ctx->color)
				fmt_fit(line, (size_t)ctx->args->width);
			fprintf(ctx->out, "%s\n", line);
		}
	}
	fflush(ctx->out);
}

static bool want_container(struct follow *f, const struct fproc *p)
{
	return raw_container_match(p->container, f->container);
}

static void on_proc_event(struct follow *f, const bson_t *d)
{
	const char *what = doc_str(d, SCHEMA_F_WHAT);
	int64_t ts = doc_date(d, SCHEMA_F_TS);
	struct fproc *p, *parent;
	char det[2100];

	if (!what)
		return;
	if (!strcmp(what, "fork")) {
		int64_t child = doc_int(d, "child_tgid", -1), par = doc_int(d, "parent_tgid", -1);

		if (doc_bool(d, "thread") || child < 0)
			return;
		parent = pid_known(f, par);
		p = pid_get(f, child, true);
		if (!p || !parent)
			return;
		p->looked_up = true;
		p->ppid = par;
		free(p->container);
		p->container = parent->container ? strdup(parent->container) : NULL;
		free(p->label);
		p->label = parent->label ? strdup(parent->label) : NULL;
		if (f->search || !want_container(f, p))
			return;
		snprintf(det, sizeof(det), "parent %lld", (long long)par);
		print_line(f, ts, p, "fork", det, NULL);
	} else if (!strcmp(what, "exec")) {
		p = pid_get(f, doc_int(d, SCHEMA_F_TGID, -1), true);
		if (!p)
			return;
		p->looked_up = true;
		set_container(p, d);
		set_argv_label(p, d);
		set_str(&p->exe, doc_str(d, "exe"));
		if (doc_int(d, SCHEMA_F_PPID, -1) > 0)
			p->ppid = doc_int(d, SCHEMA_F_PPID, -1);
		/* the exec line comes from the audit execve (exact argv); this is context */
	} else if (!strcmp(what, "exit")) {
		int64_t pid = doc_int(d, SCHEMA_F_PID, -1);

		if (pid != doc_int(d, SCHEMA_F_TGID, -1))
			return; /* a thread */
		p = pid_known(f, pid);
		if (!p || f->search || !want_container(f, p))
			return;
		if (doc_int(d, "signal", 0) > 0)
			snprintf(det, sizeof(det), "killed by signal %lld",
				 (long long)doc_int(d, "signal", 0));
		else
			snprintf(det, sizeof(det), "code %lld", (long long)doc_int(d, "exit_code", -1));
		print_line(f, ts, p, "exit", det, NULL);
	}
}

static void on_event(struct follow *f, const bson_t *d)
{
	const char *sc = doc_str(d, SCHEMA_F_SYSCALL), *what = NULL;
	int64_t pid = doc_int(d, SCHEMA_F_PID, -1);
	struct fproc *p;
	char det[8192], res[96];
	bool ok = doc_bool(d, "success");

	if (!sc || pid < 0)
		return;
	/* noise for a live view: data and fd bookkeeping, and what proc events already say */
	if (!strcmp(sc, "write") || !strcmp(sc, "close") || !strncmp(sc, "clone", 5) ||
	    !strcmp(sc, "fork") || !strcmp(sc, "vfork") ||
	    !strcmp(sc, "exit_group"))
		return;
	p = pid_known(f, pid);
	if (!p)
		return;
	set_container(p, d);
	if (doc_int(d, SCHEMA_F_PPID, -1) > 0)
		p->ppid = doc_int(d, SCHEMA_F_PPID, -1);
	if (!strncmp(sc, "execve", 6) && ok) {
		set_argv_label(p, d);
		set_str(&p->exe, doc_str(d, "exe"));
	}
	if (!p->label && doc_str(d, "comm")) {
		char c[64];

		snprintf(c, sizeof(c), "{%s}", doc_str(d, "comm"));
		set_str(&p->label, c);
	}
	if (!want_container(f, p))
		return;
	if (f->search && !search_match(f, d, p))
		return;
	raw_detail(d, det, sizeof(det));
	if (!strncmp(sc, "execve", 6))
		what = ok ? "exec" : "exec-fail";
	else if (is_open(sc))
		what = !ok ? "open-fail" : opened_for_write(d) ? "write-open" : "open";
	else if (!strncmp(sc, "rename", 6))
		what = "rename";
	else if (!strncmp(sc, "unlink", 6))
		what = "unlink";
	if (what && (!strcmp(what, "open-fail") || !strcmp(what, "exec-fail"))) {
		size_t l = strlen(det);

		snprintf(det + l, sizeof(det) - l, " (%s)", raw_result(d, res, sizeof(res)));
	}
	if (!what) {
		raw_result(d, res, sizeof(res));
		print_line(f, doc_date(d, SCHEMA_F_TS), p, sc, det[0] ? det : res, d);
		return;
	}
	print_line(f, doc_date(d, SCHEMA_F_TS), p, what, det,
		   f->ctx->args->format == QFMT_JSON ? d : NULL);
}

static void walk_doc(void *data, int coll, const bson_t *d)
{
	if (coll == SEGWALK_EVENTS)
		on_event(data, d);
	else if (coll == SEGWALK_PROC_EVENTS)
		on_proc_event(data, d);
}

/* ---- container mode: timeline --follow CONTAINER, search --follow --container C ---- */

/* The full id of a container prefix, from docker's own directory on this host (the session
 * may be unfiltered, and the raw documents are only searchable by the full id). */
static int full_container_id(const char *prefix, char ret[65])
{
	const char *root = getenv("LINEAGE_DOCKER_ROOT");
	char dir[512];
	DIR *d;
	struct dirent *e;
	int n = 0;

	if (strlen(prefix) == 64) {
		snprintf(ret, 65, "%s", prefix);
		return 0;
	}
	snprintf(dir, sizeof(dir), "%s/containers", root && *root ? root : "/var/lib/docker");
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (strlen(e->d_name) == 64 && !strncmp(e->d_name, prefix, strlen(prefix))) {
			snprintf(ret, 65, "%s", e->d_name);
			n++;
		}
	}
	closedir(d);
	return n == 1 ? 0 : n ? -ENOTUNIQ : -ENOENT;
}

static int session_end(struct qctx *ctx, const bson_t *d, void *data)
{
	(void)ctx;
	*(int64_t *)data = doc_date(d, SCHEMA_F_ENDED_AT);
	return 0;
}

int cmd_follow(struct qctx *ctx)
{
	const struct qargs *a = ctx->args;
	struct follow *f = calloc(1, sizeof(*f));
	struct sigaction sa = { .sa_handler = on_signal };
	int64_t last = 0;
	int r;

	if (!f)
		return -ENOMEM;
	f->ctx = ctx;
	f->search = a->cmd == QCMD_SEARCH;
	f->container = f->search ? a->container : (a->noperands ? a->operand[0] : NULL);
	bson_oid_to_string(&ctx->session, f->hex);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (f->container && strcmp(f->container, "host")) {
		r = full_container_id(f->container, f->cid);
		if (r < 0) {
			snprintf(ctx->err, sizeof(ctx->err), "container '%s' %s on this host",
				 f->container, r == -ENOTUNIQ ? "is ambiguous" : "not found");
			ctx->status = QEXIT_NOT_FOUND;
			goto out;
		}
	}
	{
		bson_t q = BSON_INITIALIZER;
		int64_t ended = FMT_NO_TIME;
		char tb[40];

		BSON_APPEND_OID(&q, SCHEMA_F_ID, &ctx->session);
		r = q_each(ctx, SCHEMA_SESSIONS, &q, NULL, session_end, &ended);
		bson_destroy(&q);
		if (r < 0)
			goto out;
		if (ended != FMT_NO_TIME)
			fprintf(stderr, "lineage-query: session %s ended at %s: no listener records "
				"into it now (start one, or follow --session of a running one)\n",
				f->hex, fmt_time(ended, a->utc, true, tb, sizeof(tb)));
	}
	r = segwalk_new(ctx, &stop_flag, &f->walk, &last);
	if (r < 0)
		goto out;
	fprintf(stderr, "lineage-query: following session %s from seq %lld (Ctrl-C to stop)\n",
		f->hex, (long long)last + 1);
	if (a->format == QFMT_TEXT)
		fprintf(ctx->out, "%s%-12s %-12s %7s %-10s %s%s\n", term_sgr(ctx->color, TS_BOLD),
			"TIME", "CONTAINER", "PID", "WHAT", "DETAIL  (process)",
			term_sgr(ctx->color, TS_RESET));
	fflush(ctx->out);
	while (!stop_flag) {
		r = segwalk_drain(f->walk, walk_doc, f);
		if (r < 0)
			goto out;
		if (r > 0)
			continue;
		r = segwalk_idle(f->walk);
		if (r < 0)
			goto out;
		sleep_ms(FOLLOW_IDLE_MS);
	}
	r = 0;
	fprintf(stderr, "lineage-query: stopped after seq %lld: %lld line(s)%s",
		(long long)segwalk_next(f->walk) - 1, (long long)f->shown,
		segwalk_skipped(f->walk) ? "," : "\n");
	if (segwalk_skipped(f->walk))
		fprintf(stderr, " %lld segment(s) never arrived (skipped)\n",
			(long long)segwalk_skipped(f->walk));
out:
	segwalk_free(f->walk);
	pid_free_all(f);
	free(f);
	return r;
}
