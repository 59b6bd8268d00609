/*
 * names.c -- thread-safe, locale-independent names for errno values and
 * signals, for messages.
 */
#include "names.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

const char *whelk__strerror(int errnum)
{
#ifdef HAVE_STRERRORDESC_NP
    const char *s = strerrordesc_np(errnum);
    return s ? s : "Unknown error";
#else
    switch (errnum) {
    case ENOENT: return "No such file or directory";
    case EACCES: return "Permission denied";
    case ENOEXEC: return "Exec format error";
    case E2BIG: return "Argument list too long";
    case ENOMEM: return "Cannot allocate memory";
    case EMFILE: return "Too many open files";
    case ENOTDIR: return "Not a directory";
    default: return "Unknown error";
    }
#endif
}

const char *whelk__signame(int sig)
{
#ifdef HAVE_SIGABBREV_NP
    const char *s = sigabbrev_np(sig);
    return s ? s : "?";
#else
    (void)sig;
    return "?";
#endif
}
