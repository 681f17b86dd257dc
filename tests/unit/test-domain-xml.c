/*
 * test-domain-xml.c: parsing, validating and formatting domain XML
 *
 * Golden files: tests/data/xml2xml/NAME.in.xml gives NAME.out.xml
 * (<iothrottle>) and NAME.iotune.xml (libvirt's <iotune>);
 * tests/data/libvirt/NAME.xml, read as a libvirt document, gives
 * NAME.out.xml and the list of what it dropped, NAME.dropped. Every
 * tests/data/invalid/NAME.xml is refused with exactly the text of
 * NAME.err. IOVIRT_REGENERATE=1 rewrites the golden files.
 */
#include <string.h>

#include "conf/domain_conf.h"
#include "testutil.h"
#include "util/error.h"

static char *
dataPath(const char *sub, const char *name)
{
    return g_build_filename(TEST_DATA_DIR, sub, name, NULL);
}

static char *
replaceSuffix(const char *name, const char *oldSuffix, const char *newSuffix)
{
    g_autofree char *stem = g_strndup(name, strlen(name) - strlen(oldSuffix));

    return g_strconcat(stem, newSuffix, NULL);
}

/* Formatting, parsing the output again and formatting gives the same. */
static void
assertIdempotent(const char *xml)
{
    g_autoptr(domainDef) again = domainDefParseString(xml, 0, NULL);
    g_autofree char *out = NULL;

    if (!again)
        g_error("canonical output does not parse: %s", iovGetLastErrorMessage());
    out = domainDefFormat(again, 0);
    g_assert_cmpstr(out, ==, xml);
}

static void
testXml2Xml(gconstpointer data)
{
    const char *name = data;
    g_autofree char *inPath = dataPath("xml2xml", name);
    g_autofree char *outName = replaceSuffix(name, ".in.xml", ".out.xml");
    g_autofree char *tuneName = replaceSuffix(name, ".in.xml", ".iotune.xml");
    g_autofree char *outPath = dataPath("xml2xml", outName);
    g_autofree char *tunePath = dataPath("xml2xml", tuneName);
    g_autofree char *xml = testReadFile(inPath);
    g_autoptr(domainDef) def = domainDefParseString(xml, 0, NULL);
    g_autofree char *out = NULL;
    g_autofree char *tune = NULL;
    g_autoptr(domainDef) fromTune = NULL;
    g_autofree char *backOut = NULL;

    if (!def)
        g_error("%s: %s", name, iovGetLastErrorMessage());
    out = domainDefFormat(def, 0);
    testCompareGolden(outPath, out);
    assertIdempotent(out);

    /* the <iotune> form converts back to the same definition */
    tune = domainDefFormat(def, DOMAIN_FORMAT_LIBVIRT_IOTUNE);
    testCompareGolden(tunePath, tune);
    fromTune = domainDefParseString(tune, 0, NULL);
    g_assert_nonnull(fromTune);
    backOut = domainDefFormat(fromTune, 0);
    g_assert_cmpstr(backOut, ==, out);
}

static void
testFromLibvirt(gconstpointer data)
{
    const char *name = data;
    g_autofree char *inPath = dataPath("libvirt", name);
    g_autofree char *outName = replaceSuffix(name, ".xml", ".out");
    g_autofree char *dropName = replaceSuffix(name, ".xml", ".dropped");
    g_autofree char *outPath = dataPath("libvirt", outName);
    g_autofree char *dropPath = dataPath("libvirt", dropName);
    g_autofree char *xml = testReadFile(inPath);
    g_autoptr(GString) dropped = g_string_new("");
    g_autoptr(domainDef) def = domainDefParseString(xml, DOMAIN_PARSE_FROM_LIBVIRT, dropped);
    g_autofree char *out = NULL;

    if (!def)
        g_error("%s: %s", name, iovGetLastErrorMessage());
    out = domainDefFormat(def, 0);
    testCompareGolden(outPath, out);
    testCompareGolden(dropPath, dropped->str);
    assertIdempotent(out);

    /* a plain parse refuses the same document */
    g_assert_null(domainDefParseString(xml, 0, NULL));
    g_assert_cmpint(iovGetLastError()->code, ==, IOV_ERR_XML_ERROR);
}

static void
testInvalid(gconstpointer data)
{
    const char *name = data;
    g_autofree char *inPath = dataPath("invalid", name);
    g_autofree char *errName = replaceSuffix(name, ".xml", ".err");
    g_autofree char *errPath = dataPath("invalid", errName);
    g_autofree char *xml = testReadFile(inPath);
    g_autofree char *expected = NULL;
    domainDef *def;

    utilResetError();
    def = domainDefParseString(xml, 0, NULL);
    if (def) {
        domainDefFree(def);
        g_error("%s was accepted", name);
    }
    g_assert_nonnull(utilGetError());
    expected = g_strstrip(testReadFile(errPath));
    g_assert_cmpstr(iovGetLastErrorMessage(), ==, expected);
    g_assert_cmpint(iovGetLastError()->code, ==, IOV_ERR_XML_ERROR);
    g_assert_cmpint(iovGetLastError()->domain, ==, IOV_FROM_CONF);
}

/* tests/data/libvirt-refused/NAME.xml: a libvirt document holding
 * something that changes the guest and that iovirt does not do, refused
 * even by a libvirt parse with the text of NAME.err. */
static void
testLibvirtRefused(gconstpointer data)
{
    const char *name = data;
    g_autofree char *inPath = dataPath("libvirt-refused", name);
    g_autofree char *errName = replaceSuffix(name, ".xml", ".err");
    g_autofree char *errPath = dataPath("libvirt-refused", errName);
    g_autofree char *xml = testReadFile(inPath);
    g_autofree char *expected = NULL;
    g_autoptr(GString) dropped = g_string_new("");
    domainDef *def;

    utilResetError();
    def = domainDefParseString(xml, DOMAIN_PARSE_FROM_LIBVIRT, dropped);
    if (def) {
        domainDefFree(def);
        g_error("%s was accepted", name);
    }
    g_assert_nonnull(utilGetError());
    if (g_getenv("IOVIRT_REGENERATE")) {
        g_autofree char *text = g_strdup_printf("%s\n", iovGetLastErrorMessage());

        g_file_set_contents(errPath, text, -1, NULL);
        return;
    }
    expected = g_strstrip(testReadFile(errPath));
    g_assert_cmpstr(iovGetLastErrorMessage(), ==, expected);
}

static void
testDroppedKept(void)
{
    g_autofree char *path = dataPath("libvirt", "db1-inactive.xml");
    g_autofree char *xml = testReadFile(path);
    g_autoptr(domainDef) def = domainDefParseString(xml, DOMAIN_PARSE_FROM_LIBVIRT, NULL);
    g_autofree char *out = NULL;
    g_autoptr(domainDef) again = NULL;
    g_autoptr(domainDef) twice = NULL;

    g_assert_nonnull(def);
    g_assert_nonnull(def->dropped);
    g_assert_nonnull(strstr(def->dropped, "/domain/devices/controller[2] ("));
    /* the canonical XML carries the list, and a plain parse keeps it */
    out = domainDefFormat(def, 0);
    g_assert_nonnull(strstr(out, "<dropped>"));
    again = domainDefParseString(out, 0, NULL);
    g_assert_nonnull(again);
    g_assert_cmpstr(again->dropped, ==, def->dropped);
    /* importing the same document again lists nothing twice */
    twice = domainDefParseString(out, DOMAIN_PARSE_FROM_LIBVIRT, NULL);
    g_assert_nonnull(twice);
    g_assert_cmpstr(twice->dropped, ==, def->dropped);
}

static void
testUUIDGeneratedWhenAbsent(void)
{
    const char *xml = "<domain type='qemu'><name>a</name><memory>65536</memory>"
                      "<devices><disk><source file='/a'/><target dev='vda'/></disk></devices></domain>";
    g_autoptr(domainDef) a = domainDefParseString(xml, 0, NULL);
    g_autoptr(domainDef) b = domainDefParseString(xml, 0, NULL);
    static const unsigned char zero[16] = {0};

    g_assert_nonnull(a);
    g_assert_nonnull(b);
    g_assert_true(memcmp(a->uuid, zero, 16) != 0);
    g_assert_true(memcmp(a->uuid, b->uuid, 16) != 0);
}

static void
testUUIDParse(void)
{
    unsigned char u[16];
    char buf[37];

    g_assert_cmpint(domainUUIDParse("6695eb01-f6a4-8304-79aa-97f2502e193f", u), ==, 0);
    domainUUIDFormat(u, buf);
    g_assert_cmpstr(buf, ==, "6695eb01-f6a4-8304-79aa-97f2502e193f");
    g_assert_cmpint(domainUUIDParse("6695EB01F6A4830479AA97F2502E193F", u), ==, 0);
    domainUUIDFormat(u, buf);
    g_assert_cmpstr(buf, ==, "6695eb01-f6a4-8304-79aa-97f2502e193f");
    g_assert_cmpint(domainUUIDParse("6695eb01-f6a4-8304-79aa-97f2502e193", u), ==, -1);
    g_assert_cmpint(domainUUIDParse("6695eb01+f6a4-8304-79aa-97f2502e193f", u), ==, -1);
    g_assert_cmpint(domainUUIDParse("g695eb01f6a4830479aa97f2502e193f", u), ==, -1);
    g_assert_cmpint(domainUUIDParse("", u), ==, -1);
}

static void
testNameRules(void)
{
    g_assert_true(domainNameValid("a"));
    g_assert_true(domainNameValid("web_1.example+x-y"));
    g_assert_true(domainNameValid("0start"));
    g_assert_true(domainNameValid("1234567890123456789012345678901234567890123456789012345678901234"));
    g_assert_false(domainNameValid("12345678901234567890123456789012345678901234567890123456789012345"));
    g_assert_false(domainNameValid(""));
    g_assert_false(domainNameValid(".a"));
    g_assert_false(domainNameValid("-a"));
    g_assert_false(domainNameValid("a b"));
    g_assert_false(domainNameValid("a/b"));
    g_assert_false(domainNameValid("é"));
}

static void
testDiskLookup(void)
{
    g_autofree char *path = dataPath("xml2xml", "all-disk-kinds.in.xml");
    g_autofree char *xml = testReadFile(path);
    g_autoptr(domainDef) def = domainDefParseString(xml, 0, NULL);

    g_assert_nonnull(def);
    g_assert_cmpint(domainDiskIndex(def, "vdc"), ==, 2);
    g_assert_cmpint(domainDiskIndex(def, "/dev/sdz"), ==, 1);
    g_assert_cmpint(domainDiskIndex(def, "/img/a,b.qcow2"), ==, 0);
    g_assert_cmpint(domainDiskIndex(def, "vdz"), ==, -1);
    g_assert_cmpint(domainDiskIndex(def, "/nope"), ==, -1);
    g_assert_cmpint(domainDiskIndex(def, NULL), ==, -1);
}

static void
testCopyIsDeep(void)
{
    g_autofree char *path = dataPath("xml2xml", "all-disk-kinds.in.xml");
    g_autofree char *xml = testReadFile(path);
    g_autoptr(domainDef) def = domainDefParseString(xml, 0, NULL);
    g_autoptr(domainDef) copy = domainDefCopy(def);
    g_autofree char *a = domainDefFormat(def, 0);
    g_autofree char *b = NULL;

    g_assert_nonnull(copy);
    copy->disks[0]->throttle.v[THROTTLE_BPS] = 1;
    g_assert_cmpuint(def->disks[0]->throttle.v[THROTTLE_BPS], ==, 1048576);
    copy->disks[0]->throttle.v[THROTTLE_BPS] = 1048576;
    b = domainDefFormat(copy, 0);
    g_assert_cmpstr(a, ==, b);
}

/* A copy formats as its original does, and owns all of its memory: both
 * are freed, so a pointer they shared would be freed twice. */
static void
assertCopyFaithful(const char *xml, unsigned int flags)
{
    g_autoptr(domainDef) def = domainDefParseString(xml, flags, NULL);
    g_autoptr(domainDef) copy = NULL;
    g_autofree char *a = NULL;
    g_autofree char *b = NULL;
    g_autofree char *c = NULL;
    g_autofree char *d = NULL;

    if (!def)
        g_error("does not parse: %s", iovGetLastErrorMessage());
    copy = domainDefCopy(def);
    a = domainDefFormat(def, 0);
    b = domainDefFormat(copy, 0);
    g_assert_cmpstr(a, ==, b);
    c = domainDefFormat(def, DOMAIN_FORMAT_LIBVIRT_IOTUNE);
    d = domainDefFormat(copy, DOMAIN_FORMAT_LIBVIRT_IOTUNE);
    g_assert_cmpstr(c, ==, d);
    g_assert_cmpint(domainDefValidate(copy), ==, 0);
}

static void
testCopyGolden(gconstpointer data)
{
    g_autofree char *path = dataPath("xml2xml", data);
    g_autofree char *xml = testReadFile(path);

    assertCopyFaithful(xml, 0);
}

static void
testCopyLibvirt(gconstpointer data)
{
    g_autofree char *path = dataPath("libvirt", data);
    g_autofree char *xml = testReadFile(path);

    assertCopyFaithful(xml, DOMAIN_PARSE_FROM_LIBVIRT);
}

/* A live definition's state (a disk being unplugged) is copied too, and
 * a disk's copy is its own. */
static void
testCopyLiveState(void)
{
    g_autofree char *path = dataPath("xml2xml", "all-disk-kinds.in.xml");
    g_autofree char *xml = testReadFile(path);
    g_autoptr(domainDef) def = domainDefParseString(xml, 0, NULL);
    g_autoptr(domainDef) copy = NULL;
    g_autoptr(domainDiskDef) disk = NULL;
    g_autofree char *a = NULL;
    g_autofree char *b = NULL;

    g_assert_nonnull(def);
    def->disks[1]->unplugPending = true;
    copy = domainDefCopy(def);
    g_assert_true(copy->disks[1]->unplugPending);
    a = domainDefFormat(def, 0);
    b = domainDefFormat(copy, 0);
    g_assert_nonnull(strstr(a, "unplug=\"pending\""));
    g_assert_cmpstr(a, ==, b);
    disk = domainDiskDefCopy(def->disks[0]);
    g_assert_cmpstr(disk->target, ==, def->disks[0]->target);
    g_assert_true(disk->target != def->disks[0]->target);
    g_assert_true(throttleDefEqual(&disk->throttle, &def->disks[0]->throttle));
}

static void
testPublicCanonicalize(void)
{
    g_autofree char *path = dataPath("libvirt", "db1-inactive.xml");
    g_autofree char *xml = testReadFile(path);
    char *canonical = NULL, *dropped = NULL;

    /* plain: refused, nothing returned */
    g_assert_cmpint(iovDomainXMLCanonicalize(xml, 0, &canonical, &dropped), ==, -1);
    g_assert_null(canonical);
    g_assert_cmpstr(iovGetLastErrorMessage(), ==,
                    "XML error: controller type 'usb' model 'qemu-xhci' is not supported: only type='pci' model='pcie-root-port'");

    g_assert_cmpint(iovDomainXMLCanonicalize(xml, IOV_DOMAIN_XML_FROM_LIBVIRT |
                                             IOV_DOMAIN_XML_LIBVIRT_IOTUNE,
                                             &canonical, &dropped), ==, 0);
    g_assert_null(iovGetLastError());
    g_assert_nonnull(strstr(canonical, "<total_bytes_sec>10485760</total_bytes_sec>"));
    g_assert_nonnull(strstr(dropped, "/domain/devices/controller[1] ("));
    g_assert_nonnull(strstr(canonical, "<emulator>/usr/bin/qemu-system-x86_64</emulator>"));
    free(canonical);
    free(dropped);

    g_assert_cmpint(iovDomainXMLCanonicalize(xml, 1 << 7, &canonical, NULL), ==, -1);
    g_assert_cmpint(iovGetLastError()->code, ==, IOV_ERR_INVALID_ARG);
}

static void
testHugeDocumentRefused(void)
{
    g_autofree char *xml = g_malloc(5 * 1024 * 1024 + 1);

    memset(xml, ' ', 5 * 1024 * 1024);
    xml[5 * 1024 * 1024] = '\0';
    g_assert_null(domainDefParseString(xml, 0, NULL));
    g_assert_cmpstr(iovGetLastErrorMessage(), ==,
                    "XML error: the document is larger than 4194304 bytes");
}

static void
addDataTests(const char *prefix, const char *sub, const char *suffix,
             GTestDataFunc func)
{
    g_autofree char *dir = g_build_filename(TEST_DATA_DIR, sub, NULL);
    GPtrArray *names = testListFiles(dir, suffix);
    guint i;

    for (i = 0; i < names->len; i++) {
        g_autofree char *tname = g_strdup_printf("%s/%s", prefix, (char *)names->pdata[i]);

        /* the names live as long as the test: GLib frees them */
        g_test_add_data_func_full(tname, g_strdup(names->pdata[i]), func, g_free);
    }
    g_ptr_array_unref(names);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    addDataTests("/domain-xml/golden", "xml2xml", ".in.xml", testXml2Xml);
    addDataTests("/domain-xml/from-libvirt", "libvirt", ".xml", testFromLibvirt);
    addDataTests("/domain-xml/invalid", "invalid", ".xml", testInvalid);
    addDataTests("/domain-xml/libvirt-refused", "libvirt-refused", ".xml", testLibvirtRefused);
    g_test_add_func("/domain-xml/libvirt/dropped-kept-with-the-definition", testDroppedKept);
    g_test_add_func("/domain-xml/uuid/generated-when-absent", testUUIDGeneratedWhenAbsent);
    g_test_add_func("/domain-xml/uuid/parse-and-format", testUUIDParse);
    g_test_add_func("/domain-xml/name-rules", testNameRules);
    g_test_add_func("/domain-xml/disk-lookup-by-target-or-path", testDiskLookup);
    g_test_add_func("/domain-xml/copy-is-deep", testCopyIsDeep);
    addDataTests("/domain-xml/copy/golden", "xml2xml", ".in.xml", testCopyGolden);
    addDataTests("/domain-xml/copy/from-libvirt", "libvirt", ".xml", testCopyLibvirt);
    g_test_add_func("/domain-xml/copy/live-state", testCopyLiveState);
    g_test_add_func("/domain-xml/public-canonicalize", testPublicCanonicalize);
    g_test_add_func("/domain-xml/huge-document-refused", testHugeDocumentRefused);
    return g_test_run();
}
