/*
 * pcipass: the command-line tool, a table of commands over libpcipass.
 *
 * Exit codes: 0 success; 1 error (the server's message is printed); 2
 * usage. Requests given with --pci or --template are checked before
 * anything is sent: a malformed one, or a template that cannot be read
 * or parsed ("FILE:LINE: message"), is a usage error and exits 2.
 *
 * Endpoint: -H HOST[:PORT], else $PCIPASS_ENDPOINT, else 127.0.0.1:2634.
 * Session: $PCIPASS_AUTH, else ~/.pcipass/auth.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pcipass.h"
#include "flags.h"

/* This program's version; `pcipass version` asks the daemon for its own. */
#define PCIPASS_CLI_VERSION	"0.1.0"

#define EX_OK		0
#define EX_ERR		1
#define EX_USAGE	2
#define MAXHOSTS	256

struct opts {
	const char		*host[MAXHOSTS];
	size_t			 nhost;
	const char		*format;	/* NULL, "json", "xml" */
	unsigned		 columns;
	pcipass_request_list	*reqs;
	const char		*template;
	const char		*from;		/* OpenNebula's XML */
	const char		*vm_xml;	/* its PROFILEs */
	int			 policy;
	int			 deadline;
	int			 timeout;
	int			 apply;
	long long		 as_of;		/* -1: when the view was read */
	int			 argc;		/* positional */
	char			**argv;
};

struct command {
	const char	*name;
	int		(*fn)(struct opts *);
	int		 npos;		/* positional arguments */
	int		 needs_reqs;
	const char	*args;
	const char	*help;
};

static const struct command *current;

static int	usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
usage(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "pcipass: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	if (current != NULL)
		fprintf(stderr, "usage: pcipass %s %s\n", current->name,
		    current->args);
	return EX_USAGE;
}

static int
fail(void)
{
	fprintf(stderr, "pcipass: %s\n", pcipass_error_last()->message);
	return EX_ERR;
}

static int
vmid_arg(const char *s, int *out)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno || v < 0 || v > INT_MAX)
		return usage("VMID \"%s\": expected 0 to 2147483647", s);
	*out = (int)v;
	return 0;
}

static int
connect_(pcipass_client **c, const struct opts *o)
{
	const char	*ep = o->nhost ? o->host[0] : getenv("PCIPASS_ENDPOINT");

	if (pcipass_client_new(c, ep && *ep ? ep : "127.0.0.1", NULL) < 0)
		return fail();
	if (o->timeout > 0)
		pcipass_client_set_timeout(*c, o->timeout);
	return 0;
}

static int
print_table(pcipass_device_list *l, unsigned cols)
{
	char	*s;
	int	 rc = pcipass_render_table(&s, l, cols);

	pcipass_device_list_free(l);
	if (rc < 0)
		return fail();
	fputs(s, stdout);
	free(s);
	return EX_OK;
}

static int
print_text(char *s, int rc)
{
	if (rc < 0)
		return fail();
	fputs(s, stdout);
	if (*s && s[strlen(s) - 1] != '\n')
		putchar('\n');
	free(s);
	return EX_OK;
}

static int
c_list(struct opts *o)
{
	pcipass_client		*c;
	pcipass_device_list	*l;
	char			*s;
	int			 rc;

	if (connect_(&c, o))
		return EX_ERR;
	if (o->format && strcmp(o->format, "xml") == 0) {
		rc = pcipass_info(&s, c);
		pcipass_client_free(c);
		return print_text(s, rc);
	}
	rc = pcipass_list(&l, c);
	pcipass_client_free(c);
	if (rc < 0)
		return fail();
	/* An empty table is most often a pci.conf that offers nothing. */
	if (pcipass_device_list_count(l) == 0)
		fprintf(stderr, "pcipass: no device listed: the daemon's "
		    "pci.conf offers none (passthrough is opt-in, see "
		    "pci.conf(5)), and no VM holds one\n");
	if (o->format == NULL)
		return print_table(l, o->columns);
	rc = pcipass_render_json(&s, l);
	pcipass_device_list_free(l);
	return print_text(s, rc);
}

static int
c_tree(struct opts *o)
{
	pcipass_client		*c;
	pcipass_device_list	*l;
	char			*s;
	int			 rc;

	if (o->format != NULL && strcmp(o->format, "json") != 0)
		return usage("tree takes --json, not --xml");
	if (connect_(&c, o))
		return EX_ERR;
	rc = pcipass_tree(&l, c);
	pcipass_client_free(c);
	if (rc < 0)
		return fail();
	if (o->format == NULL)
		rc = pcipass_render_tree(&s, l);
	else
		rc = pcipass_render_tree_json(&s, l);
	pcipass_device_list_free(l);
	return print_text(s, rc);
}

/* The devices of VM argv[0]: EX_OK, or the exit code to return. */
static int
vm_devices(struct opts *o, pcipass_device_list **l)
{
	pcipass_client	*c;
	int		 vmid, rc;

	if (vmid_arg(o->argv[0], &vmid))
		return EX_USAGE;
	if (connect_(&c, o))
		return EX_ERR;
	rc = pcipass_vm(l, c, vmid);
	pcipass_client_free(c);
	return rc < 0 ? fail() : EX_OK;
}

static int
c_vm(struct opts *o)
{
	pcipass_device_list	*l;
	int			 rc;

	if ((rc = vm_devices(o, &l)) != EX_OK)
		return rc;
	return print_table(l, o->columns);
}

static int
c_hostdev(struct opts *o)
{
	pcipass_device_list	*l;
	char			*s;
	int			 rc;

	if ((rc = vm_devices(o, &l)) != EX_OK)
		return rc;
	rc = pcipass_render_hostdev(&s, l);
	pcipass_device_list_free(l);
	if (rc < 0)
		return fail();
	fputs(s, stdout);
	if (s[0] != '\0' && s[strlen(s) - 1] != '\n')
		putchar('\n');
	free(s);
	return EX_OK;
}

static int
c_allocate(struct opts *o)
{
	pcipass_client		*c;
	pcipass_device_list	*l;
	int			 vmid, rc;

	if (vmid_arg(o->argv[0], &vmid))
		return EX_USAGE;
	if (connect_(&c, o))
		return EX_ERR;
	if (o->from != NULL && (rc = pcipass_requests_from_xml(&o->reqs,
	    o->from, o->vm_xml, c, strcmp(current->name, "attach") == 0)) <
	    0) {
		pcipass_client_free(c);
		/* A bad file is a usage error; a daemon that fails, not. */
		return rc == PCIPASS_EINVAL ? usage("%s",
		    pcipass_error_last()->message) : fail();
	}
	/* A deployment with no device: nothing to hold here. */
	if (o->from != NULL && pcipass_request_list_count(o->reqs) == 0) {
		pcipass_client_free(c);
		return EX_OK;
	}
	if (strcmp(current->name, "attach") == 0)
		rc = pcipass_attach(&l, c, vmid, o->reqs);
	else
		rc = pcipass_allocate(&l, c, vmid, o->reqs);
	pcipass_client_free(c);
	return rc < 0 ? fail() : print_table(l, o->columns);
}

static int
c_release(struct opts *o)
{
	pcipass_client	*c;
	int		 vmid, rc, n = 0;

	if (vmid_arg(o->argv[0], &vmid))
		return EX_USAGE;
	if (connect_(&c, o))
		return EX_ERR;
	rc = pcipass_release(&n, c, vmid);
	pcipass_client_free(c);
	if (rc < 0)
		return fail();
	printf("VM %d: %d device(s) released\n", vmid, n);
	return EX_OK;
}

static int
c_detach(struct opts *o)
{
	pcipass_client	*c;
	int		 vmid, rc;

	if (vmid_arg(o->argv[0], &vmid))
		return EX_USAGE;
	if (connect_(&c, o))
		return EX_ERR;
	rc = pcipass_detach(c, vmid, o->argv[1]);
	pcipass_client_free(c);
	if (rc < 0)
		return fail();
	printf("VM %d: %s detached\n", vmid, o->argv[1]);
	return EX_OK;
}

static int
c_test(struct opts *o)
{
	pcipass_client		*c;
	pcipass_test_result	*t;
	size_t			 i;
	int			 vmid = -1, rc;

	if (o->argc > 0 && vmid_arg(o->argv[0], &vmid))
		return EX_USAGE;
	if (connect_(&c, o))
		return EX_ERR;
	rc = pcipass_test(&t, c, o->reqs, vmid);
	pcipass_client_free(c);
	if (rc < 0)
		return fail();
	printf("FITS %s\nFREE", pcipass_test_result_fits(t) ? "yes" : "no");
	for (i = 0; i < pcipass_test_result_count(t); i++)
		printf(" %d", pcipass_test_result_free_count(t, i));
	printf("\n");
	if (*pcipass_test_result_reason(t))
		printf("REASON %s\n", pcipass_test_result_reason(t));
	rc = pcipass_test_result_fits(t) ? EX_OK : EX_ERR;
	pcipass_test_result_free(t);
	return rc;
}

static int
c_monitor(struct opts *o)
{
	pcipass_client	*c;
	int		 a, r, ch, rc;

	if (connect_(&c, o))
		return EX_ERR;
	rc = pcipass_monitor(&a, &r, &ch, c);
	pcipass_client_free(c);
	if (rc < 0)
		return fail();
	printf("ADDED %d\nREMOVED %d\nCHANGED %d\n", a, r, ch);
	return EX_OK;
}

/* pci.probe: the template OpenNebula's monitoring reads, held included. */
static int
c_probe(struct opts *o)
{
	pcipass_client	*c;
	char		*s;
	int		 rc;

	if (connect_(&c, o))
		return EX_ERR;
	rc = pcipass_probe(&s, c);
	pcipass_client_free(c);
	return print_text(s, rc);
}

static int
c_version(struct opts *o)
{
	pcipass_client	*c;
	char		*s;
	int		 rc;

	if (connect_(&c, o))
		return EX_ERR;
	rc = pcipass_version(&s, c);
	pcipass_client_free(c);
	return print_text(s, rc);
}

static int
c_place(struct opts *o)
{
	pcipass_placement	*p;
	pcipass_device_list	*l;
	char			*s;
	int			 vmid, rc;

	if (vmid_arg(o->argv[0], &vmid))
		return EX_USAGE;
	if (o->nhost == 0)
		return usage("place needs at least one -H HOST[:PORT]");
	/* API.md fixes this message's text: print it as it is. */
	if (pcipass_place(&p, o->host, o->nhost, NULL, vmid, o->reqs,
	    o->policy, o->deadline) < 0) {
		fprintf(stderr, "%s\n", pcipass_error_last()->message);
		return EX_ERR;
	}
	l = (pcipass_device_list *)pcipass_placement_devices(p);
	printf("HOST %s\n\n", pcipass_placement_host(p));
	rc = pcipass_render_table(&s, l, o->columns);
	pcipass_placement_free(p);
	if (rc < 0)
		return fail();
	fputs(s, stdout);
	free(s);
	return EX_OK;
}

/* -H NAME=HOST[:PORT] of reconcile: the endpoint for view host NAME. */
static int
host_map(const struct opts *o, const pcipass_view *v, const char **ep)
{
	size_t	i, k, n;

	for (i = 0; i < o->nhost; i++) {
		n = strcspn(o->host[i], "=");
		if (o->host[i][n] != '=' || n == 0 || o->host[i][n + 1] == '\0')
			return usage("-H \"%s\": reconcile takes NAME=HOST"
			    "[:PORT]", o->host[i]);
		for (k = 0; k < pcipass_view_host_count(v); k++)
			if (strlen(pcipass_view_host(v, k)) == n &&
			    strncmp(pcipass_view_host(v, k), o->host[i], n) ==
			    0)
				break;
		if (k == pcipass_view_host_count(v))
			return usage("-H \"%s\": no host %.*s in the view",
			    o->host[i], (int)n, o->host[i]);
		ep[k] = o->host[i] + n + 1;
	}
	return 0;
}

/*
 * When oned's view was read: the file's time, or for standard input the
 * time before reading it; less a minute, for the clocks of the frontend
 * and the hosts (as_of is the frontend's time, a holding's the host's):
 * a holding taken in that minute is RECENT, never released.
 */
#define VIEW_SKEW	60

static long long
view_time(const char *path, time_t before)
{
	struct stat	st;

	if (strcmp(path, "-") != 0 && stat(path, &st) == 0)
		before = st.st_mtime;
	return (long long)before > VIEW_SKEW ? (long long)before - VIEW_SKEW :
	    0;
}

/* One host's findings as a table; returns how many were not applied. */
static size_t
print_host(const pcipass_reconciliation *r, size_t h, int apply)
{
	const char	*name, *ep, *error, *class, *addr, *why, *act;
	size_t		 i, host, n = 0, open_ = 0;
	int		 vmid;

	pcipass_reconciliation_host(r, h, &name, &ep, &error);
	for (i = 0; i < pcipass_reconciliation_count(r); i++) {
		pcipass_reconciliation_get(r, i, &host, &class, &vmid, &addr,
		    &why);
		n += host == h;
	}
	if (error != NULL) {
		printf("HOST %s (%s): error: %s\n", name, ep, error);
		return 1;
	}
	if (n == 0) {
		printf("HOST %s (%s): in step\n", name, ep);
		return 0;
	}
	printf("HOST %s (%s): %zu differ\n", name, ep, n);
	printf("  %-8s %-8s %5s %-12s %s\n", "CLASS", "ACTION", "VM",
	    "ADDRESS", "REASON");
	for (i = 0; i < pcipass_reconciliation_count(r); i++) {
		pcipass_reconciliation_get(r, i, &host, &class, &vmid, &addr,
		    &why);
		if (host != h)
			continue;
		act = !apply ? "none" : strcmp(class, "LEAKED") == 0 ?
		    "released" : strcmp(class, "MISSING") == 0 ? "taken" :
		    "none";
		open_ += strcmp(act, "none") == 0;
		printf("  %-8s %-8s %5d %-12s %s\n", class, act, vmid, addr,
		    why);
	}
	return open_;
}

static int
c_reconcile(struct opts *o)
{
	pcipass_view		*v;
	pcipass_reconciliation	*r;
	const char		**ep;
	size_t			 i, open_ = 0;
	long long		 as_of;
	time_t			 before = time(NULL);
	int			 rc;

	if (pcipass_view_read(&v, o->argv[0]) < 0)
		return usage("%s", pcipass_error_last()->message);
	as_of = o->as_of >= 0 ? o->as_of : view_time(o->argv[0], before);
	if ((ep = calloc(pcipass_view_host_count(v) + 1, sizeof(*ep))) ==
	    NULL) {
		pcipass_view_free(v);
		return fail();
	}
	if ((rc = host_map(o, v, ep)) != 0) {
		free(ep);
		pcipass_view_free(v);
		return rc;
	}
	rc = pcipass_reconcile(&r, v, ep, NULL, as_of, o->apply, o->timeout);
	free(ep);
	pcipass_view_free(v);
	if (rc < 0)
		return fail();
	for (i = 0; i < pcipass_reconciliation_hosts(r); i++)
		open_ += print_host(r, i, o->apply);
	pcipass_reconciliation_free(r);
	return open_ > 0 ? EX_ERR : EX_OK;
}

static int	c_help(struct opts *);
static int	c_host(struct opts *);

static const struct command commands[] = {
	{ "list", c_list, 0, 0, "[-H host:port] [--json|--xml] "
	    "[--columns CLASS,VENDOR,NUMA,IOMMU,STATE,REASON,PROFILES]",
	    "the host's devices (onehost table, JSON or pci.info XML)" },
	{ "tree", c_tree, 0, 0, "[-H host:port] [--json]",
	    "the PCI hierarchy as lspci -t draws it, with each function's "
	    "IOMMU group, driver, STATE, holder and REASON" },
	{ "vm", c_vm, 1, 0, "VMID [-H host:port]",
	    "the devices a VM holds" },
	{ "hostdev", c_hostdev, 1, 0, "VMID [-H host:port]",
	    "libvirt <hostdev> XML for a VM's devices" },
	{ "allocate", c_allocate, 1, 1, "VMID (--pci K=V,... ... | "
	    "--template FILE | --from FILE) [-H host:port]",
	    "allocate devices to a VM, all requests or none" },
	{ "release", c_release, 1, 0, "VMID [-H host:port]",
	    "release every device of a VM" },
	{ "attach", c_allocate, 1, 1, "VMID (--pci K=V,... | --from FILE) "
	    "[-H host:port]",
	    "add one device to a VM" },
	{ "detach", c_detach, 2, 0, "VMID ADDRESS [-H host:port]",
	    "take one device from a VM" },
	{ "test", c_test, -1, 1, "[VMID] (--pci K=V,... | --template FILE) "
	    "[-H host:port]", "whether requests fit (exit 1 if not)" },
	{ "probe", c_probe, 0, 0, "[-H host:port]",
	    "the OpenNebula monitoring template (pci.probe)" },
	{ "monitor", c_monitor, 0, 0, "[-H host:port]",
	    "rescan the host now" },
	{ "version", c_version, 0, 0, "[-H host:port]",
	    "the daemon's version" },
	{ "place", c_place, 1, 1, "VMID -H h1 -H h2 ... (--pci K=V,... | "
	    "--template FILE) [--policy first|most-free] [--deadline MS]",
	    "choose a host that fits and allocate there" },
	{ "reconcile", c_reconcile, 1, 0, "[--apply] [--as-of T] "
	    "[-H NAME=HOST[:PORT] ...] FILE|-",
	    "compare oned's view (onehost list -x, onehost show -x) with "
	    "every host's daemon; act only with --apply; exit 1 if something "
	    "differs and was not applied" },
	{ "host", c_host, -1, 0, "ARGS...", "run pcipass-host host ARGS" },
	{ "bind", c_host, -1, 0, "ARGS...", "run pcipass-host bind ARGS" },
	{ "unbind", c_host, -1, 0, "ARGS...",
	    "run pcipass-host unbind ARGS" },
	{ "help", c_help, 0, 0, "", "this list" },
};
#define NCOMMANDS	(sizeof(commands) / sizeof(commands[0]))

/* The options, as getopt takes them and --help explains them. */
static const struct flag flags[] = {
	{ "host", 'H', "HOST[:PORT]", "the daemon (default $PCIPASS_ENDPOINT, "
	    "else 127.0.0.1:2634); place takes several" },
	{ "json", 'j', NULL, "list: the JSON Sunstone reads; tree: the "
	    "hierarchy as JSON" },
	{ "xml", 'x', NULL, "list: the <PCI_DEVICES> XML of pci.info" },
	{ "columns", 'c', "A,B,...", "list, vm: more columns (CLASS, VENDOR, "
	    "NUMA, IOMMU, STATE, REASON, PROFILES)" },
	{ "pci", 'p', "K=V,...", "one request (repeatable)" },
	{ "template", 'T', "FILE", "the PCI = [ ... ] blocks of an OpenNebula "
	    "VM template" },
	{ "from", 'F', "FILE", "allocate, attach: the devices OpenNebula chose: "
	    "a deployment file's <hostdev>s, or the VM XML's PCI (attach: the "
	    "one with ATTACH = YES)" },
	{ "vm-xml", 'X', "FILE", "with --from: the VM XML whose PCI give "
	    "each address its PROFILE" },
	{ "policy", 'P', "first|most-free", "place: which fitting host "
	    "(default first)" },
	{ "deadline", 'd', "MS", "place: give up on silent hosts after MS "
	    "(default 5000)" },
	{ "timeout", 't', "MS", "one call's timeout (default 30000)" },
	{ "apply", 'a', NULL, "reconcile: release what leaked, take what is "
	    "missing" },
	{ "as-of", 'A', "T", "reconcile: when the view was taken, Unix "
	    "seconds (default: the file's time, or when - was read, less "
	    "60 s for clock skew)" },
	{ "help", 'h', NULL, "this text" },
};
#define NFLAGS	(sizeof(flags) / sizeof(flags[0]))

static void
print_flags(FILE *fp)
{
	fprintf(fp, "options:\n");
	flags_print(fp, flags, NFLAGS);
}

static void
print_command_help(const struct command *c)
{
	printf("usage: pcipass %s %s\n\n%s\n\n", c->name, c->args, c->help);
	print_flags(stdout);
}

static void
print_help(FILE *fp)
{
	size_t	i;

	fprintf(fp, "usage: pcipass COMMAND [ARGS]\n\ncommands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(fp, "  %-9s %s\n  %-9s   %s\n", commands[i].name,
		    commands[i].args, "", commands[i].help);
	fprintf(fp, "\n");
	print_flags(fp);
	fprintf(fp, "\nrequests: --pci 'KEY=VALUE,...' with keys VENDOR, "
	    "DEVICE, CLASS, SHORT_ADDRESS,\n  ADDRESS, NUMA_NODE, TYPE, MAC, "
	    "IP, IP6, VLAN_ID, NETWORK, PROFILE\n"
	    "environment: PCIPASS_AUTH (session file), PCIPASS_ENDPOINT\n"
	    "exit: 0 success, 1 error, 2 usage\n");
}

static int
c_help(struct opts *o)
{
	(void)o;
	print_help(stdout);
	return EX_OK;
}

/* pcipass-host next to this binary, else from PATH. */
static int
c_host(struct opts *o)
{
	char	 self[PATH_MAX], path[PATH_MAX + 32], *slash;
	char	**argv;
	ssize_t	 n;
	int	 i;

	if ((argv = calloc((size_t)o->argc + 3, sizeof(char *))) == NULL)
		return EX_ERR;
	argv[0] = "pcipass-host";
	argv[1] = (char *)current->name;
	for (i = 0; i < o->argc; i++)
		argv[i + 2] = o->argv[i];
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			snprintf(path, sizeof(path), "%s/pcipass-host", self);
			if (access(path, X_OK) == 0)
				execv(path, argv);
		}
	}
	execvp("pcipass-host", argv);
	fprintf(stderr, "pcipass: cannot run pcipass-host: %s\n",
	    strerror(errno));
	free(argv);
	return EX_ERR;
}

static int
add_pci(struct opts *o, const char *spec)
{
	if (o->reqs == NULL && pcipass_request_list_new(&o->reqs) < 0)
		return fail();
	if (pcipass_request_parse(o->reqs, spec) < 0)
		return usage("--pci '%s': %s", spec,
		    pcipass_error_last()->message);
	return 0;
}

static int
int_opt(const char *name, const char *s, int *out)
{
	char	*end;
	long	 v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 1 || v > 3600000)
		return usage("%s \"%s\": expected 1 to 3600000 ms", name, s);
	*out = (int)v;
	return 0;
}

static int
option(struct opts *o, int ch, const char *arg)
{
	switch (ch) {
	case 'H':
		if (o->nhost >= MAXHOSTS)
			return usage("at most %d hosts", MAXHOSTS);
		o->host[o->nhost++] = arg;
		return 0;
	case 'j':
	case 'x':
		if (o->format != NULL)
			return usage("give --json or --xml, not both");
		o->format = ch == 'j' ? "json" : "xml";
		return 0;
	case 'c':
		return pcipass_columns_parse(&o->columns, arg) < 0 ?
		    usage("%s", pcipass_error_last()->message) : 0;
	case 'p':
		return add_pci(o, arg);
	case 'T':
		o->template = arg;
		return 0;
	case 'F':
		if (current->fn != c_allocate)
			return usage("--from is for allocate and attach");
		o->from = arg;
		return 0;
	case 'X':
		if (current->fn != c_allocate)
			return usage("--vm-xml is for allocate and attach");
		o->vm_xml = arg;
		return 0;
	case 'P':
		if (strcmp(arg, "first") == 0)
			o->policy = PCIPASS_POLICY_FIRST;
		else if (strcmp(arg, "most-free") == 0)
			o->policy = PCIPASS_POLICY_MOST_FREE;
		else
			return usage("--policy \"%s\": first or most-free", arg);
		return 0;
	case 'd':
		return int_opt("--deadline", arg, &o->deadline);
	case 't':
		return int_opt("--timeout", arg, &o->timeout);
	case 'a':
		if (current->fn != c_reconcile)
			return usage("--apply is for reconcile");
		o->apply = 1;
		return 0;
	case 'A': {
		char	*end;

		errno = 0;
		o->as_of = strtoll(arg, &end, 10);
		if (current->fn != c_reconcile)
			return usage("--as-of is for reconcile");
		if (*arg == '\0' || *end != '\0' || errno != 0 ||
		    o->as_of < 0 || o->as_of > 2147483647LL)
			return usage("--as-of \"%s\": expected Unix seconds, "
			    "0 to 2147483647", arg);
		return 0;
	}
	default:
		return usage("unknown option");
	}
}

static int
parse(struct opts *o, int argc, char **argv)
{
	struct option	longopts[NFLAGS + 1];
	int		ch;

	flags_options(flags, NFLAGS, longopts);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "H:t:h", longopts, NULL)) != -1) {
		if (ch == '?')
			return usage("unknown option or missing value: %s",
			    argv[optind - 1]);
		if (ch == 'h') {
			print_command_help(current);
			return -1;
		}
		if (option(o, ch, optarg))
			return EX_USAGE;
	}
	o->argc = argc - optind;
	o->argv = argv + optind;
	if (current->npos >= 0 ? o->argc != current->npos : o->argc > 1)
		return usage("wrong number of arguments");
	if ((o->template != NULL) + (o->reqs != NULL) + (o->from != NULL) > 1)
		return usage("give one of --pci, --template and --from");
	if (o->vm_xml != NULL && o->from == NULL)
		return usage("--vm-xml goes with --from");
	if (o->template != NULL && pcipass_template_read(&o->reqs,
	    o->template) < 0)
		return usage("%s", pcipass_error_last()->message);
	if (current->needs_reqs && o->reqs == NULL && o->from == NULL)
		return usage("no request: give --pci K=V,... or --template FILE");
	if (!current->needs_reqs && o->reqs != NULL)
		return usage("%s takes no requests", current->name);
	return 0;
}

int
main(int argc, char **argv)
{
	struct opts	o;
	size_t		i;
	int		rc;

	if (argc < 2) {
		print_help(stderr);
		return EX_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		print_help(stdout);
		return EX_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("pcipass %s\n", PCIPASS_CLI_VERSION);
		return EX_OK;
	}
	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, argv[1]) == 0)
			current = &commands[i];
	if (current == NULL) {
		fprintf(stderr, "pcipass: unknown command \"%s\"; try pcipass "
		    "help\n", argv[1]);
		return EX_USAGE;
	}
	memset(&o, 0, sizeof(o));
	o.as_of = -1;
	if (current->fn == c_host) {
		o.argc = argc - 2;
		o.argv = argv + 2;
		return c_host(&o);
	}
	rc = parse(&o, argc - 1, argv + 1);
	if (rc == 0)
		rc = current->fn(&o);
	else if (rc < 0)
		rc = EX_OK;		/* --help */
	pcipass_request_list_free(o.reqs);
	return rc;
}
