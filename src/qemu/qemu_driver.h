/*
 * qemu_driver.h: the operations the daemon calls on QEMU guests
 *
 * A driver owns the domains of one daemon: their persistent definitions
 * (config dir), their running state (state dir: status files, monitor
 * sockets, pidfiles) and their logs. Creating a driver loads the
 * definitions and reconnects to every QEMU still running; freeing it
 * leaves the guests running.
 *
 * Domains are named by uuid in every call. Calls on different domains
 * never wait on each other; changes to one domain are serialised by a
 * per-domain job, and reads (limits, state, XML) never wait for a change
 * in progress: they answer from the live definition, which is
 * authoritative while the monitor is connected.
 *
 * All functions are thread safe. Errors follow util/error.h.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <glib.h>

#include "conf/domain_conf.h"
#include "qemu_monitor.h"

typedef struct _qemuDriver qemuDriver;

typedef struct {
    char *configDir;   /* persistent definitions, NAME.xml */
    char *stateDir;    /* status files, monitor sockets, pidfiles */
    char *logDir;      /* per-guest logs */
    char *secretDir;   /* keys of disks' <auth usage|uuid>; NULL: none */
    char *qemuBinary;  /* NULL: qemu-system-x86_64 from PATH */
    int monitorTimeoutMs; /* 0: QEMU_MONITOR_DEFAULT_TIMEOUT_MS */
    int jobTimeoutMs;     /* wait for another change of a domain; 0: 30 s */
    bool privileged;      /* the system daemon (bridge interfaces allowed) */
} qemuDriverConfig;

/* A domain's identity, as the API hands it out. */
typedef struct {
    char *name;
    unsigned char uuid[16];
    int id; /* -1 when not running */
} qemuDomainIdent;

void qemuDomainIdentClear(qemuDomainIdent *ident);

typedef struct {
    int state;  /* iovDomainState */
    int reason;
    unsigned long long maxMemKiB;
    unsigned long long memoryKiB;
    unsigned int vcpus;
    unsigned long long cpuTimeNs;
} qemuDomainInfo;

/*
 * One event of a domain, as the daemon forwards it to the clients that
 * registered for it. `id` is an iovDomainEventID; `event`/`detail` are
 * set for lifecycle events, `disk`/`limits` (the disk's limits now in
 * force) for tunable ones. Everything belongs to the driver: a handler
 * copies what it keeps.
 */
typedef struct {
    int id;
    qemuDomainIdent dom;
    int event;
    int detail;
    const char *disk;
    const throttleDef *limits;
} qemuDriverEvent;

/*
 * The daemon's handler of events. It is called from the job that made
 * the change, once the change is published, or from the domain's event
 * worker, so the events of one domain come in the order things happened
 * to it; never from the monitor I/O thread. It must not block: it may
 * take short locks of its own, queue and return.
 */
typedef void (*qemuDriverEventFunc)(const qemuDriverEvent *ev, void *opaque);

/* qemuDriverSetEventHandler: install the handler (once, before clients
 * are served; events before it are not reported), or remove it (NULL)
 * before what `opaque` points to goes. */
void qemuDriverSetEventHandler(qemuDriver *drv, qemuDriverEventFunc func, void *opaque);

/* qemuDriverNew: create the directories, load the definitions, reconnect
 * to running guests (refreshing their limits from QEMU, sending none). */
qemuDriver *qemuDriverNew(const qemuDriverConfig *cfg);

/* qemuDriverFree: disconnect from every guest, leaving them running.
 * NULL is fine. */
void qemuDriverFree(qemuDriver *drv);

/* qemuDriverGetVersion: the version of the configured QEMU binary, as
 * major * 1000000 + minor * 1000 + micro (read once, from --version). */
int qemuDriverGetVersion(qemuDriver *drv, unsigned long long *version);

/* qemuDriverActiveCount: running guests now. */
unsigned int qemuDriverActiveCount(qemuDriver *drv);

/* ---- lookups ---- */

int qemuDriverLookupByName(qemuDriver *drv, const char *name, qemuDomainIdent *out);
int qemuDriverLookupByUUID(qemuDriver *drv, const unsigned char *uuid, qemuDomainIdent *out);
int qemuDriverLookupByID(qemuDriver *drv, int id, qemuDomainIdent *out);

/* qemuDriverListAll: the domains matching iovConnectListAllDomainsFlags
 * `flags`, sorted by name; *list is a new array of *n idents. */
int qemuDriverListAll(qemuDriver *drv, unsigned int flags, qemuDomainIdent **list,
                      size_t *n);

/* ---- definitions ---- */

/* qemuDriverDefineXML: define a new domain, or replace the persistent
 * definition of the domain of that name (a running guest keeps its live
 * state until it restarts). A document without a uuid keeps the existing
 * one. With `fromLibvirt`, a libvirt document is accepted: what iovirt
 * does not model is dropped (and logged). */
int qemuDriverDefineXML(qemuDriver *drv, const char *xml, bool fromLibvirt, qemuDomainIdent *out);

/* qemuDriverUndefine: forget the persistent definition; a running guest
 * goes on running as a transient domain. */
int qemuDriverUndefine(qemuDriver *drv, const unsigned char *uuid);

/* qemuDriverGetXMLDesc: the live definition of a running domain, or the
 * persistent one (always with IOV_DOMAIN_XML_INACTIVE). With
 * `libvirtIotune`, limits are written as <iotune>. New string. */
char *qemuDriverGetXMLDesc(qemuDriver *drv, const unsigned char *uuid, unsigned int flags,
                           bool libvirtIotune);

/* ---- lifecycle ---- */

/* qemuDriverCreate: start the guest, its limits in force before its first
 * instruction; IOV_DOMAIN_START_PAUSED leaves it paused. *out (may be
 * NULL) receives the identity with the new id. */
int qemuDriverCreate(qemuDriver *drv, const unsigned char *uuid, unsigned int flags,
                     qemuDomainIdent *out);
int qemuDriverDestroy(qemuDriver *drv, const unsigned char *uuid, unsigned int flags);
/* qemuDriverShutdown: ask the guest to power off (ACPI power button) and
 * return; the domain becomes shut off when it does. */
int qemuDriverShutdown(qemuDriver *drv, const unsigned char *uuid, unsigned int flags);
/* qemuDriverReboot: reset the guest; QEMU and the limits stay. */
int qemuDriverReboot(qemuDriver *drv, const unsigned char *uuid, unsigned int flags);
int qemuDriverSuspend(qemuDriver *drv, const unsigned char *uuid);
int qemuDriverResume(qemuDriver *drv, const unsigned char *uuid);

/* ---- state ---- */

int qemuDriverGetState(qemuDriver *drv, const unsigned char *uuid, int *state, int *reason);
int qemuDriverGetInfo(qemuDriver *drv, const unsigned char *uuid, qemuDomainInfo *info);
int qemuDriverIsActive(qemuDriver *drv, const unsigned char *uuid);
int qemuDriverIsPersistent(qemuDriver *drv, const unsigned char *uuid);

/* ---- limits ---- */

/*
 * qemuDriverSetBlockIoThrottle: apply `chg` to disk `disk` (target or
 * source path) with IOV_DOMAIN_AFFECT_* `flags`, as DESIGN.md states:
 * the family merge, validation of the merged result before anything is
 * applied, nothing sent to QEMU when the limits in force do not change,
 * groups changed as a whole. With LIVE|CONFIG both change or neither.
 * *changed (may be NULL) receives the targets whose limits changed, in
 * disk order (NULL-terminated, new; the disk itself and its group
 * members).
 */
int qemuDriverSetBlockIoThrottle(qemuDriver *drv, const unsigned char *uuid, const char *disk,
                                 const throttleChange *chg, unsigned int flags,
                                 char ***changed);

/* What a live set begun without waiting calls when it ends: rc 0, or -1
 * with the error. */
typedef void (*qemuDriverSetDone)(int rc, void *opaque);

/*
 * qemuDriverSetBlockIoThrottleBegin: a live set that never waits. When
 * the domain's job is free, the change is only new limits for the
 * running guest (LIVE, or CURRENT on a running domain) of one throttle
 * group, and its monitor is free and usable, take the job, send the one
 * qom-set, and return 1: the loop of `ctx`, which the calling thread
 * runs, reads QEMU's reply, and the rest of the set (publish, status,
 * event, end of the job) and done(...) run there. Otherwise return 0
 * with nothing changed and no error: qemuDriverSetBlockIoThrottle does
 * the set, and says what is refused.
 */
int qemuDriverSetBlockIoThrottleBegin(qemuDriver *drv, const unsigned char *uuid, const char *disk,
                                      const throttleChange *chg, unsigned int flags,
                                      GMainContext *ctx, qemuDriverSetDone done, void *opaque);

/* qemuDriverBegunSets: the sets begun and not yet ended; the thread that
 * began them runs its loop until there is none before the driver is
 * freed. */
int qemuDriverBegunSets(qemuDriver *drv);

/* qemuDriverGetBlockIoThrottle: the limits of `disk` in force (LIVE, or
 * CURRENT on a running guest) or in the persistent definition. LIVE and
 * CONFIG together are refused. */
int qemuDriverGetBlockIoThrottle(qemuDriver *drv, const unsigned char *uuid, const char *disk,
                                 unsigned int flags, throttleDef *out);

/*
 * qemuDriverSetThrottleGroup: create the declared group `name` or change
 * its limits by `chg` (the family rules of a disk's set; no group field),
 * CURRENT, LIVE, CONFIG or both: validated first, then live the group's
 * object added (new) or given only the keys that differ, the disks that
 * joined it with group= following. Nothing changes on failure.
 */
int qemuDriverSetThrottleGroup(qemuDriver *drv, const unsigned char *uuid, const char *name,
                               const throttleChange *chg, unsigned int flags);

/* qemuDriverDelThrottleGroup: delete declared group `name`; refused while
 * a disk names it (filter or group=). Live, its object goes. */
int qemuDriverDelThrottleGroup(qemuDriver *drv, const unsigned char *uuid, const char *name,
                               unsigned int flags);

/* qemuDriverGetThrottleGroup: the limits of group `name` (LIVE or CONFIG,
 * not both) into *out (group NULL). */
int qemuDriverGetThrottleGroup(qemuDriver *drv, const unsigned char *uuid, const char *name,
                               unsigned int flags, throttleDef *out);

/* One disk as qemuDriverListDisks gives it (new strings). */
typedef struct {
    char *target;
    char *source;   /* domainDiskSourceString */
    char *group;    /* "" when none */
    char **filters; /* NULL-terminated GStrv */
    unsigned int flags; /* IOV_DOMAIN_DISK_* */
} qemuDiskListing;

/* qemuDriverListDisks: the disks of the definition `flags` names (LIVE or
 * CONFIG, not both), in its order: a new array in *disks, whose strings
 * the caller takes; their number as the result. */
int qemuDriverListDisks(qemuDriver *drv, const unsigned char *uuid, unsigned int flags,
                        qemuDiskListing **disks);

/* qemuDriverListThrottleGroups: the declared groups' names (a new
 * NULL-terminated GStrv in *names), their number as the result. */
int qemuDriverListThrottleGroups(qemuDriver *drv, const unsigned char *uuid, unsigned int flags,
                                 char ***names);

/*
 * qemuDriverMonitorCommand: pass the QMP command `cmd` (JSON text) to the
 * QEMU of running domain `uuid` in its job; *result gets QEMU's reply as
 * JSON text (`{"return": ...}`). The domain is marked tainted (kept in
 * its status file, logged once): from then on its live limits are read
 * back from QEMU and a live change is diffed against what QEMU holds.
 * Flags: 0 (HMP is refused).
 */
int qemuDriverMonitorCommand(qemuDriver *drv, const unsigned char *uuid, const char *cmd,
                             unsigned int flags, char **result);

/* qemuDriverGetMessages: the messages of domain `uuid` (a new
 * NULL-terminated GStrv in *msgs, the taint of a monitor passthrough),
 * their number as the result. */
int qemuDriverGetMessages(qemuDriver *drv, const unsigned char *uuid, unsigned int flags,
                          char ***msgs);

/* qemuDriverBlockStats: the counters of `disk` of a running guest. */
int qemuDriverBlockStats(qemuDriver *drv, const unsigned char *uuid, const char *disk,
                         qemuBlockStats *out);

/* qemuDriverQueryQEMULimits: the limits QEMU itself holds for `disk`'s
 * throttle group (qom-get), to check them against the live definition. */
int qemuDriverQueryQEMULimits(qemuDriver *drv, const unsigned char *uuid, const char *disk,
                              throttleDef *out);

/* qemuDriverMonitorCommandCount: commands sent on the domain's monitor
 * since it was (re)connected; -1 when not connected. For tests. */
long long qemuDriverMonitorCommandCount(qemuDriver *drv, const unsigned char *uuid);

/*
 * qemuDriverOpenConsole: a new descriptor (non-blocking, close-on-exec)
 * on the console of the running domain `uuid`: the pty QEMU opened for
 * its serial port (raw mode) or a connection to the unix socket QEMU
 * listens on. `devName` NULL, "serial0" or "console0" (the only port);
 * the domain's name in *domName (new string, may be NULL). -1 with an
 * error: not running, no such device, a port that writes to a file or
 * to the log (no console), or the pty or socket cannot be opened.
 */
int qemuDriverOpenConsole(qemuDriver *drv, const unsigned char *uuid, const char *devName,
                          char **domName);

/* qemuDriverGetPid: QEMU's pid, or 0 when not running. For tests. */
pid_t qemuDriverGetPid(qemuDriver *drv, const unsigned char *uuid);

/* ---- autostart, host facts and bulk statistics ---- */

/* qemuDriverGetAutostart: whether the domain starts with the daemon. */
int qemuDriverGetAutostart(qemuDriver *drv, const unsigned char *uuid);

/* qemuDriverSetAutostart: mark (or unmark) a persistent domain to be
 * started when the daemon starts; kept as the link autostart/NAME.xml
 * of the config dir. A transient domain is refused. */
int qemuDriverSetAutostart(qemuDriver *drv, const unsigned char *uuid, bool autostart);

/* qemuDriverAutostart: start every domain marked autostart that does not
 * run (call after qemuDriverNew, which reconnected to the running ones).
 * A failure is logged and does not stop the others. */
void qemuDriverAutostart(qemuDriver *drv);

/* Statistics groups, as libvirt's virDomainStatsTypes. */
#define QEMU_STATS_STATE 0x1
#define QEMU_STATS_CPU_TOTAL 0x2
#define QEMU_STATS_BLOCK 0x20
#define QEMU_STATS_IOTHROTTLE 0x40000000 /* iovirt's: each disk's limits in force */

/* One disk's statistics. */
typedef struct {
    char *target;      /* "vda" */
    char *path;        /* the source file or device; NULL for network disks */
    bool haveCounters; /* QEMU answered for this disk */
    qemuBlockStats counters; /* qdev NULL */
    bool haveSize;     /* allocation and capacity known (a local file or device) */
    unsigned long long allocation, capacity; /* bytes */
    throttleDef limits; /* the limits in force (the live definition) */
} qemuDiskStats;

/* One domain's statistics, from its last published state. */
typedef struct {
    qemuDomainIdent ident;
    int state, reason;
    bool active;
    unsigned long long cpuTimeNs;
    qemuDiskStats *disks; /* ndisks, of the live definition (none when shut off) */
    size_t ndisks;
} qemuDomainStats;

void qemuDomainStatsClear(qemuDomainStats *st);

/*
 * qemuDriverGetStats: the statistics of the domains `uuids` (n of them,
 * 16 bytes each),
 * or, with uuids NULL, of every domain matching the
 * iovConnectListAllDomainsFlags filter `listFlags`; sorted by name when
 * listed. Never waits for a job: each domain is read as last published,
 * and its counters come from one query-blockstats on a reference to its
 * monitor. A domain whose monitor cannot answer is reported without
 * counters. *out is a new array of *nout records.
 */
int qemuDriverGetStats(qemuDriver *drv, const unsigned char *uuids, size_t n,
                       unsigned int listFlags, unsigned int groups, qemuDomainStats **out,
                       size_t *nout);

/* ---- the host ---- */

typedef struct {
    char model[32];             /* the CPU architecture, "x86_64" */
    unsigned long long memoryKiB;
    int cpus, mhz, nodes, sockets, cores, threads;
} qemuNodeInfo;

/* qemuDriverNodeInfo: the host's CPUs and memory, from /proc and sysconf. */
int qemuDriverNodeInfo(qemuDriver *drv, qemuNodeInfo *info);

/* qemuDriverFreeMemory: the host's free memory in bytes. */
int qemuDriverFreeMemory(qemuDriver *drv, unsigned long long *bytes);

/* qemuDriverGetMaxVcpus: the most vCPUs a guest of virtualization type
 * `type` ("qemu", "kvm", or NULL for either) may have. */
int qemuDriverGetMaxVcpus(qemuDriver *drv, const char *type);

/* qemuDriverGetCapabilities: a capabilities document: the host's
 * architecture and the guests iovirt runs. New string. */
char *qemuDriverGetCapabilities(qemuDriver *drv);

/* qemuDriverGetSysinfo: the host's SMBIOS identity from sysfs, as a
 * <sysinfo type='smbios'> document. New string. */
char *qemuDriverGetSysinfo(qemuDriver *drv);

/* ---- devices: disks that come and go ---- */

/*
 * qemuDriverAttachDevice: add the disk of the <disk> document `xml`
 * (libvirt's when `fromLibvirt`) to the running guest (hot-plug, limits
 * in force before its device exists), to the persistent definition, or
 * both, per `flags` (IOV_DOMAIN_AFFECT_*). All or nothing: on failure
 * QEMU and both definitions are as before and the error names the step.
 */
int qemuDriverAttachDevice(qemuDriver *drv, const unsigned char *uuid, const char *xml,
                           unsigned int flags, bool fromLibvirt);

/*
 * qemuDriverDetachDevice: remove the disk named by the <disk> document
 * `xml` (its target), or by the device alias `alias` ("disk-vdb") when
 * `xml` is NULL. Live, the guest is asked to let it go and is waited for
 * QEMU_UNPLUG_TIMEOUT_MS; past that the error says "unplug pending", the
 * disk stays (limited, marked unplug='pending') and goes by itself when
 * QEMU reports it gone.
 */
int qemuDriverDetachDevice(qemuDriver *drv, const unsigned char *uuid, const char *xml,
                           const char *alias, unsigned int flags, bool fromLibvirt);

/*
 * qemuDriverUpdateDevice: a disk document that differs from the disk of
 * its target only in its limits and its <throttlefilters> sets them
 * (they are the whole new state: what it does not give becomes 0), as a
 * limit change does, the chain being rebuilt live when its filters
 * differ (qemuDriverSetDiskThrottleFilters); a cdrom's medium changes;
 * anything else is refused, named.
 */
/*
 * qemuDriverSetDiskThrottleFilters: disk `disk` passes, after its own
 * limits, through the declared groups `groups` (`ngroups` names, in
 * order; none: it leaves every group). Live, its chain is rebuilt
 * (qemuProcessApplyThrottle): the new steps are in place before the old
 * ones go, and a failure leaves QEMU and both definitions as they were.
 * `flags`: IOV_DOMAIN_AFFECT_*. In the domain's job.
 */
int qemuDriverSetDiskThrottleFilters(qemuDriver *drv, const unsigned char *uuid, const char *disk,
                                     const char *const *groups, size_t ngroups, unsigned int flags);

int qemuDriverUpdateDevice(qemuDriver *drv, const unsigned char *uuid, const char *xml,
                           unsigned int flags, bool fromLibvirt);

/* qemuDriverQMPQuery: for tests: the JSON reply of QEMU to the query
 * `cmd` (a "query-..." command, or qom-list of `path`), sent without the
 * job, as statistics are; NULL with an error. */
char *qemuDriverQMPQuery(qemuDriver *drv, const unsigned char *uuid, const char *cmd,
                         const char *path);
