// A read-only memory mapping of a whole input file.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace renkei {

/// The file changed (size, modification or change time) while it was read.
class FileChanged : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The spool folder could not take the copy (full, missing, not writable):
/// a problem of this host, not of the file.
class SpoolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};


/// Maps a file read-only. An empty file maps to an empty view. Throws
/// std::runtime_error naming the file when it cannot be opened or mapped.
///
/// A file mapped in place can be truncated by another process while it is
/// read; touching a page past the new end raises SIGBUS. For such mappings a
/// process-wide handler ends the process with exit status 1 and a message
/// instead of a crash (the CLI's `read` and `map` on a user's own file).
/// What the host takes in goes through snapshot() instead, which nothing
/// outside can change.
class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& path);

  /// Copies `path` into an unnamed file in `spoolDir` (O_TMPFILE: nobody
  /// else can open it, it vanishes when closed or when the process dies),
  /// hashing it on the way, and maps the copy: what is hashed is exactly
  /// what is read, and a vendor truncating or rewriting the original cannot
  /// reach it. The original is opened without following a symbolic link and
  /// must be a regular file; its size, modification and change times are
  /// compared before and after the copy. Throws FileChanged when it changed
  /// while being copied, SpoolError when the spool folder cannot take the
  /// copy, std::runtime_error (the OS reason; the caller names the file) for
  /// the rest. `sha256` receives the lowercase hex digest.
  static std::shared_ptr<MappedFile> snapshot(const std::filesystem::path& path,
                                              const std::filesystem::path& spoolDir, std::string& sha256);
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

 private:
  MappedFile() = default;
  const char* data_ = nullptr;
  bool guarded_ = false;  ///< registered with the SIGBUS guard
  std::size_t size_ = 0;
  std::size_t released_ = 0;
};

}  // namespace renkei
