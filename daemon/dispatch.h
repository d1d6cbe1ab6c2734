/* dispatch.h - connections to backends: jobs out, results in */
#ifndef RTN_DISPATCH_H
#define RTN_DISPATCH_H

#include <jansson.h>

#include "daemon.h"

/* Connect to every configured backend (reconnecting with backoff forever). 0 or -errno. */
int dispatch_init(struct daemon *d);
/* Something may have become due: send what the backends have room for. */
void dispatch_kick(void);
/* Stop sending; call done() once every job in flight has its result or after grace_ms. */
void dispatch_drain(unsigned grace_ms, void (*done)(void));
/* [{"name", "socket", "connected", "protocol", "inflight", "done", "failed", "error"}]. */
json_t *dispatch_status(void);
/* Jobs in flight over all backends. */
unsigned dispatch_inflight(void);
/* Close every connection. */
void dispatch_fini(void);

#endif
