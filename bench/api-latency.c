/*
 * api-latency: what a call costs through iovirt, beside its floor
 *
 * In one run, against a session iovirtd whose state lives on tmpfs (as
 * /run does) and TCG guests:
 *   - p50/p99 of iovDomainBlockIoThrottle (a real change: one qom-set) and
 *     of iovDomainGetBlockIoThrottle on one connection;
 *   - the floor of the set: the same qom-set sent straight to another
 *     QEMU's monitor, no daemon (a get sends nothing to QEMU: its floor
 *     is zero);
 *   - gets/s of 20 clients at once over 5 guests;
 *   - the wall time of a one-shot client process (connect, one get,
 *     close);
 *   - the idle daemon's anonymous memory and RSS.
 * Prints a Markdown table for bench/README.md.
 *
 *   bench/api-latency [--calls N]
 */
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "iovirt/iovirt.h"
#include "qemu/qemu_monitor.h"
#include "testqemu.h"

extern char **environ;

static testDaemon d;
static int calls = 2000;

static double
nowUs(void)
{
    return (double)g_get_monotonic_time();
}

static void
setParam(iovTypedParameter *p, const char *field, unsigned long long v)
{
    memset(p, 0, sizeof(*p));
    g_strlcpy(p->field, field, sizeof(p->field));
    p->type = IOV_TYPED_PARAM_ULLONG;
    p->value.ul = v;
}

/* ---- through the daemon ---- */

static void
measureDaemon(iovDomainPtr dom, double *setP50, double *setP99, double *getP50, double *getP99)
{
    g_autofree double *set = g_new(double, calls);
    g_autofree double *get = g_new(double, calls);
    int i;

    for (i = 0; i < calls; i++) {
        iovTypedParameter p;
        double t0;

        /* alternate two values: every set is a real change, one qom-set */
        setParam(&p, "bps_rd", i % 2 ? 10485760 : 20971520);
        t0 = nowUs();
        if (iovDomainBlockIoThrottle(dom, "vda", &p, 1, IOV_DOMAIN_AFFECT_LIVE) < 0)
            g_error("set: %s", iovGetLastErrorMessage());
        set[i] = nowUs() - t0;
    }
    for (i = 0; i < calls; i++) {
        iovTypedParameter p[20];
        int n = 20;
        double t0 = nowUs();

        if (iovDomainGetBlockIoThrottle(dom, "vda", p, &n, IOV_DOMAIN_AFFECT_LIVE) < 0)
            g_error("get: %s", iovGetLastErrorMessage());
        get[i] = nowUs() - t0;
        iovTypedParamsClear(p, n);
    }
    *setP50 = testPercentile(set, calls, 0.5);
    *setP99 = testPercentile(set, calls, 0.99);
    *getP50 = testPercentile(get, calls, 0.5);
    *getP99 = testPercentile(get, calls, 0.99);
}

/* ---- the floor: the same qom-set straight to a QEMU ---- */

static void
measureFloor(double *p50, double *p99)
{
    g_autofree char *img = g_strdup_printf("%s/floor.img", testTmpDir());
    g_autofree char *sock = g_strdup_printf("%s/floor.qmp", testTmpDir());
    g_autofree char *chardev = g_strdup_printf("socket,id=mon,path=%s,server=on,wait=off", sock);
    g_autofree char *file = g_strdup_printf("{\"driver\":\"file\",\"filename\":\"%s\",\"node-name\":\"proto-vda\"}", img);
    g_autofree char *logPath = g_strdup_printf("%s/floor-qemu.log", testTmpDir());
    const char *argv[] = {"qemu-system-x86_64", "-machine", "q35,accel=tcg", "-S", "-nodefaults",
                          "-no-user-config", "-display", "none", "-m", "64",
                          "-object", "{\"qom-type\":\"throttle-group\",\"id\":\"tg-vda\"}",
                          "-blockdev", file,
                          "-blockdev", "{\"driver\":\"raw\",\"file\":\"proto-vda\",\"node-name\":\"fmt-vda\"}",
                          "-blockdev", "{\"driver\":\"throttle\",\"throttle-group\":\"tg-vda\",\"file\":\"fmt-vda\",\"node-name\":\"throttle-vda\"}",
                          "-device", "{\"driver\":\"virtio-blk-pci\",\"id\":\"disk-vda\",\"drive\":\"throttle-vda\"}",
                          "-chardev", chardev, "-mon", "chardev=mon,mode=control", NULL};
    g_autofree double *lat = g_new(double, calls);
    qemuMonitor *mon;
    pid_t pid;
    int i;

    testMakeImage(img, 16 << 20, 0);
    pid = testStartProcess(argv, logPath);
    mon = qemuMonitorOpen(sock, 20000, NULL, NULL);
    if (!mon)
        g_error("floor QEMU: %s", iovGetLastErrorMessage());
    for (i = 0; i < calls; i++) {
        throttleDef from = {0}, to = {0};
        double t0;

        /* exactly what the daemon sends for that set: the changed key */
        from.v[THROTTLE_BPS_RD] = i % 2 ? 20971520 : 10485760;
        to.v[THROTTLE_BPS_RD] = i % 2 ? 10485760 : 20971520;
        t0 = nowUs();
        if (qemuMonitorUpdateThrottleLimits(mon, "tg-vda", &from, &to) < 0)
            g_error("floor qom-set: %s", iovGetLastErrorMessage());
        lat[i] = nowUs() - t0;
    }
    qemuMonitorClose(mon);
    kill(pid, SIGKILL);
    *p50 = testPercentile(lat, calls, 0.5);
    *p99 = testPercentile(lat, calls, 0.99);
}

/* ---- 20 clients at once ---- */

typedef struct {
    int idx;
    int done;
    gint64 until;
} loadJob;

static gpointer
loadClient(gpointer data)
{
    loadJob *j = data;
    g_autofree char *name = g_strdup_printf("lat%d", j->idx % 5);
    iovConnectPtr c = iovConnectOpen(d.uri);
    iovDomainPtr dom = iovDomainLookupByName(c, name);

    while (g_get_monotonic_time() < j->until) {
        iovTypedParameter p[20];
        int n = 20;

        if (iovDomainGetBlockIoThrottle(dom, "vda", p, &n, IOV_DOMAIN_AFFECT_LIVE) < 0)
            g_error("get: %s", iovGetLastErrorMessage());
        iovTypedParamsClear(p, n);
        j->done++;
    }
    iovDomainFree(dom);
    iovConnectClose(c);
    return NULL;
}

static double
measureConcurrentGets(int clients, double seconds)
{
    g_autofree loadJob *jobs = g_new0(loadJob, clients);
    g_autofree GThread **threads = g_new(GThread *, clients);
    gint64 until = g_get_monotonic_time() + (gint64)(seconds * G_USEC_PER_SEC);
    long total = 0;
    int i;

    for (i = 0; i < clients; i++) {
        jobs[i].idx = i;
        jobs[i].until = until;
        threads[i] = g_thread_new("load", loadClient, &jobs[i]);
    }
    for (i = 0; i < clients; i++) {
        g_thread_join(threads[i]);
        total += jobs[i].done;
    }
    return (double)total / seconds;
}

/* ---- one-shot client processes ---- */

static void
measureOneShot(const char *oneshot, int runs, double *p50, double *p99)
{
    g_autofree double *lat = g_new(double, runs);
    char *argv[] = {(char *)oneshot, d.uri, (char *)"lat0", NULL};

    if (strcmp(oneshot, "/bin/true") == 0)
        argv[1] = NULL;
    int i;

    for (i = 0; i < runs; i++) {
        double t0 = nowUs();
        pid_t pid;
        int status;

        if (posix_spawn(&pid, oneshot, NULL, NULL, argv, environ) != 0)
            g_error("cannot run %s", oneshot);
        waitpid(pid, &status, 0);
        lat[i] = nowUs() - t0;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            g_error("%s failed", oneshot);
    }
    *p50 = testPercentile(lat, runs, 0.5);
    *p99 = testPercentile(lat, runs, 0.99);
}

/* Define and start guest latN with a limited vda; a new handle. */
static iovDomainPtr
startGuest(iovConnectPtr conn, int n)
{
    g_autofree char *img = g_strdup_printf("%s/lat%d.img", testTmpDir(), n);
    g_autofree char *name = g_strdup_printf("lat%d", n);
    g_autofree char *serial = g_strdup_printf("%s/lat%d-serial.log", testTmpDir(), n);
    g_autofree char *disk = g_strdup_printf(
        "    <disk type='file'><source file='%s'/><target dev='vda'/>"
        "<iothrottle bps_rd='1048576'/></disk>\n", img);
    g_autofree char *xml = NULL;
    iovDomainPtr x;

    testMakeImage(img, 16 << 20, 0);
    xml = testGuestXML(name, "", "idle", serial, disk);
    x = iovDomainDefineXML(conn, xml);
    if (!x || iovDomainCreate(x) < 0)
        g_error("%s: %s", name, iovGetLastErrorMessage());
    testDaemonTrackGuests(&d);
    return x;
}

/* Anonymous memory and RSS of `pid`, KiB, from smaps_rollup. */
static void
memoryOf(pid_t pid, long *anon, long *rss)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/smaps_rollup", (int)pid);
    g_autofree char *text = NULL;
    const char *p;

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    p = strstr(text, "\nRss:");
    *rss = p ? atol(p + 5) : -1;
    p = strstr(text, "\nAnonymous:");
    *anon = p ? atol(p + 11) : -1;
}

int
main(int argc, char **argv)
{
    g_autofree char *oneshot = g_build_filename(TEST_BUILD_DIR, "bench", "api-oneshot", NULL);
    g_autofree char *shmDir = g_strdup_printf("/dev/shm/iovirt-bench-%d", (int)getpid());
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autofree char *date = g_date_time_format(now, "%Y-%m-%d %H:%M UTC");
    double setP50, setP99, getP50, getP99, floorP50, floorP99, rate, shotP50, shotP99;
    double trueP50, trueP99;
    long anon, rss;
    iovConnectPtr conn;
    iovDomainPtr dom = NULL;
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--calls") == 0 && i + 1 < argc)
            calls = atoi(argv[++i]);
    }
    /* the daemon's running state on tmpfs, as /run and XDG_RUNTIME_DIR are */
    d.dir = g_steal_pointer(&shmDir);
    d.sock = g_build_filename(d.dir, "run", "iovirt", "iovirt-sock", NULL);
    d.sockRO = g_build_filename(d.dir, "run", "iovirt", "iovirt-sock-ro", NULL);
    d.stateDir = g_build_filename(d.dir, "run", "iovirt", "qemu", NULL);
    d.uri = g_strdup_printf("iovirt+unix:///session?socket=%s", d.sock);
    d.uriRO = g_strdup_printf("iovirt+unix:///session?socket=%s", d.sockRO);
    d.logFile = g_build_filename(testTmpDir(), "iovirtd.log", NULL);
    g_assert_cmpint(g_mkdir_with_parents(d.dir, 0700), ==, 0);
    {
        g_autofree char *runDir = g_build_filename(d.dir, "run", NULL);

        g_assert_cmpint(g_mkdir_with_parents(runDir, 0700), ==, 0);
    }
    {
        const char *args[] = {"--log-level", "warning", NULL};

        testDaemonStart(&d, "bench", args);
    }

    /* the idle daemon, before anything */
    g_usleep(1500 * 1000);
    memoryOf(d.pid, &anon, &rss);

    conn = iovConnectOpen(d.uri);
    dom = startGuest(conn, 0);
    g_usleep(3 * G_USEC_PER_SEC); /* let it boot */

    measureDaemon(dom, &setP50, &setP99, &getP50, &getP99);
    measureFloor(&floorP50, &floorP99);
    measureOneShot(oneshot, 200, &shotP50, &shotP99);
    measureOneShot("/bin/true", 200, &trueP50, &trueP99);
    /* four more guests for the concurrent clients */
    for (i = 1; i < 5; i++)
        iovDomainFree(startGuest(conn, i));
    g_usleep(3 * G_USEC_PER_SEC);
    rate = measureConcurrentGets(20, 5.0);

    printf("iovirtd call latency, %s, %ld cores; %d calls each; daemon state on tmpfs\n\n",
           date, sysconf(_SC_NPROCESSORS_ONLN), calls);
    printf("| measure | p50 | p99 | goal | libvirt 9.0 (same kind of host) |\n|---|---|---|---|---|\n");
    printf("| set (iovDomainBlockIoThrottle, live, one real change) | %.0f µs | %.0f µs | p50 ≤ 1.2 × floor: %s (%.2f ×) | 3.0–3.5 ms |\n",
           setP50, setP99, setP50 <= 1.2 * floorP50 ? "met" : "missed", setP50 / floorP50);
    printf("| floor of set: the same qom-set straight to QEMU's monitor | %.0f µs | %.0f µs | | 0.8 ms |\n",
           floorP50, floorP99);
    printf("| get (iovDomainGetBlockIoThrottle, live; sends nothing to QEMU) | %.0f µs | %.0f µs | p50 < 100 µs: %s | 0.8–1.0 ms |\n",
           getP50, getP99, getP50 < 100 ? "met" : "missed");
    printf("| one-shot client process: connect, one get, close | %.2f ms | %.2f ms | < 5 ms: %s | virsh 18–22 ms |\n",
           shotP50 / 1000, shotP99 / 1000, shotP50 < 5000 ? "met" : "missed");
    printf("| floor of the one-shot: /bin/true spawned the same way | %.2f ms | %.2f ms | | |\n",
           trueP50 / 1000, trueP99 / 1000);
    printf("\n| measure | value | goal | libvirt 9.0 |\n|---|---|---|---|\n");
    printf("| gets/s, 20 clients at once over 5 guests | %.0f | ≥ 5,000: %s | |\n", rate,
           rate >= 5000 ? "met" : "missed");
    printf("| idle daemon anonymous memory (smaps_rollup) | %ld KiB | < 3 MiB: %s | |\n", anon,
           anon < 3072 ? "met" : "missed");
    printf("| idle daemon RSS | %ld KiB | | libvirtd 22.7 MB |\n", rss);

    iovDomainFree(dom);
    iovConnectClose(conn);
    testDaemonStop(&d, SIGTERM);
    {
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", d.dir);

        if (system(cmd) != 0)
            g_printerr("cannot remove %s\n", d.dir);
    }
    return 0;
}
