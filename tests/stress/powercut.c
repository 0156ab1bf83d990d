/*
 * powercut.so: what a power cut would leave of pcipassd's database, for
 * pcipass-stress --power-cuts. Loaded into pcipassd with LD_PRELOAD, it
 * watches the files $POWERCUT_DB and $POWERCUT_DB-wal: every write is
 * done as asked and also recorded in FILE.pending (offset, length, the
 * bytes; a truncation as its new length); every fsync or fdatasync of
 * the file replays those records onto FILE.durable, the content a disk
 * that honours flushes would keep. After a SIGKILL, pcipass-stress
 * (power_cut) rebuilds each file from FILE.durable plus a random part of
 * FILE.pending, the last write possibly torn, and restarts the daemon on
 * what survived. The -shm file is not kept (as after a reboot).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../preload.h"
#include "pending.h"

#define MAXFD	4096

ssize_t	pwrite(int, const void *, size_t, off_t);
ssize_t	write(int, const void *, size_t);
int	ftruncate(int, off_t);
int	fsync(int);
int	fdatasync(int);
int	close(int);

static pthread_mutex_t	mu = PTHREAD_MUTEX_INITIALIZER;
static char		 paths[2][PATH_MAX];
static int		 npaths = -1;
static signed char	 watch[MAXFD];	/* index into paths + 1, 0 none */

static int	(*real_open)(const char *, int, ...);
static ssize_t	(*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t	(*real_write)(int, const void *, size_t);
static int	(*real_ftruncate)(int, off_t);
static int	(*real_fsync)(int);
static int	(*real_fdatasync)(int);
static int	(*real_close)(int);

static void
init(void)
{
	const char	*db;

	if (npaths >= 0)
		return;
	real_open = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
	real_pwrite = (ssize_t (*)(int, const void *, size_t, off_t))dlsym(
	    RTLD_NEXT, "pwrite");
	real_write = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT,
	    "write");
	real_ftruncate = (int (*)(int, off_t))dlsym(RTLD_NEXT, "ftruncate");
	real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	real_close = (int (*)(int))dlsym(RTLD_NEXT, "close");
	npaths = 0;
	if ((db = getenv("POWERCUT_DB")) == NULL)
		return;
	snprintf(paths[0], sizeof(paths[0]), "%s", db);
	snprintf(paths[1], sizeof(paths[1]), "%s-wal", db);
	npaths = 2;
}

static void
side(char *out, size_t len, int i, const char *suffix)
{
	snprintf(out, len, "%s.%s", paths[i], suffix);
}

/* Copy src to dst with stdio (not watched). */
static void
copy_file(const char *src, const char *dst)
{
	char	 buf[65536];
	size_t	 n;
	FILE	*in = fopen(src, "re"), *out;

	if ((out = fopen(dst, "we")) == NULL) {
		if (in != NULL)
			fclose(in);
		return;
	}
	while (in != NULL && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, out);
	if (in != NULL)
		fclose(in);
	fclose(out);
}

static void
record(int i, char type, uint64_t off, const void *data, uint64_t len)
{
	char	 p[PATH_MAX + 16];
	FILE	*f;

	side(p, sizeof(p), i, "pending");
	if ((f = fopen(p, "ae")) == NULL)
		return;
	fputc(type, f);
	fwrite(&off, sizeof(off), 1, f);
	fwrite(&len, sizeof(len), 1, f);
	if (type == 'W')
		fwrite(data, 1, (size_t)len, f);
	fclose(f);
}

/* A flush: the pending records are now on the disk. */
static void
flush(int i)
{
	char		 p[PATH_MAX + 16], d[PATH_MAX + 16];
	struct pending	 r = { 0, 0, 0, NULL };
	FILE		*f, *out;

	side(p, sizeof(p), i, "pending");
	side(d, sizeof(d), i, "durable");
	if ((f = fopen(p, "re")) == NULL)
		return;
	if ((out = fopen(d, "r+e")) == NULL && (out = fopen(d, "w+e")) == NULL) {
		fclose(f);
		return;
	}
	while (pending_next(f, &r) && pending_apply(out, &r, r.len) == 0)
		;
	free(r.buf);
	fclose(out);
	fclose(f);
	f = fopen(p, "we");
	if (f != NULL)
		fclose(f);
}

static int
open_common(const char *path, int flags, mode_t mode)
{
	char	d[PATH_MAX + 16];
	int	fd, i, existed;

	init();
	existed = access(path, F_OK) == 0;
	fd = real_open(path, flags, mode);
	if (fd < 0 || fd >= MAXFD)
		return fd;
	pthread_mutex_lock(&mu);
	watch[fd] = 0;
	for (i = 0; i < npaths; i++) {
		if (strcmp(path, paths[i]) != 0)
			continue;
		watch[fd] = (signed char)(i + 1);
		side(d, sizeof(d), i, "durable");
		/* What was there at open is on disk; a new file is empty. */
		if (!existed || access(d, F_OK) != 0)
			copy_file(path, d);
	}
	pthread_mutex_unlock(&mu);
	return fd;
}

PRELOAD_OPEN(open_common);

static int
watched(int fd)
{
	return fd >= 0 && fd < MAXFD ? watch[fd] - 1 : -1;
}

ssize_t
pwrite(int fd, const void *buf, size_t n, off_t off)
{
	ssize_t	r;
	int	i;

	init();
	r = real_pwrite(fd, buf, n, off);
	if (r > 0 && (i = watched(fd)) >= 0) {
		pthread_mutex_lock(&mu);
		record(i, 'W', (uint64_t)off, buf, (uint64_t)r);
		pthread_mutex_unlock(&mu);
	}
	return r;
}

ssize_t	pwrite64(int, const void *, size_t, off_t)
    __attribute__((alias("pwrite")));

ssize_t
write(int fd, const void *buf, size_t n)
{
	off_t	off;
	ssize_t	r;
	int	i;

	init();
	if ((i = watched(fd)) < 0)
		return real_write(fd, buf, n);
	off = lseek(fd, 0, SEEK_CUR);
	r = real_write(fd, buf, n);
	if (r > 0) {
		pthread_mutex_lock(&mu);
		record(i, 'W', (uint64_t)off, buf, (uint64_t)r);
		pthread_mutex_unlock(&mu);
	}
	return r;
}

int
ftruncate(int fd, off_t len)
{
	int	r, i;

	init();
	r = real_ftruncate(fd, len);
	if (r == 0 && (i = watched(fd)) >= 0) {
		pthread_mutex_lock(&mu);
		record(i, 'T', (uint64_t)len, NULL, 0);
		pthread_mutex_unlock(&mu);
	}
	return r;
}

int	ftruncate64(int, off_t) __attribute__((alias("ftruncate")));

static int
sync_common(int fd, int (*fn)(int))
{
	int	r, i;

	init();
	r = fn(fd);
	if (r == 0 && (i = watched(fd)) >= 0) {
		pthread_mutex_lock(&mu);
		flush(i);
		pthread_mutex_unlock(&mu);
	}
	return r;
}

int
fsync(int fd)
{
	init();
	return sync_common(fd, real_fsync);
}

int
fdatasync(int fd)
{
	init();
	return sync_common(fd, real_fdatasync);
}

int
close(int fd)
{
	init();
	if (fd >= 0 && fd < MAXFD)
		watch[fd] = 0;
	return real_close(fd);
}
