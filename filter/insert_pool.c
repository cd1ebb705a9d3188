/* insert_pool.c — parallel inserts of the filter's output (see insert_pool.h). Owns its
 * threads, their store clients and the batches queued. */
#include "insert_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

struct job {
	char *coll;
	bson_t **docs;
	size_t n;
};

struct ipool {
	pthread_mutex_t lock;
	pthread_cond_t more, room, idle;
	struct job q[IPOOL_QUEUE];
	size_t head, len, busy;
	bool closing;
	int r;
	char err[512];
	pthread_t th[8];
	struct store *st[8];
	size_t nth;
};

static void job_free(struct job *j)
{
	for (size_t i = 0; i < j->n; i++)
		bson_destroy(j->docs[i]);
	free(j->docs);
	free(j->coll);
}

struct worker_arg {
	struct ipool *p;
	size_t i;
};

static void *worker(void *arg)
{
	struct ipool *p = ((struct worker_arg *)arg)->p;
	struct store *st = p->st[((struct worker_arg *)arg)->i];

	free(arg);
	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct job j;
		struct store_insert_result res;
		char err[512];
		int r = 0;

		while (!p->len && !p->closing)
			pthread_cond_wait(&p->more, &p->lock);
		if (!p->len)
			break;
		j = p->q[p->head];
		p->head = (p->head + 1) % IPOOL_QUEUE;
		p->len--;
		p->busy++;
		pthread_cond_signal(&p->room);
		if (p->r == 0) {
			pthread_mutex_unlock(&p->lock);
			r = store_insert_many(st, j.coll, (const bson_t *const *)j.docs, j.n, &res, err,
					      sizeof(err));
			pthread_mutex_lock(&p->lock);
			if (r < 0 && p->r == 0) {
				p->r = r;
				snprintf(p->err, sizeof(p->err), "%s", err);
			}
		}
		job_free(&j);
		p->busy--;
		pthread_cond_broadcast(&p->idle);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int ipool_new(struct store *st, size_t nthreads, struct ipool **ret, char *err, size_t errlen)
{
	struct ipool *p = calloc(1, sizeof(*p));
	int r = 0;

	if (!p)
		return -ENOMEM;
	nthreads = nthreads ? nthreads : IPOOL_THREADS;
	if (nthreads > 8)
		nthreads = 8;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->more, NULL);
	pthread_cond_init(&p->room, NULL);
	pthread_cond_init(&p->idle, NULL);
	for (size_t i = 0; i < nthreads; i++) {
		struct worker_arg *a = malloc(sizeof(*a));

		if (!a || (r = store_clone(st, &p->st[i], err, errlen)) < 0) {
			free(a);
			r = r < 0 ? r : -ENOMEM;
			break;
		}
		a->p = p;
		a->i = i;
		if (pthread_create(&p->th[i], NULL, worker, a) != 0) {
			free(a);
			store_free(p->st[i]);
			p->st[i] = NULL;
			r = -EAGAIN;
			break;
		}
		p->nth++;
	}
	if (r < 0) {
		ipool_finish(p, NULL, 0);
		ipool_free(p);
		return r;
	}
	*ret = p;
	return 0;
}

int ipool_submit(struct ipool *p, const char *coll, bson_t **docs, size_t n)
{
	struct job j = { .coll = strdup(coll), .docs = docs, .n = n };
	int r;

	pthread_mutex_lock(&p->lock);
	while (p->len == IPOOL_QUEUE && p->r == 0)
		pthread_cond_wait(&p->room, &p->lock);
	r = p->r;
	if (r == 0 && !j.coll)
		r = -ENOMEM;
	if (r == 0) {
		p->q[(p->head + p->len) % IPOOL_QUEUE] = j;
		p->len++;
		pthread_cond_signal(&p->more);
	}
	pthread_mutex_unlock(&p->lock);
	if (r < 0)
		job_free(&j);
	return r;
}

int ipool_finish(struct ipool *p, char *err, size_t errlen)
{
	int r;

	pthread_mutex_lock(&p->lock);
	p->closing = true;
	pthread_cond_broadcast(&p->more);
	pthread_mutex_unlock(&p->lock);
	for (size_t i = 0; i < p->nth; i++)
		pthread_join(p->th[i], NULL);
	p->nth = 0;
	r = p->r;
	if (r < 0 && err && errlen)
		snprintf(err, errlen, "%s", p->err);
	return r;
}

void ipool_free(struct ipool *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->len; i++)
		job_free(&p->q[(p->head + i) % IPOOL_QUEUE]);
	for (size_t i = 0; i < 8; i++)
		store_free(p->st[i]);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->more);
	pthread_cond_destroy(&p->room);
	pthread_cond_destroy(&p->idle);
	free(p);
}
