/*
 * qemu_hotplug.h: add a disk to a running QEMU and take it away
 *
 * Every function here is called with the domain's job held and without
 * its lock (qemu_domain.h): they talk to QEMU and change nothing of the
 * domain's published state; the driver publishes what they did.
 */
#pragma once

#include "qemu_domain.h"
#include "qemu_process.h"

/* How long a detach waits for the guest to let a device go before it
 * answers "unplug pending" (ms). The guest's PCI Express hot-plug driver
 * alone takes about 5 s (its attention button delay). */
#define QEMU_UNPLUG_TIMEOUT_MS 15000

/*
 * qemuHotplugAttachDisk: put `disk` in the running QEMU of `obj`, whose
 * live definition is `live` (the disk not in it): for a network disk with
 * <auth>, a 0600 copy of its key in the domain's files dir (read from the
 * file or cfg->secretDir's store, checked as at start) and its secret
 * object ("sec-vdb", as on the command line); for an rbd disk with its
 * own monitors, its Ceph configuration there; its protocol and format
 * nodes, its throttle chain (qemuProcessAddDiskThrottle: its own group
 * unless shared, a node per step, the declared groups it names joined),
 * then its virtio-blk-pci device on a free root port, so that the
 * guest's first request is limited. The copies go once QEMU has read
 * them. All or nothing: when a step fails, what was added is removed in
 * reverse order (the secret object and the files last) and the error
 * names the disk, the step and QEMU's message.
 */
int qemuHotplugAttachDisk(const qemuProcessConfig *cfg, qemuDomainObj *obj, const domainDef *live,
                          const domainDiskDef *disk);

/*
 * qemuHotplugRemoveDiskBackend: once the device of `disk` is gone from
 * QEMU, delete its throttle chain (its nodes, and its own group unless a
 * disk of `live` - the live definition without `disk` - uses it, or it
 * is declared), then its format and protocol nodes, then its secret
 * object and whatever is left of its files in the domain's files dir. Goes
 * on past a failure, which it logs; returns -1 with the first error when
 * something was left behind.
 */
int qemuHotplugRemoveDiskBackend(const qemuProcessConfig *cfg, qemuDomainObj *obj,
                                 const domainDef *live, const domainDiskDef *disk);

/*
 * qemuHotplugDevicePresent: whether QEMU still has the PCI device `devId`
 * (query-pci): 1 yes, 0 no, -1 with an error.
 */
int qemuHotplugDevicePresent(qemuDomainObj *obj, const char *devId);

/*
 * qemuHotplugChangeMedium: give cdrom `cur` of the running QEMU the medium
 * of `next` (the same disk with another source, or none: an empty tray),
 * keeping its limits and group: its tray is opened, the old medium and
 * its nodes go, the new one's nodes and throttle chain are added and
 * inserted, and the tray is closed. `live` is the live definition holding
 * `cur`. The error names the step that failed; a medium already removed
 * then leaves the tray empty.
 */
int qemuHotplugChangeMedium(const qemuProcessConfig *cfg, qemuDomainObj *obj, const domainDef *live,
                            const domainDiskDef *cur, const domainDiskDef *next);
