/*
 * pcipassd: the host daemon. Flags, start-up order, probe mode.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pcipassd.h"
#include "flags.h"

enum { OPT_PROBE = 256, OPT_LISTEN, OPT_PORT, OPT_DB, OPT_FILTER,
    OPT_SYSFS, OPT_PROC, OPT_AUTH, OPT_RESCAN, OPT_BIND, OPT_HELP,
    OPT_VERSION };

static const struct flag flags[] = {
	{ NULL, 'd', NULL, "stay in the foreground and log to stderr" },
	{ NULL, 'n', NULL, "check pci.conf and the auth file, print "
	    "\"configuration OK\" or every error, exit" },
	{ NULL, 'v', NULL, "log more (repeat for debug)" },
	{ "probe", OPT_PROBE, NULL, "scan once, print OpenNebula's probe "
	    "template, exit (no database, auth or network)" },
	{ "listen", OPT_LISTEN, "ADDR", "address to bind (default "
	    "127.0.0.1)" },
	{ "port", OPT_PORT, "N", "TCP port (default 2634)" },
	{ "db", OPT_DB, "PATH", "sqlite database (default "
	    "/var/lib/pcipass/pcipass.db)" },
	{ "filter", OPT_FILTER, "PATH", "OpenNebula pci.conf (default "
	    "/etc/pcipass/pci.conf; none offers nothing)" },
	{ "sysfs-root", OPT_SYSFS, "DIR", "root of sysfs (default /sys)" },
	{ "proc-root", OPT_PROC, "DIR", "root of procfs (default /proc)" },
	{ "auth", OPT_AUTH, "PATH", "user:secret[:ro] lines (default "
	    "/etc/pcipass/auth, made for oneadmin if missing)" },
	{ "rescan", OPT_RESCAN, "SECONDS", "period of rescans, 0 for none "
	    "(default 60)" },
	{ "bind", OPT_BIND, "vfio|none", "vfio: bind to vfio-pci on "
	    "allocate, restore on release (default none: libvirt binds)" },
	{ "help", OPT_HELP, NULL, "this text, exit" },
	{ "version", OPT_VERSION, NULL, "the version, exit" },
};
#define NFLAGS	(sizeof(flags) / sizeof(flags[0]))

static void
print_usage(FILE *fp)
{
	fprintf(fp, "usage: pcipassd [-dnv] [--probe] [--FLAG VALUE ...]\n\n");
	flags_print(fp, flags, NFLAGS);
}

static void	usage(void) __attribute__((noreturn));

static void
usage(void)
{
	print_usage(stderr);
	exit(1);
}

static int
number(const char *s, const char *what, long min, long max)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "pcipassd: %s \"%s\": not a number from %ld "
		    "to %ld\n", what, s, min, max);
		exit(1);
	}
	return (int)v;
}

static void
parse_flags(int argc, char **argv, struct pp_config *c)
{
	struct option	longopts[NFLAGS + 1];
	int		ch;

	flags_options(flags, NFLAGS, longopts);
	while ((ch = getopt_long(argc, argv, "dnv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': c->foreground = 1; break;
		case 'n': c->check_only = 1; break;
		case 'v': c->verbose++; break;
		case OPT_PROBE: c->probe = 1; break;
		case OPT_HELP:
			print_usage(stdout);
			exit(0);
		case OPT_VERSION:
			printf("pcipassd %s\n", PCIPASS_VERSION);
			exit(0);
		case OPT_LISTEN: c->listen = optarg; break;
		case OPT_PORT:
			c->port = number(optarg, "--port", 1, 65535);
			break;
		case OPT_DB: c->db = optarg; break;
		case OPT_FILTER:
			c->filter = optarg;
			c->filter_named = 1;
			break;
		case OPT_SYSFS: c->sysfs_root = optarg; break;
		case OPT_PROC: c->proc_root = optarg; break;
		case OPT_AUTH: c->auth = optarg; break;
		case OPT_RESCAN:
			c->rescan = number(optarg, "--rescan", 0, 86400);
			break;
		case OPT_BIND:
			if (strcmp(optarg, "vfio") != 0 &&
			    strcmp(optarg, "none") != 0) {
				fprintf(stderr, "pcipassd: --bind \"%s\": "
				    "expected vfio or none\n", optarg);
				exit(1);
			}
			c->bind_vfio = strcmp(optarg, "vfio") == 0;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
}

static void
report_stderr(const char *msg, void *arg)
{
	(void)arg;
	fprintf(stderr, "%s\n", msg);
}

static int
probe(const struct pp_config *c, const struct pp_filter *f)
{
	struct pp_inventory	inv;
	int			rc;

	if (inventory_scan(c, f, &inv) < 0)
		return 1;
	if (match_states(&inv, c->bind_vfio ? MATCH_BIND : 0) < 0) {
		fprintf(stderr, "pcipassd: out of memory\n");
		inventory_free(&inv);
		return 1;
	}
	rc = format_probe(stdout, &inv);
	inventory_free(&inv);
	if (fflush(stdout) != 0 || rc < 0) {
		fprintf(stderr, "pcipassd: writing the probe: %s\n",
		    strerror(errno));
		return 1;
	}
	return 0;
}

/* The signal thread's: what it takes (blocked in every other thread). */
struct signals {
	sigset_t	 set;
	struct pcipassd	*pd;
	struct rpc	*rpc;
};

/*
 * SIGHUP reloads the filter and rescans, SIGTERM/SIGINT stop the server
 * (calls in flight still get their answer), and the wait times out for
 * the periodic rescans.
 */
static void *
signal_thread(void *arg)
{
	struct signals		*sg = arg;
	struct timespec		 ts = { .tv_sec = sg->pd->conf->rescan };
	struct sync_counts	 counts;
	int			 sig;

	for (;;) {
		sig = sigtimedwait(&sg->set, NULL, ts.tv_sec > 0 ? &ts : NULL);
		if (sig == SIGHUP)
			service_reload(sg->pd);
		else if (sig == SIGTERM || sig == SIGINT) {
			log_info("signal %d: stopping", sig);
			rpc_stop(sg->rpc);
			return NULL;
		} else if (sig < 0 && errno == EAGAIN)
			service_rescan(sg->pd, &counts);
		service_release(sg->pd);
	}
}

/*
 * Telling systemd how we are (sd_notify(3)) through libsystemd, loaded
 * only when systemd asks (NOTIFY_SOCKET): linked in, it brings
 * libgcrypt, liblzma, libzstd, liblz4 and libcap into every run,
 * --probe and -n too, for two calls (a millisecond of each start, 0.8 MB
 * resident). The main thread's only.
 */
static int	(*sd_notify_fn)(int, const char *);

static void	notify(const char *, ...)
		    __attribute__((format(printf, 1, 2)));

/*
 * Loaded at start, so that a host without it fails at once instead of
 * systemd waiting out TimeoutStartSec for a READY that cannot come.
 */
static int
notify_init(void)
{
	void		*h;
	const char	*e;

	if (getenv("NOTIFY_SOCKET") == NULL)
		return 0;
	if ((h = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL)) != NULL &&
	    (*(void **)&sd_notify_fn = dlsym(h, "sd_notify")) != NULL)
		return 0;
	e = dlerror();
	log_warnx("systemd waits to be told when pcipassd is ready "
	    "(NOTIFY_SOCKET is set), but %s", e != NULL ? e :
	    "libsystemd.so.0 cannot be loaded");
	if (h != NULL)
		dlclose(h);
	return -1;
}

static void
notify(const char *fmt, ...)
{
	char	state[256];
	va_list	ap;

	if (sd_notify_fn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(state, sizeof(state), fmt, ap);
	va_end(ap);
	if (sd_notify_fn(0, state) < 0)
		log_warnx("cannot tell systemd \"%s\"", state);
}

/*
 * daemon(3), except that the parent gives back what it holds before it
 * exits: daemon()'s parent ends in _exit(), which need not keep the
 * registers that held the last pointers to them, and valgrind's check of
 * that process then called them lost.
 */
static void
daemonize(struct auth *auth, struct pp_filter *f)
{
	pid_t	pid;
	int	fd;

	if ((pid = fork()) < 0)
		fatal("fork");
	if (pid > 0) {
		auth_free(auth);
		filter_free(f);
		_exit(0);
	}
	if (setsid() < 0)
		fatal("setsid");
	if (chdir("/") < 0)
		fatal("chdir /");
	if ((fd = open("/dev/null", O_RDWR)) < 0)
		fatal("/dev/null");
	if (dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		fatal("dup2");
	if (fd > 2)
		close(fd);
}

/*
 * The daemon, in its start-up order: signals blocked, the auth file
 * read, one daemon per database (said on stderr before detaching),
 * detached, the store opened, the first scan stored, then the port
 * opened, so an open port means a ready daemon (and systemd is told so).
 */
static int
serve(const struct pp_config *c, struct pp_filter *f)
{
	struct pcipassd		 pd;
	struct signals		 sg = { .pd = &pd };
	struct sync_counts	 counts;
	struct auth		*auth;
	pthread_t		 th;
	int			 lock, rc = 1;

	sigemptyset(&sg.set);
	sigaddset(&sg.set, SIGHUP);
	sigaddset(&sg.set, SIGTERM);
	sigaddset(&sg.set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sg.set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (notify_init() < 0) {
		filter_free(f);
		return 1;
	}
	if ((auth = auth_load(c->auth, 1)) == NULL) {
		filter_free(f);
		return 1;
	}
	/* The flock is on the open file, so the daemon child keeps it. */
	if ((lock = store_lock(c->db)) < 0) {
		auth_free(auth);
		filter_free(f);
		return 1;
	}
	/*
	 * Fork before sqlite opens anything: a child does not inherit the
	 * parent's file locks, and a connection opened before the fork would
	 * think it still held its WAL lock (another process closing the
	 * database would then delete the WAL under it).
	 */
	if (!c->foreground)
		daemonize(auth, f);
	if (service_init(&pd, c, f, auth) < 0)
		goto done;
	if (service_rescan(&pd, &counts) < 0) {
		log_warnx("first scan of %s failed", c->sysfs_root);
		goto done;
	}
	log_info("inventory: %d devices added, %d removed, %d changed",
	    counts.added, counts.removed, counts.changed);
	if (service_mend(&pd) < 0)
		goto done;
	if ((sg.rpc = rpc_listen(&pd)) == NULL)
		goto done;
	if (pthread_create(&th, NULL, signal_thread, &sg) != 0)
		fatalx("cannot start the signal thread");
	log_info("pcipassd %s listening on %s:%d", PCIPASS_VERSION,
	    c->listen, c->port);
	notify("READY=1\nSTATUS=listening on %s:%d", c->listen, c->port);
	rpc_run(sg.rpc);
	notify("STOPPING=1");
	pthread_join(th, NULL);
	log_info("stopped");
	rc = 0;
done:
	rpc_free(sg.rpc);
	service_free(&pd);
	close(lock);
	return rc;
}

int
main(int argc, char **argv)
{
	struct pp_config	 c = {
		.listen = "127.0.0.1",
		.port = 2634,
		.db = "/var/lib/pcipass/pcipass.db",
		.filter = "/etc/pcipass/pci.conf",
		.sysfs_root = "/sys",
		.proc_root = "/proc",
		.auth = "/etc/pcipass/auth",
		.rescan = 60,
	};
	struct pp_filter	*f;

	/* One malloc arena per connection thread multiplies the peak of the
	 * large listing answers; two are plenty for a daemon this size. */
	mallopt(M_ARENA_MAX, 2);
	/* A fixed threshold (glibc raises its own after the first big free):
	 * inventories and answers, megabytes on a big host, are mapped and
	 * unmapped, not kept in an arena after they are replaced. */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	parse_flags(argc, argv, &c);
	/* --probe's stdout is the template; what it left out, and why, goes
	 * to stderr only with -v (oned runs it every cycle). */
	log_init(c.foreground || c.probe || c.check_only, c.probe ?
	    c.verbose - 1 : c.verbose);
	if (c.foreground && !c.probe && !c.check_only)
		log_levels(1);
	/* Sessions travel in clear text: off loopback, say so once. */
	if (!c.probe && strncmp(c.listen, "127.", 4) != 0 &&
	    strcmp(c.listen, "localhost") != 0)
		log_warnx("--listen %s: sessions and secrets cross the network "
		    "in clear text; put a TLS terminator (stunnel, as docker/ "
		    "does) in front, or listen on loopback", c.listen);
	/* -n reports the errors of both files before giving up. */
	f = filter_load(c.filter, report_stderr, NULL);
	if (c.check_only) {
		struct auth	*auth;
		int		 bad = f == NULL;

		/* A file named on the command line must exist; the default
		 * one may be missing (nothing is offered), as for the daemon. */
		if (f != NULL && access(c.filter, F_OK) < 0 && errno == ENOENT) {
			if (c.filter_named) {
				fprintf(stderr, "%s: no such file\n", c.filter);
				bad = 1;
			} else
				fprintf(stderr, "%s: no such file: no device "
				    "is offered (passthrough is opt-in; see "
				    "pci.conf in the README)\n", c.filter);
		}

		if ((auth = auth_load(c.auth, 0)) == NULL)
			bad = 1;
		auth_free(auth);
		filter_free(f);
		if (bad)
			return 1;
		printf("configuration OK\n");
		return 0;
	}
	if (f == NULL)
		return 1;
	if (access(c.filter, F_OK) < 0 && errno == ENOENT)
		log_warnx("%s: no such file: no device is offered "
		    "(passthrough is opt-in; see pci.conf in the README)",
		    c.filter);
	if (c.probe) {
		int	rc = probe(&c, f);

		filter_free(f);
		return rc;
	}
	return serve(&c, f);
}
