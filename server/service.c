/*
 * The daemon's shared state: configuration, the filter (replaced on
 * SIGHUP), one sqlite connection per thread, and the rescan that keeps the
 * store in line with sysfs.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcipassd.h"

static const struct pp_config	*conf;
static struct pp_filter		*filter;
static pthread_mutex_t		 scan_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t		 db_key;
static sqlite3			*writers;

static void
db_destroy(void *db)
{
	store_close(db);
}

static void
report_log(const char *msg, void *arg)
{
	(void)arg;
	log_warnx("%s", msg);
}

/* Takes ownership of f. */
int
service_init(const struct pp_config *c, struct pp_filter *f)
{
	sqlite3	*db;

	conf = c;
	filter = f;
	if (pthread_key_create(&db_key, db_destroy) != 0)
		return -1;
	if ((db = store_open(c->db, 1)) == NULL)
		return -1;
	pthread_setspecific(db_key, db);
	/* Writers share one connection, used under the batch lock. */
	if ((writers = store_open(c->db, 0)) == NULL)
		return -1;
	batch_set_db(writers);
	return 0;
}

const struct pp_config *
service_conf(void)
{
	return conf;
}

int
service_flags(void)
{
	return conf->bind_vfio ? OP_BIND : 0;
}

/* This thread's connection, opened on first use; NULL on failure. */
sqlite3 *
service_db(void)
{
	sqlite3	*db = pthread_getspecific(db_key);

	if (db == NULL && (db = store_open(conf->db, 0)) != NULL)
		pthread_setspecific(db_key, db);
	else if (db == NULL)
		store_mark_same();	/* says so when the file is gone */
	return db;
}

/* Scan sysfs and sync the store. */
int
service_rescan(struct sync_counts *c)
{
	struct pp_inventory	 inv;
	sqlite3			*db;
	int			 rc = -1;

	memset(c, 0, sizeof(*c));
	if ((db = service_db()) == NULL)
		return -1;
	pthread_mutex_lock(&scan_lock);
	if (inventory_scan(conf, filter, &inv) == 0) {
		rc = store_sync(db, &inv, c);
		inventory_free(&inv);
	}
	pthread_mutex_unlock(&scan_lock);
	if (rc == 0 && (c->added || c->removed || c->changed))
		log_info("rescan: %d added, %d removed, %d changed", c->added,
		    c->removed, c->changed);
	return rc;
}

/*
 * SIGHUP: read the filter file again; on any error keep the old one.
 * Held devices the new filter does not offer stay held until released.
 */
int
service_reload(void)
{
	struct pp_filter	*f;
	struct sync_counts	 c;

	if ((f = filter_load(conf->filter, report_log, NULL)) == NULL) {
		log_warnx("reload: %s has errors; keeping the old filter",
		    conf->filter);
		return -1;
	}
	pthread_mutex_lock(&scan_lock);
	filter_free(filter);
	filter = f;
	pthread_mutex_unlock(&scan_lock);
	log_info("reload: filter %s loaded", conf->filter);
	return service_rescan(&c);
}

void
service_free(void)
{
	sqlite3	*db = pthread_getspecific(db_key);

	if (db != NULL) {
		store_close(db);
		pthread_setspecific(db_key, NULL);
	}
	filter_free(filter);
	filter = NULL;
	snapshot_free_all();
	batch_set_db(NULL);
	store_close(writers);
	writers = NULL;
}
