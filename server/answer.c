/*
 * Answers of the read-only listing methods (pci.list, pci.info,
 * pci.probe), written once per store generation and shared: at 4096
 * devices pci.list is 7.5 MB of XML, and building it per call would cost
 * far more than copying it to the socket. Any commit of this process
 * bumps the generation, so an answer is never older than the last
 * acknowledged change. pcipassd is the only writer of the device table;
 * another process writing it is not seen here.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pcipassd.h"

struct answer {
	uint64_t	 gen;
	int		 refs;
	size_t		 len;
	char		*xml;
};

static pthread_mutex_t	 lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 built = PTHREAD_COND_INITIALIZER;
static struct answer	*current[ANSWER_N];
static int		 building[ANSWER_N];

/*
 * The inventory as readers see it, with STATE set, shared while the store
 * generation stays the same: pci.test and the answers read it, nothing
 * writes it.
 */
struct snapshot {
	uint64_t		 gen;
	int			 refs;
	struct pp_inventory	 inv;
};

static pthread_mutex_t	 snap_lock = PTHREAD_MUTEX_INITIALIZER;
static struct snapshot	*snap;

void
snapshot_put(struct snapshot *sn)
{
	int	last;

	if (sn == NULL)
		return;
	pthread_mutex_lock(&snap_lock);
	last = --sn->refs == 0;
	pthread_mutex_unlock(&snap_lock);
	if (last) {
		inventory_free(&sn->inv);
		free(sn);
	}
}

/* A reference to the current snapshot; NULL if it cannot be read. */
struct snapshot *
snapshot_get(sqlite3 *db, int flags)
{
	uint64_t		 gen = store_generation();
	struct snapshot		*sn, *old = NULL;
	struct pp_result	 res;

	pthread_mutex_lock(&snap_lock);
	if ((sn = snap) != NULL && sn->gen == gen)
		sn->refs++;
	else
		sn = NULL;
	pthread_mutex_unlock(&snap_lock);
	if (sn != NULL)
		return sn;
	if ((sn = calloc(1, sizeof(*sn))) == NULL)
		return NULL;
	if (op_snapshot(db, flags, &res) < 0) {
		result_free(&res);
		free(sn);
		return NULL;
	}
	sn->inv = res.inv;
	sn->gen = gen;
	sn->refs = 2;		/* ours and the caller's */
	pthread_mutex_lock(&snap_lock);
	if (snap == NULL || snap->gen <= gen) {
		old = snap;
		snap = sn;
	} else
		sn->refs--;
	pthread_mutex_unlock(&snap_lock);
	snapshot_put(old);
	return sn;
}

const struct pp_inventory *
snapshot_inv(const struct snapshot *sn)
{
	return &sn->inv;
}

void
answer_put(struct answer *a)
{
	int	last;

	if (a == NULL)
		return;
	pthread_mutex_lock(&lock);
	last = --a->refs == 0;
	pthread_mutex_unlock(&lock);
	if (last) {
		free(a->xml);
		free(a);
	}
}

const char *
answer_xml(const struct answer *a, size_t *len)
{
	*len = a->len;
	return a->xml;
}

static int
write_answer(FILE *fp, int which, const struct pp_inventory *inv)
{
	char	*text = NULL;
	size_t	 len = 0;
	FILE	*tf;
	int	 rc;

	if (which == ANSWER_LIST)
		return format_rpc_list(fp, inv);
	if (which == ANSWER_INFO)
		text = format_info(inv);
	else if ((tf = open_memstream(&text, &len)) != NULL) {
		rc = format_probe(tf, inv);
		if (fclose(tf) != 0 || rc < 0) {
			free(text);
			text = NULL;
		}
	}
	if (text == NULL)
		return -1;
	rc = format_rpc_string(fp, text);
	free(text);
	return rc;
}

static struct answer *
build(sqlite3 *db, int which, int flags, uint64_t gen)
{
	struct snapshot		*sn;
	struct answer		*a;
	FILE			*fp;
	int			 rc;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	if ((sn = snapshot_get(db, flags)) == NULL ||
	    (fp = open_memstream(&a->xml, &a->len)) == NULL) {
		snapshot_put(sn);
		free(a);
		return NULL;
	}
	rc = write_answer(fp, which, &sn->inv);
	snapshot_put(sn);
	if (fclose(fp) != 0 || rc < 0) {
		free(a->xml);
		free(a);
		return NULL;
	}
	a->gen = gen;
	a->refs = 1;
	return a;
}

/*
 * The current answer for which (ANSWER_*); a reference to give back with
 * answer_put(), or NULL when the inventory could not be read.
 */
struct answer *
answer_get(sqlite3 *db, int which, int flags)
{
	uint64_t	 gen = store_generation();
	struct answer	*a, *old = NULL;

	/* One builder per answer; the others wait for its result. */
	pthread_mutex_lock(&lock);
	for (;;) {
		if ((a = current[which]) != NULL && a->gen >= gen) {
			a->refs++;
			pthread_mutex_unlock(&lock);
			return a;
		}
		if (!building[which])
			break;
		pthread_cond_wait(&built, &lock);
	}
	building[which] = 1;
	pthread_mutex_unlock(&lock);
	a = build(db, which, flags, gen);
	pthread_mutex_lock(&lock);
	building[which] = 0;
	if (a != NULL && (current[which] == NULL ||
	    current[which]->gen <= gen)) {
		old = current[which];
		current[which] = a;
		a->refs++;
	}
	pthread_cond_broadcast(&built);
	pthread_mutex_unlock(&lock);
	answer_put(old);
	return a;
}

void
answer_free_all(void)
{
	size_t	i;

	snapshot_put(snap);
	snap = NULL;
	for (i = 0; i < ANSWER_N; i++) {
		answer_put(current[i]);
		current[i] = NULL;
	}
}
