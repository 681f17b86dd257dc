/*
 * test-protocol.c: iovirtd at the protocol level, over raw connections
 *
 * The read-only socket refuses every procedure that changes something
 * and serves every one that reads, by the test's own lists;
 * unknown procedures get libvirt's exact error; bad packets, garbage and
 * oversized messages end only their own connection; a client over the
 * connection limit is told so while the others carry on.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "rpc/rpc.h"
#include "testqemu.h"
#include "util/error.h"

#define MAX_CLIENTS 8

static testDaemon d;
static unsigned char domUUID[16];

/* A connection to `sock`, opened; NULL (error set) when the daemon
 * refuses it. */
static rpcClient *
tryOpenClient(const char *sock, bool readonly)
{
    int fd = rpcSocketConnectUnix(sock);
    rpcClient *c;
    remote_connect_open_args args = {0};
    char *name = (char *)"iovirt:///session";

    if (fd < 0)
        g_error("connect %s: %s", sock, iovGetLastErrorMessage());
    c = rpcClientNew(rpcStreamNewUnix(fd));
    args.name = &name;
    args.flags = readonly ? 1 : 0;
    if (rpcClientCall(c, RPC_REMOTE_PROGRAM, RPC_REMOTE_VERSION, REMOTE_PROC_CONNECT_OPEN,
                      (xdrproc_t)xdr_remote_connect_open_args, &args, NULL, NULL, 5000) < 0) {
        rpcClientFree(c);
        return NULL;
    }
    return c;
}

static rpcClient *
openClient(const char *sock, bool readonly)
{
    rpcClient *c = tryOpenClient(sock, readonly);

    if (!c)
        g_error("open: %s", iovGetLastErrorMessage());
    return c;
}

/* GET_TYPE works on `c`: the connection still serves. */
static void
assertServes(rpcClient *c)
{
    remote_connect_get_type_ret ret = {0};

    if (rpcClientCall(c, RPC_REMOTE_PROGRAM, RPC_REMOTE_VERSION, REMOTE_PROC_CONNECT_GET_TYPE, NULL,
                      NULL, (xdrproc_t)xdr_remote_connect_get_type_ret, &ret, 5000) < 0)
        g_error("get type: %s", iovGetLastErrorMessage());
    g_assert_cmpstr(ret.type, ==, "QEMU");
    xdr_free((xdrproc_t)xdr_remote_connect_get_type_ret, (char *)&ret);
}

static void
defineDomain(void)
{
    rpcClient *c = openClient(d.sock, false);
    remote_domain_define_xml_args args = {0};
    remote_domain_define_xml_ret ret = {0};

    args.xml = (char *)"<domain type='qemu'><name>proto1</name><memory>65536</memory><devices>"
                       "<disk><source file='/nonexistent/p.img'/><target dev='vda'/>"
                       "<iothrottle bps='1000'/></disk></devices></domain>";
    g_assert_cmpint(rpcClientCall(c, RPC_REMOTE_PROGRAM, RPC_REMOTE_VERSION, REMOTE_PROC_DOMAIN_DEFINE_XML,
                                  (xdrproc_t)xdr_remote_domain_define_xml_args, &args,
                                  (xdrproc_t)xdr_remote_domain_define_xml_ret, &ret, 5000), ==, 0);
    memcpy(domUUID, ret.dom.uuid, 16);
    xdr_free((xdrproc_t)xdr_remote_domain_define_xml_ret, (char *)&ret);
    rpcClientFree(c);
}

/* The domain's persistent XML, to show that nothing changed. */
static char *
domainXML(rpcClient *c)
{
    remote_domain_get_xml_desc_args args = {0};
    remote_domain_get_xml_desc_ret ret = {0};
    char *xml;

    args.dom.name = (char *)"proto1";
    memcpy(args.dom.uuid, domUUID, 16);
    args.dom.id = -1;
    args.flags = 2;
    g_assert_cmpint(rpcClientCall(c, RPC_REMOTE_PROGRAM, RPC_REMOTE_VERSION, REMOTE_PROC_DOMAIN_GET_XML_DESC,
                                  (xdrproc_t)xdr_remote_domain_get_xml_desc_args, &args,
                                  (xdrproc_t)xdr_remote_domain_get_xml_desc_ret, &ret, 5000), ==, 0);
    xml = g_strdup(ret.xml);
    xdr_free((xdrproc_t)xdr_remote_domain_get_xml_desc_ret, (char *)&ret);
    return xml;
}

/*
 * The procedures of the remote program, as this test sees them: which a
 * read-only connection must be refused and which it may call. Written
 * here, not taken from the daemon's table, so that a wrong row in that
 * table fails the test. A procedure the daemon serves and neither list
 * names fails it too: decide and add it.
 */
typedef enum {
    ARGS_NONE,     /* no arguments */
    ARGS_ZERO,     /* zeroed arguments are valid */
    ARGS_DOM,      /* they start with the domain "proto1" */
    ARGS_DOM_DISK, /* the domain, then the disk "vda" */
    ARGS_NAME,     /* a name only: "proto1" */
    ARGS_XML,      /* an XML definition only */
    ARGS_SET_TUNE, /* a limit to set on "vda" */
} ArgsKind;

typedef struct {
    int proc;
    const char *name;
    xdrproc_t argsFilter;
    size_t argsSize;
    xdrproc_t retFilter;
    size_t retSize;
    ArgsKind kind;
} ProcCase;

#define P(name, args, ret, kind) {REMOTE_PROC_##name, #name, args, ret, kind}
#define A(type) (xdrproc_t)xdr_##type, sizeof(type)
#define NO NULL, 0

/* every procedure that changes a domain or its definition */
static const ProcCase mustRefuse[] = {
    P(DOMAIN_CREATE, A(remote_domain_create_args), NO, ARGS_DOM),
    P(DOMAIN_DEFINE_XML, A(remote_domain_define_xml_args), A(remote_domain_define_xml_ret), ARGS_XML),
    P(DOMAIN_DESTROY, A(remote_domain_destroy_args), NO, ARGS_DOM),
    P(DOMAIN_REBOOT, A(remote_domain_reboot_args), NO, ARGS_DOM),
    P(DOMAIN_RESUME, A(remote_domain_resume_args), NO, ARGS_DOM),
    P(DOMAIN_SHUTDOWN, A(remote_domain_shutdown_args), NO, ARGS_DOM),
    P(DOMAIN_SUSPEND, A(remote_domain_suspend_args), NO, ARGS_DOM),
    P(DOMAIN_UNDEFINE, A(remote_domain_undefine_args), NO, ARGS_DOM),
    P(DOMAIN_CREATE_WITH_FLAGS, A(remote_domain_create_with_flags_args), A(remote_domain_create_with_flags_ret), ARGS_DOM),
    P(DOMAIN_UNDEFINE_FLAGS, A(remote_domain_undefine_flags_args), NO, ARGS_DOM),
    P(DOMAIN_DESTROY_FLAGS, A(remote_domain_destroy_flags_args), NO, ARGS_DOM),
    P(DOMAIN_SET_BLOCK_IO_TUNE, A(remote_domain_set_block_io_tune_args), NO, ARGS_SET_TUNE),
    P(DOMAIN_SHUTDOWN_FLAGS, A(remote_domain_shutdown_flags_args), NO, ARGS_DOM),
    P(DOMAIN_DEFINE_XML_FLAGS, A(remote_domain_define_xml_flags_args), A(remote_domain_define_xml_flags_ret), ARGS_XML),
    P(DOMAIN_SET_AUTOSTART, A(remote_domain_set_autostart_args), NO, ARGS_DOM),
    /* the string after the domain stands for the document or alias */
    P(DOMAIN_ATTACH_DEVICE, A(remote_domain_attach_device_args), NO, ARGS_DOM_DISK),
    P(DOMAIN_DETACH_DEVICE, A(remote_domain_detach_device_args), NO, ARGS_DOM_DISK),
    P(DOMAIN_ATTACH_DEVICE_FLAGS, A(remote_domain_attach_device_flags_args), NO, ARGS_DOM_DISK),
    P(DOMAIN_DETACH_DEVICE_FLAGS, A(remote_domain_detach_device_flags_args), NO, ARGS_DOM_DISK),
    P(DOMAIN_UPDATE_DEVICE_FLAGS, A(remote_domain_update_device_flags_args), NO, ARGS_DOM_DISK),
    P(DOMAIN_DETACH_DEVICE_ALIAS, A(remote_domain_detach_device_alias_args), NO, ARGS_DOM_DISK),
    P(DOMAIN_OPEN_CONSOLE, A(remote_domain_open_console_args), NO, ARGS_DOM),
    /* a migration's steps, and cancelling it */
    P(DOMAIN_ABORT_JOB, A(remote_domain_abort_job_args), NO, ARGS_DOM),
    P(DOMAIN_MIGRATE_BEGIN3_PARAMS, A(remote_domain_migrate_begin3_params_args), A(remote_domain_migrate_begin3_params_ret), ARGS_DOM),
    P(DOMAIN_MIGRATE_PREPARE3_PARAMS, A(remote_domain_migrate_prepare3_params_args), A(remote_domain_migrate_prepare3_params_ret), ARGS_ZERO),
    P(DOMAIN_MIGRATE_PERFORM3_PARAMS, A(remote_domain_migrate_perform3_params_args), A(remote_domain_migrate_perform3_params_ret), ARGS_DOM),
    P(DOMAIN_MIGRATE_FINISH3_PARAMS, A(remote_domain_migrate_finish3_params_args), A(remote_domain_migrate_finish3_params_ret), ARGS_ZERO),
    P(DOMAIN_MIGRATE_CONFIRM3_PARAMS, A(remote_domain_migrate_confirm3_params_args), NO, ARGS_DOM),
};

/* every procedure that only reads (CONNECT_CLOSE too, not called here:
 * it ends the connection) */
static const ProcCase mayRead[] = {
    P(CONNECT_OPEN, A(remote_connect_open_args), NO, ARGS_ZERO),
    P(CONNECT_CLOSE, NO, NO, ARGS_NONE),
    P(CONNECT_GET_TYPE, NO, A(remote_connect_get_type_ret), ARGS_NONE),
    P(CONNECT_GET_VERSION, NO, A(remote_connect_get_version_ret), ARGS_NONE),
    P(DOMAIN_GET_XML_DESC, A(remote_domain_get_xml_desc_args), A(remote_domain_get_xml_desc_ret), ARGS_DOM),
    P(DOMAIN_GET_MESSAGES, A(remote_domain_get_messages_args), A(remote_domain_get_messages_ret), ARGS_DOM),
    P(DOMAIN_GET_JOB_INFO, A(remote_domain_get_job_info_args), A(remote_domain_get_job_info_ret), ARGS_DOM),
    P(DOMAIN_GET_JOB_STATS, A(remote_domain_get_job_stats_args), A(remote_domain_get_job_stats_ret), ARGS_DOM),
    P(DOMAIN_GET_AUTOSTART, A(remote_domain_get_autostart_args), A(remote_domain_get_autostart_ret), ARGS_DOM),
    P(DOMAIN_GET_INFO, A(remote_domain_get_info_args), A(remote_domain_get_info_ret), ARGS_DOM),
    P(DOMAIN_GET_OS_TYPE, A(remote_domain_get_os_type_args), A(remote_domain_get_os_type_ret), ARGS_DOM),
    P(DOMAIN_LOOKUP_BY_ID, A(remote_domain_lookup_by_id_args), A(remote_domain_lookup_by_id_ret), ARGS_ZERO),
    P(DOMAIN_LOOKUP_BY_NAME, A(remote_domain_lookup_by_name_args), A(remote_domain_lookup_by_name_ret), ARGS_NAME),
    P(DOMAIN_LOOKUP_BY_UUID, A(remote_domain_lookup_by_uuid_args), A(remote_domain_lookup_by_uuid_ret), ARGS_ZERO),
    P(CONNECT_GET_HOSTNAME, NO, A(remote_connect_get_hostname_ret), ARGS_NONE),
    P(CONNECT_SUPPORTS_FEATURE, A(remote_connect_supports_feature_args), A(remote_connect_supports_feature_ret), ARGS_ZERO),
    P(DOMAIN_BLOCK_STATS, A(remote_domain_block_stats_args), A(remote_domain_block_stats_ret), ARGS_DOM_DISK),
    P(AUTH_LIST, NO, A(remote_auth_list_ret), ARGS_NONE),
    P(CONNECT_GET_URI, NO, A(remote_connect_get_uri_ret), ARGS_NONE),
    P(NODE_GET_SECURITY_MODEL, NO, A(remote_node_get_security_model_ret), ARGS_NONE),
    P(DOMAIN_IS_ACTIVE, A(remote_domain_is_active_args), A(remote_domain_is_active_ret), ARGS_DOM),
    P(DOMAIN_IS_PERSISTENT, A(remote_domain_is_persistent_args), A(remote_domain_is_persistent_ret), ARGS_DOM),
    P(CONNECT_GET_LIB_VERSION, NO, A(remote_connect_get_lib_version_ret), ARGS_NONE),
    P(DOMAIN_HAS_MANAGED_SAVE_IMAGE, A(remote_domain_has_managed_save_image_args), A(remote_domain_has_managed_save_image_ret), ARGS_DOM),
    P(DOMAIN_GET_STATE, A(remote_domain_get_state_args), A(remote_domain_get_state_ret), ARGS_DOM),
    P(DOMAIN_BLOCK_STATS_FLAGS, A(remote_domain_block_stats_flags_args), A(remote_domain_block_stats_flags_ret), ARGS_DOM_DISK),
    P(DOMAIN_GET_BLOCK_IO_TUNE, A(remote_domain_get_block_io_tune_args), A(remote_domain_get_block_io_tune_ret), ARGS_DOM),
    P(CONNECT_LIST_ALL_DOMAINS, A(remote_connect_list_all_domains_args), A(remote_connect_list_all_domains_ret), ARGS_ZERO),
    P(CONNECT_REGISTER_CLOSE_CALLBACK, NO, NO, ARGS_NONE),
    P(CONNECT_UNREGISTER_CLOSE_CALLBACK, NO, NO, ARGS_NONE),
    P(CONNECT_GET_MAX_VCPUS, A(remote_connect_get_max_vcpus_args), A(remote_connect_get_max_vcpus_ret), ARGS_ZERO),
    P(NODE_GET_INFO, NO, A(remote_node_get_info_ret), ARGS_NONE),
    P(CONNECT_GET_CAPABILITIES, NO, A(remote_connect_get_capabilities_ret), ARGS_NONE),
    P(CONNECT_LIST_DEFINED_DOMAINS, A(remote_connect_list_defined_domains_args), A(remote_connect_list_defined_domains_ret), ARGS_ZERO),
    P(CONNECT_NUM_OF_DEFINED_DOMAINS, NO, A(remote_connect_num_of_defined_domains_ret), ARGS_NONE),
    P(CONNECT_LIST_DOMAINS, A(remote_connect_list_domains_args), A(remote_connect_list_domains_ret), ARGS_ZERO),
    P(CONNECT_NUM_OF_DOMAINS, NO, A(remote_connect_num_of_domains_ret), ARGS_NONE),
    P(NODE_GET_FREE_MEMORY, NO, A(remote_node_get_free_memory_ret), ARGS_NONE),
    P(CONNECT_GET_SYSINFO, A(remote_connect_get_sysinfo_args), A(remote_connect_get_sysinfo_ret), ARGS_ZERO),
    P(CONNECT_GET_ALL_DOMAIN_STATS, A(remote_connect_get_all_domain_stats_args), A(remote_connect_get_all_domain_stats_ret), ARGS_ZERO),
    P(CONNECT_DOMAIN_EVENT_REGISTER_ANY, A(remote_connect_domain_event_register_any_args), NO, ARGS_ZERO),
    P(CONNECT_DOMAIN_EVENT_DEREGISTER_ANY, A(remote_connect_domain_event_deregister_any_args), NO, ARGS_ZERO),
    P(CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, A(remote_connect_domain_event_callback_register_any_args),
      A(remote_connect_domain_event_callback_register_any_ret), ARGS_ZERO),
    P(CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, A(remote_connect_domain_event_callback_deregister_any_args), NO, ARGS_ZERO),
};

#undef P
#undef A
#undef NO

/* Call `pc` on `c` with arguments of its kind: 0 or -1 (error set). */
static int
callCase(rpcClient *c, const ProcCase *pc)
{
    g_autofree void *args = g_malloc0(MAX(pc->argsSize, 1));
    g_autofree void *ret = g_malloc0(MAX(pc->retSize, 1));
    static char *xml = (char *)"<domain type='qemu'><name>evil</name><memory>65536</memory><os><kernel>/k</kernel></os></domain>";
    remote_typed_param param = {0};
    remote_nonnull_domain *dom = args;
    int rc;

    switch (pc->kind) {
    case ARGS_NONE:
    case ARGS_ZERO:
        break;
    case ARGS_NAME:
    case ARGS_XML:
        /* the args start with the string */
        *(char **)args = pc->kind == ARGS_XML ? xml : (char *)"proto1";
        break;
    case ARGS_DOM:
    case ARGS_DOM_DISK:
    case ARGS_SET_TUNE:
        dom->name = (char *)"proto1";
        memcpy(dom->uuid, domUUID, 16);
        dom->id = -1;
        if (pc->kind == ARGS_DOM_DISK) {
            /* remote_domain_block_stats{,_flags}_args: the path follows */
            ((remote_domain_block_stats_args *)args)->path = (char *)"vda";
        } else if (pc->kind == ARGS_SET_TUNE) {
            remote_domain_set_block_io_tune_args *a = args;

            param.field = (char *)"bps";
            param.value.type = REMOTE_TYPED_PARAM_ULLONG;
            param.value.remote_typed_param_value_u.ul = 5;
            a->disk = (char *)"vda";
            a->params.params_len = 1;
            a->params.params_val = &param;
        }
        break;
    }
    rc = rpcClientCall(c, RPC_REMOTE_PROGRAM, RPC_REMOTE_VERSION, pc->proc, pc->argsFilter, args,
                       pc->retFilter, ret, 5000);
    if (rc == 0 && pc->retFilter)
        xdr_free(pc->retFilter, ret);
    return rc;
}

static const ProcCase *
findCase(const ProcCase *cases, size_t n, int proc)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (cases[i].proc == proc)
            return &cases[i];
    }
    return NULL;
}

/* Every procedure of mustRefuse is refused on the read-only socket,
 * with libvirt's error, and nothing changes. */
static void
testReadOnlyRefusesEveryChange(void)
{
    rpcClient *ro = openClient(d.sockRO, false);
    g_autofree char *before = domainXML(ro);
    g_autofree char *after = NULL;
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(mustRefuse); i++) {
        g_assert_cmpint(callCase(ro, &mustRefuse[i]), ==, -1);
        g_test_message("%s: %s", mustRefuse[i].name, iovGetLastErrorMessage());
        g_assert_cmpint(iovGetLastError()->code, ==, IOV_ERR_OPERATION_DENIED);
        g_assert_true(g_str_has_prefix(iovGetLastErrorMessage(), "operation forbidden: read only access prevents iov"));
    }
    after = domainXML(ro);
    g_assert_cmpstr(before, ==, after);
    assertServes(ro);
    rpcClientFree(ro);
}

/* Every procedure of mayRead is served on the read-only socket: it may
 * fail (a disk without statistics, a domain id that does not run), but
 * never for want of access. */
static void
testReadOnlyServesEveryRead(void)
{
    rpcClient *ro = openClient(d.sockRO, false);
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(mayRead); i++) {
        if (mayRead[i].proc == REMOTE_PROC_CONNECT_CLOSE)
            continue;
        if (callCase(ro, &mayRead[i]) < 0) {
            g_test_message("%s: %s", mayRead[i].name, iovGetLastErrorMessage());
            g_assert_cmpint(iovGetLastError()->code, !=, IOV_ERR_OPERATION_DENIED);
        }
        assertServes(ro);
    }
    rpcClientFree(ro);
}

/* The lists above name every procedure the daemon serves, and only
 * those: a new procedure must be put in one of them. */
static void
testEveryProcedureIsClassified(void)
{
    int proc, served = 0;

    for (proc = 1; proc < 1000; proc++) {
        const rpcProcInfo *info = rpcRemoteProcLookup(proc);
        bool refuse = findCase(mustRefuse, G_N_ELEMENTS(mustRefuse), proc) != NULL;
        bool read = findCase(mayRead, G_N_ELEMENTS(mayRead), proc) != NULL;

        if (!info) {
            g_assert_false(refuse || read);
            continue;
        }
        if (!refuse && !read)
            g_error("procedure %s (%d) is in neither list of test-protocol.c: may a read-only connection call it?", info->name, proc);
        served++;
    }
    g_assert_cmpint(served, ==, G_N_ELEMENTS(mustRefuse) + G_N_ELEMENTS(mayRead));
}

static void
testUnknownProcedure(void)
{
    rpcClient *c = openClient(d.sock, false);
    int procs[] = {17, 20, 999, 430};
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(procs); i++) {
        g_autofree char *want = g_strdup_printf("unknown procedure: %d", procs[i]);

        g_assert_cmpint(rpcClientCall(c, RPC_REMOTE_PROGRAM, RPC_REMOTE_VERSION, procs[i], NULL, NULL,
                                      NULL, NULL, 5000), ==, -1);
        g_assert_cmpint(iovGetLastError()->code, ==, IOV_ERR_RPC);
        g_assert_cmpint(iovGetLastError()->domain, ==, IOV_FROM_RPC);
        g_assert_cmpint(iovGetLastError()->level, ==, IOV_ERR_ERROR);
        g_assert_cmpstr(iovGetLastErrorMessage(), ==, want);
    }
    assertServes(c);
    rpcClientFree(c);
}

/*
 * iovirt's own program, beside the remote one: its four procedures and
 * their access policy (set and delete refused on the read-only socket,
 * get and list served), an unknown procedure of it named as such, and
 * the remote program still served on the same connection.
 */
static void
testIovirtProgram(void)
{
    rpcClient *ro = openClient(d.sockRO, false);
    iovirt_domain_set_throttle_group_args set = {0};
    iovirt_domain_del_throttle_group_args del = {0};
    iovirt_domain_get_throttle_group_args get = {0};
    iovirt_domain_get_throttle_group_ret getRet = {0};
    iovirt_domain_list_throttle_groups_args list = {0};
    iovirt_domain_list_throttle_groups_ret listRet = {0};
    iovirt_domain_list_disks_args disks = {0};
    iovirt_domain_list_disks_ret disksRet = {0};
    static const struct {
        int proc;
        bool readonly;
    } procs[] = {
        {IOVIRT_PROC_DOMAIN_SET_THROTTLE_GROUP, false},
        {IOVIRT_PROC_DOMAIN_GET_THROTTLE_GROUP, true},
        {IOVIRT_PROC_DOMAIN_DEL_THROTTLE_GROUP, false},
        {IOVIRT_PROC_DOMAIN_LIST_THROTTLE_GROUPS, true},
        {IOVIRT_PROC_DOMAIN_SET_DISK_THROTTLE_FILTERS, false},
        {IOVIRT_PROC_DOMAIN_LIST_DISKS, true},
    };
    remote_nonnull_domain dom = {(char *)"proto1", {0}, -1};
    int proc, served = 0;
    size_t i;

    /* the table says what this test says, and nothing more */
    for (proc = 1; proc < 1000; proc++) {
        const rpcProcInfo *info = rpcProcLookup(RPC_IOVIRT_PROGRAM, proc);

        if (!info)
            continue;
        for (i = 0; i < G_N_ELEMENTS(procs) && procs[i].proc != proc; i++)
            ;
        g_assert_cmpuint(i, <, G_N_ELEMENTS(procs));
        g_assert_cmpint(info->readonlyOk, ==, procs[i].readonly);
        g_assert_cmpuint(info->prog, ==, RPC_IOVIRT_PROGRAM);
        served++;
    }
    g_assert_cmpint(served, ==, G_N_ELEMENTS(procs));
    g_assert_true(rpcProgramKnown(RPC_IOVIRT_PROGRAM, RPC_IOVIRT_VERSION));
    g_assert_false(rpcProgramKnown(RPC_IOVIRT_PROGRAM, 2));

    memcpy(dom.uuid, domUUID, 16);
    set.dom = del.dom = get.dom = list.dom = disks.dom = dom;
    set.group = del.group = get.group = (char *)"cap";
    g_assert_cmpint(rpcClientCall(ro, RPC_IOVIRT_PROGRAM, RPC_IOVIRT_VERSION,
                                  IOVIRT_PROC_DOMAIN_SET_THROTTLE_GROUP,
                                  (xdrproc_t)xdr_iovirt_domain_set_throttle_group_args, &set, NULL,
                                  NULL, 5000),
                    ==, -1);
    g_assert_cmpstr(iovGetLastErrorMessage(), ==,
                    "operation forbidden: read only access prevents iovDomainSetThrottleGroup");
    g_assert_cmpint(rpcClientCall(ro, RPC_IOVIRT_PROGRAM, RPC_IOVIRT_VERSION,
                                  IOVIRT_PROC_DOMAIN_DEL_THROTTLE_GROUP,
                                  (xdrproc_t)xdr_iovirt_domain_del_throttle_group_args, &del, NULL,
                                  NULL, 5000),
                    ==, -1);
    g_assert_cmpint(iovGetLastError()->code, ==, IOV_ERR_OPERATION_DENIED);
    /* reads are served: proto1 declares no group */
    g_assert_cmpint(rpcClientCall(ro, RPC_IOVIRT_PROGRAM, RPC_IOVIRT_VERSION,
                                  IOVIRT_PROC_DOMAIN_LIST_THROTTLE_GROUPS,
                                  (xdrproc_t)xdr_iovirt_domain_list_throttle_groups_args, &list,
                                  (xdrproc_t)xdr_iovirt_domain_list_throttle_groups_ret, &listRet,
                                  5000),
                    ==, 0);
    g_assert_cmpuint(listRet.groups.groups_len, ==, 0);
    xdr_free((xdrproc_t)xdr_iovirt_domain_list_throttle_groups_ret, (char *)&listRet);
    g_assert_cmpint(rpcClientCall(ro, RPC_IOVIRT_PROGRAM, RPC_IOVIRT_VERSION,
                                  IOVIRT_PROC_DOMAIN_LIST_DISKS,
                                  (xdrproc_t)xdr_iovirt_domain_list_disks_args, &disks,
                                  (xdrproc_t)xdr_iovirt_domain_list_disks_ret, &disksRet, 5000),
                    ==, 0);
    g_assert_cmpuint(disksRet.disks.disks_len, ==, 1);
    g_assert_cmpstr(disksRet.disks.disks_val[0].target, ==, "vda");
    g_assert_cmpstr(disksRet.disks.disks_val[0].source, ==, "/nonexistent/p.img");
    g_assert_cmpstr(disksRet.disks.disks_val[0].group, ==, "");
    g_assert_cmpuint(disksRet.disks.disks_val[0].filters.filters_len, ==, 0);
    xdr_free((xdrproc_t)xdr_iovirt_domain_list_disks_ret, (char *)&disksRet);
    g_assert_cmpint(rpcClientCall(ro, RPC_IOVIRT_PROGRAM, RPC_IOVIRT_VERSION,
                                  IOVIRT_PROC_DOMAIN_GET_THROTTLE_GROUP,
                                  (xdrproc_t)xdr_iovirt_domain_get_throttle_group_args, &get,
                                  (xdrproc_t)xdr_iovirt_domain_get_throttle_group_ret, &getRet,
                                  5000),
                    ==, -1);
    g_assert_cmpstr(
        iovGetLastErrorMessage(), ==,
        "invalid argument: throttle group 'cap' not found in the persistent definition of domain 'proto1'");
    /* a number the program does not have */
    g_assert_cmpint(rpcClientCall(ro, RPC_IOVIRT_PROGRAM, RPC_IOVIRT_VERSION, 252, NULL, NULL, NULL,
                                  NULL, 5000),
                    ==, -1);
    g_assert_cmpstr(iovGetLastErrorMessage(), ==, "unknown procedure: 252");
    assertServes(ro);
    rpcClientFree(ro);
}

static void
testCallBeforeOpen(void)
{
    rpcClient *c = rpcClientNew(rpcStreamNewUnix(rpcSocketConnectUnix(d.sock)));
    remote_connect_list_all_domains_args args = {1, 0};
    remote_connect_list_all_domains_ret ret = {0};

    g_assert_cmpint(rpcClientCall(c, RPC_REMOTE_PROGRAM, RPC_REMOTE_VERSION, REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS,
                                  (xdrproc_t)xdr_remote_connect_list_all_domains_args, &args,
                                  (xdrproc_t)xdr_remote_connect_list_all_domains_ret, &ret, 5000), ==, -1);
    g_assert_cmpstr(iovGetLastErrorMessage(), ==, "internal error: hypervisor connection not open");
    rpcClientFree(c);
}

/*
 * libvirt's QEMU program: its one procedure, the monitor passthrough, is
 * refused on the read-only socket; on the read-write one a bad command
 * is named, and a domain that is not running is said to be so.
 */
static void
testQemuProgram(void)
{
    rpcClient *ro = openClient(d.sockRO, false);
    rpcClient *rw = openClient(d.sock, false);
    qemu_domain_monitor_command_args args = {0};
    qemu_domain_monitor_command_ret ret = {0};
    const rpcProcInfo *info = rpcProcLookup(RPC_QEMU_PROGRAM, QEMU_PROC_DOMAIN_MONITOR_COMMAND);

    g_assert_nonnull(info);
    g_assert_false(info->readonlyOk);
    g_assert_true(rpcProgramKnown(RPC_QEMU_PROGRAM, RPC_QEMU_VERSION));
    args.dom.name = (char *)"proto1";
    args.dom.id = -1;
    memcpy(args.dom.uuid, domUUID, 16);
    args.cmd = (char *)"{\"execute\":\"query-status\"}";
    g_assert_cmpint(rpcClientCall(ro, RPC_QEMU_PROGRAM, RPC_QEMU_VERSION, QEMU_PROC_DOMAIN_MONITOR_COMMAND,
                                  (xdrproc_t)xdr_qemu_domain_monitor_command_args, &args,
                                  (xdrproc_t)xdr_qemu_domain_monitor_command_ret, &ret, 5000),
                    ==, -1);
    g_assert_cmpstr(iovGetLastErrorMessage(), ==,
                    "operation forbidden: read only access prevents iovDomainQemuMonitorCommand");
    g_assert_cmpint(rpcClientCall(rw, RPC_QEMU_PROGRAM, RPC_QEMU_VERSION, QEMU_PROC_DOMAIN_MONITOR_COMMAND,
                                  (xdrproc_t)xdr_qemu_domain_monitor_command_args, &args,
                                  (xdrproc_t)xdr_qemu_domain_monitor_command_ret, &ret, 5000),
                    ==, -1);
    g_assert_cmpstr(iovGetLastErrorMessage(), ==, "Requested operation is not valid: domain 'proto1' is not running");
    args.cmd = (char *)"query-status";
    g_assert_cmpint(rpcClientCall(rw, RPC_QEMU_PROGRAM, RPC_QEMU_VERSION, QEMU_PROC_DOMAIN_MONITOR_COMMAND,
                                  (xdrproc_t)xdr_qemu_domain_monitor_command_args, &args,
                                  (xdrproc_t)xdr_qemu_domain_monitor_command_ret, &ret, 5000),
                    ==, -1);
    g_assert_cmpint(iovGetLastError()->code, ==, IOV_ERR_INVALID_ARG);
    args.flags = IOV_DOMAIN_QEMU_MONITOR_COMMAND_HMP;
    g_assert_cmpint(rpcClientCall(rw, RPC_QEMU_PROGRAM, RPC_QEMU_VERSION, QEMU_PROC_DOMAIN_MONITOR_COMMAND,
                                  (xdrproc_t)xdr_qemu_domain_monitor_command_args, &args,
                                  (xdrproc_t)xdr_qemu_domain_monitor_command_ret, &ret, 5000),
                    ==, -1);
    g_assert_cmpint(iovGetLastError()->code, ==, IOV_ERR_ARGUMENT_UNSUPPORTED);
    assertServes(ro);
    rpcClientFree(ro);
    rpcClientFree(rw);
}

/* A raw connection to the daemon. */
static int
rawConnect(void)
{
    int fd = rpcSocketConnectUnix(d.sock);

    g_assert_cmpint(fd, >=, 0);
    return fd;
}

/* Wait for the daemon to close `fd`: reads until EOF (or a reset). */
static void
rawExpectClosed(int fd)
{
    char buf[4096];
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    struct timeval tv = {1, 0};

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));

        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            return;
        if (g_get_monotonic_time() > deadline)
            g_error("the daemon did not close a connection that sent a bad packet");
    }
}

static void
sendAll(int fd, const void *data, size_t len)
{
    g_assert_cmpint(send(fd, data, len, MSG_NOSIGNAL), ==, (ssize_t)len);
}

static void
testBadPacketsHurtOnlyTheirClient(void)
{
    rpcClient *good = openClient(d.sock, false);
    g_autofree char *corpus = g_build_filename(TEST_SRC_DIR, "tests", "fuzz", "corpus", "rpc", NULL);
    g_autoptr(GDir) dir = g_dir_open(corpus, 0, NULL);
    const char *name;
    int fd, n = 0;
    unsigned char oversized[28] = {0x02, 0x00, 0x00, 0x08}; /* 32 MiB + 8 */
    unsigned char tooShort[4] = {0, 0, 0, 3};
    unsigned char garbage[512];

    /* every packet of the fuzz corpus, then the connection is dropped */
    g_assert_nonnull(dir);
    while ((name = g_dir_read_name(dir))) {
        g_autofree char *p = g_build_filename(corpus, name, NULL);
        g_autofree char *data = NULL;
        gsize len;

        g_assert_true(g_file_get_contents(p, &data, &len, NULL));
        fd = rawConnect();
        sendAll(fd, data, len);
        /* and a truncated copy, unless the daemon has already hung up */
        if (send(fd, data, len / 2, MSG_NOSIGNAL) < 0)
            g_assert_true(errno == EPIPE || errno == ECONNRESET);
        /* the daemon has let this one go before the next connects: else
         * a slow daemon still counts them all and turns the next away */
        shutdown(fd, SHUT_WR);
        rawExpectClosed(fd);
        close(fd);
        n++;
    }
    g_assert_cmpint(n, >=, 20);

    fd = rawConnect();
    sendAll(fd, oversized, sizeof(oversized));
    rawExpectClosed(fd);
    close(fd);

    fd = rawConnect();
    sendAll(fd, tooShort, sizeof(tooShort));
    rawExpectClosed(fd);
    close(fd);

    for (n = 0; n < (int)sizeof(garbage); n++)
        garbage[n] = (unsigned char)(n * 37 + 11);
    garbage[0] = 0; garbage[1] = 0; garbage[2] = 1; garbage[3] = 0; /* a plausible length */
    fd = rawConnect();
    sendAll(fd, garbage, sizeof(garbage));
    rawExpectClosed(fd);
    close(fd);

    /* the daemon and the good client carry on */
    g_assert_true(testProcessAlive(d.pid));
    assertServes(good);
    rpcClientFree(good);
}

static void
testTooManyClients(void)
{
    rpcClient *clients[MAX_CLIENTS];
    rpcClient *extra;
    int fd, i;
    remote_connect_open_args args = {0};
    char *name = (char *)"iovirt:///session";

    for (i = 0; i < MAX_CLIENTS; i++)
        clients[i] = openClient(i % 2 ? d.sockRO : d.sock, false);
    /* the next one is told why it is turned away */
    fd = rpcSocketConnectUnix(d.sockRO);
    extra = rpcClientNew(rpcStreamNewUnix(fd));
    args.name = &name;
    g_assert_cmpint(rpcClientCall(extra, RPC_REMOTE_PROGRAM, RPC_REMOTE_VERSION, REMOTE_PROC_CONNECT_OPEN,
                                  (xdrproc_t)xdr_remote_connect_open_args, &args, NULL, NULL, 5000), ==, -1);
    g_assert_cmpint(iovGetLastError()->code, ==, IOV_ERR_RESOURCE_BUSY);
    g_assert_cmpstr(iovGetLastErrorMessage(), ==, "resource busy: too many clients: this daemon serves at most 8 connections; try again later");
    rpcClientFree(extra);
    /* the others keep working */
    for (i = 0; i < MAX_CLIENTS; i++)
        assertServes(clients[i]);
    /* and when one leaves, a newcomer gets in, once the daemon has seen
     * it go */
    rpcClientFree(clients[0]);
    {
        gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

        while (!(clients[0] = tryOpenClient(d.sock, false))) {
            g_assert_cmpint(iovGetLastError()->code, ==, IOV_ERR_RESOURCE_BUSY);
            if (g_get_monotonic_time() > deadline)
                g_error("no newcomer got in 10 s after a client left");
            g_usleep(20 * 1000);
        }
    }
    assertServes(clients[0]);
    for (i = 0; i < MAX_CLIENTS; i++)
        rpcClientFree(clients[i]);
}

static void
testKeepalive(void)
{
    int fd = rawConnect();
    unsigned char ping[28] = {0, 0, 0, 0x1c, 0x6b, 0x65, 0x65, 0x70, 0, 0, 0, 1, 0, 0, 0, 1,
                              0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0};
    unsigned char pong[28];
    size_t got = 0;

    sendAll(fd, ping, sizeof(ping));
    while (got < sizeof(pong)) {
        ssize_t n = read(fd, pong + got, sizeof(pong) - got);

        g_assert_cmpint(n, >, 0);
        got += (size_t)n;
    }
    ping[15] = 2; /* the same packet with proc PONG */
    g_assert_cmpmem(pong, sizeof(pong), ping, sizeof(ping));
    close(fd);
}

/* Last: SIGTERM ends the daemon with status 0 and a log free of sanitizer
 * reports (in a sanitizer build, a report in any thread of the daemon
 * fails here even when no answer showed it). */
static void
testDaemonEndsCleanly(void)
{
    testDaemonStopCleanly(&d);
}

int
main(int argc, char **argv)
{
    g_autofree char *cfgFile = NULL;
    g_autofree char *cfg = g_strdup_printf("[iovirtd]\nmax_clients=%d\n", MAX_CLIENTS);
    const char *args[] = {"--config", NULL, NULL};
    int rc;

    g_test_init(&argc, &argv, NULL);
    cfgFile = g_build_filename(testTmpDir(), "protocol.conf", NULL);
    g_assert_true(g_file_set_contents(cfgFile, cfg, -1, NULL));
    args[1] = cfgFile;
    testDaemonStart(&d, "protocol", args);
    defineDomain();

    g_test_add_func("/protocol/read-only-refuses-every-change", testReadOnlyRefusesEveryChange);
    g_test_add_func("/protocol/read-only-serves-every-read", testReadOnlyServesEveryRead);
    g_test_add_func("/protocol/every-procedure-is-classified", testEveryProcedureIsClassified);
    g_test_add_func("/protocol/unknown-procedure", testUnknownProcedure);
    g_test_add_func("/protocol/call-before-open", testCallBeforeOpen);
    g_test_add_func("/protocol/iovirt-program", testIovirtProgram);
    g_test_add_func("/protocol/qemu-program", testQemuProgram);
    g_test_add_func("/protocol/bad-packets-hurt-only-their-client", testBadPacketsHurtOnlyTheirClient);
    g_test_add_func("/protocol/too-many-clients", testTooManyClients);
    g_test_add_func("/protocol/keepalive", testKeepalive);
    g_test_add_func("/protocol/daemon-ends-cleanly", testDaemonEndsCleanly);
    rc = g_test_run();
    testDaemonStop(&d, SIGTERM);
    return rc;
}
