/*
 * units.h: strict number parsing and size suffixes
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

/* utilParseULL: parse `str` as a plain decimal unsigned integer: digits
 * only, no sign, no spaces, no leading '+', at most 2^64-1. Returns 0 and
 * sets *value, or -1 without reporting (the caller names the field). */
int utilParseULL(const char *str, unsigned long long *value);

/* utilScaleSuffix: the multiplier for a size suffix as virsh reads it
 * ("" and b/byte/bytes = 1, k/KiB = 1024, KB = 1000, up to E), case
 * insensitive; 0 when the suffix is unknown. */
unsigned long long utilScaleSuffix(const char *suffix);

/* utilParseSize: like iovParseSize, reporting IOV_ERR_INVALID_ARG or
 * IOV_ERR_OVERFLOW with a message that names `str`. */
int utilParseSize(const char *str, unsigned long long *value);

/* utilScaleToKiB: convert `value` given in `unit` (libvirt's memory units;
 * NULL means KiB) to KiB, rounding up. Returns -1 (no report) on an
 * unknown unit or an overflow. */
int utilScaleToKiB(unsigned long long value, const char *unit,
                   unsigned long long *kib);
