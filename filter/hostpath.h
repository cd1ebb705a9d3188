/* hostpath.h — host paths through a container's mounts (issue 28). The listener records each
 * container's mount table and overlay directories in its container_facts (schema.h); this
 * module reads them into the model (hostpath_facts_doc, called by the loader for each
 * container_facts document) and, after files_run(), resolves every file access of a
 * container process through the longest mount that holds its path:
 *   bind / volume: host_path = the mount's source joined with the rest (the real file);
 *   tmpfs / special (proc, sysfs, …): host_path NULL (the file has no host path);
 *   the root (an overlay): host_path stays the rootfs join (the merged path, while the
 *   container ran) and stored_path says where the file stays: the upper dir for a file the
 *   container wrote (or read after a recorded write), else the first lower dir (image layer,
 *   top first) that holds it at filter time, with its layer id; "upper" again for a file only
 *   the upper dir holds; "rootfs" when nothing tells (no overlay recorded, or the filter runs
 *   where the layers are not: layers are looked at only when m->docker_root is set).
 * Files of host processes, and a container's init before its pivot_root, are "host". */
#ifndef LINEAGE_FILTER_HOSTPATH_H
#define LINEAGE_FILTER_HOSTPATH_H

#include <bson/bson.h>

#include "model.h"

/* Fill f's mounts and overlay from a container_facts document (arena copies). Fields absent
 * or of the wrong type leave them empty. Returns 0. */
int hostpath_facts_doc(struct model *m, struct m_cfacts *f, const bson_t *doc);

/* o is the facts of the same id seen first: takes f's mount table when o has none. */
void hostpath_facts_merge(struct m_cfacts *o, const struct m_cfacts *f);

/* Resolve every file entry (see above). Call after files_run(). Returns 0. */
int hostpath_run(struct model *m);

/* Append mounts and overlay of c's facts to a containers document (empty / null without). */
void hostpath_emit_container(const struct m_cont *c, bson_t *d);

#endif
