// 外字 tables and their application to decoded text.
#include "renkei/support/gaiji.h"


namespace renkei::text {
namespace {

std::vector<std::string> splitTabs(const std::string& line) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    std::size_t tab = line.find('\t', start);
    out.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
    if (tab == std::string::npos) break;
    start = tab + 1;
  }
  return out;
}

bool parseHex(const std::string& s, std::uint32_t& value) {
  if (s.empty() || s.size() > 8) return false;
  value = 0;
  for (char c : s) {
    value <<= 4;
    if (c >= '0' && c <= '9') value |= static_cast<std::uint32_t>(c - '0');
    else if (c >= 'a' && c <= 'f') value |= static_cast<std::uint32_t>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') value |= static_cast<std::uint32_t>(c - 'A' + 10);
    else return false;
  }
  return true;
}

// Lead bytes of the UTF-8 forms of private-use code points.
inline bool mayStartPrivateUse(unsigned char c) { return c == 0xEE || c == 0xEF || c == 0xF3 || c == 0xF4; }

}  // namespace

std::shared_ptr<GaijiTable> GaijiTable::load(const std::filesystem::path& file, const Codec& sourceCodec,
                                             Diagnostics& diags) {
  const std::string name = file.string();
  auto table = std::make_shared<GaijiTable>();
  const bool found = forEachTableLine(name, [&](int lineNo, const std::string& line) {
    const auto cols = splitTabs(line);
    if (cols.size() < 2 || cols[1].empty()) {
      diags.add(name, lineNo, "expected 'source<TAB>replacement[<TAB>fallback]'");
      return;
    }
    std::uint32_t cp = 0;
    if (cols[0].rfind("U+", 0) == 0 || cols[0].rfind("u+", 0) == 0) {
      if (!parseHex(cols[0].substr(2), cp)) {
        diags.add(name, lineNo, "'" + cols[0] + "' is not a code point; write U+E000");
        return;
      }
    } else {
      std::uint32_t bytes = 0;
      if (cols[0].size() % 2 != 0 || !parseHex(cols[0], bytes)) {
        diags.add(name, lineNo, "'" + cols[0] + "' is neither U+XXXX nor raw bytes in hex (F040)");
        return;
      }
      std::string raw;
      for (std::size_t i = 0; i < cols[0].size(); i += 2)
        raw.push_back(static_cast<char>((bytes >> (4 * (cols[0].size() - i - 2))) & 0xFF));
      std::string decoded;
      CodecStats stats;
      sourceCodec.decode(raw, decoded, stats);
      const auto* p = reinterpret_cast<const unsigned char*>(decoded.data());
      if (stats.invalid || decodeUtf8(p, decoded.size(), cp) != decoded.size()) {
        diags.add(name, lineNo, "bytes " + cols[0] + " are not one character in " + sourceCodec.name());
        return;
      }
    }
    if (!isPrivateUse(cp)) {
      diags.add(name, lineNo, "'" + cols[0] + "' is not a private-use character; only 外字 can be mapped");
      return;
    }
    Entry e{cols[1], cols.size() > 2 ? cols[2] : std::string()};
    if (!table->entries_.emplace(cp, std::move(e)).second) diags.add(name, lineNo, "'" + cols[0] + "' is mapped twice");
  });
  if (!found) {
    diags.add(name, 0, "gaiji table not found");
    return nullptr;
  }
  return table;
}

void applyGaiji(std::string& text, const GaijiTable* table, UnmappedGaiji policy, GaijiStats& stats) {
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n && !mayStartPrivateUse(static_cast<unsigned char>(text[i]))) ++i;
  if (i == n) return;

  std::string out;
  out.reserve(n + 8);
  out.append(text, 0, i);
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  while (i < n) {
    std::uint32_t cp;
    const std::size_t len = decodeUtf8(p + i, n - i, cp);
    if (len && isPrivateUse(cp)) {
      if (const GaijiTable::Entry* e = table ? table->find(cp) : nullptr) {
        out += e->replacement;
        ++stats.mapped;
      } else {
        ++stats.unmapped;
        if (policy == UnmappedGaiji::Geta) out += kGeta;
        else out.append(text, i, len);
      }
      i += len;
      continue;
    }
    const std::size_t step = len ? len : 1;
    out.append(text, i, step);
    i += step;
  }
  text.swap(out);
}

}  // namespace renkei::text
