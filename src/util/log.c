/*
 * log.c: the daemon's log
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "log.h"

#define IOV_FROM_THIS IOV_FROM_NONE

static int logLevel = UTIL_LOG_WARN;
static int logFd = STDERR_FILENO;
static GMutex logLock;

static const char *const levelNames[UTIL_LOG_LAST] = {"debug", "info", "warning", "error"};

int
utilLogSetup(int level, const char *path)
{
    int fd = STDERR_FILENO;

    if (path) {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0) {
            reportSystemError(errno, "cannot open log file '%s'", path);
            return -1;
        }
    }
    g_mutex_lock(&logLock);
    if (logFd != STDERR_FILENO)
        close(logFd);
    logFd = fd;
    logLevel = level;
    g_mutex_unlock(&logLock);
    return 0;
}

int
utilLogLevelFromString(const char *s)
{
    int i;

    if (!s)
        return -1;
    if (s[0] >= '0' && s[0] <= '3' && s[1] == '\0')
        return s[0] - '0';
    if (strcmp(s, "warn") == 0)
        return UTIL_LOG_WARN;
    for (i = 0; i < UTIL_LOG_LAST; i++) {
        if (strcmp(s, levelNames[i]) == 0)
            return i;
    }
    return -1;
}

char *
utilTimestamp(void)
{
    g_autoptr(GDateTime) now = g_date_time_new_now_local();
    g_autofree char *base = g_date_time_format(now, "%Y-%m-%d %H:%M:%S");

    return g_strdup_printf("%s.%03d", base, g_date_time_get_microsecond(now) / 1000);
}

void
utilLog(int level, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    g_autofree char *line = NULL;
    g_autofree char *ts = NULL;
    va_list ap;
    ssize_t unused;

    if (level < logLevel || level < 0 || level >= UTIL_LOG_LAST)
        return;
    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    ts = utilTimestamp();
    line = g_strdup_printf("%s %d %s: %s\n", ts, (int)getpid(), levelNames[level], msg);
    g_mutex_lock(&logLock);
    unused = write(logFd, line, strlen(line));
    g_mutex_unlock(&logLock);
    (void)unused;
}
