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
        reportError(IOV_ERR_OPERATION_FAILED, "disk '%s': domain '%s' has no free pcie-root-port to plug it into (give the definition more <controller type='pci' model='pcie-root-port'/> and restart it)",
                    disk->target, obj->name);
        return NULL;
    }
    return g_strdup(best);
}

/* ---- attach ---- */

/* One step of an attach: the command that did it and the one that undoes it. */
typedef struct {
    const char *what;    /* for the error: "its throttle group", ... */
    const char *cmd;     /* object-add, blockdev-add, device_add */
    json_object *args;   /* borrowed from the chain */
    const char *undoCmd; /* object-del, blockdev-del; NULL: nothing to undo */
    const char *undoKey; /* "id" or "node-name" */
    char *undoId;
} attachStep;

static int
runUndo(qemuDomainObj *obj, const char *cmd, const char *key, const char *id)
{
    json_object *args = json_object_new_object();

    json_object_object_add(args, key, json_object_new_string(id));
    return QEMU_WITH_MONITOR(obj, mon, qemuMonitorCommand(mon, cmd, args, NULL));
}

/* Whether a disk of `def` other than `except` uses throttle group `id`. */
static bool
groupUsed(const domainDef *def, const char *id, const domainDiskDef *except)
{
    size_t i;

    for (i = 0; def && i < def->ndisks; i++) {
        const domainDiskDef *d = def->disks[i];
        g_autofree char *other = NULL;

        if (d == except || g_strcmp0(d->target, except->target) == 0)
            continue;
        other = qemuThrottleGroupId(d, &d->throttle);
        if (strcmp(other, id) == 0)
            return true;
    }
    return false;
}

int
qemuHotplugAttachDisk(qemuDomainObj *obj, const domainDef *live, const domainDiskDef *disk)
{
    g_autofree char *bus = NULL;
    g_autofree char *groupId = qemuThrottleGroupId(disk, &disk->throttle);
    qemuDiskChain chain = {0};
    qemuCommandParams params = {0};
    attachStep steps[5];
    size_t nsteps = 0, done, i;
    int ret = -1;

    if (!(bus = freeRootPort(obj, disk)))
        return -1;
    if (qemuBuildDiskChain(disk, &params, bus, &chain) < 0)
        return -1;
    /* fault injection for the tests: QEMU refuses the device */
    if (g_getenv("IOVIRT_TEST_FAIL_DEVICE_ADD"))
        json_object_object_add(chain.device, "x-iovirt-test-fault", json_object_new_boolean(true));

    if (!groupUsed(live, groupId, disk))
        steps[nsteps++] = (attachStep){"its throttle group", "object-add", chain.group, "object-del",
                                       "id", g_strdup(groupId)};
    steps[nsteps++] = (attachStep){"its protocol node", "blockdev-add", chain.protocol, "blockdev-del",
                                   "node-name", qemuDiskProtocolNode(disk)};
    steps[nsteps++] = (attachStep){"its format node", "blockdev-add", chain.format, "blockdev-del",
                                   "node-name", qemuDiskFormatNode(disk)};
    steps[nsteps++] = (attachStep){"its throttle filter node", "blockdev-add", chain.throttle,
                                   "blockdev-del", "node-name", qemuDiskThrottleNode(disk)};
    steps[nsteps++] = (attachStep){"its virtio-blk-pci device", "device_add", chain.device, NULL,
                                   NULL, NULL};

    for (done = 0; done < nsteps; done++) {
        attachStep *s = &steps[done];

        if (QEMU_WITH_MONITOR(obj, mon, qemuMonitorCommand(mon, s->cmd, json_object_get(s->args), NULL)) < 0) {
            g_autoptr(iovError) e = utilSaveError();

            /* undo in reverse order what was done */
            for (i = done; i > 0; i--) {
                attachStep *u = &steps[i - 1];

                if (u->undoCmd && runUndo(obj, u->undoCmd, u->undoKey, u->undoId) < 0) {
                    logWarn("domain '%s': disk '%s': cannot undo %s: %s", obj->name, disk->target,
                            u->what, utilLastErrorMessage());
                    utilResetError();
                }
            }
            reportError(e ? e->code : IOV_ERR_OPERATION_FAILED, "disk '%s': cannot attach it: adding %s (%s) failed: %s",
                        disk->target, s->what, s->cmd, e ? e->message : "unknown error");
            goto cleanup;
        }
    }
    qemuDomainLogNote(obj, "disk '%s' hot-plugged on %s", disk->target, bus);
    ret = 0;

 cleanup:
    for (i = 0; i < nsteps; i++)
        g_free(steps[i].undoId);
    qemuDiskChainClear(&chain);
    return ret;
}

/* ---- removal ---- */

int
qemuHotplugRemoveDiskBackend(qemuDomainObj *obj, const domainDef *live, const domainDiskDef *disk)
{
    g_autofree char *groupId = qemuThrottleGroupId(disk, &disk->throttle);
    g_autoptr(iovError) first = NULL;
    char *nodes[3] = {qemuDiskThrottleNode(disk), qemuDiskFormatNode(disk),
                      qemuDiskProtocolNode(disk)};
    size_t i;

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
    if (!groupUsed(live, groupId, disk) && runUndo(obj, "object-del", "id", groupId) < 0) {
        logWarn("domain '%s': disk '%s': cannot delete throttle group '%s': %s", obj->name,
                disk->target, groupId, utilLastErrorMessage());
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
