/* logread.h — lines of one log file, plain or gzip-compressed (zlib reads either), or stdin
 * for "-". The buffer is the reader's: a line stays valid until the next logread_next().
 * Lines longer than LOGREAD_LINE_MAX are returned cut to that length with *ret_too_long set
 * (the rest of the line is skipped), so the caller can report them with their number. */
#ifndef LINEAGE_LOGREAD_H
#define LINEAGE_LOGREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOGREAD_LINE_MAX (1u << 20)

struct logread;

/* Open path ("-": standard input, not closed by logread_free). *ret is owned by the caller:
 * logread_free(). -errno of open(2), -ENOMEM. */
int logread_open(const char *path, struct logread **ret);

/* The next line (without its '\n'): 1 and ret_line, ret_len, ret_too_long set, 0 at end of
 * file (a last line without '\n' is returned first), -EIO on a read or gzip error (a
 * truncated .gz included; the lines before it were returned). */
int logread_next(struct logread *r, const char **ret_line, size_t *ret_len, bool *ret_too_long);

/* Line number of the line last returned (1-based). */
uint64_t logread_lineno(const struct logread *r);

/* Bytes read from the file so far (compressed bytes for a .gz), and its size (0 unknown:
 * stdin, a pipe). */
uint64_t logread_offset(const struct logread *r);
uint64_t logread_size(const struct logread *r);

/* True when the file was gzip-compressed (known after the first read). */
bool logread_compressed(const struct logread *r);

/* zlib's message for the last error, or "". */
const char *logread_error(const struct logread *r);

void logread_free(struct logread *r);

#endif
