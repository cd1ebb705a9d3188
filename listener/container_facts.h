/* container_facts.h — what the host knows about a container when the listener first sees it
 * (issue 17): runtime, name, image (name and id), created time, Kubernetes pod name,
 * namespace and container name, and the rootfs host path. The lookup runs in a thread of its
 * own, once per container id, never in the audit or proc-connector thread: cf_announce only
 * queues the id. Each lookup ends in one `container_facts` document (schema.h), handed to
 * cfg.emit, so it goes through the same writer and spool as every listener document.
 *
 * Sources, in order, for the rootfs: the OCI bundle's config.json root.path (containerd's
 * moby/k8s.io/default namespaces, cri-o/podman's userdata), docker's overlay2 mount-id, the
 * overlay mounted on "/" in the member process's /proc/PID/mountinfo. Name/image/labels:
 * docker's containers/<id>/config.v2.json (common/docker_meta.h: size limits, no symlinks).
 * Mounts (issue 28): docker's MountPoints and file binds (config.v2.json, hostconfig.json),
 * then every other mount of the member's mountinfo, its host source found through the
 * listener's own mountinfo (common/mounts.h); the overlay's upper and lower dirs from
 * docker's overlay2 `lower` file, else from the mountinfo, each lower named by its layer. */
#ifndef LINEAGE_CONTAINER_FACTS_H
#define LINEAGE_CONTAINER_FACTS_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "container.h"
#include "doc_common.h"

/* issue 28: one mount of the container (see schema.h SCHEMA_F_MOUNTS) */
struct cf_mount {
	char *dest;          /* in the container, absolute */
	char *source;        /* host path, NULL none (tmpfs, proc, …) */
	const char *kind;    /* static: "bind", "volume", "tmpfs", "rootfs", "special" */
	char *fstype, *name, *propagation; /* NULL unknown; name: a volume's */
	bool ro;
	const char *origin;  /* static: "runtime-config", "mountinfo" */
};

/* one overlay lower directory (top first) and the image layer it is */
struct cf_layer {
	char *dir, *layer, *cache_id; /* layer "sha256:…" and cache_id NULL when unknown */
};

struct cf_facts {
	char id[CONTAINER_ID_LEN + 1];
	pid_t pid;             /* the process it was seen in */
	int64_t seen_ms;       /* wall clock when it was announced */
	const char *runtime;   /* static string or NULL */
	char *name, *image, *image_id, *created, *pod_name, *pod_namespace, *k8s_container;
	char *rootfs;
	const char *rootfs_source; /* static: "oci-config", "overlay-mount", "mountinfo" */
	/* issue 28: the mount table at first sight, longest destinations resolved by the filter */
	struct cf_mount *mounts;
	size_t nmounts;
	char *upper;               /* overlay upperdir, NULL unknown */
	struct cf_layer *lowers;
	size_t nlowers;
	const char *overlay_source; /* static: "overlay2-lower", "mountinfo", NULL */
};

struct cf_config {
	const char *docker_root;  /* NULL: /var/lib/docker */
	const char *proc_root;    /* NULL: /proc */
	const char *run_root;     /* NULL: "" (prefix of /run/containerd etc., for tests) */
	/* called from the facts thread with the facts of one container; f is valid only during
	 * the call */
	void (*emit)(void *opaque, const struct cf_facts *f);
	void *opaque;
};

struct cf_stats {
	uint64_t announced, looked_up, dropped; /* dropped: queue full */
};

struct cf;

/* New module and its thread. *ret is the caller's: cf_free() (stops the thread after the
 * queued lookups are done). 0 or -errno. */
int cf_new(const struct cf_config *cfg, struct cf **ret);
void cf_free(struct cf *c);

/* Queue a lookup of container id (seen in process pid). Never blocks on I/O; a full queue
 * drops (counted). Thread-safe. */
void cf_announce(struct cf *c, const char id[CONTAINER_ID_LEN + 1], pid_t pid);

/* Do the lookup now, in the caller's thread (the facts thread and tests). f is filled; the
 * caller releases it with cf_facts_release. */
void cf_lookup(const struct cf_config *cfg, const char *id, pid_t pid, struct cf_facts *f);
void cf_facts_release(struct cf_facts *f);

/* The container_facts document of f with the listener's meta m; *ret is initialised here and
 * owned by the caller. 0 or -ENOMEM. */
int cf_doc(const struct cf_facts *f, const struct doc_meta *m, bson_t *ret);

void cf_get_stats(struct cf *c, struct cf_stats *ret);

#endif
