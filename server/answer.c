/*
 * Answers of the read-only listing methods (pci.list, pci.info,
 * pci.probe), written once per store generation and shared: at 4096
 * devices pci.list is 7.5 MB of XML, and building it per call would cost
 * far more than copying it to the socket. An answer is kept as LZ4
 * blocks of 16 KB, each on its own (0.5 MB for that listing), and made
 * plain again block by block as it is sent: at about 15 GB/s that costs
 * less than the copy to the socket, and the daemon's memory no longer
 * grows with the inventory's text. Any commit of this process
 * bumps the generation, so an answer is never older than the last
 * acknowledged change. pcipassd is the only writer of the device table;
 * another process writing it is not seen here.
 */
#include <lz4.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc.h"

#define BLOCK	(16 * 1024)

struct answer {
	uint64_t	 gen;
	int		 refs;
	size_t		 len;		/* of the XML */
	size_t		 nblocks;	/* each BLOCK bytes of it, the last less */
	uint32_t	*zlen;		/* each block's compressed size */
	char		*z;		/* the compressed blocks, in order */
	size_t		 zused;
	size_t		 zcap;
	size_t		 ncap;		/* of zlen */
	size_t		 fill;		/* while it is written: in block */
	char		*block;
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

static void
answer_free(struct answer *a)
{
	free(a->block);
	free(a->zlen);
	free(a->z);
	free(a);
}

void
answer_put(struct answer *a)
{
	int	last;

	if (a == NULL)
		return;
	last = __atomic_sub_fetch(&a->refs, 1, __ATOMIC_ACQ_REL) == 0;
	if (last)
		answer_free(a);
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

size_t
answer_len(const struct answer *a)
{
	return a->len;
}

/*
 * Gives out the answer's XML block by block, as it was written; -1 if
 * out refused a block (the client went away), a block would not
 * decompress to its size (which only damage to the daemon's own memory
 * could cause) or there was no memory for the block. The block is on the
 * heap, not the stack: glibc keeps the top of an exited thread's stack
 * resident for the next thread, and at 200 connections that kept 11 KB
 * more of each of 200 stacks (VmHWM 15.6-16.1 -> 14.5-15.0 MB).
 */
int
answer_write(const struct answer *a, int (*out)(void *, const char *,
    size_t), void *arg)
{
	char	*buf;
	size_t	 i, off = 0, want;
	int	 n, rc = 0;

	if ((buf = malloc(BLOCK)) == NULL)
		return -1;
	for (i = 0; rc == 0 && i < a->nblocks; i++) {
		want = a->len - i * BLOCK < BLOCK ? a->len - i * BLOCK : BLOCK;
		n = LZ4_decompress_safe(a->z + off, buf, (int)a->zlen[i],
		    BLOCK);
		if (n < 0 || (size_t)n != want || out(arg, buf, want) < 0)
			rc = -1;
		off += a->zlen[i];
	}
	free(buf);
	return rc;
}

/* Compresses the block written so far onto the answer's end. */
static int
seal_block(struct answer *a)
{
	size_t	 bound = (size_t)LZ4_compressBound(BLOCK), cap;
	uint32_t *zl;
	char	*p;
	int	 n;

	if (a->fill == 0)
		return 0;
	if (a->nblocks == a->ncap) {
		cap = a->ncap ? a->ncap * 2 : 64;
		if ((zl = reallocarray(a->zlen, cap, sizeof(*zl))) == NULL)
			return -1;
		a->zlen = zl;
		a->ncap = cap;
	}
	if (a->zcap - a->zused < bound) {
		cap = a->zcap ? a->zcap : 4 * bound;
		while (cap - a->zused < bound)
			cap *= 2;
		if ((p = realloc(a->z, cap)) == NULL)
			return -1;
		a->z = p;
		a->zcap = cap;
	}
	n = LZ4_compress_default(a->block, a->z + a->zused, (int)a->fill,
	    (int)bound);
	if (n <= 0)
		return -1;
	a->zlen[a->nblocks++] = (uint32_t)n;
	a->zused += (size_t)n;
	a->fill = 0;
	return 0;
}

/* The answer's bytes, filling a block and compressing it when full. */
static ssize_t
block_write(void *cookie, const char *buf, size_t n)
{
	struct answer	*a = cookie;
	size_t		 left = n, k;

	while (left > 0) {
		k = BLOCK - a->fill < left ? BLOCK - a->fill : left;
		memcpy(a->block + a->fill, buf, k);
		a->fill += k;
		a->len += k;
		buf += k;
		left -= k;
		if (a->fill == BLOCK && seal_block(a) < 0)
			return -1;
	}
	return (ssize_t)n;
}

static struct answer *
build(struct snapshots *mem, sqlite3 *db, int which, int flags, uint64_t gen)
{
	cookie_io_functions_t	 io = { .write = block_write };
	struct snapshot		*sn;
	struct answer		*a;
	FILE			*fp;
	int			 rc;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	if ((a->block = malloc(BLOCK)) == NULL ||
	    (sn = snapshot_get(mem, db, flags)) == NULL) {
		answer_free(a);
		return NULL;
	}
	if ((fp = fopencookie(a, "w", io)) == NULL) {
		snapshot_put(sn);
		answer_free(a);
		return NULL;
	}
	rc = write_answer(fp, which, snapshot_inv(sn));
	snapshot_put(sn);
	if (fclose(fp) != 0 || rc < 0 || seal_block(a) < 0 || a->len == 0) {
		answer_free(a);
		return NULL;
	}
	free(a->block);
	a->block = NULL;
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
