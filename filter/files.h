/* files.h — file timelines: each successful open (open, openat, openat2, creat) paired with
 * the close of the same fd by the same process (tgid), in event order; writes (write,
 * pwrite64, writev, pwritev) attach to the open that owns the fd then; an open of an fd still
 * open ends the earlier entry ("fd-reused", inferred); a successful execve ends O_CLOEXEC
 * entries ("exec-cloexec", inferred); entries left open end at the process exit ("exit",
 * inferred) or stay open when it still runs ("running", no time). Failed opens are kept
 * with their error and never paired. Paths are made absolute against the event's cwd (or
 * the directory fd of an *at call when the filter saw that directory opened), cleaned, and
 * mapped to the host through the container rootfs (only after the init's pivot_root).
 *
 * Works on the model only; fills m->files. Call after rootfs_run(). Returns 0. */
#ifndef LINEAGE_FILTER_FILES_H
#define LINEAGE_FILTER_FILES_H

#include "model.h"

int files_run(struct model *m);

/* The flags of an open-like event as O_* names: the listener's decoded flags[] when present,
 * else decoded from the flags argument. Arena-owned array, *ret_n entries. */
const char **files_open_flags(struct model *m, const struct m_event *e, size_t *ret_n);

#endif
