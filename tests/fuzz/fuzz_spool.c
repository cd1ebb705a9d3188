/* fuzz_spool.c — libFuzzer target for the spool segment reader (common/spool.c): the input
 * is written to an in-memory file (memfd) and read back by path with spool_reader_open/next
 * until the end, the way replay reads a segment left by a crash or a bad disk. Every document
 * returned is walked (recursively, all values) and turned into JSON. Checks: the reader never
 * returns more documents than can fit, and bytes returned + skipped never exceed the input. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "spool.h"

static char tmp_path[64];
static int tmp_fd = -1;

static void walk(bson_iter_t *it, int depth)
{
	while (bson_iter_next(it)) {
		bson_iter_t child;
		uint32_t len;

		(void)bson_iter_key(it);
		switch (bson_iter_type(it)) {
		case BSON_TYPE_UTF8:
			(void)bson_iter_utf8(it, &len);
			break;
		case BSON_TYPE_DOCUMENT:
		case BSON_TYPE_ARRAY:
			if (depth < 64 && bson_iter_recurse(it, &child))
				walk(&child, depth + 1);
			break;
		default:
			break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spool_reader *rd;
	const bson_t *doc;
	uint64_t bytes = 0;
	size_t ndocs = 0;
	int r;

	if (tmp_fd < 0) {
		/* an in-memory file (no disk I/O per input), opened by path like a segment */
		tmp_fd = memfd_create("fuzz_spool", MFD_CLOEXEC);
		if (tmp_fd < 0)
			abort();
		snprintf(tmp_path, sizeof(tmp_path), "/proc/self/fd/%d", tmp_fd);
	}
	if (ftruncate(tmp_fd, 0) < 0 || pwrite(tmp_fd, data, size, 0) != (ssize_t)size)
		abort();

	if (spool_reader_open(tmp_path, &rd) < 0)
		abort();
	while ((r = spool_reader_next(rd, &doc)) == 1) {
		bson_iter_t it;
		char *json;

		ndocs++;
		bytes += doc->len;
		if (doc->len < 5 || bytes > size)
			abort();
		if (bson_iter_init(&it, doc))
			walk(&it, 0);
		json = bson_as_relaxed_extended_json(doc, NULL);
		bson_free(json);
	}
	if (r < 0)
		abort();
	if (bytes + spool_reader_skipped_bytes(rd) > size)
		abort();
	if (ndocs > size / 5)
		abort();
	spool_reader_free(rd);
	return 0;
}
