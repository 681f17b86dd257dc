/*
 * qemu_monitor.c: a client of one QEMU's QMP monitor
 *
 * How the pieces fit:
 *
 *   caller thread                         I/O thread (shared by all monitors)
 *   -------------                         ----------------------------
 *   qemuMonitorOpen: connect, greeting,
 *   capabilities (synchronous, bounded)
 *   then attach the socket  ────────────▶ monitor source: recv, split
 *                                         lines, parse each with json-c
 *   qemuMonitorCommand: take cmdLock,      event: call cb.event
 *   set waiting, send, then read the       EOF / reset / garbage: mark
 *   socket itself until the reply          closed, call cb.eof once
 *   (events that come first go to
 *   cb.event from this thread)  ─ ─ ─ ─ ▶ stands aside meanwhile: its
 *                                         next poll leaves the socket out,
 *                                         until 10 ms after the command
 *   qemuMonitorClose: run the detach ───▶ destroy the source (no
 *   inside the I/O thread and wait        callback can run after this)
 *
 * A command's own thread reads its reply: handing the reply over from
 * the I/O thread costs a thread wake-up on the path of every command
 * (tens of microseconds on a busy machine). Whoever reads holds
 * readLock; the I/O thread only ever try-locks it, so it never waits for
 * a command.
 *
 * Commands carry no "id": QEMU answers the commands of a connection in
 * the order they came (this client never enables out-of-band ones), and
 * cmdLock lets one command, or one batch, be in flight at a time, so the
 * next reply is the awaited one. QEMU 7.2 reads a command one byte per
 * turn of its monitor thread's loop (about 13 µs a byte on a 2-core
 * machine), and an id costs 16 of a limit change's 113 bytes. The
 * newline after a command stays: QEMU would run a command without it
 * (its closing brace completes it), but its reply then comes about
 * 70 µs later (bench/README.md, qmp-bytes). A command that times out
 * leaves the monitor broken: no later command can take its late reply.
 *
 * The monitor is reference counted: the caller's reference (dropped by
 * qemuMonitorClose), one held by the fd source while attached, and one
 * held by each command in progress. The fd is closed with the last
 * reference, so no thread ever uses a recycled descriptor.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib-unix.h>

#include "qemu_monitor.h"
#include "util/error.h"

#define IOV_FROM_THIS IOV_FROM_QEMU

/* A line from QEMU longer than this is a protocol error. */
#define QEMU_MONITOR_MAX_LINE (16 * 1024 * 1024)

/* Pause between two connection attempts while the socket is not there. */
#define QEMU_MONITOR_CONNECT_RETRY_US (20 * 1000)

G_DEFINE_AUTOPTR_CLEANUP_FUNC(json_object, json_object_put)

/* One command of a batch, waiting for its reply (monitorCommandBatch). */
typedef struct {
    bool replied;
    json_object *ret; /* owned; its "return" member */
    char *errClass;   /* owned */
    char *errDesc;    /* owned */
} monitorPending;

struct _qemuMonitor {
    gint refs;                  /* atomic */
    char *path;                 /* owned; the socket path, for messages */
    int fd;                     /* owned; closed with the last reference */
    qemuMonitorCallbacks cb;    /* copy; members may be NULL */
    void *opaque;               /* the caller's, passed to the callbacks */
    unsigned long long version; /* from the greeting; immutable */

    /* Used by the I/O thread only. */
    GSource *watch; /* owned reference; NULL once detached */

    /* Lock order: cmdLock, readLock, then lock. `lock` is innermost:
     * nothing is taken under it and no callback runs with it held; a
     * domain's lock may be held around it (to read the counters). The
     * callbacks run with readLock held (and cmdLock, when a command's
     * thread reads): they must not use the monitor. */
    GMutex cmdLock; /* held by a command for its whole run (send and wait) */
    GMutex readLock; /* held by the thread reading the socket; protects: */
    GString *rbuf;   /* bytes received, not yet split in lines */
    size_t rscan;    /* rbuf before this offset has no '\n' */
    gint direct;     /* atomic; a command's thread reads: the I/O thread
                      * leaves the socket out of its poll */

    GMutex lock; /* protects everything below */
    GMainContext *ctx; /* reference to the I/O thread's context; NULL once
                        * closed */
    int timeoutMs;
    unsigned long long nextId; /* number of the next command, for the log */
    unsigned long long count; /* commands sent after negotiation */
    bool closed;              /* the connection ended (EOF or error) */
    bool closeError;          /* it ended on a protocol or read error */
    bool closing;             /* qemuMonitorClose was called */
    bool broken;              /* a command timed out */
    bool eofDone;             /* the eof callback ran */
    gint64 directEnd;         /* when the last command's thread stopped
                               * reading (monotonic µs) */
    bool waiting;             /* a command awaits its reply */
    bool replied;             /* the awaited reply arrived */
    json_object *replyRet;    /* owned; its "return" member */
    char *replyErrClass;      /* owned; its error class */
    char *replyErrDesc;       /* owned; its error text */
    monitorPending *batch;    /* not owned: the replies a batch of
                               * commands awaits (monitorCommandBatch), or
                               * NULL */
    size_t batchLen;          /* its entries */
    size_t batchLeft;         /* those not answered yet */
    struct monitorBegun *begun; /* the command begun and not yet ended
                                 * (qemuMonitorCommandBegin), or NULL */
};

/* A command begun by a thread that does not wait for its reply: it holds
 * cmdLock and readLock, as a waiting command does, and its thread's
 * loop watches the socket; that thread ends it and lets both go. */
typedef struct monitorBegun {
    char *cmd;                /* owned; for the messages */
    int timeoutMs;
    GThread *thread;          /* the thread that began it, and ends it */
    GSource *readable;        /* owned; the socket, in that thread's loop */
    GSource *timer;           /* owned; the monitor's timeout */
    qemuMonitorEndFunc done;
    void *opaque;
} monitorBegun;

/* ---- the shared I/O thread ---- */

/*
 * The I/O thread runs while at least one monitor is open: the first open
 * starts it, the last close stops and joins it. Each open monitor counts
 * as one user and holds a reference to the thread's context.
 */
typedef struct {
    GMainContext *ctx; /* owned */
    gint stop;         /* atomic; set to end the thread */
} ioThreadState;

static GMutex ioLock;           /* taken alone: starts and stops the I/O thread */
static unsigned int ioUsers;   /* open monitors; under ioLock */
static ioThreadState *ioState; /* the running thread's; under ioLock */
static GThread *ioThread;      /* under ioLock */

/* The I/O thread: owns the context and iterates it until told to stop. */
static gpointer
ioThreadMain(gpointer opaque)
{
    ioThreadState *state = opaque;

    g_main_context_acquire(state->ctx);
    while (!g_atomic_int_get(&state->stop))
        g_main_context_iteration(state->ctx, TRUE);
    g_main_context_release(state->ctx);
    return NULL;
}

/* Count one more user of the I/O thread, starting it if needed; returns
 * a new reference to its context. */
static GMainContext *
ioThreadAcquire(void)
{
    GMainContext *ctx;

    g_mutex_lock(&ioLock);
    if (!ioState) {
        ioState = g_new0(ioThreadState, 1);
        ioState->ctx = g_main_context_new();
        ioThread = g_thread_new("iov-qemu-monitor", ioThreadMain, ioState);
    }
    ioUsers++;
    ctx = g_main_context_ref(ioState->ctx);
    g_mutex_unlock(&ioLock);
    return ctx;
}

/* Drop a user of the I/O thread and its reference `ctx`; the last user
 * stops and joins the thread (unless called from the I/O thread itself,
 * which then keeps running for the next user). */
static void
ioThreadRelease(GMainContext *ctx)
{
    ioThreadState *state = NULL;
    GThread *thread = NULL;

    g_mutex_lock(&ioLock);
    if (--ioUsers == 0 && !g_main_context_is_owner(ioState->ctx)) {
        state = g_steal_pointer(&ioState);
        thread = g_steal_pointer(&ioThread);
    }
    g_mutex_unlock(&ioLock);
    g_main_context_unref(ctx);
    if (!state)
        return;
    g_atomic_int_set(&state->stop, 1);
    g_main_context_wakeup(state->ctx);
    g_thread_join(thread);
    g_main_context_unref(state->ctx);
    g_free(state);
}

/* ---- reference counting ---- */

/* Take a reference on `mon`; returns it. */
static qemuMonitor *
monitorRef(qemuMonitor *mon)
{
    g_atomic_int_inc(&mon->refs);
    return mon;
}

/* Drop a reference; the last one closes the socket and frees. */
static void
monitorUnref(gpointer opaque)
{
    qemuMonitor *mon = opaque;

    if (!mon || !g_atomic_int_dec_and_test(&mon->refs))
        return;
    if (mon->fd >= 0)
        close(mon->fd);
    g_free(mon->path);
    if (mon->rbuf)
        g_string_free(mon->rbuf, TRUE);
    if (mon->replyRet)
        json_object_put(mon->replyRet);
    g_free(mon->replyErrClass);
    g_free(mon->replyErrDesc);
    g_mutex_clear(&mon->cmdLock);
    g_mutex_clear(&mon->readLock);
    g_mutex_clear(&mon->lock);
    g_free(mon);
}

qemuMonitor *
qemuMonitorRef(qemuMonitor *mon)
{
    return monitorRef(mon);
}

void
qemuMonitorUnref(qemuMonitor *mon)
{
    monitorUnref(mon);
}

/* ---- parsing ---- */

/* The string member `key` of `obj` (borrowed), or NULL. */
static const char *
jsonGetString(json_object *obj, const char *key)
{
    json_object *v = NULL;

    if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* Read `v` as a non-negative integer into *out; -1 when it is not one. */
static int
jsonGetUnsigned(json_object *v, unsigned long long *out)
{
    if (!json_object_is_type(v, json_type_int))
        return -1;
    if (json_object_get_int64(v) < 0)
        return -1;
    *out = json_object_get_uint64(v);
    return 0;
}

/* The JSON text of `v` for an error message (borrowed from v). */
static const char *
jsonText(json_object *v)
{
    return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

/* qemuMonitorParseMessage: classify one line from QEMU (see the header);
 * every failure reports an error and leaves all outputs NULL. */
int
qemuMonitorParseMessage(const char *line, size_t len, char *kind, char **id, json_object **ret,
                        char **errClass, char **errDesc, char **event, json_object **data)
{
    g_autoptr(json_object) obj = NULL;
    json_tokener *tok = NULL;
    enum json_tokener_error jerr;
    size_t end;
    json_object *v = NULL;
    json_object *retObj = NULL;
    json_object *errObj = NULL;
    bool hasRet, hasErr;

    if (kind)
        *kind = 0;
    if (id)
        *id = NULL;
    if (ret)
        *ret = NULL;
    if (errClass)
        *errClass = NULL;
    if (errDesc)
        *errDesc = NULL;
    if (event)
        *event = NULL;
    if (data)
        *data = NULL;

    while (len > 0 && g_ascii_isspace(line[len - 1]))
        len--;
    if (len == 0) {
        reportError(IOV_ERR_INTERNAL_ERROR, "QEMU monitor sent an empty message");
        return -1;
    }
    if (len > QEMU_MONITOR_MAX_LINE) {
        reportError(IOV_ERR_INTERNAL_ERROR,
                    "QEMU monitor sent a message of %zu bytes, more than the limit of %d", len,
                    QEMU_MONITOR_MAX_LINE);
        return -1;
    }
    if (memchr(line, '\0', len)) {
        reportError(IOV_ERR_INTERNAL_ERROR, "QEMU monitor sent a message containing a NUL byte");
        return -1;
    }

    tok = json_tokener_new();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    obj = json_tokener_parse_ex(tok, line, (int)len);
    jerr = json_tokener_get_error(tok);
    end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (!obj || jerr != json_tokener_success) {
        reportError(
            IOV_ERR_INTERNAL_ERROR, "QEMU monitor sent invalid JSON: %s",
            json_tokener_error_desc(jerr == json_tokener_success ? json_tokener_continue : jerr));
        return -1;
    }
    if (end != len) {
        reportError(IOV_ERR_INTERNAL_ERROR,
                    "QEMU monitor sent invalid JSON: %zu bytes after the end of the message",
                    len - end);
        return -1;
    }
    if (!json_object_is_type(obj, json_type_object)) {
        reportError(IOV_ERR_INTERNAL_ERROR,
                    "QEMU monitor sent a message that is not a JSON object: %.200s", jsonText(obj));
        return -1;
    }

    if (json_object_object_get_ex(obj, "QMP", &v) && json_object_is_type(v, json_type_object)) {
        if (kind)
            *kind = 'g';
        return 0;
    }

    if (json_object_object_get_ex(obj, "event", &v)) {
        if (!json_object_is_type(v, json_type_string)) {
            reportError(IOV_ERR_INTERNAL_ERROR,
                        "QEMU monitor sent an event whose name is not a string: %.200s",
                        jsonText(v));
            return -1;
        }
        if (kind)
            *kind = 'e';
        if (event)
            *event = g_strdup(json_object_get_string(v));
        if (data && json_object_object_get_ex(obj, "data", &v) && v)
            *data = json_object_get(v);
        return 0;
    }

    hasRet = json_object_object_get_ex(obj, "return", &retObj);
    hasErr = json_object_object_get_ex(obj, "error", &errObj);
    if (hasRet && hasErr) {
        reportError(IOV_ERR_INTERNAL_ERROR,
                    "QEMU monitor sent a reply with both 'return' and 'error'");
        return -1;
    }
    if (!hasRet && !hasErr) {
        reportError(IOV_ERR_INTERNAL_ERROR,
                    "QEMU monitor sent a message that is no greeting, reply or event: %.200s",
                    jsonText(obj));
        return -1;
    }
    if (hasErr) {
        if (!json_object_is_type(errObj, json_type_object)) {
            reportError(IOV_ERR_INTERNAL_ERROR,
                        "QEMU monitor sent an error reply whose 'error' is not an object: %.200s",
                        errObj ? jsonText(errObj) : "null");
            return -1;
        }
        if (errClass)
            *errClass = g_strdup(jsonGetString(errObj, "class"));
        /* An error always has a text, QEMU's "desc" or the whole error. */
        if (errDesc && !(*errDesc = g_strdup(jsonGetString(errObj, "desc"))))
            *errDesc = g_strdup(jsonText(errObj));
    } else if (ret && retObj) {
        *ret = json_object_get(retObj);
    }
    if (kind)
        *kind = 'r';
    if (id)
        *id = g_strdup(jsonGetString(obj, "id"));
    return 0;
}

/* qemuMonitorParseLimits: the table's keys of a "limits" object into *t,
 * normalized; *t is untouched on failure. */
int
qemuMonitorParseLimits(json_object *limits, throttleDef *t)
{
    throttleDef res = {0};
    int i;

    if (!json_object_is_type(limits, json_type_object)) {
        reportError(IOV_ERR_INTERNAL_ERROR, "QEMU throttle limits are not a JSON object: %.200s",
                    limits ? jsonText(limits) : "null");
        return -1;
    }
    for (i = 0; i < THROTTLE_NUM_VALUES; i++) {
        const char *key = throttleField(i)->qemu_key;
        json_object *v = NULL;

        if (!json_object_object_get_ex(limits, key, &v))
            continue;
        if (jsonGetUnsigned(v, &res.v[i]) < 0) {
            reportError(IOV_ERR_INTERNAL_ERROR,
                        "QEMU throttle limit '%s' is not a non-negative integer: %.200s", key,
                        v ? jsonText(v) : "null");
            return -1;
        }
    }
    throttleDefNormalize(&res);
    memcpy(t->v, res.v, sizeof(t->v));
    t->group = NULL;
    return 0;
}

/* qemuMonitorBuildLimits: a "limits" object with every key of the table,
 * lengths of 0 sent as QEMU's default of 1. */
json_object *
qemuMonitorBuildLimits(const throttleDef *t)
{
    json_object *limits = json_object_new_object();
    int i;

    for (i = 0; i < THROTTLE_NUM_VALUES; i++) {
        const iovThrottleField *f = throttleField(i);
        unsigned long long v = t->v[i];

        if (f->is_length)
            v = throttleEffectiveLength(t, i);
        json_object_object_add(limits, f->qemu_key, json_object_new_uint64(v));
    }
    return limits;
}

/* qemuBlockStatsFree: free one entry; NULL is fine. */
void
qemuBlockStatsFree(qemuBlockStats *s)
{
    if (!s)
        return;
    g_free(s->qdev);
    g_free(s);
}

/* The counters of qemuBlockStats, by their key in a "stats" object. */
static const struct {
    const char *key;
    size_t offset;
} blockStatsKeys[] = {
    {"rd_bytes", G_STRUCT_OFFSET(qemuBlockStats, rdBytes)},
    {"wr_bytes", G_STRUCT_OFFSET(qemuBlockStats, wrBytes)},
    {"rd_operations", G_STRUCT_OFFSET(qemuBlockStats, rdOps)},
    {"wr_operations", G_STRUCT_OFFSET(qemuBlockStats, wrOps)},
    {"flush_operations", G_STRUCT_OFFSET(qemuBlockStats, flushOps)},
    {"rd_total_time_ns", G_STRUCT_OFFSET(qemuBlockStats, rdTimeNs)},
    {"wr_total_time_ns", G_STRUCT_OFFSET(qemuBlockStats, wrTimeNs)},
    {"flush_total_time_ns", G_STRUCT_OFFSET(qemuBlockStats, flushTimeNs)},
    {"failed_rd_operations", G_STRUCT_OFFSET(qemuBlockStats, failedRdOps)},
    {"failed_wr_operations", G_STRUCT_OFFSET(qemuBlockStats, failedWrOps)},
    {"failed_flush_operations", G_STRUCT_OFFSET(qemuBlockStats, failedFlushOps)},
};

/* One entry of a query-blockstats reply into a new *out; *out stays NULL
 * for an entry with no "qdev" (not a guest device). */
static int
parseBlockStatsEntry(json_object *entry, size_t idx, qemuBlockStats **out)
{
    g_autoptr(qemuBlockStats) s = NULL;
    json_object *stats = NULL;
    const char *qdev;
    size_t i;

    *out = NULL;
    if (!json_object_is_type(entry, json_type_object)) {
        reportError(IOV_ERR_INTERNAL_ERROR, "query-blockstats entry %zu is not a JSON object", idx);
        return -1;
    }
    if (!(qdev = jsonGetString(entry, "qdev")))
        return 0;
    if (!json_object_object_get_ex(entry, "stats", &stats) ||
        !json_object_is_type(stats, json_type_object)) {
        reportError(IOV_ERR_INTERNAL_ERROR, "query-blockstats entry '%s' has no 'stats' object",
                    qdev);
        return -1;
    }
    s = g_new0(qemuBlockStats, 1);
    s->qdev = g_strdup(qdev);
    for (i = 0; i < G_N_ELEMENTS(blockStatsKeys); i++) {
        json_object *v = NULL;
        unsigned long long *field = G_STRUCT_MEMBER_P(s, blockStatsKeys[i].offset);

        if (!json_object_object_get_ex(stats, blockStatsKeys[i].key, &v))
            continue;
        if (jsonGetUnsigned(v, field) < 0) {
            reportError(IOV_ERR_INTERNAL_ERROR,
                        "query-blockstats entry '%s': '%s' is not a non-negative integer: %.200s",
                        qdev, blockStatsKeys[i].key, v ? jsonText(v) : "null");
            return -1;
        }
    }
    *out = g_steal_pointer(&s);
    return 0;
}

/* qemuMonitorParseBlockStats: the entries of a query-blockstats reply
 * that name a guest device, in QEMU's order. */
int
qemuMonitorParseBlockStats(json_object *reply, GPtrArray **stats)
{
    g_autoptr(GPtrArray) res = NULL;
    size_t n, i;

    if (!json_object_is_type(reply, json_type_array)) {
        reportError(IOV_ERR_INTERNAL_ERROR, "query-blockstats reply is not a JSON array: %.200s",
                    reply ? jsonText(reply) : "null");
        return -1;
    }
    res = g_ptr_array_new_with_free_func((GDestroyNotify)qemuBlockStatsFree);
    n = json_object_array_length(reply);
    for (i = 0; i < n; i++) {
        qemuBlockStats *s = NULL;

        if (parseBlockStatsEntry(json_object_array_get_idx(reply, i), i, &s) < 0)
            return -1;
        if (s)
            g_ptr_array_add(res, s);
    }
    *stats = g_steal_pointer(&res);
    return 0;
}

/* ---- reading the socket (the I/O thread, or a command's thread) ---- */

/* The connection ended: mark it so and, unless the monitor is being
 * closed, tell the owner once. readLock is held. */
static void
monitorEnded(qemuMonitor *mon, bool error)
{
    bool notify;

    g_mutex_lock(&mon->lock);
    if (!mon->closed) {
        mon->closed = true;
        mon->closeError = error;
    }
    notify = !mon->closing && !mon->eofDone;
    mon->eofDone = true;
    g_mutex_unlock(&mon->lock);

    g_debug("QEMU monitor at '%s' ended (error=%d)", mon->path, error);
    if (notify && mon->cb.eof)
        mon->cb.eof(mon, error, mon->opaque);
}

/* With mon->lock: take the reply for the first command of the batch not
 * answered yet; false when no batch awaits a reply. */
static bool
batchReply(qemuMonitor *mon, json_object **ret, char **errClass, char **errDesc)
{
    size_t i;

    for (i = 0; mon->batch && i < mon->batchLen; i++) {
        monitorPending *p = &mon->batch[i];

        if (p->replied)
            continue;
        p->replied = true;
        p->ret = g_steal_pointer(ret);
        p->errClass = g_steal_pointer(errClass);
        p->errDesc = g_steal_pointer(errDesc);
        mon->batchLeft--;
        return true;
    }
    return false;
}

/* Handle one line from QEMU; false on a protocol error. readLock is
 * held (by the I/O thread or a command's thread). */
static bool
monitorHandleLine(qemuMonitor *mon, const char *line, size_t len)
{
    g_autofree char *errClass = NULL;
    g_autofree char *errDesc = NULL;
    g_autofree char *event = NULL;
    g_autoptr(json_object) ret = NULL;
    g_autoptr(json_object) data = NULL;
    char kind = 0;
    bool closing;

    while (len > 0 && g_ascii_isspace(line[len - 1]))
        len--;
    if (len == 0)
        return true;
    /* a reply's id is not read: replies are matched by order */
    if (qemuMonitorParseMessage(line, len, &kind, NULL, &ret, &errClass, &errDesc, &event, &data) <
        0) {
        g_debug("QEMU monitor at '%s': %s", mon->path, utilGetError()->message);
        utilResetError();
        return false;
    }

    switch (kind) {
    case 'e':
        g_mutex_lock(&mon->lock);
        closing = mon->closing;
        g_mutex_unlock(&mon->lock);
        if (!closing && mon->cb.event)
            mon->cb.event(mon, event, data, mon->opaque);
        break;
    case 'r':
        g_mutex_lock(&mon->lock);
        if (mon->waiting && !mon->replied) {
            mon->replied = true;
            mon->replyRet = g_steal_pointer(&ret);
            mon->replyErrClass = g_steal_pointer(&errClass);
            mon->replyErrDesc = g_steal_pointer(&errDesc);
        } else if (!batchReply(mon, &ret, &errClass, &errDesc)) {
            g_debug("QEMU monitor at '%s': ignoring a reply no command awaits", mon->path);
        }
        g_mutex_unlock(&mon->lock);
        break;
    default:
        g_debug("QEMU monitor at '%s': ignoring a greeting", mon->path);
        break;
    }
    return true;
}

/* Split the received bytes into lines and handle the complete ones;
 * false on a protocol error. readLock is held. */
static bool
monitorHandleBuffer(qemuMonitor *mon)
{
    size_t start = 0;

    for (;;) {
        const char *nl;
        size_t len;
        bool closing;

        g_mutex_lock(&mon->lock);
        closing = mon->closing;
        g_mutex_unlock(&mon->lock);
        if (closing)
            break;

        nl = memchr(mon->rbuf->str + mon->rscan, '\n', mon->rbuf->len - mon->rscan);
        if (!nl) {
            mon->rscan = mon->rbuf->len;
            break;
        }
        len = nl - (mon->rbuf->str + start);
        if (len > QEMU_MONITOR_MAX_LINE) {
            g_debug("QEMU monitor at '%s' sent a line of %zu bytes", mon->path, len);
            return false;
        }
        if (!monitorHandleLine(mon, mon->rbuf->str + start, len))
            return false;
        start += len + 1;
        mon->rscan = start;
    }
    g_string_erase(mon->rbuf, 0, start);
    mon->rscan -= start;
    if (mon->rbuf->len > QEMU_MONITOR_MAX_LINE) {
        g_debug("QEMU monitor at '%s' sent more than %d bytes without a newline", mon->path,
                QEMU_MONITOR_MAX_LINE);
        return false;
    }
    return true;
}

/* Read what QEMU sent and handle the complete lines; false once the
 * connection ended (cb.eof has been called). readLock is held. */
static bool
monitorReadSome(qemuMonitor *mon)
{
    char buf[65536];
    ssize_t n = recv(mon->fd, buf, sizeof(buf), MSG_DONTWAIT);

    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return true;
    if (n <= 0) {
        /* QEMU may reset the connection instead of closing it (after quit). */
        bool error = n < 0 && errno != ECONNRESET;

        monitorEnded(mon, error);
        return false;
    }
    g_string_append_len(mon->rbuf, buf, n);
    if (!monitorHandleBuffer(mon)) {
        monitorEnded(mon, true);
        return false;
    }
    return true;
}

#define MONITOR_POLL_EVENTS (G_IO_IN | G_IO_HUP | G_IO_ERR)

/* How long after a command the I/O thread goes on leaving the socket to
 * commands: an event that comes meanwhile is read this late at most. */
#define MONITOR_REARM_MS 10

/*
 * The I/O thread's source for one monitor: a poll on its socket, asking
 * for nothing while a command's thread reads the socket itself (GLib
 * keeps its poll records sorted by fd: the events may change, the fd may
 * not), and until MONITOR_REARM_MS after the last command: the I/O
 * thread takes the socket back on a timeout of its own, so a command
 * never wakes it, and in a run of commands (a set every 1.5 ms) it sleeps
 * instead of waking twice a command (on the reply, then to take the
 * socket back), each time when the command's thread, the caller and QEMU
 * want the machine's two cores. Only the end of the connection still
 * wakes a poll that asks for nothing: it is read at once when no command
 * reads.
 */
typedef struct {
    GSource base;
    GPollFD pfd;
    qemuMonitor *mon; /* reference */
    bool aside;       /* the socket is left out, to be taken back
                       * MONITOR_REARM_MS after the last command */
} monitorSource;

static gboolean
monitorSourcePrepare(GSource *source, gint *timeout)
{
    monitorSource *ms = (monitorSource *)source;
    qemuMonitor *mon = ms->mon;
    gint64 left;

    *timeout = -1;
    ms->pfd.events = MONITOR_POLL_EVENTS;
    if (g_atomic_int_get(&mon->direct)) {
        ms->aside = true;
        ms->pfd.events = 0;
        *timeout = MONITOR_REARM_MS;
        return FALSE;
    }
    if (!ms->aside)
        return FALSE;
    /* a command that ended after the look at `direct` set directEnd
     * before it cleared `direct` */
    g_mutex_lock(&mon->lock);
    left = mon->directEnd + MONITOR_REARM_MS * G_TIME_SPAN_MILLISECOND - g_get_monotonic_time();
    g_mutex_unlock(&mon->lock);
    if (left > 0) {
        ms->pfd.events = 0;
        *timeout = (gint)((left + 999) / 1000);
        return FALSE;
    }
    ms->aside = false;
    return FALSE;
}

static gboolean
monitorSourceCheck(GSource *source)
{
    monitorSource *ms = (monitorSource *)source;

    if (ms->pfd.events == 0)
        return (ms->pfd.revents & (G_IO_HUP | G_IO_ERR)) && !g_atomic_int_get(&ms->mon->direct);
    return ms->pfd.revents != 0;
}

/* Read what QEMU sent, unless a command's thread reads now. Runs in the
 * I/O thread. */
static gboolean
monitorSourceDispatch(GSource *source, GSourceFunc callback G_GNUC_UNUSED,
                      gpointer data G_GNUC_UNUSED)
{
    monitorSource *ms = (monitorSource *)source;
    qemuMonitor *mon = ms->mon;
    gboolean keep = G_SOURCE_CONTINUE;

    /* readLock is held only by this thread or while `direct` is set: a
     * failed try means the next prepare leaves the socket out */
    if (g_atomic_int_get(&mon->direct) || !g_mutex_trylock(&mon->readLock))
        return G_SOURCE_CONTINUE;
    if (!monitorReadSome(mon))
        keep = G_SOURCE_REMOVE;
    g_mutex_unlock(&mon->readLock);
    return keep;
}

static void
monitorSourceFinalize(GSource *source)
{
    monitorUnref(((monitorSource *)source)->mon);
}

static GSourceFuncs monitorSourceFuncs = {
    .prepare = monitorSourcePrepare,
    .check = monitorSourceCheck,
    .dispatch = monitorSourceDispatch,
    .finalize = monitorSourceFinalize,
};

static GSource *
monitorSourceNew(qemuMonitor *mon)
{
    GSource *source = g_source_new(&monitorSourceFuncs, sizeof(monitorSource));
    monitorSource *ms = (monitorSource *)source;

    ms->mon = monitorRef(mon);
    ms->pfd.fd = mon->fd;
    ms->pfd.events = MONITOR_POLL_EVENTS;
    g_source_add_poll(source, &ms->pfd);
    g_source_set_name(source, "qemu-monitor");
    return source;
}

/* Stop watching the socket. Runs in the I/O thread. */
static void
monitorDetach(qemuMonitor *mon)
{
    if (!mon->watch)
        return;
    g_source_destroy(mon->watch);
    g_source_unref(mon->watch);
    mon->watch = NULL;
}

typedef struct {
    qemuMonitor *mon;
    GMutex lock;
    GCond cond;
    bool done;
} monitorDetachCall;

/* Idle callback running monitorDetach in the I/O thread for a waiting
 * qemuMonitorClose. */
static gboolean
monitorDetachIdle(gpointer opaque)
{
    monitorDetachCall *call = opaque;

    monitorDetach(call->mon);
    g_mutex_lock(&call->lock);
    call->done = true;
    g_cond_signal(&call->cond);
    g_mutex_unlock(&call->lock);
    return G_SOURCE_REMOVE;
}

/* Detach `mon` from the I/O thread and return once no callback of it can
 * run any more. */
static void
monitorDetachSync(qemuMonitor *mon)
{
    GMainContext *ctx = mon->ctx;
    monitorDetachCall call = {.mon = mon};
    GSource *idle;

    if (g_main_context_is_owner(ctx)) {
        monitorDetach(mon);
        return;
    }
    g_mutex_init(&call.lock);
    g_cond_init(&call.cond);
    idle = g_idle_source_new();
    g_source_set_priority(idle, G_PRIORITY_HIGH);
    g_source_set_callback(idle, monitorDetachIdle, &call, NULL);
    g_source_attach(idle, ctx);
    g_source_unref(idle);

    g_mutex_lock(&call.lock);
    while (!call.done)
        g_cond_wait(&call.cond, &call.lock);
    g_mutex_unlock(&call.lock);
    g_mutex_clear(&call.lock);
    g_cond_clear(&call.cond);
}

/* ---- the caller's side ---- */

/* Milliseconds from now until `deadline` (monotonic µs), rounded up, at
 * least 0. */
static int
msUntil(gint64 deadline)
{
    gint64 left = deadline - g_get_monotonic_time();

    if (left <= 0)
        return 0;
    return (int)MIN((left + 999) / 1000, G_MAXINT);
}

/* Send all of `buf` on `fd` before `deadline`. Returns 0, -1 with errno
 * set, or -2 when the deadline passed. */
static int
sendAll(int fd, const char *buf, size_t len, gint64 deadline)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

        if (n >= 0) {
            buf += n;
            len -= n;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            int ms = msUntil(deadline);

            if (ms == 0)
                return -2;
            if (poll(&pfd, 1, ms) < 0 && errno != EINTR)
                return -1;
            continue;
        }
        return -1;
    }
    return 0;
}

/*
 * Read one line from `fd` before `deadline`, consuming exactly that line
 * (bytes after it stay in the socket for the I/O thread). *line gets the
 * line without its end. Returns 0, -1 with an error, or -2 (no error set)
 * when the deadline passed.
 */
static int
handshakeReadLine(int fd, const char *path, gint64 deadline, char **line)
{
    g_autoptr(GString) acc = g_string_new(NULL);
    char buf[65536];

    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int ms = msUntil(deadline);
        ssize_t n;
        const char *nl;
        size_t take;
        int rc;

        if (ms == 0)
            return -2;
        rc = poll(&pfd, 1, ms);
        if (rc < 0 && errno != EINTR) {
            reportSystemError(errno, "cannot wait for QEMU monitor at '%s'", path);
            return -1;
        }
        if (rc <= 0)
            continue;
        n = recv(fd, buf, sizeof(buf), MSG_PEEK);
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (n < 0 && errno != ECONNRESET) {
            reportSystemError(errno, "cannot read from QEMU monitor at '%s'", path);
            return -1;
        }
        if (n <= 0) {
            reportError(IOV_ERR_OPERATION_FAILED,
                        "QEMU monitor at '%s' closed the connection during the handshake", path);
            return -1;
        }
        nl = memchr(buf, '\n', n);
        take = nl ? (size_t)(nl - buf) + 1 : (size_t)n;
        n = recv(fd, buf, take, 0);
        if (n < 0) {
            reportSystemError(errno, "cannot read from QEMU monitor at '%s'", path);
            return -1;
        }
        g_string_append_len(acc, buf, n);
        if (acc->len > QEMU_MONITOR_MAX_LINE) {
            reportError(IOV_ERR_INTERNAL_ERROR,
                        "QEMU monitor at '%s' sent a line longer than %d bytes", path,
                        QEMU_MONITOR_MAX_LINE);
            return -1;
        }
        if (nl && (size_t)n == take) {
            g_string_truncate(acc, acc->len - 1);
            if (acc->len > 0 && acc->str[acc->len - 1] == '\r')
                g_string_truncate(acc, acc->len - 1);
            *line = g_string_free(g_steal_pointer(&acc), FALSE);
            return 0;
        }
    }
}

/* Connect a non-blocking unix socket to `path`, retrying until
 * `deadline` while the socket is missing, refuses or is busy. */
static int
monitorConnect(const char *path, gint64 deadline, int timeoutMs)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int lastErrno = 0;

    if (strlen(path) >= sizeof(addr.sun_path)) {
        reportError(IOV_ERR_INVALID_ARG, "QEMU monitor socket path '%s' is longer than %zu bytes",
                    path, sizeof(addr.sun_path) - 1);
        return -1;
    }
    memcpy(addr.sun_path, path, strlen(path) + 1);

    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

        if (fd < 0) {
            reportSystemError(errno, "cannot create a socket for QEMU monitor at '%s'", path);
            return -1;
        }
        if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
            return fd;
        lastErrno = errno;
        close(fd);
        if (lastErrno != ENOENT && lastErrno != ECONNREFUSED && lastErrno != EAGAIN &&
            lastErrno != EINTR) {
            reportSystemError(lastErrno, "cannot connect to QEMU monitor at '%s'", path);
            return -1;
        }
        if (g_get_monotonic_time() + QEMU_MONITOR_CONNECT_RETRY_US > deadline)
            break;
        g_usleep(QEMU_MONITOR_CONNECT_RETRY_US);
    }
    reportError(IOV_ERR_OPERATION_FAILED, "cannot connect to QEMU monitor at '%s' within %d ms: %s",
                path, timeoutMs, g_strerror(lastErrno));
    return -1;
}

/* Read the greeting and negotiate capabilities on `fd` before
 * `deadline`; *version gets QEMU's version. */
static int
monitorHandshake(int fd, const char *path, gint64 deadline, int timeoutMs,
                 unsigned long long *version)
{
    g_autofree char *greeting = NULL;
    g_autoptr(json_object) obj = NULL;
    json_object *v = NULL;
    static const char caps[] = "{\"execute\":\"qmp_capabilities\",\"id\":\"iov-caps\"}\n";
    int rc;

    rc = handshakeReadLine(fd, path, deadline, &greeting);
    if (rc == -2) {
        reportError(
            IOV_ERR_OPERATION_TIMEOUT,
            "QEMU monitor at '%s' sent no greeting within %d ms (is another client connected?)",
            path, timeoutMs);
        return -1;
    }
    if (rc < 0)
        return -1;
    obj = json_tokener_parse(greeting);
    if (!obj || !json_object_object_get_ex(obj, "QMP", &v) ||
        !json_object_is_type(v, json_type_object)) {
        reportError(IOV_ERR_INTERNAL_ERROR, "QEMU monitor at '%s' sent no QMP greeting but: %.200s",
                    path, greeting);
        return -1;
    }
    *version = 0;
    if (json_object_object_get_ex(v, "version", &v) && json_object_object_get_ex(v, "qemu", &v)) {
        json_object *major = NULL, *minor = NULL, *micro = NULL;

        json_object_object_get_ex(v, "major", &major);
        json_object_object_get_ex(v, "minor", &minor);
        json_object_object_get_ex(v, "micro", &micro);
        *version = json_object_get_uint64(major) * 1000000 + json_object_get_uint64(minor) * 1000 +
                   json_object_get_uint64(micro);
    }

    rc = sendAll(fd, caps, strlen(caps), deadline);
    if (rc == -2) {
        reportError(IOV_ERR_OPERATION_TIMEOUT,
                    "QEMU monitor at '%s' accepted no capabilities negotiation within %d ms", path,
                    timeoutMs);
        return -1;
    }
    if (rc < 0) {
        reportSystemError(errno, "cannot write to QEMU monitor at '%s'", path);
        return -1;
    }

    for (;;) {
        g_autofree char *line = NULL;
        g_autofree char *id = NULL;
        g_autofree char *errDesc = NULL;
        char kind = 0;

        rc = handshakeReadLine(fd, path, deadline, &line);
        if (rc == -2) {
            reportError(
                IOV_ERR_OPERATION_TIMEOUT,
                "QEMU monitor at '%s' did not answer the capabilities negotiation within %d ms",
                path, timeoutMs);
            return -1;
        }
        if (rc < 0)
            return -1;
        if (qemuMonitorParseMessage(line, strlen(line), &kind, &id, NULL, NULL, &errDesc, NULL,
                                    NULL) < 0)
            return -1;
        if (kind != 'r' || g_strcmp0(id, "iov-caps") != 0)
            continue;
        if (errDesc) {
            reportError(IOV_ERR_INTERNAL_ERROR,
                        "unable to execute QEMU command 'qmp_capabilities': %s", errDesc);
            return -1;
        }
        return 0;
    }
}

/* qemuMonitorOpen: connect, read the greeting and negotiate, all before
 * one deadline, then hand the socket to the I/O thread. */
qemuMonitor *
qemuMonitorOpen(const char *path, int connectTimeoutMs, const qemuMonitorCallbacks *cb,
                void *opaque)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)MAX(connectTimeoutMs, 0) * 1000;
    unsigned long long version = 0;
    qemuMonitor *mon;
    int fd;

    if ((fd = monitorConnect(path, deadline, connectTimeoutMs)) < 0)
        return NULL;
    if (monitorHandshake(fd, path, deadline, connectTimeoutMs, &version) < 0) {
        close(fd);
        return NULL;
    }

    mon = g_new0(qemuMonitor, 1);
    mon->refs = 1;
    mon->path = g_strdup(path);
    mon->fd = fd;
    if (cb)
        mon->cb = *cb;
    mon->opaque = opaque;
    mon->version = version;
    mon->rbuf = g_string_new(NULL);
    mon->timeoutMs = QEMU_MONITOR_DEFAULT_TIMEOUT_MS;
    mon->nextId = 1;
    g_mutex_init(&mon->cmdLock);
    g_mutex_init(&mon->readLock);
    g_mutex_init(&mon->lock);

    mon->watch = monitorSourceNew(mon);
    /* never dispatched recursively; a source that may recurse is not
     * taken out of the poll set and put back around each dispatch (two
     * wake-ups of the thread's own loop per reply) */
    g_source_set_can_recurse(mon->watch, TRUE);
    mon->ctx = ioThreadAcquire();
    g_source_attach(mon->watch, mon->ctx);
    return mon;
}

static void begunEnd(qemuMonitor *mon, int wrc, int sendErrno);

/* qemuMonitorClose: stop the I/O thread watching the socket (waiting
 * until it has), fail a waiting command and drop the caller's reference. */
void
qemuMonitorClose(qemuMonitor *mon)
{
    GMainContext *ctx;
    bool ownBegun;

    if (!mon)
        return;
    g_mutex_lock(&mon->lock);
    mon->closing = true;
    g_mutex_unlock(&mon->lock);
    /* Wakes a command blocked in send() or reading its reply; the fd
     * itself is closed with the last reference. */
    shutdown(mon->fd, SHUT_RDWR);
    /* a command this thread began cannot be read to its end any more */
    g_mutex_lock(&mon->lock);
    ownBegun = mon->begun && mon->begun->thread == g_thread_self();
    g_mutex_unlock(&mon->lock);
    if (ownBegun)
        begunEnd(mon, 0, 0);

    monitorDetachSync(mon);
    /* a command's thread may be handling what it read: once it lets go,
     * whoever reads sees `closing` and calls no callback */
    g_mutex_lock(&mon->readLock);
    g_mutex_unlock(&mon->readLock);
    g_mutex_lock(&mon->lock);
    ctx = g_steal_pointer(&mon->ctx);
    g_mutex_unlock(&mon->lock);
    ioThreadRelease(ctx);
    monitorUnref(mon);
}

/* qemuMonitorSetTimeout: the time later commands may take. */
void
qemuMonitorSetTimeout(qemuMonitor *mon, int timeoutMs)
{
    g_return_if_fail(timeoutMs > 0);
    g_mutex_lock(&mon->lock);
    mon->timeoutMs = timeoutMs;
    g_mutex_unlock(&mon->lock);
}

/* qemuMonitorGetVersion: QEMU's version from the greeting. */
unsigned long long
qemuMonitorGetVersion(qemuMonitor *mon)
{
    return mon->version;
}

/* qemuMonitorIsUsable: neither ended nor broken by a timeout. */
bool
qemuMonitorIsUsable(qemuMonitor *mon)
{
    bool ok;

    g_mutex_lock(&mon->lock);
    ok = !mon->closed && !mon->closing && !mon->broken;
    g_mutex_unlock(&mon->lock);
    return ok;
}

/* qemuMonitorCommandCount: commands sent since the negotiation. */
unsigned long long
qemuMonitorCommandCount(qemuMonitor *mon)
{
    unsigned long long n;

    g_mutex_lock(&mon->lock);
    n = mon->count;
    g_mutex_unlock(&mon->lock);
    return n;
}

/* The error for a command that cannot run or lost its connection; with
 * mon->lock held. */
static void
reportConnectionGone(qemuMonitor *mon, const char *cmd, bool started)
{
    if (mon->closing)
        reportError(IOV_ERR_OPERATION_FAILED, "QEMU monitor at '%s' was closed while running '%s'",
                    mon->path, cmd);
    else if (mon->closed && mon->closeError)
        reportError(
            IOV_ERR_OPERATION_FAILED,
            "QEMU monitor at '%s' sent an unreadable message and was closed while running '%s'",
            mon->path, cmd);
    else if (mon->closed && started)
        reportError(IOV_ERR_OPERATION_FAILED,
                    "QEMU monitor closed while running '%s' (monitor at '%s')", cmd, mon->path);
    else if (mon->closed)
        reportError(IOV_ERR_OPERATION_FAILED, "QEMU monitor at '%s' is closed, cannot run '%s'",
                    mon->path, cmd);
    else
        reportError(
            IOV_ERR_OPERATION_FAILED,
            "QEMU monitor at '%s' is unusable after an earlier command timed out, cannot run '%s'",
            mon->path, cmd);
}

/* Whether what the command in flight awaits has come, or the connection
 * ended; with mon->lock. */
static bool
monitorAwaitOver(qemuMonitor *mon)
{
    bool answered = mon->batch ? mon->batchLeft == 0 : mon->replied;

    return answered || mon->closed || mon->closing;
}

/* Take the socket for a command's thread (cmdLock held): the I/O thread
 * leaves it out of its poll until monitorReleaseSocket. */
static void
monitorClaimSocket(qemuMonitor *mon)
{
    g_atomic_int_set(&mon->direct, 1);
    g_mutex_lock(&mon->readLock);
    /* An I/O thread that took the socket back (the first command after
     * MONITOR_REARM_MS) still polls it: woken now, while QEMU reads the
     * command, it leaves the socket out, and the reply wakes this thread
     * alone. */
    g_mutex_lock(&mon->lock);
    if (mon->ctx &&
        g_get_monotonic_time() - mon->directEnd >= MONITOR_REARM_MS * G_TIME_SPAN_MILLISECOND)
        g_main_context_wakeup(mon->ctx);
    g_mutex_unlock(&mon->lock);
}

/* Give the socket back to the I/O thread, which takes it back
 * MONITOR_REARM_MS later (monitorSourcePrepare). */
static void
monitorReleaseSocket(qemuMonitor *mon)
{
    g_mutex_unlock(&mon->readLock);
    g_mutex_lock(&mon->lock);
    mon->directEnd = g_get_monotonic_time();
    g_mutex_unlock(&mon->lock);
    g_atomic_int_set(&mon->direct, 0);
}

/*
 * Send `len` bytes of commands (cmdLock held), then read the socket in
 * this thread until their replies have come, the connection ends
 * (qemuMonitorClose shuts the socket down, which wakes the poll) or
 * `deadline` passes. Returns what sendAll returned, with its errno.
 *
 * The socket is claimed before the send: the thread QEMU wakes often
 * shares the sender's core, so the sender goes straight from send() to
 * poll(). The I/O thread leaves the socket alone meanwhile, and takes it
 * back by itself (monitorSourcePrepare).
 */
static int
monitorSendAndAwait(qemuMonitor *mon, const char *text, size_t len, gint64 deadline)
{
    int wrc;
    int sendErrno;

    monitorClaimSocket(mon);
    wrc = sendAll(mon->fd, text, len, deadline);
    sendErrno = errno;
    while (wrc == 0) {
        struct pollfd pfd = {.fd = mon->fd, .events = POLLIN};
        int ms = msUntil(deadline);
        bool over;
        int rc;

        if (ms == 0)
            break;
        rc = poll(&pfd, 1, ms);
        if (rc < 0 && errno != EINTR) {
            g_debug("QEMU monitor at '%s': poll failed: %s", mon->path, g_strerror(errno));
            monitorEnded(mon, true);
            break;
        }
        if (rc > 0 && !monitorReadSome(mon))
            break;
        g_mutex_lock(&mon->lock);
        over = monitorAwaitOver(mon);
        g_mutex_unlock(&mon->lock);
        if (over)
            break;
    }
    monitorReleaseSocket(mon);
    errno = sendErrno;
    return wrc;
}

/*
 * With cmdLock held: mark command `cmd` (with `args`, taken over) in
 * flight and build its text into *text. 1 when it is not to be sent: 0
 * in *rc (closeIsSuccess and QEMU is gone) or -1 with an error.
 */
static int
monitorCommandStart(qemuMonitor *mon, const char *cmd, json_object *args, bool closeIsSuccess,
                    char **text, gint64 *deadline, int *timeoutMs, int *rc)
{
    g_autoptr(json_object) msg = json_object_new_object();
    unsigned long long seq;

    json_object_object_add(msg, "execute", json_object_new_string(cmd));
    if (args)
        json_object_object_add(msg, "arguments", args);
    g_mutex_lock(&mon->lock);
    if (mon->closing || mon->closed || mon->broken) {
        *rc = -1;
        if (closeIsSuccess && mon->closed && !mon->closeError && !mon->closing)
            *rc = 0;
        else
            reportConnectionGone(mon, cmd, false);
        g_mutex_unlock(&mon->lock);
        return 1;
    }
    seq = mon->nextId++;
    *timeoutMs = mon->timeoutMs;
    *deadline = g_get_monotonic_time() + (gint64)*timeoutMs * 1000;
    mon->waiting = true;
    mon->replied = false;
    mon->count++;
    g_mutex_unlock(&mon->lock);

    *text = g_strconcat(json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN), "\n", NULL);
    g_debug("QEMU monitor at '%s': sending '%s' (command %llu)", mon->path, cmd, seq);
    return 0;
}

/*
 * With cmdLock held, once the command in flight was sent (`wrc`, with
 * `sendErrno`, is what sendAll returned) and its wait is over: its
 * outcome (the reply's "return" into *ret), its marks cleared. A lost
 * connection or a timeout leaves the monitor unusable.
 */
static int
monitorCommandResult(qemuMonitor *mon, const char *cmd, int wrc, int sendErrno, int timeoutMs,
                     bool closeIsSuccess, json_object **ret)
{
    g_autoptr(json_object) replyRet = NULL;
    g_autofree char *errDesc = NULL;
    g_autofree char *errClass = NULL;
    bool replied, gone;
    int rc = -1;

    g_mutex_lock(&mon->lock);
    replied = mon->replied;
    gone = mon->closed || mon->closing;
    if (replied) {
        replyRet = g_steal_pointer(&mon->replyRet);
        errClass = g_steal_pointer(&mon->replyErrClass);
        errDesc = g_steal_pointer(&mon->replyErrDesc);
    } else if (gone || wrc == -1) {
        /* part of the command may have gone out: nothing more can follow */
        mon->broken = mon->broken || wrc == -1;
        if (closeIsSuccess && !mon->closing && !mon->closeError)
            rc = 0;
        else if (gone)
            reportConnectionGone(mon, cmd, true);
        else
            reportError(IOV_ERR_OPERATION_FAILED,
                        "QEMU monitor closed while running '%s' (monitor at '%s': %s)", cmd,
                        mon->path, g_strerror(sendErrno));
    } else {
        mon->broken = true;
        reportError(IOV_ERR_OPERATION_TIMEOUT,
                    "QEMU monitor at '%s' did not answer '%s' within %d ms", mon->path, cmd,
                    timeoutMs);
    }
    mon->waiting = false;
    mon->replied = false;
    g_mutex_unlock(&mon->lock);

    if (!replied)
        return rc;
    if (errDesc) {
        reportError(IOV_ERR_INTERNAL_ERROR, "unable to execute QEMU command '%s': %s", cmd,
                    errDesc);
        return -1;
    }
    if (ret)
        *ret = g_steal_pointer(&replyRet);
    return 0;
}

/*
 * Run `cmd` as qemuMonitorCommand does; with `closeIsSuccess`, the
 * connection ending before the reply counts as success (quit).
 */
static int
monitorCommand(qemuMonitor *mon, const char *cmd, json_object *args, json_object **ret,
               bool closeIsSuccess, bool noWait)
{
    g_autofree char *text = NULL;
    gint64 deadline = 0;
    int timeoutMs = 0;
    int rc = -1;
    int wrc;
    int sendErrno;

    if (ret)
        *ret = NULL;
    monitorRef(mon);
    if (noWait) {
        if (!g_mutex_trylock(&mon->cmdLock)) {
            if (args)
                json_object_put(args);
            monitorUnref(mon);
            return 1;
        }
    } else {
        g_mutex_lock(&mon->cmdLock);
    }
    if (monitorCommandStart(mon, cmd, args, closeIsSuccess, &text, &deadline, &timeoutMs, &rc) ==
        0) {
        wrc = monitorSendAndAwait(mon, text, strlen(text), deadline);
        sendErrno = errno;
        rc = monitorCommandResult(mon, cmd, wrc, sendErrno, timeoutMs, closeIsSuccess, ret);
    }
    g_mutex_unlock(&mon->cmdLock);
    monitorUnref(mon);
    return rc;
}

/* ---- a command begun without waiting ---- */

/* End the begun command (in the thread that began it): stop watching,
 * let the socket and the command slot go, and tell its caller. */
static void
begunEnd(qemuMonitor *mon, int wrc, int sendErrno)
{
    monitorBegun *b;
    json_object *ret = NULL;
    int rc;

    g_mutex_lock(&mon->lock);
    b = g_steal_pointer(&mon->begun);
    g_mutex_unlock(&mon->lock);
    monitorReleaseSocket(mon);
    rc = monitorCommandResult(mon, b->cmd, wrc, sendErrno, b->timeoutMs, false, &ret);
    g_mutex_unlock(&mon->cmdLock);
    b->done(mon, rc, ret, b->opaque);
    /* after the answer: removing a watched socket from a loop wakes the
     * loop, a write and a read more (the source being dispatched goes as
     * it returns) */
    if (b->readable) {
        g_source_destroy(b->readable);
        g_source_unref(b->readable);
    }
    if (b->timer) {
        g_source_destroy(b->timer);
        g_source_unref(b->timer);
    }
    g_free(b->cmd);
    g_free(b);
    monitorUnref(mon);
}

/* The begun command's socket has something: read it; end the command
 * once its reply came or the connection ended. */
static gboolean
begunReadable(gint fd G_GNUC_UNUSED, GIOCondition cond G_GNUC_UNUSED, gpointer data)
{
    qemuMonitor *mon = data;
    bool over = true;

    if (monitorReadSome(mon)) {
        g_mutex_lock(&mon->lock);
        over = monitorAwaitOver(mon);
        g_mutex_unlock(&mon->lock);
    }
    if (over)
        begunEnd(mon, 0, 0);
    return over ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

/* The monitor's timeout passed without the begun command's reply. */
static gboolean
begunTimeout(gpointer data)
{
    begunEnd(data, 0, 0);
    return G_SOURCE_REMOVE;
}

int
qemuMonitorCommandBegin(qemuMonitor *mon, const char *cmd, json_object *args, GMainContext *ctx,
                        qemuMonitorEndFunc done, void *opaque)
{
    g_autofree char *text = NULL;
    monitorBegun *b;
    gint64 deadline = 0;
    int timeoutMs = 0;
    int rc = -1;
    int wrc;

    if (!g_mutex_trylock(&mon->cmdLock)) {
        if (args)
            json_object_put(args);
        return 0;
    }
    if (monitorCommandStart(mon, cmd, args, false, &text, &deadline, &timeoutMs, &rc) != 0) {
        /* unusable: a waiting command says why */
        utilResetError();
        g_mutex_unlock(&mon->cmdLock);
        return 0;
    }
    monitorRef(mon);
    b = g_new0(monitorBegun, 1);
    b->cmd = g_strdup(cmd);
    b->timeoutMs = timeoutMs;
    b->thread = g_thread_self();
    b->done = done;
    b->opaque = opaque;
    g_mutex_lock(&mon->lock);
    mon->begun = b;
    g_mutex_unlock(&mon->lock);
    /* the socket is this thread's until the command ends, as a waiting
     * command's is */
    monitorClaimSocket(mon);
    wrc = sendAll(mon->fd, text, strlen(text), deadline);
    if (wrc < 0) {
        int sendErrno = errno;

        begunEnd(mon, wrc, sendErrno);
        return 1;
    }
    b->readable = g_unix_fd_source_new(mon->fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
    g_source_set_callback(b->readable, G_SOURCE_FUNC(begunReadable), mon, NULL);
    g_source_set_priority(b->readable, G_PRIORITY_HIGH);
    g_source_attach(b->readable, ctx);
    b->timer = g_timeout_source_new((guint)timeoutMs);
    g_source_set_callback(b->timer, begunTimeout, mon, NULL);
    g_source_attach(b->timer, ctx);
    return 1;
}

/* qemuMonitorCommand: run one command and wait for its reply (see the
 * header for the errors). */
int
qemuMonitorCommand(qemuMonitor *mon, const char *cmd, json_object *args, json_object **ret)
{
    if (!mon) {
        if (args)
            json_object_put(args);
        reportError(IOV_ERR_INVALID_ARG, "no QEMU monitor to run '%s'", cmd);
        return -1;
    }
    return monitorCommand(mon, cmd, args, ret, false, false);
}

/*
 * monitorCommandBatch: send the `n` commands `cmds` (arguments `args`,
 * taken over; entries may be NULL) in one write and wait once for all
 * their replies, each command's "return" in rets[i] (the caller frees
 * them; NULL on failure). QEMU reads and answers them one after the
 * other, as if they had been sent one at a time, without a round trip
 * between two of them. A command QEMU
 * refuses fails the batch with its error, as qemuMonitorCommand's does;
 * a lost connection or the monitor's timeout fails it as there.
 */
static int
monitorCommandBatch(qemuMonitor *mon, size_t n, const char *const *cmds, json_object **args,
                    json_object **rets)
{
    g_autoptr(GString) text = g_string_new(NULL);
    g_autofree monitorPending *pend = g_new0(monitorPending, n);
    g_autofree json_object **msgs = g_new0(json_object *, n);
    unsigned long long seq;
    gint64 deadline;
    int timeoutMs;
    int rc = -1;
    int wrc;
    int sendErrno;
    bool done, gone;
    size_t i;

    for (i = 0; i < n; i++) {
        rets[i] = NULL;
        msgs[i] = json_object_new_object();
        json_object_object_add(msgs[i], "execute", json_object_new_string(cmds[i]));
        if (args[i])
            json_object_object_add(msgs[i], "arguments", args[i]);
    }
    monitorRef(mon);
    g_mutex_lock(&mon->cmdLock);
    g_mutex_lock(&mon->lock);
    if (mon->closing || mon->closed || mon->broken) {
        reportConnectionGone(mon, cmds[0], false);
        g_mutex_unlock(&mon->lock);
        goto cleanup;
    }
    seq = mon->nextId;
    mon->nextId += n;
    timeoutMs = mon->timeoutMs;
    deadline = g_get_monotonic_time() + (gint64)timeoutMs * 1000;
    mon->batch = pend;
    mon->batchLen = n;
    mon->batchLeft = n;
    mon->count += n;
    g_mutex_unlock(&mon->lock);

    for (i = 0; i < n; i++) {
        g_debug("QEMU monitor at '%s': sending '%s' (command %llu, %zu of %zu sent at once)",
                mon->path, cmds[i], seq + i, i + 1, n);
        g_string_append(text, json_object_to_json_string_ext(msgs[i], JSON_C_TO_STRING_PLAIN));
        g_string_append_c(text, '\n');
    }
    wrc = monitorSendAndAwait(mon, text->str, text->len, deadline);
    sendErrno = errno;

    g_mutex_lock(&mon->lock);
    done = mon->batchLeft == 0;
    gone = mon->closed || mon->closing;
    mon->batch = NULL;
    mon->batchLen = 0;
    mon->batchLeft = 0;
    if (!done && (gone || wrc == -1)) {
        mon->broken = mon->broken || wrc == -1;
        if (gone)
            reportConnectionGone(mon, cmds[0], true);
        else
            reportError(IOV_ERR_OPERATION_FAILED,
                        "QEMU monitor closed while running '%s' (monitor at '%s': %s)", cmds[0],
                        mon->path, g_strerror(sendErrno));
    } else if (!done) {
        mon->broken = true;
        reportError(IOV_ERR_OPERATION_TIMEOUT,
                    "QEMU monitor at '%s' did not answer '%s' within %d ms", mon->path, cmds[0],
                    timeoutMs);
    }
    g_mutex_unlock(&mon->lock);

    if (!done)
        goto cleanup;
    for (i = 0; i < n; i++) {
        if (pend[i].errDesc) {
            reportError(IOV_ERR_INTERNAL_ERROR, "unable to execute QEMU command '%s': %s", cmds[i],
                        pend[i].errDesc);
            goto cleanup;
        }
    }
    for (i = 0; i < n; i++)
        rets[i] = g_steal_pointer(&pend[i].ret);
    rc = 0;

cleanup:
    for (i = 0; i < n; i++) {
        if (pend[i].ret)
            json_object_put(pend[i].ret);
        g_free(pend[i].errClass);
        g_free(pend[i].errDesc);
        json_object_put(msgs[i]);
    }
    g_mutex_unlock(&mon->cmdLock);
    monitorUnref(mon);
    return rc;
}

/* ---- typed commands ---- */

/* qemuMonitorCont: start or resume the vCPUs. */
int
qemuMonitorCont(qemuMonitor *mon)
{
    return qemuMonitorCommand(mon, "cont", NULL, NULL);
}

/* qemuMonitorStop: pause the vCPUs. */
int
qemuMonitorStop(qemuMonitor *mon)
{
    return qemuMonitorCommand(mon, "stop", NULL, NULL);
}

/* qemuMonitorSystemPowerdown: press the guest's power button. */
int
qemuMonitorSystemPowerdown(qemuMonitor *mon)
{
    return qemuMonitorCommand(mon, "system_powerdown", NULL, NULL);
}

/* qemuMonitorSystemReset: reset the guest. */
int
qemuMonitorSystemReset(qemuMonitor *mon)
{
    return qemuMonitorCommand(mon, "system_reset", NULL, NULL);
}

/* qemuMonitorQuit: make QEMU exit; QEMU closing the connection before
 * its reply is success. */
int
qemuMonitorQuit(qemuMonitor *mon)
{
    if (!mon)
        return qemuMonitorCommand(mon, "quit", NULL, NULL);
    return monitorCommand(mon, "quit", NULL, NULL, true, false);
}

/* qemuMonitorQueryStatus: QEMU's run state. */
/* The reply of query-status, as qemuMonitorQueryStatus returns it. */
static int
parseStatus(json_object *ret, char **status, bool *running)
{
    json_object *runObj = NULL;
    const char *st;

    if (!json_object_is_type(ret, json_type_object) || !(st = jsonGetString(ret, "status")) ||
        !json_object_object_get_ex(ret, "running", &runObj) ||
        !json_object_is_type(runObj, json_type_boolean)) {
        reportError(IOV_ERR_INTERNAL_ERROR,
                    "query-status reply lacks 'status' or 'running': %.200s",
                    ret ? jsonText(ret) : "null");
        return -1;
    }
    if (status)
        *status = g_strdup(st);
    if (running)
        *running = json_object_get_boolean(runObj);
    return 0;
}

int
qemuMonitorQueryStatus(qemuMonitor *mon, char **status, bool *running)
{
    g_autoptr(json_object) ret = NULL;

    if (qemuMonitorCommand(mon, "query-status", NULL, &ret) < 0)
        return -1;
    return parseStatus(ret, status, running);
}

/* qemuMonitorReadState: see the header. */
int
qemuMonitorReadState(qemuMonitor *mon, char **status, bool *running, size_t ngroups,
                     const char *const *groupIds, throttleDef *limits)
{
    size_t n = ngroups + 1, i;
    g_autofree const char **cmds = g_new0(const char *, n);
    g_autofree json_object **args = g_new0(json_object *, n);
    g_autofree json_object **rets = g_new0(json_object *, n);
    int rc = -1;

    if (!mon) {
        reportError(IOV_ERR_INVALID_ARG, "no QEMU monitor to run '%s'", "query-status");
        return -1;
    }
    cmds[0] = "query-status";
    for (i = 0; i < ngroups; i++) {
        cmds[i + 1] = "qom-get";
        args[i + 1] = json_object_new_object();
        json_object_object_add(args[i + 1], "path", json_object_new_string(groupIds[i]));
        json_object_object_add(args[i + 1], "property", json_object_new_string("limits"));
    }
    if (monitorCommandBatch(mon, n, cmds, args, rets) < 0)
        return -1;
    if (parseStatus(rets[0], status, running) < 0)
        goto cleanup;
    for (i = 0; i < ngroups; i++) {
        if (qemuMonitorParseLimits(rets[i + 1], &limits[i]) < 0) {
            if (status)
                g_clear_pointer(status, g_free);
            goto cleanup;
        }
    }
    rc = 0;

cleanup:
    for (i = 0; i < n; i++) {
        if (rets[i])
            json_object_put(rets[i]);
    }
    return rc;
}

/* qemuMonitorSetThrottleLimits: qom-set the 19 limits of a group. */
int
qemuMonitorSetThrottleLimits(qemuMonitor *mon, const char *groupId, const throttleDef *t)
{
    json_object *args = json_object_new_object();

    json_object_object_add(args, "path", json_object_new_string(groupId));
    json_object_object_add(args, "property", json_object_new_string("limits"));
    json_object_object_add(args, "value", qemuMonitorBuildLimits(t));
    return qemuMonitorCommand(mon, "qom-set", args, NULL);
}

json_object *
qemuMonitorThrottleUpdateArgs(const char *groupId, const throttleDef *from, const throttleDef *to)
{
    json_object *args, *value;
    int i, n = 0;

    value = json_object_new_object();
    for (i = 0; i < THROTTLE_NUM_VALUES; i++) {
        const iovThrottleField *f = throttleField(i);
        bool length = f->is_length;
        unsigned long long a = length ? throttleEffectiveLength(from, i) : from->v[i];
        unsigned long long b = length ? throttleEffectiveLength(to, i) : to->v[i];

        if (a == b)
            continue;
        json_object_object_add(value, f->qemu_key, json_object_new_uint64(b));
        n++;
    }
    if (n == 0) {
        json_object_put(value);
        return NULL;
    }
    args = json_object_new_object();
    json_object_object_add(args, "path", json_object_new_string(groupId));
    json_object_object_add(args, "property", json_object_new_string("limits"));
    json_object_object_add(args, "value", value);
    return args;
}

/* qemuMonitorUpdateThrottleLimits: qom-set only the keys that differ. */
int
qemuMonitorUpdateThrottleLimits(qemuMonitor *mon, const char *groupId, const throttleDef *from,
                                const throttleDef *to)
{
    json_object *args = qemuMonitorThrottleUpdateArgs(groupId, from, to);

    if (!args)
        return 0;
    return qemuMonitorCommand(mon, "qom-set", args, NULL);
}

/* qemuMonitorGetThrottleLimits: qom-get the limits of a group. */
int
qemuMonitorGetThrottleLimits(qemuMonitor *mon, const char *groupId, throttleDef *t)
{
    g_autoptr(json_object) ret = NULL;
    json_object *args = json_object_new_object();

    json_object_object_add(args, "path", json_object_new_string(groupId));
    json_object_object_add(args, "property", json_object_new_string("limits"));
    if (qemuMonitorCommand(mon, "qom-get", args, &ret) < 0)
        return -1;
    return qemuMonitorParseLimits(ret, t);
}

/* qemuMonitorQueryBlockStats: the counters of every guest disk. */
int
qemuMonitorQueryBlockStats(qemuMonitor *mon, GPtrArray **stats)
{
    g_autoptr(json_object) ret = NULL;

    if (qemuMonitorCommand(mon, "query-blockstats", NULL, &ret) < 0)
        return -1;
    return qemuMonitorParseBlockStats(ret, stats);
}

/* qemuMonitorQueryBlockStatsNoWait: as qemuMonitorQueryBlockStats, or
 * 1 at once when another command is in progress. */
int
qemuMonitorQueryBlockStatsNoWait(qemuMonitor *mon, GPtrArray **stats)
{
    g_autoptr(json_object) ret = NULL;
    int rc = monitorCommand(mon, "query-blockstats", NULL, &ret, false, true);

    if (rc != 0)
        return rc;
    return qemuMonitorParseBlockStats(ret, stats);
}

/* qemuMonitorAddThrottleGroup: object-add a throttle-group with limits. */
int
qemuMonitorAddThrottleGroup(qemuMonitor *mon, const char *id, const throttleDef *t)
{
    json_object *args = json_object_new_object();

    json_object_object_add(args, "qom-type", json_object_new_string("throttle-group"));
    json_object_object_add(args, "id", json_object_new_string(id));
    json_object_object_add(args, "limits", qemuMonitorBuildLimits(t));
    return qemuMonitorCommand(mon, "object-add", args, NULL);
}

/* qemuMonitorObjectDel: object-del of an object. */
int
qemuMonitorObjectDel(qemuMonitor *mon, const char *id)
{
    json_object *args = json_object_new_object();

    json_object_object_add(args, "id", json_object_new_string(id));
    return qemuMonitorCommand(mon, "object-del", args, NULL);
}

/* qemuMonitorReopenThrottleNode: move a throttle node to another group. */
int
qemuMonitorReopenThrottleNode(qemuMonitor *mon, const char *node, const char *file,
                              const char *groupId)
{
    json_object *args = json_object_new_object();
    json_object *options = json_object_new_array();
    json_object *opt = json_object_new_object();

    json_object_object_add(opt, "driver", json_object_new_string("throttle"));
    json_object_object_add(opt, "node-name", json_object_new_string(node));
    json_object_object_add(opt, "file", json_object_new_string(file));
    json_object_object_add(opt, "throttle-group", json_object_new_string(groupId));
    json_object_array_add(options, opt);
    json_object_object_add(args, "options", options);
    return qemuMonitorCommand(mon, "blockdev-reopen", args, NULL);
}
