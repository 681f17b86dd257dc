/*
 * qemu_domain.c: domain objects, jobs, logs and status files
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "qemu_domain.h"
#include "util/error.h"
#include "util/file.h"
#include "util/log.h"
#include "util/units.h"

#define IOV_FROM_THIS IOV_FROM_QEMU

void
qemuDomainEventFree(qemuDomainEvent *ev)
{
    if (!ev)
        return;
    g_free(ev->name);
    if (ev->data)
        json_object_put(ev->data);
    g_free(ev);
}

qemuDomainObj *
qemuDomainObjNew(const char *name, const unsigned char *uuid)
{
    qemuDomainObj *obj = g_new0(qemuDomainObj, 1);

    obj->refs = 1;
    g_mutex_init(&obj->lock);
    g_cond_init(&obj->jobCond);
    g_cond_init(&obj->statusCond);
    g_queue_init(&obj->events);
    obj->name = g_strdup(name);
    memcpy(obj->uuid, uuid, 16);
    obj->state = IOV_DOMAIN_SHUTOFF;
    obj->reason = IOV_DOMAIN_SHUTOFF_UNKNOWN;
    obj->id = -1;
    return obj;
}

qemuDomainObj *
qemuDomainObjRef(qemuDomainObj *obj)
{
    g_atomic_int_inc(&obj->refs);
    return obj;
}

void
qemuDomainObjUnref(qemuDomainObj *obj)
{
    if (!obj || !g_atomic_int_dec_and_test(&obj->refs))
        return;
    g_free(obj->name);
    domainDefFree(obj->def);
    domainDefFree(obj->live);
    g_free(obj->monPath);
    g_free(obj->pidPath);
    g_free(obj->logPath);
    g_queue_clear_full(&obj->events, (GDestroyNotify)qemuDomainEventFree);
    g_free(obj->expectEvent);
    g_free(obj->expectDevice);
    qemuDomainEventFree(obj->expected);
    qemuDomainStatusSnapFree(obj->statusPending);
    if (obj->lastBlockStats)
        g_ptr_array_unref(obj->lastBlockStats);
    g_free(obj->statusPendingPath);
    g_free(obj->lastJobStats);
    g_mutex_clear(&obj->lock);
    g_cond_clear(&obj->jobCond);
    g_cond_clear(&obj->statusCond);
    g_free(obj);
}

int
qemuDomainBeginJob(qemuDomainObj *obj, int timeoutMs)
{
    return qemuDomainBeginJobFlags(obj, timeoutMs, false);
}

int
qemuDomainBeginJobFlags(qemuDomainObj *obj, int timeoutMs, bool waitMigration)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeoutMs * 1000;

    g_mutex_lock(&obj->lock);
    while (obj->job) {
        if (obj->migration && !waitMigration) {
            g_mutex_unlock(&obj->lock);
            reportError(
                IOV_ERR_OPERATION_INVALID,
                "domain '%s': a migration is in progress; its limits, devices and state cannot change until it ends",
                obj->name);
            return -1;
        }
        if (!qemuDomainJobCondWaitUntil(obj, deadline) && obj->job) {
            g_mutex_unlock(&obj->lock);
            reportError(IOV_ERR_OPERATION_TIMEOUT, "cannot acquire the state change lock of domain '%s': another change has held it for %d ms",
                        obj->name, timeoutMs);
            return -1;
        }
    }
    if (obj->removed) {
        g_mutex_unlock(&obj->lock);
        reportError(IOV_ERR_NO_DOMAIN, "domain '%s' no longer exists", obj->name);
        return -1;
    }
    obj->job = true;
    g_mutex_unlock(&obj->lock);
    return 0;
}

gboolean
qemuDomainJobCondWaitUntil(qemuDomainObj *obj, gint64 deadline)
{
    gboolean woken;

    obj->jobWaiters++;
    woken = g_cond_wait_until(&obj->jobCond, &obj->lock, deadline);
    obj->jobWaiters--;
    return woken;
}

void
qemuDomainJobCondWake(qemuDomainObj *obj)
{
    /* GLib's broadcast always enters the kernel: not for nobody */
    if (obj->jobWaiters > 0)
        g_cond_broadcast(&obj->jobCond);
}

void
qemuDomainEndJob(qemuDomainObj *obj)
{
    g_autoptr(qemuDomainEvent) unclaimed = NULL;

    g_mutex_lock(&obj->lock);
    obj->job = false;
    g_clear_pointer(&obj->expectEvent, g_free);
    g_clear_pointer(&obj->expectDevice, g_free);
    unclaimed = g_steal_pointer(&obj->expected);
    qemuDomainJobCondWake(obj);
    g_mutex_unlock(&obj->lock);
}

void
qemuDomainJobExpectEvent(qemuDomainObj *obj, const char *name)
{
    qemuDomainJobExpectDeviceEvent(obj, name, NULL);
}

void
qemuDomainJobExpectDeviceEvent(qemuDomainObj *obj, const char *name, const char *devId)
{
    g_mutex_lock(&obj->lock);
    g_free(obj->expectEvent);
    obj->expectEvent = g_strdup(name);
    g_free(obj->expectDevice);
    obj->expectDevice = g_strdup(devId);
    g_clear_pointer(&obj->expected, qemuDomainEventFree);
    g_mutex_unlock(&obj->lock);
}

/* Whether `ev` is the event the job waits for (lock held). */
static bool
isExpected(qemuDomainObj *obj, const qemuDomainEvent *ev)
{
    json_object *dev = NULL;

    if (strcmp(ev->name, obj->expectEvent) != 0)
        return false;
    if (!obj->expectDevice)
        return true;
    return ev->data && json_object_object_get_ex(ev->data, "device", &dev) &&
           g_strcmp0(json_object_get_string(dev), obj->expectDevice) == 0;
}

qemuDomainEvent *
qemuDomainJobWaitEvent(qemuDomainObj *obj, int timeoutMs)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeoutMs * 1000;
    g_autofree char *name = NULL;
    qemuDomainEvent *ev;

    g_mutex_lock(&obj->lock);
    while (!obj->expected && obj->expectEvent) {
        if (!qemuDomainJobCondWaitUntil(obj, deadline))
            break;
    }
    ev = g_steal_pointer(&obj->expected);
    name = g_steal_pointer(&obj->expectEvent);
    g_clear_pointer(&obj->expectDevice, g_free);
    g_mutex_unlock(&obj->lock);
    if (!ev) {
        reportError(IOV_ERR_OPERATION_TIMEOUT, "domain '%s': QEMU did not send the %s event within %d ms",
                    obj->name, name ? name : "expected", timeoutMs);
        return NULL;
    }
    if (!ev->name) {
        reportError(IOV_ERR_OPERATION_FAILED, "domain '%s': QEMU's monitor closed before the %s event",
                    obj->name, name ? name : "expected");
        qemuDomainEventFree(ev);
        return NULL;
    }
    return ev;
}

/*
 * With the lock held, during a migration: a MIGRATION event updates the
 * migration's status for the job holder, which waits on jobCond; true
 * when the event was that (nothing more to do with it). The end of the
 * monitor is noted and wakes the job too, and still goes to the worker.
 */
static bool
migrationEvent(qemuDomainObj *obj, const qemuDomainEvent *ev)
{
    json_object *status;

    if (!ev->name) {
        obj->migration->monitorGone = true;
        qemuDomainJobCondWake(obj);
        return false;
    }
    if (strcmp(ev->name, "MIGRATION") != 0)
        return false;
    if (ev->data && json_object_object_get_ex(ev->data, "status", &status)) {
        g_free(obj->migration->status);
        obj->migration->status = g_strdup(json_object_get_string(status));
        qemuDomainJobCondWake(obj);
    }
    return true;
}

bool
qemuDomainQueueEvent(qemuDomainObj *obj, qemuDomainEvent *ev)
{
    bool schedule = false;

    g_mutex_lock(&obj->lock);
    if (obj->migration && ev->generation == obj->monGeneration && migrationEvent(obj, ev)) {
        g_mutex_unlock(&obj->lock);
        qemuDomainEventFree(ev);
        return false;
    }
    if (obj->expectEvent && !obj->expected && ev->generation == obj->monGeneration &&
        (!ev->name || isExpected(obj, ev))) {
        /* the end of the connection wakes the waiting job too, and still
         * goes to the worker, which cleans up */
        if (ev->name) {
            obj->expected = ev;
            qemuDomainJobCondWake(obj);
            g_mutex_unlock(&obj->lock);
            return false;
        }
        obj->expected = g_new0(qemuDomainEvent, 1);
        obj->expected->generation = ev->generation;
        qemuDomainJobCondWake(obj);
    }
    g_queue_push_tail(&obj->events, ev);
    if (!obj->eventWorker) {
        obj->eventWorker = true;
        schedule = true;
    }
    g_mutex_unlock(&obj->lock);
    return schedule;
}

qemuDomainEvent *
qemuDomainNextEvent(qemuDomainObj *obj)
{
    qemuDomainEvent *ev;

    g_mutex_lock(&obj->lock);
    ev = g_queue_pop_head(&obj->events);
    if (!ev)
        obj->eventWorker = false;
    g_mutex_unlock(&obj->lock);
    return ev;
}

qemuMonitor *
qemuDomainEnterMonitor(qemuDomainObj *obj)
{
    /* the job holder is the only writer of obj->mon */
    if (!obj->mon) {
        reportError(IOV_ERR_OPERATION_INVALID, "domain '%s' has no QEMU monitor connection", obj->name);
        return NULL;
    }
    return obj->mon;
}

void
qemuDomainExitMonitor(qemuDomainObj *obj G_GNUC_UNUSED)
{
}

qemuMonitor *
qemuDomainGetMonitorRef(qemuDomainObj *obj)
{
    qemuMonitor *mon;

    g_mutex_lock(&obj->lock);
    mon = obj->mon ? qemuMonitorRef(obj->mon) : NULL;
    g_mutex_unlock(&obj->lock);
    if (!mon)
        reportError(IOV_ERR_OPERATION_INVALID, "domain '%s' has no QEMU monitor connection", obj->name);
    return mon;
}

void
qemuDomainSetState(qemuDomainObj *obj, int state, int reason)
{
    g_mutex_lock(&obj->lock);
    obj->state = state;
    obj->reason = reason;
    g_mutex_unlock(&obj->lock);
}

void
qemuDomainLogNote(qemuDomainObj *obj, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    g_autofree char *ts = NULL;
    g_autofree char *line = NULL;
    va_list ap;
    int fd;
    ssize_t unused;

    if (!obj->logPath)
        return;
    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    ts = utilTimestamp();
    line = g_strdup_printf("%s: iovirt: %s\n", ts, msg);
    fd = open(obj->logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        logWarn("cannot open the log of domain '%s' at '%s': %s", obj->name, obj->logPath,
                g_strerror(errno));
        return;
    }
    unused = write(fd, line, strlen(line));
    (void)unused;
    close(fd);
}

/* ---- status files ---- */

/* What a status file holds, taken from a domain at one moment: a
 * background writer formats it later without touching the domain. */
struct _qemuDomainStatusSnap {
    domainDef *live; /* owned copy */
    int state;
    int reason;
    long long pid;
    int id;
    bool persistent;
    bool tainted;
    char *monPath; /* owned, never NULL */
    char *pidPath; /* owned, never NULL */
};

void
qemuDomainStatusSnapFree(qemuDomainStatusSnap *snap)
{
    if (!snap)
        return;
    domainDefFree(snap->live);
    g_free(snap->monPath);
    g_free(snap->pidPath);
    g_free(snap);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(qemuDomainStatusSnap, qemuDomainStatusSnapFree)

/* What the status file of `obj` is to hold now (the job is held); NULL
 * with an error when it does not run. A structural copy: microseconds,
 * where formatting the XML costs a few hundred. */
static qemuDomainStatusSnap *
takeStatusSnap(qemuDomainObj *obj)
{
    qemuDomainStatusSnap *snap;

    if (!obj->live) {
        reportError(IOV_ERR_INTERNAL_ERROR, "domain '%s' is not running: no status to save",
                    obj->name);
        return NULL;
    }
    snap = g_new0(qemuDomainStatusSnap, 1);
    snap->live = domainDefCopy(obj->live);
    snap->monPath = g_strdup(obj->monPath ? obj->monPath : "");
    snap->pidPath = g_strdup(obj->pidPath ? obj->pidPath : "");
    g_mutex_lock(&obj->lock);
    snap->state = obj->state;
    snap->reason = obj->reason;
    g_mutex_unlock(&obj->lock);
    snap->pid = (long long)obj->pid;
    snap->id = obj->id;
    snap->persistent = obj->def != NULL;
    snap->tainted = obj->tainted;
    return snap;
}

/* The status document of `snap`; NULL with an error. */
static char *
formatStatus(const qemuDomainStatusSnap *snap)
{
    g_autofree char *domainXML = NULL;
    g_autofree char *monPath = NULL;
    g_autofree char *pidPath = NULL;
    GString *s;

    domainXML = domainDefFormat(snap->live, 0);
    if (!domainXML)
        return NULL;
    monPath = g_markup_escape_text(snap->monPath, -1);
    pidPath = g_markup_escape_text(snap->pidPath, -1);
    s = g_string_new(NULL);
    g_string_append_printf(
        s,
        "<domstatus version=\"%d\" state=\"%d\" reason=\"%d\" pid=\"%lld\" id=\"%d\" persistent=\"%s\">\n",
        QEMU_STATUS_VERSION, snap->state, snap->reason, snap->pid, snap->id,
        snap->persistent ? "yes" : "no");
    g_string_append_printf(s, "<monitor path=\"%s\"/>\n<pidfile path=\"%s\"/>\n", monPath, pidPath);
    if (snap->tainted)
        g_string_append(s, "<taint reason=\"custom-monitor\"/>\n");
    g_string_append(s, domainXML);
    g_string_append(s, "</domstatus>\n");
    return g_string_free(s, FALSE);
}

/* Format and write `snap` to `path` (temp + rename, no fsync: the file
 * is a cache of what QEMU holds); logs what fails. */
static void
writeStatusSnap(qemuDomainObj *obj, const qemuDomainStatusSnap *snap, const char *path)
{
    g_autofree char *doc = formatStatus(snap);

    if (!doc || utilWriteFileReplace(path, doc, strlen(doc), 0600) < 0)
        logWarn("domain '%s': cannot save its status: %s", obj->name, utilLastErrorMessage());
}

/* ---- the status queue ---- */

typedef struct {
    qemuDomainObj *obj; /* reference */
    gint64 due;         /* monotonic time to write it */
} statusEntry;

struct _qemuStatusQueue {
    GMutex lock;   /* taken alone (never with a domain's lock): protects */
    GCond cond;    /* signalled on a new entry and on stop */
    GQueue queue;  /* statusEntry, in the order they were queued: all
                    * wait the same delay, so the head is due first */
    bool stop;
    GThread *thread;
};

/* With the lock: wait until no thread writes, and become the writer. */
static void
becomeStatusWriter(qemuDomainObj *obj)
{
    while (obj->statusWriter)
        g_cond_wait(&obj->statusCond, &obj->lock);
    obj->statusWriter = true;
}

/* With the lock. */
static void
releaseStatusWriter(qemuDomainObj *obj)
{
    obj->statusWriter = false;
    g_cond_broadcast(&obj->statusCond);
}

/* Take the pending document of `obj`, if any, and write it. The writer's
 * role is waited for first, so that a document qemuDomainSaveStatus
 * writes meanwhile (it drops the pending one) is never overwritten by
 * an older one. */
static void
writePending(qemuDomainObj *obj)
{
    g_autoptr(qemuDomainStatusSnap) snap = NULL;
    g_autofree char *path = NULL;

    g_mutex_lock(&obj->lock);
    becomeStatusWriter(obj);
    snap = g_steal_pointer(&obj->statusPending);
    path = g_steal_pointer(&obj->statusPendingPath);
    if (snap) {
        g_mutex_unlock(&obj->lock);
        writeStatusSnap(obj, snap, path);
        g_mutex_lock(&obj->lock);
    }
    releaseStatusWriter(obj);
    g_mutex_unlock(&obj->lock);
}

/* The queue's thread: each domain at its time; once told to stop, the
 * rest at once. */
static gpointer
statusQueueMain(gpointer opaque)
{
    qemuStatusQueue *q = opaque;

    g_mutex_lock(&q->lock);
    for (;;) {
        statusEntry *e = g_queue_peek_head(&q->queue);
        qemuDomainObj *obj;

        if (!e) {
            if (q->stop)
                break;
            g_cond_wait(&q->cond, &q->lock);
            continue;
        }
        if (!q->stop && g_get_monotonic_time() < e->due) {
            g_cond_wait_until(&q->cond, &q->lock, e->due);
            continue;
        }
        g_queue_pop_head(&q->queue);
        g_mutex_unlock(&q->lock);
        obj = e->obj;
        g_free(e);
        g_mutex_lock(&obj->lock);
        obj->statusQueued = false;
        g_mutex_unlock(&obj->lock);
        writePending(obj);
        qemuDomainObjUnref(obj);
        g_mutex_lock(&q->lock);
    }
    g_mutex_unlock(&q->lock);
    return NULL;
}

qemuStatusQueue *
qemuStatusQueueNew(void)
{
    qemuStatusQueue *q = g_new0(qemuStatusQueue, 1);
    g_autoptr(GError) err = NULL;

    g_mutex_init(&q->lock);
    g_cond_init(&q->cond);
    g_queue_init(&q->queue);
    q->thread = g_thread_try_new("iovirt-status", statusQueueMain, q, &err);
    if (!q->thread) {
        reportError(IOV_ERR_INTERNAL_ERROR, "cannot start the status file writer: %s",
                    err->message);
        g_mutex_clear(&q->lock);
        g_cond_clear(&q->cond);
        g_free(q);
        return NULL;
    }
    return q;
}

void
qemuStatusQueueFree(qemuStatusQueue *q)
{
    if (!q)
        return;
    g_mutex_lock(&q->lock);
    q->stop = true;
    g_cond_signal(&q->cond);
    g_mutex_unlock(&q->lock);
    g_thread_join(q->thread);
    g_mutex_clear(&q->lock);
    g_cond_clear(&q->cond);
    g_free(q);
}

/* Queue `obj` to be written at `due` (monotonic µs). */
static void
statusQueuePush(qemuStatusQueue *q, qemuDomainObj *obj, gint64 due)
{
    statusEntry *e = g_new0(statusEntry, 1);
    bool wake;

    e->obj = qemuDomainObjRef(obj);
    e->due = due;
    g_mutex_lock(&q->lock);
    g_queue_push_tail(&q->queue, e);
    wake = q->queue.length == 1;
    g_mutex_unlock(&q->lock);
    /* after the unlock: the woken writer does not block on it again */
    if (wake)
        g_cond_signal(&q->cond);
}

/* With the lock: drop the pending document (older than what the caller
 * writes) and become the writer. */
static void
claimStatusWriter(qemuDomainObj *obj)
{
    g_clear_pointer(&obj->statusPending, qemuDomainStatusSnapFree);
    g_clear_pointer(&obj->statusPendingPath, g_free);
    becomeStatusWriter(obj);
}

int
qemuDomainSaveStatus(qemuDomainObj *obj, const char *path)
{
    g_autoptr(qemuDomainStatusSnap) snap = takeStatusSnap(obj);
    g_autofree char *doc = NULL;
    int rc;

    if (!snap || !(doc = formatStatus(snap)))
        return -1;
    g_mutex_lock(&obj->lock);
    claimStatusWriter(obj);
    g_mutex_unlock(&obj->lock);
    rc = utilWriteFileReplace(path, doc, strlen(doc), 0600);
    g_mutex_lock(&obj->lock);
    releaseStatusWriter(obj);
    g_mutex_unlock(&obj->lock);
    return rc;
}

int
qemuDomainSaveStatusLater(qemuDomainObj *obj, const char *path)
{
    qemuDomainStatusSnap *snap = takeStatusSnap(obj);
    gint64 due;
    bool queue;

    if (!snap)
        return -1;
    g_mutex_lock(&obj->lock);
    if (!obj->statusPending)
        obj->statusPendingSince = g_get_monotonic_time();
    qemuDomainStatusSnapFree(obj->statusPending);
    g_free(obj->statusPendingPath);
    obj->statusPending = snap;
    obj->statusPendingPath = g_strdup(path);
    due = obj->statusPendingSince + QEMU_STATUS_WRITE_DELAY_MS * G_TIME_SPAN_MILLISECOND;
    queue = !obj->statusQueued;
    obj->statusQueued = true;
    g_mutex_unlock(&obj->lock);
    if (queue)
        statusQueuePush(obj->statusQueue, obj, due);
    return 0;
}

void
qemuDomainRemoveStatus(qemuDomainObj *obj, const char *path)
{
    g_mutex_lock(&obj->lock);
    claimStatusWriter(obj);
    g_mutex_unlock(&obj->lock);
    unlink(path);
    g_mutex_lock(&obj->lock);
    releaseStatusWriter(obj);
    g_mutex_unlock(&obj->lock);
}

void
qemuDomainFlushStatus(qemuDomainObj *obj)
{
    /* written here and now; its entry in the queue finds nothing left */
    writePending(obj);
}

void
qemuDomainStatusClear(qemuDomainStatus *st)
{
    g_free(st->monPath);
    g_free(st->pidPath);
    domainDefFree(st->live);
    memset(st, 0, sizeof(*st));
}

/* An integer attribute of `node`, or -1 with an error naming the file. */
static int
statusIntAttr(xmlNode *node, const char *name, const char *path, long long *out)
{
    xmlChar *v = xmlGetProp(node, (const xmlChar *)name);
    g_autofree char *s = g_strdup((const char *)v);
    unsigned long long u;
    bool neg;

    xmlFree(v);
    if (!s) {
        reportError(IOV_ERR_INTERNAL_ERROR, "status file '%s' lacks '%s'", path, name);
        return -1;
    }
    neg = s[0] == '-';
    if (utilParseULL(s + (neg ? 1 : 0), &u) < 0 || u > G_MAXINT32) {
        reportError(IOV_ERR_INTERNAL_ERROR, "status file '%s': %s '%s' is not a number", path, name, s);
        return -1;
    }
    *out = neg ? -(long long)u : (long long)u;
    return 0;
}

static char *
statusPathAttr(xmlNode *root, const char *elem)
{
    xmlNode *c;

    for (c = root->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, elem) == 0) {
            xmlChar *v = xmlGetProp(c, (const xmlChar *)"path");
            char *ret = v && *v ? g_strdup((const char *)v) : NULL;

            xmlFree(v);
            return ret;
        }
    }
    return NULL;
}

int
qemuDomainLoadStatus(const char *path, qemuDomainStatus *st)
{
    g_autofree char *data = NULL;
    xmlDocPtr doc = NULL;
    xmlNode *root, *c;
    long long v;
    int ret = -1;

    memset(st, 0, sizeof(*st));
    if (utilReadFile(path, 8 * 1024 * 1024, &data) < 0)
        return -1;
    doc = xmlReadMemory(data, (int)strlen(data), path, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc || !(root = xmlDocGetRootElement(doc)) ||
        strcmp((const char *)root->name, "domstatus") != 0) {
        reportError(IOV_ERR_INTERNAL_ERROR, "status file '%s' is not a <domstatus> document", path);
        goto cleanup;
    }
    if (statusIntAttr(root, "version", path, &v) < 0)
        goto cleanup;
    if (v != QEMU_STATUS_VERSION) {
        reportError(IOV_ERR_INTERNAL_ERROR, "status file '%s' has format version %lld; this iovirt reads version %d",
                    path, v, QEMU_STATUS_VERSION);
        goto cleanup;
    }
    st->version = (int)v;
    if (statusIntAttr(root, "state", path, &v) < 0)
        goto cleanup;
    st->state = (int)v;
    if (statusIntAttr(root, "reason", path, &v) < 0)
        goto cleanup;
    st->reason = (int)v;
    if (statusIntAttr(root, "pid", path, &v) < 0)
        goto cleanup;
    st->pid = (pid_t)v;
    if (statusIntAttr(root, "id", path, &v) < 0)
        goto cleanup;
    st->id = (int)v;
    {
        xmlChar *p = xmlGetProp(root, (const xmlChar *)"persistent");

        st->persistent = p && strcmp((const char *)p, "yes") == 0;
        xmlFree(p);
    }
    st->monPath = statusPathAttr(root, "monitor");
    st->pidPath = statusPathAttr(root, "pidfile");
    for (c = root->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, "taint") == 0)
            st->tainted = true;
    }
    for (c = root->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, "domain") == 0)
            break;
    }
    if (!c || !st->monPath || !st->pidPath) {
        reportError(IOV_ERR_INTERNAL_ERROR, "status file '%s' lacks the domain, monitor or pidfile", path);
        goto cleanup;
    }
    {
        xmlBufferPtr buf = xmlBufferCreate();

        xmlNodeDump(buf, doc, c, 0, 0);
        st->live = domainDefParseString((const char *)xmlBufferContent(buf),
                                        DOMAIN_PARSE_LIVE_STATE, NULL);
        xmlBufferFree(buf);
    }
    if (!st->live)
        goto cleanup;
    ret = 0;

 cleanup:
    if (ret < 0)
        qemuDomainStatusClear(st);
    xmlFreeDoc(doc);
    return ret;
}

pid_t
qemuPidfileHolder(const char *pidPath)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    int fd = open(pidPath, O_RDONLY | O_CLOEXEC);
    pid_t holder = 0;

    if (fd < 0)
        return 0;
    if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
        holder = fl.l_pid;
    close(fd);
    return holder;
}
