/*
 * Logging as OpenBSD daemons do it: stderr in the foreground (-d or
 * --probe), syslog otherwise.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "pcipassd.h"

static int	log_foreground = 1;
static int	log_verbose;
static FILE	*log_file;	/* NULL: stderr */

static void	vlog(int, const char *, va_list)
		    __attribute__((format(printf, 2, 0)));

void
log_init(int foreground, int verbose)
{
	log_foreground = foreground;
	log_verbose = verbose;
	if (!foreground)
		openlog("pcipassd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/* Send foreground logging to f (NULL: stderr); the tests read it. */
void
log_to(FILE *f)
{
	log_file = f;
}

static void
vlog(int pri, const char *fmt, va_list ap)
{
	FILE	*f = log_file ? log_file : stderr;

	if (log_foreground) {
		vfprintf(f, fmt, ap);
		fputc('\n', f);
		fflush(f);
	} else
		vsyslog(pri, fmt, ap);
}

static void
vlog_errno(int pri, int saved, const char *fmt, va_list ap)
{
	char	buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (log_foreground)
		fprintf(log_file ? log_file : stderr, "%s: %s\n", buf,
		    strerror(saved));
	else
		syslog(pri, "%s: %s", buf, strerror(saved));
}

void
log_warn(const char *fmt, ...)
{
	int	saved = errno;
	va_list	ap;

	va_start(ap, fmt);
	vlog_errno(LOG_WARNING, saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	if (log_verbose < 0)
		return;
	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (log_verbose < 1)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	int	saved = errno;
	va_list	ap;

	va_start(ap, fmt);
	vlog_errno(LOG_CRIT, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}
