/*
 * qemu_process.h: start, stop and reconnect to the QEMU of a domain,
 * and put limits in force
 *
 * Every function here is called with the domain's job held and without
 * its lock: they talk to QEMU, write files and wait for processes, and
 * take the lock only for a moment to publish what changed (see
 * qemu_domain.h).
 */
#pragma once

#include "qemu_domain.h"

typedef struct {
    const char *stateDir;
    const char *logDir;
    const char *binary;
    const char *secretDir; /* keys named by usage= or uuid=; may be NULL */
    int monitorTimeoutMs;
    bool privileged; /* a system daemon: may make taps on host bridges */
    /* the callbacks every monitor gets; their opaque is a
     * qemuProcessMonitorCtx */
    const qemuMonitorCallbacks *callbacks;
} qemuProcessConfig;

/* What monitor callbacks receive: the domain and the generation of the
 * connection, so that a late event of an old connection is ignored. */
typedef struct {
    qemuDomainObj *obj; /* a reference */
    unsigned int generation;
} qemuProcessMonitorCtx;

/* The status file of `obj` (new string). */
char *qemuProcessStatusPath(const qemuProcessConfig *cfg, const qemuDomainObj *obj);

/*
 * qemuProcessStart: start QEMU paused for obj->def, connect its monitor,
 * apply every disk's limits with qemuProcessApplyThrottle, then resume it
 * unless IOV_DOMAIN_START_PAUSED. On failure QEMU is stopped and the error
 * names the disk and carries QEMU's message.
 */
int qemuProcessStart(const qemuProcessConfig *cfg, qemuDomainObj *obj, unsigned int flags,
                     int id);

/*
 * qemuProcessStartIncoming: start QEMU for the live definition `def` a
 * migration brings (copied), waiting for the migration stream
 * (-incoming defer) with every disk's limits already in force, paused
 * (PAUSED_MIGRATION) until the migration ends. On failure QEMU is
 * stopped and nothing of it is left.
 */
int qemuProcessStartIncoming(const qemuProcessConfig *cfg, qemuDomainObj *obj, const domainDef *def,
                             int id);

/* qemuProcessStop: disconnect, make sure QEMU is gone (SIGTERM, then
 * SIGKILL), remove the running state; the domain becomes shut off with
 * `reason`. */
void qemuProcessStop(const qemuProcessConfig *cfg, qemuDomainObj *obj, int reason);

/* qemuProcessCloseMonitor: disconnect from QEMU, leaving it running. */
void qemuProcessCloseMonitor(qemuDomainObj *obj);

/*
 * qemuProcessReconnect: adopt a QEMU found running from its status: check
 * it is alive, connect, read its run state and refresh the limits from
 * QEMU (qom-get; nothing is sent). Returns 1 when adopted, 0 when QEMU is
 * gone (the domain is left shut off), -1 on error (QEMU left running,
 * domain marked running without a monitor).
 */
int qemuProcessReconnect(const qemuProcessConfig *cfg, qemuDomainObj *obj,
                         qemuDomainStatus *st);

/*
 * qemuProcessEnsureMonitor: make sure a running domain has a usable
 * monitor: after a command timed out (QEMU hung, then came back) or the
 * connection was lost while QEMU still runs, reconnect and refresh the
 * live limits from QEMU (nothing is sent). -1 with an error when QEMU
 * cannot be reached.
 */
int qemuProcessEnsureMonitor(const qemuProcessConfig *cfg, qemuDomainObj *obj);

/*
 * qemuProcessApplyThrottle: bring QEMU's throttle groups from the limits
 * of `from` (NULL: a fresh QEMU, whose groups exist without limits) to
 * those of `to`: qom-set only the groups whose limits change, add the
 * groups that appear, move disks between groups, rebuild the chain of a
 * disk whose <throttlefilters> change (new nodes added, one
 * blockdev-reopen onto them, the old ones deleted: the disk is never
 * without a step it keeps), delete the groups no disk uses. Nothing is
 * sent when nothing changes (every change resets QEMU's buckets). On
 * failure what was done is undone as far as possible.
 */
int qemuProcessApplyThrottle(qemuDomainObj *obj, const domainDef *from, const domainDef *to);

/* What a limit change begun without waiting calls when it ends: rc 0, or
 * -1 with the error (naming the disk or group). */
typedef void (*qemuProcessThrottleDone)(int rc, void *opaque);

/*
 * qemuProcessApplyThrottleBegin: when going from `from` to `to` (both
 * live definitions) is only new limits for one throttle group of an
 * untainted guest, send them to QEMU without waiting (see
 * qemuMonitorCommandBegin: done is called from the thread that runs
 * `ctx`) and return 1. 0, with nothing sent, for any other change, or
 * when the monitor is busy or unusable: qemuProcessApplyThrottle applies
 * it. The job is held, and stays held until done is called.
 */
int qemuProcessApplyThrottleBegin(qemuDomainObj *obj, const domainDef *from, const domainDef *to,
                                  GMainContext *ctx, qemuProcessThrottleDone done, void *opaque);

/*
 * qemuProcessAddDiskThrottle: build the throttle chain of `disk` in a
 * running QEMU, for a disk being hot-plugged: `def` is the live definition
 * as QEMU holds it now (without the disk), and the disk's format node
 * already exists. Adds its own group object unless `def` already has it
 * (a group= shared with a member, or a declared group), then its throttle
 * nodes from the last filter up to step 0 ("throttle-vda", which the
 * device is then added on). The declared groups its filters name exist
 * already. On failure what it added is removed again.
 */
int qemuProcessAddDiskThrottle(qemuDomainObj *obj, const domainDef *def, const domainDiskDef *disk);

/*
 * qemuProcessRemoveDiskThrottle: the reverse, once the device is gone:
 * delete the disk's throttle nodes from step 0 down, then its own group
 * object unless a disk of `def` (the live definition without the disk)
 * still uses it or it is declared. The format node stays for the caller.
 */
int qemuProcessRemoveDiskThrottle(qemuDomainObj *obj, const domainDef *def,
                                  const domainDiskDef *disk);
