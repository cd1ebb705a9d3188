/* test_enrich.c — enrich.c's policy on a /proc-like tree of its own in /tmp: cache hits, a
 * re-read after execve, one read per exec shared by both threads (either order), a reused pid
 * never served the earlier process's container (also when audit lags behind the proc
 * connector), the parent's container for a process gone before its read, its own for one
 * gone before an exec's re-read, the cgroup cache,
 * first-sight announcements, and many threads at once. Times: the clocks are set so that
 * wall = monotonic = boottime, and events are stamped around the real monotonic now. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "assemble.h"
#include "audit_parse.h"
#include "enrich.h"

#define ID "83081e260a3673e8cf3d113dd2a57735ef60d0ad6e7e266d9d57ca43ce370efe"
#define ID2 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char root[64];
static int announced;
static char last_announced[CONTAINER_ID_LEN + 1];

static int64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void put(pid_t pid, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%d", root, (int)pid);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%d/%s", root, (int)pid, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* a process that started start_ticks (10 ms) after boot, in the cgroup of id (NULL: host) */
static void proc_put(pid_t pid, uint64_t start_ticks, const char *id)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%d (sh) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 %llu 0 0\n",
		 (int)pid, (unsigned long long)start_ticks);
	put(pid, "stat", buf);
	if (id)
		snprintf(buf, sizeof(buf), "0::/system.slice/docker-%s.scope\n", id);
	else
		snprintf(buf, sizeof(buf), "0::/init.scope\n");
	put(pid, "cgroup", buf);
}

static void proc_rm(pid_t pid)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s/%d", root, (int)pid);
	assert_int_equal(system(cmd), 0);
}

static void on_new(void *opaque, const char id[CONTAINER_ID_LEN + 1], pid_t pid)
{
	(void)opaque;
	(void)pid;
	announced++;
	memcpy(last_announced, id, CONTAINER_ID_LEN + 1);
}

static struct enrich *new_enrich(size_t max)
{
	struct enrich_config cfg = { .cache_max = max, .proc_root = root,
				     .clk = { .clk_tck = 100 }, .on_new_container = on_new };
	struct enrich *e;

	assert_int_equal(enrich_new(&cfg, &e), 0);
	return e;
}

/* One audit event of pid at monotonic time t (ns): syscall nr, success */
struct ev {
	struct audit_record *rec;
	struct audit_record *recs[1];
	struct audit_event ev;
};

static void ev_make(struct ev *x, int64_t t, int nr, pid_t pid, pid_t ppid)
{
	char text[512];
	int n;

	n = snprintf(text, sizeof(text),
		     "audit(%lld.%03lld:42): arch=c000003e syscall=%d success=yes exit=0 a0=0 "
		     "a1=0 a2=0 a3=0 items=0 ppid=%d pid=%d auid=0 uid=0 comm=\"sh\" "
		     "exe=\"/bin/sh\" key=\"lineage\"",
		     (long long)(t / 1000000000), (long long)(t / 1000000 % 1000), nr, (int)ppid,
		     (int)pid);
	assert_int_equal(audit_record_parse(AUDIT_T_SYSCALL, text, (size_t)n, &x->rec), 0);
	x->recs[0] = x->rec;
	memset(&x->ev, 0, sizeof(x->ev));
	x->ev.sec = x->rec->sec;
	x->ev.msec = x->rec->msec;
	x->ev.nrecords = 1;
	x->ev.records = x->recs;
}

static int audit_at(struct enrich *e, int64_t t, int nr, pid_t pid, pid_t ppid, char *ret)
{
	struct ev x;
	int r;

	ev_make(&x, t, nr, pid, ppid);
	r = enrich_audit_container(e, &x.ev, pid, ret);
	audit_record_free(x.rec);
	return r;
}

static struct cn_proc_event cn(enum cn_proc_what what, pid_t pid, int64_t t)
{
	struct cn_proc_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.what = what;
	ev.timestamp_ns = (uint64_t)t;
	ev.pid = ev.tgid = pid;
	ev.child_pid = ev.child_tgid = pid;
	ev.parent_pid = ev.parent_tgid = 1;
	return ev;
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/lineage-enrich-XXXXXX");
	assert_non_null(mkdtemp(root));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	return system(cmd) == 0 ? 0 : -1;
}

#define NR_OPENAT 257
#define NR_EXECVE 59
#define NR_SETNS 308

static void test_hit_and_exec_reread(void **state)
{
	struct enrich *e = new_enrich(16);
	struct enrich_stats st;
	char c[CONTAINER_ID_LEN + 1];
	int64_t t = mono_ns();

	(void)state;
	proc_put(77, 100, NULL);
	assert_int_equal(audit_at(e, t, NR_OPENAT, 77, 1, c), 0);
	assert_string_equal(c, "");
	/* runc moved it into the container's cgroup before its exec */
	proc_put(77, 100, ID);
	assert_int_equal(audit_at(e, t, NR_OPENAT, 77, 1, c), 0);
	assert_string_equal(c, ""); /* cached: nothing says it moved */
	assert_int_equal(audit_at(e, mono_ns(), NR_EXECVE, 77, 1, c), 0);
	assert_string_equal(c, ID); /* execve re-reads */
	assert_int_equal(audit_at(e, mono_ns(), NR_OPENAT, 77, 1, c), 0);
	assert_string_equal(c, ID);
	enrich_get_stats(e, &st);
	assert_true(st.audit_reads == 2 && st.audit_hits == 2);
	assert_int_equal(announced, 1);
	assert_string_equal(last_announced, ID);
	/* setns re-reads too */
	proc_put(77, 100, ID2);
	assert_int_equal(audit_at(e, mono_ns(), NR_SETNS, 77, 1, c), 0);
	assert_string_equal(c, ID2);
	assert_int_equal(announced, 2);
	enrich_free(e);
	enrich_free(NULL);
	proc_rm(77);
}

static void test_exec_shared(void **state)
{
	struct enrich *e = new_enrich(16);
	struct enrich_stats st;
	struct procfs_proc p;
	struct cn_proc_event ev;
	char c[CONTAINER_ID_LEN + 1];
	int64_t t;

	(void)state;
	/* proc connector first: its read serves the audit execve */
	proc_put(80, 100, ID);
	t = mono_ns();
	ev = cn(CN_PROC_EXEC, 80, t);
	assert_int_equal(enrich_proc_exec(e, &ev, &p), 0);
	assert_false(p.gone);
	assert_string_equal(p.container, ID);
	procfs_proc_release(&p);
	proc_put(80, 100, ID2); /* would be seen if the audit thread read again */
	assert_int_equal(audit_at(e, t, NR_EXECVE, 80, 1, c), 0);
	assert_string_equal(c, ID);
	enrich_get_stats(e, &st);
	assert_true(st.audit_reads == 0 && st.exec_shared == 1 && st.proc_exec_reads == 1);

	/* audit first: the proc thread reuses its ids */
	proc_put(81, 100, ID);
	t = mono_ns();
	assert_int_equal(audit_at(e, t, NR_EXECVE, 81, 1, c), 0);
	assert_string_equal(c, ID);
	proc_put(81, 100, ID2);
	ev = cn(CN_PROC_EXEC, 81, t);
	assert_int_equal(enrich_proc_exec(e, &ev, &p), 0);
	assert_string_equal(p.container, ID);
	procfs_proc_release(&p);
	enrich_get_stats(e, &st);
	assert_true(st.audit_reads == 1 && st.exec_shared == 2 && st.proc_exec_reads == 2);

	/* gone at exec: reported, nothing cached */
	ev = cn(CN_PROC_EXEC, 4242, mono_ns());
	assert_int_equal(enrich_proc_exec(e, &ev, &p), 0);
	assert_true(p.gone);
	procfs_proc_release(&p);
	enrich_free(e);
	proc_rm(80);
	proc_rm(81);
}

static void test_pid_reuse(void **state)
{
	struct enrich *e = new_enrich(16);
	struct enrich_stats st;
	struct cn_proc_event ev;
	char c[CONTAINER_ID_LEN + 1];
	int64_t t0 = mono_ns(), t1;
	uint64_t ticks1;

	(void)state;
	/* the first process with pid 90 lives in a container */
	proc_put(90, 100, ID);
	assert_int_equal(audit_at(e, t0, NR_OPENAT, 90, 1, c), 0);
	assert_string_equal(c, ID);
	ev = cn(CN_PROC_EXIT, 90, t0 + 1000000);
	enrich_proc_exit(e, &ev);
	/* one second later the pid is a host process; the proc thread saw its fork */
	t1 = t0 + 1000000000;
	ticks1 = (uint64_t)(t1 / 10000000);
	proc_put(90, ticks1, NULL);
	ev = cn(CN_PROC_FORK, 90, t1);
	enrich_proc_fork(e, &ev);
	assert_int_equal(audit_at(e, t1 + 2000000, NR_OPENAT, 90, 1, c), 0);
	assert_string_equal(c, "");
	/* a late audit record of the first process still gets its container */
	assert_int_equal(audit_at(e, t0 + 500000, NR_OPENAT, 90, 1, c), 0);
	assert_string_equal(c, ID);

	/* audit ahead of the proc connector: the pid's lifetime ended, a new one is read */
	ev = cn(CN_PROC_EXIT, 90, t1 + 5000000);
	enrich_proc_exit(e, &ev);
	proc_put(90, ticks1 + 100, ID2);
	assert_int_equal(audit_at(e, t1 + 1000000000 + 2000000, NR_OPENAT, 90, 1, c), 0);
	assert_string_equal(c, ID2);
	/* and an event from before that process started is never given its read */
	proc_put(91, ticks1 + 100, ID2);
	assert_int_equal(audit_at(e, t0, NR_OPENAT, 91, 1, c), -ENOENT);
	enrich_get_stats(e, &st);
	assert_true(st.stale_rejected == 1);
	enrich_free(e);
	proc_rm(90);
	proc_rm(91);
}

static void test_parent_fallback(void **state)
{
	struct enrich *e = new_enrich(16);
	struct enrich_stats st;
	char c[CONTAINER_ID_LEN + 1];
	int64_t t = mono_ns();

	(void)state;
	proc_put(95, 100, ID);
	assert_int_equal(audit_at(e, t, NR_OPENAT, 95, 1, c), 0);
	/* 96 exited before its record was read: its parent's container */
	assert_int_equal(audit_at(e, t, NR_OPENAT, 96, 95, c), 0);
	assert_string_equal(c, ID);
	assert_int_equal(audit_at(e, t, NR_OPENAT, 96, 95, c), 0); /* now cached */
	assert_int_equal(audit_at(e, t, NR_OPENAT, 97, 4000, c), -ENOENT);
	enrich_get_stats(e, &st);
	assert_true(st.parent_fallback == 1 && st.gone == 1);
	enrich_free(e);
	proc_rm(95);
}

/* A container's init (parent: the shim, on the host) execs its last command in place and is
 * gone before the execve is read: it keeps its own container, not its parent's. */
static void test_self_fallback(void **state)
{
	struct enrich *e = new_enrich(16);
	struct enrich_stats st;
	char c[CONTAINER_ID_LEN + 1];
	int64_t t = mono_ns();

	(void)state;
	proc_put(4001, 100, NULL); /* the shim */
	assert_int_equal(audit_at(e, t, NR_OPENAT, 4001, 1, c), 0);
	assert_string_equal(c, "");
	proc_put(98, 100, ID);
	assert_int_equal(audit_at(e, t, NR_OPENAT, 98, 4001, c), 0);
	assert_string_equal(c, ID);
	proc_rm(98);
	assert_int_equal(audit_at(e, t + 1000000, NR_EXECVE, 98, 4001, c), 0);
	assert_string_equal(c, ID);
	assert_int_equal(audit_at(e, t + 2000000, NR_OPENAT, 98, 4001, c), 0);
	assert_string_equal(c, ID);
	enrich_get_stats(e, &st);
	assert_true(st.self_fallback == 1 && st.parent_fallback == 0 && st.gone == 0);
	enrich_free(e);
	proc_rm(4001);
}

/* The leader thread exits, the other threads go on: the exit event is not the group's end. */
static void test_leader_exit(void **state)
{
	struct enrich *e = new_enrich(16);
	struct enrich_stats st;
	struct cn_proc_event ev;
	char c[CONTAINER_ID_LEN + 1];
	int64_t t = mono_ns();

	(void)state;
	proc_put(98, 100, ID);
	assert_int_equal(audit_at(e, t, NR_OPENAT, 98, 1, c), 0);
	ev = cn(CN_PROC_EXIT, 98, t + 1000000);
	enrich_proc_exit(e, &ev);
	assert_int_equal(audit_at(e, t + 1000000000, NR_OPENAT, 98, 1, c), 0);
	assert_string_equal(c, ID);
	assert_int_equal(audit_at(e, t + 1001000000, NR_OPENAT, 98, 1, c), 0);
	enrich_get_stats(e, &st);
	assert_true(st.audit_reads == 2 && st.audit_hits == 1);
	enrich_free(e);
	proc_rm(98);
}

static void test_cgroup_cache_and_eviction(void **state)
{
	struct enrich *e = new_enrich(3);
	struct enrich_stats st;
	char c[CONTAINER_ID_LEN + 1];
	const char *text = "0::/system.slice/docker-" ID ".scope\n";
	int64_t t = mono_ns();

	(void)state;
	for (int i = 0; i < 5; i++) {
		assert_int_equal(enrich_cgroup_id(e, text, strlen(text), c), 0);
		assert_string_equal(c, ID);
	}
	assert_int_equal(enrich_cgroup_id(e, "0::/\n", 5, c), -ENOENT);
	assert_int_equal(enrich_cgroup_id(e, "0::/\n", 5, c), -ENOENT);
	enrich_get_stats(e, &st);
	assert_true(st.cgroup_misses == 2 && st.cgroup_hits == 5);
	for (pid_t pid = 100; pid < 106; pid++)
		proc_put(pid, 100, pid % 2 ? ID : NULL);
	for (pid_t pid = 100; pid < 106; pid++) {
		assert_int_equal(audit_at(e, t, NR_OPENAT, pid, 1, c), 0);
		assert_string_equal(c, pid % 2 ? ID : "");
	}
	enrich_get_stats(e, &st);
	assert_true(st.size == 3 && st.evictions == 3);
	enrich_free(e);
	for (pid_t pid = 100; pid < 106; pid++)
		proc_rm(pid);
}

struct hammer {
	struct enrich *e;
	int errors;
	int64_t t;
};

static void *hammer_fn(void *arg)
{
	struct hammer *h = arg;
	char c[CONTAINER_ID_LEN + 1];

	for (int i = 0; i < 5000; i++) {
		pid_t pid = (pid_t)(200 + i % 6);

		if (i % 7 == 0) {
			struct cn_proc_event ev = cn(CN_PROC_EXEC, pid, mono_ns());
			struct procfs_proc p;

			if (enrich_proc_exec(h->e, &ev, &p) < 0 || strcmp(p.container, ID))
				__atomic_fetch_add(&h->errors, 1, __ATOMIC_RELAXED);
			procfs_proc_release(&p);
		} else if (audit_at(h->e, mono_ns(), i % 3 ? NR_OPENAT : NR_EXECVE, pid, 1, c) < 0 ||
			   strcmp(c, ID)) {
			__atomic_fetch_add(&h->errors, 1, __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct hammer h = { .e = new_enrich(4) };
	struct enrich_stats st;
	pthread_t t[4];

	(void)state;
	for (pid_t pid = 200; pid < 206; pid++)
		proc_put(pid, 100, ID);
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, hammer_fn, &h);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	enrich_get_stats(h.e, &st);
	assert_int_equal(h.errors, 0);
	assert_true(st.size <= 4);
	enrich_free(h.e);
	for (pid_t pid = 200; pid < 206; pid++)
		proc_rm(pid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_and_exec_reread),
		cmocka_unit_test(test_exec_shared),
		cmocka_unit_test(test_pid_reuse),
		cmocka_unit_test(test_parent_fallback),
		cmocka_unit_test(test_self_fallback),
		cmocka_unit_test(test_leader_exit),
		cmocka_unit_test(test_cgroup_cache_and_eviction),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
