/*
 * names.h -- thread-safe, locale-independent names for errno values and
 * signals (names.c), used in messages.
 */
#ifndef WHELK_NAMES_H
#define WHELK_NAMES_H

#include "base.h"

/* Thread-safe, locale-independent description of an errno value. */
WHELK_INTERNAL const char *whelk__strerror(int errnum);
/* "SIGKILL" etc. */
WHELK_INTERNAL const char *whelk__signame(int sig);

#endif /* WHELK_NAMES_H */
