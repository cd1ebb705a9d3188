/* fuzz_segment.c — the segment decoder (issue 33) on arbitrary bytes: a segment read back
 * from the store or the spool may be damaged. The input is taken three ways: as a whole
 * segment document (seg_header_read, then seg_unpack), as the compressed data of a header
 * claiming a few raw sizes and counts, and, compressed with zstd first, as what must decode
 * back to the same bytes when they are valid BSON documents. seg_next must never read past
 * the end. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "segment.h"

static void walk(const uint8_t *raw, size_t len)
{
	size_t pos = 0;
	bson_t d;

	while (seg_next(raw, len, &pos, &d) == 1)
		if (pos > len)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seg_header h;
	uint8_t *raw = NULL, *z;
	bson_t doc;
	size_t zlen;

	walk(data, size);
	if (size >= 5 && bson_init_static(&doc, data, size) &&
	    seg_header_read(&doc, &h, NULL, 0) == 0 && seg_unpack(&h, &raw, NULL, 0) == 0) {
		walk(raw, (size_t)h.raw_bytes);
		free(raw);
	}
	for (int64_t want = 0; want < 3 * (int64_t)size + 64; want += (int64_t)size + 21)
		for (int64_t n = 0; n < 3; n++)
			if (seg_unpack_raw(SEG_CODEC_ZSTD, data, size, want, n, &raw, NULL, 0) == 0) {
				walk(raw, (size_t)want);
				free(raw);
			}
	z = malloc(ZSTD_compressBound(size));
	if (!z)
		return 0;
	zlen = ZSTD_compress(z, ZSTD_compressBound(size), data, size, 1);
	if (!ZSTD_isError(zlen)) {
		/* count the documents the input holds: then it must decode back exactly */
		size_t pos = 0, n = 0;
		bson_t d;

		while (seg_next(data, size, &pos, &d) == 1)
			n++;
		if (pos == size && seg_unpack_raw(SEG_CODEC_ZSTD, z, zlen, (int64_t)size,
						  (int64_t)n, &raw, NULL, 0) == 0) {
			if (memcmp(raw, data, size))
				abort();
			free(raw);
		}
	}
	free(z);
	return 0;
}
