/* tree.c — `lineage-query tree CONTAINER`: the container's processes as a pstree-like
 * indented tree (pid, argv of each distinct exec, start/exit, exit status), `docker exec`
 * subtrees marked; or one processes document per line (json), or a Graphviz digraph (dot).
 * Owns copies of the process documents while it prints them. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"
#include "subtree.h"

struct tproc {
	bson_t *doc;
	const char *key, *parent;
	int64_t start;
	int parent_idx;
	bool printed;
};

struct tlist {
	struct tproc *p;
	size_t n;
	/* children by parent: kids[first[i] .. first[i + 1]) are those of p[i], the roots'
	 * (parent_idx -1) at first[n] .. first[n + 1] (link_tree) */
	size_t *first, *kids;
};

static int add_proc(struct qctx *ctx, const bson_t *d, void *data)
{
	struct tlist *l = data;
	struct tproc *np;

	(void)ctx;
	if (doc_bool(d, "runtime_helper") || !doc_str(d, "key"))
		return 0; /* runc's own helpers are not the container's processes */
	np = realloc(l->p, (l->n + 1) * sizeof(*np));
	if (!np)
		return -ENOMEM;
	l->p = np;
	np = &l->p[l->n];
	np->doc = bson_copy(d);
	np->key = doc_str(np->doc, "key");
	np->parent = doc_str(np->doc, "parent");
	np->start = doc_date(np->doc, "start");
	np->parent_idx = -1;
	np->printed = false;
	l->n++;
	return 0;
}

/* "sh -c '…' ⇒ sleep 3": each distinct exec of the process (the listener records an exec
 * from both audit and the proc connector, so consecutive duplicates are one exec). */
static void label(const bson_t *d, char *buf, size_t len)
{
	bson_iter_t it, arr, x;
	char prev[2048] = "", cur[2048];
	size_t pos = 0;

	buf[0] = '\0';
	if (bson_iter_init_find(&it, d, "execs") && BSON_ITER_HOLDS_ARRAY(&it) &&
	    bson_iter_recurse(&it, &arr)) {
		while (bson_iter_next(&arr)) {
			const uint8_t *data;
			uint32_t dlen;
			const char **argv = NULL;
			bson_t ex;
			int n;

			if (!BSON_ITER_HOLDS_DOCUMENT(&arr))
				continue;
			bson_iter_document(&arr, &dlen, &data);
			if (!bson_init_static(&ex, data, dlen))
				continue;
			n = doc_strv(&ex, "argv", &argv);
			if (n > 0)
				fmt_argv(argv, (size_t)n, cur, sizeof(cur));
			else
				snprintf(cur, sizeof(cur), "%s", doc_str(&ex, "exe") ? doc_str(&ex, "exe") : "?");
			free(argv);
			(void)x;
			if (!strcmp(cur, prev))
				continue;
			pos += (size_t)snprintf(buf + pos, pos < len ? len - pos : 0, "%s%s",
						pos ? " \xe2\x87\x92 " : "", cur);
			snprintf(prev, sizeof(prev), "%s", cur);
			if (pos >= len)
				break;
		}
	}
	if (!buf[0])
		snprintf(buf, len, "{%s}", doc_str(d, "comm") ? doc_str(d, "comm") : "forked, no exec");
}

static void status(const struct qctx *ctx, const bson_t *d, char *buf, size_t len)
{
	char s[40], e[40];
	int64_t sig = doc_int(d, "signal", 0), code = doc_int(d, "exit_code", -1);
	const char *abbrev;

	fmt_time(doc_date(d, "start"), ctx->args->utc, false, s, sizeof(s));
	fmt_time(doc_date(d, "exit"), ctx->args->utc, false, e, sizeof(e));
	if (doc_date(d, "exit") == FMT_NO_TIME) {
		snprintf(buf, len, "%s running", s);
	} else if (sig > 0) {
		abbrev = sig < 65 ? sigabbrev_np((int)sig) : NULL;
		snprintf(buf, len, "%s-%s SIG%s", s, e, abbrev ? abbrev : "?");
	} else if (code >= 0) {
		snprintf(buf, len, "%s-%s exit %lld", s, e, (long long)code);
	} else {
		snprintf(buf, len, "%s-%s exit ?", s, e);
	}
}

static size_t columns(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static int cmp_start(const void *a, const void *b)
{
	const struct tproc *x = *(const struct tproc *const *)a, *y = *(const struct tproc *const *)b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Children of parent (-1: roots) sorted by start, into a new array (free it). */
static struct tproc **children(struct tlist *l, int parent, size_t *ret_n)
{
	size_t g = parent < 0 ? l->n : (size_t)parent, n = 0;
	size_t from = l->first[g], to = l->first[g + 1];
	struct tproc **v = calloc(to > from ? to - from : 1, sizeof(*v));

	if (!v)
		return NULL;
	for (size_t k = from; k < to; k++)
		if (!l->p[l->kids[k]].printed)
			v[n++] = &l->p[l->kids[k]];
	qsort(v, n, sizeof(*v), cmp_start);
	*ret_n = n;
	return v;
}

static const struct tlist *key_order; /* qsort/bsearch have no context argument */

static int cmp_key_idx(const void *a, const void *b)
{
	return strcmp(key_order->p[*(const size_t *)a].key, key_order->p[*(const size_t *)b].key);
}

static int cmp_key_find(const void *key, const void *b)
{
	return strcmp(key, key_order->p[*(const size_t *)b].key);
}

/* Each process's parent index (by key, sorted: a container can hold 100k processes, where
 * a scan per process took seconds) and the children lists. */
static int link_tree(struct tlist *l)
{
	size_t *by_key = malloc((l->n ? l->n : 1) * sizeof(*by_key)), *fill;

	l->first = calloc(l->n + 2, sizeof(*l->first));
	l->kids = malloc((l->n ? l->n : 1) * sizeof(*l->kids));
	fill = calloc(l->n + 1, sizeof(*fill));
	if (!by_key || !l->first || !l->kids || !fill) {
		free(by_key);
		free(fill);
		return -ENOMEM;
	}
	for (size_t i = 0; i < l->n; i++)
		by_key[i] = i;
	key_order = l;
	qsort(by_key, l->n, sizeof(*by_key), cmp_key_idx);
	for (size_t i = 0; i < l->n; i++) {
		const size_t *hit = l->p[i].parent ? bsearch(l->p[i].parent, by_key, l->n,
							     sizeof(*by_key), cmp_key_find) : NULL;

		l->p[i].parent_idx = hit ? (int)*hit : -1;
	}
	/* counting sort by parent (roots last), in input order within a parent */
	for (size_t i = 0; i < l->n; i++)
		l->first[(l->p[i].parent_idx < 0 ? l->n : (size_t)l->p[i].parent_idx) + 1]++;
	for (size_t g = 0; g <= l->n; g++)
		l->first[g + 1] += l->first[g];
	for (size_t i = 0; i < l->n; i++) {
		size_t g = l->p[i].parent_idx < 0 ? l->n : (size_t)l->p[i].parent_idx;

		l->kids[l->first[g] + fill[g]++] = i;
	}
	free(by_key);
	free(fill);
	return 0;
}

static int print_node(struct qctx *ctx, struct tlist *l, struct tproc *p, const char *indent,
		      bool last, bool root)
{
	const struct qargs *a = ctx->args;
	const char *entry = doc_str(p->doc, "entry");
	char lab[4096], left[4400], right[128], sub[1024], dkey[256], dlab[4400];
	struct tproc **kids;
	size_t nk = 0, w;
	int idx = (int)(p - l->p), r = 0;

	p->printed = true;
	label(p->doc, lab, sizeof(lab));
	if (a->format == QFMT_JSON) {
		doc_print_json(ctx, p->doc);
	} else if (a->format == QFMT_DOT) {
		snprintf(left, sizeof(left), "%lld %s", (long long)doc_int(p->doc, "tgid", 0), lab);
		fmt_fit(left, 60);
		status(ctx, p->doc, right, sizeof(right));
		fprintf(ctx->out, "  \"%s\" [label=\"%s\\n%s\"%s];\n",
			fmt_dot_escape(p->key, dkey, sizeof(dkey)),
			fmt_dot_escape(left, dlab, sizeof(dlab)), right,
			entry && !strcmp(entry, "exec") ? ", style=dashed, color=blue" :
			entry && !strcmp(entry, "init") ? ", style=bold" : "");
		if (p->parent_idx >= 0)
			fprintf(ctx->out, "  \"%s\" -> \"%s\";\n", l->p[p->parent_idx].key, dkey);
	} else {
		snprintf(left, sizeof(left), "%s%s%lld %s%s", indent,
			 root ? "" : last ? "\xe2\x94\x94\xe2\x94\x80 " : "\xe2\x94\x9c\xe2\x94\x80 ",
			 (long long)doc_int(p->doc, "tgid", 0),
			 entry && !strcmp(entry, "exec") ? "[docker exec] " :
			 entry && !strcmp(entry, "init") ? "[init] " : "", lab);
		status(ctx, p->doc, right, sizeof(right));
		w = (size_t)a->width;
		if (w)
			fmt_fit(left, w > columns(right) + 21 ? w - columns(right) - 1 : 20);
		fprintf(ctx->out, "%s%*s%s\n", left,
			w && w > columns(left) + columns(right) ?
				(int)(w - columns(left) - columns(right)) : 1, "", right);
	}
	kids = children(l, idx, &nk);
	if (!kids)
		return -ENOMEM;
	snprintf(sub, sizeof(sub), "%s%s", indent, root ? "" : last ? "   " : "\xe2\x94\x82  ");
	for (size_t k = 0; k < nk && r == 0; k++)
		r = print_node(ctx, l, kids[k], sub, k + 1 == nk, false);
	free(kids);
	return r;
}

/* --- issue 29: the host, a subtree, a depth (subtree.h) --------------------------------------- */

struct sview {
	struct qsub s;
	bool *printed;
};

/* The one text line: left part, right-aligned status, cut to --width. */
static void text_line(struct qctx *ctx, const char *left_in, const char *right)
{
	char left[9200];
	size_t w = (size_t)ctx->args->width;

	snprintf(left, sizeof(left), "%s", left_in);
	if (w)
		fmt_fit(left, w > columns(right) + 21 ? w - columns(right) - 1 : 20);
	fprintf(ctx->out, "%s%*s%s\n", left,
		w && w > columns(left) + columns(right) ? (int)(w - columns(left) - columns(right)) :
							  1, "", right);
}

/* "[container 645a4b835ac8] [init] ", "[runtime 645a4b835ac8] ", "[docker exec] ". */
static void marks(const struct sview *v, size_t i, char *buf, size_t len)
{
	const struct qsub_proc *p = &v->s.p[i];
	char via[300] = "";
	size_t pos = 0;

	buf[0] = '\0';
	if (p->via >= 0 && v->printed[p->via]) {
		qsub_runtime_path(&v->s, i, via, sizeof(via));
		pos += (size_t)snprintf(buf + pos, len - pos, "\xe2\x87\xa2 [started by %lld through %s] ",
					(long long)v->s.p[p->via].tgid, via[0] ? via : "its daemon");
	}
	if (!v->s.view && p->container && pos < len)
		pos += (size_t)snprintf(buf + pos, len - pos, "[%s %.12s] ",
					p->helper ? "runtime" : "container", p->container);
	if (pos < len && p->entry && !strcmp(p->entry, "exec"))
		snprintf(buf + pos, len - pos, "[docker exec] ");
	else if (pos < len && p->entry && !strcmp(p->entry, "init"))
		snprintf(buf + pos, len - pos, "[init] ");
}

static void json_with(struct qctx *ctx, const struct sview *v, size_t i, bool collapsed)
{
	const struct qsub_proc *p = &v->s.p[i];
	bson_t *d = bson_copy(p->doc);

	if (!d)
		return;
	BSON_APPEND_INT32(d, "view_depth", p->depth);
	if (p->via >= 0)
		BSON_APPEND_UTF8(d, "started_by", v->s.p[p->via].key);
	if (collapsed)
		BSON_APPEND_BOOL(d, "collapsed", true);
	doc_print_json(ctx, d);
	bson_destroy(d);
}

/* A container entry or runtime helper below a host process, in the host's own tree: one line
 * naming it, not its subtree (tree CONTAINER, or a selector, shows that). */
static void collapsed_leaf(struct qctx *ctx, struct sview *v, size_t parent, size_t i,
			   const char *indent, bool last)
{
	const struct qsub_proc *p = &v->s.p[i];
	char lab[4096], left[9200], right[128], cl[400], via[300] = "", dk[256], dl[4400];
	bool cli = p->via == (int)parent && p->parent_idx != (int)parent;

	label(p->doc, lab, sizeof(lab));
	if (cli)
		qsub_runtime_path(&v->s, i, via, sizeof(via));
	if (p->helper)
		snprintf(cl, sizeof(cl), "[runtime %.12s]", p->container);
	else
		qsub_cont_label(&v->s, p->cont, cl, sizeof(cl));
	if (ctx->args->format == QFMT_JSON) {
		json_with(ctx, v, i, true);
		return;
	}
	if (ctx->args->format == QFMT_DOT) {
		snprintf(left, sizeof(left), "%s\n%lld %s", cl, (long long)p->tgid, lab);
		fmt_fit(left, 90);
		fprintf(ctx->out, "  \"%s%s\" [label=\"%s\", shape=folder];\n", cli ? "via:" : "",
			fmt_dot_escape(p->key, dk, sizeof(dk)), fmt_dot_escape(left, dl, sizeof(dl)));
		fprintf(ctx->out, "  \"%s\" -> \"%s%s\"%s;\n", v->s.p[parent].key, cli ? "via:" : "", dk,
			cli ? " [style=dashed, color=red, label=\"through the daemon\"]" : "");
		return;
	}
	status(ctx, p->doc, right, sizeof(right));
	if (cli)
		snprintf(left, sizeof(left), "%s%s\xe2\x87\xa2 %s started through %s: %lld %s%s", indent,
			 last ? "\xe2\x94\x94\xe2\x94\x80 " : "\xe2\x94\x9c\xe2\x94\x80 ", cl,
			 via[0] ? via : "its daemon", (long long)p->tgid,
			 p->entry && !strcmp(p->entry, "exec") ? "[docker exec] " : "[init] ", lab);
	else
		snprintf(left, sizeof(left), "%s%s%s: %lld %s%s", indent,
			 last ? "\xe2\x94\x94\xe2\x94\x80 " : "\xe2\x94\x9c\xe2\x94\x80 ", cl,
			 (long long)p->tgid,
			 p->entry && !strcmp(p->entry, "exec") ? "[docker exec] " :
			 p->entry && !strcmp(p->entry, "init") ? "[init] " : "", lab);
	text_line(ctx, left, right);
}

/* The children of i the view prints: in it and not printed, or (host view) collapsed leaves. */
static size_t view_kids(struct sview *v, size_t i, size_t *out)
{
	const struct qsub *s = &v->s;
	int64_t max = s->p[i].depth;
	size_t n = 0;

	(void)max;
	for (size_t k = s->first[i]; k < s->first[i + 1]; k++) {
		size_t ch = s->kids[k];
		const struct qsub_proc *c = &s->p[ch];
		bool dup = false;

		for (size_t j = 0; j < n && !dup; j++)
			dup = out[j] == ch;
		if (dup || v->printed[ch])
			continue;
		if (c->depth == s->p[i].depth + 1 && (c->parent_idx == (int)i || c->via == (int)i))
			out[n++] = ch;
		else if (!s->view && !s->selector && c->container && c->depth < 0 &&
			 (c->helper || c->entry))
			out[n++] = ch; /* collapsed */
	}
	return n;
}

static int sview_node(struct qctx *ctx, struct sview *v, size_t i, const char *indent, bool last,
		      bool root)
{
	const struct qsub_proc *p = &v->s.p[i];
	char lab[4096], left[9200], right[128], sub[1024], mk[600], dk[256], dl[4400];
	size_t *kids, nk;
	int r = 0;

	v->printed[i] = true;
	label(p->doc, lab, sizeof(lab));
	marks(v, i, mk, sizeof(mk));
	if (ctx->args->format == QFMT_JSON) {
		json_with(ctx, v, i, false);
	} else if (ctx->args->format == QFMT_DOT) {
		snprintf(left, sizeof(left), "%s%lld %s", mk, (long long)p->tgid, lab);
		fmt_fit(left, 60);
		status(ctx, p->doc, right, sizeof(right));
		fprintf(ctx->out, "  \"%s\" [label=\"%s\\n%s\"%s];\n",
			fmt_dot_escape(p->key, dk, sizeof(dk)), fmt_dot_escape(left, dl, sizeof(dl)),
			right, p->helper ? ", color=gray" : p->container && !v->s.view ?
			", style=bold, color=darkgreen" : "");
		if (!root && p->via >= 0 && v->printed[p->via] && p->parent_idx >= 0 &&
		    !v->printed[p->parent_idx])
			fprintf(ctx->out, "  \"%s\" -> \"%s\" [style=dashed, color=red];\n",
				v->s.p[p->via].key, dk);
		else if (!root && p->parent_idx >= 0)
			fprintf(ctx->out, "  \"%s\" -> \"%s\";\n", v->s.p[p->parent_idx].key, dk);
	} else {
		snprintf(left, sizeof(left), "%s%s%lld %s%s", indent,
			 root ? "" : last ? "\xe2\x94\x94\xe2\x94\x80 " : "\xe2\x94\x9c\xe2\x94\x80 ",
			 (long long)p->tgid, mk, lab);
		status(ctx, p->doc, right, sizeof(right));
		text_line(ctx, left, right);
	}
	kids = malloc((v->s.first[i + 1] - v->s.first[i] + 1) * sizeof(*kids));
	if (!kids)
		return -ENOMEM;
	nk = view_kids(v, i, kids);
	snprintf(sub, sizeof(sub), "%s%s", indent, root ? "" : last ? "   " : "\xe2\x94\x82  ");
	for (size_t k = 0; k < nk && r == 0; k++) {
		if (v->s.p[kids[k]].depth < 0) {
			collapsed_leaf(ctx, v, i, kids[k], sub, k + 1 == nk);
			v->printed[kids[k]] = v->s.p[kids[k]].via != (int)i ||
					      v->s.p[kids[k]].parent_idx == (int)i;
			continue;
		}
		r = sview_node(ctx, v, kids[k], sub, k + 1 == nk, false);
	}
	free(kids);
	return r;
}

static int tree_view(struct qctx *ctx, const char *cid)
{
	const struct qargs *a = ctx->args;
	struct sview v = { 0 };
	char what[4800], lab[4096], sid[16];
	int r;

	r = qsub_load(ctx, cid, &v.s);
	if (r < 0)
		return r;
	v.printed = calloc(v.s.n + 1, sizeof(*v.printed));
	if (!v.printed) {
		r = -ENOMEM;
		goto out;
	}
	if (cid)
		snprintf(what, sizeof(what), "container %s", cid);
	else
		snprintf(what, sizeof(what), "host");
	if (v.s.selector) {
		size_t pos = strlen(what);

		label(v.s.p[v.s.roots[0]].doc, lab, sizeof(lab));
		fmt_fit(lab, 60);
		snprintf(what + pos, sizeof(what) - pos, ", %s of %s (%s)%s",
			 v.s.nroots > 1 ? "subtrees" : "subtree", v.s.p[v.s.roots[0]].key, lab,
			 v.s.nroots > 1 ? " and others" : "");
	}
	if (a->format == QFMT_DOT)
		fprintf(ctx->out, "digraph \"%s\" {\n  node [shape=box, fontname=monospace];\n",
			cid ? fmt_short_id(cid, sid, sizeof(sid)) : "host");
	else if (a->format == QFMT_TEXT)
		fprintf(ctx->out, "%s: %zu processes%s (times %s)\n", what, v.s.nin,
			a->depth >= 0 ? ", --depth" : "", a->utc ? "UTC" : "local");
	for (size_t k = 0; k < v.s.nroots && r == 0; k++)
		if (!v.printed[v.s.roots[k]] && v.s.p[v.s.roots[k]].depth == 0)
			r = sview_node(ctx, &v, v.s.roots[k], "", true, true);
	if (a->format == QFMT_DOT)
		fprintf(ctx->out, "}\n");
out:
	if (r == -ENOMEM) {
		snprintf(ctx->err, sizeof(ctx->err), "out of memory");
		ctx->status = QEXIT_DB_ERROR;
	}
	free(v.printed);
	qsub_release(&v.s);
	return r;
}

int cmd_tree(struct qctx *ctx)
{
	bson_t filter = BSON_INITIALIZER, sort = BSON_INITIALIZER;
	struct tlist l = { 0 };
	struct tproc **roots = NULL;
	char *cid = NULL, sid[16], coll[SCHEMA_OUT_NAME_MAX];
	size_t nroots = 0;
	int r;

	if (qsub_is_host(ctx->args->operand[0]))
		return tree_view(ctx, NULL);
	r = q_resolve_container(ctx, &ctx->session, ctx->args->operand[0], &cid);
	if (r == 0 && (qargs_selects(ctx->args) || ctx->args->depth >= 0)) {
		r = tree_view(ctx, cid);
		free(cid);
		return r;
	}
	if (r == 0)
		r = q_out_coll(ctx, &ctx->session, SCHEMA_PROCESSES, coll);
	if (r < 0)
		goto out;
	BSON_APPEND_UTF8(&filter, SCHEMA_F_CONTAINER, cid);
	BSON_APPEND_INT32(&sort, "start", 1);
	r = q_each(ctx, coll, &filter, &sort, add_proc, &l);
	if (r < 0)
		goto out;
	r = link_tree(&l);
	if (r < 0) {
		snprintf(ctx->err, sizeof(ctx->err), "out of memory");
		ctx->status = QEXIT_DB_ERROR;
		goto out;
	}
	if (ctx->args->format == QFMT_DOT)
		fprintf(ctx->out, "digraph \"%s\" {\n  node [shape=box, fontname=monospace];\n",
			fmt_short_id(cid, sid, sizeof(sid)));
	else if (ctx->args->format == QFMT_TEXT)
		fprintf(ctx->out, "container %s: %zu processes (times %s)\n", cid, l.n,
			ctx->args->utc ? "UTC" : "local");
	roots = children(&l, -1, &nroots);
	r = roots ? 0 : -ENOMEM;
	for (size_t k = 0; k < nroots && r == 0; k++)
		r = print_node(ctx, &l, roots[k], "", true, true);
	if (ctx->args->format == QFMT_DOT)
		fprintf(ctx->out, "}\n");
	if (r == -ENOMEM) {
		snprintf(ctx->err, sizeof(ctx->err), "out of memory");
		ctx->status = QEXIT_DB_ERROR;
	}
out:
	free(roots);
	for (size_t i = 0; i < l.n; i++)
		bson_destroy(l.p[i].doc);
	free(l.p);
	free(l.first);
	free(l.kids);
	free(cid);
	bson_destroy(&filter);
	bson_destroy(&sort);
	return r;
}
