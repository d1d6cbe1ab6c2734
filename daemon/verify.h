/* verify.h - retentiond --verify-audit: check an audit log without a daemon */
#ifndef RTN_DAEMON_VERIFY_H
#define RTN_DAEMON_VERIFY_H

#include <stddef.h>

/* Verify files (in rotation order) as one chain, against expect_head (the head from the
 * journal; may be NULL), print the verdict on stdout. 0 valid, 1 not, 2 usage/IO error. */
int verify_audit_main(const char *const *files, size_t n, const char *expect_head);

#endif
