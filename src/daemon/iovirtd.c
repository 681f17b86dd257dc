/*
 * iovirtd: the daemon that owns the QEMU guests of one mode (system or
 * session) and serves the libvirt remote protocol on unix sockets.
 *
 * Threads: the main thread runs the event loop (sockets, signals, the
 * idle timer); calls run in the RPC server's worker pool; QEMU monitors
 * have their own I/O thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib.h>

#include "config.h"
#include "dispatch.h"
#include "qemu/qemu_migration.h"
#include "util/error.h"
#include "util/file.h"
#include "util/log.h"
#include "util/paths.h"

#define IOV_FROM_THIS IOV_FROM_NONE

/* What the configuration file and the options set. */
typedef struct {
    bool system;
    unsigned int maxClients;
    unsigned int maxReadonlyClients;
    unsigned int maxRequestsPerClient;
    unsigned int clientIdleTimeout;
    unsigned int workers;
    unsigned int monitorTimeoutMs;
    unsigned int idleExitSec; /* 0: never exit on idle */
    unsigned int maxClientEventQueue; /* bytes; 0: the default */
    int logLevel;
    char *logFile;
    char *qemuBinary;
    /* remote access (libvirtd.conf's names and defaults) */
    unsigned int libvirtSockets; /* libvirt_sockets: also libvirt's paths */
    unsigned int listenTls;      /* listen_tls */
    char *listenAddr;            /* listen_addr; NULL: every address */
    char *tlsPort;               /* tls_port */
    char *caFile;                /* ca_file ... NULL: the default */
    char *certFile;
    char *keyFile;
    char *crlFile;           /* NULL: no CRL */
    char **tlsAllowedDnList; /* NULL: any DN */
    char *tlsPriority;
    unsigned int maxAnonymousClients;
    unsigned int tlsHandshakeTimeout;
    int keepaliveInterval;
    unsigned int keepaliveCount;
    /* migration (qemu.conf's names): where an incoming guest's QEMU
     * listens for the stream */
    char *migrationAddress;        /* migration_address; NULL: 127.0.0.1 */
    unsigned int migrationPortMin; /* migration_port_min; 0: 49152 */
    unsigned int migrationPortMax; /* migration_port_max; 0: 49215 */
} daemonConfig;

static void
configClear(daemonConfig *cfg)
{
    g_free(cfg->logFile);
    g_free(cfg->qemuBinary);
    g_free(cfg->listenAddr);
    g_free(cfg->tlsPort);
    g_free(cfg->caFile);
    g_free(cfg->certFile);
    g_free(cfg->keyFile);
    g_free(cfg->crlFile);
    g_strfreev(cfg->tlsAllowedDnList);
    g_free(cfg->tlsPriority);
    g_free(cfg->migrationAddress);
}

/* A string setting; the double quotes libvirtd.conf puts around values
 * are taken off, so that its lines can be copied. */
static char *
configString(GKeyFile *kf, const char *key)
{
    g_autofree char *v = g_key_file_get_string(kf, "iovirtd", key, NULL);
    size_t len = v ? strlen(v) : 0;

    if (len >= 2 && v[0] == '"' && v[len - 1] == '"')
        return g_strndup(v + 1, len - 2);
    return g_steal_pointer(&v);
}

/* Read the [iovirtd] group of `path` into `cfg`; a missing file is fine
 * unless it was named explicitly. */
static int
loadConfigFile(const char *path, bool mustExist, daemonConfig *cfg)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GError) gerr = NULL;
    static const struct {
        const char *key;
        size_t offset;
    } uints[] = {
        {"max_clients", G_STRUCT_OFFSET(daemonConfig, maxClients)},
        {"max_readonly_clients", G_STRUCT_OFFSET(daemonConfig, maxReadonlyClients)},
        {"max_requests_per_client", G_STRUCT_OFFSET(daemonConfig, maxRequestsPerClient)},
        {"client_idle_timeout", G_STRUCT_OFFSET(daemonConfig, clientIdleTimeout)},
        {"workers", G_STRUCT_OFFSET(daemonConfig, workers)},
        {"monitor_timeout", G_STRUCT_OFFSET(daemonConfig, monitorTimeoutMs)},
        {"listen_tls", G_STRUCT_OFFSET(daemonConfig, listenTls)},
        {"libvirt_sockets", G_STRUCT_OFFSET(daemonConfig, libvirtSockets)},
        {"max_anonymous_clients", G_STRUCT_OFFSET(daemonConfig, maxAnonymousClients)},
        {"tls_handshake_timeout", G_STRUCT_OFFSET(daemonConfig, tlsHandshakeTimeout)},
        {"keepalive_count", G_STRUCT_OFFSET(daemonConfig, keepaliveCount)},
        {"max_client_event_queue", G_STRUCT_OFFSET(daemonConfig, maxClientEventQueue)},
        {"migration_port_min", G_STRUCT_OFFSET(daemonConfig, migrationPortMin)},
        {"migration_port_max", G_STRUCT_OFFSET(daemonConfig, migrationPortMax)},
    };
    static const struct {
        const char *key;
        size_t offset;
    } strings[] = {
        {"listen_addr", G_STRUCT_OFFSET(daemonConfig, listenAddr)},
        {"tls_port", G_STRUCT_OFFSET(daemonConfig, tlsPort)},
        {"ca_file", G_STRUCT_OFFSET(daemonConfig, caFile)},
        {"cert_file", G_STRUCT_OFFSET(daemonConfig, certFile)},
        {"key_file", G_STRUCT_OFFSET(daemonConfig, keyFile)},
        {"crl_file", G_STRUCT_OFFSET(daemonConfig, crlFile)},
        {"tls_priority", G_STRUCT_OFFSET(daemonConfig, tlsPriority)},
        {"migration_address", G_STRUCT_OFFSET(daemonConfig, migrationAddress)},
    };
    g_auto(GStrv) keys = NULL;
    char **k;
    size_t i;

    if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &gerr)) {
        if (!mustExist && g_error_matches(gerr, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            return 0;
        reportError(IOV_ERR_CONFIG_UNSUPPORTED, "cannot read the configuration file '%s': %s", path, gerr->message);
        return -1;
    }
    keys = g_key_file_get_keys(kf, "iovirtd", NULL, NULL);
    for (k = keys; k && *k; k++) {
        bool known = false;

        for (i = 0; i < G_N_ELEMENTS(uints); i++) {
            g_autoptr(GError) e = NULL;
            guint64 v;

            if (strcmp(*k, uints[i].key) != 0)
                continue;
            known = true;
            v = g_key_file_get_uint64(kf, "iovirtd", *k, &e);
            if (e || v > G_MAXUINT32) {
                reportError(IOV_ERR_CONFIG_UNSUPPORTED, "%s: %s must be a non-negative integer", path, *k);
                return -1;
            }
            *(unsigned int *)((char *)cfg + uints[i].offset) = (unsigned int)v;
        }
        for (i = 0; i < G_N_ELEMENTS(strings); i++) {
            char **field = (char **)((char *)cfg + strings[i].offset);

            if (strcmp(*k, strings[i].key) != 0)
                continue;
            known = true;
            g_free(*field);
            *field = configString(kf, *k);
        }
        if (strcmp(*k, "keepalive_interval") == 0) {
            g_autoptr(GError) e = NULL;

            known = true;
            cfg->keepaliveInterval = g_key_file_get_integer(kf, "iovirtd", *k, &e);
            if (e) {
                reportError(IOV_ERR_CONFIG_UNSUPPORTED,
                            "%s: keepalive_interval must be an integer (-1 turns keepalive off)",
                            path);
                return -1;
            }
        } else if (strcmp(*k, "tls_allowed_dn_list") == 0) {
            known = true;
            g_strfreev(cfg->tlsAllowedDnList);
            cfg->tlsAllowedDnList = g_key_file_get_string_list(kf, "iovirtd", *k, NULL, NULL);
        } else if (strcmp(*k, "log_level") == 0) {
            g_autofree char *v = g_key_file_get_string(kf, "iovirtd", *k, NULL);

            known = true;
            if ((cfg->logLevel = utilLogLevelFromString(v)) < 0) {
                reportError(IOV_ERR_CONFIG_UNSUPPORTED, "%s: log_level '%s' is not debug, info, warning or error", path, v);
                return -1;
            }
        } else if (strcmp(*k, "log_file") == 0) {
            known = true;
            g_free(cfg->logFile);
            cfg->logFile = g_key_file_get_string(kf, "iovirtd", *k, NULL);
        } else if (strcmp(*k, "qemu_binary") == 0) {
            known = true;
            g_free(cfg->qemuBinary);
            cfg->qemuBinary = g_key_file_get_string(kf, "iovirtd", *k, NULL);
        }
        if (!known) {
            reportError(IOV_ERR_CONFIG_UNSUPPORTED, "%s: unknown setting '%s' in [iovirtd]", path, *k);
            return -1;
        }
    }
    return 0;
}

/* ---- TLS ---- */

/* The default of a PKI file: libvirt's layout under /etc/pki for the
 * system daemon, $XDG_CONFIG_HOME/iovirt/pki/ for a session daemon. */
static char *
pkiDefault(bool system, const char *systemPath, const char *name)
{
    if (system)
        return g_strdup(systemPath);
    return g_build_filename(g_get_user_config_dir(), "iovirt", "pki", name, NULL);
}

/* The server's TLS credentials from the configuration; NULL with the
 * error set (a missing file, a key others may read, a bad priority). */
static rpcTLSContext *
loadTLS(const daemonConfig *cfg)
{
    g_autofree char *ca = cfg->caFile
                              ? g_strdup(cfg->caFile)
                              : pkiDefault(cfg->system, "/etc/pki/CA/cacert.pem", "cacert.pem");
    g_autofree char *cert =
        cfg->certFile ? g_strdup(cfg->certFile)
                      : pkiDefault(cfg->system, "/etc/pki/iovirt/servercert.pem", "servercert.pem");
    g_autofree char *key =
        cfg->keyFile
            ? g_strdup(cfg->keyFile)
            : pkiDefault(cfg->system, "/etc/pki/iovirt/private/serverkey.pem", "serverkey.pem");

    return rpcTLSContextNew(true, ca, cfg->crlFile && *cfg->crlFile ? cfg->crlFile : NULL, cert,
                            key, (const char *const *)cfg->tlsAllowedDnList, cfg->tlsPriority,
                            true);
}

/* ---- libvirt's socket paths ---- */

/*
 * addLibvirtSockets: also listen where libvirt's clients look by default
 * (/run/libvirt/libvirt-sock and -sock-ro, or $XDG_RUNTIME_DIR/libvirt/
 * for a session), so that `virsh` with qemu:///system, and qemu+ssh://
 * through libvirt's virt-ssh-helper, reach this daemon. Refused, naming
 * the path, while another server (a libvirtd) answers there.
 */
static int
addLibvirtSockets(rpcServer *srv, bool system, char **rw, char **ro)
{
    g_autofree char *dir = system ? g_strdup(IOV_RUNSTATEDIR "/libvirt")
                                  : g_build_filename(g_get_user_runtime_dir(), "libvirt", NULL);

    if (utilMakeDir(dir, system ? 0755 : 0700) < 0)
        return -1;
    *rw = g_build_filename(dir, "libvirt-sock", NULL);
    *ro = g_build_filename(dir, "libvirt-sock-ro", NULL);
    if (rpcServerAddUnixListener(srv, *rw, 0600, false) < 0 ||
        rpcServerAddUnixListener(srv, *ro, 0666, true) < 0) {
        g_autoptr(iovError) e = utilSaveError();

        g_clear_pointer(rw, g_free);
        g_clear_pointer(ro, g_free);
        reportError(IOV_ERR_OPERATION_INVALID, "libvirt_sockets=1: %s (is a libvirtd running?)",
                    e->message);
        return -1;
    }
    logInfo("also serving libvirt's sockets in %s", dir);
    return 0;
}

/* ---- the lock: one daemon per mode and directory ---- */

/* Take the lock file in `dir`; returns its descriptor (kept open for the
 * daemon's life) or -1 with an error naming the pid that holds it. */
static int
takeLock(const char *dir)
{
    g_autofree char *path = g_build_filename(dir, "iovirtd.pid", NULL);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    g_autofree char *pid = NULL;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

    if (fd < 0) {
        reportSystemError(errno, "cannot open the lock file '%s'", path);
        return -1;
    }
    if (fcntl(fd, F_SETLK, &fl) < 0) {
        struct flock who = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

        fcntl(fd, F_GETLK, &who);
        reportError(IOV_ERR_OPERATION_INVALID, "another iovirtd (pid %d) already runs for '%s'",
                    (int)who.l_pid, dir);
        close(fd);
        return -1;
    }
    pid = g_strdup_printf("%d\n", (int)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, strlen(pid), 0) < 0) {
        reportSystemError(errno, "cannot write the lock file '%s'", path);
        close(fd);
        return -1;
    }
    return fd;
}

/* ---- the event loop ---- */

typedef struct {
    GMainLoop *loop;
    rpcServer *server;
    qemuDriver *driver;
    unsigned int idleExitSec;
    gint64 idleSince; /* monotonic us; 0 while busy */
    bool trimmed;     /* memory given back since the last client left */
} daemonLoop;

static gboolean
onQuitSignal(gpointer data)
{
    daemonLoop *l = data;

    logInfo("signal received: stopping (guests keep running)");
    g_main_loop_quit(l->loop);
    return G_SOURCE_CONTINUE;
}

/*
 * Every second: when the last client has gone, give the memory freed by
 * its calls back to the system (so that the daemon stays small and flat
 * over time); with idleExitSec, exit after that long with no client and
 * no running guest.
 */
static gboolean
onIdleTimer(gpointer data)
{
    daemonLoop *l = data;
    gint64 now = g_get_monotonic_time();
    unsigned int clients = rpcServerClientCount(l->server);

    if (clients > 0) {
        l->trimmed = false;
    } else if (!l->trimmed) {
        malloc_trim(0);
        l->trimmed = true;
    }
    if (!l->idleExitSec)
        return G_SOURCE_CONTINUE;
    if (clients > 0 || qemuDriverActiveCount(l->driver) > 0) {
        l->idleSince = 0;
        return G_SOURCE_CONTINUE;
    }
    if (!l->idleSince)
        l->idleSince = now;
    if (now - l->idleSince >= (gint64)l->idleExitSec * G_USEC_PER_SEC) {
        logInfo("no client and no running guest for %u s: exiting", l->idleExitSec);
        g_main_loop_quit(l->loop);
    }
    return G_SOURCE_CONTINUE;
}

/* GLib's messages (the monitor's and the RPC server's g_debug among
 * them) go to the daemon's log, at the matching level. */
static void
glibLogHandler(const gchar *domain, GLogLevelFlags level, const gchar *message,
               gpointer data G_GNUC_UNUSED)
{
    int ours = (level & G_LOG_LEVEL_DEBUG) ? UTIL_LOG_DEBUG
               : (level & (G_LOG_LEVEL_INFO | G_LOG_LEVEL_MESSAGE)) ? UTIL_LOG_INFO
               : (level & G_LOG_LEVEL_WARNING) ? UTIL_LOG_WARN
                                               : UTIL_LOG_ERROR;

    utilLog(ours, "%s%s%s", domain ? domain : "", domain ? ": " : "", message);
}

static void
usage(GOptionContext *ctx)
{
    g_autofree char *help = g_option_context_get_help(ctx, TRUE, NULL);

    fputs(help, stdout);
}

int
main(int argc, char **argv)
{
    daemonConfig cfg = {
        .system = getuid() == 0,
        .maxClients = 128,
        .maxReadonlyClients = 20,
        .maxRequestsPerClient = 8,
        .clientIdleTimeout = 600,
        .workers = 16,
        .monitorTimeoutMs = 30000,
        .logLevel = UTIL_LOG_WARN,
        .maxAnonymousClients = 20,
        .tlsHandshakeTimeout = 10,
        .keepaliveInterval = 5,
        .keepaliveCount = 5,
    };
    g_autoptr(rpcTLSContext) tls = NULL;
    gboolean optSystem = FALSE, optSession = FALSE, optVersion = FALSE;
    g_autofree char *optConfig = NULL;
    g_autofree char *optLogLevel = NULL;
    g_autofree char *optLogFile = NULL;
    gint optTimeout = -1;
    gboolean optListen = FALSE;
    GOptionEntry entries[] = {
        {"system", 0, 0, G_OPTION_ARG_NONE, &optSystem,
         "serve iovirt:///system (the default for root)", NULL},
        {"session", 0, 0, G_OPTION_ARG_NONE, &optSession,
         "serve iovirt:///session of the calling user", NULL},
        {"config", 'f', 0, G_OPTION_ARG_FILENAME, &optConfig, "configuration file", "FILE"},
        {"timeout", 't', 0, G_OPTION_ARG_INT, &optTimeout,
         "exit after SECS with no client and no running guest", "SECS"},
        {"log-level", 'l', 0, G_OPTION_ARG_STRING, &optLogLevel,
         "debug, info, warning (default) or error", "LEVEL"},
        {"log-file", 0, 0, G_OPTION_ARG_FILENAME, &optLogFile, "log to FILE instead of stderr",
         "FILE"},
        {"listen", 0, 0, G_OPTION_ARG_NONE, &optListen,
         "also listen for TLS connections (as listen_tls=1)", NULL},
        {"version", 'V', 0, G_OPTION_ARG_NONE, &optVersion, "print the version and exit", NULL},
        {NULL},
    };
    g_autoptr(GOptionContext) octx = g_option_context_new("- the iovirt daemon");
    g_autoptr(GError) gerr = NULL;
    g_autofree char *runDir = NULL;
    g_autofree char *stateDir = NULL;
    g_autofree char *dataDir = NULL;
    g_autofree char *defsDir = NULL;
    g_autofree char *secretDir = NULL;
    g_autofree char *logDir = NULL;
    g_autofree char *guestLogDir = NULL;
    g_autofree char *rwSock = NULL;
    g_autofree char *roSock = NULL;
    g_autofree char *configPath = NULL;
    g_autofree char *lvRwSock = NULL;
    g_autofree char *lvRoSock = NULL;
    qemuDriverConfig dcfg = {0};
    rpcServerConfig scfg = {0};
    rpcServerCallbacks cb = {
        .dispatch = daemonDispatch,
        .connected = daemonClientConnected,
        .disconnected = daemonClientDisconnected,
        .dispatchQuick = daemonDispatchQuick,
    };
    daemonState state = {0};
    daemonLoop l = {0};
    int lockFd = -1, ret = 1;

    /* worker threads would each get a malloc arena of their own; two are
     * plenty for short calls and keep the daemon small and its memory flat */
    mallopt(M_ARENA_MAX, 2);
    g_option_context_add_main_entries(octx, entries, NULL);
    g_option_context_set_summary(octx, "Owns QEMU guests and the I/O limits of their disks, and serves\n"
                                       "iovsh, the C API, Python, virsh and python3-libvirt on unix sockets.");
    if (!g_option_context_parse(octx, &argc, &argv, &gerr)) {
        fprintf(stderr, "iovirtd: %s\n", gerr->message);
        return 1;
    }
    if (optVersion) {
        printf("iovirtd %s\n", IOV_VERSION);
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "iovirtd: unexpected argument '%s'\n", argv[1]);
        usage(octx);
        return 1;
    }
    if (optSystem && optSession) {
        fprintf(stderr, "iovirtd: --system and --session exclude each other\n");
        return 1;
    }
    if (optSystem)
        cfg.system = true;
    if (optSession)
        cfg.system = false;
    if (cfg.system && getuid() != 0) {
        fprintf(stderr, "iovirtd: --system needs root; use --session\n");
        return 1;
    }

    configPath = optConfig ? g_strdup(optConfig) : utilConfigFile(cfg.system);
    if (loadConfigFile(configPath, optConfig != NULL, &cfg) < 0)
        goto error;
    if (optLogLevel && (cfg.logLevel = utilLogLevelFromString(optLogLevel)) < 0) {
        fprintf(stderr, "iovirtd: --log-level '%s' is not debug, info, warning or error\n", optLogLevel);
        return 1;
    }
    if (optLogFile) {
        g_free(cfg.logFile);
        cfg.logFile = g_strdup(optLogFile);
    }
    if (optTimeout >= 0)
        cfg.idleExitSec = (unsigned int)optTimeout;
    if (optListen)
        cfg.listenTls = 1;
    if (utilLogSetup(cfg.logLevel, cfg.logFile) < 0)
        goto error;
    g_log_set_default_handler(glibLogHandler, NULL);

    runDir = utilRuntimeDir(cfg.system);
    stateDir = g_build_filename(runDir, "qemu", NULL);
    dataDir = utilDataDir(cfg.system);
    defsDir = g_build_filename(dataDir, "qemu", NULL);
    secretDir = g_build_filename(dataDir, "secrets", NULL);
    logDir = utilLogDir(cfg.system);
    guestLogDir = g_build_filename(logDir, "qemu", NULL);
    rwSock = g_build_filename(runDir, "iovirt-sock", NULL);
    roSock = g_build_filename(runDir, "iovirt-sock-ro", NULL);

    if (cfg.system) {
        /* the read-only socket must be reachable by everyone */
        if (utilMakeDir(runDir, 0755) < 0 || chmod(runDir, 0755) < 0)
            goto error;
    } else {
        g_autofree char *parent = g_path_get_dirname(runDir);

        if (g_getenv("XDG_RUNTIME_DIR") && utilMakeDir(parent, 0700) < 0)
            goto error;
        if (utilEnsurePrivateDir(runDir) < 0)
            goto error;
    }
    if ((lockFd = takeLock(runDir)) < 0)
        goto error;

    signal(SIGPIPE, SIG_IGN);
    dcfg.configDir = defsDir;
    dcfg.stateDir = stateDir;
    dcfg.logDir = guestLogDir;
    dcfg.secretDir = secretDir;
    dcfg.qemuBinary = cfg.qemuBinary;
    dcfg.privileged = cfg.system;
    dcfg.monitorTimeoutMs = (int)cfg.monitorTimeoutMs;
    qemuMigrationConfigure(cfg.migrationAddress, (int)cfg.migrationPortMin,
                           (int)cfg.migrationPortMax);
    if (!(state.driver = qemuDriverNew(&dcfg)))
        goto error;
    /* after the driver reconnected to the guests that kept running */
    qemuDriverAutostart(state.driver);
    state.system = cfg.system;
    state.events = daemonEventsNew(cfg.maxClientEventQueue);
    state.consoles = daemonConsolesNew();
    qemuDriverSetEventHandler(state.driver, daemonEventsEmit, &state);

    scfg.maxClients = cfg.maxClients;
    scfg.maxReadonlyClients = cfg.maxReadonlyClients;
    scfg.maxRequestsPerClient = cfg.maxRequestsPerClient ? cfg.maxRequestsPerClient : 1;
    scfg.idleTimeoutSec = cfg.clientIdleTimeout;
    scfg.workers = cfg.workers ? cfg.workers : 1;
    scfg.maxAnonymousClients = cfg.maxAnonymousClients;
    scfg.handshakeTimeoutSec = cfg.tlsHandshakeTimeout;
    scfg.keepaliveInterval = cfg.keepaliveInterval;
    scfg.keepaliveCount = cfg.keepaliveCount;
    if (cfg.listenTls && !(tls = loadTLS(&cfg)))
        goto error;
    l.loop = g_main_loop_new(NULL, FALSE);
    l.driver = state.driver;
    l.idleExitSec = cfg.idleExitSec;
    if (!(l.server = rpcServerNew(g_main_context_default(), &scfg, &cb, &state)) ||
        rpcServerAddUnixListener(l.server, rwSock, 0600, false) < 0 ||
        rpcServerAddUnixListener(l.server, roSock, 0666, true) < 0)
        goto error;
    if (cfg.libvirtSockets && addLibvirtSockets(l.server, cfg.system, &lvRwSock, &lvRoSock) < 0)
        goto error;
    if (tls && rpcServerAddTLSListener(l.server, cfg.listenAddr,
                                       cfg.tlsPort ? cfg.tlsPort : "16514", tls) < 0)
        goto error;
    if (tls)
        logInfo("listening for TLS on %s port %s",
                cfg.listenAddr ? cfg.listenAddr : "every address",
                cfg.tlsPort ? cfg.tlsPort : "16514");

    g_unix_signal_add(SIGTERM, onQuitSignal, &l);
    g_unix_signal_add(SIGINT, onQuitSignal, &l);
    g_unix_signal_add(SIGHUP, onQuitSignal, &l);
    g_timeout_add_seconds(1, onIdleTimer, &l);
    logInfo("iovirtd %s serving %s on %s", IOV_VERSION, cfg.system ? "system" : "session", rwSock);
    g_main_loop_run(l.loop);
    /* the live sets this thread began end here, on QEMU's reply or the
     * monitor's timeout: until then they hold their domain's job */
    while (qemuDriverBegunSets(state.driver) > 0)
        g_main_context_iteration(NULL, TRUE);
    ret = 0;

 error:
    if (ret != 0)
        fprintf(stderr, "iovirtd: %s\n", utilLastErrorMessage());
    if (l.server) {
        rpcServerFree(l.server);
        unlink(rwSock);
        unlink(roSock);
    }
    if (state.driver)
        qemuDriverSetEventHandler(state.driver, NULL, NULL);
    qemuDriverFree(state.driver);
    daemonEventsFree(state.events);
    daemonConsolesFree(state.consoles);
    if (l.loop)
        g_main_loop_unref(l.loop);
    if (lockFd >= 0) {
        g_autofree char *lockPath = g_build_filename(runDir, "iovirtd.pid", NULL);

        unlink(lockPath);
        close(lockFd);
    }
    configClear(&cfg);
    return ret;
}
