/*
 * One copy of each catalog string a device record points to: names from
 * pci.ids, drivers, vGPU profile lists, host-critical reasons. A big host
 * has thousands of devices but few distinct such strings, and a record
 * holding them in fixed buffers was ~4 KB, kept twice (snapshot.c).
 *
 * Strings are immutable and live as long as the process, so a record
 * can be copied, moved or freed without caring who else points to the
 * same text. Their number is bounded by the host's hardware and config,
 * not by its traffic: what comes from clients (NIC attributes, VM IDs)
 * stays the record's own (extra.c).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pcipassd.h"

const char	pp_empty[] = "";

static pthread_mutex_t	 mu = PTHREAD_MUTEX_INITIALIZER;
static const char	**slot;		/* open addressing, NULL empty */
static size_t		 nslot, nused;

static uint64_t
hash(const char *s)
{
	uint64_t	h = 14695981039346656037ULL;	/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static const char **
find(const char **tab, size_t n, const char *s)
{
	size_t	i = (size_t)hash(s) & (n - 1);

	while (tab[i] != NULL && strcmp(tab[i], s) != 0)
		i = (i + 1) & (n - 1);
	return &tab[i];
}

/* Twice the slots, at half full. */
static int
grow(void)
{
	const char	**tab;
	size_t		  n = nslot ? nslot * 2 : 256, i;

	if ((tab = calloc(n, sizeof(*tab))) == NULL)
		return -1;
	for (i = 0; i < nslot; i++)
		if (slot[i] != NULL)
			*find(tab, n, slot[i]) = slot[i];
	free(slot);
	slot = tab;
	nslot = n;
	return 0;
}

/*
 * The one copy of s. Out of memory the daemon cannot keep an inventory
 * at all, and exits (fatalx): the ledger is on disk.
 */
const char *
intern(const char *s)
{
	const char	**p, *r;
	char		 *copy;

	if (s == NULL || *s == '\0')
		return pp_empty;
	pthread_mutex_lock(&mu);
	if ((nused + 1) * 2 > nslot && grow() < 0)
		fatalx("intern: out of memory");
	if ((r = *(p = find(slot, nslot, s))) == NULL) {
		if ((copy = strdup(s)) == NULL)
			fatalx("intern: out of memory");
		r = *p = copy;
		nused++;
	}
	pthread_mutex_unlock(&mu);
	return r;
}

/* The interned fields of a record made by memset or calloc: all "". */
void
device_strings_init(struct pp_device *d)
{
	d->vendor_name = d->device_name = d->class_name = pp_empty;
	d->driver = d->profiles = d->creatable = d->vgpu = pp_empty;
	d->critical = pp_empty;
}
