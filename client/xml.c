/*
 * The little libxml2 the client needs to read what OpenNebula writes
 * (view.c: oned's host pool; fromxml.c: a deployment file, a VM XML):
 * elements by name, their text and attributes, and a parse error as
 * "NAME:LINE: message".
 */
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "client.h"

int
xml_is(const xmlNode *n, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE &&
	    strcmp((const char *)n->name, name) == 0;
}

/* The first child element of n called name, or NULL. */
xmlNode *
xml_child(xmlNode *n, const char *name)
{
	for (n = n != NULL ? n->children : NULL; n != NULL; n = n->next)
		if (xml_is(n, name))
			return n;
	return NULL;
}

/* The text of element name under n, blanks trimmed; malloc'd, or NULL. */
char *
xml_text(xmlNode *n, const char *name)
{
	xmlChar	*t;
	char	*s, *b, *e;

	if ((n = xml_child(n, name)) == NULL ||
	    (t = xmlNodeGetContent(n)) == NULL)
		return NULL;
	for (b = (char *)t; *b == ' ' || *b == '\t' || *b == '\n'; b++)
		;
	e = b + strlen(b);
	while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n'))
		e--;
	s = strndup(b, (size_t)(e - b));
	xmlFree(t);
	return s;
}

/* Attribute name of n; malloc'd, or NULL. */
char *
xml_attr(xmlNode *n, const char *name)
{
	xmlChar	*t = n != NULL ? xmlGetProp(n, (const xmlChar *)name) : NULL;
	char	*s;

	if (t == NULL)
		return NULL;
	s = strdup((const char *)t);
	xmlFree(t);
	return s;
}

/* libxml2's last error as PCIPASS_EINVAL "NAME:LINE: WHATmessage". */
int
xml_error(const char *name, const char *what)
{
	const xmlError	*e = xmlGetLastError();
	const char	*m = e != NULL && e->message != NULL ? e->message :
			    "cannot read it\n";

	return err_set(PCIPASS_EINVAL, 0, "%s:%d: %s%.*s", name, e != NULL ?
	    e->line : 0, what, (int)strcspn(m, "\n"), m);
}
