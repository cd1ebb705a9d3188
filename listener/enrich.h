/* enrich.h — which facts about a process come from where, and the cache of what /proc said.
 *
 * Policy (the one place it is written down):
 * - Audit records already carry ppid, uid/euid/…, comm, exe, cwd and the CWD/PATH records:
 *   none of that is read from /proc for events documents. What audit cannot say is the
 *   container (cgroup) and the namespaces a syscall ran in: those come from /proc here.
 * - The proc connector says fork/exec/exit with exact (monotonic) times but only ids; at exec
 *   the proc_events document records what /proc still shows (exe, argv, cwd, root, ppid,
 *   container, mnt_ns, pid_ns), read once (enrich_proc_exec).
 * - Cgroup and namespaces change without an exec only through setns, unshare (audited: the
 *   next audit event of that process re-reads them) and a runtime moving a pid into a cgroup
 *   before its exec (so an exec always counts as a change). Everything else of a lifetime is
 *   served from the cache. A process gone before such a re-read keeps what its lifetime had;
 *   one gone before any read gets its parent's (what it had at fork).
 * - One read of the ids per exec, shared by both threads: whichever thread handles the exec
 *   first reads them, the other takes them from the cache (the proc thread's read is
 *   triggered by the exec itself; the audit thread's by the execve's SYSCALL record, emitted
 *   after the exec).
 * - Entries are per process lifetime, not per pid: each knows its start (fork time, /proc
 *   start time) and exit, and an audit event is matched to the lifetime its timestamp falls
 *   in, so a reused pid never gets the entry of the process that had it before, also when
 *   the two streams lag behind each other. A pid's previous lifetime is kept beside the
 *   current one for audit records that arrive after the next fork of the pid.
 * - cgroup file text → container id is cached (a container's thousandth exec parses nothing),
 *   and the first time a container id is seen, cfg.on_new_container is called.
 * - Issue 16: reading /proc/PID/cgroup is the dearest part of a read (every hierarchy is
 *   formatted anew). Where the kernel can say a process's cgroup v2 id (pidfd, Linux 6.13+)
 *   and that v2 cgroup's path names a container, the id is taken from the path (cached per v2
 *   id: paths never change, ids are never reused) and the cgroup file is not read. A v2 path
 *   without a container decides nothing (a v1-only runtime leaves its containers in the v2
 *   root): the file is read, as before.
 *
 * Thread-safe (one mutex for the process cache, one for the cgroup cache; no /proc read
 * holds either). No logging: counters in struct enrich_stats. */
#ifndef LINEAGE_ENRICH_H
#define LINEAGE_ENRICH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "assemble.h"
#include "cn_proc.h"
#include "container.h"
#include "proc_doc.h"
#include "procfs.h"

struct enrich_config {
	size_t cache_max;          /* process entries (pids) kept, >= 1 */
	const char *proc_root;     /* NULL: /proc (copied) */
	struct proc_doc_clock clk; /* the session's clocks: audit and /proc times → monotonic */
	/* First sight of a container id (snapshot, exec, or an audit event's read), called from
	 * the thread that read it, without enrich's locks held; keep it short (queue the work).
	 * pid is a process seen in it. May be NULL. */
	void (*on_new_container)(void *opaque, const char id[CONTAINER_ID_LEN + 1], pid_t pid);
	void *opaque;
	bool no_cgroup2; /* never take the container from the v2 cgroup id (tests, measuring) */
};

struct enrich_stats {
	uint64_t audit_hits;      /* audit events served from the cache */
	uint64_t audit_reads;     /* /proc id reads by the audit thread */
	uint64_t exec_shared;     /* execs whose ids one thread read and the other reused */
	uint64_t proc_exec_reads; /* proc-connector execs read from /proc */
	uint64_t self_fallback;   /* gone before an exec's/setns's re-read: its own from before */
	uint64_t parent_fallback; /* gone before read: the parent's container used */
	uint64_t stale_rejected;  /* a read found a newer process under the pid (pid reused) */
	uint64_t gone;            /* gone before read, nothing known */
	uint64_t evictions;
	uint64_t cgroup_hits, cgroup_misses;
	/* issue 16: containers from the v2 cgroup id: served, first sights of a v2 cgroup, and
	 * v2 cgroups that name no container (the cgroup file read instead) */
	uint64_t cgroup2_hits, cgroup2_misses, cgroup2_text;
	int cgroup2_open; /* 0: in use; else why not (-EOPNOTSUPP: kernel before 6.13, ...) */
	uint64_t containers_seen;
	size_t size, max;
};

struct enrich;

/* New module; *ret is the caller's: enrich_free() (accepts NULL). 0, -EINVAL, -ENOMEM. */
int enrich_new(const struct enrich_config *cfg, struct enrich **ret);
void enrich_free(struct enrich *e);

/* A process of the start-up snapshot (or of a resync): its ids become its lifetime's. */
void enrich_snapshot_proc(struct enrich *e, const struct procfs_proc *p);

/* Proc-connector thread. fork: a new lifetime for the child (threads are ignored); exit: the
 * lifetime's end. */
void enrich_proc_fork(struct enrich *e, const struct cn_proc_event *ev);
void enrich_proc_exit(struct enrich *e, const struct cn_proc_event *ev);

/* exec: what /proc shows now, read once (the ids from the cache when the audit thread has
 * already read them after this exec). 0 with *ret filled (release with procfs_proc_release;
 * ret->gone when the process had exited), or -errno (*ret zeroed). */
int enrich_proc_exec(struct enrich *e, const struct cn_proc_event *ev, struct procfs_proc *ret);

/* Audit thread: the container of the process (tgid pid) that made event ev, into ret (""
 * for the host). 0, or -ENOENT when nothing is known (gone, and its parent unknown). */
int enrich_audit_container(struct enrich *e, const struct audit_event *ev, pid_t pid,
			   char ret[CONTAINER_ID_LEN + 1]);

/* The cgroup-text → container-id cache, as procfs_read_opts.cgroup_id wants it (opaque is the
 * struct enrich). Exposed for tests. 0, or -ENOENT for a host cgroup. */
int enrich_cgroup_id(void *opaque, const char *text, size_t len, char ret[CONTAINER_ID_LEN + 1]);

void enrich_get_stats(struct enrich *e, struct enrich_stats *ret);

#endif
