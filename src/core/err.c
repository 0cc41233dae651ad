/* err.c - text for NR_E... codes (platform.h). */
#include "platform.h"

const char *nr_strerror(int err)
{
	switch (err) {
	case NR_OK:
		return "success";
	case NR_EAGAIN:
		return "would block";
	case NR_EIO:
		return "I/O error";
	case NR_ENOMEM:
		return "out of memory";
	case NR_EINVAL:
		return "invalid argument";
	case NR_EFULL:
		return "queue full";
	case NR_ETOOBIG:
		return "too large";
	case NR_ECLOSED:
		return "connection closed";
	case NR_ERESET:
		return "connection reset";
	case NR_ETIMEDOUT:
		return "timed out";
	case NR_ENOTFOUND:
		return "not found";
	case NR_ECONNREFUSED:
		return "connection refused";
	case NR_EADDRINUSE:
		return "address in use";
	case NR_EPERM:
		return "permission denied";
	case NR_ECORRUPT:
		return "data corrupt";
	case NR_ENOSPC:
		return "no space left on device";
	case NR_EPROTO:
		return "protocol error";
	case NR_ETLS:
		return "TLS error";
	case NR_EDNS:
		return "DNS error";
	case NR_EBUSY:
		return "busy";
	case NR_ESTATE:
		return "invalid state";
	case NR_EAUTH:
		return "authentication failed";
	case NR_ENOTSUP:
		return "not supported";
	case NR_ECERT:
		return "certificate verification failed";
	case NR_ECLOCK:
		return "clock not set";
	case NR_EUNREACH:
		return "network unreachable";
	case NR_EROFS:
		return "read-only file system";
	case NR_EADDRNOTAVAIL:
		return "address not available on this machine";
	}
	return "unknown error";
}
