/* format.h — how lineage-query renders values: times (local or UTC, milliseconds),
 * durations, argv as a shell would quote it, fitting a line to a width, escaping for
 * Graphviz. Pure string functions: they write into the caller's buffer and always
 * NUL-terminate it (truncating, never overflowing). */
#ifndef LINEAGE_QUERY_FORMAT_H
#define LINEAGE_QUERY_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "No such time" (a null date in a document). */
#define FMT_NO_TIME INT64_MIN

/* ms since the epoch → "2026-11-23 13:12:36.797" (with_date) or "13:12:36.797", in local
 * time, or in UTC with a trailing "Z" when utc. FMT_NO_TIME → "-". Returns buf. */
char *fmt_time(int64_t ms, bool utc, bool with_date, char *buf, size_t len);

/* Milliseconds → "0ms", "950ms", "3.166s", "2m05s", "1h02m"; negative or FMT_NO_TIME → "-". */
char *fmt_duration(int64_t ms, char *buf, size_t len);

/* argv → one line, each argument quoted like a shell would need ('a b', 'it'\''s'),
 * control characters written as \n, \t, \xNN. n == 0 → "". Returns buf. */
char *fmt_argv(const char *const *argv, size_t n, char *buf, size_t len);

/* Cut s in place to at most width display columns (UTF-8 code points), ending with "…"
 * when it was cut ("~" when the cut leaves fewer than the 3 bytes "…" needs). width 0
 * leaves s alone. */
void fmt_fit(char *s, size_t width);

/* Escape s for a double-quoted Graphviz string (", \, newlines). Returns buf. */
char *fmt_dot_escape(const char *s, char *buf, size_t len);

/* The 12-character short form of a container id (or the whole id if shorter). */
char *fmt_short_id(const char *id, char *buf, size_t len);

#endif
