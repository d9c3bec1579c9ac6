# Writes OUTPUT: a C++ file defining `const std::string& FUNCTION()` in
# NAMESPACE that returns the text of INPUT (the web page, built into the
# binary so it is served with no files around and no network).
file(READ "${INPUT}" content)
string(FIND "${content}" ")RUNNEL_EMBED\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} holds the raw-string delimiter")
endif()
file(WRITE "${OUTPUT}"
  "// Generated from ${INPUT} by cmake/embed_text.cmake; do not edit.\n"
  "#include <string>\n"
  "namespace ${NAMESPACE} {\n"
  "const std::string& ${FUNCTION}() {\n"
  "  static const std::string text = R\"RUNNEL_EMBED(${content})RUNNEL_EMBED\";\n"
  "  return text;\n"
  "}\n"
  "}\n")
