/*
 * fake-qemu: a stand-in for qemu-system-x86_64 that the dispatch fuzzer's
 * driver starts, so that decoded calls reach the real handlers and the
 * real driver without a guest.
 *
 * It understands the part of QEMU's command line and QMP that the driver
 * uses: `--version`; `-chardev socket,id=monitor,path=P,...` (the QMP
 * socket, ',,' unescaped); `-pidfile F` (written and write-locked, as QEMU
 * does). On the monitor it greets, then answers every command: `qom-set`
 * stores an object's `limits`, `qom-get` returns them (all zero for an
 * object never set), `object-add` and `object-del` create and forget
 * objects, `query-status` says running, `query-blockstats` lists each
 * `-device` with an id (JSON form) with counters of its own that only
 * grow: at the n-th query, device k of process p has read k + n requests
 * of 4096 bytes ... (see blockStats()), so that two calls tell which one
 * came first and different disks never look alike; `quit` and
 * `system_powerdown` end it, anything else succeeds with an empty
 * return. It serves one client at a time, like QEMU, goes on
 * running when the client goes away, and exits on SIGTERM.
 *
 * Events, as QEMU sends them after its reply: `stop` → STOP, `cont` →
 * RESUME, `system_reset` → RESET, `system_powerdown` → SHUTDOWN (guest
 * true) before it ends; and on SIGUSR1, GUEST_PANICKED, as a guest's
 * panic would.
 *
 * A serial port on a unix socket (`-chardev socket,id=serial0,path=P,
 * server=on,...`, a <serial type='unix'>) is listened on; whoever
 * connects is sent 'x' without end, as fast as it reads, as a guest that
 * never stops printing would (for tests of the console's bounds).
 *
 * Its version, 7.2.90, is one no real QEMU has, so that a test can tell
 * which binary answered. For tests of what waits for what: with
 * FAKE_QEMU_SLOW_MS=N in its environment it takes N ms to answer each
 * qom-set, and with FAKE_QEMU_MARK=PATH it creates PATH when a qom-set
 * arrives (before the wait). With FAKE_QEMU_DIE_WITH_PARENT=1 it is
 * killed when the thread that started it ends (for a fuzzer, whose end
 * runs no cleanup).
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>
#include <json-c/json.h>

static const char *const limitKeys[] = {
    "bps-total", "bps-read", "bps-write", "iops-total", "iops-read", "iops-write",
    "bps-total-max", "bps-read-max", "bps-write-max", "iops-total-max", "iops-read-max",
    "iops-write-max", "bps-total-max-length", "bps-read-max-length", "bps-write-max-length",
    "iops-total-max-length", "iops-read-max-length", "iops-write-max-length", "iops-size",
};

/* The value of option `key` in a QEMU option string ("a=b,key=v,c"), with
 * ',,' unescaped (new string), or NULL. */
static char *
optionValue(const char *opts, const char *key)
{
    size_t klen = strlen(key);
    const char *p = opts;

    while (*p) {
        GString *v = g_string_new(NULL);
        bool match = strncmp(p, key, klen) == 0 && p[klen] == '=';
        const char *q = match ? p + klen + 1 : p;

        for (; *q; q++) {
            if (*q == ',' && q[1] == ',') {
                g_string_append_c(v, ',');
                q++;
            } else if (*q == ',') {
                q++;
                break;
            } else {
                g_string_append_c(v, *q);
            }
        }
        if (match)
            return g_string_free(v, FALSE);
        g_string_free(v, TRUE);
        p = q;
    }
    return NULL;
}

static volatile sig_atomic_t panicked;

static void
onUsr1(int sig G_GNUC_UNUSED)
{
    panicked = 1;
}

static void
putJSON(gpointer obj)
{
    json_object_put(obj);
}

static void
sendJSON(int fd, json_object *obj)
{
    const char *s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
    g_autofree char *line = g_strconcat(s, "\n", NULL);
    size_t len = strlen(line), off = 0;

    while (off < len) {
        ssize_t n = write(fd, line + off, len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            exit(0);
        off += (size_t)n;
    }
    json_object_put(obj);
}

static json_object *
zeroLimits(void)
{
    json_object *l = json_object_new_object();
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(limitKeys); i++)
        json_object_object_add(l, limitKeys[i], json_object_new_int64(g_str_has_suffix(limitKeys[i], "-length") ? 1 : 0));
    return l;
}

/* the ids of the guest devices, from the command line */
static GPtrArray *devices;

/* query-blockstats: one entry per device, its counters a function of the
 * process, the device's position and how many queries came before. */
static json_object *
blockStats(void)
{
    static unsigned long long queries;
    json_object *arr = json_object_new_array();
    unsigned long long base = (unsigned long long)getpid() % 1000;
    guint k;

    queries++;
    for (k = 0; devices && k < devices->len; k++) {
        json_object *e = json_object_new_object();
        json_object *st = json_object_new_object();
        unsigned long long rd = base + k + queries, wr = 2 * (base + k) + queries;
        g_autofree char *qdev = g_strdup_printf("/machine/peripheral/%s/virtio-backend",
                                                (const char *)devices->pdata[k]);

        json_object_object_add(st, "rd_operations", json_object_new_int64((int64_t)rd));
        json_object_object_add(st, "rd_bytes", json_object_new_int64((int64_t)(rd * 4096)));
        json_object_object_add(st, "rd_total_time_ns", json_object_new_int64((int64_t)(rd * 1000)));
        json_object_object_add(st, "wr_operations", json_object_new_int64((int64_t)wr));
        json_object_object_add(st, "wr_bytes", json_object_new_int64((int64_t)(wr * 512)));
        json_object_object_add(st, "wr_total_time_ns", json_object_new_int64((int64_t)(wr * 2000)));
        json_object_object_add(st, "flush_operations", json_object_new_int64((int64_t)(k + 1)));
        json_object_object_add(st, "flush_total_time_ns", json_object_new_int64((int64_t)(k + 1) * 300));
        json_object_object_add(st, "failed_rd_operations", json_object_new_int64(0));
        json_object_object_add(st, "failed_wr_operations", json_object_new_int64(0));
        json_object_object_add(st, "failed_flush_operations", json_object_new_int64(0));
        json_object_object_add(e, "device", json_object_new_string(""));
        json_object_object_add(e, "qdev", json_object_new_string(qdev));
        json_object_object_add(e, "stats", st);
        json_object_array_add(arr, e);
    }
    return arr;
}

/* The reply's "return" to command `cmd` with `args`; NULL to quit. */
static json_object *
answer(GHashTable *objects, const char *cmd, json_object *args, bool *quit)
{
    json_object *v;

    if (strcmp(cmd, "quit") == 0 || strcmp(cmd, "system_powerdown") == 0) {
        *quit = true;
        return json_object_new_object();
    }
    if (strcmp(cmd, "query-status") == 0) {
        json_object *r = json_object_new_object();

        json_object_object_add(r, "status", json_object_new_string("running"));
        json_object_object_add(r, "running", json_object_new_boolean(1));
        return r;
    }
    if (strcmp(cmd, "query-blockstats") == 0)
        return blockStats();
    if (strcmp(cmd, "qom-get") == 0 && args && json_object_object_get_ex(args, "path", &v)) {
        const char *path = json_object_get_string(v);
        json_object *l = g_hash_table_lookup(objects, path);

        return l ? json_object_get(l) : zeroLimits();
    }
    if (strcmp(cmd, "qom-set") == 0 && args && json_object_object_get_ex(args, "path", &v)) {
        const char *path = json_object_get_string(v);
        json_object *cur = g_hash_table_lookup(objects, path);
        const char *mark = g_getenv("FAKE_QEMU_MARK");
        const char *slow = g_getenv("FAKE_QEMU_SLOW_MS");
        json_object *value;

        if (mark)
            g_file_set_contents(mark, "qom-set\n", -1, NULL);
        if (slow)
            g_usleep((gulong)g_ascii_strtoull(slow, NULL, 10) * 1000);

        if (!cur) {
            cur = zeroLimits();
            g_hash_table_insert(objects, g_strdup(path), cur);
        }
        if (json_object_object_get_ex(args, "value", &value) && json_object_is_type(value, json_type_object)) {
            json_object_object_foreach(value, key, val)
                json_object_object_add(cur, key, json_object_get(val));
        }
        return json_object_new_object();
    }
    if (strcmp(cmd, "object-del") == 0 && args && json_object_object_get_ex(args, "id", &v)) {
        g_autofree char *path = g_strdup_printf("/objects/%s", json_object_get_string(v));

        g_hash_table_remove(objects, path);
    }
    return json_object_new_object();
}

/* Send QEMU event `name` with `data` (taken over; NULL for none). */
static void
sendEvent(int fd, const char *name, json_object *data)
{
    json_object *ev = json_object_new_object();
    json_object *ts = json_object_new_object();
    gint64 now = g_get_real_time();

    json_object_object_add(ev, "event", json_object_new_string(name));
    if (data)
        json_object_object_add(ev, "data", data);
    json_object_object_add(ts, "seconds", json_object_new_int64(now / G_USEC_PER_SEC));
    json_object_object_add(ts, "microseconds", json_object_new_int64(now % G_USEC_PER_SEC));
    json_object_object_add(ev, "timestamp", ts);
    sendJSON(fd, ev);
}

/* The event QEMU sends after it answered `cmd`, or NULL. */
static const char *
eventAfter(const char *cmd)
{
    if (strcmp(cmd, "stop") == 0)
        return "STOP";
    if (strcmp(cmd, "cont") == 0)
        return "RESUME";
    if (strcmp(cmd, "system_reset") == 0)
        return "RESET";
    return NULL;
}

/* Serve one client; true when it asked QEMU to end. */
static bool
serve(int fd, GHashTable *objects)
{
    g_autoptr(GString) buf = g_string_new(NULL);
    char chunk[4096];

    sendJSON(fd, json_tokener_parse("{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 90, \"minor\": 2, \"major\": 7}, \"package\": \"\"}, \"capabilities\": []}}"));
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        char *nl;

        if (n < 0 && errno == EINTR) {
            if (panicked) {
                panicked = 0;
                sendEvent(fd, "GUEST_PANICKED", json_tokener_parse("{\"action\": \"pause\"}"));
            }
            continue;
        }
        if (n <= 0)
            return false;
        g_string_append_len(buf, chunk, n);
        while ((nl = memchr(buf->str, '\n', buf->len))) {
            g_autofree char *line = g_strndup(buf->str, (gsize)(nl - buf->str));
            json_object *msg = json_tokener_parse(line);
            json_object *reply = json_object_new_object();
            json_object *cmd, *args = NULL, *id;
            bool quit = false;

            g_string_erase(buf, 0, nl - buf->str + 1);
            if (!msg || !json_object_object_get_ex(msg, "execute", &cmd)) {
                json_object_put(msg);
                json_object_put(reply);
                continue;
            }
            json_object_object_get_ex(msg, "arguments", &args);
            json_object_object_add(reply, "return",
                                   answer(objects, json_object_get_string(cmd), args, &quit));
            if (json_object_object_get_ex(msg, "id", &id))
                json_object_object_add(reply, "id", json_object_get(id));
            sendJSON(fd, reply);
            if (eventAfter(json_object_get_string(cmd)))
                sendEvent(fd, eventAfter(json_object_get_string(cmd)), NULL);
            if (quit && strcmp(json_object_get_string(cmd), "system_powerdown") == 0)
                sendEvent(fd, "SHUTDOWN", json_tokener_parse("{\"guest\": true, \"reason\": \"guest-shutdown\"}"));
            json_object_put(msg);
            if (quit)
                return true;
        }
    }
}

/* The serial port's thread: accept a peer at a time, flood it. */
static gpointer
serialThread(gpointer data)
{
    int lfd = GPOINTER_TO_INT(data);
    char buf[65536];

    memset(buf, 'x', sizeof(buf));
    for (;;) {
        int cfd = accept(lfd, NULL, NULL);

        if (cfd < 0 && errno == EINTR)
            continue;
        if (cfd < 0)
            return NULL;
        while (write(cfd, buf, sizeof(buf)) > 0)
            ;
        close(cfd);
    }
}

/* Listen on the serial port's socket `path` and flood its peers. */
static void
startSerial(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int lfd;

    if (strlen(path) >= sizeof(sa.sun_path))
        return;
    strcpy(sa.sun_path, path);
    unlink(path);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1) < 0) {
        fprintf(stderr, "fake-qemu: cannot listen on %s: %s\n", path, strerror(errno));
        exit(1);
    }
    g_thread_unref(g_thread_new("serial", serialThread, GINT_TO_POINTER(lfd)));
}

int
main(int argc, char **argv)
{
    g_autofree char *monitor = NULL;
    g_autofree char *serial = NULL;
    const char *pidfile = NULL;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    GHashTable *objects;
    int i, lfd, cfd, pfd;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--version") == 0) {
            printf("QEMU emulator version 7.2.90 (fake-qemu)\n");
            return 0;
        }
        if (strcmp(argv[i], "-chardev") == 0 && i + 1 < argc) {
            g_autofree char *id = optionValue(argv[i + 1], "id");

            if (g_strcmp0(id, "monitor") == 0)
                monitor = optionValue(argv[i + 1], "path");
            else if (g_strcmp0(id, "serial0") == 0 && g_str_has_prefix(argv[i + 1], "socket,"))
                serial = optionValue(argv[i + 1], "path");
        }
        if (strcmp(argv[i], "-pidfile") == 0 && i + 1 < argc)
            pidfile = argv[i + 1];
        if (strcmp(argv[i], "-device") == 0 && i + 1 < argc && argv[i + 1][0] == '{') {
            json_object *dev = json_tokener_parse(argv[i + 1]);
            json_object *id = NULL;

            if (dev && json_object_object_get_ex(dev, "id", &id)) {
                if (!devices)
                    devices = g_ptr_array_new_with_free_func(g_free);
                g_ptr_array_add(devices, g_strdup(json_object_get_string(id)));
            }
            json_object_put(dev);
        }
    }
    if (!monitor || strlen(monitor) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "fake-qemu: no monitor socket on the command line\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    if (g_strcmp0(g_getenv("FAKE_QEMU_DIE_WITH_PARENT"), "1") == 0)
        prctl(PR_SET_PDEATHSIG, SIGKILL);
    {
        struct sigaction sa_usr1 = {.sa_handler = onUsr1}; /* no SA_RESTART: read() returns */

        sigaction(SIGUSR1, &sa_usr1, NULL);
    }
    if (pidfile) {
        g_autofree char *pid = g_strdup_printf("%d\n", (int)getpid());

        pfd = open(pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (pfd < 0 || fcntl(pfd, F_SETLK, &fl) < 0 || write(pfd, pid, strlen(pid)) < 0) {
            fprintf(stderr, "fake-qemu: cannot write the pidfile %s\n", pidfile);
            return 1;
        }
        /* kept open: the lock lasts as long as this process */
    }
    if (serial)
        startSerial(serial);
    strcpy(sa.sun_path, monitor);
    unlink(monitor);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1) < 0) {
        fprintf(stderr, "fake-qemu: cannot listen on %s: %s\n", monitor, strerror(errno));
        return 1;
    }
    objects = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                    putJSON);
    for (;;) {
        bool quit;

        cfd = accept(lfd, NULL, NULL);
        if (cfd < 0 && errno == EINTR)
            continue;
        if (cfd < 0)
            return 1;
        quit = serve(cfd, objects);
        close(cfd);
        if (quit)
            return 0;
    }
}
