/*
 * dispatch.c: serve the remote program's procedures
 *
 * One generic path for every call: find the procedure's row in the
 * dispatch table (indexed by procedure number), decode the arguments with
 * the protocol's filter, check the connection is open and may make the
 * call, run the handler, and send its reply or its error. Handlers only
 * translate between the wire structs and the QEMU driver.
 */
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "dispatch.h"
#include "util/error.h"
#include "util/log.h"

#define IOV_FROM_THIS IOV_FROM_RPC

#define LIBVIRT_FEATURE_TYPED_PARAM_STRING 9
#define LIBVIRT_FEATURE_PROGRAM_KEEPALIVE 10
#define LIBVIRT_FEATURE_REMOTE_CLOSE_CALLBACK 15

#define BLOCK_STATS_NPARAMS 8

typedef int (*handlerFunc)(daemonState *d, daemonConn *c, void *args, void *ret);

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

/*
 * The public function behind a procedure, for messages: libvirt's name on
 * a libvirt connection (DOMAIN_SET_BLOCK_IO_TUNE: virDomainSetBlockIoTune),
 * iovirt's own on an iovirt one (iovDomainBlockIoThrottle).
 */
static char *
apiName(const char *procName, bool libvirt)
{
    static const struct {
        const char *proc;
        const char *iovirt;
    } own[] = {
        {"DOMAIN_SET_BLOCK_IO_TUNE", "iovDomainBlockIoThrottle"},
        {"DOMAIN_UNDEFINE_FLAGS", "iovDomainUndefine"},
        {"DOMAIN_DESTROY_FLAGS", "iovDomainDestroy"},
        {"DOMAIN_SHUTDOWN_FLAGS", "iovDomainShutdown"},
        {"DOMAIN_DEFINE_XML_FLAGS", "iovDomainDefineXML"},
    };
    GString *s = g_string_new(libvirt ? "vir" : "iov");
    bool upper = true;
    const char *p;
    size_t i;

    for (i = 0; !libvirt && i < G_N_ELEMENTS(own); i++) {
        if (strcmp(procName, own[i].proc) == 0) {
            g_string_free(s, TRUE);
            return g_strdup(own[i].iovirt);
        }
    }
    for (p = procName; *p; p++) {
        if (*p == '_') {
            upper = true;
            continue;
        }
        g_string_append_c(s, upper ? *p : g_ascii_tolower(*p));
        upper = false;
    }
    /* DefineXml -> DefineXML */
    for (p = strstr(s->str, "Xml"); p; p = strstr(p + 3, "Xml"))
        memcpy(s->str + (p - s->str), "XML", 3);
    return g_string_free(s, FALSE);
}

/* ---- connection ---- */

static int
connectOpen(daemonState *d G_GNUC_UNUSED, daemonConn *c, void *argsp, void *ret G_GNUC_UNUSED)
{
    remote_connect_open_args *args = argsp;
    const char *name = args->name && *args->name ? *args->name : NULL;

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
            reportError(IOV_ERR_NO_CONNECT, "%s: this daemon serves iovirt:///system or ///session (and qemu:// for libvirt clients)",
                        name);
            return -1;
        }
        c->libvirt = strcmp(scheme, "qemu") == 0;
    }
    if (args->flags & 1)
        c->readonly = true;
    c->open = true;
    return 0;
}

static int
connectClose(daemonState *d G_GNUC_UNUSED, daemonConn *c, void *args G_GNUC_UNUSED,
             void *ret G_GNUC_UNUSED)
{
    c->open = false;
    return 0;
}

static int
connectGetType(daemonState *d G_GNUC_UNUSED, daemonConn *c G_GNUC_UNUSED,
               void *args G_GNUC_UNUSED, void *retp)
{
    remote_connect_get_type_ret *ret = retp;

    ret->type = g_strdup("QEMU");
    return 0;
}

static int
connectGetVersion(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                  void *args G_GNUC_UNUSED, void *retp)
{
    remote_connect_get_version_ret *ret = retp;
    unsigned long long v;

    if (qemuDriverGetVersion(d->driver, &v) < 0)
        return -1;
    ret->hv_ver = v;
    return 0;
}

static int
connectGetLibVersion(daemonState *d G_GNUC_UNUSED, daemonConn *c G_GNUC_UNUSED,
                     void *args G_GNUC_UNUSED, void *retp)
{
    remote_connect_get_lib_version_ret *ret = retp;

    ret->lib_ver = IOV_VERSION_MAJOR * 1000000ULL + IOV_VERSION_MINOR * 1000ULL + IOV_VERSION_MICRO;
    return 0;
}

static int
connectGetHostname(daemonState *d G_GNUC_UNUSED, daemonConn *c G_GNUC_UNUSED,
                   void *args G_GNUC_UNUSED, void *retp)
{
    remote_connect_get_hostname_ret *ret = retp;

    ret->hostname = g_strdup(g_get_host_name());
    return 0;
}

static int
connectGetURI(daemonState *d, daemonConn *c, void *args G_GNUC_UNUSED, void *retp)
{
    remote_connect_get_uri_ret *ret = retp;

    ret->uri = g_strdup_printf("%s:///%s", c->libvirt ? "qemu" : "iovirt",
                               d->system ? "system" : "session");
    return 0;
}

static int
connectSupportsFeature(daemonState *d G_GNUC_UNUSED, daemonConn *c G_GNUC_UNUSED, void *argsp,
                       void *retp)
{
    remote_connect_supports_feature_args *args = argsp;
    remote_connect_supports_feature_ret *ret = retp;

    ret->supported = args->feature == LIBVIRT_FEATURE_TYPED_PARAM_STRING ||
                     args->feature == LIBVIRT_FEATURE_PROGRAM_KEEPALIVE ||
                     args->feature == LIBVIRT_FEATURE_REMOTE_CLOSE_CALLBACK;
    return 0;
}

static int
authList(daemonState *d G_GNUC_UNUSED, daemonConn *c G_GNUC_UNUSED, void *args G_GNUC_UNUSED,
         void *retp)
{
    remote_auth_list_ret *ret = retp;

    ret->types.types_len = 1;
    ret->types.types_val = g_new0(remote_auth_type, 1);
    ret->types.types_val[0] = REMOTE_AUTH_NONE;
    return 0;
}

static int
nodeGetSecurityModel(daemonState *d G_GNUC_UNUSED, daemonConn *c G_GNUC_UNUSED,
                     void *args G_GNUC_UNUSED, void *ret G_GNUC_UNUSED)
{
    /* no security driver: empty model and doi */
    return 0;
}

static int
noop(daemonState *d G_GNUC_UNUSED, daemonConn *c G_GNUC_UNUSED, void *args G_GNUC_UNUSED,
     void *ret G_GNUC_UNUSED)
{
    return 0;
}

/* ---- domains ---- */

static int
listAllDomains(daemonState *d, daemonConn *c G_GNUC_UNUSED, void *argsp, void *retp)
{
    remote_connect_list_all_domains_args *args = argsp;
    remote_connect_list_all_domains_ret *ret = retp;
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

static int
lookupByName(daemonState *d, daemonConn *c G_GNUC_UNUSED, void *argsp, void *retp)
{
    remote_domain_lookup_by_name_args *args = argsp;
    remote_domain_lookup_by_name_ret *ret = retp;
    qemuDomainIdent ident = {0};

    return replyDomain(qemuDriverLookupByName(d->driver, args->name, &ident), &ident, &ret->dom);
}

static int
lookupByUUID(daemonState *d, daemonConn *c G_GNUC_UNUSED, void *argsp, void *retp)
{
    remote_domain_lookup_by_uuid_args *args = argsp;
    remote_domain_lookup_by_uuid_ret *ret = retp;
    qemuDomainIdent ident = {0};

    return replyDomain(qemuDriverLookupByUUID(d->driver, (unsigned char *)args->uuid, &ident),
                       &ident, &ret->dom);
}

static int
lookupByID(daemonState *d, daemonConn *c G_GNUC_UNUSED, void *argsp, void *retp)
{
    remote_domain_lookup_by_id_args *args = argsp;
    remote_domain_lookup_by_id_ret *ret = retp;
    qemuDomainIdent ident = {0};

    return replyDomain(qemuDriverLookupByID(d->driver, args->id, &ident), &ident, &ret->dom);
}

static int
defineXML(daemonState *d, daemonConn *c, void *argsp, void *retp)
{
    remote_domain_define_xml_args *args = argsp;
    remote_domain_define_xml_ret *ret = retp;
    qemuDomainIdent ident = {0};

    return replyDomain(qemuDriverDefineXML(d->driver, args->xml, c->libvirt, &ident), &ident,
                       &ret->dom);
}

static int
defineXMLFlags(daemonState *d, daemonConn *c, void *argsp, void *retp)
{
    remote_domain_define_xml_flags_args *args = argsp;
    remote_domain_define_xml_flags_ret *ret = retp;
    qemuDomainIdent ident = {0};

    /* VALIDATE (1): every definition is validated anyway */
    if (args->flags & ~1u) {
        reportError(IOV_ERR_INVALID_ARG, "unsupported flags (0x%x) in function defineXMLFlags", args->flags);
        return -1;
    }
    return replyDomain(qemuDriverDefineXML(d->driver, args->xml, c->libvirt, &ident), &ident,
                       &ret->dom);
}

/* The uuid of a wire domain. */
#define UUID(args) ((const unsigned char *)(args)->dom.uuid)

static int
undefine(daemonState *d, daemonConn *c G_GNUC_UNUSED, void *argsp, void *ret G_GNUC_UNUSED)
{
    return qemuDriverUndefine(d->driver, UUID((remote_domain_undefine_args *)argsp));
}

static int
undefineFlags(daemonState *d, daemonConn *c G_GNUC_UNUSED, void *argsp, void *ret G_GNUC_UNUSED)
{
    remote_domain_undefine_flags_args *args = argsp;

    if (args->flags) {
        reportError(IOV_ERR_INVALID_ARG, "unsupported flags (0x%x) in function undefineFlags: iovirt keeps no snapshots, nvram or managed saves",
                    args->flags);
        return -1;
    }
    return qemuDriverUndefine(d->driver, UUID(args));
}

static int
create(daemonState *d, daemonConn *c G_GNUC_UNUSED, void *argsp, void *ret G_GNUC_UNUSED)
{
    return qemuDriverCreate(d->driver, UUID((remote_domain_create_args *)argsp), 0, NULL);
}

static int
createWithFlags(daemonState *d, daemonConn *c G_GNUC_UNUSED, void *argsp, void *retp)
{
    remote_domain_create_with_flags_args *args = argsp;
    remote_domain_create_with_flags_ret *ret = retp;
    qemuDomainIdent ident = {0};

    return replyDomain(qemuDriverCreate(d->driver, UUID(args), args->flags, &ident), &ident,
                       &ret->dom);
}

static int
destroy(daemonState *d, daemonConn *c G_GNUC_UNUSED, void *argsp, void *ret G_GNUC_UNUSED)
{
    return qemuDriverDestroy(d->driver, UUID((remote_domain_destroy_args *)argsp), 0);
}

static int
destroyFlags(daemonState *d, daemonConn *c G_GNUC_UNUSED, void *argsp, void *ret G_GNUC_UNUSED)
{
    remote_domain_destroy_flags_args *args = argsp;

    /* GRACEFUL (1): destroy always asks QEMU to end (SIGTERM) first */
    if (args->flags & ~1u) {
        reportError(IOV_ERR_INVALID_ARG, "unsupported flags (0x%x) in function destroyFlags", args->flags);
        return -1;
    }
    return qemuDriverDestroy(d->driver, UUID(args), 0);
}

static int
shutdown_(daemonState *d, daemonConn *c G_GNUC_UNUSED, void *argsp, void *ret G_GNUC_UNUSED)
{
    return qemuDriverShutdown(d->driver, UUID((remote_domain_shutdown_args *)argsp), 0);
}

static int
shutdownFlags(daemonState *d, daemonConn *c G_GNUC_UNUSED, void *argsp, void *ret G_GNUC_UNUSED)
{
    remote_domain_shutdown_flags_args *args = argsp;

    return qemuDriverShutdown(d->driver, UUID(args), args->flags);
}

static int
reboot(daemonState *d, daemonConn *c G_GNUC_UNUSED, void *argsp, void *ret G_GNUC_UNUSED)
{
    remote_domain_reboot_args *args = argsp;

    return qemuDriverReboot(d->driver, UUID(args), args->flags);
}

static int
suspend(daemonState *d, daemonConn *c G_GNUC_UNUSED, void *argsp, void *ret G_GNUC_UNUSED)
{
    return qemuDriverSuspend(d->driver, UUID((remote_domain_suspend_args *)argsp));
}

static int
resume(daemonState *d, daemonConn *c G_GNUC_UNUSED, void *argsp, void *ret G_GNUC_UNUSED)
{
    return qemuDriverResume(d->driver, UUID((remote_domain_resume_args *)argsp));
}

static int
getXMLDesc(daemonState *d, daemonConn *c, void *argsp, void *retp)
{
    remote_domain_get_xml_desc_args *args = argsp;
    remote_domain_get_xml_desc_ret *ret = retp;

    /* UPDATE_CPU (4) and MIGRATABLE (8) change nothing here */
    ret->xml = qemuDriverGetXMLDesc(d->driver, UUID(args), args->flags & ~12u, c->libvirt);
    return ret->xml ? 0 : -1;
}

static int
getInfo(daemonState *d, daemonConn *c G_GNUC_UNUSED, void *argsp, void *retp)
{
    remote_domain_get_info_args *args = argsp;
    remote_domain_get_info_ret *ret = retp;
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

static int
getState(daemonState *d, daemonConn *c G_GNUC_UNUSED, void *argsp, void *retp)
{
    remote_domain_get_state_args *args = argsp;
    remote_domain_get_state_ret *ret = retp;

    if (args->flags) {
        reportError(IOV_ERR_INVALID_ARG, "unsupported flags (0x%x) in function getState", args->flags);
        return -1;
    }
    return qemuDriverGetState(d->driver, UUID(args), &ret->state, &ret->reason);
}

static int
getOSType(daemonState *d, daemonConn *c G_GNUC_UNUSED, void *argsp, void *retp)
{
    remote_domain_get_os_type_ret *ret = retp;

    if (qemuDriverIsActive(d->driver, UUID((remote_domain_get_os_type_args *)argsp)) < 0)
        return -1;
    ret->type = g_strdup("hvm");
    return 0;
}

static int
getAutostart(daemonState *d, daemonConn *c G_GNUC_UNUSED, void *argsp, void *retp)
{
    remote_domain_get_autostart_ret *ret = retp;

    if (qemuDriverIsActive(d->driver, UUID((remote_domain_get_autostart_args *)argsp)) < 0)
        return -1;
    ret->autostart = 0;
    return 0;
}

static int
hasManagedSave(daemonState *d, daemonConn *c G_GNUC_UNUSED, void *argsp, void *retp)
{
    remote_domain_has_managed_save_image_ret *ret = retp;

    if (qemuDriverIsActive(d->driver, UUID((remote_domain_has_managed_save_image_args *)argsp)) < 0)
        return -1;
    ret->result = 0;
    return 0;
}

static int
isActive(daemonState *d, daemonConn *c G_GNUC_UNUSED, void *argsp, void *retp)
{
    remote_domain_is_active_ret *ret = retp;
    int rc = qemuDriverIsActive(d->driver, UUID((remote_domain_is_active_args *)argsp));

    ret->active = rc;
    return rc < 0 ? -1 : 0;
}

static int
isPersistent(daemonState *d, daemonConn *c G_GNUC_UNUSED, void *argsp, void *retp)
{
    remote_domain_is_persistent_ret *ret = retp;
    int rc = qemuDriverIsPersistent(d->driver, UUID((remote_domain_is_persistent_args *)argsp));

    ret->persistent = rc;
    return rc < 0 ? -1 : 0;
}

/* ---- statistics ---- */

static int
blockStats(daemonState *d, daemonConn *c G_GNUC_UNUSED, void *argsp, void *retp)
{
    remote_domain_block_stats_args *args = argsp;
    remote_domain_block_stats_ret *ret = retp;
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

static int
blockStatsFlags(daemonState *d, daemonConn *c G_GNUC_UNUSED, void *argsp, void *retp)
{
    remote_domain_block_stats_flags_args *args = argsp;
    remote_domain_block_stats_flags_ret *ret = retp;
    qemuBlockStats s = {0};
    remote_typed_param all[BLOCK_STATS_NPARAMS];
    int n, i;

    /* STRING_OKAY is fine: no statistic is a string */
    if (args->flags & ~(unsigned int)IOV_TYPED_PARAM_STRING_OKAY) {
        reportError(IOV_ERR_INVALID_ARG, "unsupported flags (0x%x) in function blockStatsFlags", args->flags);
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
    static const char *const names[] = {"unknown", "int", "uint", "llong", "ullong",
                                        "double", "boolean", "string"};

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

static int
setBlockIoTune(daemonState *d, daemonConn *c G_GNUC_UNUSED, void *argsp, void *ret G_GNUC_UNUSED)
{
    remote_domain_set_block_io_tune_args *args = argsp;
    throttleChange chg = {0};
    int rc = -1;

    if (changeFromParams(args->params.params_val, args->params.params_len, &chg) == 0)
        rc = qemuDriverSetBlockIoThrottle(d->driver, UUID(args), args->disk, &chg, args->flags, NULL);
    throttleChangeClear(&chg);
    return rc;
}

static int
getBlockIoTune(daemonState *d, daemonConn *c, void *argsp, void *retp)
{
    remote_domain_get_block_io_tune_args *args = argsp;
    remote_domain_get_block_io_tune_ret *ret = retp;
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
        int id = c->libvirt ? throttleLibvirtOrder[k] : k;
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

/* ---- the table ---- */

typedef struct {
    handlerFunc handler;
    bool beforeOpen; /* may be called before CONNECT_OPEN */
} dispatchRow;

#define ROW(proc, fn) [REMOTE_PROC_##proc] = {fn, false}
#define EARLY(proc, fn) [REMOTE_PROC_##proc] = {fn, true}

static const dispatchRow table[] = {
    EARLY(CONNECT_OPEN, connectOpen),
    EARLY(CONNECT_CLOSE, connectClose),
    ROW(CONNECT_GET_TYPE, connectGetType),
    ROW(CONNECT_GET_VERSION, connectGetVersion),
    ROW(DOMAIN_CREATE, create),
    ROW(DOMAIN_DEFINE_XML, defineXML),
    ROW(DOMAIN_DESTROY, destroy),
    ROW(DOMAIN_GET_XML_DESC, getXMLDesc),
    ROW(DOMAIN_GET_AUTOSTART, getAutostart),
    ROW(DOMAIN_GET_INFO, getInfo),
    ROW(DOMAIN_GET_OS_TYPE, getOSType),
    ROW(DOMAIN_LOOKUP_BY_ID, lookupByID),
    ROW(DOMAIN_LOOKUP_BY_NAME, lookupByName),
    ROW(DOMAIN_LOOKUP_BY_UUID, lookupByUUID),
    ROW(DOMAIN_REBOOT, reboot),
    ROW(DOMAIN_RESUME, resume),
    ROW(DOMAIN_SHUTDOWN, shutdown_),
    ROW(DOMAIN_SUSPEND, suspend),
    ROW(DOMAIN_UNDEFINE, undefine),
    ROW(CONNECT_GET_HOSTNAME, connectGetHostname),
    EARLY(CONNECT_SUPPORTS_FEATURE, connectSupportsFeature),
    ROW(DOMAIN_BLOCK_STATS, blockStats),
    EARLY(AUTH_LIST, authList),
    ROW(CONNECT_GET_URI, connectGetURI),
    ROW(NODE_GET_SECURITY_MODEL, nodeGetSecurityModel),
    ROW(DOMAIN_IS_ACTIVE, isActive),
    ROW(DOMAIN_IS_PERSISTENT, isPersistent),
    ROW(CONNECT_GET_LIB_VERSION, connectGetLibVersion),
    ROW(DOMAIN_HAS_MANAGED_SAVE_IMAGE, hasManagedSave),
    ROW(DOMAIN_CREATE_WITH_FLAGS, createWithFlags),
    ROW(DOMAIN_GET_STATE, getState),
    ROW(DOMAIN_UNDEFINE_FLAGS, undefineFlags),
    ROW(DOMAIN_DESTROY_FLAGS, destroyFlags),
    ROW(DOMAIN_BLOCK_STATS_FLAGS, blockStatsFlags),
    ROW(DOMAIN_SET_BLOCK_IO_TUNE, setBlockIoTune),
    ROW(DOMAIN_GET_BLOCK_IO_TUNE, getBlockIoTune),
    ROW(DOMAIN_SHUTDOWN_FLAGS, shutdownFlags),
    ROW(CONNECT_LIST_ALL_DOMAINS, listAllDomains),
    ROW(DOMAIN_DEFINE_XML_FLAGS, defineXMLFlags),
    ROW(CONNECT_REGISTER_CLOSE_CALLBACK, noop),
    ROW(CONNECT_UNREGISTER_CLOSE_CALLBACK, noop),
};

static const dispatchRow *
findRow(int proc)
{
    if (proc < 0 || proc >= (int)G_N_ELEMENTS(table) || !table[proc].handler)
        return NULL;
    return &table[proc];
}

bool
daemonProcImplemented(int proc)
{
    return findRow(proc) != NULL && rpcRemoteProcLookup(proc) != NULL;
}

/* ---- the generic path ---- */

static void
replyCurrentError(rpcServerClient *client, const rpcHeader *hdr)
{
    const iovError *err = utilGetError();
    iovError fallback = {.code = IOV_ERR_INTERNAL_ERROR, .domain = IOV_FROM_RPC,
                         .level = IOV_ERR_ERROR, .int1 = -1, .int2 = -1,
                         .message = (char *)"Library function returned error but did not set virError"};

    rpcServerClientReplyError(client, hdr, err ? err : &fallback);
}

void
daemonDispatch(rpcServer *srv G_GNUC_UNUSED, rpcServerClient *client, const rpcMessage *msg,
               void *opaque)
{
    daemonState *d = opaque;
    daemonConn *c = rpcServerClientGetPrivate(client);
    const rpcHeader *hdr = &msg->header;
    const rpcProcInfo *info = rpcRemoteProcLookup(hdr->proc);
    const dispatchRow *row = findRow(hdr->proc);
    g_autofree void *args = NULL;
    g_autofree void *ret = NULL;
    bool decoded = false;

    utilResetError();
    if (!info || !row) {
        iovError err = {.code = IOV_ERR_RPC, .domain = IOV_FROM_RPC, .level = IOV_ERR_ERROR,
                        .int1 = -1, .int2 = -1};

        err.message = g_strdup_printf("unknown procedure: %d", hdr->proc);
        rpcServerClientReplyError(client, hdr, &err);
        g_free(err.message);
        return;
    }
    args = g_malloc0(info->argsSize ? info->argsSize : 1);
    ret = g_malloc0(info->retSize ? info->retSize : 1);
    if (info->argsSize && rpcMessageDecodePayload(msg, info->argsFilter, args) < 0) {
        replyCurrentError(client, hdr);
        return;
    }
    decoded = true;
    if (!c->open && !row->beforeOpen) {
        reportError(IOV_ERR_INTERNAL_ERROR, "hypervisor connection not open");
        replyCurrentError(client, hdr);
        goto cleanup;
    }
    if (c->readonly && !info->readonlyOk) {
        g_autofree char *api = apiName(info->name, c->libvirt);

        reportError(IOV_ERR_OPERATION_DENIED, "read only access prevents %s", api);
        replyCurrentError(client, hdr);
        goto cleanup;
    }
    if (row->handler(d, c, args, ret) < 0) {
        logDebug("procedure %s failed: %s", info->name, iovGetLastErrorMessage());
        replyCurrentError(client, hdr);
    } else {
        rpcServerClientReply(client, hdr, info->retSize ? info->retFilter : NULL, ret);
    }
    if (info->retSize)
        xdr_free(info->retFilter, ret);

 cleanup:
    if (decoded && info->argsSize)
        xdr_free(info->argsFilter, args);
}

bool
daemonClientConnected(rpcServer *srv G_GNUC_UNUSED, rpcServerClient *client,
                      void *opaque G_GNUC_UNUSED)
{
    daemonConn *c = g_new0(daemonConn, 1);

    c->readonly = rpcServerClientIsReadonly(client);
    rpcServerClientSetPrivate(client, c, g_free);
    return true;
}

void
daemonClientDisconnected(rpcServer *srv G_GNUC_UNUSED, rpcServerClient *client G_GNUC_UNUSED,
                         void *opaque G_GNUC_UNUSED)
{
}
