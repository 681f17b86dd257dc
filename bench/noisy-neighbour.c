/*
 * noisy-neighbour: four guests on one saturated network store, one of
 * them greedy, and what a live limit gives back to the others
 *
 * One nbdkit server (file plugin, read-only) stands for a shared network
 * store: its rate filter caps the whole server at --store-rate MiB/s (40
 * by default), so it behaves like a saturated array. A session iovirtd
 * runs four TCG test guests whose disks are exports of that one server:
 * the noisy guest reads two disks with four readers each (iovprobe's
 * qd=4), the three quiet guests one disk with one reader. All read with
 * O_DIRECT as fast as they can for the whole run, and each guest's rate
 * is the one its iovprobe measured inside the guest, over host-timed
 * windows:
 *   1. no limits;
 *   2. the noisy guest limited live to --limit MiB/s (5 by default),
 *      half of it on each of its disks (per-disk limits);
 *   3. a guest-wide cap stacked over per-disk limits: each of its disks
 *      keeps a limit of its own, raised to --limit MiB/s (alone, the two
 *      would let the guest read twice that), and both pass through the
 *      declared group 'cap' of --limit MiB/s, created live and joined
 *      live (<throttlegroups>, <throttlefilters>): the cap holds however
 *      the guest spreads its reads over its disks.
 * Goal: in 2 and 3 each quiet guest gets at least 95 % of an even split
 * of what the store has left (its capacity measured in 1, less what the
 * noisy guest takes), and the noisy guest holds its limit within 2 %.
 * Every process it starts is killed at exit and on a failure.
 *
 *   bench/noisy-neighbour [--store-rate MiB/s] [--limit MiB/s]
 *                         [--seconds S] [--warm S]
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iovirt/iovirt.h"
#include "testqemu.h"

#define MiB 1048576.0
#define GUESTS 4
#define PHASES 3

static testDaemon d;
static double storeRate = 40;  /* MiB/s, the store's cap */
static double limitRate = 5;   /* MiB/s, the noisy guest's limit */
static double measureSec = 12; /* seconds measured per phase */
static double warmSec = 4;     /* seconds after a change before measuring */

typedef struct {
    const char *name;
    const char *probe; /* iovprobe jobs, without time= */
    const char *what;
    int ndisks;
    testSerial *serial;
    iovDomainPtr dom;
} guest;

static guest guests[GUESTS] = {
    {"noisy", "read:vda:bs=64k:qd=4,read:vdb:bs=64k:qd=4:off=64m", "2 disks, 4 readers each", 2},
    {"quiet1", "read:vda:bs=64k:off=16m", "1 disk, 1 reader", 1},
    {"quiet2", "read:vda:bs=64k:off=32m", "1 disk, 1 reader", 1},
    {"quiet3", "read:vda:bs=64k:off=48m", "1 disk, 1 reader", 1},
};

static void
pollAll(void)
{
    int g;

    for (g = 0; g < GUESTS; g++)
        testSerialPoll(guests[g].serial);
}

/* Poll every serial log for `sec` seconds. */
static void
waitPolling(double sec)
{
    gint64 until = g_get_monotonic_time() + (gint64)(sec * G_USEC_PER_SEC);

    while (g_get_monotonic_time() < until) {
        pollAll();
        g_usleep(100 * 1000);
    }
    pollAll();
}

/* Bytes per second guest `g` read, all its jobs together, over the
 * samples whose middle lies within [from, to] (monotonic µs, host time). */
static double
guestRate(guest *gu, gint64 from, gint64 to)
{
    double total = 0;
    int job;

    for (job = 0; job < gu->ndisks; job++) {
        double bytes = 0, secs = 0;
        guint i;

        for (i = 0; i < gu->serial->samples->len; i++) {
            testSample *s = &g_array_index(gu->serial->samples, testSample, i);
            /* the middle of the second it covers (read within 0.1 s of its end) */
            gint64 middle = s->seenAt - (gint64)(s->dt * G_USEC_PER_SEC / 2) - 50 * 1000;

            if (s->job != job || middle < from || middle > to)
                continue;
            bytes += (double)s->bytes;
            secs += s->dt;
        }
        if (secs <= 0)
            g_error("%s: no sample of job %d in a measured window", gu->name, job);
        total += bytes / secs;
    }
    return total;
}

static void
setLive(iovDomainPtr dom, const char *disk, const char *group, double bps)
{
    iovTypedParameter p[2];
    int n = 0;

    memset(p, 0, sizeof(p));
    if (group) {
        g_strlcpy(p[n].field, IOV_THROTTLE_GROUP, sizeof(p[n].field));
        p[n].type = IOV_TYPED_PARAM_STRING;
        p[n].value.s = (char *)group;
        n++;
    }
    if (bps >= 0) {
        g_strlcpy(p[n].field, IOV_THROTTLE_BPS_RD, sizeof(p[n].field));
        p[n].type = IOV_TYPED_PARAM_ULLONG;
        p[n].value.ul = (unsigned long long)bps;
        n++;
    }
    if (iovDomainBlockIoThrottle(dom, disk, p, n, IOV_DOMAIN_AFFECT_LIVE) < 0)
        g_error("set %s: %s", disk, iovGetLastErrorMessage());
}

/* Give both disks of `dom` their own limit of `bps` and make them pass
 * through the declared group 'cap' of `bps` too, all live. */
static void
capGuest(iovDomainPtr dom, double bps)
{
    const char *disks[] = {"vda", "vdb"};
    const char *cap[] = {"cap"};
    iovTypedParameter p;
    size_t i;

    memset(&p, 0, sizeof(p));
    g_strlcpy(p.field, IOV_THROTTLE_BPS_RD, sizeof(p.field));
    p.type = IOV_TYPED_PARAM_ULLONG;
    p.value.ul = (unsigned long long)bps;
    if (iovDomainSetThrottleGroup(dom, "cap", &p, 1, IOV_DOMAIN_AFFECT_LIVE) < 0)
        g_error("group cap: %s", iovGetLastErrorMessage());
    for (i = 0; i < G_N_ELEMENTS(disks); i++) {
        setLive(dom, disks[i], NULL, bps);
        if (iovDomainSetDiskThrottleFilters(dom, disks[i], cap, 1, IOV_DOMAIN_AFFECT_LIVE) < 0)
            g_error("%s through cap: %s", disks[i], iovGetLastErrorMessage());
    }
}

static void
usage(const char *argv0)
{
    printf("usage: %s [--store-rate MiB/s] [--limit MiB/s] [--seconds S] [--warm S]\n"
           "  four TCG guests read one nbdkit store capped at --store-rate (40); the noisy\n"
           "  guest is limited live to --limit (5), per disk then with a guest-wide cap;\n"
           "  each phase waits --warm (4) seconds then measures --seconds (12)\n",
           argv0);
}

int
main(int argc, char **argv)
{
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autofree char *date = g_date_time_format(now, "%Y-%m-%d %H:%M UTC");
    g_autofree char *loadavg = NULL;
    g_autofree char *img = NULL;
    g_autofree char *sock = NULL;
    g_autofree char *nbdLog = NULL;
    g_autofree char *rateArg = NULL;
    double rates[PHASES][GUESTS];
    double capacity, fair[PHASES], worst[PHASES], together[PHASES];
    iovConnectPtr conn;
    int probeSec, g, p, i;

    for (i = 1; i < argc; i++) {
        double *target = NULL;

        if (strcmp(argv[i], "--help") == 0) {
            usage(argv[0]);
            return 0;
        }
        if (strcmp(argv[i], "--store-rate") == 0)
            target = &storeRate;
        else if (strcmp(argv[i], "--limit") == 0)
            target = &limitRate;
        else if (strcmp(argv[i], "--seconds") == 0)
            target = &measureSec;
        else if (strcmp(argv[i], "--warm") == 0)
            target = &warmSec;
        if (target && i + 1 < argc) {
            char *end = NULL;

            *target = g_ascii_strtod(argv[i + 1], &end);
            if (end == argv[i + 1] || *end != '\0')
                target = NULL; /* not a number, or more after it */
        }
        if (!target || i + 1 >= argc || *target <= 0) {
            fprintf(stderr, "%s: bad argument '%s'\n", argv[0], argv[i]);
            usage(argv[0]);
            return 2;
        }
        i++;
    }
    if (limitRate >= storeRate / GUESTS) {
        fprintf(stderr, "%s: --limit must be below an even share of the store (%.1f MiB/s)\n",
                argv[0], storeRate / GUESTS);
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

    /* the store: one nbdkit, capped as a whole (its rate is in bits/s) */
    img = g_build_filename(testTmpDir(), "store.img", NULL);
    sock = g_build_filename(testTmpDir(), "store.sock", NULL);
    nbdLog = g_build_filename(testTmpDir(), "nbdkit.log", NULL);
    rateArg = g_strdup_printf("rate=%.0f", storeRate * MiB * 8);
    testMakeImage(img, 128 << 20, 128 << 20);
    {
        const char *nbd[] = {"nbdkit",        "-f",   "-r", "-U",    sock,
                             "--filter=rate", "file", img,  rateArg, NULL};

        testStartProcess(nbd, nbdLog);
        if (!testWaitPath(sock, 10000))
            g_error("nbdkit did not start; see %s", nbdLog);
    }
    {
        const char *args[] = {"--log-level", "warning", NULL};

        testDaemonStart(&d, "noisy", args);
    }
    if (!(conn = iovConnectOpen(d.uri)))
        g_error("open: %s", iovGetLastErrorMessage());

    /* long enough for every phase and the boots; destroyed at the end */
    probeSec = (int)(PHASES * (warmSec + measureSec) + 60);
    for (g = 0; g < GUESTS; g++) {
        guest *gu = &guests[g];
        g_autofree char *serial = g_strdup_printf("%s/%s-serial.log", testTmpDir(), gu->name);
        g_autoptr(GString) disks = g_string_new(NULL);
        g_autoptr(GString) probe = g_string_new(NULL);
        g_auto(GStrv) jobs = g_strsplit(gu->probe, ",", -1);
        g_autofree char *xml = NULL;
        int k;

        for (k = 0; k < gu->ndisks; k++)
            g_string_append_printf(
                disks,
                "    <disk type='network'><source protocol='nbd'><host transport='unix' socket='%s'/>"
                "</source><target dev='vd%c'/><readonly/></disk>\n",
                sock, 'a' + k);
        for (k = 0; jobs[k]; k++)
            g_string_append_printf(probe, "%s%s:time=%d", k ? "," : "", jobs[k], probeSec);
        xml = testGuestXML(gu->name, probe->str, "idle", serial, disks->str);
        gu->serial = testSerialNew(serial);
        if (!(gu->dom = iovDomainDefineXML(conn, xml)) || iovDomainCreate(gu->dom) < 0)
            g_error("%s: %s", gu->name, iovGetLastErrorMessage());
        testDaemonTrackGuests(&d);
    }
    /* every guest reading */
    for (g = 0; g < GUESTS; g++) {
        if (!testSerialWaitSample(guests[g].serial, 0, 1, 60000))
            g_error("%s did not start reading; see its serial log", guests[g].name);
    }

    for (p = 0; p < PHASES; p++) {
        gint64 from, to;

        if (p == 1) {
            /* the noisy guest's limit, half on each of its disks */
            setLive(guests[0].dom, "vda", NULL, limitRate * MiB / 2);
            setLive(guests[0].dom, "vdb", NULL, limitRate * MiB / 2);
        } else if (p == 2) {
            /* a cap over the guest, stacked: each disk's own limit
             * raised to the whole limit, and both disks through one
             * declared group of it */
            capGuest(guests[0].dom, limitRate * MiB);
        }
        waitPolling(warmSec);
        from = g_get_monotonic_time();
        waitPolling(measureSec);
        to = g_get_monotonic_time();
        for (g = 0; g < GUESTS; g++)
            rates[p][g] = guestRate(&guests[g], from, to) / MiB;
        fprintf(stderr, "phase %d measured\n", p + 1);
    }
    for (g = 0; g < GUESTS; g++) {
        iovDomainDestroy(guests[g].dom);
        iovDomainFree(guests[g].dom);
    }
    iovConnectClose(conn);
    testDaemonStop(&d, SIGTERM);

    capacity = 0;
    for (g = 0; g < GUESTS; g++)
        capacity += rates[0][g];
    for (p = 0; p < PHASES; p++) {
        fair[p] = (capacity - rates[p][0]) / (GUESTS - 1);
        worst[p] = G_MAXDOUBLE;
        together[p] = 0;
        for (g = 1; g < GUESTS; g++) {
            worst[p] = MIN(worst[p], rates[p][g] / fair[p]);
            together[p] += rates[p][g] / (capacity - rates[p][0]);
        }
    }

    printf("Four guests on one store, %s, %ld cores, load average %s; TCG test guests, "
           "one nbdkit (file, rate filter %.0f MiB/s) over a unix socket; %.0f s measured per "
           "phase after %.0f s; rates measured inside each guest\n\n",
           date, sysconf(_SC_NPROCESSORS_ONLN), loadavg, storeRate, measureSec, warmSec);
    printf("| guest | reads | 1. no limits | 2. noisy guest limited live to %.0f MiB/s "
           "(%.1f per disk) | 3. guest-wide cap of %.0f MiB/s stacked over per-disk limits of "
           "%.0f (both disks through declared group 'cap') |\n",
           limitRate, limitRate / 2, limitRate, limitRate);
    printf("|---|---|---|---|---|\n");
    for (g = 0; g < GUESTS; g++)
        printf("| %s | %s | %.2f MiB/s | %.2f MiB/s | %.2f MiB/s |\n", guests[g].name,
               guests[g].what, rates[0][g], rates[1][g], rates[2][g]);
    for (p = 0; p < PHASES; p++) {
        double sum = 0;

        for (g = 0; g < GUESTS; g++)
            sum += rates[p][g];
        if (p == 0)
            printf("| all | | %.2f MiB/s", sum);
        else
            printf(" | %.2f MiB/s", sum);
    }
    printf(
        " |\n| even split of what the noisy guest leaves | | %.2f MiB/s | %.2f MiB/s | %.2f MiB/s |\n",
        fair[0], fair[1], fair[2]);

    printf("\n| goal | 2. per-disk limits | 3. guest-wide cap |\n|---|---|---|\n");
    printf("| the store saturated in 1: all ≥ 95 %% of its cap of %.0f MiB/s | %.1f %% (%s) | |\n",
           storeRate, 100 * capacity / storeRate, capacity >= 0.95 * storeRate ? "yes" : "no");
    printf(
        "| the quiet guests together ≥ 95 %% of what the store has left | %.1f %% (%s) | %.1f %% (%s) |\n",
        100 * together[1], together[1] >= 0.95 ? "met" : "missed", 100 * together[2],
        together[2] >= 0.95 ? "met" : "missed");
    printf(
        "| each quiet guest ≥ 95 %% of the even split (lowest) | %.1f %% (%s) | %.1f %% (%s) |\n",
        100 * worst[1], worst[1] >= 0.95 ? "met" : "missed", 100 * worst[2],
        worst[2] >= 0.95 ? "met" : "missed");
    printf("| the noisy guest within 2 %% of %.0f MiB/s | %.3f × (%s) | %.3f × (%s) |\n", limitRate,
           rates[1][0] / limitRate, fabs(rates[1][0] / limitRate - 1) <= 0.02 ? "met" : "missed",
           rates[2][0] / limitRate, fabs(rates[2][0] / limitRate - 1) <= 0.02 ? "met" : "missed");
    return 0;
}
