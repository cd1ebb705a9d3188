/* grow.h — the one rule for growing a caller's array: room for one more element, doubling
 * the capacity (16 first). The array stays the caller's (malloc'd; free() it). */
#ifndef LINEAGE_GROW_H
#define LINEAGE_GROW_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/* Make *arr (elem bytes each, *cap allocated) hold at least n + 1 elements. 0, or -ENOMEM
 * with *arr and *cap unchanged. */
static inline int grow_room(void **arr, size_t elem, size_t n, size_t *cap)
{
	size_t ncap;
	void *nv;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	if (ncap <= n || ncap > SIZE_MAX / elem)
		return -ENOMEM;
	nv = realloc(*arr, ncap * elem);
	if (!nv)
		return -ENOMEM;
	*arr = nv;
	*cap = ncap;
	return 0;
}

/* GROW(v, n, cap): grow_room for an array v of any element type. */
#define GROW(v, n, cap) grow_room((void **)&(v), sizeof((v)[0]), (n), &(cap))

#endif
