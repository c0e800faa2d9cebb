# INGOT_FUZZ=ON (clang only) builds the libFuzzer targets in tests/fuzz/: the whole
# project gets coverage instrumentation (-fsanitize=fuzzer-no-link), each target links
# the fuzzer's main. Combine with INGOT_SANITIZE=ON for ASan + UBSan; scripts/fuzz.sh
# does both and runs every target for a bounded time. `ninja fuzz` builds them all.
option(INGOT_FUZZ "Build the libFuzzer targets in tests/fuzz (clang only)" OFF)
if(INGOT_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "INGOT_FUZZ needs clang (libFuzzer): configure with -DCMAKE_CXX_COMPILER=clang++")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link -g)
  add_custom_target(fuzz)
  file(GLOB INGOT_FUZZ_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/tests/fuzz/fuzz_*.cpp)
  foreach(src ${INGOT_FUZZ_SOURCES})
    get_filename_component(name ${src} NAME_WE)
    add_executable(${name} ${src})
    # ingot_lib and ingot_warnings are defined later (lib/, cmake/Warnings.cmake); target
    # names resolve when the build is generated.
    target_link_libraries(${name} PRIVATE ingot_lib ingot_warnings)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    add_dependencies(fuzz ${name})
  endforeach()
endif()
