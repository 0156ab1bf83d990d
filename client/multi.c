/*
 * XML-RPC calls driven by hand over libcurl's multi interface: bodies
 * from xmlrpc-c's serializer, answers through xmlrpc_parse_response2.
 * This gives placement real parallelism and a deadline checked about
 * every 100 ms, where xmlrpc-c's own client wakes only every 3 s.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "client.h"
#include "multi.h"

long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

void
job_init(struct job *j, const char *host, int port)
{
	memset(j, 0, sizeof(*j));
	snprintf(j->endpoint, sizeof(j->endpoint), "%s:%d", host, port);
	snprintf(j->url, sizeof(j->url), "http://%s:%d/RPC2", host, port);
}

/* Serialise method(params) as this job's request body. */
int
job_body(struct job *j, const char *method, xmlrpc_value *params)
{
	xmlrpc_env		 env;
	xmlrpc_mem_block	*mb;
	int			 rc = 0;

	free(j->body);
	j->body = NULL;
	snprintf(j->method, sizeof(j->method), "%s", method);
	xmlrpc_env_init(&env);
	mb = XMLRPC_MEMBLOCK_NEW(char, &env, 0);
	if (!env.fault_occurred)
		xmlrpc_serialize_call(&env, mb, method, params);
	if (!env.fault_occurred) {
		j->bodylen = XMLRPC_MEMBLOCK_SIZE(char, mb);
		if ((j->body = malloc(j->bodylen + 1)) == NULL)
			rc = err_nomem();
		else
			memcpy(j->body, XMLRPC_MEMBLOCK_CONTENTS(char, mb),
			    j->bodylen);
	} else
		rc = err_set(PCIPASS_EINVAL, 0, "%s: %s", method,
		    env.fault_string);
	if (mb != NULL)
		XMLRPC_MEMBLOCK_FREE(char, mb);
	xmlrpc_env_clean(&env);
	return rc;
}

static size_t
collect(char *data, size_t size, size_t n, void *arg)
{
	struct job	*j = arg;
	char		*p;

	if (j->resplen + size * n > PCIPASS_XML_LIMIT)
		return 0;
	if ((p = realloc(j->resp, j->resplen + size * n + 1)) == NULL)
		return 0;
	memcpy(p + j->resplen, data, size * n);
	j->resp = p;
	j->resplen += size * n;
	p[j->resplen] = '\0';
	return size * n;
}

static CURL *
easy_new(struct job *j, long ms)
{
	CURL	*e = curl_easy_init();

	if (e == NULL)
		return NULL;
	j->hdr = curl_slist_append(NULL, "Content-Type: text/xml");
	curl_easy_setopt(e, CURLOPT_URL, j->url);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)j->bodylen);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->hdr);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, ms);
	curl_easy_setopt(e, CURLOPT_PRIVATE, j);
	return e;
}

/* Turn a finished transfer into j->rc, j->value or the last error. */
static void
job_finish(struct job *j, CURLcode cc)
{
	xmlrpc_env	 env;
	xmlrpc_value	*resp = NULL;
	const char	*fstr = NULL;
	int		 fcode = 0;
	long		 http = 0;

	j->done = 1;
	if (cc == CURLE_OPERATION_TIMEDOUT) {
		j->rc = err_set(PCIPASS_ETIMEOUT, 0, "no answer");
		return;
	}
	if (cc != CURLE_OK) {
		j->rc = err_set(PCIPASS_ECONNECT, 0, "%s",
		    cc == CURLE_COULDNT_CONNECT ? "connection refused" :
		    curl_easy_strerror(cc));
		return;
	}
	curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &http);
	if (http != 200) {
		j->rc = err_set(PCIPASS_ECONNECT, 0, "HTTP response code %ld",
		    http);
		return;
	}
	xmlrpc_env_init(&env);
	xmlrpc_parse_response2(&env, j->resp ? j->resp : "", j->resplen,
	    &resp, &fcode, &fstr);
	if (env.fault_occurred)
		j->rc = err_set(PCIPASS_EFAULT, 0, "%s: unparseable answer: %s",
		    j->method, env.fault_string);
	else if (fstr != NULL)
		j->rc = err_set(PCIPASS_EFAULT, fcode, "%s: fault %d: %s",
		    j->method, fcode, fstr);
	else
		j->rc = answer_decode(&j->value, resp, j->method);
	free((char *)fstr);
	if (resp != NULL)
		xmlrpc_DECREF(resp);
	xmlrpc_env_clean(&env);
}

static void
save_error(struct job *j)
{
	free(j->error);
	j->error = strdup(pcipass_error_last()->message);
}

/*
 * Run every job with a body in parallel until each has finished or
 * `deadline` (now_ms() clock) passes. Jobs then have rc (0 with a
 * value, or an error with error text); unfinished ones get ETIMEOUT.
 */
int
jobs_run(struct job **jobs, size_t n, long deadline)
{
	CURLM		*m = curl_multi_init();
	CURLMsg		*msg;
	struct job	*j;
	size_t		 i, left = 0;
	long		 rest;
	int		 running, q;

	if (m == NULL)
		return err_nomem();
	for (i = 0; i < n; i++) {
		if (jobs[i]->body == NULL)
			continue;
		rest = deadline - now_ms();
		jobs[i]->easy = easy_new(jobs[i], rest > 1 ? rest : 1);
		if (jobs[i]->easy == NULL ||
		    curl_multi_add_handle(m, jobs[i]->easy) != CURLM_OK) {
			jobs[i]->rc = err_nomem();
			save_error(jobs[i]);
			jobs[i]->done = 1;
		} else
			left++;
	}
	while (left > 0 && (rest = deadline - now_ms()) > 0) {
		curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &q)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
			    (char **)&j);
			job_finish(j, msg->data.result);
			if (j->rc < 0)
				save_error(j);
			left--;
		}
		if (left > 0)
			curl_multi_poll(m, NULL, 0, rest < 100 ? (int)rest :
			    100, NULL);
	}
	for (i = 0; i < n; i++) {
		j = jobs[i];
		if (j->easy == NULL)
			continue;
		if (!j->done) {
			j->done = 1;
			j->rc = err_set(PCIPASS_ETIMEOUT, 0, "no answer");
			save_error(j);
		}
		curl_multi_remove_handle(m, j->easy);
		curl_easy_cleanup(j->easy);
		curl_slist_free_all(j->hdr);
		j->easy = NULL;
		j->hdr = NULL;
	}
	curl_multi_cleanup(m);
	return 0;
}

/* Forget the last run's answer and transfer state; keep the endpoint. */
void
job_reset(struct job *j)
{
	if (j->value != NULL)
		xmlrpc_DECREF(j->value);
	free(j->body);
	free(j->resp);
	free(j->error);
	j->value = NULL;
	j->body = j->resp = j->error = NULL;
	j->bodylen = j->resplen = 0;
	j->done = 0;
	j->rc = 0;
}
