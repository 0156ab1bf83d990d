/*
 * A stand-in for `chattr +i` on the database file, for tests only: the
 * tests cannot set the flag (it takes CAP_LINUX_IMMUTABLE) and tmpfs
 * scratch space may not keep it. Loaded into pcipassd with LD_PRELOAD,
 * it watches the descriptors opened on that file; while FILE.immutable
 * exists beside it, a write or truncate through them
 * fails with EPERM, as the kernel fails it on an immutable inode (since
 * Linux 5.2, also through descriptors opened before the flag was set).
 * The file is the one named $IMMUTABLE_NAME (a base name: the tests learn
 * the directory only when the daemon starts). The -wal and -shm files
 * beside it are not touched, as with chattr.
 */
#include <sys/types.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "preload.h"

#define MAXFD	4096

static char	watched[MAXFD];
static char	flag[PATH_MAX];		/* FILE.immutable */

static int (*real_open)(const char *, int, ...);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off_t);
static int (*real_ftruncate64)(int, off_t);
static int (*real_close)(int);

ssize_t	write(int, const void *, size_t);
ssize_t	pwrite64(int, const void *, size_t, off_t);
int	ftruncate64(int, off_t);
int	close(int);

/* Before any thread of the program runs. */
static void	resolve(void) __attribute__((constructor));

static void
resolve(void)
{
	if (real_open != NULL)
		return;
	real_write = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT,
	    "write");
	real_pwrite64 = (ssize_t (*)(int, const void *, size_t, off_t))
	    dlsym(RTLD_NEXT, "pwrite64");
	real_ftruncate64 = (int (*)(int, off_t))dlsym(RTLD_NEXT,
	    "ftruncate64");
	real_close = (int (*)(int))dlsym(RTLD_NEXT, "close");
	real_open = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT,
	    "open64");
}

/* Whether fd is on the file while it is "immutable"; errno set if so. */
static int
refused(int fd)
{
	if (fd < 0 || fd >= MAXFD || !watched[fd])
		return 0;
	if (access(flag, F_OK) != 0)
		return 0;
	errno = EPERM;
	return 1;
}

static int
open_common(const char *path, int flags, mode_t mode)
{
	const char	*name = getenv("IMMUTABLE_NAME"), *base;
	int		 fd;

	resolve();
	fd = real_open(path, flags, mode);
	if (fd < 0 || fd >= MAXFD)
		return fd;
	base = strrchr(path, '/');
	watched[fd] = name != NULL && strcmp(base ? base + 1 : path, name) == 0;
	if (watched[fd] && flag[0] == '\0')
		snprintf(flag, sizeof(flag), "%s.immutable", path);
	return fd;
}

PRELOAD_OPEN(open_common);

ssize_t
write(int fd, const void *buf, size_t n)
{
	resolve();
	return refused(fd) ? -1 : real_write(fd, buf, n);
}

ssize_t
pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	resolve();
	return refused(fd) ? -1 : real_pwrite64(fd, buf, n, off);
}

ssize_t	pwrite(int, const void *, size_t, off_t)
    __attribute__((alias("pwrite64")));

int
ftruncate64(int fd, off_t len)
{
	resolve();
	return refused(fd) ? -1 : real_ftruncate64(fd, len);
}

int	ftruncate(int, off_t) __attribute__((alias("ftruncate64")));

int
close(int fd)
{
	resolve();
	if (fd >= 0 && fd < MAXFD)
		watched[fd] = 0;
	return real_close(fd);
}
