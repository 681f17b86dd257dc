/*
 * local.c: the public functions answered without a daemon: the throttle
 * field table, the size parser and the offline XML check
 */
#include <string.h>

#include "iovirt/iovirt.h"
#include "conf/domain_conf.h"
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

/* ---- offline validation ---- */

#undef IOV_FROM_THIS
#define IOV_FROM_THIS IOV_FROM_CONF

int
iovDomainXMLCanonicalize(const char *xml, unsigned int flags, char **canonical, char **dropped)
{
    g_autoptr(GString) drops = g_string_new("");
    g_autoptr(domainDef) def = NULL;
    unsigned int pflags = 0, fflags = 0;

    utilResetError();
    if (!canonical) {
        reportError(IOV_ERR_INVALID_ARG, "canonical must not be NULL");
        return -1;
    }
    if (flags & ~(unsigned int)(IOV_DOMAIN_XML_FROM_LIBVIRT | IOV_DOMAIN_XML_LIBVIRT_IOTUNE)) {
        reportError(IOV_ERR_INVALID_ARG, "unsupported flags (0x%x)", flags);
        return -1;
    }
    if (flags & IOV_DOMAIN_XML_FROM_LIBVIRT)
        pflags |= DOMAIN_PARSE_FROM_LIBVIRT;
    if (flags & IOV_DOMAIN_XML_LIBVIRT_IOTUNE)
        fflags |= DOMAIN_FORMAT_LIBVIRT_IOTUNE;
    def = domainDefParseString(xml, pflags, drops);
    if (!def)
        return -1;
    *canonical = domainDefFormat(def, fflags);
    if (!*canonical)
        return -1;
    if (dropped)
        *dropped = g_string_free(g_steal_pointer(&drops), FALSE);
    return 0;
}
