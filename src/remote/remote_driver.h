/*
 * remote_driver.h: the client side of a connection to a daemon
 *
 * The handles behind the public iovConnectPtr and iovDomainPtr, the
 * connection's life (URI, socket, auto-started session daemon, open and
 * close), and the conversions between handles and typed parameters and
 * their wire forms. The public functions (src/libiovirt/) are built on
 * this and on the typed calls generated into remote_calls.h.
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

#include "rpc/rpc.h"

/* A connection: shared by every thread and every domain handle of it. */
struct _iovConnect {
    gint refs;         /* atomic */
    rpcClient *client; /* owned */
    char *uri;         /* as opened (the default resolved), so that it
                        * reaches the same daemon again */
    bool readonly;
    const char *transport; /* static: "unix", "tls" or "ssh" */
    GMutex eventLock;  /* guards events; never held while a callback runs */
    GPtrArray *events; /* eventLock: remoteEventCallback, owned; NULL
                        * until the first registration */
};

/*
 * remoteEventRegister / remoteEventDeregister: the event callbacks of a
 * connection (see iovConnectDomainEventRegisterAny): one registration
 * with the daemon per callback, its id the daemon's callback id.
 * remoteEventsClear frees what is left when the connection goes.
 */
int remoteEventRegister(iovConnectPtr conn, iovDomainPtr dom, int eventID,
                        iovConnectDomainEventGenericCallback cb, void *opaque,
                        iovFreeCallback freecb);
int remoteEventDeregister(iovConnectPtr conn, int callbackID);
void remoteEventsClear(iovConnectPtr conn);

/* A domain handle: what the daemon said when it was made. */
struct _iovDomain {
    gint refs;          /* atomic */
    iovConnectPtr conn; /* a reference */
    char *name;         /* owned */
    unsigned char uuid[16];
    gint id; /* atomic; -1 when not running */
};

/* remoteCall: call `proc` of the remote program on `conn` and wait for
 * the reply; NULL filters mean no arguments / no reply payload. */
int remoteCall(iovConnectPtr conn, int proc, xdrproc_t argsFilter, void *args, xdrproc_t retFilter,
               void *ret);

/* remoteCallProgram: the same for procedure `proc` of program `prog`
 * (iovirt's own program: IOVIRT_PROGRAM, IOVIRT_PROTOCOL_VERSION). */
int remoteCallProgram(iovConnectPtr conn, uint32_t prog, uint32_t vers, int proc,
                      xdrproc_t argsFilter, void *args, xdrproc_t retFilter, void *ret);

/* remoteConnectOpen: connect to the daemon of `uri` (NULL: the default)
 * and open the connection, read-only or not. NULL with the error set. */
iovConnectPtr remoteConnectOpen(const char *uri, bool readonly);

/* remoteURIIsTLS: whether connecting to `uri` (NULL: the default) goes
 * over TLS (which loads the TLS module). false for a URI that does not
 * parse: connecting reports why. */
bool remoteURIIsTLS(const char *uri);

/* remoteConnectLocalSocket: a connected descriptor on this host's
 * daemon socket (`socketPath`, or the mode's default, starting a session
 * daemon if none runs), or -1 with the error set. For
 * iovirt-ssh-helper. */
int remoteConnectLocalSocket(bool system, const char *socketPath, bool readonly);

/* remoteConnectUnref: drop one reference; the last one closes the
 * connection. Returns the references left. */
int remoteConnectUnref(iovConnectPtr conn);

/* remoteDomainNew: a new handle (one reference, which holds one on
 * `conn`) for the domain the daemon sent. */
iovDomainPtr remoteDomainNew(iovConnectPtr conn, const remote_nonnull_domain *d);

/* remoteDomainToWire: the wire form of `dom`; the name points into the
 * handle (nothing to free). */
void remoteDomainToWire(iovDomainPtr dom, remote_nonnull_domain *d);

/*
 * remoteParamsFromWire: copy `n` wire parameters into `params` (room for
 * `max`), strings with malloc. Returns the number copied, or -1 (nothing
 * left to free) when they do not fit or one is malformed.
 */
int remoteParamsFromWire(const remote_typed_param *wire, u_int n, iovTypedParameterPtr params,
                         int max);

/* remoteParamsToWire: wire parameters pointing into `params` (no copy);
 * a new array, or NULL with the error set. */
remote_typed_param *remoteParamsToWire(iovTypedParameterPtr params, int n);
