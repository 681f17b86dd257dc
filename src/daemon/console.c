/*
 * console.c: DOMAIN_OPEN_CONSOLE, a guest's serial console relayed to a
 * client's stream
 *
 * One console per domain at a time (libvirt's rule): a second open is
 * refused unless it asks to take over (VIR_DOMAIN_CONSOLE_FORCE), which
 * ends the first with a stream error. The registry (daemonConsoles)
 * holds the console of each domain; its lock guards only the table.
 *
 * A console owns a descriptor on the guest's port (qemuDriverOpenConsole:
 * the pty QEMU opened, or a connection to the unix socket QEMU listens
 * on) and relays both ways in the server's context thread, never
 * blocking:
 *
 *   guest --read, up to CONSOLE_READ_MAX--> rpcServerStreamSendData
 *         (not read while the client's unread stream data is at
 *          RPC_SERVER_STREAM_OUTPUT_MAX: the guest's port then fills and
 *          the guest waits, as on a real serial line)
 *   client --stream data--> toGuest (at most CONSOLE_INPUT_MAX; beyond,
 *         the client's socket is not read) --write--> guest
 *
 * So what one console makes the daemon hold is bounded by those three
 * numbers (docs/iovirtd.8.md, MEMORY). The guest's end (QEMU stopped)
 * sends the client an end of file; the client's finish, abort or
 * disconnection closes the descriptor.
 *
 * Threads: the open runs in a worker (the handler); everything else of a
 * console runs in the context thread, but its end by a takeover, which
 * only marks it over (atomic), sends the stream error (thread safe) and
 * hands the closing to the context thread.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>

#include "dispatch.h"
#include "dispatch_handlers.h"
#include "util/error.h"
#include "util/log.h"

#define IOV_FROM_THIS IOV_FROM_RPC

/* libvirt's virDomainConsoleFlags */
#define CONSOLE_FORCE (1 << 0)
#define CONSOLE_SAFE (1 << 1)

/* Bytes read from the guest at once, sent as one stream packet. */
#define CONSOLE_READ_MAX (64 * 1024)
/* Bytes from the client held for a guest that does not read them. */
#define CONSOLE_INPUT_MAX (64 * 1024)

struct _daemonConsoles {
    GMutex lock;
    GHashTable *byUUID; /* lock: uuid string -> daemonConsole (a reference) */
};

typedef struct {
    gint refs;           /* atomic */
    daemonConsoles *reg; /* not owned; outlives every console */
    char key[37];        /* the domain's uuid */
    char *name;          /* owned: the domain's name */
    GMainContext *ctx;   /* a reference: the server's */
    rpcServerStream *st; /* a reference; set under reg->lock once the
                          * port is open, NULL before */
    gint over;           /* atomic: taken over, or ended */
    gint streamGone;     /* atomic: the stream's reference was dropped */

    /* context thread only */
    int fd;         /* owned: the guest's port; -1 once closed */
    GSource *watch; /* owned, or NULL */
    GIOCondition watchCond;
    bool started;        /* the stream may carry data */
    bool clientFull;     /* waiting for cb->writable */
    GByteArray *toGuest; /* owned: client bytes not yet written */
} daemonConsole;

static void consoleUpdateWatch(daemonConsole *con);

daemonConsoles *
daemonConsolesNew(void)
{
    daemonConsoles *reg = g_new0(daemonConsoles, 1);

    g_mutex_init(&reg->lock);
    reg->byUUID = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, NULL);
    return reg;
}

void
daemonConsolesFree(daemonConsoles *reg)
{
    if (!reg)
        return;
    g_hash_table_unref(reg->byUUID);
    g_mutex_clear(&reg->lock);
    g_free(reg);
}

static daemonConsole *
consoleRef(daemonConsole *con)
{
    g_atomic_int_inc(&con->refs);
    return con;
}

static void
consoleUnref(daemonConsole *con)
{
    if (!con || !g_atomic_int_dec_and_test(&con->refs))
        return;
    if (con->fd >= 0)
        close(con->fd);
    if (con->watch) {
        g_source_destroy(con->watch);
        g_source_unref(con->watch);
    }
    rpcServerStreamUnref(con->st);
    g_byte_array_unref(con->toGuest);
    g_main_context_unref(con->ctx);
    g_free(con->name);
    g_free(con);
}

/* Take `con` out of the registry when it is still the domain's. */
static void
consoleUnregister(daemonConsole *con)
{
    bool removed = false;

    g_mutex_lock(&con->reg->lock);
    if (g_hash_table_lookup(con->reg->byUUID, con->key) == con)
        removed = g_hash_table_remove(con->reg->byUUID, con->key);
    g_mutex_unlock(&con->reg->lock);
    if (removed)
        consoleUnref(con);
}

/* Close the guest's port and stop watching it. Context thread. */
static void
consoleClose(daemonConsole *con)
{
    if (con->watch) {
        g_source_destroy(con->watch);
        g_source_unref(con->watch);
        con->watch = NULL;
    }
    if (con->fd >= 0) {
        close(con->fd);
        con->fd = -1;
    }
    g_byte_array_set_size(con->toGuest, 0);
}

/* The guest's end of the port: tell the client, stop. Context thread. */
static void
consoleGuestEnded(daemonConsole *con)
{
    logDebug("console of domain '%s': the guest's end closed", con->name);
    g_atomic_int_set(&con->over, 1);
    consoleClose(con);
    rpcServerStreamSendEOF(con->st);
    consoleUnregister(con);
}

/* Read what the guest wrote and send it on, while the client keeps up. */
static void
consoleFromGuest(daemonConsole *con)
{
    char buf[CONSOLE_READ_MAX];
    ssize_t n;

    if (!rpcServerStreamWritable(con->st)) {
        con->clientFull = true;
        return;
    }
    n = read(con->fd, buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        /* 0: QEMU closed the socket; EIO: the pty's other end is gone */
        consoleGuestEnded(con);
        return;
    }
    if (rpcServerStreamSendData(con->st, buf, (size_t)n) < 0) {
        utilResetError();
        return;
    }
    if (!rpcServerStreamWritable(con->st))
        con->clientFull = true;
}

/* Write to the guest what the client sent. */
static void
consoleToGuest(daemonConsole *con)
{
    ssize_t n;

    if (con->toGuest->len == 0)
        return;
    n = write(con->fd, con->toGuest->data, con->toGuest->len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n < 0) {
        consoleGuestEnded(con);
        return;
    }
    g_byte_array_remove_range(con->toGuest, 0, (guint)n);
    if (con->toGuest->len < CONSOLE_INPUT_MAX)
        rpcServerStreamPauseInput(con->st, false);
}

static gboolean
consoleIOCallback(gint fd G_GNUC_UNUSED, GIOCondition cond, gpointer data)
{
    daemonConsole *con = data;

    consoleRef(con);
    if (cond & G_IO_OUT)
        consoleToGuest(con);
    if (con->fd >= 0 && (cond & (G_IO_IN | G_IO_HUP | G_IO_ERR)))
        consoleFromGuest(con);
    if (con->fd >= 0)
        consoleUpdateWatch(con);
    consoleUnref(con);
    return G_SOURCE_CONTINUE;
}

/* Watch the guest's port for what the console now waits for. */
static void
consoleUpdateWatch(daemonConsole *con)
{
    GIOCondition cond = 0;

    if (con->fd >= 0 && con->started && !g_atomic_int_get(&con->over)) {
        if (!con->clientFull)
            cond |= G_IO_IN;
        if (con->toGuest->len > 0)
            cond |= G_IO_OUT;
    }
    if (con->watch && con->watchCond == cond)
        return;
    if (con->watch) {
        g_source_destroy(con->watch);
        g_source_unref(con->watch);
        con->watch = NULL;
    }
    con->watchCond = cond;
    if (cond == 0)
        return;
    con->watch = g_unix_fd_source_new(con->fd, cond);
    g_source_set_callback(con->watch, G_SOURCE_FUNC(consoleIOCallback), con, NULL);
    g_source_attach(con->watch, con->ctx);
}

/* The stream will call no more: drop its reference, once. */
static void
consoleStreamGone(daemonConsole *con)
{
    if (g_atomic_int_compare_and_exchange(&con->streamGone, 0, 1))
        consoleUnref(con);
}

/* ---- the stream's callbacks (context thread) ---- */

static void
consoleStart(rpcServerStream *st G_GNUC_UNUSED, void *opaque)
{
    daemonConsole *con = opaque;

    if (g_atomic_int_get(&con->over)) {
        consoleClose(con);
        return;
    }
    con->started = true;
    consoleUpdateWatch(con);
}

static void
consoleData(rpcServerStream *st G_GNUC_UNUSED, const char *buf, size_t len, void *opaque)
{
    daemonConsole *con = opaque;

    if (con->fd < 0 || g_atomic_int_get(&con->over))
        return;
    g_byte_array_append(con->toGuest, (const guint8 *)buf, (guint)len);
    if (con->toGuest->len >= CONSOLE_INPUT_MAX)
        rpcServerStreamPauseInput(con->st, true);
    consoleToGuest(con);
    if (con->fd >= 0)
        consoleUpdateWatch(con);
}

static void
consoleWritable(rpcServerStream *st G_GNUC_UNUSED, void *opaque)
{
    daemonConsole *con = opaque;

    con->clientFull = false;
    if (con->fd >= 0)
        consoleUpdateWatch(con);
}

static void
consoleEnded(rpcServerStream *st G_GNUC_UNUSED, bool aborted, void *opaque)
{
    daemonConsole *con = opaque;

    logDebug("console of domain '%s' %s by the client", con->name,
             aborted ? "aborted" : "finished");
    g_atomic_int_set(&con->over, 1);
    consoleClose(con);
    consoleUnregister(con);
    consoleStreamGone(con);
}

static const rpcServerStreamCallbacks consoleCallbacks = {
    .start = consoleStart,
    .data = consoleData,
    .writable = consoleWritable,
    .ended = consoleEnded,
};

/* ---- a takeover ---- */

static gboolean
consoleCloseIdle(gpointer data)
{
    daemonConsole *con = data;

    consoleClose(con);
    return G_SOURCE_REMOVE;
}

static void
consoleUnrefNotify(gpointer data)
{
    consoleUnref(data);
}

/*
 * End `old` because another client took the console over: its client
 * gets a stream error, its port is closed in the context thread. `old`
 * is already out of the registry, and `st` is its stream as read under
 * the registry's lock (NULL when its open has not got that far: it then
 * notices and fails). Any thread.
 */
static void
consoleTakeOver(daemonConsole *old, rpcServerStream *st)
{
    g_autofree char *text = NULL;
    iovError err = {
        .code = IOV_ERR_OPERATION_FAILED,
        .domain = IOV_FROM_RPC,
        .level = IOV_ERR_ERROR,
        .int1 = -1,
        .int2 = -1,
    };
    GSource *src;

    if (!g_atomic_int_compare_and_exchange(&old->over, 0, 1) || !st)
        return;
    text = g_strdup_printf(
        "operation failed: the console of domain '%s' was taken over by another client", old->name);
    err.message = text;
    logInfo("console of domain '%s' taken over by another client", old->name);
    rpcServerStreamSendError(st, &err);
    src = g_idle_source_new();
    g_source_set_callback(src, consoleCloseIdle, consoleRef(old), consoleUnrefNotify);
    g_source_attach(src, old->ctx);
    g_source_unref(src);
    /* the stream ends without its callback */
    consoleStreamGone(old);
}

/* ---- the handler ---- */

int
dispatchDomainOpenConsole(daemonState *d, daemonConn *c, const rpcHeader *call,
                          remote_domain_open_console_args *args)
{
    const char *devName = args->dev_name ? *args->dev_name : NULL;
    daemonConsole *con;
    daemonConsole *old = NULL;
    rpcServerStream *oldStream = NULL;
    char *name = NULL;
    int fd;

    if (args->flags & ~(unsigned int)(CONSOLE_FORCE | CONSOLE_SAFE)) {
        reportError(IOV_ERR_INVALID_ARG, "unsupported flags (0x%x) in function %s",
                    args->flags & ~(unsigned int)(CONSOLE_FORCE | CONSOLE_SAFE),
                    c->libvirt ? "virDomainOpenConsole" : "iovDomainOpenConsole");
        return -1;
    }
    if (!d->consoles || !c->client) {
        reportError(IOV_ERR_OPERATION_UNSUPPORTED, "a console needs a connection to the daemon");
        return -1;
    }

    con = g_new0(daemonConsole, 1);
    con->refs = 1;
    con->reg = d->consoles;
    con->fd = -1;
    con->toGuest = g_byte_array_new();
    con->ctx = g_main_context_ref(rpcServerClientGetContext(c->client));
    domainUUIDFormat((const unsigned char *)args->dom.uuid, con->key);

    /* claim the domain's console before opening its port, so that two
     * opens never both reach it */
    g_mutex_lock(&d->consoles->lock);
    old = g_hash_table_lookup(d->consoles->byUUID, con->key);
    if (old && !(args->flags & CONSOLE_FORCE)) {
        g_mutex_unlock(&d->consoles->lock);
        reportError(IOV_ERR_OPERATION_FAILED, "Active console session exists for this domain");
        consoleUnref(con);
        return -1;
    }
    if (old) {
        g_hash_table_steal(d->consoles->byUUID, con->key);
        oldStream = old->st ? rpcServerStreamRef(old->st) : NULL;
    }
    g_hash_table_insert(d->consoles->byUUID, con->key, consoleRef(con));
    g_mutex_unlock(&d->consoles->lock);
    if (old) {
        consoleTakeOver(old, oldStream);
        rpcServerStreamUnref(oldStream);
        consoleUnref(old);
    }

    fd = qemuDriverOpenConsole(d->driver, (const unsigned char *)args->dom.uuid, devName, &name);
    if (fd < 0) {
        consoleUnregister(con);
        consoleUnref(con);
        return -1;
    }

    g_mutex_lock(&d->consoles->lock);
    if (g_hash_table_lookup(d->consoles->byUUID, con->key) != con) {
        g_mutex_unlock(&d->consoles->lock);
        close(fd);
        reportError(IOV_ERR_OPERATION_FAILED,
                    "the console of domain '%s' was taken over by another client", name);
        g_free(name);
        consoleUnref(con);
        return -1;
    }
    con->fd = fd;
    con->name = name;
    /* the stream's reference, dropped when it ends (consoleStreamGone) */
    con->st = rpcServerStreamNew(c->client, call, &consoleCallbacks, consoleRef(con));
    if (!con->st) {
        g_hash_table_remove(d->consoles->byUUID, con->key);
        g_mutex_unlock(&d->consoles->lock);
        /* the registry's reference, the stream's, and ours */
        consoleUnref(con);
        consoleUnref(con);
        consoleUnref(con);
        return -1;
    }
    g_mutex_unlock(&d->consoles->lock);
    logInfo("console of domain '%s' opened", con->name);
    consoleUnref(con);
    return 0;
}
