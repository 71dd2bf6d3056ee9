# The Debian package (scripts/package: cpack -G DEB): the host and its
# clients in /usr/bin, the shared libraries and plugins in /usr/lib/renkei
# (the host's default plugin folder, <bin>/../lib/renkei/plugins), the
# mappings, layouts, code tables and example configs in /usr/share/renkei,
# the default config in /etc/renkei (a conffile), the systemd unit, and the
# maintainer scripts that make the renkei user and its folders.
# Dependencies are Debian's own library packages (dpkg-shlibdeps).
include(GNUInstallDirs)
set(RENKEI_LIBDIR "lib/renkei")

set(CMAKE_INSTALL_RPATH "$ORIGIN/../${RENKEI_LIBDIR}")
# renkei-runtime: what the package installs and nothing else (no tests,
# fuzzers or benchmark tools): the host (which depends on every plugin), its
# clients and helpers. scripts/demo builds this target alone.
add_custom_target(renkei-runtime)
foreach(target renkei renkei-window-client renkei-review-client renkei-pdf-pages)
  if(TARGET ${target})
    add_dependencies(renkei-runtime ${target})
    set_target_properties(${target} PROPERTIES INSTALL_RPATH "$ORIGIN/../${RENKEI_LIBDIR}")
    install(TARGETS ${target} RUNTIME DESTINATION bin)
  endif()
endforeach()
foreach(lib renkei_support renkei_api renkei_connectors renkei_zmq_channel)
  if(TARGET ${lib})
    set_target_properties(${lib} PROPERTIES INSTALL_RPATH "$ORIGIN")
    install(TARGETS ${lib} LIBRARY DESTINATION ${RENKEI_LIBDIR} NAMELINK_SKIP)
  endif()
endforeach()
get_property(plugin_targets GLOBAL PROPERTY RENKEI_PLUGIN_TARGETS)
foreach(plugin ${plugin_targets})
  set_target_properties(${plugin} PROPERTIES INSTALL_RPATH "$ORIGIN/..")
  install(TARGETS ${plugin} LIBRARY DESTINATION ${RENKEI_LIBDIR}/plugins)
endforeach()

install(DIRECTORY ${CMAKE_SOURCE_DIR}/mappings/ DESTINATION share/renkei/mappings)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/config/ DESTINATION share/renkei/examples
        PATTERN "samples" EXCLUDE)
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION share/doc/renkei)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/docs/ DESTINATION share/doc/renkei/docs)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/renkei.xml DESTINATION /etc/renkei)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/renkei.service DESTINATION /lib/systemd/system)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME renkei)
set(CPACK_PACKAGE_VENDOR "renkei")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "renkei maintainers <renkei@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "integration middleware for municipal front desks (窓口連携)")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${CMAKE_BINARY_DIR}/lib)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "postgresql-client, odbc-postgresql, tesseract-ocr-jpn")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/packaging/debian/postinst ${CMAKE_SOURCE_DIR}/packaging/debian/prerm
    ${CMAKE_SOURCE_DIR}/packaging/debian/postrm ${CMAKE_SOURCE_DIR}/packaging/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
include(CPack)
