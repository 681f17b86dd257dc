/*
 * test-events.c: the C API's events against a real daemon over fake-qemu
 * (tests/daemon/fake-qemu.c): callbacks run on the library's thread, in
 * order, once each; a callback may call the API on its own connection; a
 * callback for one domain sees only that domain; after deregistration
 * nothing more comes. In the daemon suite, so that the ThreadSanitizer
 * build checks the library's event thread and the daemon's delivery.
 */
#include <string.h>

#include "iovirt/iovirt.h"
#include "testqemu.h"

static testDaemon d;

static const char *
fakeQEMU(void)
{
    return TEST_BUILD_DIR "/tests/fake-qemu";
}

static char *
domainXML(const char *name)
{
    return g_strdup_printf(
        "<domain type='qemu'><name>%s</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
        "<os><type>hvm</type><kernel>/nonexistent/kernel</kernel></os><devices>"
        "<disk type='file'><source file='/nonexistent/%s.img'/><target dev='vda'/>"
        "</disk></devices></domain>",
        name, name);
}

/* What the callbacks saw, one line an event. */
typedef struct {
    GMutex lock;
    GCond cond;
    GPtrArray *lines; /* lock */
    GThread *thread;  /* lock: the thread of the first callback */
    bool otherThread; /* lock: a callback ran on another thread */
    int stateInCb;    /* lock: the state read from inside a callback */
} seen;

static void
record(seen *s, char *line)
{
    g_mutex_lock(&s->lock);
    if (!s->thread)
        s->thread = g_thread_self();
    else if (s->thread != g_thread_self())
        s->otherThread = true;
    g_ptr_array_add(s->lines, line);
    g_cond_broadcast(&s->cond);
    g_mutex_unlock(&s->lock);
}

static void
onLifecycle(iovConnectPtr conn G_GNUC_UNUSED, iovDomainPtr dom, int event, int detail, void *opaque)
{
    seen *s = opaque;

    /* a callback may call the API on its own connection */
    if (event == IOV_DOMAIN_EVENT_SUSPENDED) {
        int state = -1;

        iovDomainGetState(dom, &state, NULL, 0);
        g_mutex_lock(&s->lock);
        s->stateInCb = state;
        g_mutex_unlock(&s->lock);
    }
    record(s, g_strdup_printf("%s lifecycle %d %d", iovDomainGetName(dom), event, detail));
}

static void
onTunable(iovConnectPtr conn G_GNUC_UNUSED, iovDomainPtr dom, iovTypedParameterPtr params, int n,
          void *opaque)
{
    const char *disk = NULL;
    unsigned long long bps = 0;
    int i;

    for (i = 0; i < n; i++) {
        if (strcmp(params[i].field, IOV_DOMAIN_TUNABLE_BLKDEV_DISK) == 0)
            disk = params[i].value.s;
        else if (strcmp(params[i].field, "blkdeviotune.read_bytes_sec") == 0)
            bps = params[i].value.ul;
    }
    record(opaque, g_strdup_printf("%s tunable %s %llu", iovDomainGetName(dom), disk, bps));
}

/* Wait until `s` has `n` lines (at most 30 s). */
static void
waitLines(seen *s, guint n)
{
    gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;

    g_mutex_lock(&s->lock);
    while (s->lines->len < n && g_cond_wait_until(&s->cond, &s->lock, deadline))
        ;
    g_mutex_unlock(&s->lock);
}

static char *
joined(seen *s)
{
    g_autoptr(GString) out = g_string_new(NULL);
    guint i;

    g_mutex_lock(&s->lock);
    for (i = 0; i < s->lines->len; i++)
        g_string_append_printf(out, "%s\n", (char *)s->lines->pdata[i]);
    g_mutex_unlock(&s->lock);
    return g_string_free(g_steal_pointer(&out), FALSE);
}

static void
seenInit(seen *s)
{
    memset(s, 0, sizeof(*s));
    g_mutex_init(&s->lock);
    g_cond_init(&s->cond);
    s->lines = g_ptr_array_new_with_free_func(g_free);
}

static void
seenClear(seen *s)
{
    g_ptr_array_unref(s->lines);
    g_cond_clear(&s->cond);
    g_mutex_clear(&s->lock);
}

static void
testCallbacksSeeEveryEventInOrder(void)
{
    iovConnectPtr watch = iovConnectOpenReadOnly(d.uri);
    iovConnectPtr conn = iovConnectOpen(d.uri);
    g_autofree char *xml1 = domainXML("cev1");
    g_autofree char *xml2 = domainXML("cev2");
    g_autofree char *all = NULL;
    g_autofree char *one = NULL;
    iovDomainPtr dom, dom2, watched;
    iovTypedParameter p = {0};
    seen s, only;
    int id1, id2, id3;

    g_assert_nonnull(watch);
    g_assert_nonnull(conn);
    seenInit(&s);
    seenInit(&only);
    id1 = iovConnectDomainEventRegisterAny(watch, NULL, IOV_DOMAIN_EVENT_ID_LIFECYCLE,
                                           IOV_DOMAIN_EVENT_CALLBACK(onLifecycle), &s, NULL);
    id2 = iovConnectDomainEventRegisterAny(watch, NULL, IOV_DOMAIN_EVENT_ID_TUNABLE,
                                           IOV_DOMAIN_EVENT_CALLBACK(onTunable), &s, NULL);
    g_assert_cmpint(id1, >=, 0);
    g_assert_cmpint(id2, >, id1);
    g_assert_cmpint(iovConnectDomainEventRegisterAny(
                        watch, NULL, 5, IOV_DOMAIN_EVENT_CALLBACK(onTunable), &s, NULL),
                    ==, -1);

    dom = iovDomainDefineXML(conn, xml1);
    g_assert_nonnull(dom);
    watched = iovDomainLookupByName(watch, "cev1");
    id3 = iovConnectDomainEventRegisterAny(watch, watched, IOV_DOMAIN_EVENT_ID_LIFECYCLE,
                                           IOV_DOMAIN_EVENT_CALLBACK(onLifecycle), &only, NULL);
    g_assert_cmpint(id3, >=, 0);
    dom2 = iovDomainDefineXML(conn, xml2);
    g_assert_nonnull(dom2);
    g_assert_cmpint(iovDomainCreate(dom), ==, 0);
    g_assert_cmpint(iovDomainSuspend(dom), ==, 0);
    /* the suspended callback reads the state while the guest is paused:
     * resume only once it has run (defined twice, started, suspended) */
    waitLines(&s, 4);
    g_assert_cmpint(iovDomainResume(dom), ==, 0);
    g_strlcpy(p.field, "bps_rd", sizeof(p.field));
    p.type = IOV_TYPED_PARAM_ULLONG;
    p.value.ul = 3000000;
    g_assert_cmpint(iovDomainBlockIoThrottle(dom, "vda", &p, 1, IOV_DOMAIN_AFFECT_LIVE), ==, 0);
    g_assert_cmpint(iovDomainDestroy(dom), ==, 0);
    g_assert_cmpint(iovDomainUndefine(dom), ==, 0);
    g_assert_cmpint(iovDomainUndefine(dom2), ==, 0);

    waitLines(&s, 9);
    waitLines(&only, 5);
    all = joined(&s);
    g_assert_cmpstr(all, ==,
                    "cev1 lifecycle 0 0\n" /* defined, added */
                    "cev2 lifecycle 0 0\n"
                    "cev1 lifecycle 2 0\n" /* started, booted */
                    "cev1 lifecycle 3 0\n" /* suspended, paused */
                    "cev1 lifecycle 4 0\n" /* resumed, unpaused */
                    "cev1 tunable vda 3000000\n"
                    "cev1 lifecycle 5 1\n" /* stopped, destroyed */
                    "cev1 lifecycle 1 0\n" /* undefined, removed */
                    "cev2 lifecycle 1 0\n");
    one = joined(&only);
    g_assert_cmpstr(one, ==,
                    "cev1 lifecycle 2 0\n"
                    "cev1 lifecycle 3 0\n"
                    "cev1 lifecycle 4 0\n"
                    "cev1 lifecycle 5 1\n"
                    "cev1 lifecycle 1 0\n");
    g_mutex_lock(&s.lock);
    g_assert_false(s.otherThread);
    g_assert_true(s.thread != g_thread_self());
    g_assert_cmpint(s.stateInCb, ==, IOV_DOMAIN_PAUSED);
    g_mutex_unlock(&s.lock);

    /* once deregistered, nothing more comes */
    g_assert_cmpint(iovConnectDomainEventDeregisterAny(watch, id1), ==, 0);
    g_assert_cmpint(iovConnectDomainEventDeregisterAny(watch, id2), ==, 0);
    g_assert_cmpint(iovConnectDomainEventDeregisterAny(watch, id3), ==, 0);
    g_assert_cmpint(iovConnectDomainEventDeregisterAny(watch, id3), ==, -1);
    iovDomainFree(dom2);
    dom2 = iovDomainDefineXML(conn, xml2);
    g_usleep(200000);
    g_mutex_lock(&s.lock);
    g_assert_cmpuint(s.lines->len, ==, 9);
    g_mutex_unlock(&s.lock);
    g_assert_cmpint(iovDomainUndefine(dom2), ==, 0);

    iovDomainFree(dom2);
    iovDomainFree(dom);
    iovDomainFree(watched);
    iovConnectClose(conn);
    iovConnectClose(watch);
    seenClear(&s);
    seenClear(&only);
}

int
main(int argc, char **argv)
{
    g_autofree char *conf = NULL;
    g_autofree char *confText = NULL;
    const char *args[] = {"--config", NULL, NULL};
    int rc;

    g_test_init(&argc, &argv, NULL);
    conf = g_build_filename(testTmpDir(), "iovirtd.conf", NULL);
    confText = g_strdup_printf("[iovirtd]\nqemu_binary=%s\n", fakeQEMU());
    g_assert_true(g_file_set_contents(conf, confText, -1, NULL));
    args[1] = conf;
    testDaemonStart(&d, "events", args);

    g_test_add_func("/events/callbacks-see-every-event-in-order",
                    testCallbacksSeeEveryEventInOrder);
    rc = g_test_run();
    testDaemonTrackGuests(&d);
    if (d.pid > 0)
        testDaemonStopCleanly(&d);
    return rc;
}
