/*
 * iovsh-console.c: console DOMAIN, the guest's serial console in the
 * terminal
 *
 * Two threads: this one reads the terminal (raw, so that keys reach the
 * guest as typed) and sends; a second one receives and writes to the
 * terminal. Ctrl-] (0x1d) leaves; so does the end of the input, the end
 * of the stream (the guest stopped) or its error (another client took
 * the console over).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <glib-unix.h>

#include "iovsh.h"

#define ESCAPE_CHAR 0x1d /* Ctrl-] */

typedef struct {
    iovStreamPtr st;
    int wakeFd;  /* written when the receiver stops */
    int result;  /* 0: the stream ended; -1: its error, in `error` */
    char *error; /* owned */
} consoleRecv;

/* The receiving thread: guest to terminal, until the stream ends. */
static gpointer
consoleRecvThread(gpointer data)
{
    consoleRecv *r = data;
    char buf[4096];
    char c = 0;

    for (;;) {
        int n = iovStreamRecv(r->st, buf, sizeof(buf));
        ssize_t off = 0;

        if (n <= 0) {
            r->result = n < 0 ? -1 : 0;
            if (n < 0)
                r->error = g_strdup(iovGetLastErrorMessage());
            break;
        }
        while (off < n) {
            ssize_t w = write(STDOUT_FILENO, buf + off, (size_t)(n - off));

            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break;
            off += w;
        }
    }
    if (write(r->wakeFd, &c, 1) < 0) {
        /* the main thread also stops at the end of its input */
    }
    return NULL;
}

/* console DOMAIN [--force] [--devname NAME] */
int
cmdConsole(iovshControl *ctl, const iovshCmd *cmd)
{
    g_autoptr(iovDomain) dom = iovshLookupDomain(ctl, cmd, "domain");
    const char *devName = iovshOptString(cmd, "devname");
    unsigned int flags = iovshOptGiven(cmd, "force") ? IOV_DOMAIN_CONSOLE_FORCE : 0;
    consoleRecv r = {0};
    struct termios saved, raw;
    bool tty = isatty(STDIN_FILENO);
    bool left = false;
    int pipeFds[2];
    GThread *thread;

    if (!dom)
        return -1;
    if (!(r.st = iovStreamNew(ctl->conn, 0))) {
        iovshLibError();
        return -1;
    }
    if (iovDomainOpenConsole(dom, devName, r.st, flags) < 0) {
        iovshLibError();
        iovStreamFree(r.st);
        return -1;
    }
    if (!g_unix_open_pipe(pipeFds, FD_CLOEXEC, NULL)) {
        iovshError("cannot create a pipe");
        iovStreamFree(r.st);
        return -1;
    }
    r.wakeFd = pipeFds[1];
    printf("Connected to domain '%s'\nEscape character is ^] (Ctrl-])\n", iovDomainGetName(dom));
    fflush(stdout);
    if (tty && tcgetattr(STDIN_FILENO, &saved) == 0) {
        raw = saved;
        cfmakeraw(&raw);
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw);
    } else {
        tty = false;
    }
    thread = g_thread_new("iovsh-console", consoleRecvThread, &r);

    while (!left) {
        struct pollfd fds[2] = {
            {.fd = STDIN_FILENO, .events = POLLIN},
            {.fd = pipeFds[0], .events = POLLIN},
        };
        char buf[1024];
        ssize_t n;
        char *esc;

        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[1].revents)
            break; /* the stream ended */
        n = read(STDIN_FILENO, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if ((esc = memchr(buf, ESCAPE_CHAR, (size_t)n))) {
            n = esc - buf;
            left = true;
        }
        if (n > 0 && iovStreamSend(r.st, buf, (size_t)n) < 0)
            break;
    }

    /* ends the receiver too: the daemon confirms, the stream is over */
    iovStreamAbort(r.st);
    g_thread_join(thread);
    if (tty)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    close(pipeFds[0]);
    close(pipeFds[1]);
    iovStreamFree(r.st);
    printf("\n");
    if (r.result < 0 && !left) {
        iovshError("%s", r.error);
        g_free(r.error);
        return -1;
    }
    g_free(r.error);
    return 0;
}
