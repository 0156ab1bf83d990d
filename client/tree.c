/*
 * pcipass tree: the host's PCI hierarchy from pci.tree, drawn as
 * `lspci -t` draws it, with what pcipass knows of each function.
 *
 * The hierarchy follows lspci's rules for a tree without the kernel's
 * parent links, so that the drawing is lspci's, line for line: a bridge
 * (class 06xx with a type 1 or 2 header) owns the buses from its
 * secondary to its subordinate number; a function sits on its bus under
 * the last bridge, by address, whose range holds that bus, and on a root
 * bus when none does. Each line ends at one function, and that function's
 * IOMMU group, driver, STATE, holder and name follow the drawing; a
 * REASON goes on a line of its own below it. A function that the filter
 * does not offer and no VM holds shows STATE "-": pcipassd never hands it
 * out, so it has no state of its own. Malformed input (a bridge that
 * holds its own bus, loops) cannot make the drawing recurse without end:
 * what no root reaches is listed after the tree.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "client.h"

#define LINE_MAX_	1024
#define DEPTH_MAX	64

struct tbus;

struct node {
	const pcipass_device	*d;
	unsigned		 dom, bus, slot, fn;
	int			 bridge;	/* with sec, sub */
	unsigned		 sec, sub;
	struct tbus		*buses;		/* a bridge's, in order */
	struct node		*next;		/* on its bus */
	int			 shown;
};

struct tbus {
	unsigned		 dom, num;
	struct node		*first, **last;
	struct tbus		*sibling;
	struct tbus		*all;		/* every bus, to free */
};

struct tline {
	char			*skel;		/* the drawing */
	const struct node	*who;		/* NULL: an empty root bus */
};

struct forest {
	struct node		*node;
	size_t			 n;
	struct tbus		*roots, *all;
	struct tline		*line;
	size_t			 nline, cap;
	int			 nomem;
};

static const char *
get(const pcipass_device *d, const char *name)
{
	const char	*s = pcipass_device_get(d, name);

	return s ? s : "";
}

static unsigned
hex(const pcipass_device *d, const char *name)
{
	return (unsigned)strtoul(get(d, name), NULL, 16);
}

static int
node_cmp(const void *a, const void *b)
{
	const struct node	*x = a, *y = b;

	if (x->dom != y->dom)
		return x->dom < y->dom ? -1 : 1;
	if (x->bus != y->bus)
		return x->bus < y->bus ? -1 : 1;
	if (x->slot != y->slot)
		return x->slot < y->slot ? -1 : 1;
	return x->fn < y->fn ? -1 : x->fn > y->fn;
}

static struct tbus *
bus_new(struct forest *f, struct tbus **list, unsigned dom, unsigned num)
{
	struct tbus	*b, **p;

	if ((b = calloc(1, sizeof(*b))) == NULL) {
		f->nomem = 1;
		return NULL;
	}
	b->dom = dom;
	b->num = num;
	b->last = &b->first;
	b->all = f->all;
	f->all = b;
	for (p = list; *p != NULL; p = &(*p)->sibling)
		;
	*p = b;
	return b;
}

static struct tbus *
bus_find(struct tbus *list, unsigned dom, unsigned num)
{
	for (; list != NULL; list = list->sibling)
		if (list->dom == dom && list->num == num)
			return list;
	return NULL;
}

/* The bus a function sits on, made when it is the first there. */
static struct tbus *
bus_of(struct forest *f, const struct node *x)
{
	struct tbus	*b;
	size_t		 i;

	if ((b = bus_find(f->roots, x->dom, x->bus)) != NULL)
		return b;
	for (i = f->n; i-- > 0;) {
		struct node	*c = &f->node[i];

		if (c->bridge && c != x && c->dom == x->dom &&
		    c->sec <= x->bus && x->bus <= c->sub) {
			if ((b = bus_find(c->buses, x->dom, x->bus)) != NULL)
				return b;
			return bus_new(f, &c->buses, x->dom, x->bus);
		}
	}
	return bus_new(f, &f->roots, x->dom, x->bus);
}

static int
forest_build(struct forest *f, const pcipass_device_list *l)
{
	struct tbus	*b;
	size_t		 i;

	memset(f, 0, sizeof(*f));
	if (l->n > 0 && (f->node = calloc(l->n, sizeof(*f->node))) == NULL)
		return err_nomem();
	for (i = 0; i < l->n; i++) {
		struct node		*x = &f->node[f->n];
		const pcipass_device	*d = &l->dev[i];
		int			 sec, sub;

		x->d = d;
		x->dom = hex(d, "DOMAIN");
		x->bus = hex(d, "BUS");
		x->slot = hex(d, "SLOT");
		x->fn = hex(d, "FUNCTION");
		sec = pcipass_device_get_int(d, "SECONDARY", -1);
		sub = pcipass_device_get_int(d, "SUBORDINATE", -1);
		x->bridge = strncmp(get(d, "CLASS"), "06", 2) == 0 &&
		    sec >= 0 && sec <= 255 && sub >= 0 && sub <= 255;
		x->sec = x->bridge ? (unsigned)sec : 0;
		x->sub = x->bridge ? (unsigned)sub : 0;
		f->n++;
	}
	if (f->n > 1)
		qsort(f->node, f->n, sizeof(*f->node), node_cmp);
	/* As lspci: root bus 0000:00 first, then each bridge's own bus. */
	bus_new(f, &f->roots, 0, 0);
	for (i = 0; i < f->n; i++)
		if (f->node[i].bridge && bus_find(f->node[i].buses,
		    f->node[i].dom, f->node[i].sec) == NULL)
			bus_new(f, &f->node[i].buses, f->node[i].dom,
			    f->node[i].sec);
	for (i = 0; i < f->n && !f->nomem; i++) {
		if ((b = bus_of(f, &f->node[i])) == NULL)
			break;
		*b->last = &f->node[i];
		b->last = &f->node[i].next;
	}
	return f->nomem ? err_nomem() : 0;
}

static void
forest_free(struct forest *f)
{
	struct tbus	*b, *next;
	size_t		 i;

	for (b = f->all; b != NULL; b = next) {
		next = b->all;
		free(b);
	}
	for (i = 0; i < f->nline; i++)
		free(f->line[i].skel);
	free(f->line);
	free(f->node);
}

/* Keep line[0..p) as a drawn line, then turn it into the prefix of the
 * next one: only the verticals stay. */
static void
emit(struct forest *f, char *line, char *p, const struct node *who)
{
	struct tline	*t;
	char		*s;

	*p = '\0';
	if (f->nline == f->cap) {
		size_t	cap = f->cap ? f->cap * 2 : 64;

		if ((t = reallocarray(f->line, cap, sizeof(*t))) == NULL) {
			f->nomem = 1;
			return;
		}
		f->line = t;
		f->cap = cap;
	}
	if ((f->line[f->nline].skel = strdup(line)) == NULL) {
		f->nomem = 1;
		return;
	}
	f->line[f->nline++].who = who;
	for (s = line; *s != '\0'; s++)
		*s = *s == '+' || *s == '|' ? '|' : ' ';
}

static char *
put(char *line, char *p, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static char *
put(char *line, char *p, const char *fmt, ...)
{
	va_list	ap;
	size_t	room = (size_t)(line + LINE_MAX_ - p);
	int	n;

	if (room <= 1)
		return p;
	va_start(ap, fmt);
	n = vsnprintf(p, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		return p;
	return (size_t)n >= room ? p + room - 1 : p + n;
}

static void draw_buses(struct forest *, struct tbus *, int, char *, char *,
    int);

static void
draw_node(struct forest *f, struct node *x, char *line, char *p, int depth)
{
	x->shown = 1;
	p = put(line, p, "%02x.%x", x->slot, x->fn);
	if (!x->bridge || depth >= DEPTH_MAX) {
		emit(f, line, p, x);
		return;
	}
	if (x->sec == 0)
		p = put(line, p, "-");
	else if (x->sec == x->sub)
		p = put(line, p, "-[%02x]-", x->sec);
	else
		p = put(line, p, "-[%02x-%02x]-", x->sec, x->sub);
	draw_buses(f, x->buses, 0, line, p, depth + 1);
	/* A bridge drawn as the end of its line when its bus is empty. */
	if (f->nline > 0 && f->line[f->nline - 1].who == NULL)
		f->line[f->nline - 1].who = x;
}

static void
draw_bus(struct forest *f, struct tbus *b, char *line, char *p, int depth)
{
	struct node	*x;

	if (b->first == NULL) {
		emit(f, line, p, NULL);
		return;
	}
	if (b->first->next == NULL) {
		draw_node(f, b->first, line, put(line, p, "--"), depth);
		return;
	}
	for (x = b->first; x != NULL; x = x->next)
		draw_node(f, x, line, put(line, p, x->next ? "+-" : "\\-"),
		    depth);
}

static void
draw_buses(struct forest *f, struct tbus *b, int root, char *line, char *p,
    int depth)
{
	p = put(line, p, "-");
	if (b->sibling == NULL) {
		if (root)
			p = put(line, p, "[%04x:%02x]-", b->dom, b->num);
		draw_bus(f, b, line, p, depth);
		return;
	}
	for (; b != NULL; b = b->sibling)
		draw_bus(f, b, line, put(line, p, "%s[%04x:%02x]-",
		    b->sibling ? "+-" : "\\-", b->dom, b->num), depth);
}

/* lspci -tv's name: vendor and device, "Device XXXX" when pci.ids lacks
 * it (DEVICE_NAME of an :nvidia_vendors: device already has the vendor). */
static void
full_name(const pcipass_device *d, char *buf, size_t len)
{
	const char	*v = get(d, "VENDOR_NAME"), *n = get(d, "DEVICE_NAME");
	size_t		 vl = strlen(v);

	if (vl > 0 && strncmp(n, v, vl) == 0 && n[vl] == ' ')
		n += vl + 1;
	if (strcmp(n, "Device") == 0)
		snprintf(buf, len, "%s Device %s", v, get(d, "DEVICE"));
	else
		snprintf(buf, len, "%s %s", v, n);
}

static int
held_or_offered(const pcipass_device *d)
{
	return pcipass_device_get_int(d, "OFFERED", 0) ||
	    pcipass_device_get_int(d, "VMID", -1) >= 0;
}

static void
cells(FILE *fp, int width, const char *skel, const pcipass_device *d)
{
	char		 name[512], vm[16];
	const char	*grp = get(d, "IOMMU_GROUP"), *drv = get(d, "DRIVER");
	int		 vmid = pcipass_device_get_int(d, "VMID", -1), shown;

	shown = held_or_offered(d);
	full_name(d, name, sizeof(name));
	vm[0] = '\0';
	if (vmid >= 0)
		snprintf(vm, sizeof(vm), "%d", vmid);
	fprintf(fp, "%-*s  %5s %-14s %-8s %5s  %s\n", width, skel,
	    *grp == '\0' || *grp == '-' || strcmp(grp, "-1") == 0 ? "-" : grp,
	    *drv ? drv : "-", shown ? get(d, "STATE") : "-", vm, name);
}

int
pcipass_render_tree(char **out, const pcipass_device_list *l)
{
	struct forest	 f;
	char		 line[LINE_MAX_], *buf = NULL, *s;
	size_t		 len = 0, i, w = 4;
	FILE		*fp;
	int		 rc;

	*out = NULL;
	if ((rc = forest_build(&f, l)) < 0) {
		forest_free(&f);
		return rc;
	}
	draw_buses(&f, f.roots, 1, line, line, 0);
	for (i = 0; i < f.n; i++)
		if (!f.node[i].shown) {
			snprintf(line, sizeof(line), "?-%04x:%02x:%02x.%x",
			    f.node[i].dom, f.node[i].bus, f.node[i].slot,
			    f.node[i].fn);
			emit(&f, line, line + strlen(line), &f.node[i]);
		}
	if (f.nomem || (fp = open_memstream(&buf, &len)) == NULL) {
		forest_free(&f);
		return err_nomem();
	}
	for (i = 0; i < f.nline; i++)
		if (strlen(f.line[i].skel) > w)
			w = strlen(f.line[i].skel);
	fprintf(fp, "%-*s  GROUP DRIVER         STATE       VM  NAME\n",
	    (int)w, "TREE");
	for (i = 0; i < f.nline; i++) {
		const struct node	*x = f.line[i].who;

		if (x == NULL) {
			fprintf(fp, "%s\n", f.line[i].skel);
			continue;
		}
		cells(fp, (int)w, f.line[i].skel, x->d);
		if (!held_or_offered(x->d) || *get(x->d, "REASON") == '\0')
			continue;
		/* The REASON under the name, behind the verticals that go
		 * on to the next line. */
		snprintf(line, sizeof(line), "%s", f.line[i].skel);
		for (s = line; *s != '\0'; s++)
			*s = (*s == '+' || *s == '|') && i + 1 < f.nline &&
			    (size_t)(s - line) < strlen(f.line[i + 1].skel) &&
			    f.line[i + 1].skel[s - line] != ' ' ? '|' : ' ';
		fprintf(fp, "%-*s  %37swhy: %s\n", (int)w, line, "",
		    get(x->d, "REASON"));
	}
	forest_free(&f);
	if (ferror(fp) | fclose(fp)) {
		free(buf);
		return err_nomem();
	}
	*out = buf;
	return 0;
}

static json_object *json_buses(struct tbus *, int);

/* A function's fields as pcipass list --json writes them, and a
 * bridge's buses below it. */
/*
 * A function's fields as pcipass list --json writes them, and a bridge's
 * buses below it; NULL when out of memory.
 */
static json_object *
json_node(struct node *x, int depth)
{
	json_object	*o, *v;
	const char	*name, *value;
	size_t		 k;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	x->shown = 1;
	for (k = 0; k < pcipass_device_field_count(x->d); k++) {
		pcipass_device_field(x->d, k, &name, &value);
		if ((v = json_object_new_string(one_value(name, value))) ==
		    NULL || json_object_object_add(o, name, v) < 0) {
			json_object_put(v);
			json_object_put(o);
			return NULL;
		}
	}
	if (x->bridge && depth < DEPTH_MAX) {
		if ((v = json_buses(x->buses, depth + 1)) == NULL ||
		    json_object_object_add(o, "BUSES", v) < 0) {
			json_object_put(v);
			json_object_put(o);
			return NULL;
		}
	}
	return o;
}

/* Add v to the array arr, or drop it: -1 when v is NULL or not added. */
static int
push(json_object *arr, json_object *v)
{
	if (v == NULL || json_object_array_add(arr, v) < 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

static json_object *
json_buses(struct tbus *b, int depth)
{
	json_object	*arr, *o, *devs;
	struct node	*x;
	char		 s[16];
	int		 bad = 0;

	if ((arr = json_object_new_array()) == NULL)
		return NULL;
	for (; b != NULL && !bad; b = b->sibling) {
		if ((o = json_object_new_object()) == NULL ||
		    push(arr, o) < 0 ||
		    (devs = json_object_new_array()) == NULL) {
			bad = 1;
			break;
		}
		snprintf(s, sizeof(s), "%04x", b->dom);
		bad |= json_object_object_add(o, "DOMAIN",
		    json_object_new_string(s)) < 0;
		snprintf(s, sizeof(s), "%02x", b->num);
		bad |= json_object_object_add(o, "BUS",
		    json_object_new_string(s)) < 0;
		if (json_object_object_add(o, "DEVICES", devs) < 0) {
			json_object_put(devs);
			bad = 1;
		}
		for (x = b->first; x != NULL && !bad; x = x->next)
			bad |= push(devs, json_node(x, depth)) < 0;
	}
	if (bad) {
		json_object_put(arr);
		return NULL;
	}
	return arr;
}

int
pcipass_render_tree_json(char **out, const pcipass_device_list *l)
{
	struct forest	 f;
	json_object	*root, *t, *lost = NULL;
	const char	*text;
	size_t		 i;
	int		 rc, bad = 0;

	*out = NULL;
	if ((rc = forest_build(&f, l)) < 0) {
		forest_free(&f);
		return rc;
	}
	if ((root = json_object_new_object()) == NULL ||
	    (t = json_buses(f.roots, 0)) == NULL)
		bad = 1;
	else if (json_object_object_add(root, "PCI_TREE", t) < 0) {
		json_object_put(t);
		bad = 1;
	}
	/* What no root reaches (a malformed tree), listed flat. */
	for (i = 0; i < f.n && !bad; i++) {
		if (f.node[i].shown)
			continue;
		if (lost == NULL) {
			if ((lost = json_object_new_array()) == NULL ||
			    json_object_object_add(root, "UNREACHED", lost) <
			    0) {
				json_object_put(lost);
				bad = 1;
				break;
			}
		}
		f.node[i].bridge = 0;
		bad |= push(lost, json_node(&f.node[i], DEPTH_MAX)) < 0;
	}
	if (!bad && (text = json_object_to_json_string_ext(root,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
	    JSON_C_TO_STRING_NOSLASHESCAPE)) != NULL)
		*out = strdup(text);
	json_object_put(root);
	forest_free(&f);
	return *out == NULL ? err_nomem() : 0;
}
