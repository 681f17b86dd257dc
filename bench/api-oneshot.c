/*
 * api-oneshot URI DOMAIN: one short client process, as a script would
 * run: connect, read the limits of vda once, close. api-latency times it.
 */
#include <stdio.h>

#include "iovirt/iovirt.h"

int
main(int argc, char **argv)
{
    iovTypedParameter p[20];
    int n = 20, rc = 1;
    iovConnectPtr conn;
    iovDomainPtr dom;

    if (argc != 3) {
        fprintf(stderr, "usage: api-oneshot URI DOMAIN\n");
        return 2;
    }
    conn = iovConnectOpen(argv[1]);
    dom = conn ? iovDomainLookupByName(conn, argv[2]) : NULL;
    if (dom && iovDomainGetBlockIoThrottle(dom, "vda", p, &n, 0) == 0) {
        iovTypedParamsClear(p, n);
        rc = 0;
    } else {
        fprintf(stderr, "error: %s\n", iovGetLastErrorMessage());
    }
    if (dom)
        iovDomainFree(dom);
    iovConnectClose(conn);
    return rc;
}
