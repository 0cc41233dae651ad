/*
 * conf_value.c - sizes (25M) and durations (5m), with overflow refused
 * rather than wrapped: "99999999999G" is an error, not a small number.
 */
#include <string.h>

#include "conf/conf.h"
#include "conf/conf_int.h"

/* digits then at most one unit letter from units (multipliers in mult) */
static int parse_scaled(const char *s, const char *units, const uint64_t *mult, uint64_t bare,
			uint64_t *out)
{
	size_t len, digits;
	uint64_t v, m = bare;
	const char *u;

	if (s == NULL || out == NULL)
		return NR_EINVAL;
	len = strlen(s);
	digits = len;
	if (len > 0 && (s[len - 1] < '0' || s[len - 1] > '9')) {
		u = strchr(units, s[len - 1]);
		if (u == NULL)
			return NR_EINVAL;
		m = mult[u - units];
		digits = len - 1;
	}
	if (nr_conf_uint_parse(s, digits, UINT64_MAX, &v) != NR_CONF_WHY_OK)
		return NR_EINVAL;
	if (v > UINT64_MAX / m)
		return NR_EINVAL;
	*out = v * m;
	return 0;
}

int nr_conf_parse_size(const char *s, uint64_t *out)
{
	static const uint64_t mult[] = {
	    1024, 1024, 1024 * 1024, 1024 * 1024, 1024 * 1024 * 1024, 1024 * 1024 * 1024};
	return parse_scaled(s, "KkMmGg", mult, 1, out);
}

int nr_conf_parse_duration(const char *s, uint64_t *out_ms)
{
	static const uint64_t mult[] = {1000, 60 * 1000, 3600 * 1000, 86400 * 1000};
	return parse_scaled(s, "smhd", mult, 1000, out_ms);
}
