/*
 * test-qemu-monitor.c: the QMP monitor client against a fake QMP peer
 *
 * The fake peer listens on a unix socket in a temporary folder and
 * answers with lines captured from QEMU 7.2 (tests/data/qmp, see its
 * README), putting the request's id where the capture has "@ID@".
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "qemu/qemu_monitor.h"
#include "util/error.h"
#include "testutil.h"

#define QMP_DATA TEST_DATA_DIR "/qmp/"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(json_object, json_object_put)

/* ---- what the monitor's callbacks saw ---- */

typedef struct {
    GMutex lock;
    GCond cond;
    GPtrArray *events; /* names, in order */
    int eofCount;
    bool eofError;
    gulong eventDelayUs; /* time each event callback takes */
} testSeen;

static void
seenInit(testSeen *s)
{
    g_mutex_init(&s->lock);
    g_cond_init(&s->cond);
    s->events = g_ptr_array_new_with_free_func(g_free);
    s->eofCount = 0;
    s->eofError = false;
    s->eventDelayUs = 0;
}

static void
seenClear(testSeen *s)
{
    g_ptr_array_unref(s->events);
    g_mutex_clear(&s->lock);
    g_cond_clear(&s->cond);
}

static void
seenEvent(qemuMonitor *mon G_GNUC_UNUSED, const char *name, json_object *data G_GNUC_UNUSED,
          void *opaque)
{
    testSeen *s = opaque;

    g_mutex_lock(&s->lock);
    g_ptr_array_add(s->events, g_strdup(name));
    g_cond_broadcast(&s->cond);
    g_mutex_unlock(&s->lock);
    if (s->eventDelayUs)
        g_usleep(s->eventDelayUs);
}

static void
seenEof(qemuMonitor *mon G_GNUC_UNUSED, bool error, void *opaque)
{
    testSeen *s = opaque;

    g_mutex_lock(&s->lock);
    s->eofCount++;
    s->eofError = error;
    g_cond_broadcast(&s->cond);
    g_mutex_unlock(&s->lock);
}

static const qemuMonitorCallbacks seenCallbacks = {seenEvent, seenEof};

/* Wait up to `ms` for the eof callback; returns how often it ran. */
static int
seenWaitEof(testSeen *s, int ms)
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

static guint
seenEventCount(testSeen *s)
{
    guint n;

    g_mutex_lock(&s->lock);
    n = s->events->len;
    g_mutex_unlock(&s->lock);
    return n;
}

/* ---- the fake QMP peer ---- */

typedef enum {
    PEER_NEXT,   /* answer, then wait for the next request */
    PEER_SILENT, /* answer, then never answer again */
    PEER_CLOSE,  /* answer, then close the connection */
    PEER_FLOOD,  /* answer, then send STOP events until the client leaves */
    PEER_LATE,   /* answer, then send a STOP event a moment later */
} peerAfter;

/* One request the peer expects and what it sends back. Each entry of
 * `send` is a captured file name or "=TEXT" for a raw line. */
typedef struct {
    const char *execute;
    const char *send[4];
    peerAfter after;
} peerStep;

typedef struct {
    char *dir;
    char *path;
    int listenFd;
    bool accept; /* false: listen but never accept */
    int delayMs; /* create the socket only after this */
    const peerStep *steps;
    size_t nsteps;
    GThread *thread;
    GMutex lock;
    GPtrArray *requests; /* the lines received, caps excluded */
} fakePeer;

/* Send `text` whole, ignoring a client that went away. */
static void
peerWrite(int fd, const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, text, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        text += n;
        len -= n;
    }
}

/* The captured line NAME with `id` in place of "@ID@", or without its
 * "id" when `id` is NULL (the request had none, and QEMU then answers
 * without one). */
static char *
peerLine(const char *name, const char *id)
{
    g_autofree char *path = g_strconcat(QMP_DATA, name, NULL);
    g_autofree char *text = testReadFile(path);
    g_auto(GStrv) parts = g_strsplit(text, "@ID@", -1);
    g_autofree char *line = g_strjoinv(id ? id : "", parts);
    g_autoptr(json_object) o = NULL;

    if (id || !strstr(text, "@ID@"))
        return g_steal_pointer(&line);
    o = json_tokener_parse(line);
    g_assert_nonnull(o);
    json_object_object_del(o, "id");
    return g_strconcat(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), "\n", NULL);
}

/* Send one `send` entry of a step answering `id`. */
static void
peerSendEntry(int fd, const char *entry, const char *id)
{
    g_autofree char *line = NULL;

    if (entry[0] == '=')
        line = g_strdup(entry + 1);
    else
        line = peerLine(entry, id);
    peerWrite(fd, line, strlen(line));
}

/* Create, bind and listen on the peer's socket. */
static void
peerListen(fakePeer *p)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};

    g_assert_cmpuint(strlen(p->path), <, sizeof(addr.sun_path));
    strcpy(addr.sun_path, p->path);
    p->listenFd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(p->listenFd, >=, 0);
    g_assert_cmpint(bind(p->listenFd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
    g_assert_cmpint(listen(p->listenFd, 4), ==, 0);
}

/* Serve one client: greeting, capabilities, then the steps. */
static gpointer
peerMain(gpointer opaque)
{
    fakePeer *p = opaque;
    g_autoptr(GString) buf = g_string_new(NULL);
    g_autofree char *greeting = peerLine("greeting.json", "");
    size_t step = 0;
    bool silent = false;
    int fd;

    if (p->delayMs) {
        g_usleep(p->delayMs * 1000);
        peerListen(p);
    }
    fd = accept(p->listenFd, NULL, NULL);
    g_assert_cmpint(fd, >=, 0);
    peerWrite(fd, greeting, strlen(greeting));

    for (;;) {
        char chunk[4096];
        ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
        char *nl;

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        g_string_append_len(buf, chunk, n);
        while ((nl = memchr(buf->str, '\n', buf->len))) {
            g_autofree char *line = g_strndup(buf->str, nl - buf->str);
            g_autoptr(json_object) req = json_tokener_parse(line);
            json_object *v = NULL;
            const char *execute = NULL;
            const char *id = NULL;
            const peerStep *s;
            size_t i;

            g_string_erase(buf, 0, nl - buf->str + 1);
            g_assert_nonnull(req);
            if (json_object_object_get_ex(req, "execute", &v))
                execute = json_object_get_string(v);
            if (json_object_object_get_ex(req, "id", &v))
                id = json_object_get_string(v);
            g_assert_nonnull(execute);
            if (strcmp(execute, "qmp_capabilities") == 0) {
                g_autofree char *reply = peerLine("qmp-capabilities-reply.json", id);

                peerWrite(fd, reply, strlen(reply));
                continue;
            }
            g_mutex_lock(&p->lock);
            g_ptr_array_add(p->requests, g_strdup(line));
            g_mutex_unlock(&p->lock);
            if (silent || step >= p->nsteps)
                continue;
            s = &p->steps[step++];
            g_assert_cmpstr(execute, ==, s->execute);
            for (i = 0; i < G_N_ELEMENTS(s->send) && s->send[i]; i++)
                peerSendEntry(fd, s->send[i], id);
            if (s->after == PEER_SILENT)
                silent = true;
            if (s->after == PEER_CLOSE)
                goto done;
            if (s->after == PEER_LATE) {
                g_autofree char *ev = peerLine("event-stop.json", "");

                /* after the command has returned: the I/O thread reads it */
                g_usleep((step % 4) * 1000);
                peerWrite(fd, ev, strlen(ev));
            }
            if (s->after == PEER_FLOOD) {
                g_autofree char *ev = peerLine("event-stop.json", "");

                for (;;) {
                    if (send(fd, ev, strlen(ev), MSG_NOSIGNAL) < 0 && errno != EINTR)
                        goto done;
                }
            }
        }
    }
done:
    close(fd);
    return NULL;
}

/* Start a fake peer following `steps`. */
static fakePeer *
peerNew(const peerStep *steps, size_t nsteps)
{
    fakePeer *p = g_new0(fakePeer, 1);
    g_autoptr(GError) err = NULL;

    p->dir = g_dir_make_tmp("iov-qmp-XXXXXX", &err);
    g_assert_no_error(err);
    p->path = g_build_filename(p->dir, "qmp.sock", NULL);
    p->steps = steps;
    p->nsteps = nsteps;
    p->accept = true;
    p->listenFd = -1;
    g_mutex_init(&p->lock);
    p->requests = g_ptr_array_new_with_free_func(g_free);
    return p;
}

/* Let the peer serve (after peerNew and any option). */
static void
peerStart(fakePeer *p)
{
    if (!p->delayMs)
        peerListen(p);
    if (p->accept)
        p->thread = g_thread_new("fake-qmp", peerMain, p);
}

/* Wait for the peer to finish (the client must have closed) and free. */
static void
peerFree(fakePeer *p)
{
    if (p->thread)
        g_thread_join(p->thread);
    if (p->listenFd >= 0)
        close(p->listenFd);
    unlink(p->path);
    g_rmdir(p->dir);
    g_ptr_array_unref(p->requests);
    g_mutex_clear(&p->lock);
    g_free(p->path);
    g_free(p->dir);
    g_free(p);
}

/* Request `i` the peer received, parsed. */
static json_object *
peerRequest(fakePeer *p, guint i)
{
    json_object *req;

    g_mutex_lock(&p->lock);
    g_assert_cmpuint(i, <, p->requests->len);
    req = json_tokener_parse(g_ptr_array_index(p->requests, i));
    g_mutex_unlock(&p->lock);
    g_assert_nonnull(req);
    return req;
}

static guint
peerRequestCount(fakePeer *p)
{
    guint n;

    g_mutex_lock(&p->lock);
    n = p->requests->len;
    g_mutex_unlock(&p->lock);
    return n;
}

/* Open a monitor on a started peer. */
static qemuMonitor *
openPeer(fakePeer *p, testSeen *seen)
{
    qemuMonitor *mon = qemuMonitorOpen(p->path, 5000, &seenCallbacks, seen);

    if (!mon)
        g_error("open failed: %s", utilGetError()->message);
    return mon;
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

static void
assertErrorContains(int code, const char *part)
{
    const iovError *err = utilGetError();

    g_assert_nonnull(err);
    g_assert_cmpint(err->code, ==, code);
    g_assert_nonnull(strstr(err->message, part));
}

static double
secondsSince(gint64 start)
{
    return (g_get_monotonic_time() - start) / 1e6;
}

/* ---- connection and negotiation ---- */

static void
testOpenNegotiates(void)
{
    fakePeer *p = peerNew(NULL, 0);
    testSeen seen;
    qemuMonitor *mon;

    seenInit(&seen);
    peerStart(p);
    mon = openPeer(p, &seen);
    g_assert_cmpuint(qemuMonitorGetVersion(mon), ==, 7002022);
    g_assert_cmpuint(qemuMonitorCommandCount(mon), ==, 0);
    qemuMonitorClose(mon);
    peerFree(p);
    g_assert_cmpint(seen.eofCount, ==, 0);
    seenClear(&seen);
}

static void
testOpenWaitsForSocket(void)
{
    fakePeer *p = peerNew(NULL, 0);
    testSeen seen;
    qemuMonitor *mon;

    seenInit(&seen);
    p->delayMs = 300;
    peerStart(p);
    mon = openPeer(p, &seen);
    g_assert_cmpuint(qemuMonitorGetVersion(mon), ==, 7002022);
    qemuMonitorClose(mon);
    peerFree(p);
    seenClear(&seen);
}

static void
testOpenMissingSocketFails(void)
{
    gint64 start = g_get_monotonic_time();
    qemuMonitor *mon = qemuMonitorOpen("/nonexistent/iov/qmp.sock", 300, NULL, NULL);

    g_assert_null(mon);
    assertError(
        IOV_ERR_OPERATION_FAILED,
        "operation failed: cannot connect to QEMU monitor at '/nonexistent/iov/qmp.sock' within 300 ms: No such file or directory");
    g_assert_cmpfloat(secondsSince(start), >=, 0.25);
    g_assert_cmpfloat(secondsSince(start), <, 2);
}

static void
testOpenUnusablePathFailsAtOnce(void)
{
    gint64 start = g_get_monotonic_time();
    qemuMonitor *mon = qemuMonitorOpen(QMP_DATA "greeting.json/qmp.sock", 5000, NULL, NULL);

    /* a path that can never become a socket is not retried */
    g_assert_null(mon);
    assertErrorContains(IOV_ERR_SYSTEM_ERROR, "cannot connect to QEMU monitor at '");
    assertErrorContains(IOV_ERR_SYSTEM_ERROR, "greeting.json/qmp.sock': Not a directory");
    g_assert_cmpfloat(secondsSince(start), <, 1);
}

static void
testOpenNoGreetingTimesOut(void)
{
    fakePeer *p = peerNew(NULL, 0);
    g_autofree char *expected = NULL;
    gint64 start;
    qemuMonitor *mon;

    p->accept = false; /* like a QEMU that already has a client */
    peerStart(p);
    start = g_get_monotonic_time();
    mon = qemuMonitorOpen(p->path, 300, NULL, NULL);
    g_assert_null(mon);
    expected = g_strdup_printf(
        "Timed out during operation: QEMU monitor at '%s' sent no greeting within 300 ms (is another client connected?)",
        p->path);
    assertError(IOV_ERR_OPERATION_TIMEOUT, expected);
    g_assert_cmpfloat(secondsSince(start), >=, 0.25);
    g_assert_cmpfloat(secondsSince(start), <, 2);
    peerFree(p);
}

/* ---- commands and replies ---- */

static void
testReplyAfterEvents(void)
{
    /* An event, another, then the reply saying "paused". */
    static const peerStep steps[] = {
        {"query-status", {"event-resume.json", "event-stop.json", "query-status-paused.json"},
         PEER_NEXT},
    };
    fakePeer *p = peerNew(steps, G_N_ELEMENTS(steps));
    g_autofree char *status = NULL;
    g_autoptr(json_object) req = NULL;
    json_object *v = NULL;
    testSeen seen;
    bool running = true;
    qemuMonitor *mon;

    seenInit(&seen);
    peerStart(p);
    mon = openPeer(p, &seen);
    g_assert_cmpint(qemuMonitorQueryStatus(mon, &status, &running), ==, 0);
    g_assert_cmpstr(status, ==, "paused");
    g_assert_false(running);
    /* both events were delivered, in order, before the reply */
    g_assert_cmpuint(seen.events->len, ==, 2);
    g_assert_cmpstr(g_ptr_array_index(seen.events, 0), ==, "RESUME");
    g_assert_cmpstr(g_ptr_array_index(seen.events, 1), ==, "STOP");
    g_assert_cmpuint(qemuMonitorCommandCount(mon), ==, 1);

    /* the command goes without an id (its reply is the next one) */
    req = peerRequest(p, 0);
    g_assert_true(json_object_object_get_ex(req, "execute", &v));
    g_assert_cmpstr(json_object_get_string(v), ==, "query-status");
    g_assert_false(json_object_object_get_ex(req, "id", NULL));
    g_assert_false(json_object_object_get_ex(req, "arguments", NULL));
    qemuMonitorClose(mon);
    peerFree(p);
    seenClear(&seen);
}

/* The state a reconnect reads: the run state and each group's limits,
 * sent together; replies are matched by order, events among them delivered. */
static void
testReadStateInOneBatch(void)
{
    static const peerStep steps[] = {
        {"query-status", {"event-stop.json", "query-status-paused.json"}, PEER_NEXT},
        {"qom-get", {"qom-get-limits-set.json"}, PEER_NEXT},
        {"qom-get", {"qom-get-limits-default.json"}, PEER_NEXT},
    };
    fakePeer *p = peerNew(steps, G_N_ELEMENTS(steps));
    const char *ids[] = {"tg-vda", "tg-vdb"};
    throttleDef got[2] = {{{0}}}, want = {{0}};
    g_autofree char *status = NULL;
    testSeen seen;
    bool running = true;
    qemuMonitor *mon;
    guint i;

    seenInit(&seen);
    peerStart(p);
    mon = openPeer(p, &seen);
    g_assert_cmpint(qemuMonitorReadState(mon, &status, &running, 2, ids, got), ==, 0);
    g_assert_cmpstr(status, ==, "paused");
    g_assert_false(running);
    g_assert_cmpuint(seen.events->len, ==, 1);
    /* the captured qom-get after a set, and QEMU's defaults */
    g_assert_true(got[0].v[THROTTLE_BPS] != 0);
    g_assert_true(throttleDefSameLimits(&got[1], &want));
    g_assert_cmpuint(qemuMonitorCommandCount(mon), ==, 3);
    for (i = 0; i < 2; i++) {
        g_autoptr(json_object) req = peerRequest(p, i + 1);
        json_object *args = NULL, *v = NULL;

        g_assert_true(json_object_object_get_ex(req, "arguments", &args));
        g_assert_true(json_object_object_get_ex(args, "path", &v));
        g_assert_cmpstr(json_object_get_string(v), ==, ids[i]);
    }
    qemuMonitorClose(mon);
    peerFree(p);
    seenClear(&seen);
}

/* One refused command fails the whole batch with QEMU's error, and the
 * monitor stays usable. */
static void
testReadStateErrorFailsAll(void)
{
    static const peerStep steps[] = {
        {"query-status", {"query-status-running.json"}, PEER_NEXT},
        {"qom-get", {"qom-set-limits-error.json"}, PEER_NEXT},
        {"qom-get", {"qom-get-limits-default.json"}, PEER_NEXT},
        {"query-status", {"query-status-paused.json"}, PEER_NEXT},
    };
    fakePeer *p = peerNew(steps, G_N_ELEMENTS(steps));
    const char *ids[] = {"tg-vda", "tg-vdb"};
    throttleDef got[2] = {{{0}}};
    char *status = NULL;
    testSeen seen;
    bool running = false;
    qemuMonitor *mon;

    seenInit(&seen);
    peerStart(p);
    mon = openPeer(p, &seen);
    g_assert_cmpint(qemuMonitorReadState(mon, &status, &running, 2, ids, got), ==, -1);
    g_assert_null(status);
    g_assert_cmpstr(
        iovGetLastErrorMessage(), ==,
        "internal error: unable to execute QEMU command 'qom-get': bps/iops/max total values and read/write values cannot be used at the same time");
    g_assert_cmpint(qemuMonitorQueryStatus(mon, NULL, &running), ==, 0);
    g_assert_false(running);
    qemuMonitorClose(mon);
    peerFree(p);
    seenClear(&seen);
}

static void
testStopContEvents(void)
{
    static const peerStep steps[] = {
        {"cont", {"event-resume.json", "cont-reply.json"}, PEER_NEXT},
        {"stop", {"event-stop.json", "stop-reply.json"}, PEER_NEXT},
        {"query-status", {"query-status-paused.json"}, PEER_NEXT},
    };
    fakePeer *p = peerNew(steps, G_N_ELEMENTS(steps));
    testSeen seen;
    qemuMonitor *mon;

    seenInit(&seen);
    peerStart(p);
    mon = openPeer(p, &seen);
    g_assert_cmpint(qemuMonitorCont(mon), ==, 0);
    g_assert_cmpuint(seenEventCount(&seen), ==, 1);
    g_assert_cmpint(qemuMonitorStop(mon), ==, 0);
    g_assert_cmpuint(seenEventCount(&seen), ==, 2);
    g_assert_cmpstr(g_ptr_array_index(seen.events, 0), ==, "RESUME");
    g_assert_cmpstr(g_ptr_array_index(seen.events, 1), ==, "STOP");
    g_assert_cmpint(qemuMonitorQueryStatus(mon, NULL, NULL), ==, 0);
    g_assert_cmpuint(qemuMonitorCommandCount(mon), ==, 3);
    qemuMonitorClose(mon);
    peerFree(p);
    seenClear(&seen);
}

/* seenEventCount once it reaches `n`, or after `ms`. */
static guint
seenWaitEvents(testSeen *s, guint n, int ms)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)ms * 1000;
    guint have;

    g_mutex_lock(&s->lock);
    while (s->events->len < n && g_cond_wait_until(&s->cond, &s->lock, deadline))
        ;
    have = s->events->len;
    g_mutex_unlock(&s->lock);
    return have;
}

/*
 * A command's own thread reads its reply, and the I/O thread leaves the
 * socket alone meanwhile: an event that comes after the reply, at once
 * or a few milliseconds later, must still reach the callback, every
 * time.
 */
static void
testEventsAfterCommandsReachCallback(void)
{
    enum { N = 40 };
    peerStep steps[N];
    fakePeer *p;
    testSeen seen;
    qemuMonitor *mon;
    guint i;

    for (i = 0; i < N; i++)
        steps[i] = (peerStep){"cont", {"cont-reply.json"}, PEER_LATE};
    p = peerNew(steps, N);
    seenInit(&seen);
    peerStart(p);
    mon = openPeer(p, &seen);
    for (i = 0; i < N; i++) {
        gint64 t0;

        g_assert_cmpint(qemuMonitorCont(mon), ==, 0);
        /* the monitor is idle now: only the I/O thread can read it, once
         * it takes the socket back (10 ms after the command; the bound
         * leaves room for a loaded machine) */
        t0 = g_get_monotonic_time();
        g_assert_cmpuint(seenWaitEvents(&seen, i + 1, 2000), ==, i + 1);
        g_assert_cmpint(g_get_monotonic_time() - t0, <, 500 * G_TIME_SPAN_MILLISECOND);
    }
    g_assert_cmpstr(g_ptr_array_index(seen.events, N - 1), ==, "STOP");
    qemuMonitorClose(mon);
    peerFree(p);
    seenClear(&seen);
}

static void
testErrorReplyText(void)
{
    static const peerStep steps[] = {
        {"qom-set", {"qom-set-limits-error.json"}, PEER_NEXT},
        {"object-del", {"object-del-in-use-error.json"}, PEER_NEXT},
    };
    fakePeer *p = peerNew(steps, G_N_ELEMENTS(steps));
    throttleDef t = {0};
    testSeen seen;
    qemuMonitor *mon;

    seenInit(&seen);
    peerStart(p);
    mon = openPeer(p, &seen);
    t.v[THROTTLE_BPS] = 1;
    t.v[THROTTLE_BPS_RD] = 1;
    g_assert_cmpint(qemuMonitorSetThrottleLimits(mon, "tg0", &t), ==, -1);
    assertError(
        IOV_ERR_INTERNAL_ERROR,
        "internal error: unable to execute QEMU command 'qom-set': bps/iops/max total values and read/write values cannot be used at the same time");
    g_assert_cmpint(qemuMonitorObjectDel(mon, "tg0"), ==, -1);
    assertError(
        IOV_ERR_INTERNAL_ERROR,
        "internal error: unable to execute QEMU command 'object-del': object 'tg0' is in use, can not be deleted");
    /* a refused command leaves the monitor usable */
    g_assert_cmpuint(qemuMonitorCommandCount(mon), ==, 2);
    qemuMonitorClose(mon);
    peerFree(p);
    seenClear(&seen);
}

static void
testTimeoutBreaksMonitor(void)
{
    static const peerStep steps[] = {
        {"query-status", {NULL}, PEER_SILENT},
    };
    fakePeer *p = peerNew(steps, G_N_ELEMENTS(steps));
    g_autofree char *expected = NULL;
    testSeen seen;
    qemuMonitor *mon;
    gint64 start;

    seenInit(&seen);
    peerStart(p);
    mon = openPeer(p, &seen);
    qemuMonitorSetTimeout(mon, 300);
    start = g_get_monotonic_time();
    g_assert_cmpint(qemuMonitorQueryStatus(mon, NULL, NULL), ==, -1);
    g_assert_cmpfloat(secondsSince(start), >=, 0.29);
    g_assert_cmpfloat(secondsSince(start), <, 2);
    expected = g_strdup_printf(
        "Timed out during operation: QEMU monitor at '%s' did not answer 'query-status' within 300 ms",
        p->path);
    assertError(IOV_ERR_OPERATION_TIMEOUT, expected);

    /* later commands fail at once, without being sent */
    start = g_get_monotonic_time();
    g_assert_cmpint(qemuMonitorCont(mon), ==, -1);
    g_assert_cmpfloat(secondsSince(start), <, 0.1);
    assertErrorContains(IOV_ERR_OPERATION_FAILED,
                        "unusable after an earlier command timed out, cannot run 'cont'");
    g_assert_cmpuint(qemuMonitorCommandCount(mon), ==, 1);
    qemuMonitorClose(mon);
    peerFree(p);
    g_assert_cmpint(seen.eofCount, ==, 0);
    seenClear(&seen);
}

static void
testPeerClosesMidCommand(void)
{
    static const peerStep steps[] = {
        {"query-status", {NULL}, PEER_CLOSE},
    };
    fakePeer *p = peerNew(steps, G_N_ELEMENTS(steps));
    testSeen seen;
    qemuMonitor *mon;

    seenInit(&seen);
    peerStart(p);
    mon = openPeer(p, &seen);
    g_assert_cmpint(qemuMonitorQueryStatus(mon, NULL, NULL), ==, -1);
    assertErrorContains(IOV_ERR_OPERATION_FAILED,
                        "operation failed: QEMU monitor closed while running 'query-status'");
    g_assert_cmpint(seenWaitEof(&seen, 2000), ==, 1);
    g_assert_false(seen.eofError);

    /* a later command fails at once and the callback does not fire again */
    g_assert_cmpint(qemuMonitorStop(mon), ==, -1);
    assertErrorContains(IOV_ERR_OPERATION_FAILED, "is closed, cannot run 'stop'");
    g_assert_cmpuint(qemuMonitorCommandCount(mon), ==, 1);
    qemuMonitorClose(mon);
    g_assert_cmpint(seen.eofCount, ==, 1);
    peerFree(p);
    seenClear(&seen);
}

static void
testGarbageLineIsProtocolError(void)
{
    static const peerStep steps[] = {
        {"query-status",
         {"event-stop.json", "=this is not JSON\r\n", "query-status-paused.json"},
         PEER_NEXT},
    };
    fakePeer *p = peerNew(steps, G_N_ELEMENTS(steps));
    testSeen seen;
    qemuMonitor *mon;

    seenInit(&seen);
    peerStart(p);
    mon = openPeer(p, &seen);
    g_assert_cmpint(qemuMonitorQueryStatus(mon, NULL, NULL), ==, -1);
    assertErrorContains(IOV_ERR_OPERATION_FAILED,
                        "sent an unreadable message and was closed while running 'query-status'");
    g_assert_cmpint(seenWaitEof(&seen, 2000), ==, 1);
    g_assert_true(seen.eofError);
    /* the event before the garbage was delivered, nothing after it */
    g_assert_cmpuint(seenEventCount(&seen), ==, 1);
    qemuMonitorClose(mon);
    peerFree(p);
    seenClear(&seen);
}

static void
testOverlongLineIsProtocolError(void)
{
    fakePeer *p;
    testSeen seen;
    qemuMonitor *mon;
    g_autofree char *huge = g_malloc(16 * 1024 * 1024 + 3);
    peerStep *steps = g_new0(peerStep, 1);

    /* 16 MiB + 1 bytes of a JSON string, never terminated by a newline */
    huge[0] = '=';
    huge[1] = '"';
    memset(huge + 2, 'a', 16 * 1024 * 1024);
    huge[16 * 1024 * 1024 + 2] = '\0';
    steps[0].execute = "query-status";
    steps[0].send[0] = huge;
    steps[0].after = PEER_NEXT;
    p = peerNew(steps, 1);
    seenInit(&seen);
    peerStart(p);
    mon = openPeer(p, &seen);
    g_assert_cmpint(qemuMonitorQueryStatus(mon, NULL, NULL), ==, -1);
    assertError(IOV_ERR_OPERATION_FAILED, NULL);
    g_assert_cmpint(seenWaitEof(&seen, 5000), ==, 1);
    g_assert_true(seen.eofError);
    qemuMonitorClose(mon);
    peerFree(p);
    g_free(steps);
    seenClear(&seen);
}

static void
testGarbageWhileIdleFiresEof(void)
{
    static const peerStep steps[] = {
        {"stop", {"stop-reply.json", "=[1, 2\n"}, PEER_NEXT},
    };
    fakePeer *p = peerNew(steps, G_N_ELEMENTS(steps));
    testSeen seen;
    qemuMonitor *mon;

    seenInit(&seen);
    peerStart(p);
    mon = openPeer(p, &seen);
    g_assert_cmpint(qemuMonitorStop(mon), ==, 0);
    g_assert_cmpint(seenWaitEof(&seen, 2000), ==, 1);
    g_assert_true(seen.eofError);
    qemuMonitorClose(mon);
    peerFree(p);
    seenClear(&seen);
}

static void
testQuitAcceptsClosedConnection(void)
{
    static const peerStep closeFirst[] = {
        {"quit", {"event-shutdown.json"}, PEER_CLOSE},
    };
    static const peerStep replyFirst[] = {
        {"quit", {"event-shutdown.json", "quit-reply.json"}, PEER_CLOSE},
    };
    const peerStep *variants[] = {closeFirst, replyFirst};
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(variants); i++) {
        fakePeer *p = peerNew(variants[i], 1);
        testSeen seen;
        qemuMonitor *mon;

        seenInit(&seen);
        peerStart(p);
        mon = openPeer(p, &seen);
        g_assert_cmpint(qemuMonitorQuit(mon), ==, 0);
        g_assert_cmpint(seenWaitEof(&seen, 2000), ==, 1);
        g_assert_false(seen.eofError);
        g_assert_cmpuint(seenEventCount(&seen), ==, 1);
        g_assert_cmpstr(g_ptr_array_index(seen.events, 0), ==, "SHUTDOWN");
        /* anything but quit fails once QEMU is gone */
        g_assert_cmpint(qemuMonitorCont(mon), ==, -1);
        assertError(IOV_ERR_OPERATION_FAILED, NULL);
        qemuMonitorClose(mon);
        peerFree(p);
        seenClear(&seen);
    }
}

typedef struct {
    qemuMonitor *mon;
    int rc;
    int code;
} commandThreadData;

static gpointer
commandThread(gpointer opaque)
{
    commandThreadData *d = opaque;

    d->rc = qemuMonitorQueryStatus(d->mon, NULL, NULL);
    d->code = utilGetError() ? utilGetError()->code : 0;
    return NULL;
}

/* ---- commands begun without waiting ---- */

typedef struct {
    int calls;
    int rc;
    int code;
    char *message;
    json_object *ret;
    GThread *thread; /* the thread it was called in */
} begunSeen;

static void
begunDone(qemuMonitor *mon G_GNUC_UNUSED, int rc, json_object *ret, void *opaque)
{
    begunSeen *b = opaque;

    b->calls++;
    b->rc = rc;
    b->ret = ret;
    b->thread = g_thread_self();
    if (rc < 0) {
        b->code = utilGetError()->code;
        b->message = g_strdup(utilGetError()->message);
    }
}

/* Run `ctx` until the begun command ended, 5 s at most. */
static void
begunWait(GMainContext *ctx, begunSeen *b)
{
    gint64 until = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

    while (b->calls == 0 && g_get_monotonic_time() < until)
        g_main_context_iteration(ctx, TRUE);
}

static void
begunClear(begunSeen *b)
{
    if (b->ret)
        json_object_put(b->ret);
    g_free(b->message);
}

/* The reply comes to the loop of the thread that began the command, which
 * holds the monitor until then: a second command is declined, a query
 * that does not wait finds it busy; afterwards both work. */
static void
testBegunReplyEndsInOwnLoop(void)
{
    static const peerStep steps[] = {
        {"query-status", {"event-stop.json", "query-status-paused.json"}, PEER_NEXT},
        {"query-status", {"query-status-running.json"}, PEER_NEXT},
    };
    fakePeer *p = peerNew(steps, G_N_ELEMENTS(steps));
    GMainContext *ctx = g_main_context_new();
    begunSeen b = {0};
    json_object *status = NULL;
    testSeen seen;
    qemuMonitor *mon;
    bool running = false;

    seenInit(&seen);
    peerStart(p);
    mon = openPeer(p, &seen);
    g_assert_cmpint(qemuMonitorCommandBegin(mon, "query-status", NULL, ctx, begunDone, &b), ==, 1);
    g_assert_cmpint(qemuMonitorCommandBegin(mon, "cont", NULL, ctx, begunDone, &b), ==, 0);
    g_assert_cmpint(b.calls, ==, 0);
    begunWait(ctx, &b);
    g_assert_cmpint(b.calls, ==, 1);
    g_assert_cmpint(b.rc, ==, 0);
    g_assert_true(b.thread == g_thread_self());
    g_assert_nonnull(b.ret);
    g_assert_true(json_object_object_get_ex(b.ret, "status", &status));
    g_assert_cmpstr(json_object_get_string(status), ==, "paused");
    /* the event that came before the reply reached its callback */
    g_assert_cmpint(seenWaitEvents(&seen, 1, 2000), ==, 1);
    /* the monitor is free again */
    g_assert_cmpint(qemuMonitorQueryStatus(mon, NULL, &running), ==, 0);
    g_assert_true(running);
    g_assert_cmpuint(qemuMonitorCommandCount(mon), ==, 2);
    qemuMonitorClose(mon);
    peerFree(p);
    begunClear(&b);
    seenClear(&seen);
    g_main_context_unref(ctx);
}

/* No reply within the monitor's timeout: the begun command fails as a
 * waiting one does, and the monitor is unusable after it. */
static void
testBegunTimeoutBreaksMonitor(void)
{
    static const peerStep steps[] = {
        {"query-status", {NULL}, PEER_SILENT},
    };
    fakePeer *p = peerNew(steps, G_N_ELEMENTS(steps));
    GMainContext *ctx = g_main_context_new();
    begunSeen b = {0};
    testSeen seen;
    qemuMonitor *mon;
    gint64 start;

    seenInit(&seen);
    peerStart(p);
    mon = openPeer(p, &seen);
    qemuMonitorSetTimeout(mon, 300);
    start = g_get_monotonic_time();
    g_assert_cmpint(qemuMonitorCommandBegin(mon, "query-status", NULL, ctx, begunDone, &b), ==, 1);
    begunWait(ctx, &b);
    g_assert_cmpint(b.calls, ==, 1);
    g_assert_cmpint(b.rc, ==, -1);
    g_assert_cmpfloat(secondsSince(start), >=, 0.29);
    g_assert_cmpint(b.code, ==, IOV_ERR_OPERATION_TIMEOUT);
    g_assert_nonnull(strstr(b.message, "did not answer 'query-status' within 300 ms"));
    g_assert_false(qemuMonitorIsUsable(mon));
    g_assert_cmpint(qemuMonitorCont(mon), ==, -1);
    assertErrorContains(IOV_ERR_OPERATION_FAILED, "unusable after an earlier command timed out");
    qemuMonitorClose(mon);
    peerFree(p);
    begunClear(&b);
    seenClear(&seen);
    g_main_context_unref(ctx);
}

/* QEMU goes away during a begun command: it fails, and the end of the
 * connection is reported once. */
static void
testBegunPeerCloses(void)
{
    static const peerStep steps[] = {
        {"query-status", {NULL}, PEER_CLOSE},
    };
    fakePeer *p = peerNew(steps, G_N_ELEMENTS(steps));
    GMainContext *ctx = g_main_context_new();
    begunSeen b = {0};
    testSeen seen;
    qemuMonitor *mon;

    seenInit(&seen);
    peerStart(p);
    mon = openPeer(p, &seen);
    g_assert_cmpint(qemuMonitorCommandBegin(mon, "query-status", NULL, ctx, begunDone, &b), ==, 1);
    begunWait(ctx, &b);
    g_assert_cmpint(b.calls, ==, 1);
    g_assert_cmpint(b.rc, ==, -1);
    g_assert_cmpint(b.code, ==, IOV_ERR_OPERATION_FAILED);
    g_assert_nonnull(strstr(b.message, "QEMU monitor closed while running 'query-status'"));
    g_assert_cmpint(seenWaitEof(&seen, 2000), ==, 1);
    qemuMonitorClose(mon);
    g_assert_cmpint(seen.eofCount, ==, 1);
    peerFree(p);
    begunClear(&b);
    seenClear(&seen);
    g_main_context_unref(ctx);
}

/* The thread that began a command closes the monitor before its loop
 * read the reply: the command ends there, failed, and nothing waits for
 * itself. */
static void
testBegunEndedByCloseInOwnThread(void)
{
    static const peerStep steps[] = {
        {"query-status", {NULL}, PEER_SILENT},
    };
    fakePeer *p = peerNew(steps, G_N_ELEMENTS(steps));
    GMainContext *ctx = g_main_context_new();
    begunSeen b = {0};
    testSeen seen;
    qemuMonitor *mon;

    seenInit(&seen);
    peerStart(p);
    mon = openPeer(p, &seen);
    g_assert_cmpint(qemuMonitorCommandBegin(mon, "query-status", NULL, ctx, begunDone, &b), ==, 1);
    while (peerRequestCount(p) == 0)
        g_usleep(1000);
    qemuMonitorClose(mon);
    g_assert_cmpint(b.calls, ==, 1);
    g_assert_cmpint(b.rc, ==, -1);
    g_assert_nonnull(strstr(b.message, "was closed while running 'query-status'"));
    /* nothing of it is left in the loop */
    while (g_main_context_iteration(ctx, FALSE))
        ;
    g_assert_cmpint(b.calls, ==, 1);
    peerFree(p);
    begunClear(&b);
    seenClear(&seen);
    g_main_context_unref(ctx);
}

static void
testCloseFailsWaitingCommand(void)
{
    static const peerStep steps[] = {
        {"query-status", {NULL}, PEER_SILENT},
    };
    fakePeer *p = peerNew(steps, G_N_ELEMENTS(steps));
    commandThreadData d = {0};
    testSeen seen;
    GThread *thread;
    gint64 start;

    seenInit(&seen);
    peerStart(p);
    d.mon = openPeer(p, &seen);
    start = g_get_monotonic_time();
    thread = g_thread_new("command", commandThread, &d);
    while (peerRequestCount(p) == 0)
        g_usleep(1000);
    qemuMonitorClose(d.mon);
    g_thread_join(thread);
    g_assert_cmpint(d.rc, ==, -1);
    g_assert_cmpint(d.code, ==, IOV_ERR_OPERATION_FAILED);
    g_assert_cmpfloat(secondsSince(start), <, 2);
    g_assert_cmpint(seen.eofCount, ==, 0);
    peerFree(p);
    seenClear(&seen);
}

static void
testNoCallbackAfterClose(void)
{
    static const peerStep steps[] = {
        {"cont", {"cont-reply.json"}, PEER_FLOOD},
    };
    fakePeer *p = peerNew(steps, G_N_ELEMENTS(steps));
    fakePeer *other = peerNew(NULL, 0);
    testSeen seen, otherSeen;
    qemuMonitor *mon, *otherMon;
    guint atClose;

    seenInit(&seen);
    seenInit(&otherSeen);
    /* slow callbacks: the I/O thread always has a backlog of events */
    seen.eventDelayUs = 1000;
    peerStart(p);
    peerStart(other);
    /* a second monitor keeps the shared I/O thread running */
    otherMon = openPeer(other, &otherSeen);
    mon = openPeer(p, &seen);
    g_assert_cmpint(qemuMonitorCont(mon), ==, 0);
    while (seenEventCount(&seen) < 100)
        g_usleep(1000);
    qemuMonitorClose(mon);
    atClose = seenEventCount(&seen);
    g_usleep(100 * 1000);
    g_assert_cmpuint(seenEventCount(&seen), ==, atClose);
    g_assert_cmpint(seen.eofCount, ==, 0);
    peerFree(p);
    /* the other monitor was not disturbed */
    g_assert_cmpuint(qemuMonitorGetVersion(otherMon), ==, 7002022);
    g_assert_cmpint(otherSeen.eofCount, ==, 0);
    qemuMonitorClose(otherMon);
    peerFree(other);
    seenClear(&seen);
    seenClear(&otherSeen);
}

static void
testCloseAfterEofAndNull(void)
{
    static const peerStep steps[] = {
        {"stop", {"stop-reply.json"}, PEER_CLOSE},
    };
    fakePeer *p = peerNew(steps, G_N_ELEMENTS(steps));
    testSeen seen;
    qemuMonitor *mon;

    seenInit(&seen);
    peerStart(p);
    mon = openPeer(p, &seen);
    g_assert_cmpint(qemuMonitorStop(mon), ==, 0);
    g_assert_cmpint(seenWaitEof(&seen, 2000), ==, 1);
    qemuMonitorClose(mon);
    qemuMonitorClose(NULL);
    g_assert_cmpint(seen.eofCount, ==, 1);
    peerFree(p);
    seenClear(&seen);
}

/* ---- typed commands: what goes on the wire ---- */

static void
testSetLimitsSendsWholeTable(void)
{
    static const peerStep steps[] = {
        {"qom-set", {"qom-set-limits-reply.json"}, PEER_NEXT},
        {"qom-get", {"qom-get-limits-set.json"}, PEER_NEXT},
    };
    fakePeer *p = peerNew(steps, G_N_ELEMENTS(steps));
    g_autoptr(json_object) req = NULL;
    throttleDef t = {0}, got = {0};
    json_object *args = NULL, *v = NULL, *value = NULL;
    testSeen seen;
    qemuMonitor *mon;
    int i;

    seenInit(&seen);
    peerStart(p);
    mon = openPeer(p, &seen);
    t.v[THROTTLE_BPS] = 1048576;
    t.v[THROTTLE_BPS_MAX] = 4194304;
    t.v[THROTTLE_BPS_MAX_LENGTH] = 5;
    t.v[THROTTLE_IOPS_RD] = 100;
    t.v[THROTTLE_IOPS_SIZE] = 4096;
    g_assert_cmpint(qemuMonitorSetThrottleLimits(mon, "tg0", &t), ==, 0);

    req = peerRequest(p, 0);
    g_assert_true(json_object_object_get_ex(req, "arguments", &args));
    g_assert_true(json_object_object_get_ex(args, "path", &v));
    g_assert_cmpstr(json_object_get_string(v), ==, "tg0");
    g_assert_true(json_object_object_get_ex(args, "property", &v));
    g_assert_cmpstr(json_object_get_string(v), ==, "limits");
    g_assert_true(json_object_object_get_ex(args, "value", &value));
    g_assert_cmpint(json_object_object_length(value), ==, THROTTLE_NUM_VALUES);
    for (i = 0; i < THROTTLE_NUM_VALUES; i++) {
        unsigned long long want = t.v[i];

        if (throttleField(i)->family == IOV_THROTTLE_FAMILY_BYTES_MAX_LENGTH ||
            throttleField(i)->family == IOV_THROTTLE_FAMILY_IOPS_MAX_LENGTH)
            want = want ? want : 1;
        g_assert_true(json_object_object_get_ex(value, throttleField(i)->qemu_key, &v));
        g_assert_cmpuint(json_object_get_uint64(v), ==, want);
    }

    /* QEMU's answer to qom-get after that qom-set reads back the same */
    g_assert_cmpint(qemuMonitorGetThrottleLimits(mon, "tg0", &got), ==, 0);
    g_assert_true(throttleDefEqual(&got, &t));
    g_assert_cmpuint(qemuMonitorCommandCount(mon), ==, 2);
    qemuMonitorClose(mon);
    peerFree(p);
    seenClear(&seen);
}

static void
testObjectAddReopenSendArguments(void)
{
    static const peerStep steps[] = {
        {"object-add", {"qom-set-limits-reply.json"}, PEER_NEXT},
        {"blockdev-reopen", {"qom-set-limits-reply.json"}, PEER_NEXT},
        {"object-del", {"qom-set-limits-reply.json"}, PEER_NEXT},
    };
    fakePeer *p = peerNew(steps, G_N_ELEMENTS(steps));
    throttleDef t = {0};
    testSeen seen;
    qemuMonitor *mon;
    const char *expected[] = {
        NULL,
        "{\"options\":[{\"driver\":\"throttle\",\"node-name\":\"t0\",\"file\":\"r0\",\"throttle-group\":\"tg1\"}]}",
        "{\"id\":\"tg0\"}",
    };
    json_object *args = NULL, *v = NULL;
    guint i;

    seenInit(&seen);
    peerStart(p);
    mon = openPeer(p, &seen);
    t.v[THROTTLE_IOPS] = 50;
    g_assert_cmpint(qemuMonitorAddThrottleGroup(mon, "tg1", &t), ==, 0);
    g_assert_cmpint(qemuMonitorReopenThrottleNode(mon, "t0", "r0", "tg1"), ==, 0);
    g_assert_cmpint(qemuMonitorObjectDel(mon, "tg0"), ==, 0);

    for (i = 0; i < G_N_ELEMENTS(expected); i++) {
        g_autoptr(json_object) req = peerRequest(p, i);

        g_assert_true(json_object_object_get_ex(req, "arguments", &args));
        if (expected[i]) {
            g_assert_cmpstr(json_object_to_json_string_ext(args, JSON_C_TO_STRING_PLAIN), ==,
                            expected[i]);
            continue;
        }
        g_assert_true(json_object_object_get_ex(args, "qom-type", &v));
        g_assert_cmpstr(json_object_get_string(v), ==, "throttle-group");
        g_assert_true(json_object_object_get_ex(args, "id", &v));
        g_assert_cmpstr(json_object_get_string(v), ==, "tg1");
        g_assert_true(json_object_object_get_ex(args, "limits", &v));
        g_assert_cmpint(json_object_object_length(v), ==, THROTTLE_NUM_VALUES);
        g_assert_true(json_object_object_get_ex(v, "iops-total", &v));
        g_assert_cmpint(json_object_get_int64(v), ==, 50);
    }
    qemuMonitorClose(mon);
    peerFree(p);
    seenClear(&seen);
}

static void
testQueryBlockStatsOverPeer(void)
{
    static const peerStep steps[] = {
        {"query-blockstats", {"query-blockstats.json"}, PEER_NEXT},
    };
    fakePeer *p = peerNew(steps, G_N_ELEMENTS(steps));
    g_autoptr(GPtrArray) stats = NULL;
    qemuBlockStats *s;
    testSeen seen;
    qemuMonitor *mon;

    seenInit(&seen);
    peerStart(p);
    mon = openPeer(p, &seen);
    g_assert_cmpint(qemuMonitorQueryBlockStats(mon, &stats), ==, 0);
    g_assert_cmpuint(stats->len, ==, 1);
    s = g_ptr_array_index(stats, 0);
    g_assert_cmpstr(s->qdev, ==, "/machine/peripheral/vd0/virtio-backend");
    g_assert_cmpuint(s->rdBytes, ==, 512);
    g_assert_cmpuint(s->rdOps, ==, 1);
    g_assert_cmpuint(s->rdTimeNs, ==, 337940);
    g_assert_cmpuint(s->wrBytes, ==, 0);
    qemuMonitorClose(mon);
    peerFree(p);
    seenClear(&seen);
}

static void
testCommandsCounted(void)
{
    static const peerStep steps[] = {
        {"cont", {"cont-reply.json"}, PEER_NEXT},
        {"qom-set", {"qom-set-limits-error.json"}, PEER_NEXT},
        {"query-status", {"query-status-running.json"}, PEER_NEXT},
        {"system_reset", {"cont-reply.json"}, PEER_NEXT},
        {"system_powerdown", {"cont-reply.json"}, PEER_NEXT},
    };
    fakePeer *p = peerNew(steps, G_N_ELEMENTS(steps));
    throttleDef t = {0};
    testSeen seen;
    qemuMonitor *mon;
    bool running = false;

    seenInit(&seen);
    peerStart(p);
    mon = openPeer(p, &seen);
    g_assert_cmpuint(qemuMonitorCommandCount(mon), ==, 0);
    g_assert_cmpint(qemuMonitorCont(mon), ==, 0);
    g_assert_cmpuint(qemuMonitorCommandCount(mon), ==, 1);
    g_assert_cmpint(qemuMonitorSetThrottleLimits(mon, "tg0", &t), ==, -1);
    g_assert_cmpuint(qemuMonitorCommandCount(mon), ==, 2);
    g_assert_cmpint(qemuMonitorQueryStatus(mon, NULL, &running), ==, 0);
    g_assert_true(running);
    g_assert_cmpint(qemuMonitorSystemReset(mon), ==, 0);
    g_assert_cmpint(qemuMonitorSystemPowerdown(mon), ==, 0);
    g_assert_cmpuint(qemuMonitorCommandCount(mon), ==, 5);
    g_assert_cmpuint(peerRequestCount(p), ==, 5);
    qemuMonitorClose(mon);
    peerFree(p);
    seenClear(&seen);
}

/* ---- parsing ---- */

/* Parse the captured line NAME (with id "x"). */
static int
parseCaptured(const char *name, char *kind, json_object **ret, char **errClass, char **errDesc,
              char **event, json_object **data, char **id)
{
    g_autofree char *line = peerLine(name, "x");

    return qemuMonitorParseMessage(line, strlen(line), kind, id, ret, errClass, errDesc, event,
                                   data);
}

static void
testParseMessageKinds(void)
{
    char kind = 0;
    g_autofree char *id = NULL;
    g_autofree char *errClass = NULL;
    g_autofree char *errDesc = NULL;
    g_autofree char *event = NULL;
    g_autofree char *event2 = NULL;
    g_autoptr(json_object) ret = NULL;
    g_autoptr(json_object) data = NULL;
    g_autoptr(json_object) data2 = NULL;
    json_object *v = NULL;

    g_assert_cmpint(parseCaptured("greeting.json", &kind, NULL, NULL, NULL, NULL, NULL, NULL), ==,
                    0);
    g_assert_cmpint(kind, ==, 'g');

    g_assert_cmpint(
        parseCaptured("query-status-running.json", &kind, &ret, NULL, NULL, NULL, NULL, &id), ==,
        0);
    g_assert_cmpint(kind, ==, 'r');
    g_assert_cmpstr(id, ==, "x");
    g_assert_true(json_object_object_get_ex(ret, "status", &v));
    g_assert_cmpstr(json_object_get_string(v), ==, "running");

    g_assert_cmpint(parseCaptured("qom-set-limits-error.json", &kind, NULL, &errClass, &errDesc,
                                  NULL, NULL, NULL),
                    ==, 0);
    g_assert_cmpint(kind, ==, 'r');
    g_assert_cmpstr(errClass, ==, "GenericError");
    g_assert_cmpstr(
        errDesc, ==,
        "bps/iops/max total values and read/write values cannot be used at the same time");

    g_assert_cmpint(parseCaptured("event-stop.json", &kind, NULL, NULL, NULL, &event, &data, NULL),
                    ==, 0);
    g_assert_cmpint(kind, ==, 'e');
    g_assert_cmpstr(event, ==, "STOP");
    g_assert_null(data);

    g_assert_cmpint(
        parseCaptured("event-shutdown.json", &kind, NULL, NULL, NULL, &event2, &data2, NULL), ==,
        0);
    g_assert_cmpstr(event2, ==, "SHUTDOWN");
    g_assert_true(json_object_object_get_ex(data2, "reason", &v));
    g_assert_cmpstr(json_object_get_string(v), ==, "host-qmp-quit");
}

static void
testParseMessageRejects(void)
{
    static const char *const bad[] = {
        "",
        "\r\n",
        "not json",
        "42",
        "[]",
        "\"x\"",
        "{}",
        "{\"foo\": 1}",
        "{\"return\": {}} {\"return\": {}}",
        "{\"return\": {}",
        "{\"return\": {}, \"error\": {}}",
        "{\"error\": \"oops\"}",
        "{\"event\": 5}",
        "{\"return\": \"\xff\"}",
    };
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(bad); i++) {
        char kind = 'z';
        g_autofree char *id = NULL;
        g_autoptr(json_object) ret = NULL;

        utilResetError();
        g_assert_cmpint(qemuMonitorParseMessage(bad[i], strlen(bad[i]), &kind, &id, &ret, NULL,
                                                NULL, NULL, NULL),
                        ==, -1);
        g_assert_nonnull(utilGetError());
        g_assert_cmpint(utilGetError()->code, ==, IOV_ERR_INTERNAL_ERROR);
        g_assert_null(id);
        g_assert_null(ret);
    }
    /* a NUL inside the line */
    g_assert_cmpint(qemuMonitorParseMessage("{\"return\": {}}\0x", 16, NULL, NULL, NULL, NULL, NULL,
                                            NULL, NULL),
                    ==, -1);
}

static void
testLimitsRoundTripWholeTable(void)
{
    int i;

    for (i = 0; i < THROTTLE_NUM_VALUES; i++) {
        const iovThrottleField *f = throttleField(i);
        bool isLength = f->family == IOV_THROTTLE_FAMILY_BYTES_MAX_LENGTH ||
                        f->family == IOV_THROTTLE_FAMILY_IOPS_MAX_LENGTH;
        throttleDef t = {0}, back = {0};
        g_autoptr(json_object) limits = NULL;
        int j;

        /* field i alone, with what it needs to be meaningful */
        t.v[i] = 1000 + i;
        if (isLength)
            t.v[f->max_index] = 5000;
        limits = qemuMonitorBuildLimits(&t);
        g_assert_cmpint(json_object_object_length(limits), ==, THROTTLE_NUM_VALUES);
        for (j = 0; j < THROTTLE_NUM_VALUES; j++) {
            const iovThrottleField *g = throttleField(j);
            bool gLength = g->family == IOV_THROTTLE_FAMILY_BYTES_MAX_LENGTH ||
                           g->family == IOV_THROTTLE_FAMILY_IOPS_MAX_LENGTH;
            json_object *v = NULL;

            g_assert_true(json_object_object_get_ex(limits, g->qemu_key, &v));
            g_assert_true(json_object_is_type(v, json_type_int));
            g_assert_cmpuint(json_object_get_uint64(v), ==, t.v[j] ? t.v[j] : (gLength ? 1 : 0));
        }
        g_assert_cmpint(qemuMonitorParseLimits(limits, &back), ==, 0);
        g_assert_null(back.group);
        g_assert_true(throttleDefSameLimits(&back, &t));
        /* exactly: a max's default length reads back as QEMU's 1 */
        if (f->family == IOV_THROTTLE_FAMILY_BYTES_MAX ||
            f->family == IOV_THROTTLE_FAMILY_IOPS_MAX) {
            g_assert_cmpuint(back.v[f->length_index], ==, 1);
            back.v[f->length_index] = 0;
        }
        g_assert_true(throttleDefEqual(&back, &t));
    }
}

static void
testLimitsFromCapturedQomGet(void)
{
    g_autoptr(json_object) ret = NULL;
    g_autoptr(json_object) ret2 = NULL;
    throttleDef t = {0}, want = {0};
    char kind = 0;

    g_assert_cmpint(
        parseCaptured("qom-get-limits-default.json", &kind, &ret, NULL, NULL, NULL, NULL, NULL), ==,
        0);
    g_assert_cmpint(json_object_object_length(ret), ==, THROTTLE_NUM_VALUES);
    g_assert_cmpint(qemuMonitorParseLimits(ret, &t), ==, 0);
    /* lengths of 1 with no max read back as 0 */
    g_assert_true(throttleDefIsUnlimited(&t));

    g_assert_cmpint(
        parseCaptured("qom-get-limits-set.json", &kind, &ret2, NULL, NULL, NULL, NULL, NULL), ==,
        0);
    g_assert_cmpint(qemuMonitorParseLimits(ret2, &t), ==, 0);
    want.v[THROTTLE_BPS] = 1048576;
    want.v[THROTTLE_BPS_MAX] = 4194304;
    want.v[THROTTLE_BPS_MAX_LENGTH] = 5;
    want.v[THROTTLE_IOPS_RD] = 100;
    want.v[THROTTLE_IOPS_SIZE] = 4096;
    g_assert_true(throttleDefEqual(&t, &want));
}

static void
testLimitsBadValuesRefused(void)
{
    static const struct {
        const char *json;
        const char *message;
    } cases[] = {
        {"{\"bps-total\": -1}",
         "internal error: QEMU throttle limit 'bps-total' is not a non-negative integer: -1"},
        {"{\"iops-read\": \"100\"}",
         "internal error: QEMU throttle limit 'iops-read' is not a non-negative integer: \"100\""},
        {"{\"bps-write-max\": 1.5}",
         "internal error: QEMU throttle limit 'bps-write-max' is not a non-negative integer: 1.5"},
        {"{\"iops-size\": null}",
         "internal error: QEMU throttle limit 'iops-size' is not a non-negative integer: null"},
        {"{\"bps-read\": true}",
         "internal error: QEMU throttle limit 'bps-read' is not a non-negative integer: true"},
        {"[1]", "internal error: QEMU throttle limits are not a JSON object: [1]"},
    };
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(json_object) obj = json_tokener_parse(cases[i].json);
        throttleDef t = {0};

        utilResetError();
        g_assert_cmpint(qemuMonitorParseLimits(obj, &t), ==, -1);
        assertError(IOV_ERR_INTERNAL_ERROR, cases[i].message);
    }
}

static void
testLimitsUnknownKeysIgnored(void)
{
    g_autoptr(json_object) obj =
        json_tokener_parse("{\"x-new-key\": \"whatever\", \"bps-total\": 18446744073709551615}");
    throttleDef t = {0};

    g_assert_cmpint(qemuMonitorParseLimits(obj, &t), ==, 0);
    g_assert_cmpuint(t.v[THROTTLE_BPS], ==, G_MAXUINT64);
}

static void
testBlockStatsParse(void)
{
    g_autoptr(json_object) ret = NULL;
    g_autoptr(GPtrArray) stats = NULL;
    qemuBlockStats *s;
    char kind = 0;

    g_assert_cmpint(
        parseCaptured("query-blockstats.json", &kind, &ret, NULL, NULL, NULL, NULL, NULL), ==, 0);
    g_assert_cmpint(qemuMonitorParseBlockStats(ret, &stats), ==, 0);
    g_assert_cmpuint(stats->len, ==, 1);
    s = g_ptr_array_index(stats, 0);
    g_assert_cmpstr(s->qdev, ==, "/machine/peripheral/vd0/virtio-backend");
    g_assert_cmpuint(s->rdBytes, ==, 512);
    g_assert_cmpuint(s->rdOps, ==, 1);
    g_assert_cmpuint(s->rdTimeNs, ==, 337940);
    g_assert_cmpuint(s->wrOps, ==, 0);
    g_assert_cmpuint(s->failedRdOps, ==, 0);
}

static void
testBlockStatsAllCounters(void)
{
    g_autoptr(json_object) obj = json_tokener_parse(
        "[{\"device\": \"drv\"},"
        " {\"qdev\": \"sd0\", \"stats\": {\"rd_bytes\": 1, \"wr_bytes\": 2, \"rd_operations\": 3,"
        " \"wr_operations\": 4, \"flush_operations\": 5, \"rd_total_time_ns\": 6,"
        " \"wr_total_time_ns\": 7, \"flush_total_time_ns\": 8, \"failed_rd_operations\": 9,"
        " \"failed_wr_operations\": 10, \"failed_flush_operations\": 11, \"timed_stats\": []}}]");
    g_autoptr(GPtrArray) stats = NULL;
    qemuBlockStats *s;

    g_assert_cmpint(qemuMonitorParseBlockStats(obj, &stats), ==, 0);
    /* the entry without qdev is no guest device */
    g_assert_cmpuint(stats->len, ==, 1);
    s = g_ptr_array_index(stats, 0);
    g_assert_cmpstr(s->qdev, ==, "sd0");
    g_assert_cmpuint(s->rdBytes, ==, 1);
    g_assert_cmpuint(s->wrBytes, ==, 2);
    g_assert_cmpuint(s->rdOps, ==, 3);
    g_assert_cmpuint(s->wrOps, ==, 4);
    g_assert_cmpuint(s->flushOps, ==, 5);
    g_assert_cmpuint(s->rdTimeNs, ==, 6);
    g_assert_cmpuint(s->wrTimeNs, ==, 7);
    g_assert_cmpuint(s->flushTimeNs, ==, 8);
    g_assert_cmpuint(s->failedRdOps, ==, 9);
    g_assert_cmpuint(s->failedWrOps, ==, 10);
    g_assert_cmpuint(s->failedFlushOps, ==, 11);
}

static void
testBlockStatsBadRefused(void)
{
    static const struct {
        const char *json;
        const char *message;
    } cases[] = {
        {"{}", "internal error: query-blockstats reply is not a JSON array: {}"},
        {"[5]", "internal error: query-blockstats entry 0 is not a JSON object"},
        {"[{\"qdev\": \"vd0\"}]",
         "internal error: query-blockstats entry 'vd0' has no 'stats' object"},
        {"[{\"qdev\": \"vd0\", \"stats\": {\"wr_bytes\": -4}}]",
         "internal error: query-blockstats entry 'vd0': 'wr_bytes' is not a non-negative integer: -4"},
    };
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(json_object) obj = json_tokener_parse(cases[i].json);
        GPtrArray *stats = NULL;

        utilResetError();
        g_assert_cmpint(qemuMonitorParseBlockStats(obj, &stats), ==, -1);
        g_assert_null(stats);
        assertError(IOV_ERR_INTERNAL_ERROR, cases[i].message);
    }
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/qemu-monitor/open/negotiates", testOpenNegotiates);
    g_test_add_func("/qemu-monitor/open/waits-for-socket", testOpenWaitsForSocket);
    g_test_add_func("/qemu-monitor/open/missing-socket-fails", testOpenMissingSocketFails);
    g_test_add_func("/qemu-monitor/open/unusable-path-fails-at-once",
                    testOpenUnusablePathFailsAtOnce);
    g_test_add_func("/qemu-monitor/open/no-greeting-times-out", testOpenNoGreetingTimesOut);
    g_test_add_func("/qemu-monitor/command/reply-after-events",
                    testReplyAfterEvents);
    g_test_add_func("/qemu-monitor/command/stop-cont-events", testStopContEvents);
    g_test_add_func("/qemu-monitor/command/events-after-commands-reach-callback",
                    testEventsAfterCommandsReachCallback);
    g_test_add_func("/qemu-monitor/command/error-reply-text", testErrorReplyText);
    g_test_add_func("/qemu-monitor/command/timeout-breaks-monitor", testTimeoutBreaksMonitor);
    g_test_add_func("/qemu-monitor/command/peer-closes-mid-command", testPeerClosesMidCommand);
    g_test_add_func("/qemu-monitor/command/garbage-line-is-protocol-error",
                    testGarbageLineIsProtocolError);
    g_test_add_func("/qemu-monitor/command/overlong-line-is-protocol-error",
                    testOverlongLineIsProtocolError);
    g_test_add_func("/qemu-monitor/command/garbage-while-idle-fires-eof",
                    testGarbageWhileIdleFiresEof);
    g_test_add_func("/qemu-monitor/command/quit-accepts-closed-connection",
                    testQuitAcceptsClosedConnection);
    g_test_add_func("/qemu-monitor/command/counted", testCommandsCounted);
    g_test_add_func("/qemu-monitor/begun/reply-ends-in-own-loop", testBegunReplyEndsInOwnLoop);
    g_test_add_func("/qemu-monitor/begun/timeout-breaks-monitor", testBegunTimeoutBreaksMonitor);
    g_test_add_func("/qemu-monitor/begun/peer-closes", testBegunPeerCloses);
    g_test_add_func("/qemu-monitor/begun/ended-by-close-in-own-thread",
                    testBegunEndedByCloseInOwnThread);
    g_test_add_func("/qemu-monitor/close/fails-waiting-command", testCloseFailsWaitingCommand);
    g_test_add_func("/qemu-monitor/close/no-callback-after-close", testNoCallbackAfterClose);
    g_test_add_func("/qemu-monitor/close/after-eof-and-null", testCloseAfterEofAndNull);
    g_test_add_func("/qemu-monitor/typed/set-limits-sends-whole-table",
                    testSetLimitsSendsWholeTable);
    g_test_add_func("/qemu-monitor/typed/object-add-reopen-del-arguments",
                    testObjectAddReopenSendArguments);
    g_test_add_func("/qemu-monitor/typed/query-blockstats", testQueryBlockStatsOverPeer);
    g_test_add_func("/qemu-monitor/batch/read-state-in-one-batch", testReadStateInOneBatch);
    g_test_add_func("/qemu-monitor/batch/read-state-error-fails-all", testReadStateErrorFailsAll);
    g_test_add_func("/qemu-monitor/parse/message-kinds", testParseMessageKinds);
    g_test_add_func("/qemu-monitor/parse/message-rejects", testParseMessageRejects);
    g_test_add_func("/qemu-monitor/parse/limits-round-trip-whole-table",
                    testLimitsRoundTripWholeTable);
    g_test_add_func("/qemu-monitor/parse/limits-from-captured-qom-get",
                    testLimitsFromCapturedQomGet);
    g_test_add_func("/qemu-monitor/parse/limits-bad-values-refused", testLimitsBadValuesRefused);
    g_test_add_func("/qemu-monitor/parse/limits-unknown-keys-ignored",
                    testLimitsUnknownKeysIgnored);
    g_test_add_func("/qemu-monitor/parse/blockstats", testBlockStatsParse);
    g_test_add_func("/qemu-monitor/parse/blockstats-all-counters", testBlockStatsAllCounters);
    g_test_add_func("/qemu-monitor/parse/blockstats-bad-refused", testBlockStatsBadRefused);

    return g_test_run();
}
