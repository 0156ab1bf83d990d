/*
 * Renderers over device lists: OpenNebula's onehost PCI DEVICES table,
 * Sunstone's JSON (built with json-c) and libvirt <hostdev> XML.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "client.h"

/* Extra table columns, in the order they are printed (before NAME). */
static const struct column {
	unsigned	 bit;
	const char	*name;		/* --columns and header */
	const char	*field;
} columns[] = {
	{ PCIPASS_COL_CLASS,	"CLASS",	"CLASS" },
	{ PCIPASS_COL_VENDOR,	"VENDOR",	"VENDOR" },
	{ PCIPASS_COL_NUMA,	"NUMA",		"NUMA_NODE" },
	{ PCIPASS_COL_IOMMU,	"IOMMU",	"IOMMU_GROUP" },
	{ PCIPASS_COL_STATE,	"STATE",	"STATE" },
	{ PCIPASS_COL_REASON,	"REASON",	"REASON" },
	{ PCIPASS_COL_PROFILES,	"PROFILES",	"PROFILES" },
};
#define NCOLUMNS	(sizeof(columns) / sizeof(columns[0]))

int
pcipass_columns_parse(unsigned *out, const char *spec)
{
	const char	*p = spec;
	size_t		 n, i;

	*out = 0;
	while (*p != '\0') {
		n = strcspn(p, ",");
		for (i = 0; i < NCOLUMNS; i++)
			if (strlen(columns[i].name) == n &&
			    strncasecmp(columns[i].name, p, n) == 0)
				break;
		if (i == NCOLUMNS)
			return err_set(PCIPASS_EINVAL, 0, "column \"%.*s\": "
			    "known are CLASS, VENDOR, NUMA, IOMMU, STATE, "
			    "REASON, PROFILES", (int)n, p);
		*out |= columns[i].bit;
		p += n + (p[n] == ',');
	}
	return 0;
}

static const char *
get(const pcipass_device *d, const char *name)
{
	const char	*s = pcipass_device_get(d, name);

	return s ? s : "";
}

static void
put_line(FILE *fp, char *line)
{
	size_t	n = strlen(line);

	while (n > 0 && line[n - 1] == ' ')
		line[--n] = '\0';
	fprintf(fp, "%s\n", line);
}

static int
finish(char **out, FILE *fp, char **buf)
{
	/* open_memstream updates *buf only when the stream is closed. */
	if (ferror(fp) | fclose(fp)) {
		free(*buf);
		return err_nomem();
	}
	*out = *buf;
	return 0;
}

static size_t
col_width(const pcipass_device_list *l, const struct column *c)
{
	size_t	w = strlen(c->name), i, n;

	for (i = 0; i < l->n; i++)
		if ((n = strlen(get(&l->dev[i], c->field))) > w)
			w = n;
	return w;
}

/* One row; texts[] are the extra columns' cells. */
static void
row(FILE *fp, const char *vm, const char *addr, const char *type,
    const char *name, const char *const *cells, const size_t *widths,
    unsigned cols)
{
	char	line[1024];
	size_t	n, i;

	n = (size_t)snprintf(line, sizeof(line), "%5s %-7s %-14s", vm, addr,
	    type);
	for (i = 0; i < NCOLUMNS && n < sizeof(line); i++)
		if (cols & columns[i].bit)
			n += (size_t)snprintf(line + n, sizeof(line) - n,
			    " %-*s", (int)widths[i], cells[i]);
	if (n < sizeof(line))
		snprintf(line + n, sizeof(line) - n, " %-50.50s", name);
	put_line(fp, line);
}

int
pcipass_render_table(char **out, const pcipass_device_list *l,
    unsigned cols)
{
	const char	*hdr[NCOLUMNS], *cells[NCOLUMNS];
	size_t		 widths[NCOLUMNS], i, k;
	char		*buf = NULL, vm[16];
	size_t		 len = 0;
	FILE		*fp;
	int		 vmid;

	*out = NULL;
	if ((fp = open_memstream(&buf, &len)) == NULL)
		return err_nomem();
	for (k = 0; k < NCOLUMNS; k++) {
		hdr[k] = columns[k].name;
		widths[k] = col_width(l, &columns[k]);
	}
	fprintf(fp, "PCI DEVICES\n\n");
	row(fp, "VM", "ADDR", "TYPE", "NAME", hdr, widths, cols);
	for (i = 0; i < pcipass_device_list_count(l); i++) {
		const pcipass_device	*d = &l->dev[i];

		vmid = pcipass_device_get_int(d, "VMID", -1);
		if (vmid >= 0)
			snprintf(vm, sizeof(vm), "%d", vmid);
		else
			vm[0] = '\0';
		for (k = 0; k < NCOLUMNS; k++)
			cells[k] = get(d, columns[k].field);
		row(fp, vm, get(d, "SHORT_ADDRESS"), get(d, "TYPE"),
		    get(d, "DEVICE_NAME"), cells, widths, cols);
	}
	return finish(out, fp, &buf);
}

/*
 * A value as oned's host data has it, which Sunstone reads: these five
 * are "-" when unknown (the daemon sends -1 or ""), as the probe writes
 * them. VMID stays "-1" when free, as in oned.
 */
const char *
one_value(const char *name, const char *value)
{
	static const char *const dashed[] = { "NUMA_NODE", "IOMMU_GROUP",
	    "IFNAME", "PHYSFN", "DRIVER" };
	size_t	i;

	for (i = 0; i < sizeof(dashed) / sizeof(dashed[0]); i++)
		if (strcmp(name, dashed[i]) == 0)
			return *value == '\0' || *value == '-' ? "-" : value;
	return value;
}

int
pcipass_render_json(char **out, const pcipass_device_list *l)
{
	json_object	*root, *share, *devs, *arr, *o;
	const char	*name, *value;
	size_t		 i, k;

	*out = NULL;
	root = json_object_new_object();
	share = json_object_new_object();
	devs = json_object_new_object();
	arr = json_object_new_array();
	if (!root || !share || !devs || !arr) {
		json_object_put(root);
		json_object_put(share);
		json_object_put(devs);
		json_object_put(arr);
		return err_nomem();
	}
	json_object_object_add(root, "HOST_SHARE", share);
	json_object_object_add(share, "PCI_DEVICES", devs);
	json_object_object_add(devs, "PCI", arr);
	for (i = 0; i < pcipass_device_list_count(l); i++) {
		o = json_object_new_object();
		for (k = 0; k < l->dev[i].n; k++) {
			pcipass_device_field(&l->dev[i], k, &name, &value);
			json_object_object_add(o, name,
			    json_object_new_string(one_value(name, value)));
		}
		json_object_array_add(arr, o);
	}
	*out = strdup(json_object_to_json_string_ext(root,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return *out ? 0 : err_nomem();
}

/* A hex field of at most max digits, or -1. */
static long
hexfield(const pcipass_device *d, const char *name, size_t max)
{
	const char	*s = get(d, name);
	size_t		 i;

	if (*s == '\0' || strlen(s) > max)
		return -1;
	for (i = 0; s[i]; i++)
		if (!isxdigit((unsigned char)s[i]))
			return -1;
	return strtol(s, NULL, 16);
}

/* 8-4-4-4-12 hex digits: safe inside an XML attribute. */
static int
uuid_ok(const char *u)
{
	size_t	i;

	if (u == NULL || strlen(u) != 36)
		return 0;
	for (i = 0; i < 36; i++)
		if ((i == 8 || i == 13 || i == 18 || i == 23) ? u[i] != '-' :
		    !isxdigit((unsigned char)u[i]))
			return 0;
	return 1;
}

int
pcipass_render_hostdev(char **out, const pcipass_device_list *l)
{
	char	*buf = NULL;
	size_t	 len = 0, i;
	long	 dom, bus, slot, fn;
	FILE	*fp;

	*out = NULL;
	for (i = 0; i < pcipass_device_list_count(l); i++) {
		const pcipass_device	*d = &l->dev[i];

		if (hexfield(d, "DOMAIN", 8) < 0 || hexfield(d, "BUS", 2) < 0 ||
		    hexfield(d, "SLOT", 2) < 0 || hexfield(d, "FUNCTION", 1) < 0)
			return err_set(PCIPASS_EFAULT, 0, "device %s: no "
			    "usable DOMAIN, BUS, SLOT, FUNCTION",
			    get(d, "ADDRESS"));
	}
	if ((fp = open_memstream(&buf, &len)) == NULL)
		return err_nomem();
	for (i = 0; i < pcipass_device_list_count(l); i++) {
		const pcipass_device	*d = &l->dev[i];

		const char		*mode = get(d, "MDEV_MODE");
		const char		*uuid = get(d, "UUID");

		dom = hexfield(d, "DOMAIN", 8);
		bus = hexfield(d, "BUS", 2);
		slot = hexfield(d, "SLOT", 2);
		fn = hexfield(d, "FUNCTION", 1);
		/* As OpenNebula's LibVirtDriverKVM: a legacy vGPU by its
		 * mdev UUID, an NVIDIA-mode one as a PCI device the vgpu
		 * script set up (managed='no'). */
		if (mode != NULL && strcmp(mode, "legacy") == 0 &&
		    uuid_ok(uuid))
			fprintf(fp, "<hostdev mode='subsystem' type='mdev' "
			    "model='vfio-pci'>\n  <source>\n    <address "
			    "uuid='%s'/>\n  </source>\n</hostdev>\n", uuid);
		else
			fprintf(fp, "<hostdev mode='subsystem' type='pci' "
			    "managed='%s'>\n  <source>\n    <address "
			    "domain='0x%04lx' bus='0x%02lx' slot='0x%02lx' "
			    "function='0x%lx'/>\n  </source>\n</hostdev>\n",
			    mode != NULL && strcmp(mode, "nvidia") == 0 ? "no" :
			    "yes", dom, bus, slot, fn);
	}
	return finish(out, fp, &buf);
}
