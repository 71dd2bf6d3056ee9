// renkei: entry point.
#include <malloc.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "cli.h"

namespace {
// OpenSSL's memory is cleared before it is given back: its record buffers
// hold what came through TLS in clear (a resident's names and address, a
// window system's records) and would otherwise stay in freed memory until
// the allocator reuses it.
void* clearingMalloc(std::size_t n, const char*, int) { return std::malloc(n); }
void clearingFree(void* p, const char*, int) {
  if (!p) return;
  OPENSSL_cleanse(p, ::malloc_usable_size(p));
  std::free(p);
}
void* clearingRealloc(void* p, std::size_t n, const char* file, int line) {
  if (!p) return std::malloc(n);
  if (n == 0) {
    clearingFree(p, file, line);
    return nullptr;
  }
  const std::size_t old = ::malloc_usable_size(p);
  void* q = std::malloc(n);
  if (!q) return nullptr;
  std::memcpy(q, p, std::min(old, n));
  clearingFree(p, file, line);
  return q;
}
}  // namespace

int main(int argc, char** argv) {
  // Before anything allocates through OpenSSL.
  CRYPTO_set_mem_functions(clearingMalloc, clearingRealloc, clearingFree);
  return renkei::runCli(argc, argv);
}
