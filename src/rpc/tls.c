/*
 * tls.c: the TLS transport of a connection (GnuTLS, x509)
 *
 * A context holds the credentials of one end: its CA (and CRL), its
 * certificate and key, and for a server the patterns a client's
 * distinguished name must match. A TLS stream is a session of that
 * context over a non-blocking TCP socket; it reads and writes like the
 * unix stream once rpcStreamTLSHandshake has returned 0.
 *
 * Both ends require the peer's certificate and check it: chain to the
 * CA, dates, revocation (when a CRL is given); the client also checks the
 * certificate names the host it dialled, the server that the client's DN
 * matches one of tls_allowed_dn_list.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "rpc.h"
#include "util/error.h"

#define IOV_FROM_THIS IOV_FROM_RPC

struct _rpcTLSContext {
    gnutls_certificate_credentials_t cred; /* owned */
    bool server;
    bool verify;    /* check the peer's certificate (a client may opt out) */
    char **dnList;  /* owned, NULL-terminated; NULL: any DN */
    char *priority; /* owned */
};

typedef struct {
    int fd;                   /* owned; -1 once closed */
    gnutls_session_t session; /* owned */
    rpcTLSContext *ctx;       /* not owned; outlives the stream */
    char *hostname;           /* owned; the client's idea of the peer */
    char *dn;                 /* owned; the peer's DN once checked */
    rpcTLSContext *ownCtx;    /* owned (the same as ctx) when the stream
                               * was given its context, or NULL */
} tlsStreamPriv;

/* Whether `path` can be read: an error naming the setting otherwise. */
static int
checkReadable(const char *what, const char *path)
{
    if (access(path, R_OK) < 0) {
        reportSystemError(errno, "cannot read the %s '%s'", what, path);
        return -1;
    }
    return 0;
}

/*
 * rpcTLSContextNew: the credentials of one end. `ca` is required; `crl`
 * may be NULL; `cert` and `key` are required for a server and optional
 * for a client. A server refuses a key file that its group or others may
 * read. `dnList` (copied, may be NULL) are glob patterns a client's DN
 * must match. `priority` NULL means GnuTLS's default. NULL with the error
 * set.
 */
rpcTLSContext *
rpcTLSContextNew(bool server, const char *ca, const char *crl, const char *cert, const char *key,
                 const char *const *dnList, const char *priority, bool verify)
{
    g_autoptr(rpcTLSContext) ctx = g_new0(rpcTLSContext, 1);
    const char *errpos = NULL;
    gnutls_priority_t prio;
    int r;

    ctx->server = server;
    ctx->verify = verify;
    ctx->priority = g_strdup(priority && *priority ? priority : "NORMAL");
    if (dnList && dnList[0])
        ctx->dnList = g_strdupv((char **)dnList);

    r = gnutls_priority_init(&prio, ctx->priority, &errpos);
    if (r < 0) {
        reportError(IOV_ERR_CONFIG_UNSUPPORTED, "tls_priority '%s' is invalid near '%s': %s",
                    ctx->priority, errpos ? errpos : "", gnutls_strerror(r));
        return NULL;
    }
    gnutls_priority_deinit(prio);

    if ((r = gnutls_certificate_allocate_credentials(&ctx->cred)) < 0) {
        reportError(IOV_ERR_INTERNAL_ERROR, "cannot allocate TLS credentials: %s",
                    gnutls_strerror(r));
        return NULL;
    }
    if (checkReadable("CA certificate", ca) < 0)
        return NULL;
    if ((r = gnutls_certificate_set_x509_trust_file(ctx->cred, ca, GNUTLS_X509_FMT_PEM)) < 0) {
        reportError(IOV_ERR_CONFIG_UNSUPPORTED, "cannot load the CA certificate '%s': %s", ca,
                    gnutls_strerror(r));
        return NULL;
    }
    if (r == 0) {
        reportError(IOV_ERR_CONFIG_UNSUPPORTED, "the CA file '%s' holds no certificate", ca);
        return NULL;
    }
    if (crl && *crl) {
        if (checkReadable("certificate revocation list", crl) < 0)
            return NULL;
        if ((r = gnutls_certificate_set_x509_crl_file(ctx->cred, crl, GNUTLS_X509_FMT_PEM)) < 0) {
            reportError(IOV_ERR_CONFIG_UNSUPPORTED,
                        "cannot load the certificate revocation list '%s': %s", crl,
                        gnutls_strerror(r));
            return NULL;
        }
    }
    if (cert && key) {
        struct stat sb;

        if (checkReadable("certificate", cert) < 0 || checkReadable("private key", key) < 0)
            return NULL;
        if (server && stat(key, &sb) == 0 && (sb.st_mode & 077)) {
            reportError(
                IOV_ERR_CONFIG_UNSUPPORTED,
                "the private key '%s' may be read by its group or others (mode %03o); make it 0600",
                key, (unsigned int)(sb.st_mode & 0777));
            return NULL;
        }
        if ((r = gnutls_certificate_set_x509_key_file(ctx->cred, cert, key, GNUTLS_X509_FMT_PEM)) <
            0) {
            reportError(IOV_ERR_CONFIG_UNSUPPORTED,
                        "cannot load the certificate '%s' with the key '%s': %s", cert, key,
                        gnutls_strerror(r));
            return NULL;
        }
    } else if (server) {
        reportError(IOV_ERR_CONFIG_UNSUPPORTED, "a TLS server needs a certificate and a key");
        return NULL;
    }
    return g_steal_pointer(&ctx);
}

/* rpcTLSContextFree: NULL is fine; no stream of it may remain. */
void
rpcTLSContextFree(rpcTLSContext *ctx)
{
    if (!ctx)
        return;
    if (ctx->cred)
        gnutls_certificate_free_credentials(ctx->cred);
    g_strfreev(ctx->dnList);
    g_free(ctx->priority);
    g_free(ctx);
}

/* Map a GnuTLS result of record I/O onto read(2)'s conventions. */
static ssize_t
tlsResult(ssize_t r)
{
    if (r >= 0)
        return r;
    switch (r) {
    case GNUTLS_E_AGAIN:
        errno = EAGAIN;
        return -1;
    case GNUTLS_E_INTERRUPTED:
        errno = EINTR;
        return -1;
    case GNUTLS_E_PREMATURE_TERMINATION:
        /* the peer closed the socket without a TLS goodbye */
        return 0;
    case GNUTLS_E_PUSH_ERROR:
        errno = EPIPE;
        return -1;
    default:
        g_debug("rpc tls: %s", gnutls_strerror((int)r));
        errno = ECONNRESET;
        return -1;
    }
}

static ssize_t
tlsRead(rpcStream *s, void *buf, size_t len)
{
    tlsStreamPriv *priv = s->priv;

    if (priv->fd < 0) {
        errno = EBADF;
        return -1;
    }
    return tlsResult(gnutls_record_recv(priv->session, buf, len));
}

static ssize_t
tlsWrite(rpcStream *s, const void *buf, size_t len)
{
    tlsStreamPriv *priv = s->priv;

    if (priv->fd < 0) {
        errno = EBADF;
        return -1;
    }
    return tlsResult(gnutls_record_send(priv->session, buf, len));
}

/* Close the socket and end the session (no goodbye: it could block). */
static void
tlsClose(rpcStream *s)
{
    tlsStreamPriv *priv = s->priv;

    if (priv->session) {
        gnutls_deinit(priv->session);
        priv->session = NULL;
    }
    if (priv->fd >= 0)
        close(priv->fd);
    priv->fd = -1;
    g_clear_pointer(&priv->hostname, g_free);
    g_clear_pointer(&priv->dn, g_free);
    g_clear_pointer(&priv->ownCtx, rpcTLSContextFree);
}

static int
tlsFd(rpcStream *s)
{
    tlsStreamPriv *priv = s->priv;

    return priv->fd;
}

/* Bytes decrypted and not yet read: the socket may be quiet meanwhile. */
static size_t
tlsPending(rpcStream *s)
{
    tlsStreamPriv *priv = s->priv;

    return priv->session ? gnutls_record_check_pending(priv->session) : 0;
}

static const rpcStreamOps tlsStreamOps = {
    .read = tlsRead,
    .write = tlsWrite,
    .close = tlsClose,
    .fd = tlsFd,
    .pending = tlsPending,
};

/*
 * rpcStreamNewTLS: a TLS session of `ctx` over the connected TCP socket
 * `fd` (taken over, made non-blocking). A client names the `hostname` its
 * peer's certificate must carry. The handshake is still to be done.
 */
rpcStream *
rpcStreamNewTLS(rpcTLSContext *ctx, int fd, const char *hostname)
{
    rpcStream *s = g_new0(rpcStream, 1);
    tlsStreamPriv *priv = g_new0(tlsStreamPriv, 1);
    int flags;

    flags = fcntl(fd, F_GETFL);
    if (flags >= 0)
        fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    flags = fcntl(fd, F_GETFD);
    if (flags >= 0)
        fcntl(fd, F_SETFD, flags | FD_CLOEXEC);

    priv->fd = fd;
    priv->ctx = ctx;
    priv->hostname = g_strdup(hostname);
    gnutls_init(&priv->session, (ctx->server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NONBLOCK);
    gnutls_priority_set_direct(priv->session, ctx->priority, NULL);
    gnutls_credentials_set(priv->session, GNUTLS_CRD_CERTIFICATE, ctx->cred);
    if (ctx->server) {
        /* asked for, and required by rpcStreamTLSCheckPeer rather than by
         * the handshake, so that a client without an acceptable
         * certificate completes it and is told why it is refused; the
         * CA names are not sent, so a client offers whatever it has */
        gnutls_certificate_server_set_request(priv->session, GNUTLS_CERT_REQUEST);
        gnutls_certificate_send_x509_rdn_sequence(priv->session, 1);
    } else if (hostname && *hostname && !g_hostname_is_ip_address(hostname))
        gnutls_server_name_set(priv->session, GNUTLS_NAME_DNS, hostname, strlen(hostname));
    gnutls_transport_set_int(priv->session, fd);
    gnutls_handshake_set_timeout(priv->session, 0);

    s->ops = &tlsStreamOps;
    s->priv = priv;
    return s;
}

/*
 * rpcStreamTLSHandshake: go on with the handshake as far as the socket
 * allows. 0 once done, 1 when it must be called again after the socket
 * is ready (rpcStreamTLSWantsWrite says for what), -1 with an error.
 */
int
rpcStreamTLSHandshake(rpcStream *s)
{
    tlsStreamPriv *priv = s->priv;
    int r = gnutls_handshake(priv->session);

    if (r == 0)
        return 0;
    if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
        return 1;
    reportError(IOV_ERR_AUTH_FAILED, "TLS handshake failed: %s", gnutls_strerror(r));
    return -1;
}

/* rpcStreamTLSWantsWrite: during the handshake, whether it waits to
 * write (else to read). */
bool
rpcStreamTLSWantsWrite(rpcStream *s)
{
    tlsStreamPriv *priv = s->priv;

    return gnutls_record_get_direction(priv->session) == 1;
}

/* The subject DN of the peer's first certificate, or NULL. */
static char *
peerDN(gnutls_session_t session)
{
    const gnutls_datum_t *certs;
    unsigned int n = 0;
    gnutls_x509_crt_t crt;
    char buf[1024];
    size_t len = sizeof(buf);
    char *dn = NULL;

    certs = gnutls_certificate_get_peers(session, &n);
    if (!certs || n == 0)
        return NULL;
    if (gnutls_x509_crt_init(&crt) < 0)
        return NULL;
    if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) == 0 &&
        gnutls_x509_crt_get_dn(crt, buf, &len) == 0)
        dn = g_strdup(buf);
    gnutls_x509_crt_deinit(crt);
    return dn;
}

/*
 * rpcStreamTLSCheckPeer: after the handshake, check the peer's
 * certificate: present, chained to the CA, in its dates, not revoked;
 * a server also checks the DN against tls_allowed_dn_list, a client that
 * it names the host dialled. 0, or -1 with an error (IOV_ERR_AUTH_FAILED)
 * saying why in one line, the DN included when there is one.
 */
int
rpcStreamTLSCheckPeer(rpcStream *s)
{
    tlsStreamPriv *priv = s->priv;
    rpcTLSContext *ctx = priv->ctx;
    g_autofree char *dn = peerDN(priv->session);
    unsigned int status = 0;
    gnutls_datum_t text = {0};
    int r;

    if (!ctx->verify)
        return 0;
    if (!dn) {
        reportError(IOV_ERR_AUTH_FAILED, "the %s sent no certificate",
                    ctx->server ? "client" : "server");
        return -1;
    }
    if (!ctx->server && priv->hostname && *priv->hostname)
        r = gnutls_certificate_verify_peers3(priv->session, priv->hostname, &status);
    else
        r = gnutls_certificate_verify_peers2(priv->session, &status);
    if (r < 0) {
        reportError(IOV_ERR_AUTH_FAILED, "cannot verify the certificate of '%s': %s", dn,
                    gnutls_strerror(r));
        return -1;
    }
    if (status != 0) {
        const char *why;

        if (status & GNUTLS_CERT_REVOKED)
            why = "it has been revoked";
        else if (status & GNUTLS_CERT_EXPIRED)
            why = "it has expired";
        else if (status & GNUTLS_CERT_NOT_ACTIVATED)
            why = "it is not yet active";
        else if (status & (GNUTLS_CERT_SIGNER_NOT_FOUND | GNUTLS_CERT_SIGNER_NOT_CA))
            why = "it is not signed by a trusted CA";
        else if (status & GNUTLS_CERT_UNEXPECTED_OWNER)
            why = NULL;
        else
            why = "it is not valid";
        if (!why) {
            reportError(IOV_ERR_AUTH_FAILED,
                        "the server certificate '%s' does not name the host '%s'", dn,
                        priv->hostname);
            return -1;
        }
        gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0);
        g_debug("rpc tls: certificate '%s': %s", dn, text.data ? (char *)text.data : "");
        gnutls_free(text.data);
        reportError(IOV_ERR_AUTH_FAILED, "the %s certificate '%s' is refused: %s",
                    ctx->server ? "client" : "server", dn, why);
        return -1;
    }
    if (ctx->server && ctx->dnList) {
        char **p;

        for (p = ctx->dnList; *p; p++) {
            if (fnmatch(*p, dn, 0) == 0)
                break;
        }
        if (!*p) {
            reportError(
                IOV_ERR_AUTH_FAILED,
                "the client certificate '%s' is refused: its DN is not in tls_allowed_dn_list", dn);
            return -1;
        }
    }
    g_free(priv->dn);
    priv->dn = g_steal_pointer(&dn);
    return 0;
}

/* rpcStreamTLSOwnContext: the stream frees its context when it closes
 * (a client's context serves one connection). */
void
rpcStreamTLSOwnContext(rpcStream *s)
{
    tlsStreamPriv *priv = s->priv;

    priv->ownCtx = priv->ctx;
}

/* rpcStreamTLSPeerDN: the peer's DN once checked (owned by the stream),
 * or NULL. */
const char *
rpcStreamTLSPeerDN(rpcStream *s)
{
    tlsStreamPriv *priv = s->priv;

    return priv->dn;
}
