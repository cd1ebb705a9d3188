/* mounts.h — a container's mount table (issue 28): the lines of a /proc/PID/mountinfo text,
 * the host path a mount of a member process comes from (its device and root looked up in the
 * host's own mountinfo), the overlay root's upper and lower directories, and the longest
 * mount that holds a path. Pure: text in, structs out; no files, no logging (the listener
 * reads the files, the filter resolves recorded tables; tests/fuzz/fuzz_mounts.c fuzzes the
 * parser).
 *
 * Nothing parsed is trusted: at most MOUNTS_MAX lines are kept, each field at most
 * MOUNTS_MAX_STR bytes; the kernel's octal escapes (\040 \011 \012 \134) are decoded, any other
 * backslash or an escaped NUL refuses the line; paths must be absolute. A refused line is
 * skipped (counted in *ret_refused), never a reason to drop the rest.
 *
 * Functions return 0 or a negative errno (-ENOMEM; -ENOENT nothing found). Outputs are written
 * only on success; every string in them is owned by the struct, freed by its _release. */
#ifndef LINEAGE_MOUNTS_H
#define LINEAGE_MOUNTS_H

#include <stdbool.h>
#include <stddef.h>

#define MOUNTS_MAX 1024      /* mountinfo lines kept per table */
#define MOUNTS_MAX_STR 4096  /* one field */
#define MOUNTS_MAX_LOWERS 128 /* overlay lower directories */

/* One mountinfo line: id parent maj:min root mountpoint options [optional…] - fstype source
 * superoptions */
struct mounts_line {
	unsigned id, parent, major, minor;
	char *root;       /* the path inside its filesystem that is mounted */
	char *point;      /* where, in the reader's mount namespace */
	char *fstype;
	char *source;     /* the device or "overlay", "tmpfs", …; may be "none" */
	char *super;      /* superblock options (overlay: lowerdir=…,upperdir=…) */
	bool ro;          /* per-mount "ro" */
	char propagation[24]; /* "shared", "slave", "private" (from the optional fields) */
};

struct mounts_info {
	struct mounts_line *v;
	size_t n;
};

/* Parse len bytes of mountinfo text. *ret is the caller's: mounts_info_release. *ret_refused
 * (may be NULL) gets the number of lines skipped as malformed. 0 or -ENOMEM. */
int mounts_info_parse(const char *text, size_t len, struct mounts_info *ret, size_t *ret_refused);
void mounts_info_release(struct mounts_info *mi);

/* The host path of what line l of a container's mountinfo mounts, through the host's
 * mountinfo: the host mount of the same device whose root is the longest prefix of l->root,
 * its mount point joined with the rest. 0 and *ret_path (caller frees), -ENOENT when the host
 * does not mount that device (a tmpfs of the container, proc, …), -ENOMEM. */
int mounts_host_source(const struct mounts_info *host, const struct mounts_line *l,
		       char **ret_path);

/* The overlay on "/" of a container's mountinfo: upperdir and the lowerdir list (top first),
 * each absolute and clean. A relative lowerdir (docker uses "l/ID" when the option string is
 * long) is made absolute against base (NULL: refused). *ret_upper may be set to NULL (a
 * read-only overlay); the caller frees it and each of *ret_lowers and the array itself.
 * 0, -ENOENT "/" is no overlay, -ENOMEM. */
int mounts_overlay_dirs(const struct mounts_info *mi, const char *base, char **ret_upper,
			char ***ret_lowers, size_t *ret_nlowers);

/* The lowerdir=/upperdir= value of an overlay's superblock options, split at ':' (lowerdir)
 * and unescaped: used by mounts_overlay_dirs and for docker's overlay2 `lower` file
 * ("l/A:l/B"). Each part joined to base when relative. 0, -EINVAL a part refused, -ENOMEM. */
int mounts_split_dirs(const char *value, size_t len, const char *base, char ***ret_dirs,
		      size_t *ret_n);

/* Index of the entry of dests (n absolute container paths) that holds path by whole
 * components, the longest; "/" holds everything. -1 none. *ret_rest gets the part of path
 * below it ("" for the mount point itself, else starting with '/'). */
int mounts_longest(const char *const *dests, size_t n, const char *path, const char **ret_rest);

#endif
