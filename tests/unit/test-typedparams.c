/*
 * test-typedparams.c: building and reading typed parameters by name
 */
#include <string.h>
#include <glib.h>

#include "iovirt/iovirt.h"

/* Adds grow the array, and each value reads back with its type. */
static void
testAddThenGet(void)
{
    iovTypedParameterPtr params = NULL;
    int n = 0, max = 0, i, b = 0;
    unsigned long long ul = 0;
    const char *s = NULL;
    double d = 0;

    for (i = 0; i < 12; i++) {
        g_autofree char *name = g_strdup_printf("f%d", i);

        g_assert_cmpint(
            iovTypedParamsAddULLong(&params, &n, &max, name, (unsigned long long)i * 10), ==, 0);
    }
    g_assert_cmpint(iovTypedParamsAddString(&params, &n, &max, "group", "g1"), ==, 0);
    g_assert_cmpint(iovTypedParamsAddBoolean(&params, &n, &max, "on", 7), ==, 0);
    g_assert_cmpint(iovTypedParamsAddDouble(&params, &n, &max, "ratio", 0.5), ==, 0);
    g_assert_cmpint(n, ==, 15);
    g_assert_cmpint(max, >=, n);
    g_assert_cmpint(iovTypedParamsGetULLong(params, n, "f11", &ul), ==, 1);
    g_assert_cmpuint(ul, ==, 110);
    g_assert_cmpint(iovTypedParamsGetString(params, n, "group", &s), ==, 1);
    g_assert_cmpstr(s, ==, "g1");
    g_assert_cmpint(iovTypedParamsGetBoolean(params, n, "on", &b), ==, 1);
    g_assert_cmpint(b, ==, 1);
    g_assert_cmpint(iovTypedParamsGetDouble(params, n, "ratio", &d), ==, 1);
    g_assert_cmpfloat(d, ==, 0.5);
    g_assert_cmpint(iovTypedParamsGetULLong(params, n, "absent", &ul), ==, 0);
    g_assert_null(iovGetLastError());
    iovTypedParamsFree(params, n);
}

/* A repeated name, a name too long and a wrong type are refused. */
static void
testRefusals(void)
{
    iovTypedParameterPtr params = NULL;
    int n = 0, max = 0, v = 0;
    char longName[IOV_TYPED_PARAM_FIELD_LENGTH + 1];

    memset(longName, 'a', sizeof(longName) - 1);
    longName[sizeof(longName) - 1] = '\0';
    g_assert_cmpint(iovTypedParamsAddULLong(&params, &n, &max, "bps", 1), ==, 0);
    g_assert_cmpint(iovTypedParamsAddULLong(&params, &n, &max, "bps", 2), ==, -1);
    g_assert_cmpstr(iovGetLastErrorMessage(), ==,
                    "invalid argument: parameter 'bps' is already set");
    g_assert_cmpint(iovTypedParamsAddInt(&params, &n, &max, longName, 1), ==, -1);
    g_assert_cmpint(iovGetLastError()->code, ==, IOV_ERR_INVALID_ARG);
    g_assert_cmpint(iovTypedParamsAddString(&params, &n, &max, "group", NULL), ==, -1);
    g_assert_cmpint(n, ==, 1);
    g_assert_cmpint(iovTypedParamsGetInt(params, n, "bps", &v), ==, -1);
    g_assert_cmpint(iovGetLastError()->code, ==, IOV_ERR_INVALID_ARG);
    iovTypedParamsFree(params, n);
    iovTypedParamsFree(NULL, 0);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/typedparams/add-then-get", testAddThenGet);
    g_test_add_func("/typedparams/refusals", testRefusals);
    return g_test_run();
}
