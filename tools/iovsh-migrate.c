/*
 * iovsh-migrate.c: live migration and the domain's job
 *
 *   migrate DOMAIN DEST-URI [--live] [--p2p] [--persistent] [--undefinesource]
 *   domjobinfo DOMAIN [--completed]
 *   domjobabort DOMAIN
 *
 * As virsh's commands of the same names: migrate moves a running guest
 * to the daemon of DEST-URI with the limits in force; domjobinfo prints
 * the progress of its migration; domjobabort cancels it (the guest runs
 * on where it was).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iovsh.h"

int
cmdMigrate(iovshControl *ctl, const iovshCmd *cmd)
{
    g_autoptr(iovDomain) dom = NULL;
    const char *dest = iovshOptString(cmd, "desturi");
    unsigned int flags = 0;

    if (iovshOptGiven(cmd, "live"))
        flags |= IOV_MIGRATE_LIVE;
    if (iovshOptGiven(cmd, "p2p"))
        flags |= IOV_MIGRATE_PEER2PEER;
    if (iovshOptGiven(cmd, "persistent"))
        flags |= IOV_MIGRATE_PERSIST_DEST;
    if (iovshOptGiven(cmd, "undefinesource"))
        flags |= IOV_MIGRATE_UNDEFINE_SOURCE;
    if (iovshOptGiven(cmd, "suspend"))
        flags |= IOV_MIGRATE_PAUSED;
    if (!(dom = iovshLookupDomain(ctl, cmd, "domain")))
        return -1;
    if (iovDomainMigrateToURI3(dom, dest, NULL, 0, flags) < 0) {
        iovshLibError();
        return -1;
    }
    return 0;
}

static const char *
jobTypeName(int type)
{
    switch (type) {
    case IOV_DOMAIN_JOB_UNBOUNDED:
        return "Unbounded";
    case IOV_DOMAIN_JOB_COMPLETED:
        return "Completed";
    case IOV_DOMAIN_JOB_FAILED:
        return "Failed";
    case IOV_DOMAIN_JOB_CANCELLED:
        return "Cancelled";
    default:
        return "None";
    }
}

int
cmdDomJobInfo(iovshControl *ctl, const iovshCmd *cmd)
{
    g_autoptr(iovDomain) dom = NULL;
    iovTypedParameterPtr params = NULL;
    int nparams = 0, type = 0, i;
    unsigned int flags = iovshOptGiven(cmd, "completed") ? IOV_DOMAIN_JOB_STATS_COMPLETED : 0;

    if (!(dom = iovshLookupDomain(ctl, cmd, "domain")))
        return -1;
    if (iovDomainGetJobStats(dom, &type, &params, &nparams, flags) < 0) {
        iovshLibError();
        return -1;
    }
    printf("%-17s %s\n", "Job type:", jobTypeName(type));
    for (i = 0; i < nparams; i++) {
        const iovTypedParameter *p = &params[i];

        if (p->type != IOV_TYPED_PARAM_ULLONG)
            continue;
        if (strcmp(p->field, "time_elapsed") == 0)
            printf("%-17s %llu ms\n", "Time elapsed:", p->value.ul);
        else if (strcmp(p->field, "downtime") == 0)
            printf("%-17s %llu ms\n", "Total downtime:", p->value.ul);
        else if (strcmp(p->field, "data_processed") == 0)
            printf("%-17s %.3f MiB\n", "Data processed:", p->value.ul / 1048576.0);
        else if (strcmp(p->field, "data_remaining") == 0)
            printf("%-17s %.3f MiB\n", "Data remaining:", p->value.ul / 1048576.0);
        else if (strcmp(p->field, "data_total") == 0)
            printf("%-17s %.3f MiB\n", "Data total:", p->value.ul / 1048576.0);
        else if (strcmp(p->field, "memory_bps") == 0)
            printf("%-17s %.3f MiB/s\n", "Memory bandwidth:", p->value.ul / 1048576.0);
    }
    iovTypedParamsFree(params, nparams);
    return 0;
}

int
cmdDomJobAbort(iovshControl *ctl, const iovshCmd *cmd)
{
    g_autoptr(iovDomain) dom = NULL;

    if (!(dom = iovshLookupDomain(ctl, cmd, "domain")))
        return -1;
    if (iovDomainAbortJob(dom) < 0) {
        iovshLibError();
        return -1;
    }
    return 0;
}
