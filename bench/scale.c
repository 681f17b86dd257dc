/*
 * scale: how iovirtd's costs grow with the number of guests
 *
 * For each size (10, 50, 100 guests by default), a session iovirtd (its
 * running state where the machine's temporary files are, as /run is on
 * the same kind of filesystem) starts that many real TCG QEMUs,
 * each with four file disks limited from the definition, paused
 * (IOV_DOMAIN_START_PAUSED: the limits are in force, the vCPU never
 * runs, so a hundred guests fit two cores), and measures:
 *   - the start of all of them from 8 clients at once: wall, and each
 *     iovDomainCreateWithFlags' p50/p99;
 *   - every disk's limit set (4 per guest, each a real change, so one
 *     qom-set each) from 8 clients at once: wall, p50/p99 of one set;
 *   - the bulk listing of every disk's limit (iovConnectGetAllDomainStats,
 *     iothrottle group): p50/p99, checked against the values just set;
 *   - SIGTERM to the daemon, its end, and from its restart until every
 *     guest is reconnected and answering (a bulk call with the block
 *     group asks each QEMU for its counters) with its limits read back
 *     from QEMU;
 *   - the daemon's anonymous memory (smaps_rollup) per guest, beyond
 *     what it holds with no guest;
 *   - the destroy of all of them from 8 clients.
 * Every QEMU is registered to be killed at exit and on a failure.
 * Prints Markdown tables for bench/README.md.
 *
 *   bench/scale [--sizes 10,50,100] [--rounds N] [--clients N]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "iovirt/iovirt.h"
#include "testqemu.h"

#define DISKS 4
#define MiB 1048576ULL

static testDaemon d;
static int rounds = 50;
static int nclients = 8;
static GMutex pidLock;

typedef struct {
    int guests;
    double startWall, startP50, startP99;
    double setWall, setP50, setP99;
    double listP50, listP99;
    double termMs, restartMs;
    double anonBefore, anonAfter; /* KiB per guest, before and after the restart */
    double destroyWall;
} sizeResult;

static double
nowMs(void)
{
    return g_get_monotonic_time() / 1000.0;
}

static char *
guestName(int n)
{
    return g_strdup_printf("scale%03d", n);
}

/* The pid of running guest `n` from its pidfile, 0 when there is none. */
static pid_t
guestPid(int n)
{
    g_autofree char *name = guestName(n);
    g_autofree char *file = g_strdup_printf("%s.pid", name);
    g_autofree char *path = g_build_filename(d.stateDir, file, NULL);
    g_autofree char *text = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return 0;
    return atoi(text);
}

/* Define guest `n`: 32 MiB, four sparse 1 MiB file disks, each limited. */
static void
defineGuest(iovConnectPtr conn, int n)
{
    g_autofree char *name = guestName(n);
    g_autoptr(GString) disks = g_string_new(NULL);
    g_autofree char *xml = NULL;
    iovDomainPtr dom;
    int k;

    for (k = 0; k < DISKS; k++) {
        g_autofree char *img = g_strdup_printf("%s/%s-%c.img", testTmpDir(), name, 'a' + k);

        testMakeImage(img, MiB, 0);
        g_string_append_printf(disks,
                               "<disk type='file'><source file='%s'/><target dev='vd%c'/>"
                               "<iothrottle bps_rd='%llu'/></disk>",
                               img, 'a' + k, MiB);
    }
    xml = g_strdup_printf("<domain type='qemu'><name>%s</name><memory unit='MiB'>32</memory>"
                          "<vcpu>1</vcpu><os><kernel>%s</kernel><initrd>%s</initrd></os>"
                          "<devices>%s</devices></domain>",
                          name, testGuestKernel(), testGuestInitrd(), disks->str);
    if (!(dom = iovDomainDefineXML(conn, xml)))
        g_error("define %s: %s", name, iovGetLastErrorMessage());
    iovDomainFree(dom);
}

/* ---- one operation per task, over nclients connections at once ---- */

typedef enum { OP_START, OP_SET, OP_DESTROY } opKind;

typedef struct {
    opKind op;
    int tasks;               /* START/DESTROY: one per guest; SET: one per disk */
    unsigned long long base; /* SET: the value of task i is base + 4096 * i */
    gint next;               /* the next task to take */
    double *lat;             /* ms, per task */
} opRun;

static unsigned long long
setValue(const opRun *r, int i)
{
    return r->base + 4096ULL * (unsigned long long)i;
}

static gpointer
opClient(gpointer data)
{
    opRun *r = data;
    iovConnectPtr conn = iovConnectOpen(d.uri);
    int i;

    if (!conn)
        g_error("open: %s", iovGetLastErrorMessage());
    while ((i = g_atomic_int_add(&r->next, 1)) < r->tasks) {
        int guest = r->op == OP_SET ? i / DISKS : i;
        g_autofree char *name = guestName(guest);
        iovDomainPtr dom = iovDomainLookupByName(conn, name);
        double t0;
        int rc = -1;

        if (!dom)
            g_error("lookup %s: %s", name, iovGetLastErrorMessage());
        t0 = nowMs();
        if (r->op == OP_START) {
            rc = iovDomainCreateWithFlags(dom, IOV_DOMAIN_START_PAUSED);
        } else if (r->op == OP_DESTROY) {
            rc = iovDomainDestroy(dom);
        } else {
            char disk[] = {'v', 'd', (char)('a' + i % DISKS), 0};
            iovTypedParameter p;

            memset(&p, 0, sizeof(p));
            g_strlcpy(p.field, IOV_THROTTLE_BPS_RD, sizeof(p.field));
            p.type = IOV_TYPED_PARAM_ULLONG;
            p.value.ul = setValue(r, i);
            rc = iovDomainBlockIoThrottle(dom, disk, &p, 1, IOV_DOMAIN_AFFECT_LIVE);
        }
        r->lat[i] = nowMs() - t0;
        if (rc < 0)
            g_error("%s %s: %s",
                    r->op == OP_START ? "start"
                    : r->op == OP_SET ? "set"
                                      : "destroy",
                    name, iovGetLastErrorMessage());
        if (r->op == OP_START) {
            pid_t pid = guestPid(guest);

            if (pid <= 0)
                g_error("%s: started but no pidfile", name);
            g_mutex_lock(&pidLock);
            testKillAtExit(pid);
            g_mutex_unlock(&pidLock);
        }
        iovDomainFree(dom);
    }
    iovConnectClose(conn);
    return NULL;
}

/* Run `tasks` operations `op` from nclients clients; the wall time in ms,
 * the per-task p50/p99 into p50/p99. */
static double
runOps(opKind op, int tasks, unsigned long long base, double *p50, double *p99)
{
    g_autofree GThread **threads = g_new(GThread *, nclients);
    g_autofree double *lat = g_new0(double, tasks);
    opRun r = {.op = op, .tasks = tasks, .base = base, .next = 0, .lat = lat};
    double t0 = nowMs(), wall;
    int i;

    for (i = 0; i < nclients; i++)
        threads[i] = g_thread_new("client", opClient, &r);
    for (i = 0; i < nclients; i++)
        g_thread_join(threads[i]);
    wall = nowMs() - t0;
    *p50 = testPercentile(lat, tasks, 0.5);
    *p99 = testPercentile(lat, tasks, 0.99);
    return wall;
}

/* ---- the bulk listing ---- */

/* One bulk call of `groups` for the running guests: true when it lists
 * `guests` guests, each with four disks whose bps_rd follow `r` (and,
 * with the block group, each disk's counters). */
static bool
listAll(iovConnectPtr conn, unsigned int groups, int guests, const opRun *r, bool quiet)
{
    iovDomainStatsRecordPtr *recs = NULL;
    int n = iovConnectGetAllDomainStats(conn, groups, &recs, IOV_CONNECT_LIST_DOMAINS_ACTIVE);
    bool ok = n == guests;
    int g, k;

    if (n < 0) {
        if (!quiet)
            g_error("bulk call: %s", iovGetLastErrorMessage());
        return false;
    }
    for (g = 0; ok && g < n; g++) {
        iovDomainStatsRecordPtr rec = recs[g];
        unsigned int count = 0;
        int guest = atoi(iovDomainGetName(rec->dom) + strlen("scale"));

        if (iovTypedParamsGetUInt(rec->params, rec->nparams, "iothrottle.count", &count) != 1 ||
            count != DISKS) {
            ok = false;
            break;
        }
        if ((groups & IOV_DOMAIN_STATS_BLOCK) &&
            (iovTypedParamsGetUInt(rec->params, rec->nparams, "block.count", &count) != 1 ||
             count != DISKS)) {
            ok = false;
            break;
        }
        for (k = 0; k < DISKS; k++) {
            g_autofree char *key = g_strdup_printf("iothrottle.%d.%s", k, IOV_THROTTLE_BPS_RD);
            unsigned long long v = 0;

            if (iovTypedParamsGetULLong(rec->params, rec->nparams, key, &v) != 1 ||
                v != setValue(r, guest * DISKS + k)) {
                if (!quiet)
                    g_error("%s: %s is %llu, expected %llu", iovDomainGetName(rec->dom), key, v,
                            setValue(r, guest * DISKS + k));
                ok = false;
                break;
            }
        }
    }
    if (!ok && !quiet)
        g_error("bulk call: %d records for %d guests, or a record without its %d disks", n, guests,
                DISKS);
    iovDomainStatsRecordListFree(recs);
    return ok;
}

/* Anonymous memory of the daemon, KiB (smaps_rollup). */
static long
daemonAnon(void)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/smaps_rollup", (int)d.pid);
    g_autofree char *text = NULL;
    const char *p;

    if (!g_file_get_contents(path, &text, NULL, NULL) || !(p = strstr(text, "\nAnonymous:")))
        g_error("cannot read %s", path);
    return atol(p + strlen("\nAnonymous:"));
}

static void
startDaemon(void)
{
    const char *args[] = {"--log-level", "warning", NULL};

    testDaemonStart(&d, "scale", args);
}

/* SIGTERM, restart, and wait until every guest answers with its limits. */
static void
measureRestart(int guests, const opRun *lastSet, sizeResult *res)
{
    double t0 = nowMs();
    gint64 deadline;
    iovConnectPtr conn = NULL;

    testDaemonStop(&d, SIGTERM);
    res->termMs = nowMs() - t0;
    t0 = nowMs();
    startDaemon();
    deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
    for (;;) {
        if (!conn)
            conn = iovConnectOpen(d.uri);
        if (conn && listAll(conn, IOV_DOMAIN_STATS_BLOCK | IOV_DOMAIN_STATS_IOTHROTTLE, guests,
                            lastSet, true))
            break;
        if (g_get_monotonic_time() > deadline)
            g_error("the restarted daemon did not answer for its %d guests in 60 s", guests);
        g_usleep(2000);
    }
    res->restartMs = nowMs() - t0;
    iovConnectClose(conn);
}

static void
forgetGuests(int guests)
{
    int i;

    /* pids of guests that ended may be reused: never kill them at exit */
    for (i = 0; i < guests; i++) {
        pid_t pid = guestPid(i);

        if (pid > 0)
            g_error("guest %d still has a pidfile after its destroy", i);
    }
}

static void
measureSize(iovConnectPtr *connp, int guests, long anonIdle, pid_t **pidsp, sizeResult *res)
{
    g_autofree double *list = g_new(double, rounds);
    opRun last = {0};
    double p50, p99, wall;
    int i, r;

    res->guests = guests;
    res->startWall = runOps(OP_START, guests, 0, &res->startP50, &res->startP99);
    /* every limit set, three times, each time to new values */
    res->setWall = G_MAXDOUBLE;
    for (r = 0; r < 3; r++) {
        last.base = (2 + r) * MiB;
        wall = runOps(OP_SET, guests * DISKS, last.base, &p50, &p99);
        if (wall < res->setWall) {
            res->setWall = wall;
            res->setP50 = p50;
            res->setP99 = p99;
        }
    }
    for (i = 0; i < 5; i++)
        listAll(*connp, IOV_DOMAIN_STATS_IOTHROTTLE, guests, &last, false);
    for (i = 0; i < rounds; i++) {
        double t0 = nowMs();

        listAll(*connp, IOV_DOMAIN_STATS_IOTHROTTLE, guests, &last, false);
        list[i] = nowMs() - t0;
    }
    res->listP50 = testPercentile(list, rounds, 0.5);
    res->listP99 = testPercentile(list, rounds, 0.99);
    res->anonBefore = (double)(daemonAnon() - anonIdle) / guests;

    iovConnectClose(*connp);
    measureRestart(guests, &last, res);
    g_usleep(500 * 1000);
    res->anonAfter = (double)(daemonAnon() - anonIdle) / guests;
    if (!(*connp = iovConnectOpen(d.uri)))
        g_error("open: %s", iovGetLastErrorMessage());

    /* remember the pids, destroy, and forget them */
    *pidsp = g_new0(pid_t, guests);
    for (i = 0; i < guests; i++)
        (*pidsp)[i] = guestPid(i);
    res->destroyWall = runOps(OP_DESTROY, guests, 0, &p50, &p99);
    for (i = 0; i < guests; i++) {
        if ((*pidsp)[i] > 0)
            testForgetPid((*pidsp)[i]);
    }
    forgetGuests(guests);
}

static double
perGuest(double ms, int guests)
{
    return ms / guests;
}

int
main(int argc, char **argv)
{
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autofree char *date = g_date_time_format(now, "%Y-%m-%d %H:%M UTC");
    g_autofree char *loadavg = NULL;
    g_auto(GStrv) sizeStr = NULL;
    g_autofree sizeResult *res = NULL;
    iovConnectPtr conn;
    g_autofree char *sizesArg = NULL;
    long anonIdle;
    int nsizes, defined = 0, s;

    {
        const GOptionEntry options[] = {
            {"sizes", 0, 0, G_OPTION_ARG_STRING, &sizesArg,
             "numbers of guests, 1 to 200 each, in turn (10,50,100)", "N,N,..."},
            {"rounds", 0, 0, G_OPTION_ARG_INT, &rounds, "rounds of the calls timed (50)", "N"},
            {"clients", 0, 0, G_OPTION_ARG_INT, &nclients, "client connections at once (8)", "N"},
            {NULL},
        };
        g_autoptr(GOptionContext) ctx =
            g_option_context_new("- how the daemon's costs grow with the number of guests");
        g_autoptr(GError) err = NULL;

        g_option_context_add_main_entries(ctx, options, NULL);
        if (!g_option_context_parse(ctx, &argc, &argv, &err) || argc > 1) {
            fprintf(stderr, "%s: %s\n", g_get_prgname(), err ? err->message : "unexpected argument");
            return 2;
        }
    }
    if (rounds < 1 || nclients < 1) {
        fprintf(stderr, "%s: --rounds and --clients must be at least 1\n", g_get_prgname());
        return 2;
    }
    sizeStr = g_strsplit(sizesArg ? sizesArg : "10,50,100", ",", -1);
    nsizes = (int)g_strv_length(sizeStr);
    res = g_new0(sizeResult, MAX(nsizes, 1));
    for (s = 0; s < nsizes; s++) {
        if (!g_ascii_string_to_unsigned(sizeStr[s], 10, 1, 200, NULL, NULL)) {
            fprintf(stderr, "%s: --sizes takes numbers of guests from 1 to 200, not '%s'\n",
                    g_get_prgname(), sizeStr[s]);
            return 2;
        }
    }
    if (nsizes == 0) {
        fprintf(stderr, "%s: --sizes needs at least one number of guests\n", g_get_prgname());
        return 2;
    }
    {
        g_autofree char *text = NULL;
        g_auto(GStrv) f = NULL;

        /* the 1, 5 and 15 minute load averages: the machine may be shared */
        if (g_file_get_contents("/proc/loadavg", &text, NULL, NULL) &&
            g_strv_length(f = g_strsplit(text, " ", 4)) >= 3)
            loadavg = g_strdup_printf("%s %s %s", f[0], f[1], f[2]);
        else
            loadavg = g_strdup("?");
    }

    /* the daemon's running state under the temporary directory */
    startDaemon();
    g_usleep(1000 * 1000);
    anonIdle = daemonAnon();
    if (!(conn = iovConnectOpen(d.uri)))
        g_error("open: %s", iovGetLastErrorMessage());

    for (s = 0; s < nsizes; s++) {
        int guests = atoi(sizeStr[s]);
        g_autofree pid_t *pids = NULL;

        while (defined < guests)
            defineGuest(conn, defined++);
        measureSize(&conn, guests, anonIdle, &pids, &res[s]);
        fprintf(stderr, "%d guests measured\n", guests);
    }
    iovConnectClose(conn);
    testDaemonStop(&d, SIGTERM);

    printf("iovirtd with many guests, %s, %ld cores, load average %s; real TCG QEMUs, "
           "paused, 4 disks each; %d clients; daemon state on %s\n\n",
           date, sysconf(_SC_NPROCESSORS_ONLN), loadavg, nclients, testTmpDir());
    printf("| guests | disks | start all: wall | per guest | one start p50 | p99 "
           "| set all limits: wall | one set p50 | p99 | list all limits p50 | p99 "
           "| SIGTERM → exit | restart → all answering | anon KiB per guest | after restart "
           "| destroy all: wall |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (s = 0; s < nsizes; s++) {
        sizeResult *r = &res[s];

        printf("| %d | %d | %.0f ms | %.1f ms | %.1f ms | %.1f ms | %.0f ms | %.2f ms | %.2f ms "
               "| %.2f ms | %.2f ms | %.0f ms | %.0f ms | %.1f | %.1f | %.0f ms |\n",
               r->guests, r->guests * DISKS, r->startWall, perGuest(r->startWall, r->guests),
               r->startP50, r->startP99, r->setWall, r->setP50, r->setP99, r->listP50, r->listP99,
               r->termMs, r->restartMs, r->anonBefore, r->anonAfter, r->destroyWall);
    }
    printf("\n| growth | start all | set all | list all (p50) | restart → answering "
           "| anon per guest |\n|---|---|---|---|---|---|\n");
    for (s = 1; s < nsizes; s++) {
        sizeResult *a = &res[s - 1], *b = &res[s];

        printf("| %d → %d guests (× %.1f) | × %.2f | × %.2f | × %.2f | × %.2f | × %.2f |\n",
               a->guests, b->guests, (double)b->guests / a->guests, b->startWall / a->startWall,
               b->setWall / a->setWall, b->listP50 / a->listP50, b->restartMs / a->restartMs,
               b->anonBefore / a->anonBefore);
    }
    if (nsizes > 0) {
        sizeResult *big = &res[nsizes - 1];

        printf("\n| goal (at %d guests) | value | met |\n|---|---|---|\n", big->guests);
        printf("| all %d limits set with %d clients ≤ 1 s | %.0f ms | %s |\n", big->guests * DISKS,
               nclients, big->setWall, big->setWall <= 1000 ? "yes" : "no");
        printf("| every disk's limit listed in one bulk call ≤ 50 ms | %.2f ms | %s |\n",
               big->listP50, big->listP50 <= 50 ? "yes" : "no");
        printf("| SIGTERM → restart → every guest answering ≤ 1 s | %.0f ms | %s |\n",
               big->termMs + big->restartMs, big->termMs + big->restartMs <= 1000 ? "yes" : "no");
        printf("| daemon anonymous memory per guest ≤ 64 KiB | %.1f KiB | %s |\n",
               MAX(big->anonBefore, big->anonAfter),
               MAX(big->anonBefore, big->anonAfter) <= 64 ? "yes" : "no");
    }
    {
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", d.dir);

        if (system(cmd) != 0)
            g_printerr("cannot remove %s\n", d.dir);
    }
    return 0;
}
