/*
 * qemu_backing.c: the backing chains of a domain's qcow2 images
 */
#include <string.h>

#include <json-c/json.h>

#include "qemu_backing.h"
#include "util/error.h"

#define IOV_FROM_THIS IOV_FROM_QEMU

/*
 * The chain below `path` as qemu-img reports it: a new list (NULL when the
 * image has no backing file), or -1 with *err set to qemu-img's message.
 */
static int
readChain(const char *path, domainBackingDef **out, char **err)
{
    const char *argv[] = {"qemu-img", "info", "--backing-chain", "--output=json", "-U", path, NULL};
    g_autofree char *outText = NULL;
    g_autofree char *errText = NULL;
    g_autoptr(GError) gerr = NULL;
    domainBackingDef **tail = out;
    g_autofree char *prevDir = g_path_get_dirname(path);
    json_object *arr;
    size_t i, n;
    int status = 0;

    *out = NULL;
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &outText,
                      &errText, &status, &gerr)) {
        *err = g_strdup(gerr->message);
        return -1;
    }
    if (!g_spawn_check_wait_status(status, NULL)) {
        *err = g_strstrip(g_steal_pointer(&errText));
        return -1;
    }
    arr = json_tokener_parse(outText);
    if (!arr || !json_object_is_type(arr, json_type_array)) {
        json_object_put(arr);
        *err = g_strdup("qemu-img printed no chain");
        return -1;
    }
    n = json_object_array_length(arr);
    for (i = 1; i < n; i++) {
        json_object *e = json_object_array_get_idx(arr, i), *v;
        const char *file =
            json_object_object_get_ex(e, "filename", &v) ? json_object_get_string(v) : NULL;
        const char *fmt =
            json_object_object_get_ex(e, "format", &v) ? json_object_get_string(v) : NULL;
        domainBackingDef *b;

        if (!file || !fmt)
            break;
        b = g_new0(domainBackingDef, 1);
        /* a relative backing file is relative to the image naming it */
        b->path = g_path_is_absolute(file) ? g_strdup(file) : g_build_filename(prevDir, file, NULL);
        b->format = g_strdup(fmt);
        g_free(prevDir);
        prevDir = g_path_get_dirname(b->path);
        *tail = b;
        tail = &b->next;
    }
    json_object_put(arr);
    return 0;
}

int
qemuBackingDiscover(domainDef *live)
{
    size_t i;

    for (i = 0; i < live->ndisks; i++) {
        domainDiskDef *d = live->disks[i];
        domainBackingDef *found = NULL, *a, *b;
        g_autofree char *err = NULL;

        if (d->type != DISK_TYPE_FILE || d->format != DISK_FORMAT_QCOW2)
            continue;
        if (readChain(d->path, &found, &err) < 0) {
            if (!d->backing)
                continue;
            reportError(IOV_ERR_OPERATION_FAILED,
                        "disk '%s': cannot read the backing chain of '%s': %s", d->target, d->path,
                        err);
            return -1;
        }
        if (d->backing) {
            for (a = d->backing, b = found; a && b; a = a->next, b = b->next) {
                if (strcmp(a->path, b->path) != 0 || strcmp(a->format, b->format) != 0)
                    break;
            }
            if (a || b) {
                reportError(
                    IOV_ERR_CONFIG_UNSUPPORTED,
                    "disk '%s': <backingStore> names '%s' (%s) where the image chain of '%s' has '%s' (%s)",
                    d->target, a ? a->path : "nothing", a ? a->format : "-", d->path,
                    b ? b->path : "nothing", b ? b->format : "-");
                domainBackingFree(found);
                return -1;
            }
        }
        domainBackingFree(d->backing);
        d->backing = found;
    }
    return 0;
}
