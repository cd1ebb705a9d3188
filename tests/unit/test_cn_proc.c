/* test_cn_proc.c — the proc connector decoder on messages laid out with the kernel's own
 * structs: every event type, wait-status decoding, thread forks, unterminated comm, every
 * truncation length, foreign and malformed messages in one datagram, and a replay of the
 * captured docker session (tests/fixtures/captured/docker-session-1/proc.jsonl) re-encoded into
 * kernel datagrams. */
#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cn_proc.h"

#define MSG_SIZE NLMSG_SPACE(sizeof(struct cn_msg) + sizeof(struct proc_event))

/* One netlink message as the kernel sends it (cn_netlink_send: type NLMSG_DONE). Returns its
 * aligned size. */
static size_t put_msg(uint8_t *buf, const struct proc_event *ev, uint32_t seq)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct cn_msg *cn = NLMSG_DATA(nlh);

	memset(buf, 0, MSG_SIZE);
	nlh->nlmsg_len = NLMSG_LENGTH(sizeof(*cn) + sizeof(*ev));
	nlh->nlmsg_type = NLMSG_DONE;
	cn->id.idx = CN_IDX_PROC;
	cn->id.val = CN_VAL_PROC;
	cn->seq = seq;
	cn->len = sizeof(*ev);
	memcpy(cn->data, ev, sizeof(*ev));
	return NLMSG_ALIGN(nlh->nlmsg_len);
}

static struct proc_event base(enum what what)
{
	struct proc_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.what = what;
	ev.cpu = 1;
	ev.timestamp_ns = 754200955085ull;
	return ev;
}

static int decode_one(const struct proc_event *pe, struct cn_proc_event *out)
{
	uint8_t buf[MSG_SIZE];

	put_msg(buf, pe, 42);
	return cn_proc_decode_msg(buf + NLMSG_HDRLEN, sizeof(struct cn_msg) + sizeof(*pe), out);
}

static void test_fork_process_and_thread(void **state)
{
	struct proc_event pe = base(PROC_EVENT_FORK);
	struct cn_proc_event ev;

	(void)state;
	pe.event_data.fork.parent_pid = 10850;
	pe.event_data.fork.parent_tgid = 10850;
	pe.event_data.fork.child_pid = 10854;
	pe.event_data.fork.child_tgid = 10854;
	assert_int_equal(decode_one(&pe, &ev), 0);
	assert_int_equal(ev.what, CN_PROC_FORK);
	assert_string_equal(cn_proc_what_name(ev.what), "fork");
	assert_int_equal(ev.cpu, 1);
	assert_int_equal(ev.seq, 42);
	assert_true(ev.timestamp_ns == 754200955085ull);
	assert_int_equal(ev.parent_pid, 10850);
	assert_int_equal(ev.child_pid, 10854);
	assert_int_equal(ev.child_tgid, 10854);
	assert_false(ev.thread);

	pe.event_data.fork.child_pid = 10857;
	pe.event_data.fork.child_tgid = 10856;
	assert_int_equal(decode_one(&pe, &ev), 0);
	assert_true(ev.thread);
	assert_int_equal(ev.pid, 10857);
	assert_int_equal(ev.tgid, 10856);
}

static void test_exit_status(void **state)
{
	struct proc_event pe = base(PROC_EVENT_EXIT);
	struct cn_proc_event ev;

	(void)state;
	pe.event_data.exit.process_pid = 10854;
	pe.event_data.exit.process_tgid = 10854;
	pe.event_data.exit.exit_code = 3 << 8; /* exit(3) */
	pe.event_data.exit.exit_signal = SIGCHLD;
	pe.event_data.exit.parent_pid = 10850;
	pe.event_data.exit.parent_tgid = 10850;
	assert_int_equal(decode_one(&pe, &ev), 0);
	assert_int_equal(ev.what, CN_PROC_EXIT);
	assert_true(ev.exited);
	assert_int_equal(ev.exit_code, 3);
	assert_false(ev.signaled);
	assert_int_equal(ev.term_signal, -1);
	assert_int_equal(ev.status, 768);
	assert_int_equal(ev.exit_signal, SIGCHLD);
	assert_int_equal(ev.parent_tgid, 10850);

	pe.event_data.exit.exit_code = SIGKILL;
	assert_int_equal(decode_one(&pe, &ev), 0);
	assert_false(ev.exited);
	assert_int_equal(ev.exit_code, -1);
	assert_true(ev.signaled);
	assert_int_equal(ev.term_signal, SIGKILL);
	assert_false(ev.core_dumped);

	pe.event_data.exit.exit_code = 0x80 | SIGSEGV; /* core dumped */
	assert_int_equal(decode_one(&pe, &ev), 0);
	assert_int_equal(ev.term_signal, SIGSEGV);
	assert_true(ev.core_dumped);

	/* a thread's exit: exit_signal -1, no parent */
	pe.event_data.exit.exit_code = 0;
	pe.event_data.exit.exit_signal = 0xffffffffu;
	pe.event_data.exit.parent_pid = 0;
	pe.event_data.exit.parent_tgid = 0;
	assert_int_equal(decode_one(&pe, &ev), 0);
	assert_int_equal(ev.exit_signal, -1);
	assert_int_equal(ev.exit_code, 0);
}

static void test_other_types(void **state)
{
	struct proc_event pe;
	struct cn_proc_event ev;

	(void)state;
	pe = base(PROC_EVENT_EXEC);
	pe.event_data.exec.process_pid = 7;
	pe.event_data.exec.process_tgid = 6;
	assert_int_equal(decode_one(&pe, &ev), 0);
	assert_string_equal(cn_proc_what_name(ev.what), "exec");
	assert_int_equal(ev.pid, 7);
	assert_int_equal(ev.tgid, 6);

	pe = base(PROC_EVENT_COMM);
	pe.event_data.comm.process_pid = 10892;
	pe.event_data.comm.process_tgid = 10892;
	memcpy(pe.event_data.comm.comm, "0123456789abcdef", 16); /* no NUL in 16 bytes */
	assert_int_equal(decode_one(&pe, &ev), 0);
	assert_string_equal(cn_proc_what_name(ev.what), "comm");
	assert_string_equal(ev.comm, "0123456789abcdef");

	pe = base(PROC_EVENT_UID);
	pe.event_data.id.process_pid = 5;
	pe.event_data.id.process_tgid = 5;
	pe.event_data.id.r.ruid = 1000;
	pe.event_data.id.e.euid = 0;
	assert_int_equal(decode_one(&pe, &ev), 0);
	assert_string_equal(cn_proc_what_name(ev.what), "uid");
	assert_int_equal(ev.rid, 1000);
	assert_int_equal(ev.eid, 0);

	pe.what = PROC_EVENT_GID;
	pe.event_data.id.r.rgid = 100;
	pe.event_data.id.e.egid = 101;
	assert_int_equal(decode_one(&pe, &ev), 0);
	assert_string_equal(cn_proc_what_name(ev.what), "gid");
	assert_int_equal(ev.rid, 100);
	assert_int_equal(ev.eid, 101);

	pe = base(PROC_EVENT_SID);
	pe.event_data.sid.process_pid = 9;
	pe.event_data.sid.process_tgid = 9;
	assert_int_equal(decode_one(&pe, &ev), 0);
	assert_string_equal(cn_proc_what_name(ev.what), "sid");
	assert_int_equal(ev.pid, 9);

	pe = base(PROC_EVENT_PTRACE);
	pe.event_data.ptrace.process_pid = 11;
	pe.event_data.ptrace.process_tgid = 11;
	pe.event_data.ptrace.tracer_pid = 12;
	pe.event_data.ptrace.tracer_tgid = 13;
	assert_int_equal(decode_one(&pe, &ev), 0);
	assert_string_equal(cn_proc_what_name(ev.what), "ptrace");
	assert_int_equal(ev.tracer_pid, 12);
	assert_int_equal(ev.tracer_tgid, 13);

	pe = base(PROC_EVENT_COREDUMP);
	pe.event_data.coredump.process_pid = 20;
	pe.event_data.coredump.process_tgid = 20;
	pe.event_data.coredump.parent_pid = 1;
	pe.event_data.coredump.parent_tgid = 1;
	assert_int_equal(decode_one(&pe, &ev), 0);
	assert_string_equal(cn_proc_what_name(ev.what), "coredump");
	assert_int_equal(ev.parent_pid, 1);

	pe = base(PROC_EVENT_NONE);
	pe.event_data.ack.err = 0;
	assert_int_equal(decode_one(&pe, &ev), 0);
	assert_int_equal(ev.what, CN_PROC_NONE);

	pe = base(PROC_EVENT_FORK);
	pe.what = 0x400; /* unknown, future type */
	assert_int_equal(decode_one(&pe, &ev), -ENOMSG);
}

static void test_lengths(void **state)
{
	struct proc_event pe = base(PROC_EVENT_EXIT);
	struct cn_proc_event ev;
	uint8_t buf[MSG_SIZE];
	struct cn_msg *cn = (struct cn_msg *)(buf + NLMSG_HDRLEN);
	const size_t full = sizeof(struct cn_msg) + sizeof(pe);
	const size_t need = sizeof(struct cn_msg) + offsetof(struct proc_event, event_data) +
			    sizeof(pe.event_data.exit);
	uint8_t *copy;

	(void)state;
	pe.event_data.exit.process_pid = 1;
	put_msg(buf, &pe, 1);
	/* every cut of the bytes, in an exactly-sized heap buffer (ASan sees any overread) */
	for (size_t len = 0; len < full; len++) {
		copy = malloc(len ? len : 1);
		memcpy(copy, buf + NLMSG_HDRLEN, len);
		assert_int_equal(cn_proc_decode_msg(copy, len, &ev), -EBADMSG);
		free(copy);
	}
	/* cn->len says less than the exit member needs */
	for (size_t clen = 0; clen < need - sizeof(struct cn_msg); clen++) {
		put_msg(buf, &pe, 1);
		cn->len = (uint16_t)clen;
		assert_int_equal(cn_proc_decode_msg(cn, full, &ev), -EBADMSG);
	}
	/* exactly the member size (older kernels' smaller union) is enough */
	put_msg(buf, &pe, 1);
	cn->len = (uint16_t)(need - sizeof(struct cn_msg));
	assert_int_equal(cn_proc_decode_msg(cn, need, &ev), 0);
	/* cn->len bigger than the bytes */
	put_msg(buf, &pe, 1);
	cn->len = 0xffff;
	assert_int_equal(cn_proc_decode_msg(cn, full, &ev), -EBADMSG);
	/* another connector */
	put_msg(buf, &pe, 1);
	cn->id.idx = CN_IDX_CIFS;
	assert_int_equal(cn_proc_decode_msg(cn, full, &ev), -ENOMSG);
	assert_int_equal(cn_proc_decode_msg(NULL, 0, &ev), -EBADMSG);
}

struct collect {
	struct cn_proc_event ev[512];
	size_t n;
};

static void collect_fn(void *opaque, const struct cn_proc_event *ev)
{
	struct collect *c = opaque;

	if (c->n < 512)
		c->ev[c->n++] = *ev;
}

static void test_datagram(void **state)
{
	uint8_t buf[MSG_SIZE * 5 + 8];
	struct proc_event pe = base(PROC_EVENT_EXEC);
	struct cn_proc_stats st = { 0 };
	struct collect *c = calloc(1, sizeof(*c));
	struct nlmsghdr *nlh;
	struct cn_msg *cn;
	size_t off = 0;

	(void)state;
	pe.event_data.exec.process_pid = 1;
	off += put_msg(buf + off, &pe, 1);
	/* an ack */
	pe = base(PROC_EVENT_NONE);
	off += put_msg(buf + off, &pe, 2);
	/* an event of another connector */
	pe = base(PROC_EVENT_EXEC);
	pe.event_data.exec.process_pid = 99;
	cn = (struct cn_msg *)(buf + off + NLMSG_HDRLEN);
	off += put_msg(buf + off, &pe, 3);
	cn->id.val = 7;
	/* a message whose cn_msg is truncated by nlmsg_len */
	nlh = (struct nlmsghdr *)(buf + off);
	put_msg(buf + off, &pe, 4);
	nlh->nlmsg_len = NLMSG_LENGTH(8);
	off += NLMSG_ALIGN(nlh->nlmsg_len);
	/* a good one */
	pe.event_data.exec.process_pid = 2;
	off += put_msg(buf + off, &pe, 5);
	/* trailing junk shorter than a header */
	memset(buf + off, 0xab, 8);
	off += 8;

	assert_int_equal(cn_proc_decode_datagram(buf, off, collect_fn, c, &st), 2);
	assert_int_equal(c->n, 2);
	assert_int_equal(c->ev[0].pid, 1);
	assert_int_equal(c->ev[1].pid, 2);
	assert_int_equal(c->ev[1].seq, 5);
	assert_int_equal(st.events, 2);
	assert_int_equal(st.acks, 1);
	assert_int_equal(st.foreign, 1);
	assert_int_equal(st.malformed, 2);

	/* nlmsg_len beyond the datagram: stop, count, no overread */
	memset(&st, 0, sizeof(st));
	nlh = (struct nlmsghdr *)buf;
	nlh->nlmsg_len = 100000;
	assert_int_equal(cn_proc_decode_datagram(buf, off, collect_fn, c, &st), 0);
	assert_int_equal(st.malformed, 1);
	nlh->nlmsg_len = 3; /* shorter than its own header */
	assert_int_equal(cn_proc_decode_datagram(buf, off, NULL, NULL, NULL), 0);
	assert_int_equal(cn_proc_decode_datagram(NULL, 0, NULL, NULL, NULL), 0);
	free(c);
}

/* ---- replay of the captured session ---- */

static int json_i64(const char *line, const char *key, long long *ret)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	p = strstr(line, pat);
	if (!p)
		return -1;
	*ret = strtoll(p + strlen(pat), NULL, 10);
	return 0;
}

static int json_str(const char *line, const char *key, char *out, size_t cap)
{
	char pat[64];
	const char *p, *e;

	snprintf(pat, sizeof(pat), "\"%s\": \"", key);
	p = strstr(line, pat);
	if (!p)
		return -1;
	p += strlen(pat);
	e = strchr(p, '"');
	if (!e || (size_t)(e - p) >= cap)
		return -1;
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = '\0';
	return 0;
}

static long long J(const char *line, const char *key)
{
	long long v = 0;

	if (json_i64(line, key, &v) < 0)
		fail_msg("no %s in %s", key, line);
	return v;
}

static void test_replay_docker_session(void **state)
{
	const char *sf = getenv("CAPTURED_FIXTURES");
	char path[4096], line[1024], what[16];
	uint8_t *dgram = malloc(MSG_SIZE * 8);
	struct collect *c = calloc(1, sizeof(*c));
	struct cn_proc_stats st = { 0 };
	size_t off = 0, lines = 0, threads_json = 0, threads = 0, seen = 0, init_comm = 0;
	long long expect_pid[400];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/docker-session-1/proc.jsonl", sf ? sf : "tests/fixtures/captured");
	f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open %s", path);
	while (fgets(line, sizeof(line), f)) {
		struct proc_event pe;

		assert_int_equal(json_str(line, "what", what, sizeof(what)), 0);
		memset(&pe, 0, sizeof(pe));
		pe.cpu = (uint32_t)(lines % 2);
		pe.timestamp_ns = (uint64_t)J(line, "ts_ns");
		if (!strcmp(what, "fork")) {
			pe.what = PROC_EVENT_FORK;
			pe.event_data.fork.parent_pid = (pid_t)J(line, "parent_pid");
			pe.event_data.fork.parent_tgid = (pid_t)J(line, "parent_tgid");
			pe.event_data.fork.child_pid = (pid_t)J(line, "child_pid");
			pe.event_data.fork.child_tgid = (pid_t)J(line, "child_tgid");
			threads_json += J(line, "child_pid") != J(line, "child_tgid");
			expect_pid[lines] = J(line, "child_pid");
		} else if (!strcmp(what, "exec")) {
			pe.what = PROC_EVENT_EXEC;
			pe.event_data.exec.process_pid = (pid_t)J(line, "pid");
			pe.event_data.exec.process_tgid = (pid_t)J(line, "tgid");
			expect_pid[lines] = J(line, "pid");
		} else if (!strcmp(what, "exit")) {
			pe.what = PROC_EVENT_EXIT;
			pe.event_data.exit.process_pid = (pid_t)J(line, "pid");
			pe.event_data.exit.process_tgid = (pid_t)J(line, "tgid");
			pe.event_data.exit.exit_code = (uint32_t)J(line, "exit_code");
			pe.event_data.exit.exit_signal = (uint32_t)J(line, "exit_signal");
			pe.event_data.exit.parent_pid = (pid_t)J(line, "parent_pid");
			pe.event_data.exit.parent_tgid = (pid_t)J(line, "parent_tgid");
			expect_pid[lines] = J(line, "pid");
		} else if (!strcmp(what, "comm")) {
			pe.what = PROC_EVENT_COMM;
			pe.event_data.comm.process_pid = (pid_t)J(line, "pid");
			pe.event_data.comm.process_tgid = (pid_t)J(line, "tgid");
			json_str(line, "comm", pe.event_data.comm.comm, sizeof(pe.event_data.comm.comm));
			expect_pid[lines] = J(line, "pid");
		} else {
			fail_msg("unexpected what %s", what);
		}
		off += put_msg(dgram + off, &pe, (uint32_t)(lines / 2));
		lines++;
		assert_true(lines < 400);
		if (lines % 8 == 0) { /* several messages per datagram */
			cn_proc_decode_datagram(dgram, off, collect_fn, c, &st);
			off = 0;
		}
	}
	fclose(f);
	cn_proc_decode_datagram(dgram, off, collect_fn, c, &st);
	assert_int_equal(lines, 285);
	assert_int_equal(c->n, lines);
	assert_int_equal(st.malformed + st.foreign + st.acks, 0);
	for (size_t i = 0; i < c->n; i++) {
		const struct cn_proc_event *ev = &c->ev[i];

		assert_int_equal(ev->pid, expect_pid[i]);
		assert_int_equal(ev->cpu, i % 2);
		assert_int_equal(ev->seq, i / 2);
		if (ev->what == CN_PROC_FORK && ev->thread)
			threads++;
		if (ev->what == CN_PROC_EXIT) {
			/* thread exits: exit_signal -1 and no parent; process exits: SIGCHLD */
			if (ev->exit_signal == -1)
				assert_int_equal(ev->parent_pid, 0);
			else
				assert_int_equal(ev->exit_signal, SIGCHLD);
			assert_true(ev->exited);
			seen++;
		}
		if (ev->what == CN_PROC_COMM && ev->pid == 10892 && !strcmp(ev->comm, "runc:[2:INIT]"))
			init_comm++;
	}
	assert_int_equal(threads, threads_json);
	assert_true(threads > 50); /* dockerd/containerd/runc are Go: mostly threads */
	assert_int_equal(seen, 122);
	assert_int_equal(init_comm, 1);
	free(dgram);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fork_process_and_thread),
		cmocka_unit_test(test_exit_status),
		cmocka_unit_test(test_other_types),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_datagram),
		cmocka_unit_test(test_replay_docker_session),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
