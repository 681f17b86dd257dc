/*
 * tsan-xdr.c: tell ThreadSanitizer about libtirpc's padding scratch
 *
 * Compiled into every program that decodes XDR, in a build configured with
 * -Db_sanitize=thread only (docs/hacking.md).
 *
 * libtirpc's xdr_opaque(), which xdr_string() ends in, reads the padding
 * that rounds a decoded opaque or string up to four bytes into one static
 * 4-byte buffer of its own, and never reads it back. Two workers decoding
 * at once both write it: a race on bytes nobody uses, and the only one
 * here that is not iovirt's. The buffer is not exported, so its address
 * is found once, by decoding one byte through an XDR stream whose
 * getbytes records where xdr_opaque() asks for the padding to go; that
 * range alone is then declared a benign race.
 */
#include <string.h>

#include <rpc/xdr.h>

/* ThreadSanitizer's runtime exports it; no header declares it */
void AnnotateBenignRaceSized(const char *file, int line, const volatile void *mem, long size,
                             const char *description);

static char *padding;

static bool_t
recordPadding(XDR *xdrs, char *addr, u_int len)
{
    (void)xdrs;
    if (len == BYTES_PER_XDR_UNIT - 1)
        padding = addr; /* the 3 bytes after the one byte of data */
    else
        memset(addr, 0, len);
    return TRUE;
}

__attribute__((constructor)) static void
annotateXdrPadding(void)
{
    struct xdr_ops ops = {0};
    XDR xdrs = {0};
    char byte;

    ops.x_getbytes = recordPadding;
    xdrs.x_op = XDR_DECODE;
    xdrs.x_ops = &ops;
    if (xdr_opaque(&xdrs, &byte, 1) && padding)
        AnnotateBenignRaceSized(__FILE__, __LINE__, padding, BYTES_PER_XDR_UNIT,
                                "libtirpc xdr_opaque(): static scratch for padding, never read");
}
