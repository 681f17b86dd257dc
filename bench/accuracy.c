/*
 * accuracy: how exactly a limit set by iovirt holds in a real guest
 *
 * For each limit, boots the test guest under TCG with one throttled disk
 * (through the QEMU driver, the limit in force from boot), lets iovprobe
 * read it for 12 s, and divides the rate the guest measured over the 10 s
 * after the first second's burst by the limit. Prints a Markdown table.
 *
 *   bench/accuracy [--runs N]
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

static double
runCase(qemuDriver *drv, const benchCase *c, int n)
{
    g_autofree char *img = g_strdup_printf("%s/acc-%d.img", testTmpDir(), n);
    g_autofree char *serialPath = g_strdup_printf("%s/acc-%d.log", testTmpDir(), n);
    g_autofree char *name = g_strdup_printf("acc%d", n);
    g_autofree char *disk = g_strdup_printf(
        "    <disk type='file'><driver name='qemu' type='raw' cache='none'/><source file='%s'/>"
        "<target dev='vda'/><iothrottle %s='%llu'/></disk>\n",
        img, throttleField(c->field)->name, c->limit);
    g_autofree char *probe = g_strdup_printf("read:vda:bs=%s:time=12", c->bs);
    g_autofree char *xml = testGuestXML(name, probe, "poweroff", serialPath, disk);
    g_autoptr(testSerial) serial = testSerialNew(serialPath);
    qemuDomainIdent ident = {0};
    double rate;

    testMakeImage(img, 256ULL << 20, 256ULL << 20);
    if (qemuDriverDefineXML(drv, xml, false, &ident) < 0 || qemuDriverCreate(drv, ident.uuid, 0, NULL) < 0)
        g_error("%s: %s", c->label, iovGetLastErrorMessage());
    testKillAtExit(qemuDriverGetPid(drv, ident.uuid));
    if (testSerialWaitLine(serial, "IOVPROBE-DONE", 0, 120000) < 0)
        g_error("%s: the probe did not finish", c->label);
    rate = c->field == THROTTLE_IOPS_RD ? testRateOps(serial, 0, 2, 11)
                                        : testRateBytes(serial, 0, 2, 11);
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
    int runs = 1, i, r;
    size_t k;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
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
    printf("Rate the guest measured (O_DIRECT sequential reads, depth 1) over the 10 s\n"
           "after the first second, divided by the limit. Goal: 0.98 to 1.02.\n\n");
    printf("| limit | block size |");
    for (r = 0; r < runs; r++)
        printf(" run %d |", r + 1);
    printf(" in goal |\n|---|---|");
    for (r = 0; r < runs; r++)
        printf("---|");
    printf("---|\n");
    fflush(stdout);
    for (k = 0; k < G_N_ELEMENTS(cases); k++) {
        bool ok = true;

        printf("| %s | %s |", cases[k].label, cases[k].bs);
        for (r = 0; r < runs; r++) {
            double ratio = runCase(drv, &cases[k], (int)k * 100 + r);

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
