/*
 * limits.c: the public functions of disks: I/O limits and statistics
 */
#include "libiovirt/libiovirt.h"

#define IOV_FROM_THIS IOV_FROM_REMOTE

int
iovDomainBlockIoThrottle(iovDomainPtr dom, const char *disk, iovTypedParameterPtr params,
                         int nparams, unsigned int flags)
{
    remote_domain_set_block_io_tune_args args = {0};
    g_autofree remote_typed_param *wire = NULL;

    ENTER_DOM(dom, -1);
    if (!disk || !*disk) {
        reportError(IOV_ERR_INVALID_ARG, "no disk given");
        return -1;
    }
    if (nparams <= 0 || !params) {
        reportError(IOV_ERR_INVALID_ARG, "no limit given to set (nparams %d)", nparams);
        return -1;
    }
    if (nparams > REMOTE_DOMAIN_BLOCK_IO_TUNE_PARAMETERS_MAX) {
        reportError(IOV_ERR_INVALID_ARG, "%d parameters are more than the %d allowed", nparams,
                    REMOTE_DOMAIN_BLOCK_IO_TUNE_PARAMETERS_MAX);
        return -1;
    }
    if (!(wire = remoteParamsToWire(params, nparams)))
        return -1;
    remoteDomainToWire(dom, &args.dom);
    args.disk = (char *)disk;
    args.params.params_len = (u_int)nparams;
    args.params.params_val = wire;
    args.flags = flags;
    return remoteCallDomainSetBlockIoTune(dom->conn, &args);
}

/* The end of a get of typed parameters: with *nparams 0 the count the
 * daemon sent, else the parameters, copied into `params`. */
static int
paramsReply(const remote_typed_param *wire, u_int nwire, int count, iovTypedParameterPtr params,
            int *nparams)
{
    int n;

    if (*nparams == 0) {
        *nparams = count;
        return 0;
    }
    n = remoteParamsFromWire(wire, nwire, params, *nparams);
    if (n < 0)
        return -1;
    *nparams = n;
    return 0;
}

int
iovDomainGetBlockIoThrottle(iovDomainPtr dom, const char *disk, iovTypedParameterPtr params,
                            int *nparams, unsigned int flags)
{
    remote_domain_get_block_io_tune_args args = {0};
    remote_domain_get_block_io_tune_ret ret = {0};
    char *diskArg = (char *)disk;
    int rc;

    ENTER_DOM(dom, -1);
    if (!nparams || *nparams < 0) {
        reportError(IOV_ERR_INVALID_ARG, "nparams must point to a count >= 0");
        return -1;
    }
    if (*nparams > 0 && (!params || !disk)) {
        reportError(IOV_ERR_INVALID_ARG, "params and disk are needed when *nparams is %d",
                    *nparams);
        return -1;
    }
    if (*nparams > REMOTE_DOMAIN_BLOCK_IO_TUNE_PARAMETERS_MAX)
        *nparams = REMOTE_DOMAIN_BLOCK_IO_TUNE_PARAMETERS_MAX;
    remoteDomainToWire(dom, &args.dom);
    args.disk = disk ? &diskArg : NULL;
    args.nparams = *nparams;
    args.flags = flags | IOV_TYPED_PARAM_STRING_OKAY;
    if (remoteCallDomainGetBlockIoTune(dom->conn, &args, &ret) < 0)
        return -1;
    rc = paramsReply(ret.params.params_val, ret.params.params_len, ret.nparams, params, nparams);
    xdr_free((xdrproc_t)xdr_remote_domain_get_block_io_tune_ret, (char *)&ret);
    return rc;
}

int
iovDomainBlockStats(iovDomainPtr dom, const char *disk, iovDomainBlockStatsPtr stats, size_t size)
{
    remote_domain_block_stats_args args = {0};
    remote_domain_block_stats_ret ret = {0};
    iovDomainBlockStatsStruct s;

    ENTER_DOM(dom, -1);
    if (!disk || !stats || size > sizeof(s)) {
        reportError(IOV_ERR_INVALID_ARG, "disk, stats and a size up to %zu are needed", sizeof(s));
        return -1;
    }
    remoteDomainToWire(dom, &args.dom);
    args.path = (char *)disk;
    if (remoteCallDomainBlockStats(dom->conn, &args, &ret) < 0)
        return -1;
    s.rd_req = ret.rd_req;
    s.rd_bytes = ret.rd_bytes;
    s.wr_req = ret.wr_req;
    s.wr_bytes = ret.wr_bytes;
    s.errs = ret.errs;
    memcpy(stats, &s, size);
    return 0;
}

int
iovDomainBlockStatsFlags(iovDomainPtr dom, const char *disk, iovTypedParameterPtr params,
                         int *nparams, unsigned int flags)
{
    remote_domain_block_stats_flags_args args = {0};
    remote_domain_block_stats_flags_ret ret = {0};
    int rc;

    ENTER_DOM(dom, -1);
    if (!disk || !nparams || *nparams < 0 || (*nparams > 0 && !params)) {
        reportError(IOV_ERR_INVALID_ARG,
                    "disk, nparams and (for a count above 0) params are needed");
        return -1;
    }
    if (*nparams > REMOTE_DOMAIN_BLOCK_STATS_PARAMETERS_MAX)
        *nparams = REMOTE_DOMAIN_BLOCK_STATS_PARAMETERS_MAX;
    remoteDomainToWire(dom, &args.dom);
    args.path = (char *)disk;
    args.nparams = *nparams;
    args.flags = flags;
    if (remoteCallDomainBlockStatsFlags(dom->conn, &args, &ret) < 0)
        return -1;
    rc = paramsReply(ret.params.params_val, ret.params.params_len, ret.nparams, params, nparams);
    xdr_free((xdrproc_t)xdr_remote_domain_block_stats_flags_ret, (char *)&ret);
    return rc;
}
