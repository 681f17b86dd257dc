/*
 * test-disk-chain-live.c: one disk's throttle chain built and torn down in
 * a running QEMU (qemuProcessAddDiskThrottle / RemoveDiskThrottle, what a
 * hot-plug calls), against the real QEMU.
 *
 * QEMU starts paused (-S, no guest kernel) from qemuBuildCommandLine for
 * a domain declaring group 'cap', whose disk vda passes through it. A
 * second disk's protocol and format nodes are added as a hot-plug adds
 * them, then its chain; the test reads QEMU's block nodes and objects
 * back after each step. QEMU is killed at the end, also when the test
 * fails (testqemu.c), and its files go with the test's directory.
 */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "qemu/qemu_command.h"
#include "qemu/qemu_process.h"
#include "testqemu.h"
#include "util/error.h"

static char *
makeImage(const char *dir, const char *name)
{
    char *path = g_build_filename(dir, name, NULL);

    testMakeImage(path, 16 << 20, 0);
    return path;
}

static domainDef *
parse(const char *dir, bool withVdb)
{
    g_autofree char *a = makeImage(dir, "a.img");
    g_autofree char *b = makeImage(dir, "b.img");
    g_autofree char *vdb = g_strdup_printf(
        "<disk type='file'><source file='%s'/><target dev='vdb'/><iothrottle iops='300'/>"
        "<throttlefilters><throttlefilter group='cap'/></throttlefilters></disk>",
        b);
    g_autofree char *xml = g_strdup_printf(
        "<domain type='qemu'><name>chain</name><memory unit='MiB'>64</memory>"
        "<throttlegroups><throttlegroup name='cap' bps_rd='10485760'/></throttlegroups>"
        "<devices><disk type='file'><source file='%s'/><target dev='vda'/>"
        "<iothrottle bps_rd='8388608'/><throttlefilters><throttlefilter group='cap'/>"
        "</throttlefilters></disk>%s</devices></domain>",
        a, withVdb ? vdb : "");
    domainDef *def = domainDefParseString(xml, 0, NULL);

    if (!def)
        g_error("%s", iovGetLastErrorMessage());
    return def;
}

/* The node names QEMU has. */
static GHashTable *
blockNodes(qemuMonitor *mon)
{
    GHashTable *names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    json_object *ret = NULL;
    size_t i;

    g_assert_cmpint(qemuMonitorCommand(mon, "query-named-block-nodes", NULL, &ret), ==, 0);
    for (i = 0; i < json_object_array_length(ret); i++) {
        json_object *n = json_object_array_get_idx(ret, i);
        json_object *name;

        if (json_object_object_get_ex(n, "node-name", &name))
            g_hash_table_add(names, g_strdup(json_object_get_string(name)));
    }
    json_object_put(ret);
    return names;
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

static void
addFormatNodes(qemuMonitor *mon, const char *image)
{
    json_object *proto = json_object_new_object();
    json_object *fmt = json_object_new_object();

    json_object_object_add(proto, "driver", json_object_new_string("file"));
    json_object_object_add(proto, "filename", json_object_new_string(image));
    json_object_object_add(proto, "node-name", json_object_new_string("proto-vdb"));
    g_assert_cmpint(qemuMonitorCommand(mon, "blockdev-add", proto, NULL), ==, 0);
    json_object_object_add(fmt, "driver", json_object_new_string("raw"));
    json_object_object_add(fmt, "file", json_object_new_string("proto-vdb"));
    json_object_object_add(fmt, "node-name", json_object_new_string("fmt-vdb"));
    g_assert_cmpint(qemuMonitorCommand(mon, "blockdev-add", fmt, NULL), ==, 0);
}

static void
testAddAndRemoveOneDisksChain(void)
{
    const char *dir = testTmpDir();
    g_autofree char *qemu = g_find_program_in_path("qemu-system-x86_64");
    g_autofree char *sock = g_build_filename(dir, "qmp.sock", NULL);
    g_autofree char *pidfile = g_build_filename(dir, "qemu.pid", NULL);
    g_autofree char *serial = g_build_filename(dir, "serial.log", NULL);
    g_autofree char *imageB = g_build_filename(dir, "b.img", NULL);
    g_autofree char *log = g_build_filename(dir, "qemu.log", NULL);
    g_autoptr(domainDef) both = NULL;
    g_autoptr(GHashTable) nodes = NULL;
    qemuCommandParams p = {0};
    g_auto(GStrv) argv = NULL;
    qemuDomainObj *obj;
    domainDiskDef *vdb;
    throttleDef t = {0};
    unsigned char uuid[16] = {1};
    pid_t pid;

    g_assert_nonnull(qemu);
    p.binary = qemu;
    p.monitorPath = sock;
    p.pidfilePath = pidfile;
    p.serialLogPath = serial;
    obj = qemuDomainObjNew("chain", uuid);
    obj->live = parse(dir, false);
    both = parse(dir, true);
    vdb = domainDiskFind(both, "vdb");
    argv = qemuBuildCommandLine(obj->live, &p);
    g_assert_nonnull(argv);
    pid = testStartProcess((const char *const *)argv, log);
    obj->mon = qemuMonitorOpen(sock, 20000, NULL, NULL);
    if (!obj->mon)
        g_error("%s", iovGetLastErrorMessage());

    /* vda's chain came from the command line */
    nodes = blockNodes(obj->mon);
    g_assert_true(g_hash_table_contains(nodes, "throttle-vda"));
    g_assert_true(g_hash_table_contains(nodes, "throttle-vda-1"));
    g_clear_pointer(&nodes, g_hash_table_unref);

    /* a hot-plug: protocol and format nodes, then the chain */
    addFormatNodes(obj->mon, imageB);
    if (qemuProcessAddDiskThrottle(obj, obj->live, vdb) < 0)
        g_error("%s", iovGetLastErrorMessage());
    nodes = blockNodes(obj->mon);
    g_assert_true(g_hash_table_contains(nodes, "throttle-vdb"));
    g_assert_true(g_hash_table_contains(nodes, "throttle-vdb-1"));
    g_clear_pointer(&nodes, g_hash_table_unref);
    /* its own group carries its own limits from the start */
    g_assert_cmpint(qemuMonitorGetThrottleLimits(obj->mon, "tg-vdb", &t), ==, 0);
    g_assert_cmpuint(t.v[THROTTLE_IOPS], ==, 300);
    throttleDefClear(&t);
    /* device_add could go on throttle-vdb now; the chain is in use: the
     * declared group cannot go */
    g_assert_cmpint(qemuMonitorObjectDel(obj->mon, "tgg-cap"), ==, -1);
    utilResetError();

    /* the reverse, once the device is gone */
    g_assert_cmpint(qemuProcessRemoveDiskThrottle(obj, obj->live, vdb), ==, 0);
    nodes = blockNodes(obj->mon);
    g_assert_false(g_hash_table_contains(nodes, "throttle-vdb"));
    g_assert_false(g_hash_table_contains(nodes, "throttle-vdb-1"));
    g_assert_true(g_hash_table_contains(nodes, "fmt-vdb"));
    g_assert_true(g_hash_table_contains(nodes, "throttle-vda-1"));
    g_clear_pointer(&nodes, g_hash_table_unref);
    g_assert_false(objectExists(obj->mon, "tg-vdb"));
    g_assert_true(objectExists(obj->mon, "tgg-cap"));

    /* a chain QEMU refuses half way leaves nothing behind */
    g_free(vdb->filters[0]);
    vdb->filters[0] = g_strdup("nope");
    g_assert_cmpint(qemuProcessAddDiskThrottle(obj, obj->live, vdb), ==, -1);
    g_assert_nonnull(strstr(iovGetLastErrorMessage(), "disk 'vdb'"));
    g_assert_nonnull(strstr(iovGetLastErrorMessage(), "tgg-nope"));
    nodes = blockNodes(obj->mon);
    g_assert_false(g_hash_table_contains(nodes, "throttle-vdb"));
    g_assert_false(g_hash_table_contains(nodes, "throttle-vdb-1"));
    g_assert_false(objectExists(obj->mon, "tg-vdb"));

    qemuMonitorClose(g_steal_pointer(&obj->mon));
    kill(pid, SIGKILL);
    g_assert_cmpint(waitpid(pid, NULL, 0), ==, pid);
    testForgetPid(pid);
    qemuDomainObjUnref(obj);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/disk-chain/add-and-remove-one-disks-chain", testAddAndRemoveOneDisksChain);
    return g_test_run();
}
