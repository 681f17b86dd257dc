/*
 * test-protocol.c: iovirtd at the protocol level, over raw connections
 *
 * The read-only socket refuses every procedure that changes something;
 * unknown procedures get libvirt's exact error; bad packets, garbage and
 * oversized messages end only their own connection; a client over the
 * connection limit is told so while the others carry on.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rpc/rpc.h"
#include "testqemu.h"
#include "util/error.h"

#define MAX_CLIENTS 8

static testDaemon d;
static unsigned char domUUID[16];

static rpcClient *
openClient(const char *sock, bool readonly)
{
    int fd = rpcSocketConnectUnix(sock);
    rpcClient *c;
    remote_connect_open_args args = {0};
    char *name = (char *)"iovirt:///session";

    if (fd < 0)
        g_error("connect %s: %s", sock, iovGetLastErrorMessage());
    c = rpcClientNew(rpcStreamNewUnix(fd));
    args.name = &name;
    args.flags = readonly ? 1 : 0;
    if (rpcClientCall(c, RPC_REMOTE_PROGRAM, RPC_REMOTE_VERSION, REMOTE_PROC_CONNECT_OPEN,
                      (xdrproc_t)xdr_remote_connect_open_args, &args, NULL, NULL, 5000) < 0)
        g_error("open: %s", iovGetLastErrorMessage());
    return c;
}

/* GET_TYPE works on `c`: the connection still serves. */
static void
assertServes(rpcClient *c)
{
    remote_connect_get_type_ret ret = {0};

    if (rpcClientCall(c, RPC_REMOTE_PROGRAM, RPC_REMOTE_VERSION, REMOTE_PROC_CONNECT_GET_TYPE, NULL,
                      NULL, (xdrproc_t)xdr_remote_connect_get_type_ret, &ret, 5000) < 0)
        g_error("get type: %s", iovGetLastErrorMessage());
    g_assert_cmpstr(ret.type, ==, "QEMU");
    xdr_free((xdrproc_t)xdr_remote_connect_get_type_ret, (char *)&ret);
}

static void
defineDomain(void)
{
    rpcClient *c = openClient(d.sock, false);
    remote_domain_define_xml_args args = {0};
    remote_domain_define_xml_ret ret = {0};

    args.xml = (char *)"<domain type='qemu'><name>proto1</name><memory>65536</memory><devices>"
                       "<disk><source file='/nonexistent/p.img'/><target dev='vda'/>"
                       "<iothrottle bps='1000'/></disk></devices></domain>";
    g_assert_cmpint(rpcClientCall(c, RPC_REMOTE_PROGRAM, RPC_REMOTE_VERSION, REMOTE_PROC_DOMAIN_DEFINE_XML,
                                  (xdrproc_t)xdr_remote_domain_define_xml_args, &args,
                                  (xdrproc_t)xdr_remote_domain_define_xml_ret, &ret, 5000), ==, 0);
    memcpy(domUUID, ret.dom.uuid, 16);
    xdr_free((xdrproc_t)xdr_remote_domain_define_xml_ret, (char *)&ret);
    rpcClientFree(c);
}

/* The domain's persistent XML, to show that nothing changed. */
static char *
domainXML(rpcClient *c)
{
    remote_domain_get_xml_desc_args args = {0};
    remote_domain_get_xml_desc_ret ret = {0};
    char *xml;

    args.dom.name = (char *)"proto1";
    memcpy(args.dom.uuid, domUUID, 16);
    args.dom.id = -1;
    args.flags = 2;
    g_assert_cmpint(rpcClientCall(c, RPC_REMOTE_PROGRAM, RPC_REMOTE_VERSION, REMOTE_PROC_DOMAIN_GET_XML_DESC,
                                  (xdrproc_t)xdr_remote_domain_get_xml_desc_args, &args,
                                  (xdrproc_t)xdr_remote_domain_get_xml_desc_ret, &ret, 5000), ==, 0);
    xml = g_strdup(ret.xml);
    xdr_free((xdrproc_t)xdr_remote_domain_get_xml_desc_ret, (char *)&ret);
    return xml;
}

static void
testReadOnlyRefusesEveryChange(void)
{
    rpcClient *ro = openClient(d.sockRO, false);
    g_autofree char *before = domainXML(ro);
    g_autofree char *after = NULL;
    remote_typed_param param = {0};
    int proc, refused = 0;

    param.field = (char *)"bps";
    param.value.type = REMOTE_TYPED_PARAM_ULLONG;
    param.value.remote_typed_param_value_u.ul = 5;
    for (proc = 1; proc < 400; proc++) {
        const rpcProcInfo *info = rpcRemoteProcLookup(proc);
        g_autofree void *args = NULL;
        g_autofree void *ret = NULL;

        if (!info || info->readonlyOk)
            continue;
        args = g_malloc0(info->argsSize ? info->argsSize : 1);
        ret = g_malloc0(info->retSize ? info->retSize : 1);
        if (proc == REMOTE_PROC_DOMAIN_DEFINE_XML || proc == REMOTE_PROC_DOMAIN_DEFINE_XML_FLAGS) {
            /* args start with the XML */
            *(char **)args = (char *)"<domain type='qemu'><name>evil</name><memory>65536</memory><os><kernel>/k</kernel></os></domain>";
        } else {
            remote_nonnull_domain *dom = args;

            dom->name = (char *)"proto1";
            memcpy(dom->uuid, domUUID, 16);
            dom->id = -1;
            if (proc == REMOTE_PROC_DOMAIN_SET_BLOCK_IO_TUNE) {
                remote_domain_set_block_io_tune_args *a = args;

                a->disk = (char *)"vda";
                a->params.params_len = 1;
                a->params.params_val = &param;
            }
        }
        g_assert_cmpint(rpcClientCall(ro, RPC_REMOTE_PROGRAM, RPC_REMOTE_VERSION, proc,
                                      info->argsSize ? info->argsFilter : NULL, args,
                                      info->retSize ? info->retFilter : NULL, ret, 5000), ==, -1);
        g_test_message("%s: %s", info->name, iovGetLastErrorMessage());
        g_assert_cmpint(iovGetLastError()->code, ==, IOV_ERR_OPERATION_DENIED);
        g_assert_true(g_str_has_prefix(iovGetLastErrorMessage(), "operation forbidden: read only access prevents iov"));
        refused++;
    }
    /* every change procedure iovirt serves: define (2), undefine (2),
     * create (2), destroy (2), shutdown (2), reboot, suspend, resume and
     * the limits */
    g_assert_cmpint(refused, ==, 14);
    after = domainXML(ro);
    g_assert_cmpstr(before, ==, after);
    assertServes(ro);
    rpcClientFree(ro);
}

static void
testUnknownProcedure(void)
{
    rpcClient *c = openClient(d.sock, false);
    int procs[] = {7, 6, 999, 430};
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(procs); i++) {
        g_autofree char *want = g_strdup_printf("unknown procedure: %d", procs[i]);

        g_assert_cmpint(rpcClientCall(c, RPC_REMOTE_PROGRAM, RPC_REMOTE_VERSION, procs[i], NULL, NULL,
                                      NULL, NULL, 5000), ==, -1);
        g_assert_cmpint(iovGetLastError()->code, ==, IOV_ERR_RPC);
        g_assert_cmpint(iovGetLastError()->domain, ==, IOV_FROM_RPC);
        g_assert_cmpint(iovGetLastError()->level, ==, IOV_ERR_ERROR);
        g_assert_cmpstr(iovGetLastErrorMessage(), ==, want);
    }
    assertServes(c);
    rpcClientFree(c);
}

static void
testCallBeforeOpen(void)
{
    rpcClient *c = rpcClientNew(rpcStreamNewUnix(rpcSocketConnectUnix(d.sock)));
    remote_connect_list_all_domains_args args = {1, 0};
    remote_connect_list_all_domains_ret ret = {0};

    g_assert_cmpint(rpcClientCall(c, RPC_REMOTE_PROGRAM, RPC_REMOTE_VERSION, REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS,
                                  (xdrproc_t)xdr_remote_connect_list_all_domains_args, &args,
                                  (xdrproc_t)xdr_remote_connect_list_all_domains_ret, &ret, 5000), ==, -1);
    g_assert_cmpstr(iovGetLastErrorMessage(), ==, "internal error: hypervisor connection not open");
    rpcClientFree(c);
}

/* A raw connection to the daemon. */
static int
rawConnect(void)
{
    int fd = rpcSocketConnectUnix(d.sock);

    g_assert_cmpint(fd, >=, 0);
    return fd;
}

/* Wait for the daemon to close `fd`: reads until EOF (or a reset). */
static void
rawExpectClosed(int fd)
{
    char buf[4096];
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    struct timeval tv = {1, 0};

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));

        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            return;
        if (g_get_monotonic_time() > deadline)
            g_error("the daemon did not close a connection that sent a bad packet");
    }
}

static void
sendAll(int fd, const void *data, size_t len)
{
    g_assert_cmpint(send(fd, data, len, MSG_NOSIGNAL), ==, (ssize_t)len);
}

static void
testBadPacketsHurtOnlyTheirClient(void)
{
    rpcClient *good = openClient(d.sock, false);
    g_autofree char *corpus = g_build_filename(TEST_SRC_DIR, "tests", "fuzz", "corpus", "rpc", NULL);
    g_autoptr(GDir) dir = g_dir_open(corpus, 0, NULL);
    const char *name;
    int fd, n = 0;
    unsigned char oversized[28] = {0x02, 0x00, 0x00, 0x08}; /* 32 MiB + 8 */
    unsigned char tooShort[4] = {0, 0, 0, 3};
    unsigned char garbage[512];

    /* every packet of the fuzz corpus, then the connection is dropped */
    g_assert_nonnull(dir);
    while ((name = g_dir_read_name(dir))) {
        g_autofree char *p = g_build_filename(corpus, name, NULL);
        g_autofree char *data = NULL;
        gsize len;

        g_assert_true(g_file_get_contents(p, &data, &len, NULL));
        fd = rawConnect();
        sendAll(fd, data, len);
        /* and a truncated copy, unless the daemon has already hung up */
        if (send(fd, data, len / 2, MSG_NOSIGNAL) < 0)
            g_assert_true(errno == EPIPE || errno == ECONNRESET);
        /* the daemon has let this one go before the next connects: else
         * a slow daemon still counts them all and turns the next away */
        shutdown(fd, SHUT_WR);
        rawExpectClosed(fd);
        close(fd);
        n++;
    }
    g_assert_cmpint(n, >=, 20);

    fd = rawConnect();
    sendAll(fd, oversized, sizeof(oversized));
    rawExpectClosed(fd);
    close(fd);

    fd = rawConnect();
    sendAll(fd, tooShort, sizeof(tooShort));
    rawExpectClosed(fd);
    close(fd);

    for (n = 0; n < (int)sizeof(garbage); n++)
        garbage[n] = (unsigned char)(n * 37 + 11);
    garbage[0] = 0; garbage[1] = 0; garbage[2] = 1; garbage[3] = 0; /* a plausible length */
    fd = rawConnect();
    sendAll(fd, garbage, sizeof(garbage));
    rawExpectClosed(fd);
    close(fd);

    /* the daemon and the good client carry on */
    g_assert_true(testProcessAlive(d.pid));
    assertServes(good);
    rpcClientFree(good);
}

static void
testTooManyClients(void)
{
    rpcClient *clients[MAX_CLIENTS];
    rpcClient *extra;
    int fd, i;
    remote_connect_open_args args = {0};
    char *name = (char *)"iovirt:///session";

    for (i = 0; i < MAX_CLIENTS; i++)
        clients[i] = openClient(i % 2 ? d.sockRO : d.sock, false);
    /* the next one is told why it is turned away */
    fd = rpcSocketConnectUnix(d.sockRO);
    extra = rpcClientNew(rpcStreamNewUnix(fd));
    args.name = &name;
    g_assert_cmpint(rpcClientCall(extra, RPC_REMOTE_PROGRAM, RPC_REMOTE_VERSION, REMOTE_PROC_CONNECT_OPEN,
                                  (xdrproc_t)xdr_remote_connect_open_args, &args, NULL, NULL, 5000), ==, -1);
    g_assert_cmpint(iovGetLastError()->code, ==, IOV_ERR_RESOURCE_BUSY);
    g_assert_cmpstr(iovGetLastErrorMessage(), ==, "resource busy: too many clients: this daemon serves at most 8 connections; try again later");
    rpcClientFree(extra);
    /* the others keep working */
    for (i = 0; i < MAX_CLIENTS; i++)
        assertServes(clients[i]);
    /* and when one leaves, a newcomer gets in */
    rpcClientFree(clients[0]);
    g_usleep(200 * 1000);
    clients[0] = openClient(d.sock, false);
    assertServes(clients[0]);
    for (i = 0; i < MAX_CLIENTS; i++)
        rpcClientFree(clients[i]);
}

static void
testKeepalive(void)
{
    int fd = rawConnect();
    unsigned char ping[28] = {0, 0, 0, 0x1c, 0x6b, 0x65, 0x65, 0x70, 0, 0, 0, 1, 0, 0, 0, 1,
                              0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0};
    unsigned char pong[28];
    size_t got = 0;

    sendAll(fd, ping, sizeof(ping));
    while (got < sizeof(pong)) {
        ssize_t n = read(fd, pong + got, sizeof(pong) - got);

        g_assert_cmpint(n, >, 0);
        got += (size_t)n;
    }
    ping[15] = 2; /* the same packet with proc PONG */
    g_assert_cmpmem(pong, sizeof(pong), ping, sizeof(ping));
    close(fd);
}

/* Last: SIGTERM ends the daemon with status 0 and a log free of sanitizer
 * reports (in a sanitizer build, a report in any thread of the daemon
 * fails here even when no answer showed it). */
static void
testDaemonEndsCleanly(void)
{
    g_autofree char *log = NULL;

    testDaemonStop(&d, SIGTERM);
    g_assert_true(g_file_get_contents(d.logFile, &log, NULL, NULL));
    if (strstr(log, "Sanitizer"))
        g_test_message("iovirtd's log:\n%s", log);
    g_assert_null(strstr(log, "Sanitizer"));
    g_assert_cmpint(d.status, !=, -1);
    g_assert_true(WIFEXITED(d.status));
    g_assert_cmpint(WEXITSTATUS(d.status), ==, 0);
}

int
main(int argc, char **argv)
{
    g_autofree char *cfgFile = NULL;
    g_autofree char *cfg = g_strdup_printf("[iovirtd]\nmax_clients=%d\n", MAX_CLIENTS);
    const char *args[] = {"--config", NULL, NULL};
    int rc;

    g_test_init(&argc, &argv, NULL);
    cfgFile = g_build_filename(testTmpDir(), "protocol.conf", NULL);
    g_assert_true(g_file_set_contents(cfgFile, cfg, -1, NULL));
    args[1] = cfgFile;
    testDaemonStart(&d, "protocol", args);
    defineDomain();

    g_test_add_func("/protocol/read-only-refuses-every-change", testReadOnlyRefusesEveryChange);
    g_test_add_func("/protocol/unknown-procedure", testUnknownProcedure);
    g_test_add_func("/protocol/call-before-open", testCallBeforeOpen);
    g_test_add_func("/protocol/bad-packets-hurt-only-their-client", testBadPacketsHurtOnlyTheirClient);
    g_test_add_func("/protocol/too-many-clients", testTooManyClients);
    g_test_add_func("/protocol/keepalive", testKeepalive);
    g_test_add_func("/protocol/daemon-ends-cleanly", testDaemonEndsCleanly);
    rc = g_test_run();
    testDaemonStop(&d, SIGTERM);
    return rc;
}
