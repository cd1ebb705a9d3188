/* cgroup2.h — a process's cgroup v2 id without reading /proc (a pidfd and PIDFD_GET_INFO,
 * Linux 6.13+), and the path of a v2 cgroup from its id (open_by_handle_at on the cgroup2
 * mount; needs CAP_DAC_READ_SEARCH). Issue 16: /proc/PID/cgroup is the dearest file of an
 * exec's read (~23 µs: every hierarchy is formatted anew); the id costs three cheap syscalls
 * and the id → path answer never changes (a v2 cgroup cannot be renamed), so the caller can
 * cache it. Which answer may be trusted is enrich.h's policy, not this file's.
 *
 * Owns the cgroup2 mount's directory fd. Thread-safe after cgroup2_open (read-only state). */
#ifndef LINEAGE_CGROUP2_H
#define LINEAGE_CGROUP2_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cgroup2;

/* Find the cgroup2 mount (/sys/fs/cgroup/unified, else /sys/fs/cgroup, checked with statfs)
 * and check on the listener itself that both calls work here. 0 and *ret (the caller's:
 * cgroup2_close, which accepts NULL); -ENOENT without a cgroup2 mount, -EOPNOTSUPP when the
 * kernel lacks PIDFD_GET_INFO, another -errno (e.g. -EPERM without CAP_DAC_READ_SEARCH). */
int cgroup2_open(struct cgroup2 **ret);
void cgroup2_close(struct cgroup2 *c);

/* The v2 cgroup id of process pid (a thread group leader). 0, -ESRCH when it is gone (or
 * exited: no cgroup any more), other -errno. */
int cgroup2_pid_id(const struct cgroup2 *c, pid_t pid, uint64_t *ret);

/* The path of cgroup id below the v2 root ("/docker/<id>", "/" for the root) into buf (cap
 * bytes, NUL-terminated). 0, -ESTALE when the cgroup is gone, -ENAMETOOLONG, other -errno. */
int cgroup2_path(const struct cgroup2 *c, uint64_t id, char *buf, size_t cap);

#endif
