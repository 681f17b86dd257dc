/*
 * units.c: strict number parsing and size suffixes
 */
#include <string.h>

#include "error.h"
#include "units.h"

#define IOV_FROM_THIS IOV_FROM_NONE

int
utilParseULL(const char *str, unsigned long long *value)
{
    unsigned long long v = 0;
    const char *p;

    if (!str || !*str)
        return -1;
    for (p = str; *p; p++) {
        unsigned int d;

        if (*p < '0' || *p > '9')
            return -1;
        d = (unsigned int)(*p - '0');
        if (v > (G_MAXUINT64 - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *value = v;
    return 0;
}

unsigned long long
utilScaleSuffix(const char *suffix)
{
    static const char letters[] = "kmgtpe";
    const char *pos;
    unsigned long long base, scale = 1;
    int power, i;

    if (!*suffix || g_ascii_strcasecmp(suffix, "b") == 0 ||
        g_ascii_strcasecmp(suffix, "byte") == 0 ||
        g_ascii_strcasecmp(suffix, "bytes") == 0)
        return 1;
    pos = strchr(letters, g_ascii_tolower(suffix[0]));
    if (!pos)
        return 0;
    power = (int)(pos - letters) + 1;
    if (suffix[1] == '\0' || g_ascii_strcasecmp(suffix + 1, "iB") == 0)
        base = 1024;
    else if (g_ascii_strcasecmp(suffix + 1, "B") == 0)
        base = 1000;
    else
        return 0;
    for (i = 0; i < power; i++)
        scale *= base;
    return scale;
}

int
utilParseSize(const char *str, unsigned long long *value)
{
    const char *p = str;
    unsigned long long scale, num;
    g_autofree char *digits = NULL;

    if (!str || !*str) {
        reportError(IOV_ERR_INVALID_ARG, "empty size value");
        return -1;
    }
    while (*p >= '0' && *p <= '9')
        p++;
    if (p == str) {
        reportError(IOV_ERR_INVALID_ARG,
                    "'%s' is not a non-negative integer with an optional size suffix", str);
        return -1;
    }
    digits = g_strndup(str, (gsize)(p - str));
    if (utilParseULL(digits, &num) < 0) {
        reportError(IOV_ERR_OVERFLOW, "'%s' does not fit in 64 bits", str);
        return -1;
    }
    scale = utilScaleSuffix(p);
    if (scale == 0) {
        reportError(IOV_ERR_INVALID_ARG, "unknown suffix '%s' in '%s'", p, str);
        return -1;
    }
    if (num > G_MAXUINT64 / scale) {
        reportError(IOV_ERR_OVERFLOW, "'%s' does not fit in 64 bits", str);
        return -1;
    }
    *value = num * scale;
    return 0;
}

int
utilScaleToKiB(unsigned long long value, const char *unit,
               unsigned long long *kib)
{
    unsigned long long scale;

    if (!unit)
        unit = "KiB";
    scale = utilScaleSuffix(unit);
    /* "" would mean bytes for sizes but is not a memory unit */
    if (scale == 0 || !*unit)
        return -1;
    if (value != 0 && scale > G_MAXUINT64 / value)
        return -1;
    value *= scale;
    *kib = value / 1024 + (value % 1024 ? 1 : 0);
    return 0;
}
