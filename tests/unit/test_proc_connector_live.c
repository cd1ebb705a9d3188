/* test_proc_connector_live.c — proc_connector.c against the real kernel (root, suite
 * 'kernel'): fork/thread/exec/exit of a child with the right pids, thread flag and exit code;
 * a SIGKILLed child; a datagram forged by another user-space socket is dropped; a tiny receive
 * buffer overflows into -ENOBUFS and is counted; and a real docker container's process,
 * seen exec'ing by the connector, has the container id of `docker inspect` in /proc. */
#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "proc_connector.h"
#include "procfs.h"
#include "live_container.h"

#define MAX_EVENTS 200000

struct sink {
	struct cn_proc_event *ev;
	size_t n;
};

static void sink_fn(void *opaque, const struct cn_proc_event *ev)
{
	struct sink *s = opaque;

	if (s->n < MAX_EVENTS)
		s->ev[s->n++] = *ev;
}

static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* read until pred finds its event or ms elapse */
static const struct cn_proc_event *wait_for(struct pc *pc, struct sink *s,
					    bool (*pred)(const struct cn_proc_event *, const void *),
					    const void *arg, int ms)
{
	int64_t end = now_ms() + ms;
	size_t checked = 0;

	for (;;) {
		struct pollfd pfd = { .fd = pc_fd(pc), .events = POLLIN };
		int r;

		for (; checked < s->n; checked++) {
			if (pred(&s->ev[checked], arg))
				return &s->ev[checked];
		}
		if (now_ms() >= end)
			return NULL;
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		while ((r = pc_read(pc, sink_fn, s, NULL)) >= 0 || r == -ENOBUFS)
			;
		assert_int_equal(r, -EAGAIN);
	}
}

static bool is_exit_of(const struct cn_proc_event *ev, const void *arg)
{
	return ev->what == CN_PROC_EXIT && ev->pid == *(const pid_t *)arg;
}

static bool is_exec_of(const struct cn_proc_event *ev, const void *arg)
{
	return ev->what == CN_PROC_EXEC && ev->pid == *(const pid_t *)arg;
}

static void *thread_fn(void *arg)
{
	(void)arg;
	return NULL;
}

static int setup(void **state)
{
	struct sink *s = calloc(1, sizeof(*s));

	s->ev = calloc(MAX_EVENTS, sizeof(*s->ev));
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct sink *s = *state;

	free(s->ev);
	free(s);
	return 0;
}

static void test_fork_thread_exec_exit(void **state)
{
	struct sink *s = *state;
	const struct cn_proc_event *e;
	struct pc_stats st;
	struct pc *pc;
	pid_t child, thread_tid = 0;
	int status, forks = 0, threads = 0, execs = 0, thread_exits = 0;

	s->n = 0;
	assert_int_equal(pc_open(0, &pc), 0);
	pc_get_stats(pc, &st);
	assert_true(st.rcvbuf >= PC_DEFAULT_RCVBUF); /* SO_RCVBUFFORCE as root */
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		pthread_t t;

		if (pthread_create(&t, NULL, thread_fn, NULL) == 0)
			pthread_join(t, NULL);
		execl("/bin/sh", "sh", "-c", "exit 7", (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 7);
	e = wait_for(pc, s, is_exit_of, &child, 5000);
	assert_non_null(e);

	for (size_t i = 0; i < s->n; i++) {
		e = &s->ev[i];
		if (e->what == CN_PROC_FORK && e->child_pid == child) {
			forks++;
			assert_false(e->thread);
			assert_int_equal(e->child_tgid, child);
			assert_int_equal(e->parent_tgid, getpid());
			assert_int_equal(e->parent_pid, (pid_t)syscall(SYS_gettid));
		}
		if (e->what == CN_PROC_FORK && e->child_tgid == child && e->child_pid != child) {
			threads++;
			assert_true(e->thread);
			thread_tid = e->child_pid;
		}
		if (e->what == CN_PROC_EXEC && e->pid == child) {
			execs++;
			assert_int_equal(e->tgid, child);
		}
		if (e->what == CN_PROC_EXIT && e->tgid == child && e->pid != child) {
			thread_exits++;
			assert_int_equal(e->pid, thread_tid);
			assert_int_equal(e->exit_signal, -1);
		}
		if (e->what == CN_PROC_EXIT && e->pid == child) {
			assert_true(e->exited);
			assert_int_equal(e->exit_code, 7);
			assert_int_equal(e->status, 7 << 8);
			assert_int_equal(e->exit_signal, SIGCHLD);
			assert_int_equal(e->parent_tgid, getpid());
		}
		assert_true(e->timestamp_ns > 0);
	}
	assert_int_equal(forks, 1);
	assert_int_equal(threads, 1);
	assert_int_equal(execs, 1);
	assert_int_equal(thread_exits, 1);
	pc_get_stats(pc, &st);
	assert_true(st.events >= 5);
	assert_int_equal(st.foreign, 0);
	assert_int_equal(st.malformed, 0);
	pc_free(pc);
}

static void test_killed(void **state)
{
	struct sink *s = *state;
	const struct cn_proc_event *e;
	struct pc *pc;
	pid_t child;
	int status;

	s->n = 0;
	assert_int_equal(pc_open(0, &pc), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	kill(child, SIGKILL);
	assert_int_equal(waitpid(child, &status, 0), child);
	e = wait_for(pc, s, is_exit_of, &child, 5000);
	assert_non_null(e);
	assert_false(e->exited);
	assert_int_equal(e->exit_code, -1);
	assert_true(e->signaled);
	assert_int_equal(e->term_signal, SIGKILL);
	pc_free(pc);
}

static void test_foreign_sender_dropped(void **state)
{
	char buf[NLMSG_SPACE(sizeof(struct cn_msg) + sizeof(struct proc_event))];
	struct sockaddr_nl me, to = { .nl_family = AF_NETLINK };
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct cn_msg *cn = NLMSG_DATA(nlh);
	struct proc_event pe;
	struct pc_stats st;
	struct pc *pc;
	socklen_t sl = sizeof(me);
	int fd, r, got = 0;

	(void)state;
	assert_int_equal(pc_open(0, &pc), 0);
	assert_int_equal(getsockname(pc_fd(pc), (struct sockaddr *)&me, &sl), 0);
	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
	assert_true(fd >= 0);
	memset(buf, 0, sizeof(buf));
	memset(&pe, 0, sizeof(pe));
	pe.what = PROC_EVENT_EXEC;
	pe.event_data.exec.process_pid = 999999;
	nlh->nlmsg_len = NLMSG_LENGTH(sizeof(*cn) + sizeof(pe));
	nlh->nlmsg_type = NLMSG_DONE;
	cn->id.idx = CN_IDX_PROC;
	cn->id.val = CN_VAL_PROC;
	cn->len = sizeof(pe);
	memcpy(cn->data, &pe, sizeof(pe));
	to.nl_pid = me.nl_pid;
	if (sendto(fd, buf, nlh->nlmsg_len, 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
		close(fd);
		pc_free(pc);
		skip();
	}
	close(fd);
	/* drain: everything decoded must come from the kernel, never pid 999999 */
	for (int i = 0; i < 50; i++) {
		struct pollfd pfd = { .fd = pc_fd(pc), .events = POLLIN };
		struct sink *s = *state;

		s->n = 0;
		poll(&pfd, 1, 20);
		while ((r = pc_read(pc, sink_fn, s, NULL)) >= 0 || r == -ENOBUFS) {
			for (size_t k = 0; k < s->n; k++)
				assert_int_not_equal(s->ev[k].pid, 999999);
		}
		pc_get_stats(pc, &st);
		if (st.foreign > 0) {
			got = 1;
			break;
		}
	}
	assert_int_equal(got, 1);
	pc_free(pc);
}

static void test_enobufs_counted(void **state)
{
	struct sink *s = *state;
	struct pc_stats st;
	struct pc *pc;
	int r, enobufs = 0;

	s->n = 0;
	assert_int_equal(pc_open(1, &pc), 0); /* the kernel's minimum buffer */
	pc_get_stats(pc, &st);
	assert_true(st.rcvbuf < 16384);
	for (int i = 0; i < 300; i++) {
		pid_t c = fork();

		if (c == 0)
			_exit(0);
		assert_true(c > 0);
		waitpid(c, NULL, 0);
	}
	while ((r = pc_read(pc, sink_fn, s, NULL)) != -EAGAIN) {
		if (r == -ENOBUFS)
			enobufs++;
		else
			assert_true(r >= 0);
	}
	pc_get_stats(pc, &st);
	assert_true(enobufs >= 1);
	assert_int_equal(st.enobufs, (uint64_t)enobufs);
	/* 300 forks + 300 exits were sent; far fewer fit */
	assert_true(st.events < 600);
	fprintf(stderr, "# rcvbuf %d: %llu events kept of >= 600, enobufs %d, seq gaps %llu\n",
		st.rcvbuf, (unsigned long long)st.events, enobufs,
		(unsigned long long)st.seq_gaps);
	pc_free(pc);
}

static void test_docker_container_id(void **state)
{
	struct sink *s = *state;
	struct procfs_proc p;
	struct procfs_ids ids;
	struct pc *pc;
	char id[65];
	pid_t pid = 0;
	int r;

	s->n = 0;
	assert_int_equal(pc_open(0, &pc), 0);
	r = live_container_start(id, &pid);
	if (r == -1) {
		pc_free(pc);
		skip();
	}
	assert_int_equal(r, 0); /* started, yet no pid: a failure, not a skip */

	/* the connector saw the container's init exec (runc:[2:INIT] → sleep) */
	assert_non_null(wait_for(pc, s, is_exec_of, &pid, 5000));

	assert_int_equal(procfs_read(NULL, pid, &p), 0);
	assert_false(p.gone);
	assert_string_equal(p.container, id);
	assert_int_equal(p.argc, 2);
	assert_string_equal(p.argv[0], "sleep");
	assert_string_equal(p.argv[1], "30");
	/* pivot_root'ed, yet its root link reads "/" from the host (d_path in its own mount
	 * namespace); what tells it apart is the mount namespace */
	assert_non_null(p.root);
	{
		struct procfs_proc self;

		assert_int_equal(procfs_read(NULL, getpid(), &self), 0);
		assert_true(p.mnt_ns != 0 && p.mnt_ns != self.mnt_ns);
		assert_true(p.pid_ns != 0 && p.pid_ns != self.pid_ns);
		procfs_proc_release(&self);
	}
	procfs_proc_release(&p);

	assert_int_equal(procfs_read_ids(NULL, pid, NULL, &ids), 0);
	assert_string_equal(ids.container, id);
	assert_true(ids.mnt_ns > 0 && ids.pid_ns > 0 && ids.start_ticks > 0);
	assert_int_equal(procfs_read_ids(NULL, getpid(), NULL, &ids), 0);
	assert_string_equal(ids.container, ""); /* this test runs on the host */

	assert_int_equal(live_container_rm(id), 0);
	/* the process is gone: its exit reached the connector and /proc says gone */
	assert_non_null(wait_for(pc, s, is_exit_of, &pid, 10000));
	{
		int64_t end = now_ms() + 5000;

		do {
			assert_int_equal(procfs_read(NULL, pid, &p), 0);
			procfs_proc_release(&p);
		} while (!p.gone && now_ms() < end);
		assert_true(p.gone);
	}
	pc_free(pc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fork_thread_exec_exit),
		cmocka_unit_test(test_killed),
		cmocka_unit_test(test_foreign_sender_dropped),
		cmocka_unit_test(test_enobufs_counted),
		cmocka_unit_test(test_docker_container_id),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "needs root (CAP_NET_ADMIN for the proc connector)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
