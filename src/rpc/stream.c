/*
 * stream.c: the unix socket and pipe transports of a connection, and
 * the sockets they start from
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "rpc.h"
#include "util/error.h"

#define IOV_FROM_THIS IOV_FROM_RPC

typedef struct {
    int fd; /* owned; -1 once closed */
} unixStreamPriv;

/* read(2) on the socket: >0 bytes, 0 at EOF, -1 with errno. */
static ssize_t
unixRead(rpcStream *s, void *buf, size_t len)
{
    unixStreamPriv *priv = s->priv;

    return read(priv->fd, buf, len);
}

/* MSG_NOSIGNAL: a peer that went away gives EPIPE, never SIGPIPE. */
static ssize_t
unixWrite(rpcStream *s, const void *buf, size_t len)
{
    unixStreamPriv *priv = s->priv;

    return send(priv->fd, buf, len, MSG_NOSIGNAL);
}

/* Close the socket; later calls see -1 and fail with EBADF. */
static void
unixClose(rpcStream *s)
{
    unixStreamPriv *priv = s->priv;

    if (priv->fd >= 0)
        close(priv->fd);
    priv->fd = -1;
}

/* The socket to poll, -1 once closed. */
static int
unixFd(rpcStream *s)
{
    unixStreamPriv *priv = s->priv;

    return priv->fd;
}

static const rpcStreamOps unixStreamOps = {
    .read = unixRead,
    .write = unixWrite,
    .close = unixClose,
    .fd = unixFd,
};

/*
 * rpcStreamNewUnix: a stream over the connected socket `fd`, which it
 * owns from now on (even when it cannot set the flags, which only
 * happens for an invalid descriptor; the stream then fails on use).
 */
rpcStream *
rpcStreamNewUnix(int fd)
{
    rpcStream *s = g_new0(rpcStream, 1);
    unixStreamPriv *priv = g_new0(unixStreamPriv, 1);
    int flags;

    flags = fcntl(fd, F_GETFL);
    if (flags >= 0)
        fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    flags = fcntl(fd, F_GETFD);
    if (flags >= 0)
        fcntl(fd, F_SETFD, flags | FD_CLOEXEC);

    priv->fd = fd;
    s->ops = &unixStreamOps;
    s->priv = priv;
    return s;
}

/* rpcStreamFree: close the stream and free it; NULL is fine. */
void
rpcStreamFree(rpcStream *s)
{
    if (!s)
        return;
    s->ops->close(s);
    g_free(s->priv);
    g_free(s);
}

/*
 * rpcSocketConnectUnix: a blocking, close-on-exec socket connected to
 * the unix socket at `path`, or -1 with an error naming the path.
 */
int
rpcSocketConnectUnix(const char *path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int fd;

    if (strlen(path) >= sizeof(addr.sun_path)) {
        reportError(IOV_ERR_RPC, "socket path '%s' is too long (at most %zu bytes)", path, sizeof(addr.sun_path) - 1);
        return -1;
    }
    strcpy(addr.sun_path, path);

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        reportSystemError(errno, "Failed to create a socket to connect to '%s'", path);
        return -1;
    }
    while (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        int saved = errno;

        if (saved == EINTR)
            continue;
        if (saved == EISCONN) /* an interrupted connect went on */
            break;
        close(fd);
        reportSystemError(saved, "Failed to connect socket to '%s'", path);
        return -1;
    }
    return fd;
}

/* rpcStreamPending: what the stream holds beyond what poll(2) sees. */
size_t
rpcStreamPending(rpcStream *s)
{
    return s->ops->pending ? s->ops->pending(s) : 0;
}

/* ---- a pair of pipes: an ssh process's standard input and output ---- */

typedef struct {
    int rfd;   /* owned; -1 once closed */
    int wfd;   /* owned; -1 once closed */
    pid_t pid; /* the process at the other end, reaped at close; 0: none */
} pipeStreamPriv;

static ssize_t
pipeRead(rpcStream *s, void *buf, size_t len)
{
    pipeStreamPriv *priv = s->priv;

    return read(priv->rfd, buf, len);
}

/* write(2) to the pipe. A reader that went away must give EPIPE, not
 * kill the process with SIGPIPE (a library does not own the signal's
 * disposition): the signal is blocked in this thread for the write, and
 * one it raised is taken off before the mask is restored. */
static ssize_t
pipeWrite(rpcStream *s, const void *buf, size_t len)
{
    pipeStreamPriv *priv = s->priv;
    sigset_t pipeSet, old;
    ssize_t r;
    int saved;

    sigemptyset(&pipeSet);
    sigaddset(&pipeSet, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipeSet, &old);
    r = write(priv->wfd, buf, len);
    saved = errno;
    if (r < 0 && saved == EPIPE && !sigismember(&old, SIGPIPE)) {
        struct timespec zero = {0, 0};

        while (sigtimedwait(&pipeSet, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = saved;
    return r;
}

static void
pipeClose(rpcStream *s)
{
    pipeStreamPriv *priv = s->priv;

    if (priv->wfd >= 0 && priv->wfd != priv->rfd)
        close(priv->wfd);
    if (priv->rfd >= 0)
        close(priv->rfd);
    priv->rfd = priv->wfd = -1;
    if (priv->pid > 0) {
        /* its input is closed: it ends by itself, else within a signal */
        gint64 deadline = g_get_monotonic_time() + G_USEC_PER_SEC;
        pid_t r;

        while ((r = waitpid(priv->pid, NULL, WNOHANG)) == 0 && g_get_monotonic_time() < deadline)
            g_usleep(5000);
        if (r == 0) {
            kill(priv->pid, SIGTERM);
            while (waitpid(priv->pid, NULL, 0) < 0 && errno == EINTR)
                ;
        }
        priv->pid = 0;
    }
}

/* rpcStreamPipeSetChild: see rpc.h. */
void
rpcStreamPipeSetChild(rpcStream *s, pid_t pid)
{
    pipeStreamPriv *priv = s->priv;

    priv->pid = pid;
}

/* The read side: poll(2) on it also reports a peer that hung up. */
static int
pipeFd(rpcStream *s)
{
    pipeStreamPriv *priv = s->priv;

    return priv->rfd;
}

static int
pipeWriteFd(rpcStream *s)
{
    pipeStreamPriv *priv = s->priv;

    return priv->wfd;
}

static const rpcStreamOps pipeStreamOps = {
    .read = pipeRead,
    .write = pipeWrite,
    .close = pipeClose,
    .fd = pipeFd,
    .writeFd = pipeWriteFd,
};

static void
setNonblockCloexec(int fd)
{
    int flags = fcntl(fd, F_GETFL);

    if (flags >= 0)
        fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    flags = fcntl(fd, F_GETFD);
    if (flags >= 0)
        fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

/* rpcStreamNewPipe: see rpc.h. */
rpcStream *
rpcStreamNewPipe(int rfd, int wfd)
{
    rpcStream *s = g_new0(rpcStream, 1);
    pipeStreamPriv *priv = g_new0(pipeStreamPriv, 1);

    setNonblockCloexec(rfd);
    if (wfd != rfd)
        setNonblockCloexec(wfd);
    priv->rfd = rfd;
    priv->wfd = wfd;
    s->ops = &pipeStreamOps;
    s->priv = priv;
    return s;
}

/*
 * rpcSocketConnectTCP: a blocking, close-on-exec TCP socket connected to
 * the first address of `host` that answers on `port`, or -1 with an error
 * naming both.
 */
int
rpcSocketConnectTCP(const char *host, const char *port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL, *ai;
    int saved = 0;
    int fd = -1;
    int r;

    if ((r = getaddrinfo(host, port, &hints, &res)) != 0) {
        reportError(IOV_ERR_NO_CONNECT, "unable to resolve address '%s' service '%s': %s", host,
                    port, gai_strerror(r));
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        reportError(IOV_ERR_NO_CONNECT, "unable to connect to server at '%s:%s': %s", host, port,
                    g_strerror(saved));
        return -1;
    }
    {
        int one = 1;

        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    return fd;
}
