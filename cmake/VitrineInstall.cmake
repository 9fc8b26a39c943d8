# Install rules and the umbrella target (docs/embedding.md).
#
# `cmake --install <build> [--prefix P]` installs:
#   lib/libvitrine_{core,os,runtime}.a, include/vitrine/**,
#   lib/cmake/vitrine/ (vitrineConfig.cmake, version file, exported targets
#   vitrine::core, vitrine::os, vitrine::runtime, vitrine::vitrine, and the
#   the FindCAF module the config uses for its dependency),
#   lib/pkgconfig/vitrine.pc, and bin/vitrine when the CLI is built.
#
# The baselines (baseline/: liburcu, messaging reads) are neither installed
# nor part of the umbrella target.
#
# The umbrella target exists in-tree too (vitrine::vitrine ALIAS), so a
# parent project can add_subdirectory() this source tree and link the same
# names as with find_package().
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

add_library(vitrine_umbrella INTERFACE)
target_link_libraries(vitrine_umbrella INTERFACE vitrine_runtime vitrine_os
                                                 vitrine_core)
add_library(vitrine::vitrine ALIAS vitrine_umbrella)

# Exported as vitrine::<EXPORT_NAME>, matching the in-tree ALIAS names.
set_target_properties(vitrine_core PROPERTIES EXPORT_NAME core)
set_target_properties(vitrine_os PROPERTIES EXPORT_NAME os)
set_target_properties(vitrine_runtime PROPERTIES EXPORT_NAME runtime)
set_target_properties(vitrine_umbrella PROPERTIES EXPORT_NAME vitrine)

option(VITRINE_INSTALL "Generate the install rules" ${PROJECT_IS_TOP_LEVEL})
if(NOT VITRINE_INSTALL)
  return()
endif()

set(VITRINE_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/vitrine")

install(
  TARGETS vitrine_core vitrine_os vitrine_runtime vitrine_umbrella
  EXPORT vitrineTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
foreach(part core os actors)
  install(DIRECTORY "${PROJECT_SOURCE_DIR}/${part}/include/"
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endforeach()
if(TARGET vitrine_cli)
  install(TARGETS vitrine_cli vitrine_full_cli vitrine_run_cli
          RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

install(
  EXPORT vitrineTargets
  NAMESPACE vitrine::
  DESTINATION ${VITRINE_CMAKE_DIR})
configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/vitrineConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/vitrineConfig.cmake"
  INSTALL_DESTINATION ${VITRINE_CMAKE_DIR})
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/vitrineConfigVersion.cmake"
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(
  FILES "${PROJECT_BINARY_DIR}/vitrineConfig.cmake"
        "${PROJECT_BINARY_DIR}/vitrineConfigVersion.cmake"
        "${PROJECT_SOURCE_DIR}/cmake/FindCAF.cmake"
  DESTINATION ${VITRINE_CMAKE_DIR})

# pkg-config: relocatable (prefix computed from the .pc file's own place),
# so `cmake --install --prefix P` works for any P.
set(VITRINE_PC_DIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(VITRINE_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH _vitrine_up "/root/${VITRINE_PC_DIR}" "/root")
  string(REGEX REPLACE "/$" "" _vitrine_up "${_vitrine_up}")
  set(VITRINE_PC_PREFIX "\${pcfiledir}/${_vitrine_up}")
endif()
# A ThreadSanitizer build's users must agree on the fence mode
# (core/detail/asymmetric_fence.hpp), as vitrine::core's users do.
set(VITRINE_PC_CFLAGS "")
if(VITRINE_SANITIZE STREQUAL "thread")
  set(VITRINE_PC_CFLAGS " -DVITRINE_TSAN=1")
endif()
configure_file("${PROJECT_SOURCE_DIR}/cmake/vitrine.pc.in"
               "${PROJECT_BINARY_DIR}/vitrine.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/vitrine.pc"
        DESTINATION ${VITRINE_PC_DIR})
