/* ipaddr.c - IP addresses truncated to a prefix: inet_pton, the bits cleared, inet_ntop */
#include "ipaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sys/socket.h>

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
