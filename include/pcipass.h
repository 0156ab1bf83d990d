/*
 * libpcipass: the client library of pcipass, a PCI passthrough service.
 *
 * Every pci.* XML-RPC method of pcipassd as one typed call, renderers
 * (OpenNebula's onehost table, Sunstone JSON, libvirt hostdev XML), an
 * OpenNebula VM template reader and placement across several hosts.
 *
 * Conventions (as libgit2): types are opaque; a function that can fail
 * returns 0 or a negative PCIPASS_E* code, with its out parameters first;
 * on failure pcipass_error_last() describes what went wrong, per thread;
 * every function says who owns what it returns; every _free(NULL) is a
 * no-op. A pcipass_client is used by one thread at a time.
 *
 * Initialisation: the first pcipass_client_new() or pcipass_place() sets
 * up xmlrpc-c's client globals and raises xmlrpc-c's process-wide XML
 * size limit (XMLRPC_XML_SIZE_LIMIT_ID) from 512 KiB to
 * PCIPASS_XML_LIMIT, so that pci.list of a host with thousands of
 * devices (about 1.75 KB each) is accepted. This affects every user of
 * xmlrpc-c in the process, servers included.
 */
#ifndef PCIPASS_H
#define PCIPASS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PCIPASS_DEFAULT_PORT	2634
#define PCIPASS_XML_LIMIT	(64u * 1024 * 1024)

/* Errors: the daemon's OpenNebula codes, negated, and local ones. */
enum {
	PCIPASS_OK		= 0,
	PCIPASS_ERROR		= -1,		/* anything else */
	PCIPASS_EINVAL		= -2,		/* bad argument, nothing sent */
	PCIPASS_ENOMEM		= -3,
	PCIPASS_ECONNECT	= -4,		/* refused, unreachable, HTTP */
	PCIPASS_ETIMEOUT	= -5,
	PCIPASS_EFAULT		= -6,		/* XML-RPC fault, bad answer */
	PCIPASS_EAUTHENTICATION	= -0x0100,
	PCIPASS_EAUTHORIZATION	= -0x0200,
	PCIPASS_ENO_EXISTS	= -0x0400,
	PCIPASS_EACTION		= -0x0800,
	PCIPASS_ERPC_API	= -0x1000,
	PCIPASS_EINTERNAL	= -0x2000,
	PCIPASS_EALLOCATE	= -0x4000
};

typedef struct pcipass_error {
	int		 code;		/* a PCIPASS_E* value */
	int		 one_code;	/* OpenNebula code, fault code or 0 */
	const char	*message;	/* the server's message when it sent one */
} pcipass_error;

/* The last error of this thread; owned by the library, valid until the
 * next failing call in this thread. Never NULL. */
const pcipass_error *pcipass_error_last(void);
/* Forget this thread's last error (frees its message). */
void	 pcipass_error_clear(void);

typedef struct pcipass_client		pcipass_client;
typedef struct pcipass_device		pcipass_device;
typedef struct pcipass_device_list	pcipass_device_list;
typedef struct pcipass_request_list	pcipass_request_list;
typedef struct pcipass_test_result	pcipass_test_result;
typedef struct pcipass_placement	pcipass_placement;

/*
 * Sessions: "user:secret" from the file named by $PCIPASS_AUTH, else
 * ~/.pcipass/auth (first line, trailing blanks stripped). A file that
 * group or others may read is refused (PCIPASS_EINVAL), as the daemon
 * refuses such an auth file.
 * *out: free with free().
 */
int	 pcipass_session_load(char **out);

/*
 * A connection to one daemon. endpoint: "HOST[:PORT]", port 2634 by
 * default. session: "user:secret", or NULL to use pcipass_session_load().
 * *out: free with pcipass_client_free().
 */
int	 pcipass_client_new(pcipass_client **out, const char *endpoint,
	    const char *session);
/* Per-call timeout in milliseconds (default 30000). xmlrpc-c rounds it
 * up to whole seconds and checks it in 3 s steps. */
void	 pcipass_client_set_timeout(pcipass_client *, int ms);
/* The "host:port" the client talks to; owned by the client. */
const char *pcipass_client_endpoint(const pcipass_client *);
void	 pcipass_client_free(pcipass_client *);

/* Requests, as OpenNebula's PCI = [ ... ]; see API.md "Requests". */
/* *out: free with pcipass_request_list_free(). */
int	 pcipass_request_list_new(pcipass_request_list **out);
/* Start a new, empty request at the end of the list. */
int	 pcipass_request_add(pcipass_request_list *);
/* Set a field of the last request; checked as the daemon would. */
int	 pcipass_request_set(pcipass_request_list *, const char *key,
	    const char *value);
/* Add one request from "KEY=VALUE[,KEY=VALUE...]". */
int	 pcipass_request_parse(pcipass_request_list *, const char *spec);
/* Check the combinations of every request (address vs ids, NIC). */
int	 pcipass_request_list_check(const pcipass_request_list *);
size_t	 pcipass_request_list_count(const pcipass_request_list *);
void	 pcipass_request_list_free(pcipass_request_list *);
/*
 * Read the PCI = [ ... ] vectors of an OpenNebula VM template file; other
 * attributes and # comments are ignored. Errors read "FILE:LINE: message"
 * (code PCIPASS_EINVAL). *out: free with pcipass_request_list_free().
 */
int	 pcipass_template_read(pcipass_request_list **out, const char *path);
/* The same from text in memory; name is used in messages. */
int	 pcipass_template_parse(pcipass_request_list **out, const char *name,
	    const char *text);

/*
 * What OpenNebula chose for a VM, as ADDRESS requests in document order
 * (libxml2): from a libvirt deployment file (<domain>: each PCI
 * <hostdev> by source address, each mdev one by the UUID of its vGPU
 * VF, found with pci.list through c), or from the VM XML (<VM>, or the
 * <VMM_DRIVER_ACTION_DATA> a driver action reads: each TEMPLATE/PCI by
 * ADDRESS, with its PROFILE; with attaching, only the one with ATTACH =
 * "YES"). vm_path (or NULL): a VM XML whose PCI lend their PROFILE to
 * the same ADDRESS. c may be NULL when no mdev is expected (an mdev is
 * then an error). The list may be empty. Errors name the file
 * (PCIPASS_EINVAL). *out: free with pcipass_request_list_free().
 */
int	 pcipass_requests_from_xml(pcipass_request_list **out,
	    const char *path, const char *vm_path, pcipass_client *c,
	    int attaching);

/* Devices: every field of the daemon's device struct, as text. */
size_t	 pcipass_device_list_count(const pcipass_device_list *);
/* Owned by the list. */
const pcipass_device *pcipass_device_list_get(const pcipass_device_list *,
	    size_t);
void	 pcipass_device_list_free(pcipass_device_list *);
/* A field's value (ints as decimal text), or NULL; owned by the device. */
const char *pcipass_device_get(const pcipass_device *, const char *name);
/* A field as an int, or dflt when absent or not a number. */
int	 pcipass_device_get_int(const pcipass_device *, const char *name,
	    int dflt);
size_t	 pcipass_device_field_count(const pcipass_device *);
/* Field i in the daemon's order; both strings owned by the device. */
void	 pcipass_device_field(const pcipass_device *, size_t i,
	    const char **name, const char **value);

/* The methods. Lists: free with pcipass_device_list_free(). Strings:
 * free with free(). */
int	 pcipass_list(pcipass_device_list **out, pcipass_client *);
int	 pcipass_info(char **out, pcipass_client *);
int	 pcipass_probe(char **out, pcipass_client *);
int	 pcipass_version(char **out, pcipass_client *);
/* pci.tree: every function the daemon's last scan saw, offered or not,
 * with OFFERED, SECONDARY and SUBORDINATE (a bridge's buses, else -1). */
int	 pcipass_tree(pcipass_device_list **out, pcipass_client *);
int	 pcipass_vm(pcipass_device_list **out, pcipass_client *, int vmid);
/* vmid -1: test without a VM. *out: free with pcipass_test_result_free(). */
int	 pcipass_test(pcipass_test_result **out, pcipass_client *,
	    const pcipass_request_list *, int vmid);
int	 pcipass_allocate(pcipass_device_list **out, pcipass_client *,
	    int vmid, const pcipass_request_list *);
int	 pcipass_release(int *out_count, pcipass_client *, int vmid);
/* reqs must hold exactly one request; *out gets the one device. */
int	 pcipass_attach(pcipass_device_list **out, pcipass_client *, int vmid,
	    const pcipass_request_list *reqs);
int	 pcipass_detach(pcipass_client *, int vmid, const char *address);
int	 pcipass_monitor(int *added, int *removed, int *changed,
	    pcipass_client *);

int	 pcipass_test_result_fits(const pcipass_test_result *);
/* Owned by the result. */
const char *pcipass_test_result_reason(const pcipass_test_result *);
size_t	 pcipass_test_result_count(const pcipass_test_result *);
/* FREE[i]: how many devices could serve request i alone. */
int	 pcipass_test_result_free_count(const pcipass_test_result *, size_t i);
void	 pcipass_test_result_free(pcipass_test_result *);

/* Renderers. *out: free with free(). */
enum {
	PCIPASS_COL_CLASS	= 1 << 0,
	PCIPASS_COL_VENDOR	= 1 << 1,
	PCIPASS_COL_NUMA	= 1 << 2,
	PCIPASS_COL_IOMMU	= 1 << 3,
	PCIPASS_COL_STATE	= 1 << 4,
	PCIPASS_COL_REASON	= 1 << 5,
	PCIPASS_COL_PROFILES	= 1 << 6
};
/* "CLASS,VENDOR,NUMA,IOMMU,STATE,REASON,PROFILES" (any subset, any
 * case). */
int	 pcipass_columns_parse(unsigned *out, const char *spec);
/* onehost show's PCI DEVICES table; extra columns go before NAME. */
int	 pcipass_render_table(char **out, const pcipass_device_list *,
	    unsigned columns);
/* {"HOST_SHARE": {"PCI_DEVICES": {"PCI": [...]}}}, every value a string. */
int	 pcipass_render_json(char **out, const pcipass_device_list *);
/* From pcipass_tree()'s list: the hierarchy as `lspci -t` draws it, each
 * line followed by the IOMMU group, driver, STATE, holder and name of the
 * function it ends at, a REASON on a "why:" line below; or as JSON,
 * {"PCI_TREE": [bus...]}, a bus {"DOMAIN", "BUS", "DEVICES": [...]}, a
 * bridge's buses in its "BUSES". */
int	 pcipass_render_tree(char **out, const pcipass_device_list *);
int	 pcipass_render_tree_json(char **out, const pcipass_device_list *);
/* libvirt <hostdev> elements, one per device. */
int	 pcipass_render_hostdev(char **out, const pcipass_device_list *);

/*
 * Placement: ask every host (pci.test, in parallel), allocate on one that
 * fits, go on to the next fitting host when another frontend took the
 * devices meanwhile. Hosts that refuse or do not answer within
 * deadline_ms (checked about every 100 ms; the whole placement, 0 means
 * 5000) are skipped. An allocate that times out is followed by a
 * pci.release of vmid on that host. When nothing fits: PCIPASS_EALLOCATE
 * with API.md's "Cannot dispatch VM N: ..." message.
 * session NULL: pcipass_session_load(). *out: free with
 * pcipass_placement_free().
 */
enum { PCIPASS_POLICY_FIRST = 0, PCIPASS_POLICY_MOST_FREE = 1 };
int	 pcipass_place(pcipass_placement **out, const char *const *hosts,
	    size_t nhosts, const char *session, int vmid,
	    const pcipass_request_list *, int policy, int deadline_ms);
/* Owned by the placement. */
const char *pcipass_placement_host(const pcipass_placement *);
const pcipass_device_list *pcipass_placement_devices(
	    const pcipass_placement *);
void	 pcipass_placement_free(pcipass_placement *);

/*
 * Reconcile (API.md "Reconcile"): oned's view of the PCI holdings of its
 * hosts, compared by each host's daemon with its own ledger.
 *
 * The view is read from the XML of `onehost list -x` (<HOST_POOL>) or
 * `onehost show -x` (<HOST>): per host its NAME and the ADDRESS of each
 * HOST_SHARE/PCI_DEVICES/PCI whose VMID is not -1. path "-" reads
 * standard input. Errors name the input and the host (PCIPASS_EINVAL).
 * *out: free with pcipass_view_free().
 */
typedef struct pcipass_view		pcipass_view;
typedef struct pcipass_reconciliation	pcipass_reconciliation;
int	 pcipass_view_read(pcipass_view **out, const char *path);
int	 pcipass_view_parse(pcipass_view **out, const char *name,
	    const char *xml, size_t len);
size_t	 pcipass_view_host_count(const pcipass_view *);
/* Host i's NAME; owned by the view. */
const char *pcipass_view_host(const pcipass_view *, size_t i);
void	 pcipass_view_free(pcipass_view *);

/*
 * pci.reconcile on every host of the view in parallel, each given its own
 * holdings. endpoints: NULL, or one "HOST[:PORT]" per view host (a NULL
 * entry: the host's NAME, port 2634). as_of: Unix seconds the view was
 * taken. apply: act (LEAKED released, MISSING taken). A host that fails
 * is recorded with its error, the others go on; the call itself fails
 * only for bad arguments or no memory. deadline_ms 0: 30000.
 * *out: free with pcipass_reconciliation_free().
 */
int	 pcipass_reconcile(pcipass_reconciliation **out, const pcipass_view *,
	    const char *const *endpoints, const char *session,
	    long long as_of, int apply, int deadline_ms);
/* Hosts in view order; error NULL when the host answered. Owned by r. */
size_t	 pcipass_reconciliation_hosts(const pcipass_reconciliation *);
void	 pcipass_reconciliation_host(const pcipass_reconciliation *, size_t i,
	    const char **name, const char **endpoint, const char **error);
/* Findings, by host, then LEAKED, RECENT, MISSING, CONFLICT, address. */
size_t	 pcipass_reconciliation_count(const pcipass_reconciliation *);
void	 pcipass_reconciliation_get(const pcipass_reconciliation *, size_t i,
	    size_t *host, const char **class, int *vmid,
	    const char **address, const char **reason);
void	 pcipass_reconciliation_free(pcipass_reconciliation *);

#ifdef __cplusplus
}
#endif

#endif
