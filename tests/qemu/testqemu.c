/*
 * testqemu.c: helpers for the tests that boot the test guest
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testqemu.h"

#define MAX_PIDS 256

static volatile pid_t pids[MAX_PIDS];
static char *tmpDir;

static void
killAll(void)
{
    int i;

    for (i = 0; i < MAX_PIDS; i++) {
        if (pids[i] > 0)
            kill(pids[i], SIGKILL);
    }
}

static void
onFatalSignal(int sig)
{
    killAll();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void
atExit(void)
{
    killAll();
    if (tmpDir && !g_getenv("IOVIRT_KEEP_TMP")) {
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmpDir);
        int unused = system(cmd);

        (void)unused;
    }
}

const char *
testTmpDir(void)
{
    if (!tmpDir) {
        g_autoptr(GError) err = NULL;

        tmpDir = g_dir_make_tmp("iovirt-test-XXXXXX", &err);
        g_assert_no_error(err);
        /* servers that drop privileges (nginx) read the images here */
        g_assert_cmpint(chmod(tmpDir, 0755), ==, 0);
        atexit(atExit);
        signal(SIGABRT, onFatalSignal);
        signal(SIGSEGV, onFatalSignal);
        signal(SIGTERM, onFatalSignal);
        signal(SIGINT, onFatalSignal);
        signal(SIGBUS, onFatalSignal);
        /* g_error() stops the program with SIGTRAP */
        signal(SIGTRAP, onFatalSignal);
    }
    return tmpDir;
}

void
testKillAtExit(pid_t pid)
{
    int i;

    testTmpDir();
    for (i = 0; i < MAX_PIDS; i++) {
        if (pids[i] == 0 || pids[i] == pid) {
            pids[i] = pid;
            return;
        }
    }
}

void
testForgetPid(pid_t pid)
{
    int i;

    for (i = 0; i < MAX_PIDS; i++) {
        if (pids[i] == pid)
            pids[i] = 0;
    }
}

const char *
testGuestKernel(void)
{
    static char *path;

    if (!path)
        path = g_build_filename(TEST_GUEST_DIR, "vmlinuz", NULL);
    if (!g_file_test(path, G_FILE_TEST_EXISTS))
        g_error("the test guest kernel %s is missing: build the project first", path);
    return path;
}

const char *
testGuestInitrd(void)
{
    static char *path;

    if (!path)
        path = g_build_filename(TEST_GUEST_DIR, "initrd.img", NULL);
    return path;
}

void
testMakeImage(const char *path, guint64 size, guint64 filled)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    g_autofree char *buf = g_malloc(1 << 20);
    guint64 done;

    g_assert_cmpint(fd, >=, 0);
    memset(buf, 0xa5, 1 << 20);
    for (done = 0; done < filled; done += 1 << 20)
        g_assert_cmpint(write(fd, buf, 1 << 20), ==, 1 << 20);
    g_assert_cmpint(ftruncate(fd, (off_t)size), ==, 0);
    close(fd);
}

char *
testGuestXML(const char *name, const char *probe, const char *after, const char *serial,
             const char *disks)
{
    return g_strdup_printf(
        "<domain type='qemu'>\n"
        "  <name>%s</name>\n"
        "  <memory unit='MiB'>192</memory>\n"
        "  <vcpu>1</vcpu>\n"
        "  <os>\n"
        "    <kernel>%s</kernel>\n"
        "    <initrd>%s</initrd>\n"
        "    <cmdline>console=ttyS0 quiet panic=-1 iov.probe=%s iov.after=%s</cmdline>\n"
        "  </os>\n"
        "  <devices>\n%s"
        "    <serial type='file'><source path='%s'/></serial>\n"
        "  </devices>\n"
        "</domain>\n",
        name, testGuestKernel(), testGuestInitrd(), probe, after, disks, serial);
}

testSerial *
testSerialNew(const char *path)
{
    testSerial *s = g_new0(testSerial, 1);

    s->path = g_strdup(path);
    s->partial = g_string_new(NULL);
    s->lines = g_ptr_array_new_with_free_func(g_free);
    s->samples = g_array_new(FALSE, TRUE, sizeof(testSample));
    return s;
}

void
testSerialFree(testSerial *s)
{
    if (!s)
        return;
    g_free(s->path);
    g_string_free(s->partial, TRUE);
    g_ptr_array_unref(s->lines);
    g_array_unref(s->samples);
    g_free(s);
}

static void
parseSample(testSerial *s, const char *line)
{
    testSample smp = {0};

    if (sscanf(line, "IOVPROBE-SAMPLE job=%d sec=%d dt=%lf bytes=%" G_GUINT64_FORMAT " ops=%" G_GUINT64_FORMAT,
               &smp.job, &smp.sec, &smp.dt, &smp.bytes, &smp.ops) == 5) {
        smp.seenAt = g_get_monotonic_time();
        g_array_append_val(s->samples, smp);
    }
}

int
testSerialPoll(testSerial *s)
{
    char buf[65536];
    int fd = open(s->path, O_RDONLY | O_CLOEXEC);
    int added = 0;
    ssize_t n;

    if (fd < 0)
        return 0;
    if (lseek(fd, s->offset, SEEK_SET) < 0) {
        close(fd);
        return 0;
    }
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        ssize_t i;

        s->offset += n;
        for (i = 0; i < n; i++) {
            if (buf[i] == '\n') {
                char *line = g_strdup(g_strchomp(s->partial->str));

                g_ptr_array_add(s->lines, line);
                parseSample(s, line);
                g_string_truncate(s->partial, 0);
                added++;
            } else if (buf[i] != '\0') {
                g_string_append_c(s->partial, buf[i]);
            }
        }
    }
    close(fd);
    return added;
}

int
testSerialWaitLine(testSerial *s, const char *prefix, guint from, int timeoutMs)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeoutMs * 1000;

    for (;;) {
        guint i;

        testSerialPoll(s);
        for (i = from; i < s->lines->len; i++) {
            if (g_str_has_prefix(s->lines->pdata[i], prefix))
                return (int)i;
        }
        if (g_get_monotonic_time() > deadline)
            return -1;
        g_usleep(50 * 1000);
    }
}

bool
testSerialWaitSample(testSerial *s, int job, int sec, int timeoutMs)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeoutMs * 1000;

    for (;;) {
        guint i;

        testSerialPoll(s);
        for (i = 0; i < s->samples->len; i++) {
            testSample *x = &g_array_index(s->samples, testSample, i);

            if (x->job == job && x->sec >= sec)
                return true;
        }
        if (g_get_monotonic_time() > deadline)
            return false;
        g_usleep(50 * 1000);
    }
}

static double
rate(testSerial *s, int job, int first, int last, bool ops)
{
    double sum = 0, dt = 0;
    guint i;

    testSerialPoll(s);
    for (i = 0; i < s->samples->len; i++) {
        testSample *x = &g_array_index(s->samples, testSample, i);

        if (x->job != job || x->sec < first || (last >= 0 && x->sec > last))
            continue;
        sum += (double)(ops ? x->ops : x->bytes);
        dt += x->dt;
    }
    return dt > 0 ? sum / dt : 0;
}

double
testRateBytes(testSerial *s, int job, int first, int last)
{
    return rate(s, job, first, last, false);
}

double
testRateOps(testSerial *s, int job, int first, int last)
{
    return rate(s, job, first, last, true);
}

void
testAssertRate(const char *what, double measured, double limit)
{
    double ratio = measured / limit;

    g_test_message("%s: measured %.0f against a limit of %.0f (ratio %.3f)", what, measured, limit,
                   ratio);
    if (ratio < 0.85 || ratio > 1.10)
        g_error("%s: measured %.0f/s, outside -15%%/+10%% of the limit %.0f/s (ratio %.3f)", what,
                measured, limit, ratio);
}

pid_t
testStartProcess(const char *const *argv, const char *logPath)
{
    g_autoptr(GError) err = NULL;
    int logFd = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    GPid pid;

    g_assert_cmpint(logFd, >=, 0);
    if (!g_spawn_async_with_fds(NULL, (char **)argv, NULL,
                                G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid,
                                -1, logFd, logFd, &err))
        g_error("cannot start %s: %s", argv[0], err->message);
    close(logFd);
    testKillAtExit(pid);
    return pid;
}

bool
testWaitPath(const char *path, int timeoutMs)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeoutMs * 1000;

    while (!g_file_test(path, G_FILE_TEST_EXISTS)) {
        if (g_get_monotonic_time() > deadline)
            return false;
        g_usleep(20 * 1000);
    }
    return true;
}

int
testFreePort(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int port;

    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &len), ==, 0);
    port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

bool
testWaitPort(int port, int timeoutMs)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeoutMs * 1000;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                             .sin_port = htons((uint16_t)port)};

    for (;;) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool up = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;

        close(fd);
        if (up)
            return true;
        if (g_get_monotonic_time() > deadline)
            return false;
        g_usleep(20 * 1000);
    }
}

bool
testWaitFileContains(const char *path, const char *text, goffset from, int timeoutMs)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeoutMs * 1000;

    while (!testFileContains(path, text, from)) {
        if (g_get_monotonic_time() > deadline)
            return false;
        g_usleep(20 * 1000);
    }
    return true;
}

bool
testProcessAlive(pid_t pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/stat", (int)pid);
    g_autofree char *stat = NULL;
    const char *p;
    int status;

    waitpid(pid, &status, WNOHANG);
    if (kill(pid, 0) < 0)
        return false;
    if (!g_file_get_contents(path, &stat, NULL, NULL))
        return false;
    p = strrchr(stat, ')');
    return !(p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'));
}

void
testDaemonStart(testDaemon *d, const char *name, const char *const *args)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GError) err = NULL;
    g_autofree char *runDir = NULL;
    g_autofree char *cfgDir = NULL;
    g_auto(GStrv) env = g_get_environ();
    gint64 deadline;
    GPid pid;
    int logFd;

    if (!d->dir)
        d->dir = g_build_filename(testTmpDir(), name, NULL);
    runDir = g_build_filename(d->dir, "run", NULL);
    if (!d->sock) {
        d->sock = g_build_filename(runDir, "iovirt", "iovirt-sock", NULL);
        d->sockRO = g_build_filename(runDir, "iovirt", "iovirt-sock-ro", NULL);
        d->stateDir = g_build_filename(runDir, "iovirt", "qemu", NULL);
        d->uri = g_strdup_printf("iovirt+unix:///session?socket=%s", d->sock);
        d->uriRO = g_strdup_printf("iovirt+unix:///session?socket=%s", d->sockRO);
        d->logFile = g_build_filename(d->dir, "iovirtd.log", NULL);
    }
    g_assert_cmpint(g_mkdir_with_parents(runDir, 0700), ==, 0);
    cfgDir = g_build_filename(d->dir, "config", NULL);
    env = g_environ_setenv(env, "XDG_RUNTIME_DIR", runDir, TRUE);
    env = g_environ_setenv(env, "XDG_CONFIG_HOME", cfgDir, TRUE);
    env = g_environ_setenv(env, "HOME", d->dir, TRUE);
    g_ptr_array_add(argv, (char *)TEST_BUILD_DIR "/src/daemon/iovirtd");
    g_ptr_array_add(argv, (char *)"--session");
    g_ptr_array_add(argv, (char *)"--log-level");
    g_ptr_array_add(argv, (char *)"debug");
    g_ptr_array_add(argv, (char *)"--log-file");
    g_ptr_array_add(argv, d->logFile);
    for (; args && *args; args++)
        g_ptr_array_add(argv, (char *)*args);
    g_ptr_array_add(argv, NULL);
    unlink(d->sock);
    logFd = open(d->logFile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (!g_spawn_async_with_fds(NULL, (char **)argv->pdata, env, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                NULL, &pid, -1, logFd, logFd, &err))
        g_error("cannot start iovirtd: %s", err->message);
    close(logFd);
    d->pid = pid;
    testKillAtExit(pid);
    deadline = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
    while (!g_file_test(d->sock, G_FILE_TEST_EXISTS) || !g_file_test(d->sockRO, G_FILE_TEST_EXISTS)) {
        if (!testProcessAlive(pid))
            g_error("iovirtd exited while starting; see %s", d->logFile);
        if (g_get_monotonic_time() > deadline)
            g_error("iovirtd did not create its sockets in 20 s; see %s", d->logFile);
        g_usleep(10 * 1000);
    }
}

void
testDaemonStop(testDaemon *d, int sig)
{
    gint64 deadline = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;

    if (d->pid <= 0)
        return;
    testDaemonTrackGuests(d);
    kill(d->pid, sig);
    for (;;) {
        int status;
        pid_t r = waitpid(d->pid, &status, WNOHANG);

        if (r == d->pid) {
            d->status = status;
            break;
        }
        /* reaped already (by testProcessAlive()) or not our child */
        if (r < 0 && !testProcessAlive(d->pid)) {
            d->status = -1;
            break;
        }
        if (g_get_monotonic_time() > deadline)
            g_error("iovirtd (pid %d) did not end within 20 s of signal %d", (int)d->pid, sig);
        g_usleep(10 * 1000);
    }
    testForgetPid(d->pid);
    d->pid = 0;
}

int
testDaemonTrackGuests(testDaemon *d)
{
    g_autoptr(GDir) dir = g_dir_open(d->stateDir, 0, NULL);
    const char *e;
    int n = 0;

    while (dir && (e = g_dir_read_name(dir))) {
        g_autofree char *path = NULL;
        g_autofree char *text = NULL;

        if (!g_str_has_suffix(e, ".pid"))
            continue;
        path = g_build_filename(d->stateDir, e, NULL);
        if (g_file_get_contents(path, &text, NULL, NULL) && atoi(text) > 0) {
            testKillAtExit(atoi(text));
            n++;
        }
    }
    return n;
}

goffset
testFileSize(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? st.st_size : 0;
}

bool
testFileContains(const char *path, const char *text, goffset from)
{
    g_autofree char *data = NULL;
    gsize len = 0;

    if (!g_file_get_contents(path, &data, &len, NULL) || (gsize)from > len)
        return false;
    return strstr(data + from, text) != NULL;
}

void
testDaemonStopCleanly(testDaemon *d)
{
    g_autofree char *log = NULL;

    testDaemonStop(d, SIGTERM);
    g_assert_true(g_file_get_contents(d->logFile, &log, NULL, NULL));
    if (strstr(log, "Sanitizer"))
        g_test_message("iovirtd's log:\n%s", log);
    g_assert_null(strstr(log, "Sanitizer"));
    g_assert_cmpint(d->status, !=, -1);
    g_assert_true(WIFEXITED(d->status));
    g_assert_cmpint(WEXITSTATUS(d->status), ==, 0);
}

static int
compareDoubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

double
testPercentile(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof(double), compareDoubles);
    return v[(int)((n - 1) * p)];
}
