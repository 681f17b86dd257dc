/*
 * dispatch.h: the procedures of the remote program, served from the
 * QEMU driver
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
} daemonConn;

/* rpcServer callbacks */
void daemonDispatch(rpcServer *srv, rpcServerClient *client, const rpcMessage *msg, void *opaque);
bool daemonClientConnected(rpcServer *srv, rpcServerClient *client, void *opaque);
void daemonClientDisconnected(rpcServer *srv, rpcServerClient *client, void *opaque);

/* daemonProcImplemented: whether the dispatch table serves `proc`. */
bool daemonProcImplemented(int proc);
