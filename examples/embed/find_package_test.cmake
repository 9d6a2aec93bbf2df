# The ctest test embed_find_package (cmake -P): checks Twin's installed CMake package the way
# a host uses it.
#   1. cmake --install the Twin build into INSTALL_DIR (emptied first);
#   2. configure examples/embed as a project of its own, with find_package(Twin) finding
#      that installation through CMAKE_PREFIX_PATH;
#   3. build it and run it;
#   4. check that the example, and the installed twin, loaded the installation's tensor
#      backend module (not the build tree's, which a program could also find).
foreach(var TWIN_BINARY_DIR INSTALL_DIR EXAMPLE_DIR WORK_DIR)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "find_package_test.cmake: pass -D${var}=...")
  endif()
endforeach()

function(run_step what)
  message(STATUS "embed_find_package: ${what}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "embed_find_package: ${what} failed (exit ${rc}):\n  ${ARGN}")
  endif()
endfunction()

# Whatever the caller's environment says, the programs must find the module by themselves.
unset(ENV{TWIN_TORCH_BACKEND})

set(config_args "")
if(BUILD_TYPE)
  set(config_args --config "${BUILD_TYPE}")
endif()

file(REMOVE_RECURSE "${INSTALL_DIR}")
run_step("install the build into ${INSTALL_DIR}"
  "${CMAKE_COMMAND}" --install "${TWIN_BINARY_DIR}" --prefix "${INSTALL_DIR}" ${config_args})

file(GLOB_RECURSE twin_config "${INSTALL_DIR}/*/TwinConfig.cmake")
foreach(expected
    "${INSTALL_DIR}/bin/twin"
    "${INSTALL_DIR}/include/twin/interp/interpreter.h"
    "${INSTALL_DIR}/include/twin/util/rational.h"
    "${INSTALL_DIR}/share/twin/stdlib")
  if(NOT EXISTS "${expected}")
    message(FATAL_ERROR "embed_find_package: the installation lacks ${expected}")
  endif()
endforeach()
if(NOT twin_config)
  message(FATAL_ERROR "embed_find_package: the installation has no TwinConfig.cmake")
endif()

# A fresh configure each time: this is what a host does the first time it builds.
file(REMOVE_RECURSE "${WORK_DIR}")
set(configure_args
  -S "${EXAMPLE_DIR}" -B "${WORK_DIR}"
  "-DCMAKE_PREFIX_PATH=${INSTALL_DIR}"
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
if(GENERATOR)
  list(APPEND configure_args -G "${GENERATOR}")
endif()
if(BUILD_TYPE)
  list(APPEND configure_args "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}")
endif()
if(CXX_COMPILER)
  list(APPEND configure_args "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
endif()
if(CXX_COMPILER_LAUNCHER)
  list(APPEND configure_args "-DCMAKE_CXX_COMPILER_LAUNCHER=${CXX_COMPILER_LAUNCHER}")
endif()
run_step("configure examples/embed with find_package(Twin)" "${CMAKE_COMMAND}" ${configure_args})

# It must have used the installation, not some other Twin.
file(STRINGS "${WORK_DIR}/CMakeCache.txt" twin_dir REGEX "^Twin_DIR:")
string(REGEX REPLACE "^Twin_DIR:[A-Z]*=" "" twin_dir "${twin_dir}")
file(REAL_PATH "${INSTALL_DIR}" install_real)
file(REAL_PATH "${twin_dir}" twin_dir_real)
string(FIND "${twin_dir_real}" "${install_real}/" at)
if(NOT at EQUAL 0)
  message(FATAL_ERROR "embed_find_package: find_package(Twin) found ${twin_dir}, not the installation in ${INSTALL_DIR}")
endif()

run_step("build examples/embed" "${CMAKE_COMMAND}" --build "${WORK_DIR}" ${config_args})

set(exe "${WORK_DIR}/twin_embed_example")
if(NOT EXISTS "${exe}" AND BUILD_TYPE)
  set(exe "${WORK_DIR}/${BUILD_TYPE}/twin_embed_example")
endif()
message(STATUS "embed_find_package: run the example built against the installation")
execute_process(COMMAND "${exe}" "${EXAMPLE_DIR}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
message("${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "embed_find_package: the example built against the installation failed (exit ${rc})")
endif()

# The installation's module, wherever GNUInstallDirs put its libdir.
file(GLOB_RECURSE installed_module "${INSTALL_DIR}/*/twin/libtwin_torch.so")
if(NOT installed_module)
  message(FATAL_ERROR "embed_find_package: the installation lacks twin/libtwin_torch.so")
endif()
file(REAL_PATH "${installed_module}" installed_module)
string(REGEX MATCH "tensor backend: [^\n]*" loaded "${out}")
string(REPLACE "tensor backend: " "" loaded "${loaded}")
if(loaded STREQUAL "")
  message(FATAL_ERROR "embed_find_package: the example loaded no tensor backend")
endif()
file(REAL_PATH "${loaded}" loaded_real)
if(NOT loaded_real STREQUAL installed_module)
  message(FATAL_ERROR "embed_find_package: the example loaded ${loaded}, not the installed ${installed_module}")
endif()

# The installed twin, on a script that loads a graph: the dynamic loader's report
# (LD_DEBUG=files) says which module it mapped.
set(script "${WORK_DIR}/load_graph.twin")
file(WRITE "${script}" "print(len(load_graph(\"${EXAMPLE_DIR}/../llama/reference.graph\").parameters))\n")
execute_process(COMMAND "${CMAKE_COMMAND}" -E env LD_DEBUG=files
                        "${INSTALL_DIR}/bin/twin" run --allow-read "${EXAMPLE_DIR}/.." "${script}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "embed_find_package: the installed twin failed to load a graph (exit ${rc}):\n${out}")
endif()
string(FIND "${out}" "file=${installed_module} [0];  dynamically loaded" at)
if(at EQUAL -1)
  string(REGEX MATCH "file=[^\n]*libtwin_torch[^\n]*" loaded "${out}")
  message(FATAL_ERROR "embed_find_package: the installed twin did not load ${installed_module}: ${loaded}")
endif()
message(STATUS "embed_find_package: the example and the installed twin load ${installed_module}")
