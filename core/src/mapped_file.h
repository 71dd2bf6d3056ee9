// A read-only memory mapping of a whole input file.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace renkei {

/// Maps a file read-only. An empty file maps to an empty view. Throws
/// std::runtime_error naming the file when it cannot be opened or mapped.
class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::string_view view() const { return {data_, size_}; }

  /// Tells the kernel the bytes before `offset` will not be read again, so a
  /// sequential reader's resident memory stays flat however large the file.
  /// The view stays valid (pages are read again if touched).
  void release(std::size_t offset);
  /// Releases every page and starts over, for a reader that reads the file
  /// once more from the beginning.
  void rewind();

  /// Starts a SHA-256 of the file fed by release() as a reader moves on, so
  /// hashing needs no pass of its own; finishDigest() hashes the rest and
  /// returns the lowercase hex digest. Call before rewind().
  void startDigest();
  std::string finishDigest();

 private:
  const char* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t released_ = 0;
  void* digest_ = nullptr;  ///< EVP_MD_CTX while a digest runs
  std::size_t digested_ = 0;
};

/// Lowercase hex SHA-256 of a whole mapped file, releasing its pages as it
/// goes (then rewound).
std::string sha256Hex(MappedFile& file);

}  // namespace renkei
