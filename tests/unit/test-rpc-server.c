/*
 * test-rpc-server.c: the rpc server and client over real unix sockets
 *
 * Each test starts an rpcServer in a fresh temporary directory, its
 * context iterated by a GMainLoop in a thread, with a test dispatcher:
 *   3  CONNECT_GET_TYPE        → "QEMU"
 *   59 CONNECT_GET_HOSTNAME    → sleeps (200 ms by default), "slowhost"
 *   60 SUPPORTS_FEATURE(n)     → 2n + 1
 *   23 LOOKUP_BY_NAME(name)    → the name back, id = the call's serial
 *   14 GET_XML_DESC            → 1 MiB of text
 *   110 CONNECT_GET_URI        → "readonly" or "readwrite"
 *   2  CONNECT_CLOSE           → replies, then closes the client
 *   anything else              → "unknown procedure: N" (39/7/2)
 * Clients are rpcClient or raw sockets writing bytes. On stopping, every
 * test checks that each client was disconnected exactly once, freed, and
 * that no descriptor leaked.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "rpc/rpc.h"
#include "testutil.h"
#include "util/error.h"

#define BIG_XML_LEN (1024 * 1024)

typedef struct {
    char *dir;
    char *path;
    char *roPath;
    GMainContext *ctx;
    GMainLoop *loop;
    GThread *thread;
    rpcServer *srv;
    int fdsBefore;
    int slowMs;

    gint active;      /* dispatches running now */
    gint maxActive;   /* the most seen at once */
    gint dispatched;
    gint replied; /* replies queued */
    gint connected;
    gint disconnected;
    gint privFreed;
    gint refuse;      /* connected refuses while set */

    GMutex lock;
    guint32 serials[1024]; /* serials seen by the dispatcher, in order */
    guint nserials;
    rpcServerClient *lastClient; /* lock: the last client connected, a reference */
    gint streamEnded;            /* the echo stream's ended callback: 1 finished, 2 aborted */
    gint quickTried;             /* calls given to testDispatchQuick */
    gint quickAnswered;          /* those it answered (in the loop's thread) */
} Fixture;

/* The dispatcher's data for one client. */
typedef struct {
    Fixture *f;
    gint disconnects;
} ClientPriv;

/* Wait for `expr` to hold, for `ms` at most (times testTimeScale). */
#define WAIT_UNTIL(expr, ms) \
    do { \
        gint64 until_ = g_get_monotonic_time() + (gint64)((ms) * 1000 * testTimeScale()); \
        while (!(expr) && g_get_monotonic_time() < until_) \
            g_usleep(5000); \
        g_assert_true(expr); \
    } while (0)

static int
countFds(void)
{
    g_autoptr(GDir) dir = g_dir_open("/proc/self/fd", 0, NULL);
    int n = 0;

    g_assert_nonnull(dir);
    while (g_dir_read_name(dir))
        n++;
    return n;
}

/* ---- the test dispatcher ---- */

static void
replyUnknown(rpcServerClient *client, const rpcMessage *msg)
{
    g_autofree char *text = g_strdup_printf("unknown procedure: %d", msg->header.proc);
    iovError err = {
        .code = IOV_ERR_RPC, .domain = IOV_FROM_RPC, .message = text,
        .level = IOV_ERR_ERROR, .int1 = -1, .int2 = -1,
    };

    g_assert_cmpint(rpcServerClientReplyError(client, &msg->header, &err), ==, 0);
}

/* The echo stream of DOMAIN_OPEN_CONSOLE: "hello" once started, then
 * every byte it gets back. */
static void
echoStart(rpcServerStream *st, void *opaque G_GNUC_UNUSED)
{
    g_assert_cmpint(rpcServerStreamSendData(st, "hello", 5), ==, 0);
}

static void
echoData(rpcServerStream *st, const char *buf, size_t len, void *opaque G_GNUC_UNUSED)
{
    if (len == 3 && memcmp(buf, "eof", 3) == 0)
        g_assert_cmpint(rpcServerStreamSendEOF(st), ==, 0);
    else
        g_assert_cmpint(rpcServerStreamSendData(st, buf, len), ==, 0);
}

static void
echoEnded(rpcServerStream *st, bool aborted, void *opaque)
{
    Fixture *f = opaque;

    g_atomic_int_set(&f->streamEnded, aborted ? 2 : 1);
    rpcServerStreamUnref(st);
}

static const rpcServerStreamCallbacks echoCallbacks = {
    .start = echoStart,
    .data = echoData,
    .ended = echoEnded,
};

static void
testDispatch(rpcServer *srv G_GNUC_UNUSED, rpcServerClient *client,
             const rpcMessage *msg, void *opaque)
{
    Fixture *f = opaque;
    const rpcProcInfo *info = rpcRemoteProcLookup(msg->header.proc);
    g_autofree void *args = NULL;
    g_autofree void *ret = NULL;
    gint now = g_atomic_int_add(&f->active, 1) + 1;
    gint seen;
    bool closeAfter = false;

    while ((seen = g_atomic_int_get(&f->maxActive)) < now &&
           !g_atomic_int_compare_and_exchange(&f->maxActive, seen, now))
        ;
    g_atomic_int_inc(&f->dispatched);
    g_mutex_lock(&f->lock);
    if (f->nserials < G_N_ELEMENTS(f->serials))
        f->serials[f->nserials++] = msg->header.serial;
    g_mutex_unlock(&f->lock);

    g_assert_nonnull(rpcServerClientGetPrivate(client));

    if (!info) {
        g_atomic_int_add(&f->active, -1);
        replyUnknown(client, msg);
        return;
    }
    args = g_malloc0(MAX(info->argsSize, 1));
    ret = g_malloc0(MAX(info->retSize, 1));
    g_assert_cmpint(rpcMessageDecodePayload(msg, info->argsFilter, args), ==, 0);

    switch (msg->header.proc) {
    case REMOTE_PROC_CONNECT_GET_TYPE:
        ((remote_connect_get_type_ret *)ret)->type = g_strdup("QEMU");
        break;
    case REMOTE_PROC_CONNECT_GET_HOSTNAME:
        g_usleep(f->slowMs * 1000);
        ((remote_connect_get_hostname_ret *)ret)->hostname = g_strdup("slowhost");
        break;
    case REMOTE_PROC_CONNECT_SUPPORTS_FEATURE:
        ((remote_connect_supports_feature_ret *)ret)->supported =
            2 * ((remote_connect_supports_feature_args *)args)->feature + 1;
        break;
    case REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME: {
        remote_domain_lookup_by_name_ret *r = ret;

        r->dom.name = g_strdup(((remote_domain_lookup_by_name_args *)args)->name);
        r->dom.id = msg->header.serial;
        break;
    }
    case REMOTE_PROC_DOMAIN_GET_XML_DESC: {
        char *xml = g_malloc(BIG_XML_LEN + 1);

        memset(xml, 'x', BIG_XML_LEN);
        xml[BIG_XML_LEN] = '\0';
        ((remote_domain_get_xml_desc_ret *)ret)->xml = xml;
        break;
    }
    case REMOTE_PROC_CONNECT_GET_URI:
        ((remote_connect_get_uri_ret *)ret)->uri =
            g_strdup(rpcServerClientIsReadonly(client) ? "readonly" : "readwrite");
        break;
    case REMOTE_PROC_CONNECT_CLOSE:
        closeAfter = true;
        break;
    case REMOTE_PROC_DOMAIN_OPEN_CONSOLE:
        /* the caller's reference is the one echoEnded drops */
        rpcServerStreamNew(client, &msg->header, &echoCallbacks, f);
        break;
    default:
        xdr_free(info->argsFilter, args);
        g_atomic_int_add(&f->active, -1);
        replyUnknown(client, msg);
        return;
    }

    g_atomic_int_add(&f->active, -1);
    g_assert_cmpint(rpcServerClientReply(client, &msg->header, info->retFilter, ret), ==, 0);
    g_atomic_int_inc(&f->replied);
    if (closeAfter)
        rpcServerClientClose(client);
    xdr_free(info->argsFilter, args);
    xdr_free(info->retFilter, ret);
}

static void
clientPrivFree(gpointer data)
{
    ClientPriv *p = data;

    g_assert_cmpint(p->disconnects, ==, 1);
    g_atomic_int_inc(&p->f->privFreed);
    g_free(p);
}

static bool
testConnected(rpcServer *srv G_GNUC_UNUSED, rpcServerClient *client, void *opaque)
{
    Fixture *f = opaque;
    ClientPriv *p;

    if (g_atomic_int_get(&f->refuse))
        return false;
    p = g_new0(ClientPriv, 1);
    p->f = f;
    rpcServerClientSetPrivate(client, p, clientPrivFree);
    g_mutex_lock(&f->lock);
    rpcServerClientUnref(f->lastClient);
    f->lastClient = rpcServerClientRef(client);
    g_mutex_unlock(&f->lock);
    g_atomic_int_inc(&f->connected);
    return true;
}

static void
testDisconnected(rpcServer *srv G_GNUC_UNUSED, rpcServerClient *client, void *opaque)
{
    Fixture *f = opaque;
    ClientPriv *p = rpcServerClientGetPrivate(client);

    g_assert_nonnull(p);
    g_assert_cmpint(g_atomic_int_add(&p->disconnects, 1), ==, 0);
    g_atomic_int_inc(&f->disconnected);
}

static const rpcServerCallbacks testCallbacks = {
    .dispatch = testDispatch,
    .connected = testConnected,
    .disconnected = testDisconnected,
};

/* The quick dispatcher: runs in the loop's thread; hands the slow
 * GET_HOSTNAME and GET_URI (as a call that finds it must wait would) to
 * the workers, answers the others. */
static bool
testDispatchQuick(rpcServer *srv, rpcServerClient *client, const rpcMessage *msg, void *opaque)
{
    Fixture *f = opaque;

    g_assert_true(g_thread_self() == f->thread);
    g_atomic_int_inc(&f->quickTried);
    if (msg->header.proc == REMOTE_PROC_CONNECT_GET_HOSTNAME ||
        msg->header.proc == REMOTE_PROC_CONNECT_GET_URI)
        return false;
    g_atomic_int_inc(&f->quickAnswered);
    testDispatch(srv, client, msg, opaque);
    return true;
}

static const rpcServerCallbacks quickCallbacks = {
    .dispatch = testDispatch,
    .connected = testConnected,
    .disconnected = testDisconnected,
    .dispatchQuick = testDispatchQuick,
};

/* ---- starting and stopping ---- */

static gpointer
loopThread(gpointer data)
{
    g_main_loop_run(data);
    return NULL;
}

static Fixture *
serverStartWith(const rpcServerConfig *cfg, const rpcServerCallbacks *cb)
{
    Fixture *f = g_new0(Fixture, 1);

    f->fdsBefore = countFds();
    f->slowMs = 200;
    g_mutex_init(&f->lock);
    f->dir = g_dir_make_tmp("test-rpc-XXXXXX", NULL);
    g_assert_nonnull(f->dir);
    f->path = g_build_filename(f->dir, "sock", NULL);
    f->roPath = g_build_filename(f->dir, "sock-ro", NULL);
    f->ctx = g_main_context_new();
    f->srv = rpcServerNew(f->ctx, cfg, cb, f);
    g_assert_nonnull(f->srv);
    g_assert_cmpint(rpcServerAddUnixListener(f->srv, f->path, 0600, false), ==, 0);
    g_assert_cmpint(rpcServerAddUnixListener(f->srv, f->roPath, 0666, true), ==, 0);
    f->loop = g_main_loop_new(f->ctx, FALSE);
    f->thread = g_thread_new("rpc-loop", loopThread, f->loop);
    WAIT_UNTIL(g_main_loop_is_running(f->loop), 5000);
    return f;
}

static Fixture *
serverStartConfig(const rpcServerConfig *cfg)
{
    return serverStartWith(cfg, &testCallbacks);
}

static Fixture *
serverStart(unsigned int maxClients, unsigned int maxRequests,
            unsigned int idleSec, unsigned int workers)
{
    rpcServerConfig cfg = {
        .maxClients = maxClients,
        .maxRequestsPerClient = maxRequests,
        .idleTimeoutSec = idleSec,
        .workers = workers,
    };

    return serverStartConfig(&cfg);
}

/* Stop the server and check that it left nothing behind; the test still
 * holds `keptFds` descriptors it opened meanwhile. */
static void
serverStopKeeping(Fixture *f, int keptFds)
{
    g_main_loop_quit(f->loop);
    g_thread_join(f->thread);
    rpcServerClientUnref(g_steal_pointer(&f->lastClient));
    rpcServerFree(f->srv);
    g_main_loop_unref(f->loop);
    g_main_context_unref(f->ctx);

    g_assert_false(g_file_test(f->path, G_FILE_TEST_EXISTS));
    g_assert_false(g_file_test(f->roPath, G_FILE_TEST_EXISTS));
    g_assert_cmpint(g_rmdir(f->dir), ==, 0);
    g_assert_cmpint(f->disconnected, ==, f->connected);
    g_assert_cmpint(f->privFreed, ==, f->connected);
    g_assert_cmpint(countFds(), ==, f->fdsBefore + keptFds);

    g_mutex_clear(&f->lock);
    g_free(f->dir);
    g_free(f->path);
    g_free(f->roPath);
    g_free(f);
}

static void
serverStop(Fixture *f)
{
    serverStopKeeping(f, 0);
}

/* ---- client helpers ---- */

static rpcClient *
clientOpen(const char *path)
{
    int fd = rpcSocketConnectUnix(path);

    g_assert_cmpint(fd, >=, 0);
    return rpcClientNew(rpcStreamNewUnix(fd));
}

/* GET_TYPE through `c`; the type, or NULL on error. */
static char *
callGetType(rpcClient *c)
{
    remote_connect_get_type_ret ret = { 0 };
    char *type;

    if (rpcClientCall(c, RPC_REMOTE_PROGRAM, RPC_REMOTE_VERSION,
                      REMOTE_PROC_CONNECT_GET_TYPE,
                      (xdrproc_t)(void (*)(void))xdr_void, NULL,
                      (xdrproc_t)xdr_remote_connect_get_type_ret, &ret, 10000) < 0)
        return NULL;
    type = g_strdup(ret.type);
    xdr_free((xdrproc_t)xdr_remote_connect_get_type_ret, &ret);
    return type;
}

static int
callFeature(rpcClient *c, int feature, int timeoutMs)
{
    remote_connect_supports_feature_args args = { .feature = feature };
    remote_connect_supports_feature_ret ret = { 0 };

    if (rpcClientCall(c, RPC_REMOTE_PROGRAM, RPC_REMOTE_VERSION,
                      REMOTE_PROC_CONNECT_SUPPORTS_FEATURE,
                      (xdrproc_t)xdr_remote_connect_supports_feature_args, &args,
                      (xdrproc_t)xdr_remote_connect_supports_feature_ret, &ret,
                      timeoutMs) < 0)
        return -1;
    return ret.supported;
}

static int
callSlow(rpcClient *c, int timeoutMs)
{
    remote_connect_get_hostname_ret ret = { 0 };

    if (rpcClientCall(c, RPC_REMOTE_PROGRAM, RPC_REMOTE_VERSION,
                      REMOTE_PROC_CONNECT_GET_HOSTNAME,
                      NULL, NULL,
                      (xdrproc_t)xdr_remote_connect_get_hostname_ret, &ret, timeoutMs) < 0)
        return -1;
    g_assert_cmpstr(ret.hostname, ==, "slowhost");
    xdr_free((xdrproc_t)xdr_remote_connect_get_hostname_ret, &ret);
    return 0;
}

/* ---- raw socket helpers ---- */

static int
rawConnect(const char *path)
{
    struct timeval tv = { .tv_sec = 10 };
    int fd = rpcSocketConnectUnix(path);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), ==, 0);
    return fd;
}

static void
rawSend(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);

        g_assert_cmpint(w, >, 0);
        p += w;
        len -= w;
    }
}

/* The same where the server may answer and close before it has read
 * everything (a packet over a limit): sending stops when it has closed;
 * what the server said is for the caller to read. */
static void
rawSendMayBeCut(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);

        if (w < 0 && (errno == EPIPE || errno == ECONNRESET))
            return;
        g_assert_cmpint(w, >, 0);
        p += w;
        len -= w;
    }
}

static void
rawSendCall(int fd, uint32_t prog, uint32_t vers, int proc, uint32_t serial,
            xdrproc_t filter, void *args)
{
    rpcHeader h = {
        .prog = prog, .vers = vers, .proc = proc,
        .type = RPC_CALL, .serial = serial, .status = RPC_OK,
    };
    g_autoptr(rpcMessage) msg = rpcMessageEncode(&h, filter, args);

    g_assert_nonnull(msg);
    rawSend(fd, msg->data, msg->len);
}

/* Read exactly len bytes: 1, 0 at EOF (or reset) before any byte. */
static int
rawReadAll(int fd, void *buf, size_t len)
{
    char *p = buf;
    size_t got = 0;

    while (got < len) {
        ssize_t r = read(fd, p + got, len - got);

        if (r == 0 || (r < 0 && errno == ECONNRESET)) {
            g_assert_cmpuint(got, ==, 0);
            return 0;
        }
        g_assert_cmpint(r, >, 0);
        got += r;
    }
    return 1;
}

/* The next packet from the server (header decoded), or NULL at EOF. */
static rpcMessage *
rawReadPacket(int fd)
{
    char word[4];
    ssize_t len;
    rpcMessage *msg;

    if (rawReadAll(fd, word, 4) == 0)
        return NULL;
    len = rpcLengthCheck(word);
    g_assert_cmpint(len, >, 0);
    msg = g_new0(rpcMessage, 1);
    msg->len = len;
    msg->data = g_malloc(len);
    memcpy(msg->data, word, 4);
    g_assert_cmpint(rawReadAll(fd, msg->data + 4, len - 4), ==, 1);
    g_assert_cmpint(rpcMessageDecodeHeader(msg->data, msg->len, &msg->header), ==, 0);
    return msg;
}

/* The server must have closed `fd`: reading gives EOF, skipping any
 * packets sent before. */
static void
rawExpectEOF(int fd)
{
    rpcMessage *msg;

    while ((msg = rawReadPacket(fd)))
        rpcMessageFree(msg);
}

/* ---- tests ---- */

/* A call and its reply; the dispatcher saw serials 0, 1, 2. */
static void
testRoundTrip(void)
{
    Fixture *f = serverStart(10, 4, 0, 2);
    rpcClient *c = clientOpen(f->path);
    int i;

    for (i = 0; i < 3; i++) {
        g_autofree char *type = callGetType(c);

        g_assert_cmpstr(type, ==, "QEMU");
    }
    g_assert_cmpuint(f->nserials, ==, 3);
    g_assert_cmpuint(f->serials[0], ==, 0);
    g_assert_cmpuint(f->serials[1], ==, 1);
    g_assert_cmpuint(f->serials[2], ==, 2);
    g_assert_true(rpcClientIsOpen(c));
    g_assert_cmpuint(rpcServerClientCount(f->srv), ==, 1);
    rpcClientFree(c);
    WAIT_UNTIL(rpcServerClientCount(f->srv) == 0, 5000);
    serverStop(f);
}

/* The listener sockets: modes set, stale file replaced, live one kept. */
static void
testListeners(void)
{
    Fixture *f = serverStart(10, 4, 0, 2);
    g_autofree char *stale = g_build_filename(f->dir, "stale", NULL);
    g_autofree char *plain = g_build_filename(f->dir, "plain", NULL);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    struct stat sb;
    int fd;

    g_assert_cmpint(stat(f->path, &sb), ==, 0);
    g_assert_true(S_ISSOCK(sb.st_mode));
    g_assert_cmpint(sb.st_mode & 0777, ==, 0600);
    g_assert_cmpint(stat(f->roPath, &sb), ==, 0);
    g_assert_cmpint(sb.st_mode & 0777, ==, 0666);

    /* a live socket is not taken over */
    g_assert_cmpint(rpcServerAddUnixListener(f->srv, f->path, 0600, false), ==, -1);
    g_assert_nonnull(strstr(utilGetError()->message, f->path));
    utilResetError();

    /* a file that is not a socket is not removed */
    g_assert_true(g_file_set_contents(plain, "x", 1, NULL));
    g_assert_cmpint(rpcServerAddUnixListener(f->srv, plain, 0600, false), ==, -1);
    g_assert_true(g_file_test(plain, G_FILE_TEST_IS_REGULAR));
    utilResetError();
    g_unlink(plain);

    /* a socket file nobody listens at is replaced */
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    strcpy(addr.sun_path, stale);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
    close(fd);
    g_assert_true(g_file_test(stale, G_FILE_TEST_EXISTS));
    g_assert_cmpint(rpcServerAddUnixListener(f->srv, stale, 0640, false), ==, 0);
    g_assert_cmpint(stat(stale, &sb), ==, 0);
    g_assert_cmpint(sb.st_mode & 0777, ==, 0640);
    {
        rpcClient *c = clientOpen(stale);
        g_autofree char *type = callGetType(c);

        g_assert_cmpstr(type, ==, "QEMU");
        rpcClientFree(c);
    }

    /* connecting where nobody listens names the path */
    g_assert_cmpint(rpcSocketConnectUnix(plain), ==, -1);
    g_assert_nonnull(strstr(utilGetError()->message, plain));
    g_assert_nonnull(strstr(utilGetError()->message, "Failed to connect socket to"));
    utilResetError();

    WAIT_UNTIL(rpcServerClientCount(f->srv) == 0, 5000);
    serverStop(f);
    g_assert_false(g_file_test(stale, G_FILE_TEST_EXISTS));
}

typedef struct {
    rpcClient *c;
    int base;
    gint failures;
} ThreadArgs;

static gpointer
hammerThread(gpointer data)
{
    ThreadArgs *a = data;
    int i;

    for (i = 0; i < 40; i++) {
        int feature = a->base + i;

        if (i % 10 == 5) {
            if (callSlow(a->c, 20000) < 0)
                g_atomic_int_inc(&a->failures);
            continue;
        }
        if (callFeature(a->c, feature, 20000) != 2 * feature + 1)
            g_atomic_int_inc(&a->failures);
    }
    return NULL;
}

/* Eight threads call at once on one client; each gets its own replies,
 * slow calls overtaken by fast ones included. */
static void
testManyThreadsOneClient(void)
{
    Fixture *f = serverStart(10, 32, 0, 4);
    rpcClient *c = clientOpen(f->path);
    ThreadArgs args[8];
    GThread *threads[8];
    guint i, j;

    f->slowMs = 50;
    for (i = 0; i < G_N_ELEMENTS(threads); i++) {
        args[i] = (ThreadArgs){ .c = c, .base = (int)i * 1000 };
        threads[i] = g_thread_new("hammer", hammerThread, &args[i]);
    }
    for (i = 0; i < G_N_ELEMENTS(threads); i++) {
        g_thread_join(threads[i]);
        g_assert_cmpint(args[i].failures, ==, 0);
    }
    g_assert_cmpint(f->dispatched, ==, 8 * 40);
    g_assert_cmpint(f->maxActive, >, 1);
    /* every serial from 0 to 319 was used once */
    for (i = 0; i < 320; i++) {
        bool found = false;

        for (j = 0; j < f->nserials; j++)
            found = found || f->serials[j] == i;
        g_assert_true(found);
    }
    rpcClientFree(c);
    WAIT_UNTIL(rpcServerClientCount(f->srv) == 0, 5000);
    serverStop(f);
}

/* A PING gets a PONG, byte for byte, and the connection goes on. */
static void
testKeepalive(void)
{
    static const char ping[] = "\x00\x00\x00\x1c\x6b\x65\x65\x70\x00\x00\x00\x01\x00\x00\x00\x01"
                               "\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00";
    static const char pong[] = "\x00\x00\x00\x1c\x6b\x65\x65\x70\x00\x00\x00\x01\x00\x00\x00\x02"
                               "\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00";
    Fixture *f = serverStart(10, 4, 0, 2);
    int fd = rawConnect(f->path);
    g_autoptr(rpcMessage) msg = NULL;
    g_autoptr(rpcMessage) reply = NULL;

    rawSend(fd, ping, 28);
    msg = rawReadPacket(fd);
    g_assert_nonnull(msg);
    g_assert_cmpmem(msg->data, msg->len, pong, 28);

    /* a PONG from the client is ignored; a call still works */
    rawSend(fd, pong, 28);
    rawSendCall(fd, RPC_REMOTE_PROGRAM, 1, REMOTE_PROC_CONNECT_GET_TYPE, 7, NULL, NULL);
    reply = rawReadPacket(fd);
    g_assert_nonnull(reply);
    g_assert_cmpint(reply->header.type, ==, RPC_REPLY);
    g_assert_cmpint(reply->header.status, ==, RPC_OK);
    g_assert_cmpuint(reply->header.serial, ==, 7);
    g_assert_cmpint(f->dispatched, ==, 1);
    close(fd);
    WAIT_UNTIL(rpcServerClientCount(f->srv) == 0, 5000);
    serverStop(f);
}

static void
expectProgramError(int fd, uint32_t prog, uint32_t vers, uint32_t serial)
{
    g_autoptr(rpcMessage) reply = rawReadPacket(fd);
    g_autofree char *expect = g_strdup_printf("Cannot find program %d version %d", (int)prog, (int)vers);
    remote_error rerr = { 0 };

    g_assert_nonnull(reply);
    g_assert_cmpuint(reply->header.prog, ==, prog);
    g_assert_cmpuint(reply->header.vers, ==, vers);
    g_assert_cmpint(reply->header.proc, ==, 3);
    g_assert_cmpint(reply->header.type, ==, RPC_REPLY);
    g_assert_cmpint(reply->header.status, ==, RPC_ERROR);
    g_assert_cmpuint(reply->header.serial, ==, serial);
    g_assert_cmpint(rpcMessageDecodePayload(reply, (xdrproc_t)xdr_remote_error, &rerr), ==, 0);
    g_assert_cmpint(rerr.code, ==, 39);
    g_assert_cmpint(rerr.domain, ==, 7);
    g_assert_cmpint(rerr.level, ==, 2);
    g_assert_nonnull(rerr.message);
    g_assert_cmpstr(*rerr.message, ==, expect);
    xdr_free((xdrproc_t)xdr_remote_error, &rerr);
}

/* An unknown program, or the remote program at another version, gets
 * "Cannot find program"; the connection keeps working. */
static void
testUnknownProgram(void)
{
    Fixture *f = serverStart(10, 4, 0, 2);
    int fd = rawConnect(f->path);
    g_autoptr(rpcMessage) reply = NULL;

    rawSendCall(fd, RPC_QEMU_PROGRAM, 2, 3, 0, NULL, NULL);
    expectProgramError(fd, RPC_QEMU_PROGRAM, 2, 0);
    rawSendCall(fd, RPC_REMOTE_PROGRAM, 2, 3, 1, NULL, NULL);
    expectProgramError(fd, RPC_REMOTE_PROGRAM, 2, 1);
    rawSendCall(fd, 0xdeadbeef, 1, 3, 2, NULL, NULL);
    expectProgramError(fd, 0xdeadbeef, 1, 2);

    rawSendCall(fd, RPC_REMOTE_PROGRAM, 1, REMOTE_PROC_CONNECT_GET_TYPE, 3, NULL, NULL);
    reply = rawReadPacket(fd);
    g_assert_nonnull(reply);
    g_assert_cmpint(reply->header.status, ==, RPC_OK);
    g_assert_cmpuint(reply->header.serial, ==, 3);
    g_assert_cmpint(f->dispatched, ==, 1);
    close(fd);
    WAIT_UNTIL(rpcServerClientCount(f->srv) == 0, 5000);
    serverStop(f);
}

/* An unknown procedure is the dispatcher's error, given verbatim to the
 * client; the connection goes on. */
static void
testUnknownProcedure(void)
{
    Fixture *f = serverStart(10, 4, 0, 2);
    rpcClient *c = clientOpen(f->path);
    const iovError *err;
    g_autofree char *type = NULL;

    g_assert_cmpint(rpcClientCall(c, RPC_REMOTE_PROGRAM, 1, 999, NULL, NULL, NULL, NULL, 5000), ==, -1);
    err = utilGetError();
    g_assert_nonnull(err);
    g_assert_cmpint(err->code, ==, 39);
    g_assert_cmpint(err->domain, ==, 7);
    g_assert_cmpint(err->level, ==, 2);
    g_assert_cmpstr(err->message, ==, "unknown procedure: 999");
    g_assert_cmpint(err->int1, ==, -1);
    utilResetError();
    type = callGetType(c);
    g_assert_cmpstr(type, ==, "QEMU");
    rpcClientFree(c);
    WAIT_UNTIL(rpcServerClientCount(f->srv) == 0, 5000);
    serverStop(f);
}

/* Stream data for no stream of the client is dropped, as libvirt's
 * daemon drops what arrives after it closed a stream; the connection
 * goes on. */
static void
testStreamPacketForNoStreamDropped(void)
{
    static const char packet[] = "\x00\x00\x00\x20\x20\x00\x80\x86\x00\x00\x00\x01\x00\x00\x00\xc9"
                                 "\x00\x00\x00\x03\x00\x00\x00\x07\x00\x00\x00\x02"
                                 "data";
    Fixture *f = serverStart(10, 4, 0, 2);
    int fd = rawConnect(f->path);
    g_autoptr(rpcMessage) reply = NULL;

    rawSend(fd, packet, sizeof(packet) - 1);
    rawSendCall(fd, RPC_REMOTE_PROGRAM, 1, REMOTE_PROC_CONNECT_GET_TYPE, 8, NULL, NULL);
    reply = rawReadPacket(fd);
    g_assert_nonnull(reply);
    g_assert_cmpint(reply->header.type, ==, RPC_REPLY);
    g_assert_cmpint(reply->header.status, ==, RPC_OK);
    g_assert_cmpuint(reply->header.serial, ==, 8);
    close(fd);
    WAIT_UNTIL(rpcServerClientCount(f->srv) == 0, 5000);
    serverStop(f);
}

/* Send a STREAM packet of `status` with `len` raw bytes for serial 5 of
 * DOMAIN_OPEN_CONSOLE. */
static void
rawSendStream(int fd, int status, const char *data, size_t len)
{
    rpcHeader h = {
        .prog = RPC_REMOTE_PROGRAM,
        .vers = 1,
        .proc = REMOTE_PROC_DOMAIN_OPEN_CONSOLE,
        .type = RPC_STREAM,
        .serial = 5,
        .status = status,
    };
    g_autoptr(rpcMessage) msg = rpcMessageEncodeRaw(&h, data, len);

    g_assert_nonnull(msg);
    rawSend(fd, msg->data, msg->len);
}

/* The next packet is a STREAM of serial 5 with `status` and payload `data`. */
static void
expectStream(int fd, int status, const char *data)
{
    g_autoptr(rpcMessage) m = rawReadPacket(fd);
    size_t off = RPC_LEN_LEN + RPC_HEADER_LEN;

    g_assert_nonnull(m);
    g_assert_cmpint(m->header.type, ==, RPC_STREAM);
    g_assert_cmpint(m->header.proc, ==, REMOTE_PROC_DOMAIN_OPEN_CONSOLE);
    g_assert_cmpuint(m->header.serial, ==, 5);
    g_assert_cmpint(m->header.status, ==, status);
    g_assert_cmpuint(m->len - off, ==, strlen(data));
    g_assert_true(memcmp(m->data + off, data, strlen(data)) == 0);
}

/* A stream as libvirt's daemon runs one: the reply first, then data both
 * ways under the call's serial; an empty CONTINUE ends the server's data;
 * the client's finish (OK) and abort (ERROR) are confirmed by an empty
 * OK; afterwards its packets are dropped and the connection goes on. */
static void
testStreamPackets(void)
{
    Fixture *f = serverStart(10, 4, 0, 2);
    int fd = rawConnect(f->path);
    remote_domain_open_console_args args = {.dom = {.name = (char *)"d", .id = -1}};
    g_autoptr(rpcMessage) reply = NULL;
    g_autoptr(rpcMessage) after = NULL;

    rawSendCall(fd, RPC_REMOTE_PROGRAM, 1, REMOTE_PROC_DOMAIN_OPEN_CONSOLE, 5,
                (xdrproc_t)xdr_remote_domain_open_console_args, &args);
    reply = rawReadPacket(fd);
    g_assert_nonnull(reply);
    g_assert_cmpint(reply->header.type, ==, RPC_REPLY);
    g_assert_cmpint(reply->header.status, ==, RPC_OK);
    expectStream(fd, RPC_CONTINUE, "hello");
    rawSendStream(fd, RPC_CONTINUE, "abc", 3);
    expectStream(fd, RPC_CONTINUE, "abc");
    rawSendStream(fd, RPC_CONTINUE, "eof", 3);
    expectStream(fd, RPC_CONTINUE, "");
    /* data after the server's end is dropped; the finish is confirmed */
    rawSendStream(fd, RPC_CONTINUE, "late", 4);
    rawSendStream(fd, RPC_OK, NULL, 0);
    expectStream(fd, RPC_OK, "");
    WAIT_UNTIL(g_atomic_int_get(&f->streamEnded) == 1, 5000);

    /* a second stream, aborted by the client */
    g_atomic_int_set(&f->streamEnded, 0);
    rawSendCall(fd, RPC_REMOTE_PROGRAM, 1, REMOTE_PROC_DOMAIN_OPEN_CONSOLE, 5,
                (xdrproc_t)xdr_remote_domain_open_console_args, &args);
    g_clear_pointer(&reply, rpcMessageFree);
    reply = rawReadPacket(fd);
    g_assert_cmpint(reply->header.type, ==, RPC_REPLY);
    expectStream(fd, RPC_CONTINUE, "hello");
    rawSendStream(fd, RPC_ERROR, NULL, 0);
    expectStream(fd, RPC_OK, "");
    WAIT_UNTIL(g_atomic_int_get(&f->streamEnded) == 2, 5000);

    /* the stream is gone: its packets are dropped, calls go on */
    rawSendStream(fd, RPC_CONTINUE, "nobody", 6);
    rawSendCall(fd, RPC_REMOTE_PROGRAM, 1, REMOTE_PROC_CONNECT_GET_TYPE, 9, NULL, NULL);
    after = rawReadPacket(fd);
    g_assert_cmpint(after->header.type, ==, RPC_REPLY);
    g_assert_cmpuint(after->header.serial, ==, 9);

    /* a third one, ended by the client going away */
    g_atomic_int_set(&f->streamEnded, 0);
    rawSendCall(fd, RPC_REMOTE_PROGRAM, 1, REMOTE_PROC_DOMAIN_OPEN_CONSOLE, 5,
                (xdrproc_t)xdr_remote_domain_open_console_args, &args);
    g_clear_pointer(&reply, rpcMessageFree);
    reply = rawReadPacket(fd);
    expectStream(fd, RPC_CONTINUE, "hello");
    close(fd);
    WAIT_UNTIL(g_atomic_int_get(&f->streamEnded) == 2, 5000);
    WAIT_UNTIL(rpcServerClientCount(f->srv) == 0, 5000);
    serverStop(f);
}

/* Bad input closes only the client that sent it. */
static void
testBadInputClosesOnlyThatClient(void)
{
    static const struct {
        const char *what;
        const char *bytes;
        size_t len;
    } cases[] = {
        { "http", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27 },
        { "oversized", "\x02\x00\x00\x05", 4 },
        { "huge", "\xff\xff\xff\xff", 4 },
        { "undersized", "\x00\x00\x00\x10" "0123456789ab", 16 },
        { "reply-type", "\x00\x00\x00\x1c\x20\x00\x80\x86\x00\x00\x00\x01\x00\x00\x00\x03"
                        "\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00", 28 },
        { "call-with-error-status", "\x00\x00\x00\x1c\x20\x00\x80\x86\x00\x00\x00\x01\x00\x00\x00\x03"
                                    "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01", 28 },
    };
    Fixture *f = serverStart(10, 4, 0, 2);
    rpcClient *good = clientOpen(f->path);
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(cases); i++) {
        int fd = rawConnect(f->path);
        g_autofree char *type = NULL;

        g_test_message("bad input: %s", cases[i].what);
        rawSend(fd, cases[i].bytes, cases[i].len);
        rawExpectEOF(fd);
        close(fd);
        type = callGetType(good);
        g_assert_cmpstr(type, ==, "QEMU");
    }
    g_assert_cmpint(f->dispatched, ==, (int)G_N_ELEMENTS(cases));
    WAIT_UNTIL(rpcServerClientCount(f->srv) == 1, 5000);
    rpcClientFree(good);
    WAIT_UNTIL(rpcServerClientCount(f->srv) == 0, 5000);
    serverStop(f);
}

/* Half a packet then EOF: the client goes, the server goes on. */
static void
testTruncatedThenEOF(void)
{
    Fixture *f = serverStart(10, 4, 0, 2);
    int fd = rawConnect(f->path);
    char partial[34] = { 0x00, 0x00, 0x00, 0x44, 0x20, 0x00, 0x80, 0x86 };
    rpcClient *c;
    g_autofree char *type = NULL;

    rawSend(fd, partial, sizeof(partial));
    WAIT_UNTIL(g_atomic_int_get(&f->connected) == 1, 5000);
    close(fd);
    WAIT_UNTIL(g_atomic_int_get(&f->disconnected) == 1, 5000);
    g_assert_cmpint(f->dispatched, ==, 0);

    fd = rawConnect(f->path);
    rawSend(fd, partial, 2); /* not even a length word */
    close(fd);
    WAIT_UNTIL(g_atomic_int_get(&f->disconnected) == 2, 5000);

    c = clientOpen(f->path);
    type = callGetType(c);
    g_assert_cmpstr(type, ==, "QEMU");
    rpcClientFree(c);
    WAIT_UNTIL(rpcServerClientCount(f->srv) == 0, 5000);
    serverStop(f);
}

/* Over maxClients a connection gets an error and is closed; the others go on,
 * and a place freed is taken again. */
static void
testMaxClients(void)
{
    Fixture *f = serverStart(2, 4, 0, 2);
    rpcClient *a = clientOpen(f->path);
    rpcClient *b = clientOpen(f->roPath);
    rpcClient *d;
    g_autofree char *t1 = callGetType(a);
    g_autofree char *t2 = callGetType(b);
    g_autofree char *t3 = NULL;
    g_autofree char *t4 = NULL;
    int fd;

    g_assert_cmpstr(t1, ==, "QEMU");
    g_assert_cmpstr(t2, ==, "QEMU");
    g_assert_cmpuint(rpcServerClientCount(f->srv), ==, 2);

    /* a connection over the limit that says nothing is closed soon */
    fd = rawConnect(f->path);
    rawExpectEOF(fd);
    close(fd);
    g_assert_cmpint(f->connected, ==, 2);

    /* one that calls is told why, then closed */
    d = clientOpen(f->path);
    g_assert_null(callGetType(d));
    g_assert_cmpint(utilGetError()->code, ==, IOV_ERR_RESOURCE_BUSY);
    g_assert_cmpstr(utilGetError()->message, ==,
                    "resource busy: too many clients: this daemon serves at most 2 connections; try again later");
    WAIT_UNTIL(!rpcClientIsOpen(d) || callGetType(d) == NULL, 5000);
    utilResetError();
    rpcClientFree(d);
    g_assert_cmpint(f->connected, ==, 2);

    t3 = callGetType(a);
    g_assert_cmpstr(t3, ==, "QEMU");
    rpcClientFree(a);
    WAIT_UNTIL(rpcServerClientCount(f->srv) == 1, 5000);

    d = clientOpen(f->path);
    t4 = callGetType(d);
    g_assert_cmpstr(t4, ==, "QEMU");
    rpcClientFree(d);
    rpcClientFree(b);
    WAIT_UNTIL(rpcServerClientCount(f->srv) == 0, 5000);
    g_assert_cmpint(f->connected, ==, 3);
    serverStop(f);
}

/* A client that pipelines 20 slow calls never has more than
 * maxRequestsPerClient of them running, and gets all 20 replies. */
static void
testMaxRequestsPerClient(void)
{
    Fixture *f = serverStart(10, 3, 0, 8);
    int fd = rawConnect(f->path);
    bool seen[20] = { false };
    int i;

    f->slowMs = 100;
    for (i = 0; i < 20; i++)
        rawSendCall(fd, RPC_REMOTE_PROGRAM, 1, REMOTE_PROC_CONNECT_GET_HOSTNAME, i, NULL, NULL);
    for (i = 0; i < 20; i++) {
        g_autoptr(rpcMessage) reply = rawReadPacket(fd);
        remote_connect_get_hostname_ret ret = { 0 };

        g_assert_nonnull(reply);
        g_assert_cmpint(reply->header.status, ==, RPC_OK);
        g_assert_cmpuint(reply->header.serial, <, 20);
        g_assert_false(seen[reply->header.serial]);
        seen[reply->header.serial] = true;
        g_assert_cmpint(rpcMessageDecodePayload(reply, (xdrproc_t)xdr_remote_connect_get_hostname_ret, &ret), ==, 0);
        g_assert_cmpstr(ret.hostname, ==, "slowhost");
        xdr_free((xdrproc_t)xdr_remote_connect_get_hostname_ret, &ret);
    }
    g_assert_cmpint(f->dispatched, ==, 20);
    g_assert_cmpint(f->maxActive, <=, 3);
    g_assert_cmpint(f->maxActive, >=, 2);
    close(fd);
    WAIT_UNTIL(rpcServerClientCount(f->srv) == 0, 5000);
    serverStop(f);
}

/*
 * Calls sent in one write are answered, every one: 33 GET_TYPE calls of
 * 28 bytes come in one read of the server's packet reader, more than it
 * reads in one turn (RPC_SERVER_READ_BUDGET), so the last one waits in
 * the reader, where no poll announces it, and must still be read.
 */
static void
testCallsInOneWrite(void)
{
    Fixture *f = serverStart(10, 64, 0, 2);
    int fd = rawConnect(f->path);
    g_autoptr(GByteArray) all = g_byte_array_new();
    bool seen[33] = { false };
    int i;

    for (i = 0; i < 33; i++) {
        rpcHeader h = {
            .prog = RPC_REMOTE_PROGRAM, .vers = 1, .proc = REMOTE_PROC_CONNECT_GET_TYPE,
            .type = RPC_CALL, .serial = i, .status = RPC_OK,
        };
        g_autoptr(rpcMessage) msg = rpcMessageEncode(&h, NULL, NULL);

        g_byte_array_append(all, (const guint8 *)msg->data, msg->len);
    }
    g_assert_cmpuint(all->len, <, RPC_READ_AHEAD);
    rawSend(fd, all->data, all->len);
    for (i = 0; i < 33; i++) {
        g_autoptr(rpcMessage) reply = rawReadPacket(fd);

        g_assert_nonnull(reply);
        g_assert_cmpint(reply->header.status, ==, RPC_OK);
        g_assert_cmpuint(reply->header.serial, <, 33);
        g_assert_false(seen[reply->header.serial]);
        seen[reply->header.serial] = true;
    }
    g_assert_cmpint(f->dispatched, ==, 33);
    close(fd);
    WAIT_UNTIL(rpcServerClientCount(f->srv) == 0, 5000);
    serverStop(f);
}

/*
 * Quick calls are answered by the server's thread as they are read, so
 * they pass a call that holds the only worker: of a slow GET_HOSTNAME,
 * then GET_TYPE and a CONNECT_SUPPORTS_FEATURE (quick, answered) and a
 * GET_URI (quick, handed back), the two answered come first, then the
 * worker's two in their order. A call the table does not mark quick
 * (DOMAIN_GET_XML_DESC) never reaches dispatchQuick.
 */
static void
testQuickCalls(void)
{
    rpcServerConfig cfg = {.maxClients = 10, .maxRequestsPerClient = 8, .workers = 1};
    Fixture *f = serverStartWith(&cfg, &quickCallbacks);
    remote_connect_supports_feature_args feature = {.feature = 5};
    remote_domain_get_xml_desc_args xmlDesc = {.dom = {.name = (char *)"d"}};
    int fd = rawConnect(f->path);
    const guint32 order[] = {2, 3, 1, 4};
    size_t i;

    f->slowMs = 300;
    rawSendCall(fd, RPC_REMOTE_PROGRAM, 1, REMOTE_PROC_CONNECT_GET_HOSTNAME, 1, NULL, NULL);
    WAIT_UNTIL(g_atomic_int_get(&f->active) == 1, 5000);
    rawSendCall(fd, RPC_REMOTE_PROGRAM, 1, REMOTE_PROC_CONNECT_GET_TYPE, 2, NULL, NULL);
    rawSendCall(fd, RPC_REMOTE_PROGRAM, 1, REMOTE_PROC_CONNECT_SUPPORTS_FEATURE, 3,
                (xdrproc_t)xdr_remote_connect_supports_feature_args, &feature);
    rawSendCall(fd, RPC_REMOTE_PROGRAM, 1, REMOTE_PROC_CONNECT_GET_URI, 4, NULL, NULL);
    for (i = 0; i < G_N_ELEMENTS(order); i++) {
        g_autoptr(rpcMessage) reply = rawReadPacket(fd);

        g_assert_nonnull(reply);
        g_assert_cmpint(reply->header.status, ==, RPC_OK);
        g_assert_cmpuint(reply->header.serial, ==, order[i]);
        if (reply->header.serial == 3) {
            remote_connect_supports_feature_ret ret = {0};

            g_assert_cmpint(rpcMessageDecodePayload(
                                reply, (xdrproc_t)xdr_remote_connect_supports_feature_ret, &ret),
                            ==, 0);
            g_assert_cmpint(ret.supported, ==, 11);
        }
    }
    g_assert_cmpint(f->quickTried, ==, 4);
    g_assert_cmpint(f->quickAnswered, ==, 2);
    g_assert_cmpint(f->dispatched, ==, 4);

    /* not quick: straight to the worker */
    g_assert_false(rpcRemoteProcLookup(REMOTE_PROC_DOMAIN_GET_XML_DESC)->quick);
    rawSendCall(fd, RPC_REMOTE_PROGRAM, 1, REMOTE_PROC_DOMAIN_GET_XML_DESC, 5,
                (xdrproc_t)xdr_remote_domain_get_xml_desc_args, &xmlDesc);
    {
        g_autoptr(rpcMessage) reply = rawReadPacket(fd);

        g_assert_nonnull(reply);
        g_assert_cmpint(reply->header.status, ==, RPC_OK);
        g_assert_cmpuint(reply->header.serial, ==, 5);
    }
    g_assert_cmpint(f->quickTried, ==, 4);
    g_assert_cmpint(f->dispatched, ==, 5);
    close(fd);
    WAIT_UNTIL(rpcServerClientCount(f->srv) == 0, 5000);
    serverStop(f);
}

/* A silent client is closed after the idle timeout; one that talks, or
 * waits for a reply, is not. */
static void
testIdleTimeout(void)
{
    Fixture *f = serverStart(10, 4, 1, 2);
    int fd = rawConnect(f->path);
    rpcClient *c = clientOpen(f->path);
    gint64 start = g_get_monotonic_time();
    int i;

    f->slowMs = 1600;
    g_assert_cmpint(callSlow(c, 10000), ==, 0); /* in flight longer than the timeout */
    for (i = 0; i < 6; i++) {
        g_autofree char *type = callGetType(c);

        g_assert_cmpstr(type, ==, "QEMU");
        g_usleep(300 * 1000);
    }
    rawExpectEOF(fd);
    g_assert_cmpint(g_get_monotonic_time() - start, >=, 900 * 1000);
    close(fd);
    g_assert_true(rpcClientIsOpen(c));
    WAIT_UNTIL(rpcServerClientCount(f->srv) == 1, 5000);

    /* the talking client goes silent too, and is closed */
    WAIT_UNTIL(rpcServerClientCount(f->srv) == 0, 5000);
    g_assert_null(callGetType(c));
    g_assert_false(rpcClientIsOpen(c));
    utilResetError();
    rpcClientFree(c);
    serverStop(f);
}

/* A client that sends calls with large replies and never reads them
 * blocks neither the workers nor the other clients, and is closed when
 * its unread output passes the cap. */
static void
testNonReadingClient(void)
{
    Fixture *f = serverStart(10, 8, 0, 2);
    int fd = rawConnect(f->path);
    rpcClient *c = clientOpen(f->path);
    remote_domain_get_xml_desc_args args = { .dom = { .name = (char *)"demo", .id = 1 } };
    int i;

    for (i = 0; i < 100; i++)
        rawSendCall(fd, RPC_REMOTE_PROGRAM, 1, REMOTE_PROC_DOMAIN_GET_XML_DESC, i,
                    (xdrproc_t)xdr_remote_domain_get_xml_desc_args, &args);
    for (i = 0; i < 20; i++) {
        gint64 t0 = g_get_monotonic_time();
        g_autofree char *type = callGetType(c);

        g_assert_cmpstr(type, ==, "QEMU");
        g_assert_cmpint(g_get_monotonic_time() - t0, <, 2 * G_USEC_PER_SEC * testTimeScale());
    }
    /* over 64 MiB of replies waiting: the reader-less client is closed */
    WAIT_UNTIL(g_atomic_int_get(&f->disconnected) == 1, 20000);
    g_assert_cmpuint(rpcServerClientCount(f->srv), ==, 1);
    close(fd);
    {
        g_autofree char *type = callGetType(c);

        g_assert_cmpstr(type, ==, "QEMU");
    }
    rpcClientFree(c);
    WAIT_UNTIL(rpcServerClientCount(f->srv) == 0, 5000);
    serverStop(f);
}

/* The read-only listener's clients are read-only, the other's are not. */
static void
testReadonlyListener(void)
{
    Fixture *f = serverStart(10, 4, 0, 2);
    rpcClient *rw = clientOpen(f->path);
    rpcClient *ro = clientOpen(f->roPath);
    const char *expect[2] = { "readwrite", "readonly" };
    rpcClient *cs[2] = { rw, ro };
    int i;

    for (i = 0; i < 2; i++) {
        remote_connect_get_uri_ret ret = { 0 };

        g_assert_cmpint(rpcClientCall(cs[i], RPC_REMOTE_PROGRAM, 1, REMOTE_PROC_CONNECT_GET_URI,
                                      NULL, NULL, (xdrproc_t)xdr_remote_connect_get_uri_ret, &ret, 5000), ==, 0);
        g_assert_cmpstr(ret.uri, ==, expect[i]);
        xdr_free((xdrproc_t)xdr_remote_connect_get_uri_ret, &ret);
    }
    rpcClientFree(rw);
    rpcClientFree(ro);
    WAIT_UNTIL(rpcServerClientCount(f->srv) == 0, 5000);
    serverStop(f);
}

/* Read-only clients over maxReadonlyClients are told so and closed;
 * read-write ones still get in, and a read-only one does once a
 * read-only client has left. */
static void
testMaxReadonlyClients(void)
{
    rpcServerConfig cfg = { .maxClients = 10, .maxReadonlyClients = 2, .maxRequestsPerClient = 4, .workers = 2 };
    Fixture *f = serverStartConfig(&cfg);
    rpcClient *ro[2] = { clientOpen(f->roPath), clientOpen(f->roPath) };
    rpcClient *extra, *rw;
    g_autofree char *t1 = callGetType(ro[0]);
    g_autofree char *t2 = callGetType(ro[1]);
    g_autofree char *t3 = NULL;
    g_autofree char *t4 = NULL;

    g_assert_cmpstr(t1, ==, "QEMU");
    g_assert_cmpstr(t2, ==, "QEMU");
    extra = clientOpen(f->roPath);
    g_assert_null(callGetType(extra));
    g_assert_cmpint(utilGetError()->code, ==, IOV_ERR_RESOURCE_BUSY);
    g_assert_cmpstr(utilGetError()->message, ==,
                    "resource busy: too many read-only clients: this daemon serves at most 2 read-only connections; try again later");
    utilResetError();
    rpcClientFree(extra);

    rw = clientOpen(f->path);
    t3 = callGetType(rw);
    g_assert_cmpstr(t3, ==, "QEMU");
    g_assert_cmpuint(rpcServerClientCount(f->srv), ==, 3);

    rpcClientFree(ro[0]);
    WAIT_UNTIL(rpcServerClientCount(f->srv) == 2, 5000);
    ro[0] = clientOpen(f->roPath);
    t4 = callGetType(ro[0]);
    g_assert_cmpstr(t4, ==, "QEMU");
    rpcClientFree(ro[0]);
    rpcClientFree(ro[1]);
    rpcClientFree(rw);
    WAIT_UNTIL(rpcServerClientCount(f->srv) == 0, 5000);
    g_assert_cmpint(f->connected, ==, 4);
    serverStop(f);
}

/* Send a LOOKUP_BY_NAME call of exactly `len` bytes on `fd`; a server
 * that refuses it may close before the end (the reply says so). */
static void
rawSendLookupOfSize(int fd, size_t len, uint32_t serial)
{
    g_autofree char *name = g_strnfill(len - RPC_LEN_LEN - RPC_HEADER_LEN - 4, 'n');
    remote_domain_lookup_by_name_args args = { .name = name };
    rpcHeader h = {
        .prog = RPC_REMOTE_PROGRAM, .vers = 1, .proc = REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME,
        .type = RPC_CALL, .serial = serial, .status = RPC_OK,
    };
    g_autoptr(rpcMessage) msg = rpcMessageEncode(&h, (xdrproc_t)xdr_remote_domain_lookup_by_name_args,
                                                 &args);

    g_assert_cmpuint(len % 4, ==, 0);
    g_assert_nonnull(msg);
    rawSendMayBeCut(fd, msg->data, msg->len);
}

/* The reply to a LOOKUP_BY_NAME: the name's length, or -1 for an error
 * reply, whose message goes to *message. */
static ssize_t
rawReadLookupReply(int fd, char **message)
{
    g_autoptr(rpcMessage) msg = rawReadPacket(fd);

    g_assert_nonnull(msg);
    if (msg->header.status == RPC_ERROR) {
        remote_error err = { 0 };

        g_assert_cmpint(rpcMessageDecodePayload(msg, (xdrproc_t)xdr_remote_error, &err), ==, 0);
        *message = g_strdup(*err.message);
        xdr_free((xdrproc_t)xdr_remote_error, &err);
        return -1;
    } else {
        remote_domain_lookup_by_name_ret ret = { { 0 } };
        ssize_t len;

        g_assert_cmpint(rpcMessageDecodePayload(msg, (xdrproc_t)xdr_remote_domain_lookup_by_name_ret, &ret), ==, 0);
        len = strlen(ret.dom.name);
        xdr_free((xdrproc_t)xdr_remote_domain_lookup_by_name_ret, &ret);
        return len;
    }
}

/*
 * A read-only client may send a call of RPC_READONLY_MESSAGE_MAX bytes;
 * one announcing more is answered with an error naming both sizes and
 * closed, its body unread. A read-write client may send more.
 */
static void
testReadonlyPacketLimit(void)
{
    Fixture *f = serverStart(10, 4, 0, 2);
    size_t max = RPC_LEN_LEN + RPC_READONLY_MESSAGE_MAX;
    int ro = rawConnect(f->roPath);
    int rw = rawConnect(f->path);
    g_autofree char *message = NULL;
    g_autofree char *want = g_strdup_printf("packet of %zu bytes exceeds the maximum of %zu bytes on a read-only connection",
                                            max + 4, max);
    g_autofree char *junk = g_strnfill(1000, 'j');
    unsigned char huge[28] = { 0x02, 0, 0, 4, 0x20, 0x00, 0x80, 0x86, 0, 0, 0, 1, 0, 0, 0, 23,
                               0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0 }; /* 32 MiB announced */

    rawSendLookupOfSize(ro, max, 1);
    g_assert_cmpint(rawReadLookupReply(ro, &message), ==, max - RPC_LEN_LEN - RPC_HEADER_LEN - 4);
    rawSendLookupOfSize(ro, max + 4, 2);
    g_assert_cmpint(rawReadLookupReply(ro, &message), ==, -1);
    g_assert_cmpstr(message, ==, want);
    rawExpectEOF(ro);
    close(ro);

    /* the body of a huge packet is never waited for */
    ro = rawConnect(f->roPath);
    rawSend(ro, huge, sizeof(huge));
    /* the server may already have answered and closed: the body may not
     * get through, which is the point */
    rawSendMayBeCut(ro, junk, 1000);
    g_clear_pointer(&message, g_free);
    g_assert_cmpint(rawReadLookupReply(ro, &message), ==, -1);
    g_assert_true(g_str_has_prefix(message, "packet of 33554436 bytes exceeds the maximum"));
    rawExpectEOF(ro);
    close(ro);

    rawSendLookupOfSize(rw, 4 * max, 3);
    g_assert_cmpint(rawReadLookupReply(rw, &message), ==, 4 * max - RPC_LEN_LEN - RPC_HEADER_LEN - 4);
    close(rw);

    /* what a client of the library sees: the error, then the end */
    {
        rpcClient *c = clientOpen(f->roPath);
        g_autofree char *name = g_strnfill(20000, 'n');
        remote_domain_lookup_by_name_args args = { .name = name };
        remote_domain_lookup_by_name_ret ret = { { 0 } };

        g_assert_cmpint(rpcClientCall(c, RPC_REMOTE_PROGRAM, 1, REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME,
                                      (xdrproc_t)xdr_remote_domain_lookup_by_name_args, &args,
                                      (xdrproc_t)xdr_remote_domain_lookup_by_name_ret, &ret, 10000), ==, -1);
        g_assert_cmpint(utilGetError()->code, ==, IOV_ERR_RPC);
        g_assert_cmpstr(utilGetError()->message, ==,
                        "packet of 20032 bytes exceeds the maximum of 16388 bytes on a read-only connection");
        utilResetError();
        rpcClientFree(c);
    }
    WAIT_UNTIL(rpcServerClientCount(f->srv) == 0, 5000);
    serverStop(f);
}

/* A client over maxClients is told why even when its first call is
 * large: only the header is read. */
static void
testRefusedClientLargeCall(void)
{
    Fixture *f = serverStart(1, 4, 0, 2);
    rpcClient *a = clientOpen(f->path);
    g_autofree char *t = callGetType(a);
    g_autofree char *message = NULL;
    int fd;

    g_assert_cmpstr(t, ==, "QEMU");
    fd = rawConnect(f->path);
    rawSendLookupOfSize(fd, 200000, 5);
    g_assert_cmpint(rawReadLookupReply(fd, &message), ==, -1);
    g_assert_cmpstr(message, ==, "resource busy: too many clients: this daemon serves at most 1 connections; try again later");
    rawExpectEOF(fd);
    close(fd);
    rpcClientFree(a);
    WAIT_UNTIL(rpcServerClientCount(f->srv) == 0, 5000);
    serverStop(f);
}

/* A read-only client that does not read its replies is closed once
 * more than 1 MiB waits for it (the first reply is always taken). */
static void
testReadonlyNonReadingClient(void)
{
    Fixture *f = serverStart(10, 8, 0, 2);
    int fd = rawConnect(f->roPath);
    remote_domain_get_xml_desc_args args = { .dom = { .name = (char *)"demo", .id = 1 } };
    int i;

    /* replies of 1 MiB: the third cannot be queued */
    for (i = 0; i < 4; i++)
        rawSendCall(fd, RPC_REMOTE_PROGRAM, 1, REMOTE_PROC_DOMAIN_GET_XML_DESC, i,
                    (xdrproc_t)xdr_remote_domain_get_xml_desc_args, &args);
    WAIT_UNTIL(g_atomic_int_get(&f->disconnected) == 1, 10000);
    close(fd);
    serverStop(f);
}

/* An event packet of `len` bytes (header and padding). */
static rpcMessage *
eventPacket(size_t len)
{
    rpcHeader hdr = {.prog = RPC_REMOTE_PROGRAM, .vers = 1, .proc = 318, .type = RPC_MESSAGE};
    rpcMessage *m = rpcMessageEncode(&hdr, NULL, NULL);

    m->data = g_realloc(m->data, len);
    memset(m->data + m->len, 0, len - m->len);
    m->data[0] = (char)(len >> 24);
    m->data[1] = (char)(len >> 16);
    m->data[2] = (char)(len >> 8);
    m->data[3] = (char)len;
    m->len = len;
    return m;
}

/* Events are bounded among themselves: a client with a 1 MiB reply still
 * being written is not dropped by its next event; one that leaves more
 * than the limit of events unread is, and the others go on. */
static void
testEventsBoundedApartFromReplies(void)
{
    Fixture *f = serverStart(10, 8, 0, 2);
    int fd = rawConnect(f->path);
    rpcClient *c;
    remote_domain_get_xml_desc_args args = {.dom = {.name = (char *)"demo", .id = 1}};
    rpcServerClient *client;
    size_t queued = 0;
    int i, rc = 0;

    WAIT_UNTIL(g_atomic_int_get(&f->connected) == 1, 5000);
    g_mutex_lock(&f->lock);
    client = rpcServerClientRef(f->lastClient);
    g_mutex_unlock(&f->lock);
    c = clientOpen(f->path);
    /* a reply of 1 MiB, which this client does not read */
    rawSendCall(fd, RPC_REMOTE_PROGRAM, 1, REMOTE_PROC_DOMAIN_GET_XML_DESC, 0,
                (xdrproc_t)xdr_remote_domain_get_xml_desc_args, &args);
    /* queued, and not all written: the client reads nothing */
    WAIT_UNTIL(g_atomic_int_get(&f->replied) == 1, 10000);
    /* 15 events of 4 KiB fit in a limit of 64 KiB, over the reply */
    for (i = 0; i < 15; i++)
        g_assert_cmpint(rpcServerClientSendEvent(client, eventPacket(4096), 65536, &queued), ==, 0);
    /* more do not: the client goes, with what it left unread said */
    for (i = 0; i < 5 && rc == 0; i++)
        rc = rpcServerClientSendEvent(client, eventPacket(4096), 65536, &queued);
    g_assert_cmpint(rc, ==, -1);
    g_assert_cmpuint(queued, >, 65536);
    WAIT_UNTIL(g_atomic_int_get(&f->disconnected) == 1, 5000);
    /* a closed client takes events without a word */
    g_assert_cmpint(rpcServerClientSendEvent(client, eventPacket(4096), 65536, &queued), ==, 0);
    {
        g_autofree char *type = callGetType(c);

        g_assert_cmpstr(type, ==, "QEMU");
    }
    rpcServerClientUnref(client);
    close(fd);
    rpcClientFree(c);
    WAIT_UNTIL(rpcServerClientCount(f->srv) == 0, 5000);
    serverStop(f);
}

/* A reply, then rpcServerClientClose: the client gets the reply, then
 * the end of the connection; disconnected runs once. */
static void
testCloseAfterReply(void)
{
    Fixture *f = serverStart(10, 4, 0, 2);
    rpcClient *c = clientOpen(f->path);

    g_assert_cmpint(rpcClientCall(c, RPC_REMOTE_PROGRAM, 1, REMOTE_PROC_CONNECT_CLOSE,
                                  NULL, NULL, NULL, NULL, 5000), ==, 0);
    WAIT_UNTIL(g_atomic_int_get(&f->disconnected) == 1, 5000);
    g_assert_null(callGetType(c));
    g_assert_cmpstr(utilGetError()->message, ==, "connection closed by the server");
    g_assert_false(rpcClientIsOpen(c));
    utilResetError();
    rpcClientFree(c);
    serverStop(f);
}

/* Clients disconnected by every path get disconnected exactly once
 * (checked when their private data is freed), including those still
 * connected or with a call running when the server is freed. */
static void
testDisconnectedOnce(void)
{
    Fixture *f = serverStart(10, 4, 0, 2);
    rpcClient *a = clientOpen(f->path);
    rpcClient *b = clientOpen(f->path);
    int fd = rawConnect(f->path);
    g_autofree char *t = callGetType(a);

    g_assert_cmpstr(t, ==, "QEMU");
    rawSend(fd, "\xff\xff\xff\xff", 4);
    rawExpectEOF(fd);
    close(fd);
    WAIT_UNTIL(g_atomic_int_get(&f->disconnected) == 1, 5000);

    /* a slow call still running when the server stops */
    f->slowMs = 300;
    fd = rawConnect(f->path);
    rawSendCall(fd, RPC_REMOTE_PROGRAM, 1, REMOTE_PROC_CONNECT_GET_HOSTNAME, 0, NULL, NULL);
    WAIT_UNTIL(g_atomic_int_get(&f->active) == 1, 5000);
    WAIT_UNTIL(g_atomic_int_get(&f->connected) == 4, 5000);
    /* still open here: a and b (a socket and an eventfd each), the raw one */
    serverStopKeeping(f, 2 + 2 + 1);
    rawExpectEOF(fd);
    close(fd);
    g_assert_null(callGetType(a));
    g_assert_false(rpcClientIsOpen(a));
    utilResetError();
    rpcClientFree(a);
    rpcClientFree(b);
}

/* A connection the connected callback refuses is closed, and never
 * reported as disconnected. */
static void
testConnectedRefuses(void)
{
    Fixture *f = serverStart(10, 4, 0, 2);
    int fd;

    g_atomic_int_set(&f->refuse, 1);
    fd = rawConnect(f->path);
    rawExpectEOF(fd);
    close(fd);
    g_atomic_int_set(&f->refuse, 0);
    g_assert_cmpint(f->connected, ==, 0);
    g_assert_cmpint(f->disconnected, ==, 0);
    serverStop(f);
}

/* ---- the client against a scripted peer ---- */

typedef struct {
    rpcClient *c;
    int proc;
    int rc;
    char *type;
    iovError err;
    int timeoutMs;
} PeerCall;

static gpointer
peerCallThread(gpointer data)
{
    PeerCall *pc = data;
    remote_connect_get_type_ret ret = { 0 };

    pc->rc = rpcClientCall(pc->c, RPC_REMOTE_PROGRAM, 1, pc->proc, NULL, NULL,
                           (xdrproc_t)xdr_remote_connect_get_type_ret, &ret, pc->timeoutMs);
    if (pc->rc == 0) {
        pc->type = g_strdup(ret.type);
        xdr_free((xdrproc_t)xdr_remote_connect_get_type_ret, &ret);
    } else {
        utilErrorCopy(&pc->err, utilGetError());
    }
    return NULL;
}

static void
peerReply(int fd, const rpcHeader *call, const char *type)
{
    rpcHeader h = *call;
    remote_connect_get_type_ret ret = { .type = (char *)type };
    g_autoptr(rpcMessage) msg = NULL;

    h.type = RPC_REPLY;
    msg = rpcMessageEncode(&h, (xdrproc_t)xdr_remote_connect_get_type_ret, &ret);
    rawSend(fd, msg->data, msg->len);
}

/* The client answers the server's PING with a PONG while it waits. */
static void
testClientAnswersPing(void)
{
    static const char ping[] = "\x00\x00\x00\x1c\x6b\x65\x65\x70\x00\x00\x00\x01\x00\x00\x00\x01"
                               "\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00";
    int sv[2];
    PeerCall pc = { .proc = 3, .timeoutMs = 10000 };
    GThread *t;
    g_autoptr(rpcMessage) call = NULL;
    g_autoptr(rpcMessage) pong = NULL;

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
    pc.c = rpcClientNew(rpcStreamNewUnix(sv[0]));
    t = g_thread_new("peer-call", peerCallThread, &pc);
    call = rawReadPacket(sv[1]);
    g_assert_nonnull(call);
    g_assert_cmpuint(call->header.serial, ==, 0);
    g_assert_cmpint(call->header.type, ==, RPC_CALL);
    rawSend(sv[1], ping, 28);
    pong = rawReadPacket(sv[1]);
    g_assert_nonnull(pong);
    g_assert_cmpuint(pong->header.prog, ==, RPC_KEEPALIVE_PROGRAM);
    g_assert_cmpint(pong->header.proc, ==, RPC_KEEPALIVE_PONG);
    g_assert_cmpint(pong->header.type, ==, RPC_MESSAGE);
    g_assert_cmpuint(pong->len, ==, 28);
    peerReply(sv[1], &call->header, "PEER");
    g_thread_join(t);
    g_assert_cmpint(pc.rc, ==, 0);
    g_assert_cmpstr(pc.type, ==, "PEER");
    g_free(pc.type);
    rpcClientFree(pc.c);
    close(sv[1]);
}

/* Replies are matched by serial, whatever their order. */
static void
testClientRepliesOutOfOrder(void)
{
    int sv[2];
    PeerCall pc[3];
    GThread *t[3];
    rpcMessage *calls[3];
    rpcClient *c;
    int i;

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
    c = rpcClientNew(rpcStreamNewUnix(sv[0]));
    for (i = 0; i < 3; i++) {
        pc[i] = (PeerCall){ .c = c, .proc = 3, .timeoutMs = 10000 };
        t[i] = g_thread_new("peer-call", peerCallThread, &pc[i]);
        calls[i] = rawReadPacket(sv[1]);
        g_assert_cmpuint(calls[i]->header.serial, ==, i);
    }
    for (i = 2; i >= 0; i--) {
        g_autofree char *text = g_strdup_printf("serial-%u", calls[i]->header.serial);

        peerReply(sv[1], &calls[i]->header, text);
    }
    for (i = 0; i < 3; i++) {
        g_thread_join(t[i]);
        g_assert_cmpint(pc[i].rc, ==, 0);
        rpcMessageFree(calls[i]);
    }
    /* thread i sent serial i: each got the reply to its own serial */
    for (i = 0; i < 3; i++) {
        g_autofree char *expect = g_strdup_printf("serial-%d", i);

        g_assert_cmpstr(pc[i].type, ==, expect);
        g_free(pc[i].type);
    }
    rpcClientFree(c);
    close(sv[1]);
}

/* An error reply reaches the caller exactly as sent. */
static void
testClientErrorVerbatim(void)
{
    int sv[2];
    PeerCall pc = { .proc = 23, .timeoutMs = 10000 };
    GThread *t;
    g_autoptr(rpcMessage) call = NULL;
    g_autoptr(rpcMessage) reply = NULL;
    iovError err = {
        .code = 42, .domain = 10,
        .message = (char *)"Domain not found: no domain with matching name 'nosuch'",
        .level = 2, .str1 = (char *)"Domain not found: %s",
        .str2 = (char *)"no domain with matching name 'nosuch'", .int1 = -1, .int2 = -1,
    };

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
    pc.c = rpcClientNew(rpcStreamNewUnix(sv[0]));
    t = g_thread_new("peer-call", peerCallThread, &pc);
    call = rawReadPacket(sv[1]);
    reply = rpcMessageEncodeError(&call->header, &err);
    rawSend(sv[1], reply->data, reply->len);
    g_thread_join(t);
    g_assert_cmpint(pc.rc, ==, -1);
    g_assert_cmpint(pc.err.code, ==, 42);
    g_assert_cmpint(pc.err.domain, ==, 10);
    g_assert_cmpint(pc.err.level, ==, 2);
    g_assert_cmpstr(pc.err.message, ==, err.message);
    g_assert_cmpstr(pc.err.str1, ==, err.str1);
    g_assert_cmpstr(pc.err.str2, ==, err.str2);
    g_assert_null(pc.err.str3);
    g_assert_cmpint(pc.err.int1, ==, -1);
    iovResetError(&pc.err);
    g_assert_true(rpcClientIsOpen(pc.c));
    rpcClientFree(pc.c);
    close(sv[1]);
}

/* A timeout fails the call and closes the connection for good. */
static void
testClientTimeout(void)
{
    int sv[2];
    PeerCall pc = { .proc = 3, .timeoutMs = 100 };
    g_autoptr(rpcMessage) call = NULL;
    gint64 t0 = g_get_monotonic_time();
    g_autofree char *type = NULL;

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
    pc.c = rpcClientNew(rpcStreamNewUnix(sv[0]));
    peerCallThread(&pc);
    g_assert_cmpint(g_get_monotonic_time() - t0, >=, 90 * 1000);
    g_assert_cmpint(pc.rc, ==, -1);
    g_assert_cmpint(pc.err.code, ==, IOV_ERR_RPC);
    g_assert_cmpstr(pc.err.message, ==, "timed out waiting for the reply to procedure 3");
    iovResetError(&pc.err);
    g_assert_false(rpcClientIsOpen(pc.c));
    type = callGetType(pc.c);
    g_assert_null(type);
    g_assert_true(g_str_has_prefix(utilGetError()->message, "connection closed"));
    utilResetError();
    /* the peer saw the call, then the end of the connection */
    call = rawReadPacket(sv[1]);
    g_assert_nonnull(call);
    g_assert_null(rawReadPacket(sv[1]));
    rpcClientFree(pc.c);
    close(sv[1]);
}

/* The peer's EOF, a reply nobody waits for, or a call from the server
 * close the connection; the waiting call fails. */
static void
testClientBrokenPeer(void)
{
    static const char *const expect[] = {
        "connection closed by the server",
        "connection closed: no call waiting for reply with prog 536903814 vers 1 serial 99",
        "connection closed: got unexpected RPC call prog 536903814 vers 1 proc 3 from the server",
    };
    int mode;

    for (mode = 0; mode < 3; mode++) {
        int sv[2];
        PeerCall pc = { .proc = 3, .timeoutMs = 10000 };
        GThread *t;
        g_autoptr(rpcMessage) call = NULL;

        g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
        pc.c = rpcClientNew(rpcStreamNewUnix(sv[0]));
        t = g_thread_new("peer-call", peerCallThread, &pc);
        call = rawReadPacket(sv[1]);
        if (mode == 1) {
            rpcHeader h = call->header;

            h.serial = 99;
            peerReply(sv[1], &h, "stray");
        } else if (mode == 2) {
            rpcHeader h = call->header;
            g_autoptr(rpcMessage) m = rpcMessageEncode(&h, NULL, NULL);

            rawSend(sv[1], m->data, m->len);
        }
        close(sv[1]);
        g_thread_join(t);
        g_assert_cmpint(pc.rc, ==, -1);
        g_assert_cmpint(pc.err.code, ==, IOV_ERR_RPC);
        g_assert_cmpstr(pc.err.message, ==, expect[mode]);
        g_assert_false(rpcClientIsOpen(pc.c));
        iovResetError(&pc.err);
        rpcClientFree(pc.c);
    }
}

int
main(int argc, char **argv)
{
    int fdsAtStart, ret;

    signal(SIGPIPE, SIG_IGN);
    g_test_init(&argc, &argv, NULL);
    /* idle pool threads exit at once, so that valgrind sees none left */
    g_thread_pool_set_max_unused_threads(0);
    fdsAtStart = countFds();
    g_test_add_func("/rpc-server/round-trip", testRoundTrip);
    g_test_add_func("/rpc-server/listeners", testListeners);
    g_test_add_func("/rpc-server/many-threads-one-client", testManyThreadsOneClient);
    g_test_add_func("/rpc-server/keepalive-ping-pong", testKeepalive);
    g_test_add_func("/rpc-server/unknown-program", testUnknownProgram);
    g_test_add_func("/rpc-server/unknown-procedure", testUnknownProcedure);
    g_test_add_func("/rpc-server/stream-packets", testStreamPackets);
    g_test_add_func("/rpc-server/stream-packet-for-no-stream-dropped",
                    testStreamPacketForNoStreamDropped);
    g_test_add_func("/rpc-server/bad-input-closes-only-that-client", testBadInputClosesOnlyThatClient);
    g_test_add_func("/rpc-server/truncated-then-eof", testTruncatedThenEOF);
    g_test_add_func("/rpc-server/max-clients", testMaxClients);
    g_test_add_func("/rpc-server/max-requests-per-client", testMaxRequestsPerClient);
    g_test_add_func("/rpc-server/calls-in-one-write", testCallsInOneWrite);
    g_test_add_func("/rpc-server/quick-calls", testQuickCalls);
    g_test_add_func("/rpc-server/idle-timeout", testIdleTimeout);
    g_test_add_func("/rpc-server/non-reading-client", testNonReadingClient);
    g_test_add_func("/rpc-server/readonly-listener", testReadonlyListener);
    g_test_add_func("/rpc-server/max-readonly-clients", testMaxReadonlyClients);
    g_test_add_func("/rpc-server/readonly-packet-limit", testReadonlyPacketLimit);
    g_test_add_func("/rpc-server/refused-client-large-call", testRefusedClientLargeCall);
    g_test_add_func("/rpc-server/readonly-non-reading-client", testReadonlyNonReadingClient);
    g_test_add_func("/rpc-server/events-bounded-apart-from-replies", testEventsBoundedApartFromReplies);
    g_test_add_func("/rpc-server/close-after-reply", testCloseAfterReply);
    g_test_add_func("/rpc-server/disconnected-once", testDisconnectedOnce);
    g_test_add_func("/rpc-server/connected-refuses", testConnectedRefuses);
    g_test_add_func("/rpc-client/answers-ping", testClientAnswersPing);
    g_test_add_func("/rpc-client/replies-out-of-order", testClientRepliesOutOfOrder);
    g_test_add_func("/rpc-client/error-verbatim", testClientErrorVerbatim);
    g_test_add_func("/rpc-client/timeout", testClientTimeout);
    g_test_add_func("/rpc-client/broken-peer", testClientBrokenPeer);
    ret = g_test_run();
    g_assert_cmpint(countFds(), ==, fdsAtStart);
    return ret;
}
