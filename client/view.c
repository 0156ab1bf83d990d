/*
 * oned's view of PCI holdings, from the XML of `onehost list -x` (a
 * HOST_POOL of HOSTs) or `onehost show -x` (one HOST), read with libxml2.
 * Per host: its NAME, and each HOST_SHARE/PCI_DEVICES/PCI whose VMID is
 * not -1 (oned writes ADDRESS and VMID as CDATA text). Nothing else of
 * the host is read. Every error names the input and the host.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "client.h"

#define VIEW_MAX_BYTES	(256u * 1024 * 1024)

static int
add_holding(struct view_host *h, int vmid, const char *addr)
{
	struct view_pci	*p;

	if (h->n == h->cap) {
		size_t	cap = h->cap ? h->cap * 2 : 8;

		if ((p = reallocarray(h->pci, cap, sizeof(*p))) == NULL)
			return err_nomem();
		h->pci = p;
		h->cap = cap;
	}
	p = &h->pci[h->n];
	if ((p->address = strdup(addr)) == NULL)
		return err_nomem();
	p->vmid = vmid;
	h->n++;
	return 0;
}

static int
read_host(pcipass_view *v, const char *name, xmlNode *host)
{
	struct view_host	*h;
	xmlNode			*pci;
	char			*vmid, *addr, *end;
	long			 id;
	int			 rc = 0;

	if (v->nhost == v->cap) {
		if ((h = reallocarray(v->host, v->cap ? v->cap * 2 : 8,
		    sizeof(*h))) == NULL)
			return err_nomem();
		v->host = h;
		v->cap = v->cap ? v->cap * 2 : 8;
	}
	h = &v->host[v->nhost];
	memset(h, 0, sizeof(*h));
	if ((h->name = xml_text(host, "NAME")) == NULL || h->name[0] == '\0') {
		free(h->name);
		return err_set(PCIPASS_EINVAL, 0, "%s: HOST %zu has no NAME",
		    name, v->nhost);
	}
	v->nhost++;
	pci = xml_child(xml_child(host, "HOST_SHARE"), "PCI_DEVICES");
	for (pci = pci != NULL ? pci->children : NULL; pci != NULL && rc == 0;
	    pci = pci->next) {
		if (!xml_is(pci, "PCI"))
			continue;
		vmid = xml_text(pci, "VMID");
		addr = xml_text(pci, "ADDRESS");
		errno = 0;
		id = vmid != NULL ? strtol(vmid, &end, 10) : 0;
		if (vmid == NULL || addr == NULL || addr[0] == '\0')
			rc = err_set(PCIPASS_EINVAL, 0, "%s: host %s: a PCI "
			    "device without ADDRESS or VMID", name, h->name);
		else if (errno != 0 || end == vmid || *end != '\0' ||
		    id < -1 || id > INT_MAX)
			rc = err_set(PCIPASS_EINVAL, 0, "%s: host %s: PCI %s: "
			    "VMID \"%.20s\" is not -1 or a VM id", name,
			    h->name, addr, vmid);
		else if (id >= 0)
			rc = add_holding(h, (int)id, addr);
		free(vmid);
		free(addr);
	}
	return rc;
}

int
pcipass_view_parse(pcipass_view **out, const char *name, const char *xml,
    size_t len)
{
	pcipass_view	*v;
	xmlDoc		*doc;
	xmlNode		*root, *n;
	int		 rc = 0;

	*out = NULL;
	if (len > VIEW_MAX_BYTES)
		return err_set(PCIPASS_EINVAL, 0, "%s: more than %u bytes",
		    name, VIEW_MAX_BYTES);
	/* No network, no entities, no DTD: the input is data. */
	doc = xmlReadMemory(xml, (int)len, name, NULL, XML_PARSE_NONET |
	    XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
	if (doc == NULL)
		return xml_error(name, "not XML: ");
	if ((v = calloc(1, sizeof(*v))) == NULL) {
		xmlFreeDoc(doc);
		return err_nomem();
	}
	root = xmlDocGetRootElement(doc);
	if (xml_is(root, "HOST"))
		rc = read_host(v, name, root);
	else if (xml_is(root, "HOST_POOL")) {
		for (n = root->children; n != NULL && rc == 0; n = n->next)
			if (xml_is(n, "HOST"))
				rc = read_host(v, name, n);
	} else
		rc = err_set(PCIPASS_EINVAL, 0, "%s: expected <HOST_POOL> "
		    "(onehost list -x) or <HOST> (onehost show -x), found "
		    "<%.40s>", name, root != NULL ? (const char *)root->name :
		    "");
	xmlFreeDoc(doc);
	if (rc < 0) {
		pcipass_view_free(v);
		return rc;
	}
	*out = v;
	return 0;
}

int
pcipass_view_read(pcipass_view **out, const char *path)
{
	FILE	*fp;
	char	*buf = NULL, chunk[65536];
	size_t	 len = 0, n;
	int	 rc;
	FILE	*mem;

	*out = NULL;
	if (strcmp(path, "-") == 0)
		fp = stdin;
	else if ((fp = fopen(path, "r")) == NULL)
		return err_set(PCIPASS_EINVAL, 0, "%s: %s", path,
		    strerror(errno));
	if ((mem = open_memstream(&buf, &len)) == NULL) {
		if (fp != stdin)
			fclose(fp);
		return err_nomem();
	}
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0 &&
	    len <= VIEW_MAX_BYTES)
		fwrite(chunk, 1, n, mem);
	rc = ferror(fp) ? err_set(PCIPASS_EINVAL, 0, "%s: read error", path) :
	    0;
	if (fp != stdin)
		fclose(fp);
	fclose(mem);
	if (rc == 0)
		rc = pcipass_view_parse(out, strcmp(path, "-") == 0 ?
		    "standard input" : path, buf, len);
	free(buf);
	return rc;
}

size_t
pcipass_view_host_count(const pcipass_view *v)
{
	return v->nhost;
}

const char *
pcipass_view_host(const pcipass_view *v, size_t i)
{
	return i < v->nhost ? v->host[i].name : NULL;
}

void
pcipass_view_free(pcipass_view *v)
{
	size_t	i, k;

	if (v == NULL)
		return;
	for (i = 0; i < v->nhost; i++) {
		for (k = 0; k < v->host[i].n; k++)
			free(v->host[i].pci[k].address);
		free(v->host[i].pci);
		free(v->host[i].name);
	}
	free(v->host);
	free(v);
}
