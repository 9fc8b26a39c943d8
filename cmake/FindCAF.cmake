# FindCAF: locates the C++ Actor Framework 0.17 as shipped by Debian's
# libcaf-dev, which installs headers and libraries but no CMake package.
#
# Provides the imported targets CAF::core (and CAF::io, CAF::openssl when
# found: libcaf_openssl links OpenSSL itself), and the
# variables CAF_FOUND, CAF_VERSION (dotted, e.g. 0.17.6, from config.hpp's
# CAF_VERSION 1706), CAF_INCLUDE_DIR. Accepts version ranges: vitrine asks for
# `find_package(CAF 0.17.6...<0.18)` because CAF 0.18 and later changed the
# API vitrine uses.
include(FindPackageHandleStandardArgs)

find_path(CAF_INCLUDE_DIR caf/all.hpp)
find_library(CAF_CORE_LIBRARY caf_core)
find_library(CAF_IO_LIBRARY caf_io)
find_library(CAF_OPENSSL_LIBRARY caf_openssl)

if(CAF_INCLUDE_DIR AND EXISTS "${CAF_INCLUDE_DIR}/caf/config.hpp")
  file(STRINGS "${CAF_INCLUDE_DIR}/caf/config.hpp" _caf_version_line
       REGEX "^#define CAF_VERSION [0-9]+")
  string(REGEX REPLACE ".* ([0-9]+)$" "\\1" _caf_version "${_caf_version_line}")
  math(EXPR _caf_major "${_caf_version} / 10000")
  math(EXPR _caf_minor "(${_caf_version} / 100) % 100")
  math(EXPR _caf_patch "${_caf_version} % 100")
  set(CAF_VERSION "${_caf_major}.${_caf_minor}.${_caf_patch}")
endif()

find_package_handle_standard_args(
  CAF
  REQUIRED_VARS CAF_CORE_LIBRARY CAF_INCLUDE_DIR
  VERSION_VAR CAF_VERSION HANDLE_VERSION_RANGE
  REASON_FAILURE_MESSAGE
    "vitrine needs CAF 0.17.x (0.17.6 is Debian 12's libcaf-dev, installed by scripts/setup.sh). CAF 0.18 and later changed the actor API vitrine uses.")

if(CAF_FOUND AND NOT TARGET CAF::core)
  find_package(Threads REQUIRED)
  add_library(CAF::core UNKNOWN IMPORTED)
  # SYSTEM include: CAF's headers are not ours to hold to -Werror.
  set_target_properties(
    CAF::core
    PROPERTIES IMPORTED_LOCATION "${CAF_CORE_LIBRARY}"
               INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}"
               INTERFACE_LINK_LIBRARIES Threads::Threads)
  if(CAF_IO_LIBRARY)
    add_library(CAF::io UNKNOWN IMPORTED)
    set_target_properties(
      CAF::io PROPERTIES IMPORTED_LOCATION "${CAF_IO_LIBRARY}"
                         INTERFACE_LINK_LIBRARIES CAF::core)
  endif()
  if(CAF_IO_LIBRARY AND CAF_OPENSSL_LIBRARY)
    add_library(CAF::openssl UNKNOWN IMPORTED)
    set_target_properties(
      CAF::openssl PROPERTIES IMPORTED_LOCATION "${CAF_OPENSSL_LIBRARY}"
                              INTERFACE_LINK_LIBRARIES CAF::io)
  endif()
endif()
mark_as_advanced(CAF_INCLUDE_DIR CAF_CORE_LIBRARY CAF_IO_LIBRARY
                 CAF_OPENSSL_LIBRARY)
