/*
 * typedparams.c: the public functions of typed parameters: building an
 * array by name, reading a value by name, freeing
 */
#include <stdlib.h>
#include <string.h>

#include "iovirt/iovirt.h"
#include "util/error.h"

#define IOV_FROM_THIS IOV_FROM_NONE

void
iovTypedParamsClear(iovTypedParameterPtr params, int nparams)
{
    int i;

    if (!params)
        return;
    for (i = 0; i < nparams; i++) {
        if (params[i].type == IOV_TYPED_PARAM_STRING) {
            free(params[i].value.s);
            params[i].value.s = NULL;
        }
    }
}

void
iovTypedParamsFree(iovTypedParameterPtr params, int nparams)
{
    iovTypedParamsClear(params, nparams);
    free(params);
}

iovTypedParameterPtr
iovTypedParamsGet(iovTypedParameterPtr params, int nparams, const char *name)
{
    int i;

    if (!params || !name)
        return NULL;
    for (i = 0; i < nparams; i++) {
        if (strcmp(params[i].field, name) == 0)
            return &params[i];
    }
    return NULL;
}

/*
 * The slot of a new parameter `name` of `type` at the end of *params,
 * growing the array (malloc'd, room for *maxparams) when it is full; NULL
 * with an error when an argument is wrong, the name too long or taken.
 */
static iovTypedParameterPtr
addParam(iovTypedParameterPtr *params, int *nparams, int *maxparams, const char *name, int type)
{
    iovTypedParameterPtr p;

    utilResetError();
    if (!params || !nparams || !maxparams || !name || *nparams < 0) {
        reportError(IOV_ERR_INVALID_ARG, "params, nparams, maxparams and name are needed");
        return NULL;
    }
    if (strlen(name) >= IOV_TYPED_PARAM_FIELD_LENGTH) {
        reportError(IOV_ERR_INVALID_ARG, "parameter name '%s' is longer than %d characters", name,
                    IOV_TYPED_PARAM_FIELD_LENGTH - 1);
        return NULL;
    }
    if (iovTypedParamsGet(*params, *nparams, name)) {
        reportError(IOV_ERR_INVALID_ARG, "parameter '%s' is already set", name);
        return NULL;
    }
    if (*nparams >= *maxparams || !*params) {
        int want = *nparams < 8 ? 8 : *nparams * 2;
        iovTypedParameterPtr grown = realloc(*params, sizeof(**params) * (size_t)want);

        if (!grown)
            abort();
        *params = grown;
        *maxparams = want;
    }
    p = &(*params)[*nparams];
    memset(p, 0, sizeof(*p));
    strcpy(p->field, name);
    p->type = type;
    (*nparams)++;
    return p;
}

#define ADD(Suffix, ctype, TYPE, member)                                                           \
    int iovTypedParamsAdd##Suffix(iovTypedParameterPtr *params, int *nparams, int *maxparams,      \
                                  const char *name, ctype value)                                   \
    {                                                                                              \
        iovTypedParameterPtr p = addParam(params, nparams, maxparams, name, TYPE);                 \
        if (!p)                                                                                    \
            return -1;                                                                             \
        p->value.member = value;                                                                   \
        return 0;                                                                                  \
    }

ADD(Int, int, IOV_TYPED_PARAM_INT, i)
ADD(UInt, unsigned int, IOV_TYPED_PARAM_UINT, ui)
ADD(LLong, long long, IOV_TYPED_PARAM_LLONG, l)
ADD(ULLong, unsigned long long, IOV_TYPED_PARAM_ULLONG, ul)
ADD(Double, double, IOV_TYPED_PARAM_DOUBLE, d)

int
iovTypedParamsAddBoolean(iovTypedParameterPtr *params, int *nparams, int *maxparams,
                         const char *name, int value)
{
    iovTypedParameterPtr p = addParam(params, nparams, maxparams, name, IOV_TYPED_PARAM_BOOLEAN);

    if (!p)
        return -1;
    p->value.b = value ? 1 : 0;
    return 0;
}

int
iovTypedParamsAddString(iovTypedParameterPtr *params, int *nparams, int *maxparams,
                        const char *name, const char *value)
{
    iovTypedParameterPtr p;

    if (!value) {
        utilResetError();
        reportError(IOV_ERR_INVALID_ARG, "NULL string parameter '%s'", name ? name : "");
        return -1;
    }
    if (!(p = addParam(params, nparams, maxparams, name, IOV_TYPED_PARAM_STRING)))
        return -1;
    p->value.s = strdup(value);
    if (!p->value.s)
        abort();
    return 0;
}

/*
 * The parameter `name` for a typed get: 1 with *found set, 0 when absent,
 * -1 with an error when it has another type.
 */
static int
getParam(iovTypedParameterPtr params, int nparams, const char *name, int type,
         iovTypedParameterPtr *found)
{
    utilResetError();
    if (!name) {
        reportError(IOV_ERR_INVALID_ARG, "name must not be NULL");
        return -1;
    }
    *found = iovTypedParamsGet(params, nparams, name);
    if (!*found)
        return 0;
    if ((*found)->type != type) {
        reportError(IOV_ERR_INVALID_ARG, "parameter '%s' has type %d, not %d", name, (*found)->type,
                    type);
        return -1;
    }
    return 1;
}

#define GET(Suffix, ctype, TYPE, member)                                                           \
    int iovTypedParamsGet##Suffix(iovTypedParameterPtr params, int nparams, const char *name,      \
                                  ctype *value)                                                    \
    {                                                                                              \
        iovTypedParameterPtr p;                                                                    \
        int rc = getParam(params, nparams, name, TYPE, &p);                                        \
        if (rc == 1 && value)                                                                      \
            *value = p->value.member;                                                              \
        return rc;                                                                                 \
    }

GET(Int, int, IOV_TYPED_PARAM_INT, i)
GET(UInt, unsigned int, IOV_TYPED_PARAM_UINT, ui)
GET(LLong, long long, IOV_TYPED_PARAM_LLONG, l)
GET(ULLong, unsigned long long, IOV_TYPED_PARAM_ULLONG, ul)
GET(Double, double, IOV_TYPED_PARAM_DOUBLE, d)
GET(Boolean, int, IOV_TYPED_PARAM_BOOLEAN, b)
GET(String, const char *, IOV_TYPED_PARAM_STRING, s)
