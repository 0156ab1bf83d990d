/*
 * The FILE.pending records of tests/stress/powercut.c, read back by the
 * shim itself (a flush makes them durable) and by pcipass-stress (a
 * power cut keeps some of them): 'W', offset, length, the bytes; or 'T'
 * and the length a truncation left.
 */
#ifndef PENDING_H
#define PENDING_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct pending {
	int		 type;		/* 'W' or 'T' */
	uint64_t	 off;		/* W: where; T: the new length */
	uint64_t	 len;		/* W: how many bytes */
	char		*buf;		/* W: the bytes; free it at the end */
};

/* The next record of f into r; 0 at the end or at a short record. */
static inline int
pending_next(FILE *f, struct pending *r)
{
	char	*nb;

	if ((r->type = fgetc(f)) == EOF ||
	    fread(&r->off, sizeof(r->off), 1, f) != 1 ||
	    fread(&r->len, sizeof(r->len), 1, f) != 1)
		return 0;
	if (r->type != 'W')
		return 1;
	if ((nb = realloc(r->buf, (size_t)r->len + 1)) == NULL)
		return 0;
	r->buf = nb;
	return fread(r->buf, 1, (size_t)r->len, f) == r->len;
}

/* Do r to out, a W cut to its first len bytes; -1 if that failed. */
static inline int
pending_apply(FILE *out, const struct pending *r, uint64_t len)
{
	if (r->type == 'T') {
		fflush(out);
		return ftruncate(fileno(out), (off_t)r->off);
	}
	if (fseeko(out, (off_t)r->off, SEEK_SET) < 0)
		return -1;
	return fwrite(r->buf, 1, (size_t)len, out) == len ? 0 : -1;
}

#endif
