/*
 * test-tls: iovirtd over TLS, from the C API, in the daemon suite (so
 * that the ThreadSanitizer build runs the TLS server, the TLS client and
 * both ends' keepalive): a certtool PKI, a daemon listening for TLS on a
 * free port of 127.0.0.1 with guests under fake-qemu, calls from several
 * threads at once, a refused certificate, and a stopped daemon noticed
 * by keepalive. The pytest suite tests/remote covers the real virsh,
 * python3-libvirt and ssh.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <string.h>
#include <sys/stat.h>

#include "iovirt/iovirt.h"
#include "testqemu.h"

#ifndef TEST_SLOWDOWN
#define TEST_SLOWDOWN 1
#endif

static testDaemon d;
static char *uriOk;       /* a client the daemon accepts */
static char *uriStranger; /* a client whose DN is not in the list */
static int port;

static const char *
fakeQEMU(void)
{
    return TEST_BUILD_DIR "/tests/fake-qemu";
}

/* Run certtool with `args` (NULL-terminated); abort on failure. */
static void
certtool(const char *const *args)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autofree char *err = NULL;
    g_autoptr(GError) gerr = NULL;
    int status;

    g_ptr_array_add(argv, (char *)"certtool");
    for (; *args; args++)
        g_ptr_array_add(argv, (char *)*args);
    g_ptr_array_add(argv, NULL);
    if (!g_spawn_sync(NULL, (char **)argv->pdata, NULL,
                      G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err,
                      &status, &gerr) ||
        !g_spawn_check_wait_status(status, NULL))
        g_error("certtool failed: %s", gerr ? gerr->message : err);
}

/* A key and a certificate NAME{key,cert}.pem in `dir`, with the
 * template lines `info`, signed by the CA (self-signed when ca is NULL). */
static void
makeCert(const char *dir, const char *name, const char *info, const char *ca)
{
    g_autofree char *key = g_strdup_printf("%s/%skey.pem", dir, name);
    g_autofree char *cert = g_strdup_printf("%s/%scert.pem", dir, name);
    g_autofree char *tmpl = g_strdup_printf("%s/%s.info", dir, name);
    g_autofree char *caKey = g_strdup_printf("%s/cakey.pem", dir);
    g_autofree char *caCert = g_strdup_printf("%s/cacert.pem", dir);
    const char *genKey[] = {"--generate-privkey", "--key-type", "ecdsa", "--outfile", key, NULL};

    g_assert_true(g_file_set_contents(tmpl, info, -1, NULL));
    certtool(genKey);
    g_assert_cmpint(chmod(key, 0600), ==, 0);
    if (!ca) {
        const char *args[] = {"--generate-self-signed",
                              "--load-privkey",
                              key,
                              "--template",
                              tmpl,
                              "--outfile",
                              cert,
                              NULL};

        certtool(args);
    } else {
        const char *args[] = {"--generate-certificate",
                              "--load-privkey",
                              key,
                              "--load-ca-certificate",
                              caCert,
                              "--load-ca-privkey",
                              caKey,
                              "--template",
                              tmpl,
                              "--outfile",
                              cert,
                              NULL};

        certtool(args);
    }
}

/* A pkipath directory for the client certificate NAME. */
static char *
pkiPath(const char *dir, const char *name)
{
    g_autofree char *path = g_strdup_printf("%s/%s-pki", dir, name);
    const char *files[][2] = {
        {"cacert.pem", "cacert.pem"}, {"cert.pem", "clientcert.pem"}, {"key.pem", "clientkey.pem"}};
    size_t i;

    g_assert_cmpint(g_mkdir_with_parents(path, 0700), ==, 0);
    for (i = 0; i < G_N_ELEMENTS(files); i++) {
        g_autofree char *src = i == 0 ? g_strdup_printf("%s/%s", dir, files[i][0])
                                      : g_strdup_printf("%s/%s%s", dir, name, files[i][0]);
        g_autofree char *dst = g_strdup_printf("%s/%s", path, files[i][1]);
        g_autofree char *text = NULL;
        gsize len;

        g_assert_true(g_file_get_contents(src, &text, &len, NULL));
        g_assert_true(g_file_set_contents(dst, text, (gssize)len, NULL));
        g_assert_cmpint(chmod(dst, 0600), ==, 0);
    }
    return g_steal_pointer(&path);
}

static iovConnectPtr
openOk(void)
{
    iovConnectPtr conn = iovConnectOpen(uriOk);

    if (!conn)
        g_error("open %s: %s", uriOk, iovGetLastErrorMessage());
    return conn;
}

/* A guest defined, started, limited and read back over TLS. */
static void
testCallsOverTLS(void)
{
    iovConnectPtr conn = openOk();
    const char *xml =
        "<domain type='qemu'><name>tls1</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
        "<os><type>hvm</type><kernel>/nonexistent/kernel</kernel></os><devices>"
        "<disk type='file'><source file='/nonexistent/tls1.img'/><target dev='vda'/>"
        "</disk></devices></domain>";
    iovDomainPtr dom = iovDomainDefineXML(conn, xml);
    iovTypedParameter p = {0};
    iovTypedParameter got[20];
    int n = 20, i;
    bool seen = false;

    g_assert_cmpstr(iovConnectGetTransport(conn), ==, "tls");
    g_assert_nonnull(dom);
    g_assert_cmpint(iovDomainCreate(dom), ==, 0);
    testDaemonTrackGuests(&d);
    g_strlcpy(p.field, "bps_rd", sizeof(p.field));
    p.type = IOV_TYPED_PARAM_ULLONG;
    p.value.ul = 123456;
    g_assert_cmpint(iovDomainBlockIoThrottle(dom, "vda", &p, 1, IOV_DOMAIN_AFFECT_LIVE), ==, 0);
    g_assert_cmpint(iovDomainGetBlockIoThrottle(dom, "vda", got, &n, IOV_DOMAIN_AFFECT_LIVE), ==,
                    0);
    for (i = 0; i < n; i++) {
        if (strcmp(got[i].field, "bps_rd") == 0) {
            g_assert_cmpuint(got[i].value.ul, ==, 123456);
            seen = true;
        }
    }
    g_assert_true(seen);
    iovTypedParamsClear(got, n);
    g_assert_cmpint(iovDomainDestroy(dom), ==, 0);
    iovDomainFree(dom);
    iovConnectClose(conn);
}

static gpointer
getsInThread(gpointer data G_GNUC_UNUSED)
{
    iovConnectPtr conn = openOk();
    iovDomainPtr dom = iovDomainLookupByName(conn, "tls1");
    int i;

    g_assert_nonnull(dom);
    for (i = 0; i < 50; i++) {
        iovTypedParameter got[20];
        int n = 20;

        g_assert_cmpint(iovDomainGetBlockIoThrottle(dom, "vda", got, &n, IOV_DOMAIN_AFFECT_CONFIG),
                        ==, 0);
        iovTypedParamsClear(got, n);
    }
    iovDomainFree(dom);
    iovConnectClose(conn);
    return NULL;
}

/* Four connections at once, each with its calls, and one connection
 * shared by four threads. */
static void
testConcurrentTLSClients(void)
{
    GThread *t[4];
    int i;

    for (i = 0; i < 4; i++)
        t[i] = g_thread_new("tls-client", getsInThread, NULL);
    for (i = 0; i < 4; i++)
        g_thread_join(t[i]);
}

/* A client whose DN is not allowed is told so, in one line. */
static void
testDNNotAllowedIsRefused(void)
{
    g_assert_null(iovConnectOpen(uriStranger));
    g_assert_cmpint(iovGetLastError()->code, ==, IOV_ERR_AUTH_FAILED);
    g_assert_cmpstr(
        iovGetLastErrorMessage(), ==,
        "authentication failed: the client certificate 'O=iovirt tests,CN=a stranger' is refused: its DN is not in tls_allowed_dn_list");
    g_assert_null(strchr(iovGetLastErrorMessage(), '\n'));
}

/* A daemon that stops answering is noticed by keepalive: the call
 * fails within interval x (count + 1) instead of hanging. */
static void
testStoppedDaemonGivesAnError(void)
{
    g_autofree char *uri = g_strdup_printf("%s&keepalive_interval=1&keepalive_count=1", uriOk);
    iovConnectPtr conn = iovConnectOpen(uri);
    iovDomainPtr *list = NULL;
    gint64 t0;
    int n;

    g_assert_nonnull(conn);
    kill(d.pid, SIGSTOP);
    t0 = g_get_monotonic_time();
    n = iovConnectListAllDomains(conn, &list, 0);
    kill(d.pid, SIGCONT);
    g_assert_cmpint(n, ==, -1);
    g_assert_nonnull(strstr(iovGetLastErrorMessage(), "(keepalive)"));
    g_assert_cmpint(g_get_monotonic_time() - t0, >=, 1500 * 1000);
    g_assert_cmpint(g_get_monotonic_time() - t0, <, (gint64)(2 + TEST_SLOWDOWN) * G_USEC_PER_SEC);
    iovConnectClose(conn);
}

/* A TCP connection to the TLS port, blocking, with a receive timeout. */
static int
connectRaw(int timeoutMs)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct timeval tv = {.tv_sec = timeoutMs / 1000, .tv_usec = (timeoutMs % 1000) * 1000};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

/* Peers that never start the handshake fill max_anonymous_clients (2):
 * a TLS client that comes meanwhile waits in the backlog, and is served
 * once tls_handshake_timeout (1 s) has closed them. */
static void
testAnonymousClientsAreBounded(void)
{
    int silent[2] = {connectRaw(10000), connectRaw(10000)};
    gint64 t0 = g_get_monotonic_time();
    iovConnectPtr conn;
    char c;

    g_usleep(200 * 1000);
    conn = openOk();
    g_assert_cmpint(g_get_monotonic_time() - t0, >=, 700 * 1000);
    iovConnectClose(conn);
    g_assert_cmpint(recv(silent[0], &c, 1, 0), ==, 0);
    g_assert_cmpint(recv(silent[1], &c, 1, 0), ==, 0);
    close(silent[0]);
    close(silent[1]);
}

static void
testDaemonEndsCleanly(void)
{
    testDaemonTrackGuests(&d);
    testDaemonStopCleanly(&d);
}

int
main(int argc, char **argv)
{
    const char *dir;
    g_autofree char *pki = NULL;
    g_autofree char *conf = NULL;
    g_autofree char *confText = NULL;
    g_autofree char *okPath = NULL;
    g_autofree char *strangerPath = NULL;
    const char *args[] = {"--config", NULL, NULL};
    int rc;

    g_test_init(&argc, &argv, NULL);
    dir = testTmpDir();
    pki = g_build_filename(dir, "pki", NULL);
    g_assert_cmpint(g_mkdir_with_parents(pki, 0700), ==, 0);
    makeCert(pki, "ca", "cn = \"iovirt test CA\"\nca\ncert_signing_key\nexpiration_days = 2\n",
             NULL);
    makeCert(pki, "server",
             "organization = iovirt tests\ncn = localhost\nip_address = 127.0.0.1\n"
             "tls_www_server\nsigning_key\nexpiration_days = 2\n",
             "ca");
    makeCert(pki, "client",
             "organization = iovirt tests\ncn = \"iovirt test client\"\n"
             "tls_www_client\nsigning_key\nexpiration_days = 2\n",
             "ca");
    makeCert(pki, "stranger",
             "organization = iovirt tests\ncn = \"a stranger\"\n"
             "tls_www_client\nsigning_key\nexpiration_days = 2\n",
             "ca");
    okPath = pkiPath(pki, "client");
    strangerPath = pkiPath(pki, "stranger");

    port = testFreePort();
    conf = g_build_filename(dir, "iovirtd.conf", NULL);
    confText = g_strdup_printf("[iovirtd]\nqemu_binary=%s\nlisten_tls=1\nlisten_addr=127.0.0.1\n"
                               "tls_port=%d\nca_file=%s/cacert.pem\ncert_file=%s/servercert.pem\n"
                               "key_file=%s/serverkey.pem\n"
                               "tls_allowed_dn_list=O=iovirt tests,CN=iovirt test client\n"
                               "max_anonymous_clients=2\ntls_handshake_timeout=1\n",
                               fakeQEMU(), port, pki, pki, pki);
    g_assert_true(g_file_set_contents(conf, confText, -1, NULL));
    args[1] = conf;
    testDaemonStart(&d, "tls", args);
    g_assert_true(testWaitPort(port, 10000));
    uriOk = g_strdup_printf("iovirt+tls://127.0.0.1:%d/session?pkipath=%s", port, okPath);
    uriStranger =
        g_strdup_printf("iovirt+tls://127.0.0.1:%d/session?pkipath=%s", port, strangerPath);

    g_test_add_func("/tls/calls", testCallsOverTLS);
    g_test_add_func("/tls/concurrent-clients", testConcurrentTLSClients);
    g_test_add_func("/tls/dn-not-allowed", testDNNotAllowedIsRefused);
    g_test_add_func("/tls/stopped-daemon", testStoppedDaemonGivesAnError);
    g_test_add_func("/tls/anonymous-clients-bounded", testAnonymousClientsAreBounded);
    g_test_add_func("/tls/daemon-ends-cleanly", testDaemonEndsCleanly);
    rc = g_test_run();
    testDaemonTrackGuests(&d);
    if (d.pid > 0)
        testDaemonStop(&d, SIGTERM);
    g_free(uriOk);
    g_free(uriStranger);
    return rc;
}
