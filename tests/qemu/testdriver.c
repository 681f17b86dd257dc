/*
 * testdriver.c: helpers for the tests that drive the QEMU driver in process
 */
#include <string.h>

#include "testdriver.h"
#include "testqemu.h"
#include "util/error.h"

qemuDriver *
testDriverOpen(const qemuDriverConfig *cfg)
{
    qemuDriver *drv = qemuDriverNew(cfg);

    if (!drv)
        g_error("qemuDriverNew: %s", utilLastErrorMessage());
    return drv;
}

void
testDriverDefine(qemuDriver *drv, const char *xml, unsigned char *uuid)
{
    qemuDomainIdent ident = {0};

    if (qemuDriverDefineXML(drv, xml, false, &ident) < 0)
        g_error("define: %s", utilLastErrorMessage());
    memcpy(uuid, ident.uuid, 16);
    qemuDomainIdentClear(&ident);
}

void
testDriverStart(qemuDriver *drv, const unsigned char *uuid)
{
    if (qemuDriverCreate(drv, uuid, 0, NULL) < 0)
        g_error("start: %s", utilLastErrorMessage());
    testKillAtExit(qemuDriverGetPid(drv, uuid));
}

void
testDriverWaitShutoff(qemuDriver *drv, const unsigned char *uuid, int timeoutMs)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeoutMs * 1000;

    while (qemuDriverIsActive(drv, uuid) == 1) {
        if (g_get_monotonic_time() > deadline)
            g_error("the domain did not shut off within %d ms", timeoutMs);
        g_usleep(50 * 1000);
    }
}

unsigned long long
testDriverLiveValue(qemuDriver *drv, const unsigned char *uuid, const char *disk, int field)
{
    throttleDef t = {0};
    unsigned long long v;

    g_assert_cmpint(qemuDriverGetBlockIoThrottle(drv, uuid, disk, IOV_DOMAIN_AFFECT_LIVE, &t), ==, 0);
    v = t.v[field];
    throttleDefClear(&t);
    return v;
}

int
testDriverSetLimit(qemuDriver *drv, const unsigned char *uuid, const char *disk, int field,
                   unsigned long long v, unsigned int flags)
{
    throttleChange chg = {0};
    int rc;

    throttleChangeSet(&chg, field, v);
    rc = qemuDriverSetBlockIoThrottle(drv, uuid, disk, &chg, flags, NULL);
    throttleChangeClear(&chg);
    return rc;
}

void
testDriverAssertLiveMatchesQEMU(qemuDriver *drv, const unsigned char *uuid, const char *disk)
{
    throttleDef live = {0}, inQemu = {0};

    g_assert_cmpint(qemuDriverGetBlockIoThrottle(drv, uuid, disk, IOV_DOMAIN_AFFECT_LIVE, &live), ==, 0);
    if (qemuDriverQueryQEMULimits(drv, uuid, disk, &inQemu) < 0)
        g_error("qom-get: %s", utilLastErrorMessage());
    if (!throttleDefSameLimits(&live, &inQemu))
        g_error("disk %s: the live definition differs from QEMU's limits", disk);
    throttleDefClear(&live);
    throttleDefClear(&inQemu);
}
