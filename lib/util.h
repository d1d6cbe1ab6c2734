/* util.h - allocation that never returns NULL, small string helpers */
#ifndef RTN_UTIL_H
#define RTN_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "utf8.h"

/* Allocate or abort: out of memory is not an error a daemon can mend. */
void *rtn_xmalloc(size_t n);
/* calloc() or abort. */
void *rtn_xcalloc(size_t n, size_t size);
/* realloc() of n * size bytes or abort (overflow-checked). */
void *rtn_xreallocarray(void *p, size_t n, size_t size);
/* strdup() or abort; NULL stays NULL. */
char *rtn_xstrdup(const char *s);
/* strndup() or abort. */
char *rtn_xstrndup(const char *s, size_t n);
/* asprintf() or abort; the caller frees the result. */
char *rtn_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Read a whole regular file of at most max bytes; the caller frees *buf (NUL-terminated).
 * 0, -EFBIG if larger, -EINVAL if not a regular file, or -errno. */
int rtn_read_file(const char *path, size_t max, char **buf, size_t *len);
/* Format a message into err (when err is not NULL) and return r: "return rtn_errf(err,
 * errlen, -EIO, "cannot ...", ...)". */
int rtn_errf(char *err, size_t errlen, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Collapse "//", "/./" and "/x/../" of an absolute path, in place (lexically). */
void rtn_path_normalise(char *path);
/* Make way for a unix socket at path: a stale socket (nobody answers) is removed; a
 * symlink, anything that is not a socket, and a socket something answers on are refused
 * (logged). 0 or -errno. */
int rtn_unix_make_way(const char *path);
/* True if s matches [a-z][a-z0-9_.-]*, the shape of every name. */
bool rtn_valid_name(const char *s);
/* Grow *v (of *cap elements of size sz) so that it can hold n elements. */
#define RTN_GROW(v, n, cap)                                                                        \
	do {                                                                                       \
		if ((n) > (cap)) {                                                                 \
			size_t c_ = (cap) ? (cap)*2 : 8;                                           \
			while (c_ < (n))                                                           \
				c_ *= 2;                                                           \
			(v) = rtn_xreallocarray((v), c_, sizeof(*(v)));                            \
			(cap) = c_;                                                                \
		}                                                                                  \
	} while (0)

/* n bytes as 2n lower-case hex digits and a NUL into out. */
void rtn_hex(const unsigned char *in, size_t n, char *out);
/* write() all n bytes of p to fd, through EINTR and short writes; *done (may be NULL)
 * says how many were written. 0 or -errno (-EIO for a write of 0 bytes). */
int rtn_write_all(int fd, const void *p, size_t n, size_t *done);
/* fsync() the directory holding path, so that a new name in it survives a crash. 0 or
 * -errno. */
int rtn_sync_dir(const char *path);
/* libcrypto's SHA-256 (an EVP_MD), for EVP_DigestInit_ex() (any thread). */
struct evp_md_st;
const struct evp_md_st *rtn_sha256(void);

#endif
