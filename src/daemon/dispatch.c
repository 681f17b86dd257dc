/*
 * dispatch.c: serve the remote program's procedures
 *
 * One generic path for every call: find the procedure's row in the
 * dispatch table (indexed by procedure number, generated from the table of
 * calls), decode the arguments with the protocol's filter, check the
 * connection is open and may make the call, run the handler, and send its
 * reply or its error. Handlers (dispatch<Procedure>, prototypes generated
 * in dispatch_handlers.h) only translate between the wire structs and the
 * QEMU driver.
 */
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "dispatch.h"
#include "dispatch_handlers.h"
#include "qemu/qemu_migration.h"
#include "util/error.h"
#include "util/log.h"
#include "util/workpool.h"

#define IOV_FROM_THIS IOV_FROM_RPC

#define LIBVIRT_FEATURE_TYPED_PARAM_STRING 9
#define LIBVIRT_FEATURE_PROGRAM_KEEPALIVE 10
#define LIBVIRT_FEATURE_REMOTE_EVENT_CALLBACK 14
#define LIBVIRT_FEATURE_REMOTE_CLOSE_CALLBACK 15
/* migration: peer-to-peer, version 3, change protection, parameters */
#define LIBVIRT_FEATURE_MIGRATION_P2P 4
#define LIBVIRT_FEATURE_MIGRATION_V3 6
#define LIBVIRT_FEATURE_MIGRATE_CHANGE_PROTECTION 7
#define LIBVIRT_FEATURE_MIGRATION_PARAMS 13

#define BLOCK_STATS_NPARAMS 8

/* ---- helpers ---- */

static void
domainToWire(const qemuDomainIdent *ident, remote_nonnull_domain *out)
{
    out->name = g_strdup(ident->name);
    memcpy(out->uuid, ident->uuid, 16);
    out->id = ident->id;
}

/* Fill a reply's domain from `ident` and free it. */
static int
replyDomain(int rc, qemuDomainIdent *ident, remote_nonnull_domain *out)
{
    if (rc == 0)
        domainToWire(ident, out);
    qemuDomainIdentClear(ident);
    return rc;
}

/* ---- connection ---- */

int
dispatchConnectOpen(daemonState *d G_GNUC_UNUSED, daemonConn *c, remote_connect_open_args *args)
{
    const char *name = args->name && *args->name && **args->name ? *args->name : NULL;

    if (c->open) {
        reportError(IOV_ERR_INTERNAL_ERROR, "connection already open");
        return -1;
    }
    if (name) {
        g_autoptr(GUri) uri = g_uri_parse(name, G_URI_FLAGS_NONE, NULL);
        const char *scheme = uri ? g_uri_get_scheme(uri) : NULL;
        const char *path = uri ? g_uri_get_path(uri) : NULL;

        if (!scheme || (strcmp(scheme, "qemu") != 0 && strcmp(scheme, "iovirt") != 0) ||
            (strcmp(path, "/system") != 0 && strcmp(path, "/session") != 0)) {
            reportError(
                IOV_ERR_NO_CONNECT,
                "%s: this daemon serves iovirt:///system or ///session (and qemu:// for libvirt clients)",
                name);
            return -1;
        }
        c->libvirt = strcmp(scheme, "qemu") == 0;
    } else if (args->name && *args->name) {
        /* "": a libvirt client with no URI of its own, which reached
         * this daemon on libvirt's default socket: it is served as
         * qemu:///system (or session), as libvirtd would */
        c->libvirt = true;
    }
    if (args->flags & 1)
        c->readonly = true;
    c->open = true;
    return 0;
}

int
dispatchConnectClose(daemonState *d G_GNUC_UNUSED, daemonConn *c)
{
    c->open = false;
    return 0;
}

int
dispatchConnectGetType(daemonState *d G_GNUC_UNUSED, daemonConn *c G_GNUC_UNUSED,
                       remote_connect_get_type_ret *ret)
{
    ret->type = g_strdup("QEMU");
    return 0;
}

int
dispatchConnectGetVersion(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                          remote_connect_get_version_ret *ret)
{
    unsigned long long v;

    if (qemuDriverGetVersion(d->driver, &v) < 0)
        return -1;
    ret->hv_ver = v;
    return 0;
}

int
dispatchConnectGetLibVersion(daemonState *d G_GNUC_UNUSED, daemonConn *c G_GNUC_UNUSED,
                             remote_connect_get_lib_version_ret *ret)
{
    ret->lib_ver = IOV_VERSION_MAJOR * 1000000ULL + IOV_VERSION_MINOR * 1000ULL + IOV_VERSION_MICRO;
    return 0;
}

int
dispatchConnectGetHostname(daemonState *d G_GNUC_UNUSED, daemonConn *c G_GNUC_UNUSED,
                           remote_connect_get_hostname_ret *ret)
{
    ret->hostname = g_strdup(g_get_host_name());
    return 0;
}

int
dispatchConnectGetUri(daemonState *d, daemonConn *c, remote_connect_get_uri_ret *ret)
{
    ret->uri = g_strdup_printf("%s:///%s", c->libvirt ? "qemu" : "iovirt",
                               d->system ? "system" : "session");
    return 0;
}

int
dispatchConnectSupportsFeature(daemonState *d G_GNUC_UNUSED, daemonConn *c,
                               remote_connect_supports_feature_args *args,
                               remote_connect_supports_feature_ret *ret)
{
    /* a client asking whether keepalive is there will answer PINGs: the
     * server starts sending them (libvirtd does the same) */
    if (args->feature == LIBVIRT_FEATURE_PROGRAM_KEEPALIVE && c->client)
        rpcServerClientStartKeepalive(c->client);
    ret->supported = args->feature == LIBVIRT_FEATURE_TYPED_PARAM_STRING ||
                     args->feature == LIBVIRT_FEATURE_PROGRAM_KEEPALIVE ||
                     args->feature == LIBVIRT_FEATURE_REMOTE_EVENT_CALLBACK ||
                     args->feature == LIBVIRT_FEATURE_REMOTE_CLOSE_CALLBACK ||
                     args->feature == LIBVIRT_FEATURE_MIGRATION_P2P ||
                     args->feature == LIBVIRT_FEATURE_MIGRATION_V3 ||
                     args->feature == LIBVIRT_FEATURE_MIGRATE_CHANGE_PROTECTION ||
                     args->feature == LIBVIRT_FEATURE_MIGRATION_PARAMS;
    logDebug("feature %d asked: %s", args->feature, ret->supported ? "yes" : "no");
    return 0;
}

int
dispatchAuthList(daemonState *d G_GNUC_UNUSED, daemonConn *c G_GNUC_UNUSED,
                 remote_auth_list_ret *ret)
{
    ret->types.types_len = 1;
    ret->types.types_val = g_new0(remote_auth_type, 1);
    ret->types.types_val[0] = REMOTE_AUTH_NONE;
    return 0;
}

int
dispatchNodeGetSecurityModel(daemonState *d G_GNUC_UNUSED, daemonConn *c G_GNUC_UNUSED,
                             remote_node_get_security_model_ret *ret G_GNUC_UNUSED)
{
    /* no security driver: empty model and doi */
    return 0;
}

/* ---- domains ---- */

int
dispatchConnectListAllDomains(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                              remote_connect_list_all_domains_args *args,
                              remote_connect_list_all_domains_ret *ret)
{
    g_autofree qemuDomainIdent *list = NULL;
    size_t n = 0, i;

    if (qemuDriverListAll(d->driver, args->flags, &list, &n) < 0)
        return -1;
    if (n > REMOTE_DOMAIN_LIST_MAX) {
        for (i = 0; i < n; i++)
            qemuDomainIdentClear(&list[i]);
        reportError(IOV_ERR_RPC, "too many domains (%zu) for one reply", n);
        return -1;
    }
    ret->ret = (u_int)n;
    if (args->need_results) {
        ret->domains.domains_len = (u_int)n;
        ret->domains.domains_val = g_new0(remote_nonnull_domain, n ? n : 1);
    }
    for (i = 0; i < n; i++) {
        if (args->need_results)
            domainToWire(&list[i], &ret->domains.domains_val[i]);
        qemuDomainIdentClear(&list[i]);
    }
    return 0;
}

int
dispatchDomainLookupByName(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                           remote_domain_lookup_by_name_args *args,
                           remote_domain_lookup_by_name_ret *ret)
{
    qemuDomainIdent ident = {0};

    return replyDomain(qemuDriverLookupByName(d->driver, args->name, &ident), &ident, &ret->dom);
}

int
dispatchDomainLookupByUuid(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                           remote_domain_lookup_by_uuid_args *args,
                           remote_domain_lookup_by_uuid_ret *ret)
{
    qemuDomainIdent ident = {0};

    return replyDomain(qemuDriverLookupByUUID(d->driver, (unsigned char *)args->uuid, &ident),
                       &ident, &ret->dom);
}

int
dispatchDomainLookupById(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                         remote_domain_lookup_by_id_args *args, remote_domain_lookup_by_id_ret *ret)
{
    qemuDomainIdent ident = {0};

    return replyDomain(qemuDriverLookupByID(d->driver, args->id, &ident), &ident, &ret->dom);
}

int
dispatchDomainDefineXML(daemonState *d, daemonConn *c, remote_domain_define_xml_args *args,
                        remote_domain_define_xml_ret *ret)
{
    qemuDomainIdent ident = {0};

    return replyDomain(qemuDriverDefineXML(d->driver, args->xml, c->libvirt, &ident), &ident,
                       &ret->dom);
}

int
dispatchDomainDefineXMLFlags(daemonState *d, daemonConn *c,
                             remote_domain_define_xml_flags_args *args,
                             remote_domain_define_xml_flags_ret *ret)
{
    qemuDomainIdent ident = {0};

    /* VALIDATE (1): every definition is validated anyway */
    if (args->flags & ~1u) {
        reportError(IOV_ERR_INVALID_ARG, "unsupported flags (0x%x) in function defineXMLFlags",
                    args->flags);
        return -1;
    }
    return replyDomain(qemuDriverDefineXML(d->driver, args->xml, c->libvirt, &ident), &ident,
                       &ret->dom);
}

/* The uuid of a wire domain. */
#define UUID(args) ((const unsigned char *)(args)->dom.uuid)

int
dispatchDomainUndefine(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                       remote_domain_undefine_args *args)
{
    return qemuDriverUndefine(d->driver, UUID(args));
}

int
dispatchDomainUndefineFlags(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                            remote_domain_undefine_flags_args *args)
{
    if (args->flags) {
        reportError(
            IOV_ERR_INVALID_ARG,
            "unsupported flags (0x%x) in function undefineFlags: iovirt keeps no snapshots, nvram or managed saves",
            args->flags);
        return -1;
    }
    return qemuDriverUndefine(d->driver, UUID(args));
}

int
dispatchDomainCreate(daemonState *d, daemonConn *c G_GNUC_UNUSED, remote_domain_create_args *args)
{
    return qemuDriverCreate(d->driver, UUID(args), 0, NULL);
}

int
dispatchDomainCreateWithFlags(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                              remote_domain_create_with_flags_args *args,
                              remote_domain_create_with_flags_ret *ret)
{
    qemuDomainIdent ident = {0};

    return replyDomain(qemuDriverCreate(d->driver, UUID(args), args->flags, &ident), &ident,
                       &ret->dom);
}

int
dispatchDomainDestroy(daemonState *d, daemonConn *c G_GNUC_UNUSED, remote_domain_destroy_args *args)
{
    return qemuDriverDestroy(d->driver, UUID(args), 0);
}

int
dispatchDomainDestroyFlags(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                           remote_domain_destroy_flags_args *args)
{
    /* GRACEFUL (1): destroy always asks QEMU to end (SIGTERM) first */
    if (args->flags & ~1u) {
        reportError(IOV_ERR_INVALID_ARG, "unsupported flags (0x%x) in function destroyFlags",
                    args->flags);
        return -1;
    }
    return qemuDriverDestroy(d->driver, UUID(args), 0);
}

int
dispatchDomainShutdown(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                       remote_domain_shutdown_args *args)
{
    return qemuDriverShutdown(d->driver, UUID(args), 0);
}

int
dispatchDomainShutdownFlags(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                            remote_domain_shutdown_flags_args *args)
{
    return qemuDriverShutdown(d->driver, UUID(args), args->flags);
}

int
dispatchDomainReboot(daemonState *d, daemonConn *c G_GNUC_UNUSED, remote_domain_reboot_args *args)
{
    return qemuDriverReboot(d->driver, UUID(args), args->flags);
}

int
dispatchDomainSuspend(daemonState *d, daemonConn *c G_GNUC_UNUSED, remote_domain_suspend_args *args)
{
    return qemuDriverSuspend(d->driver, UUID(args));
}

int
dispatchDomainResume(daemonState *d, daemonConn *c G_GNUC_UNUSED, remote_domain_resume_args *args)
{
    return qemuDriverResume(d->driver, UUID(args));
}

int
dispatchDomainGetXMLDesc(daemonState *d, daemonConn *c, remote_domain_get_xml_desc_args *args,
                         remote_domain_get_xml_desc_ret *ret)
{
    /* UPDATE_CPU (4) and MIGRATABLE (8) change nothing here */
    ret->xml = qemuDriverGetXMLDesc(d->driver, UUID(args), args->flags & ~12u, c->libvirt);
    return ret->xml ? 0 : -1;
}

int
dispatchDomainGetInfo(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                      remote_domain_get_info_args *args, remote_domain_get_info_ret *ret)
{
    qemuDomainInfo info;

    if (qemuDriverGetInfo(d->driver, UUID(args), &info) < 0)
        return -1;
    ret->state = (u_char)info.state;
    ret->maxMem = info.maxMemKiB;
    ret->memory = info.memoryKiB;
    ret->nrVirtCpu = (u_short)info.vcpus;
    ret->cpuTime = info.cpuTimeNs;
    return 0;
}

int
dispatchDomainGetState(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                       remote_domain_get_state_args *args, remote_domain_get_state_ret *ret)
{
    if (args->flags) {
        reportError(IOV_ERR_INVALID_ARG, "unsupported flags (0x%x) in function getState",
                    args->flags);
        return -1;
    }
    return qemuDriverGetState(d->driver, UUID(args), &ret->state, &ret->reason);
}

/* 0 when the domain exists: the check of the procedures whose answer is
 * the same for every domain. */
static int
domainExists(daemonState *d, const remote_nonnull_domain *dom)
{
    return qemuDriverIsActive(d->driver, (const unsigned char *)dom->uuid) < 0 ? -1 : 0;
}

int
dispatchDomainGetOsType(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                        remote_domain_get_os_type_args *args, remote_domain_get_os_type_ret *ret)
{
    ret->type = g_strdup("hvm");
    return domainExists(d, &args->dom);
}

int
dispatchDomainGetAutostart(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                           remote_domain_get_autostart_args *args,
                           remote_domain_get_autostart_ret *ret)
{
    int rc = qemuDriverGetAutostart(d->driver, UUID(args));

    ret->autostart = rc;
    return rc < 0 ? -1 : 0;
}

int
dispatchDomainHasManagedSaveImage(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                                  remote_domain_has_managed_save_image_args *args,
                                  remote_domain_has_managed_save_image_ret *ret)
{
    ret->result = 0;
    return domainExists(d, &args->dom);
}

int
dispatchDomainIsActive(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                       remote_domain_is_active_args *args, remote_domain_is_active_ret *ret)
{
    int rc = qemuDriverIsActive(d->driver, UUID(args));

    ret->active = rc;
    return rc < 0 ? -1 : 0;
}

int
dispatchDomainIsPersistent(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                           remote_domain_is_persistent_args *args,
                           remote_domain_is_persistent_ret *ret)
{
    int rc = qemuDriverIsPersistent(d->driver, UUID(args));

    ret->persistent = rc;
    return rc < 0 ? -1 : 0;
}

/* ---- statistics ---- */

int
dispatchDomainBlockStats(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                         remote_domain_block_stats_args *args, remote_domain_block_stats_ret *ret)
{
    qemuBlockStats s = {0};

    if (qemuDriverBlockStats(d->driver, UUID(args), args->path, &s) < 0)
        return -1;
    ret->rd_req = (int64_t)s.rdOps;
    ret->rd_bytes = (int64_t)s.rdBytes;
    ret->wr_req = (int64_t)s.wrOps;
    ret->wr_bytes = (int64_t)s.wrBytes;
    ret->errs = (int64_t)(s.failedRdOps + s.failedWrOps + s.failedFlushOps);
    g_free(s.qdev);
    return 0;
}

static void
setLLong(remote_typed_param *p, const char *name, unsigned long long v)
{
    p->field = g_strdup(name);
    p->value.type = REMOTE_TYPED_PARAM_LLONG;
    p->value.remote_typed_param_value_u.l = (int64_t)v;
}

int
dispatchDomainBlockStatsFlags(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                              remote_domain_block_stats_flags_args *args,
                              remote_domain_block_stats_flags_ret *ret)
{
    qemuBlockStats s = {0};
    remote_typed_param all[BLOCK_STATS_NPARAMS];
    int n, i;

    /* STRING_OKAY is fine: no statistic is a string */
    if (args->flags & ~(unsigned int)IOV_TYPED_PARAM_STRING_OKAY) {
        reportError(IOV_ERR_INVALID_ARG, "unsupported flags (0x%x) in function blockStatsFlags",
                    args->flags);
        return -1;
    }
    if (args->nparams < 0 || args->nparams > REMOTE_DOMAIN_BLOCK_STATS_PARAMETERS_MAX) {
        reportError(IOV_ERR_RPC, "nparams too large");
        return -1;
    }
    if (qemuDriverBlockStats(d->driver, UUID(args), args->path, &s) < 0)
        return -1;
    g_free(s.qdev);
    if (args->nparams == 0) {
        ret->nparams = BLOCK_STATS_NPARAMS;
        return 0;
    }
    setLLong(&all[0], "rd_operations", s.rdOps);
    setLLong(&all[1], "rd_bytes", s.rdBytes);
    setLLong(&all[2], "wr_operations", s.wrOps);
    setLLong(&all[3], "wr_bytes", s.wrBytes);
    setLLong(&all[4], "flush_operations", s.flushOps);
    setLLong(&all[5], "rd_total_times", s.rdTimeNs);
    setLLong(&all[6], "wr_total_times", s.wrTimeNs);
    setLLong(&all[7], "flush_total_times", s.flushTimeNs);
    n = MIN(args->nparams, BLOCK_STATS_NPARAMS);
    ret->params.params_len = (u_int)n;
    ret->params.params_val = g_new0(remote_typed_param, n);
    memcpy(ret->params.params_val, all, sizeof(all[0]) * (size_t)n);
    for (i = n; i < BLOCK_STATS_NPARAMS; i++)
        g_free(all[i].field);
    return 0;
}

/* ---- limits ---- */

static const char *
typeName(int type)
{
    static const char *const names[] = {"unknown", "int",    "uint",    "llong",
                                        "ullong",  "double", "boolean", "string"};

    return type >= 0 && type < (int)G_N_ELEMENTS(names) ? names[type] : "unknown";
}

/* The throttle change named by typed parameters (iovirt's names or
 * libvirt's), checked as libvirt checks them. */
static int
changeFromParams(const remote_typed_param *params, u_int n, throttleChange *chg)
{
    u_int i;

    for (i = 0; i < n; i++) {
        const remote_typed_param *p = &params[i];
        int id = throttleFieldLookup(p->field);
        int want;

        if (id < 0) {
            reportError(IOV_ERR_ARGUMENT_UNSUPPORTED, "parameter '%s' not supported", p->field);
            return -1;
        }
        if (chg->named[id]) {
            reportError(IOV_ERR_INVALID_ARG, "parameter '%s' occurs multiple times", p->field);
            return -1;
        }
        want = throttleField(id)->type;
        if (p->value.type != want) {
            reportError(IOV_ERR_INVALID_ARG, "invalid type '%s' for parameter '%s', expected '%s'",
                        typeName(p->value.type), p->field, typeName(want));
            return -1;
        }
        if (id == THROTTLE_GROUP)
            throttleChangeSetGroup(chg, p->value.remote_typed_param_value_u.s);
        else
            throttleChangeSet(chg, id, p->value.remote_typed_param_value_u.ul);
    }
    return 0;
}

int
dispatchDomainSetBlockIoTune(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                             remote_domain_set_block_io_tune_args *args)
{
    throttleChange chg = {0};
    int rc = -1;

    if (changeFromParams(args->params.params_val, args->params.params_len, &chg) == 0)
        rc = qemuDriverSetBlockIoThrottle(d->driver, UUID(args), args->disk, &chg, args->flags,
                                          NULL);
    throttleChangeClear(&chg);
    return rc;
}

int
dispatchDomainGetBlockIoTune(daemonState *d, daemonConn *c,
                             remote_domain_get_block_io_tune_args *args,
                             remote_domain_get_block_io_tune_ret *ret)
{
    bool stringOk = args->flags & IOV_TYPED_PARAM_STRING_OKAY;
    unsigned int flags = args->flags & ~(unsigned int)IOV_TYPED_PARAM_STRING_OKAY;
    throttleDef t = {0};
    int k, n = 0;

    if (args->nparams < 0 || args->nparams > REMOTE_DOMAIN_BLOCK_IO_TUNE_PARAMETERS_MAX) {
        reportError(IOV_ERR_INVALID_ARG, "nparams too large");
        return -1;
    }
    if (args->nparams == 0) {
        /* the domain and the flags are still checked: LIVE on a shut-off
         * guest fails */
        int active = qemuDriverIsActive(d->driver, UUID(args));

        if (active < 0)
            return -1;
        if ((flags & IOV_DOMAIN_AFFECT_LIVE) && !active) {
            reportError(IOV_ERR_OPERATION_INVALID, "domain '%s' is not running", args->dom.name);
            return -1;
        }
        ret->nparams = THROTTLE_FIELD_LAST;
        return 0;
    }
    if (!args->disk || !*args->disk) {
        reportError(IOV_ERR_INVALID_ARG, "no disk given");
        return -1;
    }
    if (qemuDriverGetBlockIoThrottle(d->driver, UUID(args), *args->disk, flags, &t) < 0)
        return -1;
    ret->params.params_val = g_new0(remote_typed_param, THROTTLE_FIELD_LAST);
    for (k = 0; k < THROTTLE_FIELD_LAST && n < args->nparams; k++) {
        int id = c->libvirt ? throttleLibvirtField(k) : k;
        const iovThrottleField *f = throttleField(id);
        remote_typed_param *p = &ret->params.params_val[n];

        if (id == THROTTLE_GROUP && !stringOk)
            continue;
        p->field = g_strdup(c->libvirt ? f->alias : f->name);
        p->value.type = f->type;
        if (id == THROTTLE_GROUP)
            p->value.remote_typed_param_value_u.s = g_strdup(t.group ? t.group : "");
        else
            p->value.remote_typed_param_value_u.ul = t.v[id];
        n++;
    }
    ret->params.params_len = (u_int)n;
    ret->nparams = 0;
    throttleDefClear(&t);
    return 0;
}

/* ---- named throttle groups (iovirt's own program) ---- */

int
dispatchDomainSetThrottleGroup(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                               iovirt_domain_set_throttle_group_args *args)
{
    throttleChange chg = {0};
    int rc = -1;

    if (changeFromParams(args->params.params_val, args->params.params_len, &chg) == 0)
        rc = qemuDriverSetThrottleGroup(d->driver, UUID(args), args->group, &chg, args->flags);
    throttleChangeClear(&chg);
    return rc;
}

int
dispatchDomainGetThrottleGroup(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                               iovirt_domain_get_throttle_group_args *args,
                               iovirt_domain_get_throttle_group_ret *ret)
{
    throttleDef t = {0};
    int k;

    if (qemuDriverGetThrottleGroup(d->driver, UUID(args), args->group, args->flags, &t) < 0)
        return -1;
    ret->params.params_val = g_new0(remote_typed_param, THROTTLE_NUM_VALUES);
    for (k = 0; k < THROTTLE_NUM_VALUES; k++) {
        remote_typed_param *p = &ret->params.params_val[k];

        p->field = g_strdup(throttleField(k)->name);
        p->value.type = throttleField(k)->type;
        p->value.remote_typed_param_value_u.ul = t.v[k];
    }
    ret->params.params_len = THROTTLE_NUM_VALUES;
    throttleDefClear(&t);
    return 0;
}

int
dispatchDomainDelThrottleGroup(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                               iovirt_domain_del_throttle_group_args *args)
{
    return qemuDriverDelThrottleGroup(d->driver, UUID(args), args->group, args->flags);
}

int
dispatchDomainListThrottleGroups(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                                 iovirt_domain_list_throttle_groups_args *args,
                                 iovirt_domain_list_throttle_groups_ret *ret)
{
    char **names = NULL;
    int n = qemuDriverListThrottleGroups(d->driver, UUID(args), args->flags, &names);

    if (n < 0)
        return -1;
    ret->groups.groups_len = (u_int)n;
    ret->groups.groups_val = names;
    return 0;
}

int
dispatchDomainSetDiskThrottleFilters(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                                     iovirt_domain_set_disk_throttle_filters_args *args)
{
    return qemuDriverSetDiskThrottleFilters(d->driver, UUID(args), args->disk,
                                            (const char *const *)args->groups.groups_val,
                                            args->groups.groups_len, args->flags);
}

int
dispatchDomainListDisks(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                        iovirt_domain_list_disks_args *args, iovirt_domain_list_disks_ret *ret)
{
    g_autofree qemuDiskListing *disks = NULL;
    int i, n = qemuDriverListDisks(d->driver, UUID(args), args->flags, &disks);

    if (n < 0)
        return -1;
    /* the strings move into the reply, which xdr_free releases */
    ret->disks.disks_len = (u_int)n;
    ret->disks.disks_val = g_new0(iovirt_domain_disk, n + 1);
    for (i = 0; i < n; i++) {
        iovirt_domain_disk *w = &ret->disks.disks_val[i];

        w->target = g_steal_pointer(&disks[i].target);
        w->source = g_steal_pointer(&disks[i].source);
        w->group = g_steal_pointer(&disks[i].group);
        w->filters.filters_len = g_strv_length(disks[i].filters);
        w->filters.filters_val = g_steal_pointer(&disks[i].filters);
        w->flags = disks[i].flags;
    }
    return 0;
}

/* ---- monitor passthrough (libvirt's QEMU program), messages ---- */

int
dispatchDomainMonitorCommand(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                             qemu_domain_monitor_command_args *args,
                             qemu_domain_monitor_command_ret *ret)
{
    return qemuDriverMonitorCommand(d->driver, UUID(args), args->cmd, args->flags, &ret->result);
}

int
dispatchDomainGetMessages(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                          remote_domain_get_messages_args *args,
                          remote_domain_get_messages_ret *ret)
{
    char **msgs = NULL;
    int n = qemuDriverGetMessages(d->driver, UUID(args), args->flags, &msgs);

    if (n < 0)
        return -1;
    ret->msgs.msgs_len = (u_int)n;
    ret->msgs.msgs_val = msgs;
    return 0;
}

/* ---- host facts, listing by id, autostart, bulk statistics ---- */

int
dispatchConnectGetMaxVcpus(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                           remote_connect_get_max_vcpus_args *args,
                           remote_connect_get_max_vcpus_ret *ret)
{
    int n = qemuDriverGetMaxVcpus(d->driver, args->type ? *args->type : NULL);

    ret->max_vcpus = n;
    return n < 0 ? -1 : 0;
}

int
dispatchNodeGetInfo(daemonState *d, daemonConn *c G_GNUC_UNUSED, remote_node_get_info_ret *ret)
{
    qemuNodeInfo info;

    if (qemuDriverNodeInfo(d->driver, &info) < 0)
        return -1;
    memcpy(ret->model, info.model, sizeof(ret->model));
    ret->memory = info.memoryKiB;
    ret->cpus = info.cpus;
    ret->mhz = info.mhz;
    ret->nodes = info.nodes;
    ret->sockets = info.sockets;
    ret->cores = info.cores;
    ret->threads = info.threads;
    return 0;
}

int
dispatchConnectGetCapabilities(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                               remote_connect_get_capabilities_ret *ret)
{
    ret->capabilities = qemuDriverGetCapabilities(d->driver);
    return 0;
}

int
dispatchNodeGetFreeMemory(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                          remote_node_get_free_memory_ret *ret)
{
    unsigned long long bytes;

    if (qemuDriverFreeMemory(d->driver, &bytes) < 0)
        return -1;
    ret->freeMem = bytes;
    return 0;
}

int
dispatchConnectGetSysinfo(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                          remote_connect_get_sysinfo_args *args,
                          remote_connect_get_sysinfo_ret *ret)
{
    if (args->flags != 0) {
        reportError(IOV_ERR_INVALID_ARG, "unsupported flags (0x%x) in function getSysinfo", args->flags);
        return -1;
    }
    ret->sysinfo = qemuDriverGetSysinfo(d->driver);
    return 0;
}

/* The domains matching `flags`, refusing a negative or too large `max`. */
static int
listForOldCall(daemonState *d, unsigned int flags, int max, qemuDomainIdent **list, size_t *n)
{
    if (max < 0 || max > REMOTE_DOMAIN_LIST_MAX) {
        reportError(IOV_ERR_RPC, "too many domains requested (%d)", max);
        return -1;
    }
    return qemuDriverListAll(d->driver, flags, list, n);
}

int
dispatchConnectListDomains(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                           remote_connect_list_domains_args *args,
                           remote_connect_list_domains_ret *ret)
{
    g_autofree qemuDomainIdent *list = NULL;
    size_t n = 0, all = 0, i;

    if (listForOldCall(d, IOV_CONNECT_LIST_DOMAINS_ACTIVE, args->maxids, &list, &all) < 0)
        return -1;
    n = MIN(all, (size_t)args->maxids);
    ret->ids.ids_len = (u_int)n;
    ret->ids.ids_val = g_new0(int, n ? n : 1);
    for (i = 0; i < all; i++) {
        if (i < n)
            ret->ids.ids_val[i] = list[i].id;
        qemuDomainIdentClear(&list[i]);
    }
    return 0;
}

int
dispatchConnectNumOfDomains(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                            remote_connect_num_of_domains_ret *ret)
{
    ret->num = (int)qemuDriverActiveCount(d->driver);
    return 0;
}

int
dispatchConnectListDefinedDomains(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                                  remote_connect_list_defined_domains_args *args,
                                  remote_connect_list_defined_domains_ret *ret)
{
    g_autofree qemuDomainIdent *list = NULL;
    size_t n = 0, all, i;

    if (listForOldCall(d, IOV_CONNECT_LIST_DOMAINS_INACTIVE, args->maxnames, &list, &all) < 0)
        return -1;
    n = MIN(all, (size_t)args->maxnames);
    ret->names.names_len = (u_int)n;
    ret->names.names_val = g_new0(remote_nonnull_string, n ? n : 1);
    for (i = 0; i < all; i++) {
        if (i < n)
            ret->names.names_val[i] = g_steal_pointer(&list[i].name);
        qemuDomainIdentClear(&list[i]);
    }
    return 0;
}

int
dispatchConnectNumOfDefinedDomains(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                                   remote_connect_num_of_defined_domains_ret *ret)
{
    g_autofree qemuDomainIdent *list = NULL;
    size_t n = 0, i;

    if (qemuDriverListAll(d->driver, IOV_CONNECT_LIST_DOMAINS_INACTIVE, &list, &n) < 0)
        return -1;
    for (i = 0; i < n; i++)
        qemuDomainIdentClear(&list[i]);
    ret->num = (int)n;
    return 0;
}

int
dispatchDomainSetAutostart(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                           remote_domain_set_autostart_args *args)
{
    return qemuDriverSetAutostart(d->driver, UUID(args), args->autostart != 0);
}

/* libvirt's virConnectGetAllDomainStats flags beyond the list filters */
#define STATS_LIST_FILTERS 0xffu
#define STATS_NOWAIT (1u << 29)
#define STATS_BACKING (1u << 30)
#define STATS_ENFORCE (1u << 31)
#define STATS_SUPPORTED (QEMU_STATS_STATE | QEMU_STATS_CPU_TOTAL | QEMU_STATS_BLOCK | QEMU_STATS_IOTHROTTLE)

static remote_typed_param *
addParam(GArray *params, int type, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* Append a parameter named by `fmt` of `type` to `params`; the caller
 * sets its value. */
static remote_typed_param *
addParam(GArray *params, int type, const char *fmt, ...)
{
    remote_typed_param p = {0};
    va_list ap;

    va_start(ap, fmt);
    p.field = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    p.value.type = type;
    g_array_append_val(params, p);
    return &g_array_index(params, remote_typed_param, params->len - 1);
}

#define ADD_ULL(params, v, ...) \
    (addParam(params, REMOTE_TYPED_PARAM_ULLONG, __VA_ARGS__)->value.remote_typed_param_value_u.ul = (v))
#define ADD_UINT(params, v, ...) \
    (addParam(params, REMOTE_TYPED_PARAM_UINT, __VA_ARGS__)->value.remote_typed_param_value_u.ui = (v))
#define ADD_INT(params, v, ...) \
    (addParam(params, REMOTE_TYPED_PARAM_INT, __VA_ARGS__)->value.remote_typed_param_value_u.i = (v))
#define ADD_STR(params, v, ...) \
    (addParam(params, REMOTE_TYPED_PARAM_STRING, __VA_ARGS__)->value.remote_typed_param_value_u.s = g_strdup(v))

/* One domain's record: libvirt's key names for the state, cpu-total and
 * block groups, and iovirt's iothrottle group. */
static void
statsToParams(const qemuDomainStats *st, unsigned int groups, GArray *params)
{
    size_t i;
    int f;

    if (groups & QEMU_STATS_STATE) {
        ADD_INT(params, st->state, "state.state");
        ADD_INT(params, st->reason, "state.reason");
    }
    if (!st->active)
        return;
    if (groups & QEMU_STATS_CPU_TOTAL)
        ADD_ULL(params, st->cpuTimeNs, "cpu.time");
    if (groups & QEMU_STATS_BLOCK) {
        ADD_UINT(params, (u_int)st->ndisks, "block.count");
        for (i = 0; i < st->ndisks; i++) {
            const qemuDiskStats *ds = &st->disks[i];
            const qemuBlockStats *b = &ds->counters;

            ADD_STR(params, ds->target, "block.%zu.name", i);
            if (ds->path)
                ADD_STR(params, ds->path, "block.%zu.path", i);
            if (ds->haveCounters) {
                ADD_ULL(params, b->rdOps, "block.%zu.rd.reqs", i);
                ADD_ULL(params, b->rdBytes, "block.%zu.rd.bytes", i);
                ADD_ULL(params, b->rdTimeNs, "block.%zu.rd.times", i);
                ADD_ULL(params, b->wrOps, "block.%zu.wr.reqs", i);
                ADD_ULL(params, b->wrBytes, "block.%zu.wr.bytes", i);
                ADD_ULL(params, b->wrTimeNs, "block.%zu.wr.times", i);
                ADD_ULL(params, b->flushOps, "block.%zu.fl.reqs", i);
                ADD_ULL(params, b->flushTimeNs, "block.%zu.fl.times", i);
            }
            if (ds->haveSize) {
                ADD_ULL(params, ds->allocation, "block.%zu.allocation", i);
                ADD_ULL(params, ds->capacity, "block.%zu.capacity", i);
                ADD_ULL(params, ds->capacity, "block.%zu.physical", i);
            }
        }
    }
    if (groups & QEMU_STATS_IOTHROTTLE) {
        ADD_UINT(params, (u_int)st->ndisks, "iothrottle.count");
        for (i = 0; i < st->ndisks; i++) {
            const throttleDef *t = &st->disks[i].limits;

            ADD_STR(params, st->disks[i].target, "iothrottle.%zu.name", i);
            for (f = 0; f < THROTTLE_NUM_VALUES; f++)
                ADD_ULL(params, t->v[f], "iothrottle.%zu.%s", i, throttleField(f)->name);
            if (t->group)
                ADD_STR(params, t->group, "iothrottle.%zu.%s", i, throttleField(THROTTLE_GROUP)->name);
        }
    }
}

static void
clearParams(GArray *params)
{
    guint i;

    for (i = 0; i < params->len; i++)
        xdr_free((xdrproc_t)xdr_remote_typed_param, (char *)&g_array_index(params, remote_typed_param, i));
    g_array_set_size(params, 0);
}

int
dispatchConnectGetAllDomainStats(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                                 remote_connect_get_all_domain_stats_args *args,
                                 remote_connect_get_all_domain_stats_ret *ret)
{
    g_autofree qemuDomainStats *stats = NULL;
    g_autofree unsigned char *uuids = NULL;
    g_autoptr(GArray) params = g_array_new(FALSE, TRUE, sizeof(remote_typed_param));
    unsigned int groups = args->stats;
    u_int ndoms = args->doms.doms_len;
    size_t n = 0, i;
    int rc = -1;

    if (args->flags & ~(STATS_LIST_FILTERS | STATS_NOWAIT | STATS_BACKING | STATS_ENFORCE)) {
        reportError(IOV_ERR_INVALID_ARG, "unsupported flags (0x%x) in function getAllDomainStats", args->flags);
        return -1;
    }
    if (ndoms && (args->flags & STATS_LIST_FILTERS)) {
        reportError(IOV_ERR_INVALID_ARG, "a list of domains cannot be filtered (flags 0x%x)", args->flags);
        return -1;
    }
    if ((args->flags & STATS_ENFORCE) && (groups & ~STATS_SUPPORTED)) {
        reportError(IOV_ERR_ARGUMENT_UNSUPPORTED, "Stats types bits 0x%x are not supported by this daemon",
                    groups & ~STATS_SUPPORTED);
        return -1;
    }
    groups = groups ? groups & STATS_SUPPORTED : STATS_SUPPORTED;
    if (ndoms) {
        uuids = g_malloc0((size_t)ndoms * 16);
        for (i = 0; i < ndoms; i++)
            memcpy(uuids + i * 16, args->doms.doms_val[i].uuid, 16);
    }
    /* NOWAIT is what every call does: nothing here waits for a job */
    if (qemuDriverGetStats(d->driver, uuids, ndoms,
                           args->flags & STATS_LIST_FILTERS, groups, &stats, &n) < 0)
        return -1;
    ret->retStats.retStats_len = (u_int)n;
    ret->retStats.retStats_val = g_new0(remote_domain_stats_record, n ? n : 1);
    for (i = 0; i < n; i++) {
        remote_domain_stats_record *r = &ret->retStats.retStats_val[i];

        domainToWire(&stats[i].ident, &r->dom);
        statsToParams(&stats[i], groups, params);
        if (params->len > REMOTE_CONNECT_GET_ALL_DOMAIN_STATS_MAX) {
            reportError(IOV_ERR_RPC, "too many statistics (%u) for domain '%s'", params->len,
                        stats[i].ident.name);
            clearParams(params);
            goto cleanup;
        }
        r->params.params_len = params->len;
        r->params.params_val = (remote_typed_param *)(void *)g_array_steal(params, NULL);
    }
    rc = 0;
 cleanup:
    for (i = 0; i < n; i++)
        qemuDomainStatsClear(&stats[i]);
    return rc;
}

/* ---- the generic path ---- */

/* The error to send: the thread's, or one saying there was none. */
static const iovError *
currentError(void)
{
    static const iovError fallback = {
        .code = IOV_ERR_INTERNAL_ERROR,
        .domain = IOV_FROM_RPC,
        .level = IOV_ERR_ERROR,
        .int1 = -1,
        .int2 = -1,
        .message = (char *)"Library function returned error but did not set virError"};
    const iovError *err = utilGetError();

    return err ? err : &fallback;
}

bool
daemonProcImplemented(int proc)
{
    return daemonDispatchLookup(RPC_REMOTE_PROGRAM, proc) != NULL &&
           rpcRemoteProcLookup(proc) != NULL;
}

int
daemonDispatchCall(daemonState *d, daemonConn *c, int proc, void *args, void *ret)
{
    rpcHeader call = {
        .prog = RPC_REMOTE_PROGRAM,
        .vers = RPC_REMOTE_VERSION,
        .proc = proc,
        .type = RPC_CALL,
        .status = RPC_OK,
    };

    return daemonDispatchCallHeader(d, c, &call, args, ret);
}

int
daemonDispatchCallHeader(daemonState *d, daemonConn *c, const rpcHeader *call, void *args,
                         void *ret)
{
    int proc = call->proc;
    const rpcProcInfo *info = rpcProcLookup(call->prog, proc);
    const daemonDispatchRow *row = daemonDispatchLookup(call->prog, proc);

    if (!info || !row) {
        reportError(IOV_ERR_RPC, "unknown procedure: %d", proc);
        return -1;
    }
    if (!c->open && !info->beforeOpen) {
        reportError(IOV_ERR_INTERNAL_ERROR, "hypervisor connection not open");
        return -1;
    }
    if (c->readonly && !info->readonlyOk) {
        reportError(IOV_ERR_OPERATION_DENIED, "read only access prevents %s",
                    c->libvirt ? info->libvirtApi : info->api);
        return -1;
    }
    if (row->run(d, c, call, args, ret) < 0) {
        if (!utilThreadDeferred())
            logDebug("procedure %s failed: %s", info->name, utilLastErrorMessage());
        return -1;
    }
    return 0;
}

/*
 * Decode the call `msg`, run it, and hand its reply to `reply` (success:
 * the filter and the ret struct; failure: filter NULL and the error).
 * A call that deferred itself (utilThreadDefer) is not answered.
 */
typedef void (*replyFunc)(void *opaque, const rpcHeader *hdr, xdrproc_t filter, void *ret,
                          const iovError *err);

static void
dispatchMessage(daemonState *d, daemonConn *c, const rpcMessage *msg, replyFunc reply, void *opaque)
{
    const rpcHeader *hdr = &msg->header;
    const rpcProcInfo *info = rpcProcLookup(hdr->prog, hdr->proc);
    g_autofree void *args = NULL;
    g_autofree void *ret = NULL;

    utilResetError();
    if (!info || !daemonDispatchLookup(hdr->prog, hdr->proc)) {
        iovError err = {.code = IOV_ERR_RPC,
                        .domain = IOV_FROM_RPC,
                        .level = IOV_ERR_ERROR,
                        .int1 = -1,
                        .int2 = -1};

        err.message = g_strdup_printf("unknown procedure: %d", hdr->proc);
        reply(opaque, hdr, NULL, NULL, &err);
        g_free(err.message);
        return;
    }
    args = g_malloc0(info->argsSize ? info->argsSize : 1);
    ret = g_malloc0(info->retSize ? info->retSize : 1);
    if (info->argsSize && rpcMessageDecodePayload(msg, info->argsFilter, args) < 0) {
        reply(opaque, hdr, NULL, NULL, currentError());
        return;
    }
    if (daemonDispatchCallHeader(d, c, hdr, args, ret) < 0) {
        if (!utilThreadDeferred())
            reply(opaque, hdr, NULL, NULL, currentError());
    } else
        reply(opaque, hdr, info->retSize ? info->retFilter : NULL, ret, NULL);
    if (info->retSize)
        xdr_free(info->retFilter, ret);
    if (info->argsSize)
        xdr_free(info->argsFilter, args);
}

static void
replyToClient(void *opaque, const rpcHeader *hdr, xdrproc_t filter, void *ret, const iovError *err)
{
    rpcServerClient *client = opaque;

    if (err)
        rpcServerClientReplyError(client, hdr, err);
    else
        rpcServerClientReply(client, hdr, filter, ret);
}

void
daemonDispatch(rpcServer *srv G_GNUC_UNUSED, rpcServerClient *client, const rpcMessage *msg,
               void *opaque)
{
    dispatchMessage(opaque, rpcServerClientGetPrivate(client), msg, replyToClient, client);
}

/* A live set begun in the socket thread, answered when it ends. */
typedef struct {
    rpcServerClient *client; /* reference */
    rpcHeader call;
} begunCall;

static void
begunCallDone(int rc, void *opaque)
{
    begunCall *b = opaque;

    if (rc < 0)
        rpcServerClientReplyError(b->client, &b->call, currentError());
    else
        rpcServerClientReply(b->client, &b->call, NULL, NULL);
    utilResetError();
    rpcServerClientUnref(b->client);
    g_free(b);
}

/*
 * A live limit change, begun here when it can end without this thread
 * waiting (qemuDriverSetBlockIoThrottleBegin): QEMU's reply then comes to
 * this thread's loop, which answers. False when a worker is to run it as
 * any call: a connection not open or read-only, arguments that do not
 * decode or convert, a change that is not only new live limits, a job or
 * monitor in use. The worker then says what is wrong, if anything.
 */
static bool
beginSetBlockIoTune(daemonState *d, daemonConn *c, rpcServerClient *client, const rpcMessage *msg)
{
    remote_domain_set_block_io_tune_args args = {0};
    throttleChange chg = {0};
    begunCall *b;
    int rc = 0;

    if (!c->open || c->readonly)
        return false;
    if (rpcMessageDecodePayload(msg, (xdrproc_t)xdr_remote_domain_set_block_io_tune_args, &args) <
        0) {
        utilResetError();
        return false;
    }
    b = g_new0(begunCall, 1);
    b->client = rpcServerClientRef(client);
    b->call = msg->header;
    if (changeFromParams(args.params.params_val, args.params.params_len, &chg) == 0)
        rc = qemuDriverSetBlockIoThrottleBegin(d->driver, UUID(&args), args.disk, &chg, args.flags,
                                               NULL, begunCallDone, b);
    throttleChangeClear(&chg);
    xdr_free((xdrproc_t)xdr_remote_domain_set_block_io_tune_args, (char *)&args);
    if (rc == 0) {
        utilResetError();
        rpcServerClientUnref(b->client);
        g_free(b);
    }
    return rc == 1;
}

bool
daemonDispatchQuick(rpcServer *srv G_GNUC_UNUSED, rpcServerClient *client, const rpcMessage *msg,
                    void *opaque)
{
    const rpcProcInfo *info;
    bool deferred;

    if (msg->header.prog == REMOTE_PROGRAM &&
        msg->header.proc == REMOTE_PROC_DOMAIN_SET_BLOCK_IO_TUNE)
        return beginSetBlockIoTune(opaque, rpcServerClientGetPrivate(client), client, msg);
    /* a change that no code above begins is a worker's */
    info = rpcProcLookup(msg->header.prog, msg->header.proc);
    if (!info || !info->readonlyOk)
        return false;

    utilThreadSetMayWait(false);
    dispatchMessage(opaque, rpcServerClientGetPrivate(client), msg, replyToClient, client);
    deferred = utilThreadDeferred();
    utilThreadSetMayWait(true);
    if (deferred)
        utilResetError();
    return !deferred;
}

static void
replyToMessage(void *opaque, const rpcHeader *hdr, xdrproc_t filter, void *ret, const iovError *err)
{
    rpcMessage **out = opaque;
    rpcHeader rh = *hdr;

    rh.type = RPC_REPLY;
    rh.status = RPC_OK;
    *out = err ? rpcMessageEncodeError(hdr, err) : rpcMessageEncode(&rh, filter, ret);
    if (!*out)
        *out = rpcMessageEncodeError(hdr, currentError());
}

rpcMessage *
daemonDispatchMessage(daemonState *d, daemonConn *c, const rpcMessage *msg)
{
    rpcMessage *out = NULL;

    dispatchMessage(d, c, msg, replyToMessage, &out);
    return out;
}

bool
daemonClientConnected(rpcServer *srv G_GNUC_UNUSED, rpcServerClient *client,
                      void *opaque G_GNUC_UNUSED)
{
    daemonConn *c = g_new0(daemonConn, 1);

    c->readonly = rpcServerClientIsReadonly(client);
    c->client = client;
    rpcServerClientSetPrivate(client, c, g_free);
    return true;
}

void
daemonClientDisconnected(rpcServer *srv G_GNUC_UNUSED, rpcServerClient *client, void *opaque)
{
    daemonState *d = opaque;

    daemonEventsConnGone(d->events, rpcServerClientGetPrivate(client));
    /* the migration steps it began and did not end */
    qemuMigrationOwnerGone(d->driver, rpcServerClientGetPrivate(client));
}

/* ---- devices: disks that come and go ---- */

int
dispatchDomainAttachDevice(daemonState *d, daemonConn *c, remote_domain_attach_device_args *args)
{
    return qemuDriverAttachDevice(d->driver, UUID(args), args->xml, IOV_DOMAIN_AFFECT_LIVE,
                                  c->libvirt);
}

int
dispatchDomainAttachDeviceFlags(daemonState *d, daemonConn *c,
                                remote_domain_attach_device_flags_args *args)
{
    return qemuDriverAttachDevice(d->driver, UUID(args), args->xml, args->flags, c->libvirt);
}

int
dispatchDomainDetachDevice(daemonState *d, daemonConn *c, remote_domain_detach_device_args *args)
{
    return qemuDriverDetachDevice(d->driver, UUID(args), args->xml, NULL, IOV_DOMAIN_AFFECT_LIVE,
                                  c->libvirt);
}

int
dispatchDomainDetachDeviceFlags(daemonState *d, daemonConn *c,
                                remote_domain_detach_device_flags_args *args)
{
    return qemuDriverDetachDevice(d->driver, UUID(args), args->xml, NULL, args->flags, c->libvirt);
}

int
dispatchDomainDetachDeviceAlias(daemonState *d, daemonConn *c,
                                remote_domain_detach_device_alias_args *args)
{
    return qemuDriverDetachDevice(d->driver, UUID(args), NULL, args->alias, args->flags,
                                  c->libvirt);
}

int
dispatchDomainUpdateDeviceFlags(daemonState *d, daemonConn *c,
                                remote_domain_update_device_flags_args *args)
{
    return qemuDriverUpdateDevice(d->driver, UUID(args), args->xml, args->flags, c->libvirt);
}
