/* proc_doc.h — BSON documents of the `proc_events` and `snapshot` collections (DESIGN.md):
 * one per decoded proc connector event, one per process alive at start.
 *
 * Times: cn_proc's timestamp_ns is CLOCK_MONOTONIC; /proc start times are clock ticks since
 * boot on CLOCK_BOOTTIME. struct proc_doc_clock holds both offsets to wall-clock time, taken
 * once at start (proc_doc_clock_init) so every document of a session uses the same ones. */
#ifndef LINEAGE_PROC_DOC_H
#define LINEAGE_PROC_DOC_H

#include <bson/bson.h>
#include <stdint.h>

#include "cn_proc.h"
#include "doc_common.h"
#include "procfs.h"

struct proc_doc_clock {
	int64_t mono_wall_ns; /* CLOCK_REALTIME - CLOCK_MONOTONIC */
	int64_t boot_wall_ns; /* CLOCK_REALTIME - CLOCK_BOOTTIME: the wall time of boot */
	long clk_tck;         /* sysconf(_SC_CLK_TCK) */
};

/* Sample the clocks now. 0 or -errno. */
int proc_doc_clock_init(struct proc_doc_clock *ret);

/* Wall-clock ms since the epoch of a cn_proc timestamp / of a /proc start time in ticks. */
int64_t proc_doc_event_wall_ms(const struct proc_doc_clock *clk, uint64_t timestamp_ns);
int64_t proc_doc_start_wall_ms(const struct proc_doc_clock *clk, uint64_t start_ticks);

/* Build the proc_events document of ev: doc_meta_append(m), ts, ts_ns, cpu, cn_seq, what and
 * the fields of its type. For exec, info is what /proc showed (NULL or info->gone: the doc
 * says gone: true; "container" is null for a host process). Other types carry "container"
 * only when m->container is set. *ret is always initialised by this call, even on failure,
 * and the caller always bson_destroy()s it. Returns 0, or -EINVAL for CN_PROC_NONE. */
int proc_doc_event(const struct cn_proc_event *ev, const struct procfs_proc *info,
		   const struct doc_meta *m, const struct proc_doc_clock *clk, bson_t *ret);

/* Build the snapshot document of p (not gone): meta, pid, tgid, ppid, threads, start_ticks,
 * start (date), exe, argv, cwd, root, uid, container, mnt_ns, pid_ns, comm. Missing strings
 * are null. *ret as for proc_doc_event(). Returns 0. */
int proc_doc_snapshot(const struct procfs_proc *p, const struct doc_meta *m,
		      const struct proc_doc_clock *clk, bson_t *ret);

#endif
