/*
 * stream.h -- one output of a run that the host reads: made by the plan
 * (plan.c), read by the loop (pump.c), pulled by the host (hostio.c) and
 * demultiplexed by a remote run (remote.c).  The loop closes its read end
 * through whelk__proc_close_fd.
 */
#ifndef WHELK_STREAM_H
#define WHELK_STREAM_H

#include "decode.h"
#include "lines.h"

/* One output the host reads. */
typedef struct whelk_stream {
    int fd;       /* our read end, -1 when closed */
    size_t stage; /* the writer */
    int which;    /* WHELK_STDOUT / WHELK_STDERR as delivered */
    int keep;     /* captured into the result */
    whelk_decoder *dec;
    whelk_splitter split;
    uint64_t offset; /* bytes read so far (decode offsets) */
    int line_cb, chunk_cb;
    int size; /* how big it has shown itself (pump.c's read_stream):
                 0 at first, 1 once a read filled FIRST_READ, 2 once a read
                 filled READ_CHUNK (its pipe is then enlarged) */
    int pull; /* WHELK_PULL: read only while the host waits (hostio.c) */
    int mux;  /* a remote transport's stderr: goes to remote.c's demux */
} whelk_stream;

#endif /* WHELK_STREAM_H */
