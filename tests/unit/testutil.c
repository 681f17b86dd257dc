/*
 * testutil.c: golden files and directory listings for the unit tests
 */
#include <string.h>

#include "testutil.h"

char *
testReadFile(const char *path)
{
    g_autoptr(GError) err = NULL;
    char *data = NULL;

    if (!g_file_get_contents(path, &data, NULL, &err))
        g_error("cannot read %s: %s", path, err->message);
    return data;
}

void
testCompareGolden(const char *path, const char *actual)
{
    g_autofree char *expected = NULL;
    const char *regen = g_getenv("IOVIRT_REGENERATE");

    if (regen && strcmp(regen, "1") == 0) {
        g_autoptr(GError) err = NULL;

        if (!g_file_set_contents(path, actual, -1, &err))
            g_error("cannot write %s: %s", path, err->message);
        return;
    }
    if (!g_file_test(path, G_FILE_TEST_EXISTS))
        g_error("golden file %s is missing (run with IOVIRT_REGENERATE=1)", path);
    expected = testReadFile(path);
    if (strcmp(expected, actual) != 0) {
        g_printerr("--- %s (expected)\n%s\n--- actual\n%s\n", path, expected, actual);
        g_test_fail();
    }
}

static gint
compareNames(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

GPtrArray *
testListFiles(const char *dir, const char *suffix)
{
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) err = NULL;
    GDir *d = g_dir_open(dir, 0, &err);
    const char *name;

    if (!d)
        g_error("cannot list %s: %s", dir, err->message);
    while ((name = g_dir_read_name(d))) {
        if (g_str_has_suffix(name, suffix))
            g_ptr_array_add(names, g_strdup(name));
    }
    g_dir_close(d);
    g_ptr_array_sort(names, compareNames);
    return names;
}

/* how many times slower than usual this build runs, when the build says
 * so (ThreadSanitizer) */
#ifndef TEST_SLOWDOWN
#define TEST_SLOWDOWN 1
#endif

double
testTimeScale(void)
{
    const char *v = g_getenv("IOVIRT_TEST_TIME_SCALE");
    double scale = v ? g_ascii_strtod(v, NULL) : TEST_SLOWDOWN;

    return scale >= 1 ? scale : 1;
}
