/* fsdel.h - retention-fs: deleting one path beneath a configured root, never following
 * a symbolic link or crossing a mount point (fsdel.c); listing the files of the roots
 * (fsscan.c) */
#ifndef FSDEL_H
#define FSDEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum fs_dirs { FS_DIRS_NO, FS_DIRS_EMPTY, FS_DIRS_RECURSIVE };
/* The time a scanned file's record carries: "modified", "changed" or "created". */
enum fs_event { FS_EV_MTIME, FS_EV_CTIME, FS_EV_BIRTH };

struct rtn_scan_out;

struct fs_mnt {
	dev_t dev;   /* st_dev */
	uint64_t id; /* the mount id, when has_id */
	bool has_id; /* the kernel told it (statx STATX_MNT_ID, or /proc/self/fdinfo) */
};

struct fs_root {
	char *name;               /* as configured: absolute, normalised */
	char *real;               /* what name resolved to at start (realpath) */
	int fd;                   /* O_PATH|O_DIRECTORY of real, opened at start */
	struct fs_mnt mnt;        /* the mount it is on: nothing on another one is touched */
	char *scan_category;      /* "scan category": the root is scanned; NULL if not */
	enum fs_event scan_event; /* "scan event", default mtime */
	char *scan_event_name;    /* "scan event TIME as NAME": the event's name in the records;
	                           * NULL: modified, changed or created after the time */
};

struct fs_conf {
	struct fs_root *roots;
	size_t nroots, cap;
	enum fs_dirs dirs; /* "directories", default no */
	bool overwrite;    /* "overwrite", default no */
};

/* Add root name (absolute): resolve it once and open it. 0, or -errno with err. */
int fs_root_add(struct fs_conf *c, const char *name, char *err, size_t errlen);
/* Close the roots and free what c owns. */
void fs_conf_fini(struct fs_conf *c);
/* Delete path as configured: RTN_BST_DONE, RTN_BST_GONE, or RTN_BACKEND_FAIL_RETRY /
 * RTN_BACKEND_FAIL_FINAL with a message in err. Thread-safe. */
int fs_delete(const struct fs_conf *c, const char *path, char *err, size_t errlen);
/* Whether an object on mount m (a directory: dir) is on root's mount. */
bool fs_on_root_mount(const struct fs_root *root, const struct fs_mnt *m, bool dir);
/* The roots' files as records (def->scan; ctx is the struct fs_conf). 0, or -1 with err
 * when a root could not be listed. */
int fs_scan(void *ctx, struct rtn_scan_out *out, char *err, size_t errlen);

/* Resolve without openat2 (the fallback for kernels before 5.6); for tests. */
void fs_force_walk(bool on);
/* Read mount ids from /proc/self/fdinfo, not statx (the fallback before 5.8); for tests. */
void fs_force_fdinfo(bool on);

/* A path being walked (path[0..len), its buffer cap bytes): "/name" appended; what to give
 * fs_path_pop() to take it off again. */
size_t fs_path_push(char **path, size_t *len, size_t *cap, const char *name);
void fs_path_pop(char *path, size_t *len, size_t was);

#endif
