/*
 * test-tsan.c: the ThreadSanitizer build reports races, and only races
 *
 * Built only with -Db_sanitize=thread. Each case runs this program again
 * as a child doing one small concurrent thing, and reads the child's
 * stderr and exit status: a planted race must be reported and fail the
 * child; a counter guarded by a GMutex (or a GMutexLocker), and data
 * handed over by a GCond, g_once, a GThreadPool or a GSource attached to
 * another thread's context, must not be; two GMutexes taken in both
 * orders must be reported as a possible deadlock. One case calls GLib's
 * mutex without the annotations of src/util/tsan-glib.h and expects the
 * false report that header exists to remove: when it stops being
 * reported, GLib has become visible and the header can go. Each clean
 * case is reported when this file is built without that header (plain
 * -fsanitize=thread): none passes by luck.
 */
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>

#include <glib.h>

#define ROUNDS 10000

static int counter;
static GMutex counterLock;

static gpointer
addUnguarded(gpointer unused)
{
    int i;

    for (i = 0; i < ROUNDS; i++)
        counter++;
    return unused;
}

static gpointer
addGuarded(gpointer unused)
{
    int i;

    for (i = 0; i < ROUNDS; i++) {
        g_mutex_lock(&counterLock);
        counter++;
        g_mutex_unlock(&counterLock);
    }
    return unused;
}

static gpointer
addUnderLocker(gpointer unused)
{
    int i;

    for (i = 0; i < ROUNDS; i++) {
        g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&counterLock);

        counter++;
    }
    return unused;
}

/* GLib's own functions, past the macros of tsan-glib.h */
static gpointer
addGuardedUnannotated(gpointer unused)
{
    int i;

    for (i = 0; i < ROUNDS; i++) {
        (g_mutex_lock)(&counterLock);
        counter++;
        (g_mutex_unlock)(&counterLock);
    }
    return unused;
}

static int
twoThreads(GThreadFunc func)
{
    GThread *a = g_thread_new("a", func, NULL);
    GThread *b = g_thread_new("b", func, NULL);

    g_thread_join(a);
    g_thread_join(b);
    return counter == 2 * ROUNDS ? 0 : 1;
}

/* two locks taken in both orders, one thread after the other: no
 * deadlock happens, but it could */
static GMutex lockA, lockB;

static gpointer
lockAThenB(gpointer unused)
{
    g_mutex_lock(&lockA);
    g_mutex_lock(&lockB);
    g_mutex_unlock(&lockB);
    g_mutex_unlock(&lockA);
    return unused;
}

static gpointer
lockBThenA(gpointer unused)
{
    g_mutex_lock(&lockB);
    g_mutex_lock(&lockA);
    g_mutex_unlock(&lockA);
    g_mutex_unlock(&lockB);
    return unused;
}

static int
lockOrderInversion(void)
{
    g_thread_join(g_thread_new("a-b", lockAThenB, NULL));
    g_thread_join(g_thread_new("b-a", lockBThenA, NULL));
    return 0;
}

/* a value handed from one thread to another under a GCond */
typedef struct {
    GMutex lock;
    GCond cond;
    bool ready;
    char text[32]; /* written before `ready`, outside the lock */
} handoff;

static gpointer
produce(gpointer data)
{
    handoff *h = data;

    g_strlcpy(h->text, "from the producer", sizeof(h->text));
    g_mutex_lock(&h->lock);
    h->ready = true;
    g_cond_signal(&h->cond);
    g_mutex_unlock(&h->lock);
    return NULL;
}

static int
condHandoff(void)
{
    handoff h = {0};
    GThread *t;
    int rc;

    g_mutex_init(&h.lock);
    g_cond_init(&h.cond);
    t = g_thread_new("producer", produce, &h);
    g_mutex_lock(&h.lock);
    while (!h.ready)
        g_cond_wait_until(&h.cond, &h.lock, g_get_monotonic_time() + G_USEC_PER_SEC);
    g_mutex_unlock(&h.lock);
    rc = strcmp(h.text, "from the producer") == 0 ? 0 : 1;
    g_thread_join(t);
    g_cond_clear(&h.cond);
    g_mutex_clear(&h.lock);
    return rc;
}

/* a value computed once, read by every thread */
static int onceValue;

static gpointer
readOnce(G_GNUC_UNUSED gpointer unused)
{
    static gsize once;

    if (g_once_init_enter(&once)) {
        onceValue = 42;
        g_once_init_leave(&once, 1);
    }
    return GINT_TO_POINTER(onceValue);
}

static int
onceHandoff(void)
{
    GThread *a = g_thread_new("a", readOnce, NULL);
    GThread *b = g_thread_new("b", readOnce, NULL);
    int sum = GPOINTER_TO_INT(g_thread_join(a)) + GPOINTER_TO_INT(g_thread_join(b));

    return sum == 84 ? 0 : 1;
}

/* tasks written by the pusher, changed by a worker, read after the pool */
typedef struct {
    int in;
    int out;
} task;

static void
runTask(gpointer data, gpointer poolData)
{
    task *t = data;

    t->out = t->in * 2;
    g_atomic_int_inc((gint *)poolData);
}

static int
poolHandoff(void)
{
    task tasks[8];
    gint done = 0;
    GThreadPool *pool = g_thread_pool_new(runTask, &done, 2, FALSE, NULL);
    int i, rc = 0;

    for (i = 0; i < 8; i++) {
        tasks[i].in = i;
        g_thread_pool_push(pool, &tasks[i], NULL);
    }
    g_thread_pool_free(pool, FALSE, TRUE);
    for (i = 0; i < 8; i++)
        rc |= tasks[i].out != 2 * i;
    return rc || g_atomic_int_get(&done) != 8;
}

/* a source attached from this thread to a context another thread runs */
typedef struct {
    GMainLoop *loop;
    gint go;       /* accessed relaxed: orders nothing */
    char text[32]; /* written before the attach */
    int seen;      /* written by the callback, read after the join */
} sourceData;

static gboolean
onIdle(gpointer data)
{
    sourceData *s = data;

    s->seen = strcmp(s->text, "before the attach") == 0;
    g_main_loop_quit(s->loop);
    return G_SOURCE_REMOVE;
}

/* The loop starts only once the source is attached: the context had no
 * owner to wake up then, so only GLib's context lock orders the attach
 * before the dispatch. */
static gpointer
runLoop(gpointer data)
{
    sourceData *s = data;

    while (!__atomic_load_n(&s->go, __ATOMIC_RELAXED))
        g_usleep(1000);
    g_main_loop_run(s->loop);
    return NULL;
}

static int
sourceHandoff(void)
{
    GMainContext *ctx = g_main_context_new();
    sourceData s = {0};
    GSource *src = g_idle_source_new();
    GThread *t;

    s.loop = g_main_loop_new(ctx, FALSE);
    t = g_thread_new("loop", runLoop, &s);
    g_strlcpy(s.text, "before the attach", sizeof(s.text));
    g_source_set_callback(src, onIdle, &s, NULL);
    g_source_attach(src, ctx);
    g_source_unref(src);
    __atomic_store_n(&s.go, 1, __ATOMIC_RELAXED);
    g_thread_join(t);
    g_main_loop_unref(s.loop);
    g_main_context_unref(ctx);
    return s.seen ? 0 : 1;
}

static int
runChild(const char *what)
{
    if (strcmp(what, "unguarded") == 0)
        return twoThreads(addUnguarded);
    if (strcmp(what, "mutex") == 0)
        return twoThreads(addGuarded);
    if (strcmp(what, "locker") == 0)
        return twoThreads(addUnderLocker);
    if (strcmp(what, "mutex-unannotated") == 0)
        return twoThreads(addGuardedUnannotated);
    if (strcmp(what, "inversion") == 0)
        return lockOrderInversion();
    if (strcmp(what, "cond") == 0)
        return condHandoff();
    if (strcmp(what, "once") == 0)
        return onceHandoff();
    if (strcmp(what, "pool") == 0)
        return poolHandoff();
    if (strcmp(what, "source") == 0)
        return sourceHandoff();
    return 2;
}

/* Run the child `what`; its stderr in `*err`; whether it exited 0. */
static bool
spawnChild(const char *what, char **err)
{
    g_autoptr(GError) gerr = NULL;
    g_auto(GStrv) env = g_get_environ();
    g_autofree char *opts = NULL;
    const char *argv[] = {"/proc/self/exe", "--child", what, NULL};
    int status = 0;

    /* a report ends the child at once, with a status that says so */
    opts = g_strdup_printf("%s:halt_on_error=1:exitcode=66", g_environ_getenv(env, "TSAN_OPTIONS") ?: "");
    env = g_environ_setenv(env, "TSAN_OPTIONS", opts, TRUE);
    if (!g_spawn_sync(NULL, (char **)argv, env, G_SPAWN_DEFAULT, NULL, NULL, NULL, err, &status,
                      &gerr))
        g_error("cannot run the child: %s", gerr->message);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void
assertReported(gconstpointer what)
{
    g_autofree char *err = NULL;
    bool ok = spawnChild(what, &err);

    if (ok || !strstr(err, "WARNING: ThreadSanitizer: data race"))
        g_test_message("child '%s' stderr:\n%s", (const char *)what, err);
    g_assert_false(ok);
    g_assert_nonnull(strstr(err, "WARNING: ThreadSanitizer: data race"));
}

static void
assertInversionReported(gconstpointer what)
{
    g_autofree char *err = NULL;
    bool ok = spawnChild(what, &err);

    if (ok || !strstr(err, "WARNING: ThreadSanitizer: lock-order-inversion"))
        g_test_message("child '%s' stderr:\n%s", (const char *)what, err);
    g_assert_false(ok);
    g_assert_nonnull(strstr(err, "WARNING: ThreadSanitizer: lock-order-inversion"));
}

static void
assertClean(gconstpointer what)
{
    g_autofree char *err = NULL;
    bool ok = spawnChild(what, &err);

    if (!ok || strstr(err, "ThreadSanitizer"))
        g_test_message("child '%s' stderr:\n%s", (const char *)what, err);
    g_assert_true(ok);
    g_assert_null(strstr(err, "ThreadSanitizer"));
}

int
main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--child") == 0)
        return runChild(argv[2]);

    g_test_init(&argc, &argv, NULL);
    g_test_add_data_func("/tsan/unguarded-counter-is-reported", "unguarded", assertReported);
    g_test_add_data_func("/tsan/mutex-counter-is-clean", "mutex", assertClean);
    g_test_add_data_func("/tsan/mutex-locker-counter-is-clean", "locker", assertClean);
    g_test_add_data_func("/tsan/glib-mutex-unannotated-is-invisible", "mutex-unannotated",
                         assertReported);
    g_test_add_data_func("/tsan/glib-mutex-lock-order-inversion-is-reported", "inversion",
                         assertInversionReported);
    g_test_add_data_func("/tsan/cond-handoff-is-clean", "cond", assertClean);
    g_test_add_data_func("/tsan/once-is-clean", "once", assertClean);
    g_test_add_data_func("/tsan/thread-pool-handoff-is-clean", "pool", assertClean);
    g_test_add_data_func("/tsan/source-handoff-is-clean", "source", assertClean);
    return g_test_run();
}
