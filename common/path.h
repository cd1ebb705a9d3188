/* path.h — pure, textual path arithmetic for the filter: clean (`/a/./b/../c` → `/a/c`),
 * join a name with the directory it is relative to (cwd or a directory fd's path), and map a
 * path as a container saw it to the host path below the container's rootfs.
 *
 * Nothing here touches the file system (no realpath, no symlinks): the file may be gone and
 * the paths come from another mount namespace. No logging, no bson.
 * Every function returns 0 on success or a negative errno; on success *ret is a new string
 * owned by the caller (free()); on failure *ret is left untouched. */
#ifndef LINEAGE_PATH_H
#define LINEAGE_PATH_H

#define PATH_MAX_LEN 8192 /* longer inputs are refused with -ENAMETOOLONG */

/* Clean path textually: collapse "//", drop ".", let ".." remove the previous component
 * (never above "/" for an absolute path; kept at the front of a relative one), drop a
 * trailing "/". "" and "." give ".". -EINVAL for NULL. */
int path_clean(const char *path, char **ret);

/* name resolved against dir: name itself when absolute, else dir + "/" + name; cleaned.
 * dir may be NULL or "" (then the result is name cleaned, possibly relative). */
int path_join(const char *dir, const char *name, char **ret);

/* The host path of path (as seen inside a root) below root, e.g. ("/var/lib/x/merged",
 * "/etc/../tmp/a") → "/var/lib/x/merged/tmp/a". ".." never climbs out of root. A relative
 * path is taken relative to the root's "/". -EINVAL when root is not absolute. */
int path_in_root(const char *root, const char *path, char **ret);

/* 1 when path is absolute, else 0 (NULL: 0). */
int path_is_absolute(const char *path);

#endif
