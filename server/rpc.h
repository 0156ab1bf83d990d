/*
 * The XML-RPC front's private header: only rpc.c, rpc_methods.c,
 * rpc_decode.c, rpc_value.c, answer.c (and the RPC fuzzer) include it, so xmlrpc-c's types stay
 * out of the core (see the Makefile's CORE: pcipass-host links without
 * them).
 */
#ifndef PCIPASS_RPC_H
#define PCIPASS_RPC_H

#include <xmlrpc-c/base.h>
#include <xmlrpc-c/server.h>

#include "pcipassd.h"

/* answer.c: the listings, written once per store generation */
#define ANSWER_LIST	0
#define ANSWER_INFO	1
#define ANSWER_PROBE	2
#define ANSWER_N	3
struct answer;
struct answers *answers_new(void);
void	 answers_free(struct answers *);
struct answer *answer_current(struct answers *, int);
struct answer *answer_get(struct answers *, struct snapshots *, sqlite3 *,
	    int, int);
size_t	 answer_len(const struct answer *);
int	 answer_write(const struct answer *, int (*)(void *, const char *,
	    size_t), void *);
void	 answer_put(struct answer *);

/* rpc_methods.c */
struct rpc_reply {
	int		 status;	/* HTTP: 200, or 500/503 */
	char		*buf;		/* the whole response */
	size_t		 len;
	struct answer	*shared;	/* or rv_head, this, rv_tail */
};
int	 methods_init(void);
void	 methods_free(void);
void	 methods_answer(struct pcipassd *, const char *, size_t, void *,
	    struct rpc_reply *);
void	 methods_reply_free(struct rpc_reply *);

/* rpc_value.c: the one encoder of answers */
extern const char rv_head[], rv_tail[];
void	 rv_text(FILE *, const char *);
void	 rv_text_n(FILE *, const char *, size_t);
void	 rv_string(FILE *, const char *);
void	 rv_device(FILE *, const struct pp_device *);
void	 rv_tree(FILE *, const struct pp_inventory *);
void	 rv_devices(FILE *, const struct pp_inventory *, const size_t *,
	    size_t, int);
int	 rv_value(FILE *, xmlrpc_env *, xmlrpc_value *);
void	 rv_ok_begin(FILE *);
void	 rv_ok_end(FILE *);
void	 rv_fail(FILE *, const char *, const char *, int);
void	 rv_fault(FILE *, int, const char *);
void	 rv_fault_response(FILE *, int, const char *);

/* rpc_decode.c */
int	 decode_request(xmlrpc_env *, xmlrpc_value *, struct pp_request *,
	    char *, size_t);
int	 decode_requests(xmlrpc_env *, xmlrpc_value *, struct pp_request *,
	    size_t *, char *, size_t);
int	 decode_holdings(xmlrpc_env *, xmlrpc_value *, struct rc_holding **,
	    size_t *, size_t, char *, size_t);

#endif
