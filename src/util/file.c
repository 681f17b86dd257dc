/*
 * file.c: atomic writes and bounded reads
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "file.h"

#define IOV_FROM_THIS IOV_FROM_NONE

static int
writeAll(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static int
writeFile(const char *path, const char *data, size_t len, mode_t mode, bool durable)
{
    g_autofree char *tmp = g_strdup_printf("%s.XXXXXX", path);
    g_autofree char *dir = g_path_get_dirname(path);
    int fd, dfd;

    fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, (int)mode);
    if (fd < 0) {
        reportSystemError(errno, "cannot create a temporary file for '%s'", path);
        return -1;
    }
    if (fchmod(fd, mode) < 0 || writeAll(fd, data, len) < 0 ||
        (durable && fsync(fd) < 0)) {
        int saved = errno;

        close(fd);
        unlink(tmp);
        reportSystemError(saved, "cannot write '%s'", tmp);
        return -1;
    }
    if (close(fd) < 0) {
        int saved = errno;

        unlink(tmp);
        reportSystemError(saved, "cannot write '%s'", tmp);
        return -1;
    }
    if (rename(tmp, path) < 0) {
        int saved = errno;

        unlink(tmp);
        reportSystemError(saved, "cannot rename '%s' to '%s'", tmp, path);
        return -1;
    }
    if (!durable)
        return 0;
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

int
utilWriteFileAtomic(const char *path, const char *data, size_t len, mode_t mode)
{
    return writeFile(path, data, len, mode, true);
}

int
utilWriteFileReplace(const char *path, const char *data, size_t len, mode_t mode)
{
    return writeFile(path, data, len, mode, false);
}

int
utilReadFile(const char *path, size_t maxlen, char **data)
{
    g_autofree char *buf = NULL;
    struct stat st;
    size_t used = 0, cap;
    int fd;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        reportSystemError(errno, "cannot open '%s'", path);
        return -1;
    }
    cap = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? (size_t)st.st_size + 1
                                                       : 4096;
    if (cap > maxlen + 1)
        cap = maxlen + 1;
    buf = g_malloc(cap + 1);
    for (;;) {
        ssize_t n;

        if (used == cap) {
            if (cap > maxlen)
                break;
            cap = MIN(cap * 2, maxlen + 1);
            buf = g_realloc(buf, cap + 1);
        }
        n = read(fd, buf + used, cap - used);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            reportSystemError(errno, "cannot read '%s'", path);
            close(fd);
            return -1;
        }
        if (n == 0)
            break;
        used += (size_t)n;
    }
    close(fd);
    if (used > maxlen) {
        reportError(IOV_ERR_INVALID_ARG, "file '%s' is larger than %zu bytes", path, maxlen);
        return -1;
    }
    buf[used] = '\0';
    *data = g_steal_pointer(&buf);
    return 0;
}

int
utilMakeDir(const char *path, mode_t mode)
{
    if (g_mkdir_with_parents(path, (int)mode) < 0) {
        reportSystemError(errno, "cannot create directory '%s'", path);
        return -1;
    }
    return 0;
}
