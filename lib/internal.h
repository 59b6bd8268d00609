/*
 * internal.h -- an umbrella over lib/'s module headers, for code that
 * really needs all of them.  A file of lib/ includes only the headers of
 * the modules it uses (see HACKING.md for the map):
 *
 *   base.h      config.h, whelk.h, WHELK_INTERNAL
 *   alloc.h     allocation                 buf.h      growable byte buffer
 *   names.h     errno and signal names     fault.h    builder faults
 *   integer.h   overflow-checked sizes     status.h   one stage's status
 *   builder.h   whelk_cmd, whelk_pipeline  result.h   whelk_result
 *   builder_body.h  their bodies
 *   errors.h    whelk_error, errno rule    quote.h    commands as sh text
 *   decode.h    bytes -> UTF-8 (opaque)    lines.h    text -> lines
 *   plan.h      one attempt's plan         spawner.h  start one stage
 *   stream.h    an output the host reads
 *   proc.h      the run handle, its loop
 *   proc_body.h the handle's body          verdict.h  statuses -> outcome
 * and the headers of the later modules (sys.h, stop.h, tee.h, filter.h,
 * hostio.h, redir.h, remote.h, argstr.h, childsetup.h, keeper.h).
 */
#ifndef WHELK_INTERNAL_H
#define WHELK_INTERNAL_H

#include "base.h"

#include "alloc.h"
#include "buf.h"
#include "builder.h"
#include "builder_body.h"
#include "decode.h"
#include "errors.h"
#include "fault.h"
#include "integer.h"
#include "lines.h"
#include "names.h"
#include "plan.h"
#include "stream.h"
#include "proc.h"
#include "proc_body.h"
#include "quote.h"
#include "result.h"
#include "spawner.h"
#include "status.h"

#endif /* WHELK_INTERNAL_H */
