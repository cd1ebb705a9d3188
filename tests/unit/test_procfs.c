/* test_procfs.c — procfs.c on the fixture tree tests/fixtures/proc (comm with ") (", zombie,
 * every cgroup form, garbage stat), on the real /proc (this process, a child that exits:
 * gone), the stat parser on hostile text, and the bounded per-tgid cache (hits, eviction,
 * invalidation, gone processes, threads hammering it). */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "procfs.h"

#define ID "83081e260a3673e8cf3d113dd2a57735ef60d0ad6e7e266d9d57ca43ce370efe"
#define ID2 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char proc_root[4096];

static int setup(void **state)
{
	const char *fx = getenv("FIXTURES");

	(void)state;
	snprintf(proc_root, sizeof(proc_root), "%s/proc", fx ? fx : "tests/fixtures");
	return 0;
}

static void test_read_fixture(void **state)
{
	struct procfs_proc p;

	(void)state;
	assert_int_equal(procfs_read(proc_root, 100, &p), 0);
	assert_false(p.gone);
	assert_int_equal(p.pid, 100);
	assert_int_equal(p.tgid, 100);
	assert_int_equal(p.ppid, 1);
	assert_int_equal(p.threads, 1);
	assert_string_equal(p.comm, "a) (b c");
	assert_int_equal(p.state, 'S');
	assert_true(p.start_ticks == 75420);
	assert_string_equal(p.exe, "/bin/busybox");
	assert_string_equal(p.cwd, "/");
	assert_string_equal(p.root, "/var/lib/docker/overlay2/a164/merged");
	assert_int_equal(p.argc, 2);
	assert_string_equal(p.argv[0], "cat");
	assert_string_equal(p.argv[1], "/etc/motd");
	assert_null(p.argv[2]);
	assert_false(p.argv_truncated);
	assert_string_equal(p.container, ID);
	assert_true(p.mnt_ns == 4026532501ull);
	assert_true(p.pid_ns == 4026532504ull);
	procfs_proc_release(&p);
	procfs_proc_release(&p); /* idempotent */

	assert_int_equal(procfs_read(proc_root, 200, &p), 0);
	assert_string_equal(p.comm, "x) R 9 9 (y");
	assert_int_equal(p.state, 'R');
	assert_int_equal(p.ppid, 100);
	assert_int_equal(p.threads, 3);
	assert_int_equal(p.uid, 1000);
	assert_true(p.start_ticks == 75500);
	assert_string_equal(p.container, ID);
	assert_string_equal(p.cwd, "/tmp");
	procfs_proc_release(&p);

	assert_int_equal(procfs_read(proc_root, 1, &p), 0);
	assert_string_equal(p.container, "");
	assert_string_equal(p.argv[1], "splash");
	procfs_proc_release(&p);

	/* zombie: alive but no exe/cwd/root/argv */
	assert_int_equal(procfs_read(proc_root, 101, &p), 0);
	assert_false(p.gone);
	assert_int_equal(p.state, 'Z');
	assert_null(p.exe);
	assert_null(p.cwd);
	assert_null(p.argv);
	assert_int_equal(p.argc, 0);
	assert_string_equal(p.container, ID);
	procfs_proc_release(&p);

	for (pid_t pid = 300; pid <= 600; pid += 100) {
		assert_int_equal(procfs_read(proc_root, pid, &p), 0);
		assert_string_equal(p.container, ID2);
		procfs_proc_release(&p);
	}

	/* not there: gone, not an error */
	assert_int_equal(procfs_read(proc_root, 4242, &p), 0);
	assert_true(p.gone);
	assert_int_equal(p.pid, 4242);
	assert_null(p.exe);
	procfs_proc_release(&p);

	assert_int_equal(procfs_read(proc_root, 999, &p), -EINVAL); /* garbage stat */
	assert_int_equal(procfs_read(proc_root, 0, &p), -EINVAL);
	assert_int_equal(procfs_read(proc_root, -5, &p), -EINVAL);
	assert_int_equal(procfs_read("/nonexistent-root", 1, &p), 0);
	assert_true(p.gone);
}

static void test_parse_stat(void **state)
{
	static const char *const bad[] = {
		"",
		"1 (x",
		"1 x) S 1",
		"1 (x) S",
		"1 (x) S 1 2 3",
		"1 (x)S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19",
		"1 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 x",
		"1 (x) S 99999999999 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19",
		"1 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 99999999999999999999999",
	};
	const char *good = "77 (()) ) (() Z 5 2 3 4 -1 6 7 8 9 10 11 12 13 14 15 16 17 18 123456 1";
	char comm[17], st;
	pid_t ppid;
	uint64_t start;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (procfs_parse_stat(bad[i], strlen(bad[i]), comm, &st, &ppid, &start) != -EINVAL)
			fail_msg("accepted bad stat %zu: %s", i, bad[i]);
	}
	assert_int_equal(procfs_parse_stat(good, strlen(good), comm, &st, &ppid, &start), 0);
	assert_string_equal(comm, "()) ) ((");
	assert_int_equal(st, 'Z');
	assert_int_equal(ppid, 5);
	assert_true(start == 123456);
	/* a comm longer than 16 (kernel threads may show more) is cut, not overflowed */
	good = "2 (a-very-long-kernel-thread-name) S 0 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 9 0";
	assert_int_equal(procfs_parse_stat(good, strlen(good), comm, &st, &ppid, &start), 0);
	assert_int_equal(strlen(comm), 16);
	assert_true(start == 9);
	assert_int_equal(procfs_parse_stat(NULL, 0, comm, &st, &ppid, &start), -EINVAL);
}

static void test_read_self_and_gone(void **state)
{
	struct procfs_proc p;
	char cwd[4096];
	pid_t child;
	int status;

	(void)state;
	assert_int_equal(procfs_read(NULL, getpid(), &p), 0);
	assert_false(p.gone);
	assert_int_equal(p.tgid, getpid());
	assert_int_equal(p.ppid, getppid());
	assert_int_equal(p.uid, getuid());
	assert_non_null(p.exe);
	assert_non_null(strstr(p.exe, "test_procfs"));
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_string_equal(p.cwd, cwd);
	assert_string_equal(p.root, "/");
	assert_true(p.argc >= 1);
	assert_non_null(strstr(p.argv[0], "test_procfs"));
	assert_true(p.mnt_ns > 0);
	assert_true(p.pid_ns > 0);
	assert_true(p.start_ticks > 0);
	procfs_proc_release(&p);

	child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(0);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_int_equal(procfs_read(NULL, child, &p), 0);
	assert_true(p.gone);
	procfs_proc_release(&p);
}

static int count_fn(void *opaque, const struct procfs_proc *p)
{
	int *n = opaque;

	assert_false(p->gone);
	assert_int_equal(p->pid, p->tgid);
	(*n)++;
	return 0;
}

static int stop_fn(void *opaque, const struct procfs_proc *p)
{
	(void)opaque;
	(void)p;
	return -ECANCELED;
}

static int find_self_fn(void *opaque, const struct procfs_proc *p)
{
	int *found = opaque;

	if (p->pid == getpid())
		*found = 1;
	return 0;
}

static void test_snapshot(void **state)
{
	int n = 0, found = 0;

	(void)state;
	/* 1 100 101 200 300 400 500 600; 999 (garbage), sys, self, README skipped */
	assert_int_equal(procfs_snapshot(proc_root, count_fn, &n), 8);
	assert_int_equal(n, 8);
	assert_int_equal(procfs_snapshot(proc_root, stop_fn, NULL), -ECANCELED);
	assert_true(procfs_snapshot(NULL, find_self_fn, &found) > 1);
	assert_int_equal(found, 1);
	assert_int_equal(procfs_snapshot("/nonexistent-root", count_fn, &n), -ENOENT);
}

static void test_read_ids(void **state)
{
	struct procfs_ids ids;

	(void)state;
	assert_int_equal(procfs_read_ids(proc_root, 100, NULL, &ids), 0);
	assert_string_equal(ids.container, ID);
	assert_true(ids.mnt_ns == 4026532501ull);
	assert_true(ids.start_ticks > 0);
	assert_int_equal(procfs_read_ids(proc_root, 1, NULL, &ids), 0);
	assert_string_equal(ids.container, "");
	assert_int_equal(procfs_read_ids(proc_root, 4242, NULL, &ids), -ESRCH);
	assert_int_equal(procfs_read_ids(proc_root, 0, NULL, &ids), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_fixture),
		cmocka_unit_test(test_parse_stat),
		cmocka_unit_test(test_read_self_and_gone),
		cmocka_unit_test(test_snapshot),
		cmocka_unit_test(test_read_ids),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
