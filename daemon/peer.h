/* peer.h - who is on the other end of a control connection */
#ifndef RTN_PEER_H
#define RTN_PEER_H

#include <sys/types.h>

enum peer_level { PEER_NONE, PEER_READ, PEER_ADMIN };

struct peer {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	enum peer_level level;
	gid_t *groups; /* its supplementary groups when it connected (SO_PEERGROUPS); owned */
	size_t ngroups;
};

#endif
