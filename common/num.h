/* num.h — strict parsing of numbers given on command lines (pure, no dependencies). */
#ifndef LINEAGE_NUM_H
#define LINEAGE_NUM_H

#include <stdint.h>

/* Parse s as a decimal unsigned number, the whole string, at most max. No sign, no spaces,
 * no empty string. Returns 0 and sets *ret, or -EINVAL (*ret untouched). */
int num_parse_u64(const char *s, uint64_t max, uint64_t *ret);

#endif
