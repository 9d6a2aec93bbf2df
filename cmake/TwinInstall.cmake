# Installation and the CMake package, so that a host project can do
#
#   find_package(Twin 0.1 REQUIRED)
#   target_link_libraries(host PRIVATE Twin::twin)
#
# Installed layout (under CMAKE_INSTALL_PREFIX):
#   bin/twin                            the command-line tool
#   include/twin/{util,interp,egraph,...}/*.h   public headers: #include "interp/interpreter.h"
#   include/twin/generated/*.h          the ANTLR-generated parser headers
#   <libdir>/libtwin_*.a                the static libraries
#   <libdir>/twin/libtwin_torch.so      the tensor backend module, loaded on first tensor use
#   <libdir>/cmake/Twin/                TwinConfig.cmake, TwinConfigVersion.cmake, TwinTargets*.cmake
#   share/twin/stdlib/                  the standard library (twin::installed_stdlib_directory())
#
# Included from the top-level CMakeLists.txt after every subdirectory, so all targets exist.
#
# How the link interface of the static libraries reaches a host:
# - Twin's own libraries go into the export set TwinTargets (namespace Twin::). The set is the
#   closure of twin_all's link interface, so a new library that twin_interp links (ops/,
#   verify/, ...) is installed and exported without editing this file.
# - Imported targets from CMake packages (Boost::headers, torch, nlohmann_json::...) are
#   written by name; TwinConfig.cmake calls find_dependency() for each package that the
#   exported link interface actually names (table below).
# - Libraries linked by absolute path (find_library results: libz3, libantlr4-runtime, libedit,
#   libc10 if a library ever linked TORCH_LIBRARIES again) are not exported as paths: each becomes an imported target
#   Twin::sys_<name> that TwinConfig.cmake re-finds with find_library() on the host, so the
#   installed package does not depend on where the build machine kept them.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(TWIN_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/Twin" CACHE STRING
    "Where TwinConfig.cmake is installed, relative to the prefix")
# These two must agree with $<INSTALL_INTERFACE:include/twin> (util/, grammar/) and with
# TWIN_INSTALLED_STDLIB_DIR (interp/).
set(TWIN_INSTALL_INCLUDEDIR "include/twin")
set(TWIN_INSTALL_STDLIBDIR "${CMAKE_INSTALL_DATADIR}/twin/stdlib")

# --- Headers ---------------------------------------------------------------------------------
foreach(_twin_dir IN ITEMS util interp egraph ops compiler verify synth capture check stages)
  if(IS_DIRECTORY "${PROJECT_SOURCE_DIR}/${_twin_dir}")
    install(DIRECTORY "${PROJECT_SOURCE_DIR}/${_twin_dir}/"
            DESTINATION "${TWIN_INSTALL_INCLUDEDIR}/${_twin_dir}"
            COMPONENT Twin_Development
            FILES_MATCHING PATTERN "*.h" PATTERN "*.hpp"
            # ops/torch/: the backend module's internals (they include libtorch's headers).
            PATTERN "torch" EXCLUDE)
  endif()
endforeach()
if(TARGET twin_parser)
  get_target_property(_twin_parser_binary_dir twin_parser BINARY_DIR)
  install(DIRECTORY "${_twin_parser_binary_dir}/generated/"
          DESTINATION "${TWIN_INSTALL_INCLUDEDIR}/generated"
          COMPONENT Twin_Development
          FILES_MATCHING PATTERN "*.h")
  # The generated headers include "antlr4-runtime.h": give the installed twin_parser the
  # runtime's include directory, as its BUILD_INTERFACE already does.
  if(ANTLR4_INCLUDE_DIR)
    target_include_directories(twin_parser INTERFACE "$<INSTALL_INTERFACE:${ANTLR4_INCLUDE_DIR}>")
  endif()
endif()

# --- Standard library and the CLI ------------------------------------------------------------
if(IS_DIRECTORY "${PROJECT_SOURCE_DIR}/stdlib")
  install(DIRECTORY "${PROJECT_SOURCE_DIR}/stdlib/"
          DESTINATION "${TWIN_INSTALL_STDLIBDIR}"
          COMPONENT Twin_Runtime)
endif()
# The Python capture tool that `twin capture` runs (share/twin/capture/twin_capture).
install(DIRECTORY "${PROJECT_SOURCE_DIR}/capture/twin_capture" DESTINATION "${CMAKE_INSTALL_DATADIR}/twin/capture"
        COMPONENT Twin_Runtime PATTERN "__pycache__" EXCLUDE)
if(TARGET twin_cli)
  install(TARGETS twin_cli RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT Twin_Runtime)
endif()
# The tensor backend module (ops/tensor_backend.h). Not in the export set: nothing links it, the
# installed twin and hosts dlopen it (ops/backend_loader.h says where they look).
if(TARGET twin_torch_backend)
  install(TARGETS twin_torch_backend LIBRARY DESTINATION "${TWIN_INSTALL_BACKENDDIR}" COMPONENT Twin_Runtime)
endif()

# --- The export set --------------------------------------------------------------------------
if(NOT TARGET twin_all)
  message(WARNING "TwinInstall: no target twin_all yet; the Twin CMake package is not generated")
  return()
endif()

# Peels $<LINK_ONLY:x> and $<INSTALL_INTERFACE:x> off a link item; items only for the build
# tree ($<BUILD_INTERFACE:x>) and other generator expressions give "".
function(_twin_link_item_name item out)
  set(name "${item}")
  while(name MATCHES "^\\$<(LINK_ONLY|INSTALL_INTERFACE):(.*)>$")
    set(name "${CMAKE_MATCH_2}")
  endwhile()
  if(name MATCHES "\\$<")
    set(name "")
  endif()
  set(${out} "${name}" PARENT_SCOPE)
endfunction()

# The closure of twin_all's link interface: Twin's own (non-imported) library targets, the
# imported targets they name, and the libraries they link by absolute path.
set(_twin_export_targets "")
set(_twin_imported_targets "")
set(_twin_path_libraries "")
set(_twin_queue twin_all twin_util twin_parser twin_egraph twin_interp)
while(_twin_queue)
  list(POP_FRONT _twin_queue _twin_target)
  if(NOT TARGET "${_twin_target}")
    continue()
  endif()
  get_target_property(_twin_aliased "${_twin_target}" ALIASED_TARGET)
  if(_twin_aliased)
    set(_twin_target "${_twin_aliased}")
  endif()
  if("${_twin_target}" IN_LIST _twin_export_targets)
    continue()
  endif()
  list(APPEND _twin_export_targets "${_twin_target}")
  get_target_property(_twin_links "${_twin_target}" INTERFACE_LINK_LIBRARIES)
  if(NOT _twin_links)
    continue()
  endif()
  foreach(_twin_item IN LISTS _twin_links)
    _twin_link_item_name("${_twin_item}" _twin_name)
    if(_twin_name STREQUAL "")
      continue()
    elseif(TARGET "${_twin_name}")
      get_target_property(_twin_imported "${_twin_name}" IMPORTED)
      if(_twin_imported)
        list(APPEND _twin_imported_targets "${_twin_name}")
      else()
        list(APPEND _twin_queue "${_twin_name}")
      endif()
    elseif(IS_ABSOLUTE "${_twin_name}")
      list(APPEND _twin_path_libraries "${_twin_name}")
    endif()
  endforeach()
endwhile()
list(REMOVE_DUPLICATES _twin_imported_targets)
list(REMOVE_DUPLICATES _twin_path_libraries)

# Libraries linked by absolute path -> Twin::sys_<name>, re-found by TwinConfig.cmake.
set(TWIN_CONFIG_SYSTEM_LIBRARIES "")
foreach(_twin_path IN LISTS _twin_path_libraries)
  get_filename_component(_twin_file "${_twin_path}" NAME)
  get_filename_component(_twin_dir "${_twin_path}" DIRECTORY)
  if(NOT _twin_file MATCHES "^lib(.+)\\.(so|a)(\\.[0-9.]+)?$")
    message(WARNING "TwinInstall: cannot export the link item ${_twin_path}; "
                    "hosts using find_package(Twin) get it as an absolute path")
    continue()
  endif()
  set(_twin_libname "${CMAKE_MATCH_1}")
  string(MAKE_C_IDENTIFIER "${_twin_libname}" _twin_id)
  list(APPEND TWIN_CONFIG_SYSTEM_LIBRARIES "${_twin_id}|${_twin_libname}|${_twin_dir}")
  foreach(_twin_target IN LISTS _twin_export_targets)
    get_target_property(_twin_links "${_twin_target}" INTERFACE_LINK_LIBRARIES)
    if(NOT _twin_links)
      continue()
    endif()
    set(_twin_new_links "")
    foreach(_twin_item IN LISTS _twin_links)
      _twin_link_item_name("${_twin_item}" _twin_name)
      if(_twin_name STREQUAL _twin_path)
        string(REPLACE "${_twin_path}"
               "$<BUILD_INTERFACE:${_twin_path}>$<INSTALL_INTERFACE:Twin::sys_${_twin_id}>"
               _twin_item "${_twin_item}")
      endif()
      list(APPEND _twin_new_links "${_twin_item}")
    endforeach()
    set_property(TARGET "${_twin_target}" PROPERTY INTERFACE_LINK_LIBRARIES "${_twin_new_links}")
  endforeach()
endforeach()

# Imported targets -> the package TwinConfig.cmake must find first.
set(_twin_dependency_calls "")
foreach(_twin_imported IN LISTS _twin_imported_targets)
  if(_twin_imported MATCHES "^Boost::")
    set(_twin_call "find_dependency(Boost ${Boost_VERSION_STRING} HINTS \"${Boost_DIR}\")")
  elseif(_twin_imported MATCHES "^nlohmann_json::")
    set(_twin_call "find_dependency(nlohmann_json 3 HINTS \"${nlohmann_json_DIR}\")")
  elseif(_twin_imported MATCHES "^(torch|torch_cpu|torch_library|c10|caffe2::.*|Caffe2::.*)$")
    set(_twin_call "find_dependency(Torch HINTS \"${Torch_DIR}\")")
  elseif(_twin_imported MATCHES "^antlr4_(shared|static)$")
    set(_twin_call "find_dependency(antlr4-runtime HINTS \"${antlr4-runtime_DIR}\")")
  elseif(_twin_imported MATCHES "^OpenSSL::")
    set(_twin_call "find_dependency(OpenSSL 3 COMPONENTS Crypto)")
  elseif(_twin_imported MATCHES "^Threads::")
    set(_twin_call "find_dependency(Threads)")
  elseif(_twin_imported MATCHES "^doctest::")
    set(_twin_call "find_dependency(doctest HINTS \"${doctest_DIR}\")")
  else()
    message(WARNING "TwinInstall: Twin's link interface names the imported target ${_twin_imported}, "
                    "which TwinConfig.cmake does not know how to find: add it to the table in "
                    "cmake/TwinInstall.cmake")
    continue()
  endif()
  list(APPEND _twin_dependency_calls "${_twin_call}")
endforeach()
list(REMOVE_DUPLICATES _twin_dependency_calls)
list(JOIN _twin_dependency_calls "\n" TWIN_CONFIG_DEPENDENCIES)

install(TARGETS ${_twin_export_targets}
        EXPORT TwinTargets
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT Twin_Development
        LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT Twin_Runtime
        RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT Twin_Runtime
        INCLUDES DESTINATION "${TWIN_INSTALL_INCLUDEDIR}")
install(EXPORT TwinTargets
        NAMESPACE Twin::
        DESTINATION "${TWIN_INSTALL_CMAKEDIR}"
        COMPONENT Twin_Development)

configure_package_config_file(
  "${CMAKE_CURRENT_LIST_DIR}/TwinConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/cmake/TwinConfig.cmake"
  INSTALL_DESTINATION "${TWIN_INSTALL_CMAKEDIR}"
  PATH_VARS TWIN_INSTALL_INCLUDEDIR TWIN_INSTALL_STDLIBDIR TWIN_INSTALL_BACKENDDIR CMAKE_INSTALL_BINDIR)
# 0.x: a minor release may break the API, so 0.1 accepts only 0.1.*.
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/cmake/TwinConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/cmake/TwinConfig.cmake"
              "${PROJECT_BINARY_DIR}/cmake/TwinConfigVersion.cmake"
        DESTINATION "${TWIN_INSTALL_CMAKEDIR}"
        COMPONENT Twin_Development)

message(STATUS "Twin package: exports ${_twin_export_targets}")
