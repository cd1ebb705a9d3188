/* tree.c — container membership, init, exec'd entries and BFS trees (see tree.h). Owns only
 * its temporary arrays; container records live in the model. */
#include <stdlib.h>
#include <string.h>

#include "tree.h"

#define MAX_ANCESTRY 256 /* bound on parent walks (a corrupt model must not loop) */

const char *tree_runtime_container_arg(const char **argv, size_t argc)
{
	bool cmd = false;

	if (!argc || !model_is_runtime_image(NULL, argv[0]))
		return NULL;
	for (size_t i = 1; i < argc; i++) {
		if (!argv[i])
			continue;
		if (strcmp(argv[i], "create") == 0 || strcmp(argv[i], "run") == 0 ||
		    strcmp(argv[i], "exec") == 0)
			cmd = true;
	}
	if (!cmd)
		return NULL;
	for (size_t i = argc; i-- > 1;)
		if (model_is_container_id(argv[i]))
			return argv[i];
	return NULL;
}

/* The last exec of p at or before ts (ts MODEL_NO_TIME: the last one), or NULL. */
static const struct m_exec *exec_at(const struct m_proc *p, int64_t ts)
{
	const struct m_exec *x = NULL;

	for (size_t i = 0; i < p->nexecs; i++)
		if (ts == MODEL_NO_TIME || p->execs[i].ts == MODEL_NO_TIME || p->execs[i].ts <= ts)
			x = &p->execs[i];
	return x;
}

/* The image p runs at ts: its exec then, else what it inherited at fork (walks up). */
static const struct m_exec *image_at(const struct model *m, int idx, int64_t ts)
{
	for (int guard = 0; idx >= 0 && guard < MAX_ANCESTRY; guard++) {
		const struct m_proc *p = &m->procs[idx];
		const struct m_exec *x = exec_at(p, ts);

		if (x)
			return x;
		ts = p->start;
		idx = p->parent;
	}
	return NULL;
}

/* The last exec of p whose image is known (exe or argv), or NULL. */
static const struct m_exec *last_known_exec(const struct m_proc *p)
{
	for (size_t i = p->nexecs; i-- > 0;)
		if (p->execs[i].exe || p->execs[i].argc)
			return &p->execs[i];
	return NULL;
}

/* A stage of the runtime itself (runc init, runc:[1:CHILD]...), not a container process. */
static bool is_runtime_helper(const struct model *m, int idx)
{
	const struct m_proc *p = &m->procs[idx];
	const struct m_exec *x = last_known_exec(p);

	(void)m;
	if (x)
		return x->runtime;
	return p->nexecs == 0 && p->runc_stage;
}

/* A child of the runtime that is one of its init stages (and so in the container the
 * runtime names): it exec'd the runtime again ("runc init") or carries runc's stage comm. */
static bool is_runtime_stage(const struct m_proc *p)
{
	const struct m_exec *first = NULL;

	for (size_t i = 0; i < p->nexecs && !first; i++)
		if (p->execs[i].exe || p->execs[i].argc)
			first = &p->execs[i];
	return p->runc_stage || (first && first->runtime);
}

static int64_t start_key(const struct m_proc *p)
{
	return p->start == MODEL_NO_TIME ? INT64_MIN : p->start;
}

static const struct model *g_sort; /* qsort has no context: the model, during a sort only */

static int cmp_start(const void *a, const void *b)
{
	const struct m_proc *x = &g_sort->procs[*(const int *)a];
	const struct m_proc *y = &g_sort->procs[*(const int *)b];

	if (start_key(x) != start_key(y))
		return (start_key(x) > start_key(y)) - (start_key(x) < start_key(y));
	return (x > y) - (x < y);
}

static bool same(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static void assign_containers(struct model *m, const int *order)
{
	for (size_t k = 0; k < m->nprocs; k++) {
		int i = order[k];
		struct m_proc *p = &m->procs[i];
		const struct m_exec *pimg;
		const char *id;

		if (p->container || p->parent < 0)
			continue;
		pimg = image_at(m, p->parent, p->start);
		id = pimg && pimg->runtime ? tree_runtime_container_arg(pimg->argv, pimg->argc) : NULL;
		if (id && !p->container_known && is_runtime_stage(p)) {
			p->container = id;
			p->container_src = "runtime-argv";
		} else if (!p->container_known && m->procs[p->parent].container) {
			p->container = m->procs[p->parent].container;
			p->container_src = "inherited";
		}
	}
}

static void mark_pivots(struct model *m)
{
	for (size_t i = 0; i < m->nprocs; i++) {
		struct m_proc *p = &m->procs[i];

		for (size_t k = 0; k < p->nevents; k++) {
			const struct m_event *e = &m->events[p->events[k]];

			if (e->syscall && strcmp(e->syscall, "pivot_root") == 0 &&
			    (e->has_success ? e->success : e->exit == 0)) {
				p->pivot_event = p->events[k];
				break;
			}
		}
	}
}

static bool member_of(const struct model *m, int idx, const char *id)
{
	return idx >= 0 && !m->procs[idx].runtime && same(m->procs[idx].container, id);
}

/* BFS from root over children of the same container; appends to c->tree. */
static void bfs(struct model *m, struct m_cont *c, int ci, int root, enum m_entry entry,
		int *queue)
{
	size_t head = 0, tail = 0;

	m->procs[root].depth = 0;
	m->procs[root].entry = entry;
	queue[tail++] = root;
	while (head < tail) {
		int cur = queue[head++];
		struct m_proc *p = &m->procs[cur];

		p->cont = ci;
		*MODEL_PUSH(c->tree, c->ntree, c->cap_tree) = cur;
		c->ntree++;
		for (size_t k = 0; k < p->nchildren; k++) {
			int ch = p->children[k];

			if (member_of(m, ch, c->id) && m->procs[ch].cont < 0 &&
			    m->procs[ch].depth < 0) {
				m->procs[ch].depth = p->depth + 1;
				queue[tail++] = ch;
			}
		}
	}
}

static void host_depths(struct model *m, int *queue)
{
	size_t head = 0, tail = 0;

	for (size_t i = 0; i < m->nprocs; i++) {
		if (m->procs[i].parent < 0) {
			m->procs[i].depth = 0;
			queue[tail++] = (int)i;
		}
	}
	while (head < tail) {
		struct m_proc *p = &m->procs[queue[head++]];

		for (size_t k = 0; k < p->nchildren; k++) {
			struct m_proc *ch = &m->procs[p->children[k]];

			if (ch->depth < 0) {
				ch->depth = p->depth + 1;
				queue[tail++] = p->children[k];
			}
		}
	}
}

static void build_container(struct model *m, const char *id, const int *order, int *queue)
{
	struct m_cont *c = MODEL_PUSH(m->conts, m->nconts, m->cap_conts);
	int ci = (int)m->nconts++;
	int init = -1, first_entry = -1;
	bool running = false;

	c->id = id;
	c->init = -1;
	c->start = c->end = MODEL_NO_TIME;
	/* init: the member that called pivot_root, else the earliest entry */
	for (size_t k = 0; k < m->nprocs; k++) {
		int i = order[k];

		if (!member_of(m, i, id))
			continue;
		if (m->procs[i].pivot_event >= 0 && init < 0)
			init = i;
		if (first_entry < 0 && !member_of(m, m->procs[i].parent, id))
			first_entry = i;
	}
	if (init < 0) {
		init = first_entry;
		m->n.containers_without_init += init < 0;
	}
	c = &m->conts[ci];
	c->init = init;
	if (init >= 0)
		bfs(m, c, ci, init, ENTRY_INIT, queue);
	for (size_t k = 0; k < m->nprocs; k++) {
		int i = order[k];

		if (!member_of(m, i, id) || m->procs[i].cont >= 0)
			continue;
		if (member_of(m, m->procs[i].parent, id) && m->procs[m->procs[i].parent].cont < 0)
			continue; /* reached from its own entry below */
		c = &m->conts[ci];
		*MODEL_PUSH(c->exec_roots, c->nexec_roots, c->cap_exec_roots) = i;
		c->nexec_roots++;
		m->procs[i].depth = -1;
		bfs(m, c, ci, i, ENTRY_EXEC, queue);
	}
	c = &m->conts[ci];
	for (size_t k = 0; k < c->ntree; k++) {
		const struct m_proc *p = &m->procs[c->tree[k]];

		if (p->start != MODEL_NO_TIME && (c->start == MODEL_NO_TIME || p->start < c->start))
			c->start = p->start;
		if (!p->exited || p->exit == MODEL_NO_TIME)
			running = true;
		else if (c->end == MODEL_NO_TIME || p->exit > c->end)
			c->end = p->exit;
	}
	if (running)
		c->end = MODEL_NO_TIME;
}

int tree_run(struct model *m)
{
	int *order = malloc((m->nprocs + 1) * sizeof(int));
	int *queue = malloc((m->nprocs + 1) * sizeof(int));

	if (!order || !queue)
		abort();
	for (size_t i = 0; i < m->nprocs; i++)
		order[i] = (int)i;
	g_sort = m;
	qsort(order, m->nprocs, sizeof(int), cmp_start);
	g_sort = NULL;

	mark_pivots(m);
	assign_containers(m, order);
	for (size_t i = 0; i < m->nprocs; i++)
		m->procs[i].runtime = m->procs[i].container && is_runtime_helper(m, (int)i);
	host_depths(m, queue);
	/* container members get their depth inside the container's tree instead */
	for (size_t i = 0; i < m->nprocs; i++)
		if (m->procs[i].container && !m->procs[i].runtime)
			m->procs[i].depth = -1;
	for (size_t k = 0; k < m->nprocs; k++) {
		const struct m_proc *p = &m->procs[order[k]];
		bool seen = false;

		if (!p->container || p->runtime)
			continue;
		for (size_t c = 0; c < m->nconts && !seen; c++)
			seen = same(m->conts[c].id, p->container);
		if (!seen)
			build_container(m, p->container, order, queue);
	}
	free(order);
	free(queue);
	return 0;
}
