/* proc_connector.h — the kernel's proc connector socket (libmnl, NETLINK_CONNECTOR, group
 * CN_IDX_PROC): open and subscribe, read batches of datagrams into decoded events, count
 * every loss, unsubscribe on close. One reader thread owns a struct pc.
 *
 * The socket is non-blocking: wait for pc_fd() to be readable (poll), then call pc_read()
 * until it returns -EAGAIN or says the socket was drained. Needs CAP_NET_ADMIN (root). */
#ifndef LINEAGE_PROC_CONNECTOR_H
#define LINEAGE_PROC_CONNECTOR_H

#include <stdbool.h>
#include <stdint.h>

#include "cn_proc.h"

#define PC_DEFAULT_RCVBUF (8 << 20) /* 8 MiB: absorbs fork storms of ~100k events */
#define PC_MAX_CPUS 4096             /* per-CPU seq tracking beyond this is skipped */

struct pc_stats {
	uint64_t datagrams;  /* datagrams received from the kernel */
	uint64_t events;     /* events passed to the callback */
	uint64_t enobufs;    /* receive-buffer overruns: events were lost, count unknown */
	uint64_t seq_gaps;   /* events missing by per-CPU seq gaps (a hint, not exact) */
	uint64_t foreign;    /* datagrams from a sender other than the kernel, dropped */
	uint64_t malformed;  /* messages that failed to decode, dropped */
	uint64_t acks;       /* LISTEN/IGNORE acks */
	int rcvbuf;          /* SO_RCVBUF actually granted (the kernel doubles the request) */
	uint32_t kernel_mask; /* event types the kernel filters to (Linux 6.6+: fork, exec, exit,
			       * comm, uid); 0: every type (an older kernel) */
};

struct pc;

/* Open, enlarge the receive buffer to rcvbuf_bytes (<= 0: PC_DEFAULT_RCVBUF; SO_RCVBUFFORCE,
 * else SO_RCVBUF), bind to CN_IDX_PROC and send PROC_CN_MCAST_LISTEN: on Linux 6.6+ with an
 * event mask (fork, exec, exit, comm, uid: issue 26), so the kernel sends nothing else; on older
 * kernels the plain listen (every type). 0 or -errno; on success
 * *ret is owned by the caller: pc_free(). */
int pc_open(int rcvbuf_bytes, struct pc **ret);
/* The same; all_types: the plain listen whatever the kernel (--no-proc-filter). */
int pc_open_ex(int rcvbuf_bytes, bool all_types, struct pc **ret);

/* Send PROC_CN_MCAST_IGNORE (best effort), close, free. Accepts NULL. */
void pc_free(struct pc *pc);

int pc_fd(const struct pc *pc);

typedef void (*pc_event_fn)(void *opaque, const struct cn_proc_event *ev);

/* One recvmmsg (up to 16 datagrams): each decoded event goes to fn (ev valid during the call),
 * in arrival order. Returns the number of events (0 when the datagrams held none, e.g. an ack
 * or a foreign sender), -EAGAIN when nothing is queued, -ENOBUFS when the kernel dropped
 * events (counted; the socket stays usable: call again; an overrun after some datagrams is
 * reported by the next call), other -errno on failure. EINTR is retried. On success
 * *ret_drained (may be NULL) says whether fewer than a full batch came: the queue was empty,
 * poll() again rather than call for -EAGAIN. */
int pc_read(struct pc *pc, pc_event_fn fn, void *opaque, bool *ret_drained);

void pc_get_stats(const struct pc *pc, struct pc_stats *ret);

#endif
