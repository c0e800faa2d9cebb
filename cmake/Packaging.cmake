# Installs the man pages and shell completions (cmd/ installs the binary) where Debian
# and most distributions look for them, and configures CPack to build a .deb whose
# dependencies dpkg-shlibdeps reads off the binary (needs dpkg-dev). In the .deb the man
# pages are gzip-compressed, as Debian policy asks (cmake/CompressManPages.cmake).
#   cmake --install build --prefix /usr/local
#   cpack --config build/CPackConfig.cmake -B out/     # -> out/ingot_<version>_<arch>.deb
include(GNUInstallDirs)

# Evaluated at install time: pages added by scripts/generate-docs.sh need no reconfigure.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/man/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man1
        FILES_MATCHING PATTERN "ingot*.1" PATTERN "prose" EXCLUDE)
install(FILES ${PROJECT_SOURCE_DIR}/completions/ingot.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME ingot)
install(FILES ${PROJECT_SOURCE_DIR}/completions/_ingot DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
install(FILES ${PROJECT_SOURCE_DIR}/completions/ingot.fish
        DESTINATION ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d)

set(INGOT_PACKAGE_CONTACT "ingot maintainers <ingot@localhost>" CACHE STRING "Maintainer field of the .deb")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ingot)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${INGOT_PACKAGE_CONTACT}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "convert, split, index and ship files too big for memory")
# Continuation lines: CPack indents them by one space, as debian/control wants.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "ingot converts NDJSON <-> CSV/TSV, splits and merges files on record boundaries,
indexes records for O(1) access and serving over HTTP, and uploads to S3,
PostgreSQL or HTTP endpoints, on all cores with flat memory.")
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_PRE_BUILD_SCRIPTS ${CMAKE_CURRENT_LIST_DIR}/CompressManPages.cmake)  # man pages as .1.gz
include(CPack)
