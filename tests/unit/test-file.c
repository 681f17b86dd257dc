/*
 * test-file.c: atomic replacement and bounded reads
 */
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"
#include "util/file.h"

static char *
tempDir(void)
{
    g_autoptr(GError) err = NULL;
    char *dir = g_dir_make_tmp("iovirt-test-XXXXXX", &err);

    g_assert_no_error(err);
    return dir;
}

typedef int (*writeFunc)(const char *path, const char *data, size_t len, mode_t mode);

/* Both writers replace a file whole, with its mode, leaving no temporary
 * file; they differ only in the fsyncs, which a test cannot observe. */
static void
testAtomicReplace(gconstpointer data_)
{
    writeFunc write = (writeFunc)(uintptr_t)data_;
    g_autofree char *dir = tempDir();
    g_autofree char *path = g_build_filename(dir, "state.xml", NULL);
    g_autofree char *data = NULL;
    struct stat st;
    GDir *d;
    int entries = 0;

    g_assert_cmpint(write(path, "first", 5, 0600), ==, 0);
    g_assert_cmpint(write(path, "second!", 7, 0640), ==, 0);
    g_assert_cmpint(utilReadFile(path, 100, &data), ==, 0);
    g_assert_cmpstr(data, ==, "second!");
    g_assert_cmpint(stat(path, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 0777, ==, 0640);

    /* no temporary file is left behind */
    d = g_dir_open(dir, 0, NULL);
    while (g_dir_read_name(d))
        entries++;
    g_dir_close(d);
    g_assert_cmpint(entries, ==, 1);
    unlink(path);
    rmdir(dir);
}

static void
testAtomicWriteFailsCleanly(void)
{
    g_assert_cmpint(utilWriteFileAtomic("/nonexistent-dir/x", "a", 1, 0600), ==, -1);
    g_assert_cmpint(iovGetLastError()->code, ==, IOV_ERR_SYSTEM_ERROR);
    g_assert_nonnull(g_strstr_len(iovGetLastErrorMessage(), -1, "/nonexistent-dir/x"));
}

static void
testReadBounded(void)
{
    g_autofree char *dir = tempDir();
    g_autofree char *path = g_build_filename(dir, "big", NULL);
    g_autofree char *data = NULL;

    g_assert_cmpint(utilWriteFileAtomic(path, "0123456789", 10, 0600), ==, 0);
    g_assert_cmpint(utilReadFile(path, 10, &data), ==, 0);
    g_assert_cmpstr(data, ==, "0123456789");
    g_clear_pointer(&data, g_free);
    g_assert_cmpint(utilReadFile(path, 9, &data), ==, -1);
    g_assert_null(data);
    g_assert_cmpint(utilReadFile("/proc/self/status", 1 << 20, &data), ==, 0);
    g_assert_nonnull(g_strstr_len(data, -1, "Pid:"));
    unlink(path);
    rmdir(dir);
}

static void
testErrorSaveRestore(void)
{
    iovError *saved;

    utilReportError(IOV_FROM_CONF, IOV_ERR_INVALID_ARG, "first %d", 1);
    saved = utilSaveError();
    utilReportError(IOV_FROM_QEMU, IOV_ERR_INTERNAL_ERROR, "second");
    utilRestoreError(saved);
    g_assert_cmpstr(iovGetLastErrorMessage(), ==, "invalid argument: first 1");
    g_assert_cmpint(iovGetLastError()->domain, ==, IOV_FROM_CONF);
    iovResetLastError();
    g_assert_null(iovGetLastError());
    g_assert_cmpstr(iovGetLastErrorMessage(), ==, "no error");
}

static void
testErrorCopy(void)
{
    iovError copy;

    utilReportSystemError(IOV_FROM_NONE, ENOENT, "cannot open '%s'", "/x");
    g_assert_cmpint(iovCopyLastError(&copy), ==, IOV_ERR_SYSTEM_ERROR);
    g_assert_cmpstr(copy.message, ==, "cannot open '/x': No such file or directory");
    iovResetError(&copy);
    g_assert_null(copy.message);
    iovResetError(NULL);
}

static gpointer
otherThread(gpointer data G_GNUC_UNUSED)
{
    /* errors are per thread */
    g_assert_null(iovGetLastError());
    utilReportError(IOV_FROM_NONE, IOV_ERR_INTERNAL_ERROR, "in thread");
    return NULL;
}

static void
testErrorPerThread(void)
{
    GThread *t;

    utilReportError(IOV_FROM_NONE, IOV_ERR_INVALID_ARG, "main");
    t = g_thread_new("other", otherThread, NULL);
    g_thread_join(t);
    g_assert_cmpstr(iovGetLastErrorMessage(), ==, "invalid argument: main");
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_data_func("/file/atomic-replace", (gconstpointer)(uintptr_t)utilWriteFileAtomic,
                         testAtomicReplace);
    g_test_add_data_func("/file/replace-without-sync", (gconstpointer)(uintptr_t)utilWriteFileReplace,
                         testAtomicReplace);
    g_test_add_func("/file/atomic-write-fails-cleanly", testAtomicWriteFailsCleanly);
    g_test_add_func("/file/read-bounded", testReadBounded);
    g_test_add_func("/error/save-restore", testErrorSaveRestore);
    g_test_add_func("/error/copy", testErrorCopy);
    g_test_add_func("/error/per-thread", testErrorPerThread);
    return g_test_run();
}
