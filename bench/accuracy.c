/*
 * accuracy: how exactly a limit set by iovirt holds in a real guest
 *
 * For each limit, boots the test guest under TCG with one throttled disk
 * (through the QEMU driver, the limit in force from boot), lets iovprobe
 * read it for 12 s, and divides the rate the guest measured over the 10 s
 * after the first second's burst by the limit. Prints a Markdown table.
 *
 *   bench/accuracy [--runs N] [--cases N] [--seconds S]
 *
 * --runs N boots each case N times (1 by default); --cases N runs only
 * the first N limits of the table (all 7 by default); --seconds S lets
 * the probe read for S s (12 by default, at least 3) and takes the rate
 * over the S - 2 s after the first second. `meson test -C build
 * accuracy-smoke` runs one case for 3 s.
 */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "qemu/qemu_driver.h"
#include "testqemu.h"
#include "util/error.h"

typedef struct {
    const char *label;
    int field;               /* THROTTLE_BPS_RD or THROTTLE_IOPS_RD */
    unsigned long long limit;
    const char *bs;
} benchCase;

static const benchCase cases[] = {
    {"bps_rd 1 MiB/s", THROTTLE_BPS_RD, 1ULL << 20, "64k"},
    {"bps_rd 4 MiB/s", THROTTLE_BPS_RD, 4ULL << 20, "128k"},
    {"bps_rd 16 MiB/s", THROTTLE_BPS_RD, 16ULL << 20, "512k"},
    {"bps_rd 64 MiB/s", THROTTLE_BPS_RD, 64ULL << 20, "1m"},
    {"iops_rd 50", THROTTLE_IOPS_RD, 50, "4k"},
    {"iops_rd 200", THROTTLE_IOPS_RD, 200, "4k"},
    {"iops_rd 1000", THROTTLE_IOPS_RD, 1000, "4k"},
};

/* Parse the value of the option argv[*i] (argv[*i + 1]) as a whole number
 * from `min` to `max` into *out, and step *i over it. Prints why, naming
 * the option, and returns -1 when the value is missing or is not such a
 * number. */
static int
parseCount(int argc, char **argv, int *i, int min, int max, int *out)
{
    const char *opt = argv[*i];
    guint64 v;

    if (*i + 1 >= argc) {
        g_printerr("accuracy: %s needs a value (a whole number from %d to %d)\n", opt, min, max);
        return -1;
    }
    if (!g_ascii_string_to_unsigned(argv[*i + 1], 10, min, max, &v, NULL)) {
        g_printerr("accuracy: %s takes a whole number from %d to %d, not '%s'\n", opt, min, max,
                   argv[*i + 1]);
        return -1;
    }
    *out = (int)v;
    (*i)++;
    return 0;
}

/* Boot the guest for case `c` (its files and name numbered `n`), let the
 * probe read for `seconds` s, and return the rate it measured over the
 * seconds 2 to `seconds` - 1, divided by the limit. */
static double
runCase(qemuDriver *drv, const benchCase *c, int n, int seconds)
{
    g_autofree char *img = g_strdup_printf("%s/acc-%d.img", testTmpDir(), n);
    g_autofree char *serialPath = g_strdup_printf("%s/acc-%d.log", testTmpDir(), n);
    g_autofree char *name = g_strdup_printf("acc%d", n);
    g_autofree char *disk = g_strdup_printf(
        "    <disk type='file'><driver name='qemu' type='raw' cache='none'/><source file='%s'/>"
        "<target dev='vda'/><iothrottle %s='%llu'/></disk>\n",
        img, throttleField(c->field)->name, c->limit);
    g_autofree char *probe = g_strdup_printf("read:vda:bs=%s:time=%d", c->bs, seconds);
    g_autofree char *xml = testGuestXML(name, probe, "poweroff", serialPath, disk);
    g_autoptr(testSerial) serial = testSerialNew(serialPath);
    qemuDomainIdent ident = {0};
    double rate;

    testMakeImage(img, 256ULL << 20, 256ULL << 20);
    if (qemuDriverDefineXML(drv, xml, false, &ident) < 0 || qemuDriverCreate(drv, ident.uuid, 0, NULL) < 0)
        g_error("%s: %s", c->label, iovGetLastErrorMessage());
    testKillAtExit(qemuDriverGetPid(drv, ident.uuid));
    if (testSerialWaitLine(serial, "IOVPROBE-DONE", 0, 108000 + seconds * 1000) < 0)
        g_error("%s: the probe did not finish", c->label);
    rate = c->field == THROTTLE_IOPS_RD ? testRateOps(serial, 0, 2, seconds - 1)
                                        : testRateBytes(serial, 0, 2, seconds - 1);
    if (qemuDriverIsActive(drv, ident.uuid) == 1)
        qemuDriverDestroy(drv, ident.uuid, 0);
    qemuDriverUndefine(drv, ident.uuid);
    qemuDomainIdentClear(&ident);
    unlink(img);
    return rate / (double)c->limit;
}

int
main(int argc, char **argv)
{
    qemuDriverConfig cfg = {0};
    g_autofree char *configDir = g_strdup_printf("%s/config", testTmpDir());
    g_autofree char *stateDir = g_strdup_printf("%s/run", testTmpDir());
    g_autofree char *logDir = g_strdup_printf("%s/log", testTmpDir());
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autofree char *date = g_date_time_format(now, "%Y-%m-%d %H:%M UTC");
    g_autofree char *cpu = NULL;
    struct utsname u;
    qemuDriver *drv;
    int runs = 1, ncases = G_N_ELEMENTS(cases), seconds = 12, i, r, k;

    for (i = 1; i < argc; i++) {
        int rc;

        if (strcmp(argv[i], "--runs") == 0)
            rc = parseCount(argc, argv, &i, 1, 100, &runs);
        else if (strcmp(argv[i], "--cases") == 0)
            rc = parseCount(argc, argv, &i, 1, G_N_ELEMENTS(cases), &ncases);
        else if (strcmp(argv[i], "--seconds") == 0)
            rc = parseCount(argc, argv, &i, 3, 3600, &seconds);
        else {
            g_printerr("accuracy: unknown argument '%s'\n", argv[i]);
            rc = -1;
        }
        if (rc < 0) {
            g_printerr("usage: accuracy [--runs N] [--cases N] [--seconds S]\n");
            return 2;
        }
    }
    cfg.configDir = configDir;
    cfg.stateDir = stateDir;
    cfg.logDir = logDir;
    if (!(drv = qemuDriverNew(&cfg)))
        g_error("%s", iovGetLastErrorMessage());
    uname(&u);
    if (g_file_get_contents("/proc/cpuinfo", &cpu, NULL, NULL)) {
        char *m = strstr(cpu, "model name");
        char *colon = m ? strchr(m, ':') : NULL;
        char *nl = colon ? strchr(colon, '\n') : NULL;

        if (nl)
            *nl = '\0';
        memmove(cpu, colon ? colon + 2 : "unknown", strlen(colon ? colon + 2 : "unknown") + 1);
    }
    printf("Accuracy of limits in a TCG guest, %s, %s, %ld cores, kernel %s\n\n", date,
           cpu ? cpu : "?", sysconf(_SC_NPROCESSORS_ONLN), u.release);
    printf("Rate the guest measured (O_DIRECT sequential reads, depth 1) over the %d s\n"
           "after the first second, divided by the limit. Goal: 0.98 to 1.02.\n\n",
           seconds - 2);
    printf("| limit | block size |");
    for (r = 0; r < runs; r++)
        printf(" run %d |", r + 1);
    printf(" in goal |\n|---|---|");
    for (r = 0; r < runs; r++)
        printf("---|");
    printf("---|\n");
    fflush(stdout);
    for (k = 0; k < ncases; k++) {
        bool ok = true;

        printf("| %s | %s |", cases[k].label, cases[k].bs);
        for (r = 0; r < runs; r++) {
            double ratio = runCase(drv, &cases[k], k * 100 + r, seconds);

            ok = ok && ratio >= 0.98 && ratio <= 1.02;
            printf(" %.3f |", ratio);
            fflush(stdout);
        }
        printf(" %s |\n", ok ? "yes" : "no");
        fflush(stdout);
    }
    qemuDriverFree(drv);
    return 0;
}
