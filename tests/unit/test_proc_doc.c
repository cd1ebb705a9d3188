/* test_proc_doc.c — proc_events and snapshot documents: field names and types of DESIGN.md
 * for every event type, exec with /proc info and gone, exit codes vs signals, wall-clock ts
 * from the monotonic timestamp (the captured session's numbers), invalid UTF-8 in argv, and a
 * snapshot document of the fixture tree. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "proc_doc.h"

#define ID "83081e260a3673e8cf3d113dd2a57735ef60d0ad6e7e266d9d57ca43ce370efe"

static struct doc_meta meta(void)
{
	struct doc_meta m;

	memset(&m, 0, sizeof(m));
	bson_oid_init_from_string(&m.session, "65f000000000000000000001");
	bson_oid_to_string(&m.session, m.session_hex);
	m.host = "h1";
	m.seq = 1043;
	return m;
}

/* the session of the fixtures: wall 1795434347.787 s at monotonic 754.20 s */
static const struct proc_doc_clock fixture_clock = {
	.mono_wall_ns = 1795434347787000000ll - 754200000000ll,
	.boot_wall_ns = 1795434347787000000ll - 754200000000ll,
	.clk_tck = 100,
};

static bson_iter_t field(const bson_t *doc, const char *key)
{
	bson_iter_t it;

	if (!bson_iter_init_find(&it, doc, key)) {
		char *json = bson_as_relaxed_extended_json(doc, NULL);

		fail_msg("no field %s in %s", key, json);
	}
	return it;
}

static int64_t num(const bson_t *doc, const char *key)
{
	bson_iter_t it = field(doc, key);

	if (BSON_ITER_HOLDS_INT32(&it))
		return bson_iter_int32(&it);
	if (BSON_ITER_HOLDS_INT64(&it))
		return bson_iter_int64(&it);
	fail_msg("%s is not a number", key);
	return 0;
}

static const char *str(const bson_t *doc, const char *key)
{
	bson_iter_t it = field(doc, key);

	assert_true(BSON_ITER_HOLDS_UTF8(&it));
	return bson_iter_utf8(&it, NULL);
}

static bool is_null(const bson_t *doc, const char *key)
{
	bson_iter_t it = field(doc, key);

	return BSON_ITER_HOLDS_NULL(&it);
}

static bool has(const bson_t *doc, const char *key)
{
	bson_iter_t it;

	return bson_iter_init_find(&it, doc, key);
}

static bool boolean(const bson_t *doc, const char *key)
{
	bson_iter_t it = field(doc, key);

	assert_true(BSON_ITER_HOLDS_BOOL(&it));
	return bson_iter_bool(&it);
}

static void test_fork(void **state)
{
	struct doc_meta m = meta();
	struct cn_proc_event ev = { 0 };
	bson_iter_t it;
	bson_t doc;

	(void)state;
	ev.what = CN_PROC_FORK;
	ev.cpu = 1;
	ev.seq = 77;
	ev.timestamp_ns = 754200955085ull;
	ev.parent_pid = ev.parent_tgid = 10850;
	ev.child_pid = ev.pid = 10857;
	ev.child_tgid = ev.tgid = 10856;
	ev.thread = true;
	assert_int_equal(proc_doc_event(&ev, NULL, &m, &fixture_clock, &doc), 0);
	assert_string_equal(str(&doc, "_id"), "65f000000000000000000001:1043");
	assert_false(bson_has_field(&doc, "host")); /* in the sessions document only */
	assert_int_equal(num(&doc, "seq"), 1043);
	assert_string_equal(str(&doc, "what"), "fork");
	it = field(&doc, "ts");
	assert_true(BSON_ITER_HOLDS_DATE_TIME(&it));
	/* 1795434347.787 s + (754.200955085 - 754.2) s */
	assert_int_equal(bson_iter_date_time(&it), 1795434347787ll);
	assert_int_equal(num(&doc, "ts_ns"), 754200955085ll);
	assert_int_equal(num(&doc, "cpu"), 1);
	assert_int_equal(num(&doc, "cn_seq"), 77);
	assert_int_equal(num(&doc, "parent_pid"), 10850);
	assert_int_equal(num(&doc, "parent_tgid"), 10850);
	assert_int_equal(num(&doc, "child_pid"), 10857);
	assert_int_equal(num(&doc, "child_tgid"), 10856);
	assert_true(boolean(&doc, "thread"));
	assert_false(has(&doc, "container")); /* unknown for a fork unless the caller says */
	bson_destroy(&doc);

	m.container = ID;
	assert_int_equal(proc_doc_event(&ev, NULL, &m, &fixture_clock, &doc), 0);
	assert_string_equal(str(&doc, "container"), ID);
	bson_destroy(&doc);
}

static void test_exit(void **state)
{
	struct doc_meta m = meta();
	struct cn_proc_event ev = { 0 };
	bson_t doc;

	(void)state;
	ev.what = CN_PROC_EXIT;
	ev.pid = ev.tgid = 10854;
	ev.status = 3 << 8;
	ev.exited = true;
	ev.exit_code = 3;
	ev.term_signal = -1;
	ev.exit_signal = SIGCHLD;
	ev.parent_pid = ev.parent_tgid = 10850;
	assert_int_equal(proc_doc_event(&ev, NULL, &m, &fixture_clock, &doc), 0);
	assert_string_equal(str(&doc, "what"), "exit");
	assert_int_equal(num(&doc, "pid"), 10854);
	assert_int_equal(num(&doc, "tgid"), 10854);
	assert_int_equal(num(&doc, "exit_code"), 3);
	assert_true(is_null(&doc, "signal"));
	assert_int_equal(num(&doc, "status"), 768);
	assert_int_equal(num(&doc, "exit_signal"), SIGCHLD);
	assert_int_equal(num(&doc, "parent_pid"), 10850);
	assert_int_equal(num(&doc, "parent_tgid"), 10850);
	bson_destroy(&doc);

	ev.status = SIGKILL;
	ev.exited = false;
	ev.exit_code = -1;
	ev.signaled = true;
	ev.term_signal = SIGKILL;
	assert_int_equal(proc_doc_event(&ev, NULL, &m, &fixture_clock, &doc), 0);
	assert_true(is_null(&doc, "exit_code"));
	assert_int_equal(num(&doc, "signal"), SIGKILL);
	assert_int_equal(num(&doc, "status"), SIGKILL);
	bson_destroy(&doc);
}

static void test_exec(void **state)
{
	static char *argv[] = { "cat", "/etc/motd", "\xff\xfe bad utf8", NULL };
	struct doc_meta m = meta();
	struct cn_proc_event ev = { 0 };
	struct procfs_proc info;
	bson_iter_t it, arr;
	bson_t doc;
	int n = 0;

	(void)state;
	memset(&info, 0, sizeof(info));
	ev.what = CN_PROC_EXEC;
	ev.pid = ev.tgid = 10854;
	info.pid = info.tgid = 10854;
	info.ppid = 10850;
	info.exe = "/bin/busybox";
	info.cwd = "/";
	info.root = "/var/lib/docker/overlay2/a164/merged";
	info.argv = argv;
	info.argc = 3;
	strcpy(info.container, ID);
	info.mnt_ns = 4026532501ull;
	info.pid_ns = 4026532504ull;
	assert_int_equal(proc_doc_event(&ev, &info, &m, &fixture_clock, &doc), 0);
	assert_string_equal(str(&doc, "what"), "exec");
	assert_int_equal(num(&doc, "pid"), 10854);
	assert_string_equal(str(&doc, "exe"), "/bin/busybox");
	assert_string_equal(str(&doc, "cwd"), "/");
	assert_string_equal(str(&doc, "root"), "/var/lib/docker/overlay2/a164/merged");
	assert_string_equal(str(&doc, "container"), ID);
	assert_int_equal(num(&doc, "mnt_ns"), 4026532501ll);
	assert_int_equal(num(&doc, "pid_ns"), 4026532504ll);
	assert_int_equal(num(&doc, "ppid"), 10850);
	assert_false(has(&doc, "gone"));
	it = field(&doc, "argv");
	assert_true(BSON_ITER_HOLDS_ARRAY(&it));
	assert_true(bson_iter_recurse(&it, &arr));
	while (bson_iter_next(&arr)) {
		const char *s = bson_iter_utf8(&arr, NULL);

		if (n == 0)
			assert_string_equal(s, "cat");
		if (n == 1)
			assert_string_equal(s, "/etc/motd");
		if (n == 2)
			assert_string_equal(s, "\xef\xbf\xbd\xef\xbf\xbd bad utf8");
		n++;
	}
	assert_int_equal(n, 3);
	/* the exact bytes of the repaired item only (utf8.h) */
	it = field(&doc, "argv_hex");
	assert_true(BSON_ITER_HOLDS_DOCUMENT(&it));
	assert_true(bson_iter_recurse(&it, &arr));
	assert_true(bson_iter_next(&arr));
	assert_string_equal(bson_iter_key(&arr), "2");
	assert_string_equal(bson_iter_utf8(&arr, NULL), "FFFE206261642075746638");
	assert_false(bson_iter_next(&arr));
	assert_false(has(&doc, "exe_hex"));
	assert_true(bson_validate(&doc, BSON_VALIDATE_UTF8, NULL));
	bson_destroy(&doc);

	/* host process: container null */
	info.container[0] = '\0';
	assert_int_equal(proc_doc_event(&ev, &info, &m, &fixture_clock, &doc), 0);
	assert_true(is_null(&doc, "container"));
	bson_destroy(&doc);

	/* gone before we looked */
	assert_int_equal(proc_doc_event(&ev, NULL, &m, &fixture_clock, &doc), 0);
	assert_true(boolean(&doc, "gone"));
	assert_false(has(&doc, "exe"));
	bson_destroy(&doc);
	memset(&info, 0, sizeof(info));
	info.gone = true;
	assert_int_equal(proc_doc_event(&ev, &info, &m, &fixture_clock, &doc), 0);
	assert_true(boolean(&doc, "gone"));
	assert_false(has(&doc, "exe"));
	bson_destroy(&doc);
}

static void test_small_types(void **state)
{
	struct doc_meta m = meta();
	struct cn_proc_event ev = { 0 };
	bson_t doc;

	(void)state;
	ev.pid = ev.tgid = 5;
	ev.what = CN_PROC_COMM;
	strcpy(ev.comm, "runc:[2:INIT]");
	assert_int_equal(proc_doc_event(&ev, NULL, &m, &fixture_clock, &doc), 0);
	assert_string_equal(str(&doc, "what"), "comm");
	assert_string_equal(str(&doc, "comm"), "runc:[2:INIT]");
	bson_destroy(&doc);

	ev.what = CN_PROC_UID;
	ev.rid = 1000;
	ev.eid = 0;
	assert_int_equal(proc_doc_event(&ev, NULL, &m, &fixture_clock, &doc), 0);
	assert_int_equal(num(&doc, "ruid"), 1000);
	assert_int_equal(num(&doc, "euid"), 0);
	bson_destroy(&doc);

	ev.what = CN_PROC_GID;
	assert_int_equal(proc_doc_event(&ev, NULL, &m, &fixture_clock, &doc), 0);
	assert_int_equal(num(&doc, "rgid"), 1000);
	assert_int_equal(num(&doc, "egid"), 0);
	bson_destroy(&doc);

	ev.what = CN_PROC_SID;
	assert_int_equal(proc_doc_event(&ev, NULL, &m, &fixture_clock, &doc), 0);
	assert_string_equal(str(&doc, "what"), "sid");
	assert_int_equal(num(&doc, "tgid"), 5);
	bson_destroy(&doc);

	ev.what = CN_PROC_PTRACE;
	ev.tracer_pid = 8;
	ev.tracer_tgid = 9;
	assert_int_equal(proc_doc_event(&ev, NULL, &m, &fixture_clock, &doc), 0);
	assert_int_equal(num(&doc, "tracer_pid"), 8);
	assert_int_equal(num(&doc, "tracer_tgid"), 9);
	bson_destroy(&doc);

	ev.what = CN_PROC_COREDUMP;
	ev.parent_pid = 3;
	ev.parent_tgid = 4;
	assert_int_equal(proc_doc_event(&ev, NULL, &m, &fixture_clock, &doc), 0);
	assert_string_equal(str(&doc, "what"), "coredump");
	assert_int_equal(num(&doc, "parent_pid"), 3);
	assert_int_equal(num(&doc, "parent_tgid"), 4);
	bson_destroy(&doc);

	ev.what = CN_PROC_NONE;
	assert_int_equal(proc_doc_event(&ev, NULL, &m, &fixture_clock, &doc), -EINVAL);
	bson_destroy(&doc); /* initialised even on failure */
}

static void test_clock(void **state)
{
	struct proc_doc_clock clk;
	struct timespec mono, real;
	int64_t wall;

	(void)state;
	assert_int_equal(proc_doc_clock_init(&clk), 0);
	assert_true(clk.clk_tck > 0);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	wall = proc_doc_event_wall_ms(&clk, (uint64_t)mono.tv_sec * 1000000000ull +
						    (uint64_t)mono.tv_nsec);
	/* within 50 ms of now */
	assert_true(llabs(wall - ((int64_t)real.tv_sec * 1000 + real.tv_nsec / 1000000)) < 50);
	/* boot: before now, after 2000-01-01 */
	assert_true(clk.boot_wall_ns / 1000000 < (int64_t)real.tv_sec * 1000);
	assert_true(clk.boot_wall_ns > 946684800ll * 1000000000ll);
	assert_true(clk.boot_wall_ns <= clk.mono_wall_ns + 1000000); /* boottime >= monotonic */
	assert_int_equal(proc_doc_start_wall_ms(&fixture_clock, 75420),
			 (1795434347787000000ll - 754200000000ll) / 1000000 + 754200);
}

static void test_snapshot(void **state)
{
	const char *fx = getenv("FIXTURES");
	struct doc_meta m = meta();
	struct procfs_proc p;
	char root[4096];
	bson_iter_t it;
	bson_t doc;

	(void)state;
	snprintf(root, sizeof(root), "%s/proc", fx ? fx : "tests/fixtures");
	assert_int_equal(procfs_read(root, 100, &p), 0);
	assert_int_equal(proc_doc_snapshot(&p, &m, &fixture_clock, &doc), 0);
	assert_int_equal(num(&doc, "pid"), 100);
	assert_int_equal(num(&doc, "tgid"), 100);
	assert_int_equal(num(&doc, "ppid"), 1);
	assert_int_equal(num(&doc, "threads"), 1);
	assert_int_equal(num(&doc, "start_ticks"), 75420);
	it = field(&doc, "start");
	assert_true(BSON_ITER_HOLDS_DATE_TIME(&it));
	assert_int_equal(bson_iter_date_time(&it), 1795433593587ll + 754200);
	assert_string_equal(str(&doc, "exe"), "/bin/busybox");
	assert_string_equal(str(&doc, "cwd"), "/");
	assert_string_equal(str(&doc, "root"), "/var/lib/docker/overlay2/a164/merged");
	assert_int_equal(num(&doc, "uid"), 0);
	assert_string_equal(str(&doc, "container"), ID);
	assert_int_equal(num(&doc, "mnt_ns"), 4026532501ll);
	assert_int_equal(num(&doc, "pid_ns"), 4026532504ll);
	assert_string_equal(str(&doc, "comm"), "a) (b c");
	it = field(&doc, "argv");
	assert_true(BSON_ITER_HOLDS_ARRAY(&it));
	bson_destroy(&doc);
	procfs_proc_release(&p);

	assert_int_equal(procfs_read(root, 101, &p), 0); /* zombie: nulls */
	assert_int_equal(proc_doc_snapshot(&p, &m, &fixture_clock, &doc), 0);
	assert_true(is_null(&doc, "exe"));
	assert_true(is_null(&doc, "argv"));
	assert_true(is_null(&doc, "cwd"));
	bson_destroy(&doc);
	procfs_proc_release(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fork),
		cmocka_unit_test(test_exit),
		cmocka_unit_test(test_exec),
		cmocka_unit_test(test_small_types),
		cmocka_unit_test(test_clock),
		cmocka_unit_test(test_snapshot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
