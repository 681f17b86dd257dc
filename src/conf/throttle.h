/*
 * throttle.h: the throttle field table and the limits of one disk
 *
 * Every throttle field is declared once, in throttle.c's table; the XML
 * parser and formatter, the RPC typed parameters, the QMP arguments, the
 * iovsh options and the Python keys are all driven by it.
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

#include "iovirt/iovirt.h"

/* Field ids: the order of the table, which is the order of <iothrottle>
 * attributes and of iovirt's typed parameters. */
typedef enum {
    THROTTLE_BPS = 0,
    THROTTLE_BPS_RD,
    THROTTLE_BPS_WR,
    THROTTLE_IOPS,
    THROTTLE_IOPS_RD,
    THROTTLE_IOPS_WR,
    THROTTLE_BPS_MAX,
    THROTTLE_BPS_RD_MAX,
    THROTTLE_BPS_WR_MAX,
    THROTTLE_IOPS_MAX,
    THROTTLE_IOPS_RD_MAX,
    THROTTLE_IOPS_WR_MAX,
    THROTTLE_BPS_MAX_LENGTH,
    THROTTLE_BPS_RD_MAX_LENGTH,
    THROTTLE_BPS_WR_MAX_LENGTH,
    THROTTLE_IOPS_MAX_LENGTH,
    THROTTLE_IOPS_RD_MAX_LENGTH,
    THROTTLE_IOPS_WR_MAX_LENGTH,
    THROTTLE_IOPS_SIZE,
    THROTTLE_NUM_VALUES, /* the numeric fields end here */
    THROTTLE_GROUP = THROTTLE_NUM_VALUES,
    THROTTLE_FIELD_LAST
} throttleFieldId;

/* The table row of field `id` (0 <= id < THROTTLE_FIELD_LAST). */
const iovThrottleField *throttleField(int id);

/* The field id named `name` (iovirt name or libvirt alias), or -1. */
int throttleFieldLookup(const char *name);

/* The field at position `k` of libvirt's order (get replies on libvirt
 * connections, <iotune> children), from the table's libvirt column. */
int throttleLibvirtField(int k);

/*
 * The limits of one disk. All values are in the units of the table; 0 is
 * "no limit" (for a length: the default, 1 s). A length whose max is 0 is
 * always stored as 0.
 */
typedef struct {
    unsigned long long v[THROTTLE_NUM_VALUES];
    char *group; /* owned; NULL when the disk has its own limits */
} throttleDef;

/* A set request: the values given and which fields were named. */
typedef struct {
    throttleDef def;
    bool named[THROTTLE_FIELD_LAST];
} throttleChange;

void throttleDefClear(throttleDef *t);
void throttleDefCopy(throttleDef *dst, const throttleDef *src);

/* Same stored values and group. */
bool throttleDefEqual(const throttleDef *a, const throttleDef *b);

/* Same limits as QEMU sees them (a length of 0 and of 1 are the same);
 * the group is not compared. */
bool throttleDefSameLimits(const throttleDef *a, const throttleDef *b);

/* No limit at all (the group is not looked at). */
bool throttleDefIsUnlimited(const throttleDef *t);

/* Store lengths canonically: a length whose max is 0 becomes 0. */
void throttleDefNormalize(throttleDef *t);

/* The length QEMU uses for length field `id`: 0 means 1. */
unsigned long long throttleEffectiveLength(const throttleDef *t, int id);

/*
 * throttleMerge: the result of applying `chg` to `cur`, following the
 * family rules: naming any member of the bytes, iops, bytes max or iops
 * max family sets that whole family (members not named become 0);
 * lengths, iops_size and group change only when named; a max that ends at
 * 0 takes its length (when not named) back to 0. The result is normalized
 * but not validated.
 */
void throttleMerge(const throttleDef *cur, const throttleChange *chg,
                   throttleDef *out);

/*
 * throttleValidate: check limits against QEMU's rules, in QEMU's order:
 * no total together with read/write (bytes, iops and both maxes), an
 * iops_size needs an iops limit, every value within 0..10^15, a length
 * above 1 needs its max, a max needs its base and must not be below it,
 * max times length at most 10^15; and the group name's syntax. The error
 * (reported with `code`) names the disk, the field, the value and the
 * rule.
 */
int throttleValidate(const throttleDef *t, const char *disk, int code);

/* throttleValidateNamed: the same checks, the error naming `kind` and
 * `name` ("group 'cap': ...") instead of a disk. */
int throttleValidateNamed(const throttleDef *t, const char *kind, const char *name, int code);

/* throttleGroupNameValid: 1-64 characters of [A-Za-z0-9_.-]. */
bool throttleGroupNameValid(const char *name);

/* throttleChangeAddValue: name field `id` with value `v` in `chg`. */
void throttleChangeSet(throttleChange *chg, int id, unsigned long long v);
void throttleChangeSetGroup(throttleChange *chg, const char *group);
void throttleChangeClear(throttleChange *chg);
