/*
 * test-dispatch.c: the daemon's dispatch path without a server or a
 * driver: every procedure of the table has a handler, the access checks
 * come before the handler, and a message gets its encoded reply.
 */
#include <string.h>
#include <glib.h>

#include "daemon/dispatch.h"

/* A call message for `proc` with `args` encoded by `filter`. */
static rpcMessage *
callMessage(int proc, xdrproc_t filter, void *args)
{
    rpcHeader h = {.prog = RPC_REMOTE_PROGRAM, .vers = RPC_REMOTE_VERSION, .proc = proc,
                   .type = RPC_CALL, .serial = 7, .status = RPC_OK};
    rpcMessage *msg = rpcMessageEncode(&h, filter, args);

    g_assert_nonnull(msg);
    g_assert_cmpint(rpcMessageDecodeHeader(msg->data, msg->len, &msg->header), ==, 0);
    return msg;
}

/* The reply's header, decoded; its error message when it is an error. */
static char *
replyError(rpcMessage *reply, rpcHeader *h)
{
    remote_error err = {0};
    char *msg = NULL;

    g_assert_cmpint(rpcMessageDecodeHeader(reply->data, reply->len, h), ==, 0);
    g_assert_cmpint(h->type, ==, RPC_REPLY);
    g_assert_cmpuint(h->serial, ==, 7);
    if (h->status != RPC_ERROR)
        return NULL;
    reply->header = *h;
    g_assert_cmpint(rpcMessageDecodePayload(reply, (xdrproc_t)xdr_remote_error, &err), ==, 0);
    msg = g_strdup(err.message ? *err.message : "");
    xdr_free((xdrproc_t)xdr_remote_error, (char *)&err);
    return msg;
}

/* Every procedure the protocol table knows is served, and no other. */
static void
testEveryProcedureHasAHandler(void)
{
    int proc, n = 0;

    for (proc = -1; proc < 1000; proc++) {
        g_assert_cmpint(daemonProcImplemented(proc), ==, rpcRemoteProcLookup(proc) != NULL);
        n += rpcRemoteProcLookup(proc) != NULL;
    }
    g_assert_cmpint(n, >, 0);
}

/* Open, then a read-only connection is refused a change before its
 * handler runs (no driver here: running it would crash). */
static void
testOpenThenReadOnlyRefusal(void)
{
    daemonState d = {0};
    daemonConn c = {0};
    remote_connect_open_args open = {0};
    remote_domain_suspend_args susp = {0};
    char *name = (char *)"qemu:///system";
    g_autoptr(rpcMessage) m1 = NULL;
    g_autoptr(rpcMessage) r1 = NULL;
    g_autoptr(rpcMessage) m2 = NULL;
    g_autoptr(rpcMessage) r2 = NULL;
    g_autofree char *err1 = NULL;
    g_autofree char *err2 = NULL;
    rpcHeader h;

    open.name = &name;
    open.flags = 1;
    m1 = callMessage(REMOTE_PROC_CONNECT_OPEN, (xdrproc_t)xdr_remote_connect_open_args, &open);
    r1 = daemonDispatchMessage(&d, &c, m1);
    err1 = replyError(r1, &h);
    g_assert_null(err1);
    g_assert_true(c.open);
    g_assert_true(c.readonly);
    g_assert_true(c.libvirt);

    susp.dom.name = (char *)"web1";
    m2 = callMessage(REMOTE_PROC_DOMAIN_SUSPEND, (xdrproc_t)xdr_remote_domain_suspend_args, &susp);
    r2 = daemonDispatchMessage(&d, &c, m2);
    err2 = replyError(r2, &h);
    g_assert_cmpstr(err2, ==, "operation forbidden: read only access prevents virDomainSuspend");
}

/* Before CONNECT_OPEN only the early procedures run; an unknown number
 * gets libvirt's error. */
static void
testBeforeOpenAndUnknown(void)
{
    daemonState d = {0};
    daemonConn c = {0};
    remote_connect_get_type_ret ret = {0};
    g_autoptr(rpcMessage) m1 = callMessage(REMOTE_PROC_CONNECT_GET_TYPE, NULL, NULL);
    g_autoptr(rpcMessage) r1 = daemonDispatchMessage(&d, &c, m1);
    g_autoptr(rpcMessage) m2 = callMessage(9999, NULL, NULL);
    g_autoptr(rpcMessage) r2 = daemonDispatchMessage(&d, &c, m2);
    g_autofree char *err1 = NULL;
    g_autofree char *err2 = NULL;
    rpcHeader h;

    err1 = replyError(r1, &h);
    g_assert_cmpstr(err1, ==, "internal error: hypervisor connection not open");
    err2 = replyError(r2, &h);
    g_assert_cmpstr(err2, ==, "unknown procedure: 9999");

    c.open = true;
    g_assert_cmpint(daemonDispatchCall(&d, &c, REMOTE_PROC_CONNECT_GET_TYPE, NULL, &ret), ==, 0);
    g_assert_cmpstr(ret.type, ==, "QEMU");
    xdr_free((xdrproc_t)xdr_remote_connect_get_type_ret, (char *)&ret);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/dispatch/every-procedure-has-a-handler", testEveryProcedureHasAHandler);
    g_test_add_func("/dispatch/open-then-read-only-refusal", testOpenThenReadOnlyRefusal);
    g_test_add_func("/dispatch/before-open-and-unknown", testBeforeOpenAndUnknown);
    return g_test_run();
}
