/* metrics.h - the daemon's metrics: the text (lib/metrics.c) from the status reads, the
 * metrics-file written every 15 s, the metrics-listen HTTP server */
#ifndef RTN_DAEMON_METRICS_H
#define RTN_DAEMON_METRICS_H

#include <jansson.h>
#include <stddef.h>

#include "daemon.h"

/* Start what d's config asks for: the timer of metrics-file (none when it is not set),
 * the listening socket of metrics-listen. backends gives the backend connections
 * (dispatch_status). 0 or -1 (logged). */
int metrics_init(struct daemon *d, json_t *(*backends)(void));
/* The exposition text now (caller frees; *len its length), or NULL when the inventory
 * cannot be read (logged). */
char *metrics_text(size_t *len);
/* audit.verify found the chain valid at t. */
void metrics_verified(rtn_time_t t);
/* Stop the timer, close the socket and every connection. */
void metrics_fini(void);

#endif
