/* pseudonym.c - keyed pseudonyms of the identifiers of people (see pseudonym.h) */
#include "pseudonym.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "util.h"

#define KEY_BYTES 32

struct rtn_pseudo {
	EVP_MAC_CTX *keyed; /* HMAC-SHA-256 initialised with the key: duplicated per use */
	char key_id[RTN_PSEUDONYM_KEYID + 1];
};

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The key's text (64 hex digits and a newline) into key. 0 or -EINVAL. */
static int parse_key(const char *text, size_t n, unsigned char key[KEY_BYTES])
{
	if (n != 2 * KEY_BYTES + 1 || text[2 * KEY_BYTES] != '\n')
		return -EINVAL;
	for (size_t i = 0; i < KEY_BYTES; i++) {
		int hi = hexval(text[2 * i]), lo = hexval(text[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		key[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* A new key at path, never replacing one that is there (-EEXIST then). 0 or -errno. */
static int create_key(const char *path, char *err, size_t errlen)
{
	unsigned char key[KEY_BYTES];
	char text[2 * KEY_BYTES + 2];
	if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key)) {
		snprintf(err, errlen, "cannot make a key for %s: %s", path, strerror(errno));
		return -EIO;
	}
	rtn_hex(key, sizeof(key), text);
	OPENSSL_cleanse(key, sizeof(key));
	strcat(text, "\n");
	char *tmp = rtn_xasprintf("%s.new", path);
	unlink(tmp); /* a half-made key of a start that died */
	int r = 0, fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || rtn_write_all(fd, text, strlen(text), NULL) < 0 || fsync(fd) < 0)
		r = -errno;
	if (fd >= 0 && close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && link(tmp, path) < 0)
		r = -errno;
	OPENSSL_cleanse(text, sizeof(text));
	unlink(tmp);
	free(tmp);
	if (r == 0)
		r = rtn_sync_dir(path);
	if (r < 0 && r != -EEXIST)
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(-r));
	return r;
}

/* The key of the file at path into key. 0 or -errno with err saying why. */
static int read_key(const char *path, unsigned char key[KEY_BYTES], char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(e));
		return -e;
	}
	struct stat st;
	char text[2 * KEY_BYTES + 2];
	ssize_t n = -1;
	int r = 0;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot stat %s: %s", path, strerror(-r));
	} else if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		snprintf(err, errlen, "%s is not a regular file", path);
	} else if (st.st_mode & 077) {
		r = -EPERM;
		snprintf(err, errlen,
		         "%s may be read by group or others (mode %04o): the key must be mode 0600",
		         path, (unsigned)(st.st_mode & 07777));
	} else if ((n = read(fd, text, sizeof(text))) < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(-r));
	} else if (parse_key(text, (size_t)n, key) < 0) {
		r = -EINVAL;
		snprintf(err, errlen, "%s is not a key: 64 hex digits and a newline expected",
		         path);
	}
	OPENSSL_cleanse(text, sizeof(text));
	close(fd);
	return r;
}

static EVP_MAC_CTX *keyed_hmac(const unsigned char *key, size_t n)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	EVP_MAC_free(mac);
	OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
	                       OSSL_PARAM_construct_end()};
	if (ctx && !EVP_MAC_init(ctx, key, n, params)) {
		EVP_MAC_CTX_free(ctx);
		ctx = NULL;
	}
	return ctx;
}

int rtn_pseudo_open(const char *path, bool create, struct rtn_pseudo **out, char *err,
                    size_t errlen)
{
	unsigned char key[KEY_BYTES];
	int r = read_key(path, key, err, errlen);
	if (r == -ENOENT && create) {
		r = create_key(path, err, errlen);
		if (r == 0 || r == -EEXIST)
			r = read_key(path, key, err, errlen);
	}
	if (r < 0)
		return r;
	struct rtn_pseudo *p = rtn_xcalloc(1, sizeof(*p));
	p->keyed = keyed_hmac(key, sizeof(key));
	OPENSSL_cleanse(key, sizeof(key));
	if (!p->keyed) {
		free(p);
		snprintf(err, errlen, "libcrypto has no HMAC-SHA-256");
		return -ENOSYS;
	}
	char id[RTN_PSEUDONYM_LEN + 1];
	rtn_pseudo_of(p, "retentiond subject key", id);
	memcpy(p->key_id, id + strlen(RTN_PSEUDONYM_PREFIX), RTN_PSEUDONYM_KEYID);
	*out = p;
	return 0;
}

void rtn_pseudo_free(struct rtn_pseudo *p)
{
	if (!p)
		return;
	EVP_MAC_CTX_free(p->keyed);
	free(p);
}

void rtn_pseudo_of(const struct rtn_pseudo *p, const char *value, char out[RTN_PSEUDONYM_LEN + 1])
{
	unsigned char mac[32];
	size_t n = 0;
	EVP_MAC_CTX *c = EVP_MAC_CTX_dup(p->keyed);
	if (!c || !EVP_MAC_update(c, (const unsigned char *)value, strlen(value)) ||
	    !EVP_MAC_final(c, mac, &n, sizeof(mac)) || n != sizeof(mac))
		abort(); /* libcrypto out of memory: no entry may carry the subject instead */
	EVP_MAC_CTX_free(c);
	memcpy(out, RTN_PSEUDONYM_PREFIX, strlen(RTN_PSEUDONYM_PREFIX));
	rtn_hex(mac, sizeof(mac), out + strlen(RTN_PSEUDONYM_PREFIX));
}

const char *rtn_pseudo_key_id(const struct rtn_pseudo *p)
{
	return p->key_id;
}
