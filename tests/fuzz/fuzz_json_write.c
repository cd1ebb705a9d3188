/* fuzz_json_write.c — libFuzzer target for listener/json_write.c, differential against
 * libbson: the input (its length header fixed up) is a BSON document; whenever json_write
 * writes it, libbson must write the very same bytes, and json_write must not write what
 * libbson refuses. -ENOTSUP (left to libbson) is always allowed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json_write.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_write_buf b = { 0 };
	uint8_t *copy;
	uint32_t len;
	bson_t doc;
	char *want;
	int r;

	if (size < 5 || size > (1u << 20))
		return 0;
	copy = malloc(size);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	len = (uint32_t)size;
	memcpy(copy, &len, 4); /* little-endian hosts */
	copy[size - 1] = 0;
	if (!bson_init_static(&doc, copy, size)) {
		free(copy);
		return 0;
	}
	want = bson_as_relaxed_extended_json(&doc, NULL);
	r = json_write_relaxed(&b, &doc);
	if (r == 0 && (!want || b.len != strlen(want) || memcmp(b.data, want, b.len) != 0))
		abort();
	if (r < 0 && b.len != 0)
		abort();
	bson_free(want);
	json_write_buf_release(&b);
	free(copy);
	return 0;
}
