/* model.h — the filter's in-memory model of one session, independent of bson: the raw
 * documents as the loader converted them (events, proc_events, snapshot) and the derived
 * processes, containers and files the later steps fill in.
 *
 * Ownership: a struct model owns everything reachable from it. Strings are allocated from the
 * model's arena (model_strdup) and freed all at once by model_release(); arrays grow with
 * model_grow() and are freed by model_release() too. Indices (int, -1 = none) link records
 * to each other, never pointers, so arrays can grow. */
#ifndef LINEAGE_FILTER_MODEL_H
#define LINEAGE_FILTER_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MODEL_NO_TIME INT64_MIN /* a time that is not known */
#define MODEL_AT_FDCWD (-100)

/* --- raw input ------------------------------------------------------------------------- */

struct m_path {
	const char *name;     /* as the process passed it (may be relative) */
	const char *nametype; /* NORMAL, PARENT, CREATE, DELETE, ... or NULL */
	int64_t inode;        /* -1 unknown */
	const char *dev;      /* "00:27" or NULL */
	int64_t mode;
};

struct m_event { /* one `events` document (audit) */
	int64_t seq, serial;
	int64_t ts;          /* wall ns (ms precision from audit) */
	const char *syscall; /* name */
	bool has_success, success;
	bool has_exit;
	int64_t exit;
	int pid, ppid;       /* pid is the tgid */
	int64_t uid, euid;   /* -1 when absent */
	const char *comm, *exe, *cwd, *container;
	int64_t a[4];
	bool has_fd;
	int64_t fd;
	/* issue 17, decoded by the listener (schema.h): dup*, fcntl, close_range */
	bool has_old_fd, has_new_fd, has_fd_range, has_cloexec, cloexec;
	int64_t old_fd, new_fd, fd_first, fd_last;
	const char *fcntl_cmd; /* "F_DUPFD", "F_DUPFD_CLOEXEC", "F_SETFD" or NULL */
	const char **flags;
	size_t nflags;
	struct m_path *paths;
	size_t npaths;
	const char **argv;
	size_t argc;
	int proc; /* filled by merge: index into model.procs, -1 unknown */
};

enum m_what { W_OTHER = 0, W_FORK, W_EXEC, W_EXIT, W_COMM };

struct m_pevent { /* one `proc_events` document (cn_proc) */
	int64_t seq;
	int64_t ts;   /* wall ns: from ts_ns + the session's clock offset when known, else ts */
	int64_t mono; /* ts_ns (monotonic since boot), MODEL_NO_TIME when absent */
	enum m_what what;
	int pid, tgid, parent_pid, parent_tgid, child_pid, child_tgid;
	bool thread;
	/* exec enrichment */
	const char *exe, *cwd, *root, *comm;
	bool has_container; /* the listener looked (field present, even null) */
	const char *container;
	const char **argv;
	size_t argc;
	int64_t mnt_ns, pid_ns;
	bool gone;
	/* exit */
	bool has_status;
	int64_t status;    /* raw wait status */
	int exit_code;     /* decoded */
	int signal;        /* 0 when none */
};

struct m_snap { /* one `snapshot` document */
	int pid, tgid, ppid, threads;
	int64_t start;      /* wall ns, MODEL_NO_TIME unknown */
	int64_t start_mono; /* ns since boot from start_ticks, MODEL_NO_TIME unknown */
	const char *exe, *cwd, *root, *container;
	const char **argv;
	size_t argc;
};

/* issue 28: one mount of a container's recorded table (schema.h SCHEMA_F_MOUNTS), and one
 * overlay lower dir; all strings arena-owned */
struct m_mount {
	const char *dest, *source, *kind, *fstype, *propagation, *name, *origin;
	bool ro;
};
struct m_layer {
	const char *dir, *layer, *cache_id;
};

struct m_cfacts { /* one `container_facts` document (issue 17): what the listener read */
	const char *id, *runtime, *name, *image, *image_id, *created;
	const char *rootfs, *rootfs_src, *pod_name, *pod_namespace, *k8s_container;
	/* issue 28 (filter/hostpath.h): arena arrays, NULL/0 when the listener recorded none */
	struct m_mount *mounts;
	size_t nmounts;
	const char *upper, *overlay_src;
	struct m_layer *lowers;
	size_t nlowers;
};

/* --- derived ----------------------------------------------------------------------------- */

struct m_exec {
	int64_t ts;
	const char *exe;
	const char **argv;
	size_t argc;
	bool runtime; /* the image is a container runtime (runc, crun, ...) */
	bool from_proc;  /* seen by the proc connector (its exec event) */
	bool from_audit; /* seen by audit (a successful execve/execveat) */
};

enum m_parent_src { PSRC_NONE = 0, PSRC_FORK, PSRC_SNAPSHOT, PSRC_AUDIT_CLONE, PSRC_AUDIT_PPID };
/* XSRC_INFERRED (issue 30, audit-only sessions): no exit recorded; the last event's time */
enum m_exit_src { XSRC_NONE = 0, XSRC_PROC, XSRC_AUDIT, XSRC_INFERRED };
enum m_entry { ENTRY_NONE = 0, ENTRY_INIT, ENTRY_EXEC };

struct m_proc {
	int tgid;
	char key[48];        /* "tgid@start" */
	int64_t start;       /* wall ns, MODEL_NO_TIME unknown */
	int64_t start_mono;  /* ns since boot, MODEL_NO_TIME unknown */
	const char *start_src; /* "fork", "snapshot", "exec", "audit" */
	int *threads;        /* thread ids (tids) seen, leader first */
	size_t nthreads;
	int parent;          /* index of the real parent (from fork), -1 unknown */
	int parent_tgid;     /* as reported, even when the parent is unknown (-1 none) */
	enum m_parent_src parent_src;
	int parent_at_exit;  /* index, -1 unknown */
	int parent_at_exit_tgid;
	bool exited;
	int64_t exit;        /* wall ns, MODEL_NO_TIME when running or unknown */
	enum m_exit_src exit_src;
	bool has_exit_code;
	int exit_code, signal;
	struct m_exec *execs;
	size_t nexecs;
	const char *comm, *cwd, *root;
	const char *container; /* 64-hex or NULL */
	const char *container_src; /* "cgroup", "snapshot", "audit", "inherited", "runtime-argv" */
	bool container_known;  /* container was observed (NULL then means host) */
	bool runc_stage;       /* had a comm "runc:[N:...]" (runc's nsexec stages) */
	bool runtime;          /* a runtime helper (runc init stages): not in the container tree */
	bool from_snapshot;
	int *events;           /* indices into model.events, in seq order */
	size_t nevents;
	int *children;         /* indices, by start */
	size_t nchildren;
	int depth;             /* -1 unknown */
	enum m_entry entry;
	int cont;              /* index into model.conts, -1 none */
	int pivot_event;       /* index of its successful pivot_root event, -1 none */
	const char *rootfs;    /* host path of its root when in a container, else NULL */
	size_t cap_threads, cap_execs, cap_events, cap_children;
};

struct m_cont {
	const char *id;
	const char *rootfs;     /* NULL unknown */
	const char *rootfs_src; /* "chdir+pivot_root", "chdir-before-pivot_root", "oci-config",
				 * "overlay-mount", NULL */
	const char *name, *image; /* the listener's container_facts, else docker's config.v2.json
				   * at filter time; NULL unknown */
	const char *name_src, *image_src; /* SCHEMA_SRC_LISTENER, SCHEMA_SRC_FILTER_TIME, NULL */
	const struct m_cfacts *facts;     /* the listener's facts of this container, or NULL */
	int init;               /* process index, -1 none */
	int64_t start, end;     /* wall ns; end MODEL_NO_TIME while a member runs */
	int *tree;              /* BFS order: init's tree, then each exec'd subtree */
	size_t ntree, cap_tree;
	int *exec_roots;
	size_t nexec_roots, cap_exec_roots;
	size_t nfiles;          /* files entries of its processes (files_run) */
};

struct m_file {
	int proc;
	const char *path;      /* absolute, cleaned, as the process saw it */
	const char *host_path; /* through the rootfs, NULL when unknown */
	/* issue 28 (filter/hostpath.h): how host_path was found (SCHEMA_F_HOST_PATH_KIND), where
	 * an overlay file stays, the image layer, the container path of the mount; NULL none */
	const char *host_kind, *stored_path, *layer, *mount;
	bool in_root;          /* opened after its container's pivot_root (container paths) */
	bool path_resolved;    /* false: relative to a directory fd the filter does not know */
	int64_t fd;            /* -1 for failed opens */
	int64_t open, close;   /* wall ns; close MODEL_NO_TIME when never closed and running */
	bool close_inferred;
	const char *close_reason; /* "close", "exit", "exec-cloexec", "fd-reused", "running" */
	const char **flags;
	size_t nflags;
	bool write;
	int64_t bytes_written;
	bool failed;
	int64_t error;          /* negative errno for failed opens */
	const char *syscall;
	int64_t open_seq;       /* seq of the event that made the entry: the open, or for an
				 * inherited one the first write through it (unique either way) */
	/* issue 17: fd aliases */
	int64_t *fds;           /* arena-owned: every fd that referred to it, distinct, first
				 * the one it was opened (or first written) as; at most
				 * MODEL_MAX_FILE_FDS */
	size_t nfds, cap_fds;
	bool inherited;         /* got at fork, first written through by this process */
	int origin;             /* inherited: index of the opener's entry, else -1 */
};

#define MODEL_MAX_FILE_FDS 64

struct m_counters {
	size_t unknown_process_events; /* audit events whose process had no proc-connector view */
	size_t audit_only_processes;
	size_t thread_of_unknown;
	size_t missed_exits;           /* a new fork of a tgid still believed alive */
	size_t containers_without_rootfs;
	size_t containers_without_init;
	size_t unresolved_dirfd;
	size_t inferred_closes;
	size_t failed_opens;
	size_t fd_aliases;       /* dup/dup2/dup3/F_DUPFD* of a followed fd */
	size_t inherited_files;  /* entries for fds got at fork and written through */
	size_t bad_segments;     /* raw segments that did not decode (issue 33): left out */
};

struct model_chunk;

struct model {
	struct m_event *events;
	size_t nevents, cap_events;
	struct m_pevent *pevents;
	size_t npevents, cap_pevents;
	struct m_snap *snaps;
	size_t nsnaps, cap_snaps;
	struct m_cfacts *cfacts;
	size_t ncfacts, cap_cfacts;

	struct m_proc *procs;
	size_t nprocs, cap_procs;
	struct m_cont *conts;
	size_t nconts, cap_conts;
	struct m_file *files;
	size_t nfiles, cap_files;

	int *by_tgid; /* process indices sorted by (tgid, start), built by merge */
	size_t nby_tgid;

	int64_t clock_offset; /* wall ns - monotonic ns, MODEL_NO_TIME unknown */
	/* issue 30: no proc_events and no snapshot (an imported auditd log): merge rebuilds
	 * lifetimes from audit alone (set by merge_run) */
	bool audit_only;
	/* Where rootfs_run() reads docker's and containerd's state (rootfs fallback, name,
	 * image); not owned. NULL: not read (model_init's default, the unit tests' hand-made
	 * sessions). runtime_roots are tried in order, NULL entries skipped. */
	const char *docker_root;
	const char *runtime_roots[2];
	/* issue 19: the scope the session was recorded with (sessions.scope.summary), not
	 * owned; NULL for a session from before scopes (the whole host) */
	const char *scope;
	struct m_counters n;
	struct model_chunk *arena;
	/* the evidence chain's verdict (issue 21, filter/integrity.h), copied into every
	 * containers document; not owned; NULL: not checked */
	const struct integrity *integrity;
};

void model_init(struct model *m);
/* Free everything the model owns; the struct itself may then be reused after model_init. */
void model_release(struct model *m);

/* Copy s (NULL gives NULL) into the model's arena: valid until model_release(). Aborts on
 * out-of-memory like every allocation of the filter (a batch job: nothing to save). */
const char *model_strdup(struct model *m, const char *s);
const char *model_strndup(struct model *m, const char *s, size_t n);
void *model_alloc(struct model *m, size_t size); /* zeroed, arena-owned */

/* Make room for one more element in *arr (size elem, count n, capacity *cap) with realloc;
 * returns a pointer to the zeroed new slot; the caller increments n. */
void *model_grow(void **arr, size_t elem, size_t n, size_t *cap);
#define MODEL_PUSH(arr, n, cap) ((__typeof__(&(arr)[0]))model_grow((void **)&(arr), sizeof((arr)[0]), (n), &(cap)))

/* Append to one of a process's index lists. */
void model_proc_add_thread(struct m_proc *p, int tid);
void model_proc_add_event(struct m_proc *p, int ev);
void model_proc_add_child(struct m_proc *p, int child);

/* A new zeroed process with every index at -1; returns its index. */
int model_proc_new(struct model *m, int tgid);

/* Is argv[0]/exe a container runtime binary (runc, crun, youki, runsc)? */
bool model_is_runtime_image(const char *exe, const char *argv0);

/* 1 when s is a 64-character lower-case hex string (a container id). */
bool model_is_container_id(const char *s);

#endif
