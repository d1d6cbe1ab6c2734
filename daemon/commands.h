/* commands.h - the control protocol's commands */
#ifndef RTN_COMMANDS_H
#define RTN_COMMANDS_H

#include <stddef.h>

#include "control.h"
#include "daemon.h"

/* Answer one request line from peer; returns the reply line (caller frees). */
char *commands_handle(struct daemon *d, const struct peer *peer, const char *line, size_t len,
                      size_t *rlen);

#endif
