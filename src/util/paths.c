/*
 * paths.c: where iovirt keeps things
 */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "config.h"
#include "error.h"
#include "paths.h"

#define IOV_FROM_THIS IOV_FROM_NONE

static char *
userConfigBase(void)
{
    const char *x = g_getenv("XDG_CONFIG_HOME");

    if (x && *x)
        return g_build_filename(x, "iovirt", NULL);
    return g_build_filename(g_get_home_dir(), ".config", "iovirt", NULL);
}

char *
utilRuntimeDir(bool system)
{
    const char *x;

    if (system)
        return g_build_filename(IOV_RUNSTATEDIR, "iovirt", NULL);
    x = g_getenv("XDG_RUNTIME_DIR");
    if (x && *x)
        return g_build_filename(x, "iovirt", NULL);
    return g_strdup_printf("/tmp/iovirt-%u", (unsigned int)getuid());
}

char *
utilDataDir(bool system)
{
    if (system)
        return g_build_filename(IOV_LOCALSTATEDIR, "lib", "iovirt", NULL);
    return userConfigBase();
}

char *
utilLogDir(bool system)
{
    g_autofree char *base = NULL;

    if (system)
        return g_build_filename(IOV_LOCALSTATEDIR, "log", "iovirt", NULL);
    base = userConfigBase();
    return g_build_filename(base, "log", NULL);
}

char *
utilConfigFile(bool system)
{
    g_autofree char *base = NULL;

    if (system)
        return g_build_filename(IOV_SYSCONFDIR, "iovirt", "iovirtd.conf", NULL);
    base = userConfigBase();
    return g_build_filename(base, "iovirtd.conf", NULL);
}

char *
utilSocketPath(bool system, bool readonly)
{
    g_autofree char *dir = utilRuntimeDir(system);

    return g_build_filename(dir, readonly ? "iovirt-sock-ro" : "iovirt-sock", NULL);
}

int
utilEnsurePrivateDir(const char *path)
{
    struct stat st;

    if (mkdir(path, 0700) < 0 && errno != EEXIST) {
        reportSystemError(errno, "cannot create directory '%s'", path);
        return -1;
    }
    if (lstat(path, &st) < 0) {
        reportSystemError(errno, "cannot read directory '%s'", path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 0022)) {
        reportError(IOV_ERR_OPERATION_DENIED, "'%s' must be a directory of user %u that others cannot write",
                    path, (unsigned int)getuid());
        return -1;
    }
    return 0;
}
