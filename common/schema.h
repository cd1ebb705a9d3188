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
/* written by the filter: {gen, at, processes, containers, files (collection names), counts} */
#define SCHEMA_F_FILTER "filter"
#define SCHEMA_F_FILTER_GEN "gen"
#define SCHEMA_F_FILTER_AT "at"

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

/* --- scope (issue 19): sessions.scope and counters ------------------------------------------ */
#define SCHEMA_F_SCOPE "scope"		       /* sessions: what was recorded */
#define SCHEMA_F_SCOPE_KIND "kind"	       /* all|host|containers */
#define SCHEMA_F_SCOPE_WHOLE_HOST "whole_host" /* false when anything narrowed the recording */
#define SCHEMA_F_SCOPE_SUMMARY "summary"       /* "all", "containers,uid=1000", ... */
#define SCHEMA_F_SCOPE_DROPPED "scope_dropped" /* counters: {audit: {reason: n}, proc: {...}} */
#define SCHEMA_F_SCOPE_DROPPED_TOTAL "scope_dropped_total"

#endif
