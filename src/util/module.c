/*
 * module.c: find and load a module of the client library (module.h).
 */
#include <dlfcn.h>

#include "error.h"
#include "module.h"

#define IOV_FROM_THIS IOV_FROM_NONE

/* The directory of the object (library or program) this code is in. */
static char *
ownDirectory(void)
{
    Dl_info info;

    if (dladdr((void *)utilModuleLoad, &info) == 0 || !info.dli_fname)
        return NULL;
    return g_path_get_dirname(info.dli_fname);
}

void *
utilModuleLoad(const char *name, const char *entry)
{
    g_autofree char *dir = ownDirectory();
    g_autofree char *installed = NULL, *built = NULL;
    const char *path;
    void *handle, *fn;

    if (!dir) {
        reportError(IOV_ERR_INTERNAL_ERROR, "cannot find where the library is to load module '%s'",
                    name);
        return NULL;
    }
    installed = g_strdup_printf("%s/iovirt/%s.so", dir, name);
    built = g_strdup_printf("%s/%s.so", dir, name);
    path = g_file_test(installed, G_FILE_TEST_EXISTS) ? installed : built;
    /* RTLD_LOCAL: nothing of the module can interpose on the program */
    if (!(handle = dlopen(path, RTLD_NOW | RTLD_LOCAL))) {
        reportError(IOV_ERR_INTERNAL_ERROR, "cannot load module '%s': %s", path, dlerror());
        return NULL;
    }
    if (!(fn = dlsym(handle, entry))) {
        reportError(IOV_ERR_INTERNAL_ERROR, "module '%s' has no entry '%s'", path, entry);
        dlclose(handle);
        return NULL;
    }
    return fn;
}
