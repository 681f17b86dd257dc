/*
 * throttle.c: the throttle field table, and merging and validating limits
 */
#include <string.h>

#include "throttle.h"
#include "util/error.h"

#define IOV_FROM_THIS IOV_FROM_CONF

#define BPS IOV_THROTTLE_UNIT_BYTES_PER_SEC
#define IOPS IOV_THROTTLE_UNIT_IOPS
#define SECS IOV_THROTTLE_UNIT_SECONDS
#define ULL IOV_TYPED_PARAM_ULLONG

/* name, alias, QEMU key, family, type, unit, unit name, help,
 * base, max, length, accepts suffix,
 * libvirt position, is a length, sets its whole family, total it excludes */
static const iovThrottleField fields[THROTTLE_FIELD_LAST] = {
    [THROTTLE_BPS] = {"bps", "total_bytes_sec", "bps-total",
        IOV_THROTTLE_FAMILY_BYTES, ULL, BPS, "bytes/s",
        "total bytes per second, reads and writes together",
        -1, THROTTLE_BPS_MAX, THROTTLE_BPS_MAX_LENGTH, 1,
        0, 0, 1, -1},
    [THROTTLE_BPS_RD] = {"bps_rd", "read_bytes_sec", "bps-read",
        IOV_THROTTLE_FAMILY_BYTES, ULL, BPS, "bytes/s",
        "bytes read per second",
        -1, THROTTLE_BPS_RD_MAX, THROTTLE_BPS_RD_MAX_LENGTH, 1,
        1, 0, 1, THROTTLE_BPS},
    [THROTTLE_BPS_WR] = {"bps_wr", "write_bytes_sec", "bps-write",
        IOV_THROTTLE_FAMILY_BYTES, ULL, BPS, "bytes/s",
        "bytes written per second",
        -1, THROTTLE_BPS_WR_MAX, THROTTLE_BPS_WR_MAX_LENGTH, 1,
        2, 0, 1, THROTTLE_BPS},
    [THROTTLE_IOPS] = {"iops", "total_iops_sec", "iops-total",
        IOV_THROTTLE_FAMILY_IOPS, ULL, IOPS, "IO/s",
        "total I/O operations per second, reads and writes together",
        -1, THROTTLE_IOPS_MAX, THROTTLE_IOPS_MAX_LENGTH, 0,
        3, 0, 1, -1},
    [THROTTLE_IOPS_RD] = {"iops_rd", "read_iops_sec", "iops-read",
        IOV_THROTTLE_FAMILY_IOPS, ULL, IOPS, "IO/s",
        "read operations per second",
        -1, THROTTLE_IOPS_RD_MAX, THROTTLE_IOPS_RD_MAX_LENGTH, 0,
        4, 0, 1, THROTTLE_IOPS},
    [THROTTLE_IOPS_WR] = {"iops_wr", "write_iops_sec", "iops-write",
        IOV_THROTTLE_FAMILY_IOPS, ULL, IOPS, "IO/s",
        "write operations per second",
        -1, THROTTLE_IOPS_WR_MAX, THROTTLE_IOPS_WR_MAX_LENGTH, 0,
        5, 0, 1, THROTTLE_IOPS},
    [THROTTLE_BPS_MAX] = {"bps_max", "total_bytes_sec_max", "bps-total-max",
        IOV_THROTTLE_FAMILY_BYTES_MAX, ULL, BPS, "bytes/s",
        "burst rate of bps, allowed for bps_max_length seconds",
        THROTTLE_BPS, -1, THROTTLE_BPS_MAX_LENGTH, 1,
        6, 0, 1, -1},
    [THROTTLE_BPS_RD_MAX] = {"bps_rd_max", "read_bytes_sec_max", "bps-read-max",
        IOV_THROTTLE_FAMILY_BYTES_MAX, ULL, BPS, "bytes/s",
        "burst rate of bps_rd, allowed for bps_rd_max_length seconds",
        THROTTLE_BPS_RD, -1, THROTTLE_BPS_RD_MAX_LENGTH, 1,
        7, 0, 1, THROTTLE_BPS_MAX},
    [THROTTLE_BPS_WR_MAX] = {"bps_wr_max", "write_bytes_sec_max", "bps-write-max",
        IOV_THROTTLE_FAMILY_BYTES_MAX, ULL, BPS, "bytes/s",
        "burst rate of bps_wr, allowed for bps_wr_max_length seconds",
        THROTTLE_BPS_WR, -1, THROTTLE_BPS_WR_MAX_LENGTH, 1,
        8, 0, 1, THROTTLE_BPS_MAX},
    [THROTTLE_IOPS_MAX] = {"iops_max", "total_iops_sec_max", "iops-total-max",
        IOV_THROTTLE_FAMILY_IOPS_MAX, ULL, IOPS, "IO/s",
        "burst rate of iops, allowed for iops_max_length seconds",
        THROTTLE_IOPS, -1, THROTTLE_IOPS_MAX_LENGTH, 0,
        9, 0, 1, -1},
    [THROTTLE_IOPS_RD_MAX] = {"iops_rd_max", "read_iops_sec_max", "iops-read-max",
        IOV_THROTTLE_FAMILY_IOPS_MAX, ULL, IOPS, "IO/s",
        "burst rate of iops_rd, allowed for iops_rd_max_length seconds",
        THROTTLE_IOPS_RD, -1, THROTTLE_IOPS_RD_MAX_LENGTH, 0,
        10, 0, 1, THROTTLE_IOPS_MAX},
    [THROTTLE_IOPS_WR_MAX] = {"iops_wr_max", "write_iops_sec_max", "iops-write-max",
        IOV_THROTTLE_FAMILY_IOPS_MAX, ULL, IOPS, "IO/s",
        "burst rate of iops_wr, allowed for iops_wr_max_length seconds",
        THROTTLE_IOPS_WR, -1, THROTTLE_IOPS_WR_MAX_LENGTH, 0,
        11, 0, 1, THROTTLE_IOPS_MAX},
    [THROTTLE_BPS_MAX_LENGTH] = {"bps_max_length", "total_bytes_sec_max_length",
        "bps-total-max-length", IOV_THROTTLE_FAMILY_BYTES_MAX_LENGTH, ULL, SECS, "s",
        "seconds bps_max may last (0 = default, 1)",
        THROTTLE_BPS, THROTTLE_BPS_MAX, -1, 0,
        14, 1, 0, -1},
    [THROTTLE_BPS_RD_MAX_LENGTH] = {"bps_rd_max_length", "read_bytes_sec_max_length",
        "bps-read-max-length", IOV_THROTTLE_FAMILY_BYTES_MAX_LENGTH, ULL, SECS, "s",
        "seconds bps_rd_max may last (0 = default, 1)",
        THROTTLE_BPS_RD, THROTTLE_BPS_RD_MAX, -1, 0,
        15, 1, 0, -1},
    [THROTTLE_BPS_WR_MAX_LENGTH] = {"bps_wr_max_length", "write_bytes_sec_max_length",
        "bps-write-max-length", IOV_THROTTLE_FAMILY_BYTES_MAX_LENGTH, ULL, SECS, "s",
        "seconds bps_wr_max may last (0 = default, 1)",
        THROTTLE_BPS_WR, THROTTLE_BPS_WR_MAX, -1, 0,
        16, 1, 0, -1},
    [THROTTLE_IOPS_MAX_LENGTH] = {"iops_max_length", "total_iops_sec_max_length",
        "iops-total-max-length", IOV_THROTTLE_FAMILY_IOPS_MAX_LENGTH, ULL, SECS, "s",
        "seconds iops_max may last (0 = default, 1)",
        THROTTLE_IOPS, THROTTLE_IOPS_MAX, -1, 0,
        17, 1, 0, -1},
    [THROTTLE_IOPS_RD_MAX_LENGTH] = {"iops_rd_max_length", "read_iops_sec_max_length",
        "iops-read-max-length", IOV_THROTTLE_FAMILY_IOPS_MAX_LENGTH, ULL, SECS, "s",
        "seconds iops_rd_max may last (0 = default, 1)",
        THROTTLE_IOPS_RD, THROTTLE_IOPS_RD_MAX, -1, 0,
        18, 1, 0, -1},
    [THROTTLE_IOPS_WR_MAX_LENGTH] = {"iops_wr_max_length", "write_iops_sec_max_length",
        "iops-write-max-length", IOV_THROTTLE_FAMILY_IOPS_MAX_LENGTH, ULL, SECS, "s",
        "seconds iops_wr_max may last (0 = default, 1)",
        THROTTLE_IOPS_WR, THROTTLE_IOPS_WR_MAX, -1, 0,
        19, 1, 0, -1},
    [THROTTLE_IOPS_SIZE] = {"iops_size", "size_iops_sec", "iops-size",
        IOV_THROTTLE_FAMILY_SIZE, ULL, IOV_THROTTLE_UNIT_BYTES, "bytes",
        "a request of N times this size counts as N operations",
        -1, -1, -1, 1,
        12, 0, 0, -1},
    [THROTTLE_GROUP] = {"group", "group_name", NULL,
        IOV_THROTTLE_FAMILY_GROUP, IOV_TYPED_PARAM_STRING, IOV_THROTTLE_UNIT_NONE, "",
        "name of a group of disks sharing these limits",
        -1, -1, -1, 0,
        13, 0, 0, -1},
};

const iovThrottleField *
throttleField(int id)
{
    if (id < 0 || id >= THROTTLE_FIELD_LAST)
        return NULL;
    return &fields[id];
}

int
throttleLibvirtField(int k)
{
    int i;

    for (i = 0; i < THROTTLE_FIELD_LAST; i++) {
        if (fields[i].libvirt_index == k)
            return i;
    }
    return -1;
}

int
throttleFieldLookup(const char *name)
{
    int i;

    if (!name)
        return -1;
    for (i = 0; i < THROTTLE_FIELD_LAST; i++) {
        if (strcmp(fields[i].name, name) == 0 ||
            strcmp(fields[i].alias, name) == 0)
            return i;
    }
    return -1;
}

/* ---- limits ---- */

void
throttleDefClear(throttleDef *t)
{
    if (!t)
        return;
    g_free(t->group);
    memset(t, 0, sizeof(*t));
}

void
throttleDefCopy(throttleDef *dst, const throttleDef *src)
{
    memcpy(dst->v, src->v, sizeof(dst->v));
    dst->group = g_strdup(src->group);
}

bool
throttleDefEqual(const throttleDef *a, const throttleDef *b)
{
    return memcmp(a->v, b->v, sizeof(a->v)) == 0 &&
           g_strcmp0(a->group, b->group) == 0;
}

unsigned long long
throttleEffectiveLength(const throttleDef *t, int id)
{
    return t->v[id] ? t->v[id] : 1;
}

bool
throttleDefSameLimits(const throttleDef *a, const throttleDef *b)
{
    int i;

    for (i = 0; i < THROTTLE_NUM_VALUES; i++) {
        if (fields[i].is_length) {
            if (throttleEffectiveLength(a, i) != throttleEffectiveLength(b, i))
                return false;
        } else if (a->v[i] != b->v[i]) {
            return false;
        }
    }
    return true;
}

bool
throttleDefIsUnlimited(const throttleDef *t)
{
    int i;

    for (i = 0; i < THROTTLE_NUM_VALUES; i++) {
        if (t->v[i])
            return false;
    }
    return true;
}

void
throttleDefNormalize(throttleDef *t)
{
    int i;

    for (i = 0; i < THROTTLE_NUM_VALUES; i++) {
        const iovThrottleField *f = &fields[i];

        if (f->is_length && t->v[f->max_index] == 0 && t->v[i] <= 1)
            t->v[i] = 0;
    }
}

void
throttleMerge(const throttleDef *cur, const throttleChange *chg,
              throttleDef *out)
{
    bool familyNamed[IOV_THROTTLE_FAMILY_LAST] = {false};
    throttleDef res;
    int i;

    memset(&res, 0, sizeof(res));
    for (i = 0; i < THROTTLE_FIELD_LAST; i++) {
        if (chg->named[i])
            familyNamed[fields[i].family] = true;
    }
    for (i = 0; i < THROTTLE_NUM_VALUES; i++) {
        if (chg->named[i])
            res.v[i] = chg->def.v[i];
        else if (fields[i].whole_family && familyNamed[fields[i].family])
            res.v[i] = 0;
        else
            res.v[i] = cur->v[i];
    }
    /* a max that ends at 0 takes its length back to the default */
    for (i = 0; i < THROTTLE_NUM_VALUES; i++) {
        const iovThrottleField *f = &fields[i];

        if (f->is_length && !chg->named[i] && res.v[f->max_index] == 0)
            res.v[i] = 0;
    }
    if (chg->named[THROTTLE_GROUP])
        res.group = chg->def.group && *chg->def.group ? g_strdup(chg->def.group)
                                                      : NULL;
    else
        res.group = g_strdup(cur->group);
    throttleDefNormalize(&res);
    *out = res;
}

bool
throttleGroupNameValid(const char *name)
{
    size_t len = strlen(name), i;

    if (len < 1 || len > 64)
        return false;
    for (i = 0; i < len; i++) {
        char c = name[i];

        if (!g_ascii_isalnum(c) && c != '_' && c != '.' && c != '-')
            return false;
    }
    return true;
}

/* The read (first) and write (second) fields that exclude `total`. */
static void
excludedBy(int total, int *rd, int *wr)
{
    int i;

    *rd = *wr = -1;
    for (i = 0; i < THROTTLE_FIELD_LAST; i++) {
        if (fields[i].total_index != total)
            continue;
        if (*rd < 0)
            *rd = i;
        else
            *wr = i;
    }
}

/* The names of the first, second and last member of `family`. */
static void
familyNames(int family, const char *names[3])
{
    int i, n = 0;

    names[0] = names[1] = names[2] = "";
    for (i = 0; i < THROTTLE_FIELD_LAST; i++) {
        if (fields[i].family == family)
            names[n < 2 ? n++ : 2] = fields[i].name;
    }
}

/* Whether any member of `family` is set. */
static bool
familySet(const throttleDef *t, int family)
{
    int i;

    for (i = 0; i < THROTTLE_NUM_VALUES; i++) {
        if (fields[i].family == family && t->v[i])
            return true;
    }
    return false;
}

int
throttleValidateNamed(const throttleDef *t, const char *kind, const char *disk, int code)
{
    const unsigned long long *v = t->v;
    const char *iops[3];
    int i;

    /* a total excludes its read and write fields, family by family */
    for (i = 0; i < THROTTLE_NUM_VALUES; i++) {
        int total = fields[i].total_index;
        int rd, wr;

        if (total < 0 || !v[total] || !v[i])
            continue;
        excludedBy(total, &rd, &wr);
        reportError(
            code,
            "%s '%s': %s (%llu) and %s (%llu) cannot both be set: a total limit excludes read and write limits; set %s alone, or %s and %s",
            kind, disk, fields[total].name, v[total], fields[i].name, v[i], fields[total].name,
            fields[rd].name, fields[wr].name);
        return -1;
    }

    if (v[THROTTLE_IOPS_SIZE] && !familySet(t, IOV_THROTTLE_FAMILY_IOPS)) {
        familyNames(IOV_THROTTLE_FAMILY_IOPS, iops);
        reportError(code, "%s '%s': %s (%llu) needs an iops limit: set %s, %s or %s", kind, disk,
                    fields[THROTTLE_IOPS_SIZE].name, v[THROTTLE_IOPS_SIZE], iops[0], iops[1],
                    iops[2]);
        return -1;
    }

    for (i = 0; i < THROTTLE_NUM_VALUES; i++) {
        if (fields[i].is_length)
            continue;
        if (v[i] > IOV_THROTTLE_VALUE_MAX) {
            reportError(code, "%s '%s': %s (%llu) is above the maximum of %llu", kind, disk,
                        fields[i].name, v[i], IOV_THROTTLE_VALUE_MAX);
            return -1;
        }
    }

    /* every base that has a burst rate and length */
    for (i = 0; i < THROTTLE_NUM_VALUES; i++) {
        int max = fields[i].max_index;
        int len = fields[i].length_index;

        if (fields[i].base_index >= 0 || max < 0 || len < 0)
            continue;
        if (v[len] > 1 && !v[max]) {
            reportError(
                code,
                "%s '%s': %s (%llu) needs %s: a burst length above 1 second needs a burst rate",
                kind, disk, fields[len].name, v[len], fields[max].name);
            return -1;
        }
        if (v[max] && !v[i]) {
            reportError(code,
                        "%s '%s': %s (%llu) needs %s: a burst rate applies on top of a base limit",
                        kind, disk, fields[max].name, v[max], fields[i].name);
            return -1;
        }
        if (v[max] && v[max] < v[i]) {
            reportError(code, "%s '%s': %s (%llu) must not be below %s (%llu)", kind, disk,
                        fields[max].name, v[max], fields[i].name, v[i]);
            return -1;
        }
        if (v[max] && throttleEffectiveLength(t, len) > IOV_THROTTLE_VALUE_MAX / v[max]) {
            reportError(
                code,
                "%s '%s': %s (%llu) times %s (%llu) exceeds %llu: the burst is too long for this burst rate",
                kind, disk, fields[max].name, v[max], fields[len].name, v[len],
                IOV_THROTTLE_VALUE_MAX);
            return -1;
        }
    }

    if (t->group && !throttleGroupNameValid(t->group)) {
        reportError(code, "%s '%s': group '%s' must be 1 to 64 characters of A-Z a-z 0-9 _ . -",
                    kind, disk, t->group);
        return -1;
    }
    return 0;
}

int
throttleValidate(const throttleDef *t, const char *disk, int code)
{
    return throttleValidateNamed(t, "disk", disk, code);
}

void
throttleChangeSet(throttleChange *chg, int id, unsigned long long v)
{
    chg->def.v[id] = v;
    chg->named[id] = true;
}

void
throttleChangeSetGroup(throttleChange *chg, const char *group)
{
    g_free(chg->def.group);
    chg->def.group = g_strdup(group);
    chg->named[THROTTLE_GROUP] = true;
}

void
throttleChangeClear(throttleChange *chg)
{
    throttleDefClear(&chg->def);
    memset(chg->named, 0, sizeof(chg->named));
}
