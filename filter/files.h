/* files.h — file timelines: each successful open (open, openat, openat2, creat) paired with
 * the end of its last fd in the same process (tgid), in event order. The fds of a process
 * are followed as aliases (issue 17): dup, dup2, dup3 and fcntl F_DUPFD/F_DUPFD_CLOEXEC make
 * another fd for the same entry; writes (the write family: write, pwrite64, writev, pwritev*,
 * sendfile*, copy_file_range, splice) through any of them count in it; the entry ends when
 * its last fd is closed (close), replaced (dup2/dup3 onto it: "dup-replaced"), closed by
 * close_range, or, for fds with FD_CLOEXEC (per fd: O_CLOEXEC, dup3, F_DUPFD_CLOEXEC, F_SETFD,
 * close_range CLOSE_RANGE_CLOEXEC), by a successful execve ("exec-cloexec", inferred). An open
 * or dup returning an fd still believed open ends what it had ("fd-reused", inferred).
 * A fork child starts with the table of the process whose audited clone returned it (its
 * caller), as it was at that clone; a write through an inherited fd gives the child an entry
 * of its own (inherited, open = the fork). Entries left open end at the process exit ("exit",
 * inferred) or stay open when it still runs ("running", no time). Failed opens are kept with
 * their error and never paired. Paths are made absolute against the event's cwd (or the
 * directory fd of an *at call when the filter saw that directory opened), cleaned, and mapped
 * to the host through the container rootfs (only after the init's pivot_root), then through
 * the container's recorded mounts (hostpath.h: bind and volume sources, tmpfs, overlay layers).
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
