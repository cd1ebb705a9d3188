/* subtree.h — the views tree, timeline, files and diff show (issue 29): the host or one
 * container, narrowed to the subtrees of the processes --process, --pid or --command name,
 * at most --depth levels below each root. A subtree follows children across exec and into
 * containers started below it: through the runtime's processes when they are children, and
 * from a container CLI (`docker run`, `docker exec`, `podman run`, …) to the container entry
 * it started through a daemon (matched by image, name or id and by time: see subtree.c).
 *
 * A struct qsub owns copies of the process documents it read; every const char * of a
 * qsub_proc points into its doc. qsub_release frees everything (a zeroed struct is fine). */
#ifndef LINEAGE_QUERY_SUBTREE_H
#define LINEAGE_QUERY_SUBTREE_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct qctx;

struct qsub_cont {
	char *id, *name, *image; /* owned */
	int64_t processes;
};

struct qsub_proc {
	bson_t *doc;
	const char *key, *parent, *container, *entry; /* container NULL: the host */
	int64_t tgid, start, exit;	/* exit FMT_NO_TIME while running */
	bool helper;			/* runtime_helper: the runtime's own stage (runc init) */
	int parent_idx;			/* -1: no recorded parent among those read */
	int via;			/* a container entry: the CLI process that started it, -1 */
	int cont;			/* index into conts, -1 on the host */
	int depth;			/* in the view: levels below its root; -1 not in it */
};

struct qsub {
	struct qsub_proc *p;
	size_t n;
	/* children of p[i]: kids[first[i] .. first[i + 1]), real ones then the container entries
	 * a CLI started (via == i), each group by start time */
	size_t *first, *kids;
	size_t *by_key;			/* indices sorted by key */
	struct qsub_cont *conts;
	size_t nconts;
	const char *view;		/* the container id of the view (NULL: host); borrowed */
	bool selector;			/* --process, --pid or --command narrowed it */
	size_t *roots;			/* the view's roots, in start order */
	size_t nroots;
	size_t nin;			/* processes in the view (depth >= 0) */
};

/* Read the processes of view (a full container id, or NULL for the host: then every
 * process of the session, containers included) and the session's containers, link them,
 * and pick the view's processes from ctx->args (--process, --pid, --command, --depth).
 * 0, or negative with ctx->err/status set: QEXIT_NOT_FOUND when the selector names no
 * process or --pid several (listed, with their start times). */
int qsub_load(struct qctx *ctx, const char *view, struct qsub *ret);
void qsub_release(struct qsub *s);

/* The process of key, or NULL. */
const struct qsub_proc *qsub_find(const struct qsub *s, const char *key);
/* Is the process of key in the view? */
bool qsub_in(const struct qsub *s, const char *key);
/* Is pid at ts (ms) a process of the view (for raw events, which carry no key)? */
bool qsub_pid_in(const struct qsub *s, int64_t pid, int64_t ts);

/* The pages a view's files are in: NULL (the host's) and/or container ids, for reads of
 * {container: …}. Fills at most max entries (pointers into s); returns how many. */
size_t qsub_file_scopes(const struct qsub *s, const char **out, size_t max);

/* Does "host" name the host (tree host, files host, …)? */
bool qsub_is_host(const char *arg);

/* The collapsed leaf of a container entry: "[container 645a4b835ac8 name] N processes". */
void qsub_cont_label(const struct qsub *s, int cont, char *buf, size_t len);

/* The runtime processes between a container entry and the host: "containerd-shim-runc-v2
 * 10266 → runc 10276" (the nearest host ancestors of idx, host side first). */
void qsub_runtime_path(const struct qsub *s, size_t idx, char *buf, size_t len);

#endif
