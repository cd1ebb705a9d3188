/* main.c — lineage-query: command line, help texts, the store connection, and the dispatch
 * to one subcommand; turns failures into one message on stderr and the documented exit
 * status. Owns the store handle and the query context. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "query.h"
#include "store.h"
#include "term.h"
#include "version.h"

#define COMMON_OPTS                                                                          \
	"  --uri URI        MongoDB URI (default $LINEAGE_MONGODB_URI or " STORE_DEFAULT_URI ")\n" \
	"  --db NAME        database (default " STORE_DEFAULT_DB ")\n"                       \
	"  --utc            times in UTC (default: local time), always with milliseconds\n"   \
	"  --width N        cut text lines to N columns (0 = never; default: the terminal's\n" \
	"                   width on a terminal, never when piped or redirected)\n"          \
	"  --color WHEN     auto (default: on a terminal, unless $NO_COLOR is set), always,\n" \
	"                   never\n"                                                         \
	"  -h, --help       this text\n"
#define SESSION_OPTS                                                                       \
	"  --session ID     session: full ObjectId or a unique prefix (see 'sessions')\n"      \
	"  --last           the latest session (the default)\n"
#define TIME_TEXT                                                                          \
	"T is -N[ms|s|m|h|d] (before now: -10m), now, today, yesterday (00:00), HH:MM[:SS[.mmm]]\n" \
	"(today), YYYY-MM-DD[ HH:MM[:SS[.mmm]]], ISO 8601 (2026-11-23T13:12:36.797+01:00, Z),\n"  \
	"@EPOCH_SECONDS[.mmm]; local time unless --utc, Z or an offset says otherwise.\n"
#define FILTER_OPT                                                                         \
	"  --filter         if the session has not been filtered, run lineage-filter first\n"
#define CONTAINER_ARG                                                                      \
	"CONTAINER is a full container id, a unique id prefix, a name the filter recorded, or\n" \
	"'host': the host's processes (rooted at those without a recorded parent).\n"
#define SUBTREE_OPTS                                                                       \
	"  --process KEY    only the subtree of process KEY (pid@start, as search and tree\n" \
	"                   json print it); it follows children across exec and into\n"      \
	"                   containers started below (a docker run leads to the container's\n" \
	"                   processes, marked with the runtime processes in between)\n"    \
	"  --pid N          the same for host pid N (several processes had it: they are\n"   \
	"                   listed with their start times and keys, exit status 3)\n"       \
	"  --command TEXT   the subtrees of the processes whose command line contains TEXT\n" \
	"  --depth N        at most N levels below each root (0: the roots only)\n"
#define EXIT_TEXT                                                                          \
	"Exit status: 0 ok, 1 usage error, 2 database unreachable, 3 session, container or\n" \
	"process not found, prefix or --pid ambiguous, 4 the database answered with an error.\n"

static const char *const help[] = {
	[QCMD_NONE] =
		"usage: lineage-query [OPTIONS] SUBCOMMAND [ARGS]\n"
		"       lineage-query --version\n"
		"Answer forensic questions from lineage-filter's output (processes, containers,\n"
		"files) and the listener's sessions and events in MongoDB.\n\n"
		"Subcommands (lineage-query SUBCOMMAND --help for each):\n"
		"  sessions                         recorded sessions, counters, lost events\n"
		"  containers                       containers of a session\n"
		"  tree CONTAINER|host              process tree (text, json, dot)\n"
		"  timeline CONTAINER|host          fork/exec/exit/open/close/rename/unlink in order\n"
		"  files CONTAINER|host             file accesses; --unique: distinct paths\n"
		"    (tree, timeline, files, diff: --process KEY, --pid N, --command TEXT, --depth N\n"
		"    narrow them to one process's subtree)\n"
		"  diff SESSION_A SESSION_B         files and executables used in one only\n"
		"  search [--path P|--exe E|...]    who did it, and who started them: processes and\n"
		"                                   file accesses of host and every container, each\n"
		"                                   with its ancestry; --follow: live\n"
		"  events [--pid N|--syscall S|...] the raw audit events (no filter run needed)\n"
		"  timeline --follow [CONTAINER]    live: new events as they are recorded\n\n"
		"containers, tree, timeline, files, diff and search read lineage-filter's output: on\n"
		"a session it has not processed they say so and print the command (or run it with\n"
		"--filter). sessions, events and --follow read the listener's own records.\n\n"
		"  verify [SESSION|last|--all]      does the evidence chain still verify\n"
		"  export SESSION --to-collection N the raw documents as plain documents (mongosh)\n"
		"  convert SESSION|--all            a session stored before segments into segments\n\n"
		"Options for every subcommand:\n" COMMON_OPTS
		"  --format F       text (default), json (one document per line), dot (tree)\n"
		SESSION_OPTS EXIT_TEXT,
	[QCMD_SESSIONS] =
		"usage: lineage-query sessions [--format text|json] [OPTIONS]\n"
		"Every listener run, newest first: id, host, start, duration, events recorded\n"
		"(audit + proc connector), events LOST (kernel audit lost, netlink ENOBUFS,\n"
		"queue drops, torn spool records) and when lineage-filter last processed it\n"
		"(FILTERED: a time, or 'no'); a lossy session is flagged with '!' and a line\n"
		"naming the counters. json prints the sessions documents.\n\n" COMMON_OPTS EXIT_TEXT,
	[QCMD_CONTAINERS] =
		"usage: lineage-query containers [--session ID|--last] [--format text|json]\n"
		"The containers lineage-filter found in the session: short and full id, start,\n"
		"end, process and file counts, name and image where known, rootfs on the host.\n\n"
		FILTER_OPT SESSION_OPTS COMMON_OPTS EXIT_TEXT,
	[QCMD_TREE] =
		"usage: lineage-query tree CONTAINER|host [--process KEY|--pid N|--command TEXT]\n"
		"                          [--depth N] [--session ID|--last] [--format text|json|dot]\n"
		"The container's process tree, indented like pstree: pid, each distinct exec's\n"
		"argv (a => b when a process exec'd twice; {comm} when it never exec'd), start-exit\n"
		"times and exit code or signal. [init] marks the container's first process,\n"
		"[docker exec] the root of a subtree that entered with docker exec. dot prints a\n"
		"Graphviz digraph (exec subtrees dashed blue); json the processes documents in\n"
		"tree order. On the host, a container or a runtime helper (runc init) below a host\n"
		"process is one collapsed line with its id ('tree ID' shows it), and a container\n"
		"CLI (docker run, docker exec) gets a line for the container it started through the\n"
		"daemon. In a subtree, container processes are marked [container ID], the runtime's\n"
		"[runtime ID], and a container entry a CLI started \xe2\x87\xa2 [started by PID through …];\n"
		"json adds view_depth, started_by and collapsed.\n"
		CONTAINER_ARG SUBTREE_OPTS "\n" FILTER_OPT SESSION_OPTS COMMON_OPTS EXIT_TEXT,
	[QCMD_TIMELINE] =
		"usage: lineage-query timeline CONTAINER|host [--since T] [--until T] [--session ID]\n"
		"                              [--process KEY|--pid N|--command TEXT] [--depth N]\n"
		"       lineage-query timeline --follow [CONTAINER] [--format text|json]\n"
		"One line per event of the container, in time order: fork, exec, exit (from\n"
		"processes), open, write-open, open-fail, inherited (an fd got at fork, written\n"
		"through), close (from files), rename, unlink (from the raw audit events). Events\n"
		"at the same millisecond keep a process's order.\n"
		TIME_TEXT "or +N[ms|s|m|h] after the container's (subtree's, host's) start.\n"
		CONTAINER_ARG SUBTREE_OPTS "\n"
		"  --since T        leave out events before T\n"
		"  --until T        leave out events after T\n"
		"  --format F       text or json\n"
		"  --follow         no CONTAINER needed: print new events of the current session\n"
		"                   as the listener records them (fork, exec, exit, open,\n"
		"                   write-open, rename, unlink, other syscalls; not write/close),\n"
		"                   with container and process; CONTAINER (id prefix or 'host')\n"
		"                   narrows it. Reads the raw events: no filter run. Ctrl-C ends.\n"
		FILTER_OPT SESSION_OPTS COMMON_OPTS EXIT_TEXT,
	[QCMD_FILES] =
		"usage: lineage-query files CONTAINER|host [--written|--read|--executed] [--failed]\n"
		"           [--path-prefix PATH] [--unique] [--process KEY|--pid N|--command TEXT]\n"
		"           [--depth N]\n"
		"The file accesses in order of opening: open time, how long the file stayed open,\n"
		"pid, mode (r, w, rw; FAIL for a failed open), bytes written, path as the process\n"
		"saw it. On the host's views failed opens are left out (a count says how many).\n"
		CONTAINER_ARG SUBTREE_OPTS "\n"
		"  --written        only files opened for writing\n"
		"  --read           only files opened for reading (r, rw)\n"
		"  --executed       the executables the processes exec'd (time, pid, exe)\n"
		"  --failed         only the failed opens (include-path probes, missing files)\n"
		"  --path-prefix PATH, --prefix PATH   only paths at or under PATH (whole components)\n"
		"  --unique         sorted distinct paths, with the number of opens (execs with\n"
		"                   --executed, failures with --failed) and the host path\n"
		"  --format F       text or json\n" FILTER_OPT SESSION_OPTS COMMON_OPTS EXIT_TEXT,
	[QCMD_DIFF] =
		"usage: lineage-query diff SESSION_A SESSION_B [--container C|host [--container-b C2]]\n"
		"                          [--process KEY|--pid N|--command TEXT] [--depth N]\n"
		"Executables (exe of each exec) and files (paths opened successfully) used in one\n"
		"session and not in the other: '-' only in A, '+' only in B. A session is a full\n"
		"ObjectId, a unique prefix, or 'last'.\n"
		"  --container C    compare container C of A (and of B) instead of whole sessions\n"
		"  --container-b C2 the container of B when its id differs (default: C)\n"
		"  a selector below narrows each side to its subtree, found in each session\n"
		"  (--command suits two runs of the same build best)\n" SUBTREE_OPTS
		"  --format F       text or json\n" COMMON_OPTS EXIT_TEXT,
	[QCMD_SEARCH] =
		"usage: lineage-query search [WHAT...] [--since T] [--until T] [--session ID|\n"
		"                            --all-sessions] [--follow] [--format text|json]\n"
		"Who did this, and who started them? Searches the host and every container of the\n"
		"session (default: the latest) at once. With a path option (or --written) each hit\n"
		"is a file access, else a process; every hit prints its time, container (or host)\n"
		"and what happened, then its ancestry chain root first, like ps's forest, up to the\n"
		"container's init ([init]), the process that entered it ([docker exec]) or the\n"
		"host's pid 1. json: one document per hit, the chain as an array (root first).\n"
		"Options narrow the search; all of them must match:\n"
		"  --path P         accesses of exactly P (as the process saw it)\n"
		"  --path-prefix P  accesses of P or anything under it (whole components)\n"
		"  --path-glob G    accesses of paths matching the shell pattern G ('*' crosses /)\n"
		"  --written        only accesses opened for writing\n"
		"  --exe E          processes that exec'd E (a full path, or a name: the last\n"
		"                   component of the exe or of argv[0], for busybox applets)\n"
		"  --argv S         processes with S in an exec's command line\n"
		"  --pid N          process N (host pid)    --uid U   processes that ran as uid U\n"
		"  --container C    one container (id prefix or name as recorded) or 'host'\n"
		"  --since T, --until T   hits in that time (processes alive in it)\n"
		"  --all-sessions   every filtered session, newest first\n"
		"  --follow         live, from the raw events as they are recorded (no filter run):\n"
		"                   matching execs and file accesses with the parents known\n"
		TIME_TEXT FILTER_OPT SESSION_OPTS COMMON_OPTS EXIT_TEXT,
	[QCMD_EVENTS] =
		"usage: lineage-query events [--pid N] [--syscall S] [--key K] [--path P]\n"
		"                            [--container C] [--since T] [--until T] [--session ID]\n"
		"The listener's raw audit events of the session (default: the latest), like\n"
		"ausearch, in recording order: time, pid, ppid, uid, container (or host), syscall\n"
		"and result (ok and the return value, or the errno name), comm, then the paths or an\n"
		"execve's argv. json: the documents, one per line; bson: the documents' BSON bytes\n"
		"back to back (bsondump, other tools). Read from the session's compressed segments;\n"
		"needs no filter run.\n"
		"  --pid N          events of process N      --syscall S   of syscall S (openat)\n"
		"  --key K          events with audit key K  --path P      touching path P exactly\n"
		"  --container C    one container (id prefix) or 'host'\n"
		"  --since T, --until T   events in that time\n"
		TIME_TEXT SESSION_OPTS COMMON_OPTS EXIT_TEXT,
	[QCMD_VERIFY] =
		"usage: lineage-query verify [SESSION|last|--all] [--format text|json]\n"
		"Recompute the session's evidence chain (the listener's SHA-256 links over every\n"
		"raw document it stored) and say, per session: ok; or TAMPERED with exactly what:\n"
		"a document altered (its _id), removed (seq ranges), inserted, a link altered or\n"
		"removed; truncated at seq N when the listener never closed the session (killed,\n"
		"crashed): whole up to N, the rest cut, not tampering; recording when its listener\n"
		"still runs on this host; unchained when recorded without a chain. Default: the\n"
		"latest session. json prints one report per line.\n"
		"  --all            every session, oldest first\n"
		"  --format F       text or json\n" COMMON_OPTS
		"Exit status: 0 every session ok, recording or unchained; 5 a session is TAMPERED\n"
		"or truncated; 1 usage error, 2 database unreachable, 3 session not found or\n"
		"prefix ambiguous, 4 the database answered with an error.\n",
	[QCMD_EXPORT] =
		"usage: lineage-query export SESSION --to-collection NAME [--stream S]\n"
		"Write the session's raw documents of one stream (events, default; proc_events,\n"
		"snapshot, container_facts), decoded from its segments, as plain documents into\n"
		"collection NAME (indexed {session, seq}), for mongosh and other tools. A document\n"
		"already there (same _id) is left as it is; run it again after a crash.\n"
		"SESSION is an ObjectId, a unique prefix or 'last'.\n" COMMON_OPTS EXIT_TEXT,
	[QCMD_CONVERT] =
		"usage: lineage-query convert SESSION|--all [--keep-old]\n"
		"Turn a session stored before segments (one document per event in events,\n"
		"proc_events, snapshot, container_facts) into segments with a new evidence chain,\n"
		"then delete the old documents and its old chain links (--keep-old: leave them).\n"
		"The old chain is replaced, not checked: verify the session first if it matters\n"
		"(with the lineage-query of the version that recorded it). --all: every session\n"
		"that still has documents. A session that has both is left alone.\n"
		COMMON_OPTS EXIT_TEXT,
};

int main(int argc, char **argv)
{
	struct qargs a;
	struct qctx ctx = { .out = stdout, .status = QEXIT_OK };
	char err[512];
	int r;

	if (argc == 2 && strcmp(argv[1], "--version") == 0) { /* issue 18 */
		printf("lineage-query %s\n", LINEAGE_VERSION);
		return QEXIT_OK;
	}
	if (qargs_parse(argc, argv, &a, err, sizeof(err)) < 0) {
		fprintf(stderr, "lineage-query: %s\n(lineage-query --help for usage)\n", err);
		return QEXIT_USAGE;
	}
	if (a.help) {
		fputs(help[a.cmd], stdout);
		return QEXIT_OK;
	}
	a.width = term_width(stdout, a.width);
	ctx.color = term_color(stdout, a.color);
	ctx.args = &a;
	store_global_init();
	if (store_open(a.uri, a.db, &ctx.st, err, sizeof(err)) < 0) {
		fprintf(stderr, "lineage-query: %s\n", err);
		ctx.status = QEXIT_USAGE;
		goto out;
	}
	if (store_ping(ctx.st, err, sizeof(err)) < 0) {
		fprintf(stderr, "lineage-query: %s\n", err);
		ctx.status = QEXIT_UNREACHABLE;
		goto out;
	}
	if (a.cmd != QCMD_SESSIONS && a.cmd != QCMD_DIFF && a.cmd != QCMD_VERIFY &&
	    a.cmd != QCMD_EXPORT && a.cmd != QCMD_CONVERT) {
		r = q_resolve_session(&ctx, a.session, &ctx.session);
		if (r < 0)
			goto fail;
	}
	switch (a.cmd) {
	case QCMD_SESSIONS: r = cmd_sessions(&ctx); break;
	case QCMD_CONTAINERS: r = cmd_containers(&ctx); break;
	case QCMD_TREE: r = cmd_tree(&ctx); break;
	case QCMD_TIMELINE: r = a.follow ? cmd_follow(&ctx) : cmd_timeline(&ctx); break;
	case QCMD_FILES: r = cmd_files(&ctx); break;
	case QCMD_DIFF: r = cmd_diff(&ctx); break;
	case QCMD_EVENTS: r = cmd_events(&ctx); break;
	case QCMD_SEARCH: r = cmd_search(&ctx); break;
	case QCMD_VERIFY: r = cmd_verify(&ctx); break;
	case QCMD_EXPORT: r = cmd_export(&ctx); break;
	case QCMD_CONVERT: r = cmd_convert(&ctx); break;
	default: r = -EINVAL; break;
	}
	if (r == 0)
		goto out;
fail:
	fprintf(stderr, "lineage-query: %s\n", ctx.err[0] ? ctx.err : strerror(-r));
	if (ctx.status == QEXIT_OK)
		ctx.status = QEXIT_DB_ERROR;
out:
	if (fflush(stdout) != 0 && ctx.status == QEXIT_OK)
		ctx.status = QEXIT_DB_ERROR;
	store_free(ctx.st);
	store_global_cleanup();
	return ctx.status;
}
