/* args.c — lineage-query's argument parsing (see args.h): one getopt_long pass over every
 * option, then per-subcommand checks of operands and of the options that apply. Owns
 * nothing: struct qargs points into argv. */
#include "args.h"
#include "when.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const cmd_names[] = {
	[QCMD_NONE] = NULL,		 [QCMD_SESSIONS] = "sessions", [QCMD_CONTAINERS] = "containers",
	[QCMD_TREE] = "tree",		 [QCMD_TIMELINE] = "timeline", [QCMD_FILES] = "files",
	[QCMD_DIFF] = "diff",		 [QCMD_EVENTS] = "events",     [QCMD_SEARCH] = "search",
	[QCMD_VERIFY] = "verify",	 [QCMD_EXPORT] = "export",     [QCMD_CONVERT] = "convert",
};

enum qcmd qcmd_from_name(const char *name)
{
	for (size_t i = 1; i < sizeof(cmd_names) / sizeof(cmd_names[0]); i++)
		if (!strcmp(name, cmd_names[i]))
			return (enum qcmd)i;
	return QCMD_NONE;
}

const char *qcmd_name(enum qcmd cmd)
{
	return cmd > QCMD_NONE && cmd <= QCMD_MAX ? cmd_names[cmd] : "lineage-query";
}

int qargs_parse_time(const char *s, bool utc, int64_t *ret_ms, bool *ret_rel)
{
	return when_parse(s, utc, when_now_ms(), ret_ms, ret_rel);
}

enum {
	OPT_URI = 256, OPT_DB, OPT_SESSION, OPT_LAST, OPT_FORMAT, OPT_UTC, OPT_WIDTH, OPT_SINCE,
	OPT_UNTIL, OPT_WRITTEN, OPT_PREFIX, OPT_UNIQUE, OPT_CONTAINER, OPT_CONTAINER_B,
	/* issue 20 */
	OPT_COLOR, OPT_FOLLOW, OPT_FILTER, OPT_ALL_SESSIONS, OPT_PATH, OPT_PATH_PREFIX,
	OPT_PATH_GLOB, OPT_EXE, OPT_ARGV, OPT_PID, OPT_UID, OPT_SYSCALL, OPT_KEY,
	OPT_ALL, /* verify (issue 21) */
	OPT_TO_COLLECTION, OPT_STREAM, OPT_KEEP_OLD, /* export, convert (issue 33) */
	OPT_PROCESS, OPT_COMMAND, OPT_DEPTH, OPT_READ, OPT_EXECUTED, OPT_FAILED, /* issue 29 */
	OPT_LAST_OPT = OPT_FAILED,
};

bool qargs_selects(const struct qargs *a)
{
	return a->process || a->command ||
	       (a->pid >= 0 && a->cmd != QCMD_SEARCH && a->cmd != QCMD_EVENTS);
}

/* tree, timeline, files and diff: the views a subtree selector narrows (issue 29) */
static bool view_cmd(enum qcmd cmd)
{
	return cmd == QCMD_TREE || cmd == QCMD_TIMELINE || cmd == QCMD_FILES || cmd == QCMD_DIFF;
}

/* Which options each subcommand accepts, beyond the global ones. */
static bool allowed(enum qcmd cmd, int opt)
{
	switch (opt) {
	case OPT_PROCESS:
	case OPT_COMMAND:
	case OPT_DEPTH:
		return view_cmd(cmd);
	case OPT_READ:
	case OPT_EXECUTED:
	case OPT_FAILED:
		return cmd == QCMD_FILES;
	case OPT_SINCE:
	case OPT_UNTIL:
		return cmd == QCMD_TIMELINE || cmd == QCMD_EVENTS || cmd == QCMD_SEARCH;
	case OPT_WRITTEN:
		return cmd == QCMD_FILES || cmd == QCMD_SEARCH;
	case OPT_PREFIX:
	case OPT_UNIQUE:
		return cmd == QCMD_FILES;
	case OPT_CONTAINER:
		return cmd == QCMD_DIFF || cmd == QCMD_SEARCH || cmd == QCMD_EVENTS;
	case OPT_CONTAINER_B:
		return cmd == QCMD_DIFF;
	case OPT_SESSION:
	case OPT_LAST:
		return cmd != QCMD_DIFF && cmd != QCMD_SESSIONS && cmd != QCMD_VERIFY &&
		       cmd != QCMD_EXPORT && cmd != QCMD_CONVERT;
	case OPT_FOLLOW:
		return cmd == QCMD_TIMELINE || cmd == QCMD_SEARCH;
	case OPT_FILTER:
		return cmd == QCMD_CONTAINERS || cmd == QCMD_TREE || cmd == QCMD_TIMELINE ||
		       cmd == QCMD_FILES || cmd == QCMD_SEARCH;
	case OPT_ALL_SESSIONS:
	case OPT_PATH_GLOB:
	case OPT_EXE:
	case OPT_ARGV:
	case OPT_UID:
		return cmd == QCMD_SEARCH;
	case OPT_PATH_PREFIX:
		return cmd == QCMD_SEARCH || cmd == QCMD_FILES;
	case OPT_PATH:
		return cmd == QCMD_SEARCH || cmd == QCMD_EVENTS;
	case OPT_PID:
		return cmd == QCMD_SEARCH || cmd == QCMD_EVENTS || view_cmd(cmd);
	case OPT_SYSCALL:
	case OPT_KEY:
		return cmd == QCMD_EVENTS;
	case OPT_ALL:
		return cmd == QCMD_VERIFY || cmd == QCMD_CONVERT;
	case OPT_TO_COLLECTION:
	case OPT_STREAM:
		return cmd == QCMD_EXPORT;
	case OPT_KEEP_OLD:
		return cmd == QCMD_CONVERT;
	default:
		return true;
	}
}

static const char *opt_name(const struct option *opts, int val)
{
	for (; opts->name; opts++)
		if (opts->val == val)
			return opts->name;
	return "?";
}

/* One option of either getopt pass into *a (the raw strings of --format, --since and
 * --until are checked once the subcommand is known). */
/* A non-negative decimal number for --pid/--uid. */
static int number_opt(const char *name, const char *s, int64_t *ret, char *err, size_t errlen)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > 0xffffffffLL) {
		snprintf(err, errlen, "--%s wants a number, not '%s'", name, s);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

static int apply_opt(struct qargs *a, int c, int *seen, const char **fmt, const char **since,
		     const char **until, char *err, size_t errlen)
{
	char *end;
	long w;

	if (c >= OPT_URI)
		seen[c] = 1;
	switch (c) {
	case 'h': a->help = true; break;
	case OPT_URI: a->uri = optarg; break;
	case OPT_DB: a->db = optarg; break;
	case OPT_SESSION: a->session = optarg; break;
	case OPT_LAST: a->last = true; break;
	case OPT_FORMAT: *fmt = optarg; break;
	case OPT_UTC: a->utc = true; break;
	case OPT_WIDTH:
		errno = 0;
		w = strtol(optarg, &end, 10);
		if (errno || end == optarg || *end || w < 0 || w > 100000) {
			snprintf(err, errlen,
				 "--width wants a number of columns (0 = unlimited), not '%s'", optarg);
			return -EINVAL;
		}
		a->width = (int)w;
		break;
	case OPT_SINCE: *since = optarg; break;
	case OPT_UNTIL: *until = optarg; break;
	case OPT_WRITTEN: a->written = true; break;
	case OPT_PREFIX: a->prefix = optarg; break;
	case OPT_UNIQUE: a->unique = true; break;
	case OPT_CONTAINER: a->container = optarg; break;
	case OPT_CONTAINER_B: a->container_b = optarg; break;
	case OPT_COLOR:
		if (!strcmp(optarg, "auto"))
			a->color = QCOLOR_AUTO;
		else if (!strcmp(optarg, "always"))
			a->color = QCOLOR_ALWAYS;
		else if (!strcmp(optarg, "never"))
			a->color = QCOLOR_NEVER;
		else {
			snprintf(err, errlen, "--color wants auto, always or never, not '%s'", optarg);
			return -EINVAL;
		}
		break;
	case OPT_FOLLOW: a->follow = true; break;
	case OPT_FILTER: a->run_filter = true; break;
	case OPT_ALL_SESSIONS: a->all_sessions = true; break;
	case OPT_PATH: a->path = optarg; break;
	case OPT_PATH_PREFIX: a->path_prefix = optarg; break;
	case OPT_PATH_GLOB: a->path_glob = optarg; break;
	case OPT_EXE: a->exe = optarg; break;
	case OPT_ARGV: a->argv_sub = optarg; break;
	case OPT_PID: return number_opt("pid", optarg, &a->pid, err, errlen);
	case OPT_UID: return number_opt("uid", optarg, &a->uid, err, errlen);
	case OPT_SYSCALL: a->syscall = optarg; break;
	case OPT_KEY: a->key = optarg; break;
	case OPT_ALL: a->all = true; break;
	case OPT_TO_COLLECTION: a->to_collection = optarg; break;
	case OPT_STREAM: a->stream = optarg; break;
	case OPT_KEEP_OLD: a->keep_old = true; break;
	case OPT_PROCESS: a->process = optarg; break;
	case OPT_COMMAND: a->command = optarg; break;
	case OPT_DEPTH: return number_opt("depth", optarg, &a->depth, err, errlen);
	case OPT_READ: a->read = true; break;
	case OPT_EXECUTED: a->executed = true; break;
	case OPT_FAILED: a->failed = true; break;
	}
	return 0;
}

int qargs_parse(int argc, char **argv, struct qargs *ret, char *err, size_t errlen)
{
	static const struct option opts[] = {
		{ "uri", required_argument, NULL, OPT_URI },
		{ "db", required_argument, NULL, OPT_DB },
		{ "session", required_argument, NULL, OPT_SESSION },
		{ "last", no_argument, NULL, OPT_LAST },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "utc", no_argument, NULL, OPT_UTC },
		{ "width", required_argument, NULL, OPT_WIDTH },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "until", required_argument, NULL, OPT_UNTIL },
		{ "written", no_argument, NULL, OPT_WRITTEN },
		{ "prefix", required_argument, NULL, OPT_PREFIX },
		{ "unique", no_argument, NULL, OPT_UNIQUE },
		{ "container", required_argument, NULL, OPT_CONTAINER },
		{ "container-b", required_argument, NULL, OPT_CONTAINER_B },
		{ "color", required_argument, NULL, OPT_COLOR },
		{ "follow", no_argument, NULL, OPT_FOLLOW },
		{ "filter", no_argument, NULL, OPT_FILTER },
		{ "all-sessions", no_argument, NULL, OPT_ALL_SESSIONS },
		{ "path", required_argument, NULL, OPT_PATH },
		{ "path-prefix", required_argument, NULL, OPT_PATH_PREFIX },
		{ "path-glob", required_argument, NULL, OPT_PATH_GLOB },
		{ "exe", required_argument, NULL, OPT_EXE },
		{ "argv", required_argument, NULL, OPT_ARGV },
		{ "pid", required_argument, NULL, OPT_PID },
		{ "uid", required_argument, NULL, OPT_UID },
		{ "syscall", required_argument, NULL, OPT_SYSCALL },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "all", no_argument, NULL, OPT_ALL },
		{ "to-collection", required_argument, NULL, OPT_TO_COLLECTION },
		{ "stream", required_argument, NULL, OPT_STREAM },
		{ "keep-old", no_argument, NULL, OPT_KEEP_OLD },
		{ "process", required_argument, NULL, OPT_PROCESS },
		{ "command", required_argument, NULL, OPT_COMMAND },
		{ "depth", required_argument, NULL, OPT_DEPTH },
		{ "read", no_argument, NULL, OPT_READ },
		{ "executed", no_argument, NULL, OPT_EXECUTED },
		{ "failed", no_argument, NULL, OPT_FAILED },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct qargs a = { .format = QFMT_TEXT, .width = QWIDTH_AUTO, .since_ms = QTIME_NONE,
			   .until_ms = QTIME_NONE, .since_rel_ms = QTIME_NONE,
			   .until_rel_ms = QTIME_NONE, .pid = -1, .uid = -1,
			   .depth = -1 };
	const char *since = NULL, *until = NULL, *fmt = NULL;
	const char **fmtp = &fmt, **sincep = &since, **untilp = &until;
	int seen[OPT_LAST_OPT + 1] = { 0 };
	size_t want_min = 0, want_max = 0;
	int c;

#define FAIL(...)                                      \
	do {                                           \
		snprintf(err, errlen, __VA_ARGS__);    \
		return -EINVAL;                        \
	} while (0)

	optind = 0; /* GNU: full re-initialisation, so that tests can parse many times */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c == '?' || c == ':') {
			if (optopt)
				FAIL("option '%s' needs a value or is unknown", argv[optind - 1]);
			FAIL("unknown option '%s'", argv[optind - 1]);
		}
		if (apply_opt(&a, c, seen, fmtp, sincep, untilp, err, errlen) < 0)
			return -EINVAL;
	}
	/* Subcommand, then its operands and options in any order. */
	if (optind < argc && a.cmd == QCMD_NONE) {
		a.cmd = qcmd_from_name(argv[optind]);
		if (a.cmd == QCMD_NONE)
			FAIL("unknown subcommand '%s' (sessions, containers, tree, timeline, files, "
			     "diff, events, search, verify, export, convert)", argv[optind]);
		optind++;
	}
	if (a.cmd == QCMD_NONE) {
		if (a.help) {
			*ret = a;
			return 0;
		}
		FAIL("no subcommand given");
	}
	while (optind < argc) {
		if (argv[optind][0] != '-' || !argv[optind][1]) {
			if (a.noperands == 2)
				FAIL("%s: too many operands ('%s')", qcmd_name(a.cmd), argv[optind]);
			a.operand[a.noperands++] = argv[optind++];
			continue;
		}
		if (!strcmp(argv[optind], "--")) {
			for (optind++; optind < argc; optind++) {
				if (a.noperands == 2)
					FAIL("%s: too many operands ('%s')", qcmd_name(a.cmd),
					     argv[optind]);
				a.operand[a.noperands++] = argv[optind];
			}
			break;
		}
		c = getopt_long(argc, argv, "+h", opts, NULL);
		if (c == -1)
			break;
		if (c == '?' || c == ':')
			FAIL("%s: option '%s' needs a value or is unknown", qcmd_name(a.cmd),
			     argv[optind - 1]);
		if (apply_opt(&a, c, seen, fmtp, sincep, untilp, err, errlen) < 0)
			return -EINVAL;
	}
	if (a.help) {
		*ret = a;
		return 0;
	}
	for (int o = OPT_URI; o <= OPT_LAST_OPT; o++)
		if (seen[o] && !allowed(a.cmd, o))
			FAIL("%s does not take --%s", qcmd_name(a.cmd), opt_name(opts, o));
	if (a.session && a.last)
		FAIL("give --session ID or --last, not both");
	if (fmt) {
		if (!strcmp(fmt, "text"))
			a.format = QFMT_TEXT;
		else if (!strcmp(fmt, "json"))
			a.format = QFMT_JSON;
		else if (!strcmp(fmt, "dot") && a.cmd == QCMD_TREE)
			a.format = QFMT_DOT;
		else if (!strcmp(fmt, "dot"))
			FAIL("--format dot is only for tree");
		else if (!strcmp(fmt, "bson") && a.cmd == QCMD_EVENTS)
			a.format = QFMT_BSON;
		else if (!strcmp(fmt, "bson"))
			FAIL("--format bson is only for events");
		else
			FAIL("--format wants text, json or dot, not '%s'", fmt);
	}
	switch (a.cmd) {
	case QCMD_TREE:
	case QCMD_FILES: want_min = want_max = 1; break;
	case QCMD_TIMELINE: /* --follow: every container and the host unless one is named */
		want_min = a.follow ? 0 : 1;
		want_max = 1;
		break;
	case QCMD_DIFF: want_min = want_max = 2; break;
	case QCMD_VERIFY: want_max = 1; break;
	case QCMD_EXPORT: want_min = want_max = 1; break;
	case QCMD_CONVERT: want_max = 1; break;
	default: break;
	}
	if (a.noperands < want_min)
		FAIL("%s needs %s", qcmd_name(a.cmd),
		     a.cmd == QCMD_DIFF ? "two sessions: SESSION_A SESSION_B" : "a CONTAINER");
	if (a.noperands > want_max)
		FAIL("%s: unexpected operand '%s'", qcmd_name(a.cmd), a.operand[want_max]);
	if (a.all_sessions && (a.session || a.last || a.follow))
		FAIL("--all-sessions does not go with --session, --last or --follow");
	if (a.follow && a.format == QFMT_DOT)
		FAIL("--follow prints text or json");
	if (a.all && a.noperands)
		FAIL("%s: give SESSION or --all, not both", qcmd_name(a.cmd));
	if (a.cmd == QCMD_CONVERT && !a.all && !a.noperands)
		FAIL("convert: give SESSION or --all");
	if (a.cmd == QCMD_EXPORT && !a.to_collection)
		FAIL("export: give --to-collection NAME");
	if (view_cmd(a.cmd) && (!!a.process + !!a.command + (a.pid >= 0)) > 1)
		FAIL("%s: give one of --process, --pid and --command", qcmd_name(a.cmd));
	if (a.cmd == QCMD_FILES && a.path_prefix && a.prefix)
		FAIL("files: --path-prefix and --prefix are the same option; give one");
	if (a.cmd == QCMD_FILES && a.path_prefix)
		a.prefix = a.path_prefix;
	if (a.cmd == QCMD_FILES && (a.read + a.written + a.executed) > 1)
		FAIL("files: give one of --read, --written and --executed");
	if (a.cmd == QCMD_FILES && a.failed && (a.written || a.executed))
		FAIL("files: --failed lists failed opens; it does not go with --written or --executed");
	if (a.container_b && !a.container)
		FAIL("diff: --container-b needs --container");
	if (since) {
		bool rel;
		int64_t v;

		if (qargs_parse_time(since, a.utc, &v, &rel) < 0)
			FAIL("--since: cannot read the time '%s' (" WHEN_FORMS ")", since);
		if (rel)
			a.since_rel_ms = v;
		else
			a.since_ms = v;
	}
	if (until) {
		bool rel;
		int64_t v;

		if (qargs_parse_time(until, a.utc, &v, &rel) < 0)
			FAIL("--until: cannot read the time '%s' (" WHEN_FORMS ")", until);
		if (rel)
			a.until_rel_ms = v;
		else
			a.until_ms = v;
	}
	if (a.prefix && a.prefix[0] != '/')
		FAIL("--prefix wants an absolute path, not '%s'", a.prefix);
	if (a.path_prefix && a.path_prefix[0] != '/')
		FAIL("--path-prefix wants an absolute path, not '%s'", a.path_prefix);
	if (a.cmd == QCMD_SEARCH && (a.since_rel_ms != QTIME_NONE || a.until_rel_ms != QTIME_NONE))
		FAIL("search: +OFFSET times need a container's start; give a time or -N");
	if (a.cmd == QCMD_EVENTS && (a.since_rel_ms != QTIME_NONE || a.until_rel_ms != QTIME_NONE))
		FAIL("events: +OFFSET times need a container's start; give a time or -N");
	*ret = a;
	return 0;
#undef FAIL
}
