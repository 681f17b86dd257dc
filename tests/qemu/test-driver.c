/*
 * test-driver.c: the QEMU driver against real QEMU and the test guest
 *
 * Each test defines guests in one driver (as the daemon will), boots them
 * under TCG, and measures the rates the guest itself sees. Rate bands are
 * -15 % / +10 % of the limit: loose enough for a busy machine, tight
 * enough to catch a limit that is not in force. Runs in the serial suite.
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "qemu/qemu_driver.h"
#include "testdriver.h"
#include "testqemu.h"
#include "util/error.h"

#define MiB (1024.0 * 1024.0)
#define BOOT_MS 60000

static qemuDriver *drv;
static qemuDriverConfig cfg;

static char *
path(const char *name)
{
    return g_build_filename(testTmpDir(), name, NULL);
}

static void
destroy(const unsigned char *uuid)
{
    pid_t pid = qemuDriverGetPid(drv, uuid);

    if (qemuDriverIsActive(drv, uuid) == 1)
        g_assert_cmpint(qemuDriverDestroy(drv, uuid, 0), ==, 0);
    if (pid)
        testForgetPid(pid);
}

static char *
fileDisk(const char *target, const char *image, const char *throttle)
{
    return g_strdup_printf("    <disk type='file'><driver name='qemu' type='raw' cache='none'/>"
                           "<source file='%s'/><target dev='%s'/>%s</disk>\n",
                           image, target, throttle);
}

static void
assertState(const unsigned char *uuid, int state, int reason)
{
    int s = -1, r = -1;

    g_assert_cmpint(qemuDriverGetState(drv, uuid, &s, &r), ==, 0);
    g_assert_cmpint(s, ==, state);
    if (reason >= 0)
        g_assert_cmpint(r, ==, reason);
}

/* ---- tests that need no guest to boot ---- */

static void
testStartFailureNamesQEMUError(void)
{
    g_autofree char *disk = fileDisk("vda", "/nonexistent/iovirt-missing.img", "");
    g_autofree char *serial = path("fail-serial.log");
    g_autofree char *xml = testGuestXML("fail1", "read:vda", "poweroff", serial, disk);
    unsigned char uuid[16];

    testDriverDefine(drv, xml, uuid);
    g_assert_cmpint(qemuDriverCreate(drv, uuid, 0, NULL), ==, -1);
    g_assert_nonnull(strstr(iovGetLastErrorMessage(), "QEMU of domain 'fail1' exited while starting"));
    g_assert_nonnull(strstr(iovGetLastErrorMessage(), "/nonexistent/iovirt-missing.img"));
    assertState(uuid, IOV_DOMAIN_SHUTOFF, IOV_DOMAIN_SHUTOFF_FAILED);
    g_assert_cmpint(qemuDriverGetPid(drv, uuid), ==, 0);
}

static void
testShutoffDomainLimits(void)
{
    g_autofree char *img = path("off.img");
    g_autofree char *disk = fileDisk("vda", img, "<iothrottle bps_rd='1000'/>");
    g_autofree char *serial = path("off-serial.log");
    g_autofree char *xml = testGuestXML("off1", "read:vda", "poweroff", serial, disk);
    unsigned char uuid[16];
    throttleDef t = {0};

    testDriverDefine(drv, xml, uuid);
    /* LIVE needs a running guest; nothing changes */
    g_assert_cmpint(testDriverSetLimit(drv, uuid, "vda", THROTTLE_BPS_RD, 5, IOV_DOMAIN_AFFECT_LIVE), ==, -1);
    g_assert_cmpint(iovGetLastError()->code, ==, IOV_ERR_OPERATION_INVALID);
    g_assert_cmpstr(iovGetLastErrorMessage(), ==, "Requested operation is not valid: domain 'off1' is not running");
    g_assert_cmpint(qemuDriverGetBlockIoThrottle(drv, uuid, "vda", IOV_DOMAIN_AFFECT_LIVE, &t), ==, -1);

    /* CURRENT on a shut-off guest is its definition */
    g_assert_cmpint(testDriverSetLimit(drv, uuid, "vda", THROTTLE_BPS_RD, 7000, IOV_DOMAIN_AFFECT_CURRENT), ==, 0);
    g_assert_cmpint(qemuDriverGetBlockIoThrottle(drv, uuid, "vda", IOV_DOMAIN_AFFECT_CONFIG, &t), ==, 0);
    g_assert_cmpuint(t.v[THROTTLE_BPS_RD], ==, 7000);
    throttleDefClear(&t);

    /* and it is what the saved definition says after a driver restart */
    qemuDriverFree(drv);
    drv = testDriverOpen(&cfg);
    g_assert_cmpint(qemuDriverGetBlockIoThrottle(drv, uuid, "vda", 0, &t), ==, 0);
    g_assert_cmpuint(t.v[THROTTLE_BPS_RD], ==, 7000);
    throttleDefClear(&t);

    /* reading both at once is refused */
    g_assert_cmpint(qemuDriverGetBlockIoThrottle(drv, uuid, "vda",
                                                 IOV_DOMAIN_AFFECT_LIVE | IOV_DOMAIN_AFFECT_CONFIG, &t), ==, -1);
    g_assert_cmpint(iovGetLastError()->code, ==, IOV_ERR_INVALID_ARG);
}

/* ---- limits from boot, read and write, iops, reboot ---- */

static void
testLimitsFromBootAndReboot(void)
{
    g_autofree char *imgA = path("boot-a.img");
    g_autofree char *imgB = path("boot-b.img");
    g_autofree char *imgC = path("boot-c.img");
    g_autofree char *imgD = path("boot-d.img");
    g_autofree char *dA = fileDisk("vda", imgA, "<iothrottle bps_rd='2097152'/>");
    g_autofree char *dB = fileDisk("vdb", imgB, "<iothrottle bps_rd='8388608'/>");
    g_autofree char *dC = fileDisk("vdc", imgC, "<iothrottle iops='50'/>");
    g_autofree char *dD = fileDisk("vdd", imgD, "<iothrottle bps_rd='4194304' bps_wr='1048576'/>");
    g_autofree char *disks = g_strconcat(dA, dB, dC, dD, NULL);
    g_autofree char *serialPath = path("boot-serial.log");
    g_autofree char *xml = testGuestXML(
        "boot1",
        "read:vda:bs=64k:time=7,read:vdb:bs=64k:time=7,read:vdc:bs=4k:time=7,"
        "read:vdd:bs=64k:time=7,write:vdd:bs=64k:time=7:off=32m",
        "idle", serialPath, disks);
    g_autoptr(testSerial) serial = testSerialNew(serialPath);
    unsigned char uuid[16];
    int boot2, i;

    for (i = 0; i < 4; i++)
        testMakeImage((const char *[]){imgA, imgB, imgC, imgD}[i], 64 << 20, 64 << 20);
    testDriverDefine(drv, xml, uuid);
    testDriverStart(drv, uuid);
    assertState(uuid, IOV_DOMAIN_RUNNING, IOV_DOMAIN_RUNNING_BOOTED);
    g_assert_cmpint(testSerialWaitLine(serial, "IOVPROBE-DONE", 0, BOOT_MS), >=, 0);

    testAssertRate("vda bps_rd 2 MiB/s", testRateBytes(serial, 0, 2, -1), 2 * MiB);
    testAssertRate("vdb bps_rd 8 MiB/s", testRateBytes(serial, 1, 2, -1), 8 * MiB);
    testAssertRate("vdc iops 50", testRateOps(serial, 2, 2, -1), 50);
    testAssertRate("vdd bps_rd 4 MiB/s with writes", testRateBytes(serial, 3, 2, -1), 4 * MiB);
    testAssertRate("vdd bps_wr 1 MiB/s with reads", testRateBytes(serial, 4, 2, -1), 1 * MiB);

    /* a guest reboot keeps QEMU and the limits: the probe runs again */
    g_assert_cmpint(qemuDriverReboot(drv, uuid, 0), ==, 0);
    boot2 = testSerialWaitLine(serial, "GUEST-BOOT", 1, BOOT_MS);
    g_assert_cmpint(boot2, >, 0);
    g_array_set_size(serial->samples, 0);
    g_assert_cmpint(testSerialWaitLine(serial, "IOVPROBE-DONE", (guint)boot2, BOOT_MS), >=, 0);
    testAssertRate("vda after reboot", testRateBytes(serial, 0, 2, -1), 2 * MiB);
    testAssertRate("vdc after reboot", testRateOps(serial, 2, 2, -1), 50);
    assertState(uuid, IOV_DOMAIN_RUNNING, -1);
    g_assert_cmpuint(testDriverLiveValue(drv, uuid, "vdb", THROTTLE_BPS_RD), ==, 8388608);

    /* graceful shutdown: the power button, then shut off */
    g_assert_cmpint(qemuDriverShutdown(drv, uuid, 0), ==, 0);
    testDriverWaitShutoff(drv, uuid, 30000);
    assertState(uuid, IOV_DOMAIN_SHUTOFF, IOV_DOMAIN_SHUTOFF_SHUTDOWN);
}


/* ---- live changes, nothing sent twice, bad changes, driver restart ---- */

static void
testLiveChangeAndRestart(void)
{
    g_autofree char *img = path("live.img");
    g_autofree char *disks = fileDisk("vda", img, "<iothrottle bps_rd='2097152'/>");
    g_autofree char *serialPath = path("live-serial.log");
    g_autofree char *xml = testGuestXML("live1", "read:vda:bs=64k:time=24", "poweroff",
                                        serialPath, disks);
    g_autoptr(testSerial) serial = testSerialNew(serialPath);
    unsigned char uuid[16];
    throttleChange chg = {0};
    throttleDef t = {0};
    long long count;
    pid_t pid;

    testMakeImage(img, 64 << 20, 64 << 20);
    testDriverDefine(drv, xml, uuid);
    testDriverStart(drv, uuid);
    pid = qemuDriverGetPid(drv, uuid);
    testDriverAssertLiveMatchesQEMU(drv, uuid, "vda");

    /* a live change during the read takes effect within 2 s */
    g_assert_true(testSerialWaitSample(serial, 0, 4, BOOT_MS));
    g_assert_cmpint(testDriverSetLimit(drv, uuid, "vda", THROTTLE_BPS_RD, 8388608, IOV_DOMAIN_AFFECT_LIVE), ==, 0);
    testAssertRate("vda before the change", testRateBytes(serial, 0, 2, 4), 2 * MiB);
    testDriverAssertLiveMatchesQEMU(drv, uuid, "vda");
    g_assert_true(testSerialWaitSample(serial, 0, 9, 20000));
    testAssertRate("vda 2 s after the change to 8 MiB/s", testRateBytes(serial, 0, 7, 9), 8 * MiB);

    /* the same values again: nothing is sent to QEMU */
    count = qemuDriverMonitorCommandCount(drv, uuid);
    g_assert_cmpint(testDriverSetLimit(drv, uuid, "vda", THROTTLE_BPS_RD, 8388608, IOV_DOMAIN_AFFECT_LIVE), ==, 0);
    g_assert_cmpint(qemuDriverMonitorCommandCount(drv, uuid), ==, count);

    /* invalid changes are refused with their rule and change nothing */
    throttleChangeSet(&chg, THROTTLE_BPS, 1000);
    throttleChangeSet(&chg, THROTTLE_BPS_RD, 1000);
    g_assert_cmpint(qemuDriverSetBlockIoThrottle(drv, uuid, "vda", &chg, IOV_DOMAIN_AFFECT_LIVE, NULL), ==, -1);
    g_assert_cmpstr(iovGetLastErrorMessage(), ==, "invalid argument: disk 'vda': bps (1000) and bps_rd (1000) cannot both be set: a total limit excludes read and write limits; set bps alone, or bps_rd and bps_wr");
    throttleChangeClear(&chg);
    throttleChangeSet(&chg, THROTTLE_BPS_RD_MAX, 1000);
    g_assert_cmpint(qemuDriverSetBlockIoThrottle(drv, uuid, "vda", &chg, IOV_DOMAIN_AFFECT_LIVE, NULL), ==, -1);
    g_assert_cmpstr(iovGetLastErrorMessage(), ==, "invalid argument: disk 'vda': bps_rd_max (1000) must not be below bps_rd (8388608)");
    throttleChangeClear(&chg);
    g_assert_cmpint(testDriverSetLimit(drv, uuid, "vdz", THROTTLE_BPS_RD, 1, IOV_DOMAIN_AFFECT_LIVE), ==, -1);
    g_assert_cmpstr(iovGetLastErrorMessage(), ==, "invalid argument: disk 'vdz' not found in the live definition of domain 'live1'");
    g_assert_cmpint(qemuDriverMonitorCommandCount(drv, uuid), ==, count);
    g_assert_cmpuint(testDriverLiveValue(drv, uuid, "vda", THROTTLE_BPS_RD), ==, 8388608);

    /* a change of the saved definition only leaves the guest alone */
    g_assert_cmpint(testDriverSetLimit(drv, uuid, "vda", THROTTLE_BPS_RD, 3000000, IOV_DOMAIN_AFFECT_CONFIG), ==, 0);
    g_assert_cmpint(qemuDriverMonitorCommandCount(drv, uuid), ==, count);
    g_assert_cmpuint(testDriverLiveValue(drv, uuid, "vda", THROTTLE_BPS_RD), ==, 8388608);
    g_assert_cmpint(qemuDriverGetBlockIoThrottle(drv, uuid, "vda", IOV_DOMAIN_AFFECT_CONFIG, &t), ==, 0);
    g_assert_cmpuint(t.v[THROTTLE_BPS_RD], ==, 3000000);
    throttleDefClear(&t);

    /* the manager restarts while the guest reads: the guest goes on */
    g_assert_true(testSerialWaitSample(serial, 0, 11, 20000));
    qemuDriverFree(drv);
    drv = NULL;
    {
        /* the guest reports a second more with no manager at all */
        testSample *last;

        testSerialPoll(serial);
        last = &g_array_index(serial->samples, testSample, serial->samples->len - 1);
        g_assert_true(testSerialWaitSample(serial, 0, last->sec + 1, 20000));
    }
    g_assert_true(testProcessAlive(pid));
    drv = testDriverOpen(&cfg);
    assertState(uuid, IOV_DOMAIN_RUNNING, -1);
    g_assert_cmpint(qemuDriverGetPid(drv, uuid), ==, pid);
    g_assert_cmpuint(testDriverLiveValue(drv, uuid, "vda", THROTTLE_BPS_RD), ==, 8388608);
    /* reconnecting sent query-status and one qom-get, no limits */
    g_assert_cmpint(qemuDriverMonitorCommandCount(drv, uuid), ==, 2);
    testDriverAssertLiveMatchesQEMU(drv, uuid, "vda");
    g_assert_true(testSerialWaitSample(serial, 0, 18, 20000));
    testAssertRate("vda after the manager restarted", testRateBytes(serial, 0, 14, 18), 8 * MiB);

    /* the guest powers itself off at the end of its probe */
    testDriverWaitShutoff(drv, uuid, 30000);
    assertState(uuid, IOV_DOMAIN_SHUTOFF, IOV_DOMAIN_SHUTOFF_SHUTDOWN);
    g_assert_false(testProcessAlive(pid));
    testForgetPid(pid);
}

/* ---- network disks: NBD over TCP and a unix socket, HTTP ---- */

static void
testNetworkDisksAndCrash(void)
{
    g_autofree char *nbdImg = path("nbd.img");
    g_autofree char *nbdImg2 = path("nbd2.img");
    g_autofree char *www = path("www");
    g_autofree char *httpImg = path("www/disk.raw");
    g_autofree char *nbdSock = path("nbd.sock");
    g_autofree char *nbdLog = path("nbdkit.log");
    g_autofree char *nginxConf = path("nginx.conf");
    g_autofree char *nginxLog = path("nginx.log");
    g_autofree char *nbdPortStr = g_strdup_printf("%d", testFreePort());
    int httpPort = testFreePort();
    g_autofree char *conf = g_strdup_printf(
        "daemon off; master_process off; pid %s/nginx.pid; error_log %s/nginx-error.log;\n"
        "events { worker_connections 64; }\n"
        "http { access_log off; client_body_temp_path %s/nginx-body;\n"
        "  server { listen 127.0.0.1:%d; root %s; } }\n",
        testTmpDir(), testTmpDir(), testTmpDir(), httpPort, www);
    const char *nbdTcp[] = {"nbdkit", "-f", "-i", "127.0.0.1", "-p", nbdPortStr, "file", nbdImg, NULL};
    const char *nbdUnix[] = {"nbdkit", "-f", "-U", nbdSock, "file", nbdImg2, NULL};
    const char *nginx[] = {"nginx", "-c", nginxConf, "-p", testTmpDir(), NULL};
    g_autofree char *disks = g_strdup_printf(
        "    <disk type='network'><source protocol='nbd'><host name='127.0.0.1' port='%s'/></source>"
        "<target dev='vda'/><iothrottle bps_rd='4194304'/></disk>\n"
        "    <disk type='network'><source protocol='nbd'><host transport='unix' socket='%s'/></source>"
        "<target dev='vdb'/><iothrottle iops_rd='40'/></disk>\n"
        "    <disk type='network'><source protocol='http' name='/disk.raw'><host name='127.0.0.1' port='%d'/></source>"
        "<target dev='vdc'/><readonly/><iothrottle bps='2097152'/></disk>\n",
        nbdPortStr, nbdSock, httpPort);
    g_autofree char *serialPath = path("net-serial.log");
    g_autofree char *xml = testGuestXML("net1", "read:vda:bs=64k:time=7,read:vdb:bs=4k:time=7,read:vdc:bs=64k:time=7",
                                        "idle", serialPath, disks);
    g_autoptr(testSerial) serial = testSerialNew(serialPath);
    g_autoptr(GError) err = NULL;
    unsigned char uuid[16];
    pid_t qemu;

    g_assert_cmpint(g_mkdir_with_parents(www, 0755), ==, 0);
    testMakeImage(nbdImg, 64 << 20, 64 << 20);
    testMakeImage(nbdImg2, 64 << 20, 64 << 20);
    testMakeImage(httpImg, 64 << 20, 64 << 20);
    g_assert_true(g_file_set_contents(nginxConf, conf, -1, &err));
    testStartProcess(nbdTcp, nbdLog);
    testStartProcess(nbdUnix, nbdLog);
    testStartProcess(nginx, nginxLog);
    g_assert_true(testWaitPath(nbdSock, 10000));
    g_assert_true(testWaitPort(atoi(nbdPortStr), 10000));
    g_assert_true(testWaitPort(httpPort, 10000));

    testDriverDefine(drv, xml, uuid);
    testDriverStart(drv, uuid);
    qemu = qemuDriverGetPid(drv, uuid);
    g_assert_cmpint(testSerialWaitLine(serial, "IOVPROBE-DONE", 0, BOOT_MS), >=, 0);
    testAssertRate("NBD over TCP, bps_rd 4 MiB/s", testRateBytes(serial, 0, 2, -1), 4 * MiB);
    testAssertRate("NBD over a unix socket, iops_rd 40", testRateOps(serial, 1, 2, -1), 40);
    testAssertRate("HTTP, bps 2 MiB/s", testRateBytes(serial, 2, 2, -1), 2 * MiB);
    testDriverAssertLiveMatchesQEMU(drv, uuid, "vda");
    testDriverAssertLiveMatchesQEMU(drv, uuid, "vdc");

    /* QEMU killed behind our back: noticed, shut off as crashed */
    kill(qemu, SIGKILL);
    testDriverWaitShutoff(drv, uuid, 10000);
    assertState(uuid, IOV_DOMAIN_SHUTOFF, IOV_DOMAIN_SHUTOFF_CRASHED);
    testForgetPid(qemu);
}

/* ---- groups ---- */

static void
testGroupSharesOneLimit(void)
{
    g_autofree char *imgA = path("grp-a.img");
    g_autofree char *imgB = path("grp-b.img");
    g_autofree char *imgC = path("grp-c.img");
    g_autofree char *dA = fileDisk("vda", imgA, "<iothrottle bps_rd='4194304' group='shared'/>");
    g_autofree char *dB = fileDisk("vdb", imgB, "<iothrottle bps_rd='4194304' group='shared'/>");
    g_autofree char *dC = fileDisk("vdc", imgC, "");
    g_autofree char *disks = g_strconcat(dA, dB, dC, NULL);
    g_autofree char *serialPath = path("grp-serial.log");
    g_autofree char *xml = testGuestXML("grp1", "read:vda:bs=64k:time=14,read:vdb:bs=64k:time=14",
                                        "idle", serialPath, disks);
    g_autoptr(testSerial) serial = testSerialNew(serialPath);
    unsigned char uuid[16];
    throttleChange chg = {0};
    g_auto(GStrv) changed = NULL;
    double a, b;

    testMakeImage(imgA, 64 << 20, 64 << 20);
    testMakeImage(imgB, 64 << 20, 64 << 20);
    testMakeImage(imgC, 16 << 20, 0);
    testDriverDefine(drv, xml, uuid);
    testDriverStart(drv, uuid);
    g_assert_true(testSerialWaitSample(serial, 1, 6, BOOT_MS));
    a = testRateBytes(serial, 0, 2, 6);
    b = testRateBytes(serial, 1, 2, 6);
    testAssertRate("group 'shared' at 4 MiB/s, vda + vdb", a + b, 4 * MiB);
    testAssertRate("vda's share of the group", a, 2 * MiB);
    testAssertRate("vdb's share of the group", b, 2 * MiB);
    testDriverAssertLiveMatchesQEMU(drv, uuid, "vda");

    /* a change through one member changes the group and every member */
    throttleChangeSet(&chg, THROTTLE_BPS_RD, 2097152);
    g_assert_cmpint(qemuDriverSetBlockIoThrottle(drv, uuid, "vdb", &chg, IOV_DOMAIN_AFFECT_LIVE, &changed), ==, 0);
    throttleChangeClear(&chg);
    g_assert_cmpint(g_strv_length(changed), ==, 2);
    g_assert_cmpstr(changed[0], ==, "vda");
    g_assert_cmpstr(changed[1], ==, "vdb");
    g_assert_cmpuint(testDriverLiveValue(drv, uuid, "vda", THROTTLE_BPS_RD), ==, 2097152);
    testDriverAssertLiveMatchesQEMU(drv, uuid, "vda");
    testDriverAssertLiveMatchesQEMU(drv, uuid, "vdb");
    g_assert_true(testSerialWaitSample(serial, 1, 13, 30000));
    testAssertRate("group after the change to 2 MiB/s", testRateBytes(serial, 0, 10, 13) + testRateBytes(serial, 1, 10, 13), 2 * MiB);

    /* vdc joins the group live: it takes the group's limits */
    throttleChangeSetGroup(&chg, "shared");
    g_assert_cmpint(qemuDriverSetBlockIoThrottle(drv, uuid, "vdc", &chg, IOV_DOMAIN_AFFECT_LIVE, NULL), ==, 0);
    throttleChangeClear(&chg);
    g_assert_cmpuint(testDriverLiveValue(drv, uuid, "vdc", THROTTLE_BPS_RD), ==, 2097152);
    testDriverAssertLiveMatchesQEMU(drv, uuid, "vdc");
    /* and leaves it for limits of its own */
    throttleChangeSetGroup(&chg, "");
    throttleChangeSet(&chg, THROTTLE_IOPS, 77);
    g_assert_cmpint(qemuDriverSetBlockIoThrottle(drv, uuid, "vdc", &chg, IOV_DOMAIN_AFFECT_LIVE, NULL), ==, 0);
    throttleChangeClear(&chg);
    g_assert_cmpuint(testDriverLiveValue(drv, uuid, "vdc", THROTTLE_IOPS), ==, 77);
    g_assert_cmpuint(testDriverLiveValue(drv, uuid, "vda", THROTTLE_IOPS), ==, 0);
    testDriverAssertLiveMatchesQEMU(drv, uuid, "vdc");
    testDriverAssertLiveMatchesQEMU(drv, uuid, "vda");

    destroy(uuid);
    assertState(uuid, IOV_DOMAIN_SHUTOFF, IOV_DOMAIN_SHUTOFF_DESTROYED);
}

int
main(int argc, char **argv)
{
    g_autofree char *configDir = NULL;
    g_autofree char *stateDir = NULL;
    g_autofree char *logDir = NULL;
    int rc;

    g_test_init(&argc, &argv, NULL);
    configDir = path("config");
    stateDir = path("run");
    logDir = path("log");
    cfg.configDir = configDir;
    cfg.stateDir = stateDir;
    cfg.logDir = logDir;
    cfg.monitorTimeoutMs = 10000;
    drv = testDriverOpen(&cfg);

    g_test_add_func("/driver/start-failure-names-qemu-error", testStartFailureNamesQEMUError);
    g_test_add_func("/driver/shutoff-domain-limits", testShutoffDomainLimits);
    g_test_add_func("/driver/limits-from-boot-and-reboot", testLimitsFromBootAndReboot);
    g_test_add_func("/driver/live-change-and-restart", testLiveChangeAndRestart);
    g_test_add_func("/driver/network-disks-and-crash", testNetworkDisksAndCrash);
    g_test_add_func("/driver/group-shares-one-limit", testGroupSharesOneLimit);
    rc = g_test_run();
    qemuDriverFree(drv);
    return rc;
}
