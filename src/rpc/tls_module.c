/*
 * tls_module.c: the entry of the TLS module (tls_module.h)
 */
#include "tls_module.h"
#include "util/error.h"

static const rpcTLSModule tlsModule = {
    .contextNew = rpcTLSContextNew,
    .contextFree = rpcTLSContextFree,
    .streamNew = rpcStreamNewTLS,
    .handshake = rpcStreamTLSHandshake,
    .wantsWrite = rpcStreamTLSWantsWrite,
    .checkPeer = rpcStreamTLSCheckPeer,
    .ownContext = rpcStreamTLSOwnContext,
    .peerDN = rpcStreamTLSPeerDN,
    .lastError = utilGetError,
};

const rpcTLSModule *
rpcTLSModuleEntry(void)
{
    return &tlsModule;
}
