/* docker_meta.h — what docker's and containerd's on-disk state says about one container: the
 * rootfs from the OCI bundle's config.json, from the overlay2 mount-id or from the overlay
 * mount in a member process's mountinfo; name, image, image id, created time and the
 * Kubernetes labels from config.v2.json. Read by the listener when it first sees a container
 * (container_facts.c) and by the filter as its fallback. Pure file reading below a root
 * directory given by the caller (tests point it at tests/fixtures/docker); no logging, no
 * daemon API.
 *
 * Nothing read here is trusted: the container id must be 64 lower-case hex, files must be
 * regular (the last component is not followed if it is a symlink) and at most
 * DOCKER_META_MAX_JSON bytes, JSON is parsed with libbson's bson_new_from_json, strings with
 * an embedded NUL or longer than DOCKER_META_MAX_STR are refused, a mount-id is
 * [A-Za-z0-9_-]{1,128} and nothing else (no newline, no '/', no ".."), and a relative
 * root.path may not climb out of its bundle.
 *
 * Every function returns 0 on success or a negative errno: -EINVAL bad id or refused content,
 * -ENOENT file or field absent, -EFBIG file too large, others from open/read. Outputs are
 * new strings the caller frees, written only on success. */
#ifndef LINEAGE_DOCKER_META_H
#define LINEAGE_DOCKER_META_H

#include <stdbool.h>
#include <stddef.h>

#define DOCKER_META_MAX_JSON (4u << 20) /* config.v2.json / config.json size limit */
#define DOCKER_META_MAX_STR 4096        /* name, image, root.path length limit */

#define DOCKER_META_DOCKER_ROOT "/var/lib/docker"
/* containerd's state dir: upstream containerd, then the one dockerd starts itself (Debian's
 * docker.io 20.10 runs its own containerd with state in /run/docker/containerd/daemon) */
#define DOCKER_META_RUNTIME_ROOT "/run/containerd"
#define DOCKER_META_RUNTIME_ROOT_DOCKERD "/run/docker/containerd/daemon"

/* root.path of <runtime_root>/io.containerd.runtime.v2.task/moby/<id>/config.json, made
 * absolute against that bundle directory and cleaned. The bundle exists only while the
 * container runs. */
int docker_meta_oci_rootfs(const char *runtime_root, const char *id, char **ret_path);

/* root.path of <bundle>/config.json (an OCI bundle directory, absolute), made absolute
 * against the bundle and cleaned; a relative one must stay below the bundle. */
int docker_meta_bundle_rootfs(const char *bundle, char **ret_path);

/* <docker_root>/overlay2/<mount-id>/merged, with mount-id read from
 * <docker_root>/image/overlay2/layerdb/mounts/<id>/mount-id (present until the container
 * is removed). */
int docker_meta_overlay_rootfs(const char *docker_root, const char *id, char **ret_path);

/* Name (without its leading '/') and Config.Image of <docker_root>/containers/<id>/
 * config.v2.json. Either output may be set to NULL when its field is absent or refused;
 * -ENOENT when neither is there. */
int docker_meta_name_image(const char *docker_root, const char *id, char **ret_name,
			   char **ret_image);

/* Everything config.v2.json says that lineage records. Each string is NULL when absent or
 * refused. Kubernetes' labels come from Config.Labels (io.kubernetes.pod.name, …). */
struct docker_meta_config {
	char *name, *image, *image_id, *created;
	char *pod_name, *pod_namespace, *k8s_container;
};

/* Read <docker_root>/containers/<id>/config.v2.json into *ret (zeroed first; release with
 * docker_meta_config_release, also after a failure). 0, or -ENOENT when the file is absent or
 * holds none of the fields, -EINVAL refused, -ENOMEM. */
int docker_meta_config_read(const char *docker_root, const char *id,
			    struct docker_meta_config *ret);
void docker_meta_config_release(struct docker_meta_config *c);

/* The host path of a container's root from the text (len bytes) of a member process's
 * /proc/PID/mountinfo: the overlay mounted on "/" in its namespace, whose upperdir=<X>/diff
 * names the layer directory <X>; the rootfs is <X>/merged. 0 and *ret_path (caller frees),
 * -ENOENT when "/" is not such an overlay, -EINVAL for a path refused (not absolute, escapes,
 * escaped characters other than the kernel's octal ones). */
int docker_meta_mountinfo_rootfs(const char *text, size_t len, char **ret_path);

/* --- issue 28: mount points and the overlay's directories ---------------------------------- */
#define DOCKER_META_MAX_MOUNTS 256
#define DOCKER_META_MAX_LAYERDB 8192 /* layerdb entries examined to name one layer */

/* One mount docker made for a container: MountPoints of config.v2.json (bind, volume, tmpfs,
 * with Source, Name, Propagation, RW), docker's own file binds (HostsPath, ResolvConfPath,
 * HostnamePath: type "bind", dest /etc/hosts, …) and hostconfig.json's Tmpfs. Strings are
 * NULL when absent; dest is absolute. */
struct docker_meta_mount {
	char *dest, *source, *type, *name, *propagation;
	bool ro;
};

/* The mounts of a config.v2.json text (len bytes) and, when hostconfig is not NULL, of a
 * hostconfig.json text (its Tmpfs map); pure, for the fuzz target. *ret (array, caller frees
 * with docker_meta_mounts_free) and *ret_n. Entries refused (not absolute, too long, NUL) are
 * skipped. 0, -EINVAL a text is no JSON, -ENOMEM. */
int docker_meta_mounts_parse(const char *config, size_t len, const char *hostconfig,
			     size_t hlen, struct docker_meta_mount **ret, size_t *ret_n);
/* The same from <docker_root>/containers/<id>/{config.v2.json,hostconfig.json} (hostconfig
 * may be absent). -ENOENT no config.v2.json. */
int docker_meta_mounts_read(const char *docker_root, const char *id,
			    struct docker_meta_mount **ret, size_t *ret_n);
void docker_meta_mounts_free(struct docker_meta_mount *v, size_t n);

/* The overlay2 directories of container id: upper <docker_root>/overlay2/<mount-id>/diff and
 * the lower dirs of <docker_root>/overlay2/<mount-id>/lower ("l/A:l/B", top first), each
 * "l/X" link resolved to the layer's diff dir it names (readlink; a target that is not
 * "../<cache-id>/diff" is refused). Present until the container is removed. *ret_lowers:
 * array of strings, caller frees each and the array. 0, -ENOENT, -EINVAL, -ENOMEM. */
int docker_meta_overlay_dirs(const char *docker_root, const char *id, char **ret_upper,
			     char ***ret_lowers, size_t *ret_nlowers);

/* The layer a lower dir <docker_root>/overlay2/<cache-id>/diff holds: the `diff` file
 * (sha256:…, the image's RootFS layer id) of the layerdb entry whose cache-id is cache-id.
 * *ret_cache_id gets cache-id (may be NULL). 0, -ENOENT not an image layer (docker's
 * "<id>-init" layer, another layout), -ENOMEM. */
int docker_meta_layer_of(const char *docker_root, const char *lower, char **ret_layer,
			 char **ret_cache_id);

#endif
