/*
 * version.c -- the version of the library linked at run time.
 */
#include "base.h"

const char *whelk_version(unsigned *num)
{
    if (num)
        *num = WHELK_VERSION_NUM;
    return PACKAGE_VERSION;
}
