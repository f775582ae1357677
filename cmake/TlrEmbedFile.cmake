# cmake -DINPUT=<file> -DOUTPUT=<file.cpp> -DHEADER=<include> -DFUNCTION=<qualified name> -P TlrEmbedFile.cmake
# Writes a C++ source whose FUNCTION (declared in HEADER as `std::string_view FUNCTION()`)
# returns the bytes of INPUT. Run at build time (add_custom_command), so that an edit of INPUT
# regenerates and recompiles the source. The bytes are written as numbers, so that no character
# of the file needs escaping.
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" digits)
math(EXPR size "${digits} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
# 16 numbers a line (CMake's regular expressions have no {n} repetition).
string(REPEAT "0x[0-9a-f][0-9a-f]," 16 line)
string(REGEX REPLACE "(${line})" "\\1\n    " bytes "${bytes}")
string(REGEX MATCH "^(.*)::([^:]+)$" qualified "${FUNCTION}")
set(namespace "${CMAKE_MATCH_1}")
set(name "${CMAKE_MATCH_2}")
get_filename_component(input_name "${INPUT}" NAME)
file(WRITE "${OUTPUT}" "// Generated at build time from ${input_name} by cmake/TlrEmbedFile.cmake.
#include \"${HEADER}\"

namespace ${namespace} {
namespace {
const unsigned char kBytes[${size} + 1] = {
    ${bytes}0x00};
}  // namespace

std::string_view ${name}() {
  return {reinterpret_cast<const char*>(kBytes), ${size}};
}

}  // namespace ${namespace}
")
