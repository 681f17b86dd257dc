/*
 * test-jobs.c: what waits for what in a real iovirtd
 *
 * The daemon runs its guests with fake-qemu (tests/daemon/fake-qemu.c) as
 * its QEMU binary, which can be told to take its time over every qom-set.
 * While a limit change is inside QEMU holding the domain's job:
 *   - queries (state, XML, limits, list, info) answer at once;
 *   - a define of the same domain waits for the change and then stands:
 *     the change's saved limits do not undo it (the lost update);
 *   - a second change waits for the first.
 * The daemon has two workers: when both wait inside QEMU (changes of the
 * definition too, which workers run), the quick queries (lookup, state,
 * limits, list) are still answered, by the socket thread, and the others
 * wait for a worker. A live change begun by the socket thread needs no
 * worker: it reaches QEMU meanwhile, ends for a client that went away,
 * and a daemon told to stop ends it first.
 * And CONNECT_GET_VERSION reports the configured binary's version (its
 * first call defers itself from the socket thread to a worker, as it runs
 * the binary).
 */
#include <signal.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <iovirt/iovirt.h>

#include "testqemu.h"

#define SLOW_MS 1500

static testDaemon d;
static char *markPath;

static const char *
fakeQEMU(void)
{
    return TEST_BUILD_DIR "/tests/fake-qemu";
}

static char *
domainXML(const char *name, unsigned int memMiB, unsigned long long bpsRd)
{
    return g_strdup_printf(
        "<domain type='qemu'><name>%s</name><memory unit='MiB'>%u</memory><vcpu>1</vcpu>"
        "<os><type>hvm</type><kernel>/nonexistent/kernel</kernel></os><devices>"
        "<disk type='file'><source file='/nonexistent/%s.img'/><target dev='vda'/>"
        "<iothrottle bps_rd='%llu'/></disk></devices></domain>",
        name, memMiB, name, bpsRd);
}

static iovConnectPtr
openConn(void)
{
    iovConnectPtr conn = iovConnectOpen(d.uri);

    if (!conn)
        g_error("open %s: %s", d.uri, iovGetLastErrorMessage());
    return conn;
}

/* Define and start `name` under fake-qemu. */
static iovDomainPtr
startDomain(iovConnectPtr conn, const char *name)
{
    g_autofree char *xml = domainXML(name, 64, 1000);
    iovDomainPtr dom = iovDomainDefineXML(conn, xml);

    if (!dom || iovDomainCreate(dom) < 0)
        g_error("define/start %s: %s", name, iovGetLastErrorMessage());
    /* killed at exit, also when an assertion fails */
    testDaemonTrackGuests(&d);
    return dom;
}

typedef struct {
    iovDomainPtr dom;
    unsigned long long bpsRd;
    unsigned int flags;
    int rc;
    gint64 endedAt; /* monotonic us */
    gint done;      /* atomic */
} setCall;

static gpointer
setInThread(gpointer data)
{
    setCall *c = data;
    iovTypedParameter p = {0};

    g_strlcpy(p.field, "bps_rd", sizeof(p.field));
    p.type = IOV_TYPED_PARAM_ULLONG;
    p.value.ul = c->bpsRd;
    c->rc = iovDomainBlockIoThrottle(c->dom, "vda", &p, 1, c->flags);
    c->endedAt = g_get_monotonic_time();
    g_atomic_int_set(&c->done, 1);
    return NULL;
}

/* Start a slow limit change in a thread and return once fake-qemu has
 * received its qom-set: from then on the change holds the job. */
static GThread *
startSlowSet(setCall *c)
{
    GThread *th;

    unlink(markPath);
    th = g_thread_new("set", setInThread, c);
    if (!testWaitPath(markPath, 10000))
        g_error("the limit change never reached QEMU");
    return th;
}

static unsigned long long
liveBpsRd(iovDomainPtr dom, unsigned int flags)
{
    iovTypedParameter params[32];
    int n = 32, i;
    unsigned long long v = 0;

    if (iovDomainGetBlockIoThrottle(dom, "vda", params, &n, flags) < 0)
        g_error("get limits: %s", iovGetLastErrorMessage());
    for (i = 0; i < n; i++) {
        if (strcmp(params[i].field, "bps_rd") == 0)
            v = params[i].value.ul;
    }
    iovTypedParamsClear(params, n);
    return v;
}

static void
testVersionComesFromTheConfiguredBinary(void)
{
    iovConnectPtr conn = openConn();
    unsigned long long v = 0;

    g_assert_cmpint(iovConnectGetVersion(conn, &v), ==, 0);
    g_assert_cmpuint(v, ==, 7002090);
    iovConnectClose(conn);
}

/* block.0.rd.reqs of `name` in one bulk statistics call, checking the
 * limits it reports are the last published ones (bps_rd 1000). */
static unsigned long long
bulkReadReqs(iovConnectPtr conn, const char *name)
{
    iovDomainStatsRecordPtr *recs = NULL;
    unsigned long long reqs = 0, bpsRd = 0;
    int n, i, found = 0;

    n = iovConnectGetAllDomainStats(conn, IOV_DOMAIN_STATS_BLOCK | IOV_DOMAIN_STATS_IOTHROTTLE,
                                    &recs, IOV_CONNECT_LIST_DOMAINS_ACTIVE);
    g_assert_cmpint(n, >=, 1);
    for (i = 0; i < n; i++) {
        if (strcmp(iovDomainGetName(recs[i]->dom), name) != 0)
            continue;
        found++;
        g_assert_cmpint(iovTypedParamsGetULLong(recs[i]->params, recs[i]->nparams,
                                                "block.0.rd.reqs", &reqs), ==, 1);
        g_assert_cmpint(iovTypedParamsGetULLong(recs[i]->params, recs[i]->nparams,
                                                "iothrottle.0.bps_rd", &bpsRd), ==, 1);
        g_assert_cmpuint(bpsRd, ==, 1000);
    }
    g_assert_cmpint(found, ==, 1);
    iovDomainStatsRecordListFree(recs);
    return reqs;
}

static void
testQueriesDoNotWaitForAChange(void)
{
    iovConnectPtr conn = openConn();
    iovDomainPtr dom = startDomain(conn, "q1");
    iovDomainPtr *list = NULL;
    setCall c = {.dom = dom, .bpsRd = 5000, .flags = IOV_DOMAIN_AFFECT_LIVE};
    iovDomainInfo info;
    unsigned long long reqsBefore = 0, reqsDuring = 0;
    GThread *th;
    g_autofree char *xml = NULL;
    int state = -1, reason, n, i;

    /* a bulk query before the change: its counters are the last known */
    reqsBefore = bulkReadReqs(conn, "q1");
    th = startSlowSet(&c);

    /* every query answers while the change is inside QEMU */
    g_assert_cmpint(iovDomainGetState(dom, &state, &reason, 0), ==, 0);
    g_assert_cmpint(state, ==, IOV_DOMAIN_RUNNING);
    xml = iovDomainGetXMLDesc(dom, 0);
    g_assert_nonnull(xml);
    /* the last published limits: the change is not visible yet */
    g_assert_cmpuint(liveBpsRd(dom, IOV_DOMAIN_AFFECT_LIVE), ==, 1000);
    g_assert_cmpint(iovDomainGetInfo(dom, &info), ==, 0);
    n = iovConnectListAllDomains(conn, &list, 0);
    g_assert_cmpint(n, >=, 1);
    /* bulk statistics neither wait for the job nor for QEMU's monitor,
     * busy with the change: the last counters come back */
    reqsDuring = bulkReadReqs(conn, "q1");
    g_assert_cmpuint(reqsDuring, ==, reqsBefore);
    g_assert_cmpint(g_atomic_int_get(&c.done), ==, 0);

    g_thread_join(th);
    g_assert_cmpint(c.rc, ==, 0);
    g_assert_cmpuint(liveBpsRd(dom, IOV_DOMAIN_AFFECT_LIVE), ==, 5000);
    for (i = 0; i < n; i++)
        iovDomainFree(list[i]);
    free(list);
    iovDomainDestroy(dom);
    iovDomainFree(dom);
    iovConnectClose(conn);
}

/* Every worker waits in QEMU: two slow changes of two domains, live and
 * saved (a worker runs those). The quick queries answer meanwhile; a
 * query that needs a worker waits for the first change to end. */
static void
testQuickQueriesWhenEveryWorkerWaits(void)
{
    iovConnectPtr conn = openConn();
    iovDomainPtr dom1 = startDomain(conn, "busy1");
    iovDomainPtr dom2 = startDomain(conn, "busy2");
    iovDomainPtr found, *list = NULL;
    setCall c1 = {.dom = dom1, .bpsRd = 3000,
                  .flags = IOV_DOMAIN_AFFECT_LIVE | IOV_DOMAIN_AFFECT_CONFIG};
    setCall c2 = {.dom = dom2, .bpsRd = 4000,
                  .flags = IOV_DOMAIN_AFFECT_LIVE | IOV_DOMAIN_AFFECT_CONFIG};
    GThread *th1, *th2;
    gint64 firstInQemu, answered;
    g_autofree char *xml = NULL;
    int state = -1, reason, n, i;

    th1 = startSlowSet(&c1);
    firstInQemu = g_get_monotonic_time();
    th2 = startSlowSet(&c2);

    found = iovDomainLookupByName(conn, "busy2");
    g_assert_nonnull(found);
    g_assert_cmpint(iovDomainIsActive(found), ==, 1);
    g_assert_cmpint(iovDomainGetState(found, &state, &reason, 0), ==, 0);
    g_assert_cmpint(state, ==, IOV_DOMAIN_RUNNING);
    g_assert_cmpuint(liveBpsRd(found, IOV_DOMAIN_AFFECT_LIVE), ==, 1000);
    n = iovConnectListAllDomains(conn, &list, 0);
    g_assert_cmpint(n, >=, 2);
    g_assert_cmpint(g_atomic_int_get(&c1.done), ==, 0);
    g_assert_cmpint(g_atomic_int_get(&c2.done), ==, 0);

    /* not quick: it waits for a worker, freed when the first change ends */
    xml = iovDomainGetXMLDesc(found, 0);
    answered = g_get_monotonic_time();
    g_assert_nonnull(xml);
    g_assert_cmpint(answered - firstInQemu, >=, (SLOW_MS - 300) * 1000);

    g_thread_join(th1);
    g_thread_join(th2);
    g_assert_cmpint(c1.rc, ==, 0);
    g_assert_cmpint(c2.rc, ==, 0);
    g_assert_cmpuint(liveBpsRd(found, IOV_DOMAIN_AFFECT_LIVE), ==, 4000);
    for (i = 0; i < n; i++)
        iovDomainFree(list[i]);
    free(list);
    iovDomainFree(found);
    iovDomainDestroy(dom1);
    iovDomainDestroy(dom2);
    iovDomainFree(dom1);
    iovDomainFree(dom2);
    iovConnectClose(conn);
}

typedef struct {
    iovConnectPtr conn;
    const char *xml;
    int rc;
    gint64 endedAt;
} defineCall;

static gpointer
defineInThread(gpointer data)
{
    defineCall *c = data;
    iovDomainPtr dom = iovDomainDefineXML(c->conn, c->xml);

    c->rc = dom ? 0 : -1;
    c->endedAt = g_get_monotonic_time();
    if (dom)
        iovDomainFree(dom);
    return NULL;
}

static void
testDefineDuringAChangeIsNotUndone(void)
{
    iovConnectPtr conn = openConn();
    iovDomainPtr dom = startDomain(conn, "lost1");
    setCall c = {.dom = dom, .bpsRd = 7000,
                 .flags = IOV_DOMAIN_AFFECT_LIVE | IOV_DOMAIN_AFFECT_CONFIG};
    g_autofree char *newXML = domainXML("lost1", 96, 1000);
    defineCall dc = {.conn = conn, .xml = newXML};
    g_autofree char *saved = NULL;
    GThread *th = startSlowSet(&c);
    GThread *dth = g_thread_new("define", defineInThread, &dc);

    g_thread_join(dth);
    g_thread_join(th);
    g_assert_cmpint(c.rc, ==, 0);
    g_assert_cmpint(dc.rc, ==, 0);
    /* the define waited for the change, then replaced the definition */
    g_assert_cmpint(dc.endedAt, >=, c.endedAt);
    saved = iovDomainGetXMLDesc(dom, IOV_DOMAIN_XML_INACTIVE);
    g_assert_nonnull(strstr(saved, "98304"));
    /* the define's own limits are what is saved; the live change stays */
    g_assert_cmpuint(liveBpsRd(dom, IOV_DOMAIN_AFFECT_CONFIG), ==, 1000);
    g_assert_cmpuint(liveBpsRd(dom, IOV_DOMAIN_AFFECT_LIVE), ==, 7000);
    iovDomainDestroy(dom);
    iovDomainFree(dom);
    iovConnectClose(conn);
}

static void
testSecondChangeWaitsForTheFirst(void)
{
    iovConnectPtr conn = openConn();
    iovDomainPtr dom = startDomain(conn, "two1");
    setCall first = {.dom = dom, .bpsRd = 8000, .flags = IOV_DOMAIN_AFFECT_LIVE};
    setCall second = {.dom = dom, .bpsRd = 9000, .flags = IOV_DOMAIN_AFFECT_LIVE};
    GThread *th1 = startSlowSet(&first);
    GThread *th2 = g_thread_new("set2", setInThread, &second);

    g_thread_join(th1);
    g_thread_join(th2);
    g_assert_cmpint(first.rc, ==, 0);
    g_assert_cmpint(second.rc, ==, 0);
    /* the second took the job after the first released it */
    g_assert_cmpint(second.endedAt - first.endedAt, >=, (SLOW_MS - 100) * 1000);
    g_assert_cmpuint(liveBpsRd(dom, IOV_DOMAIN_AFFECT_LIVE), ==, 9000);
    iovDomainDestroy(dom);
    iovDomainFree(dom);
    iovConnectClose(conn);
}

/* Both workers wait in QEMU (live and saved changes); a live-only change
 * of a third domain is begun by the socket thread: it reaches QEMU at
 * once, not once a worker is free, and ends as any change does. */
static void
testLiveSetNeedsNoWorker(void)
{
    iovConnectPtr conn = openConn();
    iovDomainPtr dom1 = startDomain(conn, "nw1");
    iovDomainPtr dom2 = startDomain(conn, "nw2");
    iovDomainPtr dom3 = startDomain(conn, "nw3");
    setCall c1 = {.dom = dom1, .bpsRd = 3100,
                  .flags = IOV_DOMAIN_AFFECT_LIVE | IOV_DOMAIN_AFFECT_CONFIG};
    setCall c2 = {.dom = dom2, .bpsRd = 3200,
                  .flags = IOV_DOMAIN_AFFECT_LIVE | IOV_DOMAIN_AFFECT_CONFIG};
    setCall c3 = {.dom = dom3, .bpsRd = 3300, .flags = IOV_DOMAIN_AFFECT_LIVE};
    GThread *th1, *th2, *th3;
    gint64 asked, inQemu;

    th1 = startSlowSet(&c1);
    th2 = startSlowSet(&c2);
    asked = g_get_monotonic_time();
    th3 = startSlowSet(&c3);
    inQemu = g_get_monotonic_time();
    /* with a worker it would wait for one: SLOW_MS less the time since
     * the first two reached QEMU */
    g_assert_cmpint(inQemu - asked, <, (SLOW_MS / 2) * 1000);
    g_assert_cmpint(g_atomic_int_get(&c1.done), ==, 0);
    g_assert_cmpint(g_atomic_int_get(&c2.done), ==, 0);
    g_thread_join(th1);
    g_thread_join(th2);
    g_thread_join(th3);
    g_assert_cmpint(c1.rc, ==, 0);
    g_assert_cmpint(c2.rc, ==, 0);
    g_assert_cmpint(c3.rc, ==, 0);
    g_assert_cmpuint(liveBpsRd(dom3, IOV_DOMAIN_AFFECT_LIVE), ==, 3300);
    /* live only: the saved definition keeps its limit */
    g_assert_cmpuint(liveBpsRd(dom3, IOV_DOMAIN_AFFECT_CONFIG), ==, 1000);
    iovDomainDestroy(dom1);
    iovDomainDestroy(dom2);
    iovDomainDestroy(dom3);
    iovDomainFree(dom1);
    iovDomainFree(dom2);
    iovDomainFree(dom3);
    iovConnectClose(conn);
}

/* A live change whose client is killed while QEMU holds it still ends:
 * QEMU's limits and the live definition agree, and the next change of
 * the domain gets its job. */
static void
testLiveSetOfAClientThatWentAway(void)
{
    iovConnectPtr conn = openConn();
    iovDomainPtr dom = startDomain(conn, "gone1");
    const char *argv[] = {TEST_BUILD_DIR "/tools/iovsh", "-c", d.uri, "blkiothrottle", "gone1",
                          "vda", "--live", "--bps_rd", "4100", NULL};
    setCall next = {.dom = dom, .bpsRd = 4200, .flags = IOV_DOMAIN_AFFECT_LIVE};
    g_autoptr(GError) err = NULL;
    GThread *th;
    GPid pid;

    unlink(markPath);
    g_assert_true(g_spawn_async(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                &pid, &err));
    g_assert_true(testWaitPath(markPath, 10000));
    g_assert_cmpint(kill(pid, SIGKILL), ==, 0);
    g_spawn_close_pid(pid);
    waitpid(pid, NULL, 0);
    /* the killed client's change ends, then this one takes the job */
    th = startSlowSet(&next);
    g_thread_join(th);
    g_assert_cmpint(next.rc, ==, 0);
    g_assert_cmpuint(liveBpsRd(dom, IOV_DOMAIN_AFFECT_LIVE), ==, 4200);
    iovDomainDestroy(dom);
    iovDomainFree(dom);
    iovConnectClose(conn);
}

/* Last: the daemon ends with status 0 and no sanitizer report, after
 * every job, event and status write above. */
static void
testDaemonEndsCleanly(void)
{
    iovConnectPtr conn = openConn();
    iovDomainPtr dom = startDomain(conn, "last1");
    setCall c = {.dom = dom, .bpsRd = 5100, .flags = IOV_DOMAIN_AFFECT_LIVE};
    GThread *th;

    /* a live change inside QEMU when the daemon is told to stop: it ends
     * first, and its client gets the answer */
    th = startSlowSet(&c);
    testDaemonTrackGuests(&d);
    testDaemonStopCleanly(&d);
    g_thread_join(th);
    g_assert_cmpint(c.rc, ==, 0);
    iovDomainFree(dom);
    iovConnectClose(conn);
}

int
main(int argc, char **argv)
{
    g_autofree char *conf = NULL;
    g_autofree char *confText = NULL;
    g_autofree char *slow = g_strdup_printf("%d", SLOW_MS);
    const char *args[] = {"--config", NULL, NULL};
    int rc;

    g_test_init(&argc, &argv, NULL);
    conf = g_build_filename(testTmpDir(), "iovirtd.conf", NULL);
    confText = g_strdup_printf("[iovirtd]\nqemu_binary=%s\nworkers=2\n", fakeQEMU());
    g_assert_true(g_file_set_contents(conf, confText, -1, NULL));
    args[1] = conf;
    markPath = g_build_filename(testTmpDir(), "qom-set.mark", NULL);
    /* fake-qemu inherits the daemon's environment */
    g_setenv("FAKE_QEMU_SLOW_MS", slow, TRUE);
    g_setenv("FAKE_QEMU_MARK", markPath, TRUE);
    testDaemonStart(&d, "jobs", args);

    g_test_add_func("/jobs/version-of-the-configured-binary", testVersionComesFromTheConfiguredBinary);
    g_test_add_func("/jobs/queries-do-not-wait", testQueriesDoNotWaitForAChange);
    g_test_add_func("/jobs/define-during-a-change-stands", testDefineDuringAChangeIsNotUndone);
    g_test_add_func("/jobs/second-change-waits", testSecondChangeWaitsForTheFirst);
    g_test_add_func("/jobs/quick-queries-when-every-worker-waits",
                    testQuickQueriesWhenEveryWorkerWaits);
    g_test_add_func("/jobs/live-set-needs-no-worker", testLiveSetNeedsNoWorker);
    g_test_add_func("/jobs/live-set-of-a-client-that-went-away",
                    testLiveSetOfAClientThatWentAway);
    g_test_add_func("/jobs/daemon-ends-cleanly", testDaemonEndsCleanly);
    rc = g_test_run();
    testDaemonTrackGuests(&d);
    if (d.pid > 0)
        testDaemonStop(&d, SIGTERM);
    return rc;
}
