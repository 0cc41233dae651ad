# `cmake --install` rules (GNUInstallDirs; DESTDIR works as usual):
#   SBINDIR/nanorelay                       the daemon and CLI
#   SBINDIR/sendmail, BINDIR/mailq, BINDIR/newaliases
#                                           symlinks to it, with NR_INSTALL_SENDMAIL_LINKS
#   MANDIR/man8/nanorelay.8, man5/nanorelay.conf.5, man8/nanorelay-sendmail.8
#   DOCDIR/README.md, DOCDIR/examples/nanorelay.conf   (the annotated config)
#   NR_SYSTEMD_UNITDIR/nanorelay.service
#   the SysV/BusyBox init script, where NR_INSTALL_INIT_SCRIPT says
# The configuration itself (/etc/nanorelay.conf) is not installed: a
# reinstall must never overwrite a user's file, so the annotated one goes to
# the documentation as an example; packages ship their own /etc file.
include(GNUInstallDirs)

option(NR_INSTALL_SENDMAIL_LINKS
       "Install sendmail, mailq and newaliases symlinks (packages that own /usr/sbin/sendmail)" OFF)
set(NR_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING
    "Where the systemd unit goes (relative: under the prefix; Debian 12: /lib/systemd/system)")
set(NR_INSTALL_INIT_SCRIPT "share" CACHE STRING
    "The SysV/BusyBox init script: share (DATADIR/nanorelay/nanorelay.init), etc (SYSCONFDIR/init.d/nanorelay) or none")
set_property(CACHE NR_INSTALL_INIT_SCRIPT PROPERTY STRINGS share etc none)

# The unit and the init script name the binary; point them at the one this
# prefix installs (configs/ holds the /usr/sbin versions).
foreach(_f nanorelay.service nanorelay.init)
  file(READ "${CMAKE_SOURCE_DIR}/configs/${_f}" _text)
  string(REPLACE "/usr/sbin/nanorelay" "${CMAKE_INSTALL_FULL_SBINDIR}/nanorelay" _text "${_text}")
  file(GENERATE OUTPUT "${CMAKE_BINARY_DIR}/install/${_f}" CONTENT "${_text}")
endforeach()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             "${CMAKE_SOURCE_DIR}/configs/nanorelay.service" "${CMAKE_SOURCE_DIR}/configs/nanorelay.init")

install(TARGETS nanorelay RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
install(FILES doc/nanorelay.8 doc/nanorelay-sendmail.8 DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES doc/nanorelay.conf.5 DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES configs/nanorelay.conf DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(FILES "${CMAKE_BINARY_DIR}/install/nanorelay.service" DESTINATION ${NR_SYSTEMD_UNITDIR})
if(NR_INSTALL_INIT_SCRIPT STREQUAL "share")
  install(PROGRAMS "${CMAKE_BINARY_DIR}/install/nanorelay.init"
          DESTINATION ${CMAKE_INSTALL_DATADIR}/nanorelay)
elseif(NR_INSTALL_INIT_SCRIPT STREQUAL "etc")
  install(PROGRAMS "${CMAKE_BINARY_DIR}/install/nanorelay.init"
          DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/init.d RENAME nanorelay)
elseif(NOT NR_INSTALL_INIT_SCRIPT STREQUAL "none")
  message(FATAL_ERROR "NR_INSTALL_INIT_SCRIPT must be share, etc or none, not ${NR_INSTALL_INIT_SCRIPT}")
endif()

if(NR_INSTALL_SENDMAIL_LINKS)
  # Relative links, so the tree stays right under DESTDIR and when moved.
  # name, directory, man section of its page link
  foreach(_l "sendmail;SBINDIR;8" "mailq;BINDIR;1" "newaliases;BINDIR;1")
    list(GET _l 0 _name)
    list(GET _l 1 _var)
    list(GET _l 2 _sec)
    set(_dir "${CMAKE_INSTALL_${_var}}")
    file(RELATIVE_PATH _target "${CMAKE_INSTALL_FULL_${_var}}" "${CMAKE_INSTALL_FULL_SBINDIR}/nanorelay")
    file(RELATIVE_PATH _mantarget "${CMAKE_INSTALL_FULL_MANDIR}/man${_sec}"
         "${CMAKE_INSTALL_FULL_MANDIR}/man8/nanorelay-sendmail.8")
    install(CODE "
      foreach(_pair \"${_dir}/${_name}|${_target}\" \"${CMAKE_INSTALL_MANDIR}/man${_sec}/${_name}.${_sec}|${_mantarget}\")
        string(REPLACE \"|\" \";\" _pair \"\${_pair}\")
        list(GET _pair 0 _link)
        list(GET _pair 1 _to)
        set(_path \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/\${_link}\")
        get_filename_component(_d \"\${_path}\" DIRECTORY)
        file(MAKE_DIRECTORY \"\${_d}\")
        message(STATUS \"Installing link: \${_path} -> \${_to}\")
        file(CREATE_LINK \"\${_to}\" \"\${_path}\" SYMBOLIC)
      endforeach()")
  endforeach()
endif()
