/* jsonl_out.c — JSON-lines output of documents; owns its FILE and a mutex. */
#include "jsonl_out.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json_write.h"

struct jsonl_out {
	pthread_mutex_t lock;
	char *path;
	FILE *f;
	struct json_write_buf line; /* reused for every line, under lock */
};

/* The output records what the host did: created 0600 (fopen would make it 0666 & ~umask). */
static FILE *open_path(const char *path)
{
	FILE *f;
	int fd;

	if (strcmp(path, "-") == 0)
		return stdout;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return NULL;
	f = fdopen(fd, "a");
	if (!f) {
		int e = errno;

		close(fd);
		errno = e;
	}
	return f;
}

int jsonl_out_open(const char *path, struct jsonl_out **ret)
{
	struct jsonl_out *o = calloc(1, sizeof(*o));

	if (!o)
		return -ENOMEM;
	o->path = strdup(path);
	o->f = o->path ? open_path(path) : NULL;
	if (!o->f) {
		int r = o->path ? -errno : -ENOMEM;

		free(o->path);
		free(o);
		return r;
	}
	pthread_mutex_init(&o->lock, NULL);
	*ret = o;
	return 0;
}

/* libbson's encoder: the documents json_write does not handle (json_write.h). */
static int write_fallback(struct jsonl_out *o, const char *collection, const bson_t *doc)
{
	size_t len;
	char *json = bson_as_relaxed_extended_json(doc, &len);
	int r = 0;

	if (!json)
		return -EINVAL;
	/* {"collection": "events", <the document's own fields>} without re-encoding it */
	if (fprintf(o->f, "{\"collection\": \"%s\", %s\n", collection, json + 1) < 0)
		r = -EIO;
	bson_free(json);
	return r;
}

int jsonl_out_write(struct jsonl_out *o, const char *collection, const bson_t *doc)
{
	struct json_write_buf *b = &o->line;
	size_t clen = strlen(collection), at;
	int r;

	pthread_mutex_lock(&o->lock);
	/* the same line as write_fallback: `{"collection": "<c>",` then the document's JSON with
	 * its opening brace turned into a blank ("{ " → "  ") */
	b->len = 0;
	r = json_write_reserve(b, clen + 32);
	if (r < 0)
		goto out;
	memcpy(b->data, "{\"collection\": \"", 16);
	memcpy(b->data + 16, collection, clen);
	memcpy(b->data + 16 + clen, "\",", 2);
	b->len = at = 18 + clen;
	r = json_write_relaxed(b, doc);
	if (r == 0)
		r = json_write_reserve(b, 1);
	if (r < 0) {
		r = write_fallback(o, collection, doc);
		goto out;
	}
	b->data[at] = ' ';
	b->data[b->len++] = '\n';
	if (fwrite(b->data, 1, b->len, o->f) != b->len)
		r = -EIO;
out:
	/* a huge document should not pin its buffer for the rest of the run */
	if (b->cap > (1u << 20))
		json_write_buf_release(b);
	pthread_mutex_unlock(&o->lock);
	return r;
}

int jsonl_out_reopen(struct jsonl_out *o)
{
	FILE *f;
	int r = 0;

	pthread_mutex_lock(&o->lock);
	if (o->f == stdout) {
		fflush(o->f);
		goto out;
	}
	f = open_path(o->path);
	if (!f) {
		r = -errno;
		goto out;
	}
	fclose(o->f);
	o->f = f;
out:
	pthread_mutex_unlock(&o->lock);
	return r;
}

void jsonl_out_free(struct jsonl_out *o)
{
	if (!o)
		return;
	if (o->f && o->f != stdout)
		fclose(o->f);
	else if (o->f)
		fflush(o->f);
	pthread_mutex_destroy(&o->lock);
	json_write_buf_release(&o->line);
	free(o->path);
	free(o);
}
