/*
 * check_one.c: the OpenNebula integration (dist/opennebula/) as oned
 * drives it: `make install-opennebula` into a fake remotes tree whose
 * vmm/kvm/ holds a stand-in for each of OpenNebula's own KVM actions
 * (it records its arguments and standard input, and fails when told
 * to), then the wrappers of vmm/kvm-pcipass/ run with the arguments and
 * input oned's driver gives them (tests/data/one/: a deployment file and
 * a driver action's data, each noting how it was derived), against real
 * daemons on fake trees. A VM's lifecycle must never leave pcipassd and
 * oned apart.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static const char tree[] =
    "01:00.0 3D controller [0302]: NVIDIA Corporation GV100GL [10de:1db4]\n"
    "\tKernel driver in use: vfio-pci\n"
    "\tIOMMU group: 2\n"
    "02:00.0 Ethernet controller [0200]: Intel Corporation 82574L "
    "[8086:10d3]\n"
    "\tKernel driver in use: vfio-pci\n"
    "\tIOMMU group: 3\n"
    "03:00.0 VGA compatible controller [0300]: NVIDIA Corporation "
    "GA107M [10de:25e2]\n"
    "\tKernel driver in use: nouveau\n"
    "\tIOMMU group: 4\n"
    "03:00.1 Audio device [0403]: NVIDIA Corporation Device [10de:2291]\n"
    "\tKernel driver in use: snd_hda_intel\n"
    "\tIOMMU group: 4\n";

#define FILTER	":filter: '10de:*,8086:*'\n"

/* OpenNebula's KVM action, played: "ACTION ARGS" and its stdin logged. */
static const char standin[] =
    "#!/bin/sh\n"
    "# A stand-in for OpenNebula's own KVM action of this name.\n"
    "a=$(basename \"$0\")\n"
    "echo \"$a $*\" >> \"$ONE_CALLS\"\n"
    "cat > \"$ONE_CALLS.$a.stdin\"\n"
    "[ -e \"$ONE_CALLS.fail.$a\" ] && { echo \"$a failed\" >&2; exit 3; }\n"
    "[ \"$a\" = deploy ] && echo a0c4bf2f-3e0c-4e1b-9a7a-5d2c0c7f0001\n"
    "exit 0\n";

static const char *const actions[] = { "deploy", "shutdown", "cancel",
    "save", "restore", "attach_nic", "detach_nic", "poll", "reboot" };

static struct daemon	a, b;
static char		root[300], calls[400], mon[400], sess[400];
static char		*wout;		/* the last wrapper's stdout */
static pid_t		monitor;

static void
put(const char *path, const char *text, mode_t mode)
{
	write_file(path, text);
	ck_assert_int_eq(chmod(path, mode), 0);
}

static char *
fill(const char *file, const char *const *kv)
{
	char	 path[600], *s, *t, *p;
	size_t	 i;

	snprintf(path, sizeof(path), "%s/tests/data/one/%s", getenv("SRCDIR"),
	    file);
	s = read_file(path);
	ck_assert_msg(s != NULL, "%s", path);
	for (i = 0; kv[i] != NULL; i += 2)
		while ((p = strstr(s, kv[i])) != NULL) {
			ck_assert_int_ne(asprintf(&t, "%.*s%s%s", (int)(p - s),
			    s, kv[i + 1], p + strlen(kv[i])), -1);
			free(s);
			s = t;
		}
	return s;
}

static void
setup(void)
{
	char	path[600], cmd[1200];
	size_t	i;

	daemon_start(&a, tree_text(tree), FILTER, NULL);
	snprintf(root, sizeof(root), "%s", scratch_dir());
	snprintf(path, sizeof(path), "%s/remotes/vmm/kvm", root);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s' '%s/vms'", path, root);
	ck_assert_int_eq(system(cmd), 0);
	for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		snprintf(path, sizeof(path), "%s/remotes/vmm/kvm/%s", root,
		    actions[i]);
		put(path, standin, 0755);
	}
	snprintf(cmd, sizeof(cmd), "make -s -C '%s' DESTDIR='%s' "
	    "ONE_REMOTES=/remotes install-opennebula >/dev/null",
	    getenv("SRCDIR"), root);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(calls, sizeof(calls), "%s/calls", root);
	snprintf(sess, sizeof(sess), "%s/auth", root);
	put(sess, SESSION "\n", 0600);
	/* monitord's client: counts the SIGUSR1s that ask it to resend. */
	snprintf(mon, sizeof(mon), "%s/monitor.pid", root);
	snprintf(path, sizeof(path), "%s/monitor.usr1", root);
	if ((monitor = fork()) == 0) {
		execl("/bin/sh", "sh", "-c", "trap 'echo usr1 >> \"$1\"' USR1; "
		    "echo $$ > \"$2.tmp\" && mv \"$2.tmp\" \"$2\"; "
		    "while :; do sleep 0.05; done", "sh", path, mon,
		    (char *)NULL);
		_exit(127);
	}
	ck_assert_int_gt(monitor, 0);
	for (i = 0; i < 200 && access(mon, F_OK) != 0; i++)
		usleep(10000);	/* its pid file: a poll, bounded to 2 s */
	ck_assert_int_eq(access(mon, F_OK), 0);
}

static void
teardown(void)
{
	if (monitor > 0) {
		kill(monitor, SIGKILL);
		waitpid(monitor, NULL, 0);
		monitor = 0;
	}
	if (a.pid > 0)
		daemon_stop(&a);
	if (b.pid > 0)
		daemon_stop(&b);
	free(wout);
	wout = NULL;
	cleanup_dirs();
}

/*
 * Run the installed wrapper ACTION with args, stdin from text, against
 * daemon d, as oned's driver would on that host. Exit status; its
 * stderr in *err when err is not NULL.
 */
static int
wrapper(const struct daemon *d, const char *action, const char *args,
    const char *text, char **err)
{
	char	in[600], errf[600], outf[600], cmd[3000], bin[600], *p;
	int	st;

	snprintf(in, sizeof(in), "%s/stdin", root);
	snprintf(errf, sizeof(errf), "%s/stderr", root);
	snprintf(outf, sizeof(outf), "%s/stdout", root);
	write_file(in, text);
	snprintf(bin, sizeof(bin), "%s", getenv("PCIPASS"));
	if ((p = strrchr(bin, '/')) != NULL)
		*p = '\0';
	snprintf(cmd, sizeof(cmd), "ONE_CALLS='%s' PCIPASS_BIN='%s' "
	    "PCIPASS_AUTH='%s' PCIPASS_ENDPOINT=%s:%d "
	    "PCIPASS_MONITOR_PID='%s' '%s/remotes/vmm/kvm-pcipass/%s' %s "
	    "< '%s' > '%s' 2> '%s'", calls, bin, sess, d->host, d->port,
	    mon, root, action, args, in, outf, errf);
	st = system(cmd);
	if (err != NULL)
		*err = read_file(errf);
	free(wout);
	wout = read_file(outf);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* The deployment file of vmid with a PCI <hostdev> per address. */
static char *
deployment(int vmid, const char *const *addr)
{
	char	*hd = NULL, v[16];
	size_t	 len = 0, i;
	FILE	*fp = open_memstream(&hd, &len);
	unsigned d, bus, s, f;

	for (i = 0; addr[i] != NULL; i++) {
		ck_assert_int_eq(sscanf(addr[i], "%x:%x:%x:%x", &d, &bus, &s,
		    &f), 4);
		fprintf(fp, "\t\t<hostdev mode='subsystem' type='pci' "
		    "managed='yes'>\n\t\t\t<source>\n\t\t\t\t<address  "
		    "domain='0x%04x' bus='0x%02x' slot='0x%02x' "
		    "function='0x%x'/>\n\t\t\t</source>\n\t\t</hostdev>\n", d,
		    bus, s, f);
	}
	fclose(fp);
	snprintf(v, sizeof(v), "%d", vmid);
	{
		const char	*kv[] = { "@VMID@", v, "@HOSTDEVS@", hd, NULL };
		char		*out = fill("deployment.xml", kv);

		free(hd);
		return out;
	}
}

/* A driver action's data: vmid in LCM state lcm with PCI addresses. */
static char *
action(int vmid, int lcm, const char *const *addr, const char *attach)
{
	char	*pcis = NULL, v[16], l[16];
	size_t	 len = 0, i;
	FILE	*fp = open_memstream(&pcis, &len);

	for (i = 0; addr != NULL && addr[i] != NULL; i++)
		fprintf(fp, "<PCI><ADDRESS><![CDATA[%s]]></ADDRESS><CLASS>"
		    "<![CDATA[0302]]></CLASS><DEVICE><![CDATA[1db4]]></DEVICE>"
		    "<PCI_ID><![CDATA[%zu]]></PCI_ID><VENDOR><![CDATA[10de]]>"
		    "</VENDOR></PCI>", addr[i], i);
	if (attach != NULL)
		fprintf(fp, "<PCI><ADDRESS><![CDATA[%s]]></ADDRESS><ATTACH>"
		    "<![CDATA[YES]]></ATTACH><MAC><![CDATA[02:00:c0:a8:01:05]]>"
		    "</MAC><NIC_ID><![CDATA[1]]></NIC_ID><TYPE><![CDATA[NIC]]>"
		    "</TYPE></PCI>", attach);
	fclose(fp);
	snprintf(v, sizeof(v), "%d", vmid);
	snprintf(l, sizeof(l), "%d", lcm);
	{
		const char	*kv[] = { "@VMID@", v, "@LCM@", l, "@PCIS@",
				    pcis, NULL };
		char		*out = fill("action.xml", kv);

		free(pcis);
		return out;
	}
}

/*
 * deploy as oned runs it: vm.xml (the action data's <VM>, LCM state lcm)
 * written beside the deployment file first, then the wrapper.
 */
static int
deploy(const struct daemon *d, int vmid, int lcm, const char *const *addr,
    char **err)
{
	char	dir[600], path[700], args[800], *act, *vm, *end, *dom;
	int	rc;

	snprintf(dir, sizeof(dir), "%s/vms/%d", root, vmid);
	mkdir(dir, 0755);
	act = action(vmid, lcm, addr, NULL);
	vm = strstr(act, "<VM>");
	end = strstr(act, "</VM>");
	end[5] = '\0';
	snprintf(path, sizeof(path), "%s/vm.xml", dir);
	write_file(path, vm);
	free(act);
	dom = deployment(vmid, addr);
	snprintf(args, sizeof(args), "'%s/deployment.0' host-a %d host-a", dir,
	    vmid);
	rc = wrapper(d, "deploy", args, dom, err);
	free(dom);
	return rc;
}

/* The addresses vmid holds on d, "A B ...", from pci.vm. */
static char *
held(const struct daemon *d, int vmid)
{
	xmlrpc_env	 env;
	xmlrpc_value	*list, *v;
	char		 p[64], *buf = NULL;
	size_t		 len = 0;
	FILE		*fp = open_memstream(&buf, &len);
	int		 i, n, code;

	snprintf(p, sizeof(p), "<param><value><int>%d</int></value></param>",
	    vmid);
	ck_assert(rpc_ok(rpc(d, "pci.vm", p), &list, &code, NULL));
	xmlrpc_env_init(&env);
	n = xmlrpc_array_size(&env, list);
	for (i = 0; i < n; i++) {
		xmlrpc_array_read_item(&env, list, (unsigned)i, &v);
		fprintf(fp, "%s%s", i ? " " : "", field_str(v, "ADDRESS"));
		xmlrpc_DECREF(v);
	}
	xmlrpc_DECREF(list);
	xmlrpc_env_clean(&env);
	fclose(fp);
	return buf;
}

/* The stand-in's log: one "ACTION ARGS" line per call of OpenNebula's. */
static char *
one_calls(void)
{
	char	*s = read_file(calls);

	return s != NULL ? s : strdup("");
}

static void
one_fails(const char *act, int yes)
{
	char	path[600];

	snprintf(path, sizeof(path), "%s.fail.%s", calls, act);
	if (yes)
		write_file(path, "");
	else
		unlink(path);
}

/* SIGUSR1s monitord's client got, waited for up to 2 s. */
static int
resends(int want)
{
	char	path[600], *s, *p;
	int	i, n = 0;

	snprintf(path, sizeof(path), "%s/monitor.usr1", root);
	for (i = 0; i < 200; i++) {
		n = 0;
		if ((s = read_file(path)) != NULL) {
			for (p = s; (p = strstr(p, "usr1")) != NULL; p++)
				n++;
			free(s);
		}
		if (n >= want)
			break;
		usleep(10000);
	}
	return n;
}

static const char *const gpu[] = { "0000:01:00:0", NULL };

/*
 * Driver action name (shutdown, cancel, save, restore) on host for vmid,
 * holding the GPU, in LCM state lcm, with the arguments oned's driver
 * gives it (one_vmm_exec.rb); its exit status.
 */
static int
act_on(const struct daemon *d, const char *host, const char *name,
    int vmid, int lcm)
{
	char	args[300], *act = action(vmid, lcm, gpu, NULL);
	int	rc;

	if (strcmp(name, "save") == 0)
		snprintf(args, sizeof(args), "one-%d /ds/%d/checkpoint %s %d %s",
		    vmid, vmid, host, vmid, host);
	else if (strcmp(name, "restore") == 0)
		snprintf(args, sizeof(args), "/ds/%d/checkpoint %s one-%d %d %s",
		    vmid, host, vmid, vmid, host);
	else
		snprintf(args, sizeof(args), "one-%d %s %d %s", vmid, host, vmid,
		    host);
	rc = wrapper(d, name, args, act, NULL);
	free(act);
	return rc;
}

/* Deploy, then terminate: held while it runs, free after; oned told. */
START_TEST(deploy_then_terminate)
{
	char	*dom, *err, want[800];

	ck_assert_int_eq(deploy(&a, 42, 2, gpu, &err), 0);
	ck_assert_str_eq(err, "");
	/* What OpenNebula's deploy printed, and nothing else, for oned. */
	ck_assert_str_eq(wout, "a0c4bf2f-3e0c-4e1b-9a7a-5d2c0c7f0001\n");
	ck_assert_str_eq(held(&a, 42), "0000:01:00:0");
	snprintf(want, sizeof(want), "deploy %s/vms/42/deployment.0 host-a 42 "
	    "host-a\n", root);
	ck_assert_str_eq(one_calls(), want);
	/* OpenNebula's deploy read exactly what oned sent. */
	dom = deployment(42, gpu);
	snprintf(want, sizeof(want), "%s.deploy.stdin", calls);
	ck_assert_str_eq(read_file(want), dom);
	ck_assert_int_ge(resends(1), 1);
	/* SHUTDOWN: terminate. */
	ck_assert_int_eq(act_on(&a, "host-a", "shutdown", 42, 12), 0);
	ck_assert_str_eq(held(&a, 42), "");
	ck_assert_msg(strstr(one_calls(), "\nshutdown one-42 host-a 42 "
	    "host-a\n") != NULL, "%s", one_calls());
	ck_assert_int_ge(resends(2), 2);
	/* terminate --hard: cancel, the same. */
	ck_assert_int_eq(deploy(&a, 42, 2, gpu, NULL), 0);
	ck_assert_int_eq(act_on(&a, "host-a", "cancel", 42, 12), 0);
	ck_assert_str_eq(held(&a, 42), "");
	ck_assert_msg(strstr(one_calls(), "\ncancel one-42 host-a 42 "
	    "host-a\n") != NULL, "%s", one_calls());
	free(dom);
}
END_TEST

/*
 * The IOMMU rule refuses 03:00.0 alone (its audio function is on
 * snd_hda_intel): the deploy fails with pcipass's reason, OpenNebula's
 * deploy never runs, nothing is held.
 */
START_TEST(deploy_refused_by_rule)
{
	static const char *const vga[] = { "0000:03:00:0", NULL };
	char	*err, *before = list_summary(&a);

	ck_assert_int_eq(deploy(&a, 43, 2, vga, &err), 1);
	ck_assert_msg(strstr(err, "pcipass: VM 43: ") != NULL &&
	    strstr(err, "0000:03:00:1") != NULL &&
	    strstr(err, "snd_hda_intel") != NULL, "%s", err);
	ck_assert_str_eq(one_calls(), "");
	ck_assert_str_eq(list_summary(&a), before);
	/* Both functions, as oned would give them with the group: fine. */
	{
		static const char *const both[] = { "0000:03:00:0",
		    "0000:03:00:1", NULL };

		ck_assert_int_eq(deploy(&a, 43, 2, both, &err), 0);
		ck_assert_str_eq(held(&a, 43), "0000:03:00:0 0000:03:00:1");
	}
}
END_TEST

/*
 * Killed between pcipass's allocate and OpenNebula's deploy (the
 * allocate alone ran), oned retries the deploy: the same devices, held
 * once, and OpenNebula's deploy runs once.
 */
START_TEST(deploy_retried_after_kill)
{
	char	*dom, path[600], cmd[2000];

	dom = deployment(44, gpu);
	snprintf(path, sizeof(path), "%s/dom44.xml", root);
	write_file(path, dom);
	snprintf(cmd, sizeof(cmd), "PCIPASS_AUTH='%s' PCIPASS_ENDPOINT=%s:%d "
	    "'%s' allocate 44 --from '%s' > /dev/null", sess, a.host, a.port,
	    getenv("PCIPASS"), path);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_str_eq(held(&a, 44), "0000:01:00:0");
	ck_assert_str_eq(one_calls(), "");
	ck_assert_int_eq(deploy(&a, 44, 2, gpu, NULL), 0);
	ck_assert_str_eq(held(&a, 44), "0000:01:00:0");
	snprintf(cmd, sizeof(cmd), "deploy %s/vms/44/deployment.0 host-a 44 "
	    "host-a\n", root);
	ck_assert_str_eq(one_calls(), cmd);	/* once */
	free(dom);
}
END_TEST

/*
 * OpenNebula's deploy fails: a first boot gives the devices back; a
 * resume from poweroff keeps them (oned does).
 */
START_TEST(failed_deploy)
{
	char	*err;

	one_fails("deploy", 1);
	ck_assert_int_eq(deploy(&a, 45, 2, gpu, &err), 3);
	ck_assert_msg(strstr(err, "deploy failed") != NULL, "%s", err);
	ck_assert_str_eq(held(&a, 45), "");
	one_fails("deploy", 0);
	ck_assert_int_eq(deploy(&a, 45, 2, gpu, NULL), 0);
	/* SHUTDOWN_POWEROFF, then a resume (BOOT_POWEROFF) that fails. */
	ck_assert_int_eq(act_on(&a, "host-a", "shutdown", 45, 18), 0);
	ck_assert_str_eq(held(&a, 45), "0000:01:00:0");
	one_fails("deploy", 1);
	ck_assert_int_eq(deploy(&a, 45, 20, gpu, NULL), 3);
	ck_assert_str_eq(held(&a, 45), "0000:01:00:0");
}
END_TEST

/*
 * Cold migrate from host A to host B (save on A, restore on B): B takes
 * the devices of the VM's PCI vectors before OpenNebula's restore, A
 * gives its own back after the save.
 */
START_TEST(cold_migrate)
{
	daemon_start(&b, tree_text(tree), FILTER, NULL);
	ck_assert_int_eq(deploy(&a, 46, 2, gpu, NULL), 0);
	/* SAVE_MIGRATE on A, BOOT_MIGRATE on B. */
	ck_assert_int_eq(act_on(&a, "host-a", "save", 46, 7), 0);
	ck_assert_str_eq(held(&a, 46), "");
	ck_assert_int_eq(act_on(&b, "host-b", "restore", 46, 35), 0);
	ck_assert_str_eq(held(&b, 46), "0000:01:00:0");
	ck_assert_msg(strstr(one_calls(), "\nsave one-46 /ds/46/checkpoint "
	    "host-a 46 host-a\nrestore /ds/46/checkpoint host-b one-46 46 "
	    "host-b\n") != NULL, "%s", one_calls());
}
END_TEST

/* Undeploy gives back; resume takes again. Suspend keeps. */
START_TEST(undeploy_resume_suspend)
{
	char	*err;

	ck_assert_int_eq(deploy(&a, 48, 2, gpu, NULL), 0);
	/* SHUTDOWN_UNDEPLOY, then the resume's BOOT_UNDEPLOY. */
	ck_assert_int_eq(act_on(&a, "host-a", "shutdown", 48, 29), 0);
	ck_assert_str_eq(held(&a, 48), "");
	ck_assert_int_eq(deploy(&a, 48, 32, gpu, &err), 0);
	ck_assert_str_eq(held(&a, 48), "0000:01:00:0");
	/* SAVE_SUSPEND, then BOOT_SUSPENDED: kept, re-asserted. */
	ck_assert_int_eq(act_on(&a, "host-a", "save", 48, 6), 0);
	ck_assert_str_eq(held(&a, 48), "0000:01:00:0");
	ck_assert_int_eq(act_on(&a, "host-a", "restore", 48, 21), 0);
	ck_assert_str_eq(held(&a, 48), "0000:01:00:0");
	/* SAVE_STOP: the VM leaves the host. */
	ck_assert_int_eq(act_on(&a, "host-a", "save", 48, 5), 0);
	ck_assert_str_eq(held(&a, 48), "");
}
END_TEST

/* Poweroff keeps; the resume re-asserts the same devices. */
START_TEST(poweroff_keeps)
{
	char	*before;

	ck_assert_int_eq(deploy(&a, 49, 2, gpu, NULL), 0);
	/* SHUTDOWN_POWEROFF, then the resume's BOOT_POWEROFF. */
	ck_assert_int_eq(act_on(&a, "host-a", "shutdown", 49, 18), 0);
	before = list_summary(&a);
	ck_assert_str_eq(held(&a, 49), "0000:01:00:0");
	ck_assert_int_eq(deploy(&a, 49, 20, gpu, NULL), 0);
	ck_assert_str_eq(list_summary(&a), before);
	/* A failed shutdown: the VM still runs, nothing changes. */
	one_fails("shutdown", 1);
	ck_assert_int_eq(act_on(&a, "host-a", "shutdown", 49, 12), 3);
	ck_assert_str_eq(list_summary(&a), before);
}
END_TEST

/* A PCI NIC hot-plugged and unplugged: pci.attach, pci.detach. */
START_TEST(pci_nic_hotplug)
{
	char	*act, *err;

	ck_assert_int_eq(deploy(&a, 50, 2, gpu, NULL), 0);
	act = action(50, 25, gpu, "0000:02:00:0");	/* HOTPLUG_NIC */
	ck_assert_int_eq(wrapper(&a, "attach_nic", "one-50 02:00:c0:a8:01:05 "
	    "- 50 host-a", act, &err), 0);
	ck_assert_str_eq(err, "");
	ck_assert_str_eq(held(&a, 50), "0000:01:00:0 0000:02:00:0");
	ck_assert_int_eq(wrapper(&a, "detach_nic", "one-50 02:00:c0:a8:01:05 "
	    "50 host-a", act, NULL), 0);
	ck_assert_str_eq(held(&a, 50), "0000:01:00:0");
	/* OpenNebula's attach fails: the NIC goes back. */
	one_fails("attach_nic", 1);
	ck_assert_int_eq(wrapper(&a, "attach_nic", "one-50 02:00:c0:a8:01:05 "
	    "- 50 host-a", act, NULL), 3);
	ck_assert_str_eq(held(&a, 50), "0000:01:00:0");
	free(act);
}
END_TEST

/*
 * A legacy vGPU: oned writes <hostdev type='mdev'> with the VF's UUID
 * (LibVirtDriverKVM); the deploy takes the VF that UUID names, with the
 * PROFILE of its PCI vector in the vm.xml oned wrote beside it. The tree
 * is tests/trees.h's NVIDIA A10 with its VFs as vGPUs (a test helper
 * plays the kernel's part: Debian's kernel has no vGPU parent).
 */
START_TEST(deploy_mdev_by_uuid)
{
	xmlrpc_value	*list;
	const char	*uuid;
	char		*dom, *hd, dir[600], args[800], *err;
	int		 code;

	daemon_start(&b, tree_nvidia_vgpu(), ":filter: '10de:*'\n", NULL);
	ck_assert(rpc_ok(rpc(&b, "pci.list", NULL), &list, &code, NULL));
	uuid = field_str(find_addr(list, "0000:01:00:4"), "UUID");
	ck_assert_int_eq((int)strlen(uuid), 36);
	ck_assert_int_ne(asprintf(&hd, "\t\t<hostdev mode='subsystem' "
	    "type='mdev' model='vfio-pci'>\n\t\t\t<source>\n\t\t\t\t"
	    "<address  uuid='%s'/>\n\t\t\t</source>\n\t\t</hostdev>\n",
	    uuid), -1);
	{
		const char	*kv[] = { "@VMID@", "51", "@HOSTDEVS@", hd,
				    NULL };

		dom = fill("deployment.xml", kv);
	}
	snprintf(dir, sizeof(dir), "%s/vms/51", root);
	mkdir(dir, 0755);
	{
		static const char *const vf[] = { "0000:01:00:4", NULL };
		char	*act = action(51, 2, vf, NULL), *vm, *end, *p;

		/* oned's vGPU vector: the type OpenNebula will make. */
		ck_assert_ptr_nonnull(p = strstr(act, "<PCI_ID>"));
		ck_assert_int_ne(asprintf(&vm, "%.*s<PROFILE><![CDATA["
		    "nvidia-558]]></PROFILE>%s", (int)(p - act), act, p), -1);
		free(act);
		act = strstr(vm, "<VM>");
		end = strstr(act, "</VM>");
		end[5] = '\0';
		snprintf(args, sizeof(args), "%s/vm.xml", dir);
		write_file(args, act);
		free(vm);
	}
	snprintf(args, sizeof(args), "'%s/deployment.0' host-b 51 host-b",
	    dir);
	ck_assert_int_eq(wrapper(&b, "deploy", args, dom, &err), 0);
	ck_assert_str_eq(err, "");
	ck_assert_str_eq(held(&b, 51), "0000:01:00:4");
	{
		char	p51[80];
		xmlrpc_value	*l2;

		snprintf(p51, sizeof(p51), "%s", P_INT(51));
		ck_assert(rpc_ok(rpc(&b, "pci.vm", p51), &l2, &code, NULL));
		ck_assert_str_eq(field_str(find_addr(l2, "0000:01:00:4"),
		    "PROFILE"), "nvidia-558");
		xmlrpc_DECREF(l2);
	}
	/* A UUID no VF has: refused before OpenNebula's deploy. */
	free(dom);
	{
		const char	*kv[] = { "@VMID@", "52", "@HOSTDEVS@",
				    "<hostdev mode='subsystem' type='mdev'>"
				    "<source><address uuid='00000000-0000-"
				    "0000-0000-000000000000'/></source>"
				    "</hostdev>", NULL };

		dom = fill("deployment.xml", kv);
	}
	ck_assert_int_eq(wrapper(&b, "deploy", "/x/deployment.0 host-b 52 "
	    "host-b", dom, &err), 1);
	ck_assert_msg(strstr(err, "mdev 00000000-0000-0000-0000-000000000000: "
	    "no vGPU with that UUID on this host") != NULL, "%s", err);
	ck_assert_msg(strstr(one_calls(), "52") == NULL, "%s", one_calls());
	xmlrpc_DECREF(list);
	free(dom);
	free(hd);
}
END_TEST

/*
 * A VM without PCI devices never asks pcipassd: its deploy and shutdown
 * work with no daemon at all (the endpoint here answers nobody).
 */
START_TEST(no_pci_no_daemon)
{
	struct daemon	 none = a;
	static const char *const nothing[] = { NULL };
	char		*act, *err;

	none.port = 1;
	ck_assert_int_eq(deploy(&none, 53, 2, nothing, &err), 0);
	ck_assert_str_eq(err, "");
	ck_assert_str_eq(wout, "a0c4bf2f-3e0c-4e1b-9a7a-5d2c0c7f0001\n");
	act = action(53, 12, NULL, NULL);
	ck_assert_int_eq(wrapper(&none, "shutdown", "one-53 host-a 53 host-a",
	    act, &err), 0);
	ck_assert_str_eq(err, "");
	/* With devices and no daemon: the deploy fails, said why. */
	ck_assert_int_eq(deploy(&none, 54, 2, gpu, &err), 1);
	ck_assert_msg(strstr(err, "pcipass: VM 54: ") != NULL, "%s", err);
	ck_assert_msg(strstr(one_calls(), "deploy") != NULL &&
	    strstr(one_calls(), " 54 ") == NULL, "%s", one_calls());
	free(act);
}
END_TEST

/*
 * oned's list changed while the VM was off (onevm pci-attach in
 * poweroff): the resume's deploy names devices other than those held;
 * oned's choice wins, in one deploy.
 */
START_TEST(resume_with_another_list)
{
	static const char *const nic[] = { "0000:02:00:0", NULL };
	char	*err;

	ck_assert_int_eq(deploy(&a, 55, 2, gpu, NULL), 0);
	ck_assert_int_eq(deploy(&a, 55, 20, nic, &err), 0);
	ck_assert_msg(strstr(err, "held other devices here; released them "
	    "for oned's choice") != NULL, "%s", err);
	ck_assert_str_eq(held(&a, 55), "0000:02:00:0");
}
END_TEST

/* Every action the wrappers do not take is OpenNebula's own, linked. */
START_TEST(other_actions_are_opennebulas)
{
	char	path[600], target[600];
	ssize_t	n;

	snprintf(path, sizeof(path), "%s/remotes/vmm/kvm-pcipass/poll", root);
	n = readlink(path, target, sizeof(target) - 1);
	ck_assert_int_gt(n, 0);
	target[n] = '\0';
	ck_assert_str_eq(target, "../kvm/poll");
	snprintf(path, sizeof(path), "%s/remotes/vmm/kvm-pcipass/cancel",
	    root);
	n = readlink(path, target, sizeof(target) - 1);
	ck_assert_int_gt(n, 0);
	target[n] = '\0';
	ck_assert_str_eq(target, "shutdown");
	ck_assert_int_eq(wrapper(&a, "poll", "one-1 host-a 1 host-a", "<x/>",
	    NULL), 0);
	ck_assert_str_eq(one_calls(), "poll one-1 host-a 1 host-a\n");
}
END_TEST

Suite *
one_suite(void)
{
	Suite	*s = suite_create("one");
	TCase	*tc = tcase_create("one");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, deploy_then_terminate);
	tcase_add_test(tc, deploy_refused_by_rule);
	tcase_add_test(tc, deploy_retried_after_kill);
	tcase_add_test(tc, failed_deploy);
	tcase_add_test(tc, cold_migrate);
	tcase_add_test(tc, undeploy_resume_suspend);
	tcase_add_test(tc, poweroff_keeps);
	tcase_add_test(tc, pci_nic_hotplug);
	tcase_add_test(tc, deploy_mdev_by_uuid);
	tcase_add_test(tc, no_pci_no_daemon);
	tcase_add_test(tc, resume_with_another_list);
	tcase_add_test(tc, other_actions_are_opennebulas);
	suite_add_tcase(s, tc);
	return s;
}
