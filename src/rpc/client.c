/*
 * client.c: the client side of libvirt's remote protocol
 *
 * Several threads may call on one client at once. Each call gets the next
 * serial (the first is 0), queues its encoded packet and waits for the
 * reply carrying its (program, version, serial).
 *
 * At most one thread at a time does the socket I/O (it "holds the
 * buck"): it polls the socket and a wake-up pipe, writes queued packets,
 * reads packets and hands each reply to the call waiting for it,
 * answering keepalive PINGs on the way. When its own reply has arrived
 * it gives the buck up and wakes the others, one of which takes it over
 * if it still waits. Threads without the buck sleep on a condition
 * variable. The socket is non-blocking and the lock is released while
 * polling only, so no thread waits for another without a reason.
 *
 * Events (packets of type MESSAGE of the remote program) are kept only
 * once rpcClientSetEventHandler was called: the buck holder queues them
 * (`events`) and the client's event thread hands them to the handler,
 * without the lock and without the buck, so a handler may make calls.
 * When no call is in progress, that thread holds the buck itself, so
 * events arrive with nobody calling.
 *
 * Keepalive: while a call waits, or the event thread listens, a server
 * silent for the keepalive interval is sent a PING, and one silent for
 * interval × (count + 1) is taken for gone (a host that vanished, a
 * daemon stopped): the call fails instead of hanging. Without events,
 * nobody reads the socket between calls, so the client never asks the
 * server to ping it.
 *
 * Anything that breaks the protocol, the end of the stream, or a timeout
 * closes the connection for good: the calls waiting fail, later calls
 * fail at once, and rpcClientIsOpen turns false.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>


#include "rpc.h"
#include "util/error.h"

#define IOV_FROM_THIS IOV_FROM_RPC

/* One call waiting for its reply; lives on the caller's stack. */
typedef struct {
    uint32_t prog;
    uint32_t vers;
    uint32_t serial;
    int32_t proc;
    rpcMessage *reply; /* owned once delivered */
    bool listener;     /* the event thread: no reply; it gives the buck
                        * up when an event is queued or it must stop */
    bool flush;        /* no reply: done once the output is written */
    rpcClientStream *stream; /* no reply: done once the stream has
                              * something (streamReadyLocked) */
} rpcClientPending;

struct _rpcClient {
    rpcStream *stream;         /* owned */
    int wakeFd;                /* owned: an eventfd that interrupts the
                                  poll, or -1 */

    GMutex lock;
    GCond cond;                /* a reply was delivered, the buck was given
                                  up, or the connection closed */
    unsigned int waiters;      /* lock: threads waiting on cond (a wake-up
                                  with none costs a system call) */
    uint32_t serial;           /* lock: the serial of the next call */
    bool closed;               /* lock */
    char *closeReason;         /* lock: why it closed ("connection closed ...") */
    bool ioBusy;               /* lock: a thread holds the buck */
    GQueue outq;               /* lock: rpcMessage to write, owned */
    size_t outOffset;          /* lock: bytes of the head already written */
    GPtrArray *pending;        /* lock: rpcClientPending, not owned */

    /* the buck holder only: the packet being read */
    rpcPacketReader reader;    /* the packet being read */

    gint64 kaIntervalUs;    /* keepalive interval; 0: off */
    unsigned int kaCount;   /* PINGs unanswered before giving up */
    gint64 lastRecv;        /* lock: monotonic time of the last byte
                             * read, or of the start of a wait */
    unsigned int pingsSent; /* lock: PINGs since then */
    /* events: eventFunc and eventOpaque are set once, before the thread */
    rpcClientEventFunc eventFunc;
    void *eventOpaque;
    GThread *eventThread; /* owned, or NULL */
    bool eventStop;       /* lock: rpcClientFree asks the thread to end */
    GQueue events;        /* lock: rpcMessage waiting for the handler, owned */
    GPtrArray *streams;   /* lock: rpcClientStream open, not owned */
};

static void clientWakeIO(rpcClient *client);
static void clientWakeWaiters(rpcClient *client);
static bool streamReadyLocked(rpcClientStream *st);
static void streamPacketLocked(rpcClient *client, rpcMessage *msg);

/*
 * rpcClientNew: a client over `stream`, which it owns from now on. The
 * stream must be non-blocking (rpcStreamNewUnix makes it so).
 */
rpcClient *
rpcClientNew(rpcStream *stream)
{
    rpcClient *client = g_new0(rpcClient, 1);

    client->stream = stream;
    /* -1 only when out of descriptors: then the socket is polled alone */
    client->wakeFd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    g_mutex_init(&client->lock);
    g_cond_init(&client->cond);
    g_queue_init(&client->outq);
    client->pending = g_ptr_array_new();
    client->streams = g_ptr_array_new();
    client->kaIntervalUs = 5 * G_USEC_PER_SEC;
    client->kaCount = 5;
    return client;
}

/* rpcClientSetKeepalive: see rpc.h. */
void
rpcClientSetKeepalive(rpcClient *client, int intervalSec, unsigned int count)
{
    g_mutex_lock(&client->lock);
    client->kaIntervalUs = intervalSec > 0 ? (gint64)intervalSec * G_USEC_PER_SEC : 0;
    client->kaCount = count;
    g_mutex_unlock(&client->lock);
}

/*
 * rpcClientFree: close the connection and free the client. No call may
 * be in progress on it. NULL is fine.
 */
void
rpcClientFree(rpcClient *client)
{
    if (!client)
        return;
    if (client->eventThread) {
        g_mutex_lock(&client->lock);
        client->eventStop = true;
        clientWakeWaiters(client);
        g_mutex_unlock(&client->lock);
        clientWakeIO(client);
        g_thread_join(client->eventThread);
    }
    g_queue_clear_full(&client->events, (GDestroyNotify)rpcMessageFree);
    rpcStreamFree(client->stream);
    if (client->wakeFd >= 0)
        close(client->wakeFd);
    g_queue_clear_full(&client->outq, (GDestroyNotify)rpcMessageFree);
    g_ptr_array_unref(client->pending);
    g_ptr_array_unref(client->streams);
    g_free(client->closeReason);
    rpcPacketReaderClear(&client->reader);
    g_cond_clear(&client->cond);
    g_mutex_clear(&client->lock);
    g_free(client);
}

/* rpcClientIsOpen: false once the connection has ended. */
bool
rpcClientIsOpen(rpcClient *client)
{
    bool open;

    g_mutex_lock(&client->lock);
    open = !client->closed;
    g_mutex_unlock(&client->lock);
    return open;
}

/* Interrupt the buck holder's poll. */
static void
clientWakeIO(rpcClient *client)
{
    uint64_t one = 1;

    if (client->wakeFd >= 0 && write(client->wakeFd, &one, sizeof(one)) < 0) {
        /* the counter is full: a wake-up is pending anyway */
    }
}

/* Wait on cond until woken, or until `deadline` (monotonic µs; -1 for
 * none) passes: false then. lock held. */
static bool
clientCondWait(rpcClient *client, gint64 deadline)
{
    bool woken = true;

    client->waiters++;
    if (deadline < 0)
        g_cond_wait(&client->cond, &client->lock);
    else
        woken = g_cond_wait_until(&client->cond, &client->lock, deadline);
    client->waiters--;
    return woken;
}

/* Wake every thread waiting on cond, if any. lock held. */
static void
clientWakeWaiters(rpcClient *client)
{
    if (client->waiters > 0)
        g_cond_broadcast(&client->cond);
}

/*
 * clientBreakLocked: close the connection for good because of `reason`
 * (taken over; it starts with "connection closed"): the socket is shut
 * down so that the server and the buck holder notice, and every waiter
 * is woken. lock is held.
 */
static void
clientBreakLocked(rpcClient *client, char *reason)
{
    if (client->closed) {
        g_free(reason);
        return;
    }
    client->closed = true;
    client->closeReason = reason;
    shutdown(client->stream->ops->fd(client->stream), SHUT_RDWR);
    clientWakeIO(client);
    clientWakeWaiters(client);
}

/* Report the reason the connection closed, for a failing call. */
static void
reportClosedLocked(rpcClient *client)
{
    reportError(IOV_ERR_RPC, "%s", client->closeReason ? client->closeReason : "connection closed");
}

/* Queue an encoded packet (taken over) for the buck holder to write. */
static void
clientQueueLocked(rpcClient *client, rpcMessage *msg)
{
    g_queue_push_tail(&client->outq, msg);
    if (client->ioBusy)
        clientWakeIO(client);
}

/*
 * clientHandlePacketLocked: act on one packet from the server (taken
 * over): deliver a reply to its call, answer a PING, ignore PONGs and
 * events. Returns -1 when the packet breaks the protocol (the connection
 * is then closed). The buck holder, lock held.
 */
static int
clientHandlePacketLocked(rpcClient *client, rpcMessage *msg)
{
    rpcHeader *hdr = &msg->header;
    guint i;

    if (rpcMessageDecodeHeader(msg->data, msg->len, hdr) < 0) {
        clientBreakLocked(client, g_strdup_printf("connection closed after a bad packet from the server: %s", utilGetError()->message));
        utilResetError();
        rpcMessageFree(msg);
        return -1;
    }

    if (hdr->prog == RPC_KEEPALIVE_PROGRAM) {
        rpcMessage *reply = rpcKeepaliveAnswer(hdr);

        if (reply)
            clientQueueLocked(client, reply);
        rpcMessageFree(msg);
        return 0;
    }

    switch (hdr->type) {
    case RPC_REPLY:
        for (i = 0; i < client->pending->len; i++) {
            rpcClientPending *p = g_ptr_array_index(client->pending, i);

            if (!p->reply && p->prog == hdr->prog && p->vers == hdr->vers &&
                p->serial == hdr->serial) {
                p->reply = msg;
                clientWakeWaiters(client);
                return 0;
            }
        }
        clientBreakLocked(client, g_strdup_printf("connection closed: no call waiting for reply with prog %u vers %u serial %u", hdr->prog, hdr->vers, hdr->serial));
        rpcMessageFree(msg);
        return -1;
    case RPC_CALL:
    case RPC_CALL_WITH_FDS:
        clientBreakLocked(client, g_strdup_printf("connection closed: got unexpected RPC call prog %u vers %u proc %d from the server", hdr->prog, hdr->vers, hdr->proc));
        rpcMessageFree(msg);
        return -1;
    case RPC_MESSAGE:
        if (client->eventFunc && hdr->prog == RPC_REMOTE_PROGRAM) {
            g_queue_push_tail(&client->events, msg);
            clientWakeWaiters(client);
            return 0;
        }
        rpcMessageFree(msg);
        return 0;
    case RPC_STREAM:
        streamPacketLocked(client, msg);
        return 0;
    default:
        rpcMessageFree(msg);
        return 0;
    }
}

/* Read and handle what the socket has, or up to the reply of `me`: the
 * read that would only say "nothing more" is left to the next poll.
 * Returns -1 once the connection is closed. The buck holder, lock held. */
static int
clientReadLocked(rpcClient *client, rpcClientPending *me)
{
    for (;;) {
        rpcMessage *msg = NULL;
        unsigned long long before = client->reader.bytes;
        rpcReadResult res = rpcPacketReaderRead(&client->reader, client->stream, &msg);

        if (client->reader.bytes != before) {
            client->lastRecv = g_get_monotonic_time();
            client->pingsSent = 0;
        }
        switch (res) {
        case RPC_READ_AGAIN:
            return 0;
        case RPC_READ_EOF:
            clientBreakLocked(client, g_strdup("connection closed by the server"));
            return -1;
        case RPC_READ_ERROR:
            clientBreakLocked(client, g_strdup_printf("connection closed: %s", utilGetError()->message));
            utilResetError();
            return -1;
        case RPC_READ_PACKET:
            if (clientHandlePacketLocked(client, msg) < 0)
                return -1;
            if (me->reply)
                return 0;
            break;
        case RPC_READ_TOO_LARGE:
            /* not with the reader's default limit, the protocol's own */
            rpcMessageFree(msg);
            clientBreakLocked(client, g_strdup("connection closed: the server sent a packet over the limit"));
            return -1;
        }
    }
}

/* Write queued packets until the socket would block. Returns -1 once the
 * connection is closed. The buck holder, lock held. */
static int
clientWriteLocked(rpcClient *client)
{
    rpcStream *s = client->stream;
    rpcMessage *m;

    while ((m = g_queue_peek_head(&client->outq))) {
        ssize_t r = s->ops->write(s, m->data + client->outOffset, m->len - client->outOffset);

        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            if (errno == EPIPE || errno == ECONNRESET)
                clientBreakLocked(client, g_strdup("connection closed by the server"));
            else
                clientBreakLocked(client, g_strdup_printf("connection closed: cannot write to the server: %s", g_strerror(errno)));
            return -1;
        }
        client->outOffset += r;
        if (client->outOffset == m->len) {
            g_queue_pop_head(&client->outq);
            rpcMessageFree(m);
            client->outOffset = 0;
        }
    }
    return 0;
}

/*
 * clientDoIOLocked: as the buck holder, poll and move packets until the
 * reply of `me` arrives, the connection closes or `deadline` (monotonic
 * µs, -1 for none) passes. Returns 0, or -1 on timeout. lock held (and
 * released while polling).
 */
static int
clientDoIOLocked(rpcClient *client, rpcClientPending *me, gint64 deadline)
{
    while (!me->reply && !client->closed) {
        /* write before polling: the socket nearly always takes a call at
         * once, and then poll waits for the reply alone */
        if (!g_queue_is_empty(&client->outq) && clientWriteLocked(client) < 0)
            break;
        if (me->listener && (client->eventStop || !g_queue_is_empty(&client->events)))
            break;
        if (me->flush && g_queue_is_empty(&client->outq))
            break;
        if (me->stream && streamReadyLocked(me->stream))
            break;
        int wfd = client->stream->ops->writeFd ? client->stream->ops->writeFd(client->stream) : -1;
        struct pollfd fds[3] = {
            {.fd = client->stream->ops->fd(client->stream), .events = POLLIN},
            {.fd = client->wakeFd, .events = POLLIN},
            {.fd = -1, .events = POLLOUT},
        };
        int timeout = -1;
        bool buffered = rpcPacketReaderPending(&client->reader, client->stream) > 0;
        gint64 now = g_get_monotonic_time();
        int r;

        if (client->kaIntervalUs > 0) {
            gint64 silent = now - client->lastRecv;

            if (silent >= client->kaIntervalUs * (gint64)(client->kaCount + 1)) {
                clientBreakLocked(
                    client, g_strdup_printf(
                                "connection closed: no answer from the server for %" G_GINT64_FORMAT
                                " s (keepalive)",
                                silent / G_USEC_PER_SEC));
                break;
            }
            if (silent >= client->kaIntervalUs * (gint64)(client->pingsSent + 1)) {
                rpcHeader ping = {
                    .prog = RPC_KEEPALIVE_PROGRAM,
                    .vers = RPC_KEEPALIVE_VERSION,
                    .proc = RPC_KEEPALIVE_PING,
                    .type = RPC_MESSAGE,
                    .status = RPC_OK,
                };
                rpcMessage *m = rpcMessageEncode(&ping, NULL, NULL);

                client->pingsSent++;
                if (m)
                    g_queue_push_tail(&client->outq, m);
            }
            timeout =
                (int)((client->kaIntervalUs * (gint64)(client->pingsSent + 1) - silent + 999) /
                      1000);
        }
        if (!g_queue_is_empty(&client->outq)) {
            /* a pipe pair is written through its other descriptor */
            if (wfd >= 0)
                fds[2].fd = wfd;
            else
                fds[0].events |= POLLOUT;
        }
        if (deadline >= 0) {
            gint64 left = deadline - now;

            if (left <= 0)
                return -1;
            if (timeout < 0 || (left + 999) / 1000 < timeout)
                timeout = (int)MIN((left + 999) / 1000, G_MAXINT);
        }
        /* the reader's bytes read ahead, or TLS's decrypted ones, which
         * the socket no longer announces */
        if (buffered)
            timeout = 0;

        g_mutex_unlock(&client->lock);
        r = poll(fds, 3, timeout);
        g_mutex_lock(&client->lock);
        if (buffered)
            fds[0].revents |= POLLIN;

        if (r < 0) {
            if (errno == EINTR)
                continue;
            clientBreakLocked(client, g_strdup_printf("connection closed: cannot poll the socket: %s", g_strerror(errno)));
            break;
        }
        if (fds[1].revents & POLLIN) {
            uint64_t n;

            /* one read takes every wake-up since the last */
            if (read(client->wakeFd, &n, sizeof(n)) < 0) {
                /* EAGAIN: another holder took them */
            }
        }
        if (client->closed)
            break;
        /* what the socket can take now is written at the loop's top */
        if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) && clientReadLocked(client, me) < 0)
            break;
        if ((fds[0].revents & POLLNVAL)) {
            clientBreakLocked(client, g_strdup("connection closed: the socket is no longer valid"));
            break;
        }
    }
    return 0;
}

/*
 * clientWaitLocked: wait until the reply of `me` arrives (0), the
 * connection closes or the deadline passes (-1, error set; a timeout
 * closes the connection). Takes the buck whenever nobody holds it.
 */
static int
clientWaitLocked(rpcClient *client, rpcClientPending *me, gint64 deadline)
{
    while (!me->reply) {
        bool timedOut = false;

        if (client->closed) {
            reportClosedLocked(client);
            return -1;
        }
        if (client->ioBusy) {
            if (!clientCondWait(client, deadline))
                timedOut = !me->reply;
        } else {
            client->ioBusy = true;
            timedOut = clientDoIOLocked(client, me, deadline) < 0;
            client->ioBusy = false;
            clientWakeWaiters(client);
        }
        if (timedOut && !me->reply) {
            clientBreakLocked(client, g_strdup_printf("connection closed: timed out waiting for the reply to procedure %d", me->proc));
            reportError(IOV_ERR_RPC, "timed out waiting for the reply to procedure %d", me->proc);
            return -1;
        }
    }
    return 0;
}

/* Turn a reply into the call's result: decode the ret struct, or set
 * the thread's error to the error the server sent. */
static int
clientFinishCall(rpcMessage *reply, xdrproc_t retFilter, void *ret)
{
    remote_error rerr;
    iovError err = { 0 };

    switch (reply->header.status) {
    case RPC_OK:
        return rpcMessageDecodePayload(reply, retFilter, ret);
    case RPC_ERROR:
        memset(&rerr, 0, sizeof(rerr));
        if (rpcMessageDecodePayload(reply, (xdrproc_t)xdr_remote_error, &rerr) < 0)
            return -1;
        rpcErrorFromWire(&rerr, &err);
        xdr_free((xdrproc_t)xdr_remote_error, &rerr);
        utilSetError(&err);
        utilErrorClear(&err);
        return -1;
    default:
        reportError(IOV_ERR_RPC, "unexpected status %d in the reply to procedure %d", reply->header.status, reply->header.proc);
        return -1;
    }
}

/*
 * The event thread: hand queued events to the handler (without the lock),
 * and hold the buck while nobody else does, until rpcClientFree.
 */
static gpointer
clientEventThread(gpointer data)
{
    rpcClient *client = data;
    rpcClientPending me = {.listener = true};

    g_mutex_lock(&client->lock);
    while (!client->eventStop) {
        rpcMessage *m = g_queue_pop_head(&client->events);

        if (m) {
            g_mutex_unlock(&client->lock);
            client->eventFunc(m, client->eventOpaque);
            rpcMessageFree(m);
            g_mutex_lock(&client->lock);
        } else if (client->closed || client->ioBusy) {
            clientCondWait(client, -1);
        } else {
            /* the silence before listening is no sign of a dead server */
            if (client->pending->len == 0) {
                client->lastRecv = g_get_monotonic_time();
                client->pingsSent = 0;
            }
            client->ioBusy = true;
            clientDoIOLocked(client, &me, -1);
            client->ioBusy = false;
            clientWakeWaiters(client);
        }
    }
    g_mutex_unlock(&client->lock);
    return NULL;
}

/* rpcClientSetEventHandler: see rpc.h. */
int
rpcClientSetEventHandler(rpcClient *client, rpcClientEventFunc func, void *opaque)
{
    g_autoptr(GError) gerr = NULL;

    if (client->eventThread)
        return 0;
    client->eventFunc = func;
    client->eventOpaque = opaque;
    client->eventThread = g_thread_try_new("iovirt-events", clientEventThread, client, &gerr);
    if (!client->eventThread) {
        client->eventFunc = NULL;
        reportError(IOV_ERR_INTERNAL_ERROR, "cannot start the thread of events: %s", gerr->message);
        return -1;
    }
    return 0;
}

/* Calls sent that may change something (rpcClientChangesSent). */
static guint changesSent;

/* Count the call `proc` of `prog` if a read-only connection may not make
 * it (an unknown procedure counts: it may change something). */
static void
noteCallSent(uint32_t prog, int32_t proc)
{
    const rpcProcInfo *info = rpcProcLookup(prog, proc);

    if (!info || !info->readonlyOk)
        g_atomic_int_inc(&changesSent);
}

unsigned int
rpcClientChangesSent(void)
{
    return (unsigned int)g_atomic_int_get(&changesSent);
}

/*
 * rpcClientCall: one call and its reply; see rpc.h. The serial is taken
 * before encoding, so serials follow the order in which calls start.
 */
int
rpcClientCall(rpcClient *client, uint32_t prog, uint32_t vers,
              int32_t proc, xdrproc_t argsFilter, void *args,
              xdrproc_t retFilter, void *ret, int timeoutMs)
{
    g_autoptr(rpcMessage) reply = NULL;
    rpcHeader hdr = {
        .prog = prog,
        .vers = vers,
        .proc = proc,
        .type = RPC_CALL,
        .status = RPC_OK,
    };
    rpcClientPending me = { .prog = prog, .vers = vers, .proc = proc };
    gint64 deadline = -1;
    rpcMessage *msg;
    int rc;

    if (timeoutMs > 0)
        deadline = g_get_monotonic_time() + (gint64)timeoutMs * 1000;

    g_mutex_lock(&client->lock);
    if (client->closed) {
        reportClosedLocked(client);
        g_mutex_unlock(&client->lock);
        return -1;
    }
    hdr.serial = me.serial = client->serial++;
    g_mutex_unlock(&client->lock);

    msg = rpcMessageEncode(&hdr, argsFilter, args);
    if (!msg)
        return -1;

    g_mutex_lock(&client->lock);
    if (client->closed) {
        reportClosedLocked(client);
        g_mutex_unlock(&client->lock);
        rpcMessageFree(msg);
        return -1;
    }
    /* silence before this call is no sign of a dead server */
    if (client->pending->len == 0) {
        client->lastRecv = g_get_monotonic_time();
        client->pingsSent = 0;
    }
    g_ptr_array_add(client->pending, &me);
    noteCallSent(prog, proc);
    clientQueueLocked(client, msg);
    rc = clientWaitLocked(client, &me, deadline);
    g_ptr_array_remove_fast(client->pending, &me);
    reply = g_steal_pointer(&me.reply);
    g_mutex_unlock(&client->lock);

    if (rc < 0)
        return -1;
    return clientFinishCall(reply, retFilter, ret);
}

/* ---- streams ----
 *
 * The data of a stream arrives as STREAM packets carrying the program,
 * version, procedure and serial of the call that opened it. The buck
 * holder queues them on the stream (whoever holds the buck: a call, the
 * event thread, or a reader of the stream itself); readers wait on the
 * client's condition, taking the buck when nobody holds it. What the
 * server sends is not bounded here: a reader that stops reading makes
 * the queue grow by what the server sends, which the server bounds by
 * its own flow control only while the socket is not read either.
 */

struct _rpcClientStream {
    rpcClient *client; /* not owned: the stream is freed first */
    rpcHeader call;    /* prog, vers, proc, serial of the opening call */
    /* client->lock */
    GQueue incoming; /* rpcMessage of data, owned */
    size_t offset;   /* bytes of the head already read */
    bool eof;        /* the server's end arrived (an empty CONTINUE) */
    bool finishing;  /* our finish or abort is sent; data is dropped */
    bool confirmed;  /* the server confirmed it */
    bool failed;     /* the server ended the stream with `err` */
    iovError err;
};

/* Whether a reader of `st` has something to act on. lock held. */
static bool
streamReadyLocked(rpcClientStream *st)
{
    return !g_queue_is_empty(&st->incoming) || st->eof || st->confirmed || st->failed ||
           st->client->closed;
}

/* A STREAM packet from the server (taken over): queue it on its stream,
 * or drop it when no stream of ours has its serial. lock held. */
static void
streamPacketLocked(rpcClient *client, rpcMessage *msg)
{
    rpcClientStream *st = NULL;
    remote_error rerr;
    guint i;

    for (i = 0; i < client->streams->len; i++) {
        rpcClientStream *s = g_ptr_array_index(client->streams, i);

        if (s->call.prog == msg->header.prog && s->call.vers == msg->header.vers &&
            s->call.serial == msg->header.serial && s->call.proc == msg->header.proc) {
            st = s;
            break;
        }
    }
    if (!st) {
        rpcMessageFree(msg);
        return;
    }
    switch (msg->header.status) {
    case RPC_CONTINUE:
        /* an empty one is the server's end of the data */
        if (msg->len <= RPC_LEN_LEN + RPC_HEADER_LEN)
            st->eof = true;
        if (st->finishing || msg->len <= RPC_LEN_LEN + RPC_HEADER_LEN) {
            rpcMessageFree(msg);
            break;
        }
        g_queue_push_tail(&st->incoming, msg);
        break;
    case RPC_OK:
        /* the confirmation of our finish or abort */
        st->confirmed = true;
        rpcMessageFree(msg);
        break;
    default:
        memset(&rerr, 0, sizeof(rerr));
        if (!st->failed) {
            if (rpcMessageDecodePayload(msg, (xdrproc_t)xdr_remote_error, &rerr) == 0) {
                rpcErrorFromWire(&rerr, &st->err);
                xdr_free((xdrproc_t)xdr_remote_error, &rerr);
            } else {
                utilResetError();
                st->err.code = IOV_ERR_RPC;
                st->err.domain = IOV_FROM_RPC;
                st->err.level = IOV_ERR_ERROR;
                st->err.message = g_strdup("stream had I/O failure");
            }
            st->failed = true;
        }
        rpcMessageFree(msg);
        break;
    }
    clientWakeWaiters(client);
}

/*
 * Wait until `st` is ready (streamReadyLocked) or `deadline` passes
 * (returns -1, nothing reported). Takes the buck when nobody holds it.
 * lock held.
 */
static int
streamWaitLocked(rpcClient *client, rpcClientStream *st, gint64 deadline)
{
    rpcClientPending me = {.stream = st};

    while (!streamReadyLocked(st)) {
        if (client->ioBusy) {
            if (!clientCondWait(client, deadline))
                return streamReadyLocked(st) ? 0 : -1;
        } else {
            int rc;

            client->ioBusy = true;
            rc = clientDoIOLocked(client, &me, deadline);
            client->ioBusy = false;
            clientWakeWaiters(client);
            if (rc < 0)
                return streamReadyLocked(st) ? 0 : -1;
        }
    }
    return 0;
}

/* Queue a packet and see it written (by the buck holder, or by taking
 * the buck). lock held. */
static void
streamSendLocked(rpcClient *client, rpcMessage *msg)
{
    rpcClientPending me = {.flush = true};

    clientQueueLocked(client, msg);
    if (client->ioBusy || client->closed)
        return;
    client->ioBusy = true;
    clientDoIOLocked(client, &me, -1);
    client->ioBusy = false;
    clientWakeWaiters(client);
}

rpcClientStream *
rpcClientStreamOpen(rpcClient *client, uint32_t prog, uint32_t vers, int32_t proc,
                    xdrproc_t argsFilter, void *args)
{
    g_autoptr(rpcMessage) reply = NULL;
    rpcClientStream *st = g_new0(rpcClientStream, 1);
    rpcClientPending me = {.prog = prog, .vers = vers, .proc = proc};
    rpcMessage *msg;
    int rc;

    st->client = client;
    st->call =
        (rpcHeader){.prog = prog, .vers = vers, .proc = proc, .type = RPC_CALL, .status = RPC_OK};
    g_queue_init(&st->incoming);

    g_mutex_lock(&client->lock);
    if (client->closed) {
        reportClosedLocked(client);
        g_mutex_unlock(&client->lock);
        g_free(st);
        return NULL;
    }
    st->call.serial = me.serial = client->serial++;
    g_mutex_unlock(&client->lock);

    if (!(msg = rpcMessageEncode(&st->call, argsFilter, args))) {
        g_free(st);
        return NULL;
    }

    g_mutex_lock(&client->lock);
    if (client->pending->len == 0) {
        client->lastRecv = g_get_monotonic_time();
        client->pingsSent = 0;
    }
    /* registered before the call goes out: data may follow the reply at once */
    g_ptr_array_add(client->streams, st);
    g_ptr_array_add(client->pending, &me);
    noteCallSent(prog, proc);
    clientQueueLocked(client, msg);
    rc = clientWaitLocked(client, &me, -1);
    g_ptr_array_remove_fast(client->pending, &me);
    reply = g_steal_pointer(&me.reply);
    g_mutex_unlock(&client->lock);

    if (rc < 0 || clientFinishCall(reply, NULL, NULL) < 0) {
        rpcClientStreamFree(st);
        return NULL;
    }
    return st;
}

int
rpcClientStreamRecv(rpcClientStream *st, char *buf, size_t len, int timeoutMs)
{
    rpcClient *client = st->client;
    gint64 deadline = timeoutMs < 0 ? -1 : g_get_monotonic_time() + (gint64)timeoutMs * 1000;
    size_t got = 0;
    int ret;

    g_mutex_lock(&client->lock);
    if (timeoutMs != 0 && streamWaitLocked(client, st, deadline) < 0) {
        g_mutex_unlock(&client->lock);
        return -2;
    }
    while (got < len && !g_queue_is_empty(&st->incoming)) {
        rpcMessage *m = g_queue_peek_head(&st->incoming);
        size_t off = RPC_LEN_LEN + RPC_HEADER_LEN + st->offset;
        size_t n = MIN(len - got, m->len - off);

        memcpy(buf + got, m->data + off, n);
        got += n;
        st->offset += n;
        if (off + n == m->len) {
            rpcMessageFree(g_queue_pop_head(&st->incoming));
            st->offset = 0;
        }
    }
    if (got > 0)
        ret = (int)got;
    else if (st->failed) {
        utilSetError(&st->err);
        ret = -1;
    } else if (st->eof || st->confirmed)
        ret = 0;
    else if (client->closed) {
        reportClosedLocked(client);
        ret = -1;
    } else
        ret = -2;
    g_mutex_unlock(&client->lock);
    return ret;
}

int
rpcClientStreamSend(rpcClientStream *st, const char *data, size_t len)
{
    rpcClient *client = st->client;
    rpcHeader hdr = st->call;
    size_t done = 0;

    hdr.type = RPC_STREAM;
    hdr.status = RPC_CONTINUE;
    while (done < len) {
        size_t n = MIN(len - done, RPC_STREAM_PACKET_MAX);
        rpcMessage *msg = rpcMessageEncodeRaw(&hdr, data + done, n);

        if (!msg)
            return -1;
        g_mutex_lock(&client->lock);
        if (st->failed || st->finishing || client->closed) {
            if (st->failed)
                utilSetError(&st->err);
            else if (client->closed)
                reportClosedLocked(client);
            else
                reportError(IOV_ERR_RPC, "stream is finished");
            g_mutex_unlock(&client->lock);
            rpcMessageFree(msg);
            return -1;
        }
        streamSendLocked(client, msg);
        g_mutex_unlock(&client->lock);
        done += n;
    }
    return 0;
}

int
rpcClientStreamFinish(rpcClientStream *st, bool abort, int timeoutMs)
{
    rpcClient *client = st->client;
    rpcHeader hdr = st->call;
    gint64 deadline = timeoutMs < 0 ? -1 : g_get_monotonic_time() + (gint64)timeoutMs * 1000;
    rpcMessage *msg;
    int ret = 0;

    hdr.type = RPC_STREAM;
    hdr.status = abort ? RPC_ERROR : RPC_OK;
    if (!(msg = rpcMessageEncode(&hdr, NULL, NULL)))
        return -1;
    g_mutex_lock(&client->lock);
    if (st->failed || st->finishing || client->closed) {
        /* the server ended it already (or we did): nothing to send */
        if (st->failed && !abort) {
            utilSetError(&st->err);
            ret = -1;
        }
        g_mutex_unlock(&client->lock);
        rpcMessageFree(msg);
        return ret;
    }
    st->finishing = true;
    g_queue_clear_full(&st->incoming, (GDestroyNotify)rpcMessageFree);
    st->offset = 0;
    streamSendLocked(client, msg);
    if (streamWaitLocked(client, st, deadline) < 0 && !abort) {
        reportError(IOV_ERR_RPC, "no confirmation of the end of the stream from the server");
        ret = -1;
    } else if (st->failed && !abort) {
        utilSetError(&st->err);
        ret = -1;
    } else if (!st->confirmed && !abort && client->closed) {
        reportClosedLocked(client);
        ret = -1;
    }
    g_mutex_unlock(&client->lock);
    return ret;
}

void
rpcClientStreamFree(rpcClientStream *st)
{
    if (!st)
        return;
    g_mutex_lock(&st->client->lock);
    g_ptr_array_remove_fast(st->client->streams, st);
    g_mutex_unlock(&st->client->lock);
    g_queue_clear_full(&st->incoming, (GDestroyNotify)rpcMessageFree);
    utilErrorClear(&st->err);
    g_free(st);
}
