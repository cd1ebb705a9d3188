/* procfs.h — what /proc shows about a process: one pid (procfs_read), every pid
 * (procfs_snapshot), and a bounded per-tgid cache of {container, mnt_ns, pid_ns} (pcache).
 *
 * proc_root is a directory laid out like /proc (NULL means "/proc"), so tests can point it at
 * a fixture tree. Reading /proc races with the process: a process may exit between two files;
 * that is reported (gone), never an error. No logging here: callers report. */
#ifndef LINEAGE_PROCFS_H
#define LINEAGE_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "container.h"

#define PROCFS_DEFAULT_ROOT "/proc"
#define PROCFS_ARGV_MAX 256          /* arguments kept; more sets argv_truncated */
#define PROCFS_CMDLINE_MAX 32768     /* bytes of cmdline read; more sets argv_truncated */
#define PROCFS_PATH_MAX 4096         /* exe, cwd, root link targets */

struct procfs_proc {
	pid_t pid;            /* as asked */
	pid_t tgid, ppid;     /* from status */
	int threads;          /* from status */
	uid_t uid;            /* real uid, from status */
	uint64_t start_ticks; /* stat field 22: start time after boot, in clock ticks */
	char comm[17];        /* stat field 2, without the parentheses */
	char state;           /* stat field 3 ('Z' zombie, …) */
	char *exe, *cwd, *root; /* link targets, NULL when unreadable (kernel threads, zombies) */
	char **argv;          /* argc strings then NULL; NULL when cmdline is empty */
	size_t argc;
	bool argv_truncated;
	char container[CONTAINER_ID_LEN + 1]; /* "" for a host process */
	uint64_t mnt_ns, pid_ns; /* namespace inodes, 0 when unreadable */
	bool gone;            /* the process exited before or while being read */
};

/* Read pid under proc_root. Returns 0 and fills *ret — with ret->gone = true and nothing else
 * but pid when the process no longer exists; -errno on other failures (-ENOMEM, -EACCES on
 * stat, -EINVAL for a non-positive pid or an unparsable stat). On success the caller owns the
 * strings in *ret and releases them with procfs_proc_release(); on failure *ret is zeroed
 * (release is still safe). */
int procfs_read(const char *proc_root, pid_t pid, struct procfs_proc *ret);
void procfs_proc_release(struct procfs_proc *p);

/* Only the cheap ids: container, mnt_ns, pid_ns (3 small reads). 0, or -ESRCH when gone. */
int procfs_read_ids(const char *proc_root, pid_t pid, char ret_container[CONTAINER_ID_LEN + 1],
		    uint64_t *ret_mnt_ns, uint64_t *ret_pid_ns);

/* Parse the text of a stat file (len bytes): comm (may contain spaces and ')'), state, ppid
 * and start time (field 22). Exposed for tests and the fuzz target. 0 or -EINVAL. */
int procfs_parse_stat(const char *text, size_t len, char ret_comm[17], char *ret_state,
		      pid_t *ret_ppid, uint64_t *ret_start_ticks);

/* Call fn for every process (numeric entry of proc_root, thread group leaders only) that was
 * still there when read; p is valid only during the call. fn returns 0 to go on, < 0 to stop
 * (that value is returned). Returns the number of processes passed to fn, or -errno. */
int procfs_snapshot(const char *proc_root, int (*fn)(void *opaque, const struct procfs_proc *p),
		    void *opaque);

/* ---- per-tgid cache ---- */
struct pcache_entry {
	pid_t tgid;
	char container[CONTAINER_ID_LEN + 1]; /* "" for a host process */
	uint64_t mnt_ns, pid_ns;
};

struct pcache_stats {
	uint64_t hits, misses, evictions, invalidations, gone;
	size_t size, max;
};

struct pcache;

/* A cache of at most max entries (max >= 1), reading proc_root (NULL: "/proc"; copied).
 * Safe to use from several threads. *ret is owned by the caller: pcache_free(). */
int pcache_new(size_t max, const char *proc_root, struct pcache **ret);
void pcache_free(struct pcache *c);

/* The entry of tgid: from the cache, else read from proc_root and cached (evicting the
 * oldest entry when full). Returns 0 and copies into *ret; -ESRCH when the process is gone
 * (nothing cached); other -errno on read failure. */
int pcache_lookup(struct pcache *c, pid_t tgid, struct pcache_entry *ret);

/* Set the entry of e->tgid (replacing any): a child inherits its parent's entry at fork, so
 * that events of a process too short-lived to be read from /proc still get their container. */
void pcache_put(struct pcache *c, const struct pcache_entry *e);

/* Forget tgid (call at exec — setns/cgroup moves happen around it — and at exit). */
void pcache_invalidate(struct pcache *c, pid_t tgid);

void pcache_get_stats(struct pcache *c, struct pcache_stats *ret);

#endif
