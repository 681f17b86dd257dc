/*
 * workpool.c: a fixed set of worker threads that run queued items
 */
#include "util/workpool.h"

#include <stdbool.h>

/* An idle worker, on its own stack while it waits. */
typedef struct {
    GCond cond;
    gpointer item;
    bool handed; /* item is this worker's to run */
} workWaiter;

struct utilWorkPool {
    GMutex lock;
    GQueue queue;    /* items no idle worker took, oldest first */
    GPtrArray *idle; /* workWaiter *: idle workers, the latest last */
    bool stopping;
    GFunc func;
    gpointer user;
    GPtrArray *threads; /* GThread * */
};

static gpointer
workerMain(gpointer data)
{
    utilWorkPool *pool = data;
    workWaiter w = {0};

    g_cond_init(&w.cond);
    g_mutex_lock(&pool->lock);
    for (;;) {
        gpointer item;

        if (!g_queue_is_empty(&pool->queue)) {
            item = g_queue_pop_head(&pool->queue);
        } else if (pool->stopping) {
            break;
        } else {
            w.handed = false;
            g_ptr_array_add(pool->idle, &w);
            while (!w.handed && !pool->stopping)
                g_cond_wait(&w.cond, &pool->lock);
            if (!w.handed)
                continue; /* stopping: run what is queued, then end */
            item = w.item;
        }
        g_mutex_unlock(&pool->lock);
        pool->func(item, pool->user);
        g_mutex_lock(&pool->lock);
    }
    g_mutex_unlock(&pool->lock);
    g_cond_clear(&w.cond);
    return NULL;
}

void
utilWorkPoolPush(utilWorkPool *pool, gpointer item)
{
    workWaiter *w = NULL;

    g_mutex_lock(&pool->lock);
    if (pool->idle->len > 0) {
        w = g_ptr_array_steal_index(pool->idle, pool->idle->len - 1);
        w->item = item;
        w->handed = true;
    } else {
        g_queue_push_tail(&pool->queue, item);
    }
    g_mutex_unlock(&pool->lock);
    /* after the unlock: the worker wakes once, to a free lock. It cannot
     * be gone: it ends only once the pool stops, after every push. */
    if (w)
        g_cond_signal(&w->cond);
}

/* Stop the workers started so far and join them (with the lock free). */
static void
stopWorkers(utilWorkPool *pool)
{
    guint i;

    g_mutex_lock(&pool->lock);
    pool->stopping = true;
    for (i = 0; i < pool->idle->len; i++)
        g_cond_signal(&((workWaiter *)g_ptr_array_index(pool->idle, i))->cond);
    g_ptr_array_set_size(pool->idle, 0);
    g_mutex_unlock(&pool->lock);
    for (i = 0; i < pool->threads->len; i++)
        g_thread_join(g_ptr_array_index(pool->threads, i));
    g_ptr_array_set_size(pool->threads, 0);
}

static void
poolFree(utilWorkPool *pool)
{
    g_ptr_array_unref(pool->threads);
    g_ptr_array_unref(pool->idle);
    g_queue_clear(&pool->queue);
    g_mutex_clear(&pool->lock);
    g_free(pool);
}

utilWorkPool *
utilWorkPoolNew(const char *name, GFunc func, gpointer user, guint threads, GError **err)
{
    utilWorkPool *pool = g_new0(utilWorkPool, 1);
    guint i;

    g_mutex_init(&pool->lock);
    g_queue_init(&pool->queue);
    pool->idle = g_ptr_array_new();
    pool->threads = g_ptr_array_new();
    pool->func = func;
    pool->user = user;
    for (i = 0; i < MAX(threads, 1u); i++) {
        GThread *t = g_thread_try_new(name, workerMain, pool, err);

        if (!t) {
            stopWorkers(pool);
            poolFree(pool);
            return NULL;
        }
        g_ptr_array_add(pool->threads, t);
    }
    return pool;
}

void
utilWorkPoolFree(utilWorkPool *pool)
{
    if (!pool)
        return;
    stopWorkers(pool);
    poolFree(pool);
}

/* ---- threads that must not wait ---- */

/* The calling thread's marks: bit 0, it must not wait; bit 1, a query
 * was deferred. No bit set (NULL) is every thread's start. */
#define MUST_NOT_WAIT 1
#define DEFERRED 2
static GPrivate threadMarks;

bool
utilThreadMayWait(void)
{
    return !(GPOINTER_TO_INT(g_private_get(&threadMarks)) & MUST_NOT_WAIT);
}

void
utilThreadSetMayWait(bool may)
{
    g_private_set(&threadMarks, GINT_TO_POINTER(may ? 0 : MUST_NOT_WAIT));
}

int
utilThreadDefer(void)
{
    int marks = GPOINTER_TO_INT(g_private_get(&threadMarks));

    g_private_set(&threadMarks, GINT_TO_POINTER(marks | DEFERRED));
    return -1;
}

bool
utilThreadDeferred(void)
{
    return GPOINTER_TO_INT(g_private_get(&threadMarks)) & DEFERRED;
}
