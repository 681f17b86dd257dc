/*
 * qemu_interface.c: the host side of a domain's network interfaces
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>

#include "qemu_interface.h"
#include "util/error.h"
#include "util/log.h"

#define IOV_FROM_THIS IOV_FROM_QEMU

/* Whether /sys/class/net/NAME/SUB exists. */
static bool
sysNetHas(const char *name, const char *sub)
{
    g_autofree char *path = g_build_filename("/sys/class/net", name, sub, NULL);

    return g_file_test(path, G_FILE_TEST_EXISTS);
}

/* Open /dev/net/tun attached to tap `name` (created when absent). */
static int
tapOpen(const char *name)
{
    struct ifreq ifr;
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

    if (fd < 0)
        return -1;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    g_strlcpy(ifr.ifr_name, name, sizeof(ifr.ifr_name));
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int saved = errno;

        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

static void
tapDelete(const char *name)
{
    int fd = tapOpen(name);

    if (fd < 0 || ioctl(fd, TUNSETPERSIST, 0) < 0)
        logWarn("cannot delete the tap '%s': %s", name, g_strerror(errno));
    if (fd >= 0)
        close(fd);
}

/* Make the persistent tap `name`, enslave it to `bridge` and bring it up. */
static int
tapCreate(size_t idx, const char *name, const char *bridge)
{
    struct ifreq ifr;
    int fd, sock = -1;

    if (sysNetHas(name, NULL)) {
        reportError(
            IOV_ERR_CONFIG_UNSUPPORTED,
            "interface %zu: device '%s' exists already (a bridge interface makes its own tap)", idx,
            name);
        return -1;
    }
    if ((fd = tapOpen(name)) < 0) {
        reportSystemError(errno, "interface %zu: cannot create the tap '%s'", idx, name);
        return -1;
    }
    if (ioctl(fd, TUNSETPERSIST, 1) < 0) {
        reportSystemError(errno, "interface %zu: cannot keep the tap '%s'", idx, name);
        close(fd);
        return -1;
    }
    close(fd);

    sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    memset(&ifr, 0, sizeof(ifr));
    g_strlcpy(ifr.ifr_name, name, sizeof(ifr.ifr_name));
    if (sock < 0 || ioctl(sock, SIOCGIFINDEX, &ifr) < 0) {
        reportSystemError(errno, "interface %zu: cannot find the tap '%s'", idx, name);
        goto error;
    }
    g_strlcpy(ifr.ifr_name, bridge, sizeof(ifr.ifr_name));
    if (ioctl(sock, SIOCBRADDIF, &ifr) < 0) {
        reportSystemError(errno, "interface %zu: cannot add the tap '%s' to bridge '%s'", idx, name,
                          bridge);
        goto error;
    }
    memset(&ifr, 0, sizeof(ifr));
    g_strlcpy(ifr.ifr_name, name, sizeof(ifr.ifr_name));
    if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0 ||
        (ifr.ifr_flags |= IFF_UP, ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)) {
        reportSystemError(errno, "interface %zu: cannot bring the tap '%s' up", idx, name);
        goto error;
    }
    close(sock);
    return 0;

error:
    if (sock >= 0)
        close(sock);
    tapDelete(name);
    return -1;
}

/* Delete the taps of the bridge interfaces among the first `count`. */
static void
cleanupFirst(const domainDef *live, size_t count)
{
    size_t i;

    for (i = 0; i < count; i++) {
        const domainNetDef *n = live->nets[i];

        if (n->type == NET_TYPE_BRIDGE && n->ifname && sysNetHas(n->ifname, "tun_flags"))
            tapDelete(n->ifname);
    }
}

int
qemuInterfacePrepare(domainDef *live, int id, bool privileged)
{
    size_t i;

    for (i = 0; i < live->nnets; i++) {
        domainNetDef *n = live->nets[i];

        if (n->type == NET_TYPE_ETHERNET) {
            if (!sysNetHas(n->ifname, "tun_flags")) {
                reportError(
                    IOV_ERR_CONFIG_UNSUPPORTED,
                    "interface %zu: tap device '%s' does not exist (an ethernet interface uses an existing tap)",
                    i + 1, n->ifname);
                goto error;
            }
        } else if (n->type == NET_TYPE_BRIDGE) {
            if (!sysNetHas(n->bridge, "bridge")) {
                reportError(IOV_ERR_CONFIG_UNSUPPORTED, "interface %zu: bridge '%s' does not exist",
                            i + 1, n->bridge);
                goto error;
            }
            if (!privileged) {
                reportError(
                    IOV_ERR_CONFIG_UNSUPPORTED,
                    "interface %zu: a bridge interface needs the system daemon (iovirt:///system): a session daemon would need qemu-bridge-helper, which Debian does not install setuid",
                    i + 1);
                goto error;
            }
            if (!n->ifname)
                n->ifname = g_strdup_printf("iovt%d.%zu", id, i);
            if (tapCreate(i + 1, n->ifname, n->bridge) < 0)
                goto error;
        }
    }
    return 0;

error:
    /* only the taps made before interface i are ours */
    cleanupFirst(live, i);
    return -1;
}

void
qemuInterfaceCleanup(const domainDef *live)
{
    if (live)
        cleanupFirst(live, live->nnets);
}
