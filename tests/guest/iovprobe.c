/*
 * iovprobe - disk throughput probe for the iovirt test guest.
 *
 * Runs inside the guest (started by /init) and measures sequential
 * O_DIRECT throughput on one or more block devices.  All measurements are
 * printed on stdout, one complete line per write(2), so they can be parsed
 * from the serial console log on the host.
 *
 * Usage:
 *   iovprobe            jobs are taken from "iov.probe=" in /proc/cmdline
 *   iovprobe JOBS       jobs are taken from the argument
 *
 * JOBS is a comma separated list of jobs, all of which run concurrently:
 *   OP:DEV[:key=value...]
 *   OP   read | write
 *   DEV  device name under /dev (e.g. vda) or an absolute path
 *   keys bs=SIZE   block size (default 64k)
 *        time=SEC  run time in seconds (default 10; ignored when size= is
 *                  given unless time= is given explicitly as well)
 *        size=SIZE stop after SIZE bytes
 *        qd=N      number of threads issuing I/O in parallel (default 1)
 *        off=SIZE  start offset (default 0)
 *   SIZE accepts the suffixes k, m, g (powers of 1024).
 *
 * Output lines (see README.md for the exact contract):
 *   IOVPROBE-BEGIN job=N op=OP dev=DEV bs=B qd=Q
 *   IOVPROBE-SAMPLE job=N sec=K dt=D bytes=B ops=O
 *   IOVPROBE-END job=N secs=S bytes=B ops=O bps=X iops=Y
 *   IOVPROBE-ERROR job=N msg=TEXT
 *   IOVPROBE-DONE
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_JOBS 64
#define MAX_QD 256
#define BUF_ALIGN 4096
#define DEFAULT_BS (64u * 1024u)
#define DEFAULT_TIME 10.0

enum op { OP_READ, OP_WRITE };

struct job {
    int idx;
    int valid;
    char spec[256];
    char errmsg[320];

    enum op op;
    char dev[128];
    char path[160];
    uint64_t bs;
    uint64_t size;      /* 0: not limited by size */
    uint64_t off;
    double time;        /* <= 0: not limited by time */
    int qd;

    int fd;
    uint64_t region;    /* usable bytes from off, multiple of bs */
    struct timespec start;
    struct timespec deadline;

    atomic_uint_fast64_t next;   /* index of the next I/O to issue */
    atomic_uint_fast64_t bytes;  /* completed bytes */
    atomic_uint_fast64_t ops;    /* completed operations */
    atomic_int stop;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    int running;                 /* worker threads still running */
    int failed;
    char ioerr[320];
};

static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;

/* Print one line with a single write(2) call so that lines from
 * concurrent jobs never interleave. */
static void emit(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof(line) - 2)
        n = (int)(sizeof(line) - 2);
    /* keep the line on one line even if a message contained a newline */
    for (int i = 0; i < n; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[n++] = '\n';

    pthread_mutex_lock(&out_mu);
    const char *p = line;
    size_t left = (size_t)n;
    while (left > 0) {
        ssize_t w = write(STDOUT_FILENO, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        p += w;
        left -= (size_t)w;
    }
    pthread_mutex_unlock(&out_mu);
}

static double ts_diff(const struct timespec *a, const struct timespec *b)
{
    return (double)(a->tv_sec - b->tv_sec) +
           (double)(a->tv_nsec - b->tv_nsec) / 1e9;
}

static struct timespec ts_add(const struct timespec *t, double secs)
{
    struct timespec r = *t;
    time_t whole = (time_t)secs;
    long frac = (long)((secs - (double)whole) * 1e9);

    r.tv_sec += whole;
    r.tv_nsec += frac;
    while (r.tv_nsec >= 1000000000L) {
        r.tv_nsec -= 1000000000L;
        r.tv_sec++;
    }
    return r;
}

static int ts_before(const struct timespec *a, const struct timespec *b)
{
    if (a->tv_sec != b->tv_sec)
        return a->tv_sec < b->tv_sec;
    return a->tv_nsec < b->tv_nsec;
}

static void now_mono(struct timespec *t)
{
    clock_gettime(CLOCK_MONOTONIC, t);
}

/* Parse "123", "64k", "4M", "1g" (1024-based). */
static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    uint64_t mul = 1;

    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    switch (*end) {
    case '\0':
        break;
    case 'k': case 'K':
        mul = 1024ull;
        end++;
        break;
    case 'm': case 'M':
        mul = 1024ull * 1024ull;
        end++;
        break;
    case 'g': case 'G':
        mul = 1024ull * 1024ull * 1024ull;
        end++;
        break;
    default:
        return -1;
    }
    /* tolerate an optional trailing 'b'/'B' as in "64kB" or "4MiB" */
    if (mul > 1 && (end[0] == 'i' || end[0] == 'I'))
        end++;
    if (mul > 1 && (end[0] == 'b' || end[0] == 'B'))
        end++;
    if (*end != '\0')
        return -1;
    if (v > UINT64_MAX / mul)
        return -1;
    *out = (uint64_t)v * mul;
    return 0;
}

static int parse_seconds(const char *s, double *out)
{
    char *end;
    double v;

    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtod(s, &end);
    if (errno || (*end != '\0' && strcmp(end, "s") != 0))
        return -1;
    if (!(v > 0) || v > 1e7)
        return -1;
    *out = v;
    return 0;
}

/* Parse one job spec into j; on failure fill j->errmsg and return -1. */
static int parse_job(struct job *j)
{
    char buf[256];
    char *save = NULL;
    char *tok;
    int have_time = 0, have_size = 0;

    snprintf(buf, sizeof(buf), "%s", j->spec);
    j->bs = DEFAULT_BS;
    j->time = DEFAULT_TIME;
    j->size = 0;
    j->off = 0;
    j->qd = 1;

    tok = strtok_r(buf, ":", &save);
    if (!tok) {
        snprintf(j->errmsg, sizeof(j->errmsg), "empty job spec");
        return -1;
    }
    if (strcmp(tok, "read") == 0) {
        j->op = OP_READ;
    } else if (strcmp(tok, "write") == 0) {
        j->op = OP_WRITE;
    } else {
        snprintf(j->errmsg, sizeof(j->errmsg),
                 "bad job spec '%s': unknown op '%s' (want read or write)",
                 j->spec, tok);
        return -1;
    }

    tok = strtok_r(NULL, ":", &save);
    if (!tok || strchr(tok, '=')) {
        snprintf(j->errmsg, sizeof(j->errmsg),
                 "bad job spec '%s': missing device", j->spec);
        return -1;
    }
    if (strlen(tok) >= sizeof(j->dev)) {
        snprintf(j->errmsg, sizeof(j->errmsg),
                 "bad job spec '%s': device name too long", j->spec);
        return -1;
    }
    snprintf(j->dev, sizeof(j->dev), "%s", tok);
    if (j->dev[0] == '/')
        snprintf(j->path, sizeof(j->path), "%s", j->dev);
    else
        snprintf(j->path, sizeof(j->path), "/dev/%s", j->dev);

    while ((tok = strtok_r(NULL, ":", &save)) != NULL) {
        char *eq = strchr(tok, '=');
        const char *key, *val;
        int bad = 0;

        if (!eq) {
            snprintf(j->errmsg, sizeof(j->errmsg),
                     "bad job spec '%s': expected key=value, got '%s'",
                     j->spec, tok);
            return -1;
        }
        *eq = '\0';
        key = tok;
        val = eq + 1;
        if (strcmp(key, "bs") == 0) {
            bad = parse_size(val, &j->bs) || j->bs == 0;
        } else if (strcmp(key, "size") == 0) {
            bad = parse_size(val, &j->size) || j->size == 0;
            have_size = 1;
        } else if (strcmp(key, "off") == 0) {
            bad = parse_size(val, &j->off);
        } else if (strcmp(key, "time") == 0) {
            bad = parse_seconds(val, &j->time);
            have_time = 1;
        } else if (strcmp(key, "qd") == 0) {
            uint64_t qd;
            bad = parse_size(val, &qd) || qd < 1 || qd > MAX_QD;
            if (!bad)
                j->qd = (int)qd;
        } else {
            snprintf(j->errmsg, sizeof(j->errmsg),
                     "bad job spec '%s': unknown key '%s'", j->spec, key);
            return -1;
        }
        if (bad) {
            snprintf(j->errmsg, sizeof(j->errmsg),
                     "bad job spec '%s': bad value '%s' for %s",
                     j->spec, val, key);
            return -1;
        }
    }
    if (have_size && !have_time)
        j->time = 0;
    if (j->bs % 512 != 0 || j->bs > 256ull * 1024 * 1024) {
        snprintf(j->errmsg, sizeof(j->errmsg),
                 "bad job spec '%s': bs must be a multiple of 512 and <= 256m",
                 j->spec);
        return -1;
    }
    if (j->off % 512 != 0 || j->size % 512 != 0) {
        snprintf(j->errmsg, sizeof(j->errmsg),
                 "bad job spec '%s': off and size must be multiples of 512",
                 j->spec);
        return -1;
    }
    return 0;
}

static void fill_pattern(unsigned char *buf, uint64_t len, int job, int worker)
{
    static const char tag[] = "IOVPROBE";
    for (uint64_t i = 0; i < len; i += 16) {
        memcpy(buf + i, tag, 8);
        buf[i + 8] = (unsigned char)job;
        buf[i + 9] = (unsigned char)worker;
        buf[i + 10] = (unsigned char)(i >> 4);
        buf[i + 11] = (unsigned char)(i >> 12);
        buf[i + 12] = 0xa5;
        buf[i + 13] = 0x5a;
        buf[i + 14] = 0xc3;
        buf[i + 15] = 0x3c;
    }
}

struct worker_arg {
    struct job *job;
    int id;
};

static void worker_fail(struct job *j, const char *fmt, ...)
{
    va_list ap;

    pthread_mutex_lock(&j->mu);
    if (!j->failed) {
        j->failed = 1;
        va_start(ap, fmt);
        vsnprintf(j->ioerr, sizeof(j->ioerr), fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&j->mu);
    atomic_store(&j->stop, 1);
}

static void *worker_main(void *p)
{
    struct worker_arg *wa = p;
    struct job *j = wa->job;
    void *buf = NULL;
    int rc;

    rc = posix_memalign(&buf, BUF_ALIGN, (size_t)j->bs);
    if (rc != 0) {
        worker_fail(j, "posix_memalign(%" PRIu64 "): %s", j->bs, strerror(rc));
        goto out;
    }
    if (j->op == OP_WRITE)
        fill_pattern(buf, j->bs, j->idx, wa->id);
    else
        memset(buf, 0, (size_t)j->bs);

    for (;;) {
        struct timespec now;
        uint64_t i, pos, len;
        ssize_t r;

        if (atomic_load(&j->stop))
            break;
        if (j->time > 0) {
            now_mono(&now);
            if (!ts_before(&now, &j->deadline))
                break;
        }
        i = atomic_fetch_add(&j->next, 1);
        len = j->bs;
        if (j->size > 0) {
            uint64_t done = i * j->bs;
            if (done >= j->size)
                break;
            if (j->size - done < len)
                len = j->size - done;
        }
        pos = j->off + (i * j->bs) % j->region;
        if (j->op == OP_WRITE) {
            /* stamp the position so that written blocks are distinguishable */
            memcpy(buf, &pos, sizeof(pos));
            do {
                r = pwrite(j->fd, buf, (size_t)len, (off_t)pos);
            } while (r < 0 && errno == EINTR);
        } else {
            do {
                r = pread(j->fd, buf, (size_t)len, (off_t)pos);
            } while (r < 0 && errno == EINTR);
        }
        if (r < 0) {
            worker_fail(j, "%s %s at offset %" PRIu64 " len %" PRIu64 ": %s",
                        j->op == OP_WRITE ? "pwrite" : "pread", j->path, pos,
                        len, strerror(errno));
            break;
        }
        if ((uint64_t)r != len) {
            worker_fail(j, "short %s on %s at offset %" PRIu64
                        ": %zd of %" PRIu64 " bytes",
                        j->op == OP_WRITE ? "write" : "read", j->path, pos, r,
                        len);
            break;
        }
        atomic_fetch_add(&j->bytes, (uint64_t)r);
        atomic_fetch_add(&j->ops, 1);
    }

out:
    free(buf);
    pthread_mutex_lock(&j->mu);
    j->running--;
    if (j->running == 0)
        pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

static int open_device(struct job *j)
{
    struct stat st;
    uint64_t devsize = 0;
    int lbs = 512;
    int flags = O_DIRECT | O_CLOEXEC | (j->op == OP_WRITE ? O_RDWR : O_RDONLY);

    j->fd = open(j->path, flags);
    if (j->fd < 0) {
        snprintf(j->errmsg, sizeof(j->errmsg), "open %s: %s", j->path,
                 strerror(errno));
        return -1;
    }
    if (fstat(j->fd, &st) < 0) {
        snprintf(j->errmsg, sizeof(j->errmsg), "fstat %s: %s", j->path,
                 strerror(errno));
        return -1;
    }
    if (S_ISBLK(st.st_mode)) {
        if (ioctl(j->fd, BLKGETSIZE64, &devsize) < 0) {
            snprintf(j->errmsg, sizeof(j->errmsg), "BLKGETSIZE64 %s: %s",
                     j->path, strerror(errno));
            return -1;
        }
        if (ioctl(j->fd, BLKSSZGET, &lbs) < 0 || lbs <= 0)
            lbs = 512;
    } else if (S_ISREG(st.st_mode)) {
        devsize = (uint64_t)st.st_size;
    } else {
        snprintf(j->errmsg, sizeof(j->errmsg),
                 "%s is not a block device or regular file", j->path);
        return -1;
    }
    if (j->bs % (uint64_t)lbs != 0 || j->off % (uint64_t)lbs != 0 ||
        j->size % (uint64_t)lbs != 0) {
        snprintf(j->errmsg, sizeof(j->errmsg),
                 "bs, off and size must be multiples of the logical block "
                 "size %d of %s", lbs, j->path);
        return -1;
    }
    if (j->off >= devsize || devsize - j->off < j->bs) {
        snprintf(j->errmsg, sizeof(j->errmsg),
                 "%s has %" PRIu64 " bytes: no room for bs=%" PRIu64
                 " at off=%" PRIu64, j->path, devsize, j->bs, j->off);
        return -1;
    }
    j->region = (devsize - j->off) / j->bs * j->bs;
    return 0;
}

static void *job_main(void *p)
{
    struct job *j = p;
    struct worker_arg wargs[MAX_QD];
    pthread_t tids[MAX_QD];
    pthread_condattr_t ca;
    struct timespec last, now, end;
    uint64_t last_bytes = 0, last_ops = 0, bytes, ops;
    int started = 0;
    int k = 1;

    emit("IOVPROBE-BEGIN job=%d op=%s dev=%s bs=%" PRIu64 " qd=%d", j->idx,
         j->op == OP_WRITE ? "write" : "read", j->dev, j->bs, j->qd);

    if (open_device(j) < 0) {
        emit("IOVPROBE-ERROR job=%d msg=%s", j->idx, j->errmsg);
        if (j->fd >= 0)
            close(j->fd);
        j->valid = 0;
        return NULL;
    }

    pthread_mutex_init(&j->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->cv, &ca);
    pthread_condattr_destroy(&ca);

    now_mono(&j->start);
    if (j->time > 0)
        j->deadline = ts_add(&j->start, j->time);
    last = j->start;

    pthread_mutex_lock(&j->mu);
    j->running = j->qd;
    for (int i = 0; i < j->qd; i++) {
        int rc;
        wargs[i].job = j;
        wargs[i].id = i;
        rc = pthread_create(&tids[i], NULL, worker_main, &wargs[i]);
        if (rc != 0) {
            j->running -= j->qd - i;
            if (!j->failed) {
                j->failed = 1;
                snprintf(j->ioerr, sizeof(j->ioerr), "pthread_create: %s",
                         strerror(rc));
            }
            atomic_store(&j->stop, 1);
            break;
        }
        started++;
    }

    /* Sample on fixed one second boundaries relative to the job start. */
    for (;;) {
        struct timespec boundary = j->start;
        boundary.tv_sec += k;
        if (j->time > 0 && !ts_before(&boundary, &j->deadline)) {
            /* Last interval of a timed job: it ends when the I/O still in
             * flight at the deadline has completed, so the samples add up
             * to the totals and a job of N seconds has N samples. */
            while (j->running > 0)
                pthread_cond_wait(&j->cv, &j->mu);
            break;
        }
        while (j->running > 0) {
            int rc = pthread_cond_timedwait(&j->cv, &j->mu, &boundary);
            if (rc == ETIMEDOUT)
                break;
        }
        if (j->running == 0)
            break;
        pthread_mutex_unlock(&j->mu);

        now_mono(&now);
        bytes = atomic_load(&j->bytes);
        ops = atomic_load(&j->ops);
        emit("IOVPROBE-SAMPLE job=%d sec=%d dt=%.6f bytes=%" PRIu64
             " ops=%" PRIu64, j->idx, k, ts_diff(&now, &last),
             bytes - last_bytes, ops - last_ops);
        last = now;
        last_bytes = bytes;
        last_ops = ops;
        k++;

        pthread_mutex_lock(&j->mu);
    }
    pthread_mutex_unlock(&j->mu);

    for (int i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    now_mono(&end);

    bytes = atomic_load(&j->bytes);
    ops = atomic_load(&j->ops);
    if (bytes != last_bytes || ops != last_ops ||
        (j->time > 0 && !j->failed)) {
        /* final (possibly partial) interval */
        emit("IOVPROBE-SAMPLE job=%d sec=%d dt=%.6f bytes=%" PRIu64
             " ops=%" PRIu64, j->idx, k, ts_diff(&end, &last),
             bytes - last_bytes, ops - last_ops);
    }

    close(j->fd);
    j->fd = -1;

    if (j->failed) {
        emit("IOVPROBE-ERROR job=%d msg=%s", j->idx, j->ioerr);
        j->valid = 0;
    } else {
        double secs = ts_diff(&end, &j->start);
        double bps = secs > 0 ? (double)bytes / secs : 0;
        double iops = secs > 0 ? (double)ops / secs : 0;
        emit("IOVPROBE-END job=%d secs=%.3f bytes=%" PRIu64 " ops=%" PRIu64
             " bps=%" PRIu64 " iops=%" PRIu64, j->idx, secs, bytes, ops,
             (uint64_t)(bps + 0.5), (uint64_t)(iops + 0.5));
    }
    pthread_cond_destroy(&j->cv);
    pthread_mutex_destroy(&j->mu);
    return NULL;
}

/* Find the value of iov.probe= in the kernel command line. */
static char *jobs_from_cmdline(void)
{
    static char buf[4096];
    const char *key = "iov.probe=";
    ssize_t n;
    int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
    char *p, *v, *e;

    if (fd < 0)
        return NULL;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    for (p = buf; (p = strstr(p, key)) != NULL; p++) {
        if (p != buf && p[-1] != ' ' && p[-1] != '\t')
            continue;
        v = p + strlen(key);
        if (*v == '"') {
            v++;
            e = strchr(v, '"');
        } else {
            e = v + strcspn(v, " \t\n");
        }
        if (e)
            *e = '\0';
        return v;
    }
    return NULL;
}

static struct job jobs[MAX_JOBS];

int main(int argc, char **argv)
{
    char *spec;
    char *save = NULL;
    char *tok;
    int njobs = 0;
    int nerr = 0;
    pthread_t tids[MAX_JOBS];
    int started[MAX_JOBS];

    if (argc > 2 || (argc == 2 && (strcmp(argv[1], "-h") == 0 ||
                                   strcmp(argv[1], "--help") == 0))) {
        fprintf(stderr,
                "usage: %s [OP:DEV[:key=value...][,...]]\n"
                "  without arguments the jobs come from iov.probe= in "
                "/proc/cmdline\n", argv[0]);
        return 2;
    }
    if (argc == 2) {
        spec = argv[1];
    } else {
        spec = jobs_from_cmdline();
        if (!spec) {
            emit("IOVPROBE-ERROR job=-1 msg=no iov.probe= on the kernel "
                 "command line");
            emit("IOVPROBE-DONE");
            return 1;
        }
    }

    for (tok = strtok_r(spec, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        struct job *j;
        if (njobs >= MAX_JOBS) {
            emit("IOVPROBE-ERROR job=%d msg=too many jobs (max %d)", njobs,
                 MAX_JOBS);
            nerr++;
            break;
        }
        j = &jobs[njobs];
        j->idx = njobs;
        j->fd = -1;
        snprintf(j->spec, sizeof(j->spec), "%s", tok);
        if (parse_job(j) == 0) {
            j->valid = 1;
        } else {
            emit("IOVPROBE-ERROR job=%d msg=%s", j->idx, j->errmsg);
            nerr++;
        }
        njobs++;
    }
    if (njobs == 0) {
        emit("IOVPROBE-ERROR job=-1 msg=no jobs given");
        emit("IOVPROBE-DONE");
        return 1;
    }

    for (int i = 0; i < njobs; i++) {
        started[i] = 0;
        if (!jobs[i].valid)
            continue;
        int rc = pthread_create(&tids[i], NULL, job_main, &jobs[i]);
        if (rc != 0) {
            emit("IOVPROBE-ERROR job=%d msg=pthread_create: %s", i,
                 strerror(rc));
            jobs[i].valid = 0;
            nerr++;
            continue;
        }
        started[i] = 1;
    }
    for (int i = 0; i < njobs; i++) {
        if (!started[i])
            continue;
        pthread_join(tids[i], NULL);
        if (!jobs[i].valid)
            nerr++;
    }
    emit("IOVPROBE-DONE");
    return nerr ? 1 : 0;
}
