/*
 * iovsh-front.c: the static iovsh, and when it hands a command over
 *
 * The iovsh program operators run is linked statically, the C library
 * included (docs/hacking.md, "A static iovsh"): no dynamic loader runs
 * before main, which on a virtual machine is about half of what a one-shot
 * command costs beyond /bin/true. Such a program cannot load a module:
 * dlopen would bring a second C library into the process. So when a
 * command needs one (a TLS connection, the shell on a terminal, a domain
 * XML to edit), this iovsh runs the same command line in iovsh-full, the
 * same program linked with the shared C library, which loads it.
 *
 * It hands over only while handing over repeats nothing: before any call
 * that may change something was sent (rpcClientChangesSent) and before
 * anything was written on stdout or stderr (both go through counting
 * streams set up here). A one-shot command on a TLS URI is handed over
 * before it runs, the shell before it reads; every other command reaches
 * its module before either; a command that did not would get an error
 * naming iovsh-full, never a change made twice or lines printed twice.
 */
#include <errno.h>
#include <stdio_ext.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "iovsh.h"
#include "remote/remote_driver.h"
#include "rpc/rpc.h"
#include "util/module.h"

static char **savedArgv;
static bool wrote; /* something reached fd 1 or 2 */

/* A stream's write: to its descriptor, all of it; noted in `wrote`. */
static ssize_t
streamWrite(void *cookie, const char *buf, size_t len)
{
    int fd = GPOINTER_TO_INT(cookie);
    size_t done = 0;

    wrote = true;
    while (done < len) {
        ssize_t n = write(fd, buf + done, len - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return done ? (ssize_t)done : -1;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

/* A write-only stream on `fd` that notes what it writes, buffered as the
 * C library buffers the standard stream it replaces. */
static FILE *
countingStream(int fd, int mode)
{
    cookie_io_functions_t fns = {.write = streamWrite};
    FILE *f = fopencookie(GINT_TO_POINTER(fd), "w", fns);

    if (f)
        setvbuf(f, NULL, mode, mode == _IONBF ? 0 : BUFSIZ);
    return f;
}

int
iovshFrontHandOver(const char *what)
{
    g_autofree char *full = iovshModuleFile("iovsh-full");
    const char *done = rpcClientChangesSent() ? "sent a change" : wrote ? "printed" : NULL;
    char *self = savedArgv[0];

    if (done) {
        iovshError("this command needs %s, which this iovsh cannot load after it has %s: run %s",
                   what, done, full);
        return -1;
    }
    /* what is buffered is printed again by iovsh-full */
    __fpurge(stdout);
    savedArgv[0] = full; /* its name in ps and in its messages */
    execv(full, savedArgv);
    savedArgv[0] = self;
    iovshError("cannot run %s for %s: %s", full, what, g_strerror(errno));
    return -1;
}

int
iovshFrontCommand(const char *uri)
{
    /* whatever the command prints before it connects */
    if (remoteURIIsTLS(uri))
        return iovshFrontHandOver("the TLS module");
    return 0;
}

/* The module hook: hand the command over, or fail with why. */
static void *
moduleHook(const char *name, const char *entry G_GNUC_UNUSED)
{
    g_autofree char *what = g_strdup_printf("the module %s", name);

    iovshFrontHandOver(what);
    return NULL;
}

void
iovshFrontInit(int argc G_GNUC_UNUSED, char **argv)
{
    FILE *out = countingStream(STDOUT_FILENO, isatty(STDOUT_FILENO) ? _IOLBF : _IOFBF);
    FILE *err = countingStream(STDERR_FILENO, _IONBF);

    savedArgv = argv;
    utilModuleLoadHook = moduleHook;
    iovshModuleHook = moduleHook;
    if (out)
        stdout = out;
    if (err)
        stderr = err;
}
