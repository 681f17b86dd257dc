/*
 * testqemu.h: helpers for the tests that boot the test guest
 *
 * The test guest (tests/guest/) runs iovprobe from its kernel command line
 * and prints its measurements on the serial port, which these helpers read
 * from a file while the guest runs.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <glib.h>

/* One per-second measurement of iovprobe. */
typedef struct {
    int job;
    int sec;
    double dt;
    guint64 bytes;
    guint64 ops;
    gint64 seenAt; /* monotonic time (us) at which the test read the line */
} testSample;

/* A temporary directory for one test program, removed at exit; every
 * process registered with testKillAtExit is killed at exit and on a
 * crash or failed assertion. */
const char *testTmpDir(void);

/* testKillAtExit: remember `pid` (a QEMU, nbdkit, nginx) to kill. */
void testKillAtExit(pid_t pid);
void testForgetPid(pid_t pid);

/* Kernel and initramfs of the test guest (built by meson). */
const char *testGuestKernel(void);
const char *testGuestInitrd(void);

/* A sparse file of `size` bytes at `path`, filled with a pattern in its
 * first `filled` bytes (holes read fast and are not what we measure). */
void testMakeImage(const char *path, guint64 size, guint64 filled);

/* The XML of a TCG guest `name` with the test kernel, the probe jobs
 * `probe` (iov.probe=), `after` (poweroff|idle|reboot), serial to
 * `serial`, and `disks` (the <disk> elements). New string. */
char *testGuestXML(const char *name, const char *probe, const char *after, const char *serial,
                   const char *disks);

/* A serial log being followed. */
typedef struct {
    char *path;
    goffset offset;   /* bytes consumed */
    GString *partial; /* an unfinished last line */
    GPtrArray *lines; /* every complete line so far */
    GArray *samples;  /* testSample, every IOVPROBE-SAMPLE so far */
} testSerial;

testSerial *testSerialNew(const char *path);
void testSerialFree(testSerial *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(testSerial, testSerialFree)

/* Read what is new; returns the number of new complete lines. */
int testSerialPoll(testSerial *s);

/* Wait until a line starting with `prefix` appears at or after line
 * index `from` (or the timeout): its index, or -1. */
int testSerialWaitLine(testSerial *s, const char *prefix, guint from, int timeoutMs);

/* Wait until job `job` has reported sample `sec`: true when it did. */
bool testSerialWaitSample(testSerial *s, int job, int sec, int timeoutMs);

/* The average rate (bytes or ops per second) of job `job` over its
 * samples with sec in [first, last] (last < 0: to the end). */
double testRateBytes(testSerial *s, int job, int first, int last);
double testRateOps(testSerial *s, int job, int first, int last);

/* Assert `rate` is within -15 % / +10 % of `limit`, naming `what`. */
void testAssertRate(const char *what, double rate, double limit);

/* testStartProcess: run argv in the background (stdout/stderr to
 * `logPath`), registered for killing; returns its pid. */
pid_t testStartProcess(const char *const *argv, const char *logPath);

/* testWaitPath: wait until `path` exists. */
bool testWaitPath(const char *path, int timeoutMs);

/* testPercentile: the `p` quantile (0 to 1) of the `n` values of `v`,
 * which it sorts. For the benches. */
double testPercentile(double *v, int n, double p);

/* testFreePort: a free TCP port on 127.0.0.1. */
int testFreePort(void);

/* testWaitPort: wait until something accepts connections on
 * 127.0.0.1:`port`; false after `timeoutMs`. */
bool testWaitPort(int port, int timeoutMs);

/* testWaitFileContains: wait until `path` contains `text` after byte
 * `from`; false after `timeoutMs`. */
bool testWaitFileContains(const char *path, const char *text, goffset from, int timeoutMs);

/* testProcessAlive: whether `pid` runs (zombies count as dead). */
bool testProcessAlive(pid_t pid);

/* A session iovirtd in its own directory under the test's temp dir. */
typedef struct {
    char *dir;      /* its XDG_RUNTIME_DIR / XDG_CONFIG_HOME live here */
    char *sock;     /* read-write socket */
    char *sockRO;   /* read-only socket */
    char *uri;      /* iovirt+unix:///session?socket=... */
    char *uriRO;
    char *logFile;
    char *stateDir; /* guest status files and pidfiles */
    pid_t pid;
    int status; /* how it ended (waitpid), after testDaemonStop; -1 unknown */
} testDaemon;

/* testDaemonStart: start (or restart, same directory) the daemon with
 * the extra `args` (NULL-terminated, may be NULL) and wait for its
 * sockets. `d` is zeroed by the caller before the first start. */
void testDaemonStart(testDaemon *d, const char *name, const char *const *args);

/* testDaemonStop: send `sig` and wait for the daemon to end; its wait
 * status goes to d->status. */
void testDaemonStop(testDaemon *d, int sig);

/* testDaemonStopCleanly: SIGTERM, then assert the daemon exited with
 * status 0 and its log holds no sanitizer report (in a sanitizer build,
 * a report in any thread of the daemon fails here even when no answer
 * showed it). */
void testDaemonStopCleanly(testDaemon *d);

/* testDaemonGuestPids: register for killing every QEMU of the daemon
 * (from the pidfiles in its state dir); returns how many. */
int testDaemonTrackGuests(testDaemon *d);

/* testFileContains: whether `path` contains `text` after byte `from`. */
bool testFileContains(const char *path, const char *text, goffset from);

/* testFileSize: the size of `path`, 0 when missing. */
goffset testFileSize(const char *path);
