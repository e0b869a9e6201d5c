/* src/promql/par.c - rate, increase and delta rows computed on worker
 * threads ahead of the series-by-series consumer.
 *
 * Range evaluation spends nearly all its time in the per-step window loop
 * of rate/increase/delta (sg_promql__rate_rows), and that loop reads only
 * its own series: rows can be computed in any order as long as they are
 * consumed in series order. The series are cut into batches; two batch
 * buffers alternate. Worker threads and the consuming thread take the
 * next series of the oldest unfinished batch; the consumer (eval.c's
 * producer loop) takes results strictly in order, so everything that
 * depends on order - the sample accounting, labels built in the arena,
 * the sink's folding - stays on the calling thread, unchanged.
 *
 * What a worker does not do: allocate (every buffer, the reset positions
 * included, is sized before the threads start, so the allocation fault
 * hook stays deterministic), touch the evaluator's state, or decide
 * anything about the sample limit: it records the largest window, and
 * the consumer checks it against the room it has at that series, which is
 * the check rate_rows makes step by step. A series with a stale marker is
 * only flagged; the consumer evaluates it itself.
 *
 * It does not pick functions or decide whether to run threads; eval.c does.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "promql/eval_int.h"

#define BATCH       128 /* series per batch */
#define MAX_WORKERS 3

struct par_slot {
    struct ev_row row; /* views into the batch buffer */
    size_t held, maxw;
    bool stale;
};

struct par_batch {
    double *v;    /* BATCH * steps */
    uint8_t *has; /* BATCH * steps */
    struct par_slot slot[BATCH];
    atomic_size_t done; /* series of the batch computed */
};

struct par_worker {
    struct ev_par *p;
    struct ev_rstate rs;
    struct ev_enh enh;
    pthread_t thread;
    bool started;
};

/* Series i belongs to batch i / BATCH, whose buffer is b[(i / BATCH) % 2].
 * Whoever takes i from `next` computes it, once its batch's buffer is free:
 * i < limit. The consumer frees a buffer when it is done with its batch. */
struct ev_par {
    struct ev *ev;
    const struct sg_series_set *set;
    int64_t maxt0, interval, range;
    size_t steps, nbatches;
    struct par_batch b[2];
    struct par_worker w[MAX_WORKERS + 1]; /* w[MAX_WORKERS] is the consumer's */
    size_t nworkers;
    atomic_size_t next;  /* the next series nobody has taken */
    atomic_size_t limit; /* series below it have a free buffer */
    size_t cur;          /* the batch the consumer is in */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_bool stop;
};

static int oom(struct ev *ev)
{
    return sg_promql__fail(ev, SG_ENOMEM, "out of memory during evaluation");
}

static size_t batch_size(const struct ev_par *p, size_t j)
{
    size_t start = j * BATCH;
    return p->set->count - start < BATCH ? p->set->count - start : BATCH;
}

/* Compute series i (taken, and its buffer free). */
static void compute(struct par_worker *w, size_t i)
{
    struct ev_par *p = w->p;
    size_t j = i / BATCH;
    struct par_batch *b = &p->b[j % 2];
    struct par_slot *sl = &b->slot[i % BATCH];
    const struct sg_series *s = &p->set->v[i];

    sg_promql__row_clear(&sl->row);
    /* no allocation, no error: the room is unlimited and the marks sized */
    (void)sg_promql__rate_rows(&w->enh, &w->rs, s->samples, s->count, p->maxt0, p->interval,
                               p->range, p->steps, SIZE_MAX, &sl->row, &sl->held, &sl->maxw,
                               &sl->stale);
    if (atomic_fetch_add(&b->done, 1) + 1 == batch_size(p, j)) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
}

static void *worker_main(void *arg)
{
    struct par_worker *w = arg;
    struct ev_par *p = w->p;

    for (;;) {
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->set->count)
            break;
        if (i >= atomic_load(&p->limit)) {
            pthread_mutex_lock(&p->mu);
            while (!atomic_load(&p->stop) && i >= atomic_load(&p->limit))
                pthread_cond_wait(&p->cv, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop))
            break;
        compute(w, i);
    }
    return NULL;
}

static size_t online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (size_t)n : 1;
}

void sg_promql__par_free(struct ev_par *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, true);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (size_t k = 0; k < p->nworkers; k++)
        if (p->w[k].started)
            pthread_join(p->w[k].thread, NULL);
    for (size_t k = 0; k <= MAX_WORKERS; k++)
        sg_promql__rstate_free(&p->w[k].rs);
    for (int j = 0; j < 2; j++) {
        sg_free(p->b[j].v);
        sg_free(p->b[j].has);
    }
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    sg_free(p);
}

int sg_promql__par_new(struct ev *ev, enum ev_func_id id, const struct sg_series_set *set,
                       int64_t maxt0, int64_t range, size_t steps, struct ev_par **out)
{
    size_t cpus = online_cpus(), maxn = 0, nw;
    struct ev_par *p;
    int rc = SG_OK;

    *out = NULL;
    /* worth a thread: at least two batches and a few million steps */
    if (cpus < 2 || !set || set->count < 2 * BATCH || set->count * steps < ((size_t)1 << 21))
        return SG_OK;
    nw = cpus - 1 < MAX_WORKERS ? cpus - 1 : MAX_WORKERS;
    p = sg_calloc(1, sizeof(*p));
    if (!p)
        return oom(ev);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->ev = ev;
    p->set = set;
    p->maxt0 = maxt0;
    p->interval = ev->interval;
    p->range = range;
    p->steps = steps;
    p->nbatches = (set->count + BATCH - 1) / BATCH;
    for (size_t i = 0; i < set->count; i++)
        if (set->v[i].count > maxn)
            maxn = set->v[i].count;
    for (int j = 0; j < 2 && rc == SG_OK; j++) {
        p->b[j].v = sg_malloc(BATCH * steps * sizeof(double));
        p->b[j].has = sg_calloc(BATCH * steps, 1);
        if (!p->b[j].v || !p->b[j].has) {
            rc = oom(ev);
            break;
        }
        for (size_t k = 0; k < BATCH; k++) {
            struct ev_row *r = &p->b[j].slot[k].row;
            r->v = p->b[j].v + k * steps;
            r->has = p->b[j].has + k * steps;
            r->steps = steps;
        }
    }
    for (size_t k = 0; k <= MAX_WORKERS && rc == SG_OK; k++) {
        if (k >= nw && k < MAX_WORKERS)
            continue; /* no thread for it */
        p->w[k].p = p;
        p->w[k].enh.ev = ev;
        rc = sg_promql__rstate_init(ev, &p->w[k].rs, id);
        if (rc == SG_OK)
            rc = sg_promql__rstate_reserve(ev, &p->w[k].rs, maxn);
    }
    if (rc != SG_OK) {
        sg_promql__par_free(p);
        return rc;
    }
    atomic_store(&p->next, 0);
    atomic_store(&p->limit, 2 * BATCH < set->count ? 2 * BATCH : set->count);
    atomic_store(&p->stop, false);
    atomic_store(&p->b[0].done, 0);
    atomic_store(&p->b[1].done, 0);
    for (size_t k = 0; k < nw; k++) {
        if (pthread_create(&p->w[k].thread, NULL, worker_main, &p->w[k]) != 0)
            break; /* fewer helpers; the consumer computes what is left */
        p->w[k].started = true;
        p->nworkers = k + 1;
    }
    *out = p;
    return SG_OK;
}

const struct ev_row *sg_promql__par_get(struct ev_par *p, size_t i, size_t *held, size_t *maxw,
                                        bool *stale)
{
    size_t j = i / BATCH, size = batch_size(p, j);
    struct par_batch *b = &p->b[j % 2];
    struct par_slot *sl;

    while (p->cur < j) {
        /* batch cur is consumed: its buffer takes batch cur + 2 */
        size_t lim = (p->cur + 3) * BATCH;
        pthread_mutex_lock(&p->mu);
        atomic_store(&p->b[p->cur % 2].done, 0);
        atomic_store(&p->limit, lim < p->set->count ? lim : p->set->count);
        p->cur++;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    /* help with this batch (never take a series beyond it) */
    for (;;) {
        size_t k = atomic_load(&p->next);
        if (k >= j * BATCH + size)
            break;
        if (atomic_compare_exchange_weak(&p->next, &k, k + 1))
            compute(&p->w[MAX_WORKERS], k);
    }
    if (atomic_load(&b->done) < size) {
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&b->done) < size)
            pthread_cond_wait(&p->cv, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
    sl = &b->slot[i % BATCH];
    *held = sl->held;
    *maxw = sl->maxw;
    *stale = sl->stale;
    return &sl->row;
}
