# Compiler settings shared by every target of ours, applied per target by
# vitrine_target_defaults(<target>); nothing here is directory-wide, so a
# parent project that add_subdirectory()s vitrine keeps its own flags.
#
# VITRINE_WERROR (OFF): turn our warnings (-Wall -Wextra -Wpedantic) into
#   errors. scripts/test.sh, and so CI, turns it on; a default build, a
#   package build and a consumer never get -Werror from us. Third-party
#   headers come in as SYSTEM includes and are not held to it.
#
# VITRINE_SANITIZE selects an instrumented build of our targets:
#   ""          none
#   "address"   AddressSanitizer + UndefinedBehaviorSanitizer
#   "thread"    ThreadSanitizer
# A sanitized library passes the link flag on to what links it in-tree
# (tests, benches, the docs check), never to the installed package.
#
# VITRINE_FUZZ instruments our targets for libFuzzer (clang only) and builds
# the fuzz targets under fuzz/.
option(VITRINE_WERROR "Treat warnings in vitrine's own code as errors" OFF)

set(VITRINE_SANITIZE "" CACHE STRING "address | thread | empty")
set_property(CACHE VITRINE_SANITIZE PROPERTY STRINGS "" address thread)
if(VITRINE_SANITIZE STREQUAL "address")
  set(VITRINE_SANITIZE_COMPILE -fsanitize=address,undefined
                               -fno-omit-frame-pointer
                               -fno-sanitize-recover=undefined)
  set(VITRINE_SANITIZE_LINK -fsanitize=address,undefined)
elseif(VITRINE_SANITIZE STREQUAL "thread")
  set(VITRINE_SANITIZE_COMPILE -fsanitize=thread -fno-omit-frame-pointer)
  set(VITRINE_SANITIZE_LINK -fsanitize=thread)
elseif(VITRINE_SANITIZE STREQUAL "")
  set(VITRINE_SANITIZE_COMPILE "")
  set(VITRINE_SANITIZE_LINK "")
else()
  message(FATAL_ERROR "VITRINE_SANITIZE must be address, thread or empty, "
                      "not '${VITRINE_SANITIZE}'")
endif()

option(VITRINE_FUZZ "Build libFuzzer targets (needs clang)" OFF)
if(VITRINE_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "VITRINE_FUZZ needs clang (CXX=clang++), not "
                        "${CMAKE_CXX_COMPILER_ID}")
  endif()
  list(APPEND VITRINE_SANITIZE_COMPILE -fsanitize=fuzzer-no-link)
endif()

# vitrine_target_defaults(<target>): C++20, our warning set (errors only
# with VITRINE_WERROR), and the sanitizer/fuzzer instrumentation.
function(vitrine_target_defaults target)
  target_compile_features(${target} PUBLIC cxx_std_20)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic
                                           $<$<BOOL:${VITRINE_WERROR}>:-Werror>)
  if(VITRINE_SANITIZE_COMPILE)
    target_compile_options(${target} PRIVATE ${VITRINE_SANITIZE_COMPILE})
  endif()
  if(VITRINE_SANITIZE_LINK)
    get_target_property(type ${target} TYPE)
    if(type STREQUAL "EXECUTABLE")
      target_link_options(${target} PRIVATE ${VITRINE_SANITIZE_LINK})
    else()
      # A static library is not linked itself: whatever links it in this
      # build needs the sanitizer runtime.
      target_link_options(${target} INTERFACE
                          $<BUILD_INTERFACE:${VITRINE_SANITIZE_LINK}>)
    endif()
  endif()
endfunction()
