/*
 * testdriver.c: helpers for the tests that drive the QEMU driver in process
 */
#include <json-c/json.h>
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

/* Append the string member `key` of each element of `array` (and of the
 * devices behind PCI bridges, for query-pci) to `out`. */
static void
collectNames(json_object *array, const char *key, GPtrArray *out)
{
    size_t i;

    for (i = 0; array && i < json_object_array_length(array); i++) {
        json_object *e = json_object_array_get_idx(array, i);
        json_object *v = NULL, *bridge = NULL, *devs = NULL;

        if (json_object_object_get_ex(e, key, &v) && json_object_get_string(v)[0])
            g_ptr_array_add(out, g_strdup(json_object_get_string(v)));
        if (json_object_object_get_ex(e, "devices", &devs))
            collectNames(devs, key, out);
        if (json_object_object_get_ex(e, "pci_bridge", &bridge) &&
            json_object_object_get_ex(bridge, "devices", &devs))
            collectNames(devs, key, out);
    }
}

static gint
cmpNames(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char *
testDriverQemuHolds(qemuDriver *drv, const unsigned char *uuid)
{
    static const char *const queries[][3] = {{"query-named-block-nodes", NULL, "node-name"},
                                             {"qom-list", "/objects", "name"},
                                             {"query-pci", NULL, "qdev_id"}};
    GString *s = g_string_new(NULL);
    size_t q;

    for (q = 0; q < G_N_ELEMENTS(queries); q++) {
        g_autofree char *reply = qemuDriverQMPQuery(drv, uuid, queries[q][0], queries[q][1]);
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        json_object *j;
        guint i;

        if (!reply)
            g_error("%s: %s", queries[q][0], iovGetLastErrorMessage());
        j = json_tokener_parse(reply);
        collectNames(j, queries[q][2], names);
        json_object_put(j);
        g_ptr_array_sort(names, cmpNames);
        g_string_append_printf(s, "%s:", queries[q][0]);
        for (i = 0; i < names->len; i++)
            g_string_append_printf(s, " %s", (char *)names->pdata[i]);
        g_string_append_c(s, '\n');
    }
    return g_string_free(s, FALSE);
}
