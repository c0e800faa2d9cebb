# Run by CPack (CPACK_PRE_BUILD_SCRIPTS) on the staged files before the .deb is built:
# Debian policy 12.3 wants man pages compressed with `gzip -9n` (no name or timestamp,
# so the package is reproducible). `cmake --install` leaves them uncompressed.
file(GLOB_RECURSE pages "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/*/share/man/man[1-9]/*.[1-9]")
foreach(page IN LISTS pages)
  execute_process(COMMAND gzip -9nf "${page}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "gzip -9n ${page} failed (${rc})")
  endif()
endforeach()
