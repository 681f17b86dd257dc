/*
 * api-latency: what a call costs through iovirt, beside its floor
 *
 * In one run, against a session iovirtd whose state lives where the
 * machine's temporary files do (TMPDIR, else /tmp: a real filesystem, not
 * tmpfs, on the machines this was written for; --tmpfs puts it on
 * /dev/shm) and TCG guests:
 *   - p50/p99 of iovDomainBlockIoThrottle (a real change: one qom-set) and
 *     of iovDomainGetBlockIoThrottle on one connection;
 *   - a null RPC (iovConnectGetLibVersion: answered at once);
 *   - the floor of the set: the same qom-set sent straight to the monitor
 *     of another QEMU started with the daemon's guest's command line, no
 *     daemon (a get sends nothing to QEMU: its floor is zero);
 *   - these four in blocks that take turns, so that all see one machine;
 *   - gets/s of 20 clients at once over 5 guests;
 *   - the wall time of one-shot client processes: a C program (connect,
 *     one get, close), `iovsh blkiothrottle` displaying and setting,
 *     `iovsh domblklist` (the disks, their sources and limits), beside
 *     /bin/true spawned the same way;
 *   - the idle daemon's anonymous memory and RSS.
 * Prints a Markdown table for bench/README.md. --compare-iovsh PATH adds
 * the one-shot iovsh lines for another iovsh program, in the same turns
 * (before and after a change of how iovsh is linked).
 *
 *   - the same calls, and a call a worker answers, each after 20 ms of
 *     idleness, against back to back (--idle-calls N, 0 to leave out).
 *
 *   bench/api-latency [--calls N] [--idle-calls N] [--shots N] [--load-seconds S]
 *                     [--tmpfs] [--compare-iovsh PATH]
 */
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
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
static int shots = 200;          /* one-shot processes of each kind */
static double loadSeconds = 5.0; /* of the 20 clients at once */
static char *otherIovsh; /* --compare-iovsh, or NULL */

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

/* Wait until the guest whose serial log is `path` has booted and gone
 * idle: a TCG guest takes a whole core for the seconds of its boot, and
 * a figure taken meanwhile measures that, not the call. */
static void
waitGuestReady(const char *path)
{
    g_autoptr(testSerial) s = testSerialNew(path);

    if (testSerialWaitLine(s, "GUEST-READY", 0, 120 * 1000) < 0)
        g_error("the guest writing %s did not boot", path);
}

/* ---- through the daemon, and the floor beside it ---- */

/* A QEMU started with the command line of the daemon's guest (read from
 * /proc), its own image, monitor, pidfile and serial log, and not paused:
 * the same guest, the same devices, run the same way. */
typedef struct {
    pid_t pid;
    qemuMonitor *mon;
} floorQemu;

static void
floorStart(floorQemu *f, pid_t guestPid)
{
    g_autofree char *cmdPath = g_strdup_printf("/proc/%d/cmdline", (int)guestPid);
    g_autofree char *img = g_strdup_printf("%s/floor.img", testTmpDir());
    g_autofree char *sock = g_strdup_printf("%s/floor.qmp", testTmpDir());
    g_autofree char *pidfile = g_strdup_printf("%s/floor.pid", testTmpDir());
    g_autofree char *serial = g_strdup_printf("%s/floor-serial.log", testTmpDir());
    g_autofree char *logPath = g_strdup_printf("%s/floor-qemu.log", testTmpDir());
    g_autofree char *guestImg = g_strdup_printf("%s/lat0.img", testTmpDir());
    g_autofree char *guestSerial = g_strdup_printf("%s/lat0-serial.log", testTmpDir());
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *cmdline = NULL;
    gsize len = 0, off;

    if (!g_file_get_contents(cmdPath, &cmdline, &len, NULL))
        g_error("cannot read %s", cmdPath);
    for (off = 0; off < len; off += strlen(cmdline + off) + 1) {
        const char *arg = cmdline + off;
        GString *a;

        if (strcmp(arg, "-S") == 0)
            continue; /* the daemon resumes its guest at once */
        a = g_string_new(arg);
        if (g_str_has_prefix(arg, "socket,id=monitor,path="))
            g_string_printf(a, "socket,id=monitor,path=%s,server=on,wait=off", sock);
        else if (argv->len > 0 && strcmp(argv->pdata[argv->len - 1], "-pidfile") == 0)
            g_string_assign(a, pidfile);
        else if (g_str_has_prefix(arg, "guest="))
            g_string_assign(a, "guest=floor,debug-threads=on");
        g_string_replace(a, guestImg, img, 0);
        g_string_replace(a, guestSerial, serial, 0);
        g_ptr_array_add(argv, g_string_free(a, FALSE));
    }
    g_ptr_array_add(argv, NULL);
    testMakeImage(img, 16 << 20, 0);
    f->pid = testStartProcess((const char *const *)argv->pdata, logPath);
    f->mon = qemuMonitorOpen(sock, 20000, NULL, NULL);
    if (!f->mon)
        g_error("floor QEMU: %s", iovGetLastErrorMessage());
    waitGuestReady(serial);
}

static void
floorStop(floorQemu *f)
{
    qemuMonitorClose(f->mon);
    kill(f->pid, SIGKILL);
    waitpid(f->pid, NULL, 0);
}

/* ---- the calls timed ---- */

typedef enum {
    CALL_NULL,  /* null RPC: a quick call, the socket thread answers */
    CALL_GET,   /* get: quick too; sends nothing to QEMU */
    CALL_XML,   /* iovDomainGetXMLDesc: answered by a worker */
    CALL_SET,   /* one qom-set to QEMU, begun by the socket thread */
    CALL_FLOOR, /* the set's qom-set straight to the floor QEMU */
    CALL_LAST
} callKind;

static const char *const callNames[CALL_LAST] = {
    "null RPC (quick: the daemon's socket thread answers)",
    "get (quick)",
    "iovDomainGetXMLDesc (a worker answers: one more thread woken)",
    "set (one qom-set, begun by the socket thread: no worker)",
    "floor of the set (the qom-set straight to QEMU)",
};

/* One call of `kind`, the `j`th of its kind; µs. */
static double
timedCall(callKind kind, iovConnectPtr conn, iovDomainPtr dom, qemuMonitor *floorMon, int j)
{
    throttleDef from = {0}, to = {0};
    iovTypedParameter p[20];
    unsigned long long v;
    int n = 20;
    char *xml;
    double t0;

    /* alternate two values: every set is a real change, one qom-set;
     * the floor sends exactly what the daemon sends for it */
    setParam(&p[0], "bps_rd", j % 2 ? 10485760 : 20971520);
    from.v[THROTTLE_BPS_RD] = j % 2 ? 20971520 : 10485760;
    to.v[THROTTLE_BPS_RD] = j % 2 ? 10485760 : 20971520;
    t0 = nowUs();
    switch (kind) {
    case CALL_NULL: /* answered at once, with nothing to look up */
        if (iovConnectGetLibVersion(conn, &v) < 0)
            g_error("null RPC: %s", iovGetLastErrorMessage());
        break;
    case CALL_GET:
        if (iovDomainGetBlockIoThrottle(dom, "vda", p, &n, IOV_DOMAIN_AFFECT_LIVE) < 0)
            g_error("get: %s", iovGetLastErrorMessage());
        t0 = nowUs() - t0;
        iovTypedParamsClear(p, n);
        return t0;
    case CALL_XML:
        if (!(xml = iovDomainGetXMLDesc(dom, 0)))
            g_error("XML: %s", iovGetLastErrorMessage());
        t0 = nowUs() - t0;
        free(xml);
        return t0;
    case CALL_SET:
        if (iovDomainBlockIoThrottle(dom, "vda", p, 1, IOV_DOMAIN_AFFECT_LIVE) < 0)
            g_error("set: %s", iovGetLastErrorMessage());
        break;
    case CALL_FLOOR:
        if (qemuMonitorUpdateThrottleLimits(floorMon, "tg-vda", &from, &to) < 0)
            g_error("floor qom-set: %s", iovGetLastErrorMessage());
        break;
    case CALL_LAST:
        break;
    }
    return nowUs() - t0;
}

/* ---- after idleness ---- */

/*
 * What `idleCalls` calls of each kind cost back to back (in blocks of 50
 * that take turns) and each after 20 ms without any call (the kinds in
 * turns): a one-shot client always meets a daemon, and a machine, that
 * had nothing to do. p50s into hot[] and cold[].
 */
static void
measureAfterIdle(int idleCalls, iovConnectPtr conn, iovDomainPtr dom, qemuMonitor *floorMon,
                 double *hot, double *cold)
{
    g_autofree double *h = g_new(double, (gsize)idleCalls *CALL_LAST);
    g_autofree double *c = g_new(double, (gsize)idleCalls *CALL_LAST);
    int i, j, k;

    for (i = 0; i < idleCalls; i += 50) {
        for (k = 0; k < CALL_LAST; k++) {
            for (j = i; j < MIN(idleCalls, i + 50); j++)
                h[k * idleCalls + j] = timedCall(k, conn, dom, floorMon, j);
        }
    }
    for (j = 0; j < idleCalls; j++) {
        for (k = 0; k < CALL_LAST; k++) {
            g_usleep(20 * 1000);
            c[k * idleCalls + j] = timedCall(k, conn, dom, floorMon, j);
        }
    }
    for (k = 0; k < CALL_LAST; k++) {
        hot[k] = testPercentile(h + k * idleCalls, idleCalls, 0.5);
        cold[k] = testPercentile(c + k * idleCalls, idleCalls, 0.5);
    }
}

typedef struct {
    double p50, p99;
} pctl;

/* The CPU time all threads of `pid` have used so far, ns (the first
 * field of each thread's schedstat: nanoseconds, where /proc's stat
 * counts clock ticks of 10 ms). */
static double
cpuNs(pid_t pid)
{
    g_autofree char *dirPath = g_strdup_printf("/proc/%d/task", (int)pid);
    g_autoptr(GDir) dir = g_dir_open(dirPath, 0, NULL);
    const char *tid;
    double total = 0;

    if (!dir)
        g_error("cannot read %s", dirPath);
    while ((tid = g_dir_read_name(dir))) {
        g_autofree char *path = g_strdup_printf("%s/%s/schedstat", dirPath, tid);
        g_autofree char *text = NULL;

        /* a thread that ended meanwhile is skipped */
        if (g_file_get_contents(path, &text, NULL, NULL))
            total += g_ascii_strtod(text, NULL);
    }
    return total;
}

/* What the calls of one kind cost the processes on their path, µs of CPU
 * per call: the daemon, the QEMU of its guest, the floor's QEMU. */
typedef struct {
    double daemon, guestQemu, floorQemu;
} cpuCost;

static void
pctlOf(pctl *l, double *v)
{
    l->p50 = testPercentile(v, calls, 0.5);
    l->p99 = testPercentile(v, calls, 0.99);
}

/*
 * Sets through the daemon, the floor of a set, null RPCs and gets, in
 * blocks of 50 that take turns (50 sets, 50 of the same qom-set straight
 * to the floor QEMU, 50 null RPCs, 50 gets, ...), both guests running all
 * along, so that every figure a goal compares sees the same machine: on
 * a shared 2-core host, two figures taken a minute apart can differ by
 * more than the margin a goal leaves. The CPU time the daemon and both
 * QEMUs use in each block goes into *cpu, per kind in that order.
 */
static void
measureDaemon(iovConnectPtr conn, iovDomainPtr dom, pid_t guestPid, pctl *set, pctl *flo,
              pctl *get, pctl *nul, cpuCost *cpu, int idleCalls, double *idleHot,
              double *idleCold)
{
    g_autofree double *setv = g_new(double, calls);
    g_autofree double *flov = g_new(double, calls);
    g_autofree double *getv = g_new(double, calls);
    g_autofree double *nulv = g_new(double, calls);
    static const callKind order[] = {CALL_SET, CALL_FLOOR, CALL_NULL, CALL_GET};
    double *vals[] = {setv, flov, nulv, getv};
    int blocks = (calls + 49) / 50;
    g_autofree double *cpuMem = g_new(double, (gsize)blocks * G_N_ELEMENTS(order) * 3);
    double *cpuOf[G_N_ELEMENTS(order)][3];
    floorQemu f = {0};
    guint k;
    int i, j, b;

    for (k = 0; k < G_N_ELEMENTS(order); k++) {
        for (j = 0; j < 3; j++)
            cpuOf[k][j] = cpuMem + ((gsize)k * 3 + j) * blocks;
    }

    floorStart(&f, guestPid);
    for (i = 0, b = 0; i < calls; i += 50, b++) {
        for (k = 0; k < G_N_ELEMENTS(order); k++) {
            double d0 = cpuNs(d.pid), g0 = cpuNs(guestPid), f0 = cpuNs(f.pid);
            int n = MIN(calls, i + 50) - i;

            for (j = i; j < i + n; j++)
                vals[k][j] = timedCall(order[k], conn, dom, f.mon, j);
            /* per call, in µs */
            cpuOf[k][0][b] = (cpuNs(d.pid) - d0) / 1000.0 / n;
            cpuOf[k][1][b] = (cpuNs(guestPid) - g0) / 1000.0 / n;
            cpuOf[k][2][b] = (cpuNs(f.pid) - f0) / 1000.0 / n;
        }
    }
    /* the median block: a block that a once-a-second task (the status
     * file's writer) or a thread's CPU time counted late falls into does
     * not move it */
    for (k = 0; k < G_N_ELEMENTS(order); k++) {
        cpu[k].daemon = testPercentile(cpuOf[k][0], b, 0.5);
        cpu[k].guestQemu = testPercentile(cpuOf[k][1], b, 0.5);
        cpu[k].floorQemu = testPercentile(cpuOf[k][2], b, 0.5);
    }
    if (idleCalls > 0)
        measureAfterIdle(idleCalls, conn, dom, f.mon, idleHot, idleCold);
    floorStop(&f);
    pctlOf(set, setv);
    pctlOf(flo, flov);
    pctlOf(get, getv);
    pctlOf(nul, nulv);
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

typedef enum {
    SHOT_TRUE,       /* /bin/true: the floor */
    SHOT_C,          /* api-oneshot: connect, one get, close */
    SHOT_IOVSH_GET,  /* iovsh blkiothrottle lat0 vda */
    SHOT_IOVSH_SET,  /* iovsh blkiothrottle lat0 vda --bps_rd N: a real change each time */
    SHOT_IOVSH_LIST, /* iovsh domblklist lat0 */
    SHOT_OTHER_GET,  /* the same three with --compare-iovsh's program */
    SHOT_OTHER_SET,
    SHOT_OTHER_LIST,
    SHOT_LAST
} shotKind;

/* Spawn one process of `kind` and wait for it; µs. */
static double
oneShot(shotKind kind)
{
    g_autofree char *cprog = g_build_filename(TEST_BUILD_DIR, "bench", "api-oneshot", NULL);
    g_autofree char *iovsh = kind >= SHOT_OTHER_GET
                                 ? g_strdup(otherIovsh)
                                 : g_build_filename(TEST_BUILD_DIR, "tools", "iovsh", NULL);
    static int sets; /* each set a real change: the value alternates from one set to the next */
    g_autofree char *value = kind == SHOT_IOVSH_SET || kind == SHOT_OTHER_SET
                                 ? g_strdup_printf("%d", sets++ % 2 ? 10485760 : 20971520)
                                 : NULL;
    char *trueArgv[] = {(char *)"/bin/true", NULL};
    char *cArgv[] = {cprog, d.uri, (char *)"lat0", NULL};
    char *getArgv[] = {iovsh,          (char *)"-c",  d.uri, (char *)"blkiothrottle",
                       (char *)"lat0", (char *)"vda", NULL};
    char *listArgv[] = {iovsh, (char *)"-c", d.uri, (char *)"domblklist", (char *)"lat0", NULL};
    char *setArgv[] = {iovsh,
                       (char *)"-c",
                       d.uri,
                       (char *)"blkiothrottle",
                       (char *)"lat0",
                       (char *)"vda",
                       (char *)"--live",
                       (char *)"--bps_rd",
                       value,
                       NULL};
    char **argv = kind == SHOT_TRUE        ? trueArgv
                  : kind == SHOT_C         ? cArgv
                  : kind == SHOT_IOVSH_GET ? getArgv
                  : kind == SHOT_OTHER_GET ? getArgv
                  : kind == SHOT_IOVSH_LIST || kind == SHOT_OTHER_LIST ? listArgv
                                                                       : setArgv;
    posix_spawn_file_actions_t fa;
    double t0;
    pid_t pid;
    int status;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    t0 = nowUs();
    if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0)
        g_error("cannot run %s", argv[0]);
    waitpid(pid, &status, 0);
    t0 = nowUs() - t0;
    posix_spawn_file_actions_destroy(&fa);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        g_error("%s failed", argv[0]);
    return t0;
}

/* `runs` of each kind, interleaved so that the machine's moods fall on
 * all alike. */
static void
measureOneShots(int runs, double *p50, double *p99)
{
    g_autofree double *lat = g_new(double, (gsize)runs *SHOT_LAST);
    g_autoptr(GRand) rnd = g_rand_new_with_seed(1);
    int order[SHOT_LAST];
    int i, k;

    for (k = 0; k < SHOT_LAST; k++)
        order[k] = k;
    for (i = 0; i < runs; i++) {
        /* each turn in its own order: what a process meets depends on
         * the one before it (a change leaves the daemon a status file to
         * write), and a fixed order would give one kind a worse
         * neighbour than another it is compared with */
        for (k = SHOT_LAST - 1; k > 0; k--) {
            int j = g_rand_int_range(rnd, 0, k + 1), t = order[k];

            order[k] = order[j];
            order[j] = t;
        }
        for (k = 0; k < SHOT_LAST; k++) {
            int kind = order[k];

            lat[kind * runs + i] = kind >= SHOT_OTHER_GET && !otherIovsh ? 0 : oneShot(kind);
        }
    }
    for (k = 0; k < SHOT_LAST; k++) {
        p50[k] = testPercentile(lat + k * runs, runs, 0.5);
        p99[k] = testPercentile(lat + k * runs, runs, 0.99);
    }
}

/* The serial log of guest `n` (lat0, lat1, ...); owned by the caller. */
static char *
serialOf(int n)
{
    return g_strdup_printf("%s/lat%d-serial.log", testTmpDir(), n);
}

/* Wait until guest latN has booted (waitGuestReady). */
static void
waitLatReady(int n)
{
    g_autofree char *serial = serialOf(n);

    waitGuestReady(serial);
}

/* Define and start guest latN with a limited vda; a new handle. */
static iovDomainPtr
startGuest(iovConnectPtr conn, int n)
{
    g_autofree char *img = g_strdup_printf("%s/lat%d.img", testTmpDir(), n);
    g_autofree char *name = g_strdup_printf("lat%d", n);
    g_autofree char *serial = serialOf(n);
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

/* The first three fields of /proc/loadavg into `buf`. */
static void
loadAverage(char *buf, size_t len)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) f = NULL;

    g_strlcpy(buf, "?", len);
    if (!g_file_get_contents("/proc/loadavg", &text, NULL, NULL))
        return;
    f = g_strsplit(text, " ", 4);
    if (g_strv_length(f) >= 3)
        g_snprintf(buf, len, "%s %s %s", f[0], f[1], f[2]);
}

/* The pid of the daemon's first guest, from its pidfile. */
static pid_t
guestPid(void)
{
    g_autofree char *path = g_build_filename(d.stateDir, "lat0.pid", NULL);
    g_autofree char *text = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        g_error("cannot read %s", path);
    return (pid_t)atoi(text);
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
    g_autofree char *shmDir = g_strdup_printf("/dev/shm/iovirt-bench-%d", (int)getpid());
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autofree char *date = g_date_time_format(now, "%Y-%m-%d %H:%M UTC");
    pctl set, flo, get, nul;
    double rate;
    double shotP50[SHOT_LAST], shotP99[SHOT_LAST];
    double setGoal, getGoal;
    double idleHot[CALL_LAST], idleCold[CALL_LAST];
    /* in measureDaemon's order of the blocks */
    static const char *const cpuNames[] = {"set", "floor of the set (the qom-set straight to QEMU)",
                                           "null RPC", "get"};
    cpuCost cpu[G_N_ELEMENTS(cpuNames)];
    int idleCalls = 100;
    char load[64];
    gboolean tmpfs = FALSE;
    long anon, rss;
    iovConnectPtr conn;
    iovDomainPtr dom = NULL;
    int i;

    {
        g_autofree char *other = NULL;
        const GOptionEntry options[] = {
            {"calls", 0, 0, G_OPTION_ARG_INT, &calls, "calls of each kind on one connection (2000)",
             "N"},
            {"idle-calls", 0, 0, G_OPTION_ARG_INT, &idleCalls,
             "calls of each kind after 20 ms idle, 0 for none (100)", "N"},
            {"shots", 0, 0, G_OPTION_ARG_INT, &shots, "one-shot processes of each kind (200)", "N"},
            {"load-seconds", 0, 0, G_OPTION_ARG_DOUBLE, &loadSeconds,
             "how long the 20 clients run (5)", "S"},
            {"tmpfs", 0, 0, G_OPTION_ARG_NONE, &tmpfs, "the daemon's state on /dev/shm", NULL},
            {"compare-iovsh", 0, 0, G_OPTION_ARG_FILENAME, &other,
             "also time this iovsh's one-shot commands", "PATH"},
            {NULL},
        };
        g_autoptr(GOptionContext) ctx = g_option_context_new("- what a call costs through iovirt");
        g_autoptr(GError) err = NULL;

        g_option_context_add_main_entries(ctx, options, NULL);
        if (!g_option_context_parse(ctx, &argc, &argv, &err) || argc > 1) {
            g_printerr("api-latency: %s\n", err ? err->message : "unexpected argument");
            return 2;
        }
        otherIovsh = g_steal_pointer(&other);
    }
    if (calls < 1 || idleCalls < 0 || shots < 1 || loadSeconds <= 0) {
        g_printerr("api-latency: --calls and --shots take a count of at least 1, --idle-calls one "
                   "of at least 0 and --load-seconds a positive time\n");
        return 2;
    }
    if (tmpfs) {
        d.dir = g_steal_pointer(&shmDir);
        d.sock = g_build_filename(d.dir, "run", "iovirt", "iovirt-sock", NULL);
        d.sockRO = g_build_filename(d.dir, "run", "iovirt", "iovirt-sock-ro", NULL);
        d.stateDir = g_build_filename(d.dir, "run", "iovirt", "qemu", NULL);
        d.uri = g_strdup_printf("iovirt+unix:///session?socket=%s", d.sock);
        d.uriRO = g_strdup_printf("iovirt+unix:///session?socket=%s", d.sockRO);
        d.logFile = g_build_filename(testTmpDir(), "iovirtd.log", NULL);
        {
            g_autofree char *runDir = g_build_filename(d.dir, "run", NULL);

            g_assert_cmpint(g_mkdir_with_parents(runDir, 0700), ==, 0);
        }
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
    waitLatReady(0);

    measureDaemon(conn, dom, guestPid(), &set, &flo, &get, &nul, cpu, idleCalls, idleHot,
                  idleCold);
    measureOneShots(shots, shotP50, shotP99);
    /* four more guests for the concurrent clients */
    for (i = 1; i < 5; i++)
        iovDomainFree(startGuest(conn, i));
    for (i = 1; i < 5; i++)
        waitLatReady(i);
    rate = measureConcurrentGets(20, loadSeconds);

    loadAverage(load, sizeof(load));
    setGoal = flo.p50 + nul.p50 + 100;
    getGoal = 1.5 * nul.p50;
    printf(
        "iovirtd call latency, %s, %ld cores, load average %s; %d calls each; daemon state on %s\n\n",
        date, sysconf(_SC_NPROCESSORS_ONLN), load, calls,
        tmpfs ? "tmpfs (/dev/shm)" : "the temporary files' filesystem");
    printf("| measure | p50 | p99 | goal (p50) |\n|---|---|---|---|\n");
    printf(
        "| set (iovDomainBlockIoThrottle, live, one real change) | %.0f µs | %.0f µs | ≤ floor + null RPC + 100 µs = %.0f µs: %s |\n",
        set.p50, set.p99, setGoal, set.p50 <= setGoal ? "met" : "missed");
    printf(
        "| floor of set: the same qom-set straight to a QEMU running the same guest (its command line), in turns with the sets | %.0f µs | %.0f µs | |\n",
        flo.p50, flo.p99);
    printf(
        "| get (iovDomainGetBlockIoThrottle, live; sends nothing to QEMU) | %.0f µs | %.0f µs | ≤ 1.5 × null RPC = %.0f µs: %s |\n",
        get.p50, get.p99, getGoal, get.p50 <= getGoal ? "met" : "missed");
    printf("| null RPC (iovConnectGetLibVersion) | %.0f µs | %.0f µs | |\n", nul.p50, nul.p99);
    printf("| one-shot C client: connect, one get, close | %.2f ms | %.2f ms | |\n",
           shotP50[SHOT_C] / 1000, shotP99[SHOT_C] / 1000);
    printf(
        "| one-shot `iovsh blkiothrottle lat0 vda` (display) | %.2f ms | %.2f ms | ≤ /bin/true + 2.5 ms: %s (+%.2f ms) |\n",
        shotP50[SHOT_IOVSH_GET] / 1000, shotP99[SHOT_IOVSH_GET] / 1000,
        shotP50[SHOT_IOVSH_GET] <= shotP50[SHOT_TRUE] + 2500 ? "met" : "missed",
        (shotP50[SHOT_IOVSH_GET] - shotP50[SHOT_TRUE]) / 1000);
    printf(
        "| one-shot `iovsh blkiothrottle lat0 vda --live --bps_rd N` (a real change) | %.2f ms | %.2f ms | ≤ /bin/true + 3 ms: %s (+%.2f ms) |\n",
        shotP50[SHOT_IOVSH_SET] / 1000, shotP99[SHOT_IOVSH_SET] / 1000,
        shotP50[SHOT_IOVSH_SET] <= shotP50[SHOT_TRUE] + 3000 ? "met" : "missed",
        (shotP50[SHOT_IOVSH_SET] - shotP50[SHOT_TRUE]) / 1000);
    printf("| one-shot `iovsh domblklist lat0` (the disks, their sources and limits) | %.2f ms | "
           "%.2f ms | +%.2f ms over /bin/true |\n",
           shotP50[SHOT_IOVSH_LIST] / 1000, shotP99[SHOT_IOVSH_LIST] / 1000,
           (shotP50[SHOT_IOVSH_LIST] - shotP50[SHOT_TRUE]) / 1000);
    if (otherIovsh) {
        printf("| the same disk list, %s | %.2f ms | %.2f ms | +%.2f ms over /bin/true |\n",
               otherIovsh, shotP50[SHOT_OTHER_LIST] / 1000, shotP99[SHOT_OTHER_LIST] / 1000,
               (shotP50[SHOT_OTHER_LIST] - shotP50[SHOT_TRUE]) / 1000);
        printf("| the same display, %s | %.2f ms | %.2f ms | +%.2f ms over /bin/true |\n",
               otherIovsh, shotP50[SHOT_OTHER_GET] / 1000, shotP99[SHOT_OTHER_GET] / 1000,
               (shotP50[SHOT_OTHER_GET] - shotP50[SHOT_TRUE]) / 1000);
        printf("| the same change, %s | %.2f ms | %.2f ms | +%.2f ms over /bin/true |\n",
               otherIovsh, shotP50[SHOT_OTHER_SET] / 1000, shotP99[SHOT_OTHER_SET] / 1000,
               (shotP50[SHOT_OTHER_SET] - shotP50[SHOT_TRUE]) / 1000);
    }
    printf("| /bin/true spawned the same way | %.2f ms | %.2f ms | |\n", shotP50[SHOT_TRUE] / 1000,
           shotP99[SHOT_TRUE] / 1000);
    printf("| the one-shot change less /bin/true and the set's floor (what iovsh and iovirtd add) | %.2f ms | | |\n",
           (shotP50[SHOT_IOVSH_SET] - shotP50[SHOT_TRUE] - flo.p50) / 1000);
    printf("\n| measure | value | goal |\n|---|---|---|\n");
    printf("| gets/s, 20 clients at once over 5 guests | %.0f | ≥ 5,000: %s |\n", rate,
           rate >= 5000 ? "met" : "missed");
    printf("| idle daemon anonymous memory (smaps_rollup) | %ld KiB | < 3 MiB: %s |\n", anon,
           anon < 3072 ? "met" : "missed");
    printf("| idle daemon RSS | %ld KiB | |\n", rss);
    printf("\nCPU time per call, the same calls: what each process's threads used (schedstat) "
           "over a block of 50 calls, divided by 50, the median of the blocks; both QEMUs run "
           "their idle guest all along:\n\n");
    printf("| call | iovirtd | the guest's QEMU | the floor's QEMU |\n|---|---|---|---|\n");
    for (i = 0; i < (int)G_N_ELEMENTS(cpuNames); i++)
        printf("| %s | %.1f µs | %.1f µs | %.1f µs |\n", cpuNames[i], cpu[i].daemon,
               cpu[i].guestQemu, cpu[i].floorQemu);
    printf("| a set beyond a null RPC, in iovirtd | %+.1f µs | | |\n",
           cpu[0].daemon - cpu[2].daemon);
    printf("| QEMU's own CPU for the qom-set (the QEMU that got it, less the other one, idle in "
           "the same blocks): through iovirtd, straight | | %.1f µs | %.1f µs |\n",
           cpu[0].guestQemu - cpu[0].floorQemu, cpu[1].floorQemu - cpu[1].guestQemu);
    if (idleCalls > 0) {
        printf("\nThe same calls on one connection, %d of each: back to back (in blocks of 50 that take "
               "turns), and each after 20 ms without any call (the kinds in turns), as a one-shot "
               "client meets the daemon:\n\n",
               idleCalls);
        printf("| call | back to back p50 | after 20 ms idle p50 | idleness adds |\n|---|---|---|---|\n");
        for (i = 0; i < CALL_LAST; i++)
            printf("| %s | %.0f µs | %.0f µs | +%.0f µs |\n", callNames[i], idleHot[i], idleCold[i],
                   idleCold[i] - idleHot[i]);
        printf("| a worker's wake-up after idleness, beyond the socket thread's answer: "
               "(XML − null RPC) after idleness less the same back to back | | | %+.0f µs |\n",
               (idleCold[CALL_XML] - idleCold[CALL_NULL]) - (idleHot[CALL_XML] - idleHot[CALL_NULL]));
        printf("| what idleness adds to a set beyond what it adds to its floor | | | %+.0f µs |\n",
               (idleCold[CALL_SET] - idleHot[CALL_SET]) - (idleCold[CALL_FLOOR] - idleHot[CALL_FLOOR]));
    }

    iovDomainFree(dom);
    iovConnectClose(conn);
    testDaemonStop(&d, SIGTERM);
    if (tmpfs) {
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", d.dir);

        if (system(cmd) != 0)
            g_printerr("cannot remove %s\n", d.dir);
    }
    return 0;
}
