/*
 * The one encoder of XML-RPC answers. Every pcipass answer is written
 * here as text, whether it goes out alone, inside a system.multicall or
 * into the shared listing answers (answer.c): building xmlrpc-c values
 * for a listing cost ~60 MB and ~1 s of CPU at 4096 devices. Devices are
 * written from the same field list as OpenNebula's formats (format.c);
 * small composite values (pci.test's verdict, counts) are built as
 * xmlrpc-c values and serialized by xmlrpc-c. The shape is oned's:
 * [true, VALUE, 0] or [false, "[method] message", CODE], with xmlrpc-c's
 * own line breaks: a CRLF after each item of an array or member of a
 * struct, none after a value standing alone.
 */
#include <stdlib.h>
#include <string.h>

#include "rpc.h"

const char rv_head[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
    "<methodResponse>\r\n<params>\r\n<param>";
const char rv_tail[] = "</param>\r\n</params>\r\n</methodResponse>\r\n";

void
rv_text(FILE *fp, const char *s)
{
	rv_text_n(fp, s, strlen(s));
}

/* The n bytes at s as XML character data. */
void
rv_text_n(FILE *fp, const char *s, size_t n)
{
	for (; n > 0; s++, n--) {
		unsigned char	c = (unsigned char)*s;

		if (c == '&')
			fputs("&amp;", fp);
		else if (c == '<')
			fputs("&lt;", fp);
		else if (c == '>')
			fputs("&gt;", fp);
		else if (c == '\r')
			fputs("&#x0d;", fp);
		else if (c < 0x20 && c != '\t' && c != '\n')
			fputc('?', fp);		/* not allowed in XML 1.0 */
		else
			fputc(c, fp);
	}
}

void
rv_string(FILE *fp, const char *s)
{
	fputs("<value><string>", fp);
	rv_text(fp, s);
	fputs("</string></value>", fp);
}

static void
rv_fields(FILE *fp, const struct pp_field *f, size_t n)
{
	size_t	i;

	fputs("<value><struct>\r\n", fp);
	for (i = 0; i < n; i++) {
		fprintf(fp, "<member><name>%s</name>\r\n", f[i].name);
		if (f[i].kind == F_INT)
			fprintf(fp, "<value><i4>%d</i4></value>", f[i].ival);
		else {
			fputs("<value><string>", fp);
			rv_text(fp, f[i].text);
			fputs("</string></value>", fp);
		}
		fputs("</member>\r\n", fp);
	}
	fputs("</struct></value>", fp);
}

void
rv_device(FILE *fp, const struct pp_device *d)
{
	struct pp_fields fs;

	rv_fields(fp, fs.f, device_fields(d, &fs));
}

/*
 * An array of devices: those at idx[0..nidx), or with idx NULL the
 * listed ones (vmid < 0) or those vmid holds.
 */
void
rv_devices(FILE *fp, const struct pp_inventory *inv, const size_t *idx,
    size_t nidx, int vmid)
{
	size_t	i;

	fputs("<value><array><data>\r\n", fp);
	for (i = 0; i < (idx ? nidx : inv->ndev); i++) {
		const struct pp_device	*d = &inv->dev[idx ? idx[i] : i];

		if (idx == NULL && (vmid >= 0 ? d->vmid != vmid :
		    !device_listed(d)))
			continue;
		rv_device(fp, d);
		fputs("\r\n", fp);
	}
	fputs("</data></array></value>", fp);
}

/* pci.tree's array: every function present, with tree_fields(). */
void
rv_tree(FILE *fp, const struct pp_inventory *inv)
{
	struct pp_fields fs;
	size_t		 i;

	fputs("<value><array><data>\r\n", fp);
	for (i = 0; i < inv->ndev; i++) {
		if (!inv->dev[i].present)
			continue;
		rv_fields(fp, fs.f, tree_fields(&inv->dev[i], &fs));
		fputs("\r\n", fp);
	}
	fputs("</data></array></value>", fp);
}

/* A value built with xmlrpc-c, serialized by it; the reference is taken. */
int
rv_value(FILE *fp, xmlrpc_env *env, xmlrpc_value *v)
{
	xmlrpc_mem_block	*mb;

	if (v == NULL)
		return -1;
	mb = XMLRPC_MEMBLOCK_NEW(char, env, 0);
	if (!env->fault_occurred)
		xmlrpc_serialize_value(env, mb, v);
	if (!env->fault_occurred)
		fwrite(XMLRPC_MEMBLOCK_CONTENTS(char, mb), 1,
		    XMLRPC_MEMBLOCK_SIZE(char, mb), fp);
	if (mb != NULL)
		XMLRPC_MEMBLOCK_FREE(char, mb);
	xmlrpc_DECREF(v);
	return env->fault_occurred ? -1 : 0;
}

/* [true, VALUE, 0]: rv_ok_begin, the value, rv_ok_end. */
void
rv_ok_begin(FILE *fp)
{
	fputs("<value><array><data>\r\n<value><boolean>1</boolean></value>"
	    "\r\n", fp);
}

void
rv_ok_end(FILE *fp)
{
	fputs("\r\n<value><i4>0</i4></value>\r\n</data></array></value>", fp);
}

/* [false, "[method] message", code] */
void
rv_fail(FILE *fp, const char *method, const char *msg, int code)
{
	fputs("<value><array><data>\r\n<value><boolean>0</boolean></value>"
	    "\r\n<value><string>[", fp);
	rv_text(fp, method);
	fputs("] ", fp);
	rv_text(fp, msg);
	fprintf(fp, "</string></value>\r\n<value><i4>%d</i4></value>\r\n"
	    "</data></array></value>", code);
}

/* A fault as system.multicall carries it: {faultCode, faultString}. */
void
rv_fault(FILE *fp, int code, const char *msg)
{
	fprintf(fp, "<value><struct>\r\n<member><name>faultCode</name>\r\n"
	    "<value><i4>%d</i4></value></member>\r\n<member><name>"
	    "faultString</name>\r\n<value><string>", code);
	rv_text(fp, msg);
	fputs("</string></value></member>\r\n</struct></value>", fp);
}

/* A whole fault response, as xmlrpc-c writes one. */
void
rv_fault_response(FILE *fp, int code, const char *msg)
{
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
	    "<methodResponse>\r\n<fault>\r\n", fp);
	rv_fault(fp, code, msg);
	fputs("\r\n</fault>\r\n</methodResponse>\r\n", fp);
}
