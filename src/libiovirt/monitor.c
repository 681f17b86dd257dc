/*
 * monitor.c: the public functions of the monitor passthrough (libvirt's
 * QEMU-specific program) and of a domain's messages
 */
#include <stdlib.h>

#include "libiovirt/libiovirt.h"

#define IOV_FROM_THIS IOV_FROM_REMOTE

int
iovDomainQemuMonitorCommand(iovDomainPtr dom, const char *cmd, char **result, unsigned int flags)
{
    qemu_domain_monitor_command_args args = {0};
    qemu_domain_monitor_command_ret ret = {0};

    ENTER_DOM(dom, -1);
    if (!cmd || !result) {
        reportError(IOV_ERR_INVALID_ARG, "cmd and result must not be NULL");
        return -1;
    }
    remoteDomainToWire(dom, &args.dom);
    args.cmd = (char *)cmd;
    args.flags = flags;
    if (remoteCallDomainMonitorCommand(dom->conn, &args, &ret) < 0)
        return -1;
    if (!(*result = strdup(ret.result)))
        abort();
    xdr_free((xdrproc_t)xdr_qemu_domain_monitor_command_ret, (char *)&ret);
    return 0;
}

int
iovDomainGetMessages(iovDomainPtr dom, char ***msgs, unsigned int flags)
{
    remote_domain_get_messages_args args = {0};
    remote_domain_get_messages_ret ret = {0};
    int n;
    u_int i;

    ENTER_DOM(dom, -1);
    remoteDomainToWire(dom, &args.dom);
    args.flags = flags;
    if (remoteCallDomainGetMessages(dom->conn, &args, &ret) < 0)
        return -1;
    n = (int)ret.msgs.msgs_len;
    if (msgs) {
        char **out = calloc(ret.msgs.msgs_len + 1, sizeof(char *));

        if (!out)
            abort();
        for (i = 0; i < ret.msgs.msgs_len; i++) {
            if (!(out[i] = strdup(ret.msgs.msgs_val[i])))
                abort();
        }
        *msgs = out;
    }
    xdr_free((xdrproc_t)xdr_remote_domain_get_messages_ret, (char *)&ret);
    return n;
}
