// OCR templates (urn:renkei:ocr-template:1): one form residents bring, as
// the ocr connector reads it — page size, registration marks, anchor texts,
// and the zones with their field, language, page segmentation mode, type,
// PII class, check and code table. Measures in millimetres from the page's
// top-left corner. Loaded once at configure; every problem with file:line.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "renkei/support/diagnostics.h"

namespace renkei::connectors::ocr {

struct Zone {
  std::string field;
  double x = 0, y = 0, width = 0, height = 0;  ///< mm
  std::string lang = "jpn";                    ///< jpn, jpn_vert, eng
  int psm = 7;                                 ///< Tesseract page segmentation mode
  std::string type = "kanji";  ///< kanji, name, kana, digits, era-date, date, address, latin, code
  std::string pii;             ///< none, personal, identifier, special, mynumber
  std::string check;           ///< juminhyo-code, mynumber, residence-card-number, or ""
  std::map<std::string, std::string> codes;  ///< what is printed → the code sent (男=1)
  bool reviewAlways = false;   ///< names and 本籍: shown for review whatever the confidence
  bool snapToTown = false;     ///< master="town": snapped to the city's 町字 list
  int reviewBelow = -1;        ///< the zone's own confidence threshold (-1: the connector's)
  std::string listFile;              ///< list="…": the values this zone can hold (nationality, 在留資格)
  std::vector<std::string> list;     ///< read from listFile at load
  std::string residents;             ///< japanese or foreign: an item only that resident's record has; "" both
  int line = 0;
};

/// Text printed on every copy of the form (its title, the issuing
/// municipality): in its box (mm; width 0: no box), it tells which form a
/// scan is and which way up.
struct Anchor {
  std::string text;
  double x = 0, y = 0, width = 0, height = 0;
};

struct Template {
  std::filesystem::path file;
  std::string id, name, record;
  /// Whose document it is — japanese (戸籍), foreign (在留カード) or either
  /// (転出証明書, 運転免許証): the record's resident_type (日本人, 外国人, "").
  std::string residents = "either";
  double pageWidth = 0, pageHeight = 0, markSize = 0;  ///< mm
  std::vector<std::pair<double, double>> marks;       ///< top-left corners, mm
  bool byEdges = false;  ///< <edges/>: a card on the scanner's glass, registered by its edges
  bool byTexts = false;  ///< <texts/>: no marks, registered by the boxed anchor texts found on the page
  std::vector<Anchor> anchors;
  std::vector<Zone> zones;
};

/// The template in `file`, or nothing with every problem in `diags`.
std::optional<Template> loadTemplate(const std::filesystem::path& file, Diagnostics& diags);

}  // namespace renkei::connectors::ocr
