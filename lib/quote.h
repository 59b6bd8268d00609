/*
 * quote.h -- rendering commands as sh text (quote.c), for messages and
 * whelk_pipeline_tostring.
 */
#ifndef WHELK_QUOTE_H
#define WHELK_QUOTE_H

#include "buf.h"

/* A malloc'd rendering of one command, or NULL. */
WHELK_INTERNAL char *whelk__cmd_string(const whelk_cmd *cmd);
/* Append word to b, quoted for sh when it needs it (cmdword: in command
 * position); 0 or -1.  remote.c quotes the script of a remote run with it. */
WHELK_INTERNAL int whelk__quote(whelk_buf *b, const char *word, int cmdword);

#endif /* WHELK_QUOTE_H */
