/* cgroup2.c — cgroup v2 id of a process by pidfd, path of a v2 cgroup by id (see cgroup2.h).
 * Owns the directory fd of the cgroup2 mount. Debian 12's headers predate PIDFD_GET_INFO and
 * the kernfs file handle type, so their kernel ABI (stable) is written down here. */
#include "cgroup2.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/* include/uapi/linux/pidfd.h, first version (Linux 6.13, 64 bytes); later kernels accept it */
struct cg2_pidfd_info {
	uint64_t mask;
	uint64_t cgroupid;
	uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
	uint32_t spare0;
};
#define CG2_PIDFD_INFO_CGROUPID 0x4ull
#define CG2_PIDFD_GET_INFO _IOWR(0xFF, 11, struct cg2_pidfd_info)
/* include/linux/exportfs.h: a kernfs node's handle is its 64-bit id */
#define CG2_FILEID_KERNFS 0xfe

struct cgroup2 {
	int mount_fd;
	char mount[64]; /* where the cgroup2 tree is mounted, no trailing slash */
};

static const char *const mounts[] = { "/sys/fs/cgroup/unified", "/sys/fs/cgroup" };

int cgroup2_pid_id(const struct cgroup2 *c, pid_t pid, uint64_t *ret)
{
	struct cg2_pidfd_info info;
	int fd, r = 0;

	(void)c;
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return errno == ESRCH ? -ESRCH : -errno;
	memset(&info, 0, sizeof(info));
	info.mask = CG2_PIDFD_INFO_CGROUPID;
	if (ioctl(fd, CG2_PIDFD_GET_INFO, &info) < 0)
		r = -errno;
	else if (!(info.mask & CG2_PIDFD_INFO_CGROUPID))
		r = -ESRCH; /* exited: the kernel had no cgroup to say */
	close(fd);
	if (r == 0)
		*ret = info.cgroupid;
	return r;
}

int cgroup2_path(const struct cgroup2 *c, uint64_t id, char *buf, size_t cap)
{
	union {
		struct file_handle fh;
		char space[sizeof(struct file_handle) + sizeof(uint64_t)];
	} h;
	char link[32], path[PATH_MAX];
	size_t mlen = strlen(c->mount);
	ssize_t n;
	int fd;

	h.fh.handle_bytes = sizeof(uint64_t);
	h.fh.handle_type = CG2_FILEID_KERNFS;
	memcpy(h.fh.f_handle, &id, sizeof(id));
	fd = open_by_handle_at(c->mount_fd, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	path[n] = '\0';
	/* the tree as this mount shows it: strip the mount point, "/" for the root */
	if ((size_t)n < mlen || memcmp(path, c->mount, mlen) != 0 ||
	    (path[mlen] != '/' && path[mlen] != '\0'))
		return -EXDEV;
	if (snprintf(buf, cap, "%s", path[mlen] ? path + mlen : "/") >= (int)cap)
		return -ENAMETOOLONG;
	return 0;
}

int cgroup2_open(struct cgroup2 **ret)
{
	struct cgroup2 *c;
	struct statfs sf;
	uint64_t id;
	char path[PATH_MAX];
	int r = -ENOENT;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->mount_fd = -1;
	for (size_t i = 0; i < sizeof(mounts) / sizeof(mounts[0]); i++) {
		if (statfs(mounts[i], &sf) == 0 && (unsigned long)sf.f_type == CGROUP2_SUPER_MAGIC) {
			c->mount_fd = open(mounts[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			snprintf(c->mount, sizeof(c->mount), "%s", mounts[i]);
			break;
		}
	}
	if (c->mount_fd < 0)
		goto fail;
	/* both calls, on ourselves: an old kernel says ENOTTY/EINVAL, no capability EPERM */
	r = cgroup2_pid_id(c, getpid(), &id);
	if (r == -ENOTTY || r == -EINVAL || r == -ENOSYS)
		r = -EOPNOTSUPP;
	if (r == 0)
		r = cgroup2_path(c, id, path, sizeof(path));
	if (r < 0)
		goto fail;
	*ret = c;
	return 0;
fail:
	cgroup2_close(c);
	return r;
}

void cgroup2_close(struct cgroup2 *c)
{
	if (!c)
		return;
	if (c->mount_fd >= 0)
		close(c->mount_fd);
	free(c);
}
