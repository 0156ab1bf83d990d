/*
 * Test harness: fake sysfs trees made by tests/lspci2sysfs.py, real
 * pcipassd processes on loopback ports, real HTTP through curl, and the
 * answers parsed back with xmlrpc-c. Shared by every check_*.c suite.
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <sys/types.h>

#include <check.h>
#include <xmlrpc-c/base.h>

struct daemon {
	pid_t	 pid;
	int	 port;
	char	 host[32];
	char	 dir[256];	/* scratch: db, auth, filter, log */
	char	 sysfs[300];
	char	 db[300];
};

/* Suites, one per module; the runner lists them in check_main.c. */
Suite	*filter_suite(void);
Suite	*scan_suite(void);
Suite	*store_suite(void);
Suite	*match_suite(void);
Suite	*rpc_suite(void);
Suite	*hostile_suite(void);
Suite	*stress_suite(void);
Suite	*flags_suite(void);
Suite	*client_suite(void);
Suite	*cli_suite(void);
Suite	*place_suite(void);
Suite	*guard_suite(void);
Suite	*bind_suite(void);
Suite	*host_suite(void);
Suite	*rules_suite(void);
Suite	*reconcile_suite(void);
Suite	*one_suite(void);
Suite	*vgpu_suite(void);
Suite	*answer_suite(void);

/* A fresh scratch directory under $TMPDIR; removed by cleanup_dirs(). */
const char *scratch_dir(void);
void	 cleanup_dirs(void);

/* The lspci dumps of real machines in $FIXTURES, by file name. */
extern const char *const fixture_names[];
extern const size_t nfixtures;

/* Trees: a fixture by file name, or a small dump written inline. */
/* NVIDIA_TREE's VFs as vGPUs (tests/trees.h): 01:00.4 on the legacy
 * mdev bus with 43 types (nvidia-558: 2 instances left, nvidia-559: 0),
 * 01:00.5 with NVIDIA's own sysfs (590, 591 creatable); returns
 * the tree. A test helper playing the kernel's and NVIDIA driver's part:
 * Debian's kernel has no vGPU parent. */
const char *tree_nvidia_vgpu(void);
const char *tree_fixture(const char *name);
const char *tree_text(const char *dump);
void	 write_file(const char *path, const char *text);
char	*read_file(const char *path);

/* Daemons. extra: more flags, space separated, or NULL. */
void	 daemon_start(struct daemon *, const char *sysfs, const char *filter,
	    const char *extra);
void	 daemon_start_at(struct daemon *, const char *host,
	    const char *sysfs, const char *filter, const char *extra);
void	 daemon_stop(struct daemon *);
void	 daemon_kill9(struct daemon *);
void	 daemon_restart(struct daemon *, const char *extra);
long	 daemon_vmhwm_kb(const struct daemon *);

/* HTTP through the curl tool: the status and body of one POST. */
int	 http_post(const struct daemon *, const char *ctype, const char *body,
	    size_t len, char **out);
/* An XML-RPC call: params is the XML of the <param>s after the session. */
xmlrpc_value *rpc(const struct daemon *, const char *method,
	    const char *params);
xmlrpc_value *rpc_as(const struct daemon *, const char *session,
	    const char *method, const char *params);
/* [ok, value, code] of a pcipass answer; value is a new reference. */
int	 rpc_ok(xmlrpc_value *, xmlrpc_value **value, int *code,
	    const char **msg);
/* A call during which pcipassd is killed: no answer; the daemon reaped. */
void	 rpc_dies(struct daemon *, const char *method, const char *params);
/* The fault code of a standard XML-RPC fault answer, 0 if none. */
int	 rpc_fault(const struct daemon *, const char *xml);

/* Struct helpers. */
const char *field_str(xmlrpc_value *, const char *);
int	 field_int(xmlrpc_value *, const char *);
/* The device struct with ADDRESS addr in an array, or NULL. */
xmlrpc_value *find_addr(xmlrpc_value *, const char *);

/* pci.list as one line per device: "ADDRESS VMID STATE". */
char	*list_summary(const struct daemon *);

/*
 * pcipass-host on a fake host (host_harness.c): the tree's sibling
 * directories proc/ (Intel CPU, kernel 6.1 unless changed), pci.conf and
 * pcipass.db.
 */
struct host_env {
	char	 dir[600], sys[700], proc[700], filter[700], db[700];
};
void	 host_env(struct host_env *, const char *sysfs, const char *filter);
/* Run $PCIPASS_HOST with the env's roots and args; its exit status. */
int	 host_run(const struct host_env *, const char *args, char **out,
	    char **err);
/* The "sysfs: echo ..." lines of a log, in order. */
char	*sysfs_writes(const char *log);
/* A file under the env's dir (proc/cpuinfo...), parents created. */
void	 env_file(const struct host_env *, const char *rel, const char *text);

#define SESSION	"oneadmin:test-secret"
#define P_INT(n)	"<param><value><int>" #n "</int></value></param>"

#endif
