/*
 * test-workpool.c: the daemon's worker threads
 */
#include <stdbool.h>

#include "util/workpool.h"

typedef struct {
    GMutex lock;
    GCond cond;
    GHashTable *threads; /* GThread * that ran an item */
    guint *ran;          /* ran[i]: times item i ran */
    guint done;
    guint blocked;       /* items waiting at the gate */
    bool gate;           /* closed: items wait until it opens */
} runLog;

static void
runItem(gpointer item, gpointer user)
{
    runLog *log = user;
    guint i = GPOINTER_TO_UINT(item);

    g_mutex_lock(&log->lock);
    log->blocked++;
    g_cond_broadcast(&log->cond);
    while (log->gate)
        g_cond_wait(&log->cond, &log->lock);
    log->blocked--;
    log->ran[i]++;
    log->done++;
    g_hash_table_add(log->threads, g_thread_self());
    g_cond_broadcast(&log->cond);
    g_mutex_unlock(&log->lock);
}

static void
logInit(runLog *log, guint items)
{
    g_mutex_init(&log->lock);
    g_cond_init(&log->cond);
    log->threads = g_hash_table_new(NULL, NULL);
    log->ran = g_new0(guint, items);
}

static void
logClear(runLog *log)
{
    g_hash_table_unref(log->threads);
    g_free(log->ran);
    g_cond_clear(&log->cond);
    g_mutex_clear(&log->lock);
}

typedef struct {
    utilWorkPool *pool;
    guint first, count;
} pusher;

static gpointer
pushAll(gpointer data)
{
    pusher *p = data;
    guint i;

    for (i = p->first; i < p->first + p->count; i++)
        utilWorkPoolPush(p->pool, GUINT_TO_POINTER(i));
    return NULL;
}

/* Items pushed from several threads at once each run exactly once, on
 * the pool's threads and never more of them than it has. */
static void
testEachOnce(void)
{
    enum { ITEMS = 20000, PUSHERS = 4, THREADS = 3 };
    g_autoptr(GError) err = NULL;
    pusher p[PUSHERS];
    GThread *t[PUSHERS];
    runLog log = {0};
    guint i;

    logInit(&log, ITEMS);
    p[0].pool = utilWorkPoolNew("test-worker", runItem, &log, THREADS, &err);
    g_assert_no_error(err);
    for (i = 0; i < PUSHERS; i++) {
        p[i].pool = p[0].pool;
        p[i].first = i * (ITEMS / PUSHERS);
        p[i].count = ITEMS / PUSHERS;
        t[i] = g_thread_new("pusher", pushAll, &p[i]);
    }
    for (i = 0; i < PUSHERS; i++)
        g_thread_join(t[i]);
    g_mutex_lock(&log.lock);
    while (log.done < ITEMS)
        g_cond_wait(&log.cond, &log.lock);
    g_mutex_unlock(&log.lock);
    for (i = 0; i < ITEMS; i++)
        g_assert_cmpuint(log.ran[i], ==, 1);
    g_assert_cmpuint(g_hash_table_size(log.threads), >=, 1);
    g_assert_cmpuint(g_hash_table_size(log.threads), <=, THREADS);
    g_assert_false(g_hash_table_contains(log.threads, g_thread_self()));
    utilWorkPoolFree(p[0].pool);
    logClear(&log);
}

/* With every worker busy, items wait in order; freeing the pool runs
 * every one of them before it returns. */
static void
testFreeRunsQueued(void)
{
    enum { THREADS = 2, ITEMS = 50 };
    g_autoptr(GError) err = NULL;
    utilWorkPool *pool;
    runLog log = {0};
    guint i;

    logInit(&log, ITEMS);
    log.gate = true;
    pool = utilWorkPoolNew("test-worker", runItem, &log, THREADS, &err);
    g_assert_no_error(err);
    for (i = 0; i < ITEMS; i++)
        utilWorkPoolPush(pool, GUINT_TO_POINTER(i));
    /* both workers hold an item at the gate; the rest are queued */
    g_mutex_lock(&log.lock);
    while (log.blocked < THREADS)
        g_cond_wait(&log.cond, &log.lock);
    g_assert_cmpuint(log.done, ==, 0);
    log.gate = false;
    g_cond_broadcast(&log.cond);
    g_mutex_unlock(&log.lock);
    utilWorkPoolFree(pool);
    g_assert_cmpuint(log.done, ==, ITEMS);
    for (i = 0; i < ITEMS; i++)
        g_assert_cmpuint(log.ran[i], ==, 1);
    logClear(&log);
}

/* A pool that is freed idle ends its threads. */
static void
testFreeIdle(void)
{
    g_autoptr(GError) err = NULL;
    runLog log = {0};
    utilWorkPool *pool;

    logInit(&log, 1);
    pool = utilWorkPoolNew("test-worker", runItem, &log, 4, &err);
    g_assert_no_error(err);
    utilWorkPoolFree(pool);
    utilWorkPoolFree(NULL);
    g_assert_cmpuint(log.done, ==, 0);
    logClear(&log);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/workpool/each-once", testEachOnce);
    g_test_add_func("/workpool/free-runs-queued", testFreeRunsQueued);
    g_test_add_func("/workpool/free-idle", testFreeIdle);
    return g_test_run();
}
