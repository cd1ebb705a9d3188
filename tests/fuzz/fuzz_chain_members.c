/* fuzz_chain_members.c — the evidence chain's member decoder (issue 21) on arbitrary bytes, as
 * a tampered link's `members` can hold anything: it must stop at the end or refuse, never read
 * past it; what decodes re-encodes to the same bytes when the encoding was canonical. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chain_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chainfmt_buf b = { 0 };
	struct chainfmt_member m;
	int64_t prev = 0, prev2 = 0;
	size_t pos = 0;
	int r;

	while ((r = chainfmt_member_next(data, size, &pos, &prev, &m)) == 1) {
		if (pos > size)
			abort();
		if (chainfmt_member_append(&b, &prev2, m.seq, m.coll, m.digest) < 0)
			break;
	}
	/* a canonical prefix re-encodes byte for byte (overlong varints are not canonical) */
	if (r == 0 && size && b.len == size && memcmp(b.data, data, size))
		abort();
	chainfmt_buf_release(&b);
	return 0;
}
