/*
 * libFuzzer harness: the XML-RPC front's body checks (rpc.c, included so
 * that its static functions are reachable) and, for bodies they accept,
 * xmlrpc-c's parse of the call and decode_requests()/decode_request()
 * and pci.reconcile's decode_holdings() on every parameter. A body the checks let through must parse in bounded
 * memory and time (libFuzzer's -rss_limit_mb and -timeout catch the
 * rest).
 */
#include "../server/rpc.c"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(1, -1);
	log_to(fopen("/dev/null", "w"));
	xmlrpc_limit_set(XMLRPC_XML_SIZE_LIMIT_ID, MAX_BODY);
	return 0;
}

static void
decode_all(xmlrpc_value *params)
{
	xmlrpc_env		 env;
	xmlrpc_value		*p;
	struct pp_request	 req[PP_MAXREQ];
	struct rc_holding	*h;
	size_t			 nreq, nh, k;
	char			 err[512];
	int			 i, n;

	xmlrpc_env_init(&env);
	n = xmlrpc_array_size(&env, params);
	for (i = 0; i < n; i++) {
		xmlrpc_array_read_item(&env, params, (unsigned)i, &p);
		if (env.fault_occurred)
			break;
		if (decode_requests(&env, p, req, &nreq, err,
		    sizeof(err)) == 0) {
			if (nreq < 1 || nreq > PP_MAXREQ)
				__builtin_trap();
			for (k = 0; k < nreq; k++)
				if (req[k].has_addr && (req[k].vendor >= 0 ||
				    req[k].device >= 0 || req[k].class >= 0))
					__builtin_trap();
		} else if (memchr(err, '\0', sizeof(err)) == NULL)
			__builtin_trap();
		xmlrpc_env_clean(&env);
		xmlrpc_env_init(&env);
		decode_request(&env, p, &req[0], err, sizeof(err));
		xmlrpc_env_clean(&env);
		xmlrpc_env_init(&env);
		/* A success is at most 64 addresses, ascending, none twice. */
		if (decode_holdings(&env, p, &h, &nh, 64, err,
		    sizeof(err)) == 0) {
			for (k = 1; k < nh; k++)
				if (h[k - 1].addr >= h[k].addr)
					__builtin_trap();
			if (nh > 64 || (nh > 0 && h[0].vmid < 0))
				__builtin_trap();
			free(h);
		} else if (h != NULL || memchr(err, '\0', sizeof(err)) == NULL)
			__builtin_trap();
		xmlrpc_env_clean(&env);
		xmlrpc_env_init(&env);
		xmlrpc_DECREF(p);
	}
	xmlrpc_env_clean(&env);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	xmlrpc_env	 env;
	xmlrpc_value	*params = NULL;
	const char	*method = NULL, *body = (const char *)data;

	if (size == 0 || size > MAX_BODY || body_refusal(body, size) != NULL)
		return 0;
	xmlrpc_env_init(&env);
	xmlrpc_parse_call(&env, body, size, &method, &params);
	if (!env.fault_occurred) {
		if (params != NULL) {
			decode_all(params);
			xmlrpc_DECREF(params);
		}
		free((char *)method);
	}
	xmlrpc_env_clean(&env);
	return 0;
}
