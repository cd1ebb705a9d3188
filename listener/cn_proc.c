/* cn_proc.c — proc connector message decoder (see cn_proc.h). Reads the kernel's layouts from
 * <linux/connector.h> and <linux/cn_proc.h> with memcpy after checking every length, so that
 * neither a short message nor an unaligned buffer is ever read past or dereferenced. */
#include "cn_proc.h"

#include "macro.h"

#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <stddef.h>
#include <string.h>
#include <sys/wait.h>

/* offset of the data union in struct proc_event: what, cpu, timestamp_ns */
#define EV_HDR_LEN offsetof(struct proc_event, event_data)

const char *cn_proc_what_name(enum cn_proc_what what)
{
	switch (what) {
	case CN_PROC_NONE: return "none";
	case CN_PROC_FORK: return "fork";
	case CN_PROC_EXEC: return "exec";
	case CN_PROC_EXIT: return "exit";
	case CN_PROC_COMM: return "comm";
	case CN_PROC_UID: return "uid";
	case CN_PROC_GID: return "gid";
	case CN_PROC_SID: return "sid";
	case CN_PROC_PTRACE: return "ptrace";
	case CN_PROC_COREDUMP: return "coredump";
	}
	return "unknown";
}

#define MEMBER_LEN(m) sizeof(((struct proc_event *)0)->event_data.m)

/* Each kernel type, our name for it, and the size of its member of the data union. */
static const struct {
	uint32_t kwhat;
	enum cn_proc_what what;
	size_t len;
} types[] = {
	{ PROC_EVENT_NONE, CN_PROC_NONE, MEMBER_LEN(ack) },
	{ PROC_EVENT_FORK, CN_PROC_FORK, MEMBER_LEN(fork) },
	{ PROC_EVENT_EXEC, CN_PROC_EXEC, MEMBER_LEN(exec) },
	{ PROC_EVENT_UID, CN_PROC_UID, MEMBER_LEN(id) },
	{ PROC_EVENT_GID, CN_PROC_GID, MEMBER_LEN(id) },
	{ PROC_EVENT_SID, CN_PROC_SID, MEMBER_LEN(sid) },
	{ PROC_EVENT_PTRACE, CN_PROC_PTRACE, MEMBER_LEN(ptrace) },
	{ PROC_EVENT_COMM, CN_PROC_COMM, MEMBER_LEN(comm) },
	{ PROC_EVENT_COREDUMP, CN_PROC_COREDUMP, MEMBER_LEN(coredump) },
	{ PROC_EVENT_EXIT, CN_PROC_EXIT, MEMBER_LEN(exit) },
};

static int member_len(uint32_t kwhat, enum cn_proc_what *ret_what, size_t *ret_len)
{
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		if (types[i].kwhat == kwhat) {
			*ret_what = types[i].what;
			*ret_len = types[i].len;
			return 0;
		}
	}
	return -ENOMSG;
}

int cn_proc_decode_msg(const void *data, size_t len, struct cn_proc_event *ret)
{
	struct cn_msg cn;
	struct proc_event pe;
	struct cn_proc_event ev;
	const unsigned char *payload;
	uint32_t kwhat;
	size_t need;
	int r;

	if (!data || len < sizeof(cn))
		return -EBADMSG;
	memcpy(&cn, data, sizeof(cn));
	if (cn.len > len - sizeof(cn))
		return -EBADMSG;
	if (cn.id.idx != CN_IDX_PROC || cn.id.val != CN_VAL_PROC)
		return -ENOMSG;
	payload = (const unsigned char *)data + sizeof(cn);
	if (cn.len < EV_HDR_LEN)
		return -EBADMSG;
	memcpy(&kwhat, payload, sizeof(kwhat));
	r = member_len(kwhat, &ev.what, &need);
	if (r < 0)
		return r;
	if (cn.len < EV_HDR_LEN + need)
		return -EBADMSG;
	memset(&pe, 0, sizeof(pe));
	memcpy(&pe, payload, MIN((size_t)cn.len, sizeof(pe)));

	memset(&ev, 0, sizeof(ev));
	(void)member_len(kwhat, &ev.what, &need); /* the memset cleared it */
	ev.cpu = pe.cpu;
	ev.seq = cn.seq;
	ev.timestamp_ns = pe.timestamp_ns;
	ev.exit_code = -1;
	ev.term_signal = -1;
	switch (ev.what) {
	case CN_PROC_NONE:
		ev.ack_err = pe.event_data.ack.err;
		break;
	case CN_PROC_FORK:
		ev.parent_pid = pe.event_data.fork.parent_pid;
		ev.parent_tgid = pe.event_data.fork.parent_tgid;
		ev.child_pid = ev.pid = pe.event_data.fork.child_pid;
		ev.child_tgid = ev.tgid = pe.event_data.fork.child_tgid;
		ev.thread = ev.child_pid != ev.child_tgid;
		break;
	case CN_PROC_EXEC:
		ev.pid = pe.event_data.exec.process_pid;
		ev.tgid = pe.event_data.exec.process_tgid;
		break;
	case CN_PROC_UID:
	case CN_PROC_GID:
		ev.pid = pe.event_data.id.process_pid;
		ev.tgid = pe.event_data.id.process_tgid;
		ev.rid = pe.event_data.id.r.ruid;
		ev.eid = pe.event_data.id.e.euid;
		break;
	case CN_PROC_SID:
		ev.pid = pe.event_data.sid.process_pid;
		ev.tgid = pe.event_data.sid.process_tgid;
		break;
	case CN_PROC_PTRACE:
		ev.pid = pe.event_data.ptrace.process_pid;
		ev.tgid = pe.event_data.ptrace.process_tgid;
		ev.tracer_pid = pe.event_data.ptrace.tracer_pid;
		ev.tracer_tgid = pe.event_data.ptrace.tracer_tgid;
		break;
	case CN_PROC_COMM:
		ev.pid = pe.event_data.comm.process_pid;
		ev.tgid = pe.event_data.comm.process_tgid;
		memcpy(ev.comm, pe.event_data.comm.comm, sizeof(pe.event_data.comm.comm));
		ev.comm[sizeof(ev.comm) - 1] = '\0';
		break;
	case CN_PROC_COREDUMP:
		ev.pid = pe.event_data.coredump.process_pid;
		ev.tgid = pe.event_data.coredump.process_tgid;
		ev.parent_pid = pe.event_data.coredump.parent_pid;
		ev.parent_tgid = pe.event_data.coredump.parent_tgid;
		break;
	case CN_PROC_EXIT: {
		int st;

		ev.pid = pe.event_data.exit.process_pid;
		ev.tgid = pe.event_data.exit.process_tgid;
		ev.status = pe.event_data.exit.exit_code;
		ev.exit_signal = (int32_t)pe.event_data.exit.exit_signal;
		ev.parent_pid = pe.event_data.exit.parent_pid;
		ev.parent_tgid = pe.event_data.exit.parent_tgid;
		st = (int)ev.status;
		if (WIFEXITED(st)) {
			ev.exited = true;
			ev.exit_code = WEXITSTATUS(st);
		} else if (WIFSIGNALED(st)) {
			ev.signaled = true;
			ev.term_signal = WTERMSIG(st);
			ev.core_dumped = WCOREDUMP(st) != 0;
		}
		break;
	}
	}
	*ret = ev;
	return 0;
}

int cn_proc_decode_datagram(const void *buf, size_t len, cn_proc_event_fn fn, void *opaque,
			    struct cn_proc_stats *st)
{
	struct cn_proc_stats dummy;
	const unsigned char *p = buf;
	int n = 0;

	if (!st)
		st = &dummy;
	if (!buf)
		return 0;
	while (len >= sizeof(struct nlmsghdr)) {
		struct nlmsghdr nlh;
		struct cn_proc_event ev;
		size_t step;
		int r;

		memcpy(&nlh, p, sizeof(nlh));
		if (nlh.nlmsg_len < sizeof(nlh) || nlh.nlmsg_len > len) {
			st->malformed++;
			return n; /* cannot find the next message either */
		}
		step = NLMSG_ALIGN(nlh.nlmsg_len);
		if (nlh.nlmsg_type == NLMSG_NOOP || nlh.nlmsg_type == NLMSG_ERROR ||
		    nlh.nlmsg_type == NLMSG_OVERRUN) {
			st->foreign++;
		} else {
			/* nlmsg_len >= sizeof(nlh) == NLMSG_HDRLEN was checked above */
			r = cn_proc_decode_msg(p + NLMSG_HDRLEN, nlh.nlmsg_len - NLMSG_HDRLEN, &ev);
			if (r == -EBADMSG) {
				st->malformed++;
			} else if (r < 0) {
				st->foreign++;
			} else if (ev.what == CN_PROC_NONE) {
				st->acks++;
			} else {
				st->events++;
				n++;
				if (fn)
					fn(opaque, &ev);
			}
		}
		if (step >= len)
			return n;
		p += step;
		len -= step;
	}
	if (len > 0)
		st->malformed++; /* trailing bytes too short for a header */
	return n;
}
