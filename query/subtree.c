/* subtree.c — the process set of a view (see subtree.h): read through q_each (the filter's
 * pages when the run wrote them), linked by parent key, container CLIs linked to the
 * container entries they started, and the view picked breadth first from its roots.
 *
 * A `docker run` does not fork its container: dockerd asks containerd, whose shim starts
 * runc, so the container's init has the shim's runc for parent and the CLI has no child.
 * The link CLI → entry is made from what was recorded: the CLI's subcommand (run, create,
 * start: the container's init; exec: an exec entry), an argv word equal to the container's
 * image, name (--name) or id prefix, and the entry starting while the CLI ran (up to
 * CLI_SLACK_MS after its exit). Several candidates: the latest-started CLI. Owns the copies
 * of the documents it read (struct qsub). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"
#include "subtree.h"

#define CLI_SLACK_MS 500

bool qsub_is_host(const char *arg)
{
	return arg && !strcmp(arg, "host");
}

void qsub_release(struct qsub *s)
{
	for (size_t i = 0; i < s->n; i++)
		bson_destroy(s->p[i].doc);
	for (size_t i = 0; i < s->nconts; i++) {
		free(s->conts[i].id);
		free(s->conts[i].name);
		free(s->conts[i].image);
	}
	free(s->p);
	free(s->first);
	free(s->kids);
	free(s->by_key);
	free(s->conts);
	free(s->roots);
	memset(s, 0, sizeof(*s));
}

static int add_proc(struct qctx *ctx, const bson_t *d, void *data)
{
	struct qsub *s = data;
	struct qsub_proc *np, *p;

	(void)ctx;
	if (!doc_str(d, SCHEMA_F_PROC_KEY))
		return 0;
	np = realloc(s->p, (s->n + 1) * sizeof(*np));
	if (!np)
		return -ENOMEM;
	s->p = np;
	p = &s->p[s->n];
	p->doc = bson_copy(d);
	if (!p->doc)
		return -ENOMEM;
	p->key = doc_str(p->doc, SCHEMA_F_PROC_KEY);
	p->parent = doc_str(p->doc, "parent");
	p->container = doc_str(p->doc, SCHEMA_F_CONTAINER);
	p->entry = doc_str(p->doc, "entry");
	p->tgid = doc_int(p->doc, SCHEMA_F_TGID, 0);
	p->start = doc_date(p->doc, "start");
	p->exit = doc_date(p->doc, "exit");
	p->helper = doc_bool(p->doc, "runtime_helper");
	p->parent_idx = p->via = p->cont = p->depth = -1;
	s->n++;
	return 0;
}

static int add_cont(struct qctx *ctx, const bson_t *d, void *data)
{
	struct qsub *s = data;
	struct qsub_cont *nc, *c;
	const char *id = doc_str(d, SCHEMA_F_CONTAINER);

	(void)ctx;
	if (!id)
		return 0;
	nc = realloc(s->conts, (s->nconts + 1) * sizeof(*nc));
	if (!nc)
		return -ENOMEM;
	s->conts = nc;
	c = &s->conts[s->nconts++];
	c->id = strdup(id);
	c->name = doc_str(d, "name") ? strdup(doc_str(d, "name")) : NULL;
	c->image = doc_str(d, "image") ? strdup(doc_str(d, "image")) : NULL;
	c->processes = doc_int(d, "processes", 0);
	return c->id ? 0 : -ENOMEM;
}

static const struct qsub *g_s; /* qsort/bsearch have no context argument */

static int cmp_key_idx(const void *a, const void *b)
{
	return strcmp(g_s->p[*(const size_t *)a].key, g_s->p[*(const size_t *)b].key);
}

static int cmp_key_find(const void *key, const void *b)
{
	return strcmp(key, g_s->p[*(const size_t *)b].key);
}

static int cmp_cont(const void *a, const void *b)
{
	return strcmp(((const struct qsub_cont *)a)->id, ((const struct qsub_cont *)b)->id);
}

const struct qsub_proc *qsub_find(const struct qsub *s, const char *key)
{
	const size_t *hit;

	if (!key || !s->n)
		return NULL;
	g_s = s;
	hit = bsearch(key, s->by_key, s->n, sizeof(*s->by_key), cmp_key_find);
	return hit ? &s->p[*hit] : NULL;
}

bool qsub_in(const struct qsub *s, const char *key)
{
	const struct qsub_proc *p = qsub_find(s, key);

	return p && p->depth >= 0;
}

bool qsub_pid_in(const struct qsub *s, int64_t pid, int64_t ts)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct qsub_proc *p = &s->p[i];

		if (p->tgid == pid && p->depth >= 0 && (p->start == FMT_NO_TIME || p->start <= ts) &&
		    (p->exit == FMT_NO_TIME || ts <= p->exit))
			return true;
	}
	return false;
}

size_t qsub_file_scopes(const struct qsub *s, const char **out, size_t max)
{
	size_t n = 0;
	bool host = false;

	for (size_t i = 0; i < s->n; i++)
		if (s->p[i].depth >= 0 && (!s->p[i].container || s->p[i].helper))
			host = true; /* the runtime's helpers' files are on the host's pages */
	if (host && n < max)
		out[n++] = NULL;
	for (size_t c = 0; c < s->nconts && n < max; c++) {
		bool any = false;

		for (size_t i = 0; i < s->n && !any; i++)
			any = s->p[i].depth >= 0 && s->p[i].cont == (int)c && !s->p[i].helper;
		if (any)
			out[n++] = s->conts[c].id;
	}
	return n;
}

void qsub_cont_label(const struct qsub *s, int cont, char *buf, size_t len)
{
	const struct qsub_cont *c = cont >= 0 ? &s->conts[cont] : NULL;

	if (!c) {
		snprintf(buf, len, "[container ?]");
		return;
	}
	snprintf(buf, len, "[container %.12s%s%s%s%s] %lld processes", c->id, c->name ? " " : "",
		 c->name ? c->name : "", c->image ? " " : "", c->image ? c->image : "",
		 (long long)c->processes);
}

/* The basename of the last exec's exe or argv[0] with an exec of p, into buf. */
static const char *exe_name(const struct qsub_proc *p, char *buf, size_t len)
{
	bson_iter_t it, arr;
	const char *name = NULL;

	if (bson_iter_init_find(&it, p->doc, "execs") && BSON_ITER_HOLDS_ARRAY(&it) &&
	    bson_iter_recurse(&it, &arr))
		while (bson_iter_next(&arr)) {
			const uint8_t *d;
			uint32_t dl;
			bson_t ex;

			if (!BSON_ITER_HOLDS_DOCUMENT(&arr))
				continue;
			bson_iter_document(&arr, &dl, &d);
			if (bson_init_static(&ex, d, dl) && doc_str(&ex, "exe"))
				name = doc_str(&ex, "exe");
		}
	if (!name)
		name = doc_str(p->doc, "comm") ? doc_str(p->doc, "comm") : "?";
	snprintf(buf, len, "%s", strrchr(name, '/') ? strrchr(name, '/') + 1 : name);
	return buf;
}

void qsub_runtime_path(const struct qsub *s, size_t idx, char *buf, size_t len)
{
	int chain[3], n = 0;
	size_t pos = 0;
	char name[256];

	buf[0] = '\0';
	/* up from the entry past the runtime's helpers to the first host processes (runc, shim) */
	for (int i = s->p[idx].parent_idx, guard = 0; i >= 0 && guard < 64 && n < 3;
	     i = s->p[i].parent_idx, guard++) {
		if (s->p[i].container && !s->p[i].helper)
			break;
		if (!s->p[i].container)
			chain[n++] = i;
	}
	while (n-- > 0 && pos < len)
		pos += (size_t)snprintf(buf + pos, len - pos, "%s%s %lld", pos ? " \xe2\x86\x92 " : "",
					exe_name(&s->p[chain[n]], name, sizeof(name)),
					(long long)s->p[chain[n]].tgid);
}

/* --- container CLIs ------------------------------------------------------------------------ */

enum cli_cmd { CLI_NONE, CLI_RUN, CLI_START, CLI_EXEC };

struct cli {
	size_t idx;
	enum cli_cmd cmd;
	const char **argv; /* into the process document; free(argv) only */
	int argc, first;   /* first: the word after the subcommand */
};

/* The argv of the last exec of p whose argv[0] is a container CLI, with its subcommand. */
static int cli_of(const struct qsub_proc *p, struct cli *ret)
{
	static const char *const clis[] = { "docker", "podman", "nerdctl" };
	bson_iter_t it, arr;
	int r = 0;

	ret->cmd = CLI_NONE;
	ret->argv = NULL;
	if (!bson_iter_init_find(&it, p->doc, "execs") || !BSON_ITER_HOLDS_ARRAY(&it) ||
	    !bson_iter_recurse(&it, &arr))
		return 0;
	while (bson_iter_next(&arr)) {
		const uint8_t *d;
		uint32_t dl;
		const char **argv = NULL, *base;
		bool cli = false;
		bson_t ex;
		int n;

		if (!BSON_ITER_HOLDS_DOCUMENT(&arr))
			continue;
		bson_iter_document(&arr, &dl, &d);
		if (!bson_init_static(&ex, d, dl))
			continue;
		n = doc_strv(&ex, "argv", &argv);
		if (n < 0)
			return n;
		base = n > 0 && argv[0] ? (strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0]) : "";
		for (size_t k = 0; k < sizeof(clis) / sizeof(clis[0]); k++)
			cli |= !strcmp(base, clis[k]);
		for (int i = 1; cli && i < n; i++) {
			const char *w = argv[i];

			if (!w)
				continue;
			if (w[0] == '-') { /* global options with a value */
				if (!strcmp(w, "-H") || !strcmp(w, "--host") || !strcmp(w, "-c") ||
				    !strcmp(w, "--context") || !strcmp(w, "--config") ||
				    !strcmp(w, "-l") || !strcmp(w, "--log-level"))
					i++;
				continue;
			}
			if (!strcmp(w, "container"))
				continue; /* docker container run … */
			ret->cmd = !strcmp(w, "run") || !strcmp(w, "create") ? CLI_RUN :
				   !strcmp(w, "start") ? CLI_START : !strcmp(w, "exec") ? CLI_EXEC :
				   CLI_NONE;
			ret->first = i + 1;
			break;
		}
		if (ret->cmd != CLI_NONE) {
			free(ret->argv);
			ret->argv = argv;
			ret->argc = n;
			r = 1;
			continue; /* the last such exec wins */
		}
		free(argv);
	}
	return r;
}

static bool hex_prefix(const char *w, const char *id)
{
	size_t n = strlen(w);

	if (n < 3 || n > 64 || strncmp(w, id, n))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdef", w[i]))
			return false;
	return true;
}

/* Does the CLI's command line name container c (image or name for run; name or id for
 * start and exec)? */
static bool cli_names(const struct cli *k, const struct qsub_cont *c)
{
	for (int i = k->first; i < k->argc; i++) {
		const char *w = k->argv[i];

		if (!w)
			continue;
		if (c->name && (!strcmp(w, c->name) ||
				(!strncmp(w, "--name=", 7) && !strcmp(w + 7, c->name))))
			return true;
		if (k->cmd == CLI_RUN && c->image) {
			size_t n = strlen(w);

			/* lineage-busybox names lineage-busybox:latest */
			if (!strcmp(w, c->image) ||
			    (!strncmp(c->image, w, n) && !strcmp(c->image + n, ":latest")))
				return true;
		} else if (hex_prefix(w, c->id)) {
			return true;
		}
	}
	return false;
}

static int link_clis(struct qsub *s)
{
	struct cli *v = NULL;
	size_t n = 0;
	int r = 0;

	for (size_t i = 0; i < s->n && r >= 0; i++) {
		struct cli k = { .idx = i };
		struct cli *nv;

		if (s->p[i].container && !s->p[i].helper)
			continue; /* a CLI in a container talks to the host's daemon rarely */
		r = cli_of(&s->p[i], &k);
		if (r <= 0)
			continue;
		nv = realloc(v, (n + 1) * sizeof(*nv));
		if (!nv) {
			free(k.argv);
			r = -ENOMEM;
			break;
		}
		v = nv;
		v[n++] = k;
	}
	for (size_t e = 0; r >= 0 && e < s->n; e++) {
		struct qsub_proc *p = &s->p[e];
		int best = -1;

		if (!p->container || p->helper || p->cont < 0 || !p->entry || p->start == FMT_NO_TIME)
			continue;
		for (size_t k = 0; k < n; k++) {
			const struct qsub_proc *c = &s->p[v[k].idx];
			bool init = !strcmp(p->entry, "init");

			if ((v[k].cmd == CLI_EXEC) == init || c->start == FMT_NO_TIME ||
			    p->start < c->start ||
			    (c->exit != FMT_NO_TIME && p->start > c->exit + CLI_SLACK_MS) ||
			    !cli_names(&v[k], &s->conts[p->cont]))
				continue;
			if (best < 0 || c->start > s->p[v[best].idx].start)
				best = (int)k;
		}
		if (best >= 0)
			p->via = (int)v[best].idx;
	}
	for (size_t k = 0; k < n; k++)
		free(v[k].argv);
	free(v);
	return r < 0 ? r : 0;
}

/* --- links and the view ---------------------------------------------------------------------- */

struct edge {
	size_t parent, child;
};

static int cmp_edge(const void *a, const void *b)
{
	const struct edge *x = a, *y = b;
	int64_t sx = g_s->p[x->child].start, sy = g_s->p[y->child].start;

	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	if (sx != sy)
		return sx < sy ? -1 : 1;
	return x->child < y->child ? -1 : x->child > y->child;
}

static int link_all(struct qsub *s)
{
	struct edge *e = malloc((2 * s->n + 1) * sizeof(*e));
	size_t ne = 0;

	s->by_key = malloc((s->n + 1) * sizeof(*s->by_key));
	s->first = calloc(s->n + 2, sizeof(*s->first));
	s->kids = malloc((2 * s->n + 1) * sizeof(*s->kids));
	if (!e || !s->by_key || !s->first || !s->kids) {
		free(e);
		return -ENOMEM;
	}
	g_s = s;
	for (size_t i = 0; i < s->n; i++)
		s->by_key[i] = i;
	qsort(s->by_key, s->n, sizeof(*s->by_key), cmp_key_idx);
	qsort(s->conts, s->nconts, sizeof(*s->conts), cmp_cont);
	for (size_t i = 0; i < s->n; i++) {
		struct qsub_proc *p = &s->p[i];
		const struct qsub_proc *par = qsub_find(s, p->parent);

		p->parent_idx = par ? (int)(par - s->p) : -1;
		if (p->container) {
			struct qsub_cont key = { .id = (char *)p->container };
			const struct qsub_cont *c = bsearch(&key, s->conts, s->nconts, sizeof(key),
							    cmp_cont);

			p->cont = c ? (int)(c - s->conts) : -1;
		}
	}
	if (link_clis(s) < 0) {
		free(e);
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->n; i++) {
		if (s->p[i].parent_idx >= 0)
			e[ne++] = (struct edge){ (size_t)s->p[i].parent_idx, i };
		if (s->p[i].via >= 0)
			e[ne++] = (struct edge){ (size_t)s->p[i].via, i };
	}
	g_s = s;
	qsort(e, ne, sizeof(*e), cmp_edge);
	for (size_t k = 0; k < ne; k++) {
		s->first[e[k].parent + 1]++;
		s->kids[k] = e[k].child;
	}
	for (size_t i = 0; i < s->n; i++)
		s->first[i + 1] += s->first[i];
	free(e);
	return 0;
}

/* Is child a step of the view from parent? Host view without a selector: host processes
 * only (containers and the runtime's helpers are leaves the tree prints collapsed);
 * a container: its own processes but the runtime's; a selected subtree: everything below,
 * into containers too. */
static bool follows(const struct qsub *s, size_t parent, size_t child)
{
	const struct qsub_proc *c = &s->p[child];

	if (s->view)
		return !c->helper;
	if (s->selector)
		return true;
	return !c->container && c->via != (int)parent;
}

static int bfs(struct qsub *s, int64_t max_depth)
{
	size_t *q = malloc((s->n + 1) * sizeof(*q)), head = 0, tail = 0;

	if (!q)
		return -ENOMEM;
	for (size_t r = 0; r < s->nroots; r++) {
		if (s->p[s->roots[r]].depth >= 0)
			continue; /* below an earlier root (--command matching nested processes) */
		s->p[s->roots[r]].depth = 0;
		q[tail++] = s->roots[r];
		while (head < tail) {
			size_t cur = q[head++];

			if (max_depth >= 0 && s->p[cur].depth >= max_depth)
				continue;
			for (size_t k = s->first[cur]; k < s->first[cur + 1]; k++) {
				size_t ch = s->kids[k];

				if (s->p[ch].depth < 0 && follows(s, cur, ch)) {
					s->p[ch].depth = s->p[cur].depth + 1;
					q[tail++] = ch;
				}
			}
		}
	}
	free(q);
	for (size_t i = 0; i < s->n; i++)
		s->nin += s->p[i].depth >= 0;
	return 0;
}

static int cmp_start_idx(const void *a, const void *b)
{
	int64_t x = g_s->p[*(const size_t *)a].start, y = g_s->p[*(const size_t *)b].start;

	if (x != y)
		return x < y ? -1 : 1;
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

/* Does an exec's command line of p contain text (its words joined by spaces)? */
static bool argv_has(const struct qsub_proc *p, const char *text)
{
	bson_iter_t it, arr;
	char line[8192];

	if (!bson_iter_init_find(&it, p->doc, "execs") || !BSON_ITER_HOLDS_ARRAY(&it) ||
	    !bson_iter_recurse(&it, &arr))
		return false;
	while (bson_iter_next(&arr)) {
		const uint8_t *d;
		uint32_t dl;
		const char **argv = NULL;
		size_t pos = 0;
		bson_t ex;
		int n;

		if (!BSON_ITER_HOLDS_DOCUMENT(&arr))
			continue;
		bson_iter_document(&arr, &dl, &d);
		if (!bson_init_static(&ex, d, dl) || (n = doc_strv(&ex, "argv", &argv)) < 0)
			continue;
		line[0] = '\0';
		for (int i = 0; i < n && pos < sizeof(line); i++)
			pos += (size_t)snprintf(line + pos, sizeof(line) - pos, "%s%s", i ? " " : "",
						argv[i] ? argv[i] : "");
		free(argv);
		if (strstr(line, text))
			return true;
	}
	return false;
}

static int add_root(struct qsub *s, size_t i)
{
	size_t *nr = realloc(s->roots, (s->nroots + 1) * sizeof(*nr));

	if (!nr)
		return -ENOMEM;
	s->roots = nr;
	s->roots[s->nroots++] = i;
	return 0;
}

static void where(const struct qsub *s, char *buf, size_t len)
{
	if (s->view)
		snprintf(buf, len, "container %.12s", s->view);
	else
		snprintf(buf, len, "the session");
}

/* --pid N matched several processes: list them, exit 3. */
static int pid_ambiguous(struct qctx *ctx, const struct qsub *s, int64_t pid)
{
	size_t pos, shown = 0;
	char t0[40], t1[40];

	pos = (size_t)snprintf(ctx->err, sizeof(ctx->err),
			       "pid %lld is ambiguous: several processes had it; give --process KEY:",
			       (long long)pid);
	for (size_t k = 0; k < s->nroots && pos < sizeof(ctx->err); k++) {
		const struct qsub_proc *p = &s->p[s->roots[k]];
		char lab[256];

		if (shown++ == 8) {
			snprintf(ctx->err + pos, sizeof(ctx->err) - pos, "\n  …");
			break;
		}
		lab[0] = '\0';
		if (p->container)
			snprintf(lab, sizeof(lab), " container %.12s", p->container);
		pos += (size_t)snprintf(ctx->err + pos, sizeof(ctx->err) - pos,
					"\n  %-24s start %s exit %s%s", p->key,
					fmt_time(p->start, ctx->args->utc, true, t0, sizeof(t0)),
					fmt_time(p->exit, ctx->args->utc, false, t1, sizeof(t1)), lab);
	}
	ctx->status = QEXIT_NOT_FOUND;
	return -ENOTUNIQ;
}

static int pick_roots(struct qctx *ctx, struct qsub *s)
{
	const struct qargs *a = ctx->args;
	char w[64];
	int r = 0;

	for (size_t i = 0; i < s->n && r == 0; i++) {
		const struct qsub_proc *p = &s->p[i];

		if (a->process)
			r = !strcmp(p->key, a->process) ? add_root(s, i) : 0;
		else if (a->pid >= 0)
			r = p->tgid == a->pid ? add_root(s, i) : 0;
		else if (a->command)
			r = argv_has(p, a->command) ? add_root(s, i) : 0;
		else if (s->view) /* a container's roots: its init and exec'd entries */
			r = !p->helper && (p->parent_idx < 0 || s->p[p->parent_idx].helper ||
					   s->p[p->parent_idx].cont != p->cont) ? add_root(s, i) : 0;
		else /* the host's: no recorded parent (the snapshot's roots) */
			r = !p->container && (p->parent_idx < 0 || s->p[p->parent_idx].container) ?
				    add_root(s, i) : 0;
	}
	if (r < 0)
		return r;
	where(s, w, sizeof(w));
	if (s->selector && !s->nroots) {
		if (a->process)
			snprintf(ctx->err, sizeof(ctx->err), "process '%s' not found in %s", a->process, w);
		else if (a->pid >= 0)
			snprintf(ctx->err, sizeof(ctx->err), "no process with pid %lld in %s",
				 (long long)a->pid, w);
		else
			snprintf(ctx->err, sizeof(ctx->err), "no process of %s ran a command line "
				 "containing '%s'", w, a->command);
		ctx->status = QEXIT_NOT_FOUND;
		return -ENOENT;
	}
	g_s = s;
	qsort(s->roots, s->nroots, sizeof(*s->roots), cmp_start_idx);
	if (a->pid >= 0 && s->nroots > 1)
		return pid_ambiguous(ctx, s, a->pid);
	return 0;
}

int qsub_load(struct qctx *ctx, const char *view, struct qsub *ret)
{
	struct qsub s = { .view = view, .selector = qargs_selects(ctx->args) };
	bson_t filter = BSON_INITIALIZER, sort = BSON_INITIALIZER, proj = BSON_INITIALIZER;
	char pcoll[SCHEMA_OUT_NAME_MAX], ccoll[SCHEMA_OUT_NAME_MAX];
	int r;

	r = q_out_coll(ctx, &ctx->session, SCHEMA_PROCESSES, pcoll);
	if (r == 0)
		r = q_out_coll(ctx, &ctx->session, SCHEMA_CONTAINERS, ccoll);
	if (r < 0)
		goto out;
	/* the host's view is the whole machine: its subtrees go into containers */
	if (view)
		BSON_APPEND_UTF8(&filter, SCHEMA_F_CONTAINER, view);
	BSON_APPEND_INT32(&sort, "start", 1);
	r = q_each(ctx, pcoll, &filter, &sort, add_proc, &s);
	if (r == 0) {
		bson_reinit(&filter);
		BSON_APPEND_INT32(&proj, SCHEMA_F_CONTAINER, 1);
		BSON_APPEND_INT32(&proj, "name", 1);
		BSON_APPEND_INT32(&proj, "image", 1);
		BSON_APPEND_INT32(&proj, "processes", 1);
		r = q_each_proj(ctx, ccoll, &filter, NULL, &proj, add_cont, &s);
	}
	if (r == 0)
		r = link_all(&s);
	if (r == 0)
		r = pick_roots(ctx, &s);
	if (r == 0)
		r = bfs(&s, ctx->args->depth);
	if (r == -ENOMEM) {
		snprintf(ctx->err, sizeof(ctx->err), "out of memory reading the processes");
		ctx->status = QEXIT_DB_ERROR;
	}
out:
	bson_destroy(&filter);
	bson_destroy(&sort);
	bson_destroy(&proj);
	if (r < 0) {
		qsub_release(&s);
		return r;
	}
	*ret = s;
	return 0;
}
