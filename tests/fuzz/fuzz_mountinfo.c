/* fuzz_mountinfo.c — libFuzzer target for docker_meta_mountinfo_rootfs (common/docker_meta.c,
 * issue 17): the input as a mountinfo text, from an exact-size heap copy so ASan sees any read
 * past the end. Checks the contract on success: an absolute, clean path ending in "/merged"
 * that is not "/merged" alone, with no NUL before its end. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "docker_meta.h"
#include "path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1), *p = NULL, *clean = NULL;
	size_t n;
	int r;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	r = docker_meta_mountinfo_rootfs(buf, size, &p);
	if (r == 0) {
		n = strlen(p);
		if (n <= 7 || strcmp(p + n - 7, "/merged") || !path_is_absolute(p) ||
		    path_clean(p, &clean) < 0 || strcmp(clean, p))
			abort();
		free(clean);
		free(p);
	} else if (r != -ENOENT && r != -EINVAL && r != -ENOMEM) {
		abort();
	}
	free(buf);
	return 0;
}
