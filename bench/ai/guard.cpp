// The AI guard's costs, measured by hand (not a test): the knowledge
// index built for N synthetic FAQ pages (Markdown, headings and text from
// the shipped pages' sentences, shuffled), a search's time, and the PII
// guard's time per prompt. Median of 5 runs, with the spread.
//   renkei-bench-ai-guard [--pages 10000] [--work DIR]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "knowledge_index.h"
#include "renkei/support/pii_guard.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

const char* kSentences[] = {
    "燃やすごみは週2回、地区ごとの収集日の朝8時30分までに出してください。",
    "粗大ごみは前日までに受付センターへ申し込み、処理券を貼って出してください。",
    "保育園の4月入園の一次申込みは前年の11月に受け付けます。",
    "国民健康保険の加入は14日以内に保険年金課で手続きしてください。",
    "住民票の写しは1通300円です。コンビニ交付もできます。",
    "マイナンバーカードの電子証明書は5回目の誕生日が期限です。",
    "印鑑登録には登録する印鑑と顔写真付きの本人確認書類が必要です。",
    "児童手当は偶数月の15日に前月までの2か月分を支給します。",
    "市役所の開庁時間は平日の午前8時30分から午後5時15分までです。",
    "転入届は引っ越した日から14日以内に市民課1番窓口へ出してください。",
    "介護保険の認定の申請は高齢福祉課で受け付けます。",
    "後期高齢者医療の保険料は年金から差し引かれます。"};
const char* kTopics[] = {"ごみ", "保育", "国保", "住民票", "マイナンバーカード", "印鑑", "児童手当", "開庁",
                         "転入", "介護", "後期高齢者", "税"};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int pages = 10000;
  fs::path work = fs::temp_directory_path() / "renkei-bench-ai";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--pages") pages = std::stoi(argv[i + 1]);
    else if (a == "--work") work = argv[i + 1];
  }
  fs::remove_all(work);
  const fs::path folder = work / "pages";
  fs::create_directories(folder);
  std::mt19937 rng(7);
  for (int p = 0; p < pages; ++p) {
    std::ofstream out(folder / ("page-" + std::to_string(p) + ".md"));
    out << "# " << kTopics[p % 12] << "のよくある質問 " << p << "\n\n";
    for (int s = 0; s < 4; ++s) {
      out << "## " << kTopics[rng() % 12] << "について " << s << "\n\n";
      for (int k = 0; k < 3; ++k) out << kSentences[rng() % 12];
      out << "\n\n";
    }
  }
  std::vector<double> build, search;
  std::size_t passages = 0;
  for (int run = 0; run < 5; ++run) {
    fs::remove(work / "index.db");
    fs::remove(work / "index.db-wal");
    fs::remove(work / "index.db-shm");
    renkei::connectors::ai::KnowledgeIndex index(work / "index.db");
    const auto t0 = Clock::now();
    passages = index.refresh(folder).passages;
    build.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    const auto t1 = Clock::now();
    for (int q = 0; q < 100; ++q) index.search("国民健康保険の加入の手続きはどこでできますか", 3);
    search.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t1).count() / 100);
  }
  std::vector<double> guard;
  const std::string prompt =
      "私の個人番号は１２３４－５６７８－９０１８です。住所は〒154-0001 東京都世田谷区池尻一丁目2番3号、"
      "電話は090-1234-5678。児童手当の申請に必要な書類と、市民課の受付時間を教えてください。";
  for (int run = 0; run < 5; ++run) {
    const auto t0 = Clock::now();
    for (int k = 0; k < 10000; ++k) {
      renkei::pii::Masker m;
      (void)m.mask(prompt);
    }
    guard.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / 10000);
  }
  const auto spread = [](const std::vector<double>& v) {
    return std::to_string(*std::min_element(v.begin(), v.end())) + "–" + std::to_string(*std::max_element(v.begin(), v.end()));
  };
  std::cout << "| measure | median of 5 | spread |\n| --- | --- | --- |\n";
  std::cout << "| index built, " << pages << " pages (" << passages << " passages), s | " << median(build) << " | "
            << spread(build) << " |\n";
  std::cout << "| search, top 3, ms | " << median(search) << " | " << spread(search) << " |\n";
  std::cout << "| PII guard, one prompt of " << prompt.size() << " bytes masked, µs | " << median(guard) << " | "
            << spread(guard) << " |\n";
  fs::remove_all(work);
}
