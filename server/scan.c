/*
 * The scan: sysfs -> array of devices. libpci lives behind this file and
 * nowhere else.
 *
 * libpci's error handler is noreturn and exits by default, and its own
 * directory scan calls it for any odd entry under devices/. So we list
 * devices/ ourselves, check every entry (an address name, readable and
 * well-formed vendor, device and class files) and only hand single
 * devices to libpci with pci_get_dev(). What is left for the handler (a
 * file vanishing under libpci, a bad pci.ids) longjmps back and the
 * scan fails as a whole; the device directory open then (scan_dfd) is
 * closed there.
 *
 * An entry that is not a device (no such file) is left out and said in
 * the log; any other error reading one (EMFILE, EIO, ...) fails the whole
 * scan, since a device left out of a scan counts as gone from the host.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pci/pci.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "pcipassd.h"


static __thread jmp_buf	*scan_jmp;
static __thread char	 scan_errmsg[256];
static __thread int	 scan_dfd = -1;	/* the device's, while read */

static void	pcilib_error(char *, ...)
		    __attribute__((format(printf, 1, 2), noreturn));
static void	pcilib_warning(char *, ...)
		    __attribute__((format(printf, 1, 2)));

static void
pcilib_error(char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(scan_errmsg, sizeof(scan_errmsg), fmt, ap);
	va_end(ap);
	longjmp(*scan_jmp, 1);
}

static void
pcilib_warning(char *fmt, ...)
{
	char	buf[256];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_debug("pcilib: %s", buf);
}

/*
 * Read the first line of a small sysfs or procfs file, dfd's entry name,
 * into buf, without its newline; -1 if absent. Per device the scan opens
 * the device's directory once and every attribute relative to it: the
 * kernel then walks one path component per open instead of the whole
 * path (path walks were the largest part of a scan's time).
 */
static int
sysfs_read_attr_at(int dfd, const char *name, char *buf, size_t len)
{
	ssize_t	 n;
	int	 fd;

	if ((fd = openat(dfd, name, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int
sysfs_read_attr(const char *dir, const char *name, char *buf, size_t len)
{
	char	 path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return sysfs_read_attr_at(AT_FDCWD, path, buf, len);
}

/* A number in base (16: sysfs's "0x1458"). */
static int
read_int_attr_at(int dfd, const char *name, int base, int *out)
{
	char	 buf[32], *end;
	long	 v;

	if (sysfs_read_attr_at(dfd, name, buf, sizeof(buf)) < 0)
		return -1;
	errno = 0;
	v = strtol(buf, &end, base);
	if (errno || end == buf || *end != '\0' || v < INT_MIN || v > INT_MAX)
		return -1;
	*out = (int)v;
	return 0;
}

static int
read_int_attr(const char *dir, const char *name, int *out)
{
	char	 path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return read_int_attr_at(AT_FDCWD, path, 10, out);
}

/* The basename of a symlink's target, as libpci reads driver links. */
static int
sysfs_link_base_at(int dfd, const char *name, char *buf, size_t len)
{
	char	 target[PATH_MAX], *base;
	ssize_t	 n;

	if ((n = readlinkat(dfd, name, target, sizeof(target) - 1)) < 0)
		return -1;
	target[n] = '\0';
	base = strrchr(target, '/');
	snprintf(buf, len, "%s", base ? base + 1 : target);
	return 0;
}

int
sysfs_link_base(const char *dir, const char *name, char *buf, size_t len)
{
	char	 path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return sysfs_link_base_at(AT_FDCWD, path, buf, len);
}

/* Whether a failed read of an entry says it is no device (left out). */
static int
not_there(void)
{
	return errno == ENOENT || errno == ENOTDIR;
}

/*
 * A device's ids and class from its directory dfd (the kernel's view:
 * for a VF, config space says ffff), each a parseable hex number: 1; 0
 * when it is no device (said in the log; left out); -1 when it could not
 * be read (said; the scan fails).
 */
static int
ids_ok(int dfd, const char *dir, struct pp_device *p)
{
	char		 buf[32];
	static const struct { const char *file; unsigned digits; } req[] = {
		{ "vendor", 4 }, { "device", 4 }, { "class", 6 },
	};
	unsigned	 v[3];
	size_t		 i;

	if (dfd < 0) {
		if (not_there())
			return 0;
		log_warn("scan: %s", dir);
		return -1;
	}
	for (i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		if (sysfs_read_attr_at(dfd, req[i].file, buf, sizeof(buf)) <
		    0) {
			if (!not_there()) {
				log_warn("scan: %s/%s", dir, req[i].file);
				return -1;
			}
			log_warnx("scan: %s: no %s file, skipped", dir,
			    req[i].file);
			return 0;
		}
		if (hex_parse(buf, req[i].digits, &v[i]) < 0) {
			log_warnx("scan: %s/%s: \"%s\" is not a hex id, "
			    "skipped", dir, req[i].file, buf);
			return 0;
		}
	}
	p->vendor = v[0];
	p->device = v[1];
	p->class = v[2] >> 8;
	return 1;
}

static int
dev_addr_cmp(const void *a, const void *b)
{
	pp_addr	x = ((const struct pp_device *)a)->addr;
	pp_addr	y = ((const struct pp_device *)b)->addr;

	return x < y ? -1 : x > y;
}

/* The entries of devices/ named by a PCI address, sorted. */
static int
list_devices(const char *devdir, struct pp_inventory *inv)
{
	DIR			*d;
	struct dirent		*e;
	struct pp_device	*nv, p;
	size_t			 cap = 0;

	if ((d = opendir(devdir)) == NULL) {
		log_warn("scan: %s", devdir);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		memset(&p, 0, sizeof(p));
		device_strings_init(&p);
		if (e->d_name[0] == '.')
			continue;
		if (addr_parse(e->d_name, ADDR_SYSFS, &p.addr) < 0) {
			log_warnx("scan: %s/%s: not a PCI address in the "
			    "kernel's form (DDDD:BB:SS.F), skipped", devdir,
			    e->d_name);
			continue;
		}
		if (inv->ndev == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nv = reallocarray(inv->dev, cap, sizeof(*nv))) ==
			    NULL) {
				closedir(d);
				log_warn("scan");
				return -1;
			}
			inv->dev = nv;
		}
		inv->dev[inv->ndev++] = p;
	}
	closedir(d);
	if (inv->ndev > 0)
		qsort(inv->dev, inv->ndev, sizeof(*inv->dev), dev_addr_cmp);
	return 0;
}

/*
 * From the first 64 bytes of config space, one read: the header type
 * (bridges: 1, 2), a bridge's secondary and subordinate bus (as lspci -t
 * reads them: the same two bytes in a type 1 and a type 2 header) and a
 * type 0 header's subsystem ids, which are what the kernel puts in
 * subsystem_vendor and subsystem_device for it. Without config space:
 * bridges by class, and the subsystem from sysfs (have_subsys 0).
 */
static void
config_head(struct pci_dev *d, struct pp_device *p, int *have_subsys)
{
	u8	c[64];

	p->secondary = p->subordinate = -1;
	*have_subsys = 0;
	if (!pci_read_block(d, 0, c, sizeof(c))) {
		p->header = p->class == 0x0604 ? 1 : p->class == 0x0607 ? 2 : 0;
		return;
	}
	p->header = c[PCI_HEADER_TYPE] & 0x7f;
	if (p->header == 1 || p->header == 2) {
		p->secondary = c[PCI_SECONDARY_BUS];
		p->subordinate = c[PCI_SUBORDINATE_BUS];
	} else if (p->header == 0) {
		p->subvendor = c[PCI_SUBSYSTEM_VENDOR_ID] |
		    (unsigned)c[PCI_SUBSYSTEM_VENDOR_ID + 1] << 8;
		p->subdevice = c[PCI_SUBSYSTEM_ID] |
		    (unsigned)c[PCI_SUBSYSTEM_ID + 1] << 8;
		*have_subsys = 1;
	}
}

/*
 * A name as OpenNebula's probe takes it: what `lspci -mmnn` prints
 * ("Name [id]", libpci's mixed form) less a trailing " [xxxx]" of four
 * characters. So a device missing from pci.ids is "Device", not "Device
 * 4c43", and a class known only by its base is "Non-Essential
 * Instrumentation", not "... [1300]". At most len - 1 bytes, valid
 * UTF-8, interned.
 */
static const char *
name_of(const char *mixed, size_t len)
{
	char	out[PP_DEVICE_NAME_LEN];
	size_t	n = strlen(mixed);

	if (n >= 7 && mixed[n - 7] == ' ' && mixed[n - 6] == '[' &&
	    mixed[n - 1] == ']')
		n -= 7;
	snprintf(out, len < sizeof(out) ? len : sizeof(out), "%.*s", (int)n,
	    mixed);
	text_clean(out);
	return intern(out);
}

static void
fill_names(struct pci_access *a, struct pp_device *p)
{
	char	buf[256];

	p->vendor_name = name_of(pci_lookup_name(a, buf, sizeof(buf),
	    PCI_LOOKUP_VENDOR | PCI_LOOKUP_MIXED, p->vendor, p->device),
	    PP_VENDOR_NAME_LEN);
	p->device_name = name_of(pci_lookup_name(a, buf, sizeof(buf),
	    PCI_LOOKUP_DEVICE | PCI_LOOKUP_MIXED, p->vendor, p->device),
	    PP_DEVICE_NAME_LEN);
	p->class_name = name_of(pci_lookup_name(a, buf, sizeof(buf),
	    PCI_LOOKUP_CLASS | PCI_LOOKUP_MIXED, p->class),
	    PP_CLASS_NAME_LEN);
}

/*
 * Of several interfaces (a PF in switchdev mode and its representors),
 * OpenNebula's probe names the one whose phys_port_name is "p<N>", and
 * none if no such one exists.
 */
static int
port_iface(const char *net, const char *name)
{
	char	dir[PATH_MAX], buf[32];
	size_t	i;

	snprintf(dir, sizeof(dir), "%s/%s", net, name);
	if (name[0] == '\0' || sysfs_read_attr(dir, "phys_port_name", buf,
	    sizeof(buf)) < 0 || buf[0] != 'p' || buf[1] == '\0')
		return 0;
	for (i = 1; buf[i] != '\0'; i++)
		if (buf[i] < '0' || buf[i] > '9')
			return 0;
	return 1;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Append s to the comma list out (len bytes); -1 when it does not fit. */
static int
list_add(char *out, size_t len, const char *s)
{
	size_t	n = strlen(out), m = strlen(s);

	if (n + (n > 0) + m + 1 > len)
		return -1;
	if (n > 0)
		out[n++] = ',';
	memcpy(out + n, s, m + 1);
	return 0;
}

/* What the vGPU scan builds before it is interned into the record. */
struct vgpu_text {
	char	profiles[PP_PROFILES_LEN];
	char	creatable[PP_PROFILES_LEN];
	char	vgpu[PP_VGPU_LEN];
};

/* Legacy mdev: the type names under mdev_supported_types/, sorted as ls
 * sorts them; those with available_instances > 0 can be made now. */
static void
legacy_profiles(const char *dir, struct vgpu_text *p)
{
	char		 path[PATH_MAX], type[PATH_MAX], *names[256];
	int		 avail;
	DIR		*d;
	struct dirent	*e;
	size_t		 n = 0, i;

	snprintf(path, sizeof(path), "%s/mdev_supported_types", dir);
	if ((d = opendir(path)) == NULL)
		return;
	while ((e = readdir(d)) != NULL && n < 256)
		if (e->d_name[0] != '.' && (names[n] = strdup(e->d_name)))
			n++;
	closedir(d);
	qsort(names, n, sizeof(names[0]), str_cmp);
	for (i = 0; i < n; i++) {
		if (list_add(p->profiles, sizeof(p->profiles), names[i]) < 0)
			log_warnx("scan: %s: profiles beyond %zu bytes left "
			    "out", path, sizeof(p->profiles));
		snprintf(type, sizeof(type), "%s/%s", path, names[i]);
		if (read_int_attr(type, "available_instances", &avail) == 0 &&
		    avail > 0)
			list_add(p->creatable, sizeof(p->creatable), names[i]);
		free(names[i]);
	}
}

/* Trim blanks at both ends, in place. */
static char *
trim(char *s)
{
	char	*end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' ||
	    end[-1] == '\n'))
		*--end = '\0';
	return s;
}

/* NVIDIA's own sysfs: "ID (NAME)" of each line "ID : NAME" of
 * nvidia/creatable_vgpu_types, less its header. */
static void
nvidia_profiles(const char *dir, struct vgpu_text *p)
{
	char	 path[PATH_MAX], line[512], item[600], *id, *name, *colon;
	FILE	*f;

	snprintf(path, sizeof(path), "%s/nvidia/creatable_vgpu_types", dir);
	if ((f = fopen(path, "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		/* OpenNebula's probe fails on such a line, and offers no
		 * profile at all. */
		if ((colon = strchr(line, ':')) == NULL) {
			p->profiles[0] = p->creatable[0] = '\0';
			break;
		}
		*colon = '\0';
		/* Ruby's split(':') would cut the name at a second colon. */
		if ((name = strchr(colon + 1, ':')) != NULL)
			*name = '\0';
		id = trim(line);
		name = trim(colon + 1);
		if (*id == '\0' || *name == '\0' || strcasecmp(id, "ID") == 0)
			continue;
		snprintf(item, sizeof(item), "%s (%s)", id, name);
		if (list_add(p->profiles, sizeof(p->profiles), item) < 0)
			log_warnx("scan: %s: profiles beyond %zu bytes left "
			    "out", path, sizeof(p->profiles));
		/* NVIDIA lists what the VF can make now. */
		list_add(p->creatable, sizeof(p->creatable), id);
	}
	fclose(f);
}

/*
 * The vGPU the device runs now: legacy, the type of the mdev named by
 * the device's own UUID (bus/mdev/devices/UUID/mdev_type); nvidia, the
 * type ID in nvidia/current_vgpu_type ("0": none).
 */
static void
vgpu_now(const char *sysfs_root, const char *a, const struct pp_device *d,
    struct vgpu_text *p)
{
	char	 path[PATH_MAX], uuid[64];
	int	 id;

	p->vgpu[0] = '\0';
	if (strcmp(d->mdev_mode, "legacy") == 0) {
		snprintf(path, sizeof(path), "%s/bus/mdev/devices/%s",
		    sysfs_root, vgpu_uuid(d->addr, uuid, sizeof(uuid)));
		if (sysfs_link_base(path, "mdev_type", p->vgpu,
		    sizeof(p->vgpu)) < 0)
			p->vgpu[0] = '\0';
	} else {
		snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/nvidia",
		    sysfs_root, a);
		if (read_int_attr(path, "current_vgpu_type", &id) == 0 &&
		    id > 0)
			snprintf(p->vgpu, sizeof(p->vgpu), "%d", id);
	}
	text_clean(p->vgpu);
}

/*
 * A vGPU-capable VF, as OpenNebula's probe reads it: MDEV_MODE "legacy"
 * when the kernel's mdev bus knows it (class/mdev_bus/ADDR), else
 * "nvidia"; PROFILES from the matching place; and the vGPU it runs now.
 * The caller decides which devices are vGPUs (:nvidia_vendors:).
 */
void
scan_vgpu(const char *sysfs_root, struct pp_device *p)
{
	char		 dir[PATH_MAX], a[PP_ADDR_SYSFS_LEN];
	struct stat	 st;
	struct vgpu_text t = { "", "", "" };

	addr_fmt(p->addr, ADDR_SYSFS, a, sizeof(a));
	snprintf(dir, sizeof(dir), "%s/class/mdev_bus/%s", sysfs_root, a);
	if (stat(dir, &st) == 0) {
		snprintf(p->mdev_mode, sizeof(p->mdev_mode), "legacy");
		legacy_profiles(dir, &t);
	} else
		snprintf(p->mdev_mode, sizeof(p->mdev_mode), "nvidia");
	/* As OpenNebula: no legacy types, then NVIDIA's list, whatever the
	 * mode. */
	if (t.profiles[0] == '\0') {
		t.creatable[0] = '\0';
		snprintf(dir, sizeof(dir), "%s/bus/pci/devices/%s", sysfs_root,
		    a);
		nvidia_profiles(dir, &t);
	}
	text_clean(t.profiles);
	text_clean(t.creatable);
	vgpu_now(sysfs_root, a, p, &t);
	p->profiles = intern(t.profiles);
	p->creatable = intern(t.creatable);
	p->vgpu = intern(t.vgpu);
}

/*
 * What every VF of one PF shares, as the kernel makes a VF: the PF's
 * vendor and VF device id, and the class, header type and subsystem ids
 * it read once from the PF's first VF (pci_iov_add_virtfn(),
 * pci_read_vf_config_common()). The scan reads them from the first VF it
 * meets of each PF (in address order, VF 0: a VF's address is its PF's
 * plus the first VF offset) and copies them to the others, which saves
 * each later VF five file reads (vendor, device, class, the subsystem
 * ids), a config space read and three name lookups.
 */
struct vf_ids {
	pp_addr		 physfn;
	unsigned	 vendor, device, class, subvendor, subdevice;
	int		 header;
	const char	*vendor_name, *device_name, *class_name;
};

struct vf_cache {
	struct vf_ids	*v;
	size_t		 n, cap;
};

/* The scan's, freed at its end as scan_dfd is closed (longjmp too). */
static __thread struct vf_cache	scan_vfs;

static void
vf_cache_free(struct vf_cache *c)
{
	free(c->v);
	memset(c, 0, sizeof(*c));
}

static const struct vf_ids *
vf_cache_find(const struct vf_cache *c, pp_addr physfn)
{
	size_t	i;

	for (i = c->n; i-- > 0; )
		if (c->v[i].physfn == physfn)
			return &c->v[i];
	return NULL;
}

/* Best effort: without memory the next VF reads its own files. */
static void
vf_cache_add(struct vf_cache *c, const struct pp_device *p)
{
	struct vf_ids	*nv;

	if (c->n == c->cap) {
		if ((nv = reallocarray(c->v, c->cap ? c->cap * 2 : 16,
		    sizeof(*nv))) == NULL)
			return;
		c->v = nv;
		c->cap = c->cap ? c->cap * 2 : 16;
	}
	c->v[c->n++] = (struct vf_ids){ p->physfn, p->vendor, p->device,
	    p->class, p->subvendor, p->subdevice, p->header, p->vendor_name,
	    p->device_name, p->class_name };
}

static void
vf_ids_copy(struct pp_device *p, const struct vf_ids *c)
{
	p->vendor = c->vendor;
	p->device = c->device;
	p->class = c->class;
	p->subvendor = c->subvendor;
	p->subdevice = c->subdevice;
	p->header = c->header;
	p->secondary = p->subordinate = -1;
	p->vendor_name = c->vendor_name;
	p->device_name = c->device_name;
	p->class_name = c->class_name;
}

/*
 * What libpci does not read: a PF's VF counts, network interface, boot
 * VGA. A VF (physfn, read first) has no SR-IOV capability of its own.
 */
static void
fill_extras(int dfd, const char *dir, struct pp_device *p)
{
	DIR		*d;
	struct dirent	*e;
	char		 net[PATH_MAX], port[sizeof(p->ifname)] = "";
	int		 n = 0, fd;

	if (p->sriov != SRIOV_VF && read_int_attr_at(dfd, "sriov_totalvfs",
	    10, &p->sriov_total) == 0) {
		p->sriov = SRIOV_PF;
		if (read_int_attr_at(dfd, "sriov_numvfs", 10,
		    &p->sriov_num) < 0 || p->sriov_num < 0)
			p->sriov_num = 0;
	}
	/* The kernel shows boot_vga only on VGA devices (pci_is_vga()). */
	if ((p->class != 0x0300 && p->class != 0x0001) ||
	    read_int_attr_at(dfd, "boot_vga", 10, &p->boot_vga) < 0)
		p->boot_vga = 0;
	if ((fd = openat(dfd, "net", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	snprintf(net, sizeof(net), "%s/net", dir);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n++ == 0)
			snprintf(p->ifname, sizeof(p->ifname), "%s",
			    e->d_name);
		if (port[0] == '\0' && port_iface(net, e->d_name))
			snprintf(port, sizeof(port), "%s", e->d_name);
	}
	closedir(d);
	if (n > 1)
		snprintf(p->ifname, sizeof(p->ifname), "%s", port);
	text_clean(p->ifname);
}

/*
 * A device's ids, class, header and names: a later VF's from vc (see
 * struct vf_ids), else from its directory and config space. 1; 0 when
 * the entry is no device; -1 when it could not be read.
 */
static int
fill_ids(struct pci_access *a, struct pci_dev *d, const char *dir,
    struct pp_device *p, struct vf_cache *vc)
{
	const struct vf_ids	*c = NULL;
	int			 v, subsys, rc;

	if (p->sriov == SRIOV_VF && (c = vf_cache_find(vc, p->physfn)) !=
	    NULL) {
		vf_ids_copy(p, c);
		return 1;
	}
	if ((rc = ids_ok(scan_dfd, dir, p)) <= 0)
		return rc;
	config_head(d, p, &subsys);
	/* A VF's are its PF's first VF's (the kernel's view): the files. */
	if ((!subsys || p->sriov == SRIOV_VF) && read_int_attr_at(scan_dfd,
	    "subsystem_vendor", 16, &v) == 0) {
		p->subvendor = (unsigned)v & 0xffff;
		if (read_int_attr_at(scan_dfd, "subsystem_device", 16, &v) == 0)
			p->subdevice = (unsigned)v & 0xffff;
	}
	fill_names(a, p);
	if (p->sriov == SRIOV_VF)
		vf_cache_add(vc, p);
	return 1;
}

/*
 * p from the device's directory, read as libpci reads it (the kernel's
 * view: vendor, device, class, numa_node, the basename of the driver and
 * iommu_group links; subsystem ids as config_head() says, but a VF's from
 * the files) but relative to the directory and with our own readlink
 * (libpci resolves each link with realpath, one system call per path
 * component); from libpci the config space and the names. 1; 0 when the
 * entry is no device (left out); -1 when it could not be read.
 */
static int
fill_device(struct pci_access *a, struct pci_dev *d, int devfd,
    const char *devdir, struct pp_device *p, struct vf_cache *vc)
{
	char		 dir[PATH_MAX], name[PP_ADDR_SYSFS_LEN], buf[64], *end;
	unsigned long	 g;
	int		 v, rc;

	addr_fmt(p->addr, ADDR_SYSFS, name, sizeof(name));
	snprintf(dir, sizeof(dir), "%s/%s", devdir, name);
	scan_dfd = openat(devfd, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (scan_dfd >= 0 && sysfs_link_base_at(scan_dfd, "physfn", buf,
	    sizeof(buf)) == 0 && addr_parse(buf, ADDR_SYSFS, &p->physfn) == 0)
		p->sriov = SRIOV_VF;
	if ((rc = fill_ids(a, d, dir, p, vc)) <= 0) {
		if (scan_dfd >= 0)
			close(scan_dfd);
		scan_dfd = -1;
		return rc;
	}
	fill_extras(scan_dfd, dir, p);
	p->numa = -1;
	if (read_int_attr_at(scan_dfd, "numa_node", 10, &v) == 0 && v >= 0)
		p->numa = v;
	p->iommu = -1;
	if (sysfs_link_base_at(scan_dfd, "iommu_group", buf, sizeof(buf)) ==
	    0 && buf[0] >= '0' && buf[0] <= '9' && (g = strtoul(buf, &end, 10),
	    *end == '\0') && g <= 999999)
		p->iommu = (int)g;
	if (sysfs_link_base_at(scan_dfd, "driver", buf, sizeof(buf)) < 0)
		buf[0] = '\0';
	buf[PP_DRIVER_LEN - 1] = '\0';
	text_clean(buf);
	p->driver = intern(buf);
	p->vmid = -1;
	p->req_index = -1;
	p->present = 1;
	close(scan_dfd);
	scan_dfd = -1;
	return 1;
}

/* Length of the valid UTF-8 sequence at s, 0 if it is not one. */
static size_t
utf8_len(const unsigned char *s)
{
	size_t	n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/*
 * Text from sysfs entry names and pci.ids goes into XML answers, where
 * one invalid byte makes the whole answer unreadable: control characters
 * and invalid UTF-8 become '?'. format.c cleans every text field on the
 * way out too, whatever the database holds.
 */
void
text_clean(char *s)
{
	unsigned char	*p = (unsigned char *)s;
	size_t		 n;

	while (*p != '\0') {
		if ((n = utf8_len(p)) == 0 || (n == 1 && *p < 0x20)) {
			*p++ = '?';
			continue;
		}
		p += n;
	}
}

static int
scan_devices(const char *root, struct pp_inventory *inv)
{
	char			 busdir[PATH_MAX], devdir[PATH_MAX];
	struct pci_access	*volatile a = NULL;
	struct pci_dev		*volatile d = NULL;
	volatile int		 devfd = -1;
	size_t			 i, n;
	int			 rc;
	jmp_buf			 jb;

	snprintf(busdir, sizeof(busdir), "%s/bus/pci", root);
	snprintf(devdir, sizeof(devdir), "%s/devices", busdir);
	if (list_devices(devdir, inv) < 0)
		return -1;
	if ((devfd = open(devdir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		log_warn("scan: %s", devdir);
		return -1;
	}
	scan_jmp = &jb;
	if (setjmp(jb)) {
		log_warnx("scan: %s: %s; scan abandoned", busdir,
		    scan_errmsg);
		if (d != NULL)
			pci_free_dev(d);
		pci_cleanup(a);
		close(devfd);
		if (scan_dfd >= 0)
			close(scan_dfd);
		scan_dfd = -1;
		vf_cache_free(&scan_vfs);
		return -1;
	}
	a = pci_alloc();
	a->error = pcilib_error;
	a->warning = pcilib_warning;
	a->debug = pcilib_warning;
	a->method = PCI_ACCESS_SYS_BUS_PCI;
	pci_set_param(a, "sysfs.path", busdir);
	pci_set_param(a, "hwdb.disable", "1");
	pci_init(a);
	for (i = n = 0; i < inv->ndev; i++) {
		pp_addr	ad = inv->dev[i].addr;

		d = pci_get_dev(a, (int)PP_DOMAIN(ad), PP_BUS(ad), PP_SLOT(ad),
		    PP_FUNC(ad));
		rc = fill_device(a, d, devfd, devdir, &inv->dev[i],
		    &scan_vfs);
		pci_free_dev(d);
		d = NULL;
		if (rc < 0) {
			pci_cleanup(a);
			close(devfd);
			vf_cache_free(&scan_vfs);
			return -1;
		}
		if (rc > 0) {
			if (n != i)
				inv->dev[n] = inv->dev[i];
			n++;
		}
	}
	inv->ndev = n;
	pci_cleanup(a);
	close(devfd);
	vf_cache_free(&scan_vfs);
	return 0;
}

static int
add_member(struct pp_inventory *inv, size_t *cap, int group, pp_addr a)
{
	struct pp_member	*nv;

	if (inv->nmember == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		if ((nv = reallocarray(inv->member, *cap, sizeof(*nv))) ==
		    NULL)
			return -1;
		inv->member = nv;
	}
	inv->member[inv->nmember].group = group;
	inv->member[inv->nmember].addr = a;
	inv->nmember++;
	return 0;
}

/*
 * The entries of one group's devices/, read with getdents64 into one
 * buffer: opendir() would add an fstat per group, and a big host has a
 * group per function.
 */
static int
group_members(int gfd, const char *gdir, int group,
    struct pp_inventory *inv, size_t *cap)
{
	char			 path[32];
	union {
		struct dirent64	 e;
		char		 b[8192];
	}			 buf;
	struct dirent64		*e;
	ssize_t			 n = 0, off;
	pp_addr			 a;
	int			 fd, rc = 0;

	snprintf(path, sizeof(path), "%d/devices", group);
	if ((fd = openat(gfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) <
	    0) {
		log_warn("scan: %s/%s", gdir, path);
		return 0;
	}
	while (rc == 0 && (n = getdents64(fd, buf.b, sizeof(buf.b))) > 0) {
		for (off = 0; rc == 0 && off < n; off += e->d_reclen) {
			e = (struct dirent64 *)(buf.b + off);
			if (e->d_name[0] == '.')
				continue;
			if (addr_parse(e->d_name, ADDR_SYSFS, &a) < 0) {
				log_warnx("scan: %s/%s/%s: not a PCI address "
				    "in the kernel's form (DDDD:BB:SS.F), "
				    "skipped", gdir, path, e->d_name);
				continue;
			}
			rc = add_member(inv, cap, group, a);
		}
	}
	if (n < 0)
		log_warn("scan: %s/%s", gdir, path);
	close(fd);
	return rc;
}

static int
member_cmp(const void *a, const void *b)
{
	const struct pp_member	*x = a, *y = b;

	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Full membership of every IOMMU group, filtered or not. */
static int
scan_groups(const char *root, struct pp_inventory *inv)
{
	char		 gdir[PATH_MAX], *end;
	DIR		*d;
	struct dirent	*e;
	size_t		 cap = 0;
	long		 g;
	int		 rc = 0;

	snprintf(gdir, sizeof(gdir), "%s/kernel/iommu_groups", root);
	if ((d = opendir(gdir)) == NULL)
		return errno == ENOENT ? 0 : (log_warn("scan: %s", gdir), 0);
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		errno = 0;
		g = strtol(e->d_name, &end, 10);
		if (errno || *end != '\0' || g < 0 || g > 999999) {
			log_warnx("scan: %s/%s: not a group number, skipped",
			    gdir, e->d_name);
			continue;
		}
		rc = group_members(dirfd(d), gdir, (int)g, inv, &cap);
	}
	closedir(d);
	if (rc == 0 && inv->nmember > 0)
		qsort(inv->member, inv->nmember, sizeof(*inv->member),
		    member_cmp);
	return rc;
}

struct group_scan {
	const char		*root;
	struct pp_inventory	 inv;		/* its members only */
	int			 rc;
};

static void *
group_thread(void *arg)
{
	struct group_scan	*g = arg;

	g->rc = scan_groups(g->root, &g->inv);
	return NULL;
}

/*
 * The devices, and the IOMMU groups' listings on a second thread at the
 * same time: the two read different directories, and the listings are a
 * fifth of the scan (a group per function on a big host). Without a
 * thread the groups are read after the devices.
 */
int
scan_inventory(const char *root, struct pp_inventory *inv)
{
	struct group_scan	 g = { .root = root };
	pthread_t		 th;
	int			 threaded, rc;

	memset(inv, 0, sizeof(*inv));
	threaded = pthread_create(&th, NULL, group_thread, &g) == 0;
	rc = scan_devices(root, inv);
	if (threaded)
		pthread_join(th, NULL);
	else
		group_thread(&g);
	inv->member = g.inv.member;
	inv->nmember = g.inv.nmember;
	if (rc < 0) {
		inventory_free(inv);
		return -1;
	}
	if (g.rc < 0) {
		log_warnx("scan: out of memory");
		inventory_free(inv);
		return -1;
	}
	return 0;
}

void
inventory_free(struct pp_inventory *inv)
{
	size_t	i;

	if (inv == NULL)
		return;
	for (i = 0; i < inv->ndev; i++)
		device_clear(&inv->dev[i]);
	free(inv->dev);
	free(inv->member);
	memset(inv, 0, sizeof(*inv));
}

/* A deep copy of src into dst; -1 when out of memory (dst then empty). */
int
inventory_copy(struct pp_inventory *dst, const struct pp_inventory *src)
{
	size_t	i;

	memset(dst, 0, sizeof(*dst));
	dst->dev = malloc((src->ndev ? src->ndev : 1) * sizeof(*dst->dev));
	dst->member = malloc((src->nmember ? src->nmember : 1) *
	    sizeof(*dst->member));
	if (dst->dev == NULL || dst->member == NULL) {
		inventory_free(dst);
		return -1;
	}
	for (i = 0; i < src->ndev; i++) {
		if (device_copy(&dst->dev[i], &src->dev[i]) < 0) {
			inventory_free(dst);
			return -1;
		}
		dst->ndev = i + 1;
	}
	if (src->nmember > 0)
		memcpy(dst->member, src->member, src->nmember *
		    sizeof(*dst->member));
	dst->nmember = src->nmember;
	return 0;
}

static int
dev_cmp(const void *key, const void *elem)
{
	pp_addr	a = *(const pp_addr *)key;
	pp_addr	b = ((const struct pp_device *)elem)->addr;

	return a < b ? -1 : a > b;
}

struct pp_device *
inventory_find(const struct pp_inventory *inv, pp_addr a)
{
	return bsearch(&a, inv->dev, inv->ndev, sizeof(*inv->dev), dev_cmp);
}

int
device_is_bridge(const struct pp_device *p)
{
	return p->header == 1 || p->header == 2;
}
