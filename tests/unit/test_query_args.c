/* test_query_args.c — query/args.c: subcommands, operands and options in any order, the
 * options each subcommand refuses, --format/--width checks, and --since/--until time forms
 * (1700000000123 ms = 2023-11-14 22:13:20.123 UTC, worked out by hand). Also the pure part
 * of container resolution (exact id, name, unique prefix, ambiguity). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "args.h"
#include "query.h"

static int parse(struct qargs *a, char *err, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;

	argv[argc++] = "lineage-query";
	va_start(ap, err);
	while (argc < 31 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	err[0] = '\0';
	return qargs_parse(argc, argv, a, err, 256);
}

static void test_subcommands(void **state)
{
	struct qargs a;
	char err[256];

	(void)state;
	assert_int_equal(parse(&a, err, "sessions", NULL), 0);
	assert_int_equal(a.cmd, QCMD_SESSIONS);
	assert_int_equal(a.format, QFMT_TEXT);
	assert_int_equal(a.width, QWIDTH_AUTO);
	assert_int_equal(a.color, QCOLOR_AUTO);
	assert_int_equal(parse(&a, err, "--db", "x", "tree", "873d", "--format", "dot", NULL), 0);
	assert_int_equal(a.cmd, QCMD_TREE);
	assert_string_equal(a.db, "x");
	assert_string_equal(a.operand[0], "873d");
	assert_int_equal(a.format, QFMT_DOT);
	assert_int_equal(parse(&a, err, "files", "--unique", "abc", "--prefix", "/etc",
			       "--written", "--utc", NULL), 0);
	assert_true(a.unique && a.written && a.utc);
	assert_string_equal(a.prefix, "/etc");
	assert_string_equal(a.operand[0], "abc");
	assert_int_equal(parse(&a, err, "diff", "aa", "bb", "--container", "web", NULL), 0);
	assert_string_equal(a.operand[1], "bb");
	assert_string_equal(a.container, "web");
	assert_int_equal(parse(&a, err, "containers", "--session", "6b04", "--width", "0", NULL), 0);
	assert_string_equal(a.session, "6b04");
	assert_int_equal(a.width, 0);
	/* an operand that starts with '-' after "--" */
	assert_int_equal(parse(&a, err, "tree", "--", "-odd", NULL), 0);
	assert_string_equal(a.operand[0], "-odd");
}

static void test_help(void **state)
{
	struct qargs a;
	char err[256];

	(void)state;
	assert_int_equal(parse(&a, err, "--help", NULL), 0);
	assert_true(a.help);
	assert_int_equal(a.cmd, QCMD_NONE);
	assert_int_equal(parse(&a, err, "timeline", "--help", NULL), 0);
	assert_true(a.help);
	assert_int_equal(a.cmd, QCMD_TIMELINE);
	assert_int_equal(parse(&a, err, "tree", "-h", NULL), 0); /* no CONTAINER needed */
	assert_true(a.help);
}

static void test_usage_errors(void **state)
{
	struct qargs a;
	char err[256];

	(void)state;
	assert_int_equal(parse(&a, err, NULL), -EINVAL);
	assert_non_null(strstr(err, "no subcommand"));
	assert_int_equal(parse(&a, err, "frobnicate", NULL), -EINVAL);
	assert_non_null(strstr(err, "unknown subcommand 'frobnicate'"));
	assert_int_equal(parse(&a, err, "tree", NULL), -EINVAL);
	assert_non_null(strstr(err, "needs a CONTAINER"));
	assert_int_equal(parse(&a, err, "tree", "a", "b", NULL), -EINVAL);
	assert_int_equal(parse(&a, err, "diff", "a", NULL), -EINVAL);
	assert_non_null(strstr(err, "SESSION_A SESSION_B"));
	assert_int_equal(parse(&a, err, "timeline", "c", "--format", "dot", NULL), -EINVAL);
	assert_non_null(strstr(err, "only for tree"));
	assert_int_equal(parse(&a, err, "tree", "c", "--format", "xml", NULL), -EINVAL);
	assert_int_equal(parse(&a, err, "tree", "c", "--unique", NULL), -EINVAL);
	assert_non_null(strstr(err, "tree does not take --unique"));
	assert_int_equal(parse(&a, err, "files", "c", "--since", "+1s", NULL), -EINVAL);
	assert_int_equal(parse(&a, err, "sessions", "--last", NULL), -EINVAL);
	assert_int_equal(parse(&a, err, "tree", "c", "--session", "ab", "--last", NULL), -EINVAL);
	assert_int_equal(parse(&a, err, "tree", "c", "--width", "-3", NULL), -EINVAL);
	assert_int_equal(parse(&a, err, "tree", "c", "--width", "12x", NULL), -EINVAL);
	assert_int_equal(parse(&a, err, "tree", "c", "--bogus", NULL), -EINVAL);
	assert_non_null(strstr(err, "--bogus"));
	assert_int_equal(parse(&a, err, "tree", "c", "--db", NULL), -EINVAL);
	assert_int_equal(parse(&a, err, "files", "c", "--prefix", "etc", NULL), -EINVAL);
	assert_int_equal(parse(&a, err, "timeline", "c", "--since", "last tuesday", NULL), -EINVAL);
	assert_non_null(strstr(err, "--since"));
	assert_int_equal(parse(&a, err, "diff", "a", "b", "--container-b", "x", NULL), -EINVAL);
}

static void test_times(void **state)
{
	struct qargs a;
	char err[256];
	int64_t ms;
	bool rel;

	(void)state;
	assert_int_equal(qargs_parse_time("2023-11-14T22:13:20.123Z", false, &ms, &rel), 0);
	assert_int_equal(ms, 1700000000123LL);
	assert_false(rel);
	assert_int_equal(qargs_parse_time("2023-11-14 22:13:20.1", true, &ms, &rel), 0);
	assert_int_equal(ms, 1700000000100LL);
	assert_int_equal(qargs_parse_time("2023-11-14 22:13", true, &ms, &rel), 0);
	assert_int_equal(ms, 1699999980000LL);
	setenv("TZ", "Europe/Paris", 1);
	tzset();
	assert_int_equal(qargs_parse_time("2023-11-14 23:13:20.123", false, &ms, &rel), 0);
	assert_int_equal(ms, 1700000000123LL);
	setenv("TZ", "UTC", 1);
	tzset();
	assert_int_equal(qargs_parse_time("@1700000000.5", false, &ms, &rel), 0);
	assert_int_equal(ms, 1700000000500LL);
	assert_int_equal(qargs_parse_time("+250ms", false, &ms, &rel), 0);
	assert_true(rel);
	assert_int_equal(ms, 250);
	assert_int_equal(qargs_parse_time("+2m", false, &ms, &rel), 0);
	assert_int_equal(ms, 120000);
	assert_int_equal(qargs_parse_time("+3", false, &ms, &rel), 0);
	assert_int_equal(ms, 3000);
	assert_int_equal(qargs_parse_time("2023-13-14 22:13", true, &ms, &rel), -EINVAL);
	assert_int_equal(qargs_parse_time("2023-11-14 22:13:20.", true, &ms, &rel), -EINVAL);
	assert_int_equal(qargs_parse_time("2023-11-14", true, &ms, &rel), 0);
	assert_int_equal(ms, 1699920000000LL);
	assert_int_equal(qargs_parse_time("+5y", true, &ms, &rel), -EINVAL);
	assert_int_equal(qargs_parse_time("@", true, &ms, &rel), -EINVAL);
	assert_int_equal(qargs_parse_time("", true, &ms, &rel), -EINVAL);
	/* through the command line: --utc applies to --since; +N lands in the _rel fields */
	assert_int_equal(parse(&a, err, "timeline", "c", "--utc", "--since", "2023-11-14 22:13:20",
			       "--until", "+1s", NULL), 0);
	assert_int_equal(a.since_ms, 1700000000000LL);
	assert_int_equal(a.until_rel_ms, 1000);
	assert_true(a.until_ms == QTIME_NONE && a.since_rel_ms == QTIME_NONE);
}

/* issue 20: search, events, --follow, --color, times on every subcommand that takes them */
static void test_search_events_follow(void **state)
{
	struct qargs a;
	char err[256];

	(void)state;
	assert_int_equal(parse(&a, err, "search", "--path", "/etc/passwd", "--written", "--pid",
			       "42", "--since", "-10m", "--all-sessions", NULL), 0);
	assert_int_equal(a.cmd, QCMD_SEARCH);
	assert_string_equal(a.path, "/etc/passwd");
	assert_true(a.written && a.all_sessions);
	assert_int_equal(a.pid, 42);
	assert_int_equal(a.uid, -1);
	assert_true(a.since_ms != QTIME_NONE);
	assert_int_equal(parse(&a, err, "search", "--exe", "/bin/busybox", "--argv", "curl",
			       "--uid", "1000", "--container", "web", "--path-glob", "/etc/*",
			       "--path-prefix", "/tmp", "--follow", NULL), 0);
	assert_string_equal(a.exe, "/bin/busybox");
	assert_string_equal(a.argv_sub, "curl");
	assert_string_equal(a.path_glob, "/etc/*");
	assert_int_equal(a.uid, 1000);
	assert_true(a.follow);
	assert_int_equal(parse(&a, err, "events", "--syscall", "openat", "--key", "lineage",
			       "--pid", "7", "--path", "/x", "--until", "today", "--session", "ab",
			       "--format", "json", NULL), 0);
	assert_int_equal(a.cmd, QCMD_EVENTS);
	assert_string_equal(a.syscall, "openat");
	assert_string_equal(a.key, "lineage");
	assert_int_equal(a.format, QFMT_JSON);
	/* timeline --follow: the container is optional */
	assert_int_equal(parse(&a, err, "timeline", "--follow", NULL), 0);
	assert_int_equal(a.noperands, 0);
	assert_int_equal(parse(&a, err, "timeline", NULL), -EINVAL);
	assert_int_equal(parse(&a, err, "tree", "c", "--filter", "--color", "never", NULL), 0);
	assert_true(a.run_filter);
	assert_int_equal(a.color, QCOLOR_NEVER);
	assert_int_equal(parse(&a, err, "sessions", "--color", "always", NULL), 0);
	assert_int_equal(a.color, QCOLOR_ALWAYS);

	assert_int_equal(parse(&a, err, "sessions", "--color", "pink", NULL), -EINVAL);
	assert_int_equal(parse(&a, err, "search", "--pid", "x", NULL), -EINVAL);
	assert_int_equal(parse(&a, err, "search", "--uid", "-1", NULL), -EINVAL);
	assert_int_equal(parse(&a, err, "search", "--since", "+1s", NULL), -EINVAL);
	assert_int_equal(parse(&a, err, "search", "--path-prefix", "etc", NULL), -EINVAL);
	assert_int_equal(parse(&a, err, "search", "--all-sessions", "--last", NULL), -EINVAL);
	assert_int_equal(parse(&a, err, "events", "--follow", NULL), -EINVAL);
	assert_non_null(strstr(err, "events does not take --follow"));
	assert_int_equal(parse(&a, err, "tree", "c", "--syscall", "x", NULL), -EINVAL);
	assert_int_equal(parse(&a, err, "files", "c", "--exe", "x", NULL), -EINVAL);
}

static void test_match_container(void **state)
{
	const char *ids[] = { "873d55b8b42a", "873e0000", "abc123", "873d55b8b42a77" };
	const char *names[] = { "web", NULL, "873d", "db" };

	(void)state;
	assert_int_equal(q_match_container(ids, names, 4, "873d55b8b42a"), 0); /* exact beats prefix */
	assert_int_equal(q_match_container(ids, names, 4, "873d"), 2);         /* name beats prefix */
	assert_int_equal(q_match_container(ids, names, 4, "873"), -ENOTUNIQ);
	assert_int_equal(q_match_container(ids, names, 4, "873d55b8b42a7"), 3);
	assert_int_equal(q_match_container(ids, names, 4, "web"), 0);
	assert_int_equal(q_match_container(ids, names, 4, "abc"), 2);
	assert_int_equal(q_match_container(ids, names, 4, "ffff"), -ENOENT);
	assert_int_equal(q_match_container(ids, names, 4, ""), -ENOENT);
	assert_int_equal(q_match_container(ids, NULL, 4, "873e"), 1);
	assert_int_equal(q_match_container(ids, NULL, 0, "873e"), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_subcommands), cmocka_unit_test(test_help),
		cmocka_unit_test(test_usage_errors), cmocka_unit_test(test_times),
		cmocka_unit_test(test_match_container), cmocka_unit_test(test_search_events_follow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
