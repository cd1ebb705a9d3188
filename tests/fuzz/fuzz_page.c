/* fuzz_page.c — pages (issue 15) on arbitrary bytes: a page read back from the store may be
 * damaged. page_unpack must refuse what is not zlib data of the stated length holding whole
 * BSON documents, and page_next must never read past the end. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "page_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *doc;
	uint8_t *raw = NULL, *z = NULL;
	uint32_t dl;
	size_t pos = 0, zlen;

	/* the input as decompressed documents */
	while (page_next(data, size, &pos, &doc, &dl) == 1)
		if (pos > size || doc + dl > data + size)
			abort();
	/* the input as compressed data claiming a few lengths */
	for (size_t want = 0; want < 3 * size + 64; want += size + 21)
		if (page_unpack(data, size, want, &raw) == 0)
			free(raw);
	/* what is packed unpacks to the same bytes when they are documents */
	if (page_pack(data, size, &z, &zlen) == 0) {
		int r = page_unpack(z, zlen, size, &raw);

		if (r == 0) {
			if (memcmp(raw, data, size))
				abort();
			free(raw);
		}
		free(z);
	}
	return 0;
}
