/*
 * iovsh-module.c: load one of iovsh's modules (iovsh.h, "Modules")
 */
#include <dlfcn.h>
#include <unistd.h>

#include "iovsh.h"

void *(*iovshModuleHook)(const char *name, const char *entry);

char *
iovshModuleFile(const char *file)
{
    g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
    g_autofree char *dir = self ? g_path_get_dirname(self) : NULL;
    g_autofree char *beside = dir ? g_build_filename(dir, file, NULL) : NULL;

    if (beside && access(beside, F_OK) == 0)
        return g_steal_pointer(&beside);
    return g_build_filename(IOVSH_MODULE_DIR, file, NULL);
}

void *
iovshModuleLoad(const char *name, const char *entry)
{
    g_autofree char *file = NULL;
    g_autofree char *path = NULL;
    void *handle, *fn;

    /* the static iovsh loads nothing: it hands the command over */
    if (iovshModuleHook)
        return iovshModuleHook(name, entry);
    file = g_strdup_printf("%s.so", name);
    path = iovshModuleFile(file);
    if (!(handle = dlopen(path, RTLD_NOW | RTLD_LOCAL))) {
        iovshError("cannot load the module '%s': %s", path, dlerror());
        return NULL;
    }
    if (!(fn = dlsym(handle, entry))) {
        iovshError("the module '%s' has no entry '%s'", path, entry);
        dlclose(handle);
        return NULL;
    }
    return fn;
}
