/* options.h — lineage-listener's options: one table of them (options.c) serves the command
 * line (getopt_long), the config file and --help, so that every long option is a config key
 * by the same name (issue 18).
 *
 * Config file (OPTIONS_DEFAULT_CONFIG unless --config FILE; --no-config reads none): lines of
 * `key = value`, the key a long option's name without "--"; blank lines and lines whose first
 * non-blank character is '#' are ignored; a value may be put in double quotes. Options without
 * an argument take yes/no (true/false, on/off, 1/0). exclude-pid may be repeated. Command line
 * only: help, version, print-audit-config, config, no-config. The command line wins over the
 * file (a repeatable option given on the command line replaces the file's list). An unknown
 * key, a bad value, a key set twice or a malformed line is an error naming FILE:LINE. */
#ifndef LINEAGE_OPTIONS_H
#define LINEAGE_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "audit_source.h"
#include "scope.h"

#define OPTIONS_DEFAULT_CONFIG "/etc/lineage/lineage.conf"
#define OPTIONS_DEFAULT_SPOOL "/var/lib/lineage/spool"

struct options {
	const char *uri, *db, *spool_dir, *jsonl;
	bool multicast, audit_write, no_db, no_proc, verbose;
	bool no_proc_filter; /* issue 26: every proc connector type (no kernel mask) */
	bool no_chain; /* issue 21: no evidence chain (to measure its cost) */
	uint32_t backlog_limit, backlog_wait;
	int rcvbuf, proc_rcvbuf;
	unsigned stats_interval, asm_timeout_ms, stop_timeout_ms;
	size_t queue_max, queue_bytes, batch_max, cache_max;
	unsigned batch_age_ms;
	size_t segment_events; /* issue 33: documents per segment */
	unsigned segment_ms;   /* the longest a document waits in an open segment */
	unsigned priority_boost; /* nice lowered by this much (auditd's priority_boost) */
	pid_t exclude[AUDIT_SOURCE_MAX_EXCLUDE];
	size_t n_exclude;
	/* not options: filled by main.c's scan for a local PostgreSQL's postmaster (main's
	 * issue 15 work), kept here so that the merge finds its fields */
	pid_t exclude_children[AUDIT_SOURCE_MAX_EXCLUDE];
	size_t n_exclude_children;
	struct scope_config scope; /* issue 19: what to record (scope.h), set through T_SCOPE */
	const char *config;  /* the config file read, or NULL */
	char **owned;        /* strings read from the config file (options_release frees) */
	size_t n_owned;
};

/* What options_parse() found the caller should do. */
enum {
	OPTIONS_RUN = 0,         /* record with *o */
	OPTIONS_EXIT = 1,        /* --help or --version was printed: exit 0 */
	OPTIONS_PRINT_AUDIT = 3, /* --print-audit-config */
};

/* Fill *o from the defaults, then the config file, then argv (the command line wins).
 * Returns OPTIONS_RUN/EXIT/PRINT_AUDIT, or -EINVAL (usage error, bad config) / -errno (config
 * file unreadable) with a one-line reason in err[errlen] ("FILE:LINE: …" for the file).
 * Strings in *o point into argv or into o->owned: release with options_release(). Resets
 * getopt (optind) so it may be called more than once. */
int options_parse(int argc, char **argv, struct options *o, char *err, size_t errlen);

/* Apply one config file to *o (used by options_parse; public for tests). A missing file is
 * -ENOENT. Same error conventions. */
int options_load_file(const char *path, struct options *o, char *err, size_t errlen);

/* The --help text, generated from the table. */
void options_usage(FILE *f);

/* Free what the config file left in o->owned and the scope's strings. Accepts a zeroed
 * struct. */
void options_release(struct options *o);

#endif
