/*
 * internal.h -- an umbrella over lib/'s module headers, for code that
 * really needs all of them.  A file of lib/ includes only the headers of
 * the modules it uses (see HACKING.md for the map):
 *
 *   base.h       config.h, whelk.h, WHELK_INTERNAL
 *   alloc.h      allocation            buf.h     growable byte buffer
 *   names.h      errno/signal names    fault.h   builder faults
 *   integer.h    overflow-checked size arithmetic
 *   builder.h    whelk_cmd, whelk_pipeline bodies (cmd.c pipeline.c shell.c)
 *   result.h     whelk_result body     errors.h  whelk_error body, errno rule
 *   quote.h      commands as sh text   decode.h  bytes -> UTF-8 (opaque)
 *   lines.h      text -> lines         plan.h    one attempt before spawning
 *   spawner.h    start one stage       proc.h    the run handle and its loop
 */
#ifndef WHELK_INTERNAL_H
#define WHELK_INTERNAL_H

#include "base.h"

#include "alloc.h"
#include "buf.h"
#include "builder.h"
#include "decode.h"
#include "errors.h"
#include "fault.h"
#include "integer.h"
#include "lines.h"
#include "names.h"
#include "plan.h"
#include "proc.h"
#include "quote.h"
#include "result.h"
#include "spawner.h"

#endif /* WHELK_INTERNAL_H */
