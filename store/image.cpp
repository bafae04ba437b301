#include "store/image.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "store/codec.hpp"

namespace sb::store {

namespace {

template <class T>
void by_creation(std::vector<T>& v) {
  std::stable_sort(v.begin(), v.end(), [](const T& a, const T& b) {
    return a.created != b.created ? a.created < b.created : a.sid < b.sid;
  });
}

// Participants and webhooks by creation, messages by index. The record's
// next message index is not rewritten with every message: it is the one
// after the newest message (or the record's, when that was deleted).
void put_in_order(conversation_image& img) {
  by_creation(img.participants);
  by_creation(img.webhooks);
  std::sort(img.messages.begin(), img.messages.end(), [](auto& a, auto& b) { return a.index < b.index; });
  if (!img.messages.empty())
    img.conversation.next_message_index =
      std::max<std::uint64_t>(img.conversation.next_message_index, img.messages.back().index + 1);
}

// Files one of a conversation's scoped entities into its image.
void add_scoped(conversation_image& img, entity& e) {
  std::visit(
    [&](auto& x) {
      using T = std::decay_t<decltype(x)>;
      if constexpr (std::is_same_v<T, model::cv::participant>)
        img.participants.push_back(std::move(x));
      else if constexpr (std::is_same_v<T, model::cv::message>)
        img.messages.push_back(std::move(x));
      else if constexpr (std::is_same_v<T, model::cv::conversation_webhook>)
        img.webhooks.push_back(std::move(x));
    },
    e);
}

} // namespace

conversation_image conversation_from_rows(model::cv::conversation conv, const std::vector<row>& rows) {
  conversation_image img;
  img.conversation = std::move(conv);
  for (auto& r : rows) {
    auto e = decode(r.kind, r.doc);
    if (!e)
      throw store_error("cannot restore " + r.kind + " " + r.sid + ": " + e.err().message);
    add_scoped(img, *e);
  }
  put_in_order(img);
  return img;
}

recovered recover(database& db, std::int64_t events_since_ms, std::size_t max_events) {
  recovered out;
  std::map<std::string, std::shared_ptr<workspace_image>> images;
  std::map<std::string, conversation_image> conversations;
  std::vector<std::pair<std::string, entity>> scoped;    // workspace rows
  std::vector<std::pair<std::string, entity>> cv_scoped; // conversation rows
  std::vector<std::pair<std::string, model::cv::media>> media; // service rows
  auto& cv = out.conversations;
  for (auto& r : db.load_entities()) {
    auto e = decode(r.kind, r.doc);
    if (!e)
      throw store_error("cannot restore " + r.kind + " " + r.sid + ": " + e.err().message);
    ++out.entities;
    std::visit(
      [&](auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, model::workspace>) {
          auto img = std::make_shared<workspace_image>();
          img->workspace = std::move(x);
          images[r.sid] = img;
        } else if constexpr (std::is_same_v<T, model::cv::account_config>) {
          cv.configs.push_back(std::move(x));
        } else if constexpr (std::is_same_v<T, model::cv::service>) {
          cv.services.push_back(std::move(x));
        } else if constexpr (std::is_same_v<T, model::cv::address_configuration>) {
          cv.addresses.push_back(std::move(x));
        } else if constexpr (std::is_same_v<T, model::api_key>) {
          out.api_keys.push_back(std::move(x));
        } else if constexpr (std::is_same_v<T, model::flex::interaction>) {
          out.interactions.push_back(std::move(x));
        } else if constexpr (std::is_same_v<T, model::flex::interaction_channel>) {
          out.interaction_channels.push_back(std::move(x));
        } else if constexpr (std::is_same_v<T, model::studio::flow>) {
          out.studio_flows.push_back(std::move(x));
        } else if constexpr (std::is_same_v<T, model::studio::flow_revision>) {
          out.studio_revisions.push_back(std::move(x));
        } else if constexpr (std::is_same_v<T, model::studio::execution>) {
          out.studio_executions.push_back(std::move(x));
        } else if constexpr (std::is_same_v<T, model::studio::step>) {
          out.studio_steps.push_back(std::move(x));
        } else if constexpr (std::is_same_v<T, model::cv::media>) {
          media.emplace_back(r.scope, std::move(x));
        } else if constexpr (std::is_same_v<T, model::cv::conversation>) {
          conversations[r.sid].conversation = std::move(x);
        } else if constexpr (std::is_same_v<T, model::cv::participant> ||
                             std::is_same_v<T, model::cv::message> ||
                             std::is_same_v<T, model::cv::conversation_webhook>) {
          cv_scoped.emplace_back(r.scope, entity{std::move(x)});
        } else {
          scoped.emplace_back(r.scope, entity{std::move(x)});
        }
      },
      *e);
  }
  std::vector<std::string> orphans;
  auto orphan = [&](const std::string& scope) {
    if (std::find(orphans.begin(), orphans.end(), scope) == orphans.end())
      orphans.push_back(scope);
  };
  for (auto& [scope, e] : cv_scoped) {
    auto it = conversations.find(scope);
    if (it == conversations.end()) {
      orphan(scope);
      continue;
    }
    add_scoped(it->second, e);
  }
  {
    std::set<std::string> services;
    for (auto& s : cv.services)
      services.insert(s.sid);
    for (auto& [scope, m] : media) {
      if (!services.count(scope)) {
        orphan(scope);
        continue;
      }
      out.media.push_back(std::move(m));
    }
  }
  for (auto& [scope, e] : scoped) {
    auto it = images.find(scope);
    if (it == images.end()) {
      orphan(scope);
      continue;
    }
    auto& img = *it->second;
    std::visit(
      [&](auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, model::activity>)
          img.activities.push_back(std::move(x));
        else if constexpr (std::is_same_v<T, model::task_channel>)
          img.channels.push_back(std::move(x));
        else if constexpr (std::is_same_v<T, model::task_queue>)
          img.queues.push_back(std::move(x));
        else if constexpr (std::is_same_v<T, model::workflow>)
          img.workflows.push_back(std::move(x));
        else if constexpr (std::is_same_v<T, model::worker>)
          img.workers.push_back(std::move(x));
        else if constexpr (std::is_same_v<T, model::task>)
          img.tasks.push_back(std::move(x));
        else if constexpr (std::is_same_v<T, model::reservation>)
          img.reservations.push_back(std::move(x));
      },
      e);
  }
  for (auto& row : db.load_events(events_since_ms, max_events)) {
    auto it = images.find(row.scope);
    if (it == images.end())
      continue;
    auto ev = decode_event(row.doc);
    if (!ev)
      throw store_error("cannot restore event " + row.sid + ": " + ev.err().message);
    ++out.events;
    it->second->events.push_back(std::make_shared<const model::event>(std::move(*ev)));
  }
  for (auto& [sid, img] : images) {
    by_creation(img->activities);
    by_creation(img->channels);
    by_creation(img->queues);
    by_creation(img->workflows);
    by_creation(img->workers);
    by_creation(img->reservations);
    std::sort(img->tasks.begin(), img->tasks.end(),
              [](const model::task& a, const model::task& b) { return a.order < b.order; });
    out.workspaces.push_back(img);
  }
  std::sort(out.workspaces.begin(), out.workspaces.end(), [](auto& a, auto& b) {
    return a->workspace.created != b->workspace.created ? a->workspace.created < b->workspace.created
                                                        : a->workspace.sid < b->workspace.sid;
  });
  std::sort(cv.configs.begin(), cv.configs.end(),
            [](auto& a, auto& b) { return a.account_sid < b.account_sid; });
  by_creation(cv.services);
  by_creation(cv.addresses);
  by_creation(out.media);
  by_creation(out.api_keys);
  by_creation(out.interactions);
  by_creation(out.interaction_channels);
  by_creation(out.studio_flows);
  by_creation(out.studio_revisions);
  by_creation(out.studio_executions);
  by_creation(out.studio_steps);
  for (auto& [sid, img] : conversations) {
    put_in_order(img);
    cv.conversations.push_back(std::move(img));
  }
  std::stable_sort(cv.conversations.begin(), cv.conversations.end(), [](auto& a, auto& b) {
    return a.conversation.created != b.conversation.created ? a.conversation.created < b.conversation.created
                                                            : a.conversation.sid < b.conversation.sid;
  });
  {
    std::set<std::string> flows;
    for (auto& f : out.studio_flows)
      flows.insert(f.sid);
    auto drop = [&](auto& rows, auto flow_of) {
      rows.erase(std::remove_if(rows.begin(), rows.end(),
                                [&](auto& r) {
                                  if (flows.count(flow_of(r)))
                                    return false;
                                  orphan(flow_of(r));
                                  return true;
                                }),
                 rows.end());
    };
    drop(out.studio_revisions, [](auto& r) { return r.sid; });
    drop(out.studio_executions, [](auto& r) { return r.flow_sid; });
    drop(out.studio_steps, [](auto& r) { return r.flow_sid; });
  }
  out.orphan_scopes = std::move(orphans);
  return out;
}

} // namespace sb::store
