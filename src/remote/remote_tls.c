/*
 * remote_tls.c: rpc.h's TLS functions for the client library, which
 * forward to the TLS module loaded on first use (rpc/tls_module.h), so
 * that a client that never opens a TLS connection never loads GnuTLS.
 * Only the client library is built with this file; the daemon and the
 * tests link tls.c.
 */
#include "rpc/tls_module.h"
#include "util/error.h"
#include "util/module.h"

#define IOV_FROM_THIS IOV_FROM_RPC

static const rpcTLSModule *
tlsModule(void)
{
    static gsize once;
    static const rpcTLSModule *mod;

    if (g_once_init_enter(&once)) {
        const rpcTLSModule *(*entry)(void) =
            (const rpcTLSModule *(*)(void))utilModuleLoad(RPC_TLS_MODULE, RPC_TLS_MODULE_ENTRY);

        mod = entry ? entry() : NULL;
        g_once_init_leave(&once, 1);
    }
    if (!mod && !utilGetError())
        reportError(IOV_ERR_INTERNAL_ERROR, "the module '%s' could not be loaded", RPC_TLS_MODULE);
    return mod;
}

/* After a failed call: the module's error becomes the caller's. */
static void
takeError(const rpcTLSModule *mod)
{
    const iovError *err = mod->lastError();

    if (err)
        utilSetError(err);
    else
        reportError(IOV_ERR_INTERNAL_ERROR, "TLS failed without saying why");
}

rpcTLSContext *
rpcTLSContextNew(bool server, const char *ca, const char *crl, const char *cert, const char *key,
                 const char *const *dnList, const char *priority, bool verify)
{
    const rpcTLSModule *mod = tlsModule();
    rpcTLSContext *ctx;

    if (!mod)
        return NULL;
    if (!(ctx = mod->contextNew(server, ca, crl, cert, key, dnList, priority, verify)))
        takeError(mod);
    return ctx;
}

/* The functions below take what the module made, so it is loaded. */

void
rpcTLSContextFree(rpcTLSContext *ctx)
{
    if (ctx)
        tlsModule()->contextFree(ctx);
}

rpcStream *
rpcStreamNewTLS(rpcTLSContext *ctx, int fd, const char *hostname)
{
    return tlsModule()->streamNew(ctx, fd, hostname);
}

int
rpcStreamTLSHandshake(rpcStream *s)
{
    const rpcTLSModule *mod = tlsModule();
    int r = mod->handshake(s);

    if (r < 0)
        takeError(mod);
    return r;
}

bool
rpcStreamTLSWantsWrite(rpcStream *s)
{
    return tlsModule()->wantsWrite(s);
}

int
rpcStreamTLSCheckPeer(rpcStream *s)
{
    const rpcTLSModule *mod = tlsModule();
    int r = mod->checkPeer(s);

    if (r < 0)
        takeError(mod);
    return r;
}

void
rpcStreamTLSOwnContext(rpcStream *s)
{
    tlsModule()->ownContext(s);
}

const char *
rpcStreamTLSPeerDN(rpcStream *s)
{
    return tlsModule()->peerDN(s);
}
