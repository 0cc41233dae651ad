/* linux_mtd_abi.h - the MTD character device ABI (linux/mtd/mtd-abi.h)
 * that linux_mtd.c and its test use. From the kernel's headers when the
 * toolchain has them; musl-gcc (the static BusyBox build) has none, so the
 * few stable definitions are repeated here, as the kernel fixes them. */
#ifndef NR_LINUX_MTD_ABI_H
#define NR_LINUX_MTD_ABI_H

#include <sys/ioctl.h>

#if defined(__has_include) && __has_include(<mtd/mtd-user.h>)
#include <mtd/mtd-user.h>
#else
#include <stdint.h>

struct erase_info_user {
	uint32_t start;
	uint32_t length;
};

struct mtd_info_user {
	uint8_t type;
	uint32_t flags;
	uint32_t size;
	uint32_t erasesize;
	uint32_t writesize;
	uint32_t oobsize;
	uint64_t padding;
};

#define MTD_ABSENT 0
#define MTD_RAM 1
#define MTD_ROM 2
#define MTD_NORFLASH 3
#define MTD_NANDFLASH 4
#define MTD_DATAFLASH 6
#define MTD_UBIVOLUME 7
#define MTD_MLCNANDFLASH 8
#define MTD_WRITEABLE 0x400
#define MTD_BIT_WRITEABLE 0x800
#define MTD_NO_ERASE 0x1000
#define MTD_CAP_RAM (MTD_WRITEABLE | MTD_BIT_WRITEABLE | MTD_NO_ERASE)
#define MTD_CAP_NORFLASH (MTD_WRITEABLE | MTD_BIT_WRITEABLE)
#define MTD_CAP_NANDFLASH (MTD_WRITEABLE)
#define MEMGETINFO _IOR('M', 1, struct mtd_info_user)
#define MEMERASE _IOW('M', 2, struct erase_info_user)
#endif

#endif /* NR_LINUX_MTD_ABI_H */
