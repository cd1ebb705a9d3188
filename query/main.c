/* main.c — lineage-query: command line, help texts, the store connection, and the dispatch
 * to one subcommand; turns failures into one message on stderr and the documented exit
 * status. Owns the store handle and the query context. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "query.h"
#include "store.h"

#define COMMON_OPTS                                                                          \
	"  --uri URI        MongoDB URI (default $LINEAGE_MONGODB_URI or " STORE_DEFAULT_URI ")\n" \
	"  --db NAME        database (default " STORE_DEFAULT_DB ")\n"                       \
	"  --utc            times in UTC (default: local time), always with milliseconds\n"   \
	"  --width N        cut text lines to N columns (default 80, 0 = never)\n"            \
	"  -h, --help       this text\n"
#define SESSION_OPTS                                                                       \
	"  --session ID     session: full ObjectId or a unique prefix (see 'sessions')\n"      \
	"  --last           the latest session (the default)\n"
#define CONTAINER_ARG                                                                      \
	"CONTAINER is a full container id, a unique id prefix, or a name the filter recorded.\n"
#define EXIT_TEXT                                                                          \
	"Exit status: 0 ok, 1 usage error, 2 database unreachable, 3 session or container\n" \
	"not found or prefix ambiguous, 4 the database answered with an error.\n"

static const char *const help[] = {
	[QCMD_NONE] =
		"usage: lineage-query [OPTIONS] SUBCOMMAND [ARGS]\n"
		"Answer forensic questions from lineage-filter's output (processes, containers,\n"
		"files) and the listener's sessions and events in MongoDB.\n\n"
		"Subcommands (lineage-query SUBCOMMAND --help for each):\n"
		"  sessions                         recorded sessions, counters, lost events\n"
		"  containers                       containers of a session\n"
		"  tree CONTAINER                   process tree (text, json, dot)\n"
		"  timeline CONTAINER               fork/exec/exit/open/close/rename/unlink in order\n"
		"  files CONTAINER                  file accesses; --unique: distinct paths\n"
		"  diff SESSION_A SESSION_B         files and executables used in one only\n\n"
		"Options for every subcommand:\n" COMMON_OPTS
		"  --format F       text (default), json (one document per line), dot (tree)\n"
		SESSION_OPTS EXIT_TEXT,
	[QCMD_SESSIONS] =
		"usage: lineage-query sessions [--format text|json] [OPTIONS]\n"
		"Every listener run, newest first: id, host, start, duration, events recorded\n"
		"(audit + proc connector) and events LOST (kernel audit lost, netlink ENOBUFS,\n"
		"queue drops, torn spool records); a lossy session is flagged with '!' and a line\n"
		"naming the counters. json prints the sessions documents.\n\n" COMMON_OPTS EXIT_TEXT,
	[QCMD_CONTAINERS] =
		"usage: lineage-query containers [--session ID|--last] [--format text|json]\n"
		"The containers lineage-filter found in the session: short and full id, start,\n"
		"end, process and file counts, name and image where known, rootfs on the host.\n\n"
		SESSION_OPTS COMMON_OPTS EXIT_TEXT,
	[QCMD_TREE] =
		"usage: lineage-query tree CONTAINER [--session ID|--last] [--format text|json|dot]\n"
		"The container's process tree, indented like pstree: pid, each distinct exec's\n"
		"argv (a => b when a process exec'd twice; {comm} when it never exec'd), start-exit\n"
		"times and exit code or signal. [init] marks the container's first process,\n"
		"[docker exec] the root of a subtree that entered with docker exec. dot prints a\n"
		"Graphviz digraph (exec subtrees dashed blue); json the processes documents in\n"
		"tree order.\n" CONTAINER_ARG "\n" SESSION_OPTS COMMON_OPTS EXIT_TEXT,
	[QCMD_TIMELINE] =
		"usage: lineage-query timeline CONTAINER [--since T] [--until T] [--session ID]\n"
		"One line per event of the container, in time order: fork, exec, exit (from\n"
		"processes), open, write-open, open-fail, inherited (an fd got at fork, written\n"
		"through), close (from files), rename, unlink (from the raw audit events). Events\n"
		"at the same millisecond keep a process's order.\n"
		"T is 'YYYY-MM-DD HH:MM[:SS[.mmm]]' (local time, or UTC with --utc or a final Z),\n"
		"@EPOCH_SECONDS[.mmm], or +N[ms|s|m|h] after the container's start.\n"
		CONTAINER_ARG "\n"
		"  --since T        leave out events before T\n"
		"  --until T        leave out events after T\n"
		"  --format F       text or json\n" SESSION_OPTS COMMON_OPTS EXIT_TEXT,
	[QCMD_FILES] =
		"usage: lineage-query files CONTAINER [--written] [--prefix PATH] [--unique]\n"
		"The container's file accesses in order of opening: open time, how long the file\n"
		"stayed open, pid, mode (r, w, rw; FAIL for a failed open), bytes written, path\n"
		"as the process saw it.\n" CONTAINER_ARG "\n"
		"  --written        only files opened for writing\n"
		"  --prefix PATH    only paths at or under PATH (whole components)\n"
		"  --unique         sorted distinct paths opened successfully, with the number of\n"
		"                   opens and the host path (the files the image really needed)\n"
		"  --format F       text or json\n" SESSION_OPTS COMMON_OPTS EXIT_TEXT,
	[QCMD_DIFF] =
		"usage: lineage-query diff SESSION_A SESSION_B [--container C [--container-b C2]]\n"
		"Executables (exe of each exec) and files (paths opened successfully) used in one\n"
		"session and not in the other: '-' only in A, '+' only in B. A session is a full\n"
		"ObjectId, a unique prefix, or 'last'.\n"
		"  --container C    compare container C of A (and of B) instead of whole sessions\n"
		"  --container-b C2 the container of B when its id differs (default: C)\n"
		"  --format F       text or json\n" COMMON_OPTS EXIT_TEXT,
};

int main(int argc, char **argv)
{
	struct qargs a;
	struct qctx ctx = { .out = stdout, .status = QEXIT_OK };
	char err[512];
	int r;

	if (qargs_parse(argc, argv, &a, err, sizeof(err)) < 0) {
		fprintf(stderr, "lineage-query: %s\n(lineage-query --help for usage)\n", err);
		return QEXIT_USAGE;
	}
	if (a.help) {
		fputs(help[a.cmd], stdout);
		return QEXIT_OK;
	}
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
	if (a.cmd != QCMD_SESSIONS && a.cmd != QCMD_DIFF) {
		r = q_resolve_session(&ctx, a.session, &ctx.session);
		if (r < 0)
			goto fail;
	}
	switch (a.cmd) {
	case QCMD_SESSIONS: r = cmd_sessions(&ctx); break;
	case QCMD_CONTAINERS: r = cmd_containers(&ctx); break;
	case QCMD_TREE: r = cmd_tree(&ctx); break;
	case QCMD_TIMELINE: r = cmd_timeline(&ctx); break;
	case QCMD_FILES: r = cmd_files(&ctx); break;
	case QCMD_DIFF: r = cmd_diff(&ctx); break;
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
