/*
 * pcipass-stress: N clients on loopback doing random allocate, attach,
 * detach, release, test and list calls against one pcipassd that this
 * program starts (the command after "--"), optionally killing it with
 * SIGKILL at random moments and restarting it on the same database.
 *
 * Each client owns a disjoint set of VMs, so it knows exactly what each
 * of its VMs holds: its ledger is built only from acknowledged answers.
 * A call whose answer never came (the daemon died) leaves its VM
 * "uncertain" until the next restart, when the VM's holdings must be
 * either the state before the call or the complete state after it.
 *
 * Checked while the load runs (pci.vm of a client's own VM must equal
 * its ledger) and at checkpoints where all clients are paused (every
 * VM's holdings in pci.list and in the database equal the ledgers; no
 * bridge, group-less device or PF with VFs held; no IOMMU group split;
 * list and database agree), after every kill on a copy of the database
 * and WAL taken before the restart (integrity_check, same checks), and
 * at the end. Exit 0 only if no check failed.
 *
 * With --power-cuts, each kill is a power cut: the daemon runs with
 * tests/stress/powercut.so ($POWERCUT_SO), which keeps, beside the
 * database and its WAL, what their fsyncs made durable and the writes
 * since; after the SIGKILL each file is rebuilt from what was durable
 * plus a random part of the later writes, the last one possibly torn,
 * the -shm dropped, and the daemon restarted on that. Every
 * acknowledged change must still be there.
 */
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sqlite3.h>
#include <xmlrpc-c/base.h>

#include "pending.h"

#define MAXDEV		512
#define MAXHELD		64
#define MAXREQ		8

enum { OP_ALLOC, OP_RETRY, OP_ATTACH, OP_DETACH, OP_RELEASE, OP_TEST,
	OP_VM, NOPS };
static const char *const opname[NOPS] = { "allocate", "retry", "attach",
	"detach", "release", "test", "vm" };

struct dev {
	char	 addr[16];	/* DDDD:BB:SS:F */
	char	 vendor[8], device[8], class[8], driver[64], sriov[4];
	int	 group, sriov_num, bridge;
};

struct vm {
	int	 id;
	char	 held[MAXHELD][16];
	int	 nheld;
	char	*last_alloc;		/* params XML of the last allocate */
	int	 retry_valid;		/* no attach/detach since */
	/* the call whose answer was lost */
	int	 uncertain, u_op, u_n;
	char	 u_addr[16];
};

struct client {
	pthread_t	 th;
	int		 idx;
	unsigned	 seed;
	CURL		*curl;
	struct vm	*vms;
	int		 nvms;
	long		 ops[NOPS], ok[NOPS], codes[NOPS][8];
	double		*lat;
	size_t		 nlat, caplat;
};

static struct {
	int		 clients, vms_per, max_ops, kills, check_ms;
	double		 seconds;
	long		 max_hwm_kb;
	const char	*host, *db, *log, *session, *inject;
	int		 port;
	char	       **daemon_argv;
	int		 check_only;
	int		 known_detach;	/* see known() */
	int		 power;		/* kills are power cuts */
} opt = { 32, 4, 1000000, 0, 500, 10, 200 * 1024, "127.0.0.1", NULL,
	NULL, "oneadmin:stress-secret", NULL, 0, NULL, 0, 0, 0 };

static struct dev	 devs[MAXDEV];
static int		 ndev;
static pid_t		 daemon_pid;
static volatile int	 stop, generation;
static volatile int	 daemon_down;	/* killed, not yet restarted */
static pthread_mutex_t	 check_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t	 pause_lock;
static pthread_mutex_t	 report_lock = PTHREAD_MUTEX_INITIALIZER;
static long		 violations, unexpected, transport_errors;
static long		 known_hits;
static long		 checkpoints, restarts, uncertain_total,
			 uncertain_applied, wal_max, integrity_ok, hwm_max;
static double		 t0;

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
msleep(long ms)
{
	struct timespec	ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static void violation(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void
violation(const char *fmt, ...)
{
	va_list	ap;

	pthread_mutex_lock(&report_lock);
	violations++;
	if (violations <= 50) {
		fprintf(stderr, "VIOLATION at %.2fs: ", now() - t0);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	pthread_mutex_unlock(&report_lock);
}

/*
 * --known-bug detach-split: pci.detach of one function of a multi-function
 * IOMMU group leaves its siblings held while it is free on its host
 * driver (docs/RELIABILITY.md, bug 1). Until the daemon refuses that
 * detach, count these apart so that the other checks can gate a run.
 */
static int
known(void)
{
	if (!opt.known_detach)
		return 0;
	__atomic_add_fetch(&known_hits, 1, __ATOMIC_RELAXED);
	return 1;
}

static void note_unexpected(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void
note_unexpected(const char *fmt, ...)
{
	va_list	ap;

	pthread_mutex_lock(&report_lock);
	unexpected++;
	if (unexpected <= 20) {
		fprintf(stderr, "UNEXPECTED: ");
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	pthread_mutex_unlock(&report_lock);
}

/* ---- the daemon ---- */

static long
vmhwm_kb(pid_t pid)
{
	char	path[64], line[256];
	FILE	*f;
	long	 kb = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmHWM:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	return kb;
}

static void
sample_hwm(void)
{
	long	kb = vmhwm_kb(daemon_pid);

	if (kb > hwm_max)
		hwm_max = kb;
}

static int
port_open(void)
{
	struct sockaddr_in	sin = { .sin_family = AF_INET };
	int			fd, rc;

	sin.sin_port = htons((uint16_t)opt.port);
	inet_pton(AF_INET, opt.host, &sin.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	rc = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	close(fd);
	return rc == 0;
}

static void
daemon_spawn(void)
{
	int	fd, i, status;

	if ((daemon_pid = fork()) < 0) {
		perror("fork");
		exit(2);
	}
	if (daemon_pid == 0) {
		fd = open(opt.log ? opt.log : "/dev/null",
		    O_WRONLY | O_CREAT | O_APPEND, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		if (opt.power) {
			setenv("LD_PRELOAD", getenv("POWERCUT_SO"), 1);
			setenv("POWERCUT_DB", opt.db, 1);
		}
		execv(opt.daemon_argv[0], opt.daemon_argv);
		_exit(127);
	}
	for (i = 0; i < 1000; i++) {
		if (port_open())
			return;
		if (waitpid(daemon_pid, &status, WNOHANG) == daemon_pid) {
			fprintf(stderr, "stress: the daemon exited (status "
			    "%d); see %s\n", status, opt.log ? opt.log : "");
			exit(2);
		}
		msleep(10);
	}
	fprintf(stderr, "stress: the daemon did not listen\n");
	exit(2);
}

static int
daemon_end(int sig)
{
	int	status = 0;

	sample_hwm();
	kill(daemon_pid, sig);
	waitpid(daemon_pid, &status, 0);
	return status;
}

/* ---- XML-RPC over curl ---- */

static __thread char	last_error[200];

struct buf {
	char	*p;
	size_t	 n;
};

static size_t
collect(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct buf	*b = arg;
	size_t		 len = size * nmemb;
	char		*np = realloc(b->p, b->n + len + 1);

	if (np == NULL)
		return 0;
	b->p = np;
	memcpy(b->p + b->n, ptr, len);
	b->n += len;
	b->p[b->n] = '\0';
	return len;
}

/*
 * One call. Returns 0 with *ok, *val (new reference) and *code for a
 * pcipass answer, -1 when no answer came (transport), -2 for anything
 * that is not a pcipass answer.
 */
static int
call(CURL *c, const char *method, const char *params, int *ok,
    xmlrpc_value **val, int *code)
{
	char			 url[128], *body;
	struct buf		 b = { NULL, 0 };
	struct curl_slist	*h = NULL;
	xmlrpc_env		 env;
	xmlrpc_value		*res = NULL, *v = NULL;
	xmlrpc_bool		 okb;
	const char		*fs = NULL;
	int			 fc = 0, rc = -2, len;
	long			 status = 0;
	curl_off_t		 clen = -1;
	CURLcode		 cc;

	len = asprintf(&body, "<?xml version=\"1.0\"?><methodCall>"
	    "<methodName>%s</methodName><params><param><value><string>%s"
	    "</string></value></param>%s</params></methodCall>", method,
	    opt.session, params ? params : "");
	if (len < 0)
		return -2;
	snprintf(url, sizeof(url), "http://%s:%d/RPC2", opt.host, opt.port);
	h = curl_slist_append(h, "Content-Type: text/xml");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	cc = curl_easy_perform(c);
	curl_slist_free_all(h);
	free(body);
	if (cc != CURLE_OK) {
		snprintf(last_error, sizeof(last_error), "%s",
		    curl_easy_strerror(cc));
		free(b.p);
		return -1;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &clen);
	/* A daemon killed while answering can leave a 200 with a short or
	 * empty body that curl accepts: that is no answer either. */
	if (status == 200 && (b.n == 0 || clen != (curl_off_t)b.n)) {
		snprintf(last_error, sizeof(last_error), "HTTP 200 with %zu "
		    "of %ld bytes", b.n, (long)clen);
		free(b.p);
		return -1;
	}
	xmlrpc_env_init(&env);
	if (status == 200 && b.p != NULL) {
		xmlrpc_parse_response2(&env, b.p, b.n, &res, &fc, &fs);
		if (!env.fault_occurred && fs == NULL && res != NULL) {
			xmlrpc_decompose_value(&env, res, "(bVi)", &okb, &v,
			    code);
			if (!env.fault_occurred) {
				*ok = okb;
				xmlrpc_INCREF(v);
				*val = v;
				rc = 0;
			}
		}
	}
	if (rc != 0)
		note_unexpected("%s: HTTP %ld, %zu bytes, fault %d %s: %.200s",
		    method, status, b.n, fc, fs ? fs : "", b.p ? b.p : "");
	if (v != NULL)
		xmlrpc_DECREF(v);
	if (res != NULL)
		xmlrpc_DECREF(res);
	free((char *)fs);
	xmlrpc_env_clean(&env);
	free(b.p);
	return rc;
}

static const char *
get_str(xmlrpc_value *st, const char *name, char *out, size_t len)
{
	xmlrpc_env	 env;
	xmlrpc_value	*v = NULL;
	const char	*s;

	out[0] = '\0';
	xmlrpc_env_init(&env);
	xmlrpc_struct_find_value(&env, st, name, &v);
	if (v != NULL) {
		xmlrpc_read_string(&env, v, &s);
		if (!env.fault_occurred) {
			snprintf(out, len, "%s", s);
			free((char *)s);
		}
		xmlrpc_DECREF(v);
	}
	xmlrpc_env_clean(&env);
	return out;
}

static int
get_int(xmlrpc_value *st, const char *name)
{
	xmlrpc_env	 env;
	xmlrpc_value	*v = NULL;
	int		 n = -99;

	xmlrpc_env_init(&env);
	xmlrpc_struct_find_value(&env, st, name, &v);
	if (v != NULL) {
		xmlrpc_read_int(&env, v, &n);
		xmlrpc_DECREF(v);
	}
	xmlrpc_env_clean(&env);
	return n;
}

/* The message of a failed call, for reports. */
static const char *
errmsg(xmlrpc_value *v)
{
	static __thread char	 out[300];
	xmlrpc_env		 env;
	const char		*s;

	out[0] = '\0';
	xmlrpc_env_init(&env);
	if (v != NULL && xmlrpc_value_type(v) == XMLRPC_TYPE_STRING) {
		xmlrpc_read_string(&env, v, &s);
		if (!env.fault_occurred) {
			snprintf(out, sizeof(out), "%s", s);
			free((char *)s);
		}
	}
	xmlrpc_env_clean(&env);
	return out;
}

static int
arr_len(xmlrpc_value *a)
{
	xmlrpc_env	env;
	int		n;

	xmlrpc_env_init(&env);
	n = xmlrpc_value_type(a) == XMLRPC_TYPE_ARRAY ?
	    xmlrpc_array_size(&env, a) : -1;
	xmlrpc_env_clean(&env);
	return n;
}

static xmlrpc_value *
arr_item(xmlrpc_value *a, int i)
{
	xmlrpc_env	 env;
	xmlrpc_value	*v = NULL;

	xmlrpc_env_init(&env);
	xmlrpc_array_read_item(&env, a, (unsigned)i, &v);
	xmlrpc_env_clean(&env);
	return v;
}

/* ---- holdings: "addr=vmid" views to compare ---- */

struct holding {
	char	addr[16];
	int	vmid;
};

struct view {
	struct holding	h[MAXDEV];
	int		n;
};

static int
view_vm(const struct view *w, int vmid, char out[][16], int max)
{
	int	i, n = 0;

	for (i = 0; i < w->n; i++)
		if (w->h[i].vmid == vmid && n < max)
			snprintf(out[n++], 16, "%s", w->h[i].addr);
	return n;
}

static int
has(char set[][16], int n, const char *a)
{
	int	i;

	for (i = 0; i < n; i++)
		if (strcmp(set[i], a) == 0)
			return 1;
	return 0;
}

static int
same_set(char a[][16], int na, char b[][16], int nb)
{
	int	i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (!has(b, nb, a[i]))
			return 0;
	return 1;
}

/*
 * The addresses of a request list made only of ADDRESS requests, into
 * out; how many, or -1 if any request has another field. (API.md: such a
 * list for a VM that holds exactly those devices re-asserts them.)
 */
static int
address_only(const char *reqxml, char out[][16], int max)
{
	const char	*p = reqxml, *q;
	int		 n = 0;

	while ((p = strstr(p, "<value><struct>")) != NULL) {
		p += strlen("<value><struct>");
		if (strncmp(p, "<member><name>ADDRESS</name><value>", 35) != 0)
			return -1;
		p += 35;
		if ((q = strchr(p, '<')) == NULL || q - p >= 16 || n >= max)
			return -1;
		snprintf(out[n++], 16, "%.*s", (int)(q - p), p);
		if (strncmp(q, "</value></member></struct>", 26) != 0)
			return -1;
	}
	return n;
}

static char *
set_str(char set[][16], int n)
{
	static __thread char	bufs[4][1024];
	static __thread int	slot;
	char			*out = bufs[slot++ % 4];
	size_t			len = 0;
	int			i;

	out[0] = '\0';
	for (i = 0; i < n && len < 1000; i++)
		len += (size_t)snprintf(out + len, 1024 - len, "%s%s",
		    i ? "," : "", set[i]);
	return out;
}

static struct dev *
dev_find(const char *addr)
{
	int	i;

	for (i = 0; i < ndev; i++)
		if (strcmp(devs[i].addr, addr) == 0)
			return &devs[i];
	return NULL;
}

/* pci.list: the inventory (first time) and the holdings. */
static int
list_view(CURL *c, struct view *w, int learn)
{
	xmlrpc_value	*val, *d;
	int		 ok, code, i, n;
	struct dev	*p;
	char		 state[16], cls[8];

	if (call(c, "pci.list", NULL, &ok, &val, &code) != 0 || !ok)
		return -1;
	n = arr_len(val);
	w->n = 0;
	for (i = 0; i < n && i < MAXDEV; i++) {
		d = arr_item(val, i);
		if (learn) {
			p = &devs[ndev++];
			get_str(d, "ADDRESS", p->addr, sizeof(p->addr));
			get_str(d, "VENDOR", p->vendor, sizeof(p->vendor));
			get_str(d, "DEVICE", p->device, sizeof(p->device));
			get_str(d, "CLASS", p->class, sizeof(p->class));
			get_str(d, "DRIVER", p->driver, sizeof(p->driver));
			get_str(d, "SRIOV", p->sriov, sizeof(p->sriov));
			p->group = get_int(d, "IOMMU_GROUP");
			p->sriov_num = get_int(d, "SRIOV_NUM");
			p->bridge = strcmp(p->class, "0604") == 0 ||
			    strcmp(p->class, "0607") == 0;
		}
		get_str(d, "ADDRESS", w->h[w->n].addr, 16);
		w->h[w->n].vmid = get_int(d, "VMID");
		get_str(d, "STATE", state, sizeof(state));
		get_str(d, "CLASS", cls, sizeof(cls));
		if (w->h[w->n].vmid >= 0) {
			if (strcmp(state, "used") != 0 &&
			    strcmp(state, "missing") != 0)
				violation("list: %s held by %d in state %s",
				    w->h[w->n].addr, w->h[w->n].vmid, state);
			if ((p = dev_find(w->h[w->n].addr)) != NULL &&
			    p->bridge)
				violation("list: bridge %s held by %d",
				    p->addr, w->h[w->n].vmid);
			if (get_int(d, "IOMMU_GROUP") < 0)
				violation("list: group-less %s held by %d",
				    w->h[w->n].addr, w->h[w->n].vmid);
			if (get_int(d, "SRIOV_NUM") > 0)
				violation("list: PF with VFs %s held by %d",
				    w->h[w->n].addr, w->h[w->n].vmid);
			w->n++;
		}
		xmlrpc_DECREF(d);
	}
	xmlrpc_DECREF(val);
	return 0;
}

/* No group split, seen in pci.list. */
static void
check_groups_list(const struct view *w)
{
	int	 i, j, owner, vm;
	char	 held[MAXDEV][16];

	for (i = 0; i < w->n; i++)
		snprintf(held[i], 16, "%s", w->h[i].addr);
	for (i = 0; i < w->n; i++) {
		struct dev	*p = dev_find(w->h[i].addr), *e;

		if (p == NULL || p->group < 0)
			continue;
		vm = w->h[i].vmid;
		for (j = 0; j < ndev; j++) {
			e = &devs[j];
			if (e == p || e->group != p->group || e->bridge)
				continue;
			owner = -1;
			if (has(held, w->n, e->addr)) {
				int	k;

				for (k = 0; k < w->n; k++)
					if (strcmp(w->h[k].addr, e->addr) == 0)
						owner = w->h[k].vmid;
			}
			if (owner == vm)
				continue;
			if (owner >= 0)
				violation("list: group %d split: %s to %d, "
				    "%s to %d", p->group, p->addr, vm,
				    e->addr, owner);
			else if (e->driver[0] != '\0' &&
			    strcmp(e->driver, "vfio-pci") != 0 &&
			    strcmp(e->driver, "pci-stub") != 0 && !known())
				violation("list: %s held by %d while its "
				    "group sibling %s is free on %s", p->addr,
				    vm, e->addr, e->driver);
		}
	}
}

/* ---- the database ---- */

static void
fmt_addr(sqlite3_int64 a, char *out)
{
	snprintf(out, 16, "%04x:%02x:%02x:%x", (unsigned)(a >> 16),
	    (unsigned)((a >> 8) & 0xff), (unsigned)((a >> 3) & 0x1f),
	    (unsigned)(a & 7));
}

static int
db_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt	*st;
	int		 v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void
db_expect_zero(sqlite3 *db, const char *what, const char *sql)
{
	int	n = db_int(db, sql);

	if (n != 0)
		violation("db: %s: %d", what, n);
}

/*
 * The database's holdings and its invariants, in one read transaction.
 * Returns -1 if it could not be read.
 */
static int
db_view(const char *path, struct view *w, int integrity)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	int		 rc = -1, n;

	w->n = 0;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		violation("db: cannot open %s: %s", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return -1;
	}
	sqlite3_busy_timeout(db, 10000);
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		goto done;
	if (integrity) {
		if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st,
		    NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
		    strcmp((const char *)sqlite3_column_text(st, 0), "ok")
		    == 0)
			integrity_ok++;
		else
			violation("db: integrity_check failed on %s", path);
		sqlite3_finalize(st);
	}
	db_expect_zero(db, "bridges held", "SELECT count(*) FROM device "
	    "WHERE vmid >= 0 AND header IN (1, 2)");
	db_expect_zero(db, "group-less devices held", "SELECT count(*) FROM "
	    "device WHERE vmid >= 0 AND iommu < 0");
	db_expect_zero(db, "PFs with VFs held", "SELECT count(*) FROM device "
	    "WHERE vmid >= 0 AND sriov = 1 AND sriov_num > 0");
	/* Every other endpoint of a held device's group: same VM, or free
	 * and on vfio-pci, pci-stub or no driver. */
	db_expect_zero(db, "IOMMU groups split between VMs",
	    "SELECT count(*) FROM device d "
	    "JOIN iommu_member m ON m.grp = d.iommu "
	    "JOIN device e ON e.addr = m.addr "
	    "WHERE d.vmid >= 0 AND e.addr != d.addr "
	    "AND e.header NOT IN (1, 2) AND e.vmid >= 0 AND e.vmid != d.vmid");
	n = db_int(db, "SELECT count(*) FROM device d "
	    "JOIN iommu_member m ON m.grp = d.iommu "
	    "JOIN device e ON e.addr = m.addr "
	    "WHERE d.vmid >= 0 AND e.addr != d.addr "
	    "AND e.header NOT IN (1, 2) AND e.vmid = -1 "
	    "AND e.driver NOT IN ('vfio-pci', 'pci-stub', '')");
	if (n != 0 && !known())
		violation("db: held devices with a free group sibling on a "
		    "host driver: %d", n);
	if (sqlite3_prepare_v2(db, "SELECT addr, vmid FROM device WHERE "
	    "vmid >= 0 ORDER BY addr", -1, &st, NULL) != SQLITE_OK)
		goto done;
	while (sqlite3_step(st) == SQLITE_ROW && w->n < MAXDEV) {
		fmt_addr(sqlite3_column_int64(st, 0), w->h[w->n].addr);
		w->h[w->n++].vmid = sqlite3_column_int(st, 1);
	}
	sqlite3_finalize(st);
	rc = 0;
done:
	if (rc < 0)
		violation("db: %s: %s", path, sqlite3_errmsg(db));
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

/* ---- ledgers against what the daemon and the database say ---- */

static struct client	*clients;

static int
set_minus(char a[][16], int na, char b[][16], int nb)
{
	int	i, n = 0;

	for (i = 0; i < na; i++)
		n += !has(b, nb, a[i]);
	return n;
}

/*
 * Compare one VM's ledger with the holdings seen. An uncertain VM may be
 * in the state before its lost call or completely after it; resolve
 * takes what was seen as the new ledger.
 */
static void
ledger_check(struct vm *v, char seen[][16], int nseen, const char *where,
    int resolve)
{
	int	 i, gained, lost;
	int	 fine;

	if (!v->uncertain) {
		if (!same_set(v->held, v->nheld, seen, nseen))
			violation("%s: VM %d holds {%s}, acknowledged {%s}",
			    where, v->id, set_str(seen, nseen),
			    set_str(v->held, v->nheld));
		return;
	}
	gained = set_minus(seen, nseen, v->held, v->nheld);
	lost = set_minus(v->held, v->nheld, seen, nseen);
	switch (v->u_op) {
	case OP_ALLOC:
		fine = (gained == 0 && lost == 0) ||
		    (v->nheld == 0 && nseen == v->u_n);
		break;
	case OP_RETRY:
		fine = gained == 0 && lost == 0;
		break;
	case OP_ATTACH:
		fine = lost == 0 && (gained == 0 || gained == 1);
		break;
	case OP_DETACH:
		fine = gained == 0 && (lost == 0 || (lost == 1 &&
		    !has(seen, nseen, v->u_addr)));
		break;
	case OP_RELEASE:
		fine = gained == 0 && (lost == 0 || nseen == 0);
		break;
	default:
		fine = gained == 0 && lost == 0;
	}
	if (!fine)
		violation("%s: VM %d holds {%s} after a lost %s of %d; "
		    "acknowledged before: {%s}", where, v->id,
		    set_str(seen, nseen), opname[v->u_op], v->u_n,
		    set_str(v->held, v->nheld));
	if (!resolve)
		return;
	if (gained || lost) {
		uncertain_applied++;
		v->retry_valid = 0;
	}
	for (i = 0; i < nseen && i < MAXHELD; i++)
		snprintf(v->held[i], 16, "%s", seen[i]);
	v->nheld = nseen < MAXHELD ? nseen : MAXHELD;
	v->uncertain = 0;
}

static int
known_vm(int vmid)
{
	return vmid >= 1 && vmid <= opt.clients * opt.vms_per;
}

static void
ledgers_against(const struct view *w, const char *where, int resolve)
{
	char	seen[MAXHELD][16];
	int	i, j, n;

	for (i = 0; i < w->n; i++)
		if (!known_vm(w->h[i].vmid) && !opt.check_only)
			violation("%s: %s held by VM %d that no client used",
			    where, w->h[i].addr, w->h[i].vmid);
	if (opt.check_only)
		return;
	for (i = 0; i < opt.clients; i++)
		for (j = 0; j < clients[i].nvms; j++) {
			n = view_vm(w, clients[i].vms[j].id, seen, MAXHELD);
			ledger_check(&clients[i].vms[j], seen, n, where,
			    resolve);
		}
}

static void
views_agree(const struct view *a, const struct view *b)
{
	int	i, j, found;

	if (a->n != b->n)
		violation("pci.list shows %d held devices, the database %d",
		    a->n, b->n);
	for (i = 0; i < a->n; i++) {
		for (found = 0, j = 0; j < b->n; j++)
			if (strcmp(a->h[i].addr, b->h[j].addr) == 0 &&
			    a->h[i].vmid == b->h[j].vmid)
				found = 1;
		if (!found)
			violation("pci.list: %s held by %d, not so in the "
			    "database", a->h[i].addr, a->h[i].vmid);
	}
}

/* All clients paused: everything must agree exactly. */
static void
checkpoint(CURL *c, const char *where, int resolve)
{
	static struct view	lw, dw;

	checkpoints++;
	sample_hwm();
	if (list_view(c, &lw, 0) < 0) {
		/* A kept-alive connection the daemon closed (its keep-alive
		 * timeout, or the previous incarnation) is no verdict: the
		 * call is idempotent, so try once more on a fresh one. */
		fprintf(stderr, "stress: %s: pci.list: %s; retrying\n", where,
		    last_error);
		curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
		if (list_view(c, &lw, 0) < 0) {
			violation("%s: pci.list failed: %s", where,
			    last_error);
			return;
		}
		curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 0L);
	}
	check_groups_list(&lw);
	if (db_view(opt.db, &dw, 0) == 0)
		views_agree(&lw, &dw);
	ledgers_against(&lw, where, resolve);
}

/* ---- the clients ---- */

static int
rnd(struct client *cl, int n)
{
	return n > 0 ? (int)(rand_r(&cl->seed) % (unsigned)n) : 0;
}

static struct dev *
rnd_dev(struct client *cl)
{
	return &devs[rnd(cl, ndev)];
}

/* One request struct for a random device: by address, ids or class. */
static void
one_request(struct client *cl, FILE *fp, struct dev **used, int *nused)
{
	struct dev	*p = rnd_dev(cl);
	int		 kind = rnd(cl, 4), i;

	/* The API refuses one address twice in a list: take ids then. */
	for (i = 0; used != NULL && i < *nused; i++)
		if (used[i] == p && kind == 0)
			kind = 2;
	if (used != NULL && kind == 0)
		used[(*nused)++] = p;
	fputs("<value><struct>", fp);
	switch (kind) {
	case 0:
		fprintf(fp, "<member><name>ADDRESS</name><value>%s</value>"
		    "</member>", p->addr);
		break;
	case 1:
		fprintf(fp, "<member><name>CLASS</name><value>%s</value>"
		    "</member>", p->class);
		break;
	default:
		fprintf(fp, "<member><name>VENDOR</name><value>%s</value>"
		    "</member><member><name>DEVICE</name><value>%s</value>"
		    "</member>", p->vendor, p->device);
		if (strncmp(p->class, "02", 2) == 0 && rnd(cl, 2))
			fprintf(fp, "<member><name>TYPE</name><value>NIC"
			    "</value></member><member><name>MAC</name><value>"
			    "02:00:00:00:%02x:%02x</value></member>",
			    rnd(cl, 256), rnd(cl, 256));
	}
	fputs("</struct></value>", fp);
}

/* 1 to 3 random requests, or every endpoint of a random group. */
static char *
requests(struct client *cl, int *nreq)
{
	char		*buf = NULL;
	size_t		 len = 0;
	FILE		*fp = open_memstream(&buf, &len);
	struct dev	*p = rnd_dev(cl), *used[MAXREQ];
	int		 i, n, nused = 0;

	fputs("<param><value><array><data>", fp);
	*nreq = 0;
	if (rnd(cl, 4) == 0 && p->group >= 0) {
		for (i = 0; i < ndev && *nreq < MAXREQ; i++)
			if (devs[i].group == p->group && !devs[i].bridge) {
				fprintf(fp, "<value><struct><member><name>"
				    "ADDRESS</name><value>%s</value></member>"
				    "</struct></value>", devs[i].addr);
				(*nreq)++;
			}
	}
	if (*nreq == 0)
		for (n = 1 + rnd(cl, 3); *nreq < n; (*nreq)++)
			one_request(cl, fp, used, &nused);
	fputs("</data></array></value></param>", fp);
	fclose(fp);
	return buf;
}

static void
ledger_set(struct vm *v, xmlrpc_value *arr)
{
	int		 i, n = arr_len(arr);
	xmlrpc_value	*d;

	v->nheld = 0;
	for (i = 0; i < n && i < MAXHELD; i++) {
		d = arr_item(arr, i);
		get_str(d, "ADDRESS", v->held[v->nheld++], 16);
		xmlrpc_DECREF(d);
	}
}

static void
check_returned(struct vm *v, xmlrpc_value *arr, int want, const char *op)
{
	int		 i, j, n = arr_len(arr);
	xmlrpc_value	*d, *e;
	char		 a[16], b[16];

	if (n != want)
		violation("%s for VM %d: %d devices for %d requests", op,
		    v->id, n, want);
	for (i = 0; i < n; i++) {
		d = arr_item(arr, i);
		if (get_int(d, "VMID") != v->id)
			violation("%s for VM %d returned a device with VMID "
			    "%d", op, v->id, get_int(d, "VMID"));
		get_str(d, "ADDRESS", a, sizeof(a));
		for (j = 0; j < i; j++) {
			e = arr_item(arr, j);
			if (strcmp(get_str(e, "ADDRESS", b, sizeof(b)), a) == 0)
				violation("%s for VM %d returned %s twice", op,
				    v->id, a);
			xmlrpc_DECREF(e);
		}
		xmlrpc_DECREF(d);
	}
}

static void
lost_answer(struct client *cl, struct vm *v, int op, int n,
    const char *addr)
{
	__atomic_add_fetch(&transport_errors, 1, __ATOMIC_RELAXED);
	if (opt.kills == 0) {
		note_unexpected("client %d: no answer to %s (no kill "
		    "planned)", cl->idx, opname[op]);
		return;
	}
	if (!v->uncertain) {
		v->uncertain = 1;
		v->u_op = op;
		v->u_n = n;
		snprintf(v->u_addr, sizeof(v->u_addr), "%s", addr ? addr : "");
		__atomic_add_fetch(&uncertain_total, 1, __ATOMIC_RELAXED);
	}
}

static void
count_code(struct client *cl, int op, int ok, int code)
{
	int	slot = ok ? 0 : code == 0x4000 ? 1 : code == 0x0800 ? 2 :
	    code == 0x0400 ? 3 : 4;

	cl->codes[op][slot]++;
	if (ok)
		cl->ok[op]++;
}

/* One random operation on one of this client's VMs; 1 if no answer. */
static int
one_op(struct client *cl)
{
	struct vm	*v = &cl->vms[rnd(cl, cl->nvms)];
	xmlrpc_value	*val = NULL;
	char		*reqxml = NULL, p[4096], addr[16] = "";
	int		 op, ok = 0, code = 0, n = 0, rc, r = rnd(cl, 100);
	double		 t;

	if (r < 25)
		op = v->nheld && v->retry_valid && rnd(cl, 2) ? OP_RETRY :
		    OP_ALLOC;
	else if (r < 40)
		op = OP_ATTACH;
	else if (r < 55)
		op = OP_DETACH;
	else if (r < 70)
		op = OP_RELEASE;
	else if (r < 85)
		op = OP_TEST;
	else
		op = OP_VM;

	switch (op) {
	case OP_ALLOC:
		reqxml = requests(cl, &n);
		snprintf(p, sizeof(p), "<param><value><int>%d</int></value>"
		    "</param>%s", v->id, reqxml);
		/* The same list as the last allocate is a retry. */
		if (v->nheld && v->last_alloc && strcmp(p, v->last_alloc) == 0)
			op = OP_RETRY;
		break;
	case OP_RETRY:
		n = v->nheld;
		snprintf(p, sizeof(p), "%s", v->last_alloc);
		break;
	case OP_ATTACH: {
		char	*b = NULL;
		size_t	 len = 0;
		FILE	*fp = open_memstream(&b, &len);

		one_request(cl, fp, NULL, NULL);
		fclose(fp);
		snprintf(p, sizeof(p), "<param><value><int>%d</int></value>"
		    "</param><param>%s</param>", v->id, b);
		free(b);
		n = 1;
		break;
	}
	case OP_DETACH:
		if (v->nheld && rnd(cl, 5))
			snprintf(addr, sizeof(addr), "%s",
			    v->held[rnd(cl, v->nheld)]);
		else
			snprintf(addr, sizeof(addr), "%s", rnd_dev(cl)->addr);
		snprintf(p, sizeof(p), "<param><value><int>%d</int></value>"
		    "</param><param><value>%s</value></param>", v->id, addr);
		break;
	case OP_TEST:
		reqxml = requests(cl, &n);
		snprintf(p, sizeof(p), "%s<param><value><int>%d</int></value>"
		    "</param>", reqxml, v->id);
		break;
	default:
		snprintf(p, sizeof(p), "<param><value><int>%d</int></value>"
		    "</param>", v->id);
	}
	cl->ops[op]++;
	t = now();
	rc = call(cl->curl, op == OP_RETRY ? "pci.allocate" :
	    op == OP_ALLOC ? "pci.allocate" : op == OP_ATTACH ? "pci.attach" :
	    op == OP_DETACH ? "pci.detach" : op == OP_RELEASE ? "pci.release" :
	    op == OP_TEST ? "pci.test" : "pci.vm", p, &ok, &val, &code);
	t = now() - t;
	if (cl->nlat == cl->caplat) {
		cl->caplat = cl->caplat ? cl->caplat * 2 : 4096;
		cl->lat = realloc(cl->lat, cl->caplat * sizeof(double));
	}
	cl->lat[cl->nlat++] = t;
	if (rc == -1) {
		if (op != OP_TEST && op != OP_VM)
			lost_answer(cl, v, op, n, addr);
		else {
			__atomic_add_fetch(&transport_errors, 1,
			    __ATOMIC_RELAXED);
			if (opt.kills == 0)
				note_unexpected("client %d: no answer to %s",
				    cl->idx, opname[op]);
		}
		free(reqxml);
		return 1;
	}
	if (rc < 0) {
		free(reqxml);
		return 0;
	}
	count_code(cl, op, ok, code);

	switch (op) {
	case OP_ALLOC:
	case OP_RETRY:
		if (ok) {
			check_returned(v, val, n, opname[op]);
			if (op == OP_RETRY) {
				char	got[MAXHELD][16];
				int	i, m = arr_len(val);
				xmlrpc_value *d;

				for (i = 0; i < m && i < MAXHELD; i++) {
					d = arr_item(val, i);
					get_str(d, "ADDRESS", got[i], 16);
					xmlrpc_DECREF(d);
				}
				if (!same_set(got, m, v->held, v->nheld))
					violation("retried allocate for VM %d "
					    "gave {%s}, first gave {%s}", v->id,
					    set_str(got, m),
					    set_str(v->held, v->nheld));
			} else if (v->nheld != 0) {
				char	want[MAXHELD][16], got[MAXHELD][16];
				int	i, m = arr_len(val), k;
				xmlrpc_value *d;

				for (i = 0; i < m && i < MAXHELD; i++) {
					d = arr_item(val, i);
					get_str(d, "ADDRESS", got[i], 16);
					xmlrpc_DECREF(d);
				}
				/* Only a re-assertion of exactly what it holds
				 * may succeed, and it gives just that. */
				k = address_only(reqxml, want, MAXHELD);
				if (k < 0 || !same_set(want, k, v->held,
				    v->nheld) || !same_set(got, m, v->held,
				    v->nheld))
					violation("allocate for VM %d holding "
					    "{%s} succeeded with new requests",
					    v->id, set_str(v->held, v->nheld));
			}
			/* Only an allocate that took devices is the one a
			 * retry repeats: a re-assertion of what the VM holds
			 * changes nothing, the daemon's record of the VM's
			 * requests included (API.md). */
			if (op == OP_ALLOC && v->nheld == 0) {
				free(v->last_alloc);
				v->last_alloc = strdup(p);
				v->retry_valid = 1;
			}
			ledger_set(v, val);
		} else if (code == 0x0800 && v->nheld == 0)
			violation("allocate for VM %d: ACTION (holds devices) "
			    "but it was acknowledged none", v->id);
		else if (code != 0x4000 && code != 0x0800)
			note_unexpected("allocate: code %#x: %s", code,
			    errmsg(val));
		else if (op == OP_RETRY && v->retry_valid)
			violation("retried allocate for VM %d failed with "
			    "%#x", v->id, code);
		break;
	case OP_ATTACH:
		if (ok) {
			char	a[16];

			if (get_int(val, "VMID") != v->id)
				violation("attach for VM %d gave VMID %d",
				    v->id, get_int(val, "VMID"));
			get_str(val, "ADDRESS", a, sizeof(a));
			if (has(v->held, v->nheld, a))
				violation("attach for VM %d gave %s it held "
				    "already", v->id, a);
			else if (v->nheld < MAXHELD)
				snprintf(v->held[v->nheld++], 16, "%s", a);
			v->retry_valid = 0;
		} else if (code != 0x4000)
			note_unexpected("attach: code %#x: %s", code,
			    errmsg(val));
		break;
	case OP_DETACH:
		/* Refused since it would share a group with the host: the
		 * device stays held, as the ledger has it. */
		if (!ok && code == 0x0800 && strstr(errmsg(val),
		    "would share IOMMU group") != NULL) {
			if (!has(v->held, v->nheld, addr))
				violation("detach %s from VM %d: ACTION, but it "
				    "was not held", addr, v->id);
			break;
		}
		if (ok != has(v->held, v->nheld, addr))
			violation("detach %s from VM %d: %s, but it %s held",
			    addr, v->id, ok ? "done" : "NO_EXISTS",
			    ok ? "was not" : "was");
		if (!ok && code != 0x0400)
			note_unexpected("detach: code %#x: %s", code,
			    errmsg(val));
		if (ok) {
			int	i;

			for (i = 0; i < v->nheld; i++)
				if (strcmp(v->held[i], addr) == 0) {
					memmove(v->held[i], v->held[i + 1],
					    (size_t)(v->nheld - i - 1) * 16);
					v->nheld--;
					break;
				}
			v->retry_valid = 0;
		}
		break;
	case OP_RELEASE: {
		int	count = -1;
		xmlrpc_env env;

		xmlrpc_env_init(&env);
		if (ok)
			xmlrpc_read_int(&env, val, &count);
		xmlrpc_env_clean(&env);
		if (!ok)
			note_unexpected("release: code %#x: %s", code,
			    errmsg(val));
		else if (count != v->nheld)
			violation("release of VM %d released %d, acknowledged "
			    "%d {%s}", v->id, count, v->nheld,
			    set_str(v->held, v->nheld));
		v->nheld = 0;
		v->retry_valid = 0;
		break;
	}
	case OP_TEST:
		if (!ok || xmlrpc_value_type(val) != XMLRPC_TYPE_STRUCT)
			note_unexpected("test: code %#x: %s", code,
			    errmsg(val));
		break;
	case OP_VM: {
		char	seen[MAXHELD][16];
		int	i, m = ok ? arr_len(val) : 0;
		xmlrpc_value *d;

		for (i = 0; i < m && i < MAXHELD; i++) {
			d = arr_item(val, i);
			get_str(d, "ADDRESS", seen[i], 16);
			xmlrpc_DECREF(d);
		}
		if (!ok)
			note_unexpected("vm: code %#x: %s", code,
			    errmsg(val));
		else
			ledger_check(v, seen, m, "pci.vm", 0);
		break;
	}
	}
	if (val != NULL)
		xmlrpc_DECREF(val);
	free(reqxml);
	return 0;
}

static void *
client_main(void *arg)
{
	struct client	*cl = arg;
	long		 done = 0;
	int		 gen, lost;

	while (!stop && done < opt.max_ops && now() - t0 < opt.seconds) {
		pthread_rwlock_rdlock(&pause_lock);
		gen = generation;
		lost = one_op(cl);
		pthread_rwlock_unlock(&pause_lock);
		done++;
		/* After a lost answer, wait for the restart and resolution. */
		while (lost && opt.kills > 0 && generation == gen && !stop)
			msleep(5);
	}
	return NULL;
}

/* ---- the killer and the checkpoints ---- */

static long
file_size(const char *path)
{
	struct stat	st;

	return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/* Copy the database and its WAL as the kill left them (no -shm, as after
 * a reboot) and check the copy. */
static void
check_copy(const char *where)
{
	char		 cmd[2048], copy[600];
	struct view	 w;
	long		 wal;

	snprintf(copy, sizeof(copy), "%s.crashcopy", opt.db);
	snprintf(cmd, sizeof(cmd), "%s-wal", opt.db);
	wal = file_size(cmd);
	if (wal > wal_max)
		wal_max = wal;
	snprintf(cmd, sizeof(cmd), "rm -f '%s' '%s-wal' '%s-shm'; "
	    "cp '%s' '%s' && { [ ! -e '%s-wal' ] || cp '%s-wal' '%s-wal'; }",
	    copy, copy, copy, opt.db, copy, opt.db, opt.db, copy);
	if (system(cmd) != 0) {
		violation("cannot copy the database");
		return;
	}
	if (db_view(copy, &w, 1) == 0)
		ledgers_against(&w, where, 0);
	snprintf(cmd, sizeof(cmd), "rm -f '%s' '%s-wal' '%s-shm'", copy,
	    copy, copy);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", copy);
}

static long	 cuts_torn, cuts_writes_kept, cuts_writes_lost;

/*
 * One file after a power cut: what was durable, then the first k of the
 * writes since (k random), the k-th cut short at a random 512-byte
 * boundary half the time. Nothing durable and nothing kept: no file.
 */
static void
cut_file(const char *path, unsigned *seed)
{
	char		 p[700], d[700];
	struct pending	 r = { 0, 0, 0, NULL };
	FILE		*pend, *out;
	uint64_t	 len;
	long		 nrec = 0, k, i;
	int		 durable;

	snprintf(p, sizeof(p), "%s.pending", path);
	snprintf(d, sizeof(d), "%s.durable", path);
	durable = access(d, F_OK) == 0;
	if ((pend = fopen(p, "re")) != NULL) {
		while (pending_next(pend, &r))
			nrec++;
		rewind(pend);
	}
	k = nrec ? (long)(rand_r(seed) % (unsigned)(nrec + 1)) : 0;
	cuts_writes_kept += k;
	cuts_writes_lost += nrec - k;
	unlink(path);
	if (durable && rename(d, path) < 0)
		violation("power cut: cannot restore %s", d);
	out = NULL;
	if ((durable || k > 0) && (out = fopen(path, durable ? "r+e" :
	    "w+e")) == NULL)
		violation("power cut: cannot open %s", path);
	for (i = 0; out != NULL && i < k && pending_next(pend, &r); i++) {
		len = r.len;
		if (r.type == 'W' && i == k - 1 && rand_r(seed) % 2) {
			len = (len / 512) ? (uint64_t)(rand_r(seed) %
			    (unsigned)(len / 512)) * 512 : 0;
			cuts_torn++;
		}
		if (pending_apply(out, &r, len) < 0)
			violation("power cut: writing %s", path);
	}
	free(r.buf);
	if (out != NULL)
		fclose(out);
	if (pend != NULL)
		fclose(pend);
	unlink(p);
}

/* What the disk keeps of the database when the power goes now. */
static void
power_cut(unsigned *seed)
{
	char	path[700];

	cut_file(opt.db, seed);
	snprintf(path, sizeof(path), "%s-wal", opt.db);
	cut_file(path, seed);
	snprintf(path, sizeof(path), "%s-shm", opt.db);
	unlink(path);
}

static void *
killer_main(void *arg)
{
	CURL		*c = curl_easy_init();
	unsigned	 seed = (unsigned)(uintptr_t)arg;
	double		 span = opt.seconds / (opt.kills + 1);
	int		 k;

	/* Every kill happens even when the clients' time is up (a loaded
	 * machine makes restarts slow): the counts are part of the verdict. */
	for (k = 0; k < opt.kills; k++) {
		if (!stop)
			msleep((long)(span * 1000 * (0.5 +
			    (rand_r(&seed) % 1000) / 1000.0)));
		/* Killed while clients are in their calls, so no pausing
		 * first; the checker must not take the dead daemon's
		 * silence for a verdict, hence daemon_down. */
		pthread_mutex_lock(&check_lock);	/* not mid-checkpoint */
		__atomic_store_n(&daemon_down, 1, __ATOMIC_SEQ_CST);
		daemon_end(SIGKILL);
		pthread_mutex_unlock(&check_lock);
		pthread_rwlock_wrlock(&pause_lock);
		if (opt.power)
			power_cut(&seed);
		check_copy(opt.power ? "after a power cut, on disk" :
		    "after kill -9, on disk");
		daemon_spawn();
		__atomic_store_n(&daemon_down, 0, __ATOMIC_SEQ_CST);
		restarts++;
		checkpoint(c, "after restart", 1);
		generation++;
		pthread_rwlock_unlock(&pause_lock);
	}
	curl_easy_cleanup(c);
	return NULL;
}

static void *
checker_main(void *arg)
{
	CURL	*c = curl_easy_init();

	(void)arg;
	while (!stop) {
		msleep(opt.check_ms);
		pthread_rwlock_wrlock(&pause_lock);
		pthread_mutex_lock(&check_lock);
		if (!stop && !__atomic_load_n(&daemon_down, __ATOMIC_SEQ_CST))
			checkpoint(c, "checkpoint", 0);
		pthread_mutex_unlock(&check_lock);
		pthread_rwlock_unlock(&pause_lock);
	}
	curl_easy_cleanup(c);
	return NULL;
}

/* Mutations that prove the checks bite: applied with the daemon down. */
static void
inject(void)
{
	char		 sql[512];
	sqlite3		*db;
	const char	*q = NULL;

	if (strcmp(opt.inject, "forget") == 0)
		q = "UPDATE device SET vmid = -1, req_index = -1 WHERE addr = "
		    "(SELECT min(addr) FROM device WHERE vmid >= 0)";
	else if (strcmp(opt.inject, "bridge") == 0)
		q = "UPDATE device SET vmid = 1 WHERE addr = "
		    "(SELECT min(addr) FROM device WHERE header = 1)";
	else if (strcmp(opt.inject, "split") == 0)
		q = "UPDATE device SET vmid = CASE WHEN addr = (SELECT min(m."
		    "addr) FROM iommu_member m JOIN device e ON e.addr = "
		    "m.addr WHERE e.header = 0 AND m.grp = (SELECT grp FROM "
		    "iommu_member GROUP BY grp HAVING count(*) > 1 LIMIT 1)) "
		    "THEN 1 ELSE 2 END WHERE addr IN (SELECT m.addr FROM "
		    "iommu_member m JOIN device e ON e.addr = m.addr WHERE "
		    "e.header = 0 AND m.grp = (SELECT grp FROM iommu_member "
		    "GROUP BY grp HAVING count(*) > 1 LIMIT 1))";
	if (q == NULL) {
		fprintf(stderr, "--inject forget|bridge|split\n");
		exit(2);
	}
	snprintf(sql, sizeof(sql), "%s", q);
	if (sqlite3_open(opt.db, &db) != SQLITE_OK ||
	    sqlite3_exec(db, q, NULL, NULL, NULL) != SQLITE_OK)
		fprintf(stderr, "inject: %s\n", sqlite3_errmsg(db));
	fprintf(stderr, "stress: injected %s (%d rows)\n", opt.inject,
	    sqlite3_changes(db));
	sqlite3_close(db);
}

static int
dcmp(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
report(double elapsed, int exit_status)
{
	long	 total = 0, ops[NOPS] = { 0 }, codes[NOPS][8] = { { 0 } };
	double	*all;
	size_t	 nall = 0, k;
	int	 i, j, s;

	for (i = 0; i < opt.clients; i++) {
		nall += clients[i].nlat;
		for (j = 0; j < NOPS; j++) {
			ops[j] += clients[i].ops[j];
			total += clients[i].ops[j];
			for (s = 0; s < 5; s++)
				codes[j][s] += clients[i].codes[j][s];
		}
	}
	all = malloc((nall ? nall : 1) * sizeof(double));
	for (k = 0, i = 0; i < opt.clients; i++) {
		memcpy(all + k, clients[i].lat, clients[i].nlat *
		    sizeof(double));
		k += clients[i].nlat;
	}
	qsort(all, nall, sizeof(double), dcmp);
	printf("stress: %d clients, %d VMs, %.1f s, %ld calls (%.0f/s)\n",
	    opt.clients, opt.clients * opt.vms_per, elapsed, total,
	    total / elapsed);
	for (j = 0; j < NOPS; j++)
		printf("stress:   %-8s %7ld calls: ok %ld, ALLOCATE %ld, "
		    "ACTION %ld, NO_EXISTS %ld, other %ld\n", opname[j],
		    ops[j], codes[j][0], codes[j][1], codes[j][2],
		    codes[j][3], codes[j][4]);
	if (nall)
		printf("stress: latency p50 %.1f ms, p99 %.1f ms, max %.1f "
		    "ms\n", all[nall / 2] * 1e3, all[nall * 99 / 100] * 1e3,
		    all[nall - 1] * 1e3);
	printf("stress: kills %d, restarts %ld, calls without answer %ld, "
	    "VMs left uncertain %ld (%ld had taken effect)\n", opt.kills,
	    restarts, transport_errors, uncertain_total, uncertain_applied);
	if (opt.power)
		printf("stress: power cuts %d: writes since the last flush "
		    "kept %ld, lost %ld, torn %ld\n", opt.kills,
		    cuts_writes_kept, cuts_writes_lost, cuts_torn);
	printf("stress: checkpoints %ld, database copies after kill "
	    "integrity ok %ld, largest WAL after a kill %ld bytes\n",
	    checkpoints, integrity_ok, wal_max);
	printf("stress: daemon VmHWM max %ld kB (bound %ld kB), exit on "
	    "SIGTERM %d\n", hwm_max, opt.max_hwm_kb, exit_status);
	printf("stress: violations %ld, unexpected answers %ld, known-bug "
	    "sightings %ld\n", violations, unexpected, known_hits);
	free(all);
}

static void
usage(void)
{
	fprintf(stderr, "usage: pcipass-stress --port N --db PATH [--clients "
	    "N] [--vms-per-client N] [--seconds S] [--ops N] [--kills N] "
	    "[--check-ms MS] [--max-hwm-mb N] [--log FILE] [--session S] "
	    "[--check-only] [--inject forget|bridge|split] "
	    "[--known-bug detach-split] [--seed N] [--power-cuts N] -- "
	    "PCIPASSD ARGS...\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "clients", 1, NULL, 'c' }, { "vms-per-client", 1, NULL, 'v' },
		{ "seconds", 1, NULL, 's' }, { "ops", 1, NULL, 'o' },
		{ "kills", 1, NULL, 'k' }, { "check-ms", 1, NULL, 'C' },
		{ "max-hwm-mb", 1, NULL, 'm' }, { "log", 1, NULL, 'l' },
		{ "port", 1, NULL, 'p' }, { "db", 1, NULL, 'd' },
		{ "session", 1, NULL, 'S' }, { "check-only", 0, NULL, 'O' },
		{ "inject", 1, NULL, 'i' }, { "seed", 1, NULL, 'r' },
		{ "known-bug", 1, NULL, 'K' },
		{ "power-cuts", 1, NULL, 'P' },
		{ NULL, 0, NULL, 0 }
	};
	pthread_t		 killer, checker;
	pthread_rwlockattr_t	 ra;
	CURL			*c;
	struct view		 w;
	unsigned		 seed = (unsigned)time(NULL);
	int			 ch, i, j, status;
	double			 elapsed;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'c': opt.clients = atoi(optarg); break;
		case 'v': opt.vms_per = atoi(optarg); break;
		case 's': opt.seconds = atof(optarg); break;
		case 'o': opt.max_ops = atoi(optarg); break;
		case 'k': opt.kills = atoi(optarg); break;
		case 'P':
			opt.kills = atoi(optarg);
			opt.power = 1;
			if (getenv("POWERCUT_SO") == NULL) {
				fprintf(stderr, "stress: --power-cuts needs "
				    "POWERCUT_SO (tests/stress/powercut.so)\n");
				exit(2);
			}
			break;
		case 'C': opt.check_ms = atoi(optarg); break;
		case 'm': opt.max_hwm_kb = atol(optarg) * 1024; break;
		case 'l': opt.log = optarg; break;
		case 'p': opt.port = atoi(optarg); break;
		case 'd': opt.db = optarg; break;
		case 'S': opt.session = optarg; break;
		case 'O': opt.check_only = 1; break;
		case 'i': opt.inject = optarg; break;
		case 'r': seed = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'K':
			if (strcmp(optarg, "detach-split") != 0)
				usage();
			opt.known_detach = 1;
			break;
		default: usage();
		}
	}
	if (optind >= argc || opt.port <= 0 || opt.db == NULL ||
	    opt.clients < 1 || opt.vms_per < 1)
		usage();
	opt.daemon_argv = argv + optind;
	printf("stress: seed %u\n", seed);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setkind_np(&ra,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&pause_lock, &ra);
	signal(SIGPIPE, SIG_IGN);

	daemon_spawn();
	c = curl_easy_init();
	if (list_view(c, &w, 1) < 0 || ndev == 0) {
		fprintf(stderr, "stress: pci.list failed or empty\n");
		daemon_end(SIGKILL);
		return 2;
	}
	clients = calloc((size_t)opt.clients, sizeof(*clients));
	for (i = 0; i < opt.clients; i++) {
		clients[i].idx = i;
		clients[i].seed = seed + (unsigned)i * 7919u;
		clients[i].curl = curl_easy_init();
		clients[i].nvms = opt.vms_per;
		clients[i].vms = calloc((size_t)opt.vms_per, sizeof(struct vm));
		for (j = 0; j < opt.vms_per; j++)
			clients[i].vms[j].id = 1 + i * opt.vms_per + j;
	}
	t0 = now();
	if (opt.check_only) {
		checkpoint(c, "check-only", 0);
		goto end;
	}
	/* Start from a known state: whatever the database holds for our
	 * VMs is released first (a previous run's leftovers). */
	checkpoint(c, "start", 0);
	if (violations) {
		fprintf(stderr, "stress: the database is not empty; use a "
		    "fresh one\n");
		goto end;
	}
	if (opt.kills > 0)
		pthread_create(&killer, NULL, killer_main,
		    (void *)(uintptr_t)(seed ^ 0x5a5a));
	pthread_create(&checker, NULL, checker_main, NULL);
	for (i = 0; i < opt.clients; i++)
		pthread_create(&clients[i].th, NULL, client_main, &clients[i]);
	for (i = 0; i < opt.clients; i++)
		pthread_join(clients[i].th, NULL);
	stop = 1;
	if (opt.kills > 0)
		pthread_join(killer, NULL);
	pthread_join(checker, NULL);
	checkpoint(c, "end", 1);
	if (opt.inject != NULL) {
		daemon_end(SIGTERM);
		inject();
		daemon_spawn();
		checkpoint(c, "after inject", 0);
	}
end:
	elapsed = now() - t0;
	status = daemon_end(SIGTERM);
	status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 +
	    WTERMSIG(status);
	if (status != 0)
		violation("pcipassd exited %d on SIGTERM", status);
	if (!opt.check_only)
		check_copy("after SIGTERM, on disk");
	if (hwm_max > opt.max_hwm_kb)
		violation("daemon VmHWM %ld kB over %ld kB", hwm_max,
		    opt.max_hwm_kb);
	report(elapsed, status);
	for (i = 0; i < opt.clients; i++) {
		curl_easy_cleanup(clients[i].curl);
		for (j = 0; j < clients[i].nvms; j++)
			free(clients[i].vms[j].last_alloc);
		free(clients[i].vms);
		free(clients[i].lat);
	}
	free(clients);
	curl_easy_cleanup(c);
	curl_global_cleanup();
	if (violations || unexpected) {
		printf("stress: FAILED\n");
		return 1;
	}
	printf("stress: OK\n");
	return 0;
}
