/*
 * test-qemu-monitor-live.c: the QMP monitor client against the real QEMU
 *
 * Each case starts its own qemu-system-x86_64 (TCG, paused with -S, no
 * guest kernel) in a temporary folder, with one throttle-group tg0 and a
 * throttle filter node t0 under virtio-blk-pci vd0, and kills it in the
 * fixture's teardown. A failed assertion aborts the program: a SIGABRT
 * handler, an atexit handler and the children's parent-death signal make
 * sure no QEMU outlives it. A missing qemu-system-x86_64 is a failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "qemu/qemu_monitor.h"
#include "util/error.h"

/* ---- QEMU processes that must not outlive the test ---- */

#define MAX_CHILDREN 16
static volatile pid_t children[MAX_CHILDREN];

/* Kill every QEMU still registered; async-signal-safe. */
static void
killChildren(void)
{
    int i;

    for (i = 0; i < MAX_CHILDREN; i++) {
        if (children[i] > 0)
            kill(children[i], SIGKILL);
    }
}

static void
onFatalSignal(int sig)
{
    killChildren();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void
childRegister(pid_t pid)
{
    int i;

    for (i = 0; i < MAX_CHILDREN; i++) {
        if (children[i] == 0) {
            children[i] = pid;
            return;
        }
    }
    g_error("too many QEMU processes");
}

static void
childForget(pid_t pid)
{
    int i;

    for (i = 0; i < MAX_CHILDREN; i++) {
        if (children[i] == pid)
            children[i] = 0;
    }
}

/* In the child before exec: die with the test. */
static void
childSetup(gpointer opaque G_GNUC_UNUSED)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/* ---- what the monitor's callbacks saw ---- */

typedef struct {
    GMutex lock;
    GCond cond;
    GPtrArray *events;
    int eofCount;
    bool eofError;
} liveSeen;

static void
seenEvent(qemuMonitor *mon G_GNUC_UNUSED, const char *name, json_object *data G_GNUC_UNUSED,
          void *opaque)
{
    liveSeen *s = opaque;

    g_mutex_lock(&s->lock);
    g_ptr_array_add(s->events, g_strdup(name));
    g_cond_broadcast(&s->cond);
    g_mutex_unlock(&s->lock);
}

static void
seenEof(qemuMonitor *mon G_GNUC_UNUSED, bool error, void *opaque)
{
    liveSeen *s = opaque;

    g_mutex_lock(&s->lock);
    s->eofCount++;
    s->eofError = error;
    g_cond_broadcast(&s->cond);
    g_mutex_unlock(&s->lock);
}

static const qemuMonitorCallbacks seenCallbacks = {seenEvent, seenEof};

/* Wait up to `ms` for event `name`; true when it came. */
static bool
seenWaitEvent(liveSeen *s, const char *name, int ms)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)ms * 1000;
    bool found = false;

    g_mutex_lock(&s->lock);
    for (;;) {
        guint i;

        for (i = 0; i < s->events->len; i++)
            found = found || strcmp(g_ptr_array_index(s->events, i), name) == 0;
        if (found || !g_cond_wait_until(&s->cond, &s->lock, deadline))
            break;
    }
    g_mutex_unlock(&s->lock);
    return found;
}

/* Wait up to `ms` for the eof callback; how often it ran. */
static int
seenWaitEof(liveSeen *s, int ms)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)ms * 1000;
    int n;

    g_mutex_lock(&s->lock);
    while (s->eofCount == 0 && g_cond_wait_until(&s->cond, &s->lock, deadline))
        ;
    n = s->eofCount;
    g_mutex_unlock(&s->lock);
    return n;
}

/* ---- the fixture: one paused QEMU and its monitor ---- */

typedef struct {
    char *dir;
    char *sock;
    char *image;
    char *log;
    GPid pid;
    qemuMonitor *mon;
    liveSeen seen;
} liveFixture;

/* Create a sparse raw image of 16 MiB at `path`. */
static void
makeImage(const char *path)
{
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, 16 * 1024 * 1024), ==, 0);
    close(fd);
}

static void
liveSetup(liveFixture *f, gconstpointer data G_GNUC_UNUSED)
{
    g_autofree char *qemu = g_find_program_in_path("qemu-system-x86_64");
    g_autoptr(GError) err = NULL;
    g_autofree char *qmp = NULL;
    g_autofree char *blockdevFile = NULL;
    int logFd;

    if (!qemu)
        g_error("qemu-system-x86_64 is not on PATH: the live QEMU tests need it");

    f->dir = g_dir_make_tmp("iov-live-XXXXXX", &err);
    g_assert_no_error(err);
    f->sock = g_build_filename(f->dir, "qmp.sock", NULL);
    f->image = g_build_filename(f->dir, "disk.img", NULL);
    f->log = g_build_filename(f->dir, "qemu.log", NULL);
    makeImage(f->image);
    qmp = g_strdup_printf("unix:%s,server=on,wait=off", f->sock);
    blockdevFile = g_strdup_printf("driver=file,filename=%s,node-name=f0", f->image);
    {
        const char *argv[] = {
            qemu,
            "-machine",
            "q35,accel=tcg",
            "-S",
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-qmp",
            qmp,
            "-object",
            "throttle-group,id=tg0",
            "-blockdev",
            blockdevFile,
            "-blockdev",
            "driver=raw,file=f0,node-name=r0",
            "-blockdev",
            "driver=throttle,throttle-group=tg0,file=r0,node-name=t0",
            "-device",
            "virtio-blk-pci,id=vd0,drive=t0",
            NULL,
        };

        logFd = open(f->log, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
        g_assert_cmpint(logFd, >=, 0);
        if (!g_spawn_async_with_pipes_and_fds(f->dir, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                              childSetup, NULL, -1, logFd, logFd, NULL, NULL, 0,
                                              &f->pid, NULL, NULL, NULL, &err))
            g_error("cannot start %s: %s", qemu, err->message);
        close(logFd);
    }
    childRegister(f->pid);

    g_mutex_init(&f->seen.lock);
    g_cond_init(&f->seen.cond);
    f->seen.events = g_ptr_array_new_with_free_func(g_free);

    f->mon = qemuMonitorOpen(f->sock, 10000, &seenCallbacks, &f->seen);
    if (!f->mon) {
        g_autofree char *log = NULL;

        g_file_get_contents(f->log, &log, NULL, NULL);
        g_error("cannot open the monitor of QEMU: %s\nQEMU said: %s", utilGetError()->message,
                log ? log : "");
    }
}

static void
liveTeardown(liveFixture *f, gconstpointer data G_GNUC_UNUSED)
{
    qemuMonitorClose(f->mon);
    if (f->pid > 0) {
        kill(f->pid, SIGKILL);
        while (waitpid(f->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        childForget(f->pid);
        g_spawn_close_pid(f->pid);
    }
    unlink(f->sock);
    unlink(f->image);
    unlink(f->log);
    g_rmdir(f->dir);
    g_ptr_array_unref(f->seen.events);
    g_mutex_clear(&f->seen.lock);
    g_cond_clear(&f->seen.cond);
    g_free(f->sock);
    g_free(f->image);
    g_free(f->log);
    g_free(f->dir);
}

static void
assertError(int code, const char *message)
{
    const iovError *err = utilGetError();

    g_assert_nonnull(err);
    g_assert_cmpint(err->code, ==, code);
    if (message)
        g_assert_cmpstr(err->message, ==, message);
}

static double
secondsSince(gint64 start)
{
    return (g_get_monotonic_time() - start) / 1e6;
}

/* ---- cases ---- */

static void
testOpenAndVersion(liveFixture *f, gconstpointer data G_GNUC_UNUSED)
{
    g_autofree char *status = NULL;
    bool running = true;

    g_assert_cmpuint(qemuMonitorGetVersion(f->mon), >=, 7002000);
    g_assert_cmpuint(qemuMonitorCommandCount(f->mon), ==, 0);
    g_assert_cmpint(qemuMonitorQueryStatus(f->mon, &status, &running), ==, 0);
    g_assert_cmpstr(status, ==, "prelaunch");
    g_assert_false(running);
    g_assert_cmpuint(qemuMonitorCommandCount(f->mon), ==, 1);
}

static void
testLimitsSetThenGet(liveFixture *f, gconstpointer data G_GNUC_UNUSED)
{
    throttleDef t = {0}, got = {0};

    /* a fresh group has no limits (its lengths of 1 read back as 0) */
    g_assert_cmpint(qemuMonitorGetThrottleLimits(f->mon, "tg0", &got), ==, 0);
    g_assert_true(throttleDefIsUnlimited(&got));

    t.v[THROTTLE_BPS] = 1048576;
    t.v[THROTTLE_BPS_MAX] = 4194304;
    t.v[THROTTLE_BPS_MAX_LENGTH] = 5;
    t.v[THROTTLE_IOPS_RD] = 100;
    t.v[THROTTLE_IOPS_RD_MAX] = 300;
    t.v[THROTTLE_IOPS_RD_MAX_LENGTH] = 3;
    t.v[THROTTLE_IOPS_WR] = 50;
    t.v[THROTTLE_IOPS_SIZE] = 4096;
    g_assert_cmpint(qemuMonitorSetThrottleLimits(f->mon, "tg0", &t), ==, 0);
    g_assert_cmpint(qemuMonitorGetThrottleLimits(f->mon, "tg0", &got), ==, 0);
    g_assert_cmpuint(got.v[THROTTLE_BPS], ==, 1048576);
    g_assert_cmpuint(got.v[THROTTLE_BPS_MAX], ==, 4194304);
    g_assert_cmpuint(got.v[THROTTLE_BPS_MAX_LENGTH], ==, 5);
    g_assert_cmpuint(got.v[THROTTLE_IOPS_RD_MAX_LENGTH], ==, 3);
    g_assert_cmpuint(got.v[THROTTLE_IOPS_WR_MAX_LENGTH], ==, 0);
    g_assert_cmpuint(got.v[THROTTLE_IOPS_SIZE], ==, 4096);
    g_assert_true(throttleDefEqual(&got, &t));

    /* every key is sent: zeroing the table clears what was there */
    memset(&t, 0, sizeof(t));
    t.v[THROTTLE_BPS_RD] = 2097152;
    g_assert_cmpint(qemuMonitorSetThrottleLimits(f->mon, "tg0", &t), ==, 0);
    g_assert_cmpint(qemuMonitorGetThrottleLimits(f->mon, "tg0", &got), ==, 0);
    g_assert_true(throttleDefEqual(&got, &t));
}

static void
testValidationErrorFromQemu(liveFixture *f, gconstpointer data G_GNUC_UNUSED)
{
    throttleDef t = {0}, got = {0};

    t.v[THROTTLE_BPS] = 1;
    t.v[THROTTLE_BPS_RD] = 1;
    g_assert_cmpint(qemuMonitorSetThrottleLimits(f->mon, "tg0", &t), ==, -1);
    assertError(
        IOV_ERR_INTERNAL_ERROR,
        "internal error: unable to execute QEMU command 'qom-set': bps/iops/max total values and read/write values cannot be used at the same time");

    memset(&t, 0, sizeof(t));
    t.v[THROTTLE_IOPS_MAX] = 10;
    g_assert_cmpint(qemuMonitorSetThrottleLimits(f->mon, "tg0", &t), ==, -1);
    assertError(
        IOV_ERR_INTERNAL_ERROR,
        "internal error: unable to execute QEMU command 'qom-set': bps_max/iops_max require corresponding bps/iops values");

    /* nothing changed, and the monitor is still usable */
    g_assert_cmpint(qemuMonitorGetThrottleLimits(f->mon, "tg0", &got), ==, 0);
    g_assert_true(throttleDefIsUnlimited(&got));
}

static void
testStopContEvents(liveFixture *f, gconstpointer data G_GNUC_UNUSED)
{
    g_autofree char *status = NULL;
    g_autofree char *status2 = NULL;
    bool running = false;

    g_assert_cmpint(qemuMonitorCont(f->mon), ==, 0);
    g_assert_true(seenWaitEvent(&f->seen, "RESUME", 2000));
    g_assert_cmpint(qemuMonitorQueryStatus(f->mon, &status, &running), ==, 0);
    g_assert_cmpstr(status, ==, "running");
    g_assert_true(running);

    g_assert_cmpint(qemuMonitorStop(f->mon), ==, 0);
    g_assert_true(seenWaitEvent(&f->seen, "STOP", 2000));
    g_assert_cmpint(qemuMonitorQueryStatus(f->mon, &status2, &running), ==, 0);
    g_assert_cmpstr(status2, ==, "paused");
    g_assert_false(running);

    g_mutex_lock(&f->seen.lock);
    g_assert_cmpuint(f->seen.events->len, ==, 2);
    g_assert_cmpstr(g_ptr_array_index(f->seen.events, 0), ==, "RESUME");
    g_assert_cmpstr(g_ptr_array_index(f->seen.events, 1), ==, "STOP");
    g_mutex_unlock(&f->seen.lock);
}

static void
testBlockStats(liveFixture *f, gconstpointer data G_GNUC_UNUSED)
{
    g_autoptr(GPtrArray) stats = NULL;
    bool found = false;
    guint i;

    g_assert_cmpint(qemuMonitorQueryBlockStats(f->mon, &stats), ==, 0);
    for (i = 0; i < stats->len; i++) {
        qemuBlockStats *s = g_ptr_array_index(stats, i);

        found = found || strstr(s->qdev, "vd0") != NULL;
    }
    g_assert_true(found);
}

static void
testRegroupNode(liveFixture *f, gconstpointer data G_GNUC_UNUSED)
{
    throttleDef t = {0}, got = {0};

    t.v[THROTTLE_IOPS] = 50;
    g_assert_cmpint(qemuMonitorAddThrottleGroup(f->mon, "tg1", &t), ==, 0);
    g_assert_cmpint(qemuMonitorGetThrottleLimits(f->mon, "tg1", &got), ==, 0);
    g_assert_true(throttleDefEqual(&got, &t));

    /* tg0 is in use by t0 until t0 moves to tg1 */
    g_assert_cmpint(qemuMonitorObjectDel(f->mon, "tg0"), ==, -1);
    assertError(
        IOV_ERR_INTERNAL_ERROR,
        "internal error: unable to execute QEMU command 'object-del': object 'tg0' is in use, can not be deleted");
    g_assert_cmpint(qemuMonitorReopenThrottleNode(f->mon, "t0", "r0", "tg1"), ==, 0);
    g_assert_cmpint(qemuMonitorObjectDel(f->mon, "tg0"), ==, 0);
    g_assert_cmpint(qemuMonitorObjectDel(f->mon, "tg1"), ==, -1);
    assertError(
        IOV_ERR_INTERNAL_ERROR,
        "internal error: unable to execute QEMU command 'object-del': object 'tg1' is in use, can not be deleted");

    /* a duplicate id is refused by QEMU */
    g_assert_cmpint(qemuMonitorAddThrottleGroup(f->mon, "tg1", &t), ==, -1);
    assertError(
        IOV_ERR_INTERNAL_ERROR,
        "internal error: unable to execute QEMU command 'object-add': attempt to add duplicate property 'tg1' to object (type 'container')");
}

static void
testStoppedQemuTimesOut(liveFixture *f, gconstpointer data G_GNUC_UNUSED)
{
    gint64 start;

    qemuMonitorSetTimeout(f->mon, 500);
    g_assert_cmpint(kill(f->pid, SIGSTOP), ==, 0);
    start = g_get_monotonic_time();
    g_assert_cmpint(qemuMonitorQueryStatus(f->mon, NULL, NULL), ==, -1);
    g_assert_cmpfloat(secondsSince(start), >=, 0.45);
    g_assert_cmpfloat(secondsSince(start), <, 2);
    assertError(IOV_ERR_OPERATION_TIMEOUT, NULL);
    g_assert_nonnull(
        strstr(utilGetError()->message, "did not answer 'query-status' within 500 ms"));

    /* the monitor is now unusable, even once QEMU runs again */
    g_assert_cmpint(kill(f->pid, SIGCONT), ==, 0);
    start = g_get_monotonic_time();
    g_assert_cmpint(qemuMonitorQueryStatus(f->mon, NULL, NULL), ==, -1);
    g_assert_cmpfloat(secondsSince(start), <, 0.1);
    assertError(IOV_ERR_OPERATION_FAILED, NULL);
}

static void
testKilledQemuFiresEof(liveFixture *f, gconstpointer data G_GNUC_UNUSED)
{
    gint64 start = g_get_monotonic_time();

    g_assert_cmpint(kill(f->pid, SIGKILL), ==, 0);
    g_assert_cmpint(seenWaitEof(&f->seen, 2000), ==, 1);
    g_assert_cmpfloat(secondsSince(start), <, 2);
    g_assert_false(f->seen.eofError);
    g_assert_cmpint(qemuMonitorQueryStatus(f->mon, NULL, NULL), ==, -1);
    assertError(IOV_ERR_OPERATION_FAILED, NULL);
    g_assert_cmpint(f->seen.eofCount, ==, 1);
}

static void
testSecondClientGetsNoGreeting(liveFixture *f, gconstpointer data G_GNUC_UNUSED)
{
    gint64 start = g_get_monotonic_time();
    qemuMonitor *second = qemuMonitorOpen(f->sock, 500, NULL, NULL);

    g_assert_null(second);
    assertError(IOV_ERR_OPERATION_TIMEOUT, NULL);
    g_assert_nonnull(strstr(utilGetError()->message,
                            "sent no greeting within 500 ms (is another client connected?)"));
    g_assert_cmpfloat(secondsSince(start), <, 2);
    /* the first client is not disturbed */
    g_assert_cmpint(qemuMonitorQueryStatus(f->mon, NULL, NULL), ==, 0);
}

static void
testQuit(liveFixture *f, gconstpointer data G_GNUC_UNUSED)
{
    int status = 0;

    g_assert_cmpint(qemuMonitorQuit(f->mon), ==, 0);
    g_assert_cmpint(seenWaitEof(&f->seen, 5000), ==, 1);
    g_assert_false(f->seen.eofError);
    g_assert_true(seenWaitEvent(&f->seen, "SHUTDOWN", 0));
    g_assert_cmpint(waitpid(f->pid, &status, 0), ==, f->pid);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 0);
    childForget(f->pid);
    f->pid = 0;
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    atexit(killChildren);
    signal(SIGABRT, onFatalSignal);
    signal(SIGSEGV, onFatalSignal);
    signal(SIGTERM, onFatalSignal);
    signal(SIGINT, onFatalSignal);

#define ADD(name, fn)                                                                              \
    g_test_add("/qemu-monitor-live/" name, liveFixture, NULL, liveSetup, fn, liveTeardown)
    ADD("open-and-version", testOpenAndVersion);
    ADD("limits-set-then-get", testLimitsSetThenGet);
    ADD("validation-error-from-qemu", testValidationErrorFromQemu);
    ADD("stop-cont-events", testStopContEvents);
    ADD("blockstats", testBlockStats);
    ADD("regroup-node", testRegroupNode);
    ADD("stopped-qemu-times-out", testStoppedQemuTimesOut);
    ADD("killed-qemu-fires-eof", testKilledQemuFiresEof);
    ADD("second-client-gets-no-greeting", testSecondClientGetsNoGreeting);
    ADD("quit", testQuit);
#undef ADD

    return g_test_run();
}
