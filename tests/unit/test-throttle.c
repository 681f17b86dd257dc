/*
 * test-throttle.c: the field table, merging a set into the current
 * limits, and QEMU's validation rules
 */
#include <string.h>

#include "conf/throttle.h"
#include "util/error.h"

/* ---- the table ---- */

static void
testTableNamesUnique(void)
{
    int i, j;

    g_assert_cmpint(iovThrottleFieldCount(), ==, 20);
    for (i = 0; i < THROTTLE_FIELD_LAST; i++) {
        const iovThrottleField *a = iovThrottleFieldByIndex(i);

        g_assert_nonnull(a);
        g_assert_cmpint(iovThrottleFieldLookup(a->name), ==, i);
        g_assert_cmpint(iovThrottleFieldLookup(a->alias), ==, i);
        g_assert_true(strlen(a->help) > 10);
        for (j = i + 1; j < THROTTLE_FIELD_LAST; j++) {
            const iovThrottleField *b = iovThrottleFieldByIndex(j);

            g_assert_cmpstr(a->name, !=, b->name);
            g_assert_cmpstr(a->alias, !=, b->alias);
            if (a->qemu_key && b->qemu_key)
                g_assert_cmpstr(a->qemu_key, !=, b->qemu_key);
        }
    }
    g_assert_null(iovThrottleFieldByIndex(20));
    g_assert_null(iovThrottleFieldByIndex(-1));
    g_assert_cmpint(iovThrottleFieldLookup("nope"), ==, -1);
    g_assert_cmpint(iovThrottleFieldLookup(NULL), ==, -1);
}

static void
testTableRFCNames(void)
{
    static const char *const rfc[] = {"bps", "bps_rd", "bps_wr", "iops", "iops_rd", "iops_wr"};
    static const char *const libvirt[] = {"total_bytes_sec", "read_bytes_sec", "write_bytes_sec",
                                          "total_iops_sec", "read_iops_sec", "write_iops_sec"};
    static const char *const qemu[] = {"bps-total", "bps-read", "bps-write",
                                       "iops-total", "iops-read", "iops-write"};
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(rfc); i++) {
        const iovThrottleField *f = iovThrottleFieldByIndex((int)i);

        g_assert_cmpstr(f->name, ==, rfc[i]);
        g_assert_cmpstr(f->alias, ==, libvirt[i]);
        g_assert_cmpstr(f->qemu_key, ==, qemu[i]);
    }
    g_assert_cmpstr(throttleField(THROTTLE_IOPS_WR_MAX_LENGTH)->qemu_key, ==, "iops-write-max-length");
    g_assert_cmpstr(throttleField(THROTTLE_IOPS_SIZE)->alias, ==, "size_iops_sec");
    g_assert_cmpstr(throttleField(THROTTLE_GROUP)->alias, ==, "group_name");
    g_assert_cmpint(throttleField(THROTTLE_GROUP)->type, ==, IOV_TYPED_PARAM_STRING);
    g_assert_null(throttleField(THROTTLE_GROUP)->qemu_key);
}

static void
testTableRelations(void)
{
    int i;

    for (i = 0; i < THROTTLE_NUM_VALUES; i++) {
        const iovThrottleField *f = throttleField(i);

        g_assert_cmpint(f->type, ==, IOV_TYPED_PARAM_ULLONG);
        switch (f->family) {
        case IOV_THROTTLE_FAMILY_BYTES:
        case IOV_THROTTLE_FAMILY_IOPS:
            g_assert_cmpint(throttleField(f->max_index)->base_index, ==, i);
            g_assert_cmpint(throttleField(f->length_index)->base_index, ==, i);
            g_assert_cmpint(throttleField(f->max_index)->length_index, ==, f->length_index);
            break;
        case IOV_THROTTLE_FAMILY_BYTES_MAX:
        case IOV_THROTTLE_FAMILY_IOPS_MAX:
            g_assert_cmpint(throttleField(f->base_index)->max_index, ==, i);
            g_assert_cmpint(throttleField(f->length_index)->max_index, ==, i);
            g_assert_cmpint(f->unit, ==, throttleField(f->base_index)->unit);
            break;
        case IOV_THROTTLE_FAMILY_BYTES_MAX_LENGTH:
        case IOV_THROTTLE_FAMILY_IOPS_MAX_LENGTH:
            g_assert_cmpint(throttleField(f->max_index)->length_index, ==, i);
            g_assert_cmpint(f->unit, ==, IOV_THROTTLE_UNIT_SECONDS);
            break;
        default:
            g_assert_cmpint(i, ==, THROTTLE_IOPS_SIZE);
        }
        g_assert_cmpint(f->accepts_suffix, ==,
                        f->unit == IOV_THROTTLE_UNIT_BYTES_PER_SEC ||
                        f->unit == IOV_THROTTLE_UNIT_BYTES);
    }
}

static void
testLibvirtOrderIsPermutation(void)
{
    bool seen[THROTTLE_FIELD_LAST] = {false};
    int i;

    for (i = 0; i < THROTTLE_FIELD_LAST; i++) {
        g_assert_false(seen[throttleLibvirtField(i)]);
        seen[throttleLibvirtField(i)] = true;
    }
    g_assert_cmpint(throttleLibvirtField(12), ==, THROTTLE_IOPS_SIZE);
    g_assert_cmpint(throttleLibvirtField(13), ==, THROTTLE_GROUP);
    g_assert_cmpint(throttleLibvirtField(19), ==, THROTTLE_IOPS_WR_MAX_LENGTH);
}

/* docs/formatdomain.md has one row per field, "| `name` | `alias` |" */
static void
testDocsListEveryField(void)
{
    g_autofree char *path = g_build_filename(TEST_SRC_DIR, "docs", "formatdomain.md", NULL);
    g_autofree char *doc = NULL;
    int i;

    g_assert_true(g_file_get_contents(path, &doc, NULL, NULL));
    for (i = 0; i < THROTTLE_FIELD_LAST; i++) {
        const iovThrottleField *f = throttleField(i);
        g_autofree char *row = g_strdup_printf("| `%s` | `%s` | %s |", f->name, f->alias,
                                               *f->unit_name ? f->unit_name : "name");

        if (!strstr(doc, row))
            g_error("docs/formatdomain.md lacks the row '%s'", row);
    }
}

/* ---- merging ---- */

static void
merge(const throttleDef *cur, throttleChange *chg, throttleDef *out)
{
    throttleMerge(cur, chg, out);
    throttleChangeClear(chg);
}

static void
testMergeNamingOneMemberSetsFamily(void)
{
    throttleDef cur = {0}, out = {0};
    throttleChange chg = {0};

    cur.v[THROTTLE_BPS] = 1000;
    cur.v[THROTTLE_IOPS_RD] = 50;
    throttleChangeSet(&chg, THROTTLE_BPS_RD, 500);
    merge(&cur, &chg, &out);
    /* switching from total to read/write needs no explicit zeroing */
    g_assert_cmpuint(out.v[THROTTLE_BPS], ==, 0);
    g_assert_cmpuint(out.v[THROTTLE_BPS_RD], ==, 500);
    g_assert_cmpuint(out.v[THROTTLE_BPS_WR], ==, 0);
    /* the iops family was not named: kept */
    g_assert_cmpuint(out.v[THROTTLE_IOPS_RD], ==, 50);
    g_assert_cmpint(throttleValidate(&out, "vda", IOV_ERR_INVALID_ARG), ==, 0);
    throttleDefClear(&out);
}

static void
testMergeKeepsUnnamedSizeGroupLengths(void)
{
    throttleDef cur = {0}, out = {0};
    throttleChange chg = {0};

    cur.v[THROTTLE_IOPS] = 100;
    cur.v[THROTTLE_IOPS_MAX] = 200;
    cur.v[THROTTLE_IOPS_MAX_LENGTH] = 5;
    cur.v[THROTTLE_IOPS_SIZE] = 4096;
    cur.group = g_strdup("g1");
    throttleChangeSet(&chg, THROTTLE_IOPS, 150);
    merge(&cur, &chg, &out);
    g_assert_cmpuint(out.v[THROTTLE_IOPS], ==, 150);
    g_assert_cmpuint(out.v[THROTTLE_IOPS_MAX], ==, 200);
    g_assert_cmpuint(out.v[THROTTLE_IOPS_MAX_LENGTH], ==, 5);
    g_assert_cmpuint(out.v[THROTTLE_IOPS_SIZE], ==, 4096);
    g_assert_cmpstr(out.group, ==, "g1");
    throttleDefClear(&out);
    throttleDefClear(&cur);
}

static void
testMergeZeroingMaxResetsLength(void)
{
    throttleDef cur = {0}, out = {0};
    throttleChange chg = {0};

    cur.v[THROTTLE_BPS] = 1000;
    cur.v[THROTTLE_BPS_MAX] = 4000;
    cur.v[THROTTLE_BPS_MAX_LENGTH] = 10;
    throttleChangeSet(&chg, THROTTLE_BPS_MAX, 0);
    merge(&cur, &chg, &out);
    g_assert_cmpuint(out.v[THROTTLE_BPS_MAX], ==, 0);
    g_assert_cmpuint(out.v[THROTTLE_BPS_MAX_LENGTH], ==, 0);
    g_assert_cmpint(throttleValidate(&out, "vda", IOV_ERR_INVALID_ARG), ==, 0);

    /* the same through a family reset: naming bps_rd_max zeroes bps_max */
    cur.v[THROTTLE_BPS_MAX] = 4000;
    cur.v[THROTTLE_BPS_MAX_LENGTH] = 10;
    throttleChangeSet(&chg, THROTTLE_BPS_RD_MAX, 0);
    merge(&cur, &chg, &out);
    g_assert_cmpuint(out.v[THROTTLE_BPS_MAX_LENGTH], ==, 0);

    /* but a named length is kept, and then refused without its max */
    throttleChangeSet(&chg, THROTTLE_BPS_MAX, 0);
    throttleChangeSet(&chg, THROTTLE_BPS_MAX_LENGTH, 7);
    merge(&cur, &chg, &out);
    g_assert_cmpuint(out.v[THROTTLE_BPS_MAX_LENGTH], ==, 7);
    g_assert_cmpint(throttleValidate(&out, "vda", IOV_ERR_INVALID_ARG), ==, -1);
    g_assert_cmpstr(iovGetLastErrorMessage(), ==,
                    "invalid argument: disk 'vda': bps_max_length (7) needs bps_max: a burst length above 1 second needs a burst rate");
}

static void
testMergeZeroRemovesLimit(void)
{
    throttleDef cur = {0}, out = {0};
    throttleChange chg = {0};

    cur.v[THROTTLE_BPS] = 1000;
    throttleChangeSet(&chg, THROTTLE_BPS, 0);
    merge(&cur, &chg, &out);
    g_assert_true(throttleDefIsUnlimited(&out));
}

static void
testMergeGroup(void)
{
    throttleDef cur = {0}, out = {0};
    throttleChange chg = {0};

    throttleChangeSetGroup(&chg, "shared");
    merge(&cur, &chg, &out);
    g_assert_cmpstr(out.group, ==, "shared");
    cur.group = g_strdup("shared");
    throttleDefClear(&out);
    /* an empty group name leaves the group */
    throttleChangeSetGroup(&chg, "");
    merge(&cur, &chg, &out);
    g_assert_null(out.group);
    throttleDefClear(&cur);
}

static void
testLengthOneIsDefault(void)
{
    throttleDef a = {0}, b = {0}, out = {0};
    throttleChange chg = {0};

    a.v[THROTTLE_BPS] = 10;
    a.v[THROTTLE_BPS_MAX] = 20;
    b = a;
    b.v[THROTTLE_BPS_MAX_LENGTH] = 1;
    g_assert_true(throttleDefSameLimits(&a, &b));
    g_assert_false(throttleDefEqual(&a, &b));
    g_assert_cmpuint(throttleEffectiveLength(&a, THROTTLE_BPS_MAX_LENGTH), ==, 1);
    b.v[THROTTLE_BPS_MAX_LENGTH] = 2;
    g_assert_false(throttleDefSameLimits(&a, &b));

    /* a length of 1 without a max is stored as 0, and allowed */
    memset(&a, 0, sizeof(a));
    throttleChangeSet(&chg, THROTTLE_BPS, 10);
    throttleChangeSet(&chg, THROTTLE_BPS_MAX_LENGTH, 1);
    merge(&a, &chg, &out);
    g_assert_cmpuint(out.v[THROTTLE_BPS_MAX_LENGTH], ==, 0);
    g_assert_cmpint(throttleValidate(&out, "vda", IOV_ERR_INVALID_ARG), ==, 0);
}

/* ---- validation: one rule each, with the exact message ---- */

typedef struct {
    const char *name;
    int ids[4];
    unsigned long long vals[4];
    const char *error; /* NULL when valid */
} ValidateCase;

static const ValidateCase validateCases[] = {
    {"total-and-read", {THROTTLE_BPS, THROTTLE_BPS_RD, -1}, {1, 2},
     "disk 'vda': bps (1) and bps_rd (2) cannot both be set: a total limit excludes read and write limits; set bps alone, or bps_rd and bps_wr"},
    {"total-and-write-iops", {THROTTLE_IOPS, THROTTLE_IOPS_WR, -1}, {1, 2},
     "disk 'vda': iops (1) and iops_wr (2) cannot both be set: a total limit excludes read and write limits; set iops alone, or iops_rd and iops_wr"},
    {"total-max-and-read-max", {THROTTLE_BPS_RD, THROTTLE_BPS_MAX, THROTTLE_BPS_RD_MAX, -1}, {1, 2, 3},
     "disk 'vda': bps_max (2) and bps_rd_max (3) cannot both be set: a total limit excludes read and write limits; set bps_max alone, or bps_rd_max and bps_wr_max"},
    {"zero-total-with-read-ok", {THROTTLE_BPS_RD, THROTTLE_BPS_WR, -1}, {1, 2}, NULL},
    {"iops-size-needs-iops", {THROTTLE_BPS, THROTTLE_IOPS_SIZE, -1}, {1, 4096},
     "disk 'vda': iops_size (4096) needs an iops limit: set iops, iops_rd or iops_wr"},
    {"iops-size-with-iops-wr", {THROTTLE_IOPS_WR, THROTTLE_IOPS_SIZE, -1}, {10, 4096}, NULL},
    {"value-1e15-ok", {THROTTLE_BPS, -1}, {1000000000000000ULL}, NULL},
    {"value-above-1e15", {THROTTLE_IOPS_RD, -1}, {1000000000000001ULL},
     "disk 'vda': iops_rd (1000000000000001) is above the maximum of 1000000000000000"},
    {"max-needs-base", {THROTTLE_IOPS_MAX, -1}, {30},
     "disk 'vda': iops_max (30) needs iops: a burst rate applies on top of a base limit"},
    {"max-below-base", {THROTTLE_BPS_WR, THROTTLE_BPS_WR_MAX, -1}, {2000, 1000},
     "disk 'vda': bps_wr_max (1000) must not be below bps_wr (2000)"},
    {"max-equal-base-ok", {THROTTLE_BPS, THROTTLE_BPS_MAX, -1}, {2000, 2000}, NULL},
    {"length-needs-max", {THROTTLE_IOPS_RD, THROTTLE_IOPS_RD_MAX_LENGTH, -1}, {5, 2},
     "disk 'vda': iops_rd_max_length (2) needs iops_rd_max: a burst length above 1 second needs a burst rate"},
    {"length-one-without-max-ok", {THROTTLE_BPS, THROTTLE_BPS_MAX_LENGTH, -1}, {5, 1}, NULL},
    {"burst-too-long", {THROTTLE_BPS, THROTTLE_BPS_MAX, THROTTLE_BPS_MAX_LENGTH, -1},
     {1000000000000ULL, 10000000000000ULL, 200},
     "disk 'vda': bps_max (10000000000000) times bps_max_length (200) exceeds 1000000000000000: the burst is too long for this burst rate"},
    {"burst-at-bound-ok", {THROTTLE_BPS, THROTTLE_BPS_MAX, THROTTLE_BPS_MAX_LENGTH, -1},
     {1000000000000ULL, 10000000000000ULL, 100}, NULL},
    {"long-burst-small-max-ok", {THROTTLE_BPS, THROTTLE_BPS_MAX, THROTTLE_BPS_MAX_LENGTH, -1},
     {1, 2, 86401}, NULL},
    {"huge-length-overflow", {THROTTLE_IOPS, THROTTLE_IOPS_MAX, THROTTLE_IOPS_MAX_LENGTH, -1},
     {1, 2, G_MAXUINT64},
     "disk 'vda': iops_max (2) times iops_max_length (18446744073709551615) exceeds 1000000000000000: the burst is too long for this burst rate"},
};

static void
testValidateCase(gconstpointer data)
{
    const ValidateCase *c = data;
    throttleDef t = {0};
    int i, rc;

    for (i = 0; i < 4 && c->ids[i] >= 0; i++)
        t.v[c->ids[i]] = c->vals[i];
    utilResetError();
    rc = throttleValidate(&t, "vda", IOV_ERR_INVALID_ARG);
    if (!c->error) {
        g_assert_cmpint(rc, ==, 0);
        g_assert_null(utilGetError());
        return;
    }
    g_assert_cmpint(rc, ==, -1);
    g_assert_cmpstr(iovGetLastError()->str2, ==, c->error);
    g_assert_cmpint(iovGetLastError()->code, ==, IOV_ERR_INVALID_ARG);
    g_assert_true(g_str_has_prefix(iovGetLastErrorMessage(), "invalid argument: "));
}

static void
testGroupNames(void)
{
    throttleDef t = {0};

    g_assert_true(throttleGroupNameValid("a"));
    g_assert_true(throttleGroupNameValid("db-shared_1.x"));
    g_assert_false(throttleGroupNameValid(""));
    g_assert_false(throttleGroupNameValid("a b"));
    g_assert_false(throttleGroupNameValid("a/b"));
    g_assert_false(throttleGroupNameValid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
    t.group = (char *)"x,y";
    g_assert_cmpint(throttleValidate(&t, "vdb", IOV_ERR_INVALID_ARG), ==, -1);
    g_assert_cmpstr(iovGetLastErrorMessage(), ==,
                    "invalid argument: disk 'vdb': group 'x,y' must be 1 to 64 characters of A-Z a-z 0-9 _ . -");
}

int
main(int argc, char **argv)
{
    size_t i;

    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/throttle/table/names-unique-and-found", testTableNamesUnique);
    g_test_add_func("/throttle/table/rfc-libvirt-qemu-names", testTableRFCNames);
    g_test_add_func("/throttle/table/relations", testTableRelations);
    g_test_add_func("/throttle/table/libvirt-order", testLibvirtOrderIsPermutation);
    g_test_add_func("/throttle/table/documented", testDocsListEveryField);
    g_test_add_func("/throttle/merge/one-member-sets-family", testMergeNamingOneMemberSetsFamily);
    g_test_add_func("/throttle/merge/keeps-unnamed", testMergeKeepsUnnamedSizeGroupLengths);
    g_test_add_func("/throttle/merge/zero-max-resets-length", testMergeZeroingMaxResetsLength);
    g_test_add_func("/throttle/merge/zero-removes-limit", testMergeZeroRemovesLimit);
    g_test_add_func("/throttle/merge/group", testMergeGroup);
    g_test_add_func("/throttle/length-one-is-default", testLengthOneIsDefault);
    g_test_add_func("/throttle/group-names", testGroupNames);
    for (i = 0; i < G_N_ELEMENTS(validateCases); i++) {
        g_autofree char *name = g_strdup_printf("/throttle/validate/%s", validateCases[i].name);

        g_test_add_data_func(name, &validateCases[i], testValidateCase);
    }
    return g_test_run();
}
