# FindURCU: locates liburcu's memory-barrier flavor (Debian's liburcu-dev),
# used as the second reclamation candidate measured against our hazard
# pointers. Provides URCU::memb.
include(FindPackageHandleStandardArgs)
find_path(URCU_INCLUDE_DIR urcu/urcu-memb.h)
find_library(URCU_MEMB_LIBRARY urcu-memb)
find_library(URCU_COMMON_LIBRARY urcu-common)
find_package_handle_standard_args(URCU REQUIRED_VARS URCU_MEMB_LIBRARY
                                  URCU_COMMON_LIBRARY URCU_INCLUDE_DIR)
if(URCU_FOUND AND NOT TARGET URCU::memb)
  add_library(URCU::memb INTERFACE IMPORTED)
  set_target_properties(
    URCU::memb
    PROPERTIES INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${URCU_INCLUDE_DIR}"
               INTERFACE_LINK_LIBRARIES
               "${URCU_MEMB_LIBRARY};${URCU_COMMON_LIBRARY}")
endif()
mark_as_advanced(URCU_INCLUDE_DIR URCU_MEMB_LIBRARY URCU_COMMON_LIBRARY)
