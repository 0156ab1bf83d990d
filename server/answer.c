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
static struct answer	*current[ANSWER_N];

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
	struct pp_result	 res;
	struct answer		*a;
	FILE			*fp;
	int			 rc;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	if (op_snapshot(db, flags, &res) < 0 ||
	    (fp = open_memstream(&a->xml, &a->len)) == NULL) {
		result_free(&res);
		free(a);
		return NULL;
	}
	rc = write_answer(fp, which, &res.inv);
	result_free(&res);
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

	pthread_mutex_lock(&lock);
	if ((a = current[which]) != NULL && a->gen == gen)
		a->refs++;
	else
		a = NULL;
	pthread_mutex_unlock(&lock);
	if (a != NULL || (a = build(db, which, flags, gen)) == NULL)
		return a;
	pthread_mutex_lock(&lock);
	if (current[which] == NULL || current[which]->gen <= gen) {
		old = current[which];
		current[which] = a;
		a->refs++;
	}
	pthread_mutex_unlock(&lock);
	answer_put(old);
	return a;
}

void
answer_free_all(void)
{
	size_t	i;

	for (i = 0; i < ANSWER_N; i++) {
		answer_put(current[i]);
		current[i] = NULL;
	}
}
