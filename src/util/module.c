/*
 * module.c: find and load a module of the client library (module.h).
 */
#include <dlfcn.h>
#include <link.h>
#include <stdbool.h>

#include "config.h"
#include "error.h"
#include "module.h"

#define IOV_FROM_THIS IOV_FROM_NONE

/* The directory of the object (library or program) this code is in;
 * *program is set when it is the program (linked statically). */
static char *
ownDirectory(bool *program)
{
    struct link_map *map = NULL;
    Dl_info info;

    if (dladdr1((void *)utilModuleLoad, &info, (void **)&map, RTLD_DL_LINKMAP) == 0 || !map)
        return NULL;
    *program = map->l_name[0] == '\0';
    if (*program) {
        g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);

        return self ? g_path_get_dirname(self) : NULL;
    }
    if (!info.dli_fname)
        return NULL;
    return g_path_get_dirname(info.dli_fname);
}

/* Where the module `name` is for code in the folder `dir`: beside the
 * shared library (DIR/iovirt/NAME.so installed, DIR/NAME.so in the build
 * tree), or for a program that holds the library's code (iovsh), in the
 * library's build folder when the program is in the build tree, else in
 * the folder the modules are installed in. */
static char *
modulePath(const char *dir, bool program, const char *name)
{
    g_autofree char *installed = NULL;

    if (program) {
        if (g_str_has_prefix(dir, IOV_BUILDDIR "/") || g_str_equal(dir, IOV_BUILDDIR))
            return g_strdup_printf("%s/src/libiovirt/%s.so", IOV_BUILDDIR, name);
        return g_strdup_printf("%s/%s.so", IOV_MODULEDIR, name);
    }
    installed = g_strdup_printf("%s/iovirt/%s.so", dir, name);
    if (g_file_test(installed, G_FILE_TEST_EXISTS))
        return g_steal_pointer(&installed);
    return g_strdup_printf("%s/%s.so", dir, name);
}

void *(*utilModuleLoadHook)(const char *name, const char *entry);

void *
utilModuleLoad(const char *name, const char *entry)
{
    bool program = false;
    g_autofree char *dir = NULL;
    g_autofree char *path = NULL;
    void *handle, *fn;

    if (utilModuleLoadHook)
        return utilModuleLoadHook(name, entry);
    if (!(dir = ownDirectory(&program))) {
        reportError(IOV_ERR_INTERNAL_ERROR, "cannot find where the library is to load module '%s'",
                    name);
        return NULL;
    }
    path = modulePath(dir, program, name);
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
