/*
 * test-qemu-domain.c: the job and event contract of a domain object
 *
 * One behaviour per test: a change waits for the job of another, times
 * out with the domain's name, and learns that the domain went away; an
 * event the job holder expects is handed to it without the worker; other
 * events queue in order for one worker at a time; the end of QEMU's
 * connection wakes a job waiting for an event.
 */
#include <string.h>
#include <unistd.h>

#include "qemu/qemu_domain.h"
#include "util/error.h"
#include "util/file.h"

static const unsigned char testUUID[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static qemuDomainEvent *
newEvent(const char *name, unsigned int generation)
{
    qemuDomainEvent *ev = g_new0(qemuDomainEvent, 1);

    ev->name = g_strdup(name);
    ev->generation = generation;
    return ev;
}

typedef struct {
    qemuDomainObj *obj;
    gint began;  /* atomic: the second change holds the job */
    int rc;
} jobThread;

static gpointer
beginInThread(gpointer data)
{
    jobThread *t = data;

    t->rc = qemuDomainBeginJob(t->obj, 10000);
    g_atomic_int_set(&t->began, 1);
    if (t->rc == 0)
        qemuDomainEndJob(t->obj);
    return NULL;
}

static void
testJobWaitsForTheOther(void)
{
    g_autoptr(qemuDomainObj) obj = qemuDomainObjNew("d1", testUUID);
    jobThread t = {.obj = obj};
    GThread *th;

    g_assert_cmpint(qemuDomainBeginJob(obj, 1000), ==, 0);
    th = g_thread_new("second", beginInThread, &t);
    /* the second change cannot hold the job while the first does */
    g_usleep(50 * 1000);
    g_assert_cmpint(g_atomic_int_get(&t.began), ==, 0);
    /* and the lock is free: a query is not held up by the job */
    g_assert_true(g_mutex_trylock(&obj->lock));
    g_mutex_unlock(&obj->lock);
    qemuDomainEndJob(obj);
    g_thread_join(th);
    g_assert_cmpint(t.rc, ==, 0);
    g_assert_cmpint(g_atomic_int_get(&t.began), ==, 1);
}

static void
testJobTimeoutNamesTheDomain(void)
{
    g_autoptr(qemuDomainObj) obj = qemuDomainObjNew("busy", testUUID);

    g_assert_cmpint(qemuDomainBeginJob(obj, 1000), ==, 0);
    utilResetError();
    g_assert_cmpint(qemuDomainBeginJob(obj, 30), ==, -1);
    g_assert_cmpint(utilGetError()->code, ==, IOV_ERR_OPERATION_TIMEOUT);
    g_assert_nonnull(strstr(utilGetError()->message, "domain 'busy'"));
    qemuDomainEndJob(obj);
}

static void
testJobOfARemovedDomainFails(void)
{
    g_autoptr(qemuDomainObj) obj = qemuDomainObjNew("gone", testUUID);

    obj->removed = true;
    utilResetError();
    g_assert_cmpint(qemuDomainBeginJob(obj, 1000), ==, -1);
    g_assert_cmpint(utilGetError()->code, ==, IOV_ERR_NO_DOMAIN);
}

static void
testExpectedEventGoesToTheJob(void)
{
    g_autoptr(qemuDomainObj) obj = qemuDomainObjNew("d1", testUUID);
    g_autoptr(qemuDomainEvent) got = NULL;

    g_assert_cmpint(qemuDomainBeginJob(obj, 1000), ==, 0);
    qemuDomainJobExpectEvent(obj, "DEVICE_DELETED");
    /* another event still goes to the worker */
    g_assert_true(qemuDomainQueueEvent(obj, newEvent("RESET", 0)));
    /* the expected one does not: no worker is scheduled for it */
    g_assert_false(qemuDomainQueueEvent(obj, newEvent("DEVICE_DELETED", 0)));
    got = qemuDomainJobWaitEvent(obj, 1000);
    g_assert_nonnull(got);
    g_assert_cmpstr(got->name, ==, "DEVICE_DELETED");
    qemuDomainEndJob(obj);
    g_assert_cmpuint(g_queue_get_length(&obj->events), ==, 1);
}

typedef struct {
    qemuDomainObj *obj;
} sendThread;

static gpointer
sendLater(gpointer data)
{
    sendThread *t = data;

    g_usleep(30 * 1000);
    /* as the monitor I/O thread does */
    qemuDomainQueueEvent(t->obj, newEvent("DEVICE_DELETED", 0));
    return NULL;
}

static void
testJobWaitsForAnEventFromAnotherThread(void)
{
    g_autoptr(qemuDomainObj) obj = qemuDomainObjNew("d1", testUUID);
    g_autoptr(qemuDomainEvent) got = NULL;
    sendThread t = {.obj = obj};
    GThread *th;

    g_assert_cmpint(qemuDomainBeginJob(obj, 1000), ==, 0);
    qemuDomainJobExpectEvent(obj, "DEVICE_DELETED");
    th = g_thread_new("io", sendLater, &t);
    got = qemuDomainJobWaitEvent(obj, 5000);
    g_thread_join(th);
    g_assert_nonnull(got);
    g_assert_cmpstr(got->name, ==, "DEVICE_DELETED");
    qemuDomainEndJob(obj);
}

static void
testEventWaitTimesOut(void)
{
    g_autoptr(qemuDomainObj) obj = qemuDomainObjNew("quiet", testUUID);

    g_assert_cmpint(qemuDomainBeginJob(obj, 1000), ==, 0);
    qemuDomainJobExpectEvent(obj, "DEVICE_DELETED");
    utilResetError();
    g_assert_null(qemuDomainJobWaitEvent(obj, 30));
    g_assert_cmpint(utilGetError()->code, ==, IOV_ERR_OPERATION_TIMEOUT);
    g_assert_nonnull(strstr(utilGetError()->message, "DEVICE_DELETED"));
    qemuDomainEndJob(obj);
}

static void
testEndOfConnectionWakesTheWaitingJob(void)
{
    g_autoptr(qemuDomainObj) obj = qemuDomainObjNew("dies", testUUID);
    qemuDomainEvent *eof = newEvent(NULL, 0);
    qemuDomainEvent *next;

    g_assert_cmpint(qemuDomainBeginJob(obj, 1000), ==, 0);
    qemuDomainJobExpectEvent(obj, "DEVICE_DELETED");
    /* the end still reaches the worker, which cleans up */
    g_assert_true(qemuDomainQueueEvent(obj, eof));
    utilResetError();
    g_assert_null(qemuDomainJobWaitEvent(obj, 5000));
    g_assert_cmpint(utilGetError()->code, ==, IOV_ERR_OPERATION_FAILED);
    qemuDomainEndJob(obj);
    next = qemuDomainNextEvent(obj);
    g_assert_true(next == eof);
    qemuDomainEventFree(next);
}

static void
testEventOfAnOldConnectionIsNotHandedOver(void)
{
    g_autoptr(qemuDomainObj) obj = qemuDomainObjNew("d1", testUUID);

    obj->monGeneration = 2;
    g_assert_cmpint(qemuDomainBeginJob(obj, 1000), ==, 0);
    qemuDomainJobExpectEvent(obj, "DEVICE_DELETED");
    g_assert_true(qemuDomainQueueEvent(obj, newEvent("DEVICE_DELETED", 1)));
    utilResetError();
    g_assert_null(qemuDomainJobWaitEvent(obj, 30));
    qemuDomainEndJob(obj);
}

static void
testEventsQueueInOrderForOneWorker(void)
{
    g_autoptr(qemuDomainObj) obj = qemuDomainObjNew("d1", testUUID);
    const char *names[] = {"STOP", "RESUME", "RESET"};
    qemuDomainEvent *ev;
    size_t i;

    /* the first event schedules a worker, the others join its queue */
    g_assert_true(qemuDomainQueueEvent(obj, newEvent(names[0], 0)));
    g_assert_false(qemuDomainQueueEvent(obj, newEvent(names[1], 0)));
    g_assert_false(qemuDomainQueueEvent(obj, newEvent(names[2], 0)));
    for (i = 0; i < G_N_ELEMENTS(names); i++) {
        ev = qemuDomainNextEvent(obj);
        g_assert_cmpstr(ev->name, ==, names[i]);
        qemuDomainEventFree(ev);
    }
    /* an empty queue ends the worker; the next event schedules a new one */
    g_assert_null(qemuDomainNextEvent(obj));
    g_assert_true(qemuDomainQueueEvent(obj, newEvent("STOP", 0)));
}

/* ---- the status file ---- */

static qemuStatusQueue *statusQueue;

/* A running domain object whose live definition has memory `mib`. */
static qemuDomainObj *
runningObj(unsigned int mib)
{
    g_autofree char *xml = g_strdup_printf(
        "<domain type='qemu'><name>st</name><memory unit='MiB'>%u</memory><vcpu>1</vcpu>"
        "<os><type>hvm</type><kernel>/k</kernel></os><devices/></domain>", mib);
    unsigned char uuid[16];
    qemuDomainObj *obj;

    /* a uuid of its own: the status tests make several at once */
    memcpy(uuid, testUUID, sizeof(uuid));
    uuid[15] = (unsigned char)mib;
    obj = qemuDomainObjNew("st", uuid);

    obj->live = domainDefParseString(xml, 0, NULL);
    g_assert_nonnull(obj->live);
    obj->pid = 4242;
    obj->id = 7;
    obj->statusQueue = statusQueue;
    obj->monPath = g_strdup("/run/st.qmp");
    obj->pidPath = g_strdup("/run/st.pid");
    return obj;
}

/* The memory (MiB) of the live definition in the status file `path`. */
static unsigned long long
statusMemoryMiB(const char *path)
{
    qemuDomainStatus st = {0};
    unsigned long long mib;

    g_assert_cmpint(qemuDomainLoadStatus(path, &st), ==, 0);
    g_assert_cmpint(st.pid, ==, 4242);
    mib = st.live->memoryKiB / 1024;
    qemuDomainStatusClear(&st);
    return mib;
}

static char *
statusPath(void)
{
    g_autofree char *dir = g_dir_make_tmp("iovirt-status-XXXXXX", NULL);

    g_assert_nonnull(dir);
    return g_build_filename(dir, "st.xml", NULL);
}

static void
removeStatusDir(const char *path)
{
    g_autofree char *dir = g_path_get_dirname(path);

    unlink(path);
    g_assert_cmpint(rmdir(dir), ==, 0);
}

static void
testStatusSavedLaterIsWritten(void)
{
    g_autoptr(qemuDomainObj) obj = runningObj(64);
    g_autofree char *path = statusPath();

    g_assert_cmpint(qemuDomainSaveStatusLater(obj, path), ==, 0);
    qemuDomainFlushStatus(obj);
    g_assert_cmpuint(statusMemoryMiB(path), ==, 64);
    removeStatusDir(path);
}

static void
testStatusKeepsTheNewest(void)
{
    g_autoptr(qemuDomainObj) obj = runningObj(64);
    g_autofree char *path = statusPath();
    unsigned int mib;

    /* many later saves, then one before returning: the last one wins
     * whatever the background writer was doing */
    for (mib = 65; mib < 100; mib++) {
        obj->live->memoryKiB = mib * 1024ULL;
        g_assert_cmpint(qemuDomainSaveStatusLater(obj, path), ==, 0);
    }
    obj->live->memoryKiB = 128 * 1024ULL;
    g_assert_cmpint(qemuDomainSaveStatus(obj, path), ==, 0);
    g_assert_cmpuint(statusMemoryMiB(path), ==, 128);
    qemuDomainFlushStatus(obj);
    g_assert_cmpuint(statusMemoryMiB(path), ==, 128);
    removeStatusDir(path);
}

static void
testStatusRemovedStaysRemoved(void)
{
    g_autoptr(qemuDomainObj) obj = runningObj(64);
    g_autofree char *path = statusPath();
    g_autofree char *dir = g_path_get_dirname(path);

    g_assert_cmpint(qemuDomainSaveStatusLater(obj, path), ==, 0);
    qemuDomainRemoveStatus(obj, path);
    qemuDomainFlushStatus(obj);
    /* a pending write never brings back the file of a stopped domain */
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
    g_assert_cmpint(rmdir(dir), ==, 0);
}

/*
 * Domains wait for their time in the queue, not in a thread: with more
 * domains waiting than the writer has threads, flushing one (as a change
 * of shape or the daemon's end does) writes it at once, instead of
 * after the others' delays.
 */
static void
testStatusFlushDoesNotWaitForOthers(void)
{
    enum { N = 20 };
    qemuDomainObj *objs[N];
    char *paths[N];
    gint64 start;
    guint i;

    for (i = 0; i < N; i++) {
        objs[i] = runningObj(64 + i);
        paths[i] = statusPath();
        g_assert_cmpint(qemuDomainSaveStatusLater(objs[i], paths[i]), ==, 0);
    }
    start = g_get_monotonic_time();
    qemuDomainFlushStatus(objs[N - 1]);
    g_assert_cmpint(g_get_monotonic_time() - start, <,
                    QEMU_STATUS_WRITE_DELAY_MS * G_TIME_SPAN_MILLISECOND / 2);
    g_assert_cmpuint(statusMemoryMiB(paths[N - 1]), ==, 64 + N - 1);
    /* the others are written by the queue, each at its time */
    for (i = 0; i < N - 1; i++) {
        gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

        while (!g_file_test(paths[i], G_FILE_TEST_EXISTS) && g_get_monotonic_time() < deadline)
            g_usleep(20 * 1000);
        g_assert_cmpuint(statusMemoryMiB(paths[i]), ==, 64 + i);
    }
    for (i = 0; i < N; i++) {
        removeStatusDir(paths[i]);
        g_free(paths[i]);
        qemuDomainObjUnref(objs[i]);
    }
}

/* Wait (at most 10 s) until this process has one thread left. */
static void
waitSingleThreaded(void)
{
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

    for (;;) {
        g_autoptr(GDir) dir = g_dir_open("/proc/self/task", 0, NULL);
        int n = 0;

        while (dir && g_dir_read_name(dir))
            n++;
        if (n <= 1 || g_get_monotonic_time() > deadline)
            return;
        g_usleep(10 * 1000);
    }
}

int
main(int argc, char **argv)
{
    int rc;

    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/domain/job/waits-for-the-other", testJobWaitsForTheOther);
    g_test_add_func("/domain/job/timeout-names-the-domain", testJobTimeoutNamesTheDomain);
    g_test_add_func("/domain/job/removed-domain-fails", testJobOfARemovedDomainFails);
    g_test_add_func("/domain/event/expected-goes-to-the-job", testExpectedEventGoesToTheJob);
    g_test_add_func("/domain/event/job-waits-across-threads", testJobWaitsForAnEventFromAnotherThread);
    g_test_add_func("/domain/event/wait-times-out", testEventWaitTimesOut);
    g_test_add_func("/domain/event/end-wakes-the-job", testEndOfConnectionWakesTheWaitingJob);
    g_test_add_func("/domain/event/old-connection-not-handed", testEventOfAnOldConnectionIsNotHandedOver);
    g_test_add_func("/domain/event/in-order-one-worker", testEventsQueueInOrderForOneWorker);
    g_test_add_func("/domain/status/saved-later-is-written", testStatusSavedLaterIsWritten);
    g_test_add_func("/domain/status/keeps-the-newest", testStatusKeepsTheNewest);
    g_test_add_func("/domain/status/removed-stays-removed", testStatusRemovedStaysRemoved);
    g_test_add_func("/domain/status/flush-does-not-wait-for-others",
                    testStatusFlushDoesNotWaitForOthers);
    statusQueue = qemuStatusQueueNew();
    g_assert_nonnull(statusQueue);
    rc = g_test_run();
    /* joins the writer's thread: memcheck sees no thread alive at exit */
    qemuStatusQueueFree(statusQueue);
    waitSingleThreaded();
    return rc;
}
