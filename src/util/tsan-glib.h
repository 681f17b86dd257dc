/*
 * tsan-glib.h: make GLib's synchronisation visible to ThreadSanitizer
 *
 * Force-included (`-include`) in every file of a build configured with
 * `-Db_sanitize=thread`, and in no other build.
 *
 * Debian's GLib implements GMutex, GCond and g_once on Linux futexes, in
 * code that is not instrumented: ThreadSanitizer sees neither the lock nor
 * the memory ordering it gives, so two threads that increment a counter
 * under g_mutex_lock() are reported as a data race, and every report of the
 * daemon would be noise. This header includes <glib.h> first, then replaces
 * by macro each GLib call iovirt synchronises with by an inline function
 * that calls the real one and tells ThreadSanitizer what it did:
 *
 *   g_mutex_*             the mutex annotations (__tsan_mutex_pre_lock ...),
 *                         so that ThreadSanitizer knows the lock as it knows
 *                         a pthread mutex: happens-before from unlock to
 *                         lock, the locks held in a report, lock-order
 *                         inversions, unlock of an unlocked mutex
 *   g_cond_wait*          the mutex is released before the wait and taken
 *                         again after it, as for pthread_cond_wait (a
 *                         signal alone orders nothing)
 *   g_once_init_*         release in leave, acquire in enter: the value set
 *                         by the one initialiser is seen by every other
 *   g_thread_pool_*       release of the task at push, acquire in the
 *                         worker before it runs; release by the worker
 *                         after each task, acquire by g_thread_pool_free()
 *                         when it waited for them (on behalf of any pool
 *                         of the same file: GLib may free the pool in its
 *                         last worker, so the pool cannot be read there)
 *   g_source_set_callback / g_source_attach
 *                         release of the source when it is attached,
 *                         acquire in the thread that dispatches it, before
 *                         its callback runs
 *   g_mutex_locker_*, g_autoptr(GMutexLocker)
 *                         the same, through the wrappers above
 *
 * Every other edge GLib gives (thread creation and join, eventfd wake-ups)
 * goes through pthread or libc calls that ThreadSanitizer intercepts by
 * itself. GRecMutex and GRWLock are pthread mutexes and rwlocks inside, so
 * they are seen as they are, provided they are initialised with
 * g_rec_mutex_init()/g_rw_lock_init() before a second thread uses them:
 * GLib's lazy allocation for a zeroed static one is published with an
 * atomic that ThreadSanitizer does not see.
 */
#pragma once

#include <glib.h>
#include <sanitizer/tsan_interface.h>

/* g_mutex_* */

static inline void
tsanGMutexInit(GMutex *m)
{
    g_mutex_init(m);
    __tsan_mutex_create(m, 0);
}

static inline void
tsanGMutexClear(GMutex *m)
{
    __tsan_mutex_destroy(m, 0);
    g_mutex_clear(m);
}

static inline void
tsanGMutexLock(GMutex *m)
{
    __tsan_mutex_pre_lock(m, 0);
    g_mutex_lock(m);
    __tsan_mutex_post_lock(m, 0, 0);
}

static inline gboolean
tsanGMutexTrylock(GMutex *m)
{
    gboolean locked;

    __tsan_mutex_pre_lock(m, __tsan_mutex_try_lock);
    locked = g_mutex_trylock(m);
    __tsan_mutex_post_lock(m, locked ? __tsan_mutex_try_lock : __tsan_mutex_try_lock_failed, 0);
    return locked;
}

static inline void
tsanGMutexUnlock(GMutex *m)
{
    __tsan_mutex_pre_unlock(m, 0);
    g_mutex_unlock(m);
    __tsan_mutex_post_unlock(m, 0);
}

/* GMutexLocker: GLib's inline helpers were compiled before these macros
 * and call the functions themselves; g_autoptr(GMutexLocker) names its
 * cleanup function by token pasting, which this macro then replaces */

static inline GMutexLocker *
tsanGMutexLockerNew(GMutex *m)
{
    tsanGMutexLock(m);
    return (GMutexLocker *)m;
}

static inline void
tsanGMutexLockerFree(GMutexLocker *locker)
{
    tsanGMutexUnlock((GMutex *)locker);
}

static inline void
tsanGMutexLockerCleanup(GMutexLocker **locker)
{
    if (*locker)
        tsanGMutexLockerFree(*locker);
}

#define g_mutex_locker_new(m) tsanGMutexLockerNew(m)
#define g_mutex_locker_free(l) tsanGMutexLockerFree(l)
#define glib_autoptr_cleanup_GMutexLocker tsanGMutexLockerCleanup

#define g_mutex_init(m) tsanGMutexInit(m)
#define g_mutex_clear(m) tsanGMutexClear(m)
#define g_mutex_lock(m) tsanGMutexLock(m)
#define g_mutex_trylock(m) tsanGMutexTrylock(m)
#define g_mutex_unlock(m) tsanGMutexUnlock(m)

/* g_cond_wait*: GLib unlocks and relocks `m` inside, unseen */

static inline void
tsanGCondWait(GCond *c, GMutex *m)
{
    __tsan_mutex_pre_unlock(m, 0);
    __tsan_mutex_post_unlock(m, 0);
    (g_cond_wait)(c, m);
    __tsan_mutex_pre_lock(m, 0);
    __tsan_mutex_post_lock(m, 0, 0);
}

static inline gboolean
tsanGCondWaitUntil(GCond *c, GMutex *m, gint64 endTime)
{
    gboolean signalled;

    __tsan_mutex_pre_unlock(m, 0);
    __tsan_mutex_post_unlock(m, 0);
    signalled = (g_cond_wait_until)(c, m, endTime);
    __tsan_mutex_pre_lock(m, 0);
    __tsan_mutex_post_lock(m, 0, 0);
    return signalled;
}

#define g_cond_wait(c, m) tsanGCondWait(c, m)
#define g_cond_wait_until(c, m, t) tsanGCondWaitUntil(c, m, t)

/* g_once_init_*: GLib's fast path reads the location with an atomic load
 * in our code, but the store that publishes it is in GLib */

#undef g_once_init_enter
#undef g_once_init_leave
#define g_once_init_enter(location)                                                                \
    (G_GNUC_EXTENSION({                                                                            \
        gboolean tsanFirst_ =                                                                      \
            !g_atomic_pointer_get(location) && (g_once_init_enter)(location);                      \
        __tsan_acquire((void *)(location));                                                        \
        tsanFirst_;                                                                                \
    }))
#define g_once_init_leave(location, result)                                                        \
    (G_GNUC_EXTENSION({                                                                            \
        __tsan_release((void *)(location));                                                        \
        (g_once_init_leave)((location), (gsize)(result));                                          \
    }))

/* g_thread_pool_*: the pool hands tasks over through a GAsyncQueue (a
 * GMutex and a GCond inside GLib). The pool is created with a trampoline
 * whose user data holds the caller's function and data. */

typedef struct {
    GFunc func;
    gpointer data;
} tsanGThreadPool;

/* what the workers of this file's pools did, for g_thread_pool_free() */
static char tsanGThreadPoolsDone G_GNUC_UNUSED;

static inline void
tsanGThreadPoolRun(gpointer task, gpointer poolData)
{
    tsanGThreadPool *p = poolData;

    __tsan_acquire(task);
    p->func(task, p->data);
    __tsan_release(&tsanGThreadPoolsDone);
}

/* The trampoline's data is never freed: GLib may free the pool in its
 * last worker, so g_thread_pool_free() must not read the pool to find it.
 * One small block a pool, in this build only. */
static inline GThreadPool *
tsanGThreadPoolNew(GFunc func, gpointer data, gint maxThreads, gboolean exclusive, GError **error)
{
    tsanGThreadPool *p = g_new0(tsanGThreadPool, 1);

    p->func = func;
    p->data = data;
    return g_thread_pool_new(tsanGThreadPoolRun, p, maxThreads, exclusive, error);
}

static inline gboolean
tsanGThreadPoolPush(GThreadPool *pool, gpointer task, GError **error)
{
    __tsan_release(task);
    return g_thread_pool_push(pool, task, error);
}

static inline void
tsanGThreadPoolFree(GThreadPool *pool, gboolean immediate, gboolean wait)
{
    g_thread_pool_free(pool, immediate, wait);
    /* with `wait`, every task of the pool has run */
    if (wait)
        __tsan_acquire(&tsanGThreadPoolsDone);
}

#define g_thread_pool_new(f, d, n, e, err) tsanGThreadPoolNew(f, d, n, e, err)
#define g_thread_pool_push(pool, task, err) tsanGThreadPoolPush(pool, task, err)
#define g_thread_pool_free(pool, i, w) tsanGThreadPoolFree(pool, i, w)

/* GSource: a source attached to a context that another thread runs is
 * dispatched there after GLib's context lock (a GMutex) hands it over.
 * g_source_set_callback() installs callback functions of our own whose
 * `get`, called by g_main_dispatch() in the dispatching thread before the
 * callback, acquires what g_source_attach() released. */

typedef struct {
    gint refs; /* atomic */
    GSourceFunc func;
    gpointer data;
    GDestroyNotify notify;
} tsanGSourceCallback;

static inline void
tsanGSourceCallbackRef(gpointer cbData)
{
    tsanGSourceCallback *cb = cbData;

    /* g_main_dispatch() takes a reference before it calls `get` */
    __tsan_acquire(cb);
    g_atomic_int_inc(&cb->refs);
}

static inline void
tsanGSourceCallbackUnref(gpointer cbData)
{
    tsanGSourceCallback *cb = cbData;

    if (g_atomic_int_dec_and_test(&cb->refs)) {
        if (cb->notify)
            cb->notify(cb->data);
        g_free(cb);
    }
}

static inline void
tsanGSourceCallbackGet(gpointer cbData, GSource *source, GSourceFunc *func, gpointer *data)
{
    tsanGSourceCallback *cb = cbData;

    __tsan_acquire(source);
    __tsan_acquire(cb);
    *func = cb->func;
    *data = cb->data;
}

static GSourceCallbackFuncs tsanGSourceCallbackFuncs G_GNUC_UNUSED = {
    tsanGSourceCallbackRef,
    tsanGSourceCallbackUnref,
    tsanGSourceCallbackGet,
};

static inline void
tsanGSourceSetCallback(GSource *source, GSourceFunc func, gpointer data, GDestroyNotify notify)
{
    tsanGSourceCallback *cb = g_new0(tsanGSourceCallback, 1);

    cb->refs = 1;
    cb->func = func;
    cb->data = data;
    cb->notify = notify;
    __tsan_release(cb);
    g_source_set_callback_indirect(source, cb, &tsanGSourceCallbackFuncs);
}

static inline guint
tsanGSourceAttach(GSource *source, GMainContext *context)
{
    __tsan_release(source);
    return g_source_attach(source, context);
}

#define g_source_set_callback(s, f, d, n) tsanGSourceSetCallback(s, f, d, n)
#define g_source_attach(s, c) tsanGSourceAttach(s, c)
