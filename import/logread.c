/* logread.c — line reader over zlib's gzFile (transparent for uncompressed input), one
 * buffer per file (logread.h). */
#include "logread.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define CHUNK (256u << 10)

struct logread {
	gzFile gz;
	int fd;
	bool is_stdin;
	char *buf;         /* [start, end) unread bytes */
	size_t start, end, cap;
	bool eof, skipping, failed;
	uint64_t lineno, size;
	char err[128];
};

int logread_open(const char *path, struct logread **ret)
{
	struct logread *r = calloc(1, sizeof(*r));
	struct stat stt;
	int fd;

	if (!r)
		return -ENOMEM;
	r->is_stdin = strcmp(path, "-") == 0;
	if (r->is_stdin) {
		fd = dup(STDIN_FILENO);
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0) {
		int e = -errno;

		free(r);
		return e;
	}
	if (fstat(fd, &stt) == 0 && S_ISREG(stt.st_mode))
		r->size = (uint64_t)stt.st_size;
	r->fd = fd;
	r->cap = LOGREAD_LINE_MAX + CHUNK;
	r->buf = malloc(r->cap + 1);
	r->gz = r->buf ? gzdopen(fd, "rb") : NULL;
	if (!r->gz) {
		close(fd);
		free(r->buf);
		free(r);
		return -ENOMEM;
	}
	gzbuffer(r->gz, CHUNK);
	*ret = r;
	return 0;
}

/* Read more after the unread bytes; 0, or -EIO. Sets eof. */
static int fill(struct logread *r)
{
	int n, errnum;

	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (r->end == r->cap)
		return 0;
	n = gzread(r->gz, r->buf + r->end, (unsigned)(r->cap - r->end > CHUNK ? CHUNK : r->cap - r->end));
	if (n < 0) {
		const char *m = gzerror(r->gz, &errnum);

		strncpy(r->err, m ? m : "read error", sizeof(r->err) - 1);
		r->failed = true;
		return -EIO;
	}
	if (n == 0) {
		const char *m = gzerror(r->gz, &errnum);

		/* a .gz cut short reads as end of file with Z_BUF_ERROR */
		if (errnum != Z_OK) {
			strncpy(r->err, m ? m : "truncated", sizeof(r->err) - 1);
			r->failed = true;
			return -EIO;
		}
		r->eof = true;
	}
	r->end += (size_t)n;
	return 0;
}

int logread_next(struct logread *r, const char **ret_line, size_t *ret_len, bool *ret_too_long)
{
	size_t scanned = 0;

	for (;;) {
		char *nl = memchr(r->buf + r->start + scanned, '\n', r->end - r->start - scanned);
		size_t avail;

		if (nl) {
			size_t len = (size_t)(nl - (r->buf + r->start));
			const char *line = r->buf + r->start;

			r->start += len + 1;
			if (r->skipping) { /* the tail of a line already returned cut */
				r->skipping = false;
				scanned = 0;
				continue;
			}
			r->lineno++;
			*ret_line = line;
			*ret_len = len > LOGREAD_LINE_MAX ? LOGREAD_LINE_MAX : len;
			*ret_too_long = len > LOGREAD_LINE_MAX;
			return 1;
		}
		avail = r->end - r->start;
		scanned = avail;
		if (avail >= LOGREAD_LINE_MAX) {
			const char *line = r->buf + r->start;

			if (r->skipping) {
				r->start = r->end;
				scanned = 0;
				continue;
			}
			r->lineno++;
			r->start += LOGREAD_LINE_MAX;
			r->skipping = true;
			*ret_line = line;
			*ret_len = LOGREAD_LINE_MAX;
			*ret_too_long = true;
			/* the bytes after the cut are skipped up to the next '\n' */
			return 1;
		}
		if (r->eof) {
			if (avail == 0 || r->skipping) {
				r->start = r->end;
				return 0;
			}
			r->lineno++;
			*ret_line = r->buf + r->start;
			*ret_len = avail;
			*ret_too_long = false;
			r->start = r->end;
			return 1;
		}
		if (fill(r) < 0)
			return -EIO;
		scanned = r->end - r->start > scanned ? scanned : 0;
	}
}

uint64_t logread_lineno(const struct logread *r)
{
	return r->lineno;
}

uint64_t logread_offset(const struct logread *r)
{
	z_off_t o = gzoffset(r->gz);

	return o > 0 ? (uint64_t)o : 0;
}

uint64_t logread_size(const struct logread *r)
{
	return r->size;
}

bool logread_compressed(const struct logread *r)
{
	return gzdirect(r->gz) == 0;
}

const char *logread_error(const struct logread *r)
{
	return r->err;
}

void logread_free(struct logread *r)
{
	if (!r)
		return;
	gzclose(r->gz); /* closes the fd (a dup of stdin for "-") */
	free(r->buf);
	free(r);
}
