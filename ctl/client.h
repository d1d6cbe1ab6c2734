/* client.h - retentionctl's connection to the control socket: one request, one reply */
#ifndef CTL_CLIENT_H
#define CTL_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "proto.h"

#define CTL_REPLY_MAX ((size_t)256 << 20) /* bytes of one reply line */

struct ctl_client {
	int fd;
	const char *path;
	json_int_t next_id;
	struct rtn_linebuf lb;
	char err[512];      /* why the last call failed */
	FILE *warn;         /* where a daemon of another protocol version is warned about */
	bool protocol_seen; /* the first reply's version was checked */
};

/* Connect to the control socket at path (borrowed). 0, or -errno with the reason in c->err. */
int ctl_client_open(struct ctl_client *c, const char *path);
/* Send cmd with args (may be NULL; borrowed) and read its reply into *rep (ok or error; the
 * caller calls rtn_reply_fini). 0, or -errno with the reason in c->err: -E2BIG for a request
 * over the line limit (nothing sent), anything else means the connection is unusable. */
int ctl_client_call(struct ctl_client *c, const char *cmd, json_t *args, struct rtn_reply *rep);
/* The two halves of ctl_client_call, so that a caller can prepare its next request while the
 * daemon works on this one: send (the id sent in *id) ... */
int ctl_client_send(struct ctl_client *c, const char *cmd, json_t *args, json_int_t *id);
/* The same with args given as JSON text (an object the caller built and vouches for). */
int ctl_client_send_text(struct ctl_client *c, const char *cmd, const char *args, size_t alen,
                         json_int_t *id);
/* ... and read the reply to request id. Same returns as ctl_client_call. The first reply
 * of a daemon that speaks another version of the control protocol is warned about on
 * c->warn (stderr), once; the call goes on. */
int ctl_client_recv(struct ctl_client *c, json_int_t id, struct rtn_reply *rep);
/* Close the connection and free the buffers. */
void ctl_client_close(struct ctl_client *c);

#endif
