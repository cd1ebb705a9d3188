/* model.c — the filter's in-memory session model: arena strings, growable arrays, process
 * records (see model.h). Owns all memory reachable from a struct model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "model.h"

struct model_chunk {
	struct model_chunk *next;
	size_t used, size;
	max_align_t data[];
};

#define CHUNK_SIZE (256 * 1024)

static void die_oom(void)
{
	fputs("lineage-filter: out of memory\n", stderr);
	abort();
}

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		die_oom();
	return q;
}

void model_init(struct model *m)
{
	memset(m, 0, sizeof(*m));
	m->clock_offset = MODEL_NO_TIME;
}

void model_release(struct model *m)
{
	struct model_chunk *c, *next;
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->nprocs; i++) {
		free(m->procs[i].threads);
		free(m->procs[i].execs);
		free(m->procs[i].events);
		free(m->procs[i].children);
	}
	for (i = 0; i < m->nconts; i++) {
		free(m->conts[i].tree);
		free(m->conts[i].exec_roots);
	}
	free(m->events);
	free(m->pevents);
	free(m->snaps);
	free(m->cfacts);
	free(m->procs);
	free(m->conts);
	free(m->files);
	free(m->by_tgid);
	for (c = m->arena; c; c = next) {
		next = c->next;
		free(c);
	}
	model_init(m);
}

void *model_alloc(struct model *m, size_t size)
{
	struct model_chunk *c = m->arena;
	size_t need = (size + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	void *p;

	if (!c || c->size - c->used < need) {
		size_t sz = need > CHUNK_SIZE ? need : CHUNK_SIZE;

		c = xrealloc(NULL, sizeof(*c) + sz);
		c->size = sz;
		c->used = 0;
		c->next = m->arena;
		m->arena = c;
	}
	p = (char *)c->data + c->used;
	c->used += need;
	memset(p, 0, size);
	return p;
}

const char *model_strndup(struct model *m, const char *s, size_t n)
{
	char *d;

	if (!s)
		return NULL;
	d = model_alloc(m, n + 1);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

const char *model_strdup(struct model *m, const char *s)
{
	return s ? model_strndup(m, s, strlen(s)) : NULL;
}

void *model_grow(void **arr, size_t elem, size_t n, size_t *cap)
{
	char *slot;

	if (grow_room(arr, elem, n, cap) < 0)
		die_oom();
	slot = (char *)*arr + n * elem;
	memset(slot, 0, elem);
	return slot;
}

void model_proc_add_thread(struct m_proc *p, int tid)
{
	for (size_t i = 0; i < p->nthreads; i++)
		if (p->threads[i] == tid)
			return;
	*MODEL_PUSH(p->threads, p->nthreads, p->cap_threads) = tid;
	p->nthreads++;
}

void model_proc_add_event(struct m_proc *p, int ev)
{
	*MODEL_PUSH(p->events, p->nevents, p->cap_events) = ev;
	p->nevents++;
}

void model_proc_add_child(struct m_proc *p, int child)
{
	*MODEL_PUSH(p->children, p->nchildren, p->cap_children) = child;
	p->nchildren++;
}

int model_proc_new(struct model *m, int tgid)
{
	struct m_proc *p = MODEL_PUSH(m->procs, m->nprocs, m->cap_procs);

	p->tgid = tgid;
	p->start = p->start_mono = p->exit = MODEL_NO_TIME;
	p->parent = p->parent_at_exit = p->cont = p->pivot_event = -1;
	p->parent_tgid = p->parent_at_exit_tgid = -1;
	p->depth = -1;
	return (int)m->nprocs++;
}

static const char *base(const char *s)
{
	const char *b = strrchr(s, '/');

	return b ? b + 1 : s;
}

bool model_is_runtime_image(const char *exe, const char *argv0)
{
	static const char *const names[] = { "runc", "crun", "youki", "runsc", "kata-runtime" };
	const char *cand[2] = { argv0, exe };

	for (size_t c = 0; c < 2; c++) {
		if (!cand[c] || !*cand[c])
			continue;
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strcmp(base(cand[c]), names[i]) == 0)
				return true;
	}
	return false;
}

bool model_is_container_id(const char *s)
{
	size_t i;

	if (!s)
		return false;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == 64;
}
