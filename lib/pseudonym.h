/* pseudonym.h - keyed pseudonyms of the identifiers of people
 *
 * What retentiond keeps after the fact, and every audit entry, names a data subject only
 * by a pseudonym: "hmac:" and the 64 lower-case hex digits of HMAC-SHA-256 under a key of
 * the deployment over the subject as given. The same subject always has the same
 * pseudonym under one key, so the log's entries of a person can be found again by whoever
 * holds the key and the subject; without the key a pseudonym says nothing about whom.
 *
 * The key is 32 random bytes, kept as 64 hex digits and a newline in a file of mode 0600
 * (STATE/subject.key), made at the daemon's first start. Losing it loses the link between
 * the log and the people in it, never the chain: a pseudonym is just a string.
 */
#ifndef RTN_PSEUDONYM_H
#define RTN_PSEUDONYM_H

#include <stdbool.h>
#include <stddef.h>

#define RTN_PSEUDONYM_PREFIX "hmac:"
#define RTN_PSEUDONYM_LEN    (5 + 64) /* without the NUL */
#define RTN_PSEUDONYM_KEYID  16       /* hex digits of a key's id */

struct rtn_pseudo;

/* Read the key at path; with create, make it first if there is none (32 bytes from
 * getrandom, written to a temporary file, synced, linked in place so that an existing key
 * is never replaced, the directory synced). A key file that group or others may read, or
 * that is not 64 hex digits and a newline, is refused. 0, or -errno with err saying why. */
int rtn_pseudo_open(const char *path, bool create, struct rtn_pseudo **out, char *err,
                    size_t errlen);
void rtn_pseudo_free(struct rtn_pseudo *p);
/* The pseudonym of value (any string) into out. Safe from several threads at once. */
void rtn_pseudo_of(const struct rtn_pseudo *p, const char *value, char out[RTN_PSEUDONYM_LEN + 1]);
/* The key's id: the first RTN_PSEUDONYM_KEYID hex digits of the pseudonym of a fixed
 * label, which names the key in the log without giving it away. */
const char *rtn_pseudo_key_id(const struct rtn_pseudo *p);

#endif
