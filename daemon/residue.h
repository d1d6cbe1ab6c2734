/* residue.h - after deletions, what the inventory keeps of them beside its pages cut off */
#ifndef RTN_RESIDUE_H
#define RTN_RESIDUE_H

#include <stddef.h>

#include "daemon.h"

int residue_init(struct daemon *d);
/* n records were deleted: the write-ahead log is checkpointed and cut off a few seconds
 * later (once for a run of deletions, not per batch). */
void residue_deleted(size_t n);
void residue_fini(void);

#endif
