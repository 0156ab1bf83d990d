/*
 * The per-thread last error. No curl client here: pcipass-probe links
 * this file without it.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

static __thread pcipass_error	 last = { 0, 0, "no error" };
static __thread char		*last_msg;

static pthread_once_t		 key_once = PTHREAD_ONCE_INIT;
static pthread_key_t		 msg_key;

/* The key's destructor frees a thread's last message when it exits. */
static void
key_init(void)
{
	pthread_key_create(&msg_key, free);
}

static void
keep(char *msg)
{
	pthread_once(&key_once, key_init);
	pthread_setspecific(msg_key, msg);
}

const pcipass_error *
pcipass_error_last(void)
{
	return &last;
}

void
pcipass_error_clear(void)
{
	free(last_msg);
	last_msg = NULL;
	keep(NULL);
	last.code = 0;
	last.one_code = 0;
	last.message = "no error";
}

/* Record an error for this thread and return its code. */
int
err_set(int code, int one_code, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg = NULL;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	pcipass_error_clear();
	last.code = code;
	last.one_code = one_code;
	if (n < 0)
		last.message = "out of memory";
	else {
		last.message = last_msg = msg;
		keep(msg);
	}
	return code;
}

int
err_nomem(void)
{
	pcipass_error_clear();
	last.code = PCIPASS_ENOMEM;
	last.message = "out of memory";
	return PCIPASS_ENOMEM;
}

/*
 * A fault of xmlrpc-c's client: transport problems (-504, refused, HTTP
 * errors), timeouts, or a standard XML-RPC fault from the server.
 */
int
err_from_env(const xmlrpc_env *env, const char *method)
{
	const char	*s = env->fault_string ? env->fault_string : "";
	int		 code = PCIPASS_EFAULT;

	if (env->fault_code == XMLRPC_NETWORK_ERROR) {
		code = strstr(s, "imeout") || strstr(s, "timed out") ?
		    PCIPASS_ETIMEOUT : PCIPASS_ECONNECT;
	} else if (env->fault_code == XMLRPC_TIMEOUT_ERROR)
		code = PCIPASS_ETIMEOUT;
	return err_set(code, env->fault_code, "%s: %s", method, s);
}
