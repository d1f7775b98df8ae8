// The detection channels, declared once (STYLE.md habit 16): every way an
// offender account or a copy comes to a platform's attention, with what the
// rest of the engine needs to know about it. A new detector is a row here
// plus its event code (where it fires) and, if it has one, its false-positive
// volume in detection.cpp's benign_detections().
//
// Columns:
//   found by        report: the action counts in actioned_by_report (users,
//                   trusted flaggers); detection: in actioned_by_detection
//   confirmed here  a ban through it is the platform's own finding: reported
//                   to the clearinghouse and shared as a signal. Linkage,
//                   signals from elsewhere and law enforcement act on what
//                   was already found and reported.
//   false positives none; scanned (per million benign items scanned, drawn in
//                   aggregate by benign_detections); per_flag (benign accounts
//                   per true flag from the channel's precision: behavioural
//                   risk, signal sharing); reports (user reports about
//                   ordinary users, benign.cpp)
//   automated       acts without human review (hash matching, URL lists):
//                   its false positives are wrongful actions at once
//   visibility      its weight in how visible detection is to offenders
//                   (offenders.detection_visibility), or none
// Each row's metric is offenders_detected_<channel>.
#pragma once

#include <array>
#include <cstdint>

#include "safesim/metrics.hpp"
#include "safesim/spec.hpp"

namespace safesim::detail {

enum class FoundBy : std::uint8_t { report, detection };
enum class FalsePositives : std::uint8_t { none, scanned, per_flag, reports };

// clang-format off
#define SAFESIM_CHANNELS(X)                                                                        \
  /* channel          found by    confirmed  false positives  automated  visibility weight */      \
  X(user_report,      report,     true,      reports,         false,     nullptr)                  \
  X(trusted_flagger,  report,     true,      none,            false,     nullptr)                  \
  X(linkage,          detection,  false,     none,            true,      nullptr)                  \
  X(hash,             detection,  true,      scanned,         true,      &DetectionVisibilitySpec::hash) \
  X(url,              detection,  true,      none,            true,      nullptr)                  \
  X(classifier,       detection,  true,      scanned,         false,     &DetectionVisibilitySpec::classifier) \
  X(grooming,         detection,  true,      scanned,         false,     &DetectionVisibilitySpec::grooming) \
  X(behavioural,      detection,  true,      per_flag,        false,     &DetectionVisibilitySpec::behavioural) \
  X(signal_sharing,   detection,  false,     per_flag,        true,      nullptr)                  \
  X(law_enforcement,  detection,  false,     none,            true,      nullptr)
// clang-format on

enum class Channel : std::uint8_t {
#define SAFESIM_X(name, found, confirmed, fp, automated, weight) name,
  SAFESIM_CHANNELS(SAFESIM_X)
#undef SAFESIM_X
};

struct ChannelInfo {
  const char* name;
  Metric metric;  // offenders_detected_<name>
  FoundBy found_by;
  bool confirmed_here;
  FalsePositives false_positives;
  bool automated;
  double DetectionVisibilitySpec::*visibility;  // nullptr: offenders cannot see it
};

inline constexpr std::array kChannels = {
#define SAFESIM_X(name, found, confirmed, fp, automated, weight)                                                  \
  ChannelInfo{#name, Metric::offenders_detected_##name, FoundBy::found, confirmed, FalsePositives::fp, automated, \
              weight},
    SAFESIM_CHANNELS(SAFESIM_X)
#undef SAFESIM_X
};

constexpr const ChannelInfo& info(Channel c) { return kChannels[static_cast<std::size_t>(c)]; }

}  // namespace safesim::detail
