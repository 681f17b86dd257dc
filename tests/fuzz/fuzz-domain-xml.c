/*
 * fuzz-domain-xml: libFuzzer target for the domain XML parser
 *
 * Any input either fails with an error set, or parses into a definition
 * whose canonical form parses again to the same canonical form, in both
 * the plain and the libvirt-conversion modes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf/domain_conf.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
checkRoundTrip(domainDef *def)
{
    unsigned int fflags[] = {0, DOMAIN_FORMAT_LIBVIRT_IOTUNE};
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(fflags); i++) {
        g_autofree char *out = domainDefFormat(def, fflags[i]);
        g_autofree char *out2 = NULL;
        domainDef *again;

        if (!out)
            abort();
        again = domainDefParseString(out, 0, NULL);
        if (!again)
            abort();
        out2 = domainDefFormat(again, fflags[i]);
        if (!out2 || strcmp(out, out2) != 0)
            abort();
        domainDefFree(again);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autofree char *xml = g_strndup((const char *)data, size);
    g_autoptr(GString) dropped = g_string_new("");
    unsigned int pflags[] = {0, DOMAIN_PARSE_FROM_LIBVIRT};
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(pflags); i++) {
        domainDef *def;

        utilResetError();
        def = domainDefParseString(xml, pflags[i], dropped);
        if (!def) {
            if (!utilGetError())
                abort(); /* every failure says why */
            continue;
        }
        checkRoundTrip(def);
        domainDefFree(def);
    }
    return 0;
}
