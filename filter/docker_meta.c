/* docker_meta.c — docker/containerd on-disk metadata of a container (see docker_meta.h).
 * Owns only the buffers of the file it is reading. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bson/bson.h>

#include "docker_meta.h"
#include "path.h"

#define MOUNT_ID_MAX 128
#define OCI_BUNDLES "io.containerd.runtime.v2.task/moby"

static bool valid_id(const char *id)
{
	size_t n = 0;

	if (!id)
		return false;
	for (; id[n]; n++)
		if (!((id[n] >= '0' && id[n] <= '9') || (id[n] >= 'a' && id[n] <= 'f')))
			return false;
	return n == 64;
}

/* The whole regular file at path, NUL-terminated, at most max bytes: 0 and *ret_buf (caller
 * frees), *ret_len. */
static int read_file(const char *path, size_t max, char **ret_buf, size_t *ret_len)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd, r = 0;

	/* O_NONBLOCK: a fifo planted in place of the file must not block the open */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return errno == ELOOP ? -EINVAL : -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		goto out_close;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > max) {
		r = -EFBIG;
		goto out_close;
	}
	buf = malloc((size_t)st.st_size + 2);
	if (!buf) {
		r = -ENOMEM;
		goto out_close;
	}
	/* read up to one byte more than fstat said: a file that grew is refused, not cut */
	for (;;) {
		size_t cap = (size_t)st.st_size + 1;
		ssize_t n;

		if (len >= cap)
			break;
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out_free;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > (size_t)st.st_size) {
		r = -EFBIG;
		goto out_free;
	}
	buf[len] = '\0';
	*ret_buf = buf;
	*ret_len = len;
	close(fd);
	return 0;
out_free:
	free(buf);
out_close:
	close(fd);
	return r;
}

static int read_json(const char *path, bson_t **ret_doc)
{
	bson_error_t e;
	bson_t *doc;
	char *buf = NULL;
	size_t len = 0;
	int r;

	r = read_file(path, DOCKER_META_MAX_JSON, &buf, &len);
	if (r < 0)
		return r;
	doc = len ? bson_new_from_json((const uint8_t *)buf, (ssize_t)len, &e) : NULL;
	free(buf);
	if (!doc)
		return -EINVAL;
	*ret_doc = doc;
	return 0;
}

/* The UTF-8 string at dotted key in doc, copied: 0, -ENOENT absent or not a string, -EINVAL
 * empty, too long or with an embedded NUL. */
static int json_str(const bson_t *doc, const char *key, char **ret)
{
	bson_iter_t it, child;
	const char *s;
	uint32_t n = 0;
	char *c;

	if (!bson_iter_init(&it, doc) || !bson_iter_find_descendant(&it, key, &child) ||
	    !BSON_ITER_HOLDS_UTF8(&child))
		return -ENOENT;
	s = bson_iter_utf8(&child, &n);
	if (!s || n == 0 || n > DOCKER_META_MAX_STR || strlen(s) != n)
		return -EINVAL;
	c = strdup(s);
	if (!c)
		return -ENOMEM;
	*ret = c;
	return 0;
}

static int fmt(char **ret, const char *a, const char *b, const char *c, const char *d)
{
	char *s;

	if (asprintf(&s, "%s/%s/%s%s", a, b, c, d) < 0)
		return -ENOMEM;
	*ret = s;
	return 0;
}

int docker_meta_oci_rootfs(const char *runtime_root, const char *id, char **ret_path)
{
	char *bundle = NULL, *cfg = NULL, *root = NULL, *abs = NULL;
	bson_t *doc = NULL;
	size_t blen;
	int r;

	if (!runtime_root || !valid_id(id))
		return -EINVAL;
	r = fmt(&bundle, runtime_root, OCI_BUNDLES, id, "");
	if (r == 0)
		r = fmt(&cfg, runtime_root, OCI_BUNDLES, id, "/config.json");
	if (r == 0)
		r = read_json(cfg, &doc);
	if (r == 0)
		r = json_str(doc, "root.path", &root);
	if (r == 0)
		r = path_join(bundle, root, &abs);
	if (r == 0 && !path_is_absolute(abs))
		r = -EINVAL;
	if (r == 0 && !path_is_absolute(root)) {
		/* relative to the bundle ("rootfs"): must stay below it */
		char *cb = NULL;

		r = path_clean(bundle, &cb);
		blen = cb ? strlen(cb) : 0;
		if (r == 0 && (strncmp(abs, cb, blen) != 0 || abs[blen] != '/'))
			r = -EINVAL;
		free(cb);
	}
	if (r == 0) {
		*ret_path = abs;
		abs = NULL;
	}
	free(abs);
	free(root);
	bson_destroy(doc);
	free(cfg);
	free(bundle);
	return r;
}

static bool valid_mount_id(const char *s, size_t n)
{
	if (n == 0 || n > MOUNT_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

int docker_meta_overlay_rootfs(const char *docker_root, const char *id, char **ret_path)
{
	char *file = NULL, *mid = NULL, *merged = NULL;
	size_t n = 0;
	int r;

	if (!docker_root || !valid_id(id))
		return -EINVAL;
	r = fmt(&file, docker_root, "image/overlay2/layerdb/mounts", id, "/mount-id");
	if (r == 0)
		r = read_file(file, MOUNT_ID_MAX, &mid, &n);
	if (r == -EFBIG)
		r = -EINVAL;
	if (r == 0 && !valid_mount_id(mid, n))
		r = -EINVAL;
	if (r == 0)
		r = fmt(&merged, docker_root, "overlay2", mid, "/merged");
	if (r == 0) {
		char *clean = NULL;

		r = path_clean(merged, &clean);
		if (r == 0 && !path_is_absolute(clean))
			r = -EINVAL;
		if (r == 0)
			*ret_path = clean;
		else
			free(clean);
	}
	free(merged);
	free(mid);
	free(file);
	return r;
}

int docker_meta_name_image(const char *docker_root, const char *id, char **ret_name,
			   char **ret_image)
{
	char *file = NULL, *name = NULL, *image = NULL;
	bson_t *doc = NULL;
	int r, rn, ri;

	if (!docker_root || !valid_id(id))
		return -EINVAL;
	r = fmt(&file, docker_root, "containers", id, "/config.v2.json");
	if (r == 0)
		r = read_json(file, &doc);
	free(file);
	if (r < 0)
		return r;
	rn = json_str(doc, "Name", &name);
	ri = json_str(doc, "Config.Image", &image);
	bson_destroy(doc);
	if (rn == -ENOMEM || ri == -ENOMEM) {
		free(name);
		free(image);
		return -ENOMEM;
	}
	if (rn == 0 && name[0] == '/')
		memmove(name, name + 1, strlen(name)); /* docker stores "/name" */
	if (rn == 0 && (!name[0] || strchr(name, '/'))) {
		free(name);
		name = NULL;
		rn = -EINVAL;
	}
	if (rn < 0 && ri < 0)
		return rn == -EINVAL || ri == -EINVAL ? -EINVAL : -ENOENT;
	*ret_name = name;
	*ret_image = image;
	return 0;
}
