/*
 * stream.c: the public functions of streams and of the console
 */
#include "libiovirt/libiovirt.h"
#include "remote/remote_driver.h"

#define IOV_FROM_THIS IOV_FROM_REMOTE

/* How long a finish or abort waits for the daemon's confirmation. */
#define STREAM_END_TIMEOUT_MS 10000

struct _iovStream {
    iovConnectPtr conn;   /* a reference */
    unsigned int flags;   /* iovStreamFlags */
    GMutex lock;          /* guards `rpc` being set and taken */
    rpcClientStream *rpc; /* owned once open; NULL before */
    gint ended;           /* atomic: finished or aborted */
};

#define ENTER_STREAM(st, fail)                                                                     \
    do {                                                                                           \
        utilResetError();                                                                          \
        if (!(st) || !(st)->conn) {                                                                \
            reportError(IOV_ERR_INVALID_ARG, "invalid stream pointer in %s", __func__);            \
            return fail;                                                                           \
        }                                                                                          \
    } while (0)

/* The stream's open rpc stream, or NULL with an error. */
static rpcClientStream *
streamOpenRPC(iovStreamPtr st, const char *func)
{
    rpcClientStream *rpc;

    g_mutex_lock(&st->lock);
    rpc = st->rpc;
    g_mutex_unlock(&st->lock);
    if (!rpc)
        reportError(IOV_ERR_INVALID_ARG, "the stream of %s is not open", func);
    return rpc;
}

iovStreamPtr
iovStreamNew(iovConnectPtr conn, unsigned int flags)
{
    iovStreamPtr st;

    ENTER_CONN(conn, NULL);
    if (flags & ~(unsigned int)IOV_STREAM_NONBLOCK) {
        reportError(IOV_ERR_INVALID_ARG, "unsupported flags (0x%x) in function %s",
                    flags & ~(unsigned int)IOV_STREAM_NONBLOCK, __func__);
        return NULL;
    }
    st = g_new0(iovStream, 1);
    st->flags = flags;
    g_mutex_init(&st->lock);
    iovConnectRef(conn);
    st->conn = conn;
    return st;
}

int
iovStreamRecvTimeout(iovStreamPtr st, char *data, size_t nbytes, int timeoutMs)
{
    rpcClientStream *rpc;

    ENTER_STREAM(st, -1);
    if (!data && nbytes > 0) {
        reportError(IOV_ERR_INVALID_ARG, "data must not be NULL");
        return -1;
    }
    if (!(rpc = streamOpenRPC(st, __func__)))
        return -1;
    if (nbytes > G_MAXINT)
        nbytes = G_MAXINT;
    return rpcClientStreamRecv(rpc, data, nbytes, timeoutMs);
}

int
iovStreamRecv(iovStreamPtr st, char *data, size_t nbytes)
{
    return iovStreamRecvTimeout(st, data, nbytes, st && (st->flags & IOV_STREAM_NONBLOCK) ? 0 : -1);
}

int
iovStreamSend(iovStreamPtr st, const char *data, size_t nbytes)
{
    rpcClientStream *rpc;

    ENTER_STREAM(st, -1);
    if (!data && nbytes > 0) {
        reportError(IOV_ERR_INVALID_ARG, "data must not be NULL");
        return -1;
    }
    if (!(rpc = streamOpenRPC(st, __func__)))
        return -1;
    if (nbytes > G_MAXINT)
        nbytes = G_MAXINT;
    if (rpcClientStreamSend(rpc, data, nbytes) < 0)
        return -1;
    return (int)nbytes;
}

/* Finish or abort, once. */
static int
streamEnd(iovStreamPtr st, bool abort, const char *func)
{
    rpcClientStream *rpc = streamOpenRPC(st, func);

    if (!rpc)
        return -1;
    if (!g_atomic_int_compare_and_exchange(&st->ended, 0, 1))
        return 0;
    return rpcClientStreamFinish(rpc, abort, STREAM_END_TIMEOUT_MS);
}

int
iovStreamFinish(iovStreamPtr st)
{
    ENTER_STREAM(st, -1);
    return streamEnd(st, false, __func__);
}

int
iovStreamAbort(iovStreamPtr st)
{
    ENTER_STREAM(st, -1);
    return streamEnd(st, true, __func__) < 0 ? -1 : 0;
}

int
iovStreamFree(iovStreamPtr st)
{
    if (!st)
        return 0;
    ENTER_STREAM(st, -1);
    if (st->rpc && !g_atomic_int_get(&st->ended)) {
        streamEnd(st, true, __func__);
        utilResetError();
    }
    rpcClientStreamFree(st->rpc);
    remoteConnectUnref(st->conn);
    g_mutex_clear(&st->lock);
    g_free(st);
    return 0;
}

int
iovDomainOpenConsole(iovDomainPtr dom, const char *devName, iovStreamPtr st, unsigned int flags)
{
    remote_domain_open_console_args args = {0};
    char *name = (char *)devName;
    rpcClientStream *rpc;

    ENTER_DOM(dom, -1);
    if (!st || st->conn != dom->conn) {
        reportError(IOV_ERR_INVALID_ARG,
                    "the stream of %s must be new and of the domain's connection", __func__);
        return -1;
    }
    g_mutex_lock(&st->lock);
    rpc = st->rpc;
    g_mutex_unlock(&st->lock);
    if (rpc) {
        reportError(IOV_ERR_INVALID_ARG, "the stream of %s is already open", __func__);
        return -1;
    }
    remoteDomainToWire(dom, &args.dom);
    args.dev_name = devName ? &name : NULL;
    args.flags = flags;
    rpc = rpcClientStreamOpen(dom->conn->client, REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION,
                              REMOTE_PROC_DOMAIN_OPEN_CONSOLE,
                              (xdrproc_t)xdr_remote_domain_open_console_args, &args);
    if (!rpc)
        return -1;
    g_mutex_lock(&st->lock);
    st->rpc = rpc;
    g_mutex_unlock(&st->lock);
    return 0;
}
