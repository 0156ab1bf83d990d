/*
 * Requests from what OpenNebula wrote for a VM (libxml2): one ADDRESS
 * request per device it chose, in document order, so a deploy can
 * re-assert oned's choice (API.md: an address-only allocate of what the
 * VM holds changes nothing).
 *
 *   <domain>	the deployment file (src/vmm/LibVirtDriverKVM.cc): each
 *		<hostdev type='pci'> by its source address, each
 *		<hostdev type='mdev'> by its source UUID, which names the
 *		vGPU VF whose UUID field it is (looked up with pci.list)
 *   <VM>, <VMM_DRIVER_ACTION_DATA>
 *		the VM XML (alone, or in a driver action's data): each
 *		TEMPLATE/PCI by its ADDRESS, with its PROFILE; with
 *		attaching, only the one PCI with ATTACH = "YES" (a PCI NIC
 *		being hot-plugged)
 *
 * A deployment file has no PROFILE: the VM XML given beside it (the
 * vm.xml oned writes next to it) lends each address its PCI's PROFILE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "client.h"

/* The PROFILE of the VM XML's PCI at addr, or NULL; malloc'd. */
static char *
profile_of(xmlNode *vm, const char *addr)
{
	xmlNode	*p = xml_child(vm, "TEMPLATE");
	char	*a, *prof = NULL;

	for (p = p != NULL ? p->children : NULL; p != NULL && prof == NULL;
	    p = p->next) {
		if (!xml_is(p, "PCI") || (a = xml_text(p, "ADDRESS")) == NULL)
			continue;
		if (strcasecmp(a, addr) == 0)
			prof = xml_text(p, "PROFILE");
		free(a);
	}
	if (prof != NULL && prof[0] == '\0') {
		free(prof);
		prof = NULL;
	}
	return prof;
}

/* One ADDRESS request, with the PROFILE vm (or NULL) gives it. */
static int
add(pcipass_request_list *l, const char *name, const char *addr,
    xmlNode *vm)
{
	char	*prof = vm != NULL ? profile_of(vm, addr) : NULL;
	int	 rc;

	if ((rc = pcipass_request_add(l)) == 0 &&
	    ((rc = pcipass_request_set(l, "ADDRESS", addr)) < 0 ||
	    (prof != NULL && (rc = pcipass_request_set(l, "PROFILE",
	    prof)) < 0)))
		rc = err_set(PCIPASS_EINVAL, 0, "%s: %s", name,
		    pcipass_error_last()->message);
	free(prof);
	return rc;
}

/* 0x-prefixed hex of at most max digits, as libvirt's address attrs. */
static int
hex_attr(xmlNode *a, const char *key, unsigned max, unsigned *out)
{
	char		*s = xml_attr(a, key), *end;
	unsigned long	 v;
	int		 ok;

	if (s == NULL)
		return -1;
	v = strtoul(s, &end, 16);
	ok = strncmp(s, "0x", 2) == 0 && s[2] != '\0' && *end == '\0' &&
	    strlen(s + 2) <= 8 && v <= max;
	free(s);
	*out = (unsigned)v;
	return ok ? 0 : -1;
}

/* The VF whose UUID is uuid, through the daemon's pci.list. */
static int
by_uuid(pcipass_client *c, pcipass_device_list **list, const char *name,
    const char *uuid, const char **addr)
{
	const char	*u;
	size_t		 i;
	int		 rc;

	if (c == NULL)
		return err_set(PCIPASS_EINVAL, 0, "%s: mdev %.40s: finding its "
		    "VF needs the daemon", name, uuid);
	if (*list == NULL && (rc = pcipass_list(list, c)) < 0)
		return rc;
	for (i = 0; i < pcipass_device_list_count(*list); i++) {
		u = pcipass_device_get(pcipass_device_list_get(*list, i),
		    "UUID");
		if (u != NULL && strcasecmp(u, uuid) == 0) {
			*addr = pcipass_device_get(pcipass_device_list_get(
			    *list, i), "ADDRESS");
			return 0;
		}
	}
	return err_set(PCIPASS_EINVAL, 0, "%s: mdev %.40s: no vGPU with that "
	    "UUID on this host", name, uuid);
}

static int
from_domain(pcipass_request_list *l, const char *name, xmlNode *dom,
    xmlNode *vm, pcipass_client *c)
{
	pcipass_device_list	*list = NULL;
	xmlNode			*h, *a;
	char			*type, *uuid, buf[32];
	const char		*addr = NULL;
	unsigned		 d, b, s, f;
	int			 rc = 0;

	h = xml_child(dom, "devices");
	for (h = h != NULL ? h->children : NULL; h != NULL && rc == 0;
	    h = h->next) {
		if (!xml_is(h, "hostdev"))
			continue;
		type = xml_attr(h, "type");
		a = xml_child(xml_child(h, "source"), "address");
		if (type != NULL && strcmp(type, "pci") == 0) {
			if (hex_attr(a, "domain", 0xffffffff, &d) < 0 ||
			    hex_attr(a, "bus", 0xff, &b) < 0 ||
			    hex_attr(a, "slot", 0x1f, &s) < 0 ||
			    hex_attr(a, "function", 7, &f) < 0)
				rc = err_set(PCIPASS_EINVAL, 0, "%s: a PCI "
				    "<hostdev> without a source address "
				    "domain, bus, slot and function in 0x hex",
				    name);
			else {
				snprintf(buf, sizeof(buf), "%04x:%02x:%02x:%x",
				    d, b, s, f);
				rc = add(l, name, buf, vm);
			}
		} else if (type != NULL && strcmp(type, "mdev") == 0) {
			if ((uuid = xml_attr(a, "uuid")) == NULL)
				rc = err_set(PCIPASS_EINVAL, 0, "%s: an mdev "
				    "<hostdev> without a source uuid", name);
			else if ((rc = by_uuid(c, &list, name, uuid, &addr)) ==
			    0)
				rc = add(l, name, addr, vm);
			free(uuid);
		}
		free(type);
	}
	pcipass_device_list_free(list);
	return rc;
}

static int
from_vm(pcipass_request_list *l, const char *name, xmlNode *vm,
    int attaching)
{
	xmlNode	*p;
	char	*addr, *att;
	int	 rc = 0, n = 0;

	p = xml_child(vm, "TEMPLATE");
	for (p = p != NULL ? p->children : NULL; p != NULL && rc == 0;
	    p = p->next) {
		if (!xml_is(p, "PCI"))
			continue;
		att = xml_text(p, "ATTACH");
		if (!attaching || (att != NULL && strcasecmp(att, "YES") == 0)) {
			if ((addr = xml_text(p, "ADDRESS")) == NULL)
				rc = err_set(PCIPASS_EINVAL, 0, "%s: a PCI "
				    "without ADDRESS (not scheduled yet?)",
				    name);
			else
				rc = add(l, name, addr, vm);
			free(addr);
			n++;
		}
		free(att);
	}
	if (rc == 0 && attaching && n != 1)
		rc = err_set(PCIPASS_EINVAL, 0, "%s: %d PCI with ATTACH = "
		    "\"YES\"; expected one", name, n);
	return rc;
}

static xmlDoc *
read_doc(const char *path)
{
	xmlDoc	*doc;

	doc = xmlReadFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR |
	    XML_PARSE_NOWARNING);
	if (doc == NULL)
		xml_error(path, "");
	return doc;
}

/* The <VM> of a VM XML or of a driver action's data, or NULL. */
static xmlNode *
vm_of(xmlNode *root)
{
	if (xml_is(root, "VM"))
		return root;
	if (xml_is(root, "VMM_DRIVER_ACTION_DATA"))
		return xml_child(root, "VM");
	return NULL;
}

int
pcipass_requests_from_xml(pcipass_request_list **out, const char *path,
    const char *vm_path, pcipass_client *c, int attaching)
{
	pcipass_request_list	*l = NULL;
	xmlDoc			*doc, *vdoc = NULL;
	xmlNode			*root, *vm = NULL;
	int			 rc;

	*out = NULL;
	if ((doc = read_doc(path)) == NULL)
		return PCIPASS_EINVAL;
	if (vm_path != NULL && ((vdoc = read_doc(vm_path)) == NULL ||
	    (vm = vm_of(xmlDocGetRootElement(vdoc))) == NULL)) {
		if (vdoc != NULL)
			err_set(PCIPASS_EINVAL, 0, "%s: expected <VM> or "
			    "<VMM_DRIVER_ACTION_DATA>", vm_path);
		xmlFreeDoc(vdoc);
		xmlFreeDoc(doc);
		return PCIPASS_EINVAL;
	}
	root = xmlDocGetRootElement(doc);
	if ((rc = pcipass_request_list_new(&l)) == 0) {
		if (xml_is(root, "domain") && !attaching)
			rc = from_domain(l, path, root, vm, c);
		else if (vm_of(root) != NULL)
			rc = from_vm(l, path, vm_of(root), attaching);
		else
			rc = err_set(PCIPASS_EINVAL, 0, "%s: expected <domain> "
			    "(a deployment file), <VM> or "
			    "<VMM_DRIVER_ACTION_DATA>, found <%.40s>", path,
			    root != NULL ? (const char *)root->name : "");
	}
	xmlFreeDoc(doc);
	xmlFreeDoc(vdoc);
	if (rc < 0) {
		pcipass_request_list_free(l);
		return rc;
	}
	*out = l;
	return 0;
}
