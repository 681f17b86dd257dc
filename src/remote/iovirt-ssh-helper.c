/*
 * iovirt-ssh-helper: what an iovirt+ssh:// client runs on the far host,
 * through ssh: it connects to this host's daemon socket (starting a
 * session daemon for iovirt:///session, as a local client would) and
 * relays bytes between its standard input/output and that socket until
 * either side closes. It reads nothing of the protocol.
 *
 *   iovirt-ssh-helper [--readonly] iovirt:///system|iovirt:///session
 *   iovirt-ssh-helper --socket PATH
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "remote/remote_driver.h"
#include "util/error.h"

#define IOV_FROM_THIS IOV_FROM_REMOTE

#define RELAY_BUF (64 * 1024)

/* One direction of the relay: what was read and not yet written. */
typedef struct {
    int from, to;
    char buf[RELAY_BUF];
    size_t len, off;
    bool eof;
} relayDir;

/* Read into an empty buffer; 0 on EOF or error (the direction ends). */
static void
relayRead(relayDir *d)
{
    ssize_t n = read(d->from, d->buf, sizeof(d->buf));

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        d->eof = true;
        return;
    }
    d->len = (size_t)n;
    d->off = 0;
}

/* Write what the buffer holds; false when the writer side is gone. */
static bool
relayWrite(relayDir *d)
{
    while (d->off < d->len) {
        ssize_t n = write(d->to, d->buf + d->off, d->len - d->off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        d->off += (size_t)n;
    }
    d->len = d->off = 0;
    return true;
}

/* Relay until both directions ended, or one side cannot be written. */
static int
relay(int sock)
{
    relayDir up = {.from = STDIN_FILENO, .to = sock};
    relayDir down = {.from = sock, .to = STDOUT_FILENO};

    while (!down.eof) {
        struct pollfd fds[2] = {
            {.fd = up.eof ? -1 : STDIN_FILENO, .events = POLLIN},
            {.fd = sock, .events = POLLIN},
        };

        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return 1;
        }
        if (fds[0].revents) {
            relayRead(&up);
            if (up.eof)
                shutdown(sock, SHUT_WR); /* the client is done: tell the daemon */
            else if (!relayWrite(&up))
                return 1;
        }
        if (fds[1].revents) {
            relayRead(&down);
            if (!down.eof && !relayWrite(&down))
                return 1;
        }
    }
    return 0;
}

int
main(int argc, char **argv)
{
    gboolean readonly = FALSE;
    g_autofree char *socketPath = NULL;
    GOptionEntry entries[] = {
        {"readonly", 0, 0, G_OPTION_ARG_NONE, &readonly, "use the read-only socket", NULL},
        {"socket", 0, 0, G_OPTION_ARG_FILENAME, &socketPath, "relay to this socket", "PATH"},
        {NULL},
    };
    g_autoptr(GOptionContext) octx = g_option_context_new("[iovirt:///system|iovirt:///session]");
    g_autoptr(GError) gerr = NULL;
    bool system = getuid() == 0;
    int sock;

    g_option_context_add_main_entries(octx, entries, NULL);
    g_option_context_set_summary(octx,
                                 "Relays an iovirt+ssh:// connection to this host's iovirtd.");
    if (!g_option_context_parse(octx, &argc, &argv, &gerr)) {
        fprintf(stderr, "iovirt-ssh-helper: %s\n", gerr->message);
        return 1;
    }
    if (argc > 2) {
        fprintf(stderr, "iovirt-ssh-helper: unexpected argument '%s'\n", argv[2]);
        return 1;
    }
    if (argc == 2) {
        const char *p = strstr(argv[1], ":///");

        if (!p || (strcmp(p, ":///system") != 0 && strcmp(p, ":///session") != 0)) {
            fprintf(stderr,
                    "iovirt-ssh-helper: '%s' is not iovirt:///system or iovirt:///session\n",
                    argv[1]);
            return 1;
        }
        system = strcmp(p, ":///system") == 0;
    }
    sock = remoteConnectLocalSocket(system, socketPath, readonly);
    if (sock < 0) {
        /* the client shows ssh's error output: one line that says why */
        fprintf(stderr, "iovirt-ssh-helper: %s\n", utilLastErrorMessage());
        return 1;
    }
    return relay(sock);
}
