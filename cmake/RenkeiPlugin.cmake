# One function serves every plugin kind.
#
#   renkei_add_plugin(<key> KIND connector|module)   top-level list, one line each
#   renkei_plugin_library(<key> SOURCES ... [LIBRARIES ...])   inside the plugin folder
#
# A plugin is a MODULE library named renkei_<key>.so in build/bin/plugins,
# linked against the SDK headers only.

function(renkei_add_plugin key)
  cmake_parse_arguments(P "" "KIND" "" ${ARGN})
  if(P_KIND STREQUAL "connector")
    set(dir ${CMAKE_SOURCE_DIR}/connectors/${key})
  elseif(P_KIND STREQUAL "module")
    set(dir ${CMAKE_SOURCE_DIR}/plugins/${key})
  else()
    message(FATAL_ERROR "renkei_add_plugin(${key}): KIND must be connector or module, got '${P_KIND}'")
  endif()
  string(TOUPPER "${key}" upper)
  string(REPLACE "-" "_" upper "${upper}")
  option(RENKEI_PLUGIN_${upper} "Build the ${key} ${P_KIND} plugin" ON)
  if(RENKEI_PLUGIN_${upper})
    add_subdirectory(${dir} ${CMAKE_BINARY_DIR}/${P_KIND}s/${key})
    set_property(GLOBAL APPEND PROPERTY RENKEI_PLUGINS ${key})
  endif()
endfunction()

function(renkei_plugin_library key)
  cmake_parse_arguments(P "" "" "SOURCES;LIBRARIES" ${ARGN})
  set(target renkei_plugin_${key})
  add_library(${target} MODULE ${P_SOURCES})
  target_link_libraries(${target} PRIVATE renkei::sdk ${P_LIBRARIES})
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME renkei_${key}
    LIBRARY_OUTPUT_DIRECTORY ${RENKEI_PLUGIN_OUTPUT_DIR})
  # The host binary depends on every enabled plugin so that `make renkei`
  # yields a runnable tree.
  set_property(GLOBAL APPEND PROPERTY RENKEI_PLUGIN_TARGETS ${target})
endfunction()

# Called at the end of the top-level directory: the renkei binary depends on
# every plugin target, so building it yields a runnable tree.
function(renkei_plugins_before_host)
  get_property(plugin_targets GLOBAL PROPERTY RENKEI_PLUGIN_TARGETS)
  if(plugin_targets)
    add_dependencies(renkei ${plugin_targets})
  endif()
endfunction()
