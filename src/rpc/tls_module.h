/*
 * tls_module.h: TLS (tls.c, GnuTLS) as a module of the client library,
 * loaded on the first TLS connection (util/module.h). The daemon and the
 * tests link tls.c itself.
 */
#pragma once

#include "rpc.h"

#define RPC_TLS_MODULE "iovirt-tls"
#define RPC_TLS_MODULE_ENTRY "rpcTLSModuleEntry"

/* tls.c's functions, as rpc.h declares them */
typedef struct {
    rpcTLSContext *(*contextNew)(bool server, const char *ca, const char *crl, const char *cert,
                                 const char *key, const char *const *dnList, const char *priority,
                                 bool verify);
    void (*contextFree)(rpcTLSContext *ctx);
    rpcStream *(*streamNew)(rpcTLSContext *ctx, int fd, const char *hostname);
    int (*handshake)(rpcStream *s);
    bool (*wantsWrite)(rpcStream *s);
    int (*checkPeer)(rpcStream *s);
    void (*ownContext)(rpcStream *s);
    const char *(*peerDN)(rpcStream *s);
    /* the module's own error of the calling thread, after a failure */
    const iovError *(*lastError)(void);
} rpcTLSModule;

const rpcTLSModule *rpcTLSModuleEntry(void);
