// safesim internal: the running state of one simulation, as struct-of-arrays.
//
// Hot data (read every tick) sits in dense arrays indexed by a small integer:
// open dyads, active accounts, review queues. Per-user arrays are touched only
// when an offender reaches that user, so a tick costs O(active entities), not
// O(population). Byte sizes per element are noted beside each hot array.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "channels.hpp"
#include "safesim/limits.hpp"
#include "safesim/memory_estimate.hpp"
#include "safesim/metrics.hpp"
#include "safesim/rng.hpp"
#include "safesim/spec.hpp"

namespace safesim::detail {

// ---- column tables (STYLE.md habit 16)
// Each entity table is declared once, as a list of (type, name, default)
// columns. The macros below generate from that list the columns themselves
// (one std::vector each: struct-of-arrays), a `Row` with the defaults, and
// `push(row)`, `swap_remove(i)`, `size()` and `kRowBytes` (the bytes a row
// takes in the columns, stated by the compiler through a static_assert
// beside each table). A new per-entity column is one line in its list.
#define SAFESIM_COL_MEMBER(T, name, init) std::vector<T> name;
#define SAFESIM_COL_ROW(T, name, init) T name = init;
#define SAFESIM_COL_PUSH(T, name, init) name.push_back(r.name);
#define SAFESIM_COL_MOVE(T, name, init) name[i] = std::move(name[last]);
#define SAFESIM_COL_POP(T, name, init) name.pop_back();
#define SAFESIM_COL_BYTES(T, name, init) +sizeof(T)
#define SAFESIM_TABLE(COLUMNS)                                                \
  struct Row {                                                                \
    COLUMNS(SAFESIM_COL_ROW)                                                  \
  };                                                                          \
  COLUMNS(SAFESIM_COL_MEMBER)                                                 \
  static constexpr std::size_t kRowBytes = 0 COLUMNS(SAFESIM_COL_BYTES);      \
  std::size_t size() const { return size_; }                                  \
  /** Append a row; returns its index. */                                     \
  std::uint32_t push(const Row& r) {                                          \
    COLUMNS(SAFESIM_COL_PUSH)                                                 \
    return static_cast<std::uint32_t>(size_++);                               \
  }                                                                           \
  /** Remove row i by moving the last row into its place (order not kept). */ \
  void swap_remove(std::size_t i) {                                           \
    const std::size_t last = size_ - 1;                                       \
    if (i != last) {                                                          \
      COLUMNS(SAFESIM_COL_MOVE)                                               \
    }                                                                         \
    COLUMNS(SAFESIM_COL_POP)                                                  \
    --size_;                                                                  \
  }                                                                           \
                                                                              \
 private:                                                                     \
  std::size_t size_ = 0;                                                      \
                                                                              \
 public:

inline constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();

enum AgeBand : std::uint8_t { under_13 = 0, band_13_15 = 1, band_16_17 = 2, adult = 3 };
inline AgeBand band_of(int age) {
  if (age < 13) return under_13;
  if (age < 16) return band_13_15;
  if (age < 18) return band_16_17;
  return adult;
}

/// Stages a minor can reach; bit i of a `reached` mask = stage i reached.
/// From blocked_offender on they are not dyad stages but what a minor did or
/// went through, counted as distinct minors like the stages: blocked or
/// reported an offender account at least once; the kinds of exploitation
/// (images obtained, a sextortion demand, an offline meeting); contacted
/// again by the same person after blocking or reporting one of his accounts.
enum Stage : std::uint8_t {
  contacted = 0,
  engaged = 1,
  trust = 2,
  isolation = 3,
  solicitation = 4,
  exploited = 5,
  blocked_offender = 6,
  reported_offender = 7,
  images_obtained = 8,
  sextorted = 9,
  met_offline = 10,
  recontacted = 11,
  accepted_stranger = 12,
  // Reached by any perpetrator, adult offender or peer (the *_any metrics);
  // the bits above, accepted_stranger aside, are adult offenders' only. The
  // kinds of exploitation have theirs too (mark_reached maps each adult bit
  // to its *_any bit).
  contacted_any = 13,
  solicited_any = 14,
  exploited_any = 15,
  images_obtained_any = 16,
  sextorted_any = 17,
  met_offline_any = 18,
  kStageBits = 19
};
using ReachedMask = std::uint32_t;
static_assert(kStageBits <= 8 * sizeof(ReachedMask), "every Stage needs a bit of ReachedMask");

/// Offender type index of peer perpetrators (0 groomer, 1 sextortion, 2 distributor, 3 peer).
inline constexpr std::uint8_t kPeerType = 3;
/// First RNG key of peer perpetrators (offenders.cpp): the upper half of the key space.
inline constexpr std::uint32_t kPeerKeyBase = kMaxOffenders / 2;

/// What an exploitation was (Dyads::outcome bits; 0 = none yet). The kind is
/// drawn at the dyad's first exploitation (offender type's sextortion_share
/// and meeting_share) and kept for its repeats.
enum OutcomeBits : std::uint8_t { kImages = 1, kDemand = 2, kMeeting = 4 };

/// The whole population (all platforms). 17 bytes per user.
struct Population {
  std::vector<std::uint8_t> age;      // true age, years
  std::vector<std::uint8_t> boy;      // 1 = boy / man
  std::vector<float> vulnerability;   // minors only, in (0, 1)
  std::vector<float> activity;        // log-normal, mean 1
  std::vector<ReachedMask> reached;   // Stage bits reached anywhere (ecosystem distinct counts)
  std::vector<std::uint32_t> minors;  // ids of minors
  // population.ageing (ageing.cpp): users first_joiner.. are children who join
  // at youngest_age on joiner_day[u - first_joiner] (inactive before); every
  // user under 18 at build has a birthday, and birthday_users lists them by
  // it: birthday_users[birthday_start[b] .. birthday_start[b + 1]) for day b of 365.
  std::uint32_t first_joiner = std::numeric_limits<std::uint32_t>::max();
  std::vector<std::uint16_t> joiner_day;
  std::vector<std::uint32_t> birthday_start;
  std::vector<std::uint32_t> birthday_users;
  std::size_t size() const { return age.size(); }
  /// Is user u a child who has not joined yet on `day`?
  bool unjoined(std::uint32_t u, std::int64_t day) const {
    return u >= first_joiner && joiner_day[u - first_joiner] > day;
  }
};

/// Global user id -> local member index (kNone if not a member). Dense, 4
/// bytes per user of the whole population, on platforms holding at least
/// 1/16 of it; otherwise a binary search in the platform's sorted member list,
/// 4 bytes per member. A long tail of small platforms (ecosystem_us: 200 of
/// them) then costs memory per member rather than per user: at 10 million
/// users a dense index on every platform would take 8 GB. Lookups are cold
/// (graph loading, conversations moving between platforms).
class LocalIndex {
 public:
  /// `members` must be sorted ascending (platforms add members in user order).
  void build(const std::vector<std::uint32_t>& members, std::size_t population) {
    auto d = std::make_shared<Data>();
    d->population = population;
    if (members.size() * 16 >= population) {
      d->dense.assign(population, kNone);
      for (std::size_t k = 0; k < members.size(); ++k) d->dense[members[k]] = static_cast<std::uint32_t>(k);
    } else {
      d->sorted = members;
    }
    d_ = std::move(d);
  }
  std::uint32_t operator[](std::size_t user) const {
    if (!d_->dense.empty()) return d_->dense[user];
    const auto& sorted = d_->sorted;
    const auto it = std::lower_bound(sorted.begin(), sorted.end(), static_cast<std::uint32_t>(user));
    return it != sorted.end() && *it == user ? static_cast<std::uint32_t>(it - sorted.begin()) : kNone;
  }
  std::size_t size() const { return d_ ? d_->population : 0; }

 private:
  // Immutable once built and shared between copies (cached structures).
  struct Data {
    std::vector<std::uint32_t> dense;
    std::vector<std::uint32_t> sorted;
    std::size_t population = 0;
  };
  std::shared_ptr<const Data> d_;
};

/// Member settings bits.
enum SettingBits : std::uint8_t { kPrivate = 1, kSupervised = 2, kRemoved = 4, kEducated = 8 };

/// Frozen social graph of one platform over local member indices (CSR),
/// built through Boost.Graph's compressed_sparse_row_graph; per-edge
/// attributes in a parallel array. The arrays are immutable once built and
/// shared: a Graph is a view that keeps them alive, so copying it (a run
/// reusing a cached structure) copies no edges.
///
/// With graph.on_demand the stored rows hold the family and coach ties only,
/// and each member's peer ties are generated when read (graph.cpp,
/// `neighbours`), from the community layout and the class partners below: a
/// few bytes per member instead of about 4 per directed edge.
struct GraphArrays {
  std::vector<std::uint32_t> offsets;  // members + 1
  std::vector<std::uint32_t> targets;  // 4 bytes per directed edge
  std::vector<std::uint64_t> trusted;  // 1 bit per directed edge (edge e: bit e % 64 of word e / 64): family or coach
  // graph.on_demand only (empty otherwise):
  std::vector<std::uint32_t> order;     // community position -> member
  std::vector<std::uint32_t> position;  // member -> community position
  std::vector<float> activity_at;       // community position -> the user's activity (read in order, not at random)
  std::vector<std::uint32_t> partner;   // round r, class k: partner class at r * classes + k (kNone: none)
  std::uint32_t class_size = 0, classes = 0, rounds = 0;
  double q = 0;     // probability of a tie within a class (1: complete)
  double beta = 0;  // a pair of partner classes' members is tied w.p. min(1, beta (a_u + a_v) / 2)
  bool on_demand() const { return !order.empty(); }
};
struct Graph {
  std::span<const std::uint32_t> offsets;
  std::span<const std::uint32_t> targets;
  std::span<const std::uint64_t> trusted_bits;
  std::shared_ptr<const GraphArrays> arrays;
  static Graph of(std::shared_ptr<const GraphArrays> a) {
    Graph g;
    g.offsets = a->offsets;
    g.targets = a->targets;
    g.trusted_bits = a->trusted;
    g.arrays = std::move(a);
    return g;
  }
  /// Stored ties of v (with graph.on_demand, its family and coach ties only:
  /// read a member's ties through `neighbours`).
  std::uint32_t degree(std::uint32_t v) const { return offsets[v + 1] - offsets[v]; }
  /// Whether directed edge e (an index into targets) is a trusted tie.
  bool trusted(std::size_t e) const { return ((trusted_bits[e / 64] >> (e % 64)) & 1u) != 0; }
};

/// Generated tie lists of one run, keyed by (platform << 32 | member): each
/// list's start and length in `ties`. Under graph.on_demand most reads of a
/// member's ties repeat an earlier one (an offender's connected minors are
/// read at each friend-suggestion attempt: about 45,000 reads of 6,000
/// members in ecosystem_us at a million users), and each costs a keyed draw
/// per candidate pair. Emptied when `ties` would pass kMaxTies (16 MB) or
/// the index kMaxLists lists (its slots take 4 MB; the memory estimate allows 8).
struct TieCache {
  static constexpr std::size_t kMaxTies = kTieCacheMaxTies;  // memory_estimate.hpp: the estimate counts them
  static constexpr std::size_t kMaxLists = kTieCacheMaxLists;
  /// Where each list is in `ties`: open addressing with linear probing over
  /// 2 x kMaxLists slots of 16 bytes (4 MB, allocated at the first insert),
  /// never more than half full since insert empties the cache at kMaxLists
  /// lists. A lookup is usually one cache line; std::unordered_map's was a
  /// bucket and then a node, two misses on a large run.
  class Index {
   public:
    struct Entry {
      std::uint64_t key = kEmpty;
      std::uint32_t first = 0, size = 0;
    };
    const Entry* find(std::uint64_t key) const {
      if (slots_.empty()) return nullptr;
      for (std::size_t i = slot(key);; i = (i + 1) & (kSlots - 1)) {
        if (slots_[i].key == key) return &slots_[i];
        if (slots_[i].key == kEmpty) return nullptr;
      }
    }
    bool contains(std::uint64_t key) const { return find(key) != nullptr; }
    std::size_t size() const { return size_; }
    /// Adds `key`, which must be absent, with fewer than kMaxLists keys held.
    void insert(std::uint64_t key, std::uint32_t first, std::uint32_t size) {
      if (slots_.empty()) slots_.resize(kSlots);
      std::size_t i = slot(key);
      while (slots_[i].key != kEmpty) i = (i + 1) & (kSlots - 1);
      slots_[i] = {key, first, size};
      ++size_;
    }
    void clear() {
      if (size_ > 0) std::fill(slots_.begin(), slots_.end(), Entry{});
      size_ = 0;
    }

   private:
    static constexpr std::uint64_t kEmpty = ~std::uint64_t{0};  // no key: platforms are 16-bit
    static constexpr std::size_t kSlots = 2 * kMaxLists;        // a power of two
    static std::size_t slot(std::uint64_t key) {
      return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> 32) & (kSlots - 1);
    }
    std::vector<Entry> slots_;
    std::size_t size_ = 0;
  };
  static_assert((TieCache::kMaxLists & (TieCache::kMaxLists - 1)) == 0, "kMaxLists: a power of two");
  Index at;
  std::vector<std::uint32_t> ties;
  void clear() {
    at.clear();
    ties.clear();
  }
  /// Keeps member `key`'s list (emptying the cache first when full).
  void insert(std::uint64_t key, std::span<const std::uint32_t> list) {
    if (ties.size() + list.size() > kMaxTies || at.size() >= kMaxLists) clear();
    at.insert(key, static_cast<std::uint32_t>(ties.size()), static_cast<std::uint32_t>(list.size()));
    ties.insert(ties.end(), list.begin(), list.end());
  }
};
/// Tie lists generated on a thread reading ahead (contact.cpp), which reads
/// the cache but leaves it unchanged: kept here and added to it afterwards.
struct TieSink {
  std::vector<std::uint64_t> keys;
  std::vector<std::uint32_t> ends;  // end of each list in `ties`
  std::vector<std::uint32_t> ties;
  void clear() {
    keys.clear();
    ends.clear();
    ties.clear();
  }
};

/// Interest groups: minors in each group (CSR), the channel "shared groups";
/// shared and immutable like the graph.
struct GroupArrays {
  std::vector<std::uint32_t> offsets;
  std::vector<std::uint32_t> members;  // local member indices of minors
};
struct Groups {
  std::span<const std::uint32_t> offsets;
  std::span<const std::uint32_t> members;
  std::shared_ptr<const GroupArrays> arrays;
  static Groups of(std::shared_ptr<const GroupArrays> a) {
    Groups g;
    g.offsets = a->offsets;
    g.members = a->members;
    g.arrays = std::move(a);
    return g;
  }
  std::size_t count() const { return offsets.empty() ? 0 : offsets.size() - 1; }
};

/// Sort key of a member in the community layout (graph.cpp): age, then a
/// random draw, then the member index, so the order is a total one whatever
/// the platform's size (a packed 64-bit key held the index in 24 bits and
/// corrupted platforms past 16,777,216 members).
struct CommunityKey {
  std::uint64_t age_draw;  // age << 32 | draw
  std::uint32_t member;
};
constexpr CommunityKey community_key(std::uint8_t age, std::uint32_t draw, std::uint32_t member) {
  return {(static_cast<std::uint64_t>(age) << 32) | draw, member};
}
/// Members in community order: sorted by age, draw and index.
std::vector<std::uint32_t> community_order(std::vector<CommunityKey> keyed);

/// What a review-queue item is about.
enum class ItemKind : std::uint8_t {
  account,  ///< an offender account (user report or detector flag)
  copy,     ///< an abuse-material copy (user report or classifier flag)
  benign,   ///< a batch of reports or flags about benign users or items
  // Other harm categories (moderation.cpp): batches whose `target` is how many of `count` are violations.
  other_report,  ///< a batch of other-harm user reports, founded and unfounded
  other_flag,    ///< a batch of other-harm detector flags, true and false
};

/// A queued review item: 32 bytes.
struct Report {
  double ready_hour;     // when it enters review
  std::uint32_t target;  // account or copy index (unused for benign)
  std::uint32_t count;   // benign items are queued in batches
  ItemKind kind;
  Channel channel;                  // the detection channel that found it
  std::uint32_t private_count = 0;  // benign: how many of `count` are private items (reviewed first; rights.cpp)
  double filed_hour = 0;  // when it was filed (SLA deadline = filed_hour + review.sla_hours); set by queue_review
};
static_assert(sizeof(Report) == 32, "Report: 32 bytes");

/// A FIFO review queue of one priority class. Items enter with one fixed
/// delay, so the queue is in order of readiness (within a tick). The first
/// `breached` items have already been counted as SLA breaches while waiting.
struct ReviewQueue {
  std::deque<Report> items;
  std::size_t breached = 0;
};

/// One platform's running state.
struct PlatformState {
  const PlatformSpec* spec = nullptr;  // controls in force (timeline swaps it)
  // members: 15 bytes each
  std::vector<std::uint32_t> user;  // global user id
  std::vector<std::uint8_t> declared_age;
  std::vector<std::uint8_t> believed_age;
  std::vector<std::uint16_t> join_day;
  std::vector<std::uint8_t> settings;            // SettingBits
  std::vector<ReachedMask> reached;              // Stage bits reached on this platform
  LocalIndex local_of;                           // global user -> local index (kNone if not a member)
  std::vector<std::uint32_t> minors;             // local indices of true minors (members)
  std::vector<std::uint32_t> minors_by_band[4];  // by believed band, for benign volumes
  std::uint64_t minors_active = 0;               // minors not removed (denominator of *_per_1k)
  std::uint64_t minors_protected = 0;            // of those, believed under 18 (protections apply)
  std::uint64_t adults_active = 0;               // members 18 or over not removed (metric adults)
  double detection_risk = 0;                     // how visible detection is to offenders (0..1)
  bool risk_fired = false;                       // its risk assessment crossed the threshold
  std::uint32_t clearinghouse_sent = 0;          // reports sent so far (LeCase::sequence)
  std::uint64_t underage_removed = 0;
  Graph graph;
  Groups groups;
  // review queues: high priority (child safety), trusted flaggers' priority
  // channel (high priority too, with its own delay), normal (other reports)
  ReviewQueue queue_high;
  ReviewQueue queue_flagger;
  ReviewQueue queue_normal;
  double review_budget = 0;
  double surge_budget = 0;  // reviews bought to keep the SLA
  // Minors accepting strangers (strangers.cpp): per member, when (on its
  // believed band's clock) the minor next accepts a stranger, and that band;
  // per band, the minors in order of that time, the next one due, the clock.
  std::vector<float> stranger_due;
  std::vector<std::uint8_t> stranger_band;
  std::array<std::vector<std::uint32_t>, 4> stranger_order;
  std::array<std::size_t, 4> stranger_next{};
  // The due time at the head of each band's order once a tick stopped there
  // (infinity at its end; -infinity: not known, read the order), so a tick
  // with nobody due returns without reading the order: most do on a small
  // platform.
  std::array<float, 4> stranger_head{kUnknownHead, kUnknownHead, kUnknownHead, kUnknownHead};
  static constexpr float kUnknownHead = -std::numeric_limits<float>::infinity();
  std::array<double, 4> stranger_clock{};
  // population.ageing: minors joining a band after its order was built (a
  // joiner, a birthday into a new band), a min-heap of (due, member) per band;
  // and each member's position in `minors` and in its believed band's
  // minors_by_band list (kNone: not in it), so a birthday moves one entry.
  std::array<std::vector<std::pair<float, std::uint32_t>>, 4> stranger_late;
  std::vector<std::uint32_t> minor_pos, band_pos;
  // Its declared operator (operators.hpp): index into State::operators and
  // that operator's metrics scope, or kNone for a platform that is its own.
  std::uint32_t op = kNone;
  std::uint32_t op_scope = kNone;
  bool pooled_review = false;  // reviewed by its operator's pooled organisation
  // Other-harm review outcomes (moderation.cpp): stream moderation_review at (platform, tick), one cursor a tick.
  rng::Draw moderation_draw{0, 0, 0, 0};
  std::uint32_t moderation_tick = 0xffffffffu;
};

/// A declared operator's running state (operators.cpp).
struct OperatorState {
  std::uint32_t scope = 0;               // its metrics scope: 1 + platforms + operator index
  std::vector<std::uint16_t> platforms;  // its services
  std::vector<ReachedMask> reached;      // Stage bits reached on any of its services, per user (distinct counts)
  double review_budget = 0;              // pooled review (OperatorSpec::pooled_review)
  double surge_budget = 0;
  std::vector<rng::Draw> draws;  // per service: its review stream this tick (reused, no allocation)
  std::vector<double> reviewed;  // per service: reviews this tick
};

/// Four interest groups of an account (kNone = unused).
using GroupSlots = std::array<std::uint32_t, 4>;

/// Offender accounts, append-only (a banned account stays, marked). The key
/// is the account's stable RNG key (account_key()); `next_of_offender` links
/// an offender's accounts in creation order (Offenders::first_account).
#define SAFESIM_ACCOUNT_COLUMNS(X)                                                          \
  X(std::uint32_t, key, 0)                                                                  \
  X(std::uint32_t, offender, 0)                                                             \
  X(std::uint32_t, next_of_offender, kNone)                                                 \
  X(std::uint16_t, platform, 0)                                                             \
  X(std::uint8_t, type, 0) /* 0 groomer, 1 sextortion, 2 distributor, 3 peer */             \
  X(std::uint8_t, claimed_age, 0)                                                           \
  X(std::uint8_t, believed_age, 0)                                                          \
  X(std::uint8_t, banned, 0)                                                                \
  X(std::uint8_t, hunting, 1)      /* 0 = only holds conversations moved here */            \
  X(std::uint8_t, risk_flagged, 0) /* already sent to review by behavioural risk */         \
  X(std::uint32_t, flags, 0)       /* blocks + reports from minors */                       \
  X(std::uint32_t, strikes, 0)                                                              \
  X(std::uint32_t, requests_today, 0)                                                       \
  X(std::uint32_t, open_dyads, 0)                                                           \
  X(std::int32_t, first_contact_day, -1) /* -1 = none yet */                                \
  X(std::uint32_t, uploads, 0)           /* copies uploaded so far (a copy's stable key) */ \
  X(float, risk_score, 0.0f)             /* behavioural risk score */                       \
  X(GroupSlots, groups, (GroupSlots{kNone, kNone, kNone, kNone}))                           \
  X(std::vector<std::uint32_t>, connections, {}) /* local indices of connected minors */
struct Accounts {
  SAFESIM_TABLE(SAFESIM_ACCOUNT_COLUMNS)
  std::vector<std::uint32_t> active;  // indices of accounts not banned
};
static_assert(Accounts::kRowBytes == 64 + sizeof(std::vector<std::uint32_t>),
              "Accounts: 64 bytes a row plus connections");

/// Offenders, append-only. Account keys are the offender's key * 256 +
/// generation, so offender keys are limited to kMaxOffenders and accounts per
/// offender to 256.
#define SAFESIM_OFFENDER_COLUMNS(X)                                                    \
  X(std::uint32_t, user, 0) /* global user id */                                       \
  X(std::uint32_t, key, 0)  /* RNG identity: its account keys are key * 256 + n */     \
  X(std::uint32_t, first_account, kNone)                                               \
  X(std::uint32_t, last_account, kNone)                                                \
  X(std::uint8_t, type, 0)                                                             \
  X(std::uint16_t, generation, 0)      /* accounts created so far (at most 256) */     \
  X(std::uint16_t, returns_pending, 0) /* ban-evasion returns scheduled */             \
  X(std::uint8_t, removed, 0)          /* 1 = removed by law enforcement: no return */ \
  X(std::uint8_t, departed, 0)         /* 1 = stopped for good (replaced if offenders.replacement) */
struct Offenders {
  SAFESIM_TABLE(SAFESIM_OFFENDER_COLUMNS)
};
static_assert(Offenders::kRowBytes == 23, "Offenders: 23 bytes a row");

/// An account's stable RNG key: the same offender's n-th account has the same
/// key in every scenario (common random numbers). Refuses what would wrap.
std::uint32_t account_key(std::uint32_t offender, std::uint32_t generation);

/// Abuse-material items (distinct images or videos), append-only.
#define SAFESIM_ITEM_COLUMNS(X) X(std::uint8_t, known, 0) /* hash in the shared list */
struct Items {
  SAFESIM_TABLE(SAFESIM_ITEM_COLUMNS)
};
static_assert(Items::kRowBytes == 1, "Items: 1 byte a row");

/// Copies of items on a platform surface, append-only; `live` lists the visible ones.
#define SAFESIM_COPY_COLUMNS(X)                                                                          \
  X(std::uint32_t, item, 0)                                                                              \
  X(std::uint32_t, account, 0) /* uploader */                                                            \
  X(std::uint32_t, seq, 0)     /* the uploader's n-th upload: with its key, the copy's stable RNG key */ \
  X(std::uint16_t, platform, 0)                                                                          \
  X(std::uint8_t, in_group, 0) /* 1 = group post, 0 = direct message */                                  \
  X(std::uint8_t, file, 0)     /* 1 = sent through the file-transfer surface (e2ee_file_share) */        \
  X(std::uint8_t, known_at_upload, 0)                                                                    \
  X(std::uint8_t, gone, 0)    /* removed or expired */                                                   \
  X(std::uint8_t, flagged, 0) /* a trusted flagger has sent a notice about it */                         \
  X(float, e2ee_u, 0.0f)      /* encrypted iff below its surface's share (surface_e2ee_share) */         \
  X(double, upload_hour, 0.0)                                                                            \
  X(double, expire_hour, 0.0)                                                                            \
  X(double, last_hour, 0.0) /* views accounted up to here */
struct Copies {
  SAFESIM_TABLE(SAFESIM_COPY_COLUMNS)
  std::vector<std::uint32_t> live;
};
static_assert(Copies::kRowBytes == 47, "Copies: 47 bytes a row");

/// A report on its way to, or waiting at, law enforcement.
struct LeCase {
  double ready_day;        // when it can be worked on
  std::uint32_t offender;  // kNone for a report about a benign user
  std::uint16_t platform;
  std::uint32_t sequence;  // the platform's n-th clearinghouse report: its stable RNG key
  double reported_day;     // platform's report day (evidence retention counts from here)
  std::uint8_t files = 0;  // copies it carries (1 for a copy's report, 0 for an account's)
  bool folded = false;     // a copy folded into an earlier report of its bundle: a file, no report
};

enum Moved : std::uint8_t { kOnPlatform = 0, kMovedInEcosystem = 1, kOffAllPlatforms = 2 };

/// Open dyads (offender account - minor), swap-removed on close. `events`
/// counts the dyad's events (its RNG slot, with start_day; see dyad_slot()).
#define SAFESIM_DYAD_COLUMNS(X)                                                                   \
  X(std::uint32_t, account, 0)                                                                    \
  X(std::uint32_t, minor, 0) /* local index on `platform` */                                      \
  X(std::uint16_t, platform, 0)                                                                   \
  X(std::uint8_t, stage, engaged)                                                                 \
  X(std::uint8_t, moved, kOnPlatform) /* kOnPlatform, kMovedInEcosystem or kOffAllPlatforms */    \
  X(std::uint8_t, outcome, 0)         /* OutcomeBits of its exploitation (0 = none yet) */        \
  X(std::uint8_t, harvested, 0)       /* 1 = the offender saved the minor's public images */      \
  X(float, e2ee_u, 0.0f)              /* encrypted iff below the current platform's e2ee_share */ \
  X(std::uint32_t, events, 0)                                                                     \
  X(std::uint16_t, start_day, 0)                                                                  \
  X(double, next_hour, 0.0) /* time of the next event */                                          \
  X(double, last_hour, 0.0) /* exposure accounted up to here */
struct Dyads {
  SAFESIM_TABLE(SAFESIM_DYAD_COLUMNS)
};
static_assert(Dyads::kRowBytes == 40, "Dyads: 40 bytes a row");

/// Where a dyad's draws sit in its RNG stream (streams::dyad, entity = the
/// minor's user id): two blocks per event, the slot word holding the start
/// day and the low 16 bits of the event count. start_day < kMaxHorizonDays
/// keeps slot * 2 inside 32 bits; every further 65,536 events of a long-lived
/// dyad (sextortion repeats) mix an epoch into the time word, so no two
/// events of a dyad share numbers. Epoch 0 is the original layout.
static_assert(kMaxHorizonDays < (1 << 15), "a dyad's start day must fit 15 bits of its RNG slot");
struct DyadRngPosition {
  std::uint32_t time, slot;
};
constexpr DyadRngPosition dyad_rng_position(std::uint32_t account_key, std::uint32_t start_day, std::uint32_t events) {
  const std::uint32_t slot = ((start_day << 16) | (events & 0xFFFFu)) * 2u;
  return {account_key ^ ((events >> 16) * 0x9E3779B9u), slot};
}

/// Flat open-addressing set of 64-bit keys (blocked account-minor pairs).
class PairSet {
 public:
  bool contains(std::uint64_t k) const;
  void insert(std::uint64_t k);

 private:
  void grow();
  std::vector<std::uint64_t> slots_;  // 0 = empty; keys stored + 1
  std::size_t size_ = 0;
};

/// The rights side's running state (rights.cpp): distinct-person marks and
/// each platform's identity draws for the current tick.
struct RightsState {
  PairSet marks;                     // (kind, scope, user): counted once per scope
  std::vector<rng::Draw> draws;      // per platform: its benign_identity draw at (platform, tick)
  std::vector<std::uint32_t> ticks;  // per platform: the tick its draw is for (kNone: none yet)
};

/// Metric accumulators: [scope][horizon day][metric]. The warm-up's days are
/// counted too (stages add to the day's row whatever the day) but not kept:
/// they share one day of rows, cleared at the start of each (start_day), so
/// the run holds and first-touches the horizon's rows only (its output).
struct MetricsAcc {
  std::size_t scopes = 0;
  std::int64_t warmup = 0;  // days before the horizon
  std::int64_t days = 0;    // the horizon's days, the rows kept
  std::vector<double> daily;
  std::vector<double> warm;  // [scope][metric]: the current warm-up day's
  double* row(std::size_t scope, std::int64_t day) {
    if (day < warmup) return &warm[scope * kMetricCount];
    return &daily[(scope * static_cast<std::size_t>(days) + static_cast<std::size_t>(day - warmup)) * kMetricCount];
  }
  /// Day `day` begins: a warm-up day after the first reuses the shared rows
  /// (a horizon row, and the first day's, start at 0 as allocated; anything
  /// added on day 0 before its start, in the build, is kept).
  void start_day(std::int64_t day) {
    if (day > 0 && day < warmup) std::fill(warm.begin(), warm.end(), 0.0);
  }
  // time to detection: sum and count per scope
  std::vector<double> ttd_sum, ttd_count;
  // minor-level metrics by age and gender: [scope][group][slot] (metrics.hpp kGroupMetrics)
  std::vector<double> groups;
  double* group_row(std::size_t scope, std::size_t group) {
    return &groups[(scope * kGroupCount + group) * kGroupMetricCount];
  }
};

/// A person's planned return to a minor he remembers (revisits.cpp). Held in
/// a min-heap ordered by (hour, offender, user, tries): a total order, so the
/// returns fire in the same order whatever else happened.
struct Revisit {
  double hour;              // when he tries
  std::uint32_t offender;   // the person
  std::uint32_t user;       // the minor (global user id)
  std::uint32_t refused;    // key of the account the minor blocked, reported or lost to a ban (RNG key)
  std::uint32_t tries = 0;  // earlier tries with no usable account
  bool operator>(const Revisit& o) const {
    if (hour != o.hour) return hour > o.hour;
    if (offender != o.offender) return offender > o.offender;
    if (user != o.user) return user > o.user;
    return tries > o.tries;
  }
};

/// population.ageing's running state (ageing.cpp).
struct AgeingState {
  bool on = false;
  std::vector<std::uint8_t> member;         // per user: a member of some platform (maybe joining later)
  std::vector<std::uint16_t> platforms_on;  // per user: platforms joined and not removed, now
  std::vector<std::vector<std::uint32_t>> join_start, join_members;  // per platform: members by join day (CSR)
  std::vector<ReachedMask> ever;  // per joiner: Stage bits reached since joining (never reset)
  std::vector<double> cohort;     // [age 0..17][kCohortColumns]: RunOutput::cohort
  double eco_minors = 0;          // people under 18 on at least one platform, now
  double eco_joined = 0;          // people on at least one platform, now
  double eco_minors_ever = 0;     // distinct people under 18 on a platform at some time of the horizon
  std::vector<double> platform_minors_ever;
  std::vector<double> eco_daily_minors, eco_daily_users;  // per simulated day, end of day
  std::vector<std::uint32_t> aged_out;                    // today's 18th birthdays (sorted)
  std::uint64_t birthdays = 0, joins = 0;                 // events processed (tests)
};

/// What one platform's work adds beyond the platform (the ecosystem's and its
/// operator's rows, distinct marks over people), kept while platforms run side
/// by side and applied afterwards in platform order (apply_scope_effects): each
/// sum then takes its terms in the order one thread would add them.
struct ScopeEffect {
  enum Kind : std::uint8_t { add, mark };
  double value = 0;        // add: the amount
  std::uint32_t user = 0;  // mark: the person
  Kind kind = add;
  std::uint8_t stage = 0;  // mark: the stage
  std::uint16_t what = 0;  // add: the metric's column; mark: the person's age and gender group
};
using ScopeEffects = std::vector<ScopeEffect>;

/// Users per tick (users x dt_hours / 24) from which benign_background runs
/// platforms side by side on the run's threads: below it a tick's work is too
/// small to pay for starting threads. Results do not depend on it; tests lower
/// it to run the side-by-side path on small ecosystems.
inline double side_by_side_users = 250000;

/// Active offender accounts per tick from which discover_and_contact reads
/// its attempts ahead on the run's threads (contact.cpp): below it the tick's
/// work is too small to pay for starting threads. Results do not depend on
/// it; tests lower it to run the threaded path on small ecosystems.
inline std::size_t read_ahead_accounts = 4096;

/// One contact attempt read ahead of the tick's serial pass (contact.cpp):
/// what discovery and the filters that nothing in the pass can change found,
/// from the state at the tick's start.
struct AheadAttempt {
  enum Kind : std::uint8_t { none, found };
  double hour = 0;          // when the contact is made
  std::uint32_t minor = 0;  // local member index (found)
  Kind kind = none;
  std::uint8_t via_group = 0;
};
/// An active account's attempts read ahead: its Poisson count and what its
/// own state was (a dyad opened or a flag raised in the pass invalidates them).
struct AheadAccount {
  std::uint32_t first = 0, count = 0;  // its attempts in its chunk's list
  std::uint32_t conn_size = 0, flags = 0;
  std::uint8_t read = 0;  // 0: not read ahead (banned or at its open-dyad limit then)
};
/// An attempt waiting in the read-ahead: account, attempt number and where
/// its discovery will read its candidate (discovery_pick).
struct PendingAttempt {
  std::uint32_t account = 0, k = 0;
  std::uint32_t position = 0;  // the account's in Accounts::active
  const std::uint32_t* pick = nullptr;
};
struct ContactAhead {
  static constexpr std::size_t kChunk = 1024;  // accounts per unit of work
  std::vector<AheadAccount> accounts;          // per position in Accounts::active
  std::vector<std::vector<AheadAttempt>> chunks;
  std::vector<TieSink> ties;                         // per chunk
  std::vector<std::vector<PendingAttempt>> pending;  // per worker thread
};

struct State {
  const ScenarioSpec* spec = nullptr;
  std::uint64_t seed = 0;
  std::int64_t day = 0;         // simulated day, from 0 (the first warm-up day)
  std::int64_t warmup = 0;      // days before the measured horizon (spec->warmup_days)
  std::int64_t total_days = 0;  // warmup + horizon: the days simulated
  std::uint32_t tick = 0;       // global tick counter (RNG time key)
  double hour = 0;              // start of the current tick
  double dt_hours = 24;
  Population pop;
  std::vector<PlatformState> platforms;
  std::vector<OperatorState> operators;  // declared operators, in ScenarioSpec::operators order
  Offenders offenders;
  std::size_t initial_offenders = 0;  // offenders at day 0 (scale of new arrivals)
  // Offender RNG keys (offenders.cpp): the initial offenders' are 0..N0-1,
  // arrivals' N0.. in arrival order, and a replacement's is the key of the
  // person replaced plus key_stride, so a design that moves one departure
  // leaves every other offender's keys, and draws, where they were.
  std::uint32_t key_stride = 0;
  std::uint32_t arrivals = 0;  // arrivals so far (beyond replacements)
  // Peer perpetrators (offenders.peer_share > 0) hold the upper half of the
  // key space: keys from kMaxOffenders / 2, replacements key + peer_stride,
  // arrivals after the initial ones; adults keep below adult_key_limit.
  std::uint32_t adult_key_limit = kMaxOffenders;
  std::size_t initial_peers = 0;  // peer key slots at day 0 (peers drawn, with any who were adult offenders)
  std::uint32_t peer_stride = 0;
  std::uint32_t peer_arrivals = 0;
  Accounts accounts;
  Dyads dyads;
  PairSet blocked_pairs;          // (account key << 32 | user): the minor blocked that account
  PairSet refused_pairs;          // (offender << 32 | user): the minor blocked or reported one of the person's accounts
  std::vector<Revisit> revisits;  // min-heap (std::greater): planned returns to remembered minors
  std::vector<std::vector<std::uint32_t>> returns_by_day;       // offenders coming back on that day
  std::vector<std::vector<std::uint32_t>> replacements_by_day;  // departed offenders replaced on that day
  std::vector<std::vector<std::pair<std::uint32_t, std::uint16_t>>> signals_by_day;  // (offender, origin platform)
  Items items;
  Copies copies;
  std::deque<LeCase> clearinghouse_inbox;  // platform reports in transit, in the order sent
  // Open bundles (clearinghouse.cpp): (reporting account scope << 32 | item) -> day the bundle opened.
  std::unordered_map<std::uint64_t, double> clearinghouse_bundles;
  std::deque<LeCase> le_queue;    // actionable reports waiting for law enforcement
  std::deque<LeCase> le_pending;  // investigations under way (sorted by ready_day)
  double le_budget = 0;
  std::vector<std::vector<float>> removal_hours_known, removal_hours_new;  // per scope
  std::size_t next_event = 0;                                              // next timeline event
  RightsState rights;
  MetricsAcc metrics;
  AgeingState ageing;
  // Platform choice (offenders.cpp): per offender type, the cumulative choice
  // weights over platforms, rebuilt when `choice_stale` (update_detection_risk
  // sets it whenever a platform's controls, and so its members, change).
  std::array<std::vector<double>, kPeerType + 1> choice_cumulative;
  bool choice_stale = true;
  // Threads of this run: the build (memberships, controls, graphs) and, on a
  // large ecosystem, platforms side by side in the daily benign background.
  // Results do not depend on it.
  int threads = 1;
  // graph.on_demand: peer-tie lists already generated in this run (neighbours,
  // graph.cpp). Reads come from the daily step, which runs on one thread; the
  // lists never change, so the cache changes no result, only the time.
  // (discover_and_contact's read-ahead threads only read it: TieSink.)
  mutable TieCache tie_cache;
  std::vector<ScopeEffects> scope_effects;  // per platform (benign.cpp), kept between ticks for their capacity
  ContactAhead contact_ahead;               // discover_and_contact's read-ahead, kept between ticks likewise

  double& m(std::size_t platform, Metric metric) { return metrics.row(platform + 1, day)[idx(metric)]; }
  /// Add to a platform's metric, its operator's and the ecosystem total.
  void add(std::size_t platform, Metric metric, double value) {
    metrics.row(platform + 1, day)[idx(metric)] += value;
    metrics.row(0, day)[idx(metric)] += value;
    if (const std::uint32_t o = platforms[platform].op_scope; o != kNone) metrics.row(o, day)[idx(metric)] += value;
  }
  /// As add, with the ecosystem's and operator's part kept in `later` (ScopeEffect).
  void add(std::size_t platform, Metric metric, double value, ScopeEffects& later) {
    metrics.row(platform + 1, day)[idx(metric)] += value;
    later.push_back({.value = value, .kind = ScopeEffect::add, .what = static_cast<std::uint16_t>(idx(metric))});
  }
  /// Count a time to detection (days from first contact to ban) in the platform's scopes.
  void add_time_to_detection(std::size_t platform, double days) {
    for (const std::size_t sc : {std::size_t{0}, platform + 1, std::size_t{platforms[platform].op_scope}}) {
      if (sc == kNone) continue;
      metrics.ttd_sum[sc] += days;
      metrics.ttd_count[sc] += 1;
    }
  }
  /// add(), and the same in the minor's age and gender group (user: global
  /// id) when the metric is one of kGroupMetrics. Sites that concern one
  /// minor use this; add() is for everything else.
  void add_minor(std::size_t platform, std::uint32_t user, Metric metric, double value) {
    if (pop.age[user] >= 18) return;  // aged out (population.ageing): no longer counted as a minor
    add(platform, metric, value);
    const std::size_t slot = group_slot(metric);
    if (slot == kGroupMetricCount) return;
    const std::size_t g = group_of(pop.age[user], pop.boy[user] != 0);
    metrics.group_row(platform + 1, g)[slot] += value;
    metrics.group_row(0, g)[slot] += value;
  }
  const OffenderTypeSpec& type_spec(std::uint8_t type) const {
    return type == 0   ? spec->offenders.groomer
           : type == 1 ? spec->offenders.sextortion
           : type == 2 ? spec->offenders.distributor
                       : spec->offenders.peer;
  }
  bool is_peer(std::uint32_t account) const { return accounts.type[account] == kPeerType; }
  /// A minor-level flow caused by offender account `account` (contact attempts,
  /// conversations): an adult offender's counts in `metric`, a peer
  /// perpetrator's in its peer_* counterpart, or nowhere if it has none.
  void add_by(std::uint32_t account, std::size_t platform, std::uint32_t user, Metric metric, double value) {
    if (!is_peer(account)) return add_minor(platform, user, metric, value);
    const Metric peer = peer_metric(metric);
    if (peer != metric) add_minor(platform, user, peer, value);
  }
};

// ---- stages, one file each (called in the order of docs/model/process.md by simulation.cpp)
void build_population(State& s);
/// A person's keyed draws (gender, vulnerability for a minor, activity) into pop's arrays at id.
void draw_person(State& s, std::uint32_t id, bool minor);
// ---- population.ageing (ageing.cpp)
/// User u's birthday, a day of the year (0-364).
std::uint32_t birthday_of(const State& s, std::uint32_t u);
/// The day a child under `minimum_age` at build (or a joiner) reaches it.
std::int64_t minimum_age_day(const State& s, std::uint32_t u, int minimum_age);
/// Recount who is on at least one platform (joined, not removed) and the ecosystem's current minors.
void count_presence(State& s);
/// Children who join during the run and everyone's birthday buckets (in build_population).
void build_joiners(State& s, std::size_t minors);
/// After the structure and controls: take unjoined children out of the minor lists and counts.
void prepare_ageing(State& s);
/// Day start: today's birthdays and joins.
void age_population(State& s);
/// A cohort member reached a stage (from mark_reached).
inline void cohort_mark(State& s, std::uint32_t user, Stage stage);
/// The end of the warm-up: the horizon's distinct minors start from those now present.
void start_ageing_measurement(State& s);
/// The minor count of one day's end (ecosystem), for the daily level.
void record_ageing_day(State& s);
/// population.ageing: end the open dyads of users in `users` (sorted), who turned 18 (grooming.cpp).
void close_dyads_aged_out(State& s, const std::vector<std::uint32_t>& users);
/// Stranger acceptance for a minor entering believed band `band` after the order was built.
void stranger_enter(State& s, std::size_t p, std::uint32_t m, int band);
void build_platforms(State& s);   // membership and declared ages (no control but minimum_age)
void finish_platforms(State& s);  // believed ages and settings from the controls
/// Population, memberships and graphs: built, or copied from the per-process
/// cache when an earlier run used the same seed and structural keys.
void build_structure(State& s);
void clear_cache();
void apply_controls(State& s, std::size_t p, bool reset_existing_defaults);
/// The distinct ties of member v of platform p in ascending order: its stored
/// row, or with graph.on_demand its peer ties generated into `buf` merged with
/// its stored (family and coach) ties. Same list whenever it is asked for;
/// generated lists are kept for the run (State::tie_cache), or, with a
/// `sink`, kept there and the cache only read (several threads reading).
std::span<const std::uint32_t> neighbours(const State& s, std::size_t p, std::uint32_t v,
                                          std::vector<std::uint32_t>& buf, TieSink* sink = nullptr);

/// Every platform's graph and interest groups (graph.cpp), on `threads`
/// threads: the same graphs, bit for bit, at any thread count.
void build_graphs(State& s, int threads);
/// Platform indices, most members first (ties in index order): the order the
/// build and the measurement's start hand platforms to threads.
std::vector<std::size_t> platforms_largest_first(const State& s);
void build_offenders(State& s);
/// Platform choice (offenders.cpp): the probability that an offender of
/// `type` opening an account picks each platform (tests and diagnostics).
std::vector<double> platform_choice_shares(State& s, std::uint8_t type);
void apply_timeline(State& s);
void return_banned_offenders(State& s);
void offender_arrivals(State& s);              // new offenders join over the horizon
void revisit_targets(State& s, double t_end);  // 2. remembered minors, from the person's other accounts
void discover_and_contact(State& s);
void progress_dyads(State& s, double t_end);
void benign_background(State& s);
/// Other harm categories in aggregate (moderation.cpp): violations, detector flags, founded reports.
void other_harms(State& s);
/// Queue `count` other-harm items of which `violating` are violations, split urgent / ordinary with `d`.
void queue_other(State& s, std::size_t platform, std::uint64_t count, std::uint64_t violating, ItemKind kind,
                 rng::Draw& d);
/// Review `n` items of the front batch `r` of other-harm items (its count is not changed here).
void review_other(State& s, std::size_t platform, Report& r, std::uint64_t n);
/// Minors accepting strangers (strangers.cpp): order platform p's minors by when each next
/// accepts one (after controls change, a fresh draw with `epoch` when `fresh`).
void schedule_strangers(State& s, std::size_t p, bool fresh, std::uint32_t epoch);
/// Advance believed band `band`'s clock by `contacts` stranger contacts per minor that reach
/// the minor, and count the minors whose time has come (their marks beyond
/// the platform kept in `later`).
void advance_strangers(State& s, std::size_t p, int band, double contacts, ScopeEffects& later);
void review_reports(State& s, double t_end);
void share_material(State& s);                     // 6. distributors upload and share
void view_material(State& s, double t_end);        // 6. views before removal, expiry, bystander reports
void benign_detections(State& s);                  // 7. false positives over benign volume, in aggregate
void act_on_signals(State& s);                     // 10. cross-platform signal sharing
void clearinghouse_and_law_enforcement(State& s);  // 11.
/// Upload a copy of an item (new or circulating) by an account at an hour; detection at upload.
void upload_copy(State& s, std::uint32_t account, std::uint32_t item, double hour, rng::Draw& d);
std::uint32_t new_item(State& s, bool known);
void remove_copy(State& s, std::uint32_t copy, double hour);
void update_detection_risk(State& s, std::size_t p);
void end_of_day_metrics(State& s);
/// The platforms' risk assessments: at the end of each cycle, a platform whose
/// measured rate crossed its threshold switches to its risk response.
void assess_risk(State& s);

// ---- shared helpers
/// `via_group`, when given, is set to whether the candidate was found in a shared group.
/// `sink`, when given, takes the peer-tie lists generated (neighbours).
std::uint32_t discover(const State& s, std::uint32_t account, rng::Draw& d, bool* via_group = nullptr,
                       TieSink* sink = nullptr);
/// Where discover, given the same draw, reads its candidate when it searches
/// or browses public content (an element of the platform's minors), or
/// nullptr for the other channels: a function of the account's row and the
/// draw only, so a caller can fetch the candidate's data before discovering.
const std::uint32_t* discovery_pick(const State& s, std::uint32_t account, rng::Draw d);
std::uint32_t mutual_connections(const State& s, std::uint32_t account, std::uint32_t local_minor);
/// A minor's completed report about an offender account (minor: local index on the platform).
void file_report(State& s, std::size_t platform, std::uint32_t account, std::uint32_t minor, double hour);
/// A minor sets out to report: completes with report_completion(), effort counted either way.
void start_report(State& s, std::size_t platform, std::uint32_t account, std::uint32_t minor, double hour,
                  rng::Draw& d);
/// Draw the time of dyad i's next event from its current stage's hazards.
void schedule_dyad(State& s, std::size_t i);
void ban_account(State& s, std::uint32_t account, Channel channel);
/// Has the person stopped for good (removed, or no live hunting account and
/// no return pending)? Then mark him departed and, with offenders.replacement,
/// plan his replacement for the next day.
void check_departure(State& s, std::uint32_t offender);
std::uint32_t create_account(State& s, std::uint32_t offender, std::size_t platform, bool hunting = true);
/// The offender's live account on a platform, created (not hunting) if it has
/// none; kNone when the offender has used up its kMaxAccountsPerOffender keys.
std::uint32_t account_on(State& s, std::uint32_t offender, std::size_t platform);
/// Queue an item for review on a platform (r.ready_hour is the filing hour; the review delay is added).
void queue_review(State& s, std::size_t platform, const Report& r, bool high_priority);
/// A trusted flagger's notice about a copy: priority channel or ordinary route, as the platform's controls say.
void flagger_notice(State& s, std::size_t platform, std::uint32_t copy, double hour);
/// A platform confirms child exploitation: report to the clearinghouse (if it reports at all).
void report_to_clearinghouse(State& s, std::size_t platform, std::uint32_t offender);
/// A platform confirms abuse-material copy `copy`: its report carries the file, or
/// the file joins an open bundle of the same item (clearinghouse.bundle_window_days).
void report_copy_to_clearinghouse(State& s, std::size_t platform, std::uint32_t copy);
/// Wrongful actions against n benign users found through `channel`: counted,
/// possibly appealed, with their consequences (rights.cpp). `unseen_private`
/// of the n are private items no moderator has seen yet (automated actions):
/// an appeal puts them in front of one.
/// Returns the appeals upheld (actions reversed).
std::uint64_t wrongful_actions(State& s, std::size_t platform, std::uint64_t n, rng::Draw& d, Channel channel,
                               std::uint64_t unseen_private = 0);
// ---- the rights side (rights.cpp)
/// The benign private volume a platform's content detectors inspect this tick, counted.
struct PrivateScan {
  double group_private;  // encrypted group uploads scanned on the device
  double dm;             // direct-message uploads readable by a detector
  double conversations;  // readable benign conversation-days with minors
};
void count_private_scanned(State& s, std::size_t platform, const PrivateScan& v);
/// Of `flagged` benign items a channel flagged among `items` scanned, `private_items` of them private: how many
/// flagged are private (counted in benign_private_items_flagged).
std::uint64_t private_flags(State& s, std::size_t platform, std::uint64_t flagged, double items, double private_items);
/// A moderator saw n benign private items found through `channel`: counted, with whose they were.
void private_items_reviewed(State& s, std::size_t platform, Channel channel, std::uint64_t n);
/// Forget the distinct-person marks (the warm-up ends).
void reset_rights_marks(State& s);
/// The draws of benign detections (per platform and tick) and of the benign
/// accounts behavioural risk scoring sends along with an offender's.
rng::Draw benign_detection_draw(std::uint64_t seed, std::size_t platform, std::uint32_t tick);
rng::Draw behavioural_false_positive_draw(std::uint64_t seed, std::uint32_t account_key);
/// Is a conversation or copy with this encryption draw readable by content detectors?
bool readable(const ControlsSpec& c, float e2ee_u);
/// The encryption share of a copy's surface: direct messages, group chats, or
/// files sent within chats (docs/how-to/operators-and-encryption.md).
double surface_e2ee_share(const ControlsSpec& c, bool group, bool file);
// ---- operators (operators.cpp)
/// Set up the declared operators: their scopes, services and pooled review.
void build_operators(State& s);
/// A ban confirmed on one service acts on the person's accounts on the operator's other services.
void enforce_across_operator(State& s, std::uint32_t account);
/// End-of-day levels of each operator's scope, from its services' (after assess_risk).
void operator_levels(State& s);
/// Distinct people, and minors among them, with an account (not removed) on any of the operator's services.
struct OperatorPeople {
  std::uint64_t users = 0, minors = 0;
};
OperatorPeople operator_people(const State& s, std::size_t op);
/// Review by the operators whose organisation is pooled (review.cpp).
void review_pooled(State& s, double t_end);
/// Add to an account's behavioural risk score; queue it for review past the threshold.
enum class RiskEvent : std::uint8_t { contact, flag };
void add_risk(State& s, std::uint32_t account, RiskEvent event, double hour);
void mark_reached(State& s, std::size_t platform, std::uint32_t local_minor, Stage stage);
/// As mark_reached, with what lies beyond the platform kept in `later` (ScopeEffect).
void mark_reached(State& s, std::size_t platform, std::uint32_t local_minor, Stage stage, ScopeEffects& later);
/// Apply what platform p's work kept for later (ScopeEffect), in order.
void apply_scope_effects(State& s, std::size_t p, const ScopeEffects& effects);
/// mark_reached for a stage reached through offender account `account`: an
/// adult offender's marks the stage and its *_any bit; a peer perpetrator's
/// only the *_any bit (and accepted_stranger).
void mark_reached(State& s, std::size_t platform, std::uint32_t local_minor, Stage stage, std::uint32_t account);
/// The person behind `account` remembers minor `user`: refused (the minor
/// blocked or reported the account) or not (the account was banned while they
/// talked). With the type's revisit_prob he plans a return (revisits.cpp).
void remember_target(State& s, std::uint32_t account, std::uint32_t user, double hour, bool refused);
/// One contact attempt by account a on local minor m at `hour`: counted, gated,
/// answered. `slot` separates attempts on one pair within a tick (0: discovery,
/// 1: a revisit) in the reach and response streams.
/// `via_group`: the minor was found in a shared group (a share response.group_add_share of such
/// contacts are group-chat adds, gated by controls.group_add_consent instead of the DM policy).
void attempt_contact(State& s, std::uint32_t a, std::uint32_t m, double hour, std::uint32_t slot,
                     bool via_group = false);
double report_completion(const State& s, const PlatformSpec& p);
int report_steps(const State& s, const PlatformSpec& p);
double report_intent_factor(const State& s, const PlatformSpec& p, bool supervised, bool nudged, bool educated);

inline void cohort_mark(State& s, std::uint32_t user, Stage stage) {
  if (user < s.pop.first_joiner) return;
  s.ageing.ever[user - s.pop.first_joiner] |= static_cast<ReachedMask>(ReachedMask{1} << stage);
}

}  // namespace safesim::detail
