/*
 * rpc.h: libvirt's remote protocol: packets, the server and the client
 *
 * A packet is a big-endian u32 length (counting itself), a header of six
 * XDR words (program, version, procedure, type, serial, status) and an XDR
 * payload. Payloads are encoded and decoded by the rpcgen functions of
 * remote_protocol.x (xdrproc_t), never by hand.
 *
 * Transports: a connection reads and writes through an rpcStream, so that
 * TLS or an SSH pipe can later slot in beside the unix socket.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
/* XDR from libtirpc: not <rpc/rpc.h>, which would name this very file
 * when src/ is on the include path */
#include <rpc/types.h>
#include <rpc/xdr.h>

#include "iovirt/iovirt.h"
#include "remote_protocol.h"

/* ---- constants (libvirt's values) ---- */

#define RPC_REMOTE_PROGRAM 0x20008086
#define RPC_REMOTE_VERSION 1
/* iovirt's own program, beside the remote one: the calls libvirt does not
 * have (remote_protocol.x, enum iovirt_procedure) */
#define RPC_IOVIRT_PROGRAM IOVIRT_PROGRAM
#define RPC_IOVIRT_VERSION IOVIRT_PROTOCOL_VERSION
/* libvirt's QEMU-specific program (remote_protocol.x, enum qemu_procedure):
 * the monitor passthrough */
#define RPC_QEMU_PROGRAM QEMU_PROGRAM
#define RPC_QEMU_VERSION QEMU_PROTOCOL_VERSION
#define RPC_KEEPALIVE_PROGRAM 0x6b656570
#define RPC_KEEPALIVE_VERSION 1
#define RPC_KEEPALIVE_PING 1
#define RPC_KEEPALIVE_PONG 2

#define RPC_HEADER_LEN 24               /* six words */
#define RPC_LEN_LEN 4                   /* the length word */
#define RPC_MESSAGE_MAX 33554432        /* body (header + payload) max */

/*
 * What a read-only connection may send. Every read-only call of
 * remote_protocol.x carries at most two strings (a domain name, a disk
 * target or path, a URI) and a few words; the strings are bounded by
 * REMOTE_STRING_MAX on the wire, but none of them is ever longer than a
 * path, RPC_NAME_MAX. The largest such call, DOMAIN_GET_BLOCK_IO_TUNE
 * with both strings at RPC_NAME_MAX, has a body of 8256 bytes; the cap,
 * 16 KiB, leaves almost as much again for read-only calls added later. tests/unit/test-rpc-packet.c checks every
 * read-only procedure against it.
 */
#define RPC_NAME_MAX 4096
#define RPC_READONLY_MESSAGE_MAX 16384  /* body max on a read-only connection */

/* Replies queued for a read-only client that does not read them,
 * beyond which the server closes it (a reply into an empty queue is
 * always taken). */
#define RPC_SERVER_READONLY_OUTPUT_MAX (1024 * 1024)

/* What a packet's buffer starts with; it grows as the bytes arrive. */
#define RPC_PACKET_INITIAL 1024
/* what a reader asks of its stream at once when a packet's remaining
 * bytes are fewer: a call or a short reply, and often the length word
 * with it, in one system call */
#define RPC_READ_AHEAD 1024

typedef enum {
    RPC_CALL = 0,
    RPC_REPLY = 1,
    RPC_MESSAGE = 2,
    RPC_STREAM = 3,
    RPC_CALL_WITH_FDS = 4,
    RPC_REPLY_WITH_FDS = 5,
    RPC_STREAM_HOLE = 6,
} rpcMessageType;

typedef enum {
    RPC_OK = 0,
    RPC_ERROR = 1,
    RPC_CONTINUE = 2,
} rpcMessageStatus;

typedef struct {
    uint32_t prog;
    uint32_t vers;
    int32_t proc;
    int32_t type;
    uint32_t serial;
    int32_t status;
} rpcHeader;

/* ---- packets ---- */

/*
 * One packet in memory. `data` holds the whole packet including the length
 * word; `len` is its size. The payload starts at RPC_LEN_LEN +
 * RPC_HEADER_LEN.
 */
typedef struct {
    rpcHeader header;
    char *data; /* owned */
    size_t len;
} rpcMessage;

void rpcMessageFree(rpcMessage *msg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(rpcMessage, rpcMessageFree)

/*
 * rpcMessageEncode: a new packet with `hdr` and the payload `data`
 * encoded by `filter` (xdr_void or NULL for none). Fails (IOV_ERR_RPC)
 * when encoding fails or the packet would exceed the maximum.
 */
rpcMessage *rpcMessageEncode(const rpcHeader *hdr, xdrproc_t filter,
                             void *data);

/*
 * rpcMessageEncodeError: the error reply to the call `call`: type REPLY,
 * status ERROR, prog/vers of the program, proc and serial of the call,
 * payload a remote_error built from `err` (message, code, domain, level,
 * str1..3, int1..2 as given; dom and net absent).
 */
rpcMessage *rpcMessageEncodeError(const rpcHeader *call, const iovError *err);

/* rpcMessageEncodeErrorOfType: the same with message type `type` (a
 * stream's error is of type STREAM). */
rpcMessage *rpcMessageEncodeErrorOfType(const rpcHeader *call, int type, const iovError *err);

/* rpcMessageEncodeRaw: a packet with `hdr` whose payload is `len` bytes
 * of `data` as they are, not XDR (a stream's data). */
rpcMessage *rpcMessageEncodeRaw(const rpcHeader *hdr, const char *data, size_t len);

/*
 * rpcLengthCheck: given the first four bytes of a packet, the total
 * length it announces, or -1 (with an IOV_ERR_RPC error) when it is below
 * 28 or its body exceeds RPC_MESSAGE_MAX.
 */
ssize_t rpcLengthCheck(const char lenWord[4]);

/* rpcMessageDecodeHeader: parse the header of a complete packet
 * (`len` bytes at `data`) into *hdr. */
int rpcMessageDecodeHeader(const char *data, size_t len, rpcHeader *hdr);

/*
 * rpcMessageDecodePayload: decode the payload of `msg` with `filter` into
 * `out` (zeroed by the caller); the whole payload must be consumed. On
 * failure the partial result is freed and an IOV_ERR_RPC error names the
 * procedure.
 */
int rpcMessageDecodePayload(const rpcMessage *msg, xdrproc_t filter,
                            void *out);

/* rpcKeepaliveAnswer: for a keepalive PING (header `hdr`), the PONG to
 * send back (new); NULL for anything else. Either end answers pings. */
rpcMessage *rpcKeepaliveAnswer(const rpcHeader *hdr);

/* rpcErrorFromWire: an iovError (deep copy) from a decoded remote_error. */
void rpcErrorFromWire(const remote_error *rerr, iovError *err);

/* ---- streams: what a connection reads and writes through ---- */

typedef struct _rpcStream rpcStream;
typedef struct {
    /* read/write like read(2)/write(2) on a non-blocking descriptor:
     * >0 bytes, 0 EOF (read), -1 with errno (EAGAIN when it would block) */
    ssize_t (*read)(rpcStream *s, void *buf, size_t len);
    ssize_t (*write)(rpcStream *s, const void *buf, size_t len);
    void (*close)(rpcStream *s);
    /* the descriptor to poll */
    int (*fd)(rpcStream *s);
    /* the descriptor to poll for writing, when not `fd` (a pipe pair);
     * NULL means `fd` */
    int (*writeFd)(rpcStream *s);
    /* bytes already received and buffered in the stream, which a poll of
     * the descriptor does not see (TLS records); NULL means none */
    size_t (*pending)(rpcStream *s);
} rpcStreamOps;

struct _rpcStream {
    const rpcStreamOps *ops;
    void *priv;
};

/* rpcStreamNewUnix: a stream over a connected unix socket `fd` (taken
 * over; made non-blocking and close-on-exec). */
rpcStream *rpcStreamNewUnix(int fd);
void rpcStreamFree(rpcStream *s); /* closes; NULL is fine */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(rpcStream, rpcStreamFree)

/* rpcSocketConnectUnix: connect to `path`; returns the descriptor or -1
 * with an error naming the path. */
int rpcSocketConnectUnix(const char *path);

/* rpcStreamPending: bytes buffered in `s` that polling its descriptor
 * would not show. */
size_t rpcStreamPending(rpcStream *s);

/* rpcStreamNewPipe: a stream that reads `rfd` and writes `wfd` (both
 * taken over; the same descriptor twice for a socket), such as the
 * standard input and output of an ssh process. */
rpcStream *rpcStreamNewPipe(int rfd, int wfd);
/* rpcStreamPipeSetChild: the stream reaps `pid` when it closes (after
 * closing its pipes, with SIGTERM if it has not ended within a second). */
void rpcStreamPipeSetChild(rpcStream *s, pid_t pid);

/* rpcSocketConnectTCP: a blocking TCP connection to `host`:`port`, or -1
 * with an error naming them. */
int rpcSocketConnectTCP(const char *host, const char *port);

/* ---- TLS (tls.c) ---- */

/* The libvirt TLS client waits, after the handshake, for this one byte
 * from the server, which sends it once the client's certificate passed
 * its checks. iovirt's server sends RPC_TLS_REFUSED then one line saying
 * why instead, and closes. */
#define RPC_TLS_CONFIRM 1
#define RPC_TLS_REFUSED 0

typedef struct _rpcTLSContext rpcTLSContext;

/*
 * rpcTLSContextNew: the x509 credentials of one end (see tls.c): the CA
 * `ca`, an optional CRL, the certificate and key (a server's key must not
 * be readable by group or others), the glob patterns a client DN must
 * match (server; NULL for any), a GnuTLS priority string (NULL: NORMAL),
 * and whether to check the peer at all (a client's no_verify).
 */
rpcTLSContext *rpcTLSContextNew(bool server, const char *ca, const char *crl, const char *cert,
                                const char *key, const char *const *dnList, const char *priority,
                                bool verify);
void rpcTLSContextFree(rpcTLSContext *ctx);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(rpcTLSContext, rpcTLSContextFree)

/* rpcStreamNewTLS: a TLS session over the TCP socket `fd` (taken over);
 * `hostname` is the name a client expects in the server certificate. */
rpcStream *rpcStreamNewTLS(rpcTLSContext *ctx, int fd, const char *hostname);
/* rpcStreamTLSHandshake: 0 done, 1 call again when the socket is ready
 * (for writing when rpcStreamTLSWantsWrite), -1 with an error. */
int rpcStreamTLSHandshake(rpcStream *s);
bool rpcStreamTLSWantsWrite(rpcStream *s);
/* rpcStreamTLSCheckPeer: the checks of the peer's certificate after the
 * handshake; -1 with a one-line error (IOV_ERR_AUTH_FAILED). */
int rpcStreamTLSCheckPeer(rpcStream *s);
/* rpcStreamTLSOwnContext: the stream frees its context when closed. */
void rpcStreamTLSOwnContext(rpcStream *s);
/* rpcStreamTLSPeerDN: the DN checked, owned by the stream, or NULL. */
const char *rpcStreamTLSPeerDN(rpcStream *s);

/* ---- reassembling packets from a stream ---- */

/*
 * What has been read of the packet in progress on a non-blocking stream,
 * which delivers bytes piecemeal. Zero-initialise (then set `limit` if
 * wanted); rpcPacketReaderClear frees. Used by both ends of a
 * connection.
 *
 * Memory: the length word alone reserves at most RPC_PACKET_INITIAL
 * bytes; the buffer then doubles as the bytes arrive, so a peer that
 * announces a large packet and sends part of it makes the reader hold
 * at most twice what it sent (and never more than the packet).
 */
typedef struct {
    size_t limit;              /* set by the owner: the largest packet
                                * (length word included) taken whole; 0 for
                                * RPC_LEN_LEN + RPC_MESSAGE_MAX */
    char lenWord[RPC_LEN_LEN]; /* the length word being read */
    size_t lenGot;
    char *body;                /* owned: the packet being read, or NULL */
    size_t bodyAlloc;          /* the size of `body` */
    size_t bodyLen;            /* the length announced */
    size_t bodyGot;            /* bytes of it in `body` */
    bool tooLarge;             /* bodyLen is over `limit`: only its header is read */
    unsigned long long bytes;  /* every byte read so far */
    /* a packet shorter than this comes in one read, with what follows it
     * on the stream (the next packets' bytes, kept here) */
    char ahead[RPC_READ_AHEAD];
    size_t aheadPos;           /* the first byte of `ahead` not yet taken */
    size_t aheadLen;           /* bytes of `ahead` not yet taken */
    bool drained;              /* the last read from the stream came short */
} rpcPacketReader;

typedef enum {
    RPC_READ_ERROR = -1, /* a read failed or the length word is bad: error set */
    RPC_READ_AGAIN = 0,  /* the stream would block */
    RPC_READ_PACKET = 1, /* *msg holds a complete packet (header not decoded) */
    RPC_READ_EOF = 2,    /* end of file, or the peer reset the connection */
    RPC_READ_TOO_LARGE = 3, /* the packet announced (r->bodyLen bytes) is over
                             * r->limit: *msg holds its length word and
                             * header only, the header decoded, so that the
                             * call can be answered; the rest is not read
                             * and the stream is out of step: close it */
} rpcReadResult;

/* rpcPacketReaderRead: read what `s` has, up to the end of one packet. */
rpcReadResult rpcPacketReaderRead(rpcPacketReader *r, rpcStream *s, rpcMessage **msg);
/* rpcPacketReaderPending: bytes already read from `s` that poll(2) no
 * longer announces, the reader's (ahead of the packet in progress) and
 * the stream's own (TLS records decrypted): read on without polling. */
size_t rpcPacketReaderPending(const rpcPacketReader *r, rpcStream *s);
/* rpcPacketReaderDrained: after a packet, whether the stream had nothing
 * more when last read, so that reading again now would only block
 * (poll announces what comes later). */
bool rpcPacketReaderDrained(const rpcPacketReader *r, rpcStream *s);
void rpcPacketReaderClear(rpcPacketReader *r);

/* ---- the server ---- */

typedef struct _rpcServer rpcServer;
typedef struct _rpcServerClient rpcServerClient;

typedef struct {
    unsigned int maxClients;         /* over it, new connections are refused */
    unsigned int maxReadonlyClients; /* read-only ones among them; over it,
                                      * new read-only connections are refused */
    unsigned int maxRequestsPerClient; /* calls in flight per client */
    unsigned int idleTimeoutSec;     /* 0 = never; a client silent that long is closed */
    unsigned int workers;            /* size of the worker pool */
    unsigned int maxAnonymousClients; /* clients still in the TLS handshake
                                       * (not yet authenticated); at it, the
                                       * TLS listeners stop accepting until
                                       * one leaves; 0 = no limit */
    unsigned int handshakeTimeoutSec; /* a TLS handshake (and its checks)
                                       * must end within; 0 = never */
    int keepaliveInterval;            /* seconds of silence from a client
                                       * before a PING; <= 0: no keepalive */
    unsigned int keepaliveCount;      /* PINGs unanswered before the client
                                       * is taken for dead and closed */
} rpcServerConfig;

typedef struct {
    /*
     * A complete call arrived for a program the server does not handle
     * itself (keepalive is answered inside). Runs in a worker thread.
     * It must answer exactly once with rpcServerClientReply (or
     * ...ReplyError) — possibly later, from another thread — and then
     * rpcMessageFree(msg) is the server's business: the callback does not
     * free `msg`.
     */
    void (*dispatch)(rpcServer *srv, rpcServerClient *client,
                     const rpcMessage *msg, void *opaque);
    /* A client connected (return false to refuse it) or went away (EOF,
     * error, limit, idle, server shutdown). Run in the server's thread. */
    bool (*connected)(rpcServer *srv, rpcServerClient *client, void *opaque);
    void (*disconnected)(rpcServer *srv, rpcServerClient *client,
                         void *opaque);
    /*
     * Optional: a call that the table of calls marks quick, run in the
     * server's thread as soon as it is read, which saves a worker's
     * wake-up. It must not wait on anything but a lock held for memory
     * work: the server's thread serves every client. Returns true when
     * it answered the call (as dispatch does); false, without having
     * answered, hands the call to dispatch in a worker (the call found
     * that it has to wait after all).
     */
    bool (*dispatchQuick)(rpcServer *srv, rpcServerClient *client,
                          const rpcMessage *msg, void *opaque);
} rpcServerCallbacks;

/* rpcServerNew: a server whose I/O runs in `ctx` (the daemon's main
 * context, run by the caller) and whose calls run in a worker pool. */
rpcServer *rpcServerNew(GMainContext *ctx, const rpcServerConfig *cfg,
                        const rpcServerCallbacks *cb, void *opaque);

/*
 * rpcServerAddUnixListener: listen on a unix socket at `path` (replacing a
 * stale socket file), with permissions `mode`; clients accepted there are
 * read-only when `readonly`.
 */
int rpcServerAddUnixListener(rpcServer *srv, const char *path, int mode,
                             bool readonly);

/*
 * rpcServerAddTLSListener: listen on TCP `addr` (NULL or "": every
 * address) port `port` with TLS of `tls` (not owned; it must outlive the
 * server). A client there first completes the handshake and passes the
 * certificate checks (rpcStreamTLSCheckPeer), is sent RPC_TLS_CONFIRM,
 * and only then counts as connected; a refused one is sent
 * RPC_TLS_REFUSED and a line saying why, logged with its DN, and closed.
 */
int rpcServerAddTLSListener(rpcServer *srv, const char *addr, const char *port, rpcTLSContext *tls);

/* rpcServerClientCount: connected clients now. */
unsigned int rpcServerClientCount(rpcServer *srv);

/* rpcServerFree: close listeners and clients, wait for the workers. */
void rpcServerFree(rpcServer *srv);

bool rpcServerClientIsReadonly(rpcServerClient *client);
/* per-client data of the dispatcher (the connection's state) */
void rpcServerClientSetPrivate(rpcServerClient *client, void *priv,
                               GDestroyNotify freeFunc);
void *rpcServerClientGetPrivate(rpcServerClient *client);
/* Take / drop a reference, for replies sent from other threads. */
rpcServerClient *rpcServerClientRef(rpcServerClient *client);
void rpcServerClientUnref(rpcServerClient *client);
/* rpcServerClientStartKeepalive: the client asked for keepalive (by
 * CONNECT_SUPPORTS_FEATURE of PROGRAM_KEEPALIVE, as libvirt clients that
 * answer PINGs do): from now on a silent client is PINGed, and closed
 * once silent for keepaliveInterval × (keepaliveCount + 1). */
void rpcServerClientStartKeepalive(rpcServerClient *client);
/* Ask the server to close the client once its queued replies are sent. */
void rpcServerClientClose(rpcServerClient *client);

/* rpcServerClientReply: send the successful reply to `call` with payload
 * `data` encoded by `filter`. Thread safe; never blocks on the client. */
int rpcServerClientReply(rpcServerClient *client, const rpcHeader *call,
                         xdrproc_t filter, void *data);

/*
 * rpcServerClientSendEvent: queue the unsolicited packet `msg` (taken
 * over, of type MESSAGE), unless the events the client left unread would
 * then exceed `limit` bytes, or all its unread output the client's own
 * cap: the client is then closed, nothing is queued, *queued gets the
 * bytes it left unread and -1 is returned. A packet into an empty queue
 * is always taken. Thread safe; never blocks. A client already closed
 * drops the packet and returns 0.
 */
int rpcServerClientSendEvent(rpcServerClient *client, rpcMessage *msg, size_t limit,
                             size_t *queued);

/* rpcServerClientReplyError: send the error reply to `call`. */
int rpcServerClientReplyError(rpcServerClient *client, const rpcHeader *call,
                              const iovError *err);

/* ---- the server's streams (stream.c's transports are another thing) ---- */

/* Bytes of data one STREAM packet carries at most (libvirt's
 * VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX, which its clients send and take). */
#define RPC_STREAM_PACKET_MAX 262120

/* Stream data queued for one client and not yet written, at which
 * rpcServerStreamWritable turns false: what a client that does not read
 * its streams makes the server hold (docs/iovirtd.8.md, MEMORY). */
#define RPC_SERVER_STREAM_OUTPUT_MAX (256 * 1024)

/*
 * A stream of a client: the data that follows a call which opened it
 * (libvirt's STREAM packets, with the program, procedure and serial of
 * that call). See server.c for its states.
 */
typedef struct _rpcServerStream rpcServerStream;

/* What a stream tells its user; each in the server's context thread,
 * no lock held; `opaque` as given to rpcServerStreamNew. */
typedef struct {
    /* the reply to the call that opened the stream is queued: data may
     * be sent from now on */
    void (*start)(rpcServerStream *st, void *opaque);
    /* `len` bytes of data from the client */
    void (*data)(rpcServerStream *st, const char *buf, size_t len, void *opaque);
    /* rpcServerStreamWritable said no, and the client has read enough */
    void (*writable)(rpcServerStream *st, void *opaque);
    /* the stream is over: the client finished it (`aborted` false) or
     * aborted it (both were confirmed), or the client went away (true).
     * Not called after rpcServerStreamSendError. */
    void (*ended)(rpcServerStream *st, bool aborted, void *opaque);
} rpcServerStreamCallbacks;

/*
 * rpcServerStreamNew: a stream opened by the call `call` of `client`,
 * from the call's handler, before its reply: it starts (cb->start) once
 * the successful reply to `call` is queued. The caller holds a reference
 * (rpcServerStreamUnref) and the client another until the stream ends.
 * NULL (an error set, no callback ever) when the client has gone.
 */
rpcServerStream *rpcServerStreamNew(rpcServerClient *client, const rpcHeader *call,
                                    const rpcServerStreamCallbacks *cb, void *opaque);
rpcServerStream *rpcServerStreamRef(rpcServerStream *st);
void rpcServerStreamUnref(rpcServerStream *st); /* NULL is fine */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(rpcServerStream, rpcServerStreamUnref)

/* rpcServerStreamSendData: queue `len` bytes (split into packets of
 * RPC_STREAM_PACKET_MAX); -1 with an error once the stream is not open.
 * Any thread; never blocks. */
int rpcServerStreamSendData(rpcServerStream *st, const char *data, size_t len);
/* rpcServerStreamWritable: whether the client's unread stream data is
 * under RPC_SERVER_STREAM_OUTPUT_MAX; when not, cb->writable runs once
 * it is again. */
bool rpcServerStreamWritable(rpcServerStream *st);
/* rpcServerStreamSendEOF: the server's end of the data (an empty
 * CONTINUE, as libvirt sends it: an OK only confirms a client's finish);
 * the stream waits for the client's finish or abort. */
int rpcServerStreamSendEOF(rpcServerStream *st);
/* rpcServerStreamSendError: end the stream with `err` (a STREAM packet
 * of status ERROR); no callback runs after. Any thread. */
void rpcServerStreamSendError(rpcServerStream *st, const iovError *err);
/* rpcServerStreamPauseInput: while paused, the client's socket is not
 * read (its stream data waits in the kernel's buffers, then the client
 * waits). */
void rpcServerStreamPauseInput(rpcServerStream *st, bool pause);
/* rpcServerClientStreamQueued: the client's stream data not yet written. */
size_t rpcServerClientStreamQueued(rpcServerClient *client);
/* rpcServerClientGetContext: the context the client's I/O (and its
 * streams' callbacks) run in. */
GMainContext *rpcServerClientGetContext(rpcServerClient *client);

/* ---- the client ---- */

typedef struct _rpcClient rpcClient;

/* rpcClientNew: a client over `stream` (taken over). */
rpcClient *rpcClientNew(rpcStream *stream);
void rpcClientFree(rpcClient *client); /* closes; NULL is fine */

/*
 * rpcClientCall: send call `proc` of `prog`/`vers` with `args` encoded by
 * `argsFilter`, wait for its reply, decode it with `retFilter` into `ret`
 * (zeroed by the caller). Thread safe: calls from several threads on one
 * client are matched to their replies by serial. Keepalive PINGs from the
 * server are answered. An error reply sets the thread's error to exactly
 * the error received and returns -1; a closed connection gives
 * IOV_ERR_RPC "connection closed ..." (later calls fail at once).
 * `timeoutMs` <= 0 waits forever.
 */
int rpcClientCall(rpcClient *client, uint32_t prog, uint32_t vers,
                  int32_t proc, xdrproc_t argsFilter, void *args,
                  xdrproc_t retFilter, void *ret, int timeoutMs);

/*
 * rpcClientChangesSent: how many calls this process has sent, on any
 * client, that are not allowed on a read-only connection (those that may
 * change something). A program that would redo a command in another
 * program (iovsh's static build) does so only while it is 0.
 */
unsigned int rpcClientChangesSent(void);

/* rpcClientSetKeepalive: while a call waits, PING a server silent for
 * `intervalSec` and give up after `count` PINGs unanswered (the
 * defaults are libvirt's, 5 and 5); intervalSec <= 0 turns it off. */
void rpcClientSetKeepalive(rpcClient *client, int intervalSec, unsigned int count);
/*
 * rpcClientSetEventHandler: from now on, hand every event (a packet of
 * type MESSAGE of the remote program; `msg` is freed after the call) to
 * `func`, in the order they came, on a thread of the client's own that
 * also reads the socket while no call does. The handler may make calls
 * on the client, but must not free it. Once only; later calls are no-ops.
 * Not thread safe against itself: the caller serialises.
 */
typedef void (*rpcClientEventFunc)(const rpcMessage *msg, void *opaque);
int rpcClientSetEventHandler(rpcClient *client, rpcClientEventFunc func, void *opaque);

/*
 * A stream of a client: the data after a call that opened it (STREAM
 * packets of its serial), both ways. Free it before its client.
 */
typedef struct _rpcClientStream rpcClientStream;

/* rpcClientStreamOpen: make the call `proc` (args encoded by
 * `argsFilter`, an empty reply) that opens a stream; the stream, or NULL
 * with the error of the call. */
rpcClientStream *rpcClientStreamOpen(rpcClient *client, uint32_t prog, uint32_t vers, int32_t proc,
                                     xdrproc_t argsFilter, void *args);
/* rpcClientStreamRecv: up to `len` bytes received: their count, 0 at the
 * server's end of the stream, -1 with the error the server ended it with
 * (or the connection's), -2 when nothing came within `timeoutMs` (0: do
 * not wait; < 0: wait for ever). Thread safe against Send and Finish. */
int rpcClientStreamRecv(rpcClientStream *st, char *buf, size_t len, int timeoutMs);
/* rpcClientStreamSend: queue `len` bytes for the server and see them
 * written; -1 with an error once the stream or connection is over. */
int rpcClientStreamSend(rpcClientStream *st, const char *data, size_t len);
/* rpcClientStreamFinish: end the stream (finish, or abort) and wait up to
 * `timeoutMs` for the server's confirmation. A finish fails with the
 * error the server ended the stream with; an abort does not fail. */
int rpcClientStreamFinish(rpcClientStream *st, bool abort, int timeoutMs);
void rpcClientStreamFree(rpcClientStream *st); /* NULL is fine */

/* rpcClientIsOpen: false once the connection has ended. */
bool rpcClientIsOpen(rpcClient *client);

/* ---- the procedures of the remote program ---- */

/*
 * What the table of calls (the annotated enum of remote_protocol.x) says
 * about one procedure of the remote program: its name, how to decode its
 * arguments and encode its reply, its access policy and priority, and the
 * public function it serves. Generated (remote_procs.c); the daemon's
 * dispatch table holds only the handlers.
 */
typedef struct {
    int proc;            /* REMOTE_PROC_... */
    const char *name;    /* "DOMAIN_SET_BLOCK_IO_TUNE" */
    xdrproc_t argsFilter;
    size_t argsSize;     /* sizeof the args struct, 0 for none */
    xdrproc_t retFilter;
    size_t retSize;      /* sizeof the ret struct, 0 for none */
    bool readonlyOk;     /* allowed on a read-only connection */
    bool beforeOpen;     /* allowed before CONNECT_OPEN */
    bool quick;          /* may be answered in the server's thread (rpcServerCallbacks) */
    const char *api;     /* the public function: "iovDomainBlockIoThrottle" */
    const char *libvirtApi; /* libvirt's: "virDomainSetBlockIoTune" */
    uint32_t prog;          /* its program: RPC_REMOTE_PROGRAM, RPC_IOVIRT_PROGRAM */
} rpcProcInfo;

/* rpcRemoteProcLookup: the procedure `proc` of the remote program, or
 * NULL when iovirt does not implement it. */
const rpcProcInfo *rpcRemoteProcLookup(int proc);

/* rpcProcLookup: the procedure `proc` of program `prog` (the remote
 * program or iovirt's own), or NULL. */
const rpcProcInfo *rpcProcLookup(uint32_t prog, int proc);

/* rpcProgramKnown: whether the table of calls declares program `prog`
 * at version `vers` (calls of any other get a program error). */
bool rpcProgramKnown(uint32_t prog, uint32_t vers);

/* rpcRemoteMsgLookup: the event message `proc` the daemon sends (its
 * payload's filter and size in argsFilter and argsSize), or NULL. */
const rpcProcInfo *rpcRemoteMsgLookup(int proc);
