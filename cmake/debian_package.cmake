# The Debian package (cpack -G DEB in a build configured with -DDEB_PACKAGE=ON -DCMAKE_INSTALL_PREFIX=/usr):
# the plugins next to Debian's mosquitto_dynamic_security.so, the examples and docs under
# /usr/share/doc/<package>/. It activates nothing: Debian's mosquitto reads /etc/mosquitto/conf.d/*.conf,
# and the package puts nothing there. scripts/deb-test.sh builds, installs and runs it.
set(deb_package mosquitto-plugin-suite)
set(deb_doc_dir share/doc/${deb_package})

install(DIRECTORY conf/ DESTINATION ${deb_doc_dir}/examples)
install(FILES README.md DESTINATION ${deb_doc_dir})
install(DIRECTORY docs/ DESTINATION ${deb_doc_dir}/docs PATTERN design EXCLUDE)
# The examples name the paths of a /usr/local install; in the package they name the package's own.
install(CODE "
  set(examples \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${deb_doc_dir}/examples\")
  file(GLOB_RECURSE files \"\${examples}/*.conf\")
  foreach(f IN LISTS files)
    file(READ \"\${f}\" text)
    string(REPLACE \"/usr/local/lib/mosquitto/\" \"/usr/${MOSQUITTO_PLUGIN_DIR}/\" text \"\${text}\")
    string(REPLACE \"/usr/local/etc/mosquitto/plugin-suite/\" \"/usr/${deb_doc_dir}/examples/\" text \"\${text}\")
    string(REPLACE \"Paths are those of `cmake --install` with prefix /usr/local.\" \"Paths are those of the Debian package.\" text \"\${text}\")
    string(REPLACE \"paths are those of `cmake --install` with prefix /usr/local.\" \"paths are those of the Debian package.\" text \"\${text}\")
    string(REPLACE \"Paths are those of `cmake --install`.\" \"Paths are those of the Debian package.\" text \"\${text}\")
    file(WRITE \"\${f}\" \"\${text}\")
  endforeach()
")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ${deb_package})
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "Mosquitto plugin suite maintainers <maintainers@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Mosquitto plugins: payload validation, alerts, InfluxDB forwarding, dynamic ACLs")
set(CPACK_PACKAGE_DESCRIPTION "Shared-object plugins for the Mosquitto 2.x broker, loaded with plugin lines in
mosquitto.conf. Nothing is activated on installation: copy an example from
/usr/share/doc/${deb_package}/examples into /etc/mosquitto/conf.d/.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
# Library dependencies from dpkg-shlibdeps; the broker the plugins load into, by hand.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "mosquitto (>= 2.0.11)")
set(CPACK_STRIP_FILES ON)
include(CPack)
