/* audit_source.h — the kernel audit netlink socket: unicast (become the audit daemon, install
 * lineage's rules, restore the configuration found at exit) or multicast (read a copy through
 * AUDIT_NLGRP_READLOG beside another audit daemon, touching nothing).
 *
 * Functions return 0 or a negative errno and, on failure, write a one-line reason in err. */
#ifndef LINEAGE_AUDIT_SOURCE_H
#define LINEAGE_AUDIT_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/audit.h>

#define AUDIT_SOURCE_MAX_EXCLUDE 32
#define AUDIT_SOURCE_MAX_SCOPE 16 /* per scope field list (issue 19) */
#define AUDIT_SOURCE_KEY "lineage"
#define AUDIT_SOURCE_EXCLUDE_KEY "lineage-exclude"
/* The audit status found before lineage changed it, until a clean close (crash recovery). */
#define AUDIT_SOURCE_STATE_FILE "/run/lineage-listener.audit"

struct audit_source_config {
	bool multicast;          /* read a copy; do not touch the audit configuration */
	bool audit_write;        /* include write(2) in the rules (very noisy) */
	uint32_t backlog_limit;  /* kernel queue length (unicast) */
	uint32_t backlog_wait;   /* jiffies an audited task may wait when the queue is full;
				  * 0: never block, the kernel counts lost instead */
	int rcvbuf;              /* socket receive buffer, bytes (SO_RCVBUFFORCE) */
	pid_t exclude[AUDIT_SOURCE_MAX_EXCLUDE]; /* tgids never recorded (self, database) */
	size_t n_exclude;
	/* parents whose children are never recorded (-F ppid=): a local PostgreSQL's postmaster,
	 * whose backends do the store's writes and come and go with its connections */
	pid_t exclude_children[AUDIT_SOURCE_MAX_EXCLUDE];
	size_t n_exclude_children;
	/* Scope (issue 19, filled by scope_audit_config): what the kernel filters. uids: only
	 * these real uids (one always-rule per uid); exclude_uids: never-rules; include_dirs:
	 * the file syscalls (open*, creat, rename*, unlink*) only under these directories (dir=),
	 * the other syscalls everywhere; exclude_dirs: never the file syscalls under these.
	 * Strings are borrowed for the duration of audit_source_open. */
	uint32_t uids[AUDIT_SOURCE_MAX_SCOPE], exclude_uids[AUDIT_SOURCE_MAX_SCOPE];
	size_t n_uids, n_exclude_uids;
	const char *include_dirs[AUDIT_SOURCE_MAX_SCOPE], *exclude_dirs[AUDIT_SOURCE_MAX_SCOPE];
	size_t n_include_dirs, n_exclude_dirs;
};

struct audit_source;

/* Open and configure. On success *ret belongs to the caller: audit_source_close() restores
 * what was changed and frees it. Fails with -EBUSY and a hint to use --multicast when another
 * process owns audit, -EPERM when audit is locked (enabled=2) or we lack the capability. */
int audit_source_open(const struct audit_source_config *cfg, struct audit_source **ret,
		      char *err, size_t errlen);

/* The fd to poll for records. */
int audit_source_fd(const struct audit_source *src);

/* Called once per record: type is the netlink message type (1300 SYSCALL, …), text the
 * payload (not NUL-terminated, len bytes), valid only during the call. */
typedef void (*audit_record_fn)(void *opaque, int type, const char *text, size_t len);

/* What audit_source_read skipped, added to by each call (never silent: the listener reports
 * both in its session counters). */
struct audit_source_skips {
	uint64_t foreign; /* the sender was not the kernel */
	uint64_t runts;   /* shorter than a netlink header */
};

/* Read what one recvmmsg() gives (non-blocking, up to 32 datagrams, one record each, passed
 * to fn in arrival order). Returns the number of records passed to fn, -EAGAIN when nothing
 * was waiting, -ENOBUFS when the socket overflowed (records were lost: the caller counts it
 * and goes on; an overflow after some datagrams is reported by the next call), another -errno
 * on a real error. Datagrams not from the kernel or shorter than a netlink header are dropped
 * and counted in *skips (may be NULL); the rest of the batch is still delivered.
 * *ret_drained (may be NULL) is set on success: true when fewer than a full batch came, i.e.
 * the queue was empty at that moment, so the caller can go back to poll() without the call
 * that would only say -EAGAIN (issue 16: one syscall less per wake-up). */
int audit_source_read(struct audit_source *src, audit_record_fn fn, void *opaque,
		      struct audit_source_skips *skips, bool *ret_drained);

/* Current kernel audit status (lost, backlog, …), asked on a separate control socket. */
int audit_source_status(struct audit_source *src, struct audit_status *ret, char *err,
			size_t errlen);

/* What open recovered from a listener that died without restoring (SIGKILL, crash): returns
 * the number of its rules deleted; *ret_state says whether the status to restore came from its
 * state file (the host's original) rather than from the kernel now. */
int audit_source_recovered(const struct audit_source *src, bool *ret_state);

/* A process found after open that must not be recorded (a store server restarted; see
 * exclude.h): its `-A exit,never -F pid=` rule, and `-F ppid=` with children, keyed
 * lineage-exclude like the start-up ones (prepended: they win over lineage's rules).
 * audit_source_unexclude deletes the rules naming pid again (its process ended: the pid may
 * be reused), whether added here or at open; audit_source_close the rest. Call from one
 * thread at a time, not during audit_source_close, and after the last audit_source_rules
 * caller is done with its texts. Multicast: nothing is changed, 0. */
int audit_source_exclude(struct audit_source *src, pid_t pid, bool children, char *err,
			 size_t errlen);
void audit_source_unexclude(struct audit_source *src, pid_t pid);

/* Rules lineage installed, as auditctl-like text lines ("-a always,exit -F arch=b64 -S …").
 * Returns the count; the array and strings stay owned by src. */
size_t audit_source_rules(const struct audit_source *src, const char *const **ret);

/* Restore the configuration found at open (rules deleted, status fields set back, daemon pid
 * released), close the sockets, free src. NULL is fine. Returns 0, or the first error while
 * restoring (the rest is still attempted). */
int audit_source_close(struct audit_source *src, char *err, size_t errlen);

/* A text dump of the audit configuration (status fields that lineage changes, and every rule
 * as hex) for tests that check the configuration is left as found. Caller frees *ret. */
int audit_source_dump_config(char **ret, char *err, size_t errlen);

#endif
