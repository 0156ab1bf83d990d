/*
 * A stand-in for the kernel's vGPU attributes, for tests only: no kernel
 * we can run has a vGPU parent (Debian's has no NVIDIA driver), and on a
 * fake sysfs tree a write just lands in a plain file. Loaded into
 * pcipassd with LD_PRELOAD, it takes the writes pcipassd makes to the
 * attributes below in the tree at $KMDEV_ROOT, does what the kernel does,
 * and fails them with the kernel's errno when the kernel would:
 *
 * - class/mdev_bus/VF/mdev_supported_types/TYPE/create <- UUID: makes
 *   bus/mdev/devices/UUID (remove, mdev_type -> the type), or EEXIST, or
 *   EUSERS when the type has no instance left;
 * - bus/mdev/devices/UUID/remove <- 1: removes it, or EBUSY;
 * - bus/pci/devices/VF/nvidia/current_vgpu_type <- ID: runs that type,
 *   EINVAL when the VF cannot make it now, EBUSY when it runs one;
 *   <- 0: stops it, or EBUSY.
 *
 * The VFs of one PF share its capacity, as an NVIDIA GPU's do: the
 * types' costs and the capacity are in $KMDEV_ROOT/../kmdev/pool-PF
 * ("capacity", then "TYPE COST" lines; NVIDIA's: "ID COST NAME"). After
 * each change every VF of that PF shows what it can make now
 * (available_instances, or creatable_vgpu_types, one type at a time as
 * NVIDIA's time-sliced vGPUs). Each write is logged, in order, to
 * ../kmdev/log as "create VF TYPE UUID ok|EUSERS", "remove UUID ...",
 * "type VF ID ...". Control files in ../kmdev/: refuse-remove (EBUSY),
 * kill-after-create, kill-after-remove, kill-after-probe (SIGKILL once
 * the kernel acted, before pcipassd can commit: a crash between the
 * two; the last after a write to bus/pci/drivers_probe, which goes to
 * the file, or to the real kernel, as it is).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "preload.h"

enum attr { A_NONE, A_CREATE, A_REMOVE, A_TYPE, A_PROBE };

#define MAXFD	1024

static pthread_mutex_t	mu = PTHREAD_MUTEX_INITIALIZER;
static struct watched {
	enum attr	 kind;
	char		 path[PATH_MAX];
}			watched[MAXFD];

ssize_t	write(int, const void *, size_t);
int	close(int);

static const char *
root(void)
{
	return getenv("KMDEV_ROOT");
}

static enum attr
kind_of(const char *path)
{
	const char	*r = root();
	size_t		 n;

	if (r == NULL || strncmp(path, r, (n = strlen(r))) != 0 ||
	    path[n] != '/')
		return A_NONE;
	path += n + 1;
	if (strncmp(path, "class/mdev_bus/", 15) == 0 &&
	    strstr(path, "/mdev_supported_types/") != NULL &&
	    strcmp(strrchr(path, '/'), "/create") == 0)
		return A_CREATE;
	if (strncmp(path, "bus/mdev/devices/", 17) == 0 &&
	    strcmp(strrchr(path, '/'), "/remove") == 0)
		return A_REMOVE;
	if (strncmp(path, "bus/pci/devices/", 16) == 0 &&
	    strcmp(strrchr(path, '/'), "/current_vgpu_type") == 0)
		return A_TYPE;
	if (strcmp(path, "bus/pci/drivers_probe") == 0)
		return A_PROBE;
	return A_NONE;
}

static void
ctl_path(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/../kmdev/%s", root(), name);
}

static int
ctl_exists(const char *name)
{
	char	p[PATH_MAX];

	ctl_path(p, sizeof(p), name);
	return access(p, F_OK) == 0;
}

static void
logf_(const char *fmt, ...)
{
	char	 p[PATH_MAX];
	FILE	*f;
	va_list	 ap;

	ctl_path(p, sizeof(p), "log");
	if ((f = fopen(p, "ae")) == NULL)
		return;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fclose(f);
}

static int
put(const char *path, const char *text)
{
	FILE	*f = fopen(path, "we");

	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int
get(const char *path, char *buf, size_t len)
{
	FILE	*f = fopen(path, "re");

	buf[0] = '\0';
	if (f == NULL)
		return -1;
	if (fgets(buf, (int)len, f) == NULL)
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* The PF of a VF (its physfn link), or the VF itself. */
static void
pf_of(const char *vf, char *out, size_t len)
{
	char	 p[PATH_MAX], t[PATH_MAX], *b;
	ssize_t	 n;

	snprintf(p, sizeof(p), "%s/bus/pci/devices/%s/physfn", root(), vf);
	if ((n = readlink(p, t, sizeof(t) - 1)) <= 0) {
		snprintf(out, len, "%s", vf);
		return;
	}
	t[n] = '\0';
	b = strrchr(t, '/');
	snprintf(out, len, "%s", b ? b + 1 : t);
}

struct pool {
	int	capacity, n;
	char	type[16][64];
	char	name[16][64];
	int	cost[16];
};

static int
pool_read(const char *pf, struct pool *p)
{
	char	 path[PATH_MAX], line[256];
	FILE	*f;
	int	 off;

	memset(p, 0, sizeof(*p));
	ctl_path(path, sizeof(path), "pool-");
	strncat(path, pf, sizeof(path) - strlen(path) - 1);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	if (fgets(line, sizeof(line), f) != NULL)
		p->capacity = atoi(line);
	while (p->n < 16 && fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "%63s %d %n", p->type[p->n], &p->cost[p->n],
		    &off) < 2)
			continue;
		snprintf(p->name[p->n], sizeof(p->name[p->n]), "%s",
		    line + off);
		p->n++;
	}
	fclose(f);
	return 0;
}

static int
cost_of(const struct pool *p, const char *type)
{
	int	i;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->type[i], type) == 0)
			return p->cost[i];
	return -1;
}

/* What a VF runs now: its legacy mdev's type, or NVIDIA's current ID. */
static int
running(const char *vf, char *type, size_t len)
{
	char	 p[PATH_MAX], line[256];
	FILE	*f;

	type[0] = '\0';
	snprintf(p, sizeof(p), "%s/bus/pci/devices/%s/nvidia/"
	    "current_vgpu_type", root(), vf);
	if (get(p, line, sizeof(line)) == 0) {
		if (strcmp(line, "0") != 0)
			snprintf(type, len, "%s", line);
		return type[0] != '\0';
	}
	ctl_path(p, sizeof(p), "mdevs");
	if ((f = fopen(p, "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		char	u[64], v[64], ty[64];

		if (sscanf(line, "%63s %63s %63s", u, v, ty) == 3 &&
		    strcmp(v, vf) == 0) {
			snprintf(type, len, "%s", ty);
			break;
		}
	}
	fclose(f);
	return type[0] != '\0';
}

/* Every VF of pf shows what it can make now. */
static void
recompute(const char *pf)
{
	struct pool	 p;
	char		 path[PATH_MAX], t[PATH_MAX], vfs[32][32], run[32][64];
	char		 buf[4096], *b, one[64];
	int		 nvf = 0, used = 0, i, k, c;
	ssize_t		 n;
	FILE		*f;

	if (pool_read(pf, &p) < 0)
		return;
	for (i = 0; i < 32; i++) {
		snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/virtfn%d",
		    root(), pf, i);
		if ((n = readlink(path, t, sizeof(t) - 1)) <= 0)
			continue;
		t[n] = '\0';
		b = strrchr(t, '/');
		snprintf(vfs[nvf], sizeof(vfs[nvf]), "%s", b ? b + 1 : t);
		running(vfs[nvf], run[nvf], sizeof(run[nvf]));
		if (run[nvf][0] != '\0' && (c = cost_of(&p,
		    run[nvf])) > 0)
			used += c;
		nvf++;
	}
	one[0] = '\0';
	for (i = 0; i < nvf; i++)
		if (run[i][0] != '\0')
			snprintf(one, sizeof(one), "%s", run[i]);
	for (i = 0; i < nvf; i++) {
		snprintf(path, sizeof(path), "%s/class/mdev_bus/%s/"
		    "mdev_supported_types", root(), vfs[i]);
		if (access(path, F_OK) == 0) {
			for (k = 0; k < p.n; k++) {
				snprintf(path, sizeof(path), "%s/class/"
				    "mdev_bus/%s/mdev_supported_types/%s/"
				    "available_instances", root(), vfs[i],
				    p.type[k]);
				put(path, run[i][0] == '\0' && p.capacity -
				    used >= p.cost[k] ? "1\n" : "0\n");
			}
			continue;
		}
		snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/nvidia/"
		    "creatable_vgpu_types", root(), vfs[i]);
		if ((f = fmemopen(buf, sizeof(buf), "w")) == NULL)
			continue;
		fputs("ID    : vGPU Name\n", f);
		for (k = 0; k < p.n && run[i][0] == '\0'; k++)
			if (p.capacity - used >= p.cost[k] &&
			    (one[0] == '\0' || strcmp(one, p.type[k]) == 0))
				fprintf(f, "%-5s : %s\n", p.type[k],
				    p.name[k]);
		fputc('\0', f);
		fclose(f);
		put(path, buf);
	}
}

static void
mdevs_edit(const char *add, const char *drop_uuid)
{
	char	 p[PATH_MAX], q[PATH_MAX], line[256];
	FILE	*in, *out;

	ctl_path(p, sizeof(p), "mdevs");
	snprintf(q, sizeof(q), "%s.new", p);
	if ((out = fopen(q, "we")) == NULL)
		return;
	if ((in = fopen(p, "re")) != NULL) {
		while (fgets(line, sizeof(line), in) != NULL)
			if (drop_uuid == NULL || strncmp(line, drop_uuid,
			    strlen(drop_uuid)) != 0)
				fputs(line, out);
		fclose(in);
	}
	if (add != NULL)
		fprintf(out, "%s\n", add);
	fclose(out);
	rename(q, p);
}

static void
maybe_die(const char *ctl)
{
	if (ctl_exists(ctl))
		kill(getpid(), SIGKILL);
}

static int
do_create(const char *path, const char *uuid)
{
	const char	*r = root();
	char		 vf[64], type[64], pf[64], p[PATH_MAX], t[PATH_MAX];
	char		 target[PATH_MAX], avail[16];
	struct stat	 st;

	if (sscanf(path + strlen(r), "/class/mdev_bus/%63[^/]/"
	    "mdev_supported_types/%63[^/]/create", vf, type) != 2 ||
	    strlen(uuid) != 36)
		return errno = EINVAL, -1;
	snprintf(p, sizeof(p), "%s/bus/mdev/devices/%s", r, uuid);
	if (stat(p, &st) == 0) {
		logf_("create %s %s %s EEXIST", vf, type, uuid);
		return errno = EEXIST, -1;
	}
	snprintf(t, sizeof(t), "%s/class/mdev_bus/%s/mdev_supported_types/"
	    "%s/available_instances", r, vf, type);
	if (get(t, avail, sizeof(avail)) < 0 || atoi(avail) < 1) {
		logf_("create %s %s %s EUSERS", vf, type, uuid);
		return errno = EUSERS, -1;
	}
	snprintf(t, sizeof(t), "%s/bus/mdev", r);
	mkdir(t, 0755);
	snprintf(t, sizeof(t), "%s/bus/mdev/devices", r);
	mkdir(t, 0755);
	if (mkdir(p, 0755) < 0)
		return -1;
	snprintf(t, sizeof(t), "%s/remove", p);
	put(t, "");
	snprintf(t, sizeof(t), "%s/mdev_type", p);
	snprintf(target, sizeof(target), "%s/class/mdev_bus/%s/"
	    "mdev_supported_types/%s", r, vf, type);
	if (symlink(target, t) < 0)
		return -1;
	snprintf(t, sizeof(t), "%s %s %s", uuid, vf, type);
	mdevs_edit(t, NULL);
	pf_of(vf, pf, sizeof(pf));
	recompute(pf);
	logf_("create %s %s %s ok", vf, type, uuid);
	maybe_die("kill-after-create");
	return 0;
}

static int
do_remove(const char *path, const char *value)
{
	const char	*r = root();
	char		 uuid[64], p[PATH_MAX], line[256], vf[64], pf[64];
	FILE		*f;

	if (sscanf(path + strlen(r), "/bus/mdev/devices/%63[^/]/remove",
	    uuid) != 1 || strcmp(value, "1") != 0)
		return errno = EINVAL, -1;
	if (ctl_exists("refuse-remove")) {
		logf_("remove %s EBUSY", uuid);
		return errno = EBUSY, -1;
	}
	vf[0] = '\0';
	ctl_path(p, sizeof(p), "mdevs");
	if ((f = fopen(p, "re")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			char	u[64], v[64];

			if (sscanf(line, "%63s %63s", u, v) == 2 &&
			    strcmp(u, uuid) == 0)
				snprintf(vf, sizeof(vf), "%s", v);
		}
		fclose(f);
	}
	snprintf(p, sizeof(p), "%s/bus/mdev/devices/%s/mdev_type", r, uuid);
	unlink(p);
	snprintf(p, sizeof(p), "%s/bus/mdev/devices/%s/remove", r, uuid);
	unlink(p);
	snprintf(p, sizeof(p), "%s/bus/mdev/devices/%s", r, uuid);
	rmdir(p);
	mdevs_edit(NULL, uuid);
	if (vf[0] != '\0') {
		pf_of(vf, pf, sizeof(pf));
		recompute(pf);
	}
	logf_("remove %s ok", uuid);
	maybe_die("kill-after-remove");
	return 0;
}

static int
do_type(const char *path, const char *id)
{
	const char	*r = root();
	char		 vf[64], pf[64], cur[64], p[PATH_MAX], list[4096];
	char		 line[256];
	FILE		*f;
	int		 found = 0;

	if (sscanf(path + strlen(r), "/bus/pci/devices/%63[^/]/nvidia/"
	    "current_vgpu_type", vf) != 1 || id[0] == '\0' ||
	    strspn(id, "0123456789") != strlen(id))
		return errno = EINVAL, -1;
	get(path, cur, sizeof(cur));
	if (strcmp(id, "0") == 0) {
		if (strcmp(cur, "0") != 0 && ctl_exists("refuse-remove")) {
			logf_("type %s 0 EBUSY", vf);
			return errno = EBUSY, -1;
		}
	} else {
		if (strcmp(cur, "0") != 0) {
			logf_("type %s %s EBUSY", vf, id);
			return errno = EBUSY, -1;
		}
		snprintf(p, sizeof(p), "%s/bus/pci/devices/%s/nvidia/"
		    "creatable_vgpu_types", r, vf);
		if ((f = fopen(p, "re")) != NULL) {
			while (fgets(line, sizeof(line), f) != NULL)
				if (strncmp(line, id, strlen(id)) == 0 &&
				    strchr(" :", line[strlen(id)]) != NULL)
					found = 1;
			fclose(f);
		}
		if (!found) {
			logf_("type %s %s EINVAL", vf, id);
			return errno = EINVAL, -1;
		}
	}
	snprintf(list, sizeof(list), "%s\n", id);
	put(path, list);
	pf_of(vf, pf, sizeof(pf));
	recompute(pf);
	logf_("type %s %s ok", vf, id);
	maybe_die(strcmp(id, "0") == 0 ? "kill-after-remove" :
	    "kill-after-create");
	return 0;
}

static int (*real_open)(const char *, int, ...);
static ssize_t (*real_write)(int, const void *, size_t);
static int (*real_close)(int);

static void
resolve(void)
{
	if (real_open == NULL)
		real_open = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT,
		    "open");
	if (real_write == NULL)
		real_write = (ssize_t (*)(int, const void *, size_t))dlsym(
		    RTLD_NEXT, "write");
	if (real_close == NULL)
		real_close = (int (*)(int))dlsym(RTLD_NEXT, "close");
}

static int
open_common(const char *path, int flags, mode_t mode)
{
	enum attr	k;
	int		fd;

	resolve();
	fd = real_open(path, flags, mode);
	if (fd >= 0 && fd < MAXFD && (flags & O_ACCMODE) != O_RDONLY &&
	    (k = kind_of(path)) != A_NONE) {
		pthread_mutex_lock(&mu);
		watched[fd].kind = k;
		snprintf(watched[fd].path, sizeof(watched[fd].path), "%s",
		    path);
		pthread_mutex_unlock(&mu);
	}
	return fd;
}

PRELOAD_OPEN(open_common);

ssize_t
write(int fd, const void *buf, size_t n)
{
	struct watched	 w = { A_NONE, "" };
	char		 value[128];
	size_t		 m;
	int		 rc, saved;

	resolve();
	if (fd >= 0 && fd < MAXFD) {
		pthread_mutex_lock(&mu);
		w = watched[fd];
		pthread_mutex_unlock(&mu);
	}
	if (w.kind == A_NONE)
		return real_write(fd, buf, n);
	if (w.kind == A_PROBE) {
		ssize_t	r = real_write(fd, buf, n);

		if (r == (ssize_t)n)
			maybe_die("kill-after-probe");
		return r;
	}
	m = n < sizeof(value) - 1 ? n : sizeof(value) - 1;
	memcpy(value, buf, m);
	value[m] = '\0';
	value[strcspn(value, "\n")] = '\0';
	pthread_mutex_lock(&mu);
	rc = w.kind == A_CREATE ? do_create(w.path, value) :
	    w.kind == A_REMOVE ? do_remove(w.path, value) :
	    do_type(w.path, value);
	saved = errno;
	pthread_mutex_unlock(&mu);
	errno = saved;
	return rc < 0 ? -1 : (ssize_t)n;
}

int
close(int fd)
{
	resolve();
	if (fd >= 0 && fd < MAXFD) {
		pthread_mutex_lock(&mu);
		watched[fd].kind = A_NONE;
		pthread_mutex_unlock(&mu);
	}
	return real_close(fd);
}
