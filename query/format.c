/* format.c — rendering of times, durations, argv and ids for lineage-query's text and dot
 * output (see format.h). Owns nothing: every function writes into the caller's buffer. */
#include "format.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

char *fmt_time(int64_t ms, bool utc, bool with_date, char *buf, size_t len)
{
	struct tm tm;
	time_t sec;
	int64_t msec;
	char tmp[40];

	if (!len)
		return buf;
	if (ms == FMT_NO_TIME) {
		snprintf(buf, len, "-");
		return buf;
	}
	/* floor division, so that times before 1970 still show the right second */
	sec = (time_t)(ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000));
	msec = ms - (int64_t)sec * 1000;
	if (!(utc ? gmtime_r(&sec, &tm) : localtime_r(&sec, &tm))) {
		snprintf(buf, len, "?");
		return buf;
	}
	strftime(tmp, sizeof(tmp), with_date ? "%Y-%m-%d %H:%M:%S" : "%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03d%s", tmp, (int)msec, utc ? "Z" : "");
	return buf;
}

char *fmt_duration(int64_t ms, char *buf, size_t len)
{
	if (ms == FMT_NO_TIME || ms < 0)
		snprintf(buf, len, "-");
	else if (ms < 1000)
		snprintf(buf, len, "%dms", (int)ms);
	else if (ms < 60000)
		snprintf(buf, len, "%d.%03ds", (int)(ms / 1000), (int)(ms % 1000));
	else if (ms < 3600000)
		snprintf(buf, len, "%dm%02ds", (int)(ms / 60000), (int)(ms / 1000 % 60));
	else
		snprintf(buf, len, "%lldh%02dm", (long long)(ms / 3600000), (int)(ms / 60000 % 60));
	return buf;
}

/* Append c to buf[*pos] if it fits (keeping room for the NUL). */
static void put(char *buf, size_t len, size_t *pos, const char *s, size_t n)
{
	if (*pos >= len)
		return;
	if (n > len - 1 - *pos)
		n = len - 1 - *pos;
	memcpy(buf + *pos, s, n);
	*pos += n;
	buf[*pos] = '\0';
}

static bool needs_quotes(const char *a)
{
	if (!*a)
		return true;
	for (const unsigned char *p = (const unsigned char *)a; *p; p++)
		if (*p <= ' ' || *p == 0x7f || strchr("'\"\\$`!*?[]{}()<>|&;#~", *p))
			return true;
	return false;
}

char *fmt_argv(const char *const *argv, size_t n, char *buf, size_t len)
{
	size_t pos = 0;
	char esc[8];

	if (!len)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *a = argv[i] ? argv[i] : "";
		bool q = needs_quotes(a);

		if (i)
			put(buf, len, &pos, " ", 1);
		if (q)
			put(buf, len, &pos, "'", 1);
		for (const unsigned char *p = (const unsigned char *)a; *p; p++) {
			if (*p == '\'')
				put(buf, len, &pos, "'\\''", 4);
			else if (*p == '\n')
				put(buf, len, &pos, "\\n", 2);
			else if (*p == '\t')
				put(buf, len, &pos, "\\t", 2);
			else if (*p < ' ' || *p == 0x7f) {
				snprintf(esc, sizeof(esc), "\\x%02x", *p);
				put(buf, len, &pos, esc, 4);
			} else {
				put(buf, len, &pos, (const char *)p, 1);
			}
		}
		if (q)
			put(buf, len, &pos, "'", 1);
	}
	return buf;
}

void fmt_fit(char *s, size_t width)
{
	size_t cols = 0, i, cut = 0;

	if (!width)
		return;
	for (i = 0; s[i]; i++) {
		if (((unsigned char)s[i] & 0xc0) == 0x80)
			continue; /* UTF-8 continuation byte: same column */
		if (cols == width - 1)
			cut = i; /* where "…" goes if the text is longer than width */
		cols++;
		if (cols > width)
			break;
	}
	if (cols <= width)
		return;
	/* "…" is 3 bytes; the character it replaces was at least 1, so make room safely:
	 * s had more than width characters, hence at least cut + 2 bytes. */
	if (strlen(s + cut) >= 3) {
		memcpy(s + cut, "\xe2\x80\xa6", 3);
		s[cut + 3] = '\0';
	} else {
		s[cut] = '~';
		s[cut + 1] = '\0';
	}
}

char *fmt_dot_escape(const char *s, char *buf, size_t len)
{
	size_t pos = 0;

	if (!len)
		return buf;
	buf[0] = '\0';
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\') {
			char e[2] = { '\\', *s };

			put(buf, len, &pos, e, 2);
		} else if (*s == '\n') {
			put(buf, len, &pos, "\\n", 2);
		} else {
			put(buf, len, &pos, s, 1);
		}
	}
	return buf;
}

char *fmt_short_id(const char *id, char *buf, size_t len)
{
	snprintf(buf, len, "%.12s", id ? id : "-");
	return buf;
}
