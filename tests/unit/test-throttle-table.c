/*
 * test-throttle-table.c: everything that repeats the throttle field table
 * agrees with it: the name macros of iovirt.h and the schema's two
 * throttle parts; and the table's own columns agree with each other.
 */
#include <string.h>
#include <glib.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "conf/throttle.h"

static const struct {
    const char *macro;
    int id;
} macros[] = {
    {IOV_THROTTLE_BPS, THROTTLE_BPS},
    {IOV_THROTTLE_BPS_RD, THROTTLE_BPS_RD},
    {IOV_THROTTLE_BPS_WR, THROTTLE_BPS_WR},
    {IOV_THROTTLE_IOPS, THROTTLE_IOPS},
    {IOV_THROTTLE_IOPS_RD, THROTTLE_IOPS_RD},
    {IOV_THROTTLE_IOPS_WR, THROTTLE_IOPS_WR},
    {IOV_THROTTLE_BPS_MAX, THROTTLE_BPS_MAX},
    {IOV_THROTTLE_BPS_RD_MAX, THROTTLE_BPS_RD_MAX},
    {IOV_THROTTLE_BPS_WR_MAX, THROTTLE_BPS_WR_MAX},
    {IOV_THROTTLE_IOPS_MAX, THROTTLE_IOPS_MAX},
    {IOV_THROTTLE_IOPS_RD_MAX, THROTTLE_IOPS_RD_MAX},
    {IOV_THROTTLE_IOPS_WR_MAX, THROTTLE_IOPS_WR_MAX},
    {IOV_THROTTLE_BPS_MAX_LENGTH, THROTTLE_BPS_MAX_LENGTH},
    {IOV_THROTTLE_BPS_RD_MAX_LENGTH, THROTTLE_BPS_RD_MAX_LENGTH},
    {IOV_THROTTLE_BPS_WR_MAX_LENGTH, THROTTLE_BPS_WR_MAX_LENGTH},
    {IOV_THROTTLE_IOPS_MAX_LENGTH, THROTTLE_IOPS_MAX_LENGTH},
    {IOV_THROTTLE_IOPS_RD_MAX_LENGTH, THROTTLE_IOPS_RD_MAX_LENGTH},
    {IOV_THROTTLE_IOPS_WR_MAX_LENGTH, THROTTLE_IOPS_WR_MAX_LENGTH},
    {IOV_THROTTLE_IOPS_SIZE, THROTTLE_IOPS_SIZE},
    {IOV_THROTTLE_GROUP, THROTTLE_GROUP},
};

/* Each name macro of iovirt.h is the name of its row, and every row has
 * its macro. */
static void
testHeaderMacrosMatchTable(void)
{
    size_t i;

    g_assert_cmpuint(G_N_ELEMENTS(macros), ==, THROTTLE_FIELD_LAST);
    for (i = 0; i < G_N_ELEMENTS(macros); i++)
        g_assert_cmpstr(macros[i].macro, ==, throttleField(macros[i].id)->name);
}

/* The names the schema's define `define` lists as `what` (attribute or
 * element), in document order. */
static GPtrArray *
schemaNames(const char *define, const char *what)
{
    g_autofree char *path = g_build_filename(TEST_SRC_DIR, "docs", "schemas", "domain.rng", NULL);
    g_autofree char *expr = g_strdup_printf(
        "//*[local-name()='define'][@name='%s']/*[local-name()='element']//*[local-name()='%s']/@name",
        define, what);
    GPtrArray *out = g_ptr_array_new_with_free_func(xmlFree);
    xmlDocPtr doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
    xmlXPathContextPtr ctx;
    xmlXPathObjectPtr res;
    int i;

    g_assert_nonnull(doc);
    ctx = xmlXPathNewContext(doc);
    res = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
    g_assert_nonnull(res);
    for (i = 0; res->nodesetval && i < res->nodesetval->nodeNr; i++)
        g_ptr_array_add(out, xmlNodeGetContent(res->nodesetval->nodeTab[i]));
    xmlXPathFreeObject(res);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
    return out;
}

/* <iothrottle> has one attribute per field, in table order. */
static void
testSchemaIothrottleMatchesTable(void)
{
    g_autoptr(GPtrArray) names = schemaNames("iothrottle", "attribute");
    int i;

    g_assert_cmpuint(names->len, ==, THROTTLE_FIELD_LAST);
    for (i = 0; i < THROTTLE_FIELD_LAST; i++)
        g_assert_cmpstr(g_ptr_array_index(names, i), ==, throttleField(i)->name);
}

/* <iotune> has one element per field's libvirt alias, in libvirt's order. */
static void
testSchemaIotuneMatchesTable(void)
{
    g_autoptr(GPtrArray) names = schemaNames("iotune", "element");
    int k;

    g_assert_cmpuint(names->len, ==, THROTTLE_FIELD_LAST);
    for (k = 0; k < THROTTLE_FIELD_LAST; k++)
        g_assert_cmpstr(g_ptr_array_index(names, k), ==,
                        throttleField(throttleLibvirtField(k))->alias);
}

/* <throttlegroup> has name= and one attribute per numeric field, in table
 * order; in libvirt's spelling, <group_name> and one element per numeric
 * field's alias, in libvirt's order. */
static void
testSchemaThrottleGroupMatchesTable(void)
{
    g_autoptr(GPtrArray) attrs = schemaNames("throttlegroups", "attribute");
    g_autoptr(GPtrArray) elems = schemaNames("throttlegroups", "element");
    guint n = 0;
    int i, k;

    g_assert_cmpuint(attrs->len, ==, 1 + THROTTLE_NUM_VALUES);
    g_assert_cmpstr(g_ptr_array_index(attrs, 0), ==, "name");
    for (i = 0; i < THROTTLE_NUM_VALUES; i++)
        g_assert_cmpstr(g_ptr_array_index(attrs, i + 1), ==, throttleField(i)->name);

    g_assert_cmpuint(elems->len, ==, 2 + THROTTLE_NUM_VALUES);
    g_assert_cmpstr(g_ptr_array_index(elems, n++), ==, "throttlegroup");
    g_assert_cmpstr(g_ptr_array_index(elems, n++), ==, "group_name");
    for (k = 0; k < THROTTLE_FIELD_LAST; k++) {
        int id = throttleLibvirtField(k);

        if (id != THROTTLE_GROUP)
            g_assert_cmpstr(g_ptr_array_index(elems, n++), ==, throttleField(id)->alias);
    }
}

/* The columns agree: lengths are in seconds and have a base and a max;
 * a total's read and write fields share its family; libvirt positions
 * are a permutation. */
static void
testColumnsAgree(void)
{
    bool seen[THROTTLE_FIELD_LAST] = {false};
    int i;

    for (i = 0; i < THROTTLE_FIELD_LAST; i++) {
        const iovThrottleField *f = throttleField(i);

        g_assert_cmpint(f->is_length, ==, f->unit == IOV_THROTTLE_UNIT_SECONDS);
        if (f->is_length) {
            g_assert_cmpint(f->base_index, >=, 0);
            g_assert_cmpint(f->max_index, >=, 0);
            g_assert_false(f->whole_family);
        }
        if (f->total_index >= 0) {
            g_assert_cmpint(throttleField(f->total_index)->family, ==, f->family);
            g_assert_true(f->whole_family);
            g_assert_cmpint(throttleField(f->total_index)->total_index, ==, -1);
        }
        g_assert_cmpint(f->libvirt_index, >=, 0);
        g_assert_cmpint(f->libvirt_index, <, THROTTLE_FIELD_LAST);
        g_assert_false(seen[f->libvirt_index]);
        seen[f->libvirt_index] = true;
    }
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/throttle-table/header-macros", testHeaderMacrosMatchTable);
    g_test_add_func("/throttle-table/schema-iothrottle", testSchemaIothrottleMatchesTable);
    g_test_add_func("/throttle-table/schema-iotune", testSchemaIotuneMatchesTable);
    g_test_add_func("/throttle-table/schema-throttlegroup", testSchemaThrottleGroupMatchesTable);
    g_test_add_func("/throttle-table/columns", testColumnsAgree);
    return g_test_run();
}
