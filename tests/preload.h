/*
 * For the LD_PRELOAD stand-ins of the tests (kmdev.c, stress/powercut.c):
 * open(2) and open64(2) taken over, handing path, flags and mode to fn.
 */
#ifndef PRELOAD_H
#define PRELOAD_H

#include <fcntl.h>
#include <stdarg.h>
#include <sys/types.h>

#define PRELOAD_OPEN(fn)						\
int	open(const char *, int, ...);					\
int									\
open(const char *path, int flags, ...)					\
{									\
	va_list	ap;							\
	mode_t	mode = 0;						\
									\
	if (flags & O_CREAT) {						\
		va_start(ap, flags);					\
		mode = (mode_t)va_arg(ap, int);				\
		va_end(ap);						\
	}								\
	return fn(path, flags, mode);					\
}									\
int	open64(const char *, int, ...) __attribute__((alias("open")))

#endif
