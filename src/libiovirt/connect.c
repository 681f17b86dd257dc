/*
 * connect.c: the public functions of connections
 */
#include "libiovirt/libiovirt.h"

#define IOV_FROM_THIS IOV_FROM_REMOTE

iovConnectPtr
iovConnectOpen(const char *uri)
{
    return remoteConnectOpen(uri, false);
}

iovConnectPtr
iovConnectOpenReadOnly(const char *uri)
{
    return remoteConnectOpen(uri, true);
}

int
iovConnectClose(iovConnectPtr conn)
{
    utilResetError();
    if (!conn)
        return 0;
    return remoteConnectUnref(conn);
}

int
iovConnectRef(iovConnectPtr conn)
{
    ENTER_CONN(conn, -1);
    g_atomic_int_inc(&conn->refs);
    return 0;
}

int
iovConnectIsReadOnly(iovConnectPtr conn)
{
    ENTER_CONN(conn, -1);
    return conn->readonly ? 1 : 0;
}

char *
iovConnectGetURI(iovConnectPtr conn)
{
    ENTER_CONN(conn, NULL);
    return strdup(conn->uri);
}

const char *
iovConnectGetTransport(iovConnectPtr conn)
{
    ENTER_CONN(conn, NULL);
    return conn->transport;
}

int
iovConnectListAllDomains(iovConnectPtr conn, iovDomainPtr **domains, unsigned int flags)
{
    remote_connect_list_all_domains_args args = {0};
    remote_connect_list_all_domains_ret ret = {0};
    iovDomainPtr *list;
    u_int i;
    int n;

    ENTER_CONN(conn, -1);
    args.need_results = domains != NULL;
    args.flags = flags;
    if (remoteCallConnectListAllDomains(conn, &args, &ret) < 0)
        return -1;
    n = (int)ret.ret;
    if (domains) {
        list = calloc(ret.domains.domains_len + 1, sizeof(*list));
        if (!list)
            abort();
        for (i = 0; i < ret.domains.domains_len; i++)
            list[i] = remoteDomainNew(conn, &ret.domains.domains_val[i]);
        *domains = list;
        n = (int)ret.domains.domains_len;
    }
    xdr_free((xdrproc_t)xdr_remote_connect_list_all_domains_ret, (char *)&ret);
    return n;
}

int
iovConnectGetAllDomainStats(iovConnectPtr conn, unsigned int stats,
                            iovDomainStatsRecordPtr **retStats, unsigned int flags)
{
    remote_connect_get_all_domain_stats_args args = {0};
    remote_connect_get_all_domain_stats_ret ret = {0};
    iovDomainStatsRecordPtr *list;
    u_int i;
    int n;

    ENTER_CONN(conn, -1);
    if (!retStats) {
        reportError(IOV_ERR_INVALID_ARG, "retStats is needed");
        return -1;
    }
    args.stats = stats;
    args.flags = flags;
    if (remoteCallConnectGetAllDomainStats(conn, &args, &ret) < 0)
        return -1;
    n = (int)ret.retStats.retStats_len;
    list = calloc((size_t)n + 1, sizeof(*list));
    if (!list)
        abort();
    for (i = 0; i < ret.retStats.retStats_len; i++) {
        const remote_domain_stats_record *r = &ret.retStats.retStats_val[i];
        iovDomainStatsRecordPtr rec = calloc(1, sizeof(*rec));

        if (!rec || !(rec->params = calloc(r->params.params_len + 1, sizeof(*rec->params))))
            abort();
        rec->dom = remoteDomainNew(conn, &r->dom);
        rec->nparams = remoteParamsFromWire(r->params.params_val, r->params.params_len,
                                            rec->params, (int)r->params.params_len);
        list[i] = rec;
        if (rec->nparams < 0) {
            rec->nparams = 0;
            iovDomainStatsRecordListFree(list);
            xdr_free((xdrproc_t)xdr_remote_connect_get_all_domain_stats_ret, (char *)&ret);
            return -1;
        }
    }
    xdr_free((xdrproc_t)xdr_remote_connect_get_all_domain_stats_ret, (char *)&ret);
    *retStats = list;
    return n;
}

void
iovDomainStatsRecordListFree(iovDomainStatsRecordPtr *stats)
{
    size_t i;

    if (!stats)
        return;
    for (i = 0; stats[i]; i++) {
        if (stats[i]->dom)
            iovDomainFree(stats[i]->dom);
        iovTypedParamsClear(stats[i]->params, stats[i]->nparams);
        free(stats[i]->params);
        free(stats[i]);
    }
    free(stats);
}
