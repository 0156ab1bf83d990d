/*
 * pcipass-host: host preparation, run locally as root, no daemon needed.
 *
 *   pcipass-host host check
 *   pcipass-host host config --modprobe|--blacklist|--dracut|--cmdline|
 *                            --qemu-acl [--write] [--etc-root DIR]
 *   pcipass-host bind [--from FILE] [ADDR...]
 *   pcipass-host unbind [--from FILE] [ADDR...]
 *
 * It sees the host as the daemon does (--sysfs-root, --proc-root,
 * --filter, --db), so it offers, guards and records exactly what the
 * daemon would. The `pcipass` CLI execs it with the same argv for
 * `pcipass host|bind|unbind`. Exit 0 ok, 1 failure, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcipassd.h"
#include "flags.h"

#define MAXADDR		256

struct command {
	const char	*word1, *word2;
	int		(*run)(struct host_ctx *, char **, int);
	const char	*args;
};

static int	cmd_check(struct host_ctx *, char **, int);
static int	cmd_config(struct host_ctx *, char **, int);
static int	cmd_bind(struct host_ctx *, char **, int);
static int	cmd_unbind(struct host_ctx *, char **, int);

static const struct command commands[] = {
	{ "host", "check", cmd_check, "" },
	{ "host", "config", cmd_config, "--modprobe|--blacklist|--dracut|"
	    "--cmdline|--qemu-acl... [--write] [--etc-root DIR]" },
	{ "bind", NULL, cmd_bind, "[--from FILE] ADDR..." },
	{ "unbind", NULL, cmd_unbind, "[--from FILE] ADDR..." },
};
#define NCOMMANDS	(sizeof(commands) / sizeof(commands[0]))

enum { OPT_SYSFS = 256, OPT_PROC, OPT_FILTER, OPT_DB, OPT_ETC, OPT_WRITE,
    OPT_FROM, OPT_MODPROBE, OPT_BLACKLIST, OPT_DRACUT, OPT_CMDLINE,
    OPT_QEMU_ACL, OPT_VERSION };

static const struct flag flags[] = {
	{ NULL, 'v', NULL, "log more" },
	{ "sysfs-root", OPT_SYSFS, "DIR", "root of sysfs (default /sys)" },
	{ "proc-root", OPT_PROC, "DIR", "root of procfs (default /proc)" },
	{ "filter", OPT_FILTER, "PATH", "OpenNebula pci.conf (default "
	    "/etc/pcipass/pci.conf)" },
	{ "db", OPT_DB, "PATH", "the daemon's database, for original drivers "
	    "(default /var/lib/pcipass/pcipass.db)" },
	{ "etc-root", OPT_ETC, "DIR", "config: where --write writes (default "
	    "/etc)" },
	{ "write", OPT_WRITE, NULL, "config: write the files (atomically, with "
	    "a backup) instead of printing them" },
	{ "from", OPT_FROM, "FILE", "bind, unbind: the DEVICES=\"...\" of a "
	    "bind.conf" },
	{ "modprobe", OPT_MODPROBE, NULL, "config: softdep and vfio-pci ids" },
	{ "blacklist", OPT_BLACKLIST, NULL, "config: drivers that drive only "
	    "offered devices" },
	{ "dracut", OPT_DRACUT, NULL, "config: vfio modules in the initrd" },
	{ "cmdline", OPT_CMDLINE, NULL, "config: IOMMU kernel parameters" },
	{ "qemu-acl", OPT_QEMU_ACL, NULL, "config: qemu.conf's "
	    "cgroup_device_acl" },
	{ "help", 'h', NULL, "this text, exit" },
	{ "version", OPT_VERSION, NULL, "the version, exit" },
};
#define NFLAGS	(sizeof(flags) / sizeof(flags[0]))

static void
print_usage(FILE *fp)
{
	size_t	i;

	for (i = 0; i < NCOMMANDS; i++)
		fprintf(fp, "%s pcipass-host %s%s%s %s\n", i ? "      " :
		    "usage:", commands[i].word1, commands[i].word2 ? " " : "",
		    commands[i].word2 ? commands[i].word2 : "",
		    commands[i].args);
	fprintf(fp, "       common: [-v] [--sysfs-root DIR] "
	    "[--proc-root DIR] [--filter PATH] [--db PATH]\n\n");
	flags_print(fp, flags, NFLAGS);
}

static void
usage(void)
{
	print_usage(stderr);
}

static int
parse_flags(int argc, char **argv, struct host_ctx *h)
{
	struct option	longopts[NFLAGS + 1];
	int		ch;

	flags_options(flags, NFLAGS, longopts);
	while ((ch = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			print_usage(stdout);
			exit(0);
		case OPT_VERSION:
			printf("pcipass-host %s\n", PCIPASS_VERSION);
			exit(0);
		case 'v': h->conf.verbose++; break;
		case OPT_SYSFS: h->conf.sysfs_root = optarg; break;
		case OPT_PROC: h->conf.proc_root = optarg; break;
		case OPT_FILTER: h->conf.filter = optarg; break;
		case OPT_DB: h->conf.db = optarg; break;
		case OPT_ETC: h->etc_root = optarg; break;
		case OPT_WRITE: h->write = 1; break;
		case OPT_FROM: h->from = optarg; break;
		case OPT_MODPROBE: h->configs |= CONF_MODPROBE; break;
		case OPT_BLACKLIST: h->configs |= CONF_BLACKLIST; break;
		case OPT_DRACUT: h->configs |= CONF_DRACUT; break;
		case OPT_CMDLINE: h->configs |= CONF_CMDLINE; break;
		case OPT_QEMU_ACL: h->configs |= CONF_QEMU_ACL; break;
		default:
			return -1;
		}
	}
	return 0;
}

static void
report_stderr(const char *msg, void *arg)
{
	(void)arg;
	fprintf(stderr, "pcipass-host: %s\n", msg);
}

/* The filter and a scan, as the daemon would see them. */
static int
load_inventory(struct host_ctx *h)
{
	if ((h->filter = filter_load(h->conf.filter, report_stderr, NULL)) ==
	    NULL)
		return -1;
	if (inventory_scan(&h->conf, h->filter, &h->inv) < 0) {
		fprintf(stderr, "pcipass-host: cannot scan %s/bus/pci\n",
		    h->conf.sysfs_root);
		return -1;
	}
	return 0;
}

static int
cmd_check(struct host_ctx *h, char **args, int nargs)
{
	(void)args;
	if (nargs != 0 || h->configs || h->write || h->from) {
		usage();
		return 2;
	}
	if (load_inventory(h) < 0)
		return 1;
	return host_check(h, stdout) == 0 ? 0 : 1;
}

static int
cmd_config(struct host_ctx *h, char **args, int nargs)
{
	(void)args;
	if (nargs != 0 || h->configs == 0 || h->from) {
		usage();
		return 2;
	}
	if (load_inventory(h) < 0)
		return 1;
	return host_config(h, stdout) == 0 ? 0 : 1;
}

/*
 * bind.conf: `DEVICES="0000:04:00.0 0000:05:00.0"`, comments and blank
 * lines; several DEVICES lines add up. Every error as FILE:LINE.
 */
static int
read_bind_conf(const char *path, char **words, int *n, int max)
{
	char	 line[4096], *p, *end, *w, *save = NULL;
	FILE	*f;
	int	 lineno = 0, errors = 0;

	if ((f = fopen(path, "re")) == NULL) {
		fprintf(stderr, "pcipass-host: %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		p = line + strspn(line, " \t");
		p[strcspn(p, "\r\n")] = '\0';
		if (*p == '\0' || *p == '#')
			continue;
		if (strncmp(p, "DEVICES=", 8) != 0) {
			fprintf(stderr, "%s:%d: expected DEVICES=\"ADDR ...\"\n",
			    path, lineno);
			errors++;
			continue;
		}
		p += 8;
		if (*p == '"' && ((end = strrchr(p + 1, '"')) == NULL ||
		    end[1 + strspn(end + 1, " \t")] != '\0')) {
			fprintf(stderr, "%s:%d: unbalanced quote\n", path,
			    lineno);
			errors++;
			continue;
		}
		if (*p == '"') {
			*end = '\0';
			p++;
		}
		for (w = strtok_r(p, " \t", &save); w != NULL;
		    w = strtok_r(NULL, " \t", &save)) {
			if (*n >= max) {
				fprintf(stderr, "%s:%d: more than %d devices\n",
				    path, lineno, max);
				errors++;
				break;
			}
			words[(*n)++] = strdup(w);
		}
	}
	fclose(f);
	return errors ? -1 : 0;
}

/*
 * The addresses of the command line and --from, in the strict forms of
 * addr.c; anything else is refused before any scan or write.
 */
static int
parse_addrs(struct host_ctx *h, char **args, int nargs, pp_addr *out,
    size_t *nout)
{
	char	*words[MAXADDR];
	int	 n = 0, i, rc = 0;

	if (h->from != NULL && read_bind_conf(h->from, words, &n, MAXADDR) <
	    0)
		rc = 1;
	for (i = 0; i < nargs && n < MAXADDR; i++)
		words[n++] = strdup(args[i]);
	for (i = 0, *nout = 0; i < n; i++) {
		if (rc == 0 && (words[i] == NULL ||
		    addr_parse_any(words[i], &out[*nout]) < 0)) {
			fprintf(stderr, "pcipass-host: \"%s\" is not a PCI "
			    "address (DDDD:BB:SS.F)\n", words[i] ? words[i] :
			    "");
			rc = 2;
		}
		(*nout)++;
		free(words[i]);
	}
	if (rc == 0 && *nout == 0 && h->from == NULL) {
		usage();
		rc = 2;
	}
	return rc;
}

static int
open_db(struct host_ctx *h, sqlite3 **db)
{
	int	n;

	if ((*db = store_open(h->conf.db, 1)) == NULL) {
		fprintf(stderr, "pcipass-host: cannot open the database %s\n",
		    h->conf.db);
		return -1;
	}
	/* A bind of ours that a crash left uncommitted goes back first. */
	bind_journal_use("binding-host");
	if (bind_journal_mend(h->conf.sysfs_root, *db, &n) == 0 && n > 0)
		fprintf(stderr, "pcipass-host: %d device(s) of an earlier bind "
		    "that never committed given back to their drivers\n", n);
	if (store_begin(*db) < 0) {
		store_close(*db);
		return -1;
	}
	return 0;
}

static int
cmd_bind(struct host_ctx *h, char **args, int nargs)
{
	struct bind_set	 set = { 0, NULL };
	pp_addr		 a[MAXADDR];
	size_t		 n, i;
	sqlite3		*db;
	char		 msg[1024], s[PP_ADDR_SYSFS_LEN];
	int		 rc;

	if (h->configs || h->write)
		return usage(), 2;
	if ((rc = parse_addrs(h, args, nargs, a, &n)) != 0)
		return rc;
	if (n == 0) {
		printf("no device listed; nothing to do\n");
		return 0;
	}
	if (load_inventory(h) < 0 || open_db(h, &db) < 0)
		return 1;
	if (bind_devices(h->conf.sysfs_root, db, &h->inv, a, n, -1, &set, msg,
	    sizeof(msg)) < 0) {
		store_rollback(db);
		store_close(db);
		fprintf(stderr, "pcipass-host: bind: %s; nothing changed\n",
		    msg);
		return 1;
	}
	if (store_commit(db) < 0) {
		bind_undo(h->conf.sysfs_root, &set);
		fprintf(stderr, "pcipass-host: bind: cannot record the original "
		    "drivers in %s; undone\n", h->conf.db);
		rc = 1;
	} else
		bind_journal_clear(db);
	for (i = 0; rc == 0 && i < set.n; i++)
		printf("%s: %s -> vfio-pci\n", addr_fmt(set.item[i].addr,
		    ADDR_SYSFS, s, sizeof(s)), set.item[i].driver[0] ?
		    set.item[i].driver : "(none)");
	if (rc == 0 && set.n == 0)
		printf("already on vfio-pci\n");
	bind_set_free(&set);
	store_close(db);
	return rc;
}

static int
cmd_unbind(struct host_ctx *h, char **args, int nargs)
{
	pp_addr	 a[MAXADDR];
	size_t	 n;
	sqlite3	*db;
	char	 msg[1024];
	int	 rc, count;

	if (h->configs || h->write)
		return usage(), 2;
	if ((rc = parse_addrs(h, args, nargs, a, &n)) != 0)
		return rc;
	if (load_inventory(h) < 0 || open_db(h, &db) < 0)
		return 1;
	if (unbind_devices(h->conf.sysfs_root, db, &h->inv, a, n, &count, msg,
	    sizeof(msg)) < 0) {
		/* Writes already made stand; the records of those stay. */
		store_rollback(db);
		store_close(db);
		fprintf(stderr, "pcipass-host: unbind: %s\n", msg);
		return 1;
	}
	rc = store_commit(db) < 0 ? 1 : 0;
	store_close(db);
	printf("%d device%s given back to %s driver%s\n", count,
	    count == 1 ? "" : "s", count == 1 ? "its" : "their",
	    count == 1 ? "" : "s");
	return rc;
}

static const struct command *
find_command(char **words, int nwords, int *used)
{
	size_t	i;

	for (i = 0; nwords > 0 && i < NCOMMANDS; i++) {
		if (strcmp(words[0], commands[i].word1) != 0)
			continue;
		if (commands[i].word2 == NULL) {
			*used = 1;
			return &commands[i];
		}
		if (nwords > 1 && strcmp(words[1], commands[i].word2) == 0) {
			*used = 2;
			return &commands[i];
		}
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	struct host_ctx		 h = {
		.conf = {
			.db = "/var/lib/pcipass/pcipass.db",
			.filter = "/etc/pcipass/pci.conf",
			.sysfs_root = "/sys",
			.proc_root = "/proc",
		},
		.etc_root = "/etc",
	};
	const struct command	*cmd;
	int			 used = 0, rc;

	if (parse_flags(argc, argv, &h) < 0) {
		usage();
		return 2;
	}
	log_init(1, h.conf.verbose);
	if ((cmd = find_command(argv + optind, argc - optind, &used)) ==
	    NULL) {
		usage();
		return 2;
	}
	rc = cmd->run(&h, argv + optind + used, argc - optind - used);
	inventory_free(&h.inv);
	filter_free(h.filter);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "pcipass-host: writing stdout: %s\n",
		    strerror(errno));
		return 1;
	}
	return rc;
}
