/*
 * test-qemu-command.c: the QEMU command line built from a definition
 *
 * Golden files: every tests/data/xml2xml/NAME.in.xml gives
 * tests/data/qemuxml2argv/NAME.args, one argument a line
 * (IOVIRT_REGENERATE=1 rewrites them).
 */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/domain_conf.h"
#include "qemu/qemu_command.h"
#include "testutil.h"
#include "util/error.h"

static const qemuCommandParams params = {
    .binary = "qemu-system-x86_64",
    .monitorPath = "/run/iovirt/qemu/mon,1.qmp",
    .pidfilePath = "/run/iovirt/qemu/guest.pid",
    .serialLogPath = "/var/log/iovirt/qemu/guest-serial.log",
    .filesDir = "/run/iovirt/qemu/guest.files",
    .secretDir = "/var/lib/iovirt/secrets",
};

static domainDef *
parseFile(const char *path)
{
    g_autofree char *xml = testReadFile(path);
    domainDef *def = domainDefParseString(xml, 0, NULL);

    if (!def)
        g_error("%s: %s", path, iovGetLastErrorMessage());
    return def;
}

static char *
argvJoin(GStrv argv)
{
    g_autofree char *joined = g_strjoinv("\n", argv);

    return g_strconcat(joined, "\n", NULL);
}

static void
testGolden(gconstpointer data)
{
    const char *name = data;
    g_autofree char *in = g_build_filename(TEST_DATA_DIR, "xml2xml", name, NULL);
    g_autofree char *stem = g_strndup(name, strlen(name) - strlen(".in.xml"));
    g_autofree char *outName = g_strconcat(stem, ".args", NULL);
    g_autofree char *out = g_build_filename(TEST_DATA_DIR, "qemuxml2argv", outName, NULL);
    g_autoptr(domainDef) def = parseFile(in);
    g_auto(GStrv) argv = qemuBuildCommandLine(def, &params);
    g_autofree char *text = NULL;

    g_assert_nonnull(argv);
    text = argvJoin(argv);
    testCompareGolden(out, text);
}

static GStrv
buildFrom(const char *xml)
{
    g_autoptr(domainDef) def = domainDefParseString(xml, 0, NULL);

    if (!def)
        g_error("%s", iovGetLastErrorMessage());
    return qemuBuildCommandLine(def, &params);
}

/* Index of `arg` in argv, or -1. */
static int
argIndex(GStrv argv, const char *arg)
{
    int i;

    for (i = 0; argv[i]; i++) {
        if (strcmp(argv[i], arg) == 0)
            return i;
    }
    return -1;
}

static void
testNoInjectionThroughPaths(void)
{
    g_auto(GStrv) argv = buildFrom(
        "<domain type='qemu'><name>x</name><memory>65536</memory><devices>"
        "<disk><source file='/tmp/a,b.img,driver=nbd'/><target dev='vda'/></disk>"
        "<serial type='file'><source path='/tmp/s,server=on,path=/etc/x'/></serial>"
        "</devices></domain>");
    int i;

    /* the disk path stays one JSON string */
    g_assert_cmpint(argIndex(argv, "{\"driver\":\"file\",\"filename\":\"/tmp/a,b.img,driver=nbd\",\"node-name\":\"proto-vda\"}"), >, 0);
    /* the chardev path has its commas doubled */
    g_assert_cmpint(argIndex(argv, "file,id=serial0,path=/tmp/s,,server=on,,path=/etc/x,append=on"), >, 0);
    /* nothing else names nbd */
    for (i = 0; argv[i]; i++)
        g_assert_null(strstr(argv[i], "\"driver\":\"nbd\""));
}

static void
testJSONEscapesQuotes(void)
{
    g_auto(GStrv) argv = buildFrom(
        "<domain type='qemu'><name>x</name><memory>65536</memory><devices>"
        "<disk><source file='/tmp/q\"}, {\"x.img'/><target dev='vda'/></disk>"
        "</devices></domain>");

    g_assert_cmpint(argIndex(argv, "{\"driver\":\"file\",\"filename\":\"/tmp/q\\\"}, {\\\"x.img\",\"node-name\":\"proto-vda\"}"), >, 0);
}

static void
testEscapeOption(void)
{
    g_autofree char *a = qemuEscapeOption("a,b,,c");
    g_autofree char *b = qemuEscapeOption("");

    g_assert_cmpstr(a, ==, "a,,b,,,,c");
    g_assert_cmpstr(b, ==, "");
}

static void
testGroupObjectOnce(void)
{
    g_auto(GStrv) argv = buildFrom(
        "<domain type='qemu'><name>x</name><memory>65536</memory><devices>"
        "<disk><source file='/a'/><target dev='vda'/><iothrottle bps='100' group='g'/></disk>"
        "<disk><source file='/b'/><target dev='vdb'/><iothrottle bps='100' group='g'/></disk>"
        "<disk><source file='/c'/><target dev='vdc'/></disk>"
        "</devices></domain>");
    int i, objects = 0;

    for (i = 0; argv[i]; i++) {
        if (strcmp(argv[i], "{\"qom-type\":\"throttle-group\",\"id\":\"tgg-g\"}") == 0)
            objects++;
        /* limits are never on the command line: they are applied live */
        g_assert_null(strstr(argv[i], "bps-total"));
    }
    g_assert_cmpint(objects, ==, 1);
    g_assert_cmpint(argIndex(argv, "{\"qom-type\":\"throttle-group\",\"id\":\"tg-vdc\"}"), >, 0);
    g_assert_cmpint(argIndex(argv, "{\"driver\":\"throttle\",\"throttle-group\":\"tgg-g\",\"file\":\"fmt-vdb\",\"node-name\":\"throttle-vdb\"}"), >, 0);
}

/* A definition with a CHAP disk (key in `chapKey`) and an RBD disk with
 * monitors and cephx (key in `cephKey`). */
static domainDef *
storageDef(const char *chapKey, const char *cephKey)
{
    g_autofree char *xml = g_strdup_printf(
        "<domain type='qemu'><name>k1</name><memory unit='MiB'>64</memory>"
        "<os><kernel>/boot/vmlinuz</kernel></os><devices>"
        "<disk type='network'><source protocol='iscsi' name='iqn.2026-11.org.example:t/1'>"
        "<host name='h'/><auth username='u'><secret type='iscsi' file='%s'/></auth></source>"
        "<target dev='vda'/></disk>"
        "<disk type='network'><source protocol='rbd' name='p/i'><host name='m'/><timeout seconds='7'/>"
        "<auth username='u'><secret type='ceph' file='%s'/></auth></source>"
        "<target dev='vdb'/></disk></devices></domain>", chapKey, cephKey);
    domainDef *def = domainDefParseString(xml, 0, NULL);

    if (!def)
        g_error("%s", iovGetLastErrorMessage());
    return def;
}

static void
writeKey(const char *path, const char *data, int mode)
{
    g_assert_true(g_file_set_contents(path, data, -1, NULL));
    g_assert_cmpint(chmod(path, (mode_t)mode), ==, 0);
}

/* Keys are copied 0600 into a 0700 directory, without the newline;
 * the Ceph configuration holds the timeout; removal leaves nothing. */
static void
testPrepareFiles(void)
{
    g_autofree char *tmp = g_dir_make_tmp("iovirt-cmd-XXXXXX", NULL);
    g_autofree char *chap = g_build_filename(tmp, "chap", NULL);
    g_autofree char *ceph = g_build_filename(tmp, "ceph", NULL);
    g_autofree char *files = g_build_filename(tmp, "k1.files", NULL);
    g_autofree char *copy = g_build_filename(files, "vda.key", NULL);
    g_autofree char *cephCopy = g_build_filename(files, "vdb.key", NULL);
    g_autofree char *conf = g_build_filename(files, "vdb.ceph.conf", NULL);
    g_autofree char *text = NULL;
    g_autoptr(domainDef) def = storageDef(chap, ceph);
    qemuCommandParams p = params;
    struct stat st;

    p.filesDir = files;
    writeKey(chap, "pass word\n", 0600);
    writeKey(ceph, "AQBRoUFlAAAAABAAk3VfJ2N3Lh8Jt0yQ0+UzkA==\n", 0400);
    g_assert_cmpint(qemuCommandPrepareFiles(def, &p), ==, 0);
    g_assert_cmpint(stat(files, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 0777, ==, 0700);
    g_assert_cmpint(stat(copy, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 0777, ==, 0600);
    g_assert_true(g_file_get_contents(copy, &text, NULL, NULL));
    g_assert_cmpstr(text, ==, "pass word");
    g_clear_pointer(&text, g_free);
    g_assert_true(g_file_get_contents(cephCopy, &text, NULL, NULL));
    g_assert_cmpstr(text, ==, "AQBRoUFlAAAAABAAk3VfJ2N3Lh8Jt0yQ0+UzkA==");
    g_clear_pointer(&text, g_free);
    g_assert_true(g_file_get_contents(conf, &text, NULL, NULL));
    g_assert_nonnull(strstr(text, "client_mount_timeout = 7\n"));
    g_assert_nonnull(strstr(text, "rados_mon_op_timeout = 7\n"));
    qemuCommandRemoveFiles(files);
    g_assert_false(g_file_test(files, G_FILE_TEST_EXISTS));

    /* a key others can read: refused, naming the disk and the file, nothing left */
    writeKey(chap, "pass word", 0640);
    g_assert_cmpint(qemuCommandPrepareFiles(def, &p), ==, -1);
    g_assert_nonnull(strstr(iovGetLastErrorMessage(), "disk 'vda': the secret file '"));
    g_assert_nonnull(strstr(iovGetLastErrorMessage(), "mode 0640"));
    g_assert_null(strstr(iovGetLastErrorMessage(), "pass word"));
    g_assert_false(g_file_test(files, G_FILE_TEST_EXISTS));

    /* a cephx key that is not base64 */
    writeKey(chap, "pass word", 0600);
    writeKey(ceph, "not a key", 0600);
    g_assert_cmpint(qemuCommandPrepareFiles(def, &p), ==, -1);
    g_assert_nonnull(strstr(iovGetLastErrorMessage(), "disk 'vdb': the secret file '"));
    g_assert_nonnull(strstr(iovGetLastErrorMessage(), "does not hold a base64 cephx key"));
    g_assert_false(g_file_test(files, G_FILE_TEST_EXISTS));

    /* a missing key */
    g_assert_cmpint(unlink(chap), ==, 0);
    g_assert_cmpint(qemuCommandPrepareFiles(def, &p), ==, -1);
    g_assert_nonnull(strstr(iovGetLastErrorMessage(), "disk 'vda': cannot open the secret file '"));

    unlink(ceph);
    g_assert_cmpint(rmdir(tmp), ==, 0);
}

/* One disk's files, as a hot-plug writes them: into the directory as it
 * is (made when absent), the other disk's files untouched; a refused key
 * leaves nothing of that disk; the secret object reads the copy; the
 * directory goes with its last file. */
static void
testPrepareDiskFiles(void)
{
    g_autofree char *tmp = g_dir_make_tmp("iovirt-cmd-XXXXXX", NULL);
    g_autofree char *chap = g_build_filename(tmp, "chap", NULL);
    g_autofree char *ceph = g_build_filename(tmp, "ceph", NULL);
    g_autofree char *files = g_build_filename(tmp, "k1.files", NULL);
    g_autofree char *copy = g_build_filename(files, "vda.key", NULL);
    g_autofree char *cephCopy = g_build_filename(files, "vdb.key", NULL);
    g_autofree char *conf = g_build_filename(files, "vdb.ceph.conf", NULL);
    g_autofree char *text = NULL;
    g_autofree char *props = NULL;
    g_autoptr(domainDef) def = storageDef(chap, ceph);
    qemuCommandParams p = params;
    json_object *obj;
    struct stat st;

    p.filesDir = files;
    writeKey(chap, "pass word\n", 0600);
    writeKey(ceph, "AQBRoUFlAAAAABAAk3VfJ2N3Lh8Jt0yQ0+UzkA==\n", 0600);
    g_assert_true(qemuDiskNeedsFiles(def->disks[0]));
    g_assert_cmpint(qemuCommandPrepareDiskFiles(def->disks[1], &p), ==, 0);
    g_assert_cmpint(stat(files, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 0777, ==, 0700);
    g_assert_true(g_file_test(conf, G_FILE_TEST_EXISTS));
    g_assert_cmpint(qemuCommandPrepareDiskFiles(def->disks[0], &p), ==, 0);
    g_assert_true(g_file_get_contents(copy, &text, NULL, NULL));
    g_assert_cmpstr(text, ==, "pass word");
    g_assert_true(g_file_test(cephCopy, G_FILE_TEST_EXISTS));

    /* the object QEMU gets names the copy, never the key */
    obj = qemuBuildDiskSecretProps(def->disks[1], &p);
    props = g_strdup(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(obj);
    g_assert_nonnull(strstr(props, "\"qom-type\":\"secret\",\"id\":\"sec-vdb\""));
    g_assert_nonnull(strstr(props, cephCopy));
    g_assert_nonnull(strstr(props, "\"format\":\"base64\""));
    g_assert_null(strstr(props, "AQBRoUFl"));

    /* vda's files go, vdb's stay; then the directory with vdb's */
    qemuCommandRemoveDiskFiles(def->disks[0], files);
    g_assert_false(g_file_test(copy, G_FILE_TEST_EXISTS));
    g_assert_true(g_file_test(cephCopy, G_FILE_TEST_EXISTS));
    qemuCommandRemoveDiskFiles(def->disks[1], files);
    g_assert_false(g_file_test(files, G_FILE_TEST_EXISTS));

    /* a loose key: refused, nothing of the disk left */
    writeKey(chap, "pass word", 0644);
    g_assert_cmpint(qemuCommandPrepareDiskFiles(def->disks[0], &p), ==, -1);
    g_assert_nonnull(strstr(iovGetLastErrorMessage(), "disk 'vda': the secret file '"));
    g_assert_null(strstr(iovGetLastErrorMessage(), "pass word"));
    g_assert_false(g_file_test(files, G_FILE_TEST_EXISTS));

    unlink(chap);
    unlink(ceph);
    g_assert_cmpint(rmdir(tmp), ==, 0);
}

/* usage= names a file of the secret store; no store, no start. */
static void
testSecretStore(void)
{
    g_autoptr(domainDef) def = domainDefParseString(
        "<domain type='qemu'><name>k2</name><memory unit='MiB'>64</memory>"
        "<os><kernel>/boot/vmlinuz</kernel></os><devices>"
        "<disk type='network'><source protocol='iscsi' name='iqn.2026-11.org.example:t/1'>"
        "<host name='h'/><auth username='u'><secret type='iscsi' usage='nowhere'/></auth></source>"
        "<target dev='vda'/></disk></devices></domain>", 0, NULL);
    g_autofree char *tmp = g_dir_make_tmp("iovirt-cmd-XXXXXX", NULL);
    g_autofree char *files = g_build_filename(tmp, "k2.files", NULL);
    qemuCommandParams p = params;

    g_assert_nonnull(def);
    p.filesDir = files;
    p.secretDir = tmp;
    g_assert_cmpint(qemuCommandPrepareFiles(def, &p), ==, -1);
    g_assert_nonnull(strstr(iovGetLastErrorMessage(), "/nowhere'"));
    p.secretDir = NULL;
    g_assert_cmpint(qemuCommandPrepareFiles(def, &p), ==, -1);
    g_assert_nonnull(strstr(iovGetLastErrorMessage(), "disk 'vda': secret 'nowhere' names the secret store, and this daemon has none"));
    g_assert_cmpint(rmdir(tmp), ==, 0);
}

static void
testNames(void)
{
    domainDiskDef d = {.target = (char *)"vdb"};
    throttleDef t = {0};
    g_autofree char *dev = qemuDiskDeviceId(&d);
    g_autofree char *tg = qemuThrottleGroupId(&d, &t);
    g_autofree char *tgg = NULL;

    g_assert_cmpstr(dev, ==, "disk-vdb");
    g_assert_cmpstr(tg, ==, "tg-vdb");
    t.group = (char *)"shared";
    tgg = qemuThrottleGroupId(&d, &t);
    g_assert_cmpstr(tgg, ==, "tgg-shared");
    g_assert_true(qemuDiskMatchesQdev(&d, "/machine/peripheral/disk-vdb/virtio-backend"));
    g_assert_true(qemuDiskMatchesQdev(&d, "disk-vdb"));
    g_assert_false(qemuDiskMatchesQdev(&d, "/machine/peripheral/disk-vdbb/virtio-backend"));
    g_assert_false(qemuDiskMatchesQdev(&d, "disk-vda"));
}

int
main(int argc, char **argv)
{
    g_autofree char *dir = g_build_filename(TEST_DATA_DIR, "xml2xml", NULL);
    g_autoptr(GPtrArray) names = testListFiles(dir, ".in.xml");
    guint i;

    g_test_init(&argc, &argv, NULL);
    for (i = 0; i < names->len; i++) {
        g_autofree char *tname = g_strdup_printf("/qemu-command/golden/%s", (char *)names->pdata[i]);

        g_test_add_data_func_full(tname, g_strdup(names->pdata[i]), testGolden, g_free);
    }
    g_test_add_func("/qemu-command/no-injection-through-paths", testNoInjectionThroughPaths);
    g_test_add_func("/qemu-command/json-escapes-quotes", testJSONEscapesQuotes);
    g_test_add_func("/qemu-command/escape-option", testEscapeOption);
    g_test_add_func("/qemu-command/group-object-once", testGroupObjectOnce);
    g_test_add_func("/qemu-command/names", testNames);
    g_test_add_func("/qemu-command/prepare-files", testPrepareFiles);
    g_test_add_func("/qemu-command/secret-store", testSecretStore);
    g_test_add_func("/qemu-command/prepare-disk-files", testPrepareDiskFiles);
    return g_test_run();
}
