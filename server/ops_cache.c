/*
 * The writers' copy of the stored inventory. Only touched under its own
 * lock, which a write operation holds from before its transaction until
 * after it has applied its commit to the copy. The copy is current while
 * the store's generation is the one of the last commit applied to it: a
 * commit that did not update it (a rescan) makes the next writer reload.
 */
#include <pthread.h>
#include <string.h>

#include "pcipassd.h"

static pthread_mutex_t		lock = PTHREAD_MUTEX_INITIALIZER;
static struct pp_inventory	cache;
static uint64_t			cache_gen;	/* 0: none */

void
cache_lock(void)
{
	pthread_mutex_lock(&lock);
}

void
cache_unlock(void)
{
	pthread_mutex_unlock(&lock);
}

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

/* After a commit of this thread whose changes it applied to the cache. */
void
cache_committed(void)
{
	cache_gen = store_last_commit();
}

void
cache_hold(struct pp_device *d, int vmid, int req_index,
    const struct pp_nic *nic)
{
	d->vmid = vmid;
	d->req_index = req_index;
	d->nic = *nic;
}

/* What free_held() did to the rows, done to the cache. */
void
cache_release(struct pp_inventory *inv, int vmid, pp_addr a, int one)
{
	size_t	i, j;

	for (i = j = 0; i < inv->ndev; i++) {
		struct pp_device	*d = &inv->dev[i];

		if (d->vmid == vmid && (!one || d->addr == a)) {
			if (!d->present)
				continue;
			d->vmid = -1;
			d->req_index = -1;
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
