/* job.c - the identity of a job */
#include "job.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

void rtn_job_id(int64_t rid, const char *record, const char *action, const char *rule,
                rtn_time_t due, char out[RTN_JOB_ID_LEN])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned char md[32];
	unsigned int n = 0;
	char t[24];
	int tl = snprintf(t, sizeof(t), "%lld", (long long)due);
	if (!c || !EVP_DigestInit_ex(c, rtn_sha256(), NULL) ||
	    !EVP_DigestUpdate(c, record, strlen(record) + 1) ||
	    !EVP_DigestUpdate(c, action, strlen(action) + 1) ||
	    !EVP_DigestUpdate(c, rule, strlen(rule) + 1) || !EVP_DigestUpdate(c, t, (size_t)tl) ||
	    !EVP_DigestFinal_ex(c, md, &n))
		abort(); /* libcrypto cannot fail on in-memory SHA-256 */
	EVP_MD_CTX_free(c);
	int at = snprintf(out, RTN_JOB_ID_LEN, "J-%010llx-", (unsigned long long)rid);
	rtn_hex(md, 6, out + at);
}

const char *rtn_job_error_class(const char *error)
{
	/* The texts that say the backend's user may not change the data. */
	static const char *const denied[] = {
	    "permission denied",       /* strerror(EACCES); PostgreSQL's 42501 */
	    "operation not permitted", /* strerror(EPERM) */
	    "read-only file system",   /* strerror(EROFS) */
	    "readonly database",       /* SQLITE_READONLY */
	};
	if (!error)
		return "other";
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++)
		if (strcasestr(error, denied[i]))
			return "permission denied";
	if (strncasecmp(error, "no result within", 16) == 0)
		return "timeout";
	return "other";
}
