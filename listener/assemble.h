/* assemble.h — audit records → events. Records sharing a serial form one event; AUDIT_EOE
 * ends it; an event whose EOE never comes (single-record events, lost EOE) is emitted after
 * a timeout; when too many events are open the oldest is emitted early (overflowed).
 * Records may interleave and may arrive before their SYSCALL record. Pure: no bson, no log.
 *
 * The socket and the replay seam (asm_feed_line) go through the same asm_feed(). */
#ifndef LINEAGE_ASSEMBLE_H
#define LINEAGE_ASSEMBLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit_parse.h"

/* Per-event limits: records beyond them are dropped and the event is marked truncated. */
#define ASM_EVENT_MAX_RECORDS 512
#define ASM_EVENT_MAX_BYTES (4u << 20) /* record text per event */
#define ASM_ARGV_MAX 4096          /* argv entries kept by audit_event_argv() */
#define ASM_ARGV_MAX_BYTES (1 << 20) /* bytes of argv text kept by audit_event_argv() */

/* An assembled event, read-only for the emit callback. records[] are in arrival order. */
struct audit_event {
	uint64_t serial;
	uint64_t sec;         /* audit timestamp of the first record */
	unsigned msec;
	bool complete;        /* ended by EOE (false: timeout, overflow or flush) */
	bool truncated;       /* records were dropped (ASM_EVENT_MAX_RECORDS / _BYTES) */
	size_t nrecords;
	struct audit_record **records;
};

struct asm_ctx;

/* Called once per event; ev and everything it points to are valid only during the call. */
typedef void (*asm_emit_fn)(void *opaque, const struct audit_event *ev);

struct asm_stats {
	uint64_t records;        /* records parsed and assembled */
	uint64_t events;         /* events emitted */
	uint64_t parse_errors;   /* records that failed audit_record_parse() */
	uint64_t timed_out;      /* events emitted by asm_expire() without EOE */
	uint64_t overflowed;     /* events emitted early because max_pending were open */
	uint64_t flushed;        /* events emitted by asm_flush() without EOE */
	uint64_t serial_gaps;    /* times a new serial jumped past highest + 1 (a hint of loss) */
	uint64_t serials_missing; /* the serial numbers skipped by those jumps */
	uint64_t dropped_records; /* records over ASM_EVENT_MAX_RECORDS / _BYTES */
	uint64_t stray_eoe;      /* EOE for a serial with no open event */
};

/* New assembler: events without EOE are emitted timeout_ms after their first record (by
 * asm_expire); at most max_pending (>= 1) are open at once. emit(opaque, ev) receives every
 * event. *ret is freed with asm_free(). -EINVAL, -ENOMEM. */
int asm_new(unsigned timeout_ms, size_t max_pending, asm_emit_fn emit, void *opaque,
	    struct asm_ctx **ret);

/* Free ctx and the events still open, WITHOUT emitting them (call asm_flush() first). */
void asm_free(struct asm_ctx *ctx);

/* One record (the netlink payload and nlmsg_type); now_ms is a monotonic clock. May emit.
 * 0 on success, or the negative errno of audit_record_parse() (already counted). */
int asm_feed(struct asm_ctx *ctx, int type, const char *text, size_t len, uint64_t now_ms);

/* Replay seam: one line `type=<NUMBER|NAME> msg=<text>` through asm_feed(). -EINVAL (counted
 * as a parse error) when the line has not that shape; blank lines return 0 and do nothing. */
int asm_feed_line(struct asm_ctx *ctx, const char *line, size_t len, uint64_t now_ms);

/* Emit the events whose first record is timeout_ms or more older than now_ms. */
void asm_expire(struct asm_ctx *ctx, uint64_t now_ms);

/* Emit every open event, oldest first (shutdown, end of a replay). */
void asm_flush(struct asm_ctx *ctx);

/* Number of events currently open. */
size_t asm_pending(const struct asm_ctx *ctx);

void asm_get_stats(const struct asm_ctx *ctx, struct asm_stats *ret);

/* The first record of that type in ev, or NULL. Borrowed from ev. */
const struct audit_record *audit_event_record(const struct audit_event *ev, int type);

/* pid= of the SYSCALL record, else of the first record that has one; -1 when none. */
long audit_event_pid(const struct audit_event *ev);
/* The ppid of the event's SYSCALL record, or -1. */
long audit_event_ppid(const struct audit_event *ev);

/* execve's argv joined across EXECVE records and aN[i] fragments. */
struct audit_argv {
	size_t argc;      /* argc= of the first EXECVE record (what the process had) */
	size_t n;         /* entries in v[] (<= ASM_ARGV_MAX) */
	char **v;         /* v[i] NUL-terminated; a missing argument is "" */
	size_t *len;      /* len[i]: bytes of v[i] (a decoded argument may hold NULs) */
	bool truncated;   /* limits hit, or fragments/arguments missing */
};

/* Build argv from ev's EXECVE records. 0 and *ret filled (release with audit_argv_release),
 * -ENOENT when ev has no EXECVE record, -ENOMEM. */
int audit_event_argv(const struct audit_event *ev, struct audit_argv *ret);
void audit_argv_release(struct audit_argv *a);

#endif
