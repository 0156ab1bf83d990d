/*
 * Placement across hosts, as oned's scheduler would do it for PCI:
 * pci.test on every host in parallel, then pci.allocate on the fitting
 * hosts in policy order until one succeeds.
 *
 * Time: the pci.test round waits for every host up to half the deadline
 * (a host that has not answered by then is skipped), the allocations
 * share what is left. An allocate without an answer is followed by a
 * pci.release of the VM on that host (own budget of 1 s), so no device
 * stays held by a placement that gave up on it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "multi.h"

#define RELEASE_MS	1000

struct pcipass_placement {
	char			 host[300];
	pcipass_device_list	*devices;
};

struct host {
	struct job	 job;
	int		 fits;
	long		 score;		/* sum of FREE */
	char		*reason;	/* why not here */
};

const char *
pcipass_placement_host(const pcipass_placement *p)
{
	return p->host;
}

const pcipass_device_list *
pcipass_placement_devices(const pcipass_placement *p)
{
	return p->devices;
}

void
pcipass_placement_free(pcipass_placement *p)
{
	if (p == NULL)
		return;
	pcipass_device_list_free(p->devices);
	free(p);
}

static void
set_reason(struct host *h, const char *fmt, const char *s)
{
	char	*r = NULL;

	if (asprintf(&r, fmt, s) < 0)
		r = NULL;
	free(h->reason);
	h->reason = r;
}

static void
job_error_reason(struct host *h, const char *method, int budget)
{
	char	buf[160];

	if (h->job.rc == PCIPASS_ETIMEOUT) {
		snprintf(buf, sizeof(buf), "no answer to %s within %d ms",
		    method, budget);
		set_reason(h, "%s", buf);
	} else
		set_reason(h, "%s", h->job.error ? h->job.error : "error");
}

/* Read the pci.test answers: fits, score and reasons. */
static void
judge(struct host *h, size_t n, int budget)
{
	pcipass_test_result	*t;
	size_t			 i, k;

	for (i = 0; i < n; i++) {
		if (h[i].job.rc < 0) {
			job_error_reason(&h[i], "pci.test", budget);
			continue;
		}
		if (test_decode(&t, h[i].job.value) < 0) {
			set_reason(&h[i], "%s", pcipass_error_last()->message);
			continue;
		}
		h[i].fits = pcipass_test_result_fits(t);
		for (k = 0; k < pcipass_test_result_count(t); k++)
			h[i].score += pcipass_test_result_free_count(t, k);
		if (!h[i].fits)
			set_reason(&h[i], "%s", pcipass_test_result_reason(t));
		pcipass_test_result_free(t);
	}
}

/* Indexes of fitting hosts in the order to try them. */
static size_t
order(size_t *idx, const struct host *h, size_t n, int policy)
{
	size_t	m = 0, i, j, t;

	for (i = 0; i < n; i++)
		if (h[i].fits)
			idx[m++] = i;
	if (policy != PCIPASS_POLICY_MOST_FREE)
		return m;
	for (i = 1; i < m; i++)		/* stable: ties keep list order */
		for (j = i; j > 0 && h[idx[j]].score > h[idx[j - 1]].score;
		    j--) {
			t = idx[j];
			idx[j] = idx[j - 1];
			idx[j - 1] = t;
		}
	return m;
}

static void
release_quietly(struct host *h, const char *session, int vmid)
{
	xmlrpc_env	 env;
	xmlrpc_value	*p;

	job_reset(&h->job);
	xmlrpc_env_init(&env);
	p = params_new(&env, session, "(i)", vmid);
	if (!env.fault_occurred && job_body(&h->job, "pci.release", p) == 0)
		jobs_run(&(struct job *){ &h->job }, 1, now_ms() + RELEASE_MS);
	if (p != NULL)
		xmlrpc_DECREF(p);
	xmlrpc_env_clean(&env);
}

/* Try hosts in order; returns the host index that took the VM, or -1. */
static int
allocate(struct host *h, const size_t *idx, size_t m, const char *session,
    int vmid, xmlrpc_value *reqs, long deadline, int budget)
{
	xmlrpc_env	 env;
	xmlrpc_value	*p;
	size_t		 i;
	int		 rc;

	for (i = 0; i < m; i++) {
		struct host	*x = &h[idx[i]];

		if (now_ms() >= deadline) {
			set_reason(x, "%s", "deadline passed before pci.allocate");
			continue;
		}
		job_reset(&x->job);
		xmlrpc_env_init(&env);
		p = params_new(&env, session, "(iV)", vmid, reqs);
		rc = env.fault_occurred ? -1 :
		    job_body(&x->job, "pci.allocate", p);
		if (p != NULL)
			xmlrpc_DECREF(p);
		xmlrpc_env_clean(&env);
		if (rc < 0)
			return -1;
		jobs_run(&(struct job *){ &x->job }, 1, deadline);
		if (x->job.rc == 0)
			return (int)idx[i];
		job_error_reason(x, "pci.allocate", budget);
		if (x->job.rc == PCIPASS_ETIMEOUT) {
			release_quietly(x, session, vmid);
			set_reason(x, "%s", "no answer to pci.allocate in time; "
			    "sent pci.release");
		}
	}
	return -1;
}

static int
nowhere(const struct host *h, size_t n, int vmid)
{
	char	*buf = NULL;
	size_t	 len = 0, i;
	FILE	*fp;
	int	 rc;

	if ((fp = open_memstream(&buf, &len)) == NULL)
		return err_nomem();
	fprintf(fp, "Cannot dispatch VM %d: Unavailable PCI devices on hosts: ",
	    vmid);
	for (i = 0; i < n; i++)
		fprintf(fp, "%s%s", i ? "," : "", h[i].job.endpoint);
	for (i = 0; i < n; i++)
		fprintf(fp, "\n%s: %s", h[i].job.endpoint,
		    h[i].reason ? h[i].reason : "does not fit");
	fclose(fp);
	rc = err_set(PCIPASS_EALLOCATE, 0x4000, "%s", buf ? buf : "");
	free(buf);
	return rc;
}

static int
result(pcipass_placement **out, struct host *h)
{
	pcipass_placement	*p;
	xmlrpc_env		 env;
	int			 rc;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return err_nomem();
	snprintf(p->host, sizeof(p->host), "%s", h->job.endpoint);
	xmlrpc_env_init(&env);
	rc = devices_decode(&p->devices, &env, h->job.value, 0);
	xmlrpc_env_clean(&env);
	if (rc < 0) {
		free(p);
		return rc;
	}
	*out = p;
	return 0;
}

static int
place(pcipass_placement **out, struct host *h, size_t n, const char *session,
    int vmid, const pcipass_request_list *reqs, int policy, int deadline_ms)
{
	xmlrpc_env	 env;
	xmlrpc_value	*r, *p = NULL;
	struct job	*jobs[256];
	size_t		 idx[256], i, m;
	long		 start = now_ms();
	int		 rc = 0, won;

	xmlrpc_env_init(&env);
	r = requests_encode(&env, reqs, 0);
	if (!env.fault_occurred)
		p = params_new(&env, session, "(Vi)", r, vmid);
	for (i = 0; i < n && rc == 0 && !env.fault_occurred; i++)
		rc = job_body(&h[i].job, "pci.test", p);
	if (env.fault_occurred && rc == 0)
		rc = err_set(PCIPASS_ERROR, 0, "%s", env.fault_string);
	if (p != NULL)
		xmlrpc_DECREF(p);
	xmlrpc_env_clean(&env);
	for (i = 0; i < n; i++)
		jobs[i] = &h[i].job;
	if (rc == 0)
		rc = jobs_run(jobs, n, start + deadline_ms / 2);
	if (rc == 0) {
		judge(h, n, deadline_ms / 2);
		m = order(idx, h, n, policy);
		won = allocate(h, idx, m, session, vmid, r, start + deadline_ms,
		    deadline_ms);
		rc = won >= 0 ? result(out, &h[won]) : nowhere(h, n, vmid);
	}
	xmlrpc_DECREF(r);
	return rc;
}

int
pcipass_place(pcipass_placement **out, const char *const *hosts,
    size_t nhosts, const char *session, int vmid,
    const pcipass_request_list *reqs, int policy, int deadline_ms)
{
	struct host	*h;
	char		*own = NULL, name[256];
	size_t		 i;
	int		 rc, port;

	*out = NULL;
	lib_init();
	if (nhosts == 0 || nhosts > 256)
		return err_set(PCIPASS_EINVAL, 0, "give 1 to 256 hosts");
	if (vmid < 0)
		return err_set(PCIPASS_EINVAL, 0, "vmid %d: expected 0 to "
		    "2147483647", vmid);
	if ((rc = pcipass_request_list_check(reqs)) < 0)
		return rc;
	if (session == NULL && (rc = pcipass_session_load(&own)) < 0)
		return rc;
	if ((h = calloc(nhosts, sizeof(*h))) == NULL) {
		free(own);
		return err_nomem();
	}
	for (i = 0; i < nhosts && rc == 0; i++)
		if ((rc = endpoint_parse(hosts[i], name, sizeof(name),
		    &port)) == 0)
			job_init(&h[i].job, name, port);
	if (rc == 0)
		rc = place(out, h, nhosts, session ? session : own, vmid, reqs,
		    policy, deadline_ms > 0 ? deadline_ms : 5000);
	for (i = 0; i < nhosts; i++) {
		job_reset(&h[i].job);
		free(h[i].reason);
	}
	free(h);
	free(own);
	return rc;
}
