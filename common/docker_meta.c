/* docker_meta.c — docker/containerd on-disk metadata of a container (see docker_meta.h).
 * Owns only the buffers of the file it is reading. */
#include <dirent.h>
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
#define LOWERS_MAX 128 /* overlay lower dirs of one container */
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

int docker_meta_bundle_rootfs(const char *bundle, char **ret_path)
{
	char *cfg = NULL, *root = NULL, *abs = NULL;
	bson_t *doc = NULL;
	size_t blen;
	int r;

	if (!bundle || !path_is_absolute(bundle))
		return -EINVAL;
	if (asprintf(&cfg, "%s/config.json", bundle) < 0)
		return -ENOMEM;
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
	return r;
}

int docker_meta_oci_rootfs(const char *runtime_root, const char *id, char **ret_path)
{
	char *bundle = NULL;
	int r;

	if (!runtime_root || !valid_id(id))
		return -EINVAL;
	r = fmt(&bundle, runtime_root, OCI_BUNDLES, id, "");
	if (r == 0)
		r = docker_meta_bundle_rootfs(bundle, ret_path);
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

/* The UTF-8 string of key (no dots: label keys have them) in the sub-document at dotted path
 * parent: 0, -ENOENT, -EINVAL as json_str. */
static int json_label(const bson_t *doc, const char *parent, const char *key, char **ret)
{
	bson_iter_t it, sub, child;
	const char *s;
	uint32_t n = 0;
	char *c;

	if (!bson_iter_init(&it, doc) || !bson_iter_find_descendant(&it, parent, &sub) ||
	    !BSON_ITER_HOLDS_DOCUMENT(&sub) || !bson_iter_recurse(&sub, &child) ||
	    !bson_iter_find(&child, key) || !BSON_ITER_HOLDS_UTF8(&child))
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

void docker_meta_config_release(struct docker_meta_config *c)
{
	if (!c)
		return;
	free(c->name);
	free(c->image);
	free(c->image_id);
	free(c->created);
	free(c->pod_name);
	free(c->pod_namespace);
	free(c->k8s_container);
	memset(c, 0, sizeof(*c));
}

int docker_meta_config_read(const char *docker_root, const char *id,
			    struct docker_meta_config *ret)
{
	struct {
		const char *parent, *key;
		char **out;
	} f[] = {
		{ NULL, "Name", &ret->name },
		{ NULL, "Config.Image", &ret->image },
		{ NULL, "Image", &ret->image_id },
		{ NULL, "Created", &ret->created },
		{ "Config.Labels", "io.kubernetes.pod.name", &ret->pod_name },
		{ "Config.Labels", "io.kubernetes.pod.namespace", &ret->pod_namespace },
		{ "Config.Labels", "io.kubernetes.container.name", &ret->k8s_container },
	};
	char *file = NULL;
	bson_t *doc = NULL;
	bool any = false, refused = false;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!docker_root || !valid_id(id))
		return -EINVAL;
	r = fmt(&file, docker_root, "containers", id, "/config.v2.json");
	if (r == 0)
		r = read_json(file, &doc);
	free(file);
	if (r < 0)
		return r;
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		r = f[i].parent ? json_label(doc, f[i].parent, f[i].key, f[i].out)
				: json_str(doc, f[i].key, f[i].out);
		if (r == -ENOMEM) {
			bson_destroy(doc);
			docker_meta_config_release(ret);
			return r;
		}
		refused |= r == -EINVAL;
	}
	bson_destroy(doc);
	if (ret->name && ret->name[0] == '/')
		memmove(ret->name, ret->name + 1, strlen(ret->name)); /* docker stores "/name" */
	if (ret->name && (!ret->name[0] || strchr(ret->name, '/'))) {
		free(ret->name);
		ret->name = NULL;
		refused = true;
	}
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		any |= *f[i].out != NULL;
	if (!any)
		return refused ? -EINVAL : -ENOENT;
	return 0;
}

int docker_meta_name_image(const char *docker_root, const char *id, char **ret_name,
			   char **ret_image)
{
	struct docker_meta_config c;
	int r = docker_meta_config_read(docker_root, id, &c);

	if (r == 0 && !c.name && !c.image)
		r = -ENOENT;
	if (r < 0) {
		docker_meta_config_release(&c);
		return r;
	}
	*ret_name = c.name;
	*ret_image = c.image;
	c.name = c.image = NULL;
	docker_meta_config_release(&c);
	return 0;
}

/* mountinfo's octal escapes (\040 space, \011, \012, \134) → bytes, into a new string; any
 * other backslash, or an escaped NUL, is refused. */
static int unescape(const char *s, size_t n, char **ret)
{
	char *out = malloc(n + 1), *o = out;

	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\\') {
			*o++ = s[i];
			continue;
		}
		if (i + 3 >= n || s[i + 1] < '0' || s[i + 1] > '3' || s[i + 2] < '0' ||
		    s[i + 2] > '7' || s[i + 3] < '0' || s[i + 3] > '7') {
			free(out);
			return -EINVAL;
		}
		*o = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
		if (!*o) {
			free(out);
			return -EINVAL;
		}
		o++;
		i += 3;
	}
	*o = '\0';
	*ret = out;
	return 0;
}

int docker_meta_mountinfo_rootfs(const char *text, size_t len, char **ret_path)
{
	const char *line = text, *end = text + len;

	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *eol = nl ? nl : end, *f[5], *p = line, *dash, *opts;
		size_t nf = 0;

		/* fields: id parent maj:min root mountpoint … - fstype source superoptions */
		while (nf < 5 && p < eol) {
			f[nf++] = p;
			p = memchr(p, ' ', (size_t)(eol - p));
			if (!p)
				break;
			p++;
		}
		dash = nf == 5 ? memmem(f[4], (size_t)(eol - f[4]), " - ", 3) : NULL; /* optional fields end */
		if (dash && f[4] + 2 <= eol && f[4][0] == '/' && f[4][1] == ' ' &&
		    (size_t)(eol - dash) > 11 && !memcmp(dash, " - overlay ", 11) &&
		    (opts = memchr(dash + 11, ' ', (size_t)(eol - dash - 11)))) {
			const char *o = opts + 1;

			while (o < eol) {
				const char *comma = memchr(o, ',', (size_t)(eol - o));
				const char *oe = comma ? comma : eol;
				char *upper = NULL, *clean = NULL;
				size_t ul;
				int r;

				if (oe - o > 9 && !memcmp(o, "upperdir=", 9)) {
					r = unescape(o + 9, (size_t)(oe - o - 9), &upper);
					if (r < 0)
						return r;
					r = path_clean(upper, &clean);
					ul = clean ? strlen(clean) : 0;
					if (r == 0 && (!path_is_absolute(clean) || strcmp(clean, upper) ||
						       ul <= 5 || strcmp(clean + ul - 5, "/diff")))
						r = -EINVAL;
					free(upper);
					if (r < 0) {
						free(clean);
						return r;
					}
					clean[ul - 5] = '\0';
					r = asprintf(&upper, "%s/merged", clean);
					free(clean);
					if (r < 0)
						return -ENOMEM;
					*ret_path = upper;
					return 0;
				}
				o = oe + 1;
			}
		}
		line = eol + 1;
	}
	return -ENOENT;
}

/* --- issue 28: mount points, overlay directories, layers -------------------------------- */

void docker_meta_mounts_free(struct docker_meta_mount *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].dest);
		free(v[i].source);
		free(v[i].type);
		free(v[i].name);
		free(v[i].propagation);
	}
	free(v);
}

/* A copy of the string at it if it is one, fits and holds no NUL; NULL otherwise (and for "") */
static char *iter_str(const bson_iter_t *it)
{
	const char *s;
	uint32_t n = 0;

	if (!BSON_ITER_HOLDS_UTF8(it))
		return NULL;
	s = bson_iter_utf8(it, &n);
	if (!s || n == 0 || n > DOCKER_META_MAX_STR || strlen(s) != n)
		return NULL;
	return strdup(s);
}

struct mlist {
	struct docker_meta_mount *v;
	size_t n;
	bool nomem;
};

/* Append a mount, taking the strings (freed on failure or when refused). */
static void mlist_add(struct mlist *l, char *dest, char *source, const char *type, char *name,
		      char *prop, bool ro)
{
	struct docker_meta_mount *nv;
	char *clean = NULL, *t = type ? strdup(type) : NULL;

	if (!dest || !path_is_absolute(dest) || path_clean(dest, &clean) < 0 ||
	    (source && !path_is_absolute(source)) || l->n == DOCKER_META_MAX_MOUNTS ||
	    (type && !t))
		goto drop;
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].dest, clean))
			goto drop; /* the first source of a destination wins */
	nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
	if (!nv) {
		l->nomem = true;
		goto drop;
	}
	l->v = nv;
	nv[l->n++] = (struct docker_meta_mount){ .dest = clean, .source = source, .type = t,
						 .name = name, .propagation = prop, .ro = ro };
	free(dest);
	return;
drop:
	free(clean);
	free(t);
	free(dest);
	free(source);
	free(name);
	free(prop);
}

static void mounts_from_config(const bson_t *doc, struct mlist *l)
{
	static const struct {
		const char *key, *dest;
	} files[] = {
		{ "HostsPath", "/etc/hosts" },
		{ "ResolvConfPath", "/etc/resolv.conf" },
		{ "HostnamePath", "/etc/hostname" },
	};
	bson_iter_t it, mp, f;

	if (bson_iter_init_find(&it, doc, "MountPoints") && BSON_ITER_HOLDS_DOCUMENT(&it) &&
	    bson_iter_recurse(&it, &mp)) {
		while (bson_iter_next(&mp)) {
			char *dest = NULL, *src = NULL, *type = NULL, *name = NULL, *prop = NULL;
			bool ro = false;

			if (!BSON_ITER_HOLDS_DOCUMENT(&mp) || !bson_iter_recurse(&mp, &f))
				continue;
			while (bson_iter_next(&f)) {
				const char *k = bson_iter_key(&f);
				char **dst = !strcmp(k, "Destination") ? &dest :
					     !strcmp(k, "Source")	   ? &src :
					     !strcmp(k, "Type")	   ? &type :
					     !strcmp(k, "Name")	   ? &name :
					     !strcmp(k, "Propagation") ? &prop :
									   NULL;

				if (dst && !*dst)
					*dst = iter_str(&f);
				else if (!strcmp(k, "RW") && BSON_ITER_HOLDS_BOOL(&f))
					ro = !bson_iter_bool(&f);
			}
			if (!type) /* docker before 1.13 wrote no Type: a Name means a volume */
				type = strdup(name ? "volume" : "bind");
			mlist_add(l, dest, src, type, name, prop, ro);
			free(type);
		}
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *src = NULL, *dest = strdup(files[i].dest);

		if (bson_iter_init_find(&it, doc, files[i].key))
			src = iter_str(&it);
		if (src && dest)
			mlist_add(l, dest, src, "bind", NULL, NULL, false);
		else {
			free(src);
			free(dest);
		}
	}
}

/* Does the comma list s hold the word w? */
static bool has_word(const char *s, const char *w)
{
	size_t wl = strlen(w);

	for (const char *p = s; (p = strstr(p, w)); p += wl)
		if ((p == s || p[-1] == ',') && (p[wl] == '\0' || p[wl] == ','))
			return true;
	return false;
}

static void mounts_from_hostconfig(const bson_t *doc, struct mlist *l)
{
	bson_iter_t it, t;

	if (!bson_iter_init_find(&it, doc, "Tmpfs") || !BSON_ITER_HOLDS_DOCUMENT(&it) ||
	    !bson_iter_recurse(&it, &t))
		return;
	while (bson_iter_next(&t)) {
		const char *k = bson_iter_key(&t);
		char *opts = iter_str(&t);

		if (strlen(k) <= DOCKER_META_MAX_STR)
			mlist_add(l, strdup(k), NULL, "tmpfs", NULL, NULL, opts && has_word(opts, "ro"));
		free(opts);
	}
}

int docker_meta_mounts_parse(const char *config, size_t len, const char *hostconfig,
			     size_t hlen, struct docker_meta_mount **ret, size_t *ret_n)
{
	struct mlist l = { 0 };
	bson_error_t e;
	bson_t *doc;

	if (len == 0 || len > DOCKER_META_MAX_JSON)
		return -EINVAL;
	doc = bson_new_from_json((const uint8_t *)config, (ssize_t)len, &e);
	if (!doc)
		return -EINVAL;
	mounts_from_config(doc, &l);
	bson_destroy(doc);
	if (hostconfig && hlen && hlen <= DOCKER_META_MAX_JSON) {
		doc = bson_new_from_json((const uint8_t *)hostconfig, (ssize_t)hlen, &e);
		if (doc) {
			mounts_from_hostconfig(doc, &l);
			bson_destroy(doc);
		}
	}
	if (l.nomem) {
		docker_meta_mounts_free(l.v, l.n);
		return -ENOMEM;
	}
	*ret = l.v;
	*ret_n = l.n;
	return 0;
}

int docker_meta_mounts_read(const char *docker_root, const char *id,
			    struct docker_meta_mount **ret, size_t *ret_n)
{
	char *file = NULL, *cfg = NULL, *host = NULL;
	size_t clen = 0, hlen = 0;
	int r;

	if (!docker_root || !valid_id(id))
		return -EINVAL;
	r = fmt(&file, docker_root, "containers", id, "/config.v2.json");
	if (r == 0)
		r = read_file(file, DOCKER_META_MAX_JSON, &cfg, &clen);
	free(file);
	file = NULL;
	if (r < 0)
		return r;
	if (fmt(&file, docker_root, "containers", id, "/hostconfig.json") == 0 &&
	    read_file(file, DOCKER_META_MAX_JSON, &host, &hlen) < 0)
		host = NULL;
	free(file);
	r = docker_meta_mounts_parse(cfg, clen, host, host ? hlen : 0, ret, ret_n);
	free(cfg);
	free(host);
	return r;
}

/* mount-id of container id (layerdb/mounts/<id>/mount-id), checked */
static int mount_id_of(const char *docker_root, const char *id, char **ret)
{
	char *file = NULL, *mid = NULL;
	size_t n = 0;
	int r;

	r = fmt(&file, docker_root, "image/overlay2/layerdb/mounts", id, "/mount-id");
	if (r == 0)
		r = read_file(file, MOUNT_ID_MAX, &mid, &n);
	free(file);
	if (r == -EFBIG)
		r = -EINVAL;
	if (r == 0 && !valid_mount_id(mid, n))
		r = -EINVAL;
	if (r < 0) {
		free(mid);
		return r;
	}
	*ret = mid;
	return 0;
}

int docker_meta_overlay_dirs(const char *docker_root, const char *id, char **ret_upper,
			     char ***ret_lowers, size_t *ret_nlowers)
{
	char *mid = NULL, *file = NULL, *text = NULL, *upper = NULL, **v = NULL;
	size_t n = 0, nv = 0, cap = 0;
	int r;

	if (!docker_root || !path_is_absolute(docker_root) || !valid_id(id))
		return -EINVAL;
	r = mount_id_of(docker_root, id, &mid);
	if (r == 0)
		r = fmt(&upper, docker_root, "overlay2", mid, "/diff");
	if (r == 0)
		r = fmt(&file, docker_root, "overlay2", mid, "/lower");
	if (r == 0)
		r = read_file(file, 1u << 16, &text, &n);
	if (r == -EFBIG)
		r = -EINVAL;
	for (char *p = text, *end = text + n; r == 0 && p < end;) {
		char *c = memchr(p, ':', (size_t)(end - p)), *e = c ? c : end, *link = NULL;
		char target[256], **grown;
		ssize_t tl;

		while (e > p && (e[-1] == '\n' || e[-1] == ' '))
			e--;
		*e = '\0';
		/* "l/<short id>" only: the link dir is docker's, its names [A-Z0-9] */
		if (strncmp(p, "l/", 2) || !valid_mount_id(p + 2, strlen(p + 2))) {
			r = -EINVAL;
			break;
		}
		r = fmt(&link, docker_root, "overlay2", p, "");
		tl = r == 0 ? readlink(link, target, sizeof(target) - 1) : -1;
		free(link);
		if (r == 0 && tl < 0)
			r = errno ? -errno : -EIO;
		if (r < 0 || tl < 0)
			break;
		target[tl] = '\0';
		if (strncmp(target, "../", 3) || tl < 9 || strcmp(target + tl - 5, "/diff") ||
		    !valid_mount_id(target + 3, (size_t)tl - 8) || nv == LOWERS_MAX) {
			r = -EINVAL;
			break;
		}
		target[tl - 5] = '\0';
		if (nv == cap) {
			cap = cap ? cap * 2 : 8;
			grown = realloc(v, cap * sizeof(*v));
			if (!grown) {
				r = -ENOMEM;
				break;
			}
			v = grown;
		}
		r = fmt(&v[nv], docker_root, "overlay2", target + 3, "/diff");
		if (r == 0)
			nv++;
		p = c ? c + 1 : end;
	}
	if (r == 0 && nv == 0)
		r = -ENOENT;
	free(text);
	free(file);
	free(mid);
	if (r < 0) {
		free(upper);
		for (size_t i = 0; i < nv; i++)
			free(v[i]);
		free(v);
		return r;
	}
	*ret_upper = upper;
	*ret_lowers = v;
	*ret_nlowers = nv;
	return 0;
}

int docker_meta_layer_of(const char *docker_root, const char *lower, char **ret_layer,
			 char **ret_cache_id)
{
	char *base = NULL, *cache = NULL, *layer = NULL;
	size_t bl, ll = lower ? strlen(lower) : 0, seen = 0;
	DIR *d;
	struct dirent *de;
	int r = -ENOENT;

	if (!docker_root || !lower || fmt(&base, docker_root, "overlay2", "", "") < 0)
		return -ENOMEM;
	bl = strlen(base);
	/* <docker_root>/overlay2/<cache-id>/diff */
	if (ll <= bl + 5 || strncmp(lower, base, bl) || strcmp(lower + ll - 5, "/diff") ||
	    !valid_mount_id(lower + bl, ll - bl - 5)) {
		free(base);
		return -ENOENT;
	}
	cache = strndup(lower + bl, ll - bl - 5);
	free(base);
	base = NULL;
	if (!cache || fmt(&base, docker_root, "image/overlay2/layerdb", "sha256", "") < 0) {
		free(cache);
		return -ENOMEM;
	}
	d = opendir(base);
	while (d && (de = readdir(d)) && seen++ < DOCKER_META_MAX_LAYERDB) {
		char *f = NULL, *txt = NULL;
		size_t n = 0;

		if (!valid_mount_id(de->d_name, strlen(de->d_name)))
			continue;
		if (fmt(&f, base, de->d_name, "cache-id", "") < 0) {
			r = -ENOMEM;
			break;
		}
		if (read_file(f, MOUNT_ID_MAX, &txt, &n) == 0 && n == strlen(cache) &&
		    !memcmp(txt, cache, n)) {
			free(f);
			free(txt);
			txt = NULL;
			r = fmt(&f, base, de->d_name, "diff", "");
			if (r == 0 && read_file(f, 128, &txt, &n) == 0 && n > 7 &&
			    !strncmp(txt, "sha256:", 7) && valid_mount_id(txt + 7, n - 7))
				layer = txt;
			else
				free(txt);
			free(f);
			r = layer ? 0 : -ENOENT;
			break;
		}
		free(f);
		free(txt);
	}
	if (d)
		closedir(d);
	free(base);
	if (r < 0) {
		free(cache);
		return r;
	}
	*ret_layer = layer;
	if (ret_cache_id)
		*ret_cache_id = cache;
	else
		free(cache);
	return 0;
}
