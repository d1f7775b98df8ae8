// safesim: the named random streams. Each random decision in the model draws
// from its own stream (STYLE.md habit 5), so a change to one process leaves the
// draws of every other process untouched (common random numbers). A name is
// listed exactly once; tests/cpp/test_streams.cpp rejects duplicates and hash
// collisions.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "safesim/rng.hpp"

namespace safesim::streams {

// clang-format off
// Each stream with its key (entity, time[, first slot]): what a draw is keyed
// by decides which changes move it. Keys are stable ids (user, account key =
// offender * 256 + generation, platform, copy, day or tick), never a loop
// position, so a change confined to some agents leaves the others' draws alone.
#define SAFESIM_STREAMS(X) \
  X(user_age)            /* (user, 0); sampling start (2^32-1, 0)                   */ \
  X(user_gender)         /* (user, 0)                                              */ \
  X(user_vulnerability)  /* (user, 0)                                              */ \
  X(user_activity)       /* (user, 0)                                              */ \
  X(user_join)           /* (user, platform), slots 0 and 1                        */ \
  X(membership)          /* (user, platform, 0) or gaps (j, platform, 1)           */ \
  X(declared_age)        /* (user, platform); strata phases (2^32-1, platform, 2 age + 0|1) */ \
  X(age_check)           /* (user, platform)                                       */ \
  X(settings)            /* (user, platform)                                       */ \
  X(offender)            /* (adult user, 0); arrivals (day, 1); starts (2^32-1, 2|3); replacements (replaced offender's key, 4 | 5: who, when); peers: (user, 6), start (2^32-1, 6), arrivals (day, 7) */ \
  X(account)             /* (account key, 0)                                       */ \
  X(graph_peer)          /* (user, platform): ties outside the class from slot 0; within it from slot 2^16 */ \
  X(graph_family)        /* (user, platform)                                       */ \
  X(graph_coach)         /* (user, platform)                                       */ \
  X(graph_community)     /* (user, platform)                                       */ \
  X(graph_partner)       /* graph.on_demand: a round's class shuffle per block (block, platform * 128 + round); its shift (2^32-1, same) */ \
  X(graph_pair)          /* graph.on_demand: a pair's tie (lower, higher community position, platform * 128 + round; 127 within a class) */ \
  X(groups)              /* (user, platform)                                       */ \
  X(discovery)           /* (account key, tick): attempts; attempt k from slot 1024 + 16k */ \
  X(reach)               /* (minor's user, account key, tick * 4): contact gates    */ \
  X(response)            /* (minor's user, account key, tick * 4): reply or block   */ \
  X(dyad)                /* (minor's user, account key ^ epoch, (start day, event) * 2) */ \
  X(dyad_clock)          /* as dyad: one clock a hazard (progress, exit, report, detect) */ \
  X(reentry)             /* (account key, 0); return (next account key, 1)         */ \
  X(review)              /* (platform, tick): batches about ordinary users          */ \
  X(review_item)         /* (account key, tick, 0 | 2 + 2 seq): an offender account or copy */ \
  X(benign)              /* (platform, tick): one uniform per count, fixed order    */ \
  X(material)            /* (minor's user, account key, event)                     */ \
  X(upload)              /* (account key, tick)                                    */ \
  X(views)               /* (uploader's account key, tick, 2 copy seq)             */ \
  X(benign_detection)    /* (platform, tick)                                       */ \
  X(signals)             /* (offender key, receiving platform * 65536 + origin)    */ \
  X(clearinghouse)       /* (platform, the platform's report sequence)             */ \
  X(law_enforcement)     /* (offender key, report hour)                            */ \
  X(trusted_flagger)     /* (uploader's account key, tick, 2 copy seq)             */ \
  X(harvest)             /* (minor's user, account key, 0)                         */ \
  X(revisit)             /* (minor's user, refused account key, try): return and delay */ \
  X(stranger)            /* (minor's user, platform, epoch): when the minor next accepts a stranger */ \
  X(behavioural_false_positives) /* (account key, 0)                               */ \
  X(copy_surface)        /* (uploader's account key, copy seq): slot 0 group encryption, 1 file surface */ \
  X(operator_record)     /* (sibling account key, banned account key): operator's enforcement record */ \
  X(benign_identity)     /* (platform, tick): whose benign item or account (rights.cpp), one cursor a tick */ \
  X(moderation)          /* (platform, tick): other-harm volumes (moderation.cpp)  */ \
  X(moderation_review)   /* (platform, tick): other-harm reviews and appeals, one cursor a tick */ \
  X(birthday)            /* (user, 0): day of the year of a minor's birthday (ageing.cpp) */ \
  X(joiner)              /* (joiner j, 0): the day child j joins at youngest_age (ageing.cpp) */
// clang-format on

#define SAFESIM_X(name) inline constexpr std::uint32_t name = rng::stream_id(#name);
SAFESIM_STREAMS(SAFESIM_X)
#undef SAFESIM_X

inline constexpr std::array kAllNames = {
#define SAFESIM_X(name) std::string_view{#name},
    SAFESIM_STREAMS(SAFESIM_X)
#undef SAFESIM_X
};

}  // namespace safesim::streams
