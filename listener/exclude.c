/* exclude.c — the set of processes never recorded and which processes are store servers
 * (see exclude.h). Owns the set; the kernel's rules for it are audit_source.c's. */
#include "exclude.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct exclude {
	pthread_mutex_t lock;
	pid_t pids[EXCLUDE_MAX], parents[EXCLUDE_MAX];
	size_t n_pids, n_parents;
};

int exclude_new(struct exclude **ret)
{
	struct exclude *x = calloc(1, sizeof(*x));

	if (!x)
		return -ENOMEM;
	pthread_mutex_init(&x->lock, NULL);
	*ret = x;
	return 0;
}

void exclude_free(struct exclude *x)
{
	if (!x)
		return;
	pthread_mutex_destroy(&x->lock);
	free(x);
}

static bool in(const pid_t *a, size_t n, pid_t v)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] == v)
			return true;
	return false;
}

/* Remove v from a[0..*n) keeping the order (the order is the order of discovery). */
static bool take(pid_t *a, size_t *n, pid_t v)
{
	for (size_t i = 0; i < *n; i++)
		if (a[i] == v) {
			memmove(a + i, a + i + 1, (*n - i - 1) * sizeof(*a));
			(*n)--;
			return true;
		}
	return false;
}

int exclude_add(struct exclude *x, pid_t tgid, enum exclude_what what)
{
	bool had_pid, had_parent;
	int r = 0;

	if (tgid <= 0 || (what != EXCLUDE_PROCESS && what != EXCLUDE_TREE))
		return -EINVAL;
	pthread_mutex_lock(&x->lock);
	had_pid = in(x->pids, x->n_pids, tgid);
	had_parent = in(x->parents, x->n_parents, tgid);
	if ((!had_pid && x->n_pids >= EXCLUDE_MAX) ||
	    (what == EXCLUDE_TREE && !had_parent && x->n_parents >= EXCLUDE_MAX)) {
		r = -ENOSPC;
		goto out;
	}
	if (!had_pid)
		x->pids[x->n_pids++] = tgid;
	if (what == EXCLUDE_TREE && !had_parent)
		x->parents[x->n_parents++] = tgid;
	r = had_pid && (what == EXCLUDE_PROCESS || had_parent) ? 1 : 0;
out:
	pthread_mutex_unlock(&x->lock);
	return r;
}

enum exclude_what exclude_remove(struct exclude *x, pid_t tgid)
{
	enum exclude_what was = EXCLUDE_NONE;

	pthread_mutex_lock(&x->lock);
	if (take(x->pids, &x->n_pids, tgid))
		was = EXCLUDE_PROCESS;
	if (take(x->parents, &x->n_parents, tgid))
		was = EXCLUDE_TREE;
	pthread_mutex_unlock(&x->lock);
	return was;
}

bool exclude_has(struct exclude *x, pid_t tgid)
{
	bool r;

	pthread_mutex_lock(&x->lock);
	r = in(x->pids, x->n_pids, tgid);
	pthread_mutex_unlock(&x->lock);
	return r;
}

bool exclude_has_parent(struct exclude *x, pid_t ppid)
{
	bool r;

	pthread_mutex_lock(&x->lock);
	r = in(x->parents, x->n_parents, ppid);
	pthread_mutex_unlock(&x->lock);
	return r;
}

enum exclude_what exclude_server(const char *comm, const char *parent_comm)
{
	static const char *const servers[] = { "mongod", "mongos", "ferretdb" };

	if (!comm)
		return EXCLUDE_NONE;
	for (size_t i = 0; i < sizeof(servers) / sizeof(servers[0]); i++)
		if (strcmp(comm, servers[i]) == 0)
			return EXCLUDE_PROCESS;
	/* a postmaster, not one of its children (those its TREE entry already covers) */
	if (strcmp(comm, "postgres") == 0 && !(parent_comm && strcmp(parent_comm, "postgres") == 0))
		return EXCLUDE_TREE;
	return EXCLUDE_NONE;
}
