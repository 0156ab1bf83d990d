/*
 * Attributes that oned writes into, or accepts in, a VM's PCI vector and
 * that pcipass does not use. A request may carry any of them; they are
 * ignored for matching and for the retry check alike, so OpenNebula's own
 * templates (the seed's PCI NIC with NETWORK_UNAME, a vector oned has
 * already filled in) are taken as written. Anything else unknown stays an
 * error, so a typo like VENDRO is never silently ignored.
 *
 * Taken from OpenNebula's source (master, late 2026): what
 * src/host/HostSharePCI.cc sets on a PCI vector when it schedules or
 * places it (PREV_ADDRESS, VM_*, PCI_ID, ROOT, UUID, MDEV_MODE, the
 * address parts); the NIC attributes a TYPE = "NIC" vector takes, from
 * src/vm/VirtualMachineNic.cc, src/vnm/AddressRange.cc and the Go OCA's
 * schemas/shared/nic.go; and the INHERIT_VNET_ATTR list of the default
 * share/etc/oned.conf. Shared by the daemon (server/rpc_decode.c) and the
 * client library (client/request.c); sorted for bsearch.
 */
#ifndef ONE_ATTRS_H
#define ONE_ATTRS_H

#include <stdlib.h>
#include <string.h>

static const char *const one_ignored_attrs[] = {
	"ALIAS_ID", "ALIAS_IDS", "AR_ID", "AWS_ALLOCATION_ID",
	"BANDWIDTH_THROTTLING", "BRIDGE", "BRIDGE_CONF", "BRIDGE_TYPE", "BUS",
	"CLUSTER_ID", "CONF", "CVLANS", "DNS", "DOMAIN", "EXTERNAL",
	"EXTERNAL_IP", "EXTERNAL_PORT_RANGE", "FILTER", "FILTER_IP_SPOOFING",
	"FILTER_MAC_SPOOFING", "FLOATING_IP", "FLOATING_ONLY", "FUNCTION",
	"GATEWAY", "GATEWAY6", "GUEST_MTU", "INBOUND_AVG_BW",
	"INBOUND_PEAK_BW", "INBOUND_PEAK_KB", "INTERNAL_PORT_RANGE",
	"IP6_GLOBAL", "IP6_LINK", "IP6_METHOD", "IP6_METRIC",
	"IP6_PREFIX_LENGTH", "IP6_ULA", "IP_LINK_CONF", "MDEV_MODE",
	"METHOD", "METRIC", "MODEL", "MTU", "NAME", "NETWORK_ADDRESS",
	"NETWORK_ID", "NETWORK_MASK", "NETWORK_MODE", "NETWORK_UID",
	"NETWORK_UNAME", "NIC_ALIAS", "NIC_ID", "OUTBOUND_AVG_BW",
	"OUTBOUND_PEAK_BW", "OUTBOUND_PEAK_KB", "OUTER_VLAN_ID",
	"OVS_BRIDGE_CONF", "PARENT", "PARENT_ID", "PARENT_NETWORK_ID",
	"PCI_ID", "PHYDEV", "PREV_ADDRESS", "QINQ_TYPE", "ROOT",
	"SCHED_RANK", "SCHED_REQUIREMENTS", "SCRIPT", "SEARCH_DOMAIN",
	"SECURITY_GROUPS", "SLOT", "TARGET", "UUID", "VLAN_TAGGED_ID",
	"VM_ADDRESS", "VM_BUS", "VM_BUS_INDEX", "VM_DOMAIN", "VM_FUNCTION",
	"VM_SLOT", "VN_MAD", "VROUTER_IP", "VROUTER_IP6", "VROUTER_MAC",
	"VULTR_IP_ID", "VXLAN_MC", "VXLAN_MODE", "VXLAN_TEP",
};

static int
one_attr_cmp(const void *k, const void *e)
{
	return strcmp(k, *(const char *const *)e);
}

/* Is name an OpenNebula attribute that pcipass accepts and ignores? */
static inline int
one_attr_ignored(const char *name)
{
	return bsearch(name, one_ignored_attrs, sizeof(one_ignored_attrs) /
	    sizeof(one_ignored_attrs[0]), sizeof(one_ignored_attrs[0]),
	    one_attr_cmp) != NULL;
}

#endif
