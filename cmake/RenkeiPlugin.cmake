# One function serves every plugin kind.
#
#   renkei_add_plugin(<key> KIND connector|module)   top-level list, one line each
#   renkei_plugin_library(<key> SOURCES ... [LIBRARIES ...])   inside the plugin folder
#
# A plugin is a MODULE library named renkei_<key>.so in build/bin/plugins,
# compiled against the SDK's headers (core/include) and the support
# library's (core/support/include) only, and linked against the one shared
# support library: never core/src (test_plugin_boundary checks the compile
# commands).

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
  target_link_libraries(${target} PRIVATE renkei::sdk renkei::support ${P_LIBRARIES})
  # A plugin's own symbols bind inside it: two plugins' static libraries (a
  # plugin's generated Thrift services) never resolve to each other's copy.
  target_link_options(${target} PRIVATE "LINKER:-Bsymbolic")
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

# renkei_thrift_library(<name> IDL <file.thrift> SERVICES <Service> ...)
# A plugin's own window-system services: its IDL (in the plugin's folder,
# including core's renkei.thrift for ApiError) generated into the plugin's
# build folder and built as the static library renkei_<name>_api, which
# links renkei::api. Core's CMake is not touched by a new service.
function(renkei_thrift_library name)
  cmake_parse_arguments(T "" "IDL" "SERVICES" ${ARGN})
  renkei_find_thrift()
  get_filename_component(stem ${T_IDL} NAME_WE)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/generated/api)
  set(sources ${out}/${stem}_types.cpp)
  set(headers ${out}/${stem}_types.h)
  file(READ ${CMAKE_CURRENT_SOURCE_DIR}/${T_IDL} idl)
  if(idl MATCHES "\nconst ")
    list(APPEND sources ${out}/${stem}_constants.cpp)
    list(APPEND headers ${out}/${stem}_constants.h)
  endif()
  foreach(service ${T_SERVICES})
    list(APPEND sources ${out}/${service}.cpp)
    list(APPEND headers ${out}/${service}.h)
  endforeach()
  add_custom_command(OUTPUT ${sources} ${headers}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out}
    COMMAND ${THRIFT_EXECUTABLE} --gen cpp:no_skeleton,moveable_types -I ${CMAKE_SOURCE_DIR}/core/api -out ${out}
            ${CMAKE_CURRENT_SOURCE_DIR}/${T_IDL}
    # thrift leaves unchanged outputs untouched: without this the rule runs on every build.
    COMMAND ${CMAKE_COMMAND} -E touch_nocreate ${sources} ${headers}
    DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${T_IDL} ${CMAKE_SOURCE_DIR}/core/api/renkei.thrift
    COMMENT "Generating the Thrift services of ${T_IDL}")
  add_library(renkei_${name}_api STATIC ${sources})
  target_include_directories(renkei_${name}_api PUBLIC ${CMAKE_CURRENT_BINARY_DIR}/generated)
  target_link_libraries(renkei_${name}_api PUBLIC renkei::api)
  # Generated and large: debug info for it only slows the build.
  set_source_files_properties(${sources} PROPERTIES COMPILE_OPTIONS "-g0")
  # Where the generated files are, for the fuzz sub-build.
  set_property(GLOBAL APPEND PROPERTY RENKEI_PLUGIN_API_SOURCES ${sources})
  set_property(GLOBAL APPEND PROPERTY RENKEI_PLUGIN_API_DIRS ${CMAKE_CURRENT_BINARY_DIR}/generated)
endfunction()
