/*
 * local.c: the public functions answered without a daemon: the throttle
 * field table and the size parser (the offline XML check is canonical.c)
 */
#include <string.h>

#include "iovirt/iovirt.h"
#include "conf/throttle.h"
#include "util/error.h"
#include "util/units.h"

/* ---- the throttle field table ---- */

int
iovThrottleFieldCount(void)
{
    return THROTTLE_FIELD_LAST;
}

const iovThrottleField *
iovThrottleFieldByIndex(int i)
{
    return throttleField(i);
}

int
iovThrottleFieldLookup(const char *name)
{
    return throttleFieldLookup(name);
}

const char *
iovThrottleUnitName(int unit)
{
    static const char *const names[IOV_THROTTLE_UNIT_LAST] = {"bytes/s", "IO/s", "s", "bytes", ""};

    if (unit < 0 || unit >= IOV_THROTTLE_UNIT_LAST)
        return "";
    return names[unit];
}

/* ---- sizes ---- */

#define IOV_FROM_THIS IOV_FROM_NONE

int
iovParseSize(const char *str, unsigned long long *value)
{
    utilResetError();
    if (!value) {
        reportError(IOV_ERR_INVALID_ARG, "value must not be NULL");
        return -1;
    }
    return utilParseSize(str, value);
}
