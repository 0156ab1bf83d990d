/*
 * The writers' copy of the stored inventory. Only touched under the batch
 * lock (ops_batch.c), and it carries the open batch's uncommitted
 * changes. It is current while the store's generation is the one of the
 * last commit applied to it: a commit that did not update it (a rescan)
 * makes the next writer reload it, and so does a failed batch.
 */
#include <string.h>

#include "pcipassd.h"

static struct pp_inventory	cache;
static uint64_t			cache_gen;	/* 0: none */

struct pp_inventory *
cache_current(sqlite3 *db)
{
	if (cache_gen != 0 && cache_gen == store_generation())
		return &cache;
	inventory_free(&cache);
	cache_gen = 0;
	if (store_load(db, &cache) < 0)
		return NULL;
	cache_gen = store_generation();
	return &cache;
}

/* After a commit at generation gen whose changes are in the cache. */
void
cache_committed_at(uint64_t gen)
{
	cache_gen = gen;
}

/* After a failed batch: the cache holds changes that are not stored. */
void
cache_invalidate(void)
{
	cache_gen = 0;
}

void
cache_hold(struct pp_device *d, int vmid, int req_index,
    const struct pp_nic *nic, const char *profile, int64_t taken)
{
	d->vmid = vmid;
	d->req_index = req_index;
	d->nic = *nic;
	d->taken = taken;
	snprintf(d->profile, sizeof(d->profile), "%s", profile);
}

/* What free_held() did to the rows, done to the cache. */
void
cache_release(struct pp_inventory *inv, int vmid, pp_addr a, int one,
    int64_t now)
{
	size_t	i, j;

	for (i = j = 0; i < inv->ndev; i++) {
		struct pp_device	*d = &inv->dev[i];

		if (d->vmid == vmid && (!one || d->addr == a)) {
			if (!d->present)
				continue;
			d->vmid = -1;
			d->req_index = -1;
			d->taken = 0;
			d->freed = now;
			d->profile[0] = '\0';
			memset(&d->nic, 0, sizeof(d->nic));
		}
		if (i != j)
			inv->dev[j] = *d;
		j++;
	}
	inv->ndev = j;
}

void
cache_free(void)
{
	inventory_free(&cache);
	cache_gen = 0;
}

/* A device's driver changed under our hands (a bind). */
void
cache_driver(struct pp_inventory *inv, pp_addr a, const char *driver)
{
	struct pp_device	*d = inventory_find(inv, a);

	if (d != NULL)
		snprintf(d->driver, sizeof(d->driver), "%s", driver);
}
