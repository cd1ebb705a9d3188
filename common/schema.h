/* schema.h — the one place for lineage's collection and field names: the contract between the
 * listener, the filter, lineage-query, the tests (tests/e2e/schema.py reads this file) and
 * users' own queries (README). Change a name only on purpose, here, everywhere at once.
 *
 * Raw collections (listener, append-only) are shared by every session and always queried by
 * {session: …} first. The filter's output lives in collections of their own per session and
 * per filter run ("generation"): `<kind>.<session hex>.<gen>`, named in the session document's
 * `filter` sub-document, so a re-run writes new collections, switches the pointer with one
 * update (readers see the old output or the new, never half of each) and drops the old ones
 * (a DROP, not a delete per document). Header only: no code, no dependencies. */
#ifndef LINEAGE_SCHEMA_H
#define LINEAGE_SCHEMA_H

/* --- collections ------------------------------------------------------------------------ */
#define SCHEMA_SESSIONS "sessions"	   /* one per listener run */
#define SCHEMA_EVENTS "events"		   /* assembled audit events */
#define SCHEMA_PROC_EVENTS "proc_events"   /* proc connector fork/exec/exit/... */
#define SCHEMA_SNAPSHOT "snapshot"	   /* processes alive at listener start */
/* filter output kinds: the collection is SCHEMA_OUT_NAME(kind, session hex, gen) */
#define SCHEMA_PROCESSES "processes"
#define SCHEMA_CONTAINERS "containers"
#define SCHEMA_FILES "files"
/* "<kind>.<24 hex>.<gen>": at most 10 + 1 + 24 + 1 + 20 + NUL */
#define SCHEMA_OUT_NAME_MAX 64
#define SCHEMA_OUT_FMT "%s.%s.%lld"

/* --- fields every raw document carries ---------------------------------------------------- */
#define SCHEMA_F_ID "_id"	  /* "<session hex>:<seq>" for listener documents */
#define SCHEMA_F_SESSION "session" /* ObjectId of the listener run */
#define SCHEMA_F_SEQ "seq"	  /* listener's own monotonic number */
#define SCHEMA_F_TS "ts"
#define SCHEMA_F_CONTAINER "container" /* 64-hex container id or null (host) */

/* --- sessions ------------------------------------------------------------------------------ */
#define SCHEMA_F_HOST "host" /* in sessions only: constant per session */
#define SCHEMA_F_STARTED_AT "started_at"
#define SCHEMA_F_ENDED_AT "ended_at"
#define SCHEMA_F_COUNTERS "counters"
/* {arch, tty, key}: what an event that leaves these out had (listener/event_doc.h) */
#define SCHEMA_F_DEFAULTS "defaults"
/* written by the filter: {gen, at, processes, containers, files (collection names), counts} */
#define SCHEMA_F_FILTER "filter"
#define SCHEMA_F_FILTER_GEN "gen"
#define SCHEMA_F_FILTER_AT "at"
#define SCHEMA_F_FILTER_COUNTS "counts"

/* --- events / proc_events / snapshot -------------------------------------------------------- */
#define SCHEMA_F_PID "pid"
#define SCHEMA_F_TGID "tgid"
#define SCHEMA_F_PPID "ppid"
#define SCHEMA_F_SYSCALL "syscall"
#define SCHEMA_F_WHAT "what" /* proc_events: fork|exec|exit|... */
#define SCHEMA_F_PATHS "paths"
#define SCHEMA_F_ARGV "argv"
#define SCHEMA_F_KEY "key"

/* --- filter output -------------------------------------------------------------------------- */
#define SCHEMA_F_PROC_KEY "key" /* processes: "pid@start" */
#define SCHEMA_F_PATH "path"	/* files */

/* --- issue 17: fd aliases and runtime closes ------------------------------------------------ */
/* events: decoded by the listener for dup, dup2, dup3, fcntl (F_DUPFD, F_DUPFD_CLOEXEC,
 * F_SETFD) and close_range; the written fd of the write family (write, pwrite64, writev,
 * pwritev, pwritev2, sendfile, sendfile64: a0; copy_file_range, splice: a2) is SCHEMA_F_FD */
#define SCHEMA_F_FD "fd"	     /* close/write-family: the fd used; opens: the new fd */
#define SCHEMA_F_FLAGS "flags"	     /* decoded O_* (opens, dup3) or CLOSE_RANGE_* names */
#define SCHEMA_F_OLD_FD "old_fd"     /* dup*, fcntl: the fd duplicated (fcntl: a0) */
#define SCHEMA_F_NEW_FD "new_fd"     /* dup/fcntl: exit value (on success); dup2/dup3: a1 */
#define SCHEMA_F_CLOEXEC "cloexec"   /* bool: new_fd has FD_CLOEXEC (dup3 O_CLOEXEC,
				      * F_DUPFD_CLOEXEC), or F_SETFD's new FD_CLOEXEC state */
#define SCHEMA_F_FCNTL_CMD "fcntl_cmd" /* "F_DUPFD", "F_DUPFD_CLOEXEC", "F_SETFD", else the number */
#define SCHEMA_F_FD_FIRST "fd_first" /* close_range: a0, unsigned */
#define SCHEMA_F_FD_LAST "fd_last"   /* close_range: a1, unsigned (4294967295 = ~0U) */
/* files (filter output) */
#define SCHEMA_F_FDS "fds"		     /* every fd number that referred to this open file in
					      * that process, first the one it was opened (or first
					      * written) as */
#define SCHEMA_F_INHERITED "inherited"	     /* true: an fd the process got at fork, first
					      * written through here; open = the fork */
#define SCHEMA_F_INHERITED_FROM "inherited_from" /* process key of the opener */

#endif
