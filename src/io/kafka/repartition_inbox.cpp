#include "io/kafka/repartition_inbox.hpp"

#include <algorithm>
#include <stdexcept>

namespace runnel::io {
namespace {

constexpr char kMagic = 'R';
constexpr std::size_t kHeaderSize = 1 + 1 + 4 + 8 + 8 + 8;
constexpr std::string_view kSnapshotMagic = "runnel-repartition-inbox 1";
// What a kept record costs beyond its payload and key, for the buffer's bound.
constexpr std::size_t kRecordOverhead = 64;

void put(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Reads little-endian integers from a byte string; past its end is an error.
struct Reader {
  std::string_view bytes;
  std::size_t at = 0;
  std::uint64_t get(int n) {
    if (at + static_cast<std::size_t>(n) > bytes.size())
      throw std::runtime_error("repartition inbox snapshot: cut short");
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i)
      v |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[at + i])) << (8 * i);
    at += static_cast<std::size_t>(n);
    return v;
  }
  std::int64_t get_signed() { return static_cast<std::int64_t>(get(8)); }
};

}  // namespace

std::string RepartitionHeader::encode() const {
  std::string out;
  out.reserve(kHeaderSize);
  out.push_back(kMagic);
  out.push_back(static_cast<char>(kind));
  put(out, producer, 4);
  put(out, run, 8);
  put(out, static_cast<std::uint64_t>(epoch), 8);
  put(out, static_cast<std::uint64_t>(value), 8);
  return out;
}

std::optional<RepartitionHeader> RepartitionHeader::decode(std::string_view bytes) {
  if (bytes.size() != kHeaderSize || bytes[0] != kMagic) return std::nullopt;
  const auto kind = static_cast<std::uint8_t>(bytes[1]);
  if (kind > static_cast<std::uint8_t>(RepartitionKind::kEnd)) return std::nullopt;
  Reader r{bytes, 2};
  RepartitionHeader h;
  h.kind = static_cast<RepartitionKind>(kind);
  h.producer = static_cast<std::uint32_t>(r.get(4));
  h.run = r.get(8);
  h.epoch = r.get_signed();
  h.value = r.get_signed();
  return h;
}

RepartitionInbox::RepartitionInbox(int producers, std::size_t buffer_bytes, std::size_t runs_kept)
    : producers_(static_cast<std::size_t>(producers)),
      buffer_bytes_(buffer_bytes),
      runs_kept_(runs_kept) {}

void RepartitionInbox::take(std::int64_t offset, std::string_view key, std::string_view payload) {
  if (offset < read_from_) return;  // read before a seek back
  read_from_ = offset + 1;
  const auto h = RepartitionHeader::decode(key);
  if (!h || h->producer >= producers_.size() || h->run == 0) {
    ++bad_headers_;
    return;
  }
  learn(offset, *h);
  const bool handed_on = h->kind == RepartitionKind::kData ||
                         h->kind == RepartitionKind::kWatermark || h->kind == RepartitionKind::kEnd;
  if (handed_on) {
    if (pending_.empty() && fate(*h) != Fate::kWait) {
      // Decided at once: nothing before it waits.
      if (fate(*h) == Fate::kTake) {
        ready_.push_back(Item{h->kind, h->producer, offset, h->value, std::string(payload)});
      } else {
        ++dropped_;
      }
      return;
    }
    const std::size_t cost = payload.size() + key.size() + kRecordOverhead;
    if (gap_from_ < 0 && !pending_.empty() && pending_bytes_ + cost > buffer_bytes_)
      gap_from_ = offset;
    if (gap_from_ < 0) {
      pending_.push_back(Pending{offset, *h, std::string(payload)});
      pending_bytes_ += cost;
    }
  }
  decide();
}

void RepartitionInbox::learn(std::int64_t offset, const RepartitionHeader& h) {
  Producer& p = producers_[h.producer];
  switch (h.kind) {
    case RepartitionKind::kRun: {
      if (p.ended_run != 0 || p.runs.count(h.run)) return;  // after the end, or known
      for (auto& [id, run] : p.runs) {
        if (run.settled) continue;
        run.committed = std::max(run.committed, h.value);
        run.settled = true;
        run.settled_at = offset;
      }
      p.runs[h.run] = Run{next_order_++, h.value, false, 0};
      forget_old_runs(p);
      return;
    }
    case RepartitionKind::kCommit: {
      auto it = p.runs.find(h.run);
      if (it != p.runs.end() && !it->second.settled)
        it->second.committed = std::max(it->second.committed, h.value);
      return;
    }
    case RepartitionKind::kEnd: {
      auto it = p.runs.find(h.run);
      if (p.ended_run != 0 || it == p.runs.end() || it->second.settled) return;
      it->second.committed = std::numeric_limits<std::int64_t>::max();
      it->second.settled = true;
      it->second.settled_at = offset;
      p.ended_run = h.run;
      return;
    }
    default:
      return;
  }
}

RepartitionInbox::Fate RepartitionInbox::fate(const RepartitionHeader& h) const {
  const Producer& p = producers_[h.producer];
  auto it = p.runs.find(h.run);
  if (it == p.runs.end()) return Fate::kDrop;  // a run after the end, or forgotten
  const Run& run = it->second;
  if (h.kind == RepartitionKind::kEnd) return p.ended_run == h.run ? Fate::kTake : Fate::kDrop;
  if (h.epoch <= run.committed) return Fate::kTake;
  return run.settled ? Fate::kDrop : Fate::kWait;
}

void RepartitionInbox::decide() {
  while (!pending_.empty()) {
    Pending& front = pending_.front();
    const Fate f = fate(front.header);
    if (f == Fate::kWait) return;
    pending_bytes_ -= front.payload.size() + kHeaderSize + kRecordOverhead;
    if (f == Fate::kTake) {
      ready_.push_back(Item{front.header.kind, front.header.producer, front.offset,
                            front.header.value, std::move(front.payload)});
    } else {
      ++dropped_;
    }
    pending_.pop_front();
  }
  if (gap_from_ >= 0) {  // what did not fit is read again
    read_from_ = gap_from_;
    gap_from_ = -1;
  }
}

// A run's records all come before the marker that settled it (a zombie's
// later ones are of epochs past its cut, dropped either way), so a run
// settled before the first record that may be read again is not needed.
void RepartitionInbox::forget_old_runs(Producer& p) {
  const std::int64_t from = position();
  while (p.runs.size() > runs_kept_) {
    auto oldest = p.runs.end();
    for (auto it = p.runs.begin(); it != p.runs.end(); ++it) {
      const Run& r = it->second;
      if (r.settled && r.settled_at < from && p.ended_run != it->first &&
          (oldest == p.runs.end() || r.order < oldest->second.order))
        oldest = it;
    }
    if (oldest == p.runs.end()) return;
    p.runs.erase(oldest);
  }
}

std::int64_t RepartitionInbox::position() const {
  if (!ready_.empty()) return ready_.front().offset;
  if (!pending_.empty()) return pending_.front().offset;
  return read_from_;
}

bool RepartitionInbox::pop(Item& out) {
  if (ready_.empty()) return false;
  out = std::move(ready_.front());
  ready_.pop_front();
  Producer& p = producers_[out.producer];
  if (out.kind == RepartitionKind::kWatermark) {
    p.idle = out.watermark == kIdle;
    if (!p.idle) p.watermark = std::max(p.watermark, out.watermark);
  } else if (out.kind == RepartitionKind::kEnd) {
    p.end_popped = true;
  }
  return true;
}

std::int64_t RepartitionInbox::watermark() const {
  std::int64_t low = std::numeric_limits<std::int64_t>::max();
  for (const Producer& p : producers_) {
    if (!p.end_popped && !p.idle) low = std::min(low, p.watermark);
  }
  return low;
}

bool RepartitionInbox::idle() const {
  bool open = false;
  for (const Producer& p : producers_) {
    if (p.end_popped) continue;
    if (!p.idle) return false;
    open = true;
  }
  return open;
}

bool RepartitionInbox::ended() const {
  return std::all_of(producers_.begin(), producers_.end(),
                     [](const Producer& p) { return p.end_popped; });
}

std::string RepartitionInbox::snapshot() const {
  const std::int64_t position = this->position();
  std::string out(kSnapshotMagic);
  put(out, producers_.size(), 4);
  put(out, static_cast<std::uint64_t>(position), 8);
  put(out, next_order_, 8);
  for (const Producer& p : producers_) {
    put(out, p.ended_run, 8);
    put(out, static_cast<std::uint64_t>(p.watermark), 8);
    put(out, (p.end_popped ? 1 : 0) | (p.idle ? 2 : 0), 1);
    put(out, p.runs.size(), 4);
    for (const auto& [id, run] : p.runs) {
      put(out, id, 8);
      put(out, run.order, 8);
      put(out, static_cast<std::uint64_t>(run.committed), 8);
      put(out, run.settled ? 1 : 0, 1);
      put(out, static_cast<std::uint64_t>(run.settled_at), 8);
    }
  }
  return out;
}

void RepartitionInbox::restore(std::string_view bytes) {
  if (bytes.substr(0, kSnapshotMagic.size()) != kSnapshotMagic)
    throw std::runtime_error("repartition inbox snapshot: not one");
  Reader r{bytes, kSnapshotMagic.size()};
  if (r.get(4) != producers_.size())
    throw std::runtime_error(
        "repartition inbox snapshot: taken with another number of shards; a job's shards are "
        "fixed");
  read_from_ = r.get_signed();
  next_order_ = r.get(8);
  for (Producer& p : producers_) {
    p = Producer{};
    p.ended_run = r.get(8);
    p.watermark = r.get_signed();
    const auto flags = r.get(1);
    p.end_popped = (flags & 1) != 0;
    p.idle = (flags & 2) != 0;
    const auto runs = r.get(4);
    for (std::uint64_t i = 0; i < runs; ++i) {
      const std::uint64_t id = r.get(8);
      Run run;
      run.order = r.get(8);
      run.committed = r.get_signed();
      run.settled = r.get(1) != 0;
      run.settled_at = r.get_signed();
      p.runs[id] = run;
    }
  }
  pending_.clear();
  pending_bytes_ = 0;
  ready_.clear();
  gap_from_ = -1;
}

}  // namespace runnel::io
