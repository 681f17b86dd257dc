/*
 * remote_driver.c: the client side of a connection to a daemon
 *
 * A connection is an rpcClient on the daemon's unix socket; calls from
 * several threads share it (the client matches replies by serial). Errors
 * the daemon sends become the calling thread's error unchanged, so every
 * client prints the daemon's text. The public functions are in
 * src/libiovirt/; the typed call of each procedure is generated
 * (remote_calls.h).
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
#include "remote/remote_calls.h"
#include "util/error.h"
#include "util/paths.h"

#define IOV_FROM_THIS IOV_FROM_REMOTE

#define AUTOSTART_WAIT_MS 10000

int
remoteCall(iovConnectPtr conn, int proc, xdrproc_t argsFilter, void *args, xdrproc_t retFilter,
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

iovConnectPtr
remoteConnectOpen(const char *uri, bool readonly)
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
    g_mutex_init(&conn->eventLock);
    conn->readonly = readonly;
    conn->uri = g_strdup(uri);
    conn->client = rpcClientNew(rpcStreamNewUnix(fd));
    /* the daemon gets the URI without transport and socket, as libvirt
     * clients send it */
    name = g_strdup(u.system ? "iovirt:///system" : "iovirt:///session");
    uriInfoClear(&u);

    args.name = &name;
    args.flags = readonly ? 1 : 0;
    if (remoteCallConnectOpen(conn, &args) < 0) {
        g_autoptr(iovError) e = utilSaveError();

        rpcClientFree(conn->client);
        g_mutex_clear(&conn->eventLock);
        g_free(conn->uri);
        g_free(conn);
        utilRestoreError(g_steal_pointer(&e));
        return NULL;
    }
    return conn;
}

int
remoteConnectUnref(iovConnectPtr conn)
{
    if (!g_atomic_int_dec_and_test(&conn->refs))
        return g_atomic_int_get(&conn->refs);
    if (rpcClientIsOpen(conn->client)) {
        remoteCallConnectClose(conn);
        utilResetError();
    }
    rpcClientFree(conn->client);
    remoteEventsClear(conn);
    g_mutex_clear(&conn->eventLock);
    g_free(conn->uri);
    g_free(conn);
    return 0;
}

iovDomainPtr
remoteDomainNew(iovConnectPtr conn, const remote_nonnull_domain *d)
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

void
remoteDomainToWire(iovDomainPtr dom, remote_nonnull_domain *d)
{
    d->name = dom->name;
    memcpy(d->uuid, dom->uuid, 16);
    d->id = g_atomic_int_get(&dom->id);
}

/* ---- typed parameters ---- */

/* Free the strings of params[0..n-1]. */
static void
paramsClear(iovTypedParameterPtr params, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        if (params[i].type == IOV_TYPED_PARAM_STRING)
            g_clear_pointer(&params[i].value.s, free);
    }
}

int
remoteParamsFromWire(const remote_typed_param *wire, u_int n, iovTypedParameterPtr params, int max)
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
            paramsClear(params, (int)i);
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
            paramsClear(params, (int)i);
            reportError(IOV_ERR_RPC, "parameter '%s' has unknown type %d", wire[i].field, v->type);
            return -1;
        }
    }
    return (int)n;
}

remote_typed_param *
remoteParamsToWire(iovTypedParameterPtr params, int n)
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
