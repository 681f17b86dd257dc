/*
 * uuid.c: a domain's UUID as text and back. Apart from domain_conf.c so
 * that the client library, which needs only this of the domain model,
 * links no XML parser.
 */
#include <string.h>

#include "domain_conf.h"

void
domainUUIDFormat(const unsigned char *u, char *buf)
{
    g_snprintf(buf, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
               u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
               u[13], u[14], u[15]);
}

int
domainUUIDParse(const char *str, unsigned char *uuid)
{
    size_t len = strlen(str), i, n = 0;

    if (len != 32 && len != 36)
        return -1;
    for (i = 0; i < len; i++) {
        int hi, lo;

        if (len == 36 && (i == 8 || i == 13 || i == 18 || i == 23)) {
            if (str[i] != '-')
                return -1;
            continue;
        }
        if (i + 1 >= len)
            return -1;
        hi = g_ascii_xdigit_value(str[i]);
        lo = g_ascii_xdigit_value(str[i + 1]);
        if (hi < 0 || lo < 0 || n >= 16)
            return -1;
        uuid[n++] = (unsigned char)(hi << 4 | lo);
        i++;
    }
    return n == 16 ? 0 : -1;
}
