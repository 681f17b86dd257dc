/*
 * fuzz-dispatch: libFuzzer target for calls that reach the daemon's
 * handlers and the real QEMU driver
 *
 * The input is one call packet of the remote program, as a client sends
 * it (the seeds are tests/fuzz/corpus/rpc), preceded by one byte that
 * picks the connection: bit 0 read-only, bit 1 opened with a qemu:// name
 * (a libvirt client). It goes through daemonDispatchMessage: decoding,
 * the access checks, the handler, the driver, the encoded reply. The
 * driver's guests run fake-qemu (tests/daemon/fake-qemu.c), so a set of
 * limits travels down to a QMP qom-set and back.
 *
 * The fixture is domain 'demo', with the uuid the seeds name, running
 * with one disk vda; when an input stopped or undefined it, the next one
 * finds it defined and running again. What every input must give: a
 * reply, and for a failure an error with a message of its own (never the
 * generic one the daemon sends when a handler failed without saying why). Leaks and memory errors are the sanitizers'.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/dispatch.h"
#include "rpc/rpc.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static const unsigned char demoUUID[16] = {0xc7, 0xa5, 0xfd, 0xbd, 0xcd, 0xaf, 0x9e, 0x1c,
                                           0x28, 0x2a, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66};

static const char demoXML[] =
    "<domain type='qemu'><name>demo</name><uuid>c7a5fdbd-cdaf-9e1c-282a-112233445566</uuid>"
    "<memory unit='MiB'>64</memory><vcpu>1</vcpu>"
    "<os><type>hvm</type><kernel>/nonexistent/kernel</kernel></os><devices>"
    "<disk type='file'><source file='/nonexistent/demo.img'/><target dev='vda'/>"
    "<iothrottle bps_rd='1048576'/></disk>"
    "<disk type='file'><source file='/nonexistent/demo2.img'/><target dev='vdb'/></disk>"
    "</devices></domain>";

static char *topDir;
static qemuDriver *driver;
static qemuDriverConfig cfg; /* the driver copies it; kept for the leak checker */

/* 'demo' defined and running, whatever the last input did. */
static void
ensureFixture(void)
{
    qemuDomainIdent ident = {0};
    int active = qemuDriverIsActive(driver, demoUUID);

    if (active < 0) {
        utilResetError();
        if (qemuDriverDefineXML(driver, demoXML, false, &ident) < 0)
            abort();
        qemuDomainIdentClear(&ident);
        active = 0;
    }
    if (qemuDriverIsPersistent(driver, demoUUID) == 0 &&
        qemuDriverDefineXML(driver, demoXML, false, &ident) == 0)
        qemuDomainIdentClear(&ident);
    if (!active && qemuDriverCreate(driver, demoUUID, 0, NULL) < 0) {
        fprintf(stderr, "fuzz-dispatch: cannot start the fixture: %s\n", iovGetLastErrorMessage());
        abort();
    }
    utilResetError();
}

int
LLVMFuzzerInitialize(int *argc G_GNUC_UNUSED, char ***argv G_GNUC_UNUSED)
{
    const char *bin = g_getenv("FAKE_QEMU");

    /* the guests end with this process, however it ends (libFuzzer runs
     * no exit handlers): spawns happen on the fuzzing thread, which lives
     * as long as the process; run-fuzzer.sh removes the directory */
    g_setenv("FAKE_QEMU_DIE_WITH_PARENT", "1", TRUE);
    topDir = g_dir_make_tmp("iovirt-fuzz-XXXXXX", NULL);
    if (!topDir)
        abort();
    cfg.configDir = g_build_filename(topDir, "config", NULL);
    cfg.stateDir = g_build_filename(topDir, "run", NULL);
    cfg.logDir = g_build_filename(topDir, "log", NULL);
    cfg.qemuBinary = g_strdup(bin && *bin ? bin : FAKE_QEMU_PATH);
    cfg.monitorTimeoutMs = 5000;
    cfg.jobTimeoutMs = 5000;
    driver = qemuDriverNew(&cfg);
    if (!driver)
        abort();
    ensureFixture();
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    daemonState d = {.driver = driver, .system = false};
    daemonConn c = {.open = true};
    rpcMessage msg = {0};
    rpcMessage *reply;
    guint32 be;

    if (size < 1 + RPC_LEN_LEN || size - 1 > RPC_MESSAGE_MAX + RPC_LEN_LEN)
        return 0;
    c.readonly = data[0] & 1;
    c.libvirt = (data[0] & 2) != 0;
    data++;
    size--;

    msg.len = size;
    msg.data = g_memdup2(data, size);
    be = GUINT32_TO_BE((guint32)size);
    memcpy(msg.data, &be, sizeof(be));
    if (rpcMessageDecodeHeader(msg.data, msg.len, &msg.header) < 0 ||
        !rpcProgramKnown(msg.header.prog, msg.header.vers) || msg.header.type != RPC_CALL) {
        utilResetError();
        g_free(msg.data);
        return 0;
    }

    ensureFixture();
    reply = daemonDispatchMessage(&d, &c, &msg);
    if (!reply)
        abort();
    /* the reply answers this call, and a failure says why */
    if (reply->header.type != RPC_REPLY || reply->header.serial != msg.header.serial ||
        reply->header.proc != msg.header.proc)
        abort();
    if (reply->header.status == RPC_ERROR) {
        remote_error rerr;

        memset(&rerr, 0, sizeof(rerr));
        if (rpcMessageDecodePayload(reply, (xdrproc_t)xdr_remote_error, &rerr) < 0)
            abort();
        if (!rerr.message || !*rerr.message || !**rerr.message ||
            strcmp(*rerr.message, "Library function returned error but did not set virError") == 0)
            abort();
        xdr_free((xdrproc_t)xdr_remote_error, (char *)&rerr);
    }
    rpcMessageFree(reply);
    g_free(msg.data);
    utilResetError();
    return 0;
}
