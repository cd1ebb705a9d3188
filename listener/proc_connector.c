/* proc_connector.c — owns the NETLINK_CONNECTOR socket of the proc connector (see
 * proc_connector.h): subscription, receive, sender check, loss counters. Decoding is
 * cn_proc.c's, so a captured datagram runs through the same code as a received one. */
#include "proc_connector.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

/* One cn_proc datagram is ~100 bytes; the kernel never sends more than a page at once. */
#define PC_RECV_BUF 8192
/* Datagrams taken per recvmmsg() (issue 16): one event each, so a burst costs one syscall
 * instead of one per event. */
#define PC_RECV_BATCH 16

struct pc {
	struct mnl_socket *nl;
	struct pc_stats st;
	uint32_t mask; /* event types asked of the kernel (struct pc_proc_input); 0: all */
	/* per-CPU cn_msg seq, for gap counting */
	uint32_t last_seq[PC_MAX_CPUS];
	bool seen[PC_MAX_CPUS];
	/* the callback of the pc_read() in progress */
	pc_event_fn fn;
	void *opaque;
	/* recvmmsg() state, set up at open */
	struct mmsghdr msgs[PC_RECV_BATCH];
	struct iovec iov[PC_RECV_BATCH];
	struct sockaddr_nl from[PC_RECV_BATCH];
	uint8_t buf[PC_RECV_BATCH][PC_RECV_BUF] __attribute__((aligned(8)));
};

/* Linux 6.6's struct proc_input (Debian 12's 6.1 headers lack it): the multicast op and
 * the event types wanted, filtered in the kernel before any message is made. A kernel
 * before 6.6 ignores a message of this size (it wants exactly the op): pc_open() sends it
 * only to a 6.6 or later kernel. */
struct pc_proc_input {
	uint32_t mcast_op;
	uint32_t event_type;
};
#define PC_EV_FORK 0x00000001u
#define PC_EV_EXEC 0x00000002u
#define PC_EV_UID 0x00000004u
#define PC_EV_COMM 0x00000200u
#define PC_EV_EXIT 0x80000000u

/* Does uname's release say 6.6 or later? */
static bool kernel_filters(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return false;
	return major > 6 || (major == 6 && minor >= 6);
}

static int send_op(struct pc *pc, enum proc_cn_mcast_op op)
{
	char buf[NLMSG_SPACE(sizeof(struct cn_msg) + sizeof(struct pc_proc_input))]
		__attribute__((aligned(8)));
	struct nlmsghdr *nlh;
	struct cn_msg *cn;
	struct pc_proc_input in = { .mcast_op = (uint32_t)op, .event_type = pc->mask };
	uint32_t v = (uint32_t)op;
	size_t len = pc->mask ? sizeof(in) : sizeof(v);

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NLMSG_DONE;
	nlh->nlmsg_pid = mnl_socket_get_portid(pc->nl);
	cn = mnl_nlmsg_put_extra_header(nlh, sizeof(*cn) + len);
	cn->id.idx = CN_IDX_PROC;
	cn->id.val = CN_VAL_PROC;
	cn->len = (uint16_t)len;
	memcpy(cn->data, pc->mask ? (const void *)&in : (const void *)&v, len);
	if (mnl_socket_sendto(pc->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	return 0;
}

int pc_open(int rcvbuf_bytes, struct pc **ret)
{
	return pc_open_ex(rcvbuf_bytes, false, ret);
}

int pc_open_ex(int rcvbuf_bytes, bool all_types, struct pc **ret)
{
	struct pc *pc;
	socklen_t sl;
	int fd, r;

	if (rcvbuf_bytes <= 0)
		rcvbuf_bytes = PC_DEFAULT_RCVBUF;
	pc = calloc(1, sizeof(*pc));
	if (!pc)
		return -ENOMEM;
	pc->nl = mnl_socket_open2(NETLINK_CONNECTOR, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!pc->nl) {
		r = -errno;
		goto out_free;
	}
	fd = mnl_socket_get_fd(pc->nl);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf_bytes, sizeof(rcvbuf_bytes)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf_bytes, sizeof(rcvbuf_bytes));
	sl = sizeof(pc->st.rcvbuf);
	(void)getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &pc->st.rcvbuf, &sl);
	if (mnl_socket_bind(pc->nl, CN_IDX_PROC, MNL_SOCKET_AUTOPID) < 0) {
		r = -errno;
		goto out_close;
	}
	/* only what lineage stores and reads: fork, exec, exit, comm (the filter) and uid (the
	 * scope follows a process's uid through it: --uid, --exclude-uid); gid/sid/ptrace/
	 * coredump messages (a container start sends them by the handful) are not even made */
	if (!all_types && kernel_filters())
		pc->mask = PC_EV_FORK | PC_EV_EXEC | PC_EV_EXIT | PC_EV_COMM | PC_EV_UID;
	pc->st.kernel_mask = pc->mask;
	r = send_op(pc, PROC_CN_MCAST_LISTEN);
	if (r < 0)
		goto out_close;
	for (int i = 0; i < PC_RECV_BATCH; i++) {
		pc->iov[i].iov_base = pc->buf[i];
		pc->iov[i].iov_len = sizeof(pc->buf[i]);
		pc->msgs[i].msg_hdr.msg_iov = &pc->iov[i];
		pc->msgs[i].msg_hdr.msg_iovlen = 1;
		pc->msgs[i].msg_hdr.msg_name = &pc->from[i];
	}
	*ret = pc;
	return 0;

out_close:
	mnl_socket_close(pc->nl);
out_free:
	free(pc);
	return r;
}

void pc_free(struct pc *pc)
{
	if (!pc)
		return;
	(void)send_op(pc, PROC_CN_MCAST_IGNORE);
	mnl_socket_close(pc->nl);
	free(pc);
}

int pc_fd(const struct pc *pc)
{
	return mnl_socket_get_fd(pc->nl);
}

static void on_event(void *opaque, const struct cn_proc_event *ev)
{
	struct pc *pc = opaque;

	if (ev->cpu < PC_MAX_CPUS) {
		if (pc->seen[ev->cpu]) {
			uint32_t missing = ev->seq - pc->last_seq[ev->cpu] - 1;

			/* small forward jumps are losses; a huge one is reordering, ignore it */
			if (missing != 0 && missing < (1u << 30))
				pc->st.seq_gaps += missing;
		}
		pc->seen[ev->cpu] = true;
		pc->last_seq[ev->cpu] = ev->seq;
	}
	pc->st.events++;
	if (pc->fn)
		pc->fn(pc->opaque, ev);
}

int pc_read(struct pc *pc, pc_event_fn fn, void *opaque, bool *ret_drained)
{
	struct cn_proc_stats cst = { 0 };
	int n, events = 0;

	for (int i = 0; i < PC_RECV_BATCH; i++) {
		pc->msgs[i].msg_hdr.msg_namelen = sizeof(pc->from[i]);
		pc->msgs[i].msg_hdr.msg_flags = 0;
	}
	/* an error after the first datagram (ENOBUFS) stays on the socket for the next call */
	do {
		n = recvmmsg(pc_fd(pc), pc->msgs, PC_RECV_BATCH, MSG_DONTWAIT, NULL);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == ENOBUFS)
			pc->st.enobufs++;
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
	if (ret_drained)
		*ret_drained = n < PC_RECV_BATCH;
	pc->fn = fn;
	pc->opaque = opaque;
	for (int i = 0; i < n; i++) {
		const struct msghdr *msg = &pc->msgs[i].msg_hdr;
		int r;

		pc->st.datagrams++;
		if (msg->msg_namelen != sizeof(pc->from[i]) || pc->from[i].nl_pid != 0) {
			pc->st.foreign++; /* only the kernel may speak here */
			continue;
		}
		if (msg->msg_flags & MSG_TRUNC) {
			pc->st.malformed++;
			continue;
		}
		r = cn_proc_decode_datagram(pc->buf[i], pc->msgs[i].msg_len, on_event, pc, &cst);
		if (r > 0)
			events += r;
	}
	pc->fn = NULL;
	pc->opaque = NULL;
	pc->st.acks += cst.acks;
	pc->st.malformed += cst.malformed + cst.foreign;
	return events;
}

void pc_get_stats(const struct pc *pc, struct pc_stats *ret)
{
	*ret = pc->st;
}
