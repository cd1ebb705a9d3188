/* rootfs.h — the host path of each container's root: the runtime's chdir(<rootfs>) just
 * before pivot_root(".", ".") by the same process, confirmed by the inode of pivot_root's
 * PATH items ("chdir+pivot_root"); a chdir without an inode match is taken as a weaker
 * "chdir-before-pivot_root". Without a recorded pivot_root, docker's state at filter time
 * (docker_meta.h, read only when m->docker_root / m->runtime_roots are set): root.path of
 * the OCI bundle's config.json ("oci-config", while the container runs), else the overlay2
 * mount <docker_root>/overlay2/<mount-id>/merged ("overlay-mount", until it is removed);
 * else unknown (NULL, counted in m->n.containers_without_rootfs). Every member process gets
 * its container's rootfs. Also sets each container's name and image from its
 * config.v2.json when docker still has it. Call after tree_run(). Returns 0. */
#ifndef LINEAGE_FILTER_ROOTFS_H
#define LINEAGE_FILTER_ROOTFS_H

#include "model.h"

int rootfs_run(struct model *m);

/* The rootfs found from the events of process idx around its pivot_root event pivot_ev:
 * returns the host path (arena string) or NULL, and *ret_src the rule that found it. */
const char *rootfs_from_pivot(struct model *m, int idx, int pivot_ev, const char **ret_src);

#endif
