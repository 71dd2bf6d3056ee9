// The toolkit's drop folder (connectors/common/drop_folder.h) on its own:
// the one implementation the file connector, the resident connector and
// the bridge's receiving half claim, finish, refuse and retain with.
#define BOOST_TEST_MODULE renkei_drop_folder
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <Poco/Logger.h>

#include <filesystem>
#include <fstream>

#include "drop_folder.h"
#include "renkei/support/seal.h"
#include "test_support.h"

namespace fs = std::filesystem;
using renkei::Intake;
using renkei::connectors::DropFolder;
using renkei::connectors::DropFolderOptions;

namespace {

struct Folder {
  renkei::test::TempDir tmp;
  std::vector<std::pair<std::string, std::string>> refused;
  DropFolderOptions options() {
    DropFolderOptions o;
    o.directory = tmp.path() / "drop";
    o.refused = [this](const std::string& name, const std::string& reason) { refused.emplace_back(name, reason); };
    return o;
  }
  fs::path at(const std::string& sub) const { return tmp.path() / "drop" / sub; }
};

Poco::Logger& log() { return Poco::Logger::get("test"); }

void age(const fs::path& file, int seconds) {
  struct timespec times[2];
  clock_gettime(CLOCK_REALTIME, &times[0]);
  times[0].tv_sec -= seconds;
  times[1] = times[0];
  utimensat(AT_FDCWD, file.c_str(), times, AT_SYMLINK_NOFOLLOW);
}

}  // namespace

BOOST_AUTO_TEST_CASE(files_are_claimed_in_name_order_and_what_is_ignored_stays) {
  Folder f;
  DropFolder drop(f.options(), &log(), "t");
  renkei::test::writeFile(f.at("in") / "b.csv", "2");
  renkei::test::writeFile(f.at("in") / "a.csv", "1");
  renkei::test::writeFile(f.at("in") / ".hidden", "x");
  renkei::test::writeFile(f.at("in") / "c.csv.part", "x");
  renkei::test::writeFile(f.at("in") / "d.csv.tmp", "x");
  BOOST_TEST(drop.candidates() == (std::vector<std::string>{"a.csv", "b.csv"}));
  auto first = drop.claimNext();
  BOOST_REQUIRE(first);
  BOOST_TEST(first->name == "a.csv");
  BOOST_TEST(renkei::test::readFile(first->path) == "1");
  BOOST_TEST(fs::exists(f.at("processing") / "a.csv"));
  BOOST_TEST(drop.done(*first).isOk());
  BOOST_TEST(fs::exists(f.at("done") / "a.csv"));
  // The same name again: kept beside the first, never over it.
  renkei::test::writeFile(f.at("in") / "a.csv", "1 again");
  auto again = drop.claimNext();
  BOOST_REQUIRE(again);
  BOOST_TEST(again->name == "a.csv");
  BOOST_TEST(drop.done(*again).isOk());
  BOOST_TEST(renkei::test::readFile(f.at("done") / "a.csv.1") == "1 again");
  BOOST_TEST(f.refused.empty());
}

BOOST_AUTO_TEST_CASE(a_file_still_changing_or_without_its_trigger_waits) {
  Folder f;
  auto o = f.options();
  o.trigger = ".end";
  o.minAge = std::chrono::milliseconds(0);
  DropFolder drop(o, &log(), "t");
  renkei::test::writeFile(f.at("in") / "JUMIN.csv", "x");
  BOOST_TEST(!drop.claim("JUMIN.csv"));
  BOOST_TEST(drop.candidates() == (std::vector<std::string>{"JUMIN.csv"}));  // the trigger is never data
  renkei::test::writeFile(f.at("in") / "JUMIN.end", "");
  BOOST_TEST(drop.candidates() == (std::vector<std::string>{"JUMIN.csv"}));
  auto item = drop.claim("JUMIN.csv");
  BOOST_REQUIRE(item);
  BOOST_TEST(!fs::exists(f.at("in") / "JUMIN.end"));  // removed with the claim

  Folder g;
  auto p = g.options();
  p.minAge = std::chrono::hours(1);
  DropFolder young(p, &log(), "t");
  renkei::test::writeFile(g.at("in") / "new.csv", "x");
  BOOST_TEST(!young.claimNext());
  age(g.at("in") / "new.csv", 7200);
  BOOST_TEST(young.claimNext().has_value());
}

BOOST_AUTO_TEST_CASE(links_fifos_and_large_files_are_refused_unread_with_their_reason) {
  Folder f;
  auto o = f.options();
  o.maxFileSize = 4;
  o.linkRefusal = "a link, not taken";
  DropFolder drop(o, &log(), "t");
  fs::create_directories(f.at("in"));
  fs::create_symlink("/etc/passwd", f.at("in") / "link.csv");
  ::mkfifo((f.at("in") / "fifo.csv").c_str(), 0600);
  renkei::test::writeFile(f.at("in") / "big.csv", "12345");
  BOOST_TEST(!drop.claimNext());
  BOOST_TEST(f.refused.size() == 3u);
  BOOST_TEST(fs::is_symlink(f.at("error") / "link.csv"));
  BOOST_TEST(renkei::test::readFile(f.at("error") / "link.csv.error.txt").find("reason: a link, not taken") !=
             std::string::npos);
  BOOST_TEST(renkei::test::readFile(f.at("error") / "fifo.csv.error.txt").find("not a regular file") !=
             std::string::npos);
  BOOST_TEST(renkei::test::readFile(f.at("error") / "big.csv.error.txt")
                 .find("file is 5 bytes, larger than max-file-size (4 bytes)") != std::string::npos);
  BOOST_TEST(fs::exists("/etc/passwd"));
}

BOOST_AUTO_TEST_CASE(a_file_changed_after_it_was_read_is_not_filed_as_done) {
  Folder f;
  DropFolder drop(f.options(), &log(), "t");
  renkei::test::writeFile(f.at("in") / "a.csv", "one\n");
  auto item = drop.claimNext();
  BOOST_REQUIRE(item);
  std::ofstream(item->path, std::ios::app) << "two\n";
  BOOST_TEST(drop.done(*item).isOk());
  BOOST_TEST(!fs::exists(f.at("done") / "a.csv"));
  BOOST_TEST(fs::exists(f.at("error") / "a.csv"));
  BOOST_REQUIRE(f.refused.size() == 1u);
  BOOST_TEST(f.refused[0].second.find("changed after it was read (4 bytes when claimed, 8 bytes now)") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_refused_item_always_has_its_reason_beside_it_whatever_its_name) {
  Folder f;
  auto o = f.options();
  o.noun = "bundle";
  o.failed = "rejected";
  o.reasonSuffix = ".reason.txt";
  DropFolder drop(o, &log(), "bridge-in");
  // A name in use, a planted link under the reason's name, a name too long
  // for a suffix beside it, and a name with a line break.
  const std::string longName(250, 'n');
  fs::create_directories(f.at("rejected"));
  renkei::test::writeFile(f.at("rejected") / "x.bundle", "earlier");
  renkei::test::TempDir outside;
  renkei::test::writeFile(outside.path() / "victim", "untouched");
  fs::create_symlink(outside.path() / "victim", f.at("rejected") / "y.bundle.reason.txt");
  for (const std::string& name : {std::string("x.bundle"), std::string("y.bundle"), longName, std::string("a\nb")})
    renkei::test::writeFile(f.at("in") / name, "data");
  std::vector<std::string> kept;
  for (const std::string& name : drop.candidates()) {
    auto item = drop.claim(name);
    BOOST_REQUIRE(item);
    kept.push_back(drop.fail(*item, drop.reasonText(item->name, "the signature does not verify", "2026-12-07 10:00:00 +09:00",
                                                    "bytes: 4\n")));
  }
  BOOST_TEST(kept.size() == 4u);
  for (const std::string& used : kept) {
    BOOST_TEST_CONTEXT(used) {
      BOOST_TEST(!used.empty());
      BOOST_TEST(used.size() <= 200u);
      BOOST_TEST(renkei::test::readFile(f.at("rejected") / used) == "data");
      const std::string reason = renkei::test::readFile(f.at("rejected") / (used + ".reason.txt"));
      BOOST_TEST(reason.find("connector: bridge-in\nrejected: 2026-12-07 10:00:00 +09:00\nreason: the signature does "
                             "not verify\nbytes: 4\n") != std::string::npos,
                 reason);
    }
  }
  BOOST_TEST(std::count(kept.begin(), kept.end(), "x.bundle.1") == 1);  // the earlier one stays
  BOOST_TEST(renkei::test::readFile(f.at("rejected") / "x.bundle") == "earlier");
  BOOST_TEST(!fs::is_symlink(f.at("rejected") / "y.bundle.reason.txt"));  // replaced, not written through
  BOOST_TEST(renkei::test::readFile(outside.path() / "victim") == "untouched");
  // One line per item in the reason, whatever the name holds.
  const std::string withBreak = renkei::test::readFile(f.at("rejected") / (kept[0] + ".reason.txt"));
  BOOST_TEST(withBreak.find("bundle: a\\nb\n") != std::string::npos, withBreak);
  // Bytes that never were a file, kept the same way.
  const std::string used = drop.keep("zeromq-1.bundle", "bytes", drop.reasonText("zeromq-1.bundle", "too big"));
  BOOST_TEST(renkei::test::readFile(f.at("rejected") / used) == "bytes");
  BOOST_TEST(drop.failedBytes() >= 4u * 4u + 5u);
  const std::string only = drop.reasonOnly("zeromq-2.bundle", drop.reasonText("zeromq-2.bundle", "over the limit"));
  BOOST_TEST(!fs::exists(f.at("rejected") / only));
  BOOST_TEST(fs::exists(f.at("rejected") / (only + ".reason.txt")));
}

BOOST_AUTO_TEST_CASE(what_was_claimed_before_a_crash_is_recovered_and_can_be_put_back) {
  Folder f;
  {
    DropFolder first(f.options(), &log(), "t");
    renkei::test::writeFile(f.at("in") / "a.csv", "content");
    BOOST_REQUIRE(first.claimNext());
  }  // the process "dies" with a.csv claimed
  // Whatever is in processing/ is taken first, whatever its name: a
  // dot-file there is not passed over in silence.
  renkei::test::writeFile(f.at("processing") / ".odd.tmp", "x");
  DropFolder drop(f.options(), &log(), "t");
  auto items = drop.recover();
  BOOST_REQUIRE(items.size() == 2u);
  BOOST_TEST(items[0].name == ".odd.tmp");
  BOOST_TEST(drop.fail(items[0], drop.reasonText(".odd.tmp", "not ours")) == ".odd.tmp");
  items.erase(items.begin());
  BOOST_TEST(items[0].recovered);
  BOOST_TEST(drop.fail(items[0], drop.reasonText("a.csv", "line 2: invalid")) == "a.csv");
  // Reprocess: by name and content only.
  BOOST_TEST(!drop.requeue("a.csv", std::string(64, '0')).isOk());
  BOOST_TEST(!drop.requeue("../a.csv", renkei::seal::sha256Hex("content")).isOk());
  BOOST_TEST(drop.requeue("a.csv", renkei::seal::sha256Hex("content")).isOk());
  BOOST_TEST(fs::exists(f.at("in") / "a.csv"));
  BOOST_TEST(!fs::exists(f.at("error") / "a.csv.error.txt"));
}

BOOST_AUTO_TEST_CASE(retention_removes_only_what_is_older_than_configured) {
  Folder f;
  auto o = f.options();
  o.failed = "rejected";
  o.reasonSuffix = ".reason.txt";
  o.keepFailedFor = std::chrono::hours(24);
  DropFolder drop(o, &log(), "t");
  const std::string old = drop.keep("old.bundle", "0123456789", drop.reasonText("old.bundle", "x"));
  const std::string fresh = drop.keep("fresh.bundle", "01234", drop.reasonText("fresh.bundle", "x"));
  age(f.at("rejected") / old, 2 * 86400);
  age(f.at("rejected") / (old + ".reason.txt"), 2 * 86400);
  const std::uintmax_t before = drop.failedBytes();
  const std::uintmax_t left = drop.purge(true);
  BOOST_TEST(!fs::exists(f.at("rejected") / old));
  BOOST_TEST(!fs::exists(f.at("rejected") / (old + ".reason.txt")));
  BOOST_TEST(fs::exists(f.at("rejected") / fresh));
  BOOST_TEST(left == drop.failedBytes());
  BOOST_TEST(left < before - 10u);
  // Not due again for ten minutes unless asked.
  age(f.at("rejected") / fresh, 2 * 86400);
  drop.purge();
  BOOST_TEST(fs::exists(f.at("rejected") / fresh));
}

BOOST_AUTO_TEST_CASE(a_subfolder_swapped_for_a_link_is_refused) {
  Folder f;
  DropFolder drop(f.options(), &log(), "t");
  renkei::test::TempDir elsewhere;
  fs::create_directories(f.at("in"));
  fs::create_symlink(elsewhere.path(), f.at("processing"));
  renkei::test::writeFile(f.at("in") / "a.csv", "x");
  BOOST_CHECK_THROW(drop.claimNext(), std::runtime_error);
  BOOST_TEST(fs::exists(f.at("in") / "a.csv"));
  BOOST_TEST(renkei::test::listFiles(elsewhere.path()).empty());
}
