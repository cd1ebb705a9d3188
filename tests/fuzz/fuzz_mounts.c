/* fuzz_mounts.c — libFuzzer target for common/mounts.c (issue 28): the input as a container's
 * mountinfo and, split at the first NUL, a host's; every line parsed is resolved against the
 * host table and the overlay dirs are taken. Checks: every path returned is absolute. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mounts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t a = nul ? (size_t)(nul - data) : size;
	char *buf = malloc(size ? size : 1), *up = NULL, **lw = NULL;
	struct mounts_info c, h;
	size_t n = 0;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (mounts_info_parse(buf, a, &c, NULL) == 0) {
		if (mounts_info_parse(nul ? buf + a + 1 : buf, nul ? size - a - 1 : 0, &h, NULL) == 0) {
			for (size_t i = 0; i < c.n; i++) {
				char *p = NULL;

				if (mounts_host_source(&h, &c.v[i], &p) == 0) {
					if (p[0] != '/')
						abort();
					free(p);
				}
			}
			mounts_info_release(&h);
		}
		if (mounts_overlay_dirs(&c, "/var/lib/docker/overlay2", &up, &lw, &n) == 0) {
			if (up && up[0] != '/')
				abort();
			for (size_t i = 0; i < n; i++) {
				if (lw[i][0] != '/')
					abort();
				free(lw[i]);
			}
			free(lw);
			free(up);
		}
		mounts_info_release(&c);
	}
	free(buf);
	return 0;
}
