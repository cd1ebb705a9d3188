/* rootfs.h — the host path of each container's root: the runtime's chdir(<rootfs>) just
 * before pivot_root(".", ".") by the same process, confirmed by the inode of pivot_root's
 * PATH items ("chdir+pivot_root"); a chdir without an inode match is taken as a weaker
 * "chdir-before-pivot_root"; without a recorded pivot_root the rootfs stays unknown (NULL,
 * counted in m->n.containers_without_rootfs). Every member process gets its container's
 * rootfs. Call after tree_run(). Returns 0. */
#ifndef LINEAGE_FILTER_ROOTFS_H
#define LINEAGE_FILTER_ROOTFS_H

#include "model.h"

int rootfs_run(struct model *m);

/* The rootfs found from the events of process idx around its pivot_root event pivot_ev:
 * returns the host path (arena string) or NULL, and *ret_src the rule that found it. */
const char *rootfs_from_pivot(struct model *m, int idx, int pivot_ev, const char **ret_src);

#endif
