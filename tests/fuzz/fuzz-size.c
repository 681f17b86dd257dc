/*
 * fuzz-size: libFuzzer target for the size-suffix parser
 *
 * A successful parse of DIGITS+SUFFIX equals DIGITS times the suffix's
 * scale; a failure always reports an error.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autofree char *s = g_strndup((const char *)data, size);
    unsigned long long v = 0, digits = 0;
    size_t n = 0;

    if (iovParseSize(s, &v) < 0) {
        if (!utilGetError())
            abort();
        return 0;
    }
    while (s[n] >= '0' && s[n] <= '9')
        n++;
    if (n == 0) /* success needs digits */
        abort();
    {
        g_autofree char *d = g_strndup(s, n);
        unsigned long long scale = utilScaleSuffix(s + n);

        if (utilParseULL(d, &digits) < 0 || scale == 0 || digits * scale != v)
            abort();
    }
    return 0;
}
