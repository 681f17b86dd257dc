/*
 * test-units.c: size suffixes and strict integers
 */
#include "util/error.h"
#include "util/units.h"

typedef struct {
    const char *in;
    unsigned long long out; /* when ok */
    int code;               /* 0 when ok, else the error code */
} SizeCase;

static const SizeCase sizeCases[] = {
    {"0", 0, 0},
    {"1048576", 1048576, 0},
    {"10M", 10485760, 0},
    {"10m", 10485760, 0},
    {"10MiB", 10485760, 0},
    {"10mib", 10485760, 0},
    {"1KB", 1000, 0},
    {"1kb", 1000, 0},
    {"1k", 1024, 0},
    {"1K", 1024, 0},
    {"1KiB", 1024, 0},
    {"2G", 2147483648ULL, 0},
    {"2GB", 2000000000ULL, 0},
    {"1T", 1099511627776ULL, 0},
    {"1PB", 1000000000000000ULL, 0},
    {"15EiB", 15ULL << 60, 0},
    {"7b", 7, 0},
    {"7bytes", 7, 0},
    {"7BYTE", 7, 0},
    {"18446744073709551615", 18446744073709551615ULL, 0},
    {"18446744073709551616", 0, IOV_ERR_OVERFLOW},
    {"16E", 0, IOV_ERR_OVERFLOW},
    {"1.5M", 0, IOV_ERR_INVALID_ARG},
    {"-1", 0, IOV_ERR_INVALID_ARG},
    {"+1", 0, IOV_ERR_INVALID_ARG},
    {" 1", 0, IOV_ERR_INVALID_ARG},
    {"1 ", 0, IOV_ERR_INVALID_ARG},
    {"", 0, IOV_ERR_INVALID_ARG},
    {"M", 0, IOV_ERR_INVALID_ARG},
    {"10X", 0, IOV_ERR_INVALID_ARG},
    {"10MiBs", 0, IOV_ERR_INVALID_ARG},
    {"10Mb/s", 0, IOV_ERR_INVALID_ARG},
    {"0x10", 0, IOV_ERR_INVALID_ARG},
};

static void
testSize(gconstpointer data)
{
    const SizeCase *c = data;
    unsigned long long v = 12345;
    int rc = iovParseSize(c->in, &v);

    if (c->code == 0) {
        g_assert_cmpint(rc, ==, 0);
        g_assert_cmpuint(v, ==, c->out);
        g_assert_null(iovGetLastError());
    } else {
        g_assert_cmpint(rc, ==, -1);
        g_assert_cmpuint(v, ==, 12345);
        g_assert_cmpint(iovGetLastError()->code, ==, c->code);
        if (*c->in)
            g_assert_nonnull(g_strstr_len(iovGetLastErrorMessage(), -1, c->in));
    }
}

static void
testSizeMessages(void)
{
    unsigned long long v;

    g_assert_cmpint(iovParseSize("10X", &v), ==, -1);
    g_assert_cmpstr(iovGetLastErrorMessage(), ==, "invalid argument: unknown suffix 'X' in '10X'");
    g_assert_cmpint(iovParseSize("1.5M", &v), ==, -1);
    g_assert_cmpstr(iovGetLastErrorMessage(), ==, "invalid argument: unknown suffix '.5M' in '1.5M'");
    g_assert_cmpint(iovParseSize("-1", &v), ==, -1);
    g_assert_cmpstr(iovGetLastErrorMessage(), ==,
                    "invalid argument: '-1' is not a non-negative integer with an optional size suffix");
    g_assert_cmpint(iovParseSize(NULL, &v), ==, -1);
    g_assert_cmpint(iovParseSize("1", NULL), ==, -1);
}

static void
testParseULL(void)
{
    unsigned long long v;

    g_assert_cmpint(utilParseULL("0", &v), ==, 0);
    g_assert_cmpuint(v, ==, 0);
    g_assert_cmpint(utilParseULL("007", &v), ==, 0);
    g_assert_cmpuint(v, ==, 7);
    g_assert_cmpint(utilParseULL("18446744073709551615", &v), ==, 0);
    g_assert_cmpint(utilParseULL("18446744073709551616", &v), ==, -1);
    g_assert_cmpint(utilParseULL("99999999999999999999", &v), ==, -1);
    g_assert_cmpint(utilParseULL("1k", &v), ==, -1);
    g_assert_cmpint(utilParseULL("", &v), ==, -1);
    g_assert_cmpint(utilParseULL(NULL, &v), ==, -1);
    g_assert_cmpint(utilParseULL("-0", &v), ==, -1);
}

static void
testScaleToKiB(void)
{
    unsigned long long k;

    g_assert_cmpint(utilScaleToKiB(256, "MiB", &k), ==, 0);
    g_assert_cmpuint(k, ==, 262144);
    g_assert_cmpint(utilScaleToKiB(256, "M", &k), ==, 0);
    g_assert_cmpuint(k, ==, 262144);
    g_assert_cmpint(utilScaleToKiB(1, "GB", &k), ==, 0);
    g_assert_cmpuint(k, ==, 976563); /* rounded up */
    g_assert_cmpint(utilScaleToKiB(1025, "b", &k), ==, 0);
    g_assert_cmpuint(k, ==, 2);
    g_assert_cmpint(utilScaleToKiB(1024, NULL, &k), ==, 0);
    g_assert_cmpuint(k, ==, 1024);
    g_assert_cmpint(utilScaleToKiB(1, "", &k), ==, -1);
    g_assert_cmpint(utilScaleToKiB(1, "MiX", &k), ==, -1);
    g_assert_cmpint(utilScaleToKiB(G_MAXUINT64, "GiB", &k), ==, -1);
}

int
main(int argc, char **argv)
{
    size_t i;

    g_test_init(&argc, &argv, NULL);
    for (i = 0; i < G_N_ELEMENTS(sizeCases); i++) {
        g_autofree char *name = g_strdup_printf("/units/size/%zu:%s", i, sizeCases[i].in);

        g_test_add_data_func(name, &sizeCases[i], testSize);
    }
    g_test_add_func("/units/size-messages", testSizeMessages);
    g_test_add_func("/units/strict-integer", testParseULL);
    g_test_add_func("/units/memory-to-kib", testScaleToKiB);
    return g_test_run();
}
