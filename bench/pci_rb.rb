#!/usr/bin/env ruby
# A stand-in for OpenNebula's KVM PCI probe (im_mad node-probes.d pci.rb,
# OpenNebula 7.x), written for the benchmark from reading it: the same
# work in the same language, pointed at a fake sysfs tree. Per item of
# pci.conf's :filter: (a comma list split into items) one
# `lspci -mmnn -d ITEM` (here with -A linux-sysfs -O sysfs.path=ROOT/bus/pci),
# each line split with Shellwords; per device numa_node read, net/
# listed (phys_port_name read when it holds more than one interface),
# the SR-IOV attributes tested (physfn, sriov_numvfs, sriov_totalvfs,
# virtfn0 on :nvidia_vendors: devices) and sriov_numvfs read, mdev_bus
# and creatable_vgpu_types looked at on NVIDIA VFs; then the PCI = [ ... ]
# template printed. Not done: pci.rb's interface-name cache files under
# /var/tmp and its udev rename rules (a first run has neither).
#
# usage: ruby bench/pci_rb.rb SYSFS_ROOT PCI_CONF
require 'shellwords'
require 'yaml'

ROOT = ARGV[0] or abort 'usage: pci_rb.rb SYSFS_ROOT PCI_CONF'
CONF = { filter: '0:0', short_address: [], device_name: [],
         nvidia_vendors: ['10de'] }.merge(YAML.load_file(ARGV[1]) || {})

def lspci(item)
  cmd = "lspci -A linux-sysfs -O sysfs.path=#{ROOT}/bus/pci -mmnn"
  cmd += " -d #{item}" if item
  `#{cmd}`.split("\n").map { |l| Shellwords.split(l) }
end

def name_id(text)
  m = text.match(/^(.*) \[(....)\]$/)
  [m[1], m[2]]
end

def device(fields)
  parts = fields[0].split(/[:.]/)
  parts.unshift('0000') if parts.length == 3
  d = { short: fields[0], domain: parts[0], bus: parts[1], slot: parts[2],
        function: parts[3], address: parts.join(':') }
  d[:path] = "#{ROOT}/bus/pci/devices/#{parts[0..2].join(':')}.#{parts[3]}"
  numa = (File.read("#{d[:path]}/numa_node").chomp rescue '-')
  d[:numa] = numa.to_i.negative? ? '-' : numa
  d[:class_name], d[:class] = name_id(fields[1])
  d[:vendor_name], d[:vendor] = name_id(fields[2])
  d[:device_name], d[:device] = name_id(fields[3])
  d[:type] = "#{d[:vendor]}:#{d[:device]}:#{d[:class]}"
  d
end

def attr?(d, name)
  File.exist?("#{d[:path]}/#{name}")
end

def ifname(d)
  net = "#{d[:path]}/net"
  return '-' unless Dir.exist?(net)

  names = Dir.children(net)
  return '-' if names.empty?
  return names.first if names.size == 1

  names.find do |n|
    (File.read("#{net}/#{n}/phys_port_name").strip =~ /^p\d+$/ rescue false)
  end || '-'
end

items = [CONF[:filter]].flatten.flat_map { |f| f.to_s.split(',') }
devices = items.flat_map { |i| lspci(i).map { |f| device(f) } }

devices.each do |d|
  next if !CONF[:short_address].empty? &&
          !CONF[:short_address].include?(d[:short])
  next if !CONF[:device_name].empty? &&
          CONF[:device_name].none? { |p| d[:device_name] =~ /#{p}/i }

  nvidia = CONF[:nvidia_vendors].include?(d[:vendor])
  next if nvidia && attr?(d, 'virtfn0')

  sriov = if attr?(d, 'physfn') then 'vf'
          elsif attr?(d, 'sriov_numvfs') || attr?(d, 'sriov_totalvfs') then 'pf'
          else 'no'
          end
  num = attr?(d, 'sriov_numvfs') ? File.read("#{d[:path]}/sriov_numvfs").chomp : 0
  num = 0 if num == ''
  next if sriov == 'pf' && num.to_i > 0

  v = [['TYPE', d[:type]], ['VENDOR', d[:vendor]],
       ['VENDOR_NAME', d[:vendor_name]], ['DEVICE', d[:device]],
       ['CLASS', d[:class]], ['CLASS_NAME', d[:class_name]],
       ['ADDRESS', d[:address]], ['SHORT_ADDRESS', d[:short]],
       ['DOMAIN', d[:domain]], ['BUS', d[:bus]], ['SLOT', d[:slot]],
       ['FUNCTION', d[:function]], ['NUMA_NODE', d[:numa]],
       ['IFNAME', ifname(d)], ['SRIOV', sriov]]
  v << ['SRIOV_NUM', num] if sriov == 'pf'
  if nvidia && sriov == 'vf'
    v << ['DEVICE_NAME', 'NVIDIA vGPU device']
    mdev = "#{ROOT}/class/mdev_bus/#{d[:address].sub(/:(\d)$/, '.\1')}"
    v << ['MDEV_MODE', File.exist?(mdev) ? 'legacy' : 'nvidia']
  elsif nvidia
    v << ['DEVICE_NAME', "#{d[:vendor_name]} #{d[:device_name]}"]
  else
    v << ['DEVICE_NAME', d[:device_name]]
  end
  puts 'PCI = ['
  puts v.map { |k, x| %( #{k} = "#{x}" ) }.join(",\n")
  puts ']'
end
