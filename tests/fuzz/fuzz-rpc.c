/*
 * fuzz-rpc: libFuzzer target for packets of the remote protocol
 *
 * The input is a packet as it comes off a socket. It goes through what
 * the server and the client do with one: the length check, the header,
 * and for the remote program the payload decoded with the procedure's
 * args filter (as the daemon would), its ret filter and the error struct
 * (as the client would). Whatever was decoded is freed; the leak checker
 * sees a decoder that forgets to free a partial result. Failures must
 * always come with an error.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/rpc.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decode the payload of `msg` with `filter` into a zeroed struct of
 * `structSize` bytes, then free it. */
static void
decodeWith(const rpcMessage *msg, xdrproc_t filter, size_t structSize)
{
    void *out = g_malloc0(MAX(structSize, 1));

    if (rpcMessageDecodePayload(msg, filter, out) < 0) {
        if (!utilGetError())
            abort();
        utilResetError();
    } else {
        xdr_free(filter, out);
    }
    g_free(out);
}

/* Decode the payload as an error reply, as the client does, down to the
 * iovError it would record. */
static void
decodeError(const rpcMessage *msg)
{
    remote_error rerr;
    iovError err = { 0 };

    memset(&rerr, 0, sizeof(rerr));
    if (rpcMessageDecodePayload(msg, (xdrproc_t)xdr_remote_error, &rerr) < 0) {
        if (!utilGetError())
            abort();
        utilResetError();
        return;
    }
    rpcErrorFromWire(&rerr, &err);
    xdr_free((xdrproc_t)xdr_remote_error, &rerr);
    utilSetError(&err);
    iovResetError(&err);
    utilResetError();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rpcMessage msg = { 0 };
    const rpcProcInfo *info;
    guint32 be;

    if (size < RPC_LEN_LEN)
        return 0;

    /* the length word as announced */
    if (rpcLengthCheck((const char *)data) < 0) {
        if (!utilGetError())
            abort();
        utilResetError();
    }

    /* the rest as if the length word were right, so that the fuzzer
     * reaches the decoders without having to guess it */
    if (size > RPC_MESSAGE_MAX + RPC_LEN_LEN)
        return 0;
    msg.len = size;
    msg.data = g_memdup2(data, size);
    be = GUINT32_TO_BE((guint32)size);
    memcpy(msg.data, &be, sizeof(be));

    if (rpcMessageDecodeHeader(msg.data, msg.len, &msg.header) < 0) {
        if (!utilGetError())
            abort();
        utilResetError();
        g_free(msg.data);
        return 0;
    }

    if (msg.header.prog == RPC_REMOTE_PROGRAM) {
        info = rpcRemoteProcLookup(msg.header.proc);
        if (info) {
            decodeWith(&msg, info->argsFilter, info->argsSize);
            decodeWith(&msg, info->retFilter, info->retSize);
        }
        decodeError(&msg);
    }
    g_free(msg.data);
    return 0;
}
