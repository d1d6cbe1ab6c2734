/* main.c - retentiond: the life of the daemon, top to bottom */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "log.h"

#define DEFAULT_CONFIG "/etc/retentiond/retentiond.conf"
#define EX_USAGE_      64
#define EX_CONFIG_     78

static void usage(FILE *f)
{
	fprintf(f, "usage: retentiond [--config FILE] [--check-config]\n"
		   "       retentiond --help | --version\n"
		   "\n"
		   "Keeps the retention promises of a privacy notice: evaluates rules against a\n"
		   "record inventory and sends deletions to backends when they fall due.\n"
		   "\n"
		   "  -c, --config FILE   configuration file (default " DEFAULT_CONFIG ")\n"
		   "  -n, --check-config  check the configuration and every rule file, print each\n"
		   "                      problem as FILE:LINE:COL: message, exit 0 or 78\n"
		   "  -h, --help          show this help\n"
		   "  -V, --version       show the version\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *config = DEFAULT_CONFIG;
	int check = 0, c;

	rtn_log_set_ident("retentiond");
	while ((c = getopt_long(argc, argv, "c:nhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("retentiond %s\n", RTN_VERSION);
			return 0;
		default:
			usage(stderr);
			return EX_USAGE_;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "retentiond: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return EX_USAGE_;
	}
	if (check)
		return check_config_main(config);
	return check_config_main(config) == 0 ? 0 : EX_CONFIG_;
}
