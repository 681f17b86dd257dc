/*
 * test-api.c: the public C API end to end, against a real iovirtd and
 * real guests; and the daemon's own life: restarts, locks, idle exit,
 * a hung QEMU.
 *
 * Only include/iovirt/iovirt.h is used to talk to iovirt.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iovirt/iovirt.h"
#include "testqemu.h"

#define MiB (1024.0 * 1024.0)
#define BOOT_MS 60000

static testDaemon daemon1;
static iovConnectPtr conn;

static void
connect1(void)
{
    conn = iovConnectOpen(daemon1.uri);
    if (!conn)
        g_error("open %s: %s", daemon1.uri, iovGetLastErrorMessage());
}

static char *
path(const char *name)
{
    return g_build_filename(testTmpDir(), name, NULL);
}

static iovDomainPtr
defineGuest(const char *name, const char *probe, const char *after, const char *disks,
            char **serialOut)
{
    g_autofree char *serial = g_strdup_printf("%s/%s-serial.log", testTmpDir(), name);
    g_autofree char *xml = testGuestXML(name, probe, after, serial, disks);
    iovDomainPtr dom = iovDomainDefineXML(conn, xml);

    if (!dom)
        g_error("define %s: %s", name, iovGetLastErrorMessage());
    if (serialOut)
        *serialOut = g_steal_pointer(&serial);
    return dom;
}

static char *
disk(const char *target, const char *image, const char *throttle)
{
    return g_strdup_printf("    <disk type='file'><driver name='qemu' type='raw' cache='none'/>"
                           "<source file='%s'/><target dev='%s'/>%s</disk>\n",
                           image, target, throttle);
}

static void
startGuest(iovDomainPtr dom)
{
    if (iovDomainCreate(dom) < 0)
        g_error("start %s: %s", iovDomainGetName(dom), iovGetLastErrorMessage());
    testDaemonTrackGuests(&daemon1);
}

/* Set one numeric field with the given flags. */
static int
setOne(iovDomainPtr dom, const char *diskName, const char *field, unsigned long long v,
       unsigned int flags)
{
    iovTypedParameter p = {0};

    g_strlcpy(p.field, field, sizeof(p.field));
    p.type = IOV_TYPED_PARAM_ULLONG;
    p.value.ul = v;
    return iovDomainBlockIoThrottle(dom, diskName, &p, 1, flags);
}

/* The value of `field` read back with `flags`. */
static unsigned long long
getOne(iovDomainPtr dom, const char *diskName, const char *field, unsigned int flags)
{
    iovTypedParameter params[32];
    int n = 32, i;
    unsigned long long v = G_MAXUINT64;

    if (iovDomainGetBlockIoThrottle(dom, diskName, params, &n, flags) < 0)
        g_error("get %s: %s", diskName, iovGetLastErrorMessage());
    for (i = 0; i < n; i++) {
        if (strcmp(params[i].field, field) == 0)
            v = params[i].value.ul;
    }
    iovTypedParamsClear(params, n);
    if (v == G_MAXUINT64)
        g_error("field %s not returned", field);
    return v;
}

static int
stateOf(iovDomainPtr dom, int *reason)
{
    int state = -1;

    g_assert_cmpint(iovDomainGetState(dom, &state, reason, 0), ==, 0);
    return state;
}


/* ---- the connection ---- */

static void
testConnection(void)
{
    g_autofree char *uri = iovConnectGetURI(conn);
    g_autofree char *host = iovConnectGetHostname(conn);
    unsigned long long v = 0;

    g_assert_cmpstr(uri, ==, daemon1.uri);
    g_assert_cmpstr(host, ==, g_get_host_name());
    g_assert_cmpint(iovConnectGetVersion(conn, &v), ==, 0);
    g_assert_cmpuint(v, >=, 7002000);
    g_assert_cmpint(iovConnectGetLibVersion(conn, &v), ==, 0);
    g_assert_cmpuint(v, ==, IOV_VERSION_MAJOR * 1000000ULL + IOV_VERSION_MINOR * 1000ULL);
    g_assert_cmpint(iovConnectIsReadOnly(conn), ==, 0);

    g_assert_null(iovConnectOpen("iovirt+tcp://host/system"));
    g_assert_cmpint(iovGetLastError()->code, ==, IOV_ERR_NO_SUPPORT);
    g_assert_null(iovConnectOpen("xen:///system"));
    g_assert_cmpint(iovGetLastError()->code, ==, IOV_ERR_NO_CONNECT);
    g_assert_null(iovConnectOpen("iovirt+unix:///session?socket=/nonexistent/sock"));
    g_assert_nonnull(strstr(iovGetLastErrorMessage(), "/nonexistent/sock"));
}

/* ---- limits end to end ---- */

static void
testLimitsEndToEnd(void)
{
    g_autofree char *img = path("api-a.img");
    g_autofree char *imgB = path("api-b.img");
    g_autofree char *dA = disk("vda", img, "<iothrottle bps_rd='2097152' iops_wr='40'/>");
    g_autofree char *dB = disk("vdb", imgB, "");
    g_autofree char *disks = g_strconcat(dA, dB, NULL);
    g_autofree char *serialPath = NULL;
    g_autofree char *xmlBefore = NULL;
    g_autofree char *xmlAfter = NULL;
    g_autofree char *inactive = NULL;
    g_autoptr(testSerial) serial = NULL;
    iovTypedParameter params[32];
    iovDomainBlockStatsStruct stats;
    iovDomainPtr dom;
    int n, i;

    testMakeImage(img, 64 << 20, 64 << 20);
    testMakeImage(imgB, 16 << 20, 0);
    dom = defineGuest("api1", "read:vda:bs=64k:time=40", "idle", disks, &serialPath);
    serial = testSerialNew(serialPath);

    /* CURRENT on a shut-off guest is the definition; LIVE is refused */
    g_assert_cmpuint(getOne(dom, "vda", "bps_rd", IOV_DOMAIN_AFFECT_CURRENT), ==, 2097152);
    n = 32;
    g_assert_cmpint(iovDomainGetBlockIoThrottle(dom, "vda", params, &n, IOV_DOMAIN_AFFECT_LIVE), ==, -1);
    g_assert_cmpint(iovGetLastError()->code, ==, IOV_ERR_OPERATION_INVALID);
    g_assert_cmpint(setOne(dom, "vda", "bps_rd", 1, IOV_DOMAIN_AFFECT_LIVE), ==, -1);
    g_assert_cmpstr(iovGetLastErrorMessage(), ==, "Requested operation is not valid: domain 'api1' is not running");

    startGuest(dom);
    g_assert_cmpint(stateOf(dom, NULL), ==, IOV_DOMAIN_RUNNING);
    g_assert_cmpint(iovDomainGetID(dom), >, 0);

    /* the count query, then every field in table order, iovirt's names */
    n = 0;
    g_assert_cmpint(iovDomainGetBlockIoThrottle(dom, NULL, NULL, &n, 0), ==, 0);
    g_assert_cmpint(n, ==, 20);
    g_assert_cmpint(iovDomainGetBlockIoThrottle(dom, "vda", params, &n, 0), ==, 0);
    g_assert_cmpint(n, ==, 20);
    for (i = 0; i < n; i++)
        g_assert_cmpstr(params[i].field, ==, iovThrottleFieldByIndex(i)->name);
    g_assert_cmpuint(params[1].value.ul, ==, 2097152);
    g_assert_cmpuint(params[5].value.ul, ==, 40);
    g_assert_cmpint(params[19].type, ==, IOV_TYPED_PARAM_STRING);
    g_assert_cmpstr(params[19].value.s, ==, "");
    iovTypedParamsClear(params, n);
    /* fewer places: the first ones */
    n = 3;
    g_assert_cmpint(iovDomainGetBlockIoThrottle(dom, "vda", params, &n, 0), ==, 0);
    g_assert_cmpint(n, ==, 3);
    g_assert_cmpstr(params[2].field, ==, "bps_wr");

    /* in force from boot, as the guest measures */
    g_assert_true(testSerialWaitSample(serial, 0, 5, BOOT_MS));
    testAssertRate("vda at 2 MiB/s from boot (API)", testRateBytes(serial, 0, 2, 5), 2 * MiB);

    /* a live change through the API, in force at once */
    g_assert_cmpint(setOne(dom, "vda", IOV_THROTTLE_BPS_RD, 6291456, IOV_DOMAIN_AFFECT_LIVE), ==, 0);
    g_assert_cmpuint(getOne(dom, "vda", "bps_rd", IOV_DOMAIN_AFFECT_LIVE), ==, 6291456);
    /* the iops family was not named: kept */
    g_assert_cmpuint(getOne(dom, "vda", "iops_wr", IOV_DOMAIN_AFFECT_LIVE), ==, 40);
    g_assert_true(testSerialWaitSample(serial, 0, 11, 30000));
    testAssertRate("vda after the live change to 6 MiB/s (API)", testRateBytes(serial, 0, 9, 11), 6 * MiB);

    /* CONFIG on a running guest: live unchanged, definition changed */
    g_assert_cmpint(setOne(dom, "/nonexistent", "bps_rd", 1, IOV_DOMAIN_AFFECT_CONFIG), ==, -1);
    g_assert_cmpint(setOne(dom, img, "read_bytes_sec", 3145728, IOV_DOMAIN_AFFECT_CONFIG), ==, 0);
    g_assert_cmpuint(getOne(dom, "vda", "bps_rd", IOV_DOMAIN_AFFECT_LIVE), ==, 6291456);
    g_assert_cmpuint(getOne(dom, "vda", "bps_rd", IOV_DOMAIN_AFFECT_CONFIG), ==, 3145728);
    inactive = iovDomainGetXMLDesc(dom, IOV_DOMAIN_XML_INACTIVE);
    g_assert_nonnull(strstr(inactive, "<iothrottle bps_rd=\"3145728\" iops_wr=\"40\"/>"));
    /* CURRENT on a running guest is live */
    g_assert_cmpint(setOne(dom, "vda", "bps_rd", 5242880, IOV_DOMAIN_AFFECT_CURRENT), ==, 0);
    g_assert_cmpuint(getOne(dom, "vda", "bps_rd", IOV_DOMAIN_AFFECT_LIVE), ==, 5242880);
    g_assert_cmpuint(getOne(dom, "vda", "bps_rd", IOV_DOMAIN_AFFECT_CONFIG), ==, 3145728);
    /* LIVE|CONFIG: both */
    g_assert_cmpint(setOne(dom, "vdb", "iops", 99, IOV_DOMAIN_AFFECT_LIVE | IOV_DOMAIN_AFFECT_CONFIG), ==, 0);
    g_assert_cmpuint(getOne(dom, "vdb", "iops", IOV_DOMAIN_AFFECT_LIVE), ==, 99);
    g_assert_cmpuint(getOne(dom, "vdb", "iops", IOV_DOMAIN_AFFECT_CONFIG), ==, 99);
    n = 32;
    g_assert_cmpint(iovDomainGetBlockIoThrottle(dom, "vdb", params, &n,
                                                IOV_DOMAIN_AFFECT_LIVE | IOV_DOMAIN_AFFECT_CONFIG), ==, -1);
    g_assert_cmpint(iovGetLastError()->code, ==, IOV_ERR_INVALID_ARG);

    /* errors change nothing, live or saved */
    xmlBefore = iovDomainGetXMLDesc(dom, 0);
    {
        iovTypedParameter two[2] = {0};

        g_strlcpy(two[0].field, "bps", sizeof(two[0].field));
        two[0].type = IOV_TYPED_PARAM_ULLONG;
        two[0].value.ul = 1000;
        g_strlcpy(two[1].field, "bps_wr", sizeof(two[1].field));
        two[1].type = IOV_TYPED_PARAM_ULLONG;
        two[1].value.ul = 1000;
        g_assert_cmpint(iovDomainBlockIoThrottle(dom, "vda", two, 2, IOV_DOMAIN_AFFECT_LIVE | IOV_DOMAIN_AFFECT_CONFIG), ==, -1);
        g_assert_cmpstr(iovGetLastErrorMessage(), ==, "invalid argument: disk 'vda': bps (1000) and bps_wr (1000) cannot both be set: a total limit excludes read and write limits; set bps alone, or bps_rd and bps_wr");
        /* the same field twice, once by each name */
        g_strlcpy(two[1].field, "total_bytes_sec", sizeof(two[1].field));
        g_assert_cmpint(iovDomainBlockIoThrottle(dom, "vda", two, 2, 0), ==, -1);
        g_assert_cmpstr(iovGetLastErrorMessage(), ==, "invalid argument: parameter 'total_bytes_sec' occurs multiple times");
        g_strlcpy(two[0].field, "bps_read", sizeof(two[0].field));
        g_assert_cmpint(iovDomainBlockIoThrottle(dom, "vda", two, 1, 0), ==, -1);
        g_assert_cmpint(iovGetLastError()->code, ==, IOV_ERR_ARGUMENT_UNSUPPORTED);
        g_assert_cmpstr(iovGetLastErrorMessage(), ==, "argument unsupported: parameter 'bps_read' not supported");
        g_strlcpy(two[0].field, "bps", sizeof(two[0].field));
        two[0].type = IOV_TYPED_PARAM_UINT;
        g_assert_cmpint(iovDomainBlockIoThrottle(dom, "vda", two, 1, 0), ==, -1);
        g_assert_cmpstr(iovGetLastErrorMessage(), ==, "invalid argument: invalid type 'uint' for parameter 'bps', expected 'ullong'");
    }
    g_assert_cmpint(setOne(dom, "vdz", "bps", 1, 0), ==, -1);
    g_assert_cmpstr(iovGetLastErrorMessage(), ==, "invalid argument: disk 'vdz' not found in the live definition of domain 'api1'");
    g_assert_cmpint(setOne(dom, "vda", "bps_rd_max", 1, 0), ==, -1);
    g_assert_cmpint(setOne(dom, "vda", "bps_rd", 1000000000000001ULL, 0), ==, -1);
    xmlAfter = iovDomainGetXMLDesc(dom, 0);
    g_assert_cmpstr(xmlBefore, ==, xmlAfter);

    /* statistics of the disk the guest reads */
    g_assert_cmpint(iovDomainBlockStats(dom, "vda", &stats, sizeof(stats)), ==, 0);
    g_assert_cmpint(stats.rd_bytes, >, 2 * 1024 * 1024);
    g_assert_cmpint(stats.rd_req, >, 32);
    n = 0;
    g_assert_cmpint(iovDomainBlockStatsFlags(dom, "vda", NULL, &n, 0), ==, 0);
    g_assert_cmpint(n, ==, 8);
    g_assert_cmpint(iovDomainBlockStatsFlags(dom, "vda", params, &n, 0), ==, 0);
    g_assert_cmpstr(params[1].field, ==, "rd_bytes");
    g_assert_cmpint(params[1].value.l, >=, stats.rd_bytes);

    /* the saved limit is in force after the guest restarts */
    g_assert_cmpint(iovDomainDestroy(dom), ==, 0);
    g_assert_cmpint(iovDomainGetID(dom), ==, -1);
    g_assert_cmpint(stateOf(dom, &i), ==, IOV_DOMAIN_SHUTOFF);
    g_assert_cmpint(i, ==, IOV_DOMAIN_SHUTOFF_DESTROYED);
    testSerialFree(g_steal_pointer(&serial));
    unlink(serialPath);
    serial = testSerialNew(serialPath);
    startGuest(dom);
    g_assert_cmpuint(getOne(dom, "vda", "bps_rd", IOV_DOMAIN_AFFECT_LIVE), ==, 3145728);
    g_assert_true(testSerialWaitSample(serial, 0, 5, BOOT_MS));
    testAssertRate("vda at the saved 3 MiB/s after a restart", testRateBytes(serial, 0, 2, 5), 3 * MiB);
    g_assert_cmpint(iovDomainDestroy(dom), ==, 0);
    iovDomainFree(dom);
}

/* ---- read-only connections ---- */

static void
testReadOnlyConnection(void)
{
    g_autofree char *img = path("ro.img");
    g_autofree char *d = disk("vda", img, "<iothrottle bps='1000'/>");
    iovDomainPtr dom = defineGuest("ro1", "", "idle", d, NULL);
    iovConnectPtr ro = iovConnectOpenReadOnly(daemon1.uriRO);
    iovDomainPtr rdom;
    iovTypedParameter p = {0};
    int n = 1;

    g_assert_nonnull(ro);
    g_assert_cmpint(iovConnectIsReadOnly(ro), ==, 1);
    rdom = iovDomainLookupByName(ro, "ro1");
    g_assert_nonnull(rdom);
    /* reading works */
    g_assert_cmpint(iovDomainGetBlockIoThrottle(rdom, "vda", &p, &n, 0), ==, 0);
    g_assert_cmpuint(p.value.ul, ==, 1000);
    /* no change is allowed, and none is made */
    g_assert_cmpint(setOne(rdom, "vda", "bps", 5, 0), ==, -1);
    g_assert_cmpint(iovGetLastError()->code, ==, IOV_ERR_OPERATION_DENIED);
    g_assert_cmpstr(iovGetLastErrorMessage(), ==, "operation forbidden: read only access prevents iovDomainBlockIoThrottle");
    g_assert_cmpint(iovDomainCreate(rdom), ==, -1);
    g_assert_cmpint(iovGetLastError()->code, ==, IOV_ERR_OPERATION_DENIED);
    g_assert_cmpint(iovDomainUndefine(rdom), ==, -1);
    g_assert_null(iovDomainDefineXML(ro, "<domain/>"));
    g_assert_cmpint(iovGetLastError()->code, ==, IOV_ERR_OPERATION_DENIED);
    g_assert_cmpuint(getOne(dom, "vda", "bps", 0), ==, 1000);
    g_assert_cmpint(iovDomainIsActive(dom), ==, 0);
    iovDomainFree(rdom);
    iovConnectClose(ro);

    /* a read-write socket opened read-only is read-only too */
    ro = iovConnectOpenReadOnly(daemon1.uri);
    rdom = iovDomainLookupByName(ro, "ro1");
    g_assert_cmpint(setOne(rdom, "vda", "bps", 5, 0), ==, -1);
    g_assert_cmpint(iovGetLastError()->code, ==, IOV_ERR_OPERATION_DENIED);
    iovDomainFree(rdom);
    iovConnectClose(ro);
    g_assert_cmpint(iovDomainUndefine(dom), ==, 0);
    iovDomainFree(dom);
}

/* ---- lifecycle and lookups ---- */

static void
testLifecycle(void)
{
    g_autofree char *img = path("life.img");
    g_autofree char *d = disk("vda", img, "");
    g_autofree char *serialPath = NULL;
    g_autoptr(testSerial) serial = NULL;
    iovDomainPtr dom = defineGuest("life1", "", "idle", d, &serialPath);
    iovDomainPtr other;
    iovDomainPtr *list = NULL;
    iovDomainInfo info;
    char uuid[37];
    int n, i, reason;
    g_autofree char *xml = NULL;
    g_autofree char *redefined = NULL;

    serial = testSerialNew(serialPath);
    testMakeImage(img, 16 << 20, 0);
    g_assert_cmpint(iovDomainIsPersistent(dom), ==, 1);
    g_assert_cmpint(iovDomainGetUUIDString(dom, uuid), ==, 0);
    other = iovDomainLookupByUUIDString(conn, uuid);
    g_assert_cmpstr(iovDomainGetName(other), ==, "life1");
    iovDomainFree(other);
    g_assert_null(iovDomainLookupByName(conn, "nosuch"));
    g_assert_cmpint(iovGetLastError()->code, ==, IOV_ERR_NO_DOMAIN);
    g_assert_cmpstr(iovGetLastErrorMessage(), ==, "Domain not found: no domain with matching name 'nosuch'");

    g_assert_cmpint(iovDomainCreateWithFlags(dom, IOV_DOMAIN_START_PAUSED), ==, 0);
    testDaemonTrackGuests(&daemon1);
    g_assert_cmpint(stateOf(dom, &reason), ==, IOV_DOMAIN_PAUSED);
    other = iovDomainLookupByID(conn, iovDomainGetID(dom));
    g_assert_nonnull(other);
    g_assert_cmpstr(iovDomainGetName(other), ==, "life1");
    iovDomainFree(other);
    g_assert_cmpint(iovDomainCreate(dom), ==, -1);
    g_assert_cmpstr(iovGetLastErrorMessage(), ==, "Requested operation is not valid: domain 'life1' is already running");
    g_assert_cmpint(iovDomainResume(dom), ==, 0);
    g_assert_cmpint(stateOf(dom, NULL), ==, IOV_DOMAIN_RUNNING);
    g_assert_cmpint(testSerialWaitLine(serial, "GUEST-READY", 0, BOOT_MS), >=, 0);
    g_assert_cmpint(iovDomainSuspend(dom), ==, 0);
    g_assert_cmpint(stateOf(dom, &reason), ==, IOV_DOMAIN_PAUSED);
    g_assert_cmpint(reason, ==, IOV_DOMAIN_PAUSED_USER);
    g_assert_cmpint(iovDomainResume(dom), ==, 0);
    g_assert_cmpint(iovDomainGetInfo(dom, &info), ==, 0);
    g_assert_cmpint(info.state, ==, IOV_DOMAIN_RUNNING);
    g_assert_cmpuint(info.maxMem, ==, 192 * 1024);
    g_assert_cmpint(info.nrVirtCpu, ==, 1);
    g_assert_cmpuint(info.cpuTime, >, 0);

    n = iovConnectListAllDomains(conn, &list, IOV_CONNECT_LIST_DOMAINS_ACTIVE);
    g_assert_cmpint(n, >=, 1);
    for (i = 0; i < n; i++)
        iovDomainFree(list[i]);
    free(list);
    g_assert_cmpint(iovConnectListAllDomains(conn, NULL, IOV_CONNECT_LIST_DOMAINS_RUNNING), ==, n);

    /* a reboot keeps the guest running; the guest boots again */
    g_assert_cmpint(iovDomainReboot(dom, 0), ==, 0);
    i = testSerialWaitLine(serial, "GUEST-BOOT", 1, BOOT_MS);
    g_assert_cmpint(i, >, 0);
    /* (a power button pressed before acpid runs would be lost) */
    g_assert_cmpint(testSerialWaitLine(serial, "GUEST-READY", (guint)i, BOOT_MS), >, i);

    /* define of an existing name updates its definition, not the guest */
    xml = iovDomainGetXMLDesc(dom, IOV_DOMAIN_XML_INACTIVE);
    {
        g_autofree char *changed = NULL;
        char *at = strstr(xml, "<memory unit=\"KiB\">196608</memory>");

        g_assert_nonnull(at);
        changed = g_strdup(xml);
        memcpy(changed + (at - xml), "<memory unit=\"KiB\">262144</memory>", strlen("<memory unit=\"KiB\">262144</memory>"));
        other = iovDomainDefineXML(conn, changed);
        g_assert_nonnull(other);
        iovDomainFree(other);
    }
    redefined = iovDomainGetXMLDesc(dom, IOV_DOMAIN_XML_INACTIVE);
    g_assert_nonnull(strstr(redefined, "262144"));
    g_assert_cmpint(iovDomainGetInfo(dom, &info), ==, 0);
    g_assert_cmpuint(info.maxMem, ==, 196608);

    /* undefine while running: it runs on, transient, then disappears */
    g_assert_cmpint(iovDomainUndefine(dom), ==, 0);
    g_assert_cmpint(iovDomainIsPersistent(dom), ==, 0);
    g_assert_cmpint(iovDomainIsActive(dom), ==, 1);
    g_assert_cmpint(setOne(dom, "vda", "bps", 1, IOV_DOMAIN_AFFECT_CONFIG), ==, -1);
    g_assert_cmpint(iovGetLastError()->code, ==, IOV_ERR_OPERATION_INVALID);
    /* a graceful shutdown ends it */
    g_assert_cmpint(iovDomainShutdown(dom), ==, 0);
    {
        gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;

        while ((other = iovDomainLookupByName(conn, "life1"))) {
            iovDomainFree(other);
            g_assert_cmpint(g_get_monotonic_time(), <, deadline);
            g_usleep(100 * 1000);
        }
    }
    g_assert_cmpint(iovGetLastError()->code, ==, IOV_ERR_NO_DOMAIN);
    iovDomainFree(dom);
}

/* ---- the daemon restarts under a running guest ---- */

static void
testDaemonKilledAndRestarted(void)
{
    g_autofree char *img = path("kill.img");
    g_autofree char *d = disk("vda", img, "<iothrottle bps_rd='3145728'/>");
    g_autofree char *serialPath = NULL;
    g_autoptr(testSerial) serial = NULL;
    iovDomainPtr dom;
    goffset logFrom;
    pid_t qemu;
    char uuid[37];
    int count = 0;

    testMakeImage(img, 64 << 20, 64 << 20);
    dom = defineGuest("kill1", "read:vda:bs=64k:time=25", "idle", d, &serialPath);
    serial = testSerialNew(serialPath);
    startGuest(dom);
    iovDomainGetUUIDString(dom, uuid);
    g_assert_true(testSerialWaitSample(serial, 0, 4, BOOT_MS));
    iovDomainFree(dom);
    iovConnectClose(conn);

    /* SIGKILL: no chance to clean up; the guest must go on */
    testDaemonStop(&daemon1, SIGKILL);
    g_assert_cmpint(testDaemonTrackGuests(&daemon1), >=, 1);
    logFrom = testFileSize(daemon1.logFile);
    testDaemonStart(&daemon1, "daemon1", NULL);
    connect1();
    dom = iovDomainLookupByUUIDString(conn, uuid);
    g_assert_nonnull(dom);
    g_assert_cmpint(stateOf(dom, NULL), ==, IOV_DOMAIN_RUNNING);
    g_assert_cmpuint(getOne(dom, "vda", "bps_rd", IOV_DOMAIN_AFFECT_LIVE), ==, 3145728);
    /* reconnecting read the limits from QEMU and sent none */
    g_assert_true(testFileContains(daemon1.logFile, "sending 'qom-get'", logFrom));
    g_assert_false(testFileContains(daemon1.logFile, "sending 'qom-set'", logFrom));
    g_assert_true(testSerialWaitSample(serial, 0, 12, 30000));
    testAssertRate("vda after the daemon was killed and restarted", testRateBytes(serial, 0, 9, 12), 3 * MiB);

    /* SIGTERM: a clean stop leaves the guest running too */
    qemu = 0;
    iovDomainFree(dom);
    iovConnectClose(conn);
    testDaemonStop(&daemon1, SIGTERM);
    count = testDaemonTrackGuests(&daemon1);
    g_assert_cmpint(count, >=, 1);
    testDaemonStart(&daemon1, "daemon1", NULL);
    connect1();
    dom = iovDomainLookupByUUIDString(conn, uuid);
    g_assert_cmpint(iovDomainIsActive(dom), ==, 1);
    g_assert_cmpint(iovDomainDestroy(dom), ==, 0);
    (void)qemu;
    iovDomainFree(dom);
}

static void
testSecondDaemonRefused(void)
{
    g_autofree char *runDir = g_build_filename(daemon1.dir, "run", NULL);
    g_autofree char *cfgDir = g_build_filename(daemon1.dir, "config", NULL);
    g_auto(GStrv) env = g_get_environ();
    const char *argv[] = {TEST_BUILD_DIR "/src/daemon/iovirtd", "--session", NULL};
    g_autofree char *err = NULL;
    g_autofree char *expected = g_strdup_printf("another iovirtd (pid %d) already runs for", (int)daemon1.pid);
    int status = 0;

    env = g_environ_setenv(env, "XDG_RUNTIME_DIR", runDir, TRUE);
    env = g_environ_setenv(env, "XDG_CONFIG_HOME", cfgDir, TRUE);
    g_assert_true(g_spawn_sync(NULL, (char **)argv, env, 0, NULL, NULL, NULL, &err, &status, NULL));
    g_assert_false(g_spawn_check_wait_status(status, NULL));
    g_assert_nonnull(strstr(err, expected));
    /* the first daemon is untouched */
    g_assert_true(testProcessAlive(daemon1.pid));
    g_assert_nonnull(iovConnectGetURI(conn));
}

static void
testIdleExitAndAutostart(void)
{
    testDaemon idle = {0};
    const char *args[] = {"--timeout", "2", NULL};
    g_autofree char *runDir = NULL;
    g_autofree char *cmdline = NULL;
    g_autofree char *pidfile = NULL;
    g_autofree char *pidText = NULL;
    iovConnectPtr c;
    gint64 t0;
    pid_t pid;
    gsize len;
    size_t i;

    /* a daemon with --timeout exits once idle */
    testDaemonStart(&idle, "idle", args);
    c = iovConnectOpen(idle.uri);
    g_assert_nonnull(c);
    /* a client keeps it: still there, and serving, well past its
     * timeout (an absence can only be watched for a while) */
    t0 = g_get_monotonic_time();
    while (g_get_monotonic_time() - t0 < 3 * G_USEC_PER_SEC) {
        g_assert_true(testProcessAlive(idle.pid));
        g_usleep(100 * 1000);
    }
    {
        char *uri = iovConnectGetURI(c);

        g_assert_nonnull(uri);
        free(uri);
    }
    iovConnectClose(c);
    t0 = g_get_monotonic_time();
    while (testProcessAlive(idle.pid))
        g_assert_cmpint(g_get_monotonic_time() - t0, <, 10 * G_USEC_PER_SEC);
    g_assert_cmpint(g_get_monotonic_time() - t0, >=, G_USEC_PER_SEC);

    /* iovirt:///session starts a daemon when none answers */
    runDir = g_build_filename(testTmpDir(), "auto-run", NULL);
    g_assert_cmpint(g_mkdir_with_parents(runDir, 0700), ==, 0);
    g_setenv("XDG_RUNTIME_DIR", runDir, TRUE);
    g_setenv("IOVIRTD", TEST_BUILD_DIR "/src/daemon/iovirtd", TRUE);
    g_unsetenv("IOVIRT_DEFAULT_URI");
    c = iovConnectOpen("iovirt:///session");
    if (!c)
        g_error("autostart: %s", iovGetLastErrorMessage());
    pidfile = g_build_filename(runDir, "iovirt", "iovirtd.pid", NULL);
    g_assert_true(g_file_get_contents(pidfile, &pidText, NULL, NULL));
    pid = atoi(pidText);
    testKillAtExit(pid);
    {
        g_autofree char *procPath = g_strdup_printf("/proc/%d/cmdline", (int)pid);

        g_assert_true(g_file_get_contents(procPath, &cmdline, &len, NULL));
    }
    for (i = 0; i + 1 < len; i++) {
        if (cmdline[i] == '\0')
            cmdline[i] = ' ';
    }
    g_assert_nonnull(strstr(cmdline, "--session --timeout 120"));
    iovConnectClose(c);
    kill(pid, SIGTERM);
}

/* ---- a hung QEMU stalls only its own guest ---- */

typedef struct {
    iovDomainPtr dom;
    int rc;
    gint64 elapsed;
} setJob;

static gpointer
setThread(gpointer data)
{
    setJob *j = data;
    gint64 t0 = g_get_monotonic_time();

    j->rc = setOne(j->dom, "vda", "bps", 12345, IOV_DOMAIN_AFFECT_LIVE);
    j->elapsed = g_get_monotonic_time() - t0;
    return NULL;
}

static void
testHungQEMUStallsOnlyItsGuest(void)
{
    g_autofree char *imgA = path("hung-a.img");
    g_autofree char *imgB = path("hung-b.img");
    g_autofree char *dA = disk("vda", imgA, "");
    g_autofree char *dB = disk("vda", imgB, "");
    iovDomainPtr a, b;
    GThread *t;
    setJob job = {0};
    gint64 t0, fast;
    pid_t qemuA;
    g_autofree char *pidPath = NULL;
    g_autofree char *pidText = NULL;
    g_autofree char *monLine = NULL;
    goffset logFrom;

    testMakeImage(imgA, 16 << 20, 0);
    testMakeImage(imgB, 16 << 20, 0);
    a = defineGuest("hung-a", "", "idle", dA, NULL);
    b = defineGuest("hung-b", "", "idle", dB, NULL);
    startGuest(a);
    startGuest(b);
    pidPath = g_build_filename(daemon1.stateDir, "hung-a.pid", NULL);
    g_assert_true(g_file_get_contents(pidPath, &pidText, NULL, NULL));
    qemuA = atoi(pidText);

    kill(qemuA, SIGSTOP);
    job.dom = a;
    monLine = g_strdup_printf("/%d.qmp': sending '", iovDomainGetID(a));
    logFrom = testFileSize(daemon1.logFile);
    t = g_thread_new("set-a", setThread, &job);
    /* the change is under way: its command went to the stopped QEMU */
    g_assert_true(testWaitFileContains(daemon1.logFile, monLine, logFrom, 10000));
    /* the other guest answers at once, reads and changes */
    t0 = g_get_monotonic_time();
    g_assert_cmpint(setOne(b, "vda", "bps", 777, IOV_DOMAIN_AFFECT_LIVE), ==, 0);
    g_assert_cmpuint(getOne(b, "vda", "bps", 0), ==, 777);
    fast = g_get_monotonic_time() - t0;
    g_assert_cmpint(fast, <, G_USEC_PER_SEC);
    /* reading the hung guest's limits does not wait for QEMU either */
    t0 = g_get_monotonic_time();
    g_assert_cmpuint(getOne(a, "vda", "bps", 0), ==, 0);
    g_assert_cmpint(g_get_monotonic_time() - t0, <, G_USEC_PER_SEC);
    g_thread_join(t);
    kill(qemuA, SIGCONT);
    /* the change on the hung guest fails with the monitor timeout (2 s) */
    g_assert_cmpint(job.rc, ==, -1);
    g_assert_cmpint(job.elapsed, >=, 1500 * 1000);
    g_assert_cmpint(job.elapsed, <, 10 * G_USEC_PER_SEC);
    g_assert_cmpuint(getOne(a, "vda", "bps", 0), ==, 0);
    /* QEMU is back: the next change reconnects its monitor and works */
    g_assert_cmpint(setOne(a, "vda", "bps", 4242, IOV_DOMAIN_AFFECT_LIVE), ==, 0);
    g_assert_cmpuint(getOne(a, "vda", "bps", 0), ==, 4242);
    g_assert_cmpint(iovDomainDestroy(a), ==, 0);
    g_assert_cmpint(iovDomainDestroy(b), ==, 0);
    iovDomainFree(a);
    iovDomainFree(b);
}

int
main(int argc, char **argv)
{
    g_autofree char *cfgDir = NULL;
    g_autofree char *cfgFile = NULL;
    int rc;

    g_test_init(&argc, &argv, NULL);
    /* a short monitor timeout for the hung-QEMU case */
    daemon1.dir = NULL;
    testDaemonStart(&daemon1, "daemon1", NULL);
    cfgDir = g_build_filename(daemon1.dir, "config", "iovirt", NULL);
    g_assert_cmpint(g_mkdir_with_parents(cfgDir, 0700), ==, 0);
    cfgFile = g_build_filename(cfgDir, "iovirtd.conf", NULL);
    g_assert_true(g_file_set_contents(cfgFile, "[iovirtd]\nmonitor_timeout=2000\n", -1, NULL));
    testDaemonStop(&daemon1, SIGTERM);
    testDaemonStart(&daemon1, "daemon1", NULL);
    connect1();

    g_test_add_func("/api/connection", testConnection);
    g_test_add_func("/api/limits-end-to-end", testLimitsEndToEnd);
    g_test_add_func("/api/read-only-connection", testReadOnlyConnection);
    g_test_add_func("/api/lifecycle", testLifecycle);
    g_test_add_func("/api/hung-qemu-stalls-only-its-guest", testHungQEMUStallsOnlyItsGuest);
    g_test_add_func("/daemon/killed-and-restarted", testDaemonKilledAndRestarted);
    g_test_add_func("/daemon/second-daemon-refused", testSecondDaemonRefused);
    g_test_add_func("/daemon/idle-exit-and-autostart", testIdleExitAndAutostart);
    rc = g_test_run();
    iovConnectClose(conn);
    testDaemonStop(&daemon1, SIGTERM);
    return rc;
}
