/* test_cgroup2.c — cgroup2.c and enrich's container-from-v2-id path (issue 16) against the
 * real kernel (root, suite 'kernel'): our own v2 cgroup id and path agree with the "0::" line
 * of /proc/self/cgroup; a reaped child has no id (-ESRCH); a real docker container's process
 * gets its `docker run` id from the v2 path, through enrich once from the path (first sight)
 * and then from the cache, the same id as with the v2 path switched off, while a host process
 * still has its cgroup file read. Skipped where the kernel (< 6.13) or the mounts lack it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cgroup2.h"
#include "container.h"
#include "enrich.h"
#include "live_container.h"

static struct cgroup2 *open_or_skip(void)
{
	struct cgroup2 *c = NULL;
	int r = cgroup2_open(&c);

	if (r == -ENOENT || r == -EOPNOTSUPP) {
		fprintf(stderr, "cgroup2 not usable here (%s): skipped\n", strerror(-r));
		skip();
	}
	assert_int_equal(r, 0);
	return c;
}

static void test_self(void **state)
{
	struct cgroup2 *c = open_or_skip();
	char path[4096], text[8192], *line;
	uint64_t id;
	size_t n;
	FILE *f;

	(void)state;
	assert_int_equal(cgroup2_pid_id(c, getpid(), &id), 0);
	assert_true(id > 0);
	assert_int_equal(cgroup2_path(c, id, path, sizeof(path)), 0);
	f = fopen("/proc/self/cgroup", "re");
	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	line = strstr(text, "0::");
	assert_non_null(line);
	line += 3;
	line[strcspn(line, "\n")] = '\0';
	assert_string_equal(path, line);
	/* too small a buffer is refused, not cut */
	assert_int_equal(cgroup2_path(c, id, path, 1), -ENAMETOOLONG);
	cgroup2_close(c);
}

static void test_reaped(void **state)
{
	struct cgroup2 *c = open_or_skip();
	uint64_t id = 0;
	pid_t child;

	(void)state;
	child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(0);
	assert_int_equal(waitpid(child, NULL, 0), child);
	assert_int_equal(cgroup2_pid_id(c, child, &id), -ESRCH);
	cgroup2_close(c);
}

static int64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* enrich_proc_exec of pid now: its container (the read of an exec, as the listener does) */
static void exec_read(struct enrich *e, pid_t pid, char ret[CONTAINER_ID_LEN + 1])
{
	struct cn_proc_event ev;
	struct procfs_proc p;

	memset(&ev, 0, sizeof(ev));
	ev.what = CN_PROC_EXEC;
	ev.timestamp_ns = (uint64_t)mono_ns();
	ev.pid = ev.tgid = pid;
	assert_int_equal(enrich_proc_exec(e, &ev, &p), 0);
	assert_false(p.gone);
	memcpy(ret, p.container, CONTAINER_ID_LEN + 1);
	procfs_proc_release(&p);
}

static void test_container(void **state)
{
	struct cgroup2 *c = open_or_skip();
	struct enrich_config cfg = { .cache_max = 64, .clk = { .clk_tck = 100 } };
	struct enrich *e, *plain;
	struct enrich_stats st;
	char id[65], path[4096], got[CONTAINER_ID_LEN + 1];
	char line[4100];
	uint64_t cgid;
	pid_t pid = 0;
	int r;

	(void)state;
	r = live_container_start(id, &pid);
	if (r == -1) {
		cgroup2_close(c);
		skip();
	}
	assert_int_equal(r, 0); /* started, yet no pid: a failure, not a skip */

	/* the v2 path names the container */
	assert_int_equal(cgroup2_pid_id(c, pid, &cgid), 0);
	assert_int_equal(cgroup2_path(c, cgid, path, sizeof(path)), 0);
	snprintf(line, sizeof(line), "0::%s", path);
	assert_int_equal(container_id_from_line(line, strlen(line), got), 0);
	assert_string_equal(got, id);

	/* enrich: first sight from the path, then the cache; the cgroup file only for the host */
	assert_int_equal(enrich_new(&cfg, &e), 0);
	enrich_get_stats(e, &st);
	assert_int_equal(st.cgroup2_open, 0);
	exec_read(e, pid, got);
	assert_string_equal(got, id);
	exec_read(e, pid, got);
	assert_string_equal(got, id);
	exec_read(e, getpid(), got);
	assert_string_equal(got, ""); /* this test runs on the host */
	enrich_get_stats(e, &st);
	assert_int_equal(st.cgroup2_misses, 2); /* the container's v2 cgroup and ours */
	assert_int_equal(st.cgroup2_hits, 1);
	assert_int_equal(st.cgroup_misses, 1); /* our own cgroup file only */

	/* the same answer without the v2 path */
	cfg.no_cgroup2 = true;
	assert_int_equal(enrich_new(&cfg, &plain), 0);
	exec_read(plain, pid, got);
	assert_string_equal(got, id);
	enrich_get_stats(plain, &st);
	assert_true(st.cgroup2_open < 0);
	assert_int_equal(st.cgroup2_hits + st.cgroup2_misses, 0);
	assert_int_equal(st.cgroup_misses, 1);

	enrich_free(plain);
	enrich_free(e);
	cgroup2_close(c);
	assert_int_equal(live_container_rm(id), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_self),
		cmocka_unit_test(test_reaped),
		cmocka_unit_test(test_container),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
