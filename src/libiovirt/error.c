/*
 * error.c: the public functions of errors: the calling thread's last
 * error, as recorded by util/error.c
 */
#include <string.h>

#include "iovirt/iovirt.h"
#include "util/error.h"

const iovError *
iovGetLastError(void)
{
    return utilGetError();
}

const char *
iovGetLastErrorMessage(void)
{
    return utilLastErrorMessage();
}

void
iovResetLastError(void)
{
    utilResetError();
}

int
iovCopyLastError(iovErrorPtr to)
{
    const iovError *err = utilGetError();

    if (!to)
        return err ? err->code : 0;
    memset(to, 0, sizeof(*to));
    if (!err)
        return 0;
    utilErrorCopy(to, err);
    return err->code;
}

void
iovResetError(iovErrorPtr err)
{
    utilErrorClear(err);
}
