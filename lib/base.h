/*
 * base.h -- what every file of lib/ starts from: config.h, the public
 * header, and WHELK_INTERNAL (hidden visibility) for semi-private names.
 */
#ifndef WHELK_BASE_H
#define WHELK_BASE_H

#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "whelk.h"

#define WHELK_INTERNAL __attribute__((visibility("hidden")))

#endif /* WHELK_BASE_H */
