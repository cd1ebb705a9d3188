/* procfs.h — the /proc reader: what /proc shows about one pid (procfs_read, procfs_read_ex),
 * only its container and namespace ids (procfs_read_ids), every pid (procfs_snapshot). Which
 * facts to read when, and the cache of what was read, are enrich.h's policy, not this file's.
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

/* How a read goes. flags: PROCFS_SKIP_STATUS leaves tgid (= pid), uid and threads unread;
 * PROCFS_SKIP_IDS leaves container, mnt_ns and pid_ns unread (the caller has them).
 * cgroup_id, when set, turns the text of /proc/PID/cgroup into a container id in place of
 * container_id_from_cgroup() (a cache of its own): 0, or < 0 for "no container". */
#define PROCFS_SKIP_STATUS 0x1u
#define PROCFS_SKIP_IDS 0x2u
#define PROCFS_SKIP_STAT 0x4u /* procfs_read_ids: start_ticks and ppid left 0 */
struct procfs_read_opts {
	unsigned flags;
	int (*cgroup_id)(void *opaque, const char *text, size_t len,
			 char ret[CONTAINER_ID_LEN + 1]);
	/* issue 16: when set, asked first for pid's container id; 0 (ret filled) means
	 * /proc/PID/cgroup is not read, < 0 that it is. */
	int (*container_fast)(void *opaque, pid_t pid, char ret[CONTAINER_ID_LEN + 1]);
	void *opaque;
};

/* procfs_read() with options (o may be NULL: everything, container_id_from_cgroup). */
int procfs_read_ex(const char *proc_root, pid_t pid, const struct procfs_read_opts *o,
		   struct procfs_proc *ret);

/* Only the cheap ids, and the start time to tell two processes with the same pid apart. */
struct procfs_ids {
	char container[CONTAINER_ID_LEN + 1]; /* "" for a host process */
	uint64_t mnt_ns, pid_ns;              /* 0 when unreadable */
	uint64_t start_ticks;                 /* stat field 22 */
	pid_t ppid;
};

/* stat, cgroup, ns/mnt, ns/pid of pid (o may be NULL; of its flags only PROCFS_SKIP_STAT). 0 and *ret,
 * or -ESRCH when the process is gone, other -errno on failure (*ret untouched). */
int procfs_read_ids(const char *proc_root, pid_t pid, const struct procfs_read_opts *o,
		    struct procfs_ids *ret);

/* Parse the text of a stat file (len bytes): comm (may contain spaces and ')'), state, ppid
 * and start time (field 22). Exposed for tests and the fuzz target. 0 or -EINVAL. */
int procfs_parse_stat(const char *text, size_t len, char ret_comm[17], char *ret_state,
		      pid_t *ret_ppid, uint64_t *ret_start_ticks);

/* Call fn for every process (numeric entry of proc_root, thread group leaders only) that was
 * still there when read; p is valid only during the call. fn returns 0 to go on, < 0 to stop
 * (that value is returned). Returns the number of processes passed to fn, or -errno. */
int procfs_snapshot(const char *proc_root, int (*fn)(void *opaque, const struct procfs_proc *p),
		    void *opaque);

#endif
