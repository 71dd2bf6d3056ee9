// Intake (受付): an application taken in once per origin and id, given its
// 到達日時, 到達番号 and 問合せ番号, reviewed formally, and stored with its
// 受付 notice and the department's mail in one commit.
#include "review.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "renkei/support/seal.h"
#include "review_internal.h"

namespace renkei::plugins::review {

using namespace detail;

namespace {

bool printableAscii(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return c > 0x20 && c < 0x7F; });
}

/// The attachments as listed: bounded like a package's manifest whatever the
/// source (each is hashed on disk and named in every finding), each name
/// once, plain names and SHA-256 digests only.
std::vector<AttachmentIn> checkedAttachments(const std::vector<AttachmentIn>& listed) {
  if (listed.size() > kMaxAttachments)
    throw ReviewError{ReviewError::BadRequest, "an application lists at most " + std::to_string(kMaxAttachments) +
                                                   " attachments; this one " + std::to_string(listed.size())};
  std::vector<AttachmentIn> attachments;
  std::set<std::string> names;
  for (const auto& a : listed) {
    if (!names.insert(a.name).second)
      throw ReviewError{ReviewError::BadRequest, "attachment '" + (safeName(a.name) ? a.name : std::string("?")) +
                                                     "' is listed twice"};
    if (!safeName(a.name) || !isLowerHex64(a.sha256))
      throw ReviewError{ReviewError::BadRequest,
                        "an attachment's name must be [A-Za-z0-9._-] (at most 64) and its SHA-256 64 lowercase hex digits"};
    attachments.push_back(a);
  }
  return attachments;
}

/// The 4 情報 match key of what the applicant wrote ("" without 氏名 or 生年月日).
std::string matchKeyFor(const Procedure& p, const Fields& kept, const std::map<std::string, std::string>& variants) {
  std::string name, birth;
  for (const FieldRule& r : p.fields) {
    if (r.match == "name") name = valueOf(kept, r.name);
    if (r.match == "birth") birth = valueOf(kept, r.name);
  }
  return name.empty() || birth.empty() ? std::string() : matchKeyOf(name, birth, variants);
}

}  // namespace

Application Review::intake(const IntakeInput& in, std::int64_t now) {
  if (in.externalId.empty() || in.externalId.size() > 128 || !printableAscii(in.externalId))
    throw ReviewError{ReviewError::BadRequest, "the application id is missing, longer than 128 bytes or not printable ASCII"};
  const Procedure* p = procedures_->find(in.procedure);
  if (!p) throw ReviewError{ReviewError::BadRequest, "no procedure '" + in.procedure + "' is configured here"};
  if (in.origin.empty() || in.origin.size() > 200 ||
      std::any_of(in.origin.begin(), in.origin.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; }))
    throw ReviewError{ReviewError::BadRequest, "the application's origin (the route or the caller) is not known"};
  if (auto existing = findByExternalId(in.origin, in.externalId, in.source)) return *existing;  // taken before: once

  checkValues(in.fields);
  Fields kept;
  std::size_t unknown = 0;
  for (const auto& [k, v] : in.fields) {
    if (p->field(k)) kept.emplace_back(k, v);
    else ++unknown;
  }
  const std::vector<AttachmentIn> attachments = checkedAttachments(in.attachments);
  const std::map<std::string, std::string> received = receivedAttachments(in, attachments);
  std::string residentCode;
  std::vector<Finding> findings = formalReview(*p, kept, attachments, received, in.certificateSerial, residentCode);
  if (unknown)
    findings.push_back({"unknown", "", true, std::to_string(unknown) + " items not part of the procedure were not kept"});

  Application a;
  a.inquiryNo = inquiryNumber();
  a.procedure = p->id;
  a.source = in.source.empty() ? "window" : in.source;
  a.municipality = in.municipality.empty() ? options_.municipality : in.municipality;
  a.externalId = in.externalId;
  a.receivedAt = now;
  a.state = state::kReceived;
  a.version = 1;
  a.fields = kept;
  a.attachments = attachments;
  a.findings = findings;
  a.residentCode = residentCode;
  a.due = dueDate(*p, now, 0);
  a.arrivalNo = drawArrivalNumber(localDay(now));
  Emission e = intakeEmission(a, in, *p, matchKeyFor(*p, kept, options_.variants), now);
  bool ran = false;
  e.state = [&ran, inner = std::move(e.state)](StateSession& s) {
    inner(s);
    ran = true;
  };
  commit(e, "intake");
  if (ran) told({a.arrivalNo, a.procedure, "", state::kReceived, "intake", now});
  if (auto taken = findByExternalId(in.origin, in.externalId, in.source)) return *taken;
  throw ReviewError{ReviewError::Unavailable, "intake: the application was not stored; try again"};
}

std::map<std::string, std::string> Review::receivedAttachments(const IntakeInput& in,
                                                               const std::vector<AttachmentIn>& attachments) const {
  std::map<std::string, std::string> received = in.received;
  if (options_.attachmentsDir.empty() || !safeName(in.externalId)) return received;
  for (const auto& a : attachments)
    if (!received.count(a.name)) {
      // Neither the package's folder nor the file may be a link (it could
      // point anywhere on this machine): such an attachment is not received.
      if (auto sha = hashAttachment(options_.attachmentsDir, in.externalId, a.name)) received[a.name] = *sha;
    }
  return received;
}

std::string Review::drawArrivalNumber(const std::string& day) {
  // The 到達番号 is drawn first, in a short transaction of its own: the
  // notice and the mail carry it, and an emission's records are fixed before
  // its commit. A crash between the two leaves a gap in the day's numbers,
  // never a number used twice.
  const std::string compact = day.substr(0, 4) + day.substr(5, 2) + day.substr(8, 2);
  std::int64_t n = 0;
  state_.write([&](StateSession& s) {
    if (s.run("UPDATE " + counters_ + " SET n = n + 1 WHERE day = ?", {compact}) == 0)
      s.run("INSERT INTO " + counters_ + " (day, n) VALUES (?, 1)", {compact});
    s.query("SELECT n FROM " + counters_ + " WHERE day = ?", {compact}, [&](StateRows& row) { n = row.integer(0); });
  });
  char seq[16];
  std::snprintf(seq, sizeof seq, "%06lld", static_cast<long long>(n));
  return "R" + compact + "-" + seq;
}

Emission Review::intakeEmission(Application& a, const IntakeInput& in, const Procedure& p,
                                 const std::string& matchKey, std::int64_t now) {
  Emission e;
  e.key = "review-intake:" + seal::sha256Hex(originKey(in.origin, in.externalId)).substr(0, 32);
  e.state = [this, &a, &in, matchKey, now](StateSession& s) {
    a.id = s.insertReturningId(
        "INSERT INTO " + apps_ +
            " (arrival_no, inquiry_no, procedure_id, source, municipality, external_id, received_ms, state, version, "
            "assigned, fields, attachments, findings, resident_code, due, paused_days, correction_deadline, "
            "correction_comment, hold_reason, started_ms, decided_ms, written_ms, reflected_ms, match_key, "
            "certificate_serial) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, '', ?, ?, ?, ?, ?, 0, '', '', '', 0, 0, 0, 0, ?, ?)",
        {a.arrivalNo, a.inquiryNo, a.procedure, a.source, a.municipality, originKey(in.origin, in.externalId), now, a.state,
         fieldsJson(a.fields), attachmentsJson(a.attachments), findingsJson(a.findings), a.residentCode, a.due, matchKey,
         in.certificateSerial});
    s.run("INSERT INTO " + history_ +
              " (application_id, at_ms, from_state, to_state, action, who, why) VALUES (?, ?, '', ?, 'intake', ?, ?)",
          {a.id, now, std::string(state::kReceived), in.staff.empty() ? a.source : in.staff,
           std::string("到達 (") + a.source + ")"});
  };
  e.sets.push_back(notice(a, "received", "", now));
  RecordSet mail;
  mail.recordType = "review.mail";
  Record m(mailNames_);
  m.set(0, p.department);
  m.set(1, "arrival");
  m.set(2, "1");
  m.set(3, a.arrivalNo);
  m.set(4, localDay(now));
  mail.records.push_back(std::move(m));
  e.sets.push_back(std::move(mail));
  return e;
}

}  // namespace renkei::plugins::review
