/*
 * canonical.c: the offline check of a domain definition (canonical.h)
 */
#include "canonical.h"
#include "domain_conf.h"
#include "util/error.h"

#define IOV_FROM_THIS IOV_FROM_CONF

int
domainDefCanonicalize(const char *xml, unsigned int flags, char **canonical, char **dropped)
{
    g_autoptr(GString) drops = g_string_new("");
    g_autoptr(domainDef) def = NULL;
    unsigned int pflags = 0, fflags = 0;

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

static const domainXMLModule xmlModule = {
    .canonicalize = domainDefCanonicalize,
    .lastError = utilGetError,
};

const domainXMLModule *
domainXMLModuleEntry(void)
{
    return &xmlModule;
}
