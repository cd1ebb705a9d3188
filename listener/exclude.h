/* exclude.h — the processes the listener never records: itself, --exclude-pid, and the
 * store's servers (mongod, mongos, ferretdb; a PostgreSQL postmaster and its children, the
 * backends that do the store's writes). Recording them would feed the store what it does to
 * store what we record: a feedback loop. They are found at start (procfs snapshot) and again
 * whenever one is exec'd later: a server restarted after an outage, whose new pids the
 * start-up rules do not name. An entry ends with its process's exit, so a reused pid is
 * recorded again.
 *
 * Thread-safe (one mutex; a lookup scans at most EXCLUDE_MAX entries). No logging. */
#ifndef LINEAGE_EXCLUDE_H
#define LINEAGE_EXCLUDE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "audit_source.h"

#define EXCLUDE_MAX AUDIT_SOURCE_MAX_EXCLUDE

enum exclude_what {
	EXCLUDE_NONE = 0,
	EXCLUDE_PROCESS, /* the process (its threads included) */
	EXCLUDE_TREE,    /* the process and the children it forks (-F ppid=) */
};

struct exclude;

/* New empty set; *ret is the caller's: exclude_free() (accepts NULL). 0 or -ENOMEM. */
int exclude_new(struct exclude **ret);
void exclude_free(struct exclude *x);

/* Add tgid (EXCLUDE_TREE: also as a parent). 0 added, 1 already there (a TREE entry widens a
 * PROCESS one), -ENOSPC when EXCLUDE_MAX entries of that kind are held, -EINVAL. */
int exclude_add(struct exclude *x, pid_t tgid, enum exclude_what what);

/* tgid's process ended: forget it. Returns what it was (EXCLUDE_NONE: not held). */
enum exclude_what exclude_remove(struct exclude *x, pid_t tgid);

bool exclude_has(struct exclude *x, pid_t tgid);
bool exclude_has_parent(struct exclude *x, pid_t ppid);

/* Is a process with this comm a store server lineage must not record? parent_comm (may be
 * NULL: unknown) tells a postmaster (its parent is not postgres) from its children, which its
 * EXCLUDE_TREE entry covers. */
enum exclude_what exclude_server(const char *comm, const char *parent_comm);

#endif
