/* tree.h — containers and trees on the merged model: container ids (own: cgroup at exec,
 * snapshot, audit; else inherited from the fork parent; else the container id argument of
 * the runtime that forked it), runtime helpers (runc's init stages) kept out of the trees,
 * each container's init (the member that called pivot_root, else its earliest entry) and its
 * exec'd entries (docker exec: parent outside the container), BFS trees from init and from
 * each exec'd entry with depth and children; host processes get their depth in the host tree.
 *
 * Works on the model only. Fills m->conts, p->cont, p->depth, p->entry, p->runtime,
 * p->pivot_event. Call after merge_run(). Returns 0. */
#ifndef LINEAGE_FILTER_TREE_H
#define LINEAGE_FILTER_TREE_H

#include "model.h"

int tree_run(struct model *m);

/* The container id a runtime command line names (runc/crun ... create|run|exec ... <64 hex>),
 * or NULL. The result points into argv. */
const char *tree_runtime_container_arg(const char **argv, size_t argc);

#endif
