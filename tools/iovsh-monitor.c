/*
 * iovsh-monitor.c: the monitor passthrough
 *
 *   qemu-monitor-command DOMAIN CMD [--pretty] [--return-value] [--hmp]
 *
 * virsh's command of the same name: CMD is one QMP command as JSON; the
 * reply is printed as QEMU sent it (--pretty: indented; --return-value:
 * only its "return" member). The guest is tainted from then on (dominfo
 * says so), and the limits read back live come from QEMU.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iovsh.h"

int
cmdQemuMonitorCommand(iovshControl *ctl, const iovshCmd *cmd)
{
    g_autoptr(iovDomain) dom = NULL;
    const char *text = iovshOptString(cmd, "cmd");
    unsigned int flags = 0;
    char *result = NULL;
    json_object *reply, *value = NULL;
    int fmt;

    if (iovshOptGiven(cmd, "hmp"))
        flags |= IOV_DOMAIN_QEMU_MONITOR_COMMAND_HMP;
    if (!(dom = iovshLookupDomain(ctl, cmd, "domain")))
        return -1;
    if (iovDomainQemuMonitorCommand(dom, text, &result, flags) < 0) {
        iovshLibError();
        return -1;
    }
    if (!iovshOptGiven(cmd, "pretty") && !iovshOptGiven(cmd, "return-value")) {
        printf("%s\n", result);
        free(result);
        return 0;
    }
    reply = json_tokener_parse(result);
    free(result);
    if (!reply) {
        iovshError("the reply of QEMU is not JSON");
        return -1;
    }
    if (iovshOptGiven(cmd, "return-value") && !json_object_object_get_ex(reply, "return", &value)) {
        json_object_put(reply);
        iovshError("the reply of QEMU has no return value");
        return -1;
    }
    fmt = iovshOptGiven(cmd, "pretty") ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
                                       : JSON_C_TO_STRING_PLAIN;
    printf("%s\n", json_object_to_json_string_ext(value ? value : reply, fmt));
    json_object_put(reply);
    return 0;
}
