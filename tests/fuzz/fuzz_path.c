/* fuzz_path.c — libFuzzer target for common/path.c. The input is split at its first two NUL
 * bytes into up to three strings (dir or root, name, extra) and run through path_clean,
 * path_join and path_in_root. Checks the documented invariants on success: a cleaned path
 * has no "//", no "." or ".." component except leading ".." of a relative path, no trailing
 * "/" (except "/" itself), is not longer than its input (+1 for "."), and is idempotent;
 * path_in_root's result starts with the cleaned root (".." never climbs out). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "path.h"

/* A cleaned path: the invariants path.h promises. */
static void check_clean(const char *p)
{
	size_t n = strlen(p);
	bool abs = p[0] == '/', leading = !abs;
	const char *s = p;

	if (n == 0)
		abort();
	if (n > 1 && p[n - 1] == '/')
		abort();
	if (strstr(p, "//"))
		abort();
	if (!strcmp(p, "."))
		return;
	while (*s) {
		const char *e;
		size_t len;

		while (*s == '/')
			s++;
		e = strchr(s, '/');
		len = e ? (size_t)(e - s) : strlen(s);
		if (len == 1 && s[0] == '.')
			abort();
		if (len == 2 && s[0] == '.' && s[1] == '.') {
			if (!leading)
				abort(); /* ".." only at the front of a relative path */
		} else if (len > 0) {
			leading = false;
		}
		s += len;
	}
}

static void check_idempotent(const char *p)
{
	char *again = NULL;

	if (path_clean(p, &again) < 0)
		abort();
	if (strcmp(again, p) != 0)
		abort();
	free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 3), *a, *b, *c, *out;
	size_t la;
	int r;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = buf[size + 1] = buf[size + 2] = '\0';
	a = buf;
	la = strlen(a);
	b = a + la + 1;        /* buf[size] is NUL: b <= buf + size + 1, itself NUL-ended */
	c = b + strlen(b) + 1; /* likewise c <= buf + size + 2 */

	out = NULL;
	r = path_clean(a, &out);
	if (r == 0) {
		if (strlen(out) > la + 1)
			abort();
		check_clean(out);
		check_idempotent(out);
		if ((out[0] == '/') != (a[0] == '/'))
			abort();
		free(out);
	} else if (r != -ENAMETOOLONG || la <= PATH_MAX_LEN) {
		abort();
	}

	out = NULL;
	r = path_join(a, b, &out);
	if (r == 0) {
		check_clean(out);
		check_idempotent(out);
		if (a[0] == '/' && out[0] != '/')
			abort();
		free(out);
	} else if (r != -ENAMETOOLONG) {
		abort();
	}

	out = NULL;
	r = path_in_root(a, b, &out);
	if (r == 0) {
		char *croot = NULL;

		check_clean(out);
		if (path_clean(a, &croot) < 0)
			abort();
		/* out is croot itself or below it */
		if (strcmp(croot, "/") != 0) {
			size_t lr = strlen(croot);

			if (strncmp(out, croot, lr) != 0 || (out[lr] != '\0' && out[lr] != '/'))
				abort();
		}
		free(croot);
		free(out);
	} else if (r != -ENAMETOOLONG && !(r == -EINVAL && a[0] != '/')) {
		abort();
	}

	out = NULL;
	if (path_join(c[0] ? c : NULL, b, &out) == 0)
		free(out);
	(void)path_is_absolute(c);
	free(buf);
	return 0;
}
