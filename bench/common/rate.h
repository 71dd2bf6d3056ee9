// Calls per second of `f`, run for two seconds: the benchmark helpers' one
// timing loop.
#pragma once

#include <chrono>

namespace renkei::bench {

template <typename F>
double perSecond(F&& f) {
  using clock = std::chrono::steady_clock;
  int n = 0;
  const auto start = clock::now();
  while (clock::now() - start < std::chrono::seconds(2)) {
    f();
    ++n;
  }
  return n / std::chrono::duration<double>(clock::now() - start).count();
}

}  // namespace renkei::bench
