/*
 * workpool.h: a fixed set of worker threads that run queued items
 *
 * What GLib's GThreadPool does for the daemon's calls, with one
 * difference that shows in every call's latency: an idle worker is
 * handed its item directly and woken after the pool's lock is released,
 * so it wakes once, to a free lock (GThreadPool signals its queue's
 * condition with the lock held: the worker wakes, blocks on the lock and
 * is woken a second time). The most recently idle worker is woken first:
 * its stack and data are the likeliest to be in the cache.
 */
#pragma once

#include <stdbool.h>

#include <glib.h>

typedef struct utilWorkPool utilWorkPool;

/* utilWorkPoolNew: start `threads` (at least 1) threads named `name`
 * that run func(item, user) for every pushed item. NULL with `err` set
 * when a thread cannot be started (none is left running). */
utilWorkPool *utilWorkPoolNew(const char *name, GFunc func, gpointer user, guint threads,
                              GError **err);

/* utilWorkPoolPush: run `item` on a worker: at once on an idle one, or
 * after the items queued before it. Any thread. */
void utilWorkPoolPush(utilWorkPool *pool, gpointer item);

/* utilWorkPoolFree: let the workers run every item already pushed, then
 * join them and free the pool. Nothing may be pushed once it is called.
 * NULL is fine. */
void utilWorkPoolFree(utilWorkPool *pool);

/*
 * Threads that must not wait. A thread that serves many (the daemon's
 * socket thread) may run a short query itself instead of handing it to
 * a worker, which saves the worker's wake-up. It marks itself with
 * utilThreadSetMayWait(false) around the query. Code that would then
 * have to wait (on a guest's QEMU, a job, a file or another process)
 * calls utilThreadDefer() instead, before it changed anything, and
 * fails: the query is run again by a worker. Every other thread may
 * wait.
 */
bool utilThreadMayWait(void);
/* utilThreadSetMayWait: mark the calling thread; clears a deferral. */
void utilThreadSetMayWait(bool may);
/* utilThreadDefer: note that the thread's query must run where it may
 * wait; returns -1, for the caller to return. */
int utilThreadDefer(void);
/* utilThreadDeferred: whether utilThreadDefer was called since the
 * thread was last marked. */
bool utilThreadDeferred(void);
