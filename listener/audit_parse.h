/* audit_parse.h — one audit record's text (the NETLINK_AUDIT payload, `audit(SEC.MS:SERIAL): k=v
 * ...`) → typed fields, parsed by key, hex-encoded strings decoded. Pure: no bson, no logging.
 *
 * Value rule (the kernel's audit_log_untrustedstring): in the fields audit encodes (name, cwd,
 * comm, exe, proctitle, key, path, EXECVE aN and aN[i], ...) a double-quoted value is literal
 * and an unquoted one is upper-case hex, which is decoded; `(null)` and `?` are kept as kinds.
 * PROCTITLE's NUL separators become spaces. Everything else is kept as written. */
#ifndef LINEAGE_AUDIT_PARSE_H
#define LINEAGE_AUDIT_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Record types (linux/audit.h) the listener interprets; others are kept as raw text. */
#define AUDIT_T_SYSCALL 1300
#define AUDIT_T_PATH 1302
#define AUDIT_T_CWD 1307
#define AUDIT_T_EXECVE 1309
#define AUDIT_T_EOE 1320
#define AUDIT_T_PROCTITLE 1327

/* Limits: longer text or more fields make the record malformed (-E2BIG). */
#define AUDIT_RECORD_MAX_LEN 65536
#define AUDIT_RECORD_MAX_FIELDS 2048

enum audit_val_kind {
	AUDIT_VAL_BARE,    /* unquoted word or number, as written */
	AUDIT_VAL_QUOTED,  /* "..." : the text between the quotes */
	AUDIT_VAL_HEX,     /* unquoted hex in an encoded field: val is the decoded bytes */
	AUDIT_VAL_SQUOTED, /* '...' (msg= of USER records): the raw text between the quotes */
	AUDIT_VAL_NULL,    /* (null) : val is "" */
	AUDIT_VAL_UNSET,   /* ? : val is "" */
};

struct audit_field {
	const char *key;  /* NUL-terminated */
	const char *val;  /* NUL-terminated; may hold NUL bytes before val_len when decoded */
	size_t val_len;
	enum audit_val_kind kind;
};

/* A parsed record. All pointers point into memory owned by the record. */
struct audit_record {
	int type;
	uint64_t sec;      /* audit(SEC.ms:serial) */
	unsigned msec;
	uint64_t serial;
	const char *body;  /* the text after "): " (trailing blanks/NULs removed), NUL-terminated */
	size_t body_len;
	size_t nfields;
	struct audit_field *fields;
};

/* Parse one record of the given netlink type from text[0..len) (need not be NUL-terminated;
 * trailing NULs and newlines are ignored). On success *ret is a new record the caller frees
 * with audit_record_free(). Errors: -EINVAL (no `audit(` header, bad timestamp/serial),
 * -EBADMSG (unterminated quote, bad hex in an encoded field, embedded NUL, empty key), -E2BIG
 * (limits; words without '=', like AVC's "denied { read } for", are skipped),
 * -ENOMEM. *ret is written only on success. */
int audit_record_parse(int type, const char *text, size_t len, struct audit_record **ret);

/* Free a record from audit_record_parse(); NULL is fine. */
void audit_record_free(struct audit_record *r);

/* The first field named key, or NULL. Borrowed from r. */
const struct audit_field *audit_record_field(const struct audit_record *r, const char *key);

/* Field value as a string, or NULL when absent, (null) or ?. Borrowed from r. */
const char *audit_record_str(const struct audit_record *r, const char *key);

/* Numeric field (decimal, or hex when base is 16; a leading '-' is allowed in base 10) into
 * *ret. 0 on success, -ENOENT when absent/(null)/?, -EINVAL when not a number. */
int audit_record_i64(const struct audit_record *r, const char *key, int base, int64_t *ret);
int audit_record_u64(const struct audit_record *r, const char *key, int base, uint64_t *ret);

/* The record type's name ("SYSCALL", "PATH", ...), or "UNKNOWN[<type>]" written into buf
 * (size >= 24) and returned. */
const char *audit_type_name(int type, char *buf, size_t size);

/* The type number for a name as auditd writes it ("SYSCALL", "UNKNOWN[1334]") or a decimal
 * number; -1 when unknown. name[0..len) need not be NUL-terminated. */
int audit_type_from_name(const char *name, size_t len);

/* Split a replay line `type=<NAME|NUMBER> msg=<text>` (fixture or auditd log format; a
 * trailing newline and auditd's enriched part after 0x1d are dropped) into the type and the
 * netlink text. 0 on success, -EINVAL when the line has not that shape. */
int audit_line_split(const char *line, size_t len, int *ret_type, const char **ret_text,
		     size_t *ret_len);

#endif
