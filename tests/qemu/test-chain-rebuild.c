/*
 * test-chain-rebuild.c: a disk's chain of throttle filters changed while
 * QEMU runs (qemuProcessApplyThrottle rebuilding it with blockdev-add,
 * one blockdev-reopen and blockdev-del), against the real QEMU.
 *
 * QEMU starts paused (-S, no guest kernel) from qemuBuildCommandLine for
 * a domain declaring groups a, b and c, whose disk vda passes through
 * none. The disk's chain is moved between every two of a set of chains
 * (added, removed, reordered, switched), and after each move QEMU's block
 * nodes are read back: exactly the nodes of the new chain, each over the
 * group of its step, down to the format node. Then each step QEMU can
 * refuse is made to fail for real (a blockdev-add whose node name is
 * taken, a blockdev-reopen with a member QEMU does not know, a
 * blockdev-del of a node something else still uses): the chain must be
 * back as it was, with nothing left over, and the error must name the
 * step and the node. QEMU is killed at the end, also when the test fails
 * (testqemu.c), and its files go with the test's directory.
 */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "qemu/qemu_command.h"
#include "qemu/qemu_process.h"
#include "testqemu.h"
#include "util/error.h"


/* The domain, its disk vda passing through `chain` ("a,b"; "" none)
 * after its own limits, shared by group= `own` when not NULL. */
static domainDef *
parseWithOwn(const char *image, const char *chain, const char *own)
{
    g_auto(GStrv) groups = g_strsplit(chain, ",", -1);
    g_autoptr(GString) filters = g_string_new(NULL);
    g_autofree char *xml = NULL;
    domainDef *def;
    char **g;

    for (g = groups; *g; g++) {
        if (**g)
            g_string_append_printf(filters, "<throttlefilter group='%s'/>", *g);
    }
    xml = g_strdup_printf(
        "<domain type='qemu'><name>rebuild</name><memory unit='MiB'>64</memory>"
        "<throttlegroups><throttlegroup name='a' bps_rd='10485760'/>"
        "<throttlegroup name='b' iops='500'/><throttlegroup name='c' bps='4194304'/>"
        "</throttlegroups><devices><disk type='file'><source file='%s'/><target dev='vda'/>"
        "<iothrottle bps_rd='8388608'%s%s%s/>%s%s%s</disk></devices></domain>",
        image, own ? " group='" : "", own ? own : "", own ? "'" : "",
        filters->len ? "<throttlefilters>" : "", filters->str,
        filters->len ? "</throttlefilters>" : "");
    if (!(def = domainDefParseString(xml, 0, NULL)))
        g_error("%s", iovGetLastErrorMessage());
    return def;
}

static gint
compareNames(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static domainDef *
parse(const char *image, const char *chain)
{
    return parseWithOwn(image, chain, NULL);
}

/*
 * What QEMU holds for vda: the groups of its chain from the device down
 * ("tg-vda,tgg-a,..."), read from the nesting of throttle-vda's
 * description, and its throttle nodes by name, sorted
 * ("throttle-vda throttle-vda-1 ...").
 */
static void
readChain(qemuMonitor *mon, char **groups, char **nodes)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GString) chain = g_string_new(NULL);
    json_object *ret = NULL;
    json_object *desc = NULL;
    size_t i;

    g_assert_cmpint(qemuMonitorCommand(mon, "query-named-block-nodes", NULL, &ret), ==, 0);
    for (i = 0; i < json_object_array_length(ret); i++) {
        json_object *n = json_object_array_get_idx(ret, i);
        const char *name = json_object_get_string(json_object_object_get(n, "node-name"));
        json_object *image = json_object_object_get(n, "image");
        const char *file = json_object_get_string(json_object_object_get(image, "filename"));

        if (strcmp(name, "throttle-vda") == 0) {
            g_assert_true(g_str_has_prefix(file, "json:"));
            desc = json_tokener_parse(file + 5);
        }
        if (g_str_has_prefix(name, "throttle-vda"))
            g_ptr_array_add(names, g_strdup(name));
    }
    json_object_put(ret);
    g_assert_nonnull(desc);
    for (ret = desc; json_object_is_type(ret, json_type_object);
         ret = json_object_object_get(ret, "file")) {
        const char *driver = json_object_get_string(json_object_object_get(ret, "driver"));

        if (g_strcmp0(driver, "throttle") != 0)
            break;
        if (chain->len)
            g_string_append_c(chain, ',');
        g_string_append(chain,
                        json_object_get_string(json_object_object_get(ret, "throttle-group")));
    }
    json_object_put(desc);
    g_ptr_array_sort(names, compareNames);
    *groups = g_string_free(g_steal_pointer(&chain), FALSE);
    g_ptr_array_add(names, NULL);
    *nodes = g_strjoinv(" ", (char **)names->pdata);
}

/* What QEMU must hold for vda passing through `chain` after its own
 * group object `own`. */
static void
expectChainOwn(qemuMonitor *mon, const char *chain, const char *own)
{
    g_auto(GStrv) groups = g_strsplit(chain, ",", -1);
    g_autoptr(GString) wantGroups = g_string_new(own);
    g_autoptr(GString) wantNodes = g_string_new("throttle-vda");
    g_autofree char *gotGroups = NULL;
    g_autofree char *gotNodes = NULL;
    size_t step = 0;
    char **g;

    for (g = groups; *g; g++) {
        if (!**g)
            continue;
        g_string_append_printf(wantGroups, ",tgg-%s", *g);
        g_string_append_printf(wantNodes, " throttle-vda-%zu", ++step);
    }
    readChain(mon, &gotGroups, &gotNodes);
    g_assert_cmpstr(gotGroups, ==, wantGroups->str);
    g_assert_cmpstr(gotNodes, ==, wantNodes->str);
}

static void
expectChain(qemuMonitor *mon, const char *chain)
{
    expectChainOwn(mon, chain, "tg-vda");
}

static bool
objectExists(qemuMonitor *mon, const char *id)
{
    throttleDef t = {0};
    int rc = qemuMonitorGetThrottleLimits(mon, id, &t);

    throttleDefClear(&t);
    utilResetError();
    return rc == 0;
}

typedef struct {
    char *image;
    pid_t pid;
    qemuDomainObj *obj;
} fixture;

/* A QEMU of the domain, paused, in a directory of its own under the
 * test's (testqemu.c removes it, and kills QEMU, when the test ends). */
static void
startQemu(fixture *f)
{
    g_autofree char *qemu = g_find_program_in_path("qemu-system-x86_64");
    g_autofree char *dir = g_build_filename(testTmpDir(), "rebuild-XXXXXX", NULL);
    g_autofree char *sock = NULL;
    g_autofree char *pidfile = NULL;
    g_autofree char *serial = NULL;
    g_autofree char *log = NULL;
    qemuCommandParams p = {0};
    g_auto(GStrv) argv = NULL;
    unsigned char uuid[16] = {2};

    g_assert_nonnull(qemu);
    g_assert_nonnull(g_mkdtemp(dir));
    f->image = g_build_filename(dir, "a.img", NULL);
    sock = g_build_filename(dir, "qmp.sock", NULL);
    pidfile = g_build_filename(dir, "qemu.pid", NULL);
    serial = g_build_filename(dir, "serial.log", NULL);
    log = g_build_filename(dir, "qemu.log", NULL);
    testMakeImage(f->image, 16 << 20, 0);
    p.binary = qemu;
    p.monitorPath = sock;
    p.pidfilePath = pidfile;
    p.serialLogPath = serial;
    f->obj = qemuDomainObjNew("rebuild", uuid);
    f->obj->live = parse(f->image, "");
    g_assert_nonnull((argv = qemuBuildCommandLine(f->obj->live, &p)));
    f->pid = testStartProcess((const char *const *)argv, log);
    if (!(f->obj->mon = qemuMonitorOpen(sock, 20000, NULL, NULL)))
        g_error("%s", iovGetLastErrorMessage());
}

static void
stopQemu(fixture *f)
{
    qemuMonitorClose(g_steal_pointer(&f->obj->mon));
    kill(f->pid, SIGKILL);
    g_assert_cmpint(waitpid(f->pid, NULL, 0), ==, f->pid);
    testForgetPid(f->pid);
    qemuDomainObjUnref(f->obj);
    g_free(f->image);
}

/* Move vda to `chain`: 0 and published, or -1 and nothing published. */
static int
moveTo(fixture *f, const char *chain)
{
    domainDef *to = parse(f->image, chain);

    if (qemuProcessApplyThrottle(f->obj, f->obj->live, to) < 0) {
        domainDefFree(to);
        return -1;
    }
    domainDefFree(f->obj->live);
    f->obj->live = to;
    return 0;
}

static void
command(qemuMonitor *mon, const char *json)
{
    json_object *args = json_tokener_parse(json);
    json_object *cmd = json_object_object_get(args, "execute");
    json_object *arguments = json_object_object_get(args, "arguments");

    g_assert_cmpint(qemuMonitorCommand(mon, json_object_get_string(cmd),
                                       arguments ? json_object_get(arguments) : NULL, NULL),
                    ==, 0);
    json_object_put(args);
}

static void
testEveryMoveBetweenChains(void)
{
    static const char *const chains[] = {"", "a", "b", "a,b", "b,a", "a,b,c", "c,b,a", "c"};
    fixture f = {0};
    size_t i, j;

    startQemu(&f);
    expectChain(f.obj->mon, "");
    for (i = 0; i < G_N_ELEMENTS(chains); i++) {
        for (j = 0; j < G_N_ELEMENTS(chains); j++) {
            if (i == j)
                continue;
            if (moveTo(&f, chains[i]) < 0 || moveTo(&f, chains[j]) < 0)
                g_error("%s -> %s: %s", chains[i], chains[j], iovGetLastErrorMessage());
            expectChain(f.obj->mon, chains[j]);
        }
    }
    /* the declared groups were never touched: all three still exist */
    g_assert_cmpint(qemuMonitorCommand(f.obj->mon, "qom-list",
                                       json_tokener_parse("{\"path\":\"/objects/tgg-c\"}"), NULL),
                    ==, 0);
    stopQemu(&f);
}

static void
testEachRefusedStepIsUndone(void)
{
    fixture f = {0};

    startQemu(&f);

    /* blockdev-add refused half way: a node already has the name of
     * step 1, after step 2 was added */
    command(f.obj->mon, "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"null-co\","
                        "\"node-name\":\"throttle-vda-1\"}}");
    g_assert_cmpint(moveTo(&f, "a,b"), ==, -1);
    g_assert_nonnull(strstr(iovGetLastErrorMessage(),
                            "disk 'vda': cannot change its throttle filters: blockdev-add of "
                            "node 'throttle-vda-1': "));
    command(f.obj->mon, "{\"execute\":\"blockdev-del\",\"arguments\":{\"node-name\":"
                        "\"throttle-vda-1\"}}");
    expectChain(f.obj->mon, "");

    /* blockdev-reopen refused, after the new step was added */
    g_assert_cmpint(moveTo(&f, "a"), ==, 0);
    g_setenv("IOVIRT_TEST_FAIL_CHAIN_REOPEN", "1", TRUE);
    g_assert_cmpint(moveTo(&f, "b,a"), ==, -1);
    g_unsetenv("IOVIRT_TEST_FAIL_CHAIN_REOPEN");
    g_assert_nonnull(strstr(iovGetLastErrorMessage(),
                            "disk 'vda': cannot change its throttle filters: blockdev-reopen of "
                            "node 'throttle-vda-1': unable to execute QEMU command "
                            "'blockdev-reopen': Parameter 'options[0].x-iovirt-fault' is "
                            "unexpected"));
    expectChain(f.obj->mon, "a");

    /* blockdev-del refused, after the reopen: another user holds the old
     * step, so the chain is reopened back */
    g_assert_cmpint(moveTo(&f, "a,b"), ==, 0);
    command(f.obj->mon, "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"raw\","
                        "\"node-name\":\"holder\",\"file\":\"throttle-vda-2\"}}");
    g_assert_cmpint(moveTo(&f, "b"), ==, -1);
    g_assert_nonnull(strstr(iovGetLastErrorMessage(),
                            "disk 'vda': cannot change its throttle filters: blockdev-del of "
                            "node 'throttle-vda-2': "));
    expectChain(f.obj->mon, "a,b");
    command(f.obj->mon, "{\"execute\":\"blockdev-del\",\"arguments\":{\"node-name\":\"holder\"}}");
    /* and once nothing else holds it, the same move goes through */
    g_assert_cmpint(moveTo(&f, "b"), ==, 0);
    expectChain(f.obj->mon, "b");

    /* an undeclared group: QEMU refuses the new node, nothing stays */
    {
        domainDef *to = parse(f.image, "b");

        g_free(domainDiskFind(to, "vda")->filters[0]);
        domainDiskFind(to, "vda")->filters[0] = g_strdup("nope");
        g_assert_cmpint(qemuProcessApplyThrottle(f.obj, f.obj->live, to), ==, -1);
        g_assert_nonnull(strstr(iovGetLastErrorMessage(), "blockdev-reopen of node "
                                                          "'throttle-vda-1'"));
        g_assert_nonnull(strstr(iovGetLastErrorMessage(), "tgg-nope"));
        domainDefFree(to);
    }
    expectChain(f.obj->mon, "b");
    stopQemu(&f);
}

/* The disk's own step moves to an implicit group (group=) and its
 * filters change in the same change, and back: the implicit group comes
 * and goes, the disk's private one goes and comes back. */
static void
testOwnGroupAndFiltersChangeTogether(void)
{
    fixture f = {0};
    domainDef *to;

    startQemu(&f);
    to = parseWithOwn(f.image, "a,b", "imp");
    if (qemuProcessApplyThrottle(f.obj, f.obj->live, to) < 0)
        g_error("%s", iovGetLastErrorMessage());
    domainDefFree(f.obj->live);
    f.obj->live = to;
    expectChainOwn(f.obj->mon, "a,b", "tgg-imp");
    g_assert_false(objectExists(f.obj->mon, "tg-vda"));

    to = parse(f.image, "c");
    if (qemuProcessApplyThrottle(f.obj, f.obj->live, to) < 0)
        g_error("%s", iovGetLastErrorMessage());
    domainDefFree(f.obj->live);
    f.obj->live = to;
    expectChain(f.obj->mon, "c");
    g_assert_false(objectExists(f.obj->mon, "tgg-imp"));
    g_assert_true(objectExists(f.obj->mon, "tg-vda"));
    stopQemu(&f);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/chain-rebuild/every-move-between-chains", testEveryMoveBetweenChains);
    g_test_add_func("/chain-rebuild/each-refused-step-is-undone", testEachRefusedStepIsUndone);
    g_test_add_func("/chain-rebuild/own-group-and-filters-change-together",
                    testOwnGroupAndFiltersChangeTogether);
    return g_test_run();
}
