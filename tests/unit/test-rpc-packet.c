/*
 * test-rpc-packet.c: packets of the remote protocol, byte for byte
 *
 * The byte strings below are what virsh 9.0, python3-libvirt 9.0 and
 * libvirtd 9.0 were seen sending (reference §10); our encoder must
 * produce them exactly and our decoder must read them back.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rpc/rpc.h"
#include "util/error.h"

/* ---- helpers ---- */

/* Bytes from hex text; spaces are ignored, "quoted" text is taken as
 * ASCII, '_' stands for a zero padding byte. */
static GByteArray *
hexBytes(const char *text)
{
    GByteArray *out = g_byte_array_new();
    const char *p = text;

    while (*p) {
        if (*p == ' ') {
            p++;
        } else if (*p == '_') {
            guint8 zero = 0;

            g_byte_array_append(out, &zero, 1);
            p++;
        } else if (*p == '"') {
            const char *end = strchr(p + 1, '"');

            g_assert_nonnull(end);
            g_byte_array_append(out, (const guint8 *)p + 1, end - p - 1);
            p = end + 1;
        } else {
            guint8 b;

            g_assert_true(g_ascii_isxdigit(p[0]) && g_ascii_isxdigit(p[1]));
            b = g_ascii_xdigit_value(p[0]) * 16 + g_ascii_xdigit_value(p[1]);
            g_byte_array_append(out, &b, 1);
            p += 2;
        }
    }
    return out;
}

static void
assertBytes(const rpcMessage *msg, const char *expectHex)
{
    g_autoptr(GByteArray) expect = hexBytes(expectHex);

    g_assert_nonnull(msg);
    g_assert_cmpmem(msg->data, msg->len, expect->data, expect->len);
}

/* A packet parsed back from raw bytes, header decoded. */
static rpcMessage *
messageFromBytes(const guint8 *data, size_t len)
{
    rpcMessage *msg = g_new0(rpcMessage, 1);

    msg->data = g_memdup2(data, len);
    msg->len = len;
    g_assert_cmpint(rpcMessageDecodeHeader(msg->data, msg->len, &msg->header), ==, 0);
    return msg;
}

static rpcHeader
callHeader(int proc, unsigned int serial)
{
    rpcHeader h = {
        .prog = RPC_REMOTE_PROGRAM,
        .vers = RPC_REMOTE_VERSION,
        .proc = proc,
        .type = RPC_CALL,
        .serial = serial,
        .status = RPC_OK,
    };
    return h;
}

static rpcHeader
replyHeader(int proc, unsigned int serial)
{
    rpcHeader h = callHeader(proc, serial);

    h.type = RPC_REPLY;
    return h;
}

/* The domain of the reference's examples: "demo", id 7. */
static const unsigned char demoUUID[16] = {
    0xc7, 0xa5, 0xfd, 0xbd, 0xcd, 0xaf, 0x9e, 0x1c,
    0x28, 0x2a, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
};
#define DEMO_DOM_HEX "00000004 \"demo\" c7a5fdbdcdaf9e1c282a112233445566 00000007"

static remote_nonnull_domain
demoDomain(void)
{
    remote_nonnull_domain dom = { .name = (char *)"demo", .id = 7 };

    memcpy(dom.uuid, demoUUID, sizeof(demoUUID));
    return dom;
}

/* ---- the reference's byte examples ---- */

static void
testAuthListCall(void)
{
    rpcHeader h = callHeader(REMOTE_PROC_AUTH_LIST, 0);
    g_autoptr(rpcMessage) msg = rpcMessageEncode(&h, NULL, NULL);

    assertBytes(msg, "0000001c 20008086 00000001 00000042 00000000 00000000 00000000");
}

static void
testAuthListReply(void)
{
    rpcHeader h = replyHeader(REMOTE_PROC_AUTH_LIST, 0);
    remote_auth_type types[] = { REMOTE_AUTH_NONE };
    remote_auth_list_ret ret = { .types = { 1, types } };
    g_autoptr(rpcMessage) msg = rpcMessageEncode(&h, (xdrproc_t)xdr_remote_auth_list_ret, &ret);
    g_autoptr(rpcMessage) back = NULL;
    remote_auth_list_ret dec = { 0 };

    assertBytes(msg, "00000024 20008086 00000001 00000042 00000001 00000000 00000000 00000001 00000000");

    back = messageFromBytes((guint8 *)msg->data, msg->len);
    g_assert_cmpint(back->header.type, ==, RPC_REPLY);
    g_assert_cmpint(back->header.proc, ==, 66);
    g_assert_cmpint(rpcMessageDecodePayload(back, (xdrproc_t)xdr_remote_auth_list_ret, &dec), ==, 0);
    g_assert_cmpuint(dec.types.types_len, ==, 1);
    g_assert_cmpint(dec.types.types_val[0], ==, REMOTE_AUTH_NONE);
    xdr_free((xdrproc_t)xdr_remote_auth_list_ret, &dec);
}

static void
testConnectOpenCall(void)
{
    rpcHeader h = callHeader(REMOTE_PROC_CONNECT_OPEN, 2);
    char *uri = (char *)"qemu:///system";
    remote_connect_open_args args = { .name = &uri, .flags = 0 };
    g_autoptr(rpcMessage) msg = rpcMessageEncode(&h, (xdrproc_t)xdr_remote_connect_open_args, &args);
    remote_connect_open_args dec = { 0 };

    g_assert_cmpuint(msg->len, ==, 56);
    assertBytes(msg, "00000038 20008086 00000001 00000001 00000000 00000002 00000000 "
                     "00000001 0000000e \"qemu:///system\" __ 00000000");

    g_assert_cmpint(rpcMessageDecodePayload(msg, (xdrproc_t)xdr_remote_connect_open_args, &dec), ==, 0);
    g_assert_nonnull(dec.name);
    g_assert_cmpstr(*dec.name, ==, "qemu:///system");
    g_assert_cmpuint(dec.flags, ==, 0);
    xdr_free((xdrproc_t)xdr_remote_connect_open_args, &dec);
}

static void
testConnectOpenReadonlyNoName(void)
{
    rpcHeader h = callHeader(REMOTE_PROC_CONNECT_OPEN, 2);
    remote_connect_open_args args = { .name = NULL, .flags = 1 };
    g_autoptr(rpcMessage) msg = rpcMessageEncode(&h, (xdrproc_t)xdr_remote_connect_open_args, &args);
    remote_connect_open_args dec = { 0 };

    assertBytes(msg, "00000024 20008086 00000001 00000001 00000000 00000002 00000000 00000000 00000001");
    g_assert_cmpint(rpcMessageDecodePayload(msg, (xdrproc_t)xdr_remote_connect_open_args, &dec), ==, 0);
    g_assert_null(dec.name);
    g_assert_cmpuint(dec.flags, ==, 1);
}

static void
testLookupByNameReply(void)
{
    rpcHeader h = replyHeader(REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, 6);
    remote_domain_lookup_by_name_ret ret = { .dom = demoDomain() };
    g_autoptr(rpcMessage) msg = rpcMessageEncode(&h, (xdrproc_t)xdr_remote_domain_lookup_by_name_ret, &ret);
    remote_domain_lookup_by_name_ret dec = { 0 };

    assertBytes(msg, "00000038 20008086 00000001 00000017 00000001 00000006 00000000 " DEMO_DOM_HEX);
    g_assert_cmpint(rpcMessageDecodePayload(msg, (xdrproc_t)xdr_remote_domain_lookup_by_name_ret, &dec), ==, 0);
    g_assert_cmpstr(dec.dom.name, ==, "demo");
    g_assert_cmpmem(dec.dom.uuid, 16, demoUUID, 16);
    g_assert_cmpint(dec.dom.id, ==, 7);
    xdr_free((xdrproc_t)xdr_remote_domain_lookup_by_name_ret, &dec);
}

static void
testGetBlockIoTuneCountQuery(void)
{
    rpcHeader h = callHeader(REMOTE_PROC_DOMAIN_GET_BLOCK_IO_TUNE, 8);
    remote_domain_get_block_io_tune_args args = {
        .dom = demoDomain(), .disk = NULL, .nparams = 0, .flags = 4,
    };
    rpcHeader rh = replyHeader(REMOTE_PROC_DOMAIN_GET_BLOCK_IO_TUNE, 8);
    remote_domain_get_block_io_tune_ret ret = { .params = { 0, NULL }, .nparams = 20 };
    g_autoptr(rpcMessage) msg = rpcMessageEncode(&h, (xdrproc_t)xdr_remote_domain_get_block_io_tune_args, &args);
    g_autoptr(rpcMessage) reply = rpcMessageEncode(&rh, (xdrproc_t)xdr_remote_domain_get_block_io_tune_ret, &ret);
    remote_domain_get_block_io_tune_args dec = { 0 };

    g_assert_cmpuint(msg->len, ==, 68);
    assertBytes(msg, "00000044 20008086 00000001 000000fd 00000000 00000008 00000000 "
                     DEMO_DOM_HEX " 00000000 00000000 00000004");
    assertBytes(reply, "00000024 20008086 00000001 000000fd 00000001 00000008 00000000 00000000 00000014");

    g_assert_cmpint(rpcMessageDecodePayload(msg, (xdrproc_t)xdr_remote_domain_get_block_io_tune_args, &dec), ==, 0);
    g_assert_null(dec.disk);
    g_assert_cmpint(dec.nparams, ==, 0);
    g_assert_cmpuint(dec.flags, ==, 4);
    xdr_free((xdrproc_t)xdr_remote_domain_get_block_io_tune_args, &dec);
}

static void
testGetBlockIoTuneFetch(void)
{
    rpcHeader h = callHeader(REMOTE_PROC_DOMAIN_GET_BLOCK_IO_TUNE, 10);
    char *disk = (char *)"vda";
    remote_domain_get_block_io_tune_args args = {
        .dom = demoDomain(), .disk = &disk, .nparams = 20, .flags = 4,
    };
    g_autoptr(rpcMessage) msg = rpcMessageEncode(&h, (xdrproc_t)xdr_remote_domain_get_block_io_tune_args, &args);
    remote_domain_get_block_io_tune_args dec = { 0 };

    g_assert_cmpuint(msg->len, ==, 76);
    assertBytes(msg, "0000004c 20008086 00000001 000000fd 00000000 0000000a 00000000 "
                     DEMO_DOM_HEX " 00000001 00000003 76646100 00000014 00000004");
    g_assert_cmpint(rpcMessageDecodePayload(msg, (xdrproc_t)xdr_remote_domain_get_block_io_tune_args, &dec), ==, 0);
    g_assert_nonnull(dec.disk);
    g_assert_cmpstr(*dec.disk, ==, "vda");
    g_assert_cmpint(dec.nparams, ==, 20);
    xdr_free((xdrproc_t)xdr_remote_domain_get_block_io_tune_args, &dec);
}

static void
testSetBlockIoTune(void)
{
    rpcHeader h = callHeader(REMOTE_PROC_DOMAIN_SET_BLOCK_IO_TUNE, 8);
    remote_typed_param param = {
        .field = (char *)"total_bytes_sec",
        .value = { .type = REMOTE_TYPED_PARAM_ULLONG,
                   .remote_typed_param_value_u.ul = 10485760 },
    };
    remote_domain_set_block_io_tune_args args = {
        .dom = demoDomain(),
        .disk = (char *)"vda",
        .params = { 1, &param },
        .flags = 1,
    };
    g_autoptr(rpcMessage) msg = rpcMessageEncode(&h, (xdrproc_t)xdr_remote_domain_set_block_io_tune_args, &args);
    remote_domain_set_block_io_tune_args dec = { 0 };
    rpcHeader rh = replyHeader(REMOTE_PROC_DOMAIN_SET_BLOCK_IO_TUNE, 8);
    g_autoptr(rpcMessage) reply = rpcMessageEncode(&rh, NULL, NULL);

    g_assert_cmpuint(msg->len, ==, 104);
    assertBytes(msg, "00000068 20008086 00000001 000000fc 00000000 00000008 00000000 "
                     DEMO_DOM_HEX " 00000003 76646100 00000001 "
                     "0000000f 746f74616c5f62797465735f73656300 00000004 0000000000a00000 "
                     "00000001");
    g_assert_cmpuint(reply->len, ==, 28);

    g_assert_cmpint(rpcMessageDecodePayload(msg, (xdrproc_t)xdr_remote_domain_set_block_io_tune_args, &dec), ==, 0);
    g_assert_cmpstr(dec.disk, ==, "vda");
    g_assert_cmpuint(dec.params.params_len, ==, 1);
    g_assert_cmpstr(dec.params.params_val[0].field, ==, "total_bytes_sec");
    g_assert_cmpint(dec.params.params_val[0].value.type, ==, REMOTE_TYPED_PARAM_ULLONG);
    g_assert_cmpuint(dec.params.params_val[0].value.remote_typed_param_value_u.ul, ==, 10485760);
    g_assert_cmpuint(dec.flags, ==, 1);
    xdr_free((xdrproc_t)xdr_remote_domain_set_block_io_tune_args, &dec);
}

static void
testKeepalivePing(void)
{
    rpcHeader ping = {
        .prog = RPC_KEEPALIVE_PROGRAM, .vers = RPC_KEEPALIVE_VERSION,
        .proc = RPC_KEEPALIVE_PING, .type = RPC_MESSAGE, .serial = 0, .status = RPC_OK,
    };
    rpcHeader pong = ping;
    g_autoptr(rpcMessage) m1 = NULL;
    g_autoptr(rpcMessage) m2 = NULL;

    pong.proc = RPC_KEEPALIVE_PONG;
    m1 = rpcMessageEncode(&ping, NULL, NULL);
    m2 = rpcMessageEncode(&pong, NULL, NULL);
    assertBytes(m1, "0000001c 6b656570 00000001 00000001 00000002 00000000 00000000");
    assertBytes(m2, "0000001c 6b656570 00000001 00000002 00000002 00000000 00000000");
    g_assert_cmpint(KEEPALIVE_PROGRAM, ==, RPC_KEEPALIVE_PROGRAM);
    g_assert_cmpint(REMOTE_PROGRAM, ==, RPC_REMOTE_PROGRAM);
}

/* ---- round trips ---- */

/* GET_BLOCK_IO_TUNE's reply with ULLONG and STRING values, as Python
 * needs them: every value comes back with its type. */
static void
testTypedParamsRoundTrip(void)
{
    rpcHeader h = replyHeader(REMOTE_PROC_DOMAIN_GET_BLOCK_IO_TUNE, 10);
    remote_typed_param params[3] = {
        { .field = (char *)"total_bytes_sec",
          .value = { .type = REMOTE_TYPED_PARAM_ULLONG, .remote_typed_param_value_u.ul = 1048576 } },
        { .field = (char *)"size_iops_sec",
          .value = { .type = REMOTE_TYPED_PARAM_ULLONG, .remote_typed_param_value_u.ul = G_MAXUINT64 } },
        { .field = (char *)"group_name",
          .value = { .type = REMOTE_TYPED_PARAM_STRING, .remote_typed_param_value_u.s = (char *)"grp" } },
    };
    remote_domain_get_block_io_tune_ret ret = { .params = { 3, params }, .nparams = 0 };
    g_autoptr(rpcMessage) msg = rpcMessageEncode(&h, (xdrproc_t)xdr_remote_domain_get_block_io_tune_ret, &ret);
    remote_domain_get_block_io_tune_ret dec = { 0 };

    /* the first entry and the group entry, as observed */
    g_assert_nonnull(msg);
    assertBytes(msg, "00000080 20008086 00000001 000000fd 00000001 0000000a 00000000 "
                     "00000003 "
                     "0000000f \"total_bytes_sec\" _ 00000004 0000000000100000 "
                     "0000000d \"size_iops_sec\" ___ 00000004 ffffffffffffffff "
                     "0000000a \"group_name\" __ 00000007 00000003 \"grp\" _ "
                     "00000000");

    g_assert_cmpint(rpcMessageDecodePayload(msg, (xdrproc_t)xdr_remote_domain_get_block_io_tune_ret, &dec), ==, 0);
    g_assert_cmpuint(dec.params.params_len, ==, 3);
    g_assert_cmpstr(dec.params.params_val[0].field, ==, "total_bytes_sec");
    g_assert_cmpuint(dec.params.params_val[0].value.remote_typed_param_value_u.ul, ==, 1048576);
    g_assert_cmpuint(dec.params.params_val[1].value.remote_typed_param_value_u.ul, ==, G_MAXUINT64);
    g_assert_cmpint(dec.params.params_val[2].value.type, ==, REMOTE_TYPED_PARAM_STRING);
    g_assert_cmpstr(dec.params.params_val[2].value.remote_typed_param_value_u.s, ==, "grp");
    g_assert_cmpint(dec.nparams, ==, 0);
    xdr_free((xdrproc_t)xdr_remote_domain_get_block_io_tune_ret, &dec);
}

/* Every kind of typed parameter survives a round trip. */
static void
testTypedParamAllTypes(void)
{
    rpcHeader h = replyHeader(REMOTE_PROC_DOMAIN_BLOCK_STATS_FLAGS, 3);
    remote_typed_param p[7] = {
        { .field = (char *)"i", .value = { .type = 1, .remote_typed_param_value_u.i = -5 } },
        { .field = (char *)"ui", .value = { .type = 2, .remote_typed_param_value_u.ui = 4000000000u } },
        { .field = (char *)"l", .value = { .type = 3, .remote_typed_param_value_u.l = -1234567890123LL } },
        { .field = (char *)"ul", .value = { .type = 4, .remote_typed_param_value_u.ul = 1234567890123ULL } },
        { .field = (char *)"d", .value = { .type = 5, .remote_typed_param_value_u.d = 2.5 } },
        { .field = (char *)"b", .value = { .type = 6, .remote_typed_param_value_u.b = 1 } },
        { .field = (char *)"s", .value = { .type = 7, .remote_typed_param_value_u.s = (char *)"" } },
    };
    remote_domain_block_stats_flags_ret ret = { .params = { 7, p }, .nparams = 7 };
    g_autoptr(rpcMessage) msg = rpcMessageEncode(&h, (xdrproc_t)xdr_remote_domain_block_stats_flags_ret, &ret);
    remote_domain_block_stats_flags_ret dec = { 0 };
    remote_typed_param *q;

    g_assert_cmpint(rpcMessageDecodePayload(msg, (xdrproc_t)xdr_remote_domain_block_stats_flags_ret, &dec), ==, 0);
    q = dec.params.params_val;
    g_assert_cmpuint(dec.params.params_len, ==, 7);
    g_assert_cmpint(q[0].value.remote_typed_param_value_u.i, ==, -5);
    g_assert_cmpuint(q[1].value.remote_typed_param_value_u.ui, ==, 4000000000u);
    g_assert_cmpint(q[2].value.remote_typed_param_value_u.l, ==, -1234567890123LL);
    g_assert_cmpuint(q[3].value.remote_typed_param_value_u.ul, ==, 1234567890123ULL);
    g_assert_cmpfloat(q[4].value.remote_typed_param_value_u.d, ==, 2.5);
    g_assert_cmpint(q[5].value.remote_typed_param_value_u.b, ==, 1);
    g_assert_cmpstr(q[6].value.remote_typed_param_value_u.s, ==, "");
    xdr_free((xdrproc_t)xdr_remote_domain_block_stats_flags_ret, &dec);

    /* an unknown value type cannot be encoded */
    p[0].value.type = 8;
    g_assert_null(rpcMessageEncode(&h, (xdrproc_t)xdr_remote_domain_block_stats_flags_ret, &ret));
    g_assert_cmpint(utilGetError()->code, ==, IOV_ERR_RPC);
    utilResetError();
}

/* Small integers take a whole word: GET_INFO's ret is 32 bytes. */
static void
testDomainInfoWords(void)
{
    rpcHeader h = replyHeader(REMOTE_PROC_DOMAIN_GET_INFO, 1);
    remote_domain_get_info_ret ret = {
        .state = 1, .maxMem = 1048576, .memory = 524288, .nrVirtCpu = 2, .cpuTime = 5,
    };
    g_autoptr(rpcMessage) msg = rpcMessageEncode(&h, (xdrproc_t)xdr_remote_domain_get_info_ret, &ret);
    remote_domain_get_info_ret dec = { 0 };

    assertBytes(msg, "0000003c 20008086 00000001 00000010 00000001 00000001 00000000 "
                     "00000001 0000000000100000 0000000000080000 00000002 0000000000000005");
    g_assert_cmpint(rpcMessageDecodePayload(msg, (xdrproc_t)xdr_remote_domain_get_info_ret, &dec), ==, 0);
    g_assert_cmpuint(dec.state, ==, 1);
    g_assert_cmpuint(dec.nrVirtCpu, ==, 2);
    g_assert_cmpuint(dec.memory, ==, 524288);
}

/* The security model's chars travel one word each. */
static void
testSecurityModelChars(void)
{
    rpcHeader h = replyHeader(REMOTE_PROC_NODE_GET_SECURITY_MODEL, 1);
    char model[] = "none";
    char doi[] = "0";
    remote_node_get_security_model_ret ret = {
        .model = { sizeof(model), model }, .doi = { sizeof(doi), doi },
    };
    g_autoptr(rpcMessage) msg = rpcMessageEncode(&h, (xdrproc_t)xdr_remote_node_get_security_model_ret, &ret);

    assertBytes(msg, "00000040 20008086 00000001 0000007a 00000001 00000001 00000000 "
                     "00000005 0000006e 0000006f 0000006e 00000065 00000000 "
                     "00000002 00000030 00000000");
}

/* The error struct, as libvirtd 9.0 sent it for an unknown name: a
 * 200-byte packet, read back field by field. */
static void
testErrorRoundTrip(void)
{
    rpcHeader call = callHeader(REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, 6);
    iovError err = {
        .code = IOV_ERR_NO_DOMAIN,
        .domain = IOV_FROM_QEMU,
        .message = (char *)"Domain not found: no domain with matching name 'nosuch'",
        .level = IOV_ERR_ERROR,
        .str1 = (char *)"Domain not found: %s",
        .str2 = (char *)"no domain with matching name 'nosuch'",
        .str3 = NULL,
        .int1 = -1,
        .int2 = -1,
    };
    g_autoptr(rpcMessage) msg = rpcMessageEncodeError(&call, &err);
    g_autoptr(rpcMessage) back = NULL;
    remote_error rerr = { 0 };
    iovError got = { 0 };

    g_assert_nonnull(msg);
    g_assert_cmpuint(msg->len, ==, 200);
    back = messageFromBytes((guint8 *)msg->data, msg->len);
    g_assert_cmpuint(back->header.prog, ==, RPC_REMOTE_PROGRAM);
    g_assert_cmpint(back->header.proc, ==, 23);
    g_assert_cmpint(back->header.type, ==, RPC_REPLY);
    g_assert_cmpint(back->header.status, ==, RPC_ERROR);
    g_assert_cmpuint(back->header.serial, ==, 6);
    /* code, domain, then the message is present */
    assertBytes(msg, "000000c8 20008086 00000001 00000017 00000001 00000006 00000001 "
                     "0000002a 0000000a 00000001 00000037 "
                     "\"Domain not found: no domain with matching name 'nosuch'\" _ "
                     "00000002 00000000 "
                     "00000001 00000014 \"Domain not found: %s\" "
                     "00000001 00000025 \"no domain with matching name 'nosuch'\" ___ "
                     "00000000 ffffffff ffffffff 00000000");

    g_assert_cmpint(rpcMessageDecodePayload(back, (xdrproc_t)xdr_remote_error, &rerr), ==, 0);
    g_assert_null(rerr.dom);
    g_assert_null(rerr.net);
    g_assert_null(rerr.str3);
    rpcErrorFromWire(&rerr, &got);
    xdr_free((xdrproc_t)xdr_remote_error, &rerr);
    g_assert_cmpint(got.code, ==, 42);
    g_assert_cmpint(got.domain, ==, 10);
    g_assert_cmpint(got.level, ==, 2);
    g_assert_cmpstr(got.message, ==, err.message);
    g_assert_cmpstr(got.str1, ==, err.str1);
    g_assert_cmpstr(got.str2, ==, err.str2);
    g_assert_null(got.str3);
    g_assert_cmpint(got.int1, ==, -1);
    g_assert_cmpint(got.int2, ==, -1);
    iovResetError(&got);
}

/* The list of all domains: an array of domains and the count. */
static void
testListAllDomainsRoundTrip(void)
{
    rpcHeader h = replyHeader(REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS, 4);
    remote_nonnull_domain doms[2] = { demoDomain(), demoDomain() };
    remote_connect_list_all_domains_ret ret = { .domains = { 2, doms }, .ret = 2 };
    g_autoptr(rpcMessage) msg = NULL;
    remote_connect_list_all_domains_ret dec = { 0 };

    doms[1].name = (char *)"web1";
    doms[1].id = -1;
    msg = rpcMessageEncode(&h, (xdrproc_t)xdr_remote_connect_list_all_domains_ret, &ret);
    g_assert_cmpint(rpcMessageDecodePayload(msg, (xdrproc_t)xdr_remote_connect_list_all_domains_ret, &dec), ==, 0);
    g_assert_cmpuint(dec.domains.domains_len, ==, 2);
    g_assert_cmpstr(dec.domains.domains_val[1].name, ==, "web1");
    g_assert_cmpint(dec.domains.domains_val[1].id, ==, -1);
    g_assert_cmpuint(dec.ret, ==, 2);
    xdr_free((xdrproc_t)xdr_remote_connect_list_all_domains_ret, &dec);
}

/* ---- limits and malformed input ---- */

static void
testLengthCheck(void)
{
    static const struct {
        const char *word;
        ssize_t expect;
    } cases[] = {
        { "\x00\x00\x00\x1c", 28 },
        { "\x00\x00\x00\x1b", -1 },
        { "\x00\x00\x00\x00", -1 },
        { "\x00\x00\x00\x04", -1 },
        { "\x00\x01\x00\x00", 65536 },
        { "\x02\x00\x00\x04", 33554436 },
        { "\x02\x00\x00\x05", -1 },
        { "\xff\xff\xff\xff", -1 },
        { "\x80\x00\x00\x1c", -1 },
    };
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(cases); i++) {
        ssize_t got = rpcLengthCheck(cases[i].word);

        g_assert_cmpint(got, ==, cases[i].expect);
        if (got < 0) {
            g_assert_cmpint(utilGetError()->code, ==, IOV_ERR_RPC);
            g_assert_cmpint(utilGetError()->domain, ==, IOV_FROM_RPC);
            utilResetError();
        }
    }
    g_assert_cmpint(rpcLengthCheck("\x00\x00\x00\x1b"), ==, -1);
    g_assert_cmpstr(utilGetError()->message, ==, "packet length 27 is below the minimum of 28");
    g_assert_cmpint(rpcLengthCheck("\x02\x00\x00\x05"), ==, -1);
    g_assert_cmpstr(utilGetError()->message, ==, "packet length 33554437 exceeds the maximum of 33554436");
    utilResetError();
}

static void
testHeaderChecks(void)
{
    g_autoptr(GByteArray) ok = hexBytes("0000001c 20008086 00000001 00000042 00000000 00000005 00000000");
    g_autoptr(GByteArray) lying = hexBytes("00000020 20008086 00000001 00000042 00000000 00000005 00000000");
    rpcHeader h = { 0 };

    g_assert_cmpint(rpcMessageDecodeHeader((char *)ok->data, ok->len, &h), ==, 0);
    g_assert_cmpuint(h.prog, ==, 0x20008086);
    g_assert_cmpint(h.proc, ==, 66);
    g_assert_cmpuint(h.serial, ==, 5);
    g_assert_cmpint(rpcMessageDecodeHeader((char *)ok->data, 27, &h), ==, -1);
    utilResetError();
    g_assert_cmpint(rpcMessageDecodeHeader((char *)lying->data, lying->len, &h), ==, -1);
    g_assert_nonnull(strstr(utilGetError()->message, "does not match"));
    utilResetError();
}

static void
testTrailingBytesRefused(void)
{
    g_autoptr(GByteArray) bytes = hexBytes("00000028 20008086 00000001 00000042 00000001 00000000 00000000 "
                                           "00000001 00000000 00000000");
    g_autoptr(rpcMessage) msg = messageFromBytes(bytes->data, bytes->len);
    remote_auth_list_ret dec = { 0 };

    g_assert_cmpint(rpcMessageDecodePayload(msg, (xdrproc_t)xdr_remote_auth_list_ret, &dec), ==, -1);
    g_assert_cmpstr(utilGetError()->message, ==, "4 trailing bytes after the payload of procedure 66");
    g_assert_null(dec.types.types_val);
    utilResetError();

}

/* A procedure without arguments refuses a payload. */
static void
testVoidPayloadRefused(void)
{
    g_autoptr(GByteArray) bytes = hexBytes("00000020 20008086 00000001 00000002 00000000 00000000 00000000 00000000");
    g_autoptr(rpcMessage) msg = messageFromBytes(bytes->data, bytes->len);

    g_assert_cmpint(rpcMessageDecodePayload(msg, NULL, NULL), ==, -1);
    g_assert_cmpstr(utilGetError()->message, ==, "unexpected payload of 4 bytes for procedure 2");
    utilResetError();
    g_assert_cmpint(rpcMessageDecodePayload(msg, rpcRemoteProcLookup(REMOTE_PROC_CONNECT_CLOSE)->argsFilter, NULL), ==, -1);
    utilResetError();
}

/* Every truncation of a rich reply fails to decode, and frees what it had
 * decoded (run under valgrind or ASan to see the leaks it would have). */
static void
testTruncatedPayloadRefused(void)
{
    rpcHeader h = replyHeader(REMOTE_PROC_DOMAIN_GET_BLOCK_IO_TUNE, 10);
    remote_typed_param params[2] = {
        { .field = (char *)"group_name",
          .value = { .type = REMOTE_TYPED_PARAM_STRING, .remote_typed_param_value_u.s = (char *)"a-group" } },
        { .field = (char *)"total_bytes_sec",
          .value = { .type = REMOTE_TYPED_PARAM_ULLONG, .remote_typed_param_value_u.ul = 1 } },
    };
    remote_domain_get_block_io_tune_ret ret = { .params = { 2, params }, .nparams = 2 };
    g_autoptr(rpcMessage) full = rpcMessageEncode(&h, (xdrproc_t)xdr_remote_domain_get_block_io_tune_ret, &ret);
    size_t cut;

    for (cut = 28; cut < full->len; cut++) {
        g_autoptr(GByteArray) bytes = g_byte_array_new();
        g_autoptr(rpcMessage) msg = NULL;
        remote_domain_get_block_io_tune_ret dec = { 0 };
        guint32 be = GUINT32_TO_BE((guint32)cut);

        g_byte_array_append(bytes, (guint8 *)full->data, cut);
        memcpy(bytes->data, &be, 4);
        msg = messageFromBytes(bytes->data, bytes->len);
        g_assert_cmpint(rpcMessageDecodePayload(msg, (xdrproc_t)xdr_remote_domain_get_block_io_tune_ret, &dec), ==, -1);
        g_assert_cmpstr(utilGetError()->message, ==, "failed to decode the payload of procedure 253");
        g_assert_null(dec.params.params_val);
        utilResetError();
    }
}

/* Bounds of the .x are enforced on decoding: 33 params for a 32 array. */
static void
testArrayBoundRefused(void)
{
    g_autoptr(GByteArray) bytes = hexBytes("00000024 20008086 00000001 000000fd 00000001 00000000 00000000 "
                                           "00000021 00000000");
    g_autoptr(rpcMessage) msg = messageFromBytes(bytes->data, bytes->len);
    remote_domain_get_block_io_tune_ret dec = { 0 };

    g_assert_cmpint(rpcMessageDecodePayload(msg, (xdrproc_t)xdr_remote_domain_get_block_io_tune_ret, &dec), ==, -1);
    utilResetError();
}

/* A string over 4 MiB cannot be encoded, nor a packet over 32 MiB. */
static void
testEncodeLimits(void)
{
    rpcHeader h = replyHeader(REMOTE_PROC_DOMAIN_GET_XML_DESC, 1);
    g_autofree char *big = g_malloc(REMOTE_STRING_MAX + 2);
    remote_domain_get_xml_desc_ret xml = { .xml = big };
    g_autofree remote_nonnull_domain *doms = g_new0(remote_nonnull_domain, REMOTE_DOMAIN_LIST_MAX);
    remote_connect_list_all_domains_ret list = { .domains = { REMOTE_DOMAIN_LIST_MAX, doms } };
    g_autoptr(rpcMessage) ok = NULL;
    size_t i;

    memset(big, 'x', REMOTE_STRING_MAX + 1);
    big[REMOTE_STRING_MAX + 1] = '\0';
    g_assert_null(rpcMessageEncode(&h, (xdrproc_t)xdr_remote_domain_get_xml_desc_ret, &xml));
    g_assert_cmpint(utilGetError()->code, ==, IOV_ERR_RPC);
    utilResetError();

    big[REMOTE_STRING_MAX] = '\0';
    ok = rpcMessageEncode(&h, (xdrproc_t)xdr_remote_domain_get_xml_desc_ret, &xml);
    g_assert_nonnull(ok);
    g_assert_cmpuint(ok->len, ==, 28 + 4 + REMOTE_STRING_MAX);

    /* 16384 names of 2100 bytes: 35 MB */
    big[2100] = '\0';
    for (i = 0; i < REMOTE_DOMAIN_LIST_MAX; i++)
        doms[i].name = big;
    g_assert_null(rpcMessageEncode(&h, (xdrproc_t)xdr_remote_connect_list_all_domains_ret, &list));
    g_assert_nonnull(strstr(utilGetError()->message, "too large"));
    utilResetError();
}

/* ---- reading packets from a stream ---- */

/* A stream over one end of a socketpair; *peer is the other end. */
static rpcStream *
streamPair(int *peer)
{
    int sv[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
    *peer = sv[1];
    return rpcStreamNewUnix(sv[0]);
}

static void
peerSend(int fd, const void *data, size_t len)
{
    g_assert_cmpint(send(fd, data, len, MSG_NOSIGNAL), ==, (ssize_t)len);
}

/*
 * A length word alone reserves no more than RPC_PACKET_INITIAL; the
 * buffer then stays within twice what has arrived, and the packet comes
 * out whole and intact.
 */
static void
testReaderGrowsWithBytes(void)
{
    int peer;
    g_autoptr(rpcStream) s = NULL;
    rpcPacketReader r = { 0 };
    rpcHeader h = callHeader(REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, 7);
    g_autofree char *name = g_strnfill(300000, 'x');
    remote_domain_lookup_by_name_args args = { .name = name };
    remote_domain_lookup_by_name_args back = { 0 };
    g_autoptr(rpcMessage) msg = rpcMessageEncode(&h, (xdrproc_t)xdr_remote_domain_lookup_by_name_args, &args);
    g_autoptr(rpcMessage) got = NULL;
    size_t sent = 0;

    s = streamPair(&peer);
    g_assert_nonnull(msg);
    peerSend(peer, msg->data, 4);
    sent = 4;
    g_assert_cmpint(rpcPacketReaderRead(&r, s, &got), ==, RPC_READ_AGAIN);
    g_assert_cmpuint(r.bodyLen, ==, msg->len);
    g_assert_cmpuint(r.bodyAlloc, <=, RPC_PACKET_INITIAL);

    while (sent < msg->len) {
        size_t n = MIN(msg->len - sent, 7000);

        peerSend(peer, msg->data + sent, n);
        sent += n;
        if (sent < msg->len) {
            g_assert_cmpint(rpcPacketReaderRead(&r, s, &got), ==, RPC_READ_AGAIN);
            g_assert_cmpuint(r.bodyGot, ==, sent);
            g_assert_cmpuint(r.bodyAlloc, <=, 2 * sent);
        }
    }
    g_assert_cmpint(rpcPacketReaderRead(&r, s, &got), ==, RPC_READ_PACKET);
    g_assert_cmpmem(got->data, got->len, msg->data, msg->len);
    g_assert_cmpint(rpcMessageDecodeHeader(got->data, got->len, &got->header), ==, 0);
    g_assert_cmpint(rpcMessageDecodePayload(got, (xdrproc_t)xdr_remote_domain_lookup_by_name_args, &back), ==, 0);
    g_assert_cmpstr(back.name, ==, name);
    xdr_free((xdrproc_t)xdr_remote_domain_lookup_by_name_args, &back);
    g_assert_null(r.body);
    rpcPacketReaderClear(&r);
    close(peer);
}

/*
 * Two short packets sent at once come in one read: the first with the
 * second's bytes kept ahead (the socket is then empty, and the reader
 * says they are pending), the second from them without the socket; the
 * reader then knows the stream had nothing more. A third packet sent
 * later is still read.
 */
static void
testReaderReadsAhead(void)
{
    int peer;
    g_autoptr(rpcStream) s = NULL;
    rpcPacketReader r = { 0 };
    rpcHeader h1 = callHeader(REMOTE_PROC_CONNECT_GET_TYPE, 1);
    rpcHeader h2 = callHeader(REMOTE_PROC_CONNECT_GET_TYPE, 2);
    rpcHeader h3 = callHeader(REMOTE_PROC_CONNECT_GET_TYPE, 3);
    g_autoptr(rpcMessage) m1 = rpcMessageEncode(&h1, NULL, NULL);
    g_autoptr(rpcMessage) m2 = rpcMessageEncode(&h2, NULL, NULL);
    g_autoptr(rpcMessage) m3 = rpcMessageEncode(&h3, NULL, NULL);
    g_autoptr(GByteArray) both = g_byte_array_new();
    g_autoptr(rpcMessage) got1 = NULL;
    g_autoptr(rpcMessage) got2 = NULL;
    g_autoptr(rpcMessage) got3 = NULL;
    g_autoptr(rpcMessage) none = NULL;
    char c;

    s = streamPair(&peer);
    g_byte_array_append(both, (const guint8 *)m1->data, m1->len);
    g_byte_array_append(both, (const guint8 *)m2->data, m2->len);
    peerSend(peer, both->data, both->len);

    g_assert_cmpint(rpcPacketReaderRead(&r, s, &got1), ==, RPC_READ_PACKET);
    g_assert_cmpmem(got1->data, got1->len, m1->data, m1->len);
    g_assert_cmpuint(rpcPacketReaderPending(&r, s), ==, m2->len);
    g_assert_false(rpcPacketReaderDrained(&r, s));
    g_assert_cmpint(recv(s->ops->fd(s), &c, 1, MSG_DONTWAIT | MSG_PEEK), ==, -1);
    g_assert_cmpint(errno, ==, EAGAIN);

    g_assert_cmpint(rpcPacketReaderRead(&r, s, &got2), ==, RPC_READ_PACKET);
    g_assert_cmpmem(got2->data, got2->len, m2->data, m2->len);
    g_assert_cmpuint(rpcPacketReaderPending(&r, s), ==, 0);
    g_assert_true(rpcPacketReaderDrained(&r, s));
    g_assert_cmpuint(r.bytes, ==, both->len);

    g_assert_cmpint(rpcPacketReaderRead(&r, s, &none), ==, RPC_READ_AGAIN);
    g_assert_null(none);
    peerSend(peer, m3->data, m3->len);
    g_assert_cmpint(rpcPacketReaderRead(&r, s, &got3), ==, RPC_READ_PACKET);
    g_assert_cmpmem(got3->data, got3->len, m3->data, m3->len);
    rpcPacketReaderClear(&r);
    close(peer);
}

/* A packet announced over the reader's limit: only its header is read
 * and returned, decoded, so that the call can be answered. */
static void
testReaderTooLargeReadsOnlyTheHeader(void)
{
    int peer;
    g_autoptr(rpcStream) s = NULL;
    rpcPacketReader r = { .limit = RPC_LEN_LEN + RPC_READONLY_MESSAGE_MAX };
    /* 32 MiB announced: the header of a DEFINE_XML call, then 100 bytes */
    g_autoptr(GByteArray) b = hexBytes("02000004 20008086 00000001 0000000b 00000000 0000002a 00000000");
    g_autofree char *junk = g_strnfill(100, 'j');
    g_autoptr(rpcMessage) got = NULL;

    s = streamPair(&peer);
    peerSend(peer, b->data, b->len);
    peerSend(peer, junk, 100);
    g_assert_cmpint(rpcPacketReaderRead(&r, s, &got), ==, RPC_READ_TOO_LARGE);
    g_assert_cmpuint(r.bodyLen, ==, RPC_LEN_LEN + RPC_MESSAGE_MAX);
    g_assert_cmpuint(got->len, ==, RPC_LEN_LEN + RPC_HEADER_LEN);
    g_assert_cmpint(got->header.proc, ==, REMOTE_PROC_DOMAIN_DEFINE_XML);
    g_assert_cmpuint(got->header.serial, ==, 42);
    g_assert_cmpint(got->header.type, ==, RPC_CALL);
    rpcPacketReaderClear(&r);
    g_assert_cmpuint(r.limit, ==, RPC_LEN_LEN + RPC_READONLY_MESSAGE_MAX);
    close(peer);
}

/* A packet of exactly the limit is read whole; one byte more is not. */
static void
testReaderLimitIsInclusive(void)
{
    size_t limit = RPC_LEN_LEN + RPC_READONLY_MESSAGE_MAX;
    size_t sizes[2] = { limit, limit + 4 };
    rpcReadResult want[2] = { RPC_READ_PACKET, RPC_READ_TOO_LARGE };
    size_t i;

    for (i = 0; i < 2; i++) {
        int peer;
        g_autoptr(rpcStream) s = streamPair(&peer);
        rpcPacketReader r = { .limit = limit };
        rpcHeader h = callHeader(REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, 1);
        /* a string of n bytes takes 4 + n: the packet is 28 + 4 + n */
        g_autofree char *name = g_strnfill(sizes[i] - RPC_LEN_LEN - RPC_HEADER_LEN - 4, 'n');
        remote_domain_lookup_by_name_args args = { .name = name };
        g_autoptr(rpcMessage) msg = rpcMessageEncode(&h, (xdrproc_t)xdr_remote_domain_lookup_by_name_args, &args);
        g_autoptr(rpcMessage) got = NULL;

        g_assert_cmpuint(msg->len, ==, sizes[i]);
        peerSend(peer, msg->data, msg->len);
        g_assert_cmpint(rpcPacketReaderRead(&r, s, &got), ==, want[i]);
        rpcPacketReaderClear(&r);
        close(peer);
    }
}

/* ---- the read-only limit ---- */

/*
 * The largest request of read-only procedure `proc` that makes sense:
 * every string (domain name, disk, path, URI) RPC_NAME_MAX bytes long,
 * every optional one present. Encoded with the procedure's own rpcgen
 * filter, which must be the table's. 0 when this test does not know the
 * procedure: a new read-only call must be added here.
 */
static size_t
largestReadonlyRequest(const rpcProcInfo *info)
{
    g_autofree char *name = g_strnfill(RPC_NAME_MAX, 'n');
    char *namep = name;
    remote_nonnull_domain dom = { .name = name, .id = G_MAXINT32 };
    rpcHeader h = callHeader(info->proc, G_MAXUINT32);
    xdrproc_t filter = NULL;
    void *args = NULL;
    remote_connect_open_args open = { .name = &namep, .flags = 1 };
    remote_domain_get_xml_desc_args xmlDesc = { .dom = dom, .flags = ~0u };
    remote_domain_get_autostart_args autostart = { .dom = dom };
    remote_domain_get_info_args getInfo = { .dom = dom };
    remote_domain_get_os_type_args osType = { .dom = dom };
    remote_domain_lookup_by_id_args byId = { .id = G_MAXINT32 };
    remote_domain_lookup_by_name_args byName = { .name = name };
    remote_domain_lookup_by_uuid_args byUUID = { { 0 } };
    remote_connect_supports_feature_args feature = { .feature = G_MAXINT32 };
    remote_domain_block_stats_args stats = { .dom = dom, .path = name };
    remote_domain_is_active_args active = { .dom = dom };
    remote_domain_is_persistent_args persistent = { .dom = dom };
    remote_domain_has_managed_save_image_args managed = { .dom = dom, .flags = ~0u };
    remote_domain_get_state_args state = { .dom = dom, .flags = ~0u };
    remote_domain_block_stats_flags_args statsFlags = { .dom = dom, .path = name, .nparams = G_MAXINT32, .flags = ~0u };
    remote_domain_get_block_io_tune_args tune = { .dom = dom, .disk = &namep, .nparams = G_MAXINT32, .flags = ~0u };
    remote_connect_list_all_domains_args list = { .need_results = 1, .flags = ~0u };
    remote_connect_get_max_vcpus_args maxVcpus = { .type = &namep };
    remote_connect_list_domains_args listIds = { .maxids = G_MAXINT32 };
    remote_connect_list_defined_domains_args listNames = { .maxnames = G_MAXINT32 };
    remote_connect_get_sysinfo_args sysinfo = { .flags = ~0u };
    /* the per-list variant: as many domains as a read-only call carries
     * with their names at their longest, one (short names fit by the
     * dozen) */
    remote_connect_get_all_domain_stats_args allStats = {
        .doms = { .doms_len = 1, .doms_val = &dom }, .stats = ~0u, .flags = ~0u };
    remote_connect_domain_event_register_any_args evReg = { .eventID = G_MAXINT32 };
    remote_connect_domain_event_deregister_any_args evDereg = { .eventID = G_MAXINT32 };
    remote_connect_domain_event_callback_register_any_args evCbReg = { .eventID = G_MAXINT32, .dom = &dom };
    remote_connect_domain_event_callback_deregister_any_args evCbDereg = { .callbackID = G_MAXINT32 };
    remote_domain_get_messages_args messages = { .dom = dom, .flags = ~0u };
    remote_domain_get_job_info_args jobInfo = { .dom = dom };
    remote_domain_get_job_stats_args jobStats = { .dom = dom, .flags = ~0u };
    g_autoptr(rpcMessage) msg = NULL;

    iovirt_domain_get_throttle_group_args groupGet = {.dom = dom, .group = name, .flags = ~0u};
    iovirt_domain_list_throttle_groups_args groupList = {.dom = dom, .flags = ~0u};
    iovirt_domain_list_disks_args diskList = {.dom = dom, .flags = ~0u};

    /* iovirt's own program */
    if (info->prog == RPC_IOVIRT_PROGRAM) {
        h.prog = RPC_IOVIRT_PROGRAM;
        h.vers = RPC_IOVIRT_VERSION;
        switch (info->proc) {
        case IOVIRT_PROC_DOMAIN_GET_THROTTLE_GROUP:
            filter = (xdrproc_t)xdr_iovirt_domain_get_throttle_group_args;
            args = &groupGet;
            break;
        case IOVIRT_PROC_DOMAIN_LIST_THROTTLE_GROUPS:
            filter = (xdrproc_t)xdr_iovirt_domain_list_throttle_groups_args;
            args = &groupList;
            break;
        case IOVIRT_PROC_DOMAIN_LIST_DISKS:
            filter = (xdrproc_t)xdr_iovirt_domain_list_disks_args;
            args = &diskList;
            break;
        default:
            return 0;
        }
        g_assert_true(info->argsFilter == filter);
        msg = rpcMessageEncode(&h, filter, args);
        g_assert_nonnull(msg);
        return msg->len;
    }

#define CASE(proc, type, var) \
    case REMOTE_PROC_##proc: filter = (xdrproc_t)xdr_##type; args = &var; break
    switch (info->proc) {
    case REMOTE_PROC_CONNECT_CLOSE:
    case REMOTE_PROC_CONNECT_GET_TYPE:
    case REMOTE_PROC_CONNECT_GET_VERSION:
    case REMOTE_PROC_CONNECT_GET_HOSTNAME:
    case REMOTE_PROC_AUTH_LIST:
    case REMOTE_PROC_CONNECT_GET_URI:
    case REMOTE_PROC_NODE_GET_SECURITY_MODEL:
    case REMOTE_PROC_CONNECT_GET_LIB_VERSION:
    case REMOTE_PROC_CONNECT_REGISTER_CLOSE_CALLBACK:
    case REMOTE_PROC_CONNECT_UNREGISTER_CLOSE_CALLBACK:
    case REMOTE_PROC_NODE_GET_INFO:
    case REMOTE_PROC_CONNECT_GET_CAPABILITIES:
    case REMOTE_PROC_CONNECT_NUM_OF_DEFINED_DOMAINS:
    case REMOTE_PROC_CONNECT_NUM_OF_DOMAINS:
    case REMOTE_PROC_NODE_GET_FREE_MEMORY:
        g_assert_cmpuint(info->argsSize, ==, 0);
        break;
    CASE(CONNECT_OPEN, remote_connect_open_args, open);
    CASE(DOMAIN_GET_XML_DESC, remote_domain_get_xml_desc_args, xmlDesc);
    CASE(DOMAIN_GET_AUTOSTART, remote_domain_get_autostart_args, autostart);
    CASE(DOMAIN_GET_INFO, remote_domain_get_info_args, getInfo);
    CASE(DOMAIN_GET_OS_TYPE, remote_domain_get_os_type_args, osType);
    CASE(DOMAIN_LOOKUP_BY_ID, remote_domain_lookup_by_id_args, byId);
    CASE(DOMAIN_LOOKUP_BY_NAME, remote_domain_lookup_by_name_args, byName);
    CASE(DOMAIN_LOOKUP_BY_UUID, remote_domain_lookup_by_uuid_args, byUUID);
    CASE(CONNECT_SUPPORTS_FEATURE, remote_connect_supports_feature_args, feature);
    CASE(DOMAIN_BLOCK_STATS, remote_domain_block_stats_args, stats);
    CASE(DOMAIN_IS_ACTIVE, remote_domain_is_active_args, active);
    CASE(DOMAIN_IS_PERSISTENT, remote_domain_is_persistent_args, persistent);
    CASE(DOMAIN_HAS_MANAGED_SAVE_IMAGE, remote_domain_has_managed_save_image_args, managed);
    CASE(DOMAIN_GET_STATE, remote_domain_get_state_args, state);
    CASE(DOMAIN_BLOCK_STATS_FLAGS, remote_domain_block_stats_flags_args, statsFlags);
    CASE(DOMAIN_GET_BLOCK_IO_TUNE, remote_domain_get_block_io_tune_args, tune);
    CASE(CONNECT_LIST_ALL_DOMAINS, remote_connect_list_all_domains_args, list);
    CASE(CONNECT_GET_MAX_VCPUS, remote_connect_get_max_vcpus_args, maxVcpus);
    CASE(CONNECT_LIST_DOMAINS, remote_connect_list_domains_args, listIds);
    CASE(CONNECT_LIST_DEFINED_DOMAINS, remote_connect_list_defined_domains_args, listNames);
    CASE(CONNECT_GET_SYSINFO, remote_connect_get_sysinfo_args, sysinfo);
    CASE(CONNECT_GET_ALL_DOMAIN_STATS, remote_connect_get_all_domain_stats_args, allStats);
    CASE(DOMAIN_GET_MESSAGES, remote_domain_get_messages_args, messages);
    CASE(DOMAIN_GET_JOB_INFO, remote_domain_get_job_info_args, jobInfo);
    CASE(DOMAIN_GET_JOB_STATS, remote_domain_get_job_stats_args, jobStats);
    CASE(CONNECT_DOMAIN_EVENT_REGISTER_ANY, remote_connect_domain_event_register_any_args, evReg);
    CASE(CONNECT_DOMAIN_EVENT_DEREGISTER_ANY, remote_connect_domain_event_deregister_any_args, evDereg);
    CASE(CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, remote_connect_domain_event_callback_register_any_args, evCbReg);
    CASE(CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, remote_connect_domain_event_callback_deregister_any_args, evCbDereg);
    default:
        return 0;
    }
#undef CASE
    if (filter)
        g_assert_true(info->argsFilter == filter);
    msg = rpcMessageEncode(&h, filter, args);
    g_assert_nonnull(msg);
    return msg->len;
}

/*
 * Every procedure a read-only connection may call fits the read-only
 * limit with room to spare, its strings at their longest; the largest
 * is the one rpc.h sizes the limit from.
 */
static void
testEveryReadonlyCallFits(void)
{
    size_t largest = 0;
    int proc, n = 0;

    for (proc = 1; proc < 2000; proc++) {
        const rpcProcInfo *info = rpcRemoteProcLookup(proc);
        size_t len;

        if (!info || !info->readonlyOk)
            continue;
        len = largestReadonlyRequest(info);
        g_test_message("%s: %zu bytes", info->name, len);
        if (len == 0)
            g_error("read-only procedure %s has no largest request in this test: add it", info->name);
        g_assert_cmpuint(len, <=, RPC_LEN_LEN + RPC_READONLY_MESSAGE_MAX);
        largest = MAX(largest, len);
        n++;
    }
    g_assert_cmpint(n, >=, 20);
    /* and those of iovirt's own program */
    for (proc = 1; proc < 100; proc++) {
        const rpcProcInfo *info = rpcProcLookup(RPC_IOVIRT_PROGRAM, proc);
        size_t len;

        if (!info || !info->readonlyOk)
            continue;
        len = largestReadonlyRequest(info);
        g_test_message("%s: %zu bytes", info->name, len);
        if (len == 0)
            g_error("read-only procedure %s has no largest request in this test: add it",
                    info->name);
        g_assert_cmpuint(len, <=, largest);
        n++;
    }
    /* DOMAIN_GET_BLOCK_IO_TUNE: a body of 8256 bytes, as rpc.h says */
    g_assert_cmpuint(largest, ==, RPC_LEN_LEN + 8256);
    /* and the cap leaves room for calls to come */
    g_assert_cmpuint(RPC_READONLY_MESSAGE_MAX - (largest - RPC_LEN_LEN), >=, 8000);
}

/* ---- the procedure table ---- */

static void
testProcTable(void)
{
    static const struct {
        int proc;
        const char *name;
        bool readonlyOk;
    } expect[] = {
        { 1, "CONNECT_OPEN", true }, { 2, "CONNECT_CLOSE", true },
        { 3, "CONNECT_GET_TYPE", true }, { 4, "CONNECT_GET_VERSION", true },
        { 9, "DOMAIN_CREATE", false }, { 11, "DOMAIN_DEFINE_XML", false },
        { 12, "DOMAIN_DESTROY", false }, { 14, "DOMAIN_GET_XML_DESC", true },
        { 15, "DOMAIN_GET_AUTOSTART", true }, { 16, "DOMAIN_GET_INFO", true },
        { 19, "DOMAIN_GET_OS_TYPE", true }, { 22, "DOMAIN_LOOKUP_BY_ID", true },
        { 23, "DOMAIN_LOOKUP_BY_NAME", true }, { 24, "DOMAIN_LOOKUP_BY_UUID", true },
        { 27, "DOMAIN_REBOOT", false }, { 28, "DOMAIN_RESUME", false },
        { 33, "DOMAIN_SHUTDOWN", false }, { 34, "DOMAIN_SUSPEND", false },
        { 35, "DOMAIN_UNDEFINE", false }, { 59, "CONNECT_GET_HOSTNAME", true },
        { 60, "CONNECT_SUPPORTS_FEATURE", true }, { 64, "DOMAIN_BLOCK_STATS", true },
        { 66, "AUTH_LIST", true }, { 110, "CONNECT_GET_URI", true },
        { 122, "NODE_GET_SECURITY_MODEL", true }, { 150, "DOMAIN_IS_ACTIVE", true },
        { 151, "DOMAIN_IS_PERSISTENT", true }, { 157, "CONNECT_GET_LIB_VERSION", true },
        { 167, "CONNECT_DOMAIN_EVENT_REGISTER_ANY", true }, { 168, "CONNECT_DOMAIN_EVENT_DEREGISTER_ANY", true },
        { 183, "DOMAIN_HAS_MANAGED_SAVE_IMAGE", true }, { 196, "DOMAIN_CREATE_WITH_FLAGS", false },
        { 212, "DOMAIN_GET_STATE", true }, { 231, "DOMAIN_UNDEFINE_FLAGS", false },
        { 234, "DOMAIN_DESTROY_FLAGS", false }, { 243, "DOMAIN_BLOCK_STATS_FLAGS", true },
        { 252, "DOMAIN_SET_BLOCK_IO_TUNE", false }, { 253, "DOMAIN_GET_BLOCK_IO_TUNE", true },
        { 258, "DOMAIN_SHUTDOWN_FLAGS", false }, { 273, "CONNECT_LIST_ALL_DOMAINS", true },
        { 316, "CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY", true },
        { 317, "CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY", true },
        { 350, "DOMAIN_DEFINE_XML_FLAGS", false }, { 360, "CONNECT_REGISTER_CLOSE_CALLBACK", true },
        { 361, "CONNECT_UNREGISTER_CLOSE_CALLBACK", true },
        { 5, "CONNECT_GET_MAX_VCPUS", true }, { 6, "NODE_GET_INFO", true },
        { 7, "CONNECT_GET_CAPABILITIES", true }, { 21, "CONNECT_LIST_DEFINED_DOMAINS", true },
        { 25, "CONNECT_NUM_OF_DEFINED_DOMAINS", true }, { 29, "DOMAIN_SET_AUTOSTART", false },
        { 37, "CONNECT_LIST_DOMAINS", true }, { 51, "CONNECT_NUM_OF_DOMAINS", true },
        { 102, "NODE_GET_FREE_MEMORY", true }, { 203, "CONNECT_GET_SYSINFO", true },
        { 344, "CONNECT_GET_ALL_DOMAIN_STATS", true },
        { 8, "DOMAIN_ATTACH_DEVICE", false }, { 13, "DOMAIN_DETACH_DEVICE", false },
        { 160, "DOMAIN_ATTACH_DEVICE_FLAGS", false }, { 161, "DOMAIN_DETACH_DEVICE_FLAGS", false },
        { 174, "DOMAIN_UPDATE_DEVICE_FLAGS", false }, { 392, "DOMAIN_DETACH_DEVICE_ALIAS", false },
        { 201, "DOMAIN_OPEN_CONSOLE", false },
        { 426, "DOMAIN_GET_MESSAGES", true },
        { 163, "DOMAIN_GET_JOB_INFO", true }, { 164, "DOMAIN_ABORT_JOB", false },
        { 298, "DOMAIN_GET_JOB_STATS", true },
        { 302, "DOMAIN_MIGRATE_BEGIN3_PARAMS", false }, { 303, "DOMAIN_MIGRATE_PREPARE3_PARAMS", false },
        { 305, "DOMAIN_MIGRATE_PERFORM3_PARAMS", false }, { 306, "DOMAIN_MIGRATE_FINISH3_PARAMS", false },
        { 307, "DOMAIN_MIGRATE_CONFIRM3_PARAMS", false },
    };
    size_t i;
    int proc, known = 0;

    for (i = 0; i < G_N_ELEMENTS(expect); i++) {
        const rpcProcInfo *info = rpcRemoteProcLookup(expect[i].proc);

        g_assert_nonnull(info);
        g_assert_cmpint(info->proc, ==, expect[i].proc);
        g_assert_cmpstr(info->name, ==, expect[i].name);
        g_assert_true(info->readonlyOk == expect[i].readonlyOk);
        g_assert_nonnull(info->argsFilter);
        g_assert_nonnull(info->retFilter);
    }
    for (proc = -5; proc < 2000; proc++) {
        if (rpcRemoteProcLookup(proc))
            known++;
    }
    g_assert_cmpint(known, ==, G_N_ELEMENTS(expect));
    g_assert_null(rpcRemoteProcLookup(G_MININT32));
    g_assert_null(rpcRemoteProcLookup(G_MAXINT32));
    /* the event messages are no calls, and are found as messages */
    g_assert_null(rpcRemoteProcLookup(REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE));
    g_assert_cmpuint(rpcRemoteMsgLookup(318)->argsSize, ==, sizeof(remote_domain_event_callback_lifecycle_msg));
    g_assert_cmpuint(rpcRemoteMsgLookup(346)->argsSize, ==, sizeof(remote_domain_event_callback_tunable_msg));
    g_assert_cmpuint(rpcRemoteMsgLookup(107)->argsSize, ==, sizeof(remote_domain_event_lifecycle_msg));
    g_assert_null(rpcRemoteMsgLookup(316));

    /* sizes and filters agree with the structs */
    g_assert_cmpuint(rpcRemoteProcLookup(252)->argsSize, ==, sizeof(remote_domain_set_block_io_tune_args));
    g_assert_cmpuint(rpcRemoteProcLookup(252)->retSize, ==, 0);
    g_assert_cmpuint(rpcRemoteProcLookup(253)->retSize, ==, sizeof(remote_domain_get_block_io_tune_ret));
    g_assert_cmpuint(rpcRemoteProcLookup(66)->argsSize, ==, 0);
    g_assert_true(rpcRemoteProcLookup(23)->retFilter == (xdrproc_t)xdr_remote_domain_lookup_by_name_ret);
}

/* Decoding a call with the table's filter, as the daemon will. */
static void
testDecodeWithTable(void)
{
    rpcHeader h = callHeader(REMOTE_PROC_CONNECT_SUPPORTS_FEATURE, 1);
    remote_connect_supports_feature_args args = { .feature = 10 };
    g_autoptr(rpcMessage) msg = rpcMessageEncode(&h, (xdrproc_t)xdr_remote_connect_supports_feature_args, &args);
    const rpcProcInfo *info = rpcRemoteProcLookup(msg->header.proc);
    g_autofree void *out = g_malloc0(info->argsSize);

    assertBytes(msg, "00000020 20008086 00000001 0000003c 00000000 00000001 00000000 0000000a");
    g_assert_cmpint(rpcMessageDecodePayload(msg, info->argsFilter, out), ==, 0);
    g_assert_cmpint(((remote_connect_supports_feature_args *)out)->feature, ==, 10);
    xdr_free(info->argsFilter, out);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/rpc-packet/bytes/auth-list-call", testAuthListCall);
    g_test_add_func("/rpc-packet/bytes/auth-list-reply", testAuthListReply);
    g_test_add_func("/rpc-packet/bytes/connect-open-call", testConnectOpenCall);
    g_test_add_func("/rpc-packet/bytes/connect-open-readonly-no-name", testConnectOpenReadonlyNoName);
    g_test_add_func("/rpc-packet/bytes/lookup-by-name-reply", testLookupByNameReply);
    g_test_add_func("/rpc-packet/bytes/get-block-io-tune-count-query", testGetBlockIoTuneCountQuery);
    g_test_add_func("/rpc-packet/bytes/get-block-io-tune-fetch", testGetBlockIoTuneFetch);
    g_test_add_func("/rpc-packet/bytes/set-block-io-tune-104-bytes", testSetBlockIoTune);
    g_test_add_func("/rpc-packet/bytes/keepalive-ping-pong", testKeepalivePing);
    g_test_add_func("/rpc-packet/bytes/domain-info-small-ints-take-a-word", testDomainInfoWords);
    g_test_add_func("/rpc-packet/bytes/security-model-chars-take-a-word", testSecurityModelChars);
    g_test_add_func("/rpc-packet/bytes/error-as-libvirtd-sends-it", testErrorRoundTrip);
    g_test_add_func("/rpc-packet/round-trip/typed-params-ullong-string", testTypedParamsRoundTrip);
    g_test_add_func("/rpc-packet/round-trip/typed-params-all-types", testTypedParamAllTypes);
    g_test_add_func("/rpc-packet/round-trip/list-all-domains", testListAllDomainsRoundTrip);
    g_test_add_func("/rpc-packet/limits/length-word", testLengthCheck);
    g_test_add_func("/rpc-packet/limits/header", testHeaderChecks);
    g_test_add_func("/rpc-packet/limits/trailing-bytes-refused", testTrailingBytesRefused);
    g_test_add_func("/rpc-packet/limits/void-payload-refused", testVoidPayloadRefused);
    g_test_add_func("/rpc-packet/limits/truncated-payload-refused", testTruncatedPayloadRefused);
    g_test_add_func("/rpc-packet/limits/array-bound-refused", testArrayBoundRefused);
    g_test_add_func("/rpc-packet/limits/encode-limits", testEncodeLimits);
    g_test_add_func("/rpc-packet/procs/table", testProcTable);
    g_test_add_func("/rpc-packet/procs/decode-with-table", testDecodeWithTable);
    g_test_add_func("/rpc-packet/reader/grows-with-the-bytes", testReaderGrowsWithBytes);
    g_test_add_func("/rpc-packet/reader/reads-ahead", testReaderReadsAhead);
    g_test_add_func("/rpc-packet/reader/too-large-reads-only-the-header", testReaderTooLargeReadsOnlyTheHeader);
    g_test_add_func("/rpc-packet/reader/limit-is-inclusive", testReaderLimitIsInclusive);
    g_test_add_func("/rpc-packet/readonly/every-readonly-call-fits", testEveryReadonlyCallFits);
    return g_test_run();
}
