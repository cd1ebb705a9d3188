/* args.c — lineage-query's argument parsing (see args.h): one getopt_long pass over every
 * option, then per-subcommand checks of operands and of the options that apply. Owns
 * nothing: struct qargs points into argv. */
#include "args.h"

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
	[QCMD_DIFF] = "diff",		 [QCMD_VERIFY] = "verify",
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
	return cmd > QCMD_NONE && cmd <= QCMD_VERIFY ? cmd_names[cmd] : "lineage-query";
}

/* Digits only, at most maxd of them, value into *ret; returns the end or NULL. */
static const char *num(const char *s, int mind, int maxd, int *ret)
{
	int v = 0, d = 0;

	while (s[d] >= '0' && s[d] <= '9' && d < maxd)
		v = v * 10 + (s[d++] - '0');
	if (d < mind)
		return NULL;
	*ret = v;
	return s + d;
}

static int parse_rel(const char *s, int64_t *ret_ms)
{
	char *end;
	long long v;
	int64_t mul;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || errno || v < 0 || v > 1000LL * 3600 * 24 * 365)
		return -EINVAL;
	if (!strcmp(end, "ms"))
		mul = 1;
	else if (!*end || !strcmp(end, "s"))
		mul = 1000;
	else if (!strcmp(end, "m"))
		mul = 60000;
	else if (!strcmp(end, "h"))
		mul = 3600000;
	else
		return -EINVAL;
	*ret_ms = v * mul;
	return 0;
}

static int parse_epoch(const char *s, int64_t *ret_ms)
{
	int64_t sec = 0, ms = 0;
	int digits = 0, fd = 0;

	for (; *s >= '0' && *s <= '9'; s++, digits++) {
		if (sec > INT64_MAX / 10000)
			return -EINVAL;
		sec = sec * 10 + (*s - '0');
	}
	if (!digits)
		return -EINVAL;
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++, fd++)
			if (fd < 3)
				ms = ms * 10 + (*s - '0');
		if (!fd)
			return -EINVAL;
		for (; fd < 3; fd++)
			ms *= 10;
	}
	if (*s)
		return -EINVAL;
	*ret_ms = sec * 1000 + ms;
	return 0;
}

int qargs_parse_time(const char *s, bool utc, int64_t *ret_ms, bool *ret_rel)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, sec = 0, ms = 0, fd = 0;
	const char *p = s;
	time_t t;
	int64_t v;

	if (!s || !*s)
		return -EINVAL;
	if (*s == '+') {
		if (parse_rel(s + 1, &v) < 0)
			return -EINVAL;
		*ret_ms = v;
		*ret_rel = true;
		return 0;
	}
	if (*s == '@') {
		if (parse_epoch(s + 1, &v) < 0)
			return -EINVAL;
		*ret_ms = v;
		*ret_rel = false;
		return 0;
	}
	if (!(p = num(p, 4, 4, &y)) || *p++ != '-' || !(p = num(p, 2, 2, &mo)) || *p++ != '-' ||
	    !(p = num(p, 2, 2, &d)) || (*p != 'T' && *p != ' ') || !(p = num(p + 1, 2, 2, &h)) ||
	    *p++ != ':' || !(p = num(p, 2, 2, &mi)))
		return -EINVAL;
	if (*p == ':') {
		if (!(p = num(p + 1, 2, 2, &sec)))
			return -EINVAL;
		if (*p == '.') {
			for (p++; *p >= '0' && *p <= '9'; p++, fd++)
				if (fd < 3)
					ms = ms * 10 + (*p - '0');
			if (!fd)
				return -EINVAL;
			for (; fd < 3; fd++)
				ms *= 10;
		}
	}
	if (*p == 'Z') {
		utc = true;
		p++;
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	tm.tm_isdst = -1;
	t = utc ? timegm(&tm) : mktime(&tm);
	if (t == (time_t)-1 && !(y == 1969 && mo == 12 && d == 31))
		return -EINVAL;
	*ret_ms = (int64_t)t * 1000 + ms;
	*ret_rel = false;
	return 0;
}

enum {
	OPT_URI = 256, OPT_DB, OPT_SESSION, OPT_LAST, OPT_FORMAT, OPT_UTC, OPT_WIDTH, OPT_SINCE,
	OPT_UNTIL, OPT_WRITTEN, OPT_PREFIX, OPT_UNIQUE, OPT_CONTAINER, OPT_CONTAINER_B,
	OPT_ALL, /* verify (issue 21) */
	OPT_END_
};

/* Which options each subcommand accepts, beyond the global ones. */
static bool allowed(enum qcmd cmd, int opt)
{
	switch (opt) {
	case OPT_SINCE:
	case OPT_UNTIL:
		return cmd == QCMD_TIMELINE;
	case OPT_WRITTEN:
	case OPT_PREFIX:
	case OPT_UNIQUE:
		return cmd == QCMD_FILES;
	case OPT_CONTAINER:
	case OPT_CONTAINER_B:
		return cmd == QCMD_DIFF;
	case OPT_SESSION:
	case OPT_LAST:
		return cmd != QCMD_DIFF && cmd != QCMD_SESSIONS && cmd != QCMD_VERIFY;
	case OPT_ALL:
		return cmd == QCMD_VERIFY;
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
	case OPT_ALL: a->all = true; break;
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
		{ "all", no_argument, NULL, OPT_ALL },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct qargs a = { .format = QFMT_TEXT, .width = 80, .since_ms = QTIME_NONE,
			   .until_ms = QTIME_NONE, .since_rel_ms = QTIME_NONE,
			   .until_rel_ms = QTIME_NONE };
	const char *since = NULL, *until = NULL, *fmt = NULL;
	const char **fmtp = &fmt, **sincep = &since, **untilp = &until;
	int seen[OPT_END_] = { 0 };
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
			     "diff, verify)", argv[optind]);
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
	for (int o = OPT_URI; o < OPT_END_; o++)
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
		else
			FAIL("--format wants text, json or dot, not '%s'", fmt);
	}
	switch (a.cmd) {
	case QCMD_TREE:
	case QCMD_TIMELINE:
	case QCMD_FILES: want_min = want_max = 1; break;
	case QCMD_DIFF: want_min = want_max = 2; break;
	case QCMD_VERIFY: want_max = 1; break;
	default: break;
	}
	if (a.noperands < want_min)
		FAIL("%s needs %s", qcmd_name(a.cmd),
		     a.cmd == QCMD_DIFF ? "two sessions: SESSION_A SESSION_B" : "a CONTAINER");
	if (a.noperands > want_max)
		FAIL("%s: unexpected operand '%s'", qcmd_name(a.cmd), a.operand[want_max]);
	if (a.all && a.noperands)
		FAIL("verify: give SESSION or --all, not both");
	if (a.container_b && !a.container)
		FAIL("diff: --container-b needs --container");
	if (since) {
		bool rel;
		int64_t v;

		if (qargs_parse_time(since, a.utc, &v, &rel) < 0)
			FAIL("--since: cannot read the time '%s' (YYYY-MM-DD HH:MM[:SS[.mmm]][Z], "
			     "@EPOCH or +OFFSET)", since);
		if (rel)
			a.since_rel_ms = v;
		else
			a.since_ms = v;
	}
	if (until) {
		bool rel;
		int64_t v;

		if (qargs_parse_time(until, a.utc, &v, &rel) < 0)
			FAIL("--until: cannot read the time '%s' (YYYY-MM-DD HH:MM[:SS[.mmm]][Z], "
			     "@EPOCH or +OFFSET)", until);
		if (rel)
			a.until_rel_ms = v;
		else
			a.until_ms = v;
	}
	if (a.prefix && a.prefix[0] != '/')
		FAIL("--prefix wants an absolute path, not '%s'", a.prefix);
	*ret = a;
	return 0;
#undef FAIL
}
