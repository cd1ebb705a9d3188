/* when.c — parsing of the times lineage-query accepts (see when.h): relative to now,
 * named days, a bare clock time, ISO 8601 and friends, epoch seconds, and offsets after a
 * container's start. Owns nothing. */
#include "when.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Exactly mind..maxd digits, value into *ret; returns the end or NULL. */
static const char *num(const char *s, int mind, int maxd, int *ret)
{
	int v = 0, d = 0;

	while (s[d] >= '0' && s[d] <= '9' && d < maxd)
		v = v * 10 + (s[d++] - '0');
	if (d < mind)
		return NULL;
	*ret = v;
	return s + d;
}

/* "N[ms|s|m|h|d]" (no unit: seconds) → ms; days only when allow_days. */
static int parse_span(const char *s, bool allow_days, int64_t *ret_ms)
{
	char *end;
	long long v;
	int64_t mul;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || v < 0 || v > 1000LL * 3600 * 24 * 365)
		return -EINVAL;
	if (!strcmp(end, "ms"))
		mul = 1;
	else if (!*end || !strcmp(end, "s"))
		mul = 1000;
	else if (!strcmp(end, "m") || !strcmp(end, "min"))
		mul = 60000;
	else if (!strcmp(end, "h"))
		mul = 3600000;
	else if (allow_days && !strcmp(end, "d"))
		mul = 86400000;
	else
		return -EINVAL;
	*ret_ms = v * mul;
	return 0;
}

static int parse_epoch(const char *s, int64_t *ret_ms)
{
	int64_t sec = 0, ms = 0;
	int digits = 0, fd = 0;

	for (; *s >= '0' && *s <= '9'; s++, digits++) {
		if (sec > INT64_MAX / 10000)
			return -EINVAL;
		sec = sec * 10 + (*s - '0');
	}
	if (!digits)
		return -EINVAL;
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++, fd++)
			if (fd < 3)
				ms = ms * 10 + (*s - '0');
		if (!fd)
			return -EINVAL;
		for (; fd < 3; fd++)
			ms *= 10;
	}
	if (*s)
		return -EINVAL;
	*ret_ms = sec * 1000 + ms;
	return 0;
}

/* "HH:MM[:SS[.f]]" at p; sets h, mi, sec, ms and returns the end, or NULL. */
static const char *clock_part(const char *p, int *h, int *mi, int *sec, int *ms)
{
	int fd = 0;

	*sec = *ms = 0;
	if (!(p = num(p, 2, 2, h)) || *p++ != ':' || !(p = num(p, 2, 2, mi)))
		return NULL;
	if (*p == ':') {
		if (!(p = num(p + 1, 2, 2, sec)))
			return NULL;
		if (*p == '.' || *p == ',') {
			for (p++; *p >= '0' && *p <= '9'; p++, fd++)
				if (fd < 3)
					*ms = *ms * 10 + (*p - '0');
			if (!fd)
				return NULL;
			for (; fd < 3; fd++)
				*ms *= 10;
		}
	}
	if (*h > 23 || *mi > 59 || *sec > 60)
		return NULL;
	return p;
}

/* Broken-down time → epoch seconds, in UTC or local time (DST found by mktime). */
static int to_epoch(struct tm *tm, bool utc, time_t *ret)
{
	struct tm check = *tm;
	time_t t;

	tm->tm_isdst = -1;
	t = utc ? timegm(tm) : mktime(tm);
	/* -1 is also 1969-12-31 23:59:59 UTC: tell it from a failure by the fields */
	if (t == (time_t)-1 && !(check.tm_year == 69 && check.tm_mon == 11 && check.tm_mday == 31))
		return -EINVAL;
	*ret = t;
	return 0;
}

/* 00:00 of the day of now_ms, days_back days earlier. */
static int day_start(int64_t now_ms, int days_back, bool utc, int64_t *ret_ms)
{
	time_t now = (time_t)(now_ms / 1000), t;
	struct tm tm;

	if (!(utc ? gmtime_r(&now, &tm) : localtime_r(&now, &tm)))
		return -EINVAL;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_mday -= days_back; /* mktime/timegm normalise across months and years */
	if (to_epoch(&tm, utc, &t) < 0)
		return -EINVAL;
	*ret_ms = (int64_t)t * 1000;
	return 0;
}

/* A bare clock time: today at HH:MM[:SS[.mmm]]. */
static int parse_clock(const char *s, bool utc, int64_t now_ms, int64_t *ret_ms)
{
	int h, mi, sec, ms;
	const char *p = clock_part(s, &h, &mi, &sec, &ms);
	int64_t day;

	if (!p || *p || day_start(now_ms, 0, utc, &day) < 0)
		return -EINVAL;
	if (!utc) {
		/* through mktime again: a DST change today moves the clock */
		time_t now = (time_t)(now_ms / 1000), t;
		struct tm tm;

		if (!localtime_r(&now, &tm))
			return -EINVAL;
		tm.tm_hour = h;
		tm.tm_min = mi;
		tm.tm_sec = sec;
		if (to_epoch(&tm, false, &t) < 0)
			return -EINVAL;
		*ret_ms = (int64_t)t * 1000 + ms;
		return 0;
	}
	*ret_ms = day + ((int64_t)h * 3600 + mi * 60 + sec) * 1000 + ms;
	return 0;
}

static int parse_date_time(const char *s, bool utc, int64_t *ret_ms)
{
	struct tm tm = { 0 };
	int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, oh = 0, om = 0;
	int64_t offset_s = 0;
	bool has_offset = false;
	const char *p = s;
	time_t t;

	if (!(p = num(p, 4, 4, &y)) || *p++ != '-' || !(p = num(p, 2, 2, &mo)) || *p++ != '-' ||
	    !(p = num(p, 2, 2, &d)))
		return -EINVAL;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		if (!(p = clock_part(p + 1, &h, &mi, &sec, &ms)))
			return -EINVAL;
		if (*p == 'Z' || *p == 'z') {
			utc = true;
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p == '-' ? -1 : 1;

			if (!(p = num(p + 1, 2, 2, &oh)))
				return -EINVAL;
			if (*p == ':')
				p++;
			if (*p && !(p = num(p, 2, 2, &om)))
				return -EINVAL;
			if (oh > 23 || om > 59)
				return -EINVAL;
			offset_s = sign * (oh * 3600 + om * 60);
			has_offset = true;
		}
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	if (to_epoch(&tm, utc || has_offset, &t) < 0)
		return -EINVAL;
	*ret_ms = ((int64_t)t - offset_s) * 1000 + ms;
	return 0;
}

int when_parse(const char *s, bool utc, int64_t now_ms, int64_t *ret_ms, bool *ret_rel)
{
	int64_t v;

	if (!s || !*s)
		return -EINVAL;
	*ret_rel = false;
	if (*s == '+') {
		if (parse_span(s + 1, false, &v) < 0)
			return -EINVAL;
		*ret_ms = v;
		*ret_rel = true;
		return 0;
	}
	if (*s == '-') {
		if (parse_span(s + 1, true, &v) < 0)
			return -EINVAL;
		*ret_ms = now_ms - v;
		return 0;
	}
	if (*s == '@')
		return parse_epoch(s + 1, ret_ms);
	if (!strcmp(s, "now")) {
		*ret_ms = now_ms;
		return 0;
	}
	if (!strcmp(s, "today"))
		return day_start(now_ms, 0, utc, ret_ms);
	if (!strcmp(s, "yesterday"))
		return day_start(now_ms, 1, utc, ret_ms);
	if (s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' && s[2] == ':')
		return parse_clock(s, utc, now_ms, ret_ms);
	return parse_date_time(s, utc, ret_ms);
}

int64_t when_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
