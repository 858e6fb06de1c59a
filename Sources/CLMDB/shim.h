#ifndef ASH_CLMDB_SHIM_H
#define ASH_CLMDB_SHIM_H

// liblmdb (Debian liblmdb-dev, pkg-config `lmdb`). Only AshLMDB imports this.
#include <lmdb.h>

#include <errno.h>
#include <sys/types.h>

#if defined(__linux__)
// glibc's fallocate(2); <fcntl.h> declares it only under _GNU_SOURCE.
extern int fallocate(int fd, int mode, off_t offset, off_t length);
#endif

/// Allocates disk blocks for [offset, offset + length) of `fd` without
/// changing the file's size (FALLOC_FL_KEEP_SIZE). Returns 0 or an errno
/// value; ENOTSUP where the platform or file system cannot.
static inline int ash_preallocate(int fd, off_t offset, off_t length) {
#if defined(__linux__)
    return fallocate(fd, 0x01 /* FALLOC_FL_KEEP_SIZE */, offset, length) == 0 ? 0 : errno;
#else
    (void)fd;
    (void)offset;
    (void)length;
    return ENOTSUP;
#endif
}

#endif
