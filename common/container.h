/* container.h — the container id of a process, from its /proc/PID/cgroup text.
 *
 * Pure parser: no allocation, no I/O, no logging. Recognised path forms (innermost wins):
 *   cgroup v1 cgroupfs driver   9:name=systemd:/docker/<64 hex>
 *   systemd driver (v1 or v2)   0::/system.slice/docker-<64 hex>.scope
 *   containerd / CRI            .../cri-containerd-<64 hex>.scope
 *   cri-o                       .../crio-<64 hex>.scope   (crio-conmon-* is the monitor: no)
 *   podman                      .../libpod-<64 hex>.scope (libpod-conmon-* is the monitor: no)
 *   kubepods cgroupfs driver    /kubepods/burstable/pod<uid>/<64 hex>
 * Any path component that is exactly 64 lowercase hex digits counts as an id. */
#ifndef LINEAGE_CONTAINER_H
#define LINEAGE_CONTAINER_H

#include <stddef.h>

#define CONTAINER_ID_LEN 64

/* One line "hierarchy:controllers:path" (a trailing newline is allowed), len bytes, not
 * necessarily NUL-terminated. Returns 0 and writes the 64-char id plus NUL into
 * ret[CONTAINER_ID_LEN + 1]; -ENOENT when the line names no container (host process);
 * -EINVAL when the line is not of that form. ret is untouched on failure. */
int container_id_from_line(const char *line, size_t len, char ret[CONTAINER_ID_LEN + 1]);

/* A whole /proc/PID/cgroup file (len bytes). The first line with an id wins (every line of a
 * containerised process names the same container). Returns 0, or -ENOENT when no line has
 * one. Malformed lines are skipped. */
int container_id_from_cgroup(const char *text, size_t len, char ret[CONTAINER_ID_LEN + 1]);

#endif
