/* merge.h — steps 2-4 of the filter on the model: one process record per thread-group
 * lifetime (key "tgid@start", so PID reuse never merges two processes) built from the
 * snapshot and the proc connector, threads grouped under it, audit events attached to the
 * lifetime that was alive at their time (audit pid = tgid), execs merged from both views,
 * the real parent from the fork (snapshot / audit clone / audit ppid as fallbacks), the
 * parent at exit kept when it differs (reparented), and exit times (proc connector, else
 * exit_group; none when still running).
 *
 * Works on the model only (no bson, no store). Fills m->procs and each event's proc index.
 * Call once after load_finish(). Returns 0 (cannot fail except by aborting on ENOMEM). */
#ifndef LINEAGE_FILTER_MERGE_H
#define LINEAGE_FILTER_MERGE_H

#include "model.h"

/* Audit timestamps have millisecond resolution: an audit event belongs to a lifetime that
 * started at most this much after it. */
#define MERGE_SLACK_NS (5 * 1000000LL)

/* An audited execve and the proc connector's exec event of the same exec lie at most this far
 * apart (audit: syscall entry, ms; proc connector: end of exec, calibrated clock). */
#define MERGE_EXEC_WINDOW_NS (50 * 1000000LL)

int merge_run(struct model *m);

/* The index of the lifetime of tgid alive at wall time ts (-1 none). Valid after merge_run. */
int merge_find_lifetime(const struct model *m, int tgid, int64_t ts);

/* issue 30: for an audit-only session (m->audit_only), what its records lack for the
 * rebuild, as up to max static sentences into v; returns how many. */
size_t merge_audit_only_lacks(const struct model *m, const char **v, size_t max);

#endif
