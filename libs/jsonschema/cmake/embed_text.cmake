# Turns a text file into a C++ source defining `std::string_view <SYMBOL>()` in mqs::jsonschema::detail.
# Run as: cmake -DINPUT=<file> -DOUTPUT=<file.cpp> -DSYMBOL=<name> -P embed_text.cmake
file(READ "${INPUT}" text)
string(REGEX REPLACE "\n$" "" text "${text}")
set(delimiter "mqs_embed")
string(FIND "${text}" ")${delimiter}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw-string delimiter )${delimiter}\"")
endif()
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${INPUT} by embed_text.cmake; do not edit.\n"
  "#include <string_view>\n\n"
  "namespace mqs::jsonschema::detail {\n\n"
  "std::string_view ${SYMBOL}() {\n"
  "    static constexpr std::string_view text = R\"${delimiter}(${text})${delimiter}\";\n"
  "    return text;\n"
  "}\n\n"
  "}  // namespace mqs::jsonschema::detail\n")
# Rewrite only on change so dependants do not rebuild needlessly.
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
