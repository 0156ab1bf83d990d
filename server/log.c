/*
 * Logging as OpenBSD daemons do it: stderr in the foreground (-d or
 * --probe), syslog otherwise. Under -d each line carries its level: as
 * "<N>" when stderr is the journal's stream (journald takes it for the
 * line's priority, systemd.exec(5) JOURNAL_STREAM), else as a word.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "pcipassd.h"

static int	log_foreground = 1;
static int	log_verbose;
static FILE	*log_file;	/* NULL: stderr */
static enum { LEVEL_NONE, LEVEL_WORD, LEVEL_JOURNAL } log_level_as;

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

/* -d: say each line's level (on), in the journal's way when it reads us;
 * off: plain lines again. */
void
log_levels(int on)
{
	const char		*js = getenv("JOURNAL_STREAM");
	unsigned long long	 dev, ino;
	struct stat		 st;

	if (!on)
		log_level_as = LEVEL_NONE;
	else if (js != NULL && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
	    fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev ==
	    dev && (unsigned long long)st.st_ino == ino)
		log_level_as = LEVEL_JOURNAL;
	else
		log_level_as = LEVEL_WORD;
}

static void
level(FILE *f, int pri)
{
	if (log_level_as == LEVEL_JOURNAL)
		fprintf(f, "<%d>", pri);
	else if (log_level_as == LEVEL_WORD)
		fputs(pri == LOG_CRIT ? "fatal: " : pri == LOG_WARNING ?
		    "warning: " : pri == LOG_INFO ? "info: " : "debug: ", f);
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
		/* One line, its level with it, whatever other threads log. */
		flockfile(f);
		level(f, pri);
		vfprintf(f, fmt, ap);
		fputc('\n', f);
		fflush(f);
		funlockfile(f);
	} else
		vsyslog(pri, fmt, ap);
}

static void
vlog_errno(int pri, int saved, const char *fmt, va_list ap)
{
	char	buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (log_foreground) {
		FILE	*f = log_file ? log_file : stderr;

		flockfile(f);
		level(f, pri);
		fprintf(f, "%s: %s\n", buf, strerror(saved));
		funlockfile(f);
	} else
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
