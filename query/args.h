/* args.h — lineage-query's command line: subcommand, operands, options, and the time values
 * of --since/--until. Pure: no store, no output; main.c prints the errors it reports.
 *
 * A struct qargs holds pointers into the argv it was parsed from (valid as long as argv). */
#ifndef LINEAGE_QUERY_ARGS_H
#define LINEAGE_QUERY_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit status of lineage-query (documented in --help and README-forensics.md). */
enum {
	QEXIT_OK = 0,
	QEXIT_USAGE = 1,
	QEXIT_UNREACHABLE = 2,
	QEXIT_NOT_FOUND = 3, /* session or container not found, or an ambiguous prefix */
	QEXIT_DB_ERROR = 4,  /* the database answered with an error */
	QEXIT_TAMPERED = 5,  /* verify: a session's evidence does not verify (issue 21) */
};

enum qcmd { QCMD_NONE, QCMD_SESSIONS, QCMD_CONTAINERS, QCMD_TREE, QCMD_TIMELINE, QCMD_FILES,
	    QCMD_DIFF, QCMD_EVENTS, QCMD_SEARCH, QCMD_VERIFY,
	    QCMD_EXPORT, QCMD_CONVERT /* issue 33 */ };
#define QCMD_MAX QCMD_CONVERT
enum qformat { QFMT_TEXT, QFMT_JSON, QFMT_DOT, QFMT_BSON /* events only */ };

enum qcolor { QCOLOR_AUTO, QCOLOR_ALWAYS, QCOLOR_NEVER };

/* --width not given: the terminal's width on a terminal, unlimited otherwise. */
#define QWIDTH_AUTO (-1)

/* "No time given" for since/until. */
#define QTIME_NONE INT64_MIN

struct qargs {
	enum qcmd cmd;
	bool help;            /* --help: print the (subcommand's) help, exit 0 */
	const char *uri, *db;
	const char *session;  /* --session ID or unique hex prefix; NULL with --last/default */
	bool last;
	enum qformat format;
	bool utc;
	int width;            /* text line width, 0 = unlimited, QWIDTH_AUTO */
	enum qcolor color;
	const char *operand[2];
	size_t noperands;
	int64_t since_ms, until_ms; /* absolute (ms since epoch) or QTIME_NONE */
	int64_t since_rel_ms, until_rel_ms; /* "+N" forms: relative to the container start */
	bool written, unique;
	const char *prefix;
	const char *container;   /* diff --container */
	const char *container_b; /* diff --container-b (default: same as --container) */
	/* issue 20: search, events, --follow */
	bool follow;             /* timeline/search --follow: new events as they are recorded */
	bool run_filter;         /* --filter: run lineage-filter on an unfiltered session */
	bool all_sessions;       /* search --all-sessions */
	const char *path, *path_prefix, *path_glob, *exe, *argv_sub, *syscall, *key;
	int64_t pid, uid;        /* -1 when not given */
	bool all;                /* verify --all, convert --all */
	/* issue 33 */
	const char *to_collection; /* export --to-collection NAME */
	const char *stream;        /* export --stream S (default events) */
	bool keep_old;             /* convert --keep-old: leave the old documents */
	/* issue 29: one process's subtree (tree, timeline, files, diff) and files' kinds */
	const char *process;     /* --process KEY (pid@start) */
	const char *command;     /* --command TEXT: processes whose argv contains it */
	int64_t depth;           /* --depth N below each selected root; -1 when not given */
	bool read, executed, failed; /* files --read, --executed, --failed */
};

/* Does a --process/--pid/--command select a subtree (tree, timeline, files, diff)? */
bool qargs_selects(const struct qargs *a);

/* Parse argv (argv[0] is the program). On success fills *ret and returns 0; on a usage
 * error returns -EINVAL and writes a one-line reason into err[errlen]. Uses getopt_long
 * (resets optind itself). */
int qargs_parse(int argc, char **argv, struct qargs *ret, char *err, size_t errlen);

/* A subcommand's name ↔ enum. qcmd_from_name returns QCMD_NONE for an unknown name. */
enum qcmd qcmd_from_name(const char *name);
const char *qcmd_name(enum qcmd cmd);

/* Parse a time for --since/--until against the current clock: when_parse() (when.h). */
int qargs_parse_time(const char *s, bool utc, int64_t *ret_ms, bool *ret_rel);

#endif
