/*
 * The XML-RPC front's private header: only rpc.c, rpc_methods.c,
 * rpc_decode.c (and the RPC fuzzer) include it, so xmlrpc-c's types stay
 * out of the core (see the Makefile's CORE: pcipass-host links without
 * them).
 */
#ifndef PCIPASS_RPC_H
#define PCIPASS_RPC_H

#include <xmlrpc-c/base.h>
#include <xmlrpc-c/server.h>

#include "pcipassd.h"

/* rpc_methods.c */
int	 methods_register(xmlrpc_env *, xmlrpc_registry *);
struct answer *methods_cached(const char *, size_t, void *);
void	 methods_request_begin(void);

/* rpc_decode.c */
int	 decode_request(xmlrpc_env *, xmlrpc_value *, struct pp_request *,
	    char *, size_t);
int	 decode_requests(xmlrpc_env *, xmlrpc_value *, struct pp_request *,
	    size_t *, char *, size_t);
int	 decode_holdings(xmlrpc_env *, xmlrpc_value *, struct rc_holding **,
	    size_t *, size_t, char *, size_t);

#endif
