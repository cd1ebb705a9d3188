/* jsonl_out.c — JSON-lines output of documents; owns its FILE and a mutex. */
#include "jsonl_out.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct jsonl_out {
	pthread_mutex_t lock;
	char *path;
	FILE *f;
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

int jsonl_out_write(struct jsonl_out *o, const char *collection, const bson_t *doc)
{
	size_t len;
	char *json = bson_as_relaxed_extended_json(doc, &len);
	int r = 0;

	if (!json)
		return -EINVAL;
	pthread_mutex_lock(&o->lock);
	/* {"collection": "events", <the document's own fields>} without re-encoding it */
	if (fprintf(o->f, "{\"collection\": \"%s\", %s\n", collection, json + 1) < 0)
		r = -EIO;
	pthread_mutex_unlock(&o->lock);
	bson_free(json);
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
	free(o->path);
	free(o);
}
