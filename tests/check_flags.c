/*
 * check_flags.c: pcipassd's command line (server/pcipassd.c): -n, --probe
 * and bad flags, run as a user would.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "trees.h"

/*
 * Run pcipassd with args; returns its exit status, output in *out. It
 * runs under strace, and fails the test if it touched the host's own
 * pcipass files, /sys or /proc: a test that reads /etc/pcipass/auth
 * passes or fails with what a root `make run` left there.
 */
static int
run(const char *args, char **out)
{
	static const char *const host[] = { "\"/etc/pcipass", "\"/var/lib/"
	    "pcipass", "\"/sys/", "\"/proc/" };
	const char	*dir = scratch_dir();
	char		 cmd[4096], path[600], *trace, *line, *next;
	size_t		 i;
	int		 rc;

	snprintf(cmd, sizeof(cmd), "cd '%s' && timeout 10 strace -f -qq -e "
	    "trace=%%file -o trace %s %s > out 2>&1", dir, getenv("PCIPASSD"),
	    args);
	rc = system(cmd);
	snprintf(path, sizeof(path), "%s/out", dir);
	*out = read_file(path);
	snprintf(path, sizeof(path), "%s/trace", dir);
	trace = read_file(path);
	for (line = trace; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (strstr(line, "\"/proc/self/") != NULL)
			continue;
		for (i = 0; i < sizeof(host) / sizeof(host[0]); i++)
			ck_assert_msg(strstr(line, host[i]) == NULL,
			    "pcipassd %s reached outside its sandbox: %s",
			    args, line);
	}
	free(trace);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* The flags that keep a run inside the test's own directory. */
static const char *
sandbox(void)
{
	static char	flags[1400];
	const char	*dir = scratch_dir();
	char		 path[600];

	snprintf(path, sizeof(path), "%s/auth", dir);
	write_file(path, SESSION "\n");
	chmod(path, 0600);
	snprintf(path, sizeof(path), "%s/proc", dir);
	mkdir(path, 0755);
	snprintf(flags, sizeof(flags), "--auth '%s/auth' --proc-root '%s/proc' "
	    "--db '%s/pcipass.db'", dir, dir, dir);
	return flags;
}

static const char *
conf(const char *text)
{
	static char	path[600];

	snprintf(path, sizeof(path), "%s/pci.conf", scratch_dir());
	write_file(path, text);
	return path;
}

START_TEST(check_only)
{
	char	args[1024], auth[600], *out;

	snprintf(args, sizeof(args), "-n --filter '%s' %s",
	    conf(":filter: '10de:*'\n"), sandbox());
	ck_assert_int_eq(run(args, &out), 0);
	ck_assert_str_eq(out, "configuration OK\n");
	free(out);
	/* Off loopback without TLS in front: a warning, once (-n binds
	 * nothing; 192.0.2.1 is documentation's own address). */
	snprintf(args, sizeof(args), "-n --listen 192.0.2.1 --filter '%s' %s",
	    conf(":filter: '10de:*'\n"), sandbox());
	ck_assert_int_eq(run(args, &out), 0);
	ck_assert_str_eq(out, "--listen 192.0.2.1: sessions and secrets cross "
	    "the network in clear text; put a TLS terminator (stunnel, as "
	    "docker/ does) in front, or listen on loopback\n"
	    "configuration OK\n");
	free(out);
	snprintf(args, sizeof(args), "-n --filter '%s' %s",
	    conf(":filter: '10dex:*'\n:device_name:\n  - '(['\n"), sandbox());
	ck_assert_int_eq(run(args, &out), 1);
	ck_assert_ptr_nonnull(strstr(out, "/pci.conf:1: "));
	ck_assert_ptr_nonnull(strstr(out, "/pci.conf:3: "));
	ck_assert_ptr_null(strstr(out, "configuration OK"));
	free(out);
	/* The auth file is checked too. */
	snprintf(auth, sizeof(auth), "%s/auth", scratch_dir());
	write_file(auth, "bad line\n");
	chmod(auth, 0600);
	snprintf(args, sizeof(args), "-n --filter '%s' --proc-root /nonexistent "
	    "--auth '%s'", conf(":filter: '10de:*'\n"), auth);
	ck_assert_int_eq(run(args, &out), 1);
	ck_assert_ptr_nonnull(strstr(out, "/auth:1: expected user:secret[:ro]"));
	ck_assert_ptr_null(strstr(out, "configuration OK"));
	free(out);
	/* A filter file named on the command line must exist. */
	snprintf(args, sizeof(args), "-n --filter /nonexistent/pci.conf %s",
	    sandbox());
	ck_assert_int_eq(run(args, &out), 1);
	ck_assert_str_eq(out, "/nonexistent/pci.conf: no such file\n");
	free(out);
}
END_TEST

START_TEST(probe_filters)
{
	char	args[2048], *out;

	snprintf(args, sizeof(args), "--probe --sysfs-root '%s' --filter '%s' "
	    "%s", tree_fixture("lenovo-legion5-15ach6-rtx3050ti-iommu.txt"),
	    conf(":filter: '10de:*'\n"), sandbox());
	ck_assert_int_eq(run(args, &out), 0);
	ck_assert_ptr_nonnull(strstr(out, "PCI = [\n TYPE = \"10de:25e2:0300\""
	    " ,\n VENDOR = \"10de\" ,\n VENDOR_NAME = \"NVIDIA Corporation\""));
	ck_assert_ptr_nonnull(strstr(out, " ADDRESS = \"0000:01:00:1\" ,\n"));
	ck_assert_ptr_null(strstr(out, "1022"));
	free(out);
	/* No filter file: nothing offered, and it says so. */
	snprintf(args, sizeof(args), "--probe --sysfs-root '%s' --filter "
	    "/nonexistent/pci.conf %s",
	    tree_fixture("lenovo-legion5-15ach6-rtx3050ti-iommu.txt"),
	    sandbox());
	ck_assert_int_eq(run(args, &out), 0);
	ck_assert_str_eq(out, "/nonexistent/pci.conf: no such file: no "
	    "device is offered (passthrough is opt-in; see pci.conf in the "
	    "README)\n");
	free(out);
}
END_TEST

/*
 * :nvidia_vendors: as OpenNebula's probe reads it: their devices are
 * named "VENDOR_NAME DEVICE_NAME", their VFs "NVIDIA vGPU device", and a
 * PF with VFs enabled is left out. An A10 with two of its VFs enabled,
 * beside a V100 without SR-IOV and an Intel NIC.
 */
/* --probe of tree with a pci.conf of text: its output, exit 0 asserted. */
static char *
probe_of(const char *tree, const char *text)
{
	char	args[2048], *out;

	snprintf(args, sizeof(args), "--probe --sysfs-root '%s' --filter '%s' "
	    "%s", tree, conf(text), sandbox());
	ck_assert_int_eq(run(args, &out), 0);
	return out;
}

START_TEST(probe_names_nvidia_vendors)
{
	const char	*tree = tree_nvidia_vgpu();
	char		 args[2048], *out;

	out = probe_of(tree, ":filter: '*:*'\n");
	ck_assert_ptr_null(strstr(out, "ADDRESS = \"0000:01:00:0\""));
	ck_assert_ptr_nonnull(strstr(out, " ADDRESS = \"0000:01:00:4\" ,\n"));
	/* vGPUs: UUID as uuidgen --sha1 --namespace @x500 --name ADDRESS
	 * gives it, PROFILES and MDEV_MODE from legacy mdev or NVIDIA's
	 * sysfs. */
	ck_assert_ptr_nonnull(strstr(out, " PHYSFN = \"0000:01:00:0\" ,\n"
	    " DEVICE_NAME = \"NVIDIA vGPU device\" ,\n"
	    " UUID = \"256922f2-5d4a-5e52-96d0-eb405f6ae637\" ,\n"
	    " PROFILES = \"nvidia-558,nvidia-559,nvidia-560,nvidia-561,"));
	/* All 43 types, 472 bytes: not cut at a field's old 255. */
	ck_assert_ptr_nonnull(strstr(out, ",nvidia-599,nvidia-600\" ,\n"
	    " MDEV_MODE = \"legacy\" \n]\n"));
	ck_assert_ptr_nonnull(strstr(out, " DEVICE_NAME = \"NVIDIA vGPU "
	    "device\" ,\n UUID = \"f1e24af0-cce3-58b1-b022-55d6bc4ff51f\" ,\n"
	    " PROFILES = \"590 (NVIDIA A10-1B),591 (NVIDIA A10-2B)\" ,\n"
	    " MDEV_MODE = \"nvidia\" \n]\n"));
	ck_assert_int_eq(system("test \"$(uuidgen --sha1 --namespace @x500 "
	    "--name 0000:01:00:4)\" = 256922f2-5d4a-5e52-96d0-eb405f6ae637"),
	    0);
	free(out);
	/* On the mdev bus with no types: NVIDIA's list, as OpenNebula. */
	snprintf(args, sizeof(args), "rm -r '%s/class/mdev_bus/0000:01:00.4/"
	    "mdev_supported_types'/* && mkdir '%s/bus/pci/devices/0000:01:00.4/"
	    "nvidia' && echo '600 : NVIDIA A10-24Q' > '%s/bus/pci/devices/"
	    "0000:01:00.4/nvidia/creatable_vgpu_types'", tree, tree, tree);
	ck_assert_int_eq(system(args), 0);
	out = probe_of(tree, ":filter: '*:*'\n");
	ck_assert_ptr_nonnull(strstr(out, " UUID = \"256922f2-5d4a-5e52-96d0-"
	    "eb405f6ae637\" ,\n PROFILES = \"600 (NVIDIA A10-24Q)\" ,\n"
	    " MDEV_MODE = \"legacy\" \n]\n"));
	ck_assert_ptr_nonnull(strstr(out, " DEVICE_NAME = \"NVIDIA Corporation "
	    "GV100GL [Tesla V100 PCIe 16GB]\" \n]\n"));
	ck_assert_ptr_nonnull(strstr(out, " DEVICE_NAME = \"I350 Gigabit "
	    "Network Connection\" \n]\n"));
	free(out);
	/* Another vendor list: Intel's named so, NVIDIA's as lspci has them. */
	out = probe_of(tree, ":filter: '*:*'\n:nvidia_vendors: ['8086']\n");
	ck_assert_ptr_nonnull(strstr(out, " DEVICE_NAME = \"GA102GL [A10]\" "
	    "\n]\n"));
	ck_assert_ptr_nonnull(strstr(out, " DEVICE_NAME = \"Intel Corporation "
	    "I350 Gigabit Network Connection\" \n]\n"));
	free(out);
	/* :device_name: matches the name as lspci prints it. */
	out = probe_of(tree, ":filter: '*:*'\n:device_name: '^GV100GL'\n");
	ck_assert_ptr_nonnull(strstr(out, " ADDRESS = \"0000:02:00:0\" ,\n"));
	ck_assert_ptr_null(strstr(out, " ADDRESS = \"0000:03:00:0\""));
	free(out);
	/* A vendor OpenNebula would never match is an error. */
	snprintf(args, sizeof(args), "-n --filter '%s' %s",
	    conf(":filter: '*:*'\n:nvidia_vendors: ['10DE', '0x10de']\n"),
	    sandbox());
	ck_assert_int_eq(run(args, &out), 1);
	ck_assert_ptr_nonnull(strstr(out, "/pci.conf:2: nvidia vendor '10DE' "
	    "is not 4 lower-case hex digits, as VENDOR is written\n"));
	ck_assert_ptr_nonnull(strstr(out, "/pci.conf:2: nvidia vendor "
	    "'0x10de' is not 4 lower-case hex digits"));
	free(out);
}
END_TEST

START_TEST(bad_flags)
{
	char	*out;

	ck_assert_int_eq(run("--port 0", &out), 1);
	ck_assert_str_eq(out, "pcipassd: --port \"0\": not a number from 1 "
	    "to 65535\n");
	free(out);
	ck_assert_int_eq(run("--rescan -1", &out), 1);
	free(out);
	ck_assert_int_eq(run("--bind kvm", &out), 1);
	ck_assert_str_eq(out, "pcipassd: --bind \"kvm\": expected vfio or "
	    "none\n");
	free(out);
	ck_assert_int_eq(run("--no-such-flag", &out), 1);
	ck_assert_ptr_nonnull(strstr(out, "usage: pcipassd"));
	free(out);
	/* --help: every flag, a line each, with its default; exit 0. */
	ck_assert_int_eq(run("--help", &out), 0);
	ck_assert_ptr_nonnull(strstr(out, "usage: pcipassd"));
	ck_assert_ptr_nonnull(strstr(out, "\n  --port N                   TCP "
	    "port (default 2634)\n"));
	ck_assert_ptr_nonnull(strstr(out, "\n  --bind vfio|none           vfio: "));
	ck_assert_ptr_nonnull(strstr(out, "\n  -n                         check "));
	free(out);
	ck_assert_int_eq(run("--version", &out), 0);
	ck_assert_str_eq(out, "pcipassd 0.1.0\n");
	free(out);
	ck_assert_int_eq(run("--probe --sysfs-root /nonexistent --filter "
	    "/nonexistent --proc-root /nonexistent", &out), 1);
	ck_assert_ptr_nonnull(strstr(out, "/nonexistent/bus/pci/devices"));
	free(out);
}
END_TEST

/*
 * docker/ci.sh skips the docker suite when no engine can run a
 * container, and says why: the failing step's own error (it once printed
 * an empty reason when `docker import` failed). A stand-in docker on PATH
 * plays an engine that answers `info` and fails `import`.
 */
START_TEST(docker_ci_skip_says_why)
{
	const char	*dir = scratch_dir();
	char		 path[600], cmd[2048], *out;
	static const char *const bin[] = { "dockerd", "docker-compose" };
	size_t		 i;
	int		 rc;

	snprintf(path, sizeof(path), "%s/bin", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/bin/docker", dir);
	write_file(path, "#!/bin/sh\ncase \"$1\" in\n"
	    "info|image) exit 0 ;;\n"
	    "import) cat >/dev/null; echo 'Error response from daemon: "
	    "no space left on device' >&2; echo >&2; exit 1 ;;\n"
	    "esac\nexit 3\n");
	chmod(path, 0755);
	for (i = 0; i < sizeof(bin) / sizeof(bin[0]); i++) {
		snprintf(path, sizeof(path), "%s/bin/%s", dir, bin[i]);
		write_file(path, "#!/bin/sh\nexit 0\n");
		chmod(path, 0755);
	}
	snprintf(cmd, sizeof(cmd), "cd '%s' && PATH='%s/bin':$PATH TMPDIR='%s' "
	    "bash '%s/docker/ci.sh' > out 2>&1", dir, dir, dir,
	    getenv("SRCDIR"));
	rc = system(cmd);
	ck_assert(WIFEXITED(rc));
	ck_assert_int_eq(WEXITSTATUS(rc), 0);
	snprintf(path, sizeof(path), "%s/out", dir);
	out = read_file(path);
	ck_assert_str_eq(out, "docker-test: skipped: docker import fails: "
	    "Error response from daemon: no space left on device\n");
	free(out);
}
END_TEST

/*
 * Type=notify, played by the test: pcipassd with NOTIFY_SOCKET sends
 * READY=1 once its port is open (a connect right after succeeds), and
 * STOPPING=1 on SIGTERM.
 */
START_TEST(notify_ready)
{
	struct sockaddr_un	 sun = { .sun_family = AF_UNIX };
	struct sockaddr_in	 sin = { .sin_family = AF_INET };
	socklen_t		 len = sizeof(sin);
	struct timeval		 tv = { 30, 0 };
	const char		*dir = scratch_dir(), *sysfs;
	char			 cmd[3000], buf[256];
	char			*log;
	ssize_t			 n;
	pid_t			 pid;
	int			 s, t, port, st;

	sysfs = tree_text("01:00.0 3D controller [0302]: NVIDIA Corporation "
	    "GV100GL [10de:1db4]\n\tIOMMU group: 2\n");
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/notify", dir);
	ck_assert_int_ge(s = socket(AF_UNIX, SOCK_DGRAM, 0), 0);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)), 0);
	/* A port the kernel hands out, given back for the daemon. */
	t = socket(AF_INET, SOCK_STREAM, 0);
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	ck_assert_int_eq(bind(t, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(t, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(t);
	snprintf(cmd, sizeof(cmd), "%s/auth", dir);
	write_file(cmd, SESSION "\n");
	chmod(cmd, 0600);
	/* Its stderr is the journal's stream, as systemd says with
	 * JOURNAL_STREAM=DEV:INODE: each line carries "<N>", its syslog
	 * priority, for journald. */
	snprintf(cmd, sizeof(cmd), ": > '%s/log'; JOURNAL_STREAM=$(stat -c "
	    "%%d:%%i '%s/log') exec %s -d --listen 127.0.0.1 --port %d "
	    "--sysfs-root '%s' --filter /nonexistent --proc-root /nonexistent "
	    "--db '%s/db' --auth '%s/auth' --rescan 0 >> '%s/log' 2>&1", dir,
	    dir, getenv("PCIPASSD"), port, sysfs, dir, dir, dir);
	if ((pid = fork()) == 0) {
		setenv("NOTIFY_SOCKET", sun.sun_path, 1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	ck_assert_int_gt(pid, 0);
	n = recv(s, buf, sizeof(buf) - 1, 0);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_msg(strncmp(buf, "READY=1\nSTATUS=listening on 127.0.0.1:",
	    38) == 0, "%s", buf);
	/* libsystemd is loaded because systemd asked (see log_levels...). */
	snprintf(cmd, sizeof(cmd), "/proc/%d/maps", (int)pid);
	log = read_file(cmd);
	ck_assert_ptr_nonnull(strstr(log, "/libsystemd.so.0"));
	free(log);
	t = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(t, (struct sockaddr *)&sin, sizeof(sin)), 0);
	close(t);
	kill(pid, SIGTERM);
	n = recv(s, buf, sizeof(buf) - 1, 0);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_str_eq(buf, "STOPPING=1");
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(s);
	snprintf(cmd, sizeof(cmd), "%s/log", dir);
	log = read_file(cmd);
	snprintf(cmd, sizeof(cmd), "\n<6>pcipassd %s listening on "
	    "127.0.0.1:%d\n", "0.1.0", port);
	ck_assert_msg(strstr(log, cmd) != NULL, "%s", log);
	ck_assert_msg(strncmp(log, "<4>/nonexistent: no such file: no device "
	    "is offered", 44) == 0, "%s", log);
	free(log);
}
END_TEST

/*
 * Under systemd (NOTIFY_SOCKET) a libsystemd that cannot be loaded stops
 * the start at once, saying why, before anything is made: systemd would
 * otherwise wait out TimeoutStartSec for a READY=1 that cannot come. A
 * file that is no library, first on LD_LIBRARY_PATH, plays the missing
 * one.
 */
START_TEST(notify_without_libsystemd)
{
	const char	*dir = scratch_dir();
	char		 cmd[3000], path[600], *err;
	int		 rc;

	snprintf(path, sizeof(path), "%s/lib", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/lib/libsystemd.so.0", dir);
	write_file(path, "not a library\n");
	snprintf(path, sizeof(path), "%s/auth", dir);
	write_file(path, SESSION "\n");
	chmod(path, 0600);
	snprintf(cmd, sizeof(cmd), "NOTIFY_SOCKET='%s/notify' "
	    "LD_LIBRARY_PATH='%s/lib' %s -d --listen 127.0.0.1 --port 2634 "
	    "--sysfs-root /nonexistent --filter /nonexistent --proc-root "
	    "/nonexistent --db '%s/db' --auth '%s/auth' --rescan 0 > '%s/err' "
	    "2>&1", dir, dir, getenv("PCIPASSD"), dir, dir, dir);
	rc = system(cmd);
	ck_assert(WIFEXITED(rc));
	ck_assert_int_eq(WEXITSTATUS(rc), 1);
	snprintf(path, sizeof(path), "%s/err", dir);
	err = read_file(path);
	ck_assert_msg(strstr(err, "systemd waits to be told when pcipassd is "
	    "ready (NOTIFY_SOCKET is set), but ") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "/lib/libsystemd.so.0") != NULL, "%s", err);
	free(err);
	snprintf(path, sizeof(path), "%s/db", dir);
	ck_assert_int_eq(access(path, F_OK), -1);
}
END_TEST

/*
 * Under -d on a terminal or a file, each line says its level in words.
 * Not under systemd (no NOTIFY_SOCKET), the daemon has not loaded
 * libsystemd, nor what it brings (liblzma, libgcrypt, ...).
 */
START_TEST(log_levels_in_words)
{
	struct daemon	 dm;
	char		 path[400], want[200], *log;

	unsetenv("NOTIFY_SOCKET");
	daemon_start(&dm, tree_text("01:00.0 3D controller [0302]: NVIDIA "
	    "Corporation GV100GL [10de:1db4]\n\tIOMMU group: 2\n"),
	    ":filter: '*:*'\n", NULL);
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)dm.pid);
	log = read_file(path);
	ck_assert_ptr_nonnull(strstr(log, "/libpci.so.3"));
	ck_assert_ptr_null(strstr(log, "/libsystemd.so"));
	ck_assert_ptr_null(strstr(log, "/liblzma.so"));
	free(log);
	daemon_stop(&dm);
	snprintf(path, sizeof(path), "%s/daemon.log", dm.dir);
	log = read_file(path);
	snprintf(want, sizeof(want), "\ninfo: pcipassd %s listening on "
	    "127.0.0.1:%d\n", "0.1.0", dm.port);
	ck_assert_msg(strstr(log, want) != NULL, "%s", log);
	ck_assert_msg(strncmp(log, "info: ", 6) == 0, "%s", log);
	free(log);
}
END_TEST

/* The output of a shell command line. */
static char *
output(const char *cmdline)
{
	char	cmd[2000], path[600];

	snprintf(path, sizeof(path), "%s/output", scratch_dir());
	snprintf(cmd, sizeof(cmd), "%s > '%s' 2>&1", cmdline, path);
	ck_assert_int_eq(system(cmd), 0);
	return read_file(path);
}

static int
groff_here(void)
{
	struct stat	st;

	return stat("/usr/share/groff/current/font/devutf8", &st) == 0;
}

/*
 * The man pages (man/): mandoc's lint and man -l render each without a
 * warning, and each
 * program's page documents every flag its --help lists (and pcipass(1)
 * every command of `pcipass help`), so the two cannot drift apart.
 */
START_TEST(man_pages)
{
	static const struct {
		const char	*page;
		const char	*help;		/* env var of the program */
		const char	*args;
	} pages[] = {
		{ "pcipassd.8", "PCIPASSD", "--help" },
		{ "pcipass-host.8", "PCIPASS_HOST", "--help" },
		{ "pcipass.1", "PCIPASS", "help" },
		{ "pcipass-probe.1", "PCIPASS_PROBE", "--help" },
		{ "pci.conf.5", NULL, NULL },
	};
	char	cmd[1500], path[600], *src, *help, *p, *q, word[64];
	size_t	i, n;

	if (!groff_here())
		fprintf(stderr, "man_pages: man -l not run here: groff's fonts "
		    "are not installed (dpkg path-exclude /usr/share/groff); "
		    "mandoc -T lint checks the pages\n");

	for (i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		snprintf(path, sizeof(path), "%s/man/%s", getenv("SRCDIR"),
		    pages[i].page);
		/* mandoc's lint, always; man -l (groff) too where groff's
		 * fonts are installed: images made like Debian's slim one
		 * keep /usr/share/groff out (dpkg path-exclude). */
		snprintf(cmd, sizeof(cmd), "mandoc -T lint -W warning '%s'",
		    path);
		ck_assert_str_eq(output(cmd), "");
		snprintf(cmd, sizeof(cmd), "if [ -d /usr/share/groff/current/"
		    "font/devutf8 ]; then (LC_ALL=C.UTF-8 MANWIDTH=80 man "
		    "--warnings -E UTF-8 -l '%s' 2>&1 >/dev/null); else echo "
		    "'man -l not run: no groff fonts' >&2; fi", path);
		ck_assert_str_eq(output(cmd), groff_here() ? "" :
		    "man -l not run: no groff fonts\n");
		if (pages[i].help == NULL)
			continue;
		/* The source, with mdoc's escaped hyphens made plain. */
		src = read_file(path);
		for (p = q = src; *p != '\0'; p++)
			if (!(p[0] == '\\' && p[1] == '-'))
				*q++ = *p;
		*q = '\0';
		snprintf(cmd, sizeof(cmd), "'%s' %s", getenv(pages[i].help),
		    pages[i].args);
		help = output(cmd);
		for (p = help; (p = strstr(p, "\n  ")) != NULL; p += 3) {
			n = strcspn(p + 3, " \n");
			if (n == 0 || n >= sizeof(word))
				continue;
			snprintf(word, sizeof(word), "%.*s", (int)n, p + 3);
			if (strcmp(pages[i].args, "help") == 0 &&
			    word[0] != '-') {
				/* pcipass help: "  command args..." */
				char	cm[80];

				if (strspn(word, "abcdefghijklmnopqrstuvwxyz") !=
				    strlen(word))
					continue;	/* not a command */
				snprintf(cm, sizeof(cm), "Cm %s", word);
				ck_assert_msg(strstr(src, cm) != NULL ||
				    strstr(src, word) != NULL,
				    "%s: command %s undocumented",
				    pages[i].page, word);
			} else if (word[0] == '-' && strcmp(word, "--help") &&
			    strcmp(word, "--version")) {
				char	fl[80];

				/* mdoc's Fl writes the first dash. */
				snprintf(fl, sizeof(fl), "Fl %s", word + 1);
				ck_assert_msg(strstr(src, fl) != NULL,
				    "%s: %s undocumented", pages[i].page, word);
			}
		}
		free(src);
		free(help);
	}
}
END_TEST

/*
 * The unit's sandbox, as systemd scores it (offline: no systemd needs to
 * run): under 5.0 (issue 16), 9.6 before.
 */
START_TEST(unit_hardened)
{
	const char	*dir = scratch_dir();
	char		 cmd[1500], *out, *p;
	double		 score;

	snprintf(cmd, sizeof(cmd), "sed 's|@SBINDIR@|/usr/sbin|' "
	    "'%s/dist/systemd/pcipassd.service' > '%s/pcipassd.service' && "
	    "(systemd-analyze security --offline=true "
	    "'%s/pcipassd.service' 2>&1 | tail -n 1)", getenv("SRCDIR"), dir,
	    dir);
	out = output(cmd);
	ck_assert_ptr_nonnull(p = strstr(out, "Overall exposure level for "
	    "pcipassd.service: "));
	score = strtod(p + 45, NULL);
	ck_assert_msg(score > 0.0 && score < 5.0, "%s", out);
	free(out);
}
END_TEST

/* make install puts the man pages and units in place; uninstall takes
 * back every file it wrote. */
START_TEST(install_uninstall)
{
	const char	*dir = scratch_dir();
	char		 cmd[1500], *out;

	snprintf(cmd, sizeof(cmd), "make -s -C '%s' install DESTDIR='%s' "
	    "PREFIX=/usr >/dev/null && cd '%s' && find . -type f | sort",
	    getenv("SRCDIR"), dir, dir);
	out = output(cmd);
	ck_assert_msg(strstr(out, "./usr/share/man/man8/pcipassd.8\n") != NULL &&
	    strstr(out, "./usr/share/man/man5/pci.conf.5\n") != NULL &&
	    strstr(out, "./usr/lib/systemd/system/pcipassd.service\n") !=
	    NULL && strstr(out, "./usr/sbin/pcipass-session\n") != NULL &&
	    strstr(out, "./usr/bin/pcipass-probe\n") != NULL &&
	    strstr(out, "./usr/share/man/man1/pcipass-probe.1\n") != NULL,
	    "%s", out);
	free(out);
	snprintf(cmd, sizeof(cmd), "make -s -C '%s' uninstall DESTDIR='%s' "
	    "PREFIX=/usr >/dev/null && cd '%s' && find . ! -type d",
	    getenv("SRCDIR"), dir, dir);
	out = output(cmd);
	ck_assert_str_eq(out, "");
	free(out);
}
END_TEST

Suite *
flags_suite(void)
{
	Suite	*s = suite_create("flags");
	TCase	*tc = tcase_create("pcipassd");

	tcase_add_checked_fixture(tc, NULL, cleanup_dirs);
	tcase_add_test(tc, check_only);
	tcase_add_test(tc, probe_filters);
	tcase_add_test(tc, probe_names_nvidia_vendors);
	tcase_add_test(tc, bad_flags);
	tcase_add_test(tc, notify_ready);
	tcase_add_test(tc, notify_without_libsystemd);
	tcase_add_test(tc, log_levels_in_words);
	suite_add_tcase(s, tc);
	tc = tcase_create("scripts");
	tcase_add_checked_fixture(tc, NULL, cleanup_dirs);
	tcase_add_test(tc, docker_ci_skip_says_why);
	tcase_add_test(tc, man_pages);
	tcase_add_test(tc, unit_hardened);
	tcase_add_test(tc, install_uninstall);
	suite_add_tcase(s, tc);
	return s;
}
