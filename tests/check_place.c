/*
 * check_place.c: placement over five daemons on 127.0.0.11-15, each with
 * a different tree; stopped and silent hosts; two placements racing.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pcipass.h"
#include "harness.h"

#define NHOST	5

#define GPU(bus, dev, grp) bus ":00.0 3D controller [0302]: NVIDIA " \
	"Corporation GPU [10de:" dev "] (rev a1)\n\tIOMMU group: " grp "\n\n"
#define NIC(bus, grp) bus ":00.0 Ethernet controller [0200]: Intel " \
	"Corporation 82574L [8086:10d3]\n\tIOMMU group: " grp "\n\n"
#define AMD(bus, grp) bus ":00.0 VGA compatible controller [0300]: " \
	"Advanced Micro Devices, Inc. [AMD/ATI] Ellesmere [1002:67df]\n" \
	"\tIOMMU group: " grp "\n\n"

/* .11 NIC; .12 one V100; .13 one T4; .14 two V100; .15 NIC + AMD. */
static const char *const trees[NHOST] = {
	NIC("01", "1"),
	GPU("01", "1db4", "1"),
	GPU("01", "1eb8", "1"),
	GPU("01", "1db4", "1") GPU("02", "1db4", "2"),
	NIC("01", "1") AMD("02", "2"),
};

static struct daemon	 d[NHOST];
static char		 ep[NHOST + 1][64];
static const char	*hosts[NHOST + 1];

static void
setup(void)
{
	char	addr[32];
	int	i;

	for (i = 0; i < NHOST; i++) {
		snprintf(addr, sizeof(addr), "127.0.0.%d", 11 + i);
		daemon_start_at(&d[i], addr, tree_text(trees[i]),
		    ":filter: '*:*'\n", NULL);
		snprintf(ep[i], sizeof(ep[i]), "%s:%d", addr, d[i].port);
		hosts[i] = ep[i];
	}
}

static void
teardown(void)
{
	int	i;

	for (i = 0; i < NHOST; i++)
		if (d[i].pid > 0)
			daemon_stop(&d[i]);
	cleanup_dirs();
}

static pcipass_request_list *
reqs(const char *spec)
{
	pcipass_request_list	*l;

	ck_assert_int_eq(pcipass_request_list_new(&l), 0);
	ck_assert_int_eq(pcipass_request_parse(l, spec), 0);
	return l;
}

static long
ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Place and return the chosen endpoint's index in hosts[], or -1. */
static int
place(const char *const *h, size_t n, int vmid, const char *spec,
    int policy, int deadline)
{
	pcipass_request_list	*r = reqs(spec);
	pcipass_placement	*p;
	size_t			 i;
	int			 rc, at = -1;

	rc = pcipass_place(&p, h, n, SESSION, vmid, r, policy, deadline);
	pcipass_request_list_free(r);
	if (rc < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (strcmp(h[i], pcipass_placement_host(p)) == 0)
			at = (int)i;
	ck_assert_int_ge((int)pcipass_device_list_count(
	    pcipass_placement_devices(p)), 1);
	ck_assert_int_eq(pcipass_device_get_int(pcipass_device_list_get(
	    pcipass_placement_devices(p), 0), "VMID", -1), vmid);
	pcipass_placement_free(p);
	return at;
}

/* How many devices are held on daemon i. */
static int
held(int i)
{
	char	*s = list_summary(&d[i]), *p;
	int	 n = 0;

	for (p = s; (p = strstr(p, " used")) != NULL; p++)
		n++;
	free(s);
	return n;
}

START_TEST(t_fits)
{
	ck_assert_int_eq(place(hosts, NHOST, 7, "VENDOR=1002",
	    PCIPASS_POLICY_FIRST, 3000), 4);
	ck_assert_int_eq(held(4), 1);
	ck_assert_int_eq(place(hosts, NHOST, 8, "CLASS=0302,DEVICE=1eb8",
	    PCIPASS_POLICY_MOST_FREE, 3000), 2);
}
END_TEST

START_TEST(t_policy)
{
	ck_assert_int_eq(place(hosts, NHOST, 1, "VENDOR=10de,DEVICE=1db4",
	    PCIPASS_POLICY_FIRST, 3000), 1);
	ck_assert_int_eq(place(hosts, NHOST, 2, "VENDOR=10de,DEVICE=1db4",
	    PCIPASS_POLICY_MOST_FREE, 3000), 3);
	/* .12 is full now: first goes on to .14. */
	ck_assert_int_eq(place(hosts, NHOST, 3, "VENDOR=10de,DEVICE=1db4",
	    PCIPASS_POLICY_FIRST, 3000), 3);
}
END_TEST

START_TEST(t_nowhere)
{
	const pcipass_error	*e;
	char			 want[512];
	size_t			 n = 0;
	int			 i;

	ck_assert_int_eq(place(hosts, NHOST, 9, "VENDOR=dead",
	    PCIPASS_POLICY_FIRST, 3000), -1);
	e = pcipass_error_last();
	ck_assert_int_eq(e->code, PCIPASS_EALLOCATE);
	n = (size_t)snprintf(want, sizeof(want), "Cannot dispatch VM 9: "
	    "Unavailable PCI devices on hosts: ");
	for (i = 0; i < NHOST; i++)
		n += (size_t)snprintf(want + n, sizeof(want) - n, "%s%s",
		    i ? "," : "", ep[i]);
	snprintf(want + n, sizeof(want) - n, "\n%s: ", ep[0]);
	ck_assert_msg(strncmp(e->message, want, strlen(want)) == 0,
	    "got: %s", e->message);
	for (i = 0; i < NHOST; i++) {
		snprintf(want, sizeof(want), "\n%s: request 0 (VENDOR=dead)",
		    ep[i]);
		ck_assert_msg(strstr(e->message, want) != NULL, "%s", want);
		ck_assert_int_eq(held(i), 0);
	}
}
END_TEST

START_TEST(t_stopped)
{
	long	t0;

	daemon_stop(&d[1]);
	t0 = ms();
	ck_assert_int_eq(place(hosts, NHOST, 4, "VENDOR=10de,DEVICE=1db4",
	    PCIPASS_POLICY_FIRST, 2000), 3);
	ck_assert_int_lt(ms() - t0, 2000);
}
END_TEST

/* A host that accepts connections (the kernel does) but never answers. */
START_TEST(t_silent)
{
	struct sockaddr_in	 sin = { .sin_family = AF_INET };
	socklen_t		 len = sizeof(sin);
	const char		*h[NHOST + 1];
	char			 silent[64];
	long			 t0, dt;
	int			 fd, i;

	inet_pton(AF_INET, "127.0.0.16", &sin.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	getsockname(fd, (struct sockaddr *)&sin, &len);
	snprintf(silent, sizeof(silent), "127.0.0.16:%d", ntohs(sin.sin_port));
	h[0] = silent;
	for (i = 0; i < NHOST; i++)
		h[i + 1] = hosts[i];
	t0 = ms();
	ck_assert_int_eq(place(h, NHOST + 1, 5, "VENDOR=1002",
	    PCIPASS_POLICY_FIRST, 1000), 5);
	dt = ms() - t0;
	/* pci.test waits half the deadline for the silent host, no more. */
	ck_assert_int_ge(dt, 450);
	ck_assert_int_lt(dt, 1000);
	/* With the silent host the only one that could fit: a clear no. */
	t0 = ms();
	ck_assert_int_eq(place(h, 1, 6, "VENDOR=1002", PCIPASS_POLICY_FIRST,
	    600), -1);
	ck_assert_int_lt(ms() - t0, 700);
	ck_assert_ptr_nonnull(strstr(pcipass_error_last()->message,
	    "no answer to pci.test within 300 ms"));
	close(fd);
}
END_TEST

struct racer {
	int		 vmid;
	int		 at;
	int		 code;
};

static void *
race(void *arg)
{
	struct racer	*r = arg;

	r->at = place(hosts, NHOST, r->vmid, "DEVICE=1eb8",
	    PCIPASS_POLICY_FIRST, 3000);
	r->code = r->at < 0 ? pcipass_error_last()->code : 0;
	return NULL;
}

/* Two placements for the one T4: one gets it, one fails clearly. */
START_TEST(t_race)
{
	struct racer	 r[2];
	pthread_t	 th[2];
	pcipass_client	*c;
	int		 round, i, w, n;

	for (round = 0; round < 5; round++) {
		for (i = 0; i < 2; i++) {
			r[i].vmid = 100 + 2 * round + i;
			pthread_create(&th[i], NULL, race, &r[i]);
		}
		for (i = 0; i < 2; i++)
			pthread_join(th[i], NULL);
		w = r[0].at == 2 ? 0 : 1;
		ck_assert_int_eq(r[w].at, 2);
		ck_assert_int_eq(r[!w].at, -1);
		ck_assert_int_eq(r[!w].code, PCIPASS_EALLOCATE);
		ck_assert_int_eq(held(2), 1);
		for (i = 0; i < NHOST; i++)
			if (i != 2)
				ck_assert_int_eq(held(i), 0);
		ck_assert_int_eq(pcipass_client_new(&c, ep[2], SESSION), 0);
		ck_assert_int_eq(pcipass_release(&n, c, r[w].vmid), 0);
		ck_assert_int_eq(n, 1);
		pcipass_client_free(c);
	}
}
END_TEST

Suite *
place_suite(void)
{
	Suite	*s = suite_create("place");
	TCase	*tc = tcase_create("five hosts");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t_fits);
	tcase_add_test(tc, t_policy);
	tcase_add_test(tc, t_nowhere);
	tcase_add_test(tc, t_stopped);
	tcase_add_test(tc, t_silent);
	tcase_add_test(tc, t_race);
	suite_add_tcase(s, tc);
	return s;
}
