/*
 * qemu_process.c: start, stop and reconnect to QEMU; put limits in force
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qemu_backing.h"
#include "qemu_command.h"
#include "qemu_interface.h"
#include "qemu_process.h"
#include "util/error.h"
#include "util/file.h"
#include "util/log.h"

#define IOV_FROM_THIS IOV_FROM_QEMU

#define START_TIMEOUT_MS 30000
#define TERM_WAIT_MS 3000
#define KILL_WAIT_MS 5000

char *
qemuProcessStatusPath(const qemuProcessConfig *cfg, const qemuDomainObj *obj)
{
    g_autofree char *file = g_strdup_printf("%s.xml", obj->name);

    return g_build_filename(cfg->stateDir, file, NULL);
}

/* ---- limits ---- */

/* One throttle-group object: its id and the limits its disks carry. */
typedef struct {
    char *id;
    const throttleDef *limits; /* borrowed from a disk or a declared group */
    const char *disk;          /* the first disk using it, for messages;
                                * NULL for a declared group */
    const char *group;         /* a declared group's name, else NULL */
} groupEntry;

static void
groupEntryFree(gpointer p)
{
    groupEntry *g = p;

    g_free(g->id);
    g_free(g);
}

/* The throttle-group objects `def` needs, by id: every declared group,
 * and each disk's own (private, or shared by group=). */
static GHashTable *
collectGroups(const domainDef *def)
{
    GHashTable *groups = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, groupEntryFree);
    size_t i;

    for (i = 0; i < def->ngroups; i++) {
        groupEntry *g = g_new0(groupEntry, 1);

        g->id = qemuNamedGroupId(def->groups[i]->name);
        g->limits = &def->groups[i]->limits;
        g->group = def->groups[i]->name;
        g_hash_table_insert(groups, g->id, g);
    }

    for (i = 0; i < def->ndisks; i++) {
        const domainDiskDef *d = def->disks[i];
        g_autofree char *id = qemuThrottleGroupId(d, &d->throttle);
        groupEntry *g;

        if (g_hash_table_contains(groups, id))
            continue;
        g = g_new0(groupEntry, 1);
        g->id = g_steal_pointer(&id);
        g->limits = &d->throttle;
        g->disk = d->target;
        g_hash_table_insert(groups, g->id, g);
    }
    return groups;
}

/* One step done, and how to undo it. */
typedef enum { STEP_SET, STEP_ADD, STEP_REOPEN, STEP_DEL, STEP_CHAIN } stepKind;
typedef struct {
    stepKind kind;
    char *id;                 /* the group */
    const throttleDef *before; /* SET/DEL: the limits before; may be NULL (none) */
    const domainDiskDef *disk; /* REOPEN, CHAIN: the disk moved, as it was */
    char *oldId;               /* REOPEN: the group it left */
    const domainDiskDef *now;  /* CHAIN: the disk as it is now */
} stepDone;

static int rebuildChain(qemuDomainObj *obj, const domainDiskDef *from, const domainDiskDef *to,
                        bool forward);

static void
stepFree(gpointer p)
{
    stepDone *s = p;

    g_free(s->id);
    g_free(s->oldId);
    g_free(s);
}

static const throttleDef unlimited;

static void
undoSteps(qemuDomainObj *obj, GPtrArray *steps)
{
    g_autoptr(iovError) saved = utilSaveError();
    guint i;

    for (i = steps->len; i > 0; i--) {
        stepDone *s = steps->pdata[i - 1];
        g_autofree char *node = NULL;
        g_autofree char *fmt = NULL;
        int rc = 0;

        switch (s->kind) {
        case STEP_SET:
            rc = QEMU_WITH_MONITOR(obj, mon, qemuMonitorSetThrottleLimits(mon, s->id, s->before));
            break;
        case STEP_ADD:
            rc = QEMU_WITH_MONITOR(obj, mon, qemuMonitorObjectDel(mon, s->id));
            break;
        case STEP_REOPEN:
            node = qemuDiskThrottleNode(s->disk);
            fmt = qemuDiskStepNode(s->disk, 1);
            rc = QEMU_WITH_MONITOR(obj, mon, qemuMonitorReopenThrottleNode(mon, node, fmt, s->oldId));
            break;
        case STEP_DEL:
            rc = QEMU_WITH_MONITOR(obj, mon, qemuMonitorAddThrottleGroup(mon, s->id, s->before));
            break;
        case STEP_CHAIN:
            rc = rebuildChain(obj, s->now, s->disk, false);
            break;
        }
        if (rc < 0)
            logWarn("domain '%s': undoing a limit change failed: %s", obj->name,
                    utilLastErrorMessage());
    }
    utilRestoreError(g_steal_pointer(&saved));
}

/* Prefix the current error with the disk it concerns. */
static void
blameDisk(const char *disk)
{
    g_autoptr(iovError) e = utilSaveError();

    if (!e)
        return;
    reportError(e->code, "disk '%s': cannot apply its limits: %s", disk, e->message);
}

/* The same for a group object: its declared group, or its first disk. */
static void
blameGroup(const groupEntry *g)
{
    g_autoptr(iovError) e = NULL;

    if (g->disk) {
        blameDisk(g->disk);
        return;
    }
    if (!(e = utilSaveError()))
        return;
    reportError(e->code, "throttle group '%s': cannot apply its limits: %s", g->group, e->message);
}

static void
freeLimits(gpointer p)
{
    throttleDefClear(p);
    g_free(p);
}

int
qemuProcessApplyThrottle(qemuDomainObj *obj, const domainDef *from, const domainDef *to)
{
    g_autoptr(GHashTable) newGroups = collectGroups(to);
    g_autoptr(GHashTable) oldGroups = from ? collectGroups(from) : NULL;
    g_autoptr(GPtrArray) steps = g_ptr_array_new_with_free_func(stepFree);
    /* the limits QEMU holds, read when the guest is tainted */
    g_autoptr(GPtrArray) seen = g_ptr_array_new_with_free_func(freeLimits);
    GHashTableIter it;
    gpointer key, value;
    size_t i;

    /* 1. groups that stay or appear get their new limits */
    g_hash_table_iter_init(&it, newGroups);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        groupEntry *ng = value;
        groupEntry *og = oldGroups ? g_hash_table_lookup(oldGroups, key) : NULL;
        const throttleDef *before = from ? (og ? og->limits : NULL) : &unlimited;
        stepDone *s;
        int rc;

        if (before && obj->tainted) {
            /* the monitor passthrough may have changed it behind our back */
            throttleDef *inQemu = g_new0(throttleDef, 1);

            g_ptr_array_add(seen, inQemu);
            rc = QEMU_WITH_MONITOR(obj, mon, qemuMonitorGetThrottleLimits(mon, ng->id, inQemu));
            if (rc < 0) {
                blameGroup(ng);
                goto error;
            }
            before = inQemu;
        }
        if (before && throttleDefSameLimits(before, ng->limits))
            continue;
        if (before)
            rc = QEMU_WITH_MONITOR(obj, mon, qemuMonitorUpdateThrottleLimits(mon, ng->id, before, ng->limits));
        else
            rc = QEMU_WITH_MONITOR(obj, mon, qemuMonitorAddThrottleGroup(mon, ng->id, ng->limits));
        if (rc < 0) {
            blameGroup(ng);
            goto error;
        }
        s = g_new0(stepDone, 1);
        s->kind = before ? STEP_SET : STEP_ADD;
        s->id = g_strdup(ng->id);
        s->before = before;
        g_ptr_array_add(steps, s);
    }

    /* 2. disks that change group move their filter node */
    for (i = 0; from && i < to->ndisks; i++) {
        const domainDiskDef *nd = to->disks[i];
        const domainDiskDef *od = domainDiskFind(from, nd->target);
        g_autofree char *oldId = NULL;
        g_autofree char *newId = qemuThrottleGroupId(nd, &nd->throttle);
        g_autofree char *node = NULL;
        g_autofree char *fmt = NULL;
        stepDone *s;

        if (!od)
            continue;
        oldId = qemuThrottleGroupId(od, &od->throttle);
        if (strcmp(oldId, newId) == 0)
            continue;
        node = qemuDiskThrottleNode(nd);
        /* its child as it is now: a change of filters comes after */
        fmt = qemuDiskStepNode(od, 1);
        if (QEMU_WITH_MONITOR(obj, mon, qemuMonitorReopenThrottleNode(mon, node, fmt, newId)) < 0) {
            blameDisk(nd->target);
            goto error;
        }
        s = g_new0(stepDone, 1);
        s->kind = STEP_REOPEN;
        s->id = g_strdup(newId);
        s->oldId = g_steal_pointer(&oldId);
        s->disk = od;
        g_ptr_array_add(steps, s);
    }

    /* 3. disks whose filters change get their chain rebuilt, the new
     * steps in place before the old ones are released */
    for (i = 0; from && i < to->ndisks; i++) {
        const domainDiskDef *nd = to->disks[i];
        const domainDiskDef *od = domainDiskFind(from, nd->target);
        stepDone *s;

        /* an empty cdrom has no nodes: its next medium gets the new chain */
        if (!od || domainDiskSameFilters(od, nd) || domainDiskIsEmpty(od) || domainDiskIsEmpty(nd))
            continue;
        if (rebuildChain(obj, od, nd, true) < 0)
            goto error;
        s = g_new0(stepDone, 1);
        s->kind = STEP_CHAIN;
        s->disk = od;
        s->now = nd;
        g_ptr_array_add(steps, s);
    }

    /* 4. groups no disk uses any more are deleted */
    if (oldGroups) {
        g_hash_table_iter_init(&it, oldGroups);
        while (g_hash_table_iter_next(&it, &key, &value)) {
            groupEntry *og = value;
            stepDone *s;

            if (g_hash_table_contains(newGroups, key))
                continue;
            if (QEMU_WITH_MONITOR(obj, mon, qemuMonitorObjectDel(mon, og->id)) < 0) {
                blameGroup(og);
                goto error;
            }
            s = g_new0(stepDone, 1);
            s->kind = STEP_DEL;
            s->id = g_strdup(og->id);
            s->before = og->limits;
            g_ptr_array_add(steps, s);
        }
    }
    return 0;

 error:
    undoSteps(obj, steps);
    return -1;
}

/* A limit change begun without waiting (qemuProcessApplyThrottleBegin). */
typedef struct {
    char *disk;  /* owned; the group's first disk, or NULL */
    char *group; /* owned; its declared group, or NULL */
    qemuProcessThrottleDone done;
    void *opaque;
} throttleBegun;

static void
throttleBegunFree(throttleBegun *t)
{
    g_free(t->disk);
    g_free(t->group);
    g_free(t);
}

static void
throttleBegunEnd(qemuMonitor *mon G_GNUC_UNUSED, int rc, json_object *ret, void *opaque)
{
    throttleBegun *t = opaque;
    groupEntry g = {.disk = t->disk, .group = t->group};

    if (ret)
        json_object_put(ret);
    if (rc < 0)
        blameGroup(&g);
    t->done(rc, t->opaque);
    throttleBegunFree(t);
}

int
qemuProcessApplyThrottleBegin(qemuDomainObj *obj, const domainDef *from, const domainDef *to,
                              GMainContext *ctx, qemuProcessThrottleDone done, void *opaque)
{
    g_autoptr(GHashTable) newGroups = collectGroups(to);
    g_autoptr(GHashTable) oldGroups = collectGroups(from);
    const groupEntry *changed = NULL, *before = NULL;
    json_object *args;
    GHashTableIter it;
    gpointer key, val;
    throttleBegun *t;
    size_t i;
    int rc;

    /* only the new limits of one group that stays, on a guest whose
     * limits are all iovirt's: anything else takes several steps */
    if (obj->tainted || !obj->mon || from->ndisks != to->ndisks ||
        g_hash_table_size(newGroups) != g_hash_table_size(oldGroups))
        return 0;
    g_hash_table_iter_init(&it, newGroups);
    while (g_hash_table_iter_next(&it, &key, &val)) {
        const groupEntry *og = g_hash_table_lookup(oldGroups, key);

        if (!og)
            return 0;
        if (throttleDefSameLimits(og->limits, ((groupEntry *)val)->limits))
            continue;
        if (changed)
            return 0;
        changed = val;
        before = og;
    }
    for (i = 0; i < to->ndisks; i++) {
        const domainDiskDef *od = domainDiskFind(from, to->disks[i]->target);
        g_autofree char *oldId = NULL;
        g_autofree char *newId = NULL;

        if (!od || !domainDiskSameFilters(od, to->disks[i]))
            return 0;
        oldId = qemuThrottleGroupId(od, &od->throttle);
        newId = qemuThrottleGroupId(to->disks[i], &to->disks[i]->throttle);
        if (strcmp(oldId, newId) != 0)
            return 0;
    }
    if (!changed)
        return 0;

    if (!(args = qemuMonitorThrottleUpdateArgs(changed->id, before->limits, changed->limits)))
        return 0;
    t = g_new0(throttleBegun, 1);
    t->disk = g_strdup(changed->disk);
    t->group = g_strdup(changed->group);
    t->done = done;
    t->opaque = opaque;
    rc = qemuMonitorCommandBegin(obj->mon, "qom-set", args, ctx, throttleBegunEnd, t);
    if (rc == 0)
        throttleBegunFree(t);
    return rc;
}

/* ---- processes ---- */

/* Whether `pid` still runs; reaps it when it is our child. */
static bool
processAlive(pid_t pid, bool ourChild)
{
    g_autofree char *statPath = NULL;
    g_autofree char *stat = NULL;
    const char *p;

    if (pid <= 0)
        return false;
    if (ourChild) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);

        if (r == pid)
            return false;
        if (r < 0 && errno != ECHILD)
            return false;
    }
    if (kill(pid, 0) < 0 && errno == ESRCH)
        return false;
    /* a zombie whose parent has not reaped it yet is gone for us */
    statPath = g_strdup_printf("/proc/%d/stat", (int)pid);
    if (!g_file_get_contents(statPath, &stat, NULL, NULL))
        return false;
    p = strrchr(stat, ')');
    return !(p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'));
}

/* Wait up to `ms` for `pid` to end. */
static bool
waitGone(pid_t pid, bool ourChild, int ms)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)ms * 1000;

    while (processAlive(pid, ourChild)) {
        if (g_get_monotonic_time() > deadline)
            return false;
        g_usleep(20 * 1000);
    }
    return true;
}

static void
childSetup(gpointer data G_GNUC_UNUSED)
{
    /* a session of its own: QEMU outlives the daemon and its signals */
    setsid();
}

/* The last lines QEMU wrote to the log after `offset`, for an error. */
static char *
logTail(const char *path, goffset offset)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    g_auto(GStrv) lines = NULL;
    GString *out = g_string_new(NULL);
    guint n, i, first;

    if (!g_file_get_contents(path, &data, &len, NULL) || (gsize)offset >= len)
        return g_string_free(out, FALSE);
    lines = g_strsplit(data + offset, "\n", -1);
    n = g_strv_length(lines);
    first = n > 6 ? n - 6 : 0;
    for (i = first; i < n; i++) {
        const char *l = g_strstrip(lines[i]);

        if (!*l || strstr(l, ": iovirt: "))
            continue;
        if (out->len)
            g_string_append(out, "; ");
        g_string_append(out, l);
    }
    return g_string_free(out, FALSE);
}

static void
monitorCtxFree(qemuProcessMonitorCtx *ctx)
{
    if (!ctx)
        return;
    qemuDomainObjUnref(ctx->obj);
    g_free(ctx);
}

void
qemuProcessCloseMonitor(qemuDomainObj *obj)
{
    qemuMonitor *mon;
    qemuProcessMonitorCtx *ctx;

    g_mutex_lock(&obj->lock);
    mon = g_steal_pointer(&obj->mon);
    ctx = g_steal_pointer(&obj->monCtx);
    g_mutex_unlock(&obj->lock);
    /* a reader may still hold a reference: its command fails */
    qemuMonitorClose(mon);
    monitorCtxFree(ctx);
}

/*
 * Connect to the monitor at obj->monPath, giving up when `pid` ends or
 * `timeoutMs` passes.
 */
static int
connectMonitor(const qemuProcessConfig *cfg, qemuDomainObj *obj, pid_t pid, bool ourChild,
               int timeoutMs, const char *logPath, goffset logOffset)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeoutMs * 1000;
    g_autofree char *path = g_strdup(obj->monPath);
    qemuProcessMonitorCtx *ctx = g_new0(qemuProcessMonitorCtx, 1);
    qemuMonitor *mon = NULL;

    ctx->obj = qemuDomainObjRef(obj);
    g_mutex_lock(&obj->lock);
    ctx->generation = ++obj->monGeneration;
    g_mutex_unlock(&obj->lock);
    for (;;) {
        if (!processAlive(pid, ourChild)) {
            g_autofree char *tail = logPath ? logTail(logPath, logOffset) : NULL;

            reportError(IOV_ERR_OPERATION_FAILED, "QEMU of domain '%s' exited while starting: %s",
                        obj->name, tail && *tail ? tail : "no message (see its log)");
            break;
        }
        if (g_file_test(path, G_FILE_TEST_EXISTS)) {
            mon = qemuMonitorOpen(path, 2000, cfg->callbacks, ctx);
            if (mon)
                break;
        }
        if (g_get_monotonic_time() > deadline) {
            if (!mon && !utilGetError())
                reportError(IOV_ERR_OPERATION_TIMEOUT, "QEMU of domain '%s' did not open its monitor '%s' within %d ms",
                            obj->name, path, timeoutMs);
            break;
        }
        g_usleep(20 * 1000);
    }
    if (!mon) {
        monitorCtxFree(ctx);
        return -1;
    }
    qemuMonitorSetTimeout(mon, cfg->monitorTimeoutMs);
    g_mutex_lock(&obj->lock);
    obj->mon = mon;
    obj->monCtx = ctx;
    g_mutex_unlock(&obj->lock);
    return 0;
}

/* Kill QEMU: SIGTERM, then SIGKILL. With the job held. */
static void
killProcess(qemuDomainObj *obj)
{
    pid_t pid = obj->pid;

    if (!processAlive(pid, obj->ourChild))
        return;
    kill(pid, SIGTERM);
    if (waitGone(pid, obj->ourChild, TERM_WAIT_MS))
        return;
    qemuDomainLogNote(obj, "QEMU did not end on SIGTERM within %d ms: sending SIGKILL", TERM_WAIT_MS);
    kill(pid, SIGKILL);
    if (!waitGone(pid, obj->ourChild, KILL_WAIT_MS))
        logError("QEMU of domain '%s' (pid %d) survived SIGKILL", obj->name, (int)pid);
}

void
qemuProcessStop(const qemuProcessConfig *cfg, qemuDomainObj *obj, int reason)
{
    g_autofree char *status = qemuProcessStatusPath(cfg, obj);
    g_autofree char *filesDir = qemuCommandFilesDir(cfg->stateDir, obj->name);
    g_autoptr(domainDef) live = NULL;
    g_autofree char *monPath = NULL;
    g_autofree char *pidPath = NULL;
    static const char *const reasons[] = {"unknown", "shut down", "destroyed", "crashed",
                                          "migrated", "saved", "failed", "from snapshot", "daemon"};

    qemuProcessCloseMonitor(obj);
    killProcess(obj);
    if (obj->monPath)
        unlink(obj->monPath);
    if (obj->pidPath)
        unlink(obj->pidPath);
    qemuDomainRemoveStatus(obj, status);
    qemuCommandRemoveFiles(filesDir);
    qemuDomainLogNote(obj, "domain '%s' is shut off (%s)", obj->name,
                      reason >= 0 && reason < (int)G_N_ELEMENTS(reasons) ? reasons[reason] : "?");
    g_mutex_lock(&obj->lock);
    live = g_steal_pointer(&obj->live);
    monPath = g_steal_pointer(&obj->monPath);
    pidPath = g_steal_pointer(&obj->pidPath);
    obj->pid = 0;
    obj->ourChild = false;
    obj->id = -1;
    obj->sawShutdown = false;
    obj->tainted = false;
    obj->state = IOV_DOMAIN_SHUTOFF;
    obj->reason = reason;
    g_mutex_unlock(&obj->lock);
    /* QEMU has ended: the taps it used on bridges can go */
    qemuInterfaceCleanup(live);
}

static char *
argvString(GStrv argv)
{
    GString *s = g_string_new(NULL);
    char **a;

    for (a = argv; *a; a++) {
        g_autofree char *q = g_shell_quote(*a);

        if (s->len)
            g_string_append_c(s, ' ');
        g_string_append(s, q);
    }
    return g_string_free(s, FALSE);
}

/* Start QEMU for a copy of `src` (the persistent definition, or the live
 * one a migration brings); with `incoming`, it waits for the migration
 * stream (-incoming) and stays paused. */
static int
processStart(const qemuProcessConfig *cfg, qemuDomainObj *obj, const domainDef *src,
             unsigned int flags, int id, const char *incoming)
{
    g_autofree char *monFile = NULL;
    g_autofree char *pidFile = NULL;
    g_autofree char *serialFile = g_strdup_printf("%s-serial.log", obj->name);
    g_autofree char *serialLog = g_build_filename(cfg->logDir, serialFile, NULL);
    g_autofree char *statusPath = qemuProcessStatusPath(cfg, obj);
    g_autofree char *filesDir = qemuCommandFilesDir(cfg->stateDir, obj->name);
    g_autofree char *cmd = NULL;
    g_autofree char *monPath = NULL;
    g_autofree char *pidPath = NULL;
    g_autoptr(domainDef) live = NULL;
    g_auto(GStrv) argv = NULL;
    g_autoptr(GError) gerr = NULL;
    qemuCommandParams params = {0};
    struct stat st;
    goffset logOffset = 0;
    GPid pid = 0;
    int logFd = -1, nullFd = -1;

    if (obj->live) {
        reportError(IOV_ERR_OPERATION_INVALID, "domain '%s' is already running", obj->name);
        return -1;
    }
    /* the id is unique among running domains and short: unix socket
     * paths must stay under 108 bytes */
    monFile = g_strdup_printf("%d.qmp", id);
    pidFile = g_strdup_printf("%s.pid", obj->name);
    monPath = g_build_filename(cfg->stateDir, monFile, NULL);
    pidPath = g_build_filename(cfg->stateDir, pidFile, NULL);
    if (strlen(monPath) >= 108) {
        reportError(IOV_ERR_CONFIG_UNSUPPORTED, "monitor socket path '%s' is longer than a unix socket allows", monPath);
        return -1;
    }
    unlink(monPath);
    unlink(pidPath);

    live = domainDefCopy(src);
    if (!live)
        return -1;
    /* the binary may have gone since the definition was written */
    if (live->emulator && domainCheckEmulator(live->emulator) < 0)
        goto error;
    if (qemuBackingDiscover(live) < 0)
        goto error;
    if (qemuInterfacePrepare(live, id, cfg->privileged) < 0)
        goto error;
    params.binary = cfg->binary;
    params.monitorPath = monPath;
    params.pidfilePath = pidPath;
    params.serialLogPath = serialLog;
    params.filesDir = filesDir;
    params.secretDir = cfg->secretDir;
    params.incoming = incoming;
    argv = qemuBuildCommandLine(live, &params);
    if (!argv || qemuCommandPrepareFiles(live, &params) < 0)
        goto error;

    if (stat(obj->logPath, &st) == 0)
        logOffset = st.st_size;
    cmd = argvString(argv);
    qemuDomainLogNote(obj, "starting domain '%s': %s", obj->name, cmd);
    logFd = open(obj->logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    nullFd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (logFd < 0 || nullFd < 0) {
        reportSystemError(errno, "cannot open the log '%s' of domain '%s'", obj->logPath, obj->name);
        goto error;
    }
    if (!g_spawn_async_with_fds(NULL, argv, NULL,
                                G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH,
                                childSetup, NULL, &pid, nullFd, logFd, logFd, &gerr)) {
        reportError(IOV_ERR_OPERATION_FAILED, "cannot run '%s' for domain '%s': %s", cfg->binary,
                    obj->name, gerr->message);
        goto error;
    }
    close(logFd);
    close(nullFd);
    logFd = nullFd = -1;
    g_mutex_lock(&obj->lock);
    obj->live = g_steal_pointer(&live);
    obj->monPath = g_steal_pointer(&monPath);
    obj->pidPath = g_steal_pointer(&pidPath);
    obj->pid = pid;
    obj->ourChild = true;
    obj->id = id;
    obj->state = IOV_DOMAIN_PAUSED;
    obj->reason = IOV_DOMAIN_PAUSED_STARTING_UP;
    g_mutex_unlock(&obj->lock);

    if (connectMonitor(cfg, obj, pid, true, START_TIMEOUT_MS, obj->logPath, logOffset) < 0)
        goto stop;

    /* the limits, before the first instruction: the same path as live changes */
    if (qemuProcessApplyThrottle(obj, NULL, obj->live) < 0)
        goto stop;

    if (incoming) {
        qemuDomainSetState(obj, IOV_DOMAIN_PAUSED, IOV_DOMAIN_PAUSED_MIGRATION);
    } else if (!(flags & IOV_DOMAIN_START_PAUSED)) {
        qemuDomainEvent *resumed;

        /* the RESUME it causes is taken here, so that the event worker
         * never applies it late, over a change that follows the start */
        qemuDomainJobExpectEvent(obj, "RESUME");
        if (QEMU_WITH_MONITOR(obj, mon, qemuMonitorCont(mon)) < 0) {
            g_autoptr(iovError) saved = utilSaveError();

            qemuDomainEventFree(qemuDomainJobWaitEvent(obj, 0));
            utilRestoreError(g_steal_pointer(&saved));
            goto stop;
        }
        if (!(resumed = qemuDomainJobWaitEvent(obj, cfg->monitorTimeoutMs))) {
            logWarn("%s", utilLastErrorMessage());
            utilResetError();
        }
        qemuDomainEventFree(resumed);
        qemuDomainSetState(obj, IOV_DOMAIN_RUNNING, IOV_DOMAIN_RUNNING_BOOTED);
    } else {
        qemuDomainSetState(obj, IOV_DOMAIN_PAUSED, IOV_DOMAIN_PAUSED_USER);
    }
    if (qemuDomainSaveStatus(obj, statusPath) < 0)
        goto stop;
    /* QEMU read its keys while starting: they need not outlive that */
    qemuCommandRemoveFiles(filesDir);
    qemuDomainLogNote(obj, "domain '%s' started (pid %d, id %d)", obj->name, (int)pid, id);
    return 0;

 stop:
    {
        g_autoptr(iovError) saved = utilSaveError();

        qemuDomainLogNote(obj, "start failed: %s", saved ? saved->message : "unknown error");
        qemuProcessStop(cfg, obj, IOV_DOMAIN_SHUTOFF_FAILED);
        utilRestoreError(g_steal_pointer(&saved));
    }
    return -1;

 error:
    qemuCommandRemoveFiles(filesDir);
    qemuInterfaceCleanup(live);
    if (logFd >= 0)
        close(logFd);
    if (nullFd >= 0)
        close(nullFd);
    return -1;
}

/* Map QEMU's run state to a domain state. */
static void
stateFromQEMU(qemuDomainObj *obj, const char *status, bool running, const qemuDomainStatus *st)
{
    /* a guest arriving by migration: QEMU still takes the stream, or took
     * it all and waits for the Finish that resumes it ("paused"; a source
     * whose memory left says "postmigrate") */
    obj->incomingCut =
        g_strcmp0(status, "inmigrate") == 0 ||
        (st->state == IOV_DOMAIN_PAUSED && st->reason == IOV_DOMAIN_PAUSED_MIGRATION &&
         g_strcmp0(status, "paused") == 0);
    if (running) {
        qemuDomainSetState(obj, IOV_DOMAIN_RUNNING,
                           st->state == IOV_DOMAIN_RUNNING ? st->reason : IOV_DOMAIN_RUNNING_UNPAUSED);
    } else if (g_strcmp0(status, "io-error") == 0) {
        qemuDomainSetState(obj, IOV_DOMAIN_PAUSED, IOV_DOMAIN_PAUSED_IOERROR);
    } else {
        qemuDomainSetState(obj, IOV_DOMAIN_PAUSED,
                           st->state == IOV_DOMAIN_PAUSED ? st->reason : IOV_DOMAIN_PAUSED_UNKNOWN);
    }
}

/*
 * Refresh the live limits from QEMU: for every throttle group, qom-get; a
 * group whose limits differ from the saved live definition takes QEMU's.
 * The new live definition is published only when something differs.
 * QEMU's run state comes in the same round trip (*status, *running; each
 * may be NULL): all the commands are sent at once.
 */
static int
refreshStateAndLimits(qemuDomainObj *obj, char **status, bool *running)
{
    g_autoptr(GHashTable) groups = collectGroups(obj->live);
    g_autoptr(domainDef) fresh = NULL;
    guint ngroups = g_hash_table_size(groups);
    g_autofree const char **ids = g_new0(const char *, ngroups + 1);
    g_autofree groupEntry **entries = g_new0(groupEntry *, ngroups + 1);
    g_autofree throttleDef *read = g_new0(throttleDef, ngroups + 1);
    GHashTableIter it;
    gpointer key, value;
    guint k = 0;
    size_t i;

    g_hash_table_iter_init(&it, groups);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        entries[k] = value;
        ids[k] = entries[k]->id;
        k++;
    }
    if (QEMU_WITH_MONITOR(obj, mon,
                          qemuMonitorReadState(mon, status, running, ngroups, ids, read)) < 0)
        return -1;
    for (k = 0; k < ngroups; k++) {
        groupEntry *g = entries[k];
        throttleDef inQemu = read[k];

        if (throttleDefSameLimits(&inQemu, g->limits)) {
            throttleDefClear(&inQemu);
            continue;
        }
        qemuDomainLogNote(obj, "the limits of '%s' in QEMU differ from the saved state: taking QEMU's", g->id);
        inQemu.group = g_strdup(g->group ? g->group : g->limits->group);
        if (!fresh && !(fresh = domainDefCopy(obj->live))) {
            throttleDefClear(&inQemu);
            return -1;
        }
        for (i = 0; i < fresh->ndisks; i++) {
            domainDiskDef *d = fresh->disks[i];
            g_autofree char *id = qemuThrottleGroupId(d, &d->throttle);

            if (strcmp(id, g->id) != 0)
                continue;
            throttleDefClear(&d->throttle);
            throttleDefCopy(&d->throttle, &inQemu);
        }
        for (i = 0; i < fresh->ngroups; i++) {
            g_autofree char *id = qemuNamedGroupId(fresh->groups[i]->name);

            if (strcmp(id, g->id) == 0)
                memcpy(fresh->groups[i]->limits.v, inQemu.v, sizeof(inQemu.v));
        }
        throttleDefClear(&inQemu);
    }
    if (fresh) {
        g_mutex_lock(&obj->lock);
        domainDef *old = obj->live;

        obj->live = g_steal_pointer(&fresh);
        fresh = old;
        g_mutex_unlock(&obj->lock);
    }
    return 0;
}

static int
refreshLimits(qemuDomainObj *obj)
{
    return refreshStateAndLimits(obj, NULL, NULL);
}

int
qemuProcessEnsureMonitor(const qemuProcessConfig *cfg, qemuDomainObj *obj)
{
    g_autofree char *statusPath = NULL;

    if (!obj->live || (obj->mon && qemuMonitorIsUsable(obj->mon)))
        return 0;
    if (!processAlive(obj->pid, obj->ourChild)) {
        reportError(IOV_ERR_OPERATION_FAILED, "QEMU of domain '%s' (pid %d) is gone", obj->name, (int)obj->pid);
        return -1;
    }
    qemuDomainLogNote(obj, "the QEMU monitor is unusable (a command timed out or the connection dropped): reconnecting");
    qemuProcessCloseMonitor(obj);
    if (connectMonitor(cfg, obj, obj->pid, obj->ourChild, 5000, NULL, 0) < 0)
        return -1;
    if (refreshLimits(obj) < 0)
        return -1;
    statusPath = qemuProcessStatusPath(cfg, obj);
    return qemuDomainSaveStatus(obj, statusPath);
}

int
qemuProcessReconnect(const qemuProcessConfig *cfg, qemuDomainObj *obj, qemuDomainStatus *st)
{
    g_autofree char *statusPath = qemuProcessStatusPath(cfg, obj);
    g_autofree char *qstatus = NULL;
    bool running = false;
    pid_t holder = qemuPidfileHolder(st->pidPath);

    g_mutex_lock(&obj->lock);
    obj->live = g_steal_pointer(&st->live);
    obj->monPath = g_steal_pointer(&st->monPath);
    obj->pidPath = g_steal_pointer(&st->pidPath);
    obj->pid = st->pid;
    obj->ourChild = false;
    obj->id = st->id;
    obj->state = st->state;
    obj->reason = st->reason;
    obj->tainted = st->tainted;
    g_mutex_unlock(&obj->lock);

    if (holder != st->pid || !processAlive(st->pid, false)) {
        qemuDomainLogNote(obj, "QEMU (pid %d) is gone: it ended while iovirt was not watching", (int)st->pid);
        qemuProcessStop(cfg, obj, IOV_DOMAIN_SHUTOFF_CRASHED);
        return 0;
    }
    if (connectMonitor(cfg, obj, st->pid, false, 10000, NULL, 0) < 0) {
        logError("domain '%s': cannot reconnect to QEMU (pid %d): %s", obj->name, (int)st->pid,
                 utilLastErrorMessage());
        return -1;
    }
    if (refreshStateAndLimits(obj, &qstatus, &running) < 0) {
        logError("domain '%s': cannot read the state of QEMU (pid %d): %s", obj->name,
                 (int)st->pid, utilLastErrorMessage());
        return -1;
    }
    if (g_strcmp0(qstatus, "shutdown") == 0) {
        g_mutex_lock(&obj->lock);
        obj->sawShutdown = true;
        g_mutex_unlock(&obj->lock);
    }
    stateFromQEMU(obj, qstatus, running, st);
    qemuDomainLogNote(obj, "reconnected to QEMU (pid %d, %s)", (int)obj->pid, qstatus);
    /* what QEMU said is only a cache on disk: written in the background */
    if (qemuDomainSaveStatusLater(obj, statusPath) < 0)
        logWarn("domain '%s': %s", obj->name, utilLastErrorMessage());
    return 1;
}

/* ---- one disk's chain, for a disk added to or removed from a running QEMU ---- */

/* Whether a disk of `def` uses the group object `id` as its own step. */
static bool
ownGroupInUse(const domainDef *def, const char *id)
{
    size_t i;

    for (i = 0; i < def->ndisks; i++) {
        g_autofree char *other = qemuThrottleGroupId(def->disks[i], &def->disks[i]->throttle);

        if (strcmp(other, id) == 0)
            return true;
    }
    return false;
}

static int
blockdevDel(qemuMonitor *mon, const char *node)
{
    json_object *args = json_object_new_object();

    json_object_object_add(args, "node-name", json_object_new_string(node));
    return qemuMonitorCommand(mon, "blockdev-del", args, NULL);
}

int
qemuProcessAddDiskThrottle(qemuDomainObj *obj, const domainDef *def, const domainDiskDef *disk)
{
    g_autofree char *own = qemuThrottleGroupId(disk, &disk->throttle);
    bool addedOwn = false;
    size_t added = 0, n = qemuDiskChainLength(disk), step;

    if (!ownGroupInUse(def, own) && !domainThrottleGroupFind(def, disk->throttle.group)) {
        if (QEMU_WITH_MONITOR(obj, mon, qemuMonitorAddThrottleGroup(mon, own, &disk->throttle)) <
            0) {
            blameDisk(disk->target);
            return -1;
        }
        addedOwn = true;
    }
    for (step = n; step > 0; step--) {
        json_object *props = qemuBuildThrottleNodeProps(disk, step - 1);

        if (QEMU_WITH_MONITOR(obj, mon, qemuMonitorCommand(mon, "blockdev-add", props, NULL)) < 0) {
            blameDisk(disk->target);
            goto error;
        }
        added++;
    }
    return 0;

error : {
    g_autoptr(iovError) saved = utilSaveError();

    /* the nodes added last sit on those added first */
    for (step = n - added; step < n; step++) {
        g_autofree char *node = qemuDiskStepNode(disk, step);

        if (QEMU_WITH_MONITOR(obj, mon, blockdevDel(mon, node)) < 0)
            logWarn("domain '%s': removing node '%s' failed: %s", obj->name, node,
                    utilLastErrorMessage());
    }
    if (addedOwn && QEMU_WITH_MONITOR(obj, mon, qemuMonitorObjectDel(mon, own)) < 0)
        logWarn("domain '%s': removing group '%s' failed: %s", obj->name, own,
                utilLastErrorMessage());
    utilRestoreError(g_steal_pointer(&saved));
}
    return -1;
}

int
qemuProcessRemoveDiskThrottle(qemuDomainObj *obj, const domainDef *def, const domainDiskDef *disk)
{
    g_autofree char *own = qemuThrottleGroupId(disk, &disk->throttle);
    size_t step;

    for (step = 0; step < qemuDiskChainLength(disk); step++) {
        g_autofree char *node = qemuDiskStepNode(disk, step);

        if (QEMU_WITH_MONITOR(obj, mon, blockdevDel(mon, node)) < 0) {
            blameDisk(disk->target);
            return -1;
        }
    }
    if (ownGroupInUse(def, own) || domainThrottleGroupFind(def, disk->throttle.group))
        return 0;
    if (QEMU_WITH_MONITOR(obj, mon, qemuMonitorObjectDel(mon, own)) < 0) {
        blameDisk(disk->target);
        return -1;
    }
    return 0;
}

/* ---- a disk's chain rebuilt while QEMU runs ---- */

/*
 * The steps whose node a rebuild from chain `a` to chain `b` (one disk)
 * reopens: each filter step both have whose group differs, the last
 * step both have when the chains' lengths differ (its child changes),
 * and the disk's own step when `a` or `b` has no filter at all. Their
 * properties are `b`'s, so the same steps taken with `a` and `b`
 * swapped undo the reopen. A new JSON array, empty when nothing moves.
 */
static json_object *
reopenOptions(const domainDiskDef *a, const domainDiskDef *b, bool injectFault)
{
    json_object *options = json_object_new_array();
    size_t p = MIN(a->nfilters, b->nfilters);
    size_t step;

    if (p == 0 && a->nfilters != b->nfilters) {
        json_object_array_add(options, qemuBuildThrottleNodeProps(b, 0));
    } else {
        for (step = 1; step <= p; step++) {
            if (strcmp(a->filters[step - 1], b->filters[step - 1]) != 0 ||
                (step == p && a->nfilters != b->nfilters))
                json_object_array_add(options, qemuBuildThrottleNodeProps(b, step));
        }
    }
    /* fault injection for the tests: QEMU refuses the unknown member */
    if (injectFault && json_object_array_length(options) > 0)
        json_object_object_add(json_object_array_get_idx(options, 0), "x-iovirt-fault",
                               json_object_new_boolean(true));
    return options;
}

/* Run `cmd` with `args` (consumed, also when there is no monitor). */
static int
chainCommand(qemuDomainObj *obj, const char *cmd, json_object *args)
{
    qemuMonitor *mon = qemuDomainEnterMonitor(obj);
    int rc;

    if (!mon) {
        json_object_put(args);
        return -1;
    }
    rc = qemuMonitorCommand(mon, cmd, args, NULL);
    qemuDomainExitMonitor(obj);
    return rc;
}

/* blockdev-reopen of the nodes in `options` (consumed), one transaction. */
static int
reopenNodes(qemuDomainObj *obj, json_object *options)
{
    json_object *args = json_object_new_object();

    json_object_object_add(args, "options", options);
    return chainCommand(obj, "blockdev-reopen", args);
}

/* Prefix the current error with the disk and the step that failed. */
static void
blameChainStep(const char *disk, const char *step, const char *node)
{
    g_autoptr(iovError) e = utilSaveError();

    if (!e)
        return;
    reportError(e->code, "disk '%s': cannot change its throttle filters: %s of node '%s': %s", disk,
                step, node, e->str2 ? e->str2 : e->message);
}

/*
 * Undo the first part of a rebuild from `from` to `to` (one disk):
 * `deleted` nodes of `from` deleted, its nodes reopened (`reopened`),
 * `added` nodes of `to` added. Failures are logged: the first error
 * stays the one reported.
 */
static void
undoRebuild(qemuDomainObj *obj, const domainDiskDef *from, const domainDiskDef *to, size_t added,
            bool reopened, size_t deleted)
{
    g_autoptr(iovError) saved = utilSaveError();
    size_t p = MIN(from->nfilters, to->nfilters);
    size_t step;

    /* deleted from the top: added back from the bottom */
    for (step = p + deleted; step > p; step--) {
        json_object *props = qemuBuildThrottleNodeProps(from, step);

        if (chainCommand(obj, "blockdev-add", props) < 0)
            logWarn("domain '%s': adding back throttle node %zu of disk '%s' failed: %s", obj->name,
                    step, from->target, utilLastErrorMessage());
    }
    if (reopened && reopenNodes(obj, reopenOptions(to, from, false)) < 0)
        logWarn("domain '%s': restoring the throttle chain of disk '%s' failed: %s", obj->name,
                from->target, utilLastErrorMessage());
    /* added from the bottom: removed from the top */
    for (step = to->nfilters - added + 1; added > 0 && step <= to->nfilters; step++) {
        g_autofree char *node = qemuDiskStepNode(to, step);

        if (QEMU_WITH_MONITOR(obj, mon, blockdevDel(mon, node)) < 0)
            logWarn("domain '%s': removing node '%s' failed: %s", obj->name, node,
                    utilLastErrorMessage());
    }
    utilRestoreError(g_steal_pointer(&saved));
}

/*
 * Bring the throttle chain of one disk from `from`'s filters to `to`'s
 * (same target, same own group; the groups `to` names exist). Nodes are
 * named by their position in the chain, so the first
 * min(from, to) filter steps keep their nodes:
 *   1. the steps `to` has beyond `from`'s length are added, from the
 *      bottom up, the last over the format node;
 *   2. one blockdev-reopen points the nodes that change (a step's group,
 *      or the child of the last common step, or of the disk's own step
 *      when one chain has no filter) at their new group and child, all
 *      at once: the new chain takes over the disk's I/O in one
 *      transaction, so there is no moment with neither chain;
 *   3. the steps `from` had beyond `to`'s length, now unused, are
 *      deleted from the top.
 * On failure, what was done is undone in reverse and the error names the
 * step, the node and QEMU's message. `forward` is false when undoing a
 * rebuild (no fault is injected then).
 */
static int
rebuildChain(qemuDomainObj *obj, const domainDiskDef *from, const domainDiskDef *to, bool forward)
{
    size_t p = MIN(from->nfilters, to->nfilters);
    size_t added = 0, deleted = 0, step;
    bool fault = forward && g_getenv("IOVIRT_TEST_FAIL_CHAIN_REOPEN");
    json_object *options;

    for (step = to->nfilters; step > p; step--) {
        json_object *props = qemuBuildThrottleNodeProps(to, step);
        g_autofree char *node = qemuDiskStepNode(to, step);

        if (chainCommand(obj, "blockdev-add", props) < 0) {
            blameChainStep(to->target, "blockdev-add", node);
            goto error;
        }
        added++;
    }
    options = reopenOptions(from, to, fault);
    if (json_object_array_length(options) > 0) {
        g_autofree char *node = g_strdup(json_object_get_string(
            json_object_object_get(json_object_array_get_idx(options, 0), "node-name")));

        if (reopenNodes(obj, options) < 0) {
            blameChainStep(to->target, "blockdev-reopen", node);
            goto error;
        }
    } else {
        json_object_put(options);
    }
    for (step = p + 1; step <= from->nfilters; step++) {
        g_autofree char *node = qemuDiskStepNode(from, step);

        if (QEMU_WITH_MONITOR(obj, mon, blockdevDel(mon, node)) < 0) {
            blameChainStep(to->target, "blockdev-del", node);
            undoRebuild(obj, from, to, added, true, deleted);
            return -1;
        }
        deleted++;
    }
    return 0;

error:
    undoRebuild(obj, from, to, added, false, 0);
    return -1;
}

int
qemuProcessStart(const qemuProcessConfig *cfg, qemuDomainObj *obj, unsigned int flags, int id)
{
    if (!obj->def) {
        reportError(IOV_ERR_OPERATION_INVALID, "domain '%s' has no definition to start", obj->name);
        return -1;
    }
    return processStart(cfg, obj, obj->def, flags, id, NULL);
}

int
qemuProcessStartIncoming(const qemuProcessConfig *cfg, qemuDomainObj *obj, const domainDef *def,
                         int id)
{
    return processStart(cfg, obj, def, 0, id, "defer");
}
