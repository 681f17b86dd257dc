/*
 * procs.c: what the protocol says about each procedure of the remote
 * program iovirt implements
 *
 * One row per procedure, indexed by its number: its name, the rpcgen
 * filters and sizes of its args and ret structs (xdr_void and 0 when it
 * has none), and whether a read-only connection may call it. Procedures
 * that change nothing are allowed on read-only connections; those that
 * define, start, stop or change a domain are not.
 */
#include "rpc.h"

#define ARGS(type) (xdrproc_t)xdr_##type, sizeof(type)
#define RET(type) (xdrproc_t)xdr_##type, sizeof(type)
#define NONE (xdrproc_t)(void (*)(void))xdr_void, 0
#define RO true
#define RW false

#define PROC(name, args, ret, ro) \
    [REMOTE_PROC_##name] = { REMOTE_PROC_##name, #name, args, ret, ro }

static const rpcProcInfo remoteProcs[] = {
    PROC(CONNECT_OPEN, ARGS(remote_connect_open_args), NONE, RO),
    PROC(CONNECT_CLOSE, NONE, NONE, RO),
    PROC(CONNECT_GET_TYPE, NONE, RET(remote_connect_get_type_ret), RO),
    PROC(CONNECT_GET_VERSION, NONE, RET(remote_connect_get_version_ret), RO),
    PROC(DOMAIN_CREATE, ARGS(remote_domain_create_args), NONE, RW),
    PROC(DOMAIN_DEFINE_XML, ARGS(remote_domain_define_xml_args), RET(remote_domain_define_xml_ret), RW),
    PROC(DOMAIN_DESTROY, ARGS(remote_domain_destroy_args), NONE, RW),
    PROC(DOMAIN_GET_XML_DESC, ARGS(remote_domain_get_xml_desc_args), RET(remote_domain_get_xml_desc_ret), RO),
    PROC(DOMAIN_GET_AUTOSTART, ARGS(remote_domain_get_autostart_args), RET(remote_domain_get_autostart_ret), RO),
    PROC(DOMAIN_GET_INFO, ARGS(remote_domain_get_info_args), RET(remote_domain_get_info_ret), RO),
    PROC(DOMAIN_GET_OS_TYPE, ARGS(remote_domain_get_os_type_args), RET(remote_domain_get_os_type_ret), RO),
    PROC(DOMAIN_LOOKUP_BY_ID, ARGS(remote_domain_lookup_by_id_args), RET(remote_domain_lookup_by_id_ret), RO),
    PROC(DOMAIN_LOOKUP_BY_NAME, ARGS(remote_domain_lookup_by_name_args), RET(remote_domain_lookup_by_name_ret), RO),
    PROC(DOMAIN_LOOKUP_BY_UUID, ARGS(remote_domain_lookup_by_uuid_args), RET(remote_domain_lookup_by_uuid_ret), RO),
    PROC(DOMAIN_REBOOT, ARGS(remote_domain_reboot_args), NONE, RW),
    PROC(DOMAIN_RESUME, ARGS(remote_domain_resume_args), NONE, RW),
    PROC(DOMAIN_SHUTDOWN, ARGS(remote_domain_shutdown_args), NONE, RW),
    PROC(DOMAIN_SUSPEND, ARGS(remote_domain_suspend_args), NONE, RW),
    PROC(DOMAIN_UNDEFINE, ARGS(remote_domain_undefine_args), NONE, RW),
    PROC(CONNECT_GET_HOSTNAME, NONE, RET(remote_connect_get_hostname_ret), RO),
    PROC(CONNECT_SUPPORTS_FEATURE, ARGS(remote_connect_supports_feature_args), RET(remote_connect_supports_feature_ret), RO),
    PROC(DOMAIN_BLOCK_STATS, ARGS(remote_domain_block_stats_args), RET(remote_domain_block_stats_ret), RO),
    PROC(AUTH_LIST, NONE, RET(remote_auth_list_ret), RO),
    PROC(CONNECT_GET_URI, NONE, RET(remote_connect_get_uri_ret), RO),
    PROC(NODE_GET_SECURITY_MODEL, NONE, RET(remote_node_get_security_model_ret), RO),
    PROC(DOMAIN_IS_ACTIVE, ARGS(remote_domain_is_active_args), RET(remote_domain_is_active_ret), RO),
    PROC(DOMAIN_IS_PERSISTENT, ARGS(remote_domain_is_persistent_args), RET(remote_domain_is_persistent_ret), RO),
    PROC(CONNECT_GET_LIB_VERSION, NONE, RET(remote_connect_get_lib_version_ret), RO),
    PROC(DOMAIN_HAS_MANAGED_SAVE_IMAGE, ARGS(remote_domain_has_managed_save_image_args), RET(remote_domain_has_managed_save_image_ret), RO),
    PROC(DOMAIN_CREATE_WITH_FLAGS, ARGS(remote_domain_create_with_flags_args), RET(remote_domain_create_with_flags_ret), RW),
    PROC(DOMAIN_GET_STATE, ARGS(remote_domain_get_state_args), RET(remote_domain_get_state_ret), RO),
    PROC(DOMAIN_UNDEFINE_FLAGS, ARGS(remote_domain_undefine_flags_args), NONE, RW),
    PROC(DOMAIN_DESTROY_FLAGS, ARGS(remote_domain_destroy_flags_args), NONE, RW),
    PROC(DOMAIN_BLOCK_STATS_FLAGS, ARGS(remote_domain_block_stats_flags_args), RET(remote_domain_block_stats_flags_ret), RO),
    PROC(DOMAIN_SET_BLOCK_IO_TUNE, ARGS(remote_domain_set_block_io_tune_args), NONE, RW),
    PROC(DOMAIN_GET_BLOCK_IO_TUNE, ARGS(remote_domain_get_block_io_tune_args), RET(remote_domain_get_block_io_tune_ret), RO),
    PROC(DOMAIN_SHUTDOWN_FLAGS, ARGS(remote_domain_shutdown_flags_args), NONE, RW),
    PROC(CONNECT_LIST_ALL_DOMAINS, ARGS(remote_connect_list_all_domains_args), RET(remote_connect_list_all_domains_ret), RO),
    PROC(DOMAIN_DEFINE_XML_FLAGS, ARGS(remote_domain_define_xml_flags_args), RET(remote_domain_define_xml_flags_ret), RW),
    PROC(CONNECT_REGISTER_CLOSE_CALLBACK, NONE, NONE, RO),
    PROC(CONNECT_UNREGISTER_CLOSE_CALLBACK, NONE, NONE, RO),
};

/*
 * rpcRemoteProcLookup: the row of procedure `proc`, or NULL when iovirt
 * does not implement it (including negative and out-of-range numbers).
 */
const rpcProcInfo *
rpcRemoteProcLookup(int proc)
{
    if (proc <= 0 || (size_t)proc >= G_N_ELEMENTS(remoteProcs))
        return NULL;
    if (!remoteProcs[proc].name)
        return NULL;
    return &remoteProcs[proc];
}
