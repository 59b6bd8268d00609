/*
 * status.h -- how one stage ended, as the loop (pump.c) collects it and
 * the result (result.h) reports it.
 */
#ifndef WHELK_STATUS_H
#define WHELK_STATUS_H

typedef struct whelk_status {
    int code;  /* exit code, -1 if signalled or unknown */
    int sig;   /* terminating signal, 0 if exited */
    int known; /* 0: the status could not be collected */
} whelk_status;

#endif /* WHELK_STATUS_H */
