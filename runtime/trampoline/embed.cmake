# Turns the built trampoline into a C++ source holding its bytes (run at build time).
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" length)
math(EXPR size "${length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUTPUT}"
  "// Generated from runtime/trampoline/trampoline.cpp by embed.cmake: do not edit.\n"
  "#include \"runtime/trampoline/trampoline.hpp\"\n"
  "namespace hutch::trampoline {\n"
  "extern const unsigned char kImage[] = {${bytes}};\n"
  "extern const unsigned long kImageSize = ${size};\n"
  "}\n")
