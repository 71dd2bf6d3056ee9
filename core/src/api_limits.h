// What one call to the window-system interface may make the host allocate
// or do: shared by the server and the fuzz target that checks them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace renkei::api_limits {

/// Thrift refuses a longer string or a larger list before allocating it.
constexpr std::int32_t kMaxStringBytes = 1 << 20;
constexpr std::int32_t kMaxContainerItems = 100000;
/// An ack names at most this many tokens (each a look-up under the store lock).
constexpr std::size_t kMaxAckTokens = 1000;

}  // namespace renkei::api_limits
