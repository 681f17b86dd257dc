/*
 * dispatch.h: the procedures of the remote program, served from the
 * QEMU driver
 *
 * The dispatch table (one row per procedure, indexed by its number) and
 * the handlers' prototypes are generated from the table of calls in
 * remote_protocol.x (dispatch_table.c, dispatch_handlers.h); dispatch.c
 * holds the handlers and the one generic path: decode, check the
 * connection may make the call, run the handler, encode the reply.
 */
#pragma once

#include <stdbool.h>

#include "qemu/qemu_driver.h"
#include "rpc/rpc.h"

/* The connections registered for events (events.c). */
typedef struct _daemonEvents daemonEvents;

/* The consoles open, one per domain (console.c). */
typedef struct _daemonConsoles daemonConsoles;

typedef struct {
    qemuDriver *driver;
    bool system;          /* the daemon's mode, for URIs */
    daemonEvents *events; /* NULL: events are not served (tests without sockets) */
    daemonConsoles *consoles; /* NULL: consoles are not served (no server) */
} daemonState;

/* Event callbacks a connection may hold at once. */
#define DAEMON_EVENT_CALLBACKS_MAX 64

/* The default bound of a client's unread output when an event is queued. */
#define DAEMON_EVENT_QUEUE_DEFAULT (1024 * 1024)

/* One event callback of a connection. */
typedef struct {
    int callbackID; /* the id the client was given; -1 for the older registration */
    int eventID;    /* iovDomainEventID (libvirt's ids) */
    bool legacy;    /* registered with REGISTER_ANY: older messages, no id */
    bool filtered;  /* only the domain `uuid` */
    unsigned char uuid[16];
} daemonEventCallback;

/* The state of one client connection (the rpcServerClient's private). */
typedef struct {
    bool open;     /* CONNECT_OPEN succeeded */
    bool libvirt;  /* opened with a qemu:// name: answer as libvirt does */
    bool readonly; /* read-only socket, or opened read-only */
    rpcServerClient *client; /* not owned; NULL without a server */
    /* guarded by the daemonEvents lock */
    size_t ncallbacks;
    daemonEventCallback callbacks[DAEMON_EVENT_CALLBACKS_MAX];
} daemonConn;

/*
 * daemonEventsNew: the registry of event callbacks; a client whose
 * unread output would pass `queueMax` bytes (0: the default) with one
 * more event is dropped. daemonEventsEmit is the driver's event handler
 * (qemuDriverSetEventHandler, opaque the daemonState). daemonEventsConnGone
 * forgets a connection that went away.
 */
daemonEvents *daemonEventsNew(size_t queueMax);
void daemonEventsFree(daemonEvents *ev);
void daemonEventsEmit(const qemuDriverEvent *e, void *opaque);
void daemonEventsConnGone(daemonEvents *ev, daemonConn *c);

/* daemonConsolesNew: the registry of consoles; free it after the server. */
daemonConsoles *daemonConsolesNew(void);
void daemonConsolesFree(daemonConsoles *reg);

/* A row of the generated dispatch table: the handler, called with the
 * header of the call (which a procedure that opens a stream needs), the
 * decoded args and the zeroed ret struct of its procedure. */
typedef struct {
    int (*run)(daemonState *d, daemonConn *c, const rpcHeader *call, void *args, void *ret);
} daemonDispatchRow;

extern const daemonDispatchRow daemonDispatchTable[];
extern const size_t daemonDispatchTableSize;
extern const daemonDispatchRow daemonIovirtDispatchTable[];
extern const size_t daemonIovirtDispatchTableSize;

/* daemonDispatchLookup: the row of procedure `proc` of program `prog` in
 * the generated dispatch tables, or NULL. */
const daemonDispatchRow *daemonDispatchLookup(uint32_t prog, int proc);

/* rpcServer callbacks */
void daemonDispatch(rpcServer *srv, rpcServerClient *client, const rpcMessage *msg, void *opaque);
/* daemonDispatchQuick: a quick call in the server's thread, which must
 * not wait; false when the call deferred itself to a worker. */
bool daemonDispatchQuick(rpcServer *srv, rpcServerClient *client, const rpcMessage *msg,
                         void *opaque);
bool daemonClientConnected(rpcServer *srv, rpcServerClient *client, void *opaque);
void daemonClientDisconnected(rpcServer *srv, rpcServerClient *client, void *opaque);

/* daemonProcImplemented: whether the dispatch table serves `proc`. */
bool daemonProcImplemented(int proc);

/*
 * daemonDispatchCall: run procedure `proc` for connection `c` of daemon
 * `d`, with its decoded `args` and its zeroed `ret` struct (sizes in
 * rpcRemoteProcLookup(proc)), after the access checks: the connection
 * must be open (but for the few procedures allowed before) and may not
 * change anything when read-only. 0, or -1 with the thread's error set;
 * the caller frees args and ret with their filters either way.
 */
int daemonDispatchCall(daemonState *d, daemonConn *c, int proc, void *args, void *ret);

/* daemonDispatchCallHeader: the same for the call whose header is `call`:
 * its program and procedure (sizes in rpcProcLookup(prog, proc)); a
 * procedure that opens a stream uses its serial. */
int daemonDispatchCallHeader(daemonState *d, daemonConn *c, const rpcHeader *call, void *args,
                             void *ret);

/*
 * daemonDispatchMessage: the whole path for one call message, without a
 * server: decode its payload, daemonDispatchCall, and the encoded reply
 * (success or error; never NULL). For tests and fuzzers.
 */
rpcMessage *daemonDispatchMessage(daemonState *d, daemonConn *c, const rpcMessage *msg);
