/* control.h - the control socket: clients, framing, peer credentials */
#ifndef RTN_CONTROL_H
#define RTN_CONTROL_H

#include <jansson.h>
#include <sys/types.h>

#include "daemon.h"
#include "peer.h"

/* Bind the control socket (replacing a stale one; refusing a symlink, a non-socket or a
 * live daemon's socket) and start accepting. 0 or -errno, logged. */
int control_init(struct daemon *d);
/* Stop accepting, close every client and remove the socket file. */
void control_fini(void);
/* The connections and their limits, for status: {"clients", "strangers", "max_clients",
 * "max_strangers", "closed", "idle_closed", "queued_bytes"}. New reference. */
json_t *control_status(void);

#endif
