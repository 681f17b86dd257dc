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
 *
 * The same bytes are also read as a stream by the packet reader, in
 * pieces of sizes taken from the input, with or without the read-only
 * limit: it must never hold more than it may, nor hand over a packet
 * over its limit.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/rpc.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the input as a stream that gives its bytes piecemeal ---- */

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t pos;
    unsigned int calls; /* every other read would block */
} memStream;

static ssize_t
memRead(rpcStream *s, void *buf, size_t len)
{
    memStream *m = s->priv;
    size_t piece;

    if (m->calls++ % 2 == 1) {
        errno = EAGAIN;
        return -1;
    }
    if (m->pos == m->size)
        return 0;
    /* a piece of 1 to 64 bytes, or 4096, sized by the input itself */
    piece = m->data[m->pos] % 65 == 64 ? 4096 : m->data[m->pos] % 65 + 1;
    piece = MIN(piece, MIN(len, m->size - m->pos));
    memcpy(buf, m->data + m->pos, piece);
    m->pos += piece;
    return (ssize_t)piece;
}

static ssize_t
memWrite(rpcStream *s G_GNUC_UNUSED, const void *buf G_GNUC_UNUSED, size_t len G_GNUC_UNUSED)
{
    abort();
}

static void
memClose(rpcStream *s G_GNUC_UNUSED)
{
}

static int
memFd(rpcStream *s G_GNUC_UNUSED)
{
    return -1;
}

static const rpcStreamOps memOps = { memRead, memWrite, memClose, memFd };

/* Read the input as a stream of packets, checking what the reader
 * holds after every read. */
static void
readAsStream(const uint8_t *data, size_t size)
{
    memStream m = { .data = data, .size = size };
    rpcStream s = { .ops = &memOps, .priv = &m };
    rpcPacketReader r = { 0 };

    /* the first byte chooses a read-only client */
    if (size > 0 && data[0] & 1)
        r.limit = RPC_LEN_LEN + RPC_READONLY_MESSAGE_MAX;
    for (;;) {
        rpcMessage *msg = NULL;
        rpcReadResult res = rpcPacketReaderRead(&r, &s, &msg);

        if (r.body && (r.bodyAlloc > r.bodyLen ||
                       r.bodyAlloc > MAX((size_t)RPC_PACKET_INITIAL, 2 * r.bodyGot)))
            abort();
        if (res == RPC_READ_PACKET) {
            if (r.limit && msg->len > r.limit)
                abort();
            rpcMessageFree(msg);
            continue;
        }
        if (res == RPC_READ_TOO_LARGE) {
            if (!r.limit || msg->len != RPC_LEN_LEN + RPC_HEADER_LEN || r.bodyLen <= r.limit)
                abort();
            rpcMessageFree(msg);
            break;
        }
        if (res == RPC_READ_ERROR) {
            if (!utilGetError())
                abort();
            utilResetError();
            break;
        }
        if (res == RPC_READ_EOF)
            break;
    }
    rpcPacketReaderClear(&r);
}

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

    readAsStream(data, size);
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

    if (rpcProgramKnown(msg.header.prog, msg.header.vers)) {
        info = rpcProcLookup(msg.header.prog, msg.header.proc);
        if (info) {
            decodeWith(&msg, info->argsFilter, info->argsSize);
            decodeWith(&msg, info->retFilter, info->retSize);
        }
        decodeError(&msg);
    }
    g_free(msg.data);
    return 0;
}
