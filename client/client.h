/*
 * libpcipass's private header: one prototype section per file.
 */
#ifndef PCIPASS_CLIENT_H
#define PCIPASS_CLIENT_H

#include <xmlrpc-c/base.h>

#include "pcipass.h"

#define PP_MAXREQ	32

struct pcipass_device {
	size_t	  n;
	char	**name;
	char	**value;
};

struct pcipass_device_list {
	size_t			 n;
	struct pcipass_device	*dev;
};

/* xml.c (libxml2's types stay out of the other files' prototypes) */
struct _xmlNode;
int	 xml_is(const struct _xmlNode *, const char *);
struct _xmlNode *xml_child(struct _xmlNode *, const char *);
char	*xml_text(struct _xmlNode *, const char *);
char	*xml_attr(struct _xmlNode *, const char *);
int	 xml_error(const char *, const char *);

/* view.c: oned's view of one host's holdings */
struct view_pci {
	int		 vmid;
	char		*address;
};
struct view_host {
	char		*name;
	struct view_pci	*pci;
	size_t		 n, cap;
};
struct pcipass_view {
	struct view_host	*host;
	size_t			 nhost, cap;
};

/* error.c */
int	 err_set(int code, int one_code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
int	 err_nomem(void);
int	 err_from_env(const xmlrpc_env *, const char *method);
void	 lib_init(void);

/* device.c */
int	 devices_decode(pcipass_device_list **, xmlrpc_env *, xmlrpc_value *,
	    int single);

/* request.c */
xmlrpc_value *requests_encode(xmlrpc_env *, const pcipass_request_list *,
	    int single);

/* render.c: a value as Sunstone reads it ("-" when unknown) */
const char *one_value(const char *name, const char *value);

/* fit.c */
int	 test_decode(pcipass_test_result **, xmlrpc_value *);

/* answer.c */
int	 endpoint_parse(const char *, char *host, size_t, int *port);
int	 answer_decode(xmlrpc_value **out, xmlrpc_value *resp,
	    const char *method);
xmlrpc_value *params_new(xmlrpc_env *, const char *session,
	    const char *fmt, ...);

#endif
