/*
 * migrate.c: the public functions of live migration and of the domain's
 * job
 *
 * Without peer-to-peer, this client drives the two daemons as libvirt's
 * client does (version 3 with parameters): Begin on the source, Prepare
 * on the destination, Perform on the source, Finish on the destination,
 * Confirm on the source, each step's cookie handed to the next. A
 * Perform that fails has resumed the guest on the source itself, so only
 * the destination is told (Finish, cancelled); a Finish that fails is
 * told to the source (Confirm, cancelled), which resumes the guest.
 */
#include "libiovirt/libiovirt.h"
#include "remote/remote_driver.h"

#define IOV_FROM_THIS IOV_FROM_REMOTE

/* Append the string parameter `field` = `value` (both borrowed) to `a`. */
static void
appendString(GArray *a, const char *field, const char *value)
{
    remote_typed_param p = {0};

    p.field = (char *)field;
    p.value.type = IOV_TYPED_PARAM_STRING;
    p.value.remote_typed_param_value_u.s = (char *)value;
    g_array_append_val(a, p);
}

/* A wire parameter list: the caller's, then `extra` string parameters
 * (name, value pairs, NULL-terminated) unless the caller gave them. */
static int
wireParams(iovTypedParameterPtr params, int nparams, const char *const *extra, u_int *n,
           remote_typed_param **out)
{
    g_autofree remote_typed_param *given = NULL;
    GArray *a = g_array_new(FALSE, TRUE, sizeof(remote_typed_param));
    int i;

    if (nparams > 0) {
        if (!(given = remoteParamsToWire(params, nparams))) {
            g_array_free(a, TRUE);
            return -1;
        }
        g_array_append_vals(a, given, (guint)nparams);
    }
    for (; extra && extra[0]; extra += 2) {
        bool present = false;

        for (i = 0; i < nparams; i++)
            present |= strcmp(params[i].field, extra[0]) == 0;
        if (!present && extra[1])
            appendString(a, extra[0], extra[1]);
    }
    *n = a->len;
    *out = (remote_typed_param *)(void *)g_array_free(a, FALSE);
    return 0;
}

/*
 * The caller's parameters on the wire, but for the fields `replace` names
 * (pairs of field and value, up to a NULL field): each of those given the
 * value instead, or dropped when the value is NULL. The strings stay the
 * caller's. 0, or -1 with an error.
 */
static int
wireParamsReplacing(iovTypedParameterPtr params, int nparams, const char *const *replace, u_int *n,
                    remote_typed_param **out)
{
    g_autofree remote_typed_param *w = NULL;
    const char *const *r;
    GArray *a;
    u_int m = 0, i;

    if (wireParams(params, nparams, NULL, &m, &w) < 0)
        return -1;
    a = g_array_new(FALSE, TRUE, sizeof(remote_typed_param));
    for (i = 0; w && i < m; i++) {
        bool replaced = false;

        for (r = replace; r[0]; r += 2)
            replaced |= strcmp(w[i].field, r[0]) == 0;
        if (!replaced)
            g_array_append_val(a, w[i]);
    }
    for (r = replace; r[0]; r += 2) {
        if (r[1])
            appendString(a, r[0], r[1]);
    }
    *n = a->len;
    *out = (remote_typed_param *)(void *)g_array_free(a, FALSE);
    return 0;
}

static iovDomainPtr
migrateParams(iovDomainPtr dom, iovConnectPtr dconn, iovTypedParameterPtr params, int nparams,
              unsigned int flags)
{
    remote_domain_migrate_begin3_params_args bargs = {0};
    remote_domain_migrate_begin3_params_ret bret = {0};
    remote_domain_migrate_prepare3_params_args pargs = {0};
    remote_domain_migrate_prepare3_params_ret pret = {0};
    remote_domain_migrate_perform3_params_args fargs = {0};
    remote_domain_migrate_perform3_params_ret fret = {0};
    remote_domain_migrate_finish3_params_args nargs = {0};
    remote_domain_migrate_finish3_params_ret nret = {0};
    remote_domain_migrate_confirm3_params_args cargs = {0};
    g_autofree remote_typed_param *wire = NULL;
    g_autofree char *uri = NULL;
    iovDomainPtr ddom = NULL;
    unsigned int srcFlags = flags | IOV_MIGRATE_CHANGE_PROTECTION;
    u_int n = 0;
    int cancelled;

    if (flags & IOV_MIGRATE_PEER2PEER) {
        reportError(IOV_ERR_INVALID_ARG, "use iovDomainMigrateToURI3 for a peer-to-peer migration");
        return NULL;
    }
    if (wireParams(params, nparams, NULL, &n, &wire) < 0)
        return NULL;
    remoteDomainToWire(dom, &bargs.dom);
    bargs.params.params_len = n;
    bargs.params.params_val = wire;
    bargs.flags = srcFlags;
    if (remoteCallDomainMigrateBegin3Params(dom->conn, &bargs, &bret) < 0)
        return NULL;
    g_clear_pointer(&wire, g_free);

    /* Prepare: the definition Begin gave replaces any the caller gave */
    {
        const char *const prep[] = {IOV_MIGRATE_PARAM_DEST_XML, bret.xml, NULL};

        if (wireParamsReplacing(params, nparams, prep, &n, &wire) < 0)
            goto cleanup;
    }
    pargs.params.params_len = n;
    pargs.params.params_val = wire;
    pargs.cookie_in.cookie_in_len = bret.cookie_out.cookie_out_len;
    pargs.cookie_in.cookie_in_val = bret.cookie_out.cookie_out_val;
    pargs.flags = flags;
    if (remoteCallDomainMigratePrepare3Params(dconn, &pargs, &pret) < 0) {
        g_autoptr(iovError) saved = utilSaveError();

        /* the source holds its job since Begin: release it */
        remoteDomainToWire(dom, &cargs.dom);
        cargs.flags = srcFlags;
        cargs.cancelled = 1;
        remoteCallDomainMigrateConfirm3Params(dom->conn, &cargs);
        utilRestoreError(g_steal_pointer(&saved));
        goto cleanup;
    }
    g_clear_pointer(&wire, g_free);
    uri = pret.uri_out && *pret.uri_out ? g_strdup(*pret.uri_out) : NULL;

    /* Perform: the stream goes where Prepare said */
    {
        const char *const perf[] = {IOV_MIGRATE_PARAM_DEST_XML, NULL,
                                    uri ? IOV_MIGRATE_PARAM_URI : NULL, uri, NULL};

        if (wireParamsReplacing(params, nparams, perf, &n, &wire) < 0)
            goto cleanup;
    }
    remoteDomainToWire(dom, &fargs.dom);
    fargs.params.params_len = n;
    fargs.params.params_val = wire;
    fargs.cookie_in.cookie_in_len = pret.cookie_out.cookie_out_len;
    fargs.cookie_in.cookie_in_val = pret.cookie_out.cookie_out_val;
    fargs.flags = srcFlags;
    cancelled = remoteCallDomainMigratePerform3Params(dom->conn, &fargs, &fret) < 0;
    g_clear_pointer(&wire, g_free);

    /* Finish, told whether the stream completed */
    {
        const char *fin[] = {IOV_MIGRATE_PARAM_DEST_NAME, dom->name, NULL};
        g_autoptr(iovError) saved = cancelled ? utilSaveError() : NULL;

        if (wireParams(params, nparams, fin, &n, &wire) < 0)
            n = 0;
        nargs.params.params_len = n;
        nargs.params.params_val = wire;
        nargs.cookie_in.cookie_in_len = fret.cookie_out.cookie_out_len;
        nargs.cookie_in.cookie_in_val = fret.cookie_out.cookie_out_val;
        nargs.flags = flags;
        nargs.cancelled = cancelled;
        if (remoteCallDomainMigrateFinish3Params(dconn, &nargs, &nret) == 0) {
            if (!cancelled)
                ddom = remoteDomainNew(dconn, &nret.dom);
        }
        if (saved) {
            /* Perform's error is the one that counts; the source has
             * resumed the guest itself */
            utilRestoreError(g_steal_pointer(&saved));
            goto cleanup;
        }
    }
    /* Confirm: the source stops its QEMU, or resumes the guest */
    {
        g_autoptr(iovError) saved = ddom ? NULL : utilSaveError();

        remoteDomainToWire(dom, &cargs.dom);
        cargs.flags = srcFlags;
        cargs.cancelled = ddom == NULL;
        if (remoteCallDomainMigrateConfirm3Params(dom->conn, &cargs) < 0 && ddom) {
            iovDomainFree(ddom);
            ddom = NULL;
        }
        if (saved)
            utilRestoreError(g_steal_pointer(&saved));
    }

cleanup:
    xdr_free((xdrproc_t)xdr_remote_domain_migrate_begin3_params_ret, (char *)&bret);
    xdr_free((xdrproc_t)xdr_remote_domain_migrate_prepare3_params_ret, (char *)&pret);
    xdr_free((xdrproc_t)xdr_remote_domain_migrate_perform3_params_ret, (char *)&fret);
    xdr_free((xdrproc_t)xdr_remote_domain_migrate_finish3_params_ret, (char *)&nret);
    return ddom;
}

iovDomainPtr
iovDomainMigrate(iovDomainPtr dom, iovConnectPtr dconn, unsigned int flags)
{
    ENTER_DOM(dom, NULL);
    if (!dconn) {
        reportError(IOV_ERR_INVALID_CONN, "invalid destination connection pointer in %s", __func__);
        return NULL;
    }
    return migrateParams(dom, dconn, NULL, 0, flags);
}

int
iovDomainMigrateToURI3(iovDomainPtr dom, const char *dconnuri, iovTypedParameterPtr params,
                       int nparams, unsigned int flags)
{
    iovConnectPtr dconn;
    iovDomainPtr ddom;

    ENTER_DOM(dom, -1);
    if (nparams < 0 || (nparams > 0 && !params)) {
        reportError(IOV_ERR_INVALID_ARG, "params must hold nparams (%d) parameters", nparams);
        return -1;
    }
    if (flags & IOV_MIGRATE_PEER2PEER) {
        remote_domain_migrate_perform3_params_args args = {0};
        remote_domain_migrate_perform3_params_ret ret = {0};
        g_autofree remote_typed_param *wire = NULL;
        char *uri = (char *)dconnuri;
        u_int n = 0;

        if (!dconnuri || !*dconnuri) {
            reportError(IOV_ERR_INVALID_ARG,
                        "a peer-to-peer migration needs the destination's URI");
            return -1;
        }
        if (wireParams(params, nparams, NULL, &n, &wire) < 0)
            return -1;
        remoteDomainToWire(dom, &args.dom);
        args.dconnuri = &uri;
        args.params.params_len = n;
        args.params.params_val = wire;
        args.flags = flags;
        if (remoteCallDomainMigratePerform3Params(dom->conn, &args, &ret) < 0)
            return -1;
        xdr_free((xdrproc_t)xdr_remote_domain_migrate_perform3_params_ret, (char *)&ret);
        return 0;
    }
    if (!dconnuri || !*dconnuri) {
        reportError(IOV_ERR_INVALID_ARG, "a migration needs the destination's URI");
        return -1;
    }
    if (!(dconn = remoteConnectOpen(dconnuri, false)))
        return -1;
    ddom = migrateParams(dom, dconn, params, nparams, flags);
    if (ddom)
        iovDomainFree(ddom);
    {
        g_autoptr(iovError) saved = ddom ? NULL : utilSaveError();

        remoteConnectUnref(dconn);
        if (saved)
            utilRestoreError(g_steal_pointer(&saved));
    }
    return ddom ? 0 : -1;
}

/* ---- the domain's job ---- */

int
iovDomainGetJobInfo(iovDomainPtr dom, iovDomainJobInfoPtr info)
{
    remote_domain_get_job_info_args args = {0};
    remote_domain_get_job_info_ret ret = {0};

    ENTER_DOM(dom, -1);
    if (!info) {
        reportError(IOV_ERR_INVALID_ARG, "info must not be NULL");
        return -1;
    }
    remoteDomainToWire(dom, &args.dom);
    if (remoteCallDomainGetJobInfo(dom->conn, &args, &ret) < 0)
        return -1;
    info->type = ret.type;
    info->timeElapsed = ret.timeElapsed;
    info->timeRemaining = ret.timeRemaining;
    info->dataTotal = ret.dataTotal;
    info->dataProcessed = ret.dataProcessed;
    info->dataRemaining = ret.dataRemaining;
    info->memTotal = ret.memTotal;
    info->memProcessed = ret.memProcessed;
    info->memRemaining = ret.memRemaining;
    info->fileTotal = ret.fileTotal;
    info->fileProcessed = ret.fileProcessed;
    info->fileRemaining = ret.fileRemaining;
    return 0;
}

int
iovDomainGetJobStats(iovDomainPtr dom, int *type, iovTypedParameterPtr *params, int *nparams,
                     unsigned int flags)
{
    remote_domain_get_job_stats_args args = {0};
    remote_domain_get_job_stats_ret ret = {0};
    iovTypedParameterPtr out;
    int n;

    ENTER_DOM(dom, -1);
    if (!type || !params || !nparams) {
        reportError(IOV_ERR_INVALID_ARG, "type, params and nparams must not be NULL");
        return -1;
    }
    remoteDomainToWire(dom, &args.dom);
    args.flags = flags;
    if (remoteCallDomainGetJobStats(dom->conn, &args, &ret) < 0)
        return -1;
    out = calloc(ret.params.params_len + 1, sizeof(*out));
    n = remoteParamsFromWire(ret.params.params_val, ret.params.params_len, out,
                             (int)ret.params.params_len);
    *type = ret.type;
    xdr_free((xdrproc_t)xdr_remote_domain_get_job_stats_ret, (char *)&ret);
    if (n < 0) {
        free(out);
        reportError(IOV_ERR_RPC, "the daemon sent malformed job statistics");
        return -1;
    }
    *params = out;
    *nparams = n;
    return 0;
}
