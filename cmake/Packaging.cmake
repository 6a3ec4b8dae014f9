# The Debian package: `cpack -G DEB` in the build directory (scripts/package.sh) writes
# pretext_<version>_amd64.deb. Dependencies come from dpkg-shlibdeps on the installed
# binaries, plus what they load at run time without linking (Qt's platform plugins, Mesa's
# software OpenGL for VTK). docs/packaging.md lists what lintian says and why.

# Man pages generated from each binary's --help (help2man), so they never drift.
find_program(HELP2MAN help2man)
if(HELP2MAN)
  set(PRETEXT_MAN_DIR ${CMAKE_BINARY_DIR}/man)
  set(man_pages)
  foreach(entry
      "pretext|desktop workbench for self-supervised pre-training objectives"
      "pretext-train|headless trainer for Pretext experiments"
      "pretext-export|export weights and data from a Pretext run directory"
      "pretext-data|LiDAR point-cloud readers, converter and simulator"
      "pretext-study|run a grid of Pretext experiments and summarise them")
    string(REPLACE "|" ";" parts "${entry}")
    list(GET parts 0 exe)
    list(GET parts 1 summary)
    if(NOT TARGET ${exe})
      continue()
    endif()
    set(page ${PRETEXT_MAN_DIR}/${exe}.1.gz)
    add_custom_command(
      OUTPUT ${page}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${PRETEXT_MAN_DIR}
      COMMAND ${HELP2MAN} -N --no-discard-stderr --version-string=${PROJECT_VERSION}
              -n "${summary}" -o ${PRETEXT_MAN_DIR}/${exe}.1 $<TARGET_FILE:${exe}>
      COMMAND gzip -9nf ${PRETEXT_MAN_DIR}/${exe}.1
      DEPENDS ${exe}
      COMMENT "Man page for ${exe}")
    list(APPEND man_pages ${page})
  endforeach()
  add_custom_target(manpages ALL DEPENDS ${man_pages})
  install(FILES ${man_pages} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
else()
  message(STATUS "help2man not found: no man pages (scripts/setup.sh installs it)")
endif()

install(FILES packaging/pretext.desktop DESTINATION ${CMAKE_INSTALL_DATADIR}/applications)
install(FILES resources/icons/pretext.svg
        DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps)
install(DIRECTORY resources/presets DESTINATION ${CMAKE_INSTALL_DATADIR}/pretext)
# The embedded default data (also compiled into the binaries) with its attribution.
install(DIRECTORY resources/data DESTINATION ${CMAKE_INSTALL_DATADIR}/pretext)
install(FILES packaging/copyright DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/pretext)
# The Slurm batch script for data-parallel runs, as an example to copy and adapt.
install(FILES packaging/slurm/pretext-train.sbatch
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/pretext/examples)
set(changelog ${CMAKE_BINARY_DIR}/changelog.gz)
add_custom_command(
  OUTPUT ${changelog}
  COMMAND gzip -9nc ${PROJECT_SOURCE_DIR}/packaging/changelog > ${changelog}
  DEPENDS ${PROJECT_SOURCE_DIR}/packaging/changelog)
add_custom_target(debian_changelog ALL DEPENDS ${changelog})
install(FILES ${changelog} DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/pretext)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pretext)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "The Pretext developers")
set(CPACK_PACKAGE_CONTACT "The Pretext developers <pretext-dev@users.noreply.github.com>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "workbench for self-supervised pre-training objectives")
set(CPACK_PACKAGE_DESCRIPTION
    "Pretext launches and watches pre-training runs interactively (LibTorch on the
CPU), reproduces equivariant spatio-temporal self-supervision for LiDAR
(E-SSL3D) and the attention-sink study of small language models, inspects
point-cloud equivariance in VTK 3D views, and exports figures and weights.

This package holds the GUI (pretext), the headless trainer (pretext-train),
the study runner, the LiDAR data tool and the exporter, with the built-in
experiment presets.")
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Loaded at run time, not linked: Qt's xcb platform plugin; Mesa for VTK under Xvfb or
# without a GPU driver. OpenBLAS makes LibTorch ~35x faster than reference BLAS here.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "qt6-qpa-plugins")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libopenblas0-pthread, libgl1-mesa-dri")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "python3-torch")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
