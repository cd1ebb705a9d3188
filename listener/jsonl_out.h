/* jsonl_out.h — optional JSON-lines copy of every document (relaxed extended JSON, one per
 * line), thread-safe, reopened on SIGHUP for logrotate. */
#ifndef LINEAGE_JSONL_OUT_H
#define LINEAGE_JSONL_OUT_H

#include <bson/bson.h>

struct jsonl_out;

/* Open path for appending ("-" = stdout). *ret is the caller's: jsonl_out_free(). */
int jsonl_out_open(const char *path, struct jsonl_out **ret);
/* Write doc (not taken) as one line; adds "collection". */
int jsonl_out_write(struct jsonl_out *o, const char *collection, const bson_t *doc);
/* Close and open the path again (after logrotate moved it). */
int jsonl_out_reopen(struct jsonl_out *o);
void jsonl_out_free(struct jsonl_out *o);

#endif
