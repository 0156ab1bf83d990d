-- pcipass database, version 5. The daemon applies this file to a new
-- database and sets PRAGMA user_version; an older database is brought
-- up by the migration steps keyed by user_version (server/store.c).

-- Every function the last scan saw, offered by the filter or not (the
-- IOMMU rules need the siblings the filter hides), plus held functions
-- that have vanished (present = 0).
CREATE TABLE device (
	addr		INTEGER PRIMARY KEY,	-- dom<<16 | bus<<8 | slot<<3 | fn
	vendor		INTEGER NOT NULL,
	device		INTEGER NOT NULL,
	class		INTEGER NOT NULL,	-- base<<8 | sub
	subvendor	INTEGER NOT NULL,
	subdevice	INTEGER NOT NULL,
	header		INTEGER NOT NULL,	-- 1, 2: bridge
	secondary	INTEGER NOT NULL DEFAULT -1,	-- a bridge's buses
	subordinate	INTEGER NOT NULL DEFAULT -1,	-- (pcipass tree), else -1
	numa		INTEGER NOT NULL,	-- -1 unknown
	iommu		INTEGER NOT NULL,	-- -1 no group
	sriov		INTEGER NOT NULL,	-- 0 no, 1 pf, 2 vf
	sriov_num	INTEGER NOT NULL,
	sriov_total	INTEGER NOT NULL,
	physfn		INTEGER NOT NULL,
	boot_vga	INTEGER NOT NULL,
	driver		TEXT NOT NULL,
	ifname		TEXT NOT NULL,
	vendor_name	TEXT NOT NULL,
	device_name	TEXT NOT NULL,
	class_name	TEXT NOT NULL,
	offered		INTEGER NOT NULL,
	critical	TEXT NOT NULL DEFAULT '',	-- host-critical: why
	mdev_mode	TEXT NOT NULL DEFAULT '',	-- vGPU VF: legacy, nvidia
	profiles	TEXT NOT NULL DEFAULT '',	-- vGPU VF: its PROFILES
	creatable	TEXT NOT NULL DEFAULT '',	-- vGPU VF: profiles it
							-- can make now
	vgpu		TEXT NOT NULL DEFAULT '',	-- vGPU VF: the one it
							-- runs now, '' none
	present		INTEGER NOT NULL DEFAULT 1,
	reason		TEXT NOT NULL DEFAULT '',	-- why missing
	vmid		INTEGER NOT NULL DEFAULT -1,	-- -1 free
	req_index	INTEGER NOT NULL DEFAULT -1,	-- its request in the
							-- VM's allocate
	taken		INTEGER NOT NULL DEFAULT 0,	-- host time (Unix s)
							-- it was taken; 0:
							-- before version 3
	freed		INTEGER NOT NULL DEFAULT 0,	-- host time its last
							-- holding ended
	nic		INTEGER NOT NULL DEFAULT 0,
	mac		TEXT NOT NULL DEFAULT '',
	ip		TEXT NOT NULL DEFAULT '',
	ip6		TEXT NOT NULL DEFAULT '',
	vlan_id		TEXT NOT NULL DEFAULT '',
	network		TEXT NOT NULL DEFAULT '',
	profile		TEXT NOT NULL DEFAULT '',	-- the request's PROFILE
	stuck		TEXT NOT NULL DEFAULT '',	-- a vGPU removal the
							-- kernel refused
	CHECK (vmid >= -1),
	CHECK (present = 1 OR vmid >= 0)
);
CREATE INDEX device_vmid ON device (vmid);

-- kernel/iommu_groups/N/devices, as the last scan read it.
CREATE TABLE iommu_member (
	grp		INTEGER NOT NULL,
	addr		INTEGER NOT NULL,
	PRIMARY KEY (grp, addr)
) WITHOUT ROWID;

-- The normalised request list of each VM's last successful allocate,
-- so that a retried allocate returns the same devices.
CREATE TABLE vm_request (
	vmid		INTEGER PRIMARY KEY,
	requests	TEXT NOT NULL
);

-- The driver a device had before pcipass bound it to vfio-pci ('' for
-- none), and who bound it: -1 pcipass-host bind (stays bound until
-- pcipass-host unbind), else the VM whose allocation bound it (restored
-- when that VM no longer holds any device of the IOMMU group).
CREATE TABLE bind_origin (
	addr		INTEGER PRIMARY KEY,
	driver		TEXT NOT NULL,
	vmid		INTEGER NOT NULL DEFAULT -1
);
