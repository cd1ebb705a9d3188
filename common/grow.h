/* grow.h — the one rule for growing a caller's array or byte buffer: double the capacity.
 * The memory stays the caller's (malloc'd; free() it). */
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

/* Make the byte buffer *data (*cap allocated, len used) hold len + more bytes, doubling
 * from 4096. 0, or -ENOMEM with *data and *cap unchanged. */
static inline int grow_bytes(void **data, size_t *cap, size_t len, size_t more)
{
	size_t ncap;
	void *nd;

	if (more <= *cap - len)
		return 0;
	if (more > SIZE_MAX / 2 - len)
		return -ENOMEM;
	ncap = *cap ? *cap : 4096;
	while (ncap - len < more)
		ncap *= 2;
	nd = realloc(*data, ncap);
	if (!nd)
		return -ENOMEM;
	*data = nd;
	*cap = ncap;
	return 0;
}

/* GROW(v, n, cap): grow_room for an array v of any element type. */
#define GROW(v, n, cap) grow_room((void **)&(v), sizeof((v)[0]), (n), &(cap))

#endif
