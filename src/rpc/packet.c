/*
 * packet.c: packets of libvirt's remote protocol in memory
 *
 * A packet is the length word, the six header words and the payload, all
 * XDR. Everything here is written and read with xdrmem streams and the
 * rpcgen filters of remote_protocol.x; nothing is packed by hand.
 */
#include <errno.h>
#include <string.h>

#include "rpc.h"
#include "util/error.h"

#define IOV_FROM_THIS IOV_FROM_RPC

#define RPC_PAYLOAD_OFFSET (RPC_LEN_LEN + RPC_HEADER_LEN)

/* rpcMessageFree: free a packet; NULL is fine. */
void
rpcMessageFree(rpcMessage *msg)
{
    if (!msg)
        return;
    g_free(msg->data);
    g_free(msg);
}

/* The six header words of *hdr through xdrs, in either direction. */
static bool
headerFilter(XDR *xdrs, rpcHeader *hdr)
{
    return xdr_u_int(xdrs, &hdr->prog) &&
           xdr_u_int(xdrs, &hdr->vers) &&
           xdr_int(xdrs, &hdr->proc) &&
           xdr_int(xdrs, &hdr->type) &&
           xdr_u_int(xdrs, &hdr->serial) &&
           xdr_int(xdrs, &hdr->status);
}

/* True when `filter` stands for "no payload". */
static bool
isVoidFilter(xdrproc_t filter)
{
    return !filter || filter == (xdrproc_t)(void (*)(void))xdr_void;
}

/*
 * rpcMessageEncode: a new packet holding *hdr and `data` encoded by
 * `filter`. The payload's size is measured first (xdr_sizeof), so that an
 * oversized reply is refused before anything large is allocated.
 */
rpcMessage *
rpcMessageEncode(const rpcHeader *hdr, xdrproc_t filter, void *data)
{
    g_autoptr(rpcMessage) msg = NULL;
    unsigned long payload = 0;
    u_int total;
    XDR xdrs;
    bool ok;

    if (!isVoidFilter(filter)) {
        payload = xdr_sizeof(filter, data);
        if (payload == 0) {
            reportError(IOV_ERR_RPC, "failed to encode the payload of procedure %d", hdr->proc);
            return NULL;
        }
    }
    if (payload > RPC_MESSAGE_MAX - RPC_HEADER_LEN) {
        reportError(IOV_ERR_RPC, "packet of procedure %d is too large: payload of %lu bytes, the limit is %d", hdr->proc, payload, RPC_MESSAGE_MAX - RPC_HEADER_LEN);
        return NULL;
    }

    total = RPC_PAYLOAD_OFFSET + payload;
    msg = g_new0(rpcMessage, 1);
    msg->header = *hdr;
    msg->len = total;
    msg->data = g_malloc0(total);

    xdrmem_create(&xdrs, msg->data, total, XDR_ENCODE);
    ok = xdr_u_int(&xdrs, &total) && headerFilter(&xdrs, &msg->header);
    if (ok && payload > 0)
        ok = filter(&xdrs, data);
    if (ok && xdr_getpos(&xdrs) != total)
        ok = false;
    xdr_destroy(&xdrs);

    if (!ok) {
        reportError(IOV_ERR_RPC, "failed to encode the payload of procedure %d", hdr->proc);
        return NULL;
    }
    return g_steal_pointer(&msg);
}

/*
 * rpcMessageEncodeError: the error reply to `call`, its payload a
 * remote_error carrying every field of *err (dom and net absent).
 */
rpcMessage *
rpcMessageEncodeError(const rpcHeader *call, const iovError *err)
{
    return rpcMessageEncodeErrorOfType(call, RPC_REPLY, err);
}

/* rpcMessageEncodeErrorOfType: see rpc.h. */
rpcMessage *
rpcMessageEncodeErrorOfType(const rpcHeader *call, int type, const iovError *err)
{
    rpcHeader hdr = {
        .prog = call->prog,
        .vers = call->vers,
        .proc = call->proc,
        .type = type,
        .serial = call->serial,
        .status = RPC_ERROR,
    };
    char *message = err->message;
    char *str1 = err->str1;
    char *str2 = err->str2;
    char *str3 = err->str3;
    remote_error rerr = {
        .code = err->code,
        .domain = err->domain,
        .message = message ? &message : NULL,
        .level = err->level,
        .dom = NULL,
        .str1 = str1 ? &str1 : NULL,
        .str2 = str2 ? &str2 : NULL,
        .str3 = str3 ? &str3 : NULL,
        .int1 = err->int1,
        .int2 = err->int2,
        .net = NULL,
    };

    return rpcMessageEncode(&hdr, (xdrproc_t)xdr_remote_error, &rerr);
}

/* rpcMessageEncodeRaw: see rpc.h. */
rpcMessage *
rpcMessageEncodeRaw(const rpcHeader *hdr, const char *data, size_t len)
{
    rpcMessage *msg;
    u_int total;
    XDR xdrs;

    if (len > RPC_MESSAGE_MAX - RPC_HEADER_LEN) {
        reportError(IOV_ERR_RPC,
                    "packet of procedure %d is too large: payload of %zu bytes, the limit is %d",
                    hdr->proc, len, RPC_MESSAGE_MAX - RPC_HEADER_LEN);
        return NULL;
    }
    msg = rpcMessageEncode(hdr, NULL, NULL);
    if (!msg || len == 0)
        return msg;
    total = (u_int)(msg->len + len);
    msg->data = g_realloc(msg->data, total);
    memcpy(msg->data + msg->len, data, len);
    msg->len = total;
    xdrmem_create(&xdrs, msg->data, RPC_LEN_LEN, XDR_ENCODE);
    xdr_u_int(&xdrs, &total);
    xdr_destroy(&xdrs);
    return msg;
}

/*
 * rpcLengthCheck: the length announced by the first four bytes of a
 * packet, checked against the minimum (an empty packet, 28) and the
 * maximum (RPC_MESSAGE_MAX after the length word).
 */
ssize_t
rpcLengthCheck(const char lenWord[4])
{
    u_int len = 0;
    XDR xdrs;
    bool ok;

    xdrmem_create(&xdrs, (char *)lenWord, RPC_LEN_LEN, XDR_DECODE);
    ok = xdr_u_int(&xdrs, &len);
    xdr_destroy(&xdrs);
    if (!ok) {
        reportError(IOV_ERR_RPC, "cannot decode the packet length word");
        return -1;
    }
    if (len < RPC_PAYLOAD_OFFSET) {
        reportError(IOV_ERR_RPC, "packet length %u is below the minimum of %d", len, RPC_PAYLOAD_OFFSET);
        return -1;
    }
    if (len - RPC_LEN_LEN > RPC_MESSAGE_MAX) {
        reportError(IOV_ERR_RPC, "packet length %u exceeds the maximum of %d", len, RPC_MESSAGE_MAX + RPC_LEN_LEN);
        return -1;
    }
    return len;
}

/*
 * rpcMessageDecodeHeader: the header of the complete packet at `data`,
 * whose length word must equal `len`. Only the encoding is checked; what
 * the values mean is the reader's business.
 */
int
rpcMessageDecodeHeader(const char *data, size_t len, rpcHeader *hdr)
{
    rpcHeader h = { 0 };
    u_int word = 0;
    XDR xdrs;
    bool ok;

    if (len < RPC_PAYLOAD_OFFSET) {
        reportError(IOV_ERR_RPC, "packet of %zu bytes is shorter than a header", len);
        return -1;
    }
    xdrmem_create(&xdrs, (char *)data, RPC_PAYLOAD_OFFSET, XDR_DECODE);
    ok = xdr_u_int(&xdrs, &word) && headerFilter(&xdrs, &h);
    xdr_destroy(&xdrs);
    if (!ok) {
        reportError(IOV_ERR_RPC, "cannot decode the packet header");
        return -1;
    }
    if (word != len) {
        reportError(IOV_ERR_RPC, "packet length word %u does not match the packet size %zu", word, len);
        return -1;
    }
    *hdr = h;
    return 0;
}

/*
 * rpcMessageDecodePayload: decode the payload of `msg` into `out` with
 * `filter`. Every byte must be consumed; on any failure what was decoded
 * is freed (xdr_free) and `out` holds nothing to free.
 */
int
rpcMessageDecodePayload(const rpcMessage *msg, xdrproc_t filter, void *out)
{
    size_t plen;
    u_int used;
    XDR xdrs;
    bool ok;

    if (msg->len < RPC_PAYLOAD_OFFSET) {
        reportError(IOV_ERR_RPC, "packet of %zu bytes of procedure %d is shorter than a header", msg->len, msg->header.proc);
        return -1;
    }
    plen = msg->len - RPC_PAYLOAD_OFFSET;
    if (isVoidFilter(filter)) {
        if (plen != 0) {
            reportError(IOV_ERR_RPC, "unexpected payload of %zu bytes for procedure %d", plen, msg->header.proc);
            return -1;
        }
        return 0;
    }

    xdrmem_create(&xdrs, msg->data + RPC_PAYLOAD_OFFSET, plen, XDR_DECODE);
    ok = filter(&xdrs, out);
    used = xdr_getpos(&xdrs);
    xdr_destroy(&xdrs);

    if (!ok) {
        xdr_free(filter, out);
        reportError(IOV_ERR_RPC, "failed to decode the payload of procedure %d", msg->header.proc);
        return -1;
    }
    if (used != plen) {
        xdr_free(filter, out);
        reportError(IOV_ERR_RPC, "%zu trailing bytes after the payload of procedure %d", plen - used, msg->header.proc);
        return -1;
    }
    return 0;
}

/*
 * rpcErrorFromWire: fill *err with a deep copy of the decoded *rerr;
 * absent strings stay NULL. err's previous strings are not freed.
 */
void
rpcErrorFromWire(const remote_error *rerr, iovError *err)
{
    err->code = rerr->code;
    err->domain = rerr->domain;
    err->message = rerr->message ? g_strdup(*rerr->message) : NULL;
    err->level = rerr->level;
    err->str1 = rerr->str1 ? g_strdup(*rerr->str1) : NULL;
    err->str2 = rerr->str2 ? g_strdup(*rerr->str2) : NULL;
    err->str3 = rerr->str3 ? g_strdup(*rerr->str3) : NULL;
    err->int1 = rerr->int1;
    err->int2 = rerr->int2;
}

/* ---- reassembling packets from a stream ---- */

/* rpcPacketReaderClear: free what the reader holds and zero it; its
 * limit stays. */
void
rpcPacketReaderClear(rpcPacketReader *r)
{
    size_t limit = r->limit;

    g_free(r->body);
    memset(r, 0, sizeof(*r));
    r->limit = limit;
}

/* Start the packet whose length word has just been read. */
static int
readerStart(rpcPacketReader *r)
{
    size_t limit = r->limit ? r->limit : RPC_LEN_LEN + RPC_MESSAGE_MAX;
    ssize_t len = rpcLengthCheck(r->lenWord);

    if (len < 0)
        return -1;
    r->bodyLen = (size_t)len;
    r->tooLarge = r->bodyLen > limit;
    /* nothing is reserved for bytes that have not arrived */
    r->bodyAlloc = r->tooLarge ? RPC_PAYLOAD_OFFSET : MIN(r->bodyLen, RPC_PACKET_INITIAL);
    r->body = g_malloc(r->bodyAlloc);
    memcpy(r->body, r->lenWord, RPC_LEN_LEN);
    r->bodyGot = RPC_LEN_LEN;
    return 0;
}

/* The packet read whole (or, when too large, its first bytes) as a new
 * message; the reader is ready for the next packet. */
static rpcMessage *
readerTake(rpcPacketReader *r)
{
    rpcMessage *msg = g_new0(rpcMessage, 1);

    msg->data = g_steal_pointer(&r->body);
    msg->len = r->bodyGot;
    r->lenGot = 0;
    r->bodyAlloc = 0;
    r->bodyGot = 0;
    return msg;
}

/*
 * Up to `want` bytes for the packet in progress into `dst`: those read
 * ahead first; else, when fewer than RPC_READ_AHEAD are wanted, one read
 * of RPC_READ_AHEAD from `s` (what comes beyond is kept ahead); else one
 * read of `want` straight into `dst`. As read(2): > 0, 0 at end of file,
 * -1 with errno.
 */
static ssize_t
readerGet(rpcPacketReader *r, rpcStream *s, char *dst, size_t want)
{
    ssize_t n;
    size_t k;

    if (r->aheadLen == 0 && want < sizeof(r->ahead)) {
        n = s->ops->read(s, r->ahead, sizeof(r->ahead));
        if (n <= 0)
            return n;
        r->bytes += (unsigned long long)n;
        r->drained = (size_t)n < sizeof(r->ahead);
        r->aheadPos = 0;
        r->aheadLen = (size_t)n;
    }
    if (r->aheadLen == 0) {
        n = s->ops->read(s, dst, want);
        if (n > 0) {
            r->bytes += (unsigned long long)n;
            r->drained = (size_t)n < want;
        }
        return n;
    }
    k = MIN(want, r->aheadLen);
    memcpy(dst, r->ahead + r->aheadPos, k);
    r->aheadPos += k;
    r->aheadLen -= k;
    return (ssize_t)k;
}

/*
 * rpcPacketReaderRead: read from `s` until it would block or one packet
 * is complete. The buffer is grown (doubled, up to the announced length)
 * only when it is full and more bytes are due.
 */
rpcReadResult
rpcPacketReaderRead(rpcPacketReader *r, rpcStream *s, rpcMessage **msg)
{
    for (;;) {
        ssize_t n;

        if (r->lenGot < RPC_LEN_LEN) {
            n = readerGet(r, s, r->lenWord + r->lenGot, RPC_LEN_LEN - r->lenGot);
        } else {
            if (r->bodyGot == r->bodyAlloc) {
                r->bodyAlloc = MIN(r->bodyLen, r->bodyAlloc * 2);
                r->body = g_realloc(r->body, r->bodyAlloc);
            }
            n = readerGet(r, s, r->body + r->bodyGot, r->bodyAlloc - r->bodyGot);
        }
        if (n == 0)
            return RPC_READ_EOF;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return RPC_READ_AGAIN;
            /* a peer that closes before reading all we sent resets */
            if (errno == ECONNRESET)
                return RPC_READ_EOF;
            reportSystemError(errno, "cannot read from the connection");
            return RPC_READ_ERROR;
        }

        if (r->lenGot < RPC_LEN_LEN) {
            r->lenGot += (size_t)n;
            if (r->lenGot == RPC_LEN_LEN && readerStart(r) < 0)
                return RPC_READ_ERROR;
            continue;
        }
        r->bodyGot += (size_t)n;

        if (r->tooLarge && r->bodyGot == RPC_PAYLOAD_OFFSET) {
            rpcHeader hdr = { 0 };
            XDR xdrs;
            bool ok;

            xdrmem_create(&xdrs, r->body + RPC_LEN_LEN, RPC_HEADER_LEN, XDR_DECODE);
            ok = headerFilter(&xdrs, &hdr);
            xdr_destroy(&xdrs);
            if (!ok) {
                reportError(IOV_ERR_RPC, "cannot decode the packet header");
                return RPC_READ_ERROR;
            }
            *msg = readerTake(r);
            (*msg)->header = hdr;
            return RPC_READ_TOO_LARGE;
        }
        if (!r->tooLarge && r->bodyGot == r->bodyLen) {
            *msg = readerTake(r);
            r->bodyLen = 0;
            return RPC_READ_PACKET;
        }
    }
}

/* rpcPacketReaderPending: see rpc.h. */
size_t
rpcPacketReaderPending(const rpcPacketReader *r, rpcStream *s)
{
    return r->aheadLen + rpcStreamPending(s);
}

/* rpcPacketReaderDrained: see rpc.h. */
bool
rpcPacketReaderDrained(const rpcPacketReader *r, rpcStream *s)
{
    return r->drained && rpcPacketReaderPending(r, s) == 0;
}

rpcMessage *
rpcKeepaliveAnswer(const rpcHeader *hdr)
{
    rpcHeader pong = {
        .prog = RPC_KEEPALIVE_PROGRAM,
        .vers = RPC_KEEPALIVE_VERSION,
        .proc = RPC_KEEPALIVE_PONG,
        .type = RPC_MESSAGE,
        .serial = 0,
        .status = RPC_OK,
    };

    if (hdr->prog != RPC_KEEPALIVE_PROGRAM || hdr->type != RPC_MESSAGE ||
        hdr->proc != RPC_KEEPALIVE_PING)
        return NULL;
    return rpcMessageEncode(&pong, NULL, NULL);
}
