/*
 * testutil.h: helpers shared by the unit tests
 */
#pragma once

#include <glib.h>

/* Compare `actual` with the content of the golden file `path`. With
 * IOVIRT_REGENERATE=1 in the environment, (re)write the file instead. */
void testCompareGolden(const char *path, const char *actual);

/* The content of `path`, which must exist (a test failure otherwise). */
char *testReadFile(const char *path);

/* The sorted names of the files of `dir` ending in `suffix`. */
GPtrArray *testListFiles(const char *dir, const char *suffix);

/* How much slower than usual the tests run: IOVIRT_TEST_TIME_SCALE from
 * the environment (scripts/check sets it under valgrind), 1 when unset.
 * Upper bounds on how long something may take are multiplied by it. */
double testTimeScale(void);
