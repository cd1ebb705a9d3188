/* test_options.c — the listener's option table read from a config file and the command line
 * (issue 18): values, precedence (command line wins), and errors that name FILE:LINE. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "options.h"

static char path[64];
static char err[512];

static void write_conf(const char *text)
{
	int fd;

	strcpy(path, "/tmp/lineage-test-options-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* options_parse with the config file just written (or none) and these arguments. */
static int parse(struct options *o, bool with_conf, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	const char *a;

	argv[argc++] = "lineage-listener";
	if (with_conf) {
		argv[argc++] = "--config";
		argv[argc++] = path;
	} else {
		argv[argc++] = "--no-config";
	}
	va_start(ap, with_conf);
	while ((a = va_arg(ap, const char *)))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	err[0] = '\0';
	return options_parse(argc, argv, o, err, sizeof(err));
}

static void expect_error(const char *text, const char *needle)
{
	struct options o;
	char want[600];

	write_conf(text);
	assert_int_equal(parse(&o, true, NULL), -EINVAL);
	snprintf(want, sizeof(want), "%s:%s", path, needle);
	if (!strstr(err, want))
		fail_msg("error '%s' does not contain '%s'", err, want);
	options_release(&o);
	unlink(path);
}

static void test_defaults(void **state)
{
	struct options o;

	(void)state;
	assert_int_equal(parse(&o, false, NULL), OPTIONS_RUN);
	assert_string_equal(o.spool_dir, OPTIONS_DEFAULT_SPOOL);
	assert_true(o.audit_write);
	assert_int_equal(o.backlog_wait, 60);
	assert_int_equal(o.batch_max, 500);
	assert_int_equal(o.priority_boost, 0); /* measured: see notes.md, Decisions */
	assert_null(o.config);
	options_release(&o);
}

static void test_file_values(void **state)
{
	struct options o;

	(void)state;
	write_conf("# lineage listener\n"
		   "\n"
		   "   uri = mongodb://db.example:27017/?replicaSet=rs0  \n"
		   "db=lineage_x\n"
		   "spool = \"/var/tmp/spool dir\"\n"
		   "no-write = yes\n"
		   "multicast = off\n"
		   "backlog-wait = 0\n"
		   "batch = 0\n"
		   "queue-max = 123\n"
		   "exclude-pid = 11\n"
		   "exclude-pid = 12\n"
		   "verbose = true\n");
	assert_int_equal(parse(&o, true, NULL), OPTIONS_RUN);
	assert_string_equal(o.uri, "mongodb://db.example:27017/?replicaSet=rs0");
	assert_string_equal(o.db, "lineage_x");
	assert_string_equal(o.spool_dir, "/var/tmp/spool dir");
	assert_false(o.audit_write);
	assert_false(o.multicast);
	assert_int_equal(o.backlog_wait, 0);
	assert_int_equal(o.batch_max, 1); /* 0 means 1, as on the command line */
	assert_int_equal(o.queue_max, 123);
	assert_int_equal(o.n_exclude, 2);
	assert_int_equal(o.exclude[0], 11);
	assert_int_equal(o.exclude[1], 12);
	assert_true(o.verbose);
	assert_string_equal(o.config, path);
	options_release(&o);
	unlink(path);
}

static void test_command_line_wins(void **state)
{
	struct options o;

	(void)state;
	write_conf("backlog-wait = 10\ndb = from_file\nexclude-pid = 11\nno-write = yes\n");
	assert_int_equal(parse(&o, true, "--backlog-wait", "20", "--exclude-pid", "99", NULL),
			 OPTIONS_RUN);
	assert_int_equal(o.backlog_wait, 20);
	assert_string_equal(o.db, "from_file"); /* not on the command line: the file's */
	assert_int_equal(o.n_exclude, 1);        /* the command line's list replaces the file's */
	assert_int_equal(o.exclude[0], 99);
	assert_false(o.audit_write);
	options_release(&o);
	/* the order of --config among the arguments does not matter */
	{
		char *argv[] = { "lineage-listener", "--db", "cli", "--config", path, NULL };

		assert_int_equal(options_parse(5, argv, &o, err, sizeof(err)), OPTIONS_RUN);
		assert_string_equal(o.db, "cli");
		assert_int_equal(o.backlog_wait, 10);
		options_release(&o);
	}
	unlink(path);
}

static void test_typos(void **state)
{
	(void)state;
	/* line numbers count comments and blank lines */
	expect_error("# comment\n\nbakclog-wait = 1\n", "3: unknown key 'bakclog-wait' (did you mean 'backlog-wait'?)");
	expect_error("uri = x\nmulticst = yes\n", "2: unknown key 'multicst' (did you mean 'multicast'?)");
	expect_error("color = blue\n", "1: unknown key 'color'");
	expect_error("--uri = x\n", "1: unknown key '--uri'");
	expect_error("db lineage\n", "1: expected 'key = value'");
}

static void test_bad_values(void **state)
{
	(void)state;
	expect_error("\nbacklog-wait = -1\n", "2: backlog-wait: not a number in 0..2147483647: '-1'");
	expect_error("batch = 10k\n", "1: batch: not a number");
	expect_error("rcvbuf = 99999999999\n", "1: rcvbuf: not a number");
	expect_error("priority-boost = 21\n", "1: priority-boost: not a number in 0..20: '21'");
	expect_error("multicast = maybe\n", "1: multicast: expected yes or no");
	expect_error("no-write =\n", "1: no-write: expected yes or no");
	expect_error("uri =\n", "1: uri: empty value");
	expect_error("exclude-pid = 0\n", "1: exclude-pid: not a process id");
	expect_error("db = a\n\ndb = b\n", "3: 'db' set twice (first on line 1)");
	expect_error("help = yes\n", "1: 'help' is a command-line option, not a config key");
	expect_error("config = /etc/other.conf\n", "1: 'config' is a command-line option");
}

static void test_long_line(void **state)
{
	char *big = malloc(6000);

	(void)state;
	memset(big, 'a', 5998);
	memcpy(big, "db = ", 5);
	big[5998] = '\n';
	big[5999] = '\0';
	expect_error(big, "1: line longer than");
	free(big);
}

static void test_command_line_errors(void **state)
{
	struct options o;

	(void)state;
	assert_int_equal(parse(&o, false, "--bogus", NULL), -EINVAL);
	assert_non_null(strstr(err, "unknown option '--bogus'"));
	assert_int_equal(parse(&o, false, "--uri", NULL), -EINVAL);
	assert_non_null(strstr(err, "--uri needs a value"));
	assert_int_equal(parse(&o, false, "--batch", "x", NULL), -EINVAL);
	assert_non_null(strstr(err, "--batch: not a number"));
	assert_int_equal(parse(&o, false, "--no-db", NULL), -EINVAL);
	assert_non_null(strstr(err, "--no-db needs --jsonl"));
	assert_int_equal(parse(&o, false, "extra", NULL), -EINVAL);
	assert_non_null(strstr(err, "unexpected argument 'extra'"));
	options_release(&o);
}

static void test_missing_config(void **state)
{
	struct options o;
	char *argv[] = { "lineage-listener", "--config", "/nonexistent/lineage.conf", NULL };

	(void)state;
	assert_int_equal(options_parse(3, argv, &o, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/lineage.conf: cannot read"));
	/* --help needs no config file, even a broken one */
	write_conf("garbage\n");
	{
		char *argv2[] = { "lineage-listener", "--config", path, "--print-audit-config", NULL };

		assert_int_equal(options_parse(4, argv2, &o, err, sizeof(err)), OPTIONS_PRINT_AUDIT);
	}
	unlink(path);
	options_release(&o);
}

/* The sample config shipped with the install parses as it is (every line commented out)
 * and, uncommented, every key in it is known. */
static void test_sample_config(void **state)
{
	const char *sample = getenv("SAMPLE_CONFIG");
	struct options o;
	char line[4096], out[1 << 16] = "";
	FILE *f;

	(void)state;
	if (!sample)
		skip();
	f = fopen(sample, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		/* "#key = value" lines are the options; "# text" lines are prose */
		if (line[0] == '#' && line[1] != ' ' && line[1] != '\n' && strchr(line, '='))
			strncat(out, line + 1, sizeof(out) - strlen(out) - 1);
	}
	fclose(f);
	write_conf(out);
	if (parse(&o, true, NULL) != OPTIONS_RUN)
		fail_msg("uncommented sample: %s", err);
	options_release(&o);
	unlink(path);
	{
		char *argv[] = { "lineage-listener", "--config", (char *)sample, NULL };

		assert_int_equal(options_parse(3, argv, &o, err, sizeof(err)), OPTIONS_RUN);
		options_release(&o);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_file_values),
		cmocka_unit_test(test_command_line_wins),
		cmocka_unit_test(test_typos),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_command_line_errors),
		cmocka_unit_test(test_missing_config),
		cmocka_unit_test(test_sample_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
