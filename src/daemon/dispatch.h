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

typedef struct {
    qemuDriver *driver;
    bool system; /* the daemon's mode, for URIs */
} daemonState;

/* The state of one client connection (the rpcServerClient's private). */
typedef struct {
    bool open;     /* CONNECT_OPEN succeeded */
    bool libvirt;  /* opened with a qemu:// name: answer as libvirt does */
    bool readonly; /* read-only socket, or opened read-only */
    rpcServerClient *client; /* not owned (it owns this); NULL in tests
                              * that dispatch without a server */
} daemonConn;

/* A row of the generated dispatch table: the handler, called with the
 * decoded args and the zeroed ret struct of its procedure. */
typedef struct {
    int (*run)(daemonState *d, daemonConn *c, void *args, void *ret);
} daemonDispatchRow;

extern const daemonDispatchRow daemonDispatchTable[];
extern const size_t daemonDispatchTableSize;

/* rpcServer callbacks */
void daemonDispatch(rpcServer *srv, rpcServerClient *client, const rpcMessage *msg, void *opaque);
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

/*
 * daemonDispatchMessage: the whole path for one call message, without a
 * server: decode its payload, daemonDispatchCall, and the encoded reply
 * (success or error; never NULL). For tests and fuzzers.
 */
rpcMessage *daemonDispatchMessage(daemonState *d, daemonConn *c, const rpcMessage *msg);
