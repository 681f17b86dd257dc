/*
 * canonical.h: the offline check of a domain definition, and the entry
 * of the module that carries it into the client library (util/module.h)
 */
#pragma once

#include "iovirt/iovirt.h"

/* domainDefCanonicalize: parse and validate `xml` as the daemon would
 * (flags: iovDomainXMLCanonicalizeFlags) and format it back; see
 * iovDomainXMLCanonicalize. -1 with an error. */
int domainDefCanonicalize(const char *xml, unsigned int flags, char **canonical, char **dropped);

#define DOMAIN_XML_MODULE "iovirt-xml"
#define DOMAIN_XML_MODULE_ENTRY "domainXMLModuleEntry"

typedef struct {
    int (*canonicalize)(const char *xml, unsigned int flags, char **canonical, char **dropped);
    /* the module's own error of the calling thread, after a failure */
    const iovError *(*lastError)(void);
} domainXMLModule;

const domainXMLModule *domainXMLModuleEntry(void);
