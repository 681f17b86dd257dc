/*
 * test-hotplug.c: disks that come and go, in the QEMU driver, against real
 * QEMU and the test guest
 *
 * One guest serves every test, in order: failed attaches leave QEMU and
 * the definitions exactly as before; twenty attach/detach cycles leave no
 * node, object or device behind and give back every fd; an attach to the
 * running guest and the persistent definition at once; an unplug the
 * paused guest cannot answer stays pending, through a restart of the
 * driver, and completes once the guest runs again. QEMU's state is read
 * with its own queries (query-named-block-nodes, qom-list /objects,
 * query-pci). Runs in the serial suite.
 */
#include <dirent.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "qemu/qemu_driver.h"
#include "qemu/qemu_hotplug.h"
#include "qemu/qemu_monitor.h"
#include "testdriver.h"
#include "testqemu.h"
#include "util/error.h"

#define BOOT_MS 60000
#define LIVE IOV_DOMAIN_AFFECT_LIVE
#define CONFIG IOV_DOMAIN_AFFECT_CONFIG

static qemuDriver *drv;
static qemuDriverConfig cfg;
static unsigned char uuid[16];
static char *vdbImage;

static char *
path(const char *name)
{
    return g_build_filename(testTmpDir(), name, NULL);
}

static char *
fileDisk(const char *target, const char *image, const char *extra)
{
    return g_strdup_printf("<disk type='file'><driver name='qemu' type='raw' cache='none'/>"
                           "<source file='%s'/><target dev='%s'/>%s</disk>",
                           image, target, extra);
}

static char *
liveXML(void)
{
    return qemuDriverGetXMLDesc(drv, uuid, 0, false);
}

static char *
configXML(void)
{
    return qemuDriverGetXMLDesc(drv, uuid, IOV_DOMAIN_XML_INACTIVE, false);
}

static int
fdCount(void)
{
    g_autoptr(GDir) dir = g_dir_open("/proc/self/fd", 0, NULL);
    int n = 0;

    while (g_dir_read_name(dir))
        n++;
    return n;
}

/* An attach of `xml` fails with an error containing each of `texts`, and
 * QEMU and both definitions are exactly as before. */
static void
assertAttachFails(const char *xml, unsigned int flags, const char *const *texts)
{
    g_autofree char *before = testDriverQemuHolds(drv, uuid);
    g_autofree char *live = liveXML();
    g_autofree char *config = configXML();
    g_autofree char *after = NULL;
    g_autofree char *live2 = NULL;
    g_autofree char *config2 = NULL;
    size_t i;

    g_assert_cmpint(qemuDriverAttachDevice(drv, uuid, xml, flags, false), ==, -1);
    for (i = 0; texts[i]; i++) {
        if (!strstr(iovGetLastErrorMessage(), texts[i]))
            g_error("error '%s' does not say '%s'", iovGetLastErrorMessage(), texts[i]);
    }
    utilResetError();
    after = testDriverQemuHolds(drv, uuid);
    live2 = liveXML();
    config2 = configXML();
    g_assert_cmpstr(after, ==, before);
    g_assert_cmpstr(live2, ==, live);
    g_assert_cmpstr(config2, ==, config);
}

static void
testBoot(void)
{
    g_autofree char *vda = path("vda.img");
    g_autofree char *serial = path("hp-serial.log");
    g_autofree char *disk = NULL;
    g_autofree char *vdaDisk = NULL;
    g_autofree char *xml = NULL;
    g_autofree char *state = NULL;
    testSerial *s;

    vdbImage = path("vdb.img");
    testMakeImage(vda, 16 << 20, 0);
    testMakeImage(vdbImage, 16 << 20, 0);
    /* vda, and a cdrom with an empty tray but limits of its own */
    vdaDisk = fileDisk("vda", vda, "");
    disk = g_strdup_printf("%s<disk type='file' device='cdrom'><target dev='sda' bus='sata'/>"
                           "<iothrottle bps_rd='1048576'/></disk>",
                           vdaDisk);
    xml = testGuestXML("hp", "", "idle", serial, disk);
    testDriverDefine(drv, xml, uuid);
    testDriverStart(drv, uuid);
    s = testSerialNew(serial);
    g_assert_cmpint(testSerialWaitLine(s, "GUEST-READY", 0, BOOT_MS), >=, 0);
    testSerialFree(s);
    /* the boot disk on the first root port, four free ones beside it */
    state = testDriverQemuHolds(drv, uuid);
    g_assert_nonnull(strstr(state, "query-pci: disk-vda rp0 rp1 rp2 rp3 rp4\n"));
}

static void
testFailuresChangeNothing(void)
{
    g_autofree char *missing =
        fileDisk("vdb", "/nonexistent/iovirt-hotplug.img", "<iothrottle bps_rd='4194304'/>");
    g_autofree char *taken = fileDisk("vda", vdbImage, "");
    g_autofree char *sata = fileDisk("sdb", vdbImage, "");
    g_autofree char *good = fileDisk("vdb", vdbImage, "<iothrottle bps_rd='4194304'/>");
    g_autofree char *badLimits =
        fileDisk("vdb", vdbImage, "<iothrottle bps='1000' bps_rd='1000'/>");
    const char *const missingTexts[] = {
        "disk 'vdb': cannot attach it: adding its protocol node (blockdev-add) failed",
        "/nonexistent/iovirt-hotplug.img", NULL};
    const char *const takenTexts[] = {
        "target 'vda' is already used by a disk in the live definition of domain 'hp'", NULL};
    const char *const sataTexts[] = {
        "disk 'sdb': a sata disk cannot be hot-plugged into running domain 'hp'", NULL};
    const char *const refusedTexts[] = {
        "disk 'vdb': cannot attach it: adding its virtio-blk-pci device (device_add) failed",
        "x-iovirt-test-fault", NULL};
    const char *const limitTexts[] = {"vdb", "bps", NULL};

    assertAttachFails(missing, LIVE, missingTexts);
    assertAttachFails(taken, LIVE, takenTexts);
    assertAttachFails(taken, LIVE | CONFIG, takenTexts);
    assertAttachFails(sata, LIVE, sataTexts);
    assertAttachFails(badLimits, LIVE, limitTexts);
    /* QEMU refuses the device: the group and the three nodes go again */
    g_setenv("IOVIRT_TEST_FAIL_DEVICE_ADD", "1", TRUE);
    assertAttachFails(good, LIVE | CONFIG, refusedTexts);
    g_unsetenv("IOVIRT_TEST_FAIL_DEVICE_ADD");
}

static void
testCyclesLeaveNothing(void)
{
    g_autofree char *before = testDriverQemuHolds(drv, uuid);
    g_autofree char *live = liveXML();
    int fds = fdCount();
    int i;

    for (i = 0; i < 20; i++) {
        g_autofree char *xml = fileDisk("vdb", vdbImage,
                                        i % 2 ? "<iothrottle bps_rd='4194304'/>"
                                              : "<iothrottle group='tenant' iops='300'/>");
        g_autofree char *during = NULL;
        throttleDef inQemu = {0};

        g_assert_cmpint(qemuDriverAttachDevice(drv, uuid, xml, LIVE, false), ==, 0);
        g_assert_cmpint(qemuDriverQueryQEMULimits(drv, uuid, "vdb", &inQemu), ==, 0);
        g_assert_cmpuint(inQemu.v[THROTTLE_BPS_RD], ==, i % 2 ? 4194304 : 0);
        g_assert_cmpuint(inQemu.v[THROTTLE_IOPS], ==, i % 2 ? 0 : 300);
        throttleDefClear(&inQemu);
        testDriverAssertLiveMatchesQEMU(drv, uuid, "vdb");
        during = testDriverQemuHolds(drv, uuid);
        g_assert_nonnull(strstr(during, "disk-vdb"));
        g_assert_nonnull(strstr(during, i % 2 ? "tg-vdb" : "tgg-tenant"));
        g_assert_cmpint(qemuDriverDetachDevice(drv, uuid, xml, NULL, LIVE, false), ==, 0);
    }
    {
        g_autofree char *after = testDriverQemuHolds(drv, uuid);
        g_autofree char *live2 = liveXML();

        g_assert_cmpstr(after, ==, before);
        g_assert_cmpstr(live2, ==, live);
        g_assert_cmpint(fdCount(), ==, fds);
    }
}

static void
testLiveAndConfig(void)
{
    g_autofree char *xml = fileDisk("vdb", vdbImage, "<iothrottle bps_wr='2097152'/>");
    g_autofree char *before = testDriverQemuHolds(drv, uuid);
    g_autofree char *config = NULL;
    g_autofree char *file = NULL;
    g_autofree char *configPath = path("config/hp.xml");

    g_assert_cmpint(qemuDriverAttachDevice(drv, uuid, xml, LIVE | CONFIG, false), ==, 0);
    config = configXML();
    g_assert_nonnull(strstr(config, "vdb.img"));
    g_assert_true(g_file_get_contents(configPath, &file, NULL, NULL));
    g_assert_nonnull(strstr(file, "<iothrottle bps_wr=\"2097152\"/>"));
    g_clear_pointer(&file, g_free);
    g_assert_cmpuint(testDriverLiveValue(drv, uuid, "vdb", THROTTLE_BPS_WR), ==, 2097152);

    /* an update that changes the limits only: the document is the whole state */
    {
        g_autofree char *upd = fileDisk("vdb", vdbImage, "<iothrottle bps_rd='1048576'/>");
        g_autofree char *other =
            g_strdup_printf("<disk type='file'><driver name='qemu' type='qcow2'/>"
                            "<source file='%s'/><target dev='vdb'/></disk>",
                            vdbImage);

        g_assert_cmpint(qemuDriverUpdateDevice(drv, uuid, upd, LIVE | CONFIG, false), ==, 0);
        g_assert_cmpuint(testDriverLiveValue(drv, uuid, "vdb", THROTTLE_BPS_WR), ==, 0);
        g_assert_cmpuint(testDriverLiveValue(drv, uuid, "vdb", THROTTLE_BPS_RD), ==, 1048576);
        testDriverAssertLiveMatchesQEMU(drv, uuid, "vdb");
        g_assert_cmpint(qemuDriverUpdateDevice(drv, uuid, other, LIVE, false), ==, -1);
        g_assert_nonnull(strstr(
            iovGetLastErrorMessage(),
            "disk 'vdb' of domain 'hp': its driver type (format) cannot be changed by an update"));
        utilResetError();
    }

    g_assert_cmpint(qemuDriverDetachDevice(drv, uuid, NULL, "disk-vdb", LIVE | CONFIG, false), ==,
                    0);
    g_clear_pointer(&config, g_free);
    config = configXML();
    g_assert_null(strstr(config, "vdb.img"));
    g_assert_true(g_file_get_contents(configPath, &file, NULL, NULL));
    g_assert_null(strstr(file, "vdb.img"));
    {
        g_autofree char *after = testDriverQemuHolds(drv, uuid);

        g_assert_cmpstr(after, ==, before);
    }
}

static void
testRebootKeepsIt(void)
{
    g_autofree char *xml = fileDisk("vdb", vdbImage, "<iothrottle bps_rd='4194304'/>");
    g_autofree char *serialPath = path("hp-serial.log");
    g_autofree char *during = NULL;
    g_autofree char *after = NULL;
    testSerial *s = testSerialNew(serialPath);
    int from;

    g_assert_cmpint(qemuDriverAttachDevice(drv, uuid, xml, LIVE, false), ==, 0);
    during = testDriverQemuHolds(drv, uuid);
    testSerialPoll(s);
    from = testSerialWaitLine(s, "GUEST-READY", 0, 1000);
    g_assert_cmpint(qemuDriverReboot(drv, uuid, 0), ==, 0);
    /* the guest boots again and finds the disk; QEMU kept it, limited */
    g_assert_cmpint(testSerialWaitLine(s, "GUEST-DISKS vda=", (guint)from + 1, BOOT_MS), >=, 0);
    g_assert_cmpint(testSerialWaitLine(s, "GUEST-READY", (guint)from + 1, BOOT_MS), >=, 0);
    after = testDriverQemuHolds(drv, uuid);
    g_assert_cmpstr(after, ==, during);
    testDriverAssertLiveMatchesQEMU(drv, uuid, "vdb");
    g_assert_cmpuint(testDriverLiveValue(drv, uuid, "vdb", THROTTLE_BPS_RD), ==, 4194304);
    {
        guint i;
        bool seen = false;

        for (i = (guint)from + 1; i < s->lines->len; i++)
            seen |= g_str_has_prefix(s->lines->pdata[i], "GUEST-DISKS ") &&
                    strstr(s->lines->pdata[i], " vdb=") != NULL;
        g_assert_true(seen);
    }
    testSerialFree(s);
    g_assert_cmpint(qemuDriverDetachDevice(drv, uuid, xml, NULL, LIVE, false), ==, 0);
}

/* Wait until disk vdb has left the live definition (30 s at most). */
static void
waitGone(void)
{
    gint64 t0 = g_get_monotonic_time();

    for (;;) {
        g_autofree char *live = liveXML();

        if (!strstr(live, "vdb"))
            return;
        if (g_get_monotonic_time() - t0 > 30 * G_USEC_PER_SEC)
            g_error("disk vdb still in the live definition 30 s after resuming: %s", live);
        g_usleep(100 * 1000);
    }
}

static void
testPausedGuestUnplugPending(void)
{
    g_autofree char *xml = fileDisk("vdb", vdbImage, "<iothrottle bps_rd='4194304'/>");
    g_autofree char *before = testDriverQemuHolds(drv, uuid);
    g_autofree char *live = NULL;
    gint64 t0;

    g_assert_cmpint(qemuDriverAttachDevice(drv, uuid, xml, LIVE, false), ==, 0);
    g_assert_cmpint(qemuDriverSuspend(drv, uuid), ==, 0);
    t0 = g_get_monotonic_time();
    g_assert_cmpint(qemuDriverDetachDevice(drv, uuid, xml, NULL, LIVE, false), ==, -1);
    g_assert_nonnull(strstr(iovGetLastErrorMessage(), "disk 'vdb' of domain 'hp': unplug pending"));
    g_assert_cmpint(iovGetLastError()->code, ==, IOV_ERR_OPERATION_TIMEOUT);
    g_assert_cmpint((g_get_monotonic_time() - t0) / 1000, >=, QEMU_UNPLUG_TIMEOUT_MS);
    utilResetError();
    live = liveXML();
    g_assert_nonnull(strstr(live, "unplug=\"pending\""));
    /* still limited, in QEMU too */
    testDriverAssertLiveMatchesQEMU(drv, uuid, "vdb");
    g_assert_cmpuint(testDriverLiveValue(drv, uuid, "vdb", THROTTLE_BPS_RD), ==, 4194304);
    /* a second detach says so */
    g_assert_cmpint(qemuDriverDetachDevice(drv, uuid, xml, NULL, LIVE, false), ==, -1);
    g_assert_nonnull(strstr(iovGetLastErrorMessage(), "unplug pending"));
    utilResetError();

    /* the daemon restarts: the pending unplug is in the status file */
    qemuDriverFree(drv);
    drv = testDriverOpen(&cfg);
    g_clear_pointer(&live, g_free);
    live = liveXML();
    g_assert_nonnull(strstr(live, "unplug=\"pending\""));
    testDriverAssertLiveMatchesQEMU(drv, uuid, "vdb");

    /* the guest runs again, lets the disk go, and the removal completes */
    g_assert_cmpint(qemuDriverResume(drv, uuid), ==, 0);
    waitGone();
    {
        g_autofree char *after = testDriverQemuHolds(drv, uuid);

        g_assert_cmpstr(after, ==, before);
    }

    /* once more, the guest letting the disk go while the daemon is away:
     * the next daemon finds it gone (query-pci) and finishes the removal */
    g_assert_cmpint(qemuDriverAttachDevice(drv, uuid, xml, LIVE, false), ==, 0);
    g_assert_cmpint(qemuDriverSuspend(drv, uuid), ==, 0);
    g_assert_cmpint(qemuDriverDetachDevice(drv, uuid, xml, NULL, LIVE, false), ==, -1);
    g_assert_nonnull(strstr(iovGetLastErrorMessage(), "unplug pending"));
    utilResetError();
    qemuDriverFree(drv);
    drv = NULL;
    {
        g_autofree char *monPath = path("run/1.qmp");
        qemuMonitor *mon = qemuMonitorOpen(monPath, 5000, NULL, NULL);
        gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;

        g_assert_nonnull(mon);
        g_assert_cmpint(qemuMonitorCont(mon), ==, 0);
        for (;;) {
            json_object *reply = NULL;
            bool present;

            g_assert_cmpint(qemuMonitorCommand(mon, "query-pci", NULL, &reply), ==, 0);
            present = strstr(json_object_to_json_string(reply), "disk-vdb") != NULL;
            json_object_put(reply);
            if (!present)
                break;
            g_assert_cmpint(g_get_monotonic_time(), <, deadline);
            g_usleep(100 * 1000);
        }
        qemuMonitorClose(mon);
    }
    drv = testDriverOpen(&cfg);
    g_clear_pointer(&live, g_free);
    live = liveXML();
    g_assert_null(strstr(live, "vdb"));
    {
        g_autofree char *after = testDriverQemuHolds(drv, uuid);

        g_assert_cmpstr(after, ==, before);
    }
}

/* The document of cdrom sda holding `image` (NULL: an empty tray). */
static char *
cdrom(const char *image, const char *extra)
{
    g_autofree char *source = image ? g_strdup_printf("<source file='%s'/>", image) : g_strdup("");

    return g_strdup_printf("<disk type='file' device='cdrom'><driver name='qemu' type='raw'/>%s"
                           "<target dev='sda' bus='sata'/><iothrottle bps_rd='1048576'/>%s</disk>",
                           source, extra);
}

static void
testCdromMedia(void)
{
    g_autofree char *iso1 = path("cd1.iso");
    g_autofree char *iso2 = path("cd2.iso");
    g_autofree char *insert = NULL;
    g_autofree char *other = NULL;
    g_autofree char *eject = cdrom(NULL, "");
    g_autofree char *badCache = NULL;
    g_autofree char *state = testDriverQemuHolds(drv, uuid);
    g_autofree char *live = NULL;
    g_autofree char *config = NULL;

    testMakeImage(iso1, 4 << 20, 0);
    testMakeImage(iso2, 4 << 20, 0);
    insert = cdrom(iso1, "");
    other = cdrom(iso2, "");
    badCache = g_strdup_printf(
        "<disk type='file' device='cdrom'><driver name='qemu' type='raw' cache='none'/>"
        "<source file='%s'/><target dev='sda' bus='sata'/></disk>",
        iso2);
    /* an empty tray at boot: the group of its limits, no node */
    g_assert_nonnull(strstr(state, " tg-sda"));
    g_assert_null(strstr(state, "fmt-sda"));

    /* a medium, live and in the definition: its nodes under the same group */
    g_assert_cmpint(qemuDriverUpdateDevice(drv, uuid, insert, LIVE | CONFIG, false), ==, 0);
    g_clear_pointer(&state, g_free);
    state = testDriverQemuHolds(drv, uuid);
    g_assert_nonnull(strstr(state, "fmt-sda"));
    g_assert_nonnull(strstr(state, "throttle-sda"));
    g_assert_nonnull(strstr(state, " tg-sda"));
    testDriverAssertLiveMatchesQEMU(drv, uuid, "sda");
    g_assert_cmpuint(testDriverLiveValue(drv, uuid, "sda", THROTTLE_BPS_RD), ==, 1048576);
    live = liveXML();
    config = configXML();
    g_assert_nonnull(strstr(live, "cd1.iso"));
    g_assert_nonnull(strstr(config, "cd1.iso"));
    {
        g_autofree char *blocks = qemuDriverQMPQuery(drv, uuid, "query-block", NULL);

        g_assert_nonnull(strstr(blocks, "cd1.iso"));
    }

    /* another medium: the old one's nodes go */
    g_assert_cmpint(qemuDriverUpdateDevice(drv, uuid, other, LIVE, false), ==, 0);
    g_clear_pointer(&live, g_free);
    live = liveXML();
    g_assert_nonnull(strstr(live, "cd2.iso"));
    {
        g_autofree char *blocks = qemuDriverQMPQuery(drv, uuid, "query-block", NULL);

        g_assert_nonnull(strstr(blocks, "cd2.iso"));
        g_assert_null(strstr(blocks, "cd1.iso"));
    }

    /* anything else than the medium is refused, and changes nothing */
    g_assert_cmpint(qemuDriverUpdateDevice(drv, uuid, badCache, LIVE, false), ==, -1);
    g_assert_nonnull(strstr(iovGetLastErrorMessage(),
                            "disk 'sda' of domain 'hp': its cache cannot be changed by an update"));
    utilResetError();

    /* eject: the nodes go, the group stays with its limits */
    g_assert_cmpint(qemuDriverUpdateDevice(drv, uuid, eject, LIVE | CONFIG, false), ==, 0);
    g_clear_pointer(&state, g_free);
    state = testDriverQemuHolds(drv, uuid);
    g_assert_null(strstr(state, "fmt-sda"));
    g_assert_null(strstr(state, "throttle-sda"));
    g_assert_nonnull(strstr(state, " tg-sda"));
    testDriverAssertLiveMatchesQEMU(drv, uuid, "sda");
    g_clear_pointer(&live, g_free);
    live = liveXML();
    g_assert_null(strstr(live, ".iso"));
    g_clear_pointer(&config, g_free);
    config = configXML();
    g_assert_null(strstr(config, ".iso"));
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

    g_test_add_func("/hotplug/boot", testBoot);
    g_test_add_func("/hotplug/failures-change-nothing", testFailuresChangeNothing);
    g_test_add_func("/hotplug/cycles-leave-nothing", testCyclesLeaveNothing);
    g_test_add_func("/hotplug/live-and-config", testLiveAndConfig);
    g_test_add_func("/hotplug/reboot-keeps-it", testRebootKeepsIt);
    g_test_add_func("/hotplug/paused-guest-unplug-pending", testPausedGuestUnplugPending);
    g_test_add_func("/hotplug/cdrom-media", testCdromMedia);
    rc = g_test_run();
    if (qemuDriverIsActive(drv, uuid) == 1) {
        pid_t pid = qemuDriverGetPid(drv, uuid);

        qemuDriverDestroy(drv, uuid, 0);
        testForgetPid(pid);
    }
    qemuDriverFree(drv);
    g_free(vdbImage);
    return rc;
}
