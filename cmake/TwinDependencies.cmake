# Every dependency is a Debian package; nothing is downloaded at build time.
#   antlr4 + libantlr4-runtime-dev, libz3-dev, libboost-dev, doctest-dev, libedit-dev,
#   nlohmann-json3-dev, libtorch-dev, libssl-dev.
find_package(Boost 1.74 REQUIRED)
# libcrypto (libssl-dev): HMAC-SHA256 signatures of cached verdicts (verify/signing_key.h).
find_package(OpenSSL 3 REQUIRED COMPONENTS Crypto)
find_package(nlohmann_json 3 REQUIRED)

# ANTLR: the tool (4.7.2, a Java program) generates C++ that works with the 4.9 runtime.
find_program(ANTLR4_TOOL antlr4 REQUIRED)
find_path(ANTLR4_INCLUDE_DIR antlr4-runtime.h PATH_SUFFIXES antlr4-runtime REQUIRED)
find_library(ANTLR4_RUNTIME_LIBRARY antlr4-runtime REQUIRED)

# Z3 ships no CMake config on Debian.
find_path(Z3_INCLUDE_DIR z3++.h REQUIRED)
find_library(Z3_LIBRARY z3 REQUIRED)

find_path(EDIT_INCLUDE_DIR histedit.h REQUIRED)
find_library(EDIT_LIBRARY edit REQUIRED)

# libtorch (CPU). Only the few translation units behind ops/ include it: each costs ~20 s.
find_package(Torch REQUIRED)

if(TWIN_BUILD_TESTS)
  find_package(doctest REQUIRED)
endif()
