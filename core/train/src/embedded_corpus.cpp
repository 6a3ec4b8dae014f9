// The embedded default text corpus (resources/data/tinyshakespeare.txt), linked in with the
// assembler's .incbin so the binaries need no data files.
#include <string_view>

__asm__(
    ".section .rodata\n"
    ".balign 16\n"
    ".global pretext_corpus_begin\n"
    "pretext_corpus_begin:\n"
    ".incbin \"" PRETEXT_CORPUS_FILE
    "\"\n"
    ".global pretext_corpus_end\n"
    "pretext_corpus_end:\n"
    ".byte 0\n"
    ".previous\n");

extern "C" const char pretext_corpus_begin[];
extern "C" const char pretext_corpus_end[];

namespace pretext::core {
std::string_view embeddedCorpus() {
  return {pretext_corpus_begin,
          static_cast<std::size_t>(pretext_corpus_end - pretext_corpus_begin)};
}
}  // namespace pretext::core
