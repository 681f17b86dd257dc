/*
 * qemu_hotplug.c: add a disk to a running QEMU and take it away
 *
 * A disk is hot-plugged bottom up, its limits first: the throttle group,
 * the protocol, format and throttle nodes, and only then the guest's
 * device, on a pcie-root-port that has none. Each step done is
 * remembered with the command that undoes it, so that a failure leaves
 * QEMU as it was. Removal goes top down once the guest has let the
 * device go (DEVICE_DELETED).
 */
#include <string.h>

#include "qemu_command.h"
#include "qemu_hotplug.h"
#include "qemu_process.h"
#include "util/error.h"
#include "util/log.h"

#define IOV_FROM_THIS IOV_FROM_QEMU

/* ---- query-pci ---- */

/* Walk the devices of one bus of a query-pci reply: add every qdev id to
 * `ids`, and each empty root port to `free`. */
static void
walkPCIDevices(json_object *devices, GHashTable *ids, GPtrArray *free)
{
    size_t i, n;

    if (!devices || !json_object_is_type(devices, json_type_array))
        return;
    n = json_object_array_length(devices);
    for (i = 0; i < n; i++) {
        json_object *dev = json_object_array_get_idx(devices, i);
        json_object *qdev = NULL, *bridge = NULL, *children = NULL;
        const char *id = NULL;

        if (json_object_object_get_ex(dev, "qdev_id", &qdev))
            id = json_object_get_string(qdev);
        if (id && *id)
            g_hash_table_add(ids, g_strdup(id));
        if (!json_object_object_get_ex(dev, "pci_bridge", &bridge))
            continue;
        json_object_object_get_ex(bridge, "devices", &children);
        if (id && g_str_has_prefix(id, "rp") &&
            (!children || json_object_array_length(children) == 0))
            g_ptr_array_add(free, g_strdup(id));
        walkPCIDevices(children, ids, free);
    }
}

/* The qdev ids of QEMU's PCI devices, and its empty root ports in the
 * order of their index. */
static int
queryPCI(qemuDomainObj *obj, GHashTable **ids, GPtrArray **freePorts)
{
    g_autoptr(GHashTable) all = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GPtrArray) free = g_ptr_array_new_with_free_func(g_free);
    json_object *reply = NULL;
    size_t i, n;

    if (QEMU_WITH_MONITOR(obj, mon, qemuMonitorCommand(mon, "query-pci", NULL, &reply)) < 0)
        return -1;
    n = json_object_is_type(reply, json_type_array) ? json_object_array_length(reply) : 0;
    for (i = 0; i < n; i++) {
        json_object *devices = NULL;

        if (json_object_object_get_ex(json_object_array_get_idx(reply, i), "devices", &devices))
            walkPCIDevices(devices, all, free);
    }
    json_object_put(reply);
    if (ids)
        *ids = g_steal_pointer(&all);
    if (freePorts)
        *freePorts = g_steal_pointer(&free);
    return 0;
}

int
qemuHotplugDevicePresent(qemuDomainObj *obj, const char *devId)
{
    g_autoptr(GHashTable) ids = NULL;

    if (queryPCI(obj, &ids, NULL) < 0)
        return -1;
    return g_hash_table_contains(ids, devId) ? 1 : 0;
}

/* The lowest numbered empty root port (new string), or NULL with an error. */
static char *
freeRootPort(qemuDomainObj *obj, const domainDiskDef *disk)
{
    g_autoptr(GPtrArray) free = NULL;
    char *best = NULL;
    guint i;

    if (queryPCI(obj, NULL, &free) < 0)
        return NULL;
    for (i = 0; i < free->len; i++) {
        const char *id = free->pdata[i];

        if (!best || strtoul(id + 2, NULL, 10) < strtoul(best + 2, NULL, 10))
            best = free->pdata[i];
    }
    if (!best) {
        reportError(
            IOV_ERR_OPERATION_FAILED,
            "disk '%s': domain '%s' has no free pcie-root-port to plug it into (give the definition more <controller type='pci' model='pcie-root-port'/> and restart it)",
            disk->target, obj->name);
        return NULL;
    }
    return g_strdup(best);
}

/* ---- attach ---- */

static int
runUndo(qemuDomainObj *obj, const char *cmd, const char *key, const char *id)
{
    json_object *args = json_object_new_object();

    json_object_object_add(args, key, json_object_new_string(id));
    return QEMU_WITH_MONITOR(obj, mon, qemuMonitorCommand(mon, cmd, args, NULL));
}

/* Say which step of attaching `disk` failed, and QEMU's words. */
static void
blameStep(const domainDiskDef *disk, const char *what, const char *cmd)
{
    g_autoptr(iovError) e = utilSaveError();

    reportError(e ? e->code : IOV_ERR_OPERATION_FAILED,
                "disk '%s': cannot attach it: adding %s (%s) failed: %s", disk->target, what, cmd,
                e ? e->message : "unknown error");
}

/* Undo a node added by blockdev-add, logging a failure. */
static void
undoNode(qemuDomainObj *obj, const domainDiskDef *disk, char *node)
{
    g_autofree char *n = node;

    if (runUndo(obj, "blockdev-del", "node-name", n) < 0) {
        logWarn("domain '%s': disk '%s': cannot remove node '%s' again: %s", obj->name,
                disk->target, n, utilLastErrorMessage());
        utilResetError();
    }
}

/* The parameters of the files a disk of `obj` needs in a running QEMU:
 * the domain's files dir (new string in *filesDir) and the secret store. */
static void
diskFilesParams(const qemuProcessConfig *cfg, const qemuDomainObj *obj, qemuCommandParams *p,
                char **filesDir)
{
    *filesDir = qemuCommandFilesDir(cfg->stateDir, obj->name);
    p->filesDir = *filesDir;
    p->secretDir = cfg->secretDir;
}

/*
 * Before the nodes of `disk`: the files it needs (a copy of its key, a
 * Ceph configuration) in the domain's files dir, checked as at start,
 * then its secret object, which reads the key from that copy. All or
 * nothing.
 */
static int
addDiskKeys(qemuDomainObj *obj, const qemuCommandParams *p, const domainDiskDef *disk)
{
    json_object *secret;

    if (qemuCommandPrepareDiskFiles(disk, p) < 0)
        return -1;
    if (!(secret = qemuBuildDiskSecretProps(disk, p)))
        return 0;
    if (QEMU_WITH_MONITOR(obj, mon, qemuMonitorCommand(mon, "object-add", secret, NULL)) < 0) {
        blameStep(disk, "its secret object", "object-add");
        qemuCommandRemoveDiskFiles(disk, p->filesDir);
        return -1;
    }
    return 0;
}

/*
 * Once the nodes of `disk` are gone: its secret object (when it has one)
 * and whatever is left of its files. -1 with the error (also logged)
 * when QEMU kept the object.
 */
static int
removeDiskKeys(qemuDomainObj *obj, const char *filesDir, const domainDiskDef *disk)
{
    int ret = 0;

    if (disk->auth.username) {
        g_autofree char *id = qemuDiskSecretId(disk);

        if (runUndo(obj, "object-del", "id", id) < 0) {
            logWarn("domain '%s': disk '%s': cannot delete its secret object '%s': %s", obj->name,
                    disk->target, id, utilLastErrorMessage());
            ret = -1;
        }
    }
    if (qemuDiskNeedsFiles(disk))
        qemuCommandRemoveDiskFiles(disk, filesDir);
    return ret;
}

/* removeDiskKeys on a path that already failed: its error stays. */
static void
undoDiskKeys(qemuDomainObj *obj, const char *filesDir, const domainDiskDef *disk)
{
    g_autoptr(iovError) saved = utilSaveError();

    if (removeDiskKeys(obj, filesDir, disk) < 0)
        utilResetError();
    utilRestoreError(g_steal_pointer(&saved));
}

int
qemuHotplugAttachDisk(const qemuProcessConfig *cfg, qemuDomainObj *obj, const domainDef *live,
                      const domainDiskDef *disk)
{
    g_autofree char *bus = NULL;
    g_autofree char *filesDir = NULL;
    qemuDiskChain chain = {0};
    qemuCommandParams params = {0};
    int ret = -1;

    diskFilesParams(cfg, obj, &params, &filesDir);
    /* pc's PCI bus hot-plugs itself (ACPI); q35 needs a free root port */
    if (domainMachineIsPC(live))
        bus = g_strdup("pci.0");
    else if (!(bus = freeRootPort(obj, disk)))
        return -1;
    if (qemuBuildDiskChain(disk, &params, bus, &chain) < 0)
        return -1;
    /* fault injection for the tests: QEMU refuses the device */
    if (g_getenv("IOVIRT_TEST_FAIL_DEVICE_ADD"))
        json_object_object_add(chain.device, "x-iovirt-test-fault", json_object_new_boolean(true));

    /* bottom up: the key, the storage, the limits, and only then the device */
    if (addDiskKeys(obj, &params, disk) < 0)
        goto cleanup;
    if (QEMU_WITH_MONITOR(
            obj, mon,
            qemuMonitorCommand(mon, "blockdev-add", json_object_get(chain.protocol), NULL)) < 0) {
        blameStep(disk, "its protocol node", "blockdev-add");
        goto undoKeys;
    }
    if (QEMU_WITH_MONITOR(
            obj, mon,
            qemuMonitorCommand(mon, "blockdev-add", json_object_get(chain.format), NULL)) < 0) {
        blameStep(disk, "its format node", "blockdev-add");
        goto undoProtocol;
    }
    if (qemuProcessAddDiskThrottle(obj, live, disk) < 0) {
        blameStep(disk, "its throttle chain", "object-add, blockdev-add");
        goto undoFormat;
    }
    if (QEMU_WITH_MONITOR(
            obj, mon, qemuMonitorCommand(mon, "device_add", json_object_get(chain.device), NULL)) <
        0) {
        blameStep(disk, "its virtio-blk-pci device", "device_add");
        goto undoChain;
    }
    qemuDomainLogNote(obj, "disk '%s' hot-plugged on %s", disk->target, bus);
    /* QEMU has read the key and the Ceph configuration: as after a
     * start, the copies need not outlive that */
    qemuCommandRemoveDiskFiles(disk, filesDir);
    ret = 0;
    goto cleanup;

    /* in reverse order, what was added */
undoChain : {
    g_autoptr(iovError) saved = utilSaveError();

    if (qemuProcessRemoveDiskThrottle(obj, live, disk) < 0) {
        logWarn("domain '%s': disk '%s': cannot remove its throttle chain again: %s", obj->name,
                disk->target, utilLastErrorMessage());
        utilResetError();
    }
    utilRestoreError(g_steal_pointer(&saved));
}
undoFormat : {
    g_autoptr(iovError) saved = utilSaveError();

    undoNode(obj, disk, qemuDiskFormatNode(disk));
    utilRestoreError(g_steal_pointer(&saved));
}
undoProtocol : {
    g_autoptr(iovError) saved = utilSaveError();

    undoNode(obj, disk, qemuDiskProtocolNode(disk));
    utilRestoreError(g_steal_pointer(&saved));
}
undoKeys:
    undoDiskKeys(obj, filesDir, disk);
cleanup:
    qemuDiskChainClear(&chain);
    return ret;
}

/* ---- removal ---- */

#define REMOVE_RETRIES 30
#define REMOVE_RETRY_MS 100

int
qemuHotplugRemoveDiskBackend(const qemuProcessConfig *cfg, qemuDomainObj *obj,
                             const domainDef *live, const domainDiskDef *disk)
{
    g_autoptr(iovError) first = NULL;
    g_autofree char *filesDir = qemuCommandFilesDir(cfg->stateDir, obj->name);
    char *nodes[2] = {qemuDiskFormatNode(disk), qemuDiskProtocolNode(disk)};
    size_t i;

    /* a device QEMU no longer lists may still hold its drive for a
     * moment (it lets go of it when it is finalized): give it that */
    for (i = 0;; i++) {
        if (qemuProcessRemoveDiskThrottle(obj, live, disk) == 0)
            break;
        if (i == REMOVE_RETRIES || !strstr(utilLastErrorMessage(), "in use")) {
            logWarn("domain '%s': %s", obj->name, utilLastErrorMessage());
            first = utilSaveError();
            break;
        }
        utilResetError();
        g_usleep(REMOVE_RETRY_MS * 1000);
    }
    for (i = 0; i < G_N_ELEMENTS(nodes); i++) {
        if (runUndo(obj, "blockdev-del", "node-name", nodes[i]) < 0) {
            logWarn("domain '%s': disk '%s': cannot delete node '%s': %s", obj->name, disk->target,
                    nodes[i], utilLastErrorMessage());
            if (!first)
                first = utilSaveError();
            utilResetError();
        }
        g_free(nodes[i]);
    }
    /* the key's object once no node can need it */
    if (removeDiskKeys(obj, filesDir, disk) < 0) {
        if (!first)
            first = utilSaveError();
        utilResetError();
    }
    if (first) {
        utilRestoreError(g_steal_pointer(&first));
        return -1;
    }
    return 0;
}

/* ---- a cdrom's medium ---- */

/* Run tray command `cmd` ("blockdev-open-tray", ...) on device `devId`,
 * with node `node` when not NULL (blockdev-insert-medium). */
static int
trayCommand(qemuDomainObj *obj, const char *cmd, const char *devId, const char *node)
{
    json_object *args = json_object_new_object();

    json_object_object_add(args, "id", json_object_new_string(devId));
    if (node)
        json_object_object_add(args, "node-name", json_object_new_string(node));
    if (strcmp(cmd, "blockdev-open-tray") == 0)
        json_object_object_add(args, "force", json_object_new_boolean(true));
    return QEMU_WITH_MONITOR(obj, mon, qemuMonitorCommand(mon, cmd, args, NULL));
}

int
qemuHotplugChangeMedium(const qemuProcessConfig *cfg, qemuDomainObj *obj, const domainDef *live,
                        const domainDiskDef *cur, const domainDiskDef *next)
{
    g_autofree char *devId = qemuDiskDeviceId(cur);
    g_autofree char *thr = qemuDiskThrottleNode(next);
    g_autofree char *filesDir = NULL;
    json_object *protocol = NULL, *format = NULL;
    qemuCommandParams params = {0};
    int ret = -1;

    diskFilesParams(cfg, obj, &params, &filesDir);
    if (!domainDiskIsEmpty(next) && qemuBuildDiskMedium(next, &params, &protocol, &format) < 0)
        return -1;
    if (trayCommand(obj, "blockdev-open-tray", devId, NULL) < 0) {
        blameStep(cur, "opening its tray", "blockdev-open-tray");
        goto cleanup;
    }
    /* the old medium goes, its chain with it; its group stays (`live`
     * still holds the disk), with the limits the next medium gets */
    if (!domainDiskIsEmpty(cur)) {
        if (trayCommand(obj, "blockdev-remove-medium", devId, NULL) < 0) {
            blameStep(cur, "removing its medium", "blockdev-remove-medium");
            goto cleanup;
        }
        if (qemuHotplugRemoveDiskBackend(cfg, obj, live, cur) < 0)
            goto cleanup;
    }
    if (!domainDiskIsEmpty(next)) {
        if (addDiskKeys(obj, &params, next) < 0)
            goto cleanup;
        if (QEMU_WITH_MONITOR(
                obj, mon,
                qemuMonitorCommand(mon, "blockdev-add", json_object_get(protocol), NULL)) < 0) {
            blameStep(next, "its new medium's protocol node", "blockdev-add");
            undoDiskKeys(obj, filesDir, next);
            goto cleanup;
        }
        if (QEMU_WITH_MONITOR(
                obj, mon, qemuMonitorCommand(mon, "blockdev-add", json_object_get(format), NULL)) <
            0) {
            blameStep(next, "its new medium's format node", "blockdev-add");
            undoNode(obj, next, qemuDiskProtocolNode(next));
            undoDiskKeys(obj, filesDir, next);
            goto cleanup;
        }
        if (qemuProcessAddDiskThrottle(obj, live, next) < 0) {
            blameStep(next, "its throttle chain", "blockdev-add");
            undoNode(obj, next, qemuDiskFormatNode(next));
            undoNode(obj, next, qemuDiskProtocolNode(next));
            undoDiskKeys(obj, filesDir, next);
            goto cleanup;
        }
        /* QEMU has read the new medium's files */
        qemuCommandRemoveDiskFiles(next, filesDir);
        if (trayCommand(obj, "blockdev-insert-medium", devId, thr) < 0) {
            blameStep(next, "inserting its new medium", "blockdev-insert-medium");
            qemuHotplugRemoveDiskBackend(cfg, obj, live, next);
            goto cleanup;
        }
    }
    if (trayCommand(obj, "blockdev-close-tray", devId, NULL) < 0) {
        blameStep(next, "closing its tray", "blockdev-close-tray");
        goto cleanup;
    }
    qemuDomainLogNote(obj, "disk '%s': medium changed to %s", cur->target,
                      domainDiskIsEmpty(next) ? "none (empty tray)"
                      : next->path            ? next->path
                                              : "a network source");
    ret = 0;
cleanup:
    if (protocol)
        json_object_put(protocol);
    if (format)
        json_object_put(format);
    return ret;
}
