/* spool.c — the on-disk BSON journal (see spool.h). Owns the spool directory's lock file,
 * one open segment file per collection being appended, and the readers' buffers.
 *
 * Records are written as the documents' own bytes (the BSON framing is the record framing)
 * with plain write(2): one write per spool_append_many() call, so a crash can tear at most
 * the last call. Reading uses its own framing loop rather than bson_reader_t, because
 * bson_reader_t grows its buffer to whatever a (possibly corrupt) length field says and
 * reports a truncated final record as a clean end of file: both must be seen here. */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define SUFFIX ".bson"
#define SUFFIX_OPEN ".bson.open"
#define NUMBER_DIGITS 16

struct open_segment {
	char collection[SPOOL_MAX_COLLECTION + 1];
	uint64_t number;
	int fd; /* -1: none open for this collection */
	size_t docs, bytes;
};

struct spool {
	pthread_mutex_t lock;
	char *dir;
	int dir_fd;  /* for fsync after rename/unlink */
	int lock_fd; /* flock'd DIR/.lock */
	size_t max_docs, max_bytes;
	uint64_t next_number;
	struct open_segment *segs;
	size_t nsegs;
	struct spool_stats st;
};

struct spool_reader {
	FILE *f;
	uint8_t *buf;
	size_t cap;
	bson_t doc;
	bool done;
	uint64_t torn, skipped;
};

static bool collection_ok(const char *c)
{
	size_t n = 0;

	for (; c[n]; n++) {
		char ch = c[n];

		if (n >= SPOOL_MAX_COLLECTION)
			return false;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
			return false;
	}
	return n > 0;
}

/* "<collection>.<16 digits>.bson[.open]" → its parts. */
static bool parse_name(const char *name, char *ret_coll, uint64_t *ret_number, bool *ret_open)
{
	size_t len = strlen(name), stem;
	const char *digits;
	bool is_open;
	uint64_t num = 0;

	if (len > strlen(SUFFIX_OPEN) && strcmp(name + len - strlen(SUFFIX_OPEN), SUFFIX_OPEN) == 0) {
		is_open = true;
		stem = len - strlen(SUFFIX_OPEN);
	} else if (len > strlen(SUFFIX) && strcmp(name + len - strlen(SUFFIX), SUFFIX) == 0) {
		is_open = false;
		stem = len - strlen(SUFFIX);
	} else {
		return false;
	}
	if (stem < NUMBER_DIGITS + 2 || name[stem - NUMBER_DIGITS - 1] != '.')
		return false;
	digits = name + stem - NUMBER_DIGITS;
	for (int i = 0; i < NUMBER_DIGITS; i++) {
		if (digits[i] < '0' || digits[i] > '9')
			return false;
		num = num * 10 + (uint64_t)(digits[i] - '0');
	}
	stem -= NUMBER_DIGITS + 1;
	if (stem > SPOOL_MAX_COLLECTION)
		return false;
	memcpy(ret_coll, name, stem);
	ret_coll[stem] = '\0';
	if (!collection_ok(ret_coll))
		return false;
	*ret_number = num;
	*ret_open = is_open;
	return true;
}

static char *segment_path(const char *dir, const char *coll, uint64_t number, bool is_open)
{
	char *p;

	if (asprintf(&p, "%s/%s.%016" PRIu64 "%s", dir, coll, number,
		     is_open ? SUFFIX_OPEN : SUFFIX) < 0)
		return NULL;
	return p;
}

static int write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* fsync and rename "….open" to "….bson" (or unlink it when empty). The fd is closed even on
 * failure; the first error is returned. Caller holds the lock. */
static int segment_close(struct spool *sp, struct open_segment *seg)
{
	char *from = NULL, *to = NULL;
	int r = 0;

	if (seg->fd < 0)
		return 0;
	if (seg->docs > 0 && fsync(seg->fd) < 0)
		r = -errno;
	close(seg->fd);
	seg->fd = -1;
	from = segment_path(sp->dir, seg->collection, seg->number, true);
	to = segment_path(sp->dir, seg->collection, seg->number, false);
	if (!from || !to) {
		r = r ? r : -ENOMEM;
		goto out;
	}
	if (seg->docs == 0) {
		if (unlink(from) < 0 && r == 0)
			r = -errno;
	} else {
		if (rename(from, to) < 0 && r == 0)
			r = -errno;
		sp->st.segments_closed++;
	}
	if (fsync(sp->dir_fd) < 0 && r == 0)
		r = -errno;
	sp->st.open_docs -= seg->docs;
	seg->docs = seg->bytes = 0;
out:
	free(from);
	free(to);
	return r;
}

static int segment_open(struct spool *sp, struct open_segment *seg)
{
	char *path = segment_path(sp->dir, seg->collection, sp->next_number, true);
	int fd;

	if (!path)
		return -ENOMEM;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	free(path);
	if (fd < 0)
		return -errno;
	seg->fd = fd;
	seg->number = sp->next_number++;
	seg->docs = seg->bytes = 0;
	return 0;
}

/* Close a ".open" file a previous run left: it holds what that run spooled. */
static int recover_open(struct spool *sp, const char *coll, uint64_t number)
{
	struct open_segment seg = { .number = number, .fd = -1 };
	char *path = segment_path(sp->dir, coll, number, true);
	struct stat s;
	int r;

	if (!path)
		return -ENOMEM;
	strcpy(seg.collection, coll);
	seg.fd = open(path, O_RDONLY | O_CLOEXEC);
	r = seg.fd < 0 ? -errno : 0;
	if (r == 0 && fstat(seg.fd, &s) < 0)
		r = -errno;
	free(path);
	if (r < 0) {
		if (seg.fd >= 0)
			close(seg.fd);
		return r;
	}
	seg.docs = s.st_size > 0 ? 1 : 0; /* only "empty or not" matters to segment_close */
	sp->st.open_docs += seg.docs;
	return segment_close(sp, &seg);
}

int spool_open(const char *dir, size_t segment_max_docs, size_t segment_max_bytes,
	       struct spool **ret)
{
	struct spool *sp;
	DIR *d = NULL;
	struct dirent *de;
	uint64_t max_number = 0;
	char *lock_path = NULL;
	int r = 0;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	sp = calloc(1, sizeof(*sp));
	if (!sp)
		return -ENOMEM;
	pthread_mutex_init(&sp->lock, NULL);
	sp->dir_fd = sp->lock_fd = -1;
	sp->max_docs = segment_max_docs ? segment_max_docs : SPOOL_DEFAULT_SEGMENT_DOCS;
	sp->max_bytes = segment_max_bytes ? segment_max_bytes : SPOOL_DEFAULT_SEGMENT_BYTES;
	sp->dir = strdup(dir);
	if (!sp->dir || asprintf(&lock_path, "%s/.lock", dir) < 0) {
		lock_path = NULL;
		r = -ENOMEM;
		goto out_free;
	}
	sp->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->dir_fd < 0) {
		r = -errno;
		goto out_free;
	}
	sp->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (sp->lock_fd < 0) {
		r = -errno;
		goto out_free;
	}
	if (flock(sp->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		goto out_free;
	}

	/* First pass: the highest number in use; second: close what a crash left open. */
	for (int pass = 0; pass < 2; pass++) {
		d = opendir(dir);
		if (!d) {
			r = -errno;
			goto out_free;
		}
		while ((de = readdir(d))) {
			char coll[SPOOL_MAX_COLLECTION + 1];
			uint64_t num;
			bool is_open;

			char stem[NAME_MAX + 1];
			size_t nlen = strlen(de->d_name);
			bool rejected = nlen > 9 && nlen <= NAME_MAX &&
					strcmp(de->d_name + nlen - 9, ".rejected") == 0;

			/* set-aside and quarantined files keep their number: never reuse it */
			if (rejected) {
				memcpy(stem, de->d_name, nlen - 9);
				stem[nlen - 9] = '\0';
			}
			if (!parse_name(rejected ? stem : de->d_name, coll, &num, &is_open))
				continue;
			if (rejected)
				is_open = false;
			if (pass == 0 && num > max_number)
				max_number = num;
			if (pass == 1 && is_open) {
				r = recover_open(sp, coll, num);
				if (r < 0)
					goto out_free;
			}
		}
		closedir(d);
		d = NULL;
	}
	sp->next_number = max_number + 1;
	free(lock_path);
	*ret = sp;
	return 0;

out_free:
	if (d)
		closedir(d);
	free(lock_path);
	spool_free(sp);
	return r;
}

void spool_free(struct spool *sp)
{
	if (!sp)
		return;
	spool_flush(sp);
	if (sp->dir_fd >= 0)
		close(sp->dir_fd);
	if (sp->lock_fd >= 0)
		close(sp->lock_fd); /* releases the flock */
	pthread_mutex_destroy(&sp->lock);
	free(sp->segs);
	free(sp->dir);
	free(sp);
}

const char *spool_dir(const struct spool *sp)
{
	return sp->dir;
}

static struct open_segment *segment_for(struct spool *sp, const char *coll)
{
	struct open_segment *segs;

	for (size_t i = 0; i < sp->nsegs; i++)
		if (strcmp(sp->segs[i].collection, coll) == 0)
			return &sp->segs[i];
	segs = realloc(sp->segs, (sp->nsegs + 1) * sizeof(*segs));
	if (!segs)
		return NULL;
	sp->segs = segs;
	memset(&segs[sp->nsegs], 0, sizeof(*segs));
	strcpy(segs[sp->nsegs].collection, coll);
	segs[sp->nsegs].fd = -1;
	return &segs[sp->nsegs++];
}

int spool_append_many(struct spool *sp, const char *collection, const bson_t *const *docs,
		      size_t n)
{
	struct open_segment *seg;
	uint8_t *buf = NULL;
	const uint8_t *data;
	size_t total = 0, off = 0;
	int r;

	if (!collection_ok(collection))
		return -EINVAL;
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		total += docs[i]->len;
	/* One write per call: a crash tears at most this call's last record. */
	if (n == 1) {
		data = bson_get_data(docs[0]);
	} else {
		buf = malloc(total);
		if (!buf)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++) {
			memcpy(buf + off, bson_get_data(docs[i]), docs[i]->len);
			off += docs[i]->len;
		}
		data = buf;
	}

	pthread_mutex_lock(&sp->lock);
	seg = segment_for(sp, collection);
	if (!seg) {
		r = -ENOMEM;
		goto out;
	}
	if (seg->fd >= 0 && seg->docs > 0 &&
	    (seg->docs + n > sp->max_docs || seg->bytes + total > sp->max_bytes)) {
		r = segment_close(sp, seg);
		if (r < 0)
			goto out;
	}
	if (seg->fd < 0) {
		r = segment_open(sp, seg);
		if (r < 0)
			goto out;
	}
	r = write_all(seg->fd, data, total);
	if (r < 0) {
		/* Leave nothing of this call behind; if even that fails, close the segment so
		 * that the torn tail ends it and later records stay framed. */
		if (ftruncate(seg->fd, (off_t)seg->bytes) < 0 || seg->docs == 0) {
			segment_close(sp, seg);
		}
		goto out;
	}
	seg->docs += n;
	seg->bytes += total;
	sp->st.appended += n;
	sp->st.open_docs += n;
	if (seg->docs >= sp->max_docs || seg->bytes >= sp->max_bytes)
		r = segment_close(sp, seg); /* the records are written; a failed fsync is reported */
out:
	if (r < 0)
		sp->st.append_errors++;
	pthread_mutex_unlock(&sp->lock);
	free(buf);
	return r;
}

int spool_append(struct spool *sp, const char *collection, const bson_t *doc)
{
	return spool_append_many(sp, collection, &doc, 1);
}

int spool_flush(struct spool *sp)
{
	int r = 0;

	pthread_mutex_lock(&sp->lock);
	for (size_t i = 0; i < sp->nsegs; i++) {
		int k = segment_close(sp, &sp->segs[i]);

		if (k < 0 && r == 0)
			r = k;
	}
	pthread_mutex_unlock(&sp->lock);
	return r;
}

static int segment_cmp(const void *a, const void *b)
{
	const struct spool_segment *x = a, *y = b;

	return x->number < y->number ? -1 : x->number > y->number;
}

void spool_segments_free(struct spool_segment *segs, size_t n)
{
	if (!segs)
		return;
	for (size_t i = 0; i < n; i++)
		free(segs[i].path);
	free(segs);
}

int spool_list(struct spool *sp, struct spool_segment **ret, size_t *ret_n)
{
	struct spool_segment *segs = NULL, *grown;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int r = 0;

	d = opendir(sp->dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct spool_segment s;
		bool is_open;

		if (!parse_name(de->d_name, s.collection, &s.number, &is_open) || is_open)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			grown = realloc(segs, cap * sizeof(*segs));
			if (!grown) {
				r = -ENOMEM;
				goto out;
			}
			segs = grown;
		}
		s.path = segment_path(sp->dir, s.collection, s.number, false);
		if (!s.path) {
			r = -ENOMEM;
			goto out;
		}
		segs[n++] = s;
	}
	if (n > 1)
		qsort(segs, n, sizeof(*segs), segment_cmp);
out:
	closedir(d);
	if (r < 0) {
		spool_segments_free(segs, n);
		return r;
	}
	*ret = segs;
	*ret_n = n;
	return 0;
}

int spool_remove(struct spool *sp, const struct spool_segment *seg)
{
	if (unlink(seg->path) < 0)
		return -errno;
	if (fsync(sp->dir_fd) < 0)
		return -errno;
	return 0;
}

int spool_quarantine(struct spool *sp, const struct spool_segment *seg)
{
	char *to;
	int r = 0;

	if (asprintf(&to, "%s.rejected", seg->path) < 0)
		return -ENOMEM;
	if (rename(seg->path, to) < 0)
		r = -errno;
	else if (fsync(sp->dir_fd) < 0)
		r = -errno;
	free(to);
	return r;
}

int spool_set_aside(struct spool *sp, const char *collection, const bson_t *const *docs,
		    size_t n)
{
	char *base, *path = NULL;
	uint64_t number;
	int fd, r = 0;

	if (!collection_ok(collection))
		return -EINVAL;
	if (n == 0)
		return 0;
	pthread_mutex_lock(&sp->lock);
	number = sp->next_number++;
	pthread_mutex_unlock(&sp->lock);
	base = segment_path(sp->dir, collection, number, false);
	if (!base || asprintf(&path, "%s.rejected", base) < 0) {
		free(base);
		return -ENOMEM;
	}
	free(base);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	free(path);
	if (fd < 0)
		return -errno;
	for (size_t i = 0; i < n && r == 0; i++)
		r = write_all(fd, bson_get_data(docs[i]), docs[i]->len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (r == 0 && fsync(sp->dir_fd) < 0)
		r = -errno;
	return r;
}

void spool_get_stats(struct spool *sp, struct spool_stats *ret)
{
	pthread_mutex_lock(&sp->lock);
	*ret = sp->st;
	pthread_mutex_unlock(&sp->lock);
}

int spool_reader_open(const char *path, struct spool_reader **ret)
{
	/* bson_t asks for 128-byte alignment, which calloc does not promise */
	struct spool_reader *rd = aligned_alloc(_Alignof(struct spool_reader), sizeof(*rd));

	if (!rd)
		return -ENOMEM;
	memset(rd, 0, sizeof(*rd));
	rd->f = fopen(path, "rbe");
	if (!rd->f) {
		int r = -errno;

		free(rd);
		return r;
	}
	*ret = rd;
	return 0;
}

/* The file cannot be framed past here: count the rest as skipped and stop. */
static int reader_give_up(struct spool_reader *rd, size_t consumed)
{
	struct stat s;
	long pos = ftell(rd->f);

	rd->torn++;
	rd->skipped += consumed;
	if (pos >= 0 && fstat(fileno(rd->f), &s) == 0 && s.st_size > pos)
		rd->skipped += (uint64_t)(s.st_size - pos);
	rd->done = true;
	return 0;
}

int spool_reader_next(struct spool_reader *rd, const bson_t **ret_doc)
{
	for (;;) {
		uint8_t hdr[4];
		uint32_t len;
		size_t n;

		if (rd->done)
			return 0;
		n = fread(hdr, 1, sizeof(hdr), rd->f);
		if (n < sizeof(hdr)) {
			if (ferror(rd->f))
				return -EIO;
			if (n == 0) {
				rd->done = true;
				return 0;
			}
			return reader_give_up(rd, n);
		}
		len = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 |
		      (uint32_t)hdr[3] << 24;
		if (len < 5 || len > SPOOL_MAX_DOC_BYTES)
			return reader_give_up(rd, sizeof(hdr));
		if (len > rd->cap) {
			uint8_t *b = realloc(rd->buf, len);

			if (!b)
				return -ENOMEM;
			rd->buf = b;
			rd->cap = len;
		}
		memcpy(rd->buf, hdr, sizeof(hdr));
		n = fread(rd->buf + sizeof(hdr), 1, len - sizeof(hdr), rd->f);
		if (n < len - sizeof(hdr)) {
			if (ferror(rd->f))
				return -EIO;
			return reader_give_up(rd, sizeof(hdr) + n);
		}
		if (!bson_init_static(&rd->doc, rd->buf, len) ||
		    !bson_validate(&rd->doc, BSON_VALIDATE_NONE, NULL)) {
			/* framed but not BSON: skip this record alone */
			rd->torn++;
			rd->skipped += len;
			continue;
		}
		*ret_doc = &rd->doc;
		return 1;
	}
}

uint64_t spool_reader_torn(const struct spool_reader *rd)
{
	return rd->torn;
}

uint64_t spool_reader_skipped_bytes(const struct spool_reader *rd)
{
	return rd->skipped;
}

void spool_reader_free(struct spool_reader *rd)
{
	if (!rd)
		return;
	if (rd->f)
		fclose(rd->f);
	free(rd->buf);
	free(rd);
}
