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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc.h"

struct answer {
	uint64_t	 gen;
	int		 refs;
	size_t		 len;
	size_t		 cap;		/* of xml, while it is written */
	char		*xml;
};

struct answers {
	pthread_mutex_t		 lock;
	pthread_cond_t		 built;
	struct answer		*current[ANSWER_N];
	int			 building[ANSWER_N];
};

struct answers *
answers_new(void)
{
	struct answers	*as;

	if ((as = calloc(1, sizeof(*as))) == NULL)
		return NULL;
	pthread_mutex_init(&as->lock, NULL);
	pthread_cond_init(&as->built, NULL);
	return as;
}

void
answer_put(struct answer *a)
{
	int	last;

	if (a == NULL)
		return;
	last = __atomic_sub_fetch(&a->refs, 1, __ATOMIC_ACQ_REL) == 0;
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

static ssize_t
escape_write(void *cookie, const char *buf, size_t n)
{
	rv_text_n(cookie, buf, n);
	return ferror((FILE *)cookie) ? -1 : (ssize_t)n;
}

/*
 * A text answer (pci.info's XML, pci.probe's template) written through
 * the XML escaper straight into the answer: no copy of the text first
 * (5 MB at 4096 devices).
 */
static int
write_text(FILE *fp, int which, const struct pp_inventory *inv)
{
	cookie_io_functions_t	 io = { .write = escape_write };
	FILE			*esc;
	int			 rc;

	if ((esc = fopencookie(fp, "w", io)) == NULL)
		return -1;
	fputs("<value><string>", fp);
	rc = which == ANSWER_INFO ? format_info(esc, inv) :
	    format_probe(esc, inv);
	if (fclose(esc) != 0)
		rc = -1;
	fputs("</string></value>", fp);
	return rc;
}

/* The answer's value, [true, VALUE, 0], with the one encoder. */
static int
write_answer(FILE *fp, int which, const struct pp_inventory *inv)
{
	int	rc = 0;

	rv_ok_begin(fp);
	if (which == ANSWER_LIST)
		rv_devices(fp, inv, NULL, 0, -1);
	else
		rc = write_text(fp, which, inv);
	rv_ok_end(fp);
	return rc < 0 || ferror(fp) ? -1 : 0;
}

/*
 * The answer's bytes, grown with realloc: open_memstream grows its buffer
 * by malloc, copy and free, so its last doubling for a 7.5 MB answer held
 * both buffers at once; realloc of a mapped block (M_MMAP_THRESHOLD) is
 * an mremap, and pages never written are never resident.
 */
static ssize_t
grow_write(void *cookie, const char *buf, size_t n)
{
	struct answer	*a = cookie;
	size_t		 cap = a->cap ? a->cap : 64 * 1024;
	char		*p;

	while (cap - a->len <= n) {
		if (cap > SIZE_MAX / 2)
			return -1;
		cap *= 2;
	}
	if (cap != a->cap) {
		if ((p = realloc(a->xml, cap)) == NULL)
			return -1;
		a->xml = p;
		a->cap = cap;
	}
	memcpy(a->xml + a->len, buf, n);
	a->len += n;
	a->xml[a->len] = '\0';
	return (ssize_t)n;
}

static struct answer *
build(struct snapshots *mem, sqlite3 *db, int which, int flags, uint64_t gen)
{
	cookie_io_functions_t	 io = { .write = grow_write };
	struct snapshot		*sn;
	struct answer		*a;
	FILE			*fp;
	int			 rc;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	if ((sn = snapshot_get(mem, db, flags)) == NULL ||
	    (fp = fopencookie(a, "w", io)) == NULL) {
		snapshot_put(sn);
		free(a);
		return NULL;
	}
	rc = write_answer(fp, which, snapshot_inv(sn));
	snapshot_put(sn);
	if (fclose(fp) != 0 || rc < 0 || a->xml == NULL) {
		free(a->xml);
		free(a);
		return NULL;
	}
	a->gen = gen;
	a->refs = 1;
	return a;
}

/* A reference to the answer for which if it is current at gen (lock held). */
static struct answer *
ref_current(struct answers *as, int which, uint64_t gen)
{
	struct answer	*a = as->current[which];

	if (a == NULL || a->gen < gen)
		return NULL;
	__atomic_add_fetch(&a->refs, 1, __ATOMIC_ACQ_REL);
	return a;
}

/*
 * The current answer for which, if one is built: a reference to give back
 * with answer_put(), else NULL. Needs no database connection, which a
 * thread then does not open only to hand out a shared answer.
 */
struct answer *
answer_current(struct answers *as, int which)
{
	uint64_t	 gen = store_generation();
	struct answer	*a;

	pthread_mutex_lock(&as->lock);
	a = ref_current(as, which, gen);
	pthread_mutex_unlock(&as->lock);
	return a;
}

/*
 * The current answer for which (ANSWER_*); a reference to give back with
 * answer_put(), or NULL when the inventory could not be read.
 */
struct answer *
answer_get(struct answers *as, struct snapshots *mem, sqlite3 *db,
    int which, int flags)
{
	uint64_t	 gen = store_generation();
	struct answer	*a, *old = NULL;

	/* One builder per answer; the others wait for its result. */
	pthread_mutex_lock(&as->lock);
	for (;;) {
		if ((a = ref_current(as, which, gen)) != NULL) {
			pthread_mutex_unlock(&as->lock);
			return a;
		}
		if (!as->building[which])
			break;
		pthread_cond_wait(&as->built, &as->lock);
	}
	as->building[which] = 1;
	pthread_mutex_unlock(&as->lock);
	a = build(mem, db, which, flags, gen);
	pthread_mutex_lock(&as->lock);
	as->building[which] = 0;
	if (a != NULL && (as->current[which] == NULL ||
	    as->current[which]->gen <= gen)) {
		old = as->current[which];
		as->current[which] = a;
		__atomic_add_fetch(&a->refs, 1, __ATOMIC_ACQ_REL);
	}
	pthread_cond_broadcast(&as->built);
	pthread_mutex_unlock(&as->lock);
	answer_put(old);
	return a;
}

void
answers_free(struct answers *as)
{
	size_t	i;

	if (as == NULL)
		return;
	for (i = 0; i < ANSWER_N; i++)
		answer_put(as->current[i]);
	pthread_mutex_destroy(&as->lock);
	pthread_cond_destroy(&as->built);
	free(as);
}
