# The layering rules, checked on the sources (ctest core.layering):
#   - nothing under session/, render/ or widgets/ (the GUI side) includes LibTorch headers
#     (torch/, ATen/, c10/): the GUI builds without them and stays fast to compile;
#   - nothing under core/ includes Qt or VTK: core is what pretext-train links on a cluster.
# Usage: cmake -DSOURCE_DIR=<checkout> -P CheckLayering.cmake
set(violations "")
function(check_tree folder forbidden_regex what)
  file(GLOB_RECURSE files "${SOURCE_DIR}/${folder}/*.h" "${SOURCE_DIR}/${folder}/*.cpp")
  foreach(f ${files})
    file(STRINGS "${f}" lines REGEX "^[ \t]*#[ \t]*include")
    foreach(line ${lines})
      if(line MATCHES "${forbidden_regex}")
        file(RELATIVE_PATH rel "${SOURCE_DIR}" "${f}")
        string(STRIP "${line}" line)
        set(violations "${violations}\n  ${rel}: ${line} (${what})")
      endif()
    endforeach()
  endforeach()
  set(violations "${violations}" PARENT_SCOPE)
endfunction()

foreach(gui session render widgets)
  check_tree(${gui} "[<\"](torch|ATen|c10)/" "LibTorch in the GUI")
endforeach()
check_tree(core "[<\"](Q[A-Za-z]+|qt[A-Za-z0-9]*/|vtk[A-Za-z0-9_]*)" "Qt or VTK in core")
if(violations)
  message(FATAL_ERROR "layering violated:${violations}")
endif()
message(STATUS "layering: session/, render/, widgets/ include no LibTorch; core/ no Qt or VTK")
