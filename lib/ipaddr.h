/* ipaddr.h - IP addresses truncated to a prefix (the "truncate-ip" of the SQL backends) */
#ifndef RTN_IPADDR_H
#define RTN_IPADDR_H

#include <stddef.h>

#include "diag.h"
#include "syntax.h"

#define RTN_IP_TRUNC_V4_DEFAULT 3  /* octets of an IPv4 address kept */
#define RTN_IP_TRUNC_V6_DEFAULT 48 /* prefix bits of an IPv6 address kept */

/* The text of IPv4 or IPv6 address in with all but its first v4_octets octets (IPv4)
 * or v6_bits bits (IPv6) zero, in out (inet_ntop's form). 0, or -EINVAL if in is not
 * an address inet_pton reads (no zone, no prefix length, no spaces). */
int rtn_ip_truncate(const char *in, int v4_octets, int v6_bits, char *out, size_t outlen);

/* The options of a "truncate-ip COLUMN [ipv4 OCTETS] [ipv6 BITS]" statement (those after
 * its first argument) into *v4_octets and *v6_bits, the defaults where left out. 0, or
 * -EINVAL with a diagnostic at the argument that is wrong. */
int rtn_ip_trunc_args(const char *file, const struct rtn_stmt *s, int *v4_octets, int *v6_bits,
                      struct rtn_diags *d);

#endif
