/* ipaddr.c - IP addresses truncated to a prefix: inet_pton, the bits cleared, inet_ntop */
#include "ipaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "values.h"

int rtn_ip_trunc_args(const char *file, const struct rtn_stmt *s, int *v4_octets, int *v6_bits,
                      struct rtn_diags *d)
{
	bool v4 = false, v6 = false;
	*v4_octets = RTN_IP_TRUNC_V4_DEFAULT;
	*v6_bits = RTN_IP_TRUNC_V6_DEFAULT;
	for (size_t i = 1; i < s->nargs; i += 2) {
		const struct rtn_arg *a = &s->args[i];
		bool is4 = strcmp(a->text, "ipv4") == 0, is6 = strcmp(a->text, "ipv6") == 0;
		long n;
		if ((!is4 && !is6) || i + 1 >= s->nargs || (is4 && v4) || (is6 && v6)) {
			rtn_diag_add(
			    d, RTN_SEV_ERROR, file, a->line, a->col,
			    "expected \"truncate-ip COLUMN [ipv4 OCTETS] [ipv6 BITS]\", each "
			    "at most once");
			return -EINVAL;
		}
		if (rtn_val_int(file, &s->args[i + 1], 0, is4 ? 4 : 128, &n, d) < 0)
			return -EINVAL;
		if (is4) {
			*v4_octets = (int)n;
			v4 = true;
		} else {
			*v6_bits = (int)n;
			v6 = true;
		}
	}
	return 0;
}

int rtn_ip_truncate(const char *in, int v4_octets, int v6_bits, char *out, size_t outlen)
{
	unsigned char a[16];
	if (inet_pton(AF_INET, in, a) == 1) {
		for (int i = v4_octets < 0 ? 0 : v4_octets; i < 4; i++)
			a[i] = 0;
		return inet_ntop(AF_INET, a, out, (socklen_t)outlen) ? 0 : -EINVAL;
	}
	if (inet_pton(AF_INET6, in, a) == 1) {
		int bits = v6_bits < 0 ? 0 : v6_bits > 128 ? 128 : v6_bits;
		for (int i = 0; i < 16; i++) {
			int keep = bits - 8 * i; /* bits of byte i kept */
			if (keep <= 0)
				a[i] = 0;
			else if (keep < 8)
				a[i] &= (unsigned char)(0xff << (8 - keep));
		}
		return inet_ntop(AF_INET6, a, out, (socklen_t)outlen) ? 0 : -EINVAL;
	}
	return -EINVAL;
}
