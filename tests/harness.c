/*
 * Test harness; see harness.h.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "trees.h"

#define MAXDIRS	64

static char	*dirs[MAXDIRS];
static int	 ndirs;

const char *
scratch_dir(void)
{
	const char	*tmp = getenv("TMPDIR");
	char		 tmpl[512];

	snprintf(tmpl, sizeof(tmpl), "%s/pcipass-test.XXXXXX",
	    tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	ck_assert_int_lt(ndirs, MAXDIRS);
	dirs[ndirs] = strdup(tmpl);
	return dirs[ndirs++];
}

void
cleanup_dirs(void)
{
	char	cmd[600];

	while (ndirs > 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dirs[--ndirs]);
		if (getenv("KEEP_TEST_DIRS") == NULL && system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", dirs[ndirs]);
		free(dirs[ndirs]);
	}
}

void
write_file(const char *path, const char *text)
{
	FILE	*f = fopen(path, "w");

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

char *
read_file(const char *path)
{
	FILE	*f = fopen(path, "r");
	char	*buf = NULL;
	size_t	 len = 0;
	ssize_t	 n;

	if (f == NULL)
		return NULL;
	n = getdelim(&buf, &len, '\0', f);
	fclose(f);
	if (n < 0) {
		free(buf);
		return strdup("");
	}
	return buf;
}

static const char *
convert(const char *dump, const char *dir)
{
	static char	 root[600];
	char		 cmd[2048];

	snprintf(root, sizeof(root), "%s/sys", dir);
	snprintf(cmd, sizeof(cmd), "python3 %s/tests/lspci2sysfs.py '%s' "
	    "'%s' 2>'%s/convert.log'", getenv("SRCDIR") ? getenv("SRCDIR") :
	    ".", dump, root, dir);
	ck_assert_msg(system(cmd) == 0, "converting %s failed", dump);
	return root;
}

const char *
tree_fixture(const char *name)
{
	char		 dump[1024];
	const char	*fx = getenv("FIXTURES");

	snprintf(dump, sizeof(dump), "%s/%s", fx ? fx :
	    "../shared/fixtures/lspci", name);
	return convert(dump, scratch_dir());
}

const char *
tree_nvidia_vgpu(void)
{
	const char	*t = tree_text(NVIDIA_TREE);
	char		 cmd[1400], path[700];

	/* 01:00.4: the 43 types nvidia-558 ... nvidia-600, a PROFILES of
	 * 472 bytes (an A10 lists about that many); nvidia-558 has two
	 * instances left, nvidia-559 none, the others do not say. */
	snprintf(cmd, sizeof(cmd), "cd '%s' && mkdir -p bus/pci/devices/"
	    "0000:01:00.5/nvidia && for i in $(seq 558 600); do mkdir -p "
	    "class/mdev_bus/0000:01:00.4/mdev_supported_types/nvidia-$i; "
	    "done && cd class/mdev_bus/0000:01:00.4/mdev_supported_types && "
	    "echo 2 > nvidia-558/available_instances && "
	    "echo 0 > nvidia-559/available_instances", t);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/bus/pci/devices/0000:01:00.5/nvidia/"
	    "creatable_vgpu_types", t);
	write_file(path, "ID    : vGPU Name\n590   : NVIDIA A10-1B\n"
	    "591   : NVIDIA A10-2B\n");
	return t;
}

const char *const fixture_names[] = {
	"adlink-ampere-altra-devkit-2gpu-domains.txt",
	"asrockrack-e3c256d4u-2l2t-x710-sriov.txt",
	"asrockrack-x570d4u-2l2t-bcm-iommu.txt",
	"asus-b250-mining-expert-8x-gtx1060.txt",
	"beelink-eq-n100-pve-igpu-sriov-pf.txt",
	"dell-poweredge-r715-opteron-4numa.txt",
	"gigabyte-g292-z20-epyc-cx4lx-i350.txt",
	"lenovo-legion5-15ach6-rtx3050ti-iommu.txt",
	"minisforum-ms01-pve-igpu-sriov-5vfs.txt",
};
const size_t nfixtures = sizeof(fixture_names) / sizeof(fixture_names[0]);

const char *
tree_text(const char *text)
{
	const char	*dir = scratch_dir();
	char		 dump[600];

	snprintf(dump, sizeof(dump), "%s/dump.txt", dir);
	write_file(dump, text);
	return convert(dump, dir);
}

/* A port the kernel just handed out, so parallel runs do not collide. */
static int
free_port(const char *host)
{
	struct sockaddr_in	sin = { .sin_family = AF_INET };
	socklen_t		len = sizeof(sin);
	int			fd, port;

	inet_pton(AF_INET, host, &sin.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static int
port_open(const char *host, int port)
{
	struct sockaddr_in	sin = { .sin_family = AF_INET };
	int			fd, rc;

	sin.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, host, &sin.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	rc = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	close(fd);
	return rc == 0;
}

static void
spawn(struct daemon *d, const char *filter_path, const char *extra)
{
	char		 cmd[4096], log[400];
	const char	*bin = getenv("PCIPASSD");

	snprintf(log, sizeof(log), "%s/daemon.log", d->dir);
	/*
	 * An empty --proc-root unless extra gives one (the last flag wins):
	 * the real /proc's root filesystem and default route must not make
	 * fake devices host-critical. Leak checks stay on for the daemon
	 * even when the runner's are off.
	 */
	snprintf(cmd, sizeof(cmd), "ASAN_OPTIONS=detect_leaks=1:verify_asan_link_order=0 exec %s -d "
	    "--listen %s --port %d "
	    "--sysfs-root '%s' --filter '%s' --db '%s' --auth '%s/auth' "
	    "--proc-root '%s/proc' --rescan 0 %s >>'%s' 2>&1",
	    bin ? bin : "build/pcipassd", d->host, d->port, d->sysfs,
	    filter_path, d->db, d->dir, d->dir, extra ? extra : "", log);
	d->pid = fork();
	ck_assert_int_ge(d->pid, 0);
	if (d->pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
}

static void
wait_ready(struct daemon *d)
{
	struct timespec	ts = { 0, 10 * 1000 * 1000 };
	int		i, status;

	for (i = 0; i < 1000; i++) {
		if (port_open(d->host, d->port))
			return;
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			char	path[400], *log;

			snprintf(path, sizeof(path), "%s/daemon.log", d->dir);
			log = read_file(path);
			ck_abort_msg("pcipassd exited: %s", log ? log : "");
		}
		nanosleep(&ts, NULL);
	}
	ck_abort_msg("pcipassd did not listen on %s:%d", d->host, d->port);
}

void
daemon_start_at(struct daemon *d, const char *host, const char *sysfs,
    const char *filter, const char *extra)
{
	char	path[400];

	memset(d, 0, sizeof(*d));
	snprintf(d->host, sizeof(d->host), "%s", host);
	snprintf(d->dir, sizeof(d->dir), "%s", scratch_dir());
	snprintf(d->sysfs, sizeof(d->sysfs), "%s", sysfs);
	snprintf(d->db, sizeof(d->db), "%s/pcipass.db", d->dir);
	snprintf(path, sizeof(path), "%s/auth", d->dir);
	write_file(path, SESSION "\nreader:read-secret:ro\n");
	chmod(path, 0600);
	snprintf(path, sizeof(path), "%s/pci.conf", d->dir);
	write_file(path, filter);
	d->port = free_port(host);
	spawn(d, path, extra);
	wait_ready(d);
}

void
daemon_start(struct daemon *d, const char *sysfs, const char *filter,
    const char *extra)
{
	daemon_start_at(d, "127.0.0.1", sysfs, filter, extra);
}

static int
reap(struct daemon *d, int sig)
{
	int	status = 0;

	if (d->pid <= 0)
		return 0;
	kill(d->pid, sig);
	waitpid(d->pid, &status, 0);
	d->pid = 0;
	return status;
}

void
daemon_stop(struct daemon *d)
{
	int	status = reap(d, SIGTERM);

	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "pcipassd did not exit 0 on SIGTERM (status %d)", status);
}

void
daemon_kill9(struct daemon *d)
{
	reap(d, SIGKILL);
}

void
daemon_restart(struct daemon *d, const char *extra)
{
	char	path[400];

	snprintf(path, sizeof(path), "%s/pci.conf", d->dir);
	spawn(d, path, extra);
	wait_ready(d);
}

long
daemon_vmhwm_kb(const struct daemon *d)
{
	char	 path[64], *s, *p;
	long	 kb = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)d->pid);
	if ((s = read_file(path)) == NULL)
		return -1;
	if ((p = strstr(s, "VmHWM:")) != NULL)
		kb = strtol(p + 6, NULL, 10);
	free(s);
	return kb;
}

int
http_post(const struct daemon *d, const char *ctype, const char *body,
    size_t len, char **out)
{
	const char	*dir = d->dir;
	char		 in[400], resp[400], cmd[2048], *code;
	FILE		*f;
	int		 status;

	snprintf(in, sizeof(in), "%s/req.%d", dir, (int)getpid());
	snprintf(resp, sizeof(resp), "%s/resp.%d", dir, (int)getpid());
	f = fopen(in, "w");
	ck_assert_ptr_nonnull(f);
	fwrite(body, 1, len, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "curl -s -m 20 -o '%s' -w '%%{http_code}' "
	    "-H 'Content-Type: %s' --data-binary @'%s' "
	    "http://%s:%d/RPC2 > '%s.code'", resp, ctype, in, d->host,
	    d->port, resp);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s.code", resp);
	code = read_file(cmd);
	status = atoi(code);
	free(code);
	*out = read_file(resp);
	return status;
}

xmlrpc_value *
rpc_as(const struct daemon *d, const char *session, const char *method,
    const char *params)
{
	xmlrpc_env	 env;
	xmlrpc_value	*result = NULL;
	char		*body, *resp;
	const char	*fault_str;
	int		 status, fault_code;

	ck_assert_int_gt(asprintf(&body, "<?xml version=\"1.0\"?>"
	    "<methodCall><methodName>%s</methodName><params><param><value>"
	    "<string>%s</string></value></param>%s</params></methodCall>",
	    method, session, params ? params : ""), 0);
	status = http_post(d, "text/xml", body, strlen(body), &resp);
	free(body);
	ck_assert_msg(status == 200, "%s: HTTP %d: %s", method, status,
	    resp ? resp : "");
	xmlrpc_env_init(&env);
	xmlrpc_parse_response2(&env, resp, strlen(resp), &result, &fault_code,
	    &fault_str);
	ck_assert_msg(!env.fault_occurred, "%s: unparseable answer: %s",
	    method, resp);
	ck_assert_msg(fault_str == NULL, "%s: fault %d: %s", method,
	    fault_code, fault_str);
	free(resp);
	xmlrpc_env_clean(&env);
	return result;
}

/*
 * A call during which pcipassd dies (a test makes it, with the kernel
 * stand-in's kill-after-* controls): no answer comes; the daemon is
 * reaped.
 */
void
rpc_dies(struct daemon *d, const char *method, const char *params)
{
	char	*cmd;

	ck_assert_int_gt(asprintf(&cmd, "curl -s -m 20 -o /dev/null "
	    "-H 'Content-Type: text/xml' --data-binary '<?xml version="
	    "\"1.0\"?><methodCall><methodName>%s</methodName><params><param>"
	    "<value><string>" SESSION "</string></value></param>%s</params>"
	    "</methodCall>' http://%s:%d/RPC2", method, params, d->host,
	    d->port), 0);
	ck_assert_msg(system(cmd) != 0, "pcipassd answered: %s", cmd);
	free(cmd);
	daemon_kill9(d);
}

xmlrpc_value *
rpc(const struct daemon *d, const char *method, const char *params)
{
	return rpc_as(d, SESSION, method, params);
}

int
rpc_fault(const struct daemon *d, const char *xml)
{
	xmlrpc_env	 env;
	xmlrpc_value	*result = NULL;
	char		*resp;
	const char	*fault_str = NULL;
	int		 status, fault_code = 0;

	status = http_post(d, "text/xml", xml, strlen(xml), &resp);
	ck_assert_msg(status == 200, "HTTP %d: %s", status, resp);
	xmlrpc_env_init(&env);
	xmlrpc_parse_response2(&env, resp, strlen(resp), &result, &fault_code,
	    &fault_str);
	ck_assert_msg(!env.fault_occurred, "unparseable answer: %s", resp);
	free(resp);
	if (result != NULL)
		xmlrpc_DECREF(result);
	free((char *)fault_str);
	xmlrpc_env_clean(&env);
	return fault_code;
}

int
rpc_ok(xmlrpc_value *r, xmlrpc_value **value, int *code, const char **msg)
{
	xmlrpc_env	 env;
	xmlrpc_value	*v;
	xmlrpc_bool	 ok;

	xmlrpc_env_init(&env);
	ck_assert_int_eq(xmlrpc_value_type(r), XMLRPC_TYPE_ARRAY);
	ck_assert_int_eq(xmlrpc_array_size(&env, r), 3);
	xmlrpc_decompose_value(&env, r, "(bVi)", &ok, &v, code);
	ck_assert_msg(!env.fault_occurred, "answer is not [bool, value, int]");
	if (msg != NULL)
		*msg = NULL;
	if (!ok && msg != NULL)
		xmlrpc_read_string(&env, v, msg);
	/* decompose handed us a reference to v: give it or drop it. */
	if (value != NULL)
		*value = v;
	else
		xmlrpc_DECREF(v);
	xmlrpc_DECREF(r);
	xmlrpc_env_clean(&env);
	return ok;
}

const char *
field_str(xmlrpc_value *st, const char *name)
{
	static __thread char	 buf[8][512];
	static __thread int	 slot;
	xmlrpc_env		 env;
	xmlrpc_value		*v;
	const char		*s;
	char			*out = buf[slot++ % 8];

	xmlrpc_env_init(&env);
	xmlrpc_struct_read_value(&env, st, name, &v);
	ck_assert_msg(!env.fault_occurred, "no field %s", name);
	xmlrpc_read_string(&env, v, &s);
	ck_assert_msg(!env.fault_occurred, "field %s is not a string", name);
	snprintf(out, 512, "%s", s);
	free((char *)s);
	xmlrpc_DECREF(v);
	xmlrpc_env_clean(&env);
	return out;
}

int
field_int(xmlrpc_value *st, const char *name)
{
	xmlrpc_env	 env;
	xmlrpc_value	*v;
	int		 n;

	xmlrpc_env_init(&env);
	xmlrpc_struct_read_value(&env, st, name, &v);
	ck_assert_msg(!env.fault_occurred, "no field %s", name);
	xmlrpc_read_int(&env, v, &n);
	ck_assert_msg(!env.fault_occurred, "field %s is not an int", name);
	xmlrpc_DECREF(v);
	xmlrpc_env_clean(&env);
	return n;
}

xmlrpc_value *
find_addr(xmlrpc_value *arr, const char *addr)
{
	xmlrpc_env	 env;
	xmlrpc_value	*v;
	int		 i, n;

	xmlrpc_env_init(&env);
	n = xmlrpc_array_size(&env, arr);
	for (i = 0; i < n; i++) {
		xmlrpc_array_read_item(&env, arr, (unsigned)i, &v);
		if (strcmp(field_str(v, "ADDRESS"), addr) == 0)
			return v;
		xmlrpc_DECREF(v);
	}
	return NULL;
}

char *
list_summary(const struct daemon *d)
{
	xmlrpc_env	 env;
	xmlrpc_value	*list, *v;
	char		*buf = NULL;
	size_t		 len = 0;
	FILE		*fp = open_memstream(&buf, &len);
	int		 i, n, code;

	ck_assert(rpc_ok(rpc(d, "pci.list", NULL), &list, &code, NULL));
	xmlrpc_env_init(&env);
	n = xmlrpc_array_size(&env, list);
	for (i = 0; i < n; i++) {
		xmlrpc_array_read_item(&env, list, (unsigned)i, &v);
		fprintf(fp, "%s %d %s\n", field_str(v, "ADDRESS"),
		    field_int(v, "VMID"), field_str(v, "STATE"));
		xmlrpc_DECREF(v);
	}
	xmlrpc_DECREF(list);
	xmlrpc_env_clean(&env);
	fclose(fp);
	return buf;
}
