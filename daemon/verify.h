/* verify.h - retentiond --verify-audit: check an audit log without a daemon */
#ifndef RTN_DAEMON_VERIFY_H
#define RTN_DAEMON_VERIFY_H

#include <stddef.h>

/* Verify files (in rotation order) as one chain, against expect_head (the head from the
 * journal; may be NULL), print the verdict on stdout. 0 valid, 1 not, 2 usage/IO error. */
int verify_audit_main(const char *const *files, size_t n, const char *expect_head);

/* Check files (in rotation order) as rtn_audit_check() does, without an inventory, and
 * print the counts and every problem. 0 ok, 1 early, lost, missed or a broken chain, 2
 * usage or I/O error. */
int check_audit_main(const char *const *files, size_t n);

#endif
