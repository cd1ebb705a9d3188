/* search_format.h — the filter's search index (issue 20): per session and filter run, the
 * distinct paths of the `files` output and every exec (key, exe, argv) of the `processes`
 * output, packed into a few binary parts (SCHEMA_SEARCH documents), so that
 * `lineage-query search --path-prefix/--path-glob/--exe/--argv` matches them in memory and
 * then reads only the hits by indexed equality, instead of streaming every output document
 * through a MongoDB-wire server that pays per document and per field (FerretDB: ~7k/s).
 * The output collections stay the queryable truth; this is an index of them.
 *
 * Encoding of one part (no NUL inside a string: they are C strings; numbers in decimal; ""
 * for a NULL string or an unknown time):
 *   paths:  path NUL, repeated
 *   procs:  one record per process, in the output's order, with what search prints:
 *           key tgid parent entry start_ms exit_ms container flags comm uids nexecs, each
 *           NUL-terminated (flags: "r" for a container runtime's helper, else ""; uids: the
 *           process's uid and euid values, decimal, comma-separated, "" none), then nexecs
 *           times: ts_ms exe argc argv[0] … argv[argc-1], each NUL-terminated
 * A part holds whole records and grows to SEARCH_PART_MAX bytes, except that a single
 * larger record gets a part of its own. The readers are pure: no allocation. */
#ifndef LINEAGE_SEARCH_FORMAT_H
#define LINEAGE_SEARCH_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define SEARCH_PART_MAX (4u << 20)

/* A growing part: append records, take the bytes when full. The caller owns buf (malloc'd,
 * free it) and calls search_part_reset after each write. */
struct search_part {
	uint8_t *buf;
	size_t len, cap;
};

#define SEARCH_NO_TIME INT64_MIN

/* One process of a procs part (the writer's input and the reader's output); strings may be
 * NULL when writing, and are never NULL ("" instead) when read. */
struct search_proc {
	const char *key, *parent, *entry, *container, *comm;
	const char *uids; /* "0,1000" */
	int64_t tgid, start_ms, exit_ms; /* SEARCH_NO_TIME: unknown */
	int runtime_helper;
	size_t nexecs;
	size_t execs_pos; /* reader: offset of the first exec in the part */
};

struct search_exec {
	int64_t ts_ms;
	const char *exe;
	const char *const *argv;
	size_t argc;
};

/* Append a record; 0, or -ENOMEM. Does not check the size: see search_part_full. */
int search_part_add_path(struct search_part *p, const char *path);
int search_part_add_proc(struct search_part *p, const struct search_proc *proc,
			 const struct search_exec *execs);
/* Would a record of n more bytes take the part over SEARCH_PART_MAX (and the part is not
 * empty)? Sizes: search_path_size, search_proc_size. */
int search_part_full(const struct search_part *p, size_t n);
size_t search_path_size(const char *path);
size_t search_proc_size(const struct search_proc *proc, const struct search_exec *execs);
void search_part_reset(struct search_part *p);
void search_part_free(struct search_part *p);

/* Readers over one part's bytes. *pos starts at 0. 1 and the record, 0 at the end,
 * -EBADMSG on bytes that are not this encoding (a damaged or foreign document). Returned
 * strings point into buf. search_next_proc checks and skips the process's execs; read them
 * with search_next_exec from *epos = proc->execs_pos, proc->nexecs times: argv receives at
 * most argv_max pointers and *argc the real count (the rest are skipped). */
int search_next_path(const uint8_t *buf, size_t len, size_t *pos, const char **path);
int search_next_proc(const uint8_t *buf, size_t len, size_t *pos, struct search_proc *proc);
int search_next_exec(const uint8_t *buf, size_t len, size_t *epos, int64_t *ts_ms,
		     const char **exe, const char **argv, size_t argv_max, size_t *argc);

#endif
