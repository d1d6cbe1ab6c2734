/* dispatch.h - connections to backends: jobs out, results in */
#ifndef RTN_DISPATCH_H
#define RTN_DISPATCH_H

#include <jansson.h>

#include "daemon.h"
#include "reconcile.h"

/* Connect to every configured backend (reconnecting with backoff forever). 0 or -errno. */
int dispatch_init(struct daemon *d);
/* Something may have become due: send what the backends have room for. */
void dispatch_kick(void);
/* Stop sending; call done() once every job in flight has its result or after grace_ms. */
void dispatch_drain(unsigned grace_ms, void (*done)(void));
/* Ask backend name for a scan now (by: the entries' actor); its id to id. 0, or -ENOENT (no
 * such backend), -ENOTCONN, -ENOTSUP (it cannot scan), -EBUSY (a scan is under way) or
 * -EIO, with err. */
int dispatch_scan(const char *name, const char *by, char id[RTN_SCAN_ID_MAX], char *err,
                  size_t errlen);
/* [{"name", "socket", "connected", "protocol", "inflight", "done", "failed", "error",
 *   "scan": {"can", "every" (seconds, 0: off), "running" {scan, pages, received, ms},
 *            "last" (rtn_scan_last)}}]. */
json_t *dispatch_status(void);
/* Jobs in flight over all backends. */
unsigned dispatch_inflight(void);
/* Close every connection. */
void dispatch_fini(void);

#endif
