/* path.c — textual path cleaning, joining and rootfs mapping (see path.h). Owns nothing
 * beyond the strings it returns. Pure: no I/O, no logging. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "path.h"

int path_is_absolute(const char *path)
{
	return path && path[0] == '/';
}

/* Clean src (length n) into a new string. The output is never longer than n + 1 ("." for
 * empty input), so one allocation of n + 2 suffices. */
static int clean_n(const char *src, size_t n, char **ret)
{
	bool abs = n > 0 && src[0] == '/';
	size_t i = 0, o = 0, floor; /* floor: where ".." may no longer pop (after leading ../) */
	char *out;

	if (n > PATH_MAX_LEN)
		return -ENAMETOOLONG;
	out = malloc(n + 2);
	if (!out)
		return -ENOMEM;
	if (abs)
		out[o++] = '/';
	floor = o;
	while (i < n) {
		size_t start, len;

		while (i < n && src[i] == '/')
			i++;
		start = i;
		while (i < n && src[i] != '/')
			i++;
		len = i - start;
		if (len == 0 || (len == 1 && src[start] == '.'))
			continue;
		if (len == 2 && src[start] == '.' && src[start + 1] == '.') {
			if (o > floor) {
				/* pop the last component */
				while (o > floor && out[o - 1] != '/')
					o--;
				if (o > floor)
					o--; /* the separator before it */
				else if (abs)
					o = floor;
			} else if (!abs) {
				/* relative path climbing above its start: keep ".." */
				if (o > 0)
					out[o++] = '/';
				out[o++] = '.';
				out[o++] = '.';
				floor = o;
			}
			continue;
		}
		if (o > 0 && out[o - 1] != '/')
			out[o++] = '/';
		memcpy(out + o, src + start, len);
		o += len;
	}
	if (o == 0)
		out[o++] = '.';
	out[o] = '\0';
	*ret = out;
	return 0;
}

int path_clean(const char *path, char **ret)
{
	if (!path || !ret)
		return -EINVAL;
	return clean_n(path, strlen(path), ret);
}

int path_join(const char *dir, const char *name, char **ret)
{
	size_t dl, nl;
	char *tmp;
	int r;

	if (!name || !ret)
		return -EINVAL;
	if (path_is_absolute(name) || !dir || !*dir)
		return path_clean(name, ret);
	dl = strlen(dir);
	nl = strlen(name);
	if (dl + nl + 1 > PATH_MAX_LEN)
		return -ENAMETOOLONG;
	tmp = malloc(dl + nl + 2);
	if (!tmp)
		return -ENOMEM;
	memcpy(tmp, dir, dl);
	tmp[dl] = '/';
	memcpy(tmp + dl + 1, name, nl + 1);
	r = clean_n(tmp, dl + 1 + nl, ret);
	free(tmp);
	return r;
}

int path_in_root(const char *root, const char *path, char **ret)
{
	char *inner = NULL, *croot = NULL;
	int r;

	if (!path_is_absolute(root) || !path || !ret)
		return -EINVAL;
	/* Clean the inner path as absolute first, so that ".." stops at the root. */
	r = path_join("/", path, &inner);
	if (r < 0)
		goto out;
	r = path_clean(root, &croot);
	if (r < 0)
		goto out;
	if (strcmp(croot, "/") == 0)
		r = path_clean(inner, ret);
	else
		r = path_join(croot, inner + 1, ret);
out:
	free(inner);
	free(croot);
	return r;
}
