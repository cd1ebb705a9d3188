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
#define SCHEMA_SEARCH "search" /* issue 20: the search index of the others (search_format.h) */
#define SCHEMA_PAGES "pages"   /* issue 15: processes and files packed per container
				* (page_format.h), what lineage-query reads */
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
/* written by the filter: {gen, at, processes, containers, files, search, pages (collection
 * names), counts}; sessions filtered before them have no `search` / `pages` */
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
#define SCHEMA_F_FILES_COUNT "files" /* containers: its files entries (issue 15) */
#define SCHEMA_F_UID "uid"	/* events */
#define SCHEMA_F_EUID "euid"
#define SCHEMA_F_UIDS "uids"	/* processes: every uid and euid its events ran with (issue 20) */
/* search: {_id, session, what, part, n, data}: part 0, 1, … of what's index, n records */
#define SCHEMA_F_SEARCH_WHAT "what"
#define SCHEMA_SEARCH_PATHS "paths" /* distinct files.path */
#define SCHEMA_SEARCH_PROCS "procs" /* every exec of processes: key, exe, argv */
#define SCHEMA_F_SEARCH_PART "part"
#define SCHEMA_F_SEARCH_N "n"
#define SCHEMA_F_SEARCH_DATA "data" /* binary (subtype 0), search_format.h */
/* pages: {_id, session, kind, page_key, part, n, raw_len, codec, data} */
#define SCHEMA_F_PAGE_KIND "kind"	  /* SCHEMA_PROCESSES | SCHEMA_FILES */
#define SCHEMA_F_PAGE_KEY "page_key"	  /* the documents' container id, or "host" */
#define SCHEMA_PAGE_HOST "host"
#define SCHEMA_F_PAGE_PART "part"	  /* 0, 1, … over the run, in write order */
#define SCHEMA_F_PAGE_N "n"		  /* documents in it */
#define SCHEMA_F_PAGE_RAW_LEN "raw_len"  /* bytes of the documents, uncompressed */
#define SCHEMA_F_PAGE_CODEC "codec"	  /* PAGE_CODEC_ZLIB */
#define SCHEMA_F_PAGE_DATA "data"	  /* binary: the compressed documents */

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
/* --- issue 18: a session opened or closed while the database is away ----------------------- */
/* Spool label (not a collection) of close records: {_id: session ObjectId, ended_at, counters}
 * that the writer applies as a $set on the sessions document when it replays them. */
#define SCHEMA_SPOOL_SESSION_CLOSE "sessions-close"
/* --- issue 17: container facts at first sight (listener) and their sources (filter) ------- */
#define SCHEMA_CONTAINER_FACTS "container_facts" /* raw: one per container id first seen */
#define SCHEMA_F_RUNTIME "runtime"	 /* docker | containerd | cri-o | podman | null */
#define SCHEMA_F_NAME "name"
#define SCHEMA_F_IMAGE "image"		 /* as asked for (Config.Image) */
#define SCHEMA_F_IMAGE_ID "image_id"	 /* "sha256:…" */
#define SCHEMA_F_CREATED "created"	 /* the runtime's creation time, as it wrote it */
#define SCHEMA_F_ROOTFS "rootfs"	 /* host path of the container's root */
#define SCHEMA_F_ROOTFS_SOURCE "rootfs_source"
#define SCHEMA_F_POD_NAME "pod_name"	 /* Kubernetes labels io.kubernetes.* */
#define SCHEMA_F_POD_NAMESPACE "pod_namespace"
#define SCHEMA_F_K8S_CONTAINER "k8s_container"
#define SCHEMA_F_SEEN_PID "seen_pid"	 /* the process it was first seen in */
/* filter: where each container fact came from */
#define SCHEMA_F_NAME_SOURCE "name_source"
#define SCHEMA_F_IMAGE_SOURCE "image_source"
#define SCHEMA_SRC_LISTENER "listener"	 /* container_facts of the session */
#define SCHEMA_SRC_FILTER_TIME "filter-time" /* the runtime's state when the filter ran */
/* --- scope (issue 19): sessions.scope and counters ------------------------------------------ */
#define SCHEMA_F_SCOPE "scope"		       /* sessions: what was recorded */
#define SCHEMA_F_SCOPE_KIND "kind"	       /* all|host|containers */
#define SCHEMA_F_SCOPE_WHOLE_HOST "whole_host" /* false when anything narrowed the recording */
#define SCHEMA_F_SCOPE_SUMMARY "summary"       /* "all", "containers,uid=1000", ... */
#define SCHEMA_F_SCOPE_DROPPED "scope_dropped" /* counters: {audit: {reason: n}, proc: {...}} */
#define SCHEMA_F_SCOPE_DROPPED_TOTAL "scope_dropped_total"
/* --- evidence integrity (issues 21, 33): the hash chain over segments (common/chain.h) ---
 * Each segment carries link and prev (the issue 33 block below). SCHEMA_CHAIN is the
 * collection of link documents of sessions recorded before segments: only `lineage-query
 * convert` reads it (to delete it). The session document's `chain` says the chain exists
 * (at open: algo, version) and carries its end (at close). */
#define SCHEMA_CHAIN "chain"		  /* before issue 33: the links */
#define SCHEMA_F_CHAIN "chain"		  /* sessions: {algo, version} at open; */
#define SCHEMA_F_CHAIN_ALGO "algo"	  /*   at close also links, head, docs, counts, */
#define SCHEMA_F_CHAIN_VERSION "version" /*   complete (false: something stayed in the spool) */
#define SCHEMA_F_CHAIN_LINKS "links"	  /* segments chained: the last link + 1 */
#define SCHEMA_F_CHAIN_HEAD "head"	  /* binary 32: SHA-256 of the last segment document */
#define SCHEMA_F_CHAIN_DOCS "docs"
#define SCHEMA_F_CHAIN_COUNTS "counts" /* {events: n, proc_events: n, snapshot: n,
					* container_facts: n} */
#define SCHEMA_F_CHAIN_COMPLETE "complete"
/* the filter's verdict, in the session document's filter sub-document: {status, summary} */
#define SCHEMA_F_FILTER_INTEGRITY "integrity"
#define SCHEMA_F_INTEGRITY_STATUS "status"
#define SCHEMA_F_INTEGRITY_SUMMARY "summary"

/* --- issue 33: raw events stored as compressed segments (common/segment.h) ---------------
 * The listener's documents of events, proc_events, snapshot and container_facts (the names
 * above are their streams) are stored packed, SEG_DEFAULT_EVENTS at a time, one document per
 * segment in SCHEMA_SEGMENTS; the evidence chain links the segments (link, prev). */
#define SCHEMA_SEGMENTS "segments"
#define SCHEMA_F_SEG_STREAM "stream"	       /* SCHEMA_EVENTS | SCHEMA_PROC_EVENTS | … */
#define SCHEMA_F_SEG_SEQ_FIRST "seq_first"     /* least seq in it */
#define SCHEMA_F_SEG_SEQ_LAST "seq_last"       /* greatest seq in it */
#define SCHEMA_F_SEG_N "n"		       /* documents in it */
#define SCHEMA_F_SEG_TS_FIRST "ts_first"       /* date: least ts */
#define SCHEMA_F_SEG_TS_LAST "ts_last"	       /* date: greatest ts */
#define SCHEMA_F_SEG_TGIDS "tgids"	       /* every pid/tgid/parent_tgid/child_tgid */
#define SCHEMA_F_SEG_TGIDS_CAPPED "tgids_capped"
#define SCHEMA_F_SEG_CONTAINERS "containers"   /* every container id, null for the host */
#define SCHEMA_F_SEG_CONTAINERS_CAPPED "containers_capped"
#define SCHEMA_F_SEG_SYSCALLS "syscalls"       /* events: syscall names; proc_events: what */
#define SCHEMA_F_SEG_SYSCALLS_CAPPED "syscalls_capped"
#define SCHEMA_F_SEG_RAW_BYTES "raw_bytes"     /* the documents' bytes, uncompressed */
#define SCHEMA_F_SEG_CODEC "codec"	       /* SEG_CODEC_ZSTD */
#define SCHEMA_F_SEG_DATA "data"	       /* binary: the compressed documents */
#define SCHEMA_F_SEG_LINK "link"	       /* chain: 0, 1, … over the session's segments */
#define SCHEMA_F_SEG_PREV "prev"	       /* chain: SHA-256 of the previous segment document */
/* sessions: set by `lineage-query convert` on a session stored as documents before issue 33 */
#define SCHEMA_F_CONVERTED "converted"

/* --- issue 30: sessions imported from auditd logs (lineage-import) ----------------------
 * sessions: mode SCHEMA_MODE_IMPORT; at open `imported` {tool, files: [{path, generation,
 * size, mtime}]}; at close the audit times of the first and last event, auditd's log format
 * (from its DAEMON_START record) and `import_lacks`: sentences saying what the log's records
 * do not allow (no clone records: parents from ppid only, ...). Their events documents are
 * the listener's (event_doc.c) with container null: a log does not say cgroups. */
#define SCHEMA_MODE_IMPORT "import"
#define SCHEMA_F_IMPORTED "imported"
#define SCHEMA_F_IMPORTED_FILES "files"
#define SCHEMA_F_IMPORT_FIRST "first_event"
#define SCHEMA_F_IMPORT_LAST "last_event"
#define SCHEMA_F_IMPORT_FORMAT "log_format"
#define SCHEMA_F_IMPORT_LACKS "import_lacks"
/* --- issue 28: host paths through the container's mounts ---------------------------------
 * container_facts (listener, at first sight) and containers (filter, from those facts):
 * mounts: [{dest, source, kind, fstype, ro, propagation, name, origin}], longest dest wins;
 * overlay: {upper, lowers: [{dir, layer, cache_id}] top first, source} or null. */
#define SCHEMA_F_MOUNTS "mounts"
#define SCHEMA_F_MOUNT_DEST "dest"		/* path in the container */
#define SCHEMA_F_MOUNT_SOURCE "source"		/* host path; null: none (tmpfs, proc, …) */
#define SCHEMA_F_MOUNT_KIND "kind"		/* bind | volume | tmpfs | rootfs | special */
#define SCHEMA_F_MOUNT_FSTYPE "fstype"
#define SCHEMA_F_MOUNT_RO "ro"
#define SCHEMA_F_MOUNT_PROPAGATION "propagation"
#define SCHEMA_F_MOUNT_NAME "name"		/* a volume's name */
#define SCHEMA_F_MOUNT_ORIGIN "origin"		/* runtime-config | mountinfo | <rootfs source> */
#define SCHEMA_F_OVERLAY "overlay"
#define SCHEMA_F_OVERLAY_UPPER "upper"		/* the container's own layer (upperdir) */
#define SCHEMA_F_OVERLAY_LOWERS "lowers"
#define SCHEMA_F_OVERLAY_SOURCE "source"	/* overlay2-lower | mountinfo */
#define SCHEMA_F_LAYER_DIR "dir"		/* a lower layer's diff dir on the host */
#define SCHEMA_F_LAYER "layer"			/* its layer id, sha256:… (RootFS.Layers) */
#define SCHEMA_F_LAYER_CACHE_ID "cache_id"	/* docker's overlay2 directory name */
/* files (filter output): where each access really went */
#define SCHEMA_F_HOST_PATH "host_path"		/* the real host path (bind/volume: its source;
						 * overlay: the rootfs join, while it ran) */
#define SCHEMA_F_HOST_PATH_KIND "host_path_kind" /* bind|volume|tmpfs|special|upper|lower|rootfs */
#define SCHEMA_F_STORED_PATH "stored_path"	/* overlay: where the file stays (upper dir, or
						 * the image layer's diff dir) */
#define SCHEMA_F_MOUNT "mount"			/* the container path of the mount it went through */

#endif
