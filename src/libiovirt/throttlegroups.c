/*
 * throttlegroups.c: the public functions of a domain's named throttle
 * groups, calls of iovirt's own program
 */
#include <stdlib.h>

#include "libiovirt/libiovirt.h"

#define IOV_FROM_THIS IOV_FROM_REMOTE

/* The group argument every call needs. */
static int
checkGroup(const char *group)
{
    if (!group || !*group) {
        reportError(IOV_ERR_INVALID_ARG, "no throttle group given");
        return -1;
    }
    return 0;
}

int
iovDomainSetThrottleGroup(iovDomainPtr dom, const char *group, iovTypedParameterPtr params,
                          int nparams, unsigned int flags)
{
    iovirt_domain_set_throttle_group_args args = {0};
    g_autofree remote_typed_param *wire = NULL;

    ENTER_DOM(dom, -1);
    if (checkGroup(group) < 0)
        return -1;
    if (nparams < 0 || (nparams > 0 && !params)) {
        reportError(IOV_ERR_INVALID_ARG, "params are needed for nparams %d", nparams);
        return -1;
    }
    if (nparams > REMOTE_DOMAIN_BLOCK_IO_TUNE_PARAMETERS_MAX) {
        reportError(IOV_ERR_INVALID_ARG, "%d parameters are more than the %d allowed", nparams,
                    REMOTE_DOMAIN_BLOCK_IO_TUNE_PARAMETERS_MAX);
        return -1;
    }
    if (nparams > 0 && !(wire = remoteParamsToWire(params, nparams)))
        return -1;
    remoteDomainToWire(dom, &args.dom);
    args.group = (char *)group;
    args.params.params_len = (u_int)nparams;
    args.params.params_val = wire;
    args.flags = flags;
    return remoteCallDomainSetThrottleGroup(dom->conn, &args);
}

int
iovDomainGetThrottleGroup(iovDomainPtr dom, const char *group, iovTypedParameterPtr *params,
                          int *nparams, unsigned int flags)
{
    iovirt_domain_get_throttle_group_args args = {0};
    iovirt_domain_get_throttle_group_ret ret = {0};
    iovTypedParameterPtr out;
    int n;

    ENTER_DOM(dom, -1);
    if (checkGroup(group) < 0)
        return -1;
    if (!params || !nparams) {
        reportError(IOV_ERR_INVALID_ARG, "params and nparams must not be NULL");
        return -1;
    }
    remoteDomainToWire(dom, &args.dom);
    args.group = (char *)group;
    args.flags = flags;
    if (remoteCallDomainGetThrottleGroup(dom->conn, &args, &ret) < 0)
        return -1;
    out = calloc(ret.params.params_len ? ret.params.params_len : 1, sizeof(*out));
    if (!out)
        abort();
    n = remoteParamsFromWire(ret.params.params_val, ret.params.params_len, out,
                             (int)ret.params.params_len);
    xdr_free((xdrproc_t)xdr_iovirt_domain_get_throttle_group_ret, (char *)&ret);
    if (n < 0) {
        free(out);
        return -1;
    }
    *params = out;
    *nparams = n;
    return 0;
}

int
iovDomainDelThrottleGroup(iovDomainPtr dom, const char *group, unsigned int flags)
{
    iovirt_domain_del_throttle_group_args args = {0};

    ENTER_DOM(dom, -1);
    if (checkGroup(group) < 0)
        return -1;
    remoteDomainToWire(dom, &args.dom);
    args.group = (char *)group;
    args.flags = flags;
    return remoteCallDomainDelThrottleGroup(dom->conn, &args);
}

int
iovDomainSetDiskThrottleFilters(iovDomainPtr dom, const char *disk, const char **groups,
                                int ngroups, unsigned int flags)
{
    iovirt_domain_set_disk_throttle_filters_args args = {0};
    int i;

    ENTER_DOM(dom, -1);
    if (!disk || !*disk) {
        reportError(IOV_ERR_INVALID_ARG, "no disk given");
        return -1;
    }
    if (ngroups < 0 || (ngroups > 0 && !groups)) {
        reportError(IOV_ERR_INVALID_ARG, "groups are needed for ngroups %d", ngroups);
        return -1;
    }
    if (ngroups > IOVIRT_THROTTLE_FILTERS_MAX) {
        reportError(IOV_ERR_INVALID_ARG, "disk '%s': at most %d throttle filters per disk", disk,
                    IOVIRT_THROTTLE_FILTERS_MAX);
        return -1;
    }
    for (i = 0; i < ngroups; i++) {
        if (checkGroup(groups[i]) < 0)
            return -1;
    }
    remoteDomainToWire(dom, &args.dom);
    args.disk = (char *)disk;
    args.groups.groups_len = (u_int)ngroups;
    args.groups.groups_val = (char **)groups;
    args.flags = flags;
    return remoteCallDomainSetDiskThrottleFilters(dom->conn, &args);
}

int
iovDomainListThrottleGroups(iovDomainPtr dom, char ***names, unsigned int flags)
{
    iovirt_domain_list_throttle_groups_args args = {0};
    iovirt_domain_list_throttle_groups_ret ret = {0};
    int n;
    u_int i;

    ENTER_DOM(dom, -1);
    remoteDomainToWire(dom, &args.dom);
    args.flags = flags;
    if (remoteCallDomainListThrottleGroups(dom->conn, &args, &ret) < 0)
        return -1;
    n = (int)ret.groups.groups_len;
    if (names) {
        char **out = calloc(ret.groups.groups_len + 1, sizeof(char *));

        if (!out)
            abort();
        for (i = 0; i < ret.groups.groups_len; i++) {
            if (!(out[i] = strdup(ret.groups.groups_val[i])))
                abort();
        }
        *names = out;
    }
    xdr_free((xdrproc_t)xdr_iovirt_domain_list_throttle_groups_ret, (char *)&ret);
    return n;
}
