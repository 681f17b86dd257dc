/*
 * canonical.c: iovDomainXMLCanonicalize, the offline check of a domain
 * definition. The client library loads the parser (and libxml2) as a
 * module on the first call (util/module.h); the unit tests, built with
 * IOVIRT_DIRECT_XML, call it directly.
 */
#include "iovirt/iovirt.h"
#include "conf/canonical.h"
#include "util/error.h"
#include "util/module.h"

#define IOV_FROM_THIS IOV_FROM_CONF

#ifndef IOVIRT_DIRECT_XML
static const domainXMLModule *
xmlModule(void)
{
    static gsize once;
    static const domainXMLModule *mod;

    if (g_once_init_enter(&once)) {
        const domainXMLModule *(*entry)(void) = (const domainXMLModule *(*)(void))utilModuleLoad(
            DOMAIN_XML_MODULE, DOMAIN_XML_MODULE_ENTRY);

        mod = entry ? entry() : NULL;
        g_once_init_leave(&once, 1);
    }
    if (!mod && !utilGetError())
        reportError(IOV_ERR_INTERNAL_ERROR, "the module '%s' could not be loaded",
                    DOMAIN_XML_MODULE);
    return mod;
}
#endif

int
iovDomainXMLCanonicalize(const char *xml, unsigned int flags, char **canonical, char **dropped)
{
    utilResetError();
    if (!canonical) {
        reportError(IOV_ERR_INVALID_ARG, "canonical must not be NULL");
        return -1;
    }
#ifdef IOVIRT_DIRECT_XML
    return domainDefCanonicalize(xml, flags, canonical, dropped);
#else
    {
        const domainXMLModule *mod = xmlModule();

        if (!mod)
            return -1;
        if (mod->canonicalize(xml, flags, canonical, dropped) < 0) {
            const iovError *err = mod->lastError();

            if (err)
                utilSetError(err);
            else
                reportError(IOV_ERR_INTERNAL_ERROR, "the XML check failed without saying why");
            return -1;
        }
        return 0;
    }
#endif
}
