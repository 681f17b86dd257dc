/*
 * error.c: the thread's last error, and the public error API
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

static void errorFreeNotify(gpointer p);
static GPrivate lastError = G_PRIVATE_INIT(errorFreeNotify);

static void
errorClear(iovError *err)
{
    if (!err)
        return;
    g_free(err->message);
    g_free(err->str1);
    g_free(err->str2);
    g_free(err->str3);
    memset(err, 0, sizeof(*err));
}

void
utilErrorFree(iovError *err)
{
    if (!err)
        return;
    errorClear(err);
    g_free(err);
}

static void
errorFreeNotify(gpointer p)
{
    utilErrorFree(p);
}

/* The thread's error object, created on first use; code 0 means none. */
static iovError *
threadError(void)
{
    iovError *err = g_private_get(&lastError);

    if (!err) {
        err = g_new0(iovError, 1);
        g_private_set(&lastError, err);
    }
    return err;
}

const char *
utilErrorPrefix(int code)
{
    switch (code) {
    case IOV_ERR_INTERNAL_ERROR:
        return "internal error: ";
    case IOV_ERR_NO_SUPPORT:
        return "this function is not supported by the connection driver: ";
    case IOV_ERR_NO_CONNECT:
        return "no connection driver available for ";
    case IOV_ERR_INVALID_ARG:
        return "invalid argument: ";
    case IOV_ERR_OPERATION_FAILED:
        return "operation failed: ";
    case IOV_ERR_XML_ERROR:
        return "XML error: ";
    case IOV_ERR_OPERATION_DENIED:
        return "operation forbidden: ";
    case IOV_ERR_NO_DOMAIN:
        return "Domain not found: ";
    case IOV_ERR_AUTH_FAILED:
        return "authentication failed: ";
    case IOV_ERR_OPERATION_INVALID:
        return "Requested operation is not valid: ";
    case IOV_ERR_CONFIG_UNSUPPORTED:
        return "unsupported configuration: ";
    case IOV_ERR_OPERATION_TIMEOUT:
        return "Timed out during operation: ";
    case IOV_ERR_ARGUMENT_UNSUPPORTED:
        return "argument unsupported: ";
    case IOV_ERR_OVERFLOW:
        return "value too large: ";
    case IOV_ERR_OPERATION_UNSUPPORTED:
        return "Operation not supported: ";
    case IOV_ERR_RESOURCE_BUSY:
        return "resource busy: ";
    case IOV_ERR_OPERATION_ABORTED:
        return "operation aborted: ";
    case IOV_ERR_MIGRATE_FINISH_OK:
        return "migration successfully aborted: ";
    default:
        return "";
    }
}

static void
setError(int domain, int code, char *detail)
{
    iovError *err = threadError();

    errorClear(err);
    err->code = code;
    err->domain = domain;
    err->level = IOV_ERR_ERROR;
    err->message = g_strconcat(utilErrorPrefix(code), detail, NULL);
    err->str2 = detail; /* the detail without its prefix, as libvirt sends */
    err->int1 = -1;
    err->int2 = -1;
}

void
utilReportError(int domain, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    setError(domain, code, g_strdup_vprintf(fmt, ap));
    va_end(ap);
}

void
utilReportSystemError(int domain, int errnum, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *what = NULL;

    va_start(ap, fmt);
    what = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    setError(domain, IOV_ERR_SYSTEM_ERROR,
             g_strdup_printf("%s: %s", what, g_strerror(errnum)));
}

void
utilErrorCopy(iovError *dst, const iovError *src)
{
    dst->code = src->code;
    dst->domain = src->domain;
    dst->level = src->level;
    dst->message = g_strdup(src->message);
    dst->str1 = g_strdup(src->str1);
    dst->str2 = g_strdup(src->str2);
    dst->str3 = g_strdup(src->str3);
    dst->int1 = src->int1;
    dst->int2 = src->int2;
}

void
utilSetError(const iovError *src)
{
    iovError *err = threadError();

    errorClear(err);
    utilErrorCopy(err, src);
    if (err->code == IOV_ERR_OK)
        err->code = IOV_ERR_INTERNAL_ERROR;
    if (!err->message)
        err->message = g_strdup("Unknown error");
}

const iovError *
utilGetError(void)
{
    iovError *err = g_private_get(&lastError);

    return err && err->code != IOV_ERR_OK ? err : NULL;
}

void
utilResetError(void)
{
    errorClear(g_private_get(&lastError));
}

iovError *
utilSaveError(void)
{
    const iovError *cur = utilGetError();
    iovError *copy;

    if (!cur)
        return NULL;
    copy = g_new0(iovError, 1);
    utilErrorCopy(copy, cur);
    return copy;
}

void
utilRestoreError(iovError *saved)
{
    if (!saved)
        return;
    utilSetError(saved);
    utilErrorFree(saved);
}

const char *
utilLastErrorMessage(void)
{
    const iovError *err = utilGetError();

    return err ? err->message : "no error";
}

void
utilErrorClear(iovError *err)
{
    errorClear(err);
}
