/*
 * pcipassd: private types and one prototype section per file.
 */
#ifndef PCIPASSD_H
#define PCIPASSD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdarg.h>

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
#define PP_ADDR_SYSFS_LEN	16
enum { ADDR_SYSFS, ADDR_ONE, ADDR_SHORT };

enum pp_sriov { SRIOV_NO, SRIOV_PF, SRIOV_VF };

/* What the scan saw of one function, plus the store's view of it. */
struct pp_device {
	pp_addr		 addr;
	unsigned	 vendor, device, class;	/* class: base << 8 | sub */
	unsigned	 subvendor, subdevice;
	int		 header;		/* 0, 1, 2; -1 unknown */
	int		 numa;			/* -1 unknown */
	int		 iommu;			/* -1 no group */
	enum pp_sriov	 sriov;
	int		 sriov_num;		/* VFs enabled on a PF */
	int		 sriov_total;
	pp_addr		 physfn;		/* valid when sriov == SRIOV_VF */
	int		 boot_vga;
	char		 driver[64];		/* "" when unbound */
	char		 ifname[32];
	char		 vendor_name[128];
	char		 device_name[256];
	char		 class_name[128];

	/* Set by the filter and the store, not by the scan. */
	int		 offered;
	int		 present;		/* 0: gone while held */
	int		 vmid;			/* -1 free */
	char		 reason[128];		/* why missing/blocked */
	char		 critical[128];		/* host-critical: why */
	struct pp_nic {
		int	 nic;
		char	 mac[64], ip[64], ip6[64], vlan_id[64], network[128];
	}		 nic;
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

/* log.c */
void	 log_init(int foreground, int verbose);
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
int	 scan_inventory(const char *sysfs_root, struct pp_inventory *);
void	 inventory_free(struct pp_inventory *);
struct pp_device *inventory_find(const struct pp_inventory *, pp_addr);
int	 device_is_bridge(const struct pp_device *);

/* filter.c */
struct pp_filter;
typedef void (*filter_report_fn)(const char *msg, void *arg);
struct pp_filter *filter_load(const char *path, filter_report_fn, void *);
int	 filter_match(const struct pp_filter *, const struct pp_device *);
void	 filter_apply(const struct pp_filter *, struct pp_inventory *);
void	 filter_free(struct pp_filter *);

#endif /* PCIPASSD_H */
