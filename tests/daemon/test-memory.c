/*
 * test-memory.c: what a local user can make iovirtd hold
 *
 * Anyone may connect to the read-only socket. These tests run a real
 * daemon with the default limits, drive it over real sockets the way a
 * hostile local user would, and read its resident memory
 * (/proc/PID/status) against the worst case that docs/iovirtd.8.md
 * (MEMORY) computes from the same limits:
 *
 *   - many read-only clients each announcing a 32 MiB packet and
 *     trickling 1 MiB of it (before the limits, 100 of them raised the
 *     daemon's RSS by about 100 MB);
 *   - max_readonly_clients clients each holding as much as the daemon
 *     lets it: replies it does not read, up to the output cap, and a
 *     packet of the read-only maximum sent all but its last word; and
 *     every refused connection the daemon keeps meanwhile.
 *
 * Every client over a limit gets a clear error before it is closed, and
 * the daemon keeps serving.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rpc/rpc.h"
#include "testqemu.h"
#include "util/error.h"

/* the daemon's defaults, which the test does not change */
#define MAX_CLIENTS 128
#define MAX_READONLY_CLIENTS 20
#define MAX_REQUESTS 8
#define WORKERS 16
/* what one connection costs the daemon besides its buffers (its
 * client and stream structs, socket watch, malloc overhead), generously */
#define CONNECTION_COST 8192

static testDaemon d;
static size_t xmlReplyLen; /* the bytes of one GET_XML_DESC reply */
static unsigned char bigUUID[16]; /* the domain "big" */

/* ---- the daemon's memory ---- */

/* A field of /proc/PID/status, in KiB. */
static guint64
procStatusKiB(pid_t pid, const char *field)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/status", (int)pid);
    g_autofree char *text = NULL;
    const char *p;

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    p = strstr(text, field);
    g_assert_nonnull(p);
    return g_ascii_strtoull(p + strlen(field) + 1, NULL, 10);
}

static guint64
rssKiB(void)
{
    return procStatusKiB(d.pid, "VmRSS");
}

/*
 * Wait until the daemon's RSS has not moved for half a second (it has
 * done what the clients asked) or 15 s have passed; returns the highest
 * RSS seen, *peak updated too.
 */
static guint64
rssSettle(guint64 *peak)
{
    gint64 deadline = g_get_monotonic_time() + 15 * G_USEC_PER_SEC;
    guint64 last = rssKiB(), high = last;
    int same = 0;

    while (same < 5 && g_get_monotonic_time() < deadline) {
        guint64 now;

        g_usleep(100 * 1000);
        now = rssKiB();
        same = now == last ? same + 1 : 0;
        last = now;
        high = MAX(high, now);
    }
    if (peak)
        *peak = MAX(*peak, high);
    return high;
}

/* ---- raw connections ---- */

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

        if (w < 0 && errno == EINTR)
            continue;
        g_assert_cmpint(w, >, 0);
        p += w;
        len -= (size_t)w;
    }
}

/* The bytes of a call of `proc` with `args` encoded by `filter`. */
static rpcMessage *
callPacket(int proc, uint32_t serial, xdrproc_t filter, void *args)
{
    rpcHeader h = {
        .prog = RPC_REMOTE_PROGRAM, .vers = RPC_REMOTE_VERSION, .proc = proc,
        .type = RPC_CALL, .serial = serial, .status = RPC_OK,
    };
    rpcMessage *msg = rpcMessageEncode(&h, filter, args);

    g_assert_nonnull(msg);
    return msg;
}

/* Read exactly `len` bytes: true, or false at EOF, reset or timeout. */
static bool
rawReadAll(int fd, void *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t r = read(fd, (char *)buf + got, len - got);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return true;
}

/* The next packet from the daemon, header decoded; NULL at its end. */
static rpcMessage *
rawReadPacket(int fd)
{
    char word[4];
    ssize_t len;
    rpcMessage *msg;

    if (!rawReadAll(fd, word, 4))
        return NULL;
    len = rpcLengthCheck(word);
    g_assert_cmpint(len, >, 0);
    msg = g_new0(rpcMessage, 1);
    msg->len = (size_t)len;
    msg->data = g_malloc(msg->len);
    memcpy(msg->data, word, 4);
    g_assert_true(rawReadAll(fd, msg->data + 4, msg->len - 4));
    g_assert_cmpint(rpcMessageDecodeHeader(msg->data, msg->len, &msg->header), ==, 0);
    return msg;
}

/* The message of the error reply `msg`, or NULL when it is no error. */
static char *
errorMessage(const rpcMessage *msg)
{
    remote_error err = { 0 };
    char *text;

    if (msg->header.status != RPC_ERROR)
        return NULL;
    g_assert_cmpint(rpcMessageDecodePayload(msg, (xdrproc_t)xdr_remote_error, &err), ==, 0);
    text = g_strdup(err.message ? *err.message : "");
    xdr_free((xdrproc_t)xdr_remote_error, (char *)&err);
    return text;
}

/* The daemon must close `fd`: reads until the end (skipping what it
 * sent before), within 10 s. */
static void
rawExpectClosed(int fd)
{
    rpcMessage *msg;

    while ((msg = rawReadPacket(fd)))
        rpcMessageFree(msg);
    g_assert_true(errno != EAGAIN && errno != EWOULDBLOCK);
}

/* A read-only connection, opened (CONNECT_OPEN answered); one refused
 * because the daemon has not yet seen earlier clients go is retried
 * for up to 10 s. */
static int
openReadonly(void)
{
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    char *name = (char *)"iovirt:///session";
    remote_connect_open_args args = { .name = &name, .flags = 1 };
    g_autoptr(rpcMessage) call = callPacket(REMOTE_PROC_CONNECT_OPEN, 0,
                                            (xdrproc_t)xdr_remote_connect_open_args, &args);

    for (;;) {
        int fd = rawConnect(d.sockRO);
        g_autoptr(rpcMessage) reply = NULL;
        g_autofree char *err = NULL;

        rawSend(fd, call->data, call->len);
        reply = rawReadPacket(fd);
        g_assert_nonnull(reply);
        if (!(err = errorMessage(reply)))
            return fd;
        close(fd);
        if (!g_str_has_prefix(err, "resource busy: too many read-only clients") ||
            g_get_monotonic_time() > deadline)
            g_error("cannot open a read-only connection: %s", err);
        g_usleep(20 * 1000);
    }
}

static rpcMessage *
xmlDescCall(uint32_t serial)
{
    remote_domain_get_xml_desc_args args = { .dom = { .name = (char *)"big", .id = -1 } };

    memcpy(args.dom.uuid, bigUUID, 16);

    return callPacket(REMOTE_PROC_DOMAIN_GET_XML_DESC, serial,
                      (xdrproc_t)xdr_remote_domain_get_xml_desc_args, &args);
}

/* The daemon answers a read-write client: it is alive and serving. */
static void
assertServes(void)
{
    int fd = rawConnect(d.sock);
    char *name = (char *)"iovirt:///session";
    remote_connect_open_args args = { .name = &name };
    g_autoptr(rpcMessage) call = callPacket(REMOTE_PROC_CONNECT_OPEN, 0,
                                            (xdrproc_t)xdr_remote_connect_open_args, &args);
    g_autoptr(rpcMessage) reply = NULL;

    g_assert_true(testProcessAlive(d.pid));
    rawSend(fd, call->data, call->len);
    reply = rawReadPacket(fd);
    g_assert_nonnull(reply);
    g_assert_cmpint(reply->header.status, ==, RPC_OK);
    close(fd);
}

/*
 * The worst case of docs/iovirtd.8.md, MEMORY, in KiB: each read-only
 * client holds a packet being read, its calls in flight, its unread
 * replies and one reply more, and its connection; each worker a decoded
 * call and its reply; each refused connection a header and its
 * connection. `reply` is the largest reply the clients can ask for.
 */
static guint64
worstCaseKiB(size_t reply)
{
    guint64 packet = RPC_LEN_LEN + RPC_READONLY_MESSAGE_MAX;
    guint64 perClient = packet + MAX_REQUESTS * packet + RPC_SERVER_READONLY_OUTPUT_MAX + reply +
                        CONNECTION_COST;
    guint64 workers = WORKERS * (packet + reply);
    guint64 refused = MAX(16, MAX_CLIENTS) * (RPC_LEN_LEN + RPC_HEADER_LEN + CONNECTION_COST);

    return (MAX_READONLY_CLIENTS * perClient + workers + refused) / 1024;
}

/* ---- setup ---- */

/* A domain whose XML is large (long disk paths), so that a few replies
 * fill a client's output cap; and the daemon's threads and heap used
 * once by as many clients as the tests will open. */
static void
setup(void)
{
    GString *xml = g_string_new("<domain type='qemu'><name>big</name><memory>65536</memory><devices>");
    g_autofree char *dir = g_strnfill(2000, 'd');
    char *name = (char *)"iovirt:///session";
    remote_connect_open_args open = { .name = &name };
    remote_domain_define_xml_args def = { 0 };
    g_autoptr(rpcMessage) openCall = NULL;
    g_autoptr(rpcMessage) defCall = NULL;
    g_autoptr(rpcMessage) reply = NULL;
    int fds[MAX_READONLY_CLIENTS];
    int fd, i, j;

    for (i = 0; i < 16; i++)
        g_string_append_printf(xml, "<disk><source file='/%s/%d.img'/><target dev='vd%c'/>"
                                    "<iothrottle bps='1000'/></disk>", dir, i, 'a' + i);
    g_string_append(xml, "</devices></domain>");
    def.xml = xml->str;

    fd = rawConnect(d.sock);
    openCall = callPacket(REMOTE_PROC_CONNECT_OPEN, 0, (xdrproc_t)xdr_remote_connect_open_args, &open);
    defCall = callPacket(REMOTE_PROC_DOMAIN_DEFINE_XML, 1, (xdrproc_t)xdr_remote_domain_define_xml_args, &def);
    for (i = 0; i < 2; i++) {
        g_autoptr(rpcMessage) r = NULL;
        g_autofree char *err = NULL;

        /* one at a time: the server runs a client's calls on several
         * workers, so a call sent before OPEN's reply may run first */
        if (i == 0)
            rawSend(fd, openCall->data, openCall->len);
        else
            rawSend(fd, defCall->data, defCall->len);
        r = rawReadPacket(fd);
        g_assert_nonnull(r);
        if ((err = errorMessage(r)))
            g_error("setup: %s", err);
        if (r->header.proc == REMOTE_PROC_DOMAIN_DEFINE_XML) {
            remote_domain_define_xml_ret ret = { { 0 } };

            g_assert_cmpint(rpcMessageDecodePayload(r, (xdrproc_t)xdr_remote_domain_define_xml_ret, &ret), ==, 0);
            memcpy(bigUUID, ret.dom.uuid, 16);
            xdr_free((xdrproc_t)xdr_remote_domain_define_xml_ret, (char *)&ret);
        }
    }
    close(fd);
    g_string_free(xml, TRUE);

    for (i = 0; i < MAX_READONLY_CLIENTS; i++) {
        fds[i] = openReadonly();
        for (j = 0; j < MAX_REQUESTS; j++) {
            g_autoptr(rpcMessage) call = xmlDescCall(j + 1);

            rawSend(fds[i], call->data, call->len);
        }
    }
    for (i = 0; i < MAX_READONLY_CLIENTS; i++) {
        for (j = 0; j < MAX_REQUESTS; j++) {
            g_clear_pointer(&reply, rpcMessageFree);
            reply = rawReadPacket(fds[i]);
            g_assert_nonnull(reply);
            g_assert_cmpint(reply->header.status, ==, RPC_OK);
            xmlReplyLen = reply->len;
        }
        close(fds[i]);
    }
    g_assert_cmpuint(xmlReplyLen, >, 32000);
}

/* ---- tests ---- */

/*
 * 100 read-only clients each announce a 32 MiB packet and trickle 1 MiB
 * of it, as in the report that led to the limits: each is told why it
 * is turned away (too large, or too many read-only clients) and closed,
 * and the daemon's RSS barely moves.
 */
static void
testTricklingLargePackets(void)
{
    enum { CLIENTS = 100, CHUNK = 65536, CHUNKS = 16 };
    unsigned char header[28] = { 0x02, 0, 0, 0x04, 0x20, 0x00, 0x80, 0x86, 0, 0, 0, 1, 0, 0, 0, 11,
                                 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0 };
    g_autofree char *chunk = g_malloc0(CHUNK);
    int fds[CLIENTS];
    guint64 before, peak, vmBefore, vmAfter;
    int i, round, tooLarge = 0, busy = 0;

    before = rssSettle(NULL);
    vmBefore = procStatusKiB(d.pid, "VmSize");
    peak = before;
    for (i = 0; i < CLIENTS; i++) {
        fds[i] = rawConnect(d.sockRO);
        rawSend(fds[i], header, sizeof(header));
    }
    /* the rest trickles in, while the daemon may already have closed
     * the connection: what it does not take is not waited for */
    for (round = 0; round < CHUNKS; round++) {
        for (i = 0; i < CLIENTS; i++)
            (void)!send(fds[i], chunk, CHUNK, MSG_NOSIGNAL | MSG_DONTWAIT);
        peak = MAX(peak, rssKiB());
        g_usleep(10 * 1000);
    }
    rssSettle(&peak);
    vmAfter = procStatusKiB(d.pid, "VmSize");
    g_test_message("RSS %" G_GUINT64_FORMAT " KiB before, peak %" G_GUINT64_FORMAT " KiB (+%" G_GUINT64_FORMAT " KiB); "
                   "VmSize %+" G_GINT64_FORMAT " KiB",
                   before, peak, peak - before, (gint64)vmAfter - (gint64)vmBefore);

    for (i = 0; i < CLIENTS; i++) {
        g_autoptr(rpcMessage) reply = rawReadPacket(fds[i]);
        g_autofree char *err = NULL;

        g_assert_nonnull(reply);
        err = errorMessage(reply);
        g_assert_nonnull(err);
        if (g_str_equal(err, "packet of 33554436 bytes exceeds the maximum of 16388 bytes on a read-only connection"))
            tooLarge++;
        else if (g_str_has_prefix(err, "resource busy: too many read-only clients: this daemon serves at most 20 read-only connections"))
            busy++;
        else
            g_error("unexpected error: %s", err);
        rawExpectClosed(fds[i]);
        close(fds[i]);
    }
    g_test_message("%d clients, %d told the packet is too large, %d too many read-only clients", CLIENTS, tooLarge, busy);
    g_assert_cmpint(tooLarge, >=, 1);
    g_assert_cmpint(tooLarge + busy, ==, CLIENTS);
    /* 100 MB before the limits; now only connection bookkeeping */
    g_assert_cmpuint(peak - before, <, 4096);
    g_assert_cmpint((gint64)vmAfter - (gint64)vmBefore, <, 65536);
    assertServes();
}

/*
 * As much as a local user can make the daemon hold at once, measured
 * against the computed worst case: max_readonly_clients clients each
 * with nearly its output cap of unread replies and a packet of the
 * read-only maximum short of its last word, and every refused
 * connection the daemon keeps. The clients are then still served.
 */
static void
testWorstCase(void)
{
    size_t packetMax = RPC_LEN_LEN + RPC_READONLY_MESSAGE_MAX;
    int calls = (int)(RPC_SERVER_READONLY_OUTPUT_MAX / xmlReplyLen);
    g_autofree char *name = g_strnfill(packetMax - RPC_LEN_LEN - RPC_HEADER_LEN - 4, 'n');
    remote_domain_lookup_by_name_args lookup = { .name = name };
    g_autoptr(rpcMessage) big = callPacket(REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, 999999,
                                           (xdrproc_t)xdr_remote_domain_lookup_by_name_args, &lookup);
    int fds[MAX_READONLY_CLIENTS];
    int refused[MAX(16, MAX_CLIENTS)];
    guint64 before, peak, worst = worstCaseKiB(xmlReplyLen);
    int i, j;

    g_assert_cmpuint(big->len, ==, packetMax);
    before = rssSettle(NULL);
    peak = before;
    for (i = 0; i < MAX_READONLY_CLIENTS; i++) {
        fds[i] = openReadonly();
        for (j = 0; j < calls; j++) {
            g_autoptr(rpcMessage) call = xmlDescCall(j + 1);

            rawSend(fds[i], call->data, call->len);
        }
        rawSend(fds[i], big->data, big->len - 4);
    }
    /* and every refused connection the daemon keeps, for 5 s each */
    for (i = 0; i < (int)G_N_ELEMENTS(refused); i++)
        refused[i] = rawConnect(d.sockRO);
    rssSettle(&peak);

    g_test_message("%d read-only clients, %d unread replies of %zu bytes each and a packet of %zu bytes "
                   "but its last word; %d refused connections",
                   MAX_READONLY_CLIENTS, calls, xmlReplyLen, packetMax, (int)G_N_ELEMENTS(refused));
    g_test_message("RSS %" G_GUINT64_FORMAT " KiB before, peak %" G_GUINT64_FORMAT " KiB: +%" G_GUINT64_FORMAT
                   " KiB measured, worst case computed %" G_GUINT64_FORMAT " KiB",
                   before, peak, peak - before, worst);
    g_assert_cmpuint(peak - before, <=, worst);

    /* nobody was closed: each client gets all its replies, and the
     * answer to its large call once the last word arrives (replies to
     * calls in flight together may come in any order) */
    for (i = 0; i < MAX_READONLY_CLIENTS; i++) {
        int xml = 0, lookups = 0;

        rawSend(fds[i], big->data + big->len - 4, 4);
        for (j = 0; j < calls + 1; j++) {
            g_autoptr(rpcMessage) reply = rawReadPacket(fds[i]);
            g_autofree char *err = NULL;

            g_assert_nonnull(reply);
            if (reply->header.serial == 999999) {
                err = errorMessage(reply);
                g_assert_true(err && g_str_has_prefix(err, "Domain not found"));
                lookups++;
            } else {
                g_assert_cmpint(reply->header.status, ==, RPC_OK);
                g_assert_cmpuint(reply->header.serial, >=, 1);
                g_assert_cmpuint(reply->header.serial, <=, calls);
                xml++;
            }
        }
        g_assert_cmpint(xml, ==, calls);
        g_assert_cmpint(lookups, ==, 1);
        close(fds[i]);
    }
    for (i = 0; i < (int)G_N_ELEMENTS(refused); i++)
        close(refused[i]);
    assertServes();
}

int
main(int argc, char **argv)
{
    int rc;

    g_test_init(&argc, &argv, NULL);
    /* the defaults: no configuration file */
    testDaemonStart(&d, "memory", NULL);
    setup();

    g_test_add_func("/memory/trickling-large-packets", testTricklingLargePackets);
    g_test_add_func("/memory/worst-case", testWorstCase);
    rc = g_test_run();
    testDaemonStop(&d, SIGTERM);
    return rc;
}
