# SPDX-License-Identifier: MIT
# `make package`: shmchop_<version>_amd64.deb with CPack (tools, shared and
# static library, headers, pkg-config and CMake files, man pages, the Python
# module), dependencies taken from the shared libraries it links.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME shmchop)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "shmchop maintainers <shmchop@example.com>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "reader, writer simulator and validator for TouchDesigner shared memory CHOPs")
set(CPACK_PACKAGE_DESCRIPTION
    "libshmchop reads, writes and validates TouchDesigner-style shared memory CHOP\n segments; shmchop-in checks, dumps and watches them, shmchop-out simulates the\n Shared Mem Out CHOP. Includes the C headers, pkg-config and CMake files, man\n pages and the Python module shmchop (ctypes, numpy).")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)            # shmchop_0.2.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The Python module needs an interpreter and numpy, which no ELF file says.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "python3, python3-numpy")
# libshmchop.so.0 in /usr/lib: the loader cache is refreshed by dpkg's
# ldconfig trigger (Debian policy 8.1.1), not by maintainer scripts.
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/cmake/debian/triggers)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)   # the shlibs file lintian asks for
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_FILE_NAME shmchop_${PROJECT_VERSION}_amd64)
include(CPack)

# What Debian policy asks of every binary package: the copyright file and
# a compressed changelog in /usr/share/doc/shmchop.
install(FILES ${PROJECT_SOURCE_DIR}/cmake/debian/copyright
  DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/shmchop)
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/changelog.gz
  COMMAND gzip -9n -c ${PROJECT_SOURCE_DIR}/cmake/debian/changelog > ${CMAKE_BINARY_DIR}/changelog.gz
  DEPENDS ${PROJECT_SOURCE_DIR}/cmake/debian/changelog VERBATIM)
add_custom_target(shmchop_debian_changelog ALL DEPENDS ${CMAKE_BINARY_DIR}/changelog.gz)
install(FILES ${CMAKE_BINARY_DIR}/changelog.gz DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/shmchop)
