/* event_doc.h — an assembled audit event → the `events` document (DESIGN.md, libbson only).
 * Fields: the doc_meta head (_id, session, seq), serial, ts, syscall, arch, success, exit,
 * pid, ppid, uid, euid, gid, auid, ses, tty, comm, exe, cwd, key, a0..a3, fd, flags, paths[]
 * {name, nametype, inode, dev, mode, abs}, argc, argv[], proctitle, types[], raw[] {type, text}
 * for records not interpreted, then container. Absent source fields are absent keys.
 *
 * Nothing constant per session is repeated per event (the store pays per field): arch, tty
 * and key are left out when they equal the session's defaults below (the sessions document
 * holds them as `defaults`), paths[].abs when it equals name, and an execve's proctitle when
 * it is what its argv says. */
#ifndef LINEAGE_EVENT_DOC_H
#define LINEAGE_EVENT_DOC_H

#include <bson/bson.h>
#include <stddef.h>

#include "assemble.h"
#include "doc_common.h"

#if defined(__x86_64__)
#define EVENT_DOC_DEFAULT_ARCH "x86_64"
#elif defined(__aarch64__)
#define EVENT_DOC_DEFAULT_ARCH "aarch64"
#else
#define EVENT_DOC_DEFAULT_ARCH "" /* never equal: always stored */
#endif
#define EVENT_DOC_DEFAULT_TTY "(none)"
#define EVENT_DOC_DEFAULT_KEY "lineage"

/* Limits on what one document keeps of records the listener does not interpret. */
#define EVENT_DOC_RAW_MAX 32          /* raw[] entries */
#define EVENT_DOC_RAW_MAX_LEN 4096    /* bytes of each raw text */

/* Append ev's fields to ret, which the caller has initialised and owns (and destroys, also
 * on failure). m is borrowed. 0, or -EMSGSIZE when the document outgrew BSON's limit,
 * -ENOMEM. Strings that are not valid UTF-8 are stored with '?' for the offending bytes. */
int event_doc_build(const struct audit_event *ev, const struct doc_meta *m, bson_t *ret);

/* name resolved against cwd and cleaned textually (".", "..", "//"; ".." stops at "/") into
 * buf. name absolute: cwd is not used (may be NULL). 0, -EINVAL (relative name without an
 * absolute cwd), -ENAMETOOLONG (does not fit size). */
int event_doc_path_abs(const char *cwd, const char *name, char *buf, size_t size);

#endif
