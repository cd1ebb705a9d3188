/* fuzz_utf8.c — libFuzzer target for listener/utf8.c, which sees every argv, path and comm an
 * unprivileged user chooses. Checks: well-formed by utf8_valid implies libbson accepts it; a
 * repaired string is always valid and libbson accepts it; the repair keeps every well-formed
 * sequence; the hex decodes back to the input; a document built by utf8_append /
 * utf8_append_array passes bson_validate(BSON_VALIDATE_UTF8). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

static int unhex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	char *fixed = NULL, *hex, *items[8];
	size_t flen = 0, lens[8], n = 0;
	bson_t doc = BSON_INITIALIZER;
	int r;

	if (utf8_valid(s, size) && !bson_utf8_validate(s, size, false))
		abort();
	r = utf8_repair(s, size, &fixed, &flen);
	if (r < 0)
		return 0;
	if (r > 0) {
		if (!utf8_valid(fixed, flen) || !bson_utf8_validate(fixed, flen, false) ||
		    strlen(fixed) != flen || (size_t)r > size || flen != size + 2 * (size_t)r)
			abort();
		free(fixed);
	} else if (!utf8_valid(s, size)) {
		abort();
	}

	hex = malloc(2 * size + 1);
	if (!hex)
		return 0;
	utf8_hex(s, size, hex);
	for (size_t i = 0; i < size; i++)
		if (unhex(hex[2 * i]) * 16 + unhex(hex[2 * i + 1]) != data[i])
			abort();
	free(hex);

	/* the input's 0xFE-separated parts as an argv, the whole as a scalar */
	for (size_t i = 0, start = 0; i <= size && n < 8; i++) {
		if (i == size || data[i] == 0xfe) {
			items[n] = (char *)s + start;
			lens[n++] = i - start;
			start = i + 1;
		}
	}
	if (utf8_append(&doc, "name", s, size) < 0 ||
	    utf8_append_array(&doc, "argv", (const char *const *)items, lens, n) < 0)
		abort();
	if (!bson_validate(&doc, BSON_VALIDATE_UTF8, NULL))
		abort();
	bson_destroy(&doc);
	return 0;
}
