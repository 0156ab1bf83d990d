/*
 * Device fields and the text formats built from them: OpenNebula's probe
 * template and the <PCI_DEVICES> XML of its host share. The RPC front's
 * encoder (rpc_value.c) walks the same field list, so every output names
 * fields alike.
 */
#include <stdlib.h>
#include <string.h>

#include <uuid/uuid.h>

#include "pcipassd.h"

/* Field name of kind, its text v (len bytes, cut to what is left). */
static struct pp_field *
add(struct pp_fields *fs, const char *name, int kind, const char *v,
    size_t len)
{
	struct pp_field	*p = &fs->f[fs->n++];
	char		*t;
	size_t		 room;

	/* Never: the texts of a record add up to 3.4 KB at most. Were the
	 * buffer full, the fields after would share its last byte, "". */
	if (fs->used == sizeof(fs->text))
		fs->used--;
	t = fs->text + fs->used;
	room = sizeof(fs->text) - fs->used;
	if (len > PP_FIELD_MAX)
		len = PP_FIELD_MAX;
	if (len >= room)
		len = room - 1;
	memcpy(t, v, len);
	t[len] = '\0';
	fs->used += len + 1;
	p->name = name;
	p->kind = kind;
	p->ival = 0;
	p->dash = 0;
	p->text = t;
	return p;
}

static void
add_str(struct pp_fields *fs, const char *name, const char *v, int dash)
{
	struct pp_field	*p = add(fs, name, F_STR, v, strnlen(v,
			    PP_FIELD_MAX));

	/* One bad byte would spoil a whole answer. */
	text_clean(fs->text + (p->text - fs->text));
	p->dash = dash && v[0] == '\0';
}

static void
add_int(struct pp_fields *fs, const char *name, int v, int dash)
{
	struct pp_field	*p;
	char		 buf[16], *q = buf + sizeof(buf);
	unsigned	 u = v < 0 ? 0u - (unsigned)v : (unsigned)v;

	do
		*--q = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--q = '-';
	p = add(fs, name, F_INT, q, (size_t)(buf + sizeof(buf) - q));
	p->ival = v;
	p->dash = dash && v < 0;
}

/* Lower-case hex, zero-padded to at least width digits and as many as v
 * needs (a VMD domain is 10000): device_fields runs per device per
 * answer, and snprintf was most of its cost. */
static void
add_hex(struct pp_fields *fs, const char *name, unsigned v, int width)
{
	char	buf[8];
	int	i;

	while (width < 8 && (v >> (4 * width)) != 0)
		width++;
	for (i = width - 1; i >= 0; i--, v >>= 4)
		buf[i] = "0123456789abcdef"[v & 0xf];
	add(fs, name, F_STR, buf, (size_t)width);
}

/*
 * A vGPU's UUID as OpenNebula makes it, the same for an address on every
 * run: the SHA-1 name-based UUID of ADDRESS in the X.500 namespace
 * (`uuidgen --sha1 --namespace @x500 --name ADDRESS`).
 */
const char *
vgpu_uuid(pp_addr a, char *buf, size_t len)
{
	char	name[PP_ADDR_SYSFS_LEN];
	uuid_t	u;

	addr_fmt(a, ADDR_ONE, name, sizeof(name));
	uuid_generate_sha1(u, *uuid_get_template("x500"), name, strlen(name));
	if (len >= UUID_STR_LEN)
		uuid_unparse_lower(u, buf);
	return buf;
}

/*
 * Every field of a device, in the probe template's order first, then the
 * fields that are ours. Returns how many were written to f.
 */
size_t
device_fields(const struct pp_device *d, struct pp_fields *fs)
{
	const struct pp_extra	*x = dev_extra(d);
	char			 buf[64], buf2[UUID_STR_LEN];

	fs->n = fs->used = 0;
	snprintf(buf, sizeof(buf), "%04x:%04x:%04x", d->vendor, d->device,
	    d->class);
	add_str(fs, "TYPE", buf, 0);
	add_hex(fs, "VENDOR", d->vendor, 4);
	add_str(fs, "VENDOR_NAME", d->vendor_name, 0);
	add_hex(fs, "DEVICE", d->device, 4);
	add_hex(fs, "CLASS", d->class, 4);
	add_str(fs, "CLASS_NAME", d->class_name, 0);
	add_str(fs, "ADDRESS", addr_fmt(d->addr, ADDR_ONE, buf,
	    sizeof(buf)), 0);
	add_str(fs, "SHORT_ADDRESS", addr_fmt(d->addr, ADDR_SHORT, buf,
	    sizeof(buf)), 0);
	add_hex(fs, "DOMAIN", PP_DOMAIN(d->addr), 4);
	add_hex(fs, "BUS", PP_BUS(d->addr), 2);
	add_hex(fs, "SLOT", PP_SLOT(d->addr), 2);
	add_hex(fs, "FUNCTION", PP_FUNC(d->addr), 1);
	add_int(fs, "NUMA_NODE", d->numa, 1);
	add_str(fs, "IFNAME", d->ifname, 1);
	add_str(fs, "SRIOV", sriov_name(d->sriov), 0);
	add_int(fs, "SRIOV_NUM", d->sriov == SRIOV_PF ? d->sriov_num : 0,
	    0);
	add_int(fs, "IOMMU_GROUP", d->iommu, 1);
	add_str(fs, "DRIVER", d->driver, 1);
	add_str(fs, "PHYSFN", d->sriov == SRIOV_VF ? addr_fmt(d->physfn,
	    ADDR_ONE, buf, sizeof(buf)) : "", 1);
	add_str(fs, "DEVICE_NAME", d->device_name, 0);
	if (d->mdev_mode[0] != '\0') {
		add_str(fs, "UUID", vgpu_uuid(d->addr, buf2, sizeof(buf2)),
		    0);
		add_str(fs, "PROFILES", d->profiles, 0);
		add_str(fs, "MDEV_MODE", d->mdev_mode, 0);
	}
	add_int(fs, "VMID", d->vmid, 0);
	add_str(fs, "STATE", d->state, 0);
	add_str(fs, "REASON", dev_reason(d), 0);
	if (d->vmid >= 0 && x->nic.nic) {
		add_str(fs, "NIC", "YES", 0);
		add_str(fs, "MAC", x->nic.mac, 0);
		add_str(fs, "IP", x->nic.ip, 0);
		add_str(fs, "IP6", x->nic.ip6, 0);
		add_str(fs, "VLAN_ID", x->nic.vlan_id, 0);
		add_str(fs, "NETWORK", x->nic.network, 0);
	}
	if (d->vmid >= 0 && x->profile[0] != '\0')
		add_str(fs, "PROFILE", x->profile, 0);
	return fs->n;
}

/*
 * A function as pci.tree gives it: its device fields, whether the filter
 * offers it, and a bridge's secondary and subordinate bus (-1 for any
 * other function), from which pcipass tree draws the hierarchy.
 */
size_t
tree_fields(const struct pp_device *d, struct pp_fields *fs)
{
	device_fields(d, fs);
	add_int(fs, "OFFERED", d->offered, 0);
	add_int(fs, "SECONDARY", d->secondary, 0);
	add_int(fs, "SUBORDINATE", d->subordinate, 0);
	return fs->n;
}

/* What pci.list, pci.info and the probe show: offered or held devices. */
int
device_listed(const struct pp_device *d)
{
	return d->offered || d->vmid >= 0;
}

/*
 * A template value as oned's lexer reads it: it takes \" as a quote
 * inside a string and undoes nothing else. So '"' is written \", a
 * backslash as it is, but one that would stand right before a '"' (the
 * value's own or the closing one) as '?': "a\" would swallow the rest of
 * the probe into one string and oned would reject every device.
 */
static void
put_quoted(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; *s; s++) {
		if (*s == '"')
			fputs("\\\"", fp);
		else if (*s == '\\' && (s[1] == '"' || s[1] == '\0'))
			fputc('?', fp);
		else
			fputc(*s, fp);
	}
	fputc('"', fp);
}

static void
probe_device(FILE *fp, const struct pp_device *d)
{
	struct pp_fields fs;
	struct pp_field	*f = fs.f;
	size_t		 n, i, last;

	/* OpenNebula's keys end with DEVICE_NAME, or with MDEV_MODE on a
	 * vGPU; ours follow in device_fields() and stay out. */
	n = device_fields(d, &fs);
	for (last = 0; last < n; last++)
		if (strcmp(f[last].name, d->mdev_mode[0] ? "MDEV_MODE" :
		    "DEVICE_NAME") == 0)
			break;
	fputs("PCI = [\n", fp);
	for (i = 0; i <= last && i < n; i++) {
		if (strcmp(f[i].name, "SRIOV_NUM") == 0 &&
		    d->sriov != SRIOV_PF)
			continue;
		fprintf(fp, " %s = ", f[i].name);
		put_quoted(fp, f[i].dash ? "-" : f[i].text);
		/* pci.rb joins " KEY = \"value\" " with ",\n": the last line
		 * ends in a blank too. */
		fputs(i == last ? " \n" : " ,\n", fp);
	}
	fputs("]\n", fp);
}

/*
 * The probe is what oned's scheduler chooses from, so it lists only what
 * a VM could be given: offered devices whose STATE is not blocked
 * (match_states() must have run), and every held one, missing or not.
 * Each offered device left out is logged with its reason.
 */
int
format_probe(FILE *fp, const struct pp_inventory *inv)
{
	const struct pp_device	*d;
	char			 a[PP_ADDR_SYSFS_LEN];
	size_t			 i;

	for (i = 0; i < inv->ndev; i++) {
		d = &inv->dev[i];
		if (d->vmid >= 0 || (d->offered &&
		    strcmp(d->state, "blocked") != 0))
			probe_device(fp, d);
		else if (d->offered)
			log_info("probe: %s left out: %s", addr_fmt(d->addr,
			    ADDR_ONE, a, sizeof(a)), dev_reason(d));
	}
	return ferror(fp) ? -1 : 0;
}

static int
field_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pp_field *)a)->name,
	    ((const struct pp_field *)b)->name);
}

/* CDATA cannot hold "]]>": split it across two sections. */
static void
put_cdata(FILE *fp, const char *s)
{
	const char	*p;

	fputs("<![CDATA[", fp);
	while ((p = strstr(s, "]]>")) != NULL) {
		fwrite(s, 1, (size_t)(p - s) + 2, fp);
		fputs("]]><![CDATA[", fp);
		s = p + 2;
	}
	fputs(s, fp);
	fputs("]]>", fp);
}

static void
info_device(FILE *fp, const struct pp_device *d)
{
	struct pp_fields fs;
	struct pp_field	*f = fs.f;
	size_t		 n, i;

	n = device_fields(d, &fs);
	qsort(f, n, sizeof(*f), field_cmp);
	fputs("<PCI>", fp);
	for (i = 0; i < n; i++) {
		fprintf(fp, "<%s>", f[i].name);
		put_cdata(fp, f[i].dash ? "-" : f[i].text);
		fprintf(fp, "</%s>", f[i].name);
	}
	fputs("</PCI>", fp);
}

/* The <PCI_DEVICES> element, to fp; -1 when it could not be written. */
int
format_info(FILE *fp, const struct pp_inventory *inv)
{
	size_t	i;

	fputs("<PCI_DEVICES>", fp);
	for (i = 0; i < inv->ndev; i++)
		if (device_listed(&inv->dev[i]))
			info_device(fp, &inv->dev[i]);
	fputs("</PCI_DEVICES>", fp);
	return ferror(fp) ? -1 : 0;
}
