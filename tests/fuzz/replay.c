/* replay.c - run a libFuzzer target over files without libFuzzer, e.g. under gcc + ASan
 *
 * Usage: fuzz_X FILE...   Calls LLVMFuzzerTestOneInput once per file, each read into a
 * buffer of exactly its size so that over-reads are caught. Directories are skipped;
 * a file that cannot be read is an error (exit 1).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t len = 0, cap = 4096;
	uint8_t *buf = malloc(cap);
	for (;;) {
		if (!buf) {
			fprintf(stderr, "replay: out of memory\n");
			exit(1);
		}
		len += fread(buf + len, 1, cap - len, f);
		if (len < cap)
			break;
		cap *= 2;
		buf = realloc(buf, cap);
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		fprintf(stderr, "replay: %s: read error\n", path);
		free(buf);
		return -1;
	}
	/* an exact-size copy, so that reading past the input is caught */
	uint8_t *data = malloc(len ? len : 1);
	if (!data) {
		fprintf(stderr, "replay: out of memory\n");
		exit(1);
	}
	memcpy(data, buf, len);
	free(buf);
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	return 0;
}

int main(int argc, char **argv)
{
	int ran = 0, failed = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
			continue;
		if (replay(argv[i]) < 0)
			failed++;
		else
			ran++;
	}
	fprintf(stderr, "replay: %d inputs run, %d unreadable\n", ran, failed);
	return failed ? 1 : 0;
}
