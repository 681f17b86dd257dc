/*
 * qemu_domain.h: one domain of the driver, its job, its events, and its
 * status file
 *
 * Concurrency. A domain has a job and a lock, taken in that order and
 * never the other way round:
 *
 *  - The job (`job`, waited for on `jobCond`) serialises every change of
 *    the domain: define, undefine, start, stop, limits, the end of QEMU.
 *    Only the thread that holds the job writes the fields marked [job]
 *    below, so it reads them without the lock. The job is held across
 *    the slow work of a change: QMP round trips, file writes and fsyncs,
 *    spawning and killing QEMU, waiting for it.
 *  - `lock` guards memory only: every field below is read under it by
 *    threads that do not hold the job, and the job holder takes it for a
 *    moment to publish each write. Nothing slow happens under it: no
 *    file I/O, no QMP command, no waiting for a child; it is held to copy
 *    or swap pointers and numbers (and, inside it, a monitor's own lock may
 *    be taken to read its counters). Readers (state, limits, XML, lists)
 *    therefore never wait for a change in progress: they see the last
 *    published state.
 *  - The driver's lock (qemu_driver.c) guards the driver's tables. It is
 *    never held together with a domain's lock.
 *  - An event for the clients is handed to the daemon with the domain's
 *    lock held, in the same hold as the change it reports, so a domain's
 *    events keep the order of its changes; the daemon only encodes and
 *    queues it, under its own events lock (domain lock → events lock).
 *
 * Events from QEMU arrive on the monitor I/O thread, which must never
 * block: it queues them on the domain (`events`, under the lock) and a
 * worker of the driver's pool handles them in order, one worker per
 * domain at a time. An event that the job holder waits for (see
 * qemuDomainJobExpectEvent) is handed straight to it instead.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <glib.h>

#include "conf/domain_conf.h"
#include "qemu_monitor.h"

typedef struct _qemuDriver qemuDriver;

/* One event of QEMU, queued for the domain's worker. */
typedef struct {
    char *name;              /* QEMU's event name; NULL for the end of the connection */
    json_object *data;       /* a reference, or NULL */
    bool error;              /* end of connection: QEMU sent something unreadable */
    unsigned int generation; /* the monitor connection it came from */
} qemuDomainEvent;

void qemuDomainEventFree(qemuDomainEvent *ev);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(qemuDomainEvent, qemuDomainEventFree)

/* What a status file holds, taken at one moment (qemu_domain.c). */
typedef struct _qemuDomainStatusSnap qemuDomainStatusSnap;
void qemuDomainStatusSnapFree(qemuDomainStatusSnap *snap);

/*
 * The background writer of a driver's status files: one thread, and the
 * domains with a change to write, each at its time
 * (QEMU_STATUS_WRITE_DELAY_MS below). qemuStatusQueueNew returns NULL
 * with an error when the thread cannot start. qemuStatusQueueFree
 * writes what is still queued, at once, then stops the thread; NULL is
 * fine.
 */
typedef struct _qemuStatusQueue qemuStatusQueue;
qemuStatusQueue *qemuStatusQueueNew(void);
void qemuStatusQueueFree(qemuStatusQueue *q);

/*
 * A migration holding a domain's job (qemu_migration.c), from its first
 * step on this side to its last. Everything in it is under the domain's
 * lock: QEMU's MIGRATION events update `status` from the monitor I/O
 * thread without the job (the job holder waits on jobCond), and job
 * queries read it.
 */
typedef struct {
    bool source;        /* this side sends the guest */
    void *owner;        /* the client connection that began it, or NULL */
    char *status;       /* QEMU's last migration status ("active", ...); NULL: none yet */
    bool monitorGone;   /* QEMU's monitor ended during the migration */
    bool performing;    /* the source's QEMU is sending now */
    bool ownerGone;     /* its client went away while it was sending */
    bool wasRunning;    /* the source guest ran when the migration began */
    unsigned int flags; /* iovDomainMigrateFlags */
    int port;           /* destination: the stream's port it holds; 0: none */
    gint64 started;     /* g_get_real_time() when it began */
    bool kept;          /* destination: the domain was defined here (shut
                         * off) before it came: a failure keeps it */
} qemuDomainMigration;

typedef struct {
    gint refs;                /* atomic */
    GMutex lock;
    GCond jobCond;            /* signalled when the job is released, and
                               * when an expected event arrives; waited
                               * on and woken only through
                               * qemuDomainJobCondWaitUntil/Wake */
    unsigned int jobWaiters;  /* [lock] threads waiting on jobCond */
    bool job;                 /* a change holds the domain */

    char *name;               /* fixed at creation */
    unsigned char uuid[16];   /* fixed at creation */
    char *logPath;            /* fixed at creation: the per-guest log */
    qemuDriver *driver;       /* fixed at creation; not owned */
    qemuStatusQueue *statusQueue; /* fixed at creation; not owned: the
                                   * background writer of status files */

    domainDef *def;           /* [job] persistent definition; NULL when transient */
    domainDef *live;          /* [job] the definition in force; NULL when shut off */
    int state;                /* iovDomainState; also written by the event worker */
    int reason;
    int id;                   /* [job] -1 when shut off */
    pid_t pid;                /* [job] 0 when shut off */
    bool ourChild;            /* [job] pid is a child of this process: reap it */
    qemuMonitor *mon;         /* [job] NULL when shut off or not connected */
    unsigned int monGeneration; /* [job] bumped at every (re)connect */
    bool sawShutdown;         /* QEMU announced a guest power-off (event worker) */
    char *monPath;            /* [job] set while running */
    char *pidPath;            /* [job] */
    bool removed;             /* [job] no longer in the driver's tables */
    bool incomingCut;         /* [job] a reconnect found an incoming
                               * migration its Finish never ended */
    bool autostart;           /* [job] started when the daemon starts */
    bool tainted;             /* [job] a command was passed through to its
                               * QEMU monitor since it started: what QEMU
                               * holds may differ from `live` */
    GPtrArray *lastBlockStats; /* qemuBlockStats of the last bulk statistics
                                * query of this QEMU, for a query that finds
                                * its monitor busy; NULL when none */
    unsigned int lastBlockStatsGen; /* the monGeneration they came from */
    void *monCtx;             /* [job] what the monitor callbacks receive;
                               * owned by the process code, NULL with no monitor */

    GQueue events;            /* qemuDomainEvent, waiting for the worker */
    bool eventWorker;         /* a worker is handling `events` */
    char *expectEvent;        /* the event the job holder waits for, or NULL */
    char *expectDevice;       /* and the "device" of its data, or NULL: any */
    qemuDomainEvent *expected; /* it, once arrived (owned) */

    /* The status file is written by one thread at a time (`statusWriter`,
     * waited for on statusCond), in the order the job took them. */
    GCond statusCond;         /* signalled when the writer changes hands:
                               * not jobCond, so that ending a job wakes
                               * no writer */
    qemuDomainStatusSnap *statusPending; /* the newest status not written
                                          * yet (the writer formats it), or NULL */
    char *statusPendingPath;  /* where it goes */
    gint64 statusPendingSince; /* monotonic time the oldest change not
                                * written yet was taken */
    bool statusQueued;        /* in statusQueue, waiting for its time */
    bool statusWriter;        /* a thread is writing the status file */

    qemuDomainMigration *migration; /* lock: the migration that holds the
                                     * job, or NULL */
    void *lastJobStats;             /* lock: the figures of the last migration
                                     * that ended here (a qemuMigrationJobInfo
                                     * of qemu_migration.c), or NULL */
    int lastJobType;                /* lock: iovDomainJobType of that one */
} qemuDomainObj;

qemuDomainObj *qemuDomainObjNew(const char *name, const unsigned char *uuid);
qemuDomainObj *qemuDomainObjRef(qemuDomainObj *obj);
void qemuDomainObjUnref(qemuDomainObj *obj);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(qemuDomainObj, qemuDomainObjUnref)

/*
 * qemuDomainBeginJob: wait (at most `timeoutMs`) until no other change
 * holds the domain, then hold it. Called and returns without the lock.
 * Fails with IOV_ERR_OPERATION_TIMEOUT naming the domain when the wait
 * times out, and with IOV_ERR_NO_DOMAIN when the domain was removed
 * (undefined, or a transient one that stopped) while waiting.
 */
int qemuDomainBeginJob(qemuDomainObj *obj, int timeoutMs);

/* qemuDomainBeginJobFlags: as qemuDomainBeginJob; a migration holding
 * the job refuses the change at once (IOV_ERR_OPERATION_INVALID, "a
 * migration is in progress") unless `waitMigration`, which waits for it
 * like any job (the cleanup after QEMU ended). */
int qemuDomainBeginJobFlags(qemuDomainObj *obj, int timeoutMs, bool waitMigration);
void qemuDomainEndJob(qemuDomainObj *obj);

/* With obj->lock held: wait on jobCond until `deadline` (monotonic µs),
 * counted in jobWaiters; false when the deadline passed. */
gboolean qemuDomainJobCondWaitUntil(qemuDomainObj *obj, gint64 deadline);
/* With obj->lock held: wake every waiter of jobCond, if there is one
 * (a broadcast to nobody would still cost a system call). */
void qemuDomainJobCondWake(qemuDomainObj *obj);

/*
 * qemuDomainJobExpectEvent: the job holder announces that it will wait
 * for QEMU event `name` (before sending the command that causes it);
 * qemuDomainJobWaitEvent then waits for it at most `timeoutMs` and
 * returns it (the caller frees it), or NULL with an error on timeout or
 * when QEMU's connection ends first. Only one event at a time.
 */
void qemuDomainJobExpectEvent(qemuDomainObj *obj, const char *name);
qemuDomainEvent *qemuDomainJobWaitEvent(qemuDomainObj *obj, int timeoutMs);

/* qemuDomainJobExpectDeviceEvent: as qemuDomainJobExpectEvent, for the
 * event `name` whose data names device `devId` (DEVICE_DELETED comes for
 * a device's parts too, without a "device" member: those are not it). */
void qemuDomainJobExpectDeviceEvent(qemuDomainObj *obj, const char *name, const char *devId);

/*
 * qemuDomainQueueEvent: from the monitor I/O thread: hand `ev` (taken
 * over) to the job that expects it, or queue it for the domain's worker.
 * Returns true when the caller must schedule a worker for `obj` (none
 * runs yet); the worker then calls qemuDomainNextEvent until it returns
 * NULL.
 */
bool qemuDomainQueueEvent(qemuDomainObj *obj, qemuDomainEvent *ev);
qemuDomainEvent *qemuDomainNextEvent(qemuDomainObj *obj);

/*
 * qemuDomainEnterMonitor: with the job held, the domain's monitor; NULL
 * with an error when the guest has no monitor. qemuDomainExitMonitor
 * ends the call.
 */
qemuMonitor *qemuDomainEnterMonitor(qemuDomainObj *obj);
void qemuDomainExitMonitor(qemuDomainObj *obj);

/* QEMU_WITH_MONITOR: run one monitor call `call` (which names the monitor
 * `mon`) for `obj`, its job held: -1 when there is no monitor, else the
 * call's result. */
#define QEMU_WITH_MONITOR(obj, mon, call) \
    ({ int _rc = -1; qemuMonitor *mon = qemuDomainEnterMonitor(obj); \
       if (mon) { _rc = (call); qemuDomainExitMonitor(obj); } _rc; })

/* qemuDomainGetMonitorRef: without the job: a new reference to the
 * domain's monitor, for a query that changes nothing; NULL with an error
 * when the guest has none. Release it with qemuMonitorUnref. */
qemuMonitor *qemuDomainGetMonitorRef(qemuDomainObj *obj);

/* qemuDomainSetState: state and reason; takes the lock. */
void qemuDomainSetState(qemuDomainObj *obj, int state, int reason);

/* qemuDomainLogNote: append a timestamped line to the guest's log. File
 * I/O: never with the lock held. */
void qemuDomainLogNote(qemuDomainObj *obj, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* ---- status files: the running state kept under the state dir ---- */

#define QEMU_STATUS_VERSION 1

/*
 * The status file holds the running state of `obj`: format version,
 * state, pid, id, monitor, pidfile and the live definition. It lets a
 * restarted daemon find its guests; the limits in it are a cache of what
 * QEMU holds (re-read at every reconnect), so it is replaced atomically
 * but without fsync. Every function here is called with the job held and
 * without the lock.
 *
 * qemuDomainSaveStatus writes it before returning (changes of shape:
 * start, reconnect, undefine). qemuDomainSaveStatusLater copies what it
 * is to hold now and leaves formatting and writing to the driver's
 * status queue (a live limit change replies without waiting for libxml2
 * or the disk); a failure there is logged. Its one thread writes each
 * domain's file QEMU_STATUS_WRITE_DELAY_MS after the oldest change not
 * written yet, so that it takes no core from the changes that follow
 * (QEMU reads a command with two busy threads), and a stream of changes
 * is written once a second; domains wait in the queue, not in a thread.
 * qemuDomainRemoveStatus drops what is pending, waits for a write in
 * progress and removes the file; qemuDomainFlushStatus waits until what
 * is pending is written.
 */
#define QEMU_STATUS_WRITE_DELAY_MS 1000
int qemuDomainSaveStatus(qemuDomainObj *obj, const char *path);
int qemuDomainSaveStatusLater(qemuDomainObj *obj, const char *path);
void qemuDomainRemoveStatus(qemuDomainObj *obj, const char *path);
void qemuDomainFlushStatus(qemuDomainObj *obj);

/* What a status file holds. */
typedef struct {
    int version;
    int state, reason;
    pid_t pid;
    int id;
    bool persistent;
    char *monPath;
    char *pidPath;
    bool tainted; /* the monitor passthrough was used */
    domainDef *live;
} qemuDomainStatus;

void qemuDomainStatusClear(qemuDomainStatus *st);

/* qemuDomainLoadStatus: read a status file; refuses an unknown version. */
int qemuDomainLoadStatus(const char *path, qemuDomainStatus *st);

/* qemuPidfileHolder: the pid holding the write lock on `pidPath` (QEMU
 * locks its pidfile while it runs), or 0 when nobody does. */
pid_t qemuPidfileHolder(const char *pidPath);
