/*
 * remote_driver.c: the public API, each function one call to the daemon
 *
 * A connection is an rpcClient on the daemon's unix socket; calls from
 * several threads share it (the client matches replies by serial). Errors
 * the daemon sends become the calling thread's error unchanged, so every
 * client prints the daemon's text.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>

#include "config.h"
#include "conf/domain_conf.h"
#include "rpc/rpc.h"
#include "util/error.h"
#include "util/paths.h"

#define IOV_FROM_THIS IOV_FROM_REMOTE

#define AUTOSTART_WAIT_MS 10000

struct _iovConnect {
    gint refs;          /* atomic */
    rpcClient *client;  /* owned */
    char *uri;          /* as opened (the default resolved), so that it
                         * reaches the same daemon again */
    bool readonly;
};

struct _iovDomain {
    gint refs;          /* atomic */
    iovConnectPtr conn; /* a reference */
    char *name;
    unsigned char uuid[16];
    gint id;            /* atomic; -1 when not running */
};

/* ---- entry checks ---- */

#define ENTER_CONN(conn, fail) \
    do { \
        utilResetError(); \
        if (!(conn)) { \
            reportError(IOV_ERR_INVALID_CONN, "invalid connection pointer in %s", __func__); \
            return fail; \
        } \
    } while (0)

#define ENTER_DOM(dom, fail) \
    do { \
        utilResetError(); \
        if (!(dom) || !(dom)->conn) { \
            reportError(IOV_ERR_INVALID_DOMAIN, "invalid domain pointer in %s", __func__); \
            return fail; \
        } \
    } while (0)

static int
call(iovConnectPtr conn, int proc, xdrproc_t argsFilter, void *args, xdrproc_t retFilter,
     void *ret)
{
    /* NULL filters mean no arguments / no reply payload */
    return rpcClientCall(conn->client, REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION, proc, argsFilter,
                         args, retFilter, ret, 0);
}

/* ---- URIs and sockets ---- */

typedef struct {
    bool system;
    char *socket;    /* from ?socket=, or NULL */
    bool autostart;  /* the session's default socket: start a daemon if none */
} uriInfo;

static void
uriInfoClear(uriInfo *u)
{
    g_free(u->socket);
}

static int
parseURI(const char *uri, uriInfo *out)
{
    g_autoptr(GUri) u = NULL;
    g_autoptr(GError) gerr = NULL;
    const char *scheme, *path, *query;

    memset(out, 0, sizeof(*out));
    u = g_uri_parse(uri, G_URI_FLAGS_NONE, &gerr);
    if (!u) {
        reportError(IOV_ERR_INVALID_ARG, "cannot parse the URI '%s': %s", uri, gerr->message);
        return -1;
    }
    scheme = g_uri_get_scheme(u);
    path = g_uri_get_path(u);
    query = g_uri_get_query(u);
    if (strcmp(scheme, "iovirt") != 0 && strcmp(scheme, "iovirt+unix") != 0) {
        if (g_str_has_prefix(scheme, "iovirt+")) {
            reportError(IOV_ERR_NO_SUPPORT, "transport '%s' of URI '%s' (only unix sockets for now)",
                        scheme + strlen("iovirt+"), uri);
            return -1;
        }
        reportError(IOV_ERR_NO_CONNECT, "'%s': the URI must start with iovirt:// or iovirt+unix://", uri);
        return -1;
    }
    if (g_uri_get_host(u) && *g_uri_get_host(u)) {
        reportError(IOV_ERR_NO_SUPPORT, "remote host '%s' in URI '%s' (only local unix sockets for now)",
                    g_uri_get_host(u), uri);
        return -1;
    }
    if (strcmp(path, "/system") == 0) {
        out->system = true;
    } else if (strcmp(path, "/session") != 0) {
        reportError(IOV_ERR_NO_CONNECT, "'%s': the path must be /system or /session", uri);
        return -1;
    }
    if (query && *query) {
        g_autoptr(GHashTable) params = g_uri_parse_params(query, -1, "&", G_URI_PARAMS_NONE, &gerr);
        GHashTableIter it;
        gpointer k, v;

        if (!params) {
            reportError(IOV_ERR_INVALID_ARG, "cannot parse the query of URI '%s': %s", uri, gerr->message);
            return -1;
        }
        g_hash_table_iter_init(&it, params);
        while (g_hash_table_iter_next(&it, &k, &v)) {
            if (strcmp(k, "socket") != 0) {
                reportError(IOV_ERR_INVALID_ARG, "unknown parameter '%s' in URI '%s'", (char *)k, uri);
                return -1;
            }
            g_free(out->socket);
            out->socket = g_strdup(v);
        }
    }
    out->autostart = !out->system && !out->socket;
    return 0;
}

/* Start a session daemon in the background, detached (double fork). */
static int
autostartDaemon(void)
{
    const char *bin = g_getenv("IOVIRTD");
    g_autofree char *path = g_strdup(bin && *bin ? bin : IOV_SBINDIR "/iovirtd");
    pid_t pid;
    int status;

    if (access(path, X_OK) < 0) {
        reportSystemError(errno, "cannot start a session daemon: '%s'", path);
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        reportSystemError(errno, "cannot start a session daemon");
        return -1;
    }
    if (pid == 0) {
        int fd = open("/dev/null", O_RDWR);

        setsid();
        if (fd >= 0) {
            dup2(fd, 0);
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (fork() == 0) {
            execl(path, path, "--session", "--timeout", "120", (char *)NULL);
            _exit(127);
        }
        _exit(0);
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return 0;
}

/* Connect to the daemon's socket, starting a session daemon if allowed. */
static int
connectSocket(const uriInfo *u, bool readonly, char **usedPath)
{
    g_autofree char *path = u->socket ? g_strdup(u->socket) : utilSocketPath(u->system, readonly);
    gint64 deadline;
    int fd;

    /* without XDG_RUNTIME_DIR the session lives in /tmp: make sure the
     * directory is ours before trusting a socket in it */
    if (!u->system && !u->socket && !g_getenv("XDG_RUNTIME_DIR")) {
        g_autofree char *dir = utilRuntimeDir(false);

        if (utilEnsurePrivateDir(dir) < 0)
            return -1;
    }

    fd = rpcSocketConnectUnix(path);
    if (fd >= 0 || !u->autostart) {
        *usedPath = g_steal_pointer(&path);
        return fd;
    }
    utilResetError();
    if (autostartDaemon() < 0)
        return -1;
    deadline = g_get_monotonic_time() + AUTOSTART_WAIT_MS * 1000;
    for (;;) {
        g_usleep(20 * 1000);
        utilResetError();
        fd = rpcSocketConnectUnix(path);
        if (fd >= 0 || g_get_monotonic_time() > deadline)
            break;
    }
    if (fd < 0) {
        g_autoptr(iovError) e = utilSaveError();

        reportError(IOV_ERR_NO_CONNECT, "the session daemon did not start within %d ms: %s",
                    AUTOSTART_WAIT_MS, e ? e->message : "");
    }
    *usedPath = g_steal_pointer(&path);
    return fd;
}

static iovConnectPtr
connectOpen(const char *uri, bool readonly)
{
    g_autofree char *path = NULL;
    const char *env = g_getenv("IOVIRT_DEFAULT_URI");
    iovConnectPtr conn;
    uriInfo u;
    remote_connect_open_args args = {0};
    g_autofree char *name = NULL;
    int fd;

    utilResetError();
    if (!uri)
        uri = env && *env ? env : (getuid() == 0 ? "iovirt:///system" : "iovirt:///session");
    if (parseURI(uri, &u) < 0)
        return NULL;
    fd = connectSocket(&u, readonly, &path);
    if (fd < 0) {
        uriInfoClear(&u);
        return NULL;
    }
    conn = g_new0(iovConnect, 1);
    conn->refs = 1;
    conn->readonly = readonly;
    conn->uri = g_strdup(uri);
    conn->client = rpcClientNew(rpcStreamNewUnix(fd));
    /* the daemon gets the URI without transport and socket, as libvirt
     * clients send it */
    name = g_strdup(u.system ? "iovirt:///system" : "iovirt:///session");
    uriInfoClear(&u);

    args.name = &name;
    args.flags = readonly ? 1 : 0;
    if (call(conn, REMOTE_PROC_CONNECT_OPEN, (xdrproc_t)xdr_remote_connect_open_args, &args, NULL,
             NULL) < 0) {
        g_autoptr(iovError) e = utilSaveError();

        rpcClientFree(conn->client);
        g_free(conn->uri);
        g_free(conn);
        utilRestoreError(g_steal_pointer(&e));
        return NULL;
    }
    return conn;
}

iovConnectPtr
iovConnectOpen(const char *uri)
{
    return connectOpen(uri, false);
}

iovConnectPtr
iovConnectOpenReadOnly(const char *uri)
{
    return connectOpen(uri, true);
}

static int
connUnref(iovConnectPtr conn)
{
    if (!g_atomic_int_dec_and_test(&conn->refs))
        return g_atomic_int_get(&conn->refs);
    if (rpcClientIsOpen(conn->client)) {
        call(conn, REMOTE_PROC_CONNECT_CLOSE, NULL, NULL, NULL, NULL);
        utilResetError();
    }
    rpcClientFree(conn->client);
    g_free(conn->uri);
    g_free(conn);
    return 0;
}

int
iovConnectClose(iovConnectPtr conn)
{
    utilResetError();
    if (!conn)
        return 0;
    return connUnref(conn);
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

char *
iovConnectGetHostname(iovConnectPtr conn)
{
    remote_connect_get_hostname_ret ret = {0};
    char *out;

    ENTER_CONN(conn, NULL);
    if (call(conn, REMOTE_PROC_CONNECT_GET_HOSTNAME, NULL, NULL,
             (xdrproc_t)xdr_remote_connect_get_hostname_ret, &ret) < 0)
        return NULL;
    out = strdup(ret.hostname);
    xdr_free((xdrproc_t)xdr_remote_connect_get_hostname_ret, (char *)&ret);
    return out;
}

int
iovConnectGetVersion(iovConnectPtr conn, unsigned long long *version)
{
    remote_connect_get_version_ret ret = {0};

    ENTER_CONN(conn, -1);
    if (!version) {
        reportError(IOV_ERR_INVALID_ARG, "version must not be NULL");
        return -1;
    }
    if (call(conn, REMOTE_PROC_CONNECT_GET_VERSION, NULL, NULL,
             (xdrproc_t)xdr_remote_connect_get_version_ret, &ret) < 0)
        return -1;
    *version = ret.hv_ver;
    return 0;
}

int
iovConnectGetLibVersion(iovConnectPtr conn, unsigned long long *version)
{
    remote_connect_get_lib_version_ret ret = {0};

    ENTER_CONN(conn, -1);
    if (!version) {
        reportError(IOV_ERR_INVALID_ARG, "version must not be NULL");
        return -1;
    }
    if (call(conn, REMOTE_PROC_CONNECT_GET_LIB_VERSION, NULL, NULL,
             (xdrproc_t)xdr_remote_connect_get_lib_version_ret, &ret) < 0)
        return -1;
    *version = ret.lib_ver;
    return 0;
}

/* ---- domain handles ---- */

static iovDomainPtr
domainFromWire(iovConnectPtr conn, const remote_nonnull_domain *d)
{
    iovDomainPtr dom = g_new0(iovDomain, 1);

    dom->refs = 1;
    g_atomic_int_inc(&conn->refs);
    dom->conn = conn;
    dom->name = g_strdup(d->name);
    memcpy(dom->uuid, d->uuid, 16);
    dom->id = d->id;
    return dom;
}

static void
domainToWire(iovDomainPtr dom, remote_nonnull_domain *d)
{
    d->name = dom->name;
    memcpy(d->uuid, dom->uuid, 16);
    d->id = g_atomic_int_get(&dom->id);
}

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
    connUnref(dom->conn);
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
    if (call(conn, REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS,
             (xdrproc_t)xdr_remote_connect_list_all_domains_args, &args,
             (xdrproc_t)xdr_remote_connect_list_all_domains_ret, &ret) < 0)
        return -1;
    n = (int)ret.ret;
    if (domains) {
        list = calloc(ret.domains.domains_len + 1, sizeof(*list));
        if (!list)
            abort();
        for (i = 0; i < ret.domains.domains_len; i++)
            list[i] = domainFromWire(conn, &ret.domains.domains_val[i]);
        *domains = list;
        n = (int)ret.domains.domains_len;
    }
    xdr_free((xdrproc_t)xdr_remote_connect_list_all_domains_ret, (char *)&ret);
    return n;
}

/* The call of a lookup-like procedure whose reply is one domain. */
static iovDomainPtr
callForDomain(iovConnectPtr conn, int proc, xdrproc_t argsFilter, void *args,
              xdrproc_t retFilter)
{
    /* every such reply is a struct whose only member is the domain */
    remote_domain_lookup_by_name_ret ret = {0};
    iovDomainPtr dom;

    if (call(conn, proc, argsFilter, args, retFilter, &ret) < 0)
        return NULL;
    dom = domainFromWire(conn, &ret.dom);
    xdr_free(retFilter, (char *)&ret);
    return dom;
}

iovDomainPtr
iovDomainLookupByName(iovConnectPtr conn, const char *name)
{
    remote_domain_lookup_by_name_args args = {0};

    ENTER_CONN(conn, NULL);
    if (!name) {
        reportError(IOV_ERR_INVALID_ARG, "name must not be NULL");
        return NULL;
    }
    args.name = (char *)name;
    return callForDomain(conn, REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME,
                         (xdrproc_t)xdr_remote_domain_lookup_by_name_args, &args,
                         (xdrproc_t)xdr_remote_domain_lookup_by_name_ret);
}

iovDomainPtr
iovDomainLookupByUUID(iovConnectPtr conn, const unsigned char *uuid)
{
    remote_domain_lookup_by_uuid_args args = {0};

    ENTER_CONN(conn, NULL);
    if (!uuid) {
        reportError(IOV_ERR_INVALID_ARG, "uuid must not be NULL");
        return NULL;
    }
    memcpy(args.uuid, uuid, 16);
    return callForDomain(conn, REMOTE_PROC_DOMAIN_LOOKUP_BY_UUID,
                         (xdrproc_t)xdr_remote_domain_lookup_by_uuid_args, &args,
                         (xdrproc_t)xdr_remote_domain_lookup_by_uuid_ret);
}

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

iovDomainPtr
iovDomainLookupByID(iovConnectPtr conn, int id)
{
    remote_domain_lookup_by_id_args args = {0};

    ENTER_CONN(conn, NULL);
    if (id < 0) {
        reportError(IOV_ERR_INVALID_ARG, "id %d is negative", id);
        return NULL;
    }
    args.id = id;
    return callForDomain(conn, REMOTE_PROC_DOMAIN_LOOKUP_BY_ID,
                         (xdrproc_t)xdr_remote_domain_lookup_by_id_args, &args,
                         (xdrproc_t)xdr_remote_domain_lookup_by_id_ret);
}

iovDomainPtr
iovDomainDefineXML(iovConnectPtr conn, const char *xml)
{
    remote_domain_define_xml_args args = {0};

    ENTER_CONN(conn, NULL);
    if (!xml) {
        reportError(IOV_ERR_INVALID_ARG, "xml must not be NULL");
        return NULL;
    }
    args.xml = (char *)xml;
    return callForDomain(conn, REMOTE_PROC_DOMAIN_DEFINE_XML,
                         (xdrproc_t)xdr_remote_domain_define_xml_args, &args,
                         (xdrproc_t)xdr_remote_domain_define_xml_ret);
}

/* A procedure whose arguments are just the domain, and no reply. */
static int
domainCall(iovDomainPtr dom, int proc)
{
    remote_domain_destroy_args args = {0};

    domainToWire(dom, &args.dom);
    return call(dom->conn, proc, (xdrproc_t)xdr_remote_domain_destroy_args, &args, NULL, NULL);
}

/* The same, with flags. */
static int
domainFlagsCall(iovDomainPtr dom, int proc, unsigned int flags)
{
    remote_domain_destroy_flags_args args = {0};

    domainToWire(dom, &args.dom);
    args.flags = flags;
    return call(dom->conn, proc, (xdrproc_t)xdr_remote_domain_destroy_flags_args, &args, NULL,
                NULL);
}

int
iovDomainUndefine(iovDomainPtr dom)
{
    ENTER_DOM(dom, -1);
    return domainFlagsCall(dom, REMOTE_PROC_DOMAIN_UNDEFINE_FLAGS, 0);
}

int
iovDomainCreateWithFlags(iovDomainPtr dom, unsigned int flags)
{
    remote_domain_create_with_flags_args args = {0};
    remote_domain_create_with_flags_ret ret = {0};

    ENTER_DOM(dom, -1);
    domainToWire(dom, &args.dom);
    args.flags = flags;
    if (call(dom->conn, REMOTE_PROC_DOMAIN_CREATE_WITH_FLAGS,
             (xdrproc_t)xdr_remote_domain_create_with_flags_args, &args,
             (xdrproc_t)xdr_remote_domain_create_with_flags_ret, &ret) < 0)
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
    ENTER_DOM(dom, -1);
    if (domainCall(dom, REMOTE_PROC_DOMAIN_DESTROY) < 0)
        return -1;
    g_atomic_int_set(&dom->id, -1);
    return 0;
}

int
iovDomainShutdown(iovDomainPtr dom)
{
    ENTER_DOM(dom, -1);
    return domainCall(dom, REMOTE_PROC_DOMAIN_SHUTDOWN);
}

int
iovDomainReboot(iovDomainPtr dom, unsigned int flags)
{
    ENTER_DOM(dom, -1);
    return domainFlagsCall(dom, REMOTE_PROC_DOMAIN_REBOOT, flags);
}

int
iovDomainSuspend(iovDomainPtr dom)
{
    ENTER_DOM(dom, -1);
    return domainCall(dom, REMOTE_PROC_DOMAIN_SUSPEND);
}

int
iovDomainResume(iovDomainPtr dom)
{
    ENTER_DOM(dom, -1);
    return domainCall(dom, REMOTE_PROC_DOMAIN_RESUME);
}

char *
iovDomainGetXMLDesc(iovDomainPtr dom, unsigned int flags)
{
    remote_domain_get_xml_desc_args args = {0};
    remote_domain_get_xml_desc_ret ret = {0};
    char *xml;

    ENTER_DOM(dom, NULL);
    domainToWire(dom, &args.dom);
    args.flags = flags;
    if (call(dom->conn, REMOTE_PROC_DOMAIN_GET_XML_DESC,
             (xdrproc_t)xdr_remote_domain_get_xml_desc_args, &args,
             (xdrproc_t)xdr_remote_domain_get_xml_desc_ret, &ret) < 0)
        return NULL;
    xml = strdup(ret.xml);
    xdr_free((xdrproc_t)xdr_remote_domain_get_xml_desc_ret, (char *)&ret);
    return xml;
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
    domainToWire(dom, &args.dom);
    if (call(dom->conn, REMOTE_PROC_DOMAIN_GET_INFO, (xdrproc_t)xdr_remote_domain_get_info_args,
             &args, (xdrproc_t)xdr_remote_domain_get_info_ret, &ret) < 0)
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
    domainToWire(dom, &args.dom);
    args.flags = flags;
    if (call(dom->conn, REMOTE_PROC_DOMAIN_GET_STATE, (xdrproc_t)xdr_remote_domain_get_state_args,
             &args, (xdrproc_t)xdr_remote_domain_get_state_ret, &ret) < 0)
        return -1;
    *state = ret.state;
    if (reason)
        *reason = ret.reason;
    return 0;
}

int
iovDomainIsActive(iovDomainPtr dom)
{
    remote_domain_is_active_args args = {0};
    remote_domain_is_active_ret ret = {0};

    ENTER_DOM(dom, -1);
    domainToWire(dom, &args.dom);
    if (call(dom->conn, REMOTE_PROC_DOMAIN_IS_ACTIVE, (xdrproc_t)xdr_remote_domain_is_active_args,
             &args, (xdrproc_t)xdr_remote_domain_is_active_ret, &ret) < 0)
        return -1;
    return ret.active ? 1 : 0;
}

int
iovDomainIsPersistent(iovDomainPtr dom)
{
    remote_domain_is_persistent_args args = {0};
    remote_domain_is_persistent_ret ret = {0};

    ENTER_DOM(dom, -1);
    domainToWire(dom, &args.dom);
    if (call(dom->conn, REMOTE_PROC_DOMAIN_IS_PERSISTENT,
             (xdrproc_t)xdr_remote_domain_is_persistent_args, &args,
             (xdrproc_t)xdr_remote_domain_is_persistent_ret, &ret) < 0)
        return -1;
    return ret.persistent ? 1 : 0;
}

/* ---- typed parameters ---- */

void
iovTypedParamsClear(iovTypedParameterPtr params, int nparams)
{
    int i;

    if (!params)
        return;
    for (i = 0; i < nparams; i++) {
        if (params[i].type == IOV_TYPED_PARAM_STRING) {
            free(params[i].value.s);
            params[i].value.s = NULL;
        }
    }
}

/* Copy wire parameters into `params` (at most `max`); strings with
 * malloc. Returns the number copied, -1 on a field too long. */
static int
paramsFromWire(const remote_typed_param *wire, u_int n, iovTypedParameterPtr params, int max)
{
    u_int i;

    if ((int)n > max) {
        reportError(IOV_ERR_RPC, "the daemon sent %u parameters for %d places", n, max);
        return -1;
    }
    for (i = 0; i < n; i++) {
        iovTypedParameter *p = &params[i];
        const remote_typed_param_value *v = &wire[i].value;

        memset(p, 0, sizeof(*p));
        if (g_strlcpy(p->field, wire[i].field, sizeof(p->field)) >= sizeof(p->field)) {
            iovTypedParamsClear(params, (int)i);
            reportError(IOV_ERR_RPC, "parameter name '%s' is too long", wire[i].field);
            return -1;
        }
        p->type = v->type;
        switch (v->type) {
        case IOV_TYPED_PARAM_INT: p->value.i = v->remote_typed_param_value_u.i; break;
        case IOV_TYPED_PARAM_UINT: p->value.ui = v->remote_typed_param_value_u.ui; break;
        case IOV_TYPED_PARAM_LLONG: p->value.l = v->remote_typed_param_value_u.l; break;
        case IOV_TYPED_PARAM_ULLONG: p->value.ul = v->remote_typed_param_value_u.ul; break;
        case IOV_TYPED_PARAM_DOUBLE: p->value.d = v->remote_typed_param_value_u.d; break;
        case IOV_TYPED_PARAM_BOOLEAN: p->value.b = (char)v->remote_typed_param_value_u.b; break;
        case IOV_TYPED_PARAM_STRING:
            p->value.s = strdup(v->remote_typed_param_value_u.s);
            break;
        default:
            iovTypedParamsClear(params, (int)i);
            reportError(IOV_ERR_RPC, "parameter '%s' has unknown type %d", wire[i].field, v->type);
            return -1;
        }
    }
    return (int)n;
}

/* Wire parameters pointing into `params` (no copy); new array. */
static remote_typed_param *
paramsToWire(iovTypedParameterPtr params, int n)
{
    remote_typed_param *wire = g_new0(remote_typed_param, n);
    int i;

    for (i = 0; i < n; i++) {
        remote_typed_param_value *v = &wire[i].value;

        wire[i].field = params[i].field;
        v->type = params[i].type;
        switch (params[i].type) {
        case IOV_TYPED_PARAM_INT: v->remote_typed_param_value_u.i = params[i].value.i; break;
        case IOV_TYPED_PARAM_UINT: v->remote_typed_param_value_u.ui = params[i].value.ui; break;
        case IOV_TYPED_PARAM_LLONG: v->remote_typed_param_value_u.l = params[i].value.l; break;
        case IOV_TYPED_PARAM_ULLONG: v->remote_typed_param_value_u.ul = params[i].value.ul; break;
        case IOV_TYPED_PARAM_DOUBLE: v->remote_typed_param_value_u.d = params[i].value.d; break;
        case IOV_TYPED_PARAM_BOOLEAN: v->remote_typed_param_value_u.b = params[i].value.b; break;
        case IOV_TYPED_PARAM_STRING:
            if (!params[i].value.s) {
                reportError(IOV_ERR_INVALID_ARG, "NULL string parameter '%s'", params[i].field);
                g_free(wire);
                return NULL;
            }
            v->remote_typed_param_value_u.s = params[i].value.s;
            break;
        default:
            reportError(IOV_ERR_INVALID_ARG, "parameter '%s' has unknown type %d", params[i].field,
                        params[i].type);
            g_free(wire);
            return NULL;
        }
        if (!memchr(params[i].field, '\0', sizeof(params[i].field))) {
            reportError(IOV_ERR_INVALID_ARG, "a parameter name is not terminated");
            g_free(wire);
            return NULL;
        }
    }
    return wire;
}

/* ---- limits ---- */

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
    if (!(wire = paramsToWire(params, nparams)))
        return -1;
    domainToWire(dom, &args.dom);
    args.disk = (char *)disk;
    args.params.params_len = (u_int)nparams;
    args.params.params_val = wire;
    args.flags = flags;
    return call(dom->conn, REMOTE_PROC_DOMAIN_SET_BLOCK_IO_TUNE,
                (xdrproc_t)xdr_remote_domain_set_block_io_tune_args, &args, NULL, NULL);
}

int
iovDomainGetBlockIoThrottle(iovDomainPtr dom, const char *disk, iovTypedParameterPtr params,
                            int *nparams, unsigned int flags)
{
    remote_domain_get_block_io_tune_args args = {0};
    remote_domain_get_block_io_tune_ret ret = {0};
    char *diskArg = (char *)disk;
    int n;

    ENTER_DOM(dom, -1);
    if (!nparams || *nparams < 0) {
        reportError(IOV_ERR_INVALID_ARG, "nparams must point to a count >= 0");
        return -1;
    }
    if (*nparams > 0 && (!params || !disk)) {
        reportError(IOV_ERR_INVALID_ARG, "params and disk are needed when *nparams is %d", *nparams);
        return -1;
    }
    if (*nparams > REMOTE_DOMAIN_BLOCK_IO_TUNE_PARAMETERS_MAX)
        *nparams = REMOTE_DOMAIN_BLOCK_IO_TUNE_PARAMETERS_MAX;
    domainToWire(dom, &args.dom);
    args.disk = disk ? &diskArg : NULL;
    args.nparams = *nparams;
    args.flags = flags | IOV_TYPED_PARAM_STRING_OKAY;
    if (call(dom->conn, REMOTE_PROC_DOMAIN_GET_BLOCK_IO_TUNE,
             (xdrproc_t)xdr_remote_domain_get_block_io_tune_args, &args,
             (xdrproc_t)xdr_remote_domain_get_block_io_tune_ret, &ret) < 0)
        return -1;
    if (*nparams == 0) {
        *nparams = ret.nparams;
        n = 0;
    } else {
        n = paramsFromWire(ret.params.params_val, ret.params.params_len, params, *nparams);
        if (n >= 0)
            *nparams = n;
    }
    xdr_free((xdrproc_t)xdr_remote_domain_get_block_io_tune_ret, (char *)&ret);
    return n < 0 ? -1 : 0;
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
    domainToWire(dom, &args.dom);
    args.path = (char *)disk;
    if (call(dom->conn, REMOTE_PROC_DOMAIN_BLOCK_STATS,
             (xdrproc_t)xdr_remote_domain_block_stats_args, &args,
             (xdrproc_t)xdr_remote_domain_block_stats_ret, &ret) < 0)
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
    int n;

    ENTER_DOM(dom, -1);
    if (!disk || !nparams || *nparams < 0 || (*nparams > 0 && !params)) {
        reportError(IOV_ERR_INVALID_ARG, "disk, nparams and (for a count above 0) params are needed");
        return -1;
    }
    if (*nparams > REMOTE_DOMAIN_BLOCK_STATS_PARAMETERS_MAX)
        *nparams = REMOTE_DOMAIN_BLOCK_STATS_PARAMETERS_MAX;
    domainToWire(dom, &args.dom);
    args.path = (char *)disk;
    args.nparams = *nparams;
    args.flags = flags;
    if (call(dom->conn, REMOTE_PROC_DOMAIN_BLOCK_STATS_FLAGS,
             (xdrproc_t)xdr_remote_domain_block_stats_flags_args, &args,
             (xdrproc_t)xdr_remote_domain_block_stats_flags_ret, &ret) < 0)
        return -1;
    if (*nparams == 0) {
        *nparams = ret.nparams;
        n = 0;
    } else {
        n = paramsFromWire(ret.params.params_val, ret.params.params_len, params, *nparams);
        if (n >= 0)
            *nparams = n;
    }
    xdr_free((xdrproc_t)xdr_remote_domain_block_stats_flags_ret, (char *)&ret);
    return n < 0 ? -1 : 0;
}
