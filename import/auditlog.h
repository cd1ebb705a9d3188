/* auditlog.h — what lineage-import needs of an auditd log beyond the record itself: the
 * `node=NAME ` prefix (multi-host logs), the rotation generation of a file name
 * (audit.log.3.gz → 3) and the order files are read in (oldest generation first). The record
 * text after the prefix goes through the listener's own audit_line_split()/asm_feed_line()
 * (the replay seam), never through a parser of this module. Pure: no bson, no logging. */
#ifndef LINEAGE_AUDITLOG_H
#define LINEAGE_AUDITLOG_H

#include <stddef.h>

/* Longest node name kept; a longer `node=` value makes the line malformed. */
#define AUDITLOG_NODE_MAX 255

/* The node name of line[0..len): *ret_node points into line, *ret_len its length. 1 when the
 * line starts with `node=NAME ` (NAME non-empty, at most AUDITLOG_NODE_MAX bytes, no
 * control bytes), 0 when it has no node prefix, -EINVAL when the prefix is malformed. The
 * outputs are written only when 1 is returned. */
int auditlog_line_node(const char *line, size_t len, const char **ret_node, size_t *ret_len);

/* The rotation generation of a path: the number N of a trailing `.N` (before an optional
 * `.gz`), 0 when there is none (audit.log, audit.log.gz, -). *ret_base_len is the length of
 * the path without `.N` and `.gz`: files with the same base are generations of one log. */
unsigned auditlog_generation(const char *path, size_t *ret_base_len);

/* Reorder paths[0..n) in place for reading: the generations of one log oldest first
 * (highest N first, the live file last), logs of different bases in the order of their first
 * appearance on the command line. Stable; at most a few thousand paths. 0 or -ENOMEM. */
int auditlog_order(const char **paths, size_t n);

#endif
