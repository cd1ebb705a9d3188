/* json_write.c — relaxed extended JSON of the listener's BSON documents into a reused buffer,
 * byte-for-byte libbson 1.23's bson_as_relaxed_extended_json() for the types it handles (see
 * json_write.h); -ENOTSUP for the rest, so the caller can fall back to libbson. */
#include "json_write.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "utf8.h"

#define JSON_MAX_DEPTH 100 /* libbson's own limit; deeper documents go to libbson */
#define DATE_ISO_MAX 253402300799999LL /* 9999-12-31T23:59:59.999Z: relaxed ISO up to here */

int json_write_reserve(struct json_write_buf *b, size_t n)
{
	return grow_bytes((void **)&b->data, &b->cap, b->len, n);
}

void json_write_buf_release(struct json_write_buf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* Callers reserve first; these only copy. */
static inline void put(struct json_write_buf *b, const char *s, size_t n)
{
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

#define PUT_LIT(b, lit) put((b), (lit), sizeof(lit) - 1)

static int put_checked(struct json_write_buf *b, const char *s, size_t n)
{
	int r = json_write_reserve(b, n);

	if (r < 0)
		return r;
	put(b, s, n);
	return 0;
}

/* A JSON string, escaped as bson_utf8_escape_for_json() does: \" \\ \b \f \n \r \t, other
 * bytes below 0x20 as \u00xx, everything else (DEL included) as is. Ill-formed UTF-8 and NUL
 * are -ENOTSUP (libbson refuses the first and escapes the second; neither occurs in our
 * documents, and the fallback keeps both exact). */
static int put_string(struct json_write_buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	char *o;
	int r;

	/* worst case: every byte becomes \u00xx, plus the quotes */
	if (len > (SIZE_MAX - 2) / 6)
		return -ENOMEM;
	r = json_write_reserve(b, 6 * len + 2);
	if (r < 0)
		return r;
	o = b->data + b->len;
	*o++ = '"';
	while (i < len) {
		unsigned char c = p[i];

		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			*o++ = (char)c;
			i++;
			continue;
		}
		if (c >= 0x80) {
			size_t n = utf8_seq_len(s + i, len - i);

			if (n == 0)
				return -ENOTSUP;
			memcpy(o, s + i, n);
			o += n;
			i += n;
			continue;
		}
		i++;
		*o++ = '\\';
		switch (c) {
		case '"':
		case '\\':
			*o++ = (char)c;
			break;
		case '\b':
			*o++ = 'b';
			break;
		case '\f':
			*o++ = 'f';
			break;
		case '\n':
			*o++ = 'n';
			break;
		case '\r':
			*o++ = 'r';
			break;
		case '\t':
			*o++ = 't';
			break;
		case '\0':
			return -ENOTSUP;
		default:
			*o++ = 'u';
			*o++ = '0';
			*o++ = '0';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 0xf];
			break;
		}
	}
	*o++ = '"';
	b->len = (size_t)(o - b->data);
	return 0;
}

/* Decimal of v into buf (>= 21 bytes), not terminated; returns the length. */
static size_t fmt_i64(int64_t v, char *buf)
{
	char tmp[24];
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	size_t n = 0, len = 0;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		buf[len++] = '-';
	while (n)
		buf[len++] = tmp[--n];
	return len;
}

static void put_2d(char *o, unsigned v)
{
	o[0] = (char)('0' + v / 10 % 10);
	o[1] = (char)('0' + v % 10);
}

/* { "$date" : "YYYY-MM-DDTHH:MM:SS[.mmm]Z" } for 0 <= ms <= DATE_ISO_MAX (caller checks). The
 * civil date from days since 1970 (H. Hinnant's days_from_civil inverse): no gmtime_r, which
 * takes the time zone lock. */
static int put_date(struct json_write_buf *b, int64_t ms)
{
	int64_t secs = ms / 1000, days = secs / 86400, z, era, doe, yoe, y, doy, mp;
	unsigned msec = (unsigned)(ms % 1000), sod = (unsigned)(secs % 86400), m, d;
	char *o;
	int r;

	z = days + 719468;
	era = z / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	y += m <= 2;

	r = json_write_reserve(b, 64);
	if (r < 0)
		return r;
	PUT_LIT(b, "{ \"$date\" : \"");
	o = b->data + b->len;
	put_2d(o, (unsigned)(y / 100));
	put_2d(o + 2, (unsigned)(y % 100));
	o[4] = '-';
	put_2d(o + 5, m);
	o[7] = '-';
	put_2d(o + 8, d);
	o[10] = 'T';
	put_2d(o + 11, sod / 3600);
	o[13] = ':';
	put_2d(o + 14, sod / 60 % 60);
	o[16] = ':';
	put_2d(o + 17, sod % 60);
	o += 19;
	if (msec) {
		*o++ = '.';
		*o++ = (char)('0' + msec / 100);
		put_2d(o, msec % 100);
		o += 2;
	}
	b->len = (size_t)(o - b->data);
	PUT_LIT(b, "Z\" }");
	return 0;
}

static int put_value(struct json_write_buf *b, const bson_iter_t *it, int depth);

/* The elements of a document or array: "{ " / "[ " items ", " … " }" / " ]". libbson writes
 * an empty nested document as "{  }" (and the top level one as "{ }", see below). */
static int put_container(struct json_write_buf *b, bson_iter_t *it, bool array, int depth)
{
	bool first = true;
	int r;

	if (depth > JSON_MAX_DEPTH)
		return -ENOTSUP;
	r = put_checked(b, array ? "[ " : "{ ", 2);
	if (r < 0)
		return r;
	while (bson_iter_next(it)) {
		if (!first) {
			r = put_checked(b, ", ", 2);
			if (r < 0)
				return r;
		}
		first = false;
		if (array) {
			/* not written, but libbson refuses an ill-formed one: accept only the
			 * decimal indexes its builders write */
			const char *key = bson_iter_key(it);

			for (const char *k = key; *k; k++)
				if (*k < '0' || *k > '9')
					return -ENOTSUP;
		} else {
			const char *key = bson_iter_key(it);

			r = put_string(b, key, strlen(key));
			if (r < 0)
				return r;
			r = put_checked(b, " : ", 3);
			if (r < 0)
				return r;
		}
		r = put_value(b, it, depth);
		if (r < 0)
			return r;
	}
	/* bson_iter_next() stops early on a corrupt document: libbson's encoder fails then */
	if (it->err_off)
		return -EINVAL;
	return put_checked(b, array ? " ]" : " }", 2);
}

static int put_value(struct json_write_buf *b, const bson_iter_t *it, int depth)
{
	char num[24];
	bson_iter_t child;
	const char *s;
	uint32_t len;
	int64_t ms;
	int r;

	switch (bson_iter_type(it)) {
	case BSON_TYPE_UTF8:
		s = bson_iter_utf8(it, &len);
		return put_string(b, s, len);
	case BSON_TYPE_INT32:
		return put_checked(b, num, fmt_i64(bson_iter_int32(it), num));
	case BSON_TYPE_INT64:
		return put_checked(b, num, fmt_i64(bson_iter_int64(it), num));
	case BSON_TYPE_BOOL:
		return bson_iter_bool(it) ? put_checked(b, "true", 4) : put_checked(b, "false", 5);
	case BSON_TYPE_NULL:
		return put_checked(b, "null", 4);
	case BSON_TYPE_OID:
		r = json_write_reserve(b, 40);
		if (r < 0)
			return r;
		PUT_LIT(b, "{ \"$oid\" : \"");
		bson_oid_to_string(bson_iter_oid(it), b->data + b->len); /* 24 hex + NUL */
		b->len += 24;
		PUT_LIT(b, "\" }");
		return 0;
	case BSON_TYPE_DATE_TIME:
		ms = bson_iter_date_time(it);
		if (ms < 0 || ms > DATE_ISO_MAX)
			return -ENOTSUP;
		return put_date(b, ms);
	case BSON_TYPE_DOCUMENT:
	case BSON_TYPE_ARRAY: {
		const uint8_t *data;
		uint32_t dlen;
		bson_t sub;

		/* bson_init_static checks the child's own length and terminator, which
		 * bson_iter_recurse does not; libbson's encoder skips such a child */
		if (bson_iter_type(it) == BSON_TYPE_ARRAY)
			bson_iter_array(it, &dlen, &data);
		else
			bson_iter_document(it, &dlen, &data);
		if (!bson_init_static(&sub, data, dlen) || !bson_iter_init(&child, &sub))
			return -EINVAL;
		return put_container(b, &child, bson_iter_type(it) == BSON_TYPE_ARRAY, depth + 1);
	}
	default:
		return -ENOTSUP;
	}
}

int json_write_relaxed(struct json_write_buf *b, const bson_t *doc)
{
	size_t start = b->len;
	bson_iter_t it;
	int r;

	if (!bson_iter_init(&it, doc))
		return -EINVAL;
	if (bson_empty(doc)) {
		r = put_checked(b, "{ }", 3);
	} else {
		r = put_container(b, &it, false, 0);
	}
	if (r < 0)
		b->len = start;
	return r;
}
