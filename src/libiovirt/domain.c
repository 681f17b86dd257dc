/*
 * domain.c: the public functions of domains: handles, lookups, definition,
 * life cycle and the list of disks
 */
#include <stdlib.h>
#include <string.h>

#include "libiovirt/libiovirt.h"
#include "conf/domain_conf.h"

#define IOV_FROM_THIS IOV_FROM_REMOTE

/* ---- the handle ---- */

int
iovDomainRef(iovDomainPtr dom)
{
    ENTER_DOM(dom, -1);
    g_atomic_int_inc(&dom->refs);
    return 0;
}

int
iovDomainFree(iovDomainPtr dom)
{
    ENTER_DOM(dom, -1);
    if (!g_atomic_int_dec_and_test(&dom->refs))
        return 0;
    remoteConnectUnref(dom->conn);
    g_free(dom->name);
    g_free(dom);
    return 0;
}

const char *
iovDomainGetName(iovDomainPtr dom)
{
    ENTER_DOM(dom, NULL);
    return dom->name;
}

int
iovDomainGetUUID(iovDomainPtr dom, unsigned char *uuid)
{
    ENTER_DOM(dom, -1);
    if (!uuid) {
        reportError(IOV_ERR_INVALID_ARG, "uuid must not be NULL");
        return -1;
    }
    memcpy(uuid, dom->uuid, 16);
    return 0;
}

int
iovDomainGetUUIDString(iovDomainPtr dom, char *buf)
{
    ENTER_DOM(dom, -1);
    if (!buf) {
        reportError(IOV_ERR_INVALID_ARG, "buf must not be NULL");
        return -1;
    }
    domainUUIDFormat(dom->uuid, buf);
    return 0;
}

int
iovDomainGetID(iovDomainPtr dom)
{
    ENTER_DOM(dom, -1);
    return g_atomic_int_get(&dom->id);
}

/* ---- lookups (the others are generated) ---- */

iovDomainPtr
iovDomainLookupByUUIDString(iovConnectPtr conn, const char *uuid)
{
    unsigned char raw[16];

    ENTER_CONN(conn, NULL);
    if (!uuid || domainUUIDParse(uuid, raw) < 0) {
        reportError(IOV_ERR_INVALID_ARG, "'%s' is not a uuid", uuid ? uuid : "");
        return NULL;
    }
    return iovDomainLookupByUUID(conn, raw);
}

/* ---- life cycle: what the generated functions do not cover ---- */

int
iovDomainUndefine(iovDomainPtr dom)
{
    remote_domain_undefine_flags_args args = {0};

    ENTER_DOM(dom, -1);
    remoteDomainToWire(dom, &args.dom);
    return remoteCallDomainUndefineFlags(dom->conn, &args);
}

int
iovDomainCreateWithFlags(iovDomainPtr dom, unsigned int flags)
{
    remote_domain_create_with_flags_args args = {0};
    remote_domain_create_with_flags_ret ret = {0};

    ENTER_DOM(dom, -1);
    remoteDomainToWire(dom, &args.dom);
    args.flags = flags;
    if (remoteCallDomainCreateWithFlags(dom->conn, &args, &ret) < 0)
        return -1;
    g_atomic_int_set(&dom->id, ret.dom.id);
    xdr_free((xdrproc_t)xdr_remote_domain_create_with_flags_ret, (char *)&ret);
    return 0;
}

int
iovDomainCreate(iovDomainPtr dom)
{
    return iovDomainCreateWithFlags(dom, 0);
}

int
iovDomainDestroy(iovDomainPtr dom)
{
    remote_domain_destroy_args args = {0};

    ENTER_DOM(dom, -1);
    remoteDomainToWire(dom, &args.dom);
    if (remoteCallDomainDestroy(dom->conn, &args) < 0)
        return -1;
    g_atomic_int_set(&dom->id, -1);
    return 0;
}

int
iovDomainGetInfo(iovDomainPtr dom, iovDomainInfoPtr info)
{
    remote_domain_get_info_args args = {0};
    remote_domain_get_info_ret ret = {0};

    ENTER_DOM(dom, -1);
    if (!info) {
        reportError(IOV_ERR_INVALID_ARG, "info must not be NULL");
        return -1;
    }
    remoteDomainToWire(dom, &args.dom);
    if (remoteCallDomainGetInfo(dom->conn, &args, &ret) < 0)
        return -1;
    info->state = ret.state;
    info->maxMem = ret.maxMem;
    info->memory = ret.memory;
    info->nrVirtCpu = ret.nrVirtCpu;
    info->cpuTime = ret.cpuTime;
    return 0;
}

int
iovDomainGetState(iovDomainPtr dom, int *state, int *reason, unsigned int flags)
{
    remote_domain_get_state_args args = {0};
    remote_domain_get_state_ret ret = {0};

    ENTER_DOM(dom, -1);
    if (!state) {
        reportError(IOV_ERR_INVALID_ARG, "state must not be NULL");
        return -1;
    }
    remoteDomainToWire(dom, &args.dom);
    args.flags = flags;
    if (remoteCallDomainGetState(dom->conn, &args, &ret) < 0)
        return -1;
    *state = ret.state;
    if (reason)
        *reason = ret.reason;
    return 0;
}

/* ---- the disks of a domain (iovirt's own program) ---- */

/* A new copy of `s`, aborting when memory runs out (as the calls above). */
static char *
dupOrAbort(const char *s)
{
    char *c = strdup(s);

    if (!c)
        abort();
    return c;
}

int
iovDomainListDisks(iovDomainPtr dom, iovDomainDiskPtr **disks, unsigned int flags)
{
    iovirt_domain_list_disks_args args = {0};
    iovirt_domain_list_disks_ret ret = {0};
    int n;
    u_int i, j;

    ENTER_DOM(dom, -1);
    remoteDomainToWire(dom, &args.dom);
    args.flags = flags;
    if (remoteCallDomainListDisks(dom->conn, &args, &ret) < 0)
        return -1;
    n = (int)ret.disks.disks_len;
    if (disks) {
        iovDomainDiskPtr *out = calloc(ret.disks.disks_len + 1, sizeof(iovDomainDiskPtr));

        if (!out)
            abort();
        for (i = 0; i < ret.disks.disks_len; i++) {
            const iovirt_domain_disk *w = &ret.disks.disks_val[i];
            iovDomainDiskPtr d = calloc(1, sizeof(*d));

            if (!d || !(d->filters = calloc(w->filters.filters_len + 1, sizeof(char *))))
                abort();
            d->target = dupOrAbort(w->target);
            d->source = dupOrAbort(w->source);
            d->group = dupOrAbort(w->group);
            for (j = 0; j < w->filters.filters_len; j++)
                d->filters[j] = dupOrAbort(w->filters.filters_val[j]);
            d->flags = w->flags;
            out[i] = d;
        }
        *disks = out;
    }
    xdr_free((xdrproc_t)xdr_iovirt_domain_list_disks_ret, (char *)&ret);
    return n;
}

void
iovDomainDiskFree(iovDomainDiskPtr disk)
{
    size_t i;

    if (!disk)
        return;
    free(disk->target);
    free(disk->source);
    free(disk->group);
    for (i = 0; disk->filters && disk->filters[i]; i++)
        free(disk->filters[i]);
    free(disk->filters);
    free(disk);
}
