/*
 * pcipassd: private types and one prototype section per file.
 */
#ifndef PCIPASSD_H
#define PCIPASSD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdarg.h>

#include <pthread.h>
#include <sqlite3.h>

#define PCIPASS_VERSION		"0.1.0"

/*
 * A PCI address packed so that integer order is address order:
 * domain << 16 | bus << 8 | slot << 3 | function.
 */
typedef uint64_t pp_addr;

#define PP_ADDR(dom, bus, slot, fn) \
	(((pp_addr)(dom) << 16) | ((pp_addr)(bus) << 8) | \
	    ((pp_addr)(slot) << 3) | (pp_addr)(fn))
#define PP_DOMAIN(a)	((unsigned)((a) >> 16))
#define PP_BUS(a)	((unsigned)(((a) >> 8) & 0xff))
#define PP_SLOT(a)	((unsigned)(((a) >> 3) & 0x1f))
#define PP_FUNC(a)	((unsigned)((a) & 0x7))

/* "dddd:bb:ss.f" (sysfs), "dddd:bb:ss:f" (OpenNebula), "bb:ss.f" */
#define PP_ADDR_SYSFS_LEN	24
enum { ADDR_SYSFS, ADDR_ONE, ADDR_SHORT };

enum pp_sriov { SRIOV_NO, SRIOV_PF, SRIOV_VF };

/* The longest catalog strings a device record keeps, with the NUL. */
#define PP_DRIVER_LEN		64
#define PP_VENDOR_NAME_LEN	128
#define PP_DEVICE_NAME_LEN	256
#define PP_CLASS_NAME_LEN	128
#define PP_PROFILES_LEN		1024
#define PP_VGPU_LEN		128
#define PP_CRITICAL_LEN		128
#define PP_REASON_LEN		160

/* A NIC request's attributes, kept by the device that serves it. */
struct pp_nic {
	int	 nic;
	char	 mac[64], ip[64], ip6[64], vlan_id[64], network[128];
};

/*
 * What few records carry, two thirds of a record's size were it inline:
 * a holding's NIC attributes and PROFILE, a vGPU removal the kernel
 * refused. Each record owns its own (extra.c).
 */
struct pp_extra {
	struct pp_nic	 nic;
	char		 profile[128];		/* the holding's PROFILE */
	char		 stuck[256];		/* a vGPU removal the kernel
						   refused: its error */
};

/* What the scan saw of one function, plus the store's view of it. */
struct pp_device {
	pp_addr		 addr;
	unsigned	 vendor, device, class;	/* class: base << 8 | sub */
	unsigned	 subvendor, subdevice;
	int		 header;		/* 0, 1, 2; -1 unknown */
	int		 secondary, subordinate;	/* a bridge's buses,
						   else -1 */
	int		 numa;			/* -1 unknown */
	int		 iommu;			/* -1 no group */
	enum pp_sriov	 sriov;
	int		 sriov_num;		/* VFs enabled on a PF */
	int		 sriov_total;
	pp_addr		 physfn;		/* valid when sriov == SRIOV_VF */
	int		 boot_vga;
	/*
	 * Catalog strings: interned (intern.c), never NULL once the record
	 * is made (device_strings_init()), at most PP_*_LEN - 1 bytes.
	 */
	const char	*driver;		/* "" when unbound */
	char		 ifname[32];
	const char	*vendor_name;
	const char	*device_name;
	const char	*class_name;
	/* A VF of an :nvidia_vendors: device (a vGPU), else "". */
	char		 mdev_mode[8];		/* legacy, nvidia */
	const char	*profiles;		/* as OpenNebula's PROFILES */
	const char	*creatable;		/* of those, the ones it can
						   make now: legacy type names
						   with instances left, NVIDIA
						   type IDs */
	const char	*vgpu;			/* the vGPU it runs now: the
						   legacy type of the mdev
						   named by its UUID, or
						   NVIDIA's current type ID;
						   "" none */

	/* Set by the filter and the store, not by the scan. */
	int		 offered;
	int		 present;		/* 0: gone while held */
	int		 vmid;			/* -1 free */
	int		 req_index;		/* request it serves */
	int64_t		 taken;			/* host time it was taken */
	int64_t		 freed;			/* host time it was let go */
	char		 state[8];		/* free used blocked missing */
	char		*reason;		/* why blocked or missing;
						   NULL none (extra.c) */
	const char	*critical;		/* host-critical: why
						   (interned) */
	struct pp_extra	*extra;			/* NULL: none (extra.c) */
};

/* One line of kernel/iommu_groups/N/devices. */
struct pp_member {
	int		 group;
	pp_addr		 addr;
};

struct pp_inventory {
	struct pp_device	*dev;		/* ascending addr */
	size_t			 ndev;
	struct pp_member	*member;	/* ascending (group, addr) */
	size_t			 nmember;
};

struct pp_filter;

struct pp_config {
	int		 foreground;
	int		 check_only;
	int		 verbose;
	int		 probe;
	const char	*listen;
	int		 port;
	const char	*db;
	const char	*filter;
	int		 filter_named;		/* --filter given */
	const char	*sysfs_root;
	const char	*proc_root;
	const char	*auth;
	int		 rescan;
	int		 bind_vfio;
};

/* intern.c */
extern const char pp_empty[];
const char	*intern(const char *);
void	 device_strings_init(struct pp_device *);

/* extra.c */
const struct pp_extra *dev_extra(const struct pp_device *);
struct pp_extra	*dev_extra_w(struct pp_device *);
void	 dev_extra_tidy(struct pp_device *);
const char	*dev_reason(const struct pp_device *);
int	 dev_set_reason(struct pp_device *, const char *);
int	 device_copy(struct pp_device *, const struct pp_device *);
void	 device_clear(struct pp_device *);

/* inventory.c */
int	 inventory_scan(const struct pp_config *, const struct pp_filter *,
	    struct pp_inventory *);

/* guard.c */
void	 guard_apply(const struct pp_config *, struct pp_inventory *);

/* bind.c */
struct bind_set {		/* what a bind changed, for bind_undo() */
	size_t			 n;
	struct bind_item {
		pp_addr		 addr;
		char		 driver[64];	/* original; "" none */
	}			*item;
};
int	 bind_plan(const struct pp_inventory *, const pp_addr *, size_t,
	    int, pp_addr **, size_t *, char *, size_t);
int	 bind_devices(const char *, sqlite3 *, const struct pp_inventory *,
	    const pp_addr *, size_t, int, struct bind_set *, char *, size_t);
void	 bind_undo(const char *, struct bind_set *);
void	 bind_set_free(struct bind_set *);
int	 bind_set_add(struct bind_set *, pp_addr, const char *);
int	 bind_restore_one(const char *, pp_addr, const char *, char *, size_t);
int	 sysfs_name_ok(const char *);

/* bind_journal.c: binds not yet committed, mended at start */
int	 bind_journal_add(sqlite3 *, pp_addr, const char *, char *, size_t);
void	 bind_journal_clear(sqlite3 *);
void	 bind_journal_use(const char *);
int	 bind_journal_mend(const char *, sqlite3 *, int *);
int	 sysfs_write(const char *, const char *, const char *, char *, size_t);

/* vgpu.c: vGPUs made and removed, as OpenNebula's vgpu script does */
int	 vgpu_make(const char *, const struct pp_device *, const char *,
	    char *, size_t);
int	 vgpu_remove(const char *, const struct pp_device *, char *, size_t);
int	 bind_restore_vm(const char *, sqlite3 *, int);
int	 unbind_devices(const char *, sqlite3 *, const struct pp_inventory *,
	    const pp_addr *, size_t, int *, char *, size_t);

/* hostcmd.c, hostcheck.c, hostconf.c: pcipass-host */
#define CONF_MODPROBE	0x01
#define CONF_BLACKLIST	0x02
#define CONF_DRACUT	0x04
#define CONF_CMDLINE	0x08
#define CONF_QEMU_ACL	0x10
struct host_ctx {
	struct pp_config	 conf;
	struct pp_filter	*filter;
	struct pp_inventory	 inv;		/* scan + filter + guard */
	const char		*etc_root;	/* --write goes under it */
	const char		*from;		/* bind.conf */
	int			 write;
	int			 configs;	/* CONF_* */
};
enum { CPU_OTHER, CPU_INTEL, CPU_AMD };
int	 host_cpu_vendor(const char *proc_root);
int	 host_iommu_kind(const struct pp_config *);
int	 host_check(const struct host_ctx *, FILE *);
int	 host_config(const struct host_ctx *, FILE *);

/* log.c */
void	 log_init(int foreground, int verbose);
void	 log_to(FILE *);
void	 log_levels(int);
void	 log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	 fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/* addr.c */
int	 addr_parse(const char *, int, pp_addr *);
int	 addr_parse_any(const char *, pp_addr *);
char	*addr_fmt(pp_addr, int, char *, size_t);
int	 hex_parse(const char *, unsigned, unsigned *);
const char *sriov_name(enum pp_sriov);

/* scan.c */
void	 scan_vgpu(const char *, struct pp_device *);
void	 text_clean(char *);
int	 scan_inventory(const char *sysfs_root, struct pp_inventory *);
void	 inventory_free(struct pp_inventory *);
int	 inventory_copy(struct pp_inventory *, const struct pp_inventory *);
struct pp_device *inventory_find(const struct pp_inventory *, pp_addr);
int	 device_is_bridge(const struct pp_device *);
int	 sysfs_read_attr(const char *, const char *, char *, size_t);
int	 sysfs_link_base(const char *, const char *, char *, size_t);

/* filter.c */
typedef void (*filter_report_fn)(const char *msg, void *arg);
struct pp_filter *filter_load(const char *path, filter_report_fn, void *);
int	 filter_match(const struct pp_filter *, const struct pp_device *);
void	 filter_apply(const struct pp_filter *, struct pp_inventory *);
int	 filter_nvidia(const struct pp_filter *, unsigned);
void	 filter_free(struct pp_filter *);

/* auth.c */
enum { AUTH_NONE, AUTH_RO, AUTH_RW };
struct auth;
struct auth *auth_load(const char *, int);
void	 auth_free(struct auth *);
int	 auth_check(const struct auth *, const char *, char *, size_t);
int	 auth_throttled(struct auth *, const char *);
void	 auth_failed(struct auth *, const char *, const char *);

/* store.c */
sqlite3	*store_open(const char *, int);
void	 store_close(sqlite3 *);
int	 store_lock(const char *);
sqlite3_stmt *store_stmt(sqlite3 *, const char *);
void	 store_stmt_done(sqlite3_stmt *);
int	 store_begin(sqlite3 *);
uint64_t store_generation(void);
int	 store_txn_begin(sqlite3 *);
int	 store_txn_end(sqlite3 *, int, uint64_t *);
int	 store_commit(sqlite3 *);
void	 store_rollback(sqlite3 *);
int	 store_load(sqlite3 *, struct pp_inventory *);
int	 store_read(sqlite3 *, struct pp_inventory *);
int	 store_savepoint(sqlite3 *);
int	 store_savepoint_end(sqlite3 *, int);

/* store_mark.c */
void	 store_mark_path(const char *, char *, size_t);
int	 store_mark_check(const char *, int *);
int	 store_mark_write(const char *);
void	 store_mark_opened(const char *);
int	 store_mark_same(void);
int	 store_make_dir(const char *);

/* store_wal.c */
void	 store_wal_watch(sqlite3 *);
int	 store_wal_ok(sqlite3 *);

/* store_alloc.c */
int	 store_hold(sqlite3 *, struct pp_inventory *, pp_addr, int, int,
	    const struct pp_nic *, const char *, int64_t);
int	 store_free(sqlite3 *, struct pp_inventory *, int, pp_addr, int,
	    int64_t);
int	 store_requests_get(sqlite3 *, int, char **);
int	 store_requests_put(sqlite3 *, int, const char *);
int	 store_requests_forget(sqlite3 *, int);
int	 store_driver(sqlite3 *, struct pp_inventory *, pp_addr,
	    const char *);
int	 store_stuck(sqlite3 *, struct pp_inventory *, pp_addr, const char *);
int	 store_bind_reown(sqlite3 *, pp_addr, int);

/* store_bind.c */
int	 store_origin_put(sqlite3 *, pp_addr, const char *, int);
int	 store_origin_forget(sqlite3 *, pp_addr);
int	 store_origins_freed(sqlite3 *, int, struct bind_set *);
int	 store_origin_get(sqlite3 *, pp_addr, struct bind_item *);
int	 store_held_by(sqlite3 *, pp_addr);

/* store_sync.c */
struct sync_counts {
	int	 added, removed, changed;
	int	 regrouped;		/* the iommu_member rows changed */
};
int	 store_sync(sqlite3 *, const struct pp_inventory *,
	    struct sync_counts *);

/* rules.c */
enum rule { RULE_OK, RULE_NOT_OFFERED, RULE_CRITICAL, RULE_BRIDGE,
	RULE_NO_GROUP, RULE_VFS_ENABLED, RULE_VGPU_STUCK };
enum sibling { SIB_FREE, SIB_ALONG, SIB_HELD, SIB_BLOCKS, SIB_UNKNOWN };
enum rule	 rule_device(const struct pp_device *, int);
const char	*rule_why(const struct pp_device *, enum rule, char *, size_t);
int		 rule_host_passable(const struct pp_device *);
int		 rule_harmless_driver(const char *);
enum sibling	 rule_sibling(const struct pp_device *, int);
size_t		 rule_group_first(const struct pp_inventory *, int);
enum profile_rule { PROF_OK, PROF_NOT_VGPU, PROF_NOT_OFFERED, PROF_NONE_LEFT };
enum profile_rule rule_profile(const struct pp_device *, const char *);
const char	*rule_profile_why(enum profile_rule, const char *, char *,
		    size_t);

/* match.c */
#define PP_MAXREQ	32
struct pp_request {
	int		 vendor, device, class;	/* -1 any */
	int		 has_addr;
	pp_addr		 addr;
	int		 numa;			/* -1 any */
	struct pp_nic	 nic;
	char		 profile[128];		/* "" any; a vGPU type */
};
struct pp_test {
	int		 fits;
	int		 free[PP_MAXREQ];
	char		 reason[4096];
};
enum { MATCH_OK = 0, MATCH_NOFIT = 1, MATCH_LIMIT = 2 };
int	 request_matches(const struct pp_request *, const struct pp_device *);
void	 request_norm(const struct pp_request *, char *, size_t);
void	 request_desc(const struct pp_request *, char *, size_t);
#define MATCH_BIND	0x1	/* free offered siblings get bound along */
#define MATCH_NEW	0x2	/* not devices the VM already holds */
int	 match_assign(const struct pp_inventory *, const struct pp_request *,
	    size_t, int, int, size_t *, char *, size_t);
int	 match_test(const struct pp_inventory *, const struct pp_request *,
	    size_t, int, int, struct pp_test *);
int	 match_states(struct pp_inventory *, int);
int	 match_detach_splits(const struct pp_inventory *,
	    const struct pp_device *, int, char *, size_t);

/* reconcile.c */
struct rc_holding {		/* the frontend's view: vmid holds addr */
	int		 vmid;
	pp_addr		 addr;
};
enum { RC_LEAKED, RC_RECENT, RC_MISSING, RC_CONFLICT, RC_N };
struct rc_item {
	int		 vmid;
	pp_addr		 addr;
	int		 act;		/* apply: release (LEAKED), take (MISSING) */
	char		 reason[640];
};
struct rc_plan {
	struct rc_item	*item[RC_N];	/* each ascending by address */
	size_t		 n[RC_N], cap[RC_N];
};
int	 reconcile_plan(struct pp_inventory *, const struct rc_holding *,
	    size_t, int64_t, int64_t, int, struct rc_plan *);
void	 reconcile_plan_free(struct rc_plan *);

/* service.c: the daemon, made in main() and passed down */
#define PP_POOL		16	/* sqlite connections the calls share */
struct pcipassd {
	const struct pp_config	*conf;
	struct pp_filter	*filter;	/* replaced on SIGHUP */
	pthread_mutex_t		 scan_lock;	/* one scan; guards filter */
	pthread_key_t		 db_key;	/* the connection a thread has */
	int			 have_key;	/* both keys made */
	pthread_key_t		 end_key;	/* trims when a thread ends */
	sqlite3			*main_db;	/* the main thread's, not lent */
	pthread_mutex_t		 pool_lock;	/* the calls' connections: */
	pthread_cond_t		 pool_free;
	sqlite3			*idle[PP_POOL];	/* lent to none now */
	int			 nidle;
	int			 nopen;		/* lent or idle */
	sqlite3			*writers;	/* the write batch's */
	int			 flags;		/* OP_BIND with --bind vfio */
	struct auth		*auth;		/* the --auth file's users */
	struct snapshots	*mem;		/* the inventory in memory */
	struct batch		*batch;		/* the writers' group commit */
	struct answers		*answers;	/* listings, per generation */
};
struct op_ctx;
struct answers;
int	 service_init(struct pcipassd *, const struct pp_config *,
	    struct pp_filter *, struct auth *);
sqlite3	*service_db(struct pcipassd *);
void	 service_release(struct pcipassd *);
int	 service_ctx(struct pcipassd *, struct op_ctx *);
int	 service_rescan(struct pcipassd *, struct sync_counts *);
int	 service_reload(struct pcipassd *);
int	 service_mend(struct pcipassd *);
void	 service_free(struct pcipassd *);

/* rpc.c: the XML-RPC front, listening */
struct rpc;
struct rpc *rpc_listen(struct pcipassd *);
void	 rpc_run(struct rpc *);
void	 rpc_stop(struct rpc *);
void	 rpc_free(struct rpc *);

/* ops.c */
enum pp_err {
	PP_OK = 0,
	PP_ERR_AUTHENTICATION = 0x0100,
	PP_ERR_AUTHORIZATION = 0x0200,
	PP_ERR_NO_EXISTS = 0x0400,
	PP_ERR_ACTION = 0x0800,
	PP_ERR_API = 0x1000,
	PP_ERR_INTERNAL = 0x2000,
	PP_ERR_ALLOCATE = 0x4000,
};
#define OP_BIND		0x1	/* --bind vfio */
#define OP_NEW		0x2	/* only devices the VM does not hold */
struct pp_result {
	int			 err;
	char			 msg[4096];
	struct pp_inventory	 inv;		/* snapshot, states set */
	size_t			 idx[PP_MAXREQ];
	size_t			 nidx;
	int			 count;
	int			 rescan;	/* vGPUs changed: rescan */
};
/*
 * What an operation runs with, passed in by its caller: the caller's
 * connection, OP_* flags, the sysfs root that binds write under (NULL:
 * no sysfs writes at all, as in tests of the ledger alone), the write
 * batch and the inventory in memory.
 */
struct batch;
struct snapshots;
struct op_ctx {
	sqlite3			*db;
	int			 flags;
	const char		*root;
	struct batch		*batch;		/* the writers' group commit */
	struct snapshots	*mem;		/* the readers' snapshot */
};
int	 op_allocate(const struct op_ctx *, int, const struct pp_request *,
	    size_t, struct pp_result *);
int	 op_attach(const struct op_ctx *, int, const struct pp_request *,
	    struct pp_result *);
int	 op_detach(const struct op_ctx *, int, pp_addr, struct pp_result *);
int	 op_release(const struct op_ctx *, int, struct pp_result *);
int	 op_test(const struct op_ctx *, int, const struct pp_request *, size_t,
	    struct pp_test *, struct pp_result *);
struct rc_holding;
struct rc_plan;
int	 op_reconcile(const struct op_ctx *, const struct rc_holding *, size_t,
	    int64_t, int, struct rc_plan *, struct pp_result *);
int	 op_mend(const struct op_ctx *, int *, struct pp_result *);
void	 result_free(struct pp_result *);

/* ops_batch.c: group commit of the writers */
struct batch;
struct snapshots;
struct batch *batch_new(sqlite3 *, struct snapshots *);
void	 batch_free(struct batch *);
sqlite3	*batch_join(struct batch *, sqlite3 *);
struct pp_inventory *batch_inventory(struct batch *);
int	 batch_leave(struct batch *, int, int);
int	 batch_savepoint(struct batch *, sqlite3 *);
int	 batch_savepoint_end(struct batch *, sqlite3 *, int);

/* snapshot.c: the inventory in memory, per store generation */
struct snapshot;
struct snapshots *snapshots_new(void);
void	 snapshots_free(struct snapshots *);
struct snapshot *snapshot_get(struct snapshots *, sqlite3 *, int);
const struct pp_inventory *snapshot_inv(const struct snapshot *);
void	 snapshot_put(struct snapshot *);
struct pp_inventory *cache_current(struct snapshots *, sqlite3 *);
void	 cache_committed_at(struct snapshots *, uint64_t);
void	 cache_invalidate(struct snapshots *);

/* format.c */
enum { F_STR, F_INT };
struct pp_field {
	const char	*name;
	int		 kind;
	int		 ival;
	int		 dash;		/* text formats write "-" */
	const char	*text;		/* in its pp_fields' text */
};
#define PP_MAXFIELDS	40
#define PP_FIELD_MAX	1023	/* bytes of one field; PROFILES is longest */
/* A device's fields and their texts: 5 KB, on the stack of every thread
 * that encodes a device (40 texts of 1 KB each inline were 41 KB). */
struct pp_fields {
	size_t		 n;
	size_t		 used;			/* of text */
	struct pp_field	 f[PP_MAXFIELDS];
	char		 text[4096];		/* all of them: 3.4 KB at most */
};
size_t	 device_fields(const struct pp_device *, struct pp_fields *);
size_t	 tree_fields(const struct pp_device *, struct pp_fields *);
int	 format_probe(FILE *, const struct pp_inventory *);
int	 format_info(FILE *, const struct pp_inventory *);
int	 device_listed(const struct pp_device *);
const char *vgpu_uuid(pp_addr, char *, size_t);

#endif /* PCIPASSD_H */
