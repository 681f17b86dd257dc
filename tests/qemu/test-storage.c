/*
 * test-storage.c: limits on iSCSI, ssh and Ceph RBD disks, with servers
 * started by the test on 127.0.0.1
 *
 *   /storage/net/iscsi-ssh      tgtd (two targets, one with CHAP) and a
 *                               private sshd reached through an ssh
 *                               agent: rates from boot, a live change, a
 *                               manager restart that resends nothing, no
 *                               key in ps or any log
 *   /storage/net/loose-key-refused  a key file others can read
 *   /storage/net/iscsi-hotplug  an iSCSI disk with CHAP hot-plugged into a
 *                               running guest: refusals (no key file, a
 *                               loose one, a wrong key, QEMU refusing the
 *                               device) leave nothing; the guest reads it
 *                               at its limit; a manager restart, a detach,
 *                               and an unplug that finishes late remove
 *                               its secret object and key file
 *   /storage/net/silent-servers a server that accepts and says nothing:
 *                               start fails in bounded time, nothing left
 *   /storage/rbd                a one-node Ceph (tests/qemu/ceph-cluster.sh),
 *                               cephx on: the same checks, a silent
 *                               monitor, and an RBD disk with its own
 *                               monitors and cephx hot-plugged and
 *                               detached (a wrong key refused first)
 *
 * meson runs /storage/net as the test 'storage' and /storage/rbd as
 * 'storage-rbd'. Every server and QEMU the test starts is killed
 * when it ends, also on failure.
 */
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "qemu/qemu_driver.h"
#include "testdriver.h"
#include "testqemu.h"
#include "util/error.h"
#include "util/log.h"

#define MiB (1024.0 * 1024.0)
#define BOOT_MS 90000
#define CHAP_PASSWORD "chap-Secret-4711-iovirt"

static qemuDriver *drv;
static qemuDriverConfig cfg;
static char *daemonLog;

static char *
path(const char *name)
{
    return g_build_filename(testTmpDir(), name, NULL);
}

static void
run(const char *cmd)
{
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_autoptr(GError) gerr = NULL;
    int status = 0;

    if (!g_spawn_command_line_sync(cmd, &out, &err, &status, &gerr))
        g_error("%s: %s", cmd, gerr->message);
    if (!g_spawn_check_wait_status(status, NULL))
        g_error("%s failed: %s%s", cmd, out, err);
}

static void
writeFile(const char *file, const char *data, int mode)
{
    g_autoptr(GError) err = NULL;

    g_assert_true(g_file_set_contents(file, data, -1, &err));
    g_assert_cmpint(chmod(file, (mode_t)mode), ==, 0);
}

static void
setLive(const unsigned char *uuid, const char *disk, int field, unsigned long long v)
{
    if (testDriverSetLimit(drv, uuid, disk, field, v, IOV_DOMAIN_AFFECT_LIVE) < 0)
        g_error("set %s: %s", disk, iovGetLastErrorMessage());
}

/* `secret` appears nowhere a user or an operator can read it: QEMU's
 * command line (ps), the guest's log, the manager's log. And the copy
 * QEMU read is gone. */
static void
assertKeyHidden(const char *name, pid_t pid, const char *secret)
{
    g_autofree char *procFile = g_strdup_printf("/proc/%d/cmdline", (int)pid);
    g_autofree char *logFile = g_strdup_printf("%s/%s.log", cfg.logDir, name);
    g_autofree char *filesName = g_strdup_printf("%s.files", name);
    g_autofree char *filesDir = g_build_filename(cfg.stateDir, filesName, NULL);
    g_autofree char *cmdline = NULL;
    gsize len = 0, i;

    g_assert_true(g_file_get_contents(procFile, &cmdline, &len, NULL));
    for (i = 0; i + 1 < len; i++) {
        if (cmdline[i] == '\0')
            cmdline[i] = ' ';
    }
    g_assert_nonnull(strstr(cmdline, "\"qom-type\":\"secret\""));
    g_assert_null(strstr(cmdline, secret));
    g_assert_true(testFileContains(logFile, "qom-type", 0));
    g_assert_false(testFileContains(logFile, secret, 0));
    g_assert_false(testFileContains(daemonLog, secret, 0));
    g_assert_false(g_file_test(filesDir, G_FILE_TEST_EXISTS));
}

/* Whether a QEMU of guest `name` still runs (any process whose command
 * line holds "guest=NAME,"). */
static bool
qemuOfGuestRuns(const char *name)
{
    g_autofree char *needle = g_strdup_printf("guest=%s,", name);
    g_autoptr(GDir) dir = g_dir_open("/proc", 0, NULL);
    const char *e;

    while ((e = g_dir_read_name(dir))) {
        g_autofree char *f = NULL;
        g_autofree char *data = NULL;
        gsize len = 0, i;

        if (!g_ascii_isdigit(e[0]))
            continue;
        f = g_strdup_printf("/proc/%s/cmdline", e);
        if (!g_file_get_contents(f, &data, &len, NULL))
            continue;
        for (i = 0; i + 1 < len; i++) {
            if (data[i] == '\0')
                data[i] = ' ';
        }
        if (len && strstr(data, needle) && testProcessAlive((pid_t)atoi(e)))
            return true;
    }
    return false;
}

/* The last second job `job` has reported so far (0: none). A change is
 * measured from this second on, not from when the test asked for it: on a
 * busy machine the test may read the serial log late. */
static int
lastSec(testSerial *serial, int job)
{
    int last = 0;
    guint i;

    testSerialPoll(serial);
    for (i = 0; i < serial->samples->len; i++) {
        const testSample *x = &g_array_index(serial->samples, testSample, i);

        if (x->job == job && x->sec > last)
            last = x->sec;
    }
    return last;
}

/* ---- a server that accepts connections and never answers ---- */

static gpointer
silentAccept(gpointer data)
{
    int fd = GPOINTER_TO_INT(data);

    for (;;) {
        int c = accept(fd, NULL, NULL);

        if (c < 0 && errno != EINTR)
            return NULL;
        /* held open, never read nor written */
    }
}

static int
silentServer(void)
{
    struct sockaddr_in a = {0};
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;

    g_assert_cmpint(fd, >=, 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
    g_assert_cmpint(listen(fd, 64), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&a, &alen), ==, 0);
    g_thread_unref(g_thread_new("silent", silentAccept, GINT_TO_POINTER(fd)));
    return ntohs(a.sin_port);
}

/*
 * Start a guest whose only disk is `disk`, served by a silent server:
 * start must fail within `boundMs` with an error holding `expect`, the
 * domain is shut off, and no QEMU of it remains.
 */
static void
assertSilentStartFails(const char *name, const char *disk, int boundMs, const char *expect)
{
    g_autofree char *serial = g_strdup_printf("%s/%s-serial.log", testTmpDir(), name);
    g_autofree char *xml = testGuestXML(name, "read:vda", "poweroff", serial, disk);
    unsigned char uuid[16];
    int state = -1, reason = -1;
    gint64 t0;
    double took;

    testDriverDefine(drv, xml, uuid);
    t0 = g_get_monotonic_time();
    g_assert_cmpint(qemuDriverCreate(drv, uuid, 0, NULL), ==, -1);
    took = (double)(g_get_monotonic_time() - t0) / 1000.0;
    g_test_message("%s: start failed after %.0f ms: %s", name, took, iovGetLastErrorMessage());
    if (!strstr(iovGetLastErrorMessage(), expect))
        g_error("%s: the error does not say '%s': %s", name, expect, iovGetLastErrorMessage());
    g_assert_cmpfloat(took, <, (double)boundMs);
    g_assert_cmpint(qemuDriverGetState(drv, uuid, &state, &reason), ==, 0);
    g_assert_cmpint(state, ==, IOV_DOMAIN_SHUTOFF);
    g_assert_cmpint(reason, ==, IOV_DOMAIN_SHUTOFF_FAILED);
    g_assert_cmpint(qemuDriverGetPid(drv, uuid), ==, 0);
    g_assert_false(qemuOfGuestRuns(name));
}

/* ---- servers ---- */

/* tgtd's control channel (a socket under /var/run/tgtd) for the portal
 * on `port`: tgtd takes small numbers only. */
static int
tgtControl(int port)
{
    return 100 + port % 900;
}

/* tgtd's control socket and its lock file, which a killed tgtd leaves. */
static void
tgtRemoveSocket(int port)
{
    g_autofree char *sock = g_strdup_printf("/var/run/tgtd/socket.%d", tgtControl(port));
    g_autofree char *lock = g_strdup_printf("%s.lock", sock);

    unlink(sock);
    unlink(lock);
}

/* tgtd on 127.0.0.1:port; returns its pid (it ignores SIGTERM: kill it). */
static pid_t
tgtStart(int port)
{
    g_autofree char *portal = g_strdup_printf("portal=127.0.0.1:%d", port);
    g_autofree char *ctl = g_strdup_printf("%d", tgtControl(port));
    g_autofree char *log = path("tgtd.log");
    g_autofree char *sock = g_strdup_printf("/var/run/tgtd/socket.%d", tgtControl(port));
    const char *argv[] = {"tgtd", "-f", "-C", ctl, "--iscsi", portal, NULL};
    pid_t pid;

    tgtRemoveSocket(port); /* left by an earlier run that failed */
    pid = testStartProcess(argv, log);
    if (!testWaitPath(sock, 10000))
        g_error("tgtd did not create %s (see %s)", sock, log);
    return pid;
}

/* Stop tgtd and remove its socket. */
static void
tgtStop(int port, pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    testForgetPid(pid);
    tgtRemoveSocket(port);
}

static void
tgtAdm(int port, const char *args)
{
    g_autofree char *cmd = g_strdup_printf("tgtadm -C %d --lld iscsi %s", tgtControl(port), args);

    run(cmd);
}

/* A target `iqn` whose LUN 1 is `image`; with CHAP when user is given. */
static void
tgtTarget(int port, int tid, const char *iqn, const char *image, const char *user,
          const char *password)
{
    g_autofree char *a = g_strdup_printf("--op new --mode target --tid %d -T %s", tid, iqn);
    g_autofree char *b =
        g_strdup_printf("--op new --mode logicalunit --tid %d --lun 1 -b %s", tid, image);
    g_autofree char *c = g_strdup_printf("--op bind --mode target --tid %d -I ALL", tid);

    tgtAdm(port, a);
    tgtAdm(port, b);
    tgtAdm(port, c);
    if (user) {
        g_autofree char *d =
            g_strdup_printf("--op new --mode account --user %s --password %s", user, password);
        g_autofree char *e =
            g_strdup_printf("--op bind --mode account --tid %d --user %s", tid, user);

        tgtAdm(port, d);
        tgtAdm(port, e);
    }
}

/*
 * A private sshd on 127.0.0.1:port serving files over SFTP to root,
 * who logs in with a key held by an ssh agent that QEMU reaches through
 * SSH_AUTH_SOCK. Returns the SHA-256 of the host key, in hex.
 */
static char *
sshdStart(int port)
{
    g_autofree char *dir = path("ssh");
    g_autofree char *hostKey = path("ssh/host_ed25519");
    g_autofree char *clientKey = path("ssh/client_ed25519");
    g_autofree char *authKeys = path("ssh/authorized_keys");
    g_autofree char *conf = path("ssh/sshd_config");
    g_autofree char *agentSock = path("ssh/agent.sock");
    g_autofree char *log = path("sshd.log");
    g_autofree char *agentLog = path("ssh-agent.log");
    g_autofree char *pub = NULL;
    g_autofree char *hostPub = NULL;
    g_autofree char *cmd = NULL;
    g_autofree char *cfgText = NULL;
    g_autofree guchar *blob = NULL;
    g_auto(GStrv) fields = NULL;
    gsize blobLen = 0;
    const char *sshd[] = {"/usr/sbin/sshd", "-D", "-e", "-f", conf, NULL};
    const char *agent[] = {"ssh-agent", "-D", "-a", agentSock, NULL};

    g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
    g_mkdir_with_parents("/run/sshd", 0755); /* sshd's privilege separation */
    cmd = g_strdup_printf("ssh-keygen -q -t ed25519 -N '' -f %s", hostKey);
    run(cmd);
    g_clear_pointer(&cmd, g_free);
    cmd = g_strdup_printf("ssh-keygen -q -t ed25519 -N '' -f %s", clientKey);
    run(cmd);
    g_clear_pointer(&cmd, g_free);
    g_clear_pointer(&cmd, g_free);
    cmd = g_strdup_printf("%s.pub", clientKey);
    g_assert_true(g_file_get_contents(cmd, &pub, NULL, NULL));
    writeFile(authKeys, pub, 0600);
    cfgText = g_strdup_printf("ListenAddress 127.0.0.1\nPort %d\nHostKey %s\nPidFile none\n"
                              "AuthorizedKeysFile %s\nStrictModes no\nPasswordAuthentication no\n"
                              "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
                              "UsePAM no\nSubsystem sftp internal-sftp\nLogLevel VERBOSE\n",
                              port, hostKey, authKeys);
    writeFile(conf, cfgText, 0600);
    testStartProcess(sshd, log);
    testStartProcess(agent, agentLog);
    g_assert_true(testWaitPath(agentSock, 10000));
    g_setenv("SSH_AUTH_SOCK", agentSock, TRUE);
    g_clear_pointer(&cmd, g_free);
    cmd = g_strdup_printf("ssh-add -q %s", clientKey);
    run(cmd);

    /* QEMU compares the hash of the key blob, the second field of .pub */
    g_clear_pointer(&cmd, g_free);
    cmd = g_strdup_printf("%s.pub", hostKey);
    g_assert_true(g_file_get_contents(cmd, &hostPub, NULL, NULL));
    fields = g_strsplit(g_strstrip(hostPub), " ", 3);
    blob = g_base64_decode(fields[1], &blobLen);
    return g_compute_checksum_for_data(G_CHECKSUM_SHA256, blob, blobLen);
}

/* ---- iSCSI and ssh share one guest ---- */

static void
testIscsiAndSsh(void)
{
    int iscsiPort = testFreePort(), sshPort = testFreePort();
    g_autofree char *imgChap = path("lun-chap.img");
    g_autofree char *imgOpen = path("lun-open.img");
    g_autofree char *sshImg = path("ssh-disk.raw");
    g_autofree char *secretDir = g_strdup(cfg.secretDir);
    g_autofree char *chapKey = g_build_filename(secretDir, "tgt-chap", NULL);
    g_autofree char *fingerprint = NULL;
    g_autofree char *disks = NULL;
    g_autofree char *serialPath = path("iscsi-ssh-serial.log");
    g_autofree char *xml = NULL;
    g_autoptr(testSerial) serial = testSerialNew(serialPath);
    unsigned char uuid[16];
    int c;
    pid_t pid, tgt;

    testMakeImage(imgChap, 64 << 20, 64 << 20);
    testMakeImage(imgOpen, 64 << 20, 64 << 20);
    testMakeImage(sshImg, 64 << 20, 64 << 20);
    tgt = tgtStart(iscsiPort);
    tgtTarget(iscsiPort, 1, "iqn.2026-11.org.iovirt.test:chap", imgChap, "iovirt", CHAP_PASSWORD);
    tgtTarget(iscsiPort, 2, "iqn.2026-11.org.iovirt.test:open", imgOpen, NULL, NULL);
    fingerprint = sshdStart(sshPort);

    /* the CHAP password in the daemon's store, with a newline as editors leave it */
    g_assert_cmpint(g_mkdir_with_parents(secretDir, 0700), ==, 0);
    writeFile(chapKey, CHAP_PASSWORD "\n", 0600);

    disks = g_strdup_printf(
        "    <disk type='network'><source protocol='iscsi' name='iqn.2026-11.org.iovirt.test:chap/1'>"
        "<host name='127.0.0.1' port='%d'/><auth username='iovirt'><secret type='iscsi' usage='tgt-chap'/></auth>"
        "</source><target dev='vda'/><iothrottle bps_rd='1048576'/></disk>\n"
        "    <disk type='network'><source protocol='iscsi' name='iqn.2026-11.org.iovirt.test:open/1'>"
        "<host name='127.0.0.1' port='%d'/><timeout seconds='5'/></source>"
        "<target dev='vdb'/><iothrottle iops_rd='20'/></disk>\n"
        "    <disk type='network'><source protocol='ssh' name='%s'><host name='127.0.0.1' port='%d'/>"
        "<identity username='root'/><hostkey check='sha256' fingerprint='%s'/></source>"
        "<target dev='vdc'/><iothrottle bps_rd='524288'/></disk>\n",
        iscsiPort, iscsiPort, sshImg, sshPort, fingerprint);
    xml = testGuestXML("stor1",
                       "read:vda:bs=64k:time=24,read:vdb:bs=4k:time=24,read:vdc:bs=64k:time=24",
                       "poweroff", serialPath, disks);
    testDriverDefine(drv, xml, uuid);
    testDriverStart(drv, uuid);
    pid = qemuDriverGetPid(drv, uuid);
    assertKeyHidden("stor1", pid, CHAP_PASSWORD);
    testDriverAssertLiveMatchesQEMU(drv, uuid, "vda");
    testDriverAssertLiveMatchesQEMU(drv, uuid, "vdc");

    /* the limits hold from boot */
    g_assert_true(testSerialWaitSample(serial, 2, 5, BOOT_MS));
    testAssertRate("iSCSI with CHAP, bps_rd 1 MiB/s from boot", testRateBytes(serial, 0, 2, 5),
                   1 * MiB);
    testAssertRate("iSCSI, iops_rd 20 from boot", testRateOps(serial, 1, 2, 5), 20);
    testAssertRate("ssh, bps_rd 512 KiB/s from boot", testRateBytes(serial, 2, 2, 5), 0.5 * MiB);

    /* a live change takes effect */
    setLive(uuid, "vda", THROTTLE_BPS_RD, 2097152);
    setLive(uuid, "vdb", THROTTLE_IOPS_RD, 40);
    setLive(uuid, "vdc", THROTTLE_BPS_RD, 1048576);
    testDriverAssertLiveMatchesQEMU(drv, uuid, "vda");
    testDriverAssertLiveMatchesQEMU(drv, uuid, "vdb");
    testDriverAssertLiveMatchesQEMU(drv, uuid, "vdc");
    c = lastSec(serial, 0) + 1;
    g_assert_true(testSerialWaitSample(serial, 2, c + 4, 30000));
    testAssertRate("iSCSI with CHAP after the change to 2 MiB/s",
                   testRateBytes(serial, 0, c + 2, c + 4), 2 * MiB);
    testAssertRate("iSCSI after the change to 40 IO/s", testRateOps(serial, 1, c + 2, c + 4), 40);
    testAssertRate("ssh after the change to 1 MiB/s", testRateBytes(serial, 2, c + 2, c + 4),
                   1 * MiB);

    /* the manager restarts: it finds the guest and sends no limit */
    qemuDriverFree(drv);
    drv = NULL;
    g_assert_true(testProcessAlive(pid));
    drv = testDriverOpen(&cfg);
    g_assert_cmpint(qemuDriverGetPid(drv, uuid), ==, pid);
    /* query-status and one qom-get per throttle group, nothing else */
    g_assert_cmpint(qemuDriverMonitorCommandCount(drv, uuid), ==, 4);
    g_assert_cmpuint(testDriverLiveValue(drv, uuid, "vda", THROTTLE_BPS_RD), ==, 2097152);
    g_assert_cmpuint(testDriverLiveValue(drv, uuid, "vdb", THROTTLE_IOPS_RD), ==, 40);
    g_assert_cmpuint(testDriverLiveValue(drv, uuid, "vdc", THROTTLE_BPS_RD), ==, 1048576);
    c = lastSec(serial, 0) + 1;
    g_assert_true(testSerialWaitSample(serial, 2, c + 3, 30000));
    testAssertRate("iSCSI with CHAP after the manager restarted",
                   testRateBytes(serial, 0, c, c + 3), 2 * MiB);
    testAssertRate("iSCSI after the manager restarted", testRateOps(serial, 1, c, c + 3), 40);
    testAssertRate("ssh after the manager restarted", testRateBytes(serial, 2, c, c + 3), 1 * MiB);
    assertKeyHidden("stor1", pid, CHAP_PASSWORD);

    testDriverWaitShutoff(drv, uuid, 60000);
    testForgetPid(pid);
    tgtStop(iscsiPort, tgt);
}

/* A key file others can read is refused before QEMU runs. */
static void
testLooseKeyRefused(void)
{
    g_autofree char *key = path("loose.key");
    g_autofree char *serial = path("loose-serial.log");
    g_autofree char *disk = g_strdup_printf(
        "<disk type='network'><source protocol='iscsi' name='iqn.2026-11.org.iovirt.test:x/1'>"
        "<host name='127.0.0.1'/><auth username='u'><secret type='iscsi' file='%s'/></auth>"
        "</source><target dev='vda'/></disk>",
        key);
    g_autofree char *xml = testGuestXML("loose1", "read:vda", "poweroff", serial, disk);
    g_autofree char *want = g_strdup_printf(
        "disk 'vda': the secret file '%s' (owner 0, mode 0644) must belong to the daemon's user (0) and be readable by it alone (chmod 0600)",
        key);
    unsigned char uuid[16];

    writeFile(key, CHAP_PASSWORD, 0644);
    testDriverDefine(drv, xml, uuid);
    g_assert_cmpint(qemuDriverCreate(drv, uuid, 0, NULL), ==, -1);
    g_assert_nonnull(strstr(iovGetLastErrorMessage(), want));
    g_assert_null(strstr(iovGetLastErrorMessage(), CHAP_PASSWORD));
    g_assert_false(qemuOfGuestRuns("loose1"));
}

static void
testSilentServers(void)
{
    int port = silentServer();
    g_autofree char *iscsi = g_strdup_printf(
        "<disk type='network'><source protocol='iscsi' name='iqn.2026-11.org.iovirt.test:silent/1'>"
        "<host name='127.0.0.1' port='%d'/><timeout seconds='2'/></source><target dev='vda'/></disk>",
        port);
    g_autofree char *ssh = g_strdup_printf(
        "<disk type='network'><source protocol='ssh' name='/x.raw'><host name='127.0.0.1' port='%d'/>"
        "<hostkey check='none'/></source><target dev='vda'/></disk>",
        port);

    /* iSCSI: the disk's timeout (2 s) */
    assertSilentStartFails("silent-iscsi", iscsi, 8000, "command timed out");
    /* ssh: libssh's own 10 s; the manager's 30 s start timeout bounds it anyway */
    assertSilentStartFails("silent-ssh", ssh, 30000, "Timeout connecting to 127.0.0.1");
}

/* ---- hot-plug of network disks with a key ---- */

/* An iSCSI disk vdb of the CHAP target on `port`, its key named by
 * `secret` (the <secret> element's attributes). New string. */
static char *
chapDisk(int port, const char *secret, const char *limits)
{
    return g_strdup_printf(
        "<disk type='network'><source protocol='iscsi' name='iqn.2026-11.org.iovirt.test:hp/1'>"
        "<host name='127.0.0.1' port='%d'/><timeout seconds='5'/><auth username='iovirt'>"
        "<secret type='iscsi' %s/></auth></source><target dev='vdb'/>%s</disk>",
        port, secret, limits);
}

/*
 * Attaching `xml` to guest `uuid` (files dir `filesDir`) fails with an
 * error holding `expect` and never the key; QEMU holds exactly what it
 * held (no node, no secret object), the live definition is as before, and
 * no file is left.
 */
static void
assertHotplugRefused(const unsigned char *uuid, const char *xml, const char *expect,
                     const char *filesDir)
{
    g_autofree char *before = testDriverQemuHolds(drv, uuid);
    g_autofree char *live = qemuDriverGetXMLDesc(drv, uuid, 0, false);
    g_autofree char *after = NULL;
    g_autofree char *live2 = NULL;

    g_assert_cmpint(qemuDriverAttachDevice(drv, uuid, xml, IOV_DOMAIN_AFFECT_LIVE, false), ==, -1);
    g_test_message("refused: %s", iovGetLastErrorMessage());
    if (!strstr(iovGetLastErrorMessage(), expect))
        g_error("the error does not say '%s': %s", expect, iovGetLastErrorMessage());
    g_assert_null(strstr(iovGetLastErrorMessage(), CHAP_PASSWORD));
    utilResetError();
    after = testDriverQemuHolds(drv, uuid);
    live2 = qemuDriverGetXMLDesc(drv, uuid, 0, false);
    g_assert_cmpstr(after, ==, before);
    g_assert_null(strstr(after, "sec-vdb"));
    g_assert_cmpstr(live2, ==, live);
    g_assert_false(g_file_test(filesDir, G_FILE_TEST_EXISTS));
}

/* Define and start guest `name`, its vda the file `boot`, whose kernel
 * reads each disk it sees appear for `watchSec` s; returns once the guest
 * says it is ready on `serial`. */
static void
bootWatching(const char *name, const char *boot, testSerial *serial, int watchSec,
             unsigned char uuid[16])
{
    g_autofree char *vda = g_strdup_printf(
        "<disk type='file'><driver name='qemu' type='raw'/><source file='%s'/>"
        "<target dev='vda'/></disk>",
        boot);
    g_autofree char *after = g_strdup_printf("idle iov.watch=read:@:bs=64k:time=%d", watchSec);
    g_autofree char *xml = testGuestXML(name, "", after, serial->path, vda);

    testDriverDefine(drv, xml, uuid);
    testDriverStart(drv, uuid);
    g_assert_cmpint(testSerialWaitLine(serial, "GUEST-READY", 0, BOOT_MS), >=, 0);
}

/* Wait until disk vdb has left the live definition (30 s at most). */
static void
waitVdbGone(const unsigned char *uuid)
{
    gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;

    for (;;) {
        g_autofree char *live = qemuDriverGetXMLDesc(drv, uuid, 0, false);

        if (!strstr(live, "'vdb'") && !strstr(live, "\"vdb\""))
            return;
        if (g_get_monotonic_time() > deadline)
            g_error("disk vdb still in the live definition 30 s after resuming: %s", live);
        g_usleep(100 * 1000);
    }
}

static void
testIscsiHotplug(void)
{
    int port = testFreePort();
    g_autofree char *img = path("lun-hp.img");
    g_autofree char *boot = path("hp-vda.img");
    g_autofree char *storeKey = g_build_filename(cfg.secretDir, "tgt-hp", NULL);
    g_autofree char *fileKey = path("hp-chap.key");
    g_autofree char *looseKey = path("hp-loose.key");
    g_autofree char *wrongKey = path("hp-wrong.key");
    g_autofree char *serialPath = path("hp-serial.log");
    g_autofree char *filesDir = g_build_filename(cfg.stateDir, "hp1.files", NULL);
    g_autofree char *qemuLog = g_strdup_printf("%s/hp1.log", cfg.logDir);
    g_autofree char *before = NULL;
    g_autoptr(testSerial) serial = testSerialNew(serialPath);
    unsigned char uuid[16];
    throttleDef inQemu = {0};
    gint64 t0 = g_get_monotonic_time();
    int from;
    pid_t tgt;

    testMakeImage(img, 64 << 20, 64 << 20);
    testMakeImage(boot, 16 << 20, 0);
    tgt = tgtStart(port);
    tgtTarget(port, 1, "iqn.2026-11.org.iovirt.test:hp", img, "iovirt", CHAP_PASSWORD);
    g_assert_cmpint(g_mkdir_with_parents(cfg.secretDir, 0700), ==, 0);
    writeFile(storeKey, CHAP_PASSWORD "\n", 0600);
    writeFile(fileKey, CHAP_PASSWORD, 0600);
    writeFile(looseKey, CHAP_PASSWORD, 0644);
    writeFile(wrongKey, "not-the-chap-password", 0600);

    bootWatching("hp1", boot, serial, 4, uuid);
    before = testDriverQemuHolds(drv, uuid);

    /* refusals, each leaving QEMU, the definition and the files dir as they were */
    {
        g_autofree char *noKey = chapDisk(port, "usage='no-such-key'", "");
        g_autofree char *loose = g_strdup_printf("file='%s'", looseKey);
        g_autofree char *looseDisk = chapDisk(port, loose, "");
        g_autofree char *wrong = g_strdup_printf("file='%s'", wrongKey);
        g_autofree char *wrongDisk = chapDisk(port, wrong, "<iothrottle bps_rd='1048576'/>");
        g_autofree char *good = chapDisk(port, "usage='tgt-hp'", "<iothrottle bps_rd='1048576'/>");
        g_autofree char *noKeyText = g_strdup_printf(
            "disk 'vdb': cannot open the secret file '%s/no-such-key'", cfg.secretDir);
        g_autofree char *looseText = g_strdup_printf(
            "disk 'vdb': the secret file '%s' (owner 0, mode 0644) must belong to the daemon's user",
            looseKey);

        assertHotplugRefused(uuid, noKey, noKeyText, filesDir);
        assertHotplugRefused(uuid, looseDisk, looseText, filesDir);
        /* the target refuses the login: the secret object goes again */
        assertHotplugRefused(
            uuid, wrongDisk,
            "disk 'vdb': cannot attach it: adding its protocol node (blockdev-add) failed",
            filesDir);
        /* QEMU refuses the device: nodes, group and secret object go again */
        g_setenv("IOVIRT_TEST_FAIL_DEVICE_ADD", "1", TRUE);
        assertHotplugRefused(uuid, good, "adding its virtio-blk-pci device (device_add) failed",
                             filesDir);
        g_unsetenv("IOVIRT_TEST_FAIL_DEVICE_ADD");
    }

    /* attached: limited from the guest's first read, its key in QEMU alone */
    {
        g_autofree char *good = chapDisk(port, "usage='tgt-hp'", "<iothrottle bps_rd='1048576'/>");
        g_autofree char *during = NULL;
        g_autofree char *after = NULL;

        testSerialPoll(serial);
        from = (int)serial->lines->len;
        if (qemuDriverAttachDevice(drv, uuid, good, IOV_DOMAIN_AFFECT_LIVE, false) < 0)
            g_error("attach: %s", iovGetLastErrorMessage());
        during = testDriverQemuHolds(drv, uuid);
        g_assert_nonnull(strstr(during, " sec-vdb"));
        g_assert_nonnull(strstr(during, " proto-vdb"));
        g_assert_nonnull(strstr(during, " disk-vdb"));
        /* QEMU read the copy of the key while adding the object: it is gone */
        g_assert_false(g_file_test(filesDir, G_FILE_TEST_EXISTS));
        g_assert_cmpint(qemuDriverQueryQEMULimits(drv, uuid, "vdb", &inQemu), ==, 0);
        g_assert_cmpuint(inQemu.v[THROTTLE_BPS_RD], ==, 1048576);
        throttleDefClear(&inQemu);
        testDriverAssertLiveMatchesQEMU(drv, uuid, "vdb");
        g_assert_cmpint(
            testSerialWaitLine(serial, "GUEST-DISK-ADDED vdb=67108864", (guint)from, 30000), >=, 0);
        g_assert_true(testSerialWaitSample(serial, 0, 4, 30000));
        testAssertRate("hot-plugged iSCSI with CHAP, bps_rd 1 MiB/s",
                       testRateBytes(serial, 0, 2, 4), 1 * MiB);
        g_assert_false(testFileContains(qemuLog, CHAP_PASSWORD, 0));
        g_assert_false(testFileContains(daemonLog, CHAP_PASSWORD, 0));

        /* the manager restarts: the secret's id is the same, the detach
         * finds and removes it */
        qemuDriverFree(drv);
        drv = testDriverOpen(&cfg);
        testDriverAssertLiveMatchesQEMU(drv, uuid, "vdb");
        testSerialPoll(serial);
        from = (int)serial->lines->len;
        if (qemuDriverDetachDevice(drv, uuid, good, NULL, IOV_DOMAIN_AFFECT_LIVE, false) < 0)
            g_error("detach: %s", iovGetLastErrorMessage());
        after = testDriverQemuHolds(drv, uuid);
        g_assert_cmpstr(after, ==, before);
        g_assert_false(g_file_test(filesDir, G_FILE_TEST_EXISTS));
        g_assert_cmpint(testSerialWaitLine(serial, "GUEST-DISK-REMOVED vdb", (guint)from, 30000),
                        >=, 0);
    }

    /* an unplug the paused guest cannot answer: the secret stays with the
     * disk, and goes when the guest lets the disk go */
    {
        g_autofree char *file = g_strdup_printf("file='%s'", fileKey);
        g_autofree char *disk = chapDisk(port, file, "<iothrottle iops_rd='50'/>");
        g_autofree char *pending = NULL;
        g_autofree char *after = NULL;

        if (qemuDriverAttachDevice(drv, uuid, disk, IOV_DOMAIN_AFFECT_LIVE, false) < 0)
            g_error("attach: %s", iovGetLastErrorMessage());
        g_assert_cmpint(qemuDriverSuspend(drv, uuid), ==, 0);
        g_assert_cmpint(
            qemuDriverDetachDevice(drv, uuid, disk, NULL, IOV_DOMAIN_AFFECT_LIVE, false), ==, -1);
        g_assert_nonnull(strstr(iovGetLastErrorMessage(), "unplug pending"));
        utilResetError();
        pending = testDriverQemuHolds(drv, uuid);
        g_assert_nonnull(strstr(pending, " sec-vdb"));
        g_assert_cmpint(qemuDriverResume(drv, uuid), ==, 0);
        waitVdbGone(uuid);
        after = testDriverQemuHolds(drv, uuid);
        g_assert_cmpstr(after, ==, before);
        g_assert_false(g_file_test(filesDir, G_FILE_TEST_EXISTS));
    }

    g_assert_false(testFileContains(qemuLog, CHAP_PASSWORD, 0));
    g_assert_false(testFileContains(daemonLog, CHAP_PASSWORD, 0));
    {
        pid_t pid = qemuDriverGetPid(drv, uuid);

        g_assert_cmpint(qemuDriverDestroy(drv, uuid, 0), ==, 0);
        testForgetPid(pid);
    }
    tgtStop(port, tgt);
    g_test_message("iSCSI hot-plug case: %.1f s",
                   (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC);
}

/* ---- Ceph RBD ---- */

/*
 * In the cluster of testRbd: a guest gets an RBD disk with its monitors
 * and its cephx key (from the secret store) hot-plugged, reads it at its
 * limit, and loses it again; a wrong key is refused first. QEMU is left
 * with no node and no secret object, the files dir with nothing.
 */
static void
rbdHotplug(int monPort, const char *key)
{
    g_autofree char *storeKey = g_build_filename(cfg.secretDir, "ceph-hp", NULL);
    g_autofree char *wrongKey = path("ceph-wrong.key");
    g_autofree char *boot = path("rbdhp-vda.img");
    g_autofree char *serialPath = path("rbdhp-serial.log");
    g_autofree char *filesDir = g_build_filename(cfg.stateDir, "rbdhp.files", NULL);
    g_autofree char *qemuLog = g_strdup_printf("%s/rbdhp.log", cfg.logDir);
    g_autofree char *before = NULL;
    g_autofree char *during = NULL;
    g_autofree char *after = NULL;
    g_autofree char *wrong = NULL;
    g_autofree char *good = NULL;
    g_autoptr(testSerial) serial = testSerialNew(serialPath);
    unsigned char uuid[16];
    throttleDef inQemu = {0};
    gint64 t0 = g_get_monotonic_time();
    pid_t pid;

    g_assert_cmpint(g_mkdir_with_parents(cfg.secretDir, 0700), ==, 0);
    writeFile(storeKey, key, 0600);
    /* a well-formed cephx key the cluster does not know */
    writeFile(wrongKey, "AQBcMEZlAAAAABAAq8UOZKbzvFjNCtS1Sn0K9w==", 0600);
    testMakeImage(boot, 16 << 20, 0);
    bootWatching("rbdhp", boot, serial, 3, uuid);
    pid = qemuDriverGetPid(drv, uuid);
    before = testDriverQemuHolds(drv, uuid);

    wrong = g_strdup_printf(
        "<disk type='network'><source protocol='rbd' name='iovirt/disk'><host name='127.0.0.1' port='%d'/>"
        "<timeout seconds='3'/><auth username='iovirt'><secret type='ceph' file='%s'/></auth></source>"
        "<target dev='vdb'/></disk>",
        monPort, wrongKey);
    assertHotplugRefused(
        uuid, wrong, "disk 'vdb': cannot attach it: adding its protocol node (blockdev-add) failed",
        filesDir);

    good = g_strdup_printf(
        "<disk type='network'><source protocol='rbd' name='iovirt/disk'><host name='127.0.0.1' port='%d'/>"
        "<timeout seconds='10'/><auth username='iovirt'><secret type='ceph' usage='ceph-hp'/></auth></source>"
        "<target dev='vdb'/><iothrottle bps_rd='2097152'/></disk>",
        monPort);
    if (qemuDriverAttachDevice(drv, uuid, good, IOV_DOMAIN_AFFECT_LIVE, false) < 0)
        g_error("attach: %s", iovGetLastErrorMessage());
    during = testDriverQemuHolds(drv, uuid);
    g_assert_nonnull(strstr(during, " sec-vdb"));
    g_assert_nonnull(strstr(during, " disk-vdb"));
    /* the key and the Ceph configuration were read: the copies are gone */
    g_assert_false(g_file_test(filesDir, G_FILE_TEST_EXISTS));
    g_assert_cmpint(qemuDriverQueryQEMULimits(drv, uuid, "vdb", &inQemu), ==, 0);
    g_assert_cmpuint(inQemu.v[THROTTLE_BPS_RD], ==, 2097152);
    throttleDefClear(&inQemu);
    g_assert_cmpint(testSerialWaitLine(serial, "GUEST-DISK-ADDED vdb=67108864", 0, 30000), >=, 0);
    g_assert_true(testSerialWaitSample(serial, 0, 3, 30000));
    testAssertRate("hot-plugged RBD with cephx, bps_rd 2 MiB/s", testRateBytes(serial, 0, 2, 3),
                   2 * MiB);

    if (qemuDriverDetachDevice(drv, uuid, good, NULL, IOV_DOMAIN_AFFECT_LIVE, false) < 0)
        g_error("detach: %s", iovGetLastErrorMessage());
    after = testDriverQemuHolds(drv, uuid);
    g_assert_cmpstr(after, ==, before);
    g_assert_false(g_file_test(filesDir, G_FILE_TEST_EXISTS));
    g_assert_false(testFileContains(qemuLog, key, 0));
    g_assert_false(testFileContains(daemonLog, key, 0));
    g_assert_cmpint(qemuDriverDestroy(drv, uuid, 0), ==, 0);
    testForgetPid(pid);
    g_test_message("RBD hot-plug case: %.1f s",
                   (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC);
}

static void
testRbd(void)
{
    g_autofree char *cephDir = path("ceph");
    int monPort = testFreePort();
    g_autofree char *cmd =
        g_strdup_printf("%s/tests/qemu/ceph-cluster.sh %s %d", TEST_SRC_DIR, cephDir, monPort);
    g_autofree char *keyFile = g_build_filename(cephDir, "iovirt.key", NULL);
    g_autofree char *pidFile = g_build_filename(cephDir, "pids", NULL);
    g_autofree char *pids = NULL;
    g_autofree char *key = NULL;
    g_autofree char *disks = NULL;
    g_autofree char *serialPath = path("rbd-serial.log");
    g_autofree char *xml = NULL;
    g_autofree char *silent = NULL;
    g_autoptr(testSerial) serial = testSerialNew(serialPath);
    g_autoptr(GError) err = NULL;
    g_auto(GStrv) lines = NULL;
    unsigned char uuid[16];
    g_autofree char *out = NULL;
    g_autofree char *errText = NULL;
    int status = 0, i, c;
    pid_t pid;
    gboolean ok;

    ok = g_spawn_command_line_sync(cmd, &out, &errText, &status, &err);
    /* the daemons the script started are ours to kill, whatever happened */
    if (g_file_get_contents(pidFile, &pids, NULL, NULL)) {
        lines = g_strsplit(pids, "\n", -1);
        for (i = 0; lines[i]; i++) {
            if (atoi(lines[i]) > 0)
                testKillAtExit((pid_t)atoi(lines[i]));
        }
    }
    if (!ok || !g_spawn_check_wait_status(status, NULL))
        g_error("the Ceph cluster did not come up: %s%s", out ? out : "", errText ? errText : "");
    g_assert_true(g_file_get_contents(keyFile, &key, NULL, NULL));
    g_strstrip(key);

    disks = g_strdup_printf(
        "    <disk type='network'><source protocol='rbd' name='iovirt/disk'><host name='127.0.0.1' port='%d'/>"
        "<timeout seconds='10'/><auth username='iovirt'><secret type='ceph' file='%s'/></auth></source>"
        "<target dev='vda'/><iothrottle bps_rd='1048576'/></disk>\n",
        monPort, keyFile);
    xml = testGuestXML("rbd1", "read:vda:bs=64k:time=22", "poweroff", serialPath, disks);
    testDriverDefine(drv, xml, uuid);
    testDriverStart(drv, uuid);
    pid = qemuDriverGetPid(drv, uuid);
    assertKeyHidden("rbd1", pid, key);
    testDriverAssertLiveMatchesQEMU(drv, uuid, "vda");

    g_assert_true(testSerialWaitSample(serial, 0, 5, BOOT_MS));
    testAssertRate("RBD with cephx, bps_rd 1 MiB/s from boot", testRateBytes(serial, 0, 2, 5),
                   1 * MiB);
    setLive(uuid, "vda", THROTTLE_BPS_RD, 2097152);
    testDriverAssertLiveMatchesQEMU(drv, uuid, "vda");
    c = lastSec(serial, 0) + 1;
    g_assert_true(testSerialWaitSample(serial, 0, c + 4, 30000));
    testAssertRate("RBD after the change to 2 MiB/s", testRateBytes(serial, 0, c + 2, c + 4),
                   2 * MiB);

    qemuDriverFree(drv);
    drv = NULL;
    g_assert_true(testProcessAlive(pid));
    drv = testDriverOpen(&cfg);
    g_assert_cmpint(qemuDriverGetPid(drv, uuid), ==, pid);
    g_assert_cmpint(qemuDriverMonitorCommandCount(drv, uuid), ==, 2);
    g_assert_cmpuint(testDriverLiveValue(drv, uuid, "vda", THROTTLE_BPS_RD), ==, 2097152);
    c = lastSec(serial, 0) + 1;
    g_assert_true(testSerialWaitSample(serial, 0, c + 3, 30000));
    testAssertRate("RBD after the manager restarted", testRateBytes(serial, 0, c, c + 3), 2 * MiB);
    assertKeyHidden("rbd1", pid, key);
    testDriverWaitShutoff(drv, uuid, 60000);
    testForgetPid(pid);

    /* a monitor that accepts and never answers: the disk's timeout */
    silent = g_strdup_printf(
        "<disk type='network'><source protocol='rbd' name='iovirt/disk'><host name='127.0.0.1' port='%d'/>"
        "<timeout seconds='2'/><auth username='iovirt'><secret type='ceph' file='%s'/></auth></source>"
        "<target dev='vda'/></disk>",
        silentServer(), keyFile);
    assertSilentStartFails("silent-rbd", silent, 10000, "error connecting: Connection timed out");

    rbdHotplug(monPort, key);
}

int
main(int argc, char **argv)
{
    g_autofree char *configDir = NULL;
    g_autofree char *stateDir = NULL;
    g_autofree char *logDir = NULL;
    g_autofree char *secretDir = NULL;
    int rc;

    g_test_init(&argc, &argv, NULL);
    configDir = path("config");
    stateDir = path("run");
    logDir = path("log");
    secretDir = path("secrets");
    daemonLog = path("manager.log");
    /* what the daemon would log, at its most verbose */
    if (utilLogSetup(UTIL_LOG_DEBUG, daemonLog) < 0)
        g_error("log: %s", iovGetLastErrorMessage());
    cfg.configDir = configDir;
    cfg.stateDir = stateDir;
    cfg.logDir = logDir;
    cfg.secretDir = secretDir;
    cfg.monitorTimeoutMs = 10000;
    drv = testDriverOpen(&cfg);

    g_test_add_func("/storage/net/iscsi-ssh", testIscsiAndSsh);
    g_test_add_func("/storage/net/loose-key-refused", testLooseKeyRefused);
    g_test_add_func("/storage/net/silent-servers", testSilentServers);
    g_test_add_func("/storage/net/iscsi-hotplug", testIscsiHotplug);
    g_test_add_func("/storage/rbd", testRbd);
    rc = g_test_run();
    qemuDriverFree(drv);
    return rc;
}
