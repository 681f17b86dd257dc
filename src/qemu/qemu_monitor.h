/*
 * qemu_monitor.h: a client of one QEMU's QMP monitor
 *
 * A monitor is one connection to a QEMU's QMP unix socket. Between
 * commands its socket is watched by one shared I/O thread, which reads the
 * events as they come and gives each to the owner's callback; a command's
 * own thread reads its reply (and any event that comes first). A command
 * never waits longer than the monitor's timeout: a hung or dead QEMU gives
 * an error, never a hang.
 *
 * JSON is parsed and built with json-c; one QMP message is one line.
 *
 * Thread safety: any thread may call any function; commands on one monitor
 * are sent one at a time (a second caller waits for the first to finish).
 * Callbacks run in the I/O thread or in the thread of a command on that
 * monitor; they must not block and must not use their own monitor.
 */
#pragma once

#include <stdbool.h>
#include <glib.h>
#include <json-c/json.h>

#include "conf/throttle.h"

typedef struct _qemuMonitor qemuMonitor;

/* Default time a command may take before it fails, in milliseconds. */
#define QEMU_MONITOR_DEFAULT_TIMEOUT_MS 30000

typedef struct {
    /* An event arrived: `name` as QEMU spells it ("SHUTDOWN", "STOP",
     * "RESUME", "RESET", "POWERDOWN", "BLOCK_IO_ERROR", "DEVICE_DELETED",
     * ...); `data` is its "data" member or NULL; both valid only during
     * the call. */
    void (*event)(qemuMonitor *mon, const char *name, json_object *data,
                  void *opaque);
    /* The connection ended: QEMU closed it (it exited or crashed) or sent
     * something unreadable (`error` true). Called once, then no more
     * callbacks. */
    void (*eof)(qemuMonitor *mon, bool error, void *opaque);
} qemuMonitorCallbacks;

/*
 * qemuMonitorOpen: connect to the QMP socket at `path`, retrying for up to
 * `connectTimeoutMs` while it does not exist or refuses, read the
 * greeting, and negotiate capabilities. `cb` (copied; may be NULL) and
 * `opaque` receive the events. Returns NULL with an error naming the path.
 * `connectTimeoutMs` bounds the whole open: connecting, the greeting and
 * the negotiation. No greeting in that time (QEMU already has a client)
 * is IOV_ERR_OPERATION_TIMEOUT.
 */
qemuMonitor *qemuMonitorOpen(const char *path, int connectTimeoutMs,
                             const qemuMonitorCallbacks *cb, void *opaque);

/* qemuMonitorClose: disconnect and free. No callback runs after it
 * returns; a command in progress on another thread fails. NULL is fine. */
void qemuMonitorClose(qemuMonitor *mon);

/* qemuMonitorRef / qemuMonitorUnref: keep a monitor's memory alive while
 * another thread may close it (commands then fail); the last reference
 * frees it. qemuMonitorClose drops the opener's. */
qemuMonitor *qemuMonitorRef(qemuMonitor *mon);
void qemuMonitorUnref(qemuMonitor *mon);

/* qemuMonitorSetTimeout: how long later commands may take (ms, > 0). */
void qemuMonitorSetTimeout(qemuMonitor *mon, int timeoutMs);

/* qemuMonitorGetVersion: QEMU's version from the greeting, as
 * major * 1000000 + minor * 1000 + micro. */
unsigned long long qemuMonitorGetVersion(qemuMonitor *mon);

/* qemuMonitorIsUsable: false once the connection has ended or a command
 * timed out (a late reply could be mistaken for the next one's): the
 * owner should reconnect. */
bool qemuMonitorIsUsable(qemuMonitor *mon);

/* qemuMonitorCommandCount: how many commands this monitor has sent since
 * it was opened (capabilities negotiation excluded); lets tests prove
 * that nothing was sent. */
unsigned long long qemuMonitorCommandCount(qemuMonitor *mon);

/*
 * qemuMonitorCommand: run `cmd` with `args` (a JSON object, or NULL; its
 * reference is taken over in every case) and wait for its reply. On
 * success *ret (when not NULL) receives a new reference to the "return"
 * member. Errors:
 *   - QEMU refused: IOV_ERR_INTERNAL_ERROR, "internal error: unable to
 *     execute QEMU command 'CMD': DESC" (DESC is QEMU's own text);
 *   - no reply within the timeout: IOV_ERR_OPERATION_TIMEOUT, naming the
 *     command; the monitor is then unusable (later calls fail at once);
 *   - the connection is gone: IOV_ERR_OPERATION_FAILED, "operation
 *     failed: QEMU monitor closed while running 'CMD'" or similar.
 */
int qemuMonitorCommand(qemuMonitor *mon, const char *cmd, json_object *args,
                       json_object **ret);

/* What a begun command calls when it ends, in the thread that began it:
 * `rc` 0 with its reply's "return" in `ret` (taken over; may be NULL),
 * or -1 with the error reported as qemuMonitorCommand's would be. */
typedef void (*qemuMonitorEndFunc)(qemuMonitor *mon, int rc, json_object *ret, void *opaque);

/*
 * qemuMonitorCommandBegin: send `cmd` (with `args`, taken over) and
 * return without waiting: the loop of context `ctx`, which the calling
 * thread runs, reads the reply and calls done(...) from that thread, on
 * the reply, the connection's end or the monitor's timeout (after which
 * the monitor is unusable, as after qemuMonitorCommand's). Meanwhile the
 * command holds the monitor as a waiting command does. 1 when begun (done
 * is called, perhaps already); 0, with nothing sent and no error, when
 * another command runs or the monitor is unusable: the caller then runs
 * it with qemuMonitorCommand, which waits or says why.
 */
int qemuMonitorCommandBegin(qemuMonitor *mon, const char *cmd, json_object *args,
                            GMainContext *ctx, qemuMonitorEndFunc done, void *opaque);

/* ---- typed commands ---- */

int qemuMonitorCont(qemuMonitor *mon);
int qemuMonitorStop(qemuMonitor *mon);
int qemuMonitorSystemPowerdown(qemuMonitor *mon);
int qemuMonitorSystemReset(qemuMonitor *mon);
int qemuMonitorQuit(qemuMonitor *mon);

/* qemuMonitorQueryStatus: *status is QEMU's run state ("running",
 * "paused", "prelaunch", "shutdown", "io-error", ...), new string;
 * *running is its "running" member. Either pointer may be NULL. */
int qemuMonitorQueryStatus(qemuMonitor *mon, char **status, bool *running);

/*
 * qemuMonitorReadState: what a reconnect reads, in one round trip: the
 * run state (as qemuMonitorQueryStatus; either pointer may be NULL) and
 * the limits of the `ngroups` throttle groups `groupIds` into
 * limits[0..ngroups-1] (as qemuMonitorGetThrottleLimits). The commands
 * are sent together and answered in order; one error fails all.
 */
int qemuMonitorReadState(qemuMonitor *mon, char **status, bool *running, size_t ngroups,
                         const char *const *groupIds, throttleDef *limits);

/*
 * qemuMonitorSetThrottleLimits: qom-set the "limits" property of the
 * throttle-group object `groupId` to the 19 numeric values of `t`, every
 * key sent (a length of 0 is sent as 1, QEMU's default). This resets the
 * group's buckets: callers send only real changes. QEMU's own validation
 * errors come back as described for qemuMonitorCommand.
 */
int qemuMonitorSetThrottleLimits(qemuMonitor *mon, const char *groupId,
                                 const throttleDef *t);

/*
 * qemuMonitorThrottleUpdateArgs: the arguments of the qom-set that brings
 * group `groupId` from the limits `from` to `to`, only the keys that
 * differ (new); NULL when none does.
 */
json_object *qemuMonitorThrottleUpdateArgs(const char *groupId, const throttleDef *from,
                                           const throttleDef *to);

/*
 * qemuMonitorUpdateThrottleLimits: bring group `groupId` from the limits
 * `from` (what QEMU holds now) to `to` with one qom-set of only the keys
 * that differ ("limits" is a partial update in QEMU, and a full one costs
 * QEMU several times more). Nothing is sent when nothing differs.
 */
int qemuMonitorUpdateThrottleLimits(qemuMonitor *mon, const char *groupId,
                                    const throttleDef *from, const throttleDef *to);

/*
 * qemuMonitorGetThrottleLimits: qom-get the "limits" of `groupId` into
 * *t (group left NULL). A length of 1 whose max is 0 is returned as 0 (the
 * default); missing keys are 0; a key that is not a non-negative integer
 * is an error.
 */
int qemuMonitorGetThrottleLimits(qemuMonitor *mon, const char *groupId,
                                 throttleDef *t);

/* One disk's counters from query-blockstats. */
typedef struct {
    char *qdev; /* the device's qdev id or QOM path, as QEMU reports it */
    unsigned long long rdBytes, wrBytes;
    unsigned long long rdOps, wrOps, flushOps;
    unsigned long long rdTimeNs, wrTimeNs, flushTimeNs;
    unsigned long long failedRdOps, failedWrOps, failedFlushOps;
} qemuBlockStats;

void qemuBlockStatsFree(qemuBlockStats *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(qemuBlockStats, qemuBlockStatsFree)

/* qemuMonitorQueryBlockStats: one entry per guest device, in QEMU's
 * order; *stats is a new array owning its qemuBlockStats elements. */
int qemuMonitorQueryBlockStats(qemuMonitor *mon, GPtrArray **stats);

/* qemuMonitorQueryBlockStatsNoWait: the same, without waiting for a
 * command in progress (a change's): 1 at once, and nothing, when one is;
 * else 0 or -1 as qemuMonitorQueryBlockStats. */
int qemuMonitorQueryBlockStatsNoWait(qemuMonitor *mon, GPtrArray **stats);

/* qemuMonitorAddThrottleGroup: object-add of a throttle-group `id` with
 * the limits of `t` (all 19 keys). */
int qemuMonitorAddThrottleGroup(qemuMonitor *mon, const char *id,
                                const throttleDef *t);

/* qemuMonitorObjectDel: object-del of `id`. */
int qemuMonitorObjectDel(qemuMonitor *mon, const char *id);

/* qemuMonitorReopenThrottleNode: blockdev-reopen the throttle filter node
 * `node` (whose child is `file`) so that it uses group `groupId`. */
int qemuMonitorReopenThrottleNode(qemuMonitor *mon, const char *node,
                                  const char *file, const char *groupId);

/* ---- parsing, exposed for unit tests and the fuzz target ---- */

/*
 * qemuMonitorParseLimits: turn a "limits" JSON object (from qom-get) into
 * *t as qemuMonitorGetThrottleLimits does. Returns -1 with an error on a
 * non-object or a bad value.
 */
int qemuMonitorParseLimits(json_object *limits, throttleDef *t);

/* qemuMonitorBuildLimits: the "limits" object for `t` (new reference). */
json_object *qemuMonitorBuildLimits(const throttleDef *t);

/* qemuMonitorParseBlockStats: the array of a query-blockstats reply. */
int qemuMonitorParseBlockStats(json_object *reply, GPtrArray **stats);

/*
 * qemuMonitorParseMessage: classify one line received from QEMU: returns
 * 0 and sets *kind to 'g' (greeting), 'r' (reply: *id set, *ret or
 * *error set) or 'e' (event: *event and *data set), or -1 for anything
 * else (not JSON, not an object, none of these). Output strings and
 * objects are new references the caller releases; NULL when absent.
 * An error reply always sets *errDesc (QEMU's "desc", else the JSON of
 * its "error"). Any output pointer may be NULL.
 */
int qemuMonitorParseMessage(const char *line, size_t len, char *kind,
                            char **id, json_object **ret, char **errClass,
                            char **errDesc, char **event, json_object **data);
