/* proto_date.c - calendar arithmetic and the RFC 5322 date (no clock, no I/O). */
#include <stdio.h>

#include "proto/proto.h"

/*
 * Days since 1970-01-01 to a proleptic Gregorian date: the era/day-of-era
 * method (400-year eras of 146097 days, March-based years so that the leap
 * day is the last of the year).
 */
void nr_civil_from_days(int64_t days, int *year, unsigned *month, unsigned *day)
{
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	*day = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*month = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*year = (int)(yoe + era * 400 + (*month <= 2));
}

char *nr_date_rfc5322(char *dst, size_t size, int64_t t)
{
	static const char *const wd[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
	int64_t secs = t - days * 86400;
	int y;
	unsigned m, d;

	nr_civil_from_days(days, &y, &m, &d);
	snprintf(dst, size, "%s, %02u %s %04d %02u:%02u:%02u +0000", wd[((days % 7) + 7) % 7], d,
		 mon[m - 1], y, (unsigned)(secs / 3600), (unsigned)(secs / 60 % 60),
		 (unsigned)(secs % 60));
	return dst;
}
