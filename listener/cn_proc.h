/* cn_proc.h — pure decoder of the kernel's proc connector (NETLINK_CONNECTOR, CN_IDX_PROC)
 * messages into struct cn_proc_event. No I/O, no allocation, no logging: proc_connector.c
 * feeds it datagrams from the socket, tests and the fuzz target feed it bytes.
 *
 * Kernel facts: timestamp_ns is ktime_get_ns() (CLOCK_MONOTONIC); the cn_msg seq is a per-CPU
 * counter (gaps per cpu = lost events); exit_code is a wait status; a fork whose child pid
 * differs from its child tgid created a thread; thread exits carry exit_signal -1 and parent 0. */
#ifndef LINEAGE_CN_PROC_H
#define LINEAGE_CN_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum cn_proc_what {
	CN_PROC_NONE = 0, /* ack of a LISTEN/IGNORE request: not an event */
	CN_PROC_FORK,
	CN_PROC_EXEC,
	CN_PROC_EXIT,
	CN_PROC_COMM,
	CN_PROC_UID,
	CN_PROC_GID,
	CN_PROC_SID,
	CN_PROC_PTRACE,
	CN_PROC_COREDUMP,
};

struct cn_proc_event {
	enum cn_proc_what what;
	uint32_t cpu;          /* CPU that emitted it */
	uint32_t seq;          /* cn_msg seq: per-CPU counter */
	uint64_t timestamp_ns; /* CLOCK_MONOTONIC ns */
	/* Subject: every type but fork (fork: the child, same as child_pid/child_tgid). */
	pid_t pid, tgid;
	/* fork: the parent; exit: the parent at exit (0 for threads); coredump: the parent. */
	pid_t parent_pid, parent_tgid;
	/* fork only */
	pid_t child_pid, child_tgid;
	bool thread;           /* fork: child_pid != child_tgid */
	/* exit only */
	uint32_t status;       /* raw wait status */
	bool exited;           /* WIFEXITED(status): exit_code is valid */
	int exit_code;         /* WEXITSTATUS or -1 */
	bool signaled;         /* WIFSIGNALED(status): term_signal is valid */
	int term_signal;       /* WTERMSIG or -1 */
	bool core_dumped;      /* WCOREDUMP */
	int32_t exit_signal;   /* signal sent to the parent (SIGCHLD), -1 for threads */
	/* uid: ruid/euid; gid: rgid/egid (same slots) */
	uint32_t rid, eid;
	/* ptrace */
	pid_t tracer_pid, tracer_tgid;
	/* comm: NUL-terminated (the kernel's 16 bytes need not be) */
	char comm[17];
	/* ack (CN_PROC_NONE) */
	uint32_t ack_err;
};

/* Counters kept by cn_proc_decode_datagram(); the caller owns and zeroes them. */
struct cn_proc_stats {
	uint64_t events;    /* decoded events handed to the callback */
	uint64_t acks;      /* CN_PROC_NONE acks, skipped */
	uint64_t malformed; /* short, oversized or inconsistent messages, skipped */
	uint64_t foreign;   /* connector messages of another idx/val, or unknown event types */
};

/* The name stored in documents ("fork", "exec", …); "none" for CN_PROC_NONE, never NULL. */
const char *cn_proc_what_name(enum cn_proc_what what);

/* Decode one cn_msg (header + data, len bytes as carried in one netlink message payload).
 * Returns 0 and fills *ret (acks included, what == CN_PROC_NONE); -EBADMSG when a length is
 * wrong; -ENOMSG when it is not a proc event (other connector idx/val, unknown type).
 * *ret is written only on success. */
int cn_proc_decode_msg(const void *data, size_t len, struct cn_proc_event *ret);

typedef void (*cn_proc_event_fn)(void *opaque, const struct cn_proc_event *ev);

/* Decode a whole datagram (one or more netlink messages, as read from the socket): each proc
 * event goes to fn (the event is valid only during the call). Acks, malformed and foreign
 * messages are counted in *st (may be NULL) and skipped. Returns the number of events. */
int cn_proc_decode_datagram(const void *buf, size_t len, cn_proc_event_fn fn, void *opaque,
			    struct cn_proc_stats *st);

#endif
