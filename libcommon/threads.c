#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "threads.h"

struct job {
	qpool_body body;
	void *ctx;
	size_t n, grain;
	atomic_size_t next;
};

struct worker {
	struct job *job;
	int id;
};

static void
drain(struct job *j, int id)
{
	size_t b, e;

	for (;;) {
		b = atomic_fetch_add(&j->next, j->grain);
		if (b >= j->n)
			return;
		e = b + j->grain < j->n ? b + j->grain : j->n;
		j->body(j->ctx, b, e, id);
	}
}

static void *
run(void *arg)
{
	struct worker *w = arg;

	drain(w->job, w->id);
	return NULL;
}

void
qpool_for(int jobs, size_t n, size_t grain, qpool_body body, void *ctx)
{
	struct job j = { body, ctx, n, grain ? grain : 1, 0 };
	pthread_t tid[256];
	struct worker w[256];
	int i, started = 0;

	if (n == 0)
		return;
	if (jobs > 256)
		jobs = 256;
	if ((size_t)jobs > (n + j.grain - 1) / j.grain)
		jobs = (int)((n + j.grain - 1) / j.grain);
	for (i = 1; i < jobs; i++) {
		w[i].job = &j;
		w[i].id = i;
		if (pthread_create(&tid[i], NULL, run, &w[i]) != 0)
			break;	/* fewer threads; the work still gets done */
		started++;
	}
	drain(&j, 0);
	for (i = 1; i <= started; i++)
		pthread_join(tid[i], NULL);
}

int
qpool_ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}
