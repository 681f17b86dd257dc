/*
 * error.h: recording errors for the calling thread
 *
 * Every function of iovirt that can fail returns -1 or NULL and records
 * one error object (code, domain, message) for its thread with
 * reportError(). The message gets the prefix of its code ("invalid
 * argument: ", ...) exactly as libvirt adds it, so every client prints
 * the same text. A file defines IOV_FROM_THIS (its error domain) before
 * using the macros.
 */
#pragma once

#include <errno.h>
#include <glib.h>

#include "iovirt/iovirt.h"

void utilReportError(int domain, int code, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
void utilReportSystemError(int domain, int errnum, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

#define reportError(code, ...) \
    utilReportError(IOV_FROM_THIS, code, __VA_ARGS__)
#define reportSystemError(errnum, ...) \
    utilReportSystemError(IOV_FROM_THIS, errnum, __VA_ARGS__)

/* utilErrorPrefix: the text libvirt puts before a message of `code`
 * ("" when none). */
const char *utilErrorPrefix(int code);

/* utilSetError: record a copy of *err as the thread's error, verbatim
 * (the message already has its prefix; used for errors from the wire). */
void utilSetError(const iovError *err);

/* utilGetError: the thread's error, or NULL. Owned by the thread. */
const iovError *utilGetError(void);

/* utilResetError: forget the thread's error. */
void utilResetError(void);

/* utilSaveError / utilRestoreError: keep the current error across cleanup
 * code that may fail and overwrite it. Restore takes ownership. */
iovError *utilSaveError(void);
void utilRestoreError(iovError *saved);

/* utilErrorFree: free a heap error (from utilSaveError). NULL is fine. */
void utilErrorFree(iovError *err);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(iovError, utilErrorFree)

/* utilErrorCopy: deep copy of *src into *dst (dst's old strings are not
 * freed). */
void utilErrorCopy(iovError *dst, const iovError *src);

/* utilErrorClear: free the strings of *err and zero it; NULL is fine. */
void utilErrorClear(iovError *err);

/* utilLastErrorMessage: the calling thread's last error message, or
 * "no error"; never NULL. */
const char *utilLastErrorMessage(void);
