/* num.c — strict decimal number parsing for command-line options (see num.h). */
#include "num.h"

#include <errno.h>
#include <stdlib.h>

int num_parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9') /* strtoull would accept "-1", " 1" and "+1" */
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}
