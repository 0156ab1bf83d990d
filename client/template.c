/*
 * OpenNebula VM template reader, for its PCI = [ ... ] vectors only:
 *
 *	# comment
 *	NAME = value | NAME = "quoted value"
 *	PCI = [ VENDOR = "10de", CLASS = "0302" ]
 *
 * Names are case-insensitive (OpenNebula upper-cases them); vectors may
 * span lines; quoted values take \" and \\. Attributes other than PCI
 * are parsed and ignored. Every error reads "NAME:LINE: message".
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

struct lexer {
	const char	*name;
	const char	*p;
	int		 line;
	char		 tok[1024];
};

static int
fail(struct lexer *lx, const char *what)
{
	return err_set(PCIPASS_EINVAL, 0, "%s:%d: %s", lx->name, lx->line,
	    what);
}

/* Skip blanks, newlines and comments. */
static void
skip(struct lexer *lx)
{
	for (;;) {
		while (isspace((unsigned char)*lx->p)) {
			if (*lx->p == '\n')
				lx->line++;
			lx->p++;
		}
		if (*lx->p != '#')
			return;
		while (*lx->p != '\0' && *lx->p != '\n')
			lx->p++;
	}
}

static int
name(struct lexer *lx)
{
	size_t	n = 0;

	skip(lx);
	while (isalnum((unsigned char)*lx->p) || *lx->p == '_') {
		if (n + 1 >= sizeof(lx->tok))
			return fail(lx, "name too long");
		lx->tok[n++] = (char)toupper((unsigned char)*lx->p++);
	}
	lx->tok[n] = '\0';
	if (n == 0)
		return fail(lx, *lx->p ? "expected an attribute name" :
		    "expected an attribute name, found the end");
	return 0;
}

static int
expect(struct lexer *lx, char c, const char *msg)
{
	skip(lx);
	if (*lx->p != c)
		return fail(lx, msg);
	lx->p++;
	return 0;
}

static int
quoted(struct lexer *lx)
{
	size_t	n = 0;
	int	start = lx->line;

	lx->p++;
	while (*lx->p != '"') {
		if (*lx->p == '\0') {
			lx->line = start;
			return fail(lx, "unterminated quoted value");
		}
		if (*lx->p == '\\' && (lx->p[1] == '"' || lx->p[1] == '\\'))
			lx->p++;
		if (*lx->p == '\n')
			lx->line++;
		if (n + 1 >= sizeof(lx->tok))
			return fail(lx, "value too long");
		lx->tok[n++] = *lx->p++;
	}
	lx->p++;
	lx->tok[n] = '\0';
	return 0;
}

/* A value: quoted, or a bare word up to a blank, ',', ']' or '#'. */
static int
value(struct lexer *lx, int in_vector)
{
	size_t	n = 0;

	skip(lx);
	if (*lx->p == '"')
		return quoted(lx);
	while (*lx->p != '\0' && !isspace((unsigned char)*lx->p) &&
	    *lx->p != '#' && !(in_vector && (*lx->p == ',' || *lx->p == ']'))) {
		if (*lx->p == '[' || *lx->p == '=' || *lx->p == '"')
			return fail(lx, "unexpected character in a value; "
			    "quote it");
		if (n + 1 >= sizeof(lx->tok))
			return fail(lx, "value too long");
		lx->tok[n++] = *lx->p++;
	}
	lx->tok[n] = '\0';
	if (n == 0)
		return fail(lx, "expected a value");
	return 0;
}

/* [ NAME = value, ... ]; pci: add each pair to the list's last request. */
static int
vector(struct lexer *lx, pcipass_request_list *l, int pci)
{
	char	key[1024];
	int	rc, line;

	lx->p++;
	skip(lx);
	if (*lx->p == ']')
		return pci ? fail(lx, "empty PCI vector") : (lx->p++, 0);
	for (;;) {
		if ((rc = name(lx)) < 0)
			return rc;
		snprintf(key, sizeof(key), "%s", lx->tok);
		line = lx->line;
		if ((rc = expect(lx, '=', "expected '=' after a name")) < 0 ||
		    (rc = value(lx, 1)) < 0)
			return rc;
		if (pci && pcipass_request_set(l, key, lx->tok) < 0) {
			char	*msg = strdup(pcipass_error_last()->message);

			lx->line = line;
			rc = fail(lx, msg ? msg : "bad value");
			free(msg);
			return rc;
		}
		skip(lx);
		if (*lx->p == ']') {
			lx->p++;
			return 0;
		}
		if ((rc = expect(lx, ',', "expected ',' or ']' in a vector")) < 0)
			return rc;
	}
}

static int
attribute(struct lexer *lx, pcipass_request_list *l)
{
	int	pci, rc, line;

	if ((rc = name(lx)) < 0)
		return rc;
	pci = strcmp(lx->tok, "PCI") == 0;
	if ((rc = expect(lx, '=', "expected '=' after a name")) < 0)
		return rc;
	skip(lx);
	if (*lx->p != '[')
		return pci ? fail(lx, "PCI must be a vector: PCI = [ ... ]") :
		    value(lx, 0);
	line = lx->line;
	if (pci && pcipass_request_add(l) < 0)
		return fail(lx, pcipass_error_last()->message);
	if ((rc = vector(lx, l, pci)) < 0)
		return rc;
	if (pci && pcipass_request_list_check(l) < 0) {
		char	*msg = strdup(pcipass_error_last()->message);

		lx->line = line;
		rc = fail(lx, msg ? msg : "bad request");
		free(msg);
	}
	return rc;
}

int
pcipass_template_parse(pcipass_request_list **out, const char *name_,
    const char *text)
{
	struct lexer		 lx = { .name = name_, .p = text, .line = 1 };
	pcipass_request_list	*l;
	int			 rc = 0;

	*out = NULL;
	if ((rc = pcipass_request_list_new(&l)) < 0)
		return rc;
	for (skip(&lx); *lx.p != '\0' && rc == 0; skip(&lx))
		rc = attribute(&lx, l);
	if (rc == 0 && pcipass_request_list_count(l) == 0)
		rc = fail(&lx, "no PCI = [ ... ] vector in the template");
	if (rc < 0) {
		pcipass_request_list_free(l);
		return rc;
	}
	*out = l;
	return 0;
}

int
pcipass_template_read(pcipass_request_list **out, const char *path)
{
	FILE	*f;
	char	*buf = NULL;
	size_t	 len = 0;
	ssize_t	 n;
	int	 rc;

	*out = NULL;
	if ((f = fopen(path, "r")) == NULL)
		return err_set(PCIPASS_EINVAL, 0, "%s: %s", path,
		    strerror(errno));
	n = getdelim(&buf, &len, '\0', f);
	fclose(f);
	if (n < 0) {
		free(buf);
		buf = strdup("");
	} else if ((size_t)n != strlen(buf)) {
		free(buf);
		return err_set(PCIPASS_EINVAL, 0, "%s: contains a NUL byte",
		    path);
	}
	if (buf == NULL)
		return err_nomem();
	rc = pcipass_template_parse(out, path, buf);
	free(buf);
	return rc;
}
