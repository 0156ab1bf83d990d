/*
 * multi.c: hand-driven parallel XML-RPC calls with a deadline.
 */
#ifndef PCIPASS_MULTI_H
#define PCIPASS_MULTI_H

#include <curl/curl.h>

struct job {
	char			 endpoint[300];
	char			 url[320];
	char			 method[32];
	char			*body;
	size_t			 bodylen;
	char			*resp;
	size_t			 resplen;
	CURL			*easy;
	struct curl_slist	*hdr;
	int			 done;
	int			 rc;		/* 0 or PCIPASS_E* */
	char			*error;		/* when rc < 0 */
	xmlrpc_value		*value;		/* when rc == 0 */
};

long	 now_ms(void);
void	 job_init(struct job *, const char *host, int port);
int	 job_body(struct job *, const char *method, xmlrpc_value *params);
int	 jobs_run(struct job **, size_t, long deadline);
void	 job_reset(struct job *);

#endif
