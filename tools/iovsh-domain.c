/*
 * iovsh-domain.c: the commands about guests
 *
 * list, define, undefine, start, suspend, resume, shutdown, destroy,
 * dumpxml, domstate, dominfo.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iovsh.h"

/* The state of dom, or -1 after printing the error. */
static int
domainState(iovDomainPtr dom, int *reason)
{
    int state;

    if (iovDomainGetState(dom, &state, reason, 0) < 0) {
        iovshLibError();
        return -1;
    }
    return state;
}

/* Compare two domain handles by name, for sorting. */
static int
compareByName(const void *a, const void *b)
{
    iovDomainPtr const *da = a;
    iovDomainPtr const *db = b;

    return strcmp(iovDomainGetName(*da), iovDomainGetName(*db));
}

/* list [--all] [--inactive]: the guests with their id and state. */
int
cmdList(iovshControl *ctl, const iovshCmd *cmd)
{
    unsigned int flags = IOV_CONNECT_LIST_DOMAINS_ACTIVE;
    iovDomainPtr *doms = NULL;
    json_object *arr = NULL;
    int n, i, width = 4;

    if (iovshOptGiven(cmd, "all") && iovshOptGiven(cmd, "inactive")) {
        iovshError("options --all and --inactive of command 'list' are mutually exclusive");
        return -1;
    }
    if (iovshConnect(ctl) < 0)
        return -1;
    if (iovshOptGiven(cmd, "all"))
        flags = 0;
    else if (iovshOptGiven(cmd, "inactive"))
        flags = IOV_CONNECT_LIST_DOMAINS_INACTIVE;
    n = iovConnectListAllDomains(ctl->conn, &doms, flags);
    if (n < 0) {
        iovshLibError();
        return -1;
    }
    qsort(doms, n, sizeof(*doms), compareByName);

    if (cmd->output == IOVSH_OUTPUT_JSON)
        arr = json_object_new_array();
    for (i = 0; i < n; i++)
        width = MAX(width, (int)strlen(iovDomainGetName(doms[i])));
    if (!arr) {
        g_autofree char *dashes = g_strnfill(width + 19, '-');

        printf(" %-4s %-*s  %s\n%s\n", "Id", width, "Name", "State", dashes);
    }
    for (i = 0; i < n; i++) {
        int id = iovDomainGetID(doms[i]);
        int state = -1;
        char uuid[37] = "";
        g_autofree char *idstr = id >= 0 ? g_strdup_printf("%d", id) : g_strdup("-");

        if (iovDomainGetState(doms[i], &state, NULL, 0) < 0)
            state = -1;
        iovDomainGetUUIDString(doms[i], uuid);
        if (arr) {
            json_object *o = json_object_new_object();

            json_object_object_add(o, "id", json_object_new_int(id));
            json_object_object_add(o, "name", json_object_new_string(iovDomainGetName(doms[i])));
            json_object_object_add(o, "uuid", json_object_new_string(uuid));
            json_object_object_add(o, "state", json_object_new_string(iovshStateName(state)));
            json_object_object_add(o, "persistent",
                                   json_object_new_boolean(iovDomainIsPersistent(doms[i]) == 1));
            json_object_array_add(arr, o);
        } else {
            printf(" %-4s %-*s  %s\n", idstr, width, iovDomainGetName(doms[i]),
                   iovshStateName(state));
        }
        iovDomainFree(doms[i]);
    }
    free(doms);
    if (arr)
        iovshPrintJSON(arr);
    return 0;
}

/* define FILE: define (or redefine) a guest from its XML. */
int
cmdDefine(iovshControl *ctl, const iovshCmd *cmd)
{
    const char *file = iovshOptString(cmd, "file");
    g_autofree char *xml = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(iovDomain) dom = NULL;

    if (!g_file_get_contents(file, &xml, NULL, &err)) {
        iovshError("cannot read '%s': %s", file, err->message);
        return -1;
    }
    if (iovshConnect(ctl) < 0)
        return -1;
    dom = iovDomainDefineXML(ctl->conn, xml);
    if (!dom) {
        iovshLibError();
        return -1;
    }
    printf("Domain '%s' defined from %s\n", iovDomainGetName(dom), file);
    return 0;
}

/* undefine DOMAIN: forget a guest's persistent definition. */
int
cmdUndefine(iovshControl *ctl, const iovshCmd *cmd)
{
    g_autoptr(iovDomain) dom = iovshLookupDomain(ctl, cmd, "domain");

    if (!dom)
        return -1;
    if (iovDomainUndefine(dom) < 0) {
        iovshLibError();
        return -1;
    }
    printf("Domain '%s' has been undefined\n", iovDomainGetName(dom));
    return 0;
}

/* start DOMAIN [--paused]: start a guest. */
int
cmdStart(iovshControl *ctl, const iovshCmd *cmd)
{
    g_autoptr(iovDomain) dom = iovshLookupDomain(ctl, cmd, "domain");
    bool paused = iovshOptGiven(cmd, "paused");

    if (!dom)
        return -1;
    if (iovDomainCreateWithFlags(dom, paused ? IOV_DOMAIN_START_PAUSED : 0) < 0) {
        iovshLibError();
        return -1;
    }
    printf("Domain '%s' started%s\n", iovDomainGetName(dom), paused ? " (paused)" : "");
    return 0;
}

/* suspend DOMAIN: pause the vCPUs. */
int
cmdSuspend(iovshControl *ctl, const iovshCmd *cmd)
{
    g_autoptr(iovDomain) dom = iovshLookupDomain(ctl, cmd, "domain");

    if (!dom)
        return -1;
    if (iovDomainSuspend(dom) < 0) {
        iovshLibError();
        return -1;
    }
    printf("Domain '%s' suspended\n", iovDomainGetName(dom));
    return 0;
}

/* resume DOMAIN: resume the vCPUs. */
int
cmdResume(iovshControl *ctl, const iovshCmd *cmd)
{
    g_autoptr(iovDomain) dom = iovshLookupDomain(ctl, cmd, "domain");

    if (!dom)
        return -1;
    if (iovDomainResume(dom) < 0) {
        iovshLibError();
        return -1;
    }
    printf("Domain '%s' resumed\n", iovDomainGetName(dom));
    return 0;
}

/* Wait until dom is shut off (or gone, for a transient guest), at most
 * `timeout` seconds (forever when negative). 0, or -1 after printing why. */
static int
waitShutOff(iovDomainPtr dom, double timeout)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)(timeout * G_USEC_PER_SEC);
    int ret = -1;

    iovshCatchInterrupt(true);
    while (!iovshInterrupted) {
        int state;

        if (iovDomainGetState(dom, &state, NULL, 0) < 0) {
            const iovError *err = iovGetLastError();

            if (err && err->code == IOV_ERR_NO_DOMAIN)
                ret = 0; /* a transient guest vanishes when it stops */
            else
                iovshLibError();
            goto cleanup;
        }
        if (state == IOV_DOMAIN_SHUTOFF) {
            ret = 0;
            goto cleanup;
        }
        if (timeout >= 0 && g_get_monotonic_time() >= deadline) {
            iovshError("domain '%s' is still %s after %.0f s", iovDomainGetName(dom),
                       iovshStateName(state), timeout);
            goto cleanup;
        }
        iovshSleep(0.2);
    }
    iovshError("interrupted while waiting for domain '%s' to shut off", iovDomainGetName(dom));

cleanup:
    iovshCatchInterrupt(false);
    return ret;
}

/* shutdown DOMAIN [--wait[=SECONDS]]: press the power button (and wait). */
int
cmdShutdown(iovshControl *ctl, const iovshCmd *cmd)
{
    g_autoptr(iovDomain) dom = iovshLookupDomain(ctl, cmd, "domain");
    const char *wait = iovshOptString(cmd, "wait");
    unsigned long long seconds = 0;

    if (!dom)
        return -1;
    if (wait && *wait && !iovshParseULL(wait, &seconds)) {
        iovshError("invalid value '%s' for option --wait: expected a number of seconds", wait);
        return -1;
    }
    if (iovDomainShutdown(dom) < 0) {
        iovshLibError();
        return -1;
    }
    if (!wait) {
        printf("Domain '%s' is being shutdown\n", iovDomainGetName(dom));
        return 0;
    }
    if (waitShutOff(dom, *wait ? (double)seconds : -1) < 0)
        return -1;
    printf("Domain '%s' is shut off\n", iovDomainGetName(dom));
    return 0;
}

/* destroy DOMAIN: stop the guest now. */
int
cmdDestroy(iovshControl *ctl, const iovshCmd *cmd)
{
    g_autoptr(iovDomain) dom = iovshLookupDomain(ctl, cmd, "domain");

    if (!dom)
        return -1;
    if (iovDomainDestroy(dom) < 0) {
        iovshLibError();
        return -1;
    }
    printf("Domain '%s' destroyed\n", iovDomainGetName(dom));
    return 0;
}

/* dumpxml DOMAIN [--inactive]: the live (or persistent) definition. */
int
cmdDumpXML(iovshControl *ctl, const iovshCmd *cmd)
{
    g_autoptr(iovDomain) dom = iovshLookupDomain(ctl, cmd, "domain");
    bool inactive = iovshOptGiven(cmd, "inactive");
    char *xml;

    if (!dom)
        return -1;
    xml = iovDomainGetXMLDesc(dom, inactive ? IOV_DOMAIN_XML_INACTIVE : 0);
    if (!xml) {
        iovshLibError();
        return -1;
    }
    if (cmd->output == IOVSH_OUTPUT_JSON) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "name", json_object_new_string(iovDomainGetName(dom)));
        json_object_object_add(o, "xml", json_object_new_string(xml));
        iovshPrintJSON(o);
    } else {
        fputs(xml, stdout);
        if (*xml && xml[strlen(xml) - 1] != '\n')
            putchar('\n');
    }
    free(xml);
    return 0;
}

/* domstate DOMAIN [--reason]: the state (and why). */
int
cmdDomState(iovshControl *ctl, const iovshCmd *cmd)
{
    g_autoptr(iovDomain) dom = iovshLookupDomain(ctl, cmd, "domain");
    int state, reason = 0;

    if (!dom)
        return -1;
    if ((state = domainState(dom, &reason)) < 0)
        return -1;
    if (cmd->output == IOVSH_OUTPUT_JSON) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "state", json_object_new_string(iovshStateName(state)));
        json_object_object_add(o, "reason",
                               json_object_new_string(iovshStateReasonName(state, reason)));
        iovshPrintJSON(o);
    } else if (iovshOptGiven(cmd, "reason")) {
        printf("%s (%s)\n", iovshStateName(state), iovshStateReasonName(state, reason));
    } else {
        printf("%s\n", iovshStateName(state));
    }
    return 0;
}

/*
 * What a libvirt import of dom's definition left out (libvirt's
 * bookkeeping), from the <dropped> items of its XML: a new array of
 * strings, empty when nothing was; NULL when the library fails.
 */
static GPtrArray *
domainDropped(iovDomainPtr dom)
{
    iovshDroppedFromXMLFunc fromXML;
    g_autofree char *xml = NULL;
    char *raw = iovDomainGetXMLDesc(dom, 0);

    if (!raw) {
        iovshLibError();
        return NULL;
    }
    xml = g_strdup(raw);
    free(raw);
    /* only a definition that has <dropped> needs the XML module */
    if (!strstr(xml, "<dropped>"))
        return g_ptr_array_new_with_free_func(g_free);
    if (!(fromXML =
              (iovshDroppedFromXMLFunc)iovshModuleLoad(IOVSH_XML_MODULE, IOVSH_XML_DROPPED_ENTRY)))
        return NULL;
    return fromXML(xml);
}

/* dominfo DOMAIN: id, name, uuid, state, vCPUs, CPU time, memory, disks,
 * and what an import from libvirt dropped. */
int
cmdDomInfo(iovshControl *ctl, const iovshCmd *cmd)
{
    g_autoptr(iovDomain) dom = iovshLookupDomain(ctl, cmd, "domain");
    g_autoptr(GPtrArray) disks = NULL;
    g_autoptr(GPtrArray) dropped = NULL;
    g_autofree char *idstr = NULL;
    g_auto(GStrv) msgs = NULL;
    iovDomainInfo info;
    guint k;
    char uuid[37] = "";
    int persistent;
    int nmsgs;
    int id;

    if (!dom)
        return -1;
    if (iovDomainGetInfo(dom, &info) < 0 || iovDomainGetUUIDString(dom, uuid) < 0 ||
        (persistent = iovDomainIsPersistent(dom)) < 0) {
        iovshLibError();
        return -1;
    }
    id = iovDomainGetID(dom);
    if (!(disks = iovshDomainDisks(dom, false)) || !(dropped = domainDropped(dom)))
        return -1;
    if ((nmsgs = iovDomainGetMessages(dom, &msgs, 0)) < 0) {
        iovshLibError();
        return -1;
    }
    idstr = id >= 0 ? g_strdup_printf("%d", id) : g_strdup("-");

    if (cmd->output == IOVSH_OUTPUT_JSON) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "id", json_object_new_int(id));
        json_object_object_add(o, "name", json_object_new_string(iovDomainGetName(dom)));
        json_object_object_add(o, "uuid", json_object_new_string(uuid));
        json_object_object_add(o, "state", json_object_new_string(iovshStateName(info.state)));
        json_object_object_add(o, "vcpus", json_object_new_int(info.nrVirtCpu));
        json_object_object_add(o, "cpu_time_ns", json_object_new_uint64(info.cpuTime));
        json_object_object_add(o, "max_memory_kib", json_object_new_uint64(info.maxMem));
        json_object_object_add(o, "memory_kib", json_object_new_uint64(info.memory));
        json_object_object_add(o, "persistent", json_object_new_boolean(persistent));
        json_object_object_add(o, "disks", json_object_new_int(disks->len));
        if (dropped->len) {
            json_object *arr = json_object_new_array();

            for (k = 0; k < dropped->len; k++)
                json_object_array_add(arr, json_object_new_string(g_ptr_array_index(dropped, k)));
            json_object_object_add(o, "dropped", arr);
        }
        if (nmsgs > 0) {
            json_object *arr = json_object_new_array();

            for (k = 0; k < (guint)nmsgs; k++)
                json_object_array_add(arr, json_object_new_string(msgs[k]));
            json_object_object_add(o, "messages", arr);
        }
        iovshPrintJSON(o);
        return 0;
    }
    printf("%-15s %s\n", "Id:", idstr);
    printf("%-15s %s\n", "Name:", iovDomainGetName(dom));
    printf("%-15s %s\n", "UUID:", uuid);
    printf("%-15s %s\n", "State:", iovshStateName(info.state));
    printf("%-15s %u\n", "CPU(s):", info.nrVirtCpu);
    if (info.cpuTime)
        printf("%-15s %.1fs\n", "CPU time:", info.cpuTime / 1e9);
    printf("%-15s %llu KiB\n", "Max memory:", info.maxMem);
    printf("%-15s %llu KiB\n", "Used memory:", info.memory);
    printf("%-15s %s\n", "Persistent:", persistent ? "yes" : "no");
    printf("%-15s %u\n", "Disks:", disks->len);
    for (k = 0; k < dropped->len; k++)
        printf("%-15s %s\n", k == 0 ? "Dropped:" : "", (const char *)g_ptr_array_index(dropped, k));
    for (k = 0; k < (guint)nmsgs; k++)
        printf("%-15s %s\n", k == 0 ? "Messages:" : "", msgs[k]);
    return 0;
}
