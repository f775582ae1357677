# tlr_add_plugin(<target> <sources>...)
# Builds a tlr plugin: a shared library that links the SDK and exports only its entry point.
# Works in this source tree and, after find_package(tlr), in any other project.
function(tlr_add_plugin target)
  add_library(${target} MODULE ${ARGN})
  set_target_properties(${target} PROPERTIES
    CXX_STANDARD 17
    CXX_STANDARD_REQUIRED ON
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    PREFIX "lib"
    POSITION_INDEPENDENT_CODE ON)
  if(TARGET tlr_sdk)
    target_link_libraries(${target} PRIVATE tlr_sdk)
  else()
    target_link_libraries(${target} PRIVATE tlr::sdk)
  endif()
  # Refuse to build a plugin with unresolved symbols; the loader would refuse it anyway.
  target_link_options(${target} PRIVATE "LINKER:--no-undefined")
endfunction()
