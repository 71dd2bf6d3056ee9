// When a PEM certificate runs out: what the host's problem watch and
// /metrics ask of every certificate renkei serves with (its own and the
// ones plugins name through Connector::certificates()).
#pragma once

#include <filesystem>
#include <optional>

namespace renkei {

/// Seconds until the first certificate in a PEM file runs out (negative
/// when it has); nullopt when the file cannot be read as one.
std::optional<double> certificateSecondsLeft(const std::filesystem::path& file);

}  // namespace renkei
