/*
 * fuzz-qmp: libFuzzer target for what QEMU's monitor sends
 *
 * Arbitrary bytes go to qemuMonitorParseMessage; a reply whose return is
 * an object goes on to qemuMonitorParseLimits, one whose return is an
 * array to qemuMonitorParseBlockStats. Every failure must report an
 * error; a parsed result must hold what the parser promises.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qemu/qemu_monitor.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort unless the thread has an error; then forget it. */
static void
expectError(void)
{
    if (!utilGetError())
        abort();
    utilResetError();
}

/* Check the limits parser on `ret`. */
static void
fuzzLimits(json_object *ret)
{
    throttleDef t = {0};
    json_object *rebuilt;
    throttleDef back = {0};

    if (qemuMonitorParseLimits(ret, &t) < 0) {
        expectError();
        return;
    }
    if (t.group)
        abort();
    /* what was parsed survives a build and a parse */
    rebuilt = qemuMonitorBuildLimits(&t);
    if (qemuMonitorParseLimits(rebuilt, &back) < 0 || !throttleDefSameLimits(&t, &back))
        abort();
    json_object_put(rebuilt);
}

/* Check the block stats parser on `ret`. */
static void
fuzzBlockStats(json_object *ret)
{
    GPtrArray *stats = NULL;
    guint i;

    if (qemuMonitorParseBlockStats(ret, &stats) < 0) {
        if (stats)
            abort();
        expectError();
        return;
    }
    for (i = 0; i < stats->len; i++) {
        qemuBlockStats *s = g_ptr_array_index(stats, i);

        if (!s || !s->qdev)
            abort();
    }
    g_ptr_array_unref(stats);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char kind = 0;
    char *id = NULL;
    char *errClass = NULL;
    char *errDesc = NULL;
    char *event = NULL;
    json_object *ret = NULL;
    json_object *evData = NULL;

    utilResetError();
    if (qemuMonitorParseMessage((const char *)data, size, &kind, &id, &ret, &errClass, &errDesc,
                                &event, &evData) < 0) {
        if (id || ret || errClass || errDesc || event || evData)
            abort();
        expectError();
        return 0;
    }
    switch (kind) {
    case 'g':
        break;
    case 'e':
        if (!event)
            abort();
        break;
    case 'r':
        if (ret && errDesc)
            abort();
        if (json_object_is_type(ret, json_type_object))
            fuzzLimits(ret);
        else if (json_object_is_type(ret, json_type_array))
            fuzzBlockStats(ret);
        break;
    default:
        abort();
    }
    g_free(id);
    g_free(errClass);
    g_free(errDesc);
    g_free(event);
    json_object_put(ret);
    json_object_put(evData);
    return 0;
}
