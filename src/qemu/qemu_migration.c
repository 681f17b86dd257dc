/*
 * qemu_migration.c: live migration of a running guest between two
 * daemons (see qemu_migration.h for the sequence)
 *
 * The job. Each side holds the domain's job from its first step to its
 * last, across the client's calls: obj->migration (under the lock) says
 * so, and qemuDomainBeginJob refuses any other change at once while it
 * is set. QEMU's MIGRATION events update obj->migration->status from the
 * monitor I/O thread (qemuDomainQueueEvent) and wake the job holder,
 * which waits on jobCond; the job is never taken for them.
 *
 * What travels is the live definition: every disk's limits as in force
 * (live-only changes included), hot-plugged disks, declared groups and
 * chains. The destination's QEMU is started from it paused, waiting for
 * the stream (-incoming defer), its limits applied by the same path as a
 * start, so they are in force before the guest's first instruction
 * there. QEMU does not carry a throttle group's bucket: the guest starts
 * on the destination with full buckets (a burst may pass at once).
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "qemu_command.h"
#include "qemu_driver_internal.h"
#include "qemu_migration.h"
#include "qemu_process.h"
#include "util/error.h"
#include "util/log.h"

#define IOV_FROM_THIS IOV_FROM_QEMU

G_DEFINE_AUTOPTR_CLEANUP_FUNC(json_object, json_object_put)

/* how long the stream may take, and a destination waits for its end
 * after the source says it completed */
#define MIGRATION_TIMEOUT_MS (10 * 60 * 1000)
#define FINISH_WAIT_MS 30000
#define POLL_MS 1000

/* the listening side's configuration (qemuMigrationConfigure) */
static GMutex configLock;
static char *listenAddress;
static int portMin = 49152, portMax = 49215;
static GHashTable *portsInUse; /* configLock: ports of migrations under way */
static gint underWay;          /* atomic: migrations holding a job, every driver */

void
qemuMigrationConfigure(const char *address, int min, int max)
{
    g_mutex_lock(&configLock);
    g_free(listenAddress);
    listenAddress = g_strdup(address);
    if (min > 0 && max >= min) {
        portMin = min;
        portMax = max;
    }
    g_mutex_unlock(&configLock);
}

static char *
configuredAddress(void)
{
    char *a;

    g_mutex_lock(&configLock);
    a = g_strdup(listenAddress ? listenAddress : "127.0.0.1");
    g_mutex_unlock(&configLock);
    return a;
}

/* Whether nothing listens on `port` of `address` now. */
static bool
portFree(const char *address, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd, one = 1;
    bool ok;

    if (inet_pton(AF_INET, address, &sa.sin_addr) != 1)
        sa.sin_addr.s_addr = htonl(INADDR_ANY);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

/* A port of the range that is free and not given to another migration
 * (released with portRelease), or -1 with an error. */
static int
portAcquire(const char *address)
{
    int port, ret = -1;

    g_mutex_lock(&configLock);
    if (!portsInUse)
        portsInUse = g_hash_table_new(g_direct_hash, g_direct_equal);
    for (port = portMin; port <= portMax; port++) {
        if (g_hash_table_contains(portsInUse, GINT_TO_POINTER(port)) || !portFree(address, port))
            continue;
        g_hash_table_add(portsInUse, GINT_TO_POINTER(port));
        ret = port;
        break;
    }
    if (ret < 0)
        reportError(
            IOV_ERR_OPERATION_FAILED,
            "no free migration port on %s in %d-%d (migration_port_min, migration_port_max)",
            address, portMin, portMax);
    g_mutex_unlock(&configLock);
    return ret;
}

static void
portRelease(int port)
{
    if (port <= 0)
        return;
    g_mutex_lock(&configLock);
    if (portsInUse)
        g_hash_table_remove(portsInUse, GINT_TO_POINTER(port));
    g_mutex_unlock(&configLock);
}

/* ---- the cookie ---- */

typedef struct {
    int version;
    char *name;
    unsigned char uuid[16];
    char *host;
    unsigned long long totalTimeMs, downtimeMs;
} cookieData;

static void
cookieClear(cookieData *c)
{
    g_free(c->name);
    g_free(c->host);
    memset(c, 0, sizeof(*c));
}

static char *
cookieFormat(const char *name, const unsigned char *uuid, unsigned long long totalTimeMs,
             unsigned long long downtimeMs)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    char uuidStr[37];

    domainUUIDFormat(uuid, uuidStr);
    g_key_file_set_integer(kf, "migration", "version", QEMU_MIGRATION_COOKIE_VERSION);
    g_key_file_set_string(kf, "migration", "name", name);
    g_key_file_set_string(kf, "migration", "uuid", uuidStr);
    g_key_file_set_string(kf, "migration", "host", g_get_host_name());
    if (totalTimeMs)
        g_key_file_set_uint64(kf, "migration", "total-time-ms", totalTimeMs);
    if (downtimeMs)
        g_key_file_set_uint64(kf, "migration", "downtime-ms", downtimeMs);
    return g_key_file_to_data(kf, NULL, NULL);
}

/* Parse a cookie; an empty one (a step that failed sends none) leaves
 * *c zeroed and succeeds. */
static int
cookieParse(const char *text, cookieData *c)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GError) gerr = NULL;
    g_autofree char *uuid = NULL;

    memset(c, 0, sizeof(*c));
    if (!text || !*text)
        return 0;
    if (!g_key_file_load_from_data(kf, text, strlen(text), G_KEY_FILE_NONE, &gerr)) {
        reportError(
            IOV_ERR_INVALID_ARG,
            "migration cookie: not iovirt's (%s): the other side is not an iovirt daemon of this version",
            gerr->message);
        return -1;
    }
    c->version = g_key_file_get_integer(kf, "migration", "version", NULL);
    if (c->version != QEMU_MIGRATION_COOKIE_VERSION) {
        reportError(IOV_ERR_ARGUMENT_UNSUPPORTED,
                    "migration cookie: version %d is not supported (this daemon speaks version %d)",
                    c->version, QEMU_MIGRATION_COOKIE_VERSION);
        return -1;
    }
    c->name = g_key_file_get_string(kf, "migration", "name", NULL);
    uuid = g_key_file_get_string(kf, "migration", "uuid", NULL);
    if (!c->name || !uuid || domainUUIDParse(uuid, c->uuid) < 0) {
        reportError(IOV_ERR_INVALID_ARG, "migration cookie: no valid domain name and uuid");
        cookieClear(c);
        return -1;
    }
    c->host = g_key_file_get_string(kf, "migration", "host", NULL);
    c->totalTimeMs = g_key_file_get_uint64(kf, "migration", "total-time-ms", NULL);
    c->downtimeMs = g_key_file_get_uint64(kf, "migration", "downtime-ms", NULL);
    return 0;
}

/* ---- the migration state of a domain ---- */

static void
migrationFree(qemuDomainMigration *m)
{
    if (!m)
        return;
    g_free(m->status);
    g_free(m);
}

/* With the job held: mark it a migration's (refusing other changes). */
static void
migrationStart(qemuDomainObj *obj, bool source, unsigned int flags, void *owner)
{
    qemuDomainMigration *m = g_new0(qemuDomainMigration, 1);

    m->source = source;
    m->owner = owner;
    m->flags = flags;
    m->started = g_get_real_time();
    g_mutex_lock(&obj->lock);
    m->wasRunning = obj->state == IOV_DOMAIN_RUNNING;
    obj->migration = m;
    g_mutex_unlock(&obj->lock);
    g_atomic_int_inc(&underWay);
}

/* The migration ends, and the job with it. */
static void
migrationEnd(qemuDomainObj *obj)
{
    qemuDomainMigration *m;

    g_mutex_lock(&obj->lock);
    m = g_steal_pointer(&obj->migration);
    g_mutex_unlock(&obj->lock);
    if (m) {
        portRelease(m->port);
        g_atomic_int_dec_and_test(&underWay);
    }
    migrationFree(m);
    qemuDomainEndJob(obj);
}

/* The domain `uuid` whose job a migration holds, for its next step;
 * `source`: which side this is. Referenced; NULL with an error. */
static qemuDomainObj *
migrationLookup(qemuDriver *drv, const unsigned char *uuid, bool source)
{
    qemuDomainObj *obj = qemuDriverObjLookup(drv, uuid);
    bool ok;

    if (!obj)
        return NULL;
    g_mutex_lock(&obj->lock);
    ok = obj->migration && obj->migration->source == source && !obj->removed;
    g_mutex_unlock(&obj->lock);
    if (!ok) {
        reportError(IOV_ERR_OPERATION_INVALID,
                    "domain '%s': no migration of it is in progress here", obj->name);
        qemuDomainObjUnref(obj);
        return NULL;
    }
    return obj;
}

static int
setEventsCapability(qemuDomainObj *obj)
{
    json_object *args = json_object_new_object();
    json_object *caps = json_object_new_array();
    json_object *cap = json_object_new_object();

    json_object_object_add(cap, "capability", json_object_new_string("events"));
    json_object_object_add(cap, "state", json_object_new_boolean(1));
    json_object_array_add(caps, cap);
    json_object_object_add(args, "capabilities", caps);
    return QEMU_WITH_MONITOR(obj, mon,
                             qemuMonitorCommand(mon, "migrate-set-capabilities", args, NULL));
}

static unsigned long long
jsonULL(json_object *o, const char *key)
{
    json_object *v;

    if (!o || !json_object_object_get_ex(o, key, &v))
        return 0;
    return (unsigned long long)json_object_get_int64(v);
}

/* QEMU's query-migrate reply into `out` (type from its status). */
static void
jobInfoFromQuery(json_object *r, qemuMigrationJobInfo *out)
{
    json_object *ram = NULL, *st = NULL;
    const char *status = "";

    if (r && json_object_object_get_ex(r, "status", &st))
        status = json_object_get_string(st);
    if (r)
        json_object_object_get_ex(r, "ram", &ram);
    out->memTotal = jsonULL(ram, "total");
    out->memProcessed = jsonULL(ram, "transferred");
    out->memRemaining = jsonULL(ram, "remaining");
    out->memBps = (unsigned long long)(jsonULL(ram, "mbps") * 1000000ULL / 8);
    out->dataTotal = out->memTotal;
    out->dataProcessed = out->memProcessed;
    out->dataRemaining = out->memRemaining;
    out->totalTimeMs = jsonULL(r, "total-time");
    if (r && json_object_object_get_ex(r, "downtime", &st)) {
        out->downtimeMs = jsonULL(r, "downtime");
        out->haveDowntime = true;
    }
    if (strcmp(status, "completed") == 0)
        out->type = IOV_DOMAIN_JOB_COMPLETED;
    else if (strcmp(status, "failed") == 0)
        out->type = IOV_DOMAIN_JOB_FAILED;
    else if (strcmp(status, "cancelled") == 0)
        out->type = IOV_DOMAIN_JOB_CANCELLED;
    else
        out->type = IOV_DOMAIN_JOB_UNBOUNDED;
}

static bool
statusFinal(const char *s)
{
    return s &&
           (strcmp(s, "completed") == 0 || strcmp(s, "failed") == 0 || strcmp(s, "cancelled") == 0);
}

/*
 * With the job held: wait until QEMU's migration status is final, its
 * monitor ends, or `timeoutMs` passes. The events wake us; query-migrate
 * every POLL_MS covers a QEMU that sent none. Returns the final status
 * (new), or NULL with an error.
 */
static char *
waitMigration(qemuDomainObj *obj, int timeoutMs)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeoutMs * 1000;

    for (;;) {
        g_autoptr(json_object) r = NULL;
        json_object *st;
        gint64 wake = MIN(deadline, g_get_monotonic_time() + POLL_MS * 1000);
        char *status = NULL;
        bool gone;

        g_mutex_lock(&obj->lock);
        while (!statusFinal(obj->migration->status) && !obj->migration->monitorGone &&
               qemuDomainJobCondWaitUntil(obj, wake))
            ;
        if (statusFinal(obj->migration->status))
            status = g_strdup(obj->migration->status);
        gone = obj->migration->monitorGone;
        g_mutex_unlock(&obj->lock);
        if (status)
            return status;
        if (gone) {
            reportError(IOV_ERR_OPERATION_FAILED, "domain '%s': QEMU ended during the migration",
                        obj->name);
            return NULL;
        }
        if (g_get_monotonic_time() >= deadline) {
            reportError(IOV_ERR_OPERATION_TIMEOUT,
                        "domain '%s': the migration did not end within %d s", obj->name,
                        timeoutMs / 1000);
            return NULL;
        }
        if (QEMU_WITH_MONITOR(obj, mon, qemuMonitorCommand(mon, "query-migrate", NULL, &r)) < 0)
            return NULL;
        if (r && json_object_object_get_ex(r, "status", &st) &&
            statusFinal(json_object_get_string(st)))
            return g_strdup(json_object_get_string(st));
    }
}

/* QEMU's error-desc of a failed migration, or NULL (new string). */
static char *
migrationErrorDesc(qemuDomainObj *obj, qemuMigrationJobInfo *info)
{
    g_autoptr(json_object) r = NULL;
    json_object *d;

    if (QEMU_WITH_MONITOR(obj, mon, qemuMonitorCommand(mon, "query-migrate", NULL, &r)) < 0) {
        utilResetError();
        return NULL;
    }
    if (info)
        jobInfoFromQuery(r, info);
    if (r && json_object_object_get_ex(r, "error-desc", &d))
        return g_strdup(json_object_get_string(d));
    return NULL;
}

/* Keep the figures of the migration that just ended, for
 * iovDomainGetJobStats(COMPLETED). */
static void
keepJobStats(qemuDomainObj *obj, const qemuMigrationJobInfo *info)
{
    g_mutex_lock(&obj->lock);
    g_free(obj->lastJobStats);
    obj->lastJobStats = g_memdup2(info, sizeof(*info));
    obj->lastJobType = info->type;
    g_mutex_unlock(&obj->lock);
}

/* ---- source: Begin ---- */

/* The pcie-root-ports this QEMU has (rp0, rp1, ...: qemuRootPortId), from
 * query-pci's root bus. */
static unsigned int
countRootPorts(json_object *pci)
{
    g_autoptr(GHashTable) ids = g_hash_table_new(g_str_hash, g_str_equal);
    size_t i, j, n = json_object_is_type(pci, json_type_array) ? json_object_array_length(pci) : 0;
    unsigned int count = 0;

    for (i = 0; i < n; i++) {
        json_object *devices = NULL;

        if (!json_object_object_get_ex(json_object_array_get_idx(pci, i), "devices", &devices) ||
            !json_object_is_type(devices, json_type_array))
            continue;
        for (j = 0; j < json_object_array_length(devices); j++) {
            json_object *qdev = NULL;

            if (json_object_object_get_ex(json_object_array_get_idx(devices, j), "qdev_id", &qdev))
                g_hash_table_add(ids, (gpointer)json_object_get_string(qdev));
        }
    }
    for (;;) {
        g_autofree char *id = qemuRootPortId(count);

        if (!g_hash_table_contains(ids, id))
            return count;
        count++;
    }
}

static char *
beginLocked(qemuDriver *drv G_GNUC_UNUSED, qemuDomainObj *obj, const char *destXML,
            unsigned int flags, void *owner, char **cookie)
{
    g_autoptr(domainDef) live = NULL;
    g_autoptr(json_object) pci = NULL;
    char *xml;

    if (!obj->live) {
        reportError(IOV_ERR_OPERATION_INVALID,
                    "domain '%s' is not running: only a running guest migrates", obj->name);
        return NULL;
    }
    if (!obj->mon) {
        reportError(IOV_ERR_OPERATION_INVALID, "domain '%s' has no QEMU monitor connection",
                    obj->name);
        return NULL;
    }
    live = domainDefCopy(obj->live);
    if (!live)
        return NULL;
    /* the destination must build the same PCI topology: as many root
     * ports as this QEMU has, whatever was hot-plugged since */
    if (!domainMachineIsPC(live)) {
        if (QEMU_WITH_MONITOR(obj, mon, qemuMonitorCommand(mon, "query-pci", NULL, &pci)) < 0)
            return NULL;
        live->rootPorts = countRootPorts(pci);
    }
    xml = destXML ? g_strdup(destXML) : domainDefFormat(live, 0);
    if (!xml)
        return NULL;
    *cookie = cookieFormat(obj->name, obj->uuid, 0, 0);
    migrationStart(obj, true, flags, owner);
    qemuDomainLogNote(obj, "migration of domain '%s' begins (flags 0x%x)", obj->name, flags);
    return xml;
}

char *
qemuMigrationBegin(qemuDriver *drv, const unsigned char *uuid, const char *destXML,
                   unsigned int flags, void *owner, char **cookie)
{
    g_autoptr(qemuDomainObj) obj = qemuDriverObjLookup(drv, uuid);
    char *xml;

    if (!obj)
        return NULL;
    if (qemuDomainBeginJob(obj, qemuDriverJobTimeoutMs(drv)) < 0)
        return NULL;
    if (!(xml = beginLocked(drv, obj, destXML, flags, owner, cookie)))
        qemuDomainEndJob(obj);
    return xml;
}

/* ---- destination: Prepare ---- */

/* Every local disk's file or device must be here (storage at the same
 * path on both hosts). */
static int
checkDiskPaths(const domainDef *def)
{
    size_t i;

    for (i = 0; i < def->ndisks; i++) {
        const domainDiskDef *d = def->disks[i];

        if (d->path && !domainDiskIsEmpty(d) && access(d->path, F_OK) < 0) {
            reportSystemError(
                errno,
                "disk '%s': its source '%s' is not on this host: a migration needs the same storage on both",
                d->target, d->path);
            return -1;
        }
    }
    return 0;
}

/* The tcp:HOST:PORT the client gave: its host and port (*port 0: none). */
static int
parseTcpURI(const char *uri, char **host, int *port)
{
    const char *colon;
    char *end;
    long p;

    *host = NULL;
    *port = 0;
    if (!uri || !*uri)
        return 0;
    if (!g_str_has_prefix(uri, "tcp:") || !(colon = strrchr(uri + 4, ':'))) {
        reportError(IOV_ERR_INVALID_ARG, "migration URI '%s': only tcp:HOST:PORT is supported",
                    uri);
        return -1;
    }
    p = strtol(colon + 1, &end, 10);
    if (*end || p <= 0 || p > 65535) {
        reportError(IOV_ERR_INVALID_ARG, "migration URI '%s': '%s' is not a port", uri, colon + 1);
        return -1;
    }
    *host = g_strndup(uri + 4, (gsize)(colon - uri - 4));
    if (**host == '[') { /* [v6] */
        char *h = g_strndup(*host + 1, strlen(*host) - 2);

        g_free(*host);
        *host = h;
    }
    *port = (int)p;
    return 0;
}

int
qemuMigrationPrepare(qemuDriver *drv, const char *xml, const char *cookie, const char *uriIn,
                     unsigned int flags, void *owner, char **uriOut, char **cookieOut)
{
    const qemuProcessConfig *cfg = qemuDriverProcessConfig(drv);
    g_autoptr(domainDef) def = NULL;
    g_autoptr(qemuDomainObj) obj = NULL;
    g_autofree char *address = NULL;
    g_autofree char *listen = NULL;
    g_autofree char *givenHost = NULL;
    cookieData ck;
    int port = 0, givenPort = 0;
    bool kept = false;
    json_object *args;

    if (cookieParse(cookie, &ck) < 0)
        return -1;
    if (!ck.name) {
        reportError(IOV_ERR_INVALID_ARG,
                    "migration cookie: none was given: the source is not an iovirt daemon");
        return -1;
    }
    if (!(def = domainDefParseString(xml, DOMAIN_PARSE_LIVE_STATE, NULL)))
        goto error;
    if (strcmp(def->name, ck.name) != 0 || memcmp(def->uuid, ck.uuid, 16) != 0) {
        reportError(
            IOV_ERR_INVALID_ARG,
            "migration: the definition names domain '%s', the source migrates '%s': a migration keeps the name and uuid",
            def->name, ck.name);
        goto error;
    }
    if (def->emulator && domainCheckEmulator(def->emulator) < 0)
        goto error;
    if (checkDiskPaths(def) < 0)
        goto error;
    if (parseTcpURI(uriIn, &givenHost, &givenPort) < 0)
        goto error;
    if (!(obj = qemuDriverObjAddIncoming(drv, def->name, def->uuid, &kept)))
        goto error;
    migrationStart(obj, false, flags, owner);
    obj->migration->kept = kept;

    address = givenHost ? g_strdup(givenHost) : configuredAddress();
    if (givenPort)
        port = givenPort;
    else if ((port = portAcquire(address)) < 0)
        goto remove;
    else
        obj->migration->port = port; /* job holder's: released at its end */
    if (qemuProcessStartIncoming(cfg, obj, def, qemuDriverAllocId(drv)) < 0)
        goto remove;
    if (setEventsCapability(obj) < 0)
        goto stop;
    listen = strchr(address, ':') ? g_strdup_printf("tcp:[%s]:%d", address, port)
                                  : g_strdup_printf("tcp:%s:%d", address, port);
    args = json_object_new_object();
    json_object_object_add(args, "uri", json_object_new_string(listen));
    if (QEMU_WITH_MONITOR(obj, mon, qemuMonitorCommand(mon, "migrate-incoming", args, NULL)) < 0)
        goto stop;
    qemuDriverSaveStatusOf(drv, obj);
    qemuDriverEmitLifecycle(obj, IOV_DOMAIN_EVENT_STARTED, IOV_DOMAIN_EVENT_STARTED_MIGRATED);
    qemuDomainLogNote(
        obj, "incoming migration of domain '%s' from %s: QEMU waits on %s, its limits in force",
        obj->name, ck.host ? ck.host : "?", listen);
    *uriOut = g_steal_pointer(&listen);
    *cookieOut = cookieFormat(obj->name, obj->uuid, 0, 0);
    cookieClear(&ck);
    /* the job stays held until Finish */
    return 0;

stop : {
    g_autoptr(iovError) saved = utilSaveError();

    qemuProcessStop(cfg, obj, IOV_DOMAIN_SHUTOFF_FAILED);
    utilRestoreError(g_steal_pointer(&saved));
}
remove:
    if (!kept)
        qemuDriverObjRemove(drv, obj);
    migrationEnd(obj);
error:
    cookieClear(&ck);
    return -1;
}

/* ---- destination: Finish ---- */

/* With the job held: end an incoming migration that failed: QEMU killed,
 * the domain gone, its port free. */
static void
abortIncoming(qemuDriver *drv, qemuDomainObj *obj)
{
    g_autoptr(iovError) saved = utilSaveError();

    if (obj->live) {
        qemuProcessStop(qemuDriverProcessConfig(drv), obj, IOV_DOMAIN_SHUTOFF_FAILED);
        qemuDriverEmitLifecycle(obj, IOV_DOMAIN_EVENT_STOPPED, IOV_DOMAIN_EVENT_STOPPED_FAILED);
    }
    qemuDomainLogNote(obj, "incoming migration of domain '%s' abandoned", obj->name);
    if (!obj->migration->kept)
        qemuDriverObjRemove(drv, obj);
    migrationEnd(obj);
    utilRestoreError(g_steal_pointer(&saved));
}

/* The destination's domain of a migration, by name. */
static qemuDomainObj *
incomingByName(qemuDriver *drv, const char *name)
{
    qemuDomainIdent ident = {0};
    qemuDomainObj *obj;

    if (qemuDriverLookupByName(drv, name, &ident) < 0)
        return NULL;
    obj = migrationLookup(drv, ident.uuid, false);
    qemuDomainIdentClear(&ident);
    return obj;
}

int
qemuMigrationFinish(qemuDriver *drv, const char *name, const char *cookie, unsigned int flags,
                    bool cancelled, const char *persistXML, qemuDomainIdent *out)
{
    g_autoptr(qemuDomainObj) obj = NULL;
    g_autofree char *status = NULL;
    g_autoptr(domainDef) before = NULL; /* the definition kept here, replaced */
    qemuMigrationJobInfo info = {0};
    cookieData ck;

    if (cookieParse(cookie, &ck) < 0) {
        utilResetError();
        memset(&ck, 0, sizeof(ck));
    }
    if (!name)
        name = ck.name;
    if (!name) {
        reportError(IOV_ERR_INVALID_ARG, "migration finish: no domain name given");
        return -1;
    }
    if (!(obj = incomingByName(drv, name))) {
        cookieClear(&ck);
        return -1;
    }
    if (cancelled) {
        reportError(IOV_ERR_MIGRATE_FINISH_OK,
                    "domain '%s' did not leave the source: the destination dropped it", obj->name);
        goto abort;
    }
    if (!(status = waitMigration(obj, FINISH_WAIT_MS)))
        goto abort;
    if (strcmp(status, "completed") != 0) {
        g_autofree char *desc = migrationErrorDesc(obj, NULL);

        reportError(IOV_ERR_OPERATION_FAILED, "migration of domain '%s' %s on the destination%s%s",
                    obj->name, status, desc ? ": " : "", desc ? desc : "");
        goto abort;
    }
    g_free(migrationErrorDesc(obj, &info));
    if (ck.downtimeMs) {
        info.downtimeMs = ck.downtimeMs;
        info.haveDowntime = true;
    }
    if (ck.totalTimeMs)
        info.totalTimeMs = ck.totalTimeMs;
    info.type = IOV_DOMAIN_JOB_COMPLETED;
    info.operation = QEMU_MIGRATION_OPERATION_IN;
    keepJobStats(obj, &info);
    if (flags & IOV_MIGRATE_PERSIST_DEST) {
        g_autoptr(domainDef) def = NULL;

        if (persistXML)
            def = domainDefParseString(persistXML, 0, NULL);
        else
            def = domainDefCopy(obj->live);
        if (def)
            def->rootPorts = 0; /* what the definition gave, not the live count */
        if (def && obj->def)
            before = domainDefCopy(obj->def);
        if (!def || qemuDriverDefineOf(drv, obj, g_steal_pointer(&def)) < 0)
            goto abort;
    }
    if (!(flags & IOV_MIGRATE_PAUSED)) {
        if (QEMU_WITH_MONITOR(obj, mon, qemuMonitorCont(mon)) < 0)
            goto abort;
        qemuDomainSetState(obj, IOV_DOMAIN_RUNNING, IOV_DOMAIN_RUNNING_MIGRATED);
        qemuDriverEmitLifecycle(obj, IOV_DOMAIN_EVENT_RESUMED, IOV_DOMAIN_EVENT_RESUMED_MIGRATED);
    } else {
        qemuDomainSetState(obj, IOV_DOMAIN_PAUSED, IOV_DOMAIN_PAUSED_USER);
    }
    qemuDriverSaveStatusOf(drv, obj);
    qemuDomainLogNote(obj, "domain '%s' arrived by migration from %s (downtime %llu ms)", obj->name,
                      ck.host ? ck.host : "?", info.downtimeMs);
    if (out) {
        out->name = g_strdup(obj->name);
        memcpy(out->uuid, obj->uuid, 16);
        out->id = obj->id;
    }
    cookieClear(&ck);
    migrationEnd(obj);
    return 0;

abort:
    if (before) {
        /* the definition this host kept comes back as it was */
        g_autoptr(iovError) saved = utilSaveError();

        if (qemuDriverDefineOf(drv, obj, g_steal_pointer(&before)) < 0)
            logWarn("domain '%s': restoring its definition failed: %s", obj->name,
                    utilLastErrorMessage());
        utilRestoreError(g_steal_pointer(&saved));
    } else if (obj->def && !obj->migration->kept) {
        /* defined here by PERSIST_DEST before the failure: forget it */
        qemuDriverUndefineOf(drv, obj);
    }
    abortIncoming(drv, obj);
    cookieClear(&ck);
    return -1;
}

/* ---- source: Perform and Confirm ---- */

/* With the job held: the guest goes on here after a failed migration. */
static void
resumeSource(qemuDomainObj *obj)
{
    g_autoptr(iovError) saved = utilSaveError();
    g_autofree char *status = NULL;
    bool running = false;
    bool wasRunning;

    g_mutex_lock(&obj->lock);
    wasRunning = obj->migration->wasRunning;
    g_mutex_unlock(&obj->lock);
    if (obj->live && wasRunning &&
        QEMU_WITH_MONITOR(obj, mon, qemuMonitorQueryStatus(mon, &status, &running)) == 0 &&
        !running) {
        if (QEMU_WITH_MONITOR(obj, mon, qemuMonitorCont(mon)) < 0) {
            logError("domain '%s': cannot resume it after its failed migration: %s", obj->name,
                     utilLastErrorMessage());
            utilResetError();
        } else {
            qemuDomainSetState(obj, IOV_DOMAIN_RUNNING, IOV_DOMAIN_RUNNING_MIGRATION_CANCELED);
            qemuDriverEmitLifecycle(obj, IOV_DOMAIN_EVENT_RESUMED,
                                    IOV_DOMAIN_EVENT_RESUMED_MIGRATED);
        }
    } else if (obj->live && wasRunning) {
        qemuDomainSetState(obj, IOV_DOMAIN_RUNNING, IOV_DOMAIN_RUNNING_MIGRATION_CANCELED);
    }
    utilResetError();
    utilRestoreError(g_steal_pointer(&saved));
}

/* With the job held by this migration: send the guest to `uri` and wait.
 * 0 with QEMU's figures in *info; -1 with the guest resumed here. */
static int
performLocked(qemuDomainObj *obj, const char *uri, qemuMigrationJobInfo *info)
{
    g_autofree char *status = NULL;
    json_object *args;
    int i;

    info->operation = QEMU_MIGRATION_OPERATION_OUT;
    if (!obj->live || !obj->mon) {
        reportError(IOV_ERR_OPERATION_INVALID, "domain '%s' is not running", obj->name);
        return -1;
    }
    if (!uri || !g_str_has_prefix(uri, "tcp:")) {
        reportError(IOV_ERR_INVALID_ARG,
                    "domain '%s': migration URI '%s': only tcp:HOST:PORT is supported", obj->name,
                    uri ? uri : "");
        return -1;
    }
    if (setEventsCapability(obj) < 0)
        return -1;
    /* not live: the guest is paused while its memory moves (resumed here
     * if the migration fails) */
    if (!(obj->migration->flags & IOV_MIGRATE_LIVE) && obj->migration->wasRunning &&
        QEMU_WITH_MONITOR(obj, mon, qemuMonitorStop(mon)) < 0)
        return -1;
    g_mutex_lock(&obj->lock);
    g_clear_pointer(&obj->migration->status, g_free);
    obj->migration->performing = true;
    g_mutex_unlock(&obj->lock);
    args = json_object_new_object();
    json_object_object_add(args, "uri", json_object_new_string(uri));
    if (QEMU_WITH_MONITOR(obj, mon, qemuMonitorCommand(mon, "migrate", args, NULL)) < 0)
        goto failed;
    if (!(status = waitMigration(obj, MIGRATION_TIMEOUT_MS)))
        goto failed;
    if (strcmp(status, "completed") != 0) {
        g_autofree char *desc = migrationErrorDesc(obj, info);

        if (strcmp(status, "cancelled") == 0)
            reportError(
                IOV_ERR_OPERATION_ABORTED,
                "migration of domain '%s' was cancelled: it runs on here, its limits unchanged",
                obj->name);
        else
            reportError(
                IOV_ERR_OPERATION_FAILED,
                "migration of domain '%s' failed: %s; it runs on here, its limits unchanged",
                obj->name, desc ? desc : "QEMU gave no reason");
        goto failed;
    }
    /* QEMU announces the completion a moment before it has computed the
     * figures (total time and downtime read 0 until then) */
    for (i = 0; i < 20; i++) {
        g_free(migrationErrorDesc(obj, info));
        if (info->totalTimeMs)
            break;
        g_usleep(50 * 1000);
    }
    info->type = IOV_DOMAIN_JOB_COMPLETED;
    g_mutex_lock(&obj->lock);
    obj->migration->performing = false;
    obj->state = IOV_DOMAIN_PAUSED;
    obj->reason = IOV_DOMAIN_PAUSED_MIGRATION;
    g_mutex_unlock(&obj->lock);
    keepJobStats(obj, info);
    qemuDomainLogNote(obj, "domain '%s': its memory has moved (%llu ms, downtime %llu ms)",
                      obj->name, info->totalTimeMs, info->downtimeMs);
    return 0;

failed : {
    g_autoptr(iovError) saved = utilSaveError();
    g_autofree char *st = NULL;

    /* a stream still going (a monitor timeout): stop it first */
    g_mutex_lock(&obj->lock);
    obj->migration->performing = false;
    st = g_strdup(obj->migration->status);
    g_mutex_unlock(&obj->lock);
    if (obj->mon && !statusFinal(st))
        QEMU_WITH_MONITOR(obj, mon, qemuMonitorCommand(mon, "migrate_cancel", NULL, NULL));
    utilResetError();
    if (info->type != IOV_DOMAIN_JOB_CANCELLED)
        info->type = IOV_DOMAIN_JOB_FAILED;
    keepJobStats(obj, info);
    resumeSource(obj);
    qemuDomainLogNote(obj, "migration of domain '%s' failed: %s", obj->name,
                      saved ? saved->message : "?");
    utilRestoreError(g_steal_pointer(&saved));
}
    return -1;
}

int
qemuMigrationPerform(qemuDriver *drv, const unsigned char *uuid, const char *uri,
                     unsigned int flags, void *owner, char **cookieOut)
{
    g_autoptr(qemuDomainObj) obj = NULL;
    qemuMigrationJobInfo info = {0};
    bool gone;

    obj = qemuDriverObjLookup(drv, uuid);
    if (!obj)
        return -1;
    g_mutex_lock(&obj->lock);
    if (!obj->migration) {
        g_mutex_unlock(&obj->lock);
        /* a client that did not ask for change protection: the job
         * starts here */
        g_autofree char *cookie = NULL;
        g_autofree char *xml = qemuMigrationBegin(drv, uuid, NULL, flags, owner, &cookie);

        if (!xml)
            return -1;
    } else {
        bool ours = obj->migration->source && !obj->migration->performing;

        g_mutex_unlock(&obj->lock);
        if (!ours) {
            reportError(IOV_ERR_OPERATION_INVALID,
                        "domain '%s': another migration of it is in progress", obj->name);
            return -1;
        }
    }
    if (performLocked(obj, uri, &info) < 0) {
        migrationEnd(obj);
        return -1;
    }
    g_mutex_lock(&obj->lock);
    gone = obj->migration->ownerGone;
    g_mutex_unlock(&obj->lock);
    if (gone) {
        /* no Confirm will come: the destination may run the guest, so it
         * stays paused here for the operator */
        logWarn(
            "domain '%s': its memory has moved but the client that migrates it went away: it stays paused here",
            obj->name);
        migrationEnd(obj);
        reportError(IOV_ERR_OPERATION_FAILED, "domain '%s': the client of its migration went away",
                    obj->name);
        return -1;
    }
    *cookieOut = cookieFormat(obj->name, obj->uuid, info.totalTimeMs, info.downtimeMs);
    /* the job stays held until Confirm */
    return 0;
}

/* With the job held after a completed stream: the guest runs there now. */
static void
confirmDone(qemuDriver *drv, qemuDomainObj *obj, unsigned int flags)
{
    qemuProcessStop(qemuDriverProcessConfig(drv), obj, IOV_DOMAIN_SHUTOFF_MIGRATED);
    qemuDriverEmitLifecycle(obj, IOV_DOMAIN_EVENT_STOPPED, IOV_DOMAIN_EVENT_STOPPED_MIGRATED);
    qemuDomainLogNote(obj, "domain '%s' migrated away: its QEMU here is stopped", obj->name);
    if ((flags & IOV_MIGRATE_UNDEFINE_SOURCE) && qemuDriverUndefineOf(drv, obj) < 0) {
        logWarn("domain '%s': migrated, but its definition here stays: %s", obj->name,
                utilLastErrorMessage());
        utilResetError();
    }
    if (!obj->def)
        qemuDriverObjRemove(drv, obj);
}

int
qemuMigrationConfirm(qemuDriver *drv, const unsigned char *uuid, unsigned int flags, bool cancelled)
{
    g_autoptr(qemuDomainObj) obj = migrationLookup(drv, uuid, true);

    if (!obj)
        return -1;
    if (cancelled)
        resumeSource(obj);
    else
        confirmDone(drv, obj, flags);
    migrationEnd(obj);
    return 0;
}

int
qemuMigrationPerformPeer(qemuDriver *drv, const unsigned char *uuid, const char *destXML,
                         unsigned int flags, const qemuMigrationPeer *peer, void *opaque)
{
    g_autoptr(qemuDomainObj) obj = qemuDriverObjLookup(drv, uuid);
    g_autofree char *xml = NULL;
    g_autofree char *cookie = NULL;
    g_autofree char *uri = NULL;
    g_autofree char *name = NULL;
    g_autofree char *done = NULL;
    qemuMigrationJobInfo info = {0};

    if (!obj)
        return -1;
    if (qemuDomainBeginJob(obj, qemuDriverJobTimeoutMs(drv)) < 0)
        return -1;
    if (!(xml = beginLocked(drv, obj, destXML, flags, NULL, &cookie))) {
        qemuDomainEndJob(obj);
        return -1;
    }
    name = g_strdup(obj->name);
    if (peer->prepare(opaque, xml, cookie, flags, &uri) < 0) {
        migrationEnd(obj);
        return -1;
    }
    if (performLocked(obj, uri, &info) < 0) {
        g_autoptr(iovError) saved = utilSaveError();

        if (peer->finish(opaque, name, NULL, flags, true) == 0)
            logWarn("domain '%s': the destination kept it after a failed migration", name);
        utilResetError();
        migrationEnd(obj);
        utilRestoreError(g_steal_pointer(&saved));
        return -1;
    }
    done = cookieFormat(obj->name, obj->uuid, info.totalTimeMs, info.downtimeMs);
    if (peer->finish(opaque, name, done, flags, false) < 0) {
        g_autoptr(iovError) saved = utilSaveError();

        resumeSource(obj);
        migrationEnd(obj);
        utilRestoreError(g_steal_pointer(&saved));
        return -1;
    }
    confirmDone(drv, obj, flags);
    migrationEnd(obj);
    return 0;
}

/* ---- queries, cancel, cleanup ---- */

int
qemuMigrationGetJobInfo(qemuDriver *drv, const unsigned char *uuid, bool completed,
                        qemuMigrationJobInfo *out)
{
    g_autoptr(qemuDomainObj) obj = qemuDriverObjLookup(drv, uuid);
    g_autoptr(json_object) r = NULL;
    qemuMonitor *mon;
    gint64 started = 0;
    bool performing = false;

    memset(out, 0, sizeof(*out));
    if (!obj)
        return -1;
    g_mutex_lock(&obj->lock);
    if (completed) {
        if (obj->lastJobStats)
            *out = *(qemuMigrationJobInfo *)obj->lastJobStats;
        g_mutex_unlock(&obj->lock);
        return 0;
    }
    if (obj->migration) {
        started = obj->migration->started;
        performing = obj->migration->performing || !obj->migration->source;
        out->operation =
            obj->migration->source ? QEMU_MIGRATION_OPERATION_OUT : QEMU_MIGRATION_OPERATION_IN;
    }
    g_mutex_unlock(&obj->lock);
    if (!started)
        return 0; /* no job */
    out->type = IOV_DOMAIN_JOB_UNBOUNDED;
    out->elapsedMs = (unsigned long long)((g_get_real_time() - started) / 1000);
    if (!performing)
        return 0;
    if (!(mon = qemuDomainGetMonitorRef(obj))) {
        utilResetError();
        return 0;
    }
    if (qemuMonitorCommand(mon, "query-migrate", NULL, &r) == 0) {
        jobInfoFromQuery(r, out);
        out->type = IOV_DOMAIN_JOB_UNBOUNDED;
    } else {
        utilResetError();
    }
    qemuMonitorUnref(mon);
    out->elapsedMs = (unsigned long long)((g_get_real_time() - started) / 1000);
    return 0;
}

int
qemuMigrationAbort(qemuDriver *drv, const unsigned char *uuid)
{
    g_autoptr(qemuDomainObj) obj = qemuDriverObjLookup(drv, uuid);
    qemuMonitor *mon;
    bool performing = false, any = false;
    int rc;

    if (!obj)
        return -1;
    g_mutex_lock(&obj->lock);
    if (obj->migration) {
        any = true;
        performing = obj->migration->source && obj->migration->performing;
    }
    g_mutex_unlock(&obj->lock);
    if (!any) {
        reportError(IOV_ERR_OPERATION_INVALID, "domain '%s': no job is active on it", obj->name);
        return -1;
    }
    if (!performing) {
        reportError(
            IOV_ERR_OPERATION_INVALID,
            "domain '%s': its migration sends nothing now: only the source's stream can be cancelled",
            obj->name);
        return -1;
    }
    if (!(mon = qemuDomainGetMonitorRef(obj)))
        return -1;
    rc = qemuMonitorCommand(mon, "migrate_cancel", NULL, NULL);
    qemuMonitorUnref(mon);
    if (rc == 0)
        qemuDomainLogNote(obj, "migration of domain '%s': cancel asked", obj->name);
    return rc;
}

typedef struct {
    qemuDriver *drv;
    GPtrArray *objs; /* the domains whose migration the connection left */
} ownerGoneData;

static gpointer
ownerGoneThread(gpointer data)
{
    ownerGoneData *g = data;
    guint i;

    for (i = 0; i < g->objs->len; i++) {
        qemuDomainObj *obj = g->objs->pdata[i];
        bool source, completed;

        g_mutex_lock(&obj->lock);
        source = obj->migration->source;
        completed = g_strcmp0(obj->migration->status, "completed") == 0;
        g_mutex_unlock(&obj->lock);
        logWarn("domain '%s': the client that migrates it went away: the migration ends here",
                obj->name);
        if (!source) {
            abortIncoming(g->drv, obj);
        } else {
            /* all its memory has left: the destination may run it, so it
             * is not resumed here (it stays paused for the operator) */
            if (!completed)
                resumeSource(obj);
            migrationEnd(obj);
        }
    }
    g_ptr_array_unref(g->objs);
    g_free(g);
    return NULL;
}

void
qemuMigrationOwnerGone(qemuDriver *drv, void *owner)
{
    g_autoptr(GPtrArray) all = NULL;
    ownerGoneData *g;
    guint i;

    /* every client's end comes here: most find no migration at all */
    if (!owner || g_atomic_int_get(&underWay) == 0)
        return;
    all = qemuDriverListObjs(drv);
    g = g_new0(ownerGoneData, 1);
    g->drv = drv;
    g->objs = g_ptr_array_new_with_free_func((GDestroyNotify)qemuDomainObjUnref);
    for (i = 0; i < all->len; i++) {
        qemuDomainObj *obj = all->pdata[i];
        bool mine;

        g_mutex_lock(&obj->lock);
        /* a Perform under way ends by itself, in its own call */
        mine = obj->migration && obj->migration->owner == owner && !obj->migration->performing;
        if (obj->migration && obj->migration->owner == owner) {
            obj->migration->ownerGone = obj->migration->performing;
            obj->migration->owner = NULL;
        }
        g_mutex_unlock(&obj->lock);
        if (mine)
            g_ptr_array_add(g->objs, qemuDomainObjRef(obj));
    }
    if (!g->objs->len) {
        g_ptr_array_unref(g->objs);
        g_free(g);
        return;
    }
    g_thread_unref(g_thread_new("migration-cleanup", ownerGoneThread, g));
}

bool
qemuMigrationAbandoned(const qemuDomainObj *obj)
{
    return obj->incomingCut;
}
