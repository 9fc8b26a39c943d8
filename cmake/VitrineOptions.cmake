# Compiler settings shared by every target of ours.
#
# vitrine_target_defaults(<target>) applies the warning set (errors on our
# code, not on third-party headers, which come in as SYSTEM includes).
#
# VITRINE_SANITIZE selects an instrumented build for the whole tree:
#   ""          none
#   "address"   AddressSanitizer + UndefinedBehaviorSanitizer
#   "thread"    ThreadSanitizer
set(VITRINE_SANITIZE "" CACHE STRING "address | thread | empty")

if(VITRINE_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(VITRINE_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
elseif(NOT VITRINE_SANITIZE STREQUAL "")
  message(FATAL_ERROR "VITRINE_SANITIZE must be address, thread or empty, "
                      "not '${VITRINE_SANITIZE}'")
endif()

# VITRINE_FUZZ instruments everything for libFuzzer (clang only) and builds
# the fuzz targets under fuzz/.
option(VITRINE_FUZZ "Build libFuzzer targets (needs clang)" OFF)
if(VITRINE_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "VITRINE_FUZZ needs clang (CXX=clang++), not "
                        "${CMAKE_CXX_COMPILER_ID}")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

function(vitrine_target_defaults target)
  target_compile_features(${target} PUBLIC cxx_std_20)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Werror)
endfunction()
