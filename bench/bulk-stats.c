/*
 * bulk-stats: what a monitoring tool pays to read every guest's disks,
 * in one bulk call against one call per disk
 *
 * A session iovirtd runs 1, 10 and 50 guests with two disks each, on
 * fake-qemu (tests/daemon/fake-qemu.c: a QMP peer that answers
 * query-blockstats at once, so what is measured is iovirt's part). For
 * each count, on one connection:
 *   - bulk: one iovConnectGetAllDomainStats (block and iothrottle groups:
 *     every disk's counters and limits);
 *   - per disk: iovDomainBlockStats then iovDomainGetBlockIoThrottle for
 *     every disk (the same information, 4 calls a guest).
 * Each is repeated and its p50 and p99 printed as a Markdown table for
 * bench/README.md.
 *
 *   bench/bulk-stats [--rounds N]
 *
 * --rounds N times each way of reading N times (200 by default), after
 * 10 rounds that are not timed. `meson test -C build bulk-stats-smoke`
 * runs 3 rounds.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iovirt/iovirt.h"
#include "testqemu.h"

static testDaemon d;
static int rounds = 200;

static void
startGuest(iovConnectPtr conn, int n)
{
    g_autofree char *xml = g_strdup_printf(
        "<domain type='qemu'><name>bulk%03d</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
        "<os><kernel>/nonexistent/kernel</kernel></os><devices>"
        "<disk type='file'><source file='/nonexistent/bulk%03d-a.img'/><target dev='vda'/>"
        "<iothrottle bps_rd='1048576'/></disk>"
        "<disk type='file'><source file='/nonexistent/bulk%03d-b.img'/><target dev='vdb'/>"
        "<iothrottle iops_wr='100'/></disk></devices></domain>",
        n, n, n);
    iovDomainPtr dom = iovDomainDefineXML(conn, xml);

    if (!dom || iovDomainCreate(dom) < 0)
        g_error("guest %d: %s", n, iovGetLastErrorMessage());
    iovDomainFree(dom);
}

/* One bulk call: every running guest's counters and limits. */
static void
bulk(iovConnectPtr conn, int guests)
{
    iovDomainStatsRecordPtr *recs = NULL;
    int n = iovConnectGetAllDomainStats(conn, IOV_DOMAIN_STATS_BLOCK | IOV_DOMAIN_STATS_IOTHROTTLE,
                                        &recs, IOV_CONNECT_LIST_DOMAINS_ACTIVE);

    if (n != guests)
        g_error("bulk call: %d records for %d guests: %s", n, guests, iovGetLastErrorMessage());
    iovDomainStatsRecordListFree(recs);
}

/* The same through per-disk calls: counters, then limits, of each disk. */
static void
perDisk(iovDomainPtr *doms, int guests)
{
    static const char *const disks[] = {"vda", "vdb"};
    int g, k;

    for (g = 0; g < guests; g++) {
        for (k = 0; k < 2; k++) {
            iovDomainBlockStatsStruct s;
            iovTypedParameter p[32];
            int np = 32;

            if (iovDomainBlockStats(doms[g], disks[k], &s, sizeof(s)) < 0 ||
                iovDomainGetBlockIoThrottle(doms[g], disks[k], p, &np, 0) < 0)
                g_error("per-disk calls: %s", iovGetLastErrorMessage());
            iovTypedParamsClear(p, np);
        }
    }
}

static void
measure(iovConnectPtr conn, int guests, double out[4])
{
    g_autofree double *b = g_new(double, rounds);
    g_autofree double *p = g_new(double, rounds);
    iovDomainPtr *doms = NULL;
    int i, n;

    n = iovConnectListAllDomains(conn, &doms, IOV_CONNECT_LIST_DOMAINS_ACTIVE);
    g_assert_cmpint(n, ==, guests);
    for (i = 0; i < 10; i++) {
        bulk(conn, guests);
        perDisk(doms, guests);
    }
    for (i = 0; i < rounds; i++) {
        gint64 t0 = g_get_monotonic_time();

        bulk(conn, guests);
        b[i] = (g_get_monotonic_time() - t0) / 1000.0;
        t0 = g_get_monotonic_time();
        perDisk(doms, guests);
        p[i] = (g_get_monotonic_time() - t0) / 1000.0;
    }
    out[0] = testPercentile(b, rounds, 0.5);
    out[1] = testPercentile(b, rounds, 0.99);
    out[2] = testPercentile(p, rounds, 0.5);
    out[3] = testPercentile(p, rounds, 0.99);
    for (i = 0; i < n; i++)
        iovDomainFree(doms[i]);
    free(doms);
}

int
main(int argc, char **argv)
{
    static const int counts[] = {1, 10, 50};
    g_autofree char *conf = NULL;
    g_autofree char *confText = NULL;
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autofree char *date = g_date_time_format(now, "%Y-%m-%d %H:%M UTC");
    const char *args[] = {"--config", NULL, "--log-level", "warning", NULL};
    double res[G_N_ELEMENTS(counts)][4];
    iovConnectPtr conn;
    int started = 0, i;
    size_t c;

    for (i = 1; i < argc; i++) {
        guint64 v;

        if (strcmp(argv[i], "--rounds") != 0) {
            g_printerr("bulk-stats: unknown argument '%s'\nusage: bulk-stats [--rounds N]\n",
                       argv[i]);
            return 2;
        }
        if (i + 1 >= argc) {
            g_printerr("bulk-stats: --rounds needs a value (a count from 1 to 1000000)\n");
            return 2;
        }
        if (!g_ascii_string_to_unsigned(argv[++i], 10, 1, 1000000, &v, NULL)) {
            g_printerr("bulk-stats: --rounds takes a count from 1 to 1000000, not '%s'\n", argv[i]);
            return 2;
        }
        rounds = (int)v;
    }
    conf = g_build_filename(testTmpDir(), "iovirtd.conf", NULL);
    confText = g_strdup_printf("[iovirtd]\nqemu_binary=%s/tests/fake-qemu\n", TEST_BUILD_DIR);
    g_assert_true(g_file_set_contents(conf, confText, -1, NULL));
    args[1] = conf;
    testDaemonStart(&d, "bulk", args);
    if (!(conn = iovConnectOpen(d.uri)))
        g_error("open: %s", iovGetLastErrorMessage());
    for (c = 0; c < G_N_ELEMENTS(counts); c++) {
        while (started < counts[c])
            startGuest(conn, started++);
        testDaemonTrackGuests(&d);
        measure(conn, counts[c], res[c]);
    }
    iovConnectClose(conn);

    printf("Reading every guest's disk counters and limits, %s, %d rounds each, "
           "guests on fake-qemu, two disks each\n\n", date, rounds);
    printf("| guests | disks | bulk call p50 | p99 | per-disk calls | p50 | p99 | per-disk / bulk (p50) |\n");
    printf("|---|---|---|---|---|---|---|---|\n");
    for (c = 0; c < G_N_ELEMENTS(counts); c++)
        printf("| %d | %d | %.2f ms | %.2f ms | %d | %.2f ms | %.2f ms | %.1f |\n", counts[c],
               2 * counts[c], res[c][0], res[c][1], 4 * counts[c], res[c][2], res[c][3],
               res[c][2] / res[c][0]);
    testDaemonStop(&d, SIGTERM);
    return 0;
}
