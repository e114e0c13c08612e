# Turns a built freestanding program into a C++ source holding its bytes (run at build time):
# INPUT the program, OUTPUT the source, NAMESPACE and HEADER where kImage/kImageSize are declared,
# SOURCE the program's source file (named in the generated comment).
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" length)
math(EXPR size "${length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUTPUT}"
  "// Generated from ${SOURCE} by embed.cmake: do not edit.\n"
  "#include \"${HEADER}\"\n"
  "namespace ${NAMESPACE} {\n"
  "extern const unsigned char kImage[] = {${bytes}};\n"
  "extern const unsigned long kImageSize = ${size};\n"
  "}\n")
