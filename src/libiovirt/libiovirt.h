/*
 * libiovirt.h: what the public entry points share
 *
 * Every iov* function is defined in this folder and nowhere else; each
 * resets the calling thread's error, checks its arguments, and calls the
 * layer below (remote for a daemon's answer, util or conf for what is
 * answered locally). The functions of simple shape are generated from the
 * table of calls (libiovirt_calls.c, see docs/hacking.md).
 */
#pragma once

#include <stdlib.h>
#include <string.h>

#include "iovirt/iovirt.h"
#include "remote/remote_calls.h"
#include "util/error.h"

#define ENTER_CONN(conn, fail)                                                                     \
    do {                                                                                           \
        utilResetError();                                                                          \
        if (!(conn)) {                                                                             \
            reportError(IOV_ERR_INVALID_CONN, "invalid connection pointer in %s", __func__);       \
            return fail;                                                                           \
        }                                                                                          \
    } while (0)

#define ENTER_DOM(dom, fail)                                                                       \
    do {                                                                                           \
        utilResetError();                                                                          \
        if (!(dom) || !(dom)->conn) {                                                              \
            reportError(IOV_ERR_INVALID_DOMAIN, "invalid domain pointer in %s", __func__);         \
            return fail;                                                                           \
        }                                                                                          \
    } while (0)
