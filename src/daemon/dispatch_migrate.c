/*
 * dispatch_migrate.c: the migration procedures (libvirt's version 3 with
 * parameters) and the domain's job, served from qemu_migration.c
 *
 * The handlers only translate the wire: the typed parameters libvirt
 * names, the opaque cookie (iovirt's own text, see qemu_migration.h),
 * the flags. Peer-to-peer, the source daemon reaches the destination
 * through the client side of the protocol (src/remote/), over whatever
 * transport the destination's URI names.
 */
#include <string.h>

#include "dispatch.h"
#include "dispatch_handlers.h"
#include "conf/domain_conf.h"
#include "qemu/qemu_migration.h"
#include "remote/remote_calls.h"
#include "remote/remote_driver.h"
#include "util/error.h"
#include "util/log.h"

#define IOV_FROM_THIS IOV_FROM_RPC

#define UUID(args) ((const unsigned char *)(args)->dom.uuid)

/* the flags iovirt's migration honours */
#define MIGRATE_FLAGS_KNOWN                                                                        \
    (IOV_MIGRATE_LIVE | IOV_MIGRATE_PEER2PEER | IOV_MIGRATE_PERSIST_DEST |                         \
     IOV_MIGRATE_UNDEFINE_SOURCE | IOV_MIGRATE_PAUSED | IOV_MIGRATE_CHANGE_PROTECTION)

/* The string parameters of a migration call. */
typedef struct {
    const char *uri;        /* migrate_uri */
    const char *destName;   /* destination_name */
    const char *destXML;    /* destination_xml */
    const char *persistXML; /* persistent_xml */
} migrateParams;

static int
parseParams(const remote_typed_param *params, u_int n, unsigned int flags, migrateParams *out)
{
    u_int i;

    memset(out, 0, sizeof(*out));
    if (flags & ~(unsigned int)MIGRATE_FLAGS_KNOWN) {
        reportError(
            IOV_ERR_ARGUMENT_UNSUPPORTED,
            "migration flags 0x%x are not supported (iovirt migrates live or paused, peer-to-peer or not, with --persistent and --undefinesource; its storage is shared)",
            flags & ~(unsigned int)MIGRATE_FLAGS_KNOWN);
        return -1;
    }
    for (i = 0; i < n; i++) {
        const remote_typed_param *p = &params[i];
        const char **slot = NULL;

        if (strcmp(p->field, IOV_MIGRATE_PARAM_URI) == 0)
            slot = &out->uri;
        else if (strcmp(p->field, IOV_MIGRATE_PARAM_DEST_NAME) == 0)
            slot = &out->destName;
        else if (strcmp(p->field, IOV_MIGRATE_PARAM_DEST_XML) == 0)
            slot = &out->destXML;
        else if (strcmp(p->field, IOV_MIGRATE_PARAM_PERSIST_XML) == 0)
            slot = &out->persistXML;
        if (!slot) {
            reportError(IOV_ERR_ARGUMENT_UNSUPPORTED, "migration parameter '%s' is not supported",
                        p->field);
            return -1;
        }
        if (p->value.type != REMOTE_TYPED_PARAM_STRING) {
            reportError(IOV_ERR_INVALID_ARG, "migration parameter '%s' must be a string", p->field);
            return -1;
        }
        *slot = p->value.remote_typed_param_value_u.s;
    }
    return 0;
}

/* Hand a NUL-terminated cookie to an opaque reply field. */
static void
cookieToWire(char *cookie, u_int *len, char **val)
{
    *len = cookie ? (u_int)strlen(cookie) : 0;
    *val = cookie;
}

/* The opaque cookie of a call as a string (new). */
static char *
cookieFromWire(u_int len, const char *val)
{
    return len ? g_strndup(val, len) : NULL;
}

/* A document a libvirt client sent (virsh migrate --xml, --persistent-xml)
 * as iovirt's: *doc then points to *converted (new). A document iovirt
 * cannot take fails here, named. */
static int
iovirtDocument(daemonConn *c, const char **doc, unsigned int parseFlags, char **converted)
{
    g_autoptr(domainDef) def = NULL;

    if (!*doc || !c->libvirt)
        return 0;
    def = domainDefParseString(*doc, DOMAIN_PARSE_FROM_LIBVIRT | parseFlags, NULL);
    if (!def || !(*converted = domainDefFormat(def, 0)))
        return -1;
    *doc = *converted;
    return 0;
}

int
dispatchDomainMigrateBegin3Params(daemonState *d, daemonConn *c,
                                  remote_domain_migrate_begin3_params_args *args,
                                  remote_domain_migrate_begin3_params_ret *ret)
{
    g_autofree char *converted = NULL;
    migrateParams mp;
    char *cookie = NULL;
    char *xml;

    if (parseParams(args->params.params_val, args->params.params_len, args->flags, &mp) < 0)
        return -1;
    if (mp.destName && strcmp(mp.destName, args->dom.name) != 0) {
        reportError(IOV_ERR_ARGUMENT_UNSUPPORTED,
                    "migration: domain '%s' keeps its name: renaming it to '%s' is not supported",
                    args->dom.name, mp.destName);
        return -1;
    }
    /* what travels is iovirt's document */
    if (iovirtDocument(c, &mp.destXML, DOMAIN_PARSE_LIVE_STATE, &converted) < 0)
        return -1;
    if (!(xml = qemuMigrationBegin(d->driver, UUID(args), mp.destXML, args->flags, c, &cookie)))
        return -1;
    ret->xml = xml;
    cookieToWire(cookie, &ret->cookie_out.cookie_out_len, &ret->cookie_out.cookie_out_val);
    return 0;
}

int
dispatchDomainMigratePrepare3Params(daemonState *d, daemonConn *c,
                                    remote_domain_migrate_prepare3_params_args *args,
                                    remote_domain_migrate_prepare3_params_ret *ret)
{
    g_autofree char *cookie =
        cookieFromWire(args->cookie_in.cookie_in_len, args->cookie_in.cookie_in_val);
    migrateParams mp;
    char *uri = NULL, *cookieOut = NULL;

    if (parseParams(args->params.params_val, args->params.params_len, args->flags, &mp) < 0)
        return -1;
    if (!mp.destXML) {
        reportError(IOV_ERR_INVALID_ARG,
                    "migration prepare: no domain definition (destination_xml) given");
        return -1;
    }
    if (qemuMigrationPrepare(d->driver, mp.destXML, cookie, mp.uri, args->flags, c, &uri,
                             &cookieOut) < 0)
        return -1;
    ret->uri_out = g_new0(char *, 1);
    *ret->uri_out = uri;
    cookieToWire(cookieOut, &ret->cookie_out.cookie_out_len, &ret->cookie_out.cookie_out_val);
    return 0;
}

/* ---- peer-to-peer: the destination through the client side ---- */

typedef struct {
    iovConnectPtr conn;
    migrateParams mp;
} peerData;

static int
peerPrepare(void *opaque, const char *xml, const char *cookie, unsigned int flags, char **uriOut)
{
    peerData *p = opaque;
    remote_domain_migrate_prepare3_params_args args = {0};
    remote_domain_migrate_prepare3_params_ret ret = {0};
    remote_typed_param param = {0};
    int rc;

    param.field = (char *)IOV_MIGRATE_PARAM_DEST_XML;
    param.value.type = REMOTE_TYPED_PARAM_STRING;
    param.value.remote_typed_param_value_u.s = (char *)xml;
    args.params.params_len = 1;
    args.params.params_val = &param;
    args.cookie_in.cookie_in_len = (u_int)strlen(cookie);
    args.cookie_in.cookie_in_val = (char *)cookie;
    args.flags = flags & ~(unsigned int)(IOV_MIGRATE_PEER2PEER | IOV_MIGRATE_CHANGE_PROTECTION);
    rc = remoteCallDomainMigratePrepare3Params(p->conn, &args, &ret);
    if (rc == 0) {
        if (!ret.uri_out || !*ret.uri_out) {
            reportError(IOV_ERR_OPERATION_FAILED,
                        "migration: the destination gave no URI for the stream");
            rc = -1;
        } else {
            *uriOut = g_strdup(*ret.uri_out);
        }
        xdr_free((xdrproc_t)xdr_remote_domain_migrate_prepare3_params_ret, (char *)&ret);
    }
    return rc;
}

static int
peerFinish(void *opaque, const char *name, const char *cookie, unsigned int flags, bool cancelled)
{
    peerData *p = opaque;
    remote_domain_migrate_finish3_params_args args = {0};
    remote_domain_migrate_finish3_params_ret ret = {0};
    remote_typed_param params[2] = {{0}};
    u_int n = 0;
    int rc;

    params[n].field = (char *)IOV_MIGRATE_PARAM_DEST_NAME;
    params[n].value.type = REMOTE_TYPED_PARAM_STRING;
    params[n++].value.remote_typed_param_value_u.s = (char *)name;
    if (p->mp.persistXML) {
        params[n].field = (char *)IOV_MIGRATE_PARAM_PERSIST_XML;
        params[n].value.type = REMOTE_TYPED_PARAM_STRING;
        params[n++].value.remote_typed_param_value_u.s = (char *)p->mp.persistXML;
    }
    args.params.params_len = n;
    args.params.params_val = params;
    args.cookie_in.cookie_in_len = cookie ? (u_int)strlen(cookie) : 0;
    args.cookie_in.cookie_in_val = (char *)cookie;
    args.flags = flags & ~(unsigned int)(IOV_MIGRATE_PEER2PEER | IOV_MIGRATE_CHANGE_PROTECTION);
    args.cancelled = cancelled;
    rc = remoteCallDomainMigrateFinish3Params(p->conn, &args, &ret);
    if (rc == 0)
        xdr_free((xdrproc_t)xdr_remote_domain_migrate_finish3_params_ret, (char *)&ret);
    return rc;
}

static const qemuMigrationPeer peerOps = {peerPrepare, peerFinish};

static int
performPeer(daemonState *d, remote_domain_migrate_perform3_params_args *args,
            const migrateParams *mp)
{
    peerData p = {0};
    int rc;

    p.mp = *mp;
    if (!(p.conn = remoteConnectOpen(*args->dconnuri, false))) {
        g_autoptr(iovError) saved = utilSaveError();

        reportError(IOV_ERR_OPERATION_FAILED,
                    "migration of domain '%s': cannot reach the destination '%s': %s",
                    args->dom.name, *args->dconnuri, saved ? saved->message : "?");
        return -1;
    }
    rc = qemuMigrationPerformPeer(d->driver, UUID(args), mp->destXML, args->flags, &peerOps, &p);
    {
        g_autoptr(iovError) saved = utilSaveError();

        remoteConnectUnref(p.conn);
        utilRestoreError(g_steal_pointer(&saved));
    }
    return rc;
}

int
dispatchDomainMigratePerform3Params(daemonState *d, daemonConn *c,
                                    remote_domain_migrate_perform3_params_args *args,
                                    remote_domain_migrate_perform3_params_ret *ret)
{
    g_autofree char *converted = NULL;
    migrateParams mp;
    char *cookie = NULL;

    if (parseParams(args->params.params_val, args->params.params_len, args->flags, &mp) < 0)
        return -1;
    if (args->flags & IOV_MIGRATE_PEER2PEER) {
        if (!args->dconnuri || !*args->dconnuri || !**args->dconnuri) {
            reportError(IOV_ERR_INVALID_ARG,
                        "peer-to-peer migration of domain '%s': no destination URI given",
                        args->dom.name);
            return -1;
        }
        if (iovirtDocument(c, &mp.destXML, DOMAIN_PARSE_LIVE_STATE, &converted) < 0)
            return -1;
        return performPeer(d, args, &mp);
    }
    if (qemuMigrationPerform(d->driver, UUID(args), mp.uri, args->flags, c, &cookie) < 0)
        return -1;
    cookieToWire(cookie, &ret->cookie_out.cookie_out_len, &ret->cookie_out.cookie_out_val);
    return 0;
}

int
dispatchDomainMigrateFinish3Params(daemonState *d, daemonConn *c,
                                   remote_domain_migrate_finish3_params_args *args,
                                   remote_domain_migrate_finish3_params_ret *ret)
{
    g_autofree char *converted = NULL;
    g_autofree char *cookie =
        cookieFromWire(args->cookie_in.cookie_in_len, args->cookie_in.cookie_in_val);
    qemuDomainIdent ident = {0};
    migrateParams mp;

    if (parseParams(args->params.params_val, args->params.params_len, args->flags, &mp) < 0)
        return -1;
    if (iovirtDocument(c, &mp.persistXML, 0, &converted) < 0)
        return -1;
    if (qemuMigrationFinish(d->driver, mp.destName, cookie, args->flags, args->cancelled != 0,
                            mp.persistXML, &ident) < 0)
        return -1;
    ret->dom.name = g_steal_pointer(&ident.name);
    memcpy(ret->dom.uuid, ident.uuid, 16);
    ret->dom.id = ident.id;
    return 0;
}

int
dispatchDomainMigrateConfirm3Params(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                                    remote_domain_migrate_confirm3_params_args *args)
{
    migrateParams mp;

    if (parseParams(args->params.params_val, args->params.params_len, args->flags, &mp) < 0)
        return -1;
    return qemuMigrationConfirm(d->driver, UUID(args), args->flags, args->cancelled != 0);
}

/* ---- the domain's job ---- */

int
dispatchDomainGetJobInfo(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                         remote_domain_get_job_info_args *args, remote_domain_get_job_info_ret *ret)
{
    qemuMigrationJobInfo info;

    if (qemuMigrationGetJobInfo(d->driver, UUID(args), false, &info) < 0)
        return -1;
    ret->type = info.type;
    ret->timeElapsed = info.elapsedMs;
    ret->timeRemaining = info.remainingMs;
    ret->dataTotal = info.dataTotal;
    ret->dataProcessed = info.dataProcessed;
    ret->dataRemaining = info.dataRemaining;
    ret->memTotal = info.memTotal;
    ret->memProcessed = info.memProcessed;
    ret->memRemaining = info.memRemaining;
    return 0;
}

static void
addULL(GArray *a, const char *name, unsigned long long v)
{
    remote_typed_param p = {0};

    p.field = g_strdup(name);
    p.value.type = REMOTE_TYPED_PARAM_ULLONG;
    p.value.remote_typed_param_value_u.ul = v;
    g_array_append_val(a, p);
}

int
dispatchDomainGetJobStats(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                          remote_domain_get_job_stats_args *args,
                          remote_domain_get_job_stats_ret *ret)
{
    GArray *a;
    qemuMigrationJobInfo info;

    if (args->flags & ~(unsigned int)IOV_DOMAIN_JOB_STATS_COMPLETED) {
        reportError(IOV_ERR_INVALID_ARG, "unsupported flags (0x%x) in function %s", args->flags,
                    "iovDomainGetJobStats");
        return -1;
    }
    if (qemuMigrationGetJobInfo(d->driver, UUID(args),
                                (args->flags & IOV_DOMAIN_JOB_STATS_COMPLETED) != 0, &info) < 0)
        return -1;
    ret->type = info.type;
    if (info.type == IOV_DOMAIN_JOB_NONE)
        return 0;
    a = g_array_new(FALSE, TRUE, sizeof(remote_typed_param));
    if (info.operation) {
        remote_typed_param p = {0};

        p.field = g_strdup("operation");
        p.value.type = REMOTE_TYPED_PARAM_INT;
        p.value.remote_typed_param_value_u.i = info.operation;
        g_array_append_val(a, p);
    }
    addULL(a, "time_elapsed",
           info.type == IOV_DOMAIN_JOB_UNBOUNDED ? info.elapsedMs : info.totalTimeMs);
    if (info.haveDowntime)
        addULL(a, "downtime", info.downtimeMs);
    addULL(a, "data_total", info.dataTotal);
    addULL(a, "data_processed", info.dataProcessed);
    addULL(a, "data_remaining", info.dataRemaining);
    addULL(a, "memory_total", info.memTotal);
    addULL(a, "memory_processed", info.memProcessed);
    addULL(a, "memory_remaining", info.memRemaining);
    addULL(a, "memory_bps", info.memBps);
    ret->params.params_len = a->len;
    ret->params.params_val = (remote_typed_param *)(void *)g_array_free(a, FALSE);
    return 0;
}

int
dispatchDomainAbortJob(daemonState *d, daemonConn *c G_GNUC_UNUSED,
                       remote_domain_abort_job_args *args)
{
    return qemuMigrationAbort(d->driver, UUID(args));
}
