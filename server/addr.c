/*
 * PCI addresses and hex ids: strict parsers and formatters shared by the
 * scan, the RPC decoding and the host tools.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "pcipassd.h"

/* Parse exactly n hex digits (n > 0) from *sp, advancing it. */
static int
hex_digits(const char **sp, int min, int max, unsigned *out)
{
	const char	*s = *sp;
	unsigned	 v = 0;
	int		 n = 0;

	while (n < max && isxdigit((unsigned char)s[n])) {
		v = v * 16 + (unsigned)(isdigit((unsigned char)s[n]) ?
		    s[n] - '0' : tolower((unsigned char)s[n]) - 'a' + 10);
		n++;
	}
	if (n < min || isxdigit((unsigned char)s[n]))
		return -1;
	*sp = s + n;
	*out = v;
	return 0;
}

/*
 * Parse an address in one form. ADDR_SYSFS is the kernel's directory name
 * ("0000:41:00.7"); ADDR_ONE is what requests carry ("0000:41:00:7" or
 * "0000:41:00.7"); both take domains of 4 to 8 digits (VMD domains are
 * 10000 and up). ADDR_SHORT is SHORT_ADDRESS as `lspci -mm` names a
 * slot: "41:00.7" in domain 0000, or "0005:41:00.7" in any domain.
 * A sysfs name is taken only in the kernel's own form (lower case, the
 * domain as "%04x"): "0000000:41:00.0" would name 0000:41:00.0 a second
 * time, so it is refused, and a tree never yields one address twice.
 * Returns 0, or -1 when the string is not exactly that.
 */
int
addr_parse(const char *s, int form, pp_addr *out)
{
	unsigned	 dom = 0, bus, slot, fn;
	const char	*name = s;
	char		 canon[PP_ADDR_SYSFS_LEN];

	if (s == NULL)
		return -1;
	if (form != ADDR_SHORT || strlen(s) > 7) {
		if (hex_digits(&s, 4, 8, &dom) < 0 ||
		    *s++ != ':')
			return -1;
	}
	if (hex_digits(&s, 2, 2, &bus) < 0 || *s++ != ':' ||
	    hex_digits(&s, 2, 2, &slot) < 0 || slot > 0x1f)
		return -1;
	if (!(*s == '.' || (form == ADDR_ONE && *s == ':')))
		return -1;
	s++;
	if (hex_digits(&s, 1, 1, &fn) < 0 || fn > 7 || *s != '\0')
		return -1;
	if (form == ADDR_SYSFS && strcmp(name, addr_fmt(PP_ADDR(dom, bus,
	    slot, fn), ADDR_SYSFS, canon, sizeof(canon))) != 0)
		return -1;
	*out = PP_ADDR(dom, bus, slot, fn);
	return 0;
}

/* Any form a request may use: full with '.' or ':', or short. */
int
addr_parse_any(const char *s, pp_addr *out)
{
	if (addr_parse(s, ADDR_ONE, out) == 0)
		return 0;
	return addr_parse(s, ADDR_SHORT, out);
}

char *
addr_fmt(pp_addr a, int form, char *buf, size_t len)
{
	switch (form) {
	case ADDR_SHORT:
		if (PP_DOMAIN(a) != 0)
			snprintf(buf, len, "%04x:%02x:%02x.%x", PP_DOMAIN(a),
			    PP_BUS(a), PP_SLOT(a), PP_FUNC(a));
		else
			snprintf(buf, len, "%02x:%02x.%x", PP_BUS(a),
			    PP_SLOT(a), PP_FUNC(a));
		break;
	case ADDR_ONE:
		snprintf(buf, len, "%04x:%02x:%02x:%x", PP_DOMAIN(a),
		    PP_BUS(a), PP_SLOT(a), PP_FUNC(a));
		break;
	default:
		snprintf(buf, len, "%04x:%02x:%02x.%x", PP_DOMAIN(a),
		    PP_BUS(a), PP_SLOT(a), PP_FUNC(a));
		break;
	}
	return buf;
}

/*
 * A hex id as requests and sysfs carry it: optional "0x", 1 to maxdigits
 * digits, any case, nothing after (one trailing newline is allowed, as
 * sysfs files end with one).
 */
int
hex_parse(const char *s, unsigned maxdigits, unsigned *out)
{
	size_t	len;
	char	buf[32];

	if (s == NULL)
		return -1;
	len = strlen(s);
	if (len > 0 && s[len - 1] == '\n')
		len--;
	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	s = buf;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	return hex_digits(&s, 1, (int)maxdigits, out) < 0 || *s != '\0' ?
	    -1 : 0;
}

const char *
sriov_name(enum pp_sriov s)
{
	switch (s) {
	case SRIOV_PF:
		return "pf";
	case SRIOV_VF:
		return "vf";
	default:
		return "no";
	}
}
