################################################################################
#
# nanorelay
#
################################################################################

NANORELAY_VERSION = 0.1.0
# No release tarball yet: built from the nanorelay source tree named by
# BR2_PACKAGE_NANORELAY_SOURCE_DIR (the "local" site method: nothing is
# downloaded, so there is no .hash file).
NANORELAY_SITE = $(call qstrip,$(BR2_PACKAGE_NANORELAY_SOURCE_DIR))
NANORELAY_SITE_METHOD = local
NANORELAY_DEPENDENCIES = host-pkgconf mbedtls c-ares
NANORELAY_SUPPORTS_IN_SOURCE_BUILD = NO

# The configure step runs kconfiglib from the build machine's
# /usr/bin/python3 (Debian: python3-kconfiglib) to turn the defconfig into
# the feature header.
ifeq ($(BR2_PACKAGE_NANORELAY_DEFCONFIG_BUSYBOX),y)
NANORELAY_DEFCONFIG = busybox_defconfig
else
NANORELAY_DEFCONFIG = linux_defconfig
endif

NANORELAY_CONF_OPTS = \
	-DNR_DEFCONFIG=$(@D)/configs/$(NANORELAY_DEFCONFIG) \
	-DNR_TESTS=OFF

define NANORELAY_INSTALL_TARGET_CMDS
	$(INSTALL) -D -m 0755 $(NANORELAY_BUILDDIR)/nanorelay \
		$(TARGET_DIR)/usr/sbin/nanorelay
	$(INSTALL) -D -m 0644 $(NANORELAY_PKGDIR)/nanorelay.conf \
		$(TARGET_DIR)/etc/nanorelay.conf
endef

# The daemon drops to this user once it listens.
define NANORELAY_USERS
	nanorelay -1 nanorelay -1 * /var/lib/nanorelay - - nanorelay daemon
endef

define NANORELAY_INSTALL_INIT_SYSV
	$(INSTALL) -D -m 0755 $(NANORELAY_PKGDIR)/S50nanorelay \
		$(TARGET_DIR)/etc/init.d/S50nanorelay
endef

$(eval $(cmake-package))
