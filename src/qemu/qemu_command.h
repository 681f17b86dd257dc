/*
 * qemu_command.h: the QEMU command line of a domain, and the names of
 * the objects it creates
 *
 * Every disk becomes a protocol node, a format node and a throttle filter
 * node over a throttle-group object, under the guest device:
 *
 *   -device disk-vda ─▶ throttle-vda (driver=throttle) ─▶ fmt-vda ─▶ proto-vda
 *                            │
 *                            └─ throttle-group object tg-vda, or tgg-NAME
 *                               shared by every disk of group NAME
 *
 * A disk with <throttlefilters> has one more throttle node per declared
 * group it names, below its own, each over that group's object:
 *
 *   -device disk-vda ─▶ throttle-vda ─▶ throttle-vda-1 ─▶ throttle-vda-2 ─▶ fmt-vda
 *                          tg-vda         tgg-cap           tgg-tenant
 *
 * A request waits for the disk's own limits first (nearest the device),
 * then for each group in order, so a group's budget is spent only on
 * requests the disk's own limits already let through.
 *
 * The filter node is present even while the disk is unlimited, so that a
 * limit can be added live without changing the block graph. The group
 * objects start without limits: the process code applies them with the
 * same function that live changes use.
 */
#pragma once

#include <glib.h>

#include <json-c/json.h>

#include "conf/domain_conf.h"
#include <json-c/json.h>

typedef struct {
    const char *binary;        /* qemu-system-x86_64 */
    const char *monitorPath;   /* QMP unix socket */
    const char *pidfilePath;
    const char *serialLogPath; /* the serial port's file when the
                                * definition has no <serial>/<console> */
    const char *filesDir;      /* private directory of the files QEMU reads
                                * at start (keys, Ceph configurations);
                                * may be NULL when no disk needs one */
    const char *secretDir;     /* the daemon's secret store (usage=, uuid=);
                                * may be NULL: such secrets are refused */
    const char *incoming;      /* -incoming (a migration's destination:
                                * "defer"); NULL: none */
} qemuCommandParams;

/*
 * qemuBuildCommandLine: argv (NULL-terminated, new) to start `def` paused
 * (-S). -blockdev, -object and -device take JSON, so no value can add an
 * option; -chardev and -name values are escaped (',' doubled).
 */
GStrv qemuBuildCommandLine(const domainDef *def, const qemuCommandParams *p);

/*
 * qemuCommandPrepareFiles: write what the command line of `def` points
 * QEMU at, in p->filesDir (created 0700, emptied first): for each disk
 * with <auth>, a 0600 copy of its key (checked: a regular file of the
 * daemon's user, mode 0600 or stricter), which QEMU reads through
 * -object secret,file= so that no key is ever on a command line or in a
 * log; for each rbd disk with monitors, a Ceph configuration holding its
 * connect timeout. -1 with an error naming the disk and the file (never
 * the key); nothing is left behind then.
 */
int qemuCommandPrepareFiles(const domainDef *def, const qemuCommandParams *p);

/*
 * qemuCommandPrepareDiskFiles: the same for one disk (what
 * qemuCommandPrepareFiles does for each), into p->filesDir, made 0700 when
 * absent and kept otherwise: a disk hot-plugged into a running guest gets
 * its files this way. Nothing to do for a disk that needs none. -1 with
 * an error naming the disk and the file (never the key); that disk's
 * files are gone then.
 */
int qemuCommandPrepareDiskFiles(const domainDiskDef *disk, const qemuCommandParams *p);

/* qemuCommandRemoveDiskFiles: remove the files of `disk` from `filesDir`
 * (those absent are skipped), and the directory when it is left empty. */
void qemuCommandRemoveDiskFiles(const domainDiskDef *disk, const char *filesDir);

/* Whether `disk` needs files in the files dir (a key, a Ceph
 * configuration). */
bool qemuDiskNeedsFiles(const domainDiskDef *disk);

/* The secret object of a disk's key ("sec-vda"; new string): the same id
 * on the command line and in a hot-plug. */
char *qemuDiskSecretId(const domainDiskDef *disk);

/* qemuBuildDiskSecretProps: the properties of the secret object of a
 * disk with <auth> (-object or object-add; new reference): QEMU reads the
 * key from its copy in p->filesDir. NULL when the disk has no <auth>. */
json_object *qemuBuildDiskSecretProps(const domainDiskDef *disk, const qemuCommandParams *p);

/* qemuCommandRemoveFiles: remove `filesDir` and what it holds (NULL or
 * absent: nothing to do). QEMU reads the files while it starts, so they
 * go once it has started, and at the latest when it ends. */
void qemuCommandRemoveFiles(const char *filesDir);

/* qemuCommandFilesDir: the files dir of domain `name` (new string). */
char *qemuCommandFilesDir(const char *stateDir, const char *name);

/* qemuEscapeOption: `value` with every ',' doubled (new string). */
char *qemuEscapeOption(const char *value);

/* Names derived from a disk's target (new strings). */
char *qemuDiskDeviceId(const domainDiskDef *disk);   /* "disk-vda" */
char *qemuDiskThrottleNode(const domainDiskDef *disk); /* "throttle-vda" */
char *qemuDiskFormatNode(const domainDiskDef *disk);   /* "fmt-vda" */

/* The throttle-group object a disk uses, given its limits `t` (which
 * carry the group name): "tg-vda" alone, "tgg-NAME" in group NAME. */
char *qemuThrottleGroupId(const domainDiskDef *disk, const throttleDef *t);

/* The device id of interface `idx` ("net0"), a new string. */
char *qemuNetDeviceId(size_t idx);

/* The throttle-group object of declared group `name`: "tgg-NAME", the
 * same object <iothrottle group='NAME'> members use (new string). */
char *qemuNamedGroupId(const char *name);

/* The steps of a disk's chain: its own (step 0), then one per filter. */
size_t qemuDiskChainLength(const domainDiskDef *disk);

/* The node of step `step`: "throttle-vda" (0), "throttle-vda-K" (K);
 * at the chain's length, the format node below the chain (new string). */
char *qemuDiskStepNode(const domainDiskDef *disk, size_t step);

/* The group object of step `step` (new string). */
char *qemuDiskStepGroupId(const domainDiskDef *disk, size_t step);

/* qemuBuildThrottleNodeProps: the blockdev-add properties of step
 * `step`'s throttle node, over the node of step + 1 (new reference). The
 * command line and a hot-plug build a disk's chain with it, from the
 * last step up to step 0. */
json_object *qemuBuildThrottleNodeProps(const domainDiskDef *disk, size_t step);

/* Whether `qdev` (as query-blockstats reports it) is `disk`'s device. */
gboolean qemuDiskMatchesQdev(const domainDiskDef *disk, const char *qdev);
/* The same for the device id `devId` ("disk-vda"). */
gboolean qemuDeviceIdMatchesQdev(const char *devId, const char *qdev);

/* ---- root ports and hot-plug ---- */

/* Free pcie-root-ports a q35 guest gets when its definition names none. */
#define QEMU_FREE_ROOT_PORTS 4

/* The id of root port `index` ("rp0", "rp1", ...; new string). */
char *qemuRootPortId(unsigned int index);

/* How many root ports `def` starts with: one for each virtio disk, and
 * QEMU_FREE_ROOT_PORTS free ones, or as many as its <controller
 * model='pcie-root-port'/> elements when it has them (at least one a
 * virtio disk). */
unsigned int qemuRootPortCount(const domainDef *def);

/* The protocol node of a disk ("proto-vda"; new string). */
char *qemuDiskProtocolNode(const domainDiskDef *disk);

/*
 * What QEMU is given to hot-plug one disk besides its throttle chain
 * (qemuBuildThrottleNodeProps): its protocol and format nodes
 * (blockdev-add arguments) and its virtio-blk-pci device (device_add
 * arguments), on the chain's first node. Each member is a JSON object
 * owned by the chain.
 */
typedef struct {
    json_object *protocol;
    json_object *format;
    json_object *device;
} qemuDiskChain;

void qemuDiskChainClear(qemuDiskChain *c);

/*
 * qemuBuildDiskChain: the nodes of `disk` and its device on root port
 * `bus`: the same nodes and names a disk gets on the command line. A sata
 * disk cannot be hot-plugged, and is refused with an error naming it. A
 * disk that needs files (qemuDiskNeedsFiles) needs p->filesDir; its
 * secret object is qemuBuildDiskSecretProps's.
 */
int qemuBuildDiskChain(const domainDiskDef *disk, const qemuCommandParams *p, const char *bus,
                       qemuDiskChain *c);

/* qemuBuildDiskMedium: the protocol and format nodes of `disk` (new
 * references), for a cdrom's new medium. */
int qemuBuildDiskMedium(const domainDiskDef *disk, const qemuCommandParams *p,
                        json_object **protocol, json_object **format);
