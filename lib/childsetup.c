/*
 * childsetup.c -- child setup (issue 13): extra descriptors, resource
 * limits, umask, nice, identity and the parent-death signal, from the
 * builder calls through the plan to the raw system calls of the child.
 * See childsetup.h for how the three sides fit.
 */
#define _GNU_SOURCE
#include "childsetup_body.h"
#include "alloc.h"
#include "builder.h"
#include "errors.h"
#include "fault.h"
#include "names.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---------------------------------------------------------------- builder */

/* The body of cmd->setup: what the setters were given. */
struct whelk_setup {
    whelk_fdmap *fds; /* src: the caller's descriptor */
    size_t nfds;
    whelk_rlim *rlims;
    size_t nrlims;
    int has_nice, nice_inc;
    int has_umask;
    unsigned umask;
    int has_user;
    uid_t uid;
    gid_t gid;
};

#define NOMEM(cmd)                                                             \
    whelk__fault_set(whelk__cmd_fault(cmd), WHELK_E_NOMEM, ENOMEM,             \
                     "out of memory")

/* cmd's setup, made on first use; NULL (fault set) if memory is out. */
static struct whelk_setup *setup_of(whelk_cmd *cmd)
{
    struct whelk_setup *s = whelk__cmd_setup(cmd);

    if (!s) {
        if ((s = whelk__calloc(1, sizeof *s)) != NULL)
            whelk__cmd_set_setup(cmd, s);
        else
            NOMEM(cmd);
    }
    return s;
}

void whelk_cmd_fd(whelk_cmd *cmd, int child_fd, int host_fd)
{
    struct whelk_setup *s;
    whelk_fdmap *v;
    size_t i;

    if (!WHELK_CMD_OK(cmd))
        return;
    if (child_fd < 3) {
        whelk__fault_set(whelk__cmd_fault(cmd), WHELK_E_INVALID, EINVAL,
                         "whelk_cmd_fd: child descriptor %d is below 3 (0, 1 "
                         "and 2 are set by the stdin, stdout and stderr "
                         "setters)",
                         child_fd);
        return;
    }
    if (host_fd < 0) {
        whelk__fault_set(whelk__cmd_fault(cmd), WHELK_E_INVALID, EBADF,
                         "whelk_cmd_fd: host descriptor %d for child "
                         "descriptor %d is not a descriptor",
                         host_fd, child_fd);
        return;
    }
    if (!(s = setup_of(cmd)))
        return;
    for (i = 0; i < s->nfds; i++) {
        if (s->fds[i].dst == child_fd) { /* a later call wins */
            s->fds[i].src = host_fd;
            return;
        }
    }
    if (!(v = whelk__realloc(s->fds, (s->nfds + 1) * sizeof *v))) {
        NOMEM(cmd);
        return;
    }
    s->fds = v;
    v[s->nfds].dst = child_fd;
    v[s->nfds].src = host_fd;
    s->nfds++;
}

void whelk_cmd_rlimit(whelk_cmd *cmd, int resource, unsigned long long soft,
                      unsigned long long hard)
{
    struct whelk_setup *s;
    whelk_rlim *v;
    size_t i;

    if (!WHELK_CMD_OK(cmd))
        return;
    if (resource < 0 || resource >= RLIM_NLIMITS || soft > hard) {
        whelk__fault_set(whelk__cmd_fault(cmd), WHELK_E_INVALID, EINVAL,
                         "whelk_cmd_rlimit: %s (resource %d, soft %llu, "
                         "hard %llu)",
                         soft > hard ? "the soft limit is above the hard one"
                                     : "no such resource",
                         resource, soft, hard);
        return;
    }
    if (!(s = setup_of(cmd)))
        return;
    for (i = 0; i < s->nrlims; i++) {
        if (s->rlims[i].resource == resource) {
            s->rlims[i].soft = soft;
            s->rlims[i].hard = hard;
            return;
        }
    }
    if (!(v = whelk__realloc(s->rlims, (s->nrlims + 1) * sizeof *v))) {
        NOMEM(cmd);
        return;
    }
    s->rlims = v;
    v[s->nrlims].resource = resource;
    v[s->nrlims].soft = soft;
    v[s->nrlims].hard = hard;
    s->nrlims++;
}

void whelk_cmd_umask(whelk_cmd *cmd, unsigned mask)
{
    struct whelk_setup *s;

    if (!WHELK_CMD_OK(cmd))
        return;
    if (mask & ~0777u) {
        whelk__fault_set(whelk__cmd_fault(cmd), WHELK_E_INVALID, EINVAL,
                         "whelk_cmd_umask: %#o is not a mask of permission "
                         "bits (0 to 0777)",
                         mask);
        return;
    }
    if ((s = setup_of(cmd)) != NULL) {
        s->has_umask = 1;
        s->umask = mask;
    }
}

void whelk_cmd_nice(whelk_cmd *cmd, int increment)
{
    struct whelk_setup *s;

    if (WHELK_CMD_OK(cmd) && (s = setup_of(cmd)) != NULL) {
        s->has_nice = 1;
        s->nice_inc = increment < -40 ? -40 : increment > 40 ? 40 : increment;
    }
}

void whelk_cmd_user(whelk_cmd *cmd, uid_t uid, gid_t gid)
{
    struct whelk_setup *s;

    if (!WHELK_CMD_OK(cmd))
        return;
    if (uid == (uid_t)-1 || gid == (gid_t)-1) {
        whelk__fault_set(whelk__cmd_fault(cmd), WHELK_E_INVALID, EINVAL,
                         "whelk_cmd_user: -1 is not a user or group id");
        return;
    }
    if ((s = setup_of(cmd)) != NULL) {
        s->has_user = 1;
        s->uid = uid;
        s->gid = gid;
    }
}

void whelk__setup_free(struct whelk_setup *s)
{
    if (!s)
        return;
    free(s->fds);
    free(s->rlims);
    free(s);
}

int whelk__setup_dup(whelk_cmd *dst, const whelk_cmd *src)
{
    const struct whelk_setup *s = whelk__cmd_setup(src);
    struct whelk_setup *d;

    if (!s)
        return 0;
    if (!(d = whelk__memdup(s, sizeof *s)))
        return -1;
    d->fds = s->nfds ? whelk__memdup(s->fds, s->nfds * sizeof *s->fds) : NULL;
    d->rlims = s->nrlims ? whelk__memdup(s->rlims, s->nrlims * sizeof *s->rlims)
                         : NULL;
    if ((s->nfds && !d->fds) || (s->nrlims && !d->rlims)) {
        whelk__setup_free(d);
        return -1;
    }
    whelk__cmd_set_setup(dst, d);
    return 0;
}

const char *whelk__setup_step_name(int step)
{
    switch (step) {
    case STEP_FD: return "placing an extra descriptor (dup3)";
    case STEP_CLOSE: return "closing the other descriptors (close_range)";
    case STEP_RLIMIT: return "setting a resource limit (prlimit)";
    case STEP_NICE: return "changing the nice value (setpriority)";
    case STEP_UMASK: return "setting the umask";
    case STEP_GROUPS: return "setting the supplementary groups (setgroups)";
    case STEP_GID: return "setting the group id (setgid)";
    case STEP_UID: return "setting the user id (setuid)";
    case STEP_PDEATH: return "asking for SIGKILL when the host dies (prctl)";
    case STEP_ORPHAN: return "tying it to the host, which had died";
    default: return "setting it up";
    }
}

/* ------------------------------------------------------------------- plan */

static int by_dst(const void *a, const void *b)
{
    int x = ((const whelk_fdmap *)a)->dst, y = ((const whelk_fdmap *)b)->dst;

    return (x > y) - (x < y);
}

void whelk__child_setup_free(whelk_child_setup *cs)
{
    if (!cs)
        return;
    free(cs->fds);
    free(cs);
}

whelk_child_setup *whelk__setup_plan(const whelk_pipeline *p, size_t i,
                                     int (*own_fd)(void *ud, int fd), void *ud,
                                     whelk_error **err)
{
    const whelk_cmd *cmd = whelk__pipeline_cmd(p, i);
    const struct whelk_setup *s = whelk__cmd_setup(cmd);
    int die_with_host = whelk__pipeline_die_with_host(p);
    whelk_child_setup *cs;
    size_t k;
    int hi = 2;

    *err = NULL;
    if (!s && !die_with_host)
        return NULL;
    /* one block: the struct, then the limits; the descriptors apart */
    cs =
        whelk__calloc(1, sizeof *cs + (s ? s->nrlims : 0) * sizeof(whelk_rlim));
    if (!cs)
        goto nomem;
    cs->die_with_host = die_with_host;
    cs->host_pid = getpid();
    if (!s)
        return cs;
    cs->rlims = (whelk_rlim *)(void *)(cs + 1);
    if (s->nrlims)
        memcpy(cs->rlims, s->rlims, s->nrlims * sizeof *s->rlims);
    cs->nrlims = s->nrlims;
    cs->has_nice = s->has_nice;
    cs->nice_inc = s->nice_inc;
    cs->has_umask = s->has_umask;
    cs->umask = s->umask;
    cs->has_user = s->has_user;
    cs->uid = s->uid;
    cs->gid = s->gid;
    if (!s->nfds)
        return cs;
    if (!(cs->fds = whelk__memdup(s->fds, s->nfds * sizeof *s->fds)))
        goto nomem;
    cs->nfds = s->nfds;
    qsort(cs->fds, cs->nfds, sizeof *cs->fds, by_dst);
    hi = cs->fds[cs->nfds - 1].dst;
    /* Every source is duplicated above every target: the child can then
     * place them in any order (3->4 and 4->3 at once, a source on 0-2),
     * and a host descriptor that is not open is found before anything
     * runs. */
    for (k = 0; k < cs->nfds; k++) {
        int d = fcntl(cs->fds[k].src, F_DUPFD_CLOEXEC, hi + 1);
        if (d < 0) {
            /* EBADF: not open; EINVAL: a target at or above the limit of
             * open files; EMFILE: the host has no descriptor left */
            int e = errno;
            char where[64];
            *err = whelk__error_new(
                e == EBADF || e == EINVAL ? WHELK_E_INVALID : WHELK_E_IO, e, i,
                NULL, "descriptor %d given as descriptor %d of the child%s: %s",
                cs->fds[k].src, cs->fds[k].dst,
                whelk__stage_label(where, sizeof where, i,
                                   whelk_pipeline_ncmds(p)),
                e == EINVAL ? "the child descriptor is not below the limit "
                              "of open files (RLIMIT_NOFILE)"
                            : whelk__strerror(e));
            goto fail;
        }
        if (own_fd(ud, d) < 0) {
            close(d);
            goto nomem;
        }
        cs->fds[k].src = d;
    }
    return cs;
nomem:
    *err = (whelk_error *)&whelk__nomem_error;
fail:
    whelk__child_setup_free(cs);
    return NULL;
}

/* ------------------------------------------------------------------ child */

#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 8)
#define CHILD_CODE __attribute__((no_sanitize("address", "undefined")))
#else
#define CHILD_CODE
#endif

/* What a failed step reports: (step << 16) | errno. */
CHILD_CODE static inline int fail_code(int step)
{
    return (step << 16) | (errno ? errno : EINVAL);
}

int whelk__child_max_fd(const whelk_child_setup *cs)
{
    return cs->nfds ? cs->fds[cs->nfds - 1].dst : 2;
}

CHILD_CODE int whelk__child_fds(const whelk_child_setup *cs, int close_rest)
{
    unsigned lo = 3;
    size_t k;

    for (k = 0; k < cs->nfds; k++)
        if (syscall(SYS_dup3, cs->fds[k].src, cs->fds[k].dst, 0) < 0)
            return fail_code(STEP_FD);
    if (!close_rest)
        return 0;
    for (k = 0; k < cs->nfds; k++) {
        unsigned dst = (unsigned)cs->fds[k].dst;
        if (dst > lo && syscall(SYS_close_range, lo, dst - 1, 0U) < 0)
            return fail_code(STEP_CLOSE);
        lo = dst + 1;
    }
    if (syscall(SYS_close_range, lo, ~0U, 0U) < 0)
        return fail_code(STEP_CLOSE);
    return 0;
}

CHILD_CODE int whelk__child_creds(const whelk_child_setup *cs)
{
    size_t k;

    for (k = 0; k < cs->nrlims; k++) {
        /* the kernel's struct rlimit64: two 64-bit values */
        unsigned long long lim[2] = {cs->rlims[k].soft, cs->rlims[k].hard};
        if (syscall(SYS_prlimit64, 0, cs->rlims[k].resource, lim, NULL) < 0)
            return fail_code(STEP_RLIMIT);
    }
    if (cs->has_nice) {
        long raw;
        int cur, want;
        errno = 0;
        /* the raw call answers 20 - nice (1..40), never -1 */
        raw = syscall(SYS_getpriority, PRIO_PROCESS, 0);
        if (raw < 0)
            return fail_code(STEP_NICE);
        cur = 20 - (int)raw;
        want = cur + cs->nice_inc;
        want = want < -20 ? -20 : want > 19 ? 19 : want;
        if (want != cur && syscall(SYS_setpriority, PRIO_PROCESS, 0, want) < 0)
            return fail_code(STEP_NICE);
    }
    if (cs->has_umask)
        syscall(SYS_umask, cs->umask);
    if (cs->has_user) {
        /* raw calls change this process only: it has one thread */
        gid_t g = cs->gid;
        if (syscall(SYS_setgroups, 1, &g) < 0)
            return fail_code(STEP_GROUPS);
        if (syscall(SYS_setgid, cs->gid) < 0)
            return fail_code(STEP_GID);
        if (syscall(SYS_setuid, cs->uid) < 0)
            return fail_code(STEP_UID);
    }
    if (cs->die_with_host) {
        /* after setuid, which clears the parent-death signal */
        if (syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
            return fail_code(STEP_PDEATH);
        /* The host may have died between clone and prctl: the child is
         * then already someone else's, and no signal will ever come. */
        if (syscall(SYS_getppid) != cs->host_pid) {
            errno = ESRCH;
            return fail_code(STEP_ORPHAN);
        }
    }
    return 0;
}
