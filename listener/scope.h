/* scope.h — what the user asked to record (issue 19): --scope host|containers|all,
 * --container ID|NAME, --uid/--exclude-uid, a process tree (--command, --pid) and
 * --path-prefix/--exclude-path-prefix. Owns the scope configuration and the parsing of its
 * option values, the decision "keep or drop" for every audit and proc connector event (taken
 * before a document is built), the ancestry that a kept process needs (its ancestors'
 * fork/exec/exit are held back and stored when a descendant is kept: a tree never loses its
 * root), the counters of what was dropped and why, and the audit-rule fields the kernel can
 * filter (so unwanted events cost nothing).
 *
 * A process is in scope when every given condition holds: it descends from a --pid or the
 * --command (fork events, so double forks and reparenting do not matter); its uid is one of
 * --uid and none of --exclude-uid; it runs on the host (--scope host) or in a container or
 * in a container runtime's tree from the shim down (--scope containers); it runs in one of
 * the --container (id prefix, or the name docker's state gives at first sight of the id).
 * A file event (open, creat, rename, unlink) of a process in scope is kept when one of its
 * paths (absolute, as the process named it) is under a --path-prefix (when any is given) and
 * none is under an --exclude-path-prefix. Nothing is excluded by default: /proc, /sys and
 * /dev are kept. Snapshot documents are always kept (they are everybody's ancestry).
 *
 * Thread safety: scope_audit_event, scope_proc_event and the counters may be called from
 * different threads (one mutex). The flush callback runs with that mutex held: it must not
 * call back into scope. */
#ifndef LINEAGE_SCOPE_H
#define LINEAGE_SCOPE_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <bson/bson.h>

#include "assemble.h"
#include "audit_source.h"
#include "cn_proc.h"
#include "procfs.h"

#define SCOPE_MAX_ITEMS 16 /* per repeatable option */

enum scope_kind { SCOPE_ALL = 0, SCOPE_HOST, SCOPE_CONTAINERS };

struct scope_config {
	enum scope_kind kind;
	char *containers[SCOPE_MAX_ITEMS]; /* id prefixes or names, owned */
	size_t n_containers;
	uint32_t uids[SCOPE_MAX_ITEMS], exclude_uids[SCOPE_MAX_ITEMS];
	size_t n_uids, n_exclude_uids;
	pid_t pids[SCOPE_MAX_ITEMS];
	size_t n_pids;
	bool command;          /* --command: the command is the rest of the command line */
	char **command_argv;   /* borrowed from main's argv, NULL-terminated */
	char *path_prefixes[SCOPE_MAX_ITEMS], *exclude_path_prefixes[SCOPE_MAX_ITEMS]; /* owned */
	size_t n_path_prefixes, n_exclude_path_prefixes;
	const char *docker_root; /* where container names are read (default /var/lib/docker) */
};

/* getopt_long values of the scope options, and their table ({0}-terminated), for a
 * listener's option table to include. */
enum {
	SCOPE_OPT_SCOPE = 0x5300,
	SCOPE_OPT_CONTAINER,
	SCOPE_OPT_UID,
	SCOPE_OPT_EXCLUDE_UID,
	SCOPE_OPT_COMMAND,
	SCOPE_OPT_PID,
	SCOPE_OPT_PATH_PREFIX,
	SCOPE_OPT_EXCLUDE_PATH_PREFIX,
	SCOPE_OPT_END
};
extern const struct option scope_options[];

/* Take one option by its long name (without "--"; "command" has no value here and means the
 * command follows on the command line) and its value, as a command line or a config file
 * gives it. Returns 0; -ENOENT when name is not a scope option; -EINVAL (or -E2BIG: too many)
 * with a one-line reason in err. User names are resolved with getpwnam now. */
int scope_config_set(struct scope_config *c, const char *name, const char *value, char *err,
		     size_t errlen);

/* After all options: check they fit together. 0 or -EINVAL with a reason. */
int scope_config_check(const struct scope_config *c, char *err, size_t errlen);

/* True when anything narrows the recording (the default records everything). */
bool scope_config_active(const struct scope_config *c);

/* The --help lines of the scope options. */
void scope_config_usage(FILE *f);

/* Free what scope_config_set() stored; the struct is zeroed (all, whole host). */
void scope_config_release(struct scope_config *c);

/* ---- the scope at run time ---- */
enum scope_verdict {
	SCOPE_KEEP = 0,
	SCOPE_DROP_TREE,      /* not a descendant of --pid / --command */
	SCOPE_DROP_UID,       /* --uid / --exclude-uid */
	SCOPE_DROP_KIND,      /* --scope host|containers */
	SCOPE_DROP_CONTAINER, /* not one of --container */
	SCOPE_DROP_PATH,      /* --path-prefix / --exclude-path-prefix */
	SCOPE_NVERDICTS
};

/* Called (with the scope's mutex held) for every held fork/exec/exit/... event of a process
 * that became some kept process's ancestor (or was held before it was known to be kept):
 * build and store its document now. ev and info (NULL unless exec) valid during the call. */
typedef void (*scope_flush_fn)(void *opaque, const struct cn_proc_event *ev,
			       const struct procfs_proc *info);

struct scope;

/* A run-time scope from cfg (borrowed: must outlive the scope). *ret is freed with
 * scope_free(), which also releases what is still held. -ENOMEM. */
int scope_new(const struct scope_config *cfg, scope_flush_fn flush, void *opaque,
	      struct scope **ret);
void scope_free(struct scope *s);

/* Put into acfg what the kernel can filter: uids (always and never rules) and dir= rules
 * for path prefixes that are existing directories (exclusions unless they hold a container
 * runtime's data; inclusions only with --scope host, where paths are host paths). */
void scope_audit_config(struct scope *s, struct audit_source_config *acfg);

/* Every process of the start-up snapshot (parents, uids, containers, runtime trees; --pid
 * roots and their descendants alive now). Call before the proc connector thread starts. */
void scope_snapshot_proc(struct scope *s, const struct procfs_proc *p);
/* Finish the snapshot: descendants of --pid roots that were alive are in the tree. */
void scope_snapshot_done(struct scope *s);

/* A root of the recorded tree (the --command child, forked by the listener). 0 or -ENOMEM. */
int scope_add_root(struct scope *s, pid_t pid);

/* The decision for one assembled audit event of tgid pid (container: as the listener
 * stamps it, NULL or "" for the host). SCOPE_KEEP marks the process kept (and stores its
 * ancestry); any other verdict is counted. */
enum scope_verdict scope_audit_event(struct scope *s, const struct audit_event *ev, pid_t pid,
				     const char *container);

/* Does scope_audit_event() look at the container (--scope host|containers, --container)? If
 * not, call it with NULL before asking /proc for one. */
bool scope_needs_container(const struct scope *s);

/* The decision for one proc connector event; for exec, *info is what /proc showed (may be
 * gone). A dropped event may be held as ancestry: then scope takes the strings of *info
 * (and zeroes it, release stays safe). Every drop is counted. */
enum scope_verdict scope_proc_event(struct scope *s, const struct cn_proc_event *ev,
				    struct procfs_proc *info);

/* --pid / --command: true once every root has exited (as the proc connector said). */
bool scope_roots_gone(struct scope *s);

/* The session document's scope fields: kind, containers, uids, exclude_uids, pids, command,
 * path_prefixes, exclude_path_prefixes, whole_host, summary, kernel (the rule fields put into
 * the kernel). */
void scope_append_bson(struct scope *s, bson_t *scope_doc);

/* counters.scope_dropped {audit: {reason: n}, proc: {reason: n}, ancestry_kept,
 * ancestry_evicted} and the total of drops as counters.scope_dropped_total. */
void scope_append_counters(struct scope *s, bson_t *counters);

/* "scope all" or "scope containers,uid=1000 dropped 123 (audit path 100 ...)" for the stats
 * line. Writes at most len bytes. */
void scope_stats_text(struct scope *s, char *buf, size_t len);

/* Short text of the configuration ("all", "containers", "host,uid=1000,path=/home", ...),
 * the one stored as scope.summary. Owned by s. */
const char *scope_summary(struct scope *s);

#endif
