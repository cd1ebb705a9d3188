/* hash.h — the one string hash of lineage's in-memory tables (djb2: short keys, no
 * adversary a table could not survive; probing tables size themselves to powers of two).
 * Header only. */
#ifndef LINEAGE_HASH_H
#define LINEAGE_HASH_H

#include <stddef.h>

#define HASH_STR_INIT ((size_t)5381)

/* h continued over s: hash_str(HASH_STR_INIT, s) for one string, chained for several. */
static inline size_t hash_str(size_t h, const char *s)
{
	for (; *s; s++)
		h = h * 33 + (unsigned char)*s;
	return h;
}

#endif
