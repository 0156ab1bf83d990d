/*
 * A device record's extra (struct pp_extra): NIC attributes, PROFILE and
 * a refused vGPU removal, which only held or stuck devices have. Kept
 * inline they were 772 of a record's 1,160 bytes, paid by every device
 * in every copy of the inventory (the readers' snapshot, the writers'
 * copy, one being built).
 *
 * A record owns its extra: a copy of the record is made with
 * device_copy(), never by assignment, and device_clear() frees it. A
 * record moved within its array (a compaction) keeps it. NULL reads as
 * an extra with every field empty.
 *
 * REASON, why a device is blocked or missing, is the record's own string
 * the same way: a blocked device has one, most have none.
 */
#include <stdlib.h>
#include <string.h>

#include "pcipassd.h"

static const struct pp_extra	none;

const struct pp_extra *
dev_extra(const struct pp_device *d)
{
	return d->extra != NULL ? d->extra : &none;
}

/* d's extra, to write; made empty on first use. NULL: out of memory. */
struct pp_extra *
dev_extra_w(struct pp_device *d)
{
	if (d->extra == NULL)
		d->extra = calloc(1, sizeof(*d->extra));
	return d->extra;
}

/* Give the extra back once nothing is in it (a release). */
void
dev_extra_tidy(struct pp_device *d)
{
	const struct pp_extra	*x = d->extra;

	if (x != NULL && !x->nic.nic && x->nic.mac[0] == '\0' &&
	    x->nic.ip[0] == '\0' && x->nic.ip6[0] == '\0' &&
	    x->nic.vlan_id[0] == '\0' && x->nic.network[0] == '\0' &&
	    x->profile[0] == '\0' && x->stuck[0] == '\0') {
		free(d->extra);
		d->extra = NULL;
	}
}

const char *
dev_reason(const struct pp_device *d)
{
	return d->reason != NULL ? d->reason : "";
}

/* At most PP_REASON_LEN - 1 bytes of why; "" none. -1 out of memory. */
int
dev_set_reason(struct pp_device *d, const char *why)
{
	char	*s = NULL;

	if (why[0] != '\0' && (s = strndup(why, PP_REASON_LEN - 1)) == NULL)
		return -1;
	free(d->reason);
	d->reason = s;
	return 0;
}

/*
 * dst, uninitialised, becomes a copy of src; -1 out of memory (dst then
 * owns nothing).
 */
int
device_copy(struct pp_device *dst, const struct pp_device *src)
{
	*dst = *src;
	dst->extra = NULL;
	dst->reason = NULL;
	if ((src->extra != NULL &&
	    (dst->extra = malloc(sizeof(*dst->extra))) == NULL) ||
	    (src->reason != NULL &&
	    (dst->reason = strdup(src->reason)) == NULL)) {
		device_clear(dst);
		return -1;
	}
	if (src->extra != NULL)
		*dst->extra = *src->extra;
	return 0;
}

void
device_clear(struct pp_device *d)
{
	free(d->extra);
	free(d->reason);
	d->extra = NULL;
	d->reason = NULL;
}
