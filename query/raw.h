/* raw.h — reading the listener's raw documents (events, proc_events) for the subcommands
 * that need no filter run: `events` and `--follow`. One-line renderings and the predicates
 * shared by both. Pure functions over a bson document: they write into the caller's buffer
 * and always NUL-terminate it. */
#ifndef LINEAGE_QUERY_RAW_H
#define LINEAGE_QUERY_RAW_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>

/* "openat ok 3" / "execve -ENOENT" / "exit_group": syscall, result (exit as errno name when
 * negative). */
char *raw_result(const bson_t *ev, char *buf, size_t len);

/* What the event touched or ran: the argv of an execve, else its paths (name, or the
 * absolute form when the listener resolved one; PARENT entries left out), "a -> b" for a
 * rename. "" when none. */
char *raw_detail(const bson_t *ev, char *buf, size_t len);

/* Whether a path of ev (name or abs) equals path. */
bool raw_has_path(const bson_t *ev, const char *path);

/* "host" for a null/absent container, else the 12-character short id. */
char *raw_container_label(const char *id, char *buf, size_t len);

/* Whether a container field id matches what the user gave: "host" for none, else a prefix
 * of the id (a full id is a prefix of itself). NULL want matches everything. */
bool raw_container_match(const char *id, const char *want);

struct qargs;

/* Whether path passes search's --path (exact), --path-prefix (whole components) and
 * --path-glob (fnmatch, '*' crosses '/'), those that are given. */
bool raw_path_wanted(const char *path, const struct qargs *a);

/* Whether some path of ev (name or abs; PARENT entries left out) passes raw_path_wanted. */
bool raw_paths_match(const bson_t *ev, const struct qargs *a);

#endif
