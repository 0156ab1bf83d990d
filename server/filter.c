/*
 * filter.c: OpenNebula's pci.conf (YAML) compiled once into a filter, and
 * the matcher that decides which devices are offered for passthrough.
 *
 * Every problem is reported, not just the first, so that -n lists them
 * all in one pass. A YAML syntax error is the exception: libyaml's
 * document loader cannot go past it, so it is reported alone.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#define PCRE2_CODE_UNIT_WIDTH	8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "pcipassd.h"

#define SEPARATORS		", \t\r\n"
#define LINE(node)		((size_t)(node)->start_mark.line + 1)

/* One lspci -d pattern vendor:device[:class]; -1 means any. */
struct pattern {
	int		 vendor, device, class;
};

struct pp_filter {
	struct pattern	*pat;		/* none: nothing is offered */
	size_t		 npat;
	pp_addr		*addr;		/* SHORT_ADDRESS values; none: any */
	size_t		 naddr;
	pcre2_code	**re;		/* none: any name */
	size_t		 nre;
	pcre2_match_context *mctx;	/* the match limits */
	unsigned	*nv;		/* :nvidia_vendors: ids */
	size_t		 nnv;
};

struct parse;
typedef void (*item_fn)(struct parse *, const char *, size_t);

static void	 filter_item(struct parse *, const char *, size_t);
static void	 addr_item(struct parse *, const char *, size_t);
static void	 name_item(struct parse *, const char *, size_t);
static void	 nvidia_item(struct parse *, const char *, size_t);

static const struct key {
	const char	*name;		/* the YAML scalar: no trailing ':' */
	item_fn		 item;
} keys[] = {
	{ ":filter",		filter_item },
	{ ":short_address",	addr_item },
	{ ":device_name",	name_item },
	/* Vendors whose devices OpenNebula names as NVIDIA's (10de). */
	{ ":nvidia_vendors",	nvidia_item },
};
#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

struct parse {
	const char		*path;
	FILE			*fp;
	yaml_parser_t		 yaml;
	yaml_document_t		 doc;
	filter_report_fn	 report;
	void			*arg;
	struct pp_filter	*f;
	int			 nerr;
	size_t			 seen[NKEYS];	/* line of each key, 0 if unseen */
};

static void __attribute__((format(printf, 3, 4)))
perr(struct parse *p, size_t line, const char *fmt, ...)
{
	char	 msg[1024], full[5120];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "%s:%zu: %s", p->path, line, msg);
	p->nerr++;
	if (p->report != NULL)
		p->report(full, p->arg);
}

/* Room for one more element of size sz in arr of *n; NULL reported. */
static void *
grow(struct parse *p, void *arr, size_t *n, size_t sz, size_t line)
{
	void	*new;

	if ((new = reallocarray(arr, *n + 1, sz)) == NULL)
		perr(p, line, "out of memory");
	else
		(*n)++;
	return new;
}

static void
syntax_error(struct parse *p)
{
	const yaml_parser_t	*y = &p->yaml;
	size_t			 line = y->problem_mark.line + 1;
	const char		*problem = y->problem ? y->problem : "unknown";

	if (y->error == YAML_MEMORY_ERROR)
		problem = "out of memory";
	if (y->error == YAML_READER_ERROR)	/* bad encoding: no mark */
		line = y->mark.line + 1;
	if (y->context != NULL)
		perr(p, line, "syntax error: %s (%s)", problem, y->context);
	else
		perr(p, line, "syntax error: %s", problem);
}

/* libyaml tags an untagged plain scalar "!!str" whatever its text. */
static int
is_null(const yaml_node_t *n)
{
	const char	*v;

	if (n->type != YAML_SCALAR_NODE)
		return 0;
	v = (const char *)n->data.scalar.value;
	if (strcmp((const char *)n->tag, YAML_NULL_TAG) == 0)
		return 1;
	return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    (*v == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	    strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0);
}

static const char *
kind(const yaml_node_t *n)
{
	if (n->type == YAML_SCALAR_NODE)
		return is_null(n) ? "null" : "a string";
	return n->type == YAML_SEQUENCE_NODE ? "a list" : "a mapping";
}

/* The n characters at s: 1-4 hex digits, or none or '*' for any (-1). */
static const char *
hex_part(const char *s, size_t n, int *out)
{
	size_t	 i;

	*out = -1;
	if (n == 0 || (n == 1 && *s == '*'))
		return NULL;
	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return "is not hexadecimal";
	if (n > 4)
		return "has more than 4 hex digits";
	*out = (int)strtol(s, NULL, 16);
	return NULL;
}

/* One lspci -d pattern: vendor:device[:class]. */
static void
pattern_add(struct parse *p, const char *pat, size_t line)
{
	static const char *const what[] = { "vendor ID", "device ID", "class" };
	const char	*s = pat, *why;
	int		 id[3] = { -1, -1, -1 }, i, bad = 0;
	size_t		 n;
	struct pattern	*new;

	for (i = 0; i < 3 && s != NULL; i++) {
		n = strcspn(s, ":");
		if ((why = hex_part(s, n, &id[i])) != NULL) {
			perr(p, line, "filter '%s': %s '%.*s' %s", pat,
			    what[i], (int)n, s, why);
			bad = 1;
		}
		s = s[n] == ':' ? s + n + 1 : NULL;
	}
	if (i == 1)
		perr(p, line, "filter '%s': ':' expected "
		    "(vendor:device[:class])", pat);
	else if (s != NULL)
		perr(p, line, "filter '%s': prog-if '%s' is not supported "
		    "(vendor:device[:class])", pat, s);
	if (bad || i == 1 || s != NULL ||
	    (new = grow(p, p->f->pat, &p->f->npat, sizeof(*new), line)) == NULL)
		return;
	p->f->pat = new;
	new[p->f->npat - 1] = (struct pattern){ id[0], id[1], id[2] };
}

/* A :filter: string: patterns separated by commas (or blanks). */
static void
filter_item(struct parse *p, const char *s, size_t line)
{
	char	*copy, *tok, *save;

	if ((copy = strdup(s)) == NULL) {
		perr(p, line, "out of memory");
		return;
	}
	for (tok = strtok_r(copy, SEPARATORS, &save); tok != NULL;
	    tok = strtok_r(NULL, SEPARATORS, &save))
		pattern_add(p, tok, line);
	free(copy);
}

/*
 * OpenNebula's probe compares these as strings with the SHORT_ADDRESS
 * that `lspci -mm` prints: "07:00.0" in domain 0000, "0005:07:00.0" in
 * any other, lower case. A string of that shape that lspci never prints
 * ("0A:00.0", "0000:07:00.0") would silently offer nothing: an error.
 */
static void
addr_item(struct parse *p, const char *s, size_t line)
{
	pp_addr		 a, *new;
	char		 canon[PP_ADDR_SYSFS_LEN];

	if (addr_parse(s, ADDR_SHORT, &a) < 0)
		perr(p, line, "short address '%s' is not BB:SS.F or "
		    "DDDD:BB:SS.F (hex bus, slot 00-1f, function 0-7)", s);
	else if (strcmp(s, addr_fmt(a, ADDR_SHORT, canon, sizeof(canon))) !=
	    0)
		perr(p, line, "short address '%s' never matches: lspci -mm "
		    "writes that slot '%s'", s, canon);
	else if ((new = grow(p, p->f->addr, &p->f->naddr, sizeof(*new),
	    line)) != NULL) {
		p->f->addr = new;
		new[p->f->naddr - 1] = a;
	}
}

/*
 * OpenNebula's probe reads these as Ruby regular expressions,
 * case-insensitive (`name =~ /#{pattern}/i`). PCRE2 reads the same syntax
 * (\d, \s, \w, (?:...), anchors), and its limits, not our own
 * guesses at what might be costly, bound the time a pattern can take.
 */
#define RE_MATCH_LIMIT	100000
#define RE_DEPTH_LIMIT	1000
#define RE_HEAP_LIMIT	4096		/* KiB a match may use */
#define RE_MAX_LENGTH	1024		/* a pattern's characters */
#define RE_MAX_PARENS	32		/* nested parentheses */

static void
name_item(struct parse *p, const char *s, size_t line)
{
	pcre2_compile_context	*cc;
	pcre2_code		*re, **new;
	PCRE2_UCHAR		 err[256];
	PCRE2_SIZE		 off;
	int			 rc;

	/* PCRE2 also caps the compiled size itself (64 KiB): nested bounded
	 * repeats such as ((N{1,100}){1,100}){1,100} are "too large". */
	if ((cc = pcre2_compile_context_create(NULL)) == NULL) {
		perr(p, line, "out of memory");
		return;
	}
	pcre2_set_max_pattern_length(cc, RE_MAX_LENGTH);
	pcre2_set_parens_nest_limit(cc, RE_MAX_PARENS);
	re = pcre2_compile((PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED,
	    PCRE2_CASELESS | PCRE2_UTF, &rc, &off, cc);
	pcre2_compile_context_free(cc);
	if (re == NULL) {
		pcre2_get_error_message(rc, err, sizeof(err));
		perr(p, line, "device name regex '%s': %s at offset %zu", s,
		    (const char *)err, (size_t)off);
	} else if ((new = grow(p, p->f->re, &p->f->nre, sizeof(*new),
	    line)) == NULL)
		pcre2_code_free(re);
	else {
		p->f->re = new;
		new[p->f->nre - 1] = re;
	}
}

/*
 * OpenNebula's probe compares these with VENDOR as strings: anything but
 * four lower-case hex digits never matches, so it is an error.
 */
static void
nvidia_item(struct parse *p, const char *s, size_t line)
{
	unsigned	 v, *new;

	if (strlen(s) != 4 || strspn(s, "0123456789abcdef") != 4 ||
	    hex_parse(s, 4, &v) < 0)
		perr(p, line, "nvidia vendor '%s' is not 4 lower-case hex "
		    "digits, as VENDOR is written", s);
	else if ((new = grow(p, p->f->nv, &p->f->nnv, sizeof(*new),
	    line)) != NULL) {
		p->f->nv = new;
		new[p->f->nnv - 1] = v;
	}
}

/* A key's value: a string or a list of strings; null or '' is nothing. */
static void
parse_strings(struct parse *p, const yaml_node_t *n, const struct key *key)
{
	yaml_node_item_t	*it;
	const yaml_node_t	*e;

	if (n->type == YAML_SCALAR_NODE) {
		if (!is_null(n) && n->data.scalar.length > 0 && key->item)
			key->item(p, (const char *)n->data.scalar.value,
			    LINE(n));
		return;
	}
	if (n->type != YAML_SEQUENCE_NODE) {
		perr(p, LINE(n), "%s: must be a string or a list of strings, "
		    "not %s", key->name, kind(n));
		return;
	}
	for (it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top; it++) {
		e = yaml_document_get_node(&p->doc, *it);
		if (e->type != YAML_SCALAR_NODE || is_null(e))
			perr(p, LINE(e), "%s: list items must be strings, "
			    "not %s", key->name, kind(e));
		else if (key->item != NULL)
			key->item(p, (const char *)e->data.scalar.value,
			    LINE(e));
	}
}

static const struct key *
lookup_key(struct parse *p, const yaml_node_t *n)
{
	const char	*s;
	size_t		 i, line = LINE(n);

	if (n->type != YAML_SCALAR_NODE) {
		perr(p, line, "keys must be strings, not %s", kind(n));
		return NULL;
	}
	s = (const char *)n->data.scalar.value;
	for (i = 0; i < NKEYS; i++) {
		if (strcmp(s, keys[i].name) != 0)
			continue;
		if (p->seen[i] != 0)
			perr(p, line, "duplicate key %s: (first on line %zu)",
			    s, p->seen[i]);
		p->seen[i] = p->seen[i] ? p->seen[i] : line;
		return &keys[i];
	}
	for (i = 0; i < NKEYS && strcmp(s, keys[i].name + 1) != 0; i++)
		;
	if (i < NKEYS)
		perr(p, line, "unknown key '%s' (did you mean %s:?)", s,
		    keys[i].name);
	else
		perr(p, line, "unknown key '%s' (known: :filter:, "
		    ":short_address:, :device_name:)", s);
	return NULL;
}

static void
parse_root(struct parse *p, const yaml_node_t *root)
{
	yaml_node_pair_t	*pair;
	const struct key	*key;

	if (root->type != YAML_MAPPING_NODE) {
		if (!is_null(root))
			perr(p, LINE(root), "expected a mapping of keys such "
			    "as :filter:, not %s", kind(root));
		return;
	}
	for (pair = root->data.mapping.pairs.start;
	    pair < root->data.mapping.pairs.top; pair++) {
		key = lookup_key(p, yaml_document_get_node(&p->doc, pair->key));
		if (key != NULL)
			parse_strings(p, yaml_document_get_node(&p->doc,
			    pair->value), key);
	}
}

/* One document, or none: an empty file. */
static void
parse_stream(struct parse *p)
{
	const yaml_node_t	*root = NULL;
	int			 ndoc = 0;

	if (!yaml_parser_initialize(&p->yaml)) {
		perr(p, 1, "out of memory");
		return;
	}
	yaml_parser_set_input_file(&p->yaml, p->fp);
	do {
		if (!yaml_parser_load(&p->yaml, &p->doc)) {
			syntax_error(p);
			break;
		}
		if ((root = yaml_document_get_root_node(&p->doc)) != NULL &&
		    ndoc++ > 0)
			perr(p, LINE(root), "only one YAML document is allowed");
		else if (root != NULL)
			parse_root(p, root);
		yaml_document_delete(&p->doc);
	} while (root != NULL && ndoc == 1);
	yaml_parser_delete(&p->yaml);
}

/* 0 open; 1 when the file does not exist; -1 reported. */
static int
open_file(struct parse *p)
{
	struct stat	 st;

	if ((p->fp = fopen(p->path, "re")) == NULL) {
		if (errno == ENOENT)
			return 1;
		perr(p, 1, "cannot open: %s", strerror(errno));
		return -1;
	}
	if (fstat(fileno(p->fp), &st) == 0 && S_ISDIR(st.st_mode)) {
		perr(p, 1, "cannot read: %s", strerror(EISDIR));
		fclose(p->fp);
		return -1;
	}
	return 0;
}

static size_t
key_index(item_fn item)
{
	size_t	i;

	for (i = 0; i < NKEYS && keys[i].item != item; i++)
		;
	return i;
}

struct pp_filter *
filter_load(const char *path, filter_report_fn report, void *arg)
{
	struct parse	 p = { .path = path, .report = report, .arg = arg };

	/* No file is no error: the empty filter offers nothing. */
	if ((p.f = calloc(1, sizeof(*p.f))) == NULL ||
	    (p.f->mctx = pcre2_match_context_create(NULL)) == NULL)
		perr(&p, 1, "out of memory");
	else if (open_file(&p) == 0) {
		pcre2_set_match_limit(p.f->mctx, RE_MATCH_LIMIT);
		pcre2_set_depth_limit(p.f->mctx, RE_DEPTH_LIMIT);
		pcre2_set_heap_limit(p.f->mctx, RE_HEAP_LIMIT);
		parse_stream(&p);
		fclose(p.fp);
	}
	/* Without the key, NVIDIA's own id, as in OpenNebula's probe. */
	if (p.nerr == 0 && p.seen[key_index(nvidia_item)] == 0)
		nvidia_item(&p, "10de", 1);
	if (p.nerr > 0) {
		filter_free(p.f);
		return NULL;
	}
	return p.f;
}

static int
match_ids(const struct pp_filter *f, const struct pp_device *d)
{
	const struct pattern	*pat;
	size_t			 i;

	/* Indexed, not f->pat + f->npat: f->pat is NULL with no patterns. */
	for (i = 0; i < f->npat; i++) {
		pat = &f->pat[i];
		if ((pat->vendor < 0 || (unsigned)pat->vendor == d->vendor) &&
		    (pat->device < 0 || (unsigned)pat->device == d->device) &&
		    (pat->class < 0 || (unsigned)pat->class == d->class))
			return 1;
	}
	return 0;
}

/* One address, one SHORT_ADDRESS string: equal addresses, equal strings. */
static int
match_addr(const struct pp_filter *f, const struct pp_device *d)
{
	size_t	 i;

	for (i = 0; i < f->naddr; i++)
		if (f->addr[i] == d->addr)
			return 1;
	return f->naddr == 0;
}

/* A pattern that runs out of its match limits matches nothing, and the
 * log says so. */
static int
match_name(const struct pp_filter *f, const struct pp_device *d)
{
	pcre2_match_data	*md;
	size_t			 i;
	int			 rc, hit = 0;

	if (f->nre == 0)
		return 1;
	for (i = 0; i < f->nre && !hit; i++) {
		if ((md = pcre2_match_data_create_from_pattern(f->re[i],
		    NULL)) == NULL)
			return 0;
		rc = pcre2_match(f->re[i], (PCRE2_SPTR)d->device_name,
		    PCRE2_ZERO_TERMINATED, 0, 0, md, f->mctx);
		pcre2_match_data_free(md);
		if (rc >= 0)
			hit = 1;
		else if (rc != PCRE2_ERROR_NOMATCH) {
			PCRE2_UCHAR	err[128];

			pcre2_get_error_message(rc, err, sizeof(err));
			log_warnx("filter: device name regex %zu on \"%s\": "
			    "%s, taken as no match", i + 1, d->device_name,
			    (const char *)err);
		}
	}
	return hit;
}

/* Offered: a pattern matches, and each non-empty list has a match. */
int
filter_match(const struct pp_filter *f, const struct pp_device *d)
{
	return f != NULL && match_ids(f, d) && match_addr(f, d) &&
	    match_name(f, d);
}

/* Is vendor one of :nvidia_vendors:? */
int
filter_nvidia(const struct pp_filter *f, unsigned vendor)
{
	size_t	i;

	for (i = 0; f != NULL && i < f->nnv; i++)
		if (f->nv[i] == vendor)
			return 1;
	return 0;
}

void
filter_apply(const struct pp_filter *f, struct pp_inventory *inv)
{
	size_t	 i;

	for (i = 0; i < inv->ndev; i++)
		inv->dev[i].offered = filter_match(f, &inv->dev[i]);
}

void
filter_free(struct pp_filter *f)
{
	size_t	 i;

	if (f == NULL)
		return;
	for (i = 0; i < f->nre; i++)
		pcre2_code_free(f->re[i]);
	free(f->re);
	pcre2_match_context_free(f->mctx);
	free(f->nv);
	free(f->addr);
	free(f->pat);
	free(f);
}
