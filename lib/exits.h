/* exits.h - the exit statuses of every program (retentiond, retentionctl, the backends):
 * one table, each status meaning the same wherever it is used (retentionctl(8) and
 * retentiond(8), EXIT STATUS). The values above 2 are those of sysexits.h. */
#ifndef RTN_EXITS_H
#define RTN_EXITS_H

#define RTN_EXIT_OK          0
#define RTN_EXIT_ERROR       1  /* an error reply; what was checked is not valid */
#define RTN_EXIT_USAGE       2  /* an unknown option or command, an argument missing or extra */
#define RTN_EXIT_DATAERR     65 /* EX_DATAERR: stored data contradicts itself (audit head) */
#define RTN_EXIT_NOINPUT     66 /* EX_NOINPUT: a file named on the command line is unusable */
#define RTN_EXIT_UNAVAILABLE 69 /* EX_UNAVAILABLE: the daemon cannot be reached */
#define RTN_EXIT_SOFTWARE    70 /* EX_SOFTWARE: an internal error */
#define RTN_EXIT_CANTCREAT   73 /* EX_CANTCREAT: a socket, directory or file cannot be made */
#define RTN_EXIT_NOPERM      77 /* EX_NOPERM: the daemon refused the caller */
#define RTN_EXIT_CONFIG      78 /* EX_CONFIG: the configuration (or rules) is invalid */

#endif
