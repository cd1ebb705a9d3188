/* fuzz_container.c — libFuzzer target for common/container.c: the input as one cgroup line
 * (container_id_from_line) and as a whole /proc/PID/cgroup file (container_id_from_cgroup),
 * each from an exact-size heap copy so that ASan sees any read past the end. Checks the
 * contract on success: 64 lowercase hex digits, NUL-terminated, found verbatim in the input;
 * and that the file form finds an id whenever one of its lines does. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"

static void check_id(const char *id, const char *in, size_t len)
{
	if (id[CONTAINER_ID_LEN] != '\0')
		abort();
	for (size_t i = 0; i < CONTAINER_ID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			abort();
	if (!memmem(in, len, id, CONTAINER_ID_LEN))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char id[CONTAINER_ID_LEN + 1], id2[CONTAINER_ID_LEN + 1];
	char *buf = malloc(size ? size : 1); /* exact size, not NUL-terminated */
	int r, any_line = 0;
	const char *p, *end;

	if (!buf)
		return 0;
	memcpy(buf, data, size);

	r = container_id_from_line(buf, size, id);
	if (r == 0)
		check_id(id, buf, size);
	else if (r != -ENOENT && r != -EINVAL)
		abort();

	/* every line on its own, then the whole file: first line with an id must win */
	for (p = buf, end = buf + size; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (!any_line && container_id_from_line(p, n, id) == 0)
			any_line = 1;
		p += n + 1;
	}
	r = container_id_from_cgroup(buf, size, id2);
	if (r == 0) {
		check_id(id2, buf, size);
		if (!any_line || memcmp(id, id2, sizeof(id)) != 0)
			abort();
	} else if (r != -ENOENT || any_line) {
		abort();
	}
	free(buf);
	return 0;
}
