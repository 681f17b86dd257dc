/*
 * qemu_domain.h: one domain of the driver, its job, and its status file
 *
 * Locking: `lock` protects every field below it. It is held only for
 * short moments and never while talking to QEMU: a change takes the job
 * (qemuDomainBeginJob), then drops the lock around each monitor command
 * (qemuDomainEnterMonitor / ExitMonitor), so readers never wait for QEMU.
 * Monitor callbacks take the lock from the monitor's I/O thread, which is
 * why no monitor function may be called with the lock held.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <glib.h>

#include "conf/domain_conf.h"
#include "qemu_monitor.h"

typedef struct _qemuDriver qemuDriver;

typedef struct {
    gint refs;                /* atomic */
    GMutex lock;
    GCond jobCond;            /* signalled when the job is released */
    bool job;                 /* a change holds the domain */

    char *name;               /* fixed at creation */
    unsigned char uuid[16];   /* fixed at creation */

    domainDef *def;           /* persistent definition; NULL when transient */
    domainDef *live;          /* the definition in force; NULL when shut off */
    int state;                /* iovDomainState */
    int reason;
    int id;                   /* -1 when shut off */
    pid_t pid;                /* 0 when shut off */
    bool ourChild;            /* pid is a child of this process: reap it */
    qemuMonitor *mon;         /* NULL when shut off or not connected */
    unsigned int monGeneration; /* bumped at every (re)connect */
    bool sawShutdown;         /* QEMU announced a guest power-off */
    char *monPath;            /* set while running */
    char *pidPath;
    char *logPath;            /* the per-guest log; always set */
    bool removed;             /* no longer in the driver's tables */
    void *monCtx;             /* what the monitor callbacks receive; owned
                               * by the process code, NULL with no monitor */
    qemuDriver *driver;       /* not owned */
} qemuDomainObj;

qemuDomainObj *qemuDomainObjNew(const char *name, const unsigned char *uuid);
qemuDomainObj *qemuDomainObjRef(qemuDomainObj *obj);
void qemuDomainObjUnref(qemuDomainObj *obj);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(qemuDomainObj, qemuDomainObjUnref)

bool qemuDomainObjIsActive(const qemuDomainObj *obj);

/*
 * qemuDomainBeginJob: with obj->lock held, wait (at most `timeoutMs`) until
 * no other change holds the domain, then hold it. Returns -1 with
 * IOV_ERR_OPERATION_TIMEOUT naming the domain when the wait times out.
 */
int qemuDomainBeginJob(qemuDomainObj *obj, int timeoutMs);
void qemuDomainEndJob(qemuDomainObj *obj);

/*
 * qemuDomainEnterMonitor: with the job and the lock held, return the
 * monitor and drop the lock; NULL with an error (lock still held) when the
 * guest has no monitor. qemuDomainExitMonitor takes the lock back.
 */
qemuMonitor *qemuDomainEnterMonitor(qemuDomainObj *obj);
void qemuDomainExitMonitor(qemuDomainObj *obj);

/* QEMU_WITH_MONITOR: run one monitor call `call` (which names the monitor
 * `mon`) for `obj`, its job and lock held: -1 when there is no monitor,
 * else the call's result. */
#define QEMU_WITH_MONITOR(obj, mon, call) \
    ({ int _rc = -1; qemuMonitor *mon = qemuDomainEnterMonitor(obj); \
       if (mon) { _rc = (call); qemuDomainExitMonitor(obj); } _rc; })

/* qemuDomainSetState: state and reason. */
void qemuDomainSetState(qemuDomainObj *obj, int state, int reason);

/* qemuDomainLogNote: append a timestamped line to the guest's log. */
void qemuDomainLogNote(qemuDomainObj *obj, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* ---- status files: the running state kept under the state dir ---- */

#define QEMU_STATUS_VERSION 1

/* qemuDomainSaveStatus: write (atomically) the running state of `obj`:
 * format version, state, pid, id, monitor, pidfile and the live
 * definition. With the lock held. */
int qemuDomainSaveStatus(qemuDomainObj *obj, const char *path);

/* What a status file holds. */
typedef struct {
    int version;
    int state, reason;
    pid_t pid;
    int id;
    bool persistent;
    char *monPath;
    char *pidPath;
    domainDef *live;
} qemuDomainStatus;

void qemuDomainStatusClear(qemuDomainStatus *st);

/* qemuDomainLoadStatus: read a status file; refuses an unknown version. */
int qemuDomainLoadStatus(const char *path, qemuDomainStatus *st);

/* qemuPidfileHolder: the pid holding the write lock on `pidPath` (QEMU
 * locks its pidfile while it runs), or 0 when nobody does. */
pid_t qemuPidfileHolder(const char *pidPath);
