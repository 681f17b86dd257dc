/*
 * remote_driver.c: the client side of a connection to a daemon
 *
 * A connection is an rpcClient on the daemon's unix socket, a TLS
 * session to a remote daemon, or an ssh process whose far end relays to
 * the remote daemon's socket (iovirt-ssh-helper); calls from
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

#include <poll.h>

#include <glib.h>

#include "config.h"
#include "remote/remote_calls.h"
#include "util/error.h"
#include "util/paths.h"

#define IOV_FROM_THIS IOV_FROM_REMOTE

#define AUTOSTART_WAIT_MS 10000
/* TCP connection, TLS handshake and the server's confirmation */
#define TLS_SETUP_MS 20000

int
remoteCall(iovConnectPtr conn, int proc, xdrproc_t argsFilter, void *args, xdrproc_t retFilter,
           void *ret)
{
    /* NULL filters mean no arguments / no reply payload */
    return rpcClientCall(conn->client, REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION, proc, argsFilter,
                         args, retFilter, ret, 0);
}

int
remoteCallProgram(iovConnectPtr conn, uint32_t prog, uint32_t vers, int proc, xdrproc_t argsFilter,
                  void *args, xdrproc_t retFilter, void *ret)
{
    return rpcClientCall(conn->client, prog, vers, proc, argsFilter, args, retFilter, ret, 0);
}

/* ---- URIs and sockets ---- */

typedef enum {
    TRANSPORT_UNIX,
    TRANSPORT_TLS,
    TRANSPORT_SSH,
} transport;

static const char *const transportNames[] = {"unix", "tls", "ssh"};

/* What a URI asks for: iovirt's own spelling (iovirt[+T]://) or
 * libvirt's (qemu[+T]://), with libvirt's parameters. */
typedef struct {
    transport transport;
    bool system;
    char *host;       /* tls, ssh */
    char *port;       /* tls, ssh; NULL: the default */
    char *user;       /* ssh */
    char *socket;     /* from ?socket=, or NULL */
    char *pkipath;    /* tls: ?pkipath= */
    bool noVerify;    /* tls: ?no_verify=1 */
    char *keyfile;    /* ssh: ?keyfile= */
    bool noTty;       /* ssh: ?no_tty=1 */
    char *knownHosts; /* ssh: ?known_hosts= */
    char *command;    /* ssh: ?command= (the ssh program) */
    int kaInterval;   /* ?keepalive_interval= (default 5) */
    int kaCount;      /* ?keepalive_count= (default 5) */
    bool autostart;   /* the session's default socket: start a daemon if none */
} uriInfo;

static void
uriInfoClear(uriInfo *u)
{
    g_free(u->host);
    g_free(u->port);
    g_free(u->user);
    g_free(u->socket);
    g_free(u->pkipath);
    g_free(u->keyfile);
    g_free(u->knownHosts);
    g_free(u->command);
}

/* A boolean URI parameter: 0 or 1. */
static int
parseBoolParam(const char *uri, const char *key, const char *v, bool *out)
{
    if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0) {
        reportError(IOV_ERR_INVALID_ARG, "parameter '%s' of URI '%s' must be 0 or 1", key, uri);
        return -1;
    }
    *out = v[0] == '1';
    return 0;
}

static int
parseURI(const char *uri, uriInfo *out)
{
    g_autoptr(GUri) u = NULL;
    g_autoptr(GError) gerr = NULL;
    g_autofree char *base = NULL;
    const char *scheme, *path, *query, *plus;

    memset(out, 0, sizeof(*out));
    out->kaInterval = 5;
    out->kaCount = 5;
    u = g_uri_parse(uri, G_URI_FLAGS_NONE, &gerr);
    if (!u) {
        reportError(IOV_ERR_INVALID_ARG, "cannot parse the URI '%s': %s", uri, gerr->message);
        return -1;
    }
    scheme = g_uri_get_scheme(u);
    path = g_uri_get_path(u);
    query = g_uri_get_query(u);
    plus = strchr(scheme, '+');
    base = plus ? g_strndup(scheme, plus - scheme) : g_strdup(scheme);
    if (strcmp(base, "iovirt") != 0 && strcmp(base, "qemu") != 0) {
        reportError(
            IOV_ERR_NO_CONNECT,
            "'%s': the URI must start with iovirt:// or qemu:// (or their +unix, +tls, +ssh forms)",
            uri);
        return -1;
    }
    if (g_uri_get_host(u) && *g_uri_get_host(u))
        out->host = g_strdup(g_uri_get_host(u));
    if (!plus)
        out->transport = out->host ? TRANSPORT_TLS : TRANSPORT_UNIX; /* libvirt's default */
    else if (strcmp(plus + 1, "unix") == 0)
        out->transport = TRANSPORT_UNIX;
    else if (strcmp(plus + 1, "tls") == 0)
        out->transport = TRANSPORT_TLS;
    else if (strcmp(plus + 1, "ssh") == 0)
        out->transport = TRANSPORT_SSH;
    else {
        reportError(IOV_ERR_NO_SUPPORT,
                    "transport '%s' of URI '%s' (iovirt speaks unix, tls and ssh; never plain tcp)",
                    plus + 1, uri);
        return -1;
    }
    if (out->transport == TRANSPORT_UNIX && out->host) {
        reportError(IOV_ERR_INVALID_ARG, "URI '%s': a unix socket is local; name no host", uri);
        return -1;
    }
    if (out->transport != TRANSPORT_UNIX && !out->host) {
        reportError(IOV_ERR_INVALID_ARG, "URI '%s': the %s transport needs a host", uri,
                    transportNames[out->transport]);
        return -1;
    }
    if (g_uri_get_port(u) > 0)
        out->port = g_strdup_printf("%d", g_uri_get_port(u));
    if (g_uri_get_user(u) && *g_uri_get_user(u))
        out->user = g_strdup(g_uri_get_user(u));
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
            char **str = NULL;

            if (strcmp(k, "socket") == 0)
                str = &out->socket;
            else if (strcmp(k, "pkipath") == 0)
                str = &out->pkipath;
            else if (strcmp(k, "keyfile") == 0)
                str = &out->keyfile;
            else if (strcmp(k, "known_hosts") == 0)
                str = &out->knownHosts;
            else if (strcmp(k, "command") == 0)
                str = &out->command;
            if (str) {
                g_free(*str);
                *str = g_strdup(v);
            } else if (strcmp(k, "no_verify") == 0) {
                if (parseBoolParam(uri, k, v, &out->noVerify) < 0)
                    return -1;
            } else if (strcmp(k, "no_tty") == 0) {
                if (parseBoolParam(uri, k, v, &out->noTty) < 0)
                    return -1;
            } else if (strcmp(k, "keepalive_interval") == 0 || strcmp(k, "keepalive_count") == 0) {
                char *end = NULL;
                long n = strtol(v, &end, 10);

                if (!*(char *)v || *end || n < -1 || n > 3600) {
                    reportError(IOV_ERR_INVALID_ARG,
                                "parameter '%s' of URI '%s' must be an integer from -1 to 3600",
                                (char *)k, uri);
                    return -1;
                }
                if (strcmp(k, "keepalive_interval") == 0)
                    out->kaInterval = (int)n;
                else
                    out->kaCount = (int)MAX(n, 0);
            } else {
                reportError(IOV_ERR_INVALID_ARG, "unknown parameter '%s' in URI '%s'", (char *)k, uri);
                return -1;
            }
        }
    }
    out->autostart = out->transport == TRANSPORT_UNIX && !out->system && !out->socket;
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

/* The client's PKI files: ?pkipath=DIR (libvirt's names in it), else
 * libvirt's layout: /etc/pki for root, ~/.pki/iovirt for others. */
static void
pkiFiles(const uriInfo *u, char **ca, char **crl, char **cert, char **key)
{
    g_autofree char *dir = NULL;

    if (u->pkipath)
        dir = g_strdup(u->pkipath);
    else if (getuid() != 0)
        dir = g_build_filename(g_get_home_dir(), ".pki", "iovirt", NULL);
    if (dir) {
        *ca = g_build_filename(dir, "cacert.pem", NULL);
        *crl = g_build_filename(dir, "cacrl.pem", NULL);
        *cert = g_build_filename(dir, "clientcert.pem", NULL);
        *key = g_build_filename(dir, "clientkey.pem", NULL);
    } else {
        *ca = g_strdup("/etc/pki/CA/cacert.pem");
        *crl = g_strdup("/etc/pki/CA/cacrl.pem");
        *cert = g_strdup("/etc/pki/iovirt/clientcert.pem");
        *key = g_strdup("/etc/pki/iovirt/private/clientkey.pem");
    }
    if (access(*crl, R_OK) < 0)
        g_clear_pointer(crl, g_free);
}

/* Wait until `fd` is ready for `events` or the deadline (monotonic µs)
 * passes: 1 ready, 0 timed out, -1 error. */
static int
waitFd(int fd, short events, gint64 deadline)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        gint64 left = deadline - g_get_monotonic_time();
        int r;

        if (left <= 0)
            return 0;
        r = poll(&p, 1, (int)((left + 999) / 1000));
        if (r < 0 && errno == EINTR)
            continue;
        return r;
    }
}

/*
 * connectTLS: a TLS stream to the daemon of `u`, the handshake done, the
 * server's certificate checked (it must name the host), and the server's
 * confirmation that ours passed its checks read (libvirt's one byte; a
 * refusal comes with the server's reason, reported as is).
 */
static rpcStream *
connectTLS(const uriInfo *u)
{
    g_autofree char *ca = NULL, *crl = NULL, *cert = NULL, *key = NULL;
    g_autoptr(rpcTLSContext) ctx = NULL;
    g_autoptr(rpcStream) s = NULL;
    gint64 deadline = g_get_monotonic_time() + TLS_SETUP_MS * 1000;
    char byte;
    int fd, r;

    pkiFiles(u, &ca, &crl, &cert, &key);
    if (!u->noVerify && (access(cert, R_OK) < 0 || access(key, R_OK) < 0)) {
        reportError(
            IOV_ERR_AUTH_FAILED,
            "no client certificate: cannot read '%s' or '%s' (see pkipath=); the server requires one",
            cert, key);
        return NULL;
    }
    if (access(cert, R_OK) < 0 || access(key, R_OK) < 0)
        g_clear_pointer(&cert, g_free);
    if (!(ctx =
              rpcTLSContextNew(false, ca, crl, cert, cert ? key : NULL, NULL, NULL, !u->noVerify)))
        return NULL;
    if ((fd = rpcSocketConnectTCP(u->host, u->port ? u->port : "16514")) < 0)
        return NULL;
    s = rpcStreamNewTLS(ctx, fd, u->host);
    rpcStreamTLSOwnContext(s);
    ctx = NULL; /* the stream's now */

    while ((r = rpcStreamTLSHandshake(s)) == 1) {
        if (waitFd(fd, rpcStreamTLSWantsWrite(s) ? POLLOUT : POLLIN, deadline) <= 0) {
            utilResetError();
            reportError(IOV_ERR_NO_CONNECT, "the TLS handshake with '%s' did not end within %d ms",
                        u->host, TLS_SETUP_MS);
            return NULL;
        }
    }
    if (r < 0 || rpcStreamTLSCheckPeer(s) < 0)
        return NULL;

    /* the server's verdict on our certificate */
    for (;;) {
        ssize_t n = s->ops->read(s, &byte, 1);

        if (n == 1)
            break;
        if (n == 0) {
            reportError(
                IOV_ERR_AUTH_FAILED,
                "the server '%s' closed the connection after the TLS handshake (our certificate or address refused)",
                u->host);
            return NULL;
        }
        if (errno != EAGAIN && errno != EINTR) {
            reportSystemError(errno, "cannot read the TLS confirmation from '%s'", u->host);
            return NULL;
        }
        if (rpcStreamPending(s) == 0 && waitFd(fd, POLLIN, deadline) <= 0) {
            reportError(IOV_ERR_NO_CONNECT,
                        "the server '%s' did not confirm the TLS connection within %d ms", u->host,
                        TLS_SETUP_MS);
            return NULL;
        }
    }
    if (byte != RPC_TLS_CONFIRM) {
        GString *line = g_string_new(NULL);
        iovError err = {
            .code = IOV_ERR_AUTH_FAILED,
            .domain = IOV_FROM_RPC,
            .level = IOV_ERR_ERROR,
            .int1 = -1,
            .int2 = -1,
        };

        while (line->len < 1024) {
            ssize_t n = s->ops->read(s, &byte, 1);

            if (n == 1 && byte != '\n') {
                g_string_append_c(line, byte);
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EINTR) &&
                (rpcStreamPending(s) > 0 || waitFd(fd, POLLIN, deadline) > 0))
                continue;
            break;
        }
        if (line->len == 0)
            g_string_append_printf(line, "%sthe server '%s' refused our certificate",
                                   utilErrorPrefix(IOV_ERR_AUTH_FAILED), u->host);
        err.message = g_string_free(line, FALSE);
        utilSetError(&err);
        g_free(err.message);
        return NULL;
    }
    return g_steal_pointer(&s);
}

/*
 * connectSSH: ssh to the host, where iovirt-ssh-helper relays to the
 * daemon's socket; the stream is ssh's standard input and output. ssh
 * runs from an argument vector; its error output goes to ours, so a
 * password prompt or a host key question reaches the user. No thread
 * watches it: the stream reaps it when the connection closes.
 */
static rpcStream *
connectSSH(const uriInfo *u, bool readonly)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) gerr = NULL;
    g_autofree char *remote = NULL;
    rpcStream *s;
    GPid pid;
    int rfd, wfd;

    g_ptr_array_add(argv, g_strdup(u->command ? u->command : "ssh"));
    if (u->port) {
        g_ptr_array_add(argv, g_strdup("-p"));
        g_ptr_array_add(argv, g_strdup(u->port));
    }
    if (u->user) {
        g_ptr_array_add(argv, g_strdup("-l"));
        g_ptr_array_add(argv, g_strdup(u->user));
    }
    if (u->keyfile) {
        g_ptr_array_add(argv, g_strdup("-i"));
        g_ptr_array_add(argv, g_strdup(u->keyfile));
    }
    if (u->knownHosts) {
        g_ptr_array_add(argv, g_strdup("-o"));
        g_ptr_array_add(argv, g_strdup_printf("UserKnownHostsFile=%s", u->knownHosts));
    }
    if (u->noTty) {
        g_ptr_array_add(argv, g_strdup("-o"));
        g_ptr_array_add(argv, g_strdup("BatchMode=yes"));
    }
    g_ptr_array_add(argv, g_strdup("-T"));
    g_ptr_array_add(argv, g_strdup("-e"));
    g_ptr_array_add(argv, g_strdup("none"));
    g_ptr_array_add(argv, g_strdup("--"));
    g_ptr_array_add(argv, g_strdup(u->host));
    /* the far side's shell reads this one string: every part quoted */
    if (u->socket) {
        g_autofree char *q = g_shell_quote(u->socket);

        remote = g_strdup_printf("iovirt-ssh-helper --socket %s", q);
    } else {
        remote = g_strdup_printf("iovirt-ssh-helper %s%s", readonly ? "--readonly " : "",
                                 u->system ? "iovirt:///system" : "iovirt:///session");
    }
    g_ptr_array_add(argv, g_steal_pointer(&remote));
    g_ptr_array_add(argv, NULL);

    /* GLib's spawn from the vector, searched in PATH; ssh's standard
     * error stays ours. The stream reaps it when it closes. */
    if (!g_spawn_async_with_pipes(NULL, (char **)argv->pdata, NULL,
                                  G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD |
                                      G_SPAWN_CLOEXEC_PIPES,
                                  NULL, NULL, &pid, &wfd, &rfd, NULL, &gerr)) {
        reportError(IOV_ERR_NO_CONNECT, "cannot run '%s': %s", (char *)argv->pdata[0],
                    gerr->message);
        return NULL;
    }
    s = rpcStreamNewPipe(rfd, wfd);
    rpcStreamPipeSetChild(s, pid);
    return s;
}

/* remoteConnectLocalSocket: see remote_driver.h. */
int
remoteConnectLocalSocket(bool system, const char *socketPath, bool readonly)
{
    g_autofree char *path = NULL;
    uriInfo u = {.transport = TRANSPORT_UNIX, .system = system};
    int fd;

    u.socket = g_strdup(socketPath);
    u.autostart = !system && !socketPath;
    fd = connectSocket(&u, readonly, &path);
    uriInfoClear(&u);
    return fd;
}

/* The URI a connection to `uri` uses (the default when NULL). */
static const char *
effectiveURI(const char *uri)
{
    const char *env = g_getenv("IOVIRT_DEFAULT_URI");

    if (uri)
        return uri;
    return env && *env ? env : (getuid() == 0 ? "iovirt:///system" : "iovirt:///session");
}

bool
remoteURIIsTLS(const char *uri)
{
    uriInfo u;
    bool tls;

    if (parseURI(effectiveURI(uri), &u) < 0) {
        uriInfoClear(&u);
        utilResetError();
        return false;
    }
    tls = u.transport == TRANSPORT_TLS;
    uriInfoClear(&u);
    return tls;
}

iovConnectPtr
remoteConnectOpen(const char *uri, bool readonly)
{
    g_autofree char *path = NULL;
    iovConnectPtr conn;
    uriInfo u;
    remote_connect_open_args args = {0};
    g_autofree char *name = NULL;
    rpcStream *stream = NULL;
    int fd;

    utilResetError();
    uri = effectiveURI(uri);
    if (parseURI(uri, &u) < 0) {
        uriInfoClear(&u);
        return NULL;
    }
    switch (u.transport) {
    case TRANSPORT_UNIX:
        if ((fd = connectSocket(&u, readonly, &path)) >= 0)
            stream = rpcStreamNewUnix(fd);
        break;
    case TRANSPORT_TLS:
        stream = connectTLS(&u);
        break;
    case TRANSPORT_SSH:
        stream = connectSSH(&u, readonly);
        break;
    }
    if (!stream) {
        uriInfoClear(&u);
        return NULL;
    }
    conn = g_new0(iovConnect, 1);
    conn->refs = 1;
    g_mutex_init(&conn->eventLock);
    conn->readonly = readonly;
    conn->uri = g_strdup(uri);
    conn->transport = transportNames[u.transport];
    conn->client = rpcClientNew(stream);
    rpcClientSetKeepalive(conn->client, u.kaInterval, (unsigned int)u.kaCount);
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
