/* merge.c — processes by tgid lifetime, threads, audit/proc-connector merge, parents and exit
 * times (see merge.h). Owns only its temporary tables. */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "merge.h"

/* tgid → process index, grown on demand. */
struct pidmap {
	int *v;
	size_t n;
};

static int pm_get(const struct pidmap *pm, int pid)
{
	return pid >= 0 && (size_t)pid < pm->n ? pm->v[pid] : -1;
}

static void pm_set(struct pidmap *pm, int pid, int idx)
{
	if (pid < 0)
		return;
	if ((size_t)pid >= pm->n) {
		size_t n = pm->n ? pm->n : 1024;

		while (n <= (size_t)pid)
			n *= 2;
		pm->v = realloc(pm->v, n * sizeof(int));
		if (!pm->v)
			abort();
		for (size_t i = pm->n; i < n; i++)
			pm->v[i] = -1;
		pm->n = n;
	}
	pm->v[pid] = idx;
}

static bool is_syscall(const struct m_event *e, const char *name)
{
	return e->syscall && strcmp(e->syscall, name) == 0;
}

static bool ev_ok(const struct m_event *e)
{
	return e->has_success ? e->success : (e->has_exit && e->exit >= 0);
}

/* A process known to exist but whose start we did not see. */
static int placeholder(struct model *m, struct pidmap *live, int tgid, const char *why)
{
	int idx = model_proc_new(m, tgid);

	m->procs[idx].start_src = why;
	model_proc_add_thread(&m->procs[idx], tgid);
	pm_set(live, tgid, idx);
	return idx;
}

static struct m_exec *add_exec(struct m_proc *p, int64_t ts, const char *exe, const char **argv,
			       size_t argc)
{
	struct m_exec *x = MODEL_PUSH(p->execs, p->nexecs, p->cap_execs);

	x->ts = ts;
	x->exe = exe;
	x->argv = argv;
	x->argc = argc;
	x->runtime = model_is_runtime_image(exe, argc ? argv[0] : NULL);
	p->nexecs++;
	return x;
}

static bool same_argv(const char **a, size_t na, const char **b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!a[i] || !b[i] || strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

static void from_snapshot(struct model *m, struct pidmap *live)
{
	size_t i;

	for (i = 0; i < m->nsnaps; i++) {
		const struct m_snap *s = &m->snaps[i];
		struct m_proc *p;
		int idx;

		if (s->pid != s->tgid || pm_get(live, s->tgid) >= 0)
			continue;
		idx = model_proc_new(m, s->tgid);
		p = &m->procs[idx];
		p->start = s->start;
		p->start_mono = s->start_mono;
		p->start_src = "snapshot";
		p->from_snapshot = true;
		p->cwd = s->cwd;
		p->root = s->root;
		p->parent_tgid = s->ppid;
		if (s->container || s->exe) {
			p->container = s->container;
			p->container_known = true;
			p->container_src = s->container ? "snapshot" : NULL;
		}
		if (s->exe || s->argc)
			add_exec(p, MODEL_NO_TIME, s->exe, s->argv, s->argc);
		model_proc_add_thread(p, s->tgid);
		pm_set(live, s->tgid, idx);
	}
	/* Parents of pre-existing processes: the snapshot's ppid (the parent now, which may
	 * already be a reaper: the fork happened before we looked). */
	for (i = 0; i < m->nprocs; i++) {
		struct m_proc *p = &m->procs[i];
		int par = pm_get(live, p->parent_tgid);

		if (p->from_snapshot && p->parent_tgid > 0 && par >= 0 && par != (int)i) {
			p->parent = par;
			p->parent_src = PSRC_SNAPSHOT;
		}
	}
}

static void on_pfork(struct model *m, struct pidmap *live, const struct m_pevent *e)
{
	struct m_proc *p;
	int idx, cur = pm_get(live, e->child_tgid), par;

	if (e->thread || e->child_pid != e->child_tgid) {
		if (cur < 0) {
			cur = placeholder(m, live, e->child_tgid, "thread");
			m->n.thread_of_unknown++;
		}
		model_proc_add_thread(&m->procs[cur], e->child_pid);
		return;
	}
	if (cur >= 0) {
		p = &m->procs[cur];
		/* The snapshot raced with this fork: same process, the fork is the better view. */
		if (p->from_snapshot && p->start_mono != MODEL_NO_TIME && e->mono != MODEL_NO_TIME &&
		    llabs(p->start_mono - e->mono) < 20 * 1000000LL) {
			idx = cur;
			goto parent;
		}
		if (!p->exited) {
			p->exited = true; /* its exit was lost */
			m->n.missed_exits++;
		}
	}
	idx = model_proc_new(m, e->child_tgid);
	model_proc_add_thread(&m->procs[idx], e->child_tgid);
	pm_set(live, e->child_tgid, idx);
parent:
	par = pm_get(live, e->parent_tgid);
	if (par < 0 && e->parent_tgid > 0)
		par = placeholder(m, live, e->parent_tgid, "parent");
	p = &m->procs[idx];
	p->start = e->ts;
	p->start_mono = e->mono;
	p->start_src = "fork";
	p->parent_tgid = e->parent_tgid;
	p->parent = par;
	p->parent_src = PSRC_FORK;
}

static void on_pexec(struct model *m, struct pidmap *live, const struct m_pevent *e)
{
	int idx = pm_get(live, e->tgid);
	struct m_proc *p;

	if (idx < 0)
		idx = placeholder(m, live, e->tgid, "exec");
	p = &m->procs[idx];
	add_exec(p, e->ts, e->exe, e->argv, e->argc)->from_proc = true;
	if (e->gone)
		return;
	if (e->cwd)
		p->cwd = e->cwd;
	if (e->root)
		p->root = e->root;
	if (e->has_container) {
		p->container = e->container;
		p->container_known = true;
		p->container_src = e->container ? "cgroup" : NULL;
	}
}

static void on_pexit(struct model *m, struct pidmap *live, struct pidmap *last,
		    const struct m_pevent *e)
{
	int idx = pm_get(live, e->tgid);
	struct m_proc *p;

	if (idx < 0) {
		/* a thread exiting after its leader: extend the group's exit time */
		idx = pm_get(last, e->tgid);
		if (idx >= 0 && m->procs[idx].exit != MODEL_NO_TIME && e->ts > m->procs[idx].exit &&
		    e->ts - m->procs[idx].exit < 1000000000LL)
			m->procs[idx].exit = e->ts;
		return;
	}
	p = &m->procs[idx];
	if (e->pid != e->tgid) {
		model_proc_add_thread(p, e->pid);
		return;
	}
	p->exited = true;
	p->exit = e->ts;
	p->exit_src = XSRC_PROC;
	p->has_exit_code = true;
	p->exit_code = e->exit_code;
	p->signal = e->signal;
	p->parent_at_exit_tgid = e->parent_tgid;
	p->parent_at_exit = pm_get(live, e->parent_tgid);
	pm_set(live, e->tgid, -1);
	pm_set(last, e->tgid, idx);
}

/* qsort() has no context argument: the model being sorted, only during a sort. */
static const struct model *g_sort;

static int64_t start_or_min(const struct m_proc *p)
{
	return p->start == MODEL_NO_TIME ? INT64_MIN : p->start;
}

static int cmp_lt(const void *a, const void *b)
{
	const struct m_proc *x = &g_sort->procs[*(const int *)a];
	const struct m_proc *y = &g_sort->procs[*(const int *)b];

	if (x->tgid != y->tgid)
		return x->tgid - y->tgid;
	return (start_or_min(x) > start_or_min(y)) - (start_or_min(x) < start_or_min(y));
}

/* Process indices sorted by (tgid, start): the lookup table for audit events. */
static void build_lifetimes(struct model *m)
{
	free(m->by_tgid);
	m->nby_tgid = m->nprocs;
	m->by_tgid = malloc((m->nprocs + 1) * sizeof(int));
	if (!m->by_tgid)
		abort();
	for (size_t i = 0; i < m->nprocs; i++)
		m->by_tgid[i] = (int)i;
	g_sort = m;
	qsort(m->by_tgid, m->nby_tgid, sizeof(int), cmp_lt);
	g_sort = NULL;
}

int merge_find_lifetime(const struct model *m, int tgid, int64_t ts)
{
	size_t lo = 0, hi = m->nby_tgid;
	int best = -1;

	while (lo < hi) { /* first entry with this tgid */
		size_t mid = (lo + hi) / 2;

		if (m->procs[m->by_tgid[mid]].tgid < tgid)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < m->nby_tgid && m->procs[m->by_tgid[lo]].tgid == tgid; lo++) {
		const struct m_proc *p = &m->procs[m->by_tgid[lo]];

		if (ts != MODEL_NO_TIME && p->start != MODEL_NO_TIME && p->start > ts + MERGE_SLACK_NS)
			break;
		if (ts != MODEL_NO_TIME && p->exited && p->exit != MODEL_NO_TIME &&
		    p->exit < ts - MERGE_SLACK_NS)
			continue;
		best = m->by_tgid[lo]; /* the latest start that fits */
	}
	return best;
}

static void attach_event(struct model *m, int ei, int idx)
{
	struct m_event *e = &m->events[ei];
	struct m_proc *p = &m->procs[idx];

	e->proc = idx;
	model_proc_add_event(p, ei);
	if (e->comm)
		p->comm = e->comm;
	if (e->comm && strncmp(e->comm, "runc:[", 6) == 0)
		p->runc_stage = true;
	if (e->cwd)
		p->cwd = e->cwd;
	/* A container seen by audit fills a gap: a process that joined a cgroup after its exec
	 * (runtime helpers) or had no exec enrichment. */
	if (e->container && !p->container) {
		p->container = e->container;
		p->container_known = true;
		p->container_src = "audit";
	}
	if ((is_syscall(e, "execve") || is_syscall(e, "execveat")) && ev_ok(e)) {
		size_t k, best = p->nexecs;
		int64_t best_d = MERGE_EXEC_WINDOW_NS;

		/* One exec seen twice: the proc connector's exec event and audit's execve. Pair
		 * this execve with the closest proc-connector exec of the process that audit has not
		 * claimed yet and whose argv (when /proc still showed one) is the same: the two
		 * streams arrive in any order and their clocks differ by the calibration error, so
		 * neither "the next one" nor "one without exe" is safe (a gone process's exec has
		 * neither exe nor argv; a live one has both). */
		for (k = 0; k < p->nexecs; k++) {
			const struct m_exec *x = &p->execs[k];

			if (!x->from_proc || x->from_audit || x->ts == MODEL_NO_TIME ||
			    e->ts == MODEL_NO_TIME || llabs(x->ts - e->ts) >= best_d)
				continue;
			if (x->argc && e->argc && !same_argv(x->argv, x->argc, e->argv, e->argc))
				continue;
			best = k;
			best_d = llabs(x->ts - e->ts);
		}
		if (best < p->nexecs) {
			struct m_exec *x = &p->execs[best];

			/* audit's exe and argv are the kernel's at the syscall; /proc's a later read */
			if (e->exe)
				x->exe = e->exe;
			if (e->argc) {
				x->argv = e->argv;
				x->argc = e->argc;
			}
			x->runtime = model_is_runtime_image(x->exe, x->argc ? x->argv[0] : NULL);
			x->from_audit = true;
		} else {
			add_exec(p, e->ts, e->exe, e->argv, e->argc)->from_audit = true;
		}
	}
	if (is_syscall(e, "exit_group") && !p->exited) {
		p->exited = true;
		p->exit = e->ts;
		p->exit_src = XSRC_AUDIT;
		p->has_exit_code = true;
		p->exit_code = (int)(e->a[0] & 0xff);
	}
}

static void attach_events(struct model *m)
{
	struct pidmap aonly = { 0 };

	build_lifetimes(m);
	for (size_t i = 0; i < m->nevents; i++) {
		struct m_event *e = &m->events[i];
		int idx = merge_find_lifetime(m, e->pid, e->ts);

		if (idx < 0)
			idx = pm_get(&aonly, e->pid);
		if (idx < 0) {
			idx = model_proc_new(m, e->pid);
			m->procs[idx].start_src = "audit";
			model_proc_add_thread(&m->procs[idx], e->pid);
			m->procs[idx].parent_tgid = e->ppid;
			pm_set(&aonly, e->pid, idx);
			m->n.audit_only_processes++;
		}
		if (m->procs[idx].start_src && strcmp(m->procs[idx].start_src, "audit") == 0)
			m->n.unknown_process_events++;
		attach_event(m, (int)i, idx);
		/* an audit-only process ends with its exit_group */
		if (m->procs[idx].exited && pm_get(&aonly, e->pid) == idx)
			pm_set(&aonly, e->pid, -1);
	}
	free(aonly.v);
	build_lifetimes(m); /* include audit-only processes */
}

/* ---- sessions without proc connector or snapshot (issue 30: imported auditd logs) ------
 * Lifetimes come from audit alone: a successful clone/clone3/fork/vfork that is not a
 * thread (CLONE_THREAD in clone's a0) starts the lifetime of the pid it returned, its caller
 * the parent (the child's own ppid wins when it names another live process: CLONE_PARENT);
 * a thread clone adds a thread to the caller; exit_group ends a lifetime (attach_event); an
 * event of a pid whose lifetime ended starts a new one. A process never seen cloned starts
 * unknown and gets the lifetime its ppid had at its first event. Processes whose end was not
 * recorded end, inferred, with their last event. Events go in time order (audit's entry
 * times), so a child's events that were logged before its parent's clone returned still
 * meet the clone. */

static bool is_clone(const struct m_event *e)
{
	return is_syscall(e, "clone") || is_syscall(e, "clone3") || is_syscall(e, "fork") ||
	       is_syscall(e, "vfork");
}

static int cmp_ev_time(const void *a, const void *b)
{
	const struct m_event *x = &g_sort->events[*(const int *)a];
	const struct m_event *y = &g_sort->events[*(const int *)b];

	if (x->ts != y->ts)
		return (x->ts > y->ts) - (x->ts < y->ts);
	return (x->seq > y->seq) - (x->seq < y->seq);
}

static int audit_lifetime(struct model *m, struct pidmap *live, int pid, int ppid)
{
	int idx = model_proc_new(m, pid);

	m->procs[idx].start_src = "audit";
	m->procs[idx].parent_tgid = ppid;
	model_proc_add_thread(&m->procs[idx], pid);
	pm_set(live, pid, idx);
	m->n.audit_only_processes++;
	return idx;
}

static void audit_only_clone(struct model *m, struct pidmap *live, const struct m_event *e,
			     int caller)
{
	int child = (int)e->exit, idx = pm_get(live, child);
	struct m_proc *c;

	if (is_syscall(e, "clone") && (e->a[0] & 0x10000)) { /* CLONE_THREAD */
		model_proc_add_thread(&m->procs[caller], child);
		return;
	}
	/* the child's events may have come first (same millisecond, logged before the clone
	 * returned): that lifetime is this child's when it has no start yet */
	if (idx >= 0 && m->procs[idx].start == MODEL_NO_TIME && m->procs[idx].nevents &&
	    m->events[m->procs[idx].events[0]].ts >= e->ts - MERGE_SLACK_NS &&
	    m->procs[idx].parent_src != PSRC_AUDIT_CLONE) {
		c = &m->procs[idx];
	} else {
		if (idx >= 0 && !m->procs[idx].exited) {
			struct m_proc *old = &m->procs[idx];

			/* the pid came back: the old lifetime ended unseen */
			old->exited = true;
			old->exit_src = XSRC_INFERRED;
			old->exit = old->nevents ? m->events[old->events[old->nevents - 1]].ts : e->ts;
			m->n.missed_exits++;
		}
		idx = audit_lifetime(m, live, child, e->pid);
		m->n.audit_only_processes--; /* its start is known */
		c = &m->procs[idx];
	}
	c->start = e->ts;
	c->start_src = "audit-clone";
	c->parent = caller;
	c->parent_tgid = e->pid;
	c->parent_src = PSRC_AUDIT_CLONE;
}

static void merge_audit_only(struct model *m)
{
	struct pidmap live = { 0 };
	int *order = malloc((m->nevents + 1) * sizeof(int));

	if (!order)
		abort();
	for (size_t i = 0; i < m->nevents; i++)
		order[i] = (int)i;
	g_sort = m;
	qsort(order, m->nevents, sizeof(int), cmp_ev_time);
	g_sort = NULL;
	for (size_t k = 0; k < m->nevents; k++) {
		int ei = order[k];
		struct m_event *e = &m->events[ei];
		int idx = pm_get(&live, e->pid);

		if (idx >= 0 && m->procs[idx].exited && m->procs[idx].exit != MODEL_NO_TIME &&
		    e->ts > m->procs[idx].exit + MERGE_SLACK_NS)
			idx = -1; /* after its exit_group: a new lifetime of a reused pid */
		if (idx < 0)
			idx = audit_lifetime(m, &live, e->pid, e->ppid);
		if (m->procs[idx].start_src && !strcmp(m->procs[idx].start_src, "audit"))
			m->n.unknown_process_events++;
		attach_event(m, ei, idx);
		if (is_clone(e) && ev_ok(e) && e->exit > 0)
			audit_only_clone(m, &live, e, idx);
	}
	free(order);
	free(live.v);
	build_lifetimes(m);
	for (size_t i = 0; i < m->nprocs; i++) {
		struct m_proc *p = &m->procs[i];
		const struct m_event *first = p->nevents ? &m->events[p->events[0]] : NULL;
		int par;

		/* CLONE_PARENT (runc's nsexec), or never seen cloned: the ppid its events name */
		if (first && first->ppid > 0 && first->ppid != p->parent_tgid &&
		    p->parent_src == PSRC_AUDIT_CLONE) {
			par = merge_find_lifetime(m, first->ppid, first->ts);
			if (par >= 0 && par != (int)i) {
				p->parent = par;
				p->parent_tgid = first->ppid;
			}
		} else if (p->parent < 0 && first) {
			par = merge_find_lifetime(m, first->ppid, first->ts);
			if (par >= 0 && par != (int)i) {
				p->parent = par;
				p->parent_src = PSRC_AUDIT_PPID;
			}
			p->parent_tgid = first->ppid;
		}
		if (!p->exited && p->nevents) {
			p->exited = true;
			p->exit = m->events[p->events[p->nevents - 1]].ts;
			p->exit_src = XSRC_INFERRED;
		}
	}
}

size_t merge_audit_only_lacks(const struct model *m, const char **v, size_t max)
{
	bool clone = false, exec = false, exit_ = false, open = false, close = false;
	size_t k = 0;

	for (size_t i = 0; i < m->nevents; i++) {
		const struct m_event *e = &m->events[i];

		if (!e->syscall)
			continue;
		clone |= is_clone(e);
		exec |= is_syscall(e, "execve") || is_syscall(e, "execveat");
		exit_ |= is_syscall(e, "exit_group");
		open |= is_syscall(e, "open") || is_syscall(e, "openat") ||
			is_syscall(e, "openat2") || is_syscall(e, "creat");
		close |= is_syscall(e, "close") || is_syscall(e, "close_range");
	}
	if (!clone && k < max)
		v[k++] = "no clone/fork records: parents from ppid only";
	if (!exec && k < max)
		v[k++] = "no execve records: no command lines";
	if (!exit_ && k < max)
		v[k++] = "no exit_group records: exits inferred from the last event";
	if (!open && k < max)
		v[k++] = "no open records: no file accesses";
	else if (!close && k < max)
		v[k++] = "no close records: closes inferred at exit";
	return k;
}

static int cmp_exec(const void *a, const void *b)
{
	const struct m_exec *x = a, *y = b;
	int64_t tx = x->ts == MODEL_NO_TIME ? INT64_MIN : x->ts;
	int64_t ty = y->ts == MODEL_NO_TIME ? INT64_MIN : y->ts;

	return (tx > ty) - (tx < ty);
}

/* Fallback parents for processes whose fork was not seen. */
static void fallback_parents(struct model *m)
{
	size_t i;

	for (i = 0; i < m->nprocs; i++) {
		struct m_proc *p = &m->procs[i];
		int par = -1;

		if (p->parent >= 0 || p->parent_src == PSRC_FORK)
			continue;
		/* An audited clone/fork/vfork whose return value is this tgid. */
		for (size_t k = 0; k < m->nevents && par < 0; k++) {
			const struct m_event *e = &m->events[k];
			bool clone = is_syscall(e, "clone") || is_syscall(e, "clone3") ||
				     is_syscall(e, "fork") || is_syscall(e, "vfork");

			if (!clone || !ev_ok(e) || e->exit != p->tgid || e->proc < 0 ||
			    e->proc == (int)i)
				continue;
			if (is_syscall(e, "clone") && (e->a[0] & 0x10000)) /* CLONE_THREAD */
				continue;
			if (p->start != MODEL_NO_TIME && llabs(e->ts - p->start) > 1000000000LL)
				continue;
			par = e->proc;
			p->parent_src = PSRC_AUDIT_CLONE;
		}
		if (par < 0 && p->nevents) {
			const struct m_event *first = &m->events[p->events[0]];

			par = merge_find_lifetime(m, first->ppid, first->ts);
			if (par == (int)i)
				par = -1;
			if (par >= 0)
				p->parent_src = PSRC_AUDIT_PPID;
			if (p->parent_tgid < 0)
				p->parent_tgid = first->ppid;
		}
		p->parent = par;
	}
}

static void make_keys(struct model *m)
{
	for (size_t i = 0; i < m->nprocs; i++) {
		struct m_proc *p = &m->procs[i];
		int64_t mono = p->start_mono;

		if (mono == MODEL_NO_TIME && p->start != MODEL_NO_TIME &&
		    m->clock_offset != MODEL_NO_TIME)
			mono = p->start - m->clock_offset;
		if (mono != MODEL_NO_TIME) {
			snprintf(p->key, sizeof(p->key), "%d@%lld", p->tgid, (long long)mono);
		} else if (m->audit_only && p->start != MODEL_NO_TIME) {
			/* no monotonic clock in an audit-only session: the wall start, marked */
			snprintf(p->key, sizeof(p->key), "%d@w%lld", p->tgid, (long long)p->start);
		} else {
			/* start unknown: number the lifetimes of this tgid in order */
			int n = 1;

			for (size_t k = 0; k < i; k++)
				if (m->procs[k].tgid == p->tgid && m->procs[k].start == MODEL_NO_TIME)
					n++;
			snprintf(p->key, sizeof(p->key), "%d@?%d", p->tgid, n);
		}
	}
}

static int cmp_child(const void *a, const void *b)
{
	const struct m_proc *x = &g_sort->procs[*(const int *)a];
	const struct m_proc *y = &g_sort->procs[*(const int *)b];

	if (start_or_min(x) != start_or_min(y))
		return (start_or_min(x) > start_or_min(y)) - (start_or_min(x) < start_or_min(y));
	return x->tgid - y->tgid;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Refine the wall-minus-monotonic offset from audited clone/fork/vfork calls paired with the
 * proc connector's fork of the same child: the audit time is the syscall's entry cut to the
 * millisecond, a little before the fork event, so audit_ts - fork_mono lies within ~1 ms
 * below the true offset. The median of those differences plus half a millisecond beats the
 * listener's receive-time estimate (and is the only one when proc events have no ts). */
static void calibrate_clock(struct model *m)
{
	struct pidmap fork_of = { 0 };
	int64_t *d = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < m->npevents; i++) {
		const struct m_pevent *e = &m->pevents[i];

		if (e->what == W_FORK && !e->thread && e->child_pid == e->child_tgid &&
		    e->mono != MODEL_NO_TIME)
			pm_set(&fork_of, e->child_tgid, (int)i);
	}
	for (size_t i = 0; i < m->nevents; i++) {
		const struct m_event *e = &m->events[i];
		int f;

		if (!(is_syscall(e, "clone") || is_syscall(e, "fork") || is_syscall(e, "vfork") ||
		      is_syscall(e, "clone3")) || !ev_ok(e) || e->exit <= 0 || e->ts == MODEL_NO_TIME)
			continue;
		if (is_syscall(e, "clone") && (e->a[0] & 0x10000))
			continue;
		f = pm_get(&fork_of, (int)e->exit);
		if (f < 0)
			continue;
		/* with a first estimate, ignore pairs a PID reuse made up (over 1 s apart) */
		if (m->clock_offset != MODEL_NO_TIME &&
		    llabs(e->ts - (m->pevents[f].mono + m->clock_offset)) > 1000000000LL)
			continue;
		*MODEL_PUSH(d, n, cap) = e->ts - m->pevents[f].mono;
		n++;
	}
	free(fork_of.v);
	if (n) {
		qsort(d, n, sizeof(*d), cmp_i64); /* n >= 1 here */
		m->clock_offset = d[n / 2] + 500000LL;
		for (size_t i = 0; i < m->npevents; i++)
			if (m->pevents[i].mono != MODEL_NO_TIME)
				m->pevents[i].ts = m->pevents[i].mono + m->clock_offset;
		for (size_t i = 0; i < m->nsnaps; i++)
			if (m->snaps[i].start_mono != MODEL_NO_TIME)
				m->snaps[i].start = m->snaps[i].start_mono + m->clock_offset;
	}
	free(d);
}

int merge_run(struct model *m)
{
	struct pidmap live = { 0 }, last = { 0 };
	size_t i;

	calibrate_clock(m);
	from_snapshot(m, &live);
	for (i = 0; i < m->npevents; i++) {
		const struct m_pevent *e = &m->pevents[i];
		int idx;

		switch (e->what) {
		case W_FORK:
			on_pfork(m, &live, e);
			break;
		case W_EXEC:
			on_pexec(m, &live, e);
			break;
		case W_EXIT:
			on_pexit(m, &live, &last, e);
			break;
		case W_COMM:
			idx = pm_get(&live, e->tgid);
			if (idx >= 0 && e->comm)
				m->procs[idx].comm = e->comm;
			if (idx >= 0 && e->comm && strncmp(e->comm, "runc:[", 6) == 0)
				m->procs[idx].runc_stage = true;
			break;
		default:
			break;
		}
	}
	free(live.v);
	free(last.v);
	m->audit_only = m->npevents == 0 && m->nsnaps == 0 && m->nevents > 0;
	if (m->audit_only) {
		merge_audit_only(m);
	} else {
		attach_events(m);
		fallback_parents(m);
	}
	for (i = 0; i < m->nprocs; i++) {
		struct m_proc *p = &m->procs[i];

		if (p->nexecs > 1)
			qsort(p->execs, p->nexecs, sizeof(*p->execs), cmp_exec);
		if (p->parent >= 0)
			model_proc_add_child(&m->procs[p->parent], (int)i);
	}
	g_sort = m;
	for (i = 0; i < m->nprocs; i++)
		if (m->procs[i].nchildren > 1)
			qsort(m->procs[i].children, m->procs[i].nchildren, sizeof(int), cmp_child);
	g_sort = NULL;
	make_keys(m);
	return 0;
}
