// Abuse material (docs/model/submodels/material.md): items and their copies on platform surfaces.
//
// An item is a distinct image or video, `known` once its hash is in the shared
// list. Exploitation creates new items; distributor accounts upload new items,
// re-share items already in the run, or share circulating material (known
// with probability content.initial_hashed_share). Each upload is a copy in a
// group (group chat) or a direct message, some of either sent through the
// file-transfer surface (content.file_share); each surface is end-to-end
// encrypted with its own share (e2ee_share for direct messages,
// e2ee_group_share, e2ee_file_share). Content detectors read an encrypted
// copy only with client-side scanning; reports by a participant (a bystander
// in the group, the minor in a conversation) carry the reported messages and
// work as before; trusted flaggers cannot search an encrypted group. Detection runs at upload:
//   hash matching   known items on scanned, readable surfaces; list coverage;
//                   edited copies match with edit_recall -> removed at once
//   URL lists       shared links on the list -> blocked at once
//   classifier      new items on scanned, readable surfaces -> review
// Copies not caught are viewed until a bystander report, a trusted flagger's
// notice (reporting.cpp), a review or expiry removes them; views before
// removal are the re-victimisation measure. A confirmed new item is hashed:
// later copies of it match (the learning loop).
#include <algorithm>
#include <cmath>

#include "safesim/rng.hpp"
#include "safesim/streams.hpp"
#include "state.hpp"

namespace safesim::detail {

std::uint32_t new_item(State& s, bool known) {
  return s.items.push({.known = static_cast<std::uint8_t>(known ? 1 : 0)});
}

bool readable(const ControlsSpec& c, float e2ee_u) {
  return c.client_side_scanning || !(static_cast<double>(e2ee_u) < c.e2ee_share);
}

double surface_e2ee_share(const ControlsSpec& c, bool group, bool file) {
  return file ? c.e2ee_file_share : group ? c.e2ee_group_share : c.e2ee_share;
}

void remove_copy(State& s, std::uint32_t k, double hour) {
  Copies& C = s.copies;
  if (C.gone[k]) return;
  C.gone[k] = 1;
  const std::size_t p = C.platform[k];
  s.add(p, Metric::material_removed, 1);
  const auto hours = static_cast<float>(std::max(0.0, hour - C.upload_hour[k]));
  auto& bucket = C.known_at_upload[k] ? s.removal_hours_known : s.removal_hours_new;
  bucket[0].push_back(hours);
  bucket[p + 1].push_back(hours);
  if (const std::uint32_t o = s.platforms[p].op_scope; o != kNone) bucket[o].push_back(hours);
  // Views up to removal are counted by view_material; cap the copy's life here.
  C.expire_hour[k] = std::min(C.expire_hour[k], hour);
}

void upload_copy(State& s, std::uint32_t a, std::uint32_t item, double hour, rng::Draw& d) {
  Copies& C = s.copies;
  const std::size_t p = s.accounts.platform[a];
  const PlatformState& P = s.platforms[p];
  const ControlsSpec& c = P.spec->controls;
  const ContentSpec& cs = s.spec->content;
  const bool group = d.uniform() < cs.group_share;
  const bool link = d.uniform() < cs.link_share;
  const bool edited = d.uniform() < cs.edited_share;
  const std::uint32_t seq = s.accounts.uploads[a]++;
  // A direct message draws its encryption from the upload's stream (as it
  // always did); a group post and the file-surface choice draw from the
  // copy's own key, so scenarios without group or file encryption keep every
  // other draw where it was.
  rng::Draw surface(s.seed, streams::copy_surface, s.accounts.key[a], seq);
  const double u_group = surface.uniform(), u_file = surface.uniform();
  const auto e2ee_u = static_cast<float>(group ? u_group : d.uniform());
  const bool file = u_file < cs.file_share;
  const double u_list = d.uniform(), u_edit = d.uniform(), u_detect = d.uniform();
  const std::uint32_t k = C.push({.item = item,
                                  .account = a,
                                  .seq = seq,
                                  .platform = static_cast<std::uint16_t>(p),
                                  .in_group = static_cast<std::uint8_t>(group ? 1 : 0),
                                  .file = static_cast<std::uint8_t>(file ? 1 : 0),
                                  .known_at_upload = s.items.known[item],
                                  .e2ee_u = e2ee_u,
                                  .upload_hour = hour,
                                  .expire_hour = hour + d.exponential(1.0 / (cs.lifetime_days * 24.0)),
                                  .last_hour = hour});
  s.add(p, Metric::material_copies, 1);
  // What content detectors can read: an encrypted surface only with client-side scanning.
  const bool visible = c.client_side_scanning || !(static_cast<double>(e2ee_u) < surface_e2ee_share(c, group, file));
  if (link) {
    if (c.url_blocking.enabled && u_detect < c.url_blocking.coverage) {
      s.add(p, Metric::detections, 1);
      remove_copy(s, k, hour);
      queue_review(s, p, {hour, a, 1, ItemKind::account, Channel::url}, true);
    }
  } else if (visible) {
    const HashMatchingSpec& h = c.hash_matching;
    const bool scanned = group ? h.public_surfaces : h.private_surfaces;
    if (h.enabled && scanned && s.items.known[item] && u_list < h.list_coverage &&
        (!edited || u_edit < h.edit_recall)) {
      // Known material: removed automatically, the account actioned, the clearinghouse told.
      s.add(p, Metric::detections, 1);
      s.add(p, Metric::actioned_by_detection, 1);
      remove_copy(s, k, hour + cs.auto_removal_hours);
      report_copy_to_clearinghouse(s, p, k);
      ban_account(s, a, Channel::hash);
    } else {
      const ClassifierSpec& cl = c.new_material_classifier;
      const bool cl_scanned = group || cl.private_surfaces;
      if (cl.enabled && cl_scanned && !s.items.known[item] && u_detect < cl.recall) {
        s.add(p, Metric::detections, 1);
        queue_review(s, p, {hour, k, 1, ItemKind::copy, Channel::classifier}, true);
      }
    }
  }
  C.live.push_back(k);  // removed copies stay until their views up to removal are counted
}

void share_material(State& s) {
  const ContentSpec& cs = s.spec->content;
  const double dt_days = s.dt_hours / 24.0;
  for (std::uint32_t a : s.accounts.active) {
    if (s.accounts.banned[a] || s.accounts.type[a] != 2) continue;  // distributors only
    rng::Draw d(s.seed, streams::upload, s.accounts.key[a], s.tick);
    const std::uint64_t n = d.poisson(cs.uploads_per_day * dt_days);
    for (std::uint64_t j = 0; j < n; ++j) {
      const double hour = s.hour + d.uniform() * s.dt_hours;
      std::uint32_t item;
      const double u = d.uniform();
      if (u < cs.new_share) {
        item = new_item(s, false);
      } else if (!s.items.known.empty() && d.uniform() < cs.reshare_share) {
        item = d.below(static_cast<std::uint32_t>(s.items.size()));  // re-share an item already in the run
      } else {
        item = new_item(s, d.uniform() < cs.initial_hashed_share);  // circulating material
      }
      upload_copy(s, a, item, hour, d);
    }
  }
}

void view_material(State& s, double t_end) {
  Copies& C = s.copies;
  const ContentSpec& cs = s.spec->content;
  std::size_t keep = 0;
  for (std::size_t j = 0; j < C.live.size(); ++j) {
    const std::uint32_t k = C.live[j];
    const std::size_t p = C.platform[k];
    const double until = std::min(t_end, C.expire_hour[k]);
    const double from = C.last_hour[k];
    const double span = std::max(0.0, until - from);
    // Keyed by the copy's stable id (uploader, its n-th upload), not its index:
    // a copy removed earlier in one scenario does not move the others' draws.
    rng::Draw d(s.seed, streams::views, s.accounts.key[C.account[k]], s.tick, 2 * C.seq[k]);
    const double rate = C.in_group[k] ? cs.views_per_day_group : cs.views_per_day_message;
    s.add(p, Metric::abuse_material_views, static_cast<double>(d.poisson(rate * span / 24.0)));
    C.last_hour[k] = until;
    if (C.gone[k] && C.expire_hour[k] <= t_end) continue;
    if (!C.gone[k] && s.accounts.banned[C.account[k]]) {
      remove_copy(s, k, std::max(C.last_hour[k], s.hour));  // a ban takes the account's content down
      continue;
    }
    if (C.gone[k]) {
      C.live[keep++] = k;  // removal scheduled later in this tick's future (automated removal)
      continue;
    }
    if (C.expire_hour[k] <= t_end) {
      C.gone[k] = 1;
      s.add(p, Metric::material_never_detected, 1);
      continue;
    }
    // Bystanders in groups report what they see (subject to the platform's friction).
    if (C.in_group[k] && s.accounts.banned[C.account[k]] == 0) {
      const PlatformSpec& ps = *s.platforms[p].spec;
      const double hazard = cs.viewer_report_per_day * report_completion(s, ps) * span / 24.0;
      if (d.uniform() < 1.0 - std::exp(-hazard)) {
        s.add(p, Metric::user_reports, 1);
        s.add(p, Metric::child_safety_reports, 1);
        s.add(p, Metric::bystander_reports, 1);
        s.add(p, Metric::reporting_effort, report_steps(s, ps));
        queue_review(s, p, {until, k, 1, ItemKind::copy, Channel::user_report}, true);
      }
    }
    // Trusted flaggers search public surfaces: one notice per copy, at an
    // exponential time. An end-to-end encrypted group is not open to them.
    if (C.in_group[k] && !C.flagged[k] && cs.trusted_flagger_find_per_day > 0 && span > 0 &&
        !(static_cast<double>(C.e2ee_u[k]) < surface_e2ee_share(s.platforms[p].spec->controls, true, C.file[k] != 0))) {
      rng::Draw f(s.seed, streams::trusted_flagger, s.accounts.key[C.account[k]], s.tick, 2 * C.seq[k]);
      const double found = from + f.exponential(cs.trusted_flagger_find_per_day / 24.0);
      if (found < until) {
        C.flagged[k] = 1;
        flagger_notice(s, p, k, found);
      }
    }
    C.live[keep++] = k;
  }
  C.live.resize(keep);
}

}  // namespace safesim::detail
