/* utf8.c — lossless byte strings in BSON: U+FFFD-repaired string plus "<field>_hex" when the
 * original was not valid UTF-8 (see utf8.h). Owns nothing beyond each call. */
#include "utf8.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

size_t utf8_seq_len(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char c = s[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */

	if (c == 0)
		return 0;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		return 0; /* continuation byte, C0/C1 overlong lead, F5..FF */
	}
	if (len < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

bool utf8_valid(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t n = utf8_seq_len(s + i, len - i);

		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

int utf8_repair(const char *s, size_t len, char **ret, size_t *ret_len)
{
	static const char fffd[3] = { (char)0xef, (char)0xbf, (char)0xbd };
	size_t i = 0, o = 0;
	int bad = 0;
	char *out;

	if (utf8_valid(s, len))
		return 0;
	if (len > (SIZE_MAX - 1) / 3)
		return -ENOMEM;
	out = malloc(3 * len + 1); /* worst case: every byte replaced */
	if (!out)
		return -ENOMEM;
	while (i < len) {
		size_t n = utf8_seq_len(s + i, len - i);

		if (n == 0) {
			memcpy(out + o, fffd, sizeof(fffd));
			o += sizeof(fffd);
			i++;
			if (bad < INT32_MAX)
				bad++;
			continue;
		}
		memcpy(out + o, s + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	*ret = out;
	*ret_len = o;
	return bad;
}

void utf8_hex(const char *s, size_t len, char *ret)
{
	static const char digits[] = "0123456789ABCDEF";

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		ret[2 * i] = digits[c >> 4];
		ret[2 * i + 1] = digits[c & 0xf];
	}
	ret[2 * len] = '\0';
}

/* key + "_hex" into buf[UTF8_KEY_MAX + sizeof(UTF8_HEX_SUFFIX)]. */
static int hex_key(const char *key, char *buf)
{
	size_t kl = strlen(key);

	if (kl > UTF8_KEY_MAX)
		return -ENAMETOOLONG;
	memcpy(buf, key, kl);
	memcpy(buf + kl, UTF8_HEX_SUFFIX, sizeof(UTF8_HEX_SUFFIX));
	return 0;
}

static int append_hex(bson_t *doc, const char *key, const char *s, size_t len)
{
	char *hex;
	bool ok;

	if (len > (SIZE_MAX - 1) / 2 || 2 * len > INT32_MAX)
		return -EMSGSIZE;
	hex = malloc(2 * len + 1);
	if (!hex)
		return -ENOMEM;
	utf8_hex(s, len, hex);
	ok = bson_append_utf8(doc, key, -1, hex, (int)(2 * len));
	free(hex);
	return ok ? 0 : -EMSGSIZE;
}

/* key = repaired s; *ret_bad tells whether a _hex sibling is due. */
static int append_repaired(bson_t *doc, const char *key, const char *s, size_t len,
			   bool *ret_bad)
{
	char *fixed = NULL;
	size_t flen = 0;
	bool ok;
	int r;

	r = utf8_repair(s, len, &fixed, &flen);
	if (r < 0)
		return r;
	if (r == 0) {
		fixed = NULL;
		flen = len;
	}
	if (flen > INT32_MAX) {
		r = -EMSGSIZE;
		goto out;
	}
	ok = bson_append_utf8(doc, key, -1, fixed ? fixed : s, (int)flen);
	*ret_bad = fixed != NULL;
	r = ok ? 0 : -EMSGSIZE;
out:
	free(fixed);
	return r;
}

int utf8_append(bson_t *doc, const char *key, const char *s, size_t len)
{
	char hkey[UTF8_KEY_MAX + sizeof(UTF8_HEX_SUFFIX)];
	bool bad = false;
	int r;

	r = hex_key(key, hkey);
	if (r < 0)
		return r;
	r = append_repaired(doc, key, s, len, &bad);
	if (r < 0 || !bad)
		return r;
	return append_hex(doc, hkey, s, len);
}

int utf8_append_array(bson_t *doc, const char *key, const char *const *v, const size_t *lens,
		      size_t n)
{
	char hkey[UTF8_KEY_MAX + sizeof(UTF8_HEX_SUFFIX)], kbuf[16];
	bson_t arr, hex;
	const char *ik;
	size_t nbad = 0;
	int r;

	r = hex_key(key, hkey);
	if (r < 0)
		return r;
	if (n > UINT32_MAX)
		return -EMSGSIZE;
	if (!bson_append_array_begin(doc, key, -1, &arr))
		return -EMSGSIZE;
	for (size_t i = 0; i < n; i++) {
		bool bad = false;
		int k;

		bson_uint32_to_string((uint32_t)i, &ik, kbuf, sizeof(kbuf));
		k = append_repaired(&arr, ik, v[i], lens ? lens[i] : strlen(v[i]), &bad);
		if (k < 0 && r == 0)
			r = k;
		nbad += bad;
	}
	if (!bson_append_array_end(doc, &arr) && r == 0)
		r = -EMSGSIZE;
	if (r < 0 || nbad == 0)
		return r;
	if (!bson_append_document_begin(doc, hkey, -1, &hex))
		return -EMSGSIZE;
	for (size_t i = 0; i < n; i++) {
		size_t len = lens ? lens[i] : strlen(v[i]);
		int k;

		if (utf8_valid(v[i], len))
			continue;
		bson_uint32_to_string((uint32_t)i, &ik, kbuf, sizeof(kbuf));
		k = append_hex(&hex, ik, v[i], len);
		if (k < 0 && r == 0)
			r = k;
	}
	if (!bson_append_document_end(doc, &hex) && r == 0)
		r = -EMSGSIZE;
	return r;
}
