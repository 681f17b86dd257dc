/*
 * server.c: the server side of libvirt's remote protocol
 *
 * Who runs what:
 *   - the context thread (the one iterating srv->ctx) does every socket
 *     operation: accepting, reading packets, writing queued output,
 *     closing clients, the idle check, and the connected/disconnected
 *     callbacks; it never blocks: sockets are non-blocking;
 *   - the worker pool runs cb->dispatch for each call of the remote
 *     program, except those the table marks quick: cb->dispatchQuick
 *     runs them in the context thread as they are read (a worker's
 *     wake-up costs more than such a call), or hands them back;
 *   - any thread may queue a reply; it encodes the packet itself, appends
 *     it to the client's output queue and wakes the context thread with a
 *     one-shot source, which writes what the socket accepts.
 *
 * A client's life: accepted → (connected callback) → in srv->clients,
 * which holds one reference → closed by the context thread (EOF, error,
 * protocol violation, idle, output overflow, rpcServerClientClose, or
 * rpcServerFree) → removed from srv->clients, disconnected callback,
 * reference dropped. Workers and deferred replies hold their own
 * references; once `closed` is set, replies are dropped and nothing of
 * the server is touched through the client any more.
 *
 * Flow control: while a client has maxRequestsPerClient calls in flight
 * (dispatched and not answered yet), its socket is not read; the kernel
 * buffers and then the peer wait. Output waiting for a slow reader is
 * capped at RPC_SERVER_OUTPUT_MAX bytes (RPC_SERVER_READONLY_OUTPUT_MAX
 * for a read-only client), beyond which the client is closed, so that a
 * worker never waits for a client.
 *
 * Memory per client: a packet's buffer grows with the bytes that arrive
 * (rpcPacketReader); a read-only client may send packets of at most
 * RPC_READONLY_MESSAGE_MAX bytes, a refused one only a header, and a
 * larger one is answered with an error and closed without its body being
 * read. So what anyone allowed on the read-only socket can make the
 * server hold is bounded: see docs/iovirtd.8.md, MEMORY.
 *
 * TLS: a client of a TLS listener first does the handshake and the
 * checks of its certificate in the context thread (tlsState 1), counted
 * in srv->nanonymous against maxAnonymousClients and closed after
 * handshakeTimeoutSec; while that many are there, the TLS listeners
 * accept no more (the kernel's backlog holds them). Only once it is confirmed (libvirt's one byte)
 * is it connected (the connected callback runs then) and read. A client refused there (tlsState 2)
 * is sent the refusal and closed; it never counts as connected. So a TLS client costs at most the
 * handshake's buffers until it has proved who it is.
 *
 * Keepalive (libvirt's): once a client asked for it
 * (rpcServerClientStartKeepalive), a client silent for keepaliveInterval
 * seconds is sent a PING, and one silent for interval × (count + 1) is
 * taken for dead and closed, whatever the transport.
 *
 * Locks: srv->lock guards srv->clients, srv->listeners and srv->closing;
 * client->lock guards the fields marked so. When both are needed, take
 * srv->lock first.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib-unix.h>

#include "rpc.h"
#include "util/error.h"
#include "util/workpool.h"

#define IOV_FROM_THIS IOV_FROM_RPC

/* Output queued for one client beyond which it is closed. A reply to
 * a client with nothing queued is always taken, however large. The
 * read-only cap is in rpc.h. */
#define RPC_SERVER_OUTPUT_MAX (64 * 1024 * 1024)

/* How long a refused client may stay before it is closed. */
#define RPC_SERVER_REFUSED_LINGER (5 * G_USEC_PER_SEC)

/* Packets read from one client per wake-up, so that one busy client
 * does not starve the others. */
#define RPC_SERVER_READ_BUDGET 32

typedef struct {
    rpcServer *srv;     /* not owned */
    int fd;             /* owned */
    char *path;         /* owned: the socket file, unlinked when the
                         * server goes; for TCP, "ADDR:PORT" (not a file) */
    bool readonly;
    rpcTLSContext *tls; /* not owned; non-NULL for a TLS listener */
    bool paused;        /* srv->lock: a TLS listener not accepting while
                         * max_anonymous_clients are in the handshake
                         * (source is then NULL) */
    GSource *source;    /* owned: the accept watch, or NULL while paused */
} rpcListener;

struct _rpcServer {
    GMainContext *ctx;            /* a reference */
    rpcServerConfig cfg;
    rpcServerCallbacks cb;
    void *opaque;
    utilWorkPool *pool;           /* owned; runs serverWorker */
    GSource *idleTimer;           /* owned; NULL without idle timeout */

    GMutex lock;
    GPtrArray *clients;           /* lock; each element holds a reference */
    unsigned int nrefused;        /* lock; refused clients among them */
    unsigned int nreadonly;       /* lock; read-only clients among them,
                                   * refused ones not counted */
    unsigned int nanonymous;      /* lock; TLS clients not yet confirmed */
    GPtrArray *listeners;         /* lock; rpcListener, owned */
    bool closing;                 /* lock; rpcServerFree has begun */
};

struct _rpcServerClient {
    gint refs;                    /* atomic */
    rpcServer *srv;               /* not owned; used only while open */
    GMainContext *ctx;            /* a reference, for wake-ups */
    bool readonly;
    bool tls;                     /* fixed at creation: a TLS connection */
    char *refused;                /* owned; over a limit: why. Its first
                                   * call gets this error, then it is closed;
                                   * NULL for a client served */
    unsigned int maxCalls;        /* calls in flight allowed, 0 = no limit */
    size_t outputMax;             /* output queued beyond which it is closed */
    gint64 acceptedAt;            /* monotonic time of the accept */
    int tlsState;                 /* 0: served (or not TLS); 1: in the TLS
                                   * handshake; 2: refused there, closing.
                                   * Written by the context thread under
                                   * srv->lock, read by it freely */
    gint keepalive;               /* atomic: the client asked for keepalive */

    /* context thread only */
    rpcStream *stream;            /* owned; NULL once closed */
    GSource *watch;               /* owned; the socket watch, or NULL */
    GIOCondition watchCond;       /* what `watch` waits for */
    rpcPacketReader reader;       /* the packet being read */
    gint64 lastActivity;          /* monotonic time of the last I/O */
    gint64 lastInput;             /* monotonic time of the last byte read */
    unsigned int pingsSent;       /* PINGs since that byte */

    GMutex lock;
    bool closed;                  /* lock */
    bool closeWhenFlushed;        /* lock: rpcServerClientClose was called */
    bool overflow;                /* lock: output over the cap, close now */
    bool wakePending;             /* lock: a wake source is attached */
    GQueue outq;                  /* lock: rpcMessage, owned */
    size_t outOffset;             /* lock: bytes of the head already sent */
    size_t outBytes;              /* lock: bytes queued and not yet sent */
    size_t eventBytes;            /* lock: of them, unsolicited packets not
                                   * completely sent (rpcServerClientSendEvent) */
    GPtrArray *calls;             /* lock: rpcMessage in flight, owned */
    GPtrArray *streams;           /* lock: rpcServerStream open, each a reference */
    size_t streamBytes;           /* lock: of outBytes, STREAM packets not
                                   * completely sent */
    unsigned int streamsPaused;   /* lock: streams whose input is paused:
                                   * the socket is not read meanwhile */
    void *priv;                   /* lock: the dispatcher's data */
    GDestroyNotify privFree;
};

/* A call handed to the worker pool: holds a reference on the client; the
 * message itself belongs to client->calls. */
typedef struct {
    rpcServerClient *client;
    rpcMessage *msg;
} rpcServerJob;

static void clientClose(rpcServerClient *client);
static void clientHandshake(rpcServerClient *client);
static void serverResumeListeners(rpcServer *srv);
static gboolean listenerCallback(gint fd, GIOCondition cond, gpointer data);
static int clientKeepaliveCheck(rpcServer *srv, rpcServerClient *c, gint64 now);
static bool clientMayRead(rpcServerClient *client);
static bool clientHasBuffered(rpcServerClient *client);
static int clientRead(rpcServerClient *client);
static void clientUpdateWatch(rpcServerClient *client);
static gboolean clientWakeCallback(gpointer data);
static void streamAnsweredLocked(rpcServerClient *client, const rpcHeader *call);
static void streamService(rpcServerClient *client);
static int streamHandlePacket(rpcServerClient *client, rpcMessage *msg);
static void streamCloseAll(rpcServerClient *client);

/* ---- references ---- */

/* rpcServerClientRef: take a reference on `client`; returns it. */
rpcServerClient *
rpcServerClientRef(rpcServerClient *client)
{
    g_atomic_int_inc(&client->refs);
    return client;
}

/*
 * rpcServerClientUnref: drop a reference; the last one frees the client,
 * its private data (with the free function given) and any call still
 * recorded as in flight. NULL is fine.
 */
void
rpcServerClientUnref(rpcServerClient *client)
{
    if (!client || !g_atomic_int_dec_and_test(&client->refs))
        return;
    if (client->privFree)
        client->privFree(client->priv);
    rpcStreamFree(client->stream);
    if (client->watch) {
        g_source_destroy(client->watch);
        g_source_unref(client->watch);
    }
    rpcPacketReaderClear(&client->reader);
    g_queue_clear_full(&client->outq, (GDestroyNotify)rpcMessageFree);
    g_ptr_array_unref(client->calls);
    g_ptr_array_unref(client->streams);
    g_free(client->refused);
    g_main_context_unref(client->ctx);
    g_mutex_clear(&client->lock);
    g_free(client);
}

/* rpcServerClientUnref as a GDestroyNotify. */
static void
clientUnrefNotify(gpointer data)
{
    rpcServerClientUnref(data);
}

/* ---- small accessors ---- */

/* rpcServerClientIsReadonly: whether the client came through a
 * read-only listener. */
bool
rpcServerClientIsReadonly(rpcServerClient *client)
{
    return client->readonly;
}

/* rpcServerClientSetPrivate: attach the dispatcher's data, freed with
 * `freeFunc` (may be NULL) when the last reference goes. A previous
 * value is freed first. */
void
rpcServerClientSetPrivate(rpcServerClient *client, void *priv,
                          GDestroyNotify freeFunc)
{
    void *old;
    GDestroyNotify oldFree;

    g_mutex_lock(&client->lock);
    old = client->priv;
    oldFree = client->privFree;
    client->priv = priv;
    client->privFree = freeFunc;
    g_mutex_unlock(&client->lock);
    if (old && oldFree && old != priv)
        oldFree(old);
}

/* rpcServerClientGetPrivate: the dispatcher's data, or NULL. */
void *
rpcServerClientGetPrivate(rpcServerClient *client)
{
    void *priv;

    g_mutex_lock(&client->lock);
    priv = client->priv;
    g_mutex_unlock(&client->lock);
    return priv;
}

/* rpcServerClientCount: the clients connected now. */
unsigned int
rpcServerClientCount(rpcServer *srv)
{
    unsigned int n;

    g_mutex_lock(&srv->lock);
    n = srv->clients->len - srv->nrefused;
    g_mutex_unlock(&srv->lock);
    return n;
}

/* ---- output ---- */

/*
 * clientWakeLocked: make the context thread look at the client soon
 * (flush output, re-evaluate the watch). Coalesced: at most one wake
 * source is pending per client. client->lock is held.
 */
static void
clientWakeLocked(rpcServerClient *client)
{
    GSource *src;

    if (client->wakePending)
        return;
    client->wakePending = true;
    src = g_idle_source_new();
    g_source_set_priority(src, G_PRIORITY_DEFAULT);
    g_source_set_callback(src, clientWakeCallback, rpcServerClientRef(client),
                          clientUnrefNotify);
    g_source_attach(src, client->ctx);
    g_source_unref(src);
}

/*
 * takeCallLocked: remove from the calls in flight the one `call` answers
 * (the very header of a recorded message, else the first with the same
 * program, procedure and serial) and return it for freeing; NULL when
 * there is none. client->lock is held.
 */
static rpcMessage *
takeCallLocked(rpcServerClient *client, const rpcHeader *call)
{
    guint i;

    if (!call)
        return NULL;
    for (i = 0; i < client->calls->len; i++) {
        rpcMessage *m = g_ptr_array_index(client->calls, i);

        if (&m->header == call)
            return g_ptr_array_steal_index(client->calls, i);
    }
    for (i = 0; i < client->calls->len; i++) {
        rpcMessage *m = g_ptr_array_index(client->calls, i);

        if (m->header.serial == call->serial && m->header.proc == call->proc &&
            m->header.prog == call->prog)
            return g_ptr_array_steal_index(client->calls, i);
    }
    return NULL;
}

/*
 * clientWriteNowLocked: the worker that answers a call writes the reply
 * itself when it is all the client has to receive, saving the wake-up of
 * the context thread (on a busy machine, a sleeping thread takes tens to
 * hundreds of microseconds to run again). Only for a plain socket (a TLS
 * session is the context thread's), with nothing else that needs the
 * context thread: no stream, no close pending, its reading not paused by
 * the limit of calls in flight (`wasAtLimit`). Returns whether all of it
 * was written; otherwise the context thread writes the rest. Never
 * blocks. client->lock is held.
 */
static bool
clientWriteNowLocked(rpcServerClient *client, bool wasAtLimit)
{
    rpcMessage *m = g_queue_peek_head(&client->outq);
    ssize_t r;

    if (client->tls || wasAtLimit || client->closeWhenFlushed || client->streams->len > 0 ||
        g_queue_get_length(&client->outq) != 1 || client->outOffset != 0 || !client->stream)
        return false;
    do {
        r = client->stream->ops->write(client->stream, m->data, m->len);
    } while (r < 0 && errno == EINTR);
    if (r <= 0)
        return false;
    client->outOffset = r;
    client->outBytes -= r;
    if ((size_t)r < m->len)
        return false;
    g_queue_pop_head(&client->outq);
    rpcMessageFree(m);
    client->outOffset = 0;
    return true;
}

/*
 * clientSend: queue the encoded packet `msg` (taken over) for the
 * client; when it answers `call` (NULL for packets that answer no call
 * in flight, such as a PONG), the call stops counting as in flight. A
 * closed client drops the packet. Never blocks on the socket.
 */
static void
clientSend(rpcServerClient *client, const rpcHeader *call, rpcMessage *msg)
{
    g_autoptr(rpcMessage) answered = NULL;
    g_autoptr(rpcMessage) dropped = NULL;

    bool wasAtLimit;

    g_mutex_lock(&client->lock);
    wasAtLimit = client->maxCalls > 0 && client->calls->len >= client->maxCalls;
    answered = takeCallLocked(client, call);
    if (client->closed || client->overflow) {
        dropped = msg;
    } else if (client->outBytes > 0 && client->outBytes + msg->len > client->outputMax) {
        client->overflow = true;
        dropped = msg;
        g_queue_clear_full(&client->outq, (GDestroyNotify)rpcMessageFree);
        client->outBytes = 0;
        client->eventBytes = 0;
        client->streamBytes = 0;
        client->outOffset = 0;
        clientWakeLocked(client);
    } else {
        g_queue_push_tail(&client->outq, msg);
        client->outBytes += msg->len;
        if (msg->header.type == RPC_STREAM)
            client->streamBytes += msg->len;
        if (answered && msg->header.type == RPC_REPLY && msg->header.status == RPC_OK)
            streamAnsweredLocked(client, &answered->header);
        if (!answered || !clientWriteNowLocked(client, wasAtLimit))
            clientWakeLocked(client);
    }
    g_mutex_unlock(&client->lock);
}

/*
 * rpcServerClientReply: encode the successful reply to `call` (in the
 * calling thread) and queue it. Fails only when the payload cannot be
 * encoded; the call is then still unanswered.
 */
int
rpcServerClientReply(rpcServerClient *client, const rpcHeader *call,
                     xdrproc_t filter, void *data)
{
    rpcHeader hdr = {
        .prog = call->prog,
        .vers = call->vers,
        .proc = call->proc,
        .type = RPC_REPLY,
        .serial = call->serial,
        .status = RPC_OK,
    };
    rpcMessage *msg = rpcMessageEncode(&hdr, filter, data);

    if (!msg)
        return -1;
    clientSend(client, call, msg);
    return 0;
}

/* rpcServerClientSendEvent: see rpc.h. Events are bounded by `limit`
 * among themselves, so that a large reply being written does not count
 * against them, and with the replies by the client's cap, as a reply is. */
int
rpcServerClientSendEvent(rpcServerClient *client, rpcMessage *msg, size_t limit,
                         size_t *queued)
{
    g_autoptr(rpcMessage) dropped = NULL;
    int ret = 0;

    g_mutex_lock(&client->lock);
    if (client->closed || client->overflow) {
        dropped = msg;
    } else if (client->outBytes > 0 &&
               ((client->eventBytes > 0 && client->eventBytes + msg->len > limit) ||
                client->outBytes + msg->len > client->outputMax)) {
        *queued = client->outBytes;
        client->overflow = true;
        dropped = msg;
        g_queue_clear_full(&client->outq, (GDestroyNotify)rpcMessageFree);
        client->outBytes = 0;
        client->eventBytes = 0;
        client->streamBytes = 0;
        client->outOffset = 0;
        clientWakeLocked(client);
        ret = -1;
    } else {
        g_queue_push_tail(&client->outq, msg);
        client->outBytes += msg->len;
        client->eventBytes += msg->len;
        clientWakeLocked(client);
    }
    g_mutex_unlock(&client->lock);
    return ret;
}

/* rpcServerClientReplyError: encode the error reply to `call` and queue
 * it. Fails only when the error cannot be encoded. */
int
rpcServerClientReplyError(rpcServerClient *client, const rpcHeader *call,
                          const iovError *err)
{
    rpcMessage *msg = rpcMessageEncodeError(call, err);

    if (!msg)
        return -1;
    clientSend(client, call, msg);
    return 0;
}

/* rpcServerClientClose: close the client once its queued output is
 * written; nothing more is read from it. Any thread. */
void
rpcServerClientClose(rpcServerClient *client)
{
    g_mutex_lock(&client->lock);
    if (!client->closed) {
        client->closeWhenFlushed = true;
        clientWakeLocked(client);
    }
    g_mutex_unlock(&client->lock);
}

/*
 * clientFlush: write queued output until the socket would block. Returns
 * -1 when the socket failed (the caller closes the client). Context
 * thread.
 */
static int
clientFlush(rpcServerClient *client)
{
    rpcMessage *m;
    int ret = 0;

    g_mutex_lock(&client->lock);
    while ((m = g_queue_peek_head(&client->outq))) {
        ssize_t r = client->stream->ops->write(client->stream,
                                               m->data + client->outOffset,
                                               m->len - client->outOffset);

        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                g_debug("rpc server: write to client %p failed: %s", (void *)client, g_strerror(errno));
                ret = -1;
            }
            break;
        }
        client->lastActivity = g_get_monotonic_time();
        client->outOffset += r;
        client->outBytes -= r;
        if (client->outOffset == m->len) {
            g_queue_pop_head(&client->outq);
            if (m->header.type == RPC_MESSAGE && m->header.prog == RPC_REMOTE_PROGRAM)
                client->eventBytes -= m->len;
            else if (m->header.type == RPC_STREAM)
                client->streamBytes -= m->len;
            rpcMessageFree(m);
            client->outOffset = 0;
        }
    }
    g_mutex_unlock(&client->lock);
    return ret;
}

/*
 * clientService: the context thread's look at a client after something
 * happened: write what can be written, close it when it must go, else
 * set its watch to what it now waits for.
 */
static void
clientService(rpcServerClient *client)
{
    bool closeNow;

    g_mutex_lock(&client->lock);
    closeNow = client->closed || client->overflow;
    g_mutex_unlock(&client->lock);
    if (closeNow || clientFlush(client) < 0) {
        clientClose(client);
        return;
    }
    g_mutex_lock(&client->lock);
    closeNow = client->closeWhenFlushed && g_queue_is_empty(&client->outq);
    g_mutex_unlock(&client->lock);
    if (closeNow) {
        clientClose(client);
        return;
    }
    streamService(client);
    clientUpdateWatch(client);
    /* bytes read ahead, or TLS records already decrypted, which no poll
     * announces */
    if (clientHasBuffered(client) && clientMayRead(client)) {
        if (clientRead(client) < 0)
            clientClose(client);
        else
            clientUpdateWatch(client);
    }
}

/* The wake source of clientWakeLocked. */
static gboolean
clientWakeCallback(gpointer data)
{
    rpcServerClient *client = data;
    bool closed;

    g_mutex_lock(&client->lock);
    client->wakePending = false;
    closed = client->closed;
    g_mutex_unlock(&client->lock);
    if (!closed)
        clientService(client);
    return G_SOURCE_REMOVE;
}

/* ---- input ---- */

/* Queue a packet built by the server itself (not an answer to a call in
 * flight): a PONG or an error reply. */
static void
clientSendOwn(rpcServerClient *client, rpcMessage *msg)
{
    if (msg)
        clientSend(client, NULL, msg);
}

/* Answer a call to a program the server does not serve. */
static void
clientReplyNoProgram(rpcServerClient *client, const rpcHeader *call)
{
    g_autofree char *text = g_strdup_printf("Cannot find program %d version %d", (int)call->prog, (int)call->vers);
    iovError err = {
        .code = IOV_ERR_RPC,
        .domain = IOV_FROM_RPC,
        .message = text,
        .level = IOV_ERR_ERROR,
        .str2 = text,
        .int1 = -1,
        .int2 = -1,
    };

    clientSendOwn(client, rpcMessageEncodeError(call, &err));
}

/* Answer the first call of a client over a limit, then close it. */
static void
clientReplyRefused(rpcServerClient *client, const rpcHeader *call)
{
    iovError err = {
        .code = IOV_ERR_RESOURCE_BUSY,
        .domain = IOV_FROM_RPC,
        .level = IOV_ERR_ERROR,
        .str2 = client->refused,
        .int1 = -1,
        .int2 = -1,
    };

    err.message = g_strconcat(utilErrorPrefix(IOV_ERR_RESOURCE_BUSY), client->refused, NULL);
    clientSendOwn(client, rpcMessageEncodeError(call, &err));
    g_free(err.message);
    rpcServerClientClose(client);
}

/*
 * clientHandleTooLarge: a packet over the client's limit was announced;
 * `msg` (taken over) holds its header. A call is answered with an error
 * saying so (a refused client's with the reason of its refusal) and the
 * client is closed once that is sent: its body is never read. Returns -1
 * when the client must be closed at once (not a call).
 */
static int
clientHandleTooLarge(rpcServerClient *client, rpcMessage *msg)
{
    g_autoptr(rpcMessage) m = msg;
    g_autofree char *text = NULL;
    const rpcHeader *hdr = &m->header;
    iovError err = {
        .code = IOV_ERR_RPC,
        .domain = IOV_FROM_RPC,
        .level = IOV_ERR_ERROR,
        .int1 = -1,
        .int2 = -1,
    };

    g_debug("rpc server: client %p announced a packet of %zu bytes, over its limit of %zu", (void *)client, client->reader.bodyLen, client->reader.limit);
    if (hdr->type != RPC_CALL || hdr->prog == RPC_KEEPALIVE_PROGRAM)
        return -1;
    if (client->refused) {
        clientReplyRefused(client, hdr);
        return 0;
    }
    text = g_strdup_printf("packet of %zu bytes exceeds the maximum of %zu bytes on a read-only connection",
                           client->reader.bodyLen, client->reader.limit);
    err.message = text;
    err.str2 = text;
    clientSendOwn(client, rpcMessageEncodeError(hdr, &err));
    rpcServerClientClose(client);
    return 0;
}

/*
 * clientHandlePacket: act on one complete packet (taken over). Returns -1
 * when the client must be closed: an undecodable header, a packet that is
 * not a call, a call with a status. Keepalive is answered here; calls of
 * the programs of the table of calls (the remote one and iovirt's own) go
 * to the worker pool, except the quick ones that cb.dispatchQuick answers
 * here; other programs get an error.
 */
static int
clientHandlePacket(rpcServerClient *client, rpcMessage *msg)
{
    rpcServer *srv = client->srv;
    rpcHeader *hdr = &msg->header;
    const rpcProcInfo *info;
    rpcServerJob *job;

    if (rpcMessageDecodeHeader(msg->data, msg->len, hdr) < 0) {
        g_debug("rpc server: client %p: %s", (void *)client, utilGetError()->message);
        utilResetError();
        rpcMessageFree(msg);
        return -1;
    }

    if (hdr->prog == RPC_KEEPALIVE_PROGRAM) {
        clientSendOwn(client, rpcKeepaliveAnswer(hdr));
        rpcMessageFree(msg);
        return 0;
    }

    if (hdr->type == RPC_STREAM)
        return streamHandlePacket(client, msg);

    if (hdr->type != RPC_CALL || hdr->status != RPC_OK) {
        g_debug("rpc server: client %p sent a packet of type %d status %d, not a call", (void *)client, hdr->type, hdr->status);
        rpcMessageFree(msg);
        return -1;
    }

    if (!rpcProgramKnown(hdr->prog, hdr->vers)) {
        clientReplyNoProgram(client, hdr);
        rpcMessageFree(msg);
        return 0;
    }

    if (client->refused) {
        clientReplyRefused(client, hdr);
        rpcMessageFree(msg);
        return 0;
    }

    g_mutex_lock(&client->lock);
    g_ptr_array_add(client->calls, msg);
    g_mutex_unlock(&client->lock);

    /* answered here, `msg` is freed: hdr is not to be used after */
    if (srv->cb.dispatchQuick && (info = rpcProcLookup(hdr->prog, hdr->proc)) && info->quick &&
        srv->cb.dispatchQuick(srv, client, msg, srv->opaque))
        return 0;

    job = g_new0(rpcServerJob, 1);
    job->client = rpcServerClientRef(client);
    job->msg = msg;
    utilWorkPoolPush(srv->pool, job);
    return 0;
}

/* Whether the client has bytes read (by the packet reader or TLS) that
 * its socket no longer announces. Context thread. */
static bool
clientHasBuffered(rpcServerClient *client)
{
    return client->stream && rpcPacketReaderPending(&client->reader, client->stream) > 0;
}

/* Whether the client may have another call read now. */
static bool
clientMayRead(rpcServerClient *client)
{
    bool ok;

    g_mutex_lock(&client->lock);
    ok = !client->closed && !client->closeWhenFlushed && !client->overflow &&
         client->tlsState == 0 && client->streamsPaused == 0 &&
         (client->maxCalls == 0 || client->calls->len < client->maxCalls);
    g_mutex_unlock(&client->lock);
    return ok;
}

/*
 * clientRead: read packets while the socket has data, the client is
 * under its limit of calls in flight and the budget lasts. Returns -1
 * when the client must be closed (EOF, error, bad length or packet).
 */
static int
clientRead(rpcServerClient *client)
{
    unsigned int packets = 0;

    while (packets < RPC_SERVER_READ_BUDGET && clientMayRead(client)) {
        unsigned long long before = client->reader.bytes;
        rpcMessage *msg = NULL;
        rpcReadResult res = rpcPacketReaderRead(&client->reader, client->stream, &msg);

        if (client->reader.bytes != before) {
            client->lastActivity = client->lastInput = g_get_monotonic_time();
            client->pingsSent = 0;
        }
        switch (res) {
        case RPC_READ_AGAIN:
            return 0;
        case RPC_READ_EOF:
            g_debug("rpc server: client %p: end of file", (void *)client);
            return -1;
        case RPC_READ_ERROR:
            g_debug("rpc server: client %p: %s", (void *)client, utilGetError()->message);
            utilResetError();
            return -1;
        case RPC_READ_PACKET:
            packets++;
            if (clientHandlePacket(client, msg) < 0)
                return -1;
            /* the read that would only say EAGAIN is left to the poll */
            if (rpcPacketReaderDrained(&client->reader, client->stream))
                return 0;
            break;
        case RPC_READ_TOO_LARGE:
            return clientHandleTooLarge(client, msg);
        }
    }
    /* out of budget with bytes that no poll announces: come back soon */
    if (packets == RPC_SERVER_READ_BUDGET && clientHasBuffered(client)) {
        g_mutex_lock(&client->lock);
        clientWakeLocked(client);
        g_mutex_unlock(&client->lock);
    }
    return 0;
}

/* The socket watch of a client. */
static gboolean
clientIOCallback(gint fd G_GNUC_UNUSED, GIOCondition cond, gpointer data)
{
    rpcServerClient *client = rpcServerClientRef(data);

    if (client->tlsState == 1) {
        clientHandshake(client);
    } else if ((cond & G_IO_IN) && clientRead(client) < 0) {
        clientClose(client);
    } else if ((cond & (G_IO_HUP | G_IO_ERR)) && !(cond & G_IO_IN)) {
        /* gone while we were not reading, or a socket error */
        clientClose(client);
    } else {
        clientService(client);
    }
    rpcServerClientUnref(client);
    return G_SOURCE_CONTINUE;
}

/*
 * clientUpdateWatch: make the socket watch wait for what the client now
 * needs: input while it may read, output while some is queued. Context
 * thread.
 */
static void
clientUpdateWatch(rpcServerClient *client)
{
    GIOCondition cond = 0;
    bool closed;

    if (clientMayRead(client))
        cond |= G_IO_IN;
    if (client->tlsState == 1 && client->stream)
        cond |= rpcStreamTLSWantsWrite(client->stream) ? G_IO_OUT : G_IO_IN;
    g_mutex_lock(&client->lock);
    closed = client->closed;
    if (!g_queue_is_empty(&client->outq))
        cond |= G_IO_OUT;
    g_mutex_unlock(&client->lock);
    if (closed)
        cond = 0;

    if (client->watch && client->watchCond == cond)
        return;
    if (client->watch) {
        g_source_destroy(client->watch);
        g_source_unref(client->watch);
        client->watch = NULL;
    }
    client->watchCond = cond;
    if (cond == 0)
        return;
    client->watch = g_unix_fd_source_new(client->stream->ops->fd(client->stream), cond);
    /* never dispatched recursively; a source that may recurse is not
     * taken out of the poll set and put back around each dispatch (two
     * wake-ups of the loop per call read) */
    g_source_set_can_recurse(client->watch, TRUE);
    g_source_set_callback(client->watch, G_SOURCE_FUNC(clientIOCallback), client, NULL);
    g_source_attach(client->watch, client->ctx);
}

/*
 * clientClose: close the client now: drop its output, stop its watch,
 * close its stream, take it out of the server and tell the callbacks.
 * Idempotent. Context thread (or rpcServerFree).
 */
static void
clientClose(rpcServerClient *client)
{
    rpcServer *srv = client->srv;
    bool removed;
    bool anonymousLeft;

    g_mutex_lock(&client->lock);
    if (client->closed) {
        g_mutex_unlock(&client->lock);
        return;
    }
    client->closed = true;
    g_queue_clear_full(&client->outq, (GDestroyNotify)rpcMessageFree);
    client->outBytes = 0;
    client->eventBytes = 0;
    client->streamBytes = 0;
    client->outOffset = 0;
    g_mutex_unlock(&client->lock);
    streamCloseAll(client);

    if (client->watch) {
        g_source_destroy(client->watch);
        g_source_unref(client->watch);
        client->watch = NULL;
    }
    rpcStreamFree(g_steal_pointer(&client->stream));
    rpcPacketReaderClear(&client->reader);

    g_mutex_lock(&srv->lock);
    removed = g_ptr_array_remove(srv->clients, client);
    if (removed && client->tlsState != 0)
        srv->nanonymous--;
    anonymousLeft = removed && client->tlsState != 0;
    if (removed && client->refused)
        srv->nrefused--;
    else if (removed && client->readonly)
        srv->nreadonly--;
    g_mutex_unlock(&srv->lock);
    if (!removed)
        return;
    if (anonymousLeft)
        serverResumeListeners(srv);
    if (srv->cb.disconnected && !client->refused && client->tlsState == 0)
        srv->cb.disconnected(srv, client, srv->opaque);
    rpcServerClientUnref(client);
}

/* ---- workers ---- */

/* Run one call: dispatch it, unless its client is gone meanwhile (the
 * call is then dropped without running). */
static void
serverWorker(gpointer data, gpointer opaque)
{
    rpcServerJob *job = data;
    rpcServer *srv = opaque;
    rpcServerClient *client = job->client;
    g_autoptr(rpcMessage) dropped = NULL;

    g_mutex_lock(&client->lock);
    if (client->closed)
        dropped = takeCallLocked(client, &job->msg->header);
    g_mutex_unlock(&client->lock);

    if (!dropped)
        srv->cb.dispatch(srv, client, job->msg, srv->opaque);
    rpcServerClientUnref(client);
    g_free(job);
}

/* ---- accepting ---- */

/*
 * Take in the connection `fd`, unless the server is closing or the
 * connected callback refuses it. A client over maxClients, or a
 * read-only one over maxReadonlyClients, is taken in refused: its first
 * call is told why, and it goes within RPC_SERVER_REFUSED_LINGER. Beyond
 * MAX(16, maxClients) refused clients, more are closed at once. Context
 * thread.
 */
static void
serverAddClient(rpcServer *srv, int fd, bool readonly, rpcTLSContext *tls)
{
    rpcServerClient *client;
    g_autofree char *refused = NULL;
    bool full;

    g_mutex_lock(&srv->lock);
    full = srv->closing;
    if (!full && tls && srv->cfg.maxAnonymousClients > 0 &&
        srv->nanonymous >= srv->cfg.maxAnonymousClients) {
        g_debug(
            "rpc server: closing a TLS connection at once: %u clients are already in the handshake (max_anonymous_clients)",
            srv->nanonymous);
        full = true;
    }
    if (!full && srv->cfg.maxClients > 0 &&
        srv->clients->len - srv->nrefused >= srv->cfg.maxClients)
        refused = g_strdup_printf("too many clients: this daemon serves at most %u connections; try again later",
                                  srv->cfg.maxClients);
    else if (!full && readonly && srv->cfg.maxReadonlyClients > 0 &&
             srv->nreadonly >= srv->cfg.maxReadonlyClients)
        refused = g_strdup_printf("too many read-only clients: this daemon serves at most %u read-only connections; try again later",
                                  srv->cfg.maxReadonlyClients);
    if (refused && srv->nrefused >= MAX(16u, srv->cfg.maxClients))
        full = true;
    g_mutex_unlock(&srv->lock);
    if (full) {
        g_debug("rpc server: closing a connection at once: %s", refused ? refused : "the server is closing");
        close(fd);
        return;
    }

    client = g_new0(rpcServerClient, 1);
    client->refs = 1;
    client->srv = srv;
    client->ctx = g_main_context_ref(srv->ctx);
    client->readonly = readonly;
    client->refused = g_steal_pointer(&refused);
    client->maxCalls = srv->cfg.maxRequestsPerClient;
    client->outputMax = readonly ? RPC_SERVER_READONLY_OUTPUT_MAX : RPC_SERVER_OUTPUT_MAX;
    /* what a client may send is bounded by what it may call: a refused
     * client gets an error whatever it sends, so only a header is read */
    if (client->refused)
        client->reader.limit = RPC_LEN_LEN + RPC_HEADER_LEN;
    else if (readonly)
        client->reader.limit = RPC_LEN_LEN + RPC_READONLY_MESSAGE_MAX;
    if (tls) {
        int one = 1;

        /* a reply is one write: send it now, not after the peer's ACK */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    client->stream = tls ? rpcStreamNewTLS(tls, fd, NULL) : rpcStreamNewUnix(fd);
    client->tlsState = tls ? 1 : 0;
    client->tls = tls != NULL;
    client->lastActivity = g_get_monotonic_time();
    client->lastInput = client->acceptedAt = client->lastActivity;
    g_mutex_init(&client->lock);
    g_queue_init(&client->outq);
    client->calls = g_ptr_array_new_with_free_func((GDestroyNotify)rpcMessageFree);
    client->streams = g_ptr_array_new();

    if (!tls && !client->refused && srv->cb.connected &&
        !srv->cb.connected(srv, client, srv->opaque)) {
        clientClose(client);
        rpcServerClientUnref(client);
        return;
    }

    /* only this thread adds clients: the counts checked above still hold */
    g_mutex_lock(&srv->lock);
    g_ptr_array_add(srv->clients, client); /* takes our reference */
    if (tls)
        srv->nanonymous++;
    if (client->refused)
        srv->nrefused++;
    else if (readonly)
        srv->nreadonly++;
    g_mutex_unlock(&srv->lock);
    clientUpdateWatch(client);
}

/*
 * Whether a TLS listener must stop accepting because
 * max_anonymous_clients are in the handshake; if so it is paused (its
 * watch goes) and new connections wait in the kernel's backlog, as with
 * libvirtd, until serverResumeListeners. Context thread.
 */
static bool
listenerPauseIfFull(rpcListener *l)
{
    rpcServer *srv = l->srv;
    bool full;

    g_mutex_lock(&srv->lock);
    full = srv->cfg.maxAnonymousClients > 0 && srv->nanonymous >= srv->cfg.maxAnonymousClients;
    if (full && !l->paused) {
        g_debug("rpc server: %u clients in the TLS handshake: not accepting on %s for now",
                srv->nanonymous, l->path);
        l->paused = true;
    }
    g_mutex_unlock(&srv->lock);
    return full;
}

/* The accept watch of a listener: take every pending connection (a TLS
 * one: while there is room for clients in the handshake). */
static gboolean
listenerCallback(gint fd, GIOCondition cond G_GNUC_UNUSED, gpointer data)
{
    rpcListener *l = data;

    for (;;) {
        int cfd;

        if (l->tls && listenerPauseIfFull(l)) {
            /* the watch ends here; serverResumeListeners makes a new one */
            g_mutex_lock(&l->srv->lock);
            g_source_unref(l->source);
            l->source = NULL;
            g_mutex_unlock(&l->srv->lock);
            return G_SOURCE_REMOVE;
        }
        cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (cfd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                g_debug("rpc server: accept on '%s' failed: %s", l->path, g_strerror(errno));
            break;
        }
        serverAddClient(l->srv, cfd, l->readonly, l->tls);
    }
    return G_SOURCE_CONTINUE;
}

/* The accept watch of listener `l` on `fd`. Never dispatched recursively:
 * a source that may recurse stays in the poll set during its dispatch
 * (GLib otherwise takes it out and back in, two wakes of the loop). */
static GSource *
listenerWatchNew(rpcListener *l, int fd)
{
    GSource *src = g_unix_fd_source_new(fd, G_IO_IN);

    g_source_set_can_recurse(src, TRUE);
    g_source_set_callback(src, G_SOURCE_FUNC(listenerCallback), l, NULL);
    return src;
}

/* Whether a server answers at the unix socket `addr`. */
static bool
socketInUse(const struct sockaddr_un *addr)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool used;

    if (fd < 0)
        return false;
    used = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0;
    close(fd);
    return used;
}

/*
 * rpcServerAddUnixListener: listen at `path` with permissions `mode`. A
 * socket file nobody answers at is replaced; a live one, or a file of
 * another kind, is an error. Clients accepted here are read-only when
 * `readonly`.
 */
int
rpcServerAddUnixListener(rpcServer *srv, const char *path, int mode,
                         bool readonly)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    struct stat sb;
    rpcListener *l;
    int fd;

    if (strlen(path) >= sizeof(addr.sun_path)) {
        reportError(IOV_ERR_RPC, "socket path '%s' is too long (at most %zu bytes)", path, sizeof(addr.sun_path) - 1);
        return -1;
    }
    strcpy(addr.sun_path, path);

    if (lstat(path, &sb) == 0) {
        if (!S_ISSOCK(sb.st_mode)) {
            reportError(IOV_ERR_RPC, "cannot listen at '%s': the file exists and is not a socket", path);
            return -1;
        }
        if (socketInUse(&addr)) {
            reportError(IOV_ERR_RPC, "cannot listen at '%s': another server is listening there", path);
            return -1;
        }
        if (unlink(path) < 0 && errno != ENOENT) {
            reportSystemError(errno, "cannot remove the stale socket '%s'", path);
            return -1;
        }
    }

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        reportSystemError(errno, "cannot create a socket to listen at '%s'", path);
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        reportSystemError(errno, "cannot bind a socket to '%s'", path);
        close(fd);
        return -1;
    }
    if (chmod(path, mode) < 0) {
        reportSystemError(errno, "cannot set the permissions of socket '%s' to %o", path, (unsigned int)mode);
        close(fd);
        unlink(path);
        return -1;
    }
    if (listen(fd, SOMAXCONN) < 0) {
        reportSystemError(errno, "cannot listen at '%s'", path);
        close(fd);
        unlink(path);
        return -1;
    }

    l = g_new0(rpcListener, 1);
    l->srv = srv;
    l->fd = fd;
    l->path = g_strdup(path);
    l->readonly = readonly;
    l->source = listenerWatchNew(l, fd);

    g_mutex_lock(&srv->lock);
    g_ptr_array_add(srv->listeners, l);
    g_mutex_unlock(&srv->lock);
    g_source_attach(l->source, srv->ctx);
    return 0;
}

/* Stop a listener: no more accepting, the socket file goes. */
static void
listenerFree(gpointer data)
{
    rpcListener *l = data;

    if (l->source) {
        g_source_destroy(l->source);
        g_source_unref(l->source);
    }
    close(l->fd);
    if (!l->tls)
        unlink(l->path);
    g_free(l->path);
    g_free(l);
}

/* ---- TLS ---- */

/* Accept again on the TLS listeners paused by listenerPauseIfFull, now
 * that a client has left the handshake. Context thread. */
static void
serverResumeListeners(rpcServer *srv)
{
    guint i;

    g_mutex_lock(&srv->lock);
    for (i = 0; i < srv->listeners->len && !srv->closing; i++) {
        rpcListener *l = g_ptr_array_index(srv->listeners, i);

        if (!l->paused)
            continue;
        l->paused = false;
        l->source = listenerWatchNew(l, l->fd);
        g_source_attach(l->source, srv->ctx);
    }
    g_mutex_unlock(&srv->lock);
}

/* Queue raw bytes (not a packet): the TLS confirmation or refusal. */
static void
clientSendRaw(rpcServerClient *client, const char *data, size_t len)
{
    rpcMessage *msg = g_new0(rpcMessage, 1);

    msg->data = g_memdup2(data, len);
    msg->len = len;
    clientSend(client, NULL, msg);
}

/* Leave the anonymous state: `state` 0 (served) or 2 (refused).
 * Context thread. */
static void
clientSetTLSState(rpcServerClient *client, int state)
{
    rpcServer *srv = client->srv;

    bool left;

    g_mutex_lock(&srv->lock);
    left = state == 0 && client->tlsState != 0;
    if (left)
        srv->nanonymous--;
    client->tlsState = state;
    g_mutex_unlock(&srv->lock);
    if (left)
        serverResumeListeners(srv);
}

/*
 * clientHandshake: go on with a TLS client's handshake. Once it is done
 * and the certificate passes, the client is confirmed and connected;
 * when the certificate fails, it is told why (RPC_TLS_REFUSED, one line)
 * and closed once that is sent; a broken handshake closes it at once.
 * Context thread.
 */
static void
clientHandshake(rpcServerClient *client)
{
    rpcServer *srv = client->srv;
    int r = rpcStreamTLSHandshake(client->stream);

    if (r == 1) {
        clientUpdateWatch(client);
        return;
    }
    if (r < 0) {
        g_message("rpc server: TLS client %p: %s", (void *)client, utilGetError()->message);
        utilResetError();
        clientClose(client);
        return;
    }
    if (rpcStreamTLSCheckPeer(client->stream) < 0) {
        g_autofree char *line = g_strdup_printf("%c%s\n", RPC_TLS_REFUSED, utilGetError()->message);

        g_warning("refused a TLS client: %s", utilGetError()->message);
        utilResetError();
        clientSetTLSState(client, 2);
        clientSendRaw(client, line, strlen(line + 1) + 1);
        rpcServerClientClose(client);
        return;
    }
    g_message("rpc server: TLS client %p is '%s'", (void *)client,
              rpcStreamTLSPeerDN(client->stream));
    if (!client->refused && srv->cb.connected && !srv->cb.connected(srv, client, srv->opaque)) {
        /* still anonymous, so never announced: no disconnected callback */
        clientClose(client);
        return;
    }
    clientSetTLSState(client, 0);
    {
        const char confirm = RPC_TLS_CONFIRM;

        clientSendRaw(client, &confirm, 1);
    }
    client->lastInput = g_get_monotonic_time();
    clientService(client);
}

/*
 * rpcServerAddTLSListener: listen on `addr` (every address when NULL or
 * empty) at `port`, one socket per address found, each answered with TLS.
 */
int
rpcServerAddTLSListener(rpcServer *srv, const char *addr, const char *port, rpcTLSContext *tls)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC,
        .ai_socktype = SOCK_STREAM,
        .ai_flags = AI_PASSIVE | AI_ADDRCONFIG,
    };
    struct addrinfo *res = NULL, *ai;
    int added = 0;
    int saved = 0;
    int r;

    if ((r = getaddrinfo(addr && *addr ? addr : NULL, port, &hints, &res)) != 0) {
        reportError(IOV_ERR_CONFIG_UNSUPPORTED, "cannot resolve listen_addr '%s' port '%s': %s",
                    addr ? addr : "", port, gai_strerror(r));
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        char host[NI_MAXHOST] = "", serv[NI_MAXSERV] = "";
        int one = 1;
        rpcListener *l;
        int fd =
            socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);

        if (fd < 0) {
            saved = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (ai->ai_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0) {
            saved = errno;
            close(fd);
            continue;
        }
        getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof(host), serv, sizeof(serv),
                    NI_NUMERICHOST | NI_NUMERICSERV);
        l = g_new0(rpcListener, 1);
        l->srv = srv;
        l->fd = fd;
        l->path = g_strdup_printf(ai->ai_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, serv);
        l->tls = tls;
        l->source = listenerWatchNew(l, fd);
        g_mutex_lock(&srv->lock);
        g_ptr_array_add(srv->listeners, l);
        g_mutex_unlock(&srv->lock);
        g_source_attach(l->source, srv->ctx);
        added++;
    }
    freeaddrinfo(res);
    if (added == 0) {
        reportError(IOV_ERR_SYSTEM_ERROR, "cannot listen for TLS on '%s' port %s: %s",
                    addr && *addr ? addr : "*", port, g_strerror(saved ? saved : EADDRNOTAVAIL));
        return -1;
    }
    return 0;
}

/* ---- keepalive ---- */

/* rpcServerClientStartKeepalive: the client asked for keepalive (it
 * answers PINGs even when idle). Any thread. */
void
rpcServerClientStartKeepalive(rpcServerClient *client)
{
    g_atomic_int_set(&client->keepalive, 1);
}

/*
 * clientKeepaliveCheck: for a client that asked for keepalive, send a
 * PING after each keepaliveInterval of silence; -1 when it has been
 * silent for interval × (count + 1): it is dead. Context thread, with
 * srv->lock held (it only queues output).
 */
static int
clientKeepaliveCheck(rpcServer *srv, rpcServerClient *c, gint64 now)
{
    gint64 interval = (gint64)srv->cfg.keepaliveInterval * G_USEC_PER_SEC;
    rpcHeader ping = {
        .prog = RPC_KEEPALIVE_PROGRAM,
        .vers = RPC_KEEPALIVE_VERSION,
        .proc = RPC_KEEPALIVE_PING,
        .type = RPC_MESSAGE,
        .status = RPC_OK,
    };

    if (interval <= 0 || c->tlsState != 0 || c->refused || !g_atomic_int_get(&c->keepalive))
        return 0;
    if (now - c->lastInput >= interval * (gint64)(srv->cfg.keepaliveCount + 1)) {
        g_message("rpc server: client %p sent nothing for %" G_GINT64_FORMAT
                  " s and answered none of %u keepalive PINGs: closing it",
                  (void *)c, (now - c->lastInput) / G_USEC_PER_SEC, c->pingsSent);
        return -1;
    }
    if (now - c->lastInput >= interval * (gint64)(c->pingsSent + 1) &&
        c->pingsSent < srv->cfg.keepaliveCount) {
        c->pingsSent++;
        clientSendOwn(c, rpcMessageEncode(&ping, NULL, NULL));
    }
    return 0;
}

/* ---- idle clients ---- */

/* Close the clients that have been silent, with nothing in flight and
 * nothing to write, for the idle timeout. Context thread. */
static gboolean
serverIdleCheck(gpointer data)
{
    rpcServer *srv = data;
    gint64 limit = (gint64)srv->cfg.idleTimeoutSec * G_USEC_PER_SEC;
    gint64 now = g_get_monotonic_time();
    g_autoptr(GPtrArray) idle = g_ptr_array_new_with_free_func(clientUnrefNotify);
    guint i;

    g_mutex_lock(&srv->lock);
    for (i = 0; i < srv->clients->len; i++) {
        rpcServerClient *c = g_ptr_array_index(srv->clients, i);
        bool quiet;

        g_mutex_lock(&c->lock);
        /* a refused client goes after the linger whatever it does, so
         * that trickling bytes does not keep it */
        quiet = (c->refused && now - c->acceptedAt >= RPC_SERVER_REFUSED_LINGER) ||
                (c->calls->len == 0 && c->outBytes == 0 && limit > 0 &&
                 now - c->lastActivity >= limit);
        g_mutex_unlock(&c->lock);
        if (c->tlsState != 0 && srv->cfg.handshakeTimeoutSec > 0 &&
            now - c->acceptedAt >= (gint64)srv->cfg.handshakeTimeoutSec * G_USEC_PER_SEC) {
            g_debug("rpc server: client %p did not complete the TLS handshake within %u s",
                    (void *)c, srv->cfg.handshakeTimeoutSec);
            quiet = true;
        }
        if (!quiet && clientKeepaliveCheck(srv, c, now) < 0)
            quiet = true;
        if (quiet)
            g_ptr_array_add(idle, rpcServerClientRef(c));
    }
    g_mutex_unlock(&srv->lock);

    for (i = 0; i < idle->len; i++) {
        g_debug("rpc server: closing idle client %p", g_ptr_array_index(idle, i));
        clientClose(g_ptr_array_index(idle, i));
    }
    return G_SOURCE_CONTINUE;
}

/* ---- the server ---- */

/*
 * rpcServerNew: a server doing its I/O in `ctx` (referenced) and running
 * calls in cfg->workers threads (at least one). cb->dispatch is
 * required; limits of 0 mean none.
 */
rpcServer *
rpcServerNew(GMainContext *ctx, const rpcServerConfig *cfg,
             const rpcServerCallbacks *cb, void *opaque)
{
    rpcServer *srv = g_new0(rpcServer, 1);
    g_autoptr(GError) gerr = NULL;

    srv->ctx = g_main_context_ref(ctx);
    srv->cfg = *cfg;
    srv->cb = *cb;
    srv->opaque = opaque;
    g_mutex_init(&srv->lock);
    srv->clients = g_ptr_array_new();
    srv->listeners = g_ptr_array_new_with_free_func(listenerFree);
    /* exclusive: the workers start now and stay, so that the daemon's
     * threads (and their memory) do not come and go with the load */
    srv->pool = utilWorkPoolNew("rpc-worker", serverWorker, srv,
                                cfg->workers > 0 ? cfg->workers : 1, &gerr);
    if (!srv->pool) {
        reportError(IOV_ERR_INTERNAL_ERROR, "cannot start %u worker threads: %s", cfg->workers, gerr->message);
        g_ptr_array_unref(srv->listeners);
        g_ptr_array_unref(srv->clients);
        g_mutex_clear(&srv->lock);
        g_main_context_unref(srv->ctx);
        g_free(srv);
        return NULL;
    }

    /* the check also closes refused clients once their time is up */
    {
        guint interval = cfg->idleTimeoutSec > 0 ? MIN(1000u, cfg->idleTimeoutSec * 250u) : 1000u;

        srv->idleTimer = g_timeout_source_new(interval);
        g_source_set_callback(srv->idleTimer, serverIdleCheck, srv, NULL);
        g_source_attach(srv->idleTimer, ctx);
    }
    return srv;
}

/*
 * rpcServerFree: stop listening (the socket files are removed), close
 * every client (disconnected runs for each), then let the workers finish
 * the calls already queued (their replies are dropped) and join them.
 * Call it from the context thread, or once nobody iterates the context.
 * NULL is fine.
 */
void
rpcServerFree(rpcServer *srv)
{
    g_autoptr(GPtrArray) clients = NULL;
    guint i;

    if (!srv)
        return;

    g_mutex_lock(&srv->lock);
    srv->closing = true;
    g_mutex_unlock(&srv->lock);

    if (srv->idleTimer) {
        g_source_destroy(srv->idleTimer);
        g_source_unref(srv->idleTimer);
    }
    g_ptr_array_set_size(srv->listeners, 0);

    g_mutex_lock(&srv->lock);
    clients = g_ptr_array_new_with_free_func(clientUnrefNotify);
    for (i = 0; i < srv->clients->len; i++)
        g_ptr_array_add(clients, rpcServerClientRef(g_ptr_array_index(srv->clients, i)));
    g_mutex_unlock(&srv->lock);
    for (i = 0; i < clients->len; i++)
        clientClose(g_ptr_array_index(clients, i));

    utilWorkPoolFree(srv->pool);

    g_ptr_array_unref(srv->listeners);
    g_ptr_array_unref(srv->clients);
    g_mutex_clear(&srv->lock);
    g_main_context_unref(srv->ctx);
    g_free(srv);
}

/* ---- streams ----
 *
 * A stream carries data after a call that opened it (libvirt's STREAM
 * packets: same program, procedure and serial as the call). Its life:
 *
 *   opening  rpcServerStreamNew by the call's handler: registered, so
 *            that the client's packets find it, but silent until the
 *            call's reply is queued (streamAnsweredLocked);
 *   open     cb->start has run: both ways, CONTINUE packets of data;
 *   eof      rpcServerStreamSendEOF: the server's end sent (an empty
 *            CONTINUE, as libvirt's daemon sends it);
 *            the client's data is dropped from now on;
 *   done     the client finished (OK) or aborted (ERROR) and was sent its
 *            empty OK confirmation, the client went away (cb->ended runs
 *            in both cases), or rpcServerStreamSendError ended it (no
 *            callback): unregistered; later packets are dropped, as
 *            libvirt's daemon drops stream packets it no longer expects.
 *
 * Flow: what the client has not read of every stream of it is bounded by
 * RPC_SERVER_STREAM_OUTPUT_MAX, which the producer checks with
 * rpcServerStreamWritable (told by cb->writable when it may go on);
 * input is paused by the consumer (rpcServerStreamPauseInput), which
 * stops reading the client's socket until resumed.
 *
 * Callbacks run in the context thread, without any lock of the server;
 * the state below is guarded by the client's lock.
 */

typedef enum {
    STREAM_OPENING = 0,
    STREAM_OPEN,
    STREAM_EOF,
    STREAM_DONE,
} streamState;

struct _rpcServerStream {
    gint refs;               /* atomic */
    rpcServerClient *client; /* a reference */
    rpcHeader call;          /* prog, vers, proc, serial of the call */
    rpcServerStreamCallbacks cb;
    void *opaque; /* not owned */
    /* client->lock */
    streamState state;
    bool startPending; /* the reply went out: cb->start to run */
    bool wantWritable; /* cb->writable to run once under the bound */
    bool paused;       /* counted in client->streamsPaused */
};

rpcServerStream *
rpcServerStreamRef(rpcServerStream *st)
{
    g_atomic_int_inc(&st->refs);
    return st;
}

void
rpcServerStreamUnref(rpcServerStream *st)
{
    if (!st || !g_atomic_int_dec_and_test(&st->refs))
        return;
    rpcServerClientUnref(st->client);
    g_free(st);
}

rpcServerStream *
rpcServerStreamNew(rpcServerClient *client, const rpcHeader *call,
                   const rpcServerStreamCallbacks *cb, void *opaque)
{
    rpcServerStream *st = g_new0(rpcServerStream, 1);

    st->refs = 2; /* the caller's and the client's list's */
    st->client = rpcServerClientRef(client);
    st->call = *call;
    st->cb = *cb;
    st->opaque = opaque;
    g_mutex_lock(&client->lock);
    if (client->closed) {
        g_mutex_unlock(&client->lock);
        rpcServerClientUnref(st->client);
        g_free(st);
        reportError(IOV_ERR_RPC, "the client of the stream has gone");
        return NULL;
    }
    g_ptr_array_add(client->streams, st);
    g_mutex_unlock(&client->lock);
    return st;
}

/* Unregister `st` (client->lock held); returns the list's reference. */
static rpcServerStream *
streamRemoveLocked(rpcServerClient *client, rpcServerStream *st)
{
    if (st->paused) {
        st->paused = false;
        client->streamsPaused--;
        clientWakeLocked(client);
    }
    st->state = STREAM_DONE;
    if (!g_ptr_array_remove_fast(client->streams, st))
        return NULL;
    return st;
}

/* The reply to `call` was queued: a stream it opened may start.
 * client->lock held. */
static void
streamAnsweredLocked(rpcServerClient *client, const rpcHeader *call)
{
    guint i;

    for (i = 0; i < client->streams->len; i++) {
        rpcServerStream *st = g_ptr_array_index(client->streams, i);

        if (st->state == STREAM_OPENING && st->call.serial == call->serial &&
            st->call.proc == call->proc && st->call.prog == call->prog) {
            st->state = STREAM_OPEN;
            st->startPending = true;
        }
    }
}

/* Run what the client's streams wait for: start, writable. Context
 * thread, no lock held. */
static void
streamService(rpcServerClient *client)
{
    g_autoptr(GPtrArray) start =
        g_ptr_array_new_with_free_func((GDestroyNotify)rpcServerStreamUnref);
    g_autoptr(GPtrArray) writable =
        g_ptr_array_new_with_free_func((GDestroyNotify)rpcServerStreamUnref);
    guint i;

    g_mutex_lock(&client->lock);
    for (i = 0; i < client->streams->len; i++) {
        rpcServerStream *st = g_ptr_array_index(client->streams, i);

        if (st->startPending) {
            st->startPending = false;
            g_ptr_array_add(start, rpcServerStreamRef(st));
        } else if (st->wantWritable && client->streamBytes < RPC_SERVER_STREAM_OUTPUT_MAX) {
            st->wantWritable = false;
            g_ptr_array_add(writable, rpcServerStreamRef(st));
        }
    }
    g_mutex_unlock(&client->lock);
    for (i = 0; i < start->len; i++) {
        rpcServerStream *st = g_ptr_array_index(start, i);

        if (st->cb.start)
            st->cb.start(st, st->opaque);
    }
    for (i = 0; i < writable->len; i++) {
        rpcServerStream *st = g_ptr_array_index(writable, i);

        if (st->cb.writable)
            st->cb.writable(st, st->opaque);
    }
}

/* Queue a STREAM packet of `st` with `status` and `len` raw bytes. */
static int
streamQueue(rpcServerStream *st, int status, const char *data, size_t len)
{
    rpcHeader hdr = st->call;
    rpcMessage *msg;

    hdr.type = RPC_STREAM;
    hdr.status = status;
    msg = rpcMessageEncodeRaw(&hdr, data, len);
    if (!msg)
        return -1;
    clientSend(st->client, NULL, msg);
    return 0;
}

int
rpcServerStreamSendData(rpcServerStream *st, const char *data, size_t len)
{
    bool open;

    g_mutex_lock(&st->client->lock);
    open = st->state == STREAM_OPEN && !st->client->closed;
    g_mutex_unlock(&st->client->lock);
    if (!open) {
        reportError(IOV_ERR_RPC, "stream is closed");
        return -1;
    }
    while (len > 0) {
        size_t n = MIN(len, RPC_STREAM_PACKET_MAX);

        if (streamQueue(st, RPC_CONTINUE, data, n) < 0)
            return -1;
        data += n;
        len -= n;
    }
    return 0;
}

bool
rpcServerStreamWritable(rpcServerStream *st)
{
    bool ok;

    g_mutex_lock(&st->client->lock);
    ok = st->client->streamBytes < RPC_SERVER_STREAM_OUTPUT_MAX;
    if (!ok)
        st->wantWritable = true;
    g_mutex_unlock(&st->client->lock);
    return ok;
}

size_t
rpcServerClientStreamQueued(rpcServerClient *client)
{
    size_t n;

    g_mutex_lock(&client->lock);
    n = client->streamBytes;
    g_mutex_unlock(&client->lock);
    return n;
}

int
rpcServerStreamSendEOF(rpcServerStream *st)
{
    bool open;

    g_mutex_lock(&st->client->lock);
    open = st->state == STREAM_OPEN;
    if (open)
        st->state = STREAM_EOF;
    g_mutex_unlock(&st->client->lock);
    if (!open)
        return 0;
    /* libvirt's end of data is an empty CONTINUE; an OK only confirms
     * the client's finish (its client takes any other OK as an error) */
    return streamQueue(st, RPC_CONTINUE, NULL, 0);
}

void
rpcServerStreamSendError(rpcServerStream *st, const iovError *err)
{
    g_autoptr(rpcServerStream) removed = NULL;
    rpcMessage *msg = NULL;
    bool send;

    g_mutex_lock(&st->client->lock);
    send = st->state == STREAM_OPEN || st->state == STREAM_EOF;
    if (st->state != STREAM_DONE)
        removed = streamRemoveLocked(st->client, st);
    g_mutex_unlock(&st->client->lock);
    if (!send)
        return;
    msg = rpcMessageEncodeErrorOfType(&st->call, RPC_STREAM, err);
    if (!msg)
        return;
    clientSend(st->client, NULL, msg);
}

void
rpcServerStreamPauseInput(rpcServerStream *st, bool pause)
{
    rpcServerClient *client = st->client;

    g_mutex_lock(&client->lock);
    if (st->state != STREAM_DONE && st->paused != pause) {
        st->paused = pause;
        if (pause) {
            client->streamsPaused++;
        } else {
            client->streamsPaused--;
            clientWakeLocked(client);
        }
    }
    g_mutex_unlock(&client->lock);
}

/*
 * streamHandlePacket: a STREAM packet from the client (taken over).
 * CONTINUE gives its data to the stream; OK (finish) and ERROR (abort)
 * are confirmed with an empty OK, as libvirt's daemon does, and end the
 * stream. A packet for no open stream is dropped. Context thread.
 */
static int
streamHandlePacket(rpcServerClient *client, rpcMessage *msg)
{
    g_autoptr(rpcMessage) m = msg;
    g_autoptr(rpcServerStream) st = NULL;
    g_autoptr(rpcServerStream) removed = NULL;
    const rpcHeader *hdr = &m->header;
    guint i;

    g_mutex_lock(&client->lock);
    for (i = 0; i < client->streams->len; i++) {
        rpcServerStream *s = g_ptr_array_index(client->streams, i);

        if (s->call.prog == hdr->prog && s->call.vers == hdr->vers && s->call.proc == hdr->proc &&
            s->call.serial == hdr->serial && s->state != STREAM_OPENING) {
            st = rpcServerStreamRef(s);
            break;
        }
    }
    if (st && hdr->status != RPC_CONTINUE)
        removed = streamRemoveLocked(client, st);
    else if (st && st->state != STREAM_OPEN)
        g_clear_pointer(&st, rpcServerStreamUnref);
    g_mutex_unlock(&client->lock);

    if (!st) {
        g_debug(
            "rpc server: client %p: stream packet for no open stream (proc %d serial %u) dropped",
            (void *)client, hdr->proc, hdr->serial);
        return 0;
    }
    if (hdr->status == RPC_CONTINUE) {
        size_t off = RPC_LEN_LEN + RPC_HEADER_LEN;

        if (st->cb.data && m->len > off)
            st->cb.data(st, m->data + off, m->len - off, st->opaque);
        return 0;
    }
    if (streamQueue(st, RPC_OK, NULL, 0) < 0)
        return -1;
    if (st->cb.ended)
        st->cb.ended(st, hdr->status == RPC_OK ? false : true, st->opaque);
    return 0;
}

/* The client is closing: end every stream it has (cb->ended). */
static void
streamCloseAll(rpcServerClient *client)
{
    g_autoptr(GPtrArray) ended =
        g_ptr_array_new_with_free_func((GDestroyNotify)rpcServerStreamUnref);
    guint i;

    g_mutex_lock(&client->lock);
    while (client->streams->len > 0) {
        rpcServerStream *st = g_ptr_array_index(client->streams, 0);

        g_ptr_array_add(ended, streamRemoveLocked(client, st));
    }
    client->streamsPaused = 0;
    g_mutex_unlock(&client->lock);
    for (i = 0; i < ended->len; i++) {
        rpcServerStream *st = g_ptr_array_index(ended, i);

        if (st->cb.ended)
            st->cb.ended(st, true, st->opaque);
    }
}

/* rpcServerClientGetContext: the context the client's I/O runs in. */
GMainContext *
rpcServerClientGetContext(rpcServerClient *client)
{
    return client->ctx;
}
