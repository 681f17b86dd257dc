/*
 * qemu_driver.c: the domains of a daemon and the operations on them
 *
 * Every change of a domain runs in its job (qemu_domain.h): begin the
 * job, do the slow work (QMP, files, processes) holding neither lock,
 * publish the result under the domain's lock for a moment, end the job.
 * Queries take the domain's lock only to copy what they answer; the few
 * that need QEMU (statistics) take a reference on the monitor instead of
 * the job. The driver's lock and a domain's lock are never held together.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <glib-unix.h>

#include "qemu_command.h"
#include "qemu_driver.h"
#include "qemu_driver_internal.h"
#include "qemu_migration.h"
#include "qemu_hotplug.h"
#include "qemu_process.h"
#include "util/error.h"
#include "util/file.h"
#include "util/log.h"
#include "util/workpool.h"

#define IOV_FROM_THIS IOV_FROM_QEMU

#if defined(__x86_64__)
#define HOST_ARCH "x86_64"
#elif defined(__aarch64__)
#define HOST_ARCH "aarch64"
#else
#define HOST_ARCH "unknown"
#endif

#define DEFAULT_JOB_TIMEOUT_MS 30000
#define EOF_JOB_TIMEOUT_MS (10 * 60 * 1000)

/*
 * The fields above `lock` are set by qemuDriverNew and never change. `lock`
 * guards the tables and nextId: it is held to look up, add or remove a
 * domain and nothing else (no file I/O, no QMP, no domain lock inside).
 */
struct _qemuDriver {
    char *configDir;
    char *stateDir;
    char *logDir;
    char *secretDir;
    char *binary;
    int jobTimeoutMs;
    qemuMonitorCallbacks callbacks;
    qemuProcessConfig pcfg;
    GThreadPool *eventPool;  /* handles each domain's QEMU events in order */
    qemuStatusQueue *statusQueue; /* writes status files in the background */

    GMutex lock;
    GHashTable *byName; /* name -> qemuDomainObj (a reference) */
    GHashTable *byUUID; /* uuid string -> qemuDomainObj (a reference) */
    int nextId;

    gint qemuVersion; /* atomic: the binary's version, 0 until read */

    void *eventOpaque;             /* set before eventFunc, then fixed */
    qemuDriverEventFunc eventFunc; /* atomic: the daemon's handler, or NULL */
    gint begun;                    /* atomic: live sets begun, not yet ended */
};

void
qemuDomainIdentClear(qemuDomainIdent *ident)
{
    if (!ident)
        return;
    g_free(ident->name);
    memset(ident, 0, sizeof(*ident));
}

static void
identFromObj(const qemuDomainObj *obj, qemuDomainIdent *out)
{
    if (!out)
        return;
    out->name = g_strdup(obj->name);
    memcpy(out->uuid, obj->uuid, 16);
    out->id = obj->live ? obj->id : -1;
}

static char *
uuidString(const unsigned char *uuid)
{
    char *s = g_malloc(37);

    domainUUIDFormat(uuid, s);
    return s;
}

static char *
configPath(qemuDriver *drv, const char *name)
{
    g_autofree char *file = g_strdup_printf("%s.xml", name);

    return g_build_filename(drv->configDir, file, NULL);
}

static void saveStatus(qemuDriver *drv, qemuDomainObj *obj);
static void handleDeviceDeleted(qemuDriver *drv, qemuDomainObj *obj, const qemuDomainEvent *ev);
static void finishPendingUnplugs(qemuDriver *drv, qemuDomainObj *obj);
static char *autostartPath(qemuDriver *drv, const char *name);
static void removeAutostartLink(qemuDriver *drv, qemuDomainObj *obj);

/* ---- the tables ---- */

/* Add `obj` to the tables (driver lock held). */
static void
tablesAdd(qemuDriver *drv, qemuDomainObj *obj)
{
    g_hash_table_insert(drv->byName, g_strdup(obj->name), qemuDomainObjRef(obj));
    g_hash_table_insert(drv->byUUID, uuidString(obj->uuid), qemuDomainObjRef(obj));
}

/* Drop `obj` from the tables; with its job held. */
static void
removeObj(qemuDriver *drv, qemuDomainObj *obj)
{
    g_autofree char *uuid = uuidString(obj->uuid);

    if (obj->removed)
        return;
    g_mutex_lock(&obj->lock);
    obj->removed = true;
    g_mutex_unlock(&obj->lock);
    g_mutex_lock(&drv->lock);
    if (g_hash_table_lookup(drv->byName, obj->name) == obj)
        g_hash_table_remove(drv->byName, obj->name);
    if (g_hash_table_lookup(drv->byUUID, uuid) == obj)
        g_hash_table_remove(drv->byUUID, uuid);
    g_mutex_unlock(&drv->lock);
}

/* The domain with `uuid`, referenced; NULL with an error. */
static qemuDomainObj *
objLookup(qemuDriver *drv, const unsigned char *uuid)
{
    g_autofree char *key = uuidString(uuid);
    qemuDomainObj *obj;

    g_mutex_lock(&drv->lock);
    obj = g_hash_table_lookup(drv->byUUID, key);
    if (obj)
        qemuDomainObjRef(obj);
    g_mutex_unlock(&drv->lock);
    if (!obj)
        reportError(IOV_ERR_NO_DOMAIN, "no domain with matching uuid '%s'", key);
    return obj;
}

/* For a query: the domain with `uuid`, referenced and locked; NULL with
 * an error. Release with objEnd. */
static qemuDomainObj *
objFromUUID(qemuDriver *drv, const unsigned char *uuid)
{
    qemuDomainObj *obj = objLookup(drv, uuid);

    if (!obj)
        return NULL;
    g_mutex_lock(&obj->lock);
    if (obj->removed) {
        g_autofree char *key = uuidString(uuid);

        g_mutex_unlock(&obj->lock);
        qemuDomainObjUnref(obj);
        reportError(IOV_ERR_NO_DOMAIN, "no domain with matching uuid '%s'", key);
        return NULL;
    }
    return obj;
}

static void
objEnd(qemuDomainObj *obj)
{
    g_mutex_unlock(&obj->lock);
    qemuDomainObjUnref(obj);
}

/* For a change: the domain with `uuid`, referenced, its job held (and
 * its lock not); NULL with an error. Release with objEndJob. */
static qemuDomainObj *
objBeginJob(qemuDriver *drv, const unsigned char *uuid)
{
    qemuDomainObj *obj = objLookup(drv, uuid);

    if (!obj)
        return NULL;
    if (qemuDomainBeginJob(obj, drv->jobTimeoutMs) < 0) {
        qemuDomainObjUnref(obj);
        return NULL;
    }
    return obj;
}

static void
objEndJob(qemuDomainObj *obj)
{
    qemuDomainEndJob(obj);
    qemuDomainObjUnref(obj);
}

/* ---- domain events: what the clients are told ---- */

void
qemuDriverSetEventHandler(qemuDriver *drv, qemuDriverEventFunc func, void *opaque)
{
    /* removing the handler leaves the opaque: a worker may still be
     * reading the pair */
    if (func)
        drv->eventOpaque = opaque;
    g_atomic_pointer_set(&drv->eventFunc, func);
}

/*
 * Hand `ev` (its domain filled from `obj` here) to the daemon, with the
 * domain's lock held: the events of a domain then reach the clients in
 * the order its state changed, whether the job or the event worker made
 * the change (each emits under the same lock hold as its change). The
 * handler only encodes and queues (lock order: domain → the daemon's
 * events lock → a client's).
 */
static void
emitEventLocked(qemuDomainObj *obj, qemuDriverEvent *ev)
{
    qemuDriver *drv = obj->driver;
    qemuDriverEventFunc func = g_atomic_pointer_get(&drv->eventFunc);

    if (!func)
        return;
    identFromObj(obj, &ev->dom);
    func(ev, drv->eventOpaque);
    qemuDomainIdentClear(&ev->dom);
}

/* emitEventLocked, taking the domain's lock. */
static void
emitEvent(qemuDomainObj *obj, qemuDriverEvent *ev)
{
    g_mutex_lock(&obj->lock);
    emitEventLocked(obj, ev);
    g_mutex_unlock(&obj->lock);
}

static void
emitLifecycle(qemuDomainObj *obj, int event, int detail)
{
    qemuDriverEvent ev = {.id = IOV_DOMAIN_EVENT_ID_LIFECYCLE, .event = event, .detail = detail};

    emitEvent(obj, &ev);
}

/* With the job held: a tunable event for each disk of `targets` (the
 * disks whose live limits the job just published). */
static void
emitTunable(qemuDomainObj *obj, GPtrArray *targets)
{
    guint i;

    for (i = 0; i < targets->len; i++) {
        const domainDiskDef *d = domainDiskFind(obj->live, targets->pdata[i]);
        qemuDriverEvent ev = {.id = IOV_DOMAIN_EVENT_ID_TUNABLE};

        if (!d)
            continue;
        ev.disk = d->target;
        ev.limits = &d->throttle;
        emitEvent(obj, &ev);
    }
}

/* ---- monitor events ---- */

/*
 * The monitor I/O thread serves every guest and must never block: its
 * callbacks only queue the event on the domain (or hand it to a job that
 * waits for it) and, when no worker handles that domain's queue yet,
 * schedule one.
 */
static void
queueEvent(qemuProcessMonitorCtx *ctx, qemuDomainEvent *ev)
{
    qemuDomainObj *obj = ctx->obj;

    ev->generation = ctx->generation;
    if (qemuDomainQueueEvent(obj, ev))
        g_thread_pool_push(obj->driver->eventPool, qemuDomainObjRef(obj), NULL);
}

static void
onMonitorEvent(qemuMonitor *mon G_GNUC_UNUSED, const char *name, json_object *data, void *opaque)
{
    qemuDomainEvent *ev = g_new0(qemuDomainEvent, 1);

    ev->name = g_strdup(name);
    /* a copy of its own: `data` is the I/O thread's only during the call,
     * and json-c's reference count is not atomic, so the object cannot be
     * shared with the worker that handles the event */
    if (data && json_object_deep_copy(data, &ev->data, NULL) < 0)
        ev->data = NULL;
    queueEvent(opaque, ev);
}

static void
onMonitorEOF(qemuMonitor *mon G_GNUC_UNUSED, bool error, void *opaque)
{
    qemuDomainEvent *ev = g_new0(qemuDomainEvent, 1);

    ev->error = error;
    queueEvent(opaque, ev);
}

/* The string member `key` of an event's data, or `dflt`. */
static const char *
eventString(const qemuDomainEvent *ev, const char *key, const char *dflt)
{
    json_object *v;

    if (!ev->data || !json_object_object_get_ex(ev->data, key, &v))
        return dflt;
    return json_object_get_string(v);
}

/* An event of QEMU's: the state it implies, under the lock; the log
 * and the clients' event after. */
static void
handleEvent(qemuDomainObj *obj, const qemuDomainEvent *ev)
{
    g_autofree char *note = NULL;
    qemuDriverEvent out = {.id = -1};

    g_mutex_lock(&obj->lock);
    if (ev->generation != obj->monGeneration || !obj->live) {
        g_mutex_unlock(&obj->lock);
        return;
    }
    if (strcmp(ev->name, "SHUTDOWN") == 0) {
        json_object *guest = NULL;

        obj->sawShutdown = true;
        note = g_strdup_printf("QEMU is shutting down (%s)", eventString(ev, "reason", "?"));
        out.id = IOV_DOMAIN_EVENT_ID_LIFECYCLE;
        out.event = IOV_DOMAIN_EVENT_SHUTDOWN;
        if (ev->data && json_object_object_get_ex(ev->data, "guest", &guest))
            out.detail = json_object_get_boolean(guest) ? IOV_DOMAIN_EVENT_SHUTDOWN_GUEST
                                                        : IOV_DOMAIN_EVENT_SHUTDOWN_HOST;
        else
            out.detail = IOV_DOMAIN_EVENT_SHUTDOWN_FINISHED;
    } else if (strcmp(ev->name, "STOP") == 0) {
        /* a pause the job asked for is announced by the job */
        if (obj->state == IOV_DOMAIN_RUNNING) {
            obj->state = IOV_DOMAIN_PAUSED;
            obj->reason = IOV_DOMAIN_PAUSED_UNKNOWN;
            out.id = IOV_DOMAIN_EVENT_ID_LIFECYCLE;
            out.event = IOV_DOMAIN_EVENT_SUSPENDED;
            out.detail = IOV_DOMAIN_EVENT_SUSPENDED_PAUSED;
        }
    } else if (strcmp(ev->name, "RESUME") == 0) {
        if (obj->state == IOV_DOMAIN_PAUSED && obj->reason != IOV_DOMAIN_PAUSED_STARTING_UP) {
            obj->state = IOV_DOMAIN_RUNNING;
            obj->reason = IOV_DOMAIN_RUNNING_UNPAUSED;
            out.id = IOV_DOMAIN_EVENT_ID_LIFECYCLE;
            out.event = IOV_DOMAIN_EVENT_RESUMED;
            out.detail = IOV_DOMAIN_EVENT_RESUMED_UNPAUSED;
        }
    } else if (strcmp(ev->name, "RESET") == 0) {
        note = g_strdup("guest reset: QEMU and the disks' limits stay");
        out.id = IOV_DOMAIN_EVENT_ID_REBOOT;
    } else if (strcmp(ev->name, "GUEST_PANICKED") == 0) {
        note = g_strdup_printf("the guest reported a panic: %s",
                               ev->data ? json_object_to_json_string(ev->data) : "{}");
        out.id = IOV_DOMAIN_EVENT_ID_LIFECYCLE;
        out.event = IOV_DOMAIN_EVENT_CRASHED;
        out.detail = IOV_DOMAIN_EVENT_CRASHED_PANICKED;
    } else if (strcmp(ev->name, "BLOCK_IO_ERROR") == 0) {
        note = g_strdup_printf("I/O error on %s", json_object_to_json_string(ev->data));
        if (strcmp(eventString(ev, "action", ""), "stop") == 0) {
            if (obj->state == IOV_DOMAIN_RUNNING) {
                out.id = IOV_DOMAIN_EVENT_ID_LIFECYCLE;
                out.event = IOV_DOMAIN_EVENT_SUSPENDED;
                out.detail = IOV_DOMAIN_EVENT_SUSPENDED_IOERROR;
            }
            obj->state = IOV_DOMAIN_PAUSED;
            obj->reason = IOV_DOMAIN_PAUSED_IOERROR;
        }
    }
    if (out.id >= 0)
        emitEventLocked(obj, &out);
    g_mutex_unlock(&obj->lock);
    if (note)
        qemuDomainLogNote(obj, "%s", note);
}

/* The monitor of a domain ended: QEMU exited (or crashed). Cleaning up is
 * a change of the domain: it waits for the job. */
static void
handleEOF(qemuDriver *drv, qemuDomainObj *obj, const qemuDomainEvent *ev)
{
    int reason;

    if (ev->error)
        logWarn("domain '%s': QEMU sent an unreadable monitor message; disconnecting", obj->name);
    if (qemuDomainBeginJobFlags(obj, EOF_JOB_TIMEOUT_MS, true) < 0) {
        if (utilGetError() && utilGetError()->code != IOV_ERR_NO_DOMAIN)
            logError("%s", utilLastErrorMessage());
        utilResetError();
        return;
    }
    if (obj->live && obj->monGeneration == ev->generation) {
        g_mutex_lock(&obj->lock);
        reason = obj->sawShutdown ? IOV_DOMAIN_SHUTOFF_SHUTDOWN : IOV_DOMAIN_SHUTOFF_CRASHED;
        g_mutex_unlock(&obj->lock);
        logInfo("domain '%s': QEMU ended (%s)", obj->name,
                reason == IOV_DOMAIN_SHUTOFF_SHUTDOWN ? "shut down" : "crashed");
        qemuProcessStop(&drv->pcfg, obj, reason);
        emitLifecycle(obj, IOV_DOMAIN_EVENT_STOPPED,
                      reason == IOV_DOMAIN_SHUTOFF_SHUTDOWN ? IOV_DOMAIN_EVENT_STOPPED_SHUTDOWN
                                                            : IOV_DOMAIN_EVENT_STOPPED_FAILED);
        if (!obj->def)
            removeObj(drv, obj);
    }
    qemuDomainEndJob(obj);
}

/* A worker of the pool: the queued events of one domain, in order. */
static void
handleEvents(gpointer data, gpointer user)
{
    qemuDomainObj *obj = data;
    qemuDomainEvent *ev;

    while ((ev = qemuDomainNextEvent(obj))) {
        if (ev->name && strcmp(ev->name, "DEVICE_DELETED") == 0)
            handleDeviceDeleted(user, obj, ev);
        else if (ev->name)
            handleEvent(obj, ev);
        else
            handleEOF(user, obj, ev);
        qemuDomainEventFree(ev);
    }
    qemuDomainObjUnref(obj);
}

/* ---- creating the driver ---- */

static qemuDomainObj *
newObj(qemuDriver *drv, const char *name, const unsigned char *uuid)
{
    qemuDomainObj *obj = qemuDomainObjNew(name, uuid);
    g_autofree char *file = g_strdup_printf("%s.log", name);

    obj->logPath = g_build_filename(drv->logDir, file, NULL);
    obj->driver = drv;
    obj->statusQueue = drv->statusQueue;
    return obj;
}

static void
loadDefinitions(qemuDriver *drv)
{
    g_autoptr(GDir) dir = g_dir_open(drv->configDir, 0, NULL);
    const char *entry;

    if (!dir)
        return;
    while ((entry = g_dir_read_name(dir))) {
        g_autofree char *path = NULL;
        g_autofree char *xml = NULL;
        g_autofree char *expected = NULL;
        g_autoptr(domainDef) def = NULL;
        qemuDomainObj *obj;

        if (!g_str_has_suffix(entry, ".xml"))
            continue;
        path = g_build_filename(drv->configDir, entry, NULL);
        if (utilReadFile(path, 8 * 1024 * 1024, &xml) < 0 ||
            !(def = domainDefParseString(xml, 0, NULL))) {
            logError("ignoring the definition '%s': %s", path, utilLastErrorMessage());
            continue;
        }
        expected = g_strdup_printf("%s.xml", def->name);
        if (strcmp(expected, entry) != 0) {
            logError("ignoring the definition '%s': it defines domain '%s'", path, def->name);
            continue;
        }
        obj = newObj(drv, def->name, def->uuid);
        obj->def = g_steal_pointer(&def);
        {
            g_autofree char *link = autostartPath(drv, obj->name);

            obj->autostart = g_file_test(link, G_FILE_TEST_EXISTS);
        }
        tablesAdd(drv, obj);
        qemuDomainObjUnref(obj);
    }
}

/* One guest found running at start: its status file, then its status
 * and domain (referenced). */
typedef struct {
    qemuDriver *drv;
    char *path;
    qemuDomainObj *obj;
    qemuDomainStatus st;
} reconnectItem;

/* Read the status file of `it` and find or make its domain. Returns -1
 * (logged) when the file cannot be used. */
static int
reconnectLoad(reconnectItem *it)
{
    qemuDriver *drv = it->drv;
    g_autofree char *key = NULL;

    if (qemuDomainLoadStatus(it->path, &it->st) < 0) {
        logError("ignoring the status file '%s': %s", it->path, utilLastErrorMessage());
        return -1;
    }
    key = uuidString(it->st.live->uuid);
    g_mutex_lock(&drv->lock);
    it->obj = g_hash_table_lookup(drv->byUUID, key);
    if (it->obj) {
        qemuDomainObjRef(it->obj);
    } else {
        /* a transient domain, or one undefined while it ran */
        it->obj = newObj(drv, it->st.live->name, it->st.live->uuid);
        tablesAdd(drv, it->obj);
    }
    if (it->st.id >= drv->nextId)
        drv->nextId = it->st.id + 1;
    g_mutex_unlock(&drv->lock);
    return 0;
}

/* A reconnect, in a thread of the pool: the status file is read there
 * too, so that reading a hundred of them overlaps with the waits for
 * their QEMUs. */
static void
reconnectOne(gpointer data, gpointer user)
{
    reconnectItem *it = data;

    (void)user;
    if (reconnectLoad(it) == 0 && qemuDomainBeginJob(it->obj, it->drv->jobTimeoutMs) == 0) {
        int rc = qemuProcessReconnect(&it->drv->pcfg, it->obj, &it->st);

        if (rc == 1 && qemuMigrationAbandoned(it->obj)) {
            /* a guest arriving by migration when the daemon stopped: its
             * migration cannot finish here, and the source keeps it */
            logWarn("domain '%s': its incoming migration was cut short by the daemon's restart: its QEMU here is stopped",
                    it->obj->name);
            qemuProcessStop(&it->drv->pcfg, it->obj, IOV_DOMAIN_SHUTOFF_FAILED);
            rc = 0;
        }
        if (rc == 0 && !it->obj->def)
            removeObj(it->drv, it->obj);
        else if (rc == 1)
            finishPendingUnplugs(it->drv, it->obj);
        qemuDomainEndJob(it->obj);
    }
    qemuDomainObjUnref(it->obj);
    qemuDomainStatusClear(&it->st);
    g_free(it->path);
    g_free(it);
}

/* At most this many guests are reconnected at once: each reconnect is
 * mostly waiting for its QEMU, and they share nothing but the tables. */
#define RECONNECT_THREADS 8

/*
 * Every guest a status file names: back in the tables, then reconnected
 * (each in its job), several at once, before the daemon answers anyone.
 */
static void
reconnectAll(qemuDriver *drv)
{
    g_autoptr(GDir) dir = g_dir_open(drv->stateDir, 0, NULL);
    g_autoptr(GError) gerr = NULL;
    GThreadPool *pool;
    const char *entry;

    if (!dir)
        return;
    pool = g_thread_pool_new(reconnectOne, NULL, RECONNECT_THREADS, FALSE, &gerr);
    while ((entry = g_dir_read_name(dir))) {
        reconnectItem *it;

        if (!g_str_has_suffix(entry, ".xml"))
            continue;
        it = g_new0(reconnectItem, 1);
        it->drv = drv;
        it->path = g_build_filename(drv->stateDir, entry, NULL);
        if (!pool || !g_thread_pool_push(pool, it, NULL))
            reconnectOne(it, NULL);
    }
    /* wait for every reconnect */
    if (pool)
        g_thread_pool_free(pool, FALSE, TRUE);
}

qemuDriver *
qemuDriverNew(const qemuDriverConfig *cfg)
{
    qemuDriver *drv = g_new0(qemuDriver, 1);
    g_autoptr(GError) gerr = NULL;

    drv->configDir = g_strdup(cfg->configDir);
    drv->stateDir = g_strdup(cfg->stateDir);
    drv->logDir = g_strdup(cfg->logDir);
    drv->secretDir = cfg->secretDir ? g_strdup(cfg->secretDir) : NULL;
    drv->binary = g_strdup(cfg->qemuBinary ? cfg->qemuBinary : "qemu-system-x86_64");
    drv->jobTimeoutMs = cfg->jobTimeoutMs > 0 ? cfg->jobTimeoutMs : DEFAULT_JOB_TIMEOUT_MS;
    drv->callbacks.event = onMonitorEvent;
    drv->callbacks.eof = onMonitorEOF;
    drv->pcfg.stateDir = drv->stateDir;
    drv->pcfg.logDir = drv->logDir;
    drv->pcfg.binary = drv->binary;
    drv->pcfg.secretDir = drv->secretDir;
    drv->pcfg.privileged = cfg->privileged;
    drv->pcfg.monitorTimeoutMs =
        cfg->monitorTimeoutMs > 0 ? cfg->monitorTimeoutMs : QEMU_MONITOR_DEFAULT_TIMEOUT_MS;
    drv->pcfg.callbacks = &drv->callbacks;
    g_mutex_init(&drv->lock);
    drv->byName =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)qemuDomainObjUnref);
    drv->byUUID =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)qemuDomainObjUnref);
    drv->nextId = 1;
    /* one worker per domain with events at a time; a worker may wait for
     * its domain's job, so leave room for the others */
    drv->eventPool = g_thread_pool_new(handleEvents, drv, 8, FALSE, &gerr);
    if (!drv->eventPool) {
        reportError(IOV_ERR_INTERNAL_ERROR, "cannot create threads: %s", gerr->message);
        qemuDriverFree(drv);
        return NULL;
    }
    if (!(drv->statusQueue = qemuStatusQueueNew())) {
        qemuDriverFree(drv);
        return NULL;
    }
    if (utilMakeDir(drv->configDir, 0700) < 0 || utilMakeDir(drv->stateDir, 0700) < 0 ||
        utilMakeDir(drv->logDir, 0700) < 0) {
        qemuDriverFree(drv);
        return NULL;
    }
    loadDefinitions(drv);
    reconnectAll(drv);
    return drv;
}

void
qemuDriverFree(qemuDriver *drv)
{
    g_autoptr(GPtrArray) objs = g_ptr_array_new_with_free_func((GDestroyNotify)qemuDomainObjUnref);
    GHashTableIter it;
    gpointer value;
    guint i;

    if (!drv)
        return;
    if (drv->byName) {
        g_mutex_lock(&drv->lock);
        g_hash_table_iter_init(&it, drv->byName);
        while (g_hash_table_iter_next(&it, NULL, &value))
            g_ptr_array_add(objs, qemuDomainObjRef(value));
        g_mutex_unlock(&drv->lock);
    }
    /* disconnect every monitor; the guests keep running */
    for (i = 0; i < objs->len; i++) {
        qemuDomainObj *obj = objs->pdata[i];

        if (qemuDomainBeginJob(obj, drv->jobTimeoutMs) == 0) {
            g_mutex_lock(&obj->lock);
            obj->monGeneration++;
            g_mutex_unlock(&obj->lock);
            qemuProcessCloseMonitor(obj);
            qemuDomainFlushStatus(obj);
            qemuDomainEndJob(obj);
        }
        utilResetError();
    }
    if (drv->eventPool)
        g_thread_pool_free(drv->eventPool, FALSE, TRUE);
    qemuStatusQueueFree(drv->statusQueue);
    if (drv->byName)
        g_hash_table_destroy(drv->byName);
    if (drv->byUUID)
        g_hash_table_destroy(drv->byUUID);
    g_mutex_clear(&drv->lock);
    g_free(drv->configDir);
    g_free(drv->stateDir);
    g_free(drv->logDir);
    g_free(drv->secretDir);
    g_free(drv->binary);
    g_free(drv);
}

int
qemuDriverGetVersion(qemuDriver *drv, unsigned long long *version)
{
    g_autofree char *out = NULL;
    g_autoptr(GError) gerr = NULL;
    const char *argv[] = {drv->binary, "--version", NULL};
    unsigned int major = 0, minor = 0, micro = 0;
    int v = g_atomic_int_get(&drv->qemuVersion);
    const char *p;

    /* read once; two first callers may both run it, which is harmless */
    if (v == 0) {
        if (!utilThreadMayWait())
            return utilThreadDefer();
        if (!g_spawn_sync(NULL, (char **)argv, NULL,
                          G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL,
                          NULL, &gerr)) {
            reportError(IOV_ERR_OPERATION_FAILED, "cannot run '%s --version': %s", drv->binary,
                        gerr->message);
            return -1;
        }
        if (!(p = strstr(out, "version ")) ||
            sscanf(p, "version %u.%u.%u", &major, &minor, &micro) < 2) {
            reportError(IOV_ERR_OPERATION_FAILED,
                        "cannot read the version of '%s' in its output '%s'", drv->binary,
                        g_strstrip(out));
            return -1;
        }
        v = (int)(major * 1000000U + minor * 1000U + micro);
        g_atomic_int_set(&drv->qemuVersion, v);
    }
    *version = (unsigned long long)v;
    return 0;
}

unsigned int
qemuDriverActiveCount(qemuDriver *drv)
{
    g_autofree qemuDomainIdent *list = NULL;
    size_t n = 0, i;

    if (qemuDriverListAll(drv, IOV_CONNECT_LIST_DOMAINS_ACTIVE, &list, &n) < 0)
        return 0;
    for (i = 0; i < n; i++)
        qemuDomainIdentClear(&list[i]);
    return (unsigned int)n;
}

/* ---- lookups ---- */

int
qemuDriverLookupByName(qemuDriver *drv, const char *name, qemuDomainIdent *out)
{
    qemuDomainObj *obj;

    g_mutex_lock(&drv->lock);
    obj = name ? g_hash_table_lookup(drv->byName, name) : NULL;
    if (obj)
        qemuDomainObjRef(obj);
    g_mutex_unlock(&drv->lock);
    if (!obj) {
        reportError(IOV_ERR_NO_DOMAIN, "no domain with matching name '%s'", name ? name : "");
        return -1;
    }
    g_mutex_lock(&obj->lock);
    identFromObj(obj, out);
    objEnd(obj);
    return 0;
}

int
qemuDriverLookupByUUID(qemuDriver *drv, const unsigned char *uuid, qemuDomainIdent *out)
{
    qemuDomainObj *obj = objFromUUID(drv, uuid);

    if (!obj)
        return -1;
    identFromObj(obj, out);
    objEnd(obj);
    return 0;
}

static gint
compareIdents(gconstpointer a, gconstpointer b)
{
    return strcmp(((const qemuDomainIdent *)a)->name, ((const qemuDomainIdent *)b)->name);
}

static bool
matchesFilter(const qemuDomainObj *obj, unsigned int flags)
{
    bool active = obj->live != NULL;
    unsigned int states =
        flags & (IOV_CONNECT_LIST_DOMAINS_RUNNING | IOV_CONNECT_LIST_DOMAINS_PAUSED |
                 IOV_CONNECT_LIST_DOMAINS_SHUTOFF | IOV_CONNECT_LIST_DOMAINS_OTHER);

    if ((flags & (IOV_CONNECT_LIST_DOMAINS_ACTIVE | IOV_CONNECT_LIST_DOMAINS_INACTIVE)) &&
        !((flags & IOV_CONNECT_LIST_DOMAINS_ACTIVE && active) ||
          (flags & IOV_CONNECT_LIST_DOMAINS_INACTIVE && !active)))
        return false;
    if ((flags & (IOV_CONNECT_LIST_DOMAINS_PERSISTENT | IOV_CONNECT_LIST_DOMAINS_TRANSIENT)) &&
        !((flags & IOV_CONNECT_LIST_DOMAINS_PERSISTENT && obj->def) ||
          (flags & IOV_CONNECT_LIST_DOMAINS_TRANSIENT && !obj->def)))
        return false;
    if ((flags & (IOV_CONNECT_LIST_DOMAINS_AUTOSTART | IOV_CONNECT_LIST_DOMAINS_NO_AUTOSTART)) &&
        !((flags & IOV_CONNECT_LIST_DOMAINS_AUTOSTART && obj->autostart) ||
          (flags & IOV_CONNECT_LIST_DOMAINS_NO_AUTOSTART && !obj->autostart)))
        return false;
    if (states) {
        unsigned int mine = obj->state == IOV_DOMAIN_RUNNING   ? IOV_CONNECT_LIST_DOMAINS_RUNNING
                            : obj->state == IOV_DOMAIN_PAUSED  ? IOV_CONNECT_LIST_DOMAINS_PAUSED
                            : obj->state == IOV_DOMAIN_SHUTOFF ? IOV_CONNECT_LIST_DOMAINS_SHUTOFF
                                                               : IOV_CONNECT_LIST_DOMAINS_OTHER;

        if (!(states & mine))
            return false;
    }
    return true;
}

int
qemuDriverListAll(qemuDriver *drv, unsigned int flags, qemuDomainIdent **list, size_t *n)
{
    g_autoptr(GPtrArray) objs = g_ptr_array_new_with_free_func((GDestroyNotify)qemuDomainObjUnref);
    g_autoptr(GArray) out = g_array_new(FALSE, TRUE, sizeof(qemuDomainIdent));
    GHashTableIter it;
    gpointer value;
    guint i;

    g_mutex_lock(&drv->lock);
    g_hash_table_iter_init(&it, drv->byName);
    while (g_hash_table_iter_next(&it, NULL, &value))
        g_ptr_array_add(objs, qemuDomainObjRef(value));
    g_mutex_unlock(&drv->lock);

    for (i = 0; i < objs->len; i++) {
        qemuDomainObj *obj = objs->pdata[i];
        qemuDomainIdent ident = {0};

        g_mutex_lock(&obj->lock);
        if (!obj->removed && matchesFilter(obj, flags)) {
            identFromObj(obj, &ident);
            g_array_append_val(out, ident);
        }
        g_mutex_unlock(&obj->lock);
    }
    g_array_sort(out, compareIdents);
    *n = out->len;
    *list = (qemuDomainIdent *)(void *)g_array_free(g_steal_pointer(&out), FALSE);
    return 0;
}

int
qemuDriverLookupByID(qemuDriver *drv, int id, qemuDomainIdent *out)
{
    g_autofree qemuDomainIdent *list = NULL;
    size_t n = 0, i;
    int ret = -1;

    qemuDriverListAll(drv, IOV_CONNECT_LIST_DOMAINS_ACTIVE, &list, &n);
    for (i = 0; i < n; i++) {
        if (ret < 0 && list[i].id == id && id >= 0) {
            *out = list[i];
            memset(&list[i], 0, sizeof(list[i]));
            ret = 0;
        }
        qemuDomainIdentClear(&list[i]);
    }
    if (ret < 0)
        reportError(IOV_ERR_NO_DOMAIN, "no domain with matching id %d", id);
    return ret;
}

/* ---- definitions ---- */

static int
writeConfig(qemuDriver *drv, const domainDef *def)
{
    g_autofree char *path = configPath(drv, def->name);
    g_autofree char *xml = domainDefFormat(def, 0);

    if (!xml)
        return -1;
    return utilWriteFileAtomic(path, xml, strlen(xml), 0600);
}

/* Replace the persistent definition of `obj` (its job held) by `def`
 * (taken over), on disk then in memory. */
static int
replaceConfig(qemuDriver *drv, qemuDomainObj *obj, domainDef *def)
{
    g_autoptr(domainDef) old = def;

    if (writeConfig(drv, def) < 0)
        return -1;
    g_mutex_lock(&obj->lock);
    old = obj->def;
    obj->def = def;
    g_mutex_unlock(&obj->lock);
    return 0;
}

int
qemuDriverDefineXML(qemuDriver *drv, const char *xml, bool fromLibvirt, qemuDomainIdent *out)
{
    g_autoptr(GString) dropped = g_string_new(NULL);
    g_autoptr(domainDef) def =
        domainDefParseString(xml, fromLibvirt ? DOMAIN_PARSE_FROM_LIBVIRT : 0, dropped);
    g_autoptr(qemuDomainObj) obj = NULL;
    bool created;

    if (!def)
        return -1;
    if (def->emulator && domainCheckEmulator(def->emulator) < 0)
        return -1;
    if (dropped->len) {
        g_strdelimit(dropped->str, "\n", ' ');
        logInfo("defining domain '%s' from a libvirt document dropped: %s", def->name,
                dropped->str);
    }
    for (;;) {
        g_autofree char *key = NULL;
        qemuDomainObj *byName, *byUUID;

        g_mutex_lock(&drv->lock);
        byName = g_hash_table_lookup(drv->byName, def->name);
        if (byName && def->uuidGenerated)
            memcpy(def->uuid, byName->uuid, 16);
        key = uuidString(def->uuid);
        byUUID = g_hash_table_lookup(drv->byUUID, key);
        if (byUUID && byUUID != byName) {
            reportError(IOV_ERR_DOM_EXIST, "domain '%s' already exists with uuid %s", byUUID->name,
                        key);
            g_mutex_unlock(&drv->lock);
            return -1;
        }
        if (byName && byUUID != byName) {
            g_autofree char *other = uuidString(byName->uuid);

            reportError(IOV_ERR_DOM_EXIST, "domain '%s' already exists with uuid %s", def->name,
                        other);
            g_mutex_unlock(&drv->lock);
            return -1;
        }
        created = !byName;
        if (created) {
            /* visible at once, its job held until its file is written */
            obj = newObj(drv, def->name, def->uuid);
            obj->job = true;
            obj->def = domainDefCopy(def);
            tablesAdd(drv, obj);
            g_mutex_unlock(&drv->lock);
            break;
        }
        obj = qemuDomainObjRef(byName);
        g_mutex_unlock(&drv->lock);
        if (qemuDomainBeginJob(obj, drv->jobTimeoutMs) == 0)
            break;
        /* removed while we waited: look again */
        if (utilGetError()->code != IOV_ERR_NO_DOMAIN)
            return -1;
        utilResetError();
        g_clear_pointer(&obj, qemuDomainObjUnref);
    }

    if (created) {
        if (writeConfig(drv, def) < 0) {
            removeObj(drv, obj);
            qemuDomainEndJob(obj);
            return -1;
        }
        qemuDomainLogNote(obj, "domain '%s' defined", obj->name);
        emitLifecycle(obj, IOV_DOMAIN_EVENT_DEFINED, IOV_DOMAIN_EVENT_DEFINED_ADDED);
    } else {
        if (replaceConfig(drv, obj, g_steal_pointer(&def)) < 0) {
            qemuDomainEndJob(obj);
            return -1;
        }
        qemuDomainLogNote(obj, "domain '%s' redefined%s", obj->name,
                          obj->live ? " (the running guest keeps its live state)" : "");
        emitLifecycle(obj, IOV_DOMAIN_EVENT_DEFINED, IOV_DOMAIN_EVENT_DEFINED_UPDATED);
    }
    identFromObj(obj, out);
    qemuDomainEndJob(obj);
    return 0;
}

int
qemuDriverUndefine(qemuDriver *drv, const unsigned char *uuid)
{
    qemuDomainObj *obj = objBeginJob(drv, uuid);
    g_autofree char *path = NULL;
    g_autoptr(domainDef) old = NULL;
    int ret = -1;

    if (!obj)
        return -1;
    if (!obj->def) {
        reportError(IOV_ERR_OPERATION_INVALID, "cannot undefine transient domain '%s'", obj->name);
        goto endjob;
    }
    path = configPath(drv, obj->name);
    if (unlink(path) < 0 && errno != ENOENT) {
        reportSystemError(errno, "cannot remove the definition '%s'", path);
        goto endjob;
    }
    removeAutostartLink(drv, obj);
    g_mutex_lock(&obj->lock);
    old = g_steal_pointer(&obj->def);
    obj->autostart = false;
    g_mutex_unlock(&obj->lock);
    qemuDomainLogNote(obj, "domain '%s' undefined%s", obj->name,
                      obj->live ? " (it runs on as a transient domain)" : "");
    emitLifecycle(obj, IOV_DOMAIN_EVENT_UNDEFINED, IOV_DOMAIN_EVENT_UNDEFINED_REMOVED);
    if (!obj->live)
        removeObj(drv, obj);
    else
        saveStatus(drv, obj);
    ret = 0;
endjob:
    objEndJob(obj);
    return ret;
}

char *
qemuDriverGetXMLDesc(qemuDriver *drv, const unsigned char *uuid, unsigned int flags,
                     bool libvirtIotune)
{
    qemuDomainObj *obj;
    const domainDef *def;
    char *xml;

    if (flags & ~(unsigned int)(IOV_DOMAIN_XML_SECURE | IOV_DOMAIN_XML_INACTIVE)) {
        reportError(IOV_ERR_INVALID_ARG, "unsupported flags (0x%x) in function %s", flags,
                    __func__);
        return NULL;
    }
    if (!(obj = objFromUUID(drv, uuid)))
        return NULL;
    def = (flags & IOV_DOMAIN_XML_INACTIVE) && obj->def ? obj->def
          : obj->live                                   ? obj->live
                                                        : obj->def;
    xml = domainDefFormat(def, libvirtIotune ? DOMAIN_FORMAT_LIBVIRT_IOTUNE : 0);
    objEnd(obj);
    return xml;
}

/* ---- lifecycle ---- */

static int
checkActive(qemuDomainObj *obj)
{
    if (!obj->live) {
        reportError(IOV_ERR_OPERATION_INVALID, "domain '%s' is not running", obj->name);
        return -1;
    }
    return 0;
}

static void
saveStatus(qemuDriver *drv, qemuDomainObj *obj)
{
    g_autofree char *path = qemuProcessStatusPath(&drv->pcfg, obj);

    if (obj->live && qemuDomainSaveStatus(obj, path) < 0)
        logWarn("domain '%s': cannot save its status: %s", obj->name, utilLastErrorMessage());
}

int
qemuDriverCreate(qemuDriver *drv, const unsigned char *uuid, unsigned int flags,
                 qemuDomainIdent *out)
{
    qemuDomainObj *obj;
    int ret = -1, id;

    if (flags & ~(unsigned int)IOV_DOMAIN_START_PAUSED) {
        reportError(IOV_ERR_INVALID_ARG, "unsupported flags (0x%x) in function %s", flags,
                    __func__);
        return -1;
    }
    if (!(obj = objBeginJob(drv, uuid)))
        return -1;
    g_mutex_lock(&drv->lock);
    id = drv->nextId++;
    g_mutex_unlock(&drv->lock);
    if (qemuProcessStart(&drv->pcfg, obj, flags, id) < 0)
        goto endjob;
    emitLifecycle(obj, IOV_DOMAIN_EVENT_STARTED, IOV_DOMAIN_EVENT_STARTED_BOOTED);
    if (flags & IOV_DOMAIN_START_PAUSED)
        emitLifecycle(obj, IOV_DOMAIN_EVENT_SUSPENDED, IOV_DOMAIN_EVENT_SUSPENDED_PAUSED);
    identFromObj(obj, out);
    ret = 0;
endjob:
    objEndJob(obj);
    return ret;
}

int
qemuDriverDestroy(qemuDriver *drv, const unsigned char *uuid, unsigned int flags)
{
    qemuDomainObj *obj;
    int ret = -1;

    if (flags != 0) {
        reportError(IOV_ERR_INVALID_ARG, "unsupported flags (0x%x) in function %s", flags,
                    __func__);
        return -1;
    }
    if (!(obj = objBeginJob(drv, uuid)))
        return -1;
    if (checkActive(obj) < 0)
        goto endjob;
    qemuProcessStop(&drv->pcfg, obj, IOV_DOMAIN_SHUTOFF_DESTROYED);
    emitLifecycle(obj, IOV_DOMAIN_EVENT_STOPPED, IOV_DOMAIN_EVENT_STOPPED_DESTROYED);
    if (!obj->def)
        removeObj(drv, obj);
    ret = 0;
endjob:
    objEndJob(obj);
    return ret;
}

typedef int (*monitorOp)(qemuMonitor *mon);

/* Run one monitor command as a change of a running domain, then set its
 * state (when `state` >= 0) and, when that changed it, send the
 * lifecycle event `event`/`detail`. `expect` names the QEMU event the
 * command causes when the guest is in the state it changes (STOP for
 * stop while running, RESUME for cont while paused): the job takes it
 * itself, so that the worker never applies it late, over a later change. */
static int
simpleMonitorJob(qemuDriver *drv, const unsigned char *uuid, monitorOp op, int state, int reason,
                 int event, int detail, const char *expect)
{
    qemuDomainObj *obj;
    bool expecting = false;
    int ret = -1;

    if (!(obj = objBeginJob(drv, uuid)))
        return -1;
    if (checkActive(obj) < 0 || qemuProcessEnsureMonitor(&drv->pcfg, obj) < 0)
        goto endjob;
    if (expect) {
        g_mutex_lock(&obj->lock);
        expecting = obj->state != state;
        g_mutex_unlock(&obj->lock);
        if (expecting)
            qemuDomainJobExpectEvent(obj, expect);
    }
    if (QEMU_WITH_MONITOR(obj, mon, op(mon)) < 0) {
        if (expecting) {
            g_autoptr(iovError) saved = utilSaveError();

            qemuDomainEventFree(qemuDomainJobWaitEvent(obj, 0));
            utilRestoreError(g_steal_pointer(&saved));
        }
        goto endjob;
    }
    if (expecting) {
        qemuDomainEvent *ev = qemuDomainJobWaitEvent(obj, drv->pcfg.monitorTimeoutMs);

        if (!ev) {
            logWarn("%s", utilLastErrorMessage());
            utilResetError();
        }
        qemuDomainEventFree(ev);
    }
    if (state >= 0 && obj->live) {
        bool changed;
        qemuDriverEvent ev = {
            .id = IOV_DOMAIN_EVENT_ID_LIFECYCLE, .event = event, .detail = detail};

        g_mutex_lock(&obj->lock);
        changed = obj->state != state;
        obj->state = state;
        obj->reason = reason;
        if (changed && event >= 0)
            emitEventLocked(obj, &ev);
        g_mutex_unlock(&obj->lock);
        saveStatus(drv, obj);
    }
    ret = 0;
endjob:
    objEndJob(obj);
    return ret;
}

int
qemuDriverShutdown(qemuDriver *drv, const unsigned char *uuid, unsigned int flags)
{
    if (flags & ~1u) {
        reportError(
            IOV_ERR_INVALID_ARG,
            "unsupported flags (0x%x) in function %s: only the ACPI power button is supported",
            flags, __func__);
        return -1;
    }
    return simpleMonitorJob(drv, uuid, qemuMonitorSystemPowerdown, -1, 0, -1, 0, NULL);
}

int
qemuDriverReboot(qemuDriver *drv, const unsigned char *uuid, unsigned int flags)
{
    if (flags != 0) {
        reportError(IOV_ERR_INVALID_ARG, "unsupported flags (0x%x) in function %s", flags,
                    __func__);
        return -1;
    }
    return simpleMonitorJob(drv, uuid, qemuMonitorSystemReset, -1, 0, -1, 0, NULL);
}

int
qemuDriverSuspend(qemuDriver *drv, const unsigned char *uuid)
{
    return simpleMonitorJob(drv, uuid, qemuMonitorStop, IOV_DOMAIN_PAUSED, IOV_DOMAIN_PAUSED_USER,
                            IOV_DOMAIN_EVENT_SUSPENDED, IOV_DOMAIN_EVENT_SUSPENDED_PAUSED, "STOP");
}

int
qemuDriverResume(qemuDriver *drv, const unsigned char *uuid)
{
    return simpleMonitorJob(drv, uuid, qemuMonitorCont, IOV_DOMAIN_RUNNING,
                            IOV_DOMAIN_RUNNING_UNPAUSED, IOV_DOMAIN_EVENT_RESUMED,
                            IOV_DOMAIN_EVENT_RESUMED_UNPAUSED, "RESUME");
}

/* ---- state ---- */

int
qemuDriverGetState(qemuDriver *drv, const unsigned char *uuid, int *state, int *reason)
{
    qemuDomainObj *obj = objFromUUID(drv, uuid);

    if (!obj)
        return -1;
    *state = obj->state;
    *reason = obj->reason;
    objEnd(obj);
    return 0;
}

/* CPU time of `pid` in nanoseconds, 0 when unknown. */
static unsigned long long
cpuTime(pid_t pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/stat", (int)pid);
    g_autofree char *stat = NULL;
    unsigned long long utime = 0, stime = 0;
    const char *p;

    if (pid <= 0 || !g_file_get_contents(path, &stat, NULL, NULL))
        return 0;
    p = strrchr(stat, ')');
    if (!p ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return 0;
    return (utime + stime) * (1000000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK));
}

int
qemuDriverGetInfo(qemuDriver *drv, const unsigned char *uuid, qemuDomainInfo *info)
{
    qemuDomainObj *obj = objFromUUID(drv, uuid);
    const domainDef *def;
    pid_t pid;

    if (!obj)
        return -1;
    def = obj->live ? obj->live : obj->def;
    memset(info, 0, sizeof(*info));
    info->state = obj->state;
    info->reason = obj->reason;
    info->maxMemKiB = def->memoryKiB;
    info->memoryKiB = def->memoryKiB;
    info->vcpus = def->vcpus;
    pid = obj->live ? obj->pid : 0;
    objEnd(obj);
    /* /proc is read without the lock */
    info->cpuTimeNs = pid ? cpuTime(pid) : 0;
    return 0;
}

int
qemuDriverIsActive(qemuDriver *drv, const unsigned char *uuid)
{
    qemuDomainObj *obj = objFromUUID(drv, uuid);
    int ret;

    if (!obj)
        return -1;
    ret = obj->live != NULL;
    objEnd(obj);
    return ret;
}

int
qemuDriverIsPersistent(qemuDriver *drv, const unsigned char *uuid)
{
    qemuDomainObj *obj = objFromUUID(drv, uuid);
    int ret;

    if (!obj)
        return -1;
    ret = obj->def != NULL;
    objEnd(obj);
    return ret;
}

/* ---- limits ---- */

/*
 * Turn CURRENT into LIVE or CONFIG and check that the domain has what the
 * flags ask for.
 */
static int
resolveImpact(qemuDomainObj *obj, unsigned int *flags, const char *func)
{
    if (*flags & ~(unsigned int)(IOV_DOMAIN_AFFECT_LIVE | IOV_DOMAIN_AFFECT_CONFIG)) {
        reportError(IOV_ERR_INVALID_ARG, "unsupported flags (0x%x) in function %s", *flags, func);
        return -1;
    }
    if (*flags == IOV_DOMAIN_AFFECT_CURRENT)
        *flags = obj->live ? IOV_DOMAIN_AFFECT_LIVE : IOV_DOMAIN_AFFECT_CONFIG;
    if ((*flags & IOV_DOMAIN_AFFECT_LIVE) && !obj->live) {
        reportError(IOV_ERR_OPERATION_INVALID, "domain '%s' is not running", obj->name);
        return -1;
    }
    if ((*flags & IOV_DOMAIN_AFFECT_CONFIG) && !obj->def) {
        reportError(IOV_ERR_OPERATION_INVALID,
                    "domain '%s' is transient: it has no persistent definition", obj->name);
        return -1;
    }
    return 0;
}

static domainDiskDef *
findDisk(const domainDef *def, const char *disk, const char *domain, bool live)
{
    domainDiskDef *d = domainDiskFind(def, disk);

    if (!d)
        reportError(IOV_ERR_INVALID_ARG, "disk '%s' not found in the %s definition of domain '%s'",
                    disk ? disk : "", live ? "live" : "persistent", domain);
    return d;
}

/*
 * The definition that results from applying `chg` to disk `disk` of `def`:
 * merged, validated, with every member of its group given the same
 * limits. *changed gets the targets whose limits differ from `def`.
 */
static domainDef *
computeChange(const domainDef *def, const char *disk, const throttleChange *chg, bool live,
              const char *domain, GPtrArray *changed)
{
    g_autoptr(domainDef) out = NULL;
    const domainDiskDef *cur = findDisk(def, disk, domain, live);
    const throttleDef *base;
    throttleDef merged = {0};
    domainDiskDef *target;
    size_t i;

    if (!cur)
        return NULL;
    base = &cur->throttle;
    /* joining an existing group starts from that group's limits */
    if (chg->named[THROTTLE_GROUP] && chg->def.group && *chg->def.group &&
        g_strcmp0(chg->def.group, cur->throttle.group) != 0) {
        if (domainThrottleGroupFind(def, chg->def.group))
            base = &domainThrottleGroupFind(def, chg->def.group)->limits;
        for (i = 0; i < def->ndisks; i++) {
            if (g_strcmp0(def->disks[i]->throttle.group, chg->def.group) == 0) {
                base = &def->disks[i]->throttle;
                break;
            }
        }
    }
    throttleMerge(base, chg, &merged);
    if (throttleValidate(&merged, cur->target, IOV_ERR_INVALID_ARG) < 0) {
        throttleDefClear(&merged);
        return NULL;
    }
    if (!(out = domainDefCopy(def))) {
        throttleDefClear(&merged);
        return NULL;
    }
    target = domainDiskFind(out, cur->target);
    throttleDefClear(&target->throttle);
    target->throttle = merged;
    for (i = 0; merged.group && i < out->ndisks; i++) {
        domainDiskDef *m = out->disks[i];

        if (m != target && g_strcmp0(m->throttle.group, merged.group) == 0) {
            throttleDefClear(&m->throttle);
            throttleDefCopy(&m->throttle, &merged);
        }
    }
    /* a declared group and its members carry the same limits */
    if (merged.group && domainThrottleGroupFind(out, merged.group))
        memcpy(domainThrottleGroupFind(out, merged.group)->limits.v, merged.v, sizeof(merged.v));
    if (domainDefValidate(out) < 0) {
        g_autoptr(iovError) e = utilSaveError();

        reportError(IOV_ERR_INVALID_ARG, "%s", e->str2 ? e->str2 : e->message);
        return NULL;
    }
    for (i = 0; changed && i < out->ndisks; i++) {
        if (!throttleDefEqual(&out->disks[i]->throttle, &def->disks[i]->throttle))
            g_ptr_array_add(changed, g_strdup(out->disks[i]->target));
    }
    return g_steal_pointer(&out);
}

/* Publish `newLive` and `newConfig` (each may be NULL; taken over). */
static void
publishDefs(qemuDomainObj *obj, domainDef *newLive, domainDef *newConfig)
{
    g_autoptr(domainDef) oldLive = NULL;
    g_autoptr(domainDef) oldConfig = NULL;

    g_mutex_lock(&obj->lock);
    if (newLive) {
        oldLive = obj->live;
        obj->live = newLive;
    }
    if (newConfig) {
        oldConfig = obj->def;
        obj->def = newConfig;
    }
    g_mutex_unlock(&obj->lock);
}

/*
 * After new live limits were published: the status file, which only
 * caches QEMU's limits, is written later (the reply does not wait for the
 * disk), and the clients hear of the disks in `touched`. Job held.
 */
static void
liveLimitsPublished(qemuDriver *drv, qemuDomainObj *obj, GPtrArray *touched)
{
    g_autofree char *path = qemuProcessStatusPath(&drv->pcfg, obj);

    if (qemuDomainSaveStatusLater(obj, path) < 0) {
        logWarn("domain '%s': cannot save its status: %s", obj->name, utilLastErrorMessage());
        utilResetError();
    }
    emitTunable(obj, touched);
}

/*
 * Put the new live limits into QEMU, then write the new persistent
 * definition (either may be NULL), all or nothing: when the definition
 * cannot be written, QEMU gets the old limits back. The job is held;
 * `what` names the change in the log.
 */
static int
applyLimits(qemuDriver *drv, qemuDomainObj *obj, const domainDef *newLive,
            const domainDef *newConfig, const char *what)
{
    if (newLive && qemuProcessApplyThrottle(obj, obj->live, newLive) < 0)
        return -1;
    if (newConfig && writeConfig(drv, newConfig) < 0) {
        if (newLive) {
            g_autoptr(iovError) saved = utilSaveError();

            if (qemuProcessApplyThrottle(obj, newLive, obj->live) < 0)
                logError("domain '%s': cannot undo a live %s change: %s", obj->name, what,
                         utilLastErrorMessage());
            utilRestoreError(g_steal_pointer(&saved));
        }
        return -1;
    }
    return 0;
}

int
qemuDriverSetBlockIoThrottle(qemuDriver *drv, const unsigned char *uuid, const char *disk,
                             const throttleChange *chg, unsigned int flags, char ***changed)
{
    g_autoptr(domainDef) newLive = NULL;
    g_autoptr(domainDef) newConfig = NULL;
    g_autoptr(GPtrArray) touched = g_ptr_array_new_with_free_func(g_free);
    qemuDomainObj *obj;
    bool liveChanged = false;
    int ret = -1;

    if (!(obj = objBeginJob(drv, uuid)))
        return -1;
    if (resolveImpact(obj, &flags, __func__) < 0)
        goto endjob;
    /* the live limits must be QEMU's: reconnect first if the monitor broke */
    if ((flags & IOV_DOMAIN_AFFECT_LIVE) && qemuProcessEnsureMonitor(&drv->pcfg, obj) < 0)
        goto endjob;

    /* everything is computed and validated before anything is applied */
    if (flags & IOV_DOMAIN_AFFECT_LIVE) {
        newLive = computeChange(obj->live, disk, chg, true, obj->name, touched);
        if (!newLive)
            goto endjob;
    }
    if (flags & IOV_DOMAIN_AFFECT_CONFIG) {
        newConfig = computeChange(obj->def, disk, chg, false, obj->name, newLive ? NULL : touched);
        if (!newConfig)
            goto endjob;
    }

    /* QEMU cannot go away under us: its end is handled in the job */
    if (applyLimits(drv, obj, newLive, newConfig, "limit") < 0)
        goto endjob;
    /* both become visible at once */
    liveChanged = newLive != NULL;
    publishDefs(obj, g_steal_pointer(&newLive), g_steal_pointer(&newConfig));
    if (liveChanged)
        liveLimitsPublished(drv, obj, touched);
    if (changed) {
        g_ptr_array_add(touched, NULL);
        *changed = (char **)g_ptr_array_free(g_steal_pointer(&touched), FALSE);
    }
    ret = 0;
endjob:
    objEndJob(obj);
    return ret;
}

/* A live set begun without waiting (qemuDriverSetBlockIoThrottleBegin). */
typedef struct {
    qemuDriver *drv;
    qemuDomainObj *obj; /* referenced; its job held */
    domainDef *newLive; /* owned */
    GPtrArray *touched; /* owned: the targets that change */
    qemuDriverSetDone done;
    void *opaque;
} setBegun;

/* The end of a begun set, whether it ran or was declined: the job goes,
 * the set is no longer counted, and `b` is freed. */
static void
setBegunFinish(setBegun *b)
{
    objEndJob(b->obj);
    g_atomic_int_add(&b->drv->begun, -1);
    domainDefFree(b->newLive);
    g_ptr_array_unref(b->touched);
    g_free(b);
}

/* QEMU took the new limits, or not: what the rest of a set does, in the
 * thread that began it. */
static void
setBegunEnd(int rc, void *opaque)
{
    setBegun *b = opaque;
    qemuDomainObj *obj = b->obj;

    if (rc == 0)
        publishDefs(obj, g_steal_pointer(&b->newLive), NULL);
    /* the client hears first: what follows (the status snapshot, the
     * events) is not on its path; the job is still held, and this thread
     * reads no other call before it returns */
    b->done(rc, b->opaque);
    if (rc == 0)
        liveLimitsPublished(b->drv, obj, b->touched);
    setBegunFinish(b);
}

int
qemuDriverSetBlockIoThrottleBegin(qemuDriver *drv, const unsigned char *uuid, const char *disk,
                                  const throttleChange *chg, unsigned int flags, GMainContext *ctx,
                                  qemuDriverSetDone done, void *opaque)
{
    qemuDomainObj *obj;
    setBegun *b;
    int rc;

    if (!(obj = objLookup(drv, uuid))) {
        utilResetError();
        return 0;
    }
    /* a job held by another change, a migration: the set that waits */
    if (qemuDomainBeginJob(obj, 0) < 0) {
        utilResetError();
        qemuDomainObjUnref(obj);
        return 0;
    }
    b = g_new0(setBegun, 1);
    b->drv = drv;
    b->obj = obj;
    b->touched = g_ptr_array_new_with_free_func(g_free);
    b->done = done;
    b->opaque = opaque;
    rc = 0;
    /* counted first: a send that fails ends the set before Begin returns */
    g_atomic_int_add(&drv->begun, 1);
    if (resolveImpact(obj, &flags, __func__) == 0 && flags == IOV_DOMAIN_AFFECT_LIVE &&
        (b->newLive = computeChange(obj->live, disk, chg, true, obj->name, b->touched)))
        rc = qemuProcessApplyThrottleBegin(obj, obj->live, b->newLive, ctx, setBegunEnd, b);
    if (rc == 0) {
        /* whatever was refused is refused again, and said, by the set
         * that waits */
        utilResetError();
        setBegunFinish(b);
        return 0;
    }
    return 1;
}

int
qemuDriverBegunSets(qemuDriver *drv)
{
    return g_atomic_int_get(&drv->begun);
}

static int readBackFromQemu(qemuDriver *drv, const unsigned char *uuid, const char *disk,
                            throttleDef *out);

/* A read with IOV_DOMAIN_THROTTLE_HYPERVISOR: of the running guest only
 * (the flag becomes LIVE). IOV_DOMAIN_THROTTLE_DEFINITION is taken off
 * into *record (the definition, even on a tainted guest). */
static int
hypervisorRead(unsigned int *flags, bool *record)
{
    *record = *flags & IOV_DOMAIN_THROTTLE_DEFINITION;
    *flags &= ~(unsigned int)IOV_DOMAIN_THROTTLE_DEFINITION;
    if (!(*flags & IOV_DOMAIN_THROTTLE_HYPERVISOR))
        return 0;
    if (*record) {
        reportError(
            IOV_ERR_INVALID_ARG,
            "the hypervisor's limits and the definition's are read separately: give one of them");
        return -1;
    }
    if (*flags & IOV_DOMAIN_AFFECT_CONFIG) {
        reportError(
            IOV_ERR_INVALID_ARG,
            "what the hypervisor holds is in force now: ask it with the live limits, not the saved ones (config)");
        return -1;
    }
    *flags = (*flags & ~(unsigned int)IOV_DOMAIN_THROTTLE_HYPERVISOR) | IOV_DOMAIN_AFFECT_LIVE;
    return 0;
}

int
qemuDriverGetBlockIoThrottle(qemuDriver *drv, const unsigned char *uuid, const char *disk,
                             unsigned int flags, throttleDef *out)
{
    qemuDomainObj *obj;
    const domainDiskDef *d;
    int ret = -1;
    bool fromQemu = false;
    bool asked = flags & IOV_DOMAIN_THROTTLE_HYPERVISOR;
    bool record;

    if (hypervisorRead(&flags, &record) < 0)
        return -1;
    if ((flags & IOV_DOMAIN_AFFECT_LIVE) && (flags & IOV_DOMAIN_AFFECT_CONFIG)) {
        reportError(
            IOV_ERR_INVALID_ARG,
            "the limits in force (live) and the saved ones (config) are read separately: give one of them");
        return -1;
    }
    if (!(obj = objFromUUID(drv, uuid)))
        return -1;
    if (resolveImpact(obj, &flags, __func__) < 0)
        goto cleanup;
    if (flags & IOV_DOMAIN_AFFECT_LIVE)
        d = findDisk(obj->live, disk, obj->name, true);
    else
        d = findDisk(obj->def, disk, obj->name, false);
    if (!d)
        goto cleanup;
    throttleDefCopy(out, &d->throttle);
    fromQemu = (flags & IOV_DOMAIN_AFFECT_LIVE) && ((obj->tainted && !record) || asked);
    ret = 0;
cleanup:
    objEnd(obj);
    if (ret == 0 && fromQemu)
        return utilThreadMayWait() ? readBackFromQemu(drv, uuid, disk, out) : utilThreadDefer();
    return ret;
}

/* ---- named throttle groups ---- */

/* What one change of a definition does: the new definition computed
 * from `def` (live or persistent), validated, or NULL with an error. */
typedef domainDef *(*defChangeFunc)(const domainDef *def, bool live, const char *domain,
                                    const void *opaque);

/*
 * Apply a change of the live and/or persistent definition of `uuid` as
 * limit changes are applied: in the domain's job, both computed and
 * validated first, QEMU brought from the old live limits to the new
 * ones (only what differs is sent), the persistent one written, then
 * both published at once; on failure nothing changes.
 */
static int
changeDefinitions(qemuDriver *drv, const unsigned char *uuid, unsigned int flags, defChangeFunc fn,
                  const void *opaque, const char *func)
{
    g_autoptr(domainDef) newLive = NULL;
    g_autoptr(domainDef) newConfig = NULL;
    g_autoptr(GPtrArray) touched = g_ptr_array_new_with_free_func(g_free);
    qemuDomainObj *obj;
    bool live;
    size_t i;
    int ret = -1;

    if (!(obj = objBeginJob(drv, uuid)))
        return -1;
    if (resolveImpact(obj, &flags, func) < 0)
        goto endjob;
    if ((flags & IOV_DOMAIN_AFFECT_LIVE) && qemuProcessEnsureMonitor(&drv->pcfg, obj) < 0)
        goto endjob;
    if ((flags & IOV_DOMAIN_AFFECT_LIVE) && !(newLive = fn(obj->live, true, obj->name, opaque)))
        goto endjob;
    if ((flags & IOV_DOMAIN_AFFECT_CONFIG) && !(newConfig = fn(obj->def, false, obj->name, opaque)))
        goto endjob;

    if (applyLimits(drv, obj, newLive, newConfig, "group") < 0)
        goto endjob;
    /* the disks whose own limits follow the change (members by group=) */
    for (i = 0; newLive && i < newLive->ndisks; i++) {
        const domainDiskDef *od = domainDiskFind(obj->live, newLive->disks[i]->target);

        if (od && !throttleDefEqual(&od->throttle, &newLive->disks[i]->throttle))
            g_ptr_array_add(touched, g_strdup(od->target));
    }
    live = newLive != NULL;
    publishDefs(obj, g_steal_pointer(&newLive), g_steal_pointer(&newConfig));
    if (live)
        liveLimitsPublished(drv, obj, touched);
    ret = 0;
endjob:
    objEndJob(obj);
    return ret;
}

/* A validation error of a changed definition, as an invalid argument. */
static domainDef *
validatedChange(domainDef *out)
{
    if (domainDefValidate(out) < 0) {
        g_autoptr(iovError) e = utilSaveError();

        domainDefFree(out);
        reportError(IOV_ERR_INVALID_ARG, "%s", e->str2 ? e->str2 : e->message);
        return NULL;
    }
    return out;
}

typedef struct {
    const char *name;
    const throttleChange *chg;
} groupChange;

/* `def` with group chg->name created or changed, its members following. */
static domainDef *
computeGroupSet(const domainDef *def, bool live G_GNUC_UNUSED, const char *domain G_GNUC_UNUSED,
                const void *opaque)
{
    const groupChange *gc = opaque;
    g_autoptr(domainDef) out = NULL;
    domainThrottleGroupDef *g;
    throttleDef merged = {0};
    size_t i;

    if (!(out = domainDefCopy(def)))
        return NULL;
    if (!(g = domainThrottleGroupFind(out, gc->name))) {
        if (!throttleGroupNameValid(gc->name)) {
            reportError(
                IOV_ERR_INVALID_ARG,
                "throttle group '%s': a name must be 1 to 64 characters of A-Z a-z 0-9 _ . -",
                gc->name);
            return NULL;
        }
        if (out->ngroups >= DOMAIN_MAX_THROTTLE_GROUPS) {
            reportError(IOV_ERR_INVALID_ARG, "a domain may declare at most %d throttle groups",
                        DOMAIN_MAX_THROTTLE_GROUPS);
            return NULL;
        }
        g = g_new0(domainThrottleGroupDef, 1);
        g->name = g_strdup(gc->name);
        /* a group some disks already share by group= starts from their limits */
        for (i = 0; i < out->ndisks; i++) {
            if (g_strcmp0(out->disks[i]->throttle.group, gc->name) == 0) {
                memcpy(g->limits.v, out->disks[i]->throttle.v, sizeof(g->limits.v));
                break;
            }
        }
        out->groups = g_renew(domainThrottleGroupDef *, out->groups, out->ngroups + 1);
        out->groups[out->ngroups++] = g;
    }
    throttleMerge(&g->limits, gc->chg, &merged);
    g_clear_pointer(&merged.group, g_free);
    if (throttleValidateNamed(&merged, "group", gc->name, IOV_ERR_INVALID_ARG) < 0)
        return NULL;
    memcpy(g->limits.v, merged.v, sizeof(merged.v));
    for (i = 0; i < out->ndisks; i++) {
        if (g_strcmp0(out->disks[i]->throttle.group, gc->name) == 0)
            memcpy(out->disks[i]->throttle.v, merged.v, sizeof(merged.v));
    }
    return validatedChange(g_steal_pointer(&out));
}

int
qemuDriverSetThrottleGroup(qemuDriver *drv, const unsigned char *uuid, const char *name,
                           const throttleChange *chg, unsigned int flags)
{
    groupChange gc = {name, chg};

    if (chg->named[THROTTLE_GROUP]) {
        reportError(IOV_ERR_INVALID_ARG,
                    "throttle group '%s': a group's limits have no group field", name);
        return -1;
    }
    return changeDefinitions(drv, uuid, flags, computeGroupSet, &gc, __func__);
}

/* `def` without group `opaque`, which no disk may still name. */
static domainDef *
computeGroupDel(const domainDef *def, bool live, const char *domain, const void *opaque)
{
    const char *name = opaque;
    g_autoptr(domainDef) out = NULL;
    const char *user;
    ssize_t i;

    if (domainThrottleGroupIndex(def, name) < 0) {
        reportError(IOV_ERR_INVALID_ARG,
                    "throttle group '%s' not found in the %s definition of domain '%s'", name,
                    live ? "live" : "persistent", domain);
        return NULL;
    }
    if ((user = domainThrottleGroupUser(def, name))) {
        reportError(IOV_ERR_OPERATION_INVALID, "throttle group '%s' is still used by disk '%s'",
                    name, user);
        return NULL;
    }
    if (!(out = domainDefCopy(def)))
        return NULL;
    i = domainThrottleGroupIndex(out, name);
    domainThrottleGroupDefFree(out->groups[i]);
    memmove(out->groups + i, out->groups + i + 1,
            (out->ngroups - (size_t)i - 1) * sizeof(*out->groups));
    out->ngroups--;
    return validatedChange(g_steal_pointer(&out));
}

int
qemuDriverDelThrottleGroup(qemuDriver *drv, const unsigned char *uuid, const char *name,
                           unsigned int flags)
{
    return changeDefinitions(drv, uuid, flags, computeGroupDel, name, __func__);
}

/* What a read of limits says when asked for LIVE and CONFIG at once. */
#define LIMITS_READ_APART "the limits in force (live) and the saved ones (config) are read separately"

/* The definition a read of `flags` answers from (the lock held); LIVE and
 * CONFIG together are refused, `apart` saying why. */
static const domainDef *
readDefinition(qemuDomainObj *obj, unsigned int *flags, const char *apart, const char *func)
{
    if ((*flags & IOV_DOMAIN_AFFECT_LIVE) && (*flags & IOV_DOMAIN_AFFECT_CONFIG)) {
        reportError(IOV_ERR_INVALID_ARG, "%s: give one of them", apart);
        return NULL;
    }
    if (resolveImpact(obj, flags, func) < 0)
        return NULL;
    return (*flags & IOV_DOMAIN_AFFECT_LIVE) ? obj->live : obj->def;
}

static void queryFailed(qemuDomainObj *obj, qemuMonitor *mon);

/* The limits QEMU's object of declared group `name` holds, into `out`
 * (its values replaced; cleared on error). Without the job: a query. */
static int
groupFromQemu(qemuDomainObj *obj, const char *name, throttleDef *out)
{
    g_autofree char *id = qemuNamedGroupId(name);
    throttleDef inQemu = {0};
    qemuMonitor *mon = NULL;
    int rc;

    g_mutex_lock(&obj->lock);
    if (obj->mon)
        mon = qemuMonitorRef(obj->mon);
    g_mutex_unlock(&obj->lock);
    if (!mon) {
        reportError(IOV_ERR_OPERATION_INVALID, "domain '%s' has no QEMU monitor connection",
                    obj->name);
        throttleDefClear(out);
        return -1;
    }
    rc = qemuMonitorGetThrottleLimits(mon, id, &inQemu);
    if (rc < 0)
        queryFailed(obj, mon);
    qemuMonitorUnref(mon);
    if (rc < 0) {
        throttleDefClear(out);
        return -1;
    }
    memcpy(out->v, inQemu.v, sizeof(inQemu.v));
    throttleDefClear(&inQemu);
    return 0;
}

int
qemuDriverGetThrottleGroup(qemuDriver *drv, const unsigned char *uuid, const char *name,
                           unsigned int flags, throttleDef *out)
{
    bool asked = flags & IOV_DOMAIN_THROTTLE_HYPERVISOR;
    bool record;
    qemuDomainObj *obj;
    const domainDef *def;
    const domainThrottleGroupDef *g;
    int ret = -1;

    if (hypervisorRead(&flags, &record) < 0)
        return -1;
    if (!(obj = objFromUUID(drv, uuid)))
        return -1;
    if (!(def = readDefinition(obj, &flags, LIMITS_READ_APART, __func__)))
        goto cleanup;
    if (!(g = domainThrottleGroupFind(def, name))) {
        reportError(IOV_ERR_INVALID_ARG,
                    "throttle group '%s' not found in the %s definition of domain '%s'",
                    name ? name : "", (flags & IOV_DOMAIN_AFFECT_LIVE) ? "live" : "persistent",
                    obj->name);
        goto cleanup;
    }
    throttleDefCopy(out, &g->limits);
    if ((flags & IOV_DOMAIN_AFFECT_LIVE) && ((obj->tainted && !record) || asked)) {
        g_autoptr(qemuDomainObj) ref = qemuDomainObjRef(obj);

        objEnd(obj);
        return utilThreadMayWait() ? groupFromQemu(ref, name, out) : utilThreadDefer();
    }
    ret = 0;
cleanup:
    objEnd(obj);
    return ret;
}

int
qemuDriverListThrottleGroups(qemuDriver *drv, const unsigned char *uuid, unsigned int flags,
                             char ***names)
{
    qemuDomainObj *obj;
    const domainDef *def;
    size_t i;
    int ret = -1;

    if (!(obj = objFromUUID(drv, uuid)))
        return -1;
    if (!(def = readDefinition(obj, &flags, LIMITS_READ_APART, __func__)))
        goto cleanup;
    *names = g_new0(char *, def->ngroups + 1);
    for (i = 0; i < def->ngroups; i++)
        (*names)[i] = g_strdup(def->groups[i]->name);
    ret = (int)def->ngroups;
cleanup:
    objEnd(obj);
    return ret;
}

int
qemuDriverListDisks(qemuDriver *drv, const unsigned char *uuid, unsigned int flags,
                    qemuDiskListing **disks)
{
    qemuDomainObj *obj;
    const domainDef *def;
    size_t i, j;
    int ret = -1;

    if (!(obj = objFromUUID(drv, uuid)))
        return -1;
    if (!(def = readDefinition(obj, &flags,
                               "the running guest's disks (live) and the saved ones (config) are "
                               "listed separately",
                               __func__)))
        goto cleanup;
    *disks = g_new0(qemuDiskListing, def->ndisks + 1);
    for (i = 0; i < def->ndisks; i++) {
        const domainDiskDef *d = def->disks[i];
        qemuDiskListing *l = &(*disks)[i];

        l->target = g_strdup(d->target);
        l->source = domainDiskSourceString(d);
        l->group = g_strdup(d->throttle.group ? d->throttle.group : "");
        l->filters = g_new0(char *, d->nfilters + 1);
        for (j = 0; j < d->nfilters; j++)
            l->filters[j] = g_strdup(d->filters[j]);
        l->flags = d->unplugPending ? IOV_DOMAIN_DISK_UNPLUG_PENDING : 0;
    }
    ret = (int)def->ndisks;
cleanup:
    objEnd(obj);
    return ret;
}

/*
 * For a query that needs QEMU but changes nothing: a reference on the
 * monitor of the running domain `uuid`, and (when `disk` is given) what
 * the query needs of that disk: its target, device id and throttle group
 * id. Taken under the lock, so the query never waits for a job.
 */
static qemuMonitor *
queryMonitor(qemuDriver *drv, const unsigned char *uuid, const char *disk, char **target,
             char **devId, char **groupId, qemuDomainObj **objp)
{
    qemuDomainObj *obj = objFromUUID(drv, uuid);
    const domainDiskDef *d;
    qemuMonitor *mon = NULL;

    if (!obj)
        return NULL;
    if (checkActive(obj) < 0 || !(d = findDisk(obj->live, disk, obj->name, true))) {
        objEnd(obj);
        return NULL;
    }
    *target = g_strdup(d->target);
    *devId = qemuDiskDeviceId(d);
    *groupId = qemuThrottleGroupId(d, &d->throttle);
    if (obj->mon)
        mon = qemuMonitorRef(obj->mon);
    else
        reportError(IOV_ERR_OPERATION_INVALID, "domain '%s' has no QEMU monitor connection",
                    obj->name);
    g_mutex_unlock(&obj->lock);
    if (mon)
        *objp = obj;
    else
        qemuDomainObjUnref(obj);
    return mon;
}

/* After a query on `mon` failed: when a change closed that monitor under
 * the query (the domain stopped, or is stopping, or reconnected), say so
 * as the query issued a moment later would, instead of QEMU's error. */
static void
queryFailed(qemuDomainObj *obj, qemuMonitor *mon)
{
    bool closed, running;

    g_mutex_lock(&obj->lock);
    closed = obj->mon != mon;
    running = obj->live != NULL;
    g_mutex_unlock(&obj->lock);
    if (closed && !running)
        reportError(IOV_ERR_OPERATION_INVALID, "domain '%s' is not running", obj->name);
    else if (closed)
        reportError(IOV_ERR_OPERATION_INVALID,
                    "domain '%s' is stopping or reconnecting to QEMU: try again", obj->name);
}

int
qemuDriverBlockStats(qemuDriver *drv, const unsigned char *uuid, const char *disk,
                     qemuBlockStats *out)
{
    g_autoptr(GPtrArray) stats = NULL;
    g_autofree char *target = NULL;
    g_autofree char *devId = NULL;
    g_autofree char *groupId = NULL;
    g_autoptr(qemuDomainObj) obj = NULL;
    qemuMonitor *mon;
    guint i;
    int rc;

    if (!(mon = queryMonitor(drv, uuid, disk, &target, &devId, &groupId, &obj)))
        return -1;
    rc = qemuMonitorQueryBlockStats(mon, &stats);
    if (rc < 0)
        queryFailed(obj, mon);
    qemuMonitorUnref(mon);
    if (rc < 0)
        return -1;
    for (i = 0; i < stats->len; i++) {
        qemuBlockStats *s = stats->pdata[i];

        if (qemuDeviceIdMatchesQdev(devId, s->qdev)) {
            *out = *s;
            out->qdev = g_strdup(s->qdev);
            return 0;
        }
    }
    reportError(IOV_ERR_OPERATION_FAILED, "QEMU reports no statistics for disk '%s' of domain '%s'",
                target, obj->name);
    return -1;
}

int
qemuDriverQueryQEMULimits(qemuDriver *drv, const unsigned char *uuid, const char *disk,
                          throttleDef *out)
{
    g_autofree char *target = NULL;
    g_autofree char *devId = NULL;
    g_autofree char *groupId = NULL;
    g_autoptr(qemuDomainObj) obj = NULL;
    qemuMonitor *mon;
    int rc;

    if (!(mon = queryMonitor(drv, uuid, disk, &target, &devId, &groupId, &obj)))
        return -1;
    rc = qemuMonitorGetThrottleLimits(mon, groupId, out);
    if (rc < 0)
        queryFailed(obj, mon);
    qemuMonitorUnref(mon);
    return rc;
}

long long
qemuDriverMonitorCommandCount(qemuDriver *drv, const unsigned char *uuid)
{
    qemuDomainObj *obj = objFromUUID(drv, uuid);
    long long n = -1;

    if (!obj)
        return -1;
    if (obj->mon)
        n = (long long)qemuMonitorCommandCount(obj->mon);
    objEnd(obj);
    return n;
}

pid_t
qemuDriverGetPid(qemuDriver *drv, const unsigned char *uuid)
{
    qemuDomainObj *obj = objFromUUID(drv, uuid);
    pid_t pid = 0;

    if (!obj)
        return 0;
    pid = obj->live ? obj->pid : 0;
    objEnd(obj);
    return pid;
}

/* ---- autostart ---- */

static char *
autostartPath(qemuDriver *drv, const char *name)
{
    g_autofree char *file = g_strdup_printf("%s.xml", name);

    return g_build_filename(drv->configDir, "autostart", file, NULL);
}

/* With the job held: drop the autostart link of `obj`, if any. */
static void
removeAutostartLink(qemuDriver *drv, qemuDomainObj *obj)
{
    g_autofree char *link = autostartPath(drv, obj->name);

    if (unlink(link) < 0 && errno != ENOENT)
        logWarn("cannot remove the autostart link '%s': %s", link, g_strerror(errno));
}

int
qemuDriverGetAutostart(qemuDriver *drv, const unsigned char *uuid)
{
    qemuDomainObj *obj = objFromUUID(drv, uuid);
    int ret;

    if (!obj)
        return -1;
    ret = obj->autostart ? 1 : 0;
    objEnd(obj);
    return ret;
}

int
qemuDriverSetAutostart(qemuDriver *drv, const unsigned char *uuid, bool autostart)
{
    qemuDomainObj *obj = objBeginJob(drv, uuid);
    g_autofree char *dir = NULL;
    g_autofree char *link = NULL;
    g_autofree char *target = NULL;
    int ret = -1;

    if (!obj)
        return -1;
    if (!obj->def) {
        reportError(IOV_ERR_OPERATION_INVALID, "cannot set autostart for transient domain '%s'",
                    obj->name);
        goto endjob;
    }
    if (obj->autostart == autostart) {
        ret = 0;
        goto endjob;
    }
    dir = g_build_filename(drv->configDir, "autostart", NULL);
    link = autostartPath(drv, obj->name);
    if (autostart) {
        target = g_strdup_printf("../%s.xml", obj->name);
        if (utilMakeDir(dir, 0700) < 0)
            goto endjob;
        if (symlink(target, link) < 0 && errno != EEXIST) {
            reportSystemError(errno, "cannot create the autostart link '%s'", link);
            goto endjob;
        }
    } else if (unlink(link) < 0 && errno != ENOENT) {
        reportSystemError(errno, "cannot remove the autostart link '%s'", link);
        goto endjob;
    }
    g_mutex_lock(&obj->lock);
    obj->autostart = autostart;
    g_mutex_unlock(&obj->lock);
    ret = 0;
endjob:
    objEndJob(obj);
    return ret;
}

void
qemuDriverAutostart(qemuDriver *drv)
{
    g_autofree qemuDomainIdent *list = NULL;
    size_t n = 0, i;

    /* the list is taken after the reconnection: those that run are not in it */
    if (qemuDriverListAll(drv,
                          IOV_CONNECT_LIST_DOMAINS_INACTIVE | IOV_CONNECT_LIST_DOMAINS_AUTOSTART,
                          &list, &n) < 0)
        return;
    for (i = 0; i < n; i++) {
        /* qemuDriverCreate refuses a domain started meanwhile */
        if (qemuDriverCreate(drv, list[i].uuid, 0, NULL) < 0)
            logError("cannot autostart domain '%s': %s", list[i].name, utilLastErrorMessage());
        else
            logInfo("domain '%s' autostarted", list[i].name);
        utilResetError();
        qemuDomainIdentClear(&list[i]);
    }
}

/* ---- bulk statistics ---- */

void
qemuDomainStatsClear(qemuDomainStats *st)
{
    size_t i;

    if (!st)
        return;
    qemuDomainIdentClear(&st->ident);
    for (i = 0; i < st->ndisks; i++) {
        g_free(st->disks[i].target);
        g_free(st->disks[i].path);
        throttleDefClear(&st->disks[i].limits);
    }
    g_free(st->disks);
    memset(st, 0, sizeof(*st));
}

/* Allocation and capacity of a local disk, from the file system; a
 * block device's capacity is its size. Raw images only: an image of
 * another format has a capacity only QEMU knows. */
static void
diskSize(qemuDiskStats *ds, bool raw)
{
    struct stat sb;

    if (!ds->path || stat(ds->path, &sb) < 0)
        return;
    if (S_ISREG(sb.st_mode)) {
        ds->allocation = (unsigned long long)sb.st_blocks * 512ULL;
        ds->capacity = raw ? (unsigned long long)sb.st_size : 0;
        ds->haveSize = raw;
    } else if (S_ISBLK(sb.st_mode)) {
        int fd = open(ds->path, O_RDONLY | O_CLOEXEC);
        off_t end = fd >= 0 ? lseek(fd, 0, SEEK_END) : -1;

        if (fd >= 0)
            close(fd);
        if (end >= 0) {
            ds->capacity = ds->allocation = (unsigned long long)end;
            ds->haveSize = true;
        }
    }
}

/* One domain: its published state copied under its lock, then (without
 * any lock) its counters from QEMU and its disks' sizes. */
static int
domainStats(qemuDriver *drv, const unsigned char *uuid, unsigned int groups, qemuDomainStats *st)
{
    g_autoptr(qemuDomainObj) obj = objFromUUID(drv, uuid);
    g_autofree char **devIds = NULL;
    g_autofree bool *raw = NULL;
    g_autoptr(GPtrArray) counters = NULL;
    g_autoptr(GPtrArray) cached = NULL;
    unsigned int gen = 0;
    qemuMonitor *mon = NULL;
    pid_t pid = 0;
    size_t i;

    if (!obj)
        return -1;
    identFromObj(obj, &st->ident);
    st->state = obj->state;
    st->reason = obj->reason;
    st->active = obj->live != NULL;
    if (obj->live) {
        pid = obj->pid;
        st->ndisks = obj->live->ndisks;
        st->disks = g_new0(qemuDiskStats, st->ndisks ? st->ndisks : 1);
        devIds = g_new0(char *, st->ndisks + 1);
        raw = g_new0(bool, st->ndisks + 1);
        for (i = 0; i < st->ndisks; i++) {
            const domainDiskDef *d = obj->live->disks[i];

            st->disks[i].target = g_strdup(d->target);
            st->disks[i].path = d->path ? g_strdup(d->path) : NULL;
            throttleDefCopy(&st->disks[i].limits, &d->throttle);
            devIds[i] = qemuDiskDeviceId(d);
            raw[i] = d->format == DISK_FORMAT_RAW;
        }
        if (obj->mon && (groups & QEMU_STATS_BLOCK)) {
            mon = qemuMonitorRef(obj->mon);
            gen = obj->monGeneration;
            if (obj->lastBlockStats && obj->lastBlockStatsGen == gen)
                cached = g_ptr_array_ref(obj->lastBlockStats);
        }
    }
    g_mutex_unlock(&obj->lock);

    if (groups & QEMU_STATS_CPU_TOTAL)
        st->cpuTimeNs = pid ? cpuTime(pid) : 0;
    if (mon) {
        /* a change talking to QEMU is not waited for: its last counters
         * are reported instead */
        int rc = qemuMonitorQueryBlockStatsNoWait(mon, &counters);

        if (rc == 1) {
            counters = g_steal_pointer(&cached);
        } else if (rc < 0) {
            logWarn("domain '%s': no block counters: %s", st->ident.name, utilLastErrorMessage());
            utilResetError();
        } else {
            g_mutex_lock(&obj->lock);
            if (obj->mon == mon) {
                if (obj->lastBlockStats)
                    g_ptr_array_unref(obj->lastBlockStats);
                obj->lastBlockStats = g_ptr_array_ref(counters);
                obj->lastBlockStatsGen = gen;
            }
            g_mutex_unlock(&obj->lock);
        }
        qemuMonitorUnref(mon);
    }
    for (i = 0; i < st->ndisks; i++) {
        guint j;

        for (j = 0; counters && j < counters->len; j++) {
            const qemuBlockStats *c = counters->pdata[j];

            if (qemuDeviceIdMatchesQdev(devIds[i], c->qdev)) {
                st->disks[i].counters = *c;
                st->disks[i].counters.qdev = NULL;
                st->disks[i].haveCounters = true;
                break;
            }
        }
        if (groups & QEMU_STATS_BLOCK)
            diskSize(&st->disks[i], raw[i]);
        g_free(devIds[i]);
    }
    return 0;
}

/* The work of one bulk statistics call, shared by its threads. */
typedef struct {
    qemuDriver *drv;
    const unsigned char *uuids; /* n of them, 16 bytes each */
    size_t n;
    unsigned int groups;
    qemuDomainStats *stats; /* n entries */
    int *rc;                /* n entries: domainStats' result */
    gint next;              /* atomic: the next index to take */
} statsWork;

#define STATS_THREADS_MAX 8 /* QEMUs asked at once */
#define STATS_PER_THREAD 4  /* fewer domains than this a thread: no more threads */

static gpointer
statsWorker(gpointer data)
{
    statsWork *w = data;
    gint i;

    while ((i = g_atomic_int_add(&w->next, 1)) < (gint)w->n) {
        w->rc[i] = domainStats(w->drv, w->uuids + (size_t)i * 16, w->groups, &w->stats[i]);
        utilResetError();
    }
    return NULL;
}

int
qemuDriverGetStats(qemuDriver *drv, const unsigned char *uuids, size_t n, unsigned int listFlags,
                   unsigned int groups, qemuDomainStats **out, size_t *nout)
{
    g_autofree unsigned char *listed = NULL;
    g_autofree int *rc = NULL;
    g_autoptr(GPtrArray) threads = g_ptr_array_new();
    statsWork w = {.drv = drv, .groups = groups};
    size_t i, kept = 0, nthreads;

    if (!uuids) {
        g_autofree qemuDomainIdent *list = NULL;

        if (qemuDriverListAll(drv, listFlags, &list, &n) < 0)
            return -1;
        listed = g_malloc0(n * 16 + 1);
        for (i = 0; i < n; i++) {
            memcpy(listed + i * 16, list[i].uuid, 16);
            qemuDomainIdentClear(&list[i]);
        }
        uuids = listed;
    } else {
        /* every domain asked for must exist: say which does not here,
         * in the caller's thread */
        for (i = 0; i < n; i++) {
            qemuDomainObj *obj = objLookup(drv, uuids + i * 16);

            if (!obj)
                return -1;
            qemuDomainObjUnref(obj);
        }
    }
    w.uuids = uuids;
    w.n = n;
    w.stats = g_new0(qemuDomainStats, n + 1);
    rc = w.rc = g_new0(int, n + 1);
    /* each domain costs a round trip to its QEMU: ask several at once */
    nthreads = MIN(STATS_THREADS_MAX, n / STATS_PER_THREAD);
    for (i = 1; i < nthreads; i++) {
        GThread *t = g_thread_try_new("iovirt-stats", statsWorker, &w, NULL);

        if (!t)
            break;
        g_ptr_array_add(threads, t);
    }
    statsWorker(&w);
    for (i = 0; i < threads->len; i++)
        g_thread_join(threads->pdata[i]);

    /* keep those read; a listed domain undefined meanwhile is left out */
    for (i = 0; i < n; i++) {
        if (rc[i] == 0)
            w.stats[kept++] = w.stats[i];
    }
    *nout = kept;
    *out = w.stats;
    return 0;
}

/* ---- the host ---- */

#define QEMU_MAX_VCPUS 255 /* the q35 machine without an IOMMU */

/* The number after "key:" in /proc/meminfo, in KiB; 0 when absent. */
static unsigned long long
meminfo(const char *key)
{
    g_autofree char *text = NULL;
    g_autofree char *pat = g_strdup_printf("\n%s:", key);
    g_autofree char *lines = NULL;
    const char *p;

    if (!g_file_get_contents("/proc/meminfo", &text, NULL, NULL))
        return 0;
    /* every key, the first one too, after a newline */
    lines = g_strconcat("\n", text, NULL);
    if (!(p = strstr(lines, pat)))
        return 0;
    return g_ascii_strtoull(p + strlen(pat), NULL, 10);
}

int
qemuDriverNodeInfo(qemuDriver *drv G_GNUC_UNUSED, qemuNodeInfo *info)
{
    g_autofree char *cpuinfo = NULL;
    const char *p;
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    memset(info, 0, sizeof(*info));
    g_strlcpy(info->model, HOST_ARCH, sizeof(info->model));
    info->memoryKiB = meminfo("MemTotal");
    info->cpus = n > 0 ? (int)n : 1;
    info->nodes = 1;
    info->sockets = 1;
    info->cores = info->cpus;
    info->threads = 1;
    if (g_file_get_contents("/proc/cpuinfo", &cpuinfo, NULL, NULL) &&
        (p = strstr(cpuinfo, "cpu MHz")) && (p = strchr(p, ':')))
        info->mhz = (int)g_ascii_strtod(p + 1, NULL);
    return 0;
}

int
qemuDriverFreeMemory(qemuDriver *drv G_GNUC_UNUSED, unsigned long long *bytes)
{
    unsigned long long kib = meminfo("MemFree");

    if (kib == 0) {
        reportError(IOV_ERR_OPERATION_FAILED, "cannot read MemFree in /proc/meminfo");
        return -1;
    }
    *bytes = kib * 1024ULL;
    return 0;
}

int
qemuDriverGetMaxVcpus(qemuDriver *drv G_GNUC_UNUSED, const char *type)
{
    if (type && g_ascii_strcasecmp(type, "qemu") != 0 && g_ascii_strcasecmp(type, "kvm") != 0) {
        reportError(IOV_ERR_INVALID_ARG, "unknown type '%s'", type);
        return -1;
    }
    return QEMU_MAX_VCPUS;
}

char *
qemuDriverGetCapabilities(qemuDriver *drv)
{
    GString *xml = g_string_new("<capabilities>\n");
    g_autofree char *emulator = g_markup_escape_text(drv->binary, -1);

    g_string_append_printf(xml,
                           "  <host>\n"
                           "    <cpu>\n"
                           "      <arch>%s</arch>\n"
                           "    </cpu>\n"
                           "  </host>\n"
                           "  <guest>\n"
                           "    <os_type>hvm</os_type>\n"
                           "    <arch name='%s'>\n"
                           "      <wordsize>64</wordsize>\n"
                           "      <emulator>%s</emulator>\n"
                           "      <machine>q35</machine>\n"
                           "      <domain type='qemu'/>\n"
                           "%s"
                           "    </arch>\n"
                           "  </guest>\n"
                           "</capabilities>\n",
                           HOST_ARCH, HOST_ARCH, emulator,
                           access("/dev/kvm", R_OK | W_OK) == 0 ? "      <domain type='kvm'/>\n"
                                                                : "");
    return g_string_free(xml, FALSE);
}

char *
qemuDriverGetSysinfo(qemuDriver *drv G_GNUC_UNUSED)
{
    static const char *const bios[] = {"vendor", "bios_vendor", "version", "bios_version",
                                       "date",   "bios_date",   NULL};
    static const char *const sys[] = {"manufacturer", "sys_vendor",     "product",
                                      "product_name", "version",        "product_version",
                                      "family",       "product_family", NULL};
    GString *xml = g_string_new("<sysinfo type='smbios'>\n");
    const char *const *sets[] = {bios, sys};
    const char *names[] = {"bios", "system"};
    size_t s;

    for (s = 0; s < G_N_ELEMENTS(sets); s++) {
        const char *const *e;

        g_string_append_printf(xml, "  <%s>\n", names[s]);
        for (e = sets[s]; *e; e += 2) {
            g_autofree char *path = g_build_filename("/sys/class/dmi/id", e[1], NULL);
            g_autofree char *value = NULL;
            g_autofree char *escaped = NULL;

            if (!g_file_get_contents(path, &value, NULL, NULL))
                continue;
            escaped = g_markup_escape_text(g_strstrip(value), -1);
            g_string_append_printf(xml, "    <entry name='%s'>%s</entry>\n", e[0], escaped);
        }
        g_string_append_printf(xml, "  </%s>\n", names[s]);
    }
    g_string_append(xml, "</sysinfo>\n");
    return g_string_free(xml, FALSE);
}

/* ---- devices: hot-plug, unplug and update of disks ---- */

/* {key: value}, the arguments of a QMP command (new reference). */
static json_object *
stringArgs(const char *key, const char *value)
{
    json_object *args = json_object_new_object();

    json_object_object_add(args, key, json_object_new_string(value));
    return args;
}

/* libvirt's VIR_DOMAIN_DEVICE_MODIFY_FORCE: accepted by update, and
 * meaningless for disks (a tray is never locked by the guest here). */
#define DEVICE_MODIFY_FORCE 4u

static domainDiskDef *
parseDiskDoc(const char *xml, bool fromLibvirt)
{
    g_autoptr(GString) dropped = g_string_new(NULL);
    domainDiskDef *disk =
        domainDiskDefParseString(xml, fromLibvirt ? DOMAIN_PARSE_FROM_LIBVIRT : 0, dropped);

    if (disk && dropped->len) {
        g_strdelimit(dropped->str, "\n", ' ');
        logInfo("disk '%s' from a libvirt document: dropped %s", disk->target, dropped->str);
    }
    return disk;
}

/* The definition `def` with `disk` (copied) added at its end; joining a
 * declared group, or a group some disk of `def` is in, a disk that gives
 * no limits of its own takes the group's. Validated (filters naming
 * undeclared groups too); NULL with an error. */
static domainDef *
withDisk(const domainDef *def, const domainDiskDef *disk, const char *domain, bool live)
{
    g_autoptr(domainDef) out = NULL;
    domainDiskDef *copy;
    size_t i;

    if (domainDiskFind(def, disk->target)) {
        reportError(IOV_ERR_OPERATION_INVALID,
                    "target '%s' is already used by a disk in the %s definition of domain '%s'",
                    disk->target, live ? "live" : "persistent", domain);
        return NULL;
    }
    if (!(out = domainDefCopy(def)) || !(copy = domainDiskDefCopy(disk)))
        return NULL;
    copy->unplugPending = false;
    if (copy->throttle.group && throttleDefIsUnlimited(&copy->throttle)) {
        const domainThrottleGroupDef *g = domainThrottleGroupFind(def, copy->throttle.group);

        if (g)
            memcpy(copy->throttle.v, g->limits.v, sizeof(g->limits.v));
        for (i = 0; !g && i < def->ndisks; i++) {
            if (g_strcmp0(def->disks[i]->throttle.group, copy->throttle.group) == 0) {
                throttleDefClear(&copy->throttle);
                throttleDefCopy(&copy->throttle, &def->disks[i]->throttle);
                break;
            }
        }
    }
    out->disks = g_renew(domainDiskDef *, out->disks, out->ndisks + 1);
    out->disks[out->ndisks++] = copy;
    if (domainDefValidate(out) < 0) {
        g_autoptr(iovError) e = utilSaveError();

        reportError(IOV_ERR_CONFIG_UNSUPPORTED, "disk '%s' cannot join domain '%s': %s",
                    disk->target, domain, e ? e->message : "invalid definition");
        return NULL;
    }
    return g_steal_pointer(&out);
}

/* The definition `def` without disk `target`, or with it marked pending
 * (`pending`). New; NULL with an error. */
static domainDef *
withoutDisk(const domainDef *def, const char *target, bool pending)
{
    g_autoptr(domainDef) out = domainDefCopy(def);
    ssize_t i;

    if (!out)
        return NULL;
    if ((i = domainDiskIndex(out, target)) < 0) {
        reportError(IOV_ERR_INTERNAL_ERROR, "disk '%s' vanished from domain '%s'", target,
                    def->name);
        return NULL;
    }
    if (pending) {
        out->disks[i]->unplugPending = true;
        return g_steal_pointer(&out);
    }
    domainDiskDefFree(out->disks[i]);
    memmove(&out->disks[i], &out->disks[i + 1],
            (out->ndisks - (size_t)i - 1) * sizeof(out->disks[0]));
    out->ndisks--;
    return g_steal_pointer(&out);
}

static void
emitDevice(qemuDomainObj *obj, int id, const char *target)
{
    g_autofree char *alias = g_strdup_printf("disk-%s", target);
    qemuDriverEvent ev = {.id = id, .disk = alias};

    emitEvent(obj, &ev);
}

int
qemuDriverAttachDevice(qemuDriver *drv, const unsigned char *uuid, const char *xml,
                       unsigned int flags, bool fromLibvirt)
{
    g_autoptr(domainDiskDef) disk = parseDiskDoc(xml, fromLibvirt);
    g_autoptr(domainDef) newLive = NULL;
    g_autoptr(domainDef) newConfig = NULL;
    qemuDomainObj *obj;
    int ret = -1;

    if (!disk)
        return -1;
    if (!(obj = objBeginJob(drv, uuid)))
        return -1;
    if (resolveImpact(obj, &flags, __func__) < 0)
        goto endjob;
    if (flags & IOV_DOMAIN_AFFECT_LIVE) {
        if (disk->bus != DISK_BUS_VIRTIO) {
            reportError(
                IOV_ERR_OPERATION_UNSUPPORTED,
                "disk '%s': a %s disk cannot be hot-plugged into running domain '%s' (only virtio disks can; a sata disk can be added to the persistent definition)",
                disk->target, domainDiskBusName(disk->bus), obj->name);
            goto endjob;
        }
        if (qemuProcessEnsureMonitor(&drv->pcfg, obj) < 0 ||
            !(newLive = withDisk(obj->live, disk, obj->name, true)))
            goto endjob;
    }
    if ((flags & IOV_DOMAIN_AFFECT_CONFIG) &&
        !(newConfig = withDisk(obj->def, disk, obj->name, false)))
        goto endjob;

    /* the persistent definition first: it can be put back, an unplug
     * needs the guest */
    if (newConfig && writeConfig(drv, newConfig) < 0)
        goto endjob;
    if (newLive && qemuHotplugAttachDisk(&drv->pcfg, obj, obj->live,
                                         domainDiskFind(newLive, disk->target)) < 0) {
        if (newConfig) {
            g_autoptr(iovError) saved = utilSaveError();

            if (writeConfig(drv, obj->def) < 0)
                logError("domain '%s': cannot restore its definition after a failed attach: %s",
                         obj->name, utilLastErrorMessage());
            utilRestoreError(g_steal_pointer(&saved));
        }
        goto endjob;
    }
    publishDefs(obj, g_steal_pointer(&newLive), g_steal_pointer(&newConfig));
    if (flags & IOV_DOMAIN_AFFECT_LIVE) {
        /* a restarted daemon must know the disk: written before the reply */
        saveStatus(drv, obj);
        emitDevice(obj, IOV_DOMAIN_EVENT_ID_DEVICE_ADDED, disk->target);
    }
    qemuDomainLogNote(obj, "disk '%s' attached (%s%s)", disk->target,
                      flags & IOV_DOMAIN_AFFECT_LIVE ? "live" : "",
                      flags == (IOV_DOMAIN_AFFECT_LIVE | IOV_DOMAIN_AFFECT_CONFIG) ? " and config"
                      : flags & IOV_DOMAIN_AFFECT_CONFIG                           ? "config"
                                                                                   : "");
    ret = 0;
endjob:
    objEndJob(obj);
    return ret;
}

/*
 * With the job held, the device of disk `target` gone from QEMU: delete
 * what it leaves (nodes, its group), drop it from the live definition,
 * write the status and tell the clients.
 */
static void
finishRemoval(qemuDriver *drv, qemuDomainObj *obj, const char *target)
{
    const domainDiskDef *d = domainDiskFind(obj->live, target);
    g_autofree char *t = g_strdup(target);
    domainDef *newLive;

    if (!d)
        return;
    if (!(newLive = withoutDisk(obj->live, t, false))) {
        logError("%s", utilLastErrorMessage());
        utilResetError();
        return;
    }
    if (qemuHotplugRemoveDiskBackend(&drv->pcfg, obj, newLive, d) < 0) {
        logWarn("domain '%s': disk '%s' left something in QEMU: %s", obj->name, t,
                utilLastErrorMessage());
        utilResetError();
    }
    publishDefs(obj, newLive, NULL);
    saveStatus(drv, obj);
    qemuDomainLogNote(obj, "disk '%s' removed", t);
    emitDevice(obj, IOV_DOMAIN_EVENT_ID_DEVICE_REMOVED, t);
}

/* The target of a device alias ("disk-vdb"); NULL with an error. */
static char *
aliasTarget(const char *alias)
{
    if (!alias || !g_str_has_prefix(alias, "disk-") || !alias[5]) {
        reportError(
            IOV_ERR_INVALID_ARG,
            "device alias '%s' names no disk: disk aliases are 'disk-' and the target (disk-vdb)",
            alias ? alias : "");
        return NULL;
    }
    return g_strdup(alias + 5);
}

int
qemuDriverDetachDevice(qemuDriver *drv, const unsigned char *uuid, const char *xml,
                       const char *alias, unsigned int flags, bool fromLibvirt)
{
    g_autoptr(domainDiskDef) disk = NULL;
    g_autoptr(domainDef) newLive = NULL;
    g_autoptr(domainDef) newConfig = NULL;
    g_autofree char *target = NULL;
    g_autofree char *devId = NULL;
    qemuDomainEvent *ev = NULL;
    const domainDiskDef *cur;
    qemuDomainObj *obj;
    bool pending = false;
    int ret = -1;

    if (xml) {
        if (!(disk = parseDiskDoc(xml, fromLibvirt)))
            return -1;
        target = g_strdup(disk->target);
    } else if (!(target = aliasTarget(alias))) {
        return -1;
    }
    devId = g_strdup_printf("disk-%s", target);
    if (!(obj = objBeginJob(drv, uuid)))
        return -1;
    if (resolveImpact(obj, &flags, __func__) < 0)
        goto endjob;
    if ((flags & IOV_DOMAIN_AFFECT_CONFIG) && (!findDisk(obj->def, target, obj->name, false) ||
                                               !(newConfig = withoutDisk(obj->def, target, false))))
        goto endjob;
    if (flags & IOV_DOMAIN_AFFECT_LIVE) {
        if (!(cur = findDisk(obj->live, target, obj->name, true)))
            goto endjob;
        if (cur->bus != DISK_BUS_VIRTIO) {
            reportError(
                IOV_ERR_OPERATION_UNSUPPORTED,
                "disk '%s': a %s disk cannot be unplugged from running domain '%s' (only virtio disks can; remove it from the persistent definition with --config)",
                target, domainDiskBusName(cur->bus), obj->name);
            goto endjob;
        }
        if (cur->unplugPending) {
            reportError(
                IOV_ERR_OPERATION_INVALID,
                "disk '%s' of domain '%s': unplug pending: the guest has not released it yet; it goes by itself when it does",
                target, obj->name);
            goto endjob;
        }
        if (qemuProcessEnsureMonitor(&drv->pcfg, obj) < 0)
            goto endjob;
        qemuDomainJobExpectDeviceEvent(obj, "DEVICE_DELETED", devId);
        if (QEMU_WITH_MONITOR(
                obj, mon, qemuMonitorCommand(mon, "device_del", stringArgs("id", devId), NULL)) <
            0) {
            g_autoptr(iovError) saved = utilSaveError();

            qemuDomainEventFree(qemuDomainJobWaitEvent(obj, 0));
            utilRestoreError(g_steal_pointer(&saved));
            goto endjob;
        }
        if ((ev = qemuDomainJobWaitEvent(obj, QEMU_UNPLUG_TIMEOUT_MS))) {
            qemuDomainEventFree(ev);
        } else {
            utilResetError();
            pending = true;
            if (!(newLive = withoutDisk(obj->live, target, true)))
                goto endjob;
        }
    }
    if (newConfig && writeConfig(drv, newConfig) < 0) {
        if (!pending && (flags & IOV_DOMAIN_AFFECT_LIVE))
            finishRemoval(drv, obj, target);
        else if (newLive)
            publishDefs(obj, g_steal_pointer(&newLive), NULL);
        goto endjob;
    }
    publishDefs(obj, g_steal_pointer(&newLive), g_steal_pointer(&newConfig));
    if (flags & IOV_DOMAIN_AFFECT_LIVE) {
        if (!pending) {
            finishRemoval(drv, obj, target);
        } else {
            saveStatus(drv, obj);
            qemuDomainLogNote(obj, "disk '%s': unplug pending (no DEVICE_DELETED within %d ms)",
                              target, QEMU_UNPLUG_TIMEOUT_MS);
            reportError(
                IOV_ERR_OPERATION_TIMEOUT,
                "disk '%s' of domain '%s': unplug pending: the guest did not release it within %d ms; it stays defined and limited, and goes by itself when the guest lets it go",
                target, obj->name, QEMU_UNPLUG_TIMEOUT_MS);
            goto endjob;
        }
    }
    ret = 0;
endjob:
    objEndJob(obj);
    return ret;
}

/* For the event worker: QEMU removed device `devId`; when it is a disk
 * whose unplug is pending, finish its removal (a change: in the job). */
static void
handleDeviceDeleted(qemuDriver *drv, qemuDomainObj *obj, const qemuDomainEvent *ev)
{
    const char *devId = eventString(ev, "device", NULL);
    const domainDiskDef *d;

    if (!devId || !g_str_has_prefix(devId, "disk-"))
        return;
    if (qemuDomainBeginJobFlags(obj, EOF_JOB_TIMEOUT_MS, true) < 0) {
        utilResetError();
        return;
    }
    if (obj->live && obj->monGeneration == ev->generation &&
        (d = domainDiskFind(obj->live, devId + 5)) && d->unplugPending) {
        qemuDomainLogNote(obj, "the guest released disk '%s'", d->target);
        finishRemoval(drv, obj, devId + 5);
    }
    qemuDomainEndJob(obj);
}

/* After a reconnect, with the job held: the disks whose unplug was
 * pending and that QEMU removed while nobody listened are removed. */
static void
finishPendingUnplugs(qemuDriver *drv, qemuDomainObj *obj)
{
    g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func(g_free);
    size_t i;

    for (i = 0; obj->live && i < obj->live->ndisks; i++) {
        const domainDiskDef *d = obj->live->disks[i];
        g_autofree char *devId = NULL;
        int rc;

        if (!d->unplugPending)
            continue;
        devId = qemuDiskDeviceId(d);
        if ((rc = qemuHotplugDevicePresent(obj, devId)) < 0) {
            logWarn("domain '%s': %s", obj->name, utilLastErrorMessage());
            utilResetError();
            return;
        }
        if (rc == 0)
            g_ptr_array_add(gone, g_strdup(d->target));
    }
    for (i = 0; i < gone->len; i++) {
        qemuDomainLogNote(obj, "disk '%s' was released while iovirt was not watching",
                          (char *)gone->pdata[i]);
        finishRemoval(drv, obj, gone->pdata[i]);
    }
}

/* The name of the first thing other than its limits in which `a` and
 * `b` (one disk) differ, or NULL. */
static const char *
diskDifference(const domainDiskDef *a, const domainDiskDef *b)
{
    g_autofree char *sa = domainDiskSourceString(a);
    g_autofree char *sb = domainDiskSourceString(b);

    if (a->device != b->device)
        return "device";
    if (a->bus != b->bus)
        return "bus";
    if (a->type != b->type || g_strcmp0(sa, sb) != 0)
        return "source";
    if (a->format != b->format)
        return "driver type (format)";
    if (a->cache != b->cache)
        return "cache";
    if (a->readonly != b->readonly)
        return "readonly";
    return NULL;
}

/* Whether `next` differs from cdrom `cur` in its medium (source or
 * format) and in nothing else but its limits. */
static bool
mediumChange(const domainDiskDef *cur, const domainDiskDef *next)
{
    g_autofree char *a = domainDiskSourceString(cur);
    g_autofree char *b = domainDiskSourceString(next);

    return cur->device == DISK_DEVICE_CDROM && next->device == DISK_DEVICE_CDROM &&
           cur->bus == next->bus && cur->cache == next->cache && cur->readonly == next->readonly &&
           (cur->type != next->type || strcmp(a, b) != 0 || cur->format != next->format);
}

/* `def` with disk `next` in the place of the disk of its target, whose
 * limits it keeps. New; NULL with an error. */
static domainDef *
withMedium(const domainDef *def, const domainDiskDef *next)
{
    g_autoptr(domainDef) out = domainDefCopy(def);
    domainDiskDef *copy;
    ssize_t i;

    if (!out || (i = domainDiskIndex(out, next->target)) < 0 || !(copy = domainDiskDefCopy(next)))
        return NULL;
    throttleDefClear(&copy->throttle);
    throttleDefCopy(&copy->throttle, &out->disks[i]->throttle);
    copy->unplugPending = false;
    domainDiskDefFree(out->disks[i]);
    out->disks[i] = copy;
    if (domainDefValidate(out) < 0)
        return NULL;
    return g_steal_pointer(&out);
}

/* A cdrom's new medium, or none, live and/or in the definition; its
 * limits and group stay. */
static int
changeMedium(qemuDriver *drv, const unsigned char *uuid, const domainDiskDef *next,
             unsigned int flags)
{
    g_autoptr(domainDef) newLive = NULL;
    g_autoptr(domainDef) newConfig = NULL;
    qemuDomainObj *obj;
    int ret = -1;

    if (!(obj = objBeginJob(drv, uuid)))
        return -1;
    if (resolveImpact(obj, &flags, __func__) < 0)
        goto endjob;
    if ((flags & IOV_DOMAIN_AFFECT_LIVE) && (qemuProcessEnsureMonitor(&drv->pcfg, obj) < 0 ||
                                             !findDisk(obj->live, next->target, obj->name, true) ||
                                             !(newLive = withMedium(obj->live, next))))
        goto endjob;
    if ((flags & IOV_DOMAIN_AFFECT_CONFIG) &&
        (!findDisk(obj->def, next->target, obj->name, false) ||
         !(newConfig = withMedium(obj->def, next))))
        goto endjob;
    if (newConfig && writeConfig(drv, newConfig) < 0)
        goto endjob;
    if (newLive &&
        qemuHotplugChangeMedium(&drv->pcfg, obj, obj->live, domainDiskFind(obj->live, next->target),
                                domainDiskFind(newLive, next->target)) < 0) {
        if (newConfig) {
            g_autoptr(iovError) saved = utilSaveError();

            if (writeConfig(drv, obj->def) < 0)
                logError(
                    "domain '%s': cannot restore its definition after a failed media change: %s",
                    obj->name, utilLastErrorMessage());
            utilRestoreError(g_steal_pointer(&saved));
        }
        goto endjob;
    }
    publishDefs(obj, g_steal_pointer(&newLive), g_steal_pointer(&newConfig));
    if (flags & IOV_DOMAIN_AFFECT_LIVE)
        saveStatus(drv, obj);
    ret = 0;
endjob:
    objEndJob(obj);
    return ret;
}

/* A change of one disk's chain of throttle filters, with (`chg`) or
 * without (NULL) a change of its own limits. */
typedef struct {
    const char *target;
    const throttleChange *chg;
    char *const *filters;
    size_t nfilters;
} filtersChange;

/* `def` with the disk fc->target given filters fc->filters (and limits
 * fc->chg), validated: a filter must name a declared group, once. */
static domainDef *
computeFilters(const domainDef *def, bool live, const char *domain, const void *opaque)
{
    const filtersChange *fc = opaque;
    g_autoptr(domainDef) out = NULL;
    domainDiskDef *d;
    size_t i;

    if (fc->chg)
        out = computeChange(def, fc->target, fc->chg, live, domain, NULL);
    else if (findDisk(def, fc->target, domain, live))
        out = domainDefCopy(def);
    if (!out)
        return NULL;
    d = domainDiskFind(out, fc->target);
    for (i = 0; i < d->nfilters; i++)
        g_free(d->filters[i]);
    g_free(d->filters);
    d->filters = g_new0(char *, fc->nfilters + 1);
    for (i = 0; i < fc->nfilters; i++)
        d->filters[i] = g_strdup(fc->filters[i]);
    d->nfilters = fc->nfilters;
    return validatedChange(g_steal_pointer(&out));
}

int
qemuDriverSetDiskThrottleFilters(qemuDriver *drv, const unsigned char *uuid, const char *disk,
                                 const char *const *groups, size_t ngroups, unsigned int flags)
{
    filtersChange fc = {disk, NULL, (char *const *)groups, ngroups};

    if (ngroups > DOMAIN_MAX_THROTTLE_FILTERS) {
        reportError(IOV_ERR_INVALID_ARG, "disk '%s': at most %d throttle filters per disk",
                    disk ? disk : "", DOMAIN_MAX_THROTTLE_FILTERS);
        return -1;
    }
    return changeDefinitions(drv, uuid, flags, computeFilters, &fc, __func__);
}

int
qemuDriverUpdateDevice(qemuDriver *drv, const unsigned char *uuid, const char *xml,
                       unsigned int flags, bool fromLibvirt)
{
    g_autoptr(domainDiskDef) disk = parseDiskDoc(xml, fromLibvirt);
    throttleChange chg = {0};
    qemuDomainObj *obj;
    unsigned int resolved;
    bool medium = false, sameLimits = true, sameFilters = true;
    int i, rc;

    if (!disk)
        return -1;
    flags &= ~DEVICE_MODIFY_FORCE;
    if (!(obj = objFromUUID(drv, uuid)))
        return -1;
    resolved = flags;
    if (resolveImpact(obj, &resolved, __func__) < 0) {
        objEnd(obj);
        return -1;
    }
    for (i = 0; i < 2; i++) {
        bool live = i == 0;
        const domainDiskDef *cur;
        const char *what;

        if (!(resolved & (live ? IOV_DOMAIN_AFFECT_LIVE : IOV_DOMAIN_AFFECT_CONFIG)))
            continue;
        if (!(cur = findDisk(live ? obj->live : obj->def, disk->target, obj->name, live))) {
            objEnd(obj);
            return -1;
        }
        sameLimits &= throttleDefEqual(&cur->throttle, &disk->throttle);
        sameFilters &= domainDiskSameFilters(cur, disk);
        if (mediumChange(cur, disk)) {
            medium = true;
            continue;
        }
        if ((what = diskDifference(cur, disk))) {
            reportError(
                IOV_ERR_OPERATION_UNSUPPORTED,
                "disk '%s' of domain '%s': its %s cannot be changed by an update (only its limits can): detach it and attach the new one",
                disk->target, obj->name, what);
            objEnd(obj);
            return -1;
        }
    }
    objEnd(obj);

    if (medium && changeMedium(drv, uuid, disk, flags) < 0)
        return -1;
    if (medium && sameLimits && sameFilters)
        return 0;
    /* the document is the whole new state of the limits */
    for (i = 0; i < THROTTLE_NUM_VALUES; i++)
        throttleChangeSet(&chg, i, disk->throttle.v[i]);
    throttleChangeSetGroup(&chg, disk->throttle.group ? disk->throttle.group : "");
    if (sameFilters) {
        rc = qemuDriverSetBlockIoThrottle(drv, uuid, disk->target, &chg, flags, NULL);
    } else {
        /* and of its chain: rebuilt live with its limits, in one job */
        filtersChange fc = {disk->target, &chg, disk->filters, disk->nfilters};

        rc = changeDefinitions(drv, uuid, flags, computeFilters, &fc, __func__);
    }
    throttleChangeClear(&chg);
    return rc;
}

char *
qemuDriverQMPQuery(qemuDriver *drv, const unsigned char *uuid, const char *cmd, const char *path)
{
    g_autoptr(qemuDomainObj) obj = objFromUUID(drv, uuid);
    json_object *args = NULL, *reply = NULL;
    qemuMonitor *mon;
    char *out;
    int rc;

    if (!obj)
        return NULL;
    mon = obj->mon ? qemuMonitorRef(obj->mon) : NULL;
    g_mutex_unlock(&obj->lock);
    if (!mon) {
        reportError(IOV_ERR_OPERATION_INVALID, "domain '%s' has no QEMU monitor connection",
                    obj->name);
        return NULL;
    }
    if (!g_str_has_prefix(cmd, "query-") && strcmp(cmd, "qom-list") != 0) {
        qemuMonitorUnref(mon);
        reportError(IOV_ERR_INVALID_ARG, "'%s' is not a query", cmd);
        return NULL;
    }
    if (path)
        args = stringArgs("path", path);
    rc = qemuMonitorCommand(mon, cmd, args, &reply);
    qemuMonitorUnref(mon);
    if (rc < 0)
        return NULL;
    out = g_strdup(json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN));
    json_object_put(reply);
    return out;
}

/* ---- the console ---- */

/* The pty QEMU opened for chardev `label`, from query-chardev: a new
 * string, or NULL with an error. */
static char *
consolePtyPath(qemuMonitor *mon, const char *label, const char *domName)
{
    json_object *ret = NULL;
    char *path = NULL;
    size_t i;

    if (qemuMonitorCommand(mon, "query-chardev", NULL, &ret) < 0)
        return NULL;
    for (i = 0; json_object_is_type(ret, json_type_array) && i < json_object_array_length(ret);
         i++) {
        json_object *c = json_object_array_get_idx(ret, i);
        json_object *l, *f;
        const char *file;

        if (!json_object_object_get_ex(c, "label", &l) ||
            g_strcmp0(json_object_get_string(l), label) != 0)
            continue;
        if (!json_object_object_get_ex(c, "filename", &f) || !(file = json_object_get_string(f)) ||
            !g_str_has_prefix(file, "pty:"))
            break;
        path = g_strdup(file + 4);
        break;
    }
    json_object_put(ret);
    if (!path)
        reportError(IOV_ERR_OPERATION_FAILED,
                    "QEMU reports no pty '%s' for the console of domain '%s'", label, domName);
    return path;
}

/* Open the pty `path` of a console: raw, non-blocking. */
static int
consoleOpenPty(const char *path)
{
    struct termios t;
    int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);

    if (fd < 0) {
        reportSystemError(errno, "cannot open the console pty '%s'", path);
        return -1;
    }
    if (tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(fd, TCSANOW, &t);
    }
    return fd;
}

/* Connect to the unix socket `path` QEMU listens on; non-blocking. */
static int
consoleOpenUnix(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int fd;

    if (strlen(path) >= sizeof(addr.sun_path)) {
        reportError(IOV_ERR_INTERNAL_ERROR, "console socket path '%s' is too long", path);
        return -1;
    }
    strcpy(addr.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        reportSystemError(errno, "cannot create a socket for the console");
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        reportSystemError(errno, "cannot connect to the console socket '%s'", path);
        close(fd);
        return -1;
    }
    g_unix_set_fd_nonblocking(fd, TRUE, NULL);
    return fd;
}

int
qemuDriverOpenConsole(qemuDriver *drv, const unsigned char *uuid, const char *devName,
                      char **domName)
{
    qemuDomainObj *obj = objFromUUID(drv, uuid);
    g_autofree char *name = NULL;
    g_autofree char *path = NULL;
    g_autofree char *pty = NULL;
    qemuMonitor *mon = NULL;
    int type;
    int fd = -1;

    if (!obj)
        return -1;
    name = g_strdup(obj->name);
    if (checkActive(obj) < 0) {
        objEnd(obj);
        return -1;
    }
    if (devName && strcmp(devName, "serial0") != 0 && strcmp(devName, "console0") != 0) {
        reportError(IOV_ERR_INVALID_ARG,
                    "cannot find character device %s: domain '%s' has serial0 (console0) only",
                    devName, name);
        objEnd(obj);
        return -1;
    }
    {
        const domainChrDef *chr =
            obj->live->serial.type != CHR_TYPE_NONE ? &obj->live->serial : &obj->live->console;

        type = chr->type;
        path = g_strdup(chr->path);
    }
    if (type == CHR_TYPE_PTY) {
        if (obj->mon)
            mon = qemuMonitorRef(obj->mon);
        else
            reportError(IOV_ERR_OPERATION_INVALID, "domain '%s' has no QEMU monitor connection",
                        name);
    }
    g_mutex_unlock(&obj->lock);

    switch (type) {
    case CHR_TYPE_PTY:
        if (mon && !(pty = consolePtyPath(mon, "serial0", name)))
            queryFailed(obj, mon);
        if (pty)
            fd = consoleOpenPty(pty);
        break;
    case CHR_TYPE_UNIX:
        fd = consoleOpenUnix(path);
        break;
    case CHR_TYPE_FILE:
        reportError(
            IOV_ERR_OPERATION_UNSUPPORTED,
            "domain '%s' has no console: its serial port writes to the file '%s' (a console needs <serial type='pty'/> or type='unix')",
            name, path);
        break;
    default:
        reportError(
            IOV_ERR_OPERATION_UNSUPPORTED,
            "domain '%s' has no console: its serial port writes to the daemon's log (a console needs <serial type='pty'/> or type='unix')",
            name);
        break;
    }
    qemuMonitorUnref(mon);
    qemuDomainObjUnref(obj);
    if (fd >= 0 && domName)
        *domName = g_steal_pointer(&name);
    return fd;
}

/* ---- monitor passthrough ---- */

/*
 * After the monitor passthrough, QEMU may hold other limits than the live
 * definition: the live limits of `disk` read back are QEMU's (qom-get of
 * its own group), its group name kept from the definition.
 */
static int
readBackFromQemu(qemuDriver *drv, const unsigned char *uuid, const char *disk, throttleDef *out)
{
    throttleDef inQemu = {0};

    if (qemuDriverQueryQEMULimits(drv, uuid, disk, &inQemu) < 0) {
        throttleDefClear(out);
        return -1;
    }
    memcpy(out->v, inQemu.v, sizeof(inQemu.v));
    throttleDefClear(&inQemu);
    return 0;
}

/* Mark `obj` tainted by the monitor passthrough (its job held): logged,
 * and kept in its status file, the first time only. */
static void
taint(qemuDriver *drv, qemuDomainObj *obj, const char *command)
{
    if (obj->tainted)
        return;
    g_mutex_lock(&obj->lock);
    obj->tainted = true;
    g_mutex_unlock(&obj->lock);
    logWarn("domain '%s' is tainted: command '%s' was passed to its QEMU monitor", obj->name,
            command);
    qemuDomainLogNote(
        obj,
        "tainted: command '%s' was passed to the QEMU monitor; limits are read back from QEMU from now on",
        command);
    saveStatus(drv, obj);
}

int
qemuDriverMonitorCommand(qemuDriver *drv, const unsigned char *uuid, const char *cmd,
                         unsigned int flags, char **result)
{
    json_object *parsed = NULL;
    json_object *exec = NULL;
    json_object *arguments = NULL;
    json_object *reply = NULL;
    json_object *out;
    g_autofree char *name = NULL;
    qemuDomainObj *obj = NULL;
    int ret = -1;

    if (flags & IOV_DOMAIN_QEMU_MONITOR_COMMAND_HMP) {
        reportError(
            IOV_ERR_ARGUMENT_UNSUPPORTED,
            "human monitor (HMP) commands are not supported: give a QMP command as JSON, such as '{\"execute\":\"query-status\"}'");
        return -1;
    }
    if (flags) {
        reportError(IOV_ERR_INVALID_ARG, "unsupported flags (0x%x) in function %s", flags,
                    __func__);
        return -1;
    }
    parsed = json_tokener_parse(cmd);
    if (!parsed || !json_object_is_type(parsed, json_type_object) ||
        !json_object_object_get_ex(parsed, "execute", &exec) ||
        !json_object_is_type(exec, json_type_string)) {
        reportError(
            IOV_ERR_INVALID_ARG,
            "monitor command '%s' is not a QMP command: a JSON object with a string \"execute\" member is needed",
            cmd);
        goto cleanup;
    }
    if (json_object_object_get_ex(parsed, "arguments", &arguments) &&
        !json_object_is_type(arguments, json_type_object)) {
        reportError(IOV_ERR_INVALID_ARG,
                    "monitor command '%s': \"arguments\" must be a JSON object", cmd);
        goto cleanup;
    }
    name = g_strdup(json_object_get_string(exec));
    if (!(obj = objBeginJob(drv, uuid)))
        goto cleanup;
    if (checkActive(obj) < 0 || qemuProcessEnsureMonitor(&drv->pcfg, obj) < 0)
        goto endjob;
    /* tainted before it is sent: it may change QEMU even if it fails */
    taint(drv, obj, name);
    if (arguments)
        json_object_get(arguments); /* the monitor takes this reference over */
    if (QEMU_WITH_MONITOR(obj, mon, qemuMonitorCommand(mon, name, arguments, &reply)) < 0)
        goto endjob;
    out = json_object_new_object();
    json_object_object_add(out, "return", reply ? reply : json_object_new_object());
    *result = g_strdup(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN));
    json_object_put(out);
    ret = 0;
endjob:
    objEndJob(obj);
cleanup:
    json_object_put(parsed);
    return ret;
}

int
qemuDriverGetMessages(qemuDriver *drv, const unsigned char *uuid, unsigned int flags, char ***msgs)
{
    qemuDomainObj *obj;
    GPtrArray *list;

    if (flags & ~(unsigned int)(IOV_DOMAIN_MESSAGE_DEPRECATION | IOV_DOMAIN_MESSAGE_TAINTING)) {
        reportError(IOV_ERR_INVALID_ARG, "unsupported flags (0x%x) in function %s", flags,
                    __func__);
        return -1;
    }
    if (!(obj = objFromUUID(drv, uuid)))
        return -1;
    list = g_ptr_array_new();
    if (obj->live && obj->tainted && (flags == 0 || (flags & IOV_DOMAIN_MESSAGE_TAINTING)))
        g_ptr_array_add(list, g_strdup("tainted: custom monitor control commands issued"));
    objEnd(obj);
    g_ptr_array_add(list, NULL);
    *msgs = (char **)g_ptr_array_free(list, FALSE);
    return (int)g_strv_length(*msgs);
}

/* ---- for the migration code (qemu_driver_internal.h) ---- */

qemuDomainObj *
qemuDriverObjLookup(qemuDriver *drv, const unsigned char *uuid)
{
    return objLookup(drv, uuid);
}

qemuDomainObj *
qemuDriverObjAddIncoming(qemuDriver *drv, const char *name, const unsigned char *uuid, bool *kept)
{
    g_autofree char *key = uuidString(uuid);
    qemuDomainObj *obj = NULL;
    qemuDomainObj *own = NULL;
    qemuDomainObj *byName, *byUUID;

    *kept = false;
    g_mutex_lock(&drv->lock);
    byName = g_hash_table_lookup(drv->byName, name);
    byUUID = g_hash_table_lookup(drv->byUUID, key);
    if (byName && byName == byUUID) {
        /* its own saved definition, from an earlier stay here: looked at
         * below, under its own lock (never with the driver's) */
        own = qemuDomainObjRef(byName);
    } else if (byName || byUUID) {
        reportError(
            IOV_ERR_DOM_EXIST,
            "domain '%s' already exists with uuid %s here: a migration cannot bring another",
            byUUID ? byUUID->name : name, key);
    } else {
        /* visible at once, its job held by the migration */
        obj = newObj(drv, name, uuid);
        obj->job = true;
        tablesAdd(drv, obj);
    }
    g_mutex_unlock(&drv->lock);
    if (!own)
        return obj;

    /* the guest comes back to it if it is shut off and nobody changes it
     * now; taking its job here keeps it from being undefined meanwhile */
    g_mutex_lock(&own->lock);
    if (own->def && !own->live && !own->job && !own->removed) {
        own->job = true;
        *kept = true;
    }
    g_mutex_unlock(&own->lock);
    if (*kept)
        return own;
    qemuDomainObjUnref(own);
    reportError(IOV_ERR_DOM_EXIST, "domain '%s' is running or busy here: a migration cannot bring it",
                name);
    return NULL;
}

void
qemuDriverObjRemove(qemuDriver *drv, qemuDomainObj *obj)
{
    removeObj(drv, obj);
}

const qemuProcessConfig *
qemuDriverProcessConfig(qemuDriver *drv)
{
    return &drv->pcfg;
}

int
qemuDriverJobTimeoutMs(qemuDriver *drv)
{
    return drv->jobTimeoutMs;
}

int
qemuDriverAllocId(qemuDriver *drv)
{
    int id;

    g_mutex_lock(&drv->lock);
    id = drv->nextId++;
    g_mutex_unlock(&drv->lock);
    return id;
}

void
qemuDriverEmitLifecycle(qemuDomainObj *obj, int event, int detail)
{
    emitLifecycle(obj, event, detail);
}

void
qemuDriverSaveStatusOf(qemuDriver *drv, qemuDomainObj *obj)
{
    saveStatus(drv, obj);
}

int
qemuDriverDefineOf(qemuDriver *drv, qemuDomainObj *obj, domainDef *def)
{
    bool added = !obj->def;

    if (replaceConfig(drv, obj, def) < 0)
        return -1;
    emitLifecycle(obj, IOV_DOMAIN_EVENT_DEFINED,
                  added ? IOV_DOMAIN_EVENT_DEFINED_ADDED : IOV_DOMAIN_EVENT_DEFINED_UPDATED);
    return 0;
}

int
qemuDriverUndefineOf(qemuDriver *drv, qemuDomainObj *obj)
{
    g_autofree char *path = configPath(drv, obj->name);
    g_autoptr(domainDef) old = NULL;

    if (!obj->def)
        return 0;
    if (unlink(path) < 0 && errno != ENOENT) {
        reportSystemError(errno, "cannot remove the definition '%s'", path);
        return -1;
    }
    removeAutostartLink(drv, obj);
    g_mutex_lock(&obj->lock);
    old = g_steal_pointer(&obj->def);
    obj->autostart = false;
    g_mutex_unlock(&obj->lock);
    emitLifecycle(obj, IOV_DOMAIN_EVENT_UNDEFINED, IOV_DOMAIN_EVENT_UNDEFINED_REMOVED);
    return 0;
}

GPtrArray *
qemuDriverListObjs(qemuDriver *drv)
{
    GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)qemuDomainObjUnref);
    GHashTableIter it;
    gpointer v;

    g_mutex_lock(&drv->lock);
    g_hash_table_iter_init(&it, drv->byUUID);
    while (g_hash_table_iter_next(&it, NULL, &v))
        g_ptr_array_add(list, qemuDomainObjRef(v));
    g_mutex_unlock(&drv->lock);
    return list;
}
