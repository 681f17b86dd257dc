/*
 * log.h: the daemon's log
 *
 * One line a message, "TIME LEVEL: text", to stderr or a file. Messages
 * below the configured level are dropped cheaply.
 */
#pragma once

#include <glib.h>

typedef enum {
    UTIL_LOG_DEBUG = 0,
    UTIL_LOG_INFO,
    UTIL_LOG_WARN,
    UTIL_LOG_ERROR,
    UTIL_LOG_LAST
} utilLogLevel;

/* utilLogSetup: log messages at `level` and above to `path` (appended),
 * or to stderr when `path` is NULL. Returns -1 with an error when the
 * file cannot be opened. */
int utilLogSetup(int level, const char *path);

/* utilLogLevelFromString: "debug", "info", "warn"/"warning", "error", or
 * a digit 0-3; -1 when unknown. */
int utilLogLevelFromString(const char *s);

void utilLog(int level, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

#define logDebug(...) utilLog(UTIL_LOG_DEBUG, __VA_ARGS__)
#define logInfo(...) utilLog(UTIL_LOG_INFO, __VA_ARGS__)
#define logWarn(...) utilLog(UTIL_LOG_WARN, __VA_ARGS__)
#define logError(...) utilLog(UTIL_LOG_ERROR, __VA_ARGS__)

/* utilTimestamp: "YYYY-MM-DD HH:MM:SS.mmm" local time, new string. */
char *utilTimestamp(void);
